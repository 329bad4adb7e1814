/*
 * dm_deliver: hands spooled copies and notices to the MTA.
 *
 * A worker thread takes items from the spool, oldest first, and runs
 * sendmail(1) for each (exec with an argument vector, never a shell),
 * the message on its standard input.  A delivered item is removed; a
 * failed one is tried again with backoff (retry_min doubling up to
 * retry_max); one that still fails after dead_after moves to dead/ and is
 * logged as an error.  Nothing is delivered before it is durable, and an
 * item leaves the spool only after the MTA took it.
 */
#ifndef DM_DELIVER_H
#define DM_DELIVER_H

#include <stdbool.h>

#include "dm_conf.h"
#include "dm_spool.h"

typedef struct dm_deliver dm_deliver;

/* Deliver one item now (also used by "diariectl queue retry").  Returns
 * true when the MTA took it; on failure *error says why (new string). */
bool dm_deliver_item(const dm_conf *conf, const dm_spool_item *it, char **error);

dm_deliver *dm_deliver_start(dm_spool *spool, dm_conf *conf);
/* Something new is in the spool: look now rather than at the next tick. */
void dm_deliver_kick(dm_deliver *d);
/* Use this configuration from the next item on. */
void dm_deliver_set_conf(dm_deliver *d, dm_conf *conf);
/* Finish the item in hand, stop the thread, free d. */
void dm_deliver_stop(dm_deliver *d);

/* One pass over the spool, as the thread does it; returns the number of
 * items delivered (for diariectl queue run and tests). */
int dm_deliver_pass(dm_spool *spool, const dm_conf *conf, int64_t now);

#endif
