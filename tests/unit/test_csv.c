/*
 * common/dm_csv: RFC 4180 records as diarium exports write them.
 */
#include "dm_test.h"

#include "dm_csv.h"

/* Every record of text as "a|b|c" lines joined by "\n" (a new string). */
static char *records(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
    GString *out = g_string_new(NULL);

    while (dm_csv_record(&p, end, f)) {
        if (out->len > 0)
            g_string_append_c(out, '\n');
        for (guint i = 0; i < f->len; i++)
            g_string_append_printf(out, "%s%s", i ? "|" : "", (char *)g_ptr_array_index(f, i));
        assert_true(p <= end);
    }
    assert_true(p == end);
    g_ptr_array_free(f, TRUE);
    return g_string_free(out, FALSE);
}

static void check(const char *text, const char *want)
{
    char *got = records(text, strlen(text));

    if (strcmp(got, want) != 0) {
        print_error("CSV [%s]: got [%s], want [%s]\n", text, got, want);
        fail();
    }
    g_free(got);
}

static void test_csv_fields(void **state)
{
    (void)state;
    check("", "");
    check("a,b,c\n", "a|b|c");
    check("a,b,c", "a|b|c");               /* no newline at the end */
    check("a,,c\r\nd,e,\r\n", "a||c\nd|e|"); /* CRLF, empty fields */
    check("a\n\nb\n", "a\n\nb");           /* a blank line: one empty field */
    check("\"KS 2026/1\",\"Bygglov, Storgatan 1\"\n", "KS 2026/1|Bygglov, Storgatan 1");
    check("\"sa \"\"ja\"\"\",x\n", "sa \"ja\"|x"); /* doubled quotes */
    check("\"rad ett\nrad tva\",x\ny\n", "rad ett\nrad tva|x\ny"); /* a line break inside */
    check("\"a\"b,c\n", "ab|c");           /* after the closing quote: kept */
    check("\"unterminated,x\n", "unterminated,x\n"); /* quote to the end */
}

/* The parser never reads past end: the bytes after it are not there. */
static void test_csv_end(void **state)
{
    const char *text = "a,\"b\"\"c\n";
    (void)state;

    for (size_t n = 0; n <= strlen(text); n++) {
        char *copy = g_memdup2(text, n); /* exactly n bytes: ASan sees a byte more */
        g_free(records(copy, n));
        g_free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_fields),
        cmocka_unit_test(test_csv_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
