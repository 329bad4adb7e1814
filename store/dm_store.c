/*
 * The store's front: which backend keeps a database, opening and closing,
 * and the calls that pass straight to the backend.
 */
#include <string.h>

#include "dm_store_int.h"

G_DEFINE_QUARK(dm-store-error-quark, dm_store_error)

/* The first that accepts a database keeps it: a backend for a URL goes
 * before SQLite, which takes any path. */
static const dm_store_ops *const dm_store_backends[] = {
    &dm_store_pg_ops,
    &dm_store_sqlite_ops,
};

static const dm_store_ops *dm_store_backend(const char *database)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_store_backends); i++)
        if (dm_store_backends[i]->accepts(database))
            return dm_store_backends[i];
    return NULL;
}

bool dm_store_exists(const char *database)
{
    const dm_store_ops *ops = dm_store_backend(database);

    return ops != NULL && ops->exists(database);
}

void dm_store_prepare(const char *database)
{
    const dm_store_ops *ops = dm_store_backend(database);

    if (ops != NULL)
        ops->prepare(database);
}

char **dm_store_local_files(const char *database)
{
    const dm_store_ops *ops = dm_store_backend(database);

    return ops != NULL ? ops->local_files(database) : g_new0(char *, 1);
}

/* The database as messages may name it: no password of a URI
 * ("scheme://user:PASSWORD@host", "password=..."). */
static char *dm_store_redact(const char *database)
{
    GString *o = g_string_new(database);
    const char *scheme = strstr(o->str, "://");
    char *p;

    if (scheme != NULL) {
        size_t start = (size_t)(scheme - o->str) + 3;
        char *at = strchr(o->str + start, '@');
        char *colon = strchr(o->str + start, ':');
        char *slash = strchr(o->str + start, '/');

        if (at != NULL && colon != NULL && colon < at && (slash == NULL || at < slash)) {
            size_t c = (size_t)(colon - o->str) + 1;

            g_string_erase(o, (gssize)c, at - colon - 1);
            g_string_insert(o, (gssize)c, "***");
        }
    }
    while ((p = strstr(o->str, "password=")) != NULL && strncmp(p + 9, "***", 3) != 0) {
        size_t from = (size_t)(p - o->str) + 9, to = from;

        while (o->str[to] != '\0' && o->str[to] != '&' && o->str[to] != ' ')
            to++;
        g_string_erase(o, (gssize)from, (gssize)(to - from));
        g_string_insert(o, (gssize)from, "***");
    }
    return g_string_free(o, FALSE);
}

static dm_store *dm_store_open_as(const char *database, const dm_store_options *opt,
                                  const char *key, size_t keylen, bool for_upgrade,
                                  GError **err)
{
    const dm_store_ops *ops = dm_store_backend(database);
    dm_store *s;

    if (ops == NULL) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: no backend keeps such a database", database);
        return NULL;
    }
    s = g_new0(dm_store, 1);
    s->ops = ops;
    s->name = dm_store_redact(database);
    if (opt != NULL)
        s->opt = *opt;
    s->opt.gateway = g_strdup(opt != NULL && opt->gateway != NULL && *opt->gateway != '\0'
                                  ? opt->gateway
                                  : NULL);
    if (s->opt.connect_timeout <= 0)
        s->opt.connect_timeout = 5;
    if (s->opt.timeout <= 0)
        s->opt.timeout = 10;
    if (s->opt.pool_size == 0)
        s->opt.pool_size = 4;
    s->for_upgrade = for_upgrade;
    s->owed_epoch = -1;
    g_mutex_init(&s->lock);
    g_mutex_init(&s->qlock);
    g_cond_init(&s->qcond);
    s->queue = g_ptr_array_new();
    if (key != NULL) {
        s->key = g_memdup2(key, keylen);
        s->keylen = keylen;
    }
    if (!ops->open(s, database, err)) {
        dm_store_close(s);
        return NULL;
    }
    return s;
}

dm_store *dm_store_open_with(const char *database, const dm_store_options *opt,
                             const char *key, size_t keylen, GError **err)
{
    return dm_store_open_as(database, opt, key, keylen, false, err);
}

dm_store *dm_store_open(const char *database, const char *key, size_t keylen, GError **err)
{
    return dm_store_open_as(database, NULL, key, keylen, false, err);
}

dm_store *dm_store_open_conf(const dm_conf *conf, const char *key, size_t keylen,
                             GError **err)
{
    dm_store_options opt = {.gateway = dm_conf_gateway_id(conf),
                            .connect_timeout = conf->store_connect_timeout,
                            .timeout = conf->store_timeout,
                            .pool_size = (unsigned)conf->store_pool_size};

    return dm_store_open_as(conf->database, &opt, key, keylen, false, err);
}

dm_store *dm_store_open_for_upgrade(const char *database, const dm_store_options *opt,
                                    GError **err)
{
    return dm_store_open_as(database, opt, NULL, 0, true, err);
}

bool dm_store_error_unavailable(const GError *err)
{
    return err != NULL && err->domain == DM_STORE_ERROR && err->code == DM_STORE_UNAVAILABLE;
}

bool dm_store_error_in_doubt(const GError *err)
{
    return err != NULL && err->domain == DM_STORE_ERROR && err->code == DM_STORE_IN_DOUBT;
}

const char *dm_store_backend_name(const dm_store *s)
{
    return s->ops->name;
}

bool dm_store_schema_version(dm_store *s, int *version, GError **err)
{
    *version = 0;
    return s->ops->schema_version(s, version, err);
}

bool dm_store_upgrade(dm_store *s, int *from, GError **err)
{
    *from = 0;
    return s->ops->upgrade(s, from, err);
}

bool dm_store_backup(dm_store *s, const char *path, GError **err)
{
    if (s->ops->backup == NULL) {
        g_set_error(err, DM_STORE_ERROR, 0,
                    "%s: a %s database is backed up with its own tools (pg_dump), not here",
                    s->name, s->ops->name);
        return false;
    }
    return s->ops->backup(s, path, err);
}

void dm_store_close(dm_store *s)
{
    if (s == NULL)
        return;
    if (s->be != NULL)
        s->ops->close(s);
    if (s->key != NULL) {
        memset(s->key, 0, s->keylen);
        g_free(s->key);
    }
    g_mutex_clear(&s->lock);
    g_mutex_clear(&s->qlock);
    g_cond_clear(&s->qcond);
    if (s->queue != NULL)
        g_ptr_array_free(s->queue, TRUE);
    g_free((char *)s->opt.gateway);
    g_free(s->name);
    g_free(s);
}

bool dm_store_migrate(dm_store *from, dm_store *to, GError **err)
{
    if (to->ops->import == NULL) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: a %s database cannot be a migration's "
                    "destination (only PostgreSQL is)", to->name, to->ops->name);
        return false;
    }
    return to->ops->import(to, from, err);
}

int64_t dm_store_owed_epoch(dm_store *s)
{
    int64_t epoch;

    g_mutex_lock(&s->lock);
    if (s->owed_epoch < 0)
        s->owed_epoch = s->ops->owed_epoch(s);
    epoch = s->owed_epoch;
    g_mutex_unlock(&s->lock);
    return epoch;
}

/* --- counters and claims ---------------------------------------------------- */

bool dm_store_mass_count(dm_store *s, const char *sender, char *const *rcpts, size_t n,
                         int64_t since, unsigned *count, GError **err)
{
    char skey[65];
    char **rkeys = g_new0(char *, n + 1);
    bool ok;

    dm_store_counter_hash(s, "mass-sender", sender, skey);
    for (size_t i = 0; i < n; i++) {
        rkeys[i] = g_malloc(65);
        dm_store_counter_hash(s, "mass-rcpt", rcpts[i], rkeys[i]);
    }
    *count = 0;
    ok = s->ops->mass_count(s, skey, rkeys, n, since, count, err);
    g_strfreev(rkeys);
    return ok;
}

bool dm_store_autoreply_get(dm_store *s, const char *person, int64_t *first, int64_t *last,
                            GError **err)
{
    *first = *last = 0;
    return s->ops->autoreply_get(s, person, first, last, err);
}

void dm_autoreply_row_free(dm_autoreply_row *r)
{
    if (r == NULL)
        return;
    g_free(r->person);
    g_free(r);
}

static bool dm_store_autoreply_collect(const dm_autoreply_row *r, void *data)
{
    dm_autoreply_row *copy = g_new0(dm_autoreply_row, 1);

    *copy = *r;
    copy->person = g_strdup(r->person);
    g_ptr_array_add(data, copy);
    return true;
}

GPtrArray *dm_store_autoreply_list(dm_store *s, int64_t since, GError **err)
{
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)dm_autoreply_row_free);

    if (!s->ops->autoreply_each(s, since, dm_store_autoreply_collect, rows, err)) {
        g_ptr_array_free(rows, TRUE);
        return NULL;
    }
    return rows;
}

bool dm_store_once_seen(dm_store *s, const char *key, bool *seen, GError **err)
{
    *seen = false;
    return s->ops->once_seen(s, key, seen, err);
}

bool dm_store_owed_find(dm_store *s, const char *key, int64_t since, char **id, GError **err)
{
    *id = NULL;
    return s->ops->owed_find(s, key, since, id, err);
}
