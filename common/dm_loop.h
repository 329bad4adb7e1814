/*
 * dm_loop: the token that marks mail diariemilter generated itself.
 *
 * diariemilter's copies and notices pass the MTA's milters on their way
 * out (sendmail(1) and non_smtpd_milters), and must not be classified
 * again.  They carry "X-Diarie-Genererad: v2 EXPIRES MAC", where MAC is
 * HMAC-SHA-256 under the site key ([store] key_file) over
 *
 *     "diariemilter-loop-v2" NUL message-id NUL body-hash NUL EXPIRES
 *
 * message-id: the carrying message's Message-ID without angle brackets
 * or blanks; body-hash: SHA-256 of its body in the canonical form below;
 * EXPIRES: a Unix time.  The token is thus bound to the one message that
 * carries it: copied into any other message (another Message-ID or
 * another body) or kept past its expiry it no longer verifies.  The
 * milter also honours it only on mail submitted from the gateway itself
 * ([milter] own_networks); everything else is classified and stripped.
 *
 * The canonical body: every CR directly before an LF removed, and every
 * LF at the very end removed (so CRLF or LF line ends, and a final line
 * end added or not by the MTA, hash the same).  Bare CRs stay.
 */
#ifndef DM_LOOP_H
#define DM_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The canonical body hash, fed in chunks of any size. */
typedef struct dm_bodyhash dm_bodyhash;

dm_bodyhash *dm_bodyhash_new(void);
void dm_bodyhash_update(dm_bodyhash *h, const void *data, size_t len);
/* Lowercase hex into out (65 bytes).  The hash cannot be fed after. */
void dm_bodyhash_final(dm_bodyhash *h, char out[65]);
void dm_bodyhash_free(dm_bodyhash *h);

/* The header value for a message (new string). */
char *dm_loop_token(const void *key, size_t keylen, const char *message_id,
                    const char *body_sha256, int64_t expires);

typedef enum {
    DM_LOOP_VALID,
    DM_LOOP_MALFORMED, /* not "v2 EXPIRES MAC" (an older version too) */
    DM_LOOP_FORGED,    /* the MAC does not cover this message under our key */
    DM_LOOP_EXPIRED,
} dm_loop_result;

/* Check a received value against the message that carries it.  A
 * missing key or Message-ID never verifies. */
dm_loop_result dm_loop_check(const void *key, size_t keylen, const char *value,
                             const char *message_id, const char *body_sha256, int64_t now);
/* "valid", "malformed", "forged", "expired": for the log. */
const char *dm_loop_result_name(dm_loop_result r);

/* A Message-ID header value reduced to what the MAC covers: the first
 * "<...>" without its brackets, else the value without blanks (new
 * string; "" for NULL). */
char *dm_loop_message_id(const char *header_value);

#endif
