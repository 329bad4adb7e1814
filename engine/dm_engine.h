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
dm_engine *dm_engine_ref(dm_engine *e);
void dm_engine_unref(dm_engine *e);

dm_conf *dm_engine_conf(dm_engine *e);
dm_store *dm_engine_store(dm_engine *e);   /* NULL with DM_ENGINE_NO_SPOOL and no db */
dm_spool *dm_engine_spool(dm_engine *e);   /* NULL with DM_ENGINE_NO_SPOOL */
dm_ldap *dm_engine_ldap(dm_engine *e);     /* NULL when offline */
const dm_policy *dm_engine_policy(dm_engine *e);
const dm_mime_limits *dm_engine_limits(dm_engine *e);

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
/* Is addr (an IPv4 or IPv6 text) inside one of the CIDR networks? */
bool dm_engine_addr_in_networks(char **networks, const char *addr);

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

/* Everything owed for an accepted message, durably: every copy and
 * notice spooled (fsync, rename) and the journal row committed.  Only
 * when this returns true may the milter accept.  f: the resolved facts
 * (the copy's cover note names the lists among the recipients), or NULL. */
bool dm_engine_commit(dm_engine *e, const dm_envelope *env, const dm_facts *f,
                      GMimeStream *original,
                      const dm_msg *msg, dm_verdict *v, const char *id,
                      const char *sha256, const char *body_sha256, int64_t now,
                      char **duplicate_of, GError **err);
/* (dm_engine_commit, continued.)  sha256: of the message as received (the
 * cover note and the journal give it); body_sha256: of its body alone in
 * the canonical form of dm_loop.h, which with the Message-ID is the
 * duplicate key (NULL: sha256).
 *
 * Duplicates are decided action by action.  The same message seen
 * within [store] duplicate_window (a split delivery, a retry of one
 * recipient, two MX hosts): *duplicate_of (may be NULL) is the first
 * row's id (new string) and the journal row says so; each copy, notice,
 * manager notice or reminder an earlier arrival owed (and claimed, see
 * dm_store_owed_find) is removed from v with a reason, and what is left
 * is owed, spooled and claimed now, in the journal row's transaction.
 * Two arrivals of one message are committed one after the other.  With
 * duplicate_window = 0 every arrival owes everything.
 *
 * Notices owed once a period (the manager's once a day, R12; the
 * auto-reply reminder once an absence, R13) already sent are removed
 * from v, with a reason saying so; the others are claimed in the
 * journal row's transaction.  The same transaction adds the recipients
 * to the sender's R14 window and records an auto-reply's sender as
 * absent. */

/* At start, before the delivery worker: items in new/ whose message has
 * no journal row were spooled by a transaction that died before its
 * commit (the message was never accepted); remove them.  Returns how
 * many. */
int dm_engine_recover_spool(dm_engine *e);

/* Journal a rejected message (R14): no content, the envelope only. */
bool dm_engine_journal_reject(dm_engine *e, const dm_envelope *env, const dm_verdict *v,
                              const char *id, int64_t now, GError **err);

#endif
