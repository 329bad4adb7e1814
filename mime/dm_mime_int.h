/*
 * Internals shared by the mime/ files; not for other modules.
 */
#ifndef DM_MIME_INT_H
#define DM_MIME_INT_H

#include "dm_mime.h"

/* Expand template `name` with vars (name -> value); the subject and body
 * are new strings.  False when there is no such template. */
bool dm_template_expand(const dm_templates *t, const char *name, GHashTable *vars,
                        char **subject, char **body);
dm_lang dm_templates_lang(const dm_templates *t);

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

/* Hash msg's body as fo writes it and set its X-Diarie-Genererad token
 * (dm_loop.h) under key, valid until expires.  Call after the Message-ID
 * and the body are final. */
bool dm_mime_set_loop_token(GMimeMessage *msg, GMimeFormatOptions *fo, const void *key,
                            size_t keylen, int64_t expires);

#endif
