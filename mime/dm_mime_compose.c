/*
 * Composition of the registrator copy and of notices.
 */
#include <errno.h>
#include <string.h>

#include "dm_mime_int.h"
#include "dm_util.h"

static const char *dm_template_for(dm_notice_kind k)
{
    switch (k) {
    case DM_NOTICE_REGISTER_INBOUND: return "notice-register";
    case DM_NOTICE_REGISTER_OUTBOUND: return "notice-outbound";
    case DM_NOTICE_COPIED: return "notice-copied";
    case DM_NOTICE_JUDGE_PRIVATE: return "notice-judge";
    case DM_NOTICE_UNWATCHED: return "notice-unwatched";
    case DM_NOTICE_AUTOREPLY: return "notice-autoreply";
    case DM_NOTICE_NONE: break;
    }
    return NULL;
}

/* Every address the original's To and Cc headers name, lowercase. */
static GHashTable *dm_named_rcpts(const dm_msg *m)
{
    GHashTable *named = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < m->headers->len; i++) {
        const dm_header *h = g_ptr_array_index(m->headers, i);
        InternetAddressList *l;
        GPtrArray *todo;

        if (g_ascii_strcasecmp(h->name, "To") != 0 && g_ascii_strcasecmp(h->name, "Cc") != 0 &&
            g_ascii_strcasecmp(h->name, "Resent-To") != 0 &&
            g_ascii_strcasecmp(h->name, "Resent-Cc") != 0)
            continue;
        if ((l = internet_address_list_parse(NULL, h->value)) == NULL)
            continue;
        /* Groups ("Styrelsen: a@x, b@y;") hold lists of their own. */
        todo = g_ptr_array_new();
        g_ptr_array_add(todo, l);
        while (todo->len > 0) {
            InternetAddressList *cur = g_ptr_array_remove_index(todo, todo->len - 1);
            for (int k = 0; k < internet_address_list_length(cur); k++) {
                InternetAddress *a = internet_address_list_get_address(cur, k);
                if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
                    const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
                    if (addr != NULL)
                        g_hash_table_add(named, g_utf8_strdown(addr, -1));
                } else if (INTERNET_ADDRESS_IS_GROUP(a)) {
                    g_ptr_array_add(todo, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a)));
                }
            }
        }
        g_ptr_array_free(todo, TRUE);
        g_object_unref(l);
    }
    return named;
}

/* Every envelope recipient, one a line, with what the registrator needs
 * to know of it: the directory's name, a mass list (not expanded: its
 * members got the message through it), a recipient the headers do not
 * name (a blind copy, or one a list outside reached). */
static void dm_recipients(const dm_compose_info *ci, bool sv, GString *out)
{
    GHashTable *named = dm_named_rcpts(ci->msg);

    for (size_t i = 0; i < ci->n_rcpts; i++) {
        const dm_party *p = ci->parties != NULL ? &ci->parties[i] : NULL;
        const dm_entry *e = p != NULL && p->addr != NULL && strcmp(p->addr, ci->rcpts[i]) == 0
                                ? p->entry
                                : NULL;
        GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
        char *lower = g_utf8_strdown(ci->rcpts[i], -1);

        if (e != NULL && e->name != NULL && *e->name != '\0')
            g_ptr_array_add(notes, g_strdup(e->name));
        if (dm_entry_is_list(e))
            g_ptr_array_add(notes, g_strdup(sv ? "e-postlista: medlemmarna fick meddelandet genom den"
                                               : "mailing list: its members got the message through it"));
        if (!g_hash_table_contains(named, lower)) {
            if (ci->msg->list_id != NULL)
                g_ptr_array_add(notes, g_strdup_printf(sv ? "inte i Till/Kopia, via listan %s"
                                                          : "not in To/Cc, through the list %s",
                                                       ci->msg->list_id));
            else
                g_ptr_array_add(notes, g_strdup(sv ? "inte i Till/Kopia: dold kopia"
                                                   : "not in To/Cc: blind copy"));
        }
        if (i > 0)
            g_string_append_c(out, '\n');
        g_string_append(out, ci->rcpts[i]);
        for (guint k = 0; k < notes->len; k++)
            g_string_append_printf(out, "%s%s", k == 0 ? " (" : "; ",
                                   (const char *)g_ptr_array_index(notes, k));
        if (notes->len > 0)
            g_string_append_c(out, ')');
        g_ptr_array_free(notes, TRUE);
        g_free(lower);
    }
    g_hash_table_destroy(named);
}

/* The values every template may use.  With sekretess, nothing of the
 * message's own words: no subject, no reasons' texts. */
static GHashTable *dm_compose_vars(const dm_compose_info *ci, bool for_notice, bool lang_sv)
{
    GHashTable *vars = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    const dm_verdict *v = ci->verdict;
    const dm_msg *m = ci->msg;
    GString *rcpts = g_string_new(NULL), *reasons = g_string_new(NULL),
            *rules = g_string_new(NULL);
    GHashTable *seen_rules = g_hash_table_new(g_str_hash, g_str_equal);
    char now[32];
    bool hide = v->sekretess && for_notice;

    dm_recipients(ci, lang_sv, rcpts);
    for (guint i = 0; i < v->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(v->reasons, i);

        if (reasons->len > 0)
            g_string_append_c(reasons, '\n');
        g_string_append_printf(reasons, "%-6s %s", r->rule, r->text);
        if (g_hash_table_add(seen_rules, r->rule)) {
            if (rules->len > 0)
                g_string_append(rules, ", ");
            g_string_append(rules, r->rule);
        }
    }
    dm_time_format_iso8601(ci->now, now, sizeof now);

    g_hash_table_insert(vars, "id", g_strdup(ci->id));
    g_hash_table_insert(vars, "queue_id", g_strdup(ci->queue_id ? ci->queue_id : ""));
    g_hash_table_insert(vars, "sender", g_strdup(*ci->env_from ? ci->env_from : "<>"));
    g_hash_table_insert(vars, "from", g_strdup(hide ? "" : m->from_display));
    g_hash_table_insert(vars, "recipients", g_string_free(rcpts, FALSE));
    g_hash_table_insert(vars, "subject", g_strdup(hide ? "" : m->subject));
    /* For headers that show in mailbox listings: never a sekretess
     * message's own subject. */
    g_hash_table_insert(vars, "subject_public",
                        g_strdup(v->sekretess ? (lang_sv ? "(sekretess)" : "(confidential)")
                                              : m->subject));
    g_hash_table_insert(vars, "message_id", g_strdup(m->message_id));
    g_hash_table_insert(vars, "date", g_strdup(m->date ? m->date : ""));
    g_hash_table_insert(vars, "class", g_strdup(dm_class_name(v->klass)));
    g_hash_table_insert(vars, "sekretess", g_strdup(v->sekretess ? "sekretess" : ""));
    g_hash_table_insert(vars, "reasons", hide ? g_strdup("") : g_string_free(reasons, FALSE));
    if (hide)
        g_string_free(reasons, TRUE);
    g_hash_table_insert(vars, "rules", g_string_free(rules, FALSE));
    g_hash_table_insert(vars, "case", g_strdup(v->case_dnr ? v->case_dnr : ""));
    g_hash_table_insert(vars, "myndighet", g_strdup(v->myndighet ? v->myndighet : ""));
    g_hash_table_insert(vars, "sha256", g_strdup(ci->sha256 ? ci->sha256 : ""));
    g_hash_table_insert(vars, "now", g_strdup(now));
    g_hash_table_destroy(seen_rules);
    return vars;
}

static char *dm_generated_id(const dm_compose_info *ci, const char *kind, const char *to)
{
    char h[65];
    char *seed = g_strconcat(ci->id, "/", kind, "/", to, NULL);

    dm_sha256_hex(seed, strlen(seed), h);
    g_free(seed);
    h[12] = '\0';
    return g_strdup_printf("%s.%s.%s@%s", ci->id, kind, h, g_get_host_name());
}

static GMimeMessage *dm_generated_message(const dm_compose_info *ci, const char *to,
                                          const char *subject, const char *kind,
                                          dm_lang lang)
{
    GMimeMessage *msg = g_mime_message_new(TRUE);
    GMimeObject *o = GMIME_OBJECT(msg);
    InternetAddressList *from = internet_address_list_parse(NULL, ci->from_header);
    GDateTime *now = g_date_time_new_from_unix_local(ci->now);
    char *mid = dm_generated_id(ci, kind, to);

    if (from != NULL) {
        internet_address_list_append(g_mime_message_get_from(msg), from);
        g_object_unref(from);
    }
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, to);
    g_mime_message_set_subject(msg, subject, "utf-8");
    g_mime_message_set_date(msg, now);
    g_mime_message_set_message_id(msg, mid);
    g_mime_object_set_header(o, "Auto-Submitted", "auto-generated", NULL);
    g_mime_object_set_header(o, "X-Auto-Response-Suppress", "All", NULL);
    g_mime_object_set_header(o, "Content-Language", lang == DM_LANG_EN ? "en" : "sv", NULL);
    g_mime_object_set_header(o, "X-Diarie-Id", ci->id, NULL);
    g_date_time_unref(now);
    g_free(mid);
    return msg;
}

/* A text/plain part in UTF-8, quoted-printable.  (g_mime_text_part_set_text
 * would pick the "best" charset, often ISO-8859-1: UTF-8 is what every
 * client reads and what the templates are written in.) */
static GMimeObject *dm_text_part(const char *body)
{
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype("plain");
    GMimeStream *mem = g_mime_stream_mem_new_with_buffer(body, strlen(body));
    GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(mem, GMIME_CONTENT_ENCODING_DEFAULT);

    g_mime_part_set_content(GMIME_PART(tp), w);
    g_mime_text_part_set_charset(tp, "utf-8");
    g_mime_part_set_content_encoding(GMIME_PART(tp), GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
    g_object_unref(w);
    g_object_unref(mem);
    return GMIME_OBJECT(tp);
}

/* Write the finished message, with its loop token when ci asks for one. */
static bool dm_write_message(GMimeMessage *msg, const dm_compose_info *ci, GMimeStream *out,
                             GError **err)
{
    GMimeFormatOptions *fo = g_mime_format_options_new();
    bool ok;

    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
    if (ci->loop_key != NULL &&
        !dm_mime_set_loop_token(msg, fo, ci->loop_key, ci->loop_keylen, ci->loop_expires)) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "could not hash the message for its loop token: %s", g_strerror(errno));
        g_mime_format_options_free(fo);
        return false;
    }
    ok = g_mime_object_write_to_stream(GMIME_OBJECT(msg), fo, out) >= 0 &&
         g_mime_stream_flush(out) == 0;
    g_mime_format_options_free(fo);
    if (!ok)
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write the message: %s",
                    g_strerror(errno));
    return ok;
}

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

bool dm_mime_write_copy(GMimeStream *out, const dm_compose_info *ci, const char *to,
                        GMimeStream *original, const dm_templates *t, GError **err)
{
    GHashTable *vars = dm_compose_vars(ci, false, dm_templates_lang(t) == DM_LANG_SV);
    char *subject = NULL, *body = NULL;
    GMimeMessage *msg;
    GMimeMultipart *mixed;
    GMimeObject *cover;
    GMimePart *orig;
    GMimeDataWrapper *wrapper;
    dm_scan scan;
    bool ok;

    g_hash_table_insert(vars, "registrator", g_strdup(to));
    if (!dm_template_expand(t, "copy", vars, &subject, &body)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no template \"copy\"");
        g_hash_table_destroy(vars);
        return false;
    }
    g_hash_table_destroy(vars);

    msg = dm_generated_message(ci, to, subject, "copy", dm_templates_lang(t));
    g_mime_object_set_header(GMIME_OBJECT(msg), "X-Diarie-Klass",
                             dm_class_name(ci->verdict->klass), NULL);
    mixed = g_mime_multipart_new_with_subtype("mixed");
    cover = dm_text_part(body);
    g_mime_multipart_add(mixed, cover);
    g_object_unref(cover);

    /* The original, unaltered.  As message/rfc822 in 7bit or 8bit, never
     * re-encoded; only its line ends become Unix ones, as sendmail(1)
     * expects (SMTP delivery turns them back into CRLF).
     *
     * What cannot travel so goes as message/global (RFC 6532) in base64,
     * which decodes to exactly the bytes received, CRLF included:
     * raw 8-bit bytes in its headers (the copy would need SMTPUTF8, and
     * Postfix bounces it at a server without it); a NUL byte, a CR not
     * before LF or a line over 998 bytes (message/rfc822 may not be
     * base64, and SMTP without BINARYMIME carries none of them intact). */
    dm_scan_original(original, &scan);
    if (ci->msg->header_8bit || scan.header_8bit || scan.nul || scan.bare_cr ||
        scan.long_line) {
        orig = g_mime_part_new_with_type("message", "global");
        wrapper = g_mime_data_wrapper_new_with_stream(original, GMIME_CONTENT_ENCODING_DEFAULT);
        g_mime_part_set_content(orig, wrapper);
        g_mime_part_set_content_encoding(orig, GMIME_CONTENT_ENCODING_BASE64);
    } else {
        GMimeStream *filtered = g_mime_stream_filter_new(original);
        GMimeFilter *d2u = g_mime_filter_dos2unix_new(FALSE);
        GMimeContentEncoding enc =
            scan.eight ? GMIME_CONTENT_ENCODING_8BIT : GMIME_CONTENT_ENCODING_7BIT;

        g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), d2u);
        g_object_unref(d2u);
        orig = g_mime_part_new_with_type("message", "rfc822");
        wrapper = g_mime_data_wrapper_new_with_stream(filtered, enc);
        g_mime_part_set_content(orig, wrapper);
        g_mime_part_set_content_encoding(orig, enc);
        g_object_unref(filtered);
    }
    g_mime_object_set_header(GMIME_OBJECT(orig), "Content-Disposition",
                             "attachment; filename=\"original.eml\"", NULL);
    g_object_unref(wrapper);
    g_mime_multipart_add(mixed, GMIME_OBJECT(orig));
    g_object_unref(orig);
    g_mime_message_set_mime_part(msg, GMIME_OBJECT(mixed));
    g_object_unref(mixed);

    ok = dm_write_message(msg, ci, out, err);
    g_object_unref(msg);
    g_free(subject);
    g_free(body);
    return ok;
}

bool dm_mime_write_notice(GMimeStream *out, const dm_compose_info *ci, const dm_action *a,
                          const dm_templates *t, GError **err)
{
    const char *name = dm_template_for(a->notice);
    GHashTable *vars;
    char *subject = NULL, *body = NULL;
    GMimeMessage *msg;
    GMimeObject *part;
    bool ok;

    if (name == NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "no notice kind for action");
        return false;
    }
    vars = dm_compose_vars(ci, true, dm_templates_lang(t) == DM_LANG_SV);
    g_hash_table_insert(vars, "name", g_strdup(a->party_name ? a->party_name : a->party));
    g_hash_table_insert(vars, "party", g_strdup(a->party ? a->party : ""));
    if (a->myndighet != NULL)
        g_hash_table_replace(vars, "myndighet", g_strdup(a->myndighet));
    /* The registrator for this party, if the verdict copies to one. */
    for (guint i = 0; i < ci->verdict->actions->len; i++) {
        const dm_action *c = g_ptr_array_index(ci->verdict->actions, i);
        if (c->type == DM_ACT_COPY && !g_hash_table_contains(vars, "registrator"))
            g_hash_table_insert(vars, "registrator", g_strdup(c->to));
    }
    if (!dm_template_expand(t, name, vars, &subject, &body)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no template \"%s\"", name);
        g_hash_table_destroy(vars);
        return false;
    }
    g_hash_table_destroy(vars);
    msg = dm_generated_message(ci, a->to, subject, name, dm_templates_lang(t));
    part = dm_text_part(body);
    g_mime_message_set_mime_part(msg, part);
    g_object_unref(part);
    ok = dm_write_message(msg, ci, out, err);
    g_object_unref(msg);
    g_free(subject);
    g_free(body);
    return ok;
}
