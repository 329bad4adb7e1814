/*
 * Composition: what the registrator copy and the notices share (the
 * template values, the generated message around them), and the notices.
 * The copy itself is dm_mime_copy.c, its diarie.json dm_mime_copy_json.c.
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

GDateTime *dm_compose_local_time(const dm_compose_info *ci, int64_t t)
{
    const char *name = ci->conf != NULL ? ci->conf->timezone : "Europe/Stockholm";
    GTimeZone *tz = g_time_zone_new_identifier(name);
    GDateTime *utc = g_date_time_new_from_unix_utc(t), *local;

    /* The configuration was checked at load; a zone that vanished since
     * (tzdata removed) is UTC rather than no copy. */
    if (tz == NULL)
        tz = g_time_zone_new_utc();
    local = g_date_time_to_timezone(utc, tz);
    g_date_time_unref(utc);
    g_time_zone_unref(tz);
    return local;
}

char *dm_compose_iso_time(const dm_compose_info *ci, int64_t t)
{
    GDateTime *d = dm_compose_local_time(ci, t);
    char *s = g_date_time_format(d, "%Y-%m-%dT%H:%M:%S%:z");

    g_date_time_unref(d);
    return s;
}

const char *dm_compose_gateway(const dm_compose_info *ci)
{
    return ci->conf != NULL ? dm_conf_gateway_id(ci->conf) : g_get_host_name();
}

/* Every address the original's To and Cc headers name, lowercase. */
GHashTable *dm_named_rcpts(const dm_msg *m)
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

const dm_entry *dm_compose_rcpt_entry(const dm_compose_info *ci, size_t i)
{
    const dm_party *p = ci->parties != NULL ? &ci->parties[i] : NULL;

    return p != NULL && p->addr != NULL && strcmp(p->addr, ci->rcpts[i]) == 0 ? p->entry : NULL;
}

/* Every envelope recipient, one a line, with what the registrator needs
 * to know of it: the directory's name, a mass list (not expanded: its
 * members got the message through it), a recipient the headers do not
 * name (a blind copy, or one a list outside reached). */
static void dm_recipients(const dm_compose_info *ci, const dm_reasons *words, GString *out)
{
    GHashTable *named = dm_named_rcpts(ci->msg);

    for (size_t i = 0; i < ci->n_rcpts; i++) {
        const dm_entry *e = dm_compose_rcpt_entry(ci, i);
        GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
        char *lower = g_utf8_strdown(ci->rcpts[i], -1);

        if (e != NULL && e->name != NULL && *e->name != '\0')
            g_ptr_array_add(notes, g_strdup(e->name));
        if (dm_entry_is_list(e))
            g_ptr_array_add(notes, dm_reasons_text(words, DM_R_RCPT_LIST, NULL));
        if (!g_hash_table_contains(named, lower)) {
            if (ci->msg->list_id != NULL)
                g_ptr_array_add(notes, dm_reasons_text(words, DM_R_RCPT_VIA_LIST, "list",
                                                       ci->msg->list_id, NULL));
            else
                g_ptr_array_add(notes, dm_reasons_text(words, DM_R_RCPT_BLIND, NULL));
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

guint dm_compose_sekretess_signs(const dm_verdict *v, const dm_reason **out, guint max)
{
    guint n = 0;

    for (guint i = 0; i < v->reasons->len && n < max; i++) {
        const dm_reason *r = g_ptr_array_index(v->reasons, i);

        if (r->key == DM_R_SEKRETESS_CASE || r->key == DM_R_SEKRETESS_PNR ||
            r->key == DM_R_SEKRETESS_SAMORDNING)
            out[n++] = r;
    }
    return n;
}

const char *dm_compose_sign_name(const dm_reason *r)
{
    switch (r->key) {
    case DM_R_SEKRETESS_CASE: return "case";
    case DM_R_SEKRETESS_PNR: return "personnummer";
    case DM_R_SEKRETESS_SAMORDNING: return "samordningsnummer";
    default: return NULL;
    }
}

char *dm_compose_reason_text(const dm_templates *t, const dm_reason *r)
{
    /* A sign of sekretess is said without the facts that made it one
     * (the sensitive words beside a personnummer): its sentence. */
    if (dm_compose_sign_name(r) != NULL) {
        char *s = dm_reasons_sentence(dm_templates_reasons(t), r, false);
        if (s != NULL)
            return s;
    }
    return g_strdup(r->text);
}

/* Where a reply to a wrapped copy goes ([delivery] copy_reply_to): the
 * original's Reply-To, else its From, else its envelope sender; a
 * configured address; or nowhere but From (NULL).  *from_sender tells
 * whether it is the original's sender.  A new string. */
static char *dm_compose_reply_to(const dm_compose_info *ci, bool *from_sender)
{
    const char *mode = ci->conf != NULL ? ci->conf->copy_reply_to : "sender";
    const dm_msg *m = ci->msg;

    *from_sender = false;
    if (strcmp(mode, "none") == 0)
        return NULL;
    if (strcmp(mode, "sender") != 0)
        return g_strdup(mode);
    for (guint i = 0; i < m->headers->len; i++) {
        const dm_header *h = g_ptr_array_index(m->headers, i);
        InternetAddressList *l;
        char *addr = NULL;

        if (g_ascii_strcasecmp(h->name, "Reply-To") != 0)
            continue;
        if ((l = internet_address_list_parse(NULL, h->value)) == NULL)
            break;
        for (int k = 0; k < internet_address_list_length(l) && addr == NULL; k++) {
            InternetAddress *a = internet_address_list_get_address(l, k);
            const char *s;
            if (INTERNET_ADDRESS_IS_MAILBOX(a) &&
                (s = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))) != NULL &&
                strchr(s, '@') != NULL)
                addr = g_strdup(s);
        }
        g_object_unref(l);
        if (addr != NULL) {
            *from_sender = true;
            return addr;
        }
        break;
    }
    if (m->from_addr != NULL && strchr(m->from_addr, '@') != NULL) {
        *from_sender = true;
        return g_strdup(m->from_addr);
    }
    if (ci->env_from != NULL && strchr(ci->env_from, '@') != NULL) {
        *from_sender = true;
        return g_strdup(ci->env_from);
    }
    return NULL;
}

/* The reasons in words for a notice, one sentence a line, each once. */
static char *dm_sentences(const dm_compose_info *ci, const dm_templates *t, bool facts)
{
    GString *out = g_string_new(NULL);
    GHashTable *said = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (guint i = 0; i < ci->verdict->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(ci->verdict->reasons, i);
        char *s = dm_reasons_sentence(dm_templates_reasons(t), r, facts);

        if (s == NULL || *s == '\0' || g_hash_table_contains(said, s)) {
            g_free(s);
            continue;
        }
        if (out->len > 0)
            g_string_append_c(out, '\n');
        g_string_append_printf(out, "- %s", s);
        g_hash_table_add(said, s);
    }
    g_hash_table_destroy(said);
    return g_string_free(out, FALSE);
}

/* Every attachment, one a line: its name, type, size and whether its
 * text was read (so the registrator knows what the decision saw), in the
 * catalogue's [words]. */
static void dm_attachments(const dm_msg *m, const dm_reasons *words, GString *out)
{
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        char *no_name = dm_reasons_text(words, DM_R_ATT_NO_NAME, NULL);
        /* The sender's words, for people: no control or bidi characters
         * raw (dm_text_escape). */
        char *name = dm_text_escaped(a->filename != NULL && *a->filename != '\0' ? a->filename
                                                                               : no_name);
        char *type = dm_text_escaped(a->content_type);
        dm_reason_id said = DM_R_COUNT;

        if (out->len > 0)
            g_string_append_c(out, '\n');
        g_string_append_printf(out, "%s (%s, ", name, type);
        g_free(type);
        g_free(no_name);
        {
            bool kb = a->size >= 1024;
            char *n = g_strdup_printf("%zu", kb ? (a->size + 512) / 1024 : a->size);
            char *s = dm_reasons_text(words, kb ? DM_R_ATT_SIZE_KB : DM_R_ATT_SIZE_BYTES,
                                      "size", n, NULL);

            g_string_append_printf(out, "%s)", s);
            g_free(s);
            g_free(n);
        }
        switch (a->status) {
        case DM_ATT_NOT_TRIED: break;
        case DM_ATT_READ: said = DM_R_ATT_READ; break;
        case DM_ATT_NO_TEXT: said = DM_R_ATT_NO_TEXT; break;
        case DM_ATT_ENCRYPTED: said = DM_R_ATT_ENCRYPTED; break;
        case DM_ATT_UNSUPPORTED: said = DM_R_ATT_UNSUPPORTED; break;
        case DM_ATT_FAILED: said = DM_R_ATT_FAILED; break;
        case DM_ATT_TIMEOUT: said = DM_R_ATT_TIMEOUT; break;
        case DM_ATT_LIMIT: said = DM_R_ATT_LIMIT; break;
        }
        if (said != DM_R_COUNT) {
            char *s = dm_reasons_text(words, said, NULL);
            g_string_append_printf(out, ": %s", s);
            g_free(s);
        }
        if (a->status == DM_ATT_READ && a->pages > 0) {
            char *count = g_strdup_printf("%u", a->pages);
            char *s = dm_reasons_text(words, a->pages == 1 ? DM_R_ATT_PAGE : DM_R_ATT_PAGES,
                                      "count", count, NULL);
            g_string_append_printf(out, ", %s", s);
            g_free(s);
            g_free(count);
        }
        if (a->status == DM_ATT_READ && a->cut) {
            char *s = dm_reasons_text(words, DM_R_ATT_CUT, NULL);
            g_string_append_printf(out, ", %s", s);
            g_free(s);
        }
        g_free(name);
    }
}

/* The values every template may use.  With sekretess, nothing of the
 * message's own words in a notice: no subject, no reasons' texts, no
 * sentence that quotes it. */
GHashTable *dm_compose_vars(const dm_compose_info *ci, const dm_templates *t, bool for_notice)
{
    GHashTable *vars = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    const dm_verdict *v = ci->verdict;
    const dm_msg *m = ci->msg;
    const dm_reasons *words = dm_templates_reasons(t);
    GString *rcpts = g_string_new(NULL), *reasons = g_string_new(NULL),
            *rules = g_string_new(NULL), *signs = g_string_new(NULL),
            *atts = g_string_new(NULL);
    GHashTable *seen_rules = g_hash_table_new(g_str_hash, g_str_equal);
    const dm_reason *sign[8];
    guint n_signs = dm_compose_sekretess_signs(v, sign, G_N_ELEMENTS(sign));
    char now[32], *reply_to;
    bool hide = v->sekretess && for_notice, reply_sender;
    GDateTime *arrived = dm_compose_local_time(ci, ci->now);

    dm_recipients(ci, words, rcpts);
    dm_attachments(m, words, atts);
    for (guint i = 0; i < v->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(v->reasons, i);
        char *text = dm_compose_reason_text(t, r);

        if (reasons->len > 0)
            g_string_append_c(reasons, '\n');
        g_string_append_printf(reasons, "%-6s %s", r->rule, text);
        g_free(text);
        if (g_hash_table_add(seen_rules, r->rule)) {
            if (rules->len > 0)
                g_string_append(rules, ", ");
            g_string_append(rules, r->rule);
        }
    }
    /* Which sign of sekretess was found, never the facts themselves. */
    for (guint i = 0; i < n_signs; i++) {
        char *s = dm_reasons_sentence(dm_templates_reasons(t), sign[i], false);

        if (s == NULL)
            continue;
        if (signs->len > 0)
            g_string_append_c(signs, '\n');
        g_string_append(signs, s);
        g_free(s);
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
                        v->sekretess ? dm_reasons_text(words, DM_R_SUBJECT_SEKRETESS, NULL)
                                     : g_strdup(m->subject));
    g_hash_table_insert(vars, "message_id", g_strdup(m->message_id));
    g_hash_table_insert(vars, "date", g_strdup(m->date ? m->date : ""));
    g_hash_table_insert(vars, "arrived", g_date_time_format(arrived, "%Y-%m-%d %H:%M:%S %Z"));
    g_hash_table_insert(vars, "class", g_strdup(dm_class_name(v->klass)));
    g_hash_table_insert(vars, "sekretess", g_strdup(v->sekretess ? "sekretess" : ""));
    g_hash_table_insert(vars, "sekretess_signs", g_string_free(signs, FALSE));
    g_hash_table_insert(vars, "reasons", hide ? g_strdup("") : g_string_free(reasons, FALSE));
    if (hide)
        g_string_free(reasons, TRUE);
    g_hash_table_insert(vars, "rules", g_string_free(rules, FALSE));
    g_hash_table_insert(vars, "sentences", dm_sentences(ci, t, !v->sekretess));
    /* File names are the message's own words: not in a sekretess notice. */
    g_hash_table_insert(vars, "attachments", hide ? g_strdup("") : g_string_free(atts, FALSE));
    if (hide)
        g_string_free(atts, TRUE);
    g_hash_table_insert(vars, "case", g_strdup(v->case_dnr ? v->case_dnr : ""));
    g_hash_table_insert(vars, "myndighet", g_strdup(v->myndighet ? v->myndighet : ""));
    g_hash_table_insert(vars, "sha256", g_strdup(ci->sha256 ? ci->sha256 : ""));
    g_hash_table_insert(vars, "now", g_strdup(now));
    g_hash_table_insert(vars, "gateway", g_strdup(dm_compose_gateway(ci)));
    g_hash_table_insert(vars, "gateway_address",
                        g_strdup(ci->conf != NULL ? dm_conf_sender(ci->conf) : "postmaster"));
    reply_to = dm_compose_reply_to(ci, &reply_sender);
    g_hash_table_insert(vars, "reply_to", g_strdup(reply_to ? reply_to : ""));
    g_hash_table_insert(vars, "reply_sender", g_strdup(reply_to && reply_sender ? "1" : ""));
    g_hash_table_insert(vars, "reply_address", g_strdup(reply_to && !reply_sender ? "1" : ""));
    g_free(reply_to);
    g_date_time_unref(arrived);
    g_hash_table_destroy(seen_rules);
    return vars;
}

char *dm_generated_id(const dm_compose_info *ci, const char *kind, const char *to)
{
    char h[65];
    char *seed = g_strconcat(ci->id, "/", kind, "/", to, NULL);

    dm_sha256_hex(seed, strlen(seed), h);
    g_free(seed);
    h[12] = '\0';
    return g_strdup_printf("%s.%s.%s@%s", ci->id, kind, h, g_get_host_name());
}

GMimeMessage *dm_generated_message(const dm_compose_info *ci, const char *to,
                                   const char *subject, const char *kind, dm_lang lang)
{
    GMimeMessage *msg = g_mime_message_new(TRUE);
    GMimeObject *o = GMIME_OBJECT(msg);
    InternetAddressList *from = internet_address_list_parse(NULL, ci->from_header);
    GDateTime *now = dm_compose_local_time(ci, ci->now);
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

GMimeObject *dm_text_part(const char *body)
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

GMimeFormatOptions *dm_compose_format_options(void)
{
    GMimeFormatOptions *fo = g_mime_format_options_new();

    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_UNIX);
    g_mime_format_options_set_param_encoding_method(fo, GMIME_PARAM_ENCODING_METHOD_RFC2231);
    return fo;
}

bool dm_write_message(GMimeMessage *msg, const dm_compose_info *ci, GMimeStream *out,
                      GError **err)
{
    GMimeFormatOptions *fo = dm_compose_format_options();
    bool ok;

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
    vars = dm_compose_vars(ci, t, true);
    g_hash_table_insert(vars, "name", g_strdup(a->party_name ? a->party_name : a->party));
    g_hash_table_insert(vars, "party", g_strdup(a->party ? a->party : ""));
    if (a->myndighet != NULL)
        g_hash_table_replace(vars, "myndighet", g_strdup(a->myndighet));
    /* The registrator the person forwards the message to: of the
     * myndighet concerned, else the one the verdict copies to. */
    if (a->registrar != NULL)
        g_hash_table_insert(vars, "registrator", g_strdup(a->registrar));
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

bool dm_mime_write_generated(GMimeStream *out, const dm_compose_info *ci, const char *to,
                             const char *name, GHashTable *vars, const dm_templates *t,
                             GError **err)
{
    char *subject = NULL, *body = NULL;
    GMimeMessage *msg;
    GMimeObject *part;
    bool ok;

    if (!dm_template_expand(t, name, vars, &subject, &body)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no template \"%s\"", name);
        return false;
    }
    msg = dm_generated_message(ci, to, subject, name, dm_templates_lang(t));
    part = dm_text_part(body);
    g_mime_message_set_mime_part(msg, part);
    g_object_unref(part);
    ok = dm_write_message(msg, ci, out, err);
    g_object_unref(msg);
    g_free(subject);
    g_free(body);
    return ok;
}
