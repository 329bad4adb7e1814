/*
 * mime/ composition: templates (sv, en), the registrator copy (structure,
 * cover note and its recipients with lists and blind copies, the original
 * byte for byte, 7bit/8bit, message/global base64 for what cannot travel
 * as message/rfc822, headers), sekretess
 * (no subject in headers, nothing of the message in notices), and the
 * notices.  Issue 16: the arrival in [site] timezone, Reply-To as
 * [delivery] copy_reply_to says, the original named after its subject
 * (by id under sekretess), Sensitivity and the sign of sekretess without
 * its facts, diarie.json, the redirect form (Resent-*, X-Diarie-*, the
 * original's own X-Diarie-* gone, a loop token that verifies), and the
 * notices' reasons in sentences with the registrator to forward to.
 */
#include "dm_test.h"

#include <json-glib/json-glib.h>

#include "dm_conf.h"
#include "dm_loop.h"
#include "dm_mime.h"
#include "dm_mime_int.h"
#include "dm_reasons.h"
#include "dm_util.h"
#include "dm_verdict.h"

/* ---- local helpers -------------------------------------------------------- */

static dm_templates *tpl_sv, *tpl_en;

static int group_setup(void **state)
{
    char *dir;
    GError *err = NULL;

    (void)state;
    dm_mime_init();
    dir = dm_test_path("etc/templates");
    tpl_sv = dm_templates_load(dir, DM_LANG_SV, &err);
    if (tpl_sv == NULL) {
        print_error("templates sv: %s\n", err->message);
        return -1;
    }
    tpl_en = dm_templates_load(dir, DM_LANG_EN, &err);
    if (tpl_en == NULL) {
        print_error("templates en: %s\n", err->message);
        return -1;
    }
    g_free(dir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_templates_free(tpl_sv);
    dm_templates_free(tpl_en);
    dm_mime_shutdown();
    return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) == NULL) {
        print_error("expected \"%s\" in:\n%s\n", needle, hay);
        fail();
    }
}

static void assert_not_contains(const char *hay, const char *needle)
{
    if (strstr(hay, needle) != NULL) {
        print_error("did not expect \"%s\" in:\n%s\n", needle, hay);
        fail();
    }
}

/* The original as received: CRLF line ends, 8-bit UTF-8 body, ASCII
 * headers.  Its subject and body words are distinctive so that a leak is
 * easy to spot. */
static const char original_8bit[] =
    "From: Anna Berg <anna.berg@invanare.example>\r\n"
    "To: registrator@sjovik.test\r\n"
    "Subject: =?utf-8?Q?Ans=C3=B6kan_om_bist=C3=A5nd_Hemligrubrik?=\r\n"
    "Date: Mon, 16 Nov 2026 10:00:00 +0100\r\n"
    "Message-ID: <orig-4711@invanare.example>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Hej! Jag söker ekonomiskt bistånd. Brödtexthemlighet.\r\n"
    "Mitt personnummer är 19800101-1234.\r\n"
    "\r\n"
    "..en rad som börjar med punkt\r\n"
    "From en rad som börjar med From\r\n";

static const char original_7bit[] =
    "From: Anna Berg <anna.berg@invanare.example>\r\n"
    "To: registrator@sjovik.test\r\n"
    "Subject: Plain ascii\r\n"
    "Message-ID: <orig-7bit@invanare.example>\r\n"
    "\r\n"
    "Only ASCII here.\r\n";

static const char original_header8[] =
    "From: Åsa Öberg <asa.oberg@invanare.example>\r\n"
    "To: registrator@sjovik.test\r\n"
    "Subject: Rå åäö i rubriken\r\n"
    "Message-ID: <orig-h8@invanare.example>\r\n"
    "\r\n"
    "Brödtext.\r\n";

#define SUBJECT "Ansökan om bistånd Hemligrubrik"
#define BODY_WORD "Brödtexthemlighet"
#define REASON_TEXT "mentions ekonomiskt bistånd with a personnummer"
#define LOOP_KEY "a site key of thirty-two bytes!!"
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
    dm_msg *msg;
    dm_verdict *v;
    char *rcpts[3];
    dm_conf *conf;
    dm_compose_info ci;
} fixture;

static void fixture_init(fixture *f, bool sekretess)
{
    memset(f, 0, sizeof *f);
    f->msg = dm_msg_new();
    g_free(f->msg->subject);
    f->msg->subject = g_strdup(SUBJECT);
    g_free(f->msg->from_addr);
    f->msg->from_addr = g_strdup("anna.berg@invanare.example");
    g_free(f->msg->from_display);
    f->msg->from_display = g_strdup("Anna Berg <anna.berg@invanare.example>");
    g_free(f->msg->message_id);
    f->msg->message_id = g_strdup("orig-4711@invanare.example");
    f->msg->date = g_strdup("Mon, 16 Nov 2026 10:00:00 +0100");
    g_string_assign(f->msg->text, "Hej! Jag söker ekonomiskt bistånd. " BODY_WORD ".\n"
                                  "Mitt personnummer är 19800101-1234.");

    f->v = dm_verdict_new();
    f->v->klass = DM_CLASS_REGISTRERAS;
    f->v->sekretess = sekretess;
    f->v->direction = DM_DIR_INBOUND;
    f->v->case_dnr = g_strdup("SN 2026/210");
    f->v->myndighet = g_strdup("SN");
    dm_verdict_add_reason(f->v, "R6.5", "%s", REASON_TEXT);
    dm_verdict_add_reason(f->v, "R9", "cites SN 2026/210, marked sekretess");
    dm_verdict_add_action(f->v, DM_ACT_COPY, "registrator.sn@sjovik.test",
                          "socialtjansten@sjovik.test");

    f->rcpts[0] = "socialtjansten@sjovik.test";
    f->rcpts[1] = "hemlig.bcc@sjovik.test"; /* Bcc only: in no header */
    f->rcpts[2] = NULL;
    f->ci.id = "0a1b2c3d4e5f6g7h8i9j";
    f->ci.queue_id = "4F2A11C0D";
    f->ci.env_from = "anna.berg@invanare.example";
    f->ci.rcpts = f->rcpts;
    f->ci.n_rcpts = 2;
    f->ci.msg = f->msg;
    f->ci.verdict = f->v;
    f->ci.sha256 = SHA;
    f->ci.from_header = "Diariemilter <postmaster@sjovik.test>";
    f->ci.loop_key = LOOP_KEY;
    f->ci.loop_keylen = strlen(LOOP_KEY);
    f->ci.loop_expires = 1795248000 + 3 * 86400;
    f->ci.now = 1795248000; /* 2026-11-21T08:00:00Z */
    f->conf = dm_conf_new_defaults();
    f->ci.conf = f->conf;
}

static void fixture_clear(fixture *f)
{
    dm_msg_free(f->msg);
    dm_verdict_free(f->v);
    dm_conf_unref(f->conf);
}

static void set_conf(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

/* Reasons as the policy gives them, from the Swedish catalogue: a cited
 * case, a request quoting the message, and, with sekretess, the signs. */
static void add_catalogue_reasons(fixture *f, bool pnr)
{
    const dm_reasons *r = dm_templates_reasons(tpl_sv);

    dm_reasons_add(f->v, r, "R6.3", DM_R_CASE_CITED, "case", "SN 2026/210", NULL);
    dm_reasons_add(f->v, r, "R6.1", DM_R_REQUEST, "hits", "\"jag söker\"", NULL);
    if (f->v->sekretess) {
        if (pnr)
            dm_reasons_add(f->v, r, "R9", DM_R_SEKRETESS_PNR, "hits", "\"missbruksvård\"", NULL);
        dm_reasons_add(f->v, r, "R9", DM_R_SEKRETESS_CASE, "case", "SN 2026/210", NULL);
    }
}

/* Write the copy for `original`; returns the output bytes (new). */
static GByteArray *write_copy(const fixture *f, const char *original, size_t len,
                              const dm_templates *t)
{
    GByteArray *out = g_byte_array_new();
    GMimeStream *os = g_mime_stream_mem_new_with_byte_array(out);
    GMimeStream *in = g_mime_stream_mem_new_with_buffer(original, len);
    GError *err = NULL;
    bool ok;

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
    ok = dm_mime_write_copy(os, &f->ci, "registrator.sn@sjovik.test", in, t, &err);
    if (!ok) {
        print_error("write_copy: %s\n", err ? err->message : "?");
        fail();
    }
    assert_null(err);
    g_object_unref(in);
    g_object_unref(os);
    g_byte_array_append(out, (const guint8 *)"", 1); /* NUL: usable as a string */
    g_byte_array_set_size(out, out->len - 1);
    return out;
}

static GByteArray *write_notice(const fixture *f, dm_notice_kind kind, const dm_templates *t)
{
    GByteArray *out = g_byte_array_new();
    GMimeStream *os = g_mime_stream_mem_new_with_byte_array(out);
    dm_action a = {
        .type = kind == DM_NOTICE_UNWATCHED ? DM_ACT_MANAGER_NOTICE : DM_ACT_NOTICE,
        .to = "chef@sjovik.test",
        .party = "socialtjansten@sjovik.test",
        .party_name = "Sara Person",
        .myndighet = "SN",
        .notice = kind,
    };
    GError *err = NULL;

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
    if (!dm_mime_write_notice(os, &f->ci, &a, t, &err)) {
        print_error("write_notice: %s\n", err ? err->message : "?");
        fail();
    }
    g_object_unref(os);
    return out;
}

static GMimeMessage *parse(const GByteArray *ba)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer((const char *)ba->data, ba->len);
    GMimeParser *p = g_mime_parser_new_with_stream(s);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);

    g_object_unref(p);
    g_object_unref(s);
    assert_non_null(m);
    return m;
}

/* The decoded bytes of a leaf part, NUL-terminated (new). */
static char *decoded(GMimeObject *o)
{
    GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(o));
    GByteArray *ba = g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(ba);

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    assert_non_null(w);
    g_mime_data_wrapper_write_to_stream(w, mem);
    g_object_unref(mem);
    g_byte_array_append(ba, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(ba, FALSE);
}

/* The original with CRLF turned into LF (new). */
static char *unix_lines(const char *s)
{
    GString *o = g_string_new(NULL);

    for (; *s != '\0'; s++) {
        if (s[0] == '\r' && s[1] == '\n')
            continue;
        g_string_append_c(o, *s);
    }
    return g_string_free(o, FALSE);
}

/* Raw content of the part with this Content-Type in a serialized
 * multipart, up to the next boundary delimiter (new). */
static char *raw_part_content(const char *out, const char *ctype, const char *boundary)
{
    const char *start = strstr(out, ctype), *end;
    char *delim;

    assert_non_null(start);
    start = strstr(start, "\n\n");
    assert_non_null(start);
    start += 2;
    delim = g_strconcat("\n--", boundary, NULL);
    end = strstr(start, delim);
    g_free(delim);
    assert_non_null(end);
    return g_strndup(start, (gsize)(end - start));
}

static const char *header(GMimeObject *o, const char *name)
{
    return g_mime_object_get_header(o, name);
}

/* Is "Name: value" a header of the top-level header block of a
 * serialized message?  (GMime files Content-* headers under the MIME
 * part when it parses, so they are checked in the bytes.) */
static bool top_header_is(const GByteArray *out, const char *name, const char *value)
{
    char *text = g_strndup((const char *)out->data, out->len);
    char *end = strstr(text, "\n\n");
    char *line = g_strdup_printf("\n%s: %s\n", name, value);
    bool found;

    assert_non_null(end);
    end[1] = '\0';
    found = strstr(text, line) != NULL;
    g_free(line);
    g_free(text);
    return found;
}

/* ---- templates ---------------------------------------------------------- */

static void test_templates_load(void **state)
{
    char *dir = dm_test_tmpdir();
    char *sv = g_build_filename(dir, "sv", NULL);
    GError *err = NULL;
    dm_templates *t;

    (void)state;
    assert_non_null(tpl_sv);
    assert_non_null(tpl_en);
    /* A missing directory: an error naming the file, no crash. */
    t = dm_templates_load(dir, DM_LANG_SV, &err);
    assert_null(t);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "copy.txt"));
    g_clear_error(&err);

    /* A template without a Subject: line is refused with its path. */
    {
        char *src = dm_test_path("etc/templates/sv");
        GDir *d = g_dir_open(src, 0, NULL);
        const char *n;

        g_mkdir_with_parents(sv, 0755);
        assert_non_null(d);
        while ((n = g_dir_read_name(d)) != NULL) {
            char *from = g_build_filename(src, n, NULL), *to = g_build_filename(sv, n, NULL);
            gsize len;
            char *text = dm_test_read(from, &len);
            assert_true(g_file_set_contents(to, text, (gssize)len, NULL));
            g_free(text);
            g_free(from);
            g_free(to);
        }
        g_dir_close(d);
        g_free(src);
    }
    t = dm_templates_load(dir, DM_LANG_SV, &err);
    assert_non_null(t);
    dm_templates_free(t);
    {
        char *bad = g_build_filename(sv, "notice-copied.txt", NULL);
        assert_true(g_file_set_contents(bad, "Hej {{name}}\n\ntext\n", -1, NULL));
        t = dm_templates_load(dir, DM_LANG_SV, &err);
        assert_null(t);
        assert_non_null(err);
        assert_non_null(strstr(err->message, "notice-copied.txt"));
        g_clear_error(&err);
        g_free(bad);
    }
    dm_test_rmtree(dir);
    g_free(sv);
    g_free(dir);
}

/* ---- the registrator copy ------------------------------------------------ */

/* The composed message's loop token verifies for that message, with
 * CRLF line ends (as the milter sees it from the MTA) as with LF, and for
 * no other body or Message-ID, nor after its expiry. */
static void check_loop_token(const fixture *f, const GByteArray *out, GMimeMessage *msg)
{
    const char *o = (const char *)out->data;
    const char *value = header(GMIME_OBJECT(msg), "X-Diarie-Genererad");
    const char *sep = g_strstr_len(o, (gssize)out->len, "\n\n");
    const char *mid = g_mime_message_get_message_id(msg);
    char body[65], crlf[65], other[65];
    dm_bodyhash *h;

    assert_non_null(value);
    assert_non_null(sep);
    assert_non_null(mid);
    h = dm_bodyhash_new();
    dm_bodyhash_update(h, sep + 2, out->len - (size_t)(sep + 2 - o));
    dm_bodyhash_final(h, body);
    dm_bodyhash_free(h);
    h = dm_bodyhash_new();
    for (const char *p = sep + 2; p < o + out->len; p++)
        dm_bodyhash_update(h, *p == '\n' ? "\r\n" : p, *p == '\n' ? 2 : 1);
    dm_bodyhash_final(h, crlf);
    dm_bodyhash_free(h);
    assert_string_equal(body, crlf);
    dm_sha256_hex("another body", 12, other);

    assert_int_equal(dm_loop_check(LOOP_KEY, strlen(LOOP_KEY), value, mid, body, f->ci.now),
                     DM_LOOP_VALID);
    assert_int_equal(dm_loop_check(LOOP_KEY, strlen(LOOP_KEY), value, mid, other, f->ci.now),
                     DM_LOOP_FORGED);
    assert_int_equal(dm_loop_check(LOOP_KEY, strlen(LOOP_KEY), value, "x@example.org", body,
                                   f->ci.now),
                     DM_LOOP_FORGED);
    assert_int_equal(dm_loop_check(LOOP_KEY, strlen(LOOP_KEY), value, mid, body,
                                   f->ci.loop_expires + 1),
                     DM_LOOP_EXPIRED);
}

static void check_copy_structure(const fixture *f, const char *original, const dm_templates *t,
                                 bool expect_8bit)
{
    GByteArray *out = write_copy(f, original, strlen(original), t);
    const char *o = (const char *)out->data;
    GMimeMessage *msg = parse(out);
    GMimeObject *top = g_mime_message_get_mime_part(msg), *cover, *orig;
    GMimeContentType *ct;
    char *text, *raw, *want;

    /* The copy itself: LF line ends throughout (for sendmail(1)). */
    assert_null(memchr(o, '\r', out->len));
    /* Headers. */
    assert_string_equal(header(GMIME_OBJECT(msg), "Auto-Submitted"), "auto-generated");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Id"), f->ci.id);
    if (f->ci.loop_key != NULL)
        check_loop_token(f, out, msg);
    else
        assert_null(header(GMIME_OBJECT(msg), "X-Diarie-Genererad"));
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Klass"), "registreras");
    assert_non_null(g_mime_message_get_message_id(msg));
    {
        InternetAddressList *to = g_mime_message_get_to(msg);
        assert_int_equal(internet_address_list_length(to), 1);
        assert_string_equal(internet_address_mailbox_get_addr(
                                INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))),
                            "registrator.sn@sjovik.test");
    }
    /* multipart/mixed: the cover note, the original, diarie.json. */
    assert_true(GMIME_IS_MULTIPART(top));
    ct = g_mime_object_get_content_type(top);
    assert_true(g_mime_content_type_is_type(ct, "multipart", "mixed"));
    assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(top)), 3);
    {
        GMimeObject *json = g_mime_multipart_get_part(GMIME_MULTIPART(top), 2);
        assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(json),
                                                "application", "json"));
        assert_string_equal(g_mime_part_get_filename(GMIME_PART(json)), "diarie.json");
    }
    /* Replies go to the original's sender (copy_reply_to = sender). */
    {
        InternetAddressList *rt = g_mime_message_get_reply_to(msg);
        assert_int_equal(internet_address_list_length(rt), 1);
        assert_string_equal(internet_address_mailbox_get_addr(
                                INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(rt, 0))),
                            "anna.berg@invanare.example");
    }

    cover = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
    ct = g_mime_object_get_content_type(cover);
    assert_true(g_mime_content_type_is_type(ct, "text", "plain"));
    assert_non_null(g_mime_content_type_get_parameter(ct, "charset"));
    assert_int_equal(g_ascii_strcasecmp(g_mime_content_type_get_parameter(ct, "charset"), "utf-8"),
                     0);
    text = decoded(cover);
    assert_true(g_utf8_validate(text, -1, NULL));
    assert_contains(text, (t == tpl_en) ? "Copy for registration" : "för");
    assert_contains(text, f->ci.env_from);
    for (size_t i = 0; i < f->ci.n_rcpts; i++)
        assert_contains(text, f->ci.rcpts[i]);
    assert_contains(text, SUBJECT);
    assert_contains(text, f->msg->message_id);
    assert_contains(text, "registreras");
    assert_contains(text, REASON_TEXT);
    assert_contains(text, "R6.5");
    assert_contains(text, "R9");
    assert_contains(text, SHA);
    assert_contains(text, f->ci.id);
    assert_contains(text, "SN 2026/210");
    /* When it arrived, by the gateway's clock in Europe/Stockholm. */
    assert_contains(text, "2026-11-21 09:00:00 CET");
    g_free(text);

    orig = g_mime_multipart_get_part(GMIME_MULTIPART(top), 1);
    /* Named after the subject. */
    assert_string_equal(g_mime_object_get_content_disposition_parameter(orig, "filename"),
                        SUBJECT ".eml");
    ct = g_mime_object_get_content_type(orig);
    assert_true(g_mime_content_type_is_type(ct, "message", "rfc822"));
    assert_string_equal(header(orig, "Content-Transfer-Encoding"), expect_8bit ? "8bit" : "7bit");
    /* Byte for byte, only CRLF -> LF. */
    raw = raw_part_content(o, "Content-Type: message/rfc822",
                           g_mime_multipart_get_boundary(GMIME_MULTIPART(top)));
    want = unix_lines(original);
    if (strcmp(raw, want) != 0) {
        print_error("original part differs:\n---\n%s---\nwant:\n---\n%s---\n", raw, want);
        fail();
    }
    /* And it parses back as the original message. */
    assert_true(GMIME_IS_MESSAGE_PART(orig));
    {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(orig));
        assert_non_null(inner);
        assert_string_equal(g_mime_message_get_message_id(inner),
                            strstr(original, "orig-7bit") ? "orig-7bit@invanare.example"
                                                         : "orig-4711@invanare.example");
    }
    g_free(raw);
    g_free(want);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
}

static void test_copy_8bit(void **state)
{
    fixture f;

    (void)state;
    fixture_init(&f, false);
    check_copy_structure(&f, original_8bit, tpl_sv, true);
    fixture_clear(&f);
}

static void test_copy_7bit(void **state)
{
    fixture f;

    (void)state;
    fixture_init(&f, false);
    check_copy_structure(&f, original_7bit, tpl_sv, false);
    fixture_clear(&f);
}

static void test_copy_no_loop_header(void **state)
{
    fixture f;

    (void)state;
    fixture_init(&f, false);
    f.ci.loop_key = NULL;
    f.ci.queue_id = NULL;
    check_copy_structure(&f, original_8bit, tpl_sv, true);
    fixture_clear(&f);
}

static void test_copy_subject(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    const char *subj;

    (void)state;
    fixture_init(&f, false);
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_sv);
    msg = parse(out);
    subj = g_mime_message_get_subject(msg);
    assert_non_null(subj);
    assert_contains(subj, SUBJECT);
    assert_contains(subj, "Kopia för diarieföring");
    /* Encoded: the header itself is ASCII. */
    assert_null(strstr((const char *)out->data, "Subject: Kopia för"));
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

static void test_copy_sekretess(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    const char *subj;
    char *text;

    (void)state;
    fixture_init(&f, true);
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_sv);
    msg = parse(out);
    subj = g_mime_message_get_subject(msg);
    assert_non_null(subj);
    assert_not_contains(subj, "Hemligrubrik");
    assert_not_contains(subj, "bistånd");
    assert_contains(subj, "sekretess");
    /* No header at all of the copy carries the subject. */
    {
        GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
        for (int i = 0; i < g_mime_header_list_get_count(hl); i++) {
            GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
            assert_not_contains(g_mime_header_get_value(h), "Hemligrubrik");
        }
    }
    /* The cover note, for the registrator, does say what it is. */
    text = decoded(g_mime_multipart_get_part(
        GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 0));
    assert_contains(text, "Sekretess:");
    assert_contains(text, "SN 2026/210");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    /* In English too. */
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_en);
    msg = parse(out);
    subj = g_mime_message_get_subject(msg);
    assert_not_contains(subj, "Hemligrubrik");
    assert_contains(subj, "confidential");
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

static void test_copy_english(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    char *text;

    (void)state;
    fixture_init(&f, false);
    {
        static const struct {
            const char *file, *type;
            size_t size;
            dm_att_status status;
            unsigned pages;
            bool cut;
        } atts[] = {
            {"brev.pdf", "application/pdf", 2048, DM_ATT_READ, 3, true},
            {NULL, "image/png", 10, DM_ATT_NO_TEXT, 0, false},
            {"kalkyl.xlsx", "application/vnd.ms-excel", 1024, DM_ATT_UNSUPPORTED, 0, false},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(atts); i++) {
            dm_attachment *a = g_new0(dm_attachment, 1);

            a->filename = g_strdup(atts[i].file);
            a->content_type = g_strdup(atts[i].type);
            a->size = atts[i].size;
            a->status = atts[i].status;
            a->pages = atts[i].pages;
            a->cut = atts[i].cut;
            g_ptr_array_add(f.msg->attachments, a);
        }
    }
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_en);
    msg = parse(out);
    assert_contains(g_mime_message_get_subject(msg), "Copy for registration");
    assert_true(top_header_is(out, "Content-Language", "en"));
    text = decoded(g_mime_multipart_get_part(
        GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 0));
    assert_contains(text, "Envelope sender: anna.berg@invanare.example");
    assert_contains(text, "hemlig.bcc@sjovik.test");
    assert_not_contains(text, "Avsändare");
    /* The attachments' lines in the catalogue's [words] of the language. */
    assert_contains(text, "brev.pdf (application/pdf, 2 kB): text read, 3 pages, only the "
                          "beginning");
    assert_contains(text, "(no name) (image/png, 10 byte): no text (scanned?)");
    assert_contains(text, "kalkyl.xlsx (application/vnd.ms-excel, 1 kB): not read (not a "
                          "format read)");
    assert_not_contains(text, "lästes");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_sv);
    msg = parse(out);
    assert_true(top_header_is(out, "Content-Language", "sv"));
    text = decoded(g_mime_multipart_get_part(
        GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 0));
    assert_contains(text, "brev.pdf (application/pdf, 2 kB): texten lästes, 3 sidor, bara "
                          "början");
    assert_contains(text, "(utan namn) (image/png, 10 byte): ingen text (inskannad?)");
    assert_contains(text, "kalkyl.xlsx (application/vnd.ms-excel, 1 kB): lästes inte (inte "
                          "ett format som läses)");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

/* An original with raw 8-bit bytes in its headers travels as
 * message/global in base64 and decodes to exactly the bytes received. */
static void test_copy_header_8bit(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    GMimeObject *orig;
    char *bytes;

    (void)state;
    fixture_init(&f, false);
    f.msg->header_8bit = true;
    out = write_copy(&f, original_header8, strlen(original_header8), tpl_sv);
    /* The copy itself is 7-bit clean: no SMTPUTF8 needed. */
    for (guint i = 0; i < out->len; i++)
        assert_true(out->data[i] < 0x80);
    msg = parse(out);
    orig = g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 1);
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(orig), "message",
                                            "global"));
    assert_string_equal(header(orig, "Content-Transfer-Encoding"), "base64");
    bytes = decoded(orig);
    assert_string_equal(bytes, original_header8);
    g_free(bytes);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}


/* Originals that cannot travel as message/rfc822 (a NUL, a bare CR, a
 * line over 998 bytes, 8-bit headers the extraction did not see) go as
 * message/global in base64: exactly the bytes received. */
static void check_copy_global(const char *original, size_t len)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    GMimeObject *orig;
    GMimeDataWrapper *w;
    GByteArray *bytes = g_byte_array_new();
    GMimeStream *mem = g_mime_stream_mem_new_with_byte_array(bytes);

    fixture_init(&f, false);
    out = write_copy(&f, original, len, tpl_sv);
    for (guint i = 0; i < out->len; i++)
        assert_true(out->data[i] < 0x80 && out->data[i] != '\0' && out->data[i] != '\r');
    msg = parse(out);
    orig = g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 1);
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(orig), "message",
                                            "global"));
    assert_string_equal(header(orig, "Content-Transfer-Encoding"), "base64");
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    w = g_mime_part_get_content(GMIME_PART(orig));
    g_mime_data_wrapper_write_to_stream(w, mem);
    assert_int_equal(bytes->len, len);
    assert_memory_equal(bytes->data, original, len);
    g_object_unref(mem);
    g_byte_array_free(bytes, TRUE);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

static void test_copy_unsafe_originals(void **state)
{
    static const char nul[] = "From: a@invanare.example\r\nSubject: nul\r\n\r\nett\0tv\xc3\xa5\r\n";
    static const char bare_cr[] = "From: a@invanare.example\r\nSubject: cr\r\n\r\nrad\rsamma rad\r\n";
    static const char cr_end[] = "From: a@invanare.example\r\nSubject: cr\r\n\r\nslut\r";
    static const char hdr8[] = "From: a@invanare.example\r\nSubject: r\xc3\xa5\r\n\r\ntext\r\n";
    GString *longline = g_string_new("From: a@invanare.example\r\nSubject: lang\r\n\r\n");

    (void)state;
    check_copy_global(nul, sizeof nul - 1);
    check_copy_global(bare_cr, sizeof bare_cr - 1);
    check_copy_global(cr_end, sizeof cr_end - 1);
    /* msg->header_8bit is false here: the copy sees the bytes itself. */
    check_copy_global(hdr8, sizeof hdr8 - 1);
    for (int i = 0; i < 999; i++)
        g_string_append_c(longline, 'x');
    g_string_append(longline, "\r\n");
    check_copy_global(longline->str, longline->len);
    g_string_free(longline, TRUE);

    /* 998 bytes and CRLF: still message/rfc822. */
    {
        fixture f;
        GString *ok = g_string_new("From: a@invanare.example\r\nSubject: lang\r\n\r\n");
        GByteArray *out;

        for (int i = 0; i < 998; i++)
            g_string_append_c(ok, 'x');
        g_string_append(ok, "\r\n");
        fixture_init(&f, false);
        out = write_copy(&f, ok->str, ok->len, tpl_sv);
        g_byte_array_append(out, (const guint8 *)"", 1);
        assert_contains((const char *)out->data, "Content-Type: message/rfc822");
        g_byte_array_free(out, TRUE);
        g_string_free(ok, TRUE);
        fixture_clear(&f);
    }
}

/* The cover note: every envelope recipient, with its directory name, the
 * mass lists (not expanded), and those the headers do not name. */
static void test_copy_recipients(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    char *text;
    dm_party parties[3] = {{0}};
    char *rcpts[4] = {"socialtjansten@sjovik.test", "Politiker@sjovik.test",
                      "hemlig.bcc@sjovik.test", NULL};
    dm_entry *fb = dm_entry_new(), *list = dm_entry_new();
    dm_header *to = g_new0(dm_header, 1);

    (void)state;
    fb->name = g_strdup("Socialtjänsten");
    fb->roles = DM_ROLE_FUNKTIONSBREVLADA;
    list->name = g_strdup("Alla politiker");
    list->roles = DM_ROLE_LISTA;
    parties[0].addr = rcpts[0];
    parties[0].entry = fb;
    parties[1].addr = rcpts[1];
    parties[1].entry = list;
    parties[2].addr = rcpts[2];
    fixture_init(&f, false);
    to->name = g_strdup("To");
    /* A group holds the list's address. */
    to->value = g_strdup("Socialtjänsten <socialtjansten@sjovik.test>, "
                         "Alla: politiker@sjovik.test;");
    g_ptr_array_add(f.msg->headers, to);
    f.ci.rcpts = rcpts;
    f.ci.n_rcpts = 3;
    f.ci.parties = parties;

    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_sv);
    msg = parse(out);
    text = decoded(g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 0));
    assert_contains(text, "socialtjansten@sjovik.test (Socialtjänsten)\n");
    assert_contains(text, "Politiker@sjovik.test (Alla politiker; e-postlista: medlemmarna fick "
                          "meddelandet genom den)\n");
    assert_contains(text, "hemlig.bcc@sjovik.test (inte i Till/Kopia: dold kopia)\n");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    /* A list outside reached them: its List-Id is named. */
    f.msg->list_id = g_strdup("Grannar <grannar.lista.example>");
    f.ci.parties = NULL;
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_en);
    msg = parse(out);
    text = decoded(g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 0));
    assert_contains(text, "hemlig.bcc@sjovik.test (not in To/Cc, through the list Grannar "
                          "<grannar.lista.example>)");
    assert_contains(text, "socialtjansten@sjovik.test\n");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    fixture_clear(&f);
    dm_entry_unref(fb);
    dm_entry_unref(list);
}

/* ---- notices --------------------------------------------------------------- */

static char *notice_text(GMimeMessage *msg)
{
    GMimeObject *part = g_mime_message_get_mime_part(msg);

    assert_true(GMIME_IS_PART(part));
    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(part), "text",
                                            "plain"));
    return decoded(part);
}

static void check_notice(dm_notice_kind kind, bool sekretess, const dm_templates *t)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    char *text, *all;
    const char *subj;

    fixture_init(&f, sekretess);
    out = write_notice(&f, kind, t);
    msg = parse(out);
    check_loop_token(&f, out, msg);
    text = notice_text(msg);
    subj = g_mime_message_get_subject(msg);
    assert_non_null(subj);
    assert_true(g_utf8_validate(text, -1, NULL));
    /* Everything a reader sees: the decoded subject and body, and the
     * raw bytes (headers included). */
    g_byte_array_append(out, (const guint8 *)"", 1);
    all = g_strconcat(subj, "\n", text, "\n", (const char *)out->data, NULL);

    assert_string_equal(header(GMIME_OBJECT(msg), "Auto-Submitted"), "auto-generated");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Id"), f.ci.id);
    {
        InternetAddressList *to = g_mime_message_get_to(msg);
        assert_string_equal(internet_address_mailbox_get_addr(
                                INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(to, 0))),
                            "chef@sjovik.test");
    }
    /* Never the body. */
    assert_not_contains(all, BODY_WORD);
    assert_not_contains(all, "19800101-1234");
    assert_not_contains(all, "ekonomiskt bistånd.");
    /* Rules by id, always. */
    assert_contains(text, "R6.5");
    assert_contains(text, "R9");
    assert_contains(text, f.ci.id);
    if (kind != DM_NOTICE_UNWATCHED)
        assert_contains(text, "SN 2026/210");
    else
        assert_contains(text, "Sara Person");
    if (sekretess) {
        assert_not_contains(all, "Hemligrubrik");
        assert_not_contains(all, "Ansökan om bistånd");
        assert_not_contains(all, REASON_TEXT);
        assert_not_contains(all, "marked sekretess");
        assert_not_contains(all, "Anna Berg");
    } else if (kind != DM_NOTICE_UNWATCHED) {
        assert_contains(text, SUBJECT);
    }
    g_free(all);
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

static void test_notices(void **state)
{
    static const dm_notice_kind kinds[] = {DM_NOTICE_REGISTER_INBOUND, DM_NOTICE_COPIED,
                                           DM_NOTICE_REGISTER_OUTBOUND, DM_NOTICE_UNWATCHED};

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
        check_notice(kinds[i], false, tpl_sv);
        check_notice(kinds[i], true, tpl_sv);
        check_notice(kinds[i], false, tpl_en);
        check_notice(kinds[i], true, tpl_en);
    }
}

static void test_notice_language_and_vars(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    char *text;

    (void)state;
    fixture_init(&f, false);
    out = write_notice(&f, DM_NOTICE_COPIED, tpl_sv);
    msg = parse(out);
    text = notice_text(msg);
    assert_contains(text, "Hej Sara Person,");
    assert_contains(text, "registrator.sn@sjovik.test");
    assert_not_contains(text, "{{");
    assert_true(top_header_is(out, "Content-Language", "sv"));
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    out = write_notice(&f, DM_NOTICE_REGISTER_INBOUND, tpl_en);
    msg = parse(out);
    text = notice_text(msg);
    assert_contains(text, "Hello Sara Person,");
    assert_contains(g_mime_message_get_subject(msg), "Registration");
    assert_true(top_header_is(out, "Content-Language", "en"));
    assert_not_contains(text, "{{");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    /* A notice kind of none: an error, nothing written. */
    {
        dm_action a = {.type = DM_ACT_NOTICE, .to = "x@sjovik.test", .notice = DM_NOTICE_NONE};
        GByteArray *ba = g_byte_array_new();
        GMimeStream *os = g_mime_stream_mem_new_with_byte_array(ba);
        GError *err = NULL;

        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
        assert_false(dm_mime_write_notice(os, &f.ci, &a, tpl_sv, &err));
        assert_non_null(err);
        assert_int_equal(ba->len, 0);
        g_clear_error(&err);
        g_object_unref(os);
        g_byte_array_free(ba, TRUE);
    }
    fixture_clear(&f);
}

/* Different recipients and kinds give different Message-IDs; the same
 * give the same (a retried composition is the same message). */
static void test_generated_ids(void **state)
{
    fixture f;
    GByteArray *a, *b, *c;
    GMimeMessage *ma, *mb, *mc;

    (void)state;
    fixture_init(&f, false);
    a = write_notice(&f, DM_NOTICE_COPIED, tpl_sv);
    b = write_notice(&f, DM_NOTICE_COPIED, tpl_sv);
    c = write_copy(&f, original_7bit, strlen(original_7bit), tpl_sv);
    ma = parse(a);
    mb = parse(b);
    mc = parse(c);
    assert_string_equal(g_mime_message_get_message_id(ma), g_mime_message_get_message_id(mb));
    assert_string_not_equal(g_mime_message_get_message_id(ma), g_mime_message_get_message_id(mc));
    assert_non_null(strstr(g_mime_message_get_message_id(ma), f.ci.id));
    g_object_unref(ma);
    g_object_unref(mb);
    g_object_unref(mc);
    g_byte_array_free(a, TRUE);
    g_byte_array_free(b, TRUE);
    g_byte_array_free(c, TRUE);
    fixture_clear(&f);
}


/* ---- issue 16: what the registrator reads ---------------------------------- */

static char *cover_text(const GByteArray *out)
{
    GMimeMessage *msg = parse(out);
    char *text = decoded(g_mime_multipart_get_part(
        GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 0));

    g_object_unref(msg);
    return text;
}

/* The arrival time in [site] timezone, whatever the process's TZ. */
static void test_copy_arrival(void **state)
{
    fixture f;
    GByteArray *out;
    char *text;

    (void)state;
    fixture_init(&f, false);
    set_conf(&f.conf->timezone, "America/New_York");
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_sv);
    text = cover_text(out);
    assert_contains(text, "Inkom:        2026-11-21 03:00:00 EST");
    /* The sender's own Date is said to be the sender's. */
    assert_contains(text, "Skickat:      Mon, 16 Nov 2026 10:00:00 +0100 (enligt avsändaren)");
    g_free(text);
    /* The copy's own Date: in the same zone. */
    assert_contains((const char *)out->data, "Date: Sat, 21 Nov 2026 03:00:00 -0500");
    g_byte_array_free(out, TRUE);

    set_conf(&f.conf->timezone, "Europe/Stockholm");
    f.ci.now = 1782900000; /* 2026-07-01T10:00:00Z: summer time */
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_en);
    text = cover_text(out);
    assert_contains(text, "Arrived:         2026-07-01 12:00:00 CEST");
    g_free(text);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

static const char *reply_to_of(GMimeMessage *msg)
{
    InternetAddressList *rt = g_mime_message_get_reply_to(msg);

    if (internet_address_list_length(rt) == 0)
        return NULL;
    return internet_address_mailbox_get_addr(
        INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(rt, 0)));
}

/* Reply-To: the original's sender (its own Reply-To first), none, or an
 * address; the cover says which.  From stays the gateway's. */
static void test_copy_reply_to(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    char *text;
    dm_header *rt = g_new0(dm_header, 1);

    (void)state;
    fixture_init(&f, false);
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_sv);
    msg = parse(out);
    assert_string_equal(reply_to_of(msg), "anna.berg@invanare.example");
    {
        char *from = internet_address_list_to_string(g_mime_message_get_from(msg), NULL, FALSE);
        assert_contains(from, "postmaster@sjovik.test");
        g_free(from);
    }
    text = cover_text(out);
    assert_contains(text, "går svaret till avsändaren, anna.berg@invanare.example.");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    /* The original's own Reply-To is where its author wants replies. */
    rt->name = g_strdup("Reply-To");
    rt->value = g_strdup("Anna privat <anna@hemma.example>");
    g_ptr_array_add(f.msg->headers, rt);
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_en);
    msg = parse(out);
    assert_string_equal(reply_to_of(msg), "anna@hemma.example");
    text = cover_text(out);
    assert_contains(text, "A reply to this message goes to the sender, anna@hemma.example.");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    set_conf(&f.conf->copy_reply_to, "none");
    set_conf(&f.conf->sender, "diarie@sjovik.test");
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_sv);
    msg = parse(out);
    assert_null(reply_to_of(msg));
    text = cover_text(out);
    assert_contains(text, "går svaret till diarie@sjovik.test, inte till avsändaren.");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    set_conf(&f.conf->copy_reply_to, "registrator@sjovik.test");
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_sv);
    msg = parse(out);
    assert_string_equal(reply_to_of(msg), "registrator@sjovik.test");
    text = cover_text(out);
    assert_contains(text, "går svaret till registrator@sjovik.test.");
    assert_not_contains(text, "avsändaren,");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

static void expect_filename(fixture *f, const char *subject, const char *want)
{
    char *name;

    g_free(f->msg->subject);
    f->msg->subject = g_strdup(subject);
    name = dm_copy_filename(&f->ci);
    if (strcmp(name, want) != 0) {
        print_error("subject \"%s\": file name \"%s\", want \"%s\"\n", subject, name, want);
        fail();
    }
    g_free(name);
}

/* The original is named after its subject, in safe characters, bounded;
 * by its id under sekretess and when nothing usable is left. */
static void test_copy_filename(void **state)
{
    fixture f;
    GByteArray *out;
    GString *longer = g_string_new(NULL);
    char *want, *cut;

    (void)state;
    fixture_init(&f, false);
    expect_filename(&f, "Ansökan om bygglov, Sjövik 3:12", "Ansökan om bygglov, Sjövik 3 12.eml");
    expect_filename(&f, "../../etc/passwd", "etc passwd.eml");
    expect_filename(&f, "a/b\\c:d*e?f\"g<h>i|j", "a b c d e f g h i j.eml");
    expect_filename(&f, "Faktura \xe2\x80\xae" "fdp.exe", "Faktura fdp.exe.eml");
    expect_filename(&f, "rad1\r\nrad2\ttab", "rad1 rad2 tab.eml");
    expect_filename(&f, "  ...dold.  ", "dold.eml");
    expect_filename(&f, "CON", "CON_.eml");
    expect_filename(&f, "lpt1", "lpt1_.eml");
    expect_filename(&f, "", "0a1b2c3d4e5f6g7h8i9j.eml");
    expect_filename(&f, "///", "0a1b2c3d4e5f6g7h8i9j.eml");
    /* Decomposed å (a + ring) is composed first. */
    expect_filename(&f, "Sa\xcc\x8a", "S\xc3\xa5.eml");
    for (int i = 0; i < 20; i++)
        g_string_append(longer, "Överklagan ");
    cut = g_utf8_substring(longer->str, 0, 60);
    want = g_strconcat(cut, ".eml", NULL);
    expect_filename(&f, longer->str, want);
    assert_int_equal(g_utf8_strlen(want, -1), 60 + 4);
    g_free(want);
    g_free(cut);
    g_string_free(longer, TRUE);

    /* In the copy: RFC 2231 for what is not ASCII. */
    g_free(f.msg->subject);
    f.msg->subject = g_strdup("Ansökan om bistånd");
    out = write_copy(&f, original_7bit, strlen(original_7bit), tpl_sv);
    assert_contains((const char *)out->data, "filename*=UTF-8''Ans%C3%B6kan%20om%20bist%C3%A5nd.eml");
    g_byte_array_free(out, TRUE);

    /* Sekretess: by id, in the part's headers and in diarie.json. */
    f.v->sekretess = true;
    expect_filename(&f, SUBJECT, "0a1b2c3d4e5f6g7h8i9j.eml");
    fixture_clear(&f);
}

/* A sekretess copy: Sensitivity, the sign said, never the facts. */
static void test_copy_sekretess_sign(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    GMimeObject *orig;
    char *text;

    (void)state;
    fixture_init(&f, true);
    add_catalogue_reasons(&f, true);
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_sv);
    msg = parse(out);
    assert_string_equal(header(GMIME_OBJECT(msg), "Sensitivity"), "Company-Confidential");
    text = cover_text(out);
    assert_contains(text, "Sekretess:    Ja. Meddelandet innehåller ett personnummer tillsammans "
                          "med känsliga uppgifter");
    assert_contains(text, "\n                  Meddelandet gäller ärende SN 2026/210, som är "
                          "sekretessmarkerat i diariet.");
    assert_not_contains(text, "missbruksvård");
    g_free(text);
    orig = g_mime_multipart_get_part(GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 1);
    assert_string_equal(g_mime_object_get_content_disposition_parameter(orig, "filename"),
                        "0a1b2c3d4e5f6g7h8i9j.eml");
    assert_not_contains(header(orig, "Content-Disposition"), "Hemlig");
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    /* No sign among the reasons (the flag alone): the general line. */
    fixture_clear(&f);
    fixture_init(&f, true);
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_en);
    text = cover_text(out);
    assert_contains(text, "Confidential:    Yes: the message may contain data covered by sekretess.");
    g_free(text);
    g_byte_array_free(out, TRUE);

    /* Without sekretess: no Sensitivity, no line. */
    fixture_clear(&f);
    fixture_init(&f, false);
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_sv);
    msg = parse(out);
    assert_null(header(GMIME_OBJECT(msg), "Sensitivity"));
    text = cover_text(out);
    assert_not_contains(text, "Sekretess:");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

static JsonObject *copy_json(const GByteArray *out, JsonParser *p)
{
    GMimeMessage *msg = parse(out);
    GMimeObject *part = g_mime_multipart_get_part(
        GMIME_MULTIPART(g_mime_message_get_mime_part(msg)), 2);
    char *json = decoded(part);
    GError *err = NULL;

    assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(part), "application",
                                            "json"));
    if (!json_parser_load_from_data(p, json, -1, &err)) {
        print_error("diarie.json: %s\n%s\n", err->message, json);
        fail();
    }
    g_free(json);
    g_object_unref(msg);
    return json_node_get_object(json_parser_get_root(p));
}

/* diarie.json: the same facts for a machine. */
static void test_copy_json(void **state)
{
    fixture f;
    GByteArray *out;
    JsonParser *p = json_parser_new();
    JsonObject *o, *env, *r;
    JsonArray *a;

    (void)state;
    fixture_init(&f, false);
    set_conf(&f.conf->gateway_id, "mx1.sjovik.test");
    add_catalogue_reasons(&f, false);
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_sv);
    o = copy_json(out, p);
    assert_int_equal(json_object_get_int_member(o, "version"), 1);
    assert_string_equal(json_object_get_string_member(o, "gateway"), "mx1.sjovik.test");
    assert_string_equal(json_object_get_string_member(o, "id"), f.ci.id);
    assert_string_equal(json_object_get_string_member(o, "queue_id"), "4F2A11C0D");
    assert_string_equal(json_object_get_string_member(o, "arrived"), "2026-11-21T09:00:00+01:00");
    assert_string_equal(json_object_get_string_member(o, "subject"), SUBJECT);
    assert_string_equal(json_object_get_string_member(o, "message_id"),
                        "orig-4711@invanare.example");
    assert_string_equal(json_object_get_string_member(o, "class"), "registreras");
    assert_false(json_object_get_boolean_member(o, "sekretess"));
    assert_int_equal(json_array_get_length(json_object_get_array_member(o, "sekretess_signs")), 0);
    assert_string_equal(json_object_get_string_member(o, "case"), "SN 2026/210");
    assert_string_equal(json_object_get_string_member(o, "myndighet"), "SN");
    assert_string_equal(json_object_get_string_member(o, "sha256"), SHA);
    assert_string_equal(json_object_get_string_member(o, "registrator"),
                        "registrator.sn@sjovik.test");
    assert_string_equal(json_object_get_string_member(json_object_get_object_member(o, "original"),
                                                      "filename"),
                        SUBJECT ".eml");
    env = json_object_get_object_member(o, "envelope");
    assert_string_equal(json_object_get_string_member(env, "sender"),
                        "anna.berg@invanare.example");
    a = json_object_get_array_member(env, "recipients");
    assert_int_equal(json_array_get_length(a), 2);
    r = json_array_get_object_element(a, 1);
    assert_string_equal(json_object_get_string_member(r, "address"), "hemlig.bcc@sjovik.test");
    assert_false(json_object_get_boolean_member(r, "in_headers"));
    assert_true(json_object_get_null_member(r, "name"));
    a = json_object_get_array_member(o, "reasons");
    assert_int_equal(json_array_get_length(a), 4);
    r = json_array_get_object_element(a, 0);
    assert_string_equal(json_object_get_string_member(r, "rule"), "R6.5");
    assert_true(json_object_get_null_member(r, "key"));
    r = json_array_get_object_element(a, 2);
    assert_string_equal(json_object_get_string_member(r, "key"), "case_cited");
    assert_string_equal(json_object_get_string_member(r, "text"),
                        "hänvisar till ärende SN 2026/210 i diariet");
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);

    /* Sekretess: the signs by name, the personnummer's words left out. */
    fixture_init(&f, true);
    add_catalogue_reasons(&f, true);
    out = write_copy(&f, original_8bit, strlen(original_8bit), tpl_sv);
    o = copy_json(out, p);
    assert_true(json_object_get_boolean_member(o, "sekretess"));
    a = json_object_get_array_member(o, "sekretess_signs");
    assert_int_equal(json_array_get_length(a), 2);
    assert_string_equal(json_array_get_string_element(a, 0), "personnummer");
    assert_string_equal(json_array_get_string_element(a, 1), "case");
    assert_string_equal(json_object_get_string_member(json_object_get_object_member(o, "original"),
                                                      "filename"),
                        "0a1b2c3d4e5f6g7h8i9j.eml");
    {
        JsonGenerator *g = json_generator_new();
        char *all;

        json_generator_set_root(g, json_parser_get_root(p));
        all = json_generator_to_data(g, NULL);
        assert_not_contains(all, "missbruksvård");
        g_free(all);
        g_object_unref(g);
    }
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
    g_object_unref(p);
}

/* The original's header block and body of a redirected copy. */
static const char original_forged[] =
    "From: Anna Berg <anna.berg@invanare.example>\r\n"
    "To: socialtjansten@sjovik.test\r\n"
    "X-Diarie-Klass: privat\r\n"
    "Subject: =?utf-8?Q?Ans=C3=B6kan_om_bist=C3=A5nd_Hemligrubrik?=\r\n"
    "X-Diarie-Genererad: v2 1 00ff\r\n"
    "  folded forged line\r\n"
    "Message-ID:\r\n <orig-4711@invanare.example>\r\n"
    "Sensitivity: Personal\r\n"
    "x-diarie-id: forged\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Hej! Jag söker ekonomiskt bistånd.\r\n"
    "X-Diarie-Klass: a body line, not a header\r\n";

static GByteArray *write_redirect(fixture *f, const char *original)
{
    f->conf->copy_form = DM_COPY_REDIRECT;
    return write_copy(f, original, strlen(original), tpl_sv);
}

/* The body hash the milter computes: the body as the MTA hands it over,
 * with CRLF line ends. */
static void milter_body_hash(const GByteArray *out, char hash[65])
{
    const char *o = (const char *)out->data, *sep = g_strstr_len(o, (gssize)out->len, "\n\n");
    dm_bodyhash *h = dm_bodyhash_new();

    assert_non_null(sep);
    for (const char *p = sep + 2; p < o + out->len; p++)
        dm_bodyhash_update(h, *p == '\n' ? "\r\n" : p, *p == '\n' ? 2 : 1);
    dm_bodyhash_final(h, hash);
    dm_bodyhash_free(h);
}

/* redirect: the original itself, resent, with the facts in X-Diarie-*. */
static void test_copy_redirect(void **state)
{
    fixture f;
    GByteArray *out;
    GMimeMessage *msg;
    const char *o, *body;
    char hash[65], *head, *want_body;
    GMimeHeaderList *hl;
    int klass = 0;

    (void)state;
    fixture_init(&f, true);
    add_catalogue_reasons(&f, false);
    out = write_redirect(&f, original_forged);
    o = (const char *)out->data;
    assert_null(memchr(o, '\r', out->len));
    /* The Resent-* block first. */
    assert_true(g_str_has_prefix(o, "Resent-From: Diariemilter <postmaster@sjovik.test>\n"));
    msg = parse(out);
    assert_string_equal(header(GMIME_OBJECT(msg), "Resent-To"), "registrator.sn@sjovik.test");
    assert_contains(header(GMIME_OBJECT(msg), "Resent-Date"), "21 Nov 2026 09:00:00 +0100");
    assert_contains(header(GMIME_OBJECT(msg), "Resent-Message-ID"), f.ci.id);
    /* The original's own: From, Subject, Message-ID, Date untouched. */
    assert_string_equal(g_mime_message_get_message_id(msg), "orig-4711@invanare.example");
    assert_contains(g_mime_message_get_subject(msg), "Hemligrubrik");
    /* Ours, and only ours. */
    hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    for (int i = 0; i < g_mime_header_list_get_count(hl); i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        if (g_ascii_strcasecmp(g_mime_header_get_name(h), "X-Diarie-Klass") == 0)
            klass++;
        assert_not_contains(g_mime_header_get_value(h), "forged");
        assert_not_contains(g_mime_header_get_value(h), "Personal");
    }
    assert_int_equal(klass, 1);
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Klass"), "registreras");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Id"), f.ci.id);
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Arende"), "SN 2026/210");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Myndighet"), "SN");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Inkom"), "2026-11-21T09:00:00+01:00");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Avsandare"),
                        "anna.berg@invanare.example");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Mottagare"),
                        "socialtjansten@sjovik.test, hemlig.bcc@sjovik.test");
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-SHA256"), SHA);
    assert_string_equal(header(GMIME_OBJECT(msg), "X-Diarie-Sekretess"), "case");
    assert_string_equal(header(GMIME_OBJECT(msg), "Sensitivity"), "Company-Confidential");
    /* The original's header block otherwise as it was, folding included. */
    head = g_strndup(o, (gsize)(strstr(o, "\n\n") - o));
    assert_contains(head, "\nFrom: Anna Berg <anna.berg@invanare.example>\nTo: "
                          "socialtjansten@sjovik.test\nSubject: =?utf-8?Q?Ans=C3=B6kan_om_bist=C3="
                          "A5nd_Hemligrubrik?=\nMessage-ID:\n <orig-4711@invanare.example>\n"
                          "MIME-Version: 1.0\n");
    assert_not_contains(head, "folded forged line");
    g_free(head);
    /* The body byte for byte but for CRLF. */
    body = strstr(o, "\n\n") + 2;
    want_body = unix_lines(strstr(original_forged, "\r\n\r\n") + 4);
    assert_string_equal(body, want_body);
    g_free(want_body);
    /* The token verifies for the message as the milter sees it. */
    milter_body_hash(out, hash);
    assert_int_equal(dm_loop_check(LOOP_KEY, strlen(LOOP_KEY),
                                   header(GMIME_OBJECT(msg), "X-Diarie-Genererad"),
                                   "orig-4711@invanare.example", hash, f.ci.now),
                     DM_LOOP_VALID);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    /* An original without a Message-ID gets one, which the token binds. */
    out = write_redirect(&f, original_7bit + strlen("From: Anna Berg <anna.berg@invanare.example>\r\n"
                                                    "To: registrator@sjovik.test\r\n"
                                                    "Subject: Plain ascii\r\n"
                                                    "Message-ID: <orig-7bit@invanare.example>\r\n"));
    msg = parse(out);
    assert_non_null(g_mime_message_get_message_id(msg));
    assert_contains(g_mime_message_get_message_id(msg), f.ci.id);
    milter_body_hash(out, hash);
    assert_int_equal(dm_loop_check(LOOP_KEY, strlen(LOOP_KEY),
                                   header(GMIME_OBJECT(msg), "X-Diarie-Genererad"),
                                   g_mime_message_get_message_id(msg), hash, f.ci.now),
                     DM_LOOP_VALID);
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);

    /* A header block with a line that is no header: an MTA would start
     * the body there, so it goes wrapped. */
    {
        static const char garbage[] = "From: a@invanare.example\r\nSubject: x\r\n"
                                      "not a header line\r\nX-Diarie-Klass: privat\r\n\r\nbody\r\n";
        f.conf->copy_form = DM_COPY_REDIRECT;
        out = write_copy(&f, garbage, sizeof garbage - 1, tpl_sv);
        assert_contains((const char *)out->data, "Content-Type: message/rfc822");
        assert_not_contains((const char *)out->data, "Resent-From:");
        g_byte_array_free(out, TRUE);
    }
    /* What cannot travel as it is goes wrapped, exact. */
    {
        static const char nul[] = "From: a@invanare.example\r\nSubject: nul\r\n\r\nett\0tv\xc3\xa5\r\n";
        f.conf->copy_form = DM_COPY_REDIRECT;
        out = write_copy(&f, nul, sizeof nul - 1, tpl_sv);
        assert_contains((const char *)out->data, "Content-Type: message/global");
        assert_not_contains((const char *)out->data, "Resent-From:");
        g_byte_array_free(out, TRUE);
    }
    fixture_clear(&f);

    /* Without sekretess: no Sensitivity added, the original's kept. */
    fixture_init(&f, false);
    out = write_redirect(&f, original_forged);
    msg = parse(out);
    assert_null(header(GMIME_OBJECT(msg), "X-Diarie-Sekretess"));
    assert_string_equal(header(GMIME_OBJECT(msg), "Sensitivity"), "Personal");
    g_object_unref(msg);
    g_byte_array_free(out, TRUE);
    fixture_clear(&f);
}

/* Notices: the reasons in sentences, the rules in a trailer, and what to
 * do: forward the message to the registrator, whose address is given. */
static void test_notice_sentences(void **state)
{
    fixture f;
    GMimeMessage *msg;
    char *text;
    dm_action a = {
        .type = DM_ACT_NOTICE,
        .to = "bengt.ek@example.net",
        .party = "bengt.ek@sjovik.test",
        .party_name = "Bengt Ek",
        .myndighet = "BN",
        .registrar = "registrator@sjovik.test",
        .notice = DM_NOTICE_REGISTER_INBOUND,
    };
    GByteArray *ba;
    GMimeStream *os;

    (void)state;
    fixture_init(&f, false);
    add_catalogue_reasons(&f, false);
    for (int lang = 0; lang < 2; lang++) {
        ba = g_byte_array_new();
        os = g_mime_stream_mem_new_with_byte_array(ba);
        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
        assert_true(dm_mime_write_notice(os, &f.ci, &a, lang ? tpl_en : tpl_sv, NULL));
        g_object_unref(os);
        msg = parse(ba);
        text = notice_text(msg);
        if (lang == 0) {
            assert_contains(text, "Varför det ska diarieföras:\n"
                                  "- Meddelandet nämner ärende SN 2026/210, som finns i diariet.\n"
                                  "- Avsändaren begär ett beslut eller en åtgärd av kommunen "
                                  "(\"jag söker\").\n");
            assert_contains(text, "Gör så här: vidarebefordra meddelandet till registrator, "
                                  "registrator@sjovik.test,\nhelst som bilaga");
            assert_contains(text, "\n--\nDiarie-Id: 0a1b2c3d4e5f6g7h8i9j\n"
                                  "Regler (för registrator): R6.5, R9, R6.3, R6.1");
            /* The catalogue's texts for the registrator are not repeated. */
            assert_not_contains(text, "hänvisar till ärende");
        } else {
            assert_contains(text, "- The message mentions case SN 2026/210, which is in the "
                                  "diarium.\n");
            assert_contains(text, "What to do: forward the message to the registrator, "
                                  "registrator@sjovik.test,");
            assert_contains(text, "Rules (for the registrator): R6.5, R9, R6.3, R6.1");
        }
        g_free(text);
        g_object_unref(msg);
        g_byte_array_free(ba, TRUE);
    }

    /* No registrator known: the instruction without an address. */
    a.registrar = NULL;
    g_ptr_array_set_size(f.v->actions, 0);
    ba = g_byte_array_new();
    os = g_mime_stream_mem_new_with_byte_array(ba);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
    assert_true(dm_mime_write_notice(os, &f.ci, &a, tpl_sv, NULL));
    g_object_unref(os);
    msg = parse(ba);
    text = notice_text(msg);
    assert_contains(text, "Gör så här: vidarebefordra meddelandet till registrator, helst som\n"
                          "bilaga");
    assert_not_contains(text, "{{");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(ba, TRUE);
    fixture_clear(&f);

    /* Sekretess: the sign is said, the message's own words are not. */
    fixture_init(&f, true);
    add_catalogue_reasons(&f, true);
    a.registrar = "sn-registrator@sjovik.test";
    ba = g_byte_array_new();
    os = g_mime_stream_mem_new_with_byte_array(ba);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
    assert_true(dm_mime_write_notice(os, &f.ci, &a, tpl_sv, NULL));
    g_object_unref(os);
    msg = parse(ba);
    text = notice_text(msg);
    assert_contains(text, "- Meddelandet innehåller ett personnummer tillsammans med känsliga "
                          "uppgifter om en enskild och kan därför omfattas av sekretess.\n");
    assert_contains(text, "- Meddelandet gäller ärende SN 2026/210, som är sekretessmarkerat");
    assert_contains(text, "sn-registrator@sjovik.test");
    assert_not_contains(text, "jag söker");
    assert_not_contains(text, "missbruksvård");
    assert_not_contains(text, "Hemligrubrik");
    g_free(text);
    g_object_unref(msg);
    g_byte_array_free(ba, TRUE);
    fixture_clear(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_templates_load),
        cmocka_unit_test(test_copy_8bit),
        cmocka_unit_test(test_copy_7bit),
        cmocka_unit_test(test_copy_no_loop_header),
        cmocka_unit_test(test_copy_subject),
        cmocka_unit_test(test_copy_sekretess),
        cmocka_unit_test(test_copy_english),
        cmocka_unit_test(test_copy_header_8bit),
        cmocka_unit_test(test_copy_unsafe_originals),
        cmocka_unit_test(test_copy_recipients),
        cmocka_unit_test(test_notices),
        cmocka_unit_test(test_notice_language_and_vars),
        cmocka_unit_test(test_generated_ids),
        cmocka_unit_test(test_copy_arrival),
        cmocka_unit_test(test_copy_reply_to),
        cmocka_unit_test(test_copy_filename),
        cmocka_unit_test(test_copy_sekretess_sign),
        cmocka_unit_test(test_copy_json),
        cmocka_unit_test(test_copy_redirect),
        cmocka_unit_test(test_notice_sentences),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
