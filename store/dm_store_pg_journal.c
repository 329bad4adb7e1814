/*
 * The PostgreSQL backend: the journal's rows.
 *
 * One chain for all gateways.  Every append (and every prune) takes a
 * transaction-level advisory lock first, so appends from all gateways
 * are serialized: each transaction reads the last row's seq and mac under
 * the lock, chains its rows to it, and releases the lock only once its
 * commit is durable.  The chain is therefore in commit order, seq has no
 * gap (a sequence would leave one for every rolled-back row, which verify
 * reports as missing), and verify and search read one journal as with
 * SQLite.  A chain per gateway would let gateways append without waiting
 * for each other, but leave no order between gateways (R8 asks for one),
 * and a whole chain removed with its gateway would not be noticed without
 * a sealed list of chains; the lock costs one gateway's commit time to the
 * others, which group commit (dm_store_journal.c) spreads over many rows.
 */
#include <string.h>

#include "dm_store_pg_int.h"

#define DM_PG_JOURNAL_COLUMNS                                                            \
    "seq, id, time, queue_id, message_id, direction, sender, recipients, subject, class," \
    " sekretess, case_dnr, reasons, actions, hash, dup_key, gateway, prev, mac"

/* The last row's seq and mac, under the journal lock: the chain goes on
 * from there, or from the anchor of a pruned start, or from the start. */
static bool dm_pg_journal_last(dm_store *s, dm_pg_conn *c, int64_t *seq, char **mac,
                               GError **err)
{
    /* One round trip: the transaction, the lock, the last row. */
    PGresult *r = dm_pg_exec(s, c, "journal",
                             "BEGIN; SELECT pg_advisory_xact_lock(" DM_PG_JOURNAL_LOCK ");"
                             " SELECT seq, mac FROM journal ORDER BY seq DESC LIMIT 1",
                             0, NULL, err);
    char *anchor = NULL;

    if (r == NULL)
        return false;
    if (PQntuples(r) > 0) {
        *seq = g_ascii_strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *mac = g_strdup(PQgetvalue(r, 0, 1));
        PQclear(r);
        return true;
    }
    PQclear(r);
    if (!dm_pg_meta(s, c, "journal_anchor", &anchor, err))
        return false;
    *seq = 0;
    if (anchor != NULL) {
        char *amac = NULL;
        bool sealed;

        if (dm_journal_anchor_parse(s, anchor, seq, &amac, &sealed))
            g_free(amac);
        else
            *seq = 0;
    }
    *mac = dm_journal_start_mac(s, anchor);
    g_free(anchor);
    return true;
}

/* The COMMIT's answer was lost with the connection: the rows may be on
 * disk or not.  Ask again on another connection, for as long as a
 * statement may take, whether the first of them is there (the batch is
 * one transaction: all or none).  1: committed, 0: not, -1: still not
 * known. */
static int dm_pg_commit_known(dm_store *s, const char *id)
{
    int64_t deadline = g_get_monotonic_time() + s->opt.timeout * G_USEC_PER_SEC;

    do {
        bool has = false;
        GError *err = NULL;

        if (dm_pg_journal_has(s, id, &has, &err))
            return has ? 1 : 0;
        g_error_free(err);
        g_usleep(G_USEC_PER_SEC / 4);
    } while (g_get_monotonic_time() < deadline);
    return -1;
}

/* The statements of one attempt: each row chained to the one before it
 * (from seq, prev), with its counters and claims, then the head and the
 * commit. */
static GPtrArray *dm_pg_journal_stmts(dm_store *s, GPtrArray *todo, int64_t seq,
                                      const char *prev)
{
    GPtrArray *stmts = g_ptr_array_new_with_free_func((GDestroyNotify)dm_pg_stmt_free);
    char mac[65], seq_s[32], *last = g_strdup(prev), *head;
    dm_pg_stmt *st;

    for (guint i = 0; i < todo->len; i++) {
        dm_journal_req *r = g_ptr_array_index(todo, i);

        dm_journal_mac(s, last, r->f, mac);
        g_snprintf(seq_s, sizeof seq_s, "%" G_GINT64_FORMAT, ++seq);
        st = dm_pg_stmt_add(stmts, "journal insert",
                            "INSERT INTO journal(" DM_PG_JOURNAL_COLUMNS ") VALUES ($1, $2, $3,"
                            " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
                            " $18, $19)",
                            i);
        dm_pg_stmt_param(st, seq_s);
        for (int k = 0; k < DM_JOURNAL_FIELDS; k++)
            dm_pg_stmt_param(st, r->f[k]);
        dm_pg_stmt_param(st, last);
        dm_pg_stmt_param(st, mac);
        dm_pg_counters_stmts(s, r->e, i, stmts);
        g_free(last);
        last = g_strdup(mac);
    }
    head = dm_journal_head_record(s, seq, last);
    st = dm_pg_stmt_add(stmts, "journal head",
                        "INSERT INTO meta(key, value) VALUES ('journal_head', $1)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        G_MAXUINT);
    dm_pg_stmt_param(st, head);
    dm_pg_stmt_add(stmts, "journal commit", "COMMIT", G_MAXUINT);
    g_free(head);
    g_free(last);
    return stmts;
}

static void dm_pg_todo_done(GPtrArray *todo)
{
    for (guint i = 0; i < todo->len; i++)
        ((dm_journal_req *)g_ptr_array_index(todo, i))->ok = true;
    g_ptr_array_set_size(todo, 0);
}

/* Write the batch in one transaction under the journal lock, in two
 * round trips: the lock and the last row; then every row, its counters
 * and claims, the head and the commit at once (libpq's pipeline).  A
 * row that fails (its id taken) fails alone: the transaction is rolled
 * back and written again without it.  When the transaction itself
 * fails, every row does. */
void dm_pg_journal_write(dm_store *s, GPtrArray *batch)
{
    GPtrArray *todo = g_ptr_array_new();
    GError *terr = NULL;
    dm_pg_conn *c = NULL;
    guint i;

    for (i = 0; i < batch->len; i++)
        g_ptr_array_add(todo, g_ptr_array_index(batch, i));
    while (todo->len > 0) {
        GPtrArray *stmts;
        PGresult **res;
        int64_t seq = 0;
        char *prev = NULL;
        guint failed = G_MAXUINT;
        bool sent;

        if (c == NULL && (c = dm_pg_get(s, &terr)) == NULL)
            goto fail_all;
        if (!dm_pg_journal_last(s, c, &seq, &prev, &terr))
            goto rollback;
        stmts = dm_pg_journal_stmts(s, todo, seq, prev);
        g_free(prev);
        res = g_new0(PGresult *, stmts->len);
        sent = dm_pg_pipeline(s, c, stmts, res, &terr);
        for (i = 0; sent && i < stmts->len && failed == G_MAXUINT; i++)
            if (!dm_pg_result_ok(res[i]))
                failed = i;
        if (sent && failed == G_MAXUINT) {
            /* Committed: the claims each row won. */
            for (i = 0; i < stmts->len; i++) {
                const dm_pg_stmt *st = g_ptr_array_index(stmts, i);
                const dm_journal_req *r;

                if (st->use == DM_PG_PLAIN)
                    continue;
                r = g_ptr_array_index(todo, st->req);
                dm_pg_counters_claimed(st, res[i], r->e);
            }
            dm_pg_todo_done(todo);
        } else if (sent) {
            const dm_pg_stmt *st = g_ptr_array_index(stmts, failed);
            dm_journal_req *r = st->req != G_MAXUINT ? g_ptr_array_index(todo, st->req) : NULL;
            GError *rerr = NULL;
            bool passes = dm_pg_result_error(s, c, st->what, res[failed], &rerr);

            if (r != NULL && passes) {
                /* This row alone: the others go again without it. */
                r->ok = false;
                r->err = rerr;
                g_ptr_array_remove_index(todo, st->req);
                dm_pg_rollback(s, c);
            } else {
                terr = rerr;
            }
        } else {
            /* Lost while the commit may have run: find out. */
            const char *first = ((dm_journal_req *)g_ptr_array_index(todo, 0))->e->id;
            int known;

            dm_pg_put(s, c);
            c = NULL;
            known = dm_pg_commit_known(s, first);
            if (known == 1) {
                g_clear_error(&terr);
                dm_pg_todo_done(todo);
            } else if (known < 0) {
                GError *doubt = g_error_new(DM_STORE_ERROR, DM_STORE_IN_DOUBT,
                                            "the commit's outcome is not known: %s",
                                            terr->message);

                g_error_free(terr);
                terr = doubt;
            }
        }
        for (i = 0; i < stmts->len; i++)
            PQclear(res[i]);
        g_free(res);
        g_ptr_array_free(stmts, TRUE);
        if (terr != NULL)
            goto rollback;
    }
    dm_pg_put(s, c);
    g_ptr_array_free(todo, TRUE);
    return;
rollback:
    if (c != NULL)
        dm_pg_rollback(s, c);
fail_all:
    for (i = 0; i < todo->len; i++) {
        dm_journal_req *r = g_ptr_array_index(todo, i);

        r->ok = false;
        if (r->err == NULL)
            r->err = terr != NULL ? g_error_copy(terr)
                                  : g_error_new(DM_STORE_ERROR, 0, "%s: journal", s->name);
    }
    g_clear_error(&terr);
    dm_pg_put(s, c);
    g_ptr_array_free(todo, TRUE);
}

bool dm_pg_journal_find_dup(dm_store *s, const char *dup_key, int64_t since, char **id,
                            int64_t *time, GError **err)
{
    char since_s[32];
    const char *p[] = {dup_key, DM_PG_I64(since_s, since)};
    PGresult *r = dm_pg_query(s, "journal",
                              "SELECT id, time FROM journal WHERE dup_key = $1 AND time >= $2"
                              " ORDER BY seq LIMIT 1",
                              2, p, err);

    if (r == NULL)
        return false;
    if (PQntuples(r) > 0) {
        *id = g_strdup(PQgetvalue(r, 0, 0));
        if (time != NULL)
            *time = g_ascii_strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return true;
}

bool dm_pg_journal_has(dm_store *s, const char *id, bool *has, GError **err)
{
    const char *p[] = {id};
    PGresult *r = dm_pg_query(s, "journal", "SELECT 1 FROM journal WHERE id = $1", 1, p, err);

    if (r == NULL)
        return false;
    *has = PQntuples(r) > 0;
    PQclear(r);
    return true;
}

/* Rows through a cursor, a thousand at a time, inside the caller's
 * transaction: a journal of millions never sits whole in memory.  fn
 * returns false to stop. */
typedef bool (*dm_pg_rows_fn)(const PGresult *r, int row, void *data);

static bool dm_pg_cursor(dm_store *s, dm_pg_conn *c, const char *what, const char *sql, int n,
                         const char *const *params, dm_pg_rows_fn fn, void *data,
                         GError **err)
{
    char *declare = g_strconcat("DECLARE dm_rows NO SCROLL CURSOR FOR ", sql, NULL);
    bool ok = dm_pg_cmd(s, c, what, declare, n, params, err), go = true;

    g_free(declare);
    while (ok && go) {
        PGresult *r = dm_pg_exec(s, c, what, "FETCH FORWARD 1000 FROM dm_rows", 0, NULL, err);
        int rows;

        if (r == NULL)
            return false;
        rows = PQntuples(r);
        for (int i = 0; go && i < rows; i++)
            go = fn(r, i, data);
        PQclear(r);
        if (rows < 1000)
            break;
    }
    return ok && dm_pg_cmd(s, c, what, "CLOSE dm_rows", 0, NULL, err);
}

typedef struct dm_pg_scan {
    dm_journal_raw_fn fn;
    void *data;
} dm_pg_scan;

static bool dm_pg_scan_row(const PGresult *r, int row, void *data)
{
    dm_pg_scan *sc = data;
    dm_journal_raw raw = {
        .seq = g_ascii_strtoll(PQgetvalue(r, row, 0), NULL, 10),
        .prev = dm_pg_value(r, row, DM_JOURNAL_FIELDS + 1),
        .mac = dm_pg_value(r, row, DM_JOURNAL_FIELDS + 2),
        .pruned = atoi(PQgetvalue(r, row, DM_JOURNAL_FIELDS + 3)) != 0,
        .pruned_at = g_ascii_strtoll(PQgetvalue(r, row, DM_JOURNAL_FIELDS + 4), NULL, 10),
        .seal = dm_pg_value(r, row, DM_JOURNAL_FIELDS + 5),
    };

    for (int i = 0; i < DM_JOURNAL_FIELDS; i++)
        raw.f[i] = dm_pg_value(r, row, i + 1);
    raw.time = g_ascii_strtoll(PQgetvalue(r, row, 1 + DM_JF_TIME), NULL, 10);
    raw.sekretess = atoi(PQgetvalue(r, row, 1 + DM_JF_SEKRETESS));
    return sc->fn(&raw, sc->data);
}

bool dm_pg_journal_scan(dm_store *s, dm_journal_points_fn points, dm_journal_raw_fn fn,
                        void *data, GError **err)
{
    /* One snapshot: the gateways may append meanwhile. */
    dm_pg_conn *c =
        dm_pg_begin(s, "journal", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL, err);
    char *anchor = NULL, *head = NULL;
    dm_pg_scan sc = {fn, data};
    bool ok;

    if (c == NULL)
        return false;
    ok = dm_pg_meta(s, c, "journal_anchor", &anchor, err) &&
         dm_pg_meta(s, c, "journal_head", &head, err);
    if (ok) {
        points(anchor, head, data);
        ok = dm_pg_cursor(s, c, "journal",
                          "SELECT " DM_PG_JOURNAL_COLUMNS ", pruned, pruned_at, seal"
                          " FROM journal ORDER BY seq",
                          0, NULL, dm_pg_scan_row, &sc, err);
    }
    g_free(anchor);
    g_free(head);
    return dm_pg_end(s, c, "journal", ok, err);
}

typedef struct dm_pg_search {
    dm_journal_row_fn fn;
    void *data;
} dm_pg_search;

static bool dm_pg_search_row(const PGresult *r, int row, void *data)
{
    dm_pg_search *sr = data;
    dm_journal_row *j = g_new0(dm_journal_row, 1);
#define COL(i) g_strdup(dm_pg_value(r, row, i))
    j->seq = g_ascii_strtoll(PQgetvalue(r, row, 0), NULL, 10);
    j->id = COL(1);
    j->time = g_ascii_strtoll(PQgetvalue(r, row, 2), NULL, 10);
    j->klass = COL(3);
    j->sekretess = atoi(PQgetvalue(r, row, 4)) != 0;
    j->pruned = atoi(PQgetvalue(r, row, 5)) != 0;
    j->queue_id = COL(6);
    j->message_id = COL(7);
    j->direction = COL(8);
    j->sender = COL(9);
    j->recipients = COL(10);
    j->subject = COL(11);
    j->case_dnr = COL(12);
    j->reasons = COL(13);
    j->actions = COL(14);
    j->hash = COL(15);
    j->gateway = COL(16);
#undef COL
    return sr->fn(j, sr->data);
}

bool dm_pg_journal_search(dm_store *s, const dm_journal_query *jq, dm_journal_row_fn fn,
                          void *data, GError **err)
{
    GString *sql = g_string_new("SELECT seq, id, time, class, sekretess, pruned, queue_id,"
                                " message_id, direction, sender, recipients, subject, case_dnr,"
                                " reasons, actions, hash, gateway FROM journal WHERE true");
    char since_s[32], until_s[32];
    const char *p[4];
    int n = 0;
    dm_pg_search sr = {fn, data};
    dm_pg_conn *c;
    bool ok;

    if (jq->since > 0) {
        p[n++] = DM_PG_I64(since_s, jq->since);
        g_string_append_printf(sql, " AND time >= $%d", n);
    }
    if (jq->until > 0) {
        p[n++] = DM_PG_I64(until_s, jq->until);
        g_string_append_printf(sql, " AND time < $%d", n);
    }
    if (jq->klass != NULL) {
        p[n++] = jq->klass;
        g_string_append_printf(sql, " AND class = $%d", n);
    }
    if (jq->case_dnr != NULL)
        g_string_append(sql, " AND case_dnr IS NOT NULL");
    if (jq->address != NULL) {
        p[n++] = jq->address;
        g_string_append_printf(sql,
                               " AND strpos(lower(coalesce(sender, '') || ',' ||"
                               " coalesce(recipients, '') || ',' || coalesce(actions, '')),"
                               " $%d) > 0",
                               n);
    }
    g_string_append(sql, " ORDER BY seq");
    c = dm_pg_begin(s, "journal search", "BEGIN READ ONLY", NULL, err);
    ok = c != NULL &&
         dm_pg_end(s, c, "journal search",
                   dm_pg_cursor(s, c, "journal search", sql->str, n, p, dm_pg_search_row, &sr,
                                err),
                   err);
    g_string_free(sql, TRUE);
    return ok;
}

/* --- prune ------------------------------------------------------------------ */

bool dm_pg_prune_count(dm_store *s, const char *klass, int64_t before, size_t *n,
                       GError **err)
{
    char before_s[32];
    const char *p[] = {klass, DM_PG_I64(before_s, before)};
    PGresult *r = dm_pg_query(
        s, "journal prune",
        "SELECT count(*) FROM journal WHERE pruned = 0 AND class = $1 AND time < $2", 2, p, err);

    *n = 0;
    if (r == NULL)
        return false;
    *n = (size_t)g_ascii_strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return true;
}

bool dm_pg_prune_batch(dm_store *s, const char *klass, int64_t before, int64_t now,
                       size_t limit, size_t *done, GError **err)
{
    char before_s[32], limit_s[32], now_s[32];
    const char *p[] = {klass, DM_PG_I64(before_s, before), DM_PG_I64(limit_s, limit)};
    /* Under the journal lock: the appends wait for this batch. */
    dm_pg_conn *c = dm_pg_begin(s, "journal prune", "BEGIN", DM_PG_JOURNAL_LOCK, err);
    PGresult *r = NULL;
    bool ok = false;

    *done = 0;
    if (c == NULL)
        return false;
    DM_PG_I64(now_s, now);
    r = dm_pg_exec(s, c, "journal prune",
                   "SELECT seq, id, time, class, sekretess, prev, mac FROM journal"
                   " WHERE pruned = 0 AND class = $1 AND time < $2 ORDER BY seq LIMIT $3",
                   3, p, err);
    if (r == NULL)
        goto out;
    for (int i = 0; i < PQntuples(r); i++) {
        dm_journal_kept k = {.seq = g_ascii_strtoll(PQgetvalue(r, i, 0), NULL, 10),
                             .id = PQgetvalue(r, i, 1),
                             .time = g_ascii_strtoll(PQgetvalue(r, i, 2), NULL, 10),
                             .klass = klass,
                             .sekretess = atoi(PQgetvalue(r, i, 4)),
                             .prev = PQgetvalue(r, i, 5),
                             .mac = PQgetvalue(r, i, 6)};
        char seal[65];
        const char *u[] = {now_s, seal, PQgetvalue(r, i, 0)};

        dm_journal_seal(s, &k, now, seal);
        if (!dm_pg_cmd(s, c, "journal prune",
                       "UPDATE journal SET queue_id = NULL, message_id = NULL,"
                       " direction = NULL, sender = NULL, recipients = NULL, subject = NULL,"
                       " case_dnr = NULL, reasons = NULL, actions = NULL, hash = '',"
                       " dup_key = NULL, gateway = NULL, pruned = 1, pruned_at = $1,"
                       " seal = $2 WHERE seq = $3",
                       3, u, err))
            goto out;
        (*done)++;
    }
    ok = true;
out:
    PQclear(r);
    ok = dm_pg_end(s, c, "journal prune", ok, err);
    if (!ok)
        *done = 0;
    return ok;
}

bool dm_pg_prune_compact(dm_store *s, size_t *removed, GError **err)
{
    dm_pg_conn *c = dm_pg_begin(s, "journal prune", "BEGIN", DM_PG_JOURNAL_LOCK, err);
    PGresult *r = NULL;
    bool ok = false;

    *removed = 0;
    if (c == NULL)
        return false;
    /* The last tombstone before the first row that is not one. */
    r = dm_pg_exec(s, c, "journal prune",
                   "SELECT seq, mac FROM journal WHERE pruned = 1 AND seq <"
                   " coalesce((SELECT min(seq) FROM journal WHERE pruned = 0),"
                   " 9223372036854775807) ORDER BY seq DESC LIMIT 1",
                   0, NULL, err);
    if (r == NULL)
        goto out;
    if (PQntuples(r) > 0) {
        int64_t last = g_ascii_strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        char *anchor = dm_journal_anchor_record(s, last, PQgetvalue(r, 0, 1));
        const char *p[] = {PQgetvalue(r, 0, 0)};
        PGresult *d;

        ok = dm_pg_set_meta(s, c, "journal_anchor", anchor, err);
        g_free(anchor);
        if (!ok)
            goto out;
        ok = false;
        d = dm_pg_exec(s, c, "journal prune", "DELETE FROM journal WHERE seq <= $1", 1, p, err);
        if (d == NULL)
            goto out;
        *removed = (size_t)g_ascii_strtoll(PQcmdTuples(d), NULL, 10);
        PQclear(d);
    }
    ok = true;
out:
    PQclear(r);
    ok = dm_pg_end(s, c, "journal prune", ok, err);
    if (!ok)
        *removed = 0;
    return ok;
}
