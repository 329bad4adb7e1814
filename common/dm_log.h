/*
 * dm_log: syslog with an optional mirror to stderr or a file.
 *
 * Every line about a message starts with the MTA's queue id when it is
 * known ("4F2A11C0D: ..."), the way Postfix's own logs do, so that an
 * admin can grep one id across both.
 */
#ifndef DM_LOG_H
#define DM_LOG_H

#include <stdbool.h>
#include <syslog.h>

typedef enum {
    DM_LOG_ERR = LOG_ERR,
    DM_LOG_WARNING = LOG_WARNING,
    DM_LOG_NOTICE = LOG_NOTICE,
    DM_LOG_INFO = LOG_INFO,
    DM_LOG_DEBUG = LOG_DEBUG,
} dm_log_level;

/* Open the log.  facility: a syslog facility name ("mail", "local3").
 * stderr_too mirrors every line to standard error (foreground runs).
 * file, when not NULL or empty, appends every line to that file as well
 * (hosts and tests without a syslog daemon); never through a symbolic
 * link, and only to a regular file with one link (it may live in a
 * directory the daemon's user can write, and root opens it too): false
 * with errno set, no file, and every line mirrored to standard error
 * instead, otherwise. */
bool dm_log_open(const char *ident, const char *facility, bool stderr_too,
                 const char *file, dm_log_level max_level);
void dm_log_close(void);
/* No syslog: lines up to max_level go to standard error (tools). */
void dm_log_stderr_only(dm_log_level max_level);

/* Parse a syslog facility or level name; false when unknown. */
bool dm_log_facility_from_name(const char *name, int *facility);
bool dm_log_level_from_name(const char *name, dm_log_level *level);

void dm_log(dm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As dm_log, prefixed with "QUEUEID: " when qid is not NULL or empty. */
void dm_log_q(dm_log_level level, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define dm_err(...) dm_log(DM_LOG_ERR, __VA_ARGS__)
#define dm_warn(...) dm_log(DM_LOG_WARNING, __VA_ARGS__)
#define dm_notice(...) dm_log(DM_LOG_NOTICE, __VA_ARGS__)
#define dm_info(...) dm_log(DM_LOG_INFO, __VA_ARGS__)
#define dm_debug(...) dm_log(DM_LOG_DEBUG, __VA_ARGS__)

#endif
