/*
 * Lookups: an address or a login to a dm_entry, with its delegate's and
 * manager's addresses and its membership of the communications unit
 * resolved, so the rules need nothing more from the directory.
 */
#include <string.h>

#include "dm_ldap_int.h"
#include "dm_log.h"
#include "dm_util.h"

char *dm_ldap_escape_filter_value(const char *value)
{
    struct berval in = {.bv_val = (char *)value, .bv_len = strlen(value)};
    struct berval out = {0};
    char *s;

    if (ldap_bv2escaped_filter_value(&in, &out) != 0)
        return NULL;
    s = g_strndup(out.bv_val, out.bv_len);
    ber_memfree(out.bv_val);
    return s;
}

char *dm_ldap_filter_format(const char *pattern, const char *value)
{
    char *esc = dm_ldap_escape_filter_value(value);
    GString *out;

    if (esc == NULL)
        return NULL;
    out = g_string_new(NULL);
    for (const char *p = pattern; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 's') {
            g_string_append(out, esc);
            p++;
        } else {
            g_string_append_c(out, *p);
        }
    }
    g_free(esc);
    return g_string_free(out, FALSE);
}

dm_ldap *dm_ldap_new(const dm_conf *conf, GError **err)
{
    dm_ldap *l = g_new0(dm_ldap, 1);

    l->conf = dm_conf_ref((dm_conf *)conf);
    l->uris = g_strjoinv(" ", conf->ldap_uri);
    if (conf->ldap_bind_password_file != NULL && *conf->ldap_bind_password_file != '\0') {
        char *pw = NULL;

        if (!g_file_get_contents(conf->ldap_bind_password_file, &pw, NULL, err)) {
            g_prefix_error(err, "[ldap] bind_password_file: ");
            dm_conf_unref(l->conf);
            g_free(l->uris);
            g_free(l);
            return NULL;
        }
        /* One line; a trailing newline is not part of the password. */
        pw[strcspn(pw, "\r\n")] = '\0';
        l->password = pw;
    }
    dm_ldap_pool_init(&l->pool, conf->ldap_pool_size);
    dm_ldap_cache_init(&l->cache, (unsigned)conf->ldap_cache_size);
    g_mutex_init(&l->registrars_lock);
    return l;
}

void dm_ldap_free(dm_ldap *l)
{
    if (l == NULL)
        return;
    dm_ldap_pool_clear(&l->pool);
    dm_ldap_cache_destroy(&l->cache);
    dm_registrars_unref(l->registrars);
    g_mutex_clear(&l->registrars_lock);
    if (l->password != NULL) {
        memset(l->password, 0, strlen(l->password));
        g_free(l->password);
    }
    g_free(l->uris);
    dm_conf_unref(l->conf);
    g_free(l);
}

void dm_ldap_get_stats(dm_ldap *l, dm_ldap_stats *s)
{
    s->hits = atomic_load(&l->st_hits);
    s->misses = atomic_load(&l->st_misses);
    s->errors = atomic_load(&l->st_errors);
    s->negative_hits = atomic_load(&l->st_neg_hits);
    s->searches = atomic_load(&l->st_searches);
    s->reconnects = atomic_load(&l->st_reconnects);
    s->cached = dm_ldap_cache_size(&l->cache);
}

void dm_ldap_cache_clear(dm_ldap *l)
{
    dm_ldap_cache_clear_all(&l->cache);
    g_mutex_lock(&l->registrars_lock);
    dm_registrars_unref(l->registrars);
    l->registrars = NULL;
    g_mutex_unlock(&l->registrars_lock);
}

/* Values of attr as a new NULL-terminated vector (NULL when none). */
static char **dm_ldap_values(LDAP *ld, LDAPMessage *e, const char *attr, bool lower)
{
    struct berval **vals = ldap_get_values_len(ld, e, attr);
    GPtrArray *out;
    int n;

    if (vals == NULL)
        return NULL;
    n = ldap_count_values_len(vals);
    out = g_ptr_array_sized_new((guint)n + 1);
    for (int i = 0; i < n; i++) {
        char *v = g_utf8_make_valid(vals[i]->bv_val, (gssize)vals[i]->bv_len);
        if (lower) {
            char *low = g_utf8_strdown(v, -1);
            g_free(v);
            v = low;
        }
        g_ptr_array_add(out, v);
    }
    g_ptr_array_add(out, NULL);
    ldap_value_free_len(vals);
    return (char **)g_ptr_array_free(out, FALSE);
}

static char *dm_ldap_value(LDAP *ld, LDAPMessage *e, const char *attr, bool lower)
{
    char **v = dm_ldap_values(ld, e, attr, lower);
    char *first = NULL;

    if (v != NULL && v[0] != NULL)
        first = g_strdup(v[0]);
    g_strfreev(v);
    return first;
}

static int64_t dm_ldap_time(LDAP *ld, LDAPMessage *e, const char *attr)
{
    char *v = dm_ldap_value(ld, e, attr, false);
    int64_t t = 0;

    if (v != NULL && !dm_time_parse_generalized(v, &t)) {
        dm_log(DM_LOG_WARNING, "ldap: %s: \"%s\" is not a GeneralizedTime; ignored", attr, v);
        t = 0;
    }
    g_free(v);
    return t;
}

/* The attributes to ask for. */
static char **dm_ldap_attrs(const dm_conf *c)
{
    const char *a[] = {c->attr_mail,       c->attr_private_mail, c->attr_routing,
                       c->attr_name,       c->attr_login,        c->attr_role,
                       c->attr_myndighet,  c->attr_fullmakt,     c->attr_absent_from,
                       c->attr_absent_until, c->attr_delegate,   c->attr_manager,
                       c->attr_member_of,  NULL};
    int n = c->ldap_group_membership == DM_GROUPS_MEMBEROF ? 13 : 12;
    char **out = g_new0(char *, (gsize)n + 1);

    for (int i = 0; i < n; i++)
        out[i] = g_strdup(a[i]);
    return out;
}

static dm_entry *dm_ldap_parse_entry(dm_ldap *l, LDAP *ld, LDAPMessage *msg)
{
    const dm_conf *c = l->conf;
    dm_entry *e = dm_entry_new();
    char *dn = ldap_get_dn(ld, msg);
    char **roles, *fullmakt;

    e->dn = g_strdup(dn != NULL ? dn : "");
    if (dn != NULL)
        ldap_memfree(dn);
    e->mail = dm_ldap_value(ld, msg, c->attr_mail, true);
    e->private_mail = dm_ldap_values(ld, msg, c->attr_private_mail, true);
    e->routing = dm_ldap_value(ld, msg, c->attr_routing, true);
    e->name = dm_ldap_value(ld, msg, c->attr_name, false);
    e->login = dm_ldap_value(ld, msg, c->attr_login, false);
    roles = dm_ldap_values(ld, msg, c->attr_role, false);
    for (char **r = roles; r != NULL && *r != NULL; r++)
        e->roles |= dm_role_from_name(*r);
    g_strfreev(roles);
    e->myndigheter = dm_ldap_values(ld, msg, c->attr_myndighet, false);
    if (e->myndigheter != NULL) {
        for (char **m = e->myndigheter; *m != NULL; m++) {
            char *up = g_utf8_strup(*m, -1);
            g_free(*m);
            *m = up;
        }
    }
    fullmakt = dm_ldap_value(ld, msg, c->attr_fullmakt, false);
    e->fullmakt = fullmakt != NULL && g_ascii_strcasecmp(fullmakt, "TRUE") == 0;
    g_free(fullmakt);
    e->absent_from = dm_ldap_time(ld, msg, c->attr_absent_from);
    e->absent_until = dm_ldap_time(ld, msg, c->attr_absent_until);
    e->delegate_dn = dm_ldap_value(ld, msg, c->attr_delegate, false);
    e->manager_dn = dm_ldap_value(ld, msg, c->attr_manager, false);
    if (e->mail == NULL && e->private_mail != NULL && e->private_mail[0] != NULL)
        e->mail = g_strdup(e->private_mail[0]);
    return e;
}

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
    if (!dm_ldap_search(l, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 1, &res, &c, err)) {
        g_free(key);
        return DM_LDAP_ERROR;
    }
    {
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        if (m != NULL) {
            e = dm_entry_new();
            e->dn = g_strdup(dn);
            e->mail = dm_ldap_value(c->ld, m, l->conf->attr_mail, true);
            if (e->mail != NULL) {
                *mail = g_strdup(e->mail);
                st = DM_LDAP_FOUND;
            }
        }
    }
    ldap_msgfree(res);
    dm_ldap_pool_put(l, c);
    dm_ldap_cache_put(&l->cache, key, e,
                      e != NULL ? l->conf->ldap_cache_ttl : l->conf->ldap_negative_ttl);
    dm_entry_unref(e);
    g_free(key);
    return st;
}

/* Is the entry a member of the communications-unit group? */
static dm_ldap_status dm_ldap_comm_member(dm_ldap *l, LDAP *ld_unused, dm_entry *e,
                                          char **member_of, GError **err)
{
    const dm_conf *c = l->conf;
    const char *group = c->comm_group;
    char *filter;
    LDAPMessage *res = NULL;
    dm_ldap_conn *conn = NULL;
    char *attrs[] = {"1.1", NULL};
    const char *base;

    (void)ld_unused;
    e->comm_member = false;
    if (group == NULL || *group == '\0')
        return DM_LDAP_FOUND;
    if (c->ldap_group_membership == DM_GROUPS_MEMBEROF && !c->ldap_nested_groups) {
        for (char **m = member_of; m != NULL && *m != NULL; m++) {
            if (g_ascii_strcasecmp(*m, group) == 0)
                e->comm_member = true;
        }
        return DM_LDAP_FOUND;
    }
    if (c->ldap_group_membership == DM_GROUPS_MEMBEROF) {
        /* Active Directory: LDAP_MATCHING_RULE_IN_CHAIN follows nesting. */
        char *esc = dm_ldap_escape_filter_value(group);
        filter = g_strdup_printf("(%s:1.2.840.113556.1.4.1941:=%s)", c->attr_member_of, esc);
        g_free(esc);
        base = e->dn;
    } else {
        char *esc = dm_ldap_escape_filter_value(e->dn);
        filter = g_strdup_printf("(%s=%s)", c->attr_member, esc);
        g_free(esc);
        base = group;
    }
    if (!dm_ldap_search(l, base, LDAP_SCOPE_BASE, filter, attrs, 1, &res, &conn, err)) {
        g_free(filter);
        return DM_LDAP_ERROR;
    }
    e->comm_member = ldap_count_entries(conn->ld, res) > 0;
    ldap_msgfree(res);
    dm_ldap_pool_put(l, conn);
    g_free(filter);
    return DM_LDAP_FOUND;
}

/* Search with filter pattern fpat for value; resolve and cache. */
static dm_ldap_status dm_ldap_lookup(dm_ldap *l, const char *kind, const char *fpat,
                                     const char *value, dm_entry **out, GError **err)
{
    char *key = g_strconcat(kind, value, NULL);
    char *filter = NULL;
    char **attrs = NULL;
    char **member_of = NULL;
    LDAPMessage *res = NULL;
    dm_ldap_conn *c = NULL;
    dm_entry *e = NULL;
    dm_ldap_status st;
    int n;

    *out = NULL;
    if (value == NULL || *value == '\0') {
        g_free(key);
        return DM_LDAP_NOT_FOUND;
    }
    if (dm_ldap_cache_get(&l->cache, key, &e)) {
        atomic_fetch_add(&l->st_hits, 1);
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
    attrs = dm_ldap_attrs(l->conf);
    if (filter == NULL ||
        !dm_ldap_search(l, l->conf->ldap_base, LDAP_SCOPE_SUBTREE, filter, attrs, 2, &res, &c,
                        err)) {
        if (filter == NULL)
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_FILTER_ERROR,
                        "cannot build a filter for \"%s\"", value);
        st = DM_LDAP_ERROR;
        goto out;
    }
    n = ldap_count_entries(c->ld, res);
    if (n == 0) {
        ldap_msgfree(res);
        dm_ldap_pool_put(l, c);
        dm_ldap_cache_put(&l->cache, key, NULL, l->conf->ldap_negative_ttl);
        st = DM_LDAP_NOT_FOUND;
        goto out;
    }
    if (n > 1)
        dm_log(DM_LOG_WARNING, "ldap: %s matches more than one entry; using the first", filter);
    {
        LDAPMessage *m = ldap_first_entry(c->ld, res);
        e = dm_ldap_parse_entry(l, c->ld, m);
        if (l->conf->ldap_group_membership == DM_GROUPS_MEMBEROF)
            member_of = dm_ldap_values(c->ld, m, l->conf->attr_member_of, false);
    }
    ldap_msgfree(res);
    dm_ldap_pool_put(l, c);

    if ((e->delegate_dn != NULL &&
         dm_ldap_mail_of_dn(l, e->delegate_dn, &e->delegate_mail, err) == DM_LDAP_ERROR) ||
        (e->manager_dn != NULL &&
         dm_ldap_mail_of_dn(l, e->manager_dn, &e->manager_mail, err) == DM_LDAP_ERROR) ||
        dm_ldap_comm_member(l, NULL, e, member_of, err) == DM_LDAP_ERROR) {
        dm_entry_unref(e);
        e = NULL;
        st = DM_LDAP_ERROR;
        goto out;
    }
    dm_ldap_cache_put(&l->cache, key, e, l->conf->ldap_cache_ttl);
    *out = e;
    st = DM_LDAP_FOUND;
out:
    if (st == DM_LDAP_ERROR)
        atomic_fetch_add(&l->st_errors, 1);
    g_strfreev(member_of);
    g_strfreev(attrs);
    g_free(filter);
    g_free(key);
    return st;
}

dm_ldap_status dm_ldap_lookup_address(dm_ldap *l, const char *addr, dm_entry **out,
                                      GError **err)
{
    return dm_ldap_lookup(l, "a:", l->conf->ldap_filter_address, addr, out, err);
}

dm_ldap_status dm_ldap_lookup_login(dm_ldap *l, const char *login, dm_entry **out,
                                    GError **err)
{
    return dm_ldap_lookup(l, "l:", l->conf->ldap_filter_login, login, out, err);
}

dm_ldap_status dm_ldap_registrars(dm_ldap *l, dm_registrars **out, GError **err)
{
    LDAPMessage *res = NULL;
    dm_ldap_conn *c = NULL;
    char *attrs[] = {l->conf->attr_mail, l->conf->attr_myndighet, NULL};
    dm_registrars *r;
    int64_t now = dm_ldap_now();

    g_mutex_lock(&l->registrars_lock);
    if (l->registrars != NULL && l->registrars_expire > now) {
        *out = dm_registrars_ref(l->registrars);
        g_mutex_unlock(&l->registrars_lock);
        return DM_LDAP_FOUND;
    }
    g_mutex_unlock(&l->registrars_lock);

    if (!dm_ldap_search(l, l->conf->ldap_base, LDAP_SCOPE_SUBTREE,
                        l->conf->ldap_filter_registrators, attrs, 0, &res, &c, err)) {
        atomic_fetch_add(&l->st_errors, 1);
        return DM_LDAP_ERROR;
    }
    r = dm_registrars_new();
    for (LDAPMessage *m = ldap_first_entry(c->ld, res); m != NULL;
         m = ldap_next_entry(c->ld, m)) {
        char *mail = dm_ldap_value(c->ld, m, l->conf->attr_mail, true);
        char **myn = dm_ldap_values(c->ld, m, l->conf->attr_myndighet, false);

        if (mail != NULL && myn != NULL) {
            for (char **p = myn; *p != NULL; p++) {
                char *up = g_utf8_strup(*p, -1);
                g_free(*p);
                *p = up;
            }
            dm_registrars_add(r, mail, myn);
        }
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
