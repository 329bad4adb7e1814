/*
 * store/dm_store_pg*: the PostgreSQL backend against a private server
 * (tests/lib/pg.sh: initdb in a temporary directory, a unix socket
 * there, stopped at the end), through dm_store.h as the daemon uses it.
 * Two dm_store handles on one database stand for two gateways.
 *
 * The schema and its versions; the case index; one chain written by two
 * gateways at once, verified, and tampered with through a connection of
 * the test's own; owed actions and once-a-period notices claimed by
 * exactly one of many racing arrivals; the counters shared; prune and
 * search; a migration from SQLite; and the failures a gateway must turn
 * into a 451 within bounded time and recover from without a restart: the
 * server stopped, a standby (read-only), a statement waiting too long, a
 * failover between two servers named in one URI.
 *
 * DM_TEST_PG_URI names a server to use instead (its database is
 * emptied).  Without either, the tests are skipped.
 */
#include "dm_test_pg.h"

#include <libpq-fe.h>

#include "dm_mime.h"
#include "dm_policy.h"
#include "dm_store.h"
#include "dm_util.h"
#include "dm_verdict.h"

static const char key[] = "a local secret for the tests, 32+";
static dm_test_pg pg;

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int group_setup(void **state)
{
    (void)state;
    dm_mime_init();
    dm_test_pg_start(&pg, "dmpg-XXXXXX");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_test_pg_stop(&pg);
    dm_mime_shutdown();
    return 0;
}

/* ---- the test's own connection -------------------------------------------- */

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static PGconn *raw_connect(void)
{
    PGconn *c = PQconnectdb(pg.uri);

    PQsetNoticeProcessor(c, quiet, NULL);
    if (PQstatus(c) != CONNECTION_OK) {
        print_error("connect: %s\n", PQerrorMessage(c));
        fail();
    }
    return c;
}

static void raw_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);

    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        print_error("%s: %s\n", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    PQclear(r);
}

static int64_t raw_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int64_t v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        print_error("%s: %s\n", sql, PQresultErrorMessage(r));
        PQclear(r);
        fail();
    }
    v = g_ascii_strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
}

/* ---- fixture: an empty database, two gateways ------------------------------ */

typedef struct {
    dm_store *mx1, *mx2;
    PGconn *raw;
} fixture;

static dm_store *open_gateway(const char *gateway, int64_t timeout)
{
    dm_store_options opt = {.gateway = gateway, .connect_timeout = 2, .timeout = timeout,
                            .pool_size = 4};
    GError *err = NULL;
    dm_store *s = dm_store_open_with(pg.uri, &opt, key, sizeof key - 1, &err);

    if (s == NULL) {
        print_error("open: %s\n", err->message);
        fail();
    }
    return s;
}

static int setup(void **state)
{
    fixture *f;

    if (pg.uri == NULL)
        skip();
    f = g_new0(fixture, 1);
    f->raw = raw_connect();
    raw_exec(f->raw, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    f->mx1 = open_gateway("mx1", 10);
    f->mx2 = open_gateway("mx2", 10);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    if (f == NULL)
        return 0;
    dm_store_close(f->mx1);
    dm_store_close(f->mx2);
    PQfinish(f->raw);
    g_free(f);
    return 0;
}

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

static bool add_row_err(dm_store *s, const char *id, int64_t time, dm_class klass,
                        GError **err)
{
    dm_verdict *v = verdict(klass);
    char *rcpts[] = {"kommun@sjovik.test", "hemlig.bcc@sjovik.test"};
    char mid[64];
    dm_journal_entry e = {.id = id, .time = time, .queue_id = "4F2A11C0D", .message_id = mid,
                          .sender = "per.svensson@invanare.example", .rcpts = rcpts,
                          .n_rcpts = 2, .subject = "Komplettering\ttill\nförslag \\ \"x\"",
                          .sha256 = SHA_A, .verdict = v, .keep_all = dm_policy_journal_keeps(v)};
    bool ok;

    g_snprintf(mid, sizeof mid, "%s@invanare.example", id);
    ok = dm_store_journal_add(s, &e, err);
    dm_verdict_free(v);
    return ok;
}

static void add_row(dm_store *s, const char *id, int64_t time, dm_class klass)
{
    GError *err = NULL;

    if (!add_row_err(s, id, time, klass, &err)) {
        print_error("journal_add %s: %s\n", id, err->message);
        fail();
    }
}

static dm_journal_report check(dm_store *s)
{
    dm_journal_report r;
    GError *err = NULL;

    if (!dm_store_journal_check(s, &r, &err)) {
        print_error("check: %s\n", err->message);
        fail();
    }
    return r;
}

static bool has_fault(const dm_journal_report *r, dm_journal_fault_kind k, int64_t seq)
{
    for (guint i = 0; i < r->faults->len; i++) {
        const dm_journal_fault *x = &g_array_index(r->faults, dm_journal_fault, i);
        if (x->kind == k && (seq == 0 || x->seq == seq))
            return true;
    }
    return false;
}

/* ---- the schema ------------------------------------------------------------- */

static void test_pg_schema(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    dm_store_options opt = {.connect_timeout = 2, .timeout = 5};
    dm_store *s;
    int v = 0, from = 0;

    assert_string_equal(dm_store_backend_name(f->mx1), "postgresql");
    assert_true(dm_store_schema_version(f->mx1, &v, NULL));
    assert_int_equal(v, DM_STORE_SCHEMA_VERSION);
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM diarie_schema"), 1);
    assert_true(dm_store_owed_epoch(f->mx1) > 0);
    {
        char **files = dm_store_local_files(pg.uri);

        assert_null(files[0]);
        g_strfreev(files);
    }

    /* A newer schema: refused, by the daemon and by the upgrade. */
    raw_exec(f->raw, "UPDATE diarie_schema SET version = 99");
    s = dm_store_open_with(pg.uri, &opt, key, sizeof key - 1, &err);
    assert_null(s);
    assert_non_null(strstr(err->message, "newer"));
    g_clear_error(&err);
    s = dm_store_open_for_upgrade(pg.uri, &opt, &err);
    assert_null(s);
    g_clear_error(&err);

    /* An older one: the daemon refuses and names the command; the
     * command upgrades it in place, and then the daemon opens it. */
    raw_exec(f->raw, "UPDATE diarie_schema SET version = 1");
    s = dm_store_open_with(pg.uri, &opt, key, sizeof key - 1, &err);
    assert_null(s);
    assert_non_null(strstr(err->message, "diariectl store upgrade"));
    g_clear_error(&err);
    s = dm_store_open_for_upgrade(pg.uri, &opt, &err);
    assert_non_null(s);
    assert_true(dm_store_upgrade(s, &from, &err));
    assert_int_equal(from, 1);
    assert_true(dm_store_upgrade(s, &from, &err));
    assert_int_equal(from, DM_STORE_SCHEMA_VERSION);
    dm_store_close(s);
    s = dm_store_open_with(pg.uri, &opt, key, sizeof key - 1, &err);
    assert_non_null(s);
    /* No file to back up: pg_dump is named. */
    assert_false(dm_store_backup(s, "/tmp/never-written.db", &err));
    assert_non_null(strstr(err->message, "pg_dump"));
    g_clear_error(&err);
    dm_store_close(s);
}

/* A password in the URI never reaches a message. */
static void test_pg_password_not_shown(void **state)
{
    GError *err = NULL;
    dm_store_options opt = {.connect_timeout = 1, .timeout = 1};
    dm_store *s = dm_store_open_with("postgresql://diarie:hemligt@127.0.0.1:1/diarie", &opt,
                                     key, sizeof key - 1, &err);

    (void)state;
    assert_null(s);
    assert_non_null(err);
    assert_null(strstr(err->message, "hemligt"));
    assert_true(dm_store_error_unavailable(err));
    g_clear_error(&err);
    s = dm_store_open_with("postgresql:///diarie?host=/nonexistent&password=hemligt", &opt, key,
                           sizeof key - 1, &err);
    assert_null(s);
    assert_null(strstr(err->message, "hemligt"));
    g_clear_error(&err);
}

/* ---- the case index ----------------------------------------------------------- */

static void test_pg_cases(void **state)
{
    fixture *f = *state;
    char *csv = dm_test_shared("fixtures/arenden.csv");
    dm_conf *conf = dm_conf_new_defaults();
    dm_policy *p;
    dm_case_index *idx;
    size_t n = 0;
    int64_t gen;

    g_free(conf->rules_file);
    conf->rules_file = dm_test_path("etc/rules.conf");
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");
    p = dm_policy_new(conf, NULL);
    assert_non_null(p);
    gen = dm_store_cases_generation(f->mx2);
    assert_true(dm_store_cases_import(f->mx1, csv, dm_policy_dnr_parser(p), &n, NULL));
    assert_int_equal(n, 10);
    /* The other gateway sees the import and reloads. */
    assert_true(dm_store_cases_generation(f->mx2) > gen);
    idx = dm_store_cases_load(f->mx2, dm_policy_dnr_parser(p), NULL);
    assert_non_null(idx);
    assert_non_null(dm_case_index_find(idx, "BN 2026/45"));
    dm_case_index_unref(idx);
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM cases"), 10);
    /* Again: replaced, not added. */
    assert_true(dm_store_cases_import(f->mx2, csv, dm_policy_dnr_parser(p), &n, NULL));
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM cases"), 10);
    dm_policy_free(p);
    dm_conf_unref(conf);
    g_free(csv);
}

/* ---- one chain, two gateways ---------------------------------------------------- */

typedef struct {
    dm_store *s;
    int gw, n;
} writer;

static gpointer write_rows(gpointer data)
{
    writer *w = data;

    for (int i = 0; i < w->n; i++) {
        char id[32];

        g_snprintf(id, sizeof id, "g%dr%04d%011d", w->gw, i, (int)(g_get_monotonic_time() % 100000000));
        add_row(w->s, id, 1000 + i, i % 5 == 0 ? DM_CLASS_PRIVAT : DM_CLASS_REGISTRERAS);
    }
    return NULL;
}

static void test_pg_chain_two_gateways(void **state)
{
    fixture *f = *state;
    writer w[4] = {{f->mx1, 1, 40}, {f->mx2, 2, 40}, {f->mx1, 3, 40}, {f->mx2, 4, 40}};
    GThread *t[4];
    dm_journal_report r;
    GPtrArray *rows;
    dm_journal_query q = {.address = "kommun@sjovik.test"};

    for (int i = 0; i < 4; i++)
        t[i] = g_thread_new("writer", write_rows, &w[i]);
    for (int i = 0; i < 4; i++)
        g_thread_join(t[i]);

    /* One chain in one order, whole, from either gateway. */
    r = check(f->mx2);
    assert_int_equal(r.rows, 160);
    assert_int_equal(r.last_seq, 160);
    assert_int_equal(r.faults->len, 0);
    dm_journal_report_clear(&r);
    assert_int_equal(raw_int(f->raw, "SELECT max(seq) - min(seq) + 1 FROM journal"), 160);
    /* Each row says which gateway wrote it. */
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM journal WHERE gateway = 'mx1'"), 80);
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM journal WHERE gateway = 'mx2'"), 80);
    /* privat rows keep no addresses, no subject. */
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM journal WHERE class = 'privat'"
                                     " AND (sender IS NOT NULL OR subject IS NOT NULL"
                                     " OR recipients IS NOT NULL OR message_id IS NOT NULL)"),
                     0);
    rows = dm_store_journal_search(f->mx1, &q, NULL);
    assert_non_null(rows);
    assert_int_equal(rows->len, 128);
    assert_string_equal(((dm_journal_row *)g_ptr_array_index(rows, 0))->subject,
                        "Komplettering\ttill\nförslag \\ \"x\"");
    assert_non_null(((dm_journal_row *)g_ptr_array_index(rows, 0))->gateway);
    g_ptr_array_free(rows, TRUE);

    /* Tampering, as an intruder with the database but not the key. */
    raw_exec(f->raw, "UPDATE journal SET gateway = 'mx9' WHERE seq = 7");
    raw_exec(f->raw, "UPDATE journal SET subject = 'annat' WHERE seq = 20");
    raw_exec(f->raw, "DELETE FROM journal WHERE seq = 50");
    r = check(f->mx1);
    assert_true(has_fault(&r, DM_JOURNAL_ALTERED, 7));
    assert_true(has_fault(&r, DM_JOURNAL_ALTERED, 20));
    assert_true(has_fault(&r, DM_JOURNAL_MISSING, 50));
    assert_true(has_fault(&r, DM_JOURNAL_BROKEN, 51));
    dm_journal_report_clear(&r);
    raw_exec(f->raw, "DELETE FROM journal WHERE seq = 160");
    r = check(f->mx1);
    assert_true(has_fault(&r, DM_JOURNAL_BAD_HEAD, 0));
    dm_journal_report_clear(&r);
}

typedef struct {
    dm_store *s;
    char id[32];
    bool ok;
} one_row;

static gpointer write_one(gpointer data)
{
    one_row *o = data;

    o->ok = add_row_err(o->s, o->id, 2000, DM_CLASS_RINGA, NULL);
    return NULL;
}

/* A row that cannot be written fails alone; the chain goes on. */
static void test_pg_row_fails_alone(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    dm_journal_report r;

    add_row(f->mx1, "id00000000000000000a", 1000, DM_CLASS_RINGA);
    assert_false(add_row_err(f->mx2, "id00000000000000000a", 1001, DM_CLASS_RINGA, &err));
    assert_non_null(err);
    g_clear_error(&err);
    add_row(f->mx2, "id00000000000000000b", 1002, DM_CLASS_RINGA);
    /* Bytes that are not UTF-8 (an envelope, a raw header): kept as
     * U+FFFD, not refused by the database for ever. */
    {
        dm_verdict *v = verdict(DM_CLASS_RINGA);
        char *rcpts[] = {"k\xe4lle@sjovik.test"};
        dm_journal_entry e = {.id = "id00000000000000000c", .time = 1003,
                              .sender = "p\xe4r@invanare.example", .rcpts = rcpts,
                              .n_rcpts = 1, .subject = "Fr\xe5ga", .message_id = "\xff@x",
                              .sha256 = SHA_A, .verdict = v,
                              .keep_all = dm_policy_journal_keeps(v)};

        assert_true(dm_store_journal_add(f->mx1, &e, NULL));
        dm_verdict_free(v);
        assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM journal WHERE subject = "
                                         "'Fr\xef\xbf\xbdga'"),
                         1);
    }
    r = check(f->mx1);
    assert_int_equal(r.rows, 3);
    assert_int_equal(r.last_seq, 3);
    assert_int_equal(r.faults->len, 0);
    dm_journal_report_clear(&r);

    /* Writers at once, so that rows share a transaction (group commit):
     * of two with the same id one fails, every other row is written. */
    for (int round = 0; round < 10; round++) {
        enum { N = 8 };
        one_row o[N];
        GThread *t[N];
        int ok = 0;

        for (int i = 0; i < N; i++) {
            o[i].s = f->mx1;
            g_snprintf(o[i].id, sizeof o[i].id, "batch%02d%02d%011d", round, i == N - 1 ? 0 : i,
                       0);
            t[i] = g_thread_new("row", write_one, &o[i]);
        }
        for (int i = 0; i < N; i++) {
            g_thread_join(t[i]);
            ok += o[i].ok;
        }
        assert_int_equal(ok, N - 1);
    }
    r = check(f->mx2);
    assert_int_equal(r.rows, 3 + 70);
    assert_int_equal(r.faults->len, 0);
    dm_journal_report_clear(&r);
}

/* ---- claims across gateways ----------------------------------------------------- */

typedef struct {
    dm_store *s;
    const char *owed, *once;
    int64_t time;
    char id[32];
    bool owed_claimed, once_claimed, ok;
    GMutex *m;
    GCond *c;
    int *go;
} arrival;

static gpointer arrive(gpointer data)
{
    arrival *a = data;
    dm_verdict *v = verdict(DM_CLASS_REGISTRERAS);
    char *rcpts[] = {"kommun@sjovik.test"};
    char *owed[] = {(char *)a->owed}, *once[] = {(char *)a->once};
    dm_journal_entry e = {.id = a->id, .time = a->time, .message_id = "race@invanare.example",
                          .sender = "a@invanare.example", .rcpts = rcpts, .n_rcpts = 1,
                          .sha256 = SHA_A, .body_sha256 = SHA_B, .verdict = v,
                          .keep_all = dm_policy_journal_keeps(v),
                          .owed_keys = owed, .n_owed = 1, .owed_since = a->time - 600,
                          .owed_claimed = &a->owed_claimed, .once_keys = once, .n_once = 1,
                          .once_claimed = &a->once_claimed};

    g_mutex_lock(a->m);
    while (!*a->go)
        g_cond_wait(a->c, a->m);
    g_mutex_unlock(a->m);
    a->ok = dm_store_journal_add(a->s, &e, NULL);
    dm_verdict_free(v);
    return NULL;
}

/* The same message through both gateways at once, many times: each
 * owed action and each once-a-day notice is claimed by exactly one
 * arrival. */
static void test_pg_claims_race(void **state)
{
    fixture *f = *state;
    GMutex m;
    GCond c;

    g_mutex_init(&m);
    g_cond_init(&c);
    for (int round = 0; round < 25; round++) {
        enum { N = 6 };
        arrival a[N];
        GThread *t[N];
        int go = 0, owed_won = 0, once_won = 0;
        char *dup, *owed, *once;
        char mid[64];

        g_snprintf(mid, sizeof mid, "race%d@invanare.example", round);
        dup = dm_store_dup_key(mid, SHA_B);
        owed = dm_store_owed_key(dup, "copy\n0\nregistrator@sjovik.test\n");
        once = g_strdup_printf("manager|bengt.ek@sjovik.test|chef@sjovik.test|2026-11-%02d",
                               round + 1);
        for (int i = 0; i < N; i++) {
            a[i] = (arrival){.s = i % 2 ? f->mx2 : f->mx1, .owed = owed, .once = once,
                             .time = 10000 + round, .m = &m, .c = &c, .go = &go};
            g_snprintf(a[i].id, sizeof a[i].id, "race%02d%02d%012d", round, i, 0);
            t[i] = g_thread_new("arrival", arrive, &a[i]);
        }
        g_mutex_lock(&m);
        go = 1;
        g_cond_broadcast(&c);
        g_mutex_unlock(&m);
        for (int i = 0; i < N; i++) {
            g_thread_join(t[i]);
            assert_true(a[i].ok);
            owed_won += a[i].owed_claimed;
            once_won += a[i].once_claimed;
        }
        assert_int_equal(owed_won, 1);
        assert_int_equal(once_won, 1);
        g_free(dup);
        g_free(owed);
        g_free(once);
    }
    g_mutex_clear(&m);
    g_cond_clear(&c);
    {
        dm_journal_report r = check(f->mx1);
        assert_int_equal(r.rows, 150);
        assert_int_equal(r.faults->len, 0);
        dm_journal_report_clear(&r);
    }
}

/* ---- counters shared ----------------------------------------------------------- */

static void test_pg_counters_shared(void **state)
{
    fixture *f = *state;
    dm_verdict *v = verdict(DM_CLASS_ALLMAN);
    char *rcpts[] = {"a@sjovik.test", "b@sjovik.test", "c@sjovik.test", "a@sjovik.test"};
    char *more[] = {"c@sjovik.test", "d@sjovik.test"};
    char *oncek[] = {"autoreply|bengt.ek@sjovik.test|5000"};
    dm_journal_entry e = {.id = "id000000000000000mw1", .time = 5000, .sender = "x@sjovik.test",
                          .rcpts = rcpts, .n_rcpts = 4, .sha256 = SHA_A, .verdict = v,
                          .keep_all = dm_policy_journal_keeps(v),
                          .mass_sender = "x@sjovik.test", .mass_since = 5000 - 3600,
                          .autoreply_person = "bengt.ek@sjovik.test",
                          .autoreply_since = 5000 - 3 * 86400, .once_keys = oncek,
                          .n_once = 1};
    unsigned count = 0;
    int64_t first = 0, last = 0;
    bool seen = false;
    GPtrArray *list;

    assert_true(dm_store_journal_add(f->mx1, &e, NULL));
    /* The other gateway counts the first one's recipients in the window. */
    assert_true(dm_store_mass_count(f->mx2, "x@sjovik.test", more, 2, 5000 - 3600, &count, NULL));
    assert_int_equal(count, 4);
    assert_true(dm_store_mass_count(f->mx2, "x@sjovik.test", more, 2, 5001, &count, NULL));
    assert_int_equal(count, 2);
    assert_true(dm_store_mass_count(f->mx2, "y@sjovik.test", more, 2, 0, &count, NULL));
    assert_int_equal(count, 2);
    /* The window holds keyed hashes, no addresses. */
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM mass_window WHERE rcpt LIKE '%@%'"
                                     " OR sender LIKE '%@%'"),
                     0);
    /* The absence one gateway learnt, the other knows. */
    assert_true(dm_store_autoreply_get(f->mx2, "bengt.ek@sjovik.test", &first, &last, NULL));
    assert_int_equal(first, 5000);
    assert_int_equal(last, 5000);
    e.id = "id000000000000000mw2";
    e.time = 6000;
    e.n_once = 0;
    e.autoreply_since = 6000 - 3 * 86400;
    assert_true(dm_store_journal_add(f->mx2, &e, NULL));
    assert_true(dm_store_autoreply_get(f->mx1, "bengt.ek@sjovik.test", &first, &last, NULL));
    assert_int_equal(first, 5000);
    assert_int_equal(last, 6000);
    list = dm_store_autoreply_list(f->mx1, 0, NULL);
    assert_non_null(list);
    assert_int_equal(list->len, 1);
    assert_int_equal(((dm_autoreply_row *)g_ptr_array_index(list, 0))->count, 2);
    g_ptr_array_free(list, TRUE);
    assert_true(dm_store_once_seen(f->mx2, oncek[0], &seen, NULL));
    assert_true(seen);
    dm_verdict_free(v);
}

/* ---- prune and search ------------------------------------------------------------- */

static void test_pg_prune(void **state)
{
    fixture *f = *state;
    dm_journal_retention retain[] = {{"ringa", 100}, {"registreras", 0}};
    size_t counts[2], removed = 0;
    dm_journal_report r;
    dm_journal_query q = {.klass = "ringa"};
    GPtrArray *rows;

    for (int i = 0; i < 10; i++) {
        char id[32];

        g_snprintf(id, sizeof id, "pr%018d", i);
        add_row(i % 2 ? f->mx1 : f->mx2, id, 1000 + i,
                i < 4 || i % 3 == 0 ? DM_CLASS_RINGA : DM_CLASS_REGISTRERAS);
    }
    assert_true(dm_store_journal_prune(f->mx1, retain, 2, 1200, true, counts, &removed, NULL));
    assert_int_equal(counts[0], 6);
    assert_true(dm_store_journal_prune(f->mx1, retain, 2, 1200, false, counts, &removed, NULL));
    assert_int_equal(counts[0], 6);
    assert_int_equal(removed, 4); /* the first four, behind an anchor */
    r = check(f->mx2);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.anchor_seq, 4);
    assert_int_equal(r.rows, 6);
    assert_int_equal(r.pruned, 2);
    dm_journal_report_clear(&r);
    /* Tombstones keep no gateway, no address. */
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM journal WHERE pruned = 1 AND"
                                     " (gateway IS NOT NULL OR sender IS NOT NULL)"),
                     0);
    rows = dm_store_journal_search(f->mx2, &q, NULL);
    assert_int_equal(rows->len, 2);
    assert_true(((dm_journal_row *)g_ptr_array_index(rows, 0))->pruned);
    assert_null(((dm_journal_row *)g_ptr_array_index(rows, 0))->sender);
    g_ptr_array_free(rows, TRUE);
    /* Everything pruned and removed: the chain goes on from the anchor. */
    retain[1].seconds = 100;
    assert_true(dm_store_journal_prune(f->mx1, retain, 2, 1200, false, counts, &removed, NULL));
    add_row(f->mx2, "pr000000000000000new", 1300, DM_CLASS_RINGA);
    r = check(f->mx1);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.last_seq, 11);
    dm_journal_report_clear(&r);
}

/* ---- migration from SQLite ---------------------------------------------------------- */

static void test_pg_migrate(void **state)
{
    fixture *f = *state;
    char *dir = dm_test_tmpdir();
    char *path = g_build_filename(dir, "diarie.db", NULL);
    dm_store *lite = dm_store_open(path, key, sizeof key - 1, NULL);
    dm_journal_retention retain[] = {{"ringa", 100}};
    size_t counts[1], removed;
    dm_journal_report r;
    GError *err = NULL;
    dm_verdict *v = verdict(DM_CLASS_ALLMAN);
    char *rcpts[] = {"a@sjovik.test"};
    char *owed[] = {"0123456789abcdef"};
    dm_journal_entry e = {.id = "id000000000000000mig", .time = 1500, .sender = "x@sjovik.test",
                          .message_id = "mig@x", .body_sha256 = SHA_B,
                          .rcpts = rcpts, .n_rcpts = 1, .sha256 = SHA_A, .verdict = v,
                          .keep_all = dm_policy_journal_keeps(v),
                          .mass_sender = "x@sjovik.test", .mass_since = 0,
                          .owed_keys = owed, .n_owed = 1, .owed_since = 0};
    char *id = NULL;
    unsigned count;

    assert_non_null(lite);
    for (int i = 0; i < 8; i++) {
        char id8[32];

        g_snprintf(id8, sizeof id8, "lite%016d", i);
        add_row(lite, id8, 1000 + i, i < 2 ? DM_CLASS_RINGA : DM_CLASS_PRIVAT);
    }
    assert_true(dm_store_journal_add(lite, &e, NULL));
    assert_true(dm_store_journal_prune(lite, retain, 1, 1200, false, counts, &removed, NULL));
    assert_int_equal(removed, 2);

    /* Into a database that already has rows: refused, nothing changed. */
    add_row(f->mx1, "already0000000000000", 1, DM_CLASS_RINGA);
    assert_false(dm_store_migrate(lite, f->mx1, &err));
    assert_non_null(strstr(err->message, "empty"));
    g_clear_error(&err);
    raw_exec(f->raw, "DELETE FROM journal; DELETE FROM meta WHERE key = 'journal_head'");

    if (!dm_store_migrate(lite, f->mx1, &err)) {
        print_error("migrate: %s\n", err->message);
        fail();
    }
    r = check(f->mx2);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.anchor_seq, 2);
    assert_int_equal(r.rows, 7);
    dm_journal_report_clear(&r);
    /* The claims and the window came along. */
    assert_true(dm_store_owed_find(f->mx2, owed[0], 0, &id, NULL));
    assert_string_equal(id, "id000000000000000mig");
    g_free(id);
    {
        char *dup = dm_store_dup_key("mig@x", SHA_B);

        assert_true(dm_store_journal_find_dup(f->mx2, dup, 0, &id, NULL, NULL));
        assert_string_equal(id, "id000000000000000mig");
        g_free(id);
        g_free(dup);
    }
    assert_true(dm_store_mass_count(f->mx2, "x@sjovik.test", NULL, 0, 0, &count, NULL));
    assert_int_equal(count, 1);
    /* And the chain goes on from there, from both gateways. */
    add_row(f->mx2, "after000000000000001", 2000, DM_CLASS_RINGA);
    add_row(f->mx1, "after000000000000002", 2001, DM_CLASS_RINGA);
    r = check(f->mx1);
    assert_int_equal(r.faults->len, 0);
    assert_int_equal(r.last_seq, 11);
    dm_journal_report_clear(&r);
    /* SQLite is no migration's destination. */
    assert_false(dm_store_migrate(f->mx1, lite, &err));
    g_clear_error(&err);

    dm_verdict_free(v);
    dm_store_close(lite);
    dm_test_rmtree(dir);
    g_free(path);
    g_free(dir);
}

/* ---- failures: a 451 within bounded time, and recovery ----------------------------- */

static void test_pg_statement_timeout(void **state)
{
    dm_store *slow = open_gateway("mx3", 1);
    PGconn *holder = raw_connect();
    GError *err = NULL;
    int64_t t0;

    /* Another session holds the journal's lock: the append waits at most
     * [store] timeout, then fails (the milter's 451). */
    raw_exec(holder, "BEGIN; SELECT pg_advisory_xact_lock(7235390247020429313)");
    t0 = g_get_monotonic_time();
    assert_false(add_row_err(slow, "slow0000000000000001", 1, DM_CLASS_RINGA, &err));
    assert_non_null(err);
    g_clear_error(&err);
    assert_true(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    raw_exec(holder, "COMMIT");
    PQfinish(holder);
    /* Then on, on the same handle. */
    add_row(slow, "slow0000000000000002", 2, DM_CLASS_RINGA);
    dm_store_close(slow);
    (void)state;
}

static void test_pg_read_only(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    bool ok = true;

    add_row(f->mx1, "ro000000000000000001", 1, DM_CLASS_RINGA);
    /* The database becomes read-only (a standby): new sessions cannot
     * write; the gateway's sessions are cut. */
    raw_exec(f->raw, "ALTER DATABASE diarie SET default_transaction_read_only = on");
    raw_exec(f->raw, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE application_name = 'diariemilter'");
    for (int i = 0; i < 2 && ok; i++) /* the first may meet the cut session */
        ok = add_row_err(f->mx1, "ro000000000000000002", 2, DM_CLASS_RINGA, &err),
        g_clear_error(&err);
    assert_false(ok);
    /* Reads still work. */
    {
        bool has = false;
        assert_true(dm_store_journal_has(f->mx1, "ro000000000000000001", &has, NULL));
        assert_true(has);
    }
    /* A primary again: the same handle writes without a restart. */
    raw_exec(f->raw, "ALTER DATABASE diarie RESET default_transaction_read_only");
    raw_exec(f->raw, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE application_name = 'diariemilter'");
    ok = false;
    for (int i = 0; i < 2 && !ok; i++)
        ok = add_row_err(f->mx1, "ro000000000000000003", 3, DM_CLASS_RINGA, &err),
        g_clear_error(&err);
    assert_true(ok);
}

static void test_pg_server_down(void **state)
{
    fixture *f = *state;
    GError *err = NULL;
    int64_t t0;
    dm_journal_report r;
    bool ok = false;

    if (pg.dir == NULL)
        skip(); /* a server of someone else's is not stopped */
    add_row(f->mx1, "down0000000000000001", 1, DM_CLASS_RINGA);
    assert_true(dm_test_pg_sh(pg.dir, "stop", "immediate"));
    t0 = g_get_monotonic_time();
    assert_false(add_row_err(f->mx1, "down0000000000000002", 2, DM_CLASS_RINGA, &err));
    assert_non_null(err);
    g_clear_error(&err);
    assert_false(add_row_err(f->mx2, "down0000000000000003", 3, DM_CLASS_RINGA, &err));
    g_clear_error(&err);
    /* The sessions it had are gone; a new one cannot be made. */
    assert_false(add_row_err(f->mx2, "down0000000000000003", 3, DM_CLASS_RINGA, &err));
    assert_true(dm_store_error_unavailable(err));
    g_clear_error(&err);
    /* Each within the bounds the configuration sets. */
    assert_true(g_get_monotonic_time() - t0 < 8 * G_USEC_PER_SEC);
    assert_true(dm_test_pg_sh(pg.dir, "restart", NULL));
    /* Back: the same handles write again (the pool connects anew; the
     * first call after a failed connect may still fail for a second). */
    for (int i = 0; i < 20 && !ok; i++) {
        ok = add_row_err(f->mx2, "down0000000000000004", 4, DM_CLASS_RINGA, &err);
        g_clear_error(&err);
        if (!ok)
            g_usleep(G_USEC_PER_SEC / 4);
    }
    assert_true(ok);
    add_row(f->mx1, "down0000000000000005", 5, DM_CLASS_RINGA);
    r = check(f->mx1);
    assert_int_equal(r.rows, 3);
    assert_int_equal(r.faults->len, 0);
    dm_journal_report_clear(&r);
}

/* Two servers, the URI naming both with target_session_attrs=read-write:
 * the gateway writes to whichever accepts writes, and after a failover
 * (the primary read-only, the other writable) finds the new one by
 * itself.  (A standby in recovery is read-only as default_transaction_
 * read_only makes these; libpq asks each host the same question.) */
static void test_pg_failover(void **state)
{
    fixture *f = *state;
    char *dir2 = g_build_filename(pg.dir != NULL ? pg.dir : "/nonexistent", "second", NULL);
    char *uri2, *both, *host1;
    dm_store_options opt = {.gateway = "mx1", .connect_timeout = 2, .timeout = 5};
    PGconn *raw2;
    dm_store *s;
    GError *err = NULL;
    bool ok = false;

    if (pg.dir == NULL)
        skip();
    if (!dm_test_pg_sh(dir2, "start", "--fast")) {
        g_free(dir2);
        fail();
    }
    uri2 = g_strdup_printf("postgresql:///diarie?host=%s&user=postgres", dir2);
    raw2 = PQconnectdb(uri2);
    assert_int_equal(PQstatus(raw2), CONNECTION_OK);
    PQsetNoticeProcessor(raw2, quiet, NULL);
    raw_exec(raw2, "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    /* The second gets the schema (a standby would have it by replication),
     * then is made read-only. */
    s = dm_store_open_with(uri2, &opt, key, sizeof key - 1, NULL);
    assert_non_null(s);
    dm_store_close(s);
    raw_exec(raw2, "ALTER DATABASE diarie SET default_transaction_read_only = on");

    /* The read-only one first in the list: skipped. */
    host1 = g_strdup(strstr(pg.uri, "host=") + 5);
    *strchr(host1, '&') = '\0';
    both = g_strdup_printf("postgresql:///diarie?host=%s,%s&user=postgres"
                           "&target_session_attrs=read-write",
                           dir2, host1);
    s = dm_store_open_with(both, &opt, key, sizeof key - 1, &err);
    assert_non_null(s);
    add_row(s, "fo000000000000000001", 1, DM_CLASS_RINGA);
    assert_int_equal(raw_int(f->raw, "SELECT count(*) FROM journal"), 1);
    assert_int_equal(raw_int(raw2, "SELECT count(*) FROM journal"), 0);

    /* Failover: the first becomes read-only, the second the primary;
     * the gateway's sessions are cut. */
    raw_exec(f->raw, "ALTER DATABASE diarie SET default_transaction_read_only = on");
    raw_exec(raw2, "ALTER DATABASE diarie RESET default_transaction_read_only");
    raw_exec(f->raw, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                     " WHERE application_name = 'diariemilter'");
    for (int i = 0; i < 3 && !ok; i++) {
        ok = add_row_err(s, "fo000000000000000002", 2, DM_CLASS_RINGA, &err);
        g_clear_error(&err);
        if (!ok)
            g_usleep(G_USEC_PER_SEC + G_USEC_PER_SEC / 10); /* past the retry pause */
    }
    assert_true(ok);
    assert_int_equal(raw_int(raw2, "SELECT count(*) FROM journal"), 1);
    dm_store_close(s);
    raw_exec(f->raw, "ALTER DATABASE diarie RESET default_transaction_read_only");

    PQfinish(raw2);
    dm_test_pg_sh(dir2, "stop", "immediate");
    g_free(uri2);
    g_free(both);
    g_free(host1);
    g_free(dir2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pg_schema, setup, teardown),
        cmocka_unit_test(test_pg_password_not_shown),
        cmocka_unit_test_setup_teardown(test_pg_cases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_chain_two_gateways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_row_fails_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_claims_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_counters_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_migrate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_statement_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_server_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pg_failover, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
