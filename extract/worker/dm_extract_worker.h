/*
 * The extraction worker's insides (build/diariemilter-extract): the
 * format readers and what they write into.  Nothing here runs in the
 * daemon: these files link Poppler, libarchive, libxml2 and libytnef,
 * and run in a sandboxed process (dm_extract_sandbox.c) or, for tests and
 * the fuzzer, in-process without the sandbox.
 */
#ifndef DM_EXTRACT_WORKER_H
#define DM_EXTRACT_WORKER_H

#include "dm_extract.h"

/* The text an answer carries, bounded: once max bytes are in, more is
 * dropped and DM_EXTRACT_F_TEXT_CUT set.  Always valid UTF-8 without
 * NUL.  Pages of a PDF are separated by a form feed (\f). */
typedef struct dm_extract_text {
    GString *s;
    size_t max;
    uint32_t flags; /* DM_EXTRACT_F_* */
    uint32_t pages;
} dm_extract_text;

/* Append len bytes of valid UTF-8 (NUL and other control characters
 * but \t \n \f become blanks).  False once the text is full: the reader
 * may stop. */
bool dm_extract_text_add(dm_extract_text *t, const char *s, size_t len);
bool dm_extract_text_addc(dm_extract_text *t, char c);
/* A line break unless the text is empty or already ends with one. */
void dm_extract_text_break(dm_extract_text *t);
bool dm_extract_text_full(const dm_extract_text *t);
/* Anything but white space in the text from byte `from` on? */
bool dm_extract_text_any(const dm_extract_text *t, size_t from);

/* The reader for each format.  Each writes what it reads into out and
 * says what became of it; out may hold text already (TNEF nests). */
dm_extract_status dm_extract_pdf(const guint8 *data, size_t len, const dm_extract_req *q,
                                 dm_extract_text *out, const char **format);
dm_extract_status dm_extract_office(const guint8 *data, size_t len, const dm_extract_req *q,
                                    dm_extract_text *out, const char **format);
dm_extract_status dm_extract_rtf(const guint8 *data, size_t len, const dm_extract_req *q,
                                 dm_extract_text *out);
dm_extract_status dm_extract_tnef(const guint8 *data, size_t len, const dm_extract_req *q,
                                  dm_extract_text *out, uint32_t depth);
/* An encrypted OOXML document is an OLE2 file holding EncryptionInfo. */
dm_extract_status dm_extract_cfb(const guint8 *data, size_t len);

/* Any attachment: detect it (magic, then type and name) and read it with
 * its reader.  depth: how deep inside other attachments it sits.
 * *format: what it was read as (static string). */
dm_extract_status dm_extract_any(const guint8 *data, size_t len, const char *type,
                                 const char *name, const char *charset,
                                 const dm_extract_req *q, dm_extract_text *out, uint32_t depth,
                                 const char **format);

/* One request (header and data) to its answer: what the worker does
 * between reading its standard input and writing its standard output,
 * and what the fuzzer calls in-process.  A request that is not one gets
 * DM_EXTRACT_FAILED. */
void dm_extract_handle_request(const guint8 *buf, size_t len, GByteArray *answer);

/* Start the libraries so that nothing they load later needs more than
 * the sandbox allows (Poppler's global state, libxml2's parser, iconv's
 * common converters); refuses every external entity for good. */
void dm_extract_libs_init(void);

/* The sandbox (dm_extract_sandbox.c): resource limits, then, after
 * dm_extract_libs_init, the seccomp filter.  False with a message on
 * stderr when it cannot be had: the worker then refuses to work. */
bool dm_extract_sandbox_limits(uint64_t memory, int64_t cpu_seconds);
bool dm_extract_sandbox_seccomp(void);

#endif
