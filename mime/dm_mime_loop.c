/*
 * The loop token on what diariemilter composes (dm_loop.h): the body of
 * the composed message is hashed as it will be written, then the token
 * bound to that hash and the Message-ID goes into its header.
 *
 * The body is written once into a null stream through a filter that
 * feeds dm_bodyhash: no copy of a large registrator copy is kept.
 */
#include <string.h>

#include "dm_loop.h"
#include "dm_mime_int.h"

typedef struct {
    GMimeFilter parent;
    dm_bodyhash *hash;
} DmHashFilter;

typedef struct {
    GMimeFilterClass parent;
} DmHashFilterClass;

GType dm_hash_filter_get_type(void);
G_DEFINE_TYPE(DmHashFilter, dm_hash_filter, GMIME_TYPE_FILTER)

static void dm_hash_filter_pass(GMimeFilter *f, char *in, size_t len, size_t prespace,
                                char **out, size_t *outlen, size_t *outprespace)
{
    dm_bodyhash_update(((DmHashFilter *)f)->hash, in, len);
    *out = in;
    *outlen = len;
    *outprespace = prespace;
}

static GMimeFilter *dm_hash_filter_copy(GMimeFilter *f)
{
    /* Never copied by the stream it is used on; a fresh hash is honest. */
    DmHashFilter *c = g_object_new(dm_hash_filter_get_type(), NULL);

    (void)f;
    c->hash = dm_bodyhash_new();
    return GMIME_FILTER(c);
}

static void dm_hash_filter_reset(GMimeFilter *f)
{
    (void)f;
}

static void dm_hash_filter_finalize(GObject *o)
{
    dm_bodyhash_free(((DmHashFilter *)o)->hash);
    G_OBJECT_CLASS(dm_hash_filter_parent_class)->finalize(o);
}

static void dm_hash_filter_class_init(DmHashFilterClass *k)
{
    GMimeFilterClass *fk = GMIME_FILTER_CLASS(k);

    G_OBJECT_CLASS(k)->finalize = dm_hash_filter_finalize;
    fk->copy = dm_hash_filter_copy;
    fk->filter = dm_hash_filter_pass;
    fk->complete = dm_hash_filter_pass;
    fk->reset = dm_hash_filter_reset;
}

static void dm_hash_filter_init(DmHashFilter *f)
{
    (void)f;
}

bool dm_mime_set_loop_token(GMimeMessage *msg, GMimeFormatOptions *fo, const void *key,
                            size_t keylen, int64_t expires)
{
    DmHashFilter *f;
    GMimeStream *null, *filtered;
    GMimeObject *part = g_mime_message_get_mime_part(msg);
    char body[65];
    char *mid, *token;
    bool ok;

    if (part == NULL || key == NULL)
        return false;
    f = g_object_new(dm_hash_filter_get_type(), NULL);
    f->hash = dm_bodyhash_new();
    null = g_mime_stream_null_new();
    filtered = g_mime_stream_filter_new(null);
    g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered), GMIME_FILTER(f));
    ok = g_mime_object_write_content_to_stream(part, fo, filtered) >= 0 &&
         g_mime_stream_flush(filtered) == 0;
    g_object_unref(filtered);
    g_object_unref(null);
    if (ok) {
        dm_bodyhash_final(f->hash, body);
        mid = dm_loop_message_id(g_mime_message_get_message_id(msg));
        token = dm_loop_token(key, keylen, mid, body, expires);
        g_mime_object_set_header(GMIME_OBJECT(msg), "X-Diarie-Genererad", token, NULL);
        g_free(token);
        g_free(mid);
    }
    g_object_unref(f);
    return ok;
}
