/*
 * dm_extract: the text of attachments (PDF, Word, OpenDocument, RTF,
 * TNEF), read in a sandboxed child process.
 *
 * The daemon never runs a document parser itself.  Each attachment goes
 * to a worker, build/diariemilter-extract (extract/worker/), a program
 * of its own that lowers its resource limits, starts its libraries,
 * shuts itself in a seccomp filter (no sockets, no files written, no
 * processes) and then reads ONE request on its standard input and writes
 * ONE answer on its standard output before it exits.  A pool keeps
 * workers started ahead, waiting on their standard input, so that a
 * message does not wait for a program to start; each is used once.
 *
 * The parent's side (this header, dm_extract_pool.c) streams the
 * attachment into the worker and reads the answer under a wall-clock
 * deadline; on expiry it kills that worker (SIGKILL) and reaps that pid
 * only.  A crash, a timeout, a limit or an answer that is not one means
 * "no text from this attachment" with a status saying why: the message
 * always goes on.
 *
 * The wire format (dm_extract_proto.c) is shared with the worker.
 */
#ifndef DM_EXTRACT_H
#define DM_EXTRACT_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What became of an attachment.  The numbers travel on the wire. */
typedef enum {
    DM_EXTRACT_NONE = 0,        /* not tried (no extraction configured) */
    DM_EXTRACT_READ = 1,        /* text read (flags say if a limit cut it) */
    DM_EXTRACT_NO_TEXT = 2,     /* read, but it holds no text (a scan) */
    DM_EXTRACT_ENCRYPTED = 3,   /* needs a password */
    DM_EXTRACT_UNSUPPORTED = 4, /* not a type that is read */
    DM_EXTRACT_FAILED = 5,      /* malformed, or the worker crashed */
    DM_EXTRACT_TIMEOUT = 6,     /* the deadline passed (wall clock or CPU) */
    DM_EXTRACT_LIMIT = 7,       /* too large, too many, a zip bomb */
} dm_extract_status;

#define DM_EXTRACT_STATUS_MAX DM_EXTRACT_LIMIT

/* Flags of an answer. */
enum {
    DM_EXTRACT_F_TEXT_CUT = 1 << 0, /* more text than max_text: cut */
    DM_EXTRACT_F_PAGES = 1 << 1,    /* more pages than max_pages: not all read */
    DM_EXTRACT_F_PARTIAL = 1 << 2,  /* malformed in part: what could be read */
    DM_EXTRACT_F_EXPANDED = 1 << 3, /* an archive limit stopped reading */
};

/* "read", "no text", ...: for logs and tests. */
const char *dm_extract_status_name(dm_extract_status s);

/* --- formats (dm_extract_detect.c) ------------------------------------- */

typedef enum {
    DM_FMT_UNKNOWN = 0,
    DM_FMT_PDF,
    DM_FMT_OOXML,   /* zip: docx, xlsx, pptx */
    DM_FMT_ODF,     /* zip: odt, ods, odp (the worker looks inside for which) */
    DM_FMT_RTF,
    DM_FMT_TNEF,
    DM_FMT_CFB,     /* OLE2 compound file: an encrypted OOXML document */
    DM_FMT_TEXT,    /* text/plain and the like */
    DM_FMT_HTML,    /* text/html */
} dm_extract_format;

/* What an attachment is, from its first bytes (head, n of them: 512 are
 * enough), then its declared content type and file name (either may be
 * NULL).  Magic bytes win over the label: a "text/plain" that starts
 * with %PDF is a PDF; a label alone makes a zip an office document, and
 * names a text.  UNKNOWN: not read (images, audio, archives...). */
dm_extract_format dm_extract_detect(const void *head, size_t n, const char *type,
                                    const char *name);

/* --- wire format (dm_extract_proto.c) ---------------------------------- */

/* A request: this header, then the attachment's bytes up to EOF. */
typedef struct dm_extract_req {
    uint64_t max_bytes;    /* more bytes than this: DM_EXTRACT_LIMIT */
    uint64_t max_text;     /* bytes of UTF-8 text returned at most */
    uint64_t max_expanded; /* bytes an archive may expand to, in all */
    uint32_t max_pages;    /* pages, sheets or slides read */
    uint32_t max_entries;  /* entries of an archive looked at */
    uint32_t max_ratio;    /* expanded bytes per byte of archive */
    uint32_t max_depth;    /* attachments inside attachments (TNEF) */
    char *type;            /* declared content type, "" when none */
    char *name;            /* declared file name, "" when none */
    char *charset;         /* declared charset (iconv name), "" when none */
} dm_extract_req;

/* An answer. */
typedef struct dm_extract_resp {
    dm_extract_status status;
    uint32_t flags;
    uint32_t pages;  /* pages, sheets or slides read */
    char *format;    /* "pdf", "docx", ...: what it was read as, "" */
    char *text;      /* valid UTF-8 without NUL, "" when none */
    size_t text_len;
} dm_extract_resp;

#define DM_EXTRACT_REQ_FIXED 56  /* bytes of a request header before its strings */
#define DM_EXTRACT_RESP_FIXED 24 /* bytes of an answer before its strings */
#define DM_EXTRACT_STR_MAX 1024  /* longest type, name, charset or format */

/* Append the request header to out. */
void dm_extract_req_encode(const dm_extract_req *q, GByteArray *out);
/* Parse a request header from buf (len bytes).  Returns the header's
 * length (the data starts there), 0 when more bytes are needed, -1 when
 * it is not a request.  Strings are new (dm_extract_req_clear). */
ssize_t dm_extract_req_decode(const void *buf, size_t len, dm_extract_req *q);
void dm_extract_req_clear(dm_extract_req *q);

void dm_extract_resp_encode(const dm_extract_resp *r, GByteArray *out);
/* Parse a whole answer (exactly len bytes); false when it is not one, is
 * not whole, or its text is not valid UTF-8 or holds a NUL, or is longer
 * than max_text. */
bool dm_extract_resp_decode(const void *buf, size_t len, uint64_t max_text,
                            dm_extract_resp *r);
void dm_extract_resp_clear(dm_extract_resp *r);

/* --- the parent's side (dm_extract_pool.c) ----------------------------- */

typedef struct dm_extract_conf {
    char *extractor;          /* the worker program, absolute */
    int workers;              /* kept started ahead (0: started on demand) */
    uint64_t memory;          /* a worker's address space (RLIMIT_AS), bytes */
    int64_t timeout_ms;       /* one attachment, wall clock */
    int64_t message_timeout_ms; /* all attachments of a message */
    int max_attachments;      /* read per message (0: none) */
    uint64_t max_bytes;       /* bytes of one attachment read */
    uint64_t max_text;        /* text of one attachment */
    uint64_t max_text_total;  /* text of all attachments of a message */
    uint32_t max_pages;
    uint32_t max_entries;
    uint32_t max_ratio;
    uint64_t max_expanded;
    uint32_t max_depth;
} dm_extract_conf;

typedef struct dm_extract_pool dm_extract_pool;

struct dm_conf;
/* [mime]'s keys (extractor, extract_*, max_attachment*, ...); the
 * extractor string stays conf's. */
void dm_extract_conf_from(const struct dm_conf *c, dm_extract_conf *out);
/* The worker installed with the daemon: LIBEXECDIR/diariemilter-extract. */
const char *dm_extract_default_extractor(void);

/* A pool for conf (copied).  warm: keep conf->workers started ahead and
 * replace each one used from a thread of the pool's own (the daemon);
 * otherwise each attachment starts a worker when it needs one (diariectl
 * classify reads a message or two).  A missing extractor is no error:
 * it is logged once, and every attachment then fails to be read. */
dm_extract_pool *dm_extract_pool_new(const dm_extract_conf *conf, bool warm);
/* Kills the idle workers and reaps them; no reading may be under way. */
void dm_extract_pool_free(dm_extract_pool *p);
/* Idle workers right now (tests). */
int dm_extract_pool_idle(dm_extract_pool *p);

/* One message's share: zero it before its first attachment. */
typedef struct dm_extract_budget {
    int attachments;      /* read or tried */
    uint64_t text;        /* bytes of attachment text so far */
    int64_t spent_us;     /* wall-clock time spent on its attachments */
} dm_extract_budget;

/* Reads the attachment's decoded bytes: up to len into buf; 0 at its
 * end, -1 on an error. */
typedef ssize_t (*dm_extract_read_fn)(void *ctx, void *buf, size_t len);

typedef struct dm_extract_doc {
    const char *type;    /* declared content type, or NULL */
    const char *name;    /* declared file name, or NULL */
    const char *charset; /* declared charset as an iconv name, or NULL */
    dm_extract_read_fn read;
    void *ctx;
} dm_extract_doc;

typedef struct dm_extract_result {
    dm_extract_status status;
    uint32_t flags;
    uint32_t pages;
    char *format;     /* as the worker named it, or NULL */
    char *text;       /* valid UTF-8 without NUL, or NULL */
    size_t text_len;
    int64_t cpu_us;   /* the worker's CPU time (user + system), 0 if none */
    int64_t wall_us;  /* wall-clock time, from the first byte read */
    char *why;        /* for the log: what went wrong, or NULL */
} dm_extract_result;

/* May the message read one more attachment (count and time left)?
 * False: DM_EXTRACT_LIMIT for it. */
bool dm_extract_budget_allows(const dm_extract_pool *p, const dm_extract_budget *b);
/* Bytes of text one more attachment of the message may give. */
uint64_t dm_extract_budget_text(const dm_extract_pool *p, const dm_extract_budget *b);

/* The text of one attachment in a worker, within conf's limits and what
 * is left of the message's budget b (updated).  d->read gives the
 * attachment from its first byte.  The caller has detected the format
 * (TEXT and HTML it reads itself, like a body part; UNKNOWN not at all).
 * Never fails: r->status says what became of it. */
void dm_extract_attachment(dm_extract_pool *p, dm_extract_budget *b, const dm_extract_doc *d,
                           dm_extract_result *r);
void dm_extract_result_clear(dm_extract_result *r);

#endif
