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

/* Counters since dm_ldap_new.  Every address or login lookup is exactly
 * one of: a hit (answered from the cache, negative_hits of them "not in
 * the directory"), or a miss (asked a server).  errors counts the lookups
 * (misses, and registrator refreshes) that failed. */
typedef struct dm_ldap_stats {
    uint64_t hits, misses, errors, negative_hits;
    uint64_t searches;   /* search operations sent to a server */
    uint64_t reconnects; /* connections made (the first ones included) */
    unsigned cached;     /* answers in the cache now */
} dm_ldap_stats;

/* Checks the [ldap] settings (URIs, filters, bind) and reads the bind
 * password file now (before privileges are dropped); does not connect:
 * the first lookup does. */
dm_ldap *dm_ldap_new(const dm_conf *conf, GError **err);
/* The same checks of [ldap] alone, without reading any file (for
 * "diariemilter -n"). */
bool dm_ldap_conf_check(const dm_conf *conf, GError **err);
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

/* What an administrator's tool needs beyond a lookup: an entry as the
 * rules see it (delegate and manager mail and comm-unit membership NOT
 * resolved), plus the raw values the checks read. */
typedef struct dm_ldap_record {
    dm_entry *entry;   /* owned reference */
    char *given_name;  /* attr_given_name, NULL when absent */
    char *surname;     /* attr_surname, NULL when absent */
    char **watchers;   /* attr_watchers values (DNs), NULL when none */
    char **members;    /* attr_member values (DNs), NULL when none */
} dm_ldap_record;

void dm_ldap_record_free(dm_ldap_record *r);

/* Called for each entry; takes ownership of r.  Return false to stop. */
typedef bool (*dm_ldap_walk_fn)(dm_ldap_record *r, void *data);

/* Every entry under [ldap] base that matches filter_entries, read with the
 * paged-results control (so Active Directory's page limit does not cut the
 * walk short).  DM_LDAP_FOUND when the walk completed (or fn stopped it);
 * a server size limit that cuts it short is DM_LDAP_ERROR, never a
 * shorter walk. */
dm_ldap_status dm_ldap_walk(dm_ldap *l, dm_ldap_walk_fn fn, void *data, GError **err);
/* The entry at dn, read like a walked one; not cached. */
dm_ldap_status dm_ldap_read_dn(dm_ldap *l, const char *dn, dm_ldap_record **out, GError **err);

/* The configured servers, space separated, for messages. */
const char *dm_ldap_servers(const dm_ldap *l);

/* Are two DNs the same entry (ignoring case and the spacing around
 * separators)? */
bool dm_ldap_dn_equal(const char *a, const char *b);
/* A DN in a canonical form for hash keys (what dm_ldap_dn_equal compares). */
char *dm_ldap_dn_key(const char *dn);

void dm_ldap_get_stats(dm_ldap *l, dm_ldap_stats *s);
/* Did a lookup fail on a bound rather than an outage: no pool connection
 * free within [ldap] timeout, or a server that said it is busy? */
bool dm_ldap_error_is_busy(const GError *err);
/* Forget everything cached (diariectl, tests, reload). */
void dm_ldap_cache_clear(dm_ldap *l);

/* RFC 4515 escaping of a value for use inside a filter: new string. */
char *dm_ldap_escape_filter_value(const char *value);
/* Replace every %s in pattern with the escaped value: new string. */
char *dm_ldap_filter_format(const char *pattern, const char *value);

#endif
