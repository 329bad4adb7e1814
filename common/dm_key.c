#include "dm_key.h"

#include <errno.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_util.h"

bool dm_key_load(const char *path, bool create, char **key, size_t *len, GError **err)
{
    gsize n = 0;
    GError *e2 = NULL;

    *key = NULL;
    *len = 0;
    if (g_file_get_contents(path, key, &n, &e2)) {
        if (n < 16) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: a key must have at least 16 bytes", path);
            g_free(*key);
            *key = NULL;
            return false;
        }
        *len = n;
        return true;
    }
    if (!create || !g_error_matches(e2, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
        g_propagate_error(err, e2);
        return false;
    }
    g_error_free(e2);
    {
        unsigned char buf[32];
        char *dir = g_path_get_dirname(path);

        if (g_mkdir_with_parents(dir, 0750) != 0) {
            g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", dir,
                        g_strerror(errno));
            g_free(dir);
            return false;
        }
        g_free(dir);
        if (RAND_bytes(buf, sizeof buf) != 1) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no random bytes for %s", path);
            return false;
        }
        if (!dm_write_file_durable(path, buf, sizeof buf, 0600, err))
            return false;
        *key = g_memdup2(buf, sizeof buf);
        *len = sizeof buf;
    }
    return true;
}
