/*
 * The SQLite backend: notices that ask for an answer, and R15's questions
 * (see dm_store.h).  Keys arrive hashed.
 */
#include <string.h>

#include "dm_store_sqlite_int.h"

static bool dm_sqlite_prepare_or_fail(dm_sqlite *q, const char *sql, sqlite3_stmt **st,
                                      const char *what, GError **err)
{
    if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) == SQLITE_OK)
        return true;
    dm_sqlite_error(err, q->db, what);
    return false;
}

static char *dm_col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t != NULL ? g_strdup((const char *)t) : NULL;
}

bool dm_sqlite_notice_add(dm_store *s, const char *id, int64_t time, const char *person_key,
                          const char *msg_key, const char *registrar, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    bool ok = false;

    g_mutex_lock(&q->lock);
    if (dm_sqlite_prepare_or_fail(q,
                                  "INSERT OR IGNORE INTO notices(id, person, msg, registrar, time)"
                                  " VALUES (?, ?, ?, ?, ?)",
                                  &st, "notices", err)) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, person_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, msg_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, registrar, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, time);
        ok = sqlite3_step(st) == SQLITE_DONE;
        if (!ok)
            dm_sqlite_error(err, q->db, "notices");
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_notice_answer(dm_store *s, const char *person_key, char *const *msg_keys,
                             size_t n_keys, const char *answer_id, int64_t now, unsigned *n,
                             GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    bool ok = true;

    *n = 0;
    g_mutex_lock(&q->lock);
    if (!dm_sqlite_prepare_or_fail(q,
                                   "UPDATE notices SET answered = ?, answer_id = ? WHERE"
                                   " person = ? AND msg = ? AND answered = 0 AND time <= ?",
                                   &st, "notices", err)) {
        g_mutex_unlock(&q->lock);
        return false;
    }
    for (size_t i = 0; i < n_keys && ok; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, answer_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, person_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, msg_keys[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        ok = sqlite3_step(st) == SQLITE_DONE;
        if (ok)
            *n += (unsigned)sqlite3_changes(q->db);
        else
            dm_sqlite_error(err, q->db, "notices");
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_notice_each(dm_store *s, int64_t since, dm_notice_fn fn, void *data,
                           GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;

    g_mutex_lock(&q->lock);
    if (dm_sqlite_prepare_or_fail(q,
                                  "SELECT id, person, registrar, time, reminded, answered,"
                                  " answer_id FROM notices WHERE time >= ? ORDER BY time, id",
                                  &st, "notices", err)) {
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
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return rc == SQLITE_DONE;
}

bool dm_sqlite_notice_remind(dm_store *s, const char *id, const char *person_key, int64_t now,
                             bool *claimed, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    bool ok = false;

    *claimed = false;
    g_mutex_lock(&q->lock);
    if (dm_sqlite_prepare_or_fail(q,
                                  now > 0 ? "UPDATE notices SET reminded = ? WHERE id = ? AND"
                                            " person = ? AND reminded = 0 AND answered = 0"
                                          : "UPDATE notices SET reminded = ? WHERE id = ? AND"
                                            " person = ?",
                                  &st, "notices", err)) {
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, person_key, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        if (ok)
            *claimed = sqlite3_changes(q->db) > 0;
        else
            dm_sqlite_error(err, q->db, "notices");
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_question_add(dm_store *s, const char *id, int64_t time, const char *mailbox,
                            const char *msg_key, const char *thread_key, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    bool ok = false;

    g_mutex_lock(&q->lock);
    if (dm_sqlite_prepare_or_fail(q,
                                  "INSERT OR IGNORE INTO questions(id, mailbox, msg, thread, time)"
                                  " VALUES (?, ?, ?, ?, ?)",
                                  &st, "questions", err)) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, mailbox, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, msg_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, thread_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, time);
        ok = sqlite3_step(st) == SQLITE_DONE;
        if (!ok)
            dm_sqlite_error(err, q->db, "questions");
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return ok;
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
    if (!dm_sqlite_prepare_or_fail(q,
                                   "UPDATE questions SET answered = ?, answer_id = ? WHERE"
                                   " msg = ? AND msg <> '' AND answered = 0 AND time <= ?",
                                   &by_msg, "questions", err) ||
        !dm_sqlite_prepare_or_fail(q,
                                   "UPDATE questions SET answered = ?, answer_id = ? WHERE"
                                   " thread = ? AND thread <> '' AND answered = 0 AND time <= ?",
                                   &by_thread, "questions", err))
        goto out;
    if (!dm_sqlite_exec(q, "BEGIN IMMEDIATE", err))
        goto out;
    ok = true;
    for (size_t i = 0; ok && i < n_keys + n_threads; i++) {
        sqlite3_stmt *st = i < n_keys ? by_msg : by_thread;

        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, now);
        sqlite3_bind_text(st, 2, answer_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, i < n_keys ? msg_keys[i] : thread_keys[i - n_keys], -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        ok = sqlite3_step(st) == SQLITE_DONE;
        if (ok)
            *n += (unsigned)sqlite3_changes(q->db);
        else
            dm_sqlite_error(err, q->db, "questions");
    }
    if (ok)
        ok = dm_sqlite_exec(q, "COMMIT", err);
    if (!ok)
        dm_sqlite_exec(q, "ROLLBACK", NULL);
out:
    sqlite3_finalize(by_msg);
    sqlite3_finalize(by_thread);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_question_each(dm_store *s, int64_t since, const char *mailbox,
                             dm_question_fn fn, void *data, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    int rc = SQLITE_ERROR;

    g_mutex_lock(&q->lock);
    if (dm_sqlite_prepare_or_fail(q,
                                  "SELECT id, mailbox, time, answered, answer_id FROM questions"
                                  " WHERE time >= ? AND (? IS NULL OR mailbox = ?)"
                                  " ORDER BY time, id, mailbox",
                                  &st, "questions", err)) {
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
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return rc == SQLITE_DONE;
}
