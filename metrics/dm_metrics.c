/*
 * The counters and their rendering in Prometheus's text exposition
 * format (version 0.0.4): "# HELP", "# TYPE", then one "name{labels}
 * value" line per series, every line ending in "\n".  Every series a
 * metric can have is rendered from the start, at 0, so that rate() sees
 * the first event.
 */
#include <inttypes.h>
#include <stdatomic.h>

#include "dm_metrics.h"

#ifndef DM_VERSION
#define DM_VERSION "unknown"
#endif

#define DM_M_CLASSES (DM_CLASS_REGISTRERAS + 1)
#define DM_M_DIRECTIONS (DM_DIR_EXTERNAL + 1)

/* Upper bounds of the histograms' buckets, in microseconds: 0.5 ms to
 * 30 s covers a cached lookup as well as Postfix's milter timeouts. */
static const int64_t dm_bucket_us[] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    500000, 1000000, 2500000, 5000000, 10000000, 30000000,
};
#define DM_M_BUCKETS G_N_ELEMENTS(dm_bucket_us)

typedef struct {
    atomic_uint_fast64_t bucket[DM_M_BUCKETS + 1]; /* not cumulative; the last: above all */
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t sum_us;
} dm_histogram;

typedef enum {
    DM_MA_COPIES,
    DM_MA_NOTICES,
    DM_MA_FORWARDS,
    DM_MA_MANAGER_NOTICES,
    DM_MA_REMINDERS,
    DM_MA_COUNT
} dm_metrics_action;

static struct {
    atomic_uint_fast64_t counter[DM_MC_COUNT];
    atomic_uint_fast64_t tempfail[DM_TEMPFAIL_COUNT];
    atomic_uint_fast64_t messages[DM_M_CLASSES][DM_M_DIRECTIONS];
    atomic_uint_fast64_t action[DM_MA_COUNT];
    dm_histogram hist[DM_MH_COUNT];
} dm_m;

void dm_metrics_inc(dm_metrics_counter c)
{
    if ((unsigned)c < DM_MC_COUNT)
        atomic_fetch_add_explicit(&dm_m.counter[c], 1, memory_order_relaxed);
}

void dm_metrics_tempfail(dm_metrics_tempfail_cause cause)
{
    if ((unsigned)cause < DM_TEMPFAIL_COUNT)
        atomic_fetch_add_explicit(&dm_m.tempfail[cause], 1, memory_order_relaxed);
}

void dm_metrics_message(dm_class klass, dm_direction direction, uint64_t copies,
                        uint64_t notices, uint64_t forwards, uint64_t manager_notices,
                        uint64_t reminders)
{
    const uint64_t n[DM_MA_COUNT] = {copies, notices, forwards, manager_notices, reminders};

    if ((int)klass >= 0 && (int)klass < DM_M_CLASSES && (unsigned)direction < DM_M_DIRECTIONS)
        atomic_fetch_add_explicit(&dm_m.messages[klass][direction], 1, memory_order_relaxed);
    for (int i = 0; i < DM_MA_COUNT; i++)
        if (n[i] > 0)
            atomic_fetch_add_explicit(&dm_m.action[i], n[i], memory_order_relaxed);
}

void dm_metrics_accepted(const dm_verdict *v, unsigned forwards, bool duplicate)
{
    dm_metrics_message(v->klass, v->direction, dm_verdict_count_actions(v, DM_ACT_COPY),
                       dm_verdict_count_actions(v, DM_ACT_NOTICE), forwards,
                       dm_verdict_count_actions(v, DM_ACT_MANAGER_NOTICE),
                       dm_verdict_count_actions(v, DM_ACT_AUTOREPLY_REMINDER));
    if (duplicate)
        dm_metrics_inc(DM_MC_DUPLICATES);
}

void dm_metrics_observe(dm_metrics_histogram h, int64_t us)
{
    dm_histogram *x;
    size_t i = 0;

    if ((unsigned)h >= DM_MH_COUNT)
        return;
    x = &dm_m.hist[h];
    if (us < 0)
        us = 0;
    while (i < DM_M_BUCKETS && us > dm_bucket_us[i])
        i++;
    atomic_fetch_add_explicit(&x->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&x->sum_us, (uint64_t)us, memory_order_relaxed);
    atomic_fetch_add_explicit(&x->count, 1, memory_order_relaxed);
}

void dm_metrics_reset(void)
{
    for (int i = 0; i < DM_MC_COUNT; i++)
        atomic_store(&dm_m.counter[i], 0);
    for (int i = 0; i < DM_TEMPFAIL_COUNT; i++)
        atomic_store(&dm_m.tempfail[i], 0);
    for (int c = 0; c < DM_M_CLASSES; c++)
        for (int d = 0; d < DM_M_DIRECTIONS; d++)
            atomic_store(&dm_m.messages[c][d], 0);
    for (int i = 0; i < DM_MA_COUNT; i++)
        atomic_store(&dm_m.action[i], 0);
    for (int h = 0; h < DM_MH_COUNT; h++) {
        for (size_t i = 0; i <= DM_M_BUCKETS; i++)
            atomic_store(&dm_m.hist[h].bucket[i], 0);
        atomic_store(&dm_m.hist[h].count, 0);
        atomic_store(&dm_m.hist[h].sum_us, 0);
    }
}

/* --- rendering ------------------------------------------------------------- */

static uint64_t dm_load(atomic_uint_fast64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void dm_family(GString *out, const char *name, const char *type, const char *help)
{
    g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: backslash, double quote and
 * line feed escaped. */
static void dm_label_value(GString *out, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\' || *v == '"')
            g_string_append_c(out, '\\'), g_string_append_c(out, *v);
        else if (*v == '\n')
            g_string_append(out, "\\n");
        else
            g_string_append_c(out, *v);
    }
}

static void dm_counter(GString *out, const char *name, const char *help, uint64_t v)
{
    dm_family(out, name, "counter", help);
    g_string_append_printf(out, "%s %" PRIu64 "\n", name, v);
}

/* A number as the format wants it, whatever the locale: '.' for the
 * decimal point. */
static void dm_number(GString *out, const char *fmt, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];

    g_string_append(out, g_ascii_formatd(buf, sizeof buf, fmt, v));
}

static void dm_gauge(GString *out, const char *name, const char *help, double v)
{
    dm_family(out, name, "gauge", help);
    g_string_append_printf(out, "%s ", name);
    dm_number(out, "%.3f", v);
    g_string_append_c(out, '\n');
}

/* The buckets are read once each and summed; the count rendered is their
 * sum, so +Inf always equals _count even while observations go on. */
static void dm_render_histogram(GString *out, const char *name, const char *help,
                                dm_histogram *x)
{
    uint64_t cum = 0;

    dm_family(out, name, "histogram", help);
    for (size_t i = 0; i < DM_M_BUCKETS; i++) {
        cum += dm_load(&x->bucket[i]);
        g_string_append_printf(out, "%s_bucket{le=\"", name);
        dm_number(out, "%g", (double)dm_bucket_us[i] / 1e6);
        g_string_append_printf(out, "\"} %" PRIu64 "\n", cum);
    }
    cum += dm_load(&x->bucket[DM_M_BUCKETS]);
    g_string_append_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    g_string_append_printf(out, "%s_sum ", name);
    dm_number(out, "%.6f", (double)dm_load(&x->sum_us) / 1e6);
    g_string_append_c(out, '\n');
    g_string_append_printf(out, "%s_count %" PRIu64 "\n", name, cum);
}

void dm_metrics_render(GString *out, const dm_metrics_gauges *g)
{
    static const char *const action_name[DM_MA_COUNT] = {
        "diariemilter_copies_total", "diariemilter_notices_total",
        "diariemilter_forwards_total", "diariemilter_manager_notices_total",
        "diariemilter_reminders_total",
    };
    static const char *const action_help[DM_MA_COUNT] = {
        "Registrator copies owed by accepted messages (spooled).",
        "Notices to people who must act, owed by accepted messages (spooled).",
        "Recipients added to forward mail to an absent person's delegate.",
        "Notices to managers that an absent person's mailbox is unwatched (spooled).",
        "Reminders to senders of automatic replies that name no one else (spooled).",
    };
    static const char *const cause_name[DM_TEMPFAIL_COUNT] = {"directory", "store", "limits"};

    dm_family(out, "diariemilter_build_info", "gauge",
              "Always 1; the version of the running daemon as a label.");
    g_string_append(out, "diariemilter_build_info{version=\"");
    dm_label_value(out, DM_VERSION);
    g_string_append(out, "\"} 1\n");

    dm_family(out, "diariemilter_messages_total", "counter",
              "Messages accepted and classified, by class and direction.");
    for (int c = 0; c < DM_M_CLASSES; c++)
        for (int d = 0; d < DM_M_DIRECTIONS; d++)
            g_string_append_printf(out,
                                   "diariemilter_messages_total{class=\"%s\",direction=\"%s\"} "
                                   "%" PRIu64 "\n",
                                   dm_class_name((dm_class)c), dm_direction_name((dm_direction)d),
                                   dm_load(&dm_m.messages[c][d]));
    for (int i = 0; i < DM_MA_COUNT; i++)
        dm_counter(out, action_name[i], action_help[i], dm_load(&dm_m.action[i]));
    dm_counter(out, "diariemilter_rejects_total",
               "Messages rejected with 550 (R14, mass mailing from inside).",
               dm_load(&dm_m.counter[DM_MC_REJECTS]));
    dm_family(out, "diariemilter_tempfails_total", "counter",
              "Messages answered 451 (the sender retries), by cause.");
    for (int i = 0; i < DM_TEMPFAIL_COUNT; i++)
        g_string_append_printf(out, "diariemilter_tempfails_total{cause=\"%s\"} %" PRIu64 "\n",
                               cause_name[i], dm_load(&dm_m.tempfail[i]));
    dm_counter(out, "diariemilter_duplicates_total",
               "Accepted arrivals of a message already journaled within [store] "
               "duplicate_window.",
               dm_load(&dm_m.counter[DM_MC_DUPLICATES]));
    dm_family(out, "diariemilter_unclassified_total", "counter",
              "Messages passed without classification, by reason.");
    g_string_append_printf(out, "diariemilter_unclassified_total{reason=\"own_mail\"} %" PRIu64
                                "\n",
                           dm_load(&dm_m.counter[DM_MC_OWN_MAIL]));
    g_string_append_printf(out, "diariemilter_unclassified_total{reason=\"directory_down\"} "
                                "%" PRIu64 "\n",
                           dm_load(&dm_m.counter[DM_MC_DIRECTORY_DOWN]));
    dm_counter(out, "diariemilter_directory_lookups_total",
               "Directory lookups of an address or a login (cached or not).",
               dm_load(&dm_m.counter[DM_MC_DIR_LOOKUPS]));
    dm_counter(out, "diariemilter_directory_cache_hits_total",
               "Directory lookups answered from the cache.",
               dm_load(&dm_m.counter[DM_MC_DIR_CACHE_HITS]));
    dm_counter(out, "diariemilter_directory_errors_total",
               "Directory lookups that failed (no server answered, or an error).",
               dm_load(&dm_m.counter[DM_MC_DIR_ERRORS]));

    dm_render_histogram(out, "diariemilter_directory_search_seconds",
                        "Time of one search sent to a directory server.",
                        &dm_m.hist[DM_MH_DIRECTORY_SEARCH]);
    dm_render_histogram(out, "diariemilter_journal_commit_seconds",
                        "Time of one journal row's transaction (with its claims).",
                        &dm_m.hist[DM_MH_JOURNAL_COMMIT]);
    dm_render_histogram(out, "diariemilter_eom_seconds",
                        "Time diariemilter spent at the end of a message.",
                        &dm_m.hist[DM_MH_EOM]);

    if (g == NULL)
        return;
    dm_gauge(out, "diariemilter_start_time_seconds",
             "When the daemon started, in seconds since the epoch.", g->start_time);
    dm_gauge(out, "diariemilter_messages_in_flight",
             "Messages between MAIL FROM and their end now.", (double)g->in_flight);
    if (!g->spool_ok)
        return;
    dm_family(out, "diariemilter_spool_items", "gauge",
              "Copies and notices in the spool: waiting (new/), being delivered (cur/), "
              "dead (dead/).");
    g_string_append_printf(out, "diariemilter_spool_items{state=\"waiting\"} %" PRIu64 "\n",
                           g->spool_waiting);
    g_string_append_printf(out, "diariemilter_spool_items{state=\"delivering\"} %" PRIu64 "\n",
                           g->spool_delivering);
    g_string_append_printf(out, "diariemilter_spool_items{state=\"dead\"} %" PRIu64 "\n",
                           g->spool_dead);
    dm_gauge(out, "diariemilter_spool_oldest_age_seconds",
             "Age of the oldest copy or notice not yet delivered (0 when none waits).",
             g->spool_oldest_age);
}
