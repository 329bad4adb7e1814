/*
 * The database: opening, the schema, the lock.
 */
#include <sqlite3.h>
#include <string.h>

#include "dm_store_int.h"

G_DEFINE_QUARK(dm-store-error-quark, dm_store_error)

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
    "CREATE INDEX IF NOT EXISTS owed_time ON owed(time);";

/* Columns added since the first schema: a database made by an earlier
 * version gets them on open. */
static bool dm_store_migrate(dm_store *s, GError **err)
{
    static const struct {
        const char *column, *ddl;
    } added[] = {
        {"pruned", "ALTER TABLE journal ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0"},
        {"pruned_at", "ALTER TABLE journal ADD COLUMN pruned_at INTEGER"},
        {"seal", "ALTER TABLE journal ADD COLUMN seal TEXT"},
    };
    bool have[G_N_ELEMENTS(added)] = {false};
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(s->db, "PRAGMA table_info(journal)", -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "schema");
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
        if (!have[i] && !dm_store_exec(s, added[i].ddl, err))
            return false;
    return true;
}

/* The first open that knows the owed table records when that was. */
static bool dm_store_owed_epoch_init(dm_store *s, GError **err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
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
    if (rc != SQLITE_OK && sqlite3_errcode(s->db) != SQLITE_READONLY) {
        dm_store_set_sqlite_error(err, s->db, "meta");
        return false;
    }
    s->owed_epoch = -1;
    return true;
}

int64_t dm_store_owed_epoch(dm_store *s)
{
    g_mutex_lock(&s->lock);
    if (s->owed_epoch < 0) {
        sqlite3_stmt *st = NULL;

        s->owed_epoch = 0;
        if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'owed_epoch'", -1,
                               &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            s->owed_epoch = g_ascii_strtoll((const char *)sqlite3_column_text(st, 0), NULL, 10);
        sqlite3_finalize(st);
    }
    g_mutex_unlock(&s->lock);
    return s->owed_epoch;
}

void dm_store_set_sqlite_error(GError **err, sqlite3 *db, const char *what)
{
    g_set_error(err, DM_STORE_ERROR, sqlite3_errcode(db), "%s: %s: %s",
                sqlite3_db_filename(db, "main") ? sqlite3_db_filename(db, "main") : "database",
                what, sqlite3_errmsg(db));
}

bool dm_store_exec(dm_store *s, const char *sql, GError **err)
{
    char *msg = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        g_set_error(err, DM_STORE_ERROR, sqlite3_errcode(s->db), "%s: %s", s->path,
                    msg != NULL ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

dm_store *dm_store_open(const char *path, const char *key, size_t keylen, GError **err)
{
    dm_store *s = g_new0(dm_store, 1);
    int rc;

    s->path = g_strdup(path);
    g_mutex_init(&s->lock);
    g_mutex_init(&s->qlock);
    g_cond_init(&s->qcond);
    s->queue = g_ptr_array_new();
    if (key != NULL) {
        s->key = g_memdup2(key, keylen);
        s->keylen = keylen;
    }
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        g_set_error(err, DM_STORE_ERROR, rc, "%s: %s", path,
                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        dm_store_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* WAL with synchronous=FULL: a commit is on disk when it returns, and
     * diariectl can read while the daemon writes. */
    if (!dm_store_exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                          "PRAGMA foreign_keys=ON;", err) ||
        !dm_store_exec(s, dm_store_schema, err) || !dm_store_migrate(s, err) ||
        !dm_store_owed_epoch_init(s, err)) {
        dm_store_close(s);
        return NULL;
    }
    return s;
}

void dm_store_close(dm_store *s)
{
    if (s == NULL)
        return;
    if (s->db != NULL)
        sqlite3_close_v2(s->db);
    if (s->key != NULL) {
        memset(s->key, 0, s->keylen);
        g_free(s->key);
    }
    g_mutex_clear(&s->lock);
    g_mutex_clear(&s->qlock);
    g_cond_clear(&s->qcond);
    if (s->queue != NULL)
        g_ptr_array_free(s->queue, TRUE);
    g_free(s->path);
    g_free(s);
}

void *dm_store_db(dm_store *s)
{
    return s->db;
}

GMutex *dm_store_lock(dm_store *s)
{
    return &s->lock;
}
