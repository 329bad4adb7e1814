/*
 * The attachment readers (extract/worker/), in-process under ASan and
 * UBSan without the sandbox: every generated fixture of
 * tests/attach/make-fixtures.py (build/attach/expect.tsv: its status and
 * the words its text must hold), the bounded text, the RTF reader on
 * hand-written input, and requests that are not requests; and the
 * sandbox's filter itself: what it must deny kills the process.
 */
#include "dm_test.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm_extract_worker.h"

static char *build_dir;

static int group_setup(void **state)
{
    const char *b = getenv("DM_BUILD");

    (void)state;
    build_dir = b != NULL ? g_strdup(b) : dm_test_path("build");
    dm_extract_libs_init();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    g_free(build_dir);
    return 0;
}

/* Wrap data in a request with these limits and hand it over; the answer
 * decoded into r. */
static void handle(const void *data, size_t len, const char *type, const char *name,
                   uint64_t max_text, uint32_t max_pages, uint32_t max_depth, dm_extract_resp *r)
{
    dm_extract_req q = {.max_bytes = 25 << 20, .max_text = max_text, .max_expanded = 100 << 20,
                        .max_pages = max_pages, .max_entries = 2000, .max_ratio = 100,
                        .max_depth = max_depth, .type = (char *)type, .name = (char *)name,
                        .charset = ""};
    GByteArray *req = g_byte_array_new(), *ans = g_byte_array_new();

    dm_extract_req_encode(&q, req);
    g_byte_array_append(req, data, (guint)len);
    dm_extract_handle_request(req->data, req->len, ans);
    assert_true(dm_extract_resp_decode(ans->data, ans->len, max_text, r));
    g_byte_array_free(req, TRUE);
    g_byte_array_free(ans, TRUE);
}

/* "BN 2026/45|x\ty": the words, with \t and \n for tab and line end. */
static char **expected_words(const char *field)
{
    char **w = g_strsplit(field, "|", -1);

    for (char **p = w; *p != NULL; p++) {
        GString *s = g_string_new(NULL);
        for (const char *c = *p; *c != '\0'; c++) {
            if (c[0] == '\\' && c[1] == 't') {
                g_string_append_c(s, '\t');
                c++;
            } else if (c[0] == '\\' && c[1] == 'n') {
                g_string_append_c(s, '\n');
                c++;
            } else {
                g_string_append_c(s, *c);
            }
        }
        g_free(*p);
        *p = g_string_free(s, FALSE);
    }
    return w;
}

static bool status_ok(const char *want, dm_extract_status got)
{
    if (strcmp(want, "any") == 0)
        return true;
    if (strcmp(want, "text") == 0)
        return got == DM_EXTRACT_READ;
    if (strcmp(want, "limit-or-read") == 0)
        return got == DM_EXTRACT_LIMIT || got == DM_EXTRACT_READ;
    return strcmp(want, dm_extract_status_name(got)) == 0;
}

static void test_fixtures(void **state)
{
    char *path = g_build_filename(build_dir, "attach", "expect.tsv", NULL);
    char *text = dm_test_read(path, NULL);
    char **lines = g_strsplit(text, "\n", -1);
    int n = 0, bad = 0;

    (void)state;
    for (char **l = lines; *l != NULL; l++) {
        char **f = g_strsplit(*l, "\t", 4);
        char *file;
        char *data;
        gsize len;
        dm_extract_resp r;

        /* The CPU bomb takes seconds: the pool's tests and attach-test
         * stop it at a deadline. */
        if (g_strv_length(f) < 3 || strcmp(f[2], "slow") == 0) {
            g_strfreev(f);
            continue;
        }
        file = g_build_filename(build_dir, "attach", "files", f[0], NULL);
        data = dm_test_read(file, &len);
        handle(data, len, f[1], f[0], 256 << 10, 100, 10, &r);
        n++;
        if (!status_ok(f[2], r.status)) {
            print_error("%s: %s, expected %s\n", f[0], dm_extract_status_name(r.status), f[2]);
            bad++;
        }
        if (f[3] != NULL && *f[3] != '\0') {
            char **words = expected_words(f[3]);
            for (char **w = words; *w != NULL; w++) {
                if (strstr(r.text, *w) == NULL) {
                    print_error("%s: \"%s\" not in its text:\n%s\n", f[0], *w, r.text);
                    bad++;
                }
            }
            g_strfreev(words);
        }
        /* Only read text travels; it is bounded; valid UTF-8 is checked
         * by the decoding. */
        if (r.status != DM_EXTRACT_READ)
            assert_int_equal(r.text_len, 0);
        assert_true(r.text_len <= 256 << 10);
        dm_extract_resp_clear(&r);
        g_free(data);
        g_free(file);
        g_strfreev(f);
    }
    assert_true(n >= 25);
    assert_int_equal(bad, 0);
    g_strfreev(lines);
    g_free(text);
    g_free(path);
}

/* Small limits on the fixtures: cut where asked, never more. */
static void test_fixture_limits(void **state)
{
    static const char *const files[] = {"ansokan.pdf", "pages-10000.pdf", "utredning.xlsx",
                                        "presentation.pptx", "brev.rtf", "winmail.dat",
                                        "overklagande.docx", "yttrande.odt"};

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *file = g_build_filename(build_dir, "attach", "files", files[i], NULL);
        gsize len;
        char *data = dm_test_read(file, &len);
        dm_extract_resp r;

        handle(data, len, NULL, files[i], 40, 1, 10, &r);
        assert_true(r.text_len <= 40);
        assert_true(r.pages <= 1);
        if (r.text_len == 40)
            assert_true(r.flags & (DM_EXTRACT_F_TEXT_CUT | DM_EXTRACT_F_PAGES));
        dm_extract_resp_clear(&r);
        g_free(data);
        g_free(file);
    }
}

static void test_tnef_depth(void **state)
{
    char *file = g_build_filename(build_dir, "attach", "files", "nested-winmail.dat", NULL);
    gsize len;
    char *data = dm_test_read(file, &len);
    dm_extract_resp r;

    (void)state;
    handle(data, len, "application/ms-tnef", "winmail.dat", 256 << 10, 100, 3, &r);
    assert_int_equal(r.status, DM_EXTRACT_READ);
    assert_true(r.flags & DM_EXTRACT_F_PARTIAL);
    assert_non_null(strstr(r.text, "Nivå 57"));
    assert_null(strstr(r.text, "Nivå 56"));
    dm_extract_resp_clear(&r);
    g_free(data);
    g_free(file);
}

static void test_text_bounds(void **state)
{
    dm_extract_text t = {.s = g_string_new(NULL), .max = 6};

    (void)state;
    assert_true(dm_extract_text_add(&t, "a\r\nb\x01", 5));
    assert_string_equal(t.s->str, "a\nb ");
    /* "ö" is two bytes: not cut in half. */
    assert_false(dm_extract_text_add(&t, "öö", 4));
    assert_string_equal(t.s->str, "a\nb ö");
    assert_true(t.flags & DM_EXTRACT_F_TEXT_CUT);
    assert_false(dm_extract_text_add(&t, "x", 1));
    g_string_free(t.s, TRUE);
    t = (dm_extract_text){.s = g_string_new(NULL), .max = 100};
    /* Invalid UTF-8 is made valid; a NUL ends what is taken. */
    assert_true(dm_extract_text_add(&t, "a\xffz", 3));
    assert_true(g_utf8_validate(t.s->str, -1, NULL));
    g_string_free(t.s, TRUE);
}

static char *rtf_text(const char *rtf)
{
    dm_extract_req q = {.max_text = 4096};
    dm_extract_text t = {.s = g_string_new(NULL), .max = 4096};

    dm_extract_rtf((const guint8 *)rtf, strlen(rtf), &q, &t);
    return g_string_free(t.s, FALSE);
}

static void test_rtf(void **state)
{
    static const struct {
        const char *rtf, *text;
    } cases[] = {
        {"{\\rtf1 Hej\\par d\\'e5}", "Hej\ndå"},
        /* The code page; a double-byte one converts whole. */
        {"{\\rtf1\\ansi\\ansicpg1251 \\'cf\\'f0}", "Пр"},
        {"{\\rtf1\\ansicpg932 \\'82\\'a0}", "あ"},
        /* \u and its fallback, \uc, surrogates, negative numbers. */
        {"{\\rtf1 a\\u246?b}", "aöb"},
        {"{\\rtf1\\uc2 a\\u246xxb}", "aöb"},
        {"{\\rtf1\\uc0 a\\u246 b}", "aöb"},
        {"{\\rtf1 \\u-10179?\\u-8704?}", "\U0001F600"},
        {"{\\rtf1 {\\uc3 \\u8364abc}\\u8364?}", "€€"},
        /* Destinations not read; \* ones either; field results read. */
        {"{\\rtf1{\\fonttbl{\\f0 Arial;}}{\\colortbl;\\red1;}{\\info{\\title T}}A}", "A"},
        {"{\\rtf1{\\*\\unknowndest x}B}", "B"},
        {"{\\rtf1{\\field{\\*\\fldinst HYPERLINK x}{\\fldrslt L}}}", "L"},
        {"{\\rtf1{\\header Sidhuvud}\\par X}", "Sidhuvud\nX"},
        /* Control symbols, \bin, a word running into text. */
        {"{\\rtf1 a\\~b\\-c\\_d\\{e\\}f\\\\g}", "a\u00a0bc-d{e}f\\g"},
        {"{\\rtf1 \\bin4 {{{{x}", "x"},
        {"{\\rtf1 \\tab x\\cell y\\row}", "\tx\ty\n"},
        {"{\\rtf1 \\parTecken}", ""},
        /* Broken: unbalanced, cut short, huge numbers, deep nesting. */
        {"{\\rtf1 a}}}}b", "ab"},
        {"{\\rtf1 a\\'", "a"},
        {"{\\rtf1 a\\u99999999999999999999?b}", "ab"},
        {"{\\rtf1 \\bin99999999999", ""},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = rtf_text(cases[i].rtf);
        if (strcmp(got, cases[i].text) != 0) {
            print_error("%s\n  gives \"%s\"\n  not   \"%s\"\n", cases[i].rtf, got, cases[i].text);
            fail();
        }
        g_free(got);
    }
    {
        /* 100,000 groups deep: no stack for each, text still read. */
        GString *deep = g_string_new("{\\rtf1 ");
        char *got;
        for (int i = 0; i < 100000; i++)
            g_string_append_c(deep, '{');
        g_string_append(deep, "djup");
        for (int i = 0; i < 100000; i++)
            g_string_append_c(deep, '}');
        g_string_append(deep, "yta}");
        got = rtf_text(deep->str);
        assert_string_equal(got, "yta");
        g_free(got);
        g_string_free(deep, TRUE);
    }
}

static void test_not_requests(void **state)
{
    static const char *const junk[] = {"", "DMX", "DMXQ\2\0\0\0", "GET / HTTP/1.0\r\n\r\n"};

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(junk); i++) {
        GByteArray *ans = g_byte_array_new();
        dm_extract_resp r;

        dm_extract_handle_request((const guint8 *)junk[i], strlen(junk[i]), ans);
        assert_true(dm_extract_resp_decode(ans->data, ans->len, 0, &r));
        assert_int_equal(r.status, DM_EXTRACT_FAILED);
        dm_extract_resp_clear(&r);
        g_byte_array_free(ans, TRUE);
    }
    {
        /* More data than max_bytes: limit, nothing parsed. */
        dm_extract_req q = {.max_bytes = 3, .max_text = 10, .type = "", .name = "",
                            .charset = ""};
        GByteArray *req = g_byte_array_new(), *ans = g_byte_array_new();
        dm_extract_resp r;

        dm_extract_req_encode(&q, req);
        g_byte_array_append(req, (const guint8 *)"%PDF-1.4", 8);
        dm_extract_handle_request(req->data, req->len, ans);
        assert_true(dm_extract_resp_decode(ans->data, ans->len, 10, &r));
        assert_int_equal(r.status, DM_EXTRACT_LIMIT);
        dm_extract_resp_clear(&r);
        g_byte_array_free(req, TRUE);
        g_byte_array_free(ans, TRUE);
    }
}

/* What a child does inside the filter (dm_extract_sandbox_seccomp): the
 * first ones the filter must kill (SIGSYS), the last what reading needs. */
enum sandbox_act {
    ACT_SOCKET, ACT_OPEN_WRITE, ACT_OPEN_CREATE, ACT_WRITE_HIGH_FD, ACT_FORK, ACT_EXEC,
    ACT_UNLINK, ACT_READ_ONLY,
};

/* exit_group itself: ASan's _exit makes calls of its own (sigaltstack)
 * that the filter would kill, and a kill on the way out would pass for a
 * denial. */
static void sandbox_exit(int code)
{
    syscall(SYS_exit_group, code);
}

static void sandbox_child(enum sandbox_act act, const char *dir, int high_fd)
{
    char path[4096];
    char buf[64];
    int fd;

    if (!dm_extract_sandbox_seccomp())
        sandbox_exit(71);
    switch (act) {
    case ACT_SOCKET:
        (void)socket(AF_INET, SOCK_STREAM, 0);
        break;
    case ACT_OPEN_WRITE:
        snprintf(path, sizeof path, "%s/existing", dir);
        (void)open(path, O_WRONLY);
        break;
    case ACT_OPEN_CREATE:
        snprintf(path, sizeof path, "%s/new", dir);
        (void)open(path, O_RDONLY | O_CREAT, 0600);
        break;
    case ACT_WRITE_HIGH_FD:
        if (write(high_fd, "x", 1) == 1)
            sandbox_exit(2);
        break;
    case ACT_FORK:
        (void)fork();
        break;
    case ACT_EXEC:
        execl("/bin/true", "true", (char *)NULL);
        break;
    case ACT_UNLINK:
        snprintf(path, sizeof path, "%s/existing", dir);
        (void)unlink(path);
        break;
    case ACT_READ_ONLY:
        snprintf(path, sizeof path, "%s/existing", dir);
        fd = open(path, O_RDONLY);
        if (fd < 0 || read(fd, buf, sizeof buf) != 2 || write(2, "", 0) != 0)
            sandbox_exit(1);
        close(fd);
        break;
    }
    sandbox_exit(0);
}

static void test_sandbox_denies(void **state)
{
    static const struct {
        enum sandbox_act act;
        const char *what;
    } denied[] = {
        {ACT_SOCKET, "socket"},           {ACT_OPEN_WRITE, "open for writing"},
        {ACT_OPEN_CREATE, "open O_CREAT"}, {ACT_WRITE_HIGH_FD, "write to fd > 3"},
        {ACT_FORK, "fork"},               {ACT_EXEC, "execve"},
        {ACT_UNLINK, "unlink"},
    };
    char *dir = g_dir_make_tmp("dm-sandbox-XXXXXX", NULL);
    char *existing = g_build_filename(dir, "existing", NULL);
    char *created = g_build_filename(dir, "new", NULL);
    int pipefd[2];
    char b;

    (void)state;
    assert_non_null(dir);
    assert_true(g_file_set_contents(existing, "ok", 2, NULL));
    assert_int_equal(pipe(pipefd), 0);
    assert_true(pipefd[1] > 3);
    for (size_t i = 0; i <= G_N_ELEMENTS(denied); i++) {
        enum sandbox_act act = i < G_N_ELEMENTS(denied) ? denied[i].act : ACT_READ_ONLY;
        int status = 0;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
            sandbox_child(act, dir, pipefd[1]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (act == ACT_READ_ONLY) {
            /* What reading needs passes: the test can tell the two apart. */
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("reading a file: the filter stopped it (status %#x)", status);
        } else if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
            fail_msg("%s: the filter let it through (status %#x)", denied[i].what, status);
        }
    }
    /* Nothing written, nothing made, nothing removed. */
    assert_true(g_file_test(existing, G_FILE_TEST_EXISTS));
    assert_false(g_file_test(created, G_FILE_TEST_EXISTS));
    assert_int_equal(fcntl(pipefd[0], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(read(pipefd[0], &b, 1), -1);
    close(pipefd[0]);
    close(pipefd[1]);
    unlink(existing);
    rmdir(dir);
    g_free(existing);
    g_free(created);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),       cmocka_unit_test(test_fixture_limits),
        cmocka_unit_test(test_tnef_depth),     cmocka_unit_test(test_text_bounds),
        cmocka_unit_test(test_rtf),            cmocka_unit_test(test_not_requests),
        cmocka_unit_test(test_sandbox_denies),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
