/*
 * The daemon's start, in steps, each as root where it must be and no
 * longer (dm_milter.h):
 *
 *   dm_start_user         who [milter] user and socket_group are;
 *   dm_start_socket       the socket, opened while we may still be root;
 *   dm_start_directories  the spool, database, key and pid file
 *                         directories made and handed to the user;
 *   dm_start_privileges   detached, the pid file written, privileges
 *                         dropped, the log opened, the directories
 *                         checked as the user.
 *
 * What root touches in directories it hands to [milter] user (the pid
 * file, the log file, the files and directories it hands over) it never
 * reaches through a link that user may have planted: the pid file is
 * made anew with O_EXCL | O_NOFOLLOW, the log file is checked and handed
 * over through a descriptor opened with O_NOFOLLOW and written only
 * after privileges are dropped, ownership is changed with fchown on such
 * descriptors or lchown.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dm_log.h"
#include "dm_milter.h"

/* "unix:/path", "local:/path", "inet:port@host", "inet6:port@host". */
bool dm_socket_spec_ok(const char *spec, char **unix_path)
{
    *unix_path = NULL;
    if (g_str_has_prefix(spec, "unix:") || g_str_has_prefix(spec, "local:")) {
        const char *p = strchr(spec, ':') + 1;
        if (*p != '/' || strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return false;
        *unix_path = g_strdup(p);
        return true;
    }
    if (g_str_has_prefix(spec, "inet:") || g_str_has_prefix(spec, "inet6:")) {
        const char *p = strchr(spec, ':') + 1;
        char *end;
        long port = strtol(p, &end, 10);
        return end != p && port > 0 && port < 65536 && (*end == '\0' || *end == '@');
    }
    if (*spec == '/') {
        *unix_path = g_strdup(spec);
        return true;
    }
    return false;
}

/* A unix socket left by a crashed instance is removed; one a live
 * instance listens on is not. */
static bool dm_clean_stale_socket(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    if (lstat(path, &st) != 0)
        return true;
    if (!S_ISSOCK(st.st_mode)) {
        dm_log(DM_LOG_ERR, "%s exists and is not a socket: not removing it", path);
        return false;
    }
    g_strlcpy(sun.sun_path, path, sizeof sun.sun_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
        close(fd);
        dm_log(DM_LOG_ERR, "another diariemilter is listening on %s", path);
        return false;
    }
    if (fd >= 0)
        close(fd);
    if (unlink(path) != 0) {
        dm_log(DM_LOG_ERR, "cannot remove the stale socket %s: %s", path, g_strerror(errno));
        return false;
    }
    dm_log(DM_LOG_INFO, "removed the stale socket %s", path);
    return true;
}

/* Change the owner of what fd is open on (no path, so no link between). */
static bool dm_fchown_fd(int fd, uid_t uid, gid_t gid)
{
    return fchown(fd, uid, gid) == 0;
}

/* Make the missing directories above dir: root's, 0755 whatever the umask,
 * so that the milter's user can reach the leaf it is handed (made 0750,
 * they could not be passed).  What exists already is left as it is. */
static bool dm_make_parents(const char *dir)
{
    char *parent = g_path_get_dirname(dir);
    bool ok = true;

    if (strcmp(parent, dir) != 0 && !g_file_test(parent, G_FILE_TEST_IS_DIR)) {
        ok = dm_make_parents(parent);
        if (ok && mkdir(parent, 0755) != 0 && errno != EEXIST) {
            dm_log(DM_LOG_ERR, "cannot create %s: %s", parent, g_strerror(errno));
            ok = false;
        } else if (ok) {
            int fd = open(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            ok = fd >= 0 && fchmod(fd, 0755) == 0;
            if (!ok)
                dm_log(DM_LOG_ERR, "cannot set the mode of %s: %s", parent, g_strerror(errno));
            if (fd >= 0)
                close(fd);
        }
    }
    g_free(parent);
    return ok;
}

/* Make dir if missing and hand what was made to the milter's user.  A
 * directory that already existed is never handed over: it may be /run or
 * Postfix's queue directory.  (Debian's postinst makes the daemon's own.)
 * Missing parents are made world-searchable (dm_make_parents). */
static bool dm_prepare_dir(const char *dir, uid_t uid, gid_t gid, int mode)
{
    bool existed = g_file_test(dir, G_FILE_TEST_IS_DIR);
    int fd;

    if (existed)
        return true;
    if (!dm_make_parents(dir))
        return false;
    if (mkdir(dir, (mode_t)mode) != 0 && errno != EEXIST) {
        dm_log(DM_LOG_ERR, "cannot create %s: %s", dir, g_strerror(errno));
        return false;
    }
    if (uid == (uid_t)-1 && gid == (gid_t)-1)
        return true;
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || !dm_fchown_fd(fd, uid, gid) || fchmod(fd, (mode_t)mode) != 0) {
        dm_log(DM_LOG_ERR, "cannot hand %s to the milter's user: %s", dir, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* Open path for root's bookkeeping without following a link: a symbolic
 * link is refused (O_NOFOLLOW), so is anything but a regular file with
 * one name (a hard link to someone else's file).  -1 when path is not
 * such a file (*st_out zeroed), errno set. */
static int dm_open_own_file(const char *path, int flags, struct stat *st_out)
{
    int fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
    struct stat st;

    memset(st_out, 0, sizeof *st_out);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    *st_out = st;
    return fd;
}

/* Files of the daemon's own that root may have made first (a "diariectl
 * cases import" run as root before the first start): hand them to the
 * milter's user, or it could not write its journal.  A link in their
 * place is left alone (the user, who could plant one, gains nothing from
 * it but their own files). */
static bool dm_prepare_file(const char *path, uid_t uid, gid_t gid)
{
    struct stat st;
    int fd;

    if (uid == (uid_t)-1 || path == NULL || *path == '\0')
        return true;
    fd = dm_open_own_file(path, O_RDONLY, &st);
    if (fd < 0) {
        if (errno != ENOENT)
            dm_log(DM_LOG_WARNING, "%s: not a plain file of its own (%s): not handed to the "
                                   "milter's user", path, g_strerror(errno));
        return true;
    }
    if (st.st_uid != uid && !dm_fchown_fd(fd, uid, gid)) {
        dm_log(DM_LOG_ERR, "cannot hand %s to the milter's user: %s", path, g_strerror(errno));
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* The [log] file, made (or checked) by root for the milter's user, who
 * writes it from then on: root opens it only with O_NOFOLLOW and writes
 * nothing to it. */
static bool dm_prepare_log_file(const char *path, uid_t uid, gid_t gid)
{
    struct stat st;
    int fd;

    if (path == NULL || *path == '\0')
        return true;
    fd = dm_open_own_file(path, O_WRONLY | O_APPEND | O_CREAT, &st);
    if (fd < 0) {
        dm_log(DM_LOG_ERR, "[log] file %s: %s (a symbolic link, a hard link or not a plain "
                           "file is refused)",
               path, g_strerror(errno));
        return false;
    }
    if (uid != (uid_t)-1 && st.st_uid != uid && !dm_fchown_fd(fd, uid, gid)) {
        dm_log(DM_LOG_ERR, "cannot hand %s to the milter's user: %s", path, g_strerror(errno));
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* After privileges are dropped: can we write where we must?  If not, name
 * the first directory on the way that this user cannot pass. */
static bool dm_check_writable(const char *dir, const char *what, const char *user)
{
    char *p;
    int e;

    if (access(dir, W_OK | X_OK) == 0)
        return true;
    e = errno;
    p = g_strdup(dir);
    for (;;) {
        char *up = g_path_get_dirname(p);
        bool top = strcmp(up, p) == 0;

        g_free(p);
        p = up;
        if (top)
            break;
        if (access(p, X_OK) != 0) {
            /* The first one from the top that cannot be passed. */
            char *q = g_strdup(p);
            for (;;) {
                char *qq = g_path_get_dirname(q);
                if (strcmp(qq, q) == 0 || access(qq, X_OK) == 0) {
                    g_free(qq);
                    break;
                }
                g_free(q);
                q = qq;
            }
            dm_log(DM_LOG_ERR, "%s directory %s cannot be reached by %s: its parent %s is not "
                               "searchable by that user (give it mode 0755, or hand it over)",
                   what, dir, *user ? user : "this user", q);
            g_free(q);
            g_free(p);
            return false;
        }
    }
    g_free(p);
    dm_log(DM_LOG_ERR, "%s directory %s is not writable by %s: %s", what, dir,
           *user ? user : "this user", g_strerror(e));
    return false;
}

/* This program, for the delivery processes: what /proc/self/exe names
 * (valgrind reports its client there, not itself). */
char *dm_self_exe(void)
{
    char *p = g_file_read_link("/proc/self/exe", NULL);

    if (p != NULL && g_str_has_suffix(p, " (deleted)"))
        p[strlen(p) - strlen(" (deleted)")] = '\0';
    return p;
}

/* As root, in a directory the milter's user may be able to write: the
 * file is made anew, O_EXCL | O_NOFOLLOW, so a link planted in its place
 * is never followed (unlink removes the link, not what it names, and one
 * planted again in between makes the open fail). */
static bool dm_write_pidfile(const char *path)
{
    char buf[32];
    int fd, n;

    if (path == NULL || *path == '\0')
        return true;
    if (unlink(path) != 0 && errno != ENOENT) {
        dm_log(DM_LOG_ERR, "cannot replace %s: %s", path, g_strerror(errno));
        return false;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        dm_log(DM_LOG_ERR, "cannot write %s: %s", path, g_strerror(errno));
        return false;
    }
    n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (write(fd, buf, (size_t)n) != n) {
        close(fd);
        return false;
    }
    close(fd);
    return true;
}

/* libmilter keeps its listening socket to itself: find it among our
 * descriptors (a TCP socket in the listening state) and turn Nagle's
 * algorithm off on it.  Accepted connections inherit TCP_NODELAY, so the
 * several packets libmilter writes at the end of a message (each header
 * added, each recipient, then the reply) leave at once instead of waiting
 * for the MTA's delayed acknowledgement of the first (about 40 ms). */
static void dm_tcp_nodelay_listener(void)
{
    int found = 0;

    for (int fd = 0; fd < 1024; fd++) {
        int val = 0, one = 1;
        socklen_t len = sizeof val;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;

        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) != 0 || val == 0)
            continue;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
            (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
            continue;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
            found++;
        else
            dm_log(DM_LOG_WARNING, "TCP_NODELAY on the listening socket: %s", g_strerror(errno));
    }
    if (found == 0)
        dm_log(DM_LOG_WARNING, "no listening TCP socket found to set TCP_NODELAY on");
}

/* --- the steps ------------------------------------------------------------- */

int dm_start_user(dm_start *st)
{
    const dm_conf *conf = st->conf;

    st->uid = (uid_t)-1;
    st->gid = (gid_t)-1;
    st->sock_gid = (gid_t)-1;
    if (*conf->user != '\0') {
        struct passwd *pw = getpwnam(conf->user);

        if (pw == NULL) {
            dm_log(DM_LOG_ERR, "no user %s", conf->user);
            return DM_EX_NOUSER;
        }
        st->have_user = true;
        st->uid = pw->pw_uid;
        st->gid = pw->pw_gid;
    }
    if (*conf->socket_group != '\0') {
        struct group *gr = getgrnam(conf->socket_group);

        if (gr == NULL) {
            dm_log(DM_LOG_ERR, "no group %s", conf->socket_group);
            return DM_EX_NOUSER;
        }
        st->sock_gid = gr->gr_gid;
    }
    return DM_EX_OK;
}

int dm_start_socket(dm_start *st)
{
    const dm_conf *conf = st->conf;
    bool group = st->sock_gid != (gid_t)-1;
    mode_t old;
    int rc;

    dm_socket_spec_ok(conf->socket, &st->upath);
    if (st->upath != NULL) {
        char *dir = g_path_get_dirname(st->upath);
        bool ok = dm_prepare_dir(dir, st->uid, group ? st->sock_gid : st->gid,
                                 group ? 0750 : 0755);

        g_free(dir);
        if (!ok || !dm_clean_stale_socket(st->upath))
            return DM_EX_OSERR;
    }
    if (smfi_setconn(conf->socket) != MI_SUCCESS) {
        dm_log(DM_LOG_ERR, "cannot use socket %s", conf->socket);
        return DM_EX_OSERR;
    }
    smfi_settimeout((int)conf->timeout);
    smfi_setbacklog(conf->backlog);
    if (smfi_register(dm_milter_desc) != MI_SUCCESS) {
        dm_log(DM_LOG_ERR, "smfi_register failed");
        return DM_EX_SOFTWARE;
    }
    old = umask((mode_t)(~conf->socket_mode & 0777));
    rc = smfi_opensocket(false);
    umask(old);
    if (rc != MI_SUCCESS) {
        dm_log(DM_LOG_ERR, "cannot open socket %s", conf->socket);
        return DM_EX_OSERR;
    }
    if (st->upath == NULL) {
        dm_tcp_nodelay_listener();
        return DM_EX_OK;
    }
    /* Not through a link put in its place meanwhile. */
    if (fchmodat(AT_FDCWD, st->upath, (mode_t)conf->socket_mode, AT_SYMLINK_NOFOLLOW) != 0 ||
        (group && lchown(st->upath, st->uid, st->sock_gid) != 0) ||
        (!group && st->have_user && lchown(st->upath, st->uid, st->gid) != 0)) {
        dm_log(DM_LOG_ERR, "cannot set owner and mode of %s: %s", st->upath, g_strerror(errno));
        return DM_EX_OSERR;
    }
    return DM_EX_OK;
}

int dm_start_directories(dm_start *st)
{
    const dm_conf *conf = st->conf;
    uid_t uid = st->uid;
    gid_t gid = st->gid;
    char **dbfiles = dm_store_local_files(conf->database);
    char *dbdir = dbfiles[0] != NULL ? g_path_get_dirname(dbfiles[0]) : NULL;
    char *keydir = g_path_get_dirname(conf->key_file);
    char *piddir = *conf->pidfile ? g_path_get_dirname(conf->pidfile) : NULL;
    bool ok = dm_prepare_dir(conf->spool, uid, gid, 0750) &&
              (dbdir == NULL || dm_prepare_dir(dbdir, uid, gid, 0750)) &&
              dm_prepare_dir(keydir, uid, gid, 0750) &&
              (piddir == NULL || dm_prepare_dir(piddir, uid, gid, 0755));

    for (char **f = dbfiles; ok && *f != NULL; f++)
        ok = dm_prepare_file(*f, uid, gid);
    ok = ok && dm_prepare_file(conf->key_file, uid, gid);
    /* Made now and handed over, or the user could not reopen it on
     * reload; never through a link.  A missing directory is made for the
     * user, who can then make the file again after rotation. */
    if (ok && *conf->log_file != '\0') {
        char *logdir = g_path_get_dirname(conf->log_file);
        ok = dm_prepare_dir(logdir, uid, gid, 0750);
        g_free(logdir);
    }
    if (ok)
        ok = dm_prepare_log_file(conf->log_file, uid, gid);
    g_strfreev(dbfiles);
    g_free(dbdir);
    g_free(keydir);
    g_free(piddir);
    return ok ? DM_EX_OK : DM_EX_CANTCREAT;
}

int dm_start_privileges(dm_start *st)
{
    const dm_conf *conf = st->conf;
    char **dbfiles;
    char *dbdir, *keydir;
    bool ok;

    if (!st->foreground && daemon(0, 0) != 0) {
        dm_log(DM_LOG_ERR, "cannot detach: %s", g_strerror(errno));
        return DM_EX_OSERR;
    }
    if (!dm_write_pidfile(conf->pidfile))
        return DM_EX_CANTCREAT;
    if (st->have_user &&
        (setgroups(0, NULL) != 0 || setgid(st->gid) != 0 || setuid(st->uid) != 0)) {
        dm_log(DM_LOG_ERR, "cannot become %s: %s", conf->user, g_strerror(errno));
        return DM_EX_OSERR;
    }
    if (!dm_milter_log_open(conf, st->foreground, true)) {
        dm_log(DM_LOG_ERR, "[log] file %s: cannot append to it as %s: %s", conf->log_file,
               *conf->user ? conf->user : "this user", g_strerror(errno));
        return DM_EX_CANTCREAT;
    }
    if (*conf->log_file != '\0') {
        char *logdir = g_path_get_dirname(conf->log_file);
        if (access(logdir, W_OK | X_OK) != 0)
            dm_log(DM_LOG_WARNING,
                   "[log] file %s: its directory %s is not writable by %s: once the file is "
                   "rotated away it cannot be made again; let logrotate create it (create "
                   "0640 USER GROUP, see packaging/logrotate/diariemilter) or give the log a "
                   "directory of its own",
                   conf->log_file, logdir, *conf->user ? conf->user : "this user");
        g_free(logdir);
    }
    dbfiles = dm_store_local_files(conf->database);
    dbdir = dbfiles[0] != NULL ? g_path_get_dirname(dbfiles[0]) : NULL;
    keydir = g_path_get_dirname(conf->key_file);
    ok = dm_check_writable(conf->spool, "spool", conf->user) &&
         (dbdir == NULL || dm_check_writable(dbdir, "database", conf->user)) &&
         dm_check_writable(keydir, "key", conf->user);
    g_strfreev(dbfiles);
    g_free(dbdir);
    g_free(keydir);
    return ok ? DM_EX_OK : DM_EX_CANTCREAT;
}
