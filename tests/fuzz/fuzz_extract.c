/*
 * libFuzzer target over parsing and extraction:
 *
 *   dm_mime_extract on the bytes as a message (default limits with the
 *   auto-reply subjects and the segment words of DM_SRCDIR/etc/rules.conf,
 *   and tiny ones for every other input, so that every limit path runs;
 *   text parts read in tiny chunks for every third), every string it
 *   gives checked to be valid UTF-8 without a NUL, the segments (the
 *   document model) within max_text together;
 *   dm_mime_html_to_text and dm_mime_to_utf8 (under a charset picked by
 *   the first byte) on the same bytes;
 *   the registrator copy of the bytes (when the templates are found:
 *   DM_SRCDIR, default "."), wrapped and redirected (with a loop token),
 *   written to nowhere; the file name made of the subject checked to be
 *   valid UTF-8 without a slash or control character.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by "make
 * build/fuzz/fuzz_extract"; run by tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm_conf.h"
#include "dm_mime.h"
#include "dm_mime_int.h"
#include "dm_policy.h"

static dm_mime_limits dm_lim, dm_tiny = {.max_text = 64, .max_parts = 3, .max_depth = 2,
                                         .max_headers = 5, .max_header_size = 16};
static dm_templates *dm_tpl;
static dm_policy *dm_pol; /* etc/rules.conf's auto-reply subjects, as the daemon reads */
static dm_conf *dm_redirect; /* [delivery] copy_form = redirect */

static void dm_valid(const char *what, const char *s, gssize len)
{
    if (s != NULL && !g_utf8_validate(s, len, NULL)) {
        fprintf(stderr, "fuzz_extract: %s is not valid UTF-8\n", what);
        abort();
    }
    if (s != NULL && len >= 0 && strlen(s) != (size_t)len) {
        fprintf(stderr, "fuzz_extract: %s holds a NUL\n", what);
        abort();
    }
}

static void dm_check(const dm_msg *m, const dm_mime_limits *lim)
{
    if (m->subject == NULL || m->from_addr == NULL || m->from_display == NULL ||
        m->message_id == NULL)
        abort();
    dm_valid("subject", m->subject, -1);
    dm_valid("from", m->from_addr, -1);
    dm_valid("from display", m->from_display, -1);
    dm_valid("message-id", m->message_id, -1);
    dm_valid("date", m->date, -1);
    dm_valid("in-reply-to", m->in_reply_to, -1);
    dm_valid("references", m->references, -1);
    dm_valid("auto-submitted", m->auto_submitted, -1);
    dm_valid("list-id", m->list_id, -1);
    dm_valid("report type", m->report_type, -1);
    dm_valid("text", m->text->str, (gssize)m->text->len);
    if (m->text->len > lim->max_text) {
        fprintf(stderr, "fuzz_extract: text over max_text\n");
        abort();
    }
    for (guint i = 0, total = 0; i < m->segments->len; i++) {
        const dm_segment *g = g_ptr_array_index(m->segments, i);
        if ((unsigned)g->kind >= DM_SEG_KINDS || g->len == 0)
            abort();
        total += (guint)g->len;
        if (total > lim->max_text) {
            fprintf(stderr, "fuzz_extract: segments over max_text\n");
            abort();
        }
        dm_valid("segment", g->text, (gssize)g->len);
        dm_valid("segment source", g->source, -1);
        dm_valid("segment language", g->lang, -1);
    }
    if (m->headers->len > (guint)lim->max_headers)
        abort();
    for (guint i = 0; i < m->headers->len; i++) {
        const dm_header *h = g_ptr_array_index(m->headers, i);
        dm_valid("header name", h->name, -1);
        dm_valid("header value", h->value, -1);
        if (strlen(h->value) > lim->max_header_size)
            abort();
    }
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        if (a->content_type == NULL)
            abort();
        dm_valid("attachment type", a->content_type, -1);
        dm_valid("attachment name", a->filename, -1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    dm_conf *conf;
    const char *src = getenv("DM_SRCDIR");
    char *dir;

    (void)argc;
    (void)argv;
    dm_mime_init();
    conf = dm_conf_new_defaults();
    dm_mime_limits_from_conf(conf, &dm_lim);
    g_free(conf->rules_file);
    conf->rules_file = g_build_filename(src != NULL ? src : ".", "etc", "rules.conf", NULL);
    g_free(conf->templates);
    conf->templates = g_build_filename(src != NULL ? src : ".", "etc", "templates", NULL);
    dm_pol = dm_policy_new(conf, NULL);
    if (dm_pol != NULL) {
        dm_lim.autoreply_subjects = dm_tiny.autoreply_subjects =
            dm_policy_autoreply_subjects(dm_pol);
        dm_lim.words = dm_tiny.words = dm_policy_seg_words(dm_pol);
    }
    dm_conf_unref(conf);
    dir = g_build_filename(src != NULL ? src : ".", "etc", "templates", NULL);
    dm_tpl = dm_templates_load(dir, DM_LANG_SV, NULL);
    g_free(dir);
    dm_redirect = dm_conf_new_defaults();
    dm_redirect->copy_form = DM_COPY_REDIRECT;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const charsets[] = {
        NULL,     "utf-8",       "iso-8859-1", "windows-1252", "utf-16", "big5",
        "gb2312", "iso-2022-jp", "koi8-r",     "x-unknown",    "us-ascii", "utf-32",
    };
    const char *buf = (const char *)data;
    const dm_mime_limits *lim = (size & 1) ? &dm_tiny : &dm_lim;
    dm_msg *m;
    char *s;

    /* A third of the inputs read in tiny chunks: chunk ends everywhere. */
    dm_mime_chunk = size % 3 == 0 ? 1 + size % 61 : 256 * 1024;
    m = dm_mime_extract_buffer(buf, size, lim);
    dm_check(m, lim);

    if (dm_tpl != NULL) {
        GMimeStream *in = g_mime_stream_mem_new_with_buffer(buf, size);
        GMimeStream *out = g_mime_stream_null_new();
        dm_verdict *v = dm_verdict_new();
        char *rcpts[] = {"kommun@sjovik.test", NULL};
        dm_compose_info ci = {.id = "fuzz0000000000000000",
                              .env_from = "a@invanare.example",
                              .rcpts = rcpts,
                              .n_rcpts = 1,
                              .msg = m,
                              .verdict = v,
                              .sha256 = "0",
                              .from_header = "Diariemilter <postmaster@sjovik.test>",
                              .now = 1700000000};

        char *name;

        v->klass = DM_CLASS_REGISTRERAS;
        if (!dm_mime_write_copy(out, &ci, "registrator@sjovik.test", in, dm_tpl, NULL))
            abort();
        ci.conf = dm_redirect;
        ci.loop_key = "a site key of thirty-two bytes!!";
        ci.loop_keylen = 32;
        if (!dm_mime_write_copy(out, &ci, "registrator@sjovik.test", in, dm_tpl, NULL))
            abort();
        name = dm_copy_filename(&ci);
        dm_valid("file name", name, -1);
        for (const char *p = name; *p != '\0'; p++)
            if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
                abort();
        if (!g_str_has_suffix(name, ".eml"))
            abort();
        g_free(name);
        dm_verdict_free(v);
        g_object_unref(out);
        g_object_unref(in);
    }
    dm_msg_free(m);

    s = dm_mime_html_to_text(buf, size);
    dm_valid("html text", s, -1);
    g_free(s);

    s = dm_mime_to_utf8(buf, size, size > 0 ? charsets[data[0] % G_N_ELEMENTS(charsets)] : NULL);
    dm_valid("utf-8", s, -1);
    g_free(s);
    return 0;
}
