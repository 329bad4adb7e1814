/*
 * Committing an arrival: everything an accepted message owes, durably.
 * Its copies and notices are spooled (deliver/) and its journal row is
 * committed (store/) with the claims of what it owes, and only then may
 * the milter accept.  What an earlier arrival of the same message owed,
 * and notices sent already this period, are taken out first.
 */
#include <string.h>

#include "dm_engine_int.h"
#include "dm_log.h"
#include "dm_metrics.h"

/* How long a loop token outlives the last retry of its copy. */
#define DM_LOOP_SLACK (24 * 3600)

/* Does this action leave as a message of its own from the spool (rather
 * than as a recipient the milter adds), as far as the rules allow it? */
static bool dm_engine_spooled(const dm_verdict *v, const dm_action *a)
{
    return a->type != DM_ACT_FORWARD && dm_policy_action_owed(v, a);
}

/* Spool one copy or notice, under a name of its own. */
static bool dm_engine_spool_action(dm_engine *e, dm_spool_tx *tx, const dm_compose_info *ci,
                                   const dm_action *a, GMimeStream *original, GError **err)
{
    bool copy = a->type == DM_ACT_COPY;
    /* Its recipient stays out of the log when it concerns private mail. */
    unsigned flags = dm_policy_action_private(ci->verdict, a) ? DM_SPOOL_PRIVATE : 0;
    GMimeStream *out =
        dm_spool_add(tx, copy ? "copy" : "notice", dm_conf_sender(e->conf), a->to, flags, err);

    if (out == NULL)
        return false;
    if (copy)
        return dm_mime_write_copy(out, ci, a->to, original, e->templates, err);
    return dm_mime_write_notice(out, ci, a, e->templates, err);
}

/* An owed action's key for one message (dm_store_owed_key): what it is,
 * to whom, and for whom.  One copy to a registrator is one action
 * whoever it is for. */
static char *dm_engine_owed_key(const char *dup_key, const dm_action *a)
{
    char *what = g_strdup_printf("%s\n%d\n%s\n%s", dm_action_type_name(a->type),
                                 a->type == DM_ACT_NOTICE ? (int)a->notice : 0, a->to,
                                 a->type != DM_ACT_COPY && a->party != NULL ? a->party : "");
    char *key = dm_store_owed_key(dup_key, what);

    g_free(what);
    return key;
}

/* Drop from v the actions that an earlier arrival of the same message
 * (the same duplicate key) owed and spooled, its claim still live; each
 * gets a reason naming that arrival's row.  False when the store could
 * not say. */
static bool dm_engine_filter_owed(dm_engine *e, dm_verdict *v, const char *dup_key,
                                  int64_t since, GError **err)
{
    for (guint i = v->actions->len; i-- > 0;) {
        dm_action *a = g_ptr_array_index(v->actions, i);
        char *key, *owner = NULL;

        if (!dm_engine_spooled(v, a))
            continue;
        key = dm_engine_owed_key(dup_key, a);
        if (!dm_store_owed_find(e->store, key, since, &owner, err)) {
            g_free(key);
            return false;
        }
        g_free(key);
        if (owner == NULL)
            continue;
        dm_policy_owed_sent(e->policy, v, i, owner);
        g_free(owner);
    }
    return true;
}

/* Messages being committed, by duplicate key: the same message arriving
 * twice at once (two MX hosts) is committed one after the other, so the
 * second sees the first's journal row.  Process-wide: engines come and
 * go with reloads, the spool and the journal stay. */
static GMutex dm_engine_inflight_lock;
static GCond dm_engine_inflight_cond;
static GHashTable *dm_engine_inflight;

static void dm_engine_inflight_enter(const char *key)
{
    if (key == NULL)
        return;
    g_mutex_lock(&dm_engine_inflight_lock);
    if (dm_engine_inflight == NULL)
        dm_engine_inflight = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    while (g_hash_table_contains(dm_engine_inflight, key))
        g_cond_wait(&dm_engine_inflight_cond, &dm_engine_inflight_lock);
    g_hash_table_add(dm_engine_inflight, g_strdup(key));
    g_mutex_unlock(&dm_engine_inflight_lock);
}

static void dm_engine_inflight_leave(const char *key)
{
    if (key == NULL)
        return;
    g_mutex_lock(&dm_engine_inflight_lock);
    g_hash_table_remove(dm_engine_inflight, key);
    g_cond_broadcast(&dm_engine_inflight_cond);
    g_mutex_unlock(&dm_engine_inflight_lock);
}

/* Notices owed once a period (R12, R13): their key in the store's once
 * table, as the rules name their period, or NULL for every other action.
 * A reminder's period may be the run of automatic replies its sender is
 * in: read here (a failure is logged, and the period is now). */
static char *dm_engine_once_key(dm_engine *e, const dm_facts *f, const dm_action *a,
                                int64_t now)
{
    const char *who = dm_policy_once_run_of(e->policy, f, a, now);
    int64_t first = 0, last = 0;

    if (who != NULL) {
        GError *err = NULL;

        if (!dm_store_autoreply_get(e->store, who, &first, &last, &err)) {
            dm_log(DM_LOG_WARNING, "auto-replies of %s: %s", who, err->message);
            g_clear_error(&err);
            first = last = 0;
        }
    }
    return dm_policy_once_key(e->policy, f, a, now, first, last);
}

/* Serializes the commits that claim once-keys, so two messages to the same
 * absent person at once do not both notify the manager. */
static GMutex dm_engine_once_lock;

/* Drop the once-a-period notices already sent; collect the keys of the
 * others, claimed with the journal row.  Returns false when the store
 * could not say. */
static bool dm_engine_filter_once(dm_engine *e, const dm_facts *f, dm_verdict *v, int64_t now,
                                  GPtrArray *keys, GPtrArray *key_actions, GError **err)
{
    for (guint i = v->actions->len; i-- > 0;) {
        dm_action *a = g_ptr_array_index(v->actions, i);
        char *key = dm_engine_once_key(e, f, a, now);
        bool seen = false;

        if (key == NULL)
            continue;
        if (!dm_store_once_seen(e->store, key, &seen, err)) {
            g_free(key);
            return false;
        }
        if (!seen) {
            g_ptr_array_add(keys, key);
            g_ptr_array_add(key_actions, a);
            continue;
        }
        g_free(key);
        dm_policy_once_sent(e->policy, v, i);
    }
    return true;
}

static bool dm_verdict_has_once(const dm_verdict *v)
{
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        if (dm_policy_action_owed(v, a) && dm_policy_action_once(a))
            return true;
    }
    return false;
}

/* The copy's cover note and the notices: what they say of the arrival. */
static void dm_engine_compose_info(const dm_arrival *a, const char *from_header,
                                   dm_compose_info *ci)
{
    const dm_engine *e = a->engine;

    ci->id = a->id;
    ci->queue_id = a->env->queue_id;
    ci->env_from = a->env->from;
    ci->rcpts = (char *const *)a->env->rcpts->pdata;
    ci->n_rcpts = a->env->rcpts->len;
    /* The facts' recipients are the envelope's, in the same order. */
    if (a->resolved && a->facts.rcpts != NULL && a->facts.n_rcpts == ci->n_rcpts)
        ci->parties = a->facts.rcpts;
    ci->msg = a->msg;
    ci->verdict = a->verdict;
    ci->sha256 = a->sha256;
    ci->from_header = from_header;
    /* Long enough for the last retry of a copy ([delivery] dead_after)
     * and a day in an MTA's own queue after it. */
    ci->loop_key = e->key;
    ci->loop_keylen = e->keylen;
    ci->loop_expires = a->now + e->conf->dead_after + DM_LOOP_SLACK;
    ci->now = a->now;
    ci->conf = e->conf; /* the copy's form, Reply-To, time zone, gateway id */
}

/* The journal row of an arrival: the envelope and the verdict, and with
 * content what the message was read as. */
static void dm_engine_journal_entry(const dm_arrival *a, bool content, dm_journal_entry *je)
{
    je->id = a->id;
    je->time = a->now;
    je->queue_id = a->env->queue_id;
    je->sender = a->env->from;
    je->rcpts = (char *const *)a->env->rcpts->pdata;
    je->n_rcpts = a->env->rcpts->len;
    je->verdict = a->verdict;
    je->keep_all = dm_policy_journal_keeps(a->verdict);
    if (content && a->msg != NULL) {
        je->message_id = a->msg->message_id;
        je->subject = a->msg->subject;
        je->sha256 = a->sha256;
        je->body_sha256 = *a->body_sha256 != '\0' ? a->body_sha256 : NULL;
    }
}

/* What one commit carries from step to step. */
typedef struct {
    dm_arrival *a;
    char *dup_key;       /* NULL: no duplicate looked for */
    char *first;         /* the first arrival's row, when this is a repeat */
    int64_t since;       /* duplicates and claims are looked for since then */
    bool once_locked;    /* holds dm_engine_once_lock */
    GPtrArray *once;     /* once-a-period keys still owed (claimed with the row) */
    GPtrArray *once_action; /* the action of each */
    GArray *once_item;   /* the spool index of each once key's item (G_MAXUINT: none) */
    GPtrArray *owed;     /* the owed keys of the spooled actions */
    GArray *owed_item;   /* the spool index of each owed key's item */
    bool *claimed, *once_claimed; /* what the journal row won */
    char *from_header;
    dm_compose_info ci;
    dm_spool_tx *tx;
    guint spooled;       /* items added to tx */
    bool in_doubt;       /* the journal row may be on disk after all */
} dm_commit;

/* The duplicate key (none for private mail or without a window) and the
 * in-flight mark that orders two arrivals of the same message. */
static void dm_commit_start(dm_commit *c, dm_arrival *a)
{
    int64_t window = a->engine->conf->duplicate_window;

    c->a = a;
    c->since = a->now - window;
    /* Privat and parti rows are never matched, never a key.  [store]
     * duplicate_window = 0: no duplicate is looked for, and every arrival
     * owes all its actions. */
    if (window > 0 && dm_policy_matches_repeats(a->verdict))
        c->dup_key = dm_store_dup_key(a->msg->message_id,
                                      *a->body_sha256 != '\0' ? a->body_sha256 : a->sha256);
    dm_engine_inflight_enter(c->dup_key);
    c->once = g_ptr_array_new_with_free_func(g_free);
    c->once_action = g_ptr_array_new();
    c->once_item = g_array_new(FALSE, FALSE, sizeof(guint));
    c->owed = g_ptr_array_new_with_free_func(g_free);
    c->owed_item = g_array_new(FALSE, FALSE, sizeof(guint));
}

/* Take out of the verdict what an earlier arrival of the same message
 * owed, and the once-a-period notices sent already (collecting the keys
 * of the others).  False when the store could not say. */
static bool dm_commit_filter(dm_commit *c, GError **err)
{
    dm_engine *e = c->a->engine;
    dm_verdict *v = c->a->verdict;
    const dm_facts *f = c->a->resolved ? &c->a->facts : NULL;
    int64_t first_time = 0;

    if (c->dup_key != NULL) {
        if (!dm_store_journal_find_dup(e->store, c->dup_key, c->since, &c->first, &first_time,
                                       err))
            return false;
        /* A first arrival journalled before actions were claimed one by
         * one (an upgrade) has no claims: as then, nothing is owed again. */
        if (c->first != NULL && first_time < dm_store_owed_epoch(e->store)) {
            for (guint i = v->actions->len; i-- > 0;)
                if (dm_engine_spooled(v, g_ptr_array_index(v->actions, i)))
                    g_ptr_array_remove_index(v->actions, i);
        } else if (!dm_engine_filter_owed(e, v, c->dup_key, c->since, err)) {
            return false;
        }
    }
    if (f != NULL && dm_verdict_has_once(v)) {
        g_mutex_lock(&dm_engine_once_lock);
        c->once_locked = true;
        if (!dm_engine_filter_once(e, f, v, c->a->now, c->once, c->once_action, err))
            return false;
    }
    return true;
}

/* Spool what is left in the verdict, owed by this arrival, and note each
 * item's claims (made with the journal row, so that no later arrival of
 * the same message owes it again).  The items are on disk when this
 * returns true, not yet visible to the delivery worker. */
static bool dm_commit_spool(dm_commit *c, GError **err)
{
    dm_arrival *a = c->a;
    dm_engine *e = a->engine;
    dm_verdict *v = a->verdict;

    c->from_header = g_strdup_printf("%s <%s>", e->conf->from_name, dm_conf_sender(e->conf));
    dm_engine_compose_info(a, c->from_header, &c->ci);
    g_array_set_size(c->once_item, c->once_action->len);
    for (guint k = 0; k < c->once_item->len; k++)
        g_array_index(c->once_item, guint, k) = G_MAXUINT;
    c->tx = dm_spool_begin(e->spool, a->id);
    dm_spool_tx_set_origin(c->tx, a->msg->message_id);
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *act = g_ptr_array_index(v->actions, i);

        if (!dm_engine_spooled(v, act))
            continue;
        if (!dm_engine_spool_action(e, c->tx, &c->ci, act, a->original, err))
            return false;
        if (c->dup_key != NULL) {
            g_ptr_array_add(c->owed, dm_engine_owed_key(c->dup_key, act));
            g_array_append_val(c->owed_item, c->spooled);
        }
        for (guint k = 0; k < c->once_action->len; k++)
            if (g_ptr_array_index(c->once_action, k) == act)
                g_array_index(c->once_item, guint, k) = c->spooled;
        c->spooled++;
    }
    return dm_spool_commit(c->tx, err);
}

/* The journal row with its claims, committed (group commit: one sync
 * for the rows of every message committing at the same time). */
static bool dm_commit_journal(dm_commit *c, GError **err)
{
    dm_arrival *a = c->a;
    dm_engine *e = a->engine;
    const dm_facts *f = a->resolved ? &a->facts : NULL;
    dm_journal_entry je = {0};
    GError *jerr = NULL;
    int64_t started;
    bool ok;

    dm_engine_journal_entry(a, true, &je);
    /* The row says whose repeat it is (after the copies were written:
     * their cover note gives the reasons of this arrival's actions). */
    if (c->first != NULL)
        dm_policy_duplicate(e->policy, a->verdict, c->first);
    if (f != NULL) {
        dm_mass_window w;

        if (dm_policy_joins_window(e->policy, f, a->verdict, a->now, &w)) {
            je.mass_sender = w.sender;
            je.mass_since = w.since;
        }
        dm_policy_marks_absent(e->policy, f, a->msg, a->now, &je.autoreply_person,
                               &je.autoreply_since);
    }
    c->once_claimed = g_new0(bool, c->once->len + 1);
    c->claimed = g_new0(bool, c->owed->len + 1);
    je.once_keys = (char *const *)c->once->pdata;
    je.n_once = c->once->len;
    je.once_claimed = c->once_claimed;
    je.owed_keys = (char *const *)c->owed->pdata;
    je.n_owed = c->owed->len;
    je.owed_since = c->since;
    je.owed_claimed = c->claimed;
    started = g_get_monotonic_time();
    ok = dm_store_journal_add(e->store, &je, &jerr);
    dm_metrics_observe(DM_MH_JOURNAL_COMMIT, g_get_monotonic_time() - started);
    /* The row may be on disk after all: its items stay (delivered twice
     * rather than lost); the message still gets a 451. */
    if (!ok) {
        c->in_doubt = dm_store_error_in_doubt(jerr);
        g_propagate_error(err, jerr);
    }
    return ok;
}

/* A claim this row did not win: another arrival of the same message,
 * committed meanwhile (not in this process, which commits them one after
 * the other), owes that action; a once-a-period notice another gateway
 * sent meanwhile, the same.  Their items go before the delivery worker
 * can see them. */
static void dm_commit_drop_unclaimed(dm_commit *c)
{
    for (guint i = 0; i < c->owed->len; i++) {
        if (c->claimed[i])
            continue;
        dm_spool_tx_drop(c->tx, g_array_index(c->owed_item, guint, i));
        dm_log(DM_LOG_WARNING, "id=%s: an action was claimed meanwhile by another arrival of "
                               "the same message: its item was dropped",
               c->a->id);
    }
    for (guint i = 0; i < c->once->len && i < c->once_item->len; i++) {
        if (c->once_claimed[i] || g_array_index(c->once_item, guint, i) == G_MAXUINT)
            continue;
        dm_spool_tx_drop(c->tx, g_array_index(c->once_item, guint, i));
        dm_log(DM_LOG_NOTICE, "id=%s: a notice owed once a period was sent meanwhile by "
                              "another gateway: its item was dropped",
               c->a->id);
    }
}

/* The items stay when the message was accepted (or its row is in
 * doubt), else they go; the locks are let go. */
static void dm_commit_end(dm_commit *c, bool ok)
{
    bool keep = ok || c->in_doubt;

    if (c->tx != NULL)
        dm_spool_finish(c->tx, keep);
    c->a->spooled = keep ? c->spooled : 0;
    if (c->once_locked)
        g_mutex_unlock(&dm_engine_once_lock);
    g_ptr_array_free(c->once, TRUE);
    g_ptr_array_free(c->owed, TRUE);
    g_array_free(c->owed_item, TRUE);
    g_ptr_array_free(c->once_action, TRUE);
    g_array_free(c->once_item, TRUE);
    g_free(c->claimed);
    g_free(c->once_claimed);
    dm_engine_inflight_leave(c->dup_key);
    if (ok)
        c->a->duplicate_of = c->first;
    else
        g_free(c->first);
    g_free(c->dup_key);
    g_free(c->from_header);
}

bool dm_engine_commit(dm_arrival *a, GError **err)
{
    dm_commit c = {0};
    bool ok;

    g_clear_pointer(&a->duplicate_of, g_free);
    a->spooled = 0;
    if (a->engine->spool == NULL || a->engine->store == NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no spool or database");
        return false;
    }
    dm_commit_start(&c, a);
    ok = dm_commit_filter(&c, err) && dm_commit_spool(&c, err) && dm_commit_journal(&c, err);
    if (ok) {
        dm_commit_drop_unclaimed(&c);
        dm_engine_track(a->engine->store, a->env, a->resolved ? &a->facts : NULL, a->msg,
                        a->verdict, a->id, a->now, c.first != NULL);
    }
    dm_commit_end(&c, ok);
    return ok;
}

int dm_engine_recover_spool(dm_engine *e)
{
    GError *err = NULL;
    GPtrArray *items;
    int removed = 0;

    if (e->spool == NULL || e->store == NULL)
        return 0;
    items = dm_spool_list_in(e->spool, DM_SPOOL_NEW, &err);
    if (items == NULL) {
        dm_log(DM_LOG_ERR, "spool recovery: %s", err->message);
        g_error_free(err);
        return 0;
    }
    for (guint i = 0; i < items->len; i++) {
        dm_spool_item *it = g_ptr_array_index(items, i);
        bool has = true;

        /* Tried before: it was owed (the worker sees only what was).  The
         * digest belongs to no message (diariectl report digest --send). */
        if (it->attempts > 0 || it->message == NULL || g_strcmp0(it->kind, "digest") == 0)
            continue;
        if (!dm_store_journal_has(e->store, it->message, &has, &err)) {
            dm_log(DM_LOG_ERR, "spool recovery: %s", err->message);
            g_clear_error(&err);
            break;
        }
        if (has)
            continue;
        /* Spooled, but the journal row never committed: the process died
         * in between, the milter never accepted, the sender still has the
         * message and will send it again. */
        if (dm_spool_remove(e->spool, it, &err)) {
            dm_log(DM_LOG_NOTICE, "%s: %s to %s removed from the spool: its message was "
                                  "never accepted (no journal row)",
                   it->message, it->kind, dm_spool_item_rcpt_for_log(it));
            removed++;
        } else {
            dm_log(DM_LOG_ERR, "spool recovery: %s", err->message);
            g_clear_error(&err);
        }
    }
    g_ptr_array_free(items, TRUE);
    return removed;
}

bool dm_engine_journal_reject(dm_arrival *a, GError **err)
{
    dm_journal_entry je = {0};

    if (a->engine->store == NULL)
        return true;
    dm_engine_journal_entry(a, false, &je);
    return dm_store_journal_add(a->engine->store, &je, err);
}
