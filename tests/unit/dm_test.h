/*
 * Shared helpers for the unit tests (cmocka).  Each tests/unit/test_*.c
 * is its own program, built with AddressSanitizer and UBSan by "make unit".
 */
#ifndef DM_TEST_H
#define DM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* The source tree: "make unit" sets DM_SRCDIR; else the current directory. */
static inline const char *dm_test_srcdir(void)
{
    const char *d = getenv("DM_SRCDIR");
    return d != NULL ? d : ".";
}

/* A path inside the source tree (new string). */
static inline char *dm_test_path(const char *rel)
{
    return g_build_filename(dm_test_srcdir(), rel, NULL);
}

/* A path inside ../shared beside the source tree (new string). */
static inline char *dm_test_shared(const char *rel)
{
    return g_build_filename(dm_test_srcdir(), "..", "shared", rel, NULL);
}

/* Whole file, or a failed test. */
static inline char *dm_test_read(const char *path, gsize *len)
{
    char *text = NULL;
    GError *err = NULL;

    if (!g_file_get_contents(path, &text, len, &err)) {
        print_error("cannot read %s: %s\n", path, err->message);
        g_error_free(err);
        fail();
    }
    return text;
}

/* A fresh temporary directory (new string); remove with dm_test_rmtree. */
static inline char *dm_test_tmpdir(void)
{
    GError *err = NULL;
    char *d = g_dir_make_tmp("dmtest-XXXXXX", &err);

    if (d == NULL) {
        print_error("mkdtemp: %s\n", err->message);
        fail();
    }
    return d;
}

static inline void dm_test_rmtree(const char *dir)
{
    char *argv[] = {"rm", "-rf", (char *)dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

#endif
