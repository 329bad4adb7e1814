/*
 * The SQLite backend: the record in one database file in WAL mode, so
 * that diariectl reads while the daemon writes, with synchronous=FULL, so
 * that a commit is on disk when it returns.  This file: which databases
 * it keeps, opening, the schema, the case index; the journal and the
 * counters are dm_store_sqlite_journal.c and dm_store_sqlite_counters.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dm_store_sqlite_int.h"

static const char dm_store_schema[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    "  key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS cases ("
    "  dnr TEXT PRIMARY KEY, myndighet TEXT NOT NULL, title TEXT NOT NULL,"
    "  status TEXT NOT NULL, parties TEXT NOT NULL, sekretess INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS journal ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  time INTEGER NOT NULL,"
    "  queue_id TEXT, message_id TEXT, direction TEXT, sender TEXT, recipients TEXT,"
    "  subject TEXT,"
    "  class TEXT NOT NULL,"
    "  sekretess INTEGER NOT NULL DEFAULT 0,"
    "  case_dnr TEXT, reasons TEXT, actions TEXT,"
    "  hash TEXT NOT NULL,"
    "  dup_key TEXT,"
    "  gateway TEXT,"
    "  prev TEXT NOT NULL,"
    "  mac TEXT NOT NULL,"
    "  pruned INTEGER NOT NULL DEFAULT 0,"
    "  pruned_at INTEGER,"
    "  seal TEXT);"
    "CREATE INDEX IF NOT EXISTS journal_time ON journal(time);"
    "CREATE INDEX IF NOT EXISTS journal_dup ON journal(dup_key);"
    "CREATE TABLE IF NOT EXISTS mass_window ("
    "  sender TEXT NOT NULL, rcpt TEXT NOT NULL, time INTEGER NOT NULL,"
    "  PRIMARY KEY (sender, rcpt)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS mass_window_time ON mass_window(time);"
    "CREATE TABLE IF NOT EXISTS autoreply ("
    "  person TEXT PRIMARY KEY, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    "  count INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE IF NOT EXISTS once ("
    "  key TEXT PRIMARY KEY, time INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS owed ("
    "  key TEXT PRIMARY KEY, id TEXT NOT NULL, time INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS owed_time ON owed(time);"
    /* Notices that ask for an answer, R15's questions (dm_store.h): keyed
     * hashes, ids, times, the organisation's own mailboxes. */
    "CREATE TABLE IF NOT EXISTS notices ("
    "  id TEXT NOT NULL, person TEXT NOT NULL, msg TEXT NOT NULL, registrar TEXT,"
    "  time INTEGER NOT NULL, reminded INTEGER NOT NULL DEFAULT 0,"
    "  answered INTEGER NOT NULL DEFAULT 0, answer_id TEXT,"
    "  PRIMARY KEY (id, person));"
    "CREATE INDEX IF NOT EXISTS notices_msg ON notices(msg, person);"
    "CREATE INDEX IF NOT EXISTS notices_time ON notices(time);"
    "CREATE TABLE IF NOT EXISTS questions ("
    "  id TEXT NOT NULL, mailbox TEXT NOT NULL, msg TEXT NOT NULL, thread TEXT NOT NULL,"
    "  time INTEGER NOT NULL, answered INTEGER NOT NULL DEFAULT 0, answer_id TEXT,"
    "  PRIMARY KEY (id, mailbox));"
    "CREATE INDEX IF NOT EXISTS questions_msg ON questions(msg);"
    "CREATE INDEX IF NOT EXISTS questions_thread ON questions(thread);"
    "CREATE INDEX IF NOT EXISTS questions_time ON questions(time);";

/* Columns added since the first schema: a database made by an earlier
 * version gets them on upgrade. */
static bool dm_sqlite_add_columns(dm_sqlite *q, GError **err)
{
    static const struct {
        const char *column, *ddl;
    } added[] = {
        {"pruned", "ALTER TABLE journal ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0"},
        {"pruned_at", "ALTER TABLE journal ADD COLUMN pruned_at INTEGER"},
        {"seal", "ALTER TABLE journal ADD COLUMN seal TEXT"},
        {"gateway", "ALTER TABLE journal ADD COLUMN gateway TEXT"},
    };
    bool have[G_N_ELEMENTS(added)] = {false};
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(q->db, "PRAGMA table_info(journal)", -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "schema");
        return false;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        for (size_t i = 0; i < G_N_ELEMENTS(added); i++)
            if (name != NULL && strcmp(name, added[i].column) == 0)
                have[i] = true;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < G_N_ELEMENTS(added); i++)
        if (!have[i] && !dm_sqlite_exec(q, added[i].ddl, err))
            return false;
    return true;
}

/* PRAGMA user_version: 0 for a new file, and for one made before the
 * schema had a version (which is version 1 with or without the columns
 * added since). */
static bool dm_sqlite_user_version(dm_sqlite *q, int *version, GError **err)
{
    sqlite3_stmt *st = NULL;
    bool ok = false;

    *version = 0;
    if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        ok = true;
    } else
        dm_sqlite_error(err, q->db, "schema version");
    sqlite3_finalize(st);
    return ok;
}

static bool dm_sqlite_schema_version(dm_store *s, int *version, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    bool ok;

    g_mutex_lock(&q->lock);
    ok = dm_sqlite_user_version(q, version, err);
    g_mutex_unlock(&q->lock);
    return ok;
}

/* Create what is missing and add the columns of later versions, in one
 * transaction, and say so in user_version.  Idempotent. */
static bool dm_sqlite_upgrade_locked(dm_sqlite *q, int *from, GError **err)
{
    char *set;
    bool ok;

    if (!dm_sqlite_user_version(q, from, err))
        return false;
    if (*from == DM_STORE_SCHEMA_VERSION)
        return true;
    if (*from > DM_STORE_SCHEMA_VERSION) {
        g_set_error(err, DM_STORE_ERROR, 0,
                    "%s: schema version %d is newer than this diariemilter knows (%d): "
                    "run the newer diariemilter",
                    q->path, *from, DM_STORE_SCHEMA_VERSION);
        return false;
    }
    if (!dm_sqlite_run(q, "BEGIN IMMEDIATE", err))
        return false;
    set = g_strdup_printf("PRAGMA user_version = %d", DM_STORE_SCHEMA_VERSION);
    ok = dm_sqlite_exec(q, dm_store_schema, err) && dm_sqlite_add_columns(q, err) &&
         dm_sqlite_exec(q, set, err) && dm_sqlite_run(q, "COMMIT", err);
    g_free(set);
    if (!ok)
        dm_sqlite_run(q, "ROLLBACK", NULL);
    return ok;
}

static bool dm_sqlite_upgrade(dm_store *s, int *from, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    bool ok;

    g_mutex_lock(&q->lock);
    ok = dm_sqlite_upgrade_locked(q, from, err);
    g_mutex_unlock(&q->lock);
    return ok;
}

/* At open: a newer schema is refused; an older one (or none) is brought
 * up to date, for one gateway owns this file.  A database this user may
 * only read is left as it is. */
static bool dm_sqlite_schema_open(dm_sqlite *q, GError **err)
{
    GError *uerr = NULL;
    int from = 0;

    if (dm_sqlite_upgrade_locked(q, &from, &uerr))
        return true;
    if (from <= DM_STORE_SCHEMA_VERSION && sqlite3_errcode(q->db) == SQLITE_READONLY) {
        g_error_free(uerr);
        return true;
    }
    g_propagate_error(err, uerr);
    return false;
}

/* The online backup API: a consistent copy while the daemon writes,
 * made a few pages at a time so that its commits wait only briefly. */
static bool dm_sqlite_backup(dm_store *s, const char *path, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3 *to = NULL;
    sqlite3_backup *b;
    int rc, fd;

    /* A new file, this user's alone: it holds the whole record. */
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: %s", path, g_strerror(errno));
        return false;
    }
    close(fd);
    rc = sqlite3_open_v2(path, &to, SQLITE_OPEN_READWRITE, NULL);
    if (rc != SQLITE_OK) {
        g_set_error(err, DM_STORE_ERROR, rc, "%s: %s", path,
                    to != NULL ? sqlite3_errmsg(to) : sqlite3_errstr(rc));
        goto fail;
    }
    b = sqlite3_backup_init(to, "main", q->db, "main");
    if (b == NULL) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: %s", path, sqlite3_errmsg(to));
        goto fail;
    }
    do {
        g_mutex_lock(&q->lock);
        rc = sqlite3_backup_step(b, 256);
        g_mutex_unlock(&q->lock);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            g_usleep(20000);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        g_set_error(err, DM_STORE_ERROR, rc, "%s: backup: %s", path, sqlite3_errstr(rc));
        goto fail;
    }
    /* The copy is one file: no WAL beside it. */
    if (sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: %s", path, sqlite3_errmsg(to));
        goto fail;
    }
    sqlite3_close_v2(to);
    return true;
fail:
    if (to != NULL)
        sqlite3_close_v2(to);
    unlink(path);
    return false;
}

/* The first open that knows the owed table records when that was. */
static bool dm_sqlite_owed_epoch_init(dm_sqlite *q, GError **err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(q->db,
                                "INSERT OR IGNORE INTO meta(key, value) VALUES ('owed_epoch', ?)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        char now[32];

        g_snprintf(now, sizeof now, "%" G_GINT64_FORMAT, g_get_real_time() / G_USEC_PER_SEC);
        sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(st);
    /* A read-only database (diariectl as another user): nothing to record. */
    if (rc != SQLITE_OK && sqlite3_errcode(q->db) != SQLITE_READONLY) {
        dm_sqlite_error(err, q->db, "meta");
        return false;
    }
    return true;
}

void dm_sqlite_error(GError **err, sqlite3 *db, const char *what)
{
    g_set_error(err, DM_STORE_ERROR, sqlite3_errcode(db), "%s: %s: %s",
                sqlite3_db_filename(db, "main") ? sqlite3_db_filename(db, "main") : "database",
                what, sqlite3_errmsg(db));
}

bool dm_sqlite_exec(dm_sqlite *q, const char *sql, GError **err)
{
    char *msg = NULL;

    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        g_set_error(err, DM_STORE_ERROR, sqlite3_errcode(q->db), "%s: %s", q->path,
                    msg != NULL ? msg : sqlite3_errmsg(q->db));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

static void dm_sqlite_stmt_free(gpointer st)
{
    sqlite3_finalize(st);
}

sqlite3_stmt *dm_sqlite_get(dm_sqlite *q, const char *sql, const char *what, GError **err)
{
    sqlite3_stmt *st = g_hash_table_lookup(q->stmts, sql);

    if (st != NULL)
        return st;
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, what);
        sqlite3_finalize(st);
        return NULL;
    }
    g_hash_table_insert(q->stmts, g_strdup(sql), st);
    return st;
}

void dm_sqlite_put(sqlite3_stmt *st)
{
    if (st == NULL)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

bool dm_sqlite_run(dm_sqlite *q, const char *sql, GError **err)
{
    sqlite3_stmt *st = dm_sqlite_get(q, sql, sql, err);
    bool ok;

    if (st == NULL)
        return false;
    ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok)
        dm_sqlite_error(err, q->db, sql);
    dm_sqlite_put(st);
    return ok;
}

char *dm_sqlite_meta(dm_sqlite *q, const char *key)
{
    sqlite3_stmt *st = dm_sqlite_get(q, "SELECT value FROM meta WHERE key = ?", "meta", NULL);
    char *v = NULL;

    if (st == NULL)
        return NULL;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = g_strdup((const char *)sqlite3_column_text(st, 0));
    dm_sqlite_put(st);
    return v;
}

bool dm_sqlite_set_meta(dm_sqlite *q, const char *key, const char *value, GError **err)
{
    sqlite3_stmt *st = dm_sqlite_get(q,
                                     "INSERT INTO meta(key, value) VALUES (?, ?) "
                                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                     key, err);
    int rc;

    if (st == NULL)
        return false;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    dm_sqlite_put(st);
    if (rc != SQLITE_OK)
        dm_sqlite_error(err, q->db, key);
    return rc == SQLITE_OK;
}

/* --- which databases, before opening ------------------------------------ */

/* Any path: SQLite comes last among the backends. */
static bool dm_sqlite_accepts(const char *database)
{
    return database != NULL && *database != '\0';
}

static bool dm_sqlite_exists(const char *database)
{
    return g_file_test(database, G_FILE_TEST_EXISTS);
}

static void dm_sqlite_prepare(const char *database)
{
    char *dir = g_path_get_dirname(database);

    g_mkdir_with_parents(dir, 0750);
    g_free(dir);
}

static char **dm_sqlite_local_files(const char *database)
{
    char **files = g_new0(char *, 4);

    files[0] = g_strdup(database);
    files[1] = g_strconcat(database, "-wal", NULL);
    files[2] = g_strconcat(database, "-shm", NULL);
    return files;
}

/* --- open, close ---------------------------------------------------------- */

static void dm_sqlite_close(dm_store *s)
{
    dm_sqlite *q = dm_sqlite_of(s);

    /* The kept statements first, or the connection would linger open. */
    if (q->stmts != NULL)
        g_hash_table_destroy(q->stmts);
    if (q->db != NULL)
        sqlite3_close_v2(q->db);
    g_mutex_clear(&q->lock);
    g_free(q->path);
    g_free(q);
    s->be = NULL;
}

static bool dm_sqlite_open(dm_store *s, const char *path, GError **err)
{
    dm_sqlite *q = g_new0(dm_sqlite, 1);
    int rc;

    q->path = g_strdup(path);
    g_mutex_init(&q->lock);
    q->stmts =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dm_sqlite_stmt_free);
    s->be = q;
    rc = sqlite3_open_v2(path, &q->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        g_set_error(err, DM_STORE_ERROR, rc, "%s: %s", path,
                    q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        return false;
    }
    sqlite3_busy_timeout(q->db, 10000);
    /* WAL with synchronous=FULL: a commit is on disk when it returns, and
     * diariectl can read while the daemon writes. */
    return dm_sqlite_exec(q, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                             "PRAGMA foreign_keys=ON;", err) &&
           dm_sqlite_schema_open(q, err) && dm_sqlite_owed_epoch_init(q, err);
}

static int64_t dm_sqlite_owed_epoch(dm_store *s)
{
    dm_sqlite *q = dm_sqlite_of(s);
    char *v;
    int64_t epoch = 0;

    g_mutex_lock(&q->lock);
    v = dm_sqlite_meta(q, "owed_epoch");
    if (v != NULL)
        epoch = g_ascii_strtoll(v, NULL, 10);
    g_free(v);
    g_mutex_unlock(&q->lock);
    return epoch;
}

/* --- the case index ------------------------------------------------------- */

static bool dm_sqlite_cases_replace(dm_store *s, const dm_store_case *c, size_t n, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;

    g_mutex_lock(&q->lock);
    if (!dm_sqlite_run(q, "BEGIN IMMEDIATE", err)) {
        g_mutex_unlock(&q->lock);
        return false;
    }
    if (!dm_sqlite_run(q, "DELETE FROM cases", err))
        goto rollback;
    if (sqlite3_prepare_v2(q->db,
                           "INSERT OR REPLACE INTO cases(dnr, myndighet, title, status, parties,"
                           " sekretess) VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "prepare");
        goto rollback;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_text(st, 1, c[i].dnr, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c[i].myndighet, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c[i].title, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, c[i].status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, c[i].parties, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 6, c[i].sekretess);
        if (sqlite3_step(st) != SQLITE_DONE) {
            dm_sqlite_error(err, q->db, "insert");
            goto rollback;
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!dm_sqlite_run(q,
                       "INSERT INTO meta(key, value) VALUES ('cases_generation', '1') "
                       "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                       err) ||
        !dm_sqlite_run(q, "COMMIT", err))
        goto rollback;
    g_mutex_unlock(&q->lock);
    return true;
rollback:
    if (st != NULL)
        sqlite3_finalize(st);
    dm_sqlite_run(q, "ROLLBACK", NULL);
    g_mutex_unlock(&q->lock);
    return false;
}

static int64_t dm_sqlite_cases_generation(dm_store *s)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    int64_t gen = 0;

    g_mutex_lock(&q->lock);
    if (sqlite3_prepare_v2(q->db, "SELECT value FROM meta WHERE key = 'cases_generation'", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        gen = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return gen;
}

static bool dm_sqlite_cases_each(dm_store *s, bool by_authority, dm_store_case_fn fn,
                                 void *data, GError **err)
{
    dm_sqlite *q = dm_sqlite_of(s);
    sqlite3_stmt *st = NULL;
    int rc;

    g_mutex_lock(&q->lock);
    if (sqlite3_prepare_v2(q->db,
                           by_authority ? "SELECT dnr, myndighet, title, status, parties, sekretess"
                                          " FROM cases ORDER BY myndighet, dnr"
                                        : "SELECT dnr, myndighet, title, status, parties, sekretess"
                                          " FROM cases",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_sqlite_error(err, q->db, "cases");
        g_mutex_unlock(&q->lock);
        return false;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dm_store_case c = {.dnr = (const char *)sqlite3_column_text(st, 0),
                           .myndighet = (const char *)sqlite3_column_text(st, 1),
                           .title = (const char *)sqlite3_column_text(st, 2),
                           .status = (const char *)sqlite3_column_text(st, 3),
                           .parties = (const char *)sqlite3_column_text(st, 4),
                           .sekretess = sqlite3_column_int(st, 5) != 0};

        if (!fn(&c, data)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        dm_sqlite_error(err, q->db, "cases");
    sqlite3_finalize(st);
    g_mutex_unlock(&q->lock);
    return rc == SQLITE_DONE;
}

const dm_store_ops dm_store_sqlite_ops = {
    .name = "sqlite",
    .accepts = dm_sqlite_accepts,
    .exists = dm_sqlite_exists,
    .prepare = dm_sqlite_prepare,
    .local_files = dm_sqlite_local_files,
    .open = dm_sqlite_open,
    .close = dm_sqlite_close,
    .cases_replace = dm_sqlite_cases_replace,
    .cases_each = dm_sqlite_cases_each,
    .cases_generation = dm_sqlite_cases_generation,
    .journal_write = dm_sqlite_journal_write,
    .journal_find_dup = dm_sqlite_journal_find_dup,
    .journal_has = dm_sqlite_journal_has,
    .journal_scan = dm_sqlite_journal_scan,
    .journal_search = dm_sqlite_journal_search,
    .prune_count = dm_sqlite_prune_count,
    .prune_batch = dm_sqlite_prune_batch,
    .prune_compact = dm_sqlite_prune_compact,
    .mass_count = dm_sqlite_mass_count,
    .autoreply_get = dm_sqlite_autoreply_get,
    .autoreply_each = dm_sqlite_autoreply_each,
    .once_seen = dm_sqlite_once_seen,
    .owed_find = dm_sqlite_owed_find,
    .owed_epoch = dm_sqlite_owed_epoch,
    .schema_version = dm_sqlite_schema_version,
    .upgrade = dm_sqlite_upgrade,
    .backup = dm_sqlite_backup,
    .counters_each = dm_sqlite_counters_each,
    .import = NULL,
    .notice_add = dm_sqlite_notice_add,
    .notice_answer = dm_sqlite_notice_answer,
    .notice_each = dm_sqlite_notice_each,
    .notice_remind = dm_sqlite_notice_remind,
    .question_add = dm_sqlite_question_add,
    .question_answer = dm_sqlite_question_answer,
    .question_each = dm_sqlite_question_each,
};
