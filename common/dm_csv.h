/*
 * dm_csv: records of a CSV file (RFC 4180), as a diarium export writes
 * them: fields separated by ",", a field in double quotes may hold ",",
 * line breaks and doubled quotes (""), a record ends at LF or CRLF.
 * Bytes between a closing quote and the next separator are kept, as
 * spreadsheets' sloppy output needs.
 */
#ifndef DM_CSV_H
#define DM_CSV_H

#include <glib.h>
#include <stdbool.h>

/* One record from *p (reading no further than end): its fields, as new
 * strings, in out (emptied first; give it g_free as free function), and
 * *p past the record.  False at the end of input.  A blank line is a
 * record of one empty field. */
bool dm_csv_record(const char **p, const char *end, GPtrArray *out);

#endif
