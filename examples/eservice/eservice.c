/*
 * eservice.c - "Se och ändra ansvar för ensamkommande", an example of an
 * e-service behind nginx and sithsd: municipal officers log in with their
 * SITHS card and see only the unaccompanied children and young people
 * their own municipality is responsible for. Fictional data only.
 *
 *   eservice --db FILE --seed FILE [--port PORT] [--admin-role ROLE]
 *            [--status-url http://127.0.0.1:8490/status]
 *
 * It listens on 127.0.0.1 only: who the person is comes from the X-SITHS-*
 * headers nginx sets from sithsd's answer (examples/nginx), and nginx is
 * the only thing that may reach it. The municipality is the person's HSA
 * organisation's municipality code, never a request parameter. The
 * municipality's administrator (--admin-role among the person's roles)
 * also sees its log. When sithsd reports the directory or revocation
 * degraded, every page shows the disruption notice by itself.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "rules.h"
#include "store.h"

struct app {
	struct store *store;
	const char *admin_role;
	const char *status_url;
};

/* Who asks, from nginx's headers (percent-encoded by sithsd). */
struct officer {
	char hsa_id[64], name[256], municipality[8], org[256];
	int admin, stale;
};

/* A page being written. */
struct page {
	char *buf;
	size_t len, cap;
};

static void
emit(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
emit(struct page *p, const char *fmt, ...)
{
	va_list ap;
	size_t need;
	char *grown;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	need = p->len + (size_t)n + 1;
	if (need > p->cap) {
		if ((grown = realloc(p->buf, need * 2)) == NULL)
			return;
		p->buf = grown;
		p->cap = need * 2;
	}
	va_start(ap, fmt);
	vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
	va_end(ap);
	p->len += (size_t)n;
}

/* Text into HTML: the five characters that mean something there escaped. */
static void
emit_text(struct page *p, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '<': emit(p, "&lt;"); break;
		case '>': emit(p, "&gt;"); break;
		case '&': emit(p, "&amp;"); break;
		case '"': emit(p, "&quot;"); break;
		case '\'': emit(p, "&#39;"); break;
		default: emit(p, "%c", *s); break;
		}
	}
}

static int
hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	    c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A header value as sithsd encoded it, decoded into buf. */
static void
header_value(struct MHD_Connection *c, const char *name, char *buf, size_t len)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
	size_t o = 0;

	for (; v != NULL && *v != '\0' && o + 1 < len; v++) {
		if (v[0] == '%' && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
			buf[o++] = (char)(hexval(v[1]) << 4 | hexval(v[2]));
			v += 2;
		} else {
			buf[o++] = *v;
		}
	}
	buf[o] = '\0';
}

static void
read_officer(const struct app *a, struct MHD_Connection *c, struct officer *o)
{
	char roles[4096], stale[4], *tok, *save = NULL;

	memset(o, 0, sizeof(*o));
	header_value(c, "X-SITHS-HSA-Id", o->hsa_id, sizeof(o->hsa_id));
	header_value(c, "X-SITHS-Name", o->name, sizeof(o->name));
	header_value(c, "X-SITHS-Municipality-Code", o->municipality, sizeof(o->municipality));
	header_value(c, "X-SITHS-Org-Name", o->org, sizeof(o->org));
	header_value(c, "X-SITHS-Stale", stale, sizeof(stale));
	o->stale = strcmp(stale, "1") == 0;
	/* raw: each role's own commas are still encoded */
	snprintf(roles, sizeof(roles), "%s", MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-SITHS-Roles") != NULL ? MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    "X-SITHS-Roles") : "");
	for (tok = strtok_r(roles, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (a->admin_role != NULL && strcmp(tok, a->admin_role) == 0)
			o->admin = 1;
	}
}

/*
 * Is the login degraded, per sithsd's status (a directory server resting,
 * stale answers served, soft accepts) or this request's own stale mark?
 * An unreachable status counts as degraded: the notice errs on the safe side.
 */
static int
degraded(const struct app *a, const struct officer *o)
{
	struct sockaddr_in sa;
	struct pollfd p;
	char req[256], buf[65536], host[64], *body;
	json_t *st = NULL, *servers, *srv;
	size_t got = 0, i;
	int fd, port = 80, bad = o->stale;
	ssize_t n;

	if (a->status_url == NULL || bad)
		return bad;
	if (sscanf(a->status_url, "http://%63[^:/]:%d", host, &port) < 1)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 ||
	    (fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 1;
	snprintf(req, sizeof(req), "GET /status HTTP/1.0\r\nHost: %s\r\n\r\n", host);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		close(fd);
		return 1;
	}
	p.fd = fd;
	p.events = POLLIN;
	while (got + 1 < sizeof(buf) && poll(&p, 1, 500) > 0 &&
	    (n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	if ((body = strstr(buf, "\r\n\r\n")) == NULL || (st = json_loads(body + 4, 0, NULL)) == NULL)
		return 1;
	servers = json_object_get(json_object_get(st, "directory"), "servers");
	json_array_foreach(servers, i, srv) {
		if (strcmp(json_string_value(json_object_get(srv, "state")) != NULL ?
		    json_string_value(json_object_get(srv, "state")) : "", "up") != 0)
			bad = 1;
	}
	if (json_integer_value(json_object_get(json_object_get(st, "directory"),
	    "stale_served")) > 0 || json_integer_value(json_object_get(json_object_get(st,
	    "revocation"), "soft_accepts")) > 0)
		bad = 1;
	json_decref(st);
	return bad;
}

static void
today(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

static void
head(struct page *p, const struct app *a, const struct officer *o, const char *title,
    const char *municipality_name)
{
	emit(p, "<!DOCTYPE html>\n<html lang=\"sv\">\n<head><meta charset=\"utf-8\">"
	    "<title>Se och ändra ansvar för ensamkommande – ");
	emit_text(p, title);
	emit(p, "</title></head>\n<body>\n<header><h1>Se och ändra ansvar för ensamkommande</h1>\n"
	    "<p id=\"inloggad\">Inloggad: ");
	emit_text(p, o->name);
	emit(p, " (");
	emit_text(p, o->hsa_id);
	emit(p, "), ");
	emit_text(p, municipality_name);
	emit(p, "</p>\n");
	if (degraded(a, o))
		emit(p, "<p id=\"storning\" role=\"alert\"><strong>Störning:</strong> inloggningen "
		    "är störd just nu. HSA-katalogen eller spärrkontrollen kan inte nås; du är "
		    "inloggad med uppgifter från en tidigare inloggning. Försök igen senare om "
		    "något saknas.</p>\n");
	emit(p, "<nav><a href=\"/\">Ansvar</a> | <a href=\"/avslutade\">Avslutade ansvar</a> | "
	    "<a href=\"/notifieringar\">Notifieringar</a>%s</nav>\n</header>\n<main>\n<h2>",
	    o->admin ? " | <a href=\"/logg\">Logg</a>" : "");
	emit_text(p, title);
	emit(p, "</h2>\n");
}

static void
tail(struct page *p)
{
	emit(p, "</main>\n</body>\n</html>\n");
}

static const char *
category_text(const char *c)
{
	return c != NULL && strcmp(c, "asylum") == 0 ? "asylsökande" :
	    "nyanländ med uppehållstillstånd";
}

/* A child's row up to its start: name, born, category, start (columns 1-4). */
static void
child_cells(struct page *p, const char *const *c)
{
	emit(p, "<tr><td>");
	emit_text(p, c[1]);
	emit(p, "</td><td>");
	emit_text(p, c[2]);
	emit(p, "</td><td>%s</td><td>", category_text(c[3]));
	emit_text(p, c[4]);
	emit(p, "</td>");
}

static void
row_current(void *cls, const char *const *c, int n)
{
	struct page *p = cls;

	child_cells(p, c);
	emit(p, "<td><a href=\"/anmal?barn=%ld\">Anmäl ändring</a></td></tr>\n",
	    strtol(c[0], NULL, 10));
}

static void
row_ended(void *cls, const char *const *c, int n)
{
	struct page *p = cls;

	child_cells(p, c);
	emit(p, "<td>");
	emit_text(p, c[5]);
	emit(p, "</td></tr>\n");
}

static void
row_three(void *cls, const char *const *c, int n)
{
	struct page *p = cls;
	int i;

	emit(p, "<tr>");
	for (i = 0; i < 3 && i < n; i++) {
		emit(p, "<td>");
		emit_text(p, c[i]);
		emit(p, "</td>");
	}
	emit(p, "</tr>\n");
}

static enum MHD_Result
send_page(struct MHD_Connection *c, unsigned int code, struct page *p)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(p->len, p->buf,
	    MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	free(p->buf);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* A short page saying why not, in Swedish. */
static enum MHD_Result
refuse(struct MHD_Connection *c, unsigned int code, const char *why)
{
	struct page p = { 0 };

	emit(&p, "<!DOCTYPE html>\n<html lang=\"sv\"><head><meta charset=\"utf-8\">"
	    "<title>Ingen åtkomst</title></head><body><h1>Ingen åtkomst</h1><p>");
	emit_text(&p, why);
	emit(&p, "</p></body></html>\n");
	return send_page(c, code, &p);
}

/* Per request: a POSTed form's fields. */
struct form {
	struct MHD_PostProcessor *pp;
	char change_date[16], text[1024];
	long child;
	int too_big;
	size_t bytes;
};

static enum MHD_Result
form_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
    const char *content_type, const char *encoding, const char *data, uint64_t off,
    size_t size)
{
	struct form *f = cls;
	char *dst = NULL;
	size_t cap = 0, have;

	if ((f->bytes += size) > 4096) {
		f->too_big = 1;
		return MHD_NO;
	}
	if (strcmp(key, "datum") == 0) {
		dst = f->change_date;
		cap = sizeof(f->change_date);
	} else if (strcmp(key, "text") == 0) {
		dst = f->text;
		cap = sizeof(f->text);
	} else if (strcmp(key, "barn") == 0 && off == 0 && size < 20) {
		char num[24];

		memcpy(num, data, size);
		num[size] = '\0';
		f->child = strtol(num, NULL, 10);
		return MHD_YES;
	}
	if (dst != NULL && (have = strlen(dst)) + size < cap) {
		memcpy(dst + have, data, size);
		dst[have + size] = '\0';
	}
	return MHD_YES;
}

static enum MHD_Result
page_report_form(struct app *a, struct MHD_Connection *c, const struct officer *o,
    const char *mname)
{
	const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "barn");
	long id = arg != NULL ? strtol(arg, NULL, 10) : 0;
	char name[128], cat[16], d[16];
	struct page p = { 0 };

	/* a child of another municipality is no child of this officer's */
	if (store_child(a->store, o->municipality, id, name, sizeof(name), cat, sizeof(cat)) != 0)
		return refuse(c, MHD_HTTP_NOT_FOUND, "Det finns inget sådant ansvar i din kommun.");
	today(d, sizeof(d));
	head(&p, a, o, "Anmäl ändring", mname);
	emit(&p, "<p>Anmälan gäller ");
	emit_text(&p, name);
	emit(&p, " (%s).</p>\n<form method=\"post\" action=\"/anmal\">\n"
	    "<input type=\"hidden\" name=\"barn\" value=\"%ld\">\n"
	    "<label>Datum för ändringen <input name=\"datum\" type=\"date\" value=\"%s\"></label>\n"
	    "<label>Vad har ändrats <textarea name=\"text\"></textarea></label>\n"
	    "<button type=\"submit\">Skicka anmälan</button>\n</form>\n", category_text(cat), id, d);
	tail(&p);
	return send_page(c, MHD_HTTP_OK, &p);
}

static enum MHD_Result
page_report_done(struct app *a, struct MHD_Connection *c, const struct officer *o,
    const char *mname, struct form *f)
{
	char name[128], cat[16], deadline[16], d[16];
	struct page p = { 0 };
	int late;

	if (f->too_big)
		return refuse(c, MHD_HTTP_CONTENT_TOO_LARGE, "Anmälan är för lång.");
	if (store_child(a->store, o->municipality, f->child, name, sizeof(name), cat,
	    sizeof(cat)) != 0)
		return refuse(c, MHD_HTTP_NOT_FOUND, "Det finns inget sådant ansvar i din kommun.");
	if (rules_deadline(cat, f->change_date, deadline, sizeof(deadline)) != 0)
		return refuse(c, MHD_HTTP_BAD_REQUEST, "Datumet ska skrivas ÅÅÅÅ-MM-DD.");
	today(d, sizeof(d));
	late = strcmp(d, deadline) > 0;
	if (store_report(a->store, o->municipality, f->child, o->hsa_id, f->change_date, f->text,
	    deadline, late) != 0)
		return refuse(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Anmälan kunde inte sparas.");
	head(&p, a, o, "Anmälan mottagen", mname);
	emit(&p, "<p id=\"kvitto\">Anmälan om ändring för ");
	emit_text(&p, name);
	emit(&p, " är sparad. Sista dag för anmälan: <strong id=\"sista-dag\">%s</strong>%s</p>\n",
	    deadline, late ? " <strong id=\"sen\">(anmälan är sen)</strong>" : "");
	tail(&p);
	return send_page(c, MHD_HTTP_OK, &p);
}

static enum MHD_Result
page_list(struct app *a, struct MHD_Connection *c, const struct officer *o,
    const char *mname, const char *url)
{
	struct page p = { 0 };
	char d[16];

	today(d, sizeof(d));
	if (strcmp(url, "/") == 0) {
		store_note(a->store, o->municipality, o->hsa_id, "inloggning");
		head(&p, a, o, "Ansvar", mname);
		emit(&p, "<table id=\"ansvar\"><tr><th>Namn</th><th>Född</th><th>Kategori</th>"
		    "<th>Ansvar från</th><th></th></tr>\n");
		store_current(a->store, o->municipality, row_current, &p);
	} else if (strcmp(url, "/avslutade") == 0) {
		head(&p, a, o, "Avslutade ansvar", mname);
		emit(&p, "<p>Den som har fyllt 22 år visas inte.</p>\n<table id=\"avslutade\">"
		    "<tr><th>Namn</th><th>Född</th><th>Kategori</th><th>Från</th><th>Till</th></tr>\n");
		store_ended(a->store, o->municipality, d, row_ended, &p);
	} else if (strcmp(url, "/notifieringar") == 0) {
		head(&p, a, o, "Notifieringar", mname);
		emit(&p, "<p>Notifieringar äldre än ett år visas inte.</p>\n<table id=\"notifieringar\">"
		    "<tr><th>Datum</th><th>Gäller</th><th>Notifiering</th></tr>\n");
		store_notifications(a->store, o->municipality, d, row_three, &p);
	} else {
		if (!o->admin) {
			free(p.buf);
			return refuse(c, MHD_HTTP_FORBIDDEN, "Loggen är bara för kommunens "
			    "administratör.");
		}
		head(&p, a, o, "Logg", mname);
		emit(&p, "<table id=\"logg\"><tr><th>Tid (UTC)</th><th>HSA-id</th><th>Händelse</th>"
		    "</tr>\n");
		store_log(a->store, o->municipality, row_three, &p);
	}
	emit(&p, "</table>\n");
	tail(&p);
	return send_page(c, MHD_HTTP_OK, &p);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **req_cls)
{
	struct app *a = cls;
	struct form *f = *req_cls;
	struct officer o;
	char mname[128];
	int connected = 0, post = strcmp(method, "POST") == 0;

	if (f == NULL) {
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return MHD_NO;
		*req_cls = f;
		if (post && (f->pp = MHD_create_post_processor(c, 4096, form_field, f)) == NULL)
			return MHD_NO;
		return MHD_YES;
	}
	if (post && *upload_size != 0) {
		MHD_post_process(f->pp, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	read_officer(a, c, &o);
	if (o.hsa_id[0] == '\0')
		return refuse(c, MHD_HTTP_UNAUTHORIZED, "Ingen inloggning: tjänsten nås bara "
		    "genom inloggning med SITHS-kort.");
	if (store_municipality(a->store, o.municipality, mname, sizeof(mname), &connected) != 0 ||
	    !connected)
		return refuse(c, MHD_HTTP_FORBIDDEN, "Din kommun är inte ansluten till tjänsten.");
	if (strcmp(url, "/anmal") == 0)
		return post ? page_report_done(a, c, &o, mname, f) :
		    page_report_form(a, c, &o, mname);
	if (post)
		return refuse(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Fel metod.");
	if (strcmp(url, "/") == 0 || strcmp(url, "/avslutade") == 0 ||
	    strcmp(url, "/notifieringar") == 0 || strcmp(url, "/logg") == 0)
		return page_list(a, c, &o, mname, url);
	return refuse(c, MHD_HTTP_NOT_FOUND, "Sidan finns inte.");
}

static void
done(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode t)
{
	struct form *f = *req_cls;

	if (f != NULL && f->pp != NULL)
		MHD_destroy_post_processor(f->pp);
	free(f);
	*req_cls = NULL;
}

static char *
read_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || n > 1 << 20 ||
	    fseek(fp, 0, SEEK_SET) != 0 || (buf = calloc(1, (size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (fp != NULL)
		fclose(fp);
	return buf;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "seed", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' }, { "admin-role", required_argument, NULL, 'a' },
		{ "status-url", required_argument, NULL, 'u' }, { NULL, 0, NULL, 0 },
	};
	struct app a = { NULL, NULL, NULL };
	struct MHD_Daemon *mhd;
	const char *db = NULL, *seed_path = NULL;
	struct sockaddr_in sa;
	char *seed = NULL;
	sigset_t sigs;
	int o, port = 8600, sig;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': db = optarg; break;
		case 's': seed_path = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'a': a.admin_role = optarg; break;
		case 'u': a.status_url = optarg; break;
		default:
			fprintf(stderr, "usage: eservice --db FILE --seed FILE [--port PORT] "
			    "[--admin-role ROLE] [--status-url URL]\n");
			return 2;
		}
	}
	if (db == NULL || (seed_path != NULL && (seed = read_file(seed_path)) == NULL) ||
	    (a.store = store_open(db, seed)) == NULL) {
		fprintf(stderr, "eservice: cannot open the database\n");
		return 1;
	}
	free(seed);
	/* before any thread starts, so that all of them leave these to sigwait() */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
	    0, NULL, NULL, handle, &a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    MHD_OPTION_END);
	if (mhd == NULL) {
		fprintf(stderr, "eservice: cannot listen on 127.0.0.1:%d\n", port);
		return 1;
	}
	printf("eservice: listening on 127.0.0.1:%d\n", port);
	fflush(stdout);
	sigwait(&sigs, &sig);
	MHD_stop_daemon(mhd);
	store_close(&a.store);
	return 0;
}
