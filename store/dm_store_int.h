/*
 * Internals of store/: the contract a backend implements (dm_store_ops)
 * and what the backends share (the chain's macs, the keyed hashes, the
 * group commit).  Not for other rooms.
 *
 * The split: store/'s own files (dm_store.c, dm_store_journal.c,
 * dm_store_verify.c, dm_store_prune.c, dm_store_search.c,
 * dm_store_cases.c, dm_store_chain.c) decide what is kept and check it:
 * what a privat row may keep, the chain and its faults, the CSV export,
 * retention, what a search matches.  A backend only keeps and finds rows:
 * it runs the statements, holds the transactions and its own locks, and
 * calls dm_store_chain.c for every mac it writes.
 */
#ifndef DM_STORE_INT_H
#define DM_STORE_INT_H

#include "dm_store.h"

#define DM_STORE_ERROR (dm_store_error_quark())
GQuark dm_store_error_quark(void);
/* The code of an error that says the database could not be reached
 * (dm_store_error_unavailable); SQLite's errors carry its own codes. */
#define DM_STORE_UNAVAILABLE 1000
/* ... and a commit whose outcome is not known (dm_store_error_in_doubt). */
#define DM_STORE_IN_DOUBT 1001

/* The fields of a journal row in the order the mac covers them. */
enum {
    DM_JF_ID,
    DM_JF_TIME,
    DM_JF_QUEUE_ID,
    DM_JF_MESSAGE_ID,
    DM_JF_DIRECTION,
    DM_JF_SENDER,
    DM_JF_RECIPIENTS,
    DM_JF_SUBJECT,
    DM_JF_CLASS,
    DM_JF_SEKRETESS,
    DM_JF_CASE,
    DM_JF_REASONS,
    DM_JF_ACTIONS,
    DM_JF_HASH,
    DM_JF_DUP_KEY,
    DM_JF_GATEWAY, /* in the mac only when set: rows written before the
                    * column existed verify as they were written */
    DM_JOURNAL_FIELDS
};

/* One row of a group commit: its entry and its fields (as text, the
 * time and sekretess too), and once written whether it was. */
typedef struct dm_journal_req {
    const dm_journal_entry *e;
    const char *const *f; /* [DM_JOURNAL_FIELDS] */
    bool done, ok;
    GError *err;
} dm_journal_req;

/* A row as stored, for verify: the fields as text (NULL when empty),
 * the time and sekretess also as numbers. */
typedef struct dm_journal_raw {
    int64_t seq;
    const char *f[DM_JOURNAL_FIELDS];
    int64_t time;
    int sekretess;
    const char *prev, *mac;
    bool pruned;
    int64_t pruned_at;
    const char *seal;
} dm_journal_raw;

/* A row to tombstone: what the seal covers. */
typedef struct dm_journal_kept {
    int64_t seq;
    const char *id;
    int64_t time;
    const char *klass;
    int sekretess;
    const char *prev, *mac;
} dm_journal_kept;

typedef bool (*dm_journal_raw_fn)(const dm_journal_raw *r, void *data);
/* The anchor and head records as stored (NULL when there is none). */
typedef void (*dm_journal_points_fn)(const char *anchor, const char *head, void *data);
/* Takes r (frees it or keeps it); false stops. */
typedef bool (*dm_journal_row_fn)(dm_journal_row *r, void *data);
typedef bool (*dm_autoreply_fn)(const dm_autoreply_row *r, void *data);
/* Take r (free it or keep it); false stops. */
typedef bool (*dm_notice_fn)(dm_notice_row *r, void *data);
typedef bool (*dm_question_fn)(dm_question_row *r, void *data);

/* A row of a counter table or of the meta keys that move with the record
 * (dm_store_migrate.c): its table ("mass_window", "autoreply", "once",
 * "owed", "meta") and its columns as text, in the table's order
 * (mass_window: sender, rcpt, time; autoreply: person, first, last,
 * count; once: key, time; owed: key, id, time; meta: key, value;
 * notices: id, person, msg, registrar, time, reminded, answered,
 * answer_id; questions: id, mailbox, msg, thread, time, answered,
 * answer_id). */
typedef struct dm_store_counter_row {
    const char *table;
    const char *v[8];
    size_t n;
} dm_store_counter_row;
typedef bool (*dm_store_counter_fn)(const dm_store_counter_row *r, void *data);

/* A backend.  Every call with a dm_store is made with s->be open; the
 * backend serializes its own calls (threads share one dm_store). */
typedef struct dm_store_ops {
    const char *name;

    /* Without an open store: does this backend keep `database`? (The
     * first backend that says yes is used; SQLite, which takes a path,
     * comes last.)  The three of dm_store.h for it. */
    bool (*accepts)(const char *database);
    bool (*exists)(const char *database);
    void (*prepare)(const char *database);
    char **(*local_files)(const char *database);

    /* Open `database` into s->be (creating its schema when missing, and
     * recording when claims began: dm_store_owed_epoch); close it. */
    bool (*open)(dm_store *s, const char *database, GError **err);
    void (*close)(dm_store *s);

    /* --- the case index --- */
    /* Replace every case by these, and move the generation on, in one
     * transaction: readers see the old import or the new one. */
    bool (*cases_replace)(dm_store *s, const dm_store_case *c, size_t n, GError **err);
    /* by_authority: ordered by myndighet, dnr; else as stored (a later
     * row for the same case replaces an earlier one in the index). */
    bool (*cases_each)(dm_store *s, bool by_authority, dm_store_case_fn fn, void *data,
                       GError **err);
    int64_t (*cases_generation)(dm_store *s);

    /* --- the journal --- */
    /* Write the batch (dm_journal_req *) in one transaction, each row
     * with its counters and claims (dm_journal_entry) under a savepoint
     * of its own so that a failing row fails alone: its mac over the
     * last row's (dm_store_journal_last_mac's start when there is none),
     * and the head after it.  Sets each req's ok and err; when the
     * transaction itself fails, every row fails. */
    void (*journal_write)(dm_store *s, GPtrArray *batch);
    bool (*journal_find_dup)(dm_store *s, const char *dup_key, int64_t since, char **id,
                             int64_t *time, GError **err);
    bool (*journal_has)(dm_store *s, const char *id, bool *has, GError **err);
    /* In one read snapshot: first the anchor and head records to
     * points(), then every row in seq order to fn(). */
    bool (*journal_scan)(dm_store *s, dm_journal_points_fn points, dm_journal_raw_fn fn,
                         void *data, GError **err);
    /* The rows q's time and class select, oldest first, every column
     * filled (address and case are matched by dm_store_search.c;
     * q->address, when set, may narrow the rows to those whose sender,
     * recipients or actions contain it). */
    bool (*journal_search)(dm_store *s, const dm_journal_query *q, dm_journal_row_fn fn,
                           void *data, GError **err);
    /* Unpruned rows of class older than before: how many; tombstone up
     * to limit of them (oldest first) with seals made by seal(); remove
     * the tombstones at the start of the chain behind a new anchor. */
    bool (*prune_count)(dm_store *s, const char *klass, int64_t before, size_t *n,
                        GError **err);
    bool (*prune_batch)(dm_store *s, const char *klass, int64_t before, int64_t now,
                        size_t limit, size_t *done, GError **err);
    bool (*prune_compact)(dm_store *s, size_t *removed, GError **err);

    /* --- counters and claims (keys already hashed where dm_store.h says) --- */
    bool (*mass_count)(dm_store *s, const char *sender_key, char *const *rcpt_keys, size_t n,
                       int64_t since, unsigned *count, GError **err);
    bool (*autoreply_get)(dm_store *s, const char *person, int64_t *first, int64_t *last,
                          GError **err);
    bool (*autoreply_each)(dm_store *s, int64_t since, dm_autoreply_fn fn, void *data,
                           GError **err);
    bool (*once_seen)(dm_store *s, const char *key, bool *seen, GError **err);
    bool (*owed_find)(dm_store *s, const char *key, int64_t since, char **id, GError **err);
    int64_t (*owed_epoch)(dm_store *s);

    /* --- the schema, backup, migration --- */
    /* The version the database has (0: none). */
    bool (*schema_version)(dm_store *s, int *version, GError **err);
    /* Bring it to DM_STORE_SCHEMA_VERSION in one transaction. */
    bool (*upgrade)(dm_store *s, int *from, GError **err);
    /* NULL: the backend keeps no file to copy (the error says what to use). */
    bool (*backup)(dm_store *s, const char *path, GError **err);
    /* Every counter row and the meta keys that move with the record. */
    bool (*counters_each)(dm_store *s, dm_store_counter_fn fn, void *data, GError **err);
    /* Take everything from `from` (its journal_scan, cases_each and
     * counters_each) in one transaction, into an empty database; NULL:
     * this backend is not a migration's destination. */
    bool (*import)(dm_store *s, dm_store *from, GError **err);
    /* --- notices and questions (dm_store.h; keys already hashed) --- */
    bool (*notice_add)(dm_store *s, const char *id, int64_t time, const char *person_key,
                       const char *msg_key, const char *registrar, GError **err);
    /* Mark answered the unanswered notices of person_key whose msg_key is
     * one of msg_keys; *n: how many. */
    bool (*notice_answer)(dm_store *s, const char *person_key, char *const *msg_keys,
                          size_t n_keys, const char *answer_id, int64_t now, unsigned *n,
                          GError **err);
    bool (*notice_each)(dm_store *s, int64_t since, dm_notice_fn fn, void *data,
                        GError **err);
    /* now > 0: set reminded = now where neither reminded nor answered;
     * now = 0: reminded back to 0.  *claimed: a row changed. */
    bool (*notice_remind)(dm_store *s, const char *id, const char *person_key, int64_t now,
                          bool *claimed, GError **err);
    bool (*question_add)(dm_store *s, const char *id, int64_t time, const char *mailbox,
                         const char *msg_key, const char *thread_key, GError **err);
    /* Mark answered the unanswered questions older than now whose msg_key
     * is one of msg_keys or whose thread_key is one of thread_keys. */
    bool (*question_answer)(dm_store *s, char *const *msg_keys, size_t n_keys,
                            char *const *thread_keys, size_t n_threads, const char *answer_id,
                            int64_t now, unsigned *n, GError **err);
    bool (*question_each)(dm_store *s, int64_t since, const char *mailbox, dm_question_fn fn,
                          void *data, GError **err);
} dm_store_ops;

extern const dm_store_ops dm_store_sqlite_ops;
extern const dm_store_ops dm_store_pg_ops;

struct dm_store {
    const dm_store_ops *ops;
    void *be;        /* the backend's own */
    char *name;      /* the database, for messages */
    dm_store_options opt; /* defaults filled in; gateway owned */
    bool for_upgrade; /* open: an older schema is not refused */
    char *key;       /* local secret for keyed hashes */
    size_t keylen;
    GMutex lock;     /* owed_epoch */
    int64_t owed_epoch; /* -1 until read */
    /* The journal's group commit (dm_store_journal.c). */
    GMutex qlock;
    GCond qcond;
    GPtrArray *queue; /* dm_journal_req *, waiting for the next commit */
    bool leader;      /* a commit is under way */
};

/* --- the chain (dm_store_chain.c): the same for every backend --------- */

/* Where a chain starts when it has no row and no anchor. */
extern const char dm_journal_genesis[];
/* A row's mac over the previous row's and its fields. */
void dm_journal_mac(const dm_store *s, const char *prev, const char *const f[DM_JOURNAL_FIELDS],
                    char out[65]);
/* The head record ("seq mac seal") naming the row seq with mac; new string. */
char *dm_journal_head_record(const dm_store *s, int64_t seq, const char *mac);
/* The anchor record ("seq mac seal") of a pruned start; new string. */
char *dm_journal_anchor_record(const dm_store *s, int64_t seq, const char *mac);
/* Read a head or anchor record: false when garbled; *sealed whether its
 * seal is ours. */
bool dm_journal_head_parse(const dm_store *s, const char *record, int64_t *seq, char **mac,
                           bool *sealed);
bool dm_journal_anchor_parse(const dm_store *s, const char *record, int64_t *seq, char **mac,
                             bool *sealed);
/* A tombstone's seal: what it keeps, and when it was pruned. */
void dm_journal_seal(const dm_store *s, const dm_journal_kept *k, int64_t pruned_at,
                     char out[65]);
/* The mac a new row's chain continues from when the journal has no row:
 * the anchor's (everything pruned), else the genesis.  New string. */
char *dm_journal_start_mac(const dm_store *s, const char *anchor_record);
/* Keyed hash of an address for the mass window (tag: "mass-sender" or
 * "mass-rcpt"): 32 hex digits. */
void dm_store_counter_hash(const dm_store *s, const char *tag, const char *addr, char out[65]);

#endif
