/*
 * diariectl cases import FILE.csv | cases list
 */
#include <stdio.h>
#include <string.h>

#include "dm_ctl.h"

static int dm_ctl_cases_import(dm_conf *conf, const char *csv)
{
    GError *err = NULL;
    dm_policy *p = dm_policy_new(conf, &err);
    dm_store *s = NULL;
    size_t n = 0;
    int rc = DM_EX_OK;

    if (p == NULL) {
        fprintf(stderr, "diariectl cases import: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return DM_EX_CONFIG;
    }
    dm_store_prepare(conf->database);
    s = dm_store_open_conf(conf, NULL, 0, &err);
    if (s == NULL || !dm_store_cases_import(s, csv, dm_policy_dnr_parser(p), &n, &err)) {
        fprintf(stderr, "diariectl cases import: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        rc = s == NULL ? DM_EX_CANTCREAT : DM_EX_DATAERR;
    } else {
        printf("imported %zu cases from %s\n", n, dm_ctl_safe(csv));
    }
    dm_store_close(s);
    dm_policy_free(p);
    return rc;
}

static bool dm_ctl_cases_print(const dm_store_case *c, void *data)
{
    (void)data;
    printf("%-14s %-4s %-10s %-3s %-30s %s\n", dm_ctl_safe(c->dnr), dm_ctl_safe(c->myndighet),
           dm_ctl_safe(c->status), c->sekretess ? "sek" : "-", dm_ctl_safe(c->parties),
           dm_ctl_safe(c->title));
    return true;
}

static int dm_ctl_cases_list(dm_conf *conf)
{
    GError *err = NULL;
    dm_policy *p = dm_policy_new(conf, &err);
    dm_store *s;
    int rc = DM_EX_OK;

    if (p == NULL) {
        fprintf(stderr, "diariectl cases list: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return DM_EX_CONFIG;
    }
    dm_policy_free(p);
    s = dm_store_open_conf(conf, NULL, 0, &err);
    if (s == NULL) {
        fprintf(stderr, "diariectl cases list: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return DM_EX_NOINPUT;
    }
    if (!dm_store_cases_each(s, dm_ctl_cases_print, NULL, &err)) {
        fprintf(stderr, "diariectl cases list: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        rc = DM_EX_SOFTWARE;
    }
    dm_store_close(s);
    return rc;
}

int dm_ctl_cases(int argc, char **argv)
{
    char *conf_path = NULL;
    char **args = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new("import FILE.csv | list");
    GError *err = NULL;
    dm_conf *conf = NULL;
    int rc = DM_EX_USAGE;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(oc, "import: replace the case index by a diarium export "
                                     "(CSV: diarienummer,myndighet,rubrik,status,parter,"
                                     "sekretess), atomically.\nlist: show the index.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl cases: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        goto out;
    }
    if (args == NULL || args[0] == NULL) {
        fprintf(stderr, "diariectl cases: import FILE.csv | list\n");
        goto out;
    }
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    if (strcmp(args[0], "import") == 0 && args[1] != NULL && args[2] == NULL)
        rc = dm_ctl_cases_import(conf, args[1]);
    else if (strcmp(args[0], "list") == 0 && args[1] == NULL)
        rc = dm_ctl_cases_list(conf);
    else
        fprintf(stderr, "diariectl cases: import FILE.csv | list\n");
out:
    dm_conf_unref(conf);
    g_strfreev(args);
    g_free(conf_path);
    g_option_context_free(oc);
    return rc;
}
