/*
 * extract/, the daemon's side: format detection, the wire format, the
 * pool (the real reader on generated fixtures; a stand-in that hangs,
 * crashes, lingers or answers wrongly: deadline kill, crash -> status,
 * refill, budgets), and the plug into mime/ (attachment text and status,
 * the message's text, the copy's cover note).
 *
 * Needs build/diariemilter-extract, build/extract-fake and the fixtures of
 * tests/attach/make-fixtures.py in build/attach ("make unit" makes them;
 * DM_BUILD says where the build is).
 */
#include "dm_test.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_extract.h"
#include "dm_mime.h"
#include "dm_verdict.h"

static char *build_dir;

static char *in_build(const char *rel)
{
    return g_build_filename(build_dir, rel, NULL);
}

static int group_setup(void **state)
{
    const char *b = getenv("DM_BUILD");

    (void)state;
    build_dir = b != NULL ? g_strdup(b) : dm_test_path("build");
    dm_mime_init();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    g_free(build_dir);
    dm_mime_shutdown();
    return 0;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (hay == NULL || strstr(hay, needle) == NULL) {
        print_error("expected \"%s\" in:\n%s\n", needle, hay != NULL ? hay : "(null)");
        fail();
    }
}

/* Every child of this process reaped: none left, none a zombie. */
static void assert_no_children(void)
{
    int status;
    pid_t p = waitpid(-1, &status, WNOHANG);

    if (p != -1 || errno != ECHILD) {
        print_error("a child is left (waitpid: %d)\n", (int)p);
        fail();
    }
}

/* ---- detection ------------------------------------------------------------ */

static void test_detect(void **state)
{
    static const char zip_ooxml[] = "PK\003\004\024\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                    "\023\0\0\0[Content_Types].xml<Types/>";
    static const char zip_odf[] = "PK\003\004\024\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                  "\010\0\0\0mimetypeapplication/vnd.oasis.opendocument.text";
    static const char zip_other[] = "PK\003\004\024\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                                    "\005\0\0\0a.txtBN";
    static const char tnef_with_pdf[] = "\x78\x9f\x3e\x22\x01\x00 ... %PDF-1.4 inside";
    static const char cfb[] = "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0\0\0";

    (void)state;
    assert_int_equal(dm_extract_detect("%PDF-1.7\n", 9, "application/octet-stream", "x.bin"),
                     DM_FMT_PDF);
    assert_int_equal(dm_extract_detect("junk\n%PDF-1.4", 14, NULL, NULL), DM_FMT_PDF);
    /* Magic wins over the label: a text/plain that is a PDF. */
    assert_int_equal(dm_extract_detect("%PDF-1.4", 8, "text/plain", "a.txt"), DM_FMT_PDF);
    /* ...but "%PDF-" quoted inside a text is text. */
    assert_int_equal(dm_extract_detect("see %PDF-1.4", 12, "text/plain", "a.txt"), DM_FMT_TEXT);
    assert_int_equal(dm_extract_detect(zip_ooxml, sizeof zip_ooxml - 1, NULL, NULL), DM_FMT_OOXML);
    assert_int_equal(dm_extract_detect(zip_odf, sizeof zip_odf - 1, NULL, NULL), DM_FMT_ODF);
    assert_int_equal(dm_extract_detect(zip_other, sizeof zip_other - 1, "application/zip", "a.zip"),
                     DM_FMT_UNKNOWN);
    assert_int_equal(dm_extract_detect(zip_other, sizeof zip_other - 1, NULL, "Ansökan.DOCX"),
                     DM_FMT_OOXML);
    assert_int_equal(dm_extract_detect(zip_other, sizeof zip_other - 1,
                                       "application/vnd.oasis.opendocument.spreadsheet", NULL),
                     DM_FMT_ODF);
    assert_int_equal(dm_extract_detect("{\\rtf1\\ansi", 11, "text/plain", "a.txt"), DM_FMT_RTF);
    /* A winmail.dat holding a PDF near its start is TNEF. */
    assert_int_equal(dm_extract_detect(tnef_with_pdf, sizeof tnef_with_pdf - 1, NULL, NULL),
                     DM_FMT_TNEF);
    assert_int_equal(dm_extract_detect(cfb, sizeof cfb - 1, NULL, "skyddad.docx"), DM_FMT_CFB);
    assert_int_equal(dm_extract_detect(cfb, sizeof cfb - 1, "application/msword", "gammal.doc"),
                     DM_FMT_UNKNOWN);
    /* No magic: the label. */
    assert_int_equal(dm_extract_detect("\x01\x02", 2, "application/octet-stream", "x.PDF"),
                     DM_FMT_PDF);
    assert_int_equal(dm_extract_detect("abc", 3, "application/ms-tnef", NULL), DM_FMT_TNEF);
    assert_int_equal(dm_extract_detect("abc", 3, NULL, "WINMAIL.DAT"), DM_FMT_TNEF);
    assert_int_equal(dm_extract_detect("abc", 3, "text/plain; charset=utf-8", NULL), DM_FMT_TEXT);
    assert_int_equal(dm_extract_detect("abc", 3, "application/octet-stream", "lista.csv"),
                     DM_FMT_TEXT);
    assert_int_equal(dm_extract_detect("<p>", 3, "text/html", NULL), DM_FMT_HTML);
    assert_int_equal(dm_extract_detect("\x89PNG", 4, "image/png", "bild.png"), DM_FMT_UNKNOWN);
    assert_int_equal(dm_extract_detect("BEGIN", 5, "text/calendar", "invite.ics"), DM_FMT_UNKNOWN);
    assert_int_equal(dm_extract_detect("", 0, NULL, NULL), DM_FMT_UNKNOWN);
    assert_int_equal(dm_extract_detect("abc", 3, NULL, "no.extension.longerthanany"),
                     DM_FMT_UNKNOWN);
}

/* ---- the wire format ------------------------------------------------------ */

static void test_proto_request(void **state)
{
    dm_extract_req q = {.max_bytes = 1234567890123ULL, .max_text = 4096, .max_expanded = 77,
                        .max_pages = 5, .max_entries = 6, .max_ratio = 7, .max_depth = 8,
                        .type = "application/pdf", .name = "Ansökan.pdf", .charset = ""};
    dm_extract_req d;
    GByteArray *b = g_byte_array_new();
    ssize_t hl;

    (void)state;
    dm_extract_req_encode(&q, b);
    g_byte_array_append(b, (const guint8 *)"DATA", 4);
    hl = dm_extract_req_decode(b->data, b->len, &d);
    assert_int_equal(hl, b->len - 4);
    assert_true(d.max_bytes == q.max_bytes);
    assert_int_equal(d.max_text, 4096);
    assert_int_equal(d.max_expanded, 77);
    assert_int_equal(d.max_pages, 5);
    assert_int_equal(d.max_entries, 6);
    assert_int_equal(d.max_ratio, 7);
    assert_int_equal(d.max_depth, 8);
    assert_string_equal(d.type, "application/pdf");
    assert_string_equal(d.name, "Ansökan.pdf");
    assert_string_equal(d.charset, "");
    dm_extract_req_clear(&d);
    /* Not all there yet: 0 at every cut before the data. */
    for (size_t n = 0; n < (size_t)hl; n++) {
        assert_int_equal(dm_extract_req_decode(b->data, n, &d), 0);
        assert_null(d.type);
    }
    /* Not a request: another magic, another version, a NUL in a string. */
    b->data[0] = 'X';
    assert_int_equal(dm_extract_req_decode(b->data, b->len, &d), -1);
    b->data[0] = 'D';
    b->data[4] = 2;
    assert_int_equal(dm_extract_req_decode(b->data, b->len, &d), -1);
    b->data[4] = 1;
    b->data[DM_EXTRACT_REQ_FIXED + 3] = '\0';
    assert_int_equal(dm_extract_req_decode(b->data, b->len, &d), -1);
    assert_null(d.type);
    g_byte_array_free(b, TRUE);
}

static bool decodes(const GByteArray *b, uint64_t max_text)
{
    dm_extract_resp r;
    bool ok = dm_extract_resp_decode(b->data, b->len, max_text, &r);

    dm_extract_resp_clear(&r);
    return ok;
}

static void test_proto_answer(void **state)
{
    dm_extract_resp r = {.status = DM_EXTRACT_READ, .flags = DM_EXTRACT_F_PAGES, .pages = 3,
                         .format = "pdf", .text = "Ärende BN 2026/45", .text_len = 18};
    dm_extract_resp d;
    GByteArray *b = g_byte_array_new();

    (void)state;
    dm_extract_resp_encode(&r, b);
    assert_true(dm_extract_resp_decode(b->data, b->len, 100, &d));
    assert_int_equal(d.status, DM_EXTRACT_READ);
    assert_int_equal(d.flags, DM_EXTRACT_F_PAGES);
    assert_int_equal(d.pages, 3);
    assert_string_equal(d.format, "pdf");
    assert_string_equal(d.text, "Ärende BN 2026/45");
    assert_int_equal(d.text_len, 18);
    dm_extract_resp_clear(&d);
    /* More text than asked for, a byte short, a byte over. */
    assert_false(decodes(b, 17));
    g_byte_array_set_size(b, b->len - 1);
    assert_false(decodes(b, 100));
    g_byte_array_append(b, (const guint8 *)"5x", 2);
    assert_false(decodes(b, 100));
    /* Invalid UTF-8, a NUL, a status out of range, a format of junk. */
    g_byte_array_set_size(b, 0);
    r.text = "\xff\xfe";
    r.text_len = 2;
    dm_extract_resp_encode(&r, b);
    assert_false(decodes(b, 100));
    g_byte_array_set_size(b, 0);
    r.text = "a\0b";
    r.text_len = 3;
    dm_extract_resp_encode(&r, b);
    assert_false(decodes(b, 100));
    g_byte_array_set_size(b, 0);
    r.text = "ok";
    r.text_len = 2;
    r.status = (dm_extract_status)99;
    dm_extract_resp_encode(&r, b);
    assert_false(decodes(b, 100));
    g_byte_array_set_size(b, 0);
    r.status = DM_EXTRACT_READ;
    r.format = "p\ndf";
    dm_extract_resp_encode(&r, b);
    assert_false(decodes(b, 100));
    g_byte_array_free(b, TRUE);
}

/* ---- the pool --------------------------------------------------------------- */

static dm_extract_conf conf_for(const char *extractor)
{
    dm_extract_conf c = {
        .extractor = (char *)extractor, .workers = 0, .memory = 256 << 20,
        .timeout_ms = 10000, .message_timeout_ms = 30000, .max_attachments = 20,
        .max_bytes = 25 << 20, .max_text = 256 << 10, .max_text_total = 1 << 20,
        .max_pages = 100, .max_entries = 2000, .max_ratio = 100, .max_expanded = 100 << 20,
        .max_depth = 10,
    };
    return c;
}

typedef struct {
    const guint8 *data;
    size_t len, at;
} mem_reader;

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
    mem_reader *m = ctx;
    size_t n = MIN(len, m->len - m->at);

    memcpy(buf, m->data + m->at, n);
    m->at += n;
    return (ssize_t)n;
}

/* Read data (len bytes, named name) through pool p. */
static void read_doc(dm_extract_pool *p, dm_extract_budget *b, const void *data, size_t len,
                     const char *type, const char *name, dm_extract_result *r)
{
    mem_reader m = {.data = data, .len = len};
    dm_extract_doc d = {.type = type, .name = name, .read = mem_read, .ctx = &m};

    dm_extract_attachment(p, b, &d, r);
}

static char *fixture(const char *name, gsize *len)
{
    char *rel = g_build_filename("attach", "files", name, NULL);
    char *path = in_build(rel);
    char *data = dm_test_read(path, len);

    g_free(rel);
    g_free(path);
    return data;
}

static void test_pool_reads_documents(void **state)
{
    char *exe = in_build("diariemilter-extract");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p = dm_extract_pool_new(&c, false);
    static const struct {
        const char *file, *type;
        dm_extract_status status;
        const char *words;
        unsigned pages;
    } cases[] = {
        {"ansokan.pdf", "application/pdf", DM_EXTRACT_READ, "BN 2026/45", 2},
        {"intyg.pdf", "application/octet-stream", DM_EXTRACT_READ, "Diagnos: depression", 1},
        {"scan.pdf", "application/pdf", DM_EXTRACT_NO_TEXT, NULL, 1},
        {"encrypted.pdf", "application/pdf", DM_EXTRACT_ENCRYPTED, NULL, 0},
        {"random.pdf", "application/pdf", DM_EXTRACT_FAILED, NULL, 0},
        {"overklagande.docx", NULL, DM_EXTRACT_READ, "BUN 2026/41", 0},
        {"bomb.docx", NULL, DM_EXTRACT_LIMIT, NULL, 0},
        {"yttrande.odt", NULL, DM_EXTRACT_READ, "BN 2026/51", 0},
        {"brev.rtf", NULL, DM_EXTRACT_READ, "SN 2026/210", 0},
        {"winmail.dat", NULL, DM_EXTRACT_READ, "KS 2026/140", 2},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        dm_extract_budget b = {0};
        dm_extract_result r;
        gsize len;
        char *data = fixture(cases[i].file, &len);

        read_doc(p, &b, data, len, cases[i].type, cases[i].file, &r);
        if (r.status != cases[i].status) {
            print_error("%s: %s (%s), expected %s\n", cases[i].file,
                        dm_extract_status_name(r.status), r.why ? r.why : "",
                        dm_extract_status_name(cases[i].status));
            fail();
        }
        if (cases[i].words != NULL)
            assert_contains(r.text, cases[i].words);
        else
            assert_null(r.text);
        assert_int_equal(r.pages, cases[i].pages);
        assert_true(r.cpu_us > 0);
        assert_int_equal(b.attachments, 1);
        assert_int_equal(b.text, r.text_len);
        dm_extract_result_clear(&r);
        g_free(data);
        assert_no_children();
    }
    dm_extract_pool_free(p);
    g_free(exe);
}

/* A 10,000-page PDF: the first max_pages pages, well within the deadline. */
static void test_pool_page_limit(void **state)
{
    char *exe = in_build("diariemilter-extract");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p;
    dm_extract_budget b = {0};
    dm_extract_result r;
    gsize len;
    char *data = fixture("pages-10000.pdf", &len);

    (void)state;
    c.max_pages = 20;
    p = dm_extract_pool_new(&c, false);
    read_doc(p, &b, data, len, "application/pdf", "pages-10000.pdf", &r);
    assert_int_equal(r.status, DM_EXTRACT_READ);
    assert_int_equal(r.pages, 20);
    assert_true(r.flags & DM_EXTRACT_F_PAGES);
    assert_contains(r.text, "Sida 20 av 10000");
    assert_null(strstr(r.text, "Sida 21 av"));
    assert_true(r.wall_us < c.timeout_ms * 1000);
    dm_extract_result_clear(&r);
    dm_extract_pool_free(p);
    g_free(data);
    g_free(exe);
}

/* The pids of this process's children, from every thread's list (the
 * pool's own thread starts the waiting workers). */
static GArray *children(void)
{
    GArray *kids = g_array_new(FALSE, FALSE, sizeof(pid_t));
    GDir *d = g_dir_open("/proc/self/task", 0, NULL);
    const char *tid;

    while (d != NULL && (tid = g_dir_read_name(d)) != NULL) {
        char *path = g_strdup_printf("/proc/self/task/%s/children", tid);
        char *text = NULL;

        if (g_file_get_contents(path, &text, NULL, NULL)) {
            char **ids = g_strsplit(g_strstrip(text), " ", -1);
            for (char **i = ids; *i != NULL; i++) {
                if (**i != '\0') {
                    pid_t pid = (pid_t)atoi(*i);
                    g_array_append_val(kids, pid);
                }
            }
            g_strfreev(ids);
        }
        g_free(text);
        g_free(path);
    }
    if (d != NULL)
        g_dir_close(d);
    return kids;
}

static void test_pool_warm_refill(void **state)
{
    char *exe = in_build("diariemilter-extract");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p;
    gsize len;
    char *data = fixture("ansokan.pdf", &len);

    (void)state;
    c.workers = 2;
    p = dm_extract_pool_new(&c, true);
    for (int i = 0; i < 100 && dm_extract_pool_idle(p) < 2; i++)
        g_usleep(50000);
    assert_int_equal(dm_extract_pool_idle(p), 2);
    /* Three in a row: each takes a waiting worker (used once), and the
     * pool starts others behind them. */
    for (int k = 0; k < 3; k++) {
        dm_extract_budget b = {0};
        dm_extract_result r;

        read_doc(p, &b, data, len, "application/pdf", "ansokan.pdf", &r);
        assert_int_equal(r.status, DM_EXTRACT_READ);
        dm_extract_result_clear(&r);
    }
    for (int i = 0; i < 100 && dm_extract_pool_idle(p) < 2; i++)
        g_usleep(50000);
    assert_int_equal(dm_extract_pool_idle(p), 2);
    /* A waiting worker killed from outside is noticed and replaced. */
    {
        GArray *kids = children();
        dm_extract_budget b = {0};
        dm_extract_result r;

        assert_int_equal(kids->len, 2);
        assert_int_equal(kill(g_array_index(kids, pid_t, 0), SIGKILL), 0);
        g_array_free(kids, TRUE);
        g_usleep(100000);
        read_doc(p, &b, data, len, "application/pdf", "ansokan.pdf", &r);
        assert_int_equal(r.status, DM_EXTRACT_READ);
        dm_extract_result_clear(&r);
    }
    dm_extract_pool_free(p);
    assert_no_children();
    g_free(data);
    g_free(exe);
}

/* The stand-in, made to misbehave by the name it is given. */
static void fake_case(const char *name, int64_t timeout_ms, dm_extract_status want,
                      const char *why, bool answered)
{
    char *exe = in_build("extract-fake");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p;
    dm_extract_budget b = {0};
    dm_extract_result r;
    static char doc[2 << 20];
    gint64 t0 = g_get_monotonic_time();

    memset(doc, 'a', sizeof doc);
    c.timeout_ms = timeout_ms;
    c.max_text = 4 << 20;
    c.max_text_total = 4 << 20;
    p = dm_extract_pool_new(&c, false);
    read_doc(p, &b, doc, strcmp(name, "early") == 0 ? sizeof doc : 1000, "text/x-test", name, &r);
    if (r.status != want) {
        print_error("%s: %s (%s), expected %s\n", name, dm_extract_status_name(r.status),
                    r.why ? r.why : "", dm_extract_status_name(want));
        fail();
    }
    if (why != NULL)
        assert_contains(r.why, why);
    /* Within its deadline (and a little for reaping). */
    assert_true(g_get_monotonic_time() - t0 < timeout_ms * 1000 + 1500000);
    if (!answered)
        assert_null(r.text);
    dm_extract_result_clear(&r);
    dm_extract_pool_free(p);
    assert_no_children();
    g_free(exe);
}

static void test_pool_deadline_kills(void **state)
{
    char *exe = in_build("diariemilter-extract");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p;
    dm_extract_budget b = {0};
    dm_extract_result r;
    gsize len;
    char *data = fixture("slow.pdf", &len);

    (void)state;
    /* The real reader on a CPU bomb (seconds of Poppler): killed at 1 s. */
    c.timeout_ms = 1000;
    p = dm_extract_pool_new(&c, false);
    read_doc(p, &b, data, len, "application/pdf", "slow.pdf", &r);
    assert_int_equal(r.status, DM_EXTRACT_TIMEOUT);
    /* Killed by the 1 s wall-clock deadline, or by the CPU limit of the same
     * second, which may come first: the reader's start-up counts as CPU
     * before the clock of the first byte starts.  Loaded machines: slack. */
    assert_true(r.wall_us < 3000000);
    if (r.why == NULL || strcmp(r.why, "CPU limit") != 0)
        assert_true(r.wall_us >= 1000000);
    assert_null(r.text);
    dm_extract_result_clear(&r);
    dm_extract_pool_free(p);
    assert_no_children();
    g_free(data);
    g_free(exe);
    /* The stand-in: silent, and answering but never exiting. */
    fake_case("hang", 400, DM_EXTRACT_TIMEOUT, "no answer within", false);
    /* Answers, but does not exit: killed at the deadline, answer kept. */
    fake_case("linger", 400, DM_EXTRACT_READ, NULL, true);
}

static void test_pool_crashes(void **state)
{
    (void)state;
    fake_case("crash", 5000, DM_EXTRACT_FAILED, "signal 6", false);
    fake_case("segv", 5000, DM_EXTRACT_FAILED, "signal 11", false);
    fake_case("sigsys", 5000, DM_EXTRACT_FAILED, "seccomp", false);
    fake_case("exit3", 5000, DM_EXTRACT_FAILED, "exit 3", false);
    fake_case("garbage", 5000, DM_EXTRACT_FAILED, "not an answer", false);
    fake_case("toolong", 5000, DM_EXTRACT_FAILED, "longer than asked", false);
    /* Stops reading early: no SIGPIPE for us, its answer stands. */
    fake_case("early", 5000, DM_EXTRACT_LIMIT, NULL, false);
}

static void test_pool_streams_and_limits(void **state)
{
    char *exe = in_build("extract-fake");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p;
    dm_extract_budget b = {0};
    dm_extract_result r;
    static char doc[3 << 20];

    (void)state;
    memset(doc, 'b', sizeof doc);
    c.max_bytes = 2 << 20;
    c.max_text = 1 << 20;
    c.max_text_total = (1 << 20) + 1000;
    c.max_attachments = 3;
    p = dm_extract_pool_new(&c, false);
    /* 1.5 MB through the pipes, 1 MB of it back as text. */
    read_doc(p, &b, doc, 1536 << 10, "text/x-test", "echo", &r);
    assert_int_equal(r.status, DM_EXTRACT_READ);
    assert_int_equal(r.text_len, 1 << 20);
    dm_extract_result_clear(&r);
    /* Over max_bytes: not read. */
    read_doc(p, &b, doc, sizeof doc, "text/x-test", "echo", &r);
    assert_int_equal(r.status, DM_EXTRACT_LIMIT);
    assert_contains(r.why, "larger than");
    dm_extract_result_clear(&r);
    /* What is left of the message's text: 1000 bytes. */
    assert_int_equal(dm_extract_budget_text(p, &b), 1000);
    read_doc(p, &b, doc, 5000, "text/x-test", "echo", &r);
    assert_int_equal(r.status, DM_EXTRACT_READ);
    assert_int_equal(r.text_len, 1000);
    dm_extract_result_clear(&r);
    /* Three attachments read: the fourth is over the count. */
    assert_int_equal(b.attachments, 3);
    assert_false(dm_extract_budget_allows(p, &b));
    read_doc(p, &b, doc, 10, "text/x-test", "echo", &r);
    assert_int_equal(r.status, DM_EXTRACT_LIMIT);
    dm_extract_result_clear(&r);
    dm_extract_pool_free(p);
    /* The message's time spent: nothing more is read. */
    c.max_attachments = 20;
    c.message_timeout_ms = 300;
    c.timeout_ms = 10000;
    p = dm_extract_pool_new(&c, false);
    memset(&b, 0, sizeof b);
    read_doc(p, &b, doc, 10, "text/x-test", "hang", &r);
    assert_int_equal(r.status, DM_EXTRACT_TIMEOUT);
    assert_true(r.wall_us < 1000000);
    dm_extract_result_clear(&r);
    read_doc(p, &b, doc, 10, "text/x-test", "echo", &r);
    assert_int_equal(r.status, DM_EXTRACT_LIMIT);
    dm_extract_result_clear(&r);
    dm_extract_pool_free(p);
    assert_no_children();
    g_free(exe);
}

static void test_pool_missing_extractor(void **state)
{
    dm_extract_conf c = conf_for("/nonexistent/diariemilter-extract");
    dm_extract_pool *p = dm_extract_pool_new(&c, true);
    dm_extract_budget b = {0};
    dm_extract_result r;

    (void)state;
    read_doc(p, &b, "%PDF-1.4", 8, "application/pdf", "a.pdf", &r);
    assert_int_equal(r.status, DM_EXTRACT_FAILED);
    assert_contains(r.why, "no attachment reader");
    dm_extract_result_clear(&r);
    dm_extract_pool_free(p);
}

/* ---- the plug into mime/ ----------------------------------------------------- */

static dm_msg *extract_file(const char *msgname, dm_extract_pool *p)
{
    dm_conf *conf = dm_conf_new_defaults();
    dm_mime_limits lim;
    char *rel = g_strconcat("attach/messages/", msgname, ".eml", NULL);
    char *path = in_build(rel);
    gsize len;
    char *data = dm_test_read(path, &len);
    dm_msg *m;

    dm_mime_limits_from_conf(conf, &lim);
    lim.extract = p;
    m = dm_mime_extract_buffer(data, len, &lim);
    dm_conf_unref(conf);
    g_free(data);
    g_free(path);
    g_free(rel);
    return m;
}

static void test_mime_reads_attachments(void **state)
{
    char *exe = in_build("diariemilter-extract");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p = dm_extract_pool_new(&c, false);
    dm_msg *m;
    const dm_attachment *a;

    (void)state;
    m = extract_file("pdf-case", p);
    assert_int_equal(m->attachments->len, 1);
    a = g_ptr_array_index(m->attachments, 0);
    assert_int_equal(a->status, DM_ATT_READ);
    assert_string_equal(a->format, "pdf");
    assert_int_equal(a->pages, 2);
    assert_contains(a->text, "BN 2026/45");
    assert_contains(a->text, "\f"); /* between the pages */
    /* The rules read it after the body, under a line naming it. */
    assert_contains(m->text->str, "se bifogad fil");
    assert_contains(m->text->str, "\n---------- Bilaga: ansokan.pdf ----------\nKomplettering");
    assert_true(strstr(m->text->str, "se bifogad fil") < strstr(m->text->str, "BN 2026/45"));
    assert_null(strchr(m->text->str, '\f'));
    /* The segments: the body without the attachment's text, then its
     * name and its pages, one segment each, named and numbered. */
    {
        int pages = 0;

        for (guint i = 0; i < m->segments->len; i++) {
            const dm_segment *s = g_ptr_array_index(m->segments, i);
            if (s->kind == DM_SEG_BODY)
                assert_null(strstr(s->text, "BN 2026/45"));
            if (s->kind == DM_SEG_ATTACHMENT) {
                pages++;
                assert_string_equal(s->source, "ansokan.pdf");
                assert_int_equal(s->page, pages);
                if (pages == 1)
                    assert_contains(s->text, "BN 2026/45");
                else
                    assert_contains(s->text, "Sökande");
            }
        }
        assert_int_equal(pages, 2);
    }
    dm_msg_free(m);

    /* Without a pool: listed, not read. */
    m = extract_file("pdf-case", NULL);
    a = g_ptr_array_index(m->attachments, 0);
    assert_int_equal(a->status, DM_ATT_NOT_TRIED);
    assert_null(a->text);
    assert_null(strstr(m->text->str, "BN 2026/45"));
    dm_msg_free(m);

    /* A hostile one: a status, the message read all the same. */
    m = extract_file("hostile-encrypted-pdf", p);
    a = g_ptr_array_index(m->attachments, 0);
    assert_int_equal(a->status, DM_ATT_ENCRYPTED);
    assert_contains(m->text->str, "Se bifogad fil");
    assert_null(strstr(m->text->str, "Bilaga:"));
    dm_msg_free(m);
    m = extract_file("hostile-pages-10000-pdf", p);
    a = g_ptr_array_index(m->attachments, 0);
    assert_int_equal(a->status, DM_ATT_READ);
    assert_true(a->cut);
    assert_true(strlen(a->text) <= 256 << 10);
    dm_msg_free(m);
    dm_extract_pool_free(p);
    g_free(exe);
}

/* Messages without attachments, and attachments that are not read (an
 * image), never reach the pool: a pool that cannot start a worker shows
 * it ("failed" would be the status). */
static void test_mime_pool_untouched(void **state)
{
    static const char img[] =
        "From: a@invanare.example\nTo: b@sjovik.test\nSubject: bild\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nHej\n"
        "--B\nContent-Type: image/png\nContent-Disposition: attachment; filename=bild.png\n"
        "Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n"
        "--B\nContent-Type: text/plain; charset=iso-8859-1\n"
        "Content-Disposition: attachment; filename=lista.txt\n\n\xc4rende BUN 2026/33\n--B--\n";
    dm_extract_conf c = conf_for("/nonexistent/reader");
    dm_extract_pool *p = dm_extract_pool_new(&c, false);
    dm_conf *conf = dm_conf_new_defaults();
    dm_mime_limits lim;
    dm_msg *m;
    const dm_attachment *a;

    (void)state;
    dm_mime_limits_from_conf(conf, &lim);
    lim.extract = p;
    m = extract_file("no-attachment", p);
    assert_int_equal(m->attachments->len, 0);
    dm_msg_free(m);
    m = dm_mime_extract_buffer(img, sizeof img - 1, &lim);
    assert_int_equal(m->attachments->len, 2);
    a = g_ptr_array_index(m->attachments, 0);
    assert_int_equal(a->status, DM_ATT_UNSUPPORTED);
    /* A text file is read here, in its charset, like a text part. */
    a = g_ptr_array_index(m->attachments, 1);
    assert_int_equal(a->status, DM_ATT_READ);
    assert_string_equal(a->format, "text");
    assert_contains(a->text, "Ärende BUN 2026/33");
    assert_contains(m->text->str, "---------- Bilaga: lista.txt ----------\nÄrende BUN 2026/33");
    dm_msg_free(m);
    dm_conf_unref(conf);
    dm_extract_pool_free(p);
}

static void test_cover_note_lists_attachments(void **state)
{
    char *exe = in_build("diariemilter-extract");
    dm_extract_conf c = conf_for(exe);
    dm_extract_pool *p = dm_extract_pool_new(&c, false);
    dm_msg *m = extract_file("pdf-case", p);
    dm_msg *h = extract_file("hostile-scan-pdf", p);
    char *dir = dm_test_path("etc/templates");
    dm_templates *t = dm_templates_load(dir, DM_LANG_SV, NULL);
    dm_verdict *v = dm_verdict_new();
    char *rcpts[] = {"erik.sjoberg@sjovik.test", NULL};
    dm_compose_info ci = {.id = "test0000000000000000", .env_from = "maria.karlsson@example.org",
                          .rcpts = rcpts, .n_rcpts = 1, .msg = m, .verdict = v, .sha256 = "0",
                          .from_header = "Diariemilter <postmaster@sjovik.test>",
                          .now = 1795000000};
    const char *eml = "From: a@b\nSubject: x\n\nx\n";

    (void)state;
    assert_non_null(t);
    v->klass = DM_CLASS_REGISTRERAS;
    for (int k = 0; k < 2; k++) {
        GMimeStream *in = g_mime_stream_mem_new_with_buffer(eml, strlen(eml));
        GMimeStream *out = g_mime_stream_mem_new();
        GByteArray *ba;
        char *copy;

        ci.msg = k == 0 ? m : h;
        assert_true(dm_mime_write_copy(out, &ci, "registrator@sjovik.test", in, t, NULL));
        ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
        copy = g_strndup((const char *)ba->data, ba->len);
        /* The cover note is quoted-printable: compare its decoded form. */
        {
            dm_mime_limits lim;
            dm_conf *conf = dm_conf_new_defaults();
            dm_msg *cm;

            dm_mime_limits_from_conf(conf, &lim);
            cm = dm_mime_extract_buffer(copy, strlen(copy), &lim);
            if (k == 0) {
                assert_contains(cm->text->str, "Bilagor:      ansokan.pdf (application/pdf, 1");
                assert_contains(cm->text->str, " kB): texten lästes, 2 sidor");
            } else {
                assert_contains(cm->text->str, "Bilagor:      scan.pdf (application/pdf, 1");
                assert_contains(cm->text->str, " kB): ingen text (inskannad?)");
            }
            dm_msg_free(cm);
            dm_conf_unref(conf);
        }
        g_free(copy);
        g_object_unref(in);
        g_object_unref(out);
    }
    dm_verdict_free(v);
    dm_templates_free(t);
    g_free(dir);
    dm_msg_free(m);
    dm_msg_free(h);
    dm_extract_pool_free(p);
    g_free(exe);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_proto_request),
        cmocka_unit_test(test_proto_answer),
        cmocka_unit_test(test_pool_reads_documents),
        cmocka_unit_test(test_pool_page_limit),
        cmocka_unit_test(test_pool_warm_refill),
        cmocka_unit_test(test_pool_deadline_kills),
        cmocka_unit_test(test_pool_crashes),
        cmocka_unit_test(test_pool_streams_and_limits),
        cmocka_unit_test(test_pool_missing_extractor),
        cmocka_unit_test(test_mime_reads_attachments),
        cmocka_unit_test(test_mime_pool_untouched),
        cmocka_unit_test(test_cover_note_lists_attachments),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
