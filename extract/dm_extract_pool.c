/*
 * The daemon's side of attachment reading: a pool of worker processes
 * and the exchange with one of them under a deadline.
 *
 * Workers are started with g_spawn (fork and exec with nothing but
 * async-signal-safe calls between them, every other descriptor closed,
 * both pipes close-on-exec in the daemon), so the daemon's threads and
 * its libmilter and directory sockets never reach a worker.  Each child
 * is reaped by its pid, never by waitpid(-1): the delivery worker reaps
 * its own children the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_extract.h"
#include "dm_log.h"

#ifndef DM_LIBEXECDIR
#define DM_LIBEXECDIR "/usr/local/libexec/diariemilter"
#endif

/* A started worker, waiting on its stdin. */
typedef struct {
    GPid pid;
    int in;  /* its stdin, ours to write */
    int out; /* its stdout, ours to read */
} dm_worker;

struct dm_extract_pool {
    dm_extract_conf conf;
    bool warm;
    bool usable;       /* the extractor is there and executable */
    GMutex lock;
    GCond cond;
    GQueue idle;       /* dm_worker * */
    GThread *refill;
    bool stopping;
    gint64 retry_at;   /* after a failed start: none before this (µs) */
};

/* How long a failed start keeps the pool from starting more. */
#define DM_RETRY_US (5 * G_USEC_PER_SEC)

const char *dm_extract_default_extractor(void)
{
    return DM_LIBEXECDIR "/diariemilter-extract";
}

void dm_extract_conf_from(const dm_conf *c, dm_extract_conf *out)
{
    memset(out, 0, sizeof *out);
    out->extractor = c->extractor;
    out->workers = c->extract_workers;
    out->memory = (uint64_t)c->extract_memory;
    out->timeout_ms = c->extract_timeout * 1000;
    out->message_timeout_ms = c->extract_message_timeout * 1000;
    out->max_attachments = c->max_attachments;
    out->max_bytes = (uint64_t)c->max_attachment_size;
    out->max_text = (uint64_t)c->max_attachment_text;
    out->max_text_total = (uint64_t)c->max_attachment_text_total;
    out->max_pages = (uint32_t)c->max_pages;
    out->max_entries = (uint32_t)c->max_archive_entries;
    out->max_ratio = (uint32_t)c->max_expansion_ratio;
    out->max_expanded = (uint64_t)c->max_expanded_size;
    out->max_depth = (uint32_t)c->max_depth;
}

static void dm_worker_kill(dm_worker *w)
{
    int status;

    if (w == NULL)
        return;
    if (w->in >= 0)
        close(w->in);
    if (w->out >= 0)
        close(w->out);
    kill(w->pid, SIGKILL);
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    g_free(w);
}

static dm_worker *dm_worker_start(dm_extract_pool *p, GError **err)
{
    char mem[32], cpu[32];
    const char *argv[] = {p->conf.extractor, "--memory", mem, "--cpu", cpu, NULL};
    const char *envp[] = {NULL};
    dm_worker *w = g_new0(dm_worker, 1);

    g_snprintf(mem, sizeof mem, "%" G_GUINT64_FORMAT, p->conf.memory);
    /* A backstop to the wall clock: CPU seconds, rounded up. */
    g_snprintf(cpu, sizeof cpu, "%" G_GINT64_FORMAT, (p->conf.timeout_ms + 999) / 1000);
    w->in = w->out = -1;
    if (!g_spawn_async_with_pipes_and_fds(NULL, argv, envp,
                                          G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                                          NULL, NULL, -1, -1, -1, NULL, NULL, 0, &w->pid, &w->in,
                                          &w->out, NULL, err)) {
        g_free(w);
        return NULL;
    }
    fcntl(w->in, F_SETFL, fcntl(w->in, F_GETFL) | O_NONBLOCK);
    fcntl(w->out, F_SETFL, fcntl(w->out, F_GETFL) | O_NONBLOCK);
    return w;
}

/* Still waiting for a request?  (Killed by someone, or it failed to
 * start its sandbox and exited.) */
static bool dm_worker_alive(dm_worker *w)
{
    struct pollfd pfd = {.fd = w->out, .events = POLLIN};

    /* A waiting worker writes nothing: anything readable, or the end of
     * its stdout, means it is gone. */
    return poll(&pfd, 1, 0) == 0;
}

static gpointer dm_refill_thread(gpointer data)
{
    dm_extract_pool *p = data;

    g_mutex_lock(&p->lock);
    while (!p->stopping) {
        gint64 now = g_get_monotonic_time();
        GError *err = NULL;
        dm_worker *w;

        if ((int)g_queue_get_length(&p->idle) >= p->conf.workers) {
            g_cond_wait(&p->cond, &p->lock);
            continue;
        }
        if (now < p->retry_at) {
            g_cond_wait_until(&p->cond, &p->lock, p->retry_at);
            continue;
        }
        g_mutex_unlock(&p->lock);
        w = dm_worker_start(p, &err);
        g_mutex_lock(&p->lock);
        if (w == NULL) {
            dm_log(DM_LOG_ERR, "attachment reader %s: %s", p->conf.extractor, err->message);
            g_error_free(err);
            p->retry_at = g_get_monotonic_time() + DM_RETRY_US;
        } else if (p->stopping) {
            g_mutex_unlock(&p->lock);
            dm_worker_kill(w);
            g_mutex_lock(&p->lock);
        } else {
            g_queue_push_tail(&p->idle, w);
        }
    }
    g_mutex_unlock(&p->lock);
    return NULL;
}

dm_extract_pool *dm_extract_pool_new(const dm_extract_conf *conf, bool warm)
{
    dm_extract_pool *p = g_new0(dm_extract_pool, 1);

    p->conf = *conf;
    p->conf.extractor = g_strdup(conf->extractor != NULL && *conf->extractor != '\0'
                                     ? conf->extractor
                                     : dm_extract_default_extractor());
    p->warm = warm && conf->workers > 0 && conf->max_attachments > 0;
    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    g_queue_init(&p->idle);
    p->usable = g_path_is_absolute(p->conf.extractor) && access(p->conf.extractor, X_OK) == 0;
    if (!p->usable && conf->max_attachments > 0)
        dm_log(DM_LOG_ERR,
               "attachment reader %s: %s: attachments are not read ([mime] extractor)",
               p->conf.extractor,
               g_path_is_absolute(p->conf.extractor) ? g_strerror(errno) : "not an absolute path");
    if (p->usable && p->warm)
        p->refill = g_thread_new("extract-pool", dm_refill_thread, p);
    return p;
}

void dm_extract_pool_free(dm_extract_pool *p)
{
    dm_worker *w;

    if (p == NULL)
        return;
    g_mutex_lock(&p->lock);
    p->stopping = true;
    g_cond_broadcast(&p->cond);
    g_mutex_unlock(&p->lock);
    if (p->refill != NULL)
        g_thread_join(p->refill);
    while ((w = g_queue_pop_head(&p->idle)) != NULL)
        dm_worker_kill(w);
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
    g_free(p->conf.extractor);
    g_free(p);
}

int dm_extract_pool_idle(dm_extract_pool *p)
{
    int n;

    g_mutex_lock(&p->lock);
    n = (int)g_queue_get_length(&p->idle);
    g_mutex_unlock(&p->lock);
    return n;
}

/* A worker for one attachment: a waiting one, else one started now. */
static dm_worker *dm_pool_take(dm_extract_pool *p, char **why)
{
    dm_worker *w = NULL;
    GError *err = NULL;

    g_mutex_lock(&p->lock);
    while ((w = g_queue_pop_head(&p->idle)) != NULL && !dm_worker_alive(w)) {
        g_mutex_unlock(&p->lock);
        dm_worker_kill(w);
        g_mutex_lock(&p->lock);
    }
    if (p->refill != NULL)
        g_cond_signal(&p->cond); /* one fewer waiting: start another */
    g_mutex_unlock(&p->lock);
    if (w != NULL)
        return w;
    w = dm_worker_start(p, &err);
    if (w == NULL) {
        *why = g_strdup_printf("cannot start %s: %s", p->conf.extractor, err->message);
        g_error_free(err);
    }
    return w;
}

bool dm_extract_budget_allows(const dm_extract_pool *p, const dm_extract_budget *b)
{
    return b->attachments < p->conf.max_attachments &&
           b->spent_us < p->conf.message_timeout_ms * 1000 &&
           b->text < p->conf.max_text_total;
}

uint64_t dm_extract_budget_text(const dm_extract_pool *p, const dm_extract_budget *b)
{
    uint64_t left = p->conf.max_text_total > b->text ? p->conf.max_text_total - b->text : 0;

    return MIN(left, p->conf.max_text);
}

void dm_extract_result_clear(dm_extract_result *r)
{
    g_free(r->format);
    g_free(r->text);
    g_free(r->why);
    memset(r, 0, sizeof *r);
}

/* What a worker's end says: its exit status, or the signal that killed it. */
static void dm_judge_exit(int status, bool we_killed, dm_extract_result *r)
{
    if (we_killed)
        return;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);

        g_free(r->why);
        if (sig == SIGXCPU || sig == SIGKILL) {
            /* SIGXCPU at the CPU limit, SIGKILL a second past it. */
            r->status = DM_EXTRACT_TIMEOUT;
            r->why = g_strdup(sig == SIGXCPU ? "CPU limit" : "CPU limit, or killed");
        } else if (sig == SIGSYS) {
            r->status = DM_EXTRACT_FAILED;
            r->why = g_strdup("killed by its seccomp filter (a system call not allowed)");
        } else {
            r->status = DM_EXTRACT_FAILED;
            r->why = g_strdup_printf("crashed (signal %d)", sig);
        }
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && r->status == DM_EXTRACT_NONE) {
        r->status = DM_EXTRACT_FAILED;
        r->why = g_strdup_printf(WEXITSTATUS(status) == 71 ? "could not set up its sandbox (exit %d)"
                                                           : "exit %d",
                                 WEXITSTATUS(status));
    }
}

/* write(2) to a worker that may have stopped reading, without SIGPIPE:
 * the daemon ignores it, but diariectl and the tests need not.  The
 * signal is blocked in this thread for the write, and one it raised is
 * taken back before the mask is restored. */
static ssize_t dm_pipe_write(int fd, const void *buf, size_t len)
{
    sigset_t pipe_only, old, pending;
    ssize_t n;
    int err;
    bool was_pending;

    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    n = write(fd, buf, len);
    err = errno;
    if (n < 0 && err == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return n;
}

/* Append up to `room` bytes from fd; -1 on the end of the stream, 0 when
 * nothing more is there now, 1 when something was read, -2 over room. */
static int dm_drain(int fd, GByteArray *ans, size_t room)
{
    guint8 buf[65536];
    ssize_t n = read(fd, buf, sizeof buf);

    if (n < 0)
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    if (n == 0)
        return -1;
    if (ans->len + (size_t)n > room)
        return -2;
    g_byte_array_append(ans, buf, (guint)n);
    return 1;
}

void dm_extract_attachment(dm_extract_pool *p, dm_extract_budget *b, const dm_extract_doc *d,
                           dm_extract_result *r)
{
    gint64 t0 = g_get_monotonic_time(), deadline, left_us;
    uint64_t max_text = dm_extract_budget_text(p, b), data = 0;
    dm_extract_req q = {
        .max_bytes = p->conf.max_bytes, .max_text = max_text,
        .max_expanded = p->conf.max_expanded, .max_pages = p->conf.max_pages,
        .max_entries = p->conf.max_entries, .max_ratio = p->conf.max_ratio,
        .max_depth = p->conf.max_depth,
        .type = (char *)d->type, .name = (char *)d->name, .charset = (char *)d->charset,
    };
    GByteArray *pending = g_byte_array_new(), *ans = g_byte_array_new();
    size_t ans_room = DM_EXTRACT_RESP_FIXED + DM_EXTRACT_STR_MAX + max_text;
    dm_worker *w = NULL;
    bool we_killed = false, eof_in = false, answered = false;
    struct rusage ru;
    int status = 0;

    memset(r, 0, sizeof *r);
    memset(&ru, 0, sizeof ru);
    deadline = t0;
    if (!dm_extract_budget_allows(p, b) || max_text == 0) {
        r->status = DM_EXTRACT_LIMIT;
        r->why = g_strdup("the message's attachments have used their share");
        goto out;
    }
    b->attachments++;
    if (!p->usable) {
        r->status = DM_EXTRACT_FAILED;
        r->why = g_strdup_printf("no attachment reader at %s", p->conf.extractor);
        goto out;
    }
    left_us = p->conf.message_timeout_ms * 1000 - b->spent_us;
    deadline = t0 + MIN(p->conf.timeout_ms * 1000, left_us);
    if ((w = dm_pool_take(p, &r->why)) == NULL) {
        r->status = DM_EXTRACT_FAILED;
        goto out;
    }
    dm_extract_req_encode(&q, pending);

    for (;;) {
        struct pollfd pfd[2];
        int nfd = 0, in_at = -1, rc;
        gint64 now;

        /* Feed: the next chunk of the attachment once the last is out. */
        if (w->in >= 0 && pending->len == 0 && !eof_in) {
            guint8 buf[65536];
            ssize_t n = d->read(d->ctx, buf, sizeof buf);

            if (n < 0) {
                r->status = DM_EXTRACT_FAILED;
                r->why = g_strdup("the attachment could not be read from the message");
                break;
            }
            if (n == 0) {
                eof_in = true;
            } else {
                data += (uint64_t)n;
                if (data > p->conf.max_bytes) {
                    r->status = DM_EXTRACT_LIMIT;
                    r->why = g_strdup_printf("larger than %" G_GUINT64_FORMAT " bytes",
                                             p->conf.max_bytes);
                    break;
                }
                g_byte_array_append(pending, buf, (guint)n);
            }
        }
        if (w->in >= 0 && pending->len == 0 && eof_in) {
            close(w->in); /* the end of the request */
            w->in = -1;
        }
        now = g_get_monotonic_time();
        if (now >= deadline) {
            r->status = DM_EXTRACT_TIMEOUT;
            r->why = g_strdup_printf("no answer within %" G_GINT64_FORMAT " ms",
                                     (deadline - t0) / 1000);
            break;
        }
        if (w->in >= 0 && pending->len > 0) {
            pfd[nfd] = (struct pollfd){.fd = w->in, .events = POLLOUT};
            in_at = nfd++;
        }
        pfd[nfd++] = (struct pollfd){.fd = w->out, .events = POLLIN};
        rc = poll(pfd, (nfds_t)nfd, (int)MIN((deadline - now + 999) / 1000, G_MAXINT));
        if (rc < 0 && errno != EINTR) {
            r->status = DM_EXTRACT_FAILED;
            r->why = g_strdup_printf("poll: %s", g_strerror(errno));
            break;
        }
        if (rc <= 0)
            continue;
        if (in_at >= 0 && (pfd[in_at].revents & (POLLERR | POLLHUP))) {
            /* It stopped reading (a limit, or it died): what it says
             * next tells which. */
            close(w->in);
            w->in = -1;
        } else if (in_at >= 0 && (pfd[in_at].revents & POLLOUT)) {
            ssize_t n = dm_pipe_write(w->in, pending->data, pending->len);
            if (n > 0) {
                g_byte_array_remove_range(pending, 0, (guint)n);
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                close(w->in);
                w->in = -1;
            }
        }
        if (pfd[nfd - 1].revents & (POLLIN | POLLHUP | POLLERR)) {
            int got;
            while ((got = dm_drain(w->out, ans, ans_room)) == 1)
                ;
            if (got == -2) {
                r->status = DM_EXTRACT_FAILED;
                r->why = g_strdup("an answer longer than asked for");
                break;
            }
            if (got == -1) {
                answered = true;
                break;
            }
        }
    }
    if (!answered) {
        /* Timed out, too large, or a bad answer: stop it now. */
        kill(w->pid, SIGKILL);
        we_killed = true;
    }
    /* An answered worker exits at once; one that lingers past the
     * deadline (it cannot do anything else) is killed. */
    for (;;) {
        pid_t got = wait4(w->pid, &status, we_killed ? 0 : WNOHANG, &ru);

        if (got == w->pid || (got < 0 && errno != EINTR))
            break;
        if (got == 0 && g_get_monotonic_time() >= deadline) {
            kill(w->pid, SIGKILL);
            we_killed = true;
        } else if (got == 0) {
            g_usleep(200);
        }
    }
    r->cpu_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec +
                (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    if (answered) {
        dm_extract_resp resp;

        /* A whole answer counts if the worker then exited, or lingered
         * and was killed for it. */
        bool ended = (WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                     (we_killed && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        if (ended && dm_extract_resp_decode(ans->data, ans->len, max_text, &resp)) {
            r->status = resp.status == DM_EXTRACT_NONE ? DM_EXTRACT_FAILED : resp.status;
            r->flags = resp.flags;
            r->pages = resp.pages;
            r->format = resp.format;
            if (r->status == DM_EXTRACT_READ) {
                r->text = resp.text;
                r->text_len = resp.text_len;
            } else {
                g_free(resp.text);
            }
        } else {
            r->status = DM_EXTRACT_NONE;
            dm_judge_exit(status, false, r);
            if (r->status == DM_EXTRACT_NONE) {
                r->status = DM_EXTRACT_FAILED;
                r->why = g_strdup("not an answer");
            }
        }
    }
    if (w->in >= 0)
        close(w->in);
    close(w->out);
    g_free(w);
out:
    r->wall_us = g_get_monotonic_time() - t0;
    b->spent_us += r->wall_us;
    b->text += r->text_len;
    if (r->status == DM_EXTRACT_FAILED || r->status == DM_EXTRACT_TIMEOUT)
        /* No file name: it may be a private message's. */
        dm_log(DM_LOG_NOTICE, "attachment reader: %s (%s, %" G_GUINT64_FORMAT " bytes): %s",
               dm_extract_status_name(r->status), r->format != NULL ? r->format : "?", data,
               r->why != NULL ? r->why : "?");
    g_byte_array_free(pending, TRUE);
    g_byte_array_free(ans, TRUE);
}
