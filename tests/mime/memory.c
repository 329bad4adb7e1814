/*
 * mime_memory: what reading and copying one large message costs in
 * memory, the way the daemon does it for a message spilled to disk.
 *
 *   build/mime_memory MESSAGE [COPY-OUT]
 *
 * Opens MESSAGE as the milter opens its spill file (a file stream with
 * bounds), extracts it (dm_mime_extract), then composes the registrator
 * copy into COPY-OUT (default /dev/null) as the spool does, through a
 * file stream.  Prints the resident set size (VmRSS, VmHWM from
 * /proc/self/status) after each step, in kB:
 *
 *   start 2100 extract 2900 copy 3100 peak 3300 text 81234 attachments 1
 *
 * "peak" is the high-water mark of the whole run.  Exit status 1 when a
 * step failed.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_mime.h"

static long dm_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    const char *path, *out_path;
    dm_mime_limits lim;
    dm_conf *conf;
    dm_templates *t;
    GError *err = NULL;
    GMimeStream *in, *out;
    struct stat st;
    dm_msg *m;
    dm_verdict *v;
    long start, after_extract, after_copy;
    int fd, ofd;
    char *dir;
    const char *src = getenv("DM_SRCDIR");

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: mime_memory MESSAGE [COPY-OUT]\n");
        return 2;
    }
    path = argv[1];
    out_path = argc > 2 ? argv[2] : "/dev/null";
    dm_mime_init();
    conf = dm_conf_new_defaults();
    dm_mime_limits_from_conf(conf, &lim);
    dm_conf_unref(conf);
    dir = g_build_filename(src != NULL ? src : ".", "etc", "templates", NULL);
    t = dm_templates_load(dir, DM_LANG_SV, &err);
    g_free(dir);
    if (t == NULL) {
        fprintf(stderr, "mime_memory: templates: %s\n", err->message);
        return 1;
    }
    start = dm_status_kb("VmRSS");

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        return 1;
    }
    /* As dm_msgctx_stream does for a spilled message. */
    in = g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)st.st_size);
    m = dm_mime_extract(in, &lim);
    after_extract = dm_status_kb("VmRSS");

    ofd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (ofd < 0) {
        perror(out_path);
        return 1;
    }
    out = g_mime_stream_fs_new(ofd);
    v = dm_verdict_new();
    v->klass = DM_CLASS_REGISTRERAS;
    {
        char *rcpts[] = {"kommun@sjovik.test", NULL};
        dm_compose_info ci = {.id = "memory00000000000000",
                              .env_from = "a@invanare.example",
                              .rcpts = rcpts,
                              .n_rcpts = 1,
                              .msg = m,
                              .verdict = v,
                              .sha256 = "0",
                              .from_header = "Diariemilter <postmaster@sjovik.test>",
                              .now = 1700000000};

        g_mime_stream_reset(in);
        if (!dm_mime_write_copy(out, &ci, "registrator@sjovik.test", in, t, &err)) {
            fprintf(stderr, "mime_memory: copy: %s\n", err->message);
            return 1;
        }
    }
    after_copy = dm_status_kb("VmRSS");
    printf("size %lld start %ld extract %ld copy %ld peak %ld text %zu attachments %u\n",
           (long long)st.st_size, start, after_extract, after_copy, dm_status_kb("VmHWM"),
           m->text->len, m->attachments->len);
    g_object_unref(out);
    g_object_unref(in);
    dm_verdict_free(v);
    dm_msg_free(m);
    dm_templates_free(t);
    dm_mime_shutdown();
    return 0;
}
