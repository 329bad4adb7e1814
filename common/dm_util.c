#include "dm_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *dm_addr_normalize(const char *addr)
{
    const char *s = addr, *e;

    if (s == NULL)
        return g_strdup("");
    while (g_ascii_isspace(*s))
        s++;
    e = s + strlen(s);
    while (e > s && g_ascii_isspace(e[-1]))
        e--;
    if (e > s && *s == '<' && e[-1] == '>') {
        s++;
        e--;
    }
    return g_ascii_strdown(s, e - s);
}

const char *dm_addr_domain(const char *addr)
{
    const char *at = strrchr(addr, '@');

    return at != NULL ? at + 1 : "";
}

/* An IPv6 address as text, or the IPv4 address it maps. */
static char *dm_addr6_text(const struct in6_addr *a)
{
    char buf[INET6_ADDRSTRLEN];

    if (IN6_IS_ADDR_V4MAPPED(a))
        return g_strdup(inet_ntop(AF_INET, &a->s6_addr[12], buf, sizeof buf));
    return g_strdup(inet_ntop(AF_INET6, a, buf, sizeof buf));
}

char *dm_client_addr(const struct sockaddr *sa, const char *macro)
{
    char buf[INET6_ADDRSTRLEN];
    struct in_addr a4;
    struct in6_addr a6;
    const char *s;
    char *text;
    size_t len;

    /* Copied out rather than cast: libmilter's buffer is a struct
     * sockaddr_in6 or a union, but nothing here relies on that. */
    if (sa != NULL && sa->sa_family == AF_INET) {
        struct sockaddr_in in;

        memcpy(&in, sa, sizeof in);
        return g_strdup(inet_ntop(AF_INET, &in.sin_addr, buf, sizeof buf));
    }
    if (sa != NULL && sa->sa_family == AF_INET6) {
        struct sockaddr_in6 in6;

        memcpy(&in6, sa, sizeof in6);
        return dm_addr6_text(&in6.sin6_addr);
    }
    if (macro == NULL)
        return NULL;
    s = macro;
    if (g_ascii_strncasecmp(s, "IPv6:", 5) == 0)
        s += 5;
    len = strlen(s);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s++;
        len -= 2;
    }
    text = g_strndup(s, len);
    if (inet_pton(AF_INET, text, &a4) == 1) {
        g_free(text);
        return g_strdup(inet_ntop(AF_INET, &a4, buf, sizeof buf));
    }
    if (inet_pton(AF_INET6, text, &a6) == 1) {
        g_free(text);
        return dm_addr6_text(&a6);
    }
    g_free(text);
    return NULL;
}

bool dm_time_parse_iso8601(const char *s, int64_t *t)
{
    GDateTime *dt = g_date_time_new_from_iso8601(s, NULL);

    if (dt == NULL)
        return false;
    *t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return true;
}

bool dm_time_parse_generalized(const char *s, int64_t *t)
{
    /* YYYYMMDDHH[MM[SS]][.frac](Z|+hhmm|-hhmm); the directory uses Z. */
    int f[6] = {0, 0, 0, 0, 0, 0};
    const int width[6] = {4, 2, 2, 2, 2, 2};
    const char *p = s;
    GTimeZone *tz;
    GDateTime *dt;

    for (int i = 0; i < 6; i++) {
        if (i >= 4 && !g_ascii_isdigit(*p))
            break;
        for (int j = 0; j < width[i]; j++, p++) {
            if (!g_ascii_isdigit(*p))
                return false;
            f[i] = f[i] * 10 + (*p - '0');
        }
    }
    if (*p == '.' || *p == ',') {
        p++;
        while (g_ascii_isdigit(*p))
            p++;
    }
    if (*p == 'Z' && p[1] == '\0') {
        tz = g_time_zone_new_utc();
    } else if ((*p == '+' || *p == '-') && strlen(p) == 5) {
        tz = g_time_zone_new_identifier(p);
        if (tz == NULL)
            return false;
    } else {
        return false;
    }
    dt = g_date_time_new(tz, f[0], f[1], f[2], f[3], f[4], f[5]);
    g_time_zone_unref(tz);
    if (dt == NULL)
        return false;
    *t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return true;
}

void dm_time_format_iso8601(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void dm_id_new(char out[21])
{
    /* 10 characters of milliseconds since the epoch in base 36 (enough
     * until the year 5000), then 10 random ones: sortable, unguessable. */
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    struct timespec ts;
    uint64_t ms;
    unsigned char rnd[10];

    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    for (int i = 9; i >= 0; i--) {
        out[i] = digits[ms % 36];
        ms /= 36;
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1) {
        /* RAND_bytes cannot fail on Linux once seeded; keep ids unique
         * anyway with a counter. */
        static uint64_t counter;
        uint64_t c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
        memcpy(rnd, &c, sizeof c);
        rnd[8] = (unsigned char)getpid();
        rnd[9] = (unsigned char)(getpid() >> 8);
    }
    for (int i = 0; i < 10; i++)
        out[10 + i] = digits[rnd[i] % 36];
    out[20] = '\0';
}

bool dm_id_time(const char *id, int64_t *ms)
{
    int64_t t = 0;

    if (id == NULL || strlen(id) != 20)
        return false;
    for (int i = 0; i < 20; i++) {
        char c = id[i];
        int d = g_ascii_isdigit(c) ? c - '0' : (c >= 'a' && c <= 'z') ? c - 'a' + 10 : -1;

        if (d < 0)
            return false;
        if (i < 10)
            t = t * 36 + d;
    }
    *ms = t;
    return true;
}

static void dm_hex(const unsigned char *md, unsigned int len, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * len] = '\0';
}

void dm_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    dm_hex(md, mdlen, out);
}

void dm_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                        char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    HMAC(EVP_sha256(), key, (int)keylen, data, len, md, &mdlen);
    dm_hex(md, mdlen, out);
}

bool dm_str_equal_ct(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);

    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool dm_text_char_unsafe(gunichar c)
{
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x2028 || c == 0x2029 ||
           (c >= 0x200E && c <= 0x200F) || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069) || c == 0x061C;
}

void dm_json_string(GString *out, const char *s)
{
    const char *p = s != NULL ? s : "";
    const char *end = p + strlen(p);

    g_string_append_c(out, '"');
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append(out, "\\ufffd");
            p++;
            continue;
        }
        switch (c) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (dm_text_char_unsafe(c))
                g_string_append_printf(out, "\\u%04x", c);
            else
                g_string_append_len(out, p, g_utf8_next_char(p) - p);
        }
        p = g_utf8_next_char(p);
    }
    g_string_append_c(out, '"');
}

void dm_text_escape(GString *out, const char *s)
{
    const char *p = s, *end;

    if (s == NULL)
        return;
    end = p + strlen(p);
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);

        if (c == (gunichar)-1 || c == (gunichar)-2) {
            g_string_append_printf(out, "\\x%02x", (unsigned char)*p);
            p++;
            continue;
        }
        if (!dm_text_char_unsafe(c))
            g_string_append_len(out, p, g_utf8_next_char(p) - p);
        else if (c == '\n')
            g_string_append(out, "\\n");
        else if (c == '\r')
            g_string_append(out, "\\r");
        else if (c == '\t')
            g_string_append(out, "\\t");
        else if (c <= 0x7F)
            g_string_append_printf(out, "\\x%02x", c);
        else
            g_string_append_printf(out, "\\u{%04x}", c);
        p = g_utf8_next_char(p);
    }
}

char *dm_text_escaped(const char *s)
{
    GString *o = g_string_new(NULL);

    dm_text_escape(o, s);
    return g_string_free(o, FALSE);
}

bool dm_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

bool dm_write_file_durable(const char *path, const void *data, size_t len, int mode,
                           GError **err)
{
    char *dir = g_path_get_dirname(path);
    char *tmp = g_strdup_printf("%s.tmp.%d", path, (int)getpid());
    int fd = -1, dfd = -1, saved;
    bool ok = false;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        goto fail;
    if (!dm_write_all(fd, data, len) || fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        goto fail;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0)
        goto fail;
    ok = true;
    goto out;
fail:
    saved = errno;
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(saved), "%s: %s", path,
                g_strerror(saved));
    if (fd >= 0)
        close(fd);
    fd = -1;
    unlink(tmp);
out:
    if (dfd >= 0)
        close(dfd);
    g_free(tmp);
    g_free(dir);
    return ok;
}
