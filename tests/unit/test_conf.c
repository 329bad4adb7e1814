/*
 * common/dm_conf: loading, the schema, the sample file, error messages,
 * duration and size parsing, reference counting; networks, duplicate keys,
 * the sender, relative paths and the host checks (issue 18).
 */
#include "dm_test.h"

#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_conf.h"

/* ---- local helpers -------------------------------------------------------- */

static char *tmpdir;

static int group_setup(void **state)
{
    (void)state;
    tmpdir = dm_test_tmpdir();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_test_rmtree(tmpdir);
    g_free(tmpdir);
    return 0;
}

/* Write text to a fresh file in tmpdir (new path). */
static char *write_conf(const char *name, const char *text)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    GError *err = NULL;

    if (!g_file_set_contents(path, text, -1, &err)) {
        print_error("cannot write %s: %s\n", path, err->message);
        g_error_free(err);
        fail();
    }
    return path;
}

static dm_conf *load_ok(const char *text)
{
    char *path = write_conf("ok.conf", text);
    GError *err = NULL;
    dm_conf *c = dm_conf_load(path, &err);

    if (c == NULL) {
        print_error("unexpected error: %s\n", err->message);
        g_error_free(err);
        g_free(path);
        fail();
    }
    assert_null(err);
    assert_string_equal(c->path, path);
    g_free(path);
    return c;
}

/* Loading text must fail with "FILE:LINE:" and mention every needle. */
static void expect_error(const char *text, int line, const char *needle1, const char *needle2)
{
    char *path = write_conf("bad.conf", text);
    char *where = g_strdup_printf("%s:%d:", path, line);
    GError *err = NULL;
    dm_conf *c = dm_conf_load(path, &err);

    if (c != NULL) {
        print_error("loading succeeded but must fail:\n%s\n", text);
        dm_conf_unref(c);
        fail();
    }
    assert_non_null(err);
    assert_true(err->domain == DM_CONF_ERROR);
    if (strstr(err->message, where) == NULL ||
        (needle1 != NULL && strstr(err->message, needle1) == NULL) ||
        (needle2 != NULL && strstr(err->message, needle2) == NULL)) {
        print_error("error \"%s\" lacks \"%s\" / \"%s\" / \"%s\"\n", err->message, where,
                    needle1 ? needle1 : "", needle2 ? needle2 : "");
        fail();
    }
    g_error_free(err);
    g_free(where);
    g_free(path);
}

/* ---- the sample file ------------------------------------------------------ */

static void test_sample_loads(void **state)
{
    char *path = dm_test_path("etc/diariemilter.conf");
    GError *err = NULL;
    dm_conf *c = dm_conf_load(path, &err);

    (void)state;
    if (c == NULL) {
        print_error("%s\n", err->message);
        fail();
    }
    assert_string_equal(c->path, path);
    /* A sample with every default loads to the built-in defaults. */
    assert_string_equal(c->socket, "unix:/run/diariemilter/diariemilter.sock");
    assert_int_equal(c->socket_mode, 0660);
    assert_int_equal(c->timeout, 300);
    assert_int_equal(c->backlog, 128);
    assert_int_equal(c->spill_size, 1024 * 1024);
    assert_int_equal(c->on_directory_error, DM_ONFAIL_TEMPFAIL);
    assert_int_equal(c->on_store_error, DM_ONFAIL_TEMPFAIL);
    assert_non_null(c->internal_networks);
    assert_null(c->internal_networks[0]);
    assert_int_equal(c->language, DM_LANG_SV);
    assert_non_null(c->party_domains);
    assert_null(c->party_domains[0]);
    assert_int_equal(c->mass_recipients, 20);
    assert_int_equal(c->mass_window, 3600);
    assert_int_equal(c->mass_window_recipients, 100);
    assert_int_equal(c->autoreply_absence, 3 * 86400);
    assert_non_null(c->ldap_uri);
    assert_string_equal(c->ldap_uri[0], "ldap://127.0.0.1/");
    assert_null(c->ldap_uri[1]);
    assert_false(c->ldap_starttls);
    assert_true(c->ldap_tls_verify);
    assert_int_equal(c->ldap_group_membership, DM_GROUPS_MEMBER);
    assert_string_equal(c->ldap_filter_address, "(|(mail=%s)(diariePrivateMail=%s))");
    assert_int_equal(c->ldap_cache_ttl, 300);
    assert_int_equal(c->duplicate_window, 7 * 86400);
    assert_int_equal(c->delivery_method, DM_DELIVER_SENDMAIL);
    assert_non_null(c->sendmail);
    assert_string_equal(c->sendmail[0], "/usr/sbin/sendmail");
    assert_string_equal(c->sendmail[1], "-i");
    assert_null(c->sendmail[2]);
    assert_int_equal(c->smtp_port, 25);
    assert_int_equal(c->retry_min, 60);
    assert_int_equal(c->retry_max, 3600);
    assert_int_equal(c->dead_after, 2 * 86400);
    /* Relative paths name files beside the configuration. */
    {
        char *dir = g_path_get_dirname(path);
        char *rules = g_build_filename(dir, "rules.conf", NULL);
        char *templates = g_build_filename(dir, "templates", NULL);
        assert_string_equal(c->rules_file, rules);
        assert_string_equal(c->templates, templates);
        g_free(dir);
        g_free(rules);
        g_free(templates);
    }
    assert_string_equal(c->sender, "");
    {
        /* No sender: postmaster at this host. */
        char *want = g_strconcat("postmaster@", g_get_host_name(), NULL);
        assert_string_equal(dm_conf_sender(c), want);
        g_free(want);
    }
    assert_int_equal(c->max_text, 2 * 1024 * 1024);
    assert_int_equal(c->max_header_size, 64 * 1024);
    assert_int_equal(c->max_parts, 500);
    assert_string_equal(c->extractor, "");
    assert_int_equal(c->extract_workers, 2);
    assert_int_equal(c->extract_memory, 256 * 1024 * 1024);
    assert_int_equal(c->extract_timeout, 10);
    assert_int_equal(c->extract_message_timeout, 30);
    assert_int_equal(c->max_attachments, 20);
    assert_int_equal(c->max_attachment_size, 25 * 1024 * 1024);
    assert_int_equal(c->max_attachment_text, 256 * 1024);
    assert_int_equal(c->max_attachment_text_total, 1024 * 1024);
    assert_int_equal(c->max_pages, 100);
    assert_int_equal(c->max_archive_entries, 2000);
    assert_int_equal(c->max_expansion_ratio, 100);
    assert_int_equal(c->max_expanded_size, 100 * 1024 * 1024);
    assert_string_equal(c->socket_group, "");
    dm_conf_unref(c);
    g_free(path);
}

/* Every schema key stands in the sample, uncommented, in its group, with
 * exactly the built-in default; and the sample has no key the schema
 * lacks. */
static void test_sample_matches_schema(void **state)
{
    char *path = dm_test_path("etc/diariemilter.conf");
    GKeyFile *kf = g_key_file_new();
    GError *err = NULL;
    const dm_conf_key_info *keys = NULL;
    size_t n = dm_conf_schema(&keys);
    GHashTable *in_schema = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char **groups;
    int bad = 0;

    (void)state;
    assert_true(n > 50);
    assert_non_null(keys);
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
        print_error("%s: %s\n", path, err->message);
        fail();
    }
    for (size_t i = 0; i < n; i++) {
        char *full = g_strdup_printf("%s/%s", keys[i].group, keys[i].key);
        char *value;

        assert_non_null(keys[i].default_value);
        /* No key is described twice. */
        if (!g_hash_table_add(in_schema, full)) {
            print_error("schema lists [%s] %s twice\n", keys[i].group, keys[i].key);
            bad++;
        }
        value = g_key_file_get_value(kf, keys[i].group, keys[i].key, NULL);
        if (value == NULL) {
            print_error("%s: [%s] %s = %s is missing\n", path, keys[i].group, keys[i].key,
                        keys[i].default_value);
            bad++;
            continue;
        }
        g_strstrip(value);
        if (strcmp(value, keys[i].default_value) != 0) {
            print_error("%s: [%s] %s = \"%s\", but the built-in default is \"%s\"\n", path,
                        keys[i].group, keys[i].key, value, keys[i].default_value);
            bad++;
        }
        g_free(value);
    }
    groups = g_key_file_get_groups(kf, NULL);
    for (char **g = groups; *g != NULL; g++) {
        char **ks = g_key_file_get_keys(kf, *g, NULL, NULL);
        for (char **k = ks; k != NULL && *k != NULL; k++) {
            char *full = g_strdup_printf("%s/%s", *g, *k);
            if (!g_hash_table_contains(in_schema, full)) {
                print_error("%s: [%s] %s is not in the schema\n", path, *g, *k);
                bad++;
            }
            g_free(full);
        }
        g_strfreev(ks);
    }
    g_strfreev(groups);
    g_hash_table_destroy(in_schema);
    g_key_file_free(kf);
    g_free(path);
    assert_int_equal(bad, 0);
}

/* The defaults the schema states are the ones dm_conf_new_defaults sets:
 * loading a file that repeats each default gives the same values as
 * loading an empty file. */
static void test_defaults_equal_schema(void **state)
{
    const dm_conf_key_info *keys = NULL;
    size_t n = dm_conf_schema(&keys);
    GString *text = g_string_new(NULL);
    const char *last = NULL;
    dm_conf *a, *b, *d;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        if (last == NULL || strcmp(last, keys[i].group) != 0)
            g_string_append_printf(text, "[%s]\n", keys[i].group);
        last = keys[i].group;
        g_string_append_printf(text, "%s = %s\n", keys[i].key, keys[i].default_value);
    }
    a = load_ok(text->str);
    b = load_ok("");
    d = dm_conf_new_defaults();
    assert_null(d->path);
    assert_int_equal(d->refcount, 1);
    /* A sample of every type. */
    assert_string_equal(a->socket, b->socket);
    assert_string_equal(a->socket, d->socket);
    assert_int_equal(a->socket_mode, d->socket_mode);
    assert_int_equal(a->spill_size, d->spill_size);
    assert_int_equal(a->timeout, d->timeout);
    assert_int_equal(a->mass_recipients, d->mass_recipients);
    assert_int_equal(a->language, d->language);
    assert_int_equal(a->ldap_tls_verify, d->ldap_tls_verify);
    assert_string_equal(a->sendmail[0], d->sendmail[0]);
    assert_string_equal(a->ldap_uri[0], d->ldap_uri[0]);
    assert_int_equal(a->max_header_size, d->max_header_size);
    assert_string_equal(a->attr_member_of, "memberOf");
    assert_string_equal(d->attr_member_of, "memberOf");
    dm_conf_unref(a);
    dm_conf_unref(b);
    dm_conf_unref(d);
    g_string_free(text, TRUE);
}

/* ---- values ---------------------------------------------------------------- */

static void test_overrides(void **state)
{
    dm_conf *c;

    (void)state;
    c = load_ok("# a comment\n"
                "[site]\n"
                "party_domains = parti-a.example, Parti-B.example ,, \n"
                "mass_recipients = 5\n"
                "language = EN\n"
                "mass_window = 2h\n"
                "[milter]\n"
                "socket_mode=600\n"
                "spill_size = 512k\n"
                "on_store_error = accept\n"
                "internal_networks = 10.0.0.0/8,2001:db8::/32\n"
                "[ldap]\n"
                "starttls = yes\n"
                "tls_verify = 0\n"
                "uri = ldap://a/, ldaps://b/\n"
                "group_membership = memberof\n"
                "[delivery]\n"
                "sendmail = /usr/sbin/sendmail -C '/etc/postfix out' -i\n"
                "method = smtp\n"
                "sender = diarie@sjovik.test\n");
    assert_non_null(c->party_domains);
    assert_string_equal(c->party_domains[0], "parti-a.example");
    assert_string_equal(c->party_domains[1], "Parti-B.example");
    assert_null(c->party_domains[2]);
    assert_int_equal(c->mass_recipients, 5);
    assert_int_equal(c->language, DM_LANG_EN);
    assert_int_equal(c->mass_window, 7200);
    assert_int_equal(c->socket_mode, 0600);
    assert_int_equal(c->spill_size, 512 * 1024);
    assert_int_equal(c->on_store_error, DM_ONFAIL_ACCEPT);
    assert_int_equal(c->on_directory_error, DM_ONFAIL_TEMPFAIL);
    assert_string_equal(c->internal_networks[0], "10.0.0.0/8");
    assert_string_equal(c->internal_networks[1], "2001:db8::/32");
    assert_null(c->internal_networks[2]);
    assert_true(c->ldap_starttls);
    assert_false(c->ldap_tls_verify);
    assert_string_equal(c->ldap_uri[0], "ldap://a/");
    assert_string_equal(c->ldap_uri[1], "ldaps://b/");
    assert_null(c->ldap_uri[2]);
    assert_int_equal(c->ldap_group_membership, DM_GROUPS_MEMBEROF);
    assert_string_equal(c->sendmail[0], "/usr/sbin/sendmail");
    assert_string_equal(c->sendmail[1], "-C");
    assert_string_equal(c->sendmail[2], "/etc/postfix out");
    assert_string_equal(c->sendmail[3], "-i");
    assert_null(c->sendmail[4]);
    assert_int_equal(c->delivery_method, DM_DELIVER_SMTP);
    /* Untouched keys keep their defaults. */
    assert_int_equal(c->backlog, 128);
    assert_int_equal(c->mass_window_recipients, 100);
    dm_conf_unref(c);


    /* Bounds are inclusive. */
    c = load_ok("[milter]\nbacklog = 65535\n[delivery]\nsmtp_port = 1\n");
    assert_int_equal(c->backlog, 65535);
    assert_int_equal(c->smtp_port, 1);
    dm_conf_unref(c);

    /* Issue 16: the copy's form and Reply-To, the time zone, the id. */
    c = load_ok("[site]\ntimezone = America/New_York\ngateway_id = mx1.sjovik.test\n"
                "[delivery]\ncopy_form = redirect\ncopy_reply_to = registrator@sjovik.test\n");
    assert_string_equal(c->timezone, "America/New_York");
    assert_string_equal(dm_conf_gateway_id(c), "mx1.sjovik.test");
    assert_int_equal(c->copy_form, DM_COPY_REDIRECT);
    assert_string_equal(c->copy_reply_to, "registrator@sjovik.test");
    dm_conf_unref(c);
    c = load_ok("[delivery]\ncopy_reply_to = none\n");
    assert_int_equal(c->copy_form, DM_COPY_WRAPPED);
    assert_string_equal(c->timezone, "Europe/Stockholm");
    /* No gateway_id: the host name. */
    assert_string_equal(dm_conf_gateway_id(c), g_get_host_name());
    dm_conf_unref(c);

    /* Other truth spellings. */
    c = load_ok("[ldap]\nstarttls = TRUE\ntls_verify = No\nnested_groups = 1\n");
    assert_true(c->ldap_starttls);
    assert_false(c->ldap_tls_verify);
    assert_true(c->ldap_nested_groups);
    dm_conf_unref(c);
}

/* ---- errors: "FILE:LINE: [group] key: problem" ----------------------------- */

static void test_error_unknown_key(void **state)
{
    (void)state;
    expect_error("[milter]\nsocket = unix:/x\nsockets = unix:/y\n", 3, "sockets", "unknown key");
    /* A key of another group is unknown here, and the line is the one in
     * this group. */
    expect_error("[log]\nlevel = info\n\n[milter]\n# comment\nlevel = debug\n", 6, "level",
                 "[milter]");
    /* A prefix of a real key is not that key. */
    expect_error("[milter]\ntimeout_ms = 5\n", 2, "timeout_ms", NULL);
}

static void test_error_unknown_group(void **state)
{
    (void)state;
    expect_error("# comment\n\n[milter]\nbacklog = 5\n\n[nosuch]\nx = 1\n", 6, "nosuch",
                 "unknown");
    expect_error("[Milter]\nbacklog = 5\n", 1, "Milter", NULL);
}

static void test_error_bad_values(void **state)
{
    (void)state;
    /* int */
    expect_error("[milter]\n\nbacklog = lots\n", 3, "backlog", "lots");
    expect_error("[milter]\nbacklog = 12x\n", 2, "backlog", NULL);
    expect_error("[milter]\nbacklog = 0\n", 2, "backlog", NULL);
    expect_error("[milter]\nbacklog = 65536\n", 2, "backlog", NULL);
    expect_error("[milter]\nbacklog = 99999999999999999999999\n", 2, "backlog", NULL);
    expect_error("[delivery]\nsmtp_port = \n", 2, "smtp_port", NULL);
    /* bool */
    expect_error("[ldap]\nuri = ldap://x/\nstarttls = maybe\n", 3, "starttls", "maybe");
    /* duration */
    expect_error("[milter]\ntimeout = 5x\n", 2, "timeout", "5x");
    expect_error("[milter]\ntimeout = -5s\n", 2, "timeout", NULL);
    expect_error("[site]\nmass_window = 1.5h\n", 2, "mass_window", NULL);
    /* size */
    expect_error("[milter]\nspill_size = 1T\n", 2, "spill_size", "1T");
    expect_error("[mime]\nmax_text = \n", 2, "max_text", NULL);
    /* mode */
    expect_error("[milter]\nsocket_mode = 0999\n", 2, "socket_mode", "0999");
    expect_error("[milter]\nsocket_mode = 017777\n", 2, "socket_mode", NULL);
    expect_error("[milter]\nsocket_mode = rw\n", 2, "socket_mode", NULL);
    /* enum */
    expect_error("[site]\nlanguage = de\n", 2, "language", "de");
    expect_error("[milter]\non_directory_error = ignore\n", 2, "on_directory_error",
                 "tempfail");
    expect_error("[ldap]\ngroup_membership = nested\n", 2, "group_membership", NULL);
    /* argv */
    expect_error("[delivery]\nsendmail = sendmail -i\n", 2, "sendmail", "absolute");
    expect_error("[delivery]\nsendmail = /usr/sbin/sendmail 'unterminated\n", 2, "sendmail",
                 NULL);
    /* cross-key checks */
    expect_error("[log]\nident = x\nlevel = loud\n", 3, "level", "loud");
    expect_error("[log]\nfacility = kern7\n", 2, "facility", "kern7");
    expect_error("[delivery]\nretry_min = 2h\nretry_max = 1h\n", 3, "retry_max", NULL);
    expect_error("[site]\n\ntimezone = Europe/Sjovik\n", 3, "timezone", "Europe/Sjovik");
    expect_error("[site]\ntimezone = ../../etc/passwd\n", 2, "timezone", NULL);
    expect_error("[site]\ngateway_id = mx 1\n", 2, "gateway_id", "blanks");
    expect_error("[delivery]\ncopy_form = forward\n", 2, "copy_form", "redirect");
    expect_error("[delivery]\ncopy_reply_to = registrator\n", 2, "copy_reply_to", "sender");
    expect_error("[delivery]\ncopy_reply_to = <a@b.example>\n", 2, "copy_reply_to", NULL);
    expect_error("[delivery]\ncopy_reply_to = a@b.example, c@d.example\n", 2, "copy_reply_to",
                 NULL);
    expect_error("[mime]\nextractor = bin/diariemilter-extract\n", 2, "extractor", "absolute");
    expect_error("[mime]\nmax_text = 1M\nextract_timeout = 0\n", 3, "extract_timeout",
                 "at least 1s");
    expect_error("[mime]\nextract_message_timeout = 0s\n", 2, "extract_message_timeout", NULL);
    expect_error("[mime]\nextract_memory = 64M\n", 2, "extract_memory", "128M");
    expect_error("[mime]\nextract_workers = 65\n", 2, "extract_workers", NULL);
    /* The same key in two groups: the line is the one in the named group. */
    expect_error("[milter]\ntimeout = 5s\n[ldap]\ntimeout = soon\n", 4, "[ldap] timeout",
                 "soon");
}

/* Issue 18: what -n used to accept. */
static void test_error_networks(void **state)
{
    dm_conf *c;

    (void)state;
    expect_error("[milter]\ninternal_networks = 10.0.0.0/8, 10.0.0.0/33\n", 2,
                 "internal_networks", "10.0.0.0/33");
    expect_error("[milter]\n\nown_networks = 127.0.0.0/8, ::1/129\n", 3, "own_networks",
                 "::1/129");
    expect_error("[milter]\ninternal_networks = 10.0.0.0/x\n", 2, "internal_networks", NULL);
    expect_error("[milter]\ninternal_networks = intranet\n", 2, "internal_networks",
                 "intranet");
    /* Host bits beyond the prefix: the admin meant something else. */
    expect_error("[milter]\ninternal_networks = 10.1.2.3/8\n", 2, "internal_networks",
                 "10.1.2.3/8");
    /* Parsed once at load, matched per message. */
    c = load_ok("[milter]\ninternal_networks = 10.0.0.0/8, 192.168.4.0/22, 2001:db8::/32\n"
                "own_networks = 198.51.100.7\n");
    assert_true(dm_netlist_contains(c->internal_nets, "10.200.3.4"));
    assert_true(dm_netlist_contains(c->internal_nets, "192.168.7.255"));
    assert_false(dm_netlist_contains(c->internal_nets, "192.168.8.0"));
    assert_false(dm_netlist_contains(c->internal_nets, "11.0.0.1"));
    assert_true(dm_netlist_contains(c->internal_nets, "2001:db8:1::5"));
    assert_false(dm_netlist_contains(c->internal_nets, "2001:db9::5"));
    /* A dual-stack socket's IPv4-mapped client is its IPv4 address. */
    assert_true(dm_netlist_contains(c->internal_nets, "::ffff:10.9.8.7"));
    assert_false(dm_netlist_contains(c->internal_nets, "::ffff:11.9.8.7"));
    assert_false(dm_netlist_contains(c->internal_nets, "not an address"));
    assert_false(dm_netlist_contains(c->internal_nets, NULL));
    /* A bare address is that host. */
    assert_true(dm_netlist_contains(c->own_nets, "198.51.100.7"));
    assert_false(dm_netlist_contains(c->own_nets, "198.51.100.8"));
    assert_false(dm_netlist_contains(c->own_nets, "127.0.0.1"));
    dm_conf_unref(c);
    /* The defaults: loopback is ours, nothing is internal. */
    c = load_ok("");
    assert_true(dm_netlist_contains(c->own_nets, "127.0.0.1"));
    assert_true(dm_netlist_contains(c->own_nets, "::1"));
    assert_false(dm_netlist_contains(c->internal_nets, "10.0.0.1"));
    dm_conf_unref(c);
}

static void test_error_duplicate_key(void **state)
{
    (void)state;
    expect_error("[milter]\nbacklog = 5\nbacklog = 7\n", 3, "[milter] backlog", "line 2");
    /* Two [milter] headers are one group to GKeyFile: still twice. */
    expect_error("[milter]\nsocket = unix:/a/s\n[log]\nlevel = info\n[milter]\n"
                 "socket = unix:/b/s\n",
                 6, "[milter] socket", "line 2");
    /* Spacing does not make another key. */
    expect_error("[delivery]\nsender=a@sjovik.test\n# x\nsender   =   b@sjovik.test\n", 4,
                 "sender", "twice");
}

static void test_error_sender(void **state)
{
    dm_conf *c;

    (void)state;
    expect_error("[delivery]\nsender = postmaster\n", 2, "sender", "full address");
    expect_error("[delivery]\nsender = @sjovik.test\n", 2, "sender", NULL);
    expect_error("[delivery]\nsender = postmaster@\n", 2, "sender", NULL);
    expect_error("[delivery]\nsender = Diarie <diarie@sjovik.test>\n", 2, "sender", NULL);
    /* SMTP to another server: a full address, not this host's name. */
    expect_error("[delivery]\nmethod = smtp\n", 2, "[delivery] method", "sender set to");
    c = load_ok("[delivery]\nsender = diarie@sjovik.test\nmethod = smtp\n");
    assert_string_equal(dm_conf_sender(c), "diarie@sjovik.test");
    dm_conf_unref(c);
    /* SMTP AUTH: a user and a password file, or neither; STARTTLS by
     * default. */
    expect_error("[delivery]\nsmtp_user = diarie\n", 2, "smtp_user", "go together");
    expect_error("[delivery]\n\nsmtp_password_file = /etc/pw\n", 3, "smtp_password_file",
                 NULL);
    expect_error("[delivery]\nsmtp_tls = maybe\n", 2, "smtp_tls", "starttls");
    c = load_ok("[delivery]\nsender = d@sjovik.test\nmethod = smtp\nsmtp_user = diarie\n"
                "smtp_password_file = smtp.pw\n");
    assert_int_equal(c->smtp_tls, DM_SMTP_TLS_STARTTLS);
    assert_true(g_str_has_suffix(c->smtp_password_file, "/smtp.pw"));
    assert_true(g_path_is_absolute(c->smtp_password_file));
    /* ... which -n checks is there. */
    {
        GError *err = NULL;
        assert_false(dm_conf_check_host(c, &err));
        assert_non_null(strstr(err->message, "[delivery] smtp_password_file"));
        g_error_free(err);
    }
    dm_conf_unref(c);
}

/* Relative paths are the configuration file's directory's. */
static void test_relative_paths(void **state)
{
    char *sub = g_build_filename(tmpdir, "site", NULL);
    char *path, *want;
    GError *err = NULL;
    dm_conf *c;

    (void)state;
    assert_int_equal(g_mkdir_with_parents(sub, 0700), 0);
    path = g_build_filename(sub, "d.conf", NULL);
    assert_true(g_file_set_contents(path,
                                    "[store]\ndatabase = db/diarie.db\nspool = ../spool\n"
                                    "key_file = /var/lib/k\n[policy]\nrules = r.conf\n"
                                    "[log]\nfile = \n[metrics]\ntextfile = prom/dm.prom\n",
                                    -1, NULL));
    c = dm_conf_load(path, &err);
    assert_non_null(c);
    want = g_build_filename(sub, "db", "diarie.db", NULL);
    assert_string_equal(c->database, want);
    g_free(want);
    want = g_build_filename(tmpdir, "spool", NULL);
    assert_string_equal(c->spool, want);
    g_free(want);
    assert_string_equal(c->key_file, "/var/lib/k");
    want = g_build_filename(sub, "r.conf", NULL);
    assert_string_equal(c->rules_file, want);
    g_free(want);
    want = g_build_filename(sub, "prom", "dm.prom", NULL);
    assert_string_equal(c->metrics_textfile, want);
    g_free(want);
    /* Not set: the installed directory's. */
    assert_string_equal(c->templates, DM_SYSCONFDIR "/diariemilter/templates");
    /* Empty stays empty (no file). */
    assert_string_equal(c->log_file, "");
    dm_conf_unref(c);
    /* A URI is no path: a shared PostgreSQL database stays as written. */
    assert_true(g_file_set_contents(
        path, "[store]\ndatabase = postgresql://diarie@db1.sjovik.test/diarie\n", -1, NULL));
    c = dm_conf_load(path, &err);
    assert_non_null(c);
    assert_string_equal(c->database, "postgresql://diarie@db1.sjovik.test/diarie");
    dm_conf_unref(c);
    g_free(path);
    g_free(sub);
}

/* Checks against this host: the sendmail command, the CA file. */
static void test_check_host(void **state)
{
    char *exe = write_conf("fake-sendmail", "#!/bin/sh\nexit 0\n");
    char *ca = write_conf("ca.pem", "-----BEGIN CERTIFICATE-----\n");
    char *text, *where;
    GError *err = NULL;
    dm_conf *c;

    (void)state;
    assert_int_equal(chmod(exe, 0755), 0);
    text = g_strdup_printf("[delivery]\nsendmail = %s -i\n[ldap]\ntls_ca_file = %s\n", exe, ca);
    c = load_ok(text);
    assert_true(dm_conf_check_host(c, &err));
    dm_conf_unref(c);
    g_free(text);

    /* No such sendmail: refused, with the line. */
    c = load_ok("[ldap]\nuri = ldap://x/\n[delivery]\n\nsendmail = /nonexistent/sendmail -i\n");
    assert_false(dm_conf_check_host(c, &err));
    where = g_strdup_printf("%s:5: [delivery] sendmail", c->path);
    assert_non_null(strstr(err->message, where));
    assert_non_null(strstr(err->message, "/nonexistent/sendmail"));
    g_clear_error(&err);
    g_free(where);
    dm_conf_unref(c);
    /* Not executable. */
    assert_int_equal(chmod(exe, 0644), 0);
    text = g_strdup_printf("[delivery]\nsendmail = %s\n", exe);
    c = load_ok(text);
    assert_false(dm_conf_check_host(c, &err)); /* root too: no x bit at all */
    assert_non_null(strstr(err->message, "not executable"));
    g_clear_error(&err);
    dm_conf_unref(c);
    g_free(text);
    /* method = smtp: no sendmail needed. */
    c = load_ok("[delivery]\nmethod = smtp\nsender = d@sjovik.test\nsendmail = /nonexistent/x\n");
    assert_true(dm_conf_check_host(c, &err));
    dm_conf_unref(c);
    /* A missing CA file. */
    text = g_strdup_printf("[delivery]\nsendmail = /bin/true\n[ldap]\nstarttls = true\n"
                           "tls_ca_file = %s/nonexistent.pem\n",
                           tmpdir);
    c = load_ok(text);
    assert_false(dm_conf_check_host(c, &err));
    where = g_strdup_printf("%s:5: [ldap] tls_ca_file", c->path);
    assert_non_null(strstr(err->message, where));
    g_clear_error(&err);
    g_free(where);
    dm_conf_unref(c);
    g_free(text);
    g_free(exe);
    g_free(ca);
}

static void test_error_file(void **state)
{
    char *path = g_build_filename(tmpdir, "does-not-exist.conf", NULL);
    GError *err = NULL;
    dm_conf *c;

    (void)state;
    c = dm_conf_load(path, &err);
    assert_null(c);
    assert_non_null(err);
    assert_non_null(strstr(err->message, path));
    g_clear_error(&err);
    g_free(path);

    /* Not an INI file at all. */
    path = write_conf("syntax.conf", "[milter]\nthis line is nonsense\n");
    c = dm_conf_load(path, &err);
    assert_null(c);
    assert_non_null(err);
    assert_non_null(strstr(err->message, path));
    g_clear_error(&err);
    g_free(path);
}

/* ---- durations and sizes ---------------------------------------------------- */

static void test_parse_duration(void **state)
{
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {
        {"0", 0},       {"30", 30},        {"30s", 30},          {"5m", 300},
        {"2h", 7200},   {"7d", 604800},    {"1w", 604800},       {"300s", 300},
        {"0d", 0},      {"9223372036854775807", INT64_MAX},
        {"153722867280912930m", 153722867280912930LL * 60},
    };
    static const char *const bad[] = {
        "", "s", "m", "-1", "-1s", "5x", "5ms", "1.5h", "5 min", "h5",
        "9223372036854775808", "153722867280912931m", "106751991167301d",
        "99999999999999999999999", "5M", "5S",
    };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        v = -42;
        if (!dm_conf_parse_duration(ok[i].s, &v) || v != ok[i].v) {
            print_error("duration \"%s\": want %lld got %lld\n", ok[i].s, (long long)ok[i].v,
                        (long long)v);
            fail();
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        v = -42;
        if (dm_conf_parse_duration(bad[i], &v)) {
            print_error("duration \"%s\" accepted as %lld\n", bad[i], (long long)v);
            fail();
        }
        assert_int_equal(v, -42); /* untouched on failure */
    }
}

static void test_parse_size(void **state)
{
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {
        {"0", 0},
        {"512", 512},
        {"512b", 512},
        {"512B", 512},
        {"1k", 1024},
        {"64K", 65536},
        {"1M", 1048576},
        {"10m", 10485760},
        {"1G", 1073741824},
        {"3g", 3LL * 1073741824},
        {"8589934591G", 8589934591LL * 1073741824},
    };
    static const char *const bad[] = {
        "", "k", "-1", "-1k", "1T", "1kb", "1.5M", "1 KiB", "8589934592G",
        "99999999999999999999", "M1",
    };
    int64_t v;

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
        v = -42;
        if (!dm_conf_parse_size(ok[i].s, &v) || v != ok[i].v) {
            print_error("size \"%s\": want %lld got %lld\n", ok[i].s, (long long)ok[i].v,
                        (long long)v);
            fail();
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        v = -42;
        if (dm_conf_parse_size(bad[i], &v)) {
            print_error("size \"%s\" accepted as %lld\n", bad[i], (long long)v);
            fail();
        }
        assert_int_equal(v, -42);
    }
}

/* ---- reference counting ----------------------------------------------------- */

static void test_refcount(void **state)
{
    dm_conf *c = dm_conf_new_defaults();
    dm_conf *r;

    (void)state;
    assert_int_equal(c->refcount, 1);
    r = dm_conf_ref(c);
    assert_ptr_equal(r, c);
    assert_int_equal(c->refcount, 2);
    dm_conf_ref(c);
    assert_int_equal(c->refcount, 3);
    dm_conf_unref(c);
    dm_conf_unref(c);
    assert_int_equal(c->refcount, 1);
    /* Still usable with one reference left. */
    assert_int_equal(c->mass_recipients, 20);
    dm_conf_unref(c); /* freed: ASan reports a leak or a double free otherwise */
    dm_conf_unref(NULL);

    /* A loaded one too, shared by two holders. */
    c = load_ok("[site]\nintranet = https://intranat.sjovik.test/\n");
    r = dm_conf_ref(c);
    dm_conf_unref(c);
    assert_string_equal(r->intranet, "https://intranat.sjovik.test/");
    dm_conf_unref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_loads),
        cmocka_unit_test(test_sample_matches_schema),
        cmocka_unit_test(test_defaults_equal_schema),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_unknown_group),
        cmocka_unit_test(test_error_bad_values),
        cmocka_unit_test(test_error_networks),
        cmocka_unit_test(test_error_duplicate_key),
        cmocka_unit_test(test_error_sender),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_check_host),
        cmocka_unit_test(test_error_file),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_refcount),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
