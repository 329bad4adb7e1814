/*
 * diariectl COMMAND [ARGS]
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm_ctl.h"
#include "dm_log.h"
#include "dm_util.h"

#ifndef DM_SYSCONFDIR
#define DM_SYSCONFDIR "/etc"
#endif

/* Run as root, become [milter] user before anything opens the database,
 * the spool or the key: what diariectl makes (a database and its -wal and
 * -shm files by "cases import" before the first start, a spool item moved
 * by "queue revive") must stay the daemon's, or the daemon, no longer
 * root, could not write it.  Not root, or no user: nothing changes. */
static bool dm_ctl_become_user(const dm_conf *conf)
{
    struct passwd *pw;

    if (geteuid() != 0 || *conf->user == '\0')
        return true;
    errno = 0;
    pw = getpwnam(conf->user);
    if (pw == NULL) {
        fprintf(stderr, "diariectl: %s: [milter] user: no user \"%s\"\n",
                dm_ctl_safe(conf->path), dm_ctl_safe(conf->user));
        return false;
    }
    if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "diariectl: cannot become %s: %s\n", dm_ctl_safe(conf->user),
                g_strerror(errno));
        return false;
    }
    return true;
}

dm_conf *dm_ctl_conf(const char *path)
{
    GError *err = NULL;
    dm_conf *conf;

    if (path == NULL)
        path = g_getenv("DIARIEMILTER_CONF");
    if (path == NULL)
        path = DM_SYSCONFDIR "/diariemilter/diariemilter.conf";
    conf = dm_conf_load(path, &err);
    if (conf == NULL) {
        fprintf(stderr, "diariectl: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return NULL;
    }
    if (!dm_ctl_become_user(conf)) {
        dm_conf_unref(conf);
        return NULL;
    }
    return conf;
}

/* A ring of escaped strings: one printf may use several at once. */
#define DM_CTL_SAFE_SLOTS 16

const char *dm_ctl_safe(const char *s)
{
    static _Thread_local GString *ring[DM_CTL_SAFE_SLOTS];
    static _Thread_local unsigned next;
    GString *slot;

    if (s == NULL)
        return "";
    slot = ring[next];
    if (slot == NULL)
        slot = ring[next] = g_string_new(NULL);
    next = (next + 1) % DM_CTL_SAFE_SLOTS;
    g_string_truncate(slot, 0);
    dm_text_escape(slot, s);
    return slot->str;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} dm_ctl_commands[] = {
    {"classify", dm_ctl_classify, "classify a message as the daemon would"},
    {"fit", dm_ctl_fit, "fit the rules' weights on labelled corpus sets (make corpus-fit)"},
    {"cases", dm_ctl_cases, "the diarium case index: import FILE.csv, list"},
    {"directory", dm_ctl_directory, "the directory: lookup ADDR, check what the rules lack"},
    {"queue", dm_ctl_queue, "the delivery spool: list, retry, delete, revive ITEM"},
    {"journal", dm_ctl_journal, "the journal: verify, search, prune, backup FILE"},
    {"store", dm_ctl_store, "the database: version, upgrade, migrate --from sqlite:PATH"},
    {"report", dm_ctl_report, "reports: absence, svarstider (R15), digest [--send]"},
    {"notices", dm_ctl_notices, "notices asking for a forward: list, remind"},
    {"bench", dm_ctl_bench, "time parsing, extraction and classification on one thread"},
};

static void dm_ctl_usage(FILE *to)
{
    fprintf(to, "usage: diariectl COMMAND [ARGS]   (diariectl COMMAND --help)\n\ncommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(dm_ctl_commands); i++)
        fprintf(to, "  %-10s %s\n", dm_ctl_commands[i].name, dm_ctl_commands[i].help);
}

int main(int argc, char **argv)
{
    /* Tools print their own errors; library warnings go to stderr. */
    dm_log_stderr_only(DM_LOG_WARNING);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        dm_ctl_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? DM_EX_USAGE : DM_EX_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("diariectl %s\n", DM_VERSION);
        return DM_EX_OK;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(dm_ctl_commands); i++) {
        if (strcmp(argv[1], dm_ctl_commands[i].name) == 0)
            return dm_ctl_commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "diariectl: unknown command \"%s\"\n", dm_ctl_safe(argv[1]));
    dm_ctl_usage(stderr);
    return DM_EX_USAGE;
}
