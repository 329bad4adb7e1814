/*
 * HTML to text, enough for the rules to read what a person would see:
 * tags dropped, script, style and comments skipped, entities decoded,
 * block elements turned into line breaks, runs of blanks collapsed.
 */
#include <stdlib.h>
#include <string.h>

#include "dm_mime_int.h"

/* The named character references of HTML 4 (and a few of HTML5 that
 * mail uses), sorted by strcmp for bsearch. */
static const struct dm_entity {
    const char *name;
    gunichar c;
} dm_entities[] = {
    {"AElig", 0xC6}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Agrave", 0xC0}, {"Alpha", 0x391},
    {"Aring", 0xC5}, {"Atilde", 0xC3}, {"Auml", 0xC4}, {"Beta", 0x392}, {"Ccedil", 0xC7},
    {"Chi", 0x3A7}, {"Dagger", 0x2021}, {"Delta", 0x394}, {"ETH", 0xD0}, {"Eacute", 0xC9},
    {"Ecirc", 0xCA}, {"Egrave", 0xC8}, {"Epsilon", 0x395}, {"Eta", 0x397}, {"Euml", 0xCB},
    {"Gamma", 0x393}, {"Iacute", 0xCD}, {"Icirc", 0xCE}, {"Igrave", 0xCC}, {"Iota", 0x399},
    {"Iuml", 0xCF}, {"Kappa", 0x39A}, {"Lambda", 0x39B}, {"Mu", 0x39C}, {"Ntilde", 0xD1},
    {"Nu", 0x39D}, {"OElig", 0x152}, {"Oacute", 0xD3}, {"Ocirc", 0xD4}, {"Ograve", 0xD2},
    {"Omega", 0x3A9}, {"Omicron", 0x39F}, {"Oslash", 0xD8}, {"Otilde", 0xD5}, {"Ouml", 0xD6},
    {"Phi", 0x3A6}, {"Pi", 0x3A0}, {"Prime", 0x2033}, {"Psi", 0x3A8}, {"Rho", 0x3A1},
    {"Scaron", 0x160}, {"Sigma", 0x3A3}, {"THORN", 0xDE}, {"Tau", 0x3A4}, {"Theta", 0x398},
    {"Uacute", 0xDA}, {"Ucirc", 0xDB}, {"Ugrave", 0xD9}, {"Upsilon", 0x3A5}, {"Uuml", 0xDC},
    {"Xi", 0x39E}, {"Yacute", 0xDD}, {"Yuml", 0x178}, {"Zeta", 0x396}, {"aacute", 0xE1},
    {"acirc", 0xE2}, {"acute", 0xB4}, {"aelig", 0xE6}, {"agrave", 0xE0}, {"alefsym", 0x2135},
    {"alpha", 0x3B1}, {"amp", 0x26}, {"and", 0x2227}, {"ang", 0x2220}, {"apos", 0x27},
    {"aring", 0xE5}, {"asymp", 0x2248}, {"atilde", 0xE3}, {"auml", 0xE4}, {"bdquo", 0x201E},
    {"beta", 0x3B2}, {"brvbar", 0xA6}, {"bull", 0x2022}, {"cap", 0x2229}, {"ccedil", 0xE7},
    {"cedil", 0xB8}, {"cent", 0xA2}, {"chi", 0x3C7}, {"circ", 0x2C6}, {"clubs", 0x2663},
    {"cong", 0x2245}, {"copy", 0xA9}, {"crarr", 0x21B5}, {"cup", 0x222A}, {"curren", 0xA4},
    {"dArr", 0x21D3}, {"dagger", 0x2020}, {"darr", 0x2193}, {"dash", 0x2010}, {"deg", 0xB0},
    {"delta", 0x3B4}, {"diams", 0x2666}, {"divide", 0xF7}, {"eacute", 0xE9}, {"ecirc", 0xEA},
    {"egrave", 0xE8}, {"empty", 0x2205}, {"emsp", 0x2003}, {"ensp", 0x2002},
    {"epsilon", 0x3B5}, {"equiv", 0x2261}, {"eta", 0x3B7}, {"eth", 0xF0}, {"euml", 0xEB},
    {"euro", 0x20AC}, {"exist", 0x2203}, {"fnof", 0x192}, {"forall", 0x2200}, {"frac12", 0xBD},
    {"frac14", 0xBC}, {"frac34", 0xBE}, {"frasl", 0x2044}, {"gamma", 0x3B3}, {"ge", 0x2265},
    {"gt", 0x3E}, {"hArr", 0x21D4}, {"harr", 0x2194}, {"hearts", 0x2665}, {"hellip", 0x2026},
    {"hyphen", 0x2010}, {"iacute", 0xED}, {"icirc", 0xEE}, {"iexcl", 0xA1}, {"igrave", 0xEC},
    {"image", 0x2111}, {"infin", 0x221E}, {"int", 0x222B}, {"iota", 0x3B9}, {"iquest", 0xBF},
    {"isin", 0x2208}, {"iuml", 0xEF}, {"kappa", 0x3BA}, {"lArr", 0x21D0}, {"lambda", 0x3BB},
    {"lang", 0x2329}, {"laquo", 0xAB}, {"larr", 0x2190}, {"lceil", 0x2308}, {"ldquo", 0x201C},
    {"le", 0x2264}, {"lfloor", 0x230A}, {"lowast", 0x2217}, {"loz", 0x25CA}, {"lrm", 0x200E},
    {"lsaquo", 0x2039}, {"lsquo", 0x2018}, {"lt", 0x3C}, {"macr", 0xAF}, {"mdash", 0x2014},
    {"micro", 0xB5}, {"middot", 0xB7}, {"minus", 0x2212}, {"mu", 0x3BC}, {"nabla", 0x2207},
    {"nbhy", 0x2011}, {"nbsp", 0xA0}, {"ndash", 0x2013}, {"ne", 0x2260}, {"ni", 0x220B},
    {"not", 0xAC}, {"notin", 0x2209}, {"nsub", 0x2284}, {"ntilde", 0xF1}, {"nu", 0x3BD},
    {"oacute", 0xF3}, {"ocirc", 0xF4}, {"oelig", 0x153}, {"ograve", 0xF2}, {"oline", 0x203E},
    {"omega", 0x3C9}, {"omicron", 0x3BF}, {"oplus", 0x2295}, {"or", 0x2228}, {"ordf", 0xAA},
    {"ordm", 0xBA}, {"oslash", 0xF8}, {"otilde", 0xF5}, {"otimes", 0x2297}, {"ouml", 0xF6},
    {"para", 0xB6}, {"part", 0x2202}, {"permil", 0x2030}, {"perp", 0x22A5}, {"phi", 0x3C6},
    {"pi", 0x3C0}, {"piv", 0x3D6}, {"plusmn", 0xB1}, {"pound", 0xA3}, {"prime", 0x2032},
    {"prod", 0x220F}, {"prop", 0x221D}, {"psi", 0x3C8}, {"quot", 0x22}, {"rArr", 0x21D2},
    {"radic", 0x221A}, {"rang", 0x232A}, {"raquo", 0xBB}, {"rarr", 0x2192}, {"rceil", 0x2309},
    {"rdquo", 0x201D}, {"real", 0x211C}, {"reg", 0xAE}, {"rfloor", 0x230B}, {"rho", 0x3C1},
    {"rlm", 0x200F}, {"rsaquo", 0x203A}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
    {"scaron", 0x161}, {"sdot", 0x22C5}, {"sect", 0xA7}, {"shy", 0xAD}, {"sigma", 0x3C3},
    {"sigmaf", 0x3C2}, {"sim", 0x223C}, {"spades", 0x2660}, {"sub", 0x2282}, {"sube", 0x2286},
    {"sum", 0x2211}, {"sup", 0x2283}, {"sup1", 0xB9}, {"sup2", 0xB2}, {"sup3", 0xB3},
    {"supe", 0x2287}, {"szlig", 0xDF}, {"tau", 0x3C4}, {"there4", 0x2234}, {"theta", 0x3B8},
    {"thetasym", 0x3D1}, {"thinsp", 0x2009}, {"thorn", 0xFE}, {"tilde", 0x2DC},
    {"times", 0xD7}, {"trade", 0x2122}, {"uArr", 0x21D1}, {"uacute", 0xFA}, {"uarr", 0x2191},
    {"ucirc", 0xFB}, {"ugrave", 0xF9}, {"uml", 0xA8}, {"upsih", 0x3D2}, {"upsilon", 0x3C5},
    {"uuml", 0xFC}, {"weierp", 0x2118}, {"xi", 0x3BE}, {"yacute", 0xFD}, {"yen", 0xA5},
    {"yuml", 0xFF}, {"zeta", 0x3B6}, {"zwj", 0x200D}, {"zwnj", 0x200C},
};

static const char *const dm_block_tags[] = {
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "blockquote", "hr", "ul", "ol", "pre", "section", "article", "header",
    "footer", "title", "dt", "dd", NULL,
};

static bool dm_is_block(const char *tag)
{
    for (int i = 0; dm_block_tags[i] != NULL; i++) {
        if (g_ascii_strcasecmp(tag, dm_block_tags[i]) == 0)
            return true;
    }
    return false;
}

/* windows-1252 at 0x80-0x9F (0: undefined there). */
static const gunichar dm_cp1252[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

static int dm_entity_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct dm_entity *)elem)->name);
}

/* Decode the entity at p (just after '&'); returns bytes consumed after
 * '&', 0 when it is not an entity. */
static size_t dm_entity(const char *p, const char *end, GString *out)
{
    const char *semi = memchr(p, ';', (size_t)MIN(end - p, 12));
    gunichar c = 0;

    if (semi == NULL || semi == p)
        return 0;
    if (*p == '#') {
        char *e;
        unsigned long v = (p[1] == 'x' || p[1] == 'X') ? strtoul(p + 2, &e, 16)
                                                      : strtoul(p + 1, &e, 10);
        if (e != semi || v == 0 || v > 0x10FFFF || !g_unichar_validate((gunichar)v))
            return 0;
        c = (gunichar)v;
        /* &#150; is an en dash, not a C1 control: references to 128-159
         * mean windows-1252 (as browsers read them). */
        if (c >= 0x80 && c <= 0x9F && dm_cp1252[c - 0x80] != 0)
            c = dm_cp1252[c - 0x80];
    } else {
        char name[12];
        size_t len = (size_t)(semi - p);
        const struct dm_entity *e;

        if (len >= sizeof name)
            return 0;
        memcpy(name, p, len);
        name[len] = '\0';
        e = bsearch(name, dm_entities, G_N_ELEMENTS(dm_entities), sizeof dm_entities[0],
                    dm_entity_cmp);
        if (e != NULL)
            c = e->c;
        if (c == 0)
            return 0;
    }
    if (c == 0xA0)
        c = ' ';
    /* Invisible: a soft hyphen or a zero-width character splits no word
     * ("bygg&shy;lov" is "bygglov"). */
    if (c == 0xAD || (c >= 0x200B && c <= 0x200F))
        return (size_t)(semi - p) + 1;
    g_string_append_unichar(out, c);
    return (size_t)(semi - p) + 1;
}

static void dm_space(GString *out, bool newline)
{
    if (out->len == 0)
        return;
    if (newline) {
        while (out->len > 0 && out->str[out->len - 1] == ' ')
            g_string_truncate(out, out->len - 1);
        if (out->len > 0 && out->str[out->len - 1] != '\n')
            g_string_append_c(out, '\n');
    } else if (out->str[out->len - 1] != ' ' && out->str[out->len - 1] != '\n') {
        g_string_append_c(out, ' ');
    }
}

struct dm_html {
    GString *out;
    const char *skip_until; /* "</script" or "</style" */
};

dm_html *dm_html_new(void)
{
    dm_html *h = g_new0(dm_html, 1);

    h->out = g_string_sized_new(256);
    return h;
}

size_t dm_html_len(const dm_html *h)
{
    return h->out->len;
}

size_t dm_html_feed(dm_html *h, const char *html, size_t len, bool final)
{
    GString *out = h->out;
    const char *p = html, *end = html + len;

    while (p < end) {
        if (h->skip_until != NULL) {
            const char *q = p;
            size_t sl = strlen(h->skip_until);
            while (q + sl <= end && g_ascii_strncasecmp(q, h->skip_until, sl) != 0)
                q++;
            if (q + sl > end) {
                /* Still inside: skip all but what could start the end. */
                if (final || (size_t)(end - p) < sl)
                    return final ? len : (size_t)(p - html);
                return (size_t)(end - html) - (sl - 1);
            }
            p = q;
            h->skip_until = NULL;
            continue;
        }
        if (*p == '<') {
            const char *q;
            char tag[16];
            size_t tl = 0;
            bool closing = false;

            if (!final && end - p < 4 && strncmp(p, "<!--", (size_t)(end - p)) == 0)
                return (size_t)(p - html); /* perhaps a comment: more */
            if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
                const char *c = p + 4;
                while (c + 3 <= end && strncmp(c, "-->", 3) != 0)
                    c++;
                if (c + 3 > end && !final)
                    return (size_t)(p - html);
                p = c + 3 <= end ? c + 3 : end;
                continue;
            }
            /* <!DOCTYPE ...>, <![if ...]>, <?xml ...?>: markup, not text
             * (they used to come out as text, the whole doctype line). */
            if (end - p >= 2 && (p[1] == '!' || p[1] == '?')) {
                const char *c = memchr(p, '>', (size_t)(end - p));
                if (c == NULL && !final)
                    return (size_t)(p - html);
                p = c != NULL ? c + 1 : end;
                continue;
            }
            q = p + 1;
            if (q < end && *q == '/') {
                closing = true;
                q++;
            }
            while (q < end && tl < sizeof tag - 1 && (g_ascii_isalnum(*q)))
                tag[tl++] = *q++;
            tag[tl] = '\0';
            if (q == end && !final)
                return (size_t)(p - html); /* the name may go on */
            if (tl == 0) {
                /* A lone "<" in text. */
                g_string_append_c(out, '<');
                p++;
                continue;
            }
            /* Find the end of the tag, respecting quoted attribute
             * values.  A quote opens one only after "=", as browsers read
             * it: <hr width="80% noshade align="left"> ends at its ">"
             * (a quote anywhere used to run on to the end of the mail). */
            {
                char quote = 0, prev = 0;
                for (; q < end; q++) {
                    char c = *q;
                    if (quote != 0) {
                        if (c == quote) {
                            quote = 0;
                            prev = c;
                        }
                        continue;
                    }
                    if (c == '>')
                        break;
                    if ((c == '"' || c == '\'') && prev == '=') {
                        quote = c;
                        continue;
                    }
                    if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
                        prev = c;
                }
            }
            if (q == end && !final)
                return (size_t)(p - html);
            p = q < end ? q + 1 : end;
            if (!closing && (g_ascii_strcasecmp(tag, "script") == 0))
                h->skip_until = "</script";
            else if (!closing && g_ascii_strcasecmp(tag, "style") == 0)
                h->skip_until = "</style";
            else if (dm_is_block(tag))
                dm_space(out, true);
            /* Inline elements (b, span, a) split no words. */
            continue;
        }
        if (*p == '&') {
            size_t n;

            /* An entity cut by the end of what is here: wait for more. */
            if (!final && end - p < 14 && memchr(p, ';', (size_t)(end - p)) == NULL)
                return (size_t)(p - html);
            n = dm_entity(p + 1, end, out);
            if (n > 0) {
                p += n + 1;
                continue;
            }
        }
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            dm_space(out, false);
            p++;
            continue;
        }
        g_string_append_c(out, *p++);
    }
    return len;
}

char *dm_html_finish(dm_html *h)
{
    GString *out = h->out;
    char *valid;

    g_free(h);
    while (out->len > 0 && (out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\n'))
        g_string_truncate(out, out->len - 1);
    /* Valid UTF-8 in, valid out, unless a tag cut a character: no second
     * copy of the text for the common case. */
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
