/*
 * A message's words for the rules: the subject and the text parts cut into
 * lower-case tokens with their Swedish Snowball stems, and into sentences.
 *
 * A sentence ends at ".", "!" or "?" before a capital or the end of a
 * line, at a blank line, and where a new line starts with a capital, a
 * bullet or a quote mark.  A sentence that ends with "?" is a question.
 *
 * Quoted text: in a reply, the earlier message below the reply header
 * ("Från: ... Skickat: ...", "-----Original Message-----", "Den ...
 * skrev ...:", "On ... wrote:") and lines starting with ">" were written
 * by someone else; the rules read what the sender asks for in the
 * sender's own text only.  A forwarded message (VB:, Fwd:, "Forwarded
 * message") is the errand itself: it is read as the sender's own.  The
 * words of those headers, separators and prefixes are the site's
 * ([replies] of rules.conf, dm_replies).
 */
#include <libstemmer.h>
#include <string.h>

#include "dm_policy_int.h"

/* Words longer than this are not words (URLs, encoded data). */
#define DM_TOKEN_MAX 48

/* Snowball stemmers keep state: one per language per thread. */
#define DM_STEMMERS 8

/* Stems of words seen before, per language and thread: the common words
 * come again and again, and a look here costs less than Snowball. */
#define DM_STEM_CACHE 2048 /* a power of two */
#define DM_STEM_WORD 24    /* longer words are stemmed every time */

typedef struct {
    guint32 hash;
    guint8 wlen, slen; /* wlen 0: empty */
    char w[DM_STEM_WORD], s[DM_STEM_WORD];
} dm_stem_entry;

typedef struct {
    char name[16];
    struct sb_stemmer *st;
    dm_stem_entry *cache;
} dm_stemmer_slot;

static void dm_stemmers_free(gpointer p)
{
    dm_stemmer_slot *slots = p;

    for (int i = 0; i < DM_STEMMERS; i++) {
        if (slots[i].st != NULL)
            sb_stemmer_delete(slots[i].st);
        g_free(slots[i].cache);
    }
    g_free(slots);
}

static GPrivate dm_stemmer_key = G_PRIVATE_INIT(dm_stemmers_free);

/* The stemmer of a Snowball language ("swedish", "english"; NULL:
 * swedish), or NULL when libstemmer has none of that name. */
static dm_stemmer_slot *dm_stemmer_slot_for(const char *name)
{
    dm_stemmer_slot *slots = g_private_get(&dm_stemmer_key);

    if (name == NULL)
        name = "swedish";
    if (slots == NULL) {
        slots = g_new0(dm_stemmer_slot, DM_STEMMERS);
        g_private_set(&dm_stemmer_key, slots);
    }
    for (int i = 0; i < DM_STEMMERS; i++) {
        if (slots[i].st == NULL) {
            if (strlen(name) >= sizeof slots[i].name)
                return NULL;
            slots[i].st = sb_stemmer_new(name, NULL);
            if (slots[i].st == NULL)
                return NULL;
            g_strlcpy(slots[i].name, name, sizeof slots[i].name);
            slots[i].cache = g_new0(dm_stem_entry, DM_STEM_CACHE);
            return &slots[i];
        }
        if (strcmp(slots[i].name, name) == 0)
            return &slots[i];
    }
    return NULL; /* more languages than a site configures */
}

static struct sb_stemmer *dm_stemmer_for(const char *name)
{
    dm_stemmer_slot *slot = dm_stemmer_slot_for(name);

    return slot != NULL ? slot->st : NULL;
}

bool dm_stemmer_known(const char *name)
{
    return dm_stemmer_for(name) != NULL;
}

char *dm_stem_word_lang(const char *stemmer, const char *word)
{
    struct sb_stemmer *s = dm_stemmer_for(stemmer);
    const sb_symbol *r;

    if (s == NULL)
        return g_strdup(word);
    r = sb_stemmer_stem(s, (const sb_symbol *)word, (int)strlen(word));
    if (r == NULL)
        return g_strdup(word);
    return g_strndup((const char *)r, (gsize)sb_stemmer_length(s));
}

char *dm_stem_word(const char *word)
{
    return dm_stem_word_lang(NULL, word);
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

/* ---- building ------------------------------------------------------------ */

typedef struct {
    dm_text *t;
    guint max_tokens;
    bool open;          /* a sentence is open */
    char word[DM_TOKEN_MAX + 8]; /* the word being read, lower case */
    guint ntok;         /* tokens written */
    size_t wlen;        /* its bytes; more than DM_TOKEN_MAX: too long */
    bool word_alpha;    /* it has a letter */
    guint seg;          /* the segment being read */
    dm_grp grp;         /* ... and the group of the sentence being read */
} dm_tb;

/* Tokens are written in place into t->tokens, sized for the most a text
 * can have (max_tokens); b->ntok counts them, set as the length at the
 * end (an append call per word costs more than the word). */
static void dm_tb_close(dm_tb *b, unsigned add_flags)
{
    dm_sentence *s;

    if (!b->open)
        return;
    s = &g_array_index(b->t->sents, dm_sentence, b->t->sents->len - 1);
    s->flags |= (guint16)add_flags;
    s->end = b->ntok;
    b->open = false;
    if (s->end == s->first)
        g_array_set_size(b->t->sents, b->t->sents->len - 1); /* empty */
}

static inline void dm_tb_open(dm_tb *b, unsigned flags)
{
    dm_sentence s = {.first = b->ntok, .end = b->ntok, .flags = (guint16)flags,
                     .grp = (guint8)b->grp, .seg = (guint8)b->seg};

    if (b->open)
        return;
    g_array_append_val(b->t->sents, s);
    b->open = true;
}

static void dm_tb_flush_word(dm_tb *b, unsigned flags)
{
    dm_text *t = b->t;
    dm_token *k;
    size_t len = b->wlen;
    GString *a = t->arena;

    if (len == 0)
        return;
    b->wlen = 0;
    if (len > DM_TOKEN_MAX || b->ntok >= b->max_tokens) {
        if (b->ntok >= b->max_tokens)
            t->truncated = true;
        b->word_alpha = false;
        return;
    }
    dm_tb_open(b, flags);
    if (b->ntok >= t->tokens->len)
        g_array_set_size(t->tokens, t->tokens->len * 2 + 16); /* not expected */
    k = &g_array_index(t->tokens, dm_token, b->ntok++);
    memset(k, 0, sizeof *k);
    k->raw = (guint32)a->len;
    k->raw_len = (guint16)len;
    {
        guint32 h = 2166136261u;
        for (size_t j = 0; j < len; j++)
            h = (h ^ (unsigned char)b->word[j]) * 16777619u;
        k->hash = h;
    }
    if (a->len + len + 1 < a->allocated_len) {
        memcpy(a->str + a->len, b->word, len);
        a->len += len;
        a->str[a->len++] = '\0';
        a->str[a->len] = '\0';
    } else {
        b->word[len] = '\0';
        g_string_append_len(a, b->word, (gssize)len + 1); /* with its NUL */
    }
    /* The stem is computed when a word list needs it (dm_text_stem_token);
     * Snowball leaves words of three letters or fewer alone, and numbers
     * have no stems. */
    k->stem = k->raw;
    k->stem_len = k->raw_len;
    k->stemmed = !b->word_alpha || len <= 3;
    k->sent = t->sents->len - 1;
    b->word_alpha = false;
}

/* Append one lower-case character to the word being read. */
static inline void dm_tb_char(dm_tb *b, gunichar c, bool alpha)
{
    if (b->wlen <= DM_TOKEN_MAX) {
        if (c < 0x80) {
            b->word[b->wlen++] = (char)c;
        } else {
            int n = g_unichar_to_utf8(c, b->word + b->wlen);
            b->wlen += (size_t)n;
        }
    } else {
        b->wlen = DM_TOKEN_MAX + 1; /* too long: dropped at the flush */
    }
    b->word_alpha |= alpha;
}

/* Next non-blank character after p in [p, end), or 0. */
static gunichar dm_next_visible(const char *p, const char *end)
{
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            p++;
            continue;
        }
        if (!g_unichar_isspace(c))
            return c;
        p = g_utf8_next_char(p);
    }
    return 0;
}

/* Tokenize [p, end) into the open sentence (opening one as needed). */
static void dm_tb_segment(dm_tb *b, const char *p, const char *end, unsigned flags)
{
    while (p < end && !b->t->truncated) {
        unsigned char ch = (unsigned char)*p;
        gunichar c;
        const char *next;

        if (ch < 0x80) {
            c = ch;
            next = p + 1;
        } else {
            c = g_utf8_get_char_validated(p, end - p);
            if (c == (gunichar)-1 || c == (gunichar)-2) {
                dm_tb_flush_word(b, flags);
                p++;
                continue;
            }
            next = g_utf8_next_char(p);
        }
        if (ch < 0x80 && g_ascii_isalnum(ch)) {
            /* A run of ASCII letters and digits, the common case. */
            do {
                if (b->wlen < DM_TOKEN_MAX + 1)
                    b->word[b->wlen++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32u : ch);
                else
                    b->wlen = DM_TOKEN_MAX + 1;
                b->word_alpha |= !g_ascii_isdigit(ch);
                p++;
            } while (p < end && (ch = (unsigned char)*p) < 0x80 && g_ascii_isalnum(ch));
            continue;
        }
        if (ch >= 0x80 && g_unichar_isalnum(c)) {
            dm_tb_char(b, g_unichar_tolower(c), g_unichar_isalpha(c));
        } else if (ch >= 0x80 && b->wlen > 0 && g_unichar_ismark(c)) {
            /* A combining mark belongs to its letter (Arabic vowel signs,
             * a decomposed "å"): the stemmers know what to do with it. */
            dm_tb_char(b, c, false);
        } else {
            dm_tb_flush_word(b, flags);
            if ((c == '?' || c == '!' || c == '.' || c == 0x061F /* ؟ */) &&
                (flags & DM_SENT_TITLE) == 0) {
                gunichar n = dm_next_visible(next, end);
                /* "?" and "!" always end a sentence; "." before a capital
                 * or at the end of the line ("kl. 19", "t.ex. att" go on). */
                if (c != '.' || n == 0 || g_unichar_isupper(n) ||
                    (g_unichar_isalpha(n) && !g_unichar_islower(n)))
                    dm_tb_close(b, c == '?' || c == 0x061F ? DM_SENT_QUESTION : 0);
            } else if ((c == '?' || c == 0x061F) && (flags & DM_SENT_TITLE) != 0 && b->open) {
                g_array_index(b->t->sents, dm_sentence, b->t->sents->len - 1).flags |=
                    DM_SENT_QUESTION;
            }
        }
        p = next;
    }
    dm_tb_flush_word(b, flags);
}

/* ---- replies and forwards ------------------------------------------------ */

typedef struct {
    const char *s, *e; /* the line without its end of line */
} dm_line;

static const char *dm_skip_blank(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t' || *s == '*'))
        s++;
    return s;
}

static bool dm_line_starts(const dm_line *l, char *const *words)
{
    const char *s = dm_skip_blank(l->s, l->e);

    for (char *const *w = words; w != NULL && *w != NULL; w++) {
        size_t n = strlen(*w);
        if ((size_t)(l->e - s) >= n && g_ascii_strncasecmp(s, *w, n) == 0)
            return true;
    }
    return false;
}

static bool dm_line_ends(const dm_line *l, const char *word)
{
    const char *e = l->e;
    size_t n = strlen(word);

    while (e > l->s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return (size_t)(e - l->s) >= n && g_ascii_strncasecmp(e - n, word, n) == 0;
}

/* Does the line hold word after a blank, as a whole word (any case)? */
static bool dm_line_has_word(const dm_line *l, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = l->s + 1; p + n <= l->e; p++) {
        if (p[-1] == ' ' && g_ascii_strncasecmp(p, word, n) == 0 &&
            (p + n == l->e || (!g_ascii_isalnum(p[n]) && (unsigned char)p[n] < 0x80)))
            return true;
    }
    return false;
}

/* Does the line end with word and ":" ("... skrev:"), blanks after it
 * aside? */
static bool dm_line_ends_colon(const dm_line *l, const char *word)
{
    const char *e = l->e;
    size_t n = strlen(word);

    while (e > l->s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e == l->s || e[-1] != ':')
        return false;
    e--;
    return (size_t)(e - l->s) >= n && g_ascii_strncasecmp(e - n, word, n) == 0;
}

static inline bool dm_first_in(const guint8 set[32], char c)
{
    guint8 u = (guint8)g_ascii_toupper(c);

    return (set[u >> 3] >> (u & 7)) & 1;
}

/* The line's last visible byte, or 0. */
static char dm_line_last(const dm_line *l)
{
    const char *e = l->e;

    while (e > l->s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return e > l->s ? e[-1] : '\0';
}

/* Does an earlier message start at line i (a reply's quoted part)?  Every
 * line is asked: the cheap tests on its first and last byte come first. */
static bool dm_reply_starts(const dm_replies *r, const dm_line *lines, guint n, guint i)
{
    const dm_line *l = &lines[i];
    const char *s = dm_skip_blank(l->s, l->e);
    char c0 = s < l->e ? *s : '\0';

    if (c0 != '\0' && dm_first_in(r->first_separator, c0) && dm_line_starts(l, r->separator))
        return true;
    if (c0 != '\0' && dm_first_in(r->first_from, c0) && dm_line_starts(l, r->header_from)) {
        for (guint j = i + 1; j < n && j <= i + 5; j++) {
            if (dm_line_starts(&lines[j], r->header_more))
                return true;
        }
        return false;
    }
    /* Outlook on the web: a line of underscores before the headers. */
    if (c0 == '_' && l->e - l->s >= 20 && i + 1 < n &&
        dm_line_starts(&lines[i + 1], r->header_from))
        return true;
    /* "Den 18 nov. 2026 kl 12:31 skrev Erik <erik@...>:", "On ... wrote:",
     * the address sometimes wrapped to the next line. */
    if (dm_line_last(l) == ':') {
        for (char **w = r->wrote; w != NULL && *w != NULL; w++) {
            if (dm_line_ends_colon(l, *w))
                return true;
        }
    }
    if (i + 1 < n && dm_line_last(&lines[i + 1]) == ':' && dm_line_ends(&lines[i + 1], ">:")) {
        for (char **w = r->wrote; w != NULL && *w != NULL; w++) {
            if (dm_line_has_word(l, *w))
                return true;
        }
    }
    return false;
}

/* Does *s start with prefix (any case), an optional "[2]", blanks and
 * ":"?  Then *s is after the colon. */
static bool dm_one_prefix(const char **s, const char *prefix)
{
    size_t n = strlen(prefix);
    const char *q = *s + n;

    if (g_ascii_strncasecmp(*s, prefix, n) != 0)
        return false;
    if (*q == '[') { /* "Re[2]:" */
        while (*q != '\0' && *q != ']')
            q++;
        if (*q == ']')
            q++;
    }
    while (*q == ' ')
        q++;
    if (*q != ':')
        return false;
    *s = q + 1;
    return true;
}

/* A reply or forward prefix at the subject's start ("Re:", "SV[2]:",
 * "VB:"): *subject after it, *forward set for a forward's. */
static bool dm_subject_prefix(const dm_replies *r, const char **subject, bool *forward)
{
    const char *s = *subject;

    while (*s == ' ' || *s == '\t')
        s++;
    for (int fwd = 0; fwd < 2; fwd++) {
        for (char **pre = fwd ? r->forward_prefixes : r->reply_prefixes;
             pre != NULL && *pre != NULL; pre++) {
            if (dm_one_prefix(&s, *pre)) {
                *subject = s;
                *forward |= fwd != 0;
                return true;
            }
        }
    }
    return false;
}

void dm_text_stem_token(dm_text *t, dm_token *k)
{
    dm_stemmer_slot *slot;
    dm_stem_entry *ce = NULL;
    const char *raw, *r;
    int n;

    if (k->stemmed)
        return;
    k->stemmed = true;
    slot = dm_stemmer_slot_for(t->stemmer);
    if (slot == NULL)
        return;
    raw = t->arena->str + k->raw;
    if (k->raw_len < DM_STEM_WORD) {
        ce = &slot->cache[k->hash & (DM_STEM_CACHE - 1)];
        if (ce->wlen == k->raw_len && ce->hash == k->hash && memcmp(ce->w, raw, k->raw_len) == 0) {
            r = ce->s;
            n = ce->slen;
            goto found;
        }
    }
    r = (const char *)sb_stemmer_stem(slot->st, (const sb_symbol *)raw, (int)k->raw_len);
    n = sb_stemmer_length(slot->st);
    if (r == NULL || n < 0)
        return;
    if (ce != NULL && n < DM_STEM_WORD) {
        ce->hash = k->hash;
        ce->wlen = (guint8)k->raw_len;
        ce->slen = (guint8)n;
        memcpy(ce->w, raw, k->raw_len);
        memcpy(ce->s, r, (size_t)n);
    }
found:
    /* Snowball mostly takes suffixes away: then the stem is the word's
     * start; else (Arabic takes prefixes away, normalises letters) it is
     * kept beside the words. */
    if (n <= k->raw_len && memcmp(r, raw, (size_t)n) == 0) {
        k->stem_len = (guint16)n;
    } else {
        k->stem = (guint32)t->arena->len;
        k->stem_len = (guint16)n;
        g_string_append_len(t->arena, r, n);
    }
}

/* The lines of [text, text + len), without their ends of line. */
static GArray *dm_text_lines(const char *text, size_t len)
{
    GArray *lines = g_array_sized_new(FALSE, FALSE, sizeof(dm_line), (guint)(len / 40 + 16));
    const char *p, *end;

    for (p = text, end = text + len; p != NULL && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        dm_line l = {p, nl != NULL ? nl : end};
        if (l.e > l.s && l.e[-1] == '\r')
            l.e--;
        g_array_append_val(lines, l);
        p = nl != NULL ? nl + 1 : end;
    }
    return lines;
}

/* One segment's text into sentences.  In a segment the document model
 * has not cut (scan), a reply's earlier message is quoted and a
 * forwarded message is forwarded, from the line that starts it. */
static void dm_text_segment(dm_tb *b, const dm_replies *replies, const dm_tseg *sg, guint seg)
{
    dm_text *t = b->t;
    size_t len = sg->text != NULL ? sg->len : 0;
    GArray *lines;
    bool quoted = false, forwarded = false, prev_blank = true;
    dm_grp prev_grp = (dm_grp)sg->grp;
    bool scan = sg->scan && replies != NULL;

    /* Words are read up to max_tokens; the bytes looked at are bounded too
     * (markup, long numbers and URLs are not words but cost reading). */
    if (b->max_tokens != G_MAXUINT && len / 32 > b->max_tokens - b->ntok) {
        len = (size_t)(b->max_tokens - b->ntok) * 32;
        t->truncated = true;
    }
    b->seg = seg;
    lines = dm_text_lines(sg->text, len);
    for (guint i = 0; i < lines->len && b->ntok < b->max_tokens; i++) {
        const dm_line *l = &g_array_index(lines, dm_line, i);
        const char *s = l->s;
        bool blank, angle;
        dm_grp grp;
        gunichar first;

        while (s < l->e && (*s == ' ' || *s == '\t'))
            s++;
        blank = s == l->e;
        if (scan && !quoted && !forwarded && !blank &&
            dm_first_in(replies->first_forward, *s) && dm_line_starts(l, replies->forward)) {
            forwarded = true;
            t->forward = true;
        }
        /* In a forward (VB: subject, or after its line) the earlier
         * message's headers start the forwarded one, not a quote. */
        if (scan && !quoted && !forwarded &&
            dm_reply_starts(replies, (const dm_line *)lines->data, lines->len, i)) {
            if (t->forward)
                forwarded = true;
            else
                quoted = true;
        }
        angle = s < l->e && *s == '>';
        grp = (dm_grp)sg->grp;
        if (forwarded)
            grp = DM_GRP_FORWARDED;
        else if (quoted || (scan && angle))
            grp = t->forward && angle && !quoted ? DM_GRP_FORWARDED : DM_GRP_QUOTED;
        if (blank) {
            dm_tb_close(b, 0);
            prev_blank = true;
            continue;
        }
        while (s < l->e && (*s == '>' || *s == ' '))
            s++;
        first = dm_next_visible(s, l->e);
        if (prev_blank || grp != prev_grp || g_unichar_isupper(first) || first == '-' ||
            first == '*' || first == 0x2022 /* • */)
            dm_tb_close(b, 0);
        b->grp = grp;
        dm_tb_segment(b, s, l->e, grp == DM_GRP_QUOTED ? DM_SENT_QUOTED : 0);
        /* A line ending with ":" introduces what follows. */
        if (dm_line_ends(l, ":"))
            dm_tb_close(b, 0);
        prev_blank = false;
        prev_grp = grp;
    }
    dm_tb_close(b, 0);
    g_array_free(lines, TRUE);
}

dm_text *dm_text_new_segs(const dm_replies *replies, const dm_tseg *segs, guint n,
                          guint max_tokens, const dm_langlex *only_lang)
{
    dm_text *t = g_new0(dm_text, 1);
    dm_tb b = {.t = t, .max_tokens = max_tokens};
    size_t bytes = 0;

    if (max_tokens == 0)
        b.max_tokens = G_MAXUINT;
    if (n > G_MAXUINT8 + 1)
        n = G_MAXUINT8 + 1;
    for (guint i = 0; i < n; i++)
        bytes += segs[i].text != NULL ? segs[i].len : 0;
    t->arena = g_string_sized_new(MIN(bytes, (size_t)max_tokens * 32 + 1) + 256);
    t->tokens = g_array_sized_new(FALSE, FALSE, sizeof(dm_token), 256);
    t->sents = g_array_sized_new(FALSE, FALSE, sizeof(dm_sentence), 32);
    t->ids = g_array_new(FALSE, FALSE, sizeof(guint16));
    /* Room for every token the text can hold: each word and a separator
     * take two bytes at least. */
    {
        size_t most = MIN(bytes, (size_t)b.max_tokens * 32) / 2 + n + 1;
        g_array_set_size(t->tokens, (guint)MIN(most, (size_t)b.max_tokens));
    }

    for (guint i = 0; i < n && b.ntok < b.max_tokens; i++) {
        const dm_tseg *sg = &segs[i];

        if (sg->text == NULL || (only_lang != NULL && !dm_seg_in_lang(sg, only_lang)))
            continue;
        if (sg->subject || sg->title) {
            /* A title: one sentence; the subject without its reply and
             * forward prefixes. */
            const char *subject = sg->text;
            while (sg->subject && replies != NULL &&
                   dm_subject_prefix(replies, &subject, &t->forward))
                ;
            b.seg = i;
            b.grp = (dm_grp)sg->grp;
            dm_tb_segment(&b, subject, sg->text + sg->len,
                          DM_SENT_TITLE | (sg->subject ? DM_SENT_SUBJECT : 0));
            dm_tb_close(&b, 0);
        } else {
            if (sg->grp == DM_GRP_FORWARDED)
                t->forward = true;
            dm_text_segment(&b, replies, sg, i);
        }
    }
    if (b.ntok >= b.max_tokens)
        t->truncated = true;
    dm_tb_close(&b, 0);
    g_array_set_size(t->tokens, b.ntok);

    for (guint i = 0; i < t->sents->len; i++) {
        const dm_sentence *s = &g_array_index(t->sents, dm_sentence, i);
        if ((s->flags & DM_SENT_SUBJECT) == 0 &&
            (s->grp == DM_GRP_OWN || s->grp == DM_GRP_FORWARDED))
            t->own_words += s->end - s->first;
    }
    return t;
}

dm_text *dm_text_new(const dm_replies *replies, const char *subject, const char *text,
                     size_t text_len, guint max_tokens)
{
    dm_tseg segs[2] = {
        {.text = subject, .len = subject != NULL ? strlen(subject) : 0, .grp = DM_GRP_OWN,
         .subject = true, .what = "subject", .lang = ""},
        {.text = text, .len = text_len, .grp = DM_GRP_OWN, .scan = true, .what = "body",
         .lang = ""},
    };

    return dm_text_new_segs(replies, segs, 2, max_tokens, NULL);
}

dm_text *dm_text_subset(const dm_text *base, const dm_tseg *segs, const struct dm_langlex *lang)
{
    dm_text *t = g_new0(dm_text, 1);
    guint n = 0;

    /* The arena as it is (words and Swedish stems: a stem is remade from
     * its word when the other stemmer asks); tokens and sentences of the
     * segments in lang, renumbered. */
    t->arena = g_string_new_len(base->arena->str, (gssize)base->arena->len);
    t->tokens = g_array_sized_new(FALSE, FALSE, sizeof(dm_token), base->tokens->len);
    t->sents = g_array_new(FALSE, FALSE, sizeof(dm_sentence));
    t->ids = g_array_new(FALSE, FALSE, sizeof(guint16));
    t->forward = base->forward;
    t->truncated = base->truncated;
    for (guint i = 0; i < base->sents->len; i++) {
        dm_sentence st = g_array_index(base->sents, dm_sentence, i);

        if (!dm_seg_in_lang(&segs[st.seg], lang))
            continue;
        for (guint k = st.first; k < st.end; k++) {
            dm_token tk = g_array_index(base->tokens, dm_token, k);
            tk.stem = tk.raw;
            tk.stem_len = tk.raw_len;
            /* Words of three bytes or fewer and numbers keep no stem. */
            tk.stemmed = tk.raw_len <= 3 || !g_unichar_isalpha(g_utf8_get_char(
                                                  base->arena->str + tk.raw));
            tk.sent = t->sents->len;
            tk.n_ids = 0;
            g_array_append_val(t->tokens, tk);
        }
        st.flags &= (guint16)~DM_SENT_INQUIRY;
        st.end = n + (st.end - st.first);
        st.first = n;
        n = st.end;
        g_array_append_val(t->sents, st);
        if ((st.flags & DM_SENT_SUBJECT) == 0 && (st.grp == DM_GRP_OWN || st.grp == DM_GRP_FORWARDED))
            t->own_words += st.end - st.first;
    }
    return t;
}

void dm_text_free(dm_text *t)
{
    if (t == NULL)
        return;
    g_string_free(t->arena, TRUE);
    g_array_free(t->tokens, TRUE);
    g_array_free(t->sents, TRUE);
    g_array_free(t->ids, TRUE);
    g_free(t);
}

char *dm_text_span(const dm_text *t, guint a, guint b)
{
    GString *s = g_string_new(NULL);

    for (guint i = a; i < b && i < t->tokens->len; i++) {
        if (s->len > 0)
            g_string_append_c(s, ' ');
        g_string_append(s, dm_text_raw(t, &g_array_index(t->tokens, dm_token, i)));
    }
    return g_string_free(s, FALSE);
}
