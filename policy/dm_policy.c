/*
 * The decision: parties and direction (section 9), the class (sections 1,
 * 2 and 7), and the actions owed (section 8): copies, notices, absence
 * forwarding and the mass-mailing rejection.
 */
#include <string.h>

#include "dm_policy_int.h"
#include "dm_util.h"

/* Is this recipient a mass list: a lista entry or a configured address? */
static bool dm_party_is_mass_list(const dm_policy *p, const dm_party *r)
{
    if (dm_entry_is_list(r->entry))
        return true;
    for (char **l = p->mass_lists; l != NULL && *l != NULL; l++) {
        if (strcmp(*l, r->addr) == 0)
            return true;
    }
    return false;
}

/* The 550 reply's text (ASCII: the catalogue's [smtp] is checked so). */
static char *dm_mass_text(const dm_policy *p, const char *why)
{
    if (p->intranet != NULL && *p->intranet)
        return dm_reasons_text(p->reasons, DM_R_MASS_REJECT_INTRANET, "why", why, "intranet",
                               p->intranet, NULL);
    return dm_reasons_text(p->reasons, DM_R_MASS_REJECT, "why", why, NULL);
}

bool dm_policy_mass_applies(const dm_facts *f)
{
    const dm_entry *s = f->sender.entry;

    if (s == NULL || dm_entry_is_list(s))
        return false;
    if (f->auth == NULL && !f->from_internal_network)
        return false; /* R14 binds the municipality's own senders */
    return !s->comm_member;
}

const char *dm_policy_mass_sender(const dm_facts *f)
{
    const dm_entry *s = f->sender.entry;

    return s != NULL && s->mail != NULL ? s->mail : f->sender.addr;
}

dm_verdict *dm_policy_check_mass(const dm_policy *p, const dm_facts *f)
{
    const dm_entry *s = f->sender.entry;
    const dm_party *list = NULL;
    dm_verdict *v;
    char *why, count[24];

    if (!dm_policy_mass_applies(f))
        return NULL;
    for (size_t i = 0; i < f->n_rcpts && list == NULL; i++) {
        if (dm_party_is_mass_list(p, &f->rcpts[i]))
            list = &f->rcpts[i];
    }
    /* "why" goes into the SMTP reply too: the catalogue's [smtp]. */
    if (list != NULL) {
        why = dm_reasons_text(p->reasons, DM_R_WHY_LIST, "list", list->addr, NULL);
    } else if ((int)f->n_rcpts >= p->mass_recipients) {
        g_snprintf(count, sizeof count, "%zu", f->n_rcpts);
        why = dm_reasons_text(p->reasons, DM_R_WHY_RECIPIENTS, "count", count, NULL);
    } else if (f->sender_window_rcpts > 0 &&
               (int)f->sender_window_rcpts >= p->mass_window_recipients) {
        g_snprintf(count, sizeof count, "%u", f->sender_window_rcpts);
        why = dm_reasons_text(p->reasons, DM_R_WHY_WINDOW, "count", count, NULL);
    } else {
        return NULL;
    }
    v = dm_verdict_new();
    v->klass = DM_CLASS_NONE;
    v->reject = true;
    v->reject_code = g_strdup("550");
    v->reject_xcode = g_strdup("5.7.1");
    v->reject_text = dm_mass_text(p, why);
    v->direction = DM_DIR_OUTBOUND;
    dm_reasons_add(v, p->reasons, "R14", DM_R_MASS, "why", why, "sender",
                   s->mail != NULL ? s->mail : f->sender.addr, NULL);
    g_free(why);
    return v;
}

/* Do all internal parties share at least one myndighet? */
static bool dm_shared_myndighet(const dm_facts *f)
{
    const dm_entry *s = f->sender.entry;

    if (s->myndigheter == NULL)
        return false;
    for (char **m = s->myndigheter; *m != NULL; m++) {
        bool all = true;
        for (size_t i = 0; i < f->n_rcpts && all; i++) {
            const dm_entry *r = f->rcpts[i].entry;
            /* A list is a party outside every myndighet. */
            if (r == NULL || dm_entry_is_list(r) || !dm_entry_in_myndighet(r, *m))
                all = false;
        }
        if (all)
            return true;
    }
    return false;
}

static bool dm_shares_any(const dm_entry *a, const dm_entry *b)
{
    for (char **m = a->myndigheter; m != NULL && *m != NULL; m++) {
        if (dm_entry_in_myndighet(b, *m))
            return true;
    }
    return false;
}

/* The myndighet concerned for a party: the cited case's, else the party's
 * first. */
static const char *dm_myndighet_for(const dm_content *c, const dm_entry *e)
{
    if (c->cited != NULL)
        return c->cited->myndighet;
    if (e != NULL && e->myndigheter != NULL && e->myndigheter[0] != NULL)
        return e->myndigheter[0];
    return NULL;
}

static bool dm_is_rcpt(const dm_facts *f, const char *addr)
{
    for (size_t i = 0; i < f->n_rcpts; i++) {
        if (g_ascii_strcasecmp(f->rcpts[i].addr, addr) == 0)
            return true;
    }
    return false;
}

static void dm_add_copy(const dm_policy *p, dm_verdict *v, const dm_facts *f,
                        const dm_content *c, const dm_entry *e, const char *party)
{
    const char *m = dm_myndighet_for(c, e);
    const char *reg = dm_registrars_for(f->registrars, m);
    dm_action *a;

    if (reg == NULL) {
        char *unknown = dm_reasons_text(p->reasons, DM_R_UNKNOWN_MYNDIGHET, NULL);
        dm_reasons_add(v, p->reasons, "R6", DM_R_NO_REGISTRAR, "myndighet", m ? m : unknown,
                       "party", party, NULL);
        g_free(unknown);
        return;
    }
    if (dm_is_rcpt(f, reg) ||
        (f->sender.entry != NULL && f->sender.entry->mail != NULL &&
         g_ascii_strcasecmp(f->sender.entry->mail, reg) == 0)) {
        /* The registrator already has it: as a recipient, or as the
         * mailbox it was sent from. */
        return;
    }
    if (!dm_verdict_has_action(v, DM_ACT_COPY, reg))
        dm_reasons_add(v, p->reasons, "R8", DM_R_COPY, "registrar", reg, "myndighet", m,
                       "party", party, NULL);
    a = dm_verdict_add_action(v, DM_ACT_COPY, reg, party);
    if (a->myndighet == NULL)
        a->myndighet = g_strdup(m);
}

/* A notice to person e.  It names the registrator the person forwards
 * the message to: that of the myndighet concerned, else of the person's
 * own first myndighet. */
static void dm_add_notice(dm_verdict *v, const dm_facts *f, const dm_entry *e,
                          const char *party, const char *myndighet, dm_notice_kind kind)
{
    dm_action *a = dm_verdict_add_action(v, DM_ACT_NOTICE, dm_entry_notice_address(e), party);
    const char *m = myndighet != NULL ? myndighet
                    : e->myndigheter != NULL ? e->myndigheter[0]
                                             : NULL;

    a->notice = kind;
    if (a->party_name == NULL)
        a->party_name = g_strdup(e->name);
    if (a->myndighet == NULL)
        a->myndighet = g_strdup(myndighet);
    if (a->registrar == NULL && m != NULL)
        a->registrar = g_strdup(dm_registrars_for(f->registrars, m));
}

/* Section 9, "When the class is registreras". */
static void dm_registration_actions(const dm_policy *p, const dm_facts *f,
                                    const dm_content *c, dm_verdict *v, GHashTable *seen_dn)
{
    const dm_entry *s = f->sender.entry;
    bool any_outside = false, unshared = false;

    for (size_t i = 0; i < f->n_rcpts; i++) {
        const dm_party *r = &f->rcpts[i];
        const dm_entry *e = r->entry;

        if (e == NULL) {
            any_outside = true;
            continue;
        }
        if (dm_entry_is_list(e)) {
            any_outside = true; /* outside every myndighet */
            continue;
        }
        if (s != NULL && !dm_entry_is_list(s) && !dm_shares_any(s, e))
            unshared = true;
        if (e->dn != NULL && !g_hash_table_add(seen_dn, e->dn))
            continue; /* private address of an entry already handled */
        if (dm_entry_is_mailbox(e)) {
            dm_add_copy(p, v, f, c, e, e->mail);
        } else if (e->fullmakt) {
            dm_add_copy(p, v, f, c, e, e->mail);
            if (dm_entry_is_politician(e))
                dm_add_notice(v, f, e, e->mail, dm_myndighet_for(c, e), DM_NOTICE_COPIED);
        } else {
            dm_add_notice(v, f, e, e->mail, dm_myndighet_for(c, e), DM_NOTICE_REGISTER_INBOUND);
            dm_reasons_add(v, p->reasons, "R10", DM_R_NO_FULLMAKT, "party", e->mail, "name",
                           e->name ? e->name : e->mail, NULL);
        }
    }
    if (s != NULL && !dm_entry_is_list(s) && (any_outside || unshared)) {
        if (dm_entry_is_politician(s) && !s->fullmakt) {
            dm_add_notice(v, f, s, s->mail, dm_myndighet_for(c, s), DM_NOTICE_REGISTER_OUTBOUND);
            dm_reasons_add(v, p->reasons, "R10", DM_R_SENDER_NO_FULLMAKT, "sender", s->mail,
                           NULL);
        } else {
            dm_add_copy(p, v, f, c, s, s->mail);
        }
    }
}

static bool dm_is_absent(const dm_party *r, int64_t now)
{
    const dm_entry *e = r->entry;
    bool dates;

    if (r->autoreply_absent)
        return true;
    if (e->absent_from == 0 && e->absent_until == 0)
        return false;
    dates = (e->absent_from == 0 || e->absent_from <= now) &&
            (e->absent_until == 0 || now <= e->absent_until);
    return dates;
}

/* Section 9, "Absence" (R12, R13). */
static void dm_absence_actions(const dm_policy *p, const dm_facts *f, dm_verdict *v)
{
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

    for (size_t i = 0; i < f->n_rcpts; i++) {
        const dm_party *r = &f->rcpts[i];
        const dm_entry *e = r->entry;

        if (!dm_entry_is_person(e) || !dm_is_absent(r, f->now))
            continue;
        if (e->dn != NULL && !g_hash_table_add(seen, e->dn))
            continue;
        if (e->delegate_mail != NULL) {
            dm_action *a = dm_verdict_add_action(v, DM_ACT_FORWARD, e->delegate_mail, e->mail);
            if (a->party_name == NULL)
                a->party_name = g_strdup(e->name);
            dm_reasons_add(v, p->reasons, "R13", DM_R_ABSENT_FORWARD, "party", e->mail,
                           "delegate", e->delegate_mail, NULL);
        } else if (!e->fullmakt) {
            if (e->manager_mail != NULL) {
                dm_action *a = dm_verdict_add_action(v, DM_ACT_MANAGER_NOTICE,
                                                     e->manager_mail, e->mail);
                a->notice = DM_NOTICE_UNWATCHED;
                if (a->party_name == NULL)
                    a->party_name = g_strdup(e->name);
                dm_reasons_add(v, p->reasons, "R12", DM_R_ABSENT_MANAGER, "party", e->mail,
                               "manager", e->manager_mail, NULL);
            } else {
                dm_reasons_add(v, p->reasons, "R12", DM_R_ABSENT_UNCOVERED, "party", e->mail,
                               NULL);
            }
        }
    }
    g_hash_table_destroy(seen);
}

/* The direction (section 9), and whether a politician is a party. */
static dm_direction dm_direction_of(const dm_facts *f, bool *any_politician)
{
    const dm_entry *s = f->sender.entry;
    bool sender_int = s != NULL && !dm_entry_is_list(s);
    size_t n_int = 0, n_ext = 0;

    *any_politician = false;
    for (size_t i = 0; i < f->n_rcpts; i++) {
        if (f->rcpts[i].entry != NULL) {
            n_int++;
            *any_politician |= dm_entry_is_politician(f->rcpts[i].entry);
        } else {
            n_ext++;
        }
    }
    *any_politician |= sender_int && dm_entry_is_politician(s);
    if (sender_int && n_ext == 0 && n_int > 0)
        return DM_DIR_INTERNAL;
    if (sender_int)
        return DM_DIR_OUTBOUND;
    if (n_int > 0)
        return DM_DIR_INBOUND;
    return DM_DIR_EXTERNAL;
}

/* Sections 7 to 9 once the content is judged: the class for the parties,
 * and what each of them is owed. */
static void dm_policy_actions(const dm_policy *p, const dm_facts *f, dm_content *c,
                              bool any_politician, dm_verdict *v)
{
    const dm_entry *s = f->sender.entry;
    bool sender_int = s != NULL && !dm_entry_is_list(s);
    GHashTable *seen_dn;

    v->klass = c->klass;
    v->sekretess = c->sekretess;
    if (c->cited != NULL) {
        v->case_dnr = g_strdup(c->cited->dnr);
        v->myndighet = g_strdup(c->cited->myndighet);
    }

    /* Party content is parti for a politician (R4) and privat for
     * everyone else (R3). */
    if (v->klass == DM_CLASS_PARTI && !any_politician)
        v->klass = DM_CLASS_PRIVAT;

    /* R5: inside one myndighet the mail is working material. */
    if (v->direction == DM_DIR_INTERNAL && !dm_class_is_private(v->klass) &&
        dm_shared_myndighet(f)) {
        v->klass = DM_CLASS_INTERN;
        v->sekretess = false;
        dm_reasons_add(v, p->reasons, "R5", DM_R_INTERNAL, "myndighet",
                       s->myndigheter[0] != NULL ? s->myndigheter[0] : "?", NULL);
    }
    if (v->sekretess)
        v->klass = DM_CLASS_REGISTRERAS;
    if (v->myndighet == NULL) {
        const dm_entry *first = sender_int ? s : NULL;
        for (size_t i = 0; first == NULL && i < f->n_rcpts; i++) {
            if (f->rcpts[i].entry != NULL && !dm_entry_is_list(f->rcpts[i].entry))
                first = f->rcpts[i].entry;
        }
        if (first != NULL && first->myndigheter != NULL && first->myndigheter[0] != NULL)
            v->myndighet = g_strdup(first->myndigheter[0]);
    }

    seen_dn = g_hash_table_new(g_str_hash, g_str_equal);
    if (v->klass == DM_CLASS_REGISTRERAS)
        dm_registration_actions(p, f, c, v, seen_dn);
    if (!dm_class_is_private(v->klass)) {
        dm_absence_actions(p, f, v);
        dm_autoreply_actions(p, f, v);
    }
    g_hash_table_destroy(seen_dn);
}

static dm_verdict *dm_policy_decide_rules(const dm_policy *p, const dm_facts *f)
{
    dm_verdict *v = dm_policy_check_mass(p, f);
    bool any_politician;
    dm_content c;
    dm_signals s;

    if (v != NULL)
        return v;
    v = dm_verdict_new();
    v->direction = dm_direction_of(f, &any_politician);
    if (f->msg == NULL) {
        dm_reasons_add(v, p->reasons, "R1", DM_R_NO_MESSAGE, NULL);
        return v;
    }
    dm_signals_compute(p, f, &s);
    dm_content_decide(p, p->w, &s, &c, v);
    dm_policy_actions(p, f, &c, any_politician, v);
    dm_signals_clear(&s);
    return v;
}

/* ---- fitting -------------------------------------------------------------- */

dm_features *dm_policy_features(const dm_policy *p, const dm_facts *f)
{
    dm_features *x;

    if (f->msg == NULL)
        return NULL;
    x = g_new0(dm_features, 1);
    dm_signals_compute(p, f, &x->s);
    return x;
}

void dm_features_free(dm_features *x)
{
    if (x == NULL)
        return;
    dm_signals_clear(&x->s);
    g_free(x);
}

dm_class dm_policy_content_class(const dm_policy *p, const double *w, const dm_features *x,
                                 bool *sekretess)
{
    dm_content c;

    dm_content_decide(p, w, &x->s, &c, NULL);
    if (sekretess != NULL)
        *sekretess = c.sekretess;
    return c.klass;
}

dm_verdict *dm_policy_decide_as(const dm_policy *p, const dm_facts *f, const dm_features *x,
                                dm_class content)
{
    dm_verdict *v = dm_policy_check_mass(p, f);
    bool any_politician;
    dm_content c;

    if (v != NULL)
        return v;
    v = dm_verdict_new();
    v->direction = dm_direction_of(f, &any_politician);
    if (x == NULL) {
        dm_reasons_add(v, p->reasons, "R1", DM_R_NO_MESSAGE, NULL);
        return v;
    }
    dm_content_decide(p, p->w, &x->s, &c, NULL);
    c.klass = content;
    dm_policy_actions(p, f, &c, any_politician, v);
    return v;
}

dm_verdict *dm_policy_decide(const dm_policy *p, const dm_facts *f)
{
    dm_verdict *v = dm_policy_decide_rules(p, f);

    /* Whatever the verdict, what it could not see is said. */
    if (f->msg != NULL)
        dm_policy_limit_reasons(p, f->msg, v);
    return v;
}
