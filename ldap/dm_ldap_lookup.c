/*
 * Lookups: an address or a login to a dm_entry, with its delegate's and
 * manager's addresses and its membership of the communications unit
 * resolved, so the rules need nothing more from the directory; and the
 * registrators.
 */
#include <stdio.h>
#include <string.h>

#include "dm_ldap_int.h"
#include "dm_log.h"
#include "dm_metrics.h"
#include "dm_util.h"

/* The mail address of the entry at dn (a delegate, a manager). */
static dm_ldap_status dm_ldap_mail_of_dn(dm_ldap *l, const char *dn, char **mail, GError **err)
{
    char *key = g_strconcat("dn:", dn, NULL);
    dm_entry *e = NULL;
    LDAPMessage *res = NULL;
    dm_ldap_conn *c = NULL;
    char *attrs[] = {l->conf->attr_mail, NULL};
    dm_ldap_status st = DM_LDAP_NOT_FOUND;

    *mail = NULL;
    if (dm_ldap_cache_get(&l->cache, key, &e)) {
        if (e != NULL) {
            *mail = g_strdup(e->mail);
            dm_entry_unref(e);
        }
        g_free(key);
        return *mail != NULL ? DM_LDAP_FOUND : DM_LDAP_NOT_FOUND;
    }
    /* A delegate or manager who left the directory is "not found". */
    if (!dm_ldap_search(l, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, true, &res, &c,
                        err)) {
        g_free(key);
        return DM_LDAP_ERROR;
    }
    {
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        if (m != NULL) {
            e = dm_entry_new();
            e->dn = g_strdup(dn);
            e->mail = dm_ldap_address(c->ld, m, l->conf->attr_mail);
            if (e->mail != NULL) {
                *mail = g_strdup(e->mail);
                st = DM_LDAP_FOUND;
            }
        }
    }
    ldap_msgfree(res);
    dm_ldap_pool_put(l, c);
    if (st != DM_LDAP_FOUND)
        dm_log(DM_LOG_WARNING, "ldap: %s %s", dn,
               e == NULL ? "does not exist" : "has no mail address");
    dm_ldap_cache_put(&l->cache, key, e,
                      e != NULL ? l->conf->ldap_cache_ttl : l->conf->ldap_negative_ttl);
    dm_entry_unref(e);
    g_free(key);
    return st;
}

/* Is the entry a member of the communications-unit group? */
static dm_ldap_status dm_ldap_comm_member(dm_ldap *l, dm_entry *e, char **member_of,
                                          GError **err)
{
    const dm_conf *c = l->conf;
    const char *group = c->comm_group;
    char *filter, *esc;
    LDAPMessage *res = NULL;
    dm_ldap_conn *conn = NULL;
    char *attrs[] = {"1.1", NULL};
    const char *base;

    e->comm_member = false;
    if (group == NULL || *group == '\0')
        return DM_LDAP_FOUND;
    if (c->ldap_group_membership == DM_GROUPS_MEMBEROF && !c->ldap_nested_groups) {
        /* The entry lists its groups (read with it). */
        for (char **m = member_of; m != NULL && *m != NULL; m++) {
            if (dm_ldap_dn_equal(*m, group))
                e->comm_member = true;
        }
        return DM_LDAP_FOUND;
    }
    esc = dm_ldap_escape_filter_value(c->ldap_group_membership == DM_GROUPS_MEMBEROF ? group
                                                                                      : e->dn);
    if (esc == NULL) {
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_FILTER_ERROR, "cannot escape a DN");
        return DM_LDAP_ERROR;
    }
    if (c->ldap_group_membership == DM_GROUPS_MEMBEROF) {
        /* Active Directory: LDAP_MATCHING_RULE_IN_CHAIN follows nesting;
         * the entry itself matches when it is in the group's closure. */
        filter = g_strdup_printf("(%s:1.2.840.113556.1.4.1941:=%s)", c->attr_member_of, esc);
        base = e->dn;
    } else {
        /* The group lists its members: does it list this entry? */
        filter = g_strdup_printf("(%s=%s)", c->attr_member, esc);
        base = group;
    }
    g_free(esc);
    if (!dm_ldap_search(l, base, LDAP_SCOPE_BASE, filter, attrs, 1, true, &res, &conn, err)) {
        g_free(filter);
        return DM_LDAP_ERROR;
    }
    e->comm_member = ldap_count_entries(conn->ld, res) > 0;
    if (!e->comm_member && res != NULL) {
        int rc = LDAP_SUCCESS;

        ldap_parse_result(conn->ld, res, &rc, NULL, NULL, NULL, NULL, 0);
        if (rc == LDAP_NO_SUCH_OBJECT)
            dm_log(DM_LOG_WARNING, "ldap: %s does not exist (%s)", base,
                   base == group ? "[site] communications_group" : "member");
    }
    ldap_msgfree(res);
    dm_ldap_pool_put(l, conn);
    g_free(filter);
    return DM_LDAP_FOUND;
}

/* Search with filter pattern fpat for value; resolve and cache. */
static dm_ldap_status dm_ldap_lookup(dm_ldap *l, const char *kind, const char *fpat,
                                     const char *value, dm_entry **out, GError **err)
{
    char *key = g_strconcat(kind, ":", value, NULL);
    char *filter = NULL;
    char **attrs = NULL;
    char **member_of = NULL;
    LDAPMessage *res = NULL;
    dm_ldap_conn *c = NULL;
    dm_entry *e = NULL;
    dm_ldap_status st;
    GError *lerr = NULL;
    int n;

    *out = NULL;
    if (value == NULL || *value == '\0') {
        g_free(key);
        return DM_LDAP_NOT_FOUND;
    }
    dm_metrics_inc(DM_MC_DIR_LOOKUPS);
    if (dm_ldap_cache_get(&l->cache, key, &e)) {
        /* A negative answer from the cache is a hit too. */
        atomic_fetch_add(&l->st_hits, 1);
        dm_metrics_inc(DM_MC_DIR_CACHE_HITS);
        g_free(key);
        if (e == NULL) {
            atomic_fetch_add(&l->st_neg_hits, 1);
            return DM_LDAP_NOT_FOUND;
        }
        *out = e;
        return DM_LDAP_FOUND;
    }
    atomic_fetch_add(&l->st_misses, 1);
    filter = dm_ldap_filter_format(fpat, value);
    if (filter == NULL) {
        g_set_error(&lerr, DM_LDAP_ERROR_DOMAIN, LDAP_FILTER_ERROR,
                    "cannot build a filter for the %s", kind);
        st = DM_LDAP_ERROR;
        goto out;
    }
    attrs = dm_ldap_attrs(l->conf, false);
    /* Two entries are enough to notice an ambiguity. */
    if (!dm_ldap_search(l, l->conf->ldap_base, LDAP_SCOPE_SUBTREE, filter, attrs, 2, false,
                        &res, &c, &lerr)) {
        st = DM_LDAP_ERROR;
        goto out;
    }
    n = ldap_count_entries(c->ld, res);
    if (n <= 0) {
        ldap_msgfree(res);
        dm_ldap_pool_put(l, c);
        dm_ldap_cache_put(&l->cache, key, NULL, l->conf->ldap_negative_ttl);
        st = DM_LDAP_NOT_FOUND;
        goto out;
    }
    /* Neither the filter nor the value: the address may be a private
     * one, or belong to private mail.  "diariectl directory check" names
     * the addresses that several entries hold. */
    if (n > 1)
        dm_log(DM_LOG_WARNING, "ldap: an %s lookup matched more than one entry; the first "
                               "is used (\"diariectl directory check\" lists them)",
               kind);
    {
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        e = dm_ldap_parse_entry(l, c->ld, m);
        if (l->conf->ldap_group_membership == DM_GROUPS_MEMBEROF)
            member_of = dm_ldap_values(c->ld, m, l->conf->attr_member_of, false);
    }
    ldap_msgfree(res);
    dm_ldap_pool_put(l, c);

    if ((e->delegate_dn != NULL &&
         dm_ldap_mail_of_dn(l, e->delegate_dn, &e->delegate_mail, &lerr) == DM_LDAP_ERROR) ||
        (e->manager_dn != NULL &&
         dm_ldap_mail_of_dn(l, e->manager_dn, &e->manager_mail, &lerr) == DM_LDAP_ERROR) ||
        dm_ldap_comm_member(l, e, member_of, &lerr) == DM_LDAP_ERROR) {
        dm_entry_unref(e);
        e = NULL;
        st = DM_LDAP_ERROR;
        goto out;
    }
    dm_ldap_cache_put(&l->cache, key, e, l->conf->ldap_cache_ttl);
    *out = e;
    st = DM_LDAP_FOUND;
out:
    if (st == DM_LDAP_ERROR) {
        atomic_fetch_add(&l->st_errors, 1);
        dm_metrics_inc(DM_MC_DIR_ERRORS);
        /* Once per failed lookup, naming the server(s) and the reason; the
         * value looked up stays out of the log. */
        dm_log(DM_LOG_WARNING, "ldap: %s lookup failed: %s", kind, lerr->message);
        g_propagate_error(err, lerr);
    }
    g_strfreev(member_of);
    g_strfreev(attrs);
    g_free(filter);
    g_free(key);
    return st;
}

dm_ldap_status dm_ldap_lookup_address(dm_ldap *l, const char *addr, dm_entry **out,
                                      GError **err)
{
    return dm_ldap_lookup(l, "address", l->conf->ldap_filter_address, addr, out, err);
}

dm_ldap_status dm_ldap_lookup_login(dm_ldap *l, const char *login, dm_entry **out,
                                    GError **err)
{
    return dm_ldap_lookup(l, "login", l->conf->ldap_filter_login, login, out, err);
}

dm_ldap_status dm_ldap_registrars(dm_ldap *l, dm_registrars **out, GError **err)
{
    LDAPMessage *res = NULL;
    dm_ldap_conn *c = NULL;
    char *attrs[] = {l->conf->attr_mail, l->conf->attr_myndighet, NULL};
    dm_registrars *r;
    int64_t now = dm_ldap_now();
    GError *lerr = NULL;

    *out = NULL;
    g_mutex_lock(&l->registrars_lock);
    if (l->registrars != NULL && l->registrars_expire > now) {
        *out = dm_registrars_ref(l->registrars);
        g_mutex_unlock(&l->registrars_lock);
        return DM_LDAP_FOUND;
    }
    g_mutex_unlock(&l->registrars_lock);

    if (!dm_ldap_search(l, l->conf->ldap_base, LDAP_SCOPE_SUBTREE,
                        l->conf->ldap_filter_registrators, attrs, 0, false, &res, &c, &lerr)) {
        atomic_fetch_add(&l->st_errors, 1);
        dm_metrics_inc(DM_MC_DIR_ERRORS);
        dm_log(DM_LOG_WARNING, "ldap: registrator lookup failed: %s", lerr->message);
        g_propagate_error(err, lerr);
        return DM_LDAP_ERROR;
    }
    r = dm_registrars_new();
    for (LDAPMessage *m = ldap_first_entry(c->ld, res); m != NULL;
         m = ldap_next_entry(c->ld, m)) {
        char *mail = dm_ldap_address(c->ld, m, l->conf->attr_mail);
        char **myn = dm_ldap_list_values(c->ld, m, l->conf->attr_myndighet, true);

        if (mail != NULL && myn != NULL)
            dm_registrars_add(r, mail, myn);
        g_free(mail);
        g_strfreev(myn);
    }
    ldap_msgfree(res);
    dm_ldap_pool_put(l, c);

    g_mutex_lock(&l->registrars_lock);
    dm_registrars_unref(l->registrars);
    l->registrars = dm_registrars_ref(r);
    l->registrars_expire = now + l->conf->ldap_cache_ttl;
    g_mutex_unlock(&l->registrars_lock);
    *out = r;
    return DM_LDAP_FOUND;
}
