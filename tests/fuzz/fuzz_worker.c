/*
 * libFuzzer target over the attachment reader's request handling
 * (extract/worker/), in-process and without the sandbox:
 *
 *   an input that starts with "DMXQ" is a whole request (header, then
 *   data), as the worker reads it from its stdin;
 *   any other input is the data of a request whose header this target
 *   writes, its declared type picked by the first byte (PDF, DOCX, ODT,
 *   RTF, TNEF, text), with small limits so that every limit path runs;
 *
 * and dm_extract_handle_request's answer must decode (status in range,
 * text valid UTF-8 without NUL, within max_text).
 *
 * libytnef calls exit() on some malformed input (its answer to what it
 * cannot read); the worker then simply ends and the daemon counts the
 * attachment as failed.  Here exit() during a request returns to the
 * target instead (the worker's fuzz run keeps no leak check: the state
 * left behind by such an exit is the library's).
 *
 * Seeds: every fixture of tests/attach/make-fixtures.py as a request
 * (build/attach/seeds).  Built by "make build/fuzz/fuzz_worker"; run by
 * tests/fuzz/run.sh.
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dm_extract_worker.h"

static bool dm_in_request;
static sigjmp_buf dm_back;

/* A library's exit() while a request is handled comes back here. */
void exit(int status)
{
    static void (*real_exit)(int);

    if (dm_in_request)
        siglongjmp(dm_back, 1);
    if (real_exit == NULL)
        real_exit = (void (*)(int))dlsym(RTLD_NEXT, "exit");
    real_exit(status);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    dm_extract_libs_init();
    return 0;
}

static void dm_check_answer(const GByteArray *ans, uint64_t max_text)
{
    dm_extract_resp r;

    if (!dm_extract_resp_decode(ans->data, ans->len, max_text, &r)) {
        fprintf(stderr, "fuzz_worker: the answer does not decode\n");
        abort();
    }
    if (r.status != DM_EXTRACT_READ && r.text_len != 0) {
        fprintf(stderr, "fuzz_worker: text with status %d\n", r.status);
        abort();
    }
    dm_extract_resp_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[][2] = {
        {"application/pdf", "a.pdf"},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a.docx"},
        {"application/vnd.oasis.opendocument.text", "a.odt"},
        {"application/rtf", "a.rtf"},
        {"application/ms-tnef", "winmail.dat"},
        {"text/plain", "a.txt"},
    };
    GByteArray *req = g_byte_array_new();
    GByteArray *volatile ans = g_byte_array_new();
    uint64_t max_text = 1 << 20;

    if (size >= 4 && memcmp(data, "DMXQ", 4) == 0) {
        dm_extract_req q;
        if (dm_extract_req_decode(data, size, &q) > 0) {
            max_text = q.max_text;
            dm_extract_req_clear(&q);
        } else {
            max_text = 0; /* not a request: "failed", without text */
        }
        g_byte_array_append(req, data, (guint)size);
    } else {
        unsigned k = size > 0 ? data[0] % G_N_ELEMENTS(types) : 0;
        dm_extract_req q = {.max_bytes = 1 << 20, .max_text = size % 2 ? 64 : 4096,
                            .max_expanded = 1 << 20, .max_pages = size % 3 + 1,
                            .max_entries = 50, .max_ratio = 20, .max_depth = 3,
                            .type = (char *)types[k][0], .name = (char *)types[k][1],
                            .charset = ""};

        max_text = q.max_text;
        dm_extract_req_encode(&q, req);
        if (size > 1)
            g_byte_array_append(req, data + 1, (guint)(size - 1));
    }
    if (sigsetjmp(dm_back, 0) == 0) {
        dm_in_request = true;
        dm_extract_handle_request(req->data, req->len, ans);
        dm_in_request = false;
        dm_check_answer(ans, max_text);
    }
    dm_in_request = false;
    g_byte_array_free(req, TRUE);
    g_byte_array_free(ans, TRUE);
    return 0;
}
