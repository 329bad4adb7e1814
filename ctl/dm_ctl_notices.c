/*
 * diariectl notices: the notices that ask a person to forward a message
 * to the registrator.
 *
 *   list    each notice since --since: sent, reminded, answered (by which
 *           journal row), its person and its message (subject only when
 *           not sekretess)
 *   remind  one reminder for each notice unanswered after [site]
 *           notice_reminder working days, spooled for the daemon's
 *           delivery (the package's timer runs it)
 *
 * --now TIME acts as if it were then (the tests fake the clock with it).
 */
#include <stdio.h>
#include <string.h>

#include "dm_ctl.h"
#include "dm_store.h"
#include "dm_util.h"

#define DM_CTL_NOTICES_USAGE "list|remind"

static void dm_notices_time(const dm_conf *conf, int64_t t, char *buf, size_t len)
{
    char *s;

    if (t == 0) {
        g_strlcpy(buf, "-", len);
        return;
    }
    s = dm_engine_local_time(conf, t, "%Y-%m-%d %H:%M");
    g_strlcpy(buf, s, len);
    g_free(s);
}

static int dm_notices_list(dm_engine *e, int64_t since)
{
    const dm_conf *conf = dm_engine_conf(e);
    GError *err = NULL;
    GPtrArray *rows = dm_store_notice_list(dm_engine_store(e), since, &err);

    if (rows == NULL) {
        fprintf(stderr, "diariectl notices: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return DM_EX_SOFTWARE;
    }
    printf("%-16s %-16s %-16s %-20s %s\n", "sent", "reminded", "answered", "id", "person");
    for (guint i = 0; i < rows->len; i++) {
        const dm_notice_row *n = g_ptr_array_index(rows, i);
        dm_journal_row *r = NULL;
        char *person = NULL;
        char sent[32], rem[32], ans[32];

        if (!dm_engine_notice_lookup(dm_engine_store(e), n, &r, &person, &err)) {
            fprintf(stderr, "diariectl notices: %s\n", dm_ctl_safe(err->message));
            g_clear_error(&err);
        }
        dm_notices_time(conf, n->time, sent, sizeof sent);
        dm_notices_time(conf, n->reminded, rem, sizeof rem);
        dm_notices_time(conf, n->answered, ans, sizeof ans);
        printf("%-16s %-16s %-16s %-20s %s\n", sent, rem, ans, dm_ctl_safe(n->id),
               dm_ctl_safe(person != NULL ? person : "(journal row gone)"));
        if (r != NULL)
            printf("  subject: %s%s%s\n",
                   dm_ctl_safe(r->sekretess ? "(sekretess)" : r->subject),
                   n->answer_id != NULL ? "; answered by " : "",
                   dm_ctl_safe(n->answer_id));
        dm_journal_row_free(r);
        g_free(person);
    }
    g_ptr_array_free(rows, TRUE);
    return DM_EX_OK;
}

int dm_ctl_notices(int argc, char **argv)
{
    char *conf_path = NULL, *now_s = NULL, *since_s = NULL;
    char **args = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"now", 0, 0, G_OPTION_ARG_STRING, &now_s,
         "act as if it were this time (ISO 8601)", "TIME"},
        {"since", 0, 0, G_OPTION_ARG_STRING, &since_s,
         "list: notices sent since this time (ISO 8601; default 30 days ago)", "TIME"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new(DM_CTL_NOTICES_USAGE);
    GError *err = NULL;
    dm_conf *conf = NULL;
    dm_engine *e = NULL;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC, since;
    int rc = DM_EX_USAGE;
    bool remind;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(
        oc, "The notices that ask a person to forward a message to the registrator.\n"
            "  list: each with when it was sent, reminded and answered.\n"
            "  remind: one reminder for each notice unanswered after [site]\n"
            "  notice_reminder working days, spooled for delivery.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl notices: %s\n", dm_ctl_safe(err->message));
        g_clear_error(&err);
        goto out;
    }
    if (now_s != NULL && !dm_time_parse_iso8601(now_s, &now)) {
        fprintf(stderr, "diariectl notices: --now: \"%s\" is not an ISO 8601 time\n",
                dm_ctl_safe(now_s));
        goto out;
    }
    since = now - 30 * 86400;
    if (since_s != NULL && !dm_time_parse_iso8601(since_s, &since)) {
        fprintf(stderr, "diariectl notices: --since: \"%s\" is not an ISO 8601 time\n",
                dm_ctl_safe(since_s));
        goto out;
    }
    if (args == NULL || args[0] == NULL || args[1] != NULL ||
        (strcmp(args[0], "list") != 0 && strcmp(args[0], "remind") != 0)) {
        fprintf(stderr, "diariectl notices: " DM_CTL_NOTICES_USAGE "\n");
        goto out;
    }
    remind = strcmp(args[0], "remind") == 0;
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    if (!dm_store_exists(conf->database)) {
        fprintf(stderr, "diariectl notices: %s: no database yet\n", dm_ctl_safe(conf->database));
        rc = DM_EX_NOINPUT;
        goto out;
    }
    dm_mime_init();
    e = dm_engine_new(conf, DM_ENGINE_OFFLINE | DM_ENGINE_READONLY |
                                (remind ? 0 : DM_ENGINE_NO_SPOOL),
                      NULL, &err);
    if (e == NULL) {
        fprintf(stderr, "diariectl notices: %s\n", dm_ctl_safe(err->message));
        g_clear_error(&err);
        rc = DM_EX_CONFIG;
        goto out;
    }
    if (!remind) {
        rc = dm_notices_list(e, since);
    } else {
        unsigned sent = 0;

        if (dm_engine_remind(e, now, &sent, &err)) {
            printf("%u reminder%s spooled\n", sent, sent == 1 ? "" : "s");
            rc = DM_EX_OK;
        } else {
            fprintf(stderr, "diariectl notices remind: %s (%u spooled before)\n",
                    dm_ctl_safe(err->message), sent);
            g_clear_error(&err);
            rc = DM_EX_TEMPFAIL;
        }
    }
out:
    if (e != NULL)
        dm_engine_unref(e);
    dm_conf_unref(conf);
    g_option_context_free(oc);
    g_free(conf_path);
    g_free(now_s);
    g_free(since_s);
    g_strfreev(args);
    return rc;
}
