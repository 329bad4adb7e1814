/*
 * The SQLite backend: notices that ask for an answer, and R15's questions
 * (see dm_store.h).  Keys arrive hashed.  Statements come from the
 * connection's cache (dm_sqlite_get).
 */
#include <string.h>

#include "dm_store_sqlite_int.h"

static char *dm_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t != NULL ? g_strdup((const char *)t) : NULL;
}

/* Run st, bound, to its end; the rows it changed added to *changed when
 * not NULL. */
static bool dm_sqlite_step_done(dm_sqlite *q, sqlite3_stmt *st, const char *what,
                                unsigned *changed, GError **err)
{
    if (sqlite3_step(st) != SQLITE_DONE) {
        dm_sqlite_error(err, q->db, what);
        return false;
    }
    if (changed != NULL)
        *changed += (unsigned)sqlite3_changes(q->db);
    return true;
}

/* An INSERT OR IGNORE of (id, key, msg, other, time), notices' or
 * questions'. */
static bool dm_sqlite_notices_insert(dm_store *s, const char *sql, const char *what,
                                     const char *id, const char *key, const char *msg_key,
                                     const char *other, int64_t time, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st;
    bool ok = false;

    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q, sql, what, err)) != NULL) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, msg_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, other, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, time);
        ok = dm_sqlite_step_done(q, st, what, NULL, err);
    }
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_notice_add(dm_store *s, const char *id, int64_t time, const char *person_key,
                          const char *msg_key, const char *registrar, GError **err)
{
    return dm_sqlite_notices_insert(s,
                                    "INSERT OR IGNORE INTO notices(id, person, msg, registrar,"
                                    " time) VALUES (?, ?, ?, ?, ?)",
                                    "notices", id, person_key, msg_key, registrar, time, err);
}

bool dm_sqlite_notice_answer(dm_store *s, const char *person_key, char *const *msg_keys,
                             size_t n_keys, const char *answer_id, int64_t now, unsigned *n,
                             GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st;
    bool ok = false;

    *n = 0;
    g_mutex_lock(&q->lock);
    st = dm_sqlite_get(q,
                       "UPDATE notices SET answered = ?, answer_id = ? WHERE"
                       " person = ? AND msg = ? AND answered = 0 AND time <= ?",
                       "notices", err);
    ok = st != NULL;
    for (size_t i = 0; i < n_keys && ok; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, answer_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, person_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, msg_keys[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        ok = dm_sqlite_step_done(q, st, "notices", n, err);
    }
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_notice_each(dm_store *s, int64_t since, dm_notice_fn fn, void *data,
                           GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st;
    int rc = SQLITE_ERROR;

    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q,
                            "SELECT id, person, registrar, time, reminded, answered,"
                            " answer_id FROM notices WHERE time >= ? ORDER BY time, id",
                            "notices", err)) != NULL) {
        sqlite3_bind_int64(st, 1, since);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            dm_notice_row *r = g_new0(dm_notice_row, 1);

            r->id = dm_col_text(st, 0);
            r->person_key = dm_col_text(st, 1);
            r->registrar = dm_col_text(st, 2);
            r->time = sqlite3_column_int64(st, 3);
            r->reminded = sqlite3_column_int64(st, 4);
            r->answered = sqlite3_column_int64(st, 5);
            r->answer_id = dm_col_text(st, 6);
            if (!fn(r, data)) {
                rc = SQLITE_DONE;
                break;
            }
        }
        if (rc != SQLITE_DONE)
            dm_sqlite_error(err, q->db, "notices");
    }
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return rc == SQLITE_DONE;
}

bool dm_sqlite_notice_remind(dm_store *s, const char *id, const char *person_key, int64_t now,
                             bool *claimed, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st;
    unsigned changed = 0;
    bool ok = false;

    *claimed = false;
    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q,
                            now > 0 ? "UPDATE notices SET reminded = ? WHERE id = ? AND"
                                      " person = ? AND reminded = 0 AND answered = 0"
                                    : "UPDATE notices SET reminded = ? WHERE id = ? AND"
                                      " person = ?",
                            "notices", err)) != NULL) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, person_key, -1, SQLITE_STATIC);
        ok = dm_sqlite_step_done(q, st, "notices", &changed, err);
        *claimed = changed > 0;
    }
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_question_add(dm_store *s, const char *id, int64_t time, const char *mailbox,
                            const char *msg_key, const char *thread_key, GError **err)
{
    return dm_sqlite_notices_insert(s,
                                    "INSERT OR IGNORE INTO questions(id, mailbox, msg, thread,"
                                    " time) VALUES (?, ?, ?, ?, ?)",
                                    "questions", id, mailbox, msg_key, thread_key, time, err);
}

bool dm_sqlite_question_answer(dm_store *s, char *const *msg_keys, size_t n_keys,
                               char *const *thread_keys, size_t n_threads,
                               const char *answer_id, int64_t now, unsigned *n, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *by_msg = NULL, *by_thread = NULL;
    bool ok = false;

    *n = 0;
    g_mutex_lock(&q->lock);
    by_msg = dm_sqlite_get(q,
                           "UPDATE questions SET answered = ?, answer_id = ? WHERE"
                           " msg = ? AND msg <> '' AND answered = 0 AND time <= ?",
                           "questions", err);
    if (by_msg != NULL)
        by_thread = dm_sqlite_get(q,
                                  "UPDATE questions SET answered = ?, answer_id = ? WHERE"
                                  " thread = ? AND thread <> '' AND answered = 0 AND time <= ?",
                                  "questions", err);
    if (by_thread != NULL && dm_sqlite_run(q, "BEGIN IMMEDIATE", err)) {
        ok = true;
        for (size_t i = 0; ok && i < n_keys + n_threads; i++) {
            sqlite3_stmt *st = i < n_keys ? by_msg : by_thread;

            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, now);
            sqlite3_bind_text(st, 2, answer_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, i < n_keys ? msg_keys[i] : thread_keys[i - n_keys], -1,
                              SQLITE_STATIC);
            sqlite3_bind_int64(st, 4, now);
            ok = dm_sqlite_step_done(q, st, "questions", n, err);
        }
        if (ok)
            ok = dm_sqlite_run(q, "COMMIT", err);
        if (!ok)
            dm_sqlite_run(q, "ROLLBACK", NULL);
    }
    dm_sqlite_put(by_msg);
    dm_sqlite_put(by_thread);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_question_each(dm_store *s, int64_t since, const char *mailbox,
                             dm_question_fn fn, void *data, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st;
    int rc = SQLITE_ERROR;

    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q,
                            "SELECT id, mailbox, time, answered, answer_id FROM questions"
                            " WHERE time >= ? AND (? IS NULL OR mailbox = ?)"
                            " ORDER BY time, id, mailbox",
                            "questions", err)) != NULL) {
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_text(st, 2, mailbox, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, mailbox, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            dm_question_row *r = g_new0(dm_question_row, 1);

            r->id = dm_col_text(st, 0);
            r->mailbox = dm_col_text(st, 1);
            r->time = sqlite3_column_int64(st, 2);
            r->answered = sqlite3_column_int64(st, 3);
            r->answer_id = dm_col_text(st, 4);
            if (!fn(r, data)) {
                rc = SQLITE_DONE;
                break;
            }
        }
        if (rc != SQLITE_DONE)
            dm_sqlite_error(err, q->db, "questions");
    }
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return rc == SQLITE_DONE;
}
