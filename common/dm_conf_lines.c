/*
 * dm_conf_lines: where a key stands in the configuration file (GKeyFile
 * does not say), for error messages that name the line, and the refusal
 * of a key given twice.
 */
#include "dm_conf_int.h"

#include <string.h>

/* GKeyFile does not say where a key is: find "key =" inside "[group]" so
 * that an error message can point an admin at the line. */
int dm_conf_line_of(const char *text, const char *group, const char *key)
{
    char **lines = g_strsplit(text, "\n", -1);
    bool in_group = (group == NULL);
    int found = 0;

    for (int i = 0; lines[i] != NULL; i++) {
        char *l = g_strstrip(lines[i]);

        if (*l == '[') {
            char *close = strchr(l, ']');
            if (close != NULL) {
                *close = '\0';
                in_group = group != NULL && strcmp(l + 1, group) == 0;
                if (in_group && key == NULL) {
                    found = i + 1;
                    break;
                }
            }
            continue;
        }
        if (!in_group || key == NULL)
            continue;
        size_t kl = strlen(key);
        if (strncmp(l, key, kl) == 0) {
            const char *rest = l + kl;
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (*rest == '=')
                found = i + 1; /* the last one wins, as in GKeyFile */
        }
    }
    g_strfreev(lines);
    return found;
}

static char *dm_conf_line_key(const char *group, const char *key)
{
    return g_strconcat(group, "\x1f", key, NULL);
}

/* Note the line of every key, and refuse a key given twice in its group
 * (two [group] headers count as one group, as in GKeyFile): GKeyFile
 * would keep the last one silently, and an admin who edits the first
 * would see no effect. */
bool dm_conf_scan_lines(const char *path, const char *text, GHashTable *lines, GError **err)
{
    char **ls = g_strsplit(text, "\n", -1);
    char *group = NULL;
    bool ok = true;

    for (int i = 0; ls[i] != NULL && ok; i++) {
        char *l = g_strstrip(ls[i]);
        char *eq, *full;

        if (*l == '#' || *l == '\0')
            continue;
        if (*l == '[') {
            char *close = strchr(l, ']');
            if (close != NULL) {
                g_free(group);
                group = g_strndup(l + 1, (gsize)(close - l - 1));
            }
            continue;
        }
        eq = strchr(l, '=');
        if (group == NULL || eq == NULL)
            continue;
        *eq = '\0';
        g_strstrip(l);
        full = dm_conf_line_key(group, l);
        if (g_hash_table_contains(lines, full)) {
            g_set_error(err, DM_CONF_ERROR, 1,
                        "%s:%d: [%s] %s: given twice (first on line %d): keep one", path, i + 1,
                        group, l, GPOINTER_TO_INT(g_hash_table_lookup(lines, full)));
            g_free(full);
            ok = false;
        } else {
            g_hash_table_insert(lines, full, GINT_TO_POINTER(i + 1));
        }
    }
    g_free(group);
    g_strfreev(ls);
    return ok;
}

char *dm_conf_where(const dm_conf *conf, const char *group, const char *key)
{
    int line = 0;

    if (conf->lines != NULL) {
        char *full = dm_conf_line_key(group, key);
        line = GPOINTER_TO_INT(g_hash_table_lookup(conf->lines, full));
        g_free(full);
    }
    if (line > 0)
        return g_strdup_printf("%s:%d: [%s] %s", conf->path, line, group, key);
    return g_strdup_printf("%s: [%s] %s", conf->path != NULL ? conf->path : "(defaults)", group,
                           key);
}

