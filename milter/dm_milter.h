/*
 * dm_milter: the daemon: libmilter callbacks, per-connection and
 * per-message context, and the process around them.
 */
#ifndef DM_MILTER_H
#define DM_MILTER_H

#include <libmilter/mfapi.h>
#include <openssl/evp.h>
#include <stdatomic.h>

#include "dm_engine.h"
#include "dm_loop.h"

/* The process-wide state. */
typedef struct dm_milter_state {
    GMutex lock;
    char *conf_path;
    dm_engine *engine;       /* current; messages hold their own reference */
    dm_spool *spool;         /* one for the life of the process */
    dm_deliver *deliver;
    atomic_int in_flight;    /* messages between MAIL and end of message */
    atomic_ulong negotiated; /* protocol flags the MTA agreed to */
} dm_milter_state;

extern dm_milter_state dm_milter;

/* A new reference to the current engine. */
dm_engine *dm_milter_engine(void);
/* Load the configuration again and swap in a new engine (SIGUSR1). */
bool dm_milter_reload(GError **err);

/* One message, from MAIL FROM to end of message or abort. */
typedef struct dm_msgctx {
    dm_engine *engine;
    dm_envelope *env;
    GByteArray *buf;      /* the message as received, while it is small */
    int spill_fd;         /* -1, or the unnamed file it moved to */
    size_t size;
    size_t spill_size;
    bool spill_failed;
    EVP_MD_CTX *sha;      /* SHA-256 of the message as received */
    dm_bodyhash *body_hash; /* of its body alone, canonical (dm_loop.h): the
                             * duplicate key and the loop token's binding */
    GHashTable *hcount;   /* lowercase header name -> occurrences so far */
    GPtrArray *strip;     /* "Name\nindex" of X-Diarie-* headers to remove */
    char *loop_value;     /* X-Diarie-Genererad as received */
    char *message_id;     /* the first Message-ID header's value, or NULL */
    char *diarie_id;      /* the first X-Diarie-Id header's value, or NULL */
    bool own_net;         /* from [milter] own_networks: may be our own mail */
    bool resolved;        /* facts filled at DATA */
    bool directory_down;  /* resolve failed and the site said accept */
    dm_facts facts;
    int64_t started_us;   /* monotonic, for the summary's timing */
} dm_msgctx;

typedef struct dm_connctx {
    char *client_addr; /* IP address as text, or NULL */
    dm_msgctx *msg;
} dm_connctx;

dm_msgctx *dm_msgctx_new(dm_engine *engine);
void dm_msgctx_free(dm_msgctx *m);
/* Append bytes of the message; false when they could not be kept. */
bool dm_msgctx_append(dm_msgctx *m, const void *data, size_t len);
/* A stream over the whole message, from its start (new reference). */
GMimeStream *dm_msgctx_stream(dm_msgctx *m);
/* Finish the hash: lowercase hex. */
void dm_msgctx_sha256(dm_msgctx *m, char out[65]);
/* Bytes of the body (after the header), for the body's own hash. */
void dm_msgctx_body(dm_msgctx *m, const void *data, size_t len);
/* Finish the body's canonical hash: lowercase hex. */
void dm_msgctx_body_sha256(dm_msgctx *m, char out[65]);

extern struct smfiDesc dm_milter_desc;

#endif
