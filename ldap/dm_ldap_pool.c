/*
 * The connection pool: pool_size connections shared by all threads, each
 * used by one thread at a time, connected lazily, reconnected after a
 * failure.  libldap walks the URI list itself, so failover is connecting
 * again.
 */
#include <string.h>

#include "dm_ldap_int.h"
#include "dm_log.h"

G_DEFINE_QUARK(dm-ldap-error-quark, dm_ldap_error)

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

dm_ldap_conn *dm_ldap_pool_get(dm_ldap *l)
{
    dm_ldap_conn *c;

    g_mutex_lock(&l->pool.lock);
    while ((c = g_queue_pop_head(&l->pool.idle)) == NULL)
        g_cond_wait(&l->pool.cond, &l->pool.lock);
    g_mutex_unlock(&l->pool.lock);
    return c;
}

void dm_ldap_pool_put(dm_ldap *l, dm_ldap_conn *c)
{
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

static void dm_ldap_set_error(GError **err, dm_ldap *l, dm_ldap_conn *c, const char *what,
                              int rc)
{
    char *diag = NULL;
    const char *server = c->server != NULL ? c->server : l->uris;

    if (c->ld != NULL)
        ldap_get_option(c->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    g_set_error(err, DM_LDAP_ERROR_DOMAIN, rc, "%s: %s: %s%s%s", server, what,
                ldap_err2string(rc), diag != NULL && *diag ? ": " : "",
                diag != NULL ? diag : "");
    if (diag != NULL)
        ldap_memfree(diag);
}

bool dm_ldap_conn_ready(dm_ldap *l, dm_ldap_conn *c, GError **err)
{
    const dm_conf *conf = l->conf;
    int rc, version = LDAP_VERSION3;
    struct timeval net = {.tv_sec = (time_t)conf->ldap_connect_timeout};
    struct timeval op = {.tv_sec = (time_t)conf->ldap_timeout};
    struct berval cred = {0};

    if (c->ld != NULL)
        return true;
    rc = ldap_initialize(&c->ld, l->uris);
    if (rc != LDAP_SUCCESS) {
        dm_ldap_set_error(err, l, c, "initialize", rc);
        c->ld = NULL;
        return false;
    }
    ldap_set_option(c->ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(c->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(c->ld, LDAP_OPT_RESTART, LDAP_OPT_ON);
    ldap_set_option(c->ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
    ldap_set_option(c->ld, LDAP_OPT_TIMEOUT, &op);
    {
        int idle = 60, probes = 3, interval = 10;
        ldap_set_option(c->ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle);
        ldap_set_option(c->ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes);
        ldap_set_option(c->ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &interval);
    }
    {
        /* TLS settings belong to this handle: a new context applies them. */
        int req = conf->ldap_tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
        int newctx = 0;

        ldap_set_option(c->ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &req);
        if (conf->ldap_tls_ca_file != NULL && *conf->ldap_tls_ca_file != '\0')
            ldap_set_option(c->ld, LDAP_OPT_X_TLS_CACERTFILE, conf->ldap_tls_ca_file);
        ldap_set_option(c->ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
    }
    if (conf->ldap_starttls) {
        rc = ldap_start_tls_s(c->ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            dm_ldap_set_error(err, l, c, "StartTLS", rc);
            dm_ldap_conn_drop(c);
            return false;
        }
    }
    if (l->password != NULL) {
        cred.bv_val = l->password;
        cred.bv_len = strlen(l->password);
    }
    rc = ldap_sasl_bind_s(c->ld,
                          conf->ldap_bind_dn != NULL && *conf->ldap_bind_dn ? conf->ldap_bind_dn
                                                                            : NULL,
                          LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    if (rc != LDAP_SUCCESS) {
        dm_ldap_set_error(err, l, c, "bind", rc);
        dm_ldap_conn_drop(c);
        return false;
    }
    {
        char *uri = NULL;
        ldap_get_option(c->ld, LDAP_OPT_URI, &uri);
        c->server = g_strdup(uri != NULL ? uri : l->uris);
        if (uri != NULL)
            ldap_memfree(uri);
    }
    atomic_fetch_add(&l->st_reconnects, 1);
    return true;
}

bool dm_ldap_search(dm_ldap *l, const char *base, int scope, const char *filter,
                    char **attrs, int sizelimit, LDAPMessage **res, dm_ldap_conn **conn,
                    GError **err)
{
    dm_ldap_conn *c = dm_ldap_pool_get(l);
    struct timeval tv = {.tv_sec = (time_t)l->conf->ldap_timeout};
    int rc = LDAP_OTHER;

    *res = NULL;
    /* Two tries: a server restarted since our last use breaks the first. */
    for (int attempt = 0; attempt < 2; attempt++) {
        GError *cerr = NULL;

        if (!dm_ldap_conn_ready(l, c, &cerr)) {
            if (attempt == 1 || !dm_ldap_rc_is_connection(cerr->code)) {
                g_propagate_error(err, cerr);
                dm_ldap_pool_put(l, c);
                return false;
            }
            g_error_free(cerr);
            continue;
        }
        atomic_fetch_add(&l->st_searches, 1);
        rc = ldap_search_ext_s(c->ld, base, scope, filter, attrs, 0, NULL, NULL, &tv,
                               sizelimit, res);
        if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_SIZELIMIT_EXCEEDED)
            break;
        if (*res != NULL) {
            ldap_msgfree(*res);
            *res = NULL;
        }
        if (!dm_ldap_rc_is_connection(rc) || attempt == 1) {
            dm_ldap_set_error(err, l, c, "search", rc);
            dm_ldap_conn_drop(c);
            dm_ldap_pool_put(l, c);
            return false;
        }
        dm_log(DM_LOG_NOTICE, "ldap: %s: %s; reconnecting", c->server ? c->server : l->uris,
               ldap_err2string(rc));
        dm_ldap_conn_drop(c);
    }
    if (conn != NULL)
        *conn = c;
    else
        dm_ldap_pool_put(l, c);
    return true;
}
