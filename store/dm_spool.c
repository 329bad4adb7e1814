#include "dm_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_util.h"

struct dm_spool {
    char *dir;
    char *tmp, *new, *dead;
    /* Committers hold it shared from commit to finish; listing for
     * delivery holds it exclusively, so it never sees an item whose
     * message may still be refused. */
    GRWLock commit_lock;
};

typedef struct {
    char *name;
    int fd;
    GMimeStream *stream;
} dm_spool_pending;

struct dm_spool_tx {
    dm_spool *spool;
    char *msg_id;
    GPtrArray *items; /* dm_spool_pending * */
    bool committed; /* renamed into new/ */
    bool locked;    /* holds commit_lock shared */
};

static bool dm_spool_mkdir(const char *path, GError **err)
{
    if (g_mkdir_with_parents(path, 0750) != 0) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
                    g_strerror(e));
        return false;
    }
    return true;
}

static bool dm_spool_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok;

    if (fd < 0)
        return false;
    ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

dm_spool *dm_spool_open(const char *dir, bool clean, GError **err)
{
    dm_spool *s = g_new0(dm_spool, 1);

    s->dir = g_strdup(dir);
    s->tmp = g_build_filename(dir, "tmp", NULL);
    s->new = g_build_filename(dir, "new", NULL);
    s->dead = g_build_filename(dir, "dead", NULL);
    g_rw_lock_init(&s->commit_lock);
    if (!dm_spool_mkdir(s->tmp, err) || !dm_spool_mkdir(s->new, err) ||
        !dm_spool_mkdir(s->dead, err)) {
        dm_spool_close(s);
        return NULL;
    }
    /* Leftovers of transactions that never committed: the milter did not
     * accept their messages, so the senders still have them. */
    if (clean) {
        GDir *d = g_dir_open(s->tmp, 0, NULL);
        const char *n;
        while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
            char *p = g_build_filename(s->tmp, n, NULL);
            unlink(p);
            g_free(p);
        }
        if (d != NULL)
            g_dir_close(d);
    }
    return s;
}

void dm_spool_close(dm_spool *s)
{
    if (s == NULL)
        return;
    g_free(s->dir);
    g_free(s->tmp);
    g_free(s->new);
    g_free(s->dead);
    g_rw_lock_clear(&s->commit_lock);
    g_free(s);
}

const char *dm_spool_dir(const dm_spool *s)
{
    return s->dir;
}

dm_spool_tx *dm_spool_begin(dm_spool *s, const char *msg_id)
{
    dm_spool_tx *tx = g_new0(dm_spool_tx, 1);

    tx->spool = s;
    tx->msg_id = g_strdup(msg_id);
    tx->items = g_ptr_array_new();
    return tx;
}

size_t dm_spool_tx_count(const dm_spool_tx *tx)
{
    return tx->items->len;
}

/* Single-line, no control characters: safe in the envelope. */
static char *dm_spool_clean(const char *v)
{
    char *c = g_strdup(v != NULL ? v : "");

    for (char *p = c; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    }
    return c;
}

static char *dm_spool_envelope(const char *kind, const char *message, int64_t created,
                               int attempts, int64_t next, const char *from, const char *rcpt,
                               const char *error)
{
    char *k = dm_spool_clean(kind), *m = dm_spool_clean(message), *f = dm_spool_clean(from),
         *r = dm_spool_clean(rcpt), *e = dm_spool_clean(error);
    char *env = g_strdup_printf("DIARIE-SPOOL 1\nkind: %s\nmessage: %s\ncreated: %" G_GINT64_FORMAT
                                "\nattempts: %d\nnext: %" G_GINT64_FORMAT
                                "\nfrom: %s\nrcpt: %s\nerror: %s\n\n",
                                k, m, created, attempts, next, f, r, e);
    g_free(k);
    g_free(m);
    g_free(f);
    g_free(r);
    g_free(e);
    return env;
}

GMimeStream *dm_spool_add(dm_spool_tx *tx, const char *kind, const char *from,
                          const char *rcpt, const char *name_seed, GError **err)
{
    dm_spool_pending *p = g_new0(dm_spool_pending, 1);
    char id[21], *path, *env;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    if (name_seed != NULL) {
        char h[65];
        dm_sha256_hex(name_seed, strlen(name_seed), h);
        h[32] = '\0';
        p->name = g_strdup_printf("%s.%s", kind, h);
    } else {
        dm_id_new(id);
        p->name = g_strdup_printf("%s.%s.%u", kind, id, tx->items->len);
    }
    path = g_build_filename(tx->spool->tmp, p->name, NULL);
    p->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (p->fd < 0) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
                    g_strerror(e));
        g_free(path);
        g_free(p->name);
        g_free(p);
        return NULL;
    }
    g_free(path);
    env = dm_spool_envelope(kind, tx->msg_id, now, 0, 0, from, rcpt, "");
    if (!dm_write_all(p->fd, env, strlen(env))) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool: %s", g_strerror(e));
        g_free(env);
        close(p->fd);
        g_free(p->name);
        g_free(p);
        return NULL;
    }
    g_free(env);
    p->stream = g_mime_stream_fs_new(p->fd);
    g_mime_stream_fs_set_owner(GMIME_STREAM_FS(p->stream), FALSE);
    g_ptr_array_add(tx->items, p);
    return p->stream;
}

bool dm_spool_commit(dm_spool_tx *tx, GError **err)
{
    dm_spool *s = tx->spool;

    /* Everything on disk first ... */
    for (guint i = 0; i < tx->items->len; i++) {
        dm_spool_pending *p = g_ptr_array_index(tx->items, i);

        if (g_mime_stream_flush(p->stream) != 0 || fsync(p->fd) != 0) {
            int e = errno;
            g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool %s: %s", p->name,
                        g_strerror(e));
            return false;
        }
    }
    if (tx->items->len == 0)
        return true;
    g_rw_lock_reader_lock(&s->commit_lock);
    tx->locked = true;
    /* ... then in new/, all at once as far as a directory allows. */
    for (guint i = 0; i < tx->items->len; i++) {
        dm_spool_pending *p = g_ptr_array_index(tx->items, i);
        char *from = g_build_filename(s->tmp, p->name, NULL);
        char *to = g_build_filename(s->new, p->name, NULL);
        int rc = rename(from, to), e = errno;

        g_free(from);
        g_free(to);
        if (rc != 0) {
            g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool %s: %s", p->name,
                        g_strerror(e));
            /* Take back the ones already moved: not accepted, not owed. */
            for (guint j = 0; j < i; j++) {
                dm_spool_pending *q = g_ptr_array_index(tx->items, j);
                char *moved = g_build_filename(s->new, q->name, NULL);
                unlink(moved);
                g_free(moved);
            }
            g_rw_lock_reader_unlock(&s->commit_lock);
            tx->locked = false;
            return false;
        }
    }
    tx->committed = true;
    if (!dm_spool_fsync_dir(s->new)) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool %s: %s", s->new,
                    g_strerror(e));
        return false;
    }
    return true;
}

void dm_spool_finish(dm_spool_tx *tx, bool keep)
{
    if (tx == NULL)
        return;
    for (guint i = 0; i < tx->items->len; i++) {
        dm_spool_pending *p = g_ptr_array_index(tx->items, i);

        g_object_unref(p->stream);
        close(p->fd);
        if (!tx->committed || !keep) {
            char *path = g_build_filename(tx->committed ? tx->spool->new : tx->spool->tmp,
                                          p->name, NULL);
            unlink(path);
            g_free(path);
        }
        g_free(p->name);
        g_free(p);
    }
    if (tx->committed && !keep)
        dm_spool_fsync_dir(tx->spool->new);
    if (tx->locked)
        g_rw_lock_reader_unlock(&tx->spool->commit_lock);
    g_ptr_array_free(tx->items, TRUE);
    g_free(tx->msg_id);
    g_free(tx);
}

void dm_spool_free(dm_spool_tx *tx)
{
    dm_spool_finish(tx, false);
}

void dm_spool_item_free(dm_spool_item *it)
{
    if (it == NULL)
        return;
    g_free(it->path);
    g_free(it->name);
    g_free(it->kind);
    g_free(it->message);
    g_free(it->from);
    g_free(it->rcpt);
    g_free(it->last_error);
    g_free(it);
}

dm_spool_item *dm_spool_read_item(const char *path, GError **err)
{
    FILE *f = fopen(path, "re");
    /* Lines of any length: a fixed 2048-byte buffer split a long "error:"
     * line (a chatty sendmail's stderr), the rest read as a line without
     * a colon, and the item became "not a spool item": never delivered,
     * never buried, silently left in new/. */
    char *line = NULL;
    size_t cap = 0;
    dm_spool_item *it;
    bool header_ok = false;

    if (f == NULL) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
                    g_strerror(e));
        return NULL;
    }
    it = g_new0(dm_spool_item, 1);
    it->path = g_strdup(path);
    it->name = g_path_get_basename(path);
    if (getline(&line, &cap, f) > 0 && strcmp(line, "DIARIE-SPOOL 1\n") == 0) {
        while (getline(&line, &cap, f) > 0) {
            char *colon, *val;

            if (strcmp(line, "\n") == 0) {
                header_ok = true;
                break;
            }
            line[strcspn(line, "\n")] = '\0';
            colon = strchr(line, ':');
            if (colon == NULL)
                break;
            *colon = '\0';
            val = g_strstrip(colon + 1);
            if (strcmp(line, "kind") == 0)
                it->kind = g_strdup(val);
            else if (strcmp(line, "message") == 0)
                it->message = g_strdup(val);
            else if (strcmp(line, "created") == 0)
                it->created = g_ascii_strtoll(val, NULL, 10);
            else if (strcmp(line, "attempts") == 0)
                it->attempts = atoi(val);
            else if (strcmp(line, "next") == 0)
                it->next = g_ascii_strtoll(val, NULL, 10);
            else if (strcmp(line, "from") == 0)
                it->from = g_strdup(val);
            else if (strcmp(line, "rcpt") == 0)
                it->rcpt = g_strdup(val);
            else if (strcmp(line, "error") == 0)
                it->last_error = g_strdup(val);
        }
    }
    it->body_offset = ftell(f);
    fclose(f);
    free(line);
    if (!header_ok || it->rcpt == NULL || *it->rcpt == '\0' || it->from == NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a spool item", path);
        dm_spool_item_free(it);
        return NULL;
    }
    return it;
}

static gint dm_spool_item_cmp(gconstpointer a, gconstpointer b)
{
    const dm_spool_item *x = *(dm_spool_item *const *)a, *y = *(dm_spool_item *const *)b;

    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->name, y->name);
}

GPtrArray *dm_spool_list(dm_spool *s, bool dead, GError **err)
{
    const char *dir = dead ? s->dead : s->new;
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *out;
    GDir *d;
    const char *n;

    /* Wait for commits in progress: their items are not owed yet.  Only
     * the names are read under the lock, to keep committers waiting
     * briefly. */
    g_rw_lock_writer_lock(&s->commit_lock);
    d = g_dir_open(dir, 0, err);
    while (d != NULL && (n = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_strdup(n));
    g_rw_lock_writer_unlock(&s->commit_lock);
    if (d == NULL) {
        g_ptr_array_free(names, TRUE);
        return NULL;
    }
    g_dir_close(d);
    out = g_ptr_array_new_with_free_func((GDestroyNotify)dm_spool_item_free);
    for (guint i = 0; i < names->len; i++) {
        char *p = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
        dm_spool_item *it = dm_spool_read_item(p, NULL);

        if (it != NULL)
            g_ptr_array_add(out, it);
        g_free(p);
    }
    g_ptr_array_free(names, TRUE);
    g_ptr_array_sort(out, dm_spool_item_cmp);
    return out;
}

/* Rewrite an item's envelope, keeping its message, atomically. */
static bool dm_spool_rewrite(dm_spool *s, dm_spool_item *it, const char *dest_dir,
                             GError **err)
{
    char *tmp = g_build_filename(s->tmp, it->name, NULL);
    char *dest = g_build_filename(dest_dir, it->name, NULL);
    char *env = dm_spool_envelope(it->kind, it->message, it->created, it->attempts, it->next,
                                  it->from, it->rcpt, it->last_error);
    int in = -1, out = -1, e = 0;
    bool ok = false;
    char buf[65536];
    ssize_t n;

    in = open(it->path, O_RDONLY | O_CLOEXEC);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (in < 0 || out < 0 || lseek(in, it->body_offset, SEEK_SET) < 0 ||
        !dm_write_all(out, env, strlen(env)))
        goto fail;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (!dm_write_all(out, buf, (size_t)n))
            goto fail;
    }
    if (n < 0 || fsync(out) != 0)
        goto fail;
    close(out);
    out = -1;
    if (rename(tmp, dest) != 0)
        goto fail;
    if (strcmp(it->path, dest) != 0 && unlink(it->path) != 0 && errno != ENOENT)
        goto fail;
    dm_spool_fsync_dir(dest_dir);
    it->body_offset = (int64_t)strlen(env);
    g_free(it->path);
    it->path = dest;
    dest = NULL;
    ok = true;
    goto out;
fail:
    e = errno;
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool %s: %s", it->name,
                g_strerror(e));
    unlink(tmp);
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    g_free(env);
    g_free(tmp);
    g_free(dest);
    return ok;
}

bool dm_spool_defer(dm_spool *s, dm_spool_item *it, int64_t next, const char *error,
                    GError **err)
{
    it->attempts++;
    it->next = next;
    g_free(it->last_error);
    it->last_error = g_strdup(error);
    return dm_spool_rewrite(s, it, s->new, err);
}

bool dm_spool_bury(dm_spool *s, dm_spool_item *it, const char *error, GError **err)
{
    it->attempts++;
    g_free(it->last_error);
    it->last_error = g_strdup(error);
    return dm_spool_rewrite(s, it, s->dead, err);
}

bool dm_spool_revive(dm_spool *s, dm_spool_item *it, GError **err)
{
    it->next = 0;
    return dm_spool_rewrite(s, it, s->new, err);
}

bool dm_spool_remove(dm_spool *s, dm_spool_item *it, GError **err)
{
    char *dir = g_path_get_dirname(it->path);

    if (unlink(it->path) != 0 && errno != ENOENT) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", it->path,
                    g_strerror(e));
        g_free(dir);
        return false;
    }
    dm_spool_fsync_dir(dir);
    g_free(dir);
    (void)s;
    return true;
}
