/*
 * diariectl fit: the weights and thresholds of the decision ([weights] of
 * the rules file), searched on labelled corpus sets.
 *
 * Every labelled message is read once, with the daemon's own code: its
 * parties resolved in the directory, its text extracted, its signals
 * computed (dm_policy_features).  For each class its content may get,
 * the verdict that class brings (the parties' actions) is graded against
 * the labels as ../shared/tools/corpus-eval grades it: class, sekretess
 * and every action exactly right; registreras recall; privacy leaks.
 * The search then only asks which class the content gets under other
 * weights (dm_policy_content_class, pure and fast): coordinate descent
 * over each weight's grid, on a loss weighed by harm (a privacy leak
 * costs most, a missed registration next, any other error least); of
 * the values equally good, the middle of the widest run (the farthest
 * from tipping over).
 *
 * It prints, per set, the figures of the weights the rules file has, of
 * the weights fitted on all sets, and of the weights fitted on all the
 * other sets (leave one set out: what mail nobody fitted to will see).
 * --write puts the weights fitted on all sets into the rules file.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm_ctl_fit_int.h"
#include "dm_data.h"
#include "dm_util.h"

/* ---- the search --------------------------------------------------------------- */

static inline int dm_fit_outcome(const dm_fit_ctx *ctx, const dm_fit_case *c, const double *w)
{
    if (c->constant)
        return 0;
    return dm_fit_out_of_class(dm_policy_content_class(ctx->pol, w, c->x, NULL));
}

/* The loss over the cases of every set but skip (G_MAXUINT: none). */
static double dm_fit_loss(const dm_fit_ctx *ctx, const double *w, guint skip)
{
    double loss = 0;

    for (guint i = 0; i < ctx->cases->len; i++) {
        const dm_fit_case *c = g_ptr_array_index(ctx->cases, i);
        if (c->set != skip)
            loss += c->cost[dm_fit_outcome(ctx, c, w)];
    }
    return loss;
}

/* Coordinate descent from w (changed in place) on every set but skip. */
static void dm_fit_search(const dm_fit_ctx *ctx, double *w, guint skip)
{
    GArray *grid = g_array_new(FALSE, FALSE, sizeof(double));
    GArray *losses = g_array_new(FALSE, FALSE, sizeof(double));

    for (int pass = 0; pass < ctx->passes; pass++) {
        bool changed = false;

        for (guint k = 0; k < ctx->np; k++) {
            const dm_param_info *pi = dm_policy_param_info(k);
            double keep = w[k], best = G_MAXDOUBLE, pick;
            guint run_start = 0, best_start = 0, best_len = 0, n;
            bool best_has_keep = false;

            if (pi->step <= 0)
                continue;
            /* A value outside the range (a hand-edited file) is brought in. */
            if (keep < pi->lo || keep > pi->hi) {
                keep = CLAMP(keep, pi->lo, pi->hi);
                keep = pi->lo + floor((keep - pi->lo) / pi->step + 0.5) * pi->step;
                changed = true;
            }
            g_array_set_size(grid, 0);
            g_array_set_size(losses, 0);
            for (n = 0;; n++) {
                double v = pi->lo + n * pi->step;
                if (v > pi->hi + 1e-9)
                    break;
                w[k] = v;
                double l = dm_fit_loss(ctx, w, skip);
                g_array_append_val(grid, v);
                g_array_append_val(losses, l);
                if (l < best)
                    best = l;
            }
            /* The widest run of the best loss; of runs as wide, the one
             * holding the present value, else the first. */
            for (guint i = 0; i <= grid->len; i++) {
                bool in = i < grid->len && g_array_index(losses, double, i) <= best + 1e-9;
                if (in && (i == 0 || g_array_index(losses, double, i - 1) > best + 1e-9))
                    run_start = i;
                if (!in && i > 0 && g_array_index(losses, double, i - 1) <= best + 1e-9) {
                    guint len = i - run_start;
                    bool has_keep = keep >= g_array_index(grid, double, run_start) - 1e-9 &&
                                    keep <= g_array_index(grid, double, i - 1) + 1e-9;
                    if (len > best_len || (len == best_len && has_keep && !best_has_keep)) {
                        best_len = len;
                        best_start = run_start;
                        best_has_keep = has_keep;
                    }
                }
            }
            /* A weight the cases do not care about keeps its value: the
             * labels give no reason to move it. */
            if (best_len == grid->len)
                pick = keep;
            else
                pick = g_array_index(grid, double, best_start + (best_len - 1) / 2);
            w[k] = pick;
            if (fabs(pick - keep) > 1e-9)
                changed = true;
        }
        if (!changed)
            break;
    }
    g_array_free(grid, TRUE);
    g_array_free(losses, TRUE);
}

/* A deterministic pseudo-random point of the grid (seeded by the start
 * and the set left out): the descent from one point finds the valley it
 * starts in, not always the deepest. */
static void dm_fit_random_point(const dm_fit_ctx *ctx, double *w, guint start, guint skip)
{
    guint64 x = 0x9e3779b97f4a7c15ull * (start + 1) ^ (0xbf58476d1ce4e5b9ull * (skip + 2));

    for (guint k = 0; k < ctx->np; k++) {
        const dm_param_info *pi = dm_policy_param_info(k);
        guint n;

        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        x ^= x >> 31;
        if (pi->step <= 0)
            continue;
        n = (guint)((pi->hi - pi->lo) / pi->step + 1.5);
        w[k] = pi->lo + (double)(x % n) * pi->step;
    }
}

/* How far w is from w0, in steps. */
static double dm_fit_distance(const dm_fit_ctx *ctx, const double *w, const double *w0)
{
    double d = 0;

    for (guint k = 0; k < ctx->np; k++) {
        const dm_param_info *pi = dm_policy_param_info(k);
        if (pi->step > 0)
            d += fabs(w[k] - w0[k]) / pi->step;
    }
    return d;
}

/* The best of several descents: from the defaults (dm_policy_weights.c)
 * and from pseudo-random points; of fits equally good, the one nearest
 * the defaults.  Whatever the rules file holds, the same labels give the
 * same weights. */
static void dm_fit_best(const dm_fit_ctx *ctx, double *w, guint skip)
{
    double *w0 = g_new(double, ctx->np);
    double *best = g_new(double, ctx->np);
    double *try = g_new(double, ctx->np);
    double best_loss = G_MAXDOUBLE, best_dist = G_MAXDOUBLE;

    for (guint k = 0; k < ctx->np; k++)
        w0[k] = dm_policy_param_info(k)->def;
    memcpy(best, w0, sizeof(double) * ctx->np);
    for (int st = 0; st < ctx->starts; st++) {
        double loss, dist;

        memcpy(try, w0, sizeof(double) * ctx->np);
        if (st > 0)
            dm_fit_random_point(ctx, try, (guint)st, skip);
        dm_fit_search(ctx, try, skip);
        loss = dm_fit_loss(ctx, try, skip);
        dist = dm_fit_distance(ctx, try, w0);
        if (loss < best_loss - 1e-9 || (loss < best_loss + 1e-9 && dist < best_dist)) {
            best_loss = loss;
            best_dist = dist;
            memcpy(best, try, sizeof(double) * ctx->np);
        }
    }
    memcpy(w, best, sizeof(double) * ctx->np);
    g_free(w0);
    g_free(best);
    g_free(try);
}

/* One fit for the thread pool: every set but skip. */
typedef struct {
    const dm_fit_ctx *ctx;
    double *w;
    guint skip;
} dm_fit_job;

static void dm_fit_job_run(gpointer data, gpointer user)
{
    dm_fit_job *j = data;

    (void)user;
    dm_fit_best(j->ctx, j->w, j->skip);
}

/* ---- figures ------------------------------------------------------------------- */

typedef struct {
    guint n, exact, reg_want, reg_hit, leaks;
} dm_fit_fig;

static void dm_fit_add(dm_fit_fig *f, const dm_fit_case *c, int o)
{
    f->n++;
    f->exact += c->exact[o];
    f->reg_want += c->want_reg;
    f->reg_hit += c->want_reg && c->got_reg[o];
    f->leaks += c->leak[o];
}

static void dm_fit_print_fig(const dm_fit_fig *f)
{
    printf("  %5.1f%% %4.2f %3u", f->n ? 100.0 * f->exact / f->n : 100.0,
           f->reg_want ? (double)f->reg_hit / f->reg_want : 1.0, f->leaks);
}

static bool dm_fit_fig_meets(const dm_fit_fig *f)
{
    return f->n == 0 || (f->exact >= 0.9 * f->n - 1e-9 && f->leaks == 0 &&
                         (f->reg_want == 0 || f->reg_hit >= 0.95 * f->reg_want - 1e-9));
}

/* ---- writing the rules file ------------------------------------------------------- */

/* The rules file with its [weights] section (which must be the last)
 * replaced by w. */
static bool dm_fit_write(const dm_fit_ctx *ctx, const char *file, const double *w,
                         const dm_fit_fig *loso, const dm_fit_fig *per_set, GError **err)
{
    char *text = NULL, *at;
    GString *out;
    bool ok;
    guint n = ctx->cases->len;

    /* Read the site's rules, else the shipped ones; write the site's. */
    char *from = dm_data_find_file(file);
    bool read = g_file_get_contents(from, &text, NULL, err);

    g_free(from);
    if (!read)
        return false;
    at = strstr(text, "\n[weights]\n");
    if (at == NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no [weights] section", file);
        g_free(text);
        return false;
    }
    if (strstr(at + 1, "\n[") != NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: [weights] must be the last section (it is written whole)", file);
        g_free(text);
        return false;
    }
    out = g_string_new_len(text, at - text + 1);
    g_string_append(out, "[weights]\n");
    g_string_append_printf(
        out,
        "# Fitted, not set by hand: \"make corpus-fit\" (diariectl fit --write)\n"
        "# searched them by coordinate descent on %u labelled messages in %u "
        "sets",
        n, ctx->sets->len);
    for (guint s = 0, col = 80; s < ctx->sets->len; s++) {
        const char *name = ((dm_fit_set *)g_ptr_array_index(ctx->sets, s))->name;
        if (col + strlen(name) + 2 > 76) {
            g_string_append(out, s == 0 ? ":\n#  " : ",\n#  ");
            col = 3;
        } else {
            g_string_append(out, ",");
        }
        g_string_append_printf(out, " %s", name);
        col += (guint)strlen(name) + 2;
    }
    {
        double lowest = 100;
        for (guint s = 0; s < ctx->sets->len; s++) {
            if (per_set[s].n > 0)
                lowest = MIN(lowest, 100.0 * per_set[s].exact / per_set[s].n);
        }
        g_string_append_printf(
            out,
            ",\n# with a loss weighed by harm (a privacy leak %g, a missed "
            "registration %g,\n# any other error %g).  Each set left out of "
            "the fit in turn and graded\n# with the weights fitted on the "
            "others: %.1f%% exactly right together\n# (the lowest set %.1f%%), "
            "registreras recall %.2f, %u privacy leaks.\n# Change the lists, "
            "then fit again rather than edit these numbers.\n",
            ctx->costs.leak + ctx->costs.other, ctx->costs.missed + ctx->costs.other,
            ctx->costs.other, 100.0 * loso->exact / MAX(loso->n, 1), lowest,
            loso->reg_want ? (double)loso->reg_hit / loso->reg_want : 1.0, loso->leaks);
    }
    for (guint k = 0; k < ctx->np; k++) {
        const dm_param_info *pi = dm_policy_param_info(k);
        char num[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append_printf(out, "# %s\n%s = %s\n", pi->what, pi->key,
                               g_ascii_formatd(num, sizeof num, "%.4g", w[k]));
    }
    ok = g_file_set_contents(file, out->str, (gssize)out->len, err);
    g_string_free(out, TRUE);
    g_free(text);
    return ok;
}

/* ---- the command ------------------------------------------------------------------ */

int dm_ctl_fit(int argc, char **argv)
{
    char *conf_path = NULL, **specs = NULL;
    gboolean write = FALSE, verbose = FALSE, grade = FALSE;
    int passes = 8, starts = 12, threads = 2;
    double leak = 20, missed = 4;
    dm_fit_job *jobs = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"write", 0, 0, G_OPTION_ARG_NONE, &write,
         "write the weights fitted on all sets into the rules file", NULL},
        {"passes", 0, 0, G_OPTION_ARG_INT, &passes, "most passes over the weights (8)", "N"},
        {"starts", 0, 0, G_OPTION_ARG_INT, &starts,
         "descents from different points, the best kept (12)", "N"},
        {"threads", 0, 0, G_OPTION_ARG_INT, &threads, "fits run side by side (2)", "N"},
        {"leak", 0, 0, G_OPTION_ARG_DOUBLE, &leak, "extra cost of a privacy leak (20)", "X"},
        {"missed", 0, 0, G_OPTION_ARG_DOUBLE, &missed, "extra cost of a missed registration (4)",
         "X"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "list the cases each fit gets wrong",
         NULL},
        {"grade", 0, 0, G_OPTION_ARG_NONE, &grade,
         "fit nothing: grade the rules file's weights, one line per set (NAME, cases, "
         "exactly right, registreras wanted and found, leaks)",
         NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &specs, NULL, "SET"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new("SET...  (a folder with cases.tsv, or "
                                              "FOLDER:FIRST-LAST for the ids between)");
    GError *err = NULL;
    dm_conf *conf = NULL;
    dm_fit_ctx ctx = {0};
    double *loaded = NULL, *all = NULL, *w = NULL;
    dm_fit_fig tot_loaded = {0}, tot_all = {0}, tot_loso = {0};
    dm_fit_fig *f_loaded = NULL, *f_all = NULL, *f_loso = NULL;
    int rc = DM_EX_SOFTWARE;
    bool meets = true;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(oc, "Fit the decision's weights on labelled corpus sets.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl fit: %s\n", dm_ctl_safe(err->message));
        rc = DM_EX_USAGE;
        goto out;
    }
    if (specs == NULL || specs[0] == NULL || passes < 1 || starts < 1 || threads < 1 || leak < 0 ||
        missed < 0) {
        fprintf(stderr, "diariectl fit: need at least one set (see --help)\n");
        rc = DM_EX_USAGE;
        goto out;
    }
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    dm_mime_init();
    ctx.e = dm_engine_new(conf, DM_ENGINE_NO_SPOOL | DM_ENGINE_READONLY, NULL, &err);
    if (ctx.e == NULL) {
        fprintf(stderr, "diariectl fit: %s\n", dm_ctl_safe(err->message));
        rc = DM_EX_CONFIG;
        goto out;
    }
    ctx.pol = dm_engine_policy(ctx.e);
    ctx.np = dm_policy_n_params();
    ctx.passes = passes;
    ctx.starts = starts;
    ctx.verbose = verbose;
    ctx.costs = (dm_fit_costs){.leak = leak, .missed = missed, .other = 1};
    ctx.cases = g_ptr_array_new_with_free_func(dm_fit_case_free);
    ctx.sets = g_ptr_array_new();
    for (char **s = specs; *s != NULL; s++) {
        if (!dm_fit_read_set(&ctx, *s, &err)) {
            fprintf(stderr, "diariectl fit: %s\n", dm_ctl_safe(err->message));
            rc = DM_EX_DATAERR;
            goto out;
        }
    }

    loaded = g_new(double, ctx.np);
    all = g_new(double, ctx.np);
    w = g_new(double, ctx.np);
    dm_policy_params(ctx.pol, loaded);
    if (grade) {
        /* What corpus-eval would say of the rules file, as tab-separated
         * figures (tests/corpus/run.sh --check compares the two). */
        f_loaded = g_new0(dm_fit_fig, ctx.sets->len);
        for (guint i = 0; i < ctx.cases->len; i++) {
            const dm_fit_case *c = g_ptr_array_index(ctx.cases, i);
            dm_fit_add(&f_loaded[c->set], c, c->loaded);
            if (verbose && !c->exact[c->loaded])
                printf("wrong: %s as %s\n", dm_ctl_safe(c->id),
                       dm_class_name(dm_fit_out_class[c->loaded]));
        }
        for (guint s = 0; s < ctx.sets->len; s++) {
            const dm_fit_set *set = g_ptr_array_index(ctx.sets, s);
            printf("%s\t%u\t%u\t%u\t%u\t%u\n", dm_ctl_safe(set->name), f_loaded[s].n,
                   f_loaded[s].exact, f_loaded[s].reg_want, f_loaded[s].reg_hit, f_loaded[s].leaks);
        }
        rc = DM_EX_OK;
        goto out;
    }
    memcpy(all, loaded, sizeof(double) * ctx.np);
    /* The fit on all sets and one per set left out, side by side. */
    jobs = g_new0(dm_fit_job, ctx.sets->len + 1);
    {
        GThreadPool *pool = g_thread_pool_new(dm_fit_job_run, NULL, MAX(threads, 1), TRUE, NULL);
        for (guint s = 0; s <= ctx.sets->len; s++) {
            jobs[s].ctx = &ctx;
            jobs[s].skip = s < ctx.sets->len ? s : G_MAXUINT;
            jobs[s].w = g_memdup2(loaded, sizeof(double) * ctx.np);
            g_thread_pool_push(pool, &jobs[s], NULL);
        }
        g_thread_pool_free(pool, FALSE, TRUE);
    }
    memcpy(all, jobs[ctx.sets->len].w, sizeof(double) * ctx.np);
    f_loaded = g_new0(dm_fit_fig, ctx.sets->len);
    f_all = g_new0(dm_fit_fig, ctx.sets->len);
    f_loso = g_new0(dm_fit_fig, ctx.sets->len);
    for (guint i = 0; i < ctx.cases->len; i++) {
        const dm_fit_case *c = g_ptr_array_index(ctx.cases, i);
        int o = dm_fit_outcome(&ctx, c, all);
        dm_fit_add(&f_loaded[c->set], c, c->loaded);
        dm_fit_add(&f_all[c->set], c, o);
        if (verbose && !c->exact[o])
            printf("fitted on all: %s wrong as %s\n", c->id, dm_class_name(dm_fit_out_class[o]));
    }
    for (guint s = 0; s < ctx.sets->len; s++) {
        memcpy(w, jobs[s].w, sizeof(double) * ctx.np);
        for (guint i = 0; i < ctx.cases->len; i++) {
            const dm_fit_case *c = g_ptr_array_index(ctx.cases, i);
            int o;
            if (c->set != s)
                continue;
            o = dm_fit_outcome(&ctx, c, w);
            dm_fit_add(&f_loso[s], c, o);
            if (verbose && !c->exact[o])
                printf("left out: %s wrong as %s\n", c->id, dm_class_name(dm_fit_out_class[o]));
        }
    }

    printf("%u labelled messages in %u sets; %u weights; a case wrong costs 1, a privacy leak "
           "%g more, a missed registration %g more\n\n",
           ctx.cases->len, ctx.sets->len, ctx.np, leak, missed);
    printf("%-24s %5s   %-18s   %-18s   %-18s\n", "", "", "rules file", "fitted on all",
           "left out");
    printf("%-24s %5s   %6s %4s %5s   %6s %4s %5s   %6s %4s %5s\n", "set", "cases", "exact", "rec",
           "leaks", "exact", "rec", "leaks", "exact", "rec", "leaks");
    for (guint s = 0; s < ctx.sets->len; s++) {
        const dm_fit_set *set = g_ptr_array_index(ctx.sets, s);
        printf("%-24s %5u ", dm_ctl_safe(set->name), set->n);
        dm_fit_print_fig(&f_loaded[s]);
        dm_fit_print_fig(&f_all[s]);
        dm_fit_print_fig(&f_loso[s]);
        if (!dm_fit_fig_meets(&f_loso[s])) {
            printf("  < target");
            meets = false;
        }
        printf("\n");
#define ADD(t, f)                                                                                  \
    (t.n += f.n, t.exact += f.exact, t.reg_want += f.reg_want, t.reg_hit += f.reg_hit,             \
     t.leaks += f.leaks)
        ADD(tot_loaded, f_loaded[s]);
        ADD(tot_all, f_all[s]);
        ADD(tot_loso, f_loso[s]);
#undef ADD
    }
    printf("%-24s %5u ", "all", tot_all.n);
    dm_fit_print_fig(&tot_loaded);
    dm_fit_print_fig(&tot_all);
    dm_fit_print_fig(&tot_loso);
    printf("\n\nleft out, the target: every set at least 90%% exactly right, registreras "
           "recall at least 0.95, no leak: %s\n\nweights fitted on all sets:\n",
           meets ? "met" : "NOT met");
    for (guint k = 0; k < ctx.np; k++) {
        const dm_param_info *pi = dm_policy_param_info(k);
        printf("  %-18s %6.3f", pi->key, all[k]);
        if (fabs(all[k] - loaded[k]) > 1e-9)
            printf("  (rules file %.3f)", loaded[k]);
        printf("\n");
    }
    if (write) {
        if (!dm_fit_write(&ctx, conf->rules_file, all, &tot_loso, f_loso, &err)) {
            fprintf(stderr, "diariectl fit: %s\n", dm_ctl_safe(err->message));
            rc = DM_EX_CANTCREAT;
            goto out;
        }
        printf("\nwritten to %s\n", dm_ctl_safe(conf->rules_file));
    }
    rc = DM_EX_OK;
out:
    for (guint s = 0; jobs != NULL && s <= ctx.sets->len; s++)
        g_free(jobs[s].w);
    g_free(jobs);
    g_free(f_loaded);
    g_free(f_all);
    g_free(f_loso);
    g_free(loaded);
    g_free(all);
    g_free(w);
    if (ctx.cases != NULL)
        g_ptr_array_free(ctx.cases, TRUE);
    if (ctx.sets != NULL) {
        for (guint s = 0; s < ctx.sets->len; s++) {
            dm_fit_set *set = g_ptr_array_index(ctx.sets, s);
            g_free(set->name);
            g_free(set);
        }
        g_ptr_array_free(ctx.sets, TRUE);
    }
    dm_engine_unref(ctx.e);
    dm_conf_unref(conf);
    if (err != NULL)
        g_error_free(err);
    g_strfreev(specs);
    g_free(conf_path);
    g_option_context_free(oc);
    return rc;
}
