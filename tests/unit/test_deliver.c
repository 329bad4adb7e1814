/*
 * store/dm_deliver: one item handed to a sendmail(1) stand-in (its
 * arguments, the message alone on its standard input, failures with the
 * program's own words), and delivery passes (delivered items removed,
 * failures deferred with backoff, the old ones buried in dead/).
 */
#include "dm_test.h"

#include <sys/stat.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_deliver.h"
#include "dm_log.h"
#include "dm_mime.h"
#include "dm_spool.h"

/* ---- local helpers -------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    dm_mime_init();
    /* Delivery logs its warnings and errors: keep them off syslog and
     * out of the test output. */
    dm_log_stderr_only((dm_log_level)LOG_CRIT);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_mime_shutdown();
    return 0;
}

typedef struct {
    char *dir;      /* everything of one test */
    char *spooldir;
    dm_spool *spool;
    char *script;   /* the sendmail stand-in */
    dm_conf *conf;
} fixture;

/* The stand-in: records its arguments (one a line) and standard input,
 * counts its runs; fails with 75 and a message on stderr for recipients
 * containing "fail", and floods stderr for "chatty". */
static const char script_text[] =
    "#!/bin/sh\n"
    "d='%s'\n"
    "n=$(cat \"$d/runs\" 2>/dev/null || echo 0)\n"
    "n=$((n + 1))\n"
    "echo $n > \"$d/runs\"\n"
    ": > \"$d/argv.$n\"\n"
    "for a in \"$@\"; do printf '%%s\\n' \"$a\" >> \"$d/argv.$n\"; done\n"
    "cat > \"$d/stdin.$n\"\n"
    "last=''\n"
    "for a in \"$@\"; do last=$a; done\n"
    "case \"$last\" in\n"
    "  *chatty*) i=0; while [ $i -lt 300 ]; do printf 'line %%d of a long complaint\\n' $i >&2;"
    " i=$((i + 1)); done; exit 75;;\n"
    "  *fail*) echo 'sendmail: 451 4.3.0 mailbox temporarily unavailable' >&2; exit 75;;\n"
    "esac\n"
    "exit 0\n";

static int setup(void **state)
{
    fixture *f = g_new0(fixture, 1);
    GError *err = NULL;
    char *text;

    f->dir = dm_test_tmpdir();
    f->spooldir = g_build_filename(f->dir, "spool", NULL);
    f->spool = dm_spool_open(f->spooldir, true, &err);
    if (f->spool == NULL) {
        print_error("spool: %s\n", err->message);
        return -1;
    }
    f->script = g_build_filename(f->dir, "fake-sendmail", NULL);
    text = g_strdup_printf(script_text, f->dir);
    if (!g_file_set_contents(f->script, text, -1, NULL) || chmod(f->script, 0755) != 0)
        return -1;
    g_free(text);

    f->conf = dm_conf_new_defaults();
    g_strfreev(f->conf->sendmail);
    f->conf->sendmail = g_new0(char *, 3);
    f->conf->sendmail[0] = g_strdup(f->script);
    f->conf->sendmail[1] = g_strdup("-i");
    f->conf->retry_min = 60;
    f->conf->retry_max = 3600;
    f->conf->dead_after = 2 * 86400;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    dm_conf_unref(f->conf);
    dm_spool_close(f->spool);
    dm_test_rmtree(f->dir);
    g_free(f->script);
    g_free(f->spooldir);
    g_free(f->dir);
    g_free(f);
    return 0;
}

static const char message[] = "From: Diariemilter <postmaster@sjovik.test>\n"
                              "To: registrator@sjovik.test\n"
                              "Subject: Kopia\n"
                              "\n"
                              "Brödtext, åäö.\n"
                              ".\n"
                              "Sista raden utan radslut";

/* Spool and commit one item (kind copy) for rcpt. */
static void spool_item(fixture *f, const char *from, const char *rcpt, const char *body)
{
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid00000000000000x");
    GError *err = NULL;
    GMimeStream *s = dm_spool_add(tx, "copy", from, rcpt, NULL, &err);

    assert_non_null(s);
    assert_int_equal(g_mime_stream_write(s, body, strlen(body)), (ssize_t)strlen(body));
    assert_true(dm_spool_commit(tx, &err));
    dm_spool_finish(tx, true);
}

static GPtrArray *items(fixture *f, bool dead)
{
    GPtrArray *a = dm_spool_list(f->spool, dead, NULL);

    assert_non_null(a);
    return a;
}

static dm_spool_item *find_item(GPtrArray *a, const char *rcpt)
{
    for (guint i = 0; i < a->len; i++) {
        dm_spool_item *it = g_ptr_array_index(a, i);
        if (strcmp(it->rcpt, rcpt) == 0)
            return it;
    }
    return NULL;
}

static int runs(fixture *f)
{
    char *p = g_build_filename(f->dir, "runs", NULL);
    char *text = NULL;
    int n = 0;

    if (g_file_get_contents(p, &text, NULL, NULL))
        n = atoi(text);
    g_free(text);
    g_free(p);
    return n;
}

static char *run_file(fixture *f, const char *what, int n)
{
    char *name = g_strdup_printf("%s.%d", what, n);
    char *p = g_build_filename(f->dir, name, NULL);
    gsize len;
    char *text = dm_test_read(p, &len);

    g_free(name);
    g_free(p);
    return text;
}

/* ---- tests ------------------------------------------------------------------ */

static void test_item_ok(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    dm_spool_item *it;
    char *error = (char *)"untouched", *argv, *in, *want_argv;

    spool_item(f, "postmaster@sjovik.test", "registrator@sjovik.test", message);
    a = items(f, false);
    assert_int_equal(a->len, 1);
    it = g_ptr_array_index(a, 0);
    assert_true(dm_deliver_item(f->conf, it, &error));
    assert_null(error);
    assert_int_equal(runs(f), 1);

    /* The configured arguments, then -f sender -- recipient. */
    argv = run_file(f, "argv", 1);
    want_argv = g_strdup("-i\n-f\npostmaster@sjovik.test\n--\nregistrator@sjovik.test\n");
    assert_string_equal(argv, want_argv);
    /* Standard input: the message exactly, not the spool envelope. */
    in = run_file(f, "stdin", 1);
    assert_string_equal(in, message);
    assert_null(strstr(in, "DIARIE-SPOOL"));
    g_free(argv);
    g_free(want_argv);
    g_free(in);
    /* dm_deliver_item does not remove: the pass does. */
    g_ptr_array_free(a, TRUE);
    a = items(f, false);
    assert_int_equal(a->len, 1);
    g_ptr_array_free(a, TRUE);
}

static void test_item_null_sender_and_dash_rcpt(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    char *error = NULL, *argv;

    /* <> as sender, and a recipient that looks like an option: it stays
     * an argument after "--". */
    spool_item(f, "", "-oQ/tmp/evil@sjovik.test", message);
    a = items(f, false);
    assert_true(dm_deliver_item(f->conf, g_ptr_array_index(a, 0), &error));
    argv = run_file(f, "argv", 1);
    assert_string_equal(argv, "-i\n-f\n\n--\n-oQ/tmp/evil@sjovik.test\n");
    g_free(argv);
    g_ptr_array_free(a, TRUE);
}

static void test_item_fails(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    char *error = NULL;

    spool_item(f, "postmaster@sjovik.test", "fail@sjovik.test", message);
    a = items(f, false);
    assert_false(dm_deliver_item(f->conf, g_ptr_array_index(a, 0), &error));
    assert_non_null(error);
    /* The program's own words, and which program. */
    assert_non_null(strstr(error, "451 4.3.0 mailbox temporarily unavailable"));
    assert_non_null(strstr(error, f->script));
    assert_non_null(strstr(error, "75"));
    g_free(error);
    g_ptr_array_free(a, TRUE);
}

static void test_item_no_program(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    char *error = NULL;

    spool_item(f, "postmaster@sjovik.test", "registrator@sjovik.test", message);
    a = items(f, false);
    g_free(f->conf->sendmail[0]);
    f->conf->sendmail[0] = g_build_filename(f->dir, "no-such-sendmail", NULL);
    assert_false(dm_deliver_item(f->conf, g_ptr_array_index(a, 0), &error));
    assert_non_null(error);
    assert_non_null(strstr(error, "no-such-sendmail"));
    g_free(error);

    /* The item's file gone meanwhile: an error, no crash. */
    g_free(f->conf->sendmail[0]);
    f->conf->sendmail[0] = g_strdup(f->script);
    {
        dm_spool_item *it = g_ptr_array_index(a, 0);
        assert_int_equal(unlink(it->path), 0);
        error = NULL;
        assert_false(dm_deliver_item(f->conf, it, &error));
        assert_non_null(error);
        g_free(error);
    }
    assert_int_equal(runs(f), 0);

    /* SMTP delivery is not in this build: said so. */
    f->conf->delivery_method = DM_DELIVER_SMTP;
    error = NULL;
    assert_false(dm_deliver_item(f->conf, g_ptr_array_index(a, 0), &error));
    assert_non_null(error);
    g_free(error);
    g_ptr_array_free(a, TRUE);
}

static void test_pass(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    dm_spool_item *it;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC, created;
    char *in;

    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    spool_item(f, "postmaster@sjovik.test", "fail@sjovik.test", message);
    spool_item(f, "postmaster@sjovik.test", "chatty@sjovik.test", message);

    /* First pass: one delivered and removed, two deferred. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, now), 1);
    assert_int_equal(runs(f), 3);
    a = items(f, false);
    assert_int_equal(a->len, 2);
    assert_null(find_item(a, "ok@sjovik.test"));
    it = find_item(a, "fail@sjovik.test");
    assert_non_null(it);
    created = it->created;
    assert_int_equal(it->attempts, 1);
    assert_int_equal(it->next, now + f->conf->retry_min);
    assert_non_null(it->last_error);
    assert_non_null(strstr(it->last_error, "mailbox temporarily unavailable"));
    it = find_item(a, "chatty@sjovik.test");
    assert_non_null(it);
    assert_int_equal(it->attempts, 1);
    g_ptr_array_free(a, TRUE);
    /* What was delivered was the message. */
    for (int r = 1; r <= 3; r++) {
        in = run_file(f, "stdin", r);
        assert_string_equal(in, message);
        g_free(in);
    }

    /* Before they are due: nothing is tried. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, now + 30), 0);
    assert_int_equal(runs(f), 3);

    /* Due: tried again, deferred twice as long. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, now + 60), 0);
    assert_int_equal(runs(f), 5);
    a = items(f, false);
    it = find_item(a, "fail@sjovik.test");
    assert_non_null(it);
    assert_int_equal(it->attempts, 2);
    assert_int_equal(it->next, now + 60 + 2 * f->conf->retry_min);
    g_ptr_array_free(a, TRUE);

    /* The backoff stops at retry_max. */
    {
        int64_t t = now + 60;
        for (int i = 0; i < 10; i++) {
            a = items(f, false);
            it = find_item(a, "fail@sjovik.test");
            t = it->next;
            g_ptr_array_free(a, TRUE);
            dm_deliver_pass(f->spool, f->conf, t);
        }
        a = items(f, false);
        it = find_item(a, "fail@sjovik.test");
        assert_int_equal(it->next - t, f->conf->retry_max);
        g_ptr_array_free(a, TRUE);
    }

    /* Past dead_after: buried in dead/, nothing left to deliver. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, created + f->conf->dead_after), 0);
    a = items(f, false);
    assert_int_equal(a->len, 0);
    g_ptr_array_free(a, TRUE);
    a = items(f, true);
    assert_int_equal(a->len, 2);
    it = find_item(a, "fail@sjovik.test");
    assert_non_null(it);
    assert_non_null(strstr(it->last_error, "mailbox temporarily unavailable"));
    g_ptr_array_free(a, TRUE);
}

/* An item older than dead_after on its first failure goes to dead/ at
 * once; a delivered one never does. */
static void test_pass_bury_first(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    spool_item(f, "postmaster@sjovik.test", "fail@sjovik.test", message);
    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, now + f->conf->dead_after + 10), 1);
    a = items(f, false);
    assert_int_equal(a->len, 0);
    g_ptr_array_free(a, TRUE);
    a = items(f, true);
    assert_int_equal(a->len, 1);
    assert_string_equal(((dm_spool_item *)g_ptr_array_index(a, 0))->rcpt, "fail@sjovik.test");
    assert_int_equal(((dm_spool_item *)g_ptr_array_index(a, 0))->attempts, 1);
    g_ptr_array_free(a, TRUE);

    /* An empty spool: nothing to do. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, now), 0);
}

/* The worker thread delivers what is committed, when kicked. */
static void test_thread(void **state)
{
    fixture *f = *state;
    dm_deliver *d = dm_deliver_start(f->spool, f->conf);
    GPtrArray *a;
    guint left = 1;

    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    dm_deliver_kick(d);
    for (int i = 0; i < 200 && left > 0; i++) {
        g_usleep(25000);
        a = items(f, false);
        left = a->len;
        g_ptr_array_free(a, TRUE);
    }
    assert_int_equal(left, 0);
    dm_deliver_set_conf(d, f->conf);
    dm_deliver_stop(d);
    assert_int_equal(runs(f), 1);
    dm_deliver_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_item_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_null_sender_and_dash_rcpt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_item_no_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_bury_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
