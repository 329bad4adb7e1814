/*
 * RTF to plain text.  Debian has no C library for reading RTF, so this
 * is a small reader of the syntax (RTF 1.9.1 specification, section
 * "Conventions of an RTF Reader"), linear in the input:
 *
 *   - groups { } nest up to DM_RTF_DEPTH; deeper ones are skipped;
 *   - control words (\word, \wordN, \word-N) and control symbols;
 *   - text bytes and \'hh are in the document's code page (\ansicpgN,
 *     else \ansi = 1252, \mac, \pc = 437, \pca = 850), converted in runs
 *     so that double-byte code pages convert whole;
 *   - \uN is a Unicode character (negative N for those above 32767,
 *     surrogate pairs joined), after which \ucN (default 1) characters of
 *     fallback text are skipped;
 *   - destinations that hold no document text are skipped: any group
 *     starting with \*, and fonttbl, colortbl, stylesheet, info, pict,
 *     fldinst, themedata and the like; fldrslt, header, footer and
 *     footnote text is read;
 *   - \par, \line, \sect, \page, \row end a line, \tab and \cell are
 *     tabs, \emdash, \bullet, the quotes and the like their characters;
 *   - \binN skips N bytes of binary data.
 */
#include <stdlib.h>
#include <string.h>

#include "dm_extract_worker.h"
#include "dm_utf8.h"

#define DM_RTF_DEPTH 1024
#define DM_RTF_WORD 32

typedef struct {
    bool skip; /* a destination not read */
    int uc;    /* fallback characters after \uN */
} dm_rtf_group;

typedef struct {
    const guint8 *p, *end;
    dm_rtf_group stack[DM_RTF_DEPTH];
    int depth;         /* groups on the stack */
    int too_deep;      /* groups past DM_RTF_DEPTH, skipped */
    dm_rtf_group cur;
    bool group_start;  /* nothing read yet in this group */
    int to_skip;       /* fallback characters still to skip */
    gunichar high;     /* a high surrogate waiting for its pair */
    GByteArray *bytes; /* code page bytes not yet converted */
    char cp[16];       /* iconv name of the code page */
    dm_extract_text *out;
} dm_rtf;

static void dm_rtf_flush(dm_rtf *r)
{
    char *u;

    if (r->bytes->len == 0)
        return;
    u = dm_utf8_from((const char *)r->bytes->data, r->bytes->len, r->cp);
    dm_extract_text_add(r->out, u, strlen(u));
    g_free(u);
    g_byte_array_set_size(r->bytes, 0);
}

static bool dm_rtf_reading(const dm_rtf *r)
{
    return !r->cur.skip && r->too_deep == 0;
}

/* One character of text in the code page (a byte or \'hh). */
static void dm_rtf_byte(dm_rtf *r, guint8 b)
{
    if (!dm_rtf_reading(r))
        return;
    if (r->to_skip > 0) {
        r->to_skip--;
        return;
    }
    g_byte_array_append(r->bytes, &b, 1);
}

static void dm_rtf_text(dm_rtf *r, const char *utf8)
{
    if (!dm_rtf_reading(r))
        return;
    dm_rtf_flush(r);
    dm_extract_text_add(r->out, utf8, strlen(utf8));
}

static void dm_rtf_unicode(dm_rtf *r, long n)
{
    gunichar c;
    char buf[8];
    int len;

    if (!dm_rtf_reading(r))
        return;
    if (n < 0)
        n += 65536;
    if (n < 0 || n > 0xFFFF) {
        r->to_skip = r->cur.uc;
        return;
    }
    c = (gunichar)n;
    if (c >= 0xD800 && c <= 0xDBFF) {
        r->high = c;
        r->to_skip = r->cur.uc;
        return;
    }
    if (c >= 0xDC00 && c <= 0xDFFF) {
        if (r->high == 0) {
            r->to_skip = r->cur.uc;
            return;
        }
        c = 0x10000 + ((r->high - 0xD800) << 10) + (c - 0xDC00);
    }
    r->high = 0;
    if (c == 0 || !g_unichar_validate(c))
        c = 0xFFFD;
    dm_rtf_flush(r);
    len = g_unichar_to_utf8(c, buf);
    dm_extract_text_add(r->out, buf, (size_t)len);
    r->to_skip = r->cur.uc;
}

/* Destinations that hold no text of the document. */
static bool dm_rtf_skipped(const char *w)
{
    static const char *const skip[] = {
        "fonttbl", "colortbl", "stylesheet", "info", "pict", "fldinst", "themedata",
        "colorschememapping", "datastore", "latentstyles", "listtable", "listoverridetable",
        "rsidtbl", "generator", "xmlnstbl", "filetbl", "revtbl", "pgdsctbl", "bkmkstart",
        "bkmkend", "objdata", "objclass", "mmathPr", "wgrffmtfilter", "ftnsep", "ftnsepc",
        "ftncn", "aftnsep", "aftnsepc", "aftncn", "nonshppict", "shpinst", "protusertbl",
        "userprops", "docvar", "xe", "tc", "author", "operator", "title", "subject",
        "keywords", "comment", "doccomm", "company", "template", "passwordhash", NULL};

    for (int i = 0; skip[i] != NULL; i++) {
        if (strcmp(w, skip[i]) == 0)
            return true;
    }
    return false;
}

static void dm_rtf_word(dm_rtf *r, const char *w, bool has_n, long n)
{
    static const struct {
        const char *word, *text;
    } chars[] = {
        {"par", "\n"},  {"line", "\n"},         {"sect", "\n"},       {"page", "\n"},
        {"row", "\n"},  {"tab", "\t"},          {"cell", "\t"},       {"emdash", "\u2014"},
        {"endash", "\u2013"}, {"bullet", "\u2022"}, {"lquote", "\u2018"}, {"rquote", "\u2019"},
        {"ldblquote", "\u201c"}, {"rdblquote", "\u201d"}, {"emspace", " "}, {"enspace", " "},
        {"qmspace", " "},
    };

    if (r->group_start && dm_rtf_skipped(w))
        r->cur.skip = true;
    r->group_start = false;
    if (strcmp(w, "u") == 0 && has_n) {
        dm_rtf_unicode(r, n);
        return;
    }
    r->to_skip = 0; /* fallback text ends at the next control word */
    if (strcmp(w, "uc") == 0 && has_n) {
        r->cur.uc = (int)CLAMP(n, 0, 10);
    } else if (strcmp(w, "ansicpg") == 0 && has_n && n > 0 && n < 100000) {
        dm_rtf_flush(r);
        g_snprintf(r->cp, sizeof r->cp, "CP%ld", n);
    } else if (strcmp(w, "mac") == 0) {
        g_strlcpy(r->cp, "MACINTOSH", sizeof r->cp);
    } else if (strcmp(w, "pc") == 0) {
        g_strlcpy(r->cp, "CP437", sizeof r->cp);
    } else if (strcmp(w, "pca") == 0) {
        g_strlcpy(r->cp, "CP850", sizeof r->cp);
    } else if (strcmp(w, "bin") == 0 && has_n && n > 0) {
        /* Binary data: never text, never syntax. */
        size_t left = (size_t)(r->end - r->p);
        r->p += MIN(left, (size_t)n);
    } else {
        for (size_t i = 0; i < G_N_ELEMENTS(chars); i++) {
            if (strcmp(w, chars[i].word) == 0) {
                dm_rtf_text(r, chars[i].text);
                break;
            }
        }
    }
}

static int dm_hex(guint8 c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (guint8)g_ascii_tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* After a backslash. */
static void dm_rtf_control(dm_rtf *r)
{
    guint8 c;

    if (r->p >= r->end)
        return;
    c = *r->p++;
    if (g_ascii_isalpha(c)) {
        char w[DM_RTF_WORD + 1];
        size_t n = 0;
        bool has_n = false, neg = false;
        long v = 0;
        int digits = 0;

        w[n++] = (char)c;
        while (r->p < r->end && g_ascii_isalpha(*r->p)) {
            if (n < DM_RTF_WORD)
                w[n++] = (char)*r->p;
            r->p++;
        }
        w[n] = '\0';
        if (r->p < r->end && *r->p == '-' && r->p + 1 < r->end && g_ascii_isdigit(r->p[1])) {
            neg = true;
            r->p++;
        }
        while (r->p < r->end && g_ascii_isdigit(*r->p)) {
            if (digits++ < 10)
                v = v * 10 + (*r->p - '0');
            r->p++;
            has_n = true;
        }
        if (r->p < r->end && *r->p == ' ')
            r->p++; /* the delimiter belongs to the word */
        dm_rtf_word(r, w, has_n, neg ? -v : v);
        return;
    }
    switch (c) {
    case '\'':
        if (r->end - r->p >= 2 && dm_hex(r->p[0]) >= 0 && dm_hex(r->p[1]) >= 0) {
            dm_rtf_byte(r, (guint8)(dm_hex(r->p[0]) * 16 + dm_hex(r->p[1])));
            r->p += 2;
        }
        r->group_start = false;
        return;
    case '*':
        /* An optional destination: none of them is document text. */
        r->cur.skip = true;
        return;
    case '\\':
    case '{':
    case '}':
        r->group_start = false;
        dm_rtf_byte(r, c);
        return;
    case '~':
        r->group_start = false;
        dm_rtf_text(r, "\u00a0");
        return;
    case '_':
        r->group_start = false;
        dm_rtf_text(r, "-");
        return;
    case '\n':
    case '\r':
        r->group_start = false;
        dm_rtf_text(r, "\n");
        return;
    default: /* \- optional hyphen, \: index subentry, \| formula: nothing */
        return;
    }
}

dm_extract_status dm_extract_rtf(const guint8 *data, size_t len, const dm_extract_req *q,
                                 dm_extract_text *out)
{
    dm_rtf *r = g_new0(dm_rtf, 1);
    bool started = false;

    (void)q;
    r->p = data;
    r->end = data + len;
    r->out = out;
    r->cur.uc = 1;
    r->bytes = g_byte_array_new();
    g_strlcpy(r->cp, "CP1252", sizeof r->cp);
    while (r->p < r->end && !dm_extract_text_full(out)) {
        guint8 c = *r->p++;

        switch (c) {
        case '{':
            started = true;
            dm_rtf_flush(r);
            if (r->depth < DM_RTF_DEPTH)
                r->stack[r->depth++] = r->cur;
            else
                r->too_deep++;
            r->group_start = true;
            r->to_skip = 0;
            break;
        case '}':
            dm_rtf_flush(r);
            if (r->too_deep > 0)
                r->too_deep--;
            else if (r->depth > 0)
                r->cur = r->stack[--r->depth];
            r->group_start = false;
            r->to_skip = 0;
            break;
        case '\\':
            dm_rtf_control(r);
            break;
        case '\r':
        case '\n':
            break; /* line ends in the file are no text */
        default:
            r->group_start = false;
            dm_rtf_byte(r, c);
            break;
        }
    }
    dm_rtf_flush(r);
    g_byte_array_free(r->bytes, TRUE);
    g_free(r);
    return started ? DM_EXTRACT_READ : DM_EXTRACT_FAILED;
}
