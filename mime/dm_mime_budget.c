/*
 * The parse budget: how much of a message GMime is given to parse.
 *
 * GMime builds the whole tree of a message before extraction walks it,
 * and what the walk's limits then leave unread has already cost memory:
 * about 1.3 kB a MIME part and 0.5 kB a header field.  A 2.8 MB message
 * of 400,000 empty parts made 520 MB; 23 MB of header lines, 430 MB.
 * One such message could take the daemon down.
 *
 * So before GMime parses, one pass over the bytes (a light reading of
 * header blocks, Content-Type boundaries and delimiter lines, as GMime
 * reads them) finds where the [mime] limits would be exceeded so far
 * beyond anything the walk reads that no reader would miss the rest:
 *
 *   - more parts than max_parts (each delimiter line of a declared
 *     boundary starts a part, each attached message is one): the walk
 *     stops at max_parts objects in this same order;
 *   - a header block of more fields than 4 * max_headers (at least
 *     10,000), or more fields in all the blocks together than
 *     4 * max_headers + 16 * max_parts (at least 20,000): the markers
 *     are read beyond max_headers, so only far beyond;
 *   - one header field of more than 16 * max_header_size bytes (at least
 *     1 MB);
 *   - a multipart's preamble or epilogue (GMime keeps them as strings; a
 *     multipart whose delimiters never match keeps its whole body so)
 *     longer than max_text and 64 kB (at least 1 MB): the walk reads no
 *     more of it than max_text.
 *
 * GMime then parses the bytes before that point only, and the limit is
 * noted.  Mail that keeps within the limits (all real mail) is parsed
 * whole; the original is untouched (copies are made from it).
 */
#include <string.h>

#include "dm_mime_int.h"

/* Bytes of a line kept for matching: boundaries are at most 70 bytes,
 * a Content-Type line rarely longer. */
#define DM_LINE_KEEP 1024
/* Bytes of a Content-Type field kept to find its type and boundary. */
#define DM_CT_KEEP 2048

typedef struct {
    char *boundary; /* a multipart's; NULL for an attached message */
    bool digest;    /* multipart/digest: parts are messages by default */
} dm_frame;

typedef struct {
    const dm_mime_limits *lim;
    GPtrArray *frames;     /* dm_frame *, outermost first */
    bool in_header;        /* reading a header block */
    guint64 block_fields;  /* fields of this header block */
    guint64 all_fields;    /* fields of every header block */
    guint64 field_len;     /* bytes of the current field */
    guint64 parts;
    GString *ct;           /* the current block's Content-Type field */
    bool in_ct;            /* the current field is Content-Type */
    bool block_has_ct;
    bool block_default_message; /* a part of a digest */
    bool loose;            /* in a multipart's preamble or epilogue */
    guint64 loose_len;     /* its bytes so far */
    const char *why;
} dm_budget;

static void dm_frame_free(gpointer p)
{
    dm_frame *f = p;

    g_free(f->boundary);
    g_free(f);
}

/* The boundary parameter of a Content-Type value, or NULL. */
static char *dm_ct_boundary(const char *ct)
{
    const char *p = ct;

    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (g_ascii_strncasecmp(p, "boundary", 8) != 0)
            continue;
        p += 8;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '=')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '"') {
            /* Without its closing quote the value was cut with the line
             * kept: its start still matches (see dm_budget_line). */
            const char *e = strchr(p + 1, '"');
            return e != NULL ? g_strndup(p + 1, (gsize)(e - p - 1)) : g_strdup(p + 1);
        }
        return g_strndup(p, strcspn(p, "; \t\r\n"));
    }
    return NULL;
}

/* The end of a header block: what follows it? */
static void dm_block_end(dm_budget *b)
{
    const char *ct = b->ct->str;
    bool message = false;
    char *boundary = NULL;

    /* "Content-Type:" and the value. */
    if (b->block_has_ct) {
        const char *v = strchr(ct, ':');
        v = v != NULL ? v + 1 : ct;
        while (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')
            v++;
        if (g_ascii_strncasecmp(v, "multipart/", 10) == 0) {
            boundary = dm_ct_boundary(v);
            if (boundary != NULL && *boundary == '\0') {
                g_free(boundary);
                boundary = NULL;
            }
            if (boundary != NULL) {
                dm_frame *f = g_new0(dm_frame, 1);
                f->boundary = boundary;
                f->digest = g_ascii_strncasecmp(v + 10, "digest", 6) == 0;
                g_ptr_array_add(b->frames, f);
                b->loose = true; /* its preamble */
                b->loose_len = 0;
            }
        } else if (g_ascii_strncasecmp(v, "message/rfc822", 14) == 0 ||
                   g_ascii_strncasecmp(v, "message/global", 14) == 0 ||
                   g_ascii_strncasecmp(v, "message/news", 12) == 0) {
            message = true;
        }
    } else {
        message = b->block_default_message;
    }
    g_string_truncate(b->ct, 0);
    b->block_has_ct = false;
    b->block_default_message = false;
    b->in_ct = false;
    b->block_fields = 0;
    b->field_len = 0;
    if (message) {
        /* The attached message's own header block follows. */
        dm_frame *f = g_new0(dm_frame, 1);
        g_ptr_array_add(b->frames, f);
        b->parts++;
        b->in_header = true;
    } else {
        b->in_header = false;
    }
}

/* A body line: in a preamble or epilogue, which GMime keeps in memory
 * as a string (a multipart whose delimiters never match its boundary
 * keeps its whole body so), only as much as the text may hold. */
static bool dm_budget_loose(dm_budget *b, guint64 len)
{
    if (!b->loose)
        return true;
    b->loose_len += len + 1;
    if (b->loose_len > MAX((guint64)b->lim->max_text + 65536, 1024 * 1024)) {
        b->why = "max_text";
        return false;
    }
    return true;
}

/* Does the line start a header field ("Name:")?  GMime ends a header
 * block at the first line that does not (the body starts there). */
static bool dm_header_like(const char *line, size_t kept)
{
    size_t i = 0;

    while (i < kept && line[i] > ' ' && line[i] < 127 && line[i] != ':')
        i++;
    if (i == 0)
        return false;
    while (i < kept && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < kept && line[i] == ':';
}

/* One line (without its line end; len its full length, line holds the
 * first kept bytes of it).  False: cut before this line. */
static bool dm_budget_line(dm_budget *b, const char *line, size_t kept, guint64 len)
{
    const dm_mime_limits *lim = b->lim;

    if (b->in_header) {
        if (len == 0) {
            dm_block_end(b);
            return true;
        }
        if ((line[0] != ' ' && line[0] != '\t') && !dm_header_like(line, kept)) {
            /* The body starts with this line (or, after an attached
             * message's headers, the next header block does). */
            dm_block_end(b);
            return dm_budget_line(b, line, kept, len);
        }
        if (line[0] == ' ' || line[0] == '\t') {
            b->field_len += len;
            if (b->in_ct && b->ct->len < DM_CT_KEEP)
                g_string_append_len(b->ct, line, (gssize)kept);
        } else {
            b->block_fields++;
            b->all_fields++;
            b->field_len = len;
            b->in_ct = kept >= 13 && g_ascii_strncasecmp(line, "content-type:", 13) == 0;
            if (b->in_ct) {
                b->block_has_ct = true;
                g_string_assign(b->ct, "");
                g_string_append_len(b->ct, line, (gssize)kept);
            }
            if (b->block_fields > MAX(4 * (guint64)lim->max_headers, 10000) ||
                b->all_fields > MAX(4 * (guint64)lim->max_headers + 16 * (guint64)lim->max_parts,
                                    20000)) {
                b->why = "max_headers";
                return false;
            }
        }
        if (b->field_len > MAX(16 * (guint64)lim->max_header_size, 1024 * 1024)) {
            b->why = "max_header_size";
            return false;
        }
        return true;
    }
    if (kept < 2 || line[0] != '-' || line[1] != '-')
        return dm_budget_loose(b, len);
    /* A delimiter of an open multipart, innermost first: it closes what
     * was opened inside that part. */
    for (guint i = b->frames->len; i > 0; i--) {
        dm_frame *f = g_ptr_array_index(b->frames, i - 1);
        size_t bl;

        if (f->boundary == NULL)
            continue;
        /* A boundary longer than what is kept of a line (RFC 2046 allows
         * 70 bytes; a flood might use more) is matched on its start. */
        bl = strlen(f->boundary);
        if (kept < 2 + MIN(bl, DM_LINE_KEEP - 2) ||
            strncmp(line + 2, f->boundary, MIN(bl, DM_LINE_KEEP - 2)) != 0)
            continue;
        g_ptr_array_set_size(b->frames, i); /* frees the inner ones */
        if (kept >= 4 + bl && line[2 + bl] == '-' && line[3 + bl] == '-') {
            g_ptr_array_set_size(b->frames, i - 1); /* the closing one */
            b->loose = true; /* its epilogue */
            b->loose_len = 0;
            return true;
        }
        b->loose = false;
        if (++b->parts > (guint64)lim->max_parts) {
            b->why = "max_parts";
            return false;
        }
        b->in_header = true;
        b->block_default_message = f->digest;
        return true;
    }
    return dm_budget_loose(b, len);
}

gint64 dm_mime_budget(GMimeStream *stream, const dm_mime_limits *lim, const char **why)
{
    dm_budget b = {.lim = lim, .in_header = true};
    char *buf = g_malloc(65536);
    char line[DM_LINE_KEEP];
    size_t kept = 0;
    guint64 len = 0;
    char last = 0;
    gint64 start = g_mime_stream_tell(stream), pos = 0, line_start = 0, cut = -1;
    ssize_t n;

    *why = NULL;
    b.frames = g_ptr_array_new_with_free_func(dm_frame_free);
    b.ct = g_string_new(NULL);
    while (cut < 0 && (n = g_mime_stream_read(stream, buf, 65536)) > 0) {
        const char *p = buf, *end = buf + n;

        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t take = (size_t)((nl != NULL ? nl : end) - p);

            if (kept < sizeof line) {
                size_t c = MIN(take, sizeof line - kept);
                memcpy(line + kept, p, c);
                kept += c;
            }
            if (take > 0)
                last = p[take - 1];
            len += take;
            pos += (gint64)take;
            p += take;
            if (nl == NULL)
                break;
            /* A whole line: without its CR. */
            if (len > 0 && last == '\r') {
                len--;
                if (kept > len)
                    kept = (size_t)len;
            }
            if (!dm_budget_line(&b, line, kept, len)) {
                cut = line_start;
                break;
            }
            p++;
            pos++;
            line_start = pos;
            kept = 0;
            len = 0;
            last = 0;
        }
    }
    if (cut < 0 && len > 0) {
        if (last == '\r') {
            len--;
            kept = MIN(kept, (size_t)len);
        }
        if (!dm_budget_line(&b, line, kept, len))
            cut = line_start;
    }
    g_ptr_array_free(b.frames, TRUE);
    g_string_free(b.ct, TRUE);
    g_free(buf);
    g_mime_stream_seek(stream, start, GMIME_STREAM_SEEK_SET);
    *why = b.why;
    return cut;
}
