/*
 * common/dm_util (addresses, times, ids, digests, JSON strings, durable
 * writes), common/dm_key and the name parsers of common/dm_log.
 */
#include "dm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm_key.h"
#include "dm_log.h"
#include "dm_util.h"

/* ---- local helpers -------------------------------------------------------- */

/* Is s (len bytes) exactly one JSON string literal (RFC 8259)? */
static bool json_string_literal_ok(const char *s, size_t len)
{
    size_t i = 1;

    if (len < 2 || s[0] != '"' || s[len - 1] != '"')
        return false;
    if (!g_utf8_validate(s, (gssize)len, NULL))
        return false;
    while (i < len - 1) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == '"')
            return false;
        if (c == '\\') {
            char e = s[i + 1];
            if (i + 1 >= len - 1)
                return false;
            if (e == 'u') {
                if (i + 5 > len - 2)
                    return false;
                for (int k = 2; k <= 5; k++) {
                    if (!g_ascii_isxdigit(s[i + k]))
                        return false;
                }
                i += 6;
                continue;
            }
            if (strchr("\"\\/bfnrt", e) == NULL || e == '\0')
                return false;
            i += 2;
            continue;
        }
        i++;
    }
    return i == len - 1;
}

static char *json_of(const char *s)
{
    GString *out = g_string_new(NULL);

    dm_json_string(out, s);
    return g_string_free(out, FALSE);
}

/* Python's json.dumps(json.loads(text)) (ASCII, sorted keys): a strict
 * second parser.  NULL when python3 is not installed; fails the test when
 * python cannot parse the text. */
static char *python_json_canon(const char *text)
{
    char *argv[] = {"python3", "-c",
                    "import json,sys\n"
                    "sys.stdout.write(json.dumps(json.loads(sys.argv[1]), sort_keys=True))",
                    (char *)text, NULL};
    char *out = NULL, *errs = NULL;
    gint status = 0;
    GError *err = NULL;

    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errs, &status,
                      &err)) {
        g_error_free(err);
        return NULL;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        print_error("python3 cannot parse %s: %s\n", text, errs);
        g_free(out);
        g_free(errs);
        fail();
    }
    g_free(errs);
    return out;
}

/* ---- addresses -------------------------------------------------------------- */

static void test_addr_normalize(void **state)
{
    static const char *const cases[][2] = {
        {"<Erik.Sjoberg@SJOVIK.test>", "erik.sjoberg@sjovik.test"},
        {"Erik.Sjoberg@SJOVIK.test", "erik.sjoberg@sjovik.test"},
        {"<>", ""},
        {"", ""},
        {"  <>  ", ""},
        {"  <Anna.Lind@Sjovik.Test>\t", "anna.lind@sjovik.test"},
        {" bengt.ek@example.net \r\n", "bengt.ek@example.net"},
        {"<bounces+ip2231@mail.laromedel-nova.example>",
         "bounces+ip2231@mail.laromedel-nova.example"},
        {"<a@b>", "a@b"},
        /* Unbalanced brackets are not stripped half-way. */
        {"<a@b", "<a@b"},
    };
    char *s;

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        s = dm_addr_normalize(cases[i][0]);
        if (strcmp(s, cases[i][1]) != 0) {
            print_error("normalize(\"%s\") = \"%s\", want \"%s\"\n", cases[i][0], s,
                        cases[i][1]);
            fail();
        }
        g_free(s);
    }
    s = dm_addr_normalize(NULL);
    assert_string_equal(s, "");
    g_free(s);
}

static void test_addr_domain(void **state)
{
    (void)state;
    assert_string_equal(dm_addr_domain("erik.sjoberg@sjovik.test"), "sjovik.test");
    assert_string_equal(dm_addr_domain("kansli@parti-a.example"), "parti-a.example");
    assert_string_equal(dm_addr_domain("\"a@b\"@c.example"), "c.example");
    assert_string_equal(dm_addr_domain("postmaster"), "");
    assert_string_equal(dm_addr_domain(""), "");
    assert_string_equal(dm_addr_domain("x@"), "");
}

static void check_client_addr(const struct sockaddr *sa, const char *macro, const char *want)
{
    char *got = dm_client_addr(sa, macro);

    if (g_strcmp0(got, want) != 0) {
        print_error("client_addr(%s, \"%s\") = %s, want %s\n",
                    sa == NULL ? "NULL" : sa->sa_family == AF_INET ? "AF_INET"
                                          : sa->sa_family == AF_INET6 ? "AF_INET6"
                                                                       : "other",
                    macro ? macro : "(null)", got ? got : "NULL", want ? want : "NULL");
        g_free(got);
        fail();
    }
    g_free(got);
}

/* The connect step's socket address wins over the macro; the macro is the
 * fallback, in Postfix's and in Sendmail's spelling. */
static void test_client_addr(void **state)
{
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(25)};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/run/x.sock"};
    static const char *const macros[][2] = {
        {"192.0.2.7", "192.0.2.7"},
        {"2001:db8::1", "2001:db8::1"},
        {"IPv6:2001:db8::1", "2001:db8::1"},   /* Sendmail */
        {"ipv6:2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"[192.0.2.7]", "192.0.2.7"},
        {"::ffff:10.20.1.15", "10.20.1.15"},
        {"IPv6:::1", "::1"},
        {"", NULL},
        {"unknown", NULL},
        {"192.0.2.7 ", NULL},
        {"mail.example.net", NULL},
        {"IPv6:", NULL},
        {"[]", NULL},
    };

    (void)state;
    inet_pton(AF_INET, "10.20.1.15", &in.sin_addr);
    check_client_addr((struct sockaddr *)&in, NULL, "10.20.1.15");
    check_client_addr((struct sockaddr *)&in, "203.0.113.25", "10.20.1.15");
    inet_pton(AF_INET6, "2001:db8:20::15", &in6.sin6_addr);
    check_client_addr((struct sockaddr *)&in6, "IPv6:2001:db8::99", "2001:db8:20::15");
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
    check_client_addr((struct sockaddr *)&in6, NULL, "127.0.0.1");
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    check_client_addr((struct sockaddr *)&in6, NULL, "::1");
    /* No IP in the connect step: the macro, or nothing. */
    check_client_addr((struct sockaddr *)&un, "192.0.2.7", "192.0.2.7");
    check_client_addr((struct sockaddr *)&un, NULL, NULL);
    check_client_addr(NULL, NULL, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(macros); i++)
        check_client_addr(NULL, macros[i][0], macros[i][1]);
}

/* ---- times ------------------------------------------------------------------- */

static void test_time_iso8601(void **state)
{
    static const struct {
        const char *s;
        int64_t t;
    } ok[] = {
        {"2026-11-16T07:25:48Z", 1794813948},
        {"2026-11-16T08:25:48+01:00", 1794813948},
        {"2026-11-16T02:25:48-05:00", 1794813948},
        {"2026-11-29T23:59:59Z", 1795996799},
        {"2000-02-29T12:00:00Z", 951825600},
        {"1970-01-01T00:00:00Z", 0},
    };
    static const char *const bad[] = {
        "", "now", "2026-11-16", "2026-13-16T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-16T25:00:00Z", "2026-11-16T07:61:00Z", "2026-11-16 junk",
        "16/11/2026 07:25",
    };
    int64_t t;

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        t = -1;
        if (!dm_time_parse_iso8601(ok[i].s, &t) || t != ok[i].t) {
            print_error("iso8601 \"%s\": want %lld got %lld\n", ok[i].s, (long long)ok[i].t,
                        (long long)t);
            fail();
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (dm_time_parse_iso8601(bad[i], &t)) {
            print_error("iso8601 \"%s\" accepted as %lld\n", bad[i], (long long)t);
            fail();
        }
    }
}

static void test_time_generalized(void **state)
{
    static const struct {
        const char *s;
        int64_t t;
    } ok[] = {
        {"20261129235959Z", 1795996799},     /* Fatima's diarieAbsentUntil */
        {"20261116000000Z", 1794787200},     /* Fatima's diarieAbsentFrom */
        {"20261120000000Z", 1795132800},     /* Ivan's diarieAbsentFrom */
        {"20261206235959Z", 1796601599},     /* Ivan's diarieAbsentUntil */
        {"2026111600Z", 1794787200},         /* minutes and seconds optional */
        {"202611160000Z", 1794787200},
        {"20261116000000.123Z", 1794787200}, /* fractions ignored */
        {"20261116000000,5Z", 1794787200},
        {"20261130005959+0100", 1795996799},
        {"20261129225959-0100", 1795996799},
        {"20000229120000Z", 951825600},
    };
    static const char *const bad[] = {
        "", "2026", "20261116", "20261116Z", "2026111600", "20261116000000",
        "20261116000000X", "20261116000000Z ", "20261116000000Zjunk", "2026111600000Z",
        "20261130240000Z", "20260230000000Z", "20261301000000Z", "20261100000000Z",
        "20261116000000+01", "20261116000000+01000", "19000229000000Z", "x0261116000000Z",
        "2026-11-16T00:00:00Z",
    };
    int64_t t;

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        t = -1;
        if (!dm_time_parse_generalized(ok[i].s, &t) || t != ok[i].t) {
            print_error("generalized \"%s\": want %lld got %lld\n", ok[i].s,
                        (long long)ok[i].t, (long long)t);
            fail();
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (dm_time_parse_generalized(bad[i], &t)) {
            print_error("generalized \"%s\" accepted as %lld\n", bad[i], (long long)t);
            fail();
        }
    }
}

static void test_time_format(void **state)
{
    char buf[32];
    int64_t t = 0;

    (void)state;
    dm_time_format_iso8601(1795996799, buf, sizeof buf);
    assert_string_equal(buf, "2026-11-29T23:59:59Z");
    dm_time_format_iso8601(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
    /* 21 bytes are enough, as documented. */
    dm_time_format_iso8601(1794813948, buf, 21);
    assert_string_equal(buf, "2026-11-16T07:25:48Z");
    assert_true(dm_time_parse_iso8601(buf, &t));
    assert_int_equal(t, 1794813948);
}

/* ---- ids --------------------------------------------------------------------- */

static void check_id_format(const char *id)
{
    assert_int_equal(strlen(id), 20);
    for (int i = 0; i < 20; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z'))) {
            print_error("id \"%s\" has '%c'\n", id, id[i]);
            fail();
        }
    }
}

static uint64_t id_millis(const char *id)
{
    uint64_t ms = 0;

    for (int i = 0; i < 10; i++)
        ms = ms * 36 + (uint64_t)(g_ascii_isdigit(id[i]) ? id[i] - '0' : id[i] - 'a' + 10);
    return ms;
}

static void test_id_new(void **state)
{
    enum { N = 20000 };
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char prev[21] = "", id[21];
    uint64_t before = (uint64_t)(g_get_real_time() / 1000), after;

    (void)state;
    for (int i = 0; i < N; i++) {
        memset(id, 'X', sizeof id);
        dm_id_new(id);
        check_id_format(id);
        /* Sortable by creation time: the time part never goes back. */
        if (i > 0)
            assert_true(memcmp(prev, id, 10) <= 0);
        if (!g_hash_table_add(seen, g_strdup(id))) {
            print_error("duplicate id %s after %d\n", id, i);
            fail();
        }
        memcpy(prev, id, sizeof id);
    }
    after = (uint64_t)(g_get_real_time() / 1000);
    /* The first ten characters are the milliseconds since the epoch. */
    assert_true(id_millis(prev) + 1 >= before);
    assert_true(id_millis(prev) <= after + 1);
    assert_int_equal(g_hash_table_size(seen), N);
    g_hash_table_destroy(seen);
}

typedef struct {
    char (*ids)[21];
    int n;
} id_job;

static gpointer id_thread(gpointer data)
{
    id_job *j = data;

    for (int i = 0; i < j->n; i++)
        dm_id_new(j->ids[i]);
    return NULL;
}

static void test_id_threads(void **state)
{
    enum { T = 4, N = 5000 };
    char (*ids)[21] = g_malloc0(sizeof(char[21]) * T * N);
    id_job jobs[T];
    GThread *th[T];
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

    (void)state;
    for (int t = 0; t < T; t++) {
        jobs[t].ids = ids + t * N;
        jobs[t].n = N;
        th[t] = g_thread_new("ids", id_thread, &jobs[t]);
    }
    for (int t = 0; t < T; t++)
        g_thread_join(th[t]);
    for (int i = 0; i < T * N; i++) {
        check_id_format(ids[i]);
        if (!g_hash_table_add(seen, ids[i])) {
            print_error("duplicate id %s across threads\n", ids[i]);
            fail();
        }
    }
    g_hash_table_destroy(seen);
    g_free(ids);
}

/* ---- digests ----------------------------------------------------------------- */

static void test_sha256(void **state)
{
    char out[65];
    char *million = g_strnfill(1000000, 'a');

    (void)state;
    dm_sha256_hex("", 0, out);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    dm_sha256_hex("abc", 3, out);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    dm_sha256_hex(million, 1000000, out);
    assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    g_free(million);
}

static void test_hmac_sha256(void **state)
{
    char out[65];
    unsigned char key1[20], key6[131];
    const char *d6 = "Test Using Larger Than Block-Size Key - Hash Key First";

    (void)state;
    /* RFC 4231 test cases 1, 2 and 6. */
    memset(key1, 0x0b, sizeof key1);
    dm_hmac_sha256_hex(key1, sizeof key1, "Hi There", 8, out);
    assert_string_equal(out, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    dm_hmac_sha256_hex("Jefe", 4, "what do ya want for nothing?", 28, out);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key6, 0xaa, sizeof key6);
    dm_hmac_sha256_hex(key6, sizeof key6, d6, strlen(d6), out);
    assert_string_equal(out, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    dm_hmac_sha256_hex("key", 3, "", 0, out);
    assert_string_equal(out, "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
}

static void test_str_equal_ct(void **state)
{
    (void)state;
    assert_true(dm_str_equal_ct("", ""));
    assert_true(dm_str_equal_ct("abc", "abc"));
    assert_false(dm_str_equal_ct("abc", "abd"));
    assert_false(dm_str_equal_ct("abc", "abcd"));
    assert_false(dm_str_equal_ct("abcd", "abc"));
    assert_false(dm_str_equal_ct("", "a"));
    assert_false(dm_str_equal_ct("Abc", "abc"));
}

/* ---- text for terminals and logs ---------------------------------------------- */

static void test_text_escape(void **state)
{
    static const char *const cases[][2] = {
        {"plain Sjöberg åäö € \xf0\x9f\x98\x80", "plain Sjöberg åäö € \xf0\x9f\x98\x80"},
        {"", ""},
        {"a\r\nb\tc", "a\\r\\nb\\tc"},
        {"\x1b[2J\x1b]2;t\x07", "\\x1b[2J\\x1b]2;t\\x07"},
        {"\x01\x7f", "\\x01\\x7f"},
        {"\xc2\x9b" "31m", "\\u{009b}31m"},
        {"\xc2\x85", "\\u{0085}"},             /* NEL */
        {"\xe2\x80\xa8\xe2\x80\xa9", "\\u{2028}\\u{2029}"},
        {"a\xe2\x80\xae" "b\xe2\x81\xa6", "a\\u{202e}b\\u{2066}"},
        {"x\xe4y", "x\\xe4y"},                  /* not UTF-8 */
        {"\xe2\x82", "\\xe2\\x82"},
        {"C:\\dir", "C:\\dir"},                /* backslash kept */
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *t = dm_text_escaped(cases[i][0]);
        if (strcmp(t, cases[i][1]) != 0) {
            print_error("case %zu: text = [%s], want [%s]\n", i, t, cases[i][1]);
            fail();
        }
        g_free(t);
    }
    {
        GString *o = g_string_new("x");
        dm_text_escape(o, NULL);
        assert_string_equal(o->str, "x");
        g_string_free(o, TRUE);
    }
    /* Any bytes at all: the result holds no control character and no
     * C1 or separator, and is valid UTF-8. */
    for (int round = 0; round < 2000; round++) {
        char in[64];
        size_t n = (size_t)g_random_int_range(1, (int)sizeof in);
        char *t;

        for (size_t i = 0; i + 1 < n; i++)
            in[i] = (char)g_random_int_range(1, 256);
        in[n - 1] = '\0';
        t = dm_text_escaped(in);
        assert_true(g_utf8_validate(t, -1, NULL));
        for (const char *p = t; *p != '\0'; p = g_utf8_next_char(p))
            assert_false(dm_text_char_unsafe(g_utf8_get_char(p)));
        g_free(t);
    }
}

/* ---- JSON strings ------------------------------------------------------------ */

static void test_json_string_exact(void **state)
{
    static const char *const cases[][2] = {
        {"plain", "\"plain\""},
        {"", "\"\""},
        {"say \"hej\"", "\"say \\\"hej\\\"\""},
        {"C:\\dir", "\"C:\\\\dir\""},
        {"a\nb\rc\td", "\"a\\nb\\rc\\td\""},
        {"\x01\x08\x0c\x1f", "\"\\u0001\\u0008\\u000c\\u001f\""},
        /* DEL, C1, separators and bidi controls: escaped too, so a JSON
         * tool printing the string raw cannot move a terminal. */
        {"\x7f", "\"\\u007f\""},
        {"\xc2\x9b" "31m", "\"\\u009b31m\""},
        {"Sjöberg åäö €", "\"Sjöberg åäö €\""},
        {"\xe2\x80\xa8", "\"\\u2028\""},
        {"\xe2\x80\xae" "evil", "\"\\u202eevil\""},
        {"emoji \xf0\x9f\x98\x80", "\"emoji \xf0\x9f\x98\x80\""},
        {"/", "\"/\""},
        /* Invalid UTF-8: each bad byte becomes U+FFFD. */
        {"\xff", "\"\\ufffd\""},
        {"a\xc3", "\"a\\ufffd\""},
        {"\xc3\x28", "\"\\ufffd(\""},
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},
        {"x\xe4y", "\"x\\ufffdy\""}, /* Latin-1 ä */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""}, /* a surrogate */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
        {"\xe2\x82", "\"\\ufffd\\ufffd\""}, /* truncated at the end */
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *j = json_of(cases[i][0]);
        if (strcmp(j, cases[i][1]) != 0) {
            print_error("case %zu: json = [%s], want [%s]\n", i, j, cases[i][1]);
            fail();
        }
        assert_true(json_string_literal_ok(j, strlen(j)));
        g_free(j);
    }
    {
        char *j = json_of(NULL);
        assert_string_equal(j, "\"\"");
        g_free(j);
    }
    {
        /* It appends. */
        GString *out = g_string_new("{\"k\": ");
        dm_json_string(out, "v");
        g_string_append_c(out, '}');
        assert_string_equal(out->str, "{\"k\": \"v\"}");
        g_string_free(out, TRUE);
    }
}

/* What a strict JSON parser reads back is the input, with U+FFFD for
 * invalid bytes. */
static void test_json_string_roundtrip(void **state)
{
    static const char *const cases[][2] = {
        {"say \"hej\" \\ /", "\"say \\\"hej\\\" \\\\ /\""},
        {"a\nb\x01", "\"a\\nb\\u0001\""},
        {"Sj\xc3\xb6" "berg\xff", "\"Sj\\u00f6berg\\ufffd\""},
        {"\xe2\x82\xac \xf0\x9f\x98\x80", "\"\\u20ac \\ud83d\\ude00\""},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *j = json_of(cases[i][0]);
        char *canon = python_json_canon(j);

        if (canon == NULL) {
            g_free(j);
            skip();
        }
        if (strcmp(canon, cases[i][1]) != 0) {
            print_error("python read [%s] back as [%s], want [%s]\n", j, canon, cases[i][1]);
            fail();
        }
        g_free(canon);
        g_free(j);
    }
}

/* Random bytes: the output is always one valid JSON string literal. */
static void test_json_string_random(void **state)
{
    GRand *r = g_rand_new_with_seed(20261116);
    char buf[64];

    (void)state;
    for (int n = 0; n < 20000; n++) {
        int len = g_rand_int_range(r, 0, (gint32)sizeof buf);
        char *j;

        for (int i = 0; i < len; i++) {
            /* Mostly high bytes and controls, the interesting ones. */
            int pick = g_rand_int_range(r, 0, 4);
            buf[i] = (char)(pick == 0 ? g_rand_int_range(r, 1, 0x20)
                            : pick == 1 ? g_rand_int_range(r, 0x20, 0x80)
                                        : g_rand_int_range(r, 0x80, 0x100));
        }
        buf[len] = '\0';
        j = json_of(buf);
        if (!json_string_literal_ok(j, strlen(j))) {
            print_error("not a JSON string: [%s]\n", j);
            fail();
        }
        g_free(j);
    }
    g_rand_free(r);
}

/* ---- files ------------------------------------------------------------------- */

static int count_entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    int n = 0;

    assert_non_null(d);
    while (g_dir_read_name(d) != NULL)
        n++;
    g_dir_close(d);
    return n;
}

static void test_write_file_durable(void **state)
{
    char *dir = dm_test_tmpdir();
    char *path = g_build_filename(dir, "key", NULL);
    char *bad = g_build_filename(dir, "no", "such", "file", NULL);
    char *sub = g_build_filename(dir, "sub", NULL);
    char *text = NULL;
    gsize len = 0;
    GError *err = NULL;
    struct stat st;
    mode_t old = umask(022);

    (void)state;
    assert_true(dm_write_file_durable(path, "hello\0world", 11, 0640, &err));
    assert_null(err);
    assert_true(g_file_get_contents(path, &text, &len, NULL));
    assert_int_equal(len, 11);
    assert_memory_equal(text, "hello\0world", 11);
    g_free(text);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    /* No temporary file is left behind. */
    assert_int_equal(count_entries(dir), 1);

    /* Replacing keeps one file with the new content only. */
    assert_true(dm_write_file_durable(path, "bye", 3, 0600, &err));
    assert_true(g_file_get_contents(path, &text, &len, NULL));
    assert_int_equal(len, 3);
    assert_memory_equal(text, "bye", 3);
    g_free(text);
    assert_int_equal(count_entries(dir), 1);

    /* Empty data. */
    assert_true(dm_write_file_durable(path, "", 0, 0600, &err));
    assert_true(g_file_get_contents(path, &text, &len, NULL));
    assert_int_equal(len, 0);
    g_free(text);

    /* A missing directory is an error that names the path. */
    assert_false(dm_write_file_durable(bad, "x", 1, 0600, &err));
    assert_non_null(err);
    assert_true(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    assert_non_null(strstr(err->message, bad));
    g_clear_error(&err);

    /* Renaming onto a directory fails, and the temporary file goes. */
    assert_int_equal(mkdir(sub, 0700), 0);
    assert_false(dm_write_file_durable(sub, "x", 1, 0600, &err));
    assert_non_null(err);
    g_clear_error(&err);
    assert_int_equal(count_entries(dir), 2); /* key and sub */
    assert_true(g_file_test(sub, G_FILE_TEST_IS_DIR));

    umask(old);
    dm_test_rmtree(dir);
    g_free(sub);
    g_free(bad);
    g_free(path);
    g_free(dir);
}

static void test_write_all(void **state)
{
    int fds[2];
    char buf[16] = {0};

    (void)state;
    assert_int_equal(pipe(fds), 0);
    assert_true(dm_write_all(fds[1], "abcdef", 6));
    assert_int_equal(read(fds[0], buf, sizeof buf), 6);
    assert_memory_equal(buf, "abcdef", 6);
    close(fds[0]);
    close(fds[1]);
    /* A closed descriptor is an error, not a hang. */
    assert_false(dm_write_all(fds[1], "x", 1));
}

static void test_key_load(void **state)
{
    char *dir = dm_test_tmpdir();
    char *path = g_build_filename(dir, "lib", "hmac.key", NULL);
    char *shortp = g_build_filename(dir, "short.key", NULL);
    char *key = NULL, *key2 = NULL;
    size_t len = 0, len2 = 0;
    GError *err = NULL;
    struct stat st;

    (void)state;
    /* Missing and not to be created. */
    assert_false(dm_key_load(path, false, &key, &len, &err));
    assert_true(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    assert_null(key);
    g_clear_error(&err);

    /* Created: 32 random bytes, mode 0600, the directory made too. */
    assert_true(dm_key_load(path, true, &key, &len, &err));
    assert_null(err);
    assert_int_equal(len, 32);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, 32);

    /* Read back: the same key. */
    assert_true(dm_key_load(path, true, &key2, &len2, &err));
    assert_int_equal(len2, 32);
    assert_memory_equal(key, key2, 32);
    g_free(key);
    g_free(key2);

    /* Too short to be a key. */
    assert_true(g_file_set_contents(shortp, "0123456789", 10, NULL));
    assert_false(dm_key_load(shortp, true, &key, &len, &err));
    assert_non_null(err);
    assert_null(key);
    assert_int_equal(len, 0);
    g_clear_error(&err);

    dm_test_rmtree(dir);
    g_free(shortp);
    g_free(path);
    g_free(dir);
}

static void test_log_names(void **state)
{
    dm_log_level l;
    int f;

    (void)state;
    assert_true(dm_log_level_from_name("error", &l));
    assert_int_equal(l, DM_LOG_ERR);
    assert_true(dm_log_level_from_name("INFO", &l));
    assert_int_equal(l, DM_LOG_INFO);
    assert_true(dm_log_level_from_name("debug", &l));
    assert_int_equal(l, DM_LOG_DEBUG);
    assert_false(dm_log_level_from_name("loud", &l));
    assert_true(dm_log_facility_from_name("mail", &f));
    assert_int_equal(f, LOG_MAIL);
    assert_true(dm_log_facility_from_name("local3", &f));
    assert_int_equal(f, LOG_LOCAL3);
    assert_false(dm_log_facility_from_name("kern7", &f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_normalize),
        cmocka_unit_test(test_addr_domain),
        cmocka_unit_test(test_client_addr),
        cmocka_unit_test(test_time_iso8601),
        cmocka_unit_test(test_time_generalized),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test(test_id_new),
        cmocka_unit_test(test_id_threads),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_hmac_sha256),
        cmocka_unit_test(test_str_equal_ct),
        cmocka_unit_test(test_json_string_exact),
        cmocka_unit_test(test_json_string_roundtrip),
        cmocka_unit_test(test_json_string_random),
        cmocka_unit_test(test_text_escape),
        cmocka_unit_test(test_write_file_durable),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_key_load),
        cmocka_unit_test(test_log_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
