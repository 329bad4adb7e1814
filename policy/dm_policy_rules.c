/*
 * Loading the rules file (GKeyFile) and its word lists, and compiling the
 * word lists to regular expressions.
 */
#include <string.h>

#include "dm_policy_int.h"

static const char *const dm_kw_groups[DM_KW_COUNT] = {
    [DM_KW_ACTION] = "action",
    [DM_KW_SENSITIVE] = "sensitive",
    [DM_KW_PRIVATE] = "private",
    [DM_KW_PARTY] = "party",
    [DM_KW_QUESTION] = "question",
    [DM_KW_OUTSIDE] = "outside",
    [DM_KW_INFO] = "info",
};

/* One entry to a regex fragment; NULL when the entry is empty. */
static char *dm_kw_fragment(const char *entry)
{
    char **words = g_strsplit_set(entry, " \t", -1);
    GString *re = g_string_new(NULL);
    int n = 0;

    for (char **w = words; *w != NULL; w++) {
        char *word = g_utf8_strdown(*w, -1);
        size_t len = strlen(word);
        bool pre = false, post = false;
        char *core, *esc;

        if (len == 0) {
            g_free(word);
            continue;
        }
        if (word[0] == '*') {
            pre = true;
            memmove(word, word + 1, len--);
        }
        if (len > 0 && word[len - 1] == '*') {
            post = true;
            word[--len] = '\0';
        }
        core = word;
        if (*core == '\0') {
            g_free(word);
            continue;
        }
        esc = g_regex_escape_string(core, -1);
        if (n > 0)
            g_string_append_c(re, ' ');
        g_string_append_printf(re, "%s%s%s", pre ? "[\\p{L}\\p{N}]*" : "", esc,
                               post ? "[\\p{L}\\p{N}]*" : "");
        g_free(esc);
        g_free(word);
        n++;
    }
    g_strfreev(words);
    if (n == 0) {
        g_string_free(re, TRUE);
        return NULL;
    }
    return g_string_free(re, FALSE);
}

bool dm_kwlist_compile(dm_kwlist *l, const char *name, char **entries, double weight,
                       GError **err)
{
    GString *src = g_string_new(" (");
    int n = 0;

    l->name = g_strdup(name);
    l->weight = weight;
    l->re = NULL;
    for (char **e = entries; e != NULL && *e != NULL; e++) {
        char *frag = dm_kw_fragment(*e);
        if (frag == NULL)
            continue;
        if (n++ > 0)
            g_string_append_c(src, '|');
        g_string_append(src, frag);
        g_free(frag);
    }
    /* The words sit between spaces in normalized text; the lookahead keeps
     * the trailing space for the next match. */
    g_string_append(src, ")(?= )");
    if (n > 0)
        l->re = g_regex_new(src->str, G_REGEX_OPTIMIZE, 0, err);
    g_string_free(src, TRUE);
    return n == 0 || l->re != NULL;
}

void dm_kwlist_clear(dm_kwlist *l)
{
    if (l->re != NULL)
        g_regex_unref(l->re);
    g_free(l->name);
    memset(l, 0, sizeof *l);
}

char *dm_kwlist_first(const dm_kwlist *l, const char *norm)
{
    GMatchInfo *mi = NULL;
    char *hit = NULL;

    if (l->re == NULL || norm == NULL)
        return NULL;
    if (g_regex_match(l->re, norm, 0, &mi))
        hit = g_match_info_fetch(mi, 1);
    g_match_info_free(mi);
    return hit;
}

unsigned dm_kwlist_count(const dm_kwlist *l, const char *norm)
{
    GMatchInfo *mi = NULL;
    GHashTable *seen;
    unsigned n;

    if (l->re == NULL || norm == NULL)
        return 0;
    seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_regex_match(l->re, norm, 0, &mi);
    while (g_match_info_matches(mi)) {
        g_hash_table_add(seen, g_match_info_fetch(mi, 1));
        g_match_info_next(mi, NULL);
    }
    g_match_info_free(mi);
    n = g_hash_table_size(seen);
    g_hash_table_destroy(seen);
    return n;
}

char *dm_policy_normalize_text(const char *text, size_t max)
{
    GString *out = g_string_sized_new(max < 65536 ? max + 2 : 65538);
    const char *p = text, *end = text + strlen(text);
    bool space = true;

    g_string_append_c(out, ' ');
    while (p < end && out->len < max) {
        gunichar c = g_utf8_get_char_validated(p, end - p);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            p++;
            continue;
        }
        if (g_unichar_isalnum(c)) {
            g_string_append_unichar(out, g_unichar_tolower(c));
            space = false;
        } else if (!space) {
            g_string_append_c(out, ' ');
            space = true;
        }
        p = g_utf8_next_char(p);
    }
    if (!space)
        g_string_append_c(out, ' ');
    return g_string_free(out, FALSE);
}

/* A word-list file: one entry per line, "#" starts a comment. */
static char **dm_policy_read_words(const char *path, GError **err)
{
    char *text = NULL;
    char **lines;
    GPtrArray *out;

    if (!g_file_get_contents(path, &text, NULL, err))
        return NULL;
    lines = g_strsplit(text, "\n", -1);
    out = g_ptr_array_new();
    for (char **l = lines; *l != NULL; l++) {
        char *hash = strchr(*l, '#');
        if (hash != NULL)
            *hash = '\0';
        g_strstrip(*l);
        if (**l != '\0')
            g_ptr_array_add(out, g_strdup(*l));
    }
    g_ptr_array_add(out, NULL);
    g_strfreev(lines);
    g_free(text);
    return (char **)g_ptr_array_free(out, FALSE);
}

static char **dm_policy_strv_lower(char **v)
{
    char **out = g_new0(char *, v != NULL ? g_strv_length(v) + 1 : 1);

    for (guint i = 0; v != NULL && v[i] != NULL; i++)
        out[i] = g_ascii_strdown(v[i], -1);
    return out;
}

static dm_policy *dm_policy_alloc(const dm_conf *conf)
{
    dm_policy *p = g_new0(dm_policy, 1);

    p->party_domains = dm_policy_strv_lower(conf->party_domains);
    p->mass_lists = dm_policy_strv_lower(conf->mass_list_addresses);
    p->comm_group = g_strdup(conf->comm_group);
    p->intranet = g_strdup(conf->intranet);
    p->lang = conf->language;
    p->mass_recipients = conf->mass_recipients;
    p->mass_window_recipients = conf->mass_window_recipients;
    p->question_max_words = 120;
    return p;
}

/* base: directory that relative list paths are relative to. */
static dm_policy *dm_policy_build(const dm_conf *conf, GKeyFile *kf, const char *base,
                                  GError **err)
{
    dm_policy *p = dm_policy_alloc(conf);
    char **patterns = NULL, **known = NULL;

    if (kf != NULL && g_key_file_has_group(kf, "casenumbers")) {
        char **keys = g_key_file_get_keys(kf, "casenumbers", NULL, NULL);
        GPtrArray *pats = g_ptr_array_new_with_free_func(g_free);

        for (char **k = keys; k != NULL && *k != NULL; k++) {
            if (g_str_has_prefix(*k, "pattern"))
                g_ptr_array_add(pats, g_key_file_get_value(kf, "casenumbers", *k, NULL));
        }
        g_strfreev(keys);
        if (pats->len > 0) {
            g_ptr_array_add(pats, NULL);
            patterns = g_strdupv((char **)pats->pdata);
        }
        g_ptr_array_free(pats, TRUE);
        known = g_key_file_get_string_list(kf, "casenumbers", "known", NULL, NULL);
        if (known != NULL) {
            for (char **k = known; *k != NULL; k++)
                g_strstrip(*k);
        }
    }
    p->dnr = dm_dnr_parser_new((const char *const *)patterns, (const char *const *)known,
                               err);
    g_strfreev(patterns);
    g_strfreev(known);
    if (p->dnr == NULL)
        goto fail;

    for (int s = 0; s < DM_KW_COUNT; s++) {
        const char *g = dm_kw_groups[s];
        double weight = 1.0;
        char **entries = NULL;

        if (kf != NULL && g_key_file_has_group(kf, g)) {
            GError *e2 = NULL;
            char *list;

            if (g_key_file_has_key(kf, g, "weight", NULL)) {
                weight = g_key_file_get_double(kf, g, "weight", &e2);
                if (e2 != NULL) {
                    g_propagate_prefixed_error(err, e2, "[%s] weight: ", g);
                    goto fail;
                }
            }
            list = g_key_file_get_string(kf, g, "list", NULL);
            if (list != NULL) {
                char *path = g_path_is_absolute(list) ? g_strdup(list)
                                                       : g_build_filename(base, list, NULL);
                entries = dm_policy_read_words(path, err);
                g_free(path);
                g_free(list);
                if (entries == NULL)
                    goto fail;
            }
            if (s == DM_KW_QUESTION && g_key_file_has_key(kf, g, "max_words", NULL))
                p->question_max_words = g_key_file_get_integer(kf, g, "max_words", NULL);
        }
        if (!dm_kwlist_compile(&p->lists[s], g, entries, weight, err)) {
            g_strfreev(entries);
            g_prefix_error(err, "[%s] list: ", g);
            goto fail;
        }
        g_strfreev(entries);
    }
    return p;
fail:
    dm_policy_free(p);
    return NULL;
}

dm_policy *dm_policy_new_from_data(const dm_conf *conf, const char *rules, gsize len,
                                   GError **err)
{
    GKeyFile *kf = NULL;
    dm_policy *p;
    char *base;

    if (rules != NULL) {
        kf = g_key_file_new();
        if (!g_key_file_load_from_data(kf, rules, len, G_KEY_FILE_NONE, err)) {
            g_key_file_free(kf);
            return NULL;
        }
    }
    base = conf->rules_file != NULL ? g_path_get_dirname(conf->rules_file) : g_strdup(".");
    p = dm_policy_build(conf, kf, base, err);
    g_free(base);
    if (kf != NULL)
        g_key_file_free(kf);
    return p;
}

dm_policy *dm_policy_new(const dm_conf *conf, GError **err)
{
    char *text = NULL;
    gsize len = 0;
    dm_policy *p;

    if (!g_file_get_contents(conf->rules_file, &text, &len, err)) {
        g_prefix_error(err, "[policy] rules: ");
        return NULL;
    }
    p = dm_policy_new_from_data(conf, text, len, err);
    if (p == NULL)
        g_prefix_error(err, "%s: ", conf->rules_file);
    g_free(text);
    return p;
}

void dm_policy_free(dm_policy *p)
{
    if (p == NULL)
        return;
    dm_dnr_parser_free(p->dnr);
    for (int s = 0; s < DM_KW_COUNT; s++)
        dm_kwlist_clear(&p->lists[s]);
    g_strfreev(p->party_domains);
    g_strfreev(p->mass_lists);
    g_free(p->comm_group);
    g_free(p->intranet);
    g_free(p);
}

const dm_dnr_parser *dm_policy_dnr_parser(const dm_policy *p)
{
    return p->dnr;
}
