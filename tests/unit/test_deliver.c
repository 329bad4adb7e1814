/*
 * deliver/dm_deliver and dm_smtp: one item handed to a sendmail(1) stand-in
 * (its arguments, the message alone on its standard input, failures with
 * the program's own words, permanent and temporary), the delivery file
 * protocol (claim into cur/, lock, remove once taken; a locked item left
 * alone), delivery passes in process and through separate delivery
 * processes (this very program run as "--deliver", as the daemon runs
 * itself), recovery of cur/ after a crash, "queue retry", and the SMTP
 * client against a scripted server (CRLF, dot-stuffing, 8BITMIME,
 * multi-line replies, HELO fallback, 4xx/5xx, timeouts).
 */
#include "dm_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_deliver.h"
#include "dm_log.h"
#include "dm_mime.h"
#include "dm_smtp.h"
#include "dm_spool.h"

/* ---- local helpers -------------------------------------------------------- */

static char *self_exe;

static int group_setup(void **state)
{
    (void)state;
    dm_mime_init();
    /* Delivery logs its warnings and errors: keep them off syslog and
     * out of the test output. */
    dm_log_stderr_only((dm_log_level)LOG_CRIT);
    self_exe = g_file_read_link("/proc/self/exe", NULL);
    return self_exe != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_mime_shutdown();
    g_free(self_exe);
    return 0;
}

typedef struct {
    char *dir;      /* everything of one test */
    char *spooldir;
    dm_spool *spool;
    char *script;   /* the sendmail stand-in */
    char *conf_path;
    dm_conf *conf;
} fixture;

/* The stand-in: records its arguments (one a line) and standard input,
 * counts its runs; fails with 75 and a message on stderr for recipients
 * containing "fail", with 67 (EX_NOUSER) for "nouser", floods stderr for
 * "chatty"; sleeps 1.5 s then succeeds for "slow", sleeps 30 s for
 * "stuck".  A success appends the recipient to "delivered" as its last
 * act, as an MTA queues the message just before sendmail exits 0. */
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
    "  *nouser*) echo 'sendmail: no such user' >&2; exit 67;;\n"
    "  *fail*) echo 'sendmail: 451 4.3.0 mailbox temporarily unavailable' >&2; exit 75;;\n"
    "  *slow*) sleep 1.5;;\n"
    "  *stuck*) sleep 30;;\n"
    "esac\n"
    "echo \"$last\" >> \"$d/delivered\"\n"
    "exit 0\n";

static void write_conf(fixture *f, const char *extra)
{
    char *text = g_strdup_printf("[delivery]\nsendmail = %s -i\nretry_min = 1m\n"
                                 "retry_max = 1h\ndead_after = 2d\n"
                                 "sender = postmaster@sjovik.test\n%s",
                                 f->script, extra != NULL ? extra : "");
    GError *err = NULL;

    assert_true(g_file_set_contents(f->conf_path, text, -1, NULL));
    g_free(text);
    dm_conf_unref(f->conf);
    f->conf = dm_conf_load(f->conf_path, &err);
    if (f->conf == NULL) {
        print_error("conf: %s\n", err->message);
        fail();
    }
}

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
    f->conf_path = g_build_filename(f->dir, "diariemilter.conf", NULL);
    write_conf(f, NULL);
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
    g_free(f->conf_path);
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
    GMimeStream *s;

    dm_spool_tx_set_origin(tx, "orig@invanare.example");
    s = dm_spool_add(tx, "copy", from, rcpt, 0, &err);
    assert_non_null(s);
    assert_int_equal(g_mime_stream_write(s, body, strlen(body)), (ssize_t)strlen(body));
    assert_true(dm_spool_commit(tx, &err));
    dm_spool_finish(tx, true);
}

static GPtrArray *items_in(fixture *f, dm_spool_where w)
{
    GPtrArray *a = dm_spool_list_in(f->spool, w, NULL);

    assert_non_null(a);
    return a;
}

static guint count_in(fixture *f, dm_spool_where w)
{
    GPtrArray *a = items_in(f, w);
    guint n = a->len;

    g_ptr_array_free(a, TRUE);
    return n;
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

/* The only item in new/, taken out of its list. */
static dm_spool_item *only_new(fixture *f)
{
    GPtrArray *a = items_in(f, DM_SPOOL_NEW);
    dm_spool_item *it;

    assert_int_equal(a->len, 1);
    it = g_ptr_array_steal_index(a, 0);
    g_ptr_array_free(a, TRUE);
    return it;
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

/* How many times the stand-in said yes (took a message). */
static int delivered(fixture *f)
{
    char *p = g_build_filename(f->dir, "delivered", NULL);
    char *text = NULL;
    int n = 0;

    if (g_file_get_contents(p, &text, NULL, NULL))
        for (const char *c = text; *c != '\0'; c++)
            n += *c == '\n';
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

static dm_deliver_status send_item(fixture *f, const dm_spool_item *it, char **error)
{
    int fd = open(it->path, O_RDONLY | O_CLOEXEC);
    dm_deliver_status st;

    assert_true(fd >= 0);
    st = dm_deliver_send(f->conf, it, fd, error);
    close(fd);
    return st;
}

/* ---- sendmail ----------------------------------------------------------------- */

static void test_send_ok(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    char *error = (char *)"untouched", *argv, *in, *want_argv;

    spool_item(f, "postmaster@sjovik.test", "registrator@sjovik.test", message);
    it = only_new(f);
    assert_int_equal(send_item(f, it, &error), DM_DELIVERED);
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
    /* Sending does not remove: the delivery file protocol does. */
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 1);
    dm_spool_item_free(it);
}

/* Issue 18: the envelope sender is read from the configuration when the
 * item goes, so items spooled under an old, refused sender (the bare
 * "postmaster" that was the default) are rescued by fixing the file. */
static void test_send_sender_of_today(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    char *error = NULL, *argv;

    spool_item(f, "postmaster", "registrator@sjovik.test", message);
    g_free(f->conf->sender);
    f->conf->sender = g_strdup("diarie@sjovik.test");
    it = only_new(f);
    assert_string_equal(it->from, "postmaster");
    assert_int_equal(send_item(f, it, &error), DM_DELIVERED);
    argv = run_file(f, "argv", 1);
    assert_string_equal(argv, "-i\n-f\ndiarie@sjovik.test\n--\nregistrator@sjovik.test\n");
    g_free(argv);
    dm_spool_item_free(it);
}

static void test_send_null_sender_and_dash_rcpt(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    char *error = NULL, *argv;

    /* <> as sender, and a recipient that looks like an option: it stays
     * an argument after "--". */
    spool_item(f, "", "-oQ/tmp/evil@sjovik.test", message);
    it = only_new(f);
    assert_int_equal(send_item(f, it, &error), DM_DELIVERED);
    argv = run_file(f, "argv", 1);
    assert_string_equal(argv, "-i\n-f\n\n--\n-oQ/tmp/evil@sjovik.test\n");
    g_free(argv);
    dm_spool_item_free(it);
}

static void test_send_fails(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    char *error = NULL;

    spool_item(f, "postmaster@sjovik.test", "fail@sjovik.test", message);
    it = only_new(f);
    assert_int_equal(send_item(f, it, &error), DM_DELIVER_TEMPORARY);
    assert_non_null(error);
    /* The program's own words, and which program. */
    assert_non_null(strstr(error, "451 4.3.0 mailbox temporarily unavailable"));
    assert_non_null(strstr(error, f->script));
    assert_non_null(strstr(error, "75"));
    g_free(error);
    dm_spool_item_free(it);

    /* EX_NOUSER: permanent. */
    spool_item(f, "postmaster@sjovik.test", "nouser@sjovik.test", message);
    {
        GPtrArray *a = items_in(f, DM_SPOOL_NEW);
        error = NULL;
        assert_int_equal(send_item(f, find_item(a, "nouser@sjovik.test"), &error),
                         DM_DELIVER_PERMANENT);
        assert_non_null(strstr(error, "no such user"));
        g_free(error);
        g_ptr_array_free(a, TRUE);
    }
}

static void test_send_no_program(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    char *error = NULL;

    spool_item(f, "postmaster@sjovik.test", "registrator@sjovik.test", message);
    it = only_new(f);
    g_free(f->conf->sendmail[0]);
    f->conf->sendmail[0] = g_build_filename(f->dir, "no-such-sendmail", NULL);
    assert_int_equal(send_item(f, it, &error), DM_DELIVER_TEMPORARY);
    assert_non_null(error);
    assert_non_null(strstr(error, "no-such-sendmail"));
    g_free(error);
    assert_int_equal(runs(f), 0);
    dm_spool_item_free(it);
}

/* ---- the delivery file protocol ------------------------------------------------ */

static void test_file(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    char *error = NULL;
    int fd;
    GError *err = NULL;

    spool_item(f, "postmaster@sjovik.test", "registrator@sjovik.test", message);
    it = only_new(f);
    assert_true(dm_spool_claim(f->spool, it, &err));
    assert_int_equal(it->where, DM_SPOOL_CUR);
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 0);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 1);

    /* Held by another process (here: another open file): left alone. */
    fd = open(it->path, O_RDONLY);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(dm_deliver_file(f->conf, it->path, &error), DM_DELIVER_TEMPORARY);
    assert_non_null(strstr(error, "another process"));
    g_free(error);
    assert_int_equal(runs(f), 0);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 1);
    /* And a pass does not take it back from cur/ either. */
    assert_int_equal(dm_spool_recover(f->spool), 0);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 1);
    close(fd);

    /* Free: delivered once and removed. */
    error = NULL;
    assert_int_equal(dm_deliver_file(f->conf, it->path, &error), DM_DELIVERED);
    assert_null(error);
    assert_int_equal(runs(f), 1);
    assert_false(g_file_test(it->path, G_FILE_TEST_EXISTS));
    /* Already gone: someone finished it; nothing is sent again. */
    assert_int_equal(dm_deliver_file(f->conf, it->path, &error), DM_DELIVERED);
    assert_int_equal(runs(f), 1);
    dm_spool_item_free(it);

    /* Not a spool item: permanent. */
    {
        char *junk = g_build_filename(f->spooldir, "cur", "junk", NULL);
        assert_true(g_file_set_contents(junk, "garbage\n", -1, NULL));
        assert_int_equal(dm_deliver_file(f->conf, junk, &error), DM_DELIVER_PERMANENT);
        g_free(error);
        g_free(junk);
    }
}

/* A claim never replaces an item of the same name in cur/. */
static void test_claim_noreplace(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx;
    GPtrArray *a;
    dm_spool_item *it;
    GError *err = NULL;

    tx = dm_spool_begin(f->spool, "msgid000000000000001");
    assert_non_null(dm_spool_add(tx, "copy", "p@sjovik.test", "r@sjovik.test", 0, &err));
    assert_true(dm_spool_commit(tx, &err));
    dm_spool_finish(tx, true);
    it = only_new(f);
    assert_true(dm_spool_claim(f->spool, it, &err));
    /* Names are never reused; the same name in new/ and cur/ is what a
     * claim by link + unlink leaves when cut short: make it by hand. */
    {
        char *in_new = g_build_filename(f->spooldir, "new", it->name, NULL);
        assert_int_equal(link(it->path, in_new), 0);
        g_free(in_new);
    }
    dm_spool_item_free(it);
    a = items_in(f, DM_SPOOL_NEW);
    assert_int_equal(a->len, 1);
    it = g_ptr_array_index(a, 0);
    assert_false(dm_spool_claim(f->spool, it, &err));
    assert_true(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_EXIST));
    g_clear_error(&err);
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 1);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 1);
    g_ptr_array_free(a, TRUE);
}

/* ---- passes ---------------------------------------------------------------------- */

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
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, now), 1);
    assert_int_equal(runs(f), 3);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 0);
    a = items_in(f, DM_SPOOL_NEW);
    assert_int_equal(a->len, 2);
    assert_null(find_item(a, "ok@sjovik.test"));
    it = find_item(a, "fail@sjovik.test");
    assert_non_null(it);
    created = it->created;
    assert_int_equal(it->attempts, 1);
    assert_int_equal(it->next, now + f->conf->retry_min);
    assert_non_null(it->last_error);
    assert_non_null(strstr(it->last_error, "mailbox temporarily unavailable"));
    /* The envelope keeps the original's Message-ID through rewrites. */
    assert_string_equal(it->message_id, "orig@invanare.example");
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
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, now + 30), 0);
    assert_int_equal(runs(f), 3);

    /* Due: tried again, deferred twice as long. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, now + 60), 0);
    assert_int_equal(runs(f), 5);
    a = items_in(f, DM_SPOOL_NEW);
    it = find_item(a, "fail@sjovik.test");
    assert_non_null(it);
    assert_int_equal(it->attempts, 2);
    assert_int_equal(it->next, now + 60 + 2 * f->conf->retry_min);
    g_ptr_array_free(a, TRUE);

    /* The backoff stops at retry_max. */
    {
        int64_t t = now + 60;
        for (int i = 0; i < 10; i++) {
            a = items_in(f, DM_SPOOL_NEW);
            it = find_item(a, "fail@sjovik.test");
            t = it->next;
            g_ptr_array_free(a, TRUE);
            dm_deliver_pass(f->spool, f->conf, NULL, t);
        }
        a = items_in(f, DM_SPOOL_NEW);
        it = find_item(a, "fail@sjovik.test");
        assert_int_equal(it->next - t, f->conf->retry_max);
        g_ptr_array_free(a, TRUE);
    }

    /* Past dead_after: buried in dead/, nothing left to deliver. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, created + f->conf->dead_after), 0);
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 0);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 0);
    a = items_in(f, DM_SPOOL_DEAD);
    assert_int_equal(a->len, 2);
    it = find_item(a, "fail@sjovik.test");
    assert_non_null(it);
    assert_non_null(strstr(it->last_error, "mailbox temporarily unavailable"));
    g_ptr_array_free(a, TRUE);
}

/* An item older than dead_after on its first failure goes to dead/ at
 * once, a permanent failure at once whatever its age; a delivered one
 * never does. */
static void test_pass_bury(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    spool_item(f, "postmaster@sjovik.test", "fail@sjovik.test", message);
    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, now + f->conf->dead_after + 10), 1);
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 0);
    a = items_in(f, DM_SPOOL_DEAD);
    assert_int_equal(a->len, 1);
    assert_string_equal(((dm_spool_item *)g_ptr_array_index(a, 0))->rcpt, "fail@sjovik.test");
    assert_int_equal(((dm_spool_item *)g_ptr_array_index(a, 0))->attempts, 1);
    g_ptr_array_free(a, TRUE);

    spool_item(f, "postmaster@sjovik.test", "nouser@sjovik.test", message);
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, now), 0);
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 0);
    assert_int_equal(count_in(f, DM_SPOOL_DEAD), 2);

    /* An empty spool: nothing to do. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, now), 0);
}

/* Through delivery processes: this program run as the daemon runs
 * itself, "--deliver cur/ITEM -c CONF". */
static void test_pass_helper(void **state)
{
    fixture *f = *state;
    GPtrArray *a;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    char *in;

    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    spool_item(f, "postmaster@sjovik.test", "fail@sjovik.test", message);
    spool_item(f, "postmaster@sjovik.test", "nouser@sjovik.test", message);
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, self_exe, now), 1);
    assert_int_equal(runs(f), 3);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 0);
    a = items_in(f, DM_SPOOL_NEW);
    assert_int_equal(a->len, 1);
    assert_non_null(find_item(a, "fail@sjovik.test"));
    /* The delivery process's reason reaches the item. */
    assert_non_null(strstr(find_item(a, "fail@sjovik.test")->last_error,
                           "mailbox temporarily unavailable"));
    g_ptr_array_free(a, TRUE);
    a = items_in(f, DM_SPOOL_DEAD);
    assert_int_equal(a->len, 1);
    assert_non_null(strstr(find_item(a, "nouser@sjovik.test")->last_error, "no such user"));
    g_ptr_array_free(a, TRUE);
    for (int r = 1; r <= 3; r++) {
        in = run_file(f, "stdin", r);
        assert_string_equal(in, message);
        g_free(in);
    }

    /* A configuration the delivery process cannot read: temporary. */
    {
        char *bad = g_strdup(f->conf->path);
        assert_true(g_file_set_contents(f->conf_path, "[nonsense\n", -1, NULL));
        a = items_in(f, DM_SPOOL_NEW);
        g_ptr_array_free(a, TRUE);
        assert_int_equal(dm_deliver_pass(f->spool, f->conf, self_exe, now + 3600), 0);
        assert_int_equal(runs(f), 3);
        assert_int_equal(count_in(f, DM_SPOOL_NEW), 1);
        g_free(bad);
    }
}

/* The daemon died: between the claim and the delivery process, or the
 * delivery process itself died.  The item is in cur/, nobody holds it:
 * the next pass takes it back and delivers it, once. */
static void test_recover(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    GError *err = NULL;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    int fd;

    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    it = only_new(f);
    assert_true(dm_spool_claim(f->spool, it, &err));
    dm_spool_item_free(it);
    spool_item(f, "postmaster@sjovik.test", "busy@sjovik.test", message);
    {
        GPtrArray *a = items_in(f, DM_SPOOL_NEW);
        it = g_ptr_array_steal_index(a, 0);
        g_ptr_array_free(a, TRUE);
    }
    assert_true(dm_spool_claim(f->spool, it, &err));
    /* This one is still being delivered by a process that outlived its
     * daemon. */
    fd = open(it->path, O_RDONLY);
    assert_int_equal(flock(fd, LOCK_EX), 0);

    assert_int_equal(dm_deliver_pass(f->spool, f->conf, self_exe, now), 1);
    assert_int_equal(runs(f), 1);
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 0);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 1);
    close(fd);
    /* Its process died without finishing: taken back, delivered. */
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, self_exe, now), 1);
    assert_int_equal(runs(f), 2);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 0);
    dm_spool_item_free(it);

    /* A claim by link + unlink cut short: the same file in new/ and cur/;
     * delivered once. */
    spool_item(f, "postmaster@sjovik.test", "twice@sjovik.test", message);
    it = only_new(f);
    {
        char *cur = g_build_filename(f->spooldir, "cur", it->name, NULL);
        assert_int_equal(link(it->path, cur), 0);
        g_free(cur);
    }
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, self_exe, now), 1);
    assert_int_equal(runs(f), 3);
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 0);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 0);
    dm_spool_item_free(it);
}

/* A delivery process that hangs is stopped after [delivery] timeout. */
/* A sendmail slower than [delivery] timeout that still succeeds (issue
 * 12.4): waited for, delivered exactly once.  Of old its delivery process
 * was killed at the timeout, the sendmail went on and queued the copy,
 * the item came back to new/, and the next pass sent it again. */
static void test_helper_slow(void **state)
{
    fixture *f = *state;
    gint64 t0;

    write_conf(f, "timeout = 1s\n");
    spool_item(f, "postmaster@sjovik.test", "slow@sjovik.test", message);
    t0 = g_get_monotonic_time();
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, self_exe,
                                     g_get_real_time() / G_USEC_PER_SEC),
                     1);
    assert_true(g_get_monotonic_time() - t0 >= 1400 * 1000);
    assert_true(g_get_monotonic_time() - t0 < 5 * G_USEC_PER_SEC);
    /* Passes for a while more: nothing comes back, nothing goes twice. */
    for (int i = 0; i < 15; i++) {
        dm_deliver_pass(f->spool, f->conf, self_exe, g_get_real_time() / G_USEC_PER_SEC + 3600);
        g_usleep(200000);
    }
    assert_int_equal(delivered(f), 1);
    assert_int_equal(runs(f), 1);
    assert_int_equal(count_in(f, DM_SPOOL_NEW) + count_in(f, DM_SPOOL_CUR) +
                         count_in(f, DM_SPOOL_DEAD),
                     0);
}

/* A sendmail still running after twice [delivery] timeout: stopped, its
 * item in dead/ marked outcome unknown, and never tried again by
 * itself; in a delivery process and in this process alike. */
static void test_stuck_unknown(void **state)
{
    fixture *f = *state;

    write_conf(f, "timeout = 1s\n");
    for (int helper = 1; helper >= 0; helper--) {
        GPtrArray *dead;
        dm_spool_item *it;
        gint64 t0 = g_get_monotonic_time();

        spool_item(f, "postmaster@sjovik.test", "stuck@sjovik.test", message);
        assert_int_equal(dm_deliver_pass(f->spool, f->conf, helper ? self_exe : NULL,
                                         g_get_real_time() / G_USEC_PER_SEC),
                         0);
        assert_true(g_get_monotonic_time() - t0 >= 2 * G_USEC_PER_SEC);
        assert_true(g_get_monotonic_time() - t0 < 8 * G_USEC_PER_SEC);
        dead = items_in(f, DM_SPOOL_DEAD);
        assert_int_equal(dead->len, 1);
        it = g_ptr_array_index(dead, 0);
        assert_non_null(it->last_error);
        assert_non_null(strstr(it->last_error, "outcome unknown"));
        g_ptr_array_free(dead, TRUE);
        assert_int_equal(count_in(f, DM_SPOOL_NEW) + count_in(f, DM_SPOOL_CUR), 0);
        /* Later passes leave it there, and the stopped sendmail took
         * nothing. */
        for (int i = 0; i < 5; i++) {
            dm_deliver_pass(f->spool, f->conf, helper ? self_exe : NULL,
                            g_get_real_time() / G_USEC_PER_SEC + 3600);
            g_usleep(100000);
        }
        assert_int_equal(count_in(f, DM_SPOOL_DEAD), 1);
        assert_int_equal(delivered(f), 0);
        assert_int_equal(runs(f), helper ? 1 : 2);
        dm_test_rmtree(f->spooldir);
        dm_spool_close(f->spool);
        f->spool = dm_spool_open(f->spooldir, true, NULL);
        assert_non_null(f->spool);
    }
}

/* "diariectl queue retry": in this process, from new/ or from dead/. */
static void test_now(void **state)
{
    fixture *f = *state;
    dm_spool_item *it;
    char *error = NULL;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    spool_item(f, "postmaster@sjovik.test", "fail@sjovik.test", message);
    it = only_new(f);
    assert_int_equal(dm_deliver_now(f->spool, f->conf, it, now, &error), DM_DELIVER_TEMPORARY);
    g_free(error);
    dm_spool_item_free(it);
    it = only_new(f);
    assert_int_equal(it->attempts, 1);
    dm_spool_item_free(it);

    /* From dead/: a failure goes back there. */
    spool_item(f, "postmaster@sjovik.test", "nouser@sjovik.test", message);
    assert_int_equal(dm_deliver_pass(f->spool, f->conf, NULL, now), 0);
    {
        GPtrArray *a = items_in(f, DM_SPOOL_DEAD);
        assert_int_equal(a->len, 1);
        it = g_ptr_array_steal_index(a, 0);
        g_ptr_array_free(a, TRUE);
    }
    error = NULL;
    assert_int_equal(dm_deliver_now(f->spool, f->conf, it, now, &error), DM_DELIVER_PERMANENT);
    g_free(error);
    dm_spool_item_free(it);
    assert_int_equal(count_in(f, DM_SPOOL_DEAD), 1);

    /* A good one from new/: delivered and gone. */
    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    {
        GPtrArray *a = items_in(f, DM_SPOOL_NEW);
        it = find_item(a, "ok@sjovik.test");
        error = NULL;
        assert_int_equal(dm_deliver_now(f->spool, f->conf, it, now, &error), DM_DELIVERED);
        assert_null(error);
        g_ptr_array_free(a, TRUE);
    }
    assert_int_equal(count_in(f, DM_SPOOL_NEW), 1);
    assert_int_equal(count_in(f, DM_SPOOL_CUR), 0);
}

/* The worker thread delivers what is committed, when kicked. */
static void test_thread(void **state)
{
    fixture *f = *state;
    dm_deliver *d = dm_deliver_start(f->spool, f->conf, self_exe);
    guint left = 1;

    spool_item(f, "postmaster@sjovik.test", "ok@sjovik.test", message);
    dm_deliver_kick(d);
    for (int i = 0; i < 200 && left > 0; i++) {
        g_usleep(25000);
        left = count_in(f, DM_SPOOL_NEW) + count_in(f, DM_SPOOL_CUR);
    }
    assert_int_equal(left, 0);
    dm_deliver_set_conf(d, f->conf);
    dm_deliver_stop(d);
    assert_int_equal(runs(f), 1);
    dm_deliver_stop(NULL);
}

/* ---- SMTP ----------------------------------------------------------------------- */

/* A scripted server for one connection: the replies to give, and what
 * it received. */
typedef struct {
    int listen_fd;
    int port;
    const char *greeting;  /* NULL: say nothing (a hung server) */
    const char *ehlo, *helo, *mail, *rcpt, *data, *end, *auth;
    GString *got;          /* commands, then the DATA as received */
    GThread *thread;
} server;

static bool srv_line(int fd, GString *line)
{
    char c;

    g_string_truncate(line, 0);
    while (read(fd, &c, 1) == 1) {
        g_string_append_c(line, c);
        if (c == '\n')
            return true;
    }
    return false;
}

static void srv_say(int fd, const char *text)
{
    if (write(fd, text, strlen(text)) < 0)
        return;
}

static gpointer srv_run(gpointer data)
{
    server *s = data;
    int fd = accept(s->listen_fd, NULL, NULL);
    GString *line = g_string_new(NULL);

    if (fd < 0)
        return NULL;
    if (s->greeting == NULL) {
        g_usleep(3 * G_USEC_PER_SEC);
        goto out;
    }
    srv_say(fd, s->greeting);
    while (srv_line(fd, line)) {
        const char *reply = "500 what?\r\n";

        g_string_append(s->got, line->str);
        if (g_str_has_prefix(line->str, "EHLO"))
            reply = s->ehlo;
        else if (g_str_has_prefix(line->str, "HELO"))
            reply = s->helo;
        else if (g_str_has_prefix(line->str, "MAIL"))
            reply = s->mail;
        else if (g_str_has_prefix(line->str, "AUTH"))
            reply = s->auth;
        else if (g_str_has_prefix(line->str, "RCPT"))
            reply = s->rcpt;
        else if (g_str_has_prefix(line->str, "QUIT")) {
            srv_say(fd, "221 bye\r\n");
            break;
        } else if (g_str_has_prefix(line->str, "DATA")) {
            srv_say(fd, s->data);
            if (!g_str_has_prefix(s->data, "354"))
                continue;
            while (srv_line(fd, line)) {
                g_string_append(s->got, line->str);
                if (strcmp(line->str, ".\r\n") == 0)
                    break;
            }
            reply = s->end;
            if (reply == NULL)
                break; /* the message taken in, no answer: gone */
        }
        srv_say(fd, reply);
    }
out:
    g_string_free(line, TRUE);
    close(fd);
    return NULL;
}

static server *srv_start(void)
{
    server *s = g_new0(server, 1);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->listen_fd >= 0);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sin, sizeof sin), 0);
    assert_int_equal(listen(s->listen_fd, 4), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&sin, &len), 0);
    s->port = ntohs(sin.sin_port);
    s->greeting = "220 sink.sjovik.test ESMTP\r\n";
    s->ehlo = "250-sink.sjovik.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10240000\r\n";
    s->helo = "250 sink.sjovik.test\r\n";
    s->mail = "250 2.1.0 Ok\r\n";
    s->rcpt = "250 2.1.5 Ok\r\n";
    s->data = "354 End data with <CR><LF>.<CR><LF>\r\n";
    s->end = "250 2.0.0 Ok: queued as 4F00D\r\n";
    s->auth = "235 2.7.0 Authentication successful\r\n";
    s->got = g_string_new(NULL);
    return s;
}

static void srv_go(server *s)
{
    s->thread = g_thread_new("smtp-server", srv_run, s);
}

static void srv_free(server *s)
{
    if (s->thread != NULL)
        g_thread_join(s->thread);
    close(s->listen_fd);
    g_string_free(s->got, TRUE);
    g_free(s);
}

static dm_deliver_status smtp_send(fixture *f, server *s, const char *rcpt, const char *body,
                                   char **error)
{
    dm_spool_item *it;
    dm_deliver_status st;
    GPtrArray *a;

    spool_item(f, "postmaster@sjovik.test", rcpt, body);
    a = items_in(f, DM_SPOOL_NEW);
    it = find_item(a, rcpt);
    assert_non_null(it);
    f->conf->delivery_method = DM_DELIVER_SMTP;
    g_free(f->conf->smtp_host);
    f->conf->smtp_host = g_strdup("127.0.0.1");
    f->conf->smtp_port = s->port;
    f->conf->smtp_timeout = 1;
    f->conf->smtp_tls = DM_SMTP_TLS_NONE; /* the test server offers no STARTTLS */
    g_free(f->conf->smtp_helo);
    f->conf->smtp_helo = g_strdup("mx.sjovik.test");
    srv_go(s);
    *error = NULL;
    st = send_item(f, it, error);
    g_ptr_array_free(a, TRUE);
    return st;
}

static void test_smtp_ok(void **state)
{
    fixture *f = *state;
    server *s = srv_start();
    char *error = NULL;
    /* LF and CRLF line ends, dots at line starts, no final line end. */
    static const char body[] = "Subject: Kopia\n\n.hidden\r\n..two\nrad å\n.\nslut";

    assert_int_equal(smtp_send(f, s, "registrator@sjovik.test", body, &error), DM_DELIVERED);
    assert_null(error);
    g_thread_join(s->thread);
    s->thread = NULL;
    assert_string_equal(s->got->str,
                        "EHLO mx.sjovik.test\r\n"
                        /* libcurl 7.88 sends no BODY=8BITMIME */
                        "MAIL FROM:<postmaster@sjovik.test>\r\n"
                        "RCPT TO:<registrator@sjovik.test>\r\n"
                        "DATA\r\n"
                        "Subject: Kopia\r\n\r\n..hidden\r\n...two\r\nrad å\r\n..\r\nslut\r\n"
                        ".\r\n"
                        "QUIT\r\n");
    srv_free(s);

    /* 7-bit: no BODY=; a server without EHLO: HELO; multi-line replies;
     * the null sender. */
    s = srv_start();
    s->ehlo = "502 5.5.2 Error: command not recognized\r\n";
    s->rcpt = "250-2.1.5 Ok\r\n250 2.1.5 really\r\n";
    spool_item(f, "", "other@sjovik.test", "Subject: x\n\nascii\n");
    {
        GPtrArray *a = items_in(f, DM_SPOOL_NEW);
        dm_spool_item *it = find_item(a, "other@sjovik.test");
        f->conf->smtp_port = s->port;
        srv_go(s);
        assert_int_equal(send_item(f, it, &error), DM_DELIVERED);
        g_ptr_array_free(a, TRUE);
    }
    g_thread_join(s->thread);
    s->thread = NULL;
    assert_string_equal(s->got->str, "EHLO mx.sjovik.test\r\nHELO mx.sjovik.test\r\n"
                                     "MAIL FROM:<>\r\nRCPT TO:<other@sjovik.test>\r\nDATA\r\n"
                                     "Subject: x\r\n\r\nascii\r\n.\r\nQUIT\r\n");
    srv_free(s);
}

/* Issue 18: libcurl's SMTP.  STARTTLS is required unless smtp_tls = none;
 * AUTH with smtp_user and the password file; SMTPUTF8 for a non-ASCII
 * address; a dot at the very start is doubled too. */
static void test_smtp_tls_auth_utf8(void **state)
{
    fixture *f = *state;
    server *s;
    char *error = NULL, *pwfile;
    dm_spool_item *it;
    GPtrArray *a;

    /* The default: a server without STARTTLS gets nothing but EHLO. */
    s = srv_start();
    spool_item(f, "postmaster@sjovik.test", "tls@sjovik.test", message);
    a = items_in(f, DM_SPOOL_NEW);
    it = find_item(a, "tls@sjovik.test");
    f->conf->delivery_method = DM_DELIVER_SMTP;
    g_free(f->conf->smtp_host);
    f->conf->smtp_host = g_strdup("127.0.0.1");
    f->conf->smtp_port = s->port;
    f->conf->smtp_timeout = 1;
    assert_int_equal(f->conf->smtp_tls, DM_SMTP_TLS_STARTTLS);
    srv_go(s);
    assert_int_equal(send_item(f, it, &error), DM_DELIVER_TEMPORARY);
    assert_non_null(strstr(error, "STARTTLS"));
    g_free(error);
    g_ptr_array_free(a, TRUE);
    g_thread_join(s->thread);
    s->thread = NULL;
    assert_null(strstr(s->got->str, "MAIL"));
    srv_free(s);

    /* AUTH PLAIN with the password file's first line. */
    pwfile = g_build_filename(f->dir, "smtp.pw", NULL);
    assert_true(g_file_set_contents(pwfile, "hemligt\n", -1, NULL));
    g_free(f->conf->smtp_user);
    f->conf->smtp_user = g_strdup("diarie");
    g_free(f->conf->smtp_password_file);
    f->conf->smtp_password_file = pwfile;
    s = srv_start();
    s->ehlo = "250-sink.sjovik.test\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n";
    assert_int_equal(smtp_send(f, s, "auth@sjovik.test", ".start\nrad\n", &error),
                     DM_DELIVERED);
    g_thread_join(s->thread);
    s->thread = NULL;
    assert_non_null(strstr(s->got->str, "AUTH PLAIN AGRpYXJpZQBoZW1saWd0\r\n"));
    assert_non_null(strstr(s->got->str, "DATA\r\n..start\r\nrad\r\n.\r\n"));
    srv_free(s);
    /* A refused AUTH: our configuration, not the message. */
    s = srv_start();
    s->ehlo = "250-sink.sjovik.test\r\n250 AUTH PLAIN\r\n";
    s->auth = "535 5.7.8 Authentication credentials invalid\r\n";
    assert_int_equal(smtp_send(f, s, "auth2@sjovik.test", message, &error),
                     DM_DELIVER_TEMPORARY);
    g_free(error);
    srv_free(s);
    g_free(f->conf->smtp_user);
    f->conf->smtp_user = g_strdup("");

    /* A non-ASCII recipient to a server that offers SMTPUTF8. */
    s = srv_start();
    s->ehlo = "250-sink.sjovik.test\r\n250 SMTPUTF8\r\n";
    assert_int_equal(smtp_send(f, s, "\xc3\xa5sa@sjovik.test", message, &error),
                     DM_DELIVERED);
    g_thread_join(s->thread);
    s->thread = NULL;
    assert_non_null(strstr(s->got->str, "RCPT TO:<\xc3\xa5sa@sjovik.test>"));
    assert_non_null(strstr(s->got->str, " SMTPUTF8"));
    srv_free(s);
}

static void test_smtp_refusals(void **state)
{
    fixture *f = *state;
    server *s;
    char *error = NULL;

    /* 5xx to RCPT: this message, for good. */
    s = srv_start();
    s->rcpt = "550 5.1.1 <nobody@sjovik.test>: Recipient address rejected\r\n";
    assert_int_equal(smtp_send(f, s, "nobody@sjovik.test", message, &error),
                     DM_DELIVER_PERMANENT);
    if (strstr(error, "RCPT TO: 550 5.1.1") == NULL)
        print_error("error: %s\n", error);
    assert_non_null(strstr(error, "RCPT TO: 550 5.1.1"));
    g_free(error);
    srv_free(s);

    /* 4xx at the end of data: later. */
    s = srv_start();
    s->end = "451 4.3.0 Error: queue file write error\r\n";
    assert_int_equal(smtp_send(f, s, "a@sjovik.test", message, &error), DM_DELIVER_TEMPORARY);
    assert_non_null(strstr(error, "451 4.3.0"));
    g_free(error);
    srv_free(s);

    /* 5xx at the end of data: permanent. */
    s = srv_start();
    s->end = "554 5.7.1 rejected\r\n";
    assert_int_equal(smtp_send(f, s, "b@sjovik.test", message, &error), DM_DELIVER_PERMANENT);
    g_free(error);
    srv_free(s);

    /* 5xx to MAIL FROM: the server refuses us, not this message. */
    s = srv_start();
    s->mail = "553 5.7.1 sender not allowed\r\n";
    assert_int_equal(smtp_send(f, s, "c@sjovik.test", message, &error), DM_DELIVER_TEMPORARY);
    assert_non_null(strstr(error, "MAIL FROM: 553"));
    g_free(error);
    srv_free(s);

    /* A refusing greeting. */
    s = srv_start();
    s->greeting = "554 5.3.2 no service\r\n";
    assert_int_equal(smtp_send(f, s, "d@sjovik.test", message, &error), DM_DELIVER_TEMPORARY);
    g_free(error);
    srv_free(s);

    /* The whole message sent, and no answer to its end: the server may
     * have taken it; sent again it could arrive twice. */
    s = srv_start();
    s->end = NULL;
    assert_int_equal(smtp_send(f, s, "g@sjovik.test", message, &error), DM_DELIVER_UNKNOWN);
    assert_non_null(strstr(error, "outcome unknown"));
    g_free(error);
    srv_free(s);

    /* A server that never speaks: smtp_timeout. */
    s = srv_start();
    s->greeting = NULL;
    {
        gint64 t0 = g_get_monotonic_time();
        assert_int_equal(smtp_send(f, s, "e@sjovik.test", message, &error),
                         DM_DELIVER_TEMPORARY);
        assert_non_null(strstr(error, "timed out"));
        assert_true(g_get_monotonic_time() - t0 < 3 * G_USEC_PER_SEC);
    }
    g_free(error);
    srv_free(s);

    /* Nobody listening. */
    s = srv_start();
    close(s->listen_fd);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    {
        dm_smtp_opts o = {.host = "127.0.0.1", .port = s->port, .timeout = 1};
        int fd = open(f->script, O_RDONLY);
        assert_int_equal(dm_smtp_send(&o, "a@b", "c@d", fd, 0, &error), DM_DELIVER_TEMPORARY);
        assert_non_null(strstr(error, "cannot connect"));
        g_free(error);
        close(fd);
    }
    srv_free(s);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_sender_of_today, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_null_sender_and_dash_rcpt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_no_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_noreplace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_bury, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pass_helper, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_helper_slow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stuck_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp_tls_auth_utf8, setup, teardown),
    };

    /* This program is also its own delivery process, as the daemon is. */
    if (argc > 1 && strcmp(argv[1], "--deliver") == 0)
        return dm_deliver_main(argc, argv);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
