/*
 * Swedish working days: the holidays computed for any year (dm_workday.h).
 */
#include "dm_workday.h"

void dm_easter(int year, int *month, int *day)
{
    /* The anonymous Gregorian algorithm (Meeus, Astronomical Algorithms). */
    int a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4;
    int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;

    *month = (h + l - 7 * m + 114) / 31;
    *day = (h + l - 7 * m + 114) % 31 + 1;
}

/* Days from Easter Sunday to the date (negative before it). */
static int dm_from_easter(int year, int month, int day)
{
    int em, ed;
    GDate *easter, *date;
    int diff;

    dm_easter(year, &em, &ed);
    easter = g_date_new_dmy((GDateDay)ed, (GDateMonth)em, (GDateYear)year);
    date = g_date_new_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year);
    diff = g_date_days_between(easter, date);
    g_date_free(easter);
    g_date_free(date);
    return diff;
}

/* 1 Monday .. 7 Sunday. */
static int dm_weekday(int year, int month, int day)
{
    GDate *d = g_date_new_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year);
    int w = g_date_get_weekday(d);

    g_date_free(d);
    return w;
}

const char *dm_holiday_name(int year, int month, int day)
{
    static const struct {
        int month, day;
        const char *name;
    } fixed[] = {
        {1, 1, "nyårsdagen"},   {1, 6, "trettondedag jul"}, {5, 1, "första maj"},
        {6, 6, "nationaldagen"}, {12, 24, "julafton"},       {12, 25, "juldagen"},
        {12, 26, "annandag jul"}, {12, 31, "nyårsafton"},
    };
    int w;

    if (!g_date_valid_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year))
        return NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
        if (fixed[i].month == month && fixed[i].day == day)
            return fixed[i].name;
    if (month >= 3 && month <= 6) {
        switch (dm_from_easter(year, month, day)) {
        case -2: return "långfredagen";
        case 0: return "påskdagen";
        case 1: return "annandag påsk";
        case 39: return "Kristi himmelsfärds dag";
        case 49: return "pingstdagen";
        default: break;
        }
    }
    w = dm_weekday(year, month, day);
    if (month == 6 && w == G_DATE_FRIDAY && day >= 19 && day <= 25)
        return "midsommarafton";
    if (month == 6 && w == G_DATE_SATURDAY && day >= 20 && day <= 26)
        return "midsommardagen";
    if (w == G_DATE_SATURDAY && ((month == 10 && day == 31) || (month == 11 && day <= 6)))
        return "alla helgons dag";
    return NULL;
}

bool dm_is_workday(int year, int month, int day)
{
    int w = dm_weekday(year, month, day);

    if (w == G_DATE_SATURDAY || w == G_DATE_SUNDAY)
        return false;
    return dm_holiday_name(year, month, day) == NULL;
}

static GDateTime *dm_local(int64_t t, GTimeZone *tz)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(t), *local;

    if (tz == NULL)
        return utc;
    local = g_date_time_to_timezone(utc, tz);
    g_date_time_unref(utc);
    return local;
}

bool dm_is_workday_at(int64_t t, GTimeZone *tz)
{
    GDateTime *d = dm_local(t, tz);
    bool w = dm_is_workday(g_date_time_get_year(d), g_date_time_get_month(d),
                           g_date_time_get_day_of_month(d));

    g_date_time_unref(d);
    return w;
}

int64_t dm_workdays_back(int64_t t, unsigned n, GTimeZone *tz)
{
    GDateTime *now = dm_local(t, tz), *back;
    GDate *d = g_date_new_dmy((GDateDay)g_date_time_get_day_of_month(now),
                              (GDateMonth)g_date_time_get_month(now),
                              (GDateYear)g_date_time_get_year(now));
    int64_t out;

    for (unsigned left = n; left > 0;) {
        g_date_subtract_days(d, 1);
        if (dm_is_workday(g_date_get_year(d), g_date_get_month(d), g_date_get_day(d)))
            left--;
    }
    back = g_date_time_new(tz != NULL ? tz : g_date_time_get_timezone(now), g_date_get_year(d),
                           g_date_get_month(d), g_date_get_day(d), g_date_time_get_hour(now),
                           g_date_time_get_minute(now), g_date_time_get_second(now));
    /* A time that does not exist that day (the spring's lost hour): an
     * hour earlier is close enough. */
    if (back == NULL)
        back = g_date_time_new(tz != NULL ? tz : g_date_time_get_timezone(now),
                               g_date_get_year(d), g_date_get_month(d), g_date_get_day(d),
                               g_date_time_get_hour(now) - 1, g_date_time_get_minute(now),
                               g_date_time_get_second(now));
    out = back != NULL ? g_date_time_to_unix(back) : t - (int64_t)n * 86400;
    if (back != NULL)
        g_date_time_unref(back);
    g_date_free(d);
    g_date_time_unref(now);
    return out;
}
