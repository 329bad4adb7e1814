/*
 * The journal: one row per message, chained (dm_store_chain.c).  The
 * fields of a row are made here, the same for every backend; whether it
 * keeps them all is policy's answer the entry carries (keep_all): without
 * it (privat and parti) only the time, the class and a keyed hash.
 * Rows are written by group commit: writers arriving while a commit
 * syncs are written together, in one transaction of the backend.
 *
 * The rest of the journal: verify (dm_store_verify.c), prune
 * (dm_store_prune.c), search (dm_store_search.c).
 */
#include <string.h>

#include "dm_store_int.h"
#include "dm_util.h"

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

/* The actions taken by this arrival: the caller has removed from the
 * verdict what earlier arrivals of the same message owed already. */
static char *dm_journal_actions_json(const dm_verdict *v)
{
    GString *o = g_string_new("[");
    bool first = true;

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

/* Group commit.  A writer queues its row; the first that finds no commit
 * under way leads: it takes every queued row and writes them in one
 * transaction, while rows arriving meanwhile queue for the next.  Each
 * commit costs the backend a sync to disk; under load one sync then
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
            s->ops->journal_write(s, batch);
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
    bool bare = !e->keep_all;
    char time_s[32], sek_s[4], keyed[65];
    char *rcpts = NULL, *reasons = NULL, *actions = NULL, *dup = NULL;
    const char *f[DM_JOURNAL_FIELDS];
    const char *klass = v->reject ? "rejected" : dm_class_name(v->klass);
    GPtrArray *made_valid = g_ptr_array_new_with_free_func(g_free);
    bool ok = false;

    g_snprintf(time_s, sizeof time_s, "%" G_GINT64_FORMAT, e->time);
    g_snprintf(sek_s, sizeof sek_s, "%d", v->sekretess ? 1 : 0);
    if (bare) {
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
        dup = dm_store_dup_key(e->message_id, e->body_sha256 != NULL ? e->body_sha256 : e->sha256);
    }

    f[DM_JF_ID] = e->id;
    f[DM_JF_TIME] = time_s;
    f[DM_JF_QUEUE_ID] = bare ? NULL : e->queue_id;
    f[DM_JF_MESSAGE_ID] = bare ? NULL : e->message_id;
    f[DM_JF_DIRECTION] = bare ? NULL : dm_direction_name(v->direction);
    f[DM_JF_SENDER] = bare ? NULL : e->sender;
    f[DM_JF_RECIPIENTS] = rcpts;
    f[DM_JF_SUBJECT] = bare ? NULL : e->subject;
    f[DM_JF_CLASS] = klass;
    f[DM_JF_SEKRETESS] = sek_s;
    f[DM_JF_CASE] = bare ? NULL : v->case_dnr;
    f[DM_JF_REASONS] = reasons;
    f[DM_JF_ACTIONS] = actions;
    f[DM_JF_HASH] = bare ? keyed : (e->sha256 ? e->sha256 : "");
    f[DM_JF_DUP_KEY] = dup;
    f[DM_JF_GATEWAY] = s->opt.gateway;
    /* Text as UTF-8, whatever bytes an envelope or a header brought: a
     * database that checks its encoding (PostgreSQL) would refuse the
     * row, and the message would be refused for ever.  Invalid bytes
     * become U+FFFD, before the mac, so every backend keeps the same. */
    for (int i = 0; i < DM_JOURNAL_FIELDS; i++) {
        if (f[i] != NULL && !g_utf8_validate(f[i], -1, NULL)) {
            char *valid = g_utf8_make_valid(f[i], -1);

            g_ptr_array_add(made_valid, valid);
            f[i] = valid;
        }
    }

    {
        dm_journal_req req = {.e = e, .f = f};
        ok = dm_journal_group_commit(s, &req, err);
    }
    g_ptr_array_free(made_valid, TRUE);
    g_free(rcpts);
    g_free(reasons);
    g_free(actions);
    g_free(dup);
    return ok;
}

bool dm_store_journal_find_dup(dm_store *s, const char *dup_key, int64_t since, char **id,
                               int64_t *time, GError **err)
{
    *id = NULL;
    if (dup_key == NULL)
        return true;
    return s->ops->journal_find_dup(s, dup_key, since, id, time, err);
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
    *has = false;
    return s->ops->journal_has(s, id, has, err);
}
