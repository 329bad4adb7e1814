#include "dm_engine.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dm_key.h"
#include "dm_log.h"
#include "dm_util.h"

/* How long a loop token outlives the last retry of its copy. */
#define DM_LOOP_SLACK (24 * 3600)

/* How often to ask the database whether the diarium was imported again. */
#define DM_CASES_CHECK_SECONDS 5

struct dm_engine {
    gint refcount;
    unsigned flags;
    dm_conf *conf;
    dm_policy *policy;
    dm_ldap *ldap;
    dm_templates *templates;
    dm_store *store;
    dm_spool *spool;
    bool own_spool;
    char *key;
    size_t keylen;
    dm_mime_limits limits;

    GMutex cases_lock;
    dm_case_index *cases;
    int64_t cases_generation;
    int64_t cases_checked;
};

dm_conf *dm_engine_conf(dm_engine *e) { return e->conf; }
dm_store *dm_engine_store(dm_engine *e) { return e->store; }
dm_spool *dm_engine_spool(dm_engine *e) { return e->spool; }
dm_ldap *dm_engine_ldap(dm_engine *e) { return e->ldap; }
const dm_policy *dm_engine_policy(dm_engine *e) { return e->policy; }
const dm_mime_limits *dm_engine_limits(dm_engine *e) { return &e->limits; }

static void dm_engine_free(dm_engine *e)
{
    dm_case_index_unref(e->cases);
    g_mutex_clear(&e->cases_lock);
    if (e->own_spool)
        dm_spool_close(e->spool);
    dm_store_close(e->store);
    dm_templates_free(e->templates);
    dm_ldap_free(e->ldap);
    dm_policy_free(e->policy);
    if (e->key != NULL) {
        memset(e->key, 0, e->keylen);
        g_free(e->key);
    }
    dm_conf_unref(e->conf);
    g_free(e);
}

dm_engine *dm_engine_new(dm_conf *conf, unsigned flags, dm_spool *spool, GError **err)
{
    dm_engine *e = g_new0(dm_engine, 1);
    bool readonly = (flags & DM_ENGINE_READONLY) != 0;

    e->refcount = 1;
    e->flags = flags;
    e->conf = dm_conf_ref(conf);
    g_mutex_init(&e->cases_lock);
    dm_mime_limits_from_conf(conf, &e->limits);

    e->policy = dm_policy_new(conf, err);
    if (e->policy == NULL)
        goto fail;
    e->limits.autoreply_subjects = dm_policy_autoreply_subjects(e->policy);
    e->limits.words = dm_policy_seg_words(e->policy);
    e->templates = dm_templates_load(conf->templates, conf->language, err);
    if (e->templates == NULL) {
        g_prefix_error(err, "[policy] templates: ");
        goto fail;
    }
    if ((flags & DM_ENGINE_OFFLINE) == 0) {
        e->ldap = dm_ldap_new(conf, err);
        if (e->ldap == NULL)
            goto fail;
    }
    if (!readonly || g_file_test(conf->key_file, G_FILE_TEST_EXISTS)) {
        if (!dm_key_load(conf->key_file, !readonly, &e->key, &e->keylen, err)) {
            g_prefix_error(err, "[store] key_file: ");
            goto fail;
        }
    }
    if (!readonly || dm_store_exists(conf->database)) {
        dm_store_prepare(conf->database);
        e->store = dm_store_open_conf(conf, e->key, e->keylen, err);
        if (e->store == NULL) {
            g_prefix_error(err, "[store] database: ");
            goto fail;
        }
        e->cases = dm_store_cases_load(e->store, dm_policy_dnr_parser(e->policy), err);
        if (e->cases == NULL)
            goto fail;
        e->cases_generation = dm_store_cases_generation(e->store);
        e->cases_checked = g_get_monotonic_time() / G_USEC_PER_SEC;
    }
    if (spool != NULL) {
        e->spool = spool;
    } else if ((flags & DM_ENGINE_NO_SPOOL) == 0) {
        e->spool = dm_spool_open(conf->spool, false, err);
        if (e->spool == NULL) {
            g_prefix_error(err, "[store] spool: ");
            goto fail;
        }
        e->own_spool = true;
    }
    return e;
fail:
    dm_engine_free(e);
    return NULL;
}

dm_engine *dm_engine_ref(dm_engine *e)
{
    g_atomic_int_inc(&e->refcount);
    return e;
}

void dm_engine_unref(dm_engine *e)
{
    if (e != NULL && g_atomic_int_dec_and_test(&e->refcount))
        dm_engine_free(e);
}

/* The case index, reloaded when "diariectl cases import" ran since. */
static dm_case_index *dm_engine_cases(dm_engine *e)
{
    dm_case_index *idx;
    int64_t now = g_get_monotonic_time() / G_USEC_PER_SEC;

    g_mutex_lock(&e->cases_lock);
    if (e->store != NULL && now - e->cases_checked >= DM_CASES_CHECK_SECONDS) {
        int64_t gen = dm_store_cases_generation(e->store);

        e->cases_checked = now;
        if (gen != e->cases_generation) {
            GError *err = NULL;
            dm_case_index *fresh =
                dm_store_cases_load(e->store, dm_policy_dnr_parser(e->policy), &err);
            if (fresh != NULL) {
                dm_case_index_unref(e->cases);
                e->cases = fresh;
                e->cases_generation = gen;
                dm_log(DM_LOG_INFO, "diarium reloaded: %zu cases", dm_case_index_size(fresh));
            } else {
                /* Keep the old index: better old cases than none. */
                dm_log(DM_LOG_ERR, "diarium reload failed: %s", err->message);
                g_error_free(err);
            }
        }
    }
    idx = dm_case_index_ref(e->cases);
    g_mutex_unlock(&e->cases_lock);
    return idx;
}

dm_envelope *dm_envelope_new(void)
{
    dm_envelope *env = g_new0(dm_envelope, 1);

    env->from = g_strdup("");
    env->rcpts = g_ptr_array_new_with_free_func(g_free);
    return env;
}

void dm_envelope_free(dm_envelope *env)
{
    if (env == NULL)
        return;
    g_free(env->from);
    g_ptr_array_free(env->rcpts, TRUE);
    g_free(env->auth);
    g_free(env->client_addr);
    g_free(env->queue_id);
    g_free(env);
}

bool dm_envelope_add_rcpt(dm_envelope *env, const char *addr)
{
    char *n = dm_addr_normalize(addr);

    for (guint i = 0; i < env->rcpts->len; i++) {
        if (strcmp(g_ptr_array_index(env->rcpts, i), n) == 0) {
            g_free(n);
            return false;
        }
    }
    g_ptr_array_add(env->rcpts, n);
    return true;
}

bool dm_engine_addr_in_networks(char **networks, const char *addr)
{
    unsigned char a[16], n[16];
    int fa = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;

    if (addr == NULL || inet_pton(fa, addr, a) != 1)
        return false;
    for (char **net = networks; net != NULL && *net != NULL; net++) {
        char *copy = g_strdup(*net), *slash = strchr(copy, '/');
        int fn = strchr(copy, ':') != NULL ? AF_INET6 : AF_INET;
        int max = fn == AF_INET6 ? 128 : 32, bits = max;
        bool match = true;

        if (slash != NULL) {
            *slash = '\0';
            bits = atoi(slash + 1);
        }
        if (fn != fa || inet_pton(fn, copy, n) != 1 || bits < 0 || bits > max) {
            g_free(copy);
            continue;
        }
        for (int i = 0; i < bits / 8 && match; i++)
            match = a[i] == n[i];
        if (match && bits % 8 != 0) {
            unsigned char mask = (unsigned char)(0xFF << (8 - bits % 8));
            match = (a[bits / 8] & mask) == (n[bits / 8] & mask);
        }
        g_free(copy);
        if (match)
            return true;
    }
    return false;
}

void dm_engine_facts_clear(dm_facts *f)
{
    g_free(f->sender.addr);
    dm_entry_unref(f->sender.entry);
    for (size_t i = 0; i < f->n_rcpts; i++) {
        g_free(f->rcpts[i].addr);
        dm_entry_unref(f->rcpts[i].entry);
    }
    g_free(f->rcpts);
    dm_case_index_unref((dm_case_index *)f->cases);
    dm_registrars_unref((dm_registrars *)f->registrars);
    memset(f, 0, sizeof *f);
}

/* The facts that come from earlier messages: auto-replies that mark a
 * recipient absent (R12, R13), the sender's mass window (R14), as far as
 * the rules ask for them.  A database that cannot be read here is logged
 * and the facts stay empty: the commit, which writes to the same
 * database, then fails and the message is tempfailed. */
static void dm_engine_counters(dm_engine *e, const dm_envelope *env, dm_facts *f)
{
    dm_mass_window w;
    GError *err = NULL;

    if (e->store == NULL)
        return;
    for (size_t i = 0; i < f->n_rcpts; i++) {
        const dm_entry *r = f->rcpts[i].entry;
        int64_t first = 0, last = 0;

        if (!dm_policy_needs_autoreply(e->policy, r))
            continue;
        if (!dm_store_autoreply_get(e->store, r->mail, &first, &last, &err)) {
            dm_log(DM_LOG_ERR, "absence from auto-replies: %s", err->message);
            g_clear_error(&err);
            return;
        }
        f->rcpts[i].autoreply_absent = dm_policy_autoreply_absent(e->policy, last, f->now);
    }
    if (dm_policy_needs_window(e->policy, f, &w)) {
        unsigned n = 0;

        if (!dm_store_mass_count(e->store, w.sender, (char *const *)env->rcpts->pdata,
                                 env->rcpts->len, w.since, &n, &err)) {
            dm_log(DM_LOG_ERR, "mass window: %s", err->message);
            g_clear_error(&err);
            return;
        }
        f->sender_window_rcpts = n;
    }
}

bool dm_engine_resolve(dm_engine *e, const dm_envelope *env, int64_t now, dm_facts *f,
                       GError **err)
{
    dm_ldap_status st;

    memset(f, 0, sizeof *f);
    f->env_from = env->from;
    f->auth = env->auth;
    f->from_internal_network = env->internal_net;
    f->now = now;
    f->cases = dm_engine_cases(e);
    f->sender.addr = g_strdup(env->from);
    f->n_rcpts = env->rcpts->len;
    f->rcpts = g_new0(dm_party, f->n_rcpts ? f->n_rcpts : 1);
    for (size_t i = 0; i < f->n_rcpts; i++)
        f->rcpts[i].addr = g_strdup(g_ptr_array_index(env->rcpts, i));
    if (e->ldap == NULL)
        return true; /* offline: every party unknown */

    if (env->auth != NULL && *env->auth != '\0') {
        st = dm_ldap_lookup_login(e->ldap, env->auth, &f->sender.entry, err);
        if (st == DM_LDAP_ERROR)
            return false;
    }
    if (f->sender.entry == NULL && *env->from != '\0') {
        st = dm_ldap_lookup_address(e->ldap, env->from, &f->sender.entry, err);
        if (st == DM_LDAP_ERROR)
            return false;
    }
    for (size_t i = 0; i < f->n_rcpts; i++) {
        st = dm_ldap_lookup_address(e->ldap, f->rcpts[i].addr, &f->rcpts[i].entry, err);
        if (st == DM_LDAP_ERROR)
            return false;
    }
    {
        dm_registrars *r = NULL;
        if (dm_ldap_registrars(e->ldap, &r, err) == DM_LDAP_ERROR)
            return false;
        f->registrars = r;
    }
    dm_engine_counters(e, env, f);
    return true;
}

dm_verdict *dm_engine_check_mass(dm_engine *e, const dm_facts *f)
{
    return dm_policy_check_mass(e->policy, f);
}

dm_verdict *dm_engine_decide(dm_engine *e, dm_facts *f, GMimeStream *msg, dm_msg **out_msg)
{
    dm_msg *m = dm_mime_extract(msg, &e->limits);
    dm_verdict *v;

    /* RFC 3834 replies go out with a null envelope sender: the person is
     * the From: of a reply submitted from inside. */
    if (m->auto_reply && f->sender.entry == NULL && e->ldap != NULL &&
        (f->auth != NULL || f->from_internal_network) && m->from_addr != NULL &&
        *m->from_addr != '\0') {
        GError *err = NULL;
        dm_entry *who = NULL;

        if (dm_ldap_lookup_address(e->ldap, m->from_addr, &who, &err) == DM_LDAP_ERROR) {
            dm_log(DM_LOG_WARNING, "auto-reply: its sender's lookup failed: %s", err->message);
            g_clear_error(&err);
        } else if (who != NULL && dm_entry_is_person(who)) {
            f->sender.entry = who;
        } else if (who != NULL) {
            dm_entry_unref(who);
        }
    }
    f->msg = m;
    v = dm_policy_decide(e->policy, f);
    f->msg = NULL;
    if (out_msg != NULL)
        *out_msg = m;
    else
        dm_msg_free(m);
    return v;
}

dm_verdict *dm_engine_classify(dm_engine *e, const dm_envelope *env, GMimeStream *msg,
                               int64_t now, dm_msg **out_msg, GError **err)
{
    dm_facts f;
    dm_verdict *v;

    if (!dm_engine_resolve(e, env, now, &f, err)) {
        dm_engine_facts_clear(&f);
        return NULL;
    }
    v = dm_engine_decide(e, &f, msg, out_msg);
    dm_engine_facts_clear(&f);
    return v;
}

dm_loop_result dm_engine_loop_check(dm_engine *e, const char *value,
                                    const char *message_id_header, const char *body_sha256,
                                    int64_t now)
{
    char *mid = dm_loop_message_id(message_id_header);
    dm_loop_result r = dm_loop_check(e->key, e->keylen, value, mid, body_sha256, now);

    g_free(mid);
    return r;
}

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
    GMimeStream *out = dm_spool_add(tx, copy ? "copy" : "notice", e->conf->sender, a->to, flags,
                                    err);

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

bool dm_engine_commit(dm_engine *e, const dm_envelope *env, const dm_facts *f,
                      GMimeStream *original,
                      const dm_msg *msg, dm_verdict *v, const char *id,
                      const char *sha256, const char *body_sha256, int64_t now,
                      char **duplicate_of, GError **err)
{
    dm_spool_tx *tx = NULL;
    dm_compose_info ci = {0};
    char *from_header = NULL, *dup_key = NULL, *first = NULL;
    bool ok = false, once_locked = false, legacy_dup = false, in_doubt = false;
    GError *jerr = NULL;
    GPtrArray *once = NULL, *owed = NULL, *once_action = NULL;
    GArray *owed_item = NULL; /* the spool index of each owed key's item */
    GArray *once_item = NULL; /* the spool index of each once key's item */
    bool *claimed = NULL, *once_claimed = NULL;
    int64_t window = e->conf->duplicate_window, since = now - window, first_time = 0;
    guint spooled = 0;
    dm_journal_entry je = {0};

    if (duplicate_of != NULL)
        *duplicate_of = NULL;
    if (e->spool == NULL || e->store == NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no spool or database");
        return false;
    }
    /* Privat and parti rows keep no Message-ID: never matched, never a
     * key (each arrival owes its own judge notices, and nothing else). */
    if (!v->reject && !dm_class_is_private(v->klass))
        dup_key = dm_store_dup_key(msg->message_id, body_sha256 != NULL ? body_sha256 : sha256);
    /* [store] duplicate_window = 0: no duplicate is looked for, and every
     * arrival owes all its actions. */
    if (window <= 0) {
        g_free(dup_key);
        dup_key = NULL;
    }
    dm_engine_inflight_enter(dup_key);
    once = g_ptr_array_new_with_free_func(g_free);
    once_action = g_ptr_array_new();
    once_item = g_array_new(FALSE, FALSE, sizeof(guint));
    owed = g_ptr_array_new_with_free_func(g_free);
    owed_item = g_array_new(FALSE, FALSE, sizeof(guint));
    if (dup_key != NULL) {
        if (!dm_store_journal_find_dup(e->store, dup_key, since, &first, &first_time, err))
            goto out;
        /* A first arrival journalled before actions were claimed one by
         * one (an upgrade) has no claims: as then, nothing is owed again. */
        legacy_dup = first != NULL && first_time < dm_store_owed_epoch(e->store);
        if (legacy_dup) {
            for (guint i = v->actions->len; i-- > 0;)
                if (dm_engine_spooled(v, g_ptr_array_index(v->actions, i)))
                    g_ptr_array_remove_index(v->actions, i);
        } else if (!dm_engine_filter_owed(e, v, dup_key, since, err)) {
            goto out;
        }
    }
    if (f != NULL && dm_verdict_has_once(v)) {
        g_mutex_lock(&dm_engine_once_lock);
        once_locked = true;
        if (!dm_engine_filter_once(e, f, v, now, once, once_action, err))
            goto out;
    }
    from_header = g_strdup_printf("%s <%s>", e->conf->from_name, e->conf->sender);
    ci.id = id;
    ci.queue_id = env->queue_id;
    ci.env_from = env->from;
    ci.rcpts = (char *const *)env->rcpts->pdata;
    ci.n_rcpts = env->rcpts->len;
    /* The facts' recipients are the envelope's, in the same order. */
    if (f != NULL && f->rcpts != NULL && f->n_rcpts == ci.n_rcpts)
        ci.parties = f->rcpts;
    ci.msg = msg;
    ci.verdict = v;
    ci.sha256 = sha256;
    ci.from_header = from_header;
    /* Long enough for the last retry of a copy ([delivery] dead_after)
     * and a day in an MTA's own queue after it. */
    ci.loop_key = e->key;
    ci.loop_keylen = e->keylen;
    ci.loop_expires = now + e->conf->dead_after + DM_LOOP_SLACK;
    ci.now = now;
    ci.conf = e->conf; /* the copy's form, Reply-To, time zone, gateway id */

    /* Each once key's item, once spooled (none: G_MAXUINT). */
    g_array_set_size(once_item, once_action->len);
    for (guint k = 0; k < once_item->len; k++)
        g_array_index(once_item, guint, k) = G_MAXUINT;
    tx = dm_spool_begin(e->spool, id);
    dm_spool_tx_set_origin(tx, msg->message_id);
    /* What is left in v is owed by this arrival: spool each, and claim
     * each (with the journal row below) so that no later arrival of the
     * same message owes it again. */
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);

        if (!dm_engine_spooled(v, a))
            continue;
        if (!dm_engine_spool_action(e, tx, &ci, a, original, err))
            goto out;
        if (dup_key != NULL) {
            g_ptr_array_add(owed, dm_engine_owed_key(dup_key, a));
            g_array_append_val(owed_item, spooled);
        }
        for (guint k = 0; k < once_action->len; k++)
            if (g_ptr_array_index(once_action, k) == a)
                g_array_index(once_item, guint, k) = spooled;
        spooled++;
    }
    if (!dm_spool_commit(tx, err))
        goto out;

    je.id = id;
    je.time = now;
    je.queue_id = env->queue_id;
    je.message_id = msg->message_id;
    je.sender = env->from;
    je.rcpts = (char *const *)env->rcpts->pdata;
    je.n_rcpts = env->rcpts->len;
    je.subject = msg->subject;
    je.sha256 = sha256;
    je.body_sha256 = body_sha256;
    /* The row says whose repeat it is (after the copies were written:
     * their cover note gives the reasons of this arrival's actions). */
    if (first != NULL)
        dm_policy_duplicate(e->policy, v, first);
    je.verdict = v;
    if (f != NULL) {
        dm_mass_window w;

        if (dm_policy_joins_window(e->policy, f, v, now, &w)) {
            je.mass_sender = w.sender;
            je.mass_since = w.since;
        }
        dm_policy_marks_absent(e->policy, f, msg, now, &je.autoreply_person,
                               &je.autoreply_since);
    }
    je.once_keys = (char *const *)once->pdata;
    je.n_once = once->len;
    once_claimed = g_new0(bool, once->len + 1);
    je.once_claimed = once_claimed;
    claimed = g_new0(bool, owed->len + 1);
    je.owed_keys = (char *const *)owed->pdata;
    je.n_owed = owed->len;
    je.owed_since = since;
    je.owed_claimed = claimed;
    ok = dm_store_journal_add(e->store, &je, &jerr);
    /* The row may be on disk after all: its items stay (delivered twice
     * rather than lost); the message still gets a 451. */
    in_doubt = !ok && dm_store_error_in_doubt(jerr);
    if (!ok)
        g_propagate_error(err, jerr);
    /* A claim this row did not win: another arrival of the same message,
     * committed meanwhile (not in this process, which commits them one
     * after the other), owes that action.  Its item goes before the
     * delivery worker can see it. */
    for (guint i = 0; ok && i < owed->len; i++) {
        if (claimed[i])
            continue;
        dm_spool_tx_drop(tx, g_array_index(owed_item, guint, i));
        dm_log(DM_LOG_WARNING, "id=%s: an action was claimed meanwhile by another arrival of "
                               "the same message: its item was dropped",
               id);
    }
    /* A once-a-period notice another gateway sent meanwhile (this
     * process serializes its own): the same. */
    for (guint i = 0; ok && i < once->len && i < once_item->len; i++) {
        if (once_claimed[i] || g_array_index(once_item, guint, i) == G_MAXUINT)
            continue;
        dm_spool_tx_drop(tx, g_array_index(once_item, guint, i));
        dm_log(DM_LOG_NOTICE, "id=%s: a notice owed once a period was sent meanwhile by "
                              "another gateway: its item was dropped",
               id);
    }
out:
    if (tx != NULL)
        dm_spool_finish(tx, ok || in_doubt);
    if (once_locked)
        g_mutex_unlock(&dm_engine_once_lock);
    if (once != NULL)
        g_ptr_array_free(once, TRUE);
    if (owed != NULL)
        g_ptr_array_free(owed, TRUE);
    if (owed_item != NULL)
        g_array_free(owed_item, TRUE);
    if (once_action != NULL)
        g_ptr_array_free(once_action, TRUE);
    if (once_item != NULL)
        g_array_free(once_item, TRUE);
    g_free(claimed);
    g_free(once_claimed);
    dm_engine_inflight_leave(dup_key);
    if (ok && duplicate_of != NULL)
        *duplicate_of = first;
    else
        g_free(first);
    g_free(dup_key);
    g_free(from_header);
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

        /* Tried before: it was owed (the worker sees only what was). */
        if (it->attempts > 0 || it->message == NULL)
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

bool dm_engine_journal_reject(dm_engine *e, const dm_envelope *env, const dm_verdict *v,
                              const char *id, int64_t now, GError **err)
{
    dm_journal_entry je = {0};

    if (e->store == NULL)
        return true;
    je.id = id;
    je.time = now;
    je.queue_id = env->queue_id;
    je.sender = env->from;
    je.rcpts = (char *const *)env->rcpts->pdata;
    je.n_rcpts = env->rcpts->len;
    je.verdict = v;
    return dm_store_journal_add(e->store, &je, err);
}
