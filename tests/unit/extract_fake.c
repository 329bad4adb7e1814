/*
 * A stand-in for build/diariemilter-extract that misbehaves as asked, for
 * the tests of the daemon's side (tests/unit/test_extract.c).  It reads a
 * request as the real one does and acts on the request's file name:
 *
 *   hang      never answers (sleeps)
 *   crash     abort()s (SIGABRT) after reading the request
 *   segv      dies of SIGSEGV
 *   sigsys    dies of SIGSYS, as the seccomp filter kills
 *   garbage   answers bytes that are no answer
 *   toolong   answers more text than the request allowed
 *   exit3     exits with status 3 and no answer
 *   linger    answers, closes its stdout, then sleeps (never exits)
 *   early     answers "limit" after the header, without reading the data
 *   anything else: "read", the data (as text) as the answer
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm_extract.h"

static void dm_write_answer(const dm_extract_resp *r)
{
    GByteArray *out = g_byte_array_new();
    const guint8 *p;
    size_t left;

    dm_extract_resp_encode(r, out);
    for (p = out->data, left = out->len; left > 0;) {
        ssize_t n = write(1, p, left);
        if (n <= 0)
            exit(1);
        p += n;
        left -= (size_t)n;
    }
    g_byte_array_free(out, TRUE);
}

int main(void)
{
    GByteArray *buf = g_byte_array_new();
    dm_extract_req q = {0};
    ssize_t hl = 0;
    guint8 chunk[65536];
    ssize_t n;

    while (hl == 0 && (n = read(0, chunk, sizeof chunk)) > 0) {
        g_byte_array_append(buf, chunk, (guint)n);
        hl = dm_extract_req_decode(buf->data, buf->len, &q);
    }
    if (hl <= 0)
        return 2;
    if (strcmp(q.name, "early") == 0) {
        dm_extract_resp r = {.status = DM_EXTRACT_LIMIT, .format = "fake"};
        dm_write_answer(&r);
        return 0;
    }
    if (strcmp(q.name, "hang") == 0) {
        for (;;)
            pause();
    }
    while ((n = read(0, chunk, sizeof chunk)) > 0)
        g_byte_array_append(buf, chunk, (guint)n);
    if (strcmp(q.name, "crash") == 0)
        abort();
    if (strcmp(q.name, "segv") == 0)
        raise(SIGSEGV);
    if (strcmp(q.name, "sigsys") == 0)
        raise(SIGSYS);
    if (strcmp(q.name, "exit3") == 0)
        return 3;
    if (strcmp(q.name, "garbage") == 0) {
        if (write(1, "DMXR\1\0\0\0garbage", 15) != 15)
            return 1;
        return 0;
    }
    {
        size_t len = buf->len - (size_t)hl;
        dm_extract_resp r = {.status = DM_EXTRACT_READ, .format = "fake",
                             .text = (char *)buf->data + hl, .text_len = len};

        if (strcmp(q.name, "toolong") == 0) {
            r.text = g_malloc(q.max_text + 65536);
            memset(r.text, 'x', q.max_text + 65536);
            r.text_len = q.max_text + 65536;
        } else if (len > q.max_text) {
            r.text_len = q.max_text;
        }
        dm_write_answer(&r);
        if (strcmp(q.name, "linger") == 0) {
            close(1);
            for (;;)
                pause();
        }
    }
    return 0;
}
