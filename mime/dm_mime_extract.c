/*
 * Extraction: a parsed message to dm_msg, by a walk through its MIME
 * tree (the top-level headers are read in dm_mime_headers.c; a leaf's
 * content in dm_mime_parts.c, attachments in dm_mime_attach.c, the
 * choice among alternatives in dm_mime_alternative.c).
 */
#include <libxml/parser.h>
#include <stdlib.h>
#include <string.h>

#include "dm_mime_int.h"

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

static void dm_limit(dm_walk *w, const char *what)
{
    dm_mime_note_limit(w->m, what);
}

/* Room left for text, in bytes. */
size_t dm_walk_text_room(const dm_walk *w)
{
    return w->lim->max_text > w->m->text->len ? w->lim->max_text - w->m->text->len : 0;
}

void dm_walk_append_text(dm_walk *w, const char *text)
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
    room = dm_walk_text_room(w);
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

char *dm_walk_leaf_text(dm_walk *w, GMimePart *part, dm_leaf kind)
{
    if (w->text_full)
        return NULL;
    return dm_mime_part_text(part, kind, dm_walk_text_room(w));
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
    GByteArray *ba = dm_mime_part_bytes(part, DM_CALENDAR_MAX);
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
    GByteArray *der = dm_mime_part_bytes(part, DM_SIGNED_MAX + 1), *inner;
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
    dm_leaf kind = dm_mime_leaf_kind(obj);

    if (kind == DM_LEAF_REPORT)
        return; /* machine-readable report: nothing for the rules */
    if (kind == DM_LEAF_LIST) {
        /* S/MIME enveloped data cannot be read: say so. */
        dm_attachment *a;

        if (GMIME_IS_APPLICATION_PKCS7_MIME(obj) &&
            g_mime_application_pkcs7_mime_get_smime_type(GMIME_APPLICATION_PKCS7_MIME(obj)) ==
                GMIME_SECURE_MIME_TYPE_ENVELOPED_DATA)
            dm_limit(w, "encrypted");
        a = dm_mime_add_attachment(w, obj);
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
            dm_mime_read_attachment(w, GMIME_PART(obj), a);
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
            text = dm_walk_leaf_text(w, GMIME_PART(obj), kind);
        }
        if (text != NULL) {
            dm_walk_append_text(w, text);
            dm_segb_text(w->segs, text, strlen(text), w->own);
        }
        g_free(text);
    }
    /* Inline text with a file name of its own (Apple Mail attaches
     * files so) is read and listed too: its text is the body's. */
    if (g_mime_part_get_filename(GMIME_PART(obj)) != NULL) {
        dm_attachment *a = dm_mime_add_attachment(w, obj);
        if (w->lim->extract != NULL) {
            a->status = DM_ATT_READ;
            a->format = g_strdup("text");
        }
    }
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
    /* The words are the site's ([replies] forward_line ...). */
    if (read && !w->text_full && w->lim->words != NULL && *w->lim->words->forward_line != '\0') {
        const dm_seg_words *sw = w->lim->words;
        GString *h = g_string_new(sw->forward_line);
        InternetAddressList *from = g_mime_message_get_from(inner);
        const char *date = g_mime_object_get_header(GMIME_OBJECT(inner), "Date");
        const char *subj = g_mime_message_get_subject(inner);
        char *valid;

        if (from != NULL && internet_address_list_length(from) > 0) {
            char *f = internet_address_list_to_string(from, NULL, FALSE);
            if (f != NULL && *f != '\0')
                g_string_append_printf(h, "\n%s %s", sw->forward_from, f);
            g_free(f);
        }
        if (date != NULL && *date != '\0')
            g_string_append_printf(h, "\n%s %s", sw->forward_date, date);
        if (subj != NULL && *subj != '\0')
            g_string_append_printf(h, "\n%s %s", sw->forward_subject, subj);
        g_string_append_c(h, '\n');
        valid = g_utf8_make_valid(h->str, (gssize)h->len);
        dm_walk_append_text(w, valid);
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

void dm_walk_object(dm_walk *w, GMimeObject *obj, int depth, bool read)
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
                char *text = dm_mime_to_utf8(pro, MIN(len, dm_walk_text_room(w) + 1), NULL);
                dm_walk_append_text(w, text);
                g_free(text);
            }
            w->m->malformed = true;
            return;
        }
        if (ct != NULL && g_mime_content_type_is_type(ct, "multipart", "alternative")) {
            dm_mime_walk_alternative(w, mp, depth, read);
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
            dm_mime_add_attachment(w, obj);
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
    dm_mime_append_attachments(&w);
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
