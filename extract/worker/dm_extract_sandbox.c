/*
 * The worker's cage: resource limits first, then (once the libraries are
 * started) a seccomp filter that kills the process on any system call
 * not listed here.
 *
 * The list is what reading needs after the request arrives, measured with
 * strace on every fixture and hostile file of tests/attach (the build
 * without the filter, build/diariemilter-extract-trace; run
 * tests/attach/run.sh to measure again -- make check does, and fails
 * on a call the list lacks):
 *
 *   read, write                 the request on stdin, the answer on fd 3;
 *                               writes only to fds 0..3 (fds 1 and 2 are
 *                               /dev/null: libytnef prints), and no other
 *                               fd can be opened for writing
 *   brk, mmap, munmap, mremap, mprotect
 *                               memory; mapping an iconv module (a code
 *                               page first met in a document: openat,
 *                               mmap with PROT_EXEC, mprotect, close)
 *   openat without O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_TMPFILE
 *                               iconv modules; Poppler's CMaps
 *   close, newfstatat, lseek, getdents64
 *                               with those files; /etc/localtime (libarchive
 *                               converts zip times)
 *   exit_group                  the end
 * and, not seen on the fixtures but on paths they do not take:
 *   madvise, futex              the allocator and GLib under memory pressure
 *   clock_gettime, gettimeofday the vDSO's fallbacks
 *   rt_sigprocmask, getpid, gettid, tgkill to this process
 *                               abort() on a failed assertion, so that the
 *                               daemon sees SIGABRT rather than a kill by
 *                               the filter
 *   ioctl                       answered ENOTTY (stdio's isatty)
 *
 * Nothing that makes a socket, a file or a process (socket, connect,
 * unlink, rename, clone, fork, execve...) is allowed: the process dies
 * with SIGSYS, which the daemon logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dm_extract_worker.h"

static bool dm_limit(int what, rlim_t soft, rlim_t hard, const char *name)
{
    struct rlimit r = {.rlim_cur = soft, .rlim_max = hard};

    if (setrlimit(what, &r) != 0) {
        fprintf(stderr, "diariemilter-extract: setrlimit %s: %s\n", name, strerror(errno));
        return false;
    }
    return true;
}

bool dm_extract_sandbox_limits(uint64_t memory, int64_t cpu_seconds)
{
    if (!dm_limit(RLIMIT_CORE, 0, 0, "RLIMIT_CORE") ||
        !dm_limit(RLIMIT_FSIZE, 0, 0, "RLIMIT_FSIZE") ||
        !dm_limit(RLIMIT_NOFILE, 32, 32, "RLIMIT_NOFILE"))
        return false;
    if (memory > 0 && !dm_limit(RLIMIT_AS, (rlim_t)memory, (rlim_t)memory, "RLIMIT_AS"))
        return false;
    /* SIGXCPU at the soft limit, SIGKILL a second later. */
    if (cpu_seconds > 0 &&
        !dm_limit(RLIMIT_CPU, (rlim_t)cpu_seconds, (rlim_t)cpu_seconds + 1, "RLIMIT_CPU"))
        return false;
    /* Started by root (diariectl run as root): not as root. */
    if (geteuid() == 0 &&
        (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
        fprintf(stderr, "diariemilter-extract: cannot drop root: %s\n", strerror(errno));
        return false;
    }
    return true;
}

bool dm_extract_sandbox_seccomp(void)
{
    static const int allowed[] = {
        SCMP_SYS(read),       SCMP_SYS(brk),           SCMP_SYS(mmap),
        SCMP_SYS(munmap),     SCMP_SYS(mremap),        SCMP_SYS(mprotect),
        SCMP_SYS(close),      SCMP_SYS(newfstatat),    SCMP_SYS(lseek),
        SCMP_SYS(getdents64), SCMP_SYS(exit_group),    SCMP_SYS(madvise),
        SCMP_SYS(futex),      SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
        SCMP_SYS(rt_sigprocmask), SCMP_SYS(getpid),    SCMP_SYS(gettid),
    };
    const uint64_t write_flags = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | __O_TMPFILE;
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    int rc = 0;

    if (ctx == NULL) {
        fprintf(stderr, "diariemilter-extract: seccomp_init failed\n");
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(allowed) && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_LE, 3));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, write_flags, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 0);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        fprintf(stderr, "diariemilter-extract: seccomp: %s\n", strerror(-rc));
        return false;
    }
    return true;
}
