/*
 * policy/dm_policy_record.c: the questions the engine and the milter ask
 * the rules rather than answer themselves.  What may be carried out for
 * private mail and what its journal row keeps, whether repeats are matched and what is followed
 * across messages (R15's questions); R14's window (when it
 * is counted, who joins it); absence learnt from automatic replies; the
 * keys of notices owed once a period; and the reasons, in the site's
 * language, when an action was sent already or reading reached a limit.
 */
#include "dm_test.h"

#include "dm_policy.h"

#define NOW ((int64_t)1795000000) /* 2026-11-18 */
#define DAY ((int64_t)86400)

static dm_policy *policy(dm_lang lang, int64_t window, int64_t absence)
{
    dm_conf *conf = dm_conf_new_defaults();
    dm_policy *p;
    GError *err = NULL;

    g_free(conf->rules_file);
    conf->rules_file = dm_test_path("etc/rules.conf");
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");
    conf->language = lang;
    conf->mass_recipients = 20;
    conf->mass_window = window;
    conf->autoreply_absence = absence;
    p = dm_policy_new(conf, &err);
    if (p == NULL) {
        print_error("dm_policy_new: %s\n", err->message);
        fail();
    }
    dm_conf_unref(conf);
    return p;
}

static dm_entry *person(const char *mail, bool comm)
{
    dm_entry *e = dm_entry_new();

    e->dn = g_strdup_printf("uid=%s,ou=personer,dc=sjovik,dc=test", mail);
    e->mail = g_strdup(mail);
    e->name = g_strdup(mail);
    e->roles = DM_ROLE_TJANSTEMAN;
    e->comm_member = comm;
    return e;
}

/* Facts of a message from sender (an entry, or NULL: from outside) to n
 * recipients rcpt0@sjovik.test ..., submitted when internal. */
static void facts(dm_facts *f, dm_entry *sender, size_t n, bool internal)
{
    memset(f, 0, sizeof *f);
    f->now = NOW;
    f->sender.addr = g_strdup(sender != NULL ? sender->mail : "someone@invanare.example");
    f->env_from = f->sender.addr;
    f->sender.entry = sender;
    f->from_internal_network = internal;
    f->n_rcpts = n;
    f->rcpts = g_new0(dm_party, n ? n : 1);
    for (size_t i = 0; i < n; i++)
        f->rcpts[i].addr = g_strdup_printf("rcpt%zu@sjovik.test", i);
}

static void facts_clear(dm_facts *f)
{
    g_free(f->sender.addr);
    dm_entry_unref(f->sender.entry);
    for (size_t i = 0; i < f->n_rcpts; i++)
        g_free(f->rcpts[i].addr);
    g_free(f->rcpts);
}

static dm_action *action(dm_verdict *v, dm_action_type type, dm_notice_kind notice,
                         const char *to, const char *party)
{
    dm_action *a = dm_verdict_add_action(v, type, to, party);

    a->notice = notice;
    return a;
}

static void test_action_owed(void **state)
{
    static const dm_class private_classes[] = {DM_CLASS_PRIVAT, DM_CLASS_PARTI};
    dm_verdict *v = dm_verdict_new();
    dm_action *copy, *fwd, *judge, *reg, *mgr;

    (void)state;
    copy = action(v, DM_ACT_COPY, DM_NOTICE_NONE, "registrator@sjovik.test", "a@sjovik.test");
    fwd = action(v, DM_ACT_FORWARD, DM_NOTICE_NONE, "delegat@sjovik.test", "a@sjovik.test");
    judge = action(v, DM_ACT_NOTICE, DM_NOTICE_JUDGE_PRIVATE, "a@sjovik.test", "a@sjovik.test");
    reg = action(v, DM_ACT_NOTICE, DM_NOTICE_REGISTER_INBOUND, "b@sjovik.test", "b@sjovik.test");
    mgr = action(v, DM_ACT_MANAGER_NOTICE, DM_NOTICE_UNWATCHED, "chef@sjovik.test",
                 "b@sjovik.test");
    v->klass = DM_CLASS_REGISTRERAS;
    assert_true(dm_policy_action_owed(v, copy));
    assert_true(dm_policy_action_owed(v, fwd));
    assert_true(dm_policy_action_owed(v, mgr));
    assert_false(dm_policy_action_private(v, copy));
    assert_true(dm_policy_action_private(v, judge));
    for (size_t i = 0; i < G_N_ELEMENTS(private_classes); i++) {
        /* Private and party mail: only the notice asking its own
         * recipient to judge; no copy, no forward, nothing to a third. */
        v->klass = private_classes[i];
        assert_false(dm_policy_action_owed(v, copy));
        assert_false(dm_policy_action_owed(v, fwd));
        assert_false(dm_policy_action_owed(v, reg));
        assert_false(dm_policy_action_owed(v, mgr));
        assert_true(dm_policy_action_owed(v, judge));
        assert_true(dm_policy_action_private(v, reg));
        /* Nor does its journal row keep its parties or particulars. */
        assert_false(dm_policy_journal_keeps(v));
    }
    assert_true(dm_policy_action_once(mgr));
    assert_false(dm_policy_action_once(reg));
    /* Repeats: looked for in the other classes, never in private or
     * party mail, nor for a rejection. */
    assert_false(dm_policy_matches_repeats(v));
    v->klass = DM_CLASS_PARTI;
    assert_false(dm_policy_matches_repeats(v));
    v->klass = DM_CLASS_ALLMAN;
    assert_true(dm_policy_matches_repeats(v));
    v->klass = DM_CLASS_RINGA;
    assert_true(dm_policy_matches_repeats(v));
    assert_true(dm_policy_journal_keeps(v));
    v->klass = DM_CLASS_ALLMAN;
    assert_true(dm_policy_journal_keeps(v));
    v->klass = DM_CLASS_RINGA;
    v->reject = true;
    assert_false(dm_policy_matches_repeats(v));
    /* A rejection keeps its row whatever class it had come to. */
    v->klass = DM_CLASS_PRIVAT;
    assert_true(dm_policy_journal_keeps(v));
    dm_verdict_free(v);
}

static void test_window(void **state)
{
    dm_policy *p = policy(DM_LANG_SV, 3600, 0), *none = policy(DM_LANG_SV, 0, 0);
    dm_verdict *v = dm_verdict_new();
    dm_mass_window w = {0};
    dm_facts f;

    (void)state;
    /* A member of staff submitting to a few: the window is counted, under
     * their address, over the last mass_window. */
    facts(&f, person("erik.sjoberg@sjovik.test", false), 3, true);
    assert_true(dm_policy_needs_window(p, &f, &w));
    assert_string_equal(w.sender, "erik.sjoberg@sjovik.test");
    assert_int_equal(w.since, NOW - 3600);
    assert_false(dm_policy_needs_window(none, &f, &w));
    /* Joining is as of the commit's own time; a rejected message joins
     * nothing. */
    assert_true(dm_policy_joins_window(p, &f, v, NOW + 5, &w));
    assert_int_equal(w.since, NOW + 5 - 3600);
    v->reject = true;
    assert_false(dm_policy_joins_window(p, &f, v, NOW, &w));
    v->reject = false;
    facts_clear(&f);
    /* At mass_recipients the message is a mass mailing on its own. */
    facts(&f, person("erik.sjoberg@sjovik.test", false), 20, true);
    assert_false(dm_policy_needs_window(p, &f, &w));
    assert_true(dm_policy_joins_window(p, &f, v, NOW, &w));
    facts_clear(&f);
    /* Not bound: the communications unit, mail from outside, a member
     * of staff not submitting. */
    facts(&f, person("goran.nordstrom@sjovik.test", true), 3, true);
    assert_false(dm_policy_needs_window(p, &f, &w));
    assert_false(dm_policy_joins_window(p, &f, v, NOW, &w));
    facts_clear(&f);
    facts(&f, NULL, 3, true);
    assert_false(dm_policy_needs_window(p, &f, &w));
    facts_clear(&f);
    facts(&f, person("erik.sjoberg@sjovik.test", false), 3, false);
    assert_false(dm_policy_needs_window(p, &f, &w));
    facts_clear(&f);
    dm_verdict_free(v);
    dm_policy_free(p);
    dm_policy_free(none);
}

static void test_autoreply_absence(void **state)
{
    dm_policy *p = policy(DM_LANG_SV, 0, 3 * DAY), *none = policy(DM_LANG_SV, 0, 0);
    dm_entry *box = dm_entry_new(), *who = person("karin.wall@sjovik.test", false);
    dm_msg *m = dm_msg_new();
    const char *name = NULL;
    int64_t since = 0;
    dm_facts f;

    (void)state;
    box->mail = g_strdup("kommun@sjovik.test");
    box->roles = DM_ROLE_FUNKTIONSBREVLADA;
    assert_true(dm_policy_needs_autoreply(p, who));
    assert_false(dm_policy_needs_autoreply(p, box));
    assert_false(dm_policy_needs_autoreply(p, NULL));
    assert_false(dm_policy_needs_autoreply(none, who));
    assert_true(dm_policy_autoreply_absent(p, NOW - 3 * DAY, NOW));
    assert_false(dm_policy_autoreply_absent(p, NOW - 3 * DAY - 1, NOW));
    assert_false(dm_policy_autoreply_absent(p, 0, NOW));
    assert_false(dm_policy_autoreply_absent(p, NOW + 1, NOW)); /* --now in the past */

    /* An automatic reply submitted by one of our own marks them absent,
     * as of the commit's time. */
    m->auto_reply = true;
    facts(&f, dm_entry_ref(who), 1, true);
    assert_true(dm_policy_marks_absent(p, &f, m, NOW + 7, &name, &since));
    assert_string_equal(name, "karin.wall@sjovik.test");
    assert_int_equal(since, NOW + 7 - 3 * DAY);
    assert_false(dm_policy_marks_absent(none, &f, m, NOW, &name, &since));
    m->auto_reply = false;
    assert_false(dm_policy_marks_absent(p, &f, m, NOW, &name, &since));
    m->auto_reply = true;
    facts_clear(&f);
    /* Not from outside, not from a mailbox. */
    facts(&f, dm_entry_ref(who), 1, false);
    assert_false(dm_policy_marks_absent(p, &f, m, NOW, &name, &since));
    facts_clear(&f);
    facts(&f, dm_entry_ref(box), 1, true);
    assert_false(dm_policy_marks_absent(p, &f, m, NOW, &name, &since));
    facts_clear(&f);
    dm_msg_free(m);
    dm_entry_unref(box);
    dm_entry_unref(who);
    dm_policy_free(p);
    dm_policy_free(none);
}

static void test_once_keys(void **state)
{
    dm_policy *p = policy(DM_LANG_SV, 0, 3 * DAY), *none = policy(DM_LANG_SV, 0, 0);
    dm_verdict *v = dm_verdict_new();
    dm_entry *s = person("karin.wall@sjovik.test", false);
    dm_action *mgr, *rem, *copy;
    GDateTime *t = g_date_time_new_from_unix_local(NOW);
    char *day = g_date_time_format(t, "%F"), *key, *want;
    dm_facts f;

    (void)state;
    facts(&f, s, 1, true);
    mgr = action(v, DM_ACT_MANAGER_NOTICE, DM_NOTICE_UNWATCHED, "chef@sjovik.test",
                 "bengt.ek@sjovik.test");
    rem = action(v, DM_ACT_AUTOREPLY_REMINDER, DM_NOTICE_AUTOREPLY, "karin.wall@sjovik.test",
                 "karin.wall@sjovik.test");
    copy = action(v, DM_ACT_COPY, DM_NOTICE_NONE, "registrator@sjovik.test", "x@sjovik.test");

    /* R12: once a day per manager and absent person. */
    key = dm_policy_once_key(p, &f, mgr, NOW, 0, 0);
    want = g_strdup_printf("manager|bengt.ek@sjovik.test|chef@sjovik.test|%s", day);
    assert_string_equal(key, want);
    g_free(key);
    g_free(want);
    assert_null(dm_policy_once_run_of(p, &f, mgr, NOW));
    assert_null(dm_policy_once_key(p, &f, copy, NOW, 0, 0));

    /* R13: once per absence.  By auto-replies: the run it continues ... */
    assert_string_equal(dm_policy_once_run_of(p, &f, rem, NOW), "karin.wall@sjovik.test");
    key = dm_policy_once_key(p, &f, rem, NOW, NOW - 2 * DAY, NOW - DAY);
    want = g_strdup_printf("autoreply|karin.wall@sjovik.test|%" G_GINT64_FORMAT, NOW - 2 * DAY);
    assert_string_equal(key, want);
    g_free(key);
    g_free(want);
    /* ... or begins (none, or the last too long ago). */
    key = dm_policy_once_key(p, &f, rem, NOW, NOW - 9 * DAY, NOW - 4 * DAY);
    want = g_strdup_printf("autoreply|karin.wall@sjovik.test|%" G_GINT64_FORMAT, NOW);
    assert_string_equal(key, want);
    g_free(key);
    g_free(want);
    /* Without absences from auto-replies: once a day. */
    assert_null(dm_policy_once_run_of(none, &f, rem, NOW));
    key = dm_policy_once_key(none, &f, rem, NOW, 0, 0);
    want = g_strdup_printf("autoreply|karin.wall@sjovik.test|day:%s", day);
    assert_string_equal(key, want);
    g_free(key);
    g_free(want);
    /* The directory's dates, when they cover now, are the absence. */
    s->absent_from = NOW - DAY;
    s->absent_until = NOW + DAY;
    assert_null(dm_policy_once_run_of(p, &f, rem, NOW));
    key = dm_policy_once_key(p, &f, rem, NOW, NOW - 2 * DAY, NOW - DAY);
    want = g_strdup_printf("autoreply|karin.wall@sjovik.test|dir:%" G_GINT64_FORMAT, NOW - DAY);
    assert_string_equal(key, want);
    g_free(key);
    g_free(want);

    facts_clear(&f);
    dm_verdict_free(v);
    g_free(day);
    g_date_time_unref(t);
    dm_policy_free(p);
    dm_policy_free(none);
}

static const char *reason_text(const dm_verdict *v, guint i, const char *rule)
{
    const dm_reason *r;

    assert_true(i < v->reasons->len);
    r = g_ptr_array_index(v->reasons, i);
    assert_string_equal(r->rule, rule);
    return r->text;
}

/* What was sent already goes, with its reason in the site's language. */
static void test_sent_already(void **state)
{
    static const dm_lang langs[] = {DM_LANG_SV, DM_LANG_EN};
    static const char *const want[][5] = {
        {"chefen chef@sjovik.test har redan i dag underrättats om att b@sjovik.test är "
         "frånvarande",
         "karin.wall@sjovik.test har redan påmints om frånvaromeddelandet under denna frånvaro",
         "kopian till registrator@sjovik.test har redan skickats för samma meddelande "
         "(journalpost id1)",
         "notisen till b@sjovik.test har redan skickats för samma meddelande (journalpost id1)",
         "samma meddelande (Message-ID och innehåll) som journalpost id1: det som redan "
         "skickats för meddelandet skickas inte igen"},
        {"the manager chef@sjovik.test has been told today already that b@sjovik.test is away",
         "karin.wall@sjovik.test has been reminded of the out-of-office reply during this "
         "absence already",
         "the copy to registrator@sjovik.test has been sent for the same message already "
         "(journal row id1)",
         "the notice to b@sjovik.test has been sent for the same message already (journal row "
         "id1)",
         "the same message (Message-ID and content) as journal row id1: what was sent for the "
         "message already is not sent again"},
    };

    (void)state;
    for (size_t l = 0; l < G_N_ELEMENTS(langs); l++) {
        dm_policy *p = policy(langs[l], 0, 0);
        dm_verdict *v = dm_verdict_new();

        action(v, DM_ACT_MANAGER_NOTICE, DM_NOTICE_UNWATCHED, "chef@sjovik.test",
               "b@sjovik.test");
        action(v, DM_ACT_AUTOREPLY_REMINDER, DM_NOTICE_AUTOREPLY, "karin.wall@sjovik.test",
               "karin.wall@sjovik.test");
        action(v, DM_ACT_COPY, DM_NOTICE_NONE, "registrator@sjovik.test", "b@sjovik.test");
        action(v, DM_ACT_NOTICE, DM_NOTICE_REGISTER_INBOUND, "b@sjovik.test", "b@sjovik.test");
        dm_policy_once_sent(p, v, 0);
        dm_policy_once_sent(p, v, 0);
        assert_int_equal(v->actions->len, 2);
        dm_policy_owed_sent(p, v, 0, "id1");
        dm_policy_owed_sent(p, v, 0, "id1");
        assert_int_equal(v->actions->len, 0);
        dm_policy_duplicate(p, v, "id1");
        assert_string_equal(reason_text(v, 0, "R12"), want[l][0]);
        assert_string_equal(reason_text(v, 1, "R13"), want[l][1]);
        assert_string_equal(reason_text(v, 2, "duplicate"), want[l][2]);
        assert_string_equal(reason_text(v, 3, "duplicate"), want[l][3]);
        assert_string_equal(reason_text(v, 4, "duplicate"), want[l][4]);
        dm_verdict_free(v);
        dm_policy_free(p);
    }
}

/* What reading could not see is said whatever the verdict, each limit in
 * the site's language; a limit the catalogue has no words for by name. */
static void test_limit_reasons(void **state)
{
    static const dm_lang langs[] = {DM_LANG_SV, DM_LANG_EN};
    static const char *const want[][3] = {
        {"texten är längre än [mime] max_text: resten lästes inte",
         "krypterat innehåll (S/MIME eller OpenPGP) kunde inte läsas", "something_new"},
        {"the text is longer than [mime] max_text: the rest was not read",
         "encrypted content (S/MIME or OpenPGP) could not be read", "something_new"},
    };

    (void)state;
    for (size_t l = 0; l < G_N_ELEMENTS(langs); l++) {
        dm_policy *p = policy(langs[l], 0, 0);
        dm_msg *m = dm_msg_new();
        dm_verdict *v;
        dm_facts f;
        guint n;

        g_ptr_array_add(m->limits, g_strdup("max_text"));
        g_ptr_array_add(m->limits, g_strdup("encrypted"));
        g_ptr_array_add(m->limits, g_strdup("something_new"));
        facts(&f, NULL, 1, false);
        f.msg = m;
        v = dm_policy_decide(p, &f);
        n = v->reasons->len;
        assert_true(n >= 3);
        for (guint i = 0; i < 3; i++)
            assert_string_equal(reason_text(v, n - 3 + i, "limit"), want[l][i]);
        dm_verdict_free(v);
        /* A verdict at DATA has no message and no limits. */
        f.msg = NULL;
        v = dm_policy_decide(p, &f);
        for (guint i = 0; i < v->reasons->len; i++)
            assert_string_not_equal(((dm_reason *)g_ptr_array_index(v->reasons, i))->rule,
                                    "limit");
        dm_verdict_free(v);
        facts_clear(&f);
        dm_msg_free(m);
        dm_policy_free(p);
    }
}

/* An attachment whose text was not (all) read is named in a reason of
 * its own, in the site's language; its name escaped; one that was read
 * whole, or not tried, is not. */
static void test_attachment_reasons(void **state)
{
    static const dm_lang langs[] = {DM_LANG_SV, DM_LANG_EN};
    static const struct {
        const char *file;
        dm_att_status status;
        bool cut;
    } atts[] = {
        {"scan.pdf", DM_ATT_NO_TEXT, false},   {"hemlig.odt", DM_ATT_ENCRYPTED, false},
        {"trasig.pdf", DM_ATT_FAILED, false},  {"slow.pdf", DM_ATT_TIMEOUT, false},
        {"bomb.docx", DM_ATT_LIMIT, false},    {"lang.pdf", DM_ATT_READ, true},
        {"ok.pdf", DM_ATT_READ, false},        {"bild.png", DM_ATT_UNSUPPORTED, false},
        {NULL, DM_ATT_NO_TEXT, false},         {"a\x1b[31mb\u202e.pdf", DM_ATT_FAILED, false},
    };
    static const char *const want[][8] = {
        {"'scan.pdf': bilaga utan text (till exempel en inskannad bild): den lästes inte",
         "'hemlig.odt': krypterad bilaga: den kunde inte läsas",
         "'trasig.pdf': bilagan kunde inte läsas (skadad, eller läsaren misslyckades)",
         "'slow.pdf': läsningen av bilagan tog längre än [mime] extract_timeout och avbröts",
         "'bomb.docx': bilagan lästes inte: en gräns i [mime] nåddes (max_attachment_size, "
         "max_attachments, extract_message_timeout, max_expanded_size...)",
         "'lang.pdf': bara början av bilagan lästes ([mime] max_attachment_text, max_pages)",
         "'application/pdf': bilaga utan text (till exempel en inskannad bild): den lästes inte",
         NULL},
        {"'scan.pdf': an attachment without text (a scanned image, say): it was not read",
         "'hemlig.odt': an encrypted attachment: it could not be read",
         "'trasig.pdf': the attachment could not be read (damaged, or the reader failed)",
         "'slow.pdf': reading the attachment took longer than [mime] extract_timeout and was "
         "stopped",
         "'bomb.docx': the attachment was not read: a [mime] limit was reached "
         "(max_attachment_size, max_attachments, extract_message_timeout, max_expanded_size...)",
         "'lang.pdf': only the beginning of the attachment was read ([mime] max_attachment_text, "
         "max_pages)",
         "'application/pdf': an attachment without text (a scanned image, say): it was not read",
         NULL},
    };

    (void)state;
    for (size_t l = 0; l < G_N_ELEMENTS(langs); l++) {
        dm_policy *p = policy(langs[l], 0, 0);
        dm_msg *m = dm_msg_new();
        dm_verdict *v;
        dm_facts f;
        guint n, first = 0;

        for (size_t i = 0; i < G_N_ELEMENTS(atts); i++) {
            dm_attachment *a = g_new0(dm_attachment, 1);
            a->filename = g_strdup(atts[i].file);
            a->content_type = g_strdup("application/pdf");
            a->status = atts[i].status;
            a->cut = atts[i].cut;
            g_ptr_array_add(m->attachments, a);
        }
        facts(&f, NULL, 1, false);
        f.msg = m;
        v = dm_policy_decide(p, &f);
        n = v->reasons->len;
        while (first < n &&
               strcmp(((dm_reason *)g_ptr_array_index(v->reasons, first))->rule, "bilaga") != 0)
            first++;
        assert_int_equal(n - first, 8);
        for (guint i = 0; i < 7; i++)
            assert_string_equal(reason_text(v, first + i, "bilaga"), want[l][i]);
        {
            /* The escape and the bidi override: not raw in the reason. */
            const char *t = reason_text(v, first + 7, "bilaga");
            assert_null(strchr(t, 0x1b));
            assert_null(strstr(t, "\u202e"));
            assert_non_null(strstr(t, ".pdf'"));
        }
        dm_verdict_free(v);
        facts_clear(&f);
        dm_msg_free(m);
        dm_policy_free(p);
    }
}

/* What is followed across messages: nothing of a rejection or of private
 * or party mail.  R15: an inbound registreras or ringa message from the
 * public (no entry) that no machine wrote is a question, to the
 * functional mailboxes among its recipients; an outbound message that is
 * no automatic reply may answer one. */
static void test_questions(void **state)
{
    static const dm_class classes[] = {DM_CLASS_REGISTRERAS, DM_CLASS_ALLMAN, DM_CLASS_RINGA,
                                       DM_CLASS_PARTI, DM_CLASS_PRIVAT};
    static const bool question[] = {true, false, true, false, false};
    dm_verdict *v = dm_verdict_new();
    dm_msg *m = dm_msg_new();
    dm_entry *staff = person("handlaggare@sjovik.test", false);
    dm_facts f;

    (void)state;
    facts(&f, NULL, 2, false);
    f.rcpts[0].entry = person("kommun@sjovik.test", false);
    f.rcpts[0].entry->roles = DM_ROLE_FUNKTIONSBREVLADA;
    f.rcpts[1].entry = person("anna@sjovik.test", false);
    assert_true(dm_policy_question_to(&f.rcpts[0]));
    assert_false(dm_policy_question_to(&f.rcpts[1]));
    for (size_t i = 0; i < G_N_ELEMENTS(classes); i++) {
        v->klass = classes[i];
        v->reject = false;
        v->direction = DM_DIR_INBOUND;
        assert_int_equal(dm_policy_tracks(v), !dm_class_is_private(classes[i]));
        assert_int_equal(dm_policy_is_question(&f, m, v), question[i]);
        assert_false(dm_policy_may_answer(m, v));
        v->direction = DM_DIR_OUTBOUND;
        assert_false(dm_policy_is_question(&f, m, v));
        assert_int_equal(dm_policy_may_answer(m, v), !dm_class_is_private(classes[i]));
        v->reject = true;
        assert_false(dm_policy_tracks(v));
        assert_false(dm_policy_may_answer(m, v));
    }
    v->klass = DM_CLASS_REGISTRERAS;
    v->reject = false;
    v->direction = DM_DIR_INBOUND;
    assert_true(dm_policy_is_question(&f, m, v));
    /* Not from someone in the directory, not a report, not an automatic
     * reply (which answers nothing either). */
    f.sender.entry = staff;
    assert_false(dm_policy_is_question(&f, m, v));
    f.sender.entry = NULL;
    m->report = true;
    assert_false(dm_policy_is_question(&f, m, v));
    m->report = false;
    m->auto_reply = true;
    assert_false(dm_policy_is_question(&f, m, v));
    v->direction = DM_DIR_OUTBOUND;
    assert_false(dm_policy_may_answer(m, v));
    for (size_t i = 0; i < f.n_rcpts; i++)
        dm_entry_unref(f.rcpts[i].entry);
    facts_clear(&f);
    dm_entry_unref(staff);
    dm_msg_free(m);
    dm_verdict_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_owed),  cmocka_unit_test(test_window),
        cmocka_unit_test(test_autoreply_absence), cmocka_unit_test(test_once_keys),
        cmocka_unit_test(test_sent_already), cmocka_unit_test(test_limit_reasons),
        cmocka_unit_test(test_attachment_reasons), cmocka_unit_test(test_questions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
