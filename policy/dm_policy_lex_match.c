/*
 * Matching the compiled word lists (dm_policy_lex.c builds them) over a
 * message's tokens: each token is tagged once with every pattern it
 * matches (dm_lex_tag), then each list is matched from the positions of
 * its entries' first patterns (dm_lex_match).
 */
#include <string.h>

#include "dm_policy_lex_int.h"

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

/* A memo for n words: at least twice as many slots, a power of two. */
static dm_memo *dm_memo_new(guint n, guint *cap)
{
    guint c = 64;

    while (c < n * 2)
        c <<= 1;
    *cap = c;
    return g_new0(dm_memo, c);
}

/* Token i of t a word seen before in the text?  Then it takes that
 * word's stem and patterns (true); else it is filed in the memo (cap
 * slots, a power of two) for the words after it (false). */
static bool dm_memo_reuse(dm_memo *memo, guint cap, dm_text *t, guint i)
{
    dm_token *k = &g_array_index(t->tokens, dm_token, i);
    const char *raw = dm_text_raw(t, k);
    guint rl = k->raw_len, slot;
    guint32 h = k->hash;

    for (slot = h & (cap - 1); memo[slot].token != 0; slot = (slot + 1) & (cap - 1)) {
        const dm_token *o = &g_array_index(t->tokens, dm_token, memo[slot].token - 1);
        if (memo[slot].hash == h && o->raw_len == rl && memcmp(dm_text_raw(t, o), raw, rl) == 0) {
            k->stem = o->stem;
            k->stem_len = o->stem_len;
            k->stemmed = o->stemmed;
            k->ids = o->ids;
            k->n_ids = o->n_ids;
            return true;
        }
    }
    memo[slot].hash = h;
    memo[slot].token = i + 1;
    return false;
}

/* The patterns of kind k filed under the first two bytes of w. */
static inline void dm_tag_pair(const dm_lex *x, const char *w, guint n, int k, int mode,
                               dm_ids *ids)
{
    const dm_pair *pr;
    guint v2, hh;

    if (n < 2)
        return;
    v2 = dm_pair_of(mode == 2 ? w + n - 2 : w);
    hh = dm_pair_hash(v2);
    if (dm_filter_has(x->pt.filter, hh) && (pr = dm_pairtab_get(&x->pt, v2, hh)) != NULL &&
        pr->count[k] > 0)
        dm_tag_kind(x, pr, k, w, n, mode, ids);
}

/* Can a stem pattern filed under the word's pair be the stem of a word of
 * a suffix-only stemmer?  Then the pattern but its last byte starts the
 * word (English gives "apply" the stem "appli", "writing" "write"). */
static bool dm_tag_stem_prefix(const dm_lex *x, const dm_pair *pr, const char *raw, guint rl)
{
    const dm_pref *r;

    if (pr == NULL)
        return false;
    r = x->pt.refs[DM_PAIRS_STEM] + pr->start[DM_PAIRS_STEM];
    for (guint q = 0; q < pr->count[DM_PAIRS_STEM]; q++, r++) {
        if (r->len - 1u <= rl && memcmp(raw, x->blob->str + r->off, r->len - 1u) == 0)
            return true;
    }
    return false;
}

/* Another language's lists: every word stemmed by its stemmer (whose
 * stems need not start as the word does: Arabic takes prefixes away),
 * then looked up as it is and as its stem.  Only the segments in that
 * language are read this way, so plainness costs little. */
static void dm_lex_tag_any(const dm_lex *x, dm_text *t)
{
    dm_ids ids = {.a = t->ids, .n = 0};
    guint n = t->tokens->len, cap;
    dm_memo *memo;
    /* A stemmer that only takes suffixes away leaves the word's first two
     * bytes: a word whose pair files no stem pattern need not be stemmed
     * (unless compound heads are looked for). */
    bool all = !x->suffix_only || x->pt.n[DM_PAIRS_SUFFIX] > 0 ||
               x->pt.shorts[DM_PAIRS_SUFFIX]->len > 0 || x->pt.shorts[DM_PAIRS_STEM]->len > 0;

    memo = dm_memo_new(n, &cap);
    g_array_set_size(t->ids, n + 64);
    for (guint i = 0; i < n; i++) {
        dm_token *k = &g_array_index(t->tokens, dm_token, i);
        const char *raw = dm_text_raw(t, k), *stem;
        guint rl = k->raw_len, sl;

        /* The same word again: the same stem and patterns. */
        if (dm_memo_reuse(memo, cap, t, i))
            continue;

        if (x->suffix_only) {
            /* One probe: the word's pair files its stem patterns too. */
            const dm_pair *first = NULL;
            if (rl >= 2) {
                guint v2 = dm_pair_of(raw), hh = dm_pair_hash(v2);
                if (dm_filter_has(x->pt.filter, hh))
                    first = dm_pairtab_get(&x->pt, v2, hh);
            }
            if (!all && !k->stemmed && !dm_tag_stem_prefix(x, first, raw, rl))
                k->stemmed = true; /* its stem is never looked at */
            dm_text_stem_token(t, k);
            raw = dm_text_raw(t, k);
            stem = dm_text_stem(t, k);
            sl = k->stem_len;
            k->ids = ids.n;
            if (first != NULL) {
                if (sl >= 2 && first->count[DM_PAIRS_STEM] > 0)
                    dm_tag_kind(x, first, DM_PAIRS_STEM, stem, sl, 0, &ids);
                if (first->count[DM_PAIRS_RAW] > 0)
                    dm_tag_kind(x, first, DM_PAIRS_RAW, raw, rl, 0, &ids);
                if (first->count[DM_PAIRS_PREFIX] > 0)
                    dm_tag_kind(x, first, DM_PAIRS_PREFIX, raw, rl, 1, &ids);
            }
            if (x->pt.n[DM_PAIRS_SUFFIX] > 0)
                dm_tag_pair(x, stem, sl, DM_PAIRS_SUFFIX, 2, &ids);
        } else {
            dm_text_stem_token(t, k);
            raw = dm_text_raw(t, k);
            stem = dm_text_stem(t, k);
            sl = k->stem_len;
            k->ids = ids.n;
            dm_tag_pair(x, stem, sl, DM_PAIRS_STEM, 0, &ids);
            dm_tag_pair(x, raw, rl, DM_PAIRS_RAW, 0, &ids);
            dm_tag_pair(x, raw, rl, DM_PAIRS_PREFIX, 1, &ids);
            dm_tag_pair(x, stem, sl, DM_PAIRS_SUFFIX, 2, &ids);
        }
        if (x->pt.n[DM_PAIRS_INFIX] > 0) {
            guint seen = ids.n;
            for (guint j = 0; j + 2 <= rl; j++) {
                guint v2 = dm_pair_of(raw + j), hh = dm_pair_hash(v2);
                const dm_pair *pr;
                if (!dm_filter_has(x->pt.scan, hh) ||
                    (pr = dm_pairtab_get(&x->pt, v2, hh)) == NULL)
                    continue;
                for (guint q = 0; q < pr->count[DM_PAIRS_INFIX]; q++) {
                    const dm_pref *r = x->pt.refs[DM_PAIRS_INFIX] + pr->start[DM_PAIRS_INFIX] + q;
                    bool dup = false;
                    if (r->len > rl - j || memcmp(raw + j, x->blob->str + r->off, r->len) != 0)
                        continue;
                    for (guint d = seen; d < ids.n && !dup; d++)
                        dup = g_array_index(ids.a, guint16, d) == r->id;
                    if (!dup)
                        dm_tag_add(&ids, r->id);
                }
            }
        }
        if (rl == 1) {
            const GArray *sh = x->pt.shorts[DM_PAIRS_RAW];
            for (guint j = 0; j < sh->len; j++) {
                const dm_pat *p = g_ptr_array_index(x->pats, g_array_index(sh, guint, j));
                if (p->len == 1 && raw[0] == p->s[0])
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

void dm_lex_tag(const dm_lex *x, dm_text *t)
{
    dm_ids ids = {.a = t->ids, .n = 0};
    guint n = t->tokens->len, cap;
    dm_memo *memo;

    if (x->stemmer != NULL) {
        dm_lex_tag_any(x, t);
        return;
    }
    memo = dm_memo_new(n, &cap);
    g_array_set_size(t->ids, n + 64);
    for (guint i = 0; i < n; i++) {
        dm_token *k = &g_array_index(t->tokens, dm_token, i);
        const char *raw = dm_text_raw(t, k), *stem;
        guint rl = k->raw_len, sl;

        /* The same word again: the same stem and patterns. */
        if (dm_memo_reuse(memo, cap, t, i))
            continue;

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
    dm_text *t = dm_text_new(NULL, NULL, text, strlen(text), 0);
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
