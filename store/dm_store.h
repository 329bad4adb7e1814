/*
 * dm_store: what diariemilter keeps.
 *
 *  - the SQLite database (WAL): the journal (the order R8 asks for), the
 *    diarium case index, the counters (mass-mailing windows, absence from
 *    auto-replies, duplicates);
 *  - the spool directory: every copy and notice owed, written durably
 *    before the milter accepts a message, delivered by dm_deliver.
 *
 * One dm_store is shared by all threads; calls are serialized inside.
 */
#ifndef DM_STORE_H
#define DM_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm_case.h"
#include "dm_verdict.h"

typedef struct dm_store dm_store;

/* Open (creating when missing) the database at path; key: the local
 * secret for keyed hashes (may be NULL only for read-only tools). */
dm_store *dm_store_open(const char *path, const char *key, size_t keylen, GError **err);
void dm_store_close(dm_store *s);

/* --- the diarium case index --------------------------------------------- */

/* Replace the imported cases by those of a CSV export with the columns
 * diarienummer, myndighet, rubrik, status, parter, sekretess (any order,
 * named in the first row), atomically: readers see the old import or the
 * new one, never a mix.  *n: cases imported. */
bool dm_store_cases_import(dm_store *s, const char *csv_path, const dm_dnr_parser *parser,
                           size_t *n, GError **err);
/* The current import as an in-memory index. */
dm_case_index *dm_store_cases_load(dm_store *s, const dm_dnr_parser *parser, GError **err);
/* Changes with every import: reload the index when it differs. */
int64_t dm_store_cases_generation(dm_store *s);

/* --- the journal ---------------------------------------------------------- */

typedef struct dm_journal_entry {
    const char *id;         /* X-Diarie-Id */
    int64_t time;
    const char *queue_id;
    const char *message_id;
    const char *sender;
    char *const *rcpts;
    size_t n_rcpts;
    const char *subject;
    const char *sha256;     /* of the message as received */
    const dm_verdict *verdict;
} dm_journal_entry;

/* Append one row.  For privat and parti the row keeps only the time, the
 * class and a keyed hash of the message: no subject, no addresses. */
bool dm_store_journal_add(dm_store *s, const dm_journal_entry *e, GError **err);

/* Has a message with this Message-ID and hash been journaled since
 * `since`?  (Duplicates: the same message through two MX hosts.) */
bool dm_store_journal_seen(dm_store *s, const char *message_id, const char *sha256,
                           int64_t since, bool *seen, GError **err);

/* Check the hash chain; *bad: rows that fail (their seq, int64_t), *n: rows
 * read, *head_ok: the last row is the one the chain's recorded head names
 * (false when rows were removed at the end).  head_ok may be NULL. */
bool dm_store_journal_verify(dm_store *s, GArray *bad, size_t *n, bool *head_ok,
                             GError **err);

/* Raw access for diariectl. */
void *dm_store_db(dm_store *s); /* sqlite3 * */
GMutex *dm_store_lock(dm_store *s);

#endif
