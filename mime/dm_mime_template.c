/*
 * Templates for what people read: etc/templates/<language>/NAME.txt.
 *
 * A template is a "Subject:" line, a blank line and the body.  {{name}}
 * is replaced by a value; a value of several lines is indented to the
 * column where it starts.  A line that begins with "?" is kept only when
 * every value it names is non-empty (the "?" itself is dropped).
 * {{?name}} expands to nothing: it only makes such a line depend on name;
 * {{!name}} too, but keeps the line only when name is empty.
 *
 * The reason catalogue of the same language (reasons.conf) is loaded
 * with the templates: the notices say the reasons in its sentences.
 */
#include <string.h>

#include "dm_data.h"
#include "dm_mime_int.h"

struct dm_templates {
    dm_lang lang;
    GHashTable *by_name; /* name -> char * (whole file) */
    dm_reasons *reasons;
};

static const char *const dm_template_names[] = {
    "copy", "notice-register", "notice-outbound", "notice-copied", "notice-judge",
    "notice-unwatched", "notice-autoreply", "notice-reminder", "digest", NULL,
};

dm_templates *dm_templates_load(const char *dir, dm_lang lang, GError **err)
{
    dm_templates *t = g_new0(dm_templates, 1);
    const char *sub = lang == DM_LANG_EN ? "en" : "sv";

    t->lang = lang;
    t->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    for (int i = 0; dm_template_names[i] != NULL; i++) {
        char *file = g_strconcat(sub, "/", dm_template_names[i], ".txt", NULL);
        /* The site's template, else the shipped one (dm_data.h). */
        char *path = dm_data_find(dir, file, "templates");
        char *text = NULL;
        gsize len;

        g_free(file);
        if (!g_file_get_contents(path, &text, &len, err)) {
            g_free(path);
            dm_templates_free(t);
            return NULL;
        }
        if (!g_utf8_validate(text, (gssize)len, NULL) ||
            g_ascii_strncasecmp(text, "Subject:", 8) != 0 || strstr(text, "\n\n") == NULL) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: a template is UTF-8 text: a Subject: line, a blank line, "
                        "then the body",
                        path);
            g_free(text);
            g_free(path);
            dm_templates_free(t);
            return NULL;
        }
        g_free(path);
        g_hash_table_insert(t->by_name, (gpointer)dm_template_names[i], text);
    }
    t->reasons = dm_reasons_load(dir, lang, err);
    if (t->reasons == NULL) {
        dm_templates_free(t);
        return NULL;
    }
    return t;
}

const dm_reasons *dm_templates_reasons(const dm_templates *t)
{
    return t->reasons;
}

void dm_templates_free(dm_templates *t)
{
    if (t == NULL)
        return;
    g_hash_table_destroy(t->by_name);
    dm_reasons_free(t->reasons);
    g_free(t);
}

dm_lang dm_templates_lang(const dm_templates *t)
{
    return t->lang;
}

/* Are all {{names}} on this line non-empty (and all {{!names}} empty)? */
static bool dm_line_complete(const char *line, GHashTable *vars)
{
    const char *p = line;

    while ((p = strstr(p, "{{")) != NULL) {
        const char *e = strstr(p + 2, "}}");
        char *name;
        const char *val;
        bool negated;

        if (e == NULL)
            break;
        name = g_strndup(p + 2, (gsize)(e - p - 2));
        g_strstrip(name);
        negated = name[0] == '!';
        val = g_hash_table_lookup(vars, name[0] == '?' || negated ? name + 1 : name);
        g_free(name);
        if ((val == NULL || *val == '\0') != negated)
            return false;
        p = e + 2;
    }
    return true;
}

static void dm_expand_line(GString *out, const char *line, GHashTable *vars)
{
    const char *p = line;
    size_t line_start = out->len;

    while (*p != '\0') {
        const char *s = strstr(p, "{{");
        const char *e;
        char *name;
        const char *val;
        size_t col;

        if (s == NULL || (e = strstr(s + 2, "}}")) == NULL) {
            g_string_append(out, p);
            return;
        }
        g_string_append_len(out, p, s - p);
        col = g_utf8_strlen(out->str + line_start, (gssize)(out->len - line_start));
        name = g_strndup(s + 2, (gsize)(e - s - 2));
        g_strstrip(name);
        val = name[0] == '?' || name[0] == '!' ? NULL : g_hash_table_lookup(vars, name);
        g_free(name);
        for (const char *v = val != NULL ? val : ""; *v != '\0'; v++) {
            g_string_append_c(out, *v);
            if (*v == '\n' && v[1] != '\0') {
                for (size_t i = 0; i < col; i++)
                    g_string_append_c(out, ' ');
            }
        }
        p = e + 2;
    }
}

bool dm_template_expand(const dm_templates *t, const char *name, GHashTable *vars,
                        char **subject, char **body)
{
    const char *text = g_hash_table_lookup(t->by_name, name);
    char **lines;
    GString *out;
    const char *sep;
    char *head;

    if (text == NULL)
        return false;
    out = g_string_new(NULL);
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        const char *line = *l;

        if (*line == '?') {
            if (!dm_line_complete(line + 1, vars))
                continue;
            line++;
        }
        dm_expand_line(out, line, vars);
        if (l[1] != NULL)
            g_string_append_c(out, '\n');
    }
    g_strfreev(lines);

    sep = strstr(out->str, "\n\n");
    head = g_strndup(out->str, sep != NULL ? (gsize)(sep - out->str) : out->len);
    *subject = g_strdup(g_strstrip(head + 8)); /* after "Subject:" */
    *body = g_strdup(sep != NULL ? sep + 2 : "");
    g_free(head);
    g_string_free(out, TRUE);
    return true;
}
