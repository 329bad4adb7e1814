/*
 * Extraction: a parsed message to dm_msg (the top-level headers are
 * read in dm_mime_headers.c).
 */
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "dm_mime_int.h"
#include "dm_utf8.h"

static GMimeParserOptions *dm_parser_options;

void dm_mime_init(void)
{
    g_mime_init();
    xmlInitParser(); /* libxml2's HTML parser (dm_mime_html.c), once */
    dm_parser_options = g_mime_parser_options_new();
    /* Mail from the wild is often sloppy: be lenient, never reject. */
    g_mime_parser_options_set_rfc2047_compliance_mode(dm_parser_options,
                                                      GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_address_compliance_mode(dm_parser_options,
                                                      GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(dm_parser_options,
                                                        GMIME_RFC_COMPLIANCE_LOOSE);
    {
        /* Undeclared 8-bit headers: try UTF-8, then windows-1252. */
        const char *charsets[] = {"utf-8", "windows-1252", NULL};
        g_mime_parser_options_set_fallback_charsets(dm_parser_options, charsets);
    }
}

void dm_mime_shutdown(void)
{
    if (dm_parser_options != NULL)
        g_mime_parser_options_free(dm_parser_options);
    dm_parser_options = NULL;
    g_mime_shutdown();
}

GMimeParserOptions *dm_mime_parser_options(void)
{
    return dm_parser_options;
}

void dm_mime_limits_from_conf(const dm_conf *conf, dm_mime_limits *lim)
{
    lim->autoreply_subjects = NULL; /* from the rules: the caller's to set */
    lim->words = NULL;
    lim->max_text = (size_t)conf->max_text;
    lim->max_parts = conf->max_parts;
    lim->max_depth = conf->max_depth;
    lim->max_headers = conf->max_headers;
    lim->max_header_size = (size_t)conf->max_header_size;
    lim->extract = NULL; /* the engine gives its pool */
}

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

typedef struct {
    dm_msg *m;
    const dm_mime_limits *lim;
    dm_segb *segs;        /* the segments, built as the walk reads */
    dm_extract_budget budget; /* the attachments' share of the message */
    int parts;
    dm_seg_kind own;      /* what a text part's own text is here: BODY,
                           * FORWARDED in an attached message */
    bool in_report;       /* inside a multipart/report */
    bool text_full;
    bool parts_full;
    bool depth_hit;
    /* A rendering read ahead to choose an alternative (and its text). */
    GMimeObject *ahead;
    char *ahead_text;
} dm_walk;

static void dm_limit(dm_walk *w, const char *what)
{
    dm_mime_note_limit(w->m, what);
}

/* Room left for text, in bytes. */
static size_t dm_text_room(const dm_walk *w)
{
    return w->lim->max_text > w->m->text->len ? w->lim->max_text - w->m->text->len : 0;
}

static void dm_append_text(dm_walk *w, const char *text)
{
    size_t len = strlen(text), room;

    if (w->text_full || len == 0)
        return;
    /* The separating newline counts against max_text too (it used to be
     * appended after the room was measured: one byte over the limit). */
    if (w->m->text->len > 0) {
        if (w->m->text->len >= w->lim->max_text) {
            w->text_full = true;
            dm_limit(w, "max_text");
            return;
        }
        g_string_append_c(w->m->text, '\n');
    }
    room = dm_text_room(w);
    if (len > room) {
        /* Cut at a character boundary so the text stays valid UTF-8. */
        const char *end = text + room;
        while (end > text && (*end & 0xC0) == 0x80)
            end--;
        g_string_append_len(w->m->text, text, end - text);
        w->text_full = true;
        dm_limit(w, "max_text");
        return;
    }
    g_string_append_len(w->m->text, text, (gssize)len);
}

/* The decoded content of a leaf part as a stream of its own (NULL when it
 * has none), read from the part's substream: no copy of the part. */
static GMimeStream *dm_part_stream(GMimePart *part, bool enriched)
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
static GByteArray *dm_part_bytes(GMimePart *part, size_t cap)
{
    GMimeStream *s = dm_part_stream(part, false);
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

/* Parts whose file name says nothing of the message: signatures, and
 * the images an HTML body shows (inline, with a Content-ID). */
static bool dm_name_says_nothing(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);

    if (ct == NULL)
        return false;
    if (g_mime_content_type_is_type(ct, "application", "pkcs7-signature") ||
        g_mime_content_type_is_type(ct, "application", "x-pkcs7-signature") ||
        g_mime_content_type_is_type(ct, "application", "pgp-signature") ||
        g_mime_content_type_is_type(ct, "application", "pkcs7-mime") ||
        g_mime_content_type_is_type(ct, "application", "x-pkcs7-mime"))
        return true;
    return g_mime_content_type_is_type(ct, "image", "*") &&
           (d == NULL || !g_mime_content_disposition_is_attachment(d)) &&
           g_mime_object_get_content_id(obj) != NULL;
}

static dm_attachment *dm_add_attachment(dm_walk *w, GMimeObject *obj)
{
    dm_attachment *a = g_new0(dm_attachment, 1);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    char *type = ct != NULL ? g_mime_content_type_get_mime_type(ct) : NULL;

    a->content_type = g_utf8_make_valid(type != NULL ? type : "application/octet-stream", -1);
    g_free(type);
    if (GMIME_IS_PART(obj)) {
        GMimePart *part = GMIME_PART(obj);
        GMimeDataWrapper *content = g_mime_part_get_content(part);
        /* Content-Disposition filename, else Content-Type name; RFC 2231
         * and RFC 2047 forms are decoded by GMime. */
        const char *fn = g_mime_part_get_filename(part);

        a->filename = fn != NULL ? g_utf8_make_valid(fn, -1) : NULL;
        if (a->filename != NULL && !dm_name_says_nothing(obj))
            dm_segb_add(w->segs, DM_SEG_ATTACHMENT_NAME, a->filename, strlen(a->filename),
                        a->filename, 0);
        if (content != NULL) {
            GMimeStream *s = g_mime_data_wrapper_get_stream(content);
            gint64 len = s != NULL ? g_mime_stream_length(s) : -1;
            GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(content);

            if (len > 0) {
                /* The encoded length says enough for a listing. */
                if (enc == GMIME_CONTENT_ENCODING_BASE64)
                    len = len * 3 / 4;
                a->size = (size_t)len;
            }
        }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        const char *subj = inner != NULL ? g_mime_message_get_subject(inner) : NULL;

        if (subj != NULL)
            a->filename = g_utf8_make_valid(subj, -1);
    }
    g_ptr_array_add(w->m->attachments, a);
    return a;
}

static void dm_walk_object(dm_walk *w, GMimeObject *obj, int depth, bool read);

static bool dm_has_8bit(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++) {
        if (*p >= 0x80)
            return true;
    }
    return false;
}

/* Raw 8-bit bytes in any header of obj (unencoded UTF-8, Latin-1...). */
static void dm_note_8bit_headers(dm_walk *w, GMimeObject *obj)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    int n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

    for (int i = 0; i < n && !w->m->header_8bit; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        if (dm_has_8bit(g_mime_header_get_raw_name(h)) ||
            dm_has_8bit(g_mime_header_get_raw_value(h)))
            w->m->header_8bit = true;
    }
}

/* How a leaf part is read. */
typedef enum {
    DM_LEAF_LIST,     /* an attachment: listed, not read */
    DM_LEAF_PLAIN,    /* text/plain */
    DM_LEAF_HTML,     /* text/html */
    DM_LEAF_ENRICHED, /* text/enriched, text/richtext */
    DM_LEAF_REPORT,   /* the machine-readable part of a report: skipped */
} dm_leaf;

static dm_leaf dm_leaf_kind(GMimeObject *obj)
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
static char *dm_part_text(GMimePart *part, dm_leaf kind, size_t room)
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

    s = dm_part_stream(part, kind == DM_LEAF_ENRICHED);
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

        /* Enough text: dm_append_text cuts it at the room and notes the
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

static char *dm_leaf_text(dm_walk *w, GMimePart *part, dm_leaf kind)
{
    if (w->text_full)
        return NULL;
    return dm_part_text(part, kind, dm_text_room(w));
}

/* --- attachments' text --------------------------------------------------- */

static ssize_t dm_stream_read(void *ctx, void *buf, size_t len)
{
    return g_mime_stream_read(ctx, buf, len);
}

static dm_att_status dm_att_status_of(dm_extract_status s)
{
    switch (s) {
    case DM_EXTRACT_NONE: return DM_ATT_NOT_TRIED;
    case DM_EXTRACT_READ: return DM_ATT_READ;
    case DM_EXTRACT_NO_TEXT: return DM_ATT_NO_TEXT;
    case DM_EXTRACT_ENCRYPTED: return DM_ATT_ENCRYPTED;
    case DM_EXTRACT_UNSUPPORTED: return DM_ATT_UNSUPPORTED;
    case DM_EXTRACT_FAILED: return DM_ATT_FAILED;
    case DM_EXTRACT_TIMEOUT: return DM_ATT_TIMEOUT;
    case DM_EXTRACT_LIMIT: return DM_ATT_LIMIT;
    }
    return DM_ATT_FAILED;
}

static bool dm_blank(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if (!g_ascii_isspace(*s))
            return false;
    }
    return true;
}

/* The attachment's text as segments of its own, after its name: a PDF's
 * pages one each, numbered (its text separates them by form feeds). */
static void dm_attachment_segments(dm_walk *w, const dm_attachment *a)
{
    bool paged = a->format != NULL && strcmp(a->format, "pdf") == 0;
    const char *t = a->text, *source = a->filename != NULL ? a->filename : a->content_type;
    int page = 1;

    while (t != NULL) {
        const char *ff = paged ? strchr(t, '\f') : NULL;
        size_t len = ff != NULL ? (size_t)(ff - t) : strlen(t);

        dm_segb_add(w->segs, DM_SEG_ATTACHMENT, t, len, source, paged ? page : 0);
        t = ff != NULL ? ff + 1 : NULL;
        page++;
    }
}

/* A text or HTML file: read here, as a text part is (no worker needed:
 * the same bounded, chunked reading as a body). */
static void dm_read_text_attachment(dm_walk *w, GMimePart *part, dm_attachment *a,
                                    dm_extract_format fmt)
{
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    dm_leaf kind = fmt == DM_FMT_HTML ? DM_LEAF_HTML : DM_LEAF_PLAIN;
    size_t room = (size_t)dm_extract_budget_text(w->lim->extract, &w->budget);
    char *text;

    if (ct != NULL && (g_mime_content_type_is_type(ct, "text", "enriched") ||
                       g_mime_content_type_is_type(ct, "text", "richtext")))
        kind = DM_LEAF_ENRICHED;
    w->budget.attachments++;
    text = dm_part_text(part, kind, room);
    if (strlen(text) > room) {
        /* Cut at a character boundary. */
        size_t cut = room;
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--;
        text[cut] = '\0';
        a->cut = true;
    }
    a->format = g_strdup(fmt == DM_FMT_HTML ? "html" : "text");
    if (dm_blank(text)) {
        a->status = DM_ATT_NO_TEXT;
        g_free(text);
        return;
    }
    a->status = DM_ATT_READ;
    a->text = text;
    w->budget.text += strlen(text);
    dm_attachment_segments(w, a);
}

/* The text of an attachment, within the message's share. */
static void dm_read_attachment(dm_walk *w, GMimePart *part, dm_attachment *a)
{
    dm_extract_pool *pool = w->lim->extract;
    GByteArray *head = dm_part_bytes(part, 1024);
    dm_extract_format fmt =
        dm_extract_detect(head->data, head->len, a->content_type, a->filename);

    g_byte_array_free(head, TRUE);
    if (fmt == DM_FMT_UNKNOWN) {
        a->status = DM_ATT_UNSUPPORTED;
        return;
    }
    if (!dm_extract_budget_allows(pool, &w->budget)) {
        a->status = DM_ATT_LIMIT;
        return;
    }
    if (fmt == DM_FMT_TEXT || fmt == DM_FMT_HTML) {
        dm_read_text_attachment(w, part, a, fmt);
        return;
    }
    {
        const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
        GMimeStream *s = dm_part_stream(part, false);
        dm_extract_doc d = {
            .type = a->content_type, .name = a->filename,
            .charset = cs != NULL ? g_mime_charset_iconv_name(cs) : NULL,
            .read = dm_stream_read, .ctx = s,
        };
        dm_extract_result r;

        if (s == NULL) {
            a->status = DM_ATT_NO_TEXT;
            return;
        }
        dm_extract_attachment(pool, &w->budget, &d, &r);
        g_object_unref(s);
        a->status = dm_att_status_of(r.status);
        a->pages = r.pages;
        a->cut = (r.flags & (DM_EXTRACT_F_TEXT_CUT | DM_EXTRACT_F_PAGES | DM_EXTRACT_F_EXPANDED)) != 0;
        if (r.format != NULL && *r.format != '\0')
            a->format = g_steal_pointer(&r.format);
        if (a->status == DM_ATT_READ && r.text != NULL) {
            a->text = g_steal_pointer(&r.text);
            dm_attachment_segments(w, a);
        }
        dm_extract_result_clear(&r);
    }
}

/* After the body: each attachment's text as a block of the message's
 * text, after a line naming it.
 *
 * HOOK (issue 14, the document model): the minimal integration while the
 * rules read dm_msg.text.  The segments carry each attachment's text
 * apart already (DM_SEG_ATTACHMENT, its file name as source, a PDF's
 * page: dm_attachment_segments); once the rules read segments only, and
 * their reasons name the attachment ("bilaga 'Ansökan.pdf', sida 1"),
 * this appending goes. */
static void dm_append_attachments(dm_walk *w)
{
    for (guint i = 0; i < w->m->attachments->len && !w->text_full; i++) {
        const dm_attachment *a = g_ptr_array_index(w->m->attachments, i);
        GString *block;
        char *name;

        if (a->text == NULL || *a->text == '\0')
            continue;
        /* The name on one line, whatever the sender put in it. */
        name = g_strdup(a->filename != NULL && *a->filename != '\0' ? a->filename
                                                                     : a->content_type);
        for (char *p = name; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        }
        block = g_string_new(NULL);
        g_string_append_printf(block, "---------- Bilaga: %s ----------\n", name);
        for (const char *p = a->text; *p != '\0'; p++) {
            if (*p == '\f')
                g_string_append(block, "\n\n"); /* a page ends a paragraph */
            else
                g_string_append_c(block, *p);
        }
        dm_append_text(w, block->str);
        g_string_free(block, TRUE);
        g_free(name);
    }
}

/* A calendar: text/calendar, application/ics, or a .ics/.vcs file. */
static bool dm_is_calendar(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    const char *fn = GMIME_IS_PART(obj) ? g_mime_part_get_filename(GMIME_PART(obj)) : NULL;

    if (!GMIME_IS_PART(obj))
        return false;
    if (ct != NULL && (g_mime_content_type_is_type(ct, "text", "calendar") ||
                       g_mime_content_type_is_type(ct, "application", "ics")))
        return true;
    return fn != NULL && (g_str_has_suffix(fn, ".ics") || g_str_has_suffix(fn, ".ICS") ||
                          g_str_has_suffix(fn, ".vcs") || g_str_has_suffix(fn, ".VCS"));
}

/* A calendar is read this far. */
#define DM_CALENDAR_MAX (256 * 1024)

/* Its events' summary, location and description, once (an invitation
 * often comes as an alternative and as an .ics file both). */
static void dm_read_calendar(dm_walk *w, GMimePart *part)
{
    GByteArray *ba = dm_part_bytes(part, DM_CALENDAR_MAX);
    const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    char *ics = dm_mime_to_utf8((const char *)ba->data, ba->len, cs);
    char *text = dm_mime_calendar_text(ics, strlen(ics));
    const char *fn = g_mime_part_get_filename(part);

    for (guint i = 0; text != NULL && i < w->m->segments->len; i++) {
        const dm_segment *s = g_ptr_array_index(w->m->segments, i);
        if (s->kind == DM_SEG_CALENDAR && strcmp(s->text, text) == 0)
            g_clear_pointer(&text, g_free);
    }
    if (text != NULL)
        dm_segb_add(w->segs, DM_SEG_CALENDAR, text, strlen(text), fn, 0);
    g_free(text);
    g_free(ics);
    g_byte_array_free(ba, TRUE);
}

/* Signed data is read this far (a signed letter is small; a larger one
 * is listed, not read). */
#define DM_SIGNED_MAX (8 * 1024 * 1024)

/* S/MIME signed data: the entity inside, read as if it stood here. */
static void dm_walk_signed_data(dm_walk *w, GMimePart *part, int depth, bool read)
{
    GByteArray *der = dm_part_bytes(part, DM_SIGNED_MAX + 1), *inner;
    GMimeStream *s, *parse;
    GMimeParser *parser;
    GMimeObject *obj;
    const char *why;
    gint64 cut;

    if (der->len > DM_SIGNED_MAX) {
        dm_limit(w, "max_text");
        g_byte_array_free(der, TRUE);
        return;
    }
    inner = dm_mime_smime_content(der->data, der->len);
    g_byte_array_free(der, TRUE);
    if (inner == NULL)
        return;
    s = g_mime_stream_mem_new_with_byte_array(inner); /* owns inner */
    /* The same budget as the message's own parse. */
    cut = dm_mime_budget(s, w->lim, &why);
    if (cut >= 0) {
        parse = g_mime_stream_substream(s, 0, cut);
        dm_limit(w, why);
    } else {
        parse = g_object_ref(s);
    }
    parser = g_mime_parser_new_with_stream(parse);
    obj = g_mime_parser_construct_part(parser, dm_mime_parser_options());
    g_object_unref(parser);
    if (obj != NULL) {
        dm_walk_object(w, obj, depth + 1, read);
        g_object_unref(obj);
    }
    g_object_unref(parse);
    g_object_unref(s);
}

static void dm_walk_leaf(dm_walk *w, GMimeObject *obj, int depth, bool read)
{
    dm_leaf kind = dm_leaf_kind(obj);

    if (kind == DM_LEAF_REPORT)
        return; /* machine-readable report: nothing for the rules */
    if (kind == DM_LEAF_LIST) {
        /* S/MIME enveloped data cannot be read: say so. */
        dm_attachment *a;

        if (GMIME_IS_APPLICATION_PKCS7_MIME(obj) &&
            g_mime_application_pkcs7_mime_get_smime_type(GMIME_APPLICATION_PKCS7_MIME(obj)) ==
                GMIME_SECURE_MIME_TYPE_ENVELOPED_DATA)
            dm_limit(w, "encrypted");
        a = dm_add_attachment(w, obj);
        if (dm_is_calendar(obj)) {
            dm_read_calendar(w, GMIME_PART(obj));
            if (w->lim->extract != NULL) {
                a->status = DM_ATT_READ; /* its events: a CALENDAR segment */
                a->format = g_strdup("calendar");
            }
        } else if (GMIME_IS_APPLICATION_PKCS7_MIME(obj) &&
                   g_mime_application_pkcs7_mime_get_smime_type(
                       GMIME_APPLICATION_PKCS7_MIME(obj)) == GMIME_SECURE_MIME_TYPE_SIGNED_DATA) {
            dm_walk_signed_data(w, GMIME_PART(obj), depth, read);
        } else if (w->lim->extract != NULL && GMIME_IS_PART(obj)) {
            dm_read_attachment(w, GMIME_PART(obj), a);
        }
        return;
    }
    if (!read)
        return; /* another rendering of text already read */
    {
        char *text;

        if (obj == w->ahead) {
            text = g_steal_pointer(&w->ahead_text);
            w->ahead = NULL;
        } else {
            text = dm_leaf_text(w, GMIME_PART(obj), kind);
        }
        if (text != NULL) {
            dm_append_text(w, text);
            dm_segb_text(w->segs, text, strlen(text), w->own);
        }
        g_free(text);
    }
    /* Inline text with a file name of its own (Apple Mail attaches
     * files so) is read and listed too: its text is the body's. */
    if (g_mime_part_get_filename(GMIME_PART(obj)) != NULL) {
        dm_attachment *a = dm_add_attachment(w, obj);
        if (w->lim->extract != NULL) {
            a->status = DM_ATT_READ;
            a->format = g_strdup("text");
        }
    }
}

/* Is obj a rendering of the message's text (a text part to read, or a
 * multipart holding one: multipart/related around the HTML)? */
static bool dm_is_rendering(GMimeObject *obj)
{
    if (GMIME_IS_MULTIPART(obj))
        return !GMIME_IS_MULTIPART_ENCRYPTED(obj);
    if (GMIME_IS_PART(obj)) {
        dm_leaf k = dm_leaf_kind(obj);
        return k == DM_LEAF_PLAIN || k == DM_LEAF_HTML || k == DM_LEAF_ENRICHED;
    }
    return false;
}

/* Does this plain part say anything?  (Some senders put an empty or
 * blank text/plain beside the HTML that holds the message.) */
static bool dm_plain_has_text(GMimePart *part)
{
    GByteArray *ba = dm_part_bytes(part, 4096);
    bool any = false;

    for (guint i = 0; i < ba->len && !any; i++)
        any = !g_ascii_isspace(ba->data[i]);
    g_byte_array_free(ba, TRUE);
    return any;
}

/* The HTML of a rendering: itself, or the first text/html inside a
 * multipart/related (or another multipart) around it; NULL if none. */
static GMimePart *dm_rendering_html(GMimeObject *obj, int depth)
{
    if (GMIME_IS_PART(obj))
        return dm_leaf_kind(obj) == DM_LEAF_HTML ? GMIME_PART(obj) : NULL;
    if (GMIME_IS_MULTIPART(obj) && !GMIME_IS_MULTIPART_ENCRYPTED(obj) && depth < 4) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
            GMimePart *h = dm_rendering_html(g_mime_multipart_get_part(mp, i), depth + 1);
            if (h != NULL)
                return h;
        }
    }
    return NULL;
}

/* A plain part this long says what it has to say: no need to look at
 * the HTML beside it. */
#define DM_STUB_MAX 2048
/* ... and one with more characters than this is no stub unless it says
 * so: the HTML is rendered to compare only for shorter ones (rendering
 * costs; most mail's plain part is the letter). */
#define DM_STUB_SHORT 400

/* Letters and digits in s. */
static size_t dm_visible(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += !g_ascii_isspace(*s) && ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Is the plain rendering a stub of the rich one ("Visa i webbläsaren", a
 * line or two, far shorter than the HTML's text)?  The HTML's text, when
 * it had to be read to tell, is kept for the walk (w->ahead). */
static bool dm_plain_is_stub(dm_walk *w, GMimePart *plain, GMimeObject *rich)
{
    GByteArray *ba = dm_part_bytes(plain, DM_STUB_MAX + 1);
    const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(plain), "charset");
    const dm_seg_words *words = w->lim->words;
    GMimePart *html;
    char *text, *fold, *html_text;
    size_t plain_len, html_len;
    bool stub = false;

    if (ba->len > DM_STUB_MAX || (html = dm_rendering_html(rich, 0)) == NULL) {
        g_byte_array_free(ba, TRUE);
        return false;
    }
    text = dm_mime_to_utf8((const char *)ba->data, ba->len, cs);
    g_byte_array_free(ba, TRUE);
    fold = g_utf8_casefold(text, -1);
    for (char **x = words != NULL ? words->stub : NULL; x != NULL && *x != NULL && !stub; x++)
        stub = strstr(fold, *x) != NULL;
    plain_len = dm_visible(text);
    g_free(fold);
    g_free(text);
    if (stub)
        return true;
    if (plain_len > DM_STUB_SHORT)
        return false;
    /* Far shorter than the HTML's text: the HTML says more. */
    html_text = dm_leaf_text(w, html, DM_LEAF_HTML);
    html_len = html_text != NULL ? dm_visible(html_text) : 0;
    if (html_len > 2 * plain_len + 100) {
        w->ahead = GMIME_OBJECT(html);
        w->ahead_text = html_text;
        return true;
    }
    g_free(html_text);
    return false;
}

static void dm_walk_alternative(dm_walk *w, GMimeMultipart *mp, int depth, bool read)
{
    int n = g_mime_multipart_get_count(mp), plain = -1, rich = -1, chosen;

    /* Read one rendering: the plain text when it says something (HTML
     * rendered to text loses nothing plain text has), else the last
     * rendering, the richest (RFC 2046); but the richest when the plain
     * one is only a stub of it. */
    for (int i = 0; i < n && plain < 0; i++) {
        GMimeObject *c = g_mime_multipart_get_part(mp, i);
        if (GMIME_IS_PART(c) && dm_leaf_kind(c) == DM_LEAF_PLAIN &&
            dm_plain_has_text(GMIME_PART(c)))
            plain = i;
    }
    for (int i = n - 1; i >= 0 && rich < 0; i--) {
        if (i != plain && dm_is_rendering(g_mime_multipart_get_part(mp, i)))
            rich = i;
    }
    chosen = plain >= 0 ? plain : rich;
    if (read && plain >= 0 && rich >= 0 && !w->text_full &&
        dm_plain_is_stub(w, GMIME_PART(g_mime_multipart_get_part(mp, plain)),
                         g_mime_multipart_get_part(mp, rich)))
        chosen = rich;
    /* The other renderings are not read, but what they hold that is no
     * text (a calendar invitation, the HTML's images) is listed. */
    for (int i = 0; i < n; i++)
        dm_walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, read && i == chosen);
    /* Read ahead but not walked (a part beyond max_parts): let go. */
    w->ahead = NULL;
    g_clear_pointer(&w->ahead_text, g_free);
}

/* The attached message's Message-ID, for a notice answered by forwarding
 * (dm_msg.forwarded_ids); at most a few, each short. */
static void dm_note_forwarded_id(dm_walk *w, GMimeMessage *inner)
{
    const char *id = g_mime_message_get_message_id(inner);
    char *valid;
    char *old = w->m->forwarded_ids;

    if (id == NULL || *id == '\0' || strlen(id) > 250 || strpbrk(id, " \t\r\n") != NULL ||
        (old != NULL && strlen(old) > 2000))
        return;
    valid = g_utf8_make_valid(id, -1);
    w->m->forwarded_ids = old != NULL ? g_strconcat(old, " ", valid, NULL) : g_strdup(valid);
    g_free(old);
    g_free(valid);
}

/* A forwarded message: its From, Date and Subject, as a mail client
 * shows a forward, then its text.  The separator tells the rules the
 * text below is the forwarded errand (see policy/dm_policy_text.c). */
static void dm_walk_message_part(dm_walk *w, GMimeMessage *inner, int depth, bool read)
{
    /* A message returned by a delivery report is the sender's own earlier
     * mail, not an errand forwarded. */
    dm_seg_kind own = w->in_report ? DM_SEG_QUOTED : DM_SEG_FORWARDED;
    GMimeObject *body = g_mime_message_get_mime_part(inner);

    dm_note_8bit_headers(w, GMIME_OBJECT(inner));
    dm_note_forwarded_id(w, inner);
    if (read && !w->text_full) {
        GString *h = g_string_new("---------- Vidarebefordrat meddelande ----------");
        InternetAddressList *from = g_mime_message_get_from(inner);
        const char *date = g_mime_object_get_header(GMIME_OBJECT(inner), "Date");
        const char *subj = g_mime_message_get_subject(inner);
        char *valid;

        if (from != NULL && internet_address_list_length(from) > 0) {
            char *f = internet_address_list_to_string(from, NULL, FALSE);
            if (f != NULL && *f != '\0')
                g_string_append_printf(h, "\nFrån: %s", f);
            g_free(f);
        }
        if (date != NULL && *date != '\0')
            g_string_append_printf(h, "\nDatum: %s", date);
        if (subj != NULL && *subj != '\0')
            g_string_append_printf(h, "\nÄmne: %s", subj);
        g_string_append_c(h, '\n');
        valid = g_utf8_make_valid(h->str, (gssize)h->len);
        dm_append_text(w, valid);
        g_free(valid);
        g_string_free(h, TRUE);
    }
    if (read) {
        /* Its own segments: its subject, then its text. */
        const char *subj = g_mime_message_get_subject(inner);

        dm_segb_barrier(w->segs);
        if (subj != NULL && *subj != '\0') {
            char *valid = g_utf8_make_valid(subj, -1);
            dm_segb_add(w->segs, own, valid, strlen(valid), NULL, 0);
            g_free(valid);
        }
    }
    {
        dm_seg_kind saved = w->own;

        w->own = own;
        if (body != NULL)
            dm_walk_object(w, body, depth + 1, read);
        w->own = saved;
    }
    if (read)
        dm_segb_barrier(w->segs);
}

static void dm_walk_object(dm_walk *w, GMimeObject *obj, int depth, bool read)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);

    dm_note_8bit_headers(w, obj);
    if (depth > w->lim->max_depth) {
        if (!w->depth_hit)
            dm_limit(w, "max_depth");
        w->depth_hit = true;
        return;
    }
    if (++w->parts > w->lim->max_parts) {
        if (!w->parts_full)
            dm_limit(w, "max_parts");
        w->parts_full = true;
        return;
    }

    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);

        if (GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
            /* PGP/MIME: nothing to read without the key; listed. */
            dm_limit(w, "encrypted");
            for (int i = 0; i < n; i++)
                dm_walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, false);
            return;
        }
        if (n == 0) {
            /* No delimiter matched the boundary (a sender that writes
             * one boundary and uses another): GMime keeps the whole body
             * as the prologue.  Read it as it stands. */
            const char *pro = g_mime_multipart_get_prologue(mp);

            if (pro != NULL && *pro != '\0' && read) {
                size_t len = strlen(pro);
                char *text = dm_mime_to_utf8(pro, MIN(len, dm_text_room(w) + 1), NULL);
                dm_append_text(w, text);
                g_free(text);
            }
            w->m->malformed = true;
            return;
        }
        if (ct != NULL && g_mime_content_type_is_type(ct, "multipart", "alternative")) {
            dm_walk_alternative(w, mp, depth, read);
            return;
        }
        /* mixed, related, signed (its signature is listed), digest,
         * report, parallel: every part in order. */
        {
            bool saved = w->in_report;

            if (ct != NULL && g_mime_content_type_is_type(ct, "multipart", "report"))
                w->in_report = true;
            for (int i = 0; i < n; i++)
                dm_walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, read);
            w->in_report = saved;
        }
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        /* message/rfc822, message/global, message/news: forwarded mail
         * counts, attached or inline. */
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

        if (inner != NULL)
            dm_walk_message_part(w, inner, depth, read);
        else
            dm_add_attachment(w, obj);
        return;
    }
    if (GMIME_IS_PART(obj))
        dm_walk_leaf(w, obj, depth, read);
}

dm_msg *dm_mime_extract(GMimeStream *stream, const dm_mime_limits *lim)
{
    dm_msg *m = dm_msg_new();
    dm_walk w = {.m = m, .lim = lim, .own = DM_SEG_BODY};
    GMimeParser *parser;
    GMimeMessage *msg;
    GMimeObject *o;
    GMimeStream *parse;
    gint64 len = g_mime_stream_length(stream), start = g_mime_stream_tell(stream), cut;
    const char *why;

    m->size = len > 0 ? (size_t)len : 0;
    /* GMime builds the whole tree first: give it only the bytes that keep
     * within the limits (all of any real message). */
    cut = dm_mime_budget(stream, lim, &why);
    if (cut >= 0) {
        parse = g_mime_stream_substream(stream, start, start + cut);
        dm_limit(&w, why);
    } else {
        parse = g_object_ref(stream);
    }
    parser = g_mime_parser_new_with_stream(parse);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    /* Parts refer to the stream (substreams) instead of copying it. */
    g_mime_parser_set_persist_stream(parser, TRUE);
    msg = g_mime_parser_construct_message(parser, dm_parser_options);
    g_object_unref(parser);
    g_object_unref(parse); /* the parts hold their own references */
    if (msg == NULL) {
        m->malformed = true;
        g_ptr_array_add(m->limits, g_strdup("unparsable"));
        return m;
    }
    o = GMIME_OBJECT(msg);

    dm_note_8bit_headers(&w, o);
    dm_mime_read_headers(m, msg, lim);
    w.segs = dm_segb_new(m, lim);
    dm_segb_subject(w.segs, m->subject);
    {
        GMimeObject *body = g_mime_message_get_mime_part(msg);
        GMimeContentType *ct = body != NULL ? g_mime_object_get_content_type(body) : NULL;

        if (ct != NULL && g_mime_content_type_is_type(ct, "multipart", "report")) {
            const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
            char *valid = g_utf8_make_valid(rt != NULL ? rt : "report", -1);
            m->report = true;
            m->report_type = g_ascii_strdown(valid, -1);
            g_free(valid);
        }
        if (body == NULL)
            m->malformed = true;
        else
            dm_walk_object(&w, body, 0, true);
    }
    dm_append_attachments(&w);
    g_object_unref(msg);
    g_free(w.ahead_text);
    dm_segb_finish(w.segs);
    return m;
}

dm_msg *dm_mime_extract_buffer(const char *data, size_t len, const dm_mime_limits *lim)
{
    GMimeStream *s;
    dm_msg *m;

    /* Copies the buffer: for tests and small inputs.  The daemon hands
     * its own GByteArray or spooled file to dm_mime_extract instead. */
    s = g_mime_stream_mem_new_with_buffer(data, len);
    m = dm_mime_extract(s, lim);
    g_object_unref(s);
    return m;
}
