/*
 * extract_all: every message through dm_mime_extract, as the daemon reads
 * a spilled message (a file stream), and every string checked.
 *
 *   build/extract_all [-v] [-l FILE] [--copy] [--dump DIR] PATH...
 *
 * A PATH is a message file or a directory of *.eml files; -l FILE reads
 * paths from FILE (one a line, "-" for stdin).  The auto-reply subjects
 * are DM_SRCDIR/etc/rules.conf's, as the daemon's.  With --copy the registrator
 * copy is composed too (templates from DM_SRCDIR/etc/templates, default
 * ".") and the original checked to come back from it byte for byte, and
 * the redirected copy too: the original's body, a loop token that verifies.
 * --dump DIR writes each message's facts to DIR/NAME.txt (for diffs);
 * --chunk N reads text parts N bytes at a time (default 256 kB).
 *
 * For every message: the subject, From, Message-ID, Date, In-Reply-To,
 * References, every header name and value, every attachment's name and
 * type, the markers' strings, the limits and the text must be valid
 * UTF-8 without a NUL.  Prints one line of counts; exits 1 when any
 * message failed a check (each named on stderr), 2 on a usage error.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm_conf.h"
#include "dm_loop.h"
#include "dm_mime.h"
#include "dm_mime_int.h"
#include "dm_policy.h"

typedef struct {
    unsigned messages, bad, empty_text, malformed, attachments, auto_reply, list, bulk,
        spam, report, limited, header_8bit, copies;
    guint64 bytes, text_bytes;
} dm_counts;

static bool dm_valid(const char *what, const char *s, const char *path)
{
    if (s == NULL)
        return true;
    if (!g_utf8_validate(s, -1, NULL)) {
        fprintf(stderr, "extract_all: %s: %s is not valid UTF-8\n", path, what);
        return false;
    }
    return true;
}

static bool dm_check(const dm_msg *m, const char *path)
{
    bool ok = true;

    if (m->subject == NULL || m->from_addr == NULL || m->from_display == NULL ||
        m->message_id == NULL) {
        fprintf(stderr, "extract_all: %s: a string field is NULL\n", path);
        return false;
    }
    ok &= dm_valid("Subject", m->subject, path);
    ok &= dm_valid("From address", m->from_addr, path);
    ok &= dm_valid("From", m->from_display, path);
    ok &= dm_valid("Message-ID", m->message_id, path);
    ok &= dm_valid("Date", m->date, path);
    ok &= dm_valid("In-Reply-To", m->in_reply_to, path);
    ok &= dm_valid("References", m->references, path);
    ok &= dm_valid("Auto-Submitted", m->auto_submitted, path);
    ok &= dm_valid("List-Id", m->list_id, path);
    ok &= dm_valid("report type", m->report_type, path);
    ok &= dm_valid("spam header", m->spam_header, path);
    if (!g_utf8_validate(m->text->str, (gssize)m->text->len, NULL)) {
        fprintf(stderr, "extract_all: %s: the text is not valid UTF-8\n", path);
        ok = false;
    } else if (strlen(m->text->str) != m->text->len) {
        fprintf(stderr, "extract_all: %s: the text holds a NUL\n", path);
        ok = false;
    }
    for (guint i = 0; i < m->headers->len; i++) {
        const dm_header *h = g_ptr_array_index(m->headers, i);
        ok &= dm_valid("a header name", h->name, path);
        ok &= dm_valid("a header value", h->value, path);
    }
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        if (a->content_type == NULL) {
            fprintf(stderr, "extract_all: %s: an attachment without a type\n", path);
            ok = false;
        }
        ok &= dm_valid("an attachment type", a->content_type, path);
        ok &= dm_valid("an attachment name", a->filename, path);
    }
    for (guint i = 0; i < m->limits->len; i++)
        ok &= dm_valid("a limit", g_ptr_array_index(m->limits, i), path);
    return ok;
}

/* The copy's original part decodes to the bytes received (line ends
 * aside for message/rfc822). */
static bool dm_check_copy(const dm_msg *m, GMimeStream *orig, const dm_templates *t,
                          const char *path)
{
    dm_verdict *v = dm_verdict_new();
    GByteArray *out = g_byte_array_new();
    GMimeStream *os = g_mime_stream_mem_new_with_byte_array(out);
    char *rcpts[] = {"registrator@sjovik.test", NULL};
    dm_compose_info ci = {.id = "extractall0000000000",
                          .env_from = m->from_addr,
                          .rcpts = rcpts,
                          .n_rcpts = 1,
                          .msg = m,
                          .verdict = v,
                          .sha256 = "0",
                          .from_header = "Diariemilter <postmaster@sjovik.test>",
                          .now = 1700000000};
    GError *err = NULL;
    bool ok = true;

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
    v->klass = DM_CLASS_REGISTRERAS;
    g_mime_stream_reset(orig);
    if (!dm_mime_write_copy(os, &ci, "registrator@sjovik.test", orig, t, &err)) {
        fprintf(stderr, "extract_all: %s: no copy: %s\n", path, err->message);
        g_clear_error(&err);
        ok = false;
    }
    if (ok) {
        GMimeStream *cs = g_mime_stream_mem_new_with_buffer((const char *)out->data, out->len);
        GMimeParser *p = g_mime_parser_new_with_stream(cs);
        GMimeMessage *copy = g_mime_parser_construct_message(p, NULL);
        GMimeObject *body = copy != NULL ? g_mime_message_get_mime_part(copy) : NULL;
        GMimeObject *part = NULL;

        /* The cover note, the original, diarie.json. */
        if (body != NULL && GMIME_IS_MULTIPART(body) &&
            g_mime_multipart_get_count(GMIME_MULTIPART(body)) == 3)
            part = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
        if (part == NULL) {
            fprintf(stderr, "extract_all: %s: the copy has no original part\n", path);
            ok = false;
        } else {
            GByteArray *want = g_byte_array_new(), *got = g_byte_array_new();
            GMimeStream *ws = g_mime_stream_mem_new_with_byte_array(want);
            bool lf;

            g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ws), FALSE);
            g_mime_stream_reset(orig);
            g_mime_stream_write_to_stream(orig, ws);
            {
                /* The raw section of the second part, between its
                 * headers and the next delimiter: decoded when base64
                 * (message/global), else the bytes as written. */
                const char *raw = (const char *)out->data, *end = raw + out->len;
                const char *b = g_mime_multipart_get_boundary(GMIME_MULTIPART(body));
                const char *cte = g_mime_object_get_header(part, "Content-Transfer-Encoding");
                char *open = g_strconcat("\n--", b, "\n", NULL);
                char *close = g_strconcat("\n--", b, "--", NULL);
                const char *start = raw;

                lf = cte == NULL || g_ascii_strcasecmp(cte, "base64") != 0;
                for (int k = 0; k < 2 && start != NULL; k++) {
                    start = g_strstr_len(start, end - start, open);
                    if (start != NULL)
                        start += strlen(open);
                }
                if (start != NULL)
                    start = g_strstr_len(start, end - start, "\n\n");
                if (start != NULL) {
                    const char *stop = g_strstr_len(start + 2, end - start - 2, open);
                    start += 2;
                    if (stop != NULL && lf) {
                        g_byte_array_append(got, (const guint8 *)start, (guint)(stop - start));
                    } else if (stop != NULL) {
                        char *b64 = g_strndup(start, (gsize)(stop - start));
                        gsize n = 0;
                        guchar *dec = g_base64_decode(b64, &n);
                        g_byte_array_append(got, dec, (guint)n);
                        g_free(dec);
                        g_free(b64);
                    }
                }
                g_free(open);
                g_free(close);
            }
            {
                /* message/rfc822 loses CR before LF. */
                GByteArray *norm = g_byte_array_new();
                for (guint i = 0; i < want->len; i++) {
                    if (lf && want->data[i] == '\r' && i + 1 < want->len &&
                        want->data[i + 1] == '\n')
                        continue;
                    g_byte_array_append(norm, &want->data[i], 1);
                }
                if (norm->len != got->len || memcmp(norm->data, got->data, got->len) != 0) {
                    fprintf(stderr,
                            "extract_all: %s: the copy's original differs (%u bytes, got %u, %s)\n",
                            path, norm->len, got->len, lf ? "message/rfc822" : "message/global");
                    ok = false;
                }
                g_byte_array_free(norm, TRUE);
            }
            g_object_unref(ws);
            g_byte_array_free(want, TRUE);
            g_byte_array_free(got, TRUE);
        }
        if (copy != NULL)
            g_object_unref(copy);
        g_object_unref(p);
        g_object_unref(cs);
    }
    g_object_unref(os);
    g_byte_array_free(out, TRUE);
    dm_verdict_free(v);
    return ok;
}

/* The redirected copy (issue 16): when the original could be resent, its
 * body is the original's but for CRLF, and its loop token verifies for it
 * as the milter hashes it; when not, the copy is wrapped. */
static bool dm_check_redirect(const dm_msg *m, GMimeStream *orig, const dm_templates *t,
                              const char *path)
{
    static const char key[] = "a site key of thirty-two bytes!!";
    dm_verdict *v = dm_verdict_new();
    dm_conf *conf = dm_conf_new_defaults();
    GByteArray *out = g_byte_array_new(), *want = g_byte_array_new();
    GMimeStream *os = g_mime_stream_mem_new_with_byte_array(out);
    GMimeStream *ws = g_mime_stream_mem_new_with_byte_array(want);
    char *rcpts[] = {"registrator@sjovik.test", NULL};
    dm_compose_info ci = {.id = "extractall0000000000",
                          .env_from = m->from_addr,
                          .rcpts = rcpts,
                          .n_rcpts = 1,
                          .msg = m,
                          .verdict = v,
                          .sha256 = "0",
                          .from_header = "Diariemilter <postmaster@sjovik.test>",
                          .loop_key = key,
                          .loop_keylen = sizeof key - 1,
                          .loop_expires = 1700000000 + 86400,
                          .now = 1700000000,
                          .conf = conf};
    bool ok = true;

    conf->copy_form = DM_COPY_REDIRECT;
    v->klass = DM_CLASS_REGISTRERAS;
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(os), FALSE);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ws), FALSE);
    g_mime_stream_reset(orig);
    g_mime_stream_write_to_stream(orig, ws);
    g_mime_stream_reset(orig);
    if (!dm_mime_write_copy(os, &ci, "registrator@sjovik.test", orig, t, NULL)) {
        fprintf(stderr, "extract_all: %s: no redirected copy\n", path);
        ok = false;
    } else if (out->len > 12 && memcmp(out->data, "Resent-From:", 12) == 0) {
        const char *o = (const char *)out->data, *sep = g_strstr_len(o, out->len, "\n\n");
        const char *w = (const char *)want->data;
        const char *wsep = g_strstr_len(w, want->len, "\r\n\r\n"), *wlf = g_strstr_len(w, want->len, "\n\n");
        GString *body = g_string_new(NULL);
        dm_bodyhash *h = dm_bodyhash_new();
        char hash[65], *value = NULL, *mid = NULL;
        GMimeStream *cs = g_mime_stream_mem_new_with_buffer(o, out->len);
        GMimeParser *p = g_mime_parser_new_with_stream(cs);
        GMimeMessage *copy = g_mime_parser_construct_message(p, NULL);

        /* The original's body: after its first blank line, CRLF or LF. */
        if (wsep == NULL || (wlf != NULL && wlf < wsep))
            wsep = wlf != NULL ? wlf + 2 : NULL;
        else
            wsep += 4;
        for (const char *c = wsep; c != NULL && c < w + want->len; c++)
            if (!(c[0] == '\r' && c + 1 < w + want->len && c[1] == '\n'))
                g_string_append_c(body, *c);
        if (sep == NULL || (size_t)(o + out->len - (sep + 2)) != body->len ||
            memcmp(sep + 2, body->str, body->len) != 0) {
            fprintf(stderr, "extract_all: %s: the redirected body differs\n", path);
            ok = false;
        }
        for (const char *c = sep != NULL ? sep + 2 : o + out->len; c < o + out->len; c++)
            dm_bodyhash_update(h, *c == '\n' ? "\r\n" : c, *c == '\n' ? 2 : 1);
        dm_bodyhash_final(h, hash);
        dm_bodyhash_free(h);
        if (copy != NULL) {
            value = g_strdup(g_mime_object_get_header(GMIME_OBJECT(copy), "X-Diarie-Genererad"));
            mid = dm_loop_message_id(g_mime_object_get_header(GMIME_OBJECT(copy), "Message-ID"));
        }
        if (value == NULL || dm_loop_check(key, sizeof key - 1, value, mid, hash, 1700000000) !=
                                 DM_LOOP_VALID) {
            fprintf(stderr, "extract_all: %s: the redirected copy's token does not verify\n",
                    path);
            ok = false;
        }
        g_free(value);
        g_free(mid);
        if (copy != NULL)
            g_object_unref(copy);
        g_object_unref(p);
        g_object_unref(cs);
        g_string_free(body, TRUE);
    }
    g_object_unref(ws);
    g_object_unref(os);
    g_byte_array_free(want, TRUE);
    g_byte_array_free(out, TRUE);
    dm_conf_unref(conf);
    dm_verdict_free(v);
    return ok;
}

static const char *dm_dump_dir;

static void dm_dump(const dm_msg *m, const char *path)
{
    char *base = g_path_get_basename(path);
    char *name = g_strconcat(base, ".txt", NULL);
    char *out = g_build_filename(dm_dump_dir, name, NULL);
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "subject: %s\nfrom: %s <%s>\nmessage-id: %s\n", m->subject,
                           m->from_display, m->from_addr, m->message_id);
    g_string_append_printf(s, "in-reply-to: %s\nreferences: %s\n",
                           m->in_reply_to ? m->in_reply_to : "", m->references ? m->references : "");
    g_string_append_printf(s, "markers:%s%s%s%s%s%s%s\n", m->auto_reply ? " auto-reply" : "",
                           m->list ? " list" : "", m->bulk ? " bulk" : "",
                           m->spam ? " spam" : "", m->report ? " report" : "",
                           m->malformed ? " malformed" : "", m->header_8bit ? " header-8bit" : "");
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        g_string_append_printf(s, "attachment: %s %s %zu\n", a->content_type,
                               a->filename ? a->filename : "-", a->size);
    }
    for (guint i = 0; i < m->limits->len; i++)
        g_string_append_printf(s, "limit: %s\n", (char *)g_ptr_array_index(m->limits, i));
    g_string_append_printf(s, "text:\n%s\n", m->text->str);
    g_file_set_contents(out, s->str, (gssize)s->len, NULL);
    g_string_free(s, TRUE);
    g_free(out);
    g_free(name);
    g_free(base);
}

static void dm_one(const char *path, const dm_mime_limits *lim, const dm_templates *t,
                   bool verbose, dm_counts *c)
{
    GError *err = NULL;
    GMimeStream *s = g_mime_stream_fs_open(path, O_RDONLY, 0, &err);
    dm_msg *m;

    if (s == NULL) {
        fprintf(stderr, "extract_all: %s: %s\n", path, err->message);
        g_error_free(err);
        c->bad++;
        return;
    }
    m = dm_mime_extract(s, lim);
    c->messages++;
    c->bytes += m->size;
    c->text_bytes += m->text->len;
    if (!dm_check(m, path))
        c->bad++;
    else if (t != NULL && (!dm_check_copy(m, s, t, path) || !dm_check_redirect(m, s, t, path)))
        c->bad++;
    if (t != NULL)
        c->copies++;
    if (dm_dump_dir != NULL)
        dm_dump(m, path);
    c->empty_text += m->text->len == 0;
    c->malformed += m->malformed;
    c->attachments += m->attachments->len;
    c->auto_reply += m->auto_reply;
    c->list += m->list;
    c->bulk += m->bulk;
    c->spam += m->spam;
    c->report += m->report;
    c->limited += m->limits->len > 0;
    c->header_8bit += m->header_8bit;
    if (verbose) {
        printf("%s: %zu bytes, text %zu, attachments %u, %s%s%s%s%s%s\n", path, m->size,
               m->text->len, m->attachments->len, m->malformed ? "malformed " : "",
               m->auto_reply ? "auto-reply " : "", m->list ? "list " : "",
               m->spam ? "spam " : "", m->report ? "report " : "",
               m->limits->len > 0 ? "limited" : "");
    }
    dm_msg_free(m);
    g_object_unref(s);
}

static void dm_path(const char *path, const dm_mime_limits *lim, const dm_templates *t,
                    bool verbose, dm_counts *c)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        GDir *d = g_dir_open(path, 0, NULL);
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        const char *n;

        while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
            if (g_str_has_suffix(n, ".eml"))
                g_ptr_array_add(names, g_build_filename(path, n, NULL));
        }
        if (d != NULL)
            g_dir_close(d);
        g_ptr_array_sort(names, (GCompareFunc)(void (*)(void))strcmp);
        for (guint i = 0; i < names->len; i++)
            dm_one(g_ptr_array_index(names, i), lim, t, verbose, c);
        g_ptr_array_free(names, TRUE);
    } else {
        dm_one(path, lim, t, verbose, c);
    }
}

int main(int argc, char **argv)
{
    dm_mime_limits lim;
    dm_counts c = {0};
    dm_conf *conf;
    dm_templates *t = NULL;
    dm_policy *pol = NULL;
    bool verbose = false, copy = false;
    const char *list = NULL;
    GTimer *timer;
    int i;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (strcmp(argv[i], "--copy") == 0)
            copy = true;
        else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
            dm_mime_chunk = (size_t)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dm_dump_dir = argv[++i];
        else if (strcmp(argv[i], "-l") == 0 && i + 1 < argc)
            list = argv[++i];
        else {
            fprintf(stderr, "usage: extract_all [-v] [--copy] [--dump DIR] [-l FILE] PATH...\n");
            return 2;
        }
    }
    dm_mime_init();
    conf = dm_conf_new_defaults();
    dm_mime_limits_from_conf(conf, &lim);
    /* The auto-reply subjects of etc/rules.conf, as the daemon reads. */
    {
        const char *src = getenv("DM_SRCDIR");
        GError *err = NULL;

        g_free(conf->rules_file);
        conf->rules_file = g_build_filename(src != NULL ? src : ".", "etc", "rules.conf", NULL);
        g_free(conf->templates);
        conf->templates = g_build_filename(src != NULL ? src : ".", "etc", "templates", NULL);
        pol = dm_policy_new(conf, &err);
        if (pol == NULL) {
            fprintf(stderr, "extract_all: rules: %s\n", err->message);
            g_error_free(err);
            dm_conf_unref(conf);
            dm_mime_shutdown();
            return 2;
        }
        lim.autoreply_subjects = dm_policy_autoreply_subjects(pol);
        lim.words = dm_policy_seg_words(pol);
    }
    dm_conf_unref(conf);
    if (copy) {
        const char *src = getenv("DM_SRCDIR");
        char *dir = g_build_filename(src != NULL ? src : ".", "etc", "templates", NULL);
        GError *err = NULL;

        t = dm_templates_load(dir, DM_LANG_SV, &err);
        g_free(dir);
        if (t == NULL) {
            fprintf(stderr, "extract_all: templates: %s\n", err->message);
            g_error_free(err);
            dm_mime_shutdown();
            return 2;
        }
    }
    timer = g_timer_new();
    if (list != NULL) {
        FILE *f = strcmp(list, "-") == 0 ? stdin : fopen(list, "r");
        char line[4096];

        if (f == NULL) {
            perror(list);
            return 2;
        }
        while (fgets(line, sizeof line, f) != NULL) {
            g_strchomp(line);
            if (*line != '\0')
                dm_path(line, &lim, t, verbose, &c);
        }
        if (f != stdin)
            fclose(f);
    }
    for (; i < argc; i++)
        dm_path(argv[i], &lim, t, verbose, &c);
    printf("extract_all: %u messages (%.1f MB, text %.1f MB) in %.1f s: %u failed, "
           "%u without text, %u malformed, %u attachments, %u auto-replies, %u list, "
           "%u bulk, %u spam, %u reports, %u limited, %u with 8-bit headers%s\n",
           c.messages, (double)c.bytes / 1e6, (double)c.text_bytes / 1e6,
           g_timer_elapsed(timer, NULL), c.bad, c.empty_text, c.malformed, c.attachments,
           c.auto_reply, c.list, c.bulk, c.spam, c.report, c.limited, c.header_8bit,
           copy ? ", every copy checked" : "");
    g_timer_destroy(timer);
    dm_templates_free(t);
    dm_policy_free(pol);
    dm_mime_shutdown();
    return c.bad > 0 || c.messages == 0 ? 1 : 0;
}
