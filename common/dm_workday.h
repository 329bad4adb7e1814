/*
 * dm_workday: Swedish working days, for the reminder's "N working days"
 * ([site] notice_reminder) and R15's "within one working day".
 *
 * A day is a working day unless it is a Saturday or Sunday, a public
 * holiday of lagen (1989:253) om allmänna helgdagar, or one of the eves
 * treated as holidays in working life (midsommarafton, julafton,
 * nyårsafton).  The holidays are computed, not listed: Easter Sunday by
 * the Gregorian computus (Meeus/Jones/Butcher), and from it långfredagen,
 * annandag påsk, Kristi himmelsfärds dag and pingstdagen; midsommardagen
 * the Saturday of 20-26 June, alla helgons dag the Saturday of 31 October
 * - 6 November; the fixed days (nyårsdagen, trettondedag jul, första maj,
 * nationaldagen, juldagen, annandag jul).
 */
#ifndef DM_WORKDAY_H
#define DM_WORKDAY_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* Easter Sunday of a Gregorian year: *month 3 or 4, *day. */
void dm_easter(int year, int *month, int *day);

/* The holiday (or holiday eve) on this date, by its Swedish name, or
 * NULL for an ordinary day (weekends are not named). */
const char *dm_holiday_name(int year, int month, int day);

/* Is the date a working day? */
bool dm_is_workday(int year, int month, int day);

/* The time n working days before t: the same time of day in time zone
 * tz (NULL: UTC) on the n-th working day before t's date.  Something
 * that happened at or before it has waited n working days at t. */
int64_t dm_workdays_back(int64_t t, unsigned n, GTimeZone *tz);

/* Is t's date (in tz) a working day? */
bool dm_is_workday_at(int64_t t, GTimeZone *tz);

#endif
