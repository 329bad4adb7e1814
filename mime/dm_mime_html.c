/*
 * HTML to text, enough for the rules to read what a person would see:
 * tags dropped, script, style and comments skipped, entities decoded,
 * block elements turned into line breaks, runs of blanks collapsed.
 */
#include <stdlib.h>
#include <string.h>

#include "dm_mime.h"

static const struct {
    const char *name;
    gunichar c;
} dm_entities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},        {"quot", '"'},
    {"apos", '\''},     {"nbsp", ' '},      {"aring", 0xE5},    {"auml", 0xE4},
    {"ouml", 0xF6},     {"Aring", 0xC5},    {"Auml", 0xC4},     {"Ouml", 0xD6},
    {"eacute", 0xE9},   {"Eacute", 0xC9},   {"uuml", 0xFC},     {"Uuml", 0xDC},
    {"aelig", 0xE6},    {"oslash", 0xF8},   {"AElig", 0xC6},    {"Oslash", 0xD8},
    {"egrave", 0xE8},   {"aacute", 0xE1},   {"iacute", 0xED},   {"oacute", 0xF3},
    {"uacute", 0xFA},   {"ccedil", 0xE7},   {"ntilde", 0xF1},   {"szlig", 0xDF},
    {"ndash", 0x2013},  {"mdash", 0x2014},  {"hellip", 0x2026}, {"lsquo", 0x2018},
    {"rsquo", 0x2019},  {"ldquo", 0x201C},  {"rdquo", 0x201D},  {"laquo", 0xAB},
    {"raquo", 0xBB},    {"euro", 0x20AC},   {"copy", 0xA9},     {"reg", 0xAE},
    {"shy", 0xAD},      {"middot", 0xB7},   {"bull", 0x2022},   {"deg", 0xB0},
    {"sect", 0xA7},     {"times", 0xD7},    {"zwnj", 0x200C},   {"zwj", 0x200D},
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
    } else {
        size_t len = (size_t)(semi - p);
        for (size_t i = 0; i < G_N_ELEMENTS(dm_entities); i++) {
            if (strlen(dm_entities[i].name) == len &&
                strncmp(dm_entities[i].name, p, len) == 0) {
                c = dm_entities[i].c;
                break;
            }
        }
        if (c == 0)
            return 0;
    }
    if (c == 0xA0)
        c = ' ';
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

char *dm_mime_html_to_text(const char *html, size_t len)
{
    GString *out = g_string_sized_new(len / 2 + 16);
    const char *p = html, *end = html + len;
    const char *skip_until = NULL; /* "</script" or "</style" */

    while (p < end) {
        if (skip_until != NULL) {
            const char *q = p;
            size_t sl = strlen(skip_until);
            while (q + sl <= end && g_ascii_strncasecmp(q, skip_until, sl) != 0)
                q++;
            if (q + sl > end)
                break;
            p = q;
            skip_until = NULL;
            continue;
        }
        if (*p == '<') {
            const char *q;
            char tag[16];
            size_t tl = 0;
            bool closing = false;

            if (end - p >= 4 && strncmp(p, "<!--", 4) == 0) {
                const char *c = p + 4;
                while (c + 3 <= end && strncmp(c, "-->", 3) != 0)
                    c++;
                p = c + 3 <= end ? c + 3 : end;
                continue;
            }
            /* <!DOCTYPE ...>, <![if ...]>, <?xml ...?>: markup, not text
             * (they used to come out as text, the whole doctype line). */
            if (end - p >= 2 && (p[1] == '!' || p[1] == '?')) {
                const char *c = memchr(p, '>', (size_t)(end - p));
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
            if (tl == 0) {
                /* A lone "<" in text. */
                g_string_append_c(out, '<');
                p++;
                continue;
            }
            /* Find the end of the tag, respecting quoted attributes. */
            {
                char quote = 0;
                while (q < end && (quote != 0 || *q != '>')) {
                    if (quote == 0 && (*q == '"' || *q == '\''))
                        quote = *q;
                    else if (quote != 0 && *q == quote)
                        quote = 0;
                    q++;
                }
            }
            p = q < end ? q + 1 : end;
            if (!closing && (g_ascii_strcasecmp(tag, "script") == 0))
                skip_until = "</script";
            else if (!closing && g_ascii_strcasecmp(tag, "style") == 0)
                skip_until = "</style";
            else if (dm_is_block(tag))
                dm_space(out, true);
            /* Inline elements (b, span, a) split no words. */
            continue;
        }
        if (*p == '&') {
            size_t n = dm_entity(p + 1, end, out);
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
    while (out->len > 0 && (out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\n'))
        g_string_truncate(out, out->len - 1);
    {
        char *valid = g_utf8_make_valid(out->str, (gssize)out->len);
        g_string_free(out, TRUE);
        return valid;
    }
}
