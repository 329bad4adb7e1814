/*
 * diariectl fit: the labelled cases.  Every message of a set is read once
 * with the daemon's own code (parties resolved in the directory, text
 * extracted, signals computed) and its verdict under each class its
 * content may get graded as ../shared/tools/corpus-eval grades it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dm_ctl_fit_int.h"
#include "dm_util.h"

const dm_class dm_fit_out_class[DM_FIT_OUT_N] = {DM_CLASS_REGISTRERAS, DM_CLASS_ALLMAN,
                                                 DM_CLASS_RINGA, DM_CLASS_PARTI, DM_CLASS_PRIVAT};

int dm_fit_out_of_class(dm_class c)
{
    for (int o = 0; o < DM_FIT_OUT_N; o++) {
        if (dm_fit_out_class[o] == c)
            return o;
    }
    return DM_FIT_OUT_ALLMAN;
}

void dm_fit_case_free(gpointer p)
{
    dm_fit_case *c = p;

    dm_features_free(c->x);
    if (c->facts_ok)
        dm_engine_facts_clear(&c->facts);
    dm_msg_free(c->msg);
    g_free(c->id);
    g_free(c);
}

static gint dm_fit_strcmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A cell of cases.tsv as a set of lowercase addresses ("-": none). */
static GPtrArray *dm_fit_addrs(const char *cell)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    char **parts;

    if (cell == NULL || strcmp(cell, "-") == 0 || *cell == '\0')
        return out;
    parts = g_strsplit(cell, ",", -1);
    for (char **p = parts; *p != NULL; p++) {
        char *a = g_ascii_strdown(g_strstrip(*p), -1);
        bool dup = false;
        for (guint i = 0; i < out->len && !dup; i++)
            dup = strcmp(g_ptr_array_index(out, i), a) == 0;
        if (*a == '\0' || dup)
            g_free(a);
        else
            g_ptr_array_add(out, a);
    }
    g_strfreev(parts);
    g_ptr_array_sort(out, dm_fit_strcmp);
    return out;
}

/* Do the verdict's actions of type t go to exactly the addresses of cell? */
static bool dm_fit_actions_match(const dm_verdict *v, const char *type, const char *cell)
{
    GPtrArray *want = dm_fit_addrs(cell);
    guint got = 0;
    bool ok = true;

    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        bool found = false;
        if (strcmp(dm_action_type_name(a->type), type) != 0)
            continue;
        got++;
        for (guint j = 0; j < want->len && !found; j++)
            found = g_ascii_strcasecmp(g_ptr_array_index(want, j), a->to) == 0;
        ok &= found;
    }
    /* dm_verdict_add_action keeps one action per type and address. */
    ok &= got == want->len;
    g_ptr_array_free(want, TRUE);
    return ok;
}

/* Grade a verdict as corpus-eval does. */
static void dm_fit_grade(const char *const *row, const dm_verdict *v, bool *exact, bool *leak,
                         bool *got_reg)
{
    static const char *const types[] = {"copy", "notice", "forward", "manager_notice"};
    bool want_reject = g_ascii_strcasecmp(row[11], "yes") == 0;
    bool want_private = strcmp(row[5], "privat") == 0 || strcmp(row[5], "parti") == 0;

    *got_reg = !v->reject && v->klass == DM_CLASS_REGISTRERAS;
    *leak = false;
    *exact = want_reject == v->reject;
    if (want_reject || v->reject)
        return;
    *exact &= strcmp(dm_class_name(v->klass), row[5]) == 0;
    *exact &= (g_ascii_strcasecmp(row[6], "yes") == 0) == v->sekretess;
    for (guint t = 0; t < G_N_ELEMENTS(types); t++)
        *exact &= dm_fit_actions_match(v, types[t], row[7 + t]);
    if (want_private) {
        *leak = v->klass == DM_CLASS_REGISTRERAS || v->klass == DM_CLASS_ALLMAN ||
                dm_verdict_count_actions(v, DM_ACT_COPY) > 0 ||
                dm_verdict_count_actions(v, DM_ACT_FORWARD) > 0;
    }
}

static void dm_fit_case_costs(const dm_fit_ctx *ctx, dm_fit_case *c)
{
    for (int o = 0; o < DM_FIT_OUT_N; o++) {
        double cost = 0;
        if (!c->exact[o]) {
            cost = ctx->costs.other;
            if (c->leak[o])
                cost += ctx->costs.leak;
            if (c->want_reg && !c->got_reg[o])
                cost += ctx->costs.missed;
        }
        c->cost[o] = cost;
    }
}

/* One row of cases.tsv: read, resolve, extract, grade every outcome. */
static bool dm_fit_read_case(dm_fit_ctx *ctx, const char *dir, char **row, guint set, GError **err)
{
    dm_fit_case *c = g_new0(dm_fit_case, 1);
    dm_envelope *env = dm_envelope_new();
    GPtrArray *rcpts = dm_fit_addrs(row[2]);
    char *path = g_strdup_printf("%s/%s.eml", dir, row[0]);
    GMimeStream *stream = NULL;
    dm_verdict *v = NULL;
    int64_t now;
    int fd;
    bool ok = false;

    c->id = g_strdup(row[0]);
    c->set = set;
    c->want_reg = strcmp(row[5], "registreras") == 0;
    g_ptr_array_add(ctx->cases, c);
    if (!dm_time_parse_iso8601(row[4], &now)) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: \"now\" is not ISO 8601", c->id);
        goto out;
    }
    g_free(env->from);
    env->from = strcmp(row[1], "<>") == 0 ? g_strdup("") : dm_addr_normalize(row[1]);
    for (guint i = 0; i < rcpts->len; i++)
        dm_envelope_add_rcpt(env, g_ptr_array_index(rcpts, i));
    if (*row[3] != '\0' && strcmp(row[3], "-") != 0)
        env->auth = g_strdup(row[3]);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        goto out;
    }
    stream = g_mime_stream_fs_new(fd);
    if (!dm_engine_resolve(ctx->e, env, now, &c->facts, err)) {
        dm_engine_facts_clear(&c->facts);
        goto out;
    }
    c->facts_ok = true;
    v = dm_engine_check_mass(ctx->e, &c->facts);
    if (v == NULL) {
        dm_verdict_free(dm_engine_decide(ctx->e, &c->facts, stream, &c->msg));
        c->facts.msg = c->msg;
        c->x = dm_policy_features(ctx->pol, &c->facts);
    }
    if (v != NULL || c->x == NULL) {
        if (v == NULL)
            v = dm_policy_decide(ctx->pol, &c->facts);
        c->constant = true;
        dm_fit_grade((const char *const *)row, v, &c->exact[0], &c->leak[0], &c->got_reg[0]);
        for (int o = 1; o < DM_FIT_OUT_N; o++) {
            c->exact[o] = c->exact[0];
            c->leak[o] = c->leak[0];
            c->got_reg[o] = c->got_reg[0];
        }
        c->loaded = 0;
    } else {
        double *w = g_new(double, ctx->np);
        for (int o = 0; o < DM_FIT_OUT_N; o++) {
            dm_verdict *vo = dm_policy_decide_as(ctx->pol, &c->facts, c->x, dm_fit_out_class[o]);
            dm_fit_grade((const char *const *)row, vo, &c->exact[o], &c->leak[o], &c->got_reg[o]);
            dm_verdict_free(vo);
        }
        dm_policy_params(ctx->pol, w);
        c->loaded = dm_fit_out_of_class(dm_policy_content_class(ctx->pol, w, c->x, NULL));
        g_free(w);
    }
    dm_fit_case_costs(ctx, c);
    ok = true;
out:
    dm_verdict_free(v);
    if (stream != NULL)
        g_object_unref(stream);
    g_ptr_array_free(rcpts, TRUE);
    dm_envelope_free(env);
    g_free(path);
    return ok;
}

/* A set: DIR, or DIR:FIRST-LAST for the cases with ids FIRST to LAST
 * (compared as strings: d101-d140). */
bool dm_fit_read_set(dm_fit_ctx *ctx, const char *spec, GError **err)
{
    char *dir = g_strdup(spec), *colon, *first = NULL, *last = NULL, *path, *text = NULL;
    char **lines = NULL;
    dm_fit_set *set = g_new0(dm_fit_set, 1);
    bool ok = false;

    colon = strrchr(dir, ':');
    if (colon != NULL && strchr(colon, '-') != NULL && strchr(colon, '/') == NULL) {
        *colon = '\0';
        first = colon + 1;
        last = strchr(first, '-');
        *last++ = '\0';
    }
    {
        char *base = g_path_get_basename(dir);
        set->name = first != NULL ? g_strdup_printf("%s %s-%s", base, first, last) : g_strdup(base);
        g_free(base);
    }
    g_ptr_array_add(ctx->sets, set);
    path = g_build_filename(dir, "cases.tsv", NULL);
    if (!g_file_get_contents(path, &text, NULL, err))
        goto out;
    lines = g_strsplit(text, "\n", -1);
    for (char **l = lines; *l != NULL; l++) {
        char **row;
        if (l == lines || **l == '\0')
            continue; /* the column names; the last newline */
        row = g_strsplit(g_strchomp(*l), "\t", -1);
        if (g_strv_length(row) < 12) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: a row of %u columns", path,
                        g_strv_length(row));
            g_strfreev(row);
            goto out;
        }
        if (first != NULL && (strcmp(row[0], first) < 0 || strcmp(row[0], last) > 0)) {
            g_strfreev(row);
            continue;
        }
        if (!dm_fit_read_case(ctx, dir, row, ctx->sets->len - 1, err)) {
            g_strfreev(row);
            goto out;
        }
        set->n++;
        g_strfreev(row);
    }
    ok = true;
out:
    g_strfreev(lines);
    g_free(text);
    g_free(path);
    g_free(dir);
    return ok;
}
