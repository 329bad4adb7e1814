/*
 * common/dm_data: the site's rules and templates over the shipped ones
 * (/etc/diariemilter over /usr/share/diariemilter, issue 18).
 */
#include "dm_test.h"

#include <glib/gstdio.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_data.h"
#include "dm_mime.h"
#include "dm_policy.h"

static char *tmp, *site, *shipped;

static void put(const char *dir, const char *rel, const char *text)
{
    char *path = g_build_filename(dir, rel, NULL), *d = g_path_get_dirname(path);

    assert_int_equal(g_mkdir_with_parents(d, 0755), 0);
    assert_true(g_file_set_contents(path, text, -1, NULL));
    g_free(d);
    g_free(path);
}

static int setup(void **state)
{
    (void)state;
    tmp = dm_test_tmpdir();
    site = g_build_filename(tmp, "etc", NULL);
    shipped = g_build_filename(tmp, "share", NULL);
    g_mkdir_with_parents(site, 0755);
    g_mkdir_with_parents(shipped, 0755);
    dm_data_set_shipped_dir(shipped);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dm_data_set_shipped_dir(NULL);
    dm_test_rmtree(tmp);
    g_free(tmp);
    g_free(site);
    g_free(shipped);
    return 0;
}

static void assert_found(const char *dir, const char *rel, const char *sub, const char *want_dir,
                         const char *want_rel)
{
    char *got = dm_data_find(dir, rel, sub), *want = g_build_filename(want_dir, want_rel, NULL);

    assert_string_equal(got, want);
    g_free(got);
    g_free(want);
}

static void test_site_first_then_shipped(void **state)
{
    char *tdir = g_build_filename(site, "templates", NULL);

    (void)state;
    put(shipped, "rules/a.words", "shipped\n");
    put(shipped, "templates/sv/copy.txt", "Subject: s\n\nshipped\n");
    /* Nothing in the site's directory: the shipped file. */
    assert_found(site, "rules/a.words", NULL, shipped, "rules/a.words");
    assert_found(tdir, "sv/copy.txt", "templates", shipped, "templates/sv/copy.txt");
    /* The site's file of the same name replaces it. */
    put(site, "rules/a.words", "site\n");
    put(site, "templates/sv/copy.txt", "Subject: s\n\nsite\n");
    assert_found(site, "rules/a.words", NULL, site, "rules/a.words");
    assert_found(tdir, "sv/copy.txt", "templates", tdir, "sv/copy.txt");
    /* Neither: the site's path, whose "no such file" is the error. */
    assert_found(site, "rules/b.words", NULL, site, "rules/b.words");
    g_free(tdir);
}

static void test_broken_link_is_the_sites(void **state)
{
    char *link = g_build_filename(site, "gone.words", NULL);

    (void)state;
    put(shipped, "gone.words", "shipped\n");
    assert_int_equal(symlink("/nonexistent/gone.words", link), 0);
    assert_found(site, "gone.words", NULL, site, "gone.words");
    g_free(link);
}

static void test_absolute_and_file(void **state)
{
    char *f, *want;

    (void)state;
    f = dm_data_find(site, "/srv/x.words", NULL);
    assert_string_equal(f, "/srv/x.words");
    g_free(f);
    put(shipped, "rules.conf", "[x]\n");
    f = g_build_filename(site, "rules.conf", NULL);
    want = g_build_filename(shipped, "rules.conf", NULL);
    {
        char *got = dm_data_find_file(f);
        assert_string_equal(got, want);
        g_free(got);
    }
    g_free(f);
    g_free(want);
}

/* The whole rules and templates from the shipped directory (the source
 * tree's etc/ stands in for /usr/share/diariemilter), a site directory
 * holding one template of its own. */
static void test_rules_and_templates_load_from_shipped(void **state)
{
    dm_conf *conf = dm_conf_new_defaults();
    char *etc = dm_test_path("etc");
    GHashTable *vars = g_hash_table_new(g_str_hash, g_str_equal);
    GError *err = NULL;
    dm_templates *t;
    dm_policy *p;
    char *subject = NULL, *body = NULL;

    (void)state;
    dm_data_set_shipped_dir(etc);
    g_free(conf->rules_file);
    conf->rules_file = g_build_filename(site, "rules.conf", NULL);
    g_free(conf->templates);
    conf->templates = g_build_filename(site, "templates", NULL);
    p = dm_policy_new(conf, &err);
    assert_null(err);
    assert_non_null(p);
    dm_policy_free(p);

    put(site, "templates/sv/digest.txt", "Subject: Sjövik {{x}}\n\nlokal\n");
    t = dm_templates_load(conf->templates, DM_LANG_SV, &err);
    assert_null(err);
    assert_non_null(t);
    g_hash_table_insert(vars, "x", "idag");
    assert_true(dm_template_expand(t, "digest", vars, &subject, &body));
    assert_string_equal(subject, "Sjövik idag");
    g_free(subject);
    g_free(body);
    assert_true(dm_template_expand(t, "copy", vars, &subject, &body));
    assert_true(strlen(body) > 0);
    g_free(subject);
    g_free(body);
    dm_templates_free(t);

    /* A broken rules file of the site's wins over the shipped one, and
     * its error names it. */
    put(site, "rules.conf", "[broken\n");
    p = dm_policy_new(conf, &err);
    assert_null(p);
    assert_non_null(err);
    assert_non_null(strstr(err->message, conf->rules_file));
    g_clear_error(&err);

    dm_data_set_shipped_dir(shipped);
    g_hash_table_destroy(vars);
    g_free(etc);
    dm_conf_unref(conf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_site_first_then_shipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_link_is_the_sites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_and_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rules_and_templates_load_from_shipped, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
