#include "dm_case.h"

#include <stdlib.h>
#include <string.h>

/* Built-in forms of a diarienummer.  Each names the groups myn, year, num.
 *   KS 2026/112, KS-2026-112, Dnr BN-2026-45, KS/2016:805, bn 2026/45
 *   2023/KS 0201, 2023/KS-0201
 * A number followed by "-dd" or "/dd" is a date, not a case. */
static const char *const dm_dnr_builtin[] = {
    "(?<![\\p{L}\\d])(?<myn>\\p{L}{2,6})[ \\t]*[-/ ]?[ \\t]*(?<year>(?:19|20)\\d\\d)"
    "[ \\t]*[/:\\-][ \\t]*(?<num>\\d{1,6})(?!\\d|[-/.]\\d)",
    "(?<![\\p{L}\\d/])(?<year>(?:19|20)\\d\\d)[ \\t]*/[ \\t]*(?<myn>\\p{L}{2,6})[ \\t]*[-.]?[ \\t]*"
    "(?<num>\\d{1,6})(?!\\d|[-/.]\\d)",
    NULL,
};

struct dm_dnr_parser {
    GPtrArray *regexes; /* GRegex * */
    GHashTable *known;  /* uppercase myndighet -> itself */
    bool builtin;       /* the built-in patterns: every case number has a
                         * year (19xx, 20xx) followed by "/", ":" or "-" */
    /* The export ([diarium]), lowercase. */
    char **columns[DM_CASE_COL_N];
    char **yes;
    char **closed;
    char **not_myn; /* [casenumbers] not_myndighet: "dnr" */
};

const char *const *dm_dnr_default_patterns(void)
{
    return dm_dnr_builtin;
}

dm_dnr_parser *dm_dnr_parser_new(const char *const *patterns, const char *const *known,
                                 GError **err)
{
    dm_dnr_parser *p = g_new0(dm_dnr_parser, 1);

    p->regexes = g_ptr_array_new_with_free_func((GDestroyNotify)g_regex_unref);
    p->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (patterns == NULL) {
        patterns = dm_dnr_builtin;
        p->builtin = true;
    }
    for (const char *const *s = patterns; *s != NULL; s++) {
        GRegex *re = g_regex_new(*s, G_REGEX_OPTIMIZE, 0, err);

        if (re == NULL) {
            dm_dnr_parser_free(p);
            return NULL;
        }
        if (g_regex_get_string_number(re, "myn") < 0 ||
            g_regex_get_string_number(re, "year") < 0 ||
            g_regex_get_string_number(re, "num") < 0) {
            g_set_error(err, G_REGEX_ERROR, G_REGEX_ERROR_COMPILE,
                        "case number pattern \"%s\" lacks one of the groups "
                        "(?<myn>...), (?<year>...), (?<num>...)",
                        *s);
            g_regex_unref(re);
            dm_dnr_parser_free(p);
            return NULL;
        }
        g_ptr_array_add(p->regexes, re);
    }
    for (const char *const *k = known; k != NULL && *k != NULL; k++)
        dm_dnr_parser_add_known(p, *k);
    return p;
}

void dm_dnr_parser_free(dm_dnr_parser *p)
{
    if (p == NULL)
        return;
    g_ptr_array_free(p->regexes, TRUE);
    g_hash_table_destroy(p->known);
    for (int c = 0; c < DM_CASE_COL_N; c++)
        g_strfreev(p->columns[c]);
    g_strfreev(p->yes);
    g_strfreev(p->closed);
    g_strfreev(p->not_myn);
    g_free(p);
}

/* Lowercase copies of v's non-empty entries, blanks around them dropped. */
static char **dm_words_down(char **v)
{
    GPtrArray *out = g_ptr_array_new();

    for (char **w = v; w != NULL && *w != NULL; w++) {
        char *s = g_strstrip(g_utf8_strdown(*w, -1));
        if (*s != '\0')
            g_ptr_array_add(out, s);
        else
            g_free(s);
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

void dm_dnr_parser_set_export(dm_dnr_parser *p, char **const columns[DM_CASE_COL_N],
                              char **yes, char **closed)
{
    for (int c = 0; c < DM_CASE_COL_N; c++) {
        g_strfreev(p->columns[c]);
        p->columns[c] = dm_words_down(columns[c]);
    }
    g_strfreev(p->yes);
    p->yes = dm_words_down(yes);
    g_strfreev(p->closed);
    p->closed = dm_words_down(closed);
}

void dm_dnr_parser_set_not_myndighet(dm_dnr_parser *p, const char *const *words)
{
    g_strfreev(p->not_myn);
    p->not_myn = g_strdupv((char **)words);
}

const char *const *dm_dnr_parser_column(const dm_dnr_parser *p, dm_case_column c)
{
    static const char *const none[] = {NULL};

    return c < DM_CASE_COL_N && p->columns[c] != NULL ? (const char *const *)p->columns[c]
                                                       : none;
}

bool dm_dnr_parser_yes(const dm_dnr_parser *p, const char *value)
{
    char *v = g_strstrip(g_utf8_strdown(value != NULL ? value : "", -1));
    bool yes = false;

    for (char **y = p->yes; y != NULL && *y != NULL && !yes; y++)
        yes = strcmp(v, *y) == 0;
    g_free(v);
    return yes;
}

void dm_dnr_parser_add_known(dm_dnr_parser *p, const char *myndighet)
{
    char *up = g_utf8_strup(myndighet, -1);

    g_hash_table_replace(p->known, up, up);
}

bool dm_dnr_parser_knows(const dm_dnr_parser *p, const char *myndighet)
{
    char *up;
    bool known;

    if (p == NULL || myndighet == NULL)
        return false;
    up = g_utf8_strup(myndighet, -1);
    known = g_hash_table_contains(p->known, up);
    g_free(up);
    return known;
}

void dm_dnr_free(dm_dnr *d)
{
    if (d == NULL)
        return;
    g_free(d->key);
    g_free(d->myn);
    g_free(d->written);
    g_free(d);
}

static bool dm_dnr_all_upper(const char *s)
{
    for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (!g_unichar_isupper(c))
            return false;
    }
    return true;
}

/* Turn one match into a citation, or NULL when it is not believable. */
static bool dm_dnr_in(const char *const *list, const char *up)
{
    for (const char *const *k = list; k != NULL && *k != NULL; k++) {
        if (g_ascii_strcasecmp(*k, up) == 0)
            return true;
    }
    return false;
}

static dm_dnr *dm_dnr_from_match(const dm_dnr_parser *p, const GMatchInfo *mi,
                                 const char *const *extra_known)
{
    char *myn = g_match_info_fetch_named(mi, "myn");
    char *year = g_match_info_fetch_named(mi, "year");
    char *num = g_match_info_fetch_named(mi, "num");
    char *up = NULL;
    dm_dnr *d = NULL;

    if (myn == NULL || year == NULL || num == NULL || *myn == '\0')
        goto out;
    up = g_utf8_strup(myn, -1);
    /* Written in capitals it is a case number even if the myndighet is
     * unknown (weaker evidence, decided later); in lower case only when
     * the myndighet is one we know, else "och 2026-11" would count. */
    if (!dm_dnr_all_upper(myn) && !g_hash_table_contains(p->known, up) &&
        !dm_dnr_in(extra_known, up))
        goto out;
    /* "Dnr" is the word for case number, not a myndighet. */
    if (dm_dnr_in((const char *const *)p->not_myn, myn))
        goto out;
    d = g_new0(dm_dnr, 1);
    d->myn = up;
    up = NULL;
    d->year = atoi(year);
    d->num = atoi(num);
    d->key = g_strdup_printf("%s %d/%d", d->myn, d->year, d->num);
    d->written = g_match_info_fetch(mi, 0);
out:
    g_free(up);
    g_free(myn);
    g_free(year);
    g_free(num);
    return d;
}

typedef struct {
    gint start;
    dm_dnr *d;
} dm_dnr_hit;

static gint dm_dnr_hit_cmp(gconstpointer a, gconstpointer b)
{
    const dm_dnr_hit *x = a, *y = b;

    return (x->start > y->start) - (x->start < y->start);
}

/* Matches of every pattern in text[start, end) (lookbehind sees before
 * start), appended to hits; seen: "regex:offset" of matches kept. */
static void dm_dnr_scan(const dm_dnr_parser *p, const char *text, gssize end, gint start,
                        bool at_text_end, const char *const *extra_known, GArray *hits,
                        GHashTable *seen)
{
    for (guint i = 0; i < p->regexes->len; i++) {
        GMatchInfo *mi = NULL;

        g_regex_match_full(g_ptr_array_index(p->regexes, i), text, end, start, 0, &mi, NULL);
        while (g_match_info_matches(mi)) {
            dm_dnr_hit h;
            gint mend;

            g_match_info_fetch_pos(mi, 0, &h.start, &mend);
            /* Near a window's end the number may go on beyond it: its own
             * year's window reads it whole. */
            if (!at_text_end && mend + 4 > end) {
                g_match_info_next(mi, NULL);
                continue;
            }
            if (seen == NULL ||
                g_hash_table_add(seen, GINT_TO_POINTER(h.start * 8 + (gint)i + 1))) {
                h.d = dm_dnr_from_match(p, mi, extra_known);
                if (h.d != NULL)
                    g_array_append_val(hits, h);
            }
            g_match_info_next(mi, NULL);
        }
        g_match_info_free(mi);
    }
}

/* Bytes around a year that a built-in case number can span. */
#define DM_DNR_BEFORE 64
#define DM_DNR_AFTER 64

GPtrArray *dm_dnr_find_all(const dm_dnr_parser *p, const char *text,
                           const char *const *extra_known)
{
    GArray *hits = g_array_new(FALSE, FALSE, sizeof(dm_dnr_hit));
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)dm_dnr_free);
    GHashTable *seen = NULL;

    if (text == NULL || *text == '\0')
        goto done;
    if (!p->builtin) {
        dm_dnr_scan(p, text, -1, 0, true, extra_known, hits, NULL);
    } else {
        /* The regular expressions only where a year stands before "/",
         * ":" or "-": most text has none, and this keeps the cost linear
         * and small. */
        size_t n = strlen(text);
        GHashTable *at = NULL; /* made at the first year: most text has none */

        for (size_t i = 0; i + 4 < n; i++) {
            size_t j, from, to;

            if (!((text[i] == '1' && text[i + 1] == '9') || (text[i] == '2' && text[i + 1] == '0')) ||
                !g_ascii_isdigit(text[i + 2]) || !g_ascii_isdigit(text[i + 3]) ||
                (i > 0 && g_ascii_isdigit(text[i - 1])) || g_ascii_isdigit(text[i + 4]))
                continue;
            for (j = i + 4; j < n && (text[j] == ' ' || text[j] == '\t'); j++)
                ;
            if (j >= n || (text[j] != '/' && text[j] != ':' && text[j] != '-'))
                continue;
            from = i > DM_DNR_BEFORE ? i - DM_DNR_BEFORE : 0;
            while (from > 0 && ((unsigned char)text[from] & 0xC0) == 0x80)
                from--; /* a character's start */
            to = MIN(n, i + DM_DNR_AFTER);
            while (to < n && ((unsigned char)text[to] & 0xC0) == 0x80)
                to--; /* end before a character, not inside one */
            /* Overlapping windows find the same match twice: "at" keeps
             * one. */
            if (at == NULL)
                at = g_hash_table_new(g_direct_hash, g_direct_equal);
            dm_dnr_scan(p, text, (gssize)to, (gint)from, to == n, extra_known, hits, at);
            i += 3;
        }
        if (at != NULL)
            g_hash_table_destroy(at);
    }
    if (hits->len > 1)
        g_array_sort(hits, dm_dnr_hit_cmp);
    if (hits->len > 0)
        seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < hits->len; i++) {
        dm_dnr_hit *h = &g_array_index(hits, dm_dnr_hit, i);
        if (g_hash_table_contains(seen, h->d->key)) {
            dm_dnr_free(h->d);
            continue;
        }
        g_hash_table_add(seen, h->d->key);
        g_ptr_array_add(out, h->d);
    }
done:
    if (seen != NULL)
        g_hash_table_destroy(seen);
    g_array_free(hits, TRUE);
    return out;
}

dm_dnr *dm_dnr_parse(const dm_dnr_parser *p, const char *s)
{
    GPtrArray *all = dm_dnr_find_all(p, s, NULL);
    dm_dnr *d = NULL;

    if (all->len > 0)
        d = g_ptr_array_steal_index(all, 0);
    g_ptr_array_free(all, TRUE);
    return d;
}

struct dm_case_index {
    gint refcount;
    GPtrArray *cases;      /* dm_case *, owns them */
    GHashTable *by_key;    /* key -> dm_case * */
    GHashTable *by_party;  /* address -> GPtrArray of dm_case * */
    GPtrArray *myndigheter; /* char *, NULL-terminated */
};

static void dm_case_free(gpointer p)
{
    dm_case *c = p;

    g_free(c->dnr);
    g_free(c->key);
    g_free(c->myndighet);
    g_free(c->title);
    g_strfreev(c->parties);
    g_free(c);
}

dm_case_index *dm_case_index_new(void)
{
    dm_case_index *idx = g_new0(dm_case_index, 1);

    idx->refcount = 1;
    idx->cases = g_ptr_array_new_with_free_func(dm_case_free);
    idx->by_key = g_hash_table_new(g_str_hash, g_str_equal);
    idx->by_party = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify)g_ptr_array_unref);
    idx->myndigheter = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(idx->myndigheter, NULL);
    return idx;
}

bool dm_case_status_open(const dm_dnr_parser *p, const char *status)
{
    char *low;
    bool open = true;

    if (status == NULL)
        return true;
    low = g_utf8_strdown(status, -1);
    for (char **c = p->closed; c != NULL && *c != NULL; c++) {
        if (strstr(low, *c) != NULL)
            open = false;
    }
    g_free(low);
    return open;
}

bool dm_case_index_add(dm_case_index *idx, const dm_dnr_parser *parser, const char *dnr,
                       const char *myndighet, const char *title, const char *status,
                       const char *parties, bool sekretess)
{
    dm_dnr *d = dm_dnr_parse(parser, dnr);
    dm_case *c;
    char **ps;
    GPtrArray *plist;
    bool known = false;

    if (d == NULL)
        return false;
    c = g_new0(dm_case, 1);
    c->dnr = g_strdup(dnr);
    c->key = g_strdup(d->key);
    c->myndighet = g_utf8_strup(myndighet != NULL && *myndighet ? myndighet : d->myn, -1);
    c->title = g_strdup(title != NULL ? title : "");
    c->open = dm_case_status_open(parser, status);
    c->sekretess = sekretess;
    dm_dnr_free(d);

    ps = g_strsplit_set(parties != NULL ? parties : "", ",; ", -1);
    plist = g_ptr_array_new();
    for (char **q = ps; *q != NULL; q++) {
        char *a = g_ascii_strdown(g_strstrip(*q), -1);
        if (*a == '\0') {
            g_free(a);
            continue;
        }
        g_ptr_array_add(plist, a);
    }
    g_strfreev(ps);
    g_ptr_array_add(plist, NULL);
    c->parties = (char **)g_ptr_array_free(plist, FALSE);

    /* A later row for the same case replaces the earlier one.  The old
     * row stays owned by idx->cases, but it must also leave its parties'
     * lists: else dm_case_index_by_party would still offer the replaced
     * (e.g. since closed) case, and R6.3 would fire on stale data. */
    {
        dm_case *old = g_hash_table_lookup(idx->by_key, c->key);

        if (old != NULL) {
            for (char **a = old->parties; *a != NULL; a++) {
                GPtrArray *arr = g_hash_table_lookup(idx->by_party, *a);
                if (arr != NULL) {
                    g_ptr_array_remove(arr, old);
                    if (arr->len == 0)
                        g_hash_table_remove(idx->by_party, *a);
                }
            }
            g_hash_table_remove(idx->by_key, c->key);
        }
    }
    g_ptr_array_add(idx->cases, c);
    g_hash_table_insert(idx->by_key, c->key, c);
    for (char **a = c->parties; *a != NULL; a++) {
        GPtrArray *arr = g_hash_table_lookup(idx->by_party, *a);
        if (arr == NULL) {
            arr = g_ptr_array_new();
            g_hash_table_insert(idx->by_party, g_strdup(*a), arr);
        }
        g_ptr_array_add(arr, c);
    }
    for (guint i = 0; i + 1 < idx->myndigheter->len; i++) {
        if (strcmp(g_ptr_array_index(idx->myndigheter, i), c->myndighet) == 0)
            known = true;
    }
    if (!known)
        g_ptr_array_insert(idx->myndigheter, (gint)idx->myndigheter->len - 1,
                           g_strdup(c->myndighet));
    return true;
}

dm_case_index *dm_case_index_ref(dm_case_index *idx)
{
    if (idx != NULL)
        g_atomic_int_inc(&idx->refcount);
    return idx;
}

void dm_case_index_unref(dm_case_index *idx)
{
    if (idx == NULL || !g_atomic_int_dec_and_test(&idx->refcount))
        return;
    g_hash_table_destroy(idx->by_key);
    g_hash_table_destroy(idx->by_party);
    g_ptr_array_free(idx->cases, TRUE);
    g_ptr_array_free(idx->myndigheter, TRUE);
    g_free(idx);
}

size_t dm_case_index_size(const dm_case_index *idx)
{
    return idx != NULL ? g_hash_table_size(idx->by_key) : 0;
}

const dm_case *dm_case_index_find(const dm_case_index *idx, const char *key)
{
    if (idx == NULL || key == NULL)
        return NULL;
    return g_hash_table_lookup(idx->by_key, key);
}

const GPtrArray *dm_case_index_by_party(const dm_case_index *idx, const char *addr)
{
    if (idx == NULL || addr == NULL)
        return NULL;
    return g_hash_table_lookup(idx->by_party, addr);
}

const char *const *dm_case_index_myndigheter(const dm_case_index *idx)
{
    static const char *const none[] = {NULL};

    if (idx == NULL)
        return none;
    return (const char *const *)idx->myndigheter->pdata;
}
