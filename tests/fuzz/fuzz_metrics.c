/*
 * libFuzzer target over what the metrics listener reads from a client:
 * dm_metrics_http_status on the bytes as a request.  The answer must be
 * one of 200, 400, 404 and 405, HEAD only with 200, and the same for the
 * same first line whatever follows it.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined by "make
 * build/fuzz/fuzz_metrics"; run for a few seconds by "make check"
 * (fuzz-test).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dm_metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *req = malloc(size + 1);
    size_t line;
    bool head = false, head2 = false;
    int st, st2;

    memcpy(req, data, size);
    req[size] = '\0';
    st = dm_metrics_http_status(req, &head);
    if (st != 200 && st != 400 && st != 404 && st != 405)
        abort();
    if (head && st != 200)
        abort();
    /* Only the first line counts. */
    line = strcspn(req, "\r\n");
    req[line] = '\0';
    st2 = dm_metrics_http_status(req, &head2);
    if (st2 != st || head2 != head)
        abort();
    free(req);
    return 0;
}
