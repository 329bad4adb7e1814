/*
 * dm_exit: the exit statuses of diariemilter, its delivery process and
 * diariectl, as sysexits(3) names them: one list for every program, so
 * that a script, cron or systemd reads a number the same way whichever
 * program gave it.  (A command's own "found something" status, such as
 * "journal verify" finding a fault, is 1 and stays with the command.)
 */
#ifndef DM_EXIT_H
#define DM_EXIT_H

#include <sysexits.h>

#define DM_EX_OK EX_OK                   /* 0 */
#define DM_EX_USAGE EX_USAGE             /* 64: the command line */
#define DM_EX_DATAERR EX_DATAERR         /* 65: the input data */
#define DM_EX_NOINPUT EX_NOINPUT         /* 66: a file or database cannot be read */
#define DM_EX_NOUSER EX_NOUSER           /* 67: no such user or group */
#define DM_EX_UNAVAILABLE EX_UNAVAILABLE /* 69: refused for good (a delivery) */
#define DM_EX_SOFTWARE EX_SOFTWARE       /* 70: an internal error */
#define DM_EX_OSERR EX_OSERR             /* 71: the system refused (socket, detach, setuid) */
#define DM_EX_CANTCREAT EX_CANTCREAT     /* 73: a file or directory cannot be made or written */
#define DM_EX_TEMPFAIL EX_TEMPFAIL       /* 75: try again later */
#define DM_EX_PROTOCOL EX_PROTOCOL       /* 76: (a delivery) the outcome is unknown */
#define DM_EX_CONFIG EX_CONFIG           /* 78: the configuration */

#endif
