/*
 * The loop token (common/dm_loop.c): the canonical body hash, and a token
 * that verifies only for the message it was made for.
 */
#include "dm_test.h"

#include "dm_loop.h"
#include "dm_util.h"

#define KEY "a site key of thirty-two bytes!!"
#define MID "0a1b2c3d4e5f6g7h8i9j.copy.1234@mx1.sjovik.test"

static void hash_of(const char *s, char out[65])
{
    dm_bodyhash *h = dm_bodyhash_new();

    dm_bodyhash_update(h, s, strlen(s));
    dm_bodyhash_final(h, out);
    dm_bodyhash_free(h);
}

/* The same text fed a byte at a time. */
static void hash_bytewise(const char *s, char out[65])
{
    dm_bodyhash *h = dm_bodyhash_new();

    for (const char *p = s; *p != '\0'; p++)
        dm_bodyhash_update(h, p, 1);
    dm_bodyhash_final(h, out);
    dm_bodyhash_free(h);
}

static void test_canonical_body(void **state)
{
    char a[65], b[65], c[65], plain[65];

    (void)state;
    /* CRLF and LF, a final line end or several or none: the same body. */
    hash_of("Hej\nrad två\n", a);
    hash_of("Hej\r\nrad två\r\n", b);
    assert_string_equal(a, b);
    hash_of("Hej\r\nrad två\r\n\r\n\r\n", b);
    assert_string_equal(a, b);
    hash_of("Hej\nrad två", b);
    assert_string_equal(a, b);
    hash_bytewise("Hej\r\nrad två\r\n", b);
    assert_string_equal(a, b);
    /* What remains is SHA-256 of the text without its final line ends. */
    dm_sha256_hex("Hej\nrad två", strlen("Hej\nrad två"), plain);
    assert_string_equal(a, plain);
    /* Blank lines inside count; a bare CR is kept. */
    hash_of("Hej\n\nrad två\n", c);
    assert_string_not_equal(a, c);
    hash_of("Hej\rrad två\n", c);
    assert_string_not_equal(a, c);
    hash_of("a\r\r\nb", b);
    hash_bytewise("a\r\nb", c);
    assert_string_not_equal(b, c);
    hash_bytewise("a\r\r\nb", c);
    assert_string_equal(b, c);
    /* A CR at the very end is content. */
    hash_of("a\r", b);
    hash_of("a", c);
    assert_string_not_equal(b, c);
}

static void test_token_binds_the_message(void **state)
{
    char body[65], other[65];
    char *t, *folded;
    int64_t now = 1795248000, expires = now + 86400;

    (void)state;
    hash_of("Hej\nBN 2026/45\n", body);
    hash_of("Köp billigt\n", other);
    t = dm_loop_token(KEY, strlen(KEY), MID, body, expires);
    assert_true(g_str_has_prefix(t, "v2 "));

    assert_int_equal(dm_loop_check(KEY, strlen(KEY), t, MID, body, now), DM_LOOP_VALID);
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), t, MID, body, expires), DM_LOOP_VALID);
    /* Folded by an MTA: still the same token. */
    folded = g_strdelimit(g_strdup(t), " ", '\n');
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), folded, MID, body, now), DM_LOOP_VALID);
    g_free(folded);

    /* Replayed in another message, or too late, or under another key. */
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), t, MID, other, now), DM_LOOP_FORGED);
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), t, "x@example.org", body, now),
                     DM_LOOP_FORGED);
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), t, "", body, now), DM_LOOP_FORGED);
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), t, NULL, body, now), DM_LOOP_FORGED);
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), t, MID, body, expires + 1),
                     DM_LOOP_EXPIRED);
    assert_int_equal(dm_loop_check("another key", 11, t, MID, body, now), DM_LOOP_FORGED);
    assert_int_equal(dm_loop_check(NULL, 0, t, MID, body, now), DM_LOOP_FORGED);
    g_free(t);

    /* The expiry is covered by the MAC: a later one does not verify. */
    t = dm_loop_token(KEY, strlen(KEY), MID, body, expires);
    {
        char *mac = strrchr(t, ' ') + 1;
        char *later = g_strdup_printf("v2 %" G_GINT64_FORMAT " %s", expires + 86400, mac);

        assert_int_equal(dm_loop_check(KEY, strlen(KEY), later, MID, body, expires + 10),
                         DM_LOOP_FORGED);
        g_free(later);
    }
    g_free(t);
}

static void test_token_malformed(void **state)
{
    char body[65];
    static const char *bad[] = {
        "",
        "v2",
        "v2 123",
        "v1 0a1b2c3d4e5f6g7h8i9j abababababababababababababababababababababababababababababababab",
        "v2 soon abababababababababababababababababababababababababababababababab",
        "v2 -5 abababababababababababababababababababababababababababababababab",
        "v2 123 abab",
        "v2 123 abababababababababababababababababababababababababababababababab extra",
    };

    (void)state;
    hash_of("x", body);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        assert_int_equal(dm_loop_check(KEY, strlen(KEY), bad[i], MID, body, 1), DM_LOOP_MALFORMED);
    assert_int_equal(dm_loop_check(KEY, strlen(KEY), NULL, MID, body, 1), DM_LOOP_MALFORMED);
    /* The right shape with a made-up MAC. */
    assert_int_equal(dm_loop_check(KEY, strlen(KEY),
                                   "v2 1900000000 "
                                   "abababababababababababababababababababababababababababababababab",
                                   MID, body, 1),
                     DM_LOOP_FORGED);
}

static void test_message_id(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"<" MID ">", MID},
        {" <" MID ">\r\n", MID},
        {"\r\n <" MID ">", MID},
        {MID, MID},
        {"no brackets here", "nobracketshere"},
        {"", ""},
        {"<a@b> <c@d>", "a@b"},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *got = dm_loop_message_id(cases[i].in);
        assert_string_equal(got, cases[i].want);
        g_free(got);
    }
    {
        char *got = dm_loop_message_id(NULL);
        assert_string_equal(got, "");
        g_free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_body),
        cmocka_unit_test(test_token_binds_the_message),
        cmocka_unit_test(test_token_malformed),
        cmocka_unit_test(test_message_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
