/*
 * policy/dm_policy_pnr: personnummer and samordningsnummer (R9).
 */
#include "dm_test.h"

#include "dm_policy_int.h"

/* ---- dm_pnr_valid --------------------------------------------------------- */

static void expect_valid(const char *digits, bool samordning)
{
    bool s = !samordning;

    if (!dm_pnr_valid(digits, &s)) {
        print_error("\"%s\" must be valid\n", digits);
        fail();
    }
    if (s != samordning) {
        print_error("\"%s\": samordning %d, want %d\n", digits, s, samordning);
        fail();
    }
    /* The flag is optional. */
    assert_true(dm_pnr_valid(digits, NULL));
}

static void expect_invalid(const char *digits, const char *why)
{
    bool s = false;

    if (dm_pnr_valid(digits, &s)) {
        print_error("\"%s\" must be invalid (%s)\n", digits, why);
        fail();
    }
}

static void test_valid_personnummer(void **state)
{
    (void)state;
    /* The corpus's numbers, with and without the century. */
    expect_valid("194208219826", false);
    expect_valid("4208219826", false);
    expect_valid("198703149818", false);
    expect_valid("8703149818", false);
    expect_valid("198809179867", false);
    expect_valid("8809179867", false);
    expect_valid("201909039834", false);
    expect_valid("1909039834", false);
    expect_valid("201506129848", false);
    expect_valid("1506129848", false);
    /* Leap days. */
    expect_valid("200002291235", false);
    expect_valid("0002291235", false);
    expect_valid("8402291234", false);
    /* Earliest century accepted. */
    expect_valid("188001011231", false);
}

static void test_valid_samordningsnummer(void **state)
{
    (void)state;
    /* Day of birth + 60. */
    expect_valid("8703749815", true);   /* 1987-03-14 */
    expect_valid("198703749815", true);
    expect_valid("4208819823", true);   /* 1942-08-21 */
    expect_valid("8601611232", true);   /* day 1 */
    expect_valid("0002891232", true);   /* 29 February 2000 */
}

static void test_invalid(void **state)
{
    (void)state;
    expect_invalid("198503124471", "fails Luhn");
    expect_invalid("8503124471", "fails Luhn");
    expect_invalid("194208219827", "wrong check digit");
    expect_invalid("5561234560", "organisationsnummer, month 61");
    expect_invalid("5561234567", "organisationsnummer with a valid check digit");
    expect_invalid("2120001231", "organisationsnummer, month 20");
    expect_invalid("8602301239", "30 February");
    expect_invalid("198602291232", "29 February 1986");
    expect_invalid("190002291235", "29 February 1900");
    expect_invalid("8604311236", "31 April");
    expect_invalid("8613011231", "month 13");
    expect_invalid("8600011236", "month 0");
    expect_invalid("8601001236", "day 0");
    expect_invalid("8601601233", "day 60");
    expect_invalid("8601921235", "samordning day 32");
    expect_invalid("8602901236", "samordning 30 February");
    expect_invalid("0704567890", "a mobile number (passes Luhn)");
    expect_invalid("0491123450", "a phone number");
    expect_invalid("187901011234", "before 1880");
    expect_invalid("850312447", "nine digits");
    expect_invalid("85031244711", "eleven digits");
    expect_invalid("1985031244710", "thirteen digits");
    expect_invalid("", "empty");
    expect_invalid("85031a4471", "a letter");
}

/* ---- dm_pnr_find ---------------------------------------------------------- */

static void expect_found(const char *text, const char *want)
{
    char *got = dm_pnr_find(text);

    if (got == NULL || strcmp(got, want) != 0) {
        print_error("in \"%s\": found \"%s\", want \"%s\"\n", text, got ? got : "(none)", want);
        fail();
    }
    g_free(got);
}

static void expect_none(const char *text)
{
    char *got = dm_pnr_find(text);

    if (got != NULL) {
        print_error("in \"%s\": found \"%s\", want none\n", text, got);
        fail();
    }
}

static void test_find(void **state)
{
    (void)state;
    expect_found("Personnummer 19420821-9826, tack.", "19420821-9826");
    expect_found("pnr: 880917-9867\n", "880917-9867");
    expect_found("198703149818", "198703149818");
    expect_found("Barnet (20190903-9834) och syskonet", "20190903-9834");
    expect_found("Elev 20150612-9848.", "20150612-9848");
    expect_found("1506129848", "1506129848");
    /* Over a hundred years old: "+". */
    expect_found("född 420821+9826", "420821+9826");
    /* Samordningsnummer. */
    expect_found("samordningsnummer 870374-9815", "870374-9815");
    /* The first valid one, after an invalid one. */
    expect_found("19850312-4471 eller 20190903-9834", "20190903-9834");
    expect_found("880917-9867 och 19420821-9826", "880917-9867");
}

static void test_find_rejects(void **state)
{
    static const char *const texts[] = {
        "Ring 070-456 78 90.",
        "0704567890",
        "tel 0704567890 eller 0491-123 45",
        "0491-123 45",
        "Org.nr 556123-4560",
        "Org.nr 556123-4567",
        "19850312-4471",
        "850312-4471",
        "860230-1239",
        "mötet 2026-11-30 kl 10",
        "20261130",
        "2026-11-30 10:30",
        "08-123 456 78",
        "konto 1234567890123",
        "x119420821-9826",
        "19420821-98261",
        "konto 420821-9826-01",  /* followed by -digits: part of a longer number */
        "ref 880917-9867/2",
        "v. 880917-9867.5",
        "Sjövik 3:12",
        "",
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
        expect_none(texts[i]);
    assert_null(dm_pnr_find(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_personnummer),
        cmocka_unit_test(test_valid_samordningsnummer),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_find_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
