/*
 * diariectl store version
 *     The schema version of [store] database, and the one this binary
 *     writes.
 * diariectl store upgrade
 *     Bring the schema of [store] database up to this binary's version,
 *     in place, in one transaction.  SQLite's is also upgraded when the
 *     daemon opens it; a PostgreSQL database shared by several gateways
 *     only by this command, once every gateway runs this version.
 * diariectl store migrate --from sqlite:PATH [--to DATABASE]
 *     Move the record of a SQLite database (the journal row for row with
 *     its chain, the cases, the counters and claims) into an empty
 *     PostgreSQL database (default: [store] database).  Stop the daemon
 *     first; "diariectl journal verify" passes after, with the same key.
 *
 * Exit status: 0 done, 64 usage, 66 a database cannot be opened, 70 the
 * upgrade or migration failed (nothing changed), 78 configuration.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm_ctl.h"
#include "dm_log.h"

static dm_store_options dm_ctl_store_options(const dm_conf *conf)
{
    dm_store_options opt = {.gateway = dm_conf_gateway_id(conf),
                            .connect_timeout = conf->store_connect_timeout,
                            .timeout = conf->store_timeout,
                            .pool_size = 1};

    return opt;
}

static int dm_ctl_store_version(const dm_conf *conf)
{
    dm_store_options opt = dm_ctl_store_options(conf);
    GError *err = NULL;
    dm_store *s;
    int v = 0;

    if (!dm_store_exists(conf->database)) {
        printf("no database yet; this diariemilter writes schema version %d\n",
               DM_STORE_SCHEMA_VERSION);
        return DM_EX_OK;
    }
    s = dm_store_open_for_upgrade(conf->database, &opt, &err);
    if (s == NULL || !dm_store_schema_version(s, &v, &err)) {
        fprintf(stderr, "diariectl store: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        dm_store_close(s);
        return DM_EX_NOINPUT;
    }
    printf("%s database, schema version %d; this diariemilter writes %d%s\n",
           dm_store_backend_name(s), v, DM_STORE_SCHEMA_VERSION,
           v < DM_STORE_SCHEMA_VERSION ? " (diariectl store upgrade)" : "");
    dm_store_close(s);
    return DM_EX_OK;
}

static int dm_ctl_store_upgrade(const dm_conf *conf)
{
    dm_store_options opt = dm_ctl_store_options(conf);
    GError *err = NULL;
    dm_store *s;
    int from = 0;

    dm_store_prepare(conf->database);
    s = dm_store_open_for_upgrade(conf->database, &opt, &err);
    if (s == NULL) {
        fprintf(stderr, "diariectl store upgrade: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return DM_EX_NOINPUT;
    }
    if (!dm_store_upgrade(s, &from, &err)) {
        fprintf(stderr, "diariectl store upgrade: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        dm_store_close(s);
        return DM_EX_SOFTWARE;
    }
    if (from == DM_STORE_SCHEMA_VERSION)
        printf("schema version %d: nothing to do\n", from);
    else
        printf("schema version %d upgraded to %d\n", from, DM_STORE_SCHEMA_VERSION);
    dm_store_close(s);
    return DM_EX_OK;
}

static int dm_ctl_store_migrate(const dm_conf *conf, const char *from_spec, const char *to)
{
    dm_store_options opt = dm_ctl_store_options(conf);
    GError *err = NULL;
    dm_store *from = NULL, *dst = NULL;
    const char *path;
    int rc = DM_EX_NOINPUT;

    if (!g_str_has_prefix(from_spec, "sqlite:")) {
        fprintf(stderr, "diariectl store migrate: --from sqlite:PATH\n");
        return DM_EX_USAGE;
    }
    path = from_spec + strlen("sqlite:");
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "diariectl store migrate: %s: no such database\n", dm_ctl_safe(path));
        return DM_EX_NOINPUT;
    }
    /* The chain moves as it stands: no mac is made, no key needed. */
    from = dm_store_open(path, NULL, 0, &err);
    if (from == NULL)
        goto fail;
    if (g_str_has_prefix(to, "sqlite:"))
        to += strlen("sqlite:");
    dst = dm_store_open_with(to, &opt, NULL, 0, &err);
    if (dst == NULL)
        goto fail;
    if (!dm_store_migrate(from, dst, &err)) {
        rc = DM_EX_SOFTWARE;
        goto fail;
    }
    printf("moved the journal, cases and counters of %s into the %s database; set "
           "[store] database to it and run \"diariectl journal verify\"\n",
           dm_ctl_safe(path), dm_store_backend_name(dst));
    rc = DM_EX_OK;
    goto out;
fail:
    fprintf(stderr, "diariectl store migrate: %s\n", dm_ctl_safe(err->message));
    g_error_free(err);
out:
    dm_store_close(dst);
    dm_store_close(from);
    return rc;
}

int dm_ctl_store(int argc, char **argv)
{
    char *conf_path = NULL, *from = NULL, *to = NULL;
    char **args = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "migrate: the database to move", "sqlite:PATH"},
        {"to", 0, 0, G_OPTION_ARG_STRING, &to,
         "migrate: where to (default: [store] database)", "DATABASE"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new("version | upgrade | migrate --from sqlite:PATH");
    GError *err = NULL;
    dm_conf *conf = NULL;
    int rc = DM_EX_USAGE;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(
        oc, "The database behind [store] database (SQLite or PostgreSQL).\n"
            "  version  its schema version and this binary's\n"
            "  upgrade  bring its schema up to this binary's, in place\n"
            "  migrate  move a SQLite database's record into an empty PostgreSQL one");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl store: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        goto out;
    }
    if (args == NULL || g_strv_length(args) != 1 ||
        (strcmp(args[0], "version") != 0 && strcmp(args[0], "upgrade") != 0 &&
         strcmp(args[0], "migrate") != 0) ||
        (strcmp(args[0], "migrate") == 0) != (from != NULL)) {
        fprintf(stderr, "diariectl store: version | upgrade | migrate --from sqlite:PATH "
                        "[--to DATABASE]\n");
        goto out;
    }
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    if (strcmp(args[0], "version") == 0)
        rc = dm_ctl_store_version(conf);
    else if (strcmp(args[0], "upgrade") == 0)
        rc = dm_ctl_store_upgrade(conf);
    else
        rc = dm_ctl_store_migrate(conf, from, to != NULL ? to : conf->database);
    if (rc == DM_EX_OK && strcmp(args[0], "version") != 0) {
        dm_log_open("diariectl", conf->log_facility, false, conf->log_file, DM_LOG_INFO);
        dm_log(DM_LOG_NOTICE, "store %s by uid %ld", args[0], (long)getuid());
    }
out:
    dm_conf_unref(conf);
    g_strfreev(args);
    g_free(conf_path);
    g_free(from);
    g_free(to);
    g_option_context_free(oc);
    return rc;
}
