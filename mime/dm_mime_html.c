/*
 * HTML to text, enough for the rules to read what a person would see,
 * through libxml2's HTML parser (the push parser with SAX callbacks: the
 * HTML streams through, no tree and no copy of the part is made).
 *
 * libxml2 decodes the entities (&nbsp; inside a case number is a blank)
 * and mends what browsers mend (unclosed tags, stray ends).  Here:
 *   - script, style, head, title, template and elements hidden by a
 *     style (display:none, mso-hide:all) are skipped;
 *   - block elements end a line, paragraphs (p, headings, lists,
 *     tables, blockquote) leave a blank line, br ends a line, table cells
 *     are separated by a blank;
 *   - text inside a blockquote comes out with "> " before each line, as
 *     a mail client quotes plain text, so that quoted history reads the
 *     same in both (dm_mime_segments.c);
 *   - a mail client's signature block (class or id "signature") is set
 *     off by a "-- " line;
 *   - runs of blanks become one, soft hyphens and zero-width characters
 *     split no word, C1 controls from &#150; and the like are the
 *     windows-1252 characters browsers show.
 * The input is UTF-8 (the caller converted the part's charset): the
 * document's own <meta charset> is not obeyed.  An unclosed comment or
 * tag holds no more than DM_HTML_PENDING bytes: the rest is let go.
 */
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "dm_mime_int.h"

/* Bytes libxml2 may hold unparsed (a tag or comment that never ends). */
#define DM_HTML_PENDING (1024 * 1024)
/* Nesting kept track of; deeper elements are counted, not kept. */
#define DM_HTML_DEPTH 512

enum {
    DM_EL_SKIP = 1 << 0,   /* its text is not shown */
    DM_EL_QUOTE = 1 << 1,  /* a blockquote */
    DM_EL_BLOCK = 1 << 2,  /* ends a line */
    DM_EL_PARA = 1 << 3,   /* leaves a blank line */
};

struct dm_html {
    htmlParserCtxtPtr ctxt;
    GString *out;
    guint8 stack[DM_HTML_DEPTH];
    guint depth;          /* open elements (may exceed DM_HTML_DEPTH) */
    guint skip;           /* open elements whose text is not shown */
    guint quote;          /* open blockquotes */
    bool space;           /* a blank is due before the next character */
    bool stopped;         /* input let go (see DM_HTML_PENDING) */
    GString *carry;       /* the end of a piece that may start "<![if" */
};

/* Outlook's "downlevel-revealed" conditionals, <![if !supportLists]> and
 * <![endif]>, are markup to a browser; libxml2 shows them as text.  They
 * are taken out before it sees them (one is at most this long). */
#define DM_HTML_COND_MAX 256
/* ... and so is the start of a tag at the end of a piece, this long. */
#define DM_HTML_TAG_HOLD 32

/* windows-1252 at 0x80-0x9F (0: undefined there). */
static const gunichar dm_cp1252[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

enum {
    DM_EL_BR = 1 << 4,     /* a line end */
    DM_EL_CELL = 1 << 5,   /* a blank before it (a table cell, an image) */
};

/* What an element does to the text, by name (libxml2 gives names in
 * lower case); sorted by strcmp.  Others (span, a, b, font) split no
 * words. */
static const struct dm_tag {
    const char *name;
    guint8 flags;
} dm_tags[] = {
    {"address", DM_EL_PARA},     {"applet", DM_EL_SKIP},     {"article", DM_EL_BLOCK},
    {"aside", DM_EL_BLOCK},      {"blockquote", DM_EL_PARA | DM_EL_QUOTE},
    {"body", DM_EL_BLOCK},       {"br", DM_EL_BR},           {"caption", DM_EL_BLOCK},
    {"center", DM_EL_PARA},      {"dd", DM_EL_BLOCK},        {"details", DM_EL_BLOCK},
    {"dir", DM_EL_BLOCK},        {"div", DM_EL_BLOCK},       {"dl", DM_EL_PARA},
    {"dt", DM_EL_BLOCK},         {"fieldset", DM_EL_PARA},   {"figcaption", DM_EL_BLOCK},
    {"figure", DM_EL_PARA},      {"footer", DM_EL_BLOCK},    {"form", DM_EL_PARA},
    {"h1", DM_EL_PARA},          {"h2", DM_EL_PARA},         {"h3", DM_EL_PARA},
    {"h4", DM_EL_PARA},          {"h5", DM_EL_PARA},         {"h6", DM_EL_PARA},
    {"head", DM_EL_SKIP},        {"header", DM_EL_BLOCK},    {"hr", DM_EL_PARA},
    {"html", DM_EL_BLOCK},       {"img", DM_EL_CELL},        {"legend", DM_EL_BLOCK},
    {"li", DM_EL_BLOCK},         {"main", DM_EL_BLOCK},      {"menu", DM_EL_BLOCK},
    {"nav", DM_EL_BLOCK},        {"noframes", DM_EL_SKIP},   {"object", DM_EL_SKIP},
    {"ol", DM_EL_PARA},          {"option", DM_EL_BLOCK},    {"p", DM_EL_PARA},
    {"pre", DM_EL_PARA},         {"script", DM_EL_SKIP},     {"section", DM_EL_BLOCK},
    {"style", DM_EL_SKIP},       {"summary", DM_EL_BLOCK},   {"table", DM_EL_PARA},
    {"tbody", DM_EL_BLOCK},      {"td", DM_EL_CELL},         {"template", DM_EL_SKIP},
    {"tfoot", DM_EL_BLOCK},      {"th", DM_EL_CELL},         {"thead", DM_EL_BLOCK},
    {"title", DM_EL_SKIP},       {"tr", DM_EL_BLOCK},        {"ul", DM_EL_PARA},
};

static int dm_tag_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct dm_tag *)elem)->name);
}

static guint8 dm_tag_flags(const char *name)
{
    const struct dm_tag *t = bsearch(name, dm_tags, G_N_ELEMENTS(dm_tags), sizeof dm_tags[0],
                                     dm_tag_cmp);

    return t != NULL ? t->flags : 0;
}

/* Is the line being written still empty (nothing but quote marks)? */
static bool dm_line_empty(const dm_html *h)
{
    const GString *o = h->out;
    gsize i = o->len;

    while (i > 0 && (o->str[i - 1] == '>' || o->str[i - 1] == ' '))
        i--;
    return i == 0 || o->str[i - 1] == '\n';
}

/* End the line (blank: and leave a blank line), unless it is empty. */
static void dm_break(dm_html *h, bool blank)
{
    GString *o = h->out;

    h->space = false;
    /* No trailing blanks, nor a line of quote marks alone. */
    while (o->len > 0 && o->str[o->len - 1] == ' ')
        g_string_truncate(o, o->len - 1);
    if (dm_line_empty(h)) {
        gsize i = o->len;
        while (i > 0 && o->str[i - 1] != '\n')
            i--;
        g_string_truncate(o, i);
    }
    if (o->len == 0)
        return;
    if (o->str[o->len - 1] != '\n')
        g_string_append_c(o, '\n');
    if (blank && (o->len < 2 || o->str[o->len - 2] != '\n'))
        g_string_append_c(o, '\n');
}

/* Visible characters (UTF-8 bytes s[0, n), no blank among them). */
static void dm_emit(dm_html *h, const char *s, size_t n)
{
    GString *o = h->out;
    bool line_start = o->len == 0 || o->str[o->len - 1] == '\n';

    if (line_start && h->quote > 0)
        g_string_append(o, "> ");
    else if (h->space && !line_start)
        g_string_append_c(o, ' ');
    h->space = false;
    g_string_append_len(o, s, (gssize)n);
}

static void dm_chars(void *ctx, const xmlChar *ch, int len)
{
    dm_html *h = ctx;
    const char *p = (const char *)ch, *end = p + len;

    if (h->skip > 0)
        return;
    while (p < end) {
        unsigned char c = (unsigned char)*p;
        gunichar u;
        const char *next;
        char buf[8];

        if (c < 0x80) {
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
                h->space = true;
                p++;
            } else if (c >= 0x20 && c != 0x7F) {
                /* A run of visible ASCII at once. */
                const char *q = p + 1;
                while (q < end && (unsigned char)*q > 0x20 && (unsigned char)*q < 0x7F)
                    q++;
                dm_emit(h, p, (size_t)(q - p));
                p = q;
            } else {
                p++;
            }
            continue;
        }
        u = g_utf8_get_char_validated(p, end - p);
        if (u == (gunichar)-1 || u == (gunichar)-2) {
            p++; /* libxml2 gives UTF-8; a cut character is let go */
            continue;
        }
        next = g_utf8_next_char(p);
        if (u == 0xA0 || u == 0x2007 || u == 0x202F || u == 0x3000 || (u >= 0x2000 && u <= 0x200A)) {
            h->space = true; /* no-break and other blanks */
        } else if (u == 0xAD || (u >= 0x200B && u <= 0x200F) || u == 0xFEFF || u == 0x2060) {
            /* Invisible: "bygg&shy;lov" is "bygglov". */
        } else if (u >= 0x80 && u <= 0x9F) {
            /* &#150; is an en dash to a browser, not a C1 control. */
            if (dm_cp1252[u - 0x80] != 0)
                dm_emit(h, buf, (size_t)g_unichar_to_utf8(dm_cp1252[u - 0x80], buf));
        } else if (u == 0x2028 || u == 0x2029) {
            dm_break(h, u == 0x2029);
        } else {
            dm_emit(h, p, (size_t)(next - p));
        }
        p = next;
    }
}

/* Does the style hide the element (display:none, mso-hide:all)? */
static bool dm_style_hides(const char *style)
{
    char compact[256];
    size_t n = 0;

    if (style == NULL)
        return false;
    for (const char *p = style; *p != '\0' && n + 1 < sizeof compact; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            compact[n++] = g_ascii_tolower(*p);
    }
    compact[n] = '\0';
    return strstr(compact, "display:none") != NULL || strstr(compact, "mso-hide:all") != NULL;
}

static bool dm_has_word(const char *v, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = v; p != NULL && *p != '\0'; p++) {
        if (g_ascii_strncasecmp(p, word, n) == 0)
            return true;
    }
    return false;
}

static void dm_start(void *ctx, const xmlChar *xname, const xmlChar **attrs)
{
    dm_html *h = ctx;
    const char *name = (const char *)xname;
    guint8 f = dm_tag_flags(name);
    bool signature = false;

    /* The attributes that matter, in one pass. */
    for (int i = 0; attrs != NULL && attrs[i] != NULL; i += 2) {
        const char *a = (const char *)attrs[i], *v = (const char *)attrs[i + 1];

        switch (g_ascii_tolower(a[0])) {
        case 's':
            if (g_ascii_strcasecmp(a, "style") == 0 && dm_style_hides(v))
                f |= DM_EL_SKIP;
            break;
        case 'h':
            if (g_ascii_strcasecmp(a, "hidden") == 0)
                f |= DM_EL_SKIP;
            break;
        case 'c':
        case 'i':
            if (g_ascii_strcasecmp(a, "class") == 0 || g_ascii_strcasecmp(a, "id") == 0)
                signature |= dm_has_word(v, "signature");
            break;
        default:
            break;
        }
    }
    if (h->depth < DM_HTML_DEPTH)
        h->stack[h->depth] = f;
    h->depth++;
    if (f & DM_EL_SKIP)
        h->skip++;
    if (h->skip > 0 && !(f & DM_EL_SKIP))
        return;
    if (f & (DM_EL_PARA | DM_EL_BLOCK))
        dm_break(h, (f & DM_EL_PARA) != 0);
    if (f & DM_EL_QUOTE)
        h->quote++;
    if (f & DM_EL_BR) {
        /* A line end, even after another: <br><br> is a blank line. */
        GString *o = h->out;
        h->space = false;
        while (o->len > 0 && o->str[o->len - 1] == ' ')
            g_string_truncate(o, o->len - 1);
        if (o->len > 0 && !(o->len >= 2 && o->str[o->len - 1] == '\n' && o->str[o->len - 2] == '\n'))
            g_string_append_c(o, '\n');
    } else if (f & DM_EL_CELL) {
        h->space = true;
    }
    if (signature && !(f & DM_EL_SKIP)) {
        dm_break(h, false);
        if (h->out->len > 0) {
            g_string_append(h->out, h->quote > 0 ? "> -- \n" : "-- \n");
        }
    }
}

static void dm_end(void *ctx, const xmlChar *xname)
{
    dm_html *h = ctx;
    guint8 f;

    (void)xname;
    if (h->depth == 0)
        return;
    h->depth--;
    f = h->depth < DM_HTML_DEPTH ? h->stack[h->depth] : 0;
    if (f & DM_EL_SKIP) {
        h->skip--;
        return;
    }
    if (h->skip > 0)
        return;
    if (f & (DM_EL_PARA | DM_EL_BLOCK))
        dm_break(h, (f & DM_EL_PARA) != 0);
    if ((f & DM_EL_QUOTE) && h->quote > 0)
        h->quote--;
}

dm_html *dm_html_new(void)
{
    dm_html *h = g_new0(dm_html, 1);
    htmlSAXHandler sax;

    memset(&sax, 0, sizeof sax);
    sax.startElement = dm_start;
    sax.endElement = dm_end;
    sax.characters = dm_chars;
    sax.ignorableWhitespace = dm_chars;
    h->out = g_string_sized_new(256);
    h->carry = g_string_new(NULL);
    h->ctxt = htmlCreatePushParserCtxt(&sax, h, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
    if (h->ctxt != NULL)
        htmlCtxtUseOptions(h->ctxt, HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                                        HTML_PARSE_IGNORE_ENC | HTML_PARSE_NODEFDTD);
    return h;
}

size_t dm_html_len(const dm_html *h)
{
    return h->out->len;
}

static void dm_html_push(dm_html *h, const char *html, size_t len, bool final);

/* Does s (avail bytes) start an Outlook conditional: "<![if" or
 * "<![endif"?  -1: cannot tell yet. */
static int dm_html_cond(const char *s, size_t avail)
{
    static const char *const starts[] = {"<![if", "<![endif"};

    for (size_t i = 0; i < G_N_ELEMENTS(starts); i++) {
        size_t n = strlen(starts[i]);
        if (g_ascii_strncasecmp(s, starts[i], MIN(n, avail)) == 0)
            return avail < n ? -1 : 1;
    }
    return 0;
}

size_t dm_html_feed(dm_html *h, const char *html, size_t len, bool final)
{
    GString *b = h->carry;
    const char *from, *end, *q;

    if (h->ctxt == NULL || h->stopped)
        return len;
    g_string_append_len(b, html, (gssize)len);
    from = b->str;
    end = b->str + b->len;
    for (q = from; (q = memchr(q, '<', (size_t)(end - q))) != NULL;) {
        size_t avail = (size_t)(end - q);
        int c = dm_html_cond(q, avail);
        const char *close;

        if (c == 0) {
            q++;
            continue;
        }
        close = c > 0 ? g_strstr_len(q, (gssize)MIN(avail, DM_HTML_COND_MAX), "]>") : NULL;
        if (close == NULL && !final && avail < DM_HTML_COND_MAX)
            break; /* its end may come with the next piece */
        if (close == NULL) {
            q++;
            continue;
        }
        dm_html_push(h, from, (size_t)(q - from), false);
        from = q = close + 2;
    }
    if (!final && q == NULL) {
        /* A tag cut at the end of the piece waits for the rest of it:
         * libxml2's push parser takes a cut "</scr" + "ipt>" for script
         * text, and all that follows with it. */
        const char *lt = end;

        while (lt > from && end - lt < DM_HTML_TAG_HOLD && lt[-1] != '<' && lt[-1] != '>')
            lt--;
        if (lt > from && lt[-1] == '<')
            q = lt - 1;
    }
    if (final || q == NULL) {
        /* All of it (the last piece, or nothing held back). */
        dm_html_push(h, from, (size_t)(end - from), final);
        g_string_truncate(b, 0);
    } else {
        dm_html_push(h, from, (size_t)(q - from), false);
        g_string_erase(b, 0, q - b->str);
    }
    return len;
}

static void dm_html_push(dm_html *h, const char *html, size_t len, bool final)
{
    const size_t step = 65536;

    if (h->ctxt == NULL || h->stopped || (len == 0 && !final))
        return;
    /* In steps: libxml2 takes an int, and the pending check below runs
     * often enough to bound what it holds. */
    for (size_t off = 0; off < len || (final && off == len); off += step) {
        size_t n = MIN(step, len - off);
        bool last = final && off + n >= len;

        htmlParseChunk(h->ctxt, html + off, (int)n, last ? 1 : 0);
        if (last)
            break;
        if (h->ctxt->input != NULL && h->ctxt->input->end != NULL &&
            h->ctxt->input->cur != NULL &&
            (size_t)(h->ctxt->input->end - h->ctxt->input->cur) > DM_HTML_PENDING) {
            /* A comment or tag that never ends: what it holds is no
             * text anyway; stop here. */
            htmlParseChunk(h->ctxt, NULL, 0, 1);
            h->stopped = true;
            break;
        }
    }
    if (final)
        h->stopped = true;
}

char *dm_html_finish(dm_html *h)
{
    GString *out = h->out;
    char *valid;

    if (h->ctxt != NULL) {
        if (!h->stopped)
            dm_html_push(h, h->carry->str, h->carry->len, true);
        if (h->ctxt->myDoc != NULL)
            xmlFreeDoc(h->ctxt->myDoc);
        htmlFreeParserCtxt(h->ctxt);
    }
    g_string_free(h->carry, TRUE);
    g_free(h);
    while (out->len > 0 && (out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\n'))
        g_string_truncate(out, out->len - 1);
    if (g_utf8_validate(out->str, (gssize)out->len, NULL) &&
        memchr(out->str, '\0', out->len) == NULL)
        return g_string_free(out, FALSE);
    valid = g_utf8_make_valid(out->str, (gssize)out->len);
    g_string_free(out, TRUE);
    return valid;
}

char *dm_mime_html_to_text(const char *html, size_t len)
{
    dm_html *h = dm_html_new();

    dm_html_feed(h, html, len, true);
    return dm_html_finish(h);
}
