/*
 * The PostgreSQL backend: notices that ask for an answer, and R15's
 * questions (see dm_store.h; dm_store_sqlite_notices.c keeps the same in
 * SQLite).  Keys arrive hashed.  Each call is one statement, so two
 * gateways answering or reminding the same notice at once cannot both
 * take it: the second UPDATE waits for the first's row lock and then
 * finds it taken.
 */
#include <string.h>

#include "dm_store_pg_int.h"

/* Rows an UPDATE changed. */
static unsigned dm_pg_changed(PGresult *r)
{
    const char *n = PQcmdTuples(r);

    return n != NULL && *n != '\0' ? (unsigned)g_ascii_strtoull(n, NULL, 10) : 0;
}

bool dm_pg_notice_add(dm_store *s, const char *id, int64_t time, const char *person_key,
                      const char *msg_key, const char *registrar, GError **err)
{
    char time_s[32];
    char *vid = dm_pg_utf8(id), *vreg = dm_pg_utf8(registrar);
    const char *p[] = {vid, person_key, msg_key, vreg, DM_PG_I64(time_s, time)};
    PGresult *r = dm_pg_query(s, "notices",
                                      "INSERT INTO notices(id, person, msg, registrar, time)"
                                      " VALUES ($1, $2, $3, $4, $5::bigint)"
                                      " ON CONFLICT (id, person) DO NOTHING",
                                      5, p, err);

    g_free(vid);
    g_free(vreg);
    if (r == NULL)
        return false;
    PQclear(r);
    return true;
}

bool dm_pg_notice_answer(dm_store *s, const char *person_key, char *const *msg_keys,
                         size_t n_keys, const char *answer_id, int64_t now, unsigned *n,
                         GError **err)
{
    char now_s[32], *arr = dm_pg_array(msg_keys, n_keys), *vans = dm_pg_utf8(answer_id);
    const char *p[] = {DM_PG_I64(now_s, now), vans, person_key, arr};
    PGresult *r = dm_pg_query(s, "notices",
                                      "UPDATE notices SET answered = $1::bigint, answer_id = $2"
                                      " WHERE person = $3 AND msg = ANY($4::text[])"
                                      " AND answered = 0 AND time <= $1::bigint",
                                      4, p, err);

    g_free(arr);
    g_free(vans);
    *n = 0;
    if (r == NULL)
        return false;
    *n = dm_pg_changed(r);
    PQclear(r);
    return true;
}

bool dm_pg_notice_each(dm_store *s, int64_t since, dm_notice_fn fn, void *data, GError **err)
{
    char since_s[32];
    const char *p[] = {DM_PG_I64(since_s, since)};
    PGresult *r = dm_pg_query(s, "notices",
                                      "SELECT id, person, registrar, time, reminded, answered,"
                                      " answer_id FROM notices WHERE time >= $1::bigint"
                                      " ORDER BY time, id",
                                      1, p, err);

    if (r == NULL)
        return false;
    for (int i = 0; i < PQntuples(r); i++) {
        dm_notice_row *row = g_new0(dm_notice_row, 1);

        row->id = g_strdup(dm_pg_value(r, i, 0));
        row->person_key = g_strdup(dm_pg_value(r, i, 1));
        row->registrar = g_strdup(dm_pg_value(r, i, 2));
        row->time = g_ascii_strtoll(PQgetvalue(r, i, 3), NULL, 10);
        row->reminded = g_ascii_strtoll(PQgetvalue(r, i, 4), NULL, 10);
        row->answered = g_ascii_strtoll(PQgetvalue(r, i, 5), NULL, 10);
        row->answer_id = g_strdup(dm_pg_value(r, i, 6));
        if (!fn(row, data))
            break;
    }
    PQclear(r);
    return true;
}

bool dm_pg_notice_remind(dm_store *s, const char *id, const char *person_key, int64_t now,
                         bool *claimed, GError **err)
{
    char now_s[32], *vid = dm_pg_utf8(id);
    const char *p[] = {DM_PG_I64(now_s, now), vid, person_key};
    PGresult *r = dm_pg_query(s, "notices",
        now > 0 ? "UPDATE notices SET reminded = $1::bigint WHERE id = $2 AND person = $3"
                  " AND reminded = 0 AND answered = 0"
                : "UPDATE notices SET reminded = $1::bigint WHERE id = $2 AND person = $3",
        3, p, err);

    g_free(vid);
    *claimed = false;
    if (r == NULL)
        return false;
    *claimed = dm_pg_changed(r) > 0;
    PQclear(r);
    return true;
}

bool dm_pg_question_add(dm_store *s, const char *id, int64_t time, const char *mailbox,
                        const char *msg_key, const char *thread_key, GError **err)
{
    char time_s[32], *vid = dm_pg_utf8(id), *vbox = dm_pg_utf8(mailbox);
    const char *p[] = {vid, vbox, msg_key, thread_key, DM_PG_I64(time_s, time)};
    PGresult *r = dm_pg_query(s, "questions",
                                      "INSERT INTO questions(id, mailbox, msg, thread, time)"
                                      " VALUES ($1, $2, $3, $4, $5::bigint)"
                                      " ON CONFLICT (id, mailbox) DO NOTHING",
                                      5, p, err);

    g_free(vid);
    g_free(vbox);
    if (r == NULL)
        return false;
    PQclear(r);
    return true;
}

bool dm_pg_question_answer(dm_store *s, char *const *msg_keys, size_t n_keys,
                           char *const *thread_keys, size_t n_threads, const char *answer_id,
                           int64_t now, unsigned *n, GError **err)
{
    char now_s[32], *keys = dm_pg_array(msg_keys, n_keys),
                    *threads = dm_pg_array(thread_keys, n_threads),
                    *vans = dm_pg_utf8(answer_id);
    const char *p[] = {DM_PG_I64(now_s, now), vans, keys, threads};
    PGresult *r = dm_pg_query(s, "questions",
        "UPDATE questions SET answered = $1::bigint, answer_id = $2"
        " WHERE answered = 0 AND time <= $1::bigint AND"
        " ((msg <> '' AND msg = ANY($3::text[])) OR (thread <> '' AND thread = ANY($4::text[])))",
        4, p, err);

    g_free(keys);
    g_free(threads);
    g_free(vans);
    *n = 0;
    if (r == NULL)
        return false;
    *n = dm_pg_changed(r);
    PQclear(r);
    return true;
}

bool dm_pg_question_each(dm_store *s, int64_t since, const char *mailbox, dm_question_fn fn,
                         void *data, GError **err)
{
    char since_s[32], *vbox = dm_pg_utf8(mailbox);
    const char *p[] = {DM_PG_I64(since_s, since), vbox};
    PGresult *r = dm_pg_query(s, "questions",
                                      "SELECT id, mailbox, time, answered, answer_id"
                                      " FROM questions WHERE time >= $1::bigint"
                                      " AND ($2::text IS NULL OR mailbox = $2)"
                                      " ORDER BY time, id, mailbox",
                                      2, p, err);

    g_free(vbox);
    if (r == NULL)
        return false;
    for (int i = 0; i < PQntuples(r); i++) {
        dm_question_row *row = g_new0(dm_question_row, 1);

        row->id = g_strdup(dm_pg_value(r, i, 0));
        row->mailbox = g_strdup(dm_pg_value(r, i, 1));
        row->time = g_ascii_strtoll(PQgetvalue(r, i, 2), NULL, 10);
        row->answered = g_ascii_strtoll(PQgetvalue(r, i, 3), NULL, 10);
        row->answer_id = g_strdup(dm_pg_value(r, i, 4));
        if (!fn(row, data))
            break;
    }
    PQclear(r);
    return true;
}
