/*
 * The PostgreSQL backend's internals (dm_store_pg*.c): a small pool of
 * libpq connections shared by the daemon's threads, every statement
 * bounded in time on both sides (the server's statement_timeout, and a
 * client-side deadline for a server that no longer answers), and a
 * connection that failed in a way that may not pass (lost, read-only, shut
 * down) closed rather than reused, so that the next call connects again:
 * to the same server when it is back, or, with several hosts and
 * target_session_attrs=read-write, to whichever is the primary now.
 */
#ifndef DM_STORE_PG_INT_H
#define DM_STORE_PG_INT_H

#include <libpq-fe.h>

#include "dm_store_int.h"

/* Appends to the journal hold this transaction-level advisory lock:
 * one chain, in commit order, whichever gateway writes ("diarie" in
 * ASCII, and 1). */
#define DM_PG_JOURNAL_LOCK "7235390247020429313"
/* Creating or upgrading the schema. */
#define DM_PG_SCHEMA_LOCK "7235390247020429314"

typedef struct dm_pg_conn {
    PGconn *c;
    bool bad;   /* close it when it is put back */
} dm_pg_conn;

typedef struct dm_pg {
    char *conninfo;
    GMutex lock;
    GCond cond;
    GPtrArray *idle;     /* dm_pg_conn *, connected and idle */
    unsigned open;       /* connections made: idle or in use */
    int64_t retry_at;    /* monotonic µs: a connect failed; until then fail at once */
    char *last_error;    /* of that connect */
} dm_pg;

static inline dm_pg *dm_pg_of(dm_store *s)
{
    return s->be;
}

/* --- connections (dm_store_pg_conn.c) --- */
/* A connection from the pool, waiting at most the connect timeout for
 * one to be free; NULL and err when none can be had. */
dm_pg_conn *dm_pg_get(dm_store *s, GError **err);
/* Back to the pool (closed when bad, or not idle outside a transaction). */
void dm_pg_put(dm_store *s, dm_pg_conn *c);
void dm_pg_pool_clear(dm_pg *p);

/* One statement with text parameters (NULL: SQL NULL).  The result when
 * it succeeded (tuples, a command, or COPY IN started), else NULL and err
 * ("DATABASE: WHAT: message"); a failure that may not pass marks c bad. */
PGresult *dm_pg_exec(dm_store *s, dm_pg_conn *c, const char *what, const char *sql, int n,
                     const char *const *params, GError **err);
/* The same, for a statement whose result is not read. */
bool dm_pg_cmd(dm_store *s, dm_pg_conn *c, const char *what, const char *sql, int n,
               const char *const *params, GError **err);
/* One statement of a pipeline: its text (static), its parameters
 * (owned), the row of the batch it belongs to (G_MAXUINT: none), and for
 * a claim the keys it sent (owned) and which out array they answer. */
typedef enum { DM_PG_PLAIN, DM_PG_CLAIM_OWED, DM_PG_CLAIM_ONCE } dm_pg_use;
typedef struct dm_pg_stmt {
    const char *what;
    const char *sql;
    int n;
    char **p; /* [n], grown by dm_pg_stmt_param */
    guint req;
    dm_pg_use use;
    char **keys;
    size_t nkeys;
} dm_pg_stmt;
dm_pg_stmt *dm_pg_stmt_add(GPtrArray *stmts, const char *what, const char *sql, guint req);
void dm_pg_stmt_param(dm_pg_stmt *st, const char *v);
void dm_pg_stmt_free(dm_pg_stmt *st);
/* Send every statement at once (libpq's pipeline mode) and read their
 * results into res[i]: one round trip for all.  After a statement fails,
 * the rest are not run (PGRES_PIPELINE_ABORTED).  False, with c bad,
 * when the connection failed or the deadline passed. */
bool dm_pg_pipeline(dm_store *s, dm_pg_conn *c, GPtrArray *stmts, PGresult **res, GError **err);
bool dm_pg_result_ok(const PGresult *r);
/* err from a failed result; false (and c bad) when the failure will not
 * pass on this connection. */
bool dm_pg_result_error(dm_store *s, dm_pg_conn *c, const char *what, const PGresult *r,
                        GError **err);
/* A value of a result, NULL for SQL NULL. */
const char *dm_pg_value(const PGresult *r, int row, int col);
/* An array literal of strings ("{\"a\",\"b\"}") for a text[] parameter. */
char *dm_pg_array(char *const *v, size_t n);
/* A COPY text-format field ("\N" for NULL) appended to o. */
void dm_pg_copy_field(GString *o, const char *v);
/* Send o (whole COPY lines) and empty it; end: finish the COPY. */
bool dm_pg_copy_put(dm_store *s, dm_pg_conn *c, GString *o, bool end, GError **err);
/* Roll back an open transaction; a connection that cannot goes bad. */
void dm_pg_rollback(dm_store *s, dm_pg_conn *c);
/* A meta value (new string; NULL when none) on c. */
bool dm_pg_meta(dm_store *s, dm_pg_conn *c, const char *key, char **value, GError **err);
bool dm_pg_set_meta(dm_store *s, dm_pg_conn *c, const char *key, const char *value,
                    GError **err);

/* A meta value as a number on a connection of the pool; 0 when there is
 * none or no connection. */
int64_t dm_pg_meta_int(dm_store *s, const char *key);

/* One statement on a connection of the pool, given back at once: the
 * result as dm_pg_exec's. */
PGresult *dm_pg_query(dm_store *s, const char *what, const char *sql, int n,
                      const char *const *params, GError **err);
/* A transaction on c: begin is "BEGIN" or a BEGIN with its modes, lock an
 * advisory lock's number (DM_PG_JOURNAL_LOCK ...) held to its end, or
 * NULL.  False with err, and nothing left open, when not. */
bool dm_pg_begin_on(dm_store *s, dm_pg_conn *c, const char *what, const char *begin,
                    const char *lock, GError **err);
/* The same on a connection of the pool; NULL and err when not. */
dm_pg_conn *dm_pg_begin(dm_store *s, const char *what, const char *begin, const char *lock,
                        GError **err);
/* End what dm_pg_begin_on began: COMMIT when ok (false with err when the
 * COMMIT fails), else roll back; whether it committed. */
bool dm_pg_end_on(dm_store *s, dm_pg_conn *c, const char *what, bool ok, GError **err);
/* The same, and c back to the pool (dm_pg_begin's end). */
bool dm_pg_end(dm_store *s, dm_pg_conn *c, const char *what, bool ok, GError **err);

/* Text from an envelope or a header as the database takes it (UTF-8),
 * the same on every call so that a key claimed is found; NULL stays
 * NULL.  g_free. */
char *dm_pg_utf8(const char *s);
/* buf (a char array) holding v in decimal, for a text parameter. */
#define DM_PG_I64(buf, v) (g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT, (int64_t)(v)), buf)

/* --- the journal (dm_store_pg_journal.c) --- */
void dm_pg_journal_write(dm_store *s, GPtrArray *batch);
bool dm_pg_journal_find_dup(dm_store *s, const char *dup_key, int64_t since, char **id,
                            int64_t *time, GError **err);
bool dm_pg_journal_has(dm_store *s, const char *id, bool *has, GError **err);
bool dm_pg_journal_scan(dm_store *s, dm_journal_points_fn points, dm_journal_raw_fn fn,
                        void *data, GError **err);
bool dm_pg_journal_search(dm_store *s, const dm_journal_query *q, dm_journal_row_fn fn,
                          void *data, GError **err);
bool dm_pg_prune_count(dm_store *s, const char *klass, int64_t before, size_t *n,
                       GError **err);
bool dm_pg_prune_batch(dm_store *s, const char *klass, int64_t before, int64_t now,
                       size_t limit, size_t *done, GError **err);
bool dm_pg_prune_compact(dm_store *s, size_t *removed, GError **err);

/* --- counters, claims, migration (dm_store_pg_counters.c) --- */
/* The statements that record e's counters and claims in the journal's
 * transaction (row req of the batch), and what their results say. */
void dm_pg_counters_stmts(dm_store *s, const dm_journal_entry *e, guint req,
                          GPtrArray *stmts);
void dm_pg_counters_claimed(const dm_pg_stmt *st, const PGresult *r,
                            const dm_journal_entry *e);
bool dm_pg_mass_count(dm_store *s, const char *sender_key, char *const *rcpt_keys, size_t n,
                      int64_t since, unsigned *count, GError **err);
bool dm_pg_autoreply_get(dm_store *s, const char *person, int64_t *first, int64_t *last,
                         GError **err);
bool dm_pg_autoreply_each(dm_store *s, int64_t since, dm_autoreply_fn fn, void *data,
                          GError **err);
bool dm_pg_once_seen(dm_store *s, const char *key, bool *seen, GError **err);
bool dm_pg_owed_find(dm_store *s, const char *key, int64_t since, char **id, GError **err);
bool dm_pg_counters_each(dm_store *s, dm_store_counter_fn fn, void *data, GError **err);
bool dm_pg_import(dm_store *s, dm_store *from, GError **err);

/* --- notices and questions (dm_store_pg_notices.c) --- */
bool dm_pg_notice_add(dm_store *s, const char *id, int64_t time, const char *person_key,
                      const char *msg_key, const char *registrar, GError **err);
bool dm_pg_notice_answer(dm_store *s, const char *person_key, char *const *msg_keys,
                         size_t n_keys, const char *answer_id, int64_t now, unsigned *n,
                         GError **err);
bool dm_pg_notice_each(dm_store *s, int64_t since, dm_notice_fn fn, void *data, GError **err);
bool dm_pg_notice_remind(dm_store *s, const char *id, const char *person_key, int64_t now,
                         bool *claimed, GError **err);
bool dm_pg_question_add(dm_store *s, const char *id, int64_t time, const char *mailbox,
                        const char *msg_key, const char *thread_key, GError **err);
bool dm_pg_question_answer(dm_store *s, char *const *msg_keys, size_t n_keys,
                           char *const *thread_keys, size_t n_threads, const char *answer_id,
                           int64_t now, unsigned *n, GError **err);
bool dm_pg_question_each(dm_store *s, int64_t since, const char *mailbox, dm_question_fn fn,
                         void *data, GError **err);

#endif
