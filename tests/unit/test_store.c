/*
 * store/dm_store: the schema, the case import (the fixture export, bad
 * rows failing atomically with file:line, the generation, RFC 4180
 * quoting, a BOM, CRLF), and the journal (what a privat row keeps, the
 * keyed hash chain under edits and deletions, duplicates in a window).
 *
 * Through dm_store.h with the SQLite backend; what the backend stored is
 * read, and altered like an intruder would, through a connection of the
 * test's own to the same file.
 */
#include "dm_test.h"

#include <sqlite3.h>

#include "dm_case.h"
#include "dm_mime.h"
#include "dm_policy.h"
#include "dm_store.h"
#include "dm_util.h"
#include "dm_verdict.h"

/* ---- local helpers -------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    dm_mime_init();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_mime_shutdown();
    return 0;
}

static const char key[] = "a local secret for the tests, 32+";

typedef struct {
    char *dir;
    char *db;
    dm_store *store;
    sqlite3 *raw;                 /* the test's own connection, made when asked */
    dm_policy *policy;            /* etc/rules.conf: the export's words */
    const dm_dnr_parser *parser;  /* the policy's */
} fixture;

static int setup(void **state)
{
    fixture *f = g_new0(fixture, 1);
    GError *err = NULL;

    f->dir = dm_test_tmpdir();
    f->db = g_build_filename(f->dir, "diarie.db", NULL);
    f->store = dm_store_open(f->db, key, sizeof key - 1, &err);
    if (f->store == NULL) {
        print_error("dm_store_open: %s\n", err->message);
        return -1;
    }
    {
        dm_conf *conf = dm_conf_new_defaults();

        g_free(conf->rules_file);
        conf->rules_file = dm_test_path("etc/rules.conf");
        g_free(conf->templates);
        conf->templates = dm_test_path("etc/templates");
        f->policy = dm_policy_new(conf, &err);
        dm_conf_unref(conf);
    }
    if (f->policy == NULL) {
        print_error("dm_policy_new: %s\n", err->message);
        return -1;
    }
    f->parser = dm_policy_dnr_parser(f->policy);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    if (f->raw != NULL)
        sqlite3_close(f->raw);
    dm_store_close(f->store);
    dm_policy_free(f->policy);
    dm_test_rmtree(f->dir);
    g_free(f->db);
    g_free(f->dir);
    g_free(f);
    return 0;
}

static char *write_file(const fixture *f, const char *name, const char *text, gssize len)
{
    char *path = g_build_filename(f->dir, name, NULL);

    assert_true(g_file_set_contents(path, text, len, NULL));
    return path;
}

static size_t import_ok(fixture *f, const char *path)
{
    GError *err = NULL;
    size_t n = 12345;

    if (!dm_store_cases_import(f->store, path, f->parser, &n, &err)) {
        print_error("import %s: %s\n", path, err->message);
        fail();
    }
    assert_null(err);
    return n;
}

static dm_case_index *load_ok(fixture *f)
{
    GError *err = NULL;
    dm_case_index *idx = dm_store_cases_load(f->store, f->parser, &err);

    if (idx == NULL) {
        print_error("load: %s\n", err->message);
        fail();
    }
    return idx;
}

static sqlite3 *db(fixture *f)
{
    if (f->raw == NULL) {
        assert_int_equal(sqlite3_open_v2(f->db, &f->raw, SQLITE_OPEN_READWRITE, NULL),
                         SQLITE_OK);
        sqlite3_busy_timeout(f->raw, 10000);
    }
    return f->raw;
}

static void exec_sql(fixture *f, const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db(f), sql, NULL, NULL, &msg) != SQLITE_OK) {
        print_error("%s: %s\n", sql, msg);
        sqlite3_free(msg);
        fail();
    }
}

static int64_t query_int(fixture *f, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v;

    assert_int_equal(sqlite3_prepare_v2(db(f), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* ---- schema -------------------------------------------------------------- */

static void test_open_schema(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    dm_store *s;
    char *bad;

    assert_int_equal(query_int(f, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                  " name IN ('meta', 'cases', 'journal')"),
                     3);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal"), 0);
    assert_int_equal(query_int(f, "SELECT count(*) FROM cases"), 0);
    assert_int_equal(dm_store_cases_generation(f->store), 0);
    /* WAL, so that diariectl reads while the daemon writes. */
    {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(db(f), "PRAGMA journal_mode", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
    }

    /* Opening again (a second process) keeps what is there. */
    s = dm_store_open(f->db, key, sizeof key - 1, &err);
    assert_non_null(s);
    dm_store_close(s);

    /* A database in a directory that does not exist: an error. */
    bad = g_build_filename(f->dir, "no", "such", "dir", "x.db", NULL);
    s = dm_store_open(bad, key, sizeof key - 1, &err);
    assert_null(s);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "x.db"));
    g_clear_error(&err);
    g_free(bad);

    /* A file that is not a database: an error, not a crash. */
    bad = write_file(f, "not.db", "this is not an SQLite database, not at all, no...", -1);
    s = dm_store_open(bad, key, sizeof key - 1, &err);
    assert_null(s);
    assert_non_null(err);
    g_clear_error(&err);
    g_free(bad);
}

/* ---- cases ---------------------------------------------------------------- */

static void test_import_fixture(void **state)
{
    fixture *f = *state;
    char *path = dm_test_shared("fixtures/arenden.csv");
    dm_case_index *idx;
    const dm_case *c;
    const GPtrArray *by;

    assert_int_equal(import_ok(f, path), 10);
    assert_int_equal(dm_store_cases_generation(f->store), 1);
    idx = load_ok(f);
    assert_int_equal(dm_case_index_size(idx), 10);

    c = dm_case_index_find(idx, "KS 2026/112");
    assert_non_null(c);
    assert_string_equal(c->myndighet, "KS");
    assert_string_equal(c->title, "Medborgarförslag om belysning i Strandparken");
    assert_true(c->open);
    assert_false(c->sekretess);
    assert_non_null(c->parties);
    assert_string_equal(c->parties[0], "per.svensson@example.com");
    assert_null(c->parties[1]);
    by = dm_case_index_by_party(idx, "per.svensson@example.com");
    assert_non_null(by);
    assert_int_equal(by->len, 1);
    assert_ptr_equal(g_ptr_array_index(by, 0), c);

    c = dm_case_index_find(idx, "KS 2025/300");
    assert_non_null(c);
    assert_false(c->open);

    c = dm_case_index_find(idx, "SN 2026/210");
    assert_non_null(c);
    assert_true(c->sekretess);
    assert_string_equal(c->myndighet, "SN");
    assert_true(dm_case_index_find(idx, "BUN 2026/41")->sekretess);
    assert_false(dm_case_index_find(idx, "BUN 2026/33")->sekretess);

    /* A quoted title with a comma. */
    c = dm_case_index_find(idx, "BN 2026/45");
    assert_non_null(c);
    assert_string_equal(c->title, "Bygglov för nybyggnad av enbostadshus, Sjövik 3:12");
    assert_string_equal(c->parties[0], "maria.karlsson@example.org");

    assert_null(dm_case_index_find(idx, "KS 2026/999"));
    dm_case_index_unref(idx);
    g_free(path);
}

static void test_import_atomic(void **state)
{
    fixture *f = *state;
    char *good = dm_test_shared("fixtures/arenden.csv");
    char *bad = write_file(f, "bad.csv",
                           "diarienummer,myndighet,rubrik,status,parter,sekretess\n"
                           "KS 2026/1,KS,Ett,pågående,,nej\n"
                           "KS 2026/2,KS,Två,pågående,,nej\n"
                           "inte-ett-nummer,KS,Tre,pågående,,nej\n"
                           "KS 2026/4,KS,Fyra,pågående,,nej\n",
                           -1);
    char *expect;
    GError *err = NULL;
    size_t n = 99;
    dm_case_index *idx;

    assert_int_equal(import_ok(f, good), 10);
    assert_false(dm_store_cases_import(f->store, bad, f->parser, &n, &err));
    assert_non_null(err);
    assert_int_equal(n, 0);
    /* file:line of the bad row, and the bad value. */
    expect = g_strdup_printf("%s:4:", bad);
    if (strstr(err->message, expect) == NULL) {
        print_error("expected \"%s\" in \"%s\"\n", expect, err->message);
        fail();
    }
    assert_non_null(strstr(err->message, "inte-ett-nummer"));
    g_clear_error(&err);
    g_free(expect);

    /* The previous import is intact, the generation unchanged. */
    assert_int_equal(dm_store_cases_generation(f->store), 1);
    idx = load_ok(f);
    assert_int_equal(dm_case_index_size(idx), 10);
    assert_non_null(dm_case_index_find(idx, "KS 2026/112"));
    assert_null(dm_case_index_find(idx, "KS 2026/1"));
    dm_case_index_unref(idx);

    /* The store is usable after the failed import (no transaction left
     * open): a journal row and another import go through. */
    assert_int_equal(import_ok(f, good), 10);
    assert_int_equal(dm_store_cases_generation(f->store), 2);

    /* A file without a diarienummer column, a missing file, an empty
     * file, a file that is not UTF-8: errors, the import intact. */
    {
        char *nocol = write_file(f, "nocol.csv", "rubrik,status\nx,y\n", -1);
        char *empty = write_file(f, "empty.csv", "", 0);
        char *latin1 = write_file(f, "latin1.csv", "diarienummer,rubrik\nKS 2026/5,F\xf6r\n", -1);
        char *missing = g_build_filename(f->dir, "missing.csv", NULL);
        const char *paths[] = {nocol, empty, latin1, missing};

        for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
            assert_false(dm_store_cases_import(f->store, paths[i], f->parser, &n, &err));
            assert_non_null(err);
            assert_non_null(strstr(err->message, paths[i]));
            g_clear_error(&err);
        }
        idx = load_ok(f);
        assert_int_equal(dm_case_index_size(idx), 10);
        dm_case_index_unref(idx);
        assert_int_equal(dm_store_cases_generation(f->store), 2);
        g_free(nocol);
        g_free(empty);
        g_free(latin1);
        g_free(missing);
    }
    g_free(good);
    g_free(bad);
}

/* A title over several lines (quoted) does not shift the line numbers
 * errors name. */
static void test_import_multiline_field(void **state)
{
    fixture *f = *state;
    char *path = write_file(f, "multi.csv",
                            "diarienummer,rubrik\n"
                            "KS 2026/7,\"Första raden\nandra raden\ntredje\"\n"
                            "KS 2026/8,Vanlig\n"
                            "fel,Trasig\n",
                            -1);
    char *expect = g_strdup_printf("%s:6:", path);
    GError *err = NULL;
    size_t n;
    dm_case_index *idx;

    assert_false(dm_store_cases_import(f->store, path, f->parser, &n, &err));
    assert_non_null(err);
    if (strstr(err->message, expect) == NULL) {
        print_error("expected \"%s\" in \"%s\"\n", expect, err->message);
        fail();
    }
    g_clear_error(&err);
    g_free(expect);
    g_free(path);

    path = write_file(f, "multi-ok.csv",
                      "diarienummer,rubrik\n"
                      "KS 2026/7,\"Första raden\r\nandra raden\"\n"
                      "KS 2026/8,Vanlig\n",
                      -1);
    assert_int_equal(import_ok(f, path), 2);
    idx = load_ok(f);
    assert_string_equal(dm_case_index_find(idx, "KS 2026/7")->title,
                        "Första raden\r\nandra raden");
    assert_string_equal(dm_case_index_find(idx, "KS 2026/8")->title, "Vanlig");
    dm_case_index_unref(idx);
    g_free(path);
}

static void test_import_replaces(void **state)
{
    fixture *f = *state;
    char *good = dm_test_shared("fixtures/arenden.csv");
    char *small = write_file(f, "small.csv",
                             "diarienummer,myndighet,rubrik,status,parter,sekretess\n"
                             "KS 2026/500,KS,Ny,pågående,ny@invanare.example,nej\n",
                             -1);
    dm_case_index *idx;

    assert_int_equal(import_ok(f, good), 10);
    assert_int_equal(import_ok(f, small), 1);
    assert_int_equal(dm_store_cases_generation(f->store), 2);
    idx = load_ok(f);
    /* A new import replaces the old one, it does not add to it. */
    assert_int_equal(dm_case_index_size(idx), 1);
    assert_null(dm_case_index_find(idx, "KS 2026/112"));
    assert_non_null(dm_case_index_find(idx, "KS 2026/500"));
    dm_case_index_unref(idx);
    assert_int_equal(import_ok(f, good), 10);
    assert_int_equal(dm_store_cases_generation(f->store), 3);
    g_free(good);
    g_free(small);
}

/* "diariectl cases list": every case as imported, by authority and then
 * case number; the callback can stop. */
typedef struct {
    GPtrArray *seen;
    guint stop_after;
} cases_seen;

static bool collect_case(const dm_store_case *c, void *data)
{
    cases_seen *cs = data;

    g_ptr_array_add(cs->seen, g_strdup_printf("%s|%s|%s|%s|%s|%d", c->myndighet, c->dnr,
                                              c->title, c->status, c->parties, c->sekretess));
    return cs->stop_after == 0 || cs->seen->len < cs->stop_after;
}

static void test_cases_each(void **state)
{
    fixture *f = *state;
    char *path = write_file(f, "each.csv",
                            "diarienummer,myndighet,rubrik,status,parter,sekretess\n"
                            "SN 2026/2,SN,Andra,pågående,b@invanare.example,ja\n"
                            "KS 2026/9,KS,Nionde,avslutat,,nej\n"
                            "KS 2026/10,,Tionde,pågående,,nej\n",
                            -1);
    cases_seen cs = {g_ptr_array_new_with_free_func(g_free), 0};
    GError *err = NULL;

    assert_int_equal(import_ok(f, path), 3);
    assert_true(dm_store_cases_each(f->store, collect_case, &cs, &err));
    assert_int_equal(cs.seen->len, 3);
    /* The authority from the number when its column is empty. */
    assert_string_equal(g_ptr_array_index(cs.seen, 0), "KS|KS 2026/10|Tionde|pågående||0");
    assert_string_equal(g_ptr_array_index(cs.seen, 1), "KS|KS 2026/9|Nionde|avslutat||0");
    assert_string_equal(g_ptr_array_index(cs.seen, 2),
                        "SN|SN 2026/2|Andra|pågående|b@invanare.example|1");
    g_ptr_array_set_size(cs.seen, 0);
    cs.stop_after = 1;
    assert_true(dm_store_cases_each(f->store, collect_case, &cs, &err));
    assert_int_equal(cs.seen->len, 1);
    g_ptr_array_free(cs.seen, TRUE);
    g_free(path);
}

/* What the daemon hands to its user and what read-only tools look for,
 * without opening anything. */
static void test_local_files(void **state)
{
    fixture *f = *state;
    char *fresh = g_build_filename(f->dir, "new", "deeper", "d.db", NULL);
    char **files = dm_store_local_files(f->db);
    char *wal = g_strconcat(f->db, "-wal", NULL), *shm = g_strconcat(f->db, "-shm", NULL);
    char *dir = g_path_get_dirname(fresh);
    GError *err = NULL;
    dm_store *s;

    assert_int_equal(g_strv_length(files), 3);
    assert_string_equal(files[0], f->db);
    assert_string_equal(files[1], wal);
    assert_string_equal(files[2], shm);
    g_strfreev(files);
    assert_true(dm_store_exists(f->db));
    assert_false(dm_store_exists(fresh));
    /* prepare makes the directory a new database needs. */
    dm_store_prepare(fresh);
    assert_true(g_file_test(dir, G_FILE_TEST_IS_DIR));
    assert_false(dm_store_exists(fresh));
    s = dm_store_open(fresh, key, sizeof key - 1, &err);
    assert_non_null(s);
    dm_store_close(s);
    assert_true(dm_store_exists(fresh));
    g_free(wal);
    g_free(shm);
    g_free(dir);
    g_free(fresh);
}

static void test_import_quoting_bom_crlf(void **state)
{
    fixture *f = *state;
    /* A spreadsheet's export: BOM, CRLF, columns in another order and
     * named otherwise, quotes doubled inside quoted fields, a blank line,
     * several parties in one field. */
    char *path = write_file(
        f, "excel.csv",
        "\xEF\xBB\xBF"
        "Sekretess,Ärendemening,Diarienummer,Nämnd,Status,Parter\r\n"
        "Ja,\"Ansökan, \"\"akut\"\"\",SN 2026/300,SN,Pågående,\"a@invanare.example; B@Invanare.example\"\r\n"
        "\r\n"
        "nej,Enkel rubrik,BN 2026/301,,avslutat,\r\n"
        "x,\"Rad med \"\"citat\"\" och, komma\",KS 2026/302,KS,pågående,c@invanare.example",
        -1);
    dm_case_index *idx;
    const dm_case *c;

    assert_int_equal(import_ok(f, path), 3);
    idx = load_ok(f);
    assert_int_equal(dm_case_index_size(idx), 3);

    c = dm_case_index_find(idx, "SN 2026/300");
    assert_non_null(c);
    assert_string_equal(c->title, "Ansökan, \"akut\"");
    assert_true(c->sekretess);
    assert_true(c->open);
    assert_string_equal(c->parties[0], "a@invanare.example");
    assert_string_equal(c->parties[1], "b@invanare.example");
    assert_null(c->parties[2]);

    c = dm_case_index_find(idx, "BN 2026/301");
    assert_non_null(c);
    /* An empty myndighet: the one in the case number. */
    assert_string_equal(c->myndighet, "BN");
    assert_false(c->open);
    assert_false(c->sekretess);
    assert_null(c->parties[0]);

    c = dm_case_index_find(idx, "KS 2026/302");
    assert_non_null(c);
    assert_string_equal(c->title, "Rad med \"citat\" och, komma");
    assert_true(c->sekretess); /* "x" */
    dm_case_index_unref(idx);
    g_free(path);
}

/* ---- the journal ---------------------------------------------------------- */

static dm_verdict *verdict(dm_class klass)
{
    dm_verdict *v = dm_verdict_new();

    v->klass = klass;
    v->direction = DM_DIR_INBOUND;
    v->case_dnr = g_strdup("KS 2026/112");
    dm_verdict_add_reason(v, "R6.3", "cites KS 2026/112");
    dm_verdict_add_action(v, DM_ACT_COPY, "registrator@sjovik.test", "kommun@sjovik.test");
    return v;
}

static void add_row(fixture *f, const char *id, int64_t time, dm_class klass,
                    const char *message_id, const char *sha)
{
    dm_verdict *v = verdict(klass);
    char *rcpts[] = {"kommun@sjovik.test", "hemlig.bcc@sjovik.test"};
    dm_journal_entry e = {
        .id = id,
        .time = time,
        .queue_id = "4F2A11C0D",
        .message_id = message_id,
        .sender = "per.svensson@invanare.example",
        .rcpts = rcpts,
        .n_rcpts = 2,
        .subject = "Komplettering till medborgarförslag",
        .sha256 = sha,
        .verdict = v, .keep_all = dm_policy_journal_keeps(v),
    };
    GError *err = NULL;

    if (!dm_store_journal_add(f->store, &e, &err)) {
        print_error("journal_add: %s\n", err->message);
        fail();
    }
    assert_null(err);
    dm_verdict_free(v);
}

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static bool verify_head_ok;

static void verify(fixture *f, GArray **bad, size_t *n)
{
    GError *err = NULL;

    *bad = g_array_new(FALSE, FALSE, sizeof(int64_t));
    if (!dm_store_journal_verify(f->store, *bad, n, &verify_head_ok, &err)) {
        print_error("verify: %s\n", err->message);
        fail();
    }
}

static void test_journal_rows(void **state)
{
    fixture *f = *state;
    sqlite3_stmt *st = NULL;
    static const char *const hidden[] = {"queue_id", "message_id", "sender", "recipients",
                                         "subject", "direction", "case_dnr", "reasons",
                                         "actions", "dup_key"};

    add_row(f, "id00000000000000000a", 1000, DM_CLASS_REGISTRERAS, "m1@invanare.example", SHA_A);
    add_row(f, "id00000000000000000b", 1001, DM_CLASS_PRIVAT, "m2@invanare.example", SHA_B);
    add_row(f, "id00000000000000000c", 1002, DM_CLASS_PARTI, "m3@invanare.example", SHA_B);

    /* The registreras row keeps everything. */
    assert_int_equal(sqlite3_prepare_v2(db(f),
                                        "SELECT message_id, sender, recipients, subject, "
                                        "direction, case_dnr, reasons, actions, hash, class, "
                                        "time, queue_id FROM journal WHERE id = "
                                        "'id00000000000000000a'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "m1@invanare.example");
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "per.svensson@invanare.example");
    assert_string_equal((const char *)sqlite3_column_text(st, 2),
                        "kommun@sjovik.test,hemlig.bcc@sjovik.test");
    assert_string_equal((const char *)sqlite3_column_text(st, 3),
                        "Komplettering till medborgarförslag");
    assert_string_equal((const char *)sqlite3_column_text(st, 4), "inbound");
    assert_string_equal((const char *)sqlite3_column_text(st, 5), "KS 2026/112");
    assert_non_null(strstr((const char *)sqlite3_column_text(st, 6), "R6.3"));
    assert_non_null(strstr((const char *)sqlite3_column_text(st, 7), "registrator@sjovik.test"));
    assert_string_equal((const char *)sqlite3_column_text(st, 8), SHA_A);
    assert_string_equal((const char *)sqlite3_column_text(st, 9), "registreras");
    assert_int_equal(sqlite3_column_int64(st, 10), 1000);
    assert_string_equal((const char *)sqlite3_column_text(st, 11), "4F2A11C0D");
    sqlite3_finalize(st);

    /* privat and parti rows: the time, the class, a keyed hash; nothing
     * else. */
    for (int r = 0; r < 2; r++) {
        const char *id = r == 0 ? "id00000000000000000b" : "id00000000000000000c";
        char *sql;
        char want[65];

        for (size_t i = 0; i < G_N_ELEMENTS(hidden); i++) {
            sql = g_strdup_printf("SELECT %s IS NULL FROM journal WHERE id = '%s'", hidden[i], id);
            if (query_int(f, sql) != 1) {
                print_error("%s: column %s is not NULL\n", id, hidden[i]);
                fail();
            }
            g_free(sql);
        }
        sql = g_strdup_printf("SELECT hash, class, time FROM journal WHERE id = '%s'", id);
        assert_int_equal(sqlite3_prepare_v2(db(f), sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        {
            const char *h = (const char *)sqlite3_column_text(st, 0);
            assert_non_null(h);
            assert_int_equal(strlen(h), 64);
            assert_string_not_equal(h, SHA_B);
            /* Keyed: HMAC under the local key, not a plain digest. */
            dm_hmac_sha256_hex(key, sizeof key - 1, SHA_B, strlen(SHA_B), want);
            assert_string_equal(h, want);
            dm_sha256_hex(SHA_B, strlen(SHA_B), want);
            assert_string_not_equal(h, want);
        }
        assert_string_equal((const char *)sqlite3_column_text(st, 1),
                            r == 0 ? "privat" : "parti");
        assert_int_equal(sqlite3_column_int64(st, 2), r == 0 ? 1001 : 1002);
        sqlite3_finalize(st);
        g_free(sql);
    }
    /* The same message twice under one id: refused, not duplicated. */
    {
        dm_verdict *v = verdict(DM_CLASS_ALLMAN);
        dm_journal_entry e = {.id = "id00000000000000000a", .time = 5, .sha256 = SHA_A,
                              .verdict = v, .keep_all = dm_policy_journal_keeps(v)};
        GError *err = NULL;
        assert_false(dm_store_journal_add(f->store, &e, &err));
        assert_non_null(err);
        g_clear_error(&err);
        dm_verdict_free(v);
    }
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal"), 3);
}

static void test_journal_rejected_row(void **state)
{
    fixture *f = *state;
    dm_verdict *v = dm_verdict_new();
    dm_journal_entry e = {.id = "id0000000000000000rj", .time = 7, .message_id = "r@x",
                          .sender = "kalle@sjovik.test", .sha256 = SHA_A, .verdict = v};
    GError *err = NULL;

    v->reject = true;
    v->klass = DM_CLASS_NONE;
    e.keep_all = dm_policy_journal_keeps(v);
    assert_true(dm_store_journal_add(f->store, &e, &err));
    dm_verdict_free(v);
    assert_int_equal(query_int(f, "SELECT class = 'rejected' FROM journal"), 1);
}

/* What a row keeps is the entry's keep_all (policy's answer), never
 * store/'s own reading of the class: a registreras row written without
 * it is bare, and search shows it as such; the class alone hides
 * nothing. */
static void test_journal_keep_all_obeyed(void **state)
{
    fixture *f = *state;
    dm_verdict *v = verdict(DM_CLASS_REGISTRERAS);
    char *rcpts[] = {"kommun@sjovik.test"};
    dm_journal_entry e = {.id = "id0000000000000000k1", .time = 9000, .queue_id = "4F2A11C0E",
                          .message_id = "k1@invanare.example",
                          .sender = "per.svensson@invanare.example", .rcpts = rcpts,
                          .n_rcpts = 1, .subject = "Bygglov", .sha256 = SHA_A, .verdict = v};
    dm_journal_query q = {.since = 9000};
    GPtrArray *rows;
    dm_journal_row *r;

    assert_true(dm_store_journal_add(f->store, &e, NULL));
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE id = "
                                  "'id0000000000000000k1' AND class = 'registreras' AND"
                                  " subject IS NULL AND sender IS NULL AND recipients IS NULL"
                                  " AND message_id IS NULL AND queue_id IS NULL AND"
                                  " direction IS NULL AND reasons IS NULL AND hash <> '" SHA_A
                                  "'"),
                     1);
    dm_verdict_free(v);
    v = verdict(DM_CLASS_PRIVAT);
    e.id = "id0000000000000000k2";
    e.time = 9001;
    e.verdict = v;
    e.keep_all = true;
    assert_true(dm_store_journal_add(f->store, &e, NULL));
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE id = "
                                  "'id0000000000000000k2' AND subject = 'Bygglov'"),
                     1);
    dm_verdict_free(v);

    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_non_null(rows);
    assert_int_equal(rows->len, 2);
    r = g_ptr_array_index(rows, 0);
    assert_true(r->private_row);
    assert_string_equal(r->klass, "registreras");
    assert_null(r->subject);
    assert_null(r->hash);
    r = g_ptr_array_index(rows, 1);
    assert_false(r->private_row);
    assert_string_equal(r->subject, "Bygglov");
    g_ptr_array_free(rows, TRUE);
}

static void test_journal_verify(void **state)
{
    fixture *f = *state;
    GArray *bad;
    size_t n = 0;

    {
        /* An empty journal verifies. */
        verify(f, &bad, &n);
        assert_int_equal(n, 0);
        assert_int_equal(bad->len, 0);
        assert_true(verify_head_ok);
        g_array_free(bad, TRUE);
    }
    for (int i = 0; i < 5; i++) {
        char id[32], mid[32];
        g_snprintf(id, sizeof id, "id%018d", i);
        g_snprintf(mid, sizeof mid, "m%d@invanare.example", i);
        add_row(f, id, 1000 + i, i == 2 ? DM_CLASS_PRIVAT : DM_CLASS_REGISTRERAS, mid, SHA_A);
    }
    verify(f, &bad, &n);
    assert_int_equal(n, 5);
    assert_int_equal(bad->len, 0);
    g_array_free(bad, TRUE);

    /* Reopened (a restart): still verifies, and new rows chain on. */
    dm_store_close(f->store);
    f->store = dm_store_open(f->db, key, sizeof key - 1, NULL);
    assert_non_null(f->store);
    add_row(f, "id000000000000000005", 1005, DM_CLASS_ALLMAN, "m5@invanare.example", SHA_B);
    verify(f, &bad, &n);
    assert_int_equal(n, 6);
    assert_int_equal(bad->len, 0);
    assert_true(verify_head_ok);
    g_array_free(bad, TRUE);

    /* Someone edits one row's subject: exactly that row is reported. */
    exec_sql(f, "UPDATE journal SET subject = 'Något annat' WHERE seq = 2");
    verify(f, &bad, &n);
    assert_int_equal(n, 6);
    assert_int_equal(bad->len, 1);
    assert_int_equal(g_array_index(bad, int64_t, 0), 2);
    g_array_free(bad, TRUE);
}

static void test_journal_verify_delete(void **state)
{
    fixture *f = *state;
    GArray *bad;
    size_t n = 0;

    for (int i = 0; i < 5; i++) {
        char id[32], mid[32];
        g_snprintf(id, sizeof id, "id%018d", i);
        g_snprintf(mid, sizeof mid, "m%d@invanare.example", i);
        add_row(f, id, 1000 + i, DM_CLASS_REGISTRERAS, mid, SHA_A);
    }
    /* A middle row removed: the chain breaks at the row after it. */
    exec_sql(f, "DELETE FROM journal WHERE seq = 3");
    verify(f, &bad, &n);
    assert_int_equal(n, 4);
    assert_int_equal(bad->len, 1);
    assert_int_equal(g_array_index(bad, int64_t, 0), 4);
    assert_true(verify_head_ok);
    g_array_free(bad, TRUE);

    /* The last rows removed: every remaining row still chains, but the
     * recorded head names a row that is gone. */
    exec_sql(f, "DELETE FROM journal WHERE seq = 5");
    verify(f, &bad, &n);
    assert_int_equal(n, 3);
    assert_int_equal(bad->len, 1); /* seq 4, as before */
    assert_false(verify_head_ok);
    g_array_free(bad, TRUE);
}

static void test_journal_field_shift(void **state)
{
    fixture *f = *state;
    GArray *bad;
    size_t n = 0;
    dm_verdict *v = verdict(DM_CLASS_REGISTRERAS);
    char *rcpts[] = {"kommun@sjovik.test"};
    /* A sender chooses the subject: here one with a unit separator in it.
     * Moving its tail into the next field (the class) must break the
     * row's mac although the fields' concatenation stays the same. */
    dm_journal_entry e = {
        .id = "id000000000000000000",
        .time = 1000,
        .message_id = "m0@invanare.example",
        .sender = "per.svensson@invanare.example",
        .rcpts = rcpts,
        .n_rcpts = 1,
        .subject = "Komplettering\x1fregistreras",
        .sha256 = SHA_A,
        .verdict = v, .keep_all = dm_policy_journal_keeps(v),
    };

    assert_true(dm_store_journal_add(f->store, &e, NULL));
    dm_verdict_free(v);
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 0);
    g_array_free(bad, TRUE);
    exec_sql(f, "UPDATE journal SET subject = 'Komplettering', "
                "class = 'registreras' || char(31) || 'registreras' WHERE seq = 1");
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 1);
    g_array_free(bad, TRUE);
}

static void test_journal_verify_other_edits(void **state)
{
    fixture *f = *state;
    GArray *bad;
    size_t n = 0;
    dm_store *other;

    for (int i = 0; i < 3; i++) {
        char id[32];
        g_snprintf(id, sizeof id, "id%018d", i);
        add_row(f, id, 1000 + i, i == 1 ? DM_CLASS_PRIVAT : DM_CLASS_REGISTRERAS, "m@x", SHA_A);
    }
    /* Reclassifying a privat row, or filling in its NULLs, is seen. */
    exec_sql(f, "UPDATE journal SET class = 'registreras' WHERE seq = 2");
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 1);
    assert_int_equal(g_array_index(bad, int64_t, 0), 2);
    g_array_free(bad, TRUE);
    exec_sql(f, "UPDATE journal SET class = 'privat', sender = 'x@invanare.example' WHERE seq = 2");
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 1);
    g_array_free(bad, TRUE);
    exec_sql(f, "UPDATE journal SET sender = NULL WHERE seq = 2");
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 0);
    g_array_free(bad, TRUE);
    /* Changing the time of a row. */
    exec_sql(f, "UPDATE journal SET time = 999 WHERE seq = 3");
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 1);
    assert_int_equal(g_array_index(bad, int64_t, 0), 3);
    g_array_free(bad, TRUE);
    exec_sql(f, "UPDATE journal SET time = 1002 WHERE seq = 3");

    /* Without the key, the chain cannot be checked (nor rebuilt). */
    other = dm_store_open(f->db, "another key", 11, NULL);
    assert_non_null(other);
    {
        GArray *b = g_array_new(FALSE, FALSE, sizeof(int64_t));
        bool head = true;
        assert_true(dm_store_journal_verify(other, b, &n, &head, NULL));
        assert_int_equal(n, 3);
        assert_int_equal(b->len, 3);
        assert_false(head);
        g_array_free(b, TRUE);
    }
    dm_store_close(other);
}

static void test_journal_seen(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    bool seen = true;

    add_row(f, "id0000000000000000s1", 10000, DM_CLASS_REGISTRERAS, "dup@invanare.example", SHA_A);
    add_row(f, "id0000000000000000s2", 10000, DM_CLASS_PRIVAT, "priv@invanare.example", SHA_B);

    /* Within the window. */
    assert_true(dm_store_journal_seen(f->store, "dup@invanare.example", SHA_A, 9000, &seen, &err));
    assert_true(seen);
    assert_true(dm_store_journal_seen(f->store, "dup@invanare.example", SHA_A, 10000, &seen, &err));
    assert_true(seen);
    /* Outside it. */
    assert_true(dm_store_journal_seen(f->store, "dup@invanare.example", SHA_A, 10001, &seen, &err));
    assert_false(seen);
    /* Same Message-ID, other content; other Message-ID, same content. */
    assert_true(dm_store_journal_seen(f->store, "dup@invanare.example", SHA_B, 0, &seen, &err));
    assert_false(seen);
    assert_true(dm_store_journal_seen(f->store, "other@invanare.example", SHA_A, 0, &seen, &err));
    assert_false(seen);
    /* No Message-ID: never a duplicate. */
    assert_true(dm_store_journal_seen(f->store, "", SHA_A, 0, &seen, &err));
    assert_false(seen);
    assert_true(dm_store_journal_seen(f->store, NULL, SHA_A, 0, &seen, &err));
    assert_false(seen);
    /* A privat row keeps no Message-ID, so it cannot be matched. */
    assert_true(dm_store_journal_seen(f->store, "priv@invanare.example", SHA_B, 0, &seen, &err));
    assert_false(seen);
    assert_null(err);
}

/* ---- duplicates, by body ---------------------------------------------------- */

static void add_entry(fixture *f, const dm_journal_entry *e)
{
    GError *err = NULL;

    if (!dm_store_journal_add(f->store, e, &err)) {
        print_error("journal_add: %s\n", err->message);
        fail();
    }
}

static void test_journal_dup_body(void **state)
{
    fixture *f = *state;
    dm_verdict *v = verdict(DM_CLASS_REGISTRERAS);
    char *rcpts[] = {"kommun@sjovik.test"};
    dm_journal_entry e = {.id = "id0000000000000000d1", .time = 5000, .message_id = "m@x",
                          .sender = "a@invanare.example", .rcpts = rcpts, .n_rcpts = 1,
                          .sha256 = SHA_A, .body_sha256 = SHA_B, .verdict = v,
                          .keep_all = dm_policy_journal_keeps(v)};
    char *id = NULL, *k1, *k2;
    int64_t t = 0;
    bool seen = false, has = false;

    add_entry(f, &e);
    /* The duplicate key is the Message-ID with the body's hash: the same
     * body through another MX host (other Received lines, another hash
     * of the whole) is the same message. */
    assert_true(dm_store_journal_seen(f->store, "m@x", SHA_B, 0, &seen, NULL));
    assert_true(seen);
    assert_true(dm_store_journal_seen(f->store, "m@x", SHA_A, 0, &seen, NULL));
    assert_false(seen);
    k1 = dm_store_dup_key("m@x", SHA_B);
    k2 = dm_store_dup_key("m@x", SHA_A);
    assert_non_null(k1);
    assert_string_not_equal(k1, k2);
    assert_null(dm_store_dup_key("", SHA_B));
    assert_null(dm_store_dup_key(NULL, SHA_B));
    assert_true(dm_store_journal_find_dup(f->store, k1, 4000, &id, &t, NULL));
    assert_string_equal(id, "id0000000000000000d1");
    assert_int_equal(t, 5000);
    g_free(id);
    assert_true(dm_store_journal_find_dup(f->store, k1, 5001, &id, &t, NULL));
    assert_null(id);
    assert_true(dm_store_journal_find_dup(f->store, NULL, 0, &id, &t, NULL));
    assert_null(id);
    assert_true(dm_store_journal_has(f->store, "id0000000000000000d1", &has, NULL));
    assert_true(has);
    assert_true(dm_store_journal_has(f->store, "id0000000000000000zz", &has, NULL));
    assert_false(has);

    /* The second arrival: journalled, saying whose duplicate it is, with
     * the actions it owes itself: the engine took out the copy the first
     * owed (dm_store_owed_find); a forward stays, it is this delivery's. */
    g_ptr_array_remove_index(v->actions, 0);
    dm_verdict_add_action(v, DM_ACT_FORWARD, "delegat@sjovik.test", "kommun@sjovik.test");
    e.id = "id0000000000000000d2";
    e.time = 5100;
    /* (The reason is the engine's, worded by the policy.) */
    dm_verdict_add_reason(v, "duplicate", "samma meddelande som journalpost %s",
                          "id0000000000000000d1");
    add_entry(f, &e);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE id = "
                                  "'id0000000000000000d2' AND reasons LIKE "
                                  "'%\"duplicate\"%id0000000000000000d1%'"),
                     1);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE id = "
                                  "'id0000000000000000d2' AND actions NOT LIKE '%\"copy\"%'"
                                  " AND actions LIKE '%\"forward\"%delegat@sjovik.test%'"),
                     1);
    /* The first row stays the one found. */
    assert_true(dm_store_journal_find_dup(f->store, k1, 0, &id, NULL, NULL));
    assert_string_equal(id, "id0000000000000000d1");
    g_free(id);
    g_free(k1);
    g_free(k2);
    dm_verdict_free(v);
}

/* ---- actions owed once per message ------------------------------------------ */

static void test_owed_claims(void **state)
{
    fixture *f = *state;
    dm_verdict *v = verdict(DM_CLASS_REGISTRERAS);
    char *rcpts[] = {"bengt.ek@sjovik.test"};
    char *dup = dm_store_dup_key("split@invanare.example", SHA_B);
    char *copy = dm_store_owed_key(dup, "copy\n0\nregistrator@sjovik.test\n");
    char *notice = dm_store_owed_key(dup, "notice\n1\nbengt.ek@sjovik.test\nbengt.ek@sjovik.test");
    char *other = dm_store_owed_key(dup, "copy\n0\nsn-registrator@sjovik.test\n");
    char *keys1[] = {notice}, *keys2[] = {notice, copy}, *keys3[] = {copy, other};
    bool claimed[2];
    char *id = NULL;
    dm_journal_entry e = {.id = "id0000000000000000o1", .time = 7000,
                          .message_id = "split@invanare.example", .sender = "a@invanare.example",
                          .rcpts = rcpts, .n_rcpts = 1, .sha256 = SHA_A, .body_sha256 = SHA_B,
                          .verdict = v, .keep_all = dm_policy_journal_keeps(v),
                          .owed_keys = keys1, .n_owed = 1, .owed_since = 6000,
                          .owed_claimed = claimed};

    assert_non_null(copy);
    assert_string_not_equal(copy, notice);
    assert_string_not_equal(copy, other);
    assert_null(dm_store_owed_key(NULL, "copy"));
    assert_true(dm_store_owed_epoch(f->store) > 0);

    /* The first arrival, to the politician: the notice is claimed. */
    claimed[0] = false;
    add_entry(f, &e);
    assert_true(claimed[0]);
    assert_true(dm_store_owed_find(f->store, notice, 6000, &id, NULL));
    assert_string_equal(id, "id0000000000000000o1");
    g_free(id);
    assert_true(dm_store_owed_find(f->store, copy, 6000, &id, NULL));
    assert_null(id);

    /* The second, to kommun@: the notice is not claimed again (a live
     * claim stays its owner's), the copy is this row's. */
    e.id = "id0000000000000000o2";
    e.time = 7100;
    e.owed_keys = keys2;
    e.n_owed = 2;
    e.owed_since = 6100;
    claimed[0] = claimed[1] = true;
    add_entry(f, &e);
    assert_false(claimed[0]);
    assert_true(claimed[1]);
    assert_true(dm_store_owed_find(f->store, notice, 6100, &id, NULL));
    assert_string_equal(id, "id0000000000000000o1");
    g_free(id);
    assert_true(dm_store_owed_find(f->store, copy, 6100, &id, NULL));
    assert_string_equal(id, "id0000000000000000o2");
    g_free(id);

    /* Past the window the claim has expired: found no more, and taken
     * over by the next arrival that owes the action. */
    assert_true(dm_store_owed_find(f->store, copy, 7101, &id, NULL));
    assert_null(id);
    e.id = "id0000000000000000o3";
    e.time = 9000;
    e.owed_keys = keys3;
    e.owed_since = 7101;
    claimed[0] = claimed[1] = false;
    add_entry(f, &e);
    assert_true(claimed[0]);
    assert_true(claimed[1]);
    assert_true(dm_store_owed_find(f->store, copy, 7101, &id, NULL));
    assert_string_equal(id, "id0000000000000000o3");
    g_free(id);
    /* Expired claims are gone, and the table holds no addresses. */
    assert_int_equal(query_int(f, "SELECT count(*) FROM owed"), 2);
    assert_int_equal(query_int(f, "SELECT count(*) FROM owed WHERE key LIKE '%@%'"), 0);

    /* A row that fails takes its claims (and its clean-up) with it. */
    {
        char *lone = dm_store_owed_key(dup, "notice\n3\nlena.gustafsson@sjovik.test\nx");
        char *keys4[] = {lone};

        e.id = "id0000000000000000o3"; /* the same id again: refused */
        e.time = 9100;
        e.owed_keys = keys4;
        e.n_owed = 1;
        e.owed_since = 9050;
        assert_false(dm_store_journal_add(f->store, &e, NULL));
        assert_true(dm_store_owed_find(f->store, lone, 0, &id, NULL));
        assert_null(id);
        assert_int_equal(query_int(f, "SELECT count(*) FROM owed"), 2);
        g_free(lone);
    }

    g_free(dup);
    g_free(copy);
    g_free(notice);
    g_free(other);
    dm_verdict_free(v);
}

/* ---- the verify report ------------------------------------------------------ */

static dm_journal_report check_ok(fixture *f)
{
    dm_journal_report r;
    GError *err = NULL;

    if (!dm_store_journal_check(f->store, &r, &err)) {
        print_error("check: %s\n", err->message);
        fail();
    }
    return r;
}

static bool has_fault(const dm_journal_report *r, dm_journal_fault_kind k, int64_t seq,
                      int64_t seq_to)
{
    for (guint i = 0; i < r->faults->len; i++) {
        const dm_journal_fault *x = &g_array_index(r->faults, dm_journal_fault, i);
        if (x->kind == k && x->seq == seq && x->seq_to == seq_to)
            return true;
    }
    return false;
}

static void add_rows(fixture *f, int n, int64_t t0)
{
    static const dm_class classes[] = {DM_CLASS_REGISTRERAS, DM_CLASS_RINGA, DM_CLASS_PRIVAT,
                                       DM_CLASS_ALLMAN, DM_CLASS_RINGA, DM_CLASS_INTERN};
    int base = (int)query_int(f, "SELECT count(*) FROM journal") + 1000 * (int)(t0 % 7);

    for (int i = 0; i < n; i++) {
        char id[32], mid[32];
        g_snprintf(id, sizeof id, "id%018d", base + i);
        g_snprintf(mid, sizeof mid, "m%d@invanare.example", base + i);
        add_row(f, id, t0 + i, classes[i % G_N_ELEMENTS(classes)], mid, SHA_A);
    }
}

static void test_journal_report(void **state)
{
    fixture *f = *state;
    dm_journal_report r;

    add_rows(f, 8, 1000);
    r = check_ok(f);
    assert_int_equal(r.rows, 8);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.last_seq, 8);
    dm_journal_report_clear(&r);

    /* Rows 3 and 4 removed: a gap named as such, and the break after it. */
    exec_sql(f, "DELETE FROM journal WHERE seq IN (3, 4)");
    /* An edit of row 6. */
    exec_sql(f, "UPDATE journal SET recipients = 'x@sjovik.test' WHERE seq = 6");
    /* The last two removed. */
    exec_sql(f, "DELETE FROM journal WHERE seq >= 7");
    r = check_ok(f);
    assert_true(has_fault(&r, DM_JOURNAL_MISSING, 3, 4));
    assert_true(has_fault(&r, DM_JOURNAL_BROKEN, 5, 0));
    assert_true(has_fault(&r, DM_JOURNAL_ALTERED, 6, 0));
    assert_true(has_fault(&r, DM_JOURNAL_BAD_HEAD, 7, 8));
    assert_int_equal(r.faults->len, 4);
    /* A row's fault names the row as it stands (diariectl prints it);
     * a gap has no row to name. */
    for (guint i = 0; i < r.faults->len; i++) {
        const dm_journal_fault *x = &g_array_index(r.faults, dm_journal_fault, i);

        if (x->kind == DM_JOURNAL_ALTERED) {
            assert_string_equal(x->id, "id000000000000006005");
            assert_string_equal(x->klass, "intern");
            assert_int_equal(x->time, 1005);
        } else if (x->kind == DM_JOURNAL_BROKEN) {
            assert_string_equal(x->id, "id000000000000006004");
            assert_string_equal(x->klass, "ringa");
        } else {
            assert_null(x->id);
            assert_null(x->klass);
        }
    }
    dm_journal_report_clear(&r);

    /* Two rows swapped: both break the chain. */
    exec_sql(f, "UPDATE journal SET seq = 100 WHERE seq = 1;"
                "UPDATE journal SET seq = 1 WHERE seq = 2;"
                "UPDATE journal SET seq = 2 WHERE seq = 100");
    r = check_ok(f);
    assert_true(has_fault(&r, DM_JOURNAL_BROKEN, 1, 0));
    assert_true(has_fault(&r, DM_JOURNAL_BROKEN, 2, 0));
    dm_journal_report_clear(&r);

    /* The head record removed while rows remain. */
    exec_sql(f, "DELETE FROM meta WHERE key = 'journal_head'");
    r = check_ok(f);
    assert_true(has_fault(&r, DM_JOURNAL_BAD_HEAD, 0, 0));
    dm_journal_report_clear(&r);
}

/* ---- prune ------------------------------------------------------------------ */

static const dm_journal_retention retain_default[] = {
    {"registreras", 0}, {"allman", 0},   {"ringa", 100}, {"intern", 100},
    {"parti", 50},      {"privat", 50},  {"rejected", 50},
};

static void prune_ok(fixture *f, int64_t now, bool dry, size_t counts[7], size_t *removed)
{
    GError *err = NULL;

    if (!dm_store_journal_prune(f->store, retain_default, G_N_ELEMENTS(retain_default), now,
                                dry, counts, removed, &err)) {
        print_error("prune: %s\n", err->message);
        fail();
    }
}

static void test_journal_prune(void **state)
{
    fixture *f = *state;
    size_t counts[7], removed = 0;
    dm_journal_report r;
    GArray *bad;
    size_t n;

    /* 12 rows at 1000..1011: registreras, ringa, privat, allman, ringa,
     * intern, ... */
    add_rows(f, 12, 1000);
    /* Nothing old enough yet. */
    prune_ok(f, 1050, false, counts, &removed);
    for (int i = 0; i < 7; i++)
        assert_int_equal(counts[i], 0);
    /* A dry run counts and changes nothing. */
    prune_ok(f, 1106, true, counts, &removed);
    assert_int_equal(counts[2], 2); /* ringa before 1006: 1001, 1004 */
    assert_int_equal(counts[3], 1); /* intern before 1006: 1005 */
    assert_int_equal(counts[5], 2); /* privat before 1056: 1002, 1008 */
    assert_int_equal(counts[0], 0);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE pruned = 1"), 0);

    /* At 1106: ringa and intern before 1006, privat before 1056. */
    prune_ok(f, 1106, false, counts, &removed);
    assert_int_equal(counts[2], 2);
    assert_int_equal(counts[3], 1);
    assert_int_equal(counts[5], 2);
    assert_int_equal(removed, 0); /* row 1 (registreras) is kept: no prefix */
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal"), 12);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE pruned = 1"), 5);
    /* A tombstone keeps its time, class and place, nothing else. */
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE pruned = 1 AND"
                                  " (queue_id IS NOT NULL OR message_id IS NOT NULL OR sender"
                                  " IS NOT NULL OR recipients IS NOT NULL OR subject IS NOT NULL"
                                  " OR reasons IS NOT NULL OR actions IS NOT NULL OR hash != ''"
                                  " OR dup_key IS NOT NULL OR case_dnr IS NOT NULL)"),
                     0);
    assert_int_equal(query_int(f, "SELECT time FROM journal WHERE seq = 2"), 1001);
    assert_int_equal(query_int(f, "SELECT class = 'ringa' FROM journal WHERE seq = 2"), 1);
    /* And the chain still verifies. */
    r = check_ok(f);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.pruned, 5);
    dm_journal_report_clear(&r);
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 0);
    assert_true(verify_head_ok);
    g_array_free(bad, TRUE);

    /* Marking a row pruned without the key, or emptying it by hand, or
     * changing a tombstone's class or time: seen. */
    exec_sql(f, "UPDATE journal SET subject = NULL, sender = NULL, recipients = NULL,"
                " pruned = 1, seal = 'x' WHERE seq = 4");
    exec_sql(f, "UPDATE journal SET class = 'registreras' WHERE seq = 5");
    exec_sql(f, "UPDATE journal SET time = 1 WHERE seq = 6");
    exec_sql(f, "UPDATE journal SET subject = 'återuppväckt' WHERE seq = 3");
    r = check_ok(f);
    assert_true(has_fault(&r, DM_JOURNAL_BAD_SEAL, 4, 0));
    assert_true(has_fault(&r, DM_JOURNAL_BAD_SEAL, 5, 0));
    assert_true(has_fault(&r, DM_JOURNAL_BAD_SEAL, 6, 0));
    assert_true(has_fault(&r, DM_JOURNAL_ALTERED, 3, 0));
    assert_int_equal(r.faults->len, 4);
    dm_journal_report_clear(&r);
}

static void test_journal_prune_prefix(void **state)
{
    fixture *f = *state;
    size_t counts[7], removed = 0;
    dm_journal_report r;
    dm_journal_retention all[] = {{"registreras", 10}, {"allman", 10}, {"ringa", 10},
                                  {"intern", 10},      {"parti", 10},  {"privat", 10}};
    GError *err = NULL;

    add_rows(f, 6, 1000);
    add_rows(f, 6, 5000);
    /* Everything before 4000 goes: rows 1-6 are a pruned prefix, removed
     * behind an anchor; verify starts there. */
    assert_true(dm_store_journal_prune(f->store, all, G_N_ELEMENTS(all), 4010, false, counts,
                                       &removed, &err));
    assert_int_equal(removed, 6);
    assert_int_equal(query_int(f, "SELECT min(seq) FROM journal"), 7);
    r = check_ok(f);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.anchor_seq, 6);
    assert_int_equal(r.rows, 6);
    dm_journal_report_clear(&r);

    /* New rows chain on. */
    add_rows(f, 2, 9000);
    r = check_ok(f);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.last_seq, 14);
    dm_journal_report_clear(&r);

    /* Everything pruned: an empty journal whose anchor is its head. */
    assert_true(dm_store_journal_prune(f->store, all, G_N_ELEMENTS(all), 20000, false, counts,
                                       &removed, &err));
    assert_int_equal(removed, 8);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal"), 0);
    r = check_ok(f);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.anchor_seq, 14);
    dm_journal_report_clear(&r);
    /* ... and the next row follows the anchor. */
    add_rows(f, 1, 30000);
    assert_int_equal(query_int(f, "SELECT seq FROM journal"), 15);
    r = check_ok(f);
    assert_int_equal(r.faults->len, 0);
    dm_journal_report_clear(&r);

    /* A forged anchor (rows removed at the start by hand) is seen. */
    exec_sql(f, "UPDATE meta SET value = '14 abc def' WHERE key = 'journal_anchor'");
    r = check_ok(f);
    assert_true(has_fault(&r, DM_JOURNAL_BAD_ANCHOR, 14, 0));
    assert_true(has_fault(&r, DM_JOURNAL_BROKEN, 15, 0));
    dm_journal_report_clear(&r);
    /* So is the anchor removed. */
    exec_sql(f, "DELETE FROM meta WHERE key = 'journal_anchor'");
    r = check_ok(f);
    assert_true(has_fault(&r, DM_JOURNAL_MISSING, 1, 14));
    dm_journal_report_clear(&r);

    /* Pruning needs the key. */
    {
        dm_store *nokey = dm_store_open(f->db, NULL, 0, NULL);
        assert_false(dm_store_journal_prune(nokey, all, 1, 99999, false, counts, &removed,
                                            &err));
        g_clear_error(&err);
        dm_store_close(nokey);
    }
}

/* ---- search ----------------------------------------------------------------- */

static void test_journal_search(void **state)
{
    fixture *f = *state;
    dm_journal_query q = {0};
    GPtrArray *rows;
    dm_journal_row *r;

    add_row(f, "id0000000000000000q1", 1000, DM_CLASS_REGISTRERAS, "q1@x", SHA_A);
    add_row(f, "id0000000000000000q2", 2000, DM_CLASS_PRIVAT, "q2@x", SHA_A);
    add_row(f, "id0000000000000000q3", 3000, DM_CLASS_RINGA, "q3@x", SHA_A);
    exec_sql(f, "UPDATE journal SET case_dnr = NULL WHERE id = 'id0000000000000000q3'");

    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 3);
    /* A privat row: time, class and id only. */
    r = g_ptr_array_index(rows, 1);
    assert_string_equal(r->id, "id0000000000000000q2");
    assert_true(r->private_row);
    assert_null(r->sender);
    assert_null(r->hash);
    assert_null(r->message_id);
    r = g_ptr_array_index(rows, 0);
    assert_string_equal(r->sender, "per.svensson@invanare.example");
    assert_string_equal(r->message_id, "q1@x");
    g_ptr_array_free(rows, TRUE);

    /* By time: since inclusive, until exclusive. */
    q.since = 2000;
    q.until = 3000;
    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 1);
    g_ptr_array_free(rows, TRUE);
    q.since = q.until = 0;

    /* By address: sender, recipient, or where a copy went; exact. */
    q.address = "hemlig.bcc@sjovik.test";
    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 2); /* never the privat one */
    g_ptr_array_free(rows, TRUE);
    q.address = "registrator@sjovik.test";
    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 2);
    g_ptr_array_free(rows, TRUE);
    q.address = "bcc@sjovik.test";
    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 0);
    g_ptr_array_free(rows, TRUE);
    q.address = NULL;

    /* By case, however it is spaced or cased. */
    q.case_dnr = "ks  2026/112";
    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 1);
    g_ptr_array_free(rows, TRUE);
    q.case_dnr = NULL;

    /* By class, with a limit. */
    q.klass = "ringa";
    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 1);
    assert_string_equal(((dm_journal_row *)g_ptr_array_index(rows, 0))->id,
                        "id0000000000000000q3");
    g_ptr_array_free(rows, TRUE);
    q.klass = NULL;
    q.limit = 2;
    rows = dm_store_journal_search(f->store, &q, NULL);
    assert_int_equal(rows->len, 2);
    g_ptr_array_free(rows, TRUE);
}

/* A database of the first schema gets the new columns on open. */
/* ---- counters (R12, R13, R14) ---------------------------------------------- */

static void add_counted(fixture *f, const char *id, int64_t time, char **rcpts, size_t n,
                        const char *mass_sender, const char *autoreply, char **once,
                        size_t n_once)
{
    dm_verdict *v = verdict(DM_CLASS_RINGA);
    dm_journal_entry e = {
        .id = id,
        .time = time,
        .sender = "karin.wall@sjovik.test",
        .rcpts = rcpts,
        .n_rcpts = n,
        .sha256 = SHA_A,
        .verdict = v, .keep_all = dm_policy_journal_keeps(v),
        .mass_sender = mass_sender,
        .mass_since = time - 3600,
        .autoreply_person = autoreply,
        .autoreply_since = time - 86400,
        .once_keys = once,
        .n_once = n_once,
    };
    GError *err = NULL;

    if (!dm_store_journal_add(f->store, &e, &err)) {
        print_error("journal_add: %s\n", err->message);
        fail();
    }
    dm_verdict_free(v);
}

static unsigned mass_count(fixture *f, const char *sender, char **rcpts, size_t n,
                           int64_t since)
{
    unsigned c = 0;
    GError *err = NULL;

    assert_true(dm_store_mass_count(f->store, sender, rcpts, n, since, &c, &err));
    return c;
}

static void test_mass_window(void **state)
{
    fixture *f = *state;
    char *a[] = {"r1@example.com", "r2@example.com", "r3@example.com"};
    char *b[] = {"r3@example.com", "r4@example.com"};
    char *c[] = {"r5@example.com"};

    add_counted(f, "m1", 10000, a, 3, "karin.wall@sjovik.test", NULL, NULL, 0);
    /* Distinct recipients: r3 is counted once. */
    assert_int_equal(mass_count(f, "karin.wall@sjovik.test", b, 2, 10000 - 3600), 4);
    add_counted(f, "m2", 10100, b, 2, "karin.wall@sjovik.test", NULL, NULL, 0);
    assert_int_equal(mass_count(f, "karin.wall@sjovik.test", NULL, 0, 10100 - 3600), 4);
    assert_int_equal(mass_count(f, "karin.wall@sjovik.test", c, 1, 10100 - 3600), 5);
    /* Another sender has a window of its own. */
    assert_int_equal(mass_count(f, "olof.persson@sjovik.test", a, 3, 0), 3);
    /* A row without mass_sender counts nothing. */
    add_counted(f, "m3", 10200, c, 1, NULL, NULL, NULL, 0);
    assert_int_equal(mass_count(f, "karin.wall@sjovik.test", NULL, 0, 0), 4);
    /* The window slides: m1's r1, r2 fall out (r3 was seen again at m2). */
    assert_int_equal(mass_count(f, "karin.wall@sjovik.test", NULL, 0, 10050), 2);
    /* Recording prunes what left the window; no address is kept in clear. */
    add_counted(f, "m4", 20000, c, 1, "karin.wall@sjovik.test", NULL, NULL, 0);
    assert_int_equal(query_int(f, "SELECT count(*) FROM mass_window"), 1);
    assert_int_equal(query_int(f, "SELECT count(*) FROM mass_window WHERE sender LIKE '%@%'"
                                  " OR rcpt LIKE '%@%'"), 0);
    /* Survives closing and opening (a reload or restart). */
    dm_store_close(f->store);
    f->store = dm_store_open(f->db, key, sizeof key - 1, NULL);
    assert_non_null(f->store);
    assert_int_equal(mass_count(f, "karin.wall@sjovik.test", a, 3, 20000 - 3600), 4);
}

static void test_autoreply_and_once(void **state)
{
    fixture *f = *state;
    char *r[] = {"lisa.ahmed@example.com"};
    char *k1[] = {"manager|fatima.nilsson@sjovik.test|lena.gustafsson@sjovik.test|2026-11-22"};
    int64_t first = -1, last = -1;
    bool seen = true;
    GPtrArray *list;
    GError *err = NULL;

    assert_true(dm_store_autoreply_get(f->store, "jonas.alm@sjovik.test", &first, &last, &err));
    assert_int_equal(first, 0);
    assert_int_equal(last, 0);
    add_counted(f, "a1", 100000, r, 1, NULL, "jonas.alm@sjovik.test", NULL, 0);
    add_counted(f, "a2", 150000, r, 1, NULL, "jonas.alm@sjovik.test", NULL, 0);
    assert_true(dm_store_autoreply_get(f->store, "jonas.alm@sjovik.test", &first, &last, NULL));
    assert_int_equal(first, 100000); /* within a day of the last: one absence */
    assert_int_equal(last, 150000);
    /* Two days later: a new absence begins. */
    add_counted(f, "a3", 150000 + 2 * 86400, r, 1, NULL, "jonas.alm@sjovik.test", NULL, 0);
    assert_true(dm_store_autoreply_get(f->store, "jonas.alm@sjovik.test", &first, &last, NULL));
    assert_int_equal(first, 150000 + 2 * 86400);
    list = dm_store_autoreply_list(f->store, 150000, NULL);
    assert_non_null(list);
    assert_int_equal(list->len, 1);
    assert_string_equal(((dm_autoreply_row *)g_ptr_array_index(list, 0))->person,
                        "jonas.alm@sjovik.test");
    g_ptr_array_free(list, TRUE);
    list = dm_store_autoreply_list(f->store, 150000 + 3 * 86400, NULL);
    assert_int_equal(list->len, 0);
    g_ptr_array_free(list, TRUE);

    /* Once-keys: claimed with the row, seen afterwards, claimed once. */
    assert_true(dm_store_once_seen(f->store, k1[0], &seen, NULL));
    assert_false(seen);
    add_counted(f, "o1", 500000, r, 1, NULL, NULL, k1, 1);
    assert_true(dm_store_once_seen(f->store, k1[0], &seen, NULL));
    assert_true(seen);
    add_counted(f, "o2", 500001, r, 1, NULL, NULL, k1, 1);
    assert_int_equal(query_int(f, "SELECT count(*) FROM once"), 1);
    /* A row that cannot be written claims nothing: the id is taken. */
    {
        char *k2[] = {"manager|x@sjovik.test|y@sjovik.test|2026-11-23"};
        dm_verdict *v = verdict(DM_CLASS_RINGA);
        dm_journal_entry e = {.id = "o2", .time = 500002, .sha256 = SHA_A, .verdict = v,
                              .keep_all = dm_policy_journal_keeps(v),
                              .once_keys = k2, .n_once = 1,
                              .autoreply_person = "erik.sjoberg@sjovik.test"};
        assert_false(dm_store_journal_add(f->store, &e, &err));
        g_clear_error(&err);
        dm_verdict_free(v);
        assert_true(dm_store_once_seen(f->store, k2[0], &seen, NULL));
        assert_false(seen);
        assert_true(dm_store_autoreply_get(f->store, "erik.sjoberg@sjovik.test", &first, &last,
                                           NULL));
        assert_int_equal(last, 0);
    }
}

/* Group commit: many writers at once, some rows failing (an id taken),
 * each told its own outcome, the chain whole. */
typedef struct {
    fixture *f;
    int base;
    int ok, failed;
} writer;

static gpointer write_rows(gpointer data)
{
    writer *w = data;

    for (int i = 0; i < 40; i++) {
        char id[32];
        dm_verdict *v = verdict(i % 3 ? DM_CLASS_RINGA : DM_CLASS_PRIVAT);
        dm_journal_entry e = {.id = id, .time = 5000 + i, .sha256 = SHA_A, .verdict = v,
                              .keep_all = dm_policy_journal_keeps(v)};
        GError *err = NULL;

        /* Every tenth row reuses an id another writer also writes. */
        if (i % 10 == 9)
            g_snprintf(id, sizeof id, "shared%02d", i);
        else
            g_snprintf(id, sizeof id, "w%02dr%02d", w->base, i);
        if (dm_store_journal_add(w->f->store, &e, &err)) {
            w->ok++;
        } else {
            assert_non_null(err);
            g_error_free(err);
            w->failed++;
        }
        dm_verdict_free(v);
    }
    return NULL;
}

static void test_journal_group_commit(void **state)
{
    fixture *f = *state;
    writer w[8];
    GThread *t[8];
    int ok = 0, failed = 0;
    GArray *bad;
    size_t n = 0;

    for (int i = 0; i < 8; i++) {
        w[i] = (writer){.f = f, .base = i};
        t[i] = g_thread_new("writer", write_rows, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        g_thread_join(t[i]);
        ok += w[i].ok;
        failed += w[i].failed;
    }
    /* 8 x 36 own rows, and each of the 4 shared ids once. */
    assert_int_equal(ok, 8 * 36 + 4);
    assert_int_equal(failed, 7 * 4);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal"), ok);
    verify(f, &bad, &n);
    assert_int_equal(bad->len, 0);
    assert_int_equal(n, (size_t)ok);
    assert_true(verify_head_ok);
    g_array_free(bad, TRUE);
}

static void test_migrate(void **state)
{
    fixture *f = *state;
    char *old = g_build_filename(f->dir, "old.db", NULL);
    sqlite3 *d = NULL;
    dm_store *s;
    GArray *bad = g_array_new(FALSE, FALSE, sizeof(int64_t));
    size_t n;
    bool head = false;

    assert_int_equal(sqlite3_open(old, &d), SQLITE_OK);
    assert_int_equal(sqlite3_exec(d,
                                  "CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
                                  " id TEXT NOT NULL UNIQUE, time INTEGER NOT NULL, queue_id TEXT,"
                                  " message_id TEXT, direction TEXT, sender TEXT, recipients TEXT,"
                                  " subject TEXT, class TEXT NOT NULL, sekretess INTEGER NOT NULL"
                                  " DEFAULT 0, case_dnr TEXT, reasons TEXT, actions TEXT,"
                                  " hash TEXT NOT NULL, dup_key TEXT, prev TEXT NOT NULL,"
                                  " mac TEXT NOT NULL)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(d);
    s = dm_store_open(old, key, sizeof key - 1, NULL);
    assert_non_null(s);
    {
        int v = 0;

        /* Upgraded at open: SQLite's file is one gateway's own. */
        assert_true(dm_store_schema_version(s, &v, NULL));
        assert_int_equal(v, DM_STORE_SCHEMA_VERSION);
    }
    assert_true(dm_store_journal_verify(s, bad, &n, &head, NULL));
    assert_int_equal(n, 0);
    assert_true(head);
    dm_store_close(s);
    g_array_free(bad, TRUE);
    g_free(old);
}


/* The schema's version (PRAGMA user_version), the gateway a row names,
 * and the online backup. */
static void test_schema_version_backup(void **state)
{
    fixture *f = *state;
    dm_store_options opt = {.gateway = "mx1"};
    GError *err = NULL;
    dm_store *gw, *copy;
    char *path = g_build_filename(f->dir, "backup.db", NULL);
    dm_journal_report r;
    int v = 0, from = -1;

    assert_int_equal(query_int(f, "PRAGMA user_version"), DM_STORE_SCHEMA_VERSION);
    assert_true(dm_store_schema_version(f->store, &v, NULL));
    assert_int_equal(v, DM_STORE_SCHEMA_VERSION);
    assert_true(dm_store_upgrade(f->store, &from, NULL));
    assert_int_equal(from, DM_STORE_SCHEMA_VERSION);
    assert_string_equal(dm_store_backend_name(f->store), "sqlite");

    /* Rows without a gateway (as before gateways were named) and with
     * one, in one chain. */
    add_row(f, "id0000000000000000g1", 1000, DM_CLASS_RINGA, "g1@invanare.example", SHA_A);
    gw = dm_store_open_with(f->db, &opt, key, sizeof key - 1, &err);
    assert_non_null(gw);
    {
        dm_verdict *vd = verdict(DM_CLASS_RINGA);
        dm_journal_entry e = {.id = "id0000000000000000g2", .time = 1001, .sha256 = SHA_A,
                              .verdict = vd, .keep_all = dm_policy_journal_keeps(vd)};
        assert_true(dm_store_journal_add(gw, &e, NULL));
        dm_verdict_free(vd);
    }
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE gateway = 'mx1'"), 1);
    assert_int_equal(query_int(f, "SELECT count(*) FROM journal WHERE gateway IS NULL"), 1);
    r = check_ok(f);
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.faults->len, 0);
    dm_journal_report_clear(&r);

    /* A consistent copy while the store is open; the same key verifies
     * it; an existing file is not overwritten. */
    assert_true(dm_store_backup(gw, path, &err));
    assert_false(dm_store_backup(gw, path, &err));
    g_clear_error(&err);
    copy = dm_store_open(path, key, sizeof key - 1, NULL);
    assert_non_null(copy);
    assert_true(dm_store_journal_check(copy, &r, NULL));
    assert_int_equal(r.rows, 2);
    assert_int_equal(r.faults->len, 0);
    dm_journal_report_clear(&r);
    dm_store_close(copy);
    dm_store_close(gw);

    /* Who wrote a row is under the mac. */
    exec_sql(f, "UPDATE journal SET gateway = 'mx9' WHERE id = 'id0000000000000000g2'");
    r = check_ok(f);
    assert_true(has_fault(&r, DM_JOURNAL_ALTERED, 2, 0));
    dm_journal_report_clear(&r);

    /* A newer schema than this binary knows: refused. */
    exec_sql(f, "PRAGMA user_version = 99");
    gw = dm_store_open(f->db, key, sizeof key - 1, &err);
    assert_null(gw);
    assert_non_null(strstr(err->message, "newer"));
    g_clear_error(&err);
    g_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_version_backup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_fixture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_multiline_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_quoting_bom_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cases_each, setup, teardown),
        cmocka_unit_test_setup_teardown(test_local_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_rejected_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_keep_all_obeyed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_verify_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_field_shift, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_verify_other_edits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_dup_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_prune_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mass_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_autoreply_and_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owed_claims, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
