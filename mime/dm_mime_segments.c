/*
 * The segments of a message (dm_msg.segments): what the rules read, cut
 * by the message's structure (issue 14, the document model).
 *
 * Extraction (dm_mime_extract.c) hands the builder what it reads, in the
 * message's order: the subject, each text part as rendered (HTML quotes
 * arrive as lines beginning with ">"), attached messages, calendar text,
 * attachment names and attachment text.  A text part is cut here, line
 * by line, with the words of [replies] and [segments] (dm_seg_words):
 *
 *   - FOOTER: from a paragraph among the last lines that holds a footer
 *     phrase (or the line of underscores or dashes just above it) to the
 *     end; never the first thing the message says;
 *   - FORWARDED: from a forward separator ("---------- Forwarded
 *     message", "Början av vidarebefordrat meddelande") to the footer,
 *     and the first reply header block of a message whose subject is a
 *     forward's ("VB:", Outlook's inline forward); an attached message's
 *     own text;
 *   - QUOTED: lines beginning with ">", an attribution line ("Den ...
 *     skrev:") before them, and everything after a reply header block
 *     ("Från: ... Skickat: ...", "-----Original Message-----") or an
 *     attribution that no ">" lines follow (a top-posted reply);
 *   - SIGNATURE: from "-- " or a sign-off line ("Med vänlig hälsning",
 *     "Skickat från min iPhone") to the end of the sender's text, when
 *     only a few lines follow it;
 *   - BODY: the rest, the sender's own text.
 *
 * Quote marks are taken off the lines; segments of the same kind that
 * follow each other in one part (or in one attached message) are one.
 * The segments' text together keeps within max_text.  Then each
 * segment's language and the message's (dm_mime_lang.c).
 */
#include <string.h>

#include "dm_mime_int.h"

/* A sign-off starts a signature only with at most this many lines
 * after it before the sender's text ends ("-- " with more). */
#define DM_SIGNOFF_LINES 12
#define DM_SIGDASH_LINES 30
/* The footer is looked for among the last lines of a text. */
#define DM_FOOTER_TAIL 25
#define DM_FOOTER_PARAS 3
/* A sign-off line is short. */
#define DM_SIGNOFF_MAX 64

struct dm_segb {
    dm_msg *m;
    const dm_mime_limits *lim;
    const dm_seg_words *w;
    size_t bytes;       /* of every segment's text */
    bool full;          /* max_text reached */
    bool barrier;       /* the next segment is not joined to the last */
    bool subject_fwd;   /* the subject is a forward's ("VB:") */
    bool fwd_taken;     /* ... and its forwarded block was found */
    bool own_before;    /* the message has said something before */
};

dm_segb *dm_segb_new(dm_msg *m, const dm_mime_limits *lim)
{
    dm_segb *b = g_new0(dm_segb, 1);

    b->m = m;
    b->lim = lim;
    b->w = lim->words;
    return b;
}

void dm_segb_barrier(dm_segb *b)
{
    b->barrier = true;
}

static bool dm_seg_joins(dm_seg_kind k)
{
    return k == DM_SEG_BODY || k == DM_SEG_QUOTED || k == DM_SEG_FORWARDED ||
           k == DM_SEG_SIGNATURE || k == DM_SEG_FOOTER;
}

/* Append text[0, len) (valid UTF-8) as a segment, joined to the last one
 * when it is of the same kind from the same part; blank lines at either
 * end dropped.  Within max_text for all segments together.  steal: text
 * lies in *steal, whose buffer a new segment may take (no second copy
 * of a large text); *steal is then a new, empty string. */
static dm_segment *dm_segb_put(dm_segb *b, dm_seg_kind kind, const char *text, size_t len,
                               bool join, GString **steal)
{
    dm_segment *last = b->m->segments->len > 0
                           ? g_ptr_array_index(b->m->segments, b->m->segments->len - 1)
                           : NULL;
    size_t room;

    while (len > 0 && (*text == '\n' || *text == ' ' || *text == '\t' || *text == '\r')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t' ||
                       text[len - 1] == '\r'))
        len--;
    if (len == 0 || b->full)
        return NULL;
    join = join && !b->barrier && last != NULL && last->kind == kind && dm_seg_joins(kind) &&
           last->source == NULL;
    b->barrier = false;
    room = b->lim->max_text > b->bytes ? b->lim->max_text - b->bytes : 0;
    if (len + (join ? 2 : 0) > room) {
        dm_mime_note_limit(b->m, "max_text");
        b->full = true;
        if (room <= 2)
            return NULL;
        len = room - 2;
        while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
        if (len == 0)
            return NULL;
    }
    b->bytes += len;
    if (kind == DM_SEG_BODY || kind == DM_SEG_FORWARDED)
        b->own_before = true;
    if (join) {
        last->text = g_realloc(last->text, last->len + 2 + len + 1);
        memcpy(last->text + last->len, "\n\n", 2);
        memcpy(last->text + last->len + 2, text, len);
        last->len += 2 + len;
        last->text[last->len] = '\0';
        b->bytes += 2;
        return last;
    }
    if (steal != NULL) {
        GString *g = *steal;

        memmove(g->str, text, len);
        last = g_new0(dm_segment, 1);
        last->kind = kind;
        last->len = len;
        last->text = g_realloc(g_string_free(g, FALSE), len + 1);
        last->text[len] = '\0';
        *steal = g_string_new(NULL);
    } else {
        last = dm_segment_new(kind, text, (gssize)len);
    }
    g_ptr_array_add(b->m->segments, last);
    return last;
}

dm_segment *dm_segb_add(dm_segb *b, dm_seg_kind kind, const char *text, size_t len,
                        const char *source, int page)
{
    dm_segment *s = dm_segb_put(b, kind, text, len, false, NULL);

    if (s != NULL) {
        s->source = source != NULL ? g_utf8_make_valid(source, -1) : NULL;
        s->page = page;
    }
    return s;
}

/* Does subject begin with a forward's prefix ("VB:", "Fwd[2]:")?  A
 * reply's prefix first ("Re: VB:") makes it a reply. */
static bool dm_subject_forward(const dm_seg_words *w, const char *s)
{
    if (w == NULL)
        return false;
    while (*s == ' ' || *s == '\t')
        s++;
    for (int f = 0; f < 2; f++) {
        for (char **pre = f ? w->forward_prefixes : w->reply_prefixes;
             pre != NULL && *pre != NULL; pre++) {
            size_t n = strlen(*pre);
            const char *q = s + n;

            if (g_ascii_strncasecmp(s, *pre, n) != 0)
                continue;
            if (*q == '[') { /* "SV[2]:" */
                while (*q != '\0' && *q != ']')
                    q++;
                if (*q == ']')
                    q++;
            }
            while (*q == ' ')
                q++;
            if (*q == ':')
                return f == 1;
        }
    }
    return false;
}

void dm_segb_subject(dm_segb *b, const char *subject)
{
    b->subject_fwd = dm_subject_forward(b->w, subject);
    dm_segb_put(b, DM_SEG_SUBJECT, subject, strlen(subject), false, NULL);
}

/* ---- lines ---------------------------------------------------------------- */

typedef struct {
    const char *s, *e; /* without the line end */
} dm_ln;

static const char *dm_ln_first(const dm_ln *l)
{
    const char *s = l->s;

    while (s < l->e && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static bool dm_ln_blank(const dm_ln *l)
{
    return dm_ln_first(l) == l->e;
}

static bool dm_ln_quoted(const dm_ln *l)
{
    const char *s = dm_ln_first(l);

    return s < l->e && *s == '>';
}

static char dm_ln_last(const dm_ln *l)
{
    const char *e = l->e;

    while (e > l->s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return e > l->s ? e[-1] : '\0';
}

static bool dm_ln_starts(const dm_ln *l, char *const *words)
{
    return dm_seg_words_line_starts(l->s, (size_t)(l->e - l->s), words);
}

/* Does the line end with word and ":" ("... skrev:")? */
static bool dm_ln_ends_colon(const dm_ln *l, const char *word)
{
    const char *e = l->e;
    size_t n = strlen(word);

    while (e > l->s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    if (e == l->s || e[-1] != ':')
        return false;
    e--;
    while (e > l->s && e[-1] == ' ')
        e--;
    return (size_t)(e - l->s) >= n && g_ascii_strncasecmp(e - n, word, n) == 0;
}

/* Does the line hold word after a blank, as a whole word? */
static bool dm_ln_has_word(const dm_ln *l, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = l->s + 1; p + n <= l->e; p++) {
        if (p[-1] == ' ' && g_ascii_strncasecmp(p, word, n) == 0 &&
            (p + n == l->e || (!g_ascii_isalnum(p[n]) && (unsigned char)p[n] < 0x80)))
            return true;
    }
    return false;
}

static bool dm_in_set(const guint8 set[32], char c)
{
    guint8 u = (guint8)g_ascii_toupper(c);

    return (set[u >> 3] >> (u & 7)) & 1;
}

/* A line of underscores, dashes or equals signs (ten or more). */
static bool dm_ln_rule(const dm_ln *l)
{
    const char *s = dm_ln_first(l);
    size_t n = 0;
    char c = s < l->e ? *s : '\0';

    if (c != '_' && c != '-' && c != '=')
        return false;
    for (; s < l->e && (*s == c || *s == ' '); s++)
        n += *s == c;
    return s == l->e && n >= 10;
}

/* Does an earlier message start at line i?  *attribution: it is an
 * attribution line ("Den ... skrev:"), which ">" lines may follow. */
static bool dm_reply_starts(const dm_seg_words *w, const dm_ln *lines, size_t n, size_t i,
                            bool *attribution)
{
    const dm_ln *l = &lines[i];
    const char *s = dm_ln_first(l);
    char c0 = s < l->e ? *s : '\0';

    *attribution = false;
    if (w == NULL || c0 == '\0' || c0 == '>')
        return false;
    if (dm_in_set(w->first_separator, c0) && dm_ln_starts(l, w->separator))
        return true;
    if (dm_in_set(w->first_from, c0) && dm_ln_starts(l, w->header_from)) {
        for (size_t j = i + 1; j < n && j <= i + 5; j++) {
            if (dm_ln_starts(&lines[j], w->header_more))
                return true;
        }
        return false;
    }
    /* Outlook on the web: a line of underscores before the headers. */
    if (c0 == '_' && l->e - l->s >= 20 && i + 1 < n && dm_ln_starts(&lines[i + 1], w->header_from))
        return true;
    /* "Den 18 nov. 2026 kl 12:31 skrev Erik <erik@...>:", "On ... wrote:",
     * the address sometimes wrapped to the next line. */
    if (dm_ln_last(l) == ':') {
        for (char **x = w->wrote; x != NULL && *x != NULL; x++) {
            if (dm_ln_ends_colon(l, *x))
                return *attribution = true;
        }
    }
    /* "Den ons 25 nov. 2026 kl 16:12 skrev Sara <sara@...>:" */
    if (dm_ln_last(l) == ':' && l->e - l->s >= 2) {
        const char *e = l->e;
        while (e > l->s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e - l->s >= 2 && e[-2] == '>') {
            for (char **x = w->wrote; x != NULL && *x != NULL; x++) {
                if (dm_ln_has_word(l, *x))
                    return *attribution = true;
            }
        }
    }
    /* "Den 2026-11-23 kl. 10:41, skrev Maja Lund:" (Apple, Thunderbird):
     * a wrote word and a colon at the end, quoted lines next. */
    if (dm_ln_last(l) == ':') {
        size_t k = i + 1;

        while (k < n && dm_ln_blank(&lines[k]))
            k++;
        if (k < n && dm_ln_quoted(&lines[k])) {
            for (char **x = w->wrote; x != NULL && *x != NULL; x++) {
                if (dm_ln_has_word(l, *x))
                    return *attribution = true;
            }
        }
    }
    if (i + 1 < n && dm_ln_last(&lines[i + 1]) == ':') {
        const dm_ln *nx = &lines[i + 1];
        const char *e = nx->e;
        while (e > nx->s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e - nx->s >= 2 && e[-2] == '>') {
            for (char **x = w->wrote; x != NULL && *x != NULL; x++) {
                if (dm_ln_has_word(l, *x))
                    return *attribution = true;
            }
        }
    }
    return false;
}

static bool dm_fwd_starts(const dm_seg_words *w, const dm_ln *l)
{
    const char *s = dm_ln_first(l);

    return w != NULL && s < l->e && dm_in_set(w->first_forward, *s) && dm_ln_starts(l, w->forward);
}

/* The line casefolded, at most max bytes of it, into buf (size bytes)
 * when it is ASCII (most lines are), else a new string in *alloc. */
static const char *dm_ln_fold(const dm_ln *l, size_t max, char *buf, size_t size, char **alloc)
{
    const char *s = dm_ln_first(l);
    size_t len = (size_t)(l->e - s);
    bool ascii = true;

    *alloc = NULL;
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len && ascii; i++)
        ascii = (unsigned char)s[i] < 0x80;
    if (ascii && len < size) {
        for (size_t i = 0; i < len; i++)
            buf[i] = g_ascii_tolower(s[i]);
        buf[len] = '\0';
        return buf;
    }
    return *alloc = g_utf8_casefold(s, (gssize)len);
}

static size_t dm_words_in(const char *s)
{
    size_t n = 0;
    bool in = false;

    for (; *s != '\0'; s++) {
        bool blank = *s == ' ' || *s == '\t' || *s == ',' || *s == '.' || *s == '/';
        if (!blank && !in)
            n++;
        in = !blank;
    }
    return n;
}

/* "-- " (the signature delimiter), or a sign-off line: short, beginning
 * with a signoff entry as a whole word, at most four words after it. */
static bool dm_sig_starts(const dm_seg_words *w, const dm_ln *l, bool *dash)
{
    const char *s = dm_ln_first(l), *e = l->e, *fold;
    char buf[DM_SIGNOFF_MAX + 1], *alloc;
    bool yes = false;

    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *dash = e - s == 2 && s[0] == '-' && s[1] == '-';
    if (*dash)
        return true;
    if (w == NULL || w->signoff == NULL || w->signoff[0] == NULL || e == s ||
        e - s > DM_SIGNOFF_MAX || *s == '>' || !dm_in_set(w->first_signoff, *s))
        return false;
    fold = dm_ln_fold(l, DM_SIGNOFF_MAX, buf, sizeof buf, &alloc);
    for (char **x = w->signoff; *x != NULL && !yes; x++) {
        size_t n = strlen(*x);
        const char *rest = fold + n;

        if (strncmp(fold, *x, n) != 0)
            continue;
        /* A whole word ("mvh", not "mvhs"). */
        if (*rest != '\0' && g_unichar_isalnum(g_utf8_get_char(rest)))
            continue;
        yes = dm_words_in(rest) <= 4;
    }
    g_free(alloc);
    return yes;
}

static bool dm_footer_line(const dm_seg_words *w, const dm_ln *l)
{
    char buf[1025], *alloc;
    const char *fold;
    size_t n;
    bool yes = false;

    if (w == NULL || w->footer == NULL || w->footer[0] == NULL || dm_ln_blank(l) ||
        dm_ln_quoted(l))
        return false;
    fold = dm_ln_fold(l, 1024, buf, sizeof buf, &alloc);
    n = strlen(fold);
    /* At each place, the entries are compared only when the first three
     * bytes there begin one of them. */
    for (size_t i = 0; i + 3 <= n && !yes; i++) {
        guint t = dm_seg_tri(fold + i);

        if (!((w->footer_tri[t >> 3] >> (t & 7)) & 1))
            continue;
        for (char **x = w->footer; *x != NULL && !yes; x++)
            yes = strncmp(fold + i, *x, strlen(*x)) == 0;
    }
    g_free(alloc);
    return yes;
}

/* Where the footer starts among lines [0, n), n when there is none. */
static size_t dm_footer_start(const dm_segb *b, const dm_ln *lines, size_t n)
{
    size_t tail = n, seen = 0, paras = 0;

    /* The last lines, at most DM_FOOTER_TAIL of them with text, in at
     * most DM_FOOTER_PARAS paragraphs. */
    while (tail > 0 && seen < DM_FOOTER_TAIL) {
        if (!dm_ln_blank(&lines[tail - 1]) && (tail == n || dm_ln_blank(&lines[tail])) &&
            ++paras > DM_FOOTER_PARAS)
            break;
        tail--;
        seen += !dm_ln_blank(&lines[tail]);
    }
    for (size_t i = tail; i < n; i++) {
        size_t start = i, k;
        bool own = b->own_before;

        if (dm_ln_blank(&lines[i]))
            continue;
        if (dm_ln_rule(&lines[i])) {
            /* A rule line with a footer line within the next three. */
            bool near = false;
            for (k = i + 1; k < n && k <= i + 3 && !near; k++)
                near = dm_footer_line(b->w, &lines[k]);
            if (!near)
                continue;
        } else if (dm_footer_line(b->w, &lines[i])) {
            /* Its paragraph, and a rule line just above it. */
            while (start > tail && !dm_ln_blank(&lines[start - 1]) &&
                   !dm_ln_quoted(&lines[start - 1]))
                start--;
            k = start;
            while (k > 0 && k + 2 >= start && dm_ln_blank(&lines[k - 1]))
                k--;
            if (k > 0 && dm_ln_rule(&lines[k - 1]))
                start = k - 1;
        } else {
            continue;
        }
        for (k = 0; k < start && !own; k++)
            own = !dm_ln_blank(&lines[k]);
        return own ? start : n;
    }
    return n;
}

/* The line without its quote marks ("> > text" is "text"). */
static const char *dm_ln_unquoted(const dm_ln *l)
{
    const char *s = dm_ln_first(l);

    while (s < l->e && (*s == '>' || *s == ' ' || *s == '\t'))
        s++;
    return s;
}

typedef enum { DM_MODE_PREFIX, DM_MODE_QUOTED, DM_MODE_FORWARD } dm_mode;

typedef struct {
    dm_segb *b;
    GString *run;
    dm_seg_kind kind;
    bool open;
} dm_runs;

static void dm_run_flush(dm_runs *r)
{
    if (r->open && r->run->len > 0)
        dm_segb_put(r->b, r->kind, r->run->str, r->run->len, true, &r->run);
    g_string_truncate(r->run, 0);
    r->open = false;
}

static void dm_run_line(dm_runs *r, dm_seg_kind kind, const dm_ln *l)
{
    const char *s;

    if (dm_ln_blank(l)) {
        if (r->open)
            g_string_append_c(r->run, '\n'); /* stays in the run it is in */
        return;
    }
    if (r->open && r->kind != kind)
        dm_run_flush(r);
    r->kind = kind;
    r->open = true;
    s = dm_ln_unquoted(l);
    g_string_append_len(r->run, s, l->e - s);
    g_string_append_c(r->run, '\n');
}

/* The first line after i that ends the sender's own text (a quote, a
 * forward, a reply header), or end. */
static size_t dm_own_end(const dm_segb *b, const dm_ln *lines, size_t i, size_t end)
{
    for (size_t k = i + 1; k < end; k++) {
        bool attr;

        if (dm_ln_quoted(&lines[k]) || dm_fwd_starts(b->w, &lines[k]) ||
            dm_reply_starts(b->w, lines, end, k, &attr))
            return k;
    }
    return end;
}

/* Is the next line with text after i quoted? */
static bool dm_next_quoted(const dm_ln *lines, size_t i, size_t end)
{
    for (size_t k = i + 1; k < end; k++) {
        if (!dm_ln_blank(&lines[k]))
            return dm_ln_quoted(&lines[k]);
    }
    return false;
}

void dm_segb_text(dm_segb *b, const char *text, size_t len, dm_seg_kind own)
{
    GArray *lines = g_array_sized_new(FALSE, FALSE, sizeof(dm_ln), (guint)(len / 40 + 16));
    const char *p = text, *end = text + len;
    dm_runs r = {.b = b, .run = g_string_sized_new(MIN(len + 1, 65536))};
    dm_mode mode = DM_MODE_PREFIX;
    const dm_ln *ln;
    size_t n, footer;

    if (b->full) {
        g_array_free(lines, TRUE);
        g_string_free(r.run, TRUE);
        return;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        dm_ln l = {p, nl != NULL ? nl : end};

        if (l.e > l.s && l.e[-1] == '\r')
            l.e--;
        g_array_append_val(lines, l);
        p = nl != NULL ? nl + 1 : end;
    }
    ln = (const dm_ln *)lines->data;
    n = lines->len;
    footer = dm_footer_start(b, ln, n);
    /* A new part starts new segments (but for an attached message's
     * parts, joined to its subject). */
    for (size_t i = 0; i < footer; i++) {
        dm_seg_kind kind;
        bool attr = false, dash;

        if (mode == DM_MODE_PREFIX) {
            if (dm_fwd_starts(b->w, &ln[i])) {
                mode = DM_MODE_FORWARD;
            } else if (dm_reply_starts(b->w, ln, footer, i, &attr)) {
                if (b->subject_fwd && !b->fwd_taken && own == DM_SEG_BODY) {
                    mode = DM_MODE_FORWARD; /* Outlook's inline forward */
                    b->fwd_taken = true;
                } else if (attr && dm_next_quoted(ln, i, footer)) {
                    dm_run_line(&r, DM_SEG_QUOTED, &ln[i]);
                    continue;
                } else {
                    mode = DM_MODE_QUOTED;
                }
            } else if (!dm_ln_quoted(&ln[i]) && dm_sig_starts(b->w, &ln[i], &dash)) {
                size_t j = dm_own_end(b, ln, i, footer), lines_after = 0;

                for (size_t k = i + 1; k < j; k++)
                    lines_after += !dm_ln_blank(&ln[k]);
                if (lines_after <= (dash ? DM_SIGDASH_LINES : DM_SIGNOFF_LINES)) {
                    for (size_t k = i; k < j; k++)
                        dm_run_line(&r, DM_SEG_SIGNATURE, &ln[k]);
                    i = j - 1;
                    continue;
                }
            }
        }
        if (mode == DM_MODE_FORWARD)
            kind = DM_SEG_FORWARDED;
        else if (mode == DM_MODE_QUOTED || dm_ln_quoted(&ln[i]))
            kind = DM_SEG_QUOTED;
        else
            kind = own;
        dm_run_line(&r, kind, &ln[i]);
    }
    for (size_t i = footer; i < n; i++)
        dm_run_line(&r, DM_SEG_FOOTER, &ln[i]);
    dm_run_flush(&r);
    if (own == DM_SEG_BODY)
        b->barrier = true; /* the next part starts its own segments */
    g_string_free(r.run, TRUE);
    g_array_free(lines, TRUE);
}

/* ---- the end --------------------------------------------------------------- */

void dm_segb_finish(dm_segb *b)
{
    if (b->w != NULL)
        dm_mime_lang_segments(b->w, b->m);
    g_free(b);
}
