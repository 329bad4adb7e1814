/*
 * dm_conf_value: the forms a configuration value may take (durations,
 * sizes, listen addresses, header words, addresses, lists), apart from
 * the table and the loader in dm_conf.c.
 */
#include "dm_conf_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A whole number, blanks, and at most one unit letter: the value times
 * what unit says the letter is worth (0: no unit it knows). */
static bool dm_conf_parse_scaled(const char *s, int64_t (*unit)(char), int64_t *out)
{
    char *end;
    long long v;
    int64_t mult;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || errno != 0 || v < 0)
        return false;
    while (*end == ' ')
        end++;
    mult = unit(*end);
    if (mult == 0 || (*end != '\0' && end[1] != '\0') || v > INT64_MAX / mult)
        return false;
    *out = (int64_t)v * mult;
    return true;
}

static int64_t dm_conf_duration_unit(char c)
{
    switch (c) {
    case '\0': case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return 86400;
    case 'w': return 7 * 86400;
    default: return 0;
    }
}

static int64_t dm_conf_size_unit(char c)
{
    switch (c) {
    case '\0': case 'b': case 'B': return 1;
    case 'k': case 'K': return 1024;
    case 'm': case 'M': return 1024 * 1024;
    case 'g': case 'G': return 1024 * 1024 * 1024;
    default: return 0;
    }
}

bool dm_conf_parse_duration(const char *s, int64_t *seconds)
{
    return dm_conf_parse_scaled(s, dm_conf_duration_unit, seconds);
}

bool dm_conf_parse_size(const char *s, int64_t *bytes)
{
    return dm_conf_parse_scaled(s, dm_conf_size_unit, bytes);
}

/* A word that goes into a header as it is: printable ASCII, no blanks,
 * at most 64 characters (empty when may_be_empty). */
bool dm_conf_token_ok(const char *s, bool may_be_empty)
{
    size_t n = strlen(s);

    if (n == 0)
        return may_be_empty;
    if (n > 64)
        return false;
    for (const char *p = s; *p != '\0'; p++)
        if (*p <= ' ' || *p > '~')
            return false;
    return true;
}

/* A bare address, local@domain, that goes into headers and envelopes as
 * it is: a token with one '@', something on both sides, no specials. */
bool dm_conf_address_ok(const char *s)
{
    const char *at = strchr(s, '@');

    return dm_conf_token_ok(s, false) && at != NULL && at != s && at[1] != '\0' &&
           strchr(at + 1, '@') == NULL && strpbrk(s, "<>,;:\"()[]\\") == NULL;
}
char **dm_conf_split_list(const char *s)
{
    char **parts = g_strsplit_set(s, ",", -1);
    GPtrArray *out = g_ptr_array_new();

    for (char **p = parts; *p != NULL; p++) {
        char *t = g_strstrip(*p);
        if (*t != '\0')
            g_ptr_array_add(out, g_strdup(t));
    }
    g_strfreev(parts);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

bool dm_conf_parse_listen(const char *s, char **host, guint16 *port)
{
    const char *colon = s != NULL ? strrchr(s, ':') : NULL;
    char *h, *end;
    long p;

    if (colon == NULL || colon == s)
        return false;
    if (*s == '[') {
        if (colon[-1] != ']')
            return false;
        h = g_strndup(s + 1, (size_t)(colon - s - 2));
    } else {
        h = g_strndup(s, (size_t)(colon - s));
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    /* An IPv6 address in brackets, an IPv4 one without. */
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 0 || p > 65535 ||
        !g_hostname_is_ip_address(h) || (strchr(h, ':') != NULL) != (*s == '[')) {
        g_free(h);
        return false;
    }
    if (host != NULL)
        *host = h;
    else
        g_free(h);
    if (port != NULL)
        *port = (guint16)p;
    return true;
}
