/*
 * dm_ldap: who is this address, this login?  Directory lookups with
 * libldap: a pool of connections shared by the milter's threads, failover
 * across the configured URIs, StartTLS or ldaps://, timeouts, and a
 * bounded cache of positive and negative answers.
 *
 * A lookup either answers (found, or not found) or fails; a failure is
 * never turned into "not found", so the caller can apply the configured
 * on_directory_error action instead of guessing.
 */
#ifndef DM_LDAP_H
#define DM_LDAP_H

#include <glib.h>
#include <stdint.h>

#include "dm_conf.h"
#include "dm_facts.h"

typedef struct dm_ldap dm_ldap;

typedef enum {
    DM_LDAP_FOUND,
    DM_LDAP_NOT_FOUND,
    DM_LDAP_ERROR,
} dm_ldap_status;

typedef struct dm_ldap_stats {
    uint64_t hits, misses, errors, negative_hits;
    uint64_t searches; /* round trips to a server */
    uint64_t reconnects;
    unsigned cached;   /* entries in the cache now */
} dm_ldap_stats;

/* Reads the bind password file now (before privileges are dropped); does
 * not connect: the first lookup does. */
dm_ldap *dm_ldap_new(const dm_conf *conf, GError **err);
void dm_ldap_free(dm_ldap *l);

/* The entry whose mail or private address is addr (normalized).  *out is
 * a new reference on DM_LDAP_FOUND. */
dm_ldap_status dm_ldap_lookup_address(dm_ldap *l, const char *addr, dm_entry **out,
                                      GError **err);
/* The entry of a SASL login. */
dm_ldap_status dm_ldap_lookup_login(dm_ldap *l, const char *login, dm_entry **out,
                                    GError **err);
/* Every registrator mailbox and its myndigheter (cached like entries). */
dm_ldap_status dm_ldap_registrars(dm_ldap *l, dm_registrars **out, GError **err);

void dm_ldap_get_stats(dm_ldap *l, dm_ldap_stats *s);
/* Forget everything cached (diariectl, tests, reload). */
void dm_ldap_cache_clear(dm_ldap *l);

/* RFC 4515 escaping of a value for use inside a filter: new string. */
char *dm_ldap_escape_filter_value(const char *value);
/* Replace every %s in pattern with the escaped value: new string. */
char *dm_ldap_filter_format(const char *pattern, const char *value);

#endif
