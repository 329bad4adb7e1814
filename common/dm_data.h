/*
 * dm_data: the site's rules and templates over the shipped ones.
 *
 * The package ships rules.conf, rules/ and templates/ under DM_DATADIR
 * (PREFIX/share/diariemilter, /usr/share/diariemilter in the Debian
 * package); /etc/diariemilter holds only what a site overrides.  A file
 * is looked for where the configuration says ([policy] rules, [policy]
 * templates, relative paths beside the configuration file) and, when it
 * is not there, under the shipped directory by the same relative name:
 * a site file replaces the shipped one of the same name, one file at a
 * time, and an upgrade brings new rules without asking about conffiles.
 */
#ifndef DM_DATA_H
#define DM_DATA_H

/* DIR/REL when it exists (even as a broken link: the site's file is
 * the one meant, and its error the one to report), else the shipped
 * SHIPPED_SUB/REL when that exists, else DIR/REL (whose "no such file"
 * is the error to report).  REL absolute: REL itself.  SHIPPED_SUB may
 * be NULL or "" (the shipped directory itself).  g_free the result. */
char *dm_data_find(const char *dir, const char *rel, const char *shipped_sub);

/* The same for a path the configuration resolved (FILE =
 * DIR/BASENAME): DIR/BASENAME, else the shipped BASENAME. */
char *dm_data_find_file(const char *path);

/* The shipped directory (DM_DATADIR unless set). */
const char *dm_data_shipped_dir(void);

/* For tests: another shipped directory (NULL: back to DM_DATADIR). */
void dm_data_set_shipped_dir(const char *dir);

#endif
