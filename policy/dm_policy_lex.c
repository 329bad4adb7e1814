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

#include "dm_policy_int.h"

#define DM_GAP_DEFAULT 3

typedef enum {
    DM_PAT_STEM,
    DM_PAT_RAW,
    DM_PAT_PREFIX,
    DM_PAT_SUFFIX,
    DM_PAT_INFIX,
    DM_PAT_NUMBER,
} dm_pat_kind;

typedef struct {
    dm_pat_kind kind;
    char *s;
    guint len;
    guint blob_off; /* where its bytes stand in dm_lex.blob */
} dm_pat;

typedef enum { DM_EL_PAT, DM_EL_REF, DM_EL_GAP } dm_el_kind;

typedef struct {
    guint8 kind;
    guint8 gap;
    guint32 id; /* pattern or list */
} dm_el;

typedef struct {
    dm_el *els;
    guint n;
    char *text;       /* as written */
    char **ref_names; /* while building: names of DM_EL_REF elements */
    bool anchored;    /* "^": only at the start of a sentence */
} dm_lentry;

typedef struct {
    char *name;
    GPtrArray *entries;  /* dm_lentry * */
    GArray *pat_first;   /* guint: entries whose first element is a pattern */
    GArray *pat_first_id; /* guint16: that pattern, side by side (read for
                           * every message: no pointer to chase) */
    GArray *ref_first;   /* guint: entries whose first element is a list */
    guint level;         /* evaluation order: after every list it refers to */
} dm_list;

/* The pattern tables.  Each kind of pattern (by its first two bytes, or
 * a compound head by its last two when matched at a stem's end) is
 * grouped by that pair of bytes; one table of pairs holds, for each pair,
 * where its patterns of every kind begin.  A word is looked up with one
 * probe for its first two bytes and one for its stem's last two, behind
 * a 1 KiB filter that stays in the first-level cache. */
enum {
    DM_PAIRS_STEM,    /* STEM, by first two bytes */
    DM_PAIRS_RAW,     /* RAW */
    DM_PAIRS_PREFIX,  /* PREFIX */
    DM_PAIRS_SUFFIX,  /* SUFFIX, by last two bytes: at the stem's end */
    DM_PAIRS_SUFHEAD, /* SUFFIX, by first two: inside a word (to stem it) */
    DM_PAIRS_INFIX,   /* INFIX */
    DM_PAIRS_N
};

typedef struct {
    guint32 key;                 /* the pair + 1; 0: an empty slot */
    guint32 start[DM_PAIRS_N];   /* in dm_pairtab.refs[kind] */
    guint16 count[DM_PAIRS_N];
} dm_pair;

/* A pattern where matching needs it: its bytes in dm_lex.blob. */
typedef struct {
    guint32 off;
    guint16 len;
    guint16 id;
} dm_pref;

#define DM_FILTER_BITS 8192 /* 1 KiB */

typedef struct {
    guint8 filter[DM_FILTER_BITS / 8]; /* pairs with patterns of any kind */
    guint8 scan[DM_FILTER_BITS / 8];   /* pairs with SUFHEAD or INFIX ones */
    dm_pair *slots;
    guint mask;
    guint shift;                       /* slot = hash >> shift */
    dm_pref *refs[DM_PAIRS_N];
    guint n[DM_PAIRS_N];               /* patterns of two bytes or more */
    GArray *shorts[DM_PAIRS_N];        /* guint: patterns of one byte */
} dm_pairtab;

struct dm_lex {
    GPtrArray *lists;       /* dm_list * */
    GHashTable *list_ids;   /* name -> id + 1 */
    GPtrArray *pats;        /* dm_pat * */
    GHashTable *pat_ids;    /* "kind:string" -> id + 1 */
    dm_pairtab pt;
    bool any_short;         /* a PREFIX, SUFFIX or INFIX pattern of one byte */
    GString *blob;          /* every pattern's bytes, for dm_pref */
    gint64 number;          /* the %num pattern's id, or -1 */
    guint *order;           /* lists in evaluation order */
    bool finished;
};

/* ---- hash tables ----------------------------------------------------------- */

static inline guint dm_pair_hash(guint v2)
{
    return v2 * 2654435761u;
}

static inline bool dm_filter_has(const guint8 *filter, guint h)
{
    return (filter[(h >> 19) >> 3] >> ((h >> 19) & 7)) & 1;
}

static inline guint dm_pair_of(const char *two)
{
    return ((guint)(unsigned char)two[0] << 8) | (unsigned char)two[1];
}

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

/* The pair v2 (hash h), or NULL: the caller checked a filter. */
static inline const dm_pair *dm_pairtab_get(const dm_pairtab *t, guint v2, guint h)
{
    guint j = h >> t->shift;

    while (t->slots[j].key != 0) {
        if (t->slots[j].key == v2 + 1)
            return &t->slots[j];
        j = (j + 1) & t->mask;
    }
    return NULL;
}

/* ---- building ------------------------------------------------------------- */

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
static char *dm_lex_stem(const char *word)
{
    if (strlen(word) <= 3 || !dm_is_alpha_word(word))
        return g_strdup(word);
    return dm_stem_word(word);
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
            stem = dm_lex_stem(parts[i]);
            e.id = dm_lex_pattern(x, DM_PAT_SUFFIX, stem);
            g_free(stem);
        } else if (raw || strlen(parts[i]) <= 3) {
            /* Snowball leaves words of three bytes or fewer as they are:
             * such an entry is the word itself. */
            e.id = dm_lex_pattern(x, DM_PAT_RAW, parts[i]);
        } else {
            stem = dm_lex_stem(parts[i]);
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

/* ---- matching ------------------------------------------------------------- */


/* The pattern ids of a text, written in place (an append call per id
 * costs more than the lookups). */
typedef struct {
    GArray *a;
    guint n;
} dm_ids;

static inline void dm_tag_add(dm_ids *ids, gint64 id)
{
    if (ids->n == ids->a->len)
        g_array_set_size(ids->a, ids->a->len * 2 + 64);
    g_array_index(ids->a, guint16, ids->n++) = (guint16)id;
}

/* What Snowball's Swedish stemmer can take from a word's end: a step-1
 * suffix, then the last letter of dd/gd/nn/dt/gt/kt/tt (step 2), then
 * lig/ig/els or the t of löst/fullt (step 3).  Read backwards, a word is
 * its stem, then step 3's, step 2's and step 1's parts: a word can have
 * the stem p only if it is p followed by one of these tails.  (A unit test
 * checks the library against this list.) */
static const char *const dm_step1[] = {
    "", "a", "arna", "erna", "heterna", "orna", "ad", "e", "ade", "ande", "arne", "are",
    "aste", "en", "anden", "aren", "heten", "ern", "ar", "er", "heter", "or", "as", "arnas",
    "ernas", "ornas", "es", "ades", "andes", "ens", "arens", "hetens", "erns", "at", "andet",
    "het", "ast", "s", "et", "ets", NULL};
static const char *const dm_step2[] = {"", "d", "n", "t", "k", "g", NULL};
static const char *const dm_step3[] = {"", "lig", "ig", "els", "t", NULL};

#define DM_TAILS_CAP 2048 /* a power of two, over twice the tails */

static struct {
    gsize once;
    char *s[DM_TAILS_CAP]; /* open addressing by FNV-1a */
} dm_tails;

static guint32 dm_fnv(const char *s, size_t n)
{
    guint32 h = 2166136261u;

    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void dm_tails_init(void)
{
    if (!g_once_init_enter(&dm_tails.once))
        return;
    for (int a = 0; dm_step3[a] != NULL; a++) {
        for (int b = 0; dm_step2[b] != NULL; b++) {
            for (int c = 0; dm_step1[c] != NULL; c++) {
                char *t = g_strconcat(dm_step3[a], dm_step2[b], dm_step1[c], NULL);
                guint32 j = dm_fnv(t, strlen(t)) & (DM_TAILS_CAP - 1);
                bool dup = false;
                while (dm_tails.s[j] != NULL && !dup) {
                    dup = strcmp(dm_tails.s[j], t) == 0;
                    j = (j + 1) & (DM_TAILS_CAP - 1);
                }
                if (dup)
                    g_free(t);
                else
                    dm_tails.s[j] = t; /* kept for the process's life */
            }
        }
    }
    g_once_init_leave(&dm_tails.once, 1);
}

bool dm_stem_tail_possible(const char *tail, size_t n)
{
    guint32 j;

    if (n > 14)
        return false;
    dm_tails_init();
    j = dm_fnv(tail, n) & (DM_TAILS_CAP - 1);
    while (dm_tails.s[j] != NULL) {
        if (strncmp(dm_tails.s[j], tail, n) == 0 && dm_tails.s[j][n] == '\0')
            return true;
        j = (j + 1) & (DM_TAILS_CAP - 1);
    }
    return false;
}

/* The patterns of kind k in pair pr that match s[0, n): the whole word
 * (mode 0), its start (1) or its end (2). */
static inline void dm_tag_kind(const dm_lex *x, const dm_pair *pr, int k, const char *s,
                               guint n, int mode, dm_ids *ids)
{
    const dm_pref *r = x->pt.refs[k] + pr->start[k];

    for (guint q = 0; q < pr->count[k]; q++, r++) {
        const char *ps = x->blob->str + r->off;
        bool hit;
        if (r->len > n)
            continue;
        switch (mode) {
        case 0:
            hit = r->len == n && memcmp(s, ps, n) == 0;
            break;
        case 1:
            hit = memcmp(s, ps, r->len) == 0;
            break;
        default:
            hit = memcmp(s + n - r->len, ps, r->len) == 0;
            break;
        }
        if (hit)
            dm_tag_add(ids, r->id);
    }
}

/* Does a pattern of kind k in pair pr stand at raw + j followed by a tail
 * the stemmer can take away (so that the word's stem may end with it)? */
static inline bool dm_tag_stem_may(const dm_lex *x, const dm_pair *pr, int k, const char *raw,
                                   guint rl, guint j)
{
    const dm_pref *r = x->pt.refs[k] + pr->start[k];

    for (guint q = 0; q < pr->count[k]; q++, r++) {
        if (r->len <= rl - j && memcmp(raw + j, x->blob->str + r->off, r->len) == 0 &&
            dm_stem_tail_possible(raw + j + r->len, rl - j - r->len))
            return true;
    }
    return false;
}

/* Words seen earlier in the same text, by their bytes: a word that comes
 * again gets the same stem and patterns without a second look. */
typedef struct {
    guint32 hash;
    guint32 token; /* + 1; 0: an empty slot */
} dm_memo;

void dm_lex_tag(const dm_lex *x, dm_text *t)
{
    dm_ids ids = {.a = t->ids, .n = 0};
    guint n = t->tokens->len, cap = 64;
    dm_memo *memo;

    while (cap < n * 2)
        cap <<= 1;
    memo = g_new0(dm_memo, cap);
    g_array_set_size(t->ids, n + 64);
    for (guint i = 0; i < n; i++) {
        dm_token *k = &g_array_index(t->tokens, dm_token, i);
        const char *raw = dm_text_raw(t, k), *stem;
        guint rl = k->raw_len, sl, slot;
        guint32 h = k->hash;

        for (slot = h & (cap - 1); memo[slot].token != 0; slot = (slot + 1) & (cap - 1)) {
            const dm_token *o = &g_array_index(t->tokens, dm_token, memo[slot].token - 1);
            if (memo[slot].hash == h && o->raw_len == rl &&
                memcmp(dm_text_raw(t, o), raw, rl) == 0)
                break;
        }
        if (memo[slot].token != 0) {
            const dm_token *o = &g_array_index(t->tokens, dm_token, memo[slot].token - 1);
            k->stem = o->stem;
            k->stem_len = o->stem_len;
            k->stemmed = o->stemmed;
            k->ids = o->ids;
            k->n_ids = o->n_ids;
            continue;
        }
        memo[slot].hash = h;
        memo[slot].token = i + 1;

        /* One probe for the word's first two bytes; one per byte pair
         * inside it for compound heads (to know whether to stem it) and
         * infixes. */
        {
            const dm_pair *first = NULL;
            guint infix[8], n_infix = 0;
            bool want = !k->stemmed && x->pt.shorts[DM_PAIRS_SUFHEAD]->len > 0;
            bool scan_sfx = !k->stemmed && x->pt.n[DM_PAIRS_SUFHEAD] > 0;

            if (rl >= 2) {
                guint v2 = dm_pair_of(raw), hh = dm_pair_hash(v2);
                if (dm_filter_has(x->pt.filter, hh))
                    first = dm_pairtab_get(&x->pt, v2, hh);
            }
            if (!k->stemmed && !want && first != NULL && first->count[DM_PAIRS_STEM] > 0)
                want = dm_tag_stem_may(x, first, DM_PAIRS_STEM, raw, rl, 0);
            if ((scan_sfx && !want) || x->pt.n[DM_PAIRS_INFIX] > 0) {
                for (guint j = 0; j + 2 <= rl; j++) {
                    const dm_pair *pr;
                    if (j == 0) {
                        pr = first;
                    } else {
                        guint v2 = dm_pair_of(raw + j), hh = dm_pair_hash(v2);
                        pr = dm_filter_has(x->pt.scan, hh) ? dm_pairtab_get(&x->pt, v2, hh)
                                                           : NULL;
                    }
                    if (pr == NULL)
                        continue;
                    if (scan_sfx && !want && pr->count[DM_PAIRS_SUFHEAD] > 0)
                        want = dm_tag_stem_may(x, pr, DM_PAIRS_SUFHEAD, raw, rl, j);
                    for (guint q = 0; q < pr->count[DM_PAIRS_INFIX] && n_infix < 8; q++) {
                        const dm_pref *r = x->pt.refs[DM_PAIRS_INFIX] + pr->start[DM_PAIRS_INFIX] + q;
                        bool dup = false;
                        if (r->len > rl - j || memcmp(raw + j, x->blob->str + r->off, r->len) != 0)
                            continue;
                        for (guint d = 0; d < n_infix && !dup; d++)
                            dup = infix[d] == r->id;
                        if (!dup)
                            infix[n_infix++] = r->id;
                    }
                }
            }
            if (want) {
                dm_text_stem_token(t, k);
                raw = dm_text_raw(t, k); /* the arena may have moved */
            }
            stem = dm_text_stem(t, k);
            sl = k->stem_len;

            k->ids = ids.n;
            /* A stem starts as its word does: the same pair. */
            if (first != NULL) {
                if (sl >= 2 && first->count[DM_PAIRS_STEM] > 0)
                    dm_tag_kind(x, first, DM_PAIRS_STEM, stem, sl, 0, &ids);
                if (first->count[DM_PAIRS_RAW] > 0)
                    dm_tag_kind(x, first, DM_PAIRS_RAW, raw, rl, 0, &ids);
                if (first->count[DM_PAIRS_PREFIX] > 0)
                    dm_tag_kind(x, first, DM_PAIRS_PREFIX, raw, rl, 1, &ids);
            }
            if (sl >= 2 && x->pt.n[DM_PAIRS_SUFFIX] > 0) {
                guint v2 = dm_pair_of(stem + sl - 2), hh = dm_pair_hash(v2);
                const dm_pair *pr;
                if (dm_filter_has(x->pt.filter, hh) &&
                    (pr = dm_pairtab_get(&x->pt, v2, hh)) != NULL && pr->count[DM_PAIRS_SUFFIX] > 0)
                    dm_tag_kind(x, pr, DM_PAIRS_SUFFIX, stem, sl, 2, &ids);
            }
            for (guint d = 0; d < n_infix; d++)
                dm_tag_add(&ids, infix[d]);
        }
        /* Patterns of one byte ("i", "a"): words of one byte are looked
         * up among them; other kinds are rare and looked at one by one. */
        if (rl == 1) {
            const GArray *sh = x->pt.shorts[DM_PAIRS_RAW];
            for (guint j = 0; j < sh->len; j++) {
                const dm_pat *p = g_ptr_array_index(x->pats, g_array_index(sh, guint, j));
                if (p->len == 1 && raw[0] == p->s[0])
                    dm_tag_add(&ids, g_array_index(sh, guint, j));
            }
        }
        for (int tk = DM_PAIRS_PREFIX; x->any_short && tk <= DM_PAIRS_INFIX; tk++) {
            const GArray *sh = x->pt.shorts[tk];
            for (guint j = 0; tk != DM_PAIRS_SUFHEAD && j < sh->len; j++) {
                const dm_pat *p = g_ptr_array_index(x->pats, g_array_index(sh, guint, j));
                bool hit = false;
                if (p->len == 0)
                    continue;
                switch (tk) {
                case DM_PAIRS_PREFIX: hit = raw[0] == p->s[0]; break;
                case DM_PAIRS_SUFFIX: hit = stem[sl - 1] == p->s[0]; break;
                case DM_PAIRS_INFIX: hit = memchr(raw, p->s[0], rl) != NULL; break;
                default: break;
                }
                if (hit)
                    dm_tag_add(&ids, g_array_index(sh, guint, j));
            }
        }
        if (x->number >= 0 && g_ascii_isdigit(raw[0]) && g_ascii_isdigit(raw[rl - 1])) {
            bool digits = true;
            for (guint j = 1; j + 1 < rl && digits; j++)
                digits = g_ascii_isdigit(raw[j]);
            if (digits)
                dm_tag_add(&ids, x->number);
        }
        k->n_ids = (guint16)(ids.n - k->ids);
    }
    g_array_set_size(t->ids, ids.n);
    g_free(memo);
}

typedef struct {
    const dm_lex *x;
    const dm_text *t;
    dm_lex_result *r;
} dm_mctx;

static inline bool dm_tok_has(const dm_text *t, guint pos, guint pat)
{
    const dm_token *k = &g_array_index(t->tokens, dm_token, pos);
    const guint16 *ids = &g_array_index(t->ids, guint16, k->ids);

    for (guint i = 0; i < k->n_ids; i++) {
        if (ids[i] == pat)
            return true;
    }
    return false;
}

/* First match of list l (already matched) starting at pos, index or -1. */
static gint dm_first_at(const GArray *m, guint pos)
{
    guint lo = 0, hi = m->len;

    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        if (g_array_index(m, dm_lmatch, mid).start < pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->len && g_array_index(m, dm_lmatch, lo).start == pos ? (gint)lo : -1;
}

/* Match els[k..n) from token pos, within the sentence ending at send;
 * the end of the match, or -1. */
static gint dm_try(const dm_mctx *c, const dm_lentry *e, guint k, guint pos, guint send)
{
    const dm_el *el;

    if (k == e->n)
        return (gint)pos;
    el = &e->els[k];
    switch (el->kind) {
    case DM_EL_PAT:
        if (pos < send && dm_tok_has(c->t, pos, el->id))
            return dm_try(c, e, k + 1, pos + 1, send);
        return -1;
    case DM_EL_REF: {
        const GArray *m = c->r->matches[el->id];
        gint i = m != NULL ? dm_first_at(m, pos) : -1;
        for (; i >= 0 && (guint)i < m->len; i++) {
            const dm_lmatch *h = &g_array_index(m, dm_lmatch, i);
            gint r;
            if (h->start != pos)
                break;
            if (h->end > send)
                continue;
            r = dm_try(c, e, k + 1, h->end, send);
            if (r >= 0)
                return r;
        }
        return -1;
    }
    case DM_EL_GAP:
        for (guint g = 0; g <= el->gap && pos + g <= send; g++) {
            gint r = dm_try(c, e, k + 1, pos + g, send);
            if (r >= 0)
                return r;
        }
        return -1;
    }
    return -1;
}

static gint dm_lmatch_cmp(gconstpointer a, gconstpointer b)
{
    const dm_lmatch *x = a, *y = b;

    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return (x->entry > y->entry) - (x->entry < y->entry);
}

static inline bool dm_sent_first(const dm_text *t, guint pos)
{
    const dm_token *k = &g_array_index(t->tokens, dm_token, pos);

    return g_array_index(t->sents, dm_sentence, k->sent).first == pos;
}

static inline guint dm_sent_end(const dm_text *t, guint pos)
{
    const dm_token *k = &g_array_index(t->tokens, dm_token, pos);

    return g_array_index(t->sents, dm_sentence, k->sent).end;
}

dm_lex_result *dm_lex_match(const dm_lex *x, const dm_text *t)
{
    dm_lex_result *r = g_new0(dm_lex_result, 1);
    guint npats = x->pats->len, ntok = t->tokens->len;
    guint *count = g_new0(guint, npats + 1);
    guint *pos;
    dm_mctx c = {.x = x, .t = t, .r = r};

    r->n_lists = x->lists->len;
    r->matches = g_new0(GArray *, r->n_lists ? r->n_lists : 1); /* NULL: none */

    /* Where each pattern occurs: counting sort of (pattern, position).
     * A word that comes again shares its patterns with the first one. */
    for (guint i = 0; i < ntok; i++) {
        const dm_token *k = &g_array_index(t->tokens, dm_token, i);
        for (guint j = 0; j < k->n_ids; j++)
            count[g_array_index(t->ids, guint16, k->ids + j) + 1]++;
    }
    for (guint i = 1; i <= npats; i++)
        count[i] += count[i - 1];
    pos = g_new(guint, count[npats] ? count[npats] : 1);
    {
        guint *fill = g_memdup2(count, sizeof(guint) * (npats + 1));
        for (guint i = 0; i < ntok; i++) {
            const dm_token *k = &g_array_index(t->tokens, dm_token, i);
            for (guint j = 0; j < k->n_ids; j++) {
                guint16 p = g_array_index(t->ids, guint16, k->ids + j);
                pos[fill[p]++] = i;
            }
        }
        g_free(fill);
    }

    for (guint oi = 0; oi < r->n_lists; oi++) {
        guint li = x->order[oi];
        const dm_list *l = g_ptr_array_index(x->lists, li);
        GArray *out = NULL;

        for (guint j = 0; j < l->pat_first->len; j++) {
            guint p0 = g_array_index(l->pat_first_id, guint16, j);
            guint ei;
            const dm_lentry *e;
            if (count[p0] == count[p0 + 1])
                continue; /* its first word is not in the text */
            ei = g_array_index(l->pat_first, guint, j);
            e = g_ptr_array_index(l->entries, ei);
            for (guint q = count[p0]; q < count[p0 + 1]; q++) {
                guint at = pos[q];
                gint end;
                if (e->anchored && !dm_sent_first(t, at))
                    continue;
                end = dm_try(&c, e, 1, at + 1, dm_sent_end(t, at));
                if (end >= 0) {
                    dm_lmatch m = {.start = at, .end = (guint)end, .entry = ei};
                    if (out == NULL)
                        out = r->matches[li] = g_array_new(FALSE, FALSE, sizeof(dm_lmatch));
                    g_array_append_val(out, m);
                }
            }
        }
        for (guint j = 0; j < l->ref_first->len; j++) {
            guint ei = g_array_index(l->ref_first, guint, j);
            const dm_lentry *e = g_ptr_array_index(l->entries, ei);
            const GArray *src = r->matches[e->els[0].id];
            guint last = G_MAXUINT;
            for (guint q = 0; src != NULL && q < src->len; q++) {
                const dm_lmatch *h = &g_array_index(src, dm_lmatch, q);
                gint end;
                if (h->start == last || (e->anchored && !dm_sent_first(t, h->start)))
                    continue; /* one try per start is enough for "first" */
                end = dm_try(&c, e, 1, h->end, dm_sent_end(t, h->start));
                if (end >= 0) {
                    dm_lmatch m = {.start = h->start, .end = (guint)end, .entry = ei};
                    if (out == NULL)
                        out = r->matches[li] = g_array_new(FALSE, FALSE, sizeof(dm_lmatch));
                    g_array_append_val(out, m);
                    last = h->start;
                }
            }
        }
        if (out != NULL && out->len > 1)
            g_array_sort(out, dm_lmatch_cmp);
    }
    g_free(pos);
    g_free(count);
    return r;
}

void dm_lex_result_free(dm_lex_result *r)
{
    if (r == NULL)
        return;
    for (guint i = 0; i < r->n_lists; i++) {
        if (r->matches[i] != NULL)
            g_array_free(r->matches[i], TRUE);
    }
    g_free(r->matches);
    g_free(r);
}

char *dm_lex_first(const dm_lex *x, guint list, const char *text)
{
    dm_text *t = dm_text_new(NULL, text, strlen(text), 0);
    dm_lex_result *r;
    char *hit = NULL;

    dm_lex_tag(x, t);
    r = dm_lex_match(x, t);
    if (list < r->n_lists && r->matches[list] != NULL && r->matches[list]->len > 0) {
        const dm_lmatch *m = &g_array_index(r->matches[list], dm_lmatch, 0);
        hit = dm_text_span(t, m->start, m->end);
    }
    dm_lex_result_free(r);
    dm_text_free(t);
    return hit;
}
