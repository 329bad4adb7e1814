#include "dm_data.h"

#include <glib.h>
#include <sys/stat.h>

#ifndef DM_DATADIR
#define DM_DATADIR "/usr/local/share/diariemilter"
#endif

static char *dm_data_dir_override;

const char *dm_data_shipped_dir(void)
{
    return dm_data_dir_override != NULL ? dm_data_dir_override : DM_DATADIR;
}

void dm_data_set_shipped_dir(const char *dir)
{
    g_free(dm_data_dir_override);
    dm_data_dir_override = g_strdup(dir);
}

/* lstat: a broken link or an unreadable file is the site's all the
 * same; only "nothing there" falls through to the shipped file. */
static int dm_data_there(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

char *dm_data_find(const char *dir, const char *rel, const char *shipped_sub)
{
    char *site, *shipped;

    if (g_path_is_absolute(rel))
        return g_strdup(rel);
    site = g_build_filename(dir, rel, NULL);
    if (dm_data_there(site))
        return site;
    shipped = g_build_filename(dm_data_shipped_dir(),
                               shipped_sub != NULL ? shipped_sub : "", rel, NULL);
    if (dm_data_there(shipped)) {
        g_free(site);
        return shipped;
    }
    g_free(shipped);
    return site;
}

char *dm_data_find_file(const char *path)
{
    char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
    char *found = dm_data_find(dir, base, NULL);

    g_free(dir);
    g_free(base);
    return found;
}
