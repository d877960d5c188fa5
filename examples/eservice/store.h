/*
 * store.h - the e-service's data in SQLite: municipalities (connected or
 * not, with their appointed administrator), the unaccompanied children and
 * young people each is responsible for, notifications, reports of changed
 * circumstances, and each municipality's log. Every query that reads or
 * writes a person's data takes the officer's municipality and keeps to it.
 * Fictional data only (seed.sql).
 */
#ifndef ESERVICE_STORE_H
#define ESERVICE_STORE_H

#include <stddef.h>

struct store;

/* Open (and create from schema and seed when new) the database at path; NULL on failure. */
struct store *store_open(const char *path, const char *seed_sql);
void store_close(struct store **s);

/* The municipality's name and whether it is connected; 0, or -1 when unknown. */
int store_municipality(struct store *s, const char *code, char *name, size_t len,
    int *connected);

/* A row handed to a callback: columns by index, as text. */
typedef void store_row_fn(void *cls, const char *const *cols, int ncols);

/* Current responsibilities: id, name, born, category, start. */
int store_current(struct store *s, const char *municipality, store_row_fn *fn, void *cls);
/* Ended ones of people younger than 22 today: id, name, born, category, start, end. */
int store_ended(struct store *s, const char *municipality, const char *today,
    store_row_fn *fn, void *cls);
/* Notifications of the last year: created, child's name, text. */
int store_notifications(struct store *s, const char *municipality, const char *today,
    store_row_fn *fn, void *cls);
/* The log: at, hsa_id, action. */
int store_log(struct store *s, const char *municipality, store_row_fn *fn, void *cls);

/* The child's name and category, if the child is in municipality's care; 0 or -1. */
int store_child(struct store *s, const char *municipality, long id, char *name, size_t len,
    char *category, size_t clen);
/* Store a report (with its deadline and lateness) and log it; 0 or -1. */
int store_report(struct store *s, const char *municipality, long child, const char *hsa_id,
    const char *change_date, const char *text, const char *deadline, int late);
/* One line in the municipality's log. */
int store_note(struct store *s, const char *municipality, const char *hsa_id,
    const char *action);

#endif
