/*
 * A PostgreSQL server for the store's unit tests (test_store_pg.c,
 * test_store_notices.c): the one DM_TEST_PG_URI names (its database is
 * emptied), or a private one that tests/lib/pg.sh starts in a temporary
 * directory and stops at the end.  Without either, uri stays NULL and
 * the tests that need a server skip.
 */
#ifndef DM_TEST_PG_H
#define DM_TEST_PG_H

#include <stdbool.h>

#include "dm_test.h"

typedef struct {
    char *dir; /* the private server's, or NULL */
    char *uri; /* a libpq URI; NULL: no server */
} dm_test_pg;

/* tests/lib/pg.sh CMD DIR [ARG]: whether it succeeded. */
static inline bool dm_test_pg_sh(const char *dir, const char *cmd, const char *arg)
{
    char *script = dm_test_path("tests/lib/pg.sh");
    char *argv[] = {script, (char *)cmd, (char *)dir, (char *)arg, NULL};
    int status = -1;
    bool ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                           NULL, &status, NULL) &&
              g_spawn_check_wait_status(status, NULL);

    g_free(script);
    return ok;
}

/* For a group set-up: a server (tmpl names the private one's directory,
 * "dmpg-XXXXXX"), or a message that the tests needing one skip. */
static inline void dm_test_pg_start(dm_test_pg *pg, const char *tmpl)
{
    const char *uri = getenv("DM_TEST_PG_URI");
    char *path;
    gsize len;

    if (uri != NULL && *uri != '\0') {
        pg->uri = g_strdup(uri);
        return;
    }
    pg->dir = g_dir_make_tmp(tmpl, NULL);
    if (pg->dir == NULL || !dm_test_pg_sh(pg->dir, "start", "--fast")) {
        print_message("no private PostgreSQL (tests/lib/pg.sh start): its tests skipped\n");
        return;
    }
    path = g_build_filename(pg->dir, "uri", NULL);
    if (g_file_get_contents(path, &pg->uri, &len, NULL))
        g_strstrip(pg->uri);
    g_free(path);
}

/* For a group tear-down: the private server stopped and removed. */
static inline void dm_test_pg_stop(dm_test_pg *pg)
{
    if (pg->dir != NULL) {
        dm_test_pg_sh(pg->dir, "stop", "immediate");
        dm_test_rmtree(pg->dir);
    }
    g_free(pg->dir);
    g_free(pg->uri);
    pg->dir = pg->uri = NULL;
}

#endif
