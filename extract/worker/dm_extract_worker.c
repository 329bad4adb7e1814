/*
 * The worker's request handling: one request to one answer, and the
 * bounded text every reader writes into.
 */
#include <string.h>

#include "dm_extract_worker.h"
#include "dm_utf8.h"

bool dm_extract_text_full(const dm_extract_text *t)
{
    return (t->flags & DM_EXTRACT_F_TEXT_CUT) != 0;
}

/* Room left, cut back to a character boundary of s. */
static size_t dm_fit(const dm_extract_text *t, const char *s, size_t len)
{
    size_t room = t->max > t->s->len ? t->max - t->s->len : 0;

    if (len <= room)
        return len;
    while (room > 0 && ((unsigned char)s[room] & 0xC0) == 0x80)
        room--;
    return room;
}

bool dm_extract_text_add(dm_extract_text *t, const char *s, size_t len)
{
    char *valid = NULL;
    size_t n;

    if (dm_extract_text_full(t))
        return false;
    if (len == 0)
        return true;
    if (!g_utf8_validate(s, (gssize)len, NULL)) {
        valid = g_utf8_make_valid(s, (gssize)len);
        s = valid;
        len = strlen(valid); /* a NUL in s ended it: the rest is no text */
    }
    n = dm_fit(t, s, len);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\r') {
            if (i + 1 < n && s[i + 1] == '\n')
                continue;
            c = '\n';
        } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\f') || c == 0x7f) {
            c = ' ';
        }
        g_string_append_c(t->s, (char)c);
    }
    g_free(valid);
    if (n < len) {
        t->flags |= DM_EXTRACT_F_TEXT_CUT;
        return false;
    }
    return true;
}

bool dm_extract_text_addc(dm_extract_text *t, char c)
{
    return dm_extract_text_add(t, &c, 1);
}

void dm_extract_text_break(dm_extract_text *t)
{
    if (t->s->len > 0 && t->s->str[t->s->len - 1] != '\n' && t->s->str[t->s->len - 1] != '\f')
        dm_extract_text_addc(t, '\n');
}

bool dm_extract_text_any(const dm_extract_text *t, size_t from)
{
    for (size_t i = from; i < t->s->len; i++) {
        if (!g_ascii_isspace(t->s->str[i]))
            return true;
    }
    return false;
}

static dm_extract_status dm_extract_plain(const guint8 *data, size_t len, const char *charset,
                                          dm_extract_text *out)
{
    /* Only as much as the text can keep: up to 4 bytes a character in
     * the wide charsets, one elsewhere. */
    size_t want = out->max - MIN(out->max, out->s->len), take;
    char *u;

    /* A byte order mark says the charset better than no label does. */
    if ((charset == NULL || *charset == '\0') && len >= 2) {
        if (data[0] == 0xFF && data[1] == 0xFE)
            charset = "UTF-16LE";
        else if (data[0] == 0xFE && data[1] == 0xFF)
            charset = "UTF-16BE";
        if (charset != NULL && *charset != '\0') {
            data += 2;
            len -= 2;
        }
    }
    if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF) {
        data += 3;
        len -= 3;
    }
    take = dm_charset_wide(charset) ? want * 4 + 4 : want + 4;
    u = dm_utf8_from((const char *)data, MIN(len, take), charset);

    dm_extract_text_add(out, u, strlen(u));
    g_free(u);
    if (len > take)
        out->flags |= DM_EXTRACT_F_TEXT_CUT;
    return DM_EXTRACT_READ;
}

dm_extract_status dm_extract_any(const guint8 *data, size_t len, const char *type,
                                 const char *name, const char *charset,
                                 const dm_extract_req *q, dm_extract_text *out, uint32_t depth,
                                 const char **format)
{
    size_t start = out->s->len;
    dm_extract_status st;

    *format = "";
    switch (dm_extract_detect(data, MIN(len, 1024), type, name)) {
    case DM_FMT_PDF:
        *format = "pdf";
        st = dm_extract_pdf(data, len, q, out, format);
        break;
    case DM_FMT_OOXML:
    case DM_FMT_ODF:
        st = dm_extract_office(data, len, q, out, format);
        break;
    case DM_FMT_RTF:
        *format = "rtf";
        st = dm_extract_rtf(data, len, q, out);
        break;
    case DM_FMT_TNEF:
        *format = "tnef";
        if (depth >= q->max_depth)
            return DM_EXTRACT_LIMIT;
        st = dm_extract_tnef(data, len, q, out, depth);
        break;
    case DM_FMT_CFB:
        *format = "cfb";
        st = dm_extract_cfb(data, len);
        break;
    case DM_FMT_TEXT:
        *format = "text";
        st = dm_extract_plain(data, len, charset, out);
        break;
    case DM_FMT_HTML: /* mime/ reads HTML in the daemon, as it reads bodies */
    case DM_FMT_UNKNOWN:
    default:
        return DM_EXTRACT_UNSUPPORTED;
    }
    if (st == DM_EXTRACT_READ && !dm_extract_text_any(out, start))
        st = DM_EXTRACT_NO_TEXT;
    return st;
}

void dm_extract_handle_request(const guint8 *buf, size_t len, GByteArray *answer)
{
    dm_extract_req q;
    dm_extract_resp r = {.status = DM_EXTRACT_FAILED};
    dm_extract_text t = {0};
    const char *format = "";
    ssize_t hl = dm_extract_req_decode(buf, len, &q);

    if (hl <= 0) {
        dm_extract_resp_encode(&r, answer);
        return;
    }
    t.s = g_string_new(NULL);
    /* The wire may not carry more than 4 GB of text. */
    t.max = (size_t)MIN(q.max_text, (uint64_t)G_MAXUINT32);
    if (len - (size_t)hl > q.max_bytes)
        r.status = DM_EXTRACT_LIMIT;
    else
        r.status = dm_extract_any(buf + hl, len - (size_t)hl, q.type, q.name, q.charset, &q, &t,
                                  0, &format);
    r.flags = t.flags;
    r.pages = t.pages;
    r.format = (char *)format;
    if (r.status == DM_EXTRACT_READ) {
        r.text = t.s->str;
        r.text_len = t.s->len;
    }
    dm_extract_resp_encode(&r, answer);
    g_string_free(t.s, TRUE);
    dm_extract_req_clear(&q);
}
