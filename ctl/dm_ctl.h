/*
 * diariectl: the admin tool.  Each subcommand is a function in its own
 * file; they share the configuration loading below.
 */
#ifndef DM_CTL_H
#define DM_CTL_H

#include "dm_conf.h"
#include "dm_engine.h"
#include "dm_exit.h" /* exit codes, as sysexits(3), shared with the daemon */

/* The configuration named by -c, else $DIARIEMILTER_CONF, else the
 * installed one; NULL (with a message printed) when it cannot be read.
 * Run as root with a [milter] user, the process becomes that user here,
 * before anything opens the store, so that no file it makes is root's. */
dm_conf *dm_ctl_conf(const char *path);

/* s escaped for a terminal (dm_text_escape): every piece of data that
 * diariectl prints for people goes through it.  The string stays valid
 * for the next 15 calls; NULL gives "". */
const char *dm_ctl_safe(const char *s);

/* diariectl report's parts.  absence: printed, or with unwatched set
 * only the unwatched people's lines added to it (new strings). */
int dm_ctl_report_absence(dm_conf *conf, int64_t now, GPtrArray *unwatched);
int dm_ctl_report_svarstider(dm_conf *conf, int64_t now, int64_t since, const char *mailbox);
int dm_ctl_report_digest(dm_conf *conf, int64_t now, bool send);

int dm_ctl_notices(int argc, char **argv);
int dm_ctl_classify(int argc, char **argv);
int dm_ctl_fit(int argc, char **argv);
int dm_ctl_cases(int argc, char **argv);
int dm_ctl_directory(int argc, char **argv);
int dm_ctl_queue(int argc, char **argv);
int dm_ctl_journal(int argc, char **argv);
int dm_ctl_bench(int argc, char **argv);
int dm_ctl_report(int argc, char **argv);
int dm_ctl_store(int argc, char **argv);

#endif
