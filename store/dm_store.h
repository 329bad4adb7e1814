/*
 * dm_store: the record diariemilter keeps.
 *
 *  - the journal (the order R8 asks for), a keyed hash chain;
 *  - the diarium case index;
 *  - the counters and claims across messages: mass-mailing windows,
 *    absence from auto-replies, notices once a period, actions owed once
 *    per message.
 *
 * This header is the whole interface: no caller sees how or where the
 * record is kept.  A backend implements it behind dm_store_ops
 * (dm_store_int.h); SQLite's (dm_store_sqlite*.c) keeps it in one file in
 * WAL mode, and is the one a path in [store] database names.  The
 * journal's chain (its macs, seals, head and anchor) is computed outside
 * the backends (dm_store_chain.c), so every backend writes and verifies
 * the same chain.  (The spool of copies and notices is not the record's:
 * it is deliver/'s, local to each gateway.)
 *
 * One dm_store is shared by all threads; calls are serialized inside.
 */
#ifndef DM_STORE_H
#define DM_STORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm_case.h"
#include "dm_conf.h"
#include "dm_verdict.h"

typedef struct dm_store dm_store;

/* How to reach a shared database, and who this gateway is.  Zero members
 * take their defaults (dm_store_open). */
typedef struct dm_store_options {
    const char *gateway;       /* written in each journal row ([site] gateway_id) */
    int64_t connect_timeout;   /* seconds; 0: 5 */
    int64_t timeout;           /* seconds one statement may take; 0: 10 */
    unsigned pool_size;        /* connections at most; 0: 4 */
} dm_store_options;

/* Open (creating when missing) the database [store] database names; key:
 * the local secret for keyed hashes (may be NULL only for read-only
 * tools).  A database is a path (SQLite) or a postgresql:// URI
 * (PostgreSQL, dm_store_pg.c). */
dm_store *dm_store_open(const char *database, const char *key, size_t keylen, GError **err);
dm_store *dm_store_open_with(const char *database, const dm_store_options *opt,
                             const char *key, size_t keylen, GError **err);
/* The same with the configuration's [store] database, timeouts and pool,
 * and its [site] gateway_id. */
dm_store *dm_store_open_conf(const dm_conf *conf, const char *key, size_t keylen,
                             GError **err);
void dm_store_close(dm_store *s);
/* Was err (from any dm_store call) a database that could not be reached
 * at all (PostgreSQL down, no primary among the hosts)?  It may pass: a
 * daemon that cannot start for it exits to be started again. */
bool dm_store_error_unavailable(const GError *err);
/* Was err a journal row whose commit's outcome is not known (the
 * connection to a shared database lost during COMMIT, and not found
 * again within [store] timeout)?  The row may be there: what it owes is
 * better delivered twice than not at all, so its spooled items stay. */
bool dm_store_error_in_doubt(const GError *err);
/* Which backend keeps s: "sqlite" or "postgresql". */
const char *dm_store_backend_name(const dm_store *s);

/* --- the schema --------------------------------------------------------- */

/* The schema version this binary writes.  A database with a newer one is
 * refused at open; an older one is upgraded by dm_store_upgrade (SQLite:
 * also at open, for one gateway owns its file; PostgreSQL: only so, for
 * every gateway sharing it must be able to read it: "diariectl store
 * upgrade" once they all run a binary that knows the new version). */
#define DM_STORE_SCHEMA_VERSION 3
/* Open database for an upgrade only: an older schema is not refused. */
dm_store *dm_store_open_for_upgrade(const char *database, const dm_store_options *opt,
                                    GError **err);
/* The database's schema version (0: none yet). */
bool dm_store_schema_version(dm_store *s, int *version, GError **err);
/* Bring the schema to DM_STORE_SCHEMA_VERSION; *from: what it was. */
bool dm_store_upgrade(dm_store *s, int *from, GError **err);
/* A consistent copy of the whole database into the new file `path`
 * (SQLite's online backup, while the daemon writes).  Backends that keep
 * no local file say so (PostgreSQL: pg_dump). */
bool dm_store_backup(dm_store *s, const char *path, GError **err);

/* Is there a database yet?  A tool that only reads says so rather than
 * making an empty one.  (SQLite: the file exists.) */
bool dm_store_exists(const char *database);
/* Make what a new database needs before its first open (SQLite: its
 * directory, 0750, and any missing parents).  A failure shows when it is
 * opened. */
void dm_store_prepare(const char *database);
/* The files the database keeps on this host (SQLite: the database and
 * its -wal and -shm beside it; the first is the database): the daemon
 * makes them its user's before it drops privileges.  NULL-terminated, for
 * g_strfreev; empty when the database is not kept in local files. */
char **dm_store_local_files(const char *database);

/* Move everything `from` keeps (the journal row for row with its chain,
 * head and anchor; the cases; the counters and claims) into `to`, which
 * must be empty, in one transaction of `to`'s ("diariectl store
 * migrate").  The same key verifies the chain after. */
bool dm_store_migrate(dm_store *from, dm_store *to, GError **err);

/* --- the diarium case index --------------------------------------------- */

/* Replace the imported cases by those of a CSV export with the columns
 * diarienummer, myndighet, rubrik, status, parter, sekretess (any order,
 * named in the first row as parser's [diarium] names them), atomically: readers see the old import or the
 * new one, never a mix.  *n: cases imported. */
bool dm_store_cases_import(dm_store *s, const char *csv_path, const dm_dnr_parser *parser,
                           size_t *n, GError **err);
/* The current import as an in-memory index. */
dm_case_index *dm_store_cases_load(dm_store *s, const dm_dnr_parser *parser, GError **err);

/* One imported case as it was imported. */
typedef struct dm_store_case {
    const char *dnr, *myndighet, *title, *status, *parties;
    bool sekretess;
} dm_store_case;

/* Called for each case; false stops. */
typedef bool (*dm_store_case_fn)(const dm_store_case *c, void *data);
/* Every imported case, by authority and then case number ("diariectl
 * cases list"). */
bool dm_store_cases_each(dm_store *s, dm_store_case_fn fn, void *data, GError **err);
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
    const char *body_sha256; /* of its body alone (after the header); with
                              * the Message-ID, the duplicate key.  NULL:
                              * sha256 is used. */
    const dm_verdict *verdict;
    bool keep_all;          /* the row keeps everything above; false (the
                             * default, and privat and parti: policy's
                             * dm_policy_journal_keeps): only the time, the
                             * class and a keyed hash of sha256 */

    /* Counters written in the row's own transaction (all optional): */
    const char *mass_sender;      /* R14: rcpts join this sender's window */
    int64_t mass_since;           /* window entries older than this go */
    const char *autoreply_person; /* an automatic reply left from this person */
    int64_t autoreply_since;      /* one after this continues their absence */
    char *const *once_keys;       /* notices owed once per period: claimed */
    size_t n_once;
    char *const *owed_keys;       /* actions owed once per message
                                   * (dm_store_owed_key): claimed */
    size_t n_owed;
    int64_t owed_since;           /* a claim made before this has expired */
    bool *owed_claimed;           /* out, [n_owed]: true when this row's
                                   * claim holds, false when another
                                   * arrival's live claim was there first */
    bool *once_claimed;           /* out, [n_once] (may be NULL): true when
                                   * this row claimed the key, false when
                                   * another (another gateway's) had it */
} dm_journal_entry;

/* Append one row.  Without e->keep_all (privat and parti) the row keeps
 * only the time, the class and a keyed hash of the message: no subject,
 * no addresses, no Message-ID.  store/ does not judge a class itself. */
bool dm_store_journal_add(dm_store *s, const dm_journal_entry *e, GError **err);

/* The key duplicates are found by: the Message-ID and the hash of the
 * body (not of the whole message: two MX hosts add different Received
 * lines).  NULL (no duplicate possible) without a Message-ID. */
char *dm_store_dup_key(const char *message_id, const char *body_sha256);

/* Has a message with this Message-ID and body hash been journaled since
 * `since`?  (Duplicates: the same message through two MX hosts.) */
bool dm_store_journal_seen(dm_store *s, const char *message_id, const char *body_sha256,
                           int64_t since, bool *seen, GError **err);
/* The first row since `since` with this duplicate key: *id (new string,
 * NULL when there is none) and *time (may be NULL). */
bool dm_store_journal_find_dup(dm_store *s, const char *dup_key, int64_t since, char **id,
                               int64_t *time, GError **err);
/* Is there a row with this X-Diarie-Id? */
bool dm_store_journal_has(dm_store *s, const char *id, bool *has, GError **err);

/* Check the hash chain; *bad: rows that fail (their seq, int64_t), *n: rows
 * read, *head_ok: the last row is the one the chain's recorded head names
 * (false when rows were removed at the end).  head_ok may be NULL. */
bool dm_store_journal_verify(dm_store *s, GArray *bad, size_t *n, bool *head_ok,
                             GError **err);

typedef enum {
    DM_JOURNAL_ALTERED,    /* the row's content does not match its mac */
    DM_JOURNAL_MISSING,    /* rows seq..seq_to are gone */
    DM_JOURNAL_BROKEN,     /* the row does not follow the one before it */
    DM_JOURNAL_BAD_SEAL,   /* a pruned row not pruned by the key's holder */
    DM_JOURNAL_BAD_HEAD,   /* the recorded head names no existing last row:
                            * rows seq..seq_to (when known) removed at the
                            * end, or the head record itself altered */
    DM_JOURNAL_BAD_ANCHOR, /* the anchor of the pruned start is not ours */
} dm_journal_fault_kind;

typedef struct dm_journal_fault {
    dm_journal_fault_kind kind;
    int64_t seq, seq_to; /* the row, or a range; 0 when not known */
    /* The row's id, time and class as they stand (ALTERED, BROKEN,
     * BAD_SEAL: the row is there); NULL and 0 for the others. */
    char *id, *klass;
    int64_t time;
} dm_journal_fault;

typedef struct dm_journal_report {
    size_t rows;        /* rows read */
    size_t pruned;      /* of them pruned (kept as time, class, chain) */
    int64_t anchor_seq; /* rows up to this one were pruned and removed */
    int64_t last_seq;
    GArray *faults;     /* dm_journal_fault, in seq order; made by check */
} dm_journal_report;

/* The whole check "diariectl journal verify" reports.  r->faults is
 * allocated here; free it with dm_journal_report_clear. */
bool dm_store_journal_check(dm_store *s, dm_journal_report *r, GError **err);
void dm_journal_report_clear(dm_journal_report *r);
const char *dm_journal_fault_text(dm_journal_fault_kind k);

/* Retention for one class name ("registreras" ... "privat", "rejected");
 * seconds 0 keeps for ever. */
typedef struct dm_journal_retention {
    const char *klass;
    int64_t seconds;
} dm_journal_retention;

/* Prune the rows older than their class's retention.  A pruned row stays
 * in the chain as a tombstone: its seq, id, time, class, sekretess flag,
 * prev and mac are kept, everything else is removed, and a seal (an HMAC
 * under the key over those and the time of pruning) marks it as pruned
 * by the key's holder.  verify then still proves every remaining row
 * unaltered and the chain whole.  Tombstones at the very start of the
 * journal are then removed altogether, behind a sealed anchor (the last
 * one's seq and mac) from which verify starts.  counts[i]: rows of
 * retain[i]'s class pruned (or, with dry_run, that would be); *removed:
 * tombstones removed behind the anchor. */
bool dm_store_journal_prune(dm_store *s, const dm_journal_retention *retain, size_t n,
                            int64_t now, bool dry_run, size_t *counts, size_t *removed,
                            GError **err);

/* Search ("diariectl journal search").  Zero or NULL members match all. */
typedef struct dm_journal_query {
    int64_t since, until;   /* time >= since, time < until */
    const char *address;    /* the sender, a recipient, or an action's address */
    const char *case_dnr;   /* the case cited */
    const char *klass;      /* a class name or "rejected" */
    size_t limit;           /* 0: no limit */
} dm_journal_query;

typedef struct dm_journal_row {
    int64_t seq;
    char *id;
    char *gateway;          /* which gateway wrote it (NULL: not recorded) */
    int64_t time;
    char *klass;
    bool sekretess;
    bool pruned;
    bool private_row;       /* written without keep_all (privat or parti):
                             * only time, class and id */
    /* NULL for private and pruned rows: */
    char *queue_id, *message_id, *direction, *sender, *recipients, *subject, *case_dnr;
    char *reasons, *actions; /* JSON arrays */
    char *hash;
} dm_journal_row;

void dm_journal_row_free(dm_journal_row *r);
/* Matching rows, oldest first (dm_journal_row *). */
GPtrArray *dm_store_journal_search(dm_store *s, const dm_journal_query *q, GError **err);

/* --- counters across messages (R12, R13, R14) ------------------------------ */

/* Distinct recipients of sender inside the mass window (entries since
 * `since`), counting those of rcpts not yet in it. */
bool dm_store_mass_count(dm_store *s, const char *sender, char *const *rcpts, size_t n,
                         int64_t since, unsigned *count, GError **err);

/* The person's automatic replies: the start of the current run and the
 * last one (0 and 0 when none was seen). */
bool dm_store_autoreply_get(dm_store *s, const char *person, int64_t *first, int64_t *last,
                            GError **err);

typedef struct dm_autoreply_row {
    char *person;
    int64_t first, last, count;
} dm_autoreply_row;

void dm_autoreply_row_free(dm_autoreply_row *r);
/* People whose last automatic reply left since `since` (dm_autoreply_row *). */
GPtrArray *dm_store_autoreply_list(dm_store *s, int64_t since, GError **err);

/* Was a notice with this once-key ("manager|ADDR|DAY") already sent? */
bool dm_store_once_seen(dm_store *s, const char *key, bool *seen, GError **err);

/* --- actions owed once per message ---------------------------------------- */

/* The same message may arrive in several transactions (a split delivery,
 * a retry of one recipient, two MX hosts, a redirect).  Each action it
 * owes (a copy to a registrator, a notice to a person, a manager notice,
 * a reminder) is owed once per message: the first arrival that owes it
 * claims it, with its journal row, in the row's own transaction, so an
 * action is claimed exactly when it is spooled and accepted.  An arrival
 * owes what no live claim covers yet, and only that.
 *
 * The key of one action for one message: a hash of the message's
 * duplicate key (dm_store_dup_key) and the action (its kind, to whom,
 * for whom), so the table holds no addresses.  New string. */
char *dm_store_owed_key(const char *dup_key, const char *action);
/* The row (*id, new string; NULL when none) whose claim on key is live:
 * made since `since`. */
bool dm_store_owed_find(dm_store *s, const char *key, int64_t since, char **id, GError **err);
/* When this database began to claim actions one by one (its creation, or
 * the upgrade that added the claims): an arrival journalled before it has
 * none, and a repeat of it owes nothing again, as before. */
int64_t dm_store_owed_epoch(dm_store *s);

/* --- notices that ask for an answer; questions to functional mailboxes ---
 *
 * Kept as the journal keeps them and no more: the journal row's id, times,
 * keyed hashes of the person's address, of Message-IDs and of a subject
 * with its correspondent (dm_store_counter_hash), and the registrator or
 * functional mailbox (a mailbox of the organisation, never a person's).
 * Only for messages whose class is not privat or parti. */

/* A notice that asks person to forward the message (Message-ID
 * message_id, "" when it has none) of journal row id to registrar (NULL:
 * none known) was sent at time. */
bool dm_store_notice_add(dm_store *s, const char *id, int64_t time, const char *person,
                         const char *message_id, const char *registrar, GError **err);
/* person sent a message to a registrator that is, attaches, forwards or
 * refers to one of message_ids: the notices to person about those
 * messages, unanswered, count as answered at now by the journal row
 * answer_id.  *n (may be NULL): how many. */
bool dm_store_notice_answer(dm_store *s, const char *person, char *const *message_ids,
                            size_t n_ids, const char *answer_id, int64_t now, unsigned *n,
                            GError **err);

typedef struct dm_notice_row {
    char *id;          /* the journal row the notice is about */
    char *person_key;  /* keyed hash of the person (dm_store_person_key) */
    char *registrar;   /* or NULL */
    int64_t time;      /* sent */
    int64_t reminded;  /* the reminder sent, 0 when not */
    int64_t answered;  /* 0 when not */
    char *answer_id;   /* the journal row that answered, or NULL */
} dm_notice_row;

void dm_notice_row_free(dm_notice_row *r);
/* Notices sent since `since`, oldest first (dm_notice_row *). */
GPtrArray *dm_store_notice_list(dm_store *s, int64_t since, GError **err);
/* Claim the reminder of one notice: *claimed true when it was neither
 * answered nor reminded, and is now reminded at `now`; now = 0 takes a
 * claim back (the reminder could not be spooled). */
bool dm_store_notice_remind(dm_store *s, const char *id, const char *person_key, int64_t now,
                            bool *claimed, GError **err);
/* The keyed hash a notice keeps of a person's address; out[65]. */
void dm_store_person_key(dm_store *s, const char *addr, char out[65]);

/* R15: a question (journal row id, Message-ID message_id or "") from
 * correspondent to the functional mailbox arrived at time, about subject. */
bool dm_store_question_add(dm_store *s, const char *id, int64_t time, const char *mailbox,
                           const char *message_id, const char *correspondent,
                           const char *subject, GError **err);
/* A reply left at now (journal row answer_id): it refers to message_ids
 * (In-Reply-To, References), its subject is subject and it went to
 * correspondents.  The questions it answers (by a Message-ID, else by the
 * subject with a correspondent), unanswered and older, count as answered.
 * *n (may be NULL): how many. */
bool dm_store_question_answer(dm_store *s, char *const *message_ids, size_t n_ids,
                              const char *subject, char *const *correspondents, size_t n_corr,
                              const char *answer_id, int64_t now, unsigned *n, GError **err);

typedef struct dm_question_row {
    char *id;
    char *mailbox;
    int64_t time;
    int64_t answered;  /* 0 when not */
    char *answer_id;
} dm_question_row;

void dm_question_row_free(dm_question_row *r);
/* Questions since `since` (to mailbox only, unless NULL), oldest first
 * (dm_question_row *). */
GPtrArray *dm_store_question_list(dm_store *s, int64_t since, const char *mailbox,
                                  GError **err);
/* A subject as replies and forwards keep it: "Re:", "SV:", "Fwd:", "VB:"
 * and the like taken off the front, blanks folded, casefolded.  New
 * string. */
char *dm_store_subject_thread(const char *subject);

#endif
