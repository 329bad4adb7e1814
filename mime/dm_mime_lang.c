/*
 * The language of a segment and of a message, from libexttextcat's
 * n-gram fingerprints (Debian: libexttextcat-data, PROFILES/CODE.lm:
 * the 400 most frequent character n-grams of a language, one to five
 * characters of a word padded with "_", most frequent first), for the
 * languages of [segments] languages.
 *
 * Why not libexttextcat's own classifier: it builds and sorts a full
 * fingerprint of each text, 75 to 130 microseconds for a few hundred
 * bytes (measured on the bench machine), more than the whole rest of a
 * message's reading costs.  The fingerprints are read here instead and a
 * text scored against all of them in one pass: each n-gram of the text
 * that some language's fingerprint holds adds, for every language, the
 * log of a Zipf estimate of its frequency there (1 / (rank + 2)), or of
 * a floor below rank 400 when that language lacks it.  The best sum
 * wins if it beats the next by a margin per n-gram; a text with too few
 * letters, or two languages that fit it almost equally, has none ("").
 * About ten microseconds for the DM_LANG_SAMPLE bytes looked at.
 *
 * Words that are no language (addresses, links, numbers) are left out
 * first.  The table is built once per rules file, on first use, and only
 * read afterwards: every thread shares it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dm_mime_int.h"

/* Bytes of a text looked at: enough to tell the languages apart. */
#define DM_LANG_SAMPLE 320
/* ... but from this many on, a text that one language fits by far (five
 * times the margin) is told already: a third of the letters of dev, dev2
 * and SpamAssassin's corpus, none told otherwise by all 320 bytes.  (At
 * 128 bytes, an English letter's Scandinavian names made it Danish.) */
#define DM_LANG_EARLY 192
#define DM_LANG_EARLY_MARGIN 0.25
/* Fewer letters than this: too short to tell. */
#define DM_LANG_MIN_LETTERS 40
/* The best language must beat the next by this much a counted n-gram
 * (natural log).  Swedish beats Danish and Norwegian by 0.1 to 0.15 on a
 * few hundred bytes of a letter (dev, dev2), English anything else by
 * more; texts that mix two languages come out below. */
#define DM_LANG_MARGIN 0.05
/* At most so many languages (a rank each in a table entry). */
#define DM_LANG_MAX 8
/* N-grams of a fingerprint read, and the rank of one it lacks. */
#define DM_LANG_NGRAMS 400
#define DM_LANG_FLOOR 1000
/* N-grams of one to this many characters (libexttextcat's). */
#define DM_LANG_N 5
/* Table slots (a power of two, well above languages x n-grams). */
#define DM_LANG_SLOTS 8192

/* The n-grams some language holds, by hash: the keys apart from the
 * ranks, so that the many n-grams no language holds cost one look into
 * 32 kB. */
typedef struct {
    guint n;
    char code[DM_LANG_MAX][4];
    float lw[DM_LANG_FLOOR + 1]; /* log weight of a rank */
    guint32 *keys;               /* hash of the n-gram's bytes, 0: empty */
    guint16 (*rank)[DM_LANG_MAX]; /* in each language, DM_LANG_FLOOR: not held */
    float (*weight)[DM_LANG_MAX]; /* lw[rank], for the sums (0 past n) */
} dm_langid;

static guint64 dm_fnv(guint64 h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

#define DM_FNV_START 14695981039346656037ull

/* The slot of an n-gram's hash h, or -1 (not held and not add). */
static int dm_slot(dm_langid *l, guint64 h, bool add)
{
    guint32 key = (guint32)(h ^ (h >> 32));
    guint i = (key ^ (key >> 13)) & (DM_LANG_SLOTS - 1);

    if (key == 0)
        key = 1;
    for (guint probe = 0; probe < DM_LANG_SLOTS; probe++, i = (i + 1) & (DM_LANG_SLOTS - 1)) {
        if (l->keys[i] == key)
            return (int)i;
        if (l->keys[i] == 0) {
            if (!add)
                return -1;
            l->keys[i] = key;
            for (int k = 0; k < DM_LANG_MAX; k++)
                l->rank[i][k] = DM_LANG_FLOOR;
            return (int)i;
        }
    }
    return -1;
}

static void dm_langid_free(gpointer p)
{
    dm_langid *l = p;

    g_free(l->keys);
    g_free(l->rank);
    g_free(l->weight);
    g_free(l);
}

/* Read PROFILES/CODE.lm into language li of l: "ngram<TAB> count" lines
 * (the count may be missing), most frequent first. */
static bool dm_langid_read(dm_langid *l, guint li, const char *path)
{
    char *text = NULL;
    gsize len = 0;
    char **lines;
    int rank = 0;

    if (!g_file_get_contents(path, &text, &len, NULL))
        return false;
    lines = g_strsplit(text, "\n", -1);
    g_free(text);
    for (char **x = lines; *x != NULL && rank < DM_LANG_NGRAMS; x++) {
        size_t n = strcspn(*x, "\t \r");
        int i;

        if (n == 0)
            continue;
        i = dm_slot(l, dm_fnv(DM_FNV_START, *x, n), true);
        if (i >= 0 && l->rank[i][li] == DM_LANG_FLOOR)
            l->rank[i][li] = (guint16)rank;
        rank++;
    }
    g_strfreev(lines);
    return rank > 0;
}

static dm_langid *dm_langid_new(const dm_seg_words *w)
{
    dm_langid *l = g_new0(dm_langid, 1);

    l->keys = g_new0(guint32, DM_LANG_SLOTS);
    l->rank = g_malloc0_n(DM_LANG_SLOTS, sizeof *l->rank);
    for (int r = 0; r <= DM_LANG_FLOOR; r++)
        l->lw[r] = (float)-log((double)r + 2.0);
    for (char **code = w->languages; code != NULL && *code != NULL && l->n < DM_LANG_MAX;
         code++) {
        char *name = g_strconcat(*code, ".lm", NULL);
        char *path = g_build_filename(w->profiles, name, NULL);

        /* Unreadable since the rules were loaded (which checked it is
         * there): that language is not told apart. */
        if (strlen(*code) < sizeof l->code[0] && dm_langid_read(l, l->n, path)) {
            g_strlcpy(l->code[l->n], *code, sizeof l->code[0]);
            l->n++;
        }
        g_free(name);
        g_free(path);
    }
    l->weight = g_malloc0_n(DM_LANG_SLOTS, sizeof *l->weight);
    for (guint i = 0; i < DM_LANG_SLOTS; i++) {
        for (guint li = 0; l->keys[i] != 0 && li < l->n; li++)
            l->weight[i][li] = l->lw[l->rank[i][li]];
    }
    return l;
}

/* The table of these words, made on first use. */
static const dm_langid *dm_langid_of(const dm_seg_words *cw)
{
    dm_seg_words *w = (dm_seg_words *)cw; /* its cache only */
    dm_langid *l = g_atomic_pointer_get(&w->langid);

    if (l != NULL)
        return l;
    l = dm_langid_new(w);
    /* Two threads may both make one: the first to set it wins. */
    if (!g_atomic_pointer_compare_and_exchange(&w->langid, NULL, l)) {
        dm_langid_free(l);
        return g_atomic_pointer_get(&w->langid);
    }
    w->langid_free = dm_langid_free;
    return l;
}

/* Is this word language: letters, no digits, "@", "/", "=" or "_"?
 * *letters counts its letters. */
static bool dm_lang_word(const char *p, const char *q, size_t *letters)
{
    *letters = 0;
    while (p < q) {
        gunichar u;

        if ((unsigned char)*p < 0x80) {
            char c = *p++;
            if (g_ascii_isdigit(c) || c == '@' || c == '/' || c == '=' || c == '_')
                return false;
            *letters += g_ascii_isalpha(c);
            continue;
        }
        u = g_utf8_get_char_validated(p, q - p);
        if (u == (gunichar)-1 || u == (gunichar)-2 || g_unichar_isdigit(u))
            return false;
        *letters += g_unichar_isalpha(u);
        p = g_utf8_next_char(p);
    }
    return *letters > 0;
}

/* The best of the sums and by how much it beats the next, a counted
 * n-gram. */
static guint dm_lang_best(const dm_langid *l, const float *sum, size_t counted, double *margin)
{
    guint bi = 0;
    float second = -HUGE_VALF;

    for (guint i = 1; i < l->n; i++) {
        if (sum[i] > sum[bi])
            bi = i;
    }
    for (guint i = 0; i < l->n; i++) {
        if (i != bi && sum[i] > second)
            second = sum[i];
    }
    *margin = l->n > 1 && counted > 0 ? (sum[bi] - second) / (double)counted : HUGE_VAL;
    return bi;
}

/* Add the n-grams of "_word_" to the sums (of all DM_LANG_MAX languages
 * at once: a loop the compiler makes one vector addition). */
static void dm_lang_ngrams(const dm_langid *l, const char *word, size_t wl, float *sum,
                           size_t *counted)
{
    char pad[72];
    int starts[72], nc = 0;
    size_t plen = 0;

    if (wl + 2 >= sizeof pad)
        return;
    pad[plen++] = '_';
    memcpy(pad + plen, word, wl);
    plen += wl;
    pad[plen++] = '_';
    /* Character boundaries of pad, and its end. */
    for (size_t i = 0; i < plen; i = (size_t)(g_utf8_next_char(pad + i) - pad))
        starts[nc++] = (int)i;
    starts[nc] = (int)plen;
    for (int i = 0; i < nc; i++) {
        guint64 h = DM_FNV_START;

        for (int k = 1; k <= DM_LANG_N && i + k <= nc; k++) {
            int slot;

            h = dm_fnv(h, pad + starts[i + k - 1], (size_t)(starts[i + k] - starts[i + k - 1]));
            slot = dm_slot((dm_langid *)l, h, false);
            if (slot < 0)
                continue; /* no language holds it: says nothing */
            for (guint li = 0; li < DM_LANG_MAX; li++)
                sum[li] += l->weight[slot][li];
            (*counted)++;
        }
    }
}

void dm_mime_lang_of(const dm_seg_words *w, const char *text, size_t len, char lang[4])
{
    const dm_langid *l;
    const char *p = text, *end;
    float sum[DM_LANG_MAX] = {0};
    double margin;
    size_t letters = 0, looked = 0, counted = 0;
    guint bi;

    lang[0] = '\0';
    if (w == NULL || text == NULL)
        return;
    l = dm_langid_of(w);
    if (l->n == 0)
        return;
    end = text + len;
    while (p < end && looked < DM_LANG_SAMPLE) {
        const char *q = p;
        size_t wletters;

        while (q < end && *q != ' ' && *q != '\n' && *q != '\t' && *q != '\r')
            q++;
        if (q > p && dm_lang_word(p, q, &wletters)) {
            dm_lang_ngrams(l, p, (size_t)(q - p), sum, &counted);
            letters += wletters;
            looked += (size_t)(q - p) + 1;
            if (looked >= DM_LANG_EARLY && letters >= DM_LANG_MIN_LETTERS) {
                dm_lang_best(l, sum, counted, &margin);
                if (margin >= DM_LANG_EARLY_MARGIN)
                    break;
            }
        }
        p = q;
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
            p++;
    }
    if (letters < DM_LANG_MIN_LETTERS || counted == 0)
        return;
    bi = dm_lang_best(l, sum, counted, &margin);
    if (margin < DM_LANG_MARGIN)
        return;
    g_strlcpy(lang, l->code[bi], 4);
}

/* Segments whose language is looked for: what someone wrote. */
static bool dm_lang_wanted(dm_seg_kind k)
{
    return k == DM_SEG_BODY || k == DM_SEG_QUOTED || k == DM_SEG_FORWARDED ||
           k == DM_SEG_CALENDAR || k == DM_SEG_ATTACHMENT || k == DM_SEG_SUBJECT;
}

void dm_mime_lang_segments(const dm_seg_words *w, dm_msg *m)
{
    size_t bytes[DM_LANG_MAX + 1] = {0}, top = 0;
    GString *main_text = NULL;
    const dm_langid *l = dm_langid_of(w);

    for (guint i = 0; i < m->segments->len; i++) {
        dm_segment *s = g_ptr_array_index(m->segments, i);

        if (!dm_lang_wanted(s->kind))
            continue;
        if (s->len >= DM_LANG_MIN_LETTERS)
            dm_mime_lang_of(w, s->text, s->len, s->lang);
        if (s->kind != DM_SEG_SUBJECT && s->kind != DM_SEG_BODY && s->kind != DM_SEG_FORWARDED)
            continue;
        /* The message's: of its subject, own and forwarded text, the
         * language of the most bytes. */
        if (main_text == NULL)
            main_text = g_string_new(NULL);
        if (main_text->len < DM_LANG_SAMPLE) {
            g_string_append_len(main_text, s->text, (gssize)MIN(s->len, DM_LANG_SAMPLE));
            g_string_append_c(main_text, '\n');
        }
        for (guint li = 0; s->lang[0] != '\0' && li < l->n; li++) {
            if (strcmp(l->code[li], s->lang) != 0)
                continue;
            bytes[li] += s->len;
            if (bytes[li] > top) {
                top = bytes[li];
                g_strlcpy(m->lang, s->lang, sizeof m->lang);
            }
        }
    }
    /* No part long enough alone: all of them together. */
    if (m->lang[0] == '\0' && main_text != NULL)
        dm_mime_lang_of(w, main_text->str, main_text->len, m->lang);
    if (main_text != NULL)
        g_string_free(main_text, TRUE);
}
