/*
 * store/: notices that ask for an answer and R15's questions, through
 * dm_store.h with the SQLite backend: answered only by their person and a
 * cited Message-ID, reminded once, a claim taken back; questions answered
 * by a Message-ID or by subject and correspondent, never before they
 * were asked; and what the tables keep (no address of a person, no
 * subject).  Each test runs on SQLite, and on PostgreSQL when a private
 * server can be had (tests/lib/pg.sh, as test_store_pg.c; DM_TEST_PG_URI
 * names another).
 */
#include "dm_test_pg.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include "dm_store.h"

static const char key[] = "a local secret for the tests, 32+";

static dm_test_pg pg;

static int group_setup(void **state)
{
    (void)state;
    dm_test_pg_start(&pg, "dmpgn-XXXXXX");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_test_pg_stop(&pg);
    return 0;
}

typedef struct {
    char *dir, *db;
    bool pg;
    dm_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = g_new0(fixture, 1);

    f->dir = dm_test_tmpdir();
    f->db = g_build_filename(f->dir, "diarie.db", NULL);
    f->store = dm_store_open(f->db, key, sizeof key - 1, NULL);
    *state = f;
    return f->store != NULL ? 0 : -1;
}

/* A fresh database on the private server. */
static int setup_pg(void **state)
{
    fixture *f = g_new0(fixture, 1);
    GError *err = NULL;

    *state = f;
    f->dir = dm_test_tmpdir();
    f->pg = true;
    if (pg.uri == NULL)
        return 0;
    if (pg.dir != NULL && !dm_test_pg_sh(pg.dir, "reset", NULL))
        return -1;
    f->db = g_strdup(pg.uri);
    f->store = dm_store_open(f->db, key, sizeof key - 1, &err);
    if (f->store == NULL) {
        print_error("dm_store_open: %s\n", err->message);
        return -1;
    }
    return 0;
}

/* Every value of the columns a query names, through the test's own
 * connection. */
static GPtrArray *raw_values(fixture *f, const char *sql)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

    if (f->pg) {
        PGconn *c = PQconnectdb(f->db);
        PGresult *r = PQexec(c, sql);

        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(r); i++)
            for (int k = 0; k < PQnfields(r); k++)
                g_ptr_array_add(out, g_strdup(PQgetvalue(r, i, k)));
        PQclear(r);
        PQfinish(c);
    } else {
        sqlite3 *raw;
        sqlite3_stmt *st;

        assert_int_equal(sqlite3_open(f->db, &raw), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(raw, sql, -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int k = 0; k < sqlite3_column_count(st); k++)
                g_ptr_array_add(out, g_strdup((const char *)sqlite3_column_text(st, k)));
        sqlite3_finalize(st);
        sqlite3_close(raw);
    }
    return out;
}

static int teardown(void **state)
{
    fixture *f = *state;

    if (f->store != NULL)
        dm_store_close(f->store);
    dm_test_rmtree(f->dir);
    g_free(f->dir);
    g_free(f->db);
    g_free(f);
    return 0;
}

static const dm_notice_row *find_notice(GPtrArray *rows, const char *id)
{
    for (guint i = 0; i < rows->len; i++) {
        const dm_notice_row *r = g_ptr_array_index(rows, i);
        if (strcmp(r->id, id) == 0)
            return r;
    }
    return NULL;
}

static void test_notices(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    unsigned n = 99;
    bool claimed = false;
    char pkey[65];
    char *ids_other[] = {"unrelated@x.example", "<b1@foretaget.example>"};
    char *ids_a[] = {"nothing@x.example", "<a1@ritbyran.example>"};
    GPtrArray *rows;

    if (f->store == NULL) {
        skip();
        return;
    }
    assert_true(dm_store_notice_add(f->store, "ID-A", 1000, "Bengt.Ek@example.net",
                                    "a1@ritbyran.example", "registrator@sjovik.test", &err));
    assert_true(dm_store_notice_add(f->store, "ID-B", 1100, "david.holm@sjovik.test",
                                    "b1@foretaget.example", "registrator@sjovik.test", &err));
    /* The same notice again (a retried arrival) is one notice. */
    assert_true(dm_store_notice_add(f->store, "ID-A", 1000, "bengt.ek@example.net",
                                    "a1@ritbyran.example", "registrator@sjovik.test", &err));

    /* Someone else citing A answers nothing; Bengt citing B neither. */
    assert_true(dm_store_notice_answer(f->store, "david.holm@sjovik.test", ids_a, 2, "ID-X",
                                       2000, &n, &err));
    assert_int_equal(n, 0);
    assert_true(dm_store_notice_answer(f->store, "bengt.ek@example.net", ids_other, 2, "ID-X",
                                       2000, &n, &err));
    assert_int_equal(n, 0);
    /* Before the notice was sent: not an answer to it. */
    assert_true(dm_store_notice_answer(f->store, "bengt.ek@example.net", ids_a, 2, "ID-X", 999,
                                       &n, &err));
    assert_int_equal(n, 0);
    /* Bengt citing A (<> and case of the address do not matter). */
    assert_true(dm_store_notice_answer(f->store, "BENGT.EK@example.net", ids_a, 2, "ID-F",
                                       2000, &n, &err));
    assert_int_equal(n, 1);
    assert_true(dm_store_notice_answer(f->store, "bengt.ek@example.net", ids_a, 2, "ID-G",
                                       2100, &n, &err));
    assert_int_equal(n, 0); /* answered once */

    rows = dm_store_notice_list(f->store, 0, &err);
    assert_non_null(rows);
    assert_int_equal(rows->len, 2);
    assert_int_equal(find_notice(rows, "ID-A")->answered, 2000);
    assert_string_equal(find_notice(rows, "ID-A")->answer_id, "ID-F");
    assert_int_equal(find_notice(rows, "ID-B")->answered, 0);
    assert_string_equal(find_notice(rows, "ID-B")->registrar, "registrator@sjovik.test");
    dm_store_person_key(f->store, "david.holm@sjovik.test", pkey);
    assert_string_equal(find_notice(rows, "ID-B")->person_key, pkey);
    g_ptr_array_free(rows, TRUE);

    /* A reminder is claimed once; an answered notice is never claimed. */
    assert_true(dm_store_notice_remind(f->store, "ID-B", pkey, 5000, &claimed, &err));
    assert_true(claimed);
    assert_true(dm_store_notice_remind(f->store, "ID-B", pkey, 5001, &claimed, &err));
    assert_false(claimed);
    /* Taken back (it could not be spooled): claimable again. */
    assert_true(dm_store_notice_remind(f->store, "ID-B", pkey, 0, &claimed, &err));
    assert_true(dm_store_notice_remind(f->store, "ID-B", pkey, 5002, &claimed, &err));
    assert_true(claimed);
    dm_store_person_key(f->store, "bengt.ek@example.net", pkey);
    assert_true(dm_store_notice_remind(f->store, "ID-A", pkey, 5000, &claimed, &err));
    assert_false(claimed);
    rows = dm_store_notice_list(f->store, 1050, &err);
    assert_int_equal(rows->len, 1); /* since */
    assert_int_equal(((dm_notice_row *)g_ptr_array_index(rows, 0))->reminded, 5002);
    g_ptr_array_free(rows, TRUE);

    /* What the table keeps: no person's address, no Message-ID. */
    rows = raw_values(f, "SELECT person, msg FROM notices");
    assert_int_equal(rows->len, 4);
    for (guint i = 0; i < rows->len; i++) {
        const char *v = g_ptr_array_index(rows, i);
        assert_null(strchr(v, '@'));
        assert_int_equal(strlen(v), 32);
    }
    g_ptr_array_free(rows, TRUE);
    assert_null(err);
}

static void test_questions(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    unsigned n = 99;
    char *refs[] = {"<other@x.example>", "q1@medborgare.example"};
    char *none[] = {NULL};
    char *sven[] = {"Sven@Medborgare.example"};
    char *other[] = {"someone@else.example"};
    GPtrArray *rows;

    if (f->store == NULL) {
        skip();
        return;
    }
    assert_true(dm_store_question_add(f->store, "Q1", 1000, "Bygglov@sjovik.test",
                                      "q1@medborgare.example", "sven@medborgare.example",
                                      "Fråga om handläggningstid", &err));
    assert_true(dm_store_question_add(f->store, "Q2", 1100, "bygglov@sjovik.test",
                                      "q2@medborgare.example", "sven@medborgare.example",
                                      "Avgift", &err));
    assert_true(dm_store_question_add(f->store, "Q3", 1200, "kommun@sjovik.test", "",
                                      "anna@medborgare.example", "Belysning", &err));

    /* By Message-ID. */
    assert_true(dm_store_question_answer(f->store, refs, 2, "Något annat", other, 1, "R1", 2000,
                                         &n, &err));
    assert_int_equal(n, 1);
    /* By subject (Re:/SV:/Fwd: off, case and blanks folded) and
     * correspondent; not to another correspondent, not before it was
     * asked. */
    assert_true(dm_store_question_answer(f->store, none, 0, "SV: Re:  AVGIFT", other, 1, "R2",
                                         2000, &n, &err));
    assert_int_equal(n, 0);
    assert_true(dm_store_question_answer(f->store, none, 0, "SV: Re:  AVGIFT", sven, 1, "R2",
                                         1050, &n, &err));
    assert_int_equal(n, 0);
    assert_true(dm_store_question_answer(f->store, none, 0, "SV: Re:  AVGIFT", sven, 1, "R2",
                                         2100, &n, &err));
    assert_int_equal(n, 1);

    rows = dm_store_question_list(f->store, 0, NULL, &err);
    assert_non_null(rows);
    assert_int_equal(rows->len, 3);
    {
        const dm_question_row *q1 = g_ptr_array_index(rows, 0), *q2 = g_ptr_array_index(rows, 1),
                              *q3 = g_ptr_array_index(rows, 2);

        assert_string_equal(q1->id, "Q1");
        assert_string_equal(q1->mailbox, "bygglov@sjovik.test");
        assert_int_equal(q1->answered, 2000);
        assert_string_equal(q1->answer_id, "R1");
        assert_int_equal(q2->answered, 2100);
        assert_int_equal(q3->answered, 0);
    }
    g_ptr_array_free(rows, TRUE);
    rows = dm_store_question_list(f->store, 0, "BYGGLOV@sjovik.test", &err);
    assert_int_equal(rows->len, 2);
    g_ptr_array_free(rows, TRUE);
    rows = dm_store_question_list(f->store, 1150, NULL, &err);
    assert_int_equal(rows->len, 1);
    g_ptr_array_free(rows, TRUE);
    /* No correspondent's address, no subject. */
    rows = raw_values(f, "SELECT msg, thread FROM questions");
    for (guint i = 0; i < rows->len; i++) {
        const char *v = g_ptr_array_index(rows, i);
        assert_null(strchr(v, '@'));
        assert_true(strlen(v) == 32 || *v == '\0');
    }
    g_ptr_array_free(rows, TRUE);
    assert_null(err);
}

static void test_subject_thread(void **state)
{
    char *s;

    (void)state;
    s = dm_store_subject_thread("SV: Re[2]: VB:  Fråga  om\tBYGGLOV ");
    assert_string_equal(s, "fråga om bygglov");
    g_free(s);
    s = dm_store_subject_thread("Resultat: svar");
    assert_string_equal(s, "resultat: svar"); /* "Re" of a word is no prefix */
    g_free(s);
    s = dm_store_subject_thread(NULL);
    assert_string_equal(s, "");
    g_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_notices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_questions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notices, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_questions, setup_pg, teardown),
        cmocka_unit_test(test_subject_thread),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
