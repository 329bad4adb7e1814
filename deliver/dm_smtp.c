#include "dm_smtp.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Replies are quoted in errors, one line, at most this long. */
#define DM_SMTP_REPLY_MAX 512

typedef enum {
    DM_SMTP_START, /* greeting, EHLO/HELO, STARTTLS, AUTH */
    DM_SMTP_MAIL,
    DM_SMTP_RCPT,
    DM_SMTP_DATA,  /* DATA sent, the message going */
    DM_SMTP_END,   /* the whole message given to libcurl */
} dm_smtp_stage;

typedef struct {
    int fd;
    bool read_error;
    int read_errno;
    bool last_cr;         /* the byte before was CR */
    dm_smtp_stage stage;
    GString *reply;       /* the last reply's text, one line */
    bool reply_done;      /* the reply was complete (a line without '-') */
    bool quit;            /* QUIT sent: its reply is not the one to report */
} dm_smtp_ctx;

/* The message, bare LF as CRLF; libcurl adds the dot-stuffing and the
 * final dot.  Reading stops the transfer on an error (CURL_READFUNC_ABORT). */
static size_t dm_smtp_read(char *buf, size_t size, size_t n, void *data)
{
    dm_smtp_ctx *c = data;
    size_t want = size * n / 2, out = 0; /* each byte may become two */
    char in[8192];
    ssize_t got;

    if (want > sizeof in)
        want = sizeof in;
    if (want == 0)
        return CURL_READFUNC_ABORT; /* libcurl's buffer is never this small */
    do
        got = read(c->fd, in, want);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        c->read_error = true;
        c->read_errno = errno;
        return CURL_READFUNC_ABORT;
    }
    if (got == 0) {
        c->stage = DM_SMTP_END;
        return 0;
    }
    for (ssize_t i = 0; i < got; i++) {
        if (in[i] == '\n' && !c->last_cr)
            buf[out++] = '\r';
        buf[out++] = in[i];
        c->last_cr = in[i] == '\r';
    }
    return out;
}

/* Follow the conversation: which command went last, what the server said
 * last (for the error and for the stage a refusal came at). */
static int dm_smtp_trace(CURL *h, curl_infotype type, char *data, size_t size, void *user)
{
    dm_smtp_ctx *c = user;

    (void)h;
    if (c->quit)
        return 0;
    if (type == CURLINFO_HEADER_OUT) {
        if (size >= 4 && g_ascii_strncasecmp(data, "QUIT", 4) == 0)
            c->quit = true;
        else if (size >= 4 && g_ascii_strncasecmp(data, "MAIL", 4) == 0)
            c->stage = DM_SMTP_MAIL;
        else if (size >= 4 && g_ascii_strncasecmp(data, "RCPT", 4) == 0)
            c->stage = DM_SMTP_RCPT;
        else if (size >= 4 && g_ascii_strncasecmp(data, "DATA", 4) == 0)
            c->stage = DM_SMTP_DATA;
    } else if (type == CURLINFO_HEADER_IN) {
        if (c->reply_done)
            g_string_truncate(c->reply, 0);
        if (c->reply->len > 0 && c->reply->len < DM_SMTP_REPLY_MAX)
            g_string_append_c(c->reply, ' ');
        for (size_t i = 0; i < size && c->reply->len < DM_SMTP_REPLY_MAX; i++) {
            unsigned char ch = (unsigned char)data[i];
            if (ch == '\r' || ch == '\n')
                continue;
            g_string_append_c(c->reply, ch < 0x20 || ch == 0x7f ? ' ' : (char)ch);
        }
        c->reply_done = size < 4 || data[3] != '-';
    }
    return 0;
}

static const char *dm_smtp_stage_name(dm_smtp_stage s)
{
    switch (s) {
    case DM_SMTP_START: return "greeting";
    case DM_SMTP_MAIL: return "MAIL FROM";
    case DM_SMTP_RCPT: return "RCPT TO";
    case DM_SMTP_DATA: return "DATA";
    case DM_SMTP_END: return "end of data";
    }
    return "?";
}

dm_deliver_status dm_smtp_send(const dm_smtp_opts *o, const char *from, const char *rcpt,
                               int fd, int64_t offset, char **error)
{
    dm_smtp_ctx c = {.fd = fd, .reply = g_string_new(NULL), .reply_done = true};
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *helo = o->helo != NULL && *o->helo != '\0' ? o->helo : g_get_host_name();
    bool v6 = strchr(o->host, ':') != NULL;
    char *peer = v6 ? g_strdup_printf("[%s]:%d", o->host, o->port)
                    : g_strdup_printf("%s:%d", o->host, o->port);
    /* The URL's path is the name libcurl gives in EHLO. */
    char *url = g_strdup_printf("smtp://%s/%s", peer, helo);
    struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
    long timeout = o->timeout > 0 ? (long)MIN(o->timeout, 24 * 3600) : 60;
    dm_deliver_status st = DM_DELIVER_TEMPORARY;
    long code = 0;
    CURLcode rc;
    CURL *h;

    *error = NULL;
    if (lseek(fd, offset, SEEK_SET) < 0) {
        *error = g_strdup_printf("spool item: %s", g_strerror(errno));
        goto out;
    }
    h = curl_easy_init();
    if (h == NULL || rcpts == NULL) {
        *error = g_strdup("smtp: libcurl could not start");
        if (h != NULL)
            curl_easy_cleanup(h);
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, dm_smtp_read);
    curl_easy_setopt(h, CURLOPT_READDATA, &c);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout);
    /* Sending the message: fail when nothing moves for that long. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, timeout);
    curl_easy_setopt(h, CURLOPT_USE_SSL, o->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    if (o->user != NULL && *o->user != '\0') {
        curl_easy_setopt(h, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, o->password != NULL ? o->password : "");
        /* The initial response with AUTH: RFC 4954 allows it always. */
        curl_easy_setopt(h, CURLOPT_SASL_IR, 1L);
    }
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, dm_smtp_trace);
    curl_easy_setopt(h, CURLOPT_DEBUGDATA, &c);

    rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    /* The code of the last reply before QUIT. */
    if (c.reply->len >= 3 && g_ascii_isdigit(c.reply->str[0]) &&
        g_ascii_isdigit(c.reply->str[1]) && g_ascii_isdigit(c.reply->str[2]))
        code = (c.reply->str[0] - '0') * 100 + (c.reply->str[1] - '0') * 10 +
               (c.reply->str[2] - '0');

    if (rc == CURLE_OK) {
        st = DM_DELIVERED;
    } else if (c.read_error) {
        *error = g_strdup_printf("spool item: %s", g_strerror(c.read_errno));
    } else if (c.stage == DM_SMTP_END && (code < 400 || !c.reply_done)) {
        /* All of it sent, and no (complete) answer. */
        *error = g_strdup_printf("outcome unknown: smtp %s: no answer to the end of the "
                                 "message (%s)",
                                 peer, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        st = DM_DELIVER_UNKNOWN;
    } else if (code >= 400 && code < 600) {
        *error = g_strdup_printf("smtp %s: %s: %s", peer, dm_smtp_stage_name(c.stage),
                                 c.reply->str);
        if (code >= 500 && (c.stage == DM_SMTP_RCPT || c.stage == DM_SMTP_END ||
                            c.stage == DM_SMTP_DATA))
            st = DM_DELIVER_PERMANENT;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        *error = g_strdup_printf("smtp %s: timed out at the %s", peer,
                                 dm_smtp_stage_name(c.stage));
    } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
        *error = g_strdup_printf("smtp %s: cannot connect: %s", peer,
                                 errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    } else if (rc == CURLE_USE_SSL_FAILED) {
        *error = g_strdup_printf("smtp %s: the server offers no STARTTLS, which [delivery] "
                                 "smtp_tls requires",
                                 peer);
    } else {
        *error = g_strdup_printf("smtp %s: %s", peer,
                                 errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    }
out:
    curl_slist_free_all(rcpts);
    g_string_free(c.reply, TRUE);
    g_free(url);
    g_free(peer);
    return st;
}
