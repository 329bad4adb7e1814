/*
 * What a message says, computed once per message from the facts: the
 * cases it cites, whether its sender is a party of an open case, signs of
 * sekretess, the markers of automatic mail, and a score for each signal
 * list of rules.conf with the phrases that fired.  Pure: no I/O.
 */
#include <string.h>

#include "dm_policy_int.h"
#include "dm_util.h"

/* Phrases kept per signal for reasons and --explain. */
#define DM_HITS_MAX 6

static const char *const dm_sig_sections[DM_SIG_COUNT] = {
    [DM_SIG_REQUEST] = "request",
    [DM_SIG_POLITE] = "polite",
    [DM_SIG_SUBJECT_HEAD] = "subject_head",
    [DM_SIG_SUBJECT] = "subject",
    [DM_SIG_OPINION] = "opinion",
    [DM_SIG_REFERENCE] = "reference",
    [DM_SIG_INFO] = "info",
    [DM_SIG_INFO_HEAD] = "info_head",
    [DM_SIG_INQUIRY] = "inquiry",
    [DM_SIG_OUTSIDE] = "outside",
    [DM_SIG_MUNICIPAL] = "municipal",
    [DM_SIG_PRIVATE] = "private",
    [DM_SIG_FAMILY] = "family",
    [DM_SIG_INTIMATE] = "intimate",
    [DM_SIG_PARTY] = "party",
    [DM_SIG_ADS] = "ads",
    [DM_SIG_PHISHING] = "phishing",
    [DM_SIG_TEMPORARY] = "temporary",
    [DM_SIG_SENSITIVE] = "sensitive",
    [DM_SIG_SUBJECT_SKIP] = "subject_skip",
};

const char *dm_sig_section(dm_sig s)
{
    return s < DM_SIG_COUNT ? dm_sig_sections[s] : NULL;
}

void dm_signals_clear(dm_signals *s)
{
    g_free(s->cited_unknown);
    g_free(s->cited_foreign);
    g_free(s->pnr);
    g_free(s->marker);
    g_free(s->party_domain_addr);
    for (int i = 0; i < DM_SIG_COUNT; i++) {
        if (s->hits[i] != NULL)
            g_ptr_array_free(s->hits[i], TRUE);
    }
    dm_text_free(s->text);
    memset(s, 0, sizeof *s);
}

/* An open case the address is a party of, or NULL. */
static const dm_case *dm_open_case_of(const dm_case_index *idx, const char *addr)
{
    const GPtrArray *cases = dm_case_index_by_party(idx, addr);

    for (guint i = 0; cases != NULL && i < cases->len; i++) {
        const dm_case *c = g_ptr_array_index(cases, i);
        if (c->open)
            return c;
    }
    return NULL;
}

static bool dm_code_in(const char *const *codes, const char *code)
{
    for (const char *const *c = codes; c != NULL && *c != NULL; c++) {
        if (g_ascii_strcasecmp(*c, code) == 0)
            return true;
    }
    return false;
}

/* Is the domain of addr, or a parent domain, one of the party domains? */
static bool dm_party_domain(const dm_policy *p, const char *addr)
{
    const char *d = addr != NULL ? dm_addr_domain(addr) : NULL;

    while (d != NULL && *d != '\0') {
        for (char **pd = p->party_domains; pd != NULL && *pd != NULL; pd++) {
            if (g_ascii_strcasecmp(*pd, d) == 0)
                return true;
        }
        d = strchr(d, '.');
        if (d != NULL)
            d++;
    }
    return false;
}

/* Automatic mail, reports, lists, spam (R7): the marker, in the words of
 * the reason catalogue, or NULL. */
static char *dm_marker(const dm_policy *p, const dm_facts *f)
{
    const dm_msg *m = f->msg;
    const dm_reasons *r = p->reasons;

    if (m->report)
        return dm_reasons_text(r, DM_R_MARKER_REPORT, "type",
                               m->report_type ? m->report_type : "report", NULL);
    if (f->env_from[0] == '\0')
        return dm_reasons_text(r, DM_R_MARKER_NULL_SENDER, NULL);
    if (m->auto_reply) {
        char *unnamed = dm_reasons_text(r, DM_R_AUTOREPLY_UNNAMED, NULL);
        char *t = dm_reasons_text(r, DM_R_MARKER_AUTOREPLY, "how",
                                  m->auto_submitted ? m->auto_submitted : unnamed, NULL);
        g_free(unnamed);
        return t;
    }
    if (m->spam) {
        char *unnamed = dm_reasons_text(r, DM_R_SPAM_UNNAMED, NULL);
        char *t = dm_reasons_text(r, DM_R_MARKER_SPAM, "header",
                                  m->spam_header ? m->spam_header : unnamed, NULL);
        g_free(unnamed);
        return t;
    }
    if (m->list || m->bulk)
        return dm_reasons_text(r, DM_R_MARKER_BULK, "what",
                               m->list_id ? m->list_id
                               : m->list  ? "List-Unsubscribe"
                                          : "Precedence",
                               NULL);
    return NULL;
}

static inline const dm_sentence *dm_sent_of(const dm_text *t, guint pos)
{
    const dm_token *k = &g_array_index(t->tokens, dm_token, pos);

    return &g_array_index(t->sents, dm_sentence, k->sent);
}

/* Does a match count for signal sig, given where it stands? */
static bool dm_match_counts(const dm_policy *p, const dm_signals *s, dm_sig sig,
                            const dm_lmatch *m)
{
    const dm_sentence *st = dm_sent_of(s->text, m->start);
    bool subj = (st->flags & DM_SENT_SUBJECT) != 0;
    bool asks = (st->flags & (DM_SENT_QUESTION | DM_SENT_INQUIRY)) != 0;

    switch (p->sig[sig].where) {
    case DM_WHERE_ALL:
        break;
    case DM_WHERE_OWN:
        if (st->flags & DM_SENT_QUOTED)
            return false;
        break;
    case DM_WHERE_SUBJECT:
        if (!subj)
            return false;
        break;
    case DM_WHERE_HEAD:
        if (m->start != s->head)
            return false;
        break;
    }
    switch (sig) {
    case DM_SIG_REQUEST:
        /* Asking how to apply is not applying ("hur ansöker jag?"); a
         * question after the request does not undo it ("jag vill ansöka
         * om bygglov, kan du titta på ritningen?"). */
        return (st->flags & DM_SENT_INQUIRY) == 0;
    case DM_SIG_SUBJECT_HEAD:
    case DM_SIG_SUBJECT:
        if (subj && asks)
            return false; /* "Ansökan om bygglov – hur lång tid?" */
        return sig == DM_SIG_SUBJECT_HEAD || m->start != s->head;
    case DM_SIG_INFO_HEAD:
        return !asks;
    default:
        return true;
    }
}

/* Does any match in m overlap h? */
static bool dm_overlaps(const GArray *m, const dm_lmatch *h)
{
    for (guint i = 0; m != NULL && i < m->len; i++) {
        const dm_lmatch *x = &g_array_index(m, dm_lmatch, i);
        if (x->start >= h->end)
            break;
        if (x->end > h->start)
            return true;
    }
    return false;
}

/* The subject's head: its first token after [subject_skip] words. */
static guint dm_subject_head(const dm_policy *p, const dm_text *t, const dm_lex_result *r)
{
    const dm_sentence *st;
    guint pos, skip = p->sig[DM_SIG_SUBJECT_SKIP].list;

    if (t->sents->len == 0)
        return G_MAXUINT;
    st = &g_array_index(t->sents, dm_sentence, 0);
    if ((st->flags & DM_SENT_SUBJECT) == 0)
        return G_MAXUINT;
    pos = st->first;
    while (skip != G_MAXUINT && r->matches[skip] != NULL && pos < st->end) {
        const GArray *m = r->matches[skip];
        guint next = pos;
        for (guint i = 0; i < m->len; i++) {
            const dm_lmatch *h = &g_array_index(m, dm_lmatch, i);
            if (h->start == pos && h->end > next)
                next = h->end;
            if (h->start > pos)
                break;
        }
        if (next == pos)
            break;
        pos = next;
    }
    return pos < st->end ? pos : G_MAXUINT;
}

static void dm_signals_words(const dm_policy *p, dm_signals *s, const dm_lex_result *r)
{
    dm_text *t = s->text;
    guint inq = p->sig[DM_SIG_INQUIRY].list;

    s->head = dm_subject_head(p, t, r);
    /* Sentences that ask how or what: their requests are questions. */
    if (inq != G_MAXUINT && r->matches[inq] != NULL) {
        const GArray *m = r->matches[inq];
        for (guint i = 0; i < m->len; i++) {
            const dm_lmatch *h = &g_array_index(m, dm_lmatch, i);
            const dm_token *k = &g_array_index(t->tokens, dm_token, h->start);
            g_array_index(t->sents, dm_sentence, k->sent).flags |= DM_SENT_INQUIRY;
        }
    }
    for (int sig = 0; sig < DM_SIG_COUNT; sig++) {
        const dm_sigdef *d = &p->sig[sig];
        const GArray *m;
        GHashTable *seen, *entries;
        GArray *counted;
        guint n = 0;

        if (d->list == G_MAXUINT || sig == DM_SIG_SUBJECT_SKIP)
            continue;
        m = r->matches[d->list];
        if (m == NULL || m->len == 0)
            continue;
        /* Each entry counts once however often it fires ("grill",
         * "grillen"); so does each phrase, whichever entries find it
         * ("kram" by two); a phrase inside one that already counted ("jag
         * tycker" in "jag tycker inte") does not. */
        seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        entries = g_hash_table_new(g_direct_hash, g_direct_equal);
        counted = g_array_new(FALSE, FALSE, sizeof(dm_lmatch));
        for (guint i = 0; i < m->len; i++) {
            const dm_lmatch *h = &g_array_index(m, dm_lmatch, i);
            char *span;
            bool overlap = false;

            if (!dm_match_counts(p, s, (dm_sig)sig, h))
                continue;
            if (d->unless != G_MAXUINT && dm_overlaps(r->matches[d->unless], h))
                continue;
            for (guint j = 0; j < counted->len && !overlap; j++) {
                const dm_lmatch *c = &g_array_index(counted, dm_lmatch, j);
                overlap = c->start < h->end && h->start < c->end;
            }
            if (overlap || g_hash_table_contains(entries, GUINT_TO_POINTER(h->entry + 1)))
                continue;
            span = dm_text_span(t, h->start, h->end);
            if (!g_hash_table_add(seen, span))
                continue;
            g_hash_table_add(entries, GUINT_TO_POINTER(h->entry + 1));
            g_array_append_val(counted, *h);
            n++;
            if (s->hits[sig] == NULL)
                s->hits[sig] = g_ptr_array_new_with_free_func(g_free);
            if (s->hits[sig]->len < DM_HITS_MAX)
                g_ptr_array_add(s->hits[sig], g_strdup(span));
        }
        g_array_free(counted, TRUE);
        g_hash_table_destroy(seen);
        g_hash_table_destroy(entries);
        s->score[sig] = MIN(d->cap, d->weight * n);
    }
    for (guint i = 0; i < t->sents->len; i++) {
        const dm_sentence *st = &g_array_index(t->sents, dm_sentence, i);
        if ((st->flags & DM_SENT_QUOTED) == 0 &&
            (st->flags & (DM_SENT_QUESTION | DM_SENT_INQUIRY)) != 0)
            s->question = true;
    }
    s->own_words = t->own_words;
}

void dm_signals_compute(const dm_policy *p, const dm_facts *f, dm_signals *s)
{
    const dm_msg *m = f->msg;
    const char *const *codes = dm_case_index_myndigheter(f->cases);
    const char *parts[2] = {m->subject, m->text->str};
    dm_lex_result *r;
    double info;

    memset(s, 0, sizeof *s);
    s->head = G_MAXUINT;

    /* Cases: the subject first, then the text parts in order. */
    for (int part = 0; part < 2; part++) {
        GPtrArray *dnrs = dm_dnr_find_all(p->dnr, parts[part], codes);

        for (guint i = 0; i < dnrs->len; i++) {
            const dm_dnr *d = g_ptr_array_index(dnrs, i);
            const dm_case *cs = dm_case_index_find(f->cases, d->key);

            if (cs != NULL) {
                if (s->cited == NULL)
                    s->cited = cs;
                /* R9: any cited case the diarium marks as sekretess is a
                 * sign, not only the first one cited (which decides the
                 * myndighet). */
                if (cs->sekretess && s->sek_case == NULL)
                    s->sek_case = cs;
            } else if (dm_code_in(codes, d->myn) || dm_dnr_parser_knows(p->dnr, d->myn)) {
                if (s->cited_unknown == NULL)
                    s->cited_unknown = g_strdup(d->written);
            } else if (s->cited_foreign == NULL) {
                s->cited_foreign = g_strdup(d->written);
            }
        }
        g_ptr_array_free(dnrs, TRUE);
    }
    /* R6.3: the sender (envelope or From:) is a party of an open case. */
    if ((s->party_case = dm_open_case_of(f->cases, f->env_from)) != NULL)
        s->party_addr = f->env_from;
    else if (m->from_addr[0] != '\0' &&
             (s->party_case = dm_open_case_of(f->cases, m->from_addr)) != NULL)
        s->party_addr = m->from_addr;

    /* R9: a personnummer or samordningsnummer. */
    s->pnr = dm_pnr_find2(m->subject, &s->pnr_samordning);
    if (s->pnr == NULL)
        s->pnr = dm_pnr_find2(m->text->str, &s->pnr_samordning);

    s->marker = dm_marker(p, f);

    /* R4: mail from a party's domain; or a politician's mail to one. */
    if (dm_party_domain(p, f->env_from)) {
        s->party_domain = true;
        s->party_domain_addr = g_strdup(f->env_from);
    } else if (dm_party_domain(p, m->from_addr)) {
        s->party_domain = true;
        s->party_domain_addr = g_strdup(m->from_addr);
    } else if (f->sender.entry != NULL && dm_entry_is_politician(f->sender.entry)) {
        for (size_t i = 0; i < f->n_rcpts && !s->party_domain; i++) {
            if (f->rcpts[i].entry == NULL && dm_party_domain(p, f->rcpts[i].addr)) {
                s->party_domain = true;
                s->party_domain_addr = g_strdup(f->rcpts[i].addr);
            }
        }
    }

    /* The words. */
    s->text = dm_text_new(&p->replies, m->subject, m->text->str, m->text->len,
                          (guint)p->max_tokens);
    dm_lex_tag(p->lex, s->text);
    r = dm_lex_match(p->lex, s->text);
    dm_signals_words(p, s, r);
    dm_lex_result_free(r);

    s->r_case = (s->cited != NULL ? p->w_case_cited : 0) +
                (s->party_case != NULL ? p->w_case_party : 0) +
                (s->cited_unknown != NULL ? p->w_case_unknown : 0);
    s->r_text = s->score[DM_SIG_REQUEST] + s->score[DM_SIG_POLITE] +
                s->score[DM_SIG_REFERENCE];
    if (s->score[DM_SIG_INFO_HEAD] < p->t_info) {
        /* A subject that says "Information", "Inbjudan": the subject
         * names no errand, and opinions in it are not synpunkter. */
        s->r_text += s->score[DM_SIG_SUBJECT_HEAD] + s->score[DM_SIG_SUBJECT];
        /* A synpunkt counts when it is about the municipality's matters. */
        if (s->score[DM_SIG_MUNICIPAL] > 0)
            s->r_text += s->score[DM_SIG_OPINION];
    }
    info = s->score[DM_SIG_INFO];
    if (info >= p->t_info)
        s->r_text = 0; /* "för kännedom", "ingen åtgärd": nothing is asked */
    s->r_total = s->r_case + s->r_text;
    s->private_total = s->score[DM_SIG_PRIVATE] + s->score[DM_SIG_FAMILY] +
                       s->score[DM_SIG_INTIMATE];
}

/* ---- explaining ------------------------------------------------------------ */

static void dm_describe_sig(const dm_policy *p, const dm_signals *s, dm_sig sig, GString *out)
{
    const GPtrArray *h = s->hits[sig];

    if (p->sig[sig].list == G_MAXUINT)
        return;
    g_string_append_printf(out, "  %-13s %4.1f", dm_sig_section(sig), s->score[sig]);
    for (guint i = 0; h != NULL && i < h->len; i++)
        g_string_append_printf(out, "%s\"%s\"", i ? ", " : "  ", (char *)g_ptr_array_index(h, i));
    g_string_append_c(out, '\n');
}

void dm_signals_describe(const dm_policy *p, const dm_signals *s, GString *out)
{
    g_string_append(out, "signals:\n");
    if (s->cited != NULL)
        g_string_append_printf(out, "  case          cites %s (%s, %s%s)\n", s->cited->dnr,
                               s->cited->myndighet, s->cited->open ? "open" : "closed",
                               s->cited->sekretess ? ", sekretess" : "");
    if (s->sek_case != NULL && s->sek_case != s->cited)
        g_string_append_printf(out, "  case          cites %s (sekretess)\n", s->sek_case->dnr);
    if (s->party_case != NULL)
        g_string_append_printf(out, "  case          %s is a party of open case %s\n",
                               s->party_addr, s->party_case->dnr);
    if (s->cited_unknown != NULL)
        g_string_append_printf(out, "  case          \"%s\" is not in the diarium\n",
                               s->cited_unknown);
    if (s->cited_foreign != NULL)
        g_string_append_printf(out, "  case          \"%s\": not a myndighet of ours\n",
                               s->cited_foreign);
    if (s->pnr != NULL)
        g_string_append_printf(out, "  %-13s %s\n",
                               s->pnr_samordning ? "samordningsnr" : "personnummer", s->pnr);
    if (s->marker != NULL)
        g_string_append_printf(out, "  marker        %s\n", s->marker);
    if (s->party_domain)
        g_string_append_printf(out, "  party domain  %s\n", s->party_domain_addr);
    g_string_append_printf(out, "  text          %u tokens, %u sentences, %u own words%s%s%s\n",
                           s->text->tokens->len, s->text->sents->len, s->own_words,
                           s->question ? ", asks a question" : "",
                           s->text->forward ? ", forwarded" : "",
                           s->text->truncated ? ", truncated" : "");
    if (s->head != G_MAXUINT)
        g_string_append_printf(out, "  subject head  \"%s\"\n",
                               dm_text_raw(s->text, &g_array_index(s->text->tokens, dm_token,
                                                                   s->head)));
    for (int i = 0; i < DM_SIG_COUNT; i++) {
        if (i != DM_SIG_SUBJECT_SKIP && (s->score[i] > 0 || s->hits[i] != NULL))
            dm_describe_sig(p, s, (dm_sig)i, out);
    }
    g_string_append_printf(out, "scores:\n"
                                "  R6 register   %.2f = cases %.2f + words %.2f  (threshold %.2f)\n"
                                "  R3 private    %.2f  (threshold %.2f; doubt needs intimate %.2f)\n"
                                "  R4 party      %.2f  (threshold %.2f)\n"
                                "  R7 ads %.2f, phishing %.2f, temporary %.2f  (thresholds %.2f, "
                                "%.2f, %.2f)\n",
                           s->r_total, s->r_case, s->r_text, p->t_register, s->private_total,
                           p->t_private, p->t_doubt, s->score[DM_SIG_PARTY], p->t_party,
                           s->score[DM_SIG_ADS], s->score[DM_SIG_PHISHING],
                           s->score[DM_SIG_TEMPORARY], p->t_ads, p->t_phishing,
                           p->t_temporary);
}
