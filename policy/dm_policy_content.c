/*
 * What the content of a message says (sections 1, 2 and R9), before the
 * parties' roles turn it into actions.
 *
 * The order is privacy first: what must never be copied is decided
 * before what must be.
 *
 *   1. sekretess (R9): a valid personnummer or samordningsnummer with
 *      sensitive facts, or a cited case the diarium marks as sekretess:
 *      registreras, whatever else the message is;
 *   2. party mail (R4): from a party domain to a politician (or from a
 *      politician to a party domain): parti; to other people, unless it
 *      asks the municipality for something: privat (their party life is
 *      their own); to functional mailboxes only: read like any mail;
 *   3. automatic mail (R7): reports, the null sender, auto-replies, a spam
 *      filter's verdict, lists and bulk mail: ringa;
 *   4. advertising and phishing without a filter's header (R7): ringa;
 *   5. party content (R4): parti, unless the municipality is asked for
 *      something too (then the person judges: see 6);
 *   6. private content (R3): privat, unless the municipality is asked for
 *      something too (mail held by a person that names no municipal matter
 *      and asks nothing needs less private evidence: private_alone).  Then, when the message is also intimate, the
 *      privacy duty (R10) decides: not copied, and the person is asked to
 *      judge; otherwise the errand wins;
 *   7. temporary service notices (R7): ringa;
 *   8. another authority's matter asked of the municipality (R7): ringa;
 *   9. R6 evidence (cases cited or of the sender, requests, errands named
 *      in the subject, synpunkter) at or above the threshold: registreras;
 *  10. a simple question that gets an answer (R7): ringa;
 *  11. otherwise allmän handling, kept in order by the journal (R1, R8).
 */
#include <string.h>

#include "dm_policy_int.h"
#include "dm_util.h"

void dm_content_clear(dm_content *c)
{
    g_free(c->cited_unknown);
    memset(c, 0, sizeof *c);
}

/* The phrases of a signal, quoted and comma separated (a new string). */
static char *dm_hits(const dm_signals *s, dm_sig sig, guint max)
{
    GString *out = g_string_new(NULL);
    const GPtrArray *h = s->hits[sig];

    for (guint i = 0; h != NULL && i < h->len && i < max; i++)
        g_string_append_printf(out, "%s\"%s\"", i ? ", " : "", (char *)g_ptr_array_index(h, i));
    return g_string_free(out, FALSE);
}

/* A reason naming the phrases of a signal, when any fired. */
static void dm_reason_hits(const dm_policy *p, dm_verdict *v, const char *rule, dm_reason_id id,
                           const dm_signals *s, dm_sig sig)
{
    char *h = dm_hits(s, sig, 3);

    if (*h != '\0')
        dm_reasons_add(v, p->reasons, rule, id, "hits", h, NULL);
    g_free(h);
}

/* Any person among the internal parties (whose mailbox may hold private
 * mail), or a politician? */
static bool dm_any_party(const dm_facts *f, bool politician)
{
    const dm_entry *s = f->sender.entry;

    if (s != NULL && dm_entry_is_person(s) && (!politician || dm_entry_is_politician(s)))
        return true;
    for (size_t i = 0; i < f->n_rcpts; i++) {
        const dm_entry *e = f->rcpts[i].entry;
        if (e != NULL && dm_entry_is_person(e) && (!politician || dm_entry_is_politician(e)))
            return true;
    }
    return false;
}

/* The R6 reasons for a registreras verdict. */
static void dm_register_reasons(const dm_policy *p, const dm_signals *s, dm_verdict *v)
{
    if (s->cited != NULL)
        dm_reasons_add(v, p->reasons, "R6.3", DM_R_CASE_CITED, "case", s->cited->dnr, NULL);
    if (s->party_case != NULL)
        dm_reasons_add(v, p->reasons, "R6.3", DM_R_CASE_PARTY, "sender", s->party_addr, "case",
                       s->party_case->dnr, NULL);
    if (s->cited_unknown != NULL)
        dm_reasons_add(v, p->reasons, "R6.2", DM_R_CASE_UNKNOWN, "citation", s->cited_unknown,
                       NULL);
    if (s->r_text > 0) {
        dm_reason_hits(p, v, "R6.1", DM_R_REQUEST, s, DM_SIG_REQUEST);
        dm_reason_hits(p, v, "R6.3", DM_R_REFERENCE, s, DM_SIG_REFERENCE);
        dm_reason_hits(p, v, "R6.1", DM_R_POLITE, s, DM_SIG_POLITE);
        dm_reason_hits(p, v, "R6.1", DM_R_SUBJECT_HEAD, s, DM_SIG_SUBJECT_HEAD);
        dm_reason_hits(p, v, "R6.1", DM_R_SUBJECT, s, DM_SIG_SUBJECT);
        if (s->score[DM_SIG_MUNICIPAL] > 0)
            dm_reason_hits(p, v, "R6.1", DM_R_OPINION, s, DM_SIG_OPINION);
    }
}

void dm_policy_content(const dm_policy *p, const dm_facts *f, dm_content *c, dm_verdict *v)
{
    dm_signals s;
    bool politician = dm_any_party(f, true), person = dm_any_party(f, false);
    bool municipal_asked;
    double private_needed;

    memset(c, 0, sizeof *c);
    dm_signals_compute(p, f, &s);
    c->cited = s.cited;
    c->party_case = s.party_case;
    c->cited_unknown = g_strdup(s.cited_unknown);
    municipal_asked = s.r_total >= p->t_register;

    /* 1. R9 sekretess. */
    if (s.pnr != NULL && s.hits[DM_SIG_SENSITIVE] != NULL) {
        char *h = dm_hits(&s, DM_SIG_SENSITIVE, 3);
        c->sekretess = true;
        dm_reasons_add(v, p->reasons, "R9",
                       s.pnr_samordning ? DM_R_SEKRETESS_SAMORDNING : DM_R_SEKRETESS_PNR, "hits",
                       h, NULL);
        g_free(h);
    }
    if (s.sek_case != NULL) {
        c->sekretess = true;
        dm_reasons_add(v, p->reasons, "R9", DM_R_SEKRETESS_CASE, "case", s.sek_case->dnr, NULL);
    }
    if (c->sekretess) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_reasons_add(v, p->reasons, "R6.5", DM_R_SEKRETESS, NULL);
        dm_register_reasons(p, &s, v);
        goto out;
    }

    /* 2. R4: the party's own mail. */
    if (s.party_domain && (politician || (person && !municipal_asked))) {
        c->klass = DM_CLASS_PARTI;
        c->party_content = true;
        dm_reasons_add(v, p->reasons, "R4", DM_R_PARTY_DOMAIN, "address", s.party_domain_addr,
                       NULL);
        goto out;
    }

    /* 3. R7: automatic mail, whatever it says. */
    if (s.marker != NULL) {
        c->klass = DM_CLASS_RINGA;
        dm_verdict_add_reason(v, "R7", "%s", s.marker);
        goto out;
    }

    /* 4. R7: advertising and phishing that no filter marked. */
    if (s.r_case < p->t_register &&
        (s.score[DM_SIG_ADS] >= p->t_ads || s.score[DM_SIG_PHISHING] >= p->t_phishing)) {
        c->klass = DM_CLASS_RINGA;
        if (s.score[DM_SIG_PHISHING] >= p->t_phishing)
            dm_reason_hits(p, v, "R7", DM_R_PHISHING, &s, DM_SIG_PHISHING);
        else
            dm_reason_hits(p, v, "R7", DM_R_ADS, &s, DM_SIG_ADS);
        goto out;
    }

    /* 5. R4: party content. */
    if (s.score[DM_SIG_PARTY] >= p->t_party) {
        c->klass = DM_CLASS_PARTI;
        c->party_content = true;
        dm_reason_hits(p, v, "R4", DM_R_PARTY, &s, DM_SIG_PARTY);
        if (municipal_asked && person) {
            c->doubt = true;
            dm_reasons_add(v, p->reasons, "R10", DM_R_PARTY_DOUBT, NULL);
            dm_register_reasons(p, &s, v);
        }
        goto out;
    }

    /* 6. R3: private content.  A person's mail that names none of the
     * municipality's matters and asks nothing of it needs less. */
    private_needed = p->t_private;
    if (person && s.r_total == 0 && s.score[DM_SIG_MUNICIPAL] == 0)
        private_needed = MIN(private_needed, p->t_private_alone);
    if (s.private_total >= private_needed) {
        if (!municipal_asked) {
            c->klass = DM_CLASS_PRIVAT;
            dm_reason_hits(p, v, "R3", DM_R_PRIVATE, &s, DM_SIG_INTIMATE);
            dm_reason_hits(p, v, "R3", DM_R_PRIVATE, &s, DM_SIG_PRIVATE);
            dm_reason_hits(p, v, "R3", DM_R_FAMILY, &s, DM_SIG_FAMILY);
            goto out;
        }
        if (s.score[DM_SIG_INTIMATE] >= p->t_doubt && person) {
            c->klass = DM_CLASS_PRIVAT;
            c->doubt = true;
            dm_reason_hits(p, v, "R3", DM_R_PRIVATE, &s, DM_SIG_INTIMATE);
            dm_reasons_add(v, p->reasons, "R10", DM_R_PRIVATE_DOUBT, NULL);
            dm_register_reasons(p, &s, v);
            goto out;
        }
        /* Private words in an errand ("min dotter", "farmor"): the errand
         * decides. */
    }

    /* 7. R7: temporary notices that ask for nothing. */
    if (!municipal_asked && s.score[DM_SIG_TEMPORARY] >= p->t_temporary) {
        c->klass = DM_CLASS_RINGA;
        dm_reason_hits(p, v, "R7", DM_R_TEMPORARY, &s, DM_SIG_TEMPORARY);
        goto out;
    }

    /* 8. R7: another authority's matter. */
    if (s.r_case < p->t_register && s.score[DM_SIG_OUTSIDE] > 0 &&
        s.score[DM_SIG_MUNICIPAL] == 0 && (s.question || s.r_text > 0)) {
        c->klass = DM_CLASS_RINGA;
        dm_reason_hits(p, v, "R7", DM_R_OUTSIDE, &s, DM_SIG_OUTSIDE);
        goto out;
    }

    /* 9. R6. */
    if (municipal_asked) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_register_reasons(p, &s, v);
        goto out;
    }

    /* 10. R7: a simple question. */
    if (s.question && (int)s.own_words <= p->question_max_words &&
        s.score[DM_SIG_INFO] + s.score[DM_SIG_INFO_HEAD] < p->t_info) {
        char words[16];

        c->klass = DM_CLASS_RINGA;
        g_snprintf(words, sizeof words, "%u", s.own_words);
        dm_reasons_add(v, p->reasons, "R7", DM_R_QUESTION, "words", words, NULL);
        goto out;
    }

    /* 11. R1, R8. */
    c->klass = DM_CLASS_ALLMAN;
    if (s.cited_unknown != NULL)
        dm_reasons_add(v, p->reasons, "R6.2", DM_R_CASE_UNKNOWN, "citation", s.cited_unknown,
                       NULL);
    dm_reason_hits(p, v, "R1", DM_R_INFO, &s, DM_SIG_INFO);
    dm_reason_hits(p, v, "R1", DM_R_INFO_HEAD, &s, DM_SIG_INFO_HEAD);
    dm_reasons_add(v, p->reasons, "R1", DM_R_ALLMAN, NULL);
out:
    dm_signals_clear(&s);
}

char *dm_policy_explain(const dm_policy *p, const dm_facts *f)
{
    dm_signals s;
    GString *out = g_string_new(NULL);

    if (f->msg == NULL)
        return g_string_free(out, FALSE);
    dm_signals_compute(p, f, &s);
    dm_signals_describe(p, &s, out);
    dm_signals_clear(&s);
    return g_string_free(out, FALSE);
}
