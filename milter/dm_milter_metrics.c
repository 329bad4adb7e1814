/*
 * The daemon's metrics: [metrics] listen and textfile served by
 * metrics/dm_metrics_serve.c, with the gauges only the daemon knows (its
 * spool, its messages in flight, its start).
 */
#include <string.h>

#include "dm_log.h"
#include "dm_metrics.h"
#include "dm_milter.h"

static dm_metrics_server *dm_milter_metrics_server;
static double dm_milter_started;

static void dm_milter_metrics_collect(dm_metrics_gauges *g, void *data)
{
    dm_spool_census c;
    GError *err = NULL;

    (void)data;
    g->start_time = dm_milter_started;
    g->in_flight = atomic_load(&dm_milter.in_flight);
    if (dm_milter.spool == NULL)
        return;
    if (!dm_spool_take_census(dm_milter.spool, &c, &err)) {
        /* Left out of this scrape; a missing series is what alerts see. */
        dm_log(DM_LOG_WARNING, "metrics: cannot read the spool: %s", err->message);
        g_error_free(err);
        return;
    }
    g->spool_ok = true;
    g->spool_waiting = c.count[DM_SPOOL_NEW];
    g->spool_delivering = c.count[DM_SPOOL_CUR];
    g->spool_dead = c.count[DM_SPOOL_DEAD];
    if (c.oldest_ms > 0) {
        double age = (double)g_get_real_time() / G_USEC_PER_SEC - (double)c.oldest_ms / 1000.0;
        g->spool_oldest_age = age > 0 ? age : 0;
    }
}

void dm_milter_metrics_start(const dm_conf *conf)
{
    GError *err = NULL;

    dm_milter_started = (double)g_get_real_time() / G_USEC_PER_SEC;
    if (*conf->metrics_listen == '\0' && *conf->metrics_textfile == '\0')
        return;
    dm_milter_metrics_server =
        dm_metrics_serve(conf->metrics_listen, conf->metrics_textfile,
                         conf->metrics_textfile_interval, dm_milter_metrics_collect, NULL, &err);
    /* Mail goes on without its metrics: a port taken is no reason to
     * answer every message 451. */
    if (dm_milter_metrics_server == NULL) {
        dm_log(DM_LOG_ERR, "%s: running without metrics", err->message);
        g_error_free(err);
    } else if (*conf->metrics_listen != '\0') {
        dm_log(DM_LOG_INFO, "metrics on http://%s/metrics", conf->metrics_listen);
    }
}

void dm_milter_metrics_stop(void)
{
    dm_metrics_server_stop(dm_milter_metrics_server);
    dm_milter_metrics_server = NULL;
}

bool dm_milter_metrics_same(const dm_conf *a, const dm_conf *b)
{
    return strcmp(a->metrics_listen, b->metrics_listen) == 0 &&
           strcmp(a->metrics_textfile, b->metrics_textfile) == 0 &&
           a->metrics_textfile_interval == b->metrics_textfile_interval;
}
