/*
 * dm_policy: the rules of ../shared/RULES.md as pure functions.
 *
 * A dm_policy is the compiled form of the site's configuration and rules
 * file (keyword lists, weights, case-number patterns): built once per
 * configuration load, immutable, shared by every thread.  Deciding does
 * no I/O: the same facts give the same verdict in the daemon and in
 * "diariectl classify".
 */
#ifndef DM_POLICY_H
#define DM_POLICY_H

#include <glib.h>

#include "dm_conf.h"
#include "dm_facts.h"
#include "dm_segwords.h"
#include "dm_verdict.h"

typedef struct dm_policy dm_policy;

/* Compile the policy from conf, the rules file it names ([policy]
 * rules) and the reason catalogue of the site's language in the
 * templates directory ([policy] templates, dm_reasons.h).  A missing
 * rules file is an error: the built-in lists are only a fallback for
 * tests (rules == NULL in dm_policy_new_from_data). */
dm_policy *dm_policy_new(const dm_conf *conf, GError **err);
/* As dm_policy_new, with the rules file's text given; NULL rules: the
 * built-in case numbers and thresholds, and nothing else (no word lists,
 * nothing read as quoted, no auto-reply subjects, no export columns). */
dm_policy *dm_policy_new_from_data(const dm_conf *conf, const char *rules, gsize len,
                                   GError **err);
void dm_policy_free(dm_policy *p);

const dm_dnr_parser *dm_policy_dnr_parser(const dm_policy *p);
/* Subjects that mark an automatic reply ([autoreply] of rules.conf),
 * casefolded, NULL-terminated: for dm_mime_limits.autoreply_subjects. */
const char *const *dm_policy_autoreply_subjects(const dm_policy *p);
/* How mail marks quotes, forwards, signatures and footers, and the
 * languages told apart ([replies] and [segments] of rules.conf): for
 * dm_mime_limits.words.  NULL without a rules file. */
const dm_seg_words *dm_policy_seg_words(const dm_policy *p);

/* R14, at DATA: a verdict with reject set when the message is a mass
 * mailing its sender may not send, else NULL.  facts->msg may be NULL. */
dm_verdict *dm_policy_check_mass(const dm_policy *p, const dm_facts *facts);

/* Sections 1 to 9: the class, sekretess, actions and reasons (and what
 * reading facts->msg could not see: its limits, dm_msg.limits). */
dm_verdict *dm_policy_decide(const dm_policy *p, const dm_facts *facts);

/* --- across messages (dm_policy_record.c) ----------------------------------
 * What the rules need kept across messages, and what of a verdict may be
 * carried out.  The engine reads and writes the store and asks these;
 * they stay pure. */

/* May action a of v be carried out?  For privat and parti only the
 * notice that asks its own recipient to judge a doubtful message: never
 * a copy, a forward or anything to a third party.  The one filter the
 * spool, the journal's claims and the milter's added recipients ask. */
bool dm_policy_action_owed(const dm_verdict *v, const dm_action *a);
/* Does a concern private mail (privat or parti, or a message in doubt)?
 * Its recipient is then never logged. */
bool dm_policy_action_private(const dm_verdict *v, const dm_action *a);
/* Does v's journal row keep the message's parties and particulars (its
 * addresses, subject, Message-ID, queue id, direction, case, reasons and
 * actions)?  Not for privat or parti: their row keeps the time, the class
 * and a keyed hash that can confirm a given message was seen, no more.
 * The engine sets the answer on the row (dm_journal_entry.keep_all);
 * store/ writes what it is told. */
bool dm_policy_journal_keeps(const dm_verdict *v);
/* Are the repeats of v's message looked for, and its actions claimed
 * once for all its arrivals?  Not for a rejection, and not for privat
 * or parti: their rows keep no Message-ID, so each arrival owes its own
 * judge notices and nothing else. */
bool dm_policy_matches_repeats(const dm_verdict *v);
/* Is v's message followed across messages (the notices it sends and
 * their answers, R15's questions and replies)?  Not a rejection, and
 * nothing of privat or parti mail is looked at. */
bool dm_policy_tracks(const dm_verdict *v);
/* R15: is the message (m, as read) a question from the public: inbound,
 * of class registreras or ringa, from no one in the directory, not an
 * automatic reply nor a delivery report?  It is then a question to each
 * recipient dm_policy_question_to accepts. */
bool dm_policy_is_question(const dm_facts *f, const dm_msg *m, const dm_verdict *v);
/* R15: does a question to recipient p wait for its answer (a functional
 * mailbox)? */
bool dm_policy_question_to(const dm_party *p);
/* R15: may the message answer questions (outbound, no automatic
 * reply)? */
bool dm_policy_may_answer(const dm_msg *m, const dm_verdict *v);

/* R14's window ([site] mass_window): whose distinct recipients it keeps
 * (sender) and which count (those since `since`). */
typedef struct dm_mass_window {
    const char *sender; /* borrowed from the facts */
    int64_t since;
} dm_mass_window;
/* Does deciding R14 need the sender's count within the window
 * (facts->sender_window_rcpts)?  Not without a window, for a sender R14
 * does not bind, or for a message that is a mass mailing on its own. */
bool dm_policy_needs_window(const dm_policy *p, const dm_facts *facts, dm_mass_window *w);
/* Do the recipients of this accepted message join its sender's window? */
bool dm_policy_joins_window(const dm_policy *p, const dm_facts *facts, const dm_verdict *v,
                            int64_t now, dm_mass_window *w);

/* R12, R13: absence learnt from automatic replies ([site]
 * autoreply_absence).  Does the rule read this recipient's last automatic
 * reply (then facts' autoreply_absent is dm_policy_autoreply_absent)? */
bool dm_policy_needs_autoreply(const dm_policy *p, const dm_entry *e);
/* Is someone whose last automatic reply left at `last` absent at now? */
bool dm_policy_autoreply_absent(const dm_policy *p, int64_t last, int64_t now);
/* Does message m, an automatic reply leaving from one of the
 * municipality's own people, mark its sender absent?  *person; a reply
 * after *since continues their absence, an earlier one begins a new. */
bool dm_policy_marks_absent(const dm_policy *p, const dm_facts *facts, const dm_msg *m,
                            int64_t now, const char **person, int64_t *since);

/* Notices owed once a period: the manager's once a day for each absent
 * person (R12), the reminder once an absence (R13).  Is a one? */
bool dm_policy_action_once(const dm_action *a);
/* The person whose
 * run of automatic replies the period of a depends on, or NULL. */
const char *dm_policy_once_run_of(const dm_policy *p, const dm_facts *facts,
                                  const dm_action *a, int64_t now);
/* a's key in the store's once table (a new string), or NULL for an
 * action owed every time.  first, last: the run of automatic replies of
 * dm_policy_once_run_of's person as the store keeps it (0, 0: none). */
char *dm_policy_once_key(const dm_policy *p, const dm_facts *facts, const dm_action *a,
                         int64_t now, int64_t first, int64_t last);
/* Take the index-th action out of v, with the reason why: a notice sent
 * already this period (R12, R13); an action an earlier arrival of the
 * same message (journal row `row`) owed already. */
void dm_policy_once_sent(const dm_policy *p, dm_verdict *v, guint index);
void dm_policy_owed_sent(const dm_policy *p, dm_verdict *v, guint index, const char *row);
/* The reason of a repeat of a message whose first arrival is row. */
void dm_policy_duplicate(const dm_policy *p, dm_verdict *v, const char *row);

/* What the rules read in facts->msg: the signals, their scores and the
 * phrases that fired, as lines of text for "diariectl classify --explain"
 * (a new string; empty without a message).  Pure, like dm_policy_decide. */
char *dm_policy_explain(const dm_policy *p, const dm_facts *facts);

/* ---- fitting the weights (diariectl fit) --------------------------------
 *
 * The decision reads a message's signals (cases, markers, the words of
 * each list and where they stand) and weighs them with the numbers of
 * [weights] in the rules file.  The fitter reads each labelled message
 * once (dm_policy_features), then tries other weights on it
 * (dm_policy_content_class, pure and fast), and grades each class the
 * content may get with the actions it brings (dm_policy_decide_as). */

typedef struct dm_features dm_features;

/* One number of [weights]: its key, what it is, its default and the
 * range and step the fitter searches. */
typedef struct dm_param_info {
    const char *key;
    const char *what;
    double def, lo, hi, step; /* step 0: not fitted */
} dm_param_info;

guint dm_policy_n_params(void);
const dm_param_info *dm_policy_param_info(guint i);
/* The vector p was loaded with (dm_policy_n_params numbers). */
void dm_policy_params(const dm_policy *p, double *out);

/* What the rules read in facts->msg (NULL without one).  The features
 * borrow facts (and its message and case index): keep them alive. */
dm_features *dm_policy_features(const dm_policy *p, const dm_facts *facts);
void dm_features_free(dm_features *x);
/* The class the content gets under the weights w (registreras, allman,
 * ringa, parti or privat; before the parties turn parti into privat or
 * intern), and whether it is sekretess. */
dm_class dm_policy_content_class(const dm_policy *p, const double *w, const dm_features *x,
                                 bool *sekretess);
/* The verdict when the content's class is content (as
 * dm_policy_content_class gives it): the parties' actions.  The same
 * facts the features were computed from. */
dm_verdict *dm_policy_decide_as(const dm_policy *p, const dm_facts *facts,
                                const dm_features *x, dm_class content);

#endif
