/*
 * Internals shared by the store/ files; not for other modules.
 */
#ifndef DM_STORE_INT_H
#define DM_STORE_INT_H

#include <sqlite3.h>

#include "dm_store.h"

struct dm_store {
    sqlite3 *db;
    char *path;
    GMutex lock;
    char *key; /* local secret for keyed hashes */
    size_t keylen;
    /* The journal's group commit (dm_store_journal.c). */
    GMutex qlock;
    GCond qcond;
    GPtrArray *queue; /* dm_journal_req *, waiting for the next commit */
    bool leader;      /* a commit is under way */
    int64_t owed_epoch; /* dm_store_owed_epoch, -1 until read */
};

#define DM_STORE_ERROR (dm_store_error_quark())
GQuark dm_store_error_quark(void);

void dm_store_set_sqlite_error(GError **err, sqlite3 *db, const char *what);
bool dm_store_exec(dm_store *s, const char *sql, GError **err);
/* The counters an entry asks for, inside the journal's transaction with
 * s->lock held (dm_store_counters.c). */
bool dm_store_counters_record(dm_store *s, const dm_journal_entry *e, GError **err);
/* Claim one owed action for the row `id` (dm_store_owed_find): one
 * statement, which takes the key when it is free or its claim was made
 * before `since`, and leaves a live claim alone.  *claimed: whether the
 * claim is now this row's.  Inside the journal's transaction, with
 * s->lock held. */
bool dm_store_owed_claim(dm_store *s, const char *key, const char *id, int64_t time,
                         int64_t since, bool *claimed, GError **err);

#endif
