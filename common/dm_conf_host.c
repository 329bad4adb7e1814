/*
 * dm_conf_host: the configuration's checks against this host (the files
 * it names exist and may be used), for diariemilter -n, start and reload.
 * Apart from dm_conf.c, which reads a file and nothing else.
 */
#include "dm_conf.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* path names a regular file (links followed) that this process may use
 * as mode says (access(2)); else a sentence saying why not. */
static char *dm_conf_file_problem(const char *path, int mode, const char *what)
{
    struct stat st;

    if (stat(path, &st) != 0)
        return g_strdup_printf("%s: %s", path, g_strerror(errno));
    if (!S_ISREG(st.st_mode))
        return g_strdup_printf("%s is not a file", path);
    if (access(path, mode) != 0)
        return g_strdup_printf("%s is not %s: %s", path, what, g_strerror(errno));
    return NULL;
}

bool dm_conf_check_host(const dm_conf *conf, GError **err)
{
    char *problem = NULL;
    const char *group = NULL, *key = NULL;

    if (conf->delivery_method == DM_DELIVER_SENDMAIL &&
        (problem = dm_conf_file_problem(conf->sendmail[0], X_OK, "executable")) != NULL) {
        group = "delivery";
        key = "sendmail";
    } else if (conf->delivery_method == DM_DELIVER_SMTP && *conf->smtp_password_file != '\0' &&
               (problem = dm_conf_file_problem(conf->smtp_password_file, R_OK, "readable")) !=
                   NULL) {
        group = "delivery";
        key = "smtp_password_file";
    } else if (*conf->ldap_tls_ca_file != '\0' &&
               (problem = dm_conf_file_problem(conf->ldap_tls_ca_file, R_OK, "readable")) !=
                   NULL) {
        group = "ldap";
        key = "tls_ca_file";
    }
    if (problem != NULL) {
        char *where = dm_conf_where(conf, group, key);
        g_set_error(err, DM_CONF_ERROR, 1, "%s: %s", where, problem);
        g_free(where);
        g_free(problem);
        return false;
    }
    return true;
}
