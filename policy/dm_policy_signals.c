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
/* Distinct entries counted per signal and language, more than any cap. */
#define DM_ENTRIES_MAX 32

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
    [DM_SIG_THANKS] = "thanks",
    [DM_SIG_OUTSIDE] = "outside",
    [DM_SIG_MUNICIPAL] = "municipal",
    [DM_SIG_PRIVATE] = "private",
    [DM_SIG_COMMERCE] = "commerce",
    [DM_SIG_FAMILY] = "family",
    [DM_SIG_INTIMATE] = "intimate",
    [DM_SIG_PARTY] = "party",
    [DM_SIG_ADS] = "ads",
    [DM_SIG_PHISHING] = "phishing",
    [DM_SIG_TEMPORARY] = "temporary",
    [DM_SIG_BULK] = "bulk",
    [DM_SIG_SENSITIVE] = "sensitive",
    [DM_SIG_SUBJECT_SKIP] = "subject_skip",
};

const char *dm_sig_section(dm_sig s)
{
    return s < DM_SIG_COUNT ? dm_sig_sections[s] : NULL;
}

const char *dm_grp_name(dm_grp g)
{
    static const char *const names[DM_GRP_COUNT] = {
        [DM_GRP_OWN] = "own",          [DM_GRP_FORWARDED] = "forwarded",
        [DM_GRP_ATTACHMENT] = "attachment", [DM_GRP_QUOTED] = "quoted",
        [DM_GRP_TAIL] = "signature",
    };

    return (unsigned)g < DM_GRP_COUNT ? names[g] : "?";
}

static void dm_hit_free(gpointer p)
{
    dm_hit *h = p;

    g_free(h->phrase);
    g_free(h);
}

void dm_signals_clear(dm_signals *s)
{
    g_free(s->cited_unknown);
    g_free(s->cited_foreign);
    g_free(s->pnr);
    g_free(s->marker);
    g_free(s->soft_marker);
    g_free(s->party_domain_addr);
    for (int i = 0; i < DM_SIG_COUNT; i++) {
        if (s->hits[i] != NULL)
            g_ptr_array_free(s->hits[i], TRUE);
    }
    dm_text_free(s->text);
    g_free(s->segs);
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

/* Auto-Submitted values that say a program made the message, not that it
 * replies to one: an e-service's or case system's mail may carry a
 * person's errand (section 10). */
static bool dm_generated(const dm_msg *m)
{
    return m->auto_submitted != NULL && (strcmp(m->auto_submitted, "auto-generated") == 0 ||
                                         strcmp(m->auto_submitted, "auto-notified") == 0);
}

/* Mail no person wrote (R7): a delivery report, the null sender, an
 * automatic reply, a spam filter's verdict.  The marker in the words of
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
    if (m->auto_reply && !dm_generated(m)) {
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
    return NULL;
}

/* Mailing lists, bulk and generated mail: evidence that no person wrote
 * it to the municipality, not a verdict (an association's letter through
 * its list, an e-service's application are errands). */
static char *dm_soft_marker(const dm_policy *p, const dm_facts *f)
{
    const dm_msg *m = f->msg;

    if (m->list || m->bulk)
        return dm_reasons_text(p->reasons, DM_R_MARKER_BULK, "what",
                               m->list_id ? m->list_id
                               : m->list  ? "List-Unsubscribe"
                                          : "Precedence",
                               NULL);
    if (m->auto_reply && dm_generated(m))
        return dm_reasons_text(p->reasons, DM_R_MARKER_BULK, "what",
                               "Auto-Submitted: auto-generated", NULL);
    return NULL;
}

/* Reading one language's lists over one text. */
typedef struct {
    const dm_langlex *L;
    guint li;                /* its index in dm_policy.langs */
    dm_text *t;
    const dm_lex_result *r;
    guint *heads;            /* per sentence: a title's head token, else G_MAXUINT */
    GPtrArray **seen;        /* per signal: the phrases counted, in every language */
} dm_wctx;

/* Does a match count for signal sig, given where it stands? */
static bool dm_match_counts(const dm_policy *p, const dm_wctx *w, dm_sig sig, const dm_lmatch *m)
{
    const dm_token *k = &g_array_index(w->t->tokens, dm_token, m->start);
    const dm_sentence *st = &g_array_index(w->t->sents, dm_sentence, k->sent);
    bool title = (st->flags & DM_SENT_TITLE) != 0;
    bool asks = (st->flags & (DM_SENT_QUESTION | DM_SENT_INQUIRY)) != 0;
    bool head = w->heads[k->sent] == m->start;

    switch (p->sig[sig].where) {
    case DM_WHERE_ALL:
    case DM_WHERE_OWN: /* quoted text weighs less: dm_signals_score */
        break;
    case DM_WHERE_SUBJECT: /* the subject, or an attachment's name */
        if (!title)
            return false;
        break;
    case DM_WHERE_HEAD:
        if (!head)
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
        if (title && asks)
            return false; /* "Ansökan om bygglov – hur lång tid?" */
        return sig == DM_SIG_SUBJECT_HEAD || !head;
    case DM_SIG_INFO_HEAD:
        /* The subject says what the message is; an attached file's name
         * ("Faktura 10482.pdf") says what the attachment is. */
        return !asks && (st->flags & DM_SENT_SUBJECT) != 0;
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

/* Each title's head: its first token after [subject_skip] words. */
static void dm_title_heads(const dm_wctx *w)
{
    const dm_text *t = w->t;
    guint skip = w->L->list[DM_SIG_SUBJECT_SKIP];
    const GArray *m = skip != G_MAXUINT ? w->r->matches[skip] : NULL;

    for (guint si = 0; si < t->sents->len; si++) {
        const dm_sentence *st = &g_array_index(t->sents, dm_sentence, si);
        guint pos = st->first;

        w->heads[si] = G_MAXUINT;
        if ((st->flags & DM_SENT_TITLE) == 0)
            continue;
        while (m != NULL && pos < st->end) {
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
        if (pos < st->end)
            w->heads[si] = pos;
    }
}

/* One language's lists over one text: the entries of each signal, where
 * they stand, the phrases that fired. */
static void dm_signals_words(const dm_policy *p, dm_signals *s, dm_wctx *w)
{
    dm_text *t = w->t;
    const dm_lex_result *r = w->r;
    guint inq = w->L->list[DM_SIG_INQUIRY];

    dm_title_heads(w);
    /* A sign-up or an invitation's deadline in the sender's own text. */
    {
        guint nr = dm_lex_list_id(w->L->lex, "notrequest");
        const GArray *m = nr != G_MAXUINT ? r->matches[nr] : NULL;
        for (guint i = 0; m != NULL && i < m->len && !s->signup; i++) {
            const dm_lmatch *h = &g_array_index(m, dm_lmatch, i);
            const dm_token *k = &g_array_index(t->tokens, dm_token, h->start);
            s->signup = g_array_index(t->sents, dm_sentence, k->sent).grp == DM_GRP_OWN;
        }
    }
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
        guint list = w->L->list[sig], unless = w->L->unless[sig];
        const GArray *m;
        guint entry[DM_ENTRIES_MAX], n_entries, n_counted;
        guint8 mask[DM_ENTRIES_MAX];
        dm_lmatch counted[DM_ENTRIES_MAX];

        if (list == G_MAXUINT || sig == DM_SIG_SUBJECT_SKIP)
            continue;
        m = r->matches[list];
        if (m == NULL || m->len == 0)
            continue;
        /* Each entry counts once however often it fires ("grill",
         * "grillen"), where it weighs most (the groups it fired in are
         * kept); so does each phrase, whichever entries find it ("kram"
         * by two); a phrase inside one that already counted ("jag
         * tycker" in "jag tycker inte") does not. */
        if (w->seen[sig] == NULL)
            w->seen[sig] = g_ptr_array_new_with_free_func(g_free);
        n_entries = 0;
        n_counted = 0;
        for (guint i = 0; i < m->len && n_entries < DM_ENTRIES_MAX; i++) {
            const dm_lmatch *h = &g_array_index(m, dm_lmatch, i);
            const dm_token *k = &g_array_index(t->tokens, dm_token, h->start);
            const dm_sentence *st = &g_array_index(t->sents, dm_sentence, k->sent);
            guint8 bit = (guint8)(1u << st->grp);
            GPtrArray *seen = w->seen[sig];
            char *span;
            bool overlap = false, known = false;
            guint e;

            if (!dm_match_counts(p, w, (dm_sig)sig, h))
                continue;
            if (unless != G_MAXUINT && dm_overlaps(r->matches[unless], h))
                continue;
            for (guint j = 0; j < n_counted && !overlap; j++)
                overlap = counted[j].start < h->end && h->start < counted[j].end;
            if (overlap)
                continue;
            for (e = 0; e < n_entries; e++) {
                if (entry[e] == h->entry)
                    break;
            }
            if (e < n_entries) {
                mask[e] |= bit;
                continue;
            }
            span = dm_text_span(t, h->start, h->end);
            for (guint j = 0; j < seen->len && !known; j++)
                known = strcmp(g_ptr_array_index(seen, j), span) == 0;
            if (known) {
                g_free(span);
                continue;
            }
            g_ptr_array_add(seen, span);
            entry[n_entries] = h->entry;
            mask[n_entries++] = bit;
            if (n_counted < DM_ENTRIES_MAX)
                counted[n_counted++] = *h;
            if (s->hits[sig] == NULL)
                s->hits[sig] = g_ptr_array_new_with_free_func(dm_hit_free);
            if (s->hits[sig]->len < DM_HITS_MAX) {
                dm_hit *hit = g_new0(dm_hit, 1);
                hit->phrase = g_strdup(span);
                hit->grp = st->grp;
                hit->seg = st->seg;
                hit->lang = (guint8)w->li;
                g_ptr_array_add(s->hits[sig], hit);
            }
        }
        for (guint j = 0; j < n_entries; j++) {
            if (s->n[sig][mask[j]] < G_MAXUINT16)
                s->n[sig][mask[j]]++;
        }
    }
    for (guint i = 0; i < t->sents->len; i++) {
        const dm_sentence *st = &g_array_index(t->sents, dm_sentence, i);
        bool asks = (st->flags & (DM_SENT_QUESTION | DM_SENT_INQUIRY)) != 0;
        if ((st->grp == DM_GRP_OWN || st->grp == DM_GRP_FORWARDED) && asks)
            s->question = true;
        if (st->grp == DM_GRP_QUOTED && asks)
            s->quoted_question = true;
        if (w->li == 0 && st->grp == DM_GRP_QUOTED)
            s->quoted_words += st->end - st->first;
    }
}

/* Does language L read segment g (its language, or none known)? */
bool dm_seg_in_lang(const dm_tseg *g, const dm_langlex *L)
{
    if (g->lang == NULL || g->lang[0] == '\0')
        return L->unknown;
    return strcmp(g->lang, L->code) == 0;
}

/* Read text t with the lists of language li. */
static void dm_signals_read(const dm_policy *p, dm_signals *s, guint li, dm_text *t,
                            GPtrArray **seen)
{
    const dm_langlex *L = &p->langs[li];
    dm_wctx w = {.L = L, .li = li, .t = t, .seen = seen};
    dm_lex_result *r;

    t->stemmer = dm_lex_stemmer(L->lex);
    dm_lex_tag(L->lex, t);
    r = dm_lex_match(L->lex, t);
    w.r = r;
    w.heads = g_new(guint, t->sents->len + 1);
    dm_signals_words(p, s, &w);
    if (li == 0 && t->sents->len > 0 &&
        (g_array_index(t->sents, dm_sentence, 0).flags & DM_SENT_SUBJECT) != 0)
        s->head = w.heads[0];
    g_free(w.heads);
    dm_lex_result_free(r);
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

/* Inbound from outside to the municipality's people or mailboxes;
 * outbound from its people or mailboxes. */
static void dm_signals_direction(const dm_facts *f, dm_signals *s)
{
    const dm_entry *snd = f->sender.entry;
    bool any_int = false, any_ext = false;

    for (size_t i = 0; i < f->n_rcpts; i++) {
        const dm_entry *e = f->rcpts[i].entry;
        if (e == NULL || dm_entry_is_list(e)) {
            any_ext |= e == NULL;
            continue;
        }
        any_int = true;
        s->to_mailbox |= dm_entry_is_mailbox(e);
    }
    s->inbound = (snd == NULL || dm_entry_is_list(snd)) && any_int;
    s->outbound = snd != NULL && !dm_entry_is_list(snd) && any_ext;
}

/* What is read of the message, in order: the document model's segments
 * (dm_msg.segments), or the subject and the text of a message built
 * without them. */
static void dm_signals_segments(const dm_msg *m, dm_signals *s)
{
    guint n = m->segments != NULL ? MIN(m->segments->len, 255) : 0;

    if (n == 0) {
        s->segs = g_new0(dm_tseg, 2);
        s->segs[0] = (dm_tseg){.text = m->subject, .len = strlen(m->subject),
                               .grp = DM_GRP_OWN, .subject = true, .title = true,
                               .what = "subject", .lang = m->lang};
        s->segs[1] = (dm_tseg){.text = m->text->str, .len = m->text->len, .grp = DM_GRP_OWN,
                               .scan = true, .what = "body", .lang = m->lang};
        s->n_segs = 2;
        return;
    }
    s->segs = g_new0(dm_tseg, n);
    for (guint i = 0; i < n; i++) {
        const dm_segment *g = g_ptr_array_index(m->segments, i);
        dm_tseg *t = &s->segs[i];

        t->text = g->text;
        t->len = g->len;
        t->what = dm_seg_kind_name(g->kind);
        /* A segment too short to tell has the message's language. */
        t->lang = g->lang[0] != '\0' ? g->lang : m->lang;
        t->source = g->source;
        t->page = g->page;
        switch (g->kind) {
        case DM_SEG_SUBJECT:
            t->subject = t->title = true;
            t->grp = DM_GRP_OWN;
            break;
        case DM_SEG_BODY:
            t->scan = true;
            t->grp = DM_GRP_OWN;
            break;
        case DM_SEG_QUOTED:
            t->grp = DM_GRP_QUOTED;
            break;
        case DM_SEG_FORWARDED:
            t->grp = DM_GRP_FORWARDED;
            break;
        case DM_SEG_SIGNATURE:
        case DM_SEG_FOOTER:
            t->grp = DM_GRP_TAIL;
            break;
        case DM_SEG_ATTACHMENT_NAME:
            /* A document's name is its title: "Ansökan om bygglov.pdf". */
            t->title = true;
            t->grp = DM_GRP_ATTACHMENT;
            break;
        default:
            t->grp = DM_GRP_ATTACHMENT;
            break;
        }
    }
    s->n_segs = n;
}

void dm_signals_compute(const dm_policy *p, const dm_facts *f, dm_signals *s)
{
    const dm_msg *m = f->msg;
    const char *const *codes = dm_case_index_myndigheter(f->cases);

    memset(s, 0, sizeof *s);
    s->head = G_MAXUINT;
    s->person = dm_any_party(f, false);
    s->politician = dm_any_party(f, true);
    dm_signals_segments(m, s);

    /* Cases: in every segment, in order (the subject first). */
    for (guint part = 0; part < s->n_segs; part++) {
        GPtrArray *dnrs = dm_dnr_find_all(p->dnr, s->segs[part].text, codes);

        for (guint i = 0; i < dnrs->len; i++) {
            const dm_dnr *d = g_ptr_array_index(dnrs, i);
            const dm_case *cs = dm_case_index_find(f->cases, d->key);

            if (cs != NULL) {
                if (s->cited == NULL) {
                    s->cited = cs;
                    s->cited_seg = part;
                }
                /* R9: any cited case the diarium marks as sekretess is a
                 * sign, not only the first one cited (which decides the
                 * myndighet). */
                if (cs->sekretess && s->sek_case == NULL) {
                    s->sek_case = cs;
                    s->sek_seg = part;
                }
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

    /* R9: a personnummer or samordningsnummer, in any segment. */
    for (guint part = 0; part < s->n_segs && s->pnr == NULL; part++) {
        s->pnr = dm_pnr_find2(s->segs[part].text, &s->pnr_samordning);
        s->pnr_seg = part;
    }

    s->marker = dm_marker(p, f);
    s->soft_marker = dm_soft_marker(p, f);
    dm_signals_direction(f, s);

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

    /* The words: the Swedish lists over everything (Swedish mail quotes
     * English and the other way round), each other language's lists
     * over the segments in that language. */
    {
        GPtrArray *seen[DM_SIG_COUNT] = {0};

        s->text = dm_text_new_segs(&p->replies, s->segs, s->n_segs, (guint)p->max_tokens, NULL);
        dm_signals_read(p, s, 0, s->text, seen);
        s->own_words = s->text->own_words;
        for (guint li = 1; li < p->n_langs; li++) {
            bool any = false;
            dm_text *t;

            for (guint i = 0; i < s->n_segs && !any; i++)
                any = dm_seg_in_lang(&s->segs[i], &p->langs[li]);
            if (!any)
                continue;
            t = dm_text_subset(s->text, s->segs, &p->langs[li]);
            dm_signals_read(p, s, li, t, seen);
            dm_text_free(t);
        }
        for (int i = 0; i < DM_SIG_COUNT; i++) {
            if (seen[i] != NULL)
                g_ptr_array_free(seen[i], TRUE);
        }
    }
    for (int sig = 0; sig < DM_SIG_COUNT; sig++) {
        for (guint mask = 1; mask < G_N_ELEMENTS(s->n[sig]); mask++) {
            if (s->n[sig][mask] == 0)
                continue;
            if (s->nz_n[sig] >= G_N_ELEMENTS(s->nz_mask[sig])) {
                s->nz_n[sig] = 255;
                break;
            }
            s->nz_mask[sig][s->nz_n[sig]++] = (guint8)mask;
        }
    }
}

/* What an entry found in a set of groups weighs: its best group's
 * weight (the sender's own text 1). */
static inline double dm_mask_weight(const double *gw, guint mask)
{
    double best = 0;

    for (int g = 0; g < DM_GRP_COUNT; g++) {
        if ((mask & (1u << g)) && gw[g] > best)
            best = gw[g];
    }
    return best;
}

void dm_signals_score(const dm_policy *p, const double *w, const dm_signals *s, dm_scores *sc)
{
    double gw[DM_GRP_COUNT];

    memset(sc, 0, sizeof *sc);
    gw[DM_GRP_OWN] = 1.0;
    gw[DM_GRP_FORWARDED] = w[DM_P_G_FORWARDED];
    gw[DM_GRP_ATTACHMENT] = w[DM_P_G_ATTACHMENT];
    gw[DM_GRP_QUOTED] = w[DM_P_G_QUOTED];
    gw[DM_GRP_TAIL] = w[DM_P_G_TAIL];
    for (int sig = 0; sig < DM_SIG_COUNT; sig++) {
        const dm_sigdef *d = &p->sig[sig];
        int wp;
        double eff = 0;

        if (s->nz_n[sig] == 0)
            continue;
        if (s->nz_n[sig] == 255) {
            for (guint mask = 1; mask < G_N_ELEMENTS(s->n[sig]); mask++) {
                if (s->n[sig][mask] != 0)
                    eff += s->n[sig][mask] *
                           (d->where == DM_WHERE_OWN ? dm_mask_weight(gw, mask) : 1.0);
            }
        } else {
            for (guint i = 0; i < s->nz_n[sig]; i++) {
                guint mask = s->nz_mask[sig][i];
                eff += s->n[sig][mask] *
                       (d->where == DM_WHERE_OWN ? dm_mask_weight(gw, mask) : 1.0);
            }
        }
        wp = dm_sig_param((dm_sig)sig);
        sc->score[sig] = MIN(d->cap, eff) * (wp >= 0 ? w[wp] : 1.0);
    }

    sc->r_case = (s->cited != NULL ? w[DM_P_CASE_CITED] : 0) +
                 (s->party_case != NULL ? w[DM_P_CASE_PARTY] : 0) +
                 (s->cited_unknown != NULL ? w[DM_P_CASE_UNKNOWN] : 0);
    sc->r_text = sc->score[DM_SIG_REQUEST] + sc->score[DM_SIG_POLITE] +
                 sc->score[DM_SIG_REFERENCE];
    /* The same asked in the sender's own text (the subject, the body). */
    {
        static const dm_sig own[] = {DM_SIG_REQUEST, DM_SIG_POLITE, DM_SIG_REFERENCE};
        for (guint i = 0; i < G_N_ELEMENTS(own); i++) {
            int wp = dm_sig_param(own[i]);
            double n = s->n[own[i]][1u << DM_GRP_OWN];
            sc->r_own += MIN(p->sig[own[i]].cap, n) * (wp >= 0 ? w[wp] : 1.0);
        }
    }
    if (sc->score[DM_SIG_INFO_HEAD] < w[DM_P_T_INFO]) {
        /* A subject that says "Information", "Inbjudan": the subject
         * names no errand, and opinions in it are not synpunkter. */
        sc->r_text += sc->score[DM_SIG_SUBJECT_HEAD] + sc->score[DM_SIG_SUBJECT];
        /* A synpunkt counts when it is about the municipality's matters. */
        if (sc->score[DM_SIG_MUNICIPAL] > 0)
            sc->r_text += sc->score[DM_SIG_OPINION];
    }
    if (sc->score[DM_SIG_INFO] >= w[DM_P_T_INFO])
        sc->r_text = 0; /* "för kännedom", "ingen åtgärd": nothing is asked */
    sc->r_total = sc->r_case + sc->r_text;
    sc->private_total = sc->score[DM_SIG_PRIVATE] + sc->score[DM_SIG_FAMILY] +
                        sc->score[DM_SIG_INTIMATE];
    /* An order or a booking in a functional mailbox is the office's own
     * (R11): a person's own commerce only in a person's mailbox. */
    if (s->person)
        sc->private_total += sc->score[DM_SIG_COMMERCE];
}

/* ---- explaining ------------------------------------------------------------ */

static void dm_describe_sig(const dm_policy *p, const dm_signals *s, const dm_scores *sc,
                            dm_sig sig, GString *out)
{
    const GPtrArray *h = s->hits[sig];
    int wp = dm_sig_param(sig);

    g_string_append_printf(out, "  %-13s %4.2f", dm_sig_section(sig), sc->score[sig]);
    if (wp >= 0)
        g_string_append_printf(out, " (%.2f each)", p->w[wp]);
    for (guint i = 0; h != NULL && i < h->len; i++) {
        const dm_hit *x = g_ptr_array_index(h, i);
        const dm_tseg *sg = x->seg < s->n_segs ? &s->segs[x->seg] : NULL;
        g_string_append_printf(out, "%s\"%s\" [%s", i ? ", " : "  ", x->phrase,
                               sg != NULL && x->grp == sg->grp ? sg->what
                                                               : dm_grp_name((dm_grp)x->grp));
        if (x->lang > 0 && x->lang < p->n_langs)
            g_string_append_printf(out, ", %s", p->langs[x->lang].code);
        if (sg != NULL && sg->source != NULL)
            g_string_append_printf(out, " '%s'", sg->source);
        if (sg != NULL && sg->page > 0)
            g_string_append_printf(out, " p. %d", sg->page);
        g_string_append_c(out, ']');
    }
    g_string_append_c(out, '\n');
}

void dm_signals_describe(const dm_policy *p, const dm_signals *s, GString *out)
{
    dm_scores sc;
    const double *w = p->w;

    dm_signals_score(p, w, s, &sc);
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
    if (s->soft_marker != NULL)
        g_string_append_printf(out, "  list/bulk     %s\n", s->soft_marker);
    g_string_append_printf(out, "  written       %s%s\n",
                           s->inbound    ? "inbound from outside"
                           : s->outbound ? "outbound"
                                         : "internal or passing",
                           s->to_mailbox ? ", to a functional mailbox" : "");
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
        if (i != DM_SIG_SUBJECT_SKIP && (sc.score[i] > 0 || s->hits[i] != NULL))
            dm_describe_sig(p, s, &sc, (dm_sig)i, out);
    }
    g_string_append_printf(out, "weights of where words stand: own 1.00, forwarded %.2f, "
                                "attachment %.2f, quoted %.2f, signature %.2f\n",
                           w[DM_P_G_FORWARDED], w[DM_P_G_ATTACHMENT], w[DM_P_G_QUOTED],
                           w[DM_P_G_TAIL]);
    g_string_append_printf(out, "scores:\n"
                                "  R6 register   %.2f = cases %.2f + words %.2f  (threshold %.2f)\n"
                                "  R3 private    %.2f  (threshold %.2f)\n"
                                "  R4 party      %.2f  (threshold %.2f)\n"
                                "  R7 ads %.2f, phishing %.2f, temporary %.2f, bulk %.2f  "
                                "(thresholds %.2f, %.2f, %.2f, %.2f)\n",
                           sc.r_total, sc.r_case, sc.r_text, w[DM_P_T_REGISTER], sc.private_total,
                           w[DM_P_T_PRIVATE], sc.score[DM_SIG_PARTY],
                           w[DM_P_T_PARTY], sc.score[DM_SIG_ADS], sc.score[DM_SIG_PHISHING],
                           sc.score[DM_SIG_TEMPORARY], sc.score[DM_SIG_BULK], w[DM_P_T_ADS],
                           w[DM_P_T_PHISHING], w[DM_P_T_TEMPORARY], w[DM_P_T_BULK]);
}
