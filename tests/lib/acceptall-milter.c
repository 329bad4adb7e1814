/*
 * acceptall-milter: the benchmark's baseline, a libmilter program that
 * accepts every message and does nothing else.  It negotiates away every
 * step but the end of message, asks for no macros and answers nothing it
 * need not: the least a milter can cost.  bench/throughput.sh compares
 * diariemilter against it.
 *
 *   acceptall-milter [-d] -p unix:/path | inet:PORT@127.0.0.1
 *
 * -d keeps the DATA step and answers it (continue).  Over TCP that is what
 * avoids Postfix's delayed-ACK stall: smtpd writes the last envelope
 * events without waiting for an answer and hands the connection to
 * cleanup, whose first write Nagle holds until the milter host ACKs
 * smtpd's (about 40 ms later); an answer to DATA is that ACK.
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int acceptall_want_data;

static sfsistat acceptall_data(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_CONTINUE;
}

static sfsistat acceptall_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_ACCEPT;
}

static sfsistat acceptall_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                                    unsigned long f2, unsigned long f3, unsigned long *pf0,
                                    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    const unsigned long skip = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | SMFIP_NORCPT |
                               SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | SMFIP_NOUNKNOWN |
                               (acceptall_want_data ? 0 : SMFIP_NODATA);

    (void)ctx, (void)f0, (void)f2, (void)f3;
    *pf0 = 0; /* no actions */
    *pf1 = f1 & skip;
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

static struct smfiDesc acceptall_desc = {
    .xxfi_name = "acceptall",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = 0,
    .xxfi_data = acceptall_data,
    .xxfi_eom = acceptall_eom,
    .xxfi_negotiate = acceptall_negotiate,
};

int main(int argc, char **argv)
{
    const char *sock = NULL;
    int c;

    while ((c = getopt(argc, argv, "dp:")) != -1) {
        if (c == 'p')
            sock = optarg;
        else if (c == 'd')
            acceptall_want_data = 1;
        else
            break;
    }
    if (sock == NULL) {
        fprintf(stderr, "usage: acceptall-milter [-d] -p SOCKET\n");
        return 64;
    }
    if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_register(acceptall_desc) != MI_SUCCESS) {
        fprintf(stderr, "acceptall-milter: cannot use %s\n", sock);
        return 71;
    }
    smfi_setbacklog(128);
    if (smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "acceptall-milter: cannot open %s\n", sock);
        return 71;
    }
    /* Postfix's smtpd and cleanup connect as user postfix. */
    if (strncmp(sock, "unix:", 5) == 0 && chmod(sock + 5, 0666) != 0) {
        perror("acceptall-milter: chmod");
        return 71;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
