/*
 * Attachments (for the walk, dm_mime_extract.c): each listed with its
 * name, type and size; its text read -- a text or HTML file here, any
 * other kind by a sandboxed reader of extract/ within the message's
 * share -- into segments of its own (DM_SEG_ATTACHMENT, a PDF's pages
 * numbered), and, for now, after the message's text.
 */
#include <string.h>

#include "dm_mime_int.h"

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

dm_attachment *dm_mime_add_attachment(dm_walk *w, GMimeObject *obj)
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
    text = dm_mime_part_text(part, kind, room);
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
void dm_mime_read_attachment(dm_walk *w, GMimePart *part, dm_attachment *a)
{
    dm_extract_pool *pool = w->lim->extract;
    GByteArray *head = dm_mime_part_bytes(part, 1024);
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
        GMimeStream *s = dm_mime_part_stream(part, false);
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
void dm_mime_append_attachments(dm_walk *w)
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
        dm_walk_append_text(w, block->str);
        g_string_free(block, TRUE);
        g_free(name);
    }
}
