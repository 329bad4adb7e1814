/*
 * The SQLite backend: the journal's rows.  The chain's macs, seals, head
 * and anchor are dm_store_chain.c's; this file stores and finds them.
 */
#include <string.h>

#include "dm_store_sqlite_int.h"

/* Columns a tombstone keeps; the rest are emptied. */
#define DM_JOURNAL_PRUNE_SQL                                                             \
    "UPDATE journal SET queue_id = NULL, message_id = NULL, direction = NULL,"           \
    " sender = NULL, recipients = NULL, subject = NULL, case_dnr = NULL, reasons = NULL," \
    " actions = NULL, hash = '', dup_key = NULL, gateway = NULL, pruned = 1,"          \
    " pruned_at = ?, seal = ?"                                                           \
    " WHERE seq = ?"

/* The mac the next row chains to: the last row's, else the start. */
static char *dm_sqlite_last_mac(dm_store *s, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st =
        dm_sqlite_get(q, "SELECT mac FROM journal ORDER BY seq DESC LIMIT 1", "journal", err);
    char *mac = NULL;
    int rc;

    if (st == NULL)
        return NULL;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        mac = g_strdup((const char *)sqlite3_column_text(st, 0));
    } else if (rc == SQLITE_DONE) {
        /* Empty: the start, or everything pruned behind the anchor. */
        char *anchor = dm_sqlite_meta(q, "journal_anchor");

        mac = dm_journal_start_mac(s, anchor);
        g_free(anchor);
    } else
        dm_sqlite_error(err, q->db, "journal");
    dm_sqlite_put(st);
    return mac;
}

/* Insert one row (and its counters) inside the open transaction, with
 * the lock held. */
static bool dm_sqlite_insert_row(dm_store *s, const dm_journal_entry *e, const char *const *f,
                                 GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    const dm_verdict *v = e->verdict;
    sqlite3_stmt *st = NULL;
    char mac[65];
    char *prev, *head;
    bool ok = false;

    prev = dm_sqlite_last_mac(s, err);
    if (prev == NULL)
        return false;
    dm_journal_mac(s, prev, f, mac);
    st = dm_sqlite_get(q,
                       "INSERT INTO journal(id, time, queue_id, message_id, direction, sender,"
                       " recipients, subject, class, sekretess, case_dnr, reasons, actions,"
                       " hash, dup_key, gateway, prev, mac)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                       "journal insert", err);
    if (st == NULL)
        goto out;
    for (int i = 0; i < DM_JOURNAL_FIELDS; i++) {
        if (i == DM_JF_TIME)
            sqlite3_bind_int64(st, i + 1, e->time);
        else if (i == DM_JF_SEKRETESS)
            sqlite3_bind_int(st, i + 1, v->sekretess ? 1 : 0);
        else if (f[i] != NULL)
            sqlite3_bind_text(st, i + 1, f[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, i + 1);
    }
    sqlite3_bind_text(st, DM_JOURNAL_FIELDS + 1, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, DM_JOURNAL_FIELDS + 2, mac, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dm_sqlite_error(err, q->db, "journal insert");
        goto out;
    }
    head = dm_journal_head_record(s, sqlite3_last_insert_rowid(q->db), mac);
    ok = dm_sqlite_set_meta(q, "journal_head", head, NULL);
    g_free(head);
    if (!ok) {
        dm_sqlite_error(err, q->db, "journal head");
        goto out;
    }
    ok = dm_sqlite_counters_record(s, e, err);
out:
    dm_sqlite_put(st);
    g_free(prev);
    return ok;
}

/* One transaction: one fsync for all of them.  Each row has a savepoint
 * of its own, so a row that cannot be written fails alone; when the
 * transaction itself fails (SQLite rolled it back, or COMMIT failed),
 * every row of the batch fails, for none is on disk. */
void dm_sqlite_journal_write(dm_store *s, GPtrArray *batch)
{
    dm_sqlite *q = dm_sqlite_of(s);
    GError *terr = NULL;
    guint i;

    g_mutex_lock(&q->lock);
    if (!dm_sqlite_run(q, "BEGIN IMMEDIATE", &terr))
        goto fail_all;
    for (i = 0; i < batch->len; i++) {
        dm_journal_req *r = g_ptr_array_index(batch, i);

        if (!dm_sqlite_run(q, "SAVEPOINT journal_row", &terr))
            goto rollback;
        r->ok = dm_sqlite_insert_row(s, r->e, r->f, &r->err);
        if (!r->ok && sqlite3_get_autocommit(q->db)) {
            /* The error ended the whole transaction. */
            terr = g_error_copy(r->err);
            goto fail_all;
        }
        if (!r->ok && !dm_sqlite_run(q, "ROLLBACK TO journal_row", &terr))
            goto rollback;
        if (!dm_sqlite_run(q, "RELEASE journal_row", &terr))
            goto rollback;
    }
    if (dm_sqlite_run(q, "COMMIT", &terr)) {
        g_mutex_unlock(&q->lock);
        return;
    }
rollback:
    dm_sqlite_run(q, "ROLLBACK", NULL);
fail_all:
    for (i = 0; i < batch->len; i++) {
        dm_journal_req *r = g_ptr_array_index(batch, i);

        r->ok = false;
        if (r->err == NULL)
            r->err = g_error_copy(terr);
    }
    g_clear_error(&terr);
    g_mutex_unlock(&q->lock);
}

bool dm_sqlite_journal_find_dup(dm_store *s, const char *dup_key, int64_t since, char **id,
                                int64_t *time, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st;
    bool ok = true;
    int rc;

    g_mutex_lock(&q->lock);
    st = dm_sqlite_get(q,
                       "SELECT id, time FROM journal WHERE dup_key = ? AND time >= ?"
                       " ORDER BY seq LIMIT 1",
                       "journal", err);
    if (st == NULL) {
        ok = false;
    } else {
        sqlite3_bind_text(st, 1, dup_key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *id = g_strdup((const char *)sqlite3_column_text(st, 0));
            if (time != NULL)
                *time = sqlite3_column_int64(st, 1);
        } else if (rc != SQLITE_DONE) {
            dm_sqlite_error(err, q->db, "journal");
            ok = false;
        }
    }
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_journal_has(dm_store *s, const char *id, bool *has, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st;
    bool ok = true;
    int rc;

    g_mutex_lock(&q->lock);
    st = dm_sqlite_get(q, "SELECT 1 FROM journal WHERE id = ?", "journal", err);
    if (st == NULL) {
        ok = false;
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *has = true;
        else if (rc != SQLITE_DONE) {
            dm_sqlite_error(err, q->db, "journal");
            ok = false;
        }
    }
    dm_sqlite_put(st);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_journal_scan(dm_store *s, dm_journal_points_fn points, dm_journal_raw_fn fn,
                            void *data, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    char *anchor, *head;
    int rc;

    g_mutex_lock(&q->lock);
    /* One read transaction: the daemon may append meanwhile. */
    if (!dm_sqlite_run(q, "BEGIN", err)) {
        g_mutex_unlock(&q->lock);
        return false;
    }
    anchor = dm_sqlite_meta(q, "journal_anchor");
    head = dm_sqlite_meta(q, "journal_head");
    points(anchor, head, data);
    g_free(anchor);
    g_free(head);
    if (sqlite3_prepare_v2(q->db,
                           "SELECT seq, id, time, queue_id, message_id, direction, sender,"
                           " recipients, subject, class, sekretess, case_dnr, reasons, actions,"
                           " hash, dup_key, gateway, prev, mac, pruned, pruned_at, seal"
                           " FROM journal ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "journal");
        dm_sqlite_run(q, "ROLLBACK", NULL);
        g_mutex_unlock(&q->lock);
        return false;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dm_journal_raw r = {
            .seq = sqlite3_column_int64(st, 0),
            .prev = (const char *)sqlite3_column_text(st, DM_JOURNAL_FIELDS + 1),
            .mac = (const char *)sqlite3_column_text(st, DM_JOURNAL_FIELDS + 2),
            .pruned = sqlite3_column_int(st, DM_JOURNAL_FIELDS + 3) != 0,
            .pruned_at = sqlite3_column_int64(st, DM_JOURNAL_FIELDS + 4),
            .seal = (const char *)sqlite3_column_text(st, DM_JOURNAL_FIELDS + 5),
        };

        for (int i = 0; i < DM_JOURNAL_FIELDS; i++)
            r.f[i] = (const char *)sqlite3_column_text(st, i + 1);
        r.time = sqlite3_column_int64(st, 1 + DM_JF_TIME);
        r.sekretess = sqlite3_column_int(st, 1 + DM_JF_SEKRETESS);
        if (!fn(&r, data)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        dm_sqlite_error(err, q->db, "journal");
    sqlite3_finalize(st);
    dm_sqlite_run(q, "COMMIT", NULL);
    g_mutex_unlock(&q->lock);
    return rc == SQLITE_DONE;
}

bool dm_sqlite_journal_search(dm_store *s, const dm_journal_query *jq, dm_journal_row_fn fn,
                              void *data, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    GString *sql = g_string_new("SELECT seq, id, time, class, sekretess, pruned, queue_id,"
                                " message_id, direction, sender, recipients, subject, case_dnr,"
                                " reasons, actions, hash, gateway FROM journal WHERE 1");
    sqlite3_stmt *st = NULL;
    int n = 0, rc = SQLITE_ERROR;

    if (jq->since > 0)
        g_string_append(sql, " AND time >= ?");
    if (jq->until > 0)
        g_string_append(sql, " AND time < ?");
    if (jq->klass != NULL)
        g_string_append(sql, " AND class = ?");
    if (jq->case_dnr != NULL)
        g_string_append(sql, " AND case_dnr IS NOT NULL");
    if (jq->address != NULL)
        g_string_append(sql, " AND instr(lower(coalesce(sender, '') || ',' ||"
                             " coalesce(recipients, '') || ',' || coalesce(actions, '')), ?) > 0");
    g_string_append(sql, " ORDER BY seq");
    g_mutex_lock(&q->lock);
    if (sqlite3_prepare_v2(q->db, sql->str, -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "journal search");
        goto out;
    }
    if (jq->since > 0)
        sqlite3_bind_int64(st, ++n, jq->since);
    if (jq->until > 0)
        sqlite3_bind_int64(st, ++n, jq->until);
    if (jq->klass != NULL)
        sqlite3_bind_text(st, ++n, jq->klass, -1, SQLITE_STATIC);
    if (jq->address != NULL)
        sqlite3_bind_text(st, ++n, jq->address, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dm_journal_row *r = g_new0(dm_journal_row, 1);
#define COL(i) g_strdup((const char *)sqlite3_column_text(st, i))
        r->seq = sqlite3_column_int64(st, 0);
        r->id = COL(1);
        r->time = sqlite3_column_int64(st, 2);
        r->klass = COL(3);
        r->sekretess = sqlite3_column_int(st, 4) != 0;
        r->pruned = sqlite3_column_int(st, 5) != 0;
        r->queue_id = COL(6);
        r->message_id = COL(7);
        r->direction = COL(8);
        r->sender = COL(9);
        r->recipients = COL(10);
        r->subject = COL(11);
        r->case_dnr = COL(12);
        r->reasons = COL(13);
        r->actions = COL(14);
        r->hash = COL(15);
        r->gateway = COL(16);
#undef COL
        if (!fn(r, data)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        dm_sqlite_error(err, q->db, "journal search");
out:
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    g_string_free(sql, TRUE);
    return rc == SQLITE_DONE;
}

/* --- prune ------------------------------------------------------------------ */

bool dm_sqlite_prune_count(dm_store *s, const char *klass, int64_t before, size_t *n,
                           GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;

    *n = 0;
    g_mutex_lock(&q->lock);
    if (sqlite3_prepare_v2(q->db,
                           "SELECT count(*) FROM journal WHERE pruned = 0 AND class = ?"
                           " AND time < ?",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "journal prune");
        g_mutex_unlock(&q->lock);
        return false;
    }
    sqlite3_bind_text(st, 1, klass, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, before);
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = (size_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return true;
}

bool dm_sqlite_prune_batch(dm_store *s, const char *klass, int64_t before, int64_t now,
                           size_t limit, size_t *done, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *sel = NULL, *upd = NULL;
    bool ok = false;
    int rc;

    *done = 0;
    g_mutex_lock(&q->lock);
    if (!dm_sqlite_run(q, "BEGIN IMMEDIATE", err)) {
        g_mutex_unlock(&q->lock);
        return false;
    }
    if (sqlite3_prepare_v2(q->db,
                           "SELECT seq, id, time, class, sekretess, prev, mac FROM journal"
                           " WHERE pruned = 0 AND class = ? AND time < ? ORDER BY seq LIMIT ?",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(q->db, DM_JOURNAL_PRUNE_SQL, -1, &upd, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "journal prune");
        goto out;
    }
    sqlite3_bind_text(sel, 1, klass, -1, SQLITE_STATIC);
    sqlite3_bind_int64(sel, 2, before);
    sqlite3_bind_int64(sel, 3, (sqlite3_int64)limit);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        dm_journal_kept k = {.seq = sqlite3_column_int64(sel, 0),
                             .id = (const char *)sqlite3_column_text(sel, 1),
                             .time = sqlite3_column_int64(sel, 2),
                             .klass = klass,
                             .sekretess = sqlite3_column_int(sel, 4),
                             .prev = (const char *)sqlite3_column_text(sel, 5),
                             .mac = (const char *)sqlite3_column_text(sel, 6)};
        char seal[65];

        dm_journal_seal(s, &k, now, seal);
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, now);
        sqlite3_bind_text(upd, 2, seal, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(upd, 3, k.seq);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            dm_sqlite_error(err, q->db, "journal prune");
            goto out;
        }
        (*done)++;
    }
    if (rc != SQLITE_DONE) {
        dm_sqlite_error(err, q->db, "journal prune");
        goto out;
    }
    ok = true;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    if (ok)
        ok = dm_sqlite_run(q, "COMMIT", err);
    if (!ok)
        dm_sqlite_run(q, "ROLLBACK", NULL);
    g_mutex_unlock(&q->lock);
    return ok;
}

bool dm_sqlite_prune_compact(dm_store *s, size_t *removed, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    int64_t last = 0;
    char *mac = NULL;
    bool ok = false;

    *removed = 0;
    g_mutex_lock(&q->lock);
    if (!dm_sqlite_run(q, "BEGIN IMMEDIATE", err)) {
        g_mutex_unlock(&q->lock);
        return false;
    }
    /* The last tombstone before the first row that is not one. */
    if (sqlite3_prepare_v2(q->db,
                           "SELECT seq, mac FROM journal WHERE pruned = 1 AND seq <"
                           " coalesce((SELECT min(seq) FROM journal WHERE pruned = 0),"
                           " 9223372036854775807) ORDER BY seq DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "journal prune");
        goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        mac = g_strdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (last > 0) {
        char *anchor = dm_journal_anchor_record(s, last, mac);

        ok = dm_sqlite_set_meta(q, "journal_anchor", anchor, err);
        g_free(anchor);
        if (!ok)
            goto out;
        ok = false;
        if (sqlite3_prepare_v2(q->db, "DELETE FROM journal WHERE seq <= ?", -1, &st, NULL) !=
            SQLITE_OK) {
            dm_sqlite_error(err, q->db, "journal prune");
            goto out;
        }
        sqlite3_bind_int64(st, 1, last);
        if (sqlite3_step(st) != SQLITE_DONE) {
            dm_sqlite_error(err, q->db, "journal prune");
            goto out;
        }
        *removed = (size_t)sqlite3_changes(q->db);
    }
    ok = true;
out:
    if (st != NULL)
        sqlite3_finalize(st);
    g_free(mac);
    if (ok)
        ok = dm_sqlite_run(q, "COMMIT", err);
    if (!ok)
        dm_sqlite_run(q, "ROLLBACK", NULL);
    g_mutex_unlock(&q->lock);
    return ok;
}
