/*
 * model/dm_reasons: the reason catalogues of etc/templates/{sv,en} load
 * whole, a catalogue with a missing, unknown or misspelt key, a value
 * its key does not take, or a non-ASCII SMTP text is refused with the
 * key named, and texts are expanded as written.  The [sentences] a
 * notice says: one for every reason that has one, none for the others,
 * each naming only its reason's values; a reason keeps its key and
 * values, so that its sentence can be said later, and without the
 * message's own words for a sekretess notice.  [words]: the copies'
 * words that are no reason, in both languages.
 */
#include "dm_test.h"

#include "dm_reasons.h"

static void test_catalogues_load(void **state)
{
    static const dm_lang langs[] = {DM_LANG_SV, DM_LANG_EN};
    char *dir = dm_test_path("etc/templates");

    (void)state;
    for (size_t l = 0; l < G_N_ELEMENTS(langs); l++) {
        GError *err = NULL;
        dm_reasons *r = dm_reasons_load(dir, langs[l], &err);

        if (r == NULL) {
            print_error("%s\n", err->message);
            fail();
        }
        for (int i = 0; i < DM_R_COUNT; i++) {
            char *t = dm_reasons_text(r, (dm_reason_id)i, NULL);
            if (*t == '\0') {
                print_error("%s: empty\n", dm_reasons_key((dm_reason_id)i));
                fail();
            }
            g_free(t);
            if (dm_reasons_has_sentence((dm_reason_id)i)) {
                dm_reason fake = {.key = i};
                char *sn = dm_reasons_sentence(r, &fake, true);
                /* A whole sentence: a capital first, a full stop last. */
                if (sn == NULL || !g_unichar_isupper(g_utf8_get_char(sn)) ||
                    sn[strlen(sn) - 1] != '.') {
                    print_error("[sentences] %s: \"%s\"\n", dm_reasons_key((dm_reason_id)i),
                                sn ? sn : "(none)");
                    fail();
                }
                g_free(sn);
            }
        }
        dm_reasons_free(r);
    }
    g_free(dir);
}

/* The Swedish catalogue says what the program said before it had one. */
static void test_swedish_texts(void **state)
{
    char *dir = dm_test_path("etc/templates");
    dm_reasons *r = dm_reasons_load(dir, DM_LANG_SV, NULL);
    dm_verdict *v = dm_verdict_new();
    char *t;

    (void)state;
    assert_non_null(r);
    t = dm_reasons_text(r, DM_R_WHY_WINDOW, "count", "41", NULL);
    assert_string_equal(t, "41 mottagare inom tidsfonstret");
    g_free(t);
    dm_reasons_add(v, r, "R6.3", DM_R_CASE_PARTY, "sender", "a@example.com", "case",
                   "KS 2026/112", NULL);
    assert_string_equal(((dm_reason *)g_ptr_array_index(v->reasons, 0))->rule, "R6.3");
    assert_string_equal(((dm_reason *)g_ptr_array_index(v->reasons, 0))->text,
                        "avsändaren (a@example.com) är part i pågående ärende KS 2026/112");
    dm_verdict_free(v);
    dm_reasons_free(r);
    g_free(dir);
}

/* [words]: a recipient's notes, a sekretess subject and an attachment's
 * size follow the site's language, as the copies said them before the
 * catalogue. */
static void test_words(void **state)
{
    char *dir = dm_test_path("etc/templates");
    dm_reasons *sv = dm_reasons_load(dir, DM_LANG_SV, NULL);
    dm_reasons *en = dm_reasons_load(dir, DM_LANG_EN, NULL);
    char *t;

    (void)state;
    assert_non_null(sv);
    assert_non_null(en);
    assert_string_equal(dm_reasons_section(DM_R_RCPT_BLIND), "words");
    t = dm_reasons_text(sv, DM_R_RCPT_VIA_LIST, "list", "<nyheter.example>", NULL);
    assert_string_equal(t, "inte i Till/Kopia, via listan <nyheter.example>");
    g_free(t);
    t = dm_reasons_text(en, DM_R_RCPT_VIA_LIST, "list", "<nyheter.example>", NULL);
    assert_string_equal(t, "not in To/Cc, through the list <nyheter.example>");
    g_free(t);
    t = dm_reasons_text(sv, DM_R_RCPT_BLIND, NULL);
    assert_string_equal(t, "inte i Till/Kopia: dold kopia");
    g_free(t);
    t = dm_reasons_text(en, DM_R_RCPT_LIST, NULL);
    assert_string_equal(t, "mailing list: its members got the message through it");
    g_free(t);
    t = dm_reasons_text(sv, DM_R_SUBJECT_SEKRETESS, NULL);
    assert_string_equal(t, "(sekretess)");
    g_free(t);
    t = dm_reasons_text(en, DM_R_SUBJECT_SEKRETESS, NULL);
    assert_string_equal(t, "(confidential)");
    g_free(t);
    /* An attachment's size in {{attachments}}: the units are words too. */
    assert_string_equal(dm_reasons_section(DM_R_ATT_SIZE_KB), "words");
    t = dm_reasons_text(sv, DM_R_ATT_SIZE_KB, "size", "12", NULL);
    assert_string_equal(t, "12 kB");
    g_free(t);
    t = dm_reasons_text(en, DM_R_ATT_SIZE_BYTES, "size", "10", NULL);
    assert_string_equal(t, "10 byte");
    g_free(t);
    dm_reasons_free(sv);
    dm_reasons_free(en);
    g_free(dir);
}

/* A reason keeps its key and values; its sentence says them again. */
static void test_sentences(void **state)
{
    char *dir = dm_test_path("etc/templates");
    dm_reasons *r = dm_reasons_load(dir, DM_LANG_SV, NULL);
    dm_reasons *en = dm_reasons_load(dir, DM_LANG_EN, NULL);
    dm_verdict *v = dm_verdict_new();
    const dm_reason *cited, *request, *pnr, *copy, *plain;
    char *s;

    (void)state;
    assert_non_null(r);
    assert_non_null(en);
    dm_reasons_add(v, r, "R6.3", DM_R_CASE_CITED, "case", "BN 2026/51", NULL);
    dm_reasons_add(v, r, "R6.1", DM_R_REQUEST, "hits", "\"ansöker om\"", NULL);
    dm_reasons_add(v, r, "R9", DM_R_SEKRETESS_PNR, "hits", "\"missbruk\"", NULL);
    dm_reasons_add(v, r, "R8", DM_R_COPY, "registrar", "registrator@sjovik.test", "myndighet",
                   NULL, "party", "a@sjovik.test", NULL);
    dm_verdict_add_reason(v, "limit", "texten är för lång");
    cited = g_ptr_array_index(v->reasons, 0);
    request = g_ptr_array_index(v->reasons, 1);
    pnr = g_ptr_array_index(v->reasons, 2);
    copy = g_ptr_array_index(v->reasons, 3);
    plain = g_ptr_array_index(v->reasons, 4);
    assert_int_equal(cited->key, DM_R_CASE_CITED);
    assert_string_equal(cited->values[0], "case");
    assert_string_equal(cited->values[1], "BN 2026/51");
    assert_null(cited->values[2]);
    /* A NULL value is kept as empty. */
    assert_string_equal(copy->values[3], "");
    assert_int_equal(plain->key, -1);
    assert_null(plain->values);

    s = dm_reasons_sentence(r, cited, true);
    assert_string_equal(s, "Meddelandet nämner ärende BN 2026/51, som finns i diariet.");
    g_free(s);
    s = dm_reasons_sentence(en, cited, true);
    assert_string_equal(s, "The message mentions case BN 2026/51, which is in the diarium.");
    g_free(s);
    /* The case number is the diarium's: said also without facts. */
    s = dm_reasons_sentence(r, cited, false);
    assert_non_null(s);
    g_free(s);
    s = dm_reasons_sentence(r, request, true);
    assert_non_null(strstr(s, "\"ansöker om\""));
    g_free(s);
    /* The message's own words: not in a sekretess notice. */
    assert_null(dm_reasons_sentence(r, request, false));
    /* The sign of sekretess is said without the sensitive words. */
    s = dm_reasons_sentence(r, pnr, false);
    assert_non_null(s);
    assert_non_null(strstr(s, "personnummer"));
    assert_null(strstr(s, "missbruk"));
    g_free(s);
    /* Who gets what, and reasons not from the catalogue: no sentence. */
    assert_null(dm_reasons_sentence(r, copy, true));
    assert_null(dm_reasons_sentence(r, plain, true));
    assert_false(dm_reasons_has_sentence(DM_R_COPY));
    assert_true(dm_reasons_has_sentence(DM_R_CASE_CITED));
    dm_verdict_free(v);
    dm_reasons_free(r);
    dm_reasons_free(en);
    g_free(dir);
}

/* A whole catalogue as text, every key "KEY = <KEY>", with one line
 * replaced (by "replace", or dropped when NULL) or added. */
static char *catalogue(const char *key, const char *replace, const char *add)
{
    GString *s = g_string_new(NULL);
    const char *section = NULL;

    for (int i = 0; i < DM_R_COUNT; i++) {
        const char *k = dm_reasons_key((dm_reason_id)i);
        const char *sec = dm_reasons_section((dm_reason_id)i);

        if (section == NULL || strcmp(section, sec) != 0) {
            g_string_append_printf(s, "[%s]\n", sec);
            section = sec;
        }
        if (key != NULL && strcmp(k, key) == 0) {
            if (replace != NULL)
                g_string_append_printf(s, "%s\n", replace);
            continue;
        }
        g_string_append_printf(s, "%s = <%s>\n", k, k);
    }
    g_string_append(s, "[sentences]\n");
    for (int i = 0; i < DM_R_COUNT; i++) {
        const char *k = dm_reasons_key((dm_reason_id)i);
        char *sk = g_strconcat("sentences.", k, NULL);

        if (!dm_reasons_has_sentence((dm_reason_id)i)) {
            g_free(sk);
            continue;
        }
        if (key != NULL && strcmp(sk, key) == 0) {
            if (replace != NULL)
                g_string_append_printf(s, "%s\n", replace);
        } else {
            g_string_append_printf(s, "%s = <%s.>\n", k, k);
        }
        g_free(sk);
    }
    if (add != NULL)
        g_string_append_printf(s, "%s\n", add);
    return g_string_free(s, FALSE);
}

static void expect_error(const char *text, const char *want)
{
    GError *err = NULL;
    dm_reasons *r = dm_reasons_load_data(text, strlen(text), "cat", &err);

    if (r != NULL || err == NULL || strstr(err->message, want) == NULL) {
        print_error("want an error with \"%s\", got %s\n", want, err ? err->message : "none");
        fail();
    }
    g_clear_error(&err);
}

static void test_catalogue_errors(void **state)
{
    char *t;
    dm_reasons *r;

    (void)state;
    t = catalogue(NULL, NULL, NULL);
    r = dm_reasons_load_data(t, strlen(t), "cat", NULL);
    assert_non_null(r);
    dm_reasons_free(r);
    g_free(t);

    t = catalogue("case_cited", NULL, NULL); /* missing */
    expect_error(t, "case_cited is missing");
    g_free(t);
    t = catalogue("case_cited", "case_citd = x", NULL); /* misspelt */
    expect_error(t, "case_citd");
    g_free(t);
    t = catalogue(NULL, NULL, "[notices]\nx = y"); /* no such section */
    expect_error(t, "[notices]");
    g_free(t);
    t = catalogue("case_cited", "case_cited = ärende {{dnr}}", NULL); /* not its value */
    expect_error(t, "{{dnr}}");
    g_free(t);
    t = catalogue("allman", "allman = rör {{case}}", NULL); /* takes none */
    expect_error(t, "allman");
    g_free(t);
    t = catalogue("case_cited", "case_cited = ärende {{case", NULL);
    expect_error(t, "without");
    g_free(t);
    t = catalogue("mass_reject", "mass_reject = Massutskick ({{why}}) får inte", NULL);
    expect_error(t, "ASCII");
    g_free(t);
    expect_error("not a key file", "cat");

    t = catalogue("sentences.case_cited", NULL, NULL); /* a sentence missing */
    expect_error(t, "[sentences] case_cited is missing");
    g_free(t);
    t = catalogue("sentences.case_cited", "case_cited = Ärende {{dnr}}.", NULL);
    expect_error(t, "{{dnr}}");
    g_free(t);
    t = catalogue(NULL, NULL, "copy = Kopia till {{registrar}}."); /* copy has none */
    expect_error(t, "unknown key \"copy\"");
    g_free(t);
    /* A [words] key in [reasons] is misplaced, and a word takes no
     * value it does not list. */
    t = catalogue(NULL, NULL, "[reasons]\nrcpt_blind = x");
    expect_error(t, "unknown key \"rcpt_blind\"");
    g_free(t);
    t = catalogue("rcpt_blind", "rcpt_blind = dold {{list}}", NULL);
    expect_error(t, "{{list}}");
    g_free(t);
}

static void test_expand(void **state)
{
    char *t = catalogue("case_party", "case_party = {{ sender }} i {{case}}, {{case}}; {{sender}}",
                        NULL);
    dm_reasons *r = dm_reasons_load_data(t, strlen(t), "cat", NULL);
    char *x;

    (void)state;
    assert_non_null(r);
    x = dm_reasons_text(r, DM_R_CASE_PARTY, "case", "KS 1/2", "sender", "a%s@b", NULL);
    assert_string_equal(x, "a%s@b i KS 1/2, KS 1/2; a%s@b");
    g_free(x);
    /* A value not given is empty. */
    x = dm_reasons_text(r, DM_R_CASE_PARTY, "case", "K", NULL);
    assert_string_equal(x, " i K, K; ");
    g_free(x);
    x = dm_reasons_text(r, DM_R_ALLMAN, NULL);
    assert_string_equal(x, "<allman>");
    g_free(x);
    assert_string_equal(dm_reasons_key(DM_R_CASE_PARTY), "case_party");
    assert_string_equal(dm_reasons_vars(DM_R_CASE_PARTY), "sender case");
    assert_null(dm_reasons_key(DM_R_COUNT));
    dm_reasons_free(r);
    g_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogues_load),
        cmocka_unit_test(test_swedish_texts),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_sentences),
        cmocka_unit_test(test_catalogue_errors),
        cmocka_unit_test(test_expand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
