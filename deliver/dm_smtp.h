/*
 * dm_smtp: [delivery] method = smtp, through libcurl's SMTP client.
 *
 * One message to one recipient per connection.  libcurl speaks the
 * protocol: EHLO (HELO when EHLO is refused), STARTTLS (required unless
 * tls is off: a server that does not offer it fails), AUTH when a user is
 * given (only over TLS unless tls is off), SMTPUTF8 for a non-ASCII
 * address when the server offers it, dot-stuffing.  Bare LF line ends are
 * sent as CRLF.
 *
 * Outcome: a 4xx reply, a timeout or a broken connection is temporary.  A
 * 5xx reply to RCPT TO or to the message itself is permanent: the server
 * refuses this message.  A 5xx reply before that (the greeting, EHLO,
 * STARTTLS, AUTH, MAIL FROM) says the server will not take mail from us at
 * all, which is a matter of configuration an admin can fix, so it counts
 * as temporary and the items wait (until [delivery] dead_after).  The
 * whole message sent and no answer to its end: unknown (it may have been
 * taken; sent again it could arrive twice).
 */
#ifndef DM_SMTP_H
#define DM_SMTP_H

#include <stdbool.h>
#include <stdint.h>

#include "dm_deliver.h"

typedef struct dm_smtp_opts {
    const char *host;
    int port;
    const char *helo;      /* NULL or "": this machine's host name */
    int64_t timeout;       /* seconds, for connecting and for each reply */
    bool starttls;         /* STARTTLS required (the default) */
    const char *user;      /* NULL or "": no AUTH */
    const char *password;  /* with user */
} dm_smtp_opts;

/* Send the message in fd from offset to its end.  from: the envelope
 * sender ("" for <>).  On failure *error says why (new string). */
dm_deliver_status dm_smtp_send(const dm_smtp_opts *o, const char *from, const char *rcpt,
                               int fd, int64_t offset, char **error);

#endif
