/*
 * The directory's configuration (filters, servers) and the dm_ldap
 * handle: made, freed, its statistics.  Lookups are dm_ldap_lookup.c,
 * what an entry says dm_ldap_entry.c, whole-directory reads for
 * diariectl dm_ldap_walk.c, the connections dm_ldap_pool.c.
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

/* A setting that names a directory entry must be a DN (RFC 4514): a
 * group given as "kommunikation" or a mail address would never match,
 * silently.  The message is "FILE:LINE: [group] key: ...". */
static bool dm_ldap_dn_ok(const dm_conf *conf, const char *group, const char *key,
                          const char *value, GError **err)
{
    LDAPDN dn = NULL;
    bool ok;

    if (value == NULL || *value == '\0')
        return true;
    ok = ldap_str2dn(value, &dn, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && dn != NULL &&
         dn[0] != NULL;
    if (dn != NULL)
        ldap_dnfree(dn);
    if (!ok) {
        char *where = dm_conf_where(conf, group, key);
        g_set_error(err, DM_LDAP_ERROR_DOMAIN, LDAP_PARAM_ERROR,
                    "%s: \"%s\" is not a DN (like cn=kommunikation,ou=grupper,dc=kommun,dc=se)",
                    where, value);
        g_free(where);
    }
    return ok;
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
    if (!dm_ldap_dn_ok(conf, "site", "communications_group", conf->comm_group, err) ||
        !dm_ldap_dn_ok(conf, "ldap", "base", conf->ldap_base, err))
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

bool dm_ldap_error_is_busy(const GError *err)
{
    return g_error_matches(err, DM_LDAP_ERROR_DOMAIN, LDAP_BUSY);
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
