/*
 * diariemilter: the process.
 *
 *   diariemilter [-c FILE] [-f] [-n] [-V]
 *   diariemilter --deliver SPOOL/cur/ITEM -c FILE   (the daemon's own
 *       delivery process, see deliver/dm_deliver.h; not for people)
 *
 * Start-up order matters: the socket is opened (as root if need be), the
 * spool and database directories are made and handed to [milter] user,
 * the process detaches, privileges are dropped, and only then is the
 * engine built and are threads started.
 *
 * What root touches in directories it hands to [milter] user (the pid
 * file, the log file, the files and directories it hands over) it never
 * reaches through a link that user may have planted: the pid file is
 * made anew with O_EXCL | O_NOFOLLOW, the log file is checked and handed
 * over through a descriptor opened with O_NOFOLLOW and written only
 * after privileges are dropped, ownership is changed with fchown on such
 * descriptors or lchown.  Signals: SIGTERM and SIGINT stop
 * (libmilter's signal thread; it also turns SIGHUP into a stop), SIGUSR1
 * reloads the configuration.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
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

#ifndef DM_SYSCONFDIR
#define DM_SYSCONFDIR "/etc"
#endif
#define DM_DEFAULT_CONF DM_SYSCONFDIR "/diariemilter/diariemilter.conf"

dm_milter_state dm_milter;

/* -f: also log to standard error.  Kept for the reload, which reopens
 * the log and must not silently drop standard error under -f. */
static bool dm_foreground;

dm_engine *dm_milter_engine(void)
{
    dm_engine *e;

    g_mutex_lock(&dm_milter.lock);
    e = dm_engine_ref(dm_milter.engine);
    g_mutex_unlock(&dm_milter.lock);
    return e;
}

/* with_file: also the [log] file (not while root may yet drop to
 * [milter] user: that file lives where the user can write). */
static bool dm_log_from_conf(const dm_conf *conf, bool foreground, bool with_file)
{
    dm_log_level level = DM_LOG_INFO;

    dm_log_level_from_name(conf->log_level, &level);
    /* In the foreground, mirror to a terminal; under systemd stderr goes
     * to the journal, which has the syslog lines already. */
    return dm_log_open(conf->log_ident, conf->log_facility, foreground && isatty(2),
                       with_file ? conf->log_file : NULL, level);
}

bool dm_milter_reload(GError **err)
{
    dm_conf *conf = dm_conf_load(dm_milter.conf_path, err);
    dm_engine *fresh, *old;

    if (conf == NULL)
        return false;
    fresh = dm_engine_new(conf, 0, dm_milter.spool, err);
    if (fresh == NULL) {
        dm_conf_unref(conf);
        return false;
    }
    if (strcmp(conf->spool, dm_engine_conf(dm_milter.engine)->spool) != 0 ||
        strcmp(conf->socket, dm_engine_conf(dm_milter.engine)->socket) != 0 ||
        strcmp(conf->user, dm_engine_conf(dm_milter.engine)->user) != 0)
        dm_log(DM_LOG_WARNING, "reload: [milter] socket, [milter] user and [store] spool take "
                               "effect only at restart");
    g_mutex_lock(&dm_milter.lock);
    old = dm_milter.engine;
    dm_milter.engine = fresh;
    g_mutex_unlock(&dm_milter.lock);
    if (dm_milter.deliver != NULL)
        dm_deliver_set_conf(dm_milter.deliver, conf);
    dm_engine_unref(old); /* messages in flight keep theirs */
    dm_conf_unref(conf);
    return true;
}

/* SIGUSR1: reload.  libmilter's own signal thread takes SIGHUP, SIGINT
 * and SIGTERM; this one takes SIGUSR1 only. */
static gpointer dm_reload_thread(gpointer data)
{
    sigset_t set;
    int sig;

    (void)data;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    for (;;) {
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            GError *err = NULL;
            if (dm_milter_reload(&err)) {
                dm_conf *c = dm_engine_conf(dm_milter.engine);
                if (!dm_log_from_conf(c, dm_foreground, true))
                    dm_log(DM_LOG_ERR, "[log] file %s: cannot append to it (a symbolic or "
                                       "hard link, or not writable): logging to syslog only",
                           c->log_file);
                dm_log(DM_LOG_NOTICE, "configuration reloaded from %s", dm_milter.conf_path);
            } else {
                dm_log(DM_LOG_ERR, "reload failed, keeping the running configuration: %s",
                       err->message);
                g_error_free(err);
            }
        }
    }
    return NULL;
}

static void dm_usage(FILE *to)
{
    fprintf(to,
            "usage: diariemilter [-c FILE] [-f] [-n] [-V]\n"
            "  -c FILE  configuration (default %s)\n"
            "  -f       stay in the foreground (log lines also go to a terminal)\n"
            "  -n       check the configuration and exit\n"
            "  -V       print the version and exit\n",
            DM_DEFAULT_CONF);
}

/* "unix:/path", "local:/path", "inet:port@host", "inet6:port@host". */
static bool dm_socket_spec_ok(const char *spec, char **unix_path)
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

/* Everything -n checks, short of connecting anywhere. */
static dm_conf *dm_check_config(const char *path, bool quiet)
{
    GError *err = NULL;
    dm_conf *conf = dm_conf_load(path, &err);
    char *upath = NULL;

    if (conf == NULL) {
        fprintf(stderr, "diariemilter: %s\n", err->message);
        g_error_free(err);
        return NULL;
    }
    if (!dm_socket_spec_ok(conf->socket, &upath)) {
        fprintf(stderr, "diariemilter: %s: [milter] socket: \"%s\" is not unix:/path or "
                        "inet:port@host\n", path, conf->socket);
        goto fail;
    }
    g_free(upath);
    if (*conf->user != '\0' && getpwnam(conf->user) == NULL) {
        fprintf(stderr, "diariemilter: %s: [milter] user: no user \"%s\"\n", path, conf->user);
        goto fail;
    }
    if (*conf->socket_group != '\0' && getgrnam(conf->socket_group) == NULL) {
        fprintf(stderr, "diariemilter: %s: [milter] socket_group: no group \"%s\"\n", path,
                conf->socket_group);
        goto fail;
    }
    if (conf->delivery_method == DM_DELIVER_SMTP && *conf->smtp_host == '\0') {
        fprintf(stderr, "diariemilter: %s: [delivery] smtp_host: empty, but method = smtp\n",
                path);
        goto fail;
    }
    if (!dm_ldap_conf_check(conf, &err)) {
        fprintf(stderr, "diariemilter: %s: %s\n", path, err->message);
        g_clear_error(&err);
        goto fail;
    }
    {
        dm_policy *p = dm_policy_new(conf, &err);
        dm_templates *t;
        if (p == NULL) {
            fprintf(stderr, "diariemilter: %s\n", err->message);
            g_error_free(err);
            goto fail;
        }
        dm_policy_free(p);
        t = dm_templates_load(conf->templates, conf->language, &err);
        if (t == NULL) {
            fprintf(stderr, "diariemilter: %s: [policy] templates: %s\n", path, err->message);
            g_error_free(err);
            goto fail;
        }
        dm_templates_free(t);
    }
    if (!quiet)
        printf("%s: configuration ok\n", path);
    return conf;
fail:
    dm_conf_unref(conf);
    return NULL;
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
static char *dm_self_exe(void)
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

int main(int argc, char **argv)
{
    const char *conf_path = DM_DEFAULT_CONF;
    bool foreground = false, check_only = false;
    dm_conf *conf;
    char *upath = NULL;
    struct passwd *pw = NULL;
    gid_t sock_gid = (gid_t)-1;
    GError *err = NULL;
    sigset_t sigs;
    int opt, rc;
    char *self = NULL;

    /* A delivery process started by the daemon's worker. */
    if (argc > 1 && strcmp(argv[1], "--deliver") == 0)
        return dm_deliver_main(argc, argv);

    while ((opt = getopt(argc, argv, "c:fnVh")) != -1) {
        switch (opt) {
        case 'c': conf_path = optarg; break;
        case 'f': foreground = true; break;
        case 'n': check_only = true; break;
        case 'V':
            printf("diariemilter %s\n", DM_VERSION);
            return 0;
        case 'h': dm_usage(stdout); return 0;
        default: dm_usage(stderr); return 64;
        }
    }
    if (optind != argc) {
        dm_usage(stderr);
        return 64;
    }
    conf = dm_check_config(conf_path, !check_only);
    if (conf == NULL)
        return 78; /* EX_CONFIG */
    if (check_only) {
        dm_conf_unref(conf);
        return 0;
    }
    dm_foreground = foreground;
    /* The [log] file only once privileges are dropped; until then, in the
     * foreground, standard error has what syslog gets. */
    dm_log_open(conf->log_ident, conf->log_facility, foreground, NULL, DM_LOG_INFO);
    /* Absolute: the daemon leaves its directory, and the delivery
     * processes and reloads read the file again. */
    dm_milter.conf_path = g_canonicalize_filename(conf_path, NULL);
    if (strcmp(dm_milter.conf_path, conf_path) != 0) {
        dm_conf *abs = dm_conf_load(dm_milter.conf_path, &err);
        if (abs == NULL) {
            dm_log(DM_LOG_ERR, "%s", err->message);
            return 78;
        }
        dm_conf_unref(conf);
        conf = abs;
    }
    self = dm_self_exe();
    if (self == NULL) {
        dm_log(DM_LOG_ERR, "cannot find this program in /proc/self/exe: delivery needs it");
        return 71;
    }
    g_mutex_init(&dm_milter.lock);

    if (*conf->user != '\0') {
        pw = getpwnam(conf->user);
        if (pw == NULL) {
            dm_log(DM_LOG_ERR, "no user %s", conf->user);
            return 67;
        }
    }
    if (*conf->socket_group != '\0') {
        struct group *gr = getgrnam(conf->socket_group);
        if (gr == NULL) {
            dm_log(DM_LOG_ERR, "no group %s", conf->socket_group);
            return 67;
        }
        sock_gid = gr->gr_gid;
    }

    /* The socket, while we may still be root. */
    dm_socket_spec_ok(conf->socket, &upath);
    if (upath != NULL) {
        char *dir = g_path_get_dirname(upath);
        bool ok = dm_prepare_dir(dir, pw ? pw->pw_uid : (uid_t)-1,
                                 sock_gid != (gid_t)-1 ? sock_gid : (pw ? pw->pw_gid : (gid_t)-1),
                                 sock_gid != (gid_t)-1 ? 0750 : 0755);
        g_free(dir);
        if (!ok || !dm_clean_stale_socket(upath))
            return 71;
    }
    if (smfi_setconn(conf->socket) != MI_SUCCESS) {
        dm_log(DM_LOG_ERR, "cannot use socket %s", conf->socket);
        return 71;
    }
    smfi_settimeout((int)conf->timeout);
    smfi_setbacklog(conf->backlog);
    if (smfi_register(dm_milter_desc) != MI_SUCCESS) {
        dm_log(DM_LOG_ERR, "smfi_register failed");
        return 70;
    }
    {
        mode_t old = umask((mode_t)(~conf->socket_mode & 0777));
        rc = smfi_opensocket(false);
        umask(old);
    }
    if (rc != MI_SUCCESS) {
        dm_log(DM_LOG_ERR, "cannot open socket %s", conf->socket);
        return 71;
    }
    if (upath == NULL)
        dm_tcp_nodelay_listener();
    if (upath != NULL) {
        /* Not through a link put in its place meanwhile. */
        if (fchmodat(AT_FDCWD, upath, (mode_t)conf->socket_mode, AT_SYMLINK_NOFOLLOW) != 0 ||
            (sock_gid != (gid_t)-1 && lchown(upath, pw ? pw->pw_uid : (uid_t)-1, sock_gid) != 0) ||
            (sock_gid == (gid_t)-1 && pw != NULL && lchown(upath, pw->pw_uid, pw->pw_gid) != 0)) {
            dm_log(DM_LOG_ERR, "cannot set owner and mode of %s: %s", upath, g_strerror(errno));
            return 71;
        }
    }

    /* Directories the milter's user must write. */
    {
        uid_t uid = pw ? pw->pw_uid : (uid_t)-1;
        gid_t gid = pw ? pw->pw_gid : (gid_t)-1;
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
         * reload; never through a link. */
        if (ok)
            ok = dm_prepare_log_file(conf->log_file, uid, gid);
        g_strfreev(dbfiles);
        g_free(dbdir);
        g_free(keydir);
        g_free(piddir);
        if (!ok)
            return 73;
    }

    if (!foreground && daemon(0, 0) != 0) {
        dm_log(DM_LOG_ERR, "cannot detach: %s", g_strerror(errno));
        return 71;
    }
    if (!dm_write_pidfile(conf->pidfile))
        return 73;
    if (pw != NULL) {
        if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
            dm_log(DM_LOG_ERR, "cannot become %s: %s", conf->user, g_strerror(errno));
            return 71;
        }
    }
    if (!dm_log_from_conf(conf, foreground, true)) {
        dm_log(DM_LOG_ERR, "[log] file %s: cannot append to it as %s: %s", conf->log_file,
               *conf->user ? conf->user : "this user", g_strerror(errno));
        return 73;
    }
    {
        char **dbfiles = dm_store_local_files(conf->database);
        char *dbdir = dbfiles[0] != NULL ? g_path_get_dirname(dbfiles[0]) : NULL;
        char *keydir = g_path_get_dirname(conf->key_file);
        bool ok = dm_check_writable(conf->spool, "spool", conf->user) &&
                  (dbdir == NULL || dm_check_writable(dbdir, "database", conf->user)) &&
                  dm_check_writable(keydir, "key", conf->user);
        g_strfreev(dbfiles);
        g_free(dbdir);
        g_free(keydir);
        if (!ok)
            return 73;
    }

    /* Before any thread exists: the stop and reload signals go to the
     * threads that sigwait for them, never to a worker. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    dm_mime_init();
    dm_milter.spool = dm_spool_open(conf->spool, true, &err);
    if (dm_milter.spool == NULL) {
        dm_log(DM_LOG_ERR, "%s", err->message);
        return 73;
    }
    dm_milter.engine = dm_engine_new(conf, 0, dm_milter.spool, &err);
    if (dm_milter.engine == NULL) {
        dm_log(DM_LOG_ERR, "%s", err->message);
        /* A shared database not reachable yet: to be started again
         * (EX_TEMPFAIL), not a configuration to fix (EX_CONFIG). */
        return dm_store_error_unavailable(err) ? 75 : 78;
    }
    {
        /* Items whose transaction died before its journal row: never
         * owed.  Before the worker can see them. */
        int gone = dm_engine_recover_spool(dm_milter.engine);
        if (gone > 0)
            dm_log(DM_LOG_NOTICE, "removed %d spooled item%s of messages never accepted", gone,
                   gone == 1 ? "" : "s");
    }
    dm_milter.deliver = dm_deliver_start(dm_milter.spool, conf, self);
    g_thread_unref(g_thread_new("reload", dm_reload_thread, NULL));

    dm_log(DM_LOG_NOTICE, "diariemilter %s starting on %s (configuration %s)", DM_VERSION,
           conf->socket, conf_path);
    rc = smfi_main();

    /* Stopping: let messages in flight finish (the MTA waits for them up
     * to its own timeout), then flush the delivery worker. */
    for (int i = 0; i < 300 && atomic_load(&dm_milter.in_flight) > 0; i++)
        g_usleep(100 * 1000);
    if (atomic_load(&dm_milter.in_flight) > 0)
        dm_log(DM_LOG_WARNING, "stopping with %d messages unfinished; their senders retry",
               atomic_load(&dm_milter.in_flight));
    dm_deliver_stop(dm_milter.deliver);
    dm_milter.deliver = NULL;
    if (*conf->pidfile)
        unlink(conf->pidfile);
    if (upath != NULL)
        unlink(upath);
    dm_log(DM_LOG_NOTICE, "diariemilter stopped");
    g_free(upath);
    g_free(self);
    dm_conf_unref(conf);
    return rc == MI_SUCCESS ? 0 : 1;
}
