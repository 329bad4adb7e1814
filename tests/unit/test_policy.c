/*
 * policy/: the decision of ../shared/RULES.md sections 7 to 9, on facts
 * built by hand from the fixture directory (../shared/fixtures/sjovik.ldif)
 * and diarium (../shared/fixtures/arenden.csv), with the real rules file
 * etc/rules.conf.  Every verdict is also checked against the invariants
 * that hold for all messages (privat/parti: no action at all; a rejected
 * message has no actions; one copy per registrator; no copy to an
 * envelope recipient).
 */
#include "dm_test.h"

#include <stdio.h>

#include "dm_csv.h"
#include "dm_policy.h"
#include "dm_util.h"

/* ---- the fixture directory ------------------------------------------------- */

#define P(uid) "uid=" uid ",ou=personer,dc=sjovik,dc=test"
#define B(cn) "cn=" cn ",ou=brevlador,dc=sjovik,dc=test"
#define G(cn) "cn=" cn ",ou=grupper,dc=sjovik,dc=test"
#define COMM_GROUP G("kommunikationsenheten")
#define INTRANET "https://intranat.sjovik.test/nyheter"

typedef struct {
    const char *dn, *login, *name, *mail;
    const char *priv;    /* diariePrivateMail, comma separated */
    const char *routing; /* mailRoutingAddress */
    const char *roles;   /* diarieRole values, comma separated */
    const char *myn;     /* diarieMyndighet values, comma separated */
    bool fullmakt;
    const char *from, *until; /* GeneralizedTime */
    const char *delegate, *manager; /* DNs */
    bool comm;           /* member of kommunikationsenheten */
} spec;

static const spec fixture[] = {
    {.dn = P("anna.lind"), .login = "anna.lind", .name = "Anna Lind",
     .mail = "anna.lind@sjovik.test", .priv = "anna.lind.privat@example.net",
     .roles = "fortroendevald", .myn = "KS", .fullmakt = true},
    {.dn = P("bengt.ek"), .login = "bengt.ek", .name = "Bengt Ek", .mail = "bengt.ek@sjovik.test",
     .priv = "bengt.ek@example.net", .routing = "bengt.ek@example.net",
     .roles = "fortroendevald", .myn = "BN", .fullmakt = false},
    {.dn = P("cecilia.berg"), .login = "cecilia.berg", .name = "Cecilia Berg",
     .mail = "cecilia.berg@sjovik.test", .priv = "cecilia@example.org",
     .roles = "fortroendevald", .myn = "SN", .fullmakt = true},
    {.dn = P("david.holm"), .login = "david.holm", .name = "David Holm",
     .mail = "david.holm@sjovik.test", .roles = "fortroendevald", .myn = "KS,BUN",
     .fullmakt = false},
    {.dn = P("lena.gustafsson"), .login = "lena.gustafsson", .name = "Lena Gustafsson",
     .mail = "lena.gustafsson@sjovik.test", .roles = "tjansteman", .myn = "SN",
     .fullmakt = true},
    {.dn = P("erik.sjoberg"), .login = "erik.sjoberg", .name = "Erik Sjöberg",
     .mail = "erik.sjoberg@sjovik.test", .roles = "tjansteman", .myn = "BN", .fullmakt = true,
     .manager = P("maja.lund")},
    {.dn = P("maja.lund"), .login = "maja.lund", .name = "Maja Lund",
     .mail = "maja.lund@sjovik.test", .roles = "tjansteman", .myn = "BN", .fullmakt = true},
    {.dn = P("fatima.nilsson"), .login = "fatima.nilsson", .name = "Fatima Nilsson",
     .mail = "fatima.nilsson@sjovik.test", .roles = "tjansteman", .myn = "SN",
     .fullmakt = false, .from = "20261116000000Z", .until = "20261129235959Z",
     .manager = P("lena.gustafsson")},
    {.dn = P("goran.nordstrom"), .login = "goran.nordstrom", .name = "Göran Nordström",
     .mail = "goran.nordstrom@sjovik.test", .roles = "tjansteman", .myn = "KS",
     .fullmakt = true, .comm = true},
    {.dn = P("helena.strom"), .login = "helena.strom", .name = "Helena Ström",
     .mail = "helena.strom@sjovik.test", .roles = "tjansteman", .myn = "KS", .fullmakt = true},
    {.dn = P("olof.persson"), .login = "olof.persson", .name = "Olof Persson",
     .mail = "olof.persson@sjovik.test", .roles = "tjansteman", .myn = "SN", .fullmakt = true},
    {.dn = P("ivan.petrov"), .login = "ivan.petrov", .name = "Ivan Petrov",
     .mail = "ivan.petrov@sjovik.test", .roles = "tjansteman", .myn = "BUN", .fullmakt = true,
     .from = "20261120000000Z", .until = "20261206235959Z", .delegate = P("jonas.alm"),
     .manager = P("sara.olsson")},
    {.dn = P("jonas.alm"), .login = "jonas.alm", .name = "Jonas Alm",
     .mail = "jonas.alm@sjovik.test", .roles = "tjansteman", .myn = "BUN", .fullmakt = false,
     .manager = P("sara.olsson")},
    {.dn = P("sara.olsson"), .login = "sara.olsson", .name = "Sara Olsson",
     .mail = "sara.olsson@sjovik.test", .roles = "tjansteman", .myn = "BUN", .fullmakt = true},
    {.dn = P("karin.wall"), .login = "karin.wall", .name = "Karin Wall",
     .mail = "karin.wall@sjovik.test", .roles = "tjansteman", .myn = "KS", .fullmakt = false},
    {.dn = B("registrator"), .name = "registrator", .mail = "registrator@sjovik.test",
     .roles = "registrator,funktionsbrevlada", .myn = "KS,BN,BUN"},
    {.dn = B("sn-registrator"), .name = "sn-registrator", .mail = "sn-registrator@sjovik.test",
     .roles = "registrator,funktionsbrevlada", .myn = "SN"},
    {.dn = B("bygglov"), .name = "bygglov", .mail = "bygglov@sjovik.test",
     .roles = "funktionsbrevlada", .myn = "BN"},
    {.dn = B("socialforvaltningen"), .name = "socialforvaltningen",
     .mail = "socialforvaltningen@sjovik.test", .roles = "forvaltningsbrevlada", .myn = "SN"},
    {.dn = B("kommun"), .name = "kommun", .mail = "kommun@sjovik.test",
     .roles = "funktionsbrevlada", .myn = "KS"},
    {.dn = B("skolan"), .name = "skolan", .mail = "norrbyskola@sjovik.test",
     .roles = "funktionsbrevlada", .myn = "BUN"},
    {.dn = G("alla"), .name = "alla", .mail = "alla@sjovik.test", .roles = "lista"},
    {.dn = G("politiker"), .name = "politiker", .mail = "politiker@sjovik.test",
     .roles = "lista"},
};

static struct {
    dm_conf *conf;
    dm_policy *pol;
    dm_case_index *cases;
    dm_registrars *regs;
    GPtrArray *dir; /* dm_entry * */
} W;

static char **split_or_null(const char *s)
{
    char **v;

    if (s == NULL)
        return NULL;
    v = g_strsplit(s, ",", -1);
    for (char **p = v; *p != NULL; p++)
        g_strstrip(*p);
    return v;
}

static const spec *spec_by_dn(const char *dn)
{
    for (size_t i = 0; i < G_N_ELEMENTS(fixture); i++) {
        if (strcmp(fixture[i].dn, dn) == 0)
            return &fixture[i];
    }
    return NULL;
}

/* One entry as ldap/ would deliver it. */
static dm_entry *entry_from_spec(const spec *s)
{
    dm_entry *e = dm_entry_new();
    char **roles = split_or_null(s->roles);

    e->dn = g_strdup(s->dn);
    e->name = g_strdup(s->name);
    e->login = g_strdup(s->login);
    e->mail = g_ascii_strdown(s->mail, -1);
    e->private_mail = split_or_null(s->priv);
    e->routing = g_strdup(s->routing);
    for (char **r = roles; r != NULL && *r != NULL; r++) {
        unsigned bit = dm_role_from_name(*r);
        assert_true(bit != 0);
        e->roles |= bit;
    }
    g_strfreev(roles);
    e->myndigheter = split_or_null(s->myn);
    e->fullmakt = s->fullmakt;
    if (s->from != NULL)
        assert_true(dm_time_parse_generalized(s->from, &e->absent_from));
    if (s->until != NULL)
        assert_true(dm_time_parse_generalized(s->until, &e->absent_until));
    if (s->delegate != NULL) {
        e->delegate_dn = g_strdup(s->delegate);
        e->delegate_mail = g_strdup(spec_by_dn(s->delegate)->mail);
    }
    if (s->manager != NULL) {
        e->manager_dn = g_strdup(s->manager);
        e->manager_mail = g_strdup(spec_by_dn(s->manager)->mail);
    }
    e->comm_member = s->comm;
    return e;
}

/* A fixture entry by uid or cn, as a new, changeable copy. */
static dm_entry *entry_copy(const char *dn)
{
    const spec *s = spec_by_dn(dn);

    assert_non_null(s);
    return entry_from_spec(s);
}

static dm_entry *dir_lookup_addr(const char *addr, dm_entry *extra)
{
    if (extra != NULL) {
        if (strcmp(extra->mail, addr) == 0)
            return extra;
        for (char **p = extra->private_mail; p != NULL && *p != NULL; p++) {
            if (strcmp(*p, addr) == 0)
                return extra;
        }
    }
    for (guint i = 0; i < W.dir->len; i++) {
        dm_entry *e = g_ptr_array_index(W.dir, i);
        if (strcmp(e->mail, addr) == 0)
            return e;
        for (char **p = e->private_mail; p != NULL && *p != NULL; p++) {
            if (strcmp(*p, addr) == 0)
                return e;
        }
    }
    return NULL;
}

static dm_entry *dir_lookup_login(const char *login)
{
    for (guint i = 0; i < W.dir->len; i++) {
        dm_entry *e = g_ptr_array_index(W.dir, i);
        if (e->login != NULL && strcmp(e->login, login) == 0)
            return e;
    }
    return NULL;
}

/* ---- the fixture diarium ----------------------------------------------------- */

/* The fixture's cases, then the extra rows "dnr|myn|status|parties|sek". */
static dm_case_index *load_cases(const char *const *extra)
{
    char *path = dm_test_shared("fixtures/arenden.csv");
    gsize len = 0;
    char *text = dm_test_read(path, &len);
    const char *p = text, *end = text + len;
    GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
    dm_case_index *idx = dm_case_index_new();
    const dm_dnr_parser *parser = dm_policy_dnr_parser(W.pol);

    assert_true(dm_csv_record(&p, end, f)); /* header */
    while (dm_csv_record(&p, end, f)) {
        if (f->len < 6)
            continue;
        assert_true(dm_case_index_add(idx, parser, g_ptr_array_index(f, 0),
                                      g_ptr_array_index(f, 1), g_ptr_array_index(f, 2),
                                      g_ptr_array_index(f, 3), g_ptr_array_index(f, 4),
                                      strcmp(g_ptr_array_index(f, 5), "ja") == 0));
    }
    for (const char *const *x = extra; x != NULL && *x != NULL; x++) {
        char **c = g_strsplit(*x, "|", -1);
        assert_true(dm_case_index_add(idx, parser, c[0], c[1], "extra", c[2], c[3],
                                      strcmp(c[4], "ja") == 0));
        g_strfreev(c);
    }
    g_ptr_array_free(f, TRUE);
    g_free(text);
    g_free(path);
    return idx;
}

static int group_setup(void **state)
{
    GError *err = NULL;

    (void)state;
    W.conf = dm_conf_new_defaults();
    g_strfreev(W.conf->party_domains);
    W.conf->party_domains = g_strsplit("parti-a.example,parti-b.example", ",", -1);
    g_free(W.conf->comm_group);
    W.conf->comm_group = g_strdup(COMM_GROUP);
    g_free(W.conf->intranet);
    W.conf->intranet = g_strdup(INTRANET);
    g_free(W.conf->rules_file);
    W.conf->rules_file = dm_test_path("etc/rules.conf");
    g_free(W.conf->templates);
    W.conf->templates = dm_test_path("etc/templates");
    W.pol = dm_policy_new(W.conf, &err);
    if (W.pol == NULL) {
        fprintf(stderr, "policy: %s\n", err->message);
        g_error_free(err);
        return -1;
    }
    W.dir = g_ptr_array_new_with_free_func((GDestroyNotify)dm_entry_unref);
    W.regs = dm_registrars_new();
    for (size_t i = 0; i < G_N_ELEMENTS(fixture); i++) {
        dm_entry *e = entry_from_spec(&fixture[i]);
        g_ptr_array_add(W.dir, e);
        if (e->roles & DM_ROLE_REGISTRATOR)
            dm_registrars_add(W.regs, e->mail, e->myndigheter);
    }
    W.cases = load_cases(NULL);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_case_index_unref(W.cases);
    dm_registrars_unref(W.regs);
    g_ptr_array_free(W.dir, TRUE);
    dm_policy_free(W.pol);
    dm_conf_unref(W.conf);
    return 0;
}

/* ---- building facts and deciding --------------------------------------------- */

typedef enum {
    MARK_NONE,
    MARK_AUTOREPLY,
    MARK_LIST,
    MARK_BULK,
    MARK_SPAM,
    MARK_REPORT,
} marker;

typedef struct {
    const char *from;    /* envelope sender as the MTA gives it */
    const char *rcpt;    /* comma separated */
    const char *auth;    /* SASL login or NULL */
    const char *now;     /* ISO 8601; default 2026-11-10, before every absence */
    const char *subject;
    const char *text;
    bool internal_net;
    unsigned window;
    const char *autoreply_absent; /* recipients an auto-reply was seen from */
    marker mark;
    dm_entry *extra;     /* an entry that overrides the directory */
    const dm_case_index *cases; /* default: the fixture's */
    bool no_cases, no_registrars, no_msg;
    const dm_policy *pol; /* default: the one from etc/rules.conf */
    const char *lang;     /* the message's language, as mime/ tells it */
    const char *att_name, *att_text; /* an attachment's text (extract/) */
    int att_page;
} req;

static dm_verdict *run(const req *r)
{
    dm_facts f;
    dm_msg *m = dm_msg_new();
    char *from = dm_addr_normalize(r->from);
    char **rc = g_strsplit(r->rcpt, ",", -1);
    size_t n = g_strv_length(rc);
    dm_entry *se;
    dm_verdict *v;

    memset(&f, 0, sizeof f);
    f.env_from = from;
    f.auth = r->auth;
    f.from_internal_network = r->internal_net;
    f.sender.addr = g_strdup(from);
    se = r->auth != NULL ? dir_lookup_login(r->auth) : dir_lookup_addr(from, r->extra);
    f.sender.entry = dm_entry_ref(se);
    f.rcpts = g_new0(dm_party, n > 0 ? n : 1);
    for (size_t i = 0; i < n; i++) {
        f.rcpts[i].addr = dm_addr_normalize(rc[i]);
        f.rcpts[i].entry = dm_entry_ref(dir_lookup_addr(f.rcpts[i].addr, r->extra));
        if (r->autoreply_absent != NULL) {
            char **ar = g_strsplit(r->autoreply_absent, ",", -1);
            f.rcpts[i].autoreply_absent = g_strv_contains((const char *const *)ar,
                                                          f.rcpts[i].addr);
            g_strfreev(ar);
        }
    }
    f.n_rcpts = n;
    f.sender_window_rcpts = r->window;
    assert_true(dm_time_parse_iso8601(r->now ? r->now : "2026-11-10T10:00:00Z", &f.now));
    f.cases = r->no_cases ? NULL : r->cases ? r->cases : W.cases;
    f.registrars = r->no_registrars ? NULL : W.regs;

    g_free(m->subject);
    m->subject = g_strdup(r->subject ? r->subject : "");
    g_string_assign(m->text, r->text ? r->text : "");
    g_free(m->from_addr);
    m->from_addr = g_strdup(from);
    if (r->lang != NULL)
        g_strlcpy(m->lang, r->lang, sizeof m->lang);
    if (r->att_name != NULL) {
        /* The segments as mime/ would cut them: the subject, the body,
         * the attachment's name and its text. */
        dm_segment *g;
        g_ptr_array_add(m->segments, dm_segment_new(DM_SEG_SUBJECT, m->subject, -1));
        g_ptr_array_add(m->segments, dm_segment_new(DM_SEG_BODY, m->text->str, -1));
        g = dm_segment_new(DM_SEG_ATTACHMENT_NAME, r->att_name, -1);
        g->source = g_strdup(r->att_name);
        g_ptr_array_add(m->segments, g);
        g = dm_segment_new(DM_SEG_ATTACHMENT, r->att_text, -1);
        g->source = g_strdup(r->att_name);
        g->page = r->att_page;
        g_ptr_array_add(m->segments, g);
    }
    switch (r->mark) {
    case MARK_NONE: break;
    case MARK_AUTOREPLY:
        m->auto_reply = true;
        m->auto_submitted = g_strdup("auto-replied");
        break;
    case MARK_LIST:
        m->list = true;
        m->list_id = g_strdup("<nyheter.example>");
        break;
    case MARK_BULK: m->bulk = true; break;
    case MARK_SPAM:
        m->spam = true;
        m->spam_header = g_strdup("X-Spam-Flag");
        break;
    case MARK_REPORT:
        m->report = true;
        m->report_type = g_strdup("delivery-status");
        break;
    }
    f.msg = r->no_msg ? NULL : m;

    v = dm_policy_decide(r->pol ? r->pol : W.pol, &f);
    assert_non_null(v);

    for (size_t i = 0; i < n; i++) {
        g_free(f.rcpts[i].addr);
        dm_entry_unref(f.rcpts[i].entry);
    }
    g_free(f.rcpts);
    g_free(f.sender.addr);
    dm_entry_unref(f.sender.entry);
    g_strfreev(rc);
    dm_msg_free(m);
    g_free(from);
    return v;
}

/* Sorted, comma-joined addresses of one action type, "-" for none. */
static gint cmp_str_ptr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *acts(const dm_verdict *v, dm_action_type t)
{
    GPtrArray *a = g_ptr_array_new();
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *x = g_ptr_array_index(v->actions, i);
        if (x->type == t)
            g_ptr_array_add(a, x->to);
    }
    g_ptr_array_sort(a, cmp_str_ptr);
    for (guint i = 0; i < a->len; i++) {
        if (i > 0)
            g_string_append_c(out, ',');
        g_string_append(out, g_ptr_array_index(a, i));
    }
    g_ptr_array_free(a, TRUE);
    if (out->len == 0)
        g_string_append_c(out, '-');
    return g_string_free(out, FALSE);
}

static char *describe(const dm_verdict *v)
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "class=%s sekretess=%d direction=%s reject=%d myndighet=%s "
                              "case=%s\n",
                           dm_class_name(v->klass), v->sekretess,
                           dm_direction_name(v->direction), v->reject,
                           v->myndighet ? v->myndighet : "-", v->case_dnr ? v->case_dnr : "-");
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        g_string_append_printf(s, "  action %s to=%s for=%s\n", dm_action_type_name(a->type),
                               a->to, a->party ? a->party : "-");
    }
    for (guint i = 0; i < v->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(v->reasons, i);
        g_string_append_printf(s, "  reason %s: %s\n", r->rule, r->text);
    }
    return g_string_free(s, FALSE);
}

/* What holds for every verdict, whatever the message. */
static void check_invariants(const dm_verdict *v, const req *r, int line)
{
    char **rc = g_strsplit(r->rcpt, ",", -1);
    const char *bad = NULL;

    if (v->reject && v->actions->len > 0)
        bad = "a rejected message has actions";
    if (v->reject && v->klass != DM_CLASS_NONE)
        bad = "a rejected message has a class";
    if (!v->reject && v->klass == DM_CLASS_NONE)
        bad = "no class without a rejection";
    /* privat/parti: nothing happens (RULES.md section 8). */
    if (dm_class_is_private(v->klass) && v->actions->len > 0)
        bad = "privat/parti with actions";
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        if (a->notice == DM_NOTICE_JUDGE_PRIVATE)
            bad = "a notice asking the person to judge (no rule owes one)";
    }
    if (v->sekretess && v->klass != DM_CLASS_REGISTRERAS)
        bad = "sekretess but not registreras";
    if (v->klass != DM_CLASS_REGISTRERAS &&
        (dm_verdict_count_actions(v, DM_ACT_COPY) > 0 ||
         dm_verdict_count_actions(v, DM_ACT_NOTICE) > 0))
        bad = "copies or notices for a class other than registreras";
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        for (guint j = i + 1; j < v->actions->len; j++) {
            const dm_action *b = g_ptr_array_index(v->actions, j);
            if (a->type == b->type && g_ascii_strcasecmp(a->to, b->to) == 0)
                bad = "the same action twice to one address";
        }
        if (a->type == DM_ACT_COPY) {
            char *to = dm_addr_normalize(a->to);
            for (char **x = rc; *x != NULL; x++) {
                char *n = dm_addr_normalize(*x);
                if (strcmp(n, to) == 0)
                    bad = "a copy to a registrator that is an envelope recipient";
                g_free(n);
            }
            g_free(to);
        }
    }
    g_strfreev(rc);
    if (bad != NULL) {
        char *d = describe(v);
        print_error("line %d: %s\n%s", line, bad, d);
        g_free(d);
        fail();
    }
}

/* "-" for none; klass DM_CLASS_NONE for a rejection. */
static void expect(const dm_verdict *v, const req *r, dm_class klass, bool sekretess,
                   const char *copy, const char *notice, const char *forward,
                   const char *manager, int line)
{
    char *c = acts(v, DM_ACT_COPY), *n = acts(v, DM_ACT_NOTICE), *fw = acts(v, DM_ACT_FORWARD),
         *mg = acts(v, DM_ACT_MANAGER_NOTICE);
    bool ok = v->klass == klass && v->sekretess == sekretess && strcmp(c, copy) == 0 &&
              strcmp(n, notice) == 0 && strcmp(fw, forward) == 0 && strcmp(mg, manager) == 0;

    if (!ok) {
        char *d = describe(v);
        print_error("line %d: want class=%s sekretess=%d copy=%s notice=%s forward=%s "
                    "manager=%s\n got class=%s sekretess=%d copy=%s notice=%s forward=%s "
                    "manager=%s\n%s",
                    line, dm_class_name(klass), sekretess, copy, notice, forward, manager,
                    dm_class_name(v->klass), v->sekretess, c, n, fw, mg, d);
        g_free(d);
    }
    g_free(c);
    g_free(n);
    g_free(fw);
    g_free(mg);
    if (!ok)
        fail();
    check_invariants(v, r, line);
}

/* Decide r and compare; returns nothing, frees the verdict. */
#define DECIDE(r, klass, sek, copy, notice, fwd, mgr)                                        \
    do {                                                                                     \
        dm_verdict *v_ = run(r);                                                             \
        expect(v_, (r), (klass), (sek), (copy), (notice), (fwd), (mgr), __LINE__);           \
        dm_verdict_free(v_);                                                                 \
    } while (0)

#define REG DM_CLASS_REGISTRERAS
#define ALLMAN DM_CLASS_ALLMAN
#define RINGA DM_CLASS_RINGA
#define INTERN DM_CLASS_INTERN
#define PARTI DM_CLASS_PARTI
#define PRIVAT DM_CLASS_PRIVAT

/* Texts whose class the word lists of etc/rules decide. */
#define APPLY_S "Ansökan om bygglov"
#define APPLY_T "Hej! Jag vill ansöka om bygglov för ett garage på min tomt. Mvh"
#define QUESTION_S "Fråga"
#define QUESTION_T "Hej! Vem ansvarar för snöröjningen på Storgatan?"
#define INFO_S "Sammanfattning av studiebesöket"
#define INFO_T "Hej, här kommer en sammanfattning av vårt besök i oktober. Hälsningar"
#define PRIVATE_S "Padel på torsdag?"
#define PRIVATE_T "Ska vi spela padel på torsdag efter jobbet?"
#define PARTY_T "Välkommen till gruppmöte i partilokalen på tisdag kl 18."
#define SEK_S "Behöver hjälp"
#define SEK_T "Jag heter Eva, personnummer 19420821-9826. Jag har fått en stroke och " \
              "behöver hemtjänst och försörjningsstöd."

/* The labels of RULES.md section 7, as a sanity check of the texts. */
static void test_content_classes(void **state)
{
    req r = {.from = "<lotta.h@example.com>", .rcpt = "kommun@sjovik.test"};

    (void)state;
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.subject = QUESTION_S, r.text = QUESTION_T;
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.subject = INFO_S, r.text = INFO_T;
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    r.subject = PRIVATE_S, r.text = PRIVATE_T;
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    r.subject = SEK_S, r.text = SEK_T;
    DECIDE(&r, REG, true, "registrator@sjovik.test", "-", "-", "-");
}

/* ---- section 9: inbound ------------------------------------------------------ */

static void test_inbound_mailboxes(void **state)
{
    req r = {.from = "<Roger.Falk@Example.NET>", .subject = APPLY_S, .text = APPLY_T};
    dm_verdict *v;

    (void)state;
    /* Functional mailbox of KS: copy to KS's registrator. */
    r.rcpt = "<kommun@sjovik.test>";
    v = run(&r);
    expect(v, &r, REG, false, "registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_int_equal(v->direction, DM_DIR_INBOUND);
    assert_string_equal(v->myndighet, "KS");
    dm_verdict_free(v);
    /* Förvaltning mailbox of SN: SN's registrator. */
    r.rcpt = "socialforvaltningen@sjovik.test";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    /* BN and BUN mailboxes share one registrator. */
    r.rcpt = "bygglov@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.rcpt = "norrbyskola@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* Addresses compare without case. */
    r.rcpt = "Bygglov@SJOVIK.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* Not registreras: nothing. */
    r.rcpt = "kommun@sjovik.test", r.subject = INFO_S, r.text = INFO_T;
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
}

static void test_inbound_persons(void **state)
{
    req r = {.from = "kalle.johansson@example.net", .subject = APPLY_S, .text = APPLY_T};
    dm_verdict *v;
    const dm_action *a;

    (void)state;
    /* Politician with fullmakt: copy, and she is told. */
    r.rcpt = "anna.lind@sjovik.test";
    v = run(&r);
    expect(v, &r, REG, false, "registrator@sjovik.test", "anna.lind@sjovik.test", "-", "-",
           __LINE__);
    for (guint i = 0; i < v->actions->len; i++) {
        a = g_ptr_array_index(v->actions, i);
        if (a->type == DM_ACT_NOTICE) {
            assert_int_equal(a->notice, DM_NOTICE_COPIED);
            assert_string_equal(a->party_name, "Anna Lind");
        }
    }
    dm_verdict_free(v);
    /* Cecilia (SN, fullmakt): SN's registrator. */
    r.rcpt = "cecilia.berg@sjovik.test";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "cecilia.berg@sjovik.test", "-", "-");
    /* Tjänsteman with fullmakt: copy, no notice. */
    r.rcpt = "erik.sjoberg@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.rcpt = "lena.gustafsson@sjovik.test";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    /* Without fullmakt (R10): a notice to open it, no copy. */
    r.rcpt = "karin.wall@sjovik.test";
    v = run(&r);
    expect(v, &r, REG, false, "-", "karin.wall@sjovik.test", "-", "-", __LINE__);
    a = g_ptr_array_index(v->actions, 0);
    assert_int_equal(a->notice, DM_NOTICE_REGISTER_INBOUND);
    dm_verdict_free(v);
    r.rcpt = "david.holm@sjovik.test";
    DECIDE(&r, REG, false, "-", "david.holm@sjovik.test", "-", "-");
    /* A notice goes to the mailRoutingAddress. */
    r.rcpt = "bengt.ek@sjovik.test";
    DECIDE(&r, REG, false, "-", "bengt.ek@example.net", "-", "-");
    /* Mixed: each party on its own; the copies merge. */
    r.rcpt = "anna.lind@sjovik.test,karin.wall@sjovik.test,erik.sjoberg@sjovik.test,"
             "bengt.ek@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test",
           "anna.lind@sjovik.test,bengt.ek@example.net,karin.wall@sjovik.test", "-", "-");
    /* An outside recipient beside them changes nothing. */
    r.rcpt = "karin.wall@sjovik.test,someone@example.org";
    DECIDE(&r, REG, false, "-", "karin.wall@sjovik.test", "-", "-");
}

static void test_inbound_private_address(void **state)
{
    req r = {.from = "mikael.hedlund@sjovikbuss.example",
             .subject = "Skolskjutsar",
             .text = "Hej Anna, angående upphandlingen KS 2026/140 har vi en fråga om "
                     "anbudstiden."};

    (void)state;
    /* R2: the private address counts as Anna; the notice goes to her mail. */
    r.rcpt = "anna.lind.privat@example.net";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "anna.lind@sjovik.test", "-", "-");
    /* Both her addresses: one party, one copy, one notice. */
    r.rcpt = "anna.lind@sjovik.test,anna.lind.privat@example.net";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "anna.lind@sjovik.test", "-", "-");
    /* Bengt's private address is also where he reads mail. */
    r.rcpt = "bengt.ek@example.net";
    DECIDE(&r, REG, false, "-", "bengt.ek@example.net", "-", "-");
}

static void test_one_copy_per_registrator(void **state)
{
    req r = {.from = "maria.karlsson@example.org",
             .subject = "Komplettering BN 2026/45",
             .text = "Här kommer ritningarna."};

    (void)state;
    r.rcpt = "bygglov@sjovik.test,erik.sjoberg@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.rcpt = "bygglov@sjovik.test,erik.sjoberg@sjovik.test,maja.lund@sjovik.test,"
             "kommun@sjovik.test,norrbyskola@sjovik.test,anna.lind@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "anna.lind@sjovik.test", "-", "-");
    /* Without a citation each party's own myndighet: two registrators, one
     * copy each. */
    r.subject = APPLY_S, r.text = APPLY_T;
    r.rcpt = "bygglov@sjovik.test,socialforvaltningen@sjovik.test,lena.gustafsson@sjovik.test,"
             "erik.sjoberg@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test,sn-registrator@sjovik.test", "-", "-", "-");
}

static void test_registrator_is_recipient(void **state)
{
    req r = {.from = "sven.aberg@example.net", .subject = APPLY_S, .text = APPLY_T};

    (void)state;
    r.rcpt = "kommun@sjovik.test,registrator@sjovik.test";
    DECIDE(&r, REG, false, "-", "-", "-", "-");
    r.rcpt = "registrator@sjovik.test";
    DECIDE(&r, REG, false, "-", "-", "-", "-");
    r.rcpt = "sn-registrator@sjovik.test";
    DECIDE(&r, REG, false, "-", "-", "-", "-");
    r.rcpt = "REGISTRATOR@sjovik.test,erik.sjoberg@sjovik.test";
    DECIDE(&r, REG, false, "-", "-", "-", "-");
    /* Only the registrator that got it is spared. */
    r.rcpt = "kommun@sjovik.test,sn-registrator@sjovik.test,socialforvaltningen@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A notice is still owed to a person without fullmakt. */
    r.rcpt = "registrator@sjovik.test,karin.wall@sjovik.test";
    DECIDE(&r, REG, false, "-", "karin.wall@sjovik.test", "-", "-");
    /* c024: a request for documents straight to registrator@. */
    r.from = "jane.miller@nordicnews.example";
    r.rcpt = "registrator@sjovik.test";
    r.subject = "Begäran om allmän handling";
    r.text = "Jag begär ut handlingarna i ärende KS 2026/140.";
    DECIDE(&r, REG, false, "-", "-", "-", "-");
}

/* ---- section 9: outbound ------------------------------------------------------ */

static void test_outbound(void **state)
{
    req r = {.now = "2026-11-27T08:34:21Z"};
    dm_verdict *v;

    (void)state;
    /* c054: tjänsteman, expedierad. */
    r.from = "erik.sjoberg@sjovik.test", r.auth = "erik.sjoberg";
    r.rcpt = "maria.karlsson@example.org";
    r.subject = "Sv: BN 2026/45", r.text = "Hej Maria, beslutet bifogas.";
    v = run(&r);
    expect(v, &r, REG, false, "registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_int_equal(v->direction, DM_DIR_OUTBOUND);
    assert_string_equal(v->case_dnr, "BN 2026/45");
    assert_string_equal(v->myndighet, "BN");
    dm_verdict_free(v);
    /* The same sender known by address only. */
    r.auth = NULL;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A tjänsteman without fullmakt still gives a copy. */
    r.from = "karin.wall@sjovik.test", r.auth = "karin.wall";
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* c013: politician with fullmakt: copy, no notice. */
    r.from = "anna.lind@sjovik.test", r.auth = "anna.lind";
    r.rcpt = "per.svensson@example.com";
    r.subject = "Ditt medborgarförslag", r.text = "Hej Per, KS 2026/112 behandlas i december.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* c026: politician without fullmakt: no copy, a notice to where he reads. */
    r.from = "bengt.ek@sjovik.test", r.auth = "bengt.ek";
    r.rcpt = "ulla.bergstrom@example.com";
    r.subject = "Strandskyddet", r.text = "Hej Ulla, om BN 2026/51 kan jag säga att...";
    v = run(&r);
    expect(v, &r, REG, false, "-", "bengt.ek@example.net", "-", "-", __LINE__);
    assert_int_equal(((dm_action *)g_ptr_array_index(v->actions, 0))->notice,
                     DM_NOTICE_REGISTER_OUTBOUND);
    dm_verdict_free(v);
    /* David without fullmakt. */
    r.from = "david.holm@sjovik.test", r.auth = "david.holm";
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "-", "david.holm@sjovik.test", "-", "-");
    /* From a functional mailbox. */
    r.from = "bygglov@sjovik.test", r.auth = NULL;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.from = "socialforvaltningen@sjovik.test";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    /* Not registreras: nothing. */
    r.from = "bengt.ek@sjovik.test", r.auth = "bengt.ek";
    r.subject = INFO_S, r.text = INFO_T;
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
}

/* ---- section 9: internal ----------------------------------------------------- */

static void test_internal_one_myndighet_is_intern(void **state)
{
    req r = {.subject = APPLY_S, .text = APPLY_T};
    dm_verdict *v;

    (void)state;
    /* c005 */
    r.from = "erik.sjoberg@sjovik.test", r.auth = "erik.sjoberg";
    r.rcpt = "maja.lund@sjovik.test,bygglov@sjovik.test";
    v = run(&r);
    expect(v, &r, INTERN, false, "-", "-", "-", "-", __LINE__);
    assert_int_equal(v->direction, DM_DIR_INTERNAL);
    dm_verdict_free(v);
    /* c046: even when a case is cited. */
    r.from = "maja.lund@sjovik.test", r.auth = "maja.lund";
    r.rcpt = "erik.sjoberg@sjovik.test";
    r.subject = "VB: Tillsyn", r.text = "---------- Vidarebefordrat ----------\nÄrende BN 2026/77";
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    /* c022 */
    r.from = "lena.gustafsson@sjovik.test", r.auth = "lena.gustafsson";
    r.rcpt = "olof.persson@sjovik.test";
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    /* A person in several myndigheter shares each of them. */
    r.from = "david.holm@sjovik.test", r.auth = "david.holm";
    r.rcpt = "anna.lind@sjovik.test";
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    r.rcpt = "sara.olsson@sjovik.test,norrbyskola@sjovik.test";
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    r.from = "anna.lind@sjovik.test", r.auth = "anna.lind";
    r.rcpt = "david.holm@sjovik.test,kommun@sjovik.test,karin.wall@sjovik.test";
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    /* The registrator mailbox shares KS, BN and BUN. */
    r.from = "erik.sjoberg@sjovik.test", r.auth = "erik.sjoberg";
    r.rcpt = "registrator@sjovik.test";
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    /* Private content stays privat, not intern. */
    r.rcpt = "maja.lund@sjovik.test";
    r.subject = PRIVATE_S, r.text = PRIVATE_T;
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
}

static void test_internal_between_myndigheter(void **state)
{
    req r = {.subject = APPLY_S, .text = APPLY_T};
    dm_verdict *v;

    (void)state;
    /* c033: BN staff to SN staff, no case in the diarium: each party's own
     * myndighet. */
    r.from = "erik.sjoberg@sjovik.test", r.auth = "erik.sjoberg";
    r.rcpt = "lena.gustafsson@sjovik.test";
    r.subject = "Remiss BN 2026/88", r.text = "Hej Lena, vi önskar ert yttrande.";
    v = run(&r);
    expect(v, &r, REG, false, "registrator@sjovik.test,sn-registrator@sjovik.test", "-", "-",
           "-", __LINE__);
    assert_int_equal(v->direction, DM_DIR_INTERNAL);
    dm_verdict_free(v);
    /* c037: KS staff to BN staff citing a BN case: one copy. */
    r.from = "goran.nordstrom@sjovik.test", r.auth = "goran.nordstrom";
    r.rcpt = "maja.lund@sjovik.test";
    r.subject = "Tillsyn Tallbacken", r.text = "Ang. BN 2026/77: pressfrågor har kommit.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A tjänsteman without fullmakt as sender: still a copy for her. */
    r.from = "fatima.nilsson@sjovik.test", r.auth = "fatima.nilsson";
    r.now = "2026-12-01T09:00:00Z";
    r.rcpt = "erik.sjoberg@sjovik.test";
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "registrator@sjovik.test,sn-registrator@sjovik.test", "-", "-", "-");
    /* Politician without fullmakt as sender: a notice to him. */
    r.from = "david.holm@sjovik.test", r.auth = "david.holm";
    r.rcpt = "erik.sjoberg@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "david.holm@sjovik.test", "-", "-");
    r.from = "bengt.ek@sjovik.test", r.auth = "bengt.ek";
    r.rcpt = "lena.gustafsson@sjovik.test";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "bengt.ek@example.net", "-", "-");
    /* Recipient without fullmakt in another myndighet: notice, and the
     * sender's copy. */
    r.from = "lena.gustafsson@sjovik.test", r.auth = "lena.gustafsson";
    r.rcpt = "karin.wall@sjovik.test";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "karin.wall@sjovik.test", "-", "-");
}

/* The sender's own copy or notice is owed only when a recipient is outside
 * or shares no myndighet with the sender. */
static void test_internal_sender_condition(void **state)
{
    req r = {.subject = APPLY_S, .text = APPLY_T};
    dm_verdict *v;

    (void)state;
    /* David (KS, BUN) to Anna (KS) and Sara (BUN): no single myndighet
     * for all, so not intern, but each recipient shares one with him: no
     * notice for David. */
    r.from = "david.holm@sjovik.test", r.auth = "david.holm";
    r.rcpt = "anna.lind@sjovik.test,sara.olsson@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "anna.lind@sjovik.test", "-", "-");
    /* The same with an outside recipient: now David is told. */
    r.rcpt = "anna.lind@sjovik.test,sara.olsson@sjovik.test,medborgare@example.com";
    DECIDE(&r, REG, false, "registrator@sjovik.test",
           "anna.lind@sjovik.test,david.holm@sjovik.test", "-", "-");
    /* One myndighet plus an outside recipient: not intern; the sender's
     * copy and the colleague's merge. */
    r.from = "erik.sjoberg@sjovik.test", r.auth = "erik.sjoberg";
    r.rcpt = "maja.lund@sjovik.test,arkitekt@ritbyran.example";
    v = run(&r);
    expect(v, &r, REG, false, "registrator@sjovik.test", "-", "-", "-", __LINE__);
    /* Internal sender, a recipient outside: outbound. */
    assert_int_equal(v->direction, DM_DIR_OUTBOUND);
    dm_verdict_free(v);
    r.from = "lena.gustafsson@sjovik.test", r.auth = "lena.gustafsson";
    r.rcpt = "olof.persson@sjovik.test,vardcentralen.norrby@region.example";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
}

/* A mass list is a party outside every myndighet. */
static void test_list_never_intern(void **state)
{
    req r = {.from = "goran.nordstrom@sjovik.test", .auth = "goran.nordstrom"};
    dm_verdict *v;

    (void)state;
    r.rcpt = "alla@sjovik.test";
    r.subject = INFO_S, r.text = INFO_T;
    v = run(&r);
    expect(v, &r, ALLMAN, false, "-", "-", "-", "-", __LINE__);
    assert_false(v->reject);
    dm_verdict_free(v);
    r.rcpt = "helena.strom@sjovik.test,alla@sjovik.test";
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    /* Registreras to a list: the list is "outside", so the sender's copy. */
    r.rcpt = "alla@sjovik.test";
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* Without the list the same colleagues are intern. */
    r.rcpt = "helena.strom@sjovik.test";
    r.subject = INFO_S, r.text = INFO_T;
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    /* A sender who did not submit (no auth, not internal network): not a
     * mass mailing, and still not intern. */
    r.from = "karin.wall@sjovik.test", r.auth = NULL;
    r.rcpt = "politiker@sjovik.test";
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
}

/* ---- myndighet concerned ---------------------------------------------------- */

static void test_myndighet_concerned(void **state)
{
    static const char *const extra[] = {"SN 2026/250|SN|pågående||nej",
                                        "BUN 2026/60|BUN|avslutat||nej", NULL};
    dm_case_index *idx = load_cases(extra);
    req r = {.from = "elin.bjork@example.net", .rcpt = "kommun@sjovik.test", .cases = idx};
    dm_verdict *v;

    (void)state;
    /* An SN case cited to the KS mailbox: SN's registrator. */
    r.subject = "Synpunkt", r.text = "Jag har synpunkter på handläggningen av SN 2026/250.";
    v = run(&r);
    expect(v, &r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_string_equal(v->case_dnr, "SN 2026/250");
    assert_string_equal(v->myndighet, "SN");
    dm_verdict_free(v);
    /* Written another way, in lower case: the index knows SN. */
    r.text = "Gäller sn-2026-250.";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    /* The first cited case in the index: the subject first. */
    r.subject = "Ang. SN 2026/250", r.text = "Se även KS 2026/112.";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    r.subject = "Ang. KS 2026/112", r.text = "Se även SN 2026/250.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* Then the text parts in order. */
    r.subject = "Synpunkt", r.text = "Först SN 2026/250, sedan BN 2026/45.";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    /* A number not in the diarium does not count. */
    r.subject = "Ang. BN 2026/88", r.text = "och SN 2026/250";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    /* A closed case counts. */
    r.rcpt = "socialforvaltningen@sjovik.test";
    r.subject = "Skolskjuts", r.text = "Angående BUN 2026/60 vill jag lämna en synpunkt.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* For every kind of party: a person with fullmakt, the sender. */
    r.rcpt = "erik.sjoberg@sjovik.test";
    r.subject = "Synpunkt", r.text = "Om SN 2026/250.";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    r.from = "erik.sjoberg@sjovik.test", r.auth = "erik.sjoberg";
    r.rcpt = "medborgare@example.com";
    DECIDE(&r, REG, false, "sn-registrator@sjovik.test", "-", "-", "-");
    dm_case_index_unref(idx);
}

/* ---- privat and parti -------------------------------------------------------- */

static void test_privat_parti_untouched(void **state)
{
    req r = {0};
    dm_entry *bengt = entry_copy(P("bengt.ek"));

    (void)state;
    /* c025: private content to a politician with fullmakt. */
    r.from = "birgitta.lind@example.com", r.rcpt = "anna.lind@sjovik.test";
    r.subject = "Söndagsmiddag", r.text = "Välkommen på middag på söndag! Kram";
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    /* c031: from the party to a politician. */
    r.from = "kansli@parti-a.example", r.rcpt = "anna.lind@sjovik.test";
    r.subject = "Gruppmöte", r.text = PARTY_T;
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    /* The party domain alone decides (rules.conf: "without any of these
     * words"), even for ordinary-looking content. */
    r.subject = INFO_S, r.text = INFO_T;
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    r.from = "kansli@PARTI-B.example";
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    r.subject = "Gruppmöte", r.text = PARTY_T;
    /* c041: no notice although David lacks fullmakt. */
    r.from = "valberedning@parti-b.example", r.rcpt = "david.holm@sjovik.test";
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    /* c056: to a politician's private address. */
    r.from = "kansli@parti-a.example", r.rcpt = "cecilia@example.org";
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    /* Party words from anyone to a politician. */
    r.from = "ingrid.sandberg@example.com", r.rcpt = "cecilia.berg@sjovik.test";
    r.subject = "Torgmöte", r.text = "Partiets medlemsmöte om valrörelsen, kommer du?";
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    /* Party mail to a tjänsteman is privat. */
    r.from = "kansli@parti-a.example", r.rcpt = "karin.wall@sjovik.test";
    r.subject = "Gruppmöte", r.text = PARTY_T;
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    /* c057, c058: privat to absent people: no forward, no manager notice. */
    r.from = "amina.n@example.net", r.rcpt = "fatima.nilsson@sjovik.test";
    r.now = "2026-11-27T19:05:18Z";
    r.subject = "Grattis på födelsedagen", r.text = "Grattis på födelsedagen! Kram från syster";
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    r.rcpt = "ivan.petrov@sjovik.test";
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    /* Parti to an absent politician with a delegate: no forward. */
    bengt->absent_from = 1794787200;  /* 2026-11-16 */
    bengt->absent_until = 1795996799; /* 2026-11-29 */
    bengt->delegate_dn = g_strdup(P("anna.lind"));
    bengt->delegate_mail = g_strdup("anna.lind@sjovik.test");
    r.extra = bengt;
    r.from = "kansli@parti-b.example", r.rcpt = "bengt.ek@sjovik.test";
    r.subject = "Gruppmöte", r.text = PARTY_T;
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    /* The same politician absent, with ordinary mail: forwarded. */
    r.from = "medborgare@example.com";
    r.subject = INFO_S, r.text = INFO_T;
    DECIDE(&r, ALLMAN, false, "-", "-", "anna.lind@sjovik.test", "-");
    dm_entry_unref(bengt);
}

/* ---- absence ------------------------------------------------------------------ */

static void test_absence(void **state)
{
    req r = {.from = "emma.sjoholm@example.com", .rcpt = "ivan.petrov@sjovik.test"};
    dm_verdict *v;

    (void)state;
    /* Ivan: fullmakt, delegate Jonas, absent 2026-11-20..12-06. */
    r.now = "2026-11-25T10:00:00Z";
    r.subject = APPLY_S, r.text = APPLY_T;
    v = run(&r);
    expect(v, &r, REG, false, "registrator@sjovik.test", "-", "jonas.alm@sjovik.test", "-",
           __LINE__);
    dm_verdict_free(v);
    r.subject = QUESTION_S, r.text = QUESTION_T;
    DECIDE(&r, RINGA, false, "-", "-", "jonas.alm@sjovik.test", "-");
    r.subject = INFO_S, r.text = INFO_T;
    DECIDE(&r, ALLMAN, false, "-", "-", "jonas.alm@sjovik.test", "-");
    /* c060: intern mail is forwarded too. */
    r.from = "sara.olsson@sjovik.test", r.auth = "sara.olsson";
    r.now = "2026-11-30T07:55:24Z";
    r.subject = "Planering", r.text = "Hej Ivan, vi ses på måndag för planeringen.";
    DECIDE(&r, INTERN, false, "-", "-", "jonas.alm@sjovik.test", "-");
    r.auth = NULL;
    /* Before and after the dates: nothing. */
    r.from = "peter.wikstrom@example.org";
    r.subject = QUESTION_S, r.text = QUESTION_T;
    r.now = "2026-11-19T23:59:59Z";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.now = "2026-11-20T00:00:00Z";
    DECIDE(&r, RINGA, false, "-", "-", "jonas.alm@sjovik.test", "-");
    r.now = "2026-12-06T23:59:59Z";
    DECIDE(&r, RINGA, false, "-", "-", "jonas.alm@sjovik.test", "-");
    r.now = "2026-12-07T00:00:00Z";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* c063: after the absence, only the copy. */
    r.now = "2026-12-08T07:20:45Z";
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");

    /* Fatima: no fullmakt, no delegate, manager Lena, absent 11-16..11-29. */
    r.rcpt = "fatima.nilsson@sjovik.test";
    r.subject = QUESTION_S, r.text = QUESTION_T;
    r.now = "2026-11-19T09:50:35Z"; /* c016 */
    v = run(&r);
    expect(v, &r, RINGA, false, "-", "-", "-", "lena.gustafsson@sjovik.test", __LINE__);
    assert_int_equal(((dm_action *)g_ptr_array_index(v->actions, 0))->notice,
                     DM_NOTICE_UNWATCHED);
    dm_verdict_free(v);
    r.now = "2026-11-16T00:00:00Z";
    DECIDE(&r, RINGA, false, "-", "-", "-", "lena.gustafsson@sjovik.test");
    r.now = "2026-11-29T23:59:59Z";
    DECIDE(&r, RINGA, false, "-", "-", "-", "lena.gustafsson@sjovik.test");
    r.now = "2026-11-15T23:59:59Z";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.now = "2026-11-30T08:15:40Z"; /* c061: the absence ended */
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* c038: sekretess to Fatima while absent: her notice and the manager's. */
    r.now = "2026-11-24T13:40:27Z";
    r.from = "anneli.forsberg@region.example";
    r.subject = "Orosanmälan", r.text = "Orosanmälan gällande barnet 20190903-9834 som har "
                                        "blåmärken och behöver behandling.";
    DECIDE(&r, REG, true, "-", "fatima.nilsson@sjovik.test", "-",
           "lena.gustafsson@sjovik.test");
    /* c048: from outside to many, two of them absent. */
    r.now = "2026-11-26T07:00:18Z";
    r.from = "erbjudande@kontorsmobler.example";
    r.rcpt = "erik.sjoberg@sjovik.test,maja.lund@sjovik.test,fatima.nilsson@sjovik.test,"
             "ivan.petrov@sjovik.test,jonas.alm@sjovik.test";
    r.subject = "Erbjudande", r.text = "Nyhetsbrev";
    r.mark = MARK_BULK;
    DECIDE(&r, RINGA, false, "-", "-", "jonas.alm@sjovik.test", "lena.gustafsson@sjovik.test");
    /* A mailbox has no absence. */
    r.mark = MARK_NONE;
    r.rcpt = "norrbyskola@sjovik.test";
    r.subject = QUESTION_S, r.text = QUESTION_T;
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
}

static void test_absence_fullmakt_and_autoreply(void **state)
{
    dm_entry *erik = entry_copy(P("erik.sjoberg"));
    req r = {.from = "medborgare@example.com", .now = "2026-11-25T10:00:00Z"};

    (void)state;
    /* Absent with fullmakt and no delegate: the registrator may open the
     * mail, so no manager notice. */
    erik->absent_from = 1794787200;
    erik->absent_until = 1796601599;
    r.extra = erik;
    r.rcpt = "erik.sjoberg@sjovik.test";
    r.subject = QUESTION_S, r.text = QUESTION_T;
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.extra = NULL;

    /* An auto-reply seen from a person marks them absent: Jonas has no
     * fullmakt and no delegate, so his manager is told. */
    r.rcpt = "jonas.alm@sjovik.test";
    r.subject = QUESTION_S, r.text = QUESTION_T;
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.autoreply_absent = "jonas.alm@sjovik.test";
    DECIDE(&r, RINGA, false, "-", "-", "-", "sara.olsson@sjovik.test");
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, REG, false, "-", "jonas.alm@sjovik.test", "-", "sara.olsson@sjovik.test");
    /* Not for privat mail. */
    r.subject = PRIVATE_S, r.text = PRIVATE_T;
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    dm_entry_unref(erik);
}

/* The addresses of one action type the request gets. */
#define CHECK_ACT(rq, type, want)                                                  \
    do {                                                                           \
        dm_verdict *v_ = run(rq);                                                  \
        char *a_ = acts(v_, type);                                                 \
        if (strcmp(a_, want) != 0) {                                               \
            char *d_ = describe(v_);                                               \
            fail_msg("line %d: %s: got %s, want %s\n%s", __LINE__, #type, a_, want, d_); \
        }                                                                          \
        g_free(a_);                                                                \
        dm_verdict_free(v_);                                                       \
    } while (0)

/* R13's reminder: an auto-reply leaving from a person that names no one
 * else to contact. */
static void test_autoreply_reminder(void **state)
{
    static const struct {
        const char *text;
        bool reminder;
    } cases[] = {
        {"Jag är ledig till och med 2026-12-06 och läser inte min e-post.", true},
        {"Jag är på semester vecka 48. Hälsningar Jonas", true},
        /* His own addresses and the person answered are no contacts. */
        {"Jag är ledig. Skriv till jonas.alm@sjovik.test efter den 7 december.", true},
        {"Ditt brev från lisa.ahmed@example.com har kommit fram; jag är ledig.", true},
        /* Dates, times, case and personnummer-like numbers are no phones. */
        {"Ledig 2026-11-23--2026-12-06, åter kl 08.00. Gäller BUN 2026/33.", true},
        {"Kontakta Sara Olsson, sara.olsson@sjovik.test, under tiden.", false},
        {"Ring växeln på 0411-12 34 00 under min frånvaro.", false},
        {"Brådskande? Ring 070-123 45 67.", false},
        {"Vid frågor: +46 411 123 400.", false},
        {"Vänd dig till skolans expedition, expedition@norrby.sjovik.test.", false},
    };
    req r = {.from = "", .rcpt = "lisa.ahmed@example.com", .auth = "jonas.alm",
             .mark = MARK_AUTOREPLY, .subject = "Frånvaro: Min ansökan"};

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        dm_verdict *v;
        char *got;

        r.text = cases[i].text;
        v = run(&r);
        got = acts(v, DM_ACT_AUTOREPLY_REMINDER);
        if (strcmp(got, cases[i].reminder ? "jonas.alm@sjovik.test" : "-") != 0) {
            char *d = describe(v);
            fail_msg("case %zu (%s): reminder %s\n%s", i, cases[i].text, got, d);
        }
        if (cases[i].reminder) {
            const dm_action *a = NULL;
            for (guint j = 0; j < v->actions->len; j++)
                if (((dm_action *)g_ptr_array_index(v->actions, j))->type ==
                    DM_ACT_AUTOREPLY_REMINDER)
                    a = g_ptr_array_index(v->actions, j);
            assert_non_null(a);
            assert_int_equal(a->notice, DM_NOTICE_AUTOREPLY);
            assert_string_equal(a->party, "jonas.alm@sjovik.test");
        }
        g_free(got);
        dm_verdict_free(v);
    }

    /* Not an auto-reply, or not from the municipality's own submission:
     * no reminder. */
    r.text = cases[0].text;
    r.mark = MARK_NONE;
    CHECK_ACT(&r, DM_ACT_AUTOREPLY_REMINDER, "-");
    r.mark = MARK_AUTOREPLY;
    r.auth = NULL;
    r.from = "jonas.alm@sjovik.test";
    CHECK_ACT(&r, DM_ACT_AUTOREPLY_REMINDER, "-");
    r.internal_net = true;
    CHECK_ACT(&r, DM_ACT_AUTOREPLY_REMINDER, "jonas.alm@sjovik.test");
    /* A mailbox's auto-reply ("we received your message") is no absence. */
    r.from = "kommun@sjovik.test";
    CHECK_ACT(&r, DM_ACT_AUTOREPLY_REMINDER, "-");
}

/* ---- mass mailing (R14) ----------------------------------------------------- */

/* n recipients "p1@sjovik.test", ... (new string). */
static char *many(int n, const char *first)
{
    GString *s = g_string_new(first);

    for (int i = 1; i <= n - (first != NULL ? 1 : 0); i++) {
        if (s->len > 0)
            g_string_append_c(s, ',');
        g_string_append_printf(s, "person%d@sjovik.test", i);
    }
    return g_string_free(s, FALSE);
}

static void expect_reject(const req *r, int line)
{
    dm_verdict *v = run(r);

    if (!v->reject) {
        char *d = describe(v);
        print_error("line %d: not rejected\n%s", line, d);
        g_free(d);
        fail();
    }
    assert_int_equal(v->klass, DM_CLASS_NONE);
    assert_string_equal(v->reject_code, "550");
    assert_string_equal(v->reject_xcode, "5.7.1");
    assert_non_null(v->reject_text);
    /* Says why, points to the intranet, and is fit for an SMTP reply. */
    assert_non_null(strstr(v->reject_text, INTRANET));
    assert_non_null(strstr(v->reject_text, "R14"));
    for (const char *p = v->reject_text; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            print_error("line %d: reject text not printable ASCII: %s\n", line, v->reject_text);
            fail();
        }
    }
    assert_int_equal(v->actions->len, 0);
    assert_true(v->reasons->len > 0);
    assert_string_equal(((dm_reason *)g_ptr_array_index(v->reasons, 0))->rule, "R14");
    check_invariants(v, r, line);
    dm_verdict_free(v);
}

static void expect_no_reject(const req *r, int line)
{
    dm_verdict *v = run(r);

    if (v->reject) {
        char *d = describe(v);
        print_error("line %d: rejected\n%s", line, d);
        g_free(d);
        fail();
    }
    assert_true(v->klass != DM_CLASS_NONE);
    check_invariants(v, r, line);
    dm_verdict_free(v);
}

static void test_mass_mailing(void **state)
{
    req r = {.subject = INFO_S, .text = INFO_T, .now = "2026-11-23T15:10:37Z"};
    char *rc20 = many(20, NULL), *rc19 = many(19, NULL), *rc26 = many(26, "ivan.petrov@sjovik.test");

    (void)state;
    /* c008: to a list, by someone outside kommunikationsenheten. */
    r.from = "karin.wall@sjovik.test", r.auth = "karin.wall", r.rcpt = "alla@sjovik.test";
    expect_reject(&r, __LINE__);
    r.rcpt = "politiker@sjovik.test";
    expect_reject(&r, __LINE__);
    /* A list among other recipients. */
    r.rcpt = "helena.strom@sjovik.test,alla@sjovik.test";
    expect_reject(&r, __LINE__);
    /* Whatever the content: nothing else happens (no copy for an application). */
    r.subject = APPLY_S, r.text = APPLY_T;
    expect_reject(&r, __LINE__);
    r.subject = INFO_S, r.text = INFO_T;
    /* Submitted from the internal networks without a login. */
    r.auth = NULL, r.internal_net = true, r.rcpt = "alla@sjovik.test";
    expect_reject(&r, __LINE__);
    /* Neither logged in nor from the internal networks: not a submission. */
    r.internal_net = false;
    expect_no_reject(&r, __LINE__);
    /* c035: 26 recipients, absence irrelevant. */
    r.from = "sara.olsson@sjovik.test", r.auth = "sara.olsson", r.rcpt = rc26;
    expect_reject(&r, __LINE__);
    /* The threshold: 20 is a mass mailing, 19 is not. */
    r.rcpt = rc20;
    expect_reject(&r, __LINE__);
    r.rcpt = rc19;
    expect_no_reject(&r, __LINE__);
    /* Many recipients within the window. */
    r.rcpt = "medborgare@example.com";
    r.window = 100;
    expect_reject(&r, __LINE__);
    r.window = 99;
    expect_no_reject(&r, __LINE__);
    r.window = 0;
    /* c044: kommunikationsenheten may. */
    r.from = "goran.nordstrom@sjovik.test", r.auth = "goran.nordstrom";
    r.rcpt = "alla@sjovik.test";
    expect_no_reject(&r, __LINE__);
    r.rcpt = rc26;
    expect_no_reject(&r, __LINE__);
    r.rcpt = "alla@sjovik.test", r.window = 500;
    expect_no_reject(&r, __LINE__);
    r.window = 0;
    /* c021, c048: mail from outside binds nobody. */
    r.from = "inbjudan@offentligaforum.example", r.auth = NULL;
    r.rcpt = "politiker@sjovik.test";
    expect_no_reject(&r, __LINE__);
    r.rcpt = rc26;
    r.now = "2026-11-26T07:00:18Z";
    {
        dm_verdict *v = run(&r);
        assert_false(v->reject);
        /* Inbound like any other: Ivan's absence applies. */
        assert_true(dm_verdict_has_action(v, DM_ACT_FORWARD, "jonas.alm@sjovik.test"));
        dm_verdict_free(v);
    }
    /* Even a logged-in outsider (no directory entry) is not bound. */
    r.auth = "nobody";
    r.rcpt = "alla@sjovik.test";
    expect_no_reject(&r, __LINE__);
    g_free(rc20);
    g_free(rc19);
    g_free(rc26);
}

static void test_mass_check_direct(void **state)
{
    dm_conf *conf = dm_conf_new_defaults();
    dm_policy *pol;
    GError *err = NULL;
    req r = {.subject = INFO_S, .text = INFO_T};
    dm_verdict *v;
    dm_facts f;
    dm_party rc[1];

    (void)state;
    /* Configured mass-list addresses, English texts, a lower threshold. */
    g_strfreev(conf->mass_list_addresses);
    conf->mass_list_addresses = g_strsplit("Nyhetsbrev@sjovik.test", ",", -1);
    conf->language = DM_LANG_EN;
    conf->mass_recipients = 3;
    g_free(conf->rules_file);
    conf->rules_file = dm_test_path("etc/rules.conf");
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");
    pol = dm_policy_new(conf, &err);
    assert_non_null(pol);
    r.pol = pol;
    r.from = "karin.wall@sjovik.test", r.auth = "karin.wall";
    r.rcpt = "nyhetsbrev@sjovik.test";
    v = run(&r);
    assert_true(v->reject);
    /* The reply and the reason in the site's language (templates/en). */
    assert_string_equal(v->reject_text,
                        "Mass mailing (to the list nyhetsbrev@sjovik.test) may only be sent by "
                        "the communications unit (e-mail guidelines, R14). Information for "
                        "many employees goes on the intranet first.");
    assert_string_equal(((dm_reason *)g_ptr_array_index(v->reasons, 0))->text,
                        "mass mailing to the list nyhetsbrev@sjovik.test from "
                        "karin.wall@sjovik.test, who is not in the communications unit");
    dm_verdict_free(v);
    r.rcpt = "a@example.com,b@example.com,c@example.com";
    v = run(&r);
    assert_true(v->reject);
    dm_verdict_free(v);
    r.rcpt = "a@example.com,b@example.com";
    v = run(&r);
    assert_false(v->reject);
    dm_verdict_free(v);

    /* At the DATA stage, without a message. */
    memset(&f, 0, sizeof f);
    memset(rc, 0, sizeof rc);
    f.env_from = "karin.wall@sjovik.test";
    f.auth = "karin.wall";
    f.sender.addr = (char *)"karin.wall@sjovik.test";
    f.sender.entry = dir_lookup_login("karin.wall");
    rc[0].addr = (char *)"alla@sjovik.test";
    rc[0].entry = dir_lookup_addr("alla@sjovik.test", NULL);
    f.rcpts = rc;
    f.n_rcpts = 1;
    v = dm_policy_check_mass(W.pol, &f);
    assert_non_null(v);
    assert_true(v->reject);
    /* Swedish (templates/sv), [site] intranet named. */
    assert_string_equal(v->reject_text,
                        "Massutskick (till listan alla@sjovik.test) far endast skickas av "
                        "kommunikationsenheten (riktlinjer for e-post, R14). Information till "
                        "manga anstallda ska i forsta hand ga via intranatet: " INTRANET ".");
    assert_string_equal(((dm_reason *)g_ptr_array_index(v->reasons, 0))->text,
                        "massutskick till listan alla@sjovik.test från karin.wall@sjovik.test, "
                        "som inte hör till kommunikationsenheten");
    dm_verdict_free(v);
    f.sender.entry = dir_lookup_login("goran.nordstrom");
    assert_null(dm_policy_check_mass(W.pol, &f));
    f.sender.entry = dir_lookup_login("karin.wall");
    rc[0].addr = (char *)"helena.strom@sjovik.test";
    rc[0].entry = dir_lookup_addr("helena.strom@sjovik.test", NULL);
    assert_null(dm_policy_check_mass(W.pol, &f));
    /* dm_policy_decide without a message: no class decided, no actions. */
    v = dm_policy_decide(W.pol, &f);
    assert_non_null(v);
    assert_false(v->reject);
    assert_int_equal(v->actions->len, 0);
    dm_verdict_free(v);

    dm_policy_free(pol);
    dm_conf_unref(conf);
}

/* ---- sekretess (R9, R6.5) --------------------------------------------------- */

static void test_sekretess(void **state)
{
    req r = {.from = "jessica.lundgren87@example.com", .rcpt = "kommun@sjovik.test"};
    dm_verdict *v;

    (void)state;
    /* Valid personnummer with sensitive facts: registreras, sekretess. */
    r.subject = SEK_S, r.text = SEK_T;
    DECIDE(&r, REG, true, "registrator@sjovik.test", "-", "-", "-");
    /* c034: citing an SN case: SN's registrator. */
    r.subject = "Försörjningsstöd SN 2026/210";
    r.text = "Mitt personnummer är 880917-9867. Jag behöver ekonomiskt bistånd.";
    v = run(&r);
    expect(v, &r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_string_equal(v->myndighet, "SN");
    dm_verdict_free(v);
    /* c042: the SN förvaltning mailbox; a 10-digit number. */
    r.rcpt = "socialforvaltningen@sjovik.test";
    r.subject = "Ansökan", r.text = "Pnr 880917-9867. Jag har en sjukdom och söker bistånd.";
    DECIDE(&r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-");
    /* A samordningsnummer counts. */
    r.text = "Samordningsnummer 870374-9815, diagnos adhd.";
    DECIDE(&r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-");
    /* c029: to a politician with fullmakt: copy and notice. */
    r.from = "m.holmberg@example.com", r.rcpt = "cecilia.berg@sjovik.test";
    r.subject = "Min pappa", r.text = "Pappa (19420821-9826) fick en stroke och hemtjänsten "
                                      "fungerar inte.";
    DECIDE(&r, REG, true, "sn-registrator@sjovik.test", "cecilia.berg@sjovik.test", "-", "-");
    /* Sekretess wins over ringa markers and private words. */
    r.rcpt = "kommun@sjovik.test";
    r.mark = MARK_AUTOREPLY;
    r.subject = SEK_S, r.text = SEK_T;
    DECIDE(&r, REG, true, "registrator@sjovik.test", "-", "-", "-");
    r.mark = MARK_NONE;
    r.subject = "Kram", r.text = "Kram! " SEK_T;
    DECIDE(&r, REG, true, "registrator@sjovik.test", "-", "-", "-");
    /* A cited case marked sekretess in the diarium, no personnummer. */
    r.subject = "Komplettering", r.text = "Här kommer intyget till SN 2026/233.";
    DECIDE(&r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-");
    r.text = "Här kommer underlaget till BUN 2026/41.";
    DECIDE(&r, REG, true, "registrator@sjovik.test", "-", "-", "-");
    /* Any cited sekretess case is a sign, not only the first cited; the
     * first cited case still decides the myndighet concerned. */
    r.subject = "Ang. KS 2026/112", r.text = "Se även SN 2026/210.";
    v = run(&r);
    expect(v, &r, REG, true, "registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_string_equal(v->case_dnr, "KS 2026/112");
    dm_verdict_free(v);

    /* c004: a number failing Luhn is no personnummer. */
    r.from = "roger.falk@example.net";
    r.subject = "Ansökan om parkeringstillstånd";
    r.text = "Personnummer 19850312-4471. Jag har en sjukdom och behöver parkera nära.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A personnummer alone in an ordinary errand is not sekretess. */
    r.text = "Personnummer 19420821-9826. Jag söker tillstånd för min bil.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* Sensitive words alone are not sekretess either. */
    r.subject = INFO_S, r.text = "Kommunens hemtjänst har fått nya lokaler.";
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    /* An organisationsnummer or a phone number with sensitive words. */
    r.text = "Org.nr 556123-4567, ring 070-456 78 90 om hemtjänst.";
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
}

/* ---- what the words say ------------------------------------------------------ */

static void test_content_requests(void **state)
{
    req r = {.from = "medborgare@example.com", .rcpt = "kommun@sjovik.test"};

    (void)state;
    /* Applying, and asking how to apply (R6.1 vs R7). */
    r.subject = "Bygglov", r.text = "Hej! Jag vill ansöka om bygglov för ett garage.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.text = "Hej! Hur ansöker jag om bygglov för ett garage?";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.text = "Hej! Jag undrar hur man ansöker om bygglov för ett garage.";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* Compounds and inflections name the errand in the subject. */
    r.subject = "Bygglovsansökan för altan", r.text = "Ritningar bifogas.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.subject = "Överklagandet av beslutet", r.text = "Se bilagan.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* ... but not a subject that asks about one, nor a sign-up. */
    r.subject = "Ansökan om bygglov – hur lång tid tar det?", r.text = "Mvh";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.subject = "Anmälan till julbordet", r.text = "Jag kommer gärna. Mvh";
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    /* A polite request without the key noun; a question for facts. */
    r.subject = "Gatlampan", r.text = "Skulle ni kunna laga gatlampan utanför Vallgatan 7?";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.text = "Skulle ni kunna berätta när biblioteket öppnar?";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* Demands on the authority; English. */
    r.subject = "Bullret", r.text = "Musiken från uteserveringen pågår varje natt. Det här "
                                    "måste få ett slut.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.subject = "Noise", r.text = "I am writing to complain about the noise on Hamngatan.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* For kännedom: nothing is asked, whatever the words. */
    r.subject = "För kännedom", r.text = "Vi vill att kommunerna läser analysen. Ingen åtgärd "
                                         "krävs.";
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    /* A reply: the quoted earlier message asks, the sender only thanks. */
    r.subject = "Sv: Ditt bygglov",
    r.text = "Tack för beskedet!\n\nFrån: Erik Sjöberg <erik.sjoberg@sjovik.test>\n"
             "Skickat: den 16 december 2026\nTill: medborgare@example.com\n\n"
             "Vi vill att du skickar in en ansökan med ritningar.\n";
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    /* The municipality's answer in someone's errand. */
    r.from = "karin.wall@sjovik.test", r.auth = "karin.wall", r.rcpt = "sokande@example.com";
    r.subject = "Intervju", r.text = "Tack för din ansökan. Välkommen på intervju.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
}

static void test_content_ringa(void **state)
{
    req r = {.from = "someone@example.com", .rcpt = "helena.strom@sjovik.test"};

    (void)state;
    /* Advertising and phishing that no filter marked. */
    r.subject = "Black week", r.text = "40 % rabatt på kontorsstolar. Fri frakt. Handla här!";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.subject = "Ditt lösenord", r.text = "Ditt lösenord går ut idag. Klicka här för att "
                                          "behålla det.";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* A newsletter without list headers that says it is one (its footer
     * offers to end the subscription): ringa... */
    r.subject = "Kommunaktuellt vecka 47",
    r.text = "Tre kommuner inför en ny e-tjänst för bygglov.\n\n-- \nDu får det här "
             "nyhetsbrevet som prenumerant. Avsluta prenumerationen: svara AVSLUTA.";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* ... but an association's request through its newsletter is an errand. */
    r.rcpt = "kommun@sjovik.test", r.subject = "Föreningsnytt",
    r.text = "Vi ansöker om bidrag till föreningens sommarläger och begär att kommunen "
             "beslutar om det före mars.\n\n-- \nDu får det här nyhetsbrevet som "
             "prenumerant. Avsluta prenumerationen: svara AVSLUTA.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.rcpt = "helena.strom@sjovik.test";
    /* A temporary service notice. */
    r.subject = "Driftinformation", r.text = "Intranätet är inte tillgängligt på lördag på "
                                             "grund av uppgradering.";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* Another authority's matter, asked of the municipality... */
    r.rcpt = "kommun@sjovik.test";
    r.subject = "Pass", r.text = "Kan jag förnya passet hos er?";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    /* ... unless the municipality's own matter is asked for too. */
    r.subject = "Bistånd", r.text = "Jag vill ansöka om ekonomiskt bistånd eftersom a-kassan "
                                    "inte räcker.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A spam filter's verdict wins over an application's words. */
    r.mark = MARK_SPAM;
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
}

/* The phrase, and its list's language, in what the rules read. */
static bool explained(const req *r, const char *phrase)
{
    dm_facts f;
    dm_msg *m = dm_msg_new();
    char *e;
    bool found;

    memset(&f, 0, sizeof f);
    f.env_from = r->from;
    f.sender.addr = (char *)r->from;
    g_free(m->subject);
    m->subject = g_strdup(r->subject);
    g_string_assign(m->text, r->text);
    if (r->lang != NULL)
        g_strlcpy(m->lang, r->lang, sizeof m->lang);
    f.msg = m;
    e = dm_policy_explain(W.pol, &f);
    found = strstr(e, phrase) != NULL;
    if (!found)
        print_error("no %s in:\n%s\n", phrase, e);
    g_free(e);
    dm_msg_free(m);
    return found;
}

/* Each language's lists read the text in it; English, the most common,
 * also text of no known language ([languages] unknown). */
static void test_languages(void **state)
{
    req r = {.from = "medborgare@example.com", .rcpt = "kommun@sjovik.test"};

    (void)state;
    r.lang = "fi", r.subject = "Esikoulupaikka";
    r.text = "Hei! Haemme tyttärellemme paikkaa esikoulusta tammikuusta alkaen.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    assert_true(explained(&r, "\"haemme\" [body, fi]"));
    /* Vowel signs and the article do not hide an Arabic appeal. */
    r.lang = "ar", r.subject = "اعتراض", r.rcpt = "norrbyskola@sjovik.test";
    r.text = "أرغب في الاعتراضِ على قرارِ رفض النقل المدرسي لابني.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    assert_true(explained(&r, ", ar]"));
    /* English, told or not. */
    r.lang = NULL, r.subject = "Street light", r.rcpt = "kommun@sjovik.test";
    r.text = "Could you please repair the street light outside number 7?";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    assert_true(explained(&r, "[body, en]"));
    r.lang = "en";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* R9 in any language: a personnummer with a diagnosis. */
    r.rcpt = "norrbyskola@sjovik.test", r.subject = "Liam";
    r.text = "Hi, my son Liam (20150412-2381) has epilepsy. Could the nurse call me?";
    DECIDE(&r, REG, true, "registrator@sjovik.test", "-", "-", "-");
    r.lang = "fi", r.rcpt = "socialforvaltningen@sjovik.test", r.subject = "Tuki";
    r.text = "Henkilötunnukseni on 860714-3156. Olen ollut sairauslomalla masennuksen takia.";
    DECIDE(&r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-");
}

/* Does a reason of the verdict hold text? */
static bool has_reason(const dm_verdict *v, const char *text)
{
    for (guint i = 0; i < v->reasons->len; i++) {
        const dm_reason *x = g_ptr_array_index(v->reasons, i);
        if (strstr(x->text, text) != NULL)
            return true;
    }
    return false;
}

/* An errand, a case or sekretess only in an attachment (issue 15): found
 * there, and the reasons name the attachment and its page. */
static void test_attachments(void **state)
{
    req r = {.from = "medborgare@example.com", .rcpt = "socialforvaltningen@sjovik.test",
             .subject = "Se bifogat", .text = "Hej, se bifogad fil. Mvh Eva",
             .att_name = "Intyg.pdf", .att_page = 2,
             .att_text = "Läkarintyg för Eva Ek, 19420821-9826. Diagnos: stroke. Hon behöver "
                         "hemtjänst."};
    dm_verdict *v;

    (void)state;
    v = run(&r);
    expect(v, &r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_true(has_reason(v, "(bilaga 'Intyg.pdf', sida 2)"));
    /* ... and where the personnummer stands, from the catalogue. */
    assert_true(has_reason(v, "personnumret står i bilaga 'Intyg.pdf', sida 2"));
    dm_verdict_free(v);
    /* A personnummer in the body, the sensitive fact in an office file (no
     * page): the number's place is not named, the fact's is, by name only. */
    r.text = "Hej, se bifogad fil. Gäller Eva Ek, 19420821-9826. Mvh Eva";
    r.att_name = "Intyg.docx", r.att_page = 0;
    r.att_text = "Diagnos: stroke. Hon behöver hemtjänst.";
    v = run(&r);
    expect(v, &r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_true(has_reason(v, "(bilaga 'Intyg.docx')"));
    assert_false(has_reason(v, "personnumret står i"));
    dm_verdict_free(v);
    /* A file name with a bidi override is named escaped, never raw. */
    r.att_name = "Intyg\u202Efdp.docx";
    v = run(&r);
    assert_true(has_reason(v, "(bilaga 'Intyg\\u{202e}fdp.docx')"));
    assert_false(has_reason(v, "\u202E"));
    dm_verdict_free(v);
    r.text = "Hej, se bifogad fil. Mvh Eva";
    /* A sekretess case cited in an attachment. */
    r.att_name = "Skrivelse.pdf", r.att_page = 1;
    r.att_text = "Angående ärende SN 2026/233: vi vill ha ett möte.";
    v = run(&r);
    expect(v, &r, REG, true, "sn-registrator@sjovik.test", "-", "-", "-", __LINE__);
    assert_true(has_reason(v, "SN 2026/233 (bilaga 'Skrivelse.pdf', sida 1)"));
    dm_verdict_free(v);
    /* An application told only by its file name. */
    r.rcpt = "bygglov@sjovik.test", r.att_name = "Ansökan om bygglov.pdf", r.att_page = 0;
    r.att_text = "";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
}

static void test_content_private_party(void **state)
{
    req r = {.from = "vän@example.com", .rcpt = "erik.sjoberg@sjovik.test"};

    (void)state;
    /* Private by its words; a person's mail that names nothing of the
     * municipality needs less. */
    r.subject = "Hemlis", r.text = "Det är Annas fru. Vi har fest hemma hos oss på fredag.";
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    r.subject = "Handla", r.text = "Kan du handla mjölk på vägen hem? Vi äter sent.";
    DECIDE(&r, PRIVAT, false, "-", "-", "-", "-");
    /* Family words in an errand: the errand decides. */
    r.subject = "Ansökan om ledighet",
    r.text = "Vi ansöker om ledighet för vår son, då vi ska besöka hans farmor som fyller 90 år.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A friend's greeting around an errand: the errand decides (section
     * 10), Erik has fullmakt: a copy. */
    r.subject = "Tack för i lördags",
    r.text = "Tack för middagen! Vi vill ansöka om bygglov för en friggebod, kan du titta på "
             "ritningen? Kram Jenny";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* ... Bengt has no fullmakt: a notice to where he reads his mail. */
    r.rcpt = "bengt.ek@sjovik.test";
    DECIDE(&r, REG, false, "-", "bengt.ek@example.net", "-", "-");
    /* ... a functional mailbox: a copy. */
    r.rcpt = "bygglov@sjovik.test";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* ... and inside one myndighet nothing is copied anyway: intern. */
    r.from = "maja.lund@sjovik.test", r.auth = "maja.lund", r.rcpt = "erik.sjoberg@sjovik.test";
    DECIDE(&r, INTERN, false, "-", "-", "-", "-");
    r.auth = NULL;

    /* Party words without a party domain: parti for a politician. */
    r.from = "partivän@example.com", r.rcpt = "anna.lind@sjovik.test";
    r.subject = "Valberedningen", r.text = "Valberedningen vill ha ditt besked om omval före "
                                           "medlemsmötet.";
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    /* A party domain writing to a functional mailbox is read as any mail. */
    r.from = "kansli@parti-a.example", r.rcpt = "kommun@sjovik.test";
    r.subject = "Begäran om allmän handling",
    r.text = "Vi begär att få ta del av protokollet från kommunstyrelsen.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A politician writing to the party is party mail (R4). */
    r.from = "anna.lind@sjovik.test", r.auth = "anna.lind", r.rcpt = "kansli@parti-a.example";
    r.subject = "Gruppmötet", r.text = "Jag kan inte komma på söndag. Skicka dagordningen.";
    DECIDE(&r, PARTI, false, "-", "-", "-", "-");
    /* A tjänsteman writing to a party is the municipality's mail. */
    r.from = "karin.wall@sjovik.test", r.auth = "karin.wall";
    r.subject = "Sv: Begäran om allmän handling",
    r.text = "Här kommer protokollet som ni begärde, dnr KS 2026/140.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
}

/* ---- ringa markers ----------------------------------------------------------- */

static void test_ringa_markers(void **state)
{
    req r = {.from = "foretag@example.com", .rcpt = "erik.sjoberg@sjovik.test",
             .subject = APPLY_S, .text = APPLY_T};

    (void)state;
    for (marker m = MARK_AUTOREPLY; m <= MARK_REPORT; m++) {
        r.mark = m;
        /* A list's or bulk mail is evidence, not a verdict: a person's
         * application through it is an errand (RULES.md section 10). */
        if (m == MARK_LIST || m == MARK_BULK)
            DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
        else
            DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    }
    /* ... a newsletter through a list asks nothing: ringa. */
    r.mark = MARK_LIST;
    r.subject = "Nyhetsbrev november", r.text = "Läs om höstens kurser och nya webbinarier.";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.subject = APPLY_S, r.text = APPLY_T;
    /* c055: the null sender. */
    r.mark = MARK_NONE;
    r.from = "<>";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
}

/* ---- degraded facts ----------------------------------------------------------- */

static void test_degraded_facts(void **state)
{
    req r = {.from = "medborgare@example.com", .rcpt = "kommun@sjovik.test",
             .subject = "Synpunkt KS 2026/112", .text = "Bra förslag."};

    (void)state;
    /* No registrators known: registreras, but no copy to guess. */
    r.no_registrars = true;
    DECIDE(&r, REG, false, "-", "-", "-", "-");
    r.no_registrars = false;
    /* No diarium: the words still decide. */
    r.no_cases = true;
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* Nobody internal: nothing to do. */
    r.rcpt = "someone@example.org";
    DECIDE(&r, REG, false, "-", "-", "-", "-");
}

/* ---- JSON for corpus-eval ---------------------------------------------------- */

static char *python_summary(const char *json)
{
    char *argv[] = {
        "python3", "-c",
        "import json,sys\n"
        "o=json.loads(sys.argv[1])\n"
        "assert isinstance(o,dict)\n"
        "assert o['class'] is None or o['class'] in "
        "['registreras','allman','ringa','intern','parti','privat']\n"
        "assert isinstance(o['sekretess'],bool)\n"
        "r=o['reject']\n"
        "assert r is None or (isinstance(r,dict) and all(isinstance(r[k],str) for k in "
        "('code','xcode','text')))\n"
        "for a in o['actions']: assert isinstance(a['type'],str) and isinstance(a['to'],str)\n"
        "for a in o['reasons']: assert isinstance(a['rule'],str) and isinstance(a['text'],str)\n"
        "acts=sorted('%s:%s'%(a['type'],a['to']) for a in o['actions'])\n"
        "sys.stdout.write('%s|%s|%s|%s|%d'%(o['class'],o['sekretess'],"
        "r['code']+' '+r['xcode'] if r else '-',','.join(acts),len(o['reasons'])))\n",
        (char *)json, NULL};
    char *out = NULL, *errs = NULL;
    gint status = 0;
    GError *err = NULL;

    if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errs, &status,
                      &err)) {
        g_error_free(err);
        return NULL;
    }
    if (!g_spawn_check_wait_status(status, NULL)) {
        print_error("python3 rejects %s:\n%s\n", json, errs);
        g_free(out);
        g_free(errs);
        fail();
    }
    g_free(errs);
    return out;
}

static void check_json(const dm_verdict *v, const char *want)
{
    GString *js = g_string_new(NULL);
    char *got;

    dm_verdict_to_json(v, js);
    assert_true(g_utf8_validate(js->str, (gssize)js->len, NULL));
    assert_true(js->str[0] == '{' && js->str[js->len - 1] == '}');
    got = python_summary(js->str);
    if (got == NULL) {
        g_string_free(js, TRUE);
        skip();
    }
    if (strcmp(got, want) != 0) {
        print_error("json %s\nsummary [%s], want [%s]\n", js->str, got, want);
        fail();
    }
    g_free(got);
    g_string_free(js, TRUE);
}

static void test_verdict_json(void **state)
{
    req r = {.from = "kalle.johansson@example.net", .subject = APPLY_S, .text = APPLY_T};
    dm_verdict *v;
    char *want;

    (void)state;
    r.rcpt = "anna.lind@sjovik.test,karin.wall@sjovik.test";
    v = run(&r);
    want = g_strdup_printf("registreras|False|-|copy:registrator@sjovik.test,"
                           "notice:anna.lind@sjovik.test,notice:karin.wall@sjovik.test|%u",
                           v->reasons->len);
    check_json(v, want);
    g_free(want);
    dm_verdict_free(v);

    r.from = "karin.wall@sjovik.test", r.auth = "karin.wall", r.rcpt = "alla@sjovik.test";
    v = run(&r);
    want = g_strdup_printf("None|False|550 5.7.1||%u", v->reasons->len);
    check_json(v, want);
    g_free(want);
    dm_verdict_free(v);

    /* Absence actions use corpus-eval's names. */
    r.from = "x@example.com", r.auth = NULL, r.now = "2026-11-25T10:00:00Z";
    r.rcpt = "ivan.petrov@sjovik.test,fatima.nilsson@sjovik.test";
    r.subject = SEK_S, r.text = SEK_T;
    v = run(&r);
    want = g_strdup_printf("registreras|True|-|copy:registrator@sjovik.test,"
                           "forward:jonas.alm@sjovik.test,"
                           "manager_notice:lena.gustafsson@sjovik.test,"
                           "notice:fatima.nilsson@sjovik.test|%u",
                           v->reasons->len);
    check_json(v, want);
    g_free(want);
    /* Hostile reason text stays valid JSON. */
    dm_verdict_add_reason(v, "R\"1\n", "quote \" backslash \\ ctl \x01 bad \xff\xfe end");
    want = g_strdup_printf("registreras|True|-|copy:registrator@sjovik.test,"
                           "forward:jonas.alm@sjovik.test,"
                           "manager_notice:lena.gustafsson@sjovik.test,"
                           "notice:fatima.nilsson@sjovik.test|%u",
                           v->reasons->len);
    check_json(v, want);
    g_free(want);
    dm_verdict_free(v);

    /* An empty verdict. */
    v = dm_verdict_new();
    check_json(v, "allman|False|-||0");
    dm_verdict_free(v);
}

static void test_verdict_basics(void **state)
{
    static const char *const names[] = {"privat", "parti", "intern", "ringa", "allman",
                                        "registreras"};
    dm_verdict *v = dm_verdict_new();
    dm_action *a, *b;
    dm_class c;

    (void)state;
    /* Weakest first, so that the strongest class is a max(). */
    assert_true(DM_CLASS_REGISTRERAS > DM_CLASS_ALLMAN);
    assert_true(DM_CLASS_ALLMAN > DM_CLASS_RINGA);
    assert_true(DM_CLASS_RINGA > DM_CLASS_INTERN);
    assert_true(DM_CLASS_INTERN > DM_CLASS_PARTI);
    assert_true(DM_CLASS_PARTI > DM_CLASS_PRIVAT);
    for (int i = 0; i < 6; i++) {
        assert_string_equal(dm_class_name((dm_class)i), names[i]);
        assert_true(dm_class_from_name(names[i], &c));
        assert_int_equal(c, i);
    }
    assert_string_equal(dm_class_name(DM_CLASS_NONE), "-");
    assert_false(dm_class_from_name("allmän", &c));
    assert_true(dm_class_is_private(DM_CLASS_PRIVAT));
    assert_true(dm_class_is_private(DM_CLASS_PARTI));
    assert_false(dm_class_is_private(DM_CLASS_INTERN));
    assert_false(dm_class_is_private(DM_CLASS_REGISTRERAS));
    assert_string_equal(dm_action_type_name(DM_ACT_COPY), "copy");
    assert_string_equal(dm_action_type_name(DM_ACT_NOTICE), "notice");
    assert_string_equal(dm_action_type_name(DM_ACT_FORWARD), "forward");
    assert_string_equal(dm_action_type_name(DM_ACT_MANAGER_NOTICE), "manager_notice");
    assert_string_equal(dm_direction_name(DM_DIR_INBOUND), "inbound");
    assert_string_equal(dm_direction_name(DM_DIR_OUTBOUND), "outbound");
    assert_string_equal(dm_direction_name(DM_DIR_INTERNAL), "internal");

    /* One action per type and address, whatever the case. */
    a = dm_verdict_add_action(v, DM_ACT_COPY, "Registrator@Sjovik.test", "erik.sjoberg@sjovik.test");
    b = dm_verdict_add_action(v, DM_ACT_COPY, "registrator@sjovik.test", "bygglov@sjovik.test");
    assert_ptr_equal(a, b);
    assert_string_equal(a->to, "registrator@sjovik.test");
    assert_string_equal(a->party, "erik.sjoberg@sjovik.test");
    b = dm_verdict_add_action(v, DM_ACT_NOTICE, "registrator@sjovik.test", NULL);
    assert_ptr_not_equal(a, b);
    assert_int_equal(dm_verdict_count_actions(v, DM_ACT_COPY), 1);
    assert_int_equal(dm_verdict_count_actions(v, DM_ACT_NOTICE), 1);
    assert_int_equal(dm_verdict_count_actions(v, DM_ACT_FORWARD), 0);
    assert_true(dm_verdict_has_action(v, DM_ACT_COPY, "REGISTRATOR@sjovik.test"));
    assert_false(dm_verdict_has_action(v, DM_ACT_FORWARD, "registrator@sjovik.test"));
    dm_verdict_add_reason(v, "R6", "%s %d", "x", 1);
    assert_string_equal(((dm_reason *)g_ptr_array_index(v->reasons, 0))->text, "x 1");
    dm_verdict_free(v);
    dm_verdict_free(NULL);
}

/* ---- building a policy -------------------------------------------------------- */

/* text with etc/rules.conf's sections of words read as written, which a
 * rules file must have (a new string). */
static char *with_words(const char *text)
{
    static const char *const groups[] = {"replies", "autoreply", "diarium", NULL};
    char *path = dm_test_path("etc/rules.conf");
    GKeyFile *kf = g_key_file_new();
    GString *out = g_string_new(text);

    assert_true(g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL));
    for (const char *const *g = groups; *g != NULL; g++) {
        char **keys = g_key_file_get_keys(kf, *g, NULL, NULL);

        assert_non_null(keys);
        g_string_append_printf(out, "\n[%s]\n", *g);
        for (char **k = keys; *k != NULL; k++) {
            char *v = g_key_file_get_value(kf, *g, *k, NULL);
            g_string_append_printf(out, "%s = %s\n", *k, v);
            g_free(v);
        }
        g_strfreev(keys);
    }
    g_key_file_free(kf);
    g_free(path);
    return g_string_free(out, FALSE);
}

static dm_policy *from_rules(const dm_conf *conf, const char *text, GError **err)
{
    char *all = with_words(text);
    dm_policy *pol = dm_policy_new_from_data(conf, all, strlen(all), err);

    g_free(all);
    return pol;
}

static void test_policy_build(void **state)
{
    char *dir = dm_test_tmpdir();
    char *rules = g_build_filename(dir, "rules.conf", NULL);
    char *words_dir = g_build_filename(dir, "lists", NULL);
    char *words = g_build_filename(words_dir, "request.words", NULL);
    dm_conf *conf = dm_conf_new_defaults();
    GError *err = NULL;
    dm_policy *pol;
    const char *text;
    req r = {.from = "medborgare@example.com", .rcpt = "kommun@sjovik.test"};

    (void)state;
    g_free(conf->rules_file);
    conf->rules_file = g_strdup(rules);
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");

    /* The built-in fallback: no word lists, so no action words. */
    pol = dm_policy_new_from_data(conf, NULL, 0, &err);
    assert_non_null(pol);
    assert_non_null(dm_policy_dnr_parser(pol));
    r.pol = pol;
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    /* ... but the built-in case numbers. */
    r.subject = "Ang. 2023/KS 0201", r.text = "";
    {
        static const char *const extra[] = {"KS 2023/201|KS|pågående||nej", NULL};
        dm_case_index *idx = load_cases(extra);
        r.cases = idx;
        DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
        r.cases = NULL;
        dm_case_index_unref(idx);
    }
    dm_policy_free(pol);

    /* Relative list paths resolve beside the rules file. */
    assert_int_equal(g_mkdir_with_parents(words_dir, 0700), 0);
    assert_true(g_file_set_contents(words, "# comment\nfrobnicate*  # trailing\n\n", -1, NULL));
    text = "[request]\nlist = lists/request.words\n[weights]\nrequest = 2.5\n";
    pol = from_rules(conf, text, &err);
    if (pol == NULL) {
        print_error("%s\n", err->message);
        fail();
    }
    r.pol = pol;
    r.subject = "Vägen", r.text = "Hej! Vi frobnicatear vägen utanför huset.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    /* A question after the words does not undo them... */
    r.subject = "Fråga", r.text = "Vi frobnicatear vägen, går det bra?";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    dm_policy_free(pol);
    /* ... but asking how does ([inquiry]). */
    text = "[request]\nlist = lists/request.words\n[inquiry]\nwords = ^hur\n";
    pol = from_rules(conf, text, &err);
    assert_non_null(pol);
    r.pol = pol;
    r.text = "Hur frobnicatear vi vägen?";
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.text = "Vi vet inte hur. Vi frobnicatear vägen.";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.subject = APPLY_S, r.text = APPLY_T;
    DECIDE(&r, ALLMAN, false, "-", "-", "-", "-");
    dm_policy_free(pol);

    /* Helper lists, references, inline words, weights. */
    text = "[verb]\nwords = frobnicate*; =kvacka\n"
           "[polite]\nwords = kan ni .. @verb\n"
           "[weights]\nregister_at = 0.5\npolite = 0.5\n";
    pol = from_rules(conf, text, &err);
    if (pol == NULL) {
        print_error("%s\n", err->message);
        fail();
    }
    r.pol = pol;
    r.subject = "Fråga", r.text = "Kan ni snart frobnicatea vägen?";
    DECIDE(&r, REG, false, "registrator@sjovik.test", "-", "-", "-");
    r.text = "Kan ni kvackar vägen?"; /* =kvacka: this form only */
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    r.text = "Kan ni inte alls någonsin heller frobnicatea vägen?"; /* four: more than ".." */
    DECIDE(&r, RINGA, false, "-", "-", "-", "-");
    dm_policy_free(pol);

    /* Errors. */
    text = "[request]\nlist = lists/missing.words\n";
    assert_null(from_rules(conf, text, &err));
    assert_non_null(err);
    g_clear_error(&err);
    text = "[request]\nlist = lists/request.words\n[weights]\nrequest = heavy\n";
    assert_null(from_rules(conf, text, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "request"));
    g_clear_error(&err);
    {
        static const char *const bad[][2] = {
            {"[weights]\nrequest = -1\n", "negative"},
            {"[weights]\nrequests = 1\n", "requests"},
            {"[request]\nwords = x\nweight = 1\n", "weight"},
            {"[request]\nwords = x\ncap = -2\n", "negative"},
            {"[request]\nwords = x\nwhere = everywhere\n", "where"},
            {"[request]\nwords = x\nlsit = y\n", "lsit"},
            {"[reqest]\ncap = 1\n", "reqest"},
            {"[request]\nwords = @nowhere\n", "nowhere"},
            {"[a]\nwords = x @b\n[b]\nwords = @a\n", "itself"},
            {"[request]\nwords = x\nunless = nowhere\n", "unless"},
            {"[request]\nwords = .. x\n", ".."},
            {"[thresholds]\nregister = 1\n", "register"},
            {"[thresholds]\nmax_tokens = many\n", "max_tokens"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
            pol = from_rules(conf, bad[i][0], &err);
            if (pol != NULL || err == NULL || strstr(err->message, bad[i][1]) == NULL) {
                print_error("rules \"%s\": want an error about \"%s\", got %s\n", bad[i][0],
                            bad[i][1], err ? err->message : "none");
                fail();
            }
            dm_policy_free(pol);
            g_clear_error(&err);
        }
    }
    text = "[casenumbers]\npattern1 = (?<myn>[A-Z]+) (?<year>\\d{4})\n";
    assert_null(from_rules(conf, text, &err));
    assert_non_null(err);
    g_clear_error(&err);
    text = "not an ini file\n";
    assert_null(from_rules(conf, text, &err));
    assert_non_null(err);
    g_clear_error(&err);
    /* dm_policy_new needs the file. */
    assert_null(dm_policy_new(conf, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "rules"));
    g_clear_error(&err);

    /* Custom case-number patterns and known codes from the rules file. */
    text = "[casenumbers]\n"
           "pattern1 = (?<myn>[A-Z]{2,4})\\.(?<year>20\\d\\d)\\.(?<num>\\d+)\n"
           "known = ks; BN\n";
    pol = from_rules(conf, text, &err);
    assert_non_null(pol);
    {
        GPtrArray *all = dm_dnr_find_all(dm_policy_dnr_parser(pol),
                                         "KS.2026.112 och KS 2026/140", NULL);
        assert_int_equal(all->len, 1);
        assert_string_equal(((dm_dnr *)g_ptr_array_index(all, 0))->key, "KS 2026/112");
        g_ptr_array_free(all, TRUE);
    }
    dm_policy_free(pol);
    /* known is a list separated by ";" (as rules.conf's example): a code
     * there is a myndighet in lower case too, one that is not is not. */
    text = "[casenumbers]\nknown = KS; bn\n";
    pol = from_rules(conf, text, &err);
    assert_non_null(pol);
    {
        GPtrArray *all = dm_dnr_find_all(dm_policy_dnr_parser(pol),
                                         "bn 2026/45 och sn 2026/7", NULL);
        assert_int_equal(all->len, 1);
        assert_string_equal(((dm_dnr *)g_ptr_array_index(all, 0))->key, "BN 2026/45");
        g_ptr_array_free(all, TRUE);
    }
    dm_policy_free(pol);
    /* The words for "case number" itself from the rules file: no
     * myndighet where they stand. */
    text = "[casenumbers]\nnot_myndighet = dnr; ÄNR \n";
    pol = from_rules(conf, text, &err);
    assert_non_null(pol);
    {
        GPtrArray *all = dm_dnr_find_all(dm_policy_dnr_parser(pol),
                                         "Dnr KS 2026/112, DNR 2026/45, ÄNR 2026/46 och BN 2026/3",
                                         NULL);
        assert_int_equal(all->len, 2);
        assert_string_equal(((dm_dnr *)g_ptr_array_index(all, 0))->key, "KS 2026/112");
        assert_string_equal(((dm_dnr *)g_ptr_array_index(all, 1))->key, "BN 2026/3");
        g_ptr_array_free(all, TRUE);
    }
    dm_policy_free(pol);

    dm_conf_unref(conf);
    dm_test_rmtree(dir);
    g_free(words);
    g_free(words_dir);
    g_free(rules);
    g_free(dir);
}

/* a with the first "from" replaced by "to" (a new string). */
static char *replace1(const char *a, const char *from, const char *to)
{
    const char *at = strstr(a, from);

    assert_non_null(at);
    return g_strdup_printf("%.*s%s%s", (int)(at - a), a, to, at + strlen(from));
}

/* The words read as written ([replies], [autoreply], [diarium]) and the
 * reason catalogue are the site's, and a rules file without them is an
 * error, not a policy that silently reads mail worse. */
static void test_rules_words(void **state)
{
    dm_conf *conf = dm_conf_new_defaults();
    GError *err = NULL;
    dm_policy *pol;
    char *all, *bad;
    dm_verdict *v;
    const char *rules = "[request]\nwords = frobnicate*\n";
    req r = {.from = "medborgare@example.com", .rcpt = "kommun@sjovik.test", .subject = "Hej",
             .text = "Tack!\n\nAm 1. Dez. 2026 hat Erik <erik@example.com> schrob:\n"
                     "Vi frobnicatear vägen.\n"};

    (void)state;
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");

    /* Missing: a section, a key; an unknown key. */
    assert_null(dm_policy_new_from_data(conf, rules, strlen(rules), &err));
    assert_non_null(strstr(err->message, "[replies]"));
    g_clear_error(&err);
    all = with_words(rules);
    bad = replace1(all, "\nwrote = ", "\n#wrote = ");
    assert_null(dm_policy_new_from_data(conf, bad, strlen(bad), &err));
    assert_non_null(strstr(err->message, "[replies] wrote"));
    g_clear_error(&err);
    g_free(bad);
    bad = replace1(all, "\nclosed = ", "\nclosd = ");
    assert_null(dm_policy_new_from_data(conf, bad, strlen(bad), &err));
    assert_non_null(strstr(err->message, "closd"));
    g_clear_error(&err);
    g_free(bad);

    /* [replies]: "schrob" is no quote's verb in the sample, so the
     * request below it is the sender's own; as the site's, it quotes. */
    pol = dm_policy_new_from_data(conf, all, strlen(all), &err);
    assert_non_null(pol);
    r.pol = pol;
    v = run(&r);
    assert_int_equal(v->klass, DM_CLASS_REGISTRERAS);
    dm_verdict_free(v);
    dm_policy_free(pol);
    bad = replace1(all, "\nwrote = ", "\nwrote = schrob; ");
    pol = dm_policy_new_from_data(conf, bad, strlen(bad), &err);
    assert_non_null(pol);
    r.pol = pol;
    v = run(&r);
    assert_int_not_equal(v->klass, DM_CLASS_REGISTRERAS);
    dm_verdict_free(v);
    dm_policy_free(pol);
    g_free(bad);

    /* [autoreply]: casefolded for the casefolded subject; [diarium]:
     * the site's closed words. */
    bad = replace1(all, "\nsubjects = ", "\nsubjects = BORTREST:; ");
    bad = (g_free(all), all = bad, replace1(all, "\nclosed = ", "\nclosed = Klar; "));
    pol = dm_policy_new_from_data(conf, bad, strlen(bad), &err);
    assert_non_null(pol);
    assert_string_equal(dm_policy_autoreply_subjects(pol)[0], "bortrest:");
    assert_false(dm_case_status_open(dm_policy_dnr_parser(pol), "KLAR"));
    assert_true(dm_case_status_open(dm_policy_dnr_parser(pol), "pågående"));
    dm_policy_free(pol);
    g_free(bad);

    /* The reason catalogue of the site's language must be there. */
    g_free(conf->templates);
    conf->templates = dm_test_tmpdir();
    assert_null(dm_policy_new_from_data(conf, all, strlen(all), &err));
    assert_non_null(strstr(err->message, "[policy] templates"));
    g_clear_error(&err);
    dm_test_rmtree(conf->templates);
    g_free(all);
    dm_conf_unref(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_classes),
        cmocka_unit_test(test_inbound_mailboxes),
        cmocka_unit_test(test_inbound_persons),
        cmocka_unit_test(test_inbound_private_address),
        cmocka_unit_test(test_one_copy_per_registrator),
        cmocka_unit_test(test_registrator_is_recipient),
        cmocka_unit_test(test_outbound),
        cmocka_unit_test(test_internal_one_myndighet_is_intern),
        cmocka_unit_test(test_internal_between_myndigheter),
        cmocka_unit_test(test_internal_sender_condition),
        cmocka_unit_test(test_list_never_intern),
        cmocka_unit_test(test_myndighet_concerned),
        cmocka_unit_test(test_privat_parti_untouched),
        cmocka_unit_test(test_absence),
        cmocka_unit_test(test_absence_fullmakt_and_autoreply),
        cmocka_unit_test(test_autoreply_reminder),
        cmocka_unit_test(test_mass_mailing),
        cmocka_unit_test(test_mass_check_direct),
        cmocka_unit_test(test_sekretess),
        cmocka_unit_test(test_content_requests),
        cmocka_unit_test(test_content_ringa),
        cmocka_unit_test(test_content_private_party),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_attachments),
        cmocka_unit_test(test_ringa_markers),
        cmocka_unit_test(test_degraded_facts),
        cmocka_unit_test(test_verdict_json),
        cmocka_unit_test(test_verdict_basics),
        cmocka_unit_test(test_policy_build),
        cmocka_unit_test(test_rules_words),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
