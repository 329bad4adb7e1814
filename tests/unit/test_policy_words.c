/*
 * policy/ internals: the tokenizer (dm_text: words, stems, sentences,
 * quoted replies), the word lists (dm_lex: entry forms, phrases, gaps,
 * references), the real lists of etc/rules, and the small helpers of
 * dm_facts (roles, entry kinds, registrators, headers).
 */
#include "dm_test.h"

#include <stdio.h>

#include "dm_policy_int.h"

/* ---- local helpers -------------------------------------------------------- */

/* The sample configuration's policy (etc/rules.conf): its [replies]. */
static dm_policy *site;

static int group_setup(void **state)
{
    dm_conf *conf = dm_conf_new_defaults();
    GError *err = NULL;

    (void)state;
    g_free(conf->rules_file);
    conf->rules_file = dm_test_path("etc/rules.conf");
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");
    site = dm_policy_new(conf, &err);
    dm_conf_unref(conf);
    if (site == NULL) {
        fprintf(stderr, "policy: %s\n", err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_policy_free(site);
    return 0;
}

#define REPLIES (&site->replies)

/* A lexicon of named lists, each given as a NULL-terminated entry array. */
typedef struct {
    const char *name;
    const char *const *entries;
} named_list;

static dm_lex *lex_of(const named_list *lists, size_t n)
{
    dm_lex *x = dm_lex_new();
    GError *err = NULL;

    for (size_t i = 0; i < n; i++) {
        if (!dm_lex_add_list(x, lists[i].name, (char **)lists[i].entries, NULL, &err)) {
            print_error("add %s: %s\n", lists[i].name, err->message);
            fail();
        }
    }
    if (!dm_lex_finish(x, &err)) {
        print_error("finish: %s\n", err->message);
        fail();
    }
    return x;
}

/* First match of the list "name" in text, or "" for none. */
static void expect_first(const dm_lex *x, const char *name, const char *text, const char *want)
{
    char *got = dm_lex_first(x, dm_lex_list_id(x, name), text);

    if (strcmp(got ? got : "", want) != 0) {
        print_error("%s in \"%s\": first match \"%s\", want \"%s\"\n", name, text,
                    got ? got : "", want);
        fail();
    }
    g_free(got);
}

/* ---- normalization and stems ------------------------------------------------- */

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

static void test_stem(void **state)
{
    static const char *const same[][2] = {
        {"ansöka", "ansöker"}, {"överklaga", "överklagandet"}, {"nämnden", "nämnd"},
        {"synpunkt", "synpunkterna"}, {"ansökningar", "ansökningen"},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(same); i++) {
        char *a = dm_stem_word(same[i][0]), *b = dm_stem_word(same[i][1]);
        if (strcmp(a, b) != 0) {
            print_error("stem(%s) = %s, stem(%s) = %s\n", same[i][0], a, same[i][1], b);
            fail();
        }
        g_free(a);
        g_free(b);
    }
}

/* The word lists stem a word only when a pattern could meet its stem,
 * judged by what the stemmer can take from a word's end.  Every word of
 * the guidelines (../shared/seeds) must agree with the library. */
static void test_stem_tails(void **state)
{
    char *dir = dm_test_shared("seeds");
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint words = 0;

    (void)state;
    if (d == NULL) {
        print_message("no %s: skipped\n", dir);
        g_free(dir);
        return;
    }
    while ((name = g_dir_read_name(d)) != NULL) {
        char *path = g_build_filename(dir, name, NULL);
        char *text = dm_test_read(path, NULL);
        dm_text *t = dm_text_new(REPLIES, NULL, text, strlen(text), 0);

        for (guint i = 0; i < t->tokens->len; i++) {
            dm_token *k = &g_array_index(t->tokens, dm_token, i);
            const char *raw = dm_text_raw(t, k);
            char *stem = dm_stem_word(raw);
            size_t n = strlen(stem);

            if (k->raw_len > 3 && g_unichar_isalpha(g_utf8_get_char(raw))) {
                words++;
                if (n > k->raw_len || memcmp(stem, raw, n) != 0 ||
                    !dm_stem_tail_possible(raw + n, k->raw_len - n)) {
                    print_error("\"%s\" stems to \"%s\": a tail the lists do not expect\n",
                                raw, stem);
                    fail();
                }
            }
            g_free(stem);
        }
        dm_text_free(t);
        g_free(text);
        g_free(path);
    }
    g_dir_close(d);
    g_free(dir);
    assert_true(words > 1000);
    assert_true(dm_stem_tail_possible("", 0));
    assert_true(dm_stem_tail_possible("igheten", 7));
    assert_false(dm_stem_tail_possible("erest", 5));
}

/* ---- the tokenizer ----------------------------------------------------------- */

static const dm_sentence *sent(const dm_text *t, guint i)
{
    assert_true(i < t->sents->len);
    return &g_array_index(t->sents, dm_sentence, i);
}

static char *sent_text(const dm_text *t, guint i)
{
    return dm_text_span(t, sent(t, i)->first, sent(t, i)->end);
}

static void expect_sent(const dm_text *t, guint i, const char *words, unsigned flags)
{
    char *got = sent_text(t, i);

    if (strcmp(got, words) != 0 || sent(t, i)->flags != flags) {
        print_error("sentence %u: \"%s\" flags %x, want \"%s\" flags %x\n", i, got,
                    sent(t, i)->flags, words, flags);
        fail();
    }
    g_free(got);
}

static void test_text(void **state)
{
    const char *body = "Hej!\n\nJag vill ansöka om bygglov för en carport på Björkhagen\n"
                       "7:3. Går det bra? Kl. 19 t.ex. passar.\n"
                       "- en punkt\n"
                       "Hälsningar\nAnna\n";
    dm_text *t = dm_text_new(REPLIES, "Re: SV: Ansökan om bygglov?", body, strlen(body), 0);

    (void)state;
    /* The subject without its reply prefixes, a question. */
    expect_sent(t, 0, "ansökan om bygglov", DM_SENT_SUBJECT | DM_SENT_TITLE | DM_SENT_QUESTION);
    expect_sent(t, 1, "hej", 0);
    /* A wrapped line goes on; "." before a capital ends a sentence. */
    expect_sent(t, 2, "jag vill ansöka om bygglov för en carport på björkhagen 7 3", 0);
    expect_sent(t, 3, "går det bra", DM_SENT_QUESTION);
    /* "Kl. 19" and "t.ex. passar": no sentence ends. */
    expect_sent(t, 4, "kl 19 t ex passar", 0);
    expect_sent(t, 5, "en punkt", 0);
    expect_sent(t, 6, "hälsningar", 0);
    expect_sent(t, 7, "anna", 0);
    assert_false(t->forward);
    assert_int_equal(t->own_words, 1 + 12 + 3 + 5 + 2 + 1 + 1);
    /* Stems are made when asked for. */
    {
        dm_token *k = &g_array_index(t->tokens, dm_token, 6); /* "ansöka" */
        assert_string_equal(dm_text_raw(t, k), "ansöka");
        dm_text_stem_token(t, k);
        assert_int_equal(k->stem_len, strlen("ansök"));
        assert_memory_equal(dm_text_stem(t, k), "ansök", k->stem_len);
        k = &g_array_index(t->tokens, dm_token, 14); /* "7": no stem */
        dm_text_stem_token(t, k);
        assert_memory_equal(dm_text_stem(t, k), "7", k->stem_len);
    }
    dm_text_free(t);

    /* A reply: the earlier message is quoted, whatever its form. */
    {
        static const char *const replies[] = {
            "Tack!\n\nFrån: Erik <erik@sjovik.test>\nSkickat: den 17 november 2026\n"
            "Till: x@example.org\nÄmne: Hej\n\nJag vill ansöka om bygglov.\n",
            "Tack!\n\n-----Original Message-----\nJag vill ansöka om bygglov.\n",
            "Tack!\n\nDen ons 18 nov. 2026 kl 12:31 skrev Erik Sjöberg\n<erik@sjovik.test>:\n"
            "> Jag vill ansöka om bygglov.\n",
            "Tack!\n\nOn Wed, Nov 18, 2026 Erik wrote:\nJag vill ansöka om bygglov.\n",
            "Tack!\n> Jag vill ansöka om bygglov.\n",
        };
        for (size_t i = 0; i < G_N_ELEMENTS(replies); i++) {
            dm_text *r = dm_text_new(REPLIES, "Sv: Hej", replies[i], strlen(replies[i]), 0);
            const dm_sentence *last = sent(r, r->sents->len - 1);
            char *w = sent_text(r, r->sents->len - 1);
            if ((last->flags & DM_SENT_QUOTED) == 0 || strcmp(w, "jag vill ansöka om bygglov") != 0 ||
                r->own_words != 1) {
                print_error("reply %zu: last sentence \"%s\" flags %x, own words %u\n", i, w,
                            last->flags, r->own_words);
                fail();
            }
            g_free(w);
            dm_text_free(r);
        }
    }
    /* The wrote word must stand as a word ("skrevs" is not "skrev"); and
     * without the site's [replies] nothing is quoted and the subject
     * keeps its prefix. */
    {
        const char *notq = "Tack!\n\nDen 18 nov. skrevs det om\n<erik@sjovik.test>:\n"
                           "Jag vill ansöka om bygglov.\n";
        dm_text *r = dm_text_new(REPLIES, "Hej", notq, strlen(notq), 0);
        assert_int_equal(sent(r, r->sents->len - 1)->flags & DM_SENT_QUOTED, 0);
        dm_text_free(r);
        notq = "Tack!\n\n-----Original Message-----\nJag vill.\n";
        r = dm_text_new(NULL, "Sv: Hej", notq, strlen(notq), 0);
        expect_sent(r, 0, "sv hej", DM_SENT_SUBJECT | DM_SENT_TITLE);
        assert_int_equal(sent(r, r->sents->len - 1)->flags & DM_SENT_QUOTED, 0);
        dm_text_free(r);
    }
    /* A forward is the errand itself: not quoted. */
    {
        const char *fwd = "Se nedan.\n\nFrån: Bo <bo@example.org>\nSkickat: i går\n\n"
                          "Jag vill anmäla ett olovligt bygge.\n";
        dm_text *f = dm_text_new(REPLIES, "VB: Anmälan", fwd, strlen(fwd), 0);
        const dm_sentence *last = sent(f, f->sents->len - 1);
        assert_true(f->forward);
        assert_int_equal(last->flags & DM_SENT_QUOTED, 0);
        dm_text_free(f);
        f = dm_text_new(REPLIES, "Hej", "Hej\n---------- Forwarded message ---------\nFrån: Bo\n"
                        "Date: i dag\nJag vill klaga.\n", 70, 0);
        assert_true(f->forward);
        assert_int_equal(sent(f, f->sents->len - 1)->flags & DM_SENT_QUOTED, 0);
        dm_text_free(f);
    }
    /* max_tokens: the subject first, then the text, then no more. */
    {
        dm_text *m = dm_text_new(REPLIES, "ett två", "tre fyra fem sex", 16, 3);
        assert_int_equal(m->tokens->len, 3);
        assert_true(m->truncated);
        dm_text_free(m);
    }
    /* Long runs are not words; invalid UTF-8 is skipped. */
    {
        const char *junk = "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8 ok \xff\xfe bra";
        dm_text *j = dm_text_new(REPLIES, NULL, junk, strlen(junk), 0);
        char *w = dm_text_span(j, 0, j->tokens->len);
        assert_string_equal(w, "ok bra");
        g_free(w);
        dm_text_free(j);
    }
    /* No text at all. */
    t = dm_text_new(REPLIES, NULL, NULL, 0, 0);
    assert_int_equal(t->tokens->len, 0);
    assert_int_equal(t->sents->len, 0);
    dm_text_free(t);
}

/* ---- word lists ----------------------------------------------------------- */

static void test_lex_forms(void **state)
{
    static const char *const forms[] = {
        "ansöka", "=klagar", "överklag*", "*ansökan", "*bistånd*", "lss", "c++", "a-kassa",
        "  ", NULL,
    };
    static const char *const phrases[] = {"vill klaga", "jag vill .. ansöka", "ta del ..1 av",
                                          NULL};
    static const char *const verb[] = {"ansöka", "överklaga", NULL};
    static const char *const noun[] = {"*klagomål*", "*ansökan", NULL};
    static const char *const refs[] = {"jag vill .. @verb", "@frame .. @noun", NULL};
    static const char *const frame[] = {"jag vill", "vi vill", NULL};
    const named_list lists[] = {
        {"forms", forms}, {"phrases", phrases}, {"verb", verb},
        {"noun", noun},   {"refs", refs},       {"frame", frame},
    };
    dm_lex *x;

    (void)state;
    x = lex_of(lists, G_N_ELEMENTS(lists));
    assert_int_equal(dm_lex_n_lists(x), 6);
    assert_string_equal(dm_lex_list_name(x, dm_lex_list_id(x, "noun")), "noun");
    assert_int_equal(dm_lex_list_id(x, "nothing"), G_MAXUINT);
    assert_string_equal(dm_lex_entry_text(x, dm_lex_list_id(x, "forms"), 1), "=klagar");
    /* "word": any inflection (the stem). */
    expect_first(x, "forms", "Vi ANSÖKER om bygglov", "ansöker");
    expect_first(x, "forms", "jag ansökte i maj", "ansökte");
    /* "=word": that form only. */
    expect_first(x, "forms", "hon klagade", "");
    expect_first(x, "forms", "hon klagar", "klagar");
    /* "word*": words that start with it. */
    expect_first(x, "forms", "överklagandet", "överklagandet");
    expect_first(x, "forms", "nyöverklagande", "");
    /* "*word": compounds with that head, inflected. */
    expect_first(x, "forms", "Min bygglovsansökan", "bygglovsansökan");
    /* "*word*": anywhere inside. */
    expect_first(x, "forms", "om försörjningsbiståndet", "försörjningsbiståndet");
    /* The word alone: not inside another word. */
    expect_first(x, "forms", "LSS-insats", "lss");
    expect_first(x, "forms", "classen", "");
    /* Non-letters in an entry: the words the tokenizer would make. */
    expect_first(x, "forms", "Från A-kassan", "");
    expect_first(x, "forms", "a kassa", "a kassa");
    expect_first(x, "forms", "c", "c");
    /* Phrases, in order, in one sentence, any punctuation between. */
    expect_first(x, "phrases", "Jag VILL, klaga!", "vill klaga");
    expect_first(x, "phrases", "klaga vill jag inte", "");
    expect_first(x, "phrases", "Jag vill. Klaga.", "");
    /* "..": up to three words between; "..1": one. */
    expect_first(x, "phrases", "jag vill härmed gärna nu ansöka", "jag vill härmed gärna nu ansöka");
    expect_first(x, "phrases", "jag vill härmed gärna nu också ansöka", "");
    expect_first(x, "phrases", "jag vill ansöka", "jag vill ansöka");
    expect_first(x, "phrases", "få ta del av", "ta del av");
    expect_first(x, "phrases", "ta del helt av", "ta del helt av");
    expect_first(x, "phrases", "ta del helt och av", "");
    /* References to other lists, first or later in an entry. */
    expect_first(x, "refs", "Jag vill härmed överklaga beslutet", "jag vill härmed överklaga");
    expect_first(x, "refs", "Vi vill lämna ett klagomålet", "vi vill lämna ett klagomålet");
    expect_first(x, "refs", "Vi vill lämna något slags litet klagomål", "");
    /* First in the text wins. */
    expect_first(x, "forms", "lss och ansökan", "lss");
    dm_lex_free(x);

    /* Errors: references, cycles, gaps at the ends, names twice. */
    {
        static const char *const a[] = {"x @b", NULL}, *const b[] = {"@a", NULL};
        static const char *const c[] = {"@nowhere", NULL}, *const g[] = {".. x", NULL};
        static const char *const at[] = {"@", NULL};
        GError *err = NULL;
        dm_lex *y = dm_lex_new();

        assert_true(dm_lex_add_list(y, "a", (char **)a, NULL, &err));
        assert_true(dm_lex_add_list(y, "b", (char **)b, NULL, &err));
        assert_false(dm_lex_add_list(y, "a", (char **)b, NULL, &err));
        g_clear_error(&err);
        assert_false(dm_lex_finish(y, &err));
        assert_non_null(strstr(err->message, "itself"));
        g_clear_error(&err);
        dm_lex_free(y);
        y = dm_lex_new();
        assert_true(dm_lex_add_list(y, "c", (char **)c, NULL, &err));
        assert_false(dm_lex_finish(y, &err));
        assert_non_null(strstr(err->message, "nowhere"));
        g_clear_error(&err);
        assert_false(dm_lex_add_list(y, "g", (char **)g, NULL, &err));
        g_clear_error(&err);
        assert_false(dm_lex_add_list(y, "at", (char **)at, NULL, &err));
        g_clear_error(&err);
        dm_lex_free(y);
    }
    /* An empty list matches nothing. */
    {
        static const char *const none[] = {NULL};
        const named_list l[] = {{"none", none}};
        dm_lex *e = lex_of(l, 1);
        expect_first(e, "none", "stroke", "");
        dm_lex_free(e);
    }
}

/* Many matches, many lists: the result is complete and ordered. */
static void test_lex_many(void **state)
{
    static const char *const w[] = {"kram", "puss", "kram och puss", NULL};
    const named_list l[] = {{"w", w}};
    dm_lex *x = lex_of(l, 1);
    GString *text = g_string_new(NULL);
    dm_text *t;
    dm_lex_result *r;
    const GArray *m;

    (void)state;
    for (int i = 0; i < 500; i++)
        g_string_append(text, "kram och puss. ");
    t = dm_text_new(REPLIES, NULL, text->str, text->len, 0);
    dm_lex_tag(x, t);
    r = dm_lex_match(x, t);
    m = r->matches[0];
    assert_non_null(m);
    assert_int_equal(m->len, 1500);
    for (guint i = 1; i < m->len; i++)
        assert_true(g_array_index(m, dm_lmatch, i - 1).start <=
                    g_array_index(m, dm_lmatch, i).start);
    dm_lex_result_free(r);
    dm_text_free(t);
    g_string_free(text, TRUE);
    dm_lex_free(x);
}

/* The real rules file loads, and every plain entry of its lists matches
 * itself (a typo would not). */
static void test_real_lists(void **state)
{
    char *rules = dm_test_path("etc/rules.conf");
    char *dir = dm_test_path("etc/rules");
    dm_conf *conf = dm_conf_new_defaults();
    GError *err = NULL;
    dm_policy *pol;
    GDir *d;
    const char *name;
    int files = 0;

    (void)state;
    g_free(conf->rules_file);
    conf->rules_file = g_strdup(rules);
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");
    pol = dm_policy_new(conf, &err);
    if (pol == NULL) {
        print_error("%s\n", err->message);
        fail();
    }
    d = g_dir_open(dir, 0, NULL);
    assert_non_null(d);
    while ((name = g_dir_read_name(d)) != NULL) {
        char *list, *path, *text;
        char **lines;
        guint id;

        if (!g_str_has_suffix(name, ".words"))
            continue;
        files++;
        list = g_strndup(name, strlen(name) - strlen(".words"));
        id = dm_lex_list_id(pol->lex, list);
        if (id == G_MAXUINT) {
            print_error("etc/rules/%s: no section [%s] in rules.conf\n", name, list);
            fail();
        }
        path = g_build_filename(dir, name, NULL);
        text = dm_test_read(path, NULL);
        lines = g_strsplit(text, "\n", -1);
        for (char **ln = lines; *ln != NULL; ln++) {
            char *h = strchr(*ln, '#'), *hit;
            GString *plain = g_string_new(NULL);
            if (h != NULL)
                *h = '\0';
            g_strstrip(*ln);
            if (**ln == '\0' || strchr(*ln, '@') != NULL || strstr(*ln, "..") != NULL) {
                g_string_free(plain, TRUE);
                continue;
            }
            for (char *p = *ln; *p; p++) {
                if (g_str_has_prefix(p, "%num")) {
                    g_string_append(plain, "70");
                    p += 3;
                } else if (*p != '*' && *p != '=') {
                    g_string_append_c(plain, *p);
                }
            }
            hit = dm_lex_first(pol->lex, id, plain->str);
            if (hit == NULL) {
                print_error("etc/rules/%s: entry \"%s\" does not match itself\n", name, *ln);
                fail();
            }
            g_free(hit);
            g_string_free(plain, TRUE);
        }
        g_strfreev(lines);
        g_free(text);
        g_free(path);
        g_free(list);
    }
    g_dir_close(d);
    assert_true(files >= 10);
    dm_policy_free(pol);
    dm_conf_unref(conf);
    g_free(dir);
    g_free(rules);
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
        cmocka_unit_test(test_stem),
        cmocka_unit_test(test_stem_tails),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_lex_forms),
        cmocka_unit_test(test_lex_many),
        cmocka_unit_test(test_real_lists),
        cmocka_unit_test(test_roles_and_entries),
        cmocka_unit_test(test_registrars),
        cmocka_unit_test(test_msg),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
