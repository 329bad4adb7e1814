/*
 * What a calendar invitation says to a person (RFC 5545): of each event
 * or task, its SUMMARY, LOCATION and DESCRIPTION, lines unfolded and
 * text unescaped.  The rest (times, attendees, time zones, Outlook's
 * X-ALT-DESC copy of the description in HTML) is not read.
 */
#include <string.h>

#include "dm_mime_int.h"

/* Unfolded logical lines of ics (CRLF or LF, a continuation begins with
 * a blank or a tab), each a new string. */
static GPtrArray *dm_ics_lines(const char *ics, size_t len)
{
    GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
    GString *cur = NULL;
    const char *p = ics, *end = ics + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl != NULL ? nl : end;

        if (e > p && e[-1] == '\r')
            e--;
        if (cur != NULL && p < e && (*p == ' ' || *p == '\t')) {
            g_string_append_len(cur, p + 1, e - p - 1);
        } else {
            if (cur != NULL)
                g_ptr_array_add(lines, g_string_free(cur, FALSE));
            cur = g_string_new_len(p, e - p);
        }
        p = nl != NULL ? nl + 1 : end;
    }
    if (cur != NULL)
        g_ptr_array_add(lines, g_string_free(cur, FALSE));
    return lines;
}

/* The property name of line (before ";" or ":") and its value (after the
 * first ":" outside a quoted parameter value), or false. */
static bool dm_ics_split(const char *line, char *name, size_t name_size, const char **value)
{
    size_t n = strcspn(line, ";:");
    bool quoted = false;
    const char *p;

    if (n == 0 || n >= name_size || line[n] == '\0')
        return false;
    memcpy(name, line, n);
    name[n] = '\0';
    for (p = line + n; *p != '\0'; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ':' && !quoted)
            break;
    }
    if (*p != ':')
        return false;
    *value = p + 1;
    return true;
}

/* A TEXT value unescaped ("\n" a line end, "\," a comma...). */
static void dm_ics_unescape(GString *out, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v != '\\' || v[1] == '\0') {
            g_string_append_c(out, *v);
            continue;
        }
        v++;
        if (*v == 'n' || *v == 'N')
            g_string_append_c(out, '\n');
        else
            g_string_append_c(out, *v); /* "\," "\;" "\\" and the unknown */
    }
}

char *dm_mime_calendar_text(const char *ics, size_t len)
{
    GPtrArray *lines = dm_ics_lines(ics, len);
    GString *out = g_string_new(NULL);
    GString *summary = g_string_new(NULL), *location = g_string_new(NULL),
            *description = g_string_new(NULL);
    int in_item = 0;

    for (guint i = 0; i < lines->len; i++) {
        const char *line = g_ptr_array_index(lines, i), *value;
        char name[32];

        if (!dm_ics_split(line, name, sizeof name, &value))
            continue;
        if (g_ascii_strcasecmp(name, "BEGIN") == 0 &&
            (g_ascii_strcasecmp(value, "VEVENT") == 0 || g_ascii_strcasecmp(value, "VTODO") == 0 ||
             g_ascii_strcasecmp(value, "VJOURNAL") == 0)) {
            in_item++;
            continue;
        }
        if (g_ascii_strcasecmp(name, "END") == 0 && in_item > 0 &&
            (g_ascii_strcasecmp(value, "VEVENT") == 0 || g_ascii_strcasecmp(value, "VTODO") == 0 ||
             g_ascii_strcasecmp(value, "VJOURNAL") == 0)) {
            /* One item: summary, location, description. */
            GString *parts[3] = {summary, location, description};
            in_item--;
            for (int k = 0; k < 3; k++) {
                g_strstrip(parts[k]->str);
                parts[k]->len = strlen(parts[k]->str);
                if (parts[k]->len == 0)
                    continue;
                if (out->len > 0)
                    g_string_append(out, k == 0 ? "\n\n" : "\n");
                g_string_append_len(out, parts[k]->str, (gssize)parts[k]->len);
                g_string_truncate(parts[k], 0);
            }
            continue;
        }
        if (in_item == 0)
            continue;
        if (g_ascii_strcasecmp(name, "SUMMARY") == 0)
            dm_ics_unescape(summary, value);
        else if (g_ascii_strcasecmp(name, "LOCATION") == 0)
            dm_ics_unescape(location, value);
        else if (g_ascii_strcasecmp(name, "DESCRIPTION") == 0)
            dm_ics_unescape(description, value);
    }
    g_ptr_array_free(lines, TRUE);
    g_string_free(summary, TRUE);
    g_string_free(location, TRUE);
    g_string_free(description, TRUE);
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}
