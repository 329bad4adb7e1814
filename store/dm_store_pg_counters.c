/*
 * The PostgreSQL backend: the counters and claims across messages (what
 * they are: dm_store_sqlite_counters.c), shared by every gateway, and a
 * migration's import.
 *
 * Each claim is one INSERT ... ON CONFLICT statement whose RETURNING
 * says which keys this row took: two gateways claiming the same key at
 * the same moment cannot both get it (the second waits on the first's
 * unique-index entry, then sees it).  They are written in the journal
 * row's own transaction, which holds the journal lock, so what a message
 * claimed and what it was journaled as cannot disagree.
 */
#include <string.h>

#include "dm_store_pg_int.h"

static char **dm_pg_utf8v(char *const *v, size_t n)
{
    char **out = g_new0(char *, n + 1);

    for (size_t i = 0; i < n; i++)
        out[i] = dm_pg_utf8(v[i]);
    return out;
}

/* The keys a RETURNING key gave back: which of want[] were taken. */
static void dm_pg_claimed(const PGresult *r, char *const *want, size_t n, bool *out)
{
    if (out == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        out[i] = false;
        for (int j = 0; j < PQntuples(r) && !out[i]; j++)
            out[i] = strcmp(PQgetvalue(r, j, 0), want[i]) == 0;
    }
}

void dm_pg_counters_stmts(dm_store *s, const dm_journal_entry *e, guint req, GPtrArray *stmts)
{
    char time_s[32], since_s[32];
    dm_pg_stmt *st;

    DM_PG_I64(time_s, e->time);
    if (e->mass_sender != NULL && e->n_rcpts > 0) {
        char skey[65], **rkeys = g_new0(char *, e->n_rcpts + 1), *arr;

        dm_store_counter_hash(s, "mass-sender", e->mass_sender, skey);
        for (size_t i = 0; i < e->n_rcpts; i++) {
            rkeys[i] = g_malloc(65);
            dm_store_counter_hash(s, "mass-rcpt", e->rcpts[i], rkeys[i]);
        }
        arr = dm_pg_array(rkeys, e->n_rcpts);
        st = dm_pg_stmt_add(stmts, "mass window",
                            "DELETE FROM mass_window WHERE time < $1::bigint", req);
        dm_pg_stmt_param(st, DM_PG_I64(since_s, e->mass_since));
        st = dm_pg_stmt_add(stmts, "mass window",
                            "INSERT INTO mass_window(sender, rcpt, time)"
                            " SELECT DISTINCT $1::text, r, $3::bigint FROM unnest($2::text[]) AS r"
                            " ON CONFLICT (sender, rcpt) DO UPDATE SET time = excluded.time",
                            req);
        dm_pg_stmt_param(st, skey);
        dm_pg_stmt_param(st, arr);
        dm_pg_stmt_param(st, time_s);
        g_free(arr);
        g_strfreev(rkeys);
    }
    if (e->autoreply_person != NULL) {
        char *person = dm_pg_utf8(e->autoreply_person);

        /* A reply within the absence window continues the absence; one
         * after it begins a new one. */
        st = dm_pg_stmt_add(stmts, "autoreply",
                            "INSERT INTO autoreply(person, first, last, count)"
                            " VALUES ($1, $2::bigint, $2::bigint, 1)"
                            " ON CONFLICT (person) DO UPDATE SET"
                            "  first = CASE WHEN autoreply.last >= $3::bigint"
                            "          THEN autoreply.first ELSE $2::bigint END,"
                            "  count = CASE WHEN autoreply.last >= $3::bigint"
                            "          THEN autoreply.count + 1 ELSE 1 END,"
                            "  last = $2::bigint",
                            req);
        dm_pg_stmt_param(st, person);
        dm_pg_stmt_param(st, time_s);
        dm_pg_stmt_param(st, DM_PG_I64(since_s, e->autoreply_since));
        g_free(person);
    }
    if (e->n_once > 0) {
        char **keys = dm_pg_utf8v(e->once_keys, e->n_once);
        char *arr = dm_pg_array(keys, e->n_once);

        /* Keys of a year ago can go: every period is shorter. */
        st = dm_pg_stmt_add(stmts, "once", "DELETE FROM once WHERE time < $1::bigint", req);
        dm_pg_stmt_param(st, DM_PG_I64(since_s, e->time - 400 * 86400));
        st = dm_pg_stmt_add(stmts, "once",
                            "INSERT INTO once(key, time)"
                            " SELECT DISTINCT k, $2::bigint FROM unnest($1::text[]) AS k"
                            " ON CONFLICT (key) DO NOTHING RETURNING key",
                            req);
        dm_pg_stmt_param(st, arr);
        dm_pg_stmt_param(st, time_s);
        st->use = DM_PG_CLAIM_ONCE;
        st->keys = keys;
        st->nkeys = e->n_once;
        g_free(arr);
    }
    if (e->n_owed > 0) {
        char *arr = dm_pg_array(e->owed_keys, e->n_owed);

        /* Expired claims go (they would be taken over anyway); a live one
         * stays its arrival's. */
        DM_PG_I64(since_s, e->owed_since);
        st = dm_pg_stmt_add(stmts, "owed", "DELETE FROM owed WHERE time < $1::bigint", req);
        dm_pg_stmt_param(st, since_s);
        st = dm_pg_stmt_add(stmts, "owed",
                            "INSERT INTO owed(key, id, time)"
                            " SELECT DISTINCT k, $2::text, $3::bigint"
                            " FROM unnest($1::text[]) AS k"
                            " ON CONFLICT (key) DO UPDATE SET id = excluded.id,"
                            " time = excluded.time WHERE owed.time < $4::bigint"
                            " RETURNING key",
                            req);
        dm_pg_stmt_param(st, arr);
        dm_pg_stmt_param(st, e->id);
        dm_pg_stmt_param(st, time_s);
        dm_pg_stmt_param(st, since_s);
        st->use = DM_PG_CLAIM_OWED;
        st->keys = dm_pg_utf8v(e->owed_keys, e->n_owed); /* hex: as they are */
        st->nkeys = e->n_owed;
        g_free(arr);
    }
}

void dm_pg_counters_claimed(const dm_pg_stmt *st, const PGresult *r, const dm_journal_entry *e)
{
    if (st->use == DM_PG_CLAIM_ONCE)
        dm_pg_claimed(r, st->keys, st->nkeys, e->once_claimed);
    else if (st->use == DM_PG_CLAIM_OWED)
        dm_pg_claimed(r, st->keys, st->nkeys, e->owed_claimed);
}

bool dm_pg_mass_count(dm_store *s, const char *skey, char *const *rkeys, size_t n,
                      int64_t since, unsigned *count, GError **err)
{
    char since_s[32], *arr = dm_pg_array(rkeys, n);
    const char *p[] = {skey, since_s, arr};
    PGresult *r;

    DM_PG_I64(since_s, since);
    /* The window, and this message's recipients not yet in it. */
    r = dm_pg_query(s, "mass window",
                    "SELECT (SELECT count(*) FROM mass_window"
                    "         WHERE sender = $1 AND time >= $2::bigint)"
                    "     + (SELECT count(*) FROM unnest($3::text[]) AS r WHERE NOT EXISTS"
                    "         (SELECT 1 FROM mass_window m WHERE m.sender = $1"
                    "          AND m.rcpt = r AND m.time >= $2::bigint))",
                    3, p, err);
    g_free(arr);
    if (r == NULL)
        return false;
    *count = (unsigned)g_ascii_strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return true;
}

bool dm_pg_autoreply_get(dm_store *s, const char *person, int64_t *first, int64_t *last,
                         GError **err)
{
    char *valid = dm_pg_utf8(person);
    const char *p[] = {valid};
    PGresult *r = dm_pg_query(s, "autoreply",
                              "SELECT first, last FROM autoreply WHERE person = $1", 1, p, err);

    g_free(valid);
    if (r == NULL)
        return false;
    if (PQntuples(r) > 0) {
        *first = g_ascii_strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *last = g_ascii_strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return true;
}

bool dm_pg_autoreply_each(dm_store *s, int64_t since, dm_autoreply_fn fn, void *data,
                          GError **err)
{
    char since_s[32];
    const char *p[] = {since_s};
    PGresult *r;

    DM_PG_I64(since_s, since);
    r = dm_pg_query(s, "autoreply",
                    "SELECT person, first, last, count FROM autoreply WHERE last >= $1::bigint"
                    " ORDER BY person",
                    1, p, err);
    if (r == NULL)
        return false;
    for (int i = 0; i < PQntuples(r); i++) {
        dm_autoreply_row a = {.person = PQgetvalue(r, i, 0),
                              .first = g_ascii_strtoll(PQgetvalue(r, i, 1), NULL, 10),
                              .last = g_ascii_strtoll(PQgetvalue(r, i, 2), NULL, 10),
                              .count = g_ascii_strtoll(PQgetvalue(r, i, 3), NULL, 10)};

        if (!fn(&a, data))
            break;
    }
    PQclear(r);
    return true;
}

bool dm_pg_once_seen(dm_store *s, const char *key, bool *seen, GError **err)
{
    char *valid = dm_pg_utf8(key);
    const char *p[] = {valid};
    PGresult *r = dm_pg_query(s, "once", "SELECT 1 FROM once WHERE key = $1", 1, p, err);

    g_free(valid);
    if (r == NULL)
        return false;
    *seen = PQntuples(r) > 0;
    PQclear(r);
    return true;
}

bool dm_pg_owed_find(dm_store *s, const char *key, int64_t since, char **id, GError **err)
{
    char since_s[32];
    const char *p[] = {key, since_s};
    PGresult *r;

    DM_PG_I64(since_s, since);
    r = dm_pg_query(s, "owed", "SELECT id FROM owed WHERE key = $1 AND time >= $2::bigint", 2,
                    p, err);
    if (r == NULL)
        return false;
    if (PQntuples(r) > 0)
        *id = g_strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return true;
}

/* The tables a migration moves besides the journal and the cases, with
 * the statement that puts one row back. */
static const struct {
    const char *table, *select, *insert;
    int n;
} dm_pg_counter_tables[] = {
    {"mass_window", "SELECT sender, rcpt, time FROM mass_window",
     "INSERT INTO mass_window(sender, rcpt, time) VALUES ($1, $2, $3::bigint)", 3},
    {"autoreply", "SELECT person, first, last, count FROM autoreply",
     "INSERT INTO autoreply(person, first, last, count)"
     " VALUES ($1, $2::bigint, $3::bigint, $4::bigint)",
     4},
    {"once", "SELECT key, time FROM once", "INSERT INTO once(key, time) VALUES ($1, $2::bigint)",
     2},
    {"owed", "SELECT key, id, time FROM owed",
     "INSERT INTO owed(key, id, time) VALUES ($1, $2, $3::bigint)", 3},
    {"meta", "SELECT key, value FROM meta WHERE key IN ('owed_epoch', 'cases_generation')",
     "INSERT INTO meta(key, value) VALUES ($1, $2)"
     " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
     2},
    {"notices", "SELECT id, person, msg, registrar, time, reminded, answered, answer_id"
                " FROM notices",
     "INSERT INTO notices(id, person, msg, registrar, time, reminded, answered, answer_id)"
     " VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7::bigint, $8)",
     8},
    {"questions", "SELECT id, mailbox, msg, thread, time, answered, answer_id FROM questions",
     "INSERT INTO questions(id, mailbox, msg, thread, time, answered, answer_id)"
     " VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7)",
     7},
};

bool dm_pg_counters_each(dm_store *s, dm_store_counter_fn fn, void *data, GError **err)
{
    for (size_t t = 0; t < G_N_ELEMENTS(dm_pg_counter_tables); t++) {
        PGresult *r = dm_pg_query(s, dm_pg_counter_tables[t].table,
                                  dm_pg_counter_tables[t].select, 0, NULL, err);
        bool go = true;

        if (r == NULL)
            return false;
        for (int i = 0; go && i < PQntuples(r); i++) {
            dm_store_counter_row row = {.table = dm_pg_counter_tables[t].table,
                                        .n = (size_t)dm_pg_counter_tables[t].n};

            for (size_t j = 0; j < row.n; j++)
                row.v[j] = dm_pg_value(r, i, (int)j);
            go = fn(&row, data);
        }
        PQclear(r);
        if (!go)
            break;
    }
    return true;
}

/* --- a migration's import ----------------------------------------------- */

typedef struct dm_pg_import_state {
    dm_store *s;
    dm_pg_conn *c;
    GString *buf;
    char *anchor, *head;
    GError *err;
    size_t rows;
} dm_pg_import_state;

static void dm_pg_import_points(const char *anchor, const char *head, void *data)
{
    dm_pg_import_state *st = data;

    st->anchor = g_strdup(anchor);
    st->head = g_strdup(head);
}

/* A journal row as it stands (seq, mac, seal and all): one COPY line. */
static bool dm_pg_import_row(const dm_journal_raw *r, void *data)
{
    dm_pg_import_state *st = data;
    GString *o = st->buf;

    g_string_append_printf(o, "%" G_GINT64_FORMAT, r->seq);
    for (int i = 0; i < DM_JOURNAL_FIELDS; i++) {
        g_string_append_c(o, '\t');
        if (i == DM_JF_TIME)
            g_string_append_printf(o, "%" G_GINT64_FORMAT, r->time);
        else if (i == DM_JF_SEKRETESS)
            g_string_append_printf(o, "%d", r->sekretess);
        else
            dm_pg_copy_field(o, r->f[i]);
    }
    g_string_append_c(o, '\t');
    dm_pg_copy_field(o, r->prev);
    g_string_append_c(o, '\t');
    dm_pg_copy_field(o, r->mac);
    g_string_append_printf(o, "\t%d\t", r->pruned ? 1 : 0);
    if (r->pruned)
        g_string_append_printf(o, "%" G_GINT64_FORMAT, r->pruned_at);
    else
        g_string_append(o, "\\N");
    g_string_append_c(o, '\t');
    dm_pg_copy_field(o, r->seal);
    g_string_append_c(o, '\n');
    st->rows++;
    if (o->len > 256 * 1024 && !dm_pg_copy_put(st->s, st->c, o, false, &st->err))
        return false;
    return true;
}

static bool dm_pg_import_case(const dm_store_case *cs, void *data)
{
    dm_pg_import_state *st = data;
    GString *o = st->buf;

    dm_pg_copy_field(o, cs->dnr);
    g_string_append_c(o, '\t');
    dm_pg_copy_field(o, cs->myndighet);
    g_string_append_c(o, '\t');
    dm_pg_copy_field(o, cs->title);
    g_string_append_c(o, '\t');
    dm_pg_copy_field(o, cs->status);
    g_string_append_c(o, '\t');
    dm_pg_copy_field(o, cs->parties);
    g_string_append_printf(o, "\t%d\n", cs->sekretess ? 1 : 0);
    if (o->len > 256 * 1024 && !dm_pg_copy_put(st->s, st->c, o, false, &st->err))
        return false;
    return true;
}

static bool dm_pg_import_counter(const dm_store_counter_row *r, void *data)
{
    dm_pg_import_state *st = data;

    for (size_t t = 0; t < G_N_ELEMENTS(dm_pg_counter_tables); t++)
        if (strcmp(dm_pg_counter_tables[t].table, r->table) == 0)
            return dm_pg_cmd(st->s, st->c, r->table, dm_pg_counter_tables[t].insert,
                             dm_pg_counter_tables[t].n, r->v, &st->err);
    return true;
}

/* Is this database's record empty (a migration does not merge)? */
static bool dm_pg_import_empty(dm_store *s, dm_pg_conn *c, GError **err)
{
    PGresult *r = dm_pg_exec(s, c, "migrate",
                             "SELECT (SELECT count(*) FROM journal) + (SELECT count(*) FROM cases)"
                             " + (SELECT count(*) FROM meta WHERE key IN"
                             "    ('journal_head', 'journal_anchor'))",
                             0, NULL, err);
    bool empty;

    if (r == NULL)
        return false;
    empty = strcmp(PQgetvalue(r, 0, 0), "0") == 0;
    PQclear(r);
    if (!empty)
        g_set_error(err, DM_STORE_ERROR, 0,
                    "%s: the database already keeps a journal or cases: a migration goes "
                    "into an empty one",
                    s->name);
    return empty;
}

bool dm_pg_import(dm_store *s, dm_store *from, GError **err)
{
    dm_pg_import_state st = {.s = s, .buf = g_string_new(NULL)};
    PGresult *r;
    bool ok = false;

    st.c = dm_pg_begin(s, "migrate", "BEGIN", DM_PG_JOURNAL_LOCK, err);
    if (st.c == NULL || !dm_pg_import_empty(s, st.c, err))
        goto out;
    /* The journal, row for row with its chain, then its head and anchor. */
    r = dm_pg_exec(s, st.c, "migrate",
                   "COPY journal(seq, id, time, queue_id, message_id, direction, sender,"
                   " recipients, subject, class, sekretess, case_dnr, reasons, actions, hash,"
                   " dup_key, gateway, prev, mac, pruned, pruned_at, seal) FROM STDIN",
                   0, NULL, err);
    if (r == NULL)
        goto out;
    PQclear(r);
    if (!from->ops->journal_scan(from, dm_pg_import_points, dm_pg_import_row, &st, err) ||
        st.err != NULL || !dm_pg_copy_put(s, st.c, st.buf, true, err))
        goto out;
    if ((st.anchor != NULL && !dm_pg_set_meta(s, st.c, "journal_anchor", st.anchor, err)) ||
        (st.head != NULL && !dm_pg_set_meta(s, st.c, "journal_head", st.head, err)))
        goto out;
    /* The case index. */
    r = dm_pg_exec(s, st.c, "migrate",
                   "COPY cases(dnr, myndighet, title, status, parties, sekretess) FROM STDIN",
                   0, NULL, err);
    if (r == NULL)
        goto out;
    PQclear(r);
    if (!from->ops->cases_each(from, false, dm_pg_import_case, &st, err) || st.err != NULL ||
        !dm_pg_copy_put(s, st.c, st.buf, true, err))
        goto out;
    /* The counters, claims and the meta keys that go with them. */
    if (!dm_pg_cmd(s, st.c, "migrate", "DELETE FROM mass_window; DELETE FROM autoreply;"
                                       " DELETE FROM once; DELETE FROM owed;"
                                       " DELETE FROM notices; DELETE FROM questions",
                   0, NULL, err) ||
        !from->ops->counters_each(from, dm_pg_import_counter, &st, err) || st.err != NULL)
        goto out;
    ok = true;
out:
    if (st.err != NULL)
        g_propagate_error(err, st.err);
    if (st.c != NULL) {
        /* A COPY may be half sent: closing the connection ends it all. */
        if (!ok)
            st.c->bad = true;
        ok = dm_pg_end(s, st.c, "migrate", ok, err);
    }
    g_free(st.anchor);
    g_free(st.head);
    g_string_free(st.buf, TRUE);
    return ok;
}
