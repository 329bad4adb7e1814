/*
 * Internals shared by the mime/ files; not for other modules.
 */
#ifndef DM_MIME_INT_H
#define DM_MIME_INT_H

#include "dm_mime.h"
#include "dm_reasons.h"

dm_lang dm_templates_lang(const dm_templates *t);
/* The reason catalogue loaded with them. */
const dm_reasons *dm_templates_reasons(const dm_templates *t);

/* HTML to text in pieces (dm_mime_html_to_text is the whole at once).
 * dm_html_feed converts from html on and returns how many bytes it used:
 * unless final, it stops before a tag, comment or entity whose end is not
 * yet there, and the caller hands those bytes again with what follows
 * (whole UTF-8 characters only).  dm_html_finish frees h and returns the
 * text. */
typedef struct dm_html dm_html;
dm_html *dm_html_new(void);
size_t dm_html_feed(dm_html *h, const char *html, size_t len, bool final);
size_t dm_html_len(const dm_html *h); /* bytes of text so far */
char *dm_html_finish(dm_html *h);

/* Bytes of a text part read and converted at a time (256 kB); tests and
 * the fuzzer make it small to put chunk ends everywhere.  Not to be
 * changed while messages are read. */
extern size_t dm_mime_chunk;

/* The parse budget (dm_mime_budget.c): the offset from the stream's
 * position at which GMime's parsing must stop for the message to keep
 * within lim, and why (a limit's name); -1 when the whole can be parsed.
 * Reads the stream and seeks it back. */
gint64 dm_mime_budget(GMimeStream *stream, const dm_mime_limits *lim, const char **why);

/* The parser options every parse uses (lenient; dm_mime_init). */
GMimeParserOptions *dm_mime_parser_options(void);

/* Note in m->limits that a limit was reached (once per name). */
void dm_mime_note_limit(dm_msg *m, const char *what);

/* The top-level headers (dm_mime_headers.c): m->headers within
 * max_headers and max_header_size, subject, From, Message-ID, Date,
 * In-Reply-To, References, and the markers of automatic, bulk and spam
 * mail. */
void dm_mime_read_headers(dm_msg *m, GMimeMessage *msg, const dm_mime_limits *lim);

/* The segments of one message (dm_mime_segments.c), built as extraction
 * reads it, in the message's order. */
typedef struct dm_segb dm_segb;
dm_segb *dm_segb_new(dm_msg *m, const dm_mime_limits *lim);
/* The subject (and whether it is a forward's). */
void dm_segb_subject(dm_segb *b, const char *subject);
/* A text part as read (valid UTF-8), cut into body, quoted, forwarded,
 * signature and footer; own: what the sender's own text is here (BODY;
 * FORWARDED in an attached message, QUOTED in a returned one). */
void dm_segb_text(dm_segb *b, const char *text, size_t len, dm_seg_kind own);
/* One segment as it is (a name, calendar text, attachment text). */
dm_segment *dm_segb_add(dm_segb *b, dm_seg_kind kind, const char *text, size_t len,
                        const char *source, int page);
/* What comes next is not joined to what came before (a new message). */
void dm_segb_barrier(dm_segb *b);
/* The languages; frees b. */
void dm_segb_finish(dm_segb *b);

/* --- the walk of a message's MIME tree (dm_mime_extract.c) ---------- */

/* One message's walk, shared with the files that read a kind of part for
 * it. */
typedef struct {
    dm_msg *m;
    const dm_mime_limits *lim;
    dm_segb *segs;        /* the segments, built as the walk reads */
    dm_extract_budget budget; /* the attachments' share of the message */
    int parts;
    dm_seg_kind own;      /* what a text part's own text is here: BODY,
                           * FORWARDED in an attached message */
    bool in_report;       /* inside a multipart/report */
    bool text_full;
    bool parts_full;
    bool depth_hit;
    /* A rendering read ahead to choose an alternative (and its text). */
    GMimeObject *ahead;
    char *ahead_text;
} dm_walk;

/* Walk obj (a part at depth), reading its text when read. */
void dm_walk_object(dm_walk *w, GMimeObject *obj, int depth, bool read);
/* Room left for the message's text, in bytes. */
size_t dm_walk_text_room(const dm_walk *w);
/* Add text to the message's, within max_text (cut at a character). */
void dm_walk_append_text(dm_walk *w, const char *text);

/* How a leaf part is read. */
typedef enum {
    DM_LEAF_LIST,     /* an attachment: listed, not read */
    DM_LEAF_PLAIN,    /* text/plain */
    DM_LEAF_HTML,     /* text/html */
    DM_LEAF_ENRICHED, /* text/enriched, text/richtext */
    DM_LEAF_REPORT,   /* the machine-readable part of a report: skipped */
} dm_leaf;

/* A leaf part's content (dm_mime_parts.c). */
dm_leaf dm_mime_leaf_kind(GMimeObject *obj);
/* Its decoded content as a stream (NULL when it has none); enriched:
 * text/enriched turned into HTML. */
GMimeStream *dm_mime_part_stream(GMimePart *part, bool enriched);
/* Its first decoded bytes, at most cap. */
GByteArray *dm_mime_part_bytes(GMimePart *part, size_t cap);
/* Its text as valid UTF-8, read only as far as room needs. */
char *dm_mime_part_text(GMimePart *part, dm_leaf kind, size_t room);
/* ... within the walk's room, NULL when the message's text is full
 * (dm_mime_extract.c). */
char *dm_walk_leaf_text(dm_walk *w, GMimePart *part, dm_leaf kind);

/* Attachments (dm_mime_attach.c): list obj (and its name as a segment);
 * read a part's text; after the walk, their text after the message's. */
dm_attachment *dm_mime_add_attachment(dm_walk *w, GMimeObject *obj);
void dm_mime_read_attachment(dm_walk *w, GMimePart *part, dm_attachment *a);
void dm_mime_append_attachments(dm_walk *w);

/* multipart/alternative: one rendering read, the others walked unread
 * (dm_mime_alternative.c). */
void dm_mime_walk_alternative(dm_walk *w, GMimeMultipart *mp, int depth, bool read);

/* The SUMMARY, LOCATION and DESCRIPTION of a calendar's events, unfolded
 * and unescaped (dm_mime_calendar.c); NULL when it has none. */
char *dm_mime_calendar_text(const char *ics, size_t len);

/* The signed content of S/MIME signed data (DER), or NULL
 * (dm_mime_smime.c). */
GByteArray *dm_mime_smime_content(const guint8 *der, size_t len);

/* Language (dm_mime_lang.c): ISO 639-1 of text among w->languages, ""
 * when too short or unsure. */
void dm_mime_lang_of(const dm_seg_words *w, const char *text, size_t len, char lang[4]);
/* Each segment's language and the message's. */
void dm_mime_lang_segments(const dm_seg_words *w, dm_msg *m);

/* --- composition (dm_mime_compose.c), shared by the copy and notices -- */

/* The values every template may use (dm_compose_info; for a notice,
 * nothing of a sekretess message's own words).  name -> new string. */
GHashTable *dm_compose_vars(const dm_compose_info *ci, const dm_templates *t, bool for_notice);
/* t in [site] timezone (UTC if the zone is gone). */
GDateTime *dm_compose_local_time(const dm_compose_info *ci, int64_t t);
/* t as "2026-11-17T10:05:14+01:00" in [site] timezone (a new string). */
char *dm_compose_iso_time(const dm_compose_info *ci, int64_t t);
/* [site] gateway_id, or the host name. */
const char *dm_compose_gateway(const dm_compose_info *ci);
/* The addresses To, Cc, Resent-To, Resent-Cc name, lowercase (a set). */
GHashTable *dm_named_rcpts(const dm_msg *m);
/* The directory entry of envelope recipient i, or NULL. */
const dm_entry *dm_compose_rcpt_entry(const dm_compose_info *ci, size_t i);
/* The reasons of v that are signs of sekretess (R9), at most max. */
guint dm_compose_sekretess_signs(const dm_verdict *v, const dm_reason **out, guint max);
/* A sign's name in diarie.json and X-Diarie-Sekretess ("case",
 * "personnummer", "samordningsnummer"); NULL for any other reason. */
const char *dm_compose_sign_name(const dm_reason *r);
/* A reason's text for the registrator (a new string): as the verdict
 * gives it, but a sign of sekretess without the facts that made it one. */
char *dm_compose_reason_text(const dm_templates *t, const dm_reason *r);
/* The Message-ID of a generated message (a new string, no <>). */
char *dm_generated_id(const dm_compose_info *ci, const char *kind, const char *to);
/* A message from ci->from_header to `to`: Date, Message-ID,
 * Auto-Submitted, Content-Language, X-Diarie-Id. */
GMimeMessage *dm_generated_message(const dm_compose_info *ci, const char *to,
                                   const char *subject, const char *kind, dm_lang lang);
/* A text/plain part in UTF-8, quoted-printable.  (g_mime_text_part_set_text
 * would pick the "best" charset, often ISO-8859-1: UTF-8 is what every
 * client reads and what the templates are written in.) */
GMimeObject *dm_text_part(const char *body);
/* How composed messages are written: LF line ends (for sendmail(1)),
 * parameters in RFC 2231. */
GMimeFormatOptions *dm_compose_format_options(void);
/* Write the finished message, with its loop token when ci asks for one. */
bool dm_write_message(GMimeMessage *msg, const dm_compose_info *ci, GMimeStream *out,
                      GError **err);

/* The attached original's file name (dm_mime_copy.c, a new string): its
 * subject in letters, digits and a few safe marks, at most 60
 * characters, then ".eml"; by its id ("ID.eml") for a sekretess message
 * or one without a usable subject. */
char *dm_copy_filename(const dm_compose_info *ci);

/* diarie.json of a wrapped copy (dm_mime_copy_json.c): the facts of
 * etc/diarie.schema.json.  original_name, original_type: the attached
 * original's file name and MIME type.  A new string, UTF-8. */
char *dm_copy_json(const dm_compose_info *ci, const dm_templates *t, const char *to,
                   const char *original_name, const char *original_type);

/* Hash msg's body as fo writes it and set its X-Diarie-Genererad token
 * (dm_loop.h) under key, valid until expires.  Call after the Message-ID
 * and the body are final. */
bool dm_mime_set_loop_token(GMimeMessage *msg, GMimeFormatOptions *fo, const void *key,
                            size_t keylen, int64_t expires);

#endif
