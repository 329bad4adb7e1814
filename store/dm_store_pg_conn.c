/*
 * The PostgreSQL backend: its pool of connections and how one statement
 * runs.  Every statement is sent asynchronously and waited for with
 * poll() up to a deadline, so that a server that stops answering (a
 * network gone, a host frozen) costs a bounded wait and a 451, not a
 * milter thread for ever; the server's own statement_timeout, set on
 * every connection, normally ends a slow statement first.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "dm_log.h"
#include "dm_store_pg_int.h"

/* After a failed connect, calls fail at once for this long rather than
 * each waiting for its own connect to fail. */
#define DM_PG_RETRY_US (1 * G_USEC_PER_SEC)
/* The client's deadline is the server's statement_timeout and this. */
#define DM_PG_GRACE_US (2 * G_USEC_PER_SEC)

static void dm_pg_conn_free(dm_pg_conn *c)
{
    if (c == NULL)
        return;
    if (c->c != NULL)
        PQfinish(c->c);
    g_free(c);
}

void dm_pg_pool_clear(dm_pg *p)
{
    if (p->idle != NULL) {
        for (guint i = 0; i < p->idle->len; i++)
            dm_pg_conn_free(g_ptr_array_index(p->idle, i));
        g_ptr_array_free(p->idle, TRUE);
        p->idle = NULL;
    }
}

/* libpq's message, on one line. */
static char *dm_pg_message(const char *m)
{
    char *s = g_strdup(m != NULL && *m != '\0' ? m : "unknown error");

    g_strstrip(s);
    for (char *p = s; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return s;
}

/* The server's notices and warnings (a shutdown coming, a cut session):
 * to the log, not to stderr. */
static void dm_pg_notice(void *arg, const char *message)
{
    char *m = dm_pg_message(message);

    dm_log(DM_LOG_NOTICE, "%s: %s", (const char *)arg, m);
    g_free(m);
}

static dm_pg_conn *dm_pg_connect(dm_store *s, GError **err)
{
    dm_pg *p = dm_pg_of(s);
    char timeout[32], options[64];
    /* Ours first: what the URI says overrides them (expand_dbname). */
    const char *keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
    const char *values[] = {timeout, "diariemilter", options, p->conninfo, NULL};
    dm_pg_conn *c = g_new0(dm_pg_conn, 1);

    g_snprintf(timeout, sizeof timeout, "%" G_GINT64_FORMAT,
               s->opt.connect_timeout > 1 ? s->opt.connect_timeout : 2);
    /* The server ends a statement (a wait for a lock included) after
     * [store] timeout: the message gets a 451 rather than a hung thread. */
    g_snprintf(options, sizeof options, "-c statement_timeout=%" G_GINT64_FORMAT "s",
               s->opt.timeout);
    c->c = PQconnectdbParams(keys, values, 1);
    if (c->c == NULL || PQstatus(c->c) != CONNECTION_OK) {
        char *m = dm_pg_message(c->c != NULL ? PQerrorMessage(c->c) : "out of memory");

        g_set_error(err, DM_STORE_ERROR, DM_STORE_UNAVAILABLE, "%s: cannot connect: %s",
                    s->name, m);
        g_free(m);
        dm_pg_conn_free(c);
        return NULL;
    }
    PQsetNoticeProcessor(c->c, dm_pg_notice, s->name);
    return c;
}

dm_pg_conn *dm_pg_get(dm_store *s, GError **err)
{
    dm_pg *p = dm_pg_of(s);
    int64_t deadline = g_get_monotonic_time() + s->opt.connect_timeout * G_USEC_PER_SEC;
    dm_pg_conn *c = NULL;
    GError *cerr = NULL;

    g_mutex_lock(&p->lock);
    for (;;) {
        if (p->idle->len > 0) {
            c = g_ptr_array_steal_index(p->idle, p->idle->len - 1);
            g_mutex_unlock(&p->lock);
            return c;
        }
        if (p->open < s->opt.pool_size)
            break;
        if (!g_cond_wait_until(&p->cond, &p->lock, deadline)) {
            g_mutex_unlock(&p->lock);
            g_set_error(err, DM_STORE_ERROR, 0,
                        "%s: no free connection within [store] connect_timeout "
                        "(all %u busy)",
                        s->name, s->opt.pool_size);
            return NULL;
        }
    }
    if (p->retry_at > g_get_monotonic_time()) {
        g_set_error(err, DM_STORE_ERROR, DM_STORE_UNAVAILABLE, "%s", p->last_error);
        g_mutex_unlock(&p->lock);
        return NULL;
    }
    p->open++;
    g_mutex_unlock(&p->lock);
    c = dm_pg_connect(s, &cerr);
    g_mutex_lock(&p->lock);
    if (c == NULL) {
        p->open--;
        p->retry_at = g_get_monotonic_time() + DM_PG_RETRY_US;
        g_free(p->last_error);
        p->last_error = g_strdup(cerr->message);
        g_propagate_error(err, cerr);
        g_cond_signal(&p->cond);
    } else {
        p->retry_at = 0;
    }
    g_mutex_unlock(&p->lock);
    return c;
}

void dm_pg_put(dm_store *s, dm_pg_conn *c)
{
    dm_pg *p = dm_pg_of(s);

    if (c == NULL)
        return;
    if (!c->bad && (PQstatus(c->c) != CONNECTION_OK ||
                    PQtransactionStatus(c->c) != PQTRANS_IDLE))
        c->bad = true;
    g_mutex_lock(&p->lock);
    if (c->bad) {
        p->open--;
        g_mutex_unlock(&p->lock);
        dm_pg_conn_free(c);
        g_mutex_lock(&p->lock);
    } else {
        g_ptr_array_add(p->idle, c);
    }
    g_cond_signal(&p->cond);
    g_mutex_unlock(&p->lock);
}

/* Wait until c's socket is ready for events, or the deadline. */
static bool dm_pg_wait(dm_pg_conn *c, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = PQsocket(c->c), .events = events};
    int64_t left;
    int rc;

    if (pfd.fd < 0)
        return false;
    do {
        left = (deadline - g_get_monotonic_time()) / 1000;
        if (left <= 0)
            return false;
        rc = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
    } while (rc == 0 || (rc < 0 && errno == EINTR));
    return rc > 0;
}

/* A failure that will not pass on this connection: it is closed, and the
 * next call connects again (perhaps to another host, the new primary).
 * What passes: a constraint (class 23), a statement that timed out or
 * was cancelled (57014), a lock not had (55P03). */
static bool dm_pg_failure_passes(const PGresult *r)
{
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    return state != NULL && (strncmp(state, "23", 2) == 0 || strcmp(state, "57014") == 0 ||
                             strcmp(state, "55P03") == 0);
}

PGresult *dm_pg_exec(dm_store *s, dm_pg_conn *c, const char *what, const char *sql, int n,
                     const char *const *params, GError **err)
{
    int64_t deadline = g_get_monotonic_time() + s->opt.timeout * G_USEC_PER_SEC +
                       DM_PG_GRACE_US;
    PGresult *res = NULL, *r;
    char *m;
    int f;

    if (c->bad) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: %s: the connection was lost", s->name, what);
        return NULL;
    }
    /* Non-blocking while sending: a large statement to a server that
     * does not read waits in poll(), bounded, not in write(). */
    if (PQsetnonblocking(c->c, 1) != 0)
        goto lost;
    /* Without parameters the simple protocol, which takes several
     * statements at once (the schema). */
    if (n == 0 ? !PQsendQuery(c->c, sql)
               : !PQsendQueryParams(c->c, sql, n, NULL, params, NULL, NULL, 0))
        goto lost;
    while ((f = PQflush(c->c)) == 1) {
        if (!dm_pg_wait(c, POLLIN | POLLOUT, deadline))
            goto timeout;
        if (!PQconsumeInput(c->c))
            goto lost;
    }
    PQsetnonblocking(c->c, 0);
    if (f < 0)
        goto lost;
    for (;;) {
        while (PQisBusy(c->c)) {
            if (!dm_pg_wait(c, POLLIN, deadline))
                goto timeout;
            if (!PQconsumeInput(c->c))
                goto lost;
        }
        r = PQgetResult(c->c);
        if (r == NULL)
            break;
        if (PQresultStatus(r) == PGRES_COPY_IN) {
            /* The caller sends the data (dm_pg_copy_put). */
            PQclear(res);
            return r;
        }
        /* Several statements (the simple protocol): keep the last
         * result, or the first error. */
        if (res == NULL || PQresultStatus(res) != PGRES_FATAL_ERROR) {
            PQclear(res);
            res = r;
        } else {
            PQclear(r);
        }
    }
    if (res == NULL)
        goto lost;
    switch (PQresultStatus(res)) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
        return res;
    default:
        break;
    }
    m = dm_pg_message(PQresultErrorMessage(res));
    g_set_error(err, DM_STORE_ERROR, 0, "%s: %s: %s", s->name, what, m);
    g_free(m);
    if (!dm_pg_failure_passes(res) || PQstatus(c->c) != CONNECTION_OK)
        c->bad = true;
    PQclear(res);
    return NULL;
timeout:
    PQclear(res);
    PQsetnonblocking(c->c, 0);
    g_set_error(err, DM_STORE_ERROR, 0,
                "%s: %s: no answer within [store] timeout (%" G_GINT64_FORMAT "s)", s->name,
                what, s->opt.timeout);
    c->bad = true;
    return NULL;
lost:
    PQclear(res);
    PQsetnonblocking(c->c, 0);
    m = dm_pg_message(PQerrorMessage(c->c));
    g_set_error(err, DM_STORE_ERROR, 0, "%s: %s: %s", s->name, what, m);
    g_free(m);
    c->bad = true;
    return NULL;
}

void dm_pg_stmt_free(dm_pg_stmt *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < st->n; i++)
        g_free(st->p[i]);
    g_free(st->p);
    g_strfreev(st->keys);
    g_free(st);
}

dm_pg_stmt *dm_pg_stmt_add(GPtrArray *stmts, const char *what, const char *sql, guint req)
{
    dm_pg_stmt *st = g_new0(dm_pg_stmt, 1);

    st->what = what;
    st->sql = sql;
    st->req = req;
    g_ptr_array_add(stmts, st);
    return st;
}

void dm_pg_stmt_param(dm_pg_stmt *st, const char *v)
{
    st->p = g_renew(char *, st->p, st->n + 1);
    st->p[st->n++] = g_strdup(v);
}

bool dm_pg_pipeline(dm_store *s, dm_pg_conn *c, GPtrArray *stmts, PGresult **res, GError **err)
{
    int64_t deadline = g_get_monotonic_time() + s->opt.timeout * G_USEC_PER_SEC +
                       DM_PG_GRACE_US;
    guint q = 0;
    PGresult *r;
    char *m;
    int f;

    for (guint i = 0; i < stmts->len; i++)
        res[i] = NULL;
    if (c->bad) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: the connection was lost", s->name);
        return false;
    }
    if (PQenterPipelineMode(c->c) != 1 || PQsetnonblocking(c->c, 1) != 0)
        goto lost;
    for (guint i = 0; i < stmts->len; i++) {
        const dm_pg_stmt *st = g_ptr_array_index(stmts, i);

        if (!PQsendQueryParams(c->c, st->sql, st->n, NULL, (const char *const *)st->p, NULL,
                               NULL, 0))
            goto lost;
    }
    if (PQpipelineSync(c->c) != 1)
        goto lost;
    while ((f = PQflush(c->c)) == 1) {
        if (!dm_pg_wait(c, POLLIN | POLLOUT, deadline))
            goto timeout;
        if (!PQconsumeInput(c->c))
            goto lost;
    }
    if (f < 0)
        goto lost;
    /* Each statement's result, then NULL; at the end the sync. */
    for (;;) {
        while (PQisBusy(c->c)) {
            if (!dm_pg_wait(c, POLLIN, deadline))
                goto timeout;
            if (!PQconsumeInput(c->c))
                goto lost;
        }
        r = PQgetResult(c->c);
        if (r == NULL) {
            q++;
            continue;
        }
        if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (q < stmts->len && res[q] == NULL)
            res[q] = r;
        else
            PQclear(r);
    }
    PQexitPipelineMode(c->c);
    PQsetnonblocking(c->c, 0);
    if (PQstatus(c->c) != CONNECTION_OK)
        goto lost;
    return true;
timeout:
    g_set_error(err, DM_STORE_ERROR, 0,
                "%s: no answer within [store] timeout (%" G_GINT64_FORMAT "s)", s->name,
                s->opt.timeout);
    c->bad = true;
    return false;
lost:
    m = dm_pg_message(PQerrorMessage(c->c));
    g_set_error(err, DM_STORE_ERROR, 0, "%s: %s", s->name, m);
    g_free(m);
    c->bad = true;
    return false;
}

bool dm_pg_result_ok(const PGresult *r)
{
    return r != NULL && (PQresultStatus(r) == PGRES_COMMAND_OK ||
                         PQresultStatus(r) == PGRES_TUPLES_OK);
}

bool dm_pg_result_error(dm_store *s, dm_pg_conn *c, const char *what, const PGresult *r,
                        GError **err)
{
    char *m = dm_pg_message(r != NULL ? PQresultErrorMessage(r) : "not run");

    g_set_error(err, DM_STORE_ERROR, 0, "%s: %s: %s", s->name, what, m);
    g_free(m);
    if (!dm_pg_failure_passes(r))
        c->bad = true;
    return !c->bad;
}

bool dm_pg_cmd(dm_store *s, dm_pg_conn *c, const char *what, const char *sql, int n,
               const char *const *params, GError **err)
{
    PGresult *r = dm_pg_exec(s, c, what, sql, n, params, err);

    PQclear(r);
    return r != NULL;
}

const char *dm_pg_value(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

char *dm_pg_array(char *const *v, size_t n)
{
    GString *o = g_string_new("{");

    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            g_string_append_c(o, ',');
        g_string_append_c(o, '"');
        for (const char *p = v[i]; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                g_string_append_c(o, '\\');
            g_string_append_c(o, *p);
        }
        g_string_append_c(o, '"');
    }
    g_string_append_c(o, '}');
    return g_string_free(o, FALSE);
}

void dm_pg_copy_field(GString *o, const char *v)
{
    if (v == NULL) {
        g_string_append(o, "\\N");
        return;
    }
    for (const char *p = v; *p != '\0'; p++) {
        switch (*p) {
        case '\\': g_string_append(o, "\\\\"); break;
        case '\n': g_string_append(o, "\\n"); break;
        case '\r': g_string_append(o, "\\r"); break;
        case '\t': g_string_append(o, "\\t"); break;
        default: g_string_append_c(o, *p); break;
        }
    }
}

bool dm_pg_copy_put(dm_store *s, dm_pg_conn *c, GString *o, bool end, GError **err)
{
    PGresult *r;
    bool ok;

    if (o->len > 0 && PQputCopyData(c->c, o->str, (int)o->len) != 1)
        goto lost;
    g_string_truncate(o, 0);
    if (!end)
        return true;
    if (PQputCopyEnd(c->c, NULL) != 1)
        goto lost;
    r = PQgetResult(c->c);
    ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        char *m = dm_pg_message(r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(c->c));

        g_set_error(err, DM_STORE_ERROR, 0, "%s: copy: %s", s->name, m);
        g_free(m);
    }
    PQclear(r);
    while ((r = PQgetResult(c->c)) != NULL)
        PQclear(r);
    return ok;
lost:
    g_set_error(err, DM_STORE_ERROR, 0, "%s: copy: %s", s->name, PQerrorMessage(c->c));
    c->bad = true;
    return false;
}

void dm_pg_rollback(dm_store *s, dm_pg_conn *c)
{
    if (c->bad || PQtransactionStatus(c->c) == PQTRANS_IDLE)
        return;
    if (!dm_pg_cmd(s, c, "rollback", "ROLLBACK", 0, NULL, NULL))
        c->bad = true;
}

bool dm_pg_meta(dm_store *s, dm_pg_conn *c, const char *key, char **value, GError **err)
{
    const char *p[] = {key};
    PGresult *r = dm_pg_exec(s, c, "meta", "SELECT value FROM meta WHERE key = $1", 1, p, err);

    *value = NULL;
    if (r == NULL)
        return false;
    if (PQntuples(r) > 0)
        *value = g_strdup(dm_pg_value(r, 0, 0));
    PQclear(r);
    return true;
}

bool dm_pg_set_meta(dm_store *s, dm_pg_conn *c, const char *key, const char *value,
                    GError **err)
{
    const char *p[] = {key, value};

    return dm_pg_cmd(s, c, key,
                     "INSERT INTO meta(key, value) VALUES ($1, $2)"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     2, p, err);
}

int64_t dm_pg_meta_int(dm_store *s, const char *key)
{
    dm_pg_conn *c = dm_pg_get(s, NULL);
    char *v = NULL;
    int64_t n = 0;

    if (c == NULL)
        return 0;
    if (dm_pg_meta(s, c, key, &v, NULL) && v != NULL)
        n = g_ascii_strtoll(v, NULL, 10);
    g_free(v);
    dm_pg_put(s, c);
    return n;
}

PGresult *dm_pg_query(dm_store *s, const char *what, const char *sql, int n,
                      const char *const *params, GError **err)
{
    dm_pg_conn *c = dm_pg_get(s, err);
    PGresult *r;

    if (c == NULL)
        return NULL;
    r = dm_pg_exec(s, c, what, sql, n, params, err);
    dm_pg_put(s, c);
    return r;
}

bool dm_pg_begin_on(dm_store *s, dm_pg_conn *c, const char *what, const char *begin,
                    const char *lock, GError **err)
{
    const char *p[] = {lock};
    bool ok = dm_pg_cmd(s, c, what, begin, 0, NULL, err);

    if (ok && lock != NULL)
        ok = dm_pg_cmd(s, c, what, "SELECT pg_advisory_xact_lock($1::bigint)", 1, p, err);
    if (!ok)
        dm_pg_rollback(s, c);
    return ok;
}

dm_pg_conn *dm_pg_begin(dm_store *s, const char *what, const char *begin, const char *lock,
                        GError **err)
{
    dm_pg_conn *c = dm_pg_get(s, err);

    if (c != NULL && !dm_pg_begin_on(s, c, what, begin, lock, err)) {
        dm_pg_put(s, c);
        c = NULL;
    }
    return c;
}

bool dm_pg_end_on(dm_store *s, dm_pg_conn *c, const char *what, bool ok, GError **err)
{
    if (ok)
        ok = dm_pg_cmd(s, c, what, "COMMIT", 0, NULL, err);
    if (!ok)
        dm_pg_rollback(s, c);
    return ok;
}

bool dm_pg_end(dm_store *s, dm_pg_conn *c, const char *what, bool ok, GError **err)
{
    ok = dm_pg_end_on(s, c, what, ok, err);
    dm_pg_put(s, c);
    return ok;
}

char *dm_pg_utf8(const char *s)
{
    if (s == NULL)
        return NULL;
    return g_utf8_validate(s, -1, NULL) ? g_strdup(s) : g_utf8_make_valid(s, -1);
}
