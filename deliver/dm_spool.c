#include "dm_spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm_log.h"
#include "dm_util.h"

struct dm_spool {
    char *dir;
    char *tmp, *new, *cur, *dead;
    /* Committers hold it shared from commit to finish; listing for
     * delivery holds it exclusively, so it never sees an item whose
     * message may still be refused. */
    GRWLock commit_lock;
};

typedef struct {
    char *name;
    int fd;
    GMimeStream *stream;
    bool dropped; /* taken back by dm_spool_tx_drop */
} dm_spool_pending;

struct dm_spool_tx {
    dm_spool *spool;
    char *msg_id;
    char *origin;   /* the original's Message-ID, or NULL */
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

bool dm_spool_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok;
    int e;

    if (fd < 0)
        return false;
    ok = fsync(fd) == 0;
    e = errno;
    close(fd);
    errno = e;
    return ok;
}

const char *dm_spool_where_name(dm_spool_where w)
{
    switch (w) {
    case DM_SPOOL_NEW: return "new";
    case DM_SPOOL_CUR: return "cur";
    case DM_SPOOL_DEAD: return "dead";
    }
    return "?";
}

static const char *dm_spool_folder(const dm_spool *s, dm_spool_where w)
{
    switch (w) {
    case DM_SPOOL_NEW: return s->new;
    case DM_SPOOL_CUR: return s->cur;
    case DM_SPOOL_DEAD: return s->dead;
    }
    return s->new;
}

dm_spool *dm_spool_open(const char *dir, bool clean, GError **err)
{
    dm_spool *s = g_new0(dm_spool, 1);

    s->dir = g_strdup(dir);
    s->tmp = g_build_filename(dir, "tmp", NULL);
    s->new = g_build_filename(dir, "new", NULL);
    s->cur = g_build_filename(dir, "cur", NULL);
    s->dead = g_build_filename(dir, "dead", NULL);
    g_rw_lock_init(&s->commit_lock);
    if (!dm_spool_mkdir(s->tmp, err) || !dm_spool_mkdir(s->new, err) ||
        !dm_spool_mkdir(s->cur, err) || !dm_spool_mkdir(s->dead, err)) {
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
    g_free(s->cur);
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

void dm_spool_tx_set_origin(dm_spool_tx *tx, const char *message_id)
{
    g_free(tx->origin);
    tx->origin = message_id != NULL && *message_id != '\0' ? g_strdup(message_id) : NULL;
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

static char *dm_spool_envelope(const char *kind, const char *message, const char *message_id,
                               int64_t created, int attempts, int64_t next, const char *from,
                               const char *rcpt, const char *error, bool private_mail)
{
    char *k = dm_spool_clean(kind), *m = dm_spool_clean(message), *f = dm_spool_clean(from),
         *r = dm_spool_clean(rcpt), *e = dm_spool_clean(error);
    char *mi = message_id != NULL ? dm_spool_clean(message_id) : NULL;
    char *mline = mi != NULL ? g_strdup_printf("message-id: %s\n", mi) : g_strdup("");
    char *env = g_strdup_printf("DIARIE-SPOOL 1\nkind: %s\nmessage: %s\n%screated: %" G_GINT64_FORMAT
                                "\nattempts: %d\nnext: %" G_GINT64_FORMAT
                                "\nfrom: %s\nrcpt: %s\n%serror: %s\n\n",
                                k, m, mline, created, attempts, next, f, r,
                                private_mail ? "private: yes\n" : "", e);
    g_free(mi);
    g_free(mline);
    g_free(k);
    g_free(m);
    g_free(f);
    g_free(r);
    g_free(e);
    return env;
}

GMimeStream *dm_spool_add(dm_spool_tx *tx, const char *kind, const char *from,
                          const char *rcpt, unsigned flags, GError **err)
{
    dm_spool_pending *p = g_new0(dm_spool_pending, 1);
    char id[21], *path, *env;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;

    /* A fresh id for every item: no other arrival's item has its name
     * (O_EXCL would say so). */
    dm_id_new(id);
    p->name = g_strdup_printf("%s.%s.%u", kind, id, tx->items->len);
    path = g_build_filename(tx->spool->tmp, p->name, NULL);
    p->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (p->fd < 0) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
                    g_strerror(e));
        g_free(path);
        g_free(p->name);
        g_free(p);
        return NULL;
    }
    /* Written by root (diariectl notices remind, report digest --send):
     * the item is the spool's owner's, whose delivery process reads it. */
    if (geteuid() == 0) {
        struct stat st;

        if (stat(tx->spool->tmp, &st) == 0 && st.st_uid != 0 &&
            fchown(p->fd, st.st_uid, st.st_gid) != 0)
            dm_log(DM_LOG_WARNING, "%s: cannot give it to the spool's owner: %s", path,
                   g_strerror(errno));
    }
    env = dm_spool_envelope(kind, tx->msg_id, tx->origin, now, 0, 0, from, rcpt, "",
                            (flags & DM_SPOOL_PRIVATE) != 0);
    if (!dm_write_all(p->fd, env, strlen(env))) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool: %s", g_strerror(e));
        /* Not the transaction's yet: nobody else would remove it. */
        close(p->fd);
        unlink(path);
        g_free(path);
        g_free(env);
        g_free(p->name);
        g_free(p);
        return NULL;
    }
    g_free(path);
    g_free(env);
    p->stream = g_mime_stream_fs_new(p->fd);
    g_mime_stream_fs_set_owner(GMIME_STREAM_FS(p->stream), FALSE);
    g_ptr_array_add(tx->items, p);
    return p->stream;
}

static int dm_spool_rename_noreplace(const char *from, const char *to);

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
        /* Never over anything: what is in new/ is someone's, owed. */
        int rc = dm_spool_rename_noreplace(from, to), e = errno;

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

void dm_spool_tx_drop(dm_spool_tx *tx, size_t index)
{
    dm_spool_pending *p;
    char *path;

    if (index >= tx->items->len)
        return;
    p = g_ptr_array_index(tx->items, index);
    if (p->dropped)
        return;
    path = g_build_filename(tx->committed ? tx->spool->new : tx->spool->tmp, p->name, NULL);
    unlink(path);
    g_free(path);
    if (tx->committed)
        dm_spool_fsync_dir(tx->spool->new);
    p->dropped = true;
}

void dm_spool_finish(dm_spool_tx *tx, bool keep)
{
    if (tx == NULL)
        return;
    for (guint i = 0; i < tx->items->len; i++) {
        dm_spool_pending *p = g_ptr_array_index(tx->items, i);

        g_object_unref(p->stream);
        close(p->fd);
        if (!p->dropped && (!tx->committed || !keep)) {
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
    g_free(tx->origin);
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
    g_free(it->message_id);
    g_free(it->from);
    g_free(it->rcpt);
    g_free(it->last_error);
    g_free(it);
}

const char *dm_spool_item_rcpt_for_log(const dm_spool_item *it)
{
    return it->private_mail ? "the recipient of private mail" : it->rcpt;
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
    {
        char *dir = g_path_get_dirname(path);
        char *base = g_path_get_basename(dir);
        it->where = strcmp(base, "cur") == 0    ? DM_SPOOL_CUR
                    : strcmp(base, "dead") == 0 ? DM_SPOOL_DEAD
                                                : DM_SPOOL_NEW;
        g_free(base);
        g_free(dir);
    }
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
            else if (strcmp(line, "message-id") == 0)
                it->message_id = g_strdup(val);
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
            else if (strcmp(line, "private") == 0)
                it->private_mail = strcmp(val, "yes") == 0;
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

GPtrArray *dm_spool_list_in(dm_spool *s, dm_spool_where where, GError **err)
{
    const char *dir = dm_spool_folder(s, where);
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

GPtrArray *dm_spool_list(dm_spool *s, bool dead, GError **err)
{
    return dm_spool_list_in(s, dead ? DM_SPOOL_DEAD : DM_SPOOL_NEW, err);
}

bool dm_spool_take_census(dm_spool *s, dm_spool_census *c, GError **err)
{
    memset(c, 0, sizeof *c);
    for (int w = DM_SPOOL_NEW; w <= DM_SPOOL_DEAD; w++) {
        GDir *d = g_dir_open(dm_spool_folder(s, (dm_spool_where)w), 0, err);
        const char *n;

        if (d == NULL)
            return false;
        while ((n = g_dir_read_name(d)) != NULL) {
            const char *last = strrchr(n, '.'), *id;
            char idbuf[21];
            int64_t ms;

            if (*n == '.')
                continue;
            c->count[w]++;
            if (w == DM_SPOOL_DEAD || last == NULL)
                continue;
            /* KIND.ID.N: ID is the 20 characters before the last dot. */
            id = last - 20;
            if (id <= n || id[-1] != '.')
                continue;
            memcpy(idbuf, id, 20);
            idbuf[20] = '\0';
            if (dm_id_time(idbuf, &ms) && (c->oldest_ms == 0 || ms < c->oldest_ms))
                c->oldest_ms = ms;
        }
        g_dir_close(d);
    }
    return true;
}

dm_spool_item *dm_spool_find(dm_spool *s, const char *name, GError **err)
{
    static const dm_spool_where order[] = {DM_SPOOL_NEW, DM_SPOOL_CUR, DM_SPOOL_DEAD};

    if (name == NULL || *name == '\0' || *name == '.' || strchr(name, '/') != NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "\"%s\" is not a spool item name",
                    name != NULL ? name : "");
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++) {
        char *p = g_build_filename(dm_spool_folder(s, order[i]), name, NULL);
        dm_spool_item *it = NULL;

        if (g_file_test(p, G_FILE_TEST_EXISTS))
            it = dm_spool_read_item(p, err);
        g_free(p);
        if (it != NULL)
            return it;
        if (err != NULL && *err != NULL)
            return NULL;
    }
    g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such item in %s", name, s->dir);
    return NULL;
}

/* Rewrite an item's envelope, keeping its message, atomically: a new file
 * in tmp/ under a name of its own (a transaction may be writing an item of
 * the same name there), fsynced, renamed into dest_dir, and the old one
 * removed.  Run as root ("diariectl queue"), the new file keeps the old
 * one's owner, so that the daemon's user can still read it. */
static bool dm_spool_rewrite(dm_spool *s, dm_spool_item *it, dm_spool_where dest_where,
                             GError **err)
{
    const char *dest_dir = dm_spool_folder(s, dest_where);
    char *tmp = g_strdup_printf("%s/%s.rw-XXXXXX", s->tmp, it->name);
    char *dest = g_build_filename(dest_dir, it->name, NULL);
    char *env = dm_spool_envelope(it->kind, it->message, it->message_id, it->created,
                                  it->attempts, it->next, it->from, it->rcpt, it->last_error,
                                  it->private_mail);
    int in = -1, out = -1, e = 0;
    bool ok = false, made = false;
    char buf[65536];
    ssize_t n;
    struct stat st;

    in = open(it->path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        goto fail;
    out = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0640);
    if (out < 0)
        goto fail;
    made = true;
    if (geteuid() == 0 && fstat(in, &st) == 0 && st.st_uid != 0 &&
        fchown(out, st.st_uid, st.st_gid) != 0)
        goto fail;
    if (lseek(in, it->body_offset, SEEK_SET) < 0 || !dm_write_all(out, env, strlen(env)))
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
    made = false;
    if (strcmp(it->path, dest) != 0 && unlink(it->path) != 0 && errno != ENOENT)
        goto fail;
    dm_spool_fsync_dir(dest_dir);
    if (strcmp(it->path, dest) != 0) {
        char *old_dir = g_path_get_dirname(it->path);
        dm_spool_fsync_dir(old_dir);
        g_free(old_dir);
    }
    it->body_offset = (int64_t)strlen(env);
    g_free(it->path);
    it->path = dest;
    it->where = dest_where;
    dest = NULL;
    ok = true;
    goto out;
fail:
    e = errno;
    g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool %s: %s", it->name,
                g_strerror(e));
    if (made)
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
    return dm_spool_rewrite(s, it, DM_SPOOL_NEW, err);
}

bool dm_spool_bury(dm_spool *s, dm_spool_item *it, const char *error, GError **err)
{
    it->attempts++;
    g_free(it->last_error);
    it->last_error = g_strdup(error);
    return dm_spool_rewrite(s, it, DM_SPOOL_DEAD, err);
}

bool dm_spool_revive(dm_spool *s, dm_spool_item *it, GError **err)
{
    it->next = 0;
    it->attempts = 0;
    it->created = g_get_real_time() / G_USEC_PER_SEC;
    return dm_spool_rewrite(s, it, DM_SPOOL_NEW, err);
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

/* rename(from, to) unless to exists.  renameat2(RENAME_NOREPLACE) where
 * the file system has it, else link + unlink (a crash between the two
 * leaves the file under both names: dm_spool_recover settles that). */
static int dm_spool_rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    if (link(from, to) != 0)
        return -1;
    if (unlink(from) != 0) {
        int e = errno;
        unlink(to);
        errno = e;
        return -1;
    }
    return 0;
}

bool dm_spool_claim(dm_spool *s, dm_spool_item *it, GError **err)
{
    char *to = g_build_filename(s->cur, it->name, NULL);
    char *from_dir;

    if (dm_spool_rename_noreplace(it->path, to) != 0) {
        int e = errno;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "spool %s: %s", it->name,
                    e == EEXIST ? "an item of that name is being delivered" : g_strerror(e));
        g_free(to);
        return false;
    }
    /* In cur/ for good before anything is delivered from there. */
    from_dir = g_path_get_dirname(it->path);
    dm_spool_fsync_dir(s->cur);
    dm_spool_fsync_dir(from_dir);
    g_free(from_dir);
    g_free(it->path);
    it->path = to;
    it->where = DM_SPOOL_CUR;
    return true;
}

dm_spool_lock_result dm_spool_lock(const char *path, int *fd, GError **err)
{
    struct stat a, b;
    int f = open(path, O_RDONLY | O_CLOEXEC);

    *fd = -1;
    if (f < 0) {
        int e = errno;
        if (e == ENOENT)
            return DM_SPOOL_GONE;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path,
                    g_strerror(e));
        return DM_SPOOL_LOCK_ERROR;
    }
    if (flock(f, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(f);
        if (e == EWOULDBLOCK)
            return DM_SPOOL_BUSY;
        g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(e), "%s: flock: %s", path,
                    g_strerror(e));
        return DM_SPOOL_LOCK_ERROR;
    }
    /* Whoever held it before may have moved or removed it meanwhile: the
     * lock is ours only if path still names the same file. */
    if (fstat(f, &a) != 0 || stat(path, &b) != 0 || a.st_ino != b.st_ino ||
        a.st_dev != b.st_dev) {
        close(f);
        return DM_SPOOL_GONE;
    }
    *fd = f;
    return DM_SPOOL_LOCKED;
}

int dm_spool_recover(dm_spool *s)
{
    GDir *d = g_dir_open(s->cur, 0, NULL);
    const char *n;
    int moved = 0;

    while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
        char *cur = g_build_filename(s->cur, n, NULL);
        char *new = g_build_filename(s->new, n, NULL);
        struct stat a, b;
        int fd = -1;

        if (dm_spool_lock(cur, &fd, NULL) == DM_SPOOL_LOCKED) {
            /* A claim by link + unlink cut short: the same file in both. */
            if (stat(new, &b) == 0 && fstat(fd, &a) == 0 && a.st_ino == b.st_ino &&
                a.st_dev == b.st_dev)
                unlink(new);
            /* Back to new/.  Names are never reused, so nothing else of
             * this name can be there (the claim's link was removed above). */
            if (rename(cur, new) == 0)
                moved++;
            close(fd);
        }
        g_free(cur);
        g_free(new);
    }
    if (d != NULL)
        g_dir_close(d);
    if (moved > 0) {
        dm_spool_fsync_dir(s->new);
        dm_spool_fsync_dir(s->cur);
    }
    return moved;
}
