/*
 * A leaf part's content (for the walk, dm_mime_extract.c): its decoded
 * bytes as a stream, how it is read (dm_mime_leaf_kind), and its text as
 * valid UTF-8, read chunk by chunk only as far as the room left needs.
 */
#include <string.h>

#include "dm_mime_int.h"
#include "dm_utf8.h"

/* A MIME charset label to the iconv name dm_utf8_from takes (GMime
 * knows the aliases mail uses: "ks_c_5601-1987", "windows-1252"...). */
char *dm_mime_to_utf8(const char *data, size_t len, const char *charset)
{
    const char *cs = NULL;

    if (charset != NULL && *charset != '\0' && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
        g_ascii_strcasecmp(charset, "utf8") != 0 && g_ascii_strcasecmp(charset, "us-ascii") != 0)
        cs = g_mime_charset_iconv_name(charset);
    return dm_utf8_from(data, len, cs);
}

/* The decoded content of a leaf part as a stream of its own (NULL when it
 * has none), read from the part's substream: no copy of the part. */
GMimeStream *dm_mime_part_stream(GMimePart *part, bool enriched)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GMimeStream *src, *filtered;
    GMimeContentEncoding enc;

    if (content == NULL || (src = g_mime_data_wrapper_get_stream(content)) == NULL)
        return NULL;
    enc = g_mime_data_wrapper_get_encoding(content);
    g_mime_stream_reset(src);
    filtered = g_mime_stream_filter_new(src);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), dec);
        g_object_unref(dec);
    }
    if (enriched) {
        /* GMime turns text/enriched (and text/richtext) into HTML. */
        GMimeFilter *f = g_mime_filter_enriched_new(0);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), f);
        g_object_unref(f);
    }
    return filtered;
}

/* The first decoded bytes of a leaf part, at most cap of them. */
GByteArray *dm_mime_part_bytes(GMimePart *part, size_t cap)
{
    GMimeStream *s = dm_mime_part_stream(part, false);
    GByteArray *ba = g_byte_array_new();
    char buf[4096];

    while (s != NULL && ba->len < cap) {
        ssize_t n = g_mime_stream_read(s, buf, MIN(sizeof buf, cap - ba->len));
        if (n <= 0)
            break;
        g_byte_array_append(ba, (const guint8 *)buf, (guint)n);
    }
    if (s != NULL)
        g_object_unref(s);
    return ba;
}

/* Where decoded bytes may be cut without splitting a character: after
 * the last line end, in every charset mail uses but the wide ones (no
 * multi-byte charset uses the byte 0x0A inside a character, and ISO-2022
 * returns to ASCII before a line ends); HTML without line ends after its
 * last ">" (below 0x40, in no double-byte character either).  0: no such
 * place yet. */
static size_t dm_chunk_cut(const GByteArray *ba, bool html)
{
    const guint8 *p;

    for (p = ba->data + ba->len; p > ba->data && p[-1] != '\n'; p--)
        ;
    if (p == ba->data && html) {
        for (p = ba->data + ba->len; p > ba->data && p[-1] != '>'; p--)
            ;
    }
    return (size_t)(p - ba->data);
}

static bool dm_is_attachment(GMimeObject *obj)
{
    GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);

    return d != NULL && g_mime_content_disposition_is_attachment(d);
}

dm_leaf dm_mime_leaf_kind(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    static const char *const report[][2] = {
        {"message", "delivery-status"},        {"message", "disposition-notification"},
        {"message", "global-delivery-status"}, {"message", "global-disposition-notification"},
        {"message", "global-headers"},         {"message", "feedback-report"},
        {"text", "rfc822-headers"},
    };

    if (ct == NULL)
        return DM_LEAF_PLAIN; /* RFC 2045: text/plain by default */
    for (size_t i = 0; i < G_N_ELEMENTS(report); i++) {
        if (g_mime_content_type_is_type(ct, report[i][0], report[i][1]))
            return DM_LEAF_REPORT;
    }
    /* Every text meant to be read as prose; other text types (calendar,
     * vcard, csv, xml, x-...) is data and is listed.  An attached text
     * file (Content-Disposition: attachment) is a document of its own,
     * listed like a PDF, not read as the message's text. */
    if (!g_mime_content_type_is_type(ct, "text", "*") || dm_is_attachment(obj))
        return DM_LEAF_LIST;
    if (g_mime_content_type_is_type(ct, "text", "plain"))
        return DM_LEAF_PLAIN;
    if (g_mime_content_type_is_type(ct, "text", "html"))
        return DM_LEAF_HTML;
    if (g_mime_content_type_is_type(ct, "text", "enriched") ||
        g_mime_content_type_is_type(ct, "text", "richtext"))
        return DM_LEAF_ENRICHED;
    return DM_LEAF_LIST;
}

/* Decoded bytes are converted and read in chunks of about this size, so
 * that a part of any size costs a few chunks and the text kept. */
size_t dm_mime_chunk = 256 * 1024;
#define DM_CHUNK dm_mime_chunk

/* The text of a readable leaf as valid UTF-8 (NULL when the text is
 * full).  Read as a stream, chunk by chunk, only as far as the room left
 * for text needs: a 20 MB part costs what the rules keep of it. */
char *dm_mime_part_text(GMimePart *part, dm_leaf kind, size_t room)
{
    const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    /* UTF-16 and UTF-32 cannot be cut safely (a BOM only at the start,
     * surrogate pairs): read in one piece, up to 4 bytes a character. */
    bool wide = dm_charset_wide(cs);
    size_t wide_cap = room > G_MAXSIZE / 8 ? G_MAXSIZE / 2 : room * 4 + 65536;
    GMimeStream *s;
    GByteArray *raw;
    GString *pending = NULL, *plain = NULL;
    dm_html *h = NULL;
    char *buf;
    bool eof = false;

    s = dm_mime_part_stream(part, kind == DM_LEAF_ENRICHED);
    if (s == NULL)
        return g_strdup("");
    raw = g_byte_array_new();
    buf = g_malloc(65536);
    if (kind == DM_LEAF_PLAIN) {
        plain = g_string_new(NULL);
    } else {
        h = dm_html_new();
        pending = g_string_new(NULL);
    }
    while (!eof) {
        size_t cut;
        ssize_t n;
        char *u;

        /* Enough text: dm_walk_append_text cuts it at the room and notes the
         * limit. */
        if ((h != NULL ? dm_html_len(h) : plain->len) > room)
            break;
        n = g_mime_stream_read(s, buf, MIN(65536, DM_CHUNK));
        if (n > 0)
            g_byte_array_append(raw, (const guint8 *)buf, (guint)n);
        else
            eof = true;
        if (wide) {
            if (!eof && raw->len < wide_cap)
                continue;
            eof = true; /* that much is all that can be kept */
        } else if (!eof && raw->len < DM_CHUNK) {
            continue;
        }
        cut = eof ? raw->len : dm_chunk_cut(raw, h != NULL);
        if (cut == 0 && !eof) {
            if (raw->len < 4 * DM_CHUNK)
                continue; /* no place to cut yet */
            cut = raw->len;
        }
        u = dm_mime_to_utf8((const char *)raw->data, cut, cs);
        g_byte_array_remove_range(raw, 0, (guint)cut);
        if (h != NULL) {
            size_t used;

            g_string_append(pending, u);
            /* A tag or comment that never ends is let go at some point. */
            used = dm_html_feed(h, pending->str, pending->len, eof || pending->len > 4 * DM_CHUNK);
            g_string_erase(pending, 0, (gssize)used);
        } else {
            g_string_append(plain, u);
        }
        g_free(u);
    }
    g_object_unref(s);
    g_byte_array_free(raw, TRUE);
    g_free(buf);
    if (h != NULL) {
        g_string_free(pending, TRUE);
        return dm_html_finish(h);
    }
    return g_string_free(plain, FALSE);
}
