/*
 * Serving the metrics: one thread with a GLib main context of its own,
 * holding a GSocketService (GIO does the listening and accepting) and
 * the textfile's timer.
 *
 * The listener is for a scraper on a trusted network (the default
 * address is loopback), yet it reads what any client sends, so it reads
 * little: at most DM_METRICS_MAX_REQUEST bytes, up to the blank line that
 * ends the headers, within 5 s; it looks at the request line only
 * (method and path), answers, and closes the connection.  GET or HEAD of
 * /metrics is 200, any other path 404, any other method 405, anything
 * else 400.  One client at a time: a slow one delays the next by at most
 * its 5 s.
 */
#include <string.h>

#include <gio/gio.h>

#include "dm_conf.h"
#include "dm_log.h"
#include "dm_metrics.h"

#define DM_METRICS_IO_TIMEOUT 5 /* seconds, per read or write of one client */

struct dm_metrics_server {
    GThread *thread;
    GMainContext *ctx;
    GMainLoop *loop;
    GSocketService *service;
    char *listen;
    char *textfile;
    int64_t interval;
    bool textfile_failing; /* logged once until it works again */
    dm_metrics_collect_fn collect;
    void *data;
    uint16_t port;
    /* The start: the thread says when it listens, or why it cannot. */
    GMutex lock;
    GCond cond;
    bool ready;
    GError *err;
};

static GString *dm_metrics_text(dm_metrics_server *s)
{
    GString *out = g_string_sized_new(8192);
    dm_metrics_gauges g = {0};

    if (s->collect != NULL)
        s->collect(&g, s->data);
    dm_metrics_render(out, s->collect != NULL ? &g : NULL);
    return out;
}

/* Rewrite the textfile: GLib writes a file beside it and renames it over
 * the old one, so a collector reads the old or the new, never half. */
static void dm_metrics_write_textfile(dm_metrics_server *s)
{
    GString *text = dm_metrics_text(s);
    GError *err = NULL;

    if (!g_file_set_contents_full(s->textfile, text->str, (gssize)text->len,
                                  G_FILE_SET_CONTENTS_CONSISTENT, 0644, &err)) {
        if (!s->textfile_failing)
            dm_log(DM_LOG_ERR, "[metrics] textfile: %s (tried again every %llds; logged once)",
                   err->message, (long long)s->interval);
        s->textfile_failing = true;
        g_error_free(err);
    } else if (s->textfile_failing) {
        dm_log(DM_LOG_NOTICE, "[metrics] textfile: %s written again", s->textfile);
        s->textfile_failing = false;
    }
    g_string_free(text, TRUE);
}

static gboolean dm_metrics_tick(gpointer data)
{
    dm_metrics_write_textfile(data);
    return G_SOURCE_CONTINUE;
}

/* --- HTTP -------------------------------------------------------------------- */

/* Read the request up to the blank line after its headers.  The length
 * read, or -1: too long, cut short, or an error. */
static gssize dm_metrics_read_request(GInputStream *in, char *buf, size_t size)
{
    size_t len = 0;

    while (len < size - 1) {
        gssize n = g_input_stream_read(in, buf + len, size - 1 - len, NULL, NULL);

        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
            return (gssize)len;
    }
    return -1;
}

int dm_metrics_http_status(const char *req, bool *head)
{
    size_t end = strcspn(req, "\r\n");
    char *line = g_strndup(req, end);
    char **w = g_strsplit(line, " ", 4);
    int status;

    *head = false;
    if (g_strv_length(w) != 3 || !g_str_has_prefix(w[2], "HTTP/1."))
        status = 400;
    else if (strcmp(w[0], "GET") != 0 && strcmp(w[0], "HEAD") != 0)
        status = 405;
    else if (strcmp(w[1], "/metrics") != 0 && !g_str_has_prefix(w[1], "/metrics?"))
        status = 404;
    else
        status = 200;
    *head = status == 200 && strcmp(w[0], "HEAD") == 0;
    g_strfreev(w);
    g_free(line);
    return status;
}

static gboolean dm_metrics_incoming(GSocketService *service, GSocketConnection *conn,
                                    GObject *source, gpointer data)
{
    dm_metrics_server *s = data;
    char *buf = g_malloc(DM_METRICS_MAX_REQUEST + 1);
    GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
    GString *resp = g_string_sized_new(256);
    GString *body = NULL;
    const char *reason = "Bad Request";
    bool head = false;
    int status = 400;

    (void)service;
    (void)source;
    g_socket_set_timeout(g_socket_connection_get_socket(conn), DM_METRICS_IO_TIMEOUT);
    if (dm_metrics_read_request(g_io_stream_get_input_stream(G_IO_STREAM(conn)), buf,
                                DM_METRICS_MAX_REQUEST + 1) > 0)
        status = dm_metrics_http_status(buf, &head);
    switch (status) {
    case 200:
        reason = "OK";
        body = dm_metrics_text(s);
        break;
    case 404:
        reason = "Not Found";
        body = g_string_new("Not found: the metrics are at /metrics\n");
        break;
    case 405:
        reason = "Method Not Allowed";
        body = g_string_new("Only GET and HEAD\n");
        break;
    default:
        body = g_string_new("Bad request\n");
        break;
    }
    g_string_append_printf(resp,
                           "HTTP/1.1 %d %s\r\n"
                           "Content-Type: %s\r\n"
                           "Content-Length: %zu\r\n"
                           "%s"
                           "Connection: close\r\n\r\n",
                           status, reason,
                           status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
                                         : "text/plain; charset=utf-8",
                           body->len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (!head)
        g_string_append_len(resp, body->str, (gssize)body->len);
    /* A client that went away is no error of ours. */
    g_output_stream_write_all(out, resp->str, resp->len, NULL, NULL, NULL);
    g_io_stream_close(G_IO_STREAM(conn), NULL, NULL);
    g_string_free(body, TRUE);
    g_string_free(resp, TRUE);
    g_free(buf);
    return TRUE;
}

static bool dm_metrics_listen(dm_metrics_server *s, GError **err)
{
    char *host = NULL;
    guint16 port = 0;
    GInetAddress *addr;
    GSocketAddress *sa, *bound = NULL;
    bool ok;

    if (!dm_conf_parse_listen(s->listen, &host, &port)) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "[metrics] listen: \"%s\" is not ADDRESS:PORT", s->listen);
        return false;
    }
    addr = g_inet_address_new_from_string(host);
    sa = g_inet_socket_address_new(addr, port);
    s->service = g_socket_service_new();
    ok = g_socket_listener_add_address(G_SOCKET_LISTENER(s->service), sa, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, NULL, &bound, err);
    if (ok) {
        s->port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
        g_signal_connect(s->service, "incoming", G_CALLBACK(dm_metrics_incoming), s);
        g_socket_service_start(s->service);
        g_object_unref(bound);
    } else {
        g_prefix_error(err, "[metrics] listen %s: ", s->listen);
    }
    g_object_unref(sa);
    g_object_unref(addr);
    g_free(host);
    return ok;
}

static gpointer dm_metrics_thread(gpointer data)
{
    dm_metrics_server *s = data;
    GSource *timer = NULL;
    GError *err = NULL;
    bool ok = true;

    /* The service's accepts and the timer run in this thread's context. */
    g_main_context_push_thread_default(s->ctx);
    if (*s->listen != '\0')
        ok = dm_metrics_listen(s, &err);
    if (ok && *s->textfile != '\0') {
        dm_metrics_write_textfile(s);
        timer = g_timeout_source_new_seconds((guint)s->interval);
        g_source_set_callback(timer, dm_metrics_tick, s, NULL);
        g_source_attach(timer, s->ctx);
    }
    g_mutex_lock(&s->lock);
    s->err = err;
    s->ready = true;
    g_cond_signal(&s->cond);
    g_mutex_unlock(&s->lock);

    if (ok) {
        g_main_loop_run(s->loop);
        if (*s->textfile != '\0')
            dm_metrics_write_textfile(s); /* the last counts, at stop */
    }
    if (timer != NULL) {
        g_source_destroy(timer);
        g_source_unref(timer);
    }
    if (s->service != NULL) {
        g_socket_service_stop(s->service);
        g_socket_listener_close(G_SOCKET_LISTENER(s->service));
        g_clear_object(&s->service);
    }
    g_main_context_pop_thread_default(s->ctx);
    return NULL;
}

static void dm_metrics_free(dm_metrics_server *s)
{
    g_main_loop_unref(s->loop);
    g_main_context_unref(s->ctx);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->cond);
    g_free(s->listen);
    g_free(s->textfile);
    g_free(s);
}

dm_metrics_server *dm_metrics_serve(const char *listen, const char *textfile,
                                    int64_t interval, dm_metrics_collect_fn collect,
                                    void *data, GError **err)
{
    dm_metrics_server *s = g_new0(dm_metrics_server, 1);

    s->listen = g_strdup(listen != NULL ? listen : "");
    s->textfile = g_strdup(textfile != NULL ? textfile : "");
    s->interval = interval >= 1 ? interval : 1;
    s->collect = collect;
    s->data = data;
    s->ctx = g_main_context_new();
    s->loop = g_main_loop_new(s->ctx, FALSE);
    g_mutex_init(&s->lock);
    g_cond_init(&s->cond);
    s->thread = g_thread_new("metrics", dm_metrics_thread, s);
    g_mutex_lock(&s->lock);
    while (!s->ready)
        g_cond_wait(&s->cond, &s->lock);
    g_mutex_unlock(&s->lock);
    if (s->err != NULL) {
        g_propagate_error(err, s->err);
        g_thread_join(s->thread);
        dm_metrics_free(s);
        return NULL;
    }
    return s;
}

uint16_t dm_metrics_server_port(const dm_metrics_server *s)
{
    return s != NULL ? s->port : 0;
}

static gboolean dm_metrics_quit(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

void dm_metrics_server_stop(dm_metrics_server *s)
{
    GSource *quit;

    if (s == NULL)
        return;
    /* Through the loop itself: a quit before it runs would be lost. */
    quit = g_idle_source_new();
    g_source_set_callback(quit, dm_metrics_quit, s->loop, NULL);
    g_source_attach(quit, s->ctx);
    g_source_unref(quit);
    g_thread_join(s->thread);
    dm_metrics_free(s);
}
