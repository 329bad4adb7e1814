/*
 * What the content of a message says (sections 1, 2, R9 and the readings
 * of section 10), before the parties' roles turn it into actions.
 *
 * Weighed by harm: a privacy leak is the worst error, a missed
 * registration the next, a needless registration the least.  The order is
 * privacy first; the numbers (thresholds, weights) are the vector w,
 * [weights] of rules.conf, fitted by diariectl fit:
 *
 *   1. sekretess (R9): a valid personnummer or samordningsnummer with
 *      sensitive facts, or a cited case the diarium marks as sekretess, in
 *      any part of the message: registreras, whatever its shape;
 *   2. party mail (R4): from a party domain to a politician (or from a
 *      politician to a party domain): parti; to other people, unless it
 *      asks the municipality for something: privat;
 *   3. mail no person wrote (R7): reports, the null sender, auto-replies,
 *      a spam filter's verdict: ringa;
 *   4. phishing and advertising that say more of that than of a person's
 *      own affairs (R7): ringa;
 *   5. party content in a person's mailbox (R4): parti, unless an errand
 *      about a municipal matter is asked and weighs more;
 *   6. private content (R3; a person's own commerce only in a person's
 *      mailbox): privat, unless an errand about a municipal matter is
 *      asked (section 10: the errand decides) or the work is named more
 *      (a business trip);
 *   7. advertising (R7): ringa;
 *   8. a list, bulk or generated mail: evidence against an errand; ringa
 *      unless the errand in it outweighs it (section 10);
 *   9. temporary service notices (R7): ringa;
 *  10. another authority's or a private association's matter named more
 *      than the municipality's, no errand of the sender's named (R7): ringa;
 *  11. R6 evidence (cases, requests, errands named, synpunkter), and for
 *      mail a person wrote to the municipality, or the municipality sends
 *      out, in its matters what it starts with (it is an errand unless
 *      something shows otherwise), at the threshold: registreras;
 *  12. a simple question, the answer to one, thanks that close one (R7):
 *      ringa;
 *  13. otherwise allmän handling, kept in order by the journal (R1, R8).
 */
#include <string.h>

#include "dm_policy_int.h"
#include "dm_util.h"

/* Where segment seg stands, for a reason, when it is an attachment's
 * ("bilaga 'Ansökan.pdf', sida 1"; a new string), else NULL. */
static char *dm_where_text(const dm_policy *p, const dm_signals *s, guint seg)
{
    const dm_tseg *g = seg < s->n_segs ? &s->segs[seg] : NULL;
    char page[16], *name, *out;

    if (g == NULL || g->source == NULL || g->grp != DM_GRP_ATTACHMENT)
        return NULL;
    /* The sender's file name, for people: no control or bidi characters
     * raw. */
    name = dm_text_escaped(g->source);
    if (g->page <= 0) {
        out = dm_reasons_text(p->reasons, DM_R_WHERE_ATTACHMENT, "name", name, NULL);
    } else {
        g_snprintf(page, sizeof page, "%d", g->page);
        out = dm_reasons_text(p->reasons, DM_R_WHERE_ATTACHMENT_PAGE, "name", name, "page", page,
                              NULL);
    }
    g_free(name);
    return out;
}

/* The phrases of a signal, quoted and comma separated, each with the
 * attachment it stands in (a new string). */
static char *dm_hits(const dm_policy *p, const dm_signals *s, dm_sig sig, guint max)
{
    GString *out = g_string_new(NULL);
    const GPtrArray *h = s->hits[sig];

    for (guint i = 0; h != NULL && i < h->len && i < max; i++) {
        const dm_hit *x = g_ptr_array_index(h, i);
        char *where = dm_where_text(p, s, x->seg);
        g_string_append_printf(out, "%s\"%s\"", i ? ", " : "", x->phrase);
        if (where != NULL)
            g_string_append_printf(out, " (%s)", where);
        g_free(where);
    }
    return g_string_free(out, FALSE);
}

/* A case number with the attachment it was cited in (a new string). */
static char *dm_case_where(const dm_policy *p, const dm_signals *s, const char *dnr, guint seg)
{
    char *where = dm_where_text(p, s, seg), *out;

    out = where != NULL ? g_strdup_printf("%s (%s)", dnr, where) : g_strdup(dnr);
    g_free(where);
    return out;
}

/* A reason naming the phrases of a signal, when any fired. */
static void dm_reason_hits(const dm_policy *p, dm_verdict *v, const char *rule, dm_reason_id id,
                           const dm_signals *s, dm_sig sig)
{
    char *h;

    if (v == NULL)
        return;
    h = dm_hits(p, s, sig, 3);
    if (*h != '\0')
        dm_reasons_add(v, p->reasons, rule, id, "hits", h, NULL);
    g_free(h);
}

static void dm_note(const dm_policy *p, dm_verdict *v, const char *rule, dm_reason_id id,
                      const char *k1, const char *v1, const char *k2, const char *v2)
{
    if (v != NULL)
        dm_reasons_add(v, p->reasons, rule, id, k1, v1, k2, v2, NULL);
}

/* The R6 reasons for a registreras verdict. */
static void dm_register_reasons(const dm_policy *p, const dm_signals *s, const dm_scores *sc,
                                dm_verdict *v)
{
    if (v == NULL)
        return;
    if (s->cited != NULL) {
        char *c = dm_case_where(p, s, s->cited->dnr, s->cited_seg);
        dm_reasons_add(v, p->reasons, "R6.3", DM_R_CASE_CITED, "case", c, NULL);
        g_free(c);
    }
    if (s->party_case != NULL)
        dm_reasons_add(v, p->reasons, "R6.3", DM_R_CASE_PARTY, "sender", s->party_addr, "case",
                       s->party_case->dnr, NULL);
    if (s->cited_unknown != NULL)
        dm_reasons_add(v, p->reasons, "R6.2", DM_R_CASE_UNKNOWN, "citation", s->cited_unknown,
                       NULL);
    if (sc->r_text > 0) {
        dm_reason_hits(p, v, "R6.1", DM_R_REQUEST, s, DM_SIG_REQUEST);
        dm_reason_hits(p, v, "R6.3", DM_R_REFERENCE, s, DM_SIG_REFERENCE);
        dm_reason_hits(p, v, "R6.1", DM_R_POLITE, s, DM_SIG_POLITE);
        dm_reason_hits(p, v, "R6.1", DM_R_SUBJECT_HEAD, s, DM_SIG_SUBJECT_HEAD);
        dm_reason_hits(p, v, "R6.1", DM_R_SUBJECT, s, DM_SIG_SUBJECT);
        if (sc->score[DM_SIG_MUNICIPAL] > 0)
            dm_reason_hits(p, v, "R6.1", DM_R_OPINION, s, DM_SIG_OPINION);
    }
}

static bool dm_any_hit(const dm_signals *s, dm_sig sig)
{
    return s->nz_n[sig] != 0;
}

/* A simple question (R7): the sender's own text asks something, is short,
 * and asks the municipality to do nothing. */
static bool dm_simple_question(const double *w, const dm_signals *s, const dm_scores *sc)
{
    return s->question && s->own_words <= w[DM_P_QUESTION_WORDS] && sc->r_text == 0 &&
           sc->score[DM_SIG_INFO] + sc->score[DM_SIG_INFO_HEAD] < w[DM_P_T_INFO];
}

void dm_content_decide(const dm_policy *p, const double *w, const dm_signals *s, dm_content *c,
                       dm_verdict *v)
{
    dm_scores sc;
    bool asked, municipal, simple, info, answer, person_wrote, bulk;
    double private_needed, r, prior = 0;

    memset(c, 0, sizeof *c);
    dm_signals_score(p, w, s, &sc);
    c->cited = s->cited;
    /* What the words and cases ask of the municipality; whether they
     * name its matters (R2: an errand is about one). */
    asked = sc.r_total >= w[DM_P_T_REGISTER];
    municipal = sc.score[DM_SIG_MUNICIPAL] > 0 || sc.r_case > 0;
    /* A newsletter or mass mailing that says so (its footer offers to end
     * the subscription) is a list without list headers: the same
     * evidence, not a verdict. */
    bulk = sc.score[DM_SIG_BULK] >= w[DM_P_T_BULK];

    /* 1. R9 sekretess, whatever the shape of the message. */
    if (s->pnr != NULL && dm_any_hit(s, DM_SIG_SENSITIVE)) {
        c->sekretess = true;
        if (v != NULL) {
            char *h = dm_hits(p, s, DM_SIG_SENSITIVE, 3);
            dm_reasons_add(v, p->reasons, "R9",
                           s->pnr_samordning ? DM_R_SEKRETESS_SAMORDNING : DM_R_SEKRETESS_PNR,
                           "hits", h, NULL);
            g_free(h);
            h = dm_where_text(p, s, s->pnr_seg);
            if (h != NULL)
                dm_reasons_add(v, p->reasons, "R9",
                               s->pnr_samordning ? DM_R_WHERE_SAMORDNING : DM_R_WHERE_PNR,
                               "where", h, NULL);
            g_free(h);
        }
    }
    if (s->sek_case != NULL) {
        char *cw = v != NULL ? dm_case_where(p, s, s->sek_case->dnr, s->sek_seg) : NULL;
        c->sekretess = true;
        dm_note(p, v, "R9", DM_R_SEKRETESS_CASE, "case", cw, NULL, NULL);
        g_free(cw);
    }
    if (c->sekretess) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_note(p, v, "R6.5", DM_R_SEKRETESS, NULL, NULL, NULL, NULL);
        dm_register_reasons(p, s, &sc, v);
        return;
    }

    /* 2. R4: the party's own mail. */
    if (s->party_domain && (s->politician || (s->person && !asked))) {
        c->klass = DM_CLASS_PARTI;
        dm_note(p, v, "R4", DM_R_PARTY_DOMAIN, "address", s->party_domain_addr, NULL, NULL);
        return;
    }

    /* 3. R7: mail no person wrote, whatever it says. */
    if (s->marker != NULL) {
        c->klass = DM_CLASS_RINGA;
        if (v != NULL)
            dm_verdict_add_reason(v, "R7", "%s", s->marker);
        return;
    }

    /* 4. R7: phishing and advertising that no filter marked, when they
     * say more of that than of a person's own affairs (a fake parcel
     * notice, a shop's offer). */
    if (sc.r_case < w[DM_P_T_REGISTER] && sc.score[DM_SIG_PHISHING] >= w[DM_P_T_PHISHING] &&
        sc.score[DM_SIG_PHISHING] >= sc.private_total) {
        c->klass = DM_CLASS_RINGA;
        dm_reason_hits(p, v, "R7", DM_R_PHISHING, s, DM_SIG_PHISHING);
        return;
    }
    if (sc.r_case < w[DM_P_T_REGISTER] && sc.score[DM_SIG_ADS] >= w[DM_P_T_ADS] &&
        sc.score[DM_SIG_ADS] > sc.private_total) {
        c->klass = DM_CLASS_RINGA;
        dm_reason_hits(p, v, "R7", DM_R_ADS, s, DM_SIG_ADS);
        return;
    }

    /* 5. R4: party content to a person, unless the municipality is asked
     * for something in its own matters too: then it is not addressed to
     * the person only as a party representative, and the errand decides.
     * What is asked about no municipal matter is asked of the party; of
     * the two, the stronger evidence decides. */
    if (s->person && sc.score[DM_SIG_PARTY] >= w[DM_P_T_PARTY] &&
        (!asked || !municipal || sc.score[DM_SIG_PARTY] > sc.r_total)) {
        c->klass = DM_CLASS_PARTI;
        dm_reason_hits(p, v, "R4", DM_R_PARTY, s, DM_SIG_PARTY);
        return;
    }

    /* 6. R3: private content, before anything automatic (a person's own
     * orders, bookings, parcels, appointments, associations, in a
     * person's mailbox: dm_signals_score).  A
     * person's mail that names none of the municipality's matters and
     * asks nothing of it needs less.  Mail that mixes a private greeting
     * with a municipal errand is judged by the errand (section 10); what
     * friends ask of each other names no municipal matter; a
     * booking that names the work more than the person (a business trip)
     * is the work's. */
    private_needed = w[DM_P_T_PRIVATE];
    if (s->person && sc.r_total == 0 && sc.score[DM_SIG_MUNICIPAL] == 0)
        private_needed = MIN(private_needed, w[DM_P_T_PRIVATE_ALONE]);
    if (sc.private_total >= private_needed &&
        (!asked || !municipal) &&
        sc.private_total > w[DM_P_WORK] * sc.score[DM_SIG_MUNICIPAL]) {
        c->klass = DM_CLASS_PRIVAT;
        dm_reason_hits(p, v, "R3", DM_R_PRIVATE, s, DM_SIG_INTIMATE);
        dm_reason_hits(p, v, "R3", DM_R_PRIVATE, s, DM_SIG_PRIVATE);
        dm_reason_hits(p, v, "R3", DM_R_FAMILY, s, DM_SIG_FAMILY);
        return;
    }

    /* 7. R7: advertising that no filter marked. */
    if (sc.r_case < w[DM_P_T_REGISTER] && sc.score[DM_SIG_ADS] >= w[DM_P_T_ADS]) {
        c->klass = DM_CLASS_RINGA;
        dm_reason_hits(p, v, "R7", DM_R_ADS, s, DM_SIG_ADS);
        return;
    }

    /* 8. R7: a list's, bulk or generated mail, unless the errand in it
     * outweighs that (an association's letter through its list, an
     * e-service's application: section 10). */
    if ((s->soft_marker != NULL || bulk) &&
        sc.r_total - w[DM_P_SOFT_MARKER] < w[DM_P_T_REGISTER]) {
        c->klass = DM_CLASS_RINGA;
        if (v != NULL && s->soft_marker != NULL) {
            dm_verdict_add_reason(v, "R7", "%s", s->soft_marker);
        } else if (v != NULL) {
            char *h = dm_hits(p, s, DM_SIG_BULK, 3);
            dm_reasons_add(v, p->reasons, "R7", DM_R_MARKER_BULK, "what", h, NULL);
            g_free(h);
        }
        return;
    }

    /* 9. R7: temporary notices that ask for nothing. */
    if (!asked && sc.score[DM_SIG_TEMPORARY] >= w[DM_P_T_TEMPORARY]) {
        c->klass = DM_CLASS_RINGA;
        dm_reason_hits(p, v, "R7", DM_R_TEMPORARY, s, DM_SIG_TEMPORARY);
        return;
    }

    /* 10. R7: another authority's matter (or a private association's),
     * when the text names more of it than of the municipality's own and
     * names no errand of the sender's at the municipality (its subject,
     * "min ansökan", a case). */
    if (sc.r_case < w[DM_P_T_REGISTER] && sc.score[DM_SIG_SUBJECT_HEAD] == 0 &&
        sc.score[DM_SIG_REFERENCE] == 0 &&
        sc.score[DM_SIG_OUTSIDE] > sc.score[DM_SIG_MUNICIPAL] && (s->question || sc.r_text > 0)) {
        c->klass = DM_CLASS_RINGA;
        dm_reason_hits(p, v, "R7", DM_R_OUTSIDE, s, DM_SIG_OUTSIDE);
        return;
    }

    /* 11. R6: the evidence for an errand.  Mail a person wrote to the
     * municipality starts with some: it is an errand unless something
     * shows otherwise (a simple question that gets an answer, information
     * only: "för kännedom" leaves only the cases). */
    simple = dm_simple_question(w, s, &sc);
    info = sc.score[DM_SIG_INFO] >= w[DM_P_T_INFO] ||
           sc.score[DM_SIG_INFO_HEAD] >= w[DM_P_T_INFO] ||
           (sc.score[DM_SIG_THANKS] > 0 && !s->question && sc.r_own == 0);
    person_wrote = s->inbound && s->soft_marker == NULL && !bulk && !s->signup;
    if (person_wrote && !simple && !info)
        prior = w[DM_P_PRIOR_INBOUND] + (s->to_mailbox ? w[DM_P_PRIOR_MAILBOX] : 0) +
                w[DM_P_PRIOR_MUNICIPAL] * sc.score[DM_SIG_MUNICIPAL];
    /* ... and so is what the municipality sends out in its matters
     * (expedierad), but for the answer to a simple question (the reply
     * quotes a short question and asks, cites, refers to nothing): that
     * is of the same ringa kind (R7). */
    answer = s->outbound && s->quoted_question && s->quoted_words <= w[DM_P_QUESTION_WORDS] &&
             sc.r_text == 0 && sc.r_case == 0;
    if (s->outbound && s->soft_marker == NULL && !bulk && !simple && !info && !answer && municipal)
        prior = w[DM_P_PRIOR_OUTBOUND];
    r = sc.score[DM_SIG_INFO] >= w[DM_P_T_INFO] ? sc.r_case : sc.r_total + prior;
    if (r >= w[DM_P_T_REGISTER]) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_register_reasons(p, s, &sc, v);
        if (prior > 0 && v != NULL)
            dm_reasons_add(v, p->reasons, "R6", DM_R_PERSON_WROTE, NULL);
        return;
    }

    /* 12. R7: a simple question, the answer to one; thanks that close one
     * (thanks for a step in an errand, which the quoted history asks for,
     * are kept in order: allman). */
    if (simple || answer ||
        (sc.score[DM_SIG_THANKS] > 0 && !s->question && sc.r_text == 0 &&
         s->own_words <= w[DM_P_QUESTION_WORDS] && s->inbound)) {
        char words[16];

        c->klass = DM_CLASS_RINGA;
        g_snprintf(words, sizeof words, "%u", s->own_words);
        dm_note(p, v, "R7", DM_R_QUESTION, "words", words, NULL, NULL);
        return;
    }

    /* 13. R1, R8. */
    c->klass = DM_CLASS_ALLMAN;
    if (s->cited_unknown != NULL)
        dm_note(p, v, "R6.2", DM_R_CASE_UNKNOWN, "citation", s->cited_unknown, NULL, NULL);
    dm_reason_hits(p, v, "R1", DM_R_INFO, s, DM_SIG_INFO);
    dm_reason_hits(p, v, "R1", DM_R_INFO_HEAD, s, DM_SIG_INFO_HEAD);
    dm_note(p, v, "R1", DM_R_ALLMAN, NULL, NULL, NULL, NULL);
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
