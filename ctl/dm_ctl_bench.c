/*
 * diariectl bench: how fast one thread parses, extracts and classifies.
 *
 *   diariectl bench [-c FILE] [--parse-only] [--repeat N] DIR|FILE...
 *
 * Every message is read into memory first; then, for each phase, all of
 * them are run through it on this thread, best of N rounds:
 *
 *   parse                     GMime's parser alone (the message structure)
 *   parse + extract           dm_mime_extract: text, headers, markers
 *   parse + extract + classify   dm_engine_decide: the rules as well
 *   classify alone            dm_policy_decide on messages extracted
 *                             before the clock starts
 *
 * Offline: no directory (every party unknown), the diarium as the
 * configuration's database holds it (none when it does not exist), and a
 * synthetic envelope from a citizen to the municipality's mailbox.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dm_ctl.h"
#include "dm_util.h"

typedef struct {
    GPtrArray *msgs;  /* GByteArray * */
    GPtrArray *names; /* char *: the file each came from */
    guint64 bytes;
} dm_bench_set;

static void dm_bench_add_file(dm_bench_set *set, const char *path)
{
    char *data = NULL;
    gsize len = 0;
    GError *err = NULL;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "diariectl bench: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return;
    }
    g_ptr_array_add(set->msgs, g_byte_array_new_take((guint8 *)data, len));
    g_ptr_array_add(set->names, g_strdup(path));
    set->bytes += len;
}

static gint dm_bench_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void dm_bench_add(dm_bench_set *set, const char *path)
{
    GDir *d;
    const char *name;
    GPtrArray *names;

    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        dm_bench_add_file(set, path);
        return;
    }
    d = g_dir_open(path, 0, NULL);
    if (d == NULL) {
        fprintf(stderr, "diariectl bench: %s: cannot read the folder\n", dm_ctl_safe(path));
        return;
    }
    names = g_ptr_array_new_with_free_func(g_free);
    while ((name = g_dir_read_name(d)) != NULL) {
        if (name[0] != '.')
            g_ptr_array_add(names, g_build_filename(path, name, NULL));
    }
    g_dir_close(d);
    g_ptr_array_sort(names, dm_bench_cmp);
    for (guint i = 0; i < names->len; i++) {
        const char *p = g_ptr_array_index(names, i);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR))
            dm_bench_add_file(set, p);
    }
    g_ptr_array_free(names, TRUE);
}

/* A stream over the message without copying it. */
static GMimeStream *dm_bench_stream(GByteArray *ba)
{
    GMimeStream *s = g_mime_stream_mem_new_with_byte_array(ba);

    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    return s;
}

typedef enum {
    DM_PHASE_PARSE,
    DM_PHASE_EXTRACT,
    DM_PHASE_CLASSIFY,
    DM_PHASE_RULES,
    DM_PHASE_N
} dm_phase;

static const char *const dm_phase_names[DM_PHASE_N] = {
    "parse (GMime alone)",
    "parse + extract",
    "parse + extract + classify",
    "classify alone (extracted)",
};

/* One round of one phase over every message; seconds.  extracted: the
 * messages' dm_msg, for the rules alone. */
static double dm_bench_round(dm_engine *e, dm_facts *f, const dm_bench_set *set, dm_phase ph,
                             guint *classes, dm_msg **extracted, bool print)
{
    gint64 t0 = g_get_monotonic_time();

    if (ph == DM_PHASE_RULES) {
        for (guint i = 0; i < set->msgs->len; i++) {
            dm_verdict *v;
            f->msg = extracted[i];
            v = dm_policy_decide(dm_engine_policy(e), f);
            f->msg = NULL;
            dm_verdict_free(v);
        }
        return (double)(g_get_monotonic_time() - t0) / 1e6;
    }
    for (guint i = 0; i < set->msgs->len; i++) {
        GMimeStream *s = dm_bench_stream(g_ptr_array_index(set->msgs, i));

        switch (ph) {
        case DM_PHASE_PARSE: {
            GMimeParser *parser = g_mime_parser_new_with_stream(s);
            GMimeMessage *m;
            g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
            g_mime_parser_set_persist_stream(parser, TRUE);
            m = g_mime_parser_construct_message(parser, NULL);
            if (m != NULL)
                g_object_unref(m);
            g_object_unref(parser);
            break;
        }
        case DM_PHASE_EXTRACT:
            dm_msg_free(dm_mime_extract(s, dm_engine_limits(e)));
            break;
        case DM_PHASE_CLASSIFY: {
            dm_verdict *v = dm_engine_decide(e, f, s, NULL);
            if (classes != NULL && v->klass >= DM_CLASS_PRIVAT && v->klass <= DM_CLASS_REGISTRERAS)
                classes[v->klass]++;
            if (print) {
                printf("%-11s %s", dm_class_name(v->klass),
                       dm_ctl_safe((const char *)g_ptr_array_index(set->names, i)));
                for (guint j = 0; j < v->reasons->len; j++) {
                    const dm_reason *r = g_ptr_array_index(v->reasons, j);
                    printf("  [%s] %s", dm_ctl_safe(r->rule), dm_ctl_safe(r->text));
                }
                printf("\n");
            }
            dm_verdict_free(v);
            break;
        }
        case DM_PHASE_RULES:
        case DM_PHASE_N:
            break;
        }
        g_object_unref(s);
    }
    return (double)(g_get_monotonic_time() - t0) / 1e6;
}

int dm_ctl_bench(int argc, char **argv)
{
    char *conf_path = NULL, *from = NULL, *rcpt = NULL;
    char **files = NULL;
    gboolean parse_only = FALSE, print = FALSE;
    gint repeat = 3;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"parse-only", 0, 0, G_OPTION_ARG_NONE, &parse_only, "time GMime's parser only", NULL},
        {"print", 0, 0, G_OPTION_ARG_NONE, &print,
         "print each message's class and reasons (first round)", NULL},
        {"repeat", 'n', 0, G_OPTION_ARG_INT, &repeat, "rounds per phase, the best counts (3)",
         "N"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &from,
         "envelope sender (medborgare@example.com)", "ADDR"},
        {"rcpt", 0, 0, G_OPTION_ARG_STRING, &rcpt, "envelope recipient (kommun@sjovik.test)",
         "ADDR"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "DIR|FILE..."},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new("DIR|FILE...");
    GError *err = NULL;
    dm_conf *conf = NULL;
    dm_engine *e = NULL;
    dm_envelope *env = NULL;
    dm_facts facts;
    bool facts_ok = false;
    dm_bench_set set = {.msgs = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref),
                        .names = g_ptr_array_new_with_free_func(g_free)};
    double best[DM_PHASE_N] = {0};
    dm_msg **extracted = NULL;
    guint classes[DM_CLASS_REGISTRERAS + 1] = {0};
    int rc = DM_EX_SOFTWARE;
    double mb;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(
        oc, "Time parsing, extraction and classification of messages on one thread,\n"
            "offline (no directory), best of --repeat rounds per phase.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl bench: %s\n", dm_ctl_safe(err->message));
        rc = DM_EX_USAGE;
        goto out;
    }
    if (files == NULL || files[0] == NULL || repeat < 1) {
        fprintf(stderr, "diariectl bench: need messages (a folder or files; see --help)\n");
        rc = DM_EX_USAGE;
        goto out;
    }
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    dm_mime_init();
    e = dm_engine_new(conf, DM_ENGINE_OFFLINE | DM_ENGINE_NO_SPOOL | DM_ENGINE_READONLY, NULL,
                      &err);
    if (e == NULL) {
        fprintf(stderr, "diariectl bench: %s\n", dm_ctl_safe(err->message));
        rc = DM_EX_CONFIG;
        goto out;
    }
    for (char **f = files; *f != NULL; f++)
        dm_bench_add(&set, *f);
    if (set.msgs->len == 0) {
        fprintf(stderr, "diariectl bench: no messages\n");
        rc = DM_EX_NOINPUT;
        goto out;
    }

    env = dm_envelope_new();
    g_free(env->from);
    env->from = dm_addr_normalize(from != NULL ? from : "medborgare@example.com");
    dm_envelope_add_rcpt(env, rcpt != NULL ? rcpt : "kommun@sjovik.test");
    if (!dm_engine_resolve(e, env, g_get_real_time() / G_USEC_PER_SEC, &facts, &err)) {
        fprintf(stderr, "diariectl bench: %s\n", dm_ctl_safe(err->message));
        dm_engine_facts_clear(&facts);
        goto out;
    }
    facts_ok = true;

    if (!parse_only) {
        extracted = g_new0(dm_msg *, set.msgs->len);
        for (guint i = 0; i < set.msgs->len; i++) {
            GMimeStream *s = dm_bench_stream(g_ptr_array_index(set.msgs, i));
            extracted[i] = dm_mime_extract(s, dm_engine_limits(e));
            g_object_unref(s);
        }
    }
    /* Rounds outside, phases inside: a busy machine slows every phase
     * alike, and the best round of each is compared. */
    for (int r = 0; r < repeat; r++) {
        for (int ph = 0; ph < DM_PHASE_N; ph++) {
            double s;
            if (parse_only && ph != DM_PHASE_PARSE)
                break;
            s = dm_bench_round(e, &facts, &set, (dm_phase)ph,
                               ph == DM_PHASE_CLASSIFY && r == 0 ? classes : NULL, extracted,
                               print && ph == DM_PHASE_CLASSIFY && r == 0);
            if (r == 0 || s < best[ph])
                best[ph] = s;
        }
    }

    mb = (double)set.bytes / 1e6;
    printf("%u messages, %.1f MB, one thread, best of %d rounds\n", set.msgs->len, mb, repeat);
    printf("%-28s %8s %10s %9s %9s\n", "phase", "seconds", "msgs/s", "MB/s", "us/msg");
    for (int ph = 0; ph < DM_PHASE_N; ph++) {
        if (parse_only && ph != DM_PHASE_PARSE)
            break;
        printf("%-28s %8.3f %10.0f %9.1f %9.1f\n", dm_phase_names[ph], best[ph],
               set.msgs->len / best[ph], mb / best[ph], 1e6 * best[ph] / set.msgs->len);
    }
    if (!parse_only) {
        double ext = best[DM_PHASE_EXTRACT] - best[DM_PHASE_PARSE];

        printf("%-28s %8.3f %10s %9s %9.1f\n", "extract alone (difference)", ext, "", "",
               1e6 * ext / set.msgs->len);
        printf("classify / parse = %.2f  (classify alone / parse alone)\n",
               best[DM_PHASE_RULES] / best[DM_PHASE_PARSE]);
        printf("classes:");
        for (int c = DM_CLASS_REGISTRERAS; c >= DM_CLASS_PRIVAT; c--)
            printf(" %s %u", dm_class_name((dm_class)c), classes[c]);
        printf("\n");
    }
    rc = DM_EX_OK;
out:
    for (guint i = 0; extracted != NULL && i < set.msgs->len; i++)
        dm_msg_free(extracted[i]);
    g_free(extracted);
    if (facts_ok)
        dm_engine_facts_clear(&facts);
    if (err != NULL)
        g_error_free(err);
    g_ptr_array_free(set.msgs, TRUE);
    g_ptr_array_free(set.names, TRUE);
    dm_envelope_free(env);
    dm_engine_unref(e);
    dm_conf_unref(conf);
    g_strfreev(files);
    g_free(conf_path);
    g_free(from);
    g_free(rcpt);
    g_option_context_free(oc);
    return rc;
}
