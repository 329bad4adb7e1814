/*
 * The lookup cache: answers, positive and negative, for a time, at most
 * cache_size of them.  When full, the least recently used answer goes.
 * Every operation holds the cache's lock; entries handed out are new
 * references, so a caller may keep one after it has been evicted.
 */
#include "dm_ldap_int.h"

typedef struct {
    GList link;      /* in the cache's lru queue; data points to the item */
    char *key;
    dm_entry *entry; /* NULL: "not in the directory" */
    int64_t expires;
} dm_ldap_cache_item;

/* Unlink and free an item (the hash table does not own it). */
static void dm_ldap_cache_remove(dm_ldap_cache *c, dm_ldap_cache_item *it)
{
    g_hash_table_remove(c->items, it->key);
    g_queue_unlink(&c->lru, &it->link);
    dm_entry_unref(it->entry);
    g_free(it->key);
    g_free(it);
}

void dm_ldap_cache_init(dm_ldap_cache *c, unsigned max)
{
    g_mutex_init(&c->lock);
    c->items = g_hash_table_new(g_str_hash, g_str_equal);
    g_queue_init(&c->lru);
    c->max = max;
}

static void dm_ldap_cache_remove_all(dm_ldap_cache *c)
{
    while (c->lru.head != NULL)
        dm_ldap_cache_remove(c, c->lru.head->data);
}

void dm_ldap_cache_clear_all(dm_ldap_cache *c)
{
    g_mutex_lock(&c->lock);
    dm_ldap_cache_remove_all(c);
    g_mutex_unlock(&c->lock);
}

void dm_ldap_cache_destroy(dm_ldap_cache *c)
{
    dm_ldap_cache_remove_all(c);
    g_hash_table_destroy(c->items);
    g_mutex_clear(&c->lock);
}

bool dm_ldap_cache_get(dm_ldap_cache *c, const char *key, dm_entry **entry)
{
    dm_ldap_cache_item *it;
    bool hit = false;

    *entry = NULL;
    g_mutex_lock(&c->lock);
    it = g_hash_table_lookup(c->items, key);
    if (it != NULL) {
        if (it->expires > dm_ldap_now()) {
            *entry = dm_entry_ref(it->entry);
            /* Most recently used: to the tail. */
            g_queue_unlink(&c->lru, &it->link);
            g_queue_push_tail_link(&c->lru, &it->link);
            hit = true;
        } else {
            dm_ldap_cache_remove(c, it);
        }
    }
    g_mutex_unlock(&c->lock);
    return hit;
}

void dm_ldap_cache_put(dm_ldap_cache *c, const char *key, dm_entry *entry, int64_t ttl)
{
    dm_ldap_cache_item *it, *old;

    if (c->max == 0 || ttl <= 0)
        return;
    it = g_new0(dm_ldap_cache_item, 1);
    it->link.data = it;
    it->key = g_strdup(key);
    it->entry = dm_entry_ref(entry);
    it->expires = dm_ldap_now() + ttl;
    g_mutex_lock(&c->lock);
    old = g_hash_table_lookup(c->items, key);
    if (old != NULL)
        dm_ldap_cache_remove(c, old);
    while (g_hash_table_size(c->items) >= c->max && c->lru.head != NULL)
        dm_ldap_cache_remove(c, c->lru.head->data);
    g_hash_table_insert(c->items, it->key, it);
    g_queue_push_tail_link(&c->lru, &it->link);
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
