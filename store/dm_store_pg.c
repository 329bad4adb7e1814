/*
 * The PostgreSQL backend: the record shared by several gateways, in a
 * database named by a libpq connection URI in [store] database
 * ("postgresql://user@db1,db2/diarie?target_session_attrs=read-write").
 * This file: which databases it keeps, opening, the schema and its
 * version, the case index.  Connections are dm_store_pg_conn.c's; the
 * journal dm_store_pg_journal.c's; the counters, claims and a migration's
 * import dm_store_pg_counters.c's.
 *
 * What differs from SQLite is here, not in the callers: text[] arrays
 * and unnest() make a row's counters one statement each, INSERT ... ON
 * CONFLICT makes every claim a single statement that cannot race another
 * gateway's, and an advisory lock orders the journal's appends into one
 * chain (dm_store_pg_journal.c).
 */
#include <string.h>

#include "dm_store_pg_int.h"

/* Version 2: the first with PostgreSQL (SQLite's 1 had no gateway). */
static const char dm_pg_schema[] =
    "CREATE TABLE diarie_schema (version integer NOT NULL);"
    "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE cases ("
    "  dnr text PRIMARY KEY, myndighet text NOT NULL, title text NOT NULL,"
    "  status text NOT NULL, parties text NOT NULL, sekretess integer NOT NULL);"
    "CREATE TABLE journal ("
    "  seq bigint PRIMARY KEY,"
    "  id text NOT NULL UNIQUE,"
    "  time bigint NOT NULL,"
    "  queue_id text, message_id text, direction text, sender text, recipients text,"
    "  subject text,"
    "  class text NOT NULL,"
    "  sekretess integer NOT NULL DEFAULT 0,"
    "  case_dnr text, reasons text, actions text,"
    "  hash text NOT NULL,"
    "  dup_key text,"
    "  gateway text,"
    "  prev text NOT NULL,"
    "  mac text NOT NULL,"
    "  pruned integer NOT NULL DEFAULT 0,"
    "  pruned_at bigint,"
    "  seal text);"
    "CREATE INDEX journal_time ON journal(time);"
    "CREATE INDEX journal_dup ON journal(dup_key);"
    "CREATE TABLE mass_window ("
    "  sender text NOT NULL, rcpt text NOT NULL, time bigint NOT NULL,"
    "  PRIMARY KEY (sender, rcpt));"
    "CREATE INDEX mass_window_time ON mass_window(time);"
    "CREATE TABLE autoreply ("
    "  person text PRIMARY KEY, first bigint NOT NULL, last bigint NOT NULL,"
    "  count bigint NOT NULL DEFAULT 1);"
    "CREATE TABLE once (key text PRIMARY KEY, time bigint NOT NULL);"
    "CREATE INDEX once_time ON once(time);"
    "CREATE TABLE owed (key text PRIMARY KEY, id text NOT NULL, time bigint NOT NULL);"
    "CREATE INDEX owed_time ON owed(time);"
    /* Version 3: notices asking for an answer, R15's questions. */
    "CREATE TABLE IF NOT EXISTS notices ("
    "  id text NOT NULL, person text NOT NULL, msg text NOT NULL, registrar text,"
    "  time bigint NOT NULL, reminded bigint NOT NULL DEFAULT 0,"
    "  answered bigint NOT NULL DEFAULT 0, answer_id text,"
    "  PRIMARY KEY (id, person));"
    "CREATE INDEX IF NOT EXISTS notices_msg ON notices(msg, person);"
    "CREATE INDEX IF NOT EXISTS notices_time ON notices(time);"
    "CREATE TABLE IF NOT EXISTS questions ("
    "  id text NOT NULL, mailbox text NOT NULL, msg text NOT NULL, thread text NOT NULL,"
    "  time bigint NOT NULL, answered bigint NOT NULL DEFAULT 0, answer_id text,"
    "  PRIMARY KEY (id, mailbox));"
    "CREATE INDEX IF NOT EXISTS questions_msg ON questions(msg);"
    "CREATE INDEX IF NOT EXISTS questions_thread ON questions(thread);"
    "CREATE INDEX IF NOT EXISTS questions_time ON questions(time);";

/* The steps from each older PostgreSQL version to the next: none yet
 * (version 2 is the first); a later schema adds its step here, run by
 * "diariectl store upgrade" in the transaction that records it. */
static const char *const dm_pg_upgrades[DM_STORE_SCHEMA_VERSION + 1] = {
    [3] = /* notices asking for an answer, R15's questions */
    "CREATE TABLE IF NOT EXISTS notices ("
    "  id text NOT NULL, person text NOT NULL, msg text NOT NULL, registrar text,"
    "  time bigint NOT NULL, reminded bigint NOT NULL DEFAULT 0,"
    "  answered bigint NOT NULL DEFAULT 0, answer_id text,"
    "  PRIMARY KEY (id, person));"
    "CREATE INDEX IF NOT EXISTS notices_msg ON notices(msg, person);"
    "CREATE INDEX IF NOT EXISTS notices_time ON notices(time);"
    "CREATE TABLE IF NOT EXISTS questions ("
    "  id text NOT NULL, mailbox text NOT NULL, msg text NOT NULL, thread text NOT NULL,"
    "  time bigint NOT NULL, answered bigint NOT NULL DEFAULT 0, answer_id text,"
    "  PRIMARY KEY (id, mailbox));"
    "CREATE INDEX IF NOT EXISTS questions_msg ON questions(msg);"
    "CREATE INDEX IF NOT EXISTS questions_thread ON questions(thread);"
    "CREATE INDEX IF NOT EXISTS questions_time ON questions(time);",
};

/* --- which databases, before opening ------------------------------------ */

static bool dm_pg_accepts(const char *database)
{
    return database != NULL && (g_str_has_prefix(database, "postgresql://") ||
                                g_str_has_prefix(database, "postgres://"));
}

/* The server keeps the database: whether its schema is there is found
 * at open, which makes it when it is missing. */
static bool dm_pg_exists(const char *database)
{
    return true;
}

static void dm_pg_prepare(const char *database)
{
}

static char **dm_pg_local_files(const char *database)
{
    return g_new0(char *, 1);
}

/* --- the schema ------------------------------------------------------------ */

static bool dm_pg_version_on(dm_store *s, dm_pg_conn *c, int *version, GError **err)
{
    PGresult *r = dm_pg_exec(s, c, "schema version",
                             "SELECT to_regclass('diarie_schema') IS NOT NULL", 0, NULL, err);
    bool have;

    *version = 0;
    if (r == NULL)
        return false;
    have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!have)
        return true;
    r = dm_pg_exec(s, c, "schema version", "SELECT max(version) FROM diarie_schema", 0, NULL,
                   err);
    if (r == NULL)
        return false;
    if (!PQgetisnull(r, 0, 0))
        *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return true;
}

static bool dm_pg_schema_version(dm_store *s, int *version, GError **err)
{
    dm_pg_conn *c = dm_pg_get(s, err);
    bool ok;

    if (c == NULL)
        return false;
    ok = dm_pg_version_on(s, c, version, err);
    dm_pg_put(s, c);
    return ok;
}

/* Make the schema, or bring it up to date, under the schema lock (two
 * gateways starting at once on an empty database make it once). */
static bool dm_pg_upgrade_on(dm_store *s, dm_pg_conn *c, int *from, GError **err)
{
    char now[32], version[16];
    const char *p[] = {now};
    const char *pv[] = {version};

    if (!dm_pg_begin_on(s, c, "schema", "BEGIN", DM_PG_SCHEMA_LOCK, err))
        return false;
    if (!dm_pg_version_on(s, c, from, err))
        goto fail;
    if (*from > DM_STORE_SCHEMA_VERSION) {
        g_set_error(err, DM_STORE_ERROR, 0,
                    "%s: schema version %d is newer than this diariemilter knows (%d): "
                    "run the newer diariemilter",
                    s->name, *from, DM_STORE_SCHEMA_VERSION);
        goto fail;
    }
    if (*from == DM_STORE_SCHEMA_VERSION) {
        dm_pg_rollback(s, c);
        return true;
    }
    DM_PG_I64(now, g_get_real_time() / G_USEC_PER_SEC);
    g_snprintf(version, sizeof version, "%d", DM_STORE_SCHEMA_VERSION);
    if (*from == 0) {
        if (!dm_pg_cmd(s, c, "schema", dm_pg_schema, 0, NULL, err) ||
            !dm_pg_cmd(s, c, "schema",
                       "INSERT INTO meta(key, value) VALUES ('owed_epoch', $1)", 1, p, err))
            goto fail;
    } else {
        for (int v = *from + 1; v <= DM_STORE_SCHEMA_VERSION; v++)
            if (dm_pg_upgrades[v] != NULL &&
                !dm_pg_cmd(s, c, "schema upgrade", dm_pg_upgrades[v], 0, NULL, err))
                goto fail;
        if (!dm_pg_cmd(s, c, "schema", "DELETE FROM diarie_schema", 0, NULL, err))
            goto fail;
    }
    return dm_pg_end_on(s, c, "schema",
                        dm_pg_cmd(s, c, "schema", "INSERT INTO diarie_schema(version) VALUES ($1)",
                                  1, pv, err),
                        err);
fail:
    dm_pg_rollback(s, c);
    return false;
}

static bool dm_pg_upgrade(dm_store *s, int *from, GError **err)
{
    dm_pg_conn *c = dm_pg_get(s, err);
    bool ok;

    if (c == NULL)
        return false;
    ok = dm_pg_upgrade_on(s, c, from, err);
    dm_pg_put(s, c);
    return ok;
}

/* At open: a missing schema is made; an older one is refused (every
 * gateway sharing the database must run a binary that knows the new one
 * before "diariectl store upgrade"), and so is a newer one. */
static bool dm_pg_schema_open(dm_store *s, GError **err)
{
    dm_pg_conn *c = dm_pg_get(s, err);
    int version = 0;
    bool ok;

    if (c == NULL)
        return false;
    ok = dm_pg_version_on(s, c, &version, err);
    if (ok && version == 0)
        ok = dm_pg_upgrade_on(s, c, &version, err);
    else if (ok && version > DM_STORE_SCHEMA_VERSION) {
        g_set_error(err, DM_STORE_ERROR, 0,
                    "%s: schema version %d is newer than this diariemilter knows (%d): "
                    "run the newer diariemilter",
                    s->name, version, DM_STORE_SCHEMA_VERSION);
        ok = false;
    } else if (ok && version < DM_STORE_SCHEMA_VERSION && !s->for_upgrade) {
        g_set_error(err, DM_STORE_ERROR, 0,
                    "%s: schema version %d is older than this diariemilter's (%d): run "
                    "\"diariectl store upgrade\" once every gateway runs this version",
                    s->name, version, DM_STORE_SCHEMA_VERSION);
        ok = false;
    }
    dm_pg_put(s, c);
    return ok;
}

/* --- open, close ---------------------------------------------------------- */

static void dm_pg_close(dm_store *s)
{
    dm_pg *p = dm_pg_of(s);

    dm_pg_pool_clear(p);
    g_mutex_clear(&p->lock);
    g_cond_clear(&p->cond);
    g_free(p->last_error);
    if (p->conninfo != NULL) {
        memset(p->conninfo, 0, strlen(p->conninfo));
        g_free(p->conninfo);
    }
    g_free(p);
    s->be = NULL;
}

static bool dm_pg_open(dm_store *s, const char *database, GError **err)
{
    dm_pg *p = g_new0(dm_pg, 1);

    p->conninfo = g_strdup(database);
    g_mutex_init(&p->lock);
    g_cond_init(&p->cond);
    p->idle = g_ptr_array_new();
    s->be = p;
    return dm_pg_schema_open(s, err);
}

static int64_t dm_pg_owed_epoch(dm_store *s)
{
    return dm_pg_meta_int(s, "owed_epoch");
}

/* --- the case index ------------------------------------------------------- */

static bool dm_pg_cases_replace(dm_store *s, const dm_store_case *cs, size_t n, GError **err)
{
    dm_pg_conn *c;
    /* A later row for the same case replaces an earlier one. */
    GHashTable *last = g_hash_table_new(g_str_hash, g_str_equal);
    GString *o = g_string_new(NULL);
    PGresult *r;
    bool ok = false;

    for (size_t i = 0; i < n; i++)
        g_hash_table_insert(last, (gpointer)cs[i].dnr, GSIZE_TO_POINTER(i));
    c = dm_pg_begin(s, "cases", "BEGIN", NULL, err);
    if (c == NULL)
        goto out;
    if (!dm_pg_cmd(s, c, "cases", "DELETE FROM cases", 0, NULL, err))
        goto end;
    r = dm_pg_exec(s, c, "cases",
                   "COPY cases(dnr, myndighet, title, status, parties, sekretess) FROM STDIN",
                   0, NULL, err);
    if (r == NULL)
        goto end;
    PQclear(r);
    for (size_t i = 0; i < n; i++) {
        if (GPOINTER_TO_SIZE(g_hash_table_lookup(last, cs[i].dnr)) != i)
            continue;
        dm_pg_copy_field(o, cs[i].dnr);
        g_string_append_c(o, '\t');
        dm_pg_copy_field(o, cs[i].myndighet);
        g_string_append_c(o, '\t');
        dm_pg_copy_field(o, cs[i].title);
        g_string_append_c(o, '\t');
        dm_pg_copy_field(o, cs[i].status);
        g_string_append_c(o, '\t');
        dm_pg_copy_field(o, cs[i].parties);
        g_string_append_printf(o, "\t%d\n", cs[i].sekretess ? 1 : 0);
        if (o->len > 65536 && !dm_pg_copy_put(s, c, o, false, err))
            goto end;
    }
    ok = dm_pg_copy_put(s, c, o, true, err) &&
         dm_pg_cmd(s, c, "cases",
                   "INSERT INTO meta(key, value) VALUES ('cases_generation', '1')"
                   " ON CONFLICT (key) DO UPDATE SET value = (meta.value::bigint + 1)::text",
                   0, NULL, err);
end:
    ok = dm_pg_end(s, c, "cases", ok, err);
out:
    g_hash_table_destroy(last);
    g_string_free(o, TRUE);
    return ok;
}

static int64_t dm_pg_cases_generation(dm_store *s)
{
    return dm_pg_meta_int(s, "cases_generation");
}

static bool dm_pg_cases_each(dm_store *s, bool by_authority, dm_store_case_fn fn, void *data,
                             GError **err)
{
    PGresult *r = dm_pg_query(s, "cases",
                              by_authority
                                  ? "SELECT dnr, myndighet, title, status, parties, sekretess"
                                    " FROM cases ORDER BY myndighet, dnr"
                                  : "SELECT dnr, myndighet, title, status, parties, sekretess"
                                    " FROM cases",
                              0, NULL, err);

    if (r == NULL)
        return false;
    for (int i = 0; i < PQntuples(r); i++) {
        dm_store_case cs = {.dnr = PQgetvalue(r, i, 0),
                            .myndighet = PQgetvalue(r, i, 1),
                            .title = PQgetvalue(r, i, 2),
                            .status = PQgetvalue(r, i, 3),
                            .parties = PQgetvalue(r, i, 4),
                            .sekretess = atoi(PQgetvalue(r, i, 5)) != 0};

        if (!fn(&cs, data))
            break;
    }
    PQclear(r);
    return true;
}

const dm_store_ops dm_store_pg_ops = {
    .name = "postgresql",
    .accepts = dm_pg_accepts,
    .exists = dm_pg_exists,
    .prepare = dm_pg_prepare,
    .local_files = dm_pg_local_files,
    .open = dm_pg_open,
    .close = dm_pg_close,
    .cases_replace = dm_pg_cases_replace,
    .cases_each = dm_pg_cases_each,
    .cases_generation = dm_pg_cases_generation,
    .journal_write = dm_pg_journal_write,
    .journal_find_dup = dm_pg_journal_find_dup,
    .journal_has = dm_pg_journal_has,
    .journal_scan = dm_pg_journal_scan,
    .journal_search = dm_pg_journal_search,
    .prune_count = dm_pg_prune_count,
    .prune_batch = dm_pg_prune_batch,
    .prune_compact = dm_pg_prune_compact,
    .mass_count = dm_pg_mass_count,
    .autoreply_get = dm_pg_autoreply_get,
    .autoreply_each = dm_pg_autoreply_each,
    .once_seen = dm_pg_once_seen,
    .owed_find = dm_pg_owed_find,
    .owed_epoch = dm_pg_owed_epoch,
    .schema_version = dm_pg_schema_version,
    .upgrade = dm_pg_upgrade,
    .backup = NULL,
    .counters_each = dm_pg_counters_each,
    .import = dm_pg_import,
    .notice_add = dm_pg_notice_add,
    .notice_answer = dm_pg_notice_answer,
    .notice_each = dm_pg_notice_each,
    .notice_remind = dm_pg_notice_remind,
    .question_add = dm_pg_question_add,
    .question_answer = dm_pg_question_answer,
    .question_each = dm_pg_question_each,
};
