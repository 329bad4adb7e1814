/*
 * dm_engine: one message's path, shared by the daemon and diariectl.
 *
 *   envelope + message  --mime-->  dm_msg
 *   addresses           --ldap-->  dm_party entries
 *   facts               --policy-> dm_verdict          (pure)
 *   verdict             --store--> spool items + journal row
 *
 * A dm_engine bundles what one configuration needs: the configuration
 * itself, the compiled policy, the directory pool and cache, the
 * templates, the store and the spool.  It is reference counted: on reload
 * the daemon builds a new engine and messages in flight finish on theirs.
 */
#ifndef DM_ENGINE_H
#define DM_ENGINE_H

#include <gmime/gmime.h>

#include "dm_conf.h"
#include "dm_deliver.h"
#include "dm_facts.h"
#include "dm_ldap.h"
#include "dm_loop.h"
#include "dm_mime.h"
#include "dm_policy.h"
#include "dm_spool.h"
#include "dm_store.h"
#include "dm_verdict.h"

typedef enum {
    DM_ENGINE_OFFLINE = 1 << 0, /* no directory: every party unknown */
    DM_ENGINE_NO_SPOOL = 1 << 1, /* classify only: no spool, no journal */
    DM_ENGINE_READONLY = 1 << 2, /* do not create the database or key */
} dm_engine_flags;

typedef struct dm_engine dm_engine;

/* spool: the daemon's one spool, shared by every engine it builds (the
 * delivery worker and the committers must share its lock); borrowed, it
 * must outlive the engine.  NULL: open one (unless DM_ENGINE_NO_SPOOL). */
dm_engine *dm_engine_new(dm_conf *conf, unsigned flags, dm_spool *spool, GError **err);

/* What of an engine can be built and checked without the directory, the
 * store or the spool: the compiled rules and the templates.  The daemon
 * builds them while it can still tell the terminal what is wrong
 * ("diariemilter -n" builds them and no more) and hands them to
 * dm_engine_new_with, which takes them (NULL: builds its own). */
typedef struct dm_engine_rules dm_engine_rules;
dm_engine_rules *dm_engine_rules_new(const dm_conf *conf, GError **err);
void dm_engine_rules_free(dm_engine_rules *r);
dm_engine *dm_engine_new_with(dm_conf *conf, unsigned flags, dm_spool *spool,
                              dm_engine_rules *rules, GError **err);
dm_engine *dm_engine_ref(dm_engine *e);
void dm_engine_unref(dm_engine *e);

dm_conf *dm_engine_conf(dm_engine *e);
dm_store *dm_engine_store(dm_engine *e);   /* NULL with DM_ENGINE_NO_SPOOL and no db */
dm_spool *dm_engine_spool(dm_engine *e);   /* NULL with DM_ENGINE_NO_SPOOL */
dm_ldap *dm_engine_ldap(dm_engine *e);     /* NULL when offline */
const dm_policy *dm_engine_policy(dm_engine *e);
const dm_mime_limits *dm_engine_limits(dm_engine *e);
const dm_templates *dm_engine_templates(dm_engine *e);
/* The site key (NULL with DM_ENGINE_READONLY and no key file). */
const char *dm_engine_key(dm_engine *e, size_t *len);

/* The envelope as the MTA gave it. */
typedef struct dm_envelope {
    char *from;         /* normalized; "" for <> */
    GPtrArray *rcpts;   /* char *, normalized, in order, without duplicates */
    char *auth;         /* SASL login or NULL */
    char *client_addr;  /* or NULL */
    bool internal_net;  /* client_addr in [milter] internal_networks */
    char *queue_id;     /* or NULL */
} dm_envelope;

dm_envelope *dm_envelope_new(void);
void dm_envelope_free(dm_envelope *env);
/* Adds unless already there; returns false for a duplicate. */
bool dm_envelope_add_rcpt(dm_envelope *env, const char *addr);

/* Look up every party and gather the directory's and the diarium's facts
 * (everything but the message); false with err set when the directory
 * could not answer (the caller applies [milter] on_directory_error). */
bool dm_engine_resolve(dm_engine *e, const dm_envelope *env, int64_t now, dm_facts *f,
                       GError **err);
void dm_engine_facts_clear(dm_facts *f);

/* R14, from resolved facts: a rejecting verdict or NULL.  Pure. */
dm_verdict *dm_engine_check_mass(dm_engine *e, const dm_facts *f);

/* Extract the message (from its start) into *out_msg (free with
 * dm_msg_free), set f->msg, and decide.  Pure but for reading msg. */
dm_verdict *dm_engine_decide(dm_engine *e, dm_facts *f, GMimeStream *msg, dm_msg **out_msg);

/* resolve + decide: what "diariectl classify" does.  NULL with err set
 * when the directory failed. */
dm_verdict *dm_engine_classify(dm_engine *e, const dm_envelope *env, GMimeStream *msg,
                               int64_t now, dm_msg **out_msg, GError **err);

/* Does X-Diarie-Genererad value verify for the message that carries it
 * (its Message-ID header value and canonical body hash, dm_loop.h)? */
dm_loop_result dm_engine_loop_check(dm_engine *e, const char *value,
                                    const char *message_id_header, const char *body_sha256,
                                    int64_t now);

/* One message's arrival, from MAIL FROM to its end: what the MTA gave,
 * what the directory said, what was read and decided, and what the
 * commit found.  Each step takes it and fills its own part (as Postfix's
 * cleanup passes its CLEANUP_STATE along), so no step repacks what an
 * earlier one had. */
typedef struct dm_arrival {
    dm_engine *engine;     /* the configuration it started on (a reference) */
    dm_envelope *env;
    dm_facts facts;        /* once resolved (dm_arrival_resolve) */
    bool resolved;
    GMimeStream *original; /* the message as received (a reference), when whole */
    char sha256[65];       /* of the message as received (the cover note and
                            * the journal give it) */
    char body_sha256[65];  /* of its body alone in the canonical form of
                            * dm_loop.h: with the Message-ID, the duplicate
                            * key ("": sha256 is used) */
    dm_msg *msg;           /* as read (dm_arrival_decide) */
    dm_verdict *verdict;   /* dm_arrival_check_mass or dm_arrival_decide */
    char id[21];           /* its X-Diarie-Id, given with the verdict */
    int64_t now;           /* when it was decided: the journal's time */
    char *duplicate_of;    /* the commit's: the row of the first arrival of
                            * the same message, or NULL */
    guint spooled;         /* the commit's: items it left in the spool for
                            * delivery (0: no reason to wake the worker) */
} dm_arrival;

/* Takes the reference to e. */
dm_arrival *dm_arrival_new(dm_engine *e);
void dm_arrival_free(dm_arrival *a);
/* dm_engine_resolve into a->facts, once; false with err set when the
 * directory could not answer (the facts stay empty). */
bool dm_arrival_resolve(dm_arrival *a, int64_t now, GError **err);
/* R14 at DATA, from the resolved facts: true when the message is a mass
 * mailing its sender may not send (a->verdict rejects, a->id given). */
bool dm_arrival_check_mass(dm_arrival *a, int64_t now);
/* Read a->original and decide (dm_engine_decide): a->msg, a->verdict, a
 * new a->id. */
void dm_arrival_decide(dm_arrival *a, int64_t now);

/* Everything owed for an accepted arrival (decided, not rejected),
 * durably: every copy and notice spooled (fsync, rename) and the journal
 * row committed.  Only when this returns true may the milter accept.
 *
 * Duplicates are decided action by action.  The same message seen
 * within [store] duplicate_window (a split delivery, a retry of one
 * recipient, two MX hosts): a->duplicate_of is the first row's id and
 * the journal row says so; each copy, notice, manager notice or reminder
 * an earlier arrival owed (and claimed, see dm_store_owed_find) is
 * removed from a->verdict with a reason, and what is left is owed,
 * spooled and claimed now, in the journal row's transaction.  Two
 * arrivals of one message are committed one after the other.  With
 * duplicate_window = 0 every arrival owes everything.
 *
 * Notices owed once a period (the manager's once a day, R12; the
 * auto-reply reminder once an absence, R13) already sent are removed
 * from the verdict, with a reason saying so; the others are claimed in
 * the journal row's transaction.  The same transaction adds the
 * recipients to the sender's R14 window and records an auto-reply's
 * sender as absent, as the rules say (dm_policy_joins_window,
 * dm_policy_marks_absent). */
bool dm_engine_commit(dm_arrival *a, GError **err);

/* Journal a rejected arrival (R14): no content, the envelope only. */
bool dm_engine_journal_reject(dm_arrival *a, GError **err);

/* After a commit (dm_engine_commit calls it): the notices the message
 * sent that ask for an answer, the notices it answers by reaching a
 * registrator, R15's question it asks a functional mailbox or answers
 * (engine/dm_engine_track.c).  repeat: another arrival of the same
 * message was journaled first (its question is recorded already).
 * Failures are logged. */
void dm_engine_track(dm_store *st, const dm_envelope *env, const dm_facts *f,
                     const dm_msg *msg, const dm_verdict *v, const char *id, int64_t now,
                     bool repeat);

/* Reminders (engine/dm_engine_remind.c): one for each notice asking for
 * a forward that is unanswered [site] notice_reminder working days after
 * it was sent, spooled (template notice-reminder); claimed in the store
 * first, so that it goes once even when several run.  *sent: how many. */
bool dm_engine_remind(dm_engine *e, int64_t now, unsigned *sent, GError **err);
/* What a notice is about: its journal row and its person's address (new;
 * both NULL when the row is gone or names no such person).  False only
 * when the store failed. */
bool dm_engine_notice_lookup(dm_store *st, const dm_notice_row *n, dm_journal_row **row,
                             char **person, GError **err);
/* t in [site] timezone, by a g_date_time_format format; new string. */
char *dm_engine_local_time(const dm_conf *conf, int64_t t, const char *format);

/* At start, before the delivery worker: items in new/ whose message has
 * no journal row were spooled by a transaction that died before its
 * commit (the message was never accepted); remove them.  Returns how
 * many. */
int dm_engine_recover_spool(dm_engine *e);


#endif
