/*
 * Bytes of any charset to valid UTF-8, for mime/ (text parts) and the
 * attachment reader (extract/): the one place that decides what a
 * charset label is worth.  Plain GLib (iconv): no MIME library, so that
 * the sandboxed extractor can use it too.
 */
#include <string.h>

#include "dm_utf8.h"

/* Does data hold UTF-8 rather than a single-byte charset?  Counts the
 * valid multi-byte sequences and the bytes that fit none: UTF-8 with a
 * few damaged bytes (a cut, a stray Latin-1 letter) is still UTF-8, while
 * Latin-1 text practically never forms a valid sequence. */
static bool dm_mostly_utf8(const char *data, size_t len)
{
    const char *p = data, *end = data + len;
    size_t multi = 0, bad = 0;

    while (p < end) {
        gunichar c;

        if ((unsigned char)*p < 0x80) {
            p++;
            continue;
        }
        c = g_utf8_get_char_validated(p, end - p);
        if (c == (gunichar)-1 || c == (gunichar)-2) {
            bad++;
            p++;
        } else {
            multi++;
            p = g_utf8_next_char(p);
        }
    }
    return multi > 0 && bad <= multi;
}

/* Wide charsets, where a NUL byte is part of a character. */
bool dm_charset_wide(const char *cs)
{
    return cs != NULL && (g_ascii_strncasecmp(cs, "utf-16", 6) == 0 ||
                          g_ascii_strncasecmp(cs, "utf-32", 6) == 0 ||
                          g_ascii_strncasecmp(cs, "ucs-", 4) == 0 ||
                          g_ascii_strncasecmp(cs, "ucs2", 4) == 0 ||
                          g_ascii_strncasecmp(cs, "ucs4", 4) == 0 ||
                          g_ascii_strncasecmp(cs, "unicode", 7) == 0);
}

/* s (len bytes, valid UTF-8) without NUL characters, as a new string:
 * the rules read C strings, and a NUL would end the text there. */
static char *dm_without_nul(char *s, size_t len)
{
    size_t j = 0;

    if (memchr(s, '\0', len) == NULL)
        return s;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\0')
            s[j++] = s[i];
    }
    s[j] = '\0';
    return s;
}

static char *dm_to_utf8_len(const char *data, size_t len, const char *charset)
{
    char *out = NULL;
    gsize written = 0;

    if (charset != NULL && *charset != '\0' && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
        g_ascii_strcasecmp(charset, "utf8") != 0 && g_ascii_strcasecmp(charset, "us-ascii") != 0) {
        const char *cs = charset;
        bool western = g_ascii_strncasecmp(cs, "iso-8859-", 9) == 0 ||
                       g_ascii_strncasecmp(cs, "cp125", 5) == 0 ||
                       g_ascii_strncasecmp(cs, "windows-125", 11) == 0 ||
                       g_ascii_strncasecmp(cs, "latin", 5) == 0;

        /* A single-byte charset declared, but the bytes are UTF-8 (a
         * mislabelling client): "fÃ¶r" would hide every Swedish word from
         * the rules.  Real Latin-1 text is practically never valid UTF-8
         * once it holds a byte above 127. */
        if (western && g_utf8_validate(data, (gssize)len, NULL)) {
            for (size_t i = 0; i < len; i++) {
                if ((unsigned char)data[i] >= 0x80)
                    return g_strndup(data, len);
            }
        }
        /* "iso-8859-1" in mail means windows-1252 (as in the WHATWG
         * Encoding Standard): 0x80-0x9F are the dash, quotes and euro
         * sign Outlook writes, not C1 control characters.  (iconv refuses
         * the five bytes windows-1252 leaves undefined: then Latin-1.) */
        if (g_ascii_strcasecmp(cs, "iso-8859-1") == 0 || g_ascii_strcasecmp(cs, "latin1") == 0 ||
            g_ascii_strcasecmp(cs, "l1") == 0) {
            out = g_convert(data, (gssize)len, "UTF-8", "WINDOWS-1252", NULL, &written, NULL);
            if (out != NULL && g_utf8_validate(out, (gssize)written, NULL))
                return dm_without_nul(out, written);
            g_free(out);
        }
        out = g_convert(data, (gssize)len, "UTF-8", cs, NULL, &written, NULL);
        if (out != NULL && g_utf8_validate(out, (gssize)written, NULL))
            return dm_without_nul(out, written);
        g_free(out);
        out = NULL;
    }
    if (g_utf8_validate(data, (gssize)len, NULL))
        return g_strndup(data, len);
    /* UTF-8 (declared or not) with a few damaged bytes: those bytes
     * become U+FFFD and every other letter stays (converting the whole
     * text from windows-1252 turned each "ö" into "Ã¶"). */
    if (dm_mostly_utf8(data, len))
        return g_utf8_make_valid(data, (gssize)len);
    /* Declared wrongly or not at all: windows-1252 is what such mail
     * nearly always is here.  iconv refuses its five undefined bytes
     * (0x81, 0x8D, 0x8F, 0x90, 0x9D), and g_utf8_make_valid then turned
     * every other 8-bit letter into U+FFFD too: Latin-1 maps every byte,
     * so nothing is lost. */
    out = g_convert(data, (gssize)len, "UTF-8", "WINDOWS-1252", NULL, &written, NULL);
    if (out == NULL)
        out = g_convert(data, (gssize)len, "UTF-8", "ISO-8859-1", NULL, &written, NULL);
    if (out != NULL && g_utf8_validate(out, (gssize)written, NULL))
        return out;
    g_free(out);
    return g_utf8_make_valid(data, (gssize)len);
}

char *dm_utf8_from(const char *data, size_t len, const char *charset)
{
    char *copy = NULL, *out;

    /* An empty part's bytes may be a NULL pointer (an empty GByteArray),
     * and g_strndup(NULL, 0) is NULL: callers expect a string. */
    if (data == NULL || len == 0)
        return g_strdup("");
    /* NUL bytes are no text in any charset but the wide ones (and made
     * g_utf8_validate fail, so valid UTF-8 went through windows-1252). */
    if (!dm_charset_wide(charset) && memchr(data, '\0', len) != NULL) {
        size_t j = 0;

        copy = g_malloc(len);
        for (size_t i = 0; i < len; i++) {
            if (data[i] != '\0')
                copy[j++] = data[i];
        }
        data = copy;
        len = j;
    }
    out = len > 0 ? dm_to_utf8_len(data, len, charset) : g_strdup("");
    g_free(copy);
    return out;
}
