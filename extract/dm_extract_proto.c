/*
 * The wire format between the daemon and its extraction workers.
 *
 * Both ends are the same build on the same machine, but the answer comes
 * from a process that has read hostile bytes: the parent decodes it as
 * strictly as anything from outside (lengths checked, text valid UTF-8
 * without NUL, within the limit it asked for).  Integers are little
 * endian, written byte by byte.
 *
 *   request:  "DMXQ" u32 version, u64 max_bytes, u64 max_text,
 *             u64 max_expanded, u32 max_pages, u32 max_entries,
 *             u32 max_ratio, u32 max_depth, u16 type_len, u16 name_len,
 *             u16 charset_len, u16 0; type, name, charset; then the
 *             attachment's bytes until the end of the stream.
 *   answer:   "DMXR" u32 status, u32 flags, u32 pages, u16 format_len,
 *             u16 0, u32 text_len; format, text.
 */
#include <string.h>

#include "dm_extract.h"

#define DM_REQ_MAGIC "DMXQ"
#define DM_RESP_MAGIC "DMXR"
#define DM_PROTO_VERSION 1u

const char *dm_extract_status_name(dm_extract_status s)
{
    switch (s) {
    case DM_EXTRACT_NONE: return "not tried";
    case DM_EXTRACT_READ: return "read";
    case DM_EXTRACT_NO_TEXT: return "no text";
    case DM_EXTRACT_ENCRYPTED: return "encrypted";
    case DM_EXTRACT_UNSUPPORTED: return "not a readable type";
    case DM_EXTRACT_FAILED: return "failed";
    case DM_EXTRACT_TIMEOUT: return "timeout";
    case DM_EXTRACT_LIMIT: return "limit";
    }
    return "?";
}

static void dm_put(GByteArray *out, uint64_t v, int bytes)
{
    guint8 b[8];

    for (int i = 0; i < bytes; i++)
        b[i] = (guint8)(v >> (8 * i));
    g_byte_array_append(out, b, (guint)bytes);
}

static uint64_t dm_get(const guint8 *p, int bytes)
{
    uint64_t v = 0;

    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* s cut to DM_EXTRACT_STR_MAX bytes at a character boundary. */
static size_t dm_str_len(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n > DM_EXTRACT_STR_MAX) {
        n = DM_EXTRACT_STR_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return n;
}

void dm_extract_req_encode(const dm_extract_req *q, GByteArray *out)
{
    size_t tl = dm_str_len(q->type), nl = dm_str_len(q->name), cl = dm_str_len(q->charset);

    g_byte_array_append(out, (const guint8 *)DM_REQ_MAGIC, 4);
    dm_put(out, DM_PROTO_VERSION, 4);
    dm_put(out, q->max_bytes, 8);
    dm_put(out, q->max_text, 8);
    dm_put(out, q->max_expanded, 8);
    dm_put(out, q->max_pages, 4);
    dm_put(out, q->max_entries, 4);
    dm_put(out, q->max_ratio, 4);
    dm_put(out, q->max_depth, 4);
    dm_put(out, tl, 2);
    dm_put(out, nl, 2);
    dm_put(out, cl, 2);
    dm_put(out, 0, 2);
    g_byte_array_append(out, (const guint8 *)(q->type ? q->type : ""), (guint)tl);
    g_byte_array_append(out, (const guint8 *)(q->name ? q->name : ""), (guint)nl);
    g_byte_array_append(out, (const guint8 *)(q->charset ? q->charset : ""), (guint)cl);
}

/* A string of the wire as a new valid UTF-8 string; NULL when it holds
 * a NUL byte. */
static char *dm_wire_str(const guint8 *p, size_t n)
{
    if (memchr(p, '\0', n) != NULL)
        return NULL;
    return g_utf8_make_valid((const char *)p, (gssize)n);
}

ssize_t dm_extract_req_decode(const void *buf, size_t len, dm_extract_req *q)
{
    const guint8 *p = buf;
    size_t tl, nl, cl, total;

    memset(q, 0, sizeof *q);
    if (len < 4)
        return 0;
    if (memcmp(p, DM_REQ_MAGIC, 4) != 0)
        return -1;
    if (len < DM_EXTRACT_REQ_FIXED)
        return 0;
    if (dm_get(p + 4, 4) != DM_PROTO_VERSION || dm_get(p + 54, 2) != 0)
        return -1;
    tl = dm_get(p + 48, 2);
    nl = dm_get(p + 50, 2);
    cl = dm_get(p + 52, 2);
    if (tl > DM_EXTRACT_STR_MAX || nl > DM_EXTRACT_STR_MAX || cl > DM_EXTRACT_STR_MAX)
        return -1;
    total = DM_EXTRACT_REQ_FIXED + tl + nl + cl;
    if (len < total)
        return 0;
    q->max_bytes = dm_get(p + 8, 8);
    q->max_text = dm_get(p + 16, 8);
    q->max_expanded = dm_get(p + 24, 8);
    q->max_pages = (uint32_t)dm_get(p + 32, 4);
    q->max_entries = (uint32_t)dm_get(p + 36, 4);
    q->max_ratio = (uint32_t)dm_get(p + 40, 4);
    q->max_depth = (uint32_t)dm_get(p + 44, 4);
    p += DM_EXTRACT_REQ_FIXED;
    q->type = dm_wire_str(p, tl);
    q->name = dm_wire_str(p + tl, nl);
    q->charset = dm_wire_str(p + tl + nl, cl);
    if (q->type == NULL || q->name == NULL || q->charset == NULL) {
        dm_extract_req_clear(q);
        return -1;
    }
    return (ssize_t)total;
}

void dm_extract_req_clear(dm_extract_req *q)
{
    g_free(q->type);
    g_free(q->name);
    g_free(q->charset);
    q->type = q->name = q->charset = NULL;
}

void dm_extract_resp_encode(const dm_extract_resp *r, GByteArray *out)
{
    size_t fl = dm_str_len(r->format);
    size_t tl = r->text != NULL ? r->text_len : 0;

    g_byte_array_append(out, (const guint8 *)DM_RESP_MAGIC, 4);
    dm_put(out, (uint64_t)r->status, 4);
    dm_put(out, r->flags, 4);
    dm_put(out, r->pages, 4);
    dm_put(out, fl, 2);
    dm_put(out, 0, 2);
    dm_put(out, tl, 4);
    g_byte_array_append(out, (const guint8 *)(r->format ? r->format : ""), (guint)fl);
    if (tl > 0)
        g_byte_array_append(out, (const guint8 *)r->text, (guint)tl);
}

bool dm_extract_resp_decode(const void *buf, size_t len, uint64_t max_text, dm_extract_resp *r)
{
    const guint8 *p = buf;
    uint64_t status, fl, tl;

    memset(r, 0, sizeof *r);
    if (len < DM_EXTRACT_RESP_FIXED || memcmp(p, DM_RESP_MAGIC, 4) != 0 ||
        dm_get(p + 18, 2) != 0)
        return false;
    status = dm_get(p + 4, 4);
    fl = dm_get(p + 16, 2);
    tl = dm_get(p + 20, 4);
    if (status > DM_EXTRACT_STATUS_MAX || fl > DM_EXTRACT_STR_MAX || tl > max_text ||
        len != DM_EXTRACT_RESP_FIXED + fl + tl)
        return false;
    p += DM_EXTRACT_RESP_FIXED;
    /* A format is a short ASCII word. */
    for (uint64_t i = 0; i < fl; i++) {
        if (!g_ascii_isalnum(p[i]) && p[i] != '-' && p[i] != '_')
            return false;
    }
    if (memchr(p + fl, '\0', tl) != NULL || !g_utf8_validate((const char *)p + fl, (gssize)tl, NULL))
        return false;
    r->status = (dm_extract_status)status;
    r->flags = (uint32_t)dm_get((const guint8 *)buf + 8, 4);
    r->pages = (uint32_t)dm_get((const guint8 *)buf + 12, 4);
    r->format = g_strndup((const char *)p, fl);
    r->text = g_strndup((const char *)p + fl, tl);
    r->text_len = tl;
    return true;
}

void dm_extract_resp_clear(dm_extract_resp *r)
{
    g_free(r->format);
    g_free(r->text);
    r->format = r->text = NULL;
    r->text_len = 0;
}
