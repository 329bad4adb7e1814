/*
 * dm_spool: the durable delivery spool.
 *
 * A directory with tmp/ (being written), new/ (ready), dead/ (gave up).
 * An item is one file: a short envelope ("DIARIE-SPOOL 1", then
 * "key: value" lines: kind, message, created, attempts, next, from,
 * rcpt), a blank line, and the message to send.  Items are written in
 * tmp/, fsynced, and renamed into new/ together when the milter's
 * transaction commits; an item is only ever in one place, so a restart at
 * any moment delivers what was committed.
 */
#ifndef DM_SPOOL_H
#define DM_SPOOL_H

#include <gmime/gmime.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct dm_spool dm_spool;
typedef struct dm_spool_tx dm_spool_tx;

/* clean: remove tmp/ leftovers of transactions that never committed;
 * only the daemon, at start, when no transaction can be in progress. */
dm_spool *dm_spool_open(const char *dir, bool clean, GError **err);
void dm_spool_close(dm_spool *s);
const char *dm_spool_dir(const dm_spool *s);

/* Start the items owed for one message (msg_id: its X-Diarie-Id). */
dm_spool_tx *dm_spool_begin(dm_spool *s, const char *msg_id);
/* A new item: returns a stream to write the message to (owned by the
 * transaction), NULL with err set on failure.  name_seed, when not NULL,
 * makes the item's file name deterministic, so the same copy owed twice
 * (a message sent again) replaces rather than duplicates. */
GMimeStream *dm_spool_add(dm_spool_tx *tx, const char *kind, const char *from,
                          const char *rcpt, const char *name_seed, GError **err);
/* fsync every item, move them into new/, fsync the directory.  Until
 * dm_spool_finish, the delivery worker does not see them: whatever else
 * the message owes (its journal row) can still fail and take them back. */
bool dm_spool_commit(dm_spool_tx *tx, GError **err);
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
    char *kind;
    char *message;  /* X-Diarie-Id of the message it belongs to */
    char *from;
    char *rcpt;
    int64_t created;
    int64_t next;   /* not before this time */
    int attempts;
    char *last_error;
    int64_t body_offset; /* where the message starts in the file */
} dm_spool_item;

void dm_spool_item_free(dm_spool_item *it);
/* Items in new/ (or dead/ when dead), oldest first. */
GPtrArray *dm_spool_list(dm_spool *s, bool dead, GError **err);
dm_spool_item *dm_spool_read_item(const char *path, GError **err);
/* After a failed attempt: record it and when to try again. */
bool dm_spool_defer(dm_spool *s, dm_spool_item *it, int64_t next, const char *error,
                    GError **err);
/* Give up: move to dead/. */
bool dm_spool_bury(dm_spool *s, dm_spool_item *it, const char *error, GError **err);
/* Delivered, or deleted by an admin. */
bool dm_spool_remove(dm_spool *s, dm_spool_item *it, GError **err);
/* Move a dead item back to new/ for another try now. */
bool dm_spool_revive(dm_spool *s, dm_spool_item *it, GError **err);

#endif
