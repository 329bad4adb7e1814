/*
 * policy/ internals: keyword lists (dm_kwlist), text normalization, and
 * the small helpers of dm_facts (roles, entry kinds, registrators, headers).
 */
#include "dm_test.h"

#include "dm_policy_int.h"

/* ---- local helpers -------------------------------------------------------- */

static void compile(dm_kwlist *l, const char *const *entries)
{
    GError *err = NULL;

    if (!dm_kwlist_compile(l, "test", (char **)entries, 1.0, &err)) {
        print_error("compile: %s\n", err->message);
        fail();
    }
}

/* First match in text (normalized here), or "" for none (new string). */
static char *first(const dm_kwlist *l, const char *text)
{
    char *norm = dm_policy_normalize_text(text, strlen(text) + 1);
    char *hit = dm_kwlist_first(l, norm);

    g_free(norm);
    return hit != NULL ? hit : g_strdup("");
}

static void expect_first(const dm_kwlist *l, const char *text, const char *want)
{
    char *got = first(l, text);

    if (strcmp(got, want) != 0) {
        print_error("in \"%s\": first match \"%s\", want \"%s\"\n", text, got, want);
        fail();
    }
    g_free(got);
}

/* ---- normalization ------------------------------------------------------- */

static void test_normalize(void **state)
{
    static const char *const cases[][2] = {
        {"Hej, jag vill ANSÖKA om bygglov!", " hej jag vill ansöka om bygglov "},
        {"", " "},
        {"...", " "},
        {"  a\t\tb\n\nc  ", " a b c "},
        {"Åsa Öberg-Ärlig", " åsa öberg ärlig "},
        {"KS 2026/112", " ks 2026 112 "},
        {"x\xff" "y", " xy "}, /* invalid bytes are dropped */
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *n = dm_policy_normalize_text(cases[i][0], 1000);
        if (strcmp(n, cases[i][1]) != 0) {
            print_error("normalize(\"%s\") = \"%s\", want \"%s\"\n", cases[i][0], n,
                        cases[i][1]);
            fail();
        }
        g_free(n);
    }
    /* max bounds the output. */
    {
        char *n = dm_policy_normalize_text("abcdefghijklmnopqrstuvwxyz", 10);
        assert_true(strlen(n) <= 12);
        assert_int_equal(n[0], ' ');
        g_free(n);
    }
}

/* ---- keyword lists ----------------------------------------------------- */

static void test_kwlist_forms(void **state)
{
    static const char *const entries[] = {
        "ansök*", "*ansökan", "vill klaga", "*bistånd*", "lss", "c++", "  ", "*", NULL,
    };
    dm_kwlist l;

    (void)state;
    compile(&l, entries);
    assert_non_null(l.re);
    assert_string_equal(l.name, "test");
    /* "word*": words that start with it. */
    expect_first(&l, "Jag vill ansöka om bygglov", "ansöka");
    expect_first(&l, "ANSÖKNINGAR", "ansökningar");
    /* "*word": words that end with it (compound heads). */
    expect_first(&l, "Min bygglovsansökan", "bygglovsansökan");
    expect_first(&l, "ansökan", "ansökan");
    /* "*word*": anywhere inside. */
    expect_first(&l, "om försörjningsbiståndet", "försörjningsbiståndet");
    /* A phrase, in order, with any punctuation between. */
    expect_first(&l, "Jag VILL, klaga!", "vill klaga");
    expect_first(&l, "klaga vill jag inte", "");
    /* The word alone: not inside another word. */
    expect_first(&l, "LSS-insats", "lss");
    expect_first(&l, "classen", "");
    expect_first(&l, "förklaga", "");
    expect_first(&l, "nyansök", ""); /* "ansök*" does not match a word ending in it */
    /* Regex characters in entries are literal. */
    expect_first(&l, "cxx", "");
    /* First in the text wins. */
    expect_first(&l, "lss och ansökan", "lss");
    dm_kwlist_clear(&l);
    assert_null(l.re);
    assert_null(l.name);
}

static void test_kwlist_count_and_empty(void **state)
{
    static const char *const entries[] = {"hemtjänst*", "stroke", "diagnos*", NULL};
    dm_kwlist l, e;
    char *norm;

    (void)state;
    compile(&l, entries);
    norm = dm_policy_normalize_text("Stroke, hemtjänst och hemtjänsten. Stroke igen.", 1000);
    assert_int_equal(dm_kwlist_count(&l, norm), 3); /* stroke, hemtjänst, hemtjänsten */
    g_free(norm);
    norm = dm_policy_normalize_text("stroke stroke stroke", 1000);
    assert_int_equal(dm_kwlist_count(&l, norm), 1);
    g_free(norm);
    assert_int_equal(dm_kwlist_count(&l, NULL), 0);
    assert_null(dm_kwlist_first(&l, NULL));
    dm_kwlist_clear(&l);

    /* An empty list matches nothing. */
    compile(&e, NULL);
    assert_null(e.re);
    assert_null(dm_kwlist_first(&e, " stroke "));
    assert_int_equal(dm_kwlist_count(&e, " stroke "), 0);
    dm_kwlist_clear(&e);
    compile(&e, (const char *const[]){"", "   ", NULL});
    assert_null(e.re);
    dm_kwlist_clear(&e);
}

/* The real lists compile and hit what their comments promise. */
static void test_real_lists(void **state)
{
    static const char *const files[] = {"action", "info", "outside", "party", "private",
                                        "question", "sensitive"};

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
        char *rel = g_strdup_printf("etc/rules/%s.words", files[i]);
        char *path = dm_test_path(rel);
        char *text = dm_test_read(path, NULL);
        char **lines = g_strsplit(text, "\n", -1);
        GPtrArray *entries = g_ptr_array_new();
        dm_kwlist l;

        for (char **ln = lines; *ln != NULL; ln++) {
            char *h = strchr(*ln, '#');
            if (h != NULL)
                *h = '\0';
            g_strstrip(*ln);
            if (**ln != '\0')
                g_ptr_array_add(entries, *ln);
        }
        assert_true(entries->len > 0);
        g_ptr_array_add(entries, NULL);
        compile(&l, (const char *const *)entries->pdata);
        assert_non_null(l.re);
        /* Every plain entry matches itself. */
        for (guint k = 0; entries->pdata[k] != NULL; k++) {
            char *e = g_strdup(entries->pdata[k]), *hit;
            for (char *p = e; *p; p++)
                if (*p == '*')
                    *p = ' ';
            hit = first(&l, e);
            if (*hit == '\0') {
                print_error("%s: entry \"%s\" does not match itself\n", rel,
                            (char *)entries->pdata[k]);
                fail();
            }
            g_free(hit);
            g_free(e);
        }
        dm_kwlist_clear(&l);
        g_ptr_array_free(entries, TRUE);
        g_strfreev(lines);
        g_free(text);
        g_free(path);
        g_free(rel);
    }
}

/* ---- facts helpers ------------------------------------------------------ */

static void test_roles_and_entries(void **state)
{
    dm_entry *p = dm_entry_new(), *mb = dm_entry_new(), *list = dm_entry_new();
    char *myn[] = {"KS", "BN", NULL};

    (void)state;
    assert_int_equal(dm_role_from_name("fortroendevald"), DM_ROLE_FORTROENDEVALD);
    assert_int_equal(dm_role_from_name("Tjansteman"), DM_ROLE_TJANSTEMAN);
    assert_int_equal(dm_role_from_name("registrator"), DM_ROLE_REGISTRATOR);
    assert_int_equal(dm_role_from_name("funktionsbrevlada"), DM_ROLE_FUNKTIONSBREVLADA);
    assert_int_equal(dm_role_from_name("forvaltningsbrevlada"), DM_ROLE_FORVALTNINGSBREVLADA);
    assert_int_equal(dm_role_from_name("lista"), DM_ROLE_LISTA);
    assert_int_equal(dm_role_from_name("kung"), 0);

    p->roles = DM_ROLE_FORTROENDEVALD;
    p->mail = g_strdup("bengt.ek@sjovik.test");
    p->myndigheter = g_strdupv(myn);
    assert_true(dm_entry_is_person(p));
    assert_false(dm_entry_is_mailbox(p));
    assert_false(dm_entry_is_list(p));
    assert_true(dm_entry_in_myndighet(p, "bn"));
    assert_false(dm_entry_in_myndighet(p, "SN"));
    assert_false(dm_entry_in_myndighet(p, NULL));
    assert_string_equal(dm_entry_notice_address(p), "bengt.ek@sjovik.test");
    p->routing = g_strdup("");
    assert_string_equal(dm_entry_notice_address(p), "bengt.ek@sjovik.test");
    g_free(p->routing);
    p->routing = g_strdup("bengt.ek@example.net");
    assert_string_equal(dm_entry_notice_address(p), "bengt.ek@example.net");

    mb->roles = DM_ROLE_REGISTRATOR | DM_ROLE_FUNKTIONSBREVLADA;
    assert_true(dm_entry_is_mailbox(mb));
    assert_false(dm_entry_is_person(mb));
    mb->roles = DM_ROLE_FORVALTNINGSBREVLADA;
    assert_true(dm_entry_is_mailbox(mb));
    /* A person entry with no role at all is still a person. */
    mb->roles = 0;
    assert_true(dm_entry_is_person(mb));

    list->roles = DM_ROLE_LISTA;
    assert_true(dm_entry_is_list(list));
    assert_false(dm_entry_is_person(list));
    assert_false(dm_entry_is_mailbox(list));
    assert_false(dm_entry_is_list(NULL));
    assert_false(dm_entry_is_person(NULL));
    assert_false(dm_entry_in_myndighet(NULL, "KS"));

    assert_ptr_equal(dm_entry_ref(p), p);
    dm_entry_unref(p);
    dm_entry_unref(p);
    dm_entry_unref(mb);
    dm_entry_unref(list);
    dm_entry_unref(NULL);
}

static void test_registrars(void **state)
{
    dm_registrars *r = dm_registrars_new();
    char *ks[] = {"KS", "BN", "BUN", NULL}, *sn[] = {"SN", NULL};

    (void)state;
    dm_registrars_add(r, "Registrator@Sjovik.test", ks);
    dm_registrars_add(r, "sn-registrator@sjovik.test", sn);
    assert_string_equal(dm_registrars_for(r, "KS"), "registrator@sjovik.test");
    assert_string_equal(dm_registrars_for(r, "bun"), "registrator@sjovik.test");
    assert_string_equal(dm_registrars_for(r, "SN"), "sn-registrator@sjovik.test");
    assert_null(dm_registrars_for(r, "MN"));
    assert_null(dm_registrars_for(r, NULL));
    assert_null(dm_registrars_for(NULL, "KS"));
    assert_ptr_equal(dm_registrars_ref(r), r);
    dm_registrars_unref(r);
    dm_registrars_unref(r);
    dm_registrars_unref(NULL);
}

static void test_msg(void **state)
{
    dm_msg *m = dm_msg_new();
    dm_header *h = g_new0(dm_header, 1);

    (void)state;
    assert_string_equal(m->subject, "");
    assert_string_equal(m->from_addr, "");
    assert_int_equal(m->text->len, 0);
    h->name = g_strdup("Auto-Submitted");
    h->value = g_strdup("auto-replied");
    g_ptr_array_add(m->headers, h);
    assert_string_equal(dm_msg_header(m, "auto-submitted"), "auto-replied");
    assert_null(dm_msg_header(m, "List-Id"));
    dm_msg_free(m);
    dm_msg_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_kwlist_forms),
        cmocka_unit_test(test_kwlist_count_and_empty),
        cmocka_unit_test(test_real_lists),
        cmocka_unit_test(test_roles_and_entries),
        cmocka_unit_test(test_registrars),
        cmocka_unit_test(test_msg),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
