/*
 * Internals shared by the ldap/ files; not for other modules.
 */
#ifndef DM_LDAP_INT_H
#define DM_LDAP_INT_H

#include <ldap.h>
#include <stdatomic.h>

#include "dm_ldap.h"

/* --- connection pool (dm_ldap_pool.c) --- */

typedef struct dm_ldap_conn {
    LDAP *ld;
    char *server; /* URI it is connected to, for logs */
    int server_index; /* its index in dm_ldap.uri */
    bool fresh;   /* connected for the operation under way: no retry */
} dm_ldap_conn;

typedef struct dm_ldap_pool {
    GMutex lock;
    GCond cond;
    dm_ldap_conn *conns;
    int size;
    GQueue idle; /* dm_ldap_conn * */
} dm_ldap_pool;

/* --- cache (dm_ldap_cache.c) --- */

typedef struct dm_ldap_cache {
    GMutex lock;
    GHashTable *items; /* key -> dm_ldap_cache_item *, the item owns the key */
    GQueue lru;        /* of the items' links: least recently used first */
    unsigned max;
} dm_ldap_cache;

struct dm_ldap {
    dm_conf *conf;
    char **uri;               /* each server, in the configured order */
    int n_uri;
    _Atomic int64_t *down_until; /* per server: skip it until then (monotonic s) */
    _Atomic int64_t *hung_until; /* per server: it did not answer in time; not
                                  * asked at all until then (monotonic us),
                                  * then by one lookup at a time */
    char *uris;               /* all of them, space separated, for messages */
    char *password;           /* NULL: anonymous */
    dm_ldap_pool pool;
    dm_ldap_cache cache;
    dm_registrars *registrars;
    int64_t registrars_expire;
    GMutex registrars_lock;
    /* statistics */
    _Atomic uint64_t st_hits, st_misses, st_errors, st_neg_hits, st_searches,
        st_reconnects;
};

void dm_ldap_pool_init(dm_ldap_pool *p, int size);
void dm_ldap_pool_clear(dm_ldap_pool *p);
/* A connection, waiting at most [ldap] timeout for one to be free; NULL
 * with err set at that bound (the caller answers 451). */
dm_ldap_conn *dm_ldap_pool_get(dm_ldap *l, GError **err);
void dm_ldap_pool_put(dm_ldap *l, dm_ldap_conn *c);
/* Make sure c is connected and bound, trying each server in turn; false
 * with err set (naming every server tried and why) when none answers. */
bool dm_ldap_conn_ready(dm_ldap *l, dm_ldap_conn *c, GError **err);
/* Forget a connection that failed, so the next use reconnects. */
void dm_ldap_conn_drop(dm_ldap_conn *c);
/* Is rc a failure of the connection (worth one reconnect and retry)? */
bool dm_ldap_rc_is_connection(int rc);

/* One search on c (taken from the pool), reconnecting once when a
 * connection that served earlier operations turns out broken (allow_retry).
 * *res is the result chain (ldap_msgfree it) on success; a base that does
 * not exist is a success with no entries only when missing_ok, else an
 * error.  *rctrls, when not NULL, gets the response controls. */
bool dm_ldap_search_on(dm_ldap *l, dm_ldap_conn *c, const char *base, int scope,
                       const char *filter, char **attrs, int sizelimit, LDAPControl **sctrls,
                       bool allow_retry, bool missing_ok, LDAPMessage **res, GError **err);
/* The result code of a search that ldap_search_ext_s answered rc with
 * the chain res after elapsed_us: a "success" without the final search
 * message is no answer (LDAP_TIMEOUT past timeout_s, else
 * LDAP_SERVER_DOWN), and the final message's own code counts. */
int dm_ldap_search_outcome(LDAP *ld, int rc, LDAPMessage *res, int64_t elapsed_us,
                           int64_t timeout_s);
/* The same with a connection from the pool.  On success *conn is the
 * connection (read res with (*conn)->ld, then dm_ldap_pool_put it). */
bool dm_ldap_search(dm_ldap *l, const char *base, int scope, const char *filter,
                    char **attrs, int sizelimit, bool missing_ok, LDAPMessage **res,
                    dm_ldap_conn **conn, GError **err);

void dm_ldap_cache_init(dm_ldap_cache *c, unsigned max);
void dm_ldap_cache_clear_all(dm_ldap_cache *c);
void dm_ldap_cache_destroy(dm_ldap_cache *c);
/* true on a hit; *entry is a new reference, or NULL for a negative hit. */
bool dm_ldap_cache_get(dm_ldap_cache *c, const char *key, dm_entry **entry);
void dm_ldap_cache_put(dm_ldap_cache *c, const char *key, dm_entry *entry, int64_t ttl);
unsigned dm_ldap_cache_size(dm_ldap_cache *c);

int64_t dm_ldap_now(void); /* monotonic seconds */

/* --- what an entry says (dm_ldap_entry.c) --- */

/* Values of attr as a new NULL-terminated vector (NULL when none); the
 * first one (new string or NULL); lower: lowercased. */
char **dm_ldap_values(LDAP *ld, LDAPMessage *e, const char *attr, bool lower);
char *dm_ldap_value(LDAP *ld, LDAPMessage *e, const char *attr, bool lower);
/* A list in one or several values (diarieMyndighet, diarieRole; split
 * at commas and semicolons), upper: uppercased; NULL when none. */
char **dm_ldap_list_values(LDAP *ld, LDAPMessage *e, const char *attr, bool upper);
/* The first value of attr as an address (without an "smtp:" prefix). */
char *dm_ldap_address(LDAP *ld, LDAPMessage *e, const char *attr);
/* The attributes to ask for (NULL-terminated, g_strfreev): those of an
 * entry, and with records the extra ones diariectl's records show. */
char **dm_ldap_attrs(const dm_conf *c, bool records);
/* The entry msg is (delegate and manager not yet resolved). */
dm_entry *dm_ldap_parse_entry(dm_ldap *l, LDAP *ld, LDAPMessage *msg);

#define DM_LDAP_ERROR_DOMAIN (dm_ldap_error_quark())
GQuark dm_ldap_error_quark(void);

#endif
