/*
 * metrics/: the counters as the text exposition format renders them, the
 * listener's answers, the textfile, and the spool census the gauges read.
 */
#include "dm_test.h"

#include <gio/gio.h>
#include <math.h>

#include "dm_conf.h"
#include "dm_metrics.h"
#include "dm_spool.h"
#include "dm_util.h"

static char *render(const dm_metrics_gauges *g)
{
    GString *out = g_string_new(NULL);

    dm_metrics_render(out, g);
    return g_string_free(out, FALSE);
}

/* The value of the series whose line starts with "series " (name and
 * labels exactly as rendered), or -1 when there is none. */
static double value_of(const char *text, const char *series)
{
    char *needle = g_strconcat("\n", series, " ", NULL);
    const char *p = strstr(text, needle);
    double v = -1;

    if (p == NULL && g_str_has_prefix(text, needle + 1))
        p = text - 1;
    if (p != NULL)
        v = g_ascii_strtod(p + strlen(needle), NULL);
    g_free(needle);
    return v;
}

/* Every line is a HELP, a TYPE or a sample; every sample belongs to a
 * family whose HELP and TYPE came first, each family declared once, no
 * series twice, every value a number, the text ends with a newline. */
static void assert_well_formed(const char *text)
{
    GHashTable *families = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTable *series = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char **lines;
    size_t n = strlen(text);

    assert_true(n > 0 && text[n - 1] == '\n');
    lines = g_strsplit(text, "\n", -1);
    for (int i = 0; lines[i + 1] != NULL; i++) {
        const char *l = lines[i];

        if (g_str_has_prefix(l, "# HELP ")) {
            char **w = g_strsplit(l + 7, " ", 2);
            assert_non_null(w[1]);
            assert_true(strlen(w[1]) > 0);
            assert_false(g_hash_table_contains(families, w[0]));
            g_strfreev(w);
            /* The TYPE line follows its HELP. */
            assert_true(g_str_has_prefix(lines[i + 1], "# TYPE "));
        } else if (g_str_has_prefix(l, "# TYPE ")) {
            char **w = g_strsplit(l + 7, " ", 3);
            assert_non_null(w[1]);
            assert_null(w[2]);
            assert_true(strcmp(w[1], "counter") == 0 || strcmp(w[1], "gauge") == 0 ||
                        strcmp(w[1], "histogram") == 0);
            assert_true(g_hash_table_insert(families, g_strdup(w[0]), g_strdup(w[1])));
            g_strfreev(w);
        } else {
            const char *sp = strrchr(l, ' ');
            size_t name_len = strcspn(l, "{ ");
            char *name = g_strndup(l, name_len);
            const char *type = g_hash_table_lookup(families, name);
            char *end = NULL;

            assert_non_null(sp);
            g_ascii_strtod(sp + 1, &end);
            assert_true(end != sp + 1 && *end == '\0');
            if (type == NULL) {
                /* A histogram's _bucket, _sum and _count. */
                for (const char *const *suf = (const char *const[]){"_bucket", "_sum", "_count",
                                                                     NULL};
                     *suf != NULL && type == NULL; suf++)
                    if (g_str_has_suffix(name, *suf)) {
                        char *base = g_strndup(name, name_len - strlen(*suf));
                        type = g_hash_table_lookup(families, base);
                        if (type != NULL)
                            assert_string_equal(type, "histogram");
                        g_free(base);
                    }
            }
            if (type == NULL)
                print_error("sample of an undeclared family: %s\n", l);
            assert_non_null(type);
            if (strcmp(type, "counter") == 0)
                assert_true(g_str_has_suffix(name, "_total"));
            assert_true(g_hash_table_insert(series, g_strndup(l, (size_t)(sp - l)), NULL));
            g_free(name);
        }
    }
    g_strfreev(lines);
    g_hash_table_destroy(families);
    g_hash_table_destroy(series);
}

static void test_counters(void **state)
{
    char *text;

    (void)state;
    dm_metrics_reset();
    dm_metrics_message(DM_CLASS_REGISTRERAS, DM_DIR_INBOUND, 1, 2, 0, 0, 0);
    dm_metrics_message(DM_CLASS_REGISTRERAS, DM_DIR_INBOUND, 1, 0, 1, 1, 1);
    dm_metrics_message(DM_CLASS_PRIVAT, DM_DIR_OUTBOUND, 0, 0, 0, 0, 0);
    dm_metrics_message(DM_CLASS_NONE, DM_DIR_OUTBOUND, 5, 0, 0, 0, 0); /* no class: not a message */
    dm_metrics_inc(DM_MC_REJECTS);
    dm_metrics_inc(DM_MC_DUPLICATES);
    dm_metrics_inc(DM_MC_DUPLICATES);
    dm_metrics_inc(DM_MC_OWN_MAIL);
    dm_metrics_inc(DM_MC_DIR_LOOKUPS);
    dm_metrics_inc(DM_MC_DIR_LOOKUPS);
    dm_metrics_inc(DM_MC_DIR_CACHE_HITS);
    dm_metrics_tempfail(DM_TEMPFAIL_DIRECTORY);
    dm_metrics_tempfail(DM_TEMPFAIL_LIMITS);
    dm_metrics_tempfail(DM_TEMPFAIL_LIMITS);
    text = render(NULL);
    assert_well_formed(text);

    assert_true(value_of(text, "diariemilter_messages_total{class=\"registreras\","
                               "direction=\"inbound\"}") == 2);
    assert_true(value_of(text, "diariemilter_messages_total{class=\"privat\","
                               "direction=\"outbound\"}") == 1);
    /* Every class and direction is there from the start, at 0. */
    assert_true(value_of(text, "diariemilter_messages_total{class=\"ringa\","
                               "direction=\"external\"}") == 0);
    {
        int n = 0;
        for (const char *p = text; (p = strstr(p, "\ndiariemilter_messages_total{")) != NULL; p++)
            n++;
        assert_int_equal(n, 6 * 4);
    }
    assert_true(value_of(text, "diariemilter_copies_total") == 7);
    assert_true(value_of(text, "diariemilter_notices_total") == 2);
    assert_true(value_of(text, "diariemilter_forwards_total") == 1);
    assert_true(value_of(text, "diariemilter_manager_notices_total") == 1);
    assert_true(value_of(text, "diariemilter_reminders_total") == 1);
    assert_true(value_of(text, "diariemilter_rejects_total") == 1);
    assert_true(value_of(text, "diariemilter_duplicates_total") == 2);
    assert_true(value_of(text, "diariemilter_unclassified_total{reason=\"own_mail\"}") == 1);
    assert_true(value_of(text, "diariemilter_unclassified_total{reason=\"directory_down\"}") == 0);
    assert_true(value_of(text, "diariemilter_tempfails_total{cause=\"directory\"}") == 1);
    assert_true(value_of(text, "diariemilter_tempfails_total{cause=\"store\"}") == 0);
    assert_true(value_of(text, "diariemilter_tempfails_total{cause=\"limits\"}") == 2);
    assert_true(value_of(text, "diariemilter_directory_lookups_total") == 2);
    assert_true(value_of(text, "diariemilter_directory_cache_hits_total") == 1);
    assert_true(value_of(text, "diariemilter_directory_errors_total") == 0);
    assert_non_null(strstr(text, "\ndiariemilter_build_info{version=\"" DM_VERSION "\"} 1\n"));
    assert_non_null(strstr(text, "\n# TYPE diariemilter_copies_total counter\n"));
    /* Without gauges, none of them. */
    assert_null(strstr(text, "diariemilter_spool_items"));
    assert_null(strstr(text, "diariemilter_start_time_seconds"));
    g_free(text);

    dm_metrics_reset();
    text = render(NULL);
    assert_true(value_of(text, "diariemilter_copies_total") == 0);
    assert_true(value_of(text, "diariemilter_tempfails_total{cause=\"limits\"}") == 0);
    g_free(text);
}

/* From a verdict, as the milter counts an accepted message. */
static void test_accepted(void **state)
{
    dm_verdict *v = dm_verdict_new();
    char *text;

    (void)state;
    dm_metrics_reset();
    v->klass = DM_CLASS_ALLMAN;
    v->direction = DM_DIR_OUTBOUND;
    dm_verdict_add_action(v, DM_ACT_COPY, "registrator@sjovik.test", "a@sjovik.test");
    dm_verdict_add_action(v, DM_ACT_NOTICE, "a@sjovik.test", "a@sjovik.test");
    dm_verdict_add_action(v, DM_ACT_NOTICE, "b@sjovik.test", "b@sjovik.test");
    dm_verdict_add_action(v, DM_ACT_FORWARD, "c@sjovik.test", "d@sjovik.test");
    dm_metrics_accepted(v, 1, false);
    dm_metrics_accepted(v, 0, true);
    text = render(NULL);
    assert_true(value_of(text, "diariemilter_messages_total{class=\"allman\","
                               "direction=\"outbound\"}") == 2);
    assert_true(value_of(text, "diariemilter_copies_total") == 2);
    assert_true(value_of(text, "diariemilter_notices_total") == 4);
    /* Forwards as the MTA took them, not as the verdict owes them. */
    assert_true(value_of(text, "diariemilter_forwards_total") == 1);
    assert_true(value_of(text, "diariemilter_duplicates_total") == 1);
    g_free(text);
    dm_verdict_free(v);
}

static void test_histogram(void **state)
{
    char *text;

    (void)state;
    dm_metrics_reset();
    dm_metrics_observe(DM_MH_EOM, 400);        /* 0.4 ms */
    dm_metrics_observe(DM_MH_EOM, 1000);       /* on a bound: in its bucket */
    dm_metrics_observe(DM_MH_EOM, 40000000);   /* 40 s: above every bound */
    dm_metrics_observe(DM_MH_EOM, -5);         /* a clock step back: 0 */
    dm_metrics_observe(DM_MH_JOURNAL_COMMIT, 3000);
    text = render(NULL);
    assert_well_formed(text);
    assert_true(value_of(text, "diariemilter_eom_seconds_bucket{le=\"0.0005\"}") == 2);
    assert_true(value_of(text, "diariemilter_eom_seconds_bucket{le=\"0.001\"}") == 3);
    assert_true(value_of(text, "diariemilter_eom_seconds_bucket{le=\"0.0025\"}") == 3);
    assert_true(value_of(text, "diariemilter_eom_seconds_bucket{le=\"30\"}") == 3);
    assert_true(value_of(text, "diariemilter_eom_seconds_bucket{le=\"+Inf\"}") == 4);
    assert_true(value_of(text, "diariemilter_eom_seconds_count") == 4);
    assert_true(fabs(value_of(text, "diariemilter_eom_seconds_sum") - 40.0014) < 1e-9);
    assert_true(value_of(text, "diariemilter_journal_commit_seconds_bucket{le=\"0.0025\"}") == 0);
    assert_true(value_of(text, "diariemilter_journal_commit_seconds_bucket{le=\"0.005\"}") == 1);
    assert_true(value_of(text, "diariemilter_directory_search_seconds_count") == 0);
    /* Buckets never decrease. */
    {
        double last = 0;
        const char *p = text;
        while ((p = strstr(p, "\ndiariemilter_eom_seconds_bucket{")) != NULL) {
            double v = g_ascii_strtod(strchr(p, '}') + 2, NULL);
            assert_true(v >= last);
            last = v;
            p++;
        }
    }
    g_free(text);
}

static void test_gauges(void **state)
{
    dm_metrics_gauges g = {
        .spool_ok = true, .spool_waiting = 3, .spool_delivering = 1, .spool_dead = 2,
        .spool_oldest_age = 61.5, .in_flight = 4, .start_time = 1796000000.25,
    };
    char *text;

    (void)state;
    dm_metrics_reset();
    text = render(&g);
    assert_well_formed(text);
    assert_true(value_of(text, "diariemilter_spool_items{state=\"waiting\"}") == 3);
    assert_true(value_of(text, "diariemilter_spool_items{state=\"delivering\"}") == 1);
    assert_true(value_of(text, "diariemilter_spool_items{state=\"dead\"}") == 2);
    assert_true(value_of(text, "diariemilter_spool_oldest_age_seconds") == 61.5);
    assert_true(value_of(text, "diariemilter_messages_in_flight") == 4);
    assert_true(value_of(text, "diariemilter_start_time_seconds") == 1796000000.25);
    g_free(text);

    /* A spool that could not be read: its series are left out. */
    g.spool_ok = false;
    text = render(&g);
    assert_well_formed(text);
    assert_null(strstr(text, "diariemilter_spool_"));
    assert_true(value_of(text, "diariemilter_messages_in_flight") == 4);
    g_free(text);
}

static void test_parse_listen(void **state)
{
    char *host = NULL;
    guint16 port = 0;

    (void)state;
    assert_true(dm_conf_parse_listen("127.0.0.1:9131", &host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9131);
    g_free(host);
    assert_true(dm_conf_parse_listen("[::1]:9131", &host, &port));
    assert_string_equal(host, "::1");
    g_free(host);
    assert_true(dm_conf_parse_listen("0.0.0.0:1", NULL, NULL));
    assert_false(dm_conf_parse_listen("::1:9131", NULL, NULL));
    assert_false(dm_conf_parse_listen("[127.0.0.1]:9131", NULL, NULL));
    assert_false(dm_conf_parse_listen("localhost:9131", NULL, NULL));
    assert_false(dm_conf_parse_listen("127.0.0.1", NULL, NULL));
    assert_false(dm_conf_parse_listen("127.0.0.1:", NULL, NULL));
    assert_false(dm_conf_parse_listen(":9131", NULL, NULL));
    assert_false(dm_conf_parse_listen("127.0.0.1:65536", NULL, NULL));
    assert_false(dm_conf_parse_listen("127.0.0.1:91x", NULL, NULL));
    assert_false(dm_conf_parse_listen("127.0.0.1:-1", NULL, NULL));
    assert_false(dm_conf_parse_listen("", NULL, NULL));
}

/* The configuration refuses a bad [metrics] listen and port 0. */
static void test_conf_keys(void **state)
{
    char *dir = dm_test_tmpdir();
    char *path = g_build_filename(dir, "m.conf", NULL);
    const char *bad[] = {"[metrics]\nlisten = localhost:9131\n", "[metrics]\nlisten = 127.0.0.1:0\n",
                         "[metrics]\ntextfile_interval = 0\n"};
    GError *err = NULL;
    dm_conf *conf;

    (void)state;
    conf = dm_conf_new_defaults();
    assert_string_equal(conf->metrics_listen, "");
    assert_string_equal(conf->metrics_textfile, "");
    assert_int_equal(conf->metrics_textfile_interval, 15);
    dm_conf_unref(conf);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_file_set_contents(path, bad[i], -1, NULL);
        conf = dm_conf_load(path, &err);
        assert_null(conf);
        assert_non_null(err);
        assert_non_null(strstr(err->message, ":2: [metrics] "));
        g_clear_error(&err);
    }
    g_file_set_contents(path, "[metrics]\nlisten = [::1]:9131\ntextfile = /x/d.prom\n", -1, NULL);
    conf = dm_conf_load(path, &err);
    assert_non_null(conf);
    assert_string_equal(conf->metrics_listen, "[::1]:9131");
    assert_string_equal(conf->metrics_textfile, "/x/d.prom");
    dm_conf_unref(conf);
    dm_test_rmtree(dir);
    g_free(path);
    g_free(dir);
}

/* --- the listener ------------------------------------------------------------ */

static int collected;

static void collect(dm_metrics_gauges *g, void *data)
{
    (void)data;
    collected++;
    g->spool_ok = true;
    g->spool_dead = 5;
}

/* Send req raw to 127.0.0.1:port; the whole answer (new string). */
static char *http(uint16_t port, const char *req, size_t len)
{
    GSocketClient *client = g_socket_client_new();
    GError *err = NULL;
    GSocketConnection *conn;
    GString *answer = g_string_new(NULL);
    char buf[4096];
    gssize n;

    g_socket_client_set_timeout(client, 10);
    conn = g_socket_client_connect_to_host(client, "127.0.0.1", port, NULL, &err);
    if (conn == NULL) {
        print_error("connect: %s\n", err->message);
        fail();
    }
    g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), req, len, NULL,
                              NULL, NULL);
    while ((n = g_input_stream_read(g_io_stream_get_input_stream(G_IO_STREAM(conn)), buf,
                                    sizeof buf, NULL, NULL)) > 0)
        g_string_append_len(answer, buf, n);
    g_object_unref(conn);
    g_object_unref(client);
    return g_string_free(answer, FALSE);
}

static char *http_s(uint16_t port, const char *req)
{
    return http(port, req, strlen(req));
}

static void test_listener(void **state)
{
    GError *err = NULL;
    dm_metrics_server *s;
    uint16_t port;
    char *a, *big;

    (void)state;
    dm_metrics_reset();
    dm_metrics_inc(DM_MC_REJECTS);
    s = dm_metrics_serve("127.0.0.1:0", "", 15, collect, NULL, &err);
    assert_non_null(s);
    port = dm_metrics_server_port(s);
    assert_true(port > 0);

    a = http_s(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(a, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    {
        const char *body = strstr(a, "\r\n\r\n") + 4;
        char *cl = g_strdup_printf("\r\nContent-Length: %zu\r\n", strlen(body));
        assert_non_null(strstr(a, cl));
        g_free(cl);
        assert_well_formed(body);
        assert_true(value_of(body, "diariemilter_rejects_total") == 1);
        assert_true(value_of(body, "diariemilter_spool_items{state=\"dead\"}") == 5);
    }
    assert_true(collected >= 1);
    g_free(a);

    /* A query string is the same page; HEAD has no body. */
    a = http_s(port, "GET /metrics?x=1 HTTP/1.0\n\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 200 OK\r\n"));
    g_free(a);
    a = http_s(port, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 200 OK\r\n"));
    assert_true(g_str_has_suffix(a, "\r\n\r\n"));
    g_free(a);

    a = http_s(port, "GET / HTTP/1.1\r\n\r\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 404 "));
    g_free(a);
    a = http_s(port, "GET /metricsx HTTP/1.1\r\n\r\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 404 "));
    g_free(a);
    a = http_s(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 405 "));
    assert_non_null(strstr(a, "\r\nAllow: GET, HEAD\r\n"));
    g_free(a);
    a = http_s(port, "hello\r\n\r\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 400 "));
    g_free(a);
    a = http_s(port, "GET /metrics\r\n\r\n"); /* HTTP/0.9 */
    assert_true(g_str_has_prefix(a, "HTTP/1.1 400 "));
    g_free(a);

    /* Longer than the bound without ending its headers: 400, and the
     * listener still answers the next one. */
    big = g_malloc(3 * DM_METRICS_MAX_REQUEST);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    memset(big + 26, 'a', 3 * DM_METRICS_MAX_REQUEST - 26);
    a = http(port, big, 3 * DM_METRICS_MAX_REQUEST);
    assert_true(g_str_has_prefix(a, "HTTP/1.1 400 "));
    g_free(a);
    g_free(big);
    /* A client that sends half a request and goes away. */
    g_free(http_s(port, "GET /met"));
    a = http_s(port, "GET /metrics HTTP/1.1\r\n\r\n");
    assert_true(g_str_has_prefix(a, "HTTP/1.1 200 OK\r\n"));
    g_free(a);

    /* The address is taken now: a second server says so. */
    {
        char *listen = g_strdup_printf("127.0.0.1:%u", port);
        dm_metrics_server *s2 = dm_metrics_serve(listen, "", 15, NULL, NULL, &err);
        assert_null(s2);
        assert_non_null(err);
        assert_non_null(strstr(err->message, listen));
        g_clear_error(&err);
        g_free(listen);
    }
    dm_metrics_server_stop(s);
    dm_metrics_server_stop(NULL);
}

static void test_textfile(void **state)
{
    char *dir = dm_test_tmpdir();
    char *path = g_build_filename(dir, "diariemilter.prom", NULL);
    GError *err = NULL;
    dm_metrics_server *s;
    char *text;
    GDir *d;
    int files = 0;

    (void)state;
    dm_metrics_reset();
    dm_metrics_inc(DM_MC_DUPLICATES);
    s = dm_metrics_serve("", path, 3600, collect, NULL, &err);
    assert_non_null(s);
    assert_int_equal(dm_metrics_server_port(s), 0);
    /* Written at the start ... */
    text = dm_test_read(path, NULL);
    assert_well_formed(text);
    assert_true(value_of(text, "diariemilter_duplicates_total") == 1);
    g_free(text);
    /* ... and once more at the stop, with the last counts. */
    dm_metrics_inc(DM_MC_DUPLICATES);
    dm_metrics_server_stop(s);
    text = dm_test_read(path, NULL);
    assert_true(value_of(text, "diariemilter_duplicates_total") == 2);
    g_free(text);
    /* Nothing but the file is left beside it. */
    d = g_dir_open(dir, 0, NULL);
    while (g_dir_read_name(d) != NULL)
        files++;
    g_dir_close(d);
    assert_int_equal(files, 1);

    /* Rewritten every interval. */
    s = dm_metrics_serve("", path, 1, NULL, NULL, &err);
    assert_non_null(s);
    dm_metrics_inc(DM_MC_DUPLICATES);
    for (int i = 0; i < 50; i++) {
        text = dm_test_read(path, NULL);
        if (value_of(text, "diariemilter_duplicates_total") == 3)
            break;
        g_free(text);
        text = NULL;
        g_usleep(100000);
    }
    assert_non_null(text);
    g_free(text);
    dm_metrics_server_stop(s);

    /* A directory that does not exist: the server runs and says so in
     * the log, and the file comes when it can. */
    {
        char *missing = g_build_filename(dir, "no", "such.prom", NULL);
        s = dm_metrics_serve("", missing, 3600, NULL, NULL, &err);
        assert_non_null(s);
        dm_metrics_server_stop(s);
        assert_false(g_file_test(missing, G_FILE_TEST_EXISTS));
        g_free(missing);
    }
    dm_test_rmtree(dir);
    g_free(path);
    g_free(dir);
}

/* --- the spool's census ------------------------------------------------------- */

static void test_spool_census(void **state)
{
    char *dir = dm_test_tmpdir();
    GError *err = NULL;
    dm_spool *sp = dm_spool_open(dir, true, &err);
    dm_spool_census c;
    char id[21];
    int64_t ms, now_ms = g_get_real_time() / 1000;
    dm_spool_tx *tx;

    (void)state;
    assert_non_null(sp);
    dm_id_new(id);
    assert_true(dm_id_time(id, &ms));
    assert_true(ms >= now_ms - 1000 && ms <= now_ms + 1000);
    assert_false(dm_id_time("00mwrhlivoldzkchcsm", &ms));  /* 19 */
    assert_false(dm_id_time("00mwrhlivoldzkchcsM!", &ms));

    assert_true(dm_spool_take_census(sp, &c, &err));
    assert_int_equal(c.count[DM_SPOOL_NEW] + c.count[DM_SPOOL_CUR] + c.count[DM_SPOOL_DEAD], 0);
    assert_int_equal(c.oldest_ms, 0);

    /* An item owed an hour ago (its name's id says when: written here
     * by hand, as only the name is read), one owed now, and one in
     * dead/ (not waiting: not in the age). */
    {
        char old[21], *p;
        int64_t t = now_ms - 3600 * 1000;
        static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";

        for (int i = 9; i >= 0; i--, t /= 36)
            old[i] = digits[t % 36];
        memcpy(old + 10, "abcdefghij", 11);
        p = g_strdup_printf("%s/new/notice-judge.%s.1", dir, old);
        g_file_set_contents(p, "x", 1, NULL);
        g_free(p);
    }
    tx = dm_spool_begin(sp, id);
    g_mime_stream_write_string(dm_spool_add(tx, "notice", "a@sjovik.test", "p@sjovik.test", 0,
                                            &err),
                               "Subject: y\r\n\r\ny\r\n");
    assert_true(dm_spool_commit(tx, &err));
    dm_spool_finish(tx, true);
    {
        char *dead = g_build_filename(dir, "dead", "copy.zzzzzzzzzzzzzzzzzzzz.0", NULL);
        g_file_set_contents(dead, "x", 1, NULL);
        g_free(dead);
    }
    assert_true(dm_spool_take_census(sp, &c, &err));
    assert_int_equal(c.count[DM_SPOOL_NEW], 2);
    assert_int_equal(c.count[DM_SPOOL_CUR], 0);
    assert_int_equal(c.count[DM_SPOOL_DEAD], 1);
    assert_true(c.oldest_ms >= now_ms - 3600 * 1000 - 1 && c.oldest_ms <= now_ms - 3600 * 1000 + 1);

    dm_spool_close(sp);
    dm_test_rmtree(dir);
    g_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters),     cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_gauges),       cmocka_unit_test(test_parse_listen),
        cmocka_unit_test(test_conf_keys),    cmocka_unit_test(test_listener),
        cmocka_unit_test(test_textfile),     cmocka_unit_test(test_spool_census),
    };

    g_mime_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
