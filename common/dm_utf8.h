/*
 * dm_utf8: bytes of any charset to valid UTF-8 without NUL characters.
 */
#ifndef DM_UTF8_H
#define DM_UTF8_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* data (len bytes) as a new valid UTF-8 string without NUL characters:
 * the charset when it converts, else UTF-8 when valid (or nearly), else
 * windows-1252.  charset is an iconv name ("CP1252", "iso-8859-1",
 * "UTF-16LE"), or NULL or "" when none was declared; mime/ turns MIME
 * labels into iconv names first (dm_mime_to_utf8).  "iso-8859-1" is read
 * as windows-1252, as mail means it. */
char *dm_utf8_from(const char *data, size_t len, const char *charset);

/* UTF-16, UTF-32, UCS-2/4: charsets where a NUL byte is part of a
 * character and a chunk may not be cut at any line end. */
bool dm_charset_wide(const char *charset);

#endif
