/*
 * The message context: the bytes of the message as received, kept in
 * memory up to [milter] spill_size and in an unnamed file in the spool
 * directory beyond it, so a 25 MB message costs little memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm_log.h"
#include "dm_milter.h"
#include "dm_util.h"

dm_msgctx *dm_msgctx_new(dm_engine *engine)
{
    dm_msgctx *m = g_new0(dm_msgctx, 1);

    m->a = dm_arrival_new(engine);
    m->buf = g_byte_array_sized_new(8192);
    m->spill_fd = -1;
    m->spill_size = (size_t)dm_engine_conf(engine)->spill_size;
    m->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(m->sha, EVP_sha256(), NULL);
    m->body_hash = dm_bodyhash_new();
    m->hcount = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    m->strip = g_ptr_array_new_with_free_func(g_free);
    m->started_us = g_get_monotonic_time();
    return m;
}

void dm_msgctx_free(dm_msgctx *m)
{
    if (m == NULL)
        return;
    dm_arrival_free(m->a);
    if (m->buf != NULL)
        g_byte_array_free(m->buf, TRUE);
    if (m->spill_fd >= 0)
        close(m->spill_fd);
    EVP_MD_CTX_free(m->sha);
    dm_bodyhash_free(m->body_hash);
    g_hash_table_destroy(m->hcount);
    g_ptr_array_free(m->strip, TRUE);
    g_free(m->loop_value);
    g_free(m->message_id);
    g_free(m->diarie_id);
    g_free(m);
}

/* An unnamed file: nothing to clean up after a crash. */
static int dm_msgctx_tmpfile(dm_msgctx *m)
{
    const char *dir = dm_engine_conf(m->a->engine)->spool;
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        char *path = g_build_filename(dir, "spill.XXXXXX", NULL);
        fd = g_mkstemp_full(path, O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
            unlink(path);
        g_free(path);
    }
    return fd;
}

bool dm_msgctx_append(dm_msgctx *m, const void *data, size_t len)
{
    if (m->spill_failed)
        return false;
    EVP_DigestUpdate(m->sha, data, len);
    m->size += len;
    if (m->spill_fd < 0 && m->buf->len + len > m->spill_size) {
        m->spill_fd = dm_msgctx_tmpfile(m);
        if (m->spill_fd < 0 || !dm_write_all(m->spill_fd, m->buf->data, m->buf->len)) {
            dm_log_q(DM_LOG_ERR, m->a->env->queue_id, "cannot spill the message to %s: %s",
                     dm_engine_conf(m->a->engine)->spool, g_strerror(errno));
            m->spill_failed = true;
            return false;
        }
        g_byte_array_free(m->buf, TRUE);
        m->buf = NULL;
    }
    if (m->spill_fd >= 0) {
        if (!dm_write_all(m->spill_fd, data, len)) {
            dm_log_q(DM_LOG_ERR, m->a->env->queue_id, "cannot write the spilled message: %s",
                     g_strerror(errno));
            m->spill_failed = true;
            return false;
        }
        return true;
    }
    g_byte_array_append(m->buf, data, (guint)len);
    return true;
}

GMimeStream *dm_msgctx_stream(dm_msgctx *m)
{
    GMimeStream *s;

    if (m->spill_fd >= 0) {
        /* Bounded to the message; GMime reads it in place. */
        int fd = dup(m->spill_fd);
        if (fd < 0)
            return NULL;
        s = g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)m->size);
        return s;
    }
    s = g_mime_stream_mem_new_with_byte_array(m->buf);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
    return s;
}

static void dm_msgctx_hex(EVP_MD_CTX *ctx, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const char hex[] = "0123456789abcdef";

    EVP_DigestFinal_ex(ctx, md, &len);
    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * len] = '\0';
}

void dm_msgctx_sha256(dm_msgctx *m, char out[65])
{
    dm_msgctx_hex(m->sha, out);
}

void dm_msgctx_body(dm_msgctx *m, const void *data, size_t len)
{
    dm_bodyhash_update(m->body_hash, data, len);
}

void dm_msgctx_body_sha256(dm_msgctx *m, char out[65])
{
    dm_bodyhash_final(m->body_hash, out);
}
