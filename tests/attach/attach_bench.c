/*
 * What reading attachments costs, beside GMime's parse (bench/attach.sh).
 *
 *   build/attach_bench [-n REPEAT] -x EXTRACTOR MESSAGE.eml...
 *   build/attach_bench [-n REPEAT] -x EXTRACTOR -l LIST      (a total)
 *
 * For each message, REPEAT times (default 5), in CPU time (user + system):
 *   parse    dm_mime_extract without attachment reading (GMime, the text
 *            parts): what every message costs today;
 *   daemon   the same with reading (the pool started no worker ahead, so
 *            the cost of starting one is in here): the daemon's own share;
 *   readers  the reader processes' whole lives (started, read, exited),
 *            from wait4();
 * the median of each, and per MB of message.  "extra" is daemon - parse +
 * readers: what reading the attachments adds.  A message without
 * attachments must add nothing, and start no reader ("started" 0).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_extract.h"
#include "dm_mime.h"

static double cpu_ms(int who)
{
    struct rusage ru;

    getrusage(who, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct {
    double parse, daemon, readers;
    int started; /* readers started for one reading */
    guint attachments, read;
} cost;

static void measure(const char *data, size_t len, dm_mime_limits *plain, dm_extract_pool *pool,
                    int repeat, cost *c)
{
    double *p = g_new(double, repeat), *d = g_new(double, repeat), *r = g_new(double, repeat);
    dm_mime_limits with = *plain;

    with.extract = pool;
    memset(c, 0, sizeof *c);
    for (int i = 0; i < repeat; i++) {
        double t0 = cpu_ms(RUSAGE_SELF), t1, c0, t2;
        dm_msg *m = dm_mime_extract_buffer(data, len, plain);

        t1 = cpu_ms(RUSAGE_SELF);
        dm_msg_free(m);
        p[i] = t1 - t0;
        c0 = cpu_ms(RUSAGE_CHILDREN);
        t1 = cpu_ms(RUSAGE_SELF);
        m = dm_mime_extract_buffer(data, len, &with);
        t2 = cpu_ms(RUSAGE_SELF);
        d[i] = t2 - t1;
        r[i] = cpu_ms(RUSAGE_CHILDREN) - c0;
        c->attachments = m->attachments->len;
        c->read = 0;
        c->started = 0;
        for (guint k = 0; k < m->attachments->len; k++) {
            const dm_attachment *a = g_ptr_array_index(m->attachments, k);
            if (a->status == DM_ATT_READ)
                c->read++;
            if (a->status != DM_ATT_UNSUPPORTED && a->status != DM_ATT_NOT_TRIED &&
                !(a->format != NULL && (strcmp(a->format, "text") == 0 ||
                                        strcmp(a->format, "html") == 0)))
                c->started++;
        }
        dm_msg_free(m);
    }
    c->parse = median(p, repeat);
    c->daemon = median(d, repeat);
    c->readers = median(r, repeat);
    g_free(p);
    g_free(d);
    g_free(r);
}

int main(int argc, char **argv)
{
    const char *extractor = NULL, *list = NULL;
    int repeat = 5, opt;
    dm_conf *conf;
    dm_extract_conf xc;
    dm_extract_pool *pool;
    dm_mime_limits lim;
    GPtrArray *files = g_ptr_array_new_with_free_func(g_free);

    while ((opt = getopt(argc, argv, "n:x:l:")) != -1) {
        switch (opt) {
        case 'n': repeat = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
        case 'x': extractor = optarg; break;
        case 'l': list = optarg; break;
        default:
            fprintf(stderr, "usage: attach_bench [-n REPEAT] -x EXTRACTOR (-l LIST | MESSAGE...)\n");
            return 64;
        }
    }
    if (extractor == NULL)
        return 64;
    for (int i = optind; i < argc; i++)
        g_ptr_array_add(files, g_strdup(argv[i]));
    if (list != NULL) {
        char *text = NULL, **lines;

        if (!g_file_get_contents(list, &text, NULL, NULL))
            return 66;
        lines = g_strsplit(text, "\n", -1);
        for (char **p = lines; *p != NULL; p++) {
            if (**p != '\0')
                g_ptr_array_add(files, g_strdup(*p));
        }
        g_strfreev(lines);
        g_free(text);
    }
    dm_mime_init();
    conf = dm_conf_new_defaults();
    dm_mime_limits_from_conf(conf, &lim);
    dm_extract_conf_from(conf, &xc);
    xc.extractor = (char *)extractor;
    pool = dm_extract_pool_new(&xc, false);

    if (list == NULL)
        printf("%-34s %8s %5s %7s %8s %8s %8s %8s %9s\n", "message", "KB", "att", "read",
               "parse", "daemon", "readers", "extra", "extra/MB");
    {
        double tp = 0, td = 0, tr = 0, mb = 0;
        guint n_att = 0, n_read = 0, n_msgs_att = 0;
        int started = 0;

        for (guint i = 0; i < files->len; i++) {
            const char *f = g_ptr_array_index(files, i);
            char *data = NULL;
            gsize len = 0;
            cost c;

            if (!g_file_get_contents(f, &data, &len, NULL)) {
                fprintf(stderr, "attach_bench: cannot read %s\n", f);
                continue;
            }
            measure(data, len, &lim, pool, list != NULL ? 3 : repeat, &c);
            if (list == NULL) {
                double extra = c.daemon - c.parse + c.readers;
                char *base = g_path_get_basename(f);
                printf("%-34s %8.1f %5u %3u/%-3d %8.2f %8.2f %8.2f %8.2f %9.2f\n", base,
                       len / 1024.0, c.attachments, c.read, c.started, c.parse, c.daemon,
                       c.readers, extra, extra / (len / 1048576.0));
                g_free(base);
            }
            tp += c.parse;
            td += c.daemon;
            tr += c.readers;
            mb += len / 1048576.0;
            n_att += c.attachments;
            n_read += c.read;
            n_msgs_att += c.started > 0;
            started += c.started;
            g_free(data);
        }
        if (list != NULL)
            printf("%u messages, %.1f MB; %u attachments, %u read, %d readers started (in %u "
                   "messages)\nCPU ms: parse %.0f, with reading %.0f in the daemon + %.0f in the "
                   "readers; extra %.0f ms in all, %.2f ms per message, %.2f ms per MB\n",
                   files->len, mb, n_att, n_read, started, n_msgs_att, tp, td, tr,
                   td - tp + tr, (td - tp + tr) / MAX(files->len, 1), (td - tp + tr) / MAX(mb, 1e-9));
    }
    dm_extract_pool_free(pool);
    dm_conf_unref(conf);
    dm_mime_shutdown();
    g_ptr_array_free(files, TRUE);
    return 0;
}
