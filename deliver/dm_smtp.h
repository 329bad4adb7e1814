/*
 * dm_smtp: a small blocking SMTP client for [delivery] method = smtp.
 *
 * One message to one recipient per connection: connect (every address of
 * the host in turn, each within the timeout), EHLO (HELO when EHLO is
 * refused), MAIL FROM (with BODY=8BITMIME when the server offers it and
 * the message has 8-bit bytes), RCPT TO, DATA (bare LF and CRLF line ends
 * both sent as CRLF, lines starting with a dot doubled), QUIT.  Replies
 * may span several lines.
 *
 * Outcome: a 4xx reply, a timeout or a broken connection is temporary.  A
 * 5xx reply to RCPT TO or to the message itself is permanent: the server
 * refuses this message.  A 5xx reply before that (the greeting, EHLO and
 * HELO, MAIL FROM) says the server will not take mail from us at all,
 * which is a matter of configuration an admin can fix, so it counts as
 * temporary and the items wait (until [delivery] dead_after).
 */
#ifndef DM_SMTP_H
#define DM_SMTP_H

#include <stdint.h>

#include "dm_deliver.h"

typedef struct dm_smtp_opts {
    const char *host;
    int port;
    const char *helo;      /* NULL or "": this machine's host name */
    int64_t timeout;       /* seconds, for connecting and for each reply */
} dm_smtp_opts;

/* Send the message in fd from offset to its end.  from: the envelope
 * sender ("" for <>).  On failure *error says why (new string). */
dm_deliver_status dm_smtp_send(const dm_smtp_opts *o, const char *from, const char *rcpt,
                               int fd, int64_t offset, char **error);

#endif
