/*
 * The lookup cache: answers, positive and negative, for a time, at most
 * cache_size of them.  When full, expired answers go first, then the
 * oldest ones.
 */
#include "dm_ldap_int.h"

typedef struct {
    dm_entry *entry; /* NULL: "not in the directory" */
    int64_t expires;
    int64_t stored;
} dm_ldap_cache_item;

static void dm_ldap_cache_item_free(gpointer p)
{
    dm_ldap_cache_item *it = p;

    dm_entry_unref(it->entry);
    g_free(it);
}

void dm_ldap_cache_init(dm_ldap_cache *c, unsigned max)
{
    g_mutex_init(&c->lock);
    c->items = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dm_ldap_cache_item_free);
    c->max = max;
}

void dm_ldap_cache_clear_all(dm_ldap_cache *c)
{
    g_mutex_lock(&c->lock);
    g_hash_table_remove_all(c->items);
    g_mutex_unlock(&c->lock);
}

void dm_ldap_cache_destroy(dm_ldap_cache *c)
{
    g_hash_table_destroy(c->items);
    g_mutex_clear(&c->lock);
}

bool dm_ldap_cache_get(dm_ldap_cache *c, const char *key, dm_entry **entry)
{
    dm_ldap_cache_item *it;
    bool hit = false;

    g_mutex_lock(&c->lock);
    it = g_hash_table_lookup(c->items, key);
    if (it != NULL) {
        if (it->expires > dm_ldap_now()) {
            *entry = dm_entry_ref(it->entry);
            hit = true;
        } else {
            g_hash_table_remove(c->items, key);
        }
    }
    g_mutex_unlock(&c->lock);
    return hit;
}

static gboolean dm_ldap_cache_expired(gpointer key, gpointer value, gpointer now)
{
    const dm_ldap_cache_item *it = value;

    return it->expires <= *(int64_t *)now;
}

/* Make room: drop the expired, then the oldest until a tenth is free. */
static void dm_ldap_cache_evict(dm_ldap_cache *c)
{
    int64_t now = dm_ldap_now();
    unsigned target = c->max - c->max / 10;

    g_hash_table_foreach_remove(c->items, dm_ldap_cache_expired, &now);
    while (g_hash_table_size(c->items) > target && g_hash_table_size(c->items) > 0) {
        GHashTableIter iter;
        gpointer k, v;
        int64_t oldest = INT64_MAX;
        const char *oldest_key = NULL;

        g_hash_table_iter_init(&iter, c->items);
        while (g_hash_table_iter_next(&iter, &k, &v)) {
            const dm_ldap_cache_item *it = v;
            if (it->stored < oldest) {
                oldest = it->stored;
                oldest_key = k;
            }
        }
        /* Everything stored in the oldest second goes at once. */
        g_hash_table_iter_init(&iter, c->items);
        while (g_hash_table_iter_next(&iter, &k, &v)) {
            if (((const dm_ldap_cache_item *)v)->stored <= oldest)
                g_hash_table_iter_remove(&iter);
        }
        (void)oldest_key;
    }
}

void dm_ldap_cache_put(dm_ldap_cache *c, const char *key, dm_entry *entry, int64_t ttl)
{
    dm_ldap_cache_item *it;

    if (c->max == 0 || ttl <= 0)
        return;
    it = g_new0(dm_ldap_cache_item, 1);
    it->entry = dm_entry_ref(entry);
    it->stored = dm_ldap_now();
    it->expires = it->stored + ttl;
    g_mutex_lock(&c->lock);
    if (g_hash_table_size(c->items) >= c->max)
        dm_ldap_cache_evict(c);
    g_hash_table_replace(c->items, g_strdup(key), it);
    g_mutex_unlock(&c->lock);
}

unsigned dm_ldap_cache_size(dm_ldap_cache *c)
{
    unsigned n;

    g_mutex_lock(&c->lock);
    n = g_hash_table_size(c->items);
    g_mutex_unlock(&c->lock);
    return n;
}
