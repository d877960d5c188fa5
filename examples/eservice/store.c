/*
 * store.c - the e-service's SQLite data (see store.h). Every value goes in
 * through a bound parameter, never into the SQL text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
};

static const char schema[] =
    "CREATE TABLE municipality (code TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " connected INTEGER NOT NULL, admin_hsa_id TEXT);"
    "CREATE TABLE child (id INTEGER PRIMARY KEY, municipality TEXT NOT NULL"
    " REFERENCES municipality(code), name TEXT NOT NULL, born TEXT NOT NULL,"
    " category TEXT NOT NULL CHECK (category IN ('asylum', 'permit')),"
    " start TEXT NOT NULL, end TEXT);"
    "CREATE TABLE notification (id INTEGER PRIMARY KEY, child INTEGER NOT NULL"
    " REFERENCES child(id), created TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE TABLE report (id INTEGER PRIMARY KEY, child INTEGER NOT NULL REFERENCES child(id),"
    " hsa_id TEXT NOT NULL, change_date TEXT NOT NULL, text TEXT NOT NULL,"
    " created TEXT NOT NULL, deadline TEXT NOT NULL, late INTEGER NOT NULL);"
    "CREATE TABLE log (id INTEGER PRIMARY KEY, municipality TEXT NOT NULL,"
    " at TEXT NOT NULL, hsa_id TEXT NOT NULL, action TEXT NOT NULL);";

struct store *
store_open(const char *path, const char *seed_sql)
{
	struct store *s = calloc(1, sizeof(*s));
	sqlite3_stmt *st = NULL;
	int fresh = 0;

	if (s == NULL || sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(s->db, 2000);
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master WHERE name = 'child'",
	    -1, &st, NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	fresh = sqlite3_column_int(st, 0) == 0;
	sqlite3_finalize(st);
	st = NULL;
	if (fresh && (sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    (seed_sql != NULL && sqlite3_exec(s->db, seed_sql, NULL, NULL, NULL) != SQLITE_OK)))
		goto fail;
	return s;
fail:
	if (s != NULL && s->db != NULL)
		fprintf(stderr, "eservice: %s: %s\n", path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	store_close(&s);
	return NULL;
}

void
store_close(struct store **sp)
{
	if (sp == NULL || *sp == NULL)
		return;
	sqlite3_close((*sp)->db);
	free(*sp);
	*sp = NULL;
}

/* Run sql with text parameters (NULL-terminated), each row to fn. */
static int
query(struct store *s, const char *sql, store_row_fn *fn, void *cls, ...)
{
	const char *cols[16], *p;
	sqlite3_stmt *st = NULL;
	va_list ap;
	int i = 1, n, rc;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	va_start(ap, cls);
	while ((p = va_arg(ap, const char *)) != NULL)
		sqlite3_bind_text(st, i++, p, -1, SQLITE_TRANSIENT);
	va_end(ap);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_count(st) < 16 ? sqlite3_column_count(st) : 16;
		for (i = 0; i < n; i++)
			cols[i] = (const char *)sqlite3_column_text(st, i);
		if (fn != NULL)
			fn(cls, cols, n);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

struct first_row {
	char *a, *b;
	size_t alen, blen;
	int found;
};

static void
take_first(void *cls, const char *const *cols, int n)
{
	struct first_row *f = cls;

	if (f->found++ > 0)
		return;
	snprintf(f->a, f->alen, "%s", n > 0 && cols[0] != NULL ? cols[0] : "");
	if (f->b != NULL)
		snprintf(f->b, f->blen, "%s", n > 1 && cols[1] != NULL ? cols[1] : "");
}

int
store_municipality(struct store *s, const char *code, char *name, size_t len, int *connected)
{
	char conn[8];
	struct first_row f = { name, conn, len, sizeof(conn), 0 };

	if (query(s, "SELECT name, connected FROM municipality WHERE code = ?", take_first, &f,
	    code, NULL) != 0 || !f.found)
		return -1;
	*connected = strcmp(conn, "1") == 0;
	return 0;
}

int
store_current(struct store *s, const char *municipality, store_row_fn *fn, void *cls)
{
	return query(s, "SELECT id, name, born, category, start FROM child WHERE municipality = ?"
	    " AND end IS NULL ORDER BY name", fn, cls, municipality, NULL);
}

int
store_ended(struct store *s, const char *municipality, const char *today, store_row_fn *fn,
    void *cls)
{
	return query(s, "SELECT id, name, born, category, start, end FROM child"
	    " WHERE municipality = ? AND end IS NOT NULL AND date(born, '+22 years') > date(?)"
	    " ORDER BY end DESC", fn, cls, municipality, today, NULL);
}

int
store_notifications(struct store *s, const char *municipality, const char *today,
    store_row_fn *fn, void *cls)
{
	return query(s, "SELECT n.created, c.name, n.text FROM notification n JOIN child c"
	    " ON c.id = n.child WHERE c.municipality = ? AND date(n.created) >="
	    " date(?, '-1 year') ORDER BY n.created DESC", fn, cls, municipality, today, NULL);
}

int
store_log(struct store *s, const char *municipality, store_row_fn *fn, void *cls)
{
	return query(s, "SELECT at, hsa_id, action FROM log WHERE municipality = ?"
	    " ORDER BY id DESC LIMIT 200", fn, cls, municipality, NULL);
}

int
store_child(struct store *s, const char *municipality, long id, char *name, size_t len,
    char *category, size_t clen)
{
	struct first_row f = { name, category, len, clen, 0 };
	char num[32];

	snprintf(num, sizeof(num), "%ld", id);
	if (query(s, "SELECT name, category FROM child WHERE id = ? AND municipality = ?",
	    take_first, &f, num, municipality, NULL) != 0 || !f.found)
		return -1;
	return 0;
}

static void
now_text(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
}

int
store_note(struct store *s, const char *municipality, const char *hsa_id, const char *action)
{
	char at[32];

	now_text(at, sizeof(at));
	return query(s, "INSERT INTO log (municipality, at, hsa_id, action) VALUES (?, ?, ?, ?)",
	    NULL, NULL, municipality, at, hsa_id, action, NULL);
}

int
store_report(struct store *s, const char *municipality, long child, const char *hsa_id,
    const char *change_date, const char *text, const char *deadline, int late)
{
	char at[32], num[32], action[160], name[128], cat[16];

	if (store_child(s, municipality, child, name, sizeof(name), cat, sizeof(cat)) != 0)
		return -1;
	now_text(at, sizeof(at));
	snprintf(num, sizeof(num), "%ld", child);
	if (query(s, "INSERT INTO report (child, hsa_id, change_date, text, created, deadline,"
	    " late) VALUES (?, ?, ?, ?, ?, ?, ?)", NULL, NULL, num, hsa_id, change_date, text, at,
	    deadline, late ? "1" : "0", NULL) != 0)
		return -1;
	snprintf(action, sizeof(action), "anmälan om ändring för barn %ld%s", child,
	    late ? " (sen)" : "");
	return store_note(s, municipality, hsa_id, action);
}
