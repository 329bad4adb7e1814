/*
 * Extraction: a parsed message to dm_msg.
 */
#include <stdlib.h>
#include <string.h>

#include "dm_mime.h"

static GMimeParserOptions *dm_parser_options;

void dm_mime_init(void)
{
    g_mime_init();
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

void dm_mime_limits_from_conf(const dm_conf *conf, dm_mime_limits *lim)
{
    lim->max_text = (size_t)conf->max_text;
    lim->max_parts = conf->max_parts;
    lim->max_depth = conf->max_depth;
    lim->max_headers = conf->max_headers;
    lim->max_header_size = (size_t)conf->max_header_size;
}

char *dm_mime_to_utf8(const char *data, size_t len, const char *charset)
{
    char *out = NULL;

    /* An empty part's bytes may be a NULL pointer (an empty GByteArray),
     * and g_strndup(NULL, 0) is NULL: callers expect a string. */
    if (data == NULL || len == 0)
        return g_strdup("");
    if (charset != NULL && *charset != '\0' && g_ascii_strcasecmp(charset, "utf-8") != 0 &&
        g_ascii_strcasecmp(charset, "utf8") != 0 && g_ascii_strcasecmp(charset, "us-ascii") != 0) {
        const char *cs = g_mime_charset_iconv_name(charset);
        gsize written = 0;
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
                return out;
            g_free(out);
        }
        out = g_convert(data, (gssize)len, "UTF-8", cs, NULL, &written, NULL);
        if (out != NULL && g_utf8_validate(out, (gssize)written, NULL))
            return out;
        g_free(out);
        out = NULL;
    }
    if (g_utf8_validate(data, (gssize)len, NULL))
        return g_strndup(data, len);
    /* Declared wrongly or not at all: windows-1252 is what such mail
     * nearly always is here.  iconv refuses its five undefined bytes
     * (0x81, 0x8D, 0x8F, 0x90, 0x9D), and g_utf8_make_valid then turned
     * every other 8-bit letter into U+FFFD too: Latin-1 maps every byte,
     * so nothing is lost. */
    out = g_convert(data, (gssize)len, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
    if (out == NULL)
        out = g_convert(data, (gssize)len, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
    if (out != NULL && g_utf8_validate(out, -1, NULL))
        return out;
    g_free(out);
    return g_utf8_make_valid(data, (gssize)len);
}

typedef struct {
    dm_msg *m;
    const dm_mime_limits *lim;
    int parts;
    bool text_full;
    bool parts_full;
    bool depth_hit;
} dm_walk;

static void dm_limit(dm_walk *w, const char *what)
{
    for (guint i = 0; i < w->m->limits->len; i++) {
        if (strcmp(g_ptr_array_index(w->m->limits, i), what) == 0)
            return;
    }
    g_ptr_array_add(w->m->limits, g_strdup(what));
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
    room = w->lim->max_text > w->m->text->len ? w->lim->max_text - w->m->text->len : 0;
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

/* Decoded bytes of a leaf part. */
static GByteArray *dm_part_bytes(GMimePart *part)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GByteArray *ba = g_byte_array_new();
    GMimeStream *mem;

    if (content == NULL)
        return ba;
    mem = g_mime_stream_mem_new_with_byte_array(ba);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    g_mime_data_wrapper_write_to_stream(content, mem);
    g_object_unref(mem);
    return ba;
}

static void dm_add_attachment(dm_walk *w, GMimeObject *obj)
{
    dm_attachment *a = g_new0(dm_attachment, 1);
    GMimeContentType *ct = g_mime_object_get_content_type(obj);

    a->content_type = ct != NULL ? g_mime_content_type_get_mime_type(ct)
                                 : g_strdup("application/octet-stream");
    if (GMIME_IS_PART(obj)) {
        GMimePart *part = GMIME_PART(obj);
        GMimeDataWrapper *content = g_mime_part_get_content(part);
        const char *fn = g_mime_part_get_filename(part);

        a->filename = fn != NULL ? g_utf8_make_valid(fn, -1) : NULL;
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
    }
    g_ptr_array_add(w->m->attachments, a);
}

static void dm_walk_object(dm_walk *w, GMimeObject *obj, int depth, bool in_alternative);

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

static void dm_walk_message(dm_walk *w, GMimeMessage *msg, int depth)
{
    GMimeObject *body = g_mime_message_get_mime_part(msg);

    if (body != NULL)
        dm_walk_object(w, body, depth, false);
}

static bool dm_is_attachment(GMimeObject *obj)
{
    GMimeContentDisposition *d = g_mime_object_get_content_disposition(obj);

    return d != NULL && g_mime_content_disposition_is_attachment(d);
}

static void dm_walk_text(dm_walk *w, GMimePart *part, bool html)
{
    GByteArray *ba = dm_part_bytes(part);
    const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    char *utf8 = dm_mime_to_utf8((const char *)ba->data, ba->len, cs);

    if (html) {
        char *plain = dm_mime_html_to_text(utf8, strlen(utf8));
        dm_append_text(w, plain);
        g_free(plain);
    } else {
        dm_append_text(w, utf8);
    }
    g_free(utf8);
    g_byte_array_free(ba, TRUE);
}

static void dm_walk_object(dm_walk *w, GMimeObject *obj, int depth, bool in_alternative)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);

    (void)in_alternative;
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
        bool alt = ct != NULL && g_mime_content_type_is_type(ct, "multipart", "alternative");
        int plain_at = -1;

        if (alt) {
            /* Read one rendering: the plain text when there is one. */
            for (int i = 0; i < n && plain_at < 0; i++) {
                GMimeObject *c = g_mime_multipart_get_part(mp, i);
                GMimeContentType *cct = g_mime_object_get_content_type(c);
                if (cct != NULL && g_mime_content_type_is_type(cct, "text", "plain"))
                    plain_at = i;
            }
        }
        for (int i = 0; i < n; i++) {
            GMimeObject *c = g_mime_multipart_get_part(mp, i);
            if (alt && plain_at >= 0 && i != plain_at) {
                GMimeContentType *cct = g_mime_object_get_content_type(c);
                if (cct != NULL && g_mime_content_type_is_type(cct, "text", "*"))
                    continue;
            }
            dm_walk_object(w, c, depth + 1, alt);
        }
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner != NULL) {
            dm_note_8bit_headers(w, GMIME_OBJECT(inner));
            const char *subj = g_mime_message_get_subject(inner);
            /* A forwarded message's subject is text too. */
            if (subj != NULL && *subj != '\0')
                dm_append_text(w, subj);
            dm_walk_message(w, inner, depth + 1);
        }
        return;
    }
    if (GMIME_IS_PART(obj)) {
        bool text = ct != NULL && g_mime_content_type_is_type(ct, "text", "plain");
        bool html = ct != NULL && g_mime_content_type_is_type(ct, "text", "html");

        if ((text || html) && !dm_is_attachment(obj)) {
            dm_walk_text(w, GMIME_PART(obj), html);
            return;
        }
        if (ct != NULL && g_mime_content_type_is_type(ct, "message", "delivery-status"))
            return; /* machine-readable report: nothing for the rules */
        dm_add_attachment(w, obj);
    }
}

static bool dm_hvalue_is(const char *v, const char *word)
{
    return v != NULL && g_ascii_strncasecmp(g_strchug((char *)v), word, strlen(word)) == 0;
}

/* Markers of automatic, bulk and spam mail in the top-level headers. */
static void dm_markers(dm_msg *m)
{
    const char *v;

    if ((v = dm_msg_header(m, "Auto-Submitted")) != NULL) {
        char *tok = g_strstrip(g_strndup(v, strcspn(v, ";( \t")));
        if (*tok != '\0' && g_ascii_strcasecmp(tok, "no") != 0) {
            m->auto_reply = true;
            m->auto_submitted = g_ascii_strdown(tok, -1);
        }
        g_free(tok);
    }
    if (dm_msg_header(m, "X-Autoreply") != NULL || dm_msg_header(m, "X-Autorespond") != NULL ||
        dm_msg_header(m, "X-Autoresponder") != NULL ||
        dm_hvalue_is(dm_msg_header(m, "X-Auto-Response"), "yes") ||
        dm_hvalue_is(dm_msg_header(m, "Precedence"), "auto_reply") ||
        dm_msg_header(m, "X-MS-Exchange-Inbox-Rules-Loop") != NULL ||
        dm_hvalue_is(dm_msg_header(m, "X-MS-Exchange-Generated-Message-Source"),
                     "Mailbox Rules Agent")) {
        m->auto_reply = true;
        if (m->auto_submitted == NULL)
            m->auto_submitted = g_strdup("auto-replied");
    }
    /* Exchange and Outlook mark their replies in the subject only. */
    {
        static const char *const prefixes[] = {
            "automatiskt svar:", "autosvar:", "frånvaro:", "automatic reply:",
            "autoreply:", "auto-reply:", "out of office:", "abwesenheitsnotiz:", NULL};
        for (int i = 0; prefixes[i] != NULL && !m->auto_reply; i++) {
            /* ASCII case folding is enough: "å" is the same bytes either way
             * in the prefixes' lower-case forms and in "Frånvaro:". */
            if (g_ascii_strncasecmp(m->subject, prefixes[i], strlen(prefixes[i])) == 0) {
                m->auto_reply = true;
                m->auto_submitted = g_strdup("auto-replied");
            }
        }
    }
    if ((v = dm_msg_header(m, "Precedence")) != NULL &&
        (dm_hvalue_is(v, "bulk") || dm_hvalue_is(v, "list") || dm_hvalue_is(v, "junk")))
        m->bulk = true;
    if ((v = dm_msg_header(m, "List-Id")) != NULL) {
        m->list = true;
        m->list_id = g_strdup(g_strstrip((char *)v));
    } else if (dm_msg_header(m, "List-Unsubscribe") != NULL) {
        m->list = true;
    }
    {
        static const struct {
            const char *name;
            const char *yes;
        } spam[] = {
            {"X-Spam-Flag", "yes"},      {"X-Spam-Status", "yes"},
            {"X-Spam", "yes"},           {"X-Spam-Verdict", "spam"},
            {"X-Barracuda-Spam-Status", "yes"}, {"X-Rspamd-Action", "add header"},
            {"X-Rspamd-Action", "rewrite subject"}, {"X-Rspamd-Action", "reject"},
            {"X-Proofpoint-Spam", "yes"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(spam) && !m->spam; i++) {
            if (dm_hvalue_is(dm_msg_header(m, spam[i].name), spam[i].yes)) {
                m->spam = true;
                m->spam_header = g_strdup(spam[i].name);
            }
        }
        if (!m->spam && (v = dm_msg_header(m, "X-Forefront-Antispam-Report")) != NULL &&
            (strstr(v, "SFV:SPM") != NULL || strstr(v, "SFV:BLK") != NULL)) {
            m->spam = true;
            m->spam_header = g_strdup("X-Forefront-Antispam-Report");
        }
        if (!m->spam && (v = dm_msg_header(m, "X-MS-Exchange-Organization-SCL")) != NULL &&
            atoi(v) >= 5) {
            m->spam = true;
            m->spam_header = g_strdup("X-MS-Exchange-Organization-SCL");
        }
    }
}

static void dm_top_headers(dm_walk *w, GMimeMessage *msg)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int n = g_mime_header_list_get_count(hl);

    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *value = g_mime_header_get_value(h);
        dm_header *dh;

        if (i >= w->lim->max_headers) {
            dm_limit(w, "max_headers");
            break;
        }
        dh = g_new0(dm_header, 1);
        /* Names too: GMime takes any bytes before a colon as a name. */
        dh->name = g_utf8_make_valid(g_mime_header_get_name(h), -1);
        if (value == NULL)
            value = "";
        if (strlen(value) > w->lim->max_header_size) {
            /* Cut at a character boundary: cutting inside one made
             * g_utf8_make_valid add a U+FFFD, 3 bytes over the limit. */
            size_t cut = w->lim->max_header_size;
            while (cut > 0 && ((unsigned char)value[cut] & 0xC0) == 0x80)
                cut--;
            dm_limit(w, "max_header_size");
            dh->value = g_utf8_make_valid(value, (gssize)cut);
        } else {
            dh->value = g_utf8_make_valid(value, -1);
        }
        g_ptr_array_add(w->m->headers, dh);
    }
}

dm_msg *dm_mime_extract(GMimeStream *stream, const dm_mime_limits *lim)
{
    dm_msg *m = dm_msg_new();
    dm_walk w = {.m = m, .lim = lim};
    GMimeParser *parser;
    GMimeMessage *msg;
    gint64 len = g_mime_stream_length(stream);

    m->size = len > 0 ? (size_t)len : 0;
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    g_mime_parser_set_persist_stream(parser, TRUE);
    msg = g_mime_parser_construct_message(parser, dm_parser_options);
    g_object_unref(parser);
    if (msg == NULL) {
        m->malformed = true;
        g_ptr_array_add(m->limits, g_strdup("unparsable"));
        return m;
    }

    dm_top_headers(&w, msg);
    dm_note_8bit_headers(&w, GMIME_OBJECT(msg));
    {
        const char *s = g_mime_message_get_subject(msg);
        const char *id = g_mime_message_get_message_id(msg);
        InternetAddressList *from = g_mime_message_get_from(msg);
        const char *v;

        g_free(m->subject);
        m->subject = g_utf8_make_valid(s != NULL ? s : "", -1);
        if (id != NULL) {
            g_free(m->message_id);
            m->message_id = g_utf8_make_valid(id, -1);
        }
        if (from != NULL && internet_address_list_length(from) > 0) {
            InternetAddress *a = internet_address_list_get_address(from, 0);
            char *disp = internet_address_list_to_string(from, NULL, FALSE);

            g_free(m->from_display);
            m->from_display = g_utf8_make_valid(disp != NULL ? disp : "", -1);
            g_free(disp);
            if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
                const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
                g_free(m->from_addr);
                m->from_addr = g_ascii_strdown(addr != NULL ? addr : "", -1);
            }
        }
        if ((v = dm_msg_header(m, "Date")) != NULL)
            m->date = g_strdup(v);
        if ((v = dm_msg_header(m, "In-Reply-To")) != NULL)
            m->in_reply_to = g_strdup(v);
        if ((v = dm_msg_header(m, "References")) != NULL)
            m->references = g_strdup(v);
    }
    dm_markers(m);
    {
        GMimeObject *body = g_mime_message_get_mime_part(msg);
        GMimeContentType *ct = body != NULL ? g_mime_object_get_content_type(body) : NULL;

        if (ct != NULL && g_mime_content_type_is_type(ct, "multipart", "report")) {
            const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
            m->report = true;
            m->report_type = g_ascii_strdown(rt != NULL ? rt : "report", -1);
        }
        if (body == NULL)
            m->malformed = true;
    }
    dm_walk_message(&w, msg, 0);
    g_object_unref(msg);
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
