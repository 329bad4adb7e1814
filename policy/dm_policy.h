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
/* Is the sender one R14 binds (an internal sender submitting, outside the
 * communications unit)?  Only their recipients count in the mass window,
 * under the name dm_policy_mass_sender gives. */
bool dm_policy_mass_applies(const dm_facts *facts);
const char *dm_policy_mass_sender(const dm_facts *facts);

/* Sections 1 to 9: the class, sekretess, actions and reasons. */
dm_verdict *dm_policy_decide(const dm_policy *p, const dm_facts *facts);

/* What the rules read in facts->msg: the signals, their scores and the
 * phrases that fired, as lines of text for "diariectl classify --explain"
 * (a new string; empty without a message).  Pure, like dm_policy_decide. */
char *dm_policy_explain(const dm_policy *p, const dm_facts *facts);

#endif
