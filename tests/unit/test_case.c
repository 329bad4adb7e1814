/*
 * model/dm_case: diarienummer parsing and finding, and the case index,
 * loaded from ../shared/fixtures/arenden.csv.
 */
#include "dm_test.h"

#include "dm_case.h"
#include "dm_csv.h"

/* ---- local helpers -------------------------------------------------------- */

/* The export's words as etc/rules.conf [diarium] has them, and the words
 * for "case number" of its [casenumbers] not_myndighet. */
static void set_export(dm_dnr_parser *p)
{
    static char *dnr[] = {"diarienummer", "dnr", NULL}, *myn[] = {"myndighet", NULL},
                *title[] = {"rubrik", NULL}, *status[] = {"status", NULL},
                *parties[] = {"parter", NULL}, *sek[] = {"sekretess", NULL};
    static char *yes[] = {"ja", "x", NULL};
    static char *closed[] = {"Avslut", "stäng", "arkiv", "closed", "makul", NULL};
    static const char *const not_myn[] = {"dnr", "diarienr", NULL};
    char **const columns[DM_CASE_COL_N] = {dnr, myn, title, status, parties, sek};

    dm_dnr_parser_set_export(p, columns, yes, closed);
    dm_dnr_parser_set_not_myndighet(p, not_myn);
}

static dm_dnr_parser *parser_new(const char *const *known)
{
    GError *err = NULL;
    dm_dnr_parser *p = dm_dnr_parser_new(NULL, known, &err);

    if (p == NULL) {
        print_error("parser: %s\n", err->message);
        fail();
    }
    set_export(p);
    return p;
}

/* The keys dm_dnr_find_all finds, joined with "|" (new string), "" for
 * none.  Also checks that each citation is where it says it is. */
static char *keys_of(const dm_dnr_parser *p, const char *text, const char *const *extra)
{
    GPtrArray *all = dm_dnr_find_all(p, text, extra);
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < all->len; i++) {
        const dm_dnr *d = g_ptr_array_index(all, i);
        char *key;

        assert_non_null(d->key);
        assert_non_null(d->myn);
        assert_non_null(d->written);
        /* The written form stands in the text as it was written. */
        if (strstr(text, d->written) == NULL) {
            print_error("written \"%s\" is not in \"%s\"\n", d->written, text);
            fail();
        }
        /* The key is built from the parts. */
        key = g_strdup_printf("%s %d/%d", d->myn, d->year, d->num);
        assert_string_equal(key, d->key);
        g_free(key);
        if (i > 0)
            g_string_append_c(out, '|');
        g_string_append(out, d->key);
    }
    g_ptr_array_free(all, TRUE);
    return g_string_free(out, FALSE);
}

static void expect_keys(const dm_dnr_parser *p, const char *text, const char *const *extra,
                        const char *want)
{
    char *got = keys_of(p, text, extra);

    if (strcmp(got, want) != 0) {
        print_error("in \"%s\": found [%s], want [%s]\n", text, got, want);
        fail();
    }
    g_free(got);
}

/* The fixture's diarium: diarienummer,myndighet,rubrik,status,parter,sekretess */
static dm_case_index *load_fixture(const dm_dnr_parser *parser, size_t *rows)
{
    char *path = dm_test_shared("fixtures/arenden.csv");
    gsize len = 0;
    char *text = dm_test_read(path, &len);
    const char *p = text, *end = text + len;
    GPtrArray *f = g_ptr_array_new_with_free_func(g_free);
    dm_case_index *idx = dm_case_index_new();

    *rows = 0;
    assert_true(dm_csv_record(&p, end, f)); /* header */
    assert_int_equal(f->len, 6);
    assert_string_equal(g_ptr_array_index(f, 0), "diarienummer");
    assert_string_equal(g_ptr_array_index(f, 5), "sekretess");
    while (dm_csv_record(&p, end, f)) {
        if (f->len == 1 && *(char *)g_ptr_array_index(f, 0) == '\0')
            continue;
        assert_int_equal(f->len, 6);
        if (!dm_case_index_add(idx, parser, g_ptr_array_index(f, 0), g_ptr_array_index(f, 1),
                               g_ptr_array_index(f, 2), g_ptr_array_index(f, 3),
                               g_ptr_array_index(f, 4),
                               strcmp(g_ptr_array_index(f, 5), "ja") == 0)) {
            print_error("fixture row \"%s\" rejected\n", (char *)g_ptr_array_index(f, 0));
            fail();
        }
        (*rows)++;
    }
    g_ptr_array_free(f, TRUE);
    g_free(text);
    g_free(path);
    return idx;
}

/* ---- parsing one number ----------------------------------------------------- */

static void test_parse_forms(void **state)
{
    static const struct {
        const char *s;
        const char *key, *myn;
        int year, num;
    } cases[] = {
        {"KS 2026/112", "KS 2026/112", "KS", 2026, 112},
        {"KS-2026-112", "KS 2026/112", "KS", 2026, 112},
        {"Dnr BN-2026-45", "BN 2026/45", "BN", 2026, 45},
        {"dnr BN-2026-45", "BN 2026/45", "BN", 2026, 45},
        {"2023/KS 0201", "KS 2023/201", "KS", 2023, 201},
        {"2023/KS-0201", "KS 2023/201", "KS", 2023, 201},
        {"KS/2016:805", "KS 2016/805", "KS", 2016, 805},
        {"BUN 2026/041", "BUN 2026/41", "BUN", 2026, 41},
        {"SN2026/210", "SN 2026/210", "SN", 2026, 210},
        {"KS 1998/7", "KS 1998/7", "KS", 1998, 7},
        {"(dnr KS-2026-112)", "KS 2026/112", "KS", 2026, 112},
        {"Dnr: BN 2026/45.", "BN 2026/45", "BN", 2026, 45},
        {"ÖN 2026/3", "ÖN 2026/3", "ÖN", 2026, 3},
    };
    dm_dnr_parser *p = parser_new(NULL);

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        dm_dnr *d = dm_dnr_parse(p, cases[i].s);
        if (d == NULL) {
            print_error("\"%s\" is not parsed\n", cases[i].s);
            fail();
        }
        if (strcmp(d->key, cases[i].key) != 0 || strcmp(d->myn, cases[i].myn) != 0 ||
            d->year != cases[i].year || d->num != cases[i].num) {
            print_error("\"%s\" -> %s (%s %d %d), want %s\n", cases[i].s, d->key, d->myn,
                        d->year, d->num, cases[i].key);
            fail();
        }
        dm_dnr_free(d);
    }
    dm_dnr_free(NULL);
    dm_dnr_parser_free(p);
}

static void test_parse_lowercase_needs_known(void **state)
{
    static const char *const bn[] = {"BN", NULL};
    static const char *const bn_low[] = {"bn", NULL};
    static const char *const other[] = {"KS", "SN", NULL};
    dm_dnr_parser *p = parser_new(NULL);
    dm_dnr_parser *pk = parser_new(bn);
    dm_dnr_parser *pl = parser_new(bn_low);
    dm_dnr *d;

    (void)state;
    /* Unknown lower-case code: not a case number. */
    assert_null(dm_dnr_parse(p, "bn 2026/45"));
    expect_keys(p, "se bn 2026/45", NULL, "");
    expect_keys(p, "se bn 2026/45", other, "");
    expect_keys(p, "Bn 2026/45", NULL, "");
    /* Known at construction. */
    d = dm_dnr_parse(pk, "bn 2026/45");
    assert_non_null(d);
    assert_string_equal(d->key, "BN 2026/45");
    assert_string_equal(d->myn, "BN");
    dm_dnr_free(d);
    expect_keys(pk, "se Bn 2026/45", NULL, "BN 2026/45");
    /* Known codes are case-insensitive too. */
    expect_keys(pl, "se bn 2026/45", NULL, "BN 2026/45");
    /* Known through extra_known (the case index's codes). */
    expect_keys(p, "se bn 2026/45", bn, "BN 2026/45");
    expect_keys(p, "se bn 2026/45", bn_low, "BN 2026/45");
    /* Known later. */
    dm_dnr_parser_add_known(p, "bn");
    expect_keys(p, "se bn 2026/45", NULL, "BN 2026/45");
    /* Still not a different lower-case code. */
    expect_keys(p, "se sn 2026/210", NULL, "");
    dm_dnr_parser_free(p);
    dm_dnr_parser_free(pk);
    dm_dnr_parser_free(pl);
}

/* Dates, phone numbers, property designations and ordinary words are not
 * case numbers, even with every code known. */
static void test_not_case_numbers(void **state)
{
    static const char *const texts[] = {
        "2026-11-30",
        "den 2026-11-30",
        "DEN 2026-11-30",
        "Mötet är den 2026-11-30 kl 10.",
        "och 2026-11",
        "senast 2026/11/30",
        "v 2026-47",
        "070-456 78 90",
        "Ring 0704567890 eller 0491-123 45.",
        "Sjövik 3:12",
        "Ekudden 1:4 och Tallbacken 2:8",
        "Dnr 2026/45",
        "DNR 2026-45",
        "diarienr 2026/45",
        "SFS 2026/11-30",
        "Kommunstyrelsen 2026/112",
        "KS 1850/112",
        "KS 2026/",
        "KS 2026/1234567",
        "nr 19850312-4471",
        "",
    };
    /* Every code known, but not "och": only the known set keeps
     * "och 2026-11" out. */
    static const char *const all[] = {"KS", "BN", "SN", "BUN", "DEN", "V", "SFS", NULL};
    dm_dnr_parser *p = parser_new(all);

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++)
        expect_keys(p, texts[i], all, "");
    {
        GPtrArray *none = dm_dnr_find_all(p, NULL, NULL);
        assert_int_equal(none->len, 0);
        g_ptr_array_free(none, TRUE);
    }
    assert_null(dm_dnr_parse(p, "hej"));
    assert_null(dm_dnr_parse(p, ""));
    dm_dnr_parser_free(p);
    /* The words for "case number" are the site's ([casenumbers]
     * not_myndighet): without them "DNR 2026-45" reads as a case of an
     * unknown myndighet DNR. */
    p = dm_dnr_parser_new(NULL, all, NULL);
    expect_keys(p, "DNR 2026-45", NULL, "DNR 2026/45");
    {
        static const char *const other[] = {"arnr", NULL};
        dm_dnr_parser_set_not_myndighet(p, other);
    }
    expect_keys(p, "DNR 2026-45", NULL, "DNR 2026/45");
    expect_keys(p, "ARNR 2026-45", NULL, "");
    dm_dnr_parser_free(p);
}

static void test_find_all_order_dedup(void **state)
{
    static const char *const known[] = {"BN", NULL};
    dm_dnr_parser *p = parser_new(known);

    (void)state;
    /* Order of appearance, across the two built-in forms. */
    expect_keys(p, "Se 2023/KS 0201 och KS 2026/112.", NULL, "KS 2023/201|KS 2026/112");
    expect_keys(p, "Se KS 2026/112 och 2023/KS 0201.", NULL, "KS 2026/112|KS 2023/201");
    /* The same case written three ways counts once, where it first stood. */
    expect_keys(p,
                "Ang. BN 2026/45 (dnr KS-2026-112). Jfr KS 2026/112, bn 2026/45 och "
                "KS/2016:805 samt Dnr BN-2026-045.",
                NULL, "BN 2026/45|KS 2026/112|KS 2016/805");
    /* Subject then text, as the rules join them. */
    expect_keys(p, "Sv: BUN 2026/33\nHej, gäller även SN 2026/210 och BUN 2026/33.", NULL,
                "BUN 2026/33|SN 2026/210");
    /* Next to a date and a phone number. */
    expect_keys(p, "Den 2026-11-30 ring 070-456 78 90 om KS-2026-140.", NULL, "KS 2026/140");
    dm_dnr_parser_free(p);
}

/* The built-in patterns run only in windows around years (for speed);
 * the same patterns given explicitly scan the whole text.  Both find the
 * same citations, wherever they stand. */
static void test_windows_equal_full_scan(void **state)
{
    static const char *const known[] = {"BN", "SÖN", NULL};
    dm_dnr_parser *win = dm_dnr_parser_new(NULL, known, NULL);
    dm_dnr_parser *full = dm_dnr_parser_new(dm_dnr_default_patterns(), known, NULL);
    GString *big = g_string_new(NULL);
    const char *texts[] = {
        "KS 2026/112",
        "2023/KS 0201 i början",
        "Ärendet ÖFN 2026/12 och sön 2026/3 gäller.",
        "åäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäöåäö KS 2026/112 åäöåäöåäöåäöåäö",
        "bn                                  2026   /   45",
        "Datum 2026-11-30, 2026-12-01 och 2027-01-02; ärende BN-2026-45-tillägg",
        "KS 2026/112 KS 2026/140 KS 2025/300 2026/BN 51 KS/2016:805",
        "x1999/KS 12 och KS 1999/12x samt 20261/KS 12",
        NULL,
    };

    (void)state;
    for (int i = 0; i < 400; i++)
        g_string_append_printf(big, "rad %d den 2026-%02d-%02d: %s\n", i, i % 12 + 1,
                               i % 28 + 1, i % 37 == 0 ? "se BN 2026/45 och KS-2026-140" : "");
    for (int k = 0; texts[k] != NULL || k == G_N_ELEMENTS(texts) - 1; k++) {
        const char *t = texts[k] != NULL ? texts[k] : big->str;
        GPtrArray *a = dm_dnr_find_all(win, t, NULL), *b = dm_dnr_find_all(full, t, NULL);
        GString *ka = g_string_new(NULL), *kb = g_string_new(NULL);

        for (guint i = 0; i < a->len; i++)
            g_string_append_printf(ka, "%s|", ((dm_dnr *)g_ptr_array_index(a, i))->key);
        for (guint i = 0; i < b->len; i++)
            g_string_append_printf(kb, "%s|", ((dm_dnr *)g_ptr_array_index(b, i))->key);
        if (strcmp(ka->str, kb->str) != 0) {
            print_error("text %d: windows found \"%s\", the full scan \"%s\"\n", k, ka->str,
                        kb->str);
            fail();
        }
        if (texts[k] == NULL)
            assert_string_equal(ka->str, "BN 2026/45|KS 2026/140|");
        g_string_free(ka, TRUE);
        g_string_free(kb, TRUE);
        g_ptr_array_free(a, TRUE);
        g_ptr_array_free(b, TRUE);
        if (texts[k] == NULL)
            break;
    }
    g_string_free(big, TRUE);
    dm_dnr_parser_free(win);
    dm_dnr_parser_free(full);
}

static void test_custom_patterns(void **state)
{
    static const char *const good[] = {
        "(?<myn>\\p{Lu}{2,6})[ -](?<year>20\\d\\d)[/-](?<num>\\d{1,6})", NULL};
    static const char *const no_num[] = {"(?<myn>[A-Z]+) (?<year>\\d{4})/(\\d+)", NULL};
    static const char *const no_myn[] = {"(?<year>\\d{4})/(?<num>\\d+)", NULL};
    static const char *const broken[] = {"(?<myn>[A-Z]+ (?<year>\\d{4})/(?<num>\\d+)", NULL};
    static const char *const second_bad[] = {
        "(?<myn>\\p{Lu}{2,6}) (?<year>20\\d\\d)/(?<num>\\d+)", "(?<myn>x)(?<year>y)", NULL};
    GError *err = NULL;
    dm_dnr_parser *p;

    (void)state;
    p = dm_dnr_parser_new(good, NULL, &err);
    assert_non_null(p);
    assert_null(err);
    expect_keys(p, "Ärende KS-2026-112 och BN 2026/45", NULL, "KS 2026/112|BN 2026/45");
    /* Only the configured forms: the built-in reversed form is gone. */
    expect_keys(p, "2023/KS 0201", NULL, "");
    dm_dnr_parser_free(p);

    p = dm_dnr_parser_new(no_num, NULL, &err);
    assert_null(p);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "num"));
    g_clear_error(&err);

    p = dm_dnr_parser_new(no_myn, NULL, &err);
    assert_null(p);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "myn"));
    g_clear_error(&err);

    p = dm_dnr_parser_new(broken, NULL, &err);
    assert_null(p);
    assert_non_null(err);
    g_clear_error(&err);

    p = dm_dnr_parser_new(second_bad, NULL, &err);
    assert_null(p);
    assert_non_null(err);
    g_clear_error(&err);

    /* The defaults are what NULL gives. */
    assert_non_null(dm_dnr_default_patterns());
    assert_non_null(dm_dnr_default_patterns()[0]);
    p = dm_dnr_parser_new(dm_dnr_default_patterns(), NULL, &err);
    assert_non_null(p);
    expect_keys(p, "2023/KS 0201 och KS/2016:805", NULL, "KS 2023/201|KS 2016/805");
    dm_dnr_parser_free(p);
}

/* ---- the index -------------------------------------------------------------- */

static void test_status_open(void **state)
{
    dm_dnr_parser *p = parser_new(NULL), *bare = dm_dnr_parser_new(NULL, NULL, NULL);

    (void)state;
    assert_true(dm_case_status_open(p, "pågående"));
    assert_true(dm_case_status_open(p, "Pågående"));
    assert_true(dm_case_status_open(p, "öppen"));
    assert_true(dm_case_status_open(p, "open"));
    assert_true(dm_case_status_open(p, ""));
    assert_true(dm_case_status_open(p, NULL));
    /* A status that holds a closed word, in any case ("Avslut" in the
     * words too). */
    assert_false(dm_case_status_open(p, "avslutat"));
    assert_false(dm_case_status_open(p, "Avslutad"));
    assert_false(dm_case_status_open(p, "AVSLUTAT"));
    assert_false(dm_case_status_open(p, "closed"));
    assert_false(dm_case_status_open(p, "arkiverat"));
    assert_false(dm_case_status_open(p, "stängt"));
    assert_false(dm_case_status_open(p, "STÄNGT"));
    /* Without the export's words every case is open. */
    assert_true(dm_case_status_open(bare, "avslutat"));
    /* Yes, and the columns' names lower-cased. */
    assert_true(dm_dnr_parser_yes(p, " JA "));
    assert_true(dm_dnr_parser_yes(p, "x"));
    assert_false(dm_dnr_parser_yes(p, "nej"));
    assert_false(dm_dnr_parser_yes(p, ""));
    assert_false(dm_dnr_parser_yes(bare, "ja"));
    assert_string_equal(dm_dnr_parser_column(p, DM_CASE_COL_DNR)[1], "dnr");
    assert_null(dm_dnr_parser_column(p, DM_CASE_COL_DNR)[2]);
    assert_null(dm_dnr_parser_column(bare, DM_CASE_COL_DNR)[0]);
    dm_dnr_parser_free(bare);
    dm_dnr_parser_free(p);
}

static void test_index_fixture(void **state)
{
    dm_dnr_parser *p = parser_new(NULL);
    size_t rows = 0;
    dm_case_index *idx = load_fixture(p, &rows);
    const dm_case *c;
    const GPtrArray *by;
    const char *const *m;

    (void)state;
    assert_int_equal(rows, 10);
    assert_int_equal(dm_case_index_size(idx), 10);

    c = dm_case_index_find(idx, "KS 2026/112");
    assert_non_null(c);
    assert_string_equal(c->dnr, "KS 2026/112");
    assert_string_equal(c->key, "KS 2026/112");
    assert_string_equal(c->myndighet, "KS");
    assert_string_equal(c->title, "Medborgarförslag om belysning i Strandparken");
    assert_true(c->open);
    assert_false(c->sekretess);
    assert_non_null(c->parties);
    assert_string_equal(c->parties[0], "per.svensson@example.com");
    assert_null(c->parties[1]);

    c = dm_case_index_find(idx, "KS 2025/300");
    assert_non_null(c);
    assert_false(c->open); /* avslutat */

    c = dm_case_index_find(idx, "BN 2026/45");
    assert_non_null(c);
    assert_string_equal(c->title, "Bygglov för nybyggnad av enbostadshus, Sjövik 3:12");
    assert_string_equal(c->myndighet, "BN");

    c = dm_case_index_find(idx, "KS 2026/140");
    assert_non_null(c);
    assert_non_null(c->parties);
    assert_null(c->parties[0]); /* no parties */

    c = dm_case_index_find(idx, "SN 2026/210");
    assert_non_null(c);
    assert_true(c->sekretess);
    assert_true(c->open);
    assert_true(dm_case_index_find(idx, "BUN 2026/41")->sekretess);
    assert_false(dm_case_index_find(idx, "BUN 2026/33")->sekretess);

    /* Not in the diarium. */
    assert_null(dm_case_index_find(idx, "BN 2026/88"));
    assert_null(dm_case_index_find(idx, "BN 2026/19"));
    assert_null(dm_case_index_find(idx, NULL));
    /* Lookups are by normalized key, not as written. */
    assert_null(dm_case_index_find(idx, "BN-2026-45"));

    /* A citation in any form meets the export through its key. */
    {
        GPtrArray *all = dm_dnr_find_all(p, "Angående Dnr BN-2026-045 och bun 2026/33",
                                         dm_case_index_myndigheter(idx));
        assert_int_equal(all->len, 2);
        assert_non_null(dm_case_index_find(idx, ((dm_dnr *)g_ptr_array_index(all, 0))->key));
        assert_non_null(dm_case_index_find(idx, ((dm_dnr *)g_ptr_array_index(all, 1))->key));
        g_ptr_array_free(all, TRUE);
    }

    by = dm_case_index_by_party(idx, "maria.karlsson@example.org");
    assert_non_null(by);
    assert_int_equal(by->len, 1);
    assert_string_equal(((const dm_case *)g_ptr_array_index(by, 0))->key, "BN 2026/45");
    by = dm_case_index_by_party(idx, "arkitekt@ritbyran.example");
    assert_non_null(by);
    assert_int_equal(by->len, 1);
    assert_string_equal(((const dm_case *)g_ptr_array_index(by, 0))->key, "BN 2026/51");
    assert_null(dm_case_index_by_party(idx, "nobody@example.com"));
    assert_null(dm_case_index_by_party(idx, NULL));

    m = dm_case_index_myndigheter(idx);
    assert_non_null(m);
    assert_string_equal(m[0], "KS");
    assert_string_equal(m[1], "BN");
    assert_string_equal(m[2], "SN");
    assert_string_equal(m[3], "BUN");
    assert_null(m[4]);

    /* Reference counting. */
    assert_ptr_equal(dm_case_index_ref(idx), idx);
    dm_case_index_unref(idx);
    assert_int_equal(dm_case_index_size(idx), 10);
    dm_case_index_unref(idx);
    dm_case_index_unref(NULL);
    dm_dnr_parser_free(p);
}

static void test_index_add(void **state)
{
    dm_dnr_parser *p = parser_new(NULL);
    dm_case_index *idx = dm_case_index_new();
    const dm_case *c;
    const GPtrArray *by;

    (void)state;
    assert_int_equal(dm_case_index_size(idx), 0);
    assert_null(dm_case_index_myndigheter(idx)[0]);
    assert_int_equal(dm_case_index_size(NULL), 0);
    assert_null(dm_case_index_find(NULL, "KS 2026/112"));
    assert_null(dm_case_index_myndigheter(NULL)[0]);

    /* Not a case number. */
    assert_false(dm_case_index_add(idx, p, "hej", "KS", "t", "pågående", "", false));
    assert_false(dm_case_index_add(idx, p, "2026-11-30", "KS", "t", "pågående", "", false));
    assert_int_equal(dm_case_index_size(idx), 0);

    /* Written in another form: found under its key; the export's own
     * spelling is kept; parties split on , ; and spaces, lower-cased. */
    assert_true(dm_case_index_add(idx, p, "KS-2026-0112", NULL, "Titel", "Pågående",
                                  "Per.Svensson@Example.com; anna@example.net,  x@example.org",
                                  false));
    c = dm_case_index_find(idx, "KS 2026/112");
    assert_non_null(c);
    assert_string_equal(c->dnr, "KS-2026-0112");
    assert_string_equal(c->myndighet, "KS"); /* from the number when not given */
    assert_true(c->open);
    assert_string_equal(c->parties[0], "per.svensson@example.com");
    assert_string_equal(c->parties[1], "anna@example.net");
    assert_string_equal(c->parties[2], "x@example.org");
    assert_null(c->parties[3]);
    assert_non_null(dm_case_index_by_party(idx, "anna@example.net"));

    /* The myndighet column wins over the number's prefix, upper-cased. */
    assert_true(dm_case_index_add(idx, p, "2023/KS 0201", "bun", NULL, NULL, NULL, true));
    c = dm_case_index_find(idx, "KS 2023/201");
    assert_non_null(c);
    assert_string_equal(c->myndighet, "BUN");
    assert_string_equal(c->title, "");
    assert_true(c->sekretess);
    assert_true(c->open);
    assert_null(c->parties[0]);
    assert_string_equal(dm_case_index_myndigheter(idx)[0], "KS");
    assert_string_equal(dm_case_index_myndigheter(idx)[1], "BUN");
    assert_null(dm_case_index_myndigheter(idx)[2]);

    /* A later row for the same case replaces the earlier one, also in
     * what the parties' lookups return. */
    assert_true(dm_case_index_add(idx, p, "KS 2026/112", "KS", "Ny titel", "avslutat",
                                  "ny@example.com", false));
    assert_int_equal(dm_case_index_size(idx), 2);
    c = dm_case_index_find(idx, "KS 2026/112");
    assert_string_equal(c->title, "Ny titel");
    assert_false(c->open);
    by = dm_case_index_by_party(idx, "ny@example.com");
    assert_non_null(by);
    assert_int_equal(by->len, 1);
    assert_ptr_equal(g_ptr_array_index(by, 0), c);
    /* No stale, replaced case for the old row's parties. */
    assert_null(dm_case_index_by_party(idx, "per.svensson@example.com"));
    assert_null(dm_case_index_by_party(idx, "anna@example.net"));
    /* Same myndighet again: listed once. */
    assert_null(dm_case_index_myndigheter(idx)[2]);

    dm_case_index_unref(idx);
    dm_dnr_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_parse_lowercase_needs_known),
        cmocka_unit_test(test_not_case_numbers),
        cmocka_unit_test(test_find_all_order_dedup),
        cmocka_unit_test(test_windows_equal_full_scan),
        cmocka_unit_test(test_custom_patterns),
        cmocka_unit_test(test_status_open),
        cmocka_unit_test(test_index_fixture),
        cmocka_unit_test(test_index_add),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
