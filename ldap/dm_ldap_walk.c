/*
 * Whole-directory reads, for diariectl: every entry in turn
 * (dm_ldap_walk) and one by its DN (dm_ldap_read_dn), as records.
 */
#include <stdio.h>
#include <string.h>

#include "dm_ldap_int.h"
#include "dm_log.h"
#include "dm_util.h"

void dm_ldap_record_free(dm_ldap_record *r)
{
    if (r == NULL)
        return;
    dm_entry_unref(r->entry);
    g_free(r->given_name);
    g_free(r->surname);
    g_strfreev(r->watchers);
    g_strfreev(r->members);
    g_free(r);
}

static dm_ldap_record *dm_ldap_parse_record(dm_ldap *l, LDAP *ld, LDAPMessage *m)
{
    const dm_conf *c = l->conf;
    dm_ldap_record *r = g_new0(dm_ldap_record, 1);
    char **member_of = NULL;

    r->entry = dm_ldap_parse_entry(l, ld, m);
    r->given_name = dm_ldap_value(ld, m, c->attr_given_name, false);
    r->surname = dm_ldap_value(ld, m, c->attr_surname, false);
    r->watchers = dm_ldap_values(ld, m, c->attr_watchers, false);
    r->members = dm_ldap_values(ld, m, c->attr_member, false);
    /* Membership by memberOf can be read here; by member it would cost a
     * search per entry, which a walk does not need. */
    if (c->ldap_group_membership == DM_GROUPS_MEMBEROF && !c->ldap_nested_groups &&
        c->comm_group != NULL && *c->comm_group != '\0') {
        member_of = dm_ldap_values(ld, m, c->attr_member_of, false);
        for (char **g = member_of; g != NULL && *g != NULL; g++) {
            if (dm_ldap_dn_equal(*g, c->comm_group))
                r->entry->comm_member = true;
        }
        g_strfreev(member_of);
    }
    return r;
}

#define DM_LDAP_PAGE_SIZE 500

dm_ldap_status dm_ldap_walk(dm_ldap *l, dm_ldap_walk_fn fn, void *data, GError **err)
{
    dm_ldap_conn *c = dm_ldap_pool_get(l, err);
    char **attrs;
    struct berval cookie = {0};
    dm_ldap_status st = DM_LDAP_FOUND;
    bool first = true, more = true;

    if (c == NULL)
        return DM_LDAP_ERROR;
    attrs = dm_ldap_attrs(l->conf, true);
    /* ldap_create_page_control wants a handle: connect first. */
    if (!dm_ldap_conn_ready(l, c, err)) {
        dm_ldap_pool_put(l, c);
        g_strfreev(attrs);
        return DM_LDAP_ERROR;
    }
    while (more) {
        LDAPControl *page = NULL, *sctrls[2] = {NULL, NULL};
        LDAPControl **rctrls = NULL;
        LDAPMessage *res = NULL;
        int rc, prc = LDAP_SUCCESS;
        bool ok;

        more = false;
        rc = ldap_create_page_control(c->ld, DM_LDAP_PAGE_SIZE,
                                      cookie.bv_val != NULL ? &cookie : NULL, 0, &page);
        if (rc != LDAP_SUCCESS) {
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, rc, "paged results control: %s",
                        ldap_err2string(rc));
            st = DM_LDAP_ERROR;
            break;
        }
        sctrls[0] = page;
        /* The paging cookie belongs to the connection: only the first page
         * may reconnect. */
        ok = dm_ldap_search_on(l, c, l->conf->ldap_base, LDAP_SCOPE_SUBTREE,
                               l->conf->ldap_filter_entries, attrs, 0, sctrls, first, false,
                               &res, err);
        ldap_control_free(page);
        if (!ok) {
            st = DM_LDAP_ERROR;
            break;
        }
        first = false;
        for (LDAPMessage *m = ldap_first_entry(c->ld, res); m != NULL && st == DM_LDAP_FOUND;
             m = ldap_next_entry(c->ld, m)) {
            if (!fn(dm_ldap_parse_record(l, c->ld, m), data))
                st = DM_LDAP_NOT_FOUND; /* stopped by the caller */
        }
        rc = ldap_parse_result(c->ld, res, &prc, NULL, NULL, NULL, &rctrls, 0);
        ldap_msgfree(res);
        if (rc == LDAP_SUCCESS && prc == LDAP_SIZELIMIT_EXCEEDED) {
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, prc,
                        "%s: search: %s: the walk was cut short (lift the server's size "
                        "limit for this account)",
                        c->server, ldap_err2string(prc));
            st = DM_LDAP_ERROR;
        }
        if (rctrls != NULL) {
            LDAPControl *resp = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
            ber_int_t estimate = 0;

            if (cookie.bv_val != NULL)
                ber_memfree(cookie.bv_val);
            cookie.bv_val = NULL;
            cookie.bv_len = 0;
            if (resp != NULL &&
                ldap_parse_pageresponse_control(c->ld, resp, &estimate, &cookie) ==
                    LDAP_SUCCESS &&
                cookie.bv_val != NULL && cookie.bv_len > 0)
                more = st == DM_LDAP_FOUND;
            ldap_controls_free(rctrls);
        }
    }
    if (cookie.bv_val != NULL)
        ber_memfree(cookie.bv_val);
    if (st == DM_LDAP_NOT_FOUND)
        st = DM_LDAP_FOUND;
    dm_ldap_pool_put(l, c);
    g_strfreev(attrs);
    return st;
}

dm_ldap_status dm_ldap_read_dn(dm_ldap *l, const char *dn, dm_ldap_record **out, GError **err)
{
    char **attrs = dm_ldap_attrs(l->conf, true);
    LDAPMessage *res = NULL;
    dm_ldap_conn *c = NULL;
    LDAPMessage *m;

    *out = NULL;
    if (!dm_ldap_search(l, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, true, &res, &c,
                        err)) {
        g_strfreev(attrs);
        return DM_LDAP_ERROR;
    }
    m = ldap_first_entry(c->ld, res);
    if (m != NULL)
        *out = dm_ldap_parse_record(l, c->ld, m);
    ldap_msgfree(res);
    dm_ldap_pool_put(l, c);
    g_strfreev(attrs);
    return *out != NULL ? DM_LDAP_FOUND : DM_LDAP_NOT_FOUND;
}
