/*
 * Lookups: an address or a login to a dm_entry, with its delegate's and
 * manager's addresses and its membership of the communications unit
 * resolved, so the rules need nothing more from the directory.
 */
#include <stdio.h>
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

/* Does the filter pattern hold the %s placeholder and balanced parentheses? */
static bool dm_ldap_filter_ok(const char *key, const char *pattern, bool placeholder,
                              GError **err)
{
    int depth = 0;

    if (pattern == NULL || *pattern == '\0') {
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_FILTER_ERROR, "[ldap] %s: empty", key);
        return false;
    }
    for (const char *p = pattern; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '(')
            depth++;
        else if (*p == ')' && --depth < 0)
            break;
    }
    if (depth != 0 || pattern[0] != '(') {
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_FILTER_ERROR,
                    "[ldap] %s: \"%s\" is not a filter in parentheses", key, pattern);
        return false;
    }
    if (placeholder && strstr(pattern, "%s") == NULL) {
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_FILTER_ERROR,
                    "[ldap] %s: \"%s\" has no %%s for the value looked up", key, pattern);
        return false;
    }
    return true;
}

/* The servers: each [ldap] uri item may itself hold several URIs separated
 * by spaces (as ldap.conf writes them). */
static char **dm_ldap_split_uris(char **items, GError **err)
{
    GPtrArray *out = g_ptr_array_new();

    for (char **it = items; it != NULL && *it != NULL; it++) {
        char **words = g_strsplit_set(*it, " \t", -1);

        for (char **w = words; *w != NULL; w++) {
            LDAPURLDesc *lud = NULL;

            if (**w == '\0')
                continue;
            if (ldap_url_parse(*w, &lud) != LDAP_URL_SUCCESS ||
                (g_ascii_strcasecmp(lud->lud_scheme, "ldap") != 0 &&
                 g_ascii_strcasecmp(lud->lud_scheme, "ldaps") != 0 &&
                 g_ascii_strcasecmp(lud->lud_scheme, "ldapi") != 0)) {
                g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_PARAM_ERROR,
                            "[ldap] uri: \"%s\" is not an ldap://, ldaps:// or ldapi:// URI",
                            *w);
                if (lud != NULL)
                    ldap_free_urldesc(lud);
                g_strfreev(words);
                g_ptr_array_free(out, TRUE);
                return NULL;
            }
            ldap_free_urldesc(lud);
            g_ptr_array_add(out, g_strdup(*w));
        }
        g_strfreev(words);
    }
    if (out->len == 0) {
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_PARAM_ERROR, "[ldap] uri: no server");
        g_ptr_array_free(out, TRUE);
        return NULL;
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

bool dm_ldap_conf_check(const dm_conf *conf, GError **err)
{
    char **uris = dm_ldap_split_uris(conf->ldap_uri, err);
    bool has_dn = conf->ldap_bind_dn != NULL && *conf->ldap_bind_dn != '\0';
    bool has_pw = conf->ldap_bind_password_file != NULL && *conf->ldap_bind_password_file != '\0';

    if (uris == NULL)
        return false;
    g_strfreev(uris);
    if (!dm_ldap_filter_ok("filter_address", conf->ldap_filter_address, true, err) ||
        !dm_ldap_filter_ok("filter_login", conf->ldap_filter_login, true, err) ||
        !dm_ldap_filter_ok("filter_registrators", conf->ldap_filter_registrators, false, err) ||
        !dm_ldap_filter_ok("filter_entries", conf->ldap_filter_entries, false, err))
        return false;
    if (has_pw && !has_dn) {
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_PARAM_ERROR,
                    "[ldap] bind_password_file is set but bind_dn is empty");
        return false;
    }
    if (has_dn && !has_pw) {
        /* A simple bind with a DN and no password is an "unauthenticated"
         * bind (RFC 4513 5.1.2): servers treat it as anonymous, or refuse. */
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_PARAM_ERROR,
                    "[ldap] bind_dn is set but bind_password_file is empty");
        return false;
    }
    return true;
}

dm_ldap *dm_ldap_new(const dm_conf *conf, GError **err)
{
    dm_ldap *l;

    if (!dm_ldap_conf_check(conf, err))
        return NULL;
    l = g_new0(dm_ldap, 1);
    l->conf = dm_conf_ref((dm_conf *)conf);
    l->uri = dm_ldap_split_uris(conf->ldap_uri, NULL);
    l->n_uri = (int)g_strv_length(l->uri);
    l->uris = g_strjoinv(" ", l->uri);
    l->down_until = g_new0(_Atomic int64_t, (gsize)l->n_uri);
    l->hung_until = g_new0(_Atomic int64_t, (gsize)l->n_uri);
    if (conf->ldap_bind_password_file != NULL && *conf->ldap_bind_password_file != '\0') {
        char *pw = NULL;

        if (!g_file_get_contents(conf->ldap_bind_password_file, &pw, NULL, err)) {
            g_prefix_error(err, "[ldap] bind_password_file: ");
            goto fail;
        }
        /* One line; a trailing newline is not part of the password. */
        pw[strcspn(pw, "\r\n")] = '\0';
        l->password = pw;
        if (*pw == '\0') {
            g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_PARAM_ERROR,
                        "[ldap] bind_password_file: %s is empty",
                        conf->ldap_bind_password_file);
            goto fail;
        }
    }
    dm_ldap_pool_init(&l->pool, conf->ldap_pool_size);
    dm_ldap_cache_init(&l->cache, (unsigned)conf->ldap_cache_size);
    g_mutex_init(&l->registrars_lock);
    return l;
fail:
    if (l->password != NULL) {
        memset(l->password, 0, strlen(l->password));
        g_free(l->password);
    }
    g_strfreev(l->uri);
    g_free(l->uris);
    g_free(l->down_until);
    g_free(l->hung_until);
    dm_conf_unref(l->conf);
    g_free(l);
    return NULL;
}

const char *dm_ldap_servers(const dm_ldap *l)
{
    return l->uris;
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
    g_strfreev(l->uri);
    g_free(l->uris);
    g_free(l->down_until);
    g_free(l->hung_until);
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

/* Values that may each hold a list ("KS, BUN"): a directory whose
 * attribute is single-valued (Active Directory's extensionAttributeN) can
 * still say several myndigheter or roles.  Split at commas and semicolons,
 * trimmed, empty ones dropped; upper: upper-case them.  NULL when none. */
static char **dm_ldap_list_values(LDAP *ld, LDAPMessage *e, const char *attr, bool upper)
{
    char **vals = dm_ldap_values(ld, e, attr, false);
    GPtrArray *out;

    if (vals == NULL)
        return NULL;
    out = g_ptr_array_new();
    for (char **v = vals; *v != NULL; v++) {
        char **parts = g_strsplit_set(*v, ",;", -1);

        for (char **p = parts; *p != NULL; p++) {
            char *t = g_strstrip(*p);
            if (*t != '\0')
                g_ptr_array_add(out, upper ? g_utf8_strup(t, -1) : g_strdup(t));
        }
        g_strfreev(parts);
    }
    g_strfreev(vals);
    if (out->len == 0) {
        g_ptr_array_free(out, TRUE);
        return NULL;
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* An address as the directory may keep it: Exchange writes proxyAddresses
 * and targetAddress as "smtp:user@domain".  Lower case, prefix dropped. */
static void dm_ldap_strip_smtp(char *addr)
{
    if (addr != NULL && g_ascii_strncasecmp(addr, "smtp:", 5) == 0)
        memmove(addr, addr + 5, strlen(addr + 5) + 1);
}

static char *dm_ldap_address(LDAP *ld, LDAPMessage *e, const char *attr)
{
    char *a = dm_ldap_value(ld, e, attr, true);

    dm_ldap_strip_smtp(a);
    return a;
}

static char **dm_ldap_addresses(LDAP *ld, LDAPMessage *e, const char *attr)
{
    char **v = dm_ldap_values(ld, e, attr, true);

    for (char **p = v; p != NULL && *p != NULL; p++)
        dm_ldap_strip_smtp(*p);
    return v;
}

/* A date of the directory: GeneralizedTime (the schema's syntax), or, for
 * directories that keep it in a string attribute (Active Directory's
 * extensionAttributeN), ISO 8601 or a plain YYYY-MM-DD, which means the
 * start of that day (end_of_day: its end) in local time. */
static bool dm_ldap_parse_date(const char *v, bool end_of_day, int64_t *t)
{
    int y, m, d;
    char tail;

    if (dm_time_parse_generalized(v, t) || dm_time_parse_iso8601(v, t))
        return true;
    if (sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
        GTimeZone *tz = g_time_zone_new_local();
        GDateTime *dt = g_date_time_new(tz, y, m, d, 0, 0, 0);

        g_time_zone_unref(tz);
        if (dt == NULL)
            return false;
        *t = g_date_time_to_unix(dt) + (end_of_day ? 86399 : 0);
        g_date_time_unref(dt);
        return true;
    }
    return false;
}

static int64_t dm_ldap_time(LDAP *ld, LDAPMessage *e, const char *attr, bool end_of_day)
{
    char *v = dm_ldap_value(ld, e, attr, false);
    int64_t t = 0;

    if (v != NULL && !dm_ldap_parse_date(v, end_of_day, &t)) {
        dm_log(DM_LOG_WARNING, "ldap: %s: \"%s\" is not a date (GeneralizedTime, ISO 8601 "
                               "or YYYY-MM-DD); ignored", attr, v);
        t = 0;
    }
    g_free(v);
    return t;
}

/* The attributes to ask for: those of an entry, and the extra ones. */
static char **dm_ldap_attrs(const dm_conf *c, bool records)
{
    const char *a[] = {c->attr_mail,         c->attr_private_mail, c->attr_routing,
                       c->attr_name,         c->attr_login,        c->attr_role,
                       c->attr_myndighet,    c->attr_fullmakt,     c->attr_absent_from,
                       c->attr_absent_until, c->attr_delegate,     c->attr_manager};
    GPtrArray *out = g_ptr_array_new();

    for (size_t i = 0; i < G_N_ELEMENTS(a); i++)
        g_ptr_array_add(out, g_strdup(a[i]));
    if (c->ldap_group_membership == DM_GROUPS_MEMBEROF)
        g_ptr_array_add(out, g_strdup(c->attr_member_of));
    if (records) {
        g_ptr_array_add(out, g_strdup(c->attr_given_name));
        g_ptr_array_add(out, g_strdup(c->attr_surname));
        g_ptr_array_add(out, g_strdup(c->attr_watchers));
        g_ptr_array_add(out, g_strdup(c->attr_member));
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* diarieFullmakt is a Boolean (TRUE/FALSE); a string attribute standing
 * in for it may say it other ways. */
static bool dm_ldap_true(const char *v)
{
    return v != NULL &&
           (g_ascii_strcasecmp(v, "TRUE") == 0 || g_ascii_strcasecmp(v, "yes") == 0 ||
            g_ascii_strcasecmp(v, "ja") == 0 || strcmp(v, "1") == 0);
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
    e->mail = dm_ldap_address(ld, msg, c->attr_mail);
    e->private_mail = dm_ldap_addresses(ld, msg, c->attr_private_mail);
    e->routing = dm_ldap_address(ld, msg, c->attr_routing);
    e->name = dm_ldap_value(ld, msg, c->attr_name, false);
    e->login = dm_ldap_value(ld, msg, c->attr_login, false);
    roles = dm_ldap_list_values(ld, msg, c->attr_role, false);
    for (char **r = roles; r != NULL && *r != NULL; r++) {
        unsigned role = dm_role_from_name(*r);
        if (role == 0)
            dm_log(DM_LOG_WARNING, "ldap: %s: %s: unknown role \"%s\" ignored", e->dn,
                   c->attr_role, *r);
        e->roles |= role;
    }
    g_strfreev(roles);
    e->myndigheter = dm_ldap_list_values(ld, msg, c->attr_myndighet, true);
    fullmakt = dm_ldap_value(ld, msg, c->attr_fullmakt, false);
    e->fullmakt = dm_ldap_true(fullmakt);
    g_free(fullmakt);
    e->absent_from = dm_ldap_time(ld, msg, c->attr_absent_from, false);
    e->absent_until = dm_ldap_time(ld, msg, c->attr_absent_until, true);
    e->delegate_dn = dm_ldap_value(ld, msg, c->attr_delegate, false);
    e->manager_dn = dm_ldap_value(ld, msg, c->attr_manager, false);
    if (e->mail == NULL && e->private_mail != NULL && e->private_mail[0] != NULL)
        e->mail = g_strdup(e->private_mail[0]);
    return e;
}

char *dm_ldap_dn_key(const char *dn)
{
    char *norm = NULL, *key;

    if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) ==
            LDAP_SUCCESS &&
        norm != NULL) {
        key = g_utf8_casefold(norm, -1);
        ldap_memfree(norm);
        return key;
    }
    return g_utf8_casefold(dn, -1);
}

bool dm_ldap_dn_equal(const char *a, const char *b)
{
    char *ka = dm_ldap_dn_key(a), *kb = dm_ldap_dn_key(b);
    bool same = strcmp(ka, kb) == 0;

    g_free(ka);
    g_free(kb);
    return same;
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
    if (dm_ldap_cache_get(&l->cache, key, &e)) {
        /* A negative answer from the cache is a hit too. */
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

/* --- whole-directory reads, for diariectl ------------------------------- */

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
