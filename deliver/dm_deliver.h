/*
 * dm_deliver: hands spooled copies and notices to the MTA, once.
 *
 * A worker thread in the daemon takes the items that are due from new/,
 * oldest first.  For each it
 *
 *   1. claims it: renames new/X to cur/X (never over an item already
 *      there) and fsyncs the folder;
 *   2. runs a separate delivery process, the daemon's own binary:
 *      "diariemilter --deliver cur/X -c CONF".  That process takes
 *      flock(LOCK_EX) on cur/X, hands the message to the MTA (sendmail(1),
 *      exec with an argument vector and never a shell, the locked file as
 *      its standard input; or SMTP to [delivery] smtp_host), and when the
 *      MTA has taken it removes cur/X and fsyncs the folder, then exits 0;
 *      on failure it prints why and exits 75 (temporary) or 69 (permanent:
 *      a 5xx reply, sendmail's EX_NOUSER and the like), or 76 when the
 *      outcome is unknown (below);
 *   3. waits for it: 0, done; 75, the item goes back to new/ with one
 *      attempt more and a time for the next (retry_min doubling up to
 *      retry_max); 69, or a failure after dead_after, moves it to dead/
 *      with an error in the log; 76, see below.
 *
 * A hand-off that may have completed is never repeated blindly.
 * [delivery] timeout is how long one hand-off should take.  A sendmail
 * still running then may be queueing the message at that very moment:
 * killing it and trying again could send the copy twice (and over and
 * over, if it is just slow).  So it is given as long again.  If it ends
 * within twice the timeout, its own answer counts (0: delivered, logged
 * as slow; otherwise a failure as usual).  If it is still running then,
 * its whole process group is stopped (SIGTERM, SIGKILL 3 s later), and
 * since nobody can tell whether the MTA took the message the outcome is
 * unknown: the delivery process, still holding the lock, moves the item
 * to dead/ with the error "outcome unknown ..." and exits 76; the worker
 * logs it as an error (OUTCOME UNKNOWN ...).  The item is not tried again
 * by itself: an admin looks in the MTA's log and revives or deletes it.
 * The same holds for SMTP when the whole message was sent and no answer
 * to its end came (RFC 1047), and for a delivery process killed by a
 * signal.  The worker waits for a delivery process at most twice the
 * timeout and 30 s; past that it sends SIGTERM (the process then stops
 * its sendmail and puts the item aside as above) and SIGKILL 10 s later.
 * Each sendmail, and each delivery process, runs in a process group of
 * its own.  [delivery] timeout = 0 waits without bound.
 *
 * Because the bookkeeping after the MTA's acceptance (the unlink) is the
 * delivery process's and not the daemon's, killing the daemon at any
 * moment neither loses an item nor delivers one twice.  At start and
 * before every pass the worker looks at cur/: an item it can lock has no
 * live delivery process (it died, or the daemon died before starting it)
 * and goes back to new/; one it cannot lock is still being delivered by a
 * process that outlived its daemon, and is left alone.
 *
 * What remains: a power loss, or SIGKILL to the delivery process itself
 * by someone else, after the MTA accepted the message but before cur/X
 * was removed, leaves the item to be delivered again: a duplicate, never
 * a loss.  (SIGKILL to its sendmail before that sendmail said yes is no
 * delivery: sendmail exits non-zero then or, killed, is not taken as one.)
 */
#ifndef DM_DELIVER_H
#define DM_DELIVER_H

#include <stdbool.h>

#include "dm_conf.h"
#include "dm_exit.h"
#include "dm_spool.h"

typedef struct dm_deliver dm_deliver;

/* The outcome of one try, also the delivery process's exit status
 * (sysexits(3)). */
typedef enum {
    DM_DELIVERED = DM_EX_OK,
    DM_DELIVER_PERMANENT = DM_EX_UNAVAILABLE, /* 69: do not try again */
    DM_DELIVER_TEMPORARY = DM_EX_TEMPFAIL,    /* 75: try again later */
    DM_DELIVER_UNKNOWN = DM_EX_PROTOCOL,      /* 76: the MTA may or may not have
                                               * taken it: moved to dead/, never
                                               * tried again by itself */
} dm_deliver_status;

/* Hand the message of an item, read from fd (positioned anywhere; the
 * item's body_offset is used), to the MTA as the configuration says.
 * No spool bookkeeping.  On failure *error says why (new string). */
dm_deliver_status dm_deliver_send(const dm_conf *conf, const dm_spool_item *it, int fd,
                                  char **error);

/* The delivery process's work on a claimed item (a path in cur/): lock
 * it, send it, and once the MTA took it remove it and fsync its folder;
 * when the outcome is unknown, move it to dead/ (still locked).  An item
 * already locked by another process is left alone (temporary); one that
 * is gone counts as delivered (someone else finished it).  *error may be
 * set with DM_DELIVERED too: a note (a slow sendmail). */
dm_deliver_status dm_deliver_file(const dm_conf *conf, const char *path, char **error);

/* "diariemilter --deliver PATH -c CONF": the delivery process.  Returns
 * its exit status; the reason for a failure goes to standard error. */
int dm_deliver_main(int argc, char **argv);

/* Deliver one item now, in this process (diariectl queue retry): claim it
 * (from new/ or dead/), deliver, and record the outcome as the worker
 * would (removed, deferred, or buried; an item that came from dead/ goes
 * back there on failure).  *error: why it failed (new string). */
dm_deliver_status dm_deliver_now(dm_spool *spool, const dm_conf *conf, dm_spool_item *it,
                                 int64_t now, char **error);

/* helper: the diariemilter binary that runs delivery processes
 * ("HELPER --deliver PATH -c CONF", CONF being conf->path); NULL delivers
 * in the worker's own process (tests; conf without a path). */
dm_deliver *dm_deliver_start(dm_spool *spool, dm_conf *conf, const char *helper);
/* Something new is in the spool: look now rather than at the next tick. */
void dm_deliver_kick(dm_deliver *d);
/* Use this configuration from the next item on. */
void dm_deliver_set_conf(dm_deliver *d, dm_conf *conf);
/* Finish the item in hand, stop the thread, free d. */
void dm_deliver_stop(dm_deliver *d);

/* One pass over the spool, as the thread does it: cur/ recovered, then
 * every due item in new/ tried once.  Returns the number delivered. */
int dm_deliver_pass(dm_spool *spool, const dm_conf *conf, const char *helper, int64_t now);

#endif
