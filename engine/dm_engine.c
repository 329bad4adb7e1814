#include "dm_engine_int.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "dm_key.h"
#include "dm_log.h"
#include "dm_util.h"

dm_conf *dm_engine_conf(dm_engine *e) { return e->conf; }
dm_store *dm_engine_store(dm_engine *e) { return e->store; }
dm_spool *dm_engine_spool(dm_engine *e) { return e->spool; }
dm_ldap *dm_engine_ldap(dm_engine *e) { return e->ldap; }
const dm_policy *dm_engine_policy(dm_engine *e) { return e->policy; }
const dm_mime_limits *dm_engine_limits(dm_engine *e) { return &e->limits; }
const dm_templates *dm_engine_templates(dm_engine *e) { return e->templates; }
const char *dm_engine_key(dm_engine *e, size_t *len)
{
    *len = e->keylen;
    return e->key;
}

/* How often to ask the database whether the diarium was imported again. */
#define DM_CASES_CHECK_SECONDS 5

struct dm_engine_rules {
    dm_policy *policy;
    dm_templates *templates;
};

dm_engine_rules *dm_engine_rules_new(const dm_conf *conf, GError **err)
{
    dm_engine_rules *r = g_new0(dm_engine_rules, 1);

    r->policy = dm_policy_new(conf, err);
    if (r->policy == NULL)
        goto fail;
    r->templates = dm_templates_load(conf->templates, conf->language, err);
    if (r->templates == NULL) {
        g_prefix_error(err, "[policy] templates: ");
        goto fail;
    }
    return r;
fail:
    dm_engine_rules_free(r);
    return NULL;
}

void dm_engine_rules_free(dm_engine_rules *r)
{
    if (r == NULL)
        return;
    dm_templates_free(r->templates);
    dm_policy_free(r->policy);
    g_free(r);
}

static void dm_engine_free(dm_engine *e)
{
    dm_case_index_unref(e->cases);
    g_mutex_clear(&e->cases_lock);
    dm_extract_pool_free(e->extract);
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
    return dm_engine_new_with(conf, flags, spool, NULL, err);
}

dm_engine *dm_engine_new_with(dm_conf *conf, unsigned flags, dm_spool *spool,
                              dm_engine_rules *rules, GError **err)
{
    dm_engine *e = g_new0(dm_engine, 1);
    bool readonly = (flags & DM_ENGINE_READONLY) != 0;

    e->refcount = 1;
    e->flags = flags;
    e->conf = dm_conf_ref(conf);
    g_mutex_init(&e->cases_lock);
    dm_mime_limits_from_conf(conf, &e->limits);
    if (conf->max_attachments > 0) {
        /* The daemon keeps workers started ahead; diariectl, reading a
         * message or two, starts one when an attachment needs it. */
        dm_extract_conf xc;
        dm_extract_conf_from(conf, &xc);
        e->extract = dm_extract_pool_new(&xc, (flags & DM_ENGINE_NO_SPOOL) == 0);
        e->limits.extract = e->extract;
    }

    if (rules == NULL)
        rules = dm_engine_rules_new(conf, err);
    if (rules == NULL)
        goto fail;
    e->policy = rules->policy;
    e->templates = rules->templates;
    g_free(rules);
    e->limits.autoreply_subjects = dm_policy_autoreply_subjects(e->policy);
    e->limits.words = dm_policy_seg_words(e->policy);
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

/* --- an arrival's steps ------------------------------------------------- */

dm_arrival *dm_arrival_new(dm_engine *e)
{
    dm_arrival *a = g_new0(dm_arrival, 1);

    a->engine = e;
    a->env = dm_envelope_new();
    return a;
}

void dm_arrival_free(dm_arrival *a)
{
    if (a == NULL)
        return;
    if (a->resolved)
        dm_engine_facts_clear(&a->facts);
    dm_envelope_free(a->env);
    if (a->original != NULL)
        g_object_unref(a->original);
    dm_msg_free(a->msg);
    dm_verdict_free(a->verdict);
    g_free(a->duplicate_of);
    dm_engine_unref(a->engine);
    g_free(a);
}

bool dm_arrival_resolve(dm_arrival *a, int64_t now, GError **err)
{
    if (a->resolved)
        return true;
    if (!dm_engine_resolve(a->engine, a->env, now, &a->facts, err)) {
        dm_engine_facts_clear(&a->facts);
        return false;
    }
    a->resolved = true;
    return true;
}

/* A new verdict and its id. */
static void dm_arrival_set_verdict(dm_arrival *a, dm_verdict *v, int64_t now)
{
    dm_verdict_free(a->verdict);
    a->verdict = v;
    a->now = now;
    dm_id_new(a->id);
}

bool dm_arrival_check_mass(dm_arrival *a, int64_t now)
{
    dm_verdict *v = dm_engine_check_mass(a->engine, &a->facts);

    if (v == NULL)
        return false;
    dm_arrival_set_verdict(a, v, now);
    return true;
}

void dm_arrival_decide(dm_arrival *a, int64_t now)
{
    dm_msg_free(a->msg);
    a->msg = NULL;
    dm_arrival_set_verdict(a, dm_engine_decide(a->engine, &a->facts, a->original, &a->msg),
                           now);
}
