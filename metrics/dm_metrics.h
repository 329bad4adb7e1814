/*
 * dm_metrics: what the daemon counts, for Prometheus.
 *
 * Every counter is a C11 atomic in one process-wide table, bumped where
 * the event happens (one call, no lock, no allocation) and read only when
 * the text is rendered: at a scrape of [metrics] listen, or when the
 * [metrics] textfile is written (dm_metrics_serve.c).  The counters run
 * for the life of the process: a reload keeps them.  diariectl links the
 * same code and counts too, but shows nothing.
 *
 * Every metric is named and explained in diariemilter(8), METRICS
 * (docs/check.sh checks that each name rendered here is there).
 */
#ifndef DM_METRICS_H
#define DM_METRICS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm_verdict.h"

typedef enum {
    DM_MC_REJECTS,            /* R14 rejections answered 550 */
    DM_MC_DUPLICATES,         /* accepted arrivals of a message already journaled */
    DM_MC_OWN_MAIL,           /* our own copies and notices, passed unclassified */
    DM_MC_DIRECTORY_DOWN,     /* passed unclassified: directory down, site said accept */
    DM_MC_DIR_LOOKUPS,        /* address and login lookups */
    DM_MC_DIR_CACHE_HITS,     /* ... of them answered from the cache */
    DM_MC_DIR_ERRORS,         /* lookups that failed */
    DM_MC_COUNT
} dm_metrics_counter;

typedef enum {
    DM_TEMPFAIL_DIRECTORY, /* the directory could not answer */
    DM_TEMPFAIL_STORE,     /* the journal, the spool or the disk failed */
    DM_TEMPFAIL_LIMITS,    /* a bound of the daemon's own was reached */
    DM_TEMPFAIL_COUNT
} dm_metrics_tempfail_cause;

typedef enum {
    DM_MH_EOM,              /* the end of a message, as diariemilter spent it */
    DM_MH_JOURNAL_COMMIT,   /* one journal row's transaction */
    DM_MH_DIRECTORY_SEARCH, /* one search sent to a directory server */
    DM_MH_COUNT
} dm_metrics_histogram;

void dm_metrics_inc(dm_metrics_counter c);
void dm_metrics_tempfail(dm_metrics_tempfail_cause cause);
/* An accepted, classified message and what it owes (the summary line). */
void dm_metrics_message(dm_class klass, dm_direction direction, uint64_t copies,
                        uint64_t notices, uint64_t forwards, uint64_t manager_notices,
                        uint64_t reminders);
/* The same from the verdict, as the summary line counts it: what this
 * arrival owes (a repeat owes only what earlier arrivals did not), the
 * forwards the MTA took, and whether it repeats a journaled message. */
void dm_metrics_accepted(const dm_verdict *v, unsigned forwards, bool duplicate);
/* us: a duration in microseconds (negative counts as 0). */
void dm_metrics_observe(dm_metrics_histogram h, int64_t us);

/* What is not counted but looked at when rendering (the caller's room
 * knows where): the spool's folders and the daemon's state. */
typedef struct dm_metrics_gauges {
    bool spool_ok;          /* false: the spool could not be read, its gauges left out */
    uint64_t spool_waiting; /* items in new/ */
    uint64_t spool_delivering; /* items in cur/ */
    uint64_t spool_dead;    /* items in dead/ */
    double spool_oldest_age; /* seconds since the oldest item in new/ or cur/ was owed; 0 */
    int64_t in_flight;      /* messages between MAIL FROM and the end */
    double start_time;      /* the process's start, seconds since the epoch */
} dm_metrics_gauges;

typedef void (*dm_metrics_collect_fn)(dm_metrics_gauges *g, void *data);

/* Append the text exposition format (version 0.0.4) of every metric to
 * out; g NULL: the counters only. */
void dm_metrics_render(GString *out, const dm_metrics_gauges *g);

/* Every counter and histogram back to 0 (tests). */
void dm_metrics_reset(void);

/* --- serving (dm_metrics_serve.c) -------------------------------------------
 * One thread with a GLib main loop of its own: an HTTP listener on
 * listen ("HOST:PORT"; "" none) that answers GET /metrics and nothing
 * else, and, when textfile is set ("" none), that file rewritten every
 * interval seconds (written beside it and renamed, so a reader never
 * sees half of it).  collect fills the gauges before each rendering.
 * NULL with err set when the address cannot be listened on. */
typedef struct dm_metrics_server dm_metrics_server;

dm_metrics_server *dm_metrics_serve(const char *listen, const char *textfile,
                                    int64_t interval, dm_metrics_collect_fn collect,
                                    void *data, GError **err);
/* The port listened on (the one chosen when listen said port 0), or 0. */
uint16_t dm_metrics_server_port(const dm_metrics_server *s);
/* Stop the thread (the textfile is written once more), free s. */
void dm_metrics_server_stop(dm_metrics_server *s);

/* The most a request (request line and headers) may take, in bytes. */
#define DM_METRICS_MAX_REQUEST 8192
/* The status the listener answers a request with (req: as read, NUL
 * terminated; only its first line, "METHOD TARGET HTTP/1.x", is looked
 * at): 200 for GET or HEAD of /metrics (*head: it was HEAD), 404 for
 * another path, 405 for another method, 400 for anything else. */
int dm_metrics_http_status(const char *req, bool *head);

#endif
