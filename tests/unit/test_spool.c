/*
 * deliver/dm_spool: the directories, a transaction's life (add, commit,
 * finish keep or not, free without commit), names never shared, defer,
 * bury and revive keeping the message byte for byte, cleaning tmp/, and
 * failures reported as errors.
 */
#include "dm_test.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_mime.h"
#include "dm_spool.h"

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

typedef struct {
    char *dir;
    dm_spool *spool;
} fixture;

static int setup(void **state)
{
    fixture *f = g_new0(fixture, 1);
    GError *err = NULL;

    f->dir = dm_test_tmpdir();
    f->spool = dm_spool_open(f->dir, true, &err);
    if (f->spool == NULL) {
        print_error("dm_spool_open: %s\n", err->message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    dm_spool_close(f->spool);
    dm_test_rmtree(f->dir);
    g_free(f->dir);
    g_free(f);
    return 0;
}

/* Names of the files in dir/sub, sorted (new strv). */
static char **files_in(const char *dir, const char *sub)
{
    char *p = g_build_filename(dir, sub, NULL);
    GDir *d = g_dir_open(p, 0, NULL);
    GPtrArray *names = g_ptr_array_new();
    const char *n;

    assert_non_null(d);
    while ((n = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(n));
    g_dir_close(d);
    g_free(p);
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    g_ptr_array_add(names, NULL);
    return (char **)g_ptr_array_free(names, FALSE);
}

static guint count_in(const char *dir, const char *sub)
{
    char **names = files_in(dir, sub);
    guint n = g_strv_length(names);

    g_strfreev(names);
    return n;
}

/* Add one item with this message body; the stream stays the tx's. */
static void add_item(dm_spool_tx *tx, const char *kind, const char *from, const char *rcpt,
                     unsigned flags, const char *body)
{
    GError *err = NULL;
    GMimeStream *s = dm_spool_add(tx, kind, from, rcpt, flags, &err);

    if (s == NULL) {
        print_error("dm_spool_add: %s\n", err->message);
        fail();
    }
    assert_null(err);
    assert_int_equal(g_mime_stream_write(s, body, strlen(body)), (ssize_t)strlen(body));
}

static void commit_ok(dm_spool_tx *tx)
{
    GError *err = NULL;

    if (!dm_spool_commit(tx, &err)) {
        print_error("dm_spool_commit: %s\n", err->message);
        fail();
    }
    assert_null(err);
}

/* The message stored in an item: the file from body_offset on (new). */
static char *item_body(const dm_spool_item *it)
{
    gsize len;
    char *all = dm_test_read(it->path, &len);
    char *body;

    assert_true(it->body_offset > 0);
    assert_true((gsize)it->body_offset <= len);
    body = g_strndup(all + it->body_offset, len - (gsize)it->body_offset);
    g_free(all);
    return body;
}

static GPtrArray *list_ok(dm_spool *s, bool dead)
{
    GError *err = NULL;
    GPtrArray *items = dm_spool_list(s, dead, &err);

    if (items == NULL) {
        print_error("dm_spool_list: %s\n", err->message);
        fail();
    }
    return items;
}

static const char body1[] = "From: Diariemilter <postmaster@sjovik.test>\n"
                            "To: registrator@sjovik.test\n"
                            "Subject: Kopia\n\n"
                            "Första meddelandet: åäö.\n"
                            "\n"
                            "kind: not an envelope line\n";
static const char body2[] = "To: chef@sjovik.test\n\nAndra.\n";

/* ---- tests ------------------------------------------------------------------ */

static void test_open_creates_dirs(void **state)
{
    fixture *f = *state;
    static const char *const subs[] = {"tmp", "new", "cur", "dead"};
    char *nested, *file;
    dm_spool *s;
    GError *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(subs); i++) {
        char *p = g_build_filename(f->dir, subs[i], NULL);
        assert_true(g_file_test(p, G_FILE_TEST_IS_DIR));
        g_free(p);
    }
    assert_string_equal(dm_spool_dir(f->spool), f->dir);

    /* Parents are made too. */
    nested = g_build_filename(f->dir, "a", "b", "spool", NULL);
    s = dm_spool_open(nested, false, &err);
    assert_non_null(s);
    dm_spool_close(s);
    file = g_build_filename(nested, "new", NULL);
    assert_true(g_file_test(file, G_FILE_TEST_IS_DIR));
    g_free(file);
    g_free(nested);

    /* A file where the directory should be: an error, no spool. */
    file = g_build_filename(f->dir, "plainfile", NULL);
    assert_true(g_file_set_contents(file, "x", 1, NULL));
    s = dm_spool_open(file, false, &err);
    assert_null(s);
    assert_non_null(err);
    assert_non_null(strstr(err->message, "plainfile"));
    g_clear_error(&err);
    g_free(file);
}

static void test_commit_keep(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000001");
    GPtrArray *items;
    int64_t before = g_get_real_time() / G_USEC_PER_SEC;

    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, body1);
    add_item(tx, "notice", "", "chef@sjovik.test", 0, body2);
    assert_int_equal(dm_spool_tx_count(tx), 2);
    /* Written, not yet committed: in tmp/, invisible. */
    assert_int_equal(count_in(f->dir, "tmp"), 2);
    assert_int_equal(count_in(f->dir, "new"), 0);
    commit_ok(tx);
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    assert_int_equal(count_in(f->dir, "new"), 2);
    dm_spool_finish(tx, true);
    assert_int_equal(count_in(f->dir, "new"), 2);

    items = list_ok(f->spool, false);
    assert_int_equal(items->len, 2);
    for (guint i = 0; i < items->len; i++) {
        dm_spool_item *it = g_ptr_array_index(items, i);
        char *b = item_body(it);

        assert_string_equal(it->message, "msgid000000000000001");
        assert_int_equal(it->attempts, 0);
        assert_int_equal(it->next, 0);
        assert_in_range(it->created, before, before + 60);
        assert_true(g_str_has_prefix(it->name, it->kind));
        if (strcmp(it->kind, "copy") == 0) {
            assert_string_equal(it->from, "postmaster@sjovik.test");
            assert_string_equal(it->rcpt, "registrator@sjovik.test");
            assert_string_equal(b, body1);
        } else {
            assert_string_equal(it->kind, "notice");
            assert_string_equal(it->from, ""); /* <> */
            assert_string_equal(it->rcpt, "chef@sjovik.test");
            assert_string_equal(b, body2);
        }
        g_free(b);
    }
    g_ptr_array_free(items, TRUE);
    /* Nothing dead. */
    items = list_ok(f->spool, true);
    assert_int_equal(items->len, 0);
    g_ptr_array_free(items, TRUE);
}

static void test_commit_then_drop(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000002");

    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, body1);
    add_item(tx, "copy", "postmaster@sjovik.test", "registrator.bn@sjovik.test", 0, body1);
    commit_ok(tx);
    assert_int_equal(count_in(f->dir, "new"), 2);
    /* The journal row failed, say: the message is refused, nothing owed. */
    dm_spool_finish(tx, false);
    assert_int_equal(count_in(f->dir, "new"), 0);
    assert_int_equal(count_in(f->dir, "tmp"), 0);
}

static void test_free_without_commit(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000003");

    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, body1);
    add_item(tx, "notice", "postmaster@sjovik.test", "x@sjovik.test", DM_SPOOL_PRIVATE, body2);
    assert_int_equal(count_in(f->dir, "tmp"), 2);
    dm_spool_free(tx);
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    assert_int_equal(count_in(f->dir, "new"), 0);

    /* finish(keep) without a commit keeps nothing either. */
    tx = dm_spool_begin(f->spool, "msgid000000000000004");
    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, body1);
    dm_spool_finish(tx, true);
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    assert_int_equal(count_in(f->dir, "new"), 0);

    /* An empty transaction commits trivially. */
    tx = dm_spool_begin(f->spool, "msgid000000000000005");
    commit_ok(tx);
    assert_int_equal(dm_spool_tx_count(tx), 0);
    dm_spool_finish(tx, true);
    dm_spool_free(NULL);
}

static dm_spool_item *only_item(dm_spool *s, bool dead)
{
    GPtrArray *items = list_ok(s, dead);
    dm_spool_item *it;

    assert_int_equal(items->len, 1);
    it = g_ptr_array_steal_index(items, 0);
    g_ptr_array_free(items, TRUE);
    return it;
}

/* Every item has a name of its own (issue 12.8): the same copy owed by
 * two arrivals of one message (duplicate_window = 0) is two items, and
 * the second arrival's failed commit takes back its own item only.  Of
 * old, both were named from the message's duplicate key: the second
 * replaced the first's waiting copy in new/, then removed it. */
static void test_names_unique(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx, *tx2;
    GPtrArray *items;
    dm_spool_item *it;
    char *b;

    tx = dm_spool_begin(f->spool, "msgid000000000000006");
    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, "först\n");
    commit_ok(tx);
    dm_spool_finish(tx, true);
    assert_int_equal(count_in(f->dir, "new"), 1);

    /* The same copy again, its commit given up after the rename. */
    tx2 = dm_spool_begin(f->spool, "msgid000000000000007");
    add_item(tx2, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, "sedan\n");
    commit_ok(tx2);
    assert_int_equal(count_in(f->dir, "new"), 2);
    dm_spool_finish(tx2, false);
    it = only_item(f->spool, false);
    b = item_body(it);
    assert_string_equal(b, "först\n");
    assert_string_equal(it->message, "msgid000000000000006");
    g_free(b);
    dm_spool_item_free(it);

    /* Kept, both stay; two adds in one transaction never share a name. */
    tx = dm_spool_begin(f->spool, "msgid000000000000008");
    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, "tredje\n");
    add_item(tx, "notice", "p@sjovik.test", "a@sjovik.test", 0, "1\n");
    add_item(tx, "notice", "p@sjovik.test", "a@sjovik.test", 0, "2\n");
    commit_ok(tx);
    dm_spool_finish(tx, true);
    assert_int_equal(count_in(f->dir, "new"), 4);

    /* One item taken back before finish: the others stay. */
    tx = dm_spool_begin(f->spool, "msgid000000000000009");
    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, "x\n");
    add_item(tx, "notice", "p@sjovik.test", "a@sjovik.test", 0, "y\n");
    commit_ok(tx);
    dm_spool_tx_drop(tx, 0);
    dm_spool_tx_drop(tx, 0);
    dm_spool_tx_drop(tx, 7);
    dm_spool_finish(tx, true);
    assert_int_equal(count_in(f->dir, "new"), 5);
    items = list_ok(f->spool, false);
    for (guint i = 0; i < items->len; i++) {
        dm_spool_item *x = g_ptr_array_index(items, i);
        b = item_body(x);
        assert_string_not_equal(b, "x\n");
        g_free(b);
    }
    g_ptr_array_free(items, TRUE);
}

/* An item of private mail says so, and its recipient stays out of the
 * log lines (dm_spool_item_rcpt_for_log); a rewrite keeps the mark. */
static void test_private_mark(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000010");
    dm_spool_item *it;
    GError *err = NULL;

    add_item(tx, "notice", "p@sjovik.test", "erik.sjoberg@sjovik.test", DM_SPOOL_PRIVATE,
             body2);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    it = only_item(f->spool, false);
    assert_true(it->private_mail);
    assert_string_equal(it->rcpt, "erik.sjoberg@sjovik.test");
    assert_null(strstr(dm_spool_item_rcpt_for_log(it), "@"));
    assert_true(dm_spool_defer(f->spool, it, 0, "later", &err));
    dm_spool_item_free(it);
    it = only_item(f->spool, false);
    assert_true(it->private_mail);
    dm_spool_item_free(it);
}


static void test_defer_bury_revive(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000010");
    dm_spool_item *it, *again;
    GError *err = NULL;
    char *b;
    int64_t created;

    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, body1);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    it = only_item(f->spool, false);
    created = it->created;

    /* Defer twice: attempts count, next and the error are recorded, the
     * message is untouched. */
    assert_true(dm_spool_defer(f->spool, it, 2000000000, "451 4.3.0 try later\nsecond line",
                               &err));
    assert_null(err);
    assert_int_equal(it->attempts, 1);
    again = only_item(f->spool, false);
    assert_int_equal(again->attempts, 1);
    assert_int_equal(again->next, 2000000000);
    assert_int_equal(again->created, created);
    assert_string_equal(again->kind, "copy");
    assert_string_equal(again->rcpt, "registrator@sjovik.test");
    assert_string_equal(again->from, "postmaster@sjovik.test");
    assert_string_equal(again->message, "msgid000000000000010");
    /* One line in the envelope, whatever the error said. */
    assert_string_equal(again->last_error, "451 4.3.0 try later second line");
    assert_int_equal(again->body_offset, it->body_offset);
    b = item_body(again);
    assert_string_equal(b, body1);
    g_free(b);
    dm_spool_item_free(again);
    assert_true(dm_spool_defer(f->spool, it, 2000000100, "again", &err));
    again = only_item(f->spool, false);
    assert_int_equal(again->attempts, 2);
    assert_int_equal(again->next, 2000000100);
    b = item_body(again);
    assert_string_equal(b, body1);
    g_free(b);
    dm_spool_item_free(again);
    assert_int_equal(count_in(f->dir, "tmp"), 0);

    /* Bury: out of new/, into dead/. */
    assert_true(dm_spool_bury(f->spool, it, "gave up", &err));
    assert_null(err);
    assert_int_equal(count_in(f->dir, "new"), 0);
    assert_int_equal(count_in(f->dir, "dead"), 1);
    assert_non_null(strstr(it->path, "/dead/"));
    again = only_item(f->spool, true);
    assert_int_equal(again->attempts, 3);
    assert_string_equal(again->last_error, "gave up");
    b = item_body(again);
    assert_string_equal(b, body1);
    g_free(b);
    dm_spool_item_free(again);

    /* Revive: back in new/, due now. */
    assert_true(dm_spool_revive(f->spool, it, &err));
    assert_null(err);
    assert_int_equal(count_in(f->dir, "dead"), 0);
    assert_int_equal(count_in(f->dir, "new"), 1);
    again = only_item(f->spool, false);
    assert_int_equal(again->next, 0);
    b = item_body(again);
    assert_string_equal(b, body1);
    g_free(b);

    /* Remove: gone. */
    assert_true(dm_spool_remove(f->spool, again, &err));
    assert_int_equal(count_in(f->dir, "new"), 0);
    /* Removing what is already gone is not an error. */
    assert_true(dm_spool_remove(f->spool, again, &err));
    dm_spool_item_free(again);
    dm_spool_item_free(it);
}

static void test_clean_tmp(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000011");
    char *leftover = g_build_filename(f->dir, "tmp", "copy.crashed", NULL);
    dm_spool *s;
    GError *err = NULL;

    /* A transaction's items still in tmp/ when "the process died". */
    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, body1);
    assert_true(g_file_set_contents(leftover, "DIARIE-SPOOL 1\n", -1, NULL));
    assert_int_equal(count_in(f->dir, "tmp"), 2);

    /* A tool opening the spool leaves them alone ... */
    s = dm_spool_open(f->dir, false, &err);
    assert_non_null(s);
    assert_int_equal(count_in(f->dir, "tmp"), 2);
    dm_spool_close(s);
    /* ... the daemon starting cleans them. */
    s = dm_spool_open(f->dir, true, &err);
    assert_non_null(s);
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    dm_spool_close(s);
    dm_spool_free(tx);
    g_free(leftover);
}

static void test_envelope_injection(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid\nkind: evil");
    dm_spool_item *it;

    /* Control characters in any value cannot add envelope lines. */
    add_item(tx, "copy", "a@invanare.example\nrcpt: evil@invanare.example",
             "registrator@sjovik.test\r\nnext: 99999999999", 0, body2);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    it = only_item(f->spool, false);
    assert_string_equal(it->kind, "copy");
    assert_string_equal(it->rcpt, "registrator@sjovik.test  next: 99999999999");
    assert_string_equal(it->from, "a@invanare.example rcpt: evil@invanare.example");
    assert_string_equal(it->message, "msgid kind: evil");
    assert_int_equal(it->next, 0);
    dm_spool_item_free(it);
}

static void test_list_skips_garbage(void **state)
{
    fixture *f = *state;
    char *junk = g_build_filename(f->dir, "new", "junk", NULL);
    char *norcpt = g_build_filename(f->dir, "new", "norcpt", NULL);
    GPtrArray *items;
    GError *err = NULL;

    assert_true(g_file_set_contents(junk, "not a spool item\n", -1, NULL));
    assert_true(g_file_set_contents(norcpt, "DIARIE-SPOOL 1\nkind: copy\nfrom: a@b\n\nbody", -1,
                                    NULL));
    items = list_ok(f->spool, false);
    assert_int_equal(items->len, 0);
    g_ptr_array_free(items, TRUE);
    assert_null(dm_spool_read_item(junk, &err));
    assert_non_null(err);
    g_clear_error(&err);
    assert_null(dm_spool_read_item(norcpt, &err));
    assert_non_null(err);
    g_clear_error(&err);
    g_free(junk);
    g_free(norcpt);
    junk = g_build_filename(f->dir, "new", "missing", NULL);
    assert_null(dm_spool_read_item(junk, &err));
    assert_non_null(err);
    g_clear_error(&err);
    g_free(junk);
}

/* A long error (a chatty sendmail) must not make the item unreadable. */
static void test_long_error(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000012");
    dm_spool_item *it, *again;
    GString *e = g_string_new(NULL);
    GError *err = NULL;
    char *b;

    add_item(tx, "copy", "postmaster@sjovik.test", "registrator@sjovik.test", 0, body1);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    it = only_item(f->spool, false);
    for (int i = 0; i < 500; i++)
        g_string_append(e, "fel! ");
    assert_true(dm_spool_defer(f->spool, it, 2000000000, e->str, &err));
    again = only_item(f->spool, false);
    assert_int_equal(again->attempts, 1);
    assert_int_equal(again->next, 2000000000);
    assert_string_equal(again->rcpt, "registrator@sjovik.test");
    assert_non_null(again->last_error);
    assert_true(g_str_has_prefix(again->last_error, "fel! fel!"));
    b = item_body(again);
    assert_string_equal(b, body1);
    g_free(b);
    dm_spool_item_free(again);
    dm_spool_item_free(it);
    g_string_free(e, TRUE);
}

/* Replace dir/sub by a plain file (root ignores modes, not file types). */
static void break_dir(const char *dir, const char *sub)
{
    char *p = g_build_filename(dir, sub, NULL);

    dm_test_rmtree(p);
    assert_true(g_file_set_contents(p, "not a directory", -1, NULL));
    g_free(p);
}

static void mend_dir(const char *dir, const char *sub)
{
    char *p = g_build_filename(dir, sub, NULL);

    assert_int_equal(g_unlink(p), 0);
    assert_int_equal(g_mkdir(p, 0750), 0);
    g_free(p);
}

static void test_add_fails(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000013");
    GError *err = NULL;

    break_dir(f->dir, "tmp");
    assert_null(dm_spool_add(tx, "copy", "a@sjovik.test", "b@sjovik.test", 0, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "tmp"));
    g_clear_error(&err);
    assert_int_equal(dm_spool_tx_count(tx), 0);
    dm_spool_free(tx);
    mend_dir(f->dir, "tmp");
}

/* A write that fails (the disk full: here a file size limit) leaves
 * nothing in tmp/: neither the item whose envelope could not be written
 * nor those of a transaction given up after its body failed. */
static void test_write_fails_leaves_no_tmp(void **state)
{
    fixture *f = *state;
    struct rlimit old, tiny;
    dm_spool_tx *tx;
    GMimeStream *s;
    GError *err = NULL;
    char big[4096];

    memset(big, 'x', sizeof big);
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of a signal */

    /* The envelope itself does not fit. */
    tiny = old;
    tiny.rlim_cur = 16;
    tx = dm_spool_begin(f->spool, "msgid000000000000031");
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    s = dm_spool_add(tx, "copy", "p@sjovik.test", "a@sjovik.test", 0, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_null(s);
    assert_non_null(err);
    g_clear_error(&err);
    assert_int_equal(dm_spool_tx_count(tx), 0);
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    dm_spool_free(tx);

    /* The envelope fits, the message does not: the writer gives up. */
    tiny.rlim_cur = 1024;
    tx = dm_spool_begin(f->spool, "msgid000000000000032");
    add_item(tx, "copy", "p@sjovik.test", "a@sjovik.test", 0, "ok\n");
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    s = dm_spool_add(tx, "copy", "p@sjovik.test", "b@sjovik.test", 0, &err);
    assert_non_null(s);
    assert_true(g_mime_stream_write(s, big, sizeof big) < (ssize_t)sizeof big);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    dm_spool_free(tx);
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    assert_int_equal(count_in(f->dir, "new"), 0);

    /* And when the commit itself fails to write (flush, fsync): the same. */
    tx = dm_spool_begin(f->spool, "msgid000000000000033");
    add_item(tx, "copy", "p@sjovik.test", "a@sjovik.test", 0, "ok\n");
    break_dir(f->dir, "new");
    assert_false(dm_spool_commit(tx, &err));
    g_clear_error(&err);
    dm_spool_free(tx);
    mend_dir(f->dir, "new");
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    signal(SIGXFSZ, SIG_DFL);
}

static void test_commit_fails(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000014");
    GError *err = NULL;
    GPtrArray *items;

    add_item(tx, "copy", "p@sjovik.test", "a@sjovik.test", 0, body1);
    add_item(tx, "copy", "p@sjovik.test", "b@sjovik.test", 0, body1);
    break_dir(f->dir, "new");
    assert_false(dm_spool_commit(tx, &err));
    assert_non_null(err);
    g_clear_error(&err);
    dm_spool_free(tx);
    mend_dir(f->dir, "new");
    /* Nothing owed, nothing left behind, and the spool still works. */
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    assert_int_equal(count_in(f->dir, "new"), 0);
    tx = dm_spool_begin(f->spool, "msgid000000000000015");
    add_item(tx, "copy", "p@sjovik.test", "a@sjovik.test", 0, body1);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    items = list_ok(f->spool, false);
    assert_int_equal(items->len, 1);
    g_ptr_array_free(items, TRUE);

    /* A listing of a spool whose new/ is gone: an error, not a crash. */
    break_dir(f->dir, "dead");
    assert_null(dm_spool_list(f->spool, true, &err));
    assert_non_null(err);
    g_clear_error(&err);
    mend_dir(f->dir, "dead");
}

static void test_rewrite_fails(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000016");
    dm_spool_item *it, *again;
    GError *err = NULL;
    char *b;

    add_item(tx, "copy", "p@sjovik.test", "a@sjovik.test", 0, body1);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    it = only_item(f->spool, false);
    /* Bury with dead/ gone: an error, the item stays where it was. */
    break_dir(f->dir, "dead");
    assert_false(dm_spool_bury(f->spool, it, "x", &err));
    assert_non_null(err);
    g_clear_error(&err);
    mend_dir(f->dir, "dead");
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    again = only_item(f->spool, false);
    b = item_body(again);
    assert_string_equal(b, body1);
    g_free(b);
    dm_spool_item_free(again);
    dm_spool_item_free(it);
}

/* Claim, lock, recover: the delivery protocol's steps. */
static void test_claim_lock_recover(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000020");
    dm_spool_item *it, *found;
    GError *err = NULL;
    int fd = -1, fd2 = -1;
    char *gone;

    dm_spool_tx_set_origin(tx, "orig@invanare.example");
    add_item(tx, "copy", "p@sjovik.test", "r@sjovik.test", 0, body1);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    it = only_item(f->spool, false);
    assert_int_equal(it->where, DM_SPOOL_NEW);
    assert_string_equal(it->message_id, "orig@invanare.example");

    /* Claimed: in cur/, nowhere else. */
    assert_true(dm_spool_claim(f->spool, it, &err));
    assert_int_equal(it->where, DM_SPOOL_CUR);
    assert_non_null(strstr(it->path, "/cur/"));
    assert_int_equal(count_in(f->dir, "new"), 0);
    assert_int_equal(count_in(f->dir, "cur"), 1);
    /* A second claim of what is gone from new/: NOENT. */
    {
        char *was = g_build_filename(f->dir, "new", it->name, NULL);
        dm_spool_item ghost = {.path = was, .name = it->name};
        assert_false(dm_spool_claim(f->spool, &ghost, &err));
        assert_true(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT));
        g_clear_error(&err);
        g_free(was);
    }
    /* Found by name wherever it is. */
    found = dm_spool_find(f->spool, it->name, &err);
    assert_non_null(found);
    assert_int_equal(found->where, DM_SPOOL_CUR);
    dm_spool_item_free(found);
    assert_null(dm_spool_find(f->spool, "no-such-item", &err));
    assert_true(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT));
    g_clear_error(&err);
    assert_null(dm_spool_find(f->spool, "../new/x", &err));
    assert_true(g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_INVAL));
    g_clear_error(&err);

    /* Locked by one, busy for the next; recovery leaves it alone. */
    assert_int_equal(dm_spool_lock(it->path, &fd, &err), DM_SPOOL_LOCKED);
    assert_int_equal(dm_spool_lock(it->path, &fd2, &err), DM_SPOOL_BUSY);
    assert_int_equal(fd2, -1);
    assert_int_equal(dm_spool_recover(f->spool), 0);
    assert_int_equal(count_in(f->dir, "cur"), 1);
    close(fd);
    /* Nobody holds it: back to new/, as it was. */
    assert_int_equal(dm_spool_recover(f->spool), 1);
    assert_int_equal(count_in(f->dir, "cur"), 0);
    dm_spool_item_free(it);
    it = only_item(f->spool, false);
    assert_int_equal(it->attempts, 0);
    {
        char *b = item_body(it);
        assert_string_equal(b, body1);
        g_free(b);
    }

    /* Gone, or replaced by another file of the same name, while we
     * waited for the lock: not ours. */
    gone = g_build_filename(f->dir, "cur", "nothing", NULL);
    assert_int_equal(dm_spool_lock(gone, &fd, &err), DM_SPOOL_GONE);
    g_free(gone);
    dm_spool_item_free(it);
}

/* What a rewrite keeps and resets; it never uses the tmp/ name a
 * transaction writing the same item may have open. */
static void test_rewrite_keeps(void **state)
{
    fixture *f = *state;
    dm_spool_tx *tx = dm_spool_begin(f->spool, "msgid000000000000021"), *tx2;
    dm_spool_item *it, *again;
    GError *err = NULL;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    char *b;

    dm_spool_tx_set_origin(tx, "orig21@invanare.example");
    add_item(tx, "copy", "p@sjovik.test", "r@sjovik.test", 0, body1);
    commit_ok(tx);
    dm_spool_finish(tx, true);
    it = only_item(f->spool, false);

    /* The same copy being spooled again meanwhile: its tmp/ file. */
    tx2 = dm_spool_begin(f->spool, "msgid000000000000022");
    add_item(tx2, "copy", "p@sjovik.test", "r@sjovik.test", 0, body2);
    assert_true(dm_spool_defer(f->spool, it, now + 60, "later", &err));
    assert_true(dm_spool_bury(f->spool, it, "dead", &err));
    again = only_item(f->spool, true);
    assert_string_equal(again->message_id, "orig21@invanare.example");
    assert_int_equal(again->attempts, 2);
    dm_spool_item_free(again);
    /* Revive: attempts from 0, dead_after from now. */
    assert_true(dm_spool_revive(f->spool, it, &err));
    again = only_item(f->spool, false);
    assert_int_equal(again->attempts, 0);
    assert_in_range(again->created, now, now + 60);
    assert_string_equal(again->message_id, "orig21@invanare.example");
    dm_spool_item_free(again);
    /* The other transaction's file was not touched: both are owed. */
    commit_ok(tx2);
    dm_spool_finish(tx2, true);
    {
        GPtrArray *items = list_ok(f->spool, false);
        int seen = 0;

        assert_int_equal(items->len, 2);
        for (guint i = 0; i < items->len; i++) {
            again = g_ptr_array_index(items, i);
            b = item_body(again);
            if (strcmp(again->message, "msgid000000000000022") == 0) {
                assert_string_equal(b, body2);
                seen |= 1;
            } else {
                assert_string_equal(b, body1);
                seen |= 2;
            }
            g_free(b);
        }
        assert_int_equal(seen, 3);
        g_ptr_array_free(items, TRUE);
    }
    assert_int_equal(count_in(f->dir, "tmp"), 0);
    dm_spool_item_free(it);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_keep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_then_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_without_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_private_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defer_bury_revive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clean_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_envelope_injection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_skips_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commit_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_fails_leaves_no_tmp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_lock_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_keeps, setup, teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
