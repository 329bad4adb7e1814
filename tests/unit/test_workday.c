/*
 * common/dm_workday: Easter by the computus, the Swedish holidays over
 * several years, and counting working days back across weekends and
 * holidays.
 */
#include "dm_test.h"

#include "dm_workday.h"

static void test_easter(void **state)
{
    (void)state;
    static const int known[][3] = {
        {1818, 3, 22}, {1943, 4, 25}, {2000, 4, 23}, {2019, 4, 21}, {2024, 3, 31},
        {2025, 4, 20}, {2026, 4, 5},  {2027, 3, 28}, {2028, 4, 16}, {2038, 4, 25},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
        int m = 0, d = 0;

        dm_easter(known[i][0], &m, &d);
        assert_int_equal(m, known[i][1]);
        assert_int_equal(d, known[i][2]);
    }
}

static void assert_holiday(int y, int m, int d, const char *name)
{
    const char *got = dm_holiday_name(y, m, d);

    if (got == NULL || strcmp(got, name) != 0) {
        print_error("%04d-%02d-%02d: expected %s, got %s\n", y, m, d, name,
                    got != NULL ? got : "(none)");
        fail();
    }
    assert_false(dm_is_workday(y, m, d));
}

static void test_holidays(void **state)
{
    (void)state;
    /* 2025 */
    assert_holiday(2025, 4, 18, "långfredagen");
    assert_holiday(2025, 4, 21, "annandag påsk");
    assert_holiday(2025, 5, 29, "Kristi himmelsfärds dag");
    assert_holiday(2025, 6, 8, "pingstdagen");
    assert_holiday(2025, 6, 20, "midsommarafton");
    assert_holiday(2025, 6, 21, "midsommardagen");
    assert_holiday(2025, 11, 1, "alla helgons dag");
    /* 2026 */
    assert_holiday(2026, 1, 6, "trettondedag jul");
    assert_holiday(2026, 4, 3, "långfredagen");
    assert_holiday(2026, 4, 5, "påskdagen");
    assert_holiday(2026, 4, 6, "annandag påsk");
    assert_holiday(2026, 5, 1, "första maj");
    assert_holiday(2026, 5, 14, "Kristi himmelsfärds dag");
    assert_holiday(2026, 6, 6, "nationaldagen");
    assert_holiday(2026, 6, 19, "midsommarafton");
    assert_holiday(2026, 6, 20, "midsommardagen");
    assert_holiday(2026, 10, 31, "alla helgons dag");
    assert_holiday(2026, 12, 24, "julafton");
    assert_holiday(2026, 12, 25, "juldagen");
    assert_holiday(2026, 12, 26, "annandag jul");
    assert_holiday(2026, 12, 31, "nyårsafton");
    /* 2027: Easter in March, midsommar and alla helgon at their latest. */
    assert_holiday(2027, 3, 26, "långfredagen");
    assert_holiday(2027, 3, 29, "annandag påsk");
    assert_holiday(2027, 5, 6, "Kristi himmelsfärds dag");
    assert_holiday(2027, 6, 25, "midsommarafton");
    assert_holiday(2027, 6, 26, "midsommardagen");
    assert_holiday(2027, 11, 6, "alla helgons dag");
    /* 2028 */
    assert_holiday(2028, 4, 14, "långfredagen");
    assert_holiday(2028, 4, 17, "annandag påsk");
    assert_holiday(2028, 5, 25, "Kristi himmelsfärds dag");
    assert_holiday(2028, 6, 23, "midsommarafton");
    assert_holiday(2028, 11, 4, "alla helgons dag");

    /* Ordinary days, and the Saturdays beside the movable ones. */
    assert_null(dm_holiday_name(2026, 12, 7));
    assert_true(dm_is_workday(2026, 12, 7));
    assert_true(dm_is_workday(2026, 4, 2));  /* skärtorsdagen: a working day */
    assert_true(dm_is_workday(2026, 4, 7));
    assert_null(dm_holiday_name(2026, 11, 7));
    assert_null(dm_holiday_name(2026, 6, 27));
    assert_true(dm_is_workday(2027, 6, 18));
    assert_false(dm_is_workday(2026, 12, 6)); /* a Sunday */
    assert_null(dm_holiday_name(2026, 2, 30)); /* no such date */

    /* Working days in a year: 2026 has 251 (365 - 104 weekend days - 10
     * holidays and eves on weekdays). */
    {
        GDate *d = g_date_new_dmy(1, 1, 2026);
        int n = 0;

        while (g_date_get_year(d) == 2026) {
            n += dm_is_workday(2026, g_date_get_month(d), g_date_get_day(d));
            g_date_add_days(d, 1);
        }
        g_date_free(d);
        assert_int_equal(n, 251);
    }
}

static int64_t at(GTimeZone *tz, int y, int m, int d, int h)
{
    GDateTime *t = g_date_time_new(tz, y, m, d, h, 0, 0);
    int64_t u = g_date_time_to_unix(t);

    g_date_time_unref(t);
    return u;
}

static void test_workdays_back(void **state)
{
    (void)state;
    GTimeZone *tz = g_time_zone_new_identifier("Europe/Stockholm");

    assert_non_null(tz);
    /* Monday 7 December 2026: two working days back is Thursday. */
    assert_int_equal(dm_workdays_back(at(tz, 2026, 12, 7, 10), 2, tz), at(tz, 2026, 12, 3, 10));
    assert_int_equal(dm_workdays_back(at(tz, 2026, 12, 9, 10), 2, tz), at(tz, 2026, 12, 7, 10));
    /* Over Christmas: Monday the 28th, one back is Wednesday the 23rd. */
    assert_int_equal(dm_workdays_back(at(tz, 2026, 12, 28, 9), 1, tz), at(tz, 2026, 12, 23, 9));
    /* Over Easter: Tuesday 7 April, one back is Thursday 2 April. */
    assert_int_equal(dm_workdays_back(at(tz, 2026, 4, 7, 15), 1, tz), at(tz, 2026, 4, 2, 15));
    /* Across the change to summer time (29 March 2026): the local hour
     * is kept. */
    assert_int_equal(dm_workdays_back(at(tz, 2026, 3, 30, 8), 1, tz), at(tz, 2026, 3, 27, 8));
    assert_false(dm_is_workday_at(at(tz, 2026, 12, 24, 12), tz));
    assert_true(dm_is_workday_at(at(tz, 2026, 12, 23, 23), tz));
    g_time_zone_unref(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_easter),
        cmocka_unit_test(test_holidays),
        cmocka_unit_test(test_workdays_back),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
