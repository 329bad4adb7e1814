/*
 * The SQLite backend's internals (dm_store_sqlite*.c): one connection in
 * WAL mode with synchronous=FULL, serialized by its lock.
 */
#ifndef DM_STORE_SQLITE_INT_H
#define DM_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "dm_store_int.h"

typedef struct dm_sqlite {
    sqlite3 *db;
    char *path;
    GMutex lock; /* the connection is used by one thread at a time */
    GHashTable *stmts; /* SQL text -> its prepared statement, kept open */
} dm_sqlite;

static inline dm_sqlite *dm_sqlite_of(dm_store *s)
{
    return s->be;
}

void dm_sqlite_error(GError **err, sqlite3 *db, const char *what);
/* A script of several statements (the schema, pragmas); one statement,
 * and BEGIN, COMMIT and ROLLBACK, go through dm_sqlite_run. */
bool dm_sqlite_exec(dm_sqlite *q, const char *sql, GError **err);
/* The connection's statement for one SQL statement, prepared on first use
 * and kept, so the per-message path parses no SQL; NULL (err set, naming
 * WHAT) when SQLite refuses it.  Give it back with dm_sqlite_put before
 * the lock is released; texts built at run time go through
 * sqlite3_prepare_v2 instead, or the cache would grow with them. */
sqlite3_stmt *dm_sqlite_get(dm_sqlite *q, const char *sql, const char *what, GError **err);
/* Reset ST and drop its bindings (which may point at the caller's
 * strings); NULL is accepted. */
void dm_sqlite_put(sqlite3_stmt *st);
/* One cached statement run to its end (BEGIN, SAVEPOINT, COMMIT ...). */
bool dm_sqlite_run(dm_sqlite *q, const char *sql, GError **err);
/* A meta row's value (new string), or NULL. */
char *dm_sqlite_meta(dm_sqlite *q, const char *key);
bool dm_sqlite_set_meta(dm_sqlite *q, const char *key, const char *value, GError **err);

/* dm_store_sqlite_journal.c */
void dm_sqlite_journal_write(dm_store *s, GPtrArray *batch);
bool dm_sqlite_journal_find_dup(dm_store *s, const char *dup_key, int64_t since, char **id,
                                int64_t *time, GError **err);
bool dm_sqlite_journal_has(dm_store *s, const char *id, bool *has, GError **err);
bool dm_sqlite_journal_scan(dm_store *s, dm_journal_points_fn points, dm_journal_raw_fn fn,
                            void *data, GError **err);
bool dm_sqlite_journal_search(dm_store *s, const dm_journal_query *q, dm_journal_row_fn fn,
                              void *data, GError **err);
bool dm_sqlite_prune_count(dm_store *s, const char *klass, int64_t before, size_t *n,
                           GError **err);
bool dm_sqlite_prune_batch(dm_store *s, const char *klass, int64_t before, int64_t now,
                           size_t limit, size_t *done, GError **err);
bool dm_sqlite_prune_compact(dm_store *s, size_t *removed, GError **err);

/* dm_store_sqlite_counters.c */
/* The counters and claims an entry asks for, inside the journal's
 * transaction with the lock held. */
bool dm_sqlite_counters_record(dm_store *s, const dm_journal_entry *e, GError **err);
bool dm_sqlite_mass_count(dm_store *s, const char *sender_key, char *const *rcpt_keys,
                          size_t n, int64_t since, unsigned *count, GError **err);
bool dm_sqlite_autoreply_get(dm_store *s, const char *person, int64_t *first, int64_t *last,
                             GError **err);
bool dm_sqlite_autoreply_each(dm_store *s, int64_t since, dm_autoreply_fn fn, void *data,
                              GError **err);
bool dm_sqlite_once_seen(dm_store *s, const char *key, bool *seen, GError **err);
bool dm_sqlite_owed_find(dm_store *s, const char *key, int64_t since, char **id, GError **err);
bool dm_sqlite_counters_each(dm_store *s, dm_store_counter_fn fn, void *data, GError **err);

/* dm_store_sqlite_notices.c */
bool dm_sqlite_notice_add(dm_store *s, const char *id, int64_t time, const char *person_key,
                          const char *msg_key, const char *registrar, GError **err);
bool dm_sqlite_notice_answer(dm_store *s, const char *person_key, char *const *msg_keys,
                             size_t n_keys, const char *answer_id, int64_t now, unsigned *n,
                             GError **err);
bool dm_sqlite_notice_each(dm_store *s, int64_t since, dm_notice_fn fn, void *data,
                           GError **err);
bool dm_sqlite_notice_remind(dm_store *s, const char *id, const char *person_key, int64_t now,
                             bool *claimed, GError **err);
bool dm_sqlite_question_add(dm_store *s, const char *id, int64_t time, const char *mailbox,
                            const char *msg_key, const char *thread_key, GError **err);
bool dm_sqlite_question_answer(dm_store *s, char *const *msg_keys, size_t n_keys,
                               char *const *thread_keys, size_t n_threads,
                               const char *answer_id, int64_t now, unsigned *n, GError **err);
bool dm_sqlite_question_each(dm_store *s, int64_t since, const char *mailbox,
                             dm_question_fn fn, void *data, GError **err);

#endif
