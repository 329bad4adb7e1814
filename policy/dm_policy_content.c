/*
 * What the content of a message says (sections 1, 2 and R9), before the
 * parties are looked at.
 */
#include <string.h>

#include "dm_policy_int.h"
#include "dm_util.h"

void dm_content_clear(dm_content *c)
{
    g_free(c->cited_unknown);
    memset(c, 0, sizeof *c);
}

static bool dm_in_list(char **list, const char *s)
{
    for (char **p = list; p != NULL && *p != NULL; p++) {
        if (g_ascii_strcasecmp(*p, s) == 0)
            return true;
    }
    return false;
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

/* Automatic mail, reports, lists, spam: R7, whatever the text says. */
static bool dm_content_markers(const dm_facts *f, dm_verdict *v)
{
    const dm_msg *m = f->msg;

    if (m->report) {
        dm_verdict_add_reason(v, "R7", "leveransrapport (multipart/report; %s)",
                              m->report_type ? m->report_type : "report");
        return true;
    }
    if (f->env_from[0] == '\0') {
        dm_verdict_add_reason(v, "R7", "tom avsändare (<>): automatiskt meddelande");
        return true;
    }
    if (m->auto_reply) {
        dm_verdict_add_reason(v, "R7", "automatiskt svar (%s)",
                              m->auto_submitted ? m->auto_submitted : "autosvar");
        return true;
    }
    if (m->spam) {
        dm_verdict_add_reason(v, "R7", "skräppost enligt %s",
                              m->spam_header ? m->spam_header : "spamfilter");
        return true;
    }
    if (m->list || m->bulk) {
        dm_verdict_add_reason(v, "R7", "massutskick/nyhetsbrev (%s)",
                              m->list_id ? m->list_id : m->list ? "List-Unsubscribe"
                                                                : "Precedence");
        return true;
    }
    return false;
}

void dm_policy_content(const dm_policy *p, const dm_facts *f, dm_content *c, dm_verdict *v)
{
    const dm_msg *m = f->msg;
    GString *all = g_string_new(m->subject);
    GPtrArray *dnrs;
    const dm_case *sek_case = NULL; /* first cited case marked sekretess */
    char *norm, *hit, *pnr;
    const char *sender_domain = dm_addr_domain(f->env_from);

    memset(c, 0, sizeof *c);
    g_string_append_c(all, '\n');
    g_string_append_len(all, m->text->str, (gssize)m->text->len);

    /* Case numbers: the subject first, then the text parts in order. */
    dnrs = dm_dnr_find_all(p->dnr, all->str, dm_case_index_myndigheter(f->cases));
    for (guint i = 0; i < dnrs->len; i++) {
        const dm_dnr *d = g_ptr_array_index(dnrs, i);
        const dm_case *cs = dm_case_index_find(f->cases, d->key);

        if (cs != NULL && c->cited == NULL)
            c->cited = cs;
        else if (cs == NULL && c->cited_unknown == NULL)
            c->cited_unknown = g_strdup(d->written);
        /* R9: any cited case the diarium marks as sekretess is a sign,
         * not only the first one cited (which decides the myndighet). */
        if (cs != NULL && cs->sekretess && sek_case == NULL)
            sek_case = cs;
    }
    g_ptr_array_free(dnrs, TRUE);
    c->party_case = dm_open_case_of(f->cases, f->env_from);
    if (c->party_case == NULL && m->from_addr[0] != '\0')
        c->party_case = dm_open_case_of(f->cases, m->from_addr);

    norm = dm_policy_normalize_text(all->str, all->len);

    /* R9: a personnummer with sensitive facts, or a sekretess case. */
    pnr = dm_pnr_find(all->str);
    hit = dm_kwlist_first(&p->lists[DM_KW_SENSITIVE], norm);
    if (pnr != NULL && hit != NULL) {
        c->sekretess = true;
        dm_verdict_add_reason(v, "R9", "personnummer tillsammans med känsliga uppgifter (%s)",
                              hit);
    } else if (sek_case != NULL) {
        c->sekretess = true;
        dm_verdict_add_reason(v, "R9", "ärende %s är sekretessmarkerat i diariet",
                              sek_case->dnr);
    }
    g_free(hit);
    g_free(pnr);

    if (dm_in_list(p->party_domains, sender_domain))
        c->party_content = true;

    if (dm_content_markers(f, v)) {
        c->klass = DM_CLASS_RINGA;
    } else if (c->sekretess) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_verdict_add_reason(v, "R6.5", "innehåller sekretessuppgifter");
    } else if (c->party_content) {
        c->klass = DM_CLASS_PARTI;
        dm_verdict_add_reason(v, "R4", "avsändaren är partiet (%s)", sender_domain);
    } else if (c->cited != NULL) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_verdict_add_reason(v, "R6.3", "hänvisar till ärende %s i diariet", c->cited->dnr);
    } else if (c->party_case != NULL) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_verdict_add_reason(v, "R6.3", "avsändaren är part i pågående ärende %s",
                              c->party_case->dnr);
    } else if ((hit = dm_kwlist_first(&p->lists[DM_KW_ACTION], norm)) != NULL) {
        c->klass = DM_CLASS_REGISTRERAS;
        dm_verdict_add_reason(v, "R6.1", "begär åtgärd: \"%s\"", hit);
        g_free(hit);
    } else if ((hit = dm_kwlist_first(&p->lists[DM_KW_PARTY], norm)) != NULL) {
        c->klass = DM_CLASS_PARTI;
        c->party_content = true;
        dm_verdict_add_reason(v, "R4", "partiärende: \"%s\"", hit);
        g_free(hit);
    } else if ((hit = dm_kwlist_first(&p->lists[DM_KW_PRIVATE], norm)) != NULL) {
        c->klass = DM_CLASS_PRIVAT;
        dm_verdict_add_reason(v, "R3", "privat innehåll: \"%s\"", hit);
        g_free(hit);
    } else if ((hit = dm_kwlist_first(&p->lists[DM_KW_OUTSIDE], norm)) != NULL) {
        c->klass = DM_CLASS_RINGA;
        dm_verdict_add_reason(v, "R7", "utanför kommunens ansvar: \"%s\"", hit);
        g_free(hit);
    } else if ((hit = dm_kwlist_first(&p->lists[DM_KW_QUESTION], norm)) != NULL) {
        c->klass = DM_CLASS_RINGA;
        dm_verdict_add_reason(v, "R7", "enkel fråga: \"%s\"", hit);
        g_free(hit);
    } else {
        c->klass = DM_CLASS_ALLMAN;
        if (c->cited_unknown != NULL)
            dm_verdict_add_reason(v, "R6.2", "hänvisar till %s, som inte finns i diariet",
                                  c->cited_unknown);
        dm_verdict_add_reason(v, "R1", "rör kommunens verksamhet; hålls ordnad i journalen (R8)");
    }
    g_free(norm);
    g_string_free(all, TRUE);
}
