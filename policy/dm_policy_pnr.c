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
    return dm_pnr_find2(text, NULL);
}

/* A candidate at t[i]: [century] six digits, an optional "-", "+" or
 * space, four digits, not followed by a digit or by "-", "/" or "." and a
 * digit.  As a regular expression:
 *   (?<![\d\-+/.])((?:18|19|20)?\d{6})[-+ ]?(\d{4})(?![\d]|[-/.]\d)
 * tried with the century first, then without; the separator first, then
 * without.  Returns the end of the candidate, or 0; digits gets the ten
 * or twelve digits. */
static size_t dm_pnr_at(const char *t, size_t n, size_t i, char digits[13])
{
    for (int century = 1; century >= 0; century--) {
        size_t p = century ? 8 : 6;

        if (century && !(i + 2 <= n && ((t[i] == '1' && (t[i + 1] == '8' || t[i + 1] == '9')) ||
                                        (t[i] == '2' && t[i + 1] == '0'))))
            continue;
        if (i + p > n)
            continue;
        {
            bool ok = true;
            for (size_t k = 0; k < p && ok; k++)
                ok = g_ascii_isdigit(t[i + k]);
            if (!ok)
                continue;
        }
        for (int sep = 1; sep >= 0; sep--) {
            size_t j = i + p, e;
            bool ok = true;

            if (sep) {
                if (j >= n || (t[j] != '-' && t[j] != '+' && t[j] != ' '))
                    continue;
                j++;
            }
            if (j + 4 > n)
                continue;
            for (size_t k = 0; k < 4 && ok; k++)
                ok = g_ascii_isdigit(t[j + k]);
            if (!ok)
                continue;
            e = j + 4;
            if (e < n && g_ascii_isdigit(t[e]))
                continue;
            if (e + 1 < n && (t[e] == '-' || t[e] == '/' || t[e] == '.') &&
                g_ascii_isdigit(t[e + 1]))
                continue;
            memcpy(digits, t + i, p);
            memcpy(digits + p, t + j, 4);
            digits[p + 4] = '\0';
            return e;
        }
    }
    return 0;
}

char *dm_pnr_find2(const char *text, bool *samordning)
{
    size_t n;

    if (text == NULL)
        return NULL;
    n = strlen(text);
    for (size_t i = 0; i < n;) {
        char digits[13];
        size_t end;

        if (!g_ascii_isdigit(text[i]) ||
            (i > 0 && (g_ascii_isdigit(text[i - 1]) || text[i - 1] == '-' ||
                       text[i - 1] == '+' || text[i - 1] == '/' || text[i - 1] == '.'))) {
            i++;
            continue;
        }
        end = dm_pnr_at(text, n, i, digits);
        if (end == 0) {
            i++;
            continue;
        }
        if (dm_pnr_valid(digits, samordning))
            return g_strndup(text + i, end - i);
        i = end;
    }
    return NULL;
}
