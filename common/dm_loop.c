#include "dm_loop.h"

#include <glib.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "dm_util.h"

#define DM_LOOP_DOMAIN "diariemilter-loop-v2"

struct dm_bodyhash {
    EVP_MD_CTX *md;
    bool cr;   /* a CR seen, its fate decided by the next byte */
    size_t lf; /* LFs held back: they count only if more follows */
};

dm_bodyhash *dm_bodyhash_new(void)
{
    dm_bodyhash *h = g_new0(dm_bodyhash, 1);

    h->md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
    return h;
}

static void dm_bodyhash_flush_lf(dm_bodyhash *h)
{
    static const char lfs[] = "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n";

    while (h->lf > 0) {
        size_t n = h->lf < sizeof lfs - 1 ? h->lf : sizeof lfs - 1;

        EVP_DigestUpdate(h->md, lfs, n);
        h->lf -= n;
    }
}

void dm_bodyhash_update(dm_bodyhash *h, const void *data, size_t len)
{
    const char *p = data, *end = p + len;

    while (p < end) {
        const char *q;

        if (h->cr) {
            h->cr = false;
            if (*p == '\n') {
                h->lf++;
                p++;
                continue;
            }
            dm_bodyhash_flush_lf(h);
            EVP_DigestUpdate(h->md, "\r", 1);
        }
        if (*p == '\r') {
            h->cr = true;
            p++;
            continue;
        }
        if (*p == '\n') {
            h->lf++;
            p++;
            continue;
        }
        for (q = p; q < end && *q != '\r' && *q != '\n'; q++)
            ;
        dm_bodyhash_flush_lf(h);
        EVP_DigestUpdate(h->md, p, (size_t)(q - p));
        p = q;
    }
}

void dm_bodyhash_final(dm_bodyhash *h, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (h->cr) {
        h->cr = false;
        dm_bodyhash_flush_lf(h);
        EVP_DigestUpdate(h->md, "\r", 1);
    }
    h->lf = 0;
    EVP_DigestFinal_ex(h->md, md, &n);
    for (unsigned int i = 0; i < n && i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

void dm_bodyhash_free(dm_bodyhash *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->md);
    g_free(h);
}

char *dm_loop_message_id(const char *v)
{
    const char *lt, *gt;
    GString *s;

    if (v == NULL)
        return g_strdup("");
    lt = strchr(v, '<');
    gt = lt != NULL ? strchr(lt, '>') : NULL;
    if (lt != NULL && gt != NULL) {
        v = lt + 1;
        s = g_string_new_len(v, gt - v);
    } else {
        s = g_string_new(v);
    }
    /* Folding and blanks are the MTA's business, not the id's. */
    for (gsize i = 0; i < s->len;) {
        if (g_ascii_isspace(s->str[i]))
            g_string_erase(s, (gssize)i, 1);
        else
            i++;
    }
    return g_string_free(s, FALSE);
}

static void dm_loop_mac(const void *key, size_t keylen, const char *message_id,
                        const char *body_sha256, int64_t expires, char out[65])
{
    GString *d = g_string_new(DM_LOOP_DOMAIN);

    g_string_append_c(d, '\0');
    g_string_append(d, message_id);
    g_string_append_c(d, '\0');
    g_string_append(d, body_sha256);
    g_string_append_c(d, '\0');
    g_string_append_printf(d, "%" G_GINT64_FORMAT, expires);
    dm_hmac_sha256_hex(key, keylen, d->str, d->len, out);
    g_string_free(d, TRUE);
}

char *dm_loop_token(const void *key, size_t keylen, const char *message_id,
                    const char *body_sha256, int64_t expires)
{
    char mac[65];

    dm_loop_mac(key, keylen, message_id, body_sha256, expires, mac);
    return g_strdup_printf("v2 %" G_GINT64_FORMAT " %s", expires, mac);
}

dm_loop_result dm_loop_check(const void *key, size_t keylen, const char *value,
                             const char *message_id, const char *body_sha256, int64_t now)
{
    char *copy, **f;
    dm_loop_result r = DM_LOOP_MALFORMED;

    if (value == NULL)
        return DM_LOOP_MALFORMED;
    /* Any run of blanks or folding separates the fields. */
    copy = g_strstrip(g_strdup(value));
    f = g_regex_split_simple("\\s+", copy, 0, 0);
    if (g_strv_length(f) == 3 && strcmp(f[0], "v2") == 0 && strlen(f[2]) == 64) {
        char *end = NULL;
        gint64 expires = g_ascii_strtoll(f[1], &end, 10);

        if (end != NULL && *end == '\0' && end != f[1] && expires > 0) {
            char want[65];

            r = DM_LOOP_FORGED;
            if (key != NULL && keylen > 0 && message_id != NULL && *message_id != '\0' &&
                body_sha256 != NULL) {
                dm_loop_mac(key, keylen, message_id, body_sha256, expires, want);
                if (dm_str_equal_ct(want, f[2]))
                    r = expires >= now ? DM_LOOP_VALID : DM_LOOP_EXPIRED;
            }
        }
    }
    g_strfreev(f);
    g_free(copy);
    return r;
}

const char *dm_loop_result_name(dm_loop_result r)
{
    switch (r) {
    case DM_LOOP_VALID:
        return "valid";
    case DM_LOOP_MALFORMED:
        return "malformed";
    case DM_LOOP_FORGED:
        return "forged";
    case DM_LOOP_EXPIRED:
        return "expired";
    }
    return "?";
}
