/*
 * diariemilter: the process.
 *
 *   diariemilter [-c FILE] [-f] [-n] [-V]
 *   diariemilter --deliver SPOOL/cur/ITEM -c FILE   (the daemon's own
 *       delivery process, see deliver/dm_deliver.h; not for people)
 *
 * main runs in steps, and their order matters: the configuration is
 * checked and the rules and templates built (on the terminal, where a
 * mistake is seen); the socket is opened (as root if need be), the
 * spool and database directories are made and handed to [milter] user
 * (dm_milter_start.c); the process detaches and drops its privileges;
 * and only then is the engine built and are threads started.  Signals:
 * SIGTERM and SIGINT stop (libmilter's signal thread; it also turns
 * SIGHUP into a stop), SIGUSR1 reloads the configuration.  Under
 * systemd (Type=notify, NOTIFY_SOCKET set) the daemon says READY=1 once
 * its socket listens, RELOADING=1 and READY=1 around a reload, and
 * STOPPING=1; without NOTIFY_SOCKET these are no-ops.
 */
#include <inttypes.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "dm_log.h"
#include "dm_milter.h"

#ifndef DM_SYSCONFDIR
#define DM_SYSCONFDIR "/etc"
#endif
#define DM_DEFAULT_CONF DM_SYSCONFDIR "/diariemilter/diariemilter.conf"

dm_milter_state dm_milter;

/* -f: also log to standard error.  Kept for the reload, which reopens
 * the log and must not silently drop standard error under -f. */
static bool dm_foreground;

dm_engine *dm_milter_engine(void)
{
    dm_engine *e;

    g_mutex_lock(&dm_milter.lock);
    e = dm_engine_ref(dm_milter.engine);
    g_mutex_unlock(&dm_milter.lock);
    return e;
}

bool dm_milter_log_open(const dm_conf *conf, bool foreground, bool with_file)
{
    dm_log_level level = DM_LOG_INFO;

    dm_log_level_from_name(conf->log_level, &level);
    /* In the foreground, mirror to a terminal; under systemd stderr goes
     * to the journal, which has the syslog lines already. */
    return dm_log_open(conf->log_ident, conf->log_facility, foreground && isatty(2),
                       with_file ? conf->log_file : NULL, level);
}

bool dm_milter_reload(GError **err)
{
    dm_conf *conf = dm_conf_load(dm_milter.conf_path, err);
    dm_engine *fresh, *old;

    if (conf == NULL)
        return false;
    if (!dm_conf_check_host(conf, err)) {
        dm_conf_unref(conf);
        return false;
    }
    fresh = dm_engine_new(conf, 0, dm_milter.spool, err);
    if (fresh == NULL) {
        dm_conf_unref(conf);
        return false;
    }
    if (strcmp(conf->spool, dm_engine_conf(dm_milter.engine)->spool) != 0 ||
        strcmp(conf->socket, dm_engine_conf(dm_milter.engine)->socket) != 0 ||
        strcmp(conf->user, dm_engine_conf(dm_milter.engine)->user) != 0 ||
        !dm_milter_metrics_same(conf, dm_engine_conf(dm_milter.engine)))
        dm_log(DM_LOG_WARNING, "reload: [milter] socket, [milter] user, [store] spool and "
                               "[metrics] take effect only at restart");
    g_mutex_lock(&dm_milter.lock);
    old = dm_milter.engine;
    dm_milter.engine = fresh;
    g_mutex_unlock(&dm_milter.lock);
    if (dm_milter.deliver != NULL)
        dm_deliver_set_conf(dm_milter.deliver, conf);
    dm_engine_unref(old); /* messages in flight keep theirs */
    dm_conf_unref(conf);
    return true;
}

/* Reopen the [log] file as the daemon's user (after rotation, a new one
 * in its directory).  When that fails, lines go to syslog and standard
 * error, and the warning says why and what to do. */
static void dm_log_reopen(const dm_conf *c)
{
    if (!dm_milter_log_open(c, dm_foreground, true)) {
        int e = errno;
        char *dir = g_path_get_dirname(c->log_file);

        dm_log(DM_LOG_WARNING,
               "[log] file %s: cannot reopen it as %s (%s): logging to syslog and standard "
               "error; the file's directory %s must be writable by that user, or logrotate "
               "must create the file for it (create 0640 USER GROUP, see "
               "packaging/logrotate/diariemilter)",
               c->log_file, *c->user ? c->user : "this user", g_strerror(e), dir);
        g_free(dir);
    }
}

/* Tell systemd (Type=notify) how the daemon stands; a failure is worth
 * a warning, since systemd would then kill a daemon that works. */
static void dm_notify(const char *state)
{
    int r = sd_notify(0, state);

    if (r < 0)
        dm_log(DM_LOG_WARNING, "cannot tell systemd (NOTIFY_SOCKET): %s", g_strerror(-r));
}

/* SIGUSR1: reload.  libmilter's own signal thread takes SIGHUP, SIGINT
 * and SIGTERM; this one takes SIGUSR1 only. */
static gpointer dm_reload_thread(gpointer data)
{
    sigset_t set;
    int sig;

    (void)data;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            GError *err = NULL;
            struct timespec now;
            char reloading[64];
            bool reloaded;

            /* MONOTONIC_USEC: what systemd 253 and later want with it. */
            clock_gettime(CLOCK_MONOTONIC, &now);
            snprintf(reloading, sizeof reloading, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
                     (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u);
            dm_notify(reloading);
            reloaded = dm_milter_reload(&err);

            /* The log is reopened either way: SIGUSR1 is also what
             * logrotate sends once it has moved the file away. */
            dm_log_reopen(dm_engine_conf(dm_milter.engine));
            if (reloaded) {
                dm_log(DM_LOG_NOTICE, "configuration reloaded from %s", dm_milter.conf_path);
            } else {
                dm_log(DM_LOG_ERR, "reload failed, keeping the running configuration: %s",
                       err->message);
                g_error_free(err);
            }
            /* Either way the daemon runs (on the old configuration when
             * the new one is broken). */
            dm_notify("READY=1");
        }
    }
    return NULL;
}

static void dm_usage(FILE *to)
{
    fprintf(to,
            "usage: diariemilter [-c FILE] [-f] [-n] [-V]\n"
            "  -c FILE  configuration (default %s)\n"
            "  -f       stay in the foreground (log lines also go to a terminal)\n"
            "  -n       check the configuration and exit\n"
            "  -V       print the version and exit\n",
            DM_DEFAULT_CONF);
}

/* Everything -n checks, short of connecting anywhere: the configuration,
 * and the rules and templates an engine is built from (*rules, for the
 * engine the daemon builds once it has dropped its privileges). */
static dm_conf *dm_check_config(const char *path, bool quiet, dm_engine_rules **rules)
{
    GError *err = NULL;
    dm_conf *conf = dm_conf_load(path, &err);
    char *upath = NULL;

    *rules = NULL;
    if (conf == NULL) {
        fprintf(stderr, "diariemilter: %s\n", err->message);
        g_error_free(err);
        return NULL;
    }
    if (!dm_socket_spec_ok(conf->socket, &upath)) {
        fprintf(stderr, "diariemilter: %s: [milter] socket: \"%s\" is not unix:/path or "
                        "inet:port@host\n", path, conf->socket);
        goto fail;
    }
    g_free(upath);
    if (!dm_conf_check_host(conf, &err)) {
        fprintf(stderr, "diariemilter: %s\n", err->message);
        g_clear_error(&err);
        goto fail;
    }
    if (*conf->user == '\0') {
        char *where = dm_conf_where(conf, "milter", "user");
        fprintf(stderr, "diariemilter: warning: %s: empty: the daemon keeps running as the "
                        "user that starts it (root, under systemd); set a user of its own\n",
                where);
        g_free(where);
    }
    if (*conf->user != '\0' && getpwnam(conf->user) == NULL) {
        fprintf(stderr, "diariemilter: %s: [milter] user: no user \"%s\"\n", path, conf->user);
        goto fail;
    }
    if (*conf->socket_group != '\0' && getgrnam(conf->socket_group) == NULL) {
        fprintf(stderr, "diariemilter: %s: [milter] socket_group: no group \"%s\"\n", path,
                conf->socket_group);
        goto fail;
    }
    if (conf->delivery_method == DM_DELIVER_SMTP && *conf->smtp_host == '\0') {
        fprintf(stderr, "diariemilter: %s: [delivery] smtp_host: empty, but method = smtp\n",
                path);
        goto fail;
    }
    if (!dm_ldap_conf_check(conf, &err)) {
        /* Some messages name the file and line themselves. */
        if (g_str_has_prefix(err->message, conf->path))
            fprintf(stderr, "diariemilter: %s\n", err->message);
        else
            fprintf(stderr, "diariemilter: %s: %s\n", path, err->message);
        g_clear_error(&err);
        goto fail;
    }
    *rules = dm_engine_rules_new(conf, &err);
    if (*rules == NULL) {
        fprintf(stderr, "diariemilter: %s\n", err->message);
        g_error_free(err);
        goto fail;
    }
    if (conf->max_attachments > 0) {
        /* Not fatal (mail flows, attachments go unread), but worth a word. */
        const char *x = *conf->extractor != '\0' ? conf->extractor
                                                 : dm_extract_default_extractor();
        if (access(x, X_OK) != 0)
            fprintf(stderr, "diariemilter: %s: warning: [mime] extractor %s: %s: attachments "
                            "will not be read\n", path, x, g_strerror(errno));
    }
    if (!quiet)
        printf("%s: configuration ok\n", path);
    return conf;
fail:
    dm_conf_unref(conf);
    return NULL;
}

/* The command line: -1 to go on, else the exit status. */
static int dm_options(int argc, char **argv, const char **conf_path, bool *foreground,
                      bool *check_only)
{
    int opt;

    while ((opt = getopt(argc, argv, "c:fnVh")) != -1) {
        switch (opt) {
        case 'c': *conf_path = optarg; break;
        case 'f': *foreground = true; break;
        case 'n': *check_only = true; break;
        case 'V':
            printf("diariemilter %s\n", DM_VERSION);
            return DM_EX_OK;
        case 'h': dm_usage(stdout); return DM_EX_OK;
        default: dm_usage(stderr); return DM_EX_USAGE;
        }
    }
    if (optind != argc) {
        dm_usage(stderr);
        return DM_EX_USAGE;
    }
    return -1;
}

/* The last step: as the milter's user, the engine and the threads; then
 * libmilter's loop until a stop signal, and the stop.  Takes rules. */
static int dm_run(dm_start *st, dm_engine_rules *rules, const char *self)
{
    const dm_conf *conf = st->conf;
    GError *err = NULL;
    sigset_t sigs;
    int rc, gone;

    /* Before any thread exists: the stop and reload signals go to the
     * threads that sigwait for them, never to a worker. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    dm_mime_init();
    dm_milter.spool = dm_spool_open(conf->spool, true, &err);
    if (dm_milter.spool == NULL) {
        dm_log(DM_LOG_ERR, "%s", err->message);
        g_error_free(err);
        dm_engine_rules_free(rules);
        return DM_EX_CANTCREAT;
    }
    dm_milter.engine = dm_engine_new_with((dm_conf *)conf, 0, dm_milter.spool, rules, &err);
    if (dm_milter.engine == NULL) {
        dm_log(DM_LOG_ERR, "%s", err->message);
        /* A shared database not reachable yet: to be started again
         * (EX_TEMPFAIL), not a configuration to fix (EX_CONFIG). */
        rc = dm_store_error_unavailable(err) ? DM_EX_TEMPFAIL : DM_EX_CONFIG;
        g_error_free(err);
        return rc;
    }
    /* Items whose transaction died before its journal row: never owed.
     * Before the worker can see them. */
    gone = dm_engine_recover_spool(dm_milter.engine);
    if (gone > 0)
        dm_log(DM_LOG_NOTICE, "removed %d spooled item%s of messages never accepted", gone,
               gone == 1 ? "" : "s");
    dm_milter.deliver = dm_deliver_start(dm_milter.spool, (dm_conf *)conf, self);
    dm_milter_metrics_start(conf);
    g_thread_unref(g_thread_new("reload", dm_reload_thread, NULL));

    dm_log(DM_LOG_NOTICE, "diariemilter %s starting on %s (configuration %s)", DM_VERSION,
           conf->socket, dm_milter.conf_path);
    /* The socket listens since dm_start_socket: an MTA that connects now
     * waits in its backlog until smfi_main accepts. */
    dm_notify("READY=1");
    rc = smfi_main();
    dm_notify("STOPPING=1");

    /* Stopping: let messages in flight finish (the MTA waits for them up
     * to its own timeout), then flush the delivery worker. */
    for (int i = 0; i < 300 && atomic_load(&dm_milter.in_flight) > 0; i++)
        g_usleep(100 * 1000);
    if (atomic_load(&dm_milter.in_flight) > 0)
        dm_log(DM_LOG_WARNING, "stopping with %d messages unfinished; their senders retry",
               atomic_load(&dm_milter.in_flight));
    dm_deliver_stop(dm_milter.deliver);
    dm_milter.deliver = NULL;
    dm_milter_metrics_stop();
    if (*conf->pidfile)
        unlink(conf->pidfile);
    if (st->upath != NULL)
        unlink(st->upath);
    dm_log(DM_LOG_NOTICE, "diariemilter stopped");
    return rc == MI_SUCCESS ? DM_EX_OK : 1;
}

int main(int argc, char **argv)
{
    const char *conf_path = DM_DEFAULT_CONF;
    bool check_only = false;
    dm_start st = {0};
    dm_engine_rules *rules = NULL;
    dm_conf *conf;
    GError *err = NULL;
    char *self = NULL;
    int rc;

    /* A delivery process started by the daemon's worker. */
    if (argc > 1 && strcmp(argv[1], "--deliver") == 0)
        return dm_deliver_main(argc, argv);
    rc = dm_options(argc, argv, &conf_path, &st.foreground, &check_only);
    if (rc >= 0)
        return rc;

    /* 1. The configuration, the rules and the templates. */
    conf = dm_check_config(conf_path, !check_only, &rules);
    if (conf == NULL)
        return DM_EX_CONFIG;
    if (check_only) {
        dm_engine_rules_free(rules);
        dm_conf_unref(conf);
        return DM_EX_OK;
    }
    dm_foreground = st.foreground;
    /* The [log] file only once privileges are dropped; until then, in the
     * foreground, standard error has what syslog gets. */
    dm_log_open(conf->log_ident, conf->log_facility, st.foreground, NULL, DM_LOG_INFO);
    /* Absolute: the daemon leaves its directory, and the delivery
     * processes and reloads read the file again. */
    dm_milter.conf_path = g_canonicalize_filename(conf_path, NULL);
    if (strcmp(dm_milter.conf_path, conf_path) != 0) {
        dm_conf *abs = dm_conf_load(dm_milter.conf_path, &err);
        if (abs == NULL) {
            dm_log(DM_LOG_ERR, "%s", err->message);
            rc = DM_EX_CONFIG;
            goto out;
        }
        dm_conf_unref(conf);
        conf = abs;
    }
    self = dm_self_exe();
    if (self == NULL) {
        dm_log(DM_LOG_ERR, "cannot find this program in /proc/self/exe: delivery needs it");
        rc = DM_EX_OSERR;
        goto out;
    }
    g_mutex_init(&dm_milter.lock);
    st.conf = conf;

    /* 2. The socket, 3. the directories, 4. the privileges (start.c). */
    if ((rc = dm_start_user(&st)) != DM_EX_OK || (rc = dm_start_socket(&st)) != DM_EX_OK ||
        (rc = dm_start_directories(&st)) != DM_EX_OK ||
        (rc = dm_start_privileges(&st)) != DM_EX_OK)
        goto out;

    /* 5. The start, as the milter's user. */
    rc = dm_run(&st, rules, self);
    rules = NULL;
out:
    dm_engine_rules_free(rules);
    g_free(st.upath);
    g_free(self);
    dm_conf_unref(conf);
    return rc;
}
