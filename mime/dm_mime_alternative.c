/*
 * multipart/alternative (for the walk, dm_mime_extract.c): which
 * rendering is read -- the plain text when it says something, the
 * richest otherwise, and the rich one when the plain is only a stub of it.
 */
#include <string.h>

#include "dm_mime_int.h"

/* Is obj a rendering of the message's text (a text part to read, or a
 * multipart holding one: multipart/related around the HTML)? */
static bool dm_is_rendering(GMimeObject *obj)
{
    if (GMIME_IS_MULTIPART(obj))
        return !GMIME_IS_MULTIPART_ENCRYPTED(obj);
    if (GMIME_IS_PART(obj)) {
        dm_leaf k = dm_mime_leaf_kind(obj);
        return k == DM_LEAF_PLAIN || k == DM_LEAF_HTML || k == DM_LEAF_ENRICHED;
    }
    return false;
}

/* Does this plain part say anything?  (Some senders put an empty or
 * blank text/plain beside the HTML that holds the message.) */
static bool dm_plain_has_text(GMimePart *part)
{
    GByteArray *ba = dm_mime_part_bytes(part, 4096);
    bool any = false;

    for (guint i = 0; i < ba->len && !any; i++)
        any = !g_ascii_isspace(ba->data[i]);
    g_byte_array_free(ba, TRUE);
    return any;
}

/* The HTML of a rendering: itself, or the first text/html inside a
 * multipart/related (or another multipart) around it; NULL if none. */
static GMimePart *dm_rendering_html(GMimeObject *obj, int depth)
{
    if (GMIME_IS_PART(obj))
        return dm_mime_leaf_kind(obj) == DM_LEAF_HTML ? GMIME_PART(obj) : NULL;
    if (GMIME_IS_MULTIPART(obj) && !GMIME_IS_MULTIPART_ENCRYPTED(obj) && depth < 4) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
            GMimePart *h = dm_rendering_html(g_mime_multipart_get_part(mp, i), depth + 1);
            if (h != NULL)
                return h;
        }
    }
    return NULL;
}

/* A plain part this long says what it has to say: no need to look at
 * the HTML beside it. */
#define DM_STUB_MAX 2048
/* ... and one with more characters than this is no stub unless it says
 * so: the HTML is rendered to compare only for shorter ones (rendering
 * costs; most mail's plain part is the letter). */
#define DM_STUB_SHORT 400

/* Letters and digits in s. */
static size_t dm_visible(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += !g_ascii_isspace(*s) && ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Is the plain rendering a stub of the rich one ("Visa i webbläsaren", a
 * line or two, far shorter than the HTML's text)?  The HTML's text, when
 * it had to be read to tell, is kept for the walk (w->ahead). */
static bool dm_plain_is_stub(dm_walk *w, GMimePart *plain, GMimeObject *rich)
{
    GByteArray *ba = dm_mime_part_bytes(plain, DM_STUB_MAX + 1);
    const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(plain), "charset");
    const dm_seg_words *words = w->lim->words;
    GMimePart *html;
    char *text, *fold, *html_text;
    size_t plain_len, html_len;
    bool stub = false;

    if (ba->len > DM_STUB_MAX || (html = dm_rendering_html(rich, 0)) == NULL) {
        g_byte_array_free(ba, TRUE);
        return false;
    }
    text = dm_mime_to_utf8((const char *)ba->data, ba->len, cs);
    g_byte_array_free(ba, TRUE);
    fold = g_utf8_casefold(text, -1);
    for (char **x = words != NULL ? words->stub : NULL; x != NULL && *x != NULL && !stub; x++)
        stub = strstr(fold, *x) != NULL;
    plain_len = dm_visible(text);
    g_free(fold);
    g_free(text);
    if (stub)
        return true;
    if (plain_len > DM_STUB_SHORT)
        return false;
    /* Far shorter than the HTML's text: the HTML says more. */
    html_text = dm_walk_leaf_text(w, html, DM_LEAF_HTML);
    html_len = html_text != NULL ? dm_visible(html_text) : 0;
    if (html_len > 2 * plain_len + 100) {
        w->ahead = GMIME_OBJECT(html);
        w->ahead_text = html_text;
        return true;
    }
    g_free(html_text);
    return false;
}

void dm_mime_walk_alternative(dm_walk *w, GMimeMultipart *mp, int depth, bool read)
{
    int n = g_mime_multipart_get_count(mp), plain = -1, rich = -1, chosen;

    /* Read one rendering: the plain text when it says something (HTML
     * rendered to text loses nothing plain text has), else the last
     * rendering, the richest (RFC 2046); but the richest when the plain
     * one is only a stub of it. */
    for (int i = 0; i < n && plain < 0; i++) {
        GMimeObject *c = g_mime_multipart_get_part(mp, i);
        if (GMIME_IS_PART(c) && dm_mime_leaf_kind(c) == DM_LEAF_PLAIN &&
            dm_plain_has_text(GMIME_PART(c)))
            plain = i;
    }
    for (int i = n - 1; i >= 0 && rich < 0; i--) {
        if (i != plain && dm_is_rendering(g_mime_multipart_get_part(mp, i)))
            rich = i;
    }
    chosen = plain >= 0 ? plain : rich;
    if (read && plain >= 0 && rich >= 0 && !w->text_full &&
        dm_plain_is_stub(w, GMIME_PART(g_mime_multipart_get_part(mp, plain)),
                         g_mime_multipart_get_part(mp, rich)))
        chosen = rich;
    /* The other renderings are not read, but what they hold that is no
     * text (a calendar invitation, the HTML's images) is listed. */
    for (int i = 0; i < n; i++)
        dm_walk_object(w, g_mime_multipart_get_part(mp, i), depth + 1, read && i == chosen);
    /* Read ahead but not walked (a part beyond max_parts): let go. */
    w->ahead = NULL;
    g_clear_pointer(&w->ahead_text, g_free);
}
