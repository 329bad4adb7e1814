#include "dm_log.h"
#include "dm_util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static struct {
    bool open;
    bool stderr_too;
    FILE *file;
    dm_log_level max_level;
    char ident[64];
    pthread_mutex_t lock;
} dm_log_state = {
    .max_level = DM_LOG_INFO,
    .ident = "diariemilter",
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static const struct {
    const char *name;
    int value;
} dm_log_facilities[] = {
    {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"user", LOG_USER},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
};

static const struct {
    const char *name;
    dm_log_level value;
} dm_log_levels[] = {
    {"err", DM_LOG_ERR},   {"error", DM_LOG_ERR},   {"warning", DM_LOG_WARNING},
    {"notice", DM_LOG_NOTICE}, {"info", DM_LOG_INFO}, {"debug", DM_LOG_DEBUG},
};

bool dm_log_facility_from_name(const char *name, int *facility)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_log_facilities); i++) {
        if (g_ascii_strcasecmp(name, dm_log_facilities[i].name) == 0) {
            *facility = dm_log_facilities[i].value;
            return true;
        }
    }
    return false;
}

bool dm_log_level_from_name(const char *name, dm_log_level *level)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_log_levels); i++) {
        if (g_ascii_strcasecmp(name, dm_log_levels[i].name) == 0) {
            *level = dm_log_levels[i].value;
            return true;
        }
    }
    return false;
}

/* The log file for appending, never through a link: O_NOFOLLOW refuses
 * a symbolic link at the last component, and a hard link (a second name
 * of someone else's file) is refused by its link count.  NULL with errno
 * set otherwise. */
static FILE *dm_log_open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                  0640);
    struct stat st;
    FILE *f;

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        close(fd);
        errno = EPERM;
        return NULL;
    }
    f = fdopen(fd, "a");
    if (f == NULL)
        close(fd);
    return f;
}

bool dm_log_open(const char *ident, const char *facility, bool stderr_too,
                 const char *file, dm_log_level max_level)
{
    int fac = LOG_MAIL;
    int file_errno = 0;

    if (facility != NULL && !dm_log_facility_from_name(facility, &fac))
        return false;
    pthread_mutex_lock(&dm_log_state.lock);
    if (dm_log_state.open)
        closelog();
    if (dm_log_state.file != NULL) {
        fclose(dm_log_state.file);
        dm_log_state.file = NULL;
    }
    g_strlcpy(dm_log_state.ident, ident ? ident : "diariemilter",
              sizeof dm_log_state.ident);
    openlog(dm_log_state.ident, LOG_PID | LOG_NDELAY, fac);
    dm_log_state.open = true;
    dm_log_state.stderr_too = stderr_too;
    dm_log_state.max_level = max_level;
    if (file != NULL && *file != '\0') {
        dm_log_state.file = dm_log_open_file(file);
        if (dm_log_state.file != NULL) {
            setvbuf(dm_log_state.file, NULL, _IOLBF, 0);
        } else {
            /* No file: standard error too (the journal under systemd),
             * so that lines are not left to a syslog that may be absent. */
            file_errno = errno;
            dm_log_state.stderr_too = true;
        }
    }
    pthread_mutex_unlock(&dm_log_state.lock);
    if (file_errno != 0) {
        errno = file_errno;
        return false;
    }
    return true;
}

void dm_log_close(void)
{
    pthread_mutex_lock(&dm_log_state.lock);
    if (dm_log_state.open)
        closelog();
    dm_log_state.open = false;
    if (dm_log_state.file != NULL)
        fclose(dm_log_state.file);
    dm_log_state.file = NULL;
    pthread_mutex_unlock(&dm_log_state.lock);
}

void dm_log_stderr_only(dm_log_level max_level)
{
    dm_log_close();
    pthread_mutex_lock(&dm_log_state.lock);
    dm_log_state.max_level = max_level;
    dm_log_state.stderr_too = true;
    pthread_mutex_unlock(&dm_log_state.lock);
}

static const char *dm_log_level_tag(dm_log_level level)
{
    switch (level) {
    case DM_LOG_ERR: return "error: ";
    case DM_LOG_WARNING: return "warning: ";
    default: return "";
    }
}

static void dm_log_emit(dm_log_level level, const char *qid, const char *fmt,
                        va_list ap)
{
    char line[2048];
    char *safe;
    int off = 0;

    if (level > dm_log_state.max_level)
        return;
    if (qid != NULL && *qid != '\0')
        off = snprintf(line, sizeof line, "%s: ", qid);
    off += snprintf(line + off, sizeof line - (size_t)off, "%s",
                    dm_log_level_tag(level));
    vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
    /* One event, one line: a folded header or a hostile value must
     * neither forge a second log line nor reach a terminal (-f) raw. */
    safe = dm_text_escaped(line);

    pthread_mutex_lock(&dm_log_state.lock);
    if (dm_log_state.open)
        syslog((int)level, "%s", safe);
    if (dm_log_state.stderr_too || !dm_log_state.open ||
        dm_log_state.file != NULL) {
        char stamp[32];
        struct timespec ts;
        struct tm tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        if (dm_log_state.stderr_too || !dm_log_state.open)
            fprintf(stderr, "%s.%03ld %s: %s\n", stamp, ts.tv_nsec / 1000000,
                    dm_log_state.ident, safe);
        if (dm_log_state.file != NULL)
            fprintf(dm_log_state.file, "%s.%03ld %s[%d]: %s\n", stamp,
                    ts.tv_nsec / 1000000, dm_log_state.ident, (int)getpid(),
                    safe);
    }
    pthread_mutex_unlock(&dm_log_state.lock);
    g_free(safe);
}

void dm_log(dm_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dm_log_emit(level, NULL, fmt, ap);
    va_end(ap);
}

void dm_log_q(dm_log_level level, const char *qid, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    dm_log_emit(level, qid, fmt, ap);
    va_end(ap);
}
