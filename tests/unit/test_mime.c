/*
 * mime/dm_mime_extract: the corpus never crashes extraction and always
 * gives valid UTF-8; decoding (RFC 2047, quoted-printable, base64,
 * charsets declared wrongly or not at all, NUL bytes, RFC 2231 and 2047
 * file names); multipart/alternative read once (HTML when the plain text
 * is empty); text attachments and other text types listed, enriched
 * read; forwarded messages with their headers, message/global;
 * signed, encrypted, uuencoded, TNEF; the markers of automatic, bulk,
 * list, report and spam mail, In-Reply-To and References; the limits,
 * the parse budget and chunked reading of large parts; malformed and
 * empty input.
 */
#include "dm_test.h"

#include <fcntl.h>

#include "dm_conf.h"
#include "dm_mime.h"
#include "dm_mime_int.h"
#include "dm_policy.h"

/* ---- local helpers -------------------------------------------------------- */

/* The daemon's limits: [mime] defaults, and the auto-reply subjects of
 * the sample rules (etc/rules.conf, by the policy that loads them). */
static dm_mime_limits default_limits;
static dm_policy *site;

static int group_setup(void **state)
{
    dm_conf *conf;
    GError *err = NULL;

    (void)state;
    dm_mime_init();
    conf = dm_conf_new_defaults();
    dm_mime_limits_from_conf(conf, &default_limits);
    g_free(conf->rules_file);
    conf->rules_file = dm_test_path("etc/rules.conf");
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");
    site = dm_policy_new(conf, &err);
    dm_conf_unref(conf);
    if (site == NULL) {
        print_error("policy: %s\n", err->message);
        g_error_free(err);
        return -1;
    }
    default_limits.autoreply_subjects = dm_policy_autoreply_subjects(site);
    default_limits.words = dm_policy_seg_words(site);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_policy_free(site);
    dm_mime_shutdown();
    return 0;
}

/* Every string the rules read is valid UTF-8. */
static void assert_msg_valid(const dm_msg *m)
{
    assert_non_null(m);
    assert_non_null(m->subject);
    assert_non_null(m->from_addr);
    assert_non_null(m->from_display);
    assert_non_null(m->message_id);
    assert_true(g_utf8_validate(m->subject, -1, NULL));
    assert_true(g_utf8_validate(m->from_addr, -1, NULL));
    assert_true(g_utf8_validate(m->from_display, -1, NULL));
    assert_true(g_utf8_validate(m->message_id, -1, NULL));
    /* The whole text, and no NUL inside it. */
    assert_true(g_utf8_validate(m->text->str, (gssize)m->text->len, NULL));
    assert_int_equal(strlen(m->text->str), m->text->len);
    for (guint i = 0; i < m->headers->len; i++) {
        const dm_header *h = g_ptr_array_index(m->headers, i);
        assert_true(g_utf8_validate(h->name, -1, NULL));
        assert_true(g_utf8_validate(h->value, -1, NULL));
    }
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        assert_non_null(a->content_type);
        if (a->filename != NULL)
            assert_true(g_utf8_validate(a->filename, -1, NULL));
    }
}

static dm_msg *extract_str_lim(const char *data, size_t len, const dm_mime_limits *lim)
{
    dm_msg *m = dm_mime_extract_buffer(data, len, lim);

    assert_msg_valid(m);
    return m;
}

static dm_msg *extract_str(const char *data)
{
    return extract_str_lim(data, strlen(data), &default_limits);
}

/* Extract a file through a file stream, as the daemon does for spilled
 * messages. */
static dm_msg *extract_file(const char *path, const dm_mime_limits *lim)
{
    GMimeStream *s;
    GError *err = NULL;
    dm_msg *m;

    s = g_mime_stream_fs_open(path, O_RDONLY, 0, &err);
    if (s == NULL) {
        print_error("%s: %s\n", path, err->message);
        g_error_free(err);
        fail();
    }
    m = dm_mime_extract(s, lim);
    g_object_unref(s);
    assert_msg_valid(m);
    return m;
}

static dm_msg *extract_corpus(const char *name)
{
    char *rel = g_strconcat("corpus/dev/", name, ".eml", NULL);
    char *path = dm_test_shared(rel);
    dm_msg *m = extract_file(path, &default_limits);

    g_free(rel);
    g_free(path);
    return m;
}

static dm_msg *extract_fixture(const char *name)
{
    char *rel = g_strconcat("tests/data/mime/", name, NULL);
    char *path = dm_test_path(rel);
    dm_msg *m = extract_file(path, &default_limits);

    g_free(rel);
    g_free(path);
    return m;
}

static bool has_limit(const dm_msg *m, const char *what)
{
    for (guint i = 0; i < m->limits->len; i++) {
        if (strcmp(g_ptr_array_index(m->limits, i), what) == 0)
            return true;
    }
    return false;
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

static unsigned count_of(const char *hay, const char *needle)
{
    unsigned n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* A message with these extra top-level headers, plain text body. */
static dm_msg *extract_with_headers(const char *headers, const char *subject)
{
    char *raw = g_strdup_printf("From: Anna Berg <anna.berg@invanare.example>\n"
                                "To: kommun@sjovik.test\n"
                                "Subject: %s\n"
                                "Message-ID: <hdr-test@invanare.example>\n"
                                "%s"
                                "MIME-Version: 1.0\n"
                                "Content-Type: text/plain; charset=utf-8\n"
                                "\n"
                                "Text.\n",
                                subject, headers);
    dm_msg *m = extract_str(raw);

    g_free(raw);
    return m;
}

/* ---- the corpus ------------------------------------------------------------ */

static void test_corpus_all(void **state)
{
    char *dir = dm_test_shared("corpus/dev");
    GDir *d;
    const char *n;
    int count = 0;

    (void)state;
    d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    while ((n = g_dir_read_name(d)) != NULL) {
        char *path;
        dm_msg *m;
        gsize len;
        char *data;

        if (!g_str_has_suffix(n, ".eml"))
            continue;
        path = g_build_filename(dir, n, NULL);
        /* Through a file stream and through a buffer: the same facts. */
        m = extract_file(path, &default_limits);
        data = dm_test_read(path, &len);
        {
            dm_msg *b = extract_str_lim(data, len, &default_limits);
            assert_string_equal(m->text->str, b->text->str);
            assert_string_equal(m->subject, b->subject);
            assert_int_equal(m->size, len);
            assert_int_equal(b->size, len);
            dm_msg_free(b);
        }
        /* Every corpus message has a Message-ID and a From. */
        assert_true(*m->message_id != '\0');
        assert_true(*m->from_addr != '\0');
        assert_false(m->message_id[0] == '<');
        dm_msg_free(m);
        g_free(data);
        g_free(path);
        count++;
    }
    g_dir_close(d);
    g_free(dir);
    assert_true(count >= 60);
}

/* The corpus and tests/data/mime again with tiny limits: every limit
 * path, never a crash, never a limit exceeded. */
static void tiny_limits_dir(char *dir, bool every_has_headers)
{
    dm_mime_limits lim = {.max_text = 37, .max_parts = 2, .max_depth = 1, .max_headers = 4,
                          .max_header_size = 10};
    GDir *d;
    const char *n;

    d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    while ((n = g_dir_read_name(d)) != NULL) {
        char *path;
        dm_msg *m;

        if (!g_str_has_suffix(n, ".eml"))
            continue;
        path = g_build_filename(dir, n, NULL);
        m = extract_file(path, &lim);
        assert_true(m->text->len <= lim.max_text);
        assert_true(m->headers->len <= (guint)lim.max_headers);
        for (guint i = 0; i < m->headers->len; i++) {
            const dm_header *h = g_ptr_array_index(m->headers, i);
            assert_true(strlen(h->value) <= lim.max_header_size);
        }
        if (every_has_headers)
            assert_true(has_limit(m, "max_headers"));
        dm_msg_free(m);
        g_free(path);
    }
    g_dir_close(d);
    g_free(dir);
}

static void test_corpus_tiny_limits(void **state)
{
    (void)state;
    tiny_limits_dir(dm_test_shared("corpus/dev"), true);
    /* fuzz-header-cut.eml: a long header of stray 8-bit bytes came out
     * 3 bytes a byte longer than max_header_size. */
    tiny_limits_dir(dm_test_path("tests/data/mime"), false);
}

static void test_c001_rfc2047_qp(void **state)
{
    dm_msg *m = extract_corpus("c001");

    (void)state;
    assert_string_equal(m->subject, "Öppettider återvinningscentralen?");
    assert_string_equal(m->from_addr, "lotta.h@example.com");
    assert_contains(m->from_display, "Lotta Håkansson");
    assert_string_equal(m->message_id, "93191cee-a4c8-a744@example.com");
    /* Quoted-printable decoded, soft line breaks joined. */
    assert_contains(m->text->str, "Vilka öppettider har återvinningscentralen i Sjövik under jul "
                                  "och nyår?");
    assert_contains(m->text->str, "gamla fönster där?");
    assert_not_contains(m->text->str, "=C3");
    assert_not_contains(m->text->str, "=\n");
    assert_false(m->auto_reply);
    assert_false(m->bulk);
    assert_false(m->list);
    assert_false(m->spam);
    assert_false(m->report);
    assert_false(m->malformed);
    assert_int_equal(m->limits->len, 0);
    assert_int_equal(m->attachments->len, 0);
    dm_msg_free(m);
}

static void test_c002_alternative_once(void **state)
{
    dm_msg *m = extract_corpus("c002");

    (void)state;
    assert_string_equal(m->subject,
                        "Komplettering till medborgarförslag om belysning i Strandparken");
    assert_int_equal(count_of(m->text->str, "KS-2026-112"), 1);
    assert_int_equal(count_of(m->text->str, "Strandvägen 8"), 1);
    assert_not_contains(m->text->str, "<div");
    assert_not_contains(m->text->str, "<html");
    assert_not_contains(m->text->str, "<br");
    assert_not_contains(m->text->str, "=C3");
    /* The HTML rendering is not an attachment either. */
    assert_int_equal(m->attachments->len, 0);
    dm_msg_free(m);
}

static void test_c011_auto_submitted(void **state)
{
    dm_msg *m = extract_corpus("c011");

    (void)state;
    assert_true(m->auto_reply);
    assert_non_null(m->auto_submitted);
    assert_string_equal(m->auto_submitted, "auto-replied");
    assert_contains(m->subject, "Automatiskt svar: Tekniskt samråd – Lärkvägen 2");
    /* Without <>, as message_id: comparable with a journal's ids. */
    assert_string_equal(m->in_reply_to, "733b328eefd4.d69ef1@sjovik.test");
    assert_string_equal(m->references, "733b328eefd4.d69ef1@sjovik.test");
    assert_false(m->bulk);
    assert_false(m->list);
    dm_msg_free(m);
}

static void test_c007_c014_list_bulk(void **state)
{
    dm_msg *m = extract_corpus("c007");

    (void)state;
    assert_true(m->list);
    assert_true(m->bulk);
    assert_non_null(m->list_id);
    assert_string_equal(m->list_id, "<nyheter.laromedel-nova.example>");
    assert_false(m->auto_reply);
    assert_false(m->spam);
    dm_msg_free(m);

    m = extract_corpus("c014");
    assert_true(m->list);
    assert_true(m->bulk);
    assert_non_null(m->list_id);
    assert_contains(m->list_id, "<arkiv-registratur.nyhetsbrev.skr.example>");
    assert_false(m->auto_reply);
    /* Plain rendering only: the <h2> heading is not in the text. */
    assert_not_contains(m->text->str, "<h2>");
    assert_int_equal(count_of(m->text->str, "Nya rekommendationer om gallring"), 1);
    dm_msg_free(m);
}

static void test_c055_report(void **state)
{
    dm_msg *m = extract_corpus("c055");

    (void)state;
    assert_true(m->report);
    assert_non_null(m->report_type);
    assert_string_equal(m->report_type, "delivery-status");
    assert_true(m->auto_reply); /* Auto-Submitted: auto-replied */
    assert_contains(m->text->str, "could not");
    /* The machine-readable part is not read as text. */
    assert_not_contains(m->text->str, "Reporting-MTA");
    dm_msg_free(m);
}

static void test_c046_forwarded(void **state)
{
    dm_msg *m = extract_corpus("c046");

    (void)state;
    /* c046 forwards a message as a message/rfc822 attachment: its subject
     * and text are part of the text, after the cover note. */
    assert_string_equal(m->subject, "VB: Tallbacken 2:8");
    assert_contains(m->text->str, "Se bifogat mejl");
    assert_contains(m->text->str, "Vad händer i ärendet BN 2026/77?");
    assert_contains(m->text->str, "Lennart Sjöstrand");
    assert_true(strstr(m->text->str, "Se bifogat mejl") <
                strstr(m->text->str, "BN 2026/77"));
    /* The inner message's headers are not the outer message's. */
    assert_string_equal(m->from_addr, "maja.lund@sjovik.test");
    assert_string_equal(m->message_id, "GV1P195MB0632B96942BE1C01FC5A@sjovik.test");
    assert_false(m->malformed);
    dm_msg_free(m);
}

static void test_c027_not_spam(void **state)
{
    dm_msg *m = extract_corpus("c027");

    (void)state;
    /* A phishing message, but no spam filter's header says so: the spam
     * marker is a filter's verdict, not a guess. */
    assert_false(m->spam);
    assert_null(m->spam_header);
    assert_false(m->auto_reply);
    assert_false(m->bulk);
    assert_int_equal(count_of(m->text->str, "exceeded its storage limit"), 1);
    assert_not_contains(m->text->str, "<p>");
    dm_msg_free(m);
}

/* ---- charsets -------------------------------------------------------------- */

static void test_undeclared_windows1252(void **state)
{
    dm_msg *m = extract_fixture("win1252-undeclared.eml");

    (void)state;
    assert_contains(m->text->str, "när bygglovet för Sjövik 3:12 är klart");
    assert_contains(m->text->str, "brått");
    /* 0x96 is an en dash in windows-1252 (a control in ISO-8859-1). */
    assert_contains(m->text->str, "Det är bråttom – tack.");
    assert_not_contains(m->text->str, "\xEF\xBF\xBD"); /* no U+FFFD */
    dm_msg_free(m);
}

static void test_declared_wrong_charset(void **state)
{
    dm_msg *m = extract_fixture("wrong-charset-utf8.eml");

    (void)state;
    /* Declared utf-8, bytes windows-1252. */
    assert_contains(m->text->str, "Träden på gården är fällda.");
    /* Raw 8-bit header bytes: windows-1252 fallback for headers too. */
    assert_string_equal(m->subject, "Felaktig teckenuppsättning");
    dm_msg_free(m);

    /* Declared us-ascii, bytes latin-1. */
    m = extract_fixture("wrong-charset-ascii.eml");
    assert_contains(m->text->str, "Vägen vid skördeplatsen är avstängd.");
    dm_msg_free(m);

    /* Declared iso-8859-1, bytes UTF-8. */
    m = extract_fixture("wrong-charset-latin1.eml");
    assert_contains(m->text->str, "Gäller ärendet BN 2026/77 – tack.");
    dm_msg_free(m);

    /* A charset iconv does not know: the bytes are UTF-8. */
    m = extract_fixture("wrong-charset-unknown.eml");
    assert_contains(m->text->str, "Snöröjningen på Åsvägen är dålig.");
    dm_msg_free(m);
}

/* Latin-1 declared and written, quoted-printable (c036) and 8bit (c042). */
static void test_corpus_latin1(void **state)
{
    dm_msg *m = extract_corpus("c036");

    (void)state;
    assert_contains(m->text->str, "När är sista skoldagen före jullovet");
    assert_not_contains(m->text->str, "\xEF\xBF\xBD");
    dm_msg_free(m);
    m = extract_corpus("c042");
    assert_string_equal(m->subject, "Ansökan om ekonomiskt bistånd");
    assert_contains(m->text->str, "Jag vill ansöka om ekonomiskt bistånd för december.");
    assert_contains(m->text->str, "räcker inte till");
    dm_msg_free(m);
}

static void test_utf8_without_charset(void **state)
{
    dm_msg *m = extract_fixture("utf8-nocharset.eml");

    (void)state;
    assert_contains(m->text->str, "Ärendet gäller förskoleplats i Övre Sjövik – tack på förhand.");
    dm_msg_free(m);
}

static void test_to_utf8(void **state)
{
    char *s;

    (void)state;
    s = dm_mime_to_utf8("\xe5\xe4\xf6", 3, "iso-8859-1");
    assert_string_equal(s, "åäö");
    g_free(s);
    s = dm_mime_to_utf8("\xe5\xe4\xf6", 3, NULL);
    assert_string_equal(s, "åäö");
    g_free(s);
    s = dm_mime_to_utf8("\xe5\xe4\xf6", 3, "UTF-8");
    assert_string_equal(s, "åäö");
    g_free(s);
    s = dm_mime_to_utf8("åäö", strlen("åäö"), "utf8");
    assert_string_equal(s, "åäö");
    g_free(s);
    s = dm_mime_to_utf8("\xa4", 1, "iso-8859-15"); /* euro sign in latin-9 */
    assert_string_equal(s, "€");
    g_free(s);
    /* ISO-8859-1 declared, windows-1252 written (Outlook's dashes, quotes
     * and euro signs). */
    s = dm_mime_to_utf8("\x96 \x93x\x94 \x80", 7, "iso-8859-1");
    assert_string_equal(s, "– “x” €");
    g_free(s);
    s = dm_mime_to_utf8("\x96", 1, "latin1");
    assert_string_equal(s, "–");
    g_free(s);
    /* A single-byte charset declared, UTF-8 written: UTF-8. */
    s = dm_mime_to_utf8("f\xc3\xb6r \xc3\xa4rendet", 13, "iso-8859-1");
    assert_string_equal(s, "för ärendet");
    g_free(s);
    s = dm_mime_to_utf8("f\xc3\xb6r", 4, "windows-1252");
    assert_string_equal(s, "för");
    g_free(s);
    /* ... but real Latin-1 stays Latin-1, and other charsets convert. */
    s = dm_mime_to_utf8("f\xf6r", 3, "iso-8859-1");
    assert_string_equal(s, "för");
    g_free(s);
    s = dm_mime_to_utf8("\xc1\xc2", 2, "koi8-r");
    assert_string_equal(s, "аб");
    g_free(s);
    s = dm_mime_to_utf8("", 0, "utf-8");
    assert_string_equal(s, "");
    g_free(s);
    /* Bytes windows-1252 leaves undefined (0x81): still valid UTF-8. */
    s = dm_mime_to_utf8("a\x81\x8d\x8f\x90\x9d" "b\xff", 8, NULL);
    assert_true(g_utf8_validate(s, -1, NULL));
    assert_true(s[0] == 'a');
    g_free(s);
    /* ... and the letters around such a byte are not lost. */
    s = dm_mime_to_utf8("tr\xe4" "d \x81 g\xe5rd", 11, NULL);
    assert_non_null(strstr(s, "träd"));
    assert_non_null(strstr(s, "gård"));
    g_free(s);
    s = dm_mime_to_utf8("tr\xe4" "d \x81 g\xe5rd", 11, "iso-8859-1");
    assert_non_null(strstr(s, "träd"));
    assert_non_null(strstr(s, "gård"));
    g_free(s);
    s = dm_mime_to_utf8("tr\xe4" "d \x81 g\xe5rd", 11, "utf-8");
    assert_non_null(strstr(s, "träd"));
    g_free(s);
    /* Embedded NUL and broken UTF-8 declared as UTF-8. */
    s = dm_mime_to_utf8("x\xc3", 2, "utf-8");
    assert_true(g_utf8_validate(s, -1, NULL));
    g_free(s);
}

static void test_base64_and_rfc2231(void **state)
{
    dm_msg *m = extract_fixture("base64-rfc2231.eml");
    const dm_attachment *a;

    (void)state;
    assert_string_equal(m->subject, "Ansökan förskoleplats");
    assert_contains(m->from_display, "Åsa Öberg");
    assert_contains(m->text->str, "Bifogar ansökan om förskoleplats enligt dnr BUN 2026/41.");
    assert_contains(m->text->str, "Åsa Öberg");
    assert_int_equal(m->attachments->len, 2);
    a = g_ptr_array_index(m->attachments, 0);
    assert_non_null(a->filename);
    assert_string_equal(a->filename, "årsredovisning 2026.pdf");
    assert_string_equal(a->content_type, "application/pdf");
    /* 9 + 1024 bytes, listed from the base64 length: roughly right. */
    assert_in_range(a->size, 1000, 1100);
    a = g_ptr_array_index(m->attachments, 1);
    assert_non_null(a->filename);
    assert_string_equal(a->filename, "Beslut för Sjövik.docx");
    /* Attachments are listed, not read. */
    assert_not_contains(m->text->str, "PDF-1.4");
    dm_msg_free(m);
}

/* ---- structure and limits --------------------------------------------------- */

/* Messages nested `depth` times as message/rfc822; the innermost text
 * says "INNERSTA". */
static char *nested_message(int depth)
{
    GString *s = g_string_new(NULL);

    for (int i = 0; i < depth; i++)
        g_string_append_printf(s,
                               "From: nivå%d@invanare.example\n"
                               "Subject: Nivå %d\n"
                               "MIME-Version: 1.0\n"
                               "Content-Type: multipart/mixed; boundary=\"b%d\"\n"
                               "\n"
                               "--b%d\n"
                               "Content-Type: text/plain; charset=utf-8\n"
                               "\n"
                               "Text på nivå %d.\n"
                               "--b%d\n"
                               "Content-Type: message/rfc822\n"
                               "\n",
                               i, i, i, i, i, i);
    g_string_append(s, "From: inre@invanare.example\n"
                       "Subject: Innersta\n"
                       "Content-Type: text/plain\n"
                       "\n"
                       "INNERSTA\n");
    for (int i = depth - 1; i >= 0; i--)
        g_string_append_printf(s, "--b%d--\n", i);
    return g_string_free(s, FALSE);
}

static void test_nested_depth(void **state)
{
    char *raw = nested_message(15);
    dm_mime_limits lim = default_limits;
    dm_msg *m;

    (void)state;
    lim.max_depth = 5;
    m = extract_str_lim(raw, strlen(raw), &lim);
    assert_true(has_limit(m, "max_depth"));
    assert_false(m->malformed);
    assert_string_equal(m->subject, "Nivå 0");
    assert_contains(m->text->str, "Text på nivå 0.");
    assert_contains(m->text->str, "Text på nivå 1.");
    assert_not_contains(m->text->str, "INNERSTA");
    assert_not_contains(m->text->str, "Text på nivå 14.");
    /* Recorded once, however many parts were cut. */
    {
        unsigned n = 0;
        for (guint i = 0; i < m->limits->len; i++)
            n += strcmp(g_ptr_array_index(m->limits, i), "max_depth") == 0;
        assert_int_equal(n, 1);
    }
    dm_msg_free(m);

    /* Within the default limit the whole message is read. */
    raw = (g_free(raw), nested_message(3));
    m = extract_str(raw);
    assert_false(has_limit(m, "max_depth"));
    assert_contains(m->text->str, "INNERSTA");
    assert_contains(m->text->str, "Nivå 2");
    dm_msg_free(m);
    g_free(raw);

    /* Deep enough to hurt a recursive parser: no crash, a limit. */
    raw = nested_message(400);
    m = extract_str(raw);
    assert_true(has_limit(m, "max_depth"));
    dm_msg_free(m);
    g_free(raw);
}

static void test_max_parts(void **state)
{
    GString *s = g_string_new("From: a@invanare.example\nSubject: Många delar\nMIME-Version: 1.0\n"
                              "Content-Type: multipart/mixed; boundary=\"mp\"\n\n");
    dm_mime_limits lim = default_limits;
    dm_msg *m;

    (void)state;
    for (int i = 1; i <= 50; i++)
        g_string_append_printf(s, "--mp\nContent-Type: text/plain\n\nDEL%03d\n", i);
    g_string_append(s, "--mp--\n");
    lim.max_parts = 10;
    m = extract_str_lim(s->str, s->len, &lim);
    assert_true(has_limit(m, "max_parts"));
    assert_contains(m->text->str, "DEL001");
    assert_not_contains(m->text->str, "DEL050");
    /* The multipart itself counts: at most max_parts - 1 leaves read. */
    assert_true(count_of(m->text->str, "DEL") <= 10);
    assert_true(count_of(m->text->str, "DEL") >= 8);
    dm_msg_free(m);

    /* The default limit reads all 50. */
    m = extract_str_lim(s->str, s->len, &default_limits);
    assert_false(has_limit(m, "max_parts"));
    assert_int_equal(count_of(m->text->str, "DEL"), 50);
    dm_msg_free(m);
    g_string_free(s, TRUE);
}

static void test_max_text(void **state)
{
    GString *s = g_string_new("From: a@invanare.example\nSubject: Lång\nMIME-Version: 1.0\n"
                              "Content-Type: multipart/mixed; boundary=\"mt\"\n\n"
                              "--mt\nContent-Type: text/plain; charset=utf-8\n\n");
    dm_mime_limits lim = default_limits;

    (void)state;
    for (int i = 0; i < 400; i++)
        g_string_append(s, "åäö€"); /* 2+2+2+3 bytes */
    g_string_append(s, "\n--mt\nContent-Type: text/plain; charset=utf-8\n\nANDRA DELEN\n--mt--\n");
    /* Every cut position: the text stays valid UTF-8 within the limit. */
    for (size_t max = 0; max < 40; max++) {
        dm_msg *m;

        lim.max_text = max;
        m = extract_str_lim(s->str, s->len, &lim);
        assert_true(has_limit(m, "max_text"));
        if (m->text->len > max) {
            print_error("max_text %zu: text is %zu bytes\n", max, m->text->len);
            fail();
        }
        assert_true(max < 9 || m->text->len >= max - 3);
        assert_not_contains(m->text->str, "ANDRA");
        dm_msg_free(m);
    }
    /* A cut in the second part: the separator counts too. */
    {
        dm_msg *m;
        size_t first = 400 * 9;

        lim.max_text = first + 1 + 4;
        m = extract_str_lim(s->str, s->len, &lim);
        assert_true(has_limit(m, "max_text"));
        assert_true(m->text->len <= lim.max_text);
        assert_true(g_str_has_suffix(m->text->str, "\nANDR"));
        dm_msg_free(m);

        lim.max_text = 1 << 20;
        m = extract_str_lim(s->str, s->len, &lim);
        assert_false(has_limit(m, "max_text"));
        assert_contains(m->text->str, "ANDRA DELEN");
        dm_msg_free(m);
    }
    g_string_free(s, TRUE);
}

static void test_max_headers(void **state)
{
    GString *s = g_string_new("From: a@invanare.example\n");
    dm_mime_limits lim = default_limits;
    dm_msg *m;

    (void)state;
    for (int i = 0; i < 30; i++)
        g_string_append_printf(s, "X-Extra-%d: v%d\n", i, i);
    g_string_append(s, "X-Long: ");
    for (int i = 0; i < 100; i++)
        g_string_append(s, "ööööö");
    g_string_append(s, "\nSubject: Rubrik\n\nText\n");
    lim.max_headers = 10;
    m = extract_str_lim(s->str, s->len, &lim);
    assert_true(has_limit(m, "max_headers"));
    assert_int_equal(m->headers->len, 10);
    /* The subject is read from the parsed message, not the capped list. */
    assert_string_equal(m->subject, "Rubrik");
    dm_msg_free(m);

    lim = default_limits;
    lim.max_header_size = 101; /* in the middle of an "ö" */
    m = extract_str_lim(s->str, s->len, &lim);
    assert_true(has_limit(m, "max_header_size"));
    assert_true(strlen(dm_msg_header(m, "X-Long")) <= 101);
    assert_true(strlen(dm_msg_header(m, "X-Long")) >= 100);
    assert_not_contains(dm_msg_header(m, "X-Long"), "\xEF\xBF\xBD"); /* no U+FFFD */
    dm_msg_free(m);
    g_string_free(s, TRUE);
}

/* ---- markers ---------------------------------------------------------------- */

static void test_auto_submitted_values(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract_with_headers("Auto-Submitted: auto-replied (vacation)\n", "Hej");
    assert_true(m->auto_reply);
    assert_string_equal(m->auto_submitted, "auto-replied");
    dm_msg_free(m);

    m = extract_with_headers("Auto-Submitted: Auto-Generated; owner-email=\"x@invanare.example\"\n",
                             "Hej");
    assert_true(m->auto_reply);
    assert_string_equal(m->auto_submitted, "auto-generated");
    dm_msg_free(m);

    m = extract_with_headers("Auto-Submitted:     auto-generated\n", "Hej");
    assert_true(m->auto_reply);
    dm_msg_free(m);

    m = extract_with_headers("Auto-Submitted:\n auto-replied\n", "Hej");
    assert_true(m->auto_reply);
    dm_msg_free(m);

    m = extract_with_headers("Auto-Submitted: no\n", "Hej");
    assert_false(m->auto_reply);
    assert_null(m->auto_submitted);
    dm_msg_free(m);

    m = extract_with_headers("Auto-Submitted: No (a person wrote this)\n", "Hej");
    assert_false(m->auto_reply);
    dm_msg_free(m);

    /* Outlook sets this on ordinary mail: not an auto-reply marker. */
    m = extract_with_headers("X-Auto-Response-Suppress: All\n", "Fråga om bygglov");
    assert_false(m->auto_reply);
    assert_null(m->auto_submitted);
    dm_msg_free(m);

    m = extract_with_headers("X-Autoreply: yes\n", "Hej");
    assert_true(m->auto_reply);
    assert_string_equal(m->auto_submitted, "auto-replied");
    dm_msg_free(m);

    m = extract_with_headers("Precedence: auto_reply\n", "Hej");
    assert_true(m->auto_reply);
    assert_false(m->bulk);
    dm_msg_free(m);

    m = extract_with_headers("", "Hej");
    assert_false(m->auto_reply);
    assert_false(m->bulk);
    assert_false(m->list);
    assert_false(m->spam);
    assert_false(m->report);
    dm_msg_free(m);
}

static void test_auto_reply_subjects(void **state)
{
    static const struct {
        const char *subject;
        bool auto_reply;
    } cases[] = {
        {"Automatiskt svar: Bygglov", true},
        {"=?utf-8?Q?Automatiskt_svar=3A_Fr=C3=A5ga?=", true},
        {"AUTOMATISKT SVAR: Fråga", true},
        {"=?utf-8?Q?Fr=C3=A5nvaro=3A_Fr=C3=A5ga?=", true},
        {"Automatic reply: Question", true},
        {"Out of Office: Question", true},
        {"SV: Automatiskt svar: Fråga", false},
        {"Svar om automatiskt svar", false},
        {"Fråga om frånvaro", false},
    };
    const char *const *site_subjects = default_limits.autoreply_subjects;
    static const char *const none[] = {NULL};
    dm_msg *m;

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        m = extract_with_headers("", cases[i].subject);
        if (m->auto_reply != cases[i].auto_reply) {
            print_error("subject \"%s\": auto_reply %d\n", cases[i].subject, m->auto_reply);
            fail();
        }
        dm_msg_free(m);
    }
    /* The subjects are the site's: without them, only headers tell. */
    default_limits.autoreply_subjects = none;
    m = extract_with_headers("", "Automatiskt svar: Bygglov");
    assert_false(m->auto_reply);
    dm_msg_free(m);
    default_limits.autoreply_subjects = NULL;
    m = extract_with_headers("", "Automatiskt svar: Bygglov");
    assert_false(m->auto_reply);
    dm_msg_free(m);
    default_limits.autoreply_subjects = site_subjects;
}

static void test_bulk_list(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract_with_headers("Precedence: list\n", "Hej");
    assert_true(m->bulk);
    assert_false(m->list);
    dm_msg_free(m);

    m = extract_with_headers("Precedence: junk\n", "Hej");
    assert_true(m->bulk);
    dm_msg_free(m);

    m = extract_with_headers("Precedence: first-class\n", "Hej");
    assert_false(m->bulk);
    dm_msg_free(m);

    m = extract_with_headers("List-Unsubscribe: <mailto:u@lista.example>\n", "Hej");
    assert_true(m->list);
    assert_null(m->list_id);
    assert_false(m->bulk);
    dm_msg_free(m);

    m = extract_with_headers("List-Id: Grannar <grannar.lista.example>\n", "Hej");
    assert_true(m->list);
    assert_string_equal(m->list_id, "Grannar <grannar.lista.example>");
    dm_msg_free(m);
}

static void test_spam(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract_with_headers("X-Spam-Flag: YES\n", "Vinst!");
    assert_true(m->spam);
    assert_string_equal(m->spam_header, "X-Spam-Flag");
    dm_msg_free(m);

    m = extract_with_headers("X-Spam-Flag: NO\nX-Spam-Status: No, score=-1.0\n", "Hej");
    assert_false(m->spam);
    assert_null(m->spam_header);
    dm_msg_free(m);

    m = extract_with_headers("X-Spam-Status: Yes, score=12.3 required=5.0\n", "Hej");
    assert_true(m->spam);
    assert_string_equal(m->spam_header, "X-Spam-Status");
    dm_msg_free(m);

    m = extract_with_headers("X-Forefront-Antispam-Report: CIP:192.0.2.1;SFV:SPM;SCL:9\n", "Hej");
    assert_true(m->spam);
    dm_msg_free(m);

    m = extract_with_headers("X-Forefront-Antispam-Report: CIP:192.0.2.1;SFV:NSPM;SCL:1\n",
                             "Hej");
    assert_false(m->spam);
    dm_msg_free(m);

    m = extract_with_headers("X-MS-Exchange-Organization-SCL: 7\n", "Hej");
    assert_true(m->spam);
    dm_msg_free(m);

    m = extract_with_headers("X-MS-Exchange-Organization-SCL: -1\n", "Hej");
    assert_false(m->spam);
    dm_msg_free(m);
}

static void test_report_mdn(void **state)
{
    static const char raw[] =
        "From: a@invanare.example\n"
        "To: b@sjovik.test\n"
        "Subject: Read: Hej\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=Disposition-Notification;\n"
        " boundary=\"r\"\n"
        "\n"
        "--r\n"
        "Content-Type: text/plain\n"
        "\n"
        "Ditt meddelande har lästs.\n"
        "--r\n"
        "Content-Type: message/disposition-notification\n"
        "\n"
        "Final-Recipient: rfc822; a@invanare.example\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n"
        "--r--\n";
    dm_msg *m = extract_str(raw);

    (void)state;
    assert_true(m->report);
    assert_string_equal(m->report_type, "disposition-notification");
    assert_contains(m->text->str, "Ditt meddelande har lästs.");
    dm_msg_free(m);
}

/* Raw 8-bit bytes in a header, at any level, are noted (the copy then
 * travels as message/global); encoded words are not 8-bit. */
static void test_header_8bit(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract_str("From: Åsa Öberg <asa.oberg@invanare.example>\nSubject: Rå rubrik\n\nText\n");
    assert_true(m->header_8bit);
    assert_string_equal(m->subject, "Rå rubrik");
    assert_contains(m->from_display, "Åsa Öberg");
    dm_msg_free(m);

    m = extract_corpus("c001"); /* RFC 2047 only */
    assert_false(m->header_8bit);
    dm_msg_free(m);

    /* Only in a part's header (an RFC 2231-less raw file name). */
    m = extract_str("From: a@invanare.example\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/mixed; boundary=x\n\n"
                    "--x\nContent-Type: text/plain\n\nHej\n"
                    "--x\nContent-Type: application/pdf\n"
                    "Content-Disposition: attachment; filename=\"bilaga åäö.pdf\"\n\nPDF\n"
                    "--x--\n");
    assert_true(m->header_8bit);
    dm_msg_free(m);

    /* Only in a forwarded message's header. */
    m = extract_str("From: a@invanare.example\nMIME-Version: 1.0\n"
                    "Content-Type: message/rfc822\n\n"
                    "From: b@invanare.example\nSubject: Inre \xe5\xe4\xf6\n\nText\n");
    assert_true(m->header_8bit);
    assert_contains(m->text->str, "Inre åäö");
    dm_msg_free(m);

    /* 8-bit in the body only. */
    m = extract_fixture("utf8-nocharset.eml");
    assert_false(m->header_8bit);
    dm_msg_free(m);
}

/* ---- malformed input ------------------------------------------------------ */

static void test_malformed(void **state)
{
    dm_msg *m = extract_fixture("malformed.eml");

    (void)state;
    assert_string_equal(m->subject, "Trasigt meddelande ä");
    assert_contains(m->text->str, "Första delen läses");
    dm_msg_free(m);
}

static void test_garbage(void **state)
{
    GRand *r = g_rand_new_with_seed(4711);

    (void)state;
    /* Binary noise, lone headers, header-only messages, boundaries that
     * never start: never a crash, always valid UTF-8. */
    for (int round = 0; round < 200; round++) {
        gsize len = (gsize)g_rand_int_range(r, 0, 3000);
        char *buf = g_malloc(len + 1);
        dm_msg *m;

        for (gsize i = 0; i < len; i++)
            buf[i] = (char)g_rand_int_range(r, 0, 256);
        /* Every other round, a plausible start. */
        if (round % 2 == 0 && len > 80) {
            static const char start[] =
                "Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n<";
            memcpy(buf, start, sizeof start - 1);
        }
        m = extract_str_lim(buf, len, &default_limits);
        dm_msg_free(m);
        g_free(buf);
    }
    g_rand_free(r);

    {
        dm_msg *m;
        static const char *const odd[] = {
            "Subject: bara huvud",
            "\n\n\n",
            "From: <>\nSubject: =?utf-8?B?////?=\n\n\xff\xfe",
            "Subject: =?x-unknown?Q?=E5=E4?=\n\ntext",
            "Content-Type: text/html\n\n<p>Hej<script>evil()</scr",
            "Content-Type: message/rfc822\n\n",
            "Content-Type: multipart/alternative\n\nno boundary at all",
            "Content-Type: text/plain; charset=\"\"\n\n\xe5",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(odd); i++) {
            m = extract_str(odd[i]);
            dm_msg_free(m);
        }
        m = extract_str("Content-Type: text/html\n\n<p>Hej<script>evil()</scr");
        assert_contains(m->text->str, "Hej");
        assert_not_contains(m->text->str, "evil");
        dm_msg_free(m);
    }
}

static void test_empty(void **state)
{
    dm_msg *m;

    (void)state;
    /* Empty text parts (no bytes at all) among others. */
    m = extract_str("From: a@invanare.example\nSubject: Tomma delar\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/mixed; boundary=x\n\n"
                    "--x\nContent-Type: text/plain\n\n"
                    "--x\nContent-Type: text/plain; charset=iso-8859-1\n\n"
                    "--x\nContent-Type: text/html\n\n"
                    "--x\nContent-Type: text/plain\n\nSista\n"
                    "--x--\n");
    assert_string_equal(m->text->str, "Sista");
    dm_msg_free(m);

    m = extract_str_lim("", 0, &default_limits);
    assert_string_equal(m->subject, "");
    assert_int_equal(m->text->len, 0);
    assert_int_equal(m->size, 0);
    assert_false(m->auto_reply);
    assert_false(m->spam);
    dm_msg_free(m);

    /* Headers only, no body. */
    m = extract_str("From: a@invanare.example\nSubject: Tom\n");
    assert_string_equal(m->subject, "Tom");
    assert_int_equal(m->text->len, 0);
    dm_msg_free(m);
}

static void test_html_only(void **state)
{
    static const char raw[] =
        "From: a@invanare.example\nSubject: html\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n\n"
        "<html><head><style>p {color: red}</style></head><body><p>Bygg=\n"
        "lov f=F6r <b>Sj=F6</b>vik&nbsp;3:12</p></body></html>\n";
    dm_msg *m = extract_str(raw);

    (void)state;
    assert_string_equal(m->text->str, "Bygglov för Sjövik 3:12");
    dm_msg_free(m);
}

static void test_alternative_without_plain(void **state)
{
    static const char raw[] =
        "From: a@invanare.example\nSubject: alt\nMIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=\"a\"\n\n"
        "--a\nContent-Type: text/html; charset=utf-8\n\n<p>Endast <i>html</i></p>\n"
        "--a--\n";
    dm_msg *m = extract_str(raw);

    (void)state;
    /* With no plain rendering the HTML one is read. */
    assert_string_equal(m->text->str, "Endast html");
    dm_msg_free(m);
}

static void test_text_attachment_not_read(void **state)
{
    static const char raw[] =
        "From: a@invanare.example\nSubject: bilaga\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"a\"\n\n"
        "--a\nContent-Type: text/plain; charset=utf-8\n\nSe bilagan.\n"
        "--a\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Disposition: attachment; filename=\"logg.txt\"\n\nBILAGETEXT\n"
        "--a--\n";
    dm_msg *m = extract_str(raw);
    const dm_attachment *a;

    (void)state;
    assert_contains(m->text->str, "Se bilagan.");
    assert_not_contains(m->text->str, "BILAGETEXT");
    assert_int_equal(m->attachments->len, 1);
    a = g_ptr_array_index(m->attachments, 0);
    assert_string_equal(a->filename, "logg.txt");
    assert_string_equal(a->content_type, "text/plain");
    dm_msg_free(m);
}


/* ---- issue 4: text of every kind, facts, limits -------------------------- */

static const dm_attachment *attachment_named(const dm_msg *m, const char *name)
{
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        if (a->filename != NULL && strcmp(a->filename, name) == 0)
            return a;
    }
    print_error("no attachment named \"%s\"\n", name);
    fail();
    return NULL;
}

static const dm_attachment *attachment_typed(const dm_msg *m, const char *type)
{
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        if (strcmp(a->content_type, type) == 0)
            return a;
    }
    print_error("no attachment of type \"%s\"\n", type);
    fail();
    return NULL;
}

static void test_autoreply_subject_casefold(void **state)
{
    static const char *const yes[] = {
        "FRÅNVARO: Fråga om bygglov",
        "=?utf-8?Q?FR=C3=85NVARO=3A_Fr=C3=A5ga?=",
        "=?iso-8859-1?Q?FR=C5NVARO=3A_Fr=E5ga?=",
        "Frånvaro: Fråga",
        "  Automatiskt svar: Fråga",
        "AUTOMATIC REPLY: Question",
        "Out of office reply: Question",
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        dm_msg *m = extract_with_headers("", yes[i]);
        if (!m->auto_reply) {
            print_error("subject \"%s\" is an auto-reply\n", yes[i]);
            fail();
        }
        dm_msg_free(m);
    }
}

static void test_exchange_autoreply_headers(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract_with_headers("X-MS-Exchange-Inbox-Rules-Loop: anna@sjovik.test\n", "Hej");
    assert_true(m->auto_reply);
    dm_msg_free(m);

    m = extract_with_headers("X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\n",
                             "Hej");
    assert_true(m->auto_reply);
    dm_msg_free(m);

    m = extract_with_headers("Thread-Topic: Fråga\nX-Auto-Response-Suppress: All\n"
                             "X-MS-Has-Attach:\n",
                             "Fråga");
    assert_false(m->auto_reply);
    dm_msg_free(m);

    m = extract_with_headers("X-Autoreply: no\n", "Hej");
    assert_false(m->auto_reply);
    dm_msg_free(m);

    m = extract_with_headers("X-Autorespond: Sjuk idag\n", "Hej");
    assert_true(m->auto_reply);
    dm_msg_free(m);
}

static void test_spam_filters(void **state)
{
    static const struct {
        const char *headers;
        const char *which; /* NULL: not spam */
    } cases[] = {
        {"X-Spam: Yes\n", "X-Spam"},
        {"X-Spam: No\n", NULL},
        {"X-Barracuda-Spam-Flag: YES\n", "X-Barracuda-Spam-Flag"},
        {"X-Barracuda-Spam-Status: Yes, SCORE=9.1\n", "X-Barracuda-Spam-Status"},
        {"X-Barracuda-Spam-Status: No, SCORE=0.1\n", NULL},
        {"X-Proofpoint-Spam-Details: rule=spam policy=default score=100\n",
         "X-Proofpoint-Spam-Details"},
        {"X-Proofpoint-Spam-Details: rule=notspam policy=default score=0\n", NULL},
        {"X-Forefront-Antispam-Report: CIP:192.0.2.1;SFV:SKS;\n", "X-Forefront-Antispam-Report"},
        {"X-Forefront-Antispam-Report: CIP:192.0.2.1;SCL:6;SFV:NSPM\n",
         "X-Forefront-Antispam-Report"},
        {"X-Forefront-Antispam-Report: CIP:192.0.2.1;SCL:1;SFV:NSPM\n", NULL},
        {"X-Microsoft-Antispam-Mailbox-Delivery: ucf:0;jmr:0;dest:J;OFR:SpamFilterAuthJ\n",
         "X-Microsoft-Antispam-Mailbox-Delivery"},
        {"X-Microsoft-Antispam-Mailbox-Delivery: ucf:0;jmr:0;dest:I\n", NULL},
        {"X-MS-Exchange-Organization-SCL: 5\n", "X-MS-Exchange-Organization-SCL"},
        {"X-MS-Exchange-Organization-SCL: 4\n", NULL},
        {"X-Rspamd-Action: add header\n", "X-Rspamd-Action"},
        {"X-Rspamd-Action: no action\n", NULL},
        /* The topmost instance is the filter's own. */
        {"X-Spam-Flag: NO\nX-Spam-Flag: YES\n", NULL},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        dm_msg *m = extract_with_headers(cases[i].headers, "Hej");
        bool want = cases[i].which != NULL;
        if (m->spam != want ||
            (want && (m->spam_header == NULL || strcmp(m->spam_header, cases[i].which) != 0))) {
            print_error("%s: spam %d (%s)\n", cases[i].headers, m->spam,
                        m->spam_header ? m->spam_header : "-");
            fail();
        }
        dm_msg_free(m);
    }
}

/* Markers are read from the message's own headers, not from the list
 * max_headers cut. */
static void test_markers_beyond_max_headers(void **state)
{
    GString *h = g_string_new(NULL);
    dm_mime_limits lim = default_limits;
    char *raw;
    dm_msg *m;

    (void)state;
    for (int i = 0; i < 50; i++)
        g_string_append_printf(h, "Received: from relay%d.example by mx.sjovik.test\n", i);
    raw = g_strdup_printf("From: a@invanare.example\nSubject: Hej\n%s"
                          "Auto-Submitted: auto-replied\nList-Id: <l.example>\n"
                          "In-Reply-To: <x@y>\nX-Spam-Flag: YES\n\nText\n",
                          h->str);
    lim.max_headers = 10;
    m = extract_str_lim(raw, strlen(raw), &lim);
    assert_true(has_limit(m, "max_headers"));
    assert_int_equal(m->headers->len, 10);
    assert_true(m->auto_reply);
    assert_true(m->list);
    assert_true(m->spam);
    assert_string_equal(m->in_reply_to, "x@y");
    dm_msg_free(m);
    g_free(raw);
    g_string_free(h, TRUE);
}

static void test_reply_ids(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract_with_headers("In-Reply-To: <a.1@sjovik.test> (Anna's message)\n"
                             "References: <r.0@invanare.example>\n <a.1@sjovik.test>\n",
                             "SV: Fråga");
    assert_string_equal(m->in_reply_to, "a.1@sjovik.test");
    assert_string_equal(m->references, "r.0@invanare.example a.1@sjovik.test");
    dm_msg_free(m);

    /* No ids at all: NULL, not "". */
    m = extract_with_headers("In-Reply-To: Your message of Monday\n", "SV: Fråga");
    assert_null(m->references);
    dm_msg_free(m);

    m = extract_with_headers("", "Hej");
    assert_null(m->in_reply_to);
    assert_null(m->references);
    dm_msg_free(m);
}

static void test_utf8_mostly_valid(void **state)
{
    char *s;

    (void)state;
    /* UTF-8 with one damaged byte stays UTF-8 (declared or not): the
     * damaged byte becomes U+FFFD, the letters stay letters. */
    s = dm_mime_to_utf8("Bygglov f\xc3\xb6r Sj\xc3\xb6vik \xff klart", 28, NULL);
    assert_string_equal(s, "Bygglov för Sjövik \xef\xbf\xbd klart");
    g_free(s);
    s = dm_mime_to_utf8("Bygglov f\xc3\xb6r Sj\xc3\xb6vik \xff klart", 28, "utf-8");
    assert_string_equal(s, "Bygglov för Sjövik \xef\xbf\xbd klart");
    g_free(s);
    /* Latin-1 is still Latin-1. */
    s = dm_mime_to_utf8("Bygglov f\xf6r Sj\xf6vik", 18, NULL);
    assert_string_equal(s, "Bygglov för Sjövik");
    g_free(s);
    /* NUL bytes are dropped, the rest read (it used to end the text at
     * the NUL, or send valid UTF-8 through windows-1252). */
    s = dm_mime_to_utf8("f\xc3\xb6r\0e", 6, NULL);
    assert_string_equal(s, "före");
    g_free(s);
    s = dm_mime_to_utf8("a\0b", 3, "iso-8859-1");
    assert_string_equal(s, "ab");
    g_free(s);
    /* ...but in UTF-16 a NUL byte is half a letter. */
    s = dm_mime_to_utf8("\xff\xfe" "f\0\xf6\0r\0", 8, "utf-16");
    assert_string_equal(s, "för");
    g_free(s);
}

static void test_rfc2231_everywhere(void **state)
{
    static const char raw[] =
        "From: a@invanare.example\nSubject: Bilagor\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"x\"\n\n"
        "--x\nContent-Type: text/plain; charset=utf-8\n\nSe bilagorna.\n"
        /* name*= in Content-Type only */
        "--x\nContent-Type: application/pdf; name*=iso-8859-1''Beslut%20f%F6r%20Sj%F6vik.pdf\n"
        "Content-Transfer-Encoding: base64\n\nJVBERi0=\n"
        /* continuations, some encoded */
        "--x\nContent-Type: application/vnd.ms-excel\n"
        "Content-Disposition: attachment;\n"
        " filename*0*=utf-8''Ber%C3%A4kning%20;\n"
        " filename*1=\"av avgift \";\n"
        " filename*2*=%C3%A5r%202026.xls\n\nXLS\n"
        /* RFC 2047 inside the quotes (against the standard, common) */
        "--x\nContent-Type: application/msword; name=\"=?utf-8?B?w6Vyc2JlcsOkdHRlbHNlLmRvYw==?=\"\n"
        "Content-Disposition: attachment; filename=\"=?utf-8?B?w6Vyc2JlcsOkdHRlbHNlLmRvYw==?=\"\n"
        "\nDOC\n"
        /* raw Latin-1 in a quoted name */
        "--x\nContent-Type: image/jpeg\n"
        "Content-Disposition: attachment; filename=\"bild p\xe5 sj\xf6n.jpg\"\n\nJPG\n"
        /* no name at all */
        "--x\nContent-Type: application/octet-stream\n\nBIN\n"
        "--x--\n";
    dm_msg *m = extract_str(raw);

    (void)state;
    assert_int_equal(m->attachments->len, 5);
    attachment_named(m, "Beslut för Sjövik.pdf");
    attachment_named(m, "Beräkning av avgift år 2026.xls");
    attachment_named(m, "årsberättelse.doc");
    attachment_named(m, "bild på sjön.jpg");
    assert_null(((const dm_attachment *)g_ptr_array_index(m->attachments, 4))->filename);
    assert_string_equal(m->text->str, "Se bilagorna.");
    dm_msg_free(m);
}

static void test_inline_text_with_name(void **state)
{
    static const char raw[] =
        "From: a@invanare.example\nSubject: bilaga\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"a\"\n\n"
        "--a\nContent-Type: text/plain; charset=utf-8\n\nSe bilagan.\n"
        "--a\nContent-Type: text/plain; charset=utf-8; name=\"anteckning.txt\"\n"
        "Content-Disposition: inline; filename=\"anteckning.txt\"\n\nINLINETEXT KS 2026/112\n"
        "--a--\n";
    dm_msg *m = extract_str(raw);

    (void)state;
    /* Shown in the message by the client: read, and listed as a file. */
    assert_contains(m->text->str, "INLINETEXT KS 2026/112");
    attachment_named(m, "anteckning.txt");
    dm_msg_free(m);
}

static void test_other_text_types(void **state)
{
    static const char raw[] =
        "From: a@invanare.example\nSubject: text av olika slag\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"a\"\n\n"
        "--a\nContent-Type: text/enriched\n\n<bold>Viktigt</bold> om <italic>bygglovet</italic>,\n"
        "se <<inte en tagg>.<param>dold</param>\n"
        "--a\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\n\n"
        "BEGIN:VCALENDAR\nSUMMARY:KALENDERTEXT\nEND:VCALENDAR\n"
        "--a\nContent-Type: text/x-vcard; name=\"anna.vcf\"\n\nBEGIN:VCARD\nFN:VCARDTEXT\n"
        "--a\nContent-Type: text/csv\n\nCSVTEXT;1;2\n"
        "--a\nContent-Type: text/rfc822-headers\n\nSubject: RUBRIKHUVUD\n"
        "--a--\n";
    dm_msg *m = extract_str(raw);

    (void)state;
    /* Prose is read; data is listed; a report's headers are skipped. */
    assert_contains(m->text->str, "Viktigt om bygglovet");
    assert_contains(m->text->str, "<inte en tagg>");
    assert_not_contains(m->text->str, "<bold>");
    assert_not_contains(m->text->str, "KALENDERTEXT");
    assert_not_contains(m->text->str, "VCARDTEXT");
    assert_not_contains(m->text->str, "CSVTEXT");
    assert_not_contains(m->text->str, "RUBRIKHUVUD");
    assert_int_equal(m->attachments->len, 3);
    attachment_typed(m, "text/calendar");
    attachment_named(m, "anna.vcf");
    attachment_typed(m, "text/csv");
    dm_msg_free(m);
}

static void test_alternative_choices(void **state)
{
    dm_msg *m;

    (void)state;
    /* Outlook and Apple Mail: the HTML with its images in a related part.
     * The text once, the image listed. */
    m = extract_str("From: a@invanare.example\nSubject: alt\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/alternative; boundary=\"a\"\n\n"
                    "--a\nContent-Type: text/plain; charset=utf-8\n\nBara en gång.\n"
                    "--a\nContent-Type: multipart/related; boundary=\"r\"\n\n"
                    "--r\nContent-Type: text/html; charset=utf-8\n\n<p>Bara en gång.</p>\n"
                    "--r\nContent-Type: image/png; name=\"logo.png\"\nContent-ID: <logo>\n\nPNG\n"
                    "--r--\n"
                    "--a--\n");
    assert_int_equal(count_of(m->text->str, "Bara en gång."), 1);
    attachment_named(m, "logo.png");
    dm_msg_free(m);

    /* An empty plain rendering: the HTML is read instead. */
    m = extract_str("From: a@invanare.example\nSubject: alt\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/alternative; boundary=\"a\"\n\n"
                    "--a\nContent-Type: text/plain; charset=utf-8\n\n \n\n"
                    "--a\nContent-Type: text/html; charset=utf-8\n\n<p>Endast i html</p>\n"
                    "--a--\n");
    assert_string_equal(m->text->str, "Endast i html");
    dm_msg_free(m);

    /* An invitation: the plain text read, the calendar listed. */
    m = extract_str("From: a@invanare.example\nSubject: Möte\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/alternative; boundary=\"a\"\n\n"
                    "--a\nContent-Type: text/plain; charset=utf-8\n\nVälkommen till mötet.\n"
                    "--a\nContent-Type: text/html; charset=utf-8\n\n<p>Välkommen till mötet.</p>\n"
                    "--a\nContent-Type: text/calendar; method=REQUEST\n\nBEGIN:VCALENDAR\n"
                    "--a--\n");
    assert_string_equal(m->text->str, "Välkommen till mötet.");
    attachment_typed(m, "text/calendar");
    assert_int_equal(m->attachments->len, 1);
    dm_msg_free(m);
}

static void test_forwarded_headers(void **state)
{
    static const char raw[] =
        "From: maja@sjovik.test\nSubject: VB: ärende\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"f\"\n\n"
        "--f\nContent-Type: text/plain; charset=utf-8\n\nSe nedan.\n"
        "--f\nContent-Type: message/rfc822\nContent-Disposition: attachment\n\n"
        "From: =?utf-8?Q?Lennart_Sj=C3=B6strand?= <lennart@invanare.example>\n"
        "Date: Wed, 25 Nov 2026 07:41:12 +0100\n"
        "Subject: =?utf-8?Q?Fr=C3=A5ga_om_BN_2026/77?=\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"g\"\n\n"
        "--g\nContent-Type: message/global\n\n"
        "From: inre@invanare.example\nSubject: Innersta \xc3\xa4rendet\n\nDjup text.\n"
        "--g--\n"
        "--f--\n";
    dm_msg *m = extract_str(raw);

    (void)state;
    /* The forwarded message's From, Date and Subject, as a client shows a
     * forward, under the separator the rules know. */
    assert_contains(m->text->str, "---------- Vidarebefordrat meddelande ----------\n"
                                  "Från: Lennart Sjöstrand <lennart@invanare.example>\n"
                                  "Datum: Wed, 25 Nov 2026 07:41:12 +0100\n"
                                  "Ämne: Fråga om BN 2026/77");
    /* message/global is a message too, at any depth. */
    assert_contains(m->text->str, "Från: inre@invanare.example");
    assert_contains(m->text->str, "Ämne: Innersta ärendet");
    assert_contains(m->text->str, "Djup text.");
    assert_true(strstr(m->text->str, "Se nedan.") < strstr(m->text->str, "Lennart"));
    assert_int_equal(m->attachments->len, 0);
    /* The outer message's facts stay the outer message's. */
    assert_string_equal(m->from_addr, "maja@sjovik.test");
    assert_true(m->header_8bit);
    dm_msg_free(m);
    /* The heading's words are the site's ([replies] forward_line ...):
     * without them none is written, the forwarded text still is. */
    {
        dm_mime_limits bare = default_limits;

        bare.words = NULL;
        m = extract_str_lim(raw, strlen(raw), &bare);
        assert_null(strstr(m->text->str, "Vidarebefordrat"));
        assert_null(strstr(m->text->str, "Från:"));
        assert_contains(m->text->str, "Djup text.");
        dm_msg_free(m);
    }
}

static void test_signed_encrypted(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract_str("From: a@invanare.example\nSubject: signerat\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/signed; micalg=pgp-sha256;\n"
                    " protocol=\"application/pgp-signature\"; boundary=\"s\"\n\n"
                    "--s\nContent-Type: text/plain; charset=utf-8\n\nSignerad text.\n"
                    "--s\nContent-Type: application/pgp-signature; name=\"signature.asc\"\n\n"
                    "-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n"
                    "--s--\n");
    assert_string_equal(m->text->str, "Signerad text.");
    attachment_named(m, "signature.asc");
    assert_false(has_limit(m, "encrypted"));
    dm_msg_free(m);

    m = extract_str("From: a@invanare.example\nSubject: krypterat\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\";\n"
                    " boundary=\"e\"\n\n"
                    "--e\nContent-Type: application/pgp-encrypted\n\nVersion: 1\n"
                    "--e\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\n\n"
                    "-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\n"
                    "--e--\n");
    assert_int_equal(m->text->len, 0);
    assert_true(has_limit(m, "encrypted"));
    assert_int_equal(m->attachments->len, 2);
    dm_msg_free(m);

    m = extract_str("From: a@invanare.example\nSubject: smime\nMIME-Version: 1.0\n"
                    "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;\n"
                    " name=\"smime.p7m\"\nContent-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\n");
    assert_true(has_limit(m, "encrypted"));
    attachment_named(m, "smime.p7m");
    dm_msg_free(m);
}

static void test_uuencode_tnef(void **state)
{
    dm_msg *m;

    (void)state;
    /* uuencoded inside plain text, and as a transfer encoding: read or
     * not, never a crash, always valid UTF-8. */
    m = extract_str("From: a@invanare.example\nSubject: uu\n\nSe filen.\n\n"
                    "begin 644 fil.bin\nM9&5T(&%R(&5N('1E<W0*\n`\nend\n");
    assert_contains(m->text->str, "Se filen.");
    dm_msg_free(m);
    m = extract_str("From: a@invanare.example\nSubject: uu\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/mixed; boundary=u\n\n"
                    "--u\nContent-Type: text/plain\nContent-Transfer-Encoding: x-uuencode\n\n"
                    "begin 644 text.txt\n%:&5J\"@``\n`\nend\n"
                    "--u\nContent-Type: application/octet-stream; name=\"a.zip\"\n"
                    "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 a.zip\n#4$L#\n`\nend\n"
                    "--u--\n");
    attachment_named(m, "a.zip");
    dm_msg_free(m);

    /* Outlook's rich text: winmail.dat listed (its contents are a later
     * step). */
    m = extract_str("From: a@invanare.example\nSubject: tnef\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/mixed; boundary=t\n\n"
                    "--t\nContent-Type: text/plain\n\nText.\n"
                    "--t\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\n"
                    "Content-Transfer-Encoding: base64\n"
                    "Content-Disposition: attachment; filename=\"winmail.dat\"\n\neJ8+IhAA\n"
                    "--t--\n");
    assert_string_equal(attachment_named(m, "winmail.dat")->content_type, "application/ms-tnef");
    dm_msg_free(m);
}

/* A huge text part is read only as far as max_text needs: bounded work,
 * a limit noted, valid UTF-8 at the cut. */
static void test_huge_text_part(void **state)
{
    GString *s = g_string_new("From: a@invanare.example\nSubject: stor\nMIME-Version: 1.0\n"
                              "Content-Type: text/plain; charset=iso-8859-1\n"
                              "Content-Transfer-Encoding: quoted-printable\n\n");
    dm_mime_limits lim = default_limits;
    dm_msg *m;

    (void)state;
    for (int i = 0; i < 200000; i++)
        g_string_append(s, "Sj=F6vik =E4r en kommun.\n");
    lim.max_text = 1000;
    m = extract_str_lim(s->str, s->len, &lim);
    assert_true(has_limit(m, "max_text"));
    assert_true(m->text->len <= 1000);
    assert_true(m->text->len > 900);
    assert_true(g_str_has_prefix(m->text->str, "Sjövik är en kommun.\n"));
    dm_msg_free(m);
    g_string_free(s, TRUE);
}

static void test_list_post(void **state)
{
    dm_msg *m = extract_with_headers("List-Post: <mailto:grannar@lista.example>\n", "Hej");

    (void)state;
    assert_true(m->list);
    dm_msg_free(m);
}

/* Parts larger than the chunks extraction reads them in: the same text as
 * converting the whole at once, in every charset and encoding. */
static void test_large_parts_streamed(void **state)
{
    GString *html = g_string_new("<html><body>");
    GString *raw;
    GString *latin1 = g_string_new(NULL);
    dm_msg *m;
    char *whole, *b64;

    (void)state;
    for (int i = 0; i < 20000; i++) {
        g_string_append_printf(html, "<div class=\"rad\">Rad %d: Sj&ouml;vik &amp; KS 2026/%d</div>\n", i, i);
        if (i % 5000 == 2500)
            g_string_append(html, "<script>\nvar a = '<p>DOLT</p>';\n"
                                  "for (;;) { if (x > y) break; }\n</script>\n");
    }
    g_string_append(html, "</body></html>\n");
    whole = dm_mime_html_to_text(html->str, html->len);
    b64 = g_base64_encode((const guchar *)html->str, html->len);
    raw = g_string_new("From: a@invanare.example\nSubject: stor html\nMIME-Version: 1.0\n"
                       "Content-Type: text/html; charset=utf-8\n"
                       "Content-Transfer-Encoding: base64\n\n");
    /* One long base64 line: HTML without line ends, cut after ">". */
    g_string_append(raw, b64);
    g_string_append_c(raw, '\n');
    m = extract_str_lim(raw->str, raw->len, &default_limits);
    assert_true(html->len > 3 * 256 * 1024);
    assert_string_equal(m->text->str, whole);
    assert_not_contains(m->text->str, "DOLT");
    assert_false(has_limit(m, "max_text"));
    dm_msg_free(m);
    g_free(whole);
    g_free(b64);
    g_string_free(raw, TRUE);

    /* Quoted-printable Latin-1 over many chunks. */
    raw = g_string_new("From: a@invanare.example\nSubject: stor text\nMIME-Version: 1.0\n"
                       "Content-Type: text/plain; charset=iso-8859-1\n"
                       "Content-Transfer-Encoding: quoted-printable\n\n");
    for (int i = 0; i < 40000; i++) {
        g_string_append_printf(raw, "Rad %d: Sj=F6vik =E4r =96 en kommun.\n", i);
        g_string_append_printf(latin1, "Rad %d: Sjövik är – en kommun.\n", i);
    }
    m = extract_str_lim(raw->str, raw->len, &default_limits);
    assert_string_equal(m->text->str, latin1->str);
    dm_msg_free(m);
    g_string_free(raw, TRUE);
    g_string_free(latin1, TRUE);
    g_string_free(html, TRUE);

    /* UTF-16 with a BOM: read in one piece. */
    {
        static const char body[] = "\xff\xfe" "S\0j\0\xf6\0v\0i\0k\0";
        char *b = g_base64_encode((const guchar *)body, sizeof body - 1);
        char *msg = g_strdup_printf("From: a@invanare.example\nSubject: u16\nMIME-Version: 1.0\n"
                                    "Content-Type: text/plain; charset=utf-16\n"
                                    "Content-Transfer-Encoding: base64\n\n%s\n", b);
        m = extract_str(msg);
        assert_string_equal(m->text->str, "Sjövik");
        dm_msg_free(m);
        g_free(msg);
        g_free(b);
    }
}

/* A boundary declared and another used: the body is read as it stands. */
static void test_boundary_mismatch(void **state)
{
    dm_msg *m = extract_str("From: a@invanare.example\nSubject: fel gräns\nMIME-Version: 1.0\n"
                            "Content-Type: multipart/alternative; boundary=\"=Gräns 1\"\n\n"
                            "--= Gräns 1\nContent-Type: text/plain\n\nTexten om KS 2026/112.\n"
                            "--= Gräns 1--\n");

    (void)state;
    assert_true(m->malformed);
    assert_contains(m->text->str, "Texten om KS 2026/112.");
    dm_msg_free(m);
}

/* GMime is given only the bytes that keep within the limits: a flood of
 * parts or header fields costs nothing beyond them (bench/memory.sh shows
 * the memory), and what the walk reads is all still there. */
static void test_parse_budget(void **state)
{
    GString *s;
    dm_msg *m;

    (void)state;
    /* 20,000 parts: cut after max_parts delimiters. */
    s = g_string_new("From: a@invanare.example\r\nSubject: Många\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: multipart/mixed; boundary=\"mp\"\r\n\r\n");
    for (int i = 1; i <= 20000; i++)
        g_string_append_printf(s, "--mp\r\nContent-Type: text/plain\r\n\r\nDEL%05d\r\n", i);
    g_string_append(s, "--mp--\r\n");
    m = extract_str_lim(s->str, s->len, &default_limits);
    assert_true(has_limit(m, "max_parts"));
    assert_string_equal(m->subject, "Många");
    assert_contains(m->text->str, "DEL00001");
    assert_contains(m->text->str, "DEL00498");
    assert_not_contains(m->text->str, "DEL00600");
    assert_int_equal(m->size, s->len);
    dm_msg_free(m);
    g_string_free(s, TRUE);

    /* Within the limits, nested: nothing cut. */
    s = g_string_new("From: a@invanare.example\nSubject: Lagom\nMIME-Version: 1.0\n"
                     "Content-Type: multipart/mixed; boundary=\"yttre\"\n\n"
                     "--yttre\nContent-Type: multipart/alternative; boundary=\"inre\"\n\n");
    for (int i = 1; i <= 200; i++)
        g_string_append_printf(s, "--inre\nContent-Type: text/plain\n\nALT%03d\n", i);
    g_string_append(s, "--inre--\n--yttre\nContent-Type: message/rfc822\n\n"
                       "From: b@invanare.example\nSubject: Inre\n\nSISTA\n--yttre--\n");
    m = extract_str(s->str);
    assert_int_equal(m->limits->len, 0);
    assert_contains(m->text->str, "SISTA");
    dm_msg_free(m);
    g_string_free(s, TRUE);

    /* 50,000 header fields: the first ones read, the flood cut. */
    s = g_string_new("From: a@invanare.example\nSubject: Huvuden\nAuto-Submitted: auto-replied\n");
    for (int i = 0; i < 50000; i++)
        g_string_append_printf(s, "X-Flod-%d: v\n", i);
    g_string_append(s, "\nText\n");
    m = extract_str(s->str);
    assert_true(has_limit(m, "max_headers"));
    assert_string_equal(m->subject, "Huvuden");
    assert_true(m->auto_reply);
    dm_msg_free(m);
    g_string_free(s, TRUE);

    /* One field of 3 MB (folded lines). */
    s = g_string_new("From: a@invanare.example\nSubject: Lång\nX-Lang: b");
    for (int i = 0; i < 60000; i++)
        g_string_append(s, "\n xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    g_string_append(s, "\n\nText\n");
    m = extract_str(s->str);
    assert_true(has_limit(m, "max_header_size"));
    assert_string_equal(m->subject, "Lång");
    dm_msg_free(m);
    g_string_free(s, TRUE);

    /* A boundary declared, another used, 3 MB of body: GMime keeps it
     * all as the preamble; cut after what the text can hold. */
    s = g_string_new("From: a@invanare.example\nSubject: Fel gräns\nMIME-Version: 1.0\n"
                     "Content-Type: multipart/mixed; boundary=\"A\"\n\n--B\n\nFÖRSTA\n");
    for (int i = 0; i < 100000; i++)
        g_string_append(s, "Rad med text om bygglovet.\n");
    g_string_append(s, "--B--\nEFTER\n");
    m = extract_str(s->str);
    assert_true(has_limit(m, "max_text"));
    assert_true(m->malformed);
    assert_contains(m->text->str, "FÖRSTA");
    assert_true(m->text->len > 1000000);
    dm_msg_free(m);
    g_string_free(s, TRUE);

    /* A large epilogue is cut; what came before is all read. */
    s = g_string_new("From: a@invanare.example\nSubject: Efterskrift\nMIME-Version: 1.0\n"
                     "Content-Type: multipart/mixed; boundary=\"e\"\n\n"
                     "--e\nContent-Type: text/plain\n\nDELEN\n--e--\n");
    for (int i = 0; i < 150000; i++)
        g_string_append(s, "skräp efter slutet\n");
    m = extract_str(s->str);
    assert_true(has_limit(m, "max_text"));
    assert_string_equal(m->text->str, "DELEN");
    dm_msg_free(m);
    g_string_free(s, TRUE);

    /* A digest: its parts are messages with header blocks of their own;
     * a boundary-like line in a body is no delimiter. */
    s = g_string_new("From: lista@invanare.example\nSubject: Sammandrag\nMIME-Version: 1.0\n"
                     "Content-Type: multipart/digest; boundary=\"d\"\n\n");
    for (int i = 1; i <= 3; i++)
        g_string_append_printf(s, "--d\n\nFrom: m%d@invanare.example\nSubject: Inlägg %d\n\n"
                                  "--dx inte en gräns\nINLÄGG%d\n", i, i, i);
    g_string_append(s, "--d--\n");
    m = extract_str(s->str);
    assert_int_equal(m->limits->len, 0);
    assert_contains(m->text->str, "Ämne: Inlägg 2");
    assert_contains(m->text->str, "INLÄGG3");
    dm_msg_free(m);
    g_string_free(s, TRUE);
}

/* The chunk size changes nothing: every corpus message and fixture gives
 * the same text read in chunks of 4 kB, 1 kB and 300 bytes as in 256 kB
 * (chunk ends fall inside tags, entities, characters, lines). */
static void chunks_dir(char *dir)
{
    static const size_t sizes[] = {4096, 1024, 300};
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *n;

    assert_non_null(d);
    while ((n = g_dir_read_name(d)) != NULL) {
        char *path;
        dm_msg *whole;

        if (!g_str_has_suffix(n, ".eml"))
            continue;
        path = g_build_filename(dir, n, NULL);
        whole = extract_file(path, &default_limits);
        for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
            dm_msg *m;

            dm_mime_chunk = sizes[i];
            m = extract_file(path, &default_limits);
            dm_mime_chunk = 256 * 1024;
            if (strcmp(m->text->str, whole->text->str) != 0) {
                print_error("%s in chunks of %zu:\n%s\n---- whole:\n%s\n", path, sizes[i],
                            m->text->str, whole->text->str);
                fail();
            }
            dm_msg_free(m);
        }
        dm_msg_free(whole);
        g_free(path);
    }
    g_dir_close(d);
    g_free(dir);
}

static void test_chunk_sizes(void **state)
{
    (void)state;
    chunks_dir(dm_test_shared("corpus/dev"));
    chunks_dir(dm_test_path("tests/data/mime"));
}

/* dm_mime_budget itself: where GMime must stop, and why; the stream back
 * where it was. */
static gint64 budget_of(const char *data, size_t len, const char **why)
{
    GMimeStream *s = g_mime_stream_mem_new_with_buffer(data, len);
    gint64 cut;

    g_mime_stream_seek(s, 0, GMIME_STREAM_SEEK_SET);
    cut = dm_mime_budget(s, &default_limits, why);
    assert_int_equal(g_mime_stream_tell(s), 0);
    g_object_unref(s);
    return cut;
}

static void test_budget_direct(void **state)
{
    GString *s;
    const char *why;
    char *b;
    gint64 cut;

    (void)state;
    /* Real mail: parsed whole. */
    {
        char *path = dm_test_shared("corpus/dev/c046.eml");
        gsize len;
        char *data = dm_test_read(path, &len);
        assert_int_equal(budget_of(data, len, &why), -1);
        assert_null(why);
        g_free(data);
        g_free(path);
    }
    /* A flood of parts under a boundary longer than a line is kept
     * (2,000 bytes): still counted, cut after max_parts. */
    b = g_strnfill(2000, 'x');
    s = g_string_new(NULL);
    g_string_append_printf(s, "From: a@invanare.example\r\nMIME-Version: 1.0\r\n"
                              "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n", b);
    for (int i = 0; i < 2000; i++)
        g_string_append_printf(s, "--%s\r\n\r\nx\r\n", b);
    g_string_append_printf(s, "--%s--\r\n", b);
    cut = budget_of(s->str, s->len, &why);
    assert_string_equal(why, "max_parts");
    assert_true(cut > 0 && cut < (gint64)s->len / 3);
    /* The cut is at the start of the 501st delimiter line. */
    assert_true(strncmp(s->str + cut, "--xxxx", 6) == 0);
    assert_true(s->str[cut - 1] == '\n');
    g_string_free(s, TRUE);
    g_free(b);

    /* Nested multiparts and digests count their parts together. */
    s = g_string_new("MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=y\n\n");
    for (int i = 0; i < 300; i++)
        g_string_append_printf(s, "--y\nContent-Type: multipart/digest; boundary=d%d\n\n"
                                  "--d%d\n\nSubject: s\n\nx\n--d%d--\n", i, i, i);
    g_string_append(s, "--y--\n");
    cut = budget_of(s->str, s->len, &why);
    assert_string_equal(why, "max_parts");
    g_string_free(s, TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_all),
        cmocka_unit_test(test_corpus_tiny_limits),
        cmocka_unit_test(test_c001_rfc2047_qp),
        cmocka_unit_test(test_c002_alternative_once),
        cmocka_unit_test(test_c011_auto_submitted),
        cmocka_unit_test(test_c007_c014_list_bulk),
        cmocka_unit_test(test_c055_report),
        cmocka_unit_test(test_c046_forwarded),
        cmocka_unit_test(test_c027_not_spam),
        cmocka_unit_test(test_undeclared_windows1252),
        cmocka_unit_test(test_declared_wrong_charset),
        cmocka_unit_test(test_corpus_latin1),
        cmocka_unit_test(test_utf8_without_charset),
        cmocka_unit_test(test_to_utf8),
        cmocka_unit_test(test_base64_and_rfc2231),
        cmocka_unit_test(test_nested_depth),
        cmocka_unit_test(test_max_parts),
        cmocka_unit_test(test_max_text),
        cmocka_unit_test(test_max_headers),
        cmocka_unit_test(test_auto_submitted_values),
        cmocka_unit_test(test_auto_reply_subjects),
        cmocka_unit_test(test_bulk_list),
        cmocka_unit_test(test_spam),
        cmocka_unit_test(test_report_mdn),
        cmocka_unit_test(test_header_8bit),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_html_only),
        cmocka_unit_test(test_alternative_without_plain),
        cmocka_unit_test(test_text_attachment_not_read),
        cmocka_unit_test(test_autoreply_subject_casefold),
        cmocka_unit_test(test_exchange_autoreply_headers),
        cmocka_unit_test(test_spam_filters),
        cmocka_unit_test(test_markers_beyond_max_headers),
        cmocka_unit_test(test_reply_ids),
        cmocka_unit_test(test_utf8_mostly_valid),
        cmocka_unit_test(test_rfc2231_everywhere),
        cmocka_unit_test(test_inline_text_with_name),
        cmocka_unit_test(test_other_text_types),
        cmocka_unit_test(test_alternative_choices),
        cmocka_unit_test(test_forwarded_headers),
        cmocka_unit_test(test_signed_encrypted),
        cmocka_unit_test(test_uuencode_tnef),
        cmocka_unit_test(test_huge_text_part),
        cmocka_unit_test(test_list_post),
        cmocka_unit_test(test_large_parts_streamed),
        cmocka_unit_test(test_boundary_mismatch),
        cmocka_unit_test(test_parse_budget),
        cmocka_unit_test(test_chunk_sizes),
        cmocka_unit_test(test_budget_direct),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
