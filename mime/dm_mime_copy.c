/*
 * The registrator copy (dm_mime.h, dm_mime_write_copy): wrapped (a cover
 * note, the original attached, diarie.json) or redirect (the original
 * itself, resent, with the gateway's facts in X-Diarie-* headers).
 */
#include <errno.h>
#include <string.h>

#include "dm_loop.h"
#include "dm_mime_int.h"
#include "dm_util.h"

/* The longest file name made from a subject, in characters, ".eml"
 * aside: long enough to tell messages apart, short enough for every
 * client and file system. */
#define DM_NAME_MAX 60

/* What the original's bytes allow. */
typedef struct {
    bool eight;       /* a byte above 127: 8bit, not 7bit */
    bool header_8bit; /* one in the top header block */
    bool nul;         /* a NUL byte */
    bool bare_cr;     /* a CR not followed by LF */
    bool long_line;   /* a line over 998 bytes (RFC 5322 2.1.1) */
} dm_scan;

static void dm_scan_original(GMimeStream *s, dm_scan *r)
{
    char buf[8192];
    ssize_t n;
    size_t col = 0;
    bool cr = false, in_headers = true, line_start = true;

    memset(r, 0, sizeof *r);
    g_mime_stream_reset(s);
    while ((n = g_mime_stream_read(s, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)buf[i];

            if (cr && c != '\n')
                r->bare_cr = true;
            cr = c == '\r';
            if (c == '\n') {
                /* A blank line ends the header block. */
                if (line_start)
                    in_headers = false;
                line_start = true;
                col = 0;
                continue;
            }
            if (c == '\r')
                continue;
            line_start = false;
            if (++col > 998)
                r->long_line = true;
            if (c == 0)
                r->nul = true;
            if (c & 0x80) {
                r->eight = true;
                if (in_headers)
                    r->header_8bit = true;
            }
        }
    }
    if (cr)
        r->bare_cr = true;
    g_mime_stream_reset(s);
}

/* Can the original travel through sendmail(1) and SMTP as it is? */
static bool dm_travels_as_is(const dm_compose_info *ci, const dm_scan *scan)
{
    return !ci->msg->header_8bit && !scan->header_8bit && !scan->nul && !scan->bare_cr &&
           !scan->long_line;
}

/* Names no Windows program can open, whatever follows the dot. */
static bool dm_reserved_name(const char *base)
{
    static const char *const names[] = {"con", "prn", "aux", "nul", NULL};
    char *low = g_ascii_strdown(base, -1);
    bool reserved = false;

    for (int i = 0; names[i] != NULL && !reserved; i++)
        reserved = strcmp(low, names[i]) == 0;
    if (!reserved && strlen(low) == 4 && (strncmp(low, "com", 3) == 0 ||
                                          strncmp(low, "lpt", 3) == 0))
        reserved = low[3] >= '1' && low[3] <= '9';
    g_free(low);
    return reserved;
}

char *dm_copy_filename(const dm_compose_info *ci)
{
    char *nfc;
    GString *out;
    size_t chars = 0;
    bool blank = false;

    /* A sekretess message's subject must not show in a mailbox listing
     * or a file dialog. */
    if (ci->verdict->sekretess || ci->msg->subject == NULL)
        return g_strconcat(ci->id, ".eml", NULL);
    nfc = g_utf8_normalize(ci->msg->subject, -1, G_NORMALIZE_NFC);
    if (nfc == NULL)
        return g_strconcat(ci->id, ".eml", NULL);
    out = g_string_new(NULL);
    /* Letters and digits of any script, and a few marks every file
     * system takes; anything else (/ \ : * ? " < > |, controls, the
     * bidirectional marks) is a blank, and blanks run together. */
    for (const char *p = nfc; *p != '\0' && chars < DM_NAME_MAX; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);

        if (g_unichar_isalnum(c) || (c > 0 && c < 128 && strchr("-_.,()+&'", (int)c) != NULL)) {
            if (blank && out->len > 0) {
                g_string_append_c(out, ' ');
                chars++;
            }
            blank = false;
            g_string_append_unichar(out, c);
            chars++;
        } else {
            blank = true;
        }
    }
    g_free(nfc);
    /* No leading or trailing dot or blank (hidden files, Windows). */
    while (out->len > 0 && strchr(". -", out->str[out->len - 1]) != NULL)
        g_string_truncate(out, out->len - 1);
    while (out->len > 0 && strchr(". -", out->str[0]) != NULL)
        g_string_erase(out, 0, 1);
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return g_strconcat(ci->id, ".eml", NULL);
    }
    if (dm_reserved_name(out->str))
        g_string_append_c(out, '_');
    g_string_append(out, ".eml");
    return g_string_free(out, FALSE);
}

/* Name a part: Content-Disposition: attachment with filename, and the
 * same as Content-Type's name for old clients; a name that is not ASCII
 * in RFC 2231, in UTF-8 (GMime would pick ISO-8859-1 when it can). */
static void dm_part_name(GMimePart *part, const char *filename)
{
    GMimeObject *o = GMIME_OBJECT(part);
    GMimeParam *p;

    g_mime_object_set_disposition(o, GMIME_DISPOSITION_ATTACHMENT);
    g_mime_part_set_filename(part, filename);
    p = g_mime_param_list_get_parameter(
        g_mime_content_disposition_get_parameters(g_mime_object_get_content_disposition(o)),
        "filename");
    if (p != NULL)
        g_mime_param_set_charset(p, "utf-8");
    p = g_mime_param_list_get_parameter(
        g_mime_content_type_get_parameters(g_mime_object_get_content_type(o)), "name");
    if (p != NULL)
        g_mime_param_set_charset(p, "utf-8");
}

/* The original as a part: message/rfc822 in 7bit or 8bit, never
 * re-encoded (only its line ends become Unix ones, as sendmail(1)
 * expects; SMTP delivery turns them back into CRLF); or, when it cannot
 * travel so, message/global (RFC 6532) in base64, which decodes to
 * exactly the bytes received, CRLF included: raw 8-bit bytes in its
 * headers (the copy would need SMTPUTF8, and Postfix bounces it at a
 * server without it); a NUL byte, a CR not before LF or a line over 998
 * bytes (message/rfc822 may not be base64, and SMTP without BINARYMIME
 * carries none of them intact). */
static GMimePart *dm_original_part(const dm_compose_info *ci, GMimeStream *original,
                                   const dm_scan *scan, const char *filename)
{
    GMimePart *orig;
    GMimeDataWrapper *wrapper;

    if (!dm_travels_as_is(ci, scan)) {
        orig = g_mime_part_new_with_type("message", "global");
        wrapper = g_mime_data_wrapper_new_with_stream(original, GMIME_CONTENT_ENCODING_DEFAULT);
        g_mime_part_set_content(orig, wrapper);
        g_mime_part_set_content_encoding(orig, GMIME_CONTENT_ENCODING_BASE64);
    } else {
        GMimeStream *filtered = g_mime_stream_filter_new(original);
        GMimeFilter *d2u = g_mime_filter_dos2unix_new(FALSE);
        GMimeContentEncoding enc =
            scan->eight ? GMIME_CONTENT_ENCODING_8BIT : GMIME_CONTENT_ENCODING_7BIT;

        g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), d2u);
        g_object_unref(d2u);
        orig = g_mime_part_new_with_type("message", "rfc822");
        wrapper = g_mime_data_wrapper_new_with_stream(filtered, enc);
        g_mime_part_set_content(orig, wrapper);
        g_mime_part_set_content_encoding(orig, enc);
        g_object_unref(filtered);
    }
    g_object_unref(wrapper);
    /* Content-Disposition: attachment with the name (RFC 2231 when it is
     * not ASCII), and the same as Content-Type's name for old clients. */
    dm_part_name(orig, filename);
    return orig;
}

static bool dm_write_wrapped(GMimeStream *out, const dm_compose_info *ci, const char *to,
                             GMimeStream *original, const dm_scan *scan, const dm_templates *t,
                             GError **err)
{
    GHashTable *vars = dm_compose_vars(ci, t, false);
    char *subject = NULL, *body = NULL, *filename = dm_copy_filename(ci), *json;
    const char *reply_to;
    GMimeMessage *msg;
    GMimeMultipart *mixed;
    GMimeObject *cover;
    GMimePart *orig, *facts;
    GMimeStream *mem;
    GMimeDataWrapper *w;
    bool ok;

    g_hash_table_insert(vars, "registrator", g_strdup(to));
    g_hash_table_insert(vars, "attachment", g_strdup(filename));
    if (!dm_template_expand(t, "copy", vars, &subject, &body)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no template \"copy\"");
        g_hash_table_destroy(vars);
        g_free(filename);
        return false;
    }

    msg = dm_generated_message(ci, to, subject, "copy", dm_templates_lang(t));
    g_mime_object_set_header(GMIME_OBJECT(msg), "X-Diarie-Klass",
                             dm_class_name(ci->verdict->klass), NULL);
    reply_to = g_hash_table_lookup(vars, "reply_to");
    if (reply_to != NULL && *reply_to != '\0')
        g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO, NULL, reply_to);
    if (ci->verdict->sekretess)
        g_mime_object_set_header(GMIME_OBJECT(msg), "Sensitivity", "Company-Confidential", NULL);
    g_hash_table_destroy(vars);

    mixed = g_mime_multipart_new_with_subtype("mixed");
    cover = dm_text_part(body);
    g_mime_multipart_add(mixed, cover);
    g_object_unref(cover);

    orig = dm_original_part(ci, original, scan, filename);
    g_mime_multipart_add(mixed, GMIME_OBJECT(orig));

    /* The same facts for a machine: application/json, quoted-printable
     * (UTF-8 and long lines travel without 8BITMIME). */
    json = dm_copy_json(ci, t, to, filename,
                        dm_travels_as_is(ci, scan) ? "message/rfc822" : "message/global");
    facts = g_mime_part_new_with_type("application", "json");
    mem = g_mime_stream_mem_new_with_buffer(json, strlen(json));
    w = g_mime_data_wrapper_new_with_stream(mem, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(facts, w);
    g_mime_part_set_content_encoding(facts, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    dm_part_name(facts, "diarie.json");
    g_mime_multipart_add(mixed, GMIME_OBJECT(facts));
    g_object_unref(w);
    g_object_unref(mem);
    g_object_unref(facts);
    g_object_unref(orig);
    g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed));
    g_object_unref(mixed);

    ok = dm_write_message(msg, ci, out, err);
    g_object_unref(msg);
    g_free(json);
    g_free(filename);
    g_free(subject);
    g_free(body);
    return ok;
}

/* --- redirect ------------------------------------------------------------ */

/* The original's header block as it is resent, and what the loop token
 * binds: its Message-ID and its body. */
typedef struct {
    GString *headers;   /* LF line ends; without X-Diarie-* (never trusted)
                         * and, for a sekretess copy, without Sensitivity */
    GString *mid;       /* the first Message-ID header, unfolded */
    bool have_mid;
    gint64 body_start;  /* offset of the body; -1: there is none */
    char body_hash[65]; /* dm_bodyhash of the body (dm_loop.h) */
    bool malformed;     /* a line in the header block that is neither a
                         * header nor its continuation: an MTA would take
                         * the body to start there, so the token would
                         * not cover what the milter sees */
} dm_orig_head;

/* "Name:" with a name of printable ASCII but ':' (RFC 5322 2.2), blanks
 * before the colon allowed (obsolete syntax MTAs still take). */
static bool dm_is_header_line(const char *line, size_t len)
{
    size_t i = 0;

    while (i < len && line[i] > ' ' && line[i] <= '~' && line[i] != ':')
        i++;
    if (i == 0)
        return false;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < len && line[i] == ':';
}

/* One line of the header block (its line end removed).  *dropping and
 * *in_mid carry over to continuation lines. */
static void dm_head_line(dm_orig_head *h, const char *line, size_t len, bool drop_sensitivity,
                         bool *dropping, bool *in_mid)
{
    if (h->headers->len == 0 && (line[0] == ' ' || line[0] == '\t'))
        h->malformed = true;
    if (line[0] == ' ' || line[0] == '\t') {
        if (*in_mid)
            g_string_append_len(h->mid, line, (gssize)len);
    } else {
        const char *colon = memchr(line, ':', len);
        size_t nlen = colon != NULL ? (size_t)(colon - line) : len;

        if (!dm_is_header_line(line, len))
            h->malformed = true;

        *dropping = (nlen >= 9 && g_ascii_strncasecmp(line, "X-Diarie-", 9) == 0) ||
                    (drop_sensitivity && nlen == 11 &&
                     g_ascii_strncasecmp(line, "Sensitivity", 11) == 0);
        *in_mid = false;
        if (colon != NULL && !h->have_mid && nlen == 10 &&
            g_ascii_strncasecmp(line, "Message-ID", 10) == 0) {
            h->have_mid = true;
            *in_mid = true;
            g_string_append_len(h->mid, colon + 1, (gssize)(len - nlen - 1));
        }
    }
    if (!*dropping) {
        g_string_append_len(h->headers, line, (gssize)len);
        g_string_append_c(h->headers, '\n');
    }
}

static bool dm_read_head(GMimeStream *s, bool drop_sensitivity, dm_orig_head *h)
{
    GString *line = g_string_new(NULL);
    dm_bodyhash *bh = dm_bodyhash_new();
    char buf[8192];
    ssize_t n;
    gint64 pos = 0;
    bool in_headers = true, dropping = false, in_mid = false;

    h->headers = g_string_new(NULL);
    h->mid = g_string_new(NULL);
    h->have_mid = false;
    h->malformed = false;
    h->body_start = -1;
    g_mime_stream_reset(s);
    while ((n = g_mime_stream_read(s, buf, sizeof buf)) > 0) {
        ssize_t i = 0;

        while (in_headers && i < n) {
            const char *nl = memchr(buf + i, '\n', (size_t)(n - i));
            size_t take = nl != NULL ? (size_t)(nl - (buf + i)) : (size_t)(n - i);

            g_string_append_len(line, buf + i, (gssize)take);
            i += (ssize_t)take;
            if (nl == NULL)
                break;
            i++; /* the LF */
            if (line->len > 0 && line->str[line->len - 1] == '\r')
                g_string_truncate(line, line->len - 1);
            if (line->len == 0) {
                in_headers = false;
                h->body_start = pos + i;
            } else {
                dm_head_line(h, line->str, line->len, drop_sensitivity, &dropping, &in_mid);
            }
            g_string_truncate(line, 0);
        }
        if (!in_headers && i < n)
            dm_bodyhash_update(bh, buf + i, (size_t)(n - i));
        pos += n;
    }
    if (in_headers && line->len > 0)
        dm_head_line(h, line->str, line->len, drop_sensitivity, &dropping, &in_mid);
    dm_bodyhash_final(bh, h->body_hash);
    dm_bodyhash_free(bh);
    g_string_free(line, TRUE);
    g_mime_stream_reset(s);
    return n == 0;
}

/* "Name: value" with value folded at blanks before 78 columns. */
static void dm_header_folded(GString *out, const char *name, const char *value)
{
    size_t col = strlen(name) + 2;
    char **words = g_strsplit(value, " ", -1);

    g_string_append_printf(out, "%s:", name);
    for (char **w = words; *w != NULL; w++) {
        size_t len = strlen(*w);

        if (len == 0)
            continue;
        if (col > strlen(name) + 2 && col + 1 + len > 78) {
            g_string_append(out, "\n");
            col = 0;
        }
        g_string_append_c(out, ' ');
        g_string_append(out, *w);
        col += 1 + len;
    }
    g_string_append_c(out, '\n');
    g_strfreev(words);
}

/* A header of ours whose value may hold UTF-8 (RFC 2047 then). */
static void dm_header_text(GString *out, const char *name, const char *value)
{
    char *enc = g_mime_utils_header_encode_text(NULL, value, "utf-8");

    dm_header_folded(out, name, enc);
    g_free(enc);
}

/* The Resent-* block and the gateway's X-Diarie-* facts. */
static void dm_redirect_headers(GString *o, const dm_compose_info *ci, const char *to,
                                const char *token_mid, const char *token)
{
    GMimeFormatOptions *fo = dm_compose_format_options();
    InternetAddressList *from = internet_address_list_parse(NULL, ci->from_header);
    GDateTime *now = dm_compose_local_time(ci, ci->now);
    char *date = g_mime_utils_header_format_date(now), *rmid = dm_generated_id(ci, "copy", to),
         *arrived = dm_compose_iso_time(ci, ci->now);
    const dm_verdict *v = ci->verdict;
    const dm_reason *sign[8];
    guint n_signs = dm_compose_sekretess_signs(v, sign, G_N_ELEMENTS(sign));
    GString *list = g_string_new(NULL);

    if (from != NULL) {
        char *f = internet_address_list_to_string(from, fo, TRUE);
        dm_header_folded(o, "Resent-From", f);
        g_free(f);
        g_object_unref(from);
    }
    dm_header_folded(o, "Resent-To", to);
    dm_header_folded(o, "Resent-Date", date);
    g_string_append_printf(o, "Resent-Message-ID: <%s>\n", rmid);
    /* An original without a Message-ID gets one: the token needs it. */
    if (token_mid != NULL)
        g_string_append_printf(o, "Message-ID: <%s>\n", token_mid);
    g_string_append_printf(o, "X-Diarie-Id: %s\n", ci->id);
    g_string_append_printf(o, "X-Diarie-Klass: %s\n", dm_class_name(v->klass));
    if (v->sekretess) {
        for (guint i = 0; i < n_signs; i++) {
            const char *s = dm_compose_sign_name(sign[i]);
            if (strstr(list->str, s) == NULL)
                g_string_append_printf(list, "%s%s", list->len ? ", " : "", s);
        }
        dm_header_folded(o, "X-Diarie-Sekretess", list->len ? list->str : "yes");
        g_string_append(o, "Sensitivity: Company-Confidential\n");
    }
    if (v->case_dnr != NULL)
        dm_header_text(o, "X-Diarie-Arende", v->case_dnr);
    if (v->myndighet != NULL)
        dm_header_text(o, "X-Diarie-Myndighet", v->myndighet);
    g_string_append_printf(o, "X-Diarie-Inkom: %s\n", arrived);
    dm_header_text(o, "X-Diarie-Avsandare", *ci->env_from ? ci->env_from : "<>");
    g_string_truncate(list, 0);
    for (size_t i = 0; i < ci->n_rcpts; i++)
        g_string_append_printf(list, "%s%s", i ? ", " : "", ci->rcpts[i]);
    dm_header_text(o, "X-Diarie-Mottagare", list->str);
    if (ci->sha256 != NULL)
        g_string_append_printf(o, "X-Diarie-SHA256: %s\n", ci->sha256);
    g_string_append_printf(o, "X-Diarie-Gateway: %s\n", dm_compose_gateway(ci));
    if (token != NULL)
        g_string_append_printf(o, "X-Diarie-Genererad: %s\n", token);
    g_string_free(list, TRUE);
    g_free(arrived);
    g_free(rmid);
    g_free(date);
    g_date_time_unref(now);
    g_mime_format_options_free(fo);
}

static void dm_orig_head_clear(dm_orig_head *h)
{
    g_string_free(h->headers, TRUE);
    g_string_free(h->mid, TRUE);
}

static bool dm_write_redirect(GMimeStream *out, const dm_compose_info *ci, const char *to,
                              GMimeStream *original, const dm_orig_head *hp, GError **err)
{
    const dm_orig_head h = *hp;
    GString *head = g_string_new(NULL);
    char *mid = NULL, *new_mid = NULL, *token = NULL;
    bool ok;

    /* The token binds what the milter will see: the first Message-ID
     * header, reduced as dm_loop_message_id reduces it, and the body. */
    mid = h.have_mid ? dm_loop_message_id(h.mid->str) : g_strdup("");
    if (*mid == '\0') {
        g_free(mid);
        new_mid = dm_generated_id(ci, "original", to);
        mid = g_strdup(new_mid);
    }
    if (ci->loop_key != NULL)
        token = dm_loop_token(ci->loop_key, ci->loop_keylen, mid, h.body_hash, ci->loop_expires);
    dm_redirect_headers(head, ci, to, new_mid, token);
    g_string_append_len(head, h.headers->str, (gssize)h.headers->len);
    g_string_append_c(head, '\n');
    ok = g_mime_stream_write(out, head->str, head->len) == (ssize_t)head->len;
    if (ok && h.body_start >= 0) {
        GMimeStream *body = g_mime_stream_substream(original, h.body_start, -1);
        GMimeStream *filtered = g_mime_stream_filter_new(body);
        GMimeFilter *d2u = g_mime_filter_dos2unix_new(FALSE);

        g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), d2u);
        ok = g_mime_stream_write_to_stream(filtered, out) >= 0 &&
             g_mime_stream_flush(filtered) == 0;
        g_object_unref(d2u);
        g_object_unref(filtered);
        g_object_unref(body);
    }
    ok = ok && g_mime_stream_flush(out) == 0;
    if (!ok)
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write the copy: %s",
                    g_strerror(errno));
    g_free(token);
    g_free(mid);
    g_free(new_mid);
    g_string_free(head, TRUE);
    return ok;
}

bool dm_mime_write_copy(GMimeStream *out, const dm_compose_info *ci, const char *to,
                        GMimeStream *original, const dm_templates *t, GError **err)
{
    dm_scan scan;

    dm_scan_original(original, &scan);
    /* What cannot be resent as it is goes wrapped, where it is exact. */
    if (ci->conf != NULL && ci->conf->copy_form == DM_COPY_REDIRECT &&
        dm_travels_as_is(ci, &scan)) {
        dm_orig_head h;
        bool ok = true, redirected = false;

        if (!dm_read_head(original, ci->verdict->sekretess, &h)) {
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "could not read the original: %s",
                        g_strerror(errno));
            ok = false;
        } else if (!h.malformed) {
            ok = dm_write_redirect(out, ci, to, original, &h, err);
            redirected = true;
        }
        dm_orig_head_clear(&h);
        if (!ok || redirected)
            return ok;
    }
    return dm_write_wrapped(out, ci, to, original, &scan, t, err);
}
