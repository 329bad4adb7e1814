/*
 * dm_milter: the daemon: libmilter callbacks, per-connection and
 * per-message context, and the process around them.
 */
#ifndef DM_MILTER_H
#define DM_MILTER_H

#include <libmilter/mfapi.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "dm_engine.h"
#include "dm_exit.h"
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
/* Log as conf says; with_file: also the [log] file (not while root may
 * yet drop to [milter] user: that file lives where the user can write). */
bool dm_milter_log_open(const dm_conf *conf, bool foreground, bool with_file);

/* --- the start, in steps (dm_milter_start.c) --------------------------------
 * Each returns DM_EX_OK, or the exit status (dm_exit.h) after logging
 * why. */
typedef struct dm_start {
    const dm_conf *conf;
    bool foreground;   /* -f: no detaching */
    bool have_user;    /* [milter] user is set: privileges are dropped to it */
    uid_t uid;         /* its ids, (uid_t)-1 and (gid_t)-1 without one */
    gid_t gid;
    gid_t sock_gid;    /* [milter] socket_group, or (gid_t)-1 */
    char *upath;       /* the unix socket's path (dm_start_socket); NULL on TCP */
} dm_start;

/* Who [milter] user and socket_group are. */
int dm_start_user(dm_start *st);
/* The socket, while we may still be root: its directory made, a stale
 * socket removed, libmilter's socket opened, owner and mode set; on TCP,
 * Nagle's algorithm off. */
int dm_start_socket(dm_start *st);
/* The spool, database, key and pid file directories, and the files of
 * the database, the key and the log, made and handed to the user. */
int dm_start_directories(dm_start *st);
/* Detach (unless in the foreground), write the pid file, become the
 * user, open the log, check that the user can write where it must. */
int dm_start_privileges(dm_start *st);

/* "unix:/path", "local:/path", "inet:port@host", "inet6:port@host";
 * *unix_path: the path of a unix socket (new string), else NULL. */
bool dm_socket_spec_ok(const char *spec, char **unix_path);
/* This program, for the delivery processes: what /proc/self/exe names
 * (valgrind reports its client there, not itself). */
char *dm_self_exe(void);

/* One message, from MAIL FROM to end of message or abort: the arrival
 * the engine's steps fill, and the milter's own bookkeeping. */
typedef struct dm_msgctx {
    dm_arrival *a;        /* its engine, envelope, facts, verdict ... */
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
    bool directory_down;  /* resolve failed and the site said accept */
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

/* [metrics] listen and textfile (dm_milter_metrics.c): started with the
 * other threads, stopped after them (the textfile keeps the last counts). */
void dm_milter_metrics_start(const dm_conf *conf);
void dm_milter_metrics_stop(void);
/* Do two configurations say the same of [metrics]? */
bool dm_milter_metrics_same(const dm_conf *a, const dm_conf *b);

#endif
