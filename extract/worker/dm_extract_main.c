/*
 * build/diariemilter-extract: one attachment in, its text out.
 *
 *   diariemilter-extract [--memory BYTES] [--cpu SECONDS]
 *
 * Started by the daemon (extract/dm_extract_pool.c) with a pipe on its
 * standard input and one on its standard output.  In this order it
 *
 *   1. keeps its answer channel apart (standard output moved to fd 3,
 *      fd 1 pointed at standard error: libraries that print, like
 *      libytnef, cannot corrupt the answer) and closes every other fd;
 *   2. lowers its limits: address space, CPU seconds, file size 0, 32
 *      open files, no core; drops root if it has it;
 *   3. starts its libraries (dm_extract_libs_init);
 *   4. shuts itself in the seccomp filter (dm_extract_sandbox.c);
 *   5. waits for one request on stdin (a warm worker waits here), reads
 *      it to its end, and writes one answer on fd 3;
 *   6. exits.
 * Exit status: 0 answered; 70 the request could not be read; 71 the
 * sandbox could not be had (nothing is read without it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm_extract_worker.h"

static bool dm_write_all_fd(int fd, const guint8 *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The request from stdin: its header, then data until EOF, but never
 * more than max_bytes + 1 (the + 1 tells "too large"). */
static GByteArray *dm_read_request(void)
{
    GByteArray *buf = g_byte_array_new();
    guint8 chunk[65536];
    uint64_t cap = 0;
    ssize_t hl = 0;

    for (;;) {
        size_t want = sizeof chunk;
        ssize_t n;

        if (hl > 0) {
            if (buf->len >= cap)
                break;
            want = (size_t)MIN((uint64_t)want, cap - buf->len);
        }
        n = read(0, chunk, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            g_byte_array_free(buf, TRUE);
            return NULL;
        }
        if (n == 0)
            break;
        g_byte_array_append(buf, chunk, (guint)n);
        if (hl == 0) {
            dm_extract_req q;
            hl = dm_extract_req_decode(buf->data, buf->len, &q);
            if (hl < 0)
                break; /* not a request: answered as such */
            if (hl > 0) {
                uint64_t most = G_MAXUINT - (uint64_t)hl - 1;
                cap = (uint64_t)hl + MIN(q.max_bytes, most) + 1;
                dm_extract_req_clear(&q);
            }
        }
    }
    return buf;
}

int main(int argc, char **argv)
{
    uint64_t memory = 0;
    int64_t cpu = 0;
    int answer_fd;
    GByteArray *req, *ans;

    /* 1. The answer on fd 3, nothing else open. */
    answer_fd = dup2(1, 3);
    if (answer_fd != 3 || dup2(2, 1) != 1)
        return 71;
    close_range(4, ~0U, 0);

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--memory") == 0)
            memory = g_ascii_strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--cpu") == 0)
            cpu = g_ascii_strtoll(argv[i + 1], NULL, 10);
    }
    /* 2-4. */
    if (!dm_extract_sandbox_limits(memory, cpu))
        return 71;
    dm_extract_libs_init();
#ifndef DM_EXTRACT_TRACE
    if (!dm_extract_sandbox_seccomp())
        return 71;
#else
    /* build/diariemilter-extract-trace: the same program without its
     * filter, for tests/attach/run.sh to see what reading needs. */
#endif
    /* 5. */
    req = dm_read_request();
    if (req == NULL)
        return 70;
    ans = g_byte_array_new();
    dm_extract_handle_request(req->data, req->len, ans);
    g_byte_array_free(req, TRUE);
    if (!dm_write_all_fd(answer_fd, ans->data, ans->len))
        _exit(70);
    /* 6. No atexit work: the libraries' clean-up is the kernel's. */
    _exit(0);
}
