/*
 * dm_spool: the durable delivery spool.
 *
 * A directory with four folders:
 *
 *   tmp/   being written (a transaction not yet committed, a rewrite);
 *   new/   owed and waiting for delivery;
 *   cur/   claimed by a delivery in progress;
 *   dead/  given up on (logged as an error; "diariectl queue revive").
 *
 * An item is one file: a short envelope ("DIARIE-SPOOL 1", then
 * "key: value" lines: kind, message, message-id, created, attempts, next,
 * from, rcpt, "private: yes" for what concerns private mail, error), a
 * blank line, and the message to send.  Its name is unique to the arrival
 * that owes it (KIND.ID.N): two arrivals never share one, so neither can
 * replace or remove the other's items.  That the same copy is not owed
 * twice for one message is the journal's to decide (dm_store_owed_find;
 * the claims are made with the journal row).  Items are written in tmp/, fsynced, and renamed into new/ together when the
 * milter's transaction commits; an item is only ever in one place, so a
 * restart at any moment delivers what was committed.
 *
 * Delivering an item (see dm_deliver.h): it is renamed new/ -> cur/
 * (never replacing an item already there), and whoever delivers it holds
 * flock(LOCK_EX) on the file for as long as it works on it.  An item in
 * cur/ that nobody holds locked was abandoned (its delivery process died)
 * and dm_spool_recover moves it back to new/.
 */
#ifndef DM_SPOOL_H
#define DM_SPOOL_H

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct dm_spool dm_spool;
typedef struct dm_spool_tx dm_spool_tx;

typedef enum { DM_SPOOL_NEW, DM_SPOOL_CUR, DM_SPOOL_DEAD } dm_spool_where;

/* "new", "cur", "dead". */
const char *dm_spool_where_name(dm_spool_where w);

/* clean: remove tmp/ leftovers of transactions that never committed;
 * only the daemon, at start, when no transaction can be in progress. */
dm_spool *dm_spool_open(const char *dir, bool clean, GError **err);
void dm_spool_close(dm_spool *s);
const char *dm_spool_dir(const dm_spool *s);

/* Start the items owed for one message (msg_id: its X-Diarie-Id). */
dm_spool_tx *dm_spool_begin(dm_spool *s, const char *msg_id);
/* The original's Message-ID, recorded in each item's envelope for
 * "diariectl queue" (call before dm_spool_add). */
void dm_spool_tx_set_origin(dm_spool_tx *tx, const char *message_id);
typedef enum {
    /* It concerns private mail (privat or parti, or a message in doubt):
     * its recipient is never logged (dm_spool_item_rcpt_for_log). */
    DM_SPOOL_PRIVATE = 1 << 0,
} dm_spool_flags;

/* A new item under a name of its own: returns a stream to write the
 * message to (owned by the transaction), NULL with err set (and nothing
 * left in tmp/) on failure.  flags: dm_spool_flags. */
GMimeStream *dm_spool_add(dm_spool_tx *tx, const char *kind, const char *from,
                          const char *rcpt, unsigned flags, GError **err);
/* fsync every item, move them into new/, fsync the directory.  Until
 * dm_spool_finish, the delivery worker does not see them: whatever else
 * the message owes (its journal row) can still fail and take them back. */
bool dm_spool_commit(dm_spool_tx *tx, GError **err);
/* Take back one item (the index-th added) before dm_spool_finish: it is
 * removed wherever it is (tmp/, or new/ after a commit; the delivery
 * worker has not seen it).  For an action whose claim another arrival
 * won. */
void dm_spool_tx_drop(dm_spool_tx *tx, size_t index);
/* keep: the message was accepted, the items stay for delivery; else they
 * are removed.  Frees tx. */
void dm_spool_finish(dm_spool_tx *tx, bool keep);
/* dm_spool_finish(tx, false). */
void dm_spool_free(dm_spool_tx *tx);
size_t dm_spool_tx_count(const dm_spool_tx *tx);

/* --- reading, for delivery and diariectl queue ---------------------------- */

typedef struct dm_spool_item {
    char *path;     /* where it is now */
    char *name;
    dm_spool_where where;
    char *kind;
    char *message;  /* X-Diarie-Id of the message it belongs to */
    char *message_id; /* the original's Message-ID, or NULL */
    char *from;
    char *rcpt;
    int64_t created;
    int64_t next;   /* not before this time */
    int attempts;
    char *last_error;
    bool private_mail; /* DM_SPOOL_PRIVATE */
    int64_t body_offset; /* where the message starts in the file */
} dm_spool_item;

void dm_spool_item_free(dm_spool_item *it);
/* The recipient as a log line may name it: it->rcpt, or for an item of
 * private mail only the fact ("the recipient of private mail"). */
const char *dm_spool_item_rcpt_for_log(const dm_spool_item *it);
/* Items in new/ (or dead/ when dead), oldest first. */
GPtrArray *dm_spool_list(dm_spool *s, bool dead, GError **err);
/* Items in one folder, oldest first. */
GPtrArray *dm_spool_list_in(dm_spool *s, dm_spool_where where, GError **err);
dm_spool_item *dm_spool_read_item(const char *path, GError **err);

/* How many items each folder holds and when the oldest item not yet
 * delivered (new/ or cur/) was first owed, from the names alone
 * (KIND.ID.N: ID is made by dm_id_new with the item, and says when):
 * no item is opened and no lock taken, so it is cheap enough for every
 * scrape of the metrics. */
typedef struct dm_spool_census {
    uint64_t count[DM_SPOOL_DEAD + 1]; /* by dm_spool_where */
    int64_t oldest_ms;                 /* milliseconds since the epoch; 0: none */
} dm_spool_census;

bool dm_spool_take_census(dm_spool *s, dm_spool_census *c, GError **err);
/* The item called name, looked for in new/, cur/ and dead/; NULL with
 * G_FILE_ERROR_NOENT when there is none.  name must be a plain file name. */
dm_spool_item *dm_spool_find(dm_spool *s, const char *name, GError **err);
/* After a failed attempt: record it and when to try again (into new/). */
bool dm_spool_defer(dm_spool *s, dm_spool_item *it, int64_t next, const char *error,
                    GError **err);
/* Give up: move to dead/. */
bool dm_spool_bury(dm_spool *s, dm_spool_item *it, const char *error, GError **err);
/* Delivered, or deleted by an admin. */
bool dm_spool_remove(dm_spool *s, dm_spool_item *it, GError **err);
/* Move a dead item back to new/ for another try now: its attempts start
 * again from 0 and dead_after counts from now. */
bool dm_spool_revive(dm_spool *s, dm_spool_item *it, GError **err);

/* --- delivery: claim, lock, recover --------------------------------------- */

/* Move an item from new/ (or dead/) to cur/, atomically and never over an
 * item of the same name already there (G_FILE_ERROR_EXIST then; a
 * vanished item gives G_FILE_ERROR_NOENT).  Updates it->path and where. */
bool dm_spool_claim(dm_spool *s, dm_spool_item *it, GError **err);

typedef enum {
    DM_SPOOL_LOCKED, /* *fd holds flock(LOCK_EX) on the file at path */
    DM_SPOOL_BUSY,   /* another process holds it */
    DM_SPOOL_GONE,   /* no longer at path */
    DM_SPOOL_LOCK_ERROR,
} dm_spool_lock_result;

/* Open path and take flock(LOCK_EX | LOCK_NB) on it, then check that path
 * still names the locked file (it may have been moved meanwhile).  Closing
 * *fd releases the lock (unless a child inherited it). */
dm_spool_lock_result dm_spool_lock(const char *path, int *fd, GError **err);

/* Items in cur/ that no process holds: their delivery process died (or
 * the daemon died between claiming and starting it).  Move them back to
 * new/ to be tried again; returns how many. */
int dm_spool_recover(dm_spool *s);

/* fsync a directory; false with errno set on failure. */
bool dm_spool_fsync_dir(const char *dir);

#endif
