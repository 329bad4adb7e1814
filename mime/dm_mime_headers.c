/*
 * Extraction, the top-level headers: the list the rules see (within
 * max_headers and max_header_size), the fields of dm_msg (Subject, From,
 * Message-ID, Date, In-Reply-To, References), and the markers of
 * automatic, bulk and spam mail (R7).
 */
#include <string.h>

#include "dm_mime_int.h"

/* A header of the message itself (first occurrence, decoded), whatever
 * max_headers cut from the list the rules see. */
static const char *dm_hdr(GMimeObject *o, const char *name)
{
    return g_mime_object_get_header(o, name);
}

/* Does the value start with word (blanks before it skipped, any case)? */
static bool dm_hvalue_is(const char *v, const char *word)
{
    if (v == NULL)
        return false;
    while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
        v++;
    return g_ascii_strncasecmp(v, word, strlen(word)) == 0;
}

static bool dm_hvalue_has(const char *v, const char *needle)
{
    size_t n = strlen(needle);

    for (const char *p = v; p != NULL && *p != '\0'; p++) {
        if (g_ascii_strncasecmp(p, needle, n) == 0)
            return true;
    }
    return false;
}

/* A header that is present and does not say no. */
static bool dm_hvalue_yes(const char *v)
{
    return v != NULL && !dm_hvalue_is(v, "no") && !dm_hvalue_is(v, "false") &&
           !dm_hvalue_is(v, "0");
}

/* Exchange's SCL: 5 to 9 is spam, -1 trusted, 0 to 4 clean. */
static bool dm_scl_spam(const char *v)
{
    long scl;
    char *end;

    if (v == NULL)
        return false;
    scl = strtol(v, &end, 10);
    return end != v && scl >= 5 && scl <= 9;
}

/* Spam verdicts of the filters in front of diariemilter.  Only the first
 * (topmost, the most recently added) instance of a header is read: a
 * filter adds its verdict above what the sender wrote.  Built in; see
 * "SPAM FILTERS" in diariemilter.conf(5). */
static const char *dm_spam_verdict(GMimeObject *o)
{
    static const struct {
        const char *name;
        const char *prefix; /* the value starts with this */
    } starts[] = {
        {"X-Spam-Flag", "yes"},              /* SpamAssassin, Amavis */
        {"X-Spam-Status", "yes"},            /* SpamAssassin, rspamd */
        {"X-Spam", "yes"},                   /* rspamd, Amavis, many */
        {"X-Spam-Verdict", "spam"},          /* various gateways */
        {"X-Barracuda-Spam-Status", "yes"},  /* Barracuda */
        {"X-Barracuda-Spam-Flag", "yes"},    /* Barracuda */
        {"X-Rspamd-Action", "add header"},   /* rspamd */
        {"X-Rspamd-Action", "rewrite subject"},
        {"X-Rspamd-Action", "reject"},
        {"X-Proofpoint-Spam", "yes"},        /* Proofpoint */
    };
    const char *v;

    for (size_t i = 0; i < G_N_ELEMENTS(starts); i++) {
        if (dm_hvalue_is(dm_hdr(o, starts[i].name), starts[i].prefix))
            return starts[i].name;
    }
    /* Proofpoint: "rule=spam policy=default score=..." */
    if (dm_hvalue_has(dm_hdr(o, "X-Proofpoint-Spam-Details"), "rule=spam"))
        return "X-Proofpoint-Spam-Details";
    /* Exchange Online Protection: SFV:SPM (spam), SFV:SKS (a mail flow
     * rule said spam), SFV:BLK (a blocked sender); SCL 5 to 9. */
    if ((v = dm_hdr(o, "X-Forefront-Antispam-Report")) != NULL) {
        const char *scl = strstr(v, "SCL:");
        if (strstr(v, "SFV:SPM") != NULL || strstr(v, "SFV:SKS") != NULL ||
            strstr(v, "SFV:BLK") != NULL || (scl != NULL && dm_scl_spam(scl + 4)))
            return "X-Forefront-Antispam-Report";
    }
    if (dm_scl_spam(dm_hdr(o, "X-MS-Exchange-Organization-SCL")))
        return "X-MS-Exchange-Organization-SCL";
    /* Exchange: delivered to the junk folder. */
    if (dm_hvalue_has(dm_hdr(o, "X-Microsoft-Antispam-Mailbox-Delivery"), "dest:J"))
        return "X-Microsoft-Antispam-Mailbox-Delivery";
    return NULL;
}

/* Subjects of automatic replies from clients and servers that send no
 * header saying so (Exchange's own forms, Outlook rules): the site's
 * casefolded prefixes. */
static bool dm_autoreply_subject(const char *subject, const char *const *prefixes)
{
    const char *s = subject;
    char *fold;
    bool yes = false;

    if (prefixes == NULL || prefixes[0] == NULL)
        return false;
    while (*s == ' ' || *s == '\t')
        s++;
    /* UTF-8 case folding: "FRÅNVARO:" is "frånvaro:" too (ASCII folding
     * left the Å alone). */
    fold = g_utf8_casefold(s, -1);
    for (int i = 0; prefixes[i] != NULL && !yes; i++)
        yes = g_str_has_prefix(fold, prefixes[i]);
    g_free(fold);
    return yes;
}

/* Markers of automatic, bulk and spam mail in the top-level headers. */
static void dm_markers(dm_msg *m, GMimeObject *o, const dm_mime_limits *lim)
{
    const char *v;
    const char *spam;

    /* RFC 3834: the first token; anything but "no" is automatic. */
    if ((v = dm_hdr(o, "Auto-Submitted")) != NULL) {
        char *tok;

        while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
            v++;
        tok = g_strndup(v, strcspn(v, ";( \t\r\n"));
        if (*tok != '\0' && g_ascii_strcasecmp(tok, "no") != 0) {
            char *valid = g_utf8_make_valid(tok, -1);
            m->auto_reply = true;
            m->auto_submitted = g_ascii_strdown(valid, -1);
            g_free(valid);
        }
        g_free(tok);
    }
    /* Not X-Auto-Response-Suppress: Outlook sets it on ordinary mail. */
    if (dm_hvalue_yes(dm_hdr(o, "X-Autoreply")) || dm_hvalue_yes(dm_hdr(o, "X-Autorespond")) ||
        dm_hvalue_yes(dm_hdr(o, "X-Autoresponder")) ||
        dm_hvalue_is(dm_hdr(o, "X-Auto-Response"), "yes") ||
        dm_hvalue_is(dm_hdr(o, "Precedence"), "auto_reply") ||
        dm_hdr(o, "X-MS-Exchange-Inbox-Rules-Loop") != NULL ||
        dm_hvalue_is(dm_hdr(o, "X-MS-Exchange-Generated-Message-Source"),
                     "Mailbox Rules Agent") ||
        dm_autoreply_subject(m->subject, lim->autoreply_subjects)) {
        m->auto_reply = true;
        if (m->auto_submitted == NULL)
            m->auto_submitted = g_strdup("auto-replied");
    }
    if ((v = dm_hdr(o, "Precedence")) != NULL &&
        (dm_hvalue_is(v, "bulk") || dm_hvalue_is(v, "list") || dm_hvalue_is(v, "junk")))
        m->bulk = true;
    if ((v = dm_hdr(o, "List-Id")) != NULL) {
        char *id = g_utf8_make_valid(v, -1);
        m->list = true;
        m->list_id = g_strdup(g_strstrip(id));
        g_free(id);
    } else if (dm_hdr(o, "List-Unsubscribe") != NULL || dm_hdr(o, "List-Post") != NULL) {
        m->list = true;
    }
    if ((spam = dm_spam_verdict(o)) != NULL) {
        m->spam = true;
        m->spam_header = g_strdup(spam);
    }
}

static void dm_top_headers(dm_msg *m, GMimeMessage *msg, const dm_mime_limits *lim)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int n = g_mime_header_list_get_count(hl);

    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *value = g_mime_header_get_value(h);
        dm_header *dh;

        if (i >= lim->max_headers) {
            dm_mime_note_limit(m, "max_headers");
            break;
        }
        dh = g_new0(dm_header, 1);
        /* Names too: GMime takes any bytes before a colon as a name. */
        dh->name = g_utf8_make_valid(g_mime_header_get_name(h), -1);
        /* Valid first, then cut at a character boundary: cutting first
         * let g_utf8_make_valid turn each stray byte into a U+FFFD, 3
         * bytes for 1, over the limit (found by the fuzzer). */
        dh->value = g_utf8_make_valid(value != NULL ? value : "", -1);
        if (strlen(dh->value) > lim->max_header_size) {
            size_t cut = lim->max_header_size;
            while (cut > 0 && ((unsigned char)dh->value[cut] & 0xC0) == 0x80)
                cut--;
            dh->value[cut] = '\0';
            dm_mime_note_limit(m, "max_header_size");
        }
        g_ptr_array_add(m->headers, dh);
    }
}

/* Message-IDs of In-Reply-To or References, without <>, one blank
 * between them; NULL when the header is absent or names none. */
static char *dm_msgids(GMimeObject *o, const char *name)
{
    const char *v = dm_hdr(o, name);
    GMimeReferences *refs;
    GString *out;
    char *valid;

    if (v == NULL)
        return NULL;
    refs = g_mime_references_parse(dm_mime_parser_options(), v);
    if (refs == NULL)
        return NULL;
    out = g_string_new(NULL);
    for (int i = 0; i < g_mime_references_length(refs); i++) {
        const char *id = g_mime_references_get_message_id(refs, i);
        if (id == NULL || *id == '\0')
            continue;
        if (out->len > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, id);
    }
    g_mime_references_free(refs);
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    valid = g_utf8_make_valid(out->str, (gssize)out->len);
    g_string_free(out, TRUE);
    return valid;
}

void dm_mime_note_limit(dm_msg *m, const char *what)
{
    for (guint i = 0; i < m->limits->len; i++) {
        if (strcmp(g_ptr_array_index(m->limits, i), what) == 0)
            return;
    }
    g_ptr_array_add(m->limits, g_strdup(what));
}

void dm_mime_read_headers(dm_msg *m, GMimeMessage *msg, const dm_mime_limits *lim)
{
    GMimeObject *o = GMIME_OBJECT(msg);
    const char *s = g_mime_message_get_subject(msg);
    const char *id = g_mime_message_get_message_id(msg);
    InternetAddressList *from = g_mime_message_get_from(msg);
    const char *v;

    dm_top_headers(m, msg, lim);
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
            char *valid = g_utf8_make_valid(addr != NULL ? addr : "", -1);
            g_free(m->from_addr);
            m->from_addr = g_utf8_strdown(valid, -1);
            g_free(valid);
        }
    }
    if ((v = dm_hdr(o, "Date")) != NULL)
        m->date = g_utf8_make_valid(v, -1);
    m->in_reply_to = dm_msgids(o, "In-Reply-To");
    m->references = dm_msgids(o, "References");
    dm_markers(m, o, lim);
}
