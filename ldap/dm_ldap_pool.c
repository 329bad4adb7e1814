/*
 * The connection pool: pool_size connections shared by all threads, each
 * used by one thread at a time, connected lazily, reconnected after a
 * failure.
 *
 * Failover: a connection tries the configured servers in order, one at a
 * time, each with its own connect, StartTLS and bind, so that a server
 * that refuses, hangs (accepts and never answers) or rejects the bind
 * hands over to the next one.  A server that failed is skipped for a
 * while unless every server failed, so a dead first server does not cost
 * a connect timeout on every reconnect, and a single server is always
 * tried again at once.
 *
 * Timeouts: LDAP_OPT_NETWORK_TIMEOUT bounds the TCP connect (and the TLS
 * handshake of ldaps://); LDAP_OPT_TIMEOUT bounds every synchronous
 * operation (StartTLS, bind); the search has its own timeout.  So a lookup
 * against one hung server fails after about [ldap] timeout.
 *
 * A hung server must not hold everything up behind the pool.  So:
 *  - a lookup waits at most [ldap] timeout for a free connection, then
 *    fails (the milter answers 451);
 *  - a server that did not answer in time (a connect past connect_timeout,
 *    a StartTLS, bind or search past timeout) is marked hung for [ldap]
 *    timeout (30 s when that is 0): meanwhile it is not asked at all, not
 *    even when it is the only one, and connections to it are dropped
 *    rather than used; lookups fail over to another server or fail at
 *    once.  Then one lookup at a time probes it (the others still do not
 *    wait on it); an answer clears the mark.
 * So with every server hung a lookup answers within [ldap] timeout (the
 * pool) + connect_timeout + 2 x timeout (a probe's bind and search).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm_ldap_int.h"
#include "dm_log.h"
#include "dm_metrics.h"

G_DEFINE_QUARK(dm-ldap-error-quark, dm_ldap_error)

/* A server that failed is skipped this long (when another one works). */
#define DM_LDAP_DOWN_SECONDS 30

/* ldap_initialize and the creation of a TLS context touch libldap's global
 * state (its first initialisation, the TLS library's): one thread at a
 * time.  No network I/O happens under this lock. */
static GMutex dm_ldap_init_lock;

int64_t dm_ldap_now(void)
{
    return g_get_monotonic_time() / G_USEC_PER_SEC;
}

void dm_ldap_pool_init(dm_ldap_pool *p, int size)
{
    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    p->size = size;
    p->conns = g_new0(dm_ldap_conn, size);
    g_queue_init(&p->idle);
    for (int i = 0; i < size; i++)
        g_queue_push_tail(&p->idle, &p->conns[i]);
}

void dm_ldap_conn_drop(dm_ldap_conn *c)
{
    if (c->ld != NULL)
        ldap_unbind_ext_s(c->ld, NULL, NULL);
    c->ld = NULL;
    g_free(c->server);
    c->server = NULL;
    c->fresh = false;
}

void dm_ldap_pool_clear(dm_ldap_pool *p)
{
    for (int i = 0; i < p->size; i++)
        dm_ldap_conn_drop(&p->conns[i]);
    g_free(p->conns);
    g_queue_clear(&p->idle);
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
}

dm_ldap_conn *dm_ldap_pool_get(dm_ldap *l, GError **err)
{
    dm_ldap_conn *c;
    int64_t wait = l->conf->ldap_timeout;
    gint64 until = g_get_monotonic_time() + wait * G_USEC_PER_SEC;

    g_mutex_lock(&l->pool.lock);
    while ((c = g_queue_pop_head(&l->pool.idle)) == NULL) {
        if (wait <= 0) {
            g_cond_wait(&l->pool.cond, &l->pool.lock);
        } else if (!g_cond_wait_until(&l->pool.cond, &l->pool.lock, until) &&
                   g_queue_is_empty(&l->pool.idle)) {
            g_mutex_unlock(&l->pool.lock);
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_BUSY,
                        "%s: no directory connection free within [ldap] timeout (%llds): all "
                        "%d busy",
                        l->uris, (long long)wait, l->pool.size);
            return NULL;
        }
    }
    g_mutex_unlock(&l->pool.lock);
    return c;
}

/* How long a server that did not answer in time is left alone. */
static int64_t dm_ldap_hung_us(const dm_ldap *l)
{
    return (l->conf->ldap_timeout > 0 ? l->conf->ldap_timeout : 30) * G_USEC_PER_SEC;
}

static void dm_ldap_mark_hung(dm_ldap *l, int index)
{
    atomic_store(&l->hung_until[index], g_get_monotonic_time() + dm_ldap_hung_us(l));
}

/* May this lookup ask server index?  Not while it is marked hung; once
 * the mark has run out, only the one lookup that takes the probe (the
 * mark moved on by the longest a probe can take, so the others keep out
 * of its way).  *left: how long the mark still runs (us), for messages. */
static bool dm_ldap_may_ask(dm_ldap *l, int index, int64_t *left)
{
    int64_t now = g_get_monotonic_time();
    int64_t until = atomic_load(&l->hung_until[index]);
    int64_t probe = (l->conf->ldap_connect_timeout + 2 * l->conf->ldap_timeout + 1) *
                    G_USEC_PER_SEC;

    *left = until - now;
    if (until == 0)
        return true;
    if (until > now)
        return false;
    return atomic_compare_exchange_strong(&l->hung_until[index], &until, now + probe);
}

void dm_ldap_pool_put(dm_ldap *l, dm_ldap_conn *c)
{
    c->fresh = false; /* it has served an operation now */
    g_mutex_lock(&l->pool.lock);
    /* Connected ones first, so a quiet daemon keeps few sockets busy. */
    if (c->ld != NULL)
        g_queue_push_head(&l->pool.idle, c);
    else
        g_queue_push_tail(&l->pool.idle, c);
    g_cond_signal(&l->pool.cond);
    g_mutex_unlock(&l->pool.lock);
}

bool dm_ldap_rc_is_connection(int rc)
{
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
           rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_UNWILLING_TO_PERFORM ||
           rc == LDAP_LOCAL_ERROR || rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

/* "SERVER: WHAT: reason: diagnostic" */
static char *dm_ldap_describe(LDAP *ld, const char *server, const char *what, int rc,
                              int64_t timeout)
{
    char *diag = NULL, *s;

    if (ld != NULL)
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    if (rc == LDAP_TIMEOUT && timeout > 0)
        s = g_strdup_printf("%s: %s: no answer within [ldap] timeout (%llds)", server, what,
                            (long long)timeout);
    else
        s = g_strdup_printf("%s: %s: %s%s%s", server, what, ldap_err2string(rc),
                            diag != NULL && *diag ? ": " : "", diag != NULL ? diag : "");
    if (diag != NULL)
        ldap_memfree(diag);
    return s;
}

static bool dm_ldap_uri_is(const char *uri, const char *scheme)
{
    return g_ascii_strncasecmp(uri, scheme, strlen(scheme)) == 0;
}

/* Does host:port of uri accept a TCP connection within timeout seconds?
 * Used only to explain a failed ldaps:// connect: TLS or the network. */
static bool dm_ldap_tcp_answers(const char *uri, int64_t timeout)
{
    LDAPURLDesc *lud = NULL;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[16];
    bool ok = false;

    if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS)
        return false;
    if (lud->lud_host != NULL && *lud->lud_host != '\0') {
        g_snprintf(port, sizeof port, "%d", lud->lud_port > 0 ? lud->lud_port : 636);
        if (getaddrinfo(lud->lud_host, port, &hints, &ai) == 0) {
            for (struct addrinfo *a = ai; a != NULL && !ok; a = a->ai_next) {
                int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                                a->ai_protocol);
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                int soerr = 0;
                socklen_t len = sizeof soerr;

                if (fd < 0)
                    continue;
                if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
                    ok = true;
                else if (errno == EINPROGRESS &&
                         poll(&pfd, 1, (int)(timeout > 0 ? timeout * 1000 : 5000)) == 1 &&
                         getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
                    ok = true;
                close(fd);
            }
            freeaddrinfo(ai);
        }
    }
    ldap_free_urldesc(lud);
    return ok;
}

#define DM_LDAP_TLS_HINT \
    "the TLS handshake failed: is the server's certificate signed by the CA in " \
    "[ldap] tls_ca_file, and does it name the host in the URI?"

/* Connect c to one server: initialize, options, connect, StartTLS, bind.
 * On failure returns the LDAP result code and *why; *timed_out when the
 * server did not answer in time (as opposed to refusing). */
static int dm_ldap_connect_one(dm_ldap *l, dm_ldap_conn *c, int index, char **why,
                               bool *timed_out)
{
    const char *uri = l->uri[index];
    const dm_conf *conf = l->conf;
    int rc, version = LDAP_VERSION3;
    struct timeval net = {.tv_sec = (time_t)conf->ldap_connect_timeout};
    struct timeval op = {.tv_sec = (time_t)conf->ldap_timeout};
    struct berval cred = {0};
    LDAP *ld = NULL;
    const char *bind_dn;
    int64_t t0;

    g_mutex_lock(&dm_ldap_init_lock);
    rc = ldap_initialize(&ld, uri);
    if (rc != LDAP_SUCCESS) {
        g_mutex_unlock(&dm_ldap_init_lock);
        *why = dm_ldap_describe(NULL, uri, "initialize", rc, 0);
        return rc;
    }
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
    /* 0 means no limit: leave libldap's default (none) then. */
    if (net.tv_sec > 0)
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
    if (op.tv_sec > 0)
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op);
    {
        int idle = 60, probes = 3, interval = 10;
        ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle);
        ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes);
        ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &interval);
    }
    {
        /* TLS settings belong to this handle: a new context applies them.
         * Verification is on unless tls_verify = false. */
        int req = conf->ldap_tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
        int newctx = 0;

        ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
        if (conf->ldap_tls_ca_file != NULL && *conf->ldap_tls_ca_file != '\0')
            ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, conf->ldap_tls_ca_file);
        rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
        if (rc != LDAP_OPT_SUCCESS && (conf->ldap_starttls || dm_ldap_uri_is(uri, "ldaps:"))) {
            g_mutex_unlock(&dm_ldap_init_lock);
            *why = g_strdup_printf("%s: TLS: cannot set up a TLS context (tls_ca_file %s)",
                                   uri, conf->ldap_tls_ca_file);
            ldap_unbind_ext_s(ld, NULL, NULL);
            return LDAP_LOCAL_ERROR;
        }
    }
    g_mutex_unlock(&dm_ldap_init_lock);

    /* The TCP connect (and the TLS handshake of ldaps://), bounded by
     * connect_timeout. */
    t0 = g_get_monotonic_time();
    rc = ldap_connect(ld);
    if (rc != LDAP_SUCCESS) {
        int64_t spent = (g_get_monotonic_time() - t0) / G_USEC_PER_SEC;

        if (net.tv_sec > 0 && spent >= net.tv_sec) {
            *why = g_strdup_printf("%s: connect: no connection within connect_timeout (%llds)",
                                   uri, (long long)net.tv_sec);
            *timed_out = true;
        }
        else if (dm_ldap_uri_is(uri, "ldaps:") && dm_ldap_tcp_answers(uri, net.tv_sec))
            *why = g_strdup_printf("%s: connect: %s", uri, DM_LDAP_TLS_HINT);
        else
            *why = dm_ldap_describe(ld, uri, "connect", rc, 0);
        goto fail;
    }
    if (conf->ldap_starttls && dm_ldap_uri_is(uri, "ldap:")) {
        rc = ldap_start_tls_s(ld, NULL, NULL);
        if (rc == LDAP_CONNECT_ERROR) {
            *why = g_strdup_printf("%s: StartTLS: %s", uri, DM_LDAP_TLS_HINT);
            goto fail;
        }
        if (rc != LDAP_SUCCESS) {
            *why = dm_ldap_describe(ld, uri, "StartTLS", rc, conf->ldap_timeout);
            *timed_out = rc == LDAP_TIMEOUT;
            goto fail;
        }
    }
    if (l->password != NULL) {
        cred.bv_val = l->password;
        cred.bv_len = strlen(l->password);
    }
    /* Also when anonymous: the bind proves that the server answers. */
    bind_dn = conf->ldap_bind_dn != NULL && *conf->ldap_bind_dn ? conf->ldap_bind_dn : NULL;
    rc = ldap_sasl_bind_s(ld, bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    if (rc != LDAP_SUCCESS) {
        *why = dm_ldap_describe(ld, uri, "bind", rc, conf->ldap_timeout);
        *timed_out = rc == LDAP_TIMEOUT;
        goto fail;
    }
    c->ld = ld;
    c->server = g_strdup(uri);
    c->server_index = index;
    c->fresh = true;
    atomic_fetch_add(&l->st_reconnects, 1);
    return LDAP_SUCCESS;
fail:
    ldap_unbind_ext_s(ld, NULL, NULL);
    return rc;
}

bool dm_ldap_conn_ready(dm_ldap *l, dm_ldap_conn *c, GError **err)
{
    GString *why;
    int64_t now = dm_ldap_now();
    int rc = LDAP_SERVER_DOWN, tried = 0;
    bool *skipped;

    /* A connection to a server since marked hung is not used: it would
     * only wait for it again. */
    if (c->ld != NULL && atomic_load(&l->hung_until[c->server_index]) != 0)
        dm_ldap_conn_drop(c);
    if (c->ld != NULL)
        return true;
    why = g_string_new(NULL);
    skipped = g_new0(bool, (gsize)l->n_uri);
    for (int i = 0; i < l->n_uri; i++)
        skipped[i] = atomic_load(&l->down_until[i]) > now;
    /* Two rounds: first the servers not known to be down, in order; then,
     * when none of those answered, the ones skipped.  A server marked
     * hung is in neither, but for the one lookup that probes it. */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < l->n_uri; i++) {
            char *one = NULL;
            bool timed_out = false;
            int64_t left = 0;

            if (skipped[i] != (round == 1))
                continue;
            if (!dm_ldap_may_ask(l, i, &left)) {
                if (why->len > 0)
                    g_string_append(why, "; ");
                g_string_append_printf(why, "%s: not asked: it did not answer in time; asked "
                                            "again in %llds",
                                       l->uri[i],
                                       (long long)(MAX(left, 0) + G_USEC_PER_SEC - 1) /
                                           G_USEC_PER_SEC);
                tried++;
                continue;
            }
            tried++;
            rc = dm_ldap_connect_one(l, c, i, &one, &timed_out);
            if (rc == LDAP_SUCCESS) {
                atomic_store(&l->down_until[i], 0);
                atomic_store(&l->hung_until[i], 0);
                if (why->len > 0)
                    dm_log(DM_LOG_WARNING, "ldap: failing over to %s (%s)", l->uri[i],
                           why->str);
                g_string_free(why, TRUE);
                g_free(skipped);
                return true;
            }
            atomic_store(&l->down_until[i], dm_ldap_now() + DM_LDAP_DOWN_SECONDS);
            if (timed_out)
                dm_ldap_mark_hung(l, i);
            else
                atomic_store(&l->hung_until[i], 0); /* it answers, if only no */
            if (why->len > 0)
                g_string_append(why, "; ");
            g_string_append(why, one);
            g_free(one);
        }
    }
    g_set_error(err, DM_LDAP_ERROR_DOMAIN, rc, "%s", tried ? why->str : "no server configured");
    g_string_free(why, TRUE);
    g_free(skipped);
    return false;
}

/* What a search really got.  ldap_search_ext_s returns the handle's
 * last error when its wait for the result ends early (the timeout, a
 * broken read), and that need not be the failure: it may be an earlier
 * operation's success, with no result chain at all.  Taken at its word
 * that is "no such entry", cached as such, and a party's address looks
 * unknown while the directory hangs.  So an answer counts only with the
 * search's final message, and its code is the one that message carries;
 * without it the search failed like a broken or hung connection
 * (LDAP_TIMEOUT when it took the whole timeout). */
int dm_ldap_search_outcome(LDAP *ld, int rc, LDAPMessage *res, int64_t elapsed_us,
                           int64_t timeout_s)
{
    LDAPMessage *done = NULL;
    int code = LDAP_OTHER;

    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED && rc != LDAP_NO_SUCH_OBJECT)
        return rc;
    for (LDAPMessage *m = res; m != NULL; m = ldap_next_message(ld, m)) {
        if (ldap_msgtype(m) == LDAP_RES_SEARCH_RESULT)
            done = m;
    }
    if (done == NULL)
        return timeout_s > 0 && elapsed_us >= timeout_s * G_USEC_PER_SEC ? LDAP_TIMEOUT
                                                                      : LDAP_SERVER_DOWN;
    if (ldap_parse_result(ld, done, &code, NULL, NULL, NULL, NULL, 0) != LDAP_SUCCESS)
        return LDAP_DECODING_ERROR;
    return code;
}

bool dm_ldap_search_on(dm_ldap *l, dm_ldap_conn *c, const char *base, int scope,
                       const char *filter, char **attrs, int sizelimit, LDAPControl **sctrls,
                       bool allow_retry, bool missing_ok, LDAPMessage **res, GError **err)
{
    struct timeval tv = {.tv_sec = (time_t)l->conf->ldap_timeout};
    int rc = LDAP_OTHER;

    *res = NULL;
    /* Two tries: a server restarted (or a connection closed by an idle
     * timeout) since our last use breaks the first; a fresh connection
     * that fails is not tried again. */
    for (int attempt = 0; attempt < 2; attempt++) {
        char *why;

        if (!dm_ldap_conn_ready(l, c, err))
            return false;
        atomic_fetch_add(&l->st_searches, 1);
        gint64 t0 = g_get_monotonic_time();
        rc = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, sctrls, NULL,
                               tv.tv_sec > 0 ? &tv : NULL, sizelimit, res);
        dm_metrics_observe(DM_MH_DIRECTORY_SEARCH, g_get_monotonic_time() - t0);
        rc = dm_ldap_search_outcome(c->ld, rc, *res, g_get_monotonic_time() - t0,
                                    l->conf->ldap_timeout);
        if (rc == LDAP_SUCCESS || rc == LDAP_SIZELIMIT_EXCEEDED ||
            (rc == LDAP_NO_SUCH_OBJECT && missing_ok))
            return true;
        if (*res != NULL) {
            ldap_msgfree(*res);
            *res = NULL;
        }
        if (rc == LDAP_NO_SUCH_OBJECT) {
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, rc, "%s: search: %s does not exist",
                        c->server, base);
            return false;
        }
        why = dm_ldap_describe(c->ld, c->server, "search", rc, l->conf->ldap_timeout);
        if (!dm_ldap_rc_is_connection(rc)) {
            /* The server answered: the connection is fine, the question
             * was not (a bad filter, a time limit, access). */
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, rc, "%s", why);
            g_free(why);
            return false;
        }
        if (rc == LDAP_TIMEOUT) {
            /* A hung server: not asked again for a while (see above). */
            atomic_store(&l->down_until[c->server_index],
                         dm_ldap_now() + DM_LDAP_DOWN_SECONDS);
            dm_ldap_mark_hung(l, c->server_index);
        }
        /* A connection that served before may just have gone stale (the
         * server restarted, an idle timeout closed it): reconnect once.
         * Not after a timeout with a single server: that would double the
         * wait and ask the same hung server again. */
        if (c->fresh || !allow_retry || attempt == 1 ||
            (rc == LDAP_TIMEOUT && l->n_uri == 1)) {
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, rc, "%s", why);
            g_free(why);
            dm_ldap_conn_drop(c);
            return false;
        }
        dm_log(DM_LOG_NOTICE, "ldap: %s; reconnecting", why);
        g_free(why);
        dm_ldap_conn_drop(c);
    }
    return false; /* not reached */
}

bool dm_ldap_search(dm_ldap *l, const char *base, int scope, const char *filter,
                    char **attrs, int sizelimit, bool missing_ok, LDAPMessage **res,
                    dm_ldap_conn **conn, GError **err)
{
    dm_ldap_conn *c = dm_ldap_pool_get(l, err);

    if (c == NULL)
        return false;
    if (!dm_ldap_search_on(l, c, base, scope, filter, attrs, sizelimit, NULL, true, missing_ok,
                           res, err)) {
        dm_ldap_pool_put(l, c);
        return false;
    }
    *conn = c;
    return true;
}
