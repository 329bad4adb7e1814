/*
 * The SQLite backend: the counters the duties of section 4 and 5 need
 * across messages:
 *
 *  - mass_window: one sender's distinct recipients inside the R14 window,
 *    both as keyed hashes (who wrote to whom is not kept, only that the
 *    same pair was seen), so that splitting a mass mailing does not
 *    evade the rule and a reload or restart forgets nothing;
 *  - autoreply: when an automatic reply last left from a person, and
 *    when the run of them (the absence) began (R12, R13);
 *  - once: notices sent at most once per period (the manager's notice
 *    once a day, the auto-reply reminder once an absence), by key;
 *  - owed: the actions one message owes, each claimed by the first
 *    arrival that owes it (see dm_store.h).
 *
 * They are written in the journal row's own transaction
 * (dm_sqlite_counters_record), so what a message counted and what it was
 * journaled as cannot disagree.
 */
#include <string.h>

#include "dm_store_sqlite_int.h"

static bool dm_counter_step_done(dm_sqlite *q, sqlite3_stmt *st, const char *what, GError **err)
{
    int rc = sqlite3_step(st);

    dm_sqlite_put(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        dm_sqlite_error(err, q->db, what);
        return false;
    }
    return true;
}

bool dm_sqlite_mass_count(dm_store *s, const char *skey, char *const *rkeys, size_t n,
                          int64_t since, unsigned *count, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL, *one = NULL;
    unsigned total = 0;
    bool ok = false;

    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q, "SELECT count(*) FROM mass_window WHERE sender = ? AND time >= ?",
                            "mass window", err)) == NULL ||
        (one = dm_sqlite_get(
             q, "SELECT 1 FROM mass_window WHERE sender = ? AND rcpt = ? AND time >= ?",
             "mass window", err)) == NULL)
        goto out;
    sqlite3_bind_text(st, 1, skey, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    if (sqlite3_step(st) != SQLITE_ROW) {
        dm_sqlite_error(err, q->db, "mass window");
        goto out;
    }
    total = (unsigned)sqlite3_column_int64(st, 0);
    /* This message's recipients not yet in the window count too. */
    for (size_t i = 0; i < n; i++) {
        int rc;

        sqlite3_reset(one);
        sqlite3_bind_text(one, 1, skey, -1, SQLITE_STATIC);
        sqlite3_bind_text(one, 2, rkeys[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(one, 3, since);
        rc = sqlite3_step(one);
        if (rc == SQLITE_DONE)
            total++;
        else if (rc != SQLITE_ROW) {
            dm_sqlite_error(err, q->db, "mass window");
            goto out;
        }
    }
    *count = total;
    ok = true;
out:
    dm_sqlite_put(st);
    dm_sqlite_put(one);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_autoreply_get(dm_store *s, const char *person, int64_t *first, int64_t *last,
                             GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    bool ok = false;
    int rc;

    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q, "SELECT first, last FROM autoreply WHERE person = ?", "autoreply",
                            err)) == NULL)
        goto out;
    sqlite3_bind_text(st, 1, person, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *first = sqlite3_column_int64(st, 0);
        *last = sqlite3_column_int64(st, 1);
    } else if (rc != SQLITE_DONE) {
        dm_sqlite_error(err, q->db, "autoreply");
        goto out;
    }
    ok = true;
out:
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_autoreply_each(dm_store *s, int64_t since, dm_autoreply_fn fn, void *data,
                              GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    int rc;

    g_mutex_lock(&q->lock);
    if (sqlite3_prepare_v2(q->db,
                           "SELECT person, first, last, count FROM autoreply WHERE last >= ?"
                           " ORDER BY person",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "autoreply");
        g_mutex_unlock(&q->lock);
        return false;
    }
    sqlite3_bind_int64(st, 1, since);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dm_autoreply_row r = {.person = (char *)sqlite3_column_text(st, 0),
                              .first = sqlite3_column_int64(st, 1),
                              .last = sqlite3_column_int64(st, 2),
                              .count = sqlite3_column_int64(st, 3)};

        if (!fn(&r, data)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        dm_sqlite_error(err, q->db, "autoreply");
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return rc == SQLITE_DONE;
}

bool dm_sqlite_once_seen(dm_store *s, const char *key, bool *seen, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    bool ok = false;
    int rc;

    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q, "SELECT 1 FROM once WHERE key = ?", "once", err)) == NULL)
        goto out;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seen = true;
    else if (rc != SQLITE_DONE) {
        dm_sqlite_error(err, q->db, "once");
        goto out;
    }
    ok = true;
out:
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_owed_find(dm_store *s, const char *key, int64_t since, char **id, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    bool ok = false;
    int rc;

    g_mutex_lock(&q->lock);
    if ((st = dm_sqlite_get(q, "SELECT id FROM owed WHERE key = ? AND time >= ?", "owed", err)) ==
        NULL)
        goto out;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *id = g_strdup((const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE) {
        dm_sqlite_error(err, q->db, "owed");
        goto out;
    }
    ok = true;
out:
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

/* Claim one owed action for the row `id` (dm_store_owed_find): one
 * statement, which takes the key when it is free or its claim was made
 * before `since`, and leaves a live claim alone.  *claimed: whether the
 * claim is now this row's. */
static bool dm_sqlite_owed_claim(dm_sqlite *q, const char *key, const char *id, int64_t time,
                                 int64_t since, bool *claimed, GError **err)
{
    sqlite3_stmt *st = NULL;

    *claimed = false;
    /* One statement: PostgreSQL has the same INSERT ... ON CONFLICT DO
     * UPDATE ... WHERE, and a row changed says the claim is ours. */
    if ((st = dm_sqlite_get(q,
                            "INSERT INTO owed(key, id, time) VALUES (?1, ?2, ?3)"
                            " ON CONFLICT(key) DO UPDATE SET id = excluded.id,"
                            " time = excluded.time WHERE owed.time < ?4",
                            "owed", err)) == NULL)
        return false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, time);
    sqlite3_bind_int64(st, 4, since);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dm_sqlite_error(err, q->db, "owed");
        dm_sqlite_put(st);
        return false;
    }
    *claimed = sqlite3_changes(q->db) == 1;
    dm_sqlite_put(st);
    return true;
}

/* Inside the journal's transaction, with the lock held. */
bool dm_sqlite_counters_record(dm_store *s, const dm_journal_entry *e, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;

    if (e->mass_sender != NULL) {
        char skey[65], rkey[65];

        if ((st = dm_sqlite_get(q, "DELETE FROM mass_window WHERE time < ?", "mass window", err)) ==
            NULL)
            return false;
        sqlite3_bind_int64(st, 1, e->mass_since);
        if (!dm_counter_step_done(q, st, "mass window", err))
            return false;
        if ((st = dm_sqlite_get(q,
                                "INSERT INTO mass_window(sender, rcpt, time) VALUES (?,?,?)"
                                " ON CONFLICT(sender, rcpt) DO UPDATE SET time = excluded.time",
                                "mass window", err)) == NULL)
            return false;
        dm_store_counter_hash(s, "mass-sender", e->mass_sender, skey);
        for (size_t i = 0; i < e->n_rcpts; i++) {
            dm_store_counter_hash(s, "mass-rcpt", e->rcpts[i], rkey);
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, skey, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, rkey, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, e->time);
            if (sqlite3_step(st) != SQLITE_DONE) {
                dm_sqlite_error(err, q->db, "mass window");
                dm_sqlite_put(st);
                return false;
            }
        }
        dm_sqlite_put(st);
    }
    if (e->autoreply_person != NULL) {
        /* A reply within the absence window continues the absence; one
         * after it begins a new one. */
        if ((st = dm_sqlite_get(
                 q,
                 "INSERT INTO autoreply(person, first, last, count) VALUES (?1,?2,?2,1)"
                 " ON CONFLICT(person) DO UPDATE SET"
                 "  first = CASE WHEN last >= ?3 THEN first ELSE ?2 END,"
                 "  count = CASE WHEN last >= ?3 THEN count + 1 ELSE 1 END,"
                 "  last = ?2",
                 "autoreply", err)) == NULL)
            return false;
        sqlite3_bind_text(st, 1, e->autoreply_person, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, e->time);
        sqlite3_bind_int64(st, 3, e->autoreply_since);
        if (!dm_counter_step_done(q, st, "autoreply", err))
            return false;
    }
    if (e->n_once > 0) {
        /* Keys of a year ago can go: every period is shorter. */
        if ((st = dm_sqlite_get(q, "DELETE FROM once WHERE time < ?", "once", err)) == NULL)
            return false;
        sqlite3_bind_int64(st, 1, e->time - 400 * 86400);
        if (!dm_counter_step_done(q, st, "once", err))
            return false;
        if ((st = dm_sqlite_get(q, "INSERT OR IGNORE INTO once(key, time) VALUES (?,?)", "once",
                                err)) == NULL)
            return false;
        for (size_t i = 0; i < e->n_once; i++) {
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, e->once_keys[i], -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, e->time);
            if (sqlite3_step(st) != SQLITE_DONE) {
                dm_sqlite_error(err, q->db, "once");
                dm_sqlite_put(st);
                return false;
            }
            /* Ignored: the key was someone else's already. */
            if (e->once_claimed != NULL)
                e->once_claimed[i] = sqlite3_changes(q->db) == 1;
        }
        dm_sqlite_put(st);
    }
    if (e->n_owed > 0) {
        /* Expired claims go (they would be taken over anyway). */
        if ((st = dm_sqlite_get(q, "DELETE FROM owed WHERE time < ?", "owed", err)) == NULL)
            return false;
        sqlite3_bind_int64(st, 1, e->owed_since);
        if (!dm_counter_step_done(q, st, "owed", err))
            return false;
        for (size_t i = 0; i < e->n_owed; i++) {
            bool claimed = false;

            if (!dm_sqlite_owed_claim(q, e->owed_keys[i], e->id, e->time, e->owed_since,
                                     &claimed, err))
                return false;
            if (e->owed_claimed != NULL)
                e->owed_claimed[i] = claimed;
        }
    }
    return true;
}

/* For a migration: every counter row, and the meta keys that move with
 * the record (the journal's head and anchor move with its rows). */
bool dm_sqlite_counters_each(dm_store *s, dm_store_counter_fn fn, void *data, GError **err)
{
    static const struct {
        const char *table, *sql;
        size_t n;
    } tables[] = {
        {"mass_window", "SELECT sender, rcpt, time FROM mass_window", 3},
        {"autoreply", "SELECT person, first, last, count FROM autoreply", 4},
        {"once", "SELECT key, time FROM once", 2},
        {"owed", "SELECT key, id, time FROM owed", 3},
        {"meta", "SELECT key, value FROM meta WHERE key IN ('owed_epoch', 'cases_generation')",
         2},
        {"notices", "SELECT id, person, msg, registrar, time, reminded, answered, answer_id"
                    " FROM notices", 8},
        {"questions", "SELECT id, mailbox, msg, thread, time, answered, answer_id"
                      " FROM questions", 7},
    };
    dm_sqlite *q = dm_sqlite_of(s);
    bool ok = true;

    g_mutex_lock(&q->lock);
    for (size_t t = 0; ok && t < G_N_ELEMENTS(tables); t++) {
        sqlite3_stmt *st = NULL;
        int rc;

        if (sqlite3_prepare_v2(q->db, tables[t].sql, -1, &st, NULL) != SQLITE_OK) {
            dm_sqlite_error(err, q->db, tables[t].table);
            ok = false;
            break;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            dm_store_counter_row r = {.table = tables[t].table, .n = tables[t].n};

            for (size_t i = 0; i < r.n; i++)
                r.v[i] = (const char *)sqlite3_column_text(st, (int)i);
            if (!fn(&r, data)) {
                rc = SQLITE_DONE;
                break;
            }
        }
        if (rc != SQLITE_DONE) {
            dm_sqlite_error(err, q->db, tables[t].table);
            ok = false;
        }
        sqlite3_finalize(st);
    }
    g_mutex_unlock(&q->lock);
    return ok;
}
