/*
 * dm_conf's internals, shared by its files: the value checks
 * (dm_conf_value.c) and the scan of the file's lines (dm_conf_lines.c)
 * that dm_conf.c's loader uses.
 */
#ifndef DM_CONF_INT_H
#define DM_CONF_INT_H

#include "dm_conf.h"

/* --- values (dm_conf_value.c) --- */
/* A word that goes into a header as it is: printable ASCII, no blanks,
 * at most 64 characters (empty when may_be_empty). */
bool dm_conf_token_ok(const char *s, bool may_be_empty);
/* A bare address, local@domain, that goes into headers and envelopes as
 * it is. */
bool dm_conf_address_ok(const char *s);
/* A comma separated list, blanks around items and empty items dropped
 * (g_strfreev). */
char **dm_conf_split_list(const char *s);

/* --- lines (dm_conf_lines.c) --- */
/* The line of "key =" inside "[group]" in text (of "[group]" when key is
 * NULL), 0 when none: GKeyFile does not say where a key is. */
int dm_conf_line_of(const char *text, const char *group, const char *key);
/* Note the line of every key in lines ("group\x1fkey" -> line), and
 * refuse a key given twice in its group: false with err set. */
bool dm_conf_scan_lines(const char *path, const char *text, GHashTable *lines, GError **err);

#endif
