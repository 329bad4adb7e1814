/*
 * What a directory entry says: its attributes (as [ldap] names them)
 * read into a dm_entry, values, addresses, dates and flags, and DNs
 * compared as the directory compares them.
 */
#include <stdio.h>
#include <string.h>

#include "dm_ldap_int.h"
#include "dm_log.h"
#include "dm_util.h"

/* Values of attr as a new NULL-terminated vector (NULL when none). */
char **dm_ldap_values(LDAP *ld, LDAPMessage *e, const char *attr, bool lower)
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

char *dm_ldap_value(LDAP *ld, LDAPMessage *e, const char *attr, bool lower)
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
char **dm_ldap_list_values(LDAP *ld, LDAPMessage *e, const char *attr, bool upper)
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

char *dm_ldap_address(LDAP *ld, LDAPMessage *e, const char *attr)
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
char **dm_ldap_attrs(const dm_conf *c, bool records)
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

dm_entry *dm_ldap_parse_entry(dm_ldap *l, LDAP *ld, LDAPMessage *msg)
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
