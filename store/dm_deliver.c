#include "dm_deliver.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "dm_log.h"

struct dm_deliver {
    dm_spool *spool;
    dm_conf *conf;
    GThread *thread;
    GMutex lock;
    GCond cond;
    bool stop;
    bool kicked;
};

/* Run the configured sendmail with the item's message on stdin. */
static bool dm_deliver_sendmail(const dm_conf *conf, const dm_spool_item *it, char **error)
{
    GPtrArray *argv = g_ptr_array_new();
    int in = -1, errpipe[2] = {-1, -1};
    GPid pid = 0;
    GError *gerr = NULL;
    gint status = 0;
    bool ok = false;
    GString *errtext = g_string_new(NULL);

    for (char **a = conf->sendmail; *a != NULL; a++)
        g_ptr_array_add(argv, *a);
    g_ptr_array_add(argv, "-f");
    g_ptr_array_add(argv, it->from);
    g_ptr_array_add(argv, "--");
    g_ptr_array_add(argv, it->rcpt);
    g_ptr_array_add(argv, NULL);

    in = open(it->path, O_RDONLY | O_CLOEXEC);
    if (in < 0 || lseek(in, it->body_offset, SEEK_SET) < 0) {
        *error = g_strdup_printf("%s: %s", it->path, g_strerror(errno));
        goto out;
    }
    if (!g_unix_open_pipe(errpipe, FD_CLOEXEC, &gerr)) {
        *error = g_strdup(gerr->message);
        goto out;
    }
    if (!g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv->pdata, NULL,
                                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
                                          NULL, NULL, in, -1, errpipe[1], NULL, NULL, 0,
                                          &pid, NULL, NULL, NULL, &gerr)) {
        *error = g_strdup_printf("%s: %s", conf->sendmail[0], gerr->message);
        goto out;
    }
    close(errpipe[1]);
    errpipe[1] = -1;
    {
        char buf[512];
        ssize_t n;
        while ((n = read(errpipe[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
            if (n > 0 && errtext->len < 2048)
                g_string_append_len(errtext, buf, n);
        }
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!g_spawn_check_wait_status(status, &gerr)) {
        g_strstrip(errtext->str);
        *error = g_strdup_printf("%s: %s%s%s", conf->sendmail[0], gerr->message,
                                 errtext->len ? ": " : "", errtext->str);
        goto out;
    }
    ok = true;
out:
    if (gerr != NULL)
        g_error_free(gerr);
    if (in >= 0)
        close(in);
    if (errpipe[0] >= 0)
        close(errpipe[0]);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    if (pid > 0)
        g_spawn_close_pid(pid);
    g_string_free(errtext, TRUE);
    g_ptr_array_free(argv, TRUE);
    return ok;
}

bool dm_deliver_item(const dm_conf *conf, const dm_spool_item *it, char **error)
{
    *error = NULL;
    switch (conf->delivery_method) {
    case DM_DELIVER_SENDMAIL:
        return dm_deliver_sendmail(conf, it, error);
    case DM_DELIVER_SMTP:
        break;
    }
    *error = g_strdup("[delivery] method smtp is not supported by this build");
    return false;
}

static int64_t dm_deliver_backoff(const dm_conf *conf, int attempts)
{
    int64_t d = conf->retry_min > 0 ? conf->retry_min : 1;

    for (int i = 1; i < attempts && d < conf->retry_max; i++)
        d *= 2;
    return d < conf->retry_max ? d : conf->retry_max;
}

int dm_deliver_pass(dm_spool *spool, const dm_conf *conf, int64_t now)
{
    GError *err = NULL;
    GPtrArray *items = dm_spool_list(spool, false, &err);
    int delivered = 0;

    if (items == NULL) {
        dm_log(DM_LOG_ERR, "delivery: cannot read the spool: %s", err->message);
        g_error_free(err);
        return 0;
    }
    for (guint i = 0; i < items->len; i++) {
        dm_spool_item *it = g_ptr_array_index(items, i);
        char *error = NULL;

        if (it->next > now)
            continue;
        if (dm_deliver_item(conf, it, &error)) {
            dm_log(DM_LOG_INFO, "%s: delivered %s to %s", it->message, it->kind, it->rcpt);
            if (!dm_spool_remove(spool, it, &err)) {
                /* Delivered but still spooled: it will go again.  Loud,
                 * because that is a duplicate for someone. */
                dm_log(DM_LOG_ERR, "%s: delivered but cannot remove %s: %s", it->message,
                       it->path, err->message);
                g_clear_error(&err);
            }
            delivered++;
        } else if (now - it->created >= conf->dead_after) {
            dm_log(DM_LOG_ERR,
                   "%s: GAVE UP delivering %s to %s after %d attempts: %s; moved to %s/dead",
                   it->message, it->kind, it->rcpt, it->attempts + 1, error,
                   dm_spool_dir(spool));
            if (!dm_spool_bury(spool, it, error, &err)) {
                dm_log(DM_LOG_ERR, "%s: cannot move %s to dead/: %s", it->message, it->path,
                       err->message);
                g_clear_error(&err);
            }
        } else {
            int64_t next = now + dm_deliver_backoff(conf, it->attempts + 1);
            dm_log(DM_LOG_WARNING, "%s: %s to %s deferred (attempt %d): %s", it->message,
                   it->kind, it->rcpt, it->attempts + 1, error);
            if (!dm_spool_defer(spool, it, next, error, &err)) {
                dm_log(DM_LOG_ERR, "%s: cannot record the retry of %s: %s", it->message,
                       it->path, err->message);
                g_clear_error(&err);
            }
        }
        g_free(error);
    }
    g_ptr_array_free(items, TRUE);
    return delivered;
}

static gpointer dm_deliver_thread(gpointer data)
{
    dm_deliver *d = data;

    g_mutex_lock(&d->lock);
    while (!d->stop) {
        dm_conf *conf = dm_conf_ref(d->conf);

        d->kicked = false;
        g_mutex_unlock(&d->lock);
        dm_deliver_pass(d->spool, conf, g_get_real_time() / G_USEC_PER_SEC);
        dm_conf_unref(conf);
        g_mutex_lock(&d->lock);
        if (!d->stop && !d->kicked) {
            /* Deferred items come due without a kick: look every 5 s. */
            gint64 until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
            while (!d->stop && !d->kicked)
                if (!g_cond_wait_until(&d->cond, &d->lock, until))
                    break;
        }
    }
    g_mutex_unlock(&d->lock);
    return NULL;
}

dm_deliver *dm_deliver_start(dm_spool *spool, dm_conf *conf)
{
    dm_deliver *d = g_new0(dm_deliver, 1);

    d->spool = spool;
    d->conf = dm_conf_ref(conf);
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
    g_cond_signal(&d->cond);
    g_mutex_unlock(&d->lock);
    g_thread_join(d->thread);
    dm_conf_unref(d->conf);
    g_mutex_clear(&d->lock);
    g_cond_clear(&d->cond);
    g_free(d);
}
