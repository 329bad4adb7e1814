/*
 * diariectl queue [list] [--dead]
 * diariectl queue retry ITEM | delete ITEM | revive ITEM
 *
 * The delivery spool: copies and notices waiting (new/), being delivered
 * (cur/) and given up on (dead/).  retry delivers one now in this process
 * with the daemon's own code (dm_deliver_now); delete removes one without
 * a question but with a line in the log; revive moves a dead one back to
 * new/.  The daemon need not run, and nothing here waits for it.
 *
 * Exit status: 0 done (retry: delivered), 1 (list) items are dead,
 * 64 usage, 66 no such item or spool, 69 (retry) refused for good and
 * moved to dead/, 73 the item cannot be changed, 75 (retry) failed for now
 * and deferred, or the item is being delivered by another process,
 * 78 configuration.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm_ctl.h"
#include "dm_deliver.h"
#include "dm_log.h"
#include "dm_spool.h"

static char *dm_ctl_queue_time(int64_t t)
{
    GDateTime *dt;
    char *s;

    if (t <= 0)
        return g_strdup("now");
    dt = g_date_time_new_from_unix_local(t);
    s = g_date_time_format(dt, "%Y-%m-%d %H:%M:%S");
    g_date_time_unref(dt);
    return s;
}

/* Lines about what an admin did go to the daemon's log as well. */
static void dm_ctl_queue_log_open(const dm_conf *conf)
{
    dm_log_open("diariectl", conf->log_facility, false, conf->log_file, DM_LOG_INFO);
}

static int dm_ctl_queue_list(dm_spool *spool, bool dead_only)
{
    static const dm_spool_where all[] = {DM_SPOOL_NEW, DM_SPOOL_CUR, DM_SPOOL_DEAD};
    size_t counts[3] = {0, 0, 0};

    for (size_t w = 0; w < G_N_ELEMENTS(all); w++) {
        GError *err = NULL;
        GPtrArray *items;

        if (dead_only && all[w] != DM_SPOOL_DEAD)
            continue;
        items = dm_spool_list_in(spool, all[w], &err);
        if (items == NULL) {
            fprintf(stderr, "diariectl queue: %s\n", dm_ctl_safe(err->message));
            g_error_free(err);
            return DM_EX_NOINPUT;
        }
        for (guint i = 0; i < items->len; i++) {
            const dm_spool_item *it = g_ptr_array_index(items, i);
            char *created = dm_ctl_queue_time(it->created);
            char *next = dm_ctl_queue_time(it->next);

            printf("%s %s\n", dm_spool_where_name(all[w]), dm_ctl_safe(it->name));
            printf("    %s to %s, of message %s (Message-ID %s)\n", dm_ctl_safe(it->kind),
                   dm_ctl_safe(it->rcpt),
                   it->message != NULL ? dm_ctl_safe(it->message) : "?",
                   it->message_id != NULL ? dm_ctl_safe(it->message_id) : "-");
            printf("    made %s, attempts %d%s%s\n", created, it->attempts,
                   all[w] == DM_SPOOL_NEW ? ", next try " : "",
                   all[w] == DM_SPOOL_NEW ? next : "");
            if (it->last_error != NULL && *it->last_error != '\0')
                printf("    last error: %s\n", dm_ctl_safe(it->last_error));
            g_free(created);
            g_free(next);
        }
        counts[w] = items->len;
        g_ptr_array_free(items, TRUE);
    }
    if (dead_only)
        printf("%zu dead\n", counts[2]);
    else
        printf("%zu waiting, %zu being delivered, %zu dead\n", counts[0], counts[1], counts[2]);
    return counts[2] > 0 ? 1 : DM_EX_OK;
}

static dm_spool_item *dm_ctl_queue_find(dm_spool *spool, const char *name, int *rc)
{
    GError *err = NULL;
    dm_spool_item *it = dm_spool_find(spool, name, &err);

    if (it == NULL) {
        fprintf(stderr, "diariectl queue: %s\n", dm_ctl_safe(err->message));
        *rc = g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_INVAL) ? DM_EX_USAGE
                                                                     : DM_EX_NOINPUT;
        g_error_free(err);
    }
    return it;
}

static int dm_ctl_queue_retry(dm_spool *spool, const dm_conf *conf, const char *name)
{
    int rc = DM_EX_OK;
    dm_spool_item *it = dm_ctl_queue_find(spool, name, &rc);
    char *error = NULL;
    dm_deliver_status st;

    if (it == NULL)
        return rc;
    dm_ctl_queue_log_open(conf);
    dm_log(DM_LOG_NOTICE, "%s: queue retry of %s (%s to %s) by uid %ld", it->message, it->name,
           it->kind, dm_spool_item_rcpt_for_log(it), (long)getuid());
    st = dm_deliver_now(spool, conf, it, g_get_real_time() / G_USEC_PER_SEC, &error);
    switch (st) {
    case DM_DELIVERED:
        printf("%s: delivered to %s\n", dm_ctl_safe(it->name), dm_ctl_safe(it->rcpt));
        break;
    case DM_DELIVER_PERMANENT:
        printf("%s: refused for good, moved to dead/: %s\n", dm_ctl_safe(it->name),
               error ? dm_ctl_safe(error) : "?");
        rc = DM_DELIVER_PERMANENT;
        break;
    case DM_DELIVER_UNKNOWN:
        printf("%s: outcome unknown (the MTA may have taken it), moved to dead/: %s\n",
               dm_ctl_safe(it->name), error ? dm_ctl_safe(error) : "?");
        rc = DM_DELIVER_UNKNOWN;
        break;
    case DM_DELIVER_TEMPORARY:
        printf("%s: not delivered now: %s\n", dm_ctl_safe(it->name),
               error ? dm_ctl_safe(error) : "?");
        rc = DM_EX_TEMPFAIL;
        break;
    }
    g_free(error);
    dm_spool_item_free(it);
    return rc;
}

static int dm_ctl_queue_delete(dm_spool *spool, const dm_conf *conf, const char *name)
{
    int rc = DM_EX_OK, fd = -1;
    dm_spool_item *it = dm_ctl_queue_find(spool, name, &rc);
    GError *err = NULL;

    if (it == NULL)
        return rc;
    if (it->where == DM_SPOOL_CUR) {
        /* Not while a delivery process has it. */
        switch (dm_spool_lock(it->path, &fd, &err)) {
        case DM_SPOOL_LOCKED:
            break;
        case DM_SPOOL_BUSY:
            fprintf(stderr, "diariectl queue: %s is being delivered now; try again later\n",
                    dm_ctl_safe(it->name));
            dm_spool_item_free(it);
            return DM_EX_TEMPFAIL;
        case DM_SPOOL_GONE:
            fprintf(stderr, "diariectl queue: %s: delivered or moved meanwhile\n",
                    dm_ctl_safe(it->name));
            dm_spool_item_free(it);
            return DM_EX_NOINPUT;
        case DM_SPOOL_LOCK_ERROR:
            fprintf(stderr, "diariectl queue: %s\n", dm_ctl_safe(err->message));
            g_error_free(err);
            dm_spool_item_free(it);
            return DM_EX_CANTCREAT;
        }
    }
    if (!dm_spool_remove(spool, it, &err)) {
        fprintf(stderr, "diariectl queue: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        rc = DM_EX_CANTCREAT;
    } else {
        dm_ctl_queue_log_open(conf);
        dm_log(DM_LOG_WARNING,
               "%s: %s (%s to %s, Message-ID %s) DELETED from the spool's %s/ by uid %ld "
               "(diariectl queue delete)",
               it->message, it->name, it->kind, dm_spool_item_rcpt_for_log(it),
               it->message_id != NULL ? it->message_id : "-", dm_spool_where_name(it->where),
               (long)getuid());
        printf("%s: deleted (%s to %s)\n", dm_ctl_safe(it->name), dm_ctl_safe(it->kind),
               dm_ctl_safe(it->rcpt));
    }
    if (fd >= 0)
        close(fd);
    dm_spool_item_free(it);
    return rc;
}

static int dm_ctl_queue_revive(dm_spool *spool, const dm_conf *conf, const char *name)
{
    int rc = DM_EX_OK;
    dm_spool_item *it = dm_ctl_queue_find(spool, name, &rc);
    GError *err = NULL;

    if (it == NULL)
        return rc;
    if (it->where != DM_SPOOL_DEAD) {
        fprintf(stderr, "diariectl queue: %s is in %s/, not dead/\n", dm_ctl_safe(it->name),
                dm_spool_where_name(it->where));
        dm_spool_item_free(it);
        return DM_EX_USAGE;
    }
    if (!dm_spool_revive(spool, it, &err)) {
        fprintf(stderr, "diariectl queue: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        rc = DM_EX_CANTCREAT;
    } else {
        dm_ctl_queue_log_open(conf);
        dm_log(DM_LOG_NOTICE, "%s: %s (%s to %s) revived by uid %ld: back in new/", it->message,
               it->name, it->kind, dm_spool_item_rcpt_for_log(it), (long)getuid());
        printf("%s: back in new/; the daemon tries it at its next pass\n", dm_ctl_safe(it->name));
    }
    dm_spool_item_free(it);
    return rc;
}

int dm_ctl_queue(int argc, char **argv)
{
    char *conf_path = NULL;
    char **args = NULL;
    gboolean dead = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"dead", 0, 0, G_OPTION_ARG_NONE, &dead, "list: only the items in dead/", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new("[list [--dead] | retry ITEM | delete ITEM | "
                                              "revive ITEM]");
    GError *err = NULL;
    dm_conf *conf = NULL;
    dm_spool *spool = NULL;
    const char *cmd;
    int rc = DM_EX_USAGE;
    guint nargs;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(
        oc, "The delivery spool: copies and notices waiting (new/), being delivered (cur/)\n"
            "and given up on (dead/).\n"
            "  list     every item (the default); with --dead only the dead ones\n"
            "  retry    deliver ITEM now, in this process (a dead one goes back to dead/\n"
            "           if it fails again)\n"
            "  delete   remove ITEM (no question asked; logged)\n"
            "  revive   move the dead ITEM back to new/, to be tried again from now");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl queue: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        goto out;
    }
    nargs = args != NULL ? g_strv_length(args) : 0;
    cmd = nargs > 0 ? args[0] : "list";
    if (!((strcmp(cmd, "list") == 0 && nargs <= 1) ||
          ((strcmp(cmd, "retry") == 0 || strcmp(cmd, "delete") == 0 ||
            strcmp(cmd, "revive") == 0) &&
           nargs == 2))) {
        fprintf(stderr, "diariectl queue: list [--dead] | retry ITEM | delete ITEM | "
                        "revive ITEM\n");
        goto out;
    }
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    if (!g_file_test(conf->spool, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "diariectl queue: %s: no spool there ([store] spool)\n",
                dm_ctl_safe(conf->spool));
        rc = DM_EX_NOINPUT;
        goto out;
    }
    spool = dm_spool_open(conf->spool, false, &err);
    if (spool == NULL) {
        fprintf(stderr, "diariectl queue: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        rc = DM_EX_NOINPUT;
        goto out;
    }
    if (strcmp(cmd, "list") == 0)
        rc = dm_ctl_queue_list(spool, dead);
    else if (strcmp(cmd, "retry") == 0)
        rc = dm_ctl_queue_retry(spool, conf, args[1]);
    else if (strcmp(cmd, "delete") == 0)
        rc = dm_ctl_queue_delete(spool, conf, args[1]);
    else
        rc = dm_ctl_queue_revive(spool, conf, args[1]);
out:
    dm_spool_close(spool);
    dm_conf_unref(conf);
    g_strfreev(args);
    g_free(conf_path);
    g_option_context_free(oc);
    return rc;
}
