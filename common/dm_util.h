/*
 * dm_util: small helpers every module uses: addresses, times, ids,
 * digests (OpenSSL) and JSON string escaping.
 */
#ifndef DM_UTIL_H
#define DM_UTIL_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<Erik.Sjoberg@SJOVIK.test>" -> "erik.sjoberg@sjovik.test"; "<>" -> "".
 * Returns a new string. */
char *dm_addr_normalize(const char *addr);
/* Domain part of a normalized address, or "" when there is none. */
const char *dm_addr_domain(const char *addr);

struct sockaddr;
/* The SMTP client's IP address as text ("192.0.2.1", "2001:db8::1"): from
 * the connection's socket address when it is IPv4 or IPv6, else from the
 * MTA's {client_addr} macro (Postfix: "2001:db8::1", Sendmail:
 * "IPv6:2001:db8::1"; brackets are dropped too).  An IPv4-mapped IPv6
 * address becomes IPv4.  NULL when neither holds an IP address.  Returns
 * a new string. */
char *dm_client_addr(const struct sockaddr *sa, const char *macro);

/* ISO 8601 ("2026-11-16T07:25:48Z") to Unix seconds. */
bool dm_time_parse_iso8601(const char *s, int64_t *t);
/* LDAP GeneralizedTime ("20261116000000Z") to Unix seconds. */
bool dm_time_parse_generalized(const char *s, int64_t *t);
/* Unix seconds to "2026-11-16T07:25:48Z" in buf (at least 21 bytes). */
void dm_time_format_iso8601(int64_t t, char *buf, size_t len);

/* A new unique id for a message or spool item: 20 characters of
 * [0-9a-z], sortable by creation time.  Thread safe. */
void dm_id_new(char out[21]);
/* When an id of dm_id_new was made: milliseconds since the epoch; false
 * when id is not one. */
bool dm_id_time(const char *id, int64_t *ms);

/* Lowercase hex of SHA-256 over data: out holds 65 bytes. */
void dm_sha256_hex(const void *data, size_t len, char out[65]);
/* HMAC-SHA-256 of data under key, lowercase hex, out holds 65 bytes. */
void dm_hmac_sha256_hex(const void *key, size_t keylen, const void *data, size_t len,
                        char out[65]);
/* Constant-time comparison of two NUL-terminated strings. */
bool dm_str_equal_ct(const char *a, const char *b);

/* Append s to out as a JSON string literal, quotes included.  Invalid
 * UTF-8 is replaced by U+FFFD so the output is always valid JSON.  Every
 * character dm_text_escape escapes is written as \uXXXX (or \n, \r,
 * \t), so a string printed raw by a JSON tool cannot move a terminal. */
void dm_json_string(GString *out, const char *s);

/* Is c a character that must not reach a terminal or a log line raw:
 * C0 controls, DEL, C1 controls, the line and paragraph separators and
 * the bidirectional formatting characters (which reorder what is shown)? */
bool dm_text_char_unsafe(gunichar c);
/* Append s to out for a terminal or a log: every character for which
 * dm_text_char_unsafe holds as \r, \n, \t, \xHH (other C0, DEL) or
 * \u{HHHH}; a byte that is not UTF-8 as \xHH.  Everything else as it
 * is.  The one escaping of what people read (diariectl, the log): data
 * from a message, the directory or the diarium can neither forge a line
 * nor send a control sequence.  NULL appends nothing. */
void dm_text_escape(GString *out, const char *s);
/* The same as a new string. */
char *dm_text_escaped(const char *s);

/* Write all of buf to fd, retrying on EINTR and short writes. */
bool dm_write_all(int fd, const void *buf, size_t len);
/* Write data to path atomically and durably: a temporary file in the same
 * directory, fsync, rename, fsync of the directory. */
bool dm_write_file_durable(const char *path, const void *data, size_t len, int mode,
                           GError **err);

#endif
