/*
 * Word lists compiled once and matched over a message's tokens.
 *
 * An entry is one or more elements separated by blanks, matched against
 * consecutive tokens of one sentence:
 *
 *   ansöka       the word in any inflection: a token whose Snowball stem
 *                is the entry's stem (ansöka, ansöker, ansökte); a word of
 *                three bytes or fewer ("vi", "ber") is just that word
 *   =ansöker     exactly this word form, no stemming
 *   ansök*       a token that starts with it (ansökan, ansökningar)
 *   *ansökan     a token whose stem ends with the entry's stem: a compound
 *                with that head (bygglovsansökan)
 *   *bistånd*    a token that holds it anywhere
 *   ..           up to three tokens of anything (..0 to ..9: up to N)
 *   %num         a number ("fyller %num" matches "fyller 70")
 *   ^            (first) only at the start of a sentence ("^hur")
 *   @act         any entry of the list "act" (a section of rules.conf)
 *
 * Tokens are lower case; an element with a hyphen or other non-letter
 * ("a-kassa") is the tokens it would be cut into.
 *
 * Matching is linear in the tokens: each token is looked up once per
 * pattern kind in open-addressing hash tables (exact word, stem, prefix
 * and suffix by length); each list is then matched from the positions of
 * its entries' first patterns, lists that others refer to first.
 */
#include <string.h>

#include "dm_policy_lex_int.h"

/* ---- pair tables ---------------------------------------------------------- */

/* The kind table a pattern goes to, and the pair it is filed under; -1
 * when it has no place (numbers, one-byte patterns: shorts). */
static void dm_pairtab_build(dm_pairtab *t, const dm_lex *x)
{
    static const struct {
        dm_pat_kind kind;
        bool by_last;
    } kinds[DM_PAIRS_N] = {
        [DM_PAIRS_STEM] = {DM_PAT_STEM, false},   [DM_PAIRS_RAW] = {DM_PAT_RAW, false},
        [DM_PAIRS_PREFIX] = {DM_PAT_PREFIX, false}, [DM_PAIRS_SUFFIX] = {DM_PAT_SUFFIX, true},
        [DM_PAIRS_SUFHEAD] = {DM_PAT_SUFFIX, false}, [DM_PAIRS_INFIX] = {DM_PAT_INFIX, false},
    };
    guint n = 0, cap = 16;
    guint32 *fill = NULL;

    for (int k = 0; k < DM_PAIRS_N; k++)
        t->shorts[k] = g_array_new(FALSE, FALSE, sizeof(guint));
    for (guint i = 0; i < x->pats->len; i++) {
        const dm_pat *p = g_ptr_array_index(x->pats, i);
        n += (p->kind == DM_PAT_SUFFIX ? 2 : 1);
    }
    t->shift = 28;
    while (cap < n * 2 + 2) {
        cap <<= 1;
        t->shift--;
    }
    t->slots = g_new0(dm_pair, cap);
    t->mask = cap - 1;
    /* Count per pair and kind, then place each kind's patterns pair by
     * pair. */
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < DM_PAIRS_N; k++) {
            for (guint i = 0; i < x->pats->len; i++) {
                const dm_pat *p = g_ptr_array_index(x->pats, i);
                guint v2, h, j;

                if (p->kind != kinds[k].kind || p->kind == DM_PAT_NUMBER)
                    continue;
                if (p->len < 2) {
                    if (pass == 0)
                        g_array_append_val(t->shorts[k], i);
                    continue;
                }
                v2 = dm_pair_of(kinds[k].by_last ? p->s + p->len - 2 : p->s);
                h = dm_pair_hash(v2);
                j = h >> t->shift;
                while (t->slots[j].key != 0 && t->slots[j].key != v2 + 1)
                    j = (j + 1) & t->mask;
                if (pass == 0) {
                    t->slots[j].key = v2 + 1;
                    t->slots[j].count[k]++;
                    t->n[k]++;
                    t->filter[(h >> 19) >> 3] |= (guint8)(1u << ((h >> 19) & 7));
                    if (k == DM_PAIRS_SUFHEAD || k == DM_PAIRS_INFIX)
                        t->scan[(h >> 19) >> 3] |= (guint8)(1u << ((h >> 19) & 7));
                } else {
                    dm_pref *r = &t->refs[k][fill[j * DM_PAIRS_N + k]++];
                    r->off = p->blob_off;
                    r->len = (guint16)p->len;
                    r->id = (guint16)i;
                }
            }
        }
        if (pass == 0) {
            fill = g_new0(guint32, (gsize)cap * DM_PAIRS_N);
            for (int k = 0; k < DM_PAIRS_N; k++) {
                guint32 at = 0;
                t->refs[k] = g_new0(dm_pref, t->n[k] + 1);
                for (guint j = 0; j < cap; j++) {
                    t->slots[j].start[k] = at;
                    fill[j * DM_PAIRS_N + k] = at;
                    at += t->slots[j].count[k];
                }
            }
        }
    }
    g_free(fill);
}

static void dm_pairtab_free(dm_pairtab *t)
{
    g_free(t->slots);
    for (int k = 0; k < DM_PAIRS_N; k++) {
        g_free(t->refs[k]);
        if (t->shorts[k] != NULL)
            g_array_free(t->shorts[k], TRUE);
    }
}

/* ---- building ------------------------------------------------------------- */

dm_lex *dm_lex_new_lang(const char *stemmer)
{
    dm_lex *x = dm_lex_new();

    if (stemmer != NULL && strcmp(stemmer, "swedish") != 0)
        x->stemmer = g_strdup(stemmer);
    /* The Snowball stemmers that take prefixes away (or change a word's
     * start) are the exception: Arabic, and the ones not listed here. */
    x->suffix_only = stemmer != NULL &&
                     (strcmp(stemmer, "english") == 0 || strcmp(stemmer, "finnish") == 0 ||
                      strcmp(stemmer, "danish") == 0 || strcmp(stemmer, "norwegian") == 0 ||
                      strcmp(stemmer, "german") == 0 || strcmp(stemmer, "dutch") == 0 ||
                      strcmp(stemmer, "french") == 0 || strcmp(stemmer, "spanish") == 0);
    return x;
}

const char *dm_lex_stemmer(const dm_lex *x)
{
    return x->stemmer;
}

dm_lex *dm_lex_new(void)
{
    dm_lex *x = g_new0(dm_lex, 1);

    x->lists = g_ptr_array_new();
    x->list_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    x->pats = g_ptr_array_new();
    x->pat_ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    x->number = -1;
    return x;
}

static void dm_lentry_free(dm_lentry *e)
{
    g_free(e->els);
    g_free(e->text);
    g_strfreev(e->ref_names);
    g_free(e);
}

void dm_lex_free(dm_lex *x)
{
    if (x == NULL)
        return;
    for (guint i = 0; i < x->lists->len; i++) {
        dm_list *l = g_ptr_array_index(x->lists, i);
        for (guint j = 0; j < l->entries->len; j++)
            dm_lentry_free(g_ptr_array_index(l->entries, j));
        g_ptr_array_free(l->entries, TRUE);
        g_array_free(l->pat_first, TRUE);
        g_array_free(l->pat_first_id, TRUE);
        g_array_free(l->ref_first, TRUE);
        g_free(l->name);
        g_free(l);
    }
    g_ptr_array_free(x->lists, TRUE);
    g_hash_table_destroy(x->list_ids);
    for (guint i = 0; i < x->pats->len; i++) {
        dm_pat *p = g_ptr_array_index(x->pats, i);
        g_free(p->s);
        g_free(p);
    }
    g_ptr_array_free(x->pats, TRUE);
    g_hash_table_destroy(x->pat_ids);
    dm_pairtab_free(&x->pt);
    if (x->blob != NULL)
        g_string_free(x->blob, TRUE);
    g_free(x->order);
    g_free(x->stemmer);
    g_free(x);
}

static guint dm_lex_pattern(dm_lex *x, dm_pat_kind kind, const char *s)
{
    char *key = g_strdup_printf("%d:%s", (int)kind, s);
    gpointer v = g_hash_table_lookup(x->pat_ids, key);
    dm_pat *p;

    if (v != NULL) {
        g_free(key);
        return GPOINTER_TO_UINT(v) - 1;
    }
    p = g_new0(dm_pat, 1);
    p->kind = kind;
    p->s = g_strdup(s);
    p->len = (guint)strlen(s);
    g_ptr_array_add(x->pats, p);
    g_hash_table_insert(x->pat_ids, key, GUINT_TO_POINTER(x->pats->len));
    return x->pats->len - 1;
}

/* The tokens the tokenizer would cut a lower-case string into. */
static char **dm_lex_cut(const char *s)
{
    GPtrArray *out = g_ptr_array_new();
    GString *w = g_string_new(NULL);

    for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_isalnum(c)) {
            g_string_append_unichar(w, g_unichar_tolower(c));
        } else if (w->len > 0) {
            g_ptr_array_add(out, g_strdup(w->str));
            g_string_truncate(w, 0);
        }
    }
    if (w->len > 0)
        g_ptr_array_add(out, g_strdup(w->str));
    g_string_free(w, TRUE);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static bool dm_is_alpha_word(const char *s)
{
    for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
        if (g_unichar_isalpha(g_utf8_get_char(p)))
            return true;
    }
    return false;
}

/* The stem the tokenizer would give the token. */
static char *dm_lex_stem(const dm_lex *x, const char *word)
{
    if (strlen(word) <= 3 || !dm_is_alpha_word(word))
        return g_strdup(word);
    return dm_stem_word_lang(x->stemmer, word);
}

/* One element of an entry, appended to els (and names for references). */
static bool dm_lex_element(dm_lex *x, const char *elem, GArray *els, GPtrArray *names,
                           const char *entry, GError **err)
{
    char *w = g_utf8_strdown(elem, -1);
    size_t len = strlen(w);
    bool pre = false, post = false, raw = false;
    char **parts;
    guint n;

    if (strcmp(w, "..") == 0 ||
        (len == 3 && w[0] == '.' && w[1] == '.' && g_ascii_isdigit(w[2]))) {
        dm_el e = {.kind = DM_EL_GAP, .gap = len == 3 ? (guint8)(w[2] - '0') : DM_GAP_DEFAULT};
        g_array_append_val(els, e);
        g_free(w);
        return true;
    }
    if (strcmp(w, "%num") == 0) {
        dm_el e = {.kind = DM_EL_PAT, .id = dm_lex_pattern(x, DM_PAT_NUMBER, "%num")};
        g_array_append_val(els, e);
        g_free(w);
        return true;
    }
    if (w[0] == '@') {
        dm_el e = {.kind = DM_EL_REF, .id = names->len};
        if (w[1] == '\0') {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "\"%s\": \"@\" without a list name", entry);
            g_free(w);
            return false;
        }
        g_ptr_array_add(names, g_strdup(w + 1));
        g_array_append_val(els, e);
        g_free(w);
        return true;
    }
    if (w[0] == '=') {
        raw = true;
        memmove(w, w + 1, len--);
    }
    if (len > 0 && w[0] == '*') {
        pre = true;
        memmove(w, w + 1, len--);
    }
    if (len > 0 && w[len - 1] == '*') {
        post = true;
        w[--len] = '\0';
    }
    parts = dm_lex_cut(w);
    n = g_strv_length(parts);
    for (guint i = 0; i < n; i++) {
        bool p_pre = pre && i == 0, p_post = post && i == n - 1;
        dm_el e = {.kind = DM_EL_PAT};
        char *stem;

        if (p_pre && p_post) {
            e.id = dm_lex_pattern(x, DM_PAT_INFIX, parts[i]);
        } else if (p_post) {
            e.id = dm_lex_pattern(x, DM_PAT_PREFIX, parts[i]);
        } else if (p_pre) {
            stem = dm_lex_stem(x, parts[i]);
            e.id = dm_lex_pattern(x, DM_PAT_SUFFIX, stem);
            g_free(stem);
        } else if (raw || strlen(parts[i]) <= 3) {
            /* Snowball leaves words of three bytes or fewer as they are:
             * such an entry is the word itself. */
            e.id = dm_lex_pattern(x, DM_PAT_RAW, parts[i]);
        } else {
            stem = dm_lex_stem(x, parts[i]);
            e.id = dm_lex_pattern(x, DM_PAT_STEM, stem);
            g_free(stem);
        }
        g_array_append_val(els, e);
    }
    g_strfreev(parts);
    g_free(w);
    return true;
}

bool dm_lex_add_list(dm_lex *x, const char *name, char **entries, guint *id, GError **err)
{
    dm_list *l;

    g_return_val_if_fail(!x->finished, false);
    if (g_hash_table_contains(x->list_ids, name)) {
        g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "list \"%s\" defined twice", name);
        return false;
    }
    l = g_new0(dm_list, 1);
    l->name = g_strdup(name);
    l->entries = g_ptr_array_new();
    l->pat_first = g_array_new(FALSE, FALSE, sizeof(guint));
    l->pat_first_id = g_array_new(FALSE, FALSE, sizeof(guint16));
    l->ref_first = g_array_new(FALSE, FALSE, sizeof(guint));
    g_ptr_array_add(x->lists, l);
    g_hash_table_insert(x->list_ids, g_strdup(name), GUINT_TO_POINTER(x->lists->len));
    if (id != NULL)
        *id = x->lists->len - 1;

    for (char **e = entries; e != NULL && *e != NULL; e++) {
        char **elems = g_strsplit_set(*e, " \t", -1);
        GArray *els = g_array_new(FALSE, FALSE, sizeof(dm_el));
        GPtrArray *names = g_ptr_array_new();
        dm_lentry *le;
        bool ok = true, anchored = false;

        for (char **w = elems; ok && *w != NULL; w++) {
            if (**w == '\0')
                continue;
            if (strcmp(*w, "^") == 0 && els->len == 0 && !anchored) {
                anchored = true;
                continue;
            }
            if ((*w)[0] == '^' && els->len == 0 && !anchored) {
                anchored = true;
                ok = dm_lex_element(x, *w + 1, els, names, *e, err);
                continue;
            }
            ok = dm_lex_element(x, *w, els, names, *e, err);
        }
        g_strfreev(elems);
        if (ok && els->len > 0 &&
            (g_array_index(els, dm_el, 0).kind == DM_EL_GAP ||
             g_array_index(els, dm_el, els->len - 1).kind == DM_EL_GAP)) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "\"%s\": an entry may not start or end with \"..\"", *e);
            ok = false;
        }
        if (!ok || els->len == 0) {
            g_array_free(els, TRUE);
            g_ptr_array_free(names, TRUE);
            if (!ok) {
                g_prefix_error(err, "list %s: ", name);
                return false;
            }
            continue;
        }
        le = g_new0(dm_lentry, 1);
        le->anchored = anchored;
        le->n = els->len;
        le->els = (dm_el *)g_array_free(els, FALSE);
        le->text = g_strstrip(g_strdup(*e));
        g_ptr_array_add(names, NULL);
        le->ref_names = (char **)g_ptr_array_free(names, FALSE);
        g_ptr_array_add(l->entries, le);
    }
    return true;
}

static bool dm_lex_level(dm_lex *x, guint id, guint8 *state, GError **err)
{
    dm_list *l = g_ptr_array_index(x->lists, id);
    guint level = 0;

    if (state[id] == 2)
        return true;
    if (state[id] == 1) {
        g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "list \"%s\" refers to itself (through @ references)", l->name);
        return false;
    }
    state[id] = 1;
    for (guint j = 0; j < l->entries->len; j++) {
        dm_lentry *e = g_ptr_array_index(l->entries, j);
        for (guint k = 0; k < e->n; k++) {
            dm_list *r;
            if (e->els[k].kind != DM_EL_REF)
                continue;
            if (!dm_lex_level(x, e->els[k].id, state, err))
                return false;
            r = g_ptr_array_index(x->lists, e->els[k].id);
            level = MAX(level, r->level + 1);
        }
    }
    l->level = level;
    state[id] = 2;
    return true;
}

static gint dm_lex_cmp_level(gconstpointer a, gconstpointer b, gpointer data)
{
    dm_lex *x = data;
    const dm_list *la = g_ptr_array_index(x->lists, *(const guint *)a);
    const dm_list *lb = g_ptr_array_index(x->lists, *(const guint *)b);

    if (la->level != lb->level)
        return la->level < lb->level ? -1 : 1;
    return *(const guint *)a < *(const guint *)b ? -1 : 1;
}

bool dm_lex_finish(dm_lex *x, GError **err)
{
    guint n = x->lists->len;
    guint8 *state;

    /* References by name to ids. */
    for (guint i = 0; i < n; i++) {
        dm_list *l = g_ptr_array_index(x->lists, i);
        for (guint j = 0; j < l->entries->len; j++) {
            dm_lentry *e = g_ptr_array_index(l->entries, j);
            for (guint k = 0; k < e->n; k++) {
                gpointer v;
                if (e->els[k].kind != DM_EL_REF)
                    continue;
                v = g_hash_table_lookup(x->list_ids, e->ref_names[e->els[k].id]);
                if (v == NULL) {
                    g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                "list %s: \"%s\" refers to @%s, which no section defines",
                                l->name, e->text, e->ref_names[e->els[k].id]);
                    return false;
                }
                e->els[k].id = GPOINTER_TO_UINT(v) - 1;
            }
            g_strfreev(e->ref_names);
            e->ref_names = NULL;
            if (e->els[0].kind == DM_EL_PAT) {
                guint16 pid = (guint16)e->els[0].id;
                g_array_append_val(l->pat_first, j);
                g_array_append_val(l->pat_first_id, pid);
            }
            else
                g_array_append_val(l->ref_first, j);
        }
    }
    if (x->pats->len > G_MAXUINT16) {
        g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "more than %u different words in the lists", G_MAXUINT16);
        return false;
    }
    state = g_new0(guint8, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        if (!dm_lex_level(x, i, state, err)) {
            g_free(state);
            return false;
        }
    }
    g_free(state);
    x->order = g_new(guint, n ? n : 1);
    for (guint i = 0; i < n; i++)
        x->order[i] = i;
    g_qsort_with_data(x->order, (gint)n, sizeof(guint), dm_lex_cmp_level, x);

    /* The pattern tables, their bytes side by side. */
    x->blob = g_string_new(NULL);
    for (guint i = 0; i < x->pats->len; i++) {
        dm_pat *p = g_ptr_array_index(x->pats, i);
        p->blob_off = (guint)x->blob->len;
        g_string_append_len(x->blob, p->s, p->len);
    }
    dm_pairtab_build(&x->pt, x);
    for (guint i = 0; i < x->pats->len; i++) {
        const dm_pat *p = g_ptr_array_index(x->pats, i);
        if (p->kind == DM_PAT_NUMBER)
            x->number = i;
        else if (p->len < 2 && p->kind != DM_PAT_RAW && p->kind != DM_PAT_STEM)
            x->any_short = true;
    }
    x->finished = true;
    return true;
}

guint dm_lex_list_id(const dm_lex *x, const char *name)
{
    gpointer v = g_hash_table_lookup(x->list_ids, name);

    return v != NULL ? GPOINTER_TO_UINT(v) - 1 : G_MAXUINT;
}

const char *dm_lex_list_name(const dm_lex *x, guint id)
{
    return id < x->lists->len ? ((dm_list *)g_ptr_array_index(x->lists, id))->name : NULL;
}

const char *dm_lex_entry_text(const dm_lex *x, guint list, guint entry)
{
    dm_list *l;

    if (list >= x->lists->len)
        return NULL;
    l = g_ptr_array_index(x->lists, list);
    return entry < l->entries->len ? ((dm_lentry *)g_ptr_array_index(l->entries, entry))->text
                                   : NULL;
}

guint dm_lex_n_lists(const dm_lex *x)
{
    return x->lists->len;
}
