/*
 * Loading the rules file (etc/rules.conf, a GKeyFile) and its word lists
 * (etc/rules/NAME.words) into a dm_policy: case-number patterns, thresholds,
 * weights, and the lists compiled into one dm_lex.
 *
 * Sections:
 *   [casenumbers]  patternN, known
 *   [thresholds]   max_tokens
 *   [weights]      the thresholds and weights of the decision, fitted
 *                  by "diariectl fit" (dm_policy_weights.c)
 *   [SIGNAL]       a signal the rules know (request, private, ...):
 *                  list (a .words file), words (inline, ";"-separated),
 *                  cap (the most entries that count), where (all, own,
 *                  subject, head), unless
 *   [NAME]         any other section with a list or words: a helper list
 *                  that other lists use as @NAME
 *   [replies], [autoreply], [diarium], [segments]
 *                  words read as they are written (";"-separated): how
 *                  replies quote and forward, the subjects of automatic
 *                  replies, the diarium export's columns and statuses;
 *                  required in a rules file (absent, the program would
 *                  silently read mail worse)
 *
 * The reasons' words are not here but in the reason catalogue of the
 * site's language (etc/templates/<lang>/reasons.conf, dm_reasons.h),
 * loaded with the rules.
 */
#include <string.h>

#include "dm_data.h"
#include "dm_policy_int.h"

typedef struct {
    double cap; /* the most distinct entries that count */
    dm_where where;
} dm_sigdefault;

static const dm_sigdefault dm_sig_defaults[DM_SIG_COUNT] = {
    [DM_SIG_REQUEST] = {1, DM_WHERE_OWN},       [DM_SIG_POLITE] = {1, DM_WHERE_OWN},
    [DM_SIG_SUBJECT_HEAD] = {1, DM_WHERE_HEAD}, [DM_SIG_SUBJECT] = {1, DM_WHERE_SUBJECT},
    [DM_SIG_OPINION] = {2, DM_WHERE_OWN},       [DM_SIG_REFERENCE] = {1, DM_WHERE_OWN},
    [DM_SIG_INFO] = {1, DM_WHERE_OWN},          [DM_SIG_INFO_HEAD] = {1, DM_WHERE_HEAD},
    [DM_SIG_INQUIRY] = {1, DM_WHERE_OWN},       [DM_SIG_OUTSIDE] = {10, DM_WHERE_OWN},
    [DM_SIG_THANKS] = {1, DM_WHERE_OWN},
    [DM_SIG_MUNICIPAL] = {10, DM_WHERE_OWN},    [DM_SIG_PRIVATE] = {10, DM_WHERE_ALL},
    [DM_SIG_FAMILY] = {2, DM_WHERE_ALL},        [DM_SIG_COMMERCE] = {10, DM_WHERE_OWN},        [DM_SIG_INTIMATE] = {5, DM_WHERE_ALL},
    [DM_SIG_PARTY] = {10, DM_WHERE_ALL},        [DM_SIG_ADS] = {10, DM_WHERE_ALL},
    [DM_SIG_PHISHING] = {10, DM_WHERE_ALL},     [DM_SIG_TEMPORARY] = {10, DM_WHERE_ALL},
    [DM_SIG_BULK] = {1, DM_WHERE_OWN},
    [DM_SIG_SENSITIVE] = {1, DM_WHERE_ALL},     [DM_SIG_SUBJECT_SKIP] = {0, DM_WHERE_SUBJECT},
};

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
        out[i] = g_ascii_strdown(g_strstrip(v[i]), -1);
    return out;
}

static dm_policy *dm_policy_alloc(const dm_conf *conf)
{
    dm_policy *p = g_new0(dm_policy, 1);

    p->party_domains = dm_policy_strv_lower(conf->party_domains);
    p->mass_lists = dm_policy_strv_lower(conf->mass_list_addresses);
    p->comm_group = g_strdup(conf->comm_group);
    p->intranet = g_strdup(conf->intranet);
    p->mass_recipients = conf->mass_recipients;
    p->mass_window_recipients = conf->mass_window_recipients;
    p->mass_window = conf->mass_window;
    p->autoreply_absence = conf->autoreply_absence;

    p->max_tokens = 2000;
    for (int i = 0; i < DM_P_COUNT; i++)
        p->w[i] = dm_param_table()[i].def;
    for (int s = 0; s < DM_SIG_COUNT; s++) {
        p->sig[s].cap = dm_sig_defaults[s].cap;
        p->sig[s].where = dm_sig_defaults[s].where;
    }
    return p;
}

static int dm_sig_by_section(const char *group)
{
    for (int s = 0; s < DM_SIG_COUNT; s++) {
        if (strcmp(dm_sig_section((dm_sig)s), group) == 0)
            return s;
    }
    return -1;
}

static bool dm_get_double(GKeyFile *kf, const char *g, const char *k, double *out, GError **err)
{
    GError *e2 = NULL;
    double v;

    if (!g_key_file_has_key(kf, g, k, NULL))
        return true;
    v = g_key_file_get_double(kf, g, k, &e2);
    if (e2 != NULL) {
        g_propagate_prefixed_error(err, e2, "[%s] %s: ", g, k);
        return false;
    }
    if (v < 0) {
        g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "[%s] %s: must not be negative", g, k);
        return false;
    }
    *out = v;
    return true;
}

static bool dm_get_int(GKeyFile *kf, const char *g, const char *k, int *out, GError **err)
{
    GError *e2 = NULL;
    int v;

    if (!g_key_file_has_key(kf, g, k, NULL))
        return true;
    v = g_key_file_get_integer(kf, g, k, &e2);
    if (e2 != NULL) {
        g_propagate_prefixed_error(err, e2, "[%s] %s: ", g, k);
        return false;
    }
    if (v < 0) {
        g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "[%s] %s: must not be negative", g, k);
        return false;
    }
    *out = v;
    return true;
}

/* Only the keys named; anything else is a mistake worth hearing of. */
static bool dm_check_keys(GKeyFile *kf, const char *g, const char *const *allowed, GError **err)
{
    char **keys = g_key_file_get_keys(kf, g, NULL, NULL);
    bool ok = true;

    for (char **k = keys; ok && k != NULL && *k != NULL; k++) {
        bool found = false;
        for (const char *const *a = allowed; *a != NULL && !found; a++) {
            size_t n = strlen(*a);
            /* "pattern" allows pattern1, pattern2, ... */
            found = strcmp(*a, *k) == 0 ||
                    (strcmp(*a, "pattern") == 0 && strncmp(*k, "pattern", n) == 0);
        }
        if (!found) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                        "[%s]: unknown key \"%s\"", g, *k);
            ok = false;
        }
    }
    g_strfreev(keys);
    return ok;
}

static bool dm_load_thresholds(dm_policy *p, GKeyFile *kf, GError **err)
{
    static const char *const keys[] = {"max_tokens", NULL};
    const char *g = "thresholds";
    const char *wkeys[DM_P_COUNT + 1];

    if (g_key_file_has_group(kf, g) &&
        (!dm_check_keys(kf, g, keys, err) ||
         !dm_get_int(kf, g, "max_tokens", &p->max_tokens, err)))
        return false;
    g = "weights";
    for (int i = 0; i < DM_P_COUNT; i++)
        wkeys[i] = dm_param_table()[i].key;
    wkeys[DM_P_COUNT] = NULL;
    if (!g_key_file_has_group(kf, g))
        return true;
    if (!dm_check_keys(kf, g, wkeys, err))
        return false;
    for (int i = 0; i < DM_P_COUNT; i++) {
        if (!dm_get_double(kf, g, wkeys[i], &p->w[i], err))
            return false;
    }
    return true;
}

static char **dm_get_words(GKeyFile *kf, const char *g, const char *k);

static bool dm_load_casenumbers(dm_policy *p, GKeyFile *kf, GError **err)
{
    static const char *const keys[] = {"pattern", "known", "not_myndighet", NULL};
    char **patterns = NULL, **known = NULL, **not_myn = NULL;

    if (kf != NULL && g_key_file_has_group(kf, "casenumbers")) {
        char **names = g_key_file_get_keys(kf, "casenumbers", NULL, NULL);
        GPtrArray *pats = g_ptr_array_new_with_free_func(g_free);

        if (!dm_check_keys(kf, "casenumbers", keys, err)) {
            g_strfreev(names);
            g_ptr_array_free(pats, TRUE);
            return false;
        }
        for (char **k = names; k != NULL && *k != NULL; k++) {
            if (g_str_has_prefix(*k, "pattern"))
                g_ptr_array_add(pats, g_key_file_get_value(kf, "casenumbers", *k, NULL));
        }
        g_strfreev(names);
        if (pats->len > 0) {
            g_ptr_array_add(pats, NULL);
            patterns = g_strdupv((char **)pats->pdata);
        }
        g_ptr_array_free(pats, TRUE);
        known = g_key_file_get_string_list(kf, "casenumbers", "known", NULL, NULL);
        for (char **k = known; k != NULL && *k != NULL; k++)
            g_strstrip(*k);
        not_myn = dm_get_words(kf, "casenumbers", "not_myndighet");
    }
    p->dnr = dm_dnr_parser_new((const char *const *)patterns, (const char *const *)known, err);
    if (p->dnr != NULL)
        dm_dnr_parser_set_not_myndighet(p->dnr, (const char *const *)not_myn);
    g_strfreev(patterns);
    g_strfreev(known);
    g_strfreev(not_myn);
    return p->dnr != NULL;
}

/* A section's entries: its list file, then its inline words.  lang: the
 * list file of that language instead (CODE/NAME.words beside it), none
 * when there is no such file. */
static char **dm_section_entries(GKeyFile *kf, const char *g, const char *base,
                                 const char *lang, GError **err)
{
    GPtrArray *out = g_ptr_array_new();
    char *list = g_key_file_get_string(kf, g, "list", NULL);
    char *words = g_key_file_get_string(kf, g, "words", NULL);

    if (list != NULL && *g_strstrip(list) != '\0') {
        char *rel = g_strdup(list), *path;
        char **entries;

        if (lang != NULL) {
            char *dir = g_path_get_dirname(rel), *name = g_path_get_basename(rel);
            g_free(rel);
            rel = g_build_filename(dir, lang, name, NULL);
            g_free(dir);
            g_free(name);
        }
        /* The site's list beside the rules, else the shipped one. */
        path = dm_data_find(base, rel, NULL);
        g_free(rel);
        entries = lang != NULL && !g_file_test(path, G_FILE_TEST_EXISTS)
                      ? g_new0(char *, 1)
                      : dm_policy_read_words(path, err);
        g_free(path);
        if (entries == NULL) {
            g_prefix_error(err, "[%s] list: ", g);
            g_free(list);
            g_free(words);
            g_ptr_array_free(out, TRUE);
            return NULL;
        }
        for (char **e = entries; *e != NULL; e++)
            g_ptr_array_add(out, *e);
        g_free(entries);
    }
    if (words != NULL) {
        char **w = g_strsplit(words, ";", -1);
        for (char **e = w; *e != NULL; e++) {
            g_strstrip(*e);
            if (**e != '\0')
                g_ptr_array_add(out, g_strdup(*e));
        }
        g_strfreev(w);
    }
    g_free(list);
    g_free(words);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static bool dm_list_section(const char *g)
{
    return strcmp(g, "casenumbers") != 0 && strcmp(g, "thresholds") != 0 &&
           strcmp(g, "weights") != 0 && strcmp(g, "replies") != 0 &&
           strcmp(g, "autoreply") != 0 && strcmp(g, "diarium") != 0 &&
           strcmp(g, "languages") != 0 && strcmp(g, "segments") != 0;
}

/* The signal sections' settings: cap, where. */
static bool dm_load_sigdefs(dm_policy *p, GKeyFile *kf, GError **err)
{
    static const char *const sig_keys[] = {"list", "words", "cap", "where", "unless", NULL};
    static const char *const helper_keys[] = {"list", "words", NULL};
    char **groups = kf != NULL ? g_key_file_get_groups(kf, NULL) : NULL;
    bool ok = true;

    for (char **g = groups; ok && g != NULL && *g != NULL; g++) {
        int sig;

        if (!dm_list_section(*g))
            continue;
        sig = dm_sig_by_section(*g);
        if (sig < 0 && !g_key_file_has_key(kf, *g, "list", NULL) &&
            !g_key_file_has_key(kf, *g, "words", NULL)) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                        "[%s]: not a section the rules know, and no list", *g);
            ok = false;
            break;
        }
        if (!dm_check_keys(kf, *g, sig >= 0 ? sig_keys : helper_keys, err)) {
            ok = false;
            break;
        }
        if (sig >= 0) {
            dm_sigdef *d = &p->sig[sig];
            char *where = g_key_file_get_string(kf, *g, "where", NULL);

            if (!dm_get_double(kf, *g, "cap", &d->cap, err)) {
                g_free(where);
                ok = false;
                break;
            }
            if (where != NULL) {
                g_strstrip(where);
                if (strcmp(where, "all") == 0)
                    d->where = DM_WHERE_ALL;
                else if (strcmp(where, "own") == 0)
                    d->where = DM_WHERE_OWN;
                else if (strcmp(where, "subject") == 0)
                    d->where = DM_WHERE_SUBJECT;
                else if (strcmp(where, "head") == 0)
                    d->where = DM_WHERE_HEAD;
                else {
                    g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                "[%s] where: \"%s\" is not all, own, subject or head", *g,
                                where);
                    ok = false;
                }
                g_free(where);
            }
        }
    }
    g_strfreev(groups);
    return ok;
}

/* One language's lists: every list section, its entries from the
 * section's list file (for another language the file of the same name
 * under CODE/ beside it, when there is one) and its inline words. */
static bool dm_load_lang(dm_policy *p, dm_langlex *L, const char *stemmer, GKeyFile *kf,
                         const char *base, GError **err)
{
    char **groups = kf != NULL ? g_key_file_get_groups(kf, NULL) : NULL;
    bool swedish = L == &p->langs[0], ok = true;

    L->lex = swedish ? dm_lex_new() : dm_lex_new_lang(stemmer);
    for (int s = 0; s < DM_SIG_COUNT; s++)
        L->list[s] = L->unless[s] = G_MAXUINT;
    for (char **g = groups; ok && g != NULL && *g != NULL; g++) {
        int sig;
        char **entries;
        guint id;

        if (!dm_list_section(*g))
            continue;
        sig = dm_sig_by_section(*g);
        if (swedish) {
            entries = dm_section_entries(kf, *g, base, NULL, err);
        } else {
            entries = dm_section_entries(kf, *g, base, L->code, err);
        }
        if (entries == NULL) {
            ok = false;
            break;
        }
        ok = dm_lex_add_list(L->lex, *g, entries, &id, err);
        g_strfreev(entries);
        if (ok && sig >= 0)
            L->list[sig] = id;
    }
    /* "unless": by name, once every list is known. */
    for (int s = 0; ok && kf != NULL && s < DM_SIG_COUNT; s++) {
        const char *g = dm_sig_section((dm_sig)s);
        char *name;

        if (!g_key_file_has_group(kf, g) || !g_key_file_has_key(kf, g, "unless", NULL))
            continue;
        name = g_strstrip(g_key_file_get_string(kf, g, "unless", NULL));
        L->unless[s] = dm_lex_list_id(L->lex, name);
        if (L->unless[s] == G_MAXUINT) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "[%s] unless: no section defines the list \"%s\"", g, name);
            ok = false;
        }
        g_free(name);
    }
    g_strfreev(groups);
    if (ok)
        ok = dm_lex_finish(L->lex, err);
    if (!ok && !swedish)
        g_prefix_error(err, "[languages] %s: ", L->code);
    return ok;
}

static char **dm_get_words(GKeyFile *kf, const char *g, const char *k);

/* Swedish, then each language of [languages] (CODE = Snowball stemmer;
 * "unknown": the languages whose lists also read text of no known
 * language). */
static bool dm_load_lists(dm_policy *p, GKeyFile *kf, const char *base, GError **err)
{
    char **codes = NULL;
    guint n = 0;
    bool ok;

    if (kf != NULL && g_key_file_has_group(kf, "languages")) {
        char **keys = g_key_file_get_keys(kf, "languages", NULL, NULL);
        GPtrArray *c = g_ptr_array_new();
        for (char **k = keys; k != NULL && *k != NULL; k++) {
            if (strcmp(*k, "unknown") != 0)
                g_ptr_array_add(c, g_strdup(*k));
        }
        g_ptr_array_add(c, NULL);
        codes = (char **)g_ptr_array_free(c, FALSE);
        g_strfreev(keys);
    }
    n = codes != NULL ? g_strv_length(codes) : 0;
    if (n > 254) {
        g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "[languages]: more than 254");
        g_strfreev(codes);
        return false;
    }
    p->langs = g_new0(dm_langlex, n + 1);
    p->n_langs = 1;
    g_strlcpy(p->langs[0].code, "sv", sizeof p->langs[0].code);
    ok = dm_load_sigdefs(p, kf, err) && dm_load_lang(p, &p->langs[0], NULL, kf, base, err);
    p->lex = p->langs[0].lex;
    for (guint i = 0; ok && i < n; i++) {
        dm_langlex *L = &p->langs[p->n_langs];
        char *stemmer = g_strstrip(g_key_file_get_string(kf, "languages", codes[i], NULL));
        size_t len = strlen(codes[i]);

        if (len < 2 || len > 3 || strspn(codes[i], "abcdefghijklmnopqrstuvwxyz") != len ||
            strcmp(codes[i], "sv") == 0) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "[languages] %s: not an ISO 639-1 code other than sv", codes[i]);
            ok = false;
        } else if (!dm_stemmer_known(stemmer)) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "[languages] %s: libstemmer has no language \"%s\"", codes[i],
                        stemmer);
            ok = false;
        } else {
            g_strlcpy(L->code, codes[i], sizeof L->code);
            p->n_langs++;
            ok = dm_load_lang(p, L, stemmer, kf, base, err);
            if (ok && g_key_file_has_key(kf, "languages", "unknown", NULL)) {
                char **unknown = dm_get_words(kf, "languages", "unknown");
                for (char **u = unknown; *u != NULL; u++)
                    L->unknown |= strcmp(*u, L->code) == 0;
                g_strfreev(unknown);
            }
        }
        g_free(stemmer);
    }
    g_strfreev(codes);
    return ok;
}

/* ---- words read as they are written ----------------------------------------- */

/* The entries of a ";"-separated value, blanks around each dropped, empty
 * ones skipped (a new NULL-terminated vector). */
static char **dm_split_words(const char *v)
{
    char **parts = g_strsplit(v, ";", -1);
    GPtrArray *out = g_ptr_array_new();

    for (char **w = parts; *w != NULL; w++) {
        g_strstrip(*w);
        if (**w != '\0')
            g_ptr_array_add(out, g_strdup(*w));
    }
    g_strfreev(parts);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

/* A section of words: present, no key but keys, and each of keys there. */
static bool dm_words_section(GKeyFile *kf, const char *g, const char *const *keys, GError **err)
{
    if (!g_key_file_has_group(kf, g)) {
        g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                    "[%s]: missing (the rules.conf of this version has it)", g);
        return false;
    }
    if (!dm_check_keys(kf, g, keys, err))
        return false;
    for (const char *const *k = keys; *k != NULL; k++) {
        if (!g_key_file_has_key(kf, g, *k, NULL)) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                        "[%s] %s: missing (the rules.conf of this version has it)", g, *k);
            return false;
        }
    }
    return true;
}

static char **dm_get_words(GKeyFile *kf, const char *g, const char *k)
{
    char *v = g_key_file_get_string(kf, g, k, NULL);
    char **w = dm_split_words(v != NULL ? v : "");

    g_free(v);
    return w;
}

static void dm_first_bytes(guint8 set[32], char **words)
{
    for (char **w = words; w != NULL && *w != NULL; w++) {
        guint8 c = (guint8)g_ascii_toupper(**w);
        set[c >> 3] |= (guint8)(1u << (c & 7));
    }
}

static void dm_strv_ascii_down(char **v)
{
    for (char **w = v; w != NULL && *w != NULL; w++) {
        char *d = g_ascii_strdown(*w, -1);
        g_free(*w);
        *w = d;
    }
}

static bool dm_load_words(dm_policy *p, GKeyFile *kf, GError **err)
{
    static const char *const reply_keys[] = {"header_from", "header_more", "separator", "wrote",
                                             "forward", "reply_prefixes", "forward_prefixes",
                                             "forward_line", "forward_from", "forward_date",
                                             "forward_subject", NULL};
    static const char *const auto_keys[] = {"subjects", NULL};
    static const char *const col_keys[DM_CASE_COL_N] = {
        [DM_CASE_COL_DNR] = "column_dnr",         [DM_CASE_COL_MYNDIGHET] = "column_myndighet",
        [DM_CASE_COL_TITLE] = "column_title",     [DM_CASE_COL_STATUS] = "column_status",
        [DM_CASE_COL_PARTIES] = "column_parties", [DM_CASE_COL_SEKRETESS] = "column_sekretess",
    };
    static const char *const diarium_keys[] = {"column_dnr", "column_myndighet", "column_title",
                                               "column_status", "column_parties",
                                               "column_sekretess", "sekretess_yes", "closed",
                                               NULL};
    dm_replies *r = &p->replies;
    char **columns[DM_CASE_COL_N], **yes, **closed;

    if (!dm_words_section(kf, "replies", reply_keys, err) ||
        !dm_words_section(kf, "autoreply", auto_keys, err) ||
        !dm_words_section(kf, "diarium", diarium_keys, err))
        return false;
    r->header_from = dm_get_words(kf, "replies", "header_from");
    r->header_more = dm_get_words(kf, "replies", "header_more");
    r->separator = dm_get_words(kf, "replies", "separator");
    r->wrote = dm_get_words(kf, "replies", "wrote");
    r->forward = dm_get_words(kf, "replies", "forward");
    r->reply_prefixes = dm_get_words(kf, "replies", "reply_prefixes");
    r->forward_prefixes = dm_get_words(kf, "replies", "forward_prefixes");
    dm_strv_ascii_down(r->reply_prefixes);
    dm_strv_ascii_down(r->forward_prefixes);
    dm_first_bytes(r->first_from, r->header_from);
    dm_first_bytes(r->first_separator, r->separator);
    dm_first_bytes(r->first_forward, r->forward);
    /* The same words, and [segments], for the document model (mime/). */
    p->seg_words = dm_seg_words_load(kf, err);
    if (p->seg_words == NULL)
        return false;

    /* Compared with the casefolded subject. */
    {
        char **subjects = dm_get_words(kf, "autoreply", "subjects");
        for (char **w = subjects; *w != NULL; w++) {
            char *f = g_utf8_casefold(*w, -1);
            g_free(*w);
            *w = f;
        }
        p->autoreply_subjects = subjects;
    }

    for (int c = 0; c < DM_CASE_COL_N; c++)
        columns[c] = dm_get_words(kf, "diarium", col_keys[c]);
    yes = dm_get_words(kf, "diarium", "sekretess_yes");
    closed = dm_get_words(kf, "diarium", "closed");
    dm_dnr_parser_set_export(p->dnr, columns, yes, closed);
    for (int c = 0; c < DM_CASE_COL_N; c++)
        g_strfreev(columns[c]);
    g_strfreev(yes);
    g_strfreev(closed);
    return true;
}

static void dm_replies_clear(dm_replies *r)
{
    g_strfreev(r->header_from);
    g_strfreev(r->header_more);
    g_strfreev(r->separator);
    g_strfreev(r->wrote);
    g_strfreev(r->forward);
    g_strfreev(r->reply_prefixes);
    g_strfreev(r->forward_prefixes);
    memset(r, 0, sizeof *r);
}

/* base: directory that relative list paths are relative to. */
static dm_policy *dm_policy_build(const dm_conf *conf, GKeyFile *kf, const char *base,
                                  GError **err)
{
    dm_policy *p = dm_policy_alloc(conf);

    if (!dm_load_casenumbers(p, kf, err))
        goto fail;
    if (kf != NULL && !dm_load_thresholds(p, kf, err))
        goto fail;
    if (!dm_load_lists(p, kf, base, err))
        goto fail;
    if (kf != NULL && !dm_load_words(p, kf, err))
        goto fail;
    return p;
fail:
    dm_policy_free(p);
    return NULL;
}

/* The rules alone (errors are the rules file's). */
static dm_policy *dm_policy_rules(const dm_conf *conf, const char *rules, gsize len, GError **err)
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

/* The reason catalogue of the site's language, loaded with the rules. */
static dm_policy *dm_policy_reasons(dm_policy *p, const dm_conf *conf, GError **err)
{
    p->reasons = dm_reasons_load(conf->templates, conf->language, err);
    if (p->reasons == NULL) {
        g_prefix_error(err, "[policy] templates: ");
        dm_policy_free(p);
        return NULL;
    }
    return p;
}

dm_policy *dm_policy_new_from_data(const dm_conf *conf, const char *rules, gsize len,
                                   GError **err)
{
    dm_policy *p = dm_policy_rules(conf, rules, len, err);

    return p != NULL ? dm_policy_reasons(p, conf, err) : NULL;
}

dm_policy *dm_policy_new(const dm_conf *conf, GError **err)
{
    char *text = NULL;
    gsize len = 0;
    dm_policy *p;

    char *file = dm_data_find_file(conf->rules_file);

    if (!g_file_get_contents(file, &text, &len, err)) {
        g_prefix_error(err, "[policy] rules: ");
        g_free(file);
        return NULL;
    }
    p = dm_policy_rules(conf, text, len, err);
    g_free(text);
    if (p == NULL) {
        g_prefix_error(err, "%s: ", file);
        g_free(file);
        return NULL;
    }
    g_free(file);
    return dm_policy_reasons(p, conf, err);
}

void dm_policy_free(dm_policy *p)
{
    if (p == NULL)
        return;
    dm_dnr_parser_free(p->dnr);
    for (guint i = 0; i < p->n_langs; i++)
        dm_lex_free(p->langs[i].lex);
    g_free(p->langs);
    dm_replies_clear(&p->replies);
    g_strfreev(p->autoreply_subjects);
    dm_seg_words_free(p->seg_words);
    dm_reasons_free(p->reasons);
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

const dm_seg_words *dm_policy_seg_words(const dm_policy *p)
{
    return p->seg_words;
}

const char *const *dm_policy_autoreply_subjects(const dm_policy *p)
{
    static const char *const none[] = {NULL};

    return p->autoreply_subjects != NULL ? (const char *const *)p->autoreply_subjects : none;
}
