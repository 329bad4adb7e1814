/*
 * Personnummer and samordningsnummer (R9): a date of birth (day + 60 for a
 * samordningsnummer), three digits and a Luhn check digit.  Telephone
 * numbers, organisationsnummer (month digits 20 and above) and numbers
 * that fail the check are not personal identity numbers.
 */
#include <string.h>

#include "dm_policy_int.h"

static int dm_pnr_days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return days[month - 1];
}

/* Luhn over the ten digits YYMMDDNNNC. */
static bool dm_pnr_luhn(const char *d10)
{
    int sum = 0;

    for (int i = 0; i < 10; i++) {
        int v = d10[i] - '0';
        if (i % 2 == 0) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

bool dm_pnr_valid(const char *digits, bool *samordning)
{
    size_t len = strlen(digits);
    const char *d10;
    int year, month, day;

    if (len != 10 && len != 12)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isdigit(digits[i]))
            return false;
    }
    d10 = digits + (len - 10);
    if (len == 12) {
        year = (digits[0] - '0') * 1000 + (digits[1] - '0') * 100 + (digits[2] - '0') * 10 +
               (digits[3] - '0');
        if (year < 1880 || year > 2099)
            return false;
    } else {
        /* Century unknown: any leap-year question is decided for 2000. */
        year = 2000 + (d10[0] - '0') * 10 + (d10[1] - '0');
    }
    month = (d10[2] - '0') * 10 + (d10[3] - '0');
    day = (d10[4] - '0') * 10 + (d10[5] - '0');
    if (month < 1 || month > 12)
        return false;
    if (samordning != NULL)
        *samordning = day > 60;
    if (day > 60)
        day -= 60;
    if (day < 1 || day > dm_pnr_days_in_month(year, month))
        return false;
    return dm_pnr_luhn(d10);
}

char *dm_pnr_find(const char *text)
{
    static GRegex *re;
    static gsize once;
    GMatchInfo *mi = NULL;
    char *found = NULL;

    if (g_once_init_enter(&once)) {
        /* Optional century, six date digits, optional - or + (or a space),
         * four digits; not inside a longer run of digits or a date. */
        re = g_regex_new("(?<![\\d\\-+/.])((?:18|19|20)?\\d{6})[-+ ]?(\\d{4})(?![\\d]|[-/.]\\d)",
                         G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&once, 1);
    }
    if (text == NULL)
        return NULL;
    g_regex_match(re, text, 0, &mi);
    while (g_match_info_matches(mi) && found == NULL) {
        char *a = g_match_info_fetch(mi, 1);
        char *b = g_match_info_fetch(mi, 2);
        char *digits = g_strconcat(a, b, NULL);

        if (dm_pnr_valid(digits, NULL))
            found = g_match_info_fetch(mi, 0);
        g_free(digits);
        g_free(a);
        g_free(b);
        g_match_info_next(mi, NULL);
    }
    g_match_info_free(mi);
    return found;
}
