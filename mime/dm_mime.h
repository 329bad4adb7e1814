/*
 * dm_mime: GMime 3 in diariemilter's terms.
 *
 * Extraction turns a message (a buffer, a spooled file) into the facts the
 * rules read (dm_msg): every text part as valid UTF-8, the markers of
 * automatic and bulk mail, the attachments, the limits reached.  It never
 * fails: a malformed message is classified on what could be read.
 *
 * What is read (diariemilter.conf(5), READING MESSAGES, says it for
 * administrators):
 *   - text/plain, text/html (rendered by libxml2, dm_mime_html.c),
 *     text/enriched, at any depth of multiparts and attached messages;
 *     one rendering of an alternative (the plain one unless it is empty
 *     or a stub of the HTML);
 *   - calendars (SUMMARY, LOCATION, DESCRIPTION) and the content of
 *     S/MIME signed data;
 *   - an attached message (message/rfc822, message/global) after a
 *     "---------- Vidarebefordrat meddelande ----------" line and its
 *     Från:, Datum:, Ämne:: forwarded mail counts;
 *   - attachments: listed, and, when the caller gives an extraction pool
 *     (dm_mime_limits.extract), read: PDF, Word, OpenDocument, RTF, TNEF
 *     in a sandboxed worker (extract/), text and HTML files here like a
 *     text part.  Each keeps its own text and status (dm_attachment); the
 *     text is also appended to the message's text after the body, each
 *     block after a line "---------- Bilaga: NAME ----------", so that the
 *     rules find case numbers and personnummer there.  Without a pool
 *     (tests, the fuzzer) attachments are listed, not read;
 *   - listed, not read: other text types (vcard), encrypted parts (and
 *     "encrypted" among the limits); skipped: the machine-readable parts
 *     of reports.
 * What is read becomes the segments the rules weigh (dm_msg.segments:
 * subject, own text, quoted, forwarded, signature, footer, attachment
 * names, attachments' text, calendar text; dm_mime_segments.c), with
 * their languages (dm_mime_lang.c).
 * Parts are read as streams from the parser's substreams, chunk by chunk
 * and only as far as max_text needs: no copy of the message, a few MB
 * whatever its size (bench/memory.sh).  GMime is given only the bytes
 * that keep within the limits (dm_mime_budget.c): a flood of parts or
 * headers costs no more.
 *
 * Composition writes what diariemilter sends: the registrator copy
 * (wrapped: a cover note, diarie.json and the original, byte for byte;
 * or redirect: the original itself, resent) and the notices, from the
 * templates in etc/templates/<language>/.
 */
#ifndef DM_MIME_H
#define DM_MIME_H

#include <gmime/gmime.h>
#include <stdbool.h>

#include "dm_conf.h"
#include "dm_extract.h"
#include "dm_facts.h"
#include "dm_segwords.h"
#include "dm_verdict.h"

/* Call once, before threads start. */
void dm_mime_init(void);
void dm_mime_shutdown(void);

typedef struct dm_mime_limits {
    size_t max_text;        /* bytes of extracted text */
    int max_parts;
    int max_depth;          /* nesting of multiparts and message/rfc822 */
    int max_headers;
    size_t max_header_size; /* bytes of one header value */
    /* Not a limit: subjects that mark an automatic reply when no header
     * does ([autoreply] of rules.conf, dm_policy_autoreply_subjects),
     * casefolded, NULL-terminated; borrowed.  NULL: none. */
    const char *const *autoreply_subjects;
    /* Not a limit either: how quotes, forwards, signatures and footers
     * are written, and the languages told apart ([replies] and [segments]
     * of rules.conf, dm_policy_seg_words); borrowed.  NULL: segments by
     * structure alone, no languages. */
    const dm_seg_words *words;
    dm_extract_pool *extract; /* reads attachments; NULL: listed, not read
                               * (borrowed: the engine's) */
} dm_mime_limits;

/* The limits of [mime]; autoreply_subjects, words and extract NULL. */
void dm_mime_limits_from_conf(const dm_conf *conf, dm_mime_limits *lim);

/* Extract from a seekable stream positioned at the start of the message.
 * The stream is not copied: GMime refers to it while parsing. */
dm_msg *dm_mime_extract(GMimeStream *stream, const dm_mime_limits *lim);
/* Convenience: from memory (copied: for tests and small inputs). */
dm_msg *dm_mime_extract_buffer(const char *data, size_t len, const dm_mime_limits *lim);

/* HTML to plain text: tags dropped, script and style skipped, entities
 * decoded, block elements as line breaks.  Input and output UTF-8. */
char *dm_mime_html_to_text(const char *html, size_t len);

/* Bytes of any charset to valid UTF-8: the declared charset when it
 * converts, else UTF-8 when valid, else windows-1252. */
char *dm_mime_to_utf8(const char *data, size_t len, const char *charset);

/* --- composition --------------------------------------------------------- */

typedef struct dm_templates dm_templates;

/* Load etc/templates/<lang>/ (dir is the templates root). */
dm_templates *dm_templates_load(const char *dir, dm_lang lang, GError **err);
void dm_templates_free(dm_templates *t);

/* What every composed message needs to know about the original. */
typedef struct dm_compose_info {
    const char *id;            /* X-Diarie-Id of the original */
    const char *queue_id;      /* MTA queue id, may be NULL */
    const char *env_from;      /* "" for <> */
    char *const *rcpts;        /* every envelope recipient, Bcc included */
    size_t n_rcpts;
    const dm_party *parties;   /* the same recipients with their directory
                                * entries (dm_facts.rcpts), or NULL: the
                                * cover note then names no lists */
    const dm_msg *msg;
    const dm_verdict *verdict;
    const char *sha256;        /* of the original as received */
    const char *from_header;   /* "Diariemilter <postmaster@sjovik.test>" */
    const void *loop_key;      /* the site key: the composed message gets
                                * an X-Diarie-Genererad token (dm_loop.h);
                                * NULL: none */
    size_t loop_keylen;
    int64_t loop_expires;      /* the token's expiry (Unix time) */
    int64_t now;               /* when the message arrived: the gateway's
                                * clock at its end of data */
    const dm_conf *conf;       /* [site] timezone and gateway_id,
                                * [delivery] copy_form and copy_reply_to;
                                * NULL: their defaults */
} dm_compose_info;

/* The registrator copy for registrator `to`.  original: the message as
 * received, read from its start to its end.  Its form is [delivery]
 * copy_form (diariemilter(8), THE REGISTRATOR'S COPY, says it for
 * administrators):
 *
 * wrapped: multipart/mixed: the cover note (text/plain, UTF-8), the
 * gateway's facts as diarie.json (application/json, etc/diarie.schema.json),
 * then the original, named after its subject (by its id for a sekretess
 * message).  An original that can travel through sendmail(1) and SMTP as
 * it is goes as message/rfc822, 7bit or 8bit, byte for byte but for CRLF
 * becoming LF.  One that cannot (raw 8-bit bytes in a header, a NUL byte,
 * a CR not before LF, a line over 998 bytes) goes as message/global
 * (RFC 6532) in base64, which decodes to exactly the bytes received.
 * Reply-To: as [delivery] copy_reply_to says.
 *
 * redirect: the original itself, resent: Resent-From/To/Date/Message-ID
 * and the facts in X-Diarie-* headers on top, every X-Diarie-* header it
 * arrived with removed, its body byte for byte but for CRLF becoming LF.
 * The loop token covers the original's Message-ID and body.  An original
 * that could not travel as it is goes wrapped instead.
 *
 * A sekretess copy carries Sensitivity: Company-Confidential in either
 * form. */
bool dm_mime_write_copy(GMimeStream *out, const dm_compose_info *ci, const char *to,
                        GMimeStream *original, const dm_templates *t, GError **err);

/* Expand template `name` with vars (name -> value); the subject and body
 * are new strings.  False when there is no such template. */
bool dm_template_expand(const dm_templates *t, const char *name, GHashTable *vars,
                        char **subject, char **body);

/* A message of the gateway's own that is about no one message as it
 * arrives (a reminder, the registrator's digest): template `name`
 * expanded with vars (name -> value), to `to`.  Of ci only id (its
 * X-Diarie-Id), from_header, now, conf and the loop key are used. */
bool dm_mime_write_generated(GMimeStream *out, const dm_compose_info *ci, const char *to,
                             const char *name, GHashTable *vars, const dm_templates *t,
                             GError **err);

/* A notice (DM_ACT_NOTICE or DM_ACT_MANAGER_NOTICE) for action a. */
bool dm_mime_write_notice(GMimeStream *out, const dm_compose_info *ci, const dm_action *a,
                          const dm_templates *t, GError **err);

#endif
