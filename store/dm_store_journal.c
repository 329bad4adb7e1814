/*
 * The journal: one row per message, chained.  Each row's mac is an
 * HMAC-SHA-256 under the local key over the previous row's mac and this
 * row's fields, so an edited, inserted or removed row breaks the chain
 * ("diariectl journal verify"), and only the key's holder can rebuild it.
 */
#include <string.h>

#include "dm_store_int.h"
#include "dm_util.h"

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

/* The head of the chain, kept beside it: the last row's seq and mac under
 * the key, so removing rows at the end is noticed too. */
static void dm_journal_head_mac(const dm_store *s, int64_t seq, const char *mac, char out[65])
{
    char *c = g_strdup_printf("head|%" G_GINT64_FORMAT "|%s", seq, mac);

    dm_hmac_sha256_hex(s->key != NULL ? s->key : "", s->key != NULL ? s->keylen : 0, c,
                       strlen(c), out);
    g_free(c);
}

static void dm_journal_mac(const dm_store *s, const char *prev,
                           const char *const f[DM_JOURNAL_FIELDS], char out[65])
{
    char *c = dm_journal_canonical(prev, f);

    dm_hmac_sha256_hex(s->key != NULL ? s->key : "", s->key != NULL ? s->keylen : 0, c,
                       strlen(c), out);
    g_free(c);
}

static char *dm_journal_reasons_json(const dm_verdict *v)
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
    g_string_append_c(o, ']');
    return g_string_free(o, FALSE);
}

static char *dm_journal_actions_json(const dm_verdict *v)
{
    GString *o = g_string_new("[");

    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        g_string_append(o, i ? ", {\"type\": " : "{\"type\": ");
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
    if (rc == SQLITE_ROW)
        mac = g_strdup((const char *)sqlite3_column_text(st, 0));
    else if (rc == SQLITE_DONE)
        mac = g_strdup(dm_journal_genesis);
    else
        dm_store_set_sqlite_error(err, s->db, "journal");
    sqlite3_finalize(st);
    return mac;
}

/* The duplicate key: Message-ID and content hash together. */
static char *dm_journal_dup_key(const char *message_id, const char *sha256)
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

bool dm_store_journal_add(dm_store *s, const dm_journal_entry *e, GError **err)
{
    const dm_verdict *v = e->verdict;
    bool priv = !v->reject && dm_class_is_private(v->klass);
    char time_s[32], sek_s[4], mac[65], keyed[65];
    char *rcpts = NULL, *reasons = NULL, *actions = NULL, *prev = NULL, *dup = NULL;
    const char *f[DM_JOURNAL_FIELDS];
    const char *klass = v->reject ? "rejected" : dm_class_name(v->klass);
    sqlite3_stmt *st = NULL;
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
        reasons = dm_journal_reasons_json(v);
        actions = dm_journal_actions_json(v);
        dup = dm_journal_dup_key(e->message_id, e->sha256);
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

    g_mutex_lock(&s->lock);
    if (!dm_store_exec(s, "BEGIN IMMEDIATE", err))
        goto unlock;
    prev = dm_journal_last_mac(s, err);
    if (prev == NULL)
        goto rollback;
    dm_journal_mac(s, prev, f, mac);
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO journal(id, time, queue_id, message_id, direction, sender,"
                           " recipients, subject, class, sekretess, case_dnr, reasons, actions,"
                           " hash, dup_key, prev, mac)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal insert");
        goto rollback;
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
        goto rollback;
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
            goto rollback;
        }
    }
    if (!dm_store_exec(s, "COMMIT", err))
        goto rollback;
    ok = true;
    goto unlock;
rollback:
    dm_store_exec(s, "ROLLBACK", NULL);
unlock:
    if (st != NULL)
        sqlite3_finalize(st);
    g_mutex_unlock(&s->lock);
    g_free(prev);
    g_free(rcpts);
    g_free(reasons);
    g_free(actions);
    g_free(dup);
    return ok;
}

bool dm_store_journal_seen(dm_store *s, const char *message_id, const char *sha256,
                           int64_t since, bool *seen, GError **err)
{
    char *dup = dm_journal_dup_key(message_id, sha256);
    sqlite3_stmt *st = NULL;
    bool ok = true;
    int rc;

    *seen = false;
    if (dup == NULL)
        return true;
    g_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM journal WHERE dup_key = ? AND time >= ? LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal");
        ok = false;
    } else {
        sqlite3_bind_text(st, 1, dup, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, since);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *seen = true;
        else if (rc != SQLITE_DONE) {
            dm_store_set_sqlite_error(err, s->db, "journal");
            ok = false;
        }
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&s->lock);
    g_free(dup);
    return ok;
}

/* Does the recorded head match the last row (seq, mac)? */
static bool dm_journal_head_ok(dm_store *s, int64_t last_seq, const char *last_mac)
{
    sqlite3_stmt *st = NULL;
    bool ok = false;

    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'journal_head'", -1, &st,
                           NULL) != SQLITE_OK)
        return false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        char **f = g_strsplit((const char *)sqlite3_column_text(st, 0), " ", 3);
        if (g_strv_length(f) == 3) {
            char want[65];
            int64_t seq = g_ascii_strtoll(f[0], NULL, 10);

            dm_journal_head_mac(s, seq, f[1], want);
            ok = dm_str_equal_ct(want, f[2]) && seq == last_seq &&
                 strcmp(f[1], last_mac) == 0;
        }
        g_strfreev(f);
    } else {
        ok = last_seq == 0; /* an empty journal has no head */
    }
    sqlite3_finalize(st);
    return ok;
}

bool dm_store_journal_verify(dm_store *s, GArray *bad, size_t *n, bool *head_ok, GError **err)
{
    sqlite3_stmt *st = NULL;
    char *expect_prev = g_strdup(dm_journal_genesis);
    int64_t last_seq = 0;
    int rc;

    *n = 0;
    g_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT seq, id, time, queue_id, message_id, direction, sender,"
                           " recipients, subject, class, sekretess, case_dnr, reasons, actions,"
                           " hash, dup_key, prev, mac FROM journal ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "journal");
        g_mutex_unlock(&s->lock);
        g_free(expect_prev);
        return false;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const char *f[DM_JOURNAL_FIELDS];
        const char *prev = (const char *)sqlite3_column_text(st, 16);
        const char *mac = (const char *)sqlite3_column_text(st, 17);
        char want[65];

        for (int i = 0; i < DM_JOURNAL_FIELDS; i++)
            f[i] = (const char *)sqlite3_column_text(st, i + 1);
        dm_journal_mac(s, prev != NULL ? prev : "", f, want);
        /* A row is bad when its own mac is wrong or it does not follow
         * the row before it (one removed or inserted). */
        if (mac == NULL || prev == NULL || !dm_str_equal_ct(want, mac) ||
            strcmp(prev, expect_prev) != 0)
            g_array_append_val(bad, seq);
        g_free(expect_prev);
        expect_prev = g_strdup(mac != NULL ? mac : "");
        last_seq = seq;
        (*n)++;
    }
    if (rc != SQLITE_DONE)
        dm_store_set_sqlite_error(err, s->db, "journal");
    sqlite3_finalize(st);
    if (head_ok != NULL)
        *head_ok = rc == SQLITE_DONE &&
                   dm_journal_head_ok(s, last_seq, last_seq > 0 ? expect_prev : "");
    g_mutex_unlock(&s->lock);
    g_free(expect_prev);
    return rc == SQLITE_DONE;
}
