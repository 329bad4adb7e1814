#include "dm_smtp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dm_util.h"

typedef struct {
    int fd;
    int timeout_ms;
    char *peer;        /* "host:port", for messages */
    char rbuf[4096];
    size_t rlen, rpos;
    GString *wbuf;
} dm_smtp_conn;

/* Replies are quoted in errors, one line, at most this long. */
#define DM_SMTP_REPLY_MAX 512

static int dm_smtp_timeout_ms(int64_t seconds)
{
    if (seconds <= 0)
        return 60 * 1000;
    return seconds > 24 * 3600 ? 24 * 3600 * 1000 : (int)(seconds * 1000);
}

static bool dm_smtp_wait(dm_smtp_conn *c, short events, const char *what, char **error)
{
    struct pollfd p = {.fd = c->fd, .events = events};
    int rc;

    do
        rc = poll(&p, 1, c->timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0) {
        *error = g_strdup_printf("smtp %s: timed out %s", c->peer, what);
        return false;
    }
    if (rc < 0) {
        *error = g_strdup_printf("smtp %s: poll: %s", c->peer, g_strerror(errno));
        return false;
    }
    return true;
}

static bool dm_smtp_flush(dm_smtp_conn *c, const char *what, char **error)
{
    size_t off = 0;

    while (off < c->wbuf->len) {
        ssize_t n = send(c->fd, c->wbuf->str + off, c->wbuf->len - off, MSG_NOSIGNAL);

        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!dm_smtp_wait(c, POLLOUT, what, error))
                return false;
            continue;
        }
        *error = g_strdup_printf("smtp %s: %s: %s", c->peer, what,
                                 n < 0 ? g_strerror(errno) : "connection closed");
        return false;
    }
    g_string_truncate(c->wbuf, 0);
    return true;
}

/* One line of a reply, without its CRLF. */
static bool dm_smtp_readline(dm_smtp_conn *c, GString *line, const char *what, char **error)
{
    g_string_truncate(line, 0);
    for (;;) {
        while (c->rpos < c->rlen) {
            char ch = c->rbuf[c->rpos++];

            if (ch == '\n') {
                if (line->len > 0 && line->str[line->len - 1] == '\r')
                    g_string_truncate(line, line->len - 1);
                return true;
            }
            if (line->len < 4096)
                g_string_append_c(line, ch);
        }
        {
            ssize_t n = recv(c->fd, c->rbuf, sizeof c->rbuf, 0);

            if (n > 0) {
                c->rlen = (size_t)n;
                c->rpos = 0;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (!dm_smtp_wait(c, POLLIN, what, error))
                    return false;
                continue;
            }
            *error = g_strdup_printf("smtp %s: %s: %s", c->peer, what,
                                     n < 0 ? g_strerror(errno) : "connection closed");
            return false;
        }
    }
}

/* A whole reply, perhaps of several lines ("250-..." up to "250 ...").
 * Returns its code, or -1 (with *error) when none could be read.  text:
 * the lines' texts joined by blanks; lines (may be NULL): each line's
 * text, for EHLO's keywords. */
static int dm_smtp_reply(dm_smtp_conn *c, GString *text, GPtrArray *lines, const char *what,
                         char **error)
{
    GString *line = g_string_new(NULL);
    int code = -1;

    g_string_truncate(text, 0);
    for (;;) {
        if (!dm_smtp_readline(c, line, what, error)) {
            code = -1;
            break;
        }
        if (line->len < 3 || !g_ascii_isdigit(line->str[0]) || !g_ascii_isdigit(line->str[1]) ||
            !g_ascii_isdigit(line->str[2]) || (line->len > 3 && line->str[3] != ' ' &&
                                               line->str[3] != '-')) {
            *error = g_strdup_printf("smtp %s: %s: not an SMTP reply: %.80s", c->peer, what,
                                     line->str);
            code = -1;
            break;
        }
        code = (line->str[0] - '0') * 100 + (line->str[1] - '0') * 10 + (line->str[2] - '0');
        if (text->len > 0)
            g_string_append_c(text, ' ');
        if (text->len < DM_SMTP_REPLY_MAX)
            g_string_append(text, line->str);
        if (lines != NULL)
            g_ptr_array_add(lines, g_strdup(line->len > 4 ? line->str + 4 : ""));
        if (line->len == 3 || line->str[3] == ' ')
            break;
    }
    g_string_free(line, TRUE);
    for (gsize i = 0; i < text->len; i++)
        if ((unsigned char)text->str[i] < 0x20)
            text->str[i] = ' ';
    return code;
}

/* Send a command line and read the reply. */
static int dm_smtp_command(dm_smtp_conn *c, GString *text, GPtrArray *lines, char **error,
                           const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static int dm_smtp_command(dm_smtp_conn *c, GString *text, GPtrArray *lines, char **error,
                           const char *fmt, ...)
{
    va_list ap;
    char *cmd;
    int code;

    va_start(ap, fmt);
    cmd = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_string_append(c->wbuf, cmd);
    g_string_append(c->wbuf, "\r\n");
    if (!dm_smtp_flush(c, cmd, error)) {
        g_free(cmd);
        return -1;
    }
    code = dm_smtp_reply(c, text, lines, cmd, error);
    g_free(cmd);
    return code;
}

static bool dm_smtp_connect(dm_smtp_conn *c, const char *host, int port, char **error)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char portstr[16];
    int rc;
    char *last = NULL;

    g_snprintf(portstr, sizeof portstr, "%d", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        *error = g_strdup_printf("smtp %s: %s", c->peer, gai_strerror(rc));
        return false;
    }
    for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        a->ai_protocol);
        int soerr = 0;
        socklen_t sl = sizeof soerr;

        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                g_free(last);
                last = g_strdup(g_strerror(errno));
                close(fd);
                continue;
            }
            c->fd = fd;
            if (!dm_smtp_wait(c, POLLOUT, "connecting", &last)) {
                close(fd);
                c->fd = -1;
                continue;
            }
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
                g_free(last);
                last = g_strdup(g_strerror(soerr != 0 ? soerr : errno));
                close(fd);
                c->fd = -1;
                continue;
            }
        }
        c->fd = fd;
        break;
    }
    freeaddrinfo(res);
    if (c->fd < 0) {
        if (last != NULL && g_str_has_prefix(last, "smtp "))
            *error = last;
        else {
            *error = g_strdup_printf("smtp %s: cannot connect: %s", c->peer,
                                     last != NULL ? last : "no address");
            g_free(last);
        }
        return false;
    }
    g_free(last);
    return true;
}

/* Does the message (fd from offset) hold a byte above 127? */
static bool dm_smtp_eightbit(int fd, int64_t offset, bool *eight, char **error)
{
    unsigned char buf[65536];
    ssize_t n;

    *eight = false;
    if (lseek(fd, offset, SEEK_SET) < 0) {
        *error = g_strdup_printf("spool item: %s", g_strerror(errno));
        return false;
    }
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < n && !*eight; i++)
            if (buf[i] & 0x80)
                *eight = true;
        if (*eight)
            break;
    }
    if (n < 0) {
        *error = g_strdup_printf("spool item: %s", g_strerror(errno));
        return false;
    }
    if (lseek(fd, offset, SEEK_SET) < 0) {
        *error = g_strdup_printf("spool item: %s", g_strerror(errno));
        return false;
    }
    return true;
}

/* The message as DATA: CRLF line ends, dots doubled at line starts, and
 * a line end added when the message lacks a final one. */
static bool dm_smtp_data(dm_smtp_conn *c, int fd, char **error)
{
    char buf[32768];
    ssize_t n;
    bool bol = true;  /* at the beginning of a line */
    bool cr = false;  /* the last byte sent was a CR */

    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        for (ssize_t i = 0; i < n; i++) {
            char ch = buf[i];

            if (bol && ch == '.')
                g_string_append_c(c->wbuf, '.');
            if (ch == '\n' && !cr)
                g_string_append_c(c->wbuf, '\r');
            g_string_append_c(c->wbuf, ch);
            cr = ch == '\r';
            bol = ch == '\n';
        }
        if (c->wbuf->len >= 32768 && !dm_smtp_flush(c, "sending the message", error))
            return false;
    }
    if (n < 0) {
        *error = g_strdup_printf("spool item: %s", g_strerror(errno));
        return false;
    }
    if (!bol)
        g_string_append(c->wbuf, cr ? "\n" : "\r\n");
    g_string_append(c->wbuf, ".\r\n");
    return dm_smtp_flush(c, "sending the message", error);
}

static dm_deliver_status dm_smtp_refused(dm_smtp_conn *c, int code, const char *step,
                                         const GString *text, bool permanent_5xx, char **error)
{
    if (code < 0)
        return DM_DELIVER_TEMPORARY; /* *error set by the reader */
    *error = g_strdup_printf("smtp %s: %s: %s", c->peer, step, text->str);
    return code >= 500 && code < 600 && permanent_5xx ? DM_DELIVER_PERMANENT
                                                      : DM_DELIVER_TEMPORARY;
}

dm_deliver_status dm_smtp_send(const dm_smtp_opts *o, const char *from, const char *rcpt,
                               int fd, int64_t offset, char **error)
{
    dm_smtp_conn c = {.fd = -1};
    GString *text = g_string_new(NULL);
    GPtrArray *ext = g_ptr_array_new_with_free_func(g_free);
    dm_deliver_status st = DM_DELIVER_TEMPORARY;
    const char *helo = o->helo != NULL && *o->helo != '\0' ? o->helo : g_get_host_name();
    bool eight = false, offers_8bit = false;
    int code;

    *error = NULL;
    c.timeout_ms = dm_smtp_timeout_ms(o->timeout);
    c.peer = strchr(o->host, ':') != NULL ? g_strdup_printf("[%s]:%d", o->host, o->port)
                                          : g_strdup_printf("%s:%d", o->host, o->port);
    c.wbuf = g_string_new(NULL);
    if (!dm_smtp_eightbit(fd, offset, &eight, error) || !dm_smtp_connect(&c, o->host, o->port, error))
        goto out;

    code = dm_smtp_reply(&c, text, NULL, "reading the greeting", error);
    if (code != 220) {
        st = dm_smtp_refused(&c, code, "greeting", text, false, error);
        goto out;
    }
    code = dm_smtp_command(&c, text, ext, error, "EHLO %s", helo);
    if (code >= 500 && code < 600) {
        g_ptr_array_set_size(ext, 0);
        code = dm_smtp_command(&c, text, NULL, error, "HELO %s", helo);
    }
    if (code != 250) {
        st = dm_smtp_refused(&c, code, "EHLO/HELO", text, false, error);
        goto out;
    }
    for (guint i = 1; i < ext->len; i++) {
        const char *kw = g_ptr_array_index(ext, i);
        if (g_ascii_strncasecmp(kw, "8BITMIME", 8) == 0 && (kw[8] == '\0' || kw[8] == ' '))
            offers_8bit = true;
    }
    code = dm_smtp_command(&c, text, NULL, error, "MAIL FROM:<%s>%s", from != NULL ? from : "",
                           eight && offers_8bit ? " BODY=8BITMIME" : "");
    if (code != 250) {
        st = dm_smtp_refused(&c, code, "MAIL FROM", text, false, error);
        goto out;
    }
    code = dm_smtp_command(&c, text, NULL, error, "RCPT TO:<%s>", rcpt);
    if (code != 250 && code != 251) {
        st = dm_smtp_refused(&c, code, "RCPT TO", text, true, error);
        goto out;
    }
    code = dm_smtp_command(&c, text, NULL, error, "DATA");
    if (code != 354) {
        st = dm_smtp_refused(&c, code, "DATA", text, true, error);
        goto out;
    }
    if (lseek(fd, offset, SEEK_SET) < 0) {
        *error = g_strdup_printf("spool item: %s", g_strerror(errno));
        goto out;
    }
    if (!dm_smtp_data(&c, fd, error))
        goto out;
    code = dm_smtp_reply(&c, text, NULL, "end of message", error);
    if (code < 0) {
        /* The whole message went; no answer came.  The server may have
         * taken it (RFC 1047): sent again, it could arrive twice. */
        char *why = *error;
        *error = g_strdup_printf("outcome unknown: %s", why != NULL ? why : "no answer");
        g_free(why);
        st = DM_DELIVER_UNKNOWN;
        goto out;
    }
    if (code != 250) {
        st = dm_smtp_refused(&c, code, "end of message", text, true, error);
        goto out;
    }
    st = DM_DELIVERED;
    /* Taken: say goodbye without waiting for the answer, so nothing
     * stands between the server's acceptance and the item's removal. */
    g_string_append(c.wbuf, "QUIT\r\n");
    g_free(*error);
    *error = NULL;
    {
        char *ignored = NULL;
        dm_smtp_flush(&c, "QUIT", &ignored);
        g_free(ignored);
    }
out:
    if (c.fd >= 0)
        close(c.fd);
    g_free(c.peer);
    g_string_free(c.wbuf, TRUE);
    g_string_free(text, TRUE);
    g_ptr_array_free(ext, TRUE);
    if (st != DM_DELIVERED && *error == NULL)
        *error = g_strdup("smtp: failed");
    return st;
}
