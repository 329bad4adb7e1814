#include "dm_deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "dm_log.h"
#include "dm_smtp.h"

struct dm_deliver {
    dm_spool *spool;
    dm_conf *conf;
    char *helper;
    GThread *thread;
    GMutex lock;
    GCond cond;
    bool stop;
    gint stopping; /* stop, read by the pass without the lock */
    bool kicked;
};

/* Set in a delivery process told to stop (SIGTERM): its wait for
 * sendmail ends as if the bound had passed. */
static volatile sig_atomic_t dm_deliver_terminated;

static void dm_deliver_on_term(int sig)
{
    (void)sig;
    dm_deliver_terminated = 1;
}

/* What is kept of a failing program's standard error. */
#define DM_DELIVER_ERRTEXT_MAX 2048

/* sendmail's exit statuses (sysexits.h) that say "this message will never
 * go": the data, the user, the host, permission.  Anything else (75, a
 * configuration error, a signal) may pass and is tried again. */
static bool dm_deliver_sendmail_permanent(int code)
{
    return code == 65 /* EX_DATAERR */ || code == 67 /* EX_NOUSER */ ||
           code == 68 /* EX_NOHOST */ || code == 77 /* EX_NOPERM */;
}

/* A descriptor that becomes readable when the process exits (pidfd), or
 * -1 where the kernel has none (then the wait polls). */
static int dm_deliver_pidfd(GPid pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Wait for the child pid to exit, reading its standard error (errfd, or
 * -1) meanwhile and keeping the first DM_DELIVER_ERRTEXT_MAX bytes, until
 * the deadline (monotonic µs; 0: none).  True with *status when it
 * exited; false at the deadline, the child still running. */
static bool dm_deliver_wait(GPid pid, int errfd, GString *out, gint64 deadline, int *status)
{
    int pidfd = dm_deliver_pidfd(pid);
    char buf[512];
    bool exited = false;

    for (;;) {
        struct pollfd p[2];
        int n = 0, ms = pidfd >= 0 ? -1 : 50, rc;
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid || (r < 0 && errno == ECHILD)) {
            exited = true;
            break;
        }
        if (dm_deliver_terminated)
            break;
        if (deadline > 0) {
            gint64 left = deadline - g_get_monotonic_time();
            if (left <= 0)
                break;
            if (ms < 0 || left / 1000 + 1 < ms)
                ms = (int)MIN(left / 1000 + 1, G_MAXINT);
        }
        if (errfd >= 0)
            p[n++] = (struct pollfd){.fd = errfd, .events = POLLIN};
        if (pidfd >= 0)
            p[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        rc = poll(p, (nfds_t)n, ms);
        if (rc < 0 && errno != EINTR)
            g_usleep(50000);
        if (errfd >= 0 && rc > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t got = read(errfd, buf, sizeof buf);
            if (got > 0 && out->len < DM_DELIVER_ERRTEXT_MAX)
                g_string_append_len(out, buf, MIN((gsize)got, DM_DELIVER_ERRTEXT_MAX - out->len));
            else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
                errfd = -1; /* its end: only the exit is awaited now */
        }
    }
    /* What is left in the pipe, without waiting for whoever else may
     * still hold its other end. */
    while (exited && errfd >= 0) {
        struct pollfd p = {.fd = errfd, .events = POLLIN};
        ssize_t got;

        if (poll(&p, 1, 0) <= 0 || (got = read(errfd, buf, sizeof buf)) <= 0)
            break;
        if (out->len < DM_DELIVER_ERRTEXT_MAX)
            g_string_append_len(out, buf, MIN((gsize)got, DM_DELIVER_ERRTEXT_MAX - out->len));
    }
    if (pidfd >= 0)
        close(pidfd);
    return exited;
}

/* Stop a child and all it started (its own process group): SIGTERM, and
 * SIGKILL a few seconds later; reaped. */
static void dm_deliver_stop_group(GPid pid, int *status)
{
    GString *ignored = g_string_new(NULL);

    kill(-pid, SIGTERM);
    if (!dm_deliver_wait(pid, -1, ignored, g_get_monotonic_time() + 3 * G_USEC_PER_SEC,
                         status)) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
            ;
    }
    /* What the leader left behind in its group (a postdrop). */
    kill(-pid, SIGKILL);
    g_string_free(ignored, TRUE);
}

/* In the child, before exec: a process group of its own, so that all it
 * starts can be stopped together, and nothing sent to ours reaches it. */
static void dm_deliver_own_group(gpointer data)
{
    (void)data;
    setpgid(0, 0);
}

/* One line, no control characters. */
static void dm_deliver_oneline(GString *s)
{
    g_strstrip(s->str);
    g_string_set_size(s, strlen(s->str));
    for (gsize i = 0; i < s->len; i++)
        if ((unsigned char)s->str[i] < 0x20)
            s->str[i] = ' ';
}

/* Run the configured sendmail with the message on its standard input:
 * fd itself, so that the lock on it lasts as long as sendmail runs. */
static dm_deliver_status dm_deliver_sendmail(const dm_conf *conf, const dm_spool_item *it,
                                             const char *from, int fd, char **error)
{
    GPtrArray *argv = g_ptr_array_new();
    int errpipe[2] = {-1, -1};
    GPid pid = 0;
    GError *gerr = NULL;
    gint status = 0;
    dm_deliver_status st = DM_DELIVER_TEMPORARY;
    GString *errtext = g_string_new(NULL);
    gint64 deadline = conf->delivery_timeout > 0
                          ? g_get_monotonic_time() + 2 * conf->delivery_timeout * G_USEC_PER_SEC
                          : 0;

    for (char **a = conf->sendmail; *a != NULL; a++)
        g_ptr_array_add(argv, *a);
    g_ptr_array_add(argv, "-f");
    g_ptr_array_add(argv, (char *)from);
    g_ptr_array_add(argv, "--");
    g_ptr_array_add(argv, it->rcpt);
    g_ptr_array_add(argv, NULL);

    if (lseek(fd, it->body_offset, SEEK_SET) < 0) {
        *error = g_strdup_printf("%s: %s", it->path, g_strerror(errno));
        goto out;
    }
    if (!g_unix_open_pipe(errpipe, FD_CLOEXEC, &gerr)) {
        *error = g_strdup(gerr->message);
        goto out;
    }
    if (!g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv->pdata, NULL,
                                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                          dm_deliver_own_group, NULL, fd, -1, errpipe[1], NULL,
                                          NULL, 0, &pid, NULL, NULL, NULL, &gerr)) {
        *error = g_strdup_printf("%s: %s", conf->sendmail[0], gerr->message);
        goto out;
    }
    close(errpipe[1]);
    errpipe[1] = -1;
    /* Past [delivery] timeout sendmail may be about to queue the message:
     * it gets as long again.  Still running then, it is stopped, and
     * whether the MTA took the message nobody can tell (see dm_deliver.h). */
    if (!dm_deliver_wait(pid, errpipe[0], errtext, deadline, &status)) {
        dm_deliver_stop_group(pid, &status);
        dm_deliver_oneline(errtext);
        *error = g_strdup_printf("outcome unknown: %s still running after twice [delivery] "
                                 "timeout (%llds): stopped; the MTA may have taken the "
                                 "message%s%s",
                                 conf->sendmail[0], (long long)conf->delivery_timeout,
                                 errtext->len ? ": " : "", errtext->str);
        st = DM_DELIVER_UNKNOWN;
        pid = 0;
        goto out;
    }
    if (!g_spawn_check_wait_status(status, &gerr)) {
        dm_deliver_oneline(errtext);
        *error = g_strdup_printf("%s: %s%s%s", conf->sendmail[0], gerr->message,
                                 errtext->len ? ": " : "", errtext->str);
        if (WIFEXITED(status) && dm_deliver_sendmail_permanent(WEXITSTATUS(status)))
            st = DM_DELIVER_PERMANENT;
        goto out;
    }
    st = DM_DELIVERED;
    if (deadline > 0 &&
        g_get_monotonic_time() > deadline - conf->delivery_timeout * G_USEC_PER_SEC)
        *error = g_strdup_printf("slow: %s took longer than [delivery] timeout (%llds)",
                                 conf->sendmail[0], (long long)conf->delivery_timeout);
out:
    if (gerr != NULL)
        g_error_free(gerr);
    if (errpipe[0] >= 0)
        close(errpipe[0]);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    if (pid > 0)
        g_spawn_close_pid(pid);
    g_string_free(errtext, TRUE);
    g_ptr_array_free(argv, TRUE);
    return st;
}

dm_deliver_status dm_deliver_send(const dm_conf *conf, const dm_spool_item *it, int fd,
                                  char **error)
{
    /* The envelope sender is today's [delivery] sender, not the one the
     * item was spooled with: items spooled under a sender the MTA refuses
     * go once the configuration is fixed.  <> stays <>. */
    const char *from = *it->from == '\0' ? "" : dm_conf_sender(conf);

    *error = NULL;
    switch (conf->delivery_method) {
    case DM_DELIVER_SENDMAIL:
        return dm_deliver_sendmail(conf, it, from, fd, error);
    case DM_DELIVER_SMTP: {
        dm_smtp_opts o = {
            .host = conf->smtp_host,
            .port = conf->smtp_port,
            .helo = conf->smtp_helo,
            .timeout = conf->smtp_timeout,
            .starttls = conf->smtp_tls == DM_SMTP_TLS_STARTTLS,
            .user = conf->smtp_user,
        };
        char *password = NULL;
        dm_deliver_status st;

        /* Read at each delivery: a changed password needs no reload. */
        if (*conf->smtp_user != '\0') {
            GError *gerr = NULL;
            if (!g_file_get_contents(conf->smtp_password_file, &password, NULL, &gerr)) {
                *error = g_strdup_printf("[delivery] smtp_password_file: %s", gerr->message);
                g_error_free(gerr);
                return DM_DELIVER_TEMPORARY;
            }
            password[strcspn(password, "\r\n")] = '\0';
            o.password = password;
        }
        st = dm_smtp_send(&o, from, it->rcpt, fd, it->body_offset, error);
        if (password != NULL) {
            memset(password, 0, strlen(password));
            g_free(password);
        }
        return st;
    }
    }
    *error = g_strdup("[delivery] method: unknown");
    return DM_DELIVER_TEMPORARY;
}

dm_deliver_status dm_deliver_file(const dm_conf *conf, const char *path, char **error)
{
    GError *gerr = NULL;
    dm_spool_item *it = NULL;
    dm_deliver_status st;
    int fd = -1;

    *error = NULL;
    switch (dm_spool_lock(path, &fd, &gerr)) {
    case DM_SPOOL_LOCKED:
        break;
    case DM_SPOOL_BUSY:
        *error = g_strdup_printf("%s: being delivered by another process", path);
        return DM_DELIVER_TEMPORARY;
    case DM_SPOOL_GONE:
        /* Moved or removed meanwhile: whoever did it owns it now. */
        return DM_DELIVERED;
    case DM_SPOOL_LOCK_ERROR:
        *error = g_strdup(gerr->message);
        g_error_free(gerr);
        return DM_DELIVER_TEMPORARY;
    }
    it = dm_spool_read_item(path, &gerr);
    if (it == NULL) {
        *error = g_strdup(gerr->message);
        g_error_free(gerr);
        close(fd);
        return DM_DELIVER_PERMANENT;
    }
    st = dm_deliver_send(conf, it, fd, error);
    if (st == DM_DELIVERED) {
        char *dir = g_path_get_dirname(path);

        /* The MTA has it: it leaves the spool now, durably. */
        if (unlink(path) != 0 || !dm_spool_fsync_dir(dir)) {
            char *note = *error;
            *error = g_strdup_printf("delivered, but cannot remove %s: %s%s%s", path,
                                     g_strerror(errno), note != NULL ? "; " : "",
                                     note != NULL ? note : "");
            g_free(note);
        }
        g_free(dir);
    } else if (st == DM_DELIVER_UNKNOWN) {
        /* Decided here, while it is locked: whatever happens to the
         * daemon next, this item is not sent again by itself. */
        char *cur = g_path_get_dirname(path), *dir = g_path_get_dirname(cur);
        dm_spool *spool = dm_spool_open(dir, false, &gerr);

        if (spool == NULL || !dm_spool_bury(spool, it, *error, &gerr)) {
            char *why = *error;
            *error = g_strdup_printf("%s; and it could not be moved to dead/: %s", why,
                                     gerr->message);
            g_free(why);
            g_clear_error(&gerr);
        }
        dm_spool_close(spool);
        g_free(cur);
        g_free(dir);
    }
    close(fd);
    dm_spool_item_free(it);
    return st;
}

int dm_deliver_main(int argc, char **argv)
{
    const char *path = NULL, *conf_path = NULL;
    GError *gerr = NULL;
    dm_conf *conf;
    char *error = NULL;
    dm_deliver_status st;
    sigset_t none;

    /* The daemon's threads block its signals and it ignores SIGPIPE;
     * this process starts with a clean mask, and a daemon that died
     * meanwhile (its end of our stderr closed) must not kill it. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    {
        /* Told to stop (the worker's last resort): stop sendmail and put
         * the item aside, rather than die in the middle of a hand-off. */
        struct sigaction sa = {.sa_handler = dm_deliver_on_term};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--deliver") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            conf_path = argv[++i];
        else {
            fprintf(stderr, "usage: diariemilter --deliver SPOOL/cur/ITEM -c FILE\n");
            return DM_EX_USAGE;
        }
    }
    if (path == NULL || conf_path == NULL) {
        fprintf(stderr, "usage: diariemilter --deliver SPOOL/cur/ITEM -c FILE\n");
        return DM_EX_USAGE;
    }
    conf = dm_conf_load(conf_path, &gerr);
    if (conf == NULL) {
        /* The admin can mend the file: try again later. */
        fprintf(stderr, "%s\n", gerr->message);
        g_error_free(gerr);
        return DM_DELIVER_TEMPORARY;
    }
    st = dm_deliver_file(conf, path, &error);
    if (error != NULL)
        fprintf(stderr, "%s\n", error);
    g_free(error);
    dm_conf_unref(conf);
    return st;
}

/* How long the worker waits for a delivery process beyond the twice
 * [delivery] timeout it gives its sendmail (which it then stops): it
 * should never be needed. */
#define DM_DELIVER_SPAWN_SLACK 30

/* Run "helper --deliver path -c conf" and wait for it: it bounds its own
 * hand-off (dm_deliver.h).  One that outlives that bound by
 * DM_DELIVER_SPAWN_SLACK s is told to stop (SIGTERM: it stops its
 * sendmail and moves the item to dead/, outcome unknown), and killed 10 s
 * later. */
static dm_deliver_status dm_deliver_spawn(const dm_conf *conf, const char *helper,
                                          const char *path, char **error)
{
    /* The program replaced on disk meanwhile (an upgrade) runs as the new
     * one; removed, as the one this process still is. */
    const char *prog = access(helper, X_OK) == 0 ? helper : "/proc/self/exe";
    const char *argv[] = {prog, "--deliver", path, "-c", conf->path, NULL};
    int errfd = -1;
    GPid pid = 0;
    GError *gerr = NULL;
    gint status = 0;
    GString *errtext = g_string_new(NULL);
    dm_deliver_status st = DM_DELIVER_TEMPORARY;
    gint64 deadline = conf->delivery_timeout > 0
                          ? g_get_monotonic_time() +
                                (2 * conf->delivery_timeout + DM_DELIVER_SPAWN_SLACK) *
                                    G_USEC_PER_SEC
                          : 0;

    *error = NULL;
    if (!g_spawn_async_with_pipes_and_fds(NULL, argv, NULL,
                                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                          dm_deliver_own_group, NULL, -1, -1, -1, NULL, 0, 0,
                                          &pid, NULL, NULL, &errfd, &gerr)) {
        *error = g_strdup_printf("%s: %s", prog, gerr->message);
        g_error_free(gerr);
        g_string_free(errtext, TRUE);
        return DM_DELIVER_TEMPORARY;
    }
    if (!dm_deliver_wait(pid, errfd, errtext, deadline, &status)) {
        kill(pid, SIGTERM);
        g_string_append(errtext, " (the delivery process outlived its bound: stopped)");
        if (!dm_deliver_wait(pid, errfd, errtext, g_get_monotonic_time() + 10 * G_USEC_PER_SEC,
                             &status)) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        }
    }
    close(errfd);
    g_spawn_close_pid(pid);
    dm_deliver_oneline(errtext);
    if (WIFEXITED(status)) {
        int code = WEXITSTATUS(status);
        if (code == DM_DELIVERED || code == DM_DELIVER_PERMANENT || code == DM_DELIVER_UNKNOWN)
            st = (dm_deliver_status)code;
        else
            st = DM_DELIVER_TEMPORARY;
        if (code != DM_DELIVERED || errtext->len > 0)
            *error = g_strdup_printf("%s%s(delivery process exit %d)", errtext->str,
                                     errtext->len ? " " : "", code);
    } else {
        /* Killed in the middle of a hand-off, perhaps after the MTA took
         * the message: nobody can tell. */
        st = DM_DELIVER_UNKNOWN;
        *error = g_strdup_printf("outcome unknown: %s%sdelivery process killed by signal %d",
                                 errtext->str, errtext->len ? "; " : "",
                                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    g_string_free(errtext, TRUE);
    return st;
}

/* The error as a log line may carry it: for an item of private mail,
 * without its recipient's address, which sendmail's or a server's words
 * may repeat.  New string. */
static char *dm_deliver_error_for_log(const dm_spool_item *it, const char *error)
{
    GString *out;
    char *low, *rlow;
    const char *p;
    size_t rlen;

    if (error == NULL)
        return g_strdup("?");
    if (!it->private_mail || it->rcpt == NULL || *it->rcpt == '\0')
        return g_strdup(error);
    out = g_string_new(NULL);
    low = g_ascii_strdown(error, -1);
    rlow = g_ascii_strdown(it->rcpt, -1);
    rlen = strlen(rlow);
    p = low;
    for (const char *hit; (hit = strstr(p, rlow)) != NULL; p = hit + rlen) {
        g_string_append_len(out, error + (p - low), hit - p);
        g_string_append(out, "(recipient)");
    }
    g_string_append(out, error + (p - low));
    g_free(low);
    g_free(rlow);
    return g_string_free(out, FALSE);
}

static int64_t dm_deliver_backoff(const dm_conf *conf, int attempts)
{
    int64_t d = conf->retry_min > 0 ? conf->retry_min : 1;

    for (int i = 1; i < attempts && d < conf->retry_max; i++)
        d *= 2;
    return d < conf->retry_max ? d : conf->retry_max;
}

/* Record the outcome of one try of an item that was in cur/.  to_dead: a
 * failure goes to dead/ whatever the time (it came from there). */
static void dm_deliver_settle(dm_spool *spool, const dm_conf *conf, dm_spool_item *it,
                              dm_deliver_status st, const char *error, int64_t now,
                              bool to_dead)
{
    GError *err = NULL;
    int fd = -1;
    const char *who = dm_spool_item_rcpt_for_log(it);
    char *why = dm_deliver_error_for_log(it, error);

    if (st == DM_DELIVERED && !g_file_test(it->path, G_FILE_TEST_EXISTS)) {
        if (error != NULL)
            dm_log(DM_LOG_WARNING, "%s: delivered %s to %s (%s), but %s", it->message,
                   it->kind, who, it->name, why);
        else
            dm_log(DM_LOG_INFO, "%s: delivered %s to %s (%s)", it->message, it->kind, who,
                   it->name);
        g_free(why);
        return;
    }
    if (st == DM_DELIVER_UNKNOWN && !g_file_test(it->path, G_FILE_TEST_EXISTS)) {
        /* The delivery process moved it to dead/ itself. */
        dm_log(DM_LOG_ERR, "%s: OUTCOME UNKNOWN delivering %s to %s: %s; moved to %s/dead/%s "
                           "and not tried again: see in the MTA's log whether it took the "
                           "message, then \"diariectl queue revive\" or \"delete\" the item",
               it->message, it->kind, who, why, dm_spool_dir(spool), it->name);
        g_free(why);
        return;
    }
    switch (dm_spool_lock(it->path, &fd, &err)) {
    case DM_SPOOL_LOCKED:
        break;
    case DM_SPOOL_BUSY:
        /* Another process (diariectl queue retry, a delivery process
         * that outlived an earlier daemon) has it. */
        dm_log(DM_LOG_INFO, "%s: %s is being delivered by another process", it->message,
               it->name);
        g_free(why);
        return;
    case DM_SPOOL_GONE:
        g_free(why);
        return;
    case DM_SPOOL_LOCK_ERROR:
        dm_log(DM_LOG_ERR, "%s: %s", it->message, err->message);
        g_error_free(err);
        g_free(why);
        return;
    }
    /* The file may have been rewritten while unlocked: read it again. */
    {
        dm_spool_item *fresh = dm_spool_read_item(it->path, NULL);
        if (fresh != NULL) {
            it->attempts = fresh->attempts;
            it->body_offset = fresh->body_offset;
            dm_spool_item_free(fresh);
        }
    }
    if (st == DM_DELIVERED) {
        /* The MTA took it but it could not be removed: never again, so
         * out of the way, loudly. */
        dm_log(DM_LOG_ERR, "%s: delivered %s to %s but %s", it->message, it->kind, who,
               error != NULL ? why : "it is still in cur/");
        if (!dm_spool_bury(spool, it, "delivered, but could not be removed from cur/", &err)) {
            dm_log(DM_LOG_ERR, "%s: cannot move %s to dead/: %s", it->message, it->path,
                   err->message);
            g_clear_error(&err);
        }
    } else if (st == DM_DELIVER_UNKNOWN) {
        dm_log(DM_LOG_ERR, "%s: OUTCOME UNKNOWN delivering %s to %s: %s; moved to %s/dead/%s "
                           "and not tried again: see in the MTA's log whether it took the "
                           "message, then \"diariectl queue revive\" or \"delete\" the item",
               it->message, it->kind, who, why, dm_spool_dir(spool), it->name);
        if (!dm_spool_bury(spool, it, error != NULL ? error : "outcome unknown", &err)) {
            dm_log(DM_LOG_ERR, "%s: cannot move %s to dead/: %s", it->message, it->path,
                   err->message);
            g_clear_error(&err);
        }
    } else if (st == DM_DELIVER_PERMANENT || to_dead || now - it->created >= conf->dead_after) {
        dm_log(DM_LOG_ERR,
               "%s: GAVE UP delivering %s to %s after %d attempts (%s): %s; moved to %s/dead/%s",
               it->message, it->kind, who, it->attempts + 1,
               st == DM_DELIVER_PERMANENT ? "permanent failure" : "past [delivery] dead_after",
               why, dm_spool_dir(spool), it->name);
        if (!dm_spool_bury(spool, it, error != NULL ? error : "failed", &err)) {
            dm_log(DM_LOG_ERR, "%s: cannot move %s to dead/: %s", it->message, it->path,
                   err->message);
            g_clear_error(&err);
        }
    } else {
        int64_t next = now + dm_deliver_backoff(conf, it->attempts + 1);

        dm_log(DM_LOG_WARNING, "%s: %s to %s deferred (attempt %d): %s", it->message, it->kind,
               who, it->attempts + 1, why);
        if (!dm_spool_defer(spool, it, next, error != NULL ? error : "failed", &err)) {
            dm_log(DM_LOG_ERR, "%s: cannot record the retry of %s: %s", it->message, it->path,
                   err->message);
            g_clear_error(&err);
        }
    }
    close(fd);
    g_free(why);
}

dm_deliver_status dm_deliver_now(dm_spool *spool, const dm_conf *conf, dm_spool_item *it,
                                 int64_t now, char **error)
{
    GError *err = NULL;
    bool from_dead = it->where == DM_SPOOL_DEAD;
    dm_deliver_status st;

    *error = NULL;
    if (it->where != DM_SPOOL_CUR && !dm_spool_claim(spool, it, &err)) {
        *error = g_strdup(err->message);
        g_error_free(err);
        return DM_DELIVER_TEMPORARY;
    }
    st = dm_deliver_file(conf, it->path, error);
    dm_deliver_settle(spool, conf, it, st, *error, now, from_dead);
    return st;
}

/* A pass; *next_due: the earliest time an item left waiting comes due
 * (0: none waits). */
static int dm_deliver_pass_due(dm_spool *spool, const dm_conf *conf, const char *helper,
                               int64_t now, int64_t *next_due, gint *stop)
{
    GError *err = NULL;
    GPtrArray *items;
    int delivered = 0, back;

    back = dm_spool_recover(spool);
    if (back > 0)
        dm_log(DM_LOG_NOTICE, "delivery: %d item%s in %s/cur had no delivery process left; "
                              "back in new/", back, back == 1 ? "" : "s", dm_spool_dir(spool));
    items = dm_spool_list(spool, false, &err);
    if (items == NULL) {
        dm_log(DM_LOG_ERR, "delivery: cannot read the spool: %s", err->message);
        g_error_free(err);
        return 0;
    }
    for (guint i = 0; i < items->len; i++) {
        dm_spool_item *it = g_ptr_array_index(items, i);
        char *error = NULL;
        dm_deliver_status st;

        if (stop != NULL && g_atomic_int_get(stop))
            break; /* stopping: the rest wait in new/ for the next start */
        if (it->next > now) {
            if (*next_due == 0 || it->next < *next_due)
                *next_due = it->next;
            continue;
        }
        if (!dm_spool_claim(spool, it, &err)) {
            /* Gone (diariectl), or the same name still in cur/. */
            if (!g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT) &&
                !g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_EXIST))
                dm_log(DM_LOG_ERR, "delivery: %s", err->message);
            g_clear_error(&err);
            continue;
        }
        if (helper != NULL && conf->path != NULL)
            st = dm_deliver_spawn(conf, helper, it->path, &error);
        else
            st = dm_deliver_file(conf, it->path, &error);
        dm_deliver_settle(spool, conf, it, st, error, now, false);
        if (st == DM_DELIVERED)
            delivered++;
        else if (it->where == DM_SPOOL_NEW && (*next_due == 0 || it->next < *next_due))
            *next_due = it->next;
        g_free(error);
    }
    g_ptr_array_free(items, TRUE);
    return delivered;
}

int dm_deliver_pass(dm_spool *spool, const dm_conf *conf, const char *helper, int64_t now)
{
    int64_t next_due = 0;

    return dm_deliver_pass_due(spool, conf, helper, now, &next_due, NULL);
}

static gpointer dm_deliver_thread(gpointer data)
{
    dm_deliver *d = data;

    g_mutex_lock(&d->lock);
    while (!d->stop) {
        dm_conf *conf = dm_conf_ref(d->conf);
        int64_t next_due = 0, now;

        d->kicked = false;
        g_mutex_unlock(&d->lock);
        dm_deliver_pass_due(d->spool, conf, d->helper, g_get_real_time() / G_USEC_PER_SEC,
                            &next_due, &d->stopping);
        dm_conf_unref(conf);
        g_mutex_lock(&d->lock);
        if (!d->stop && !d->kicked) {
            /* Deferred items come due without a kick: look when the first
             * is due, and at least every 5 s (cur/ left by a delivery
             * process that outlived its daemon, diariectl's changes). */
            gint64 wait = 5 * G_USEC_PER_SEC;
            gint64 until;

            now = g_get_real_time() / G_USEC_PER_SEC;
            if (next_due > 0 && (next_due - now) * G_USEC_PER_SEC < wait)
                wait = next_due > now ? (next_due - now) * G_USEC_PER_SEC : 100000;
            until = g_get_monotonic_time() + wait;
            while (!d->stop && !d->kicked)
                if (!g_cond_wait_until(&d->cond, &d->lock, until))
                    break;
        }
    }
    g_mutex_unlock(&d->lock);
    return NULL;
}

dm_deliver *dm_deliver_start(dm_spool *spool, dm_conf *conf, const char *helper)
{
    dm_deliver *d = g_new0(dm_deliver, 1);

    d->spool = spool;
    d->conf = dm_conf_ref(conf);
    d->helper = g_strdup(helper);
    g_mutex_init(&d->lock);
    g_cond_init(&d->cond);
    d->thread = g_thread_new("delivery", dm_deliver_thread, d);
    return d;
}

void dm_deliver_kick(dm_deliver *d)
{
    g_mutex_lock(&d->lock);
    d->kicked = true;
    g_cond_signal(&d->cond);
    g_mutex_unlock(&d->lock);
}

void dm_deliver_set_conf(dm_deliver *d, dm_conf *conf)
{
    g_mutex_lock(&d->lock);
    dm_conf_unref(d->conf);
    d->conf = dm_conf_ref(conf);
    g_mutex_unlock(&d->lock);
}

void dm_deliver_stop(dm_deliver *d)
{
    if (d == NULL)
        return;
    g_mutex_lock(&d->lock);
    d->stop = true;
    g_atomic_int_set(&d->stopping, 1);
    g_cond_signal(&d->cond);
    g_mutex_unlock(&d->lock);
    g_thread_join(d->thread);
    dm_conf_unref(d->conf);
    g_free(d->helper);
    g_mutex_clear(&d->lock);
    g_cond_clear(&d->cond);
    g_free(d);
}
