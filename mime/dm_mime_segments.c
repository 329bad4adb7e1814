/*
 * The segments of a message (dm_msg.segments): what the rules read, cut
 * by the message's structure.
 *
 * A first builder: the subject, then the text as extraction gathered it
 * (dm_msg.text), lines beginning with ">" as QUOTED, an attached message
 * (after the separator dm_mime_extract.c writes) as FORWARDED, the rest
 * as BODY; then the attachments' file names.
 */
#include <string.h>

#include "dm_mime_int.h"

/* The line extraction writes before an attached message's headers. */
#define DM_FORWARD_LINE "---------- Vidarebefordrat meddelande ----------"

/* The new segment, or NULL when text[0, len) is blank. */
static dm_segment *dm_seg_add(dm_msg *m, dm_seg_kind kind, const char *text, size_t len)
{
    dm_segment *s;

    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    if (len == 0)
        return NULL;
    s = dm_segment_new(kind, text, (gssize)len);
    g_ptr_array_add(m->segments, s);
    return s;
}

void dm_mime_build_segments(dm_msg *m)
{
    const char *p = m->text->str, *end = p + m->text->len;
    GString *run = g_string_new(NULL);
    dm_seg_kind kind = DM_SEG_BODY;
    bool forwarded = false;

    dm_seg_add(m, DM_SEG_SUBJECT, m->subject, strlen(m->subject));
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl != NULL ? nl : end, *s = p;
        dm_seg_kind k;

        if ((size_t)(e - p) >= sizeof DM_FORWARD_LINE - 1 &&
            strncmp(p, DM_FORWARD_LINE, sizeof DM_FORWARD_LINE - 1) == 0)
            forwarded = true;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        k = forwarded ? DM_SEG_FORWARDED : DM_SEG_BODY;
        if (!forwarded && s < e && *s == '>') {
            k = DM_SEG_QUOTED;
            while (s < e && (*s == '>' || *s == ' '))
                s++;
        } else {
            s = p;
        }
        /* A blank line belongs to the run it is in. */
        if (k != kind && s < e) {
            dm_seg_add(m, kind, run->str, run->len);
            g_string_truncate(run, 0);
            kind = k;
        }
        g_string_append_len(run, s, e - s);
        g_string_append_c(run, '\n');
        p = nl != NULL ? nl + 1 : end;
    }
    dm_seg_add(m, kind, run->str, run->len);
    g_string_free(run, TRUE);
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);

        dm_segment *s;

        if (a->filename != NULL &&
            (s = dm_seg_add(m, DM_SEG_ATTACHMENT_NAME, a->filename, strlen(a->filename))) != NULL)
            s->source = g_strdup(a->filename);
    }
}
