/*
 * The journal: one row per message, chained.  Each row's mac is an
 * HMAC-SHA-256 under the local key over the previous row's mac and this
 * row's fields, so an edited, inserted or removed row breaks the chain
 * ("diariectl journal verify"), and only the key's holder can rebuild it.
 * A keyed head record beside the chain names its last row, so rows
 * removed at the end are noticed too.
 *
 * Pruning (R17, "diariectl journal prune") and the chain.  Classes are
 * kept for different times, so rows to prune are scattered through the
 * chain.  A pruned row therefore stays as a tombstone: seq, id, time,
 * class, sekretess, prev and mac are kept, every other column is emptied,
 * and a seal, an HMAC under the key over what is kept and the time of
 * pruning, says that the key's holder pruned it.  verify checks a
 * tombstone's seal instead of its mac (whose content is gone) and the
 * chain through its stored mac, so it still proves that every remaining
 * row is unaltered, that nothing was removed, inserted or reordered, and
 * that no row was emptied by anyone but the key's holder.  Tombstones at
 * the very start of the chain carry no information left but their count:
 * they are removed altogether, and a sealed anchor in meta (the last
 * removed row's seq and mac) becomes the chain's start.
 */
#include <string.h>

#include "dm_store_int.h"
#include "dm_util.h"

/* Columns a tombstone keeps; the rest are emptied. */
#define DM_JOURNAL_PRUNE_SQL                                                             \
    "UPDATE journal SET queue_id = NULL, message_id = NULL, direction = NULL,"           \
    " sender = NULL, recipients = NULL, subject = NULL, case_dnr = NULL, reasons = NULL," \
    " actions = NULL, hash = '', dup_key = NULL, pruned = 1, pruned_at = ?, seal = ?"    \
    " WHERE seq = ?"

#define DM_JOURNAL_FIELDS 15

static const char dm_journal_genesis[] = "diariemilter-journal-v1";

/* The bytes the mac covers: every field length-prefixed ("N:bytes"),
 * NULL as "-", so no value (a subject is the sender's to choose) can
 * shift bytes from one field into another. */
static char *dm_journal_canonical(const char *prev, const char *const f[DM_JOURNAL_FIELDS])
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "%zu:%s", strlen(prev), prev);
    for (int i = 0; i < DM_JOURNAL_FIELDS; i++) {
        if (f[i] == NULL)
            g_string_append(s, "|-");
        else
            g_string_append_printf(s, "|%zu:%s", strlen(f[i]), f[i]);
    }
    return g_string_free(s, FALSE);
}

static void dm_journal_keyed(const dm_store *s, const char *c, char out[65])
{
    dm_hmac_sha256_hex(s->key != NULL ? s->key : "", s->key != NULL ? s->keylen : 0, c,
                       strlen(c), out);
}

/* The head of the chain, kept beside it: the last row's seq and mac under
 * the key, so removing rows at the end is noticed too. */
static void dm_journal_head_mac(const dm_store *s, int64_t seq, const char *mac, char out[65])
{
    char *c = g_strdup_printf("head|%" G_GINT64_FORMAT "|%s", seq, mac);

    dm_journal_keyed(s, c, out);
    g_free(c);
}

/* The start of the chain after a pruned prefix was removed. */
static void dm_journal_anchor_mac(const dm_store *s, int64_t seq, const char *mac, char out[65])
{
    char *c = g_strdup_printf("anchor|%" G_GINT64_FORMAT "|%s", seq, mac);

    dm_journal_keyed(s, c, out);
    g_free(c);
}

/* A tombstone's seal: what it keeps, and when it was pruned. */
static void dm_journal_seal(const dm_store *s, int64_t seq, const char *id, int64_t time,
                            const char *klass, int sekretess, const char *prev, const char *mac,
                            int64_t pruned_at, char out[65])
{
    char *c = g_strdup_printf("pruned|%" G_GINT64_FORMAT "|%zu:%s|%" G_GINT64_FORMAT
                              "|%zu:%s|%d|%s|%s|%" G_GINT64_FORMAT,
                              seq, strlen(id), id, time, strlen(klass), klass, sekretess, prev,
                              mac, pruned_at);

    dm_journal_keyed(s, c, out);
    g_free(c);
}

/* A "key" row of meta: its value, or NULL. */
static char *dm_journal_meta(dm_store *s, const char *key)
{
    sqlite3_stmt *st = NULL;
    char *v = NULL;

    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = g_strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

static bool dm_journal_set_meta(dm_store *s, const char *key, const char *value, GError **err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO meta(key, value) VALUES (?, ?) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        dm_store_set_sqlite_error(err, s->db, key);
    return rc == SQLITE_OK;
}

/* The anchor: "seq mac seal" in meta; false when there is none. */
static bool dm_journal_anchor(dm_store *s, int64_t *seq, char **mac, bool *sealed)
{
    char *v = dm_journal_meta(s, "journal_anchor");
    char **f;
    bool ok = false;

    *seq = 0;
    *mac = NULL;
    *sealed = false;
    if (v == NULL)
        return false;
    f = g_strsplit(v, " ", 3);
    if (g_strv_length(f) == 3) {
        char want[65];

        *seq = g_ascii_strtoll(f[0], NULL, 10);
        *mac = g_strdup(f[1]);
        dm_journal_anchor_mac(s, *seq, f[1], want);
        *sealed = dm_str_equal_ct(want, f[2]);
        ok = true;
    }
    g_strfreev(f);
    g_free(v);
    return ok;
}

static void dm_journal_mac(const dm_store *s, const char *prev,
                           const char *const f[DM_JOURNAL_FIELDS], char out[65])
{
    char *c = dm_journal_canonical(prev, f);

    dm_hmac_sha256_hex(s->key != NULL ? s->key : "", s->key != NULL ? s->keylen : 0, c,
                       strlen(c), out);
    g_free(c);
}

static char *dm_journal_reasons_json(const dm_verdict *v, const dm_journal_entry *e)
{
    GString *o = g_string_new("[");

    for (guint i = 0; i < v->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(v->reasons, i);
        g_string_append(o, i ? ", {\"rule\": " : "{\"rule\": ");
        dm_json_string(o, r->rule);
        g_string_append(o, ", \"text\": ");
        dm_json_string(o, r->text);
        g_string_append_c(o, '}');
    }
    if (e->duplicate_of != NULL) {
        char *text = g_strdup_printf("samma meddelande (Message-ID och innehåll) som journalpost "
                                     "%s: det som redan skickats för meddelandet skickas inte "
                                     "igen",
                                     e->duplicate_of);
        g_string_append(o, v->reasons->len ? ", {\"rule\": " : "{\"rule\": ");
        dm_json_string(o, "duplicate");
        g_string_append(o, ", \"text\": ");
        dm_json_string(o, text);
        g_string_append_c(o, '}');
        g_free(text);
    }
    g_string_append_c(o, ']');
    return g_string_free(o, FALSE);
}

/* The actions taken by this arrival: the caller has removed from the
 * verdict what earlier arrivals of the same message owed already. */
static char *dm_journal_actions_json(const dm_verdict *v, const dm_journal_entry *e)
{
    GString *o = g_string_new("[");
    bool first = true;

    (void)e;
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);

        g_string_append(o, first ? "{\"type\": " : ", {\"type\": ");
        first = false;
        dm_json_string(o, dm_action_type_name(a->type));
        g_string_append(o, ", \"to\": ");
        dm_json_string(o, a->to);
        g_string_append_c(o, '}');
    }
    g_string_append_c(o, ']');
    return g_string_free(o, FALSE);
}

static char *dm_journal_last_mac(dm_store *s, GError **err)
{
    sqlite3_stmt *st = NULL;
    char *mac = NULL;
    int rc;

    if (sqlite3_prepare_v2(s->db, "SELECT mac FROM journal ORDER BY seq DESC LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal");
        return NULL;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        mac = g_strdup((const char *)sqlite3_column_text(st, 0));
    } else if (rc == SQLITE_DONE) {
        /* Empty: the start, or everything pruned behind the anchor. */
        int64_t aseq;
        bool sealed;
        if (!dm_journal_anchor(s, &aseq, &mac, &sealed))
            mac = g_strdup(dm_journal_genesis);
    } else
        dm_store_set_sqlite_error(err, s->db, "journal");
    sqlite3_finalize(st);
    return mac;
}

char *dm_store_dup_key(const char *message_id, const char *sha256)
{
    char out[65];
    char *seed;

    if (message_id == NULL || *message_id == '\0' || sha256 == NULL)
        return NULL;
    seed = g_strconcat(message_id, "\n", sha256, NULL);
    dm_sha256_hex(seed, strlen(seed), out);
    g_free(seed);
    return g_strdup(out);
}

/* One row of the group commit: its entry and prepared fields, and, once
 * done, whether it was written. */
typedef struct dm_journal_req {
    const dm_journal_entry *e;
    const char *const *f;
    bool done, ok;
    GError *err;
} dm_journal_req;

/* Insert one row (and its counters) inside the open transaction, with
 * s->lock held. */
static bool dm_journal_insert_row(dm_store *s, const dm_journal_entry *e, const char *const *f,
                                  GError **err)
{
    const dm_verdict *v = e->verdict;
    sqlite3_stmt *st = NULL;
    char mac[65];
    char *prev;
    bool ok = false;

    prev = dm_journal_last_mac(s, err);
    if (prev == NULL)
        return false;
    dm_journal_mac(s, prev, f, mac);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO journal(id, time, queue_id, message_id, direction, sender,"
                           " recipients, subject, class, sekretess, case_dnr, reasons, actions,"
                           " hash, dup_key, prev, mac)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal insert");
        goto out;
    }
    for (int i = 0; i < DM_JOURNAL_FIELDS; i++) {
        if (i == 1)
            sqlite3_bind_int64(st, 2, e->time);
        else if (i == 9)
            sqlite3_bind_int(st, 10, v->sekretess ? 1 : 0);
        else if (f[i] != NULL)
            sqlite3_bind_text(st, i + 1, f[i], -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, i + 1);
    }
    sqlite3_bind_text(st, 16, prev, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 17, mac, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        dm_store_set_sqlite_error(err, s->db, "journal insert");
        goto out;
    }
    {
        int64_t seq = sqlite3_last_insert_rowid(s->db);
        char head[65];
        char *value;
        sqlite3_stmt *hs = NULL;
        int rc;

        dm_journal_head_mac(s, seq, mac, head);
        value = g_strdup_printf("%" G_GINT64_FORMAT " %s %s", seq, mac, head);
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO meta(key, value) VALUES ('journal_head', ?) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                -1, &hs, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(hs, 1, value, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(hs) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(hs);
        g_free(value);
        if (rc != SQLITE_OK) {
            dm_store_set_sqlite_error(err, s->db, "journal head");
            goto out;
        }
    }
    ok = dm_store_counters_record(s, e, err);
out:
    sqlite3_finalize(st);
    g_free(prev);
    return ok;
}

/* Write a batch of rows in one transaction: one fsync for all of them.
 * Each row has a savepoint of its own, so a row that cannot be written
 * fails alone; when the transaction itself fails (SQLite rolled it back,
 * or COMMIT failed), every row of the batch fails, for none is on disk. */
static void dm_journal_write_batch(dm_store *s, GPtrArray *batch)
{
    GError *terr = NULL;
    guint i;

    g_mutex_lock(&s->lock);
    if (!dm_store_exec(s, "BEGIN IMMEDIATE", &terr))
        goto fail_all;
    for (i = 0; i < batch->len; i++) {
        dm_journal_req *r = g_ptr_array_index(batch, i);

        if (!dm_store_exec(s, "SAVEPOINT journal_row", &terr))
            goto rollback;
        r->ok = dm_journal_insert_row(s, r->e, r->f, &r->err);
        if (!r->ok && sqlite3_get_autocommit(s->db)) {
            /* The error ended the whole transaction. */
            terr = g_error_copy(r->err);
            goto fail_all;
        }
        if (!r->ok && !dm_store_exec(s, "ROLLBACK TO journal_row", &terr))
            goto rollback;
        if (!dm_store_exec(s, "RELEASE journal_row", &terr))
            goto rollback;
    }
    if (dm_store_exec(s, "COMMIT", &terr)) {
        g_mutex_unlock(&s->lock);
        return;
    }
rollback:
    dm_store_exec(s, "ROLLBACK", NULL);
fail_all:
    for (i = 0; i < batch->len; i++) {
        dm_journal_req *r = g_ptr_array_index(batch, i);

        r->ok = false;
        if (r->err == NULL)
            r->err = g_error_copy(terr);
    }
    g_clear_error(&terr);
    g_mutex_unlock(&s->lock);
}

/* Group commit.  A writer queues its row; the first that finds no commit
 * under way leads: it takes every queued row and writes them in one
 * transaction, while rows arriving meanwhile queue for the next.  With
 * synchronous=FULL each commit costs an fsync; under load one fsync then
 * covers many messages.  Returns only when the caller's row is on disk
 * (or failed). */
static bool dm_journal_group_commit(dm_store *s, dm_journal_req *req, GError **err)
{
    g_mutex_lock(&s->qlock);
    g_ptr_array_add(s->queue, req);
    while (!req->done) {
        if (s->leader) {
            g_cond_wait(&s->qcond, &s->qlock);
            continue;
        }
        {
            GPtrArray *batch = s->queue;

            s->queue = g_ptr_array_new();
            s->leader = true;
            g_mutex_unlock(&s->qlock);
            dm_journal_write_batch(s, batch);
            g_mutex_lock(&s->qlock);
            for (guint i = 0; i < batch->len; i++)
                ((dm_journal_req *)g_ptr_array_index(batch, i))->done = true;
            g_ptr_array_free(batch, TRUE);
            s->leader = false;
            g_cond_broadcast(&s->qcond);
        }
    }
    g_mutex_unlock(&s->qlock);
    if (!req->ok) {
        g_propagate_error(err, req->err);
        return false;
    }
    return true;
}

bool dm_store_journal_add(dm_store *s, const dm_journal_entry *e, GError **err)
{
    const dm_verdict *v = e->verdict;
    bool priv = !v->reject && dm_class_is_private(v->klass);
    char time_s[32], sek_s[4], keyed[65];
    char *rcpts = NULL, *reasons = NULL, *actions = NULL, *dup = NULL;
    const char *f[DM_JOURNAL_FIELDS];
    const char *klass = v->reject ? "rejected" : dm_class_name(v->klass);
    bool ok = false;

    g_snprintf(time_s, sizeof time_s, "%" G_GINT64_FORMAT, e->time);
    g_snprintf(sek_s, sizeof sek_s, "%d", v->sekretess ? 1 : 0);
    if (priv) {
        /* R3/R4 and privacy: the time, the class and a keyed hash that
         * can confirm a given message was seen, and nothing else. */
        dm_hmac_sha256_hex(s->key != NULL ? s->key : "", s->key ? s->keylen : 0,
                           e->sha256 ? e->sha256 : "", e->sha256 ? strlen(e->sha256) : 0,
                           keyed);
    } else {
        GString *r = g_string_new(NULL);
        for (size_t i = 0; i < e->n_rcpts; i++) {
            if (i > 0)
                g_string_append_c(r, ',');
            g_string_append(r, e->rcpts[i]);
        }
        rcpts = g_string_free(r, FALSE);
        reasons = dm_journal_reasons_json(v, e);
        actions = dm_journal_actions_json(v, e);
        dup = dm_store_dup_key(e->message_id, e->body_sha256 != NULL ? e->body_sha256 : e->sha256);
    }

    f[0] = e->id;
    f[1] = time_s;
    f[2] = priv ? NULL : e->queue_id;
    f[3] = priv ? NULL : e->message_id;
    f[4] = priv ? NULL : dm_direction_name(v->direction);
    f[5] = priv ? NULL : e->sender;
    f[6] = rcpts;
    f[7] = priv ? NULL : e->subject;
    f[8] = klass;
    f[9] = sek_s;
    f[10] = priv ? NULL : v->case_dnr;
    f[11] = reasons;
    f[12] = actions;
    f[13] = priv ? keyed : (e->sha256 ? e->sha256 : "");
    f[14] = dup;

    {
        dm_journal_req req = {.e = e, .f = f};
        ok = dm_journal_group_commit(s, &req, err);
    }
    g_free(rcpts);
    g_free(reasons);
    g_free(actions);
    g_free(dup);
    return ok;
}

bool dm_store_journal_find_dup(dm_store *s, const char *dup_key, int64_t since, char **id,
                               int64_t *time, GError **err)
{
    sqlite3_stmt *st = NULL;
    bool ok = true;
    int rc;

    *id = NULL;
    if (dup_key == NULL)
        return true;
    g_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, time FROM journal WHERE dup_key = ? AND time >= ?"
                           " ORDER BY seq LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal");
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
            dm_store_set_sqlite_error(err, s->db, "journal");
            ok = false;
        }
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&s->lock);
    return ok;
}

bool dm_store_journal_seen(dm_store *s, const char *message_id, const char *body_sha256,
                           int64_t since, bool *seen, GError **err)
{
    char *dup = dm_store_dup_key(message_id, body_sha256);
    char *id = NULL;
    bool ok = dm_store_journal_find_dup(s, dup, since, &id, NULL, err);

    *seen = id != NULL;
    g_free(id);
    g_free(dup);
    return ok;
}

bool dm_store_journal_has(dm_store *s, const char *id, bool *has, GError **err)
{
    sqlite3_stmt *st = NULL;
    bool ok = true;
    int rc;

    *has = false;
    g_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM journal WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal");
        ok = false;
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *has = true;
        else if (rc != SQLITE_DONE) {
            dm_store_set_sqlite_error(err, s->db, "journal");
            ok = false;
        }
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&s->lock);
    return ok;
}

/* --- verify ------------------------------------------------------------- */

const char *dm_journal_fault_text(dm_journal_fault_kind k)
{
    switch (k) {
    case DM_JOURNAL_ALTERED: return "altered: its content does not match its mac";
    case DM_JOURNAL_MISSING: return "missing: removed from the journal";
    case DM_JOURNAL_BROKEN:
        return "the chain breaks before this row: the row before it was removed, replaced "
               "or moved";
    case DM_JOURNAL_BAD_SEAL: return "marked pruned, but not by the key's holder";
    case DM_JOURNAL_BAD_HEAD:
        return "the recorded head of the chain names no existing last row: rows removed at "
               "the end";
    case DM_JOURNAL_BAD_ANCHOR:
        return "the anchor of the pruned start is not sealed by the key: rows removed at the "
               "start";
    }
    return "?";
}

void dm_journal_report_clear(dm_journal_report *r)
{
    if (r->faults != NULL)
        g_array_free(r->faults, TRUE);
    memset(r, 0, sizeof *r);
}

static void dm_journal_fault_add(dm_journal_report *r, dm_journal_fault_kind k, int64_t seq,
                                 int64_t seq_to)
{
    dm_journal_fault f = {.kind = k, .seq = seq, .seq_to = seq_to};

    g_array_append_val(r->faults, f);
}

/* The recorded head: false when there is none (or it is garbled). */
static bool dm_journal_head(dm_store *s, int64_t *seq, char **mac, bool *sealed)
{
    char *v = dm_journal_meta(s, "journal_head");
    char **f;
    bool ok = false;

    *seq = 0;
    *mac = NULL;
    *sealed = false;
    if (v == NULL)
        return false;
    f = g_strsplit(v, " ", 3);
    if (g_strv_length(f) == 3) {
        char want[65];

        *seq = g_ascii_strtoll(f[0], NULL, 10);
        *mac = g_strdup(f[1]);
        dm_journal_head_mac(s, *seq, f[1], want);
        *sealed = dm_str_equal_ct(want, f[2]);
        ok = true;
    }
    g_strfreev(f);
    g_free(v);
    return ok;
}

bool dm_store_journal_check(dm_store *s, dm_journal_report *r, GError **err)
{
    sqlite3_stmt *st = NULL;
    char *expect_prev = NULL, *anchor_mac = NULL, *head_mac = NULL;
    int64_t expect_seq = 1, head_seq = 0;
    bool anchored, anchor_sealed, have_head, head_sealed;
    int rc;

    memset(r, 0, sizeof *r);
    r->faults = g_array_new(FALSE, FALSE, sizeof(dm_journal_fault));
    g_mutex_lock(&s->lock);
    /* One read transaction: the daemon may append meanwhile. */
    if (!dm_store_exec(s, "BEGIN", err)) {
        g_mutex_unlock(&s->lock);
        return false;
    }
    anchored = dm_journal_anchor(s, &r->anchor_seq, &anchor_mac, &anchor_sealed);
    if (anchored) {
        if (!anchor_sealed)
            dm_journal_fault_add(r, DM_JOURNAL_BAD_ANCHOR, r->anchor_seq, 0);
        expect_prev = g_strdup(anchor_mac);
        expect_seq = r->anchor_seq + 1;
    } else {
        expect_prev = g_strdup(dm_journal_genesis);
    }
    r->last_seq = anchored ? r->anchor_seq : 0;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, id, time, queue_id, message_id, direction, sender,"
                           " recipients, subject, class, sekretess, case_dnr, reasons, actions,"
                           " hash, dup_key, prev, mac, pruned, pruned_at, seal"
                           " FROM journal ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal");
        dm_store_exec(s, "ROLLBACK", NULL);
        g_mutex_unlock(&s->lock);
        g_free(expect_prev);
        g_free(anchor_mac);
        return false;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const char *f[DM_JOURNAL_FIELDS];
        const char *prev = (const char *)sqlite3_column_text(st, 16);
        const char *mac = (const char *)sqlite3_column_text(st, 17);
        bool pruned = sqlite3_column_int(st, 18) != 0;

        for (int i = 0; i < DM_JOURNAL_FIELDS; i++)
            f[i] = (const char *)sqlite3_column_text(st, i + 1);
        if (seq > expect_seq)
            dm_journal_fault_add(r, DM_JOURNAL_MISSING, expect_seq, seq - 1);
        if (pruned) {
            /* Only what a tombstone keeps, sealed by the key's holder. */
            const char *seal = (const char *)sqlite3_column_text(st, 20);
            char want[65];
            bool empty = true;

            r->pruned++;
            /* Kept: id (0), time (1), class (8), sekretess (9); the hash
             * (13) is emptied to "", the rest to NULL. */
            for (int i = 2; i < DM_JOURNAL_FIELDS; i++) {
                if (i == 8 || i == 9 || f[i] == NULL)
                    continue;
                if (i != 13 || *f[i] != '\0')
                    empty = false;
            }
            dm_journal_seal(s, seq, f[0] != NULL ? f[0] : "", sqlite3_column_int64(st, 2),
                            f[8] != NULL ? f[8] : "", sqlite3_column_int(st, 10),
                            prev != NULL ? prev : "", mac != NULL ? mac : "",
                            sqlite3_column_int64(st, 19), want);
            if (seal == NULL || !dm_str_equal_ct(want, seal))
                dm_journal_fault_add(r, DM_JOURNAL_BAD_SEAL, seq, 0);
            else if (!empty)
                dm_journal_fault_add(r, DM_JOURNAL_ALTERED, seq, 0);
        } else {
            char want[65];

            dm_journal_mac(s, prev != NULL ? prev : "", f, want);
            if (mac == NULL || prev == NULL || !dm_str_equal_ct(want, mac))
                dm_journal_fault_add(r, DM_JOURNAL_ALTERED, seq, 0);
        }
        /* Chained to the row before it (one removed, inserted, moved). */
        if (prev == NULL || strcmp(prev, expect_prev) != 0)
            dm_journal_fault_add(r, DM_JOURNAL_BROKEN, seq, 0);
        g_free(expect_prev);
        expect_prev = g_strdup(mac != NULL ? mac : "");
        expect_seq = seq + 1;
        r->last_seq = seq;
        r->rows++;
    }
    if (rc != SQLITE_DONE)
        dm_store_set_sqlite_error(err, s->db, "journal");
    sqlite3_finalize(st);

    /* The head names the last row (or, everything pruned, the anchor). */
    have_head = dm_journal_head(s, &head_seq, &head_mac, &head_sealed);
    if (rc == SQLITE_DONE) {
        if (!have_head) {
            if (r->last_seq > 0)
                dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, 0, 0);
        } else if (!head_sealed) {
            dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, 0, 0);
        } else if (head_seq > r->last_seq) {
            dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, r->last_seq + 1, head_seq);
        } else if (head_seq < r->last_seq || strcmp(head_mac, expect_prev) != 0) {
            dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, 0, 0);
        }
    }
    dm_store_exec(s, "COMMIT", NULL);
    g_mutex_unlock(&s->lock);
    g_free(expect_prev);
    g_free(anchor_mac);
    g_free(head_mac);
    return rc == SQLITE_DONE;
}

bool dm_store_journal_verify(dm_store *s, GArray *bad, size_t *n, bool *head_ok, GError **err)
{
    dm_journal_report r;
    bool ok = dm_store_journal_check(s, &r, err);
    int64_t last = 0;

    *n = r.rows;
    if (head_ok != NULL)
        *head_ok = ok;
    for (guint i = 0; r.faults != NULL && i < r.faults->len; i++) {
        const dm_journal_fault *f = &g_array_index(r.faults, dm_journal_fault, i);

        switch (f->kind) {
        case DM_JOURNAL_ALTERED:
        case DM_JOURNAL_BROKEN:
        case DM_JOURNAL_BAD_SEAL:
            if (f->seq != last)
                g_array_append_val(bad, f->seq);
            last = f->seq;
            break;
        case DM_JOURNAL_BAD_HEAD:
        case DM_JOURNAL_BAD_ANCHOR:
            if (head_ok != NULL)
                *head_ok = false;
            break;
        case DM_JOURNAL_MISSING:
            break;
        }
    }
    dm_journal_report_clear(&r);
    return ok;
}

/* --- prune ---------------------------------------------------------------- */

/* Rows pruned per transaction: the daemon's appends wait meanwhile. */
#define DM_JOURNAL_PRUNE_BATCH 500

/* Tombstone up to DM_JOURNAL_PRUNE_BATCH rows of one class older than
 * before; *done: how many. */
static bool dm_journal_prune_batch(dm_store *s, const char *klass, int64_t before, int64_t now,
                                   size_t *done, GError **err)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    bool ok = false;
    int rc;

    *done = 0;
    if (!dm_store_exec(s, "BEGIN IMMEDIATE", err))
        return false;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, id, time, class, sekretess, prev, mac FROM journal"
                           " WHERE pruned = 0 AND class = ? AND time < ? ORDER BY seq LIMIT ?",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, DM_JOURNAL_PRUNE_SQL, -1, &upd, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal prune");
        goto out;
    }
    sqlite3_bind_text(sel, 1, klass, -1, SQLITE_STATIC);
    sqlite3_bind_int64(sel, 2, before);
    sqlite3_bind_int(sel, 3, DM_JOURNAL_PRUNE_BATCH);
    while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(sel, 0);
        const char *id = (const char *)sqlite3_column_text(sel, 1);
        const char *prev = (const char *)sqlite3_column_text(sel, 5);
        const char *mac = (const char *)sqlite3_column_text(sel, 6);
        char seal[65];

        dm_journal_seal(s, seq, id != NULL ? id : "", sqlite3_column_int64(sel, 2), klass,
                        sqlite3_column_int(sel, 4), prev != NULL ? prev : "",
                        mac != NULL ? mac : "", now, seal);
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, now);
        sqlite3_bind_text(upd, 2, seal, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(upd, 3, seq);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            dm_store_set_sqlite_error(err, s->db, "journal prune");
            goto out;
        }
        (*done)++;
    }
    if (rc != SQLITE_DONE) {
        dm_store_set_sqlite_error(err, s->db, "journal prune");
        goto out;
    }
    ok = true;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    if (ok)
        ok = dm_store_exec(s, "COMMIT", err);
    if (!ok)
        dm_store_exec(s, "ROLLBACK", NULL);
    return ok;
}

/* Remove the tombstones at the start of the chain behind an anchor. */
static bool dm_journal_compact(dm_store *s, size_t *removed, GError **err)
{
    sqlite3_stmt *st = NULL;
    int64_t last = 0;
    char *mac = NULL;
    bool ok = false;

    *removed = 0;
    if (!dm_store_exec(s, "BEGIN IMMEDIATE", err))
        return false;
    /* The last tombstone before the first row that is not one. */
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, mac FROM journal WHERE pruned = 1 AND seq <"
                           " coalesce((SELECT min(seq) FROM journal WHERE pruned = 0),"
                           " 9223372036854775807) ORDER BY seq DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal prune");
        goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        last = sqlite3_column_int64(st, 0);
        mac = g_strdup((const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (last > 0) {
        char seal[65];
        char *value;

        dm_journal_anchor_mac(s, last, mac, seal);
        value = g_strdup_printf("%" G_GINT64_FORMAT " %s %s", last, mac, seal);
        ok = dm_journal_set_meta(s, "journal_anchor", value, err);
        g_free(value);
        if (!ok)
            goto out;
        ok = false;
        if (sqlite3_prepare_v2(s->db, "DELETE FROM journal WHERE seq <= ?", -1, &st, NULL) !=
            SQLITE_OK) {
            dm_store_set_sqlite_error(err, s->db, "journal prune");
            goto out;
        }
        sqlite3_bind_int64(st, 1, last);
        if (sqlite3_step(st) != SQLITE_DONE) {
            dm_store_set_sqlite_error(err, s->db, "journal prune");
            goto out;
        }
        *removed = (size_t)sqlite3_changes(s->db);
    }
    ok = true;
out:
    if (st != NULL)
        sqlite3_finalize(st);
    g_free(mac);
    if (ok)
        ok = dm_store_exec(s, "COMMIT", err);
    if (!ok)
        dm_store_exec(s, "ROLLBACK", NULL);
    return ok;
}

bool dm_store_journal_prune(dm_store *s, const dm_journal_retention *retain, size_t n,
                            int64_t now, bool dry_run, size_t *counts, size_t *removed,
                            GError **err)
{
    bool ok = true;

    *removed = 0;
    if (!dry_run && s->key == NULL) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: pruning needs the key", s->path);
        return false;
    }
    g_mutex_lock(&s->lock);
    for (size_t i = 0; i < n && ok; i++) {
        int64_t before;

        counts[i] = 0;
        if (retain[i].seconds <= 0)
            continue;
        before = now - retain[i].seconds;
        if (dry_run) {
            sqlite3_stmt *st = NULL;

            if (sqlite3_prepare_v2(s->db,
                                   "SELECT count(*) FROM journal WHERE pruned = 0 AND class = ?"
                                   " AND time < ?",
                                   -1, &st, NULL) != SQLITE_OK) {
                dm_store_set_sqlite_error(err, s->db, "journal prune");
                ok = false;
                break;
            }
            sqlite3_bind_text(st, 1, retain[i].klass, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, before);
            if (sqlite3_step(st) == SQLITE_ROW)
                counts[i] = (size_t)sqlite3_column_int64(st, 0);
            sqlite3_finalize(st);
            continue;
        }
        for (;;) {
            size_t done = 0;

            /* Batches, so that the daemon's appends wait only briefly. */
            ok = dm_journal_prune_batch(s, retain[i].klass, before, now, &done, err);
            counts[i] += done;
            if (!ok || done < DM_JOURNAL_PRUNE_BATCH)
                break;
            g_mutex_unlock(&s->lock);
            g_usleep(1000);
            g_mutex_lock(&s->lock);
        }
    }
    if (ok && !dry_run)
        ok = dm_journal_compact(s, removed, err);
    g_mutex_unlock(&s->lock);
    return ok;
}

/* --- search --------------------------------------------------------------- */

void dm_journal_row_free(dm_journal_row *r)
{
    if (r == NULL)
        return;
    g_free(r->id);
    g_free(r->klass);
    g_free(r->queue_id);
    g_free(r->message_id);
    g_free(r->direction);
    g_free(r->sender);
    g_free(r->recipients);
    g_free(r->subject);
    g_free(r->case_dnr);
    g_free(r->reasons);
    g_free(r->actions);
    g_free(r->hash);
    g_free(r);
}

/* "BN  2026/45" and "bn 2026/45" are the same case. */
static char *dm_journal_norm_dnr(const char *s)
{
    GString *o = g_string_new(NULL);
    bool blank = false;

    for (const char *p = s; *p != '\0'; p++) {
        if (g_ascii_isspace(*p)) {
            blank = o->len > 0;
            continue;
        }
        if (blank)
            g_string_append_c(o, ' ');
        blank = false;
        g_string_append_c(o, g_ascii_toupper(*p));
    }
    return g_string_free(o, FALSE);
}

static bool dm_journal_same_dnr(const char *row_dnr, const char *want)
{
    char *d;
    bool same;

    if (row_dnr == NULL)
        return false;
    d = dm_journal_norm_dnr(row_dnr);
    same = strcmp(d, want) == 0;
    g_free(d);
    return same;
}

/* Is addr (normalized) the sender, a recipient, or an action's address? */
static bool dm_journal_row_has_address(const dm_journal_row *r, const char *addr)
{
    bool found = false;

    if (r->sender != NULL && g_ascii_strcasecmp(r->sender, addr) == 0)
        return true;
    if (r->recipients != NULL) {
        char **list = g_strsplit(r->recipients, ",", -1);
        for (char **a = list; *a != NULL && !found; a++)
            found = g_ascii_strcasecmp(g_strstrip(*a), addr) == 0;
        g_strfreev(list);
    }
    if (!found && r->actions != NULL) {
        /* The addresses stand in the JSON as "to": "addr". */
        char *low = g_ascii_strdown(r->actions, -1);
        char *needle = g_strdup_printf("\"to\": \"%s\"", addr);
        found = strstr(low, needle) != NULL;
        g_free(needle);
        g_free(low);
    }
    return found;
}

GPtrArray *dm_store_journal_search(dm_store *s, const dm_journal_query *q, GError **err)
{
    GString *sql = g_string_new("SELECT seq, id, time, class, sekretess, pruned, queue_id,"
                                " message_id, direction, sender, recipients, subject, case_dnr,"
                                " reasons, actions, hash FROM journal WHERE 1");
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)dm_journal_row_free);
    sqlite3_stmt *st = NULL;
    char *addr = q->address != NULL && *q->address != '\0' ? g_ascii_strdown(q->address, -1)
                                                           : NULL;
    char *dnr = q->case_dnr != NULL && *q->case_dnr != '\0' ? dm_journal_norm_dnr(q->case_dnr)
                                                            : NULL;
    int n = 0, rc;

    if (q->since > 0)
        g_string_append(sql, " AND time >= ?");
    if (q->until > 0)
        g_string_append(sql, " AND time < ?");
    if (q->klass != NULL && *q->klass != '\0')
        g_string_append(sql, " AND class = ?");
    if (dnr != NULL)
        g_string_append(sql, " AND case_dnr IS NOT NULL");
    if (addr != NULL)
        g_string_append(sql, " AND instr(lower(coalesce(sender, '') || ',' ||"
                             " coalesce(recipients, '') || ',' || coalesce(actions, '')), ?) > 0");
    g_string_append(sql, " ORDER BY seq");
    g_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db, sql->str, -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal search");
        g_ptr_array_free(out, TRUE);
        out = NULL;
        goto out;
    }
    if (q->since > 0)
        sqlite3_bind_int64(st, ++n, q->since);
    if (q->until > 0)
        sqlite3_bind_int64(st, ++n, q->until);
    if (q->klass != NULL && *q->klass != '\0')
        sqlite3_bind_text(st, ++n, q->klass, -1, SQLITE_STATIC);
    if (addr != NULL)
        sqlite3_bind_text(st, ++n, addr, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dm_journal_row *r = g_new0(dm_journal_row, 1);
        dm_class c;
#define COL(i) g_strdup((const char *)sqlite3_column_text(st, i))
        r->seq = sqlite3_column_int64(st, 0);
        r->id = COL(1);
        r->time = sqlite3_column_int64(st, 2);
        r->klass = COL(3);
        r->sekretess = sqlite3_column_int(st, 4) != 0;
        r->pruned = sqlite3_column_int(st, 5) != 0;
        r->private_row = r->klass != NULL && dm_class_from_name(r->klass, &c) &&
                         dm_class_is_private(c);
        if (!r->pruned && !r->private_row) {
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
        }
#undef COL
        if ((addr != NULL && !dm_journal_row_has_address(r, addr)) ||
            (dnr != NULL && !dm_journal_same_dnr(r->case_dnr, dnr))) {
            dm_journal_row_free(r);
            continue;
        }
        g_ptr_array_add(out, r);
        if (q->limit > 0 && out->len >= q->limit)
            break;
    }
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        dm_store_set_sqlite_error(err, s->db, "journal search");
        g_ptr_array_free(out, TRUE);
        out = NULL;
    }
out:
    sqlite3_finalize(st);
    g_mutex_unlock(&s->lock);
    g_string_free(sql, TRUE);
    g_free(addr);
    g_free(dnr);
    return out;
}
