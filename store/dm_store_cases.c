/*
 * The diarium case index: import from a CSV export, load into memory.
 * The export's column names and its words for yes and closed are the
 * site's ([diarium] of rules.conf), carried by the case-number parser.
 */
#include <string.h>

#include "dm_csv.h"
#include "dm_store_int.h"

bool dm_store_cases_import(dm_store *s, const char *csv_path, const dm_dnr_parser *parser,
                           size_t *n, GError **err)
{
    char *text = NULL;
    gsize len = 0;
    const char *p, *end;
    GPtrArray *rec = g_ptr_array_new_with_free_func(g_free);
    int col[DM_CASE_COL_N];
    sqlite3_stmt *st = NULL;
    size_t count = 0, line = 1;
    const char *line_at;
    bool ok = false;

    *n = 0;
    if (!g_file_get_contents(csv_path, &text, &len, err))
        goto out;
    if (!g_utf8_validate(text, (gssize)len, NULL)) {
        g_set_error(err, DM_STORE_ERROR, 1, "%s: not UTF-8", csv_path);
        goto out;
    }
    p = text;
    end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a BOM from a spreadsheet */
    line_at = p;
    if (!dm_csv_record(&p, end, rec)) {
        g_set_error(err, DM_STORE_ERROR, 1, "%s: empty", csv_path);
        goto out;
    }
    /* The columns by the names [diarium] of rules.conf gives them. */
    for (int c = 0; c < DM_CASE_COL_N; c++) {
        col[c] = -1;
        for (guint i = 0; i < rec->len; i++) {
            char *h = g_utf8_strdown(g_strstrip((char *)g_ptr_array_index(rec, i)), -1);
            for (const char *const *a = dm_dnr_parser_column(parser, (dm_case_column)c);
                 *a != NULL; a++) {
                if (strcmp(h, *a) == 0)
                    col[c] = (int)i;
            }
            g_free(h);
        }
    }
    if (col[DM_CASE_COL_DNR] < 0) {
        const char *dnr = dm_dnr_parser_column(parser, DM_CASE_COL_DNR)[0];
        g_set_error(err, DM_STORE_ERROR, 1, "%s:1: no column \"%s\" (the names are [diarium] "
                    "column_dnr in the rules file)", csv_path, dnr != NULL ? dnr : "diarienummer");
        goto out;
    }

    g_mutex_lock(&s->lock);
    if (!dm_store_exec(s, "BEGIN IMMEDIATE; DELETE FROM cases;", err)) {
        g_mutex_unlock(&s->lock);
        goto out;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO cases(dnr, myndighet, title, status, parties,"
                           " sekretess) VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "prepare");
        goto rollback;
    }
    for (;;) {
        const char *f[DM_CASE_COL_N];
        const char *rec_start = p;
        dm_dnr *d;

        /* The physical line the record starts on: a quoted field may hold
         * line breaks, so count them rather than the records (errors
         * named the wrong line after a title over several lines). */
        for (const char *c = line_at; c < rec_start; c++)
            line += *c == '\n';
        line_at = rec_start;
        if (!dm_csv_record(&p, end, rec))
            break;
        if (rec->len == 1 && *(char *)g_ptr_array_index(rec, 0) == '\0')
            continue; /* blank line */
        for (int c = 0; c < DM_CASE_COL_N; c++)
            f[c] = col[c] >= 0 && (guint)col[c] < rec->len ? g_ptr_array_index(rec, col[c]) : "";
        d = dm_dnr_parse(parser, f[DM_CASE_COL_DNR]);
        if (d == NULL) {
            g_set_error(err, DM_STORE_ERROR, 1,
                        "%s:%zu: \"%s\" is not a case number the configured patterns know",
                        csv_path, line, f[DM_CASE_COL_DNR]);
            goto rollback;
        }
        sqlite3_bind_text(st, 1, g_strstrip((char *)f[DM_CASE_COL_DNR]), -1,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, *f[DM_CASE_COL_MYNDIGHET] ? f[DM_CASE_COL_MYNDIGHET] : d->myn, -1,
                          SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, f[DM_CASE_COL_TITLE], -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, f[DM_CASE_COL_STATUS], -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, f[DM_CASE_COL_PARTIES], -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 6, dm_dnr_parser_yes(parser, f[DM_CASE_COL_SEKRETESS]));
        dm_dnr_free(d);
        if (sqlite3_step(st) != SQLITE_DONE) {
            dm_store_set_sqlite_error(err, s->db, "insert");
            goto rollback;
        }
        sqlite3_reset(st);
        count++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!dm_store_exec(s,
                       "INSERT INTO meta(key, value) VALUES ('cases_generation', '1') "
                       "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1;"
                       "COMMIT;",
                       err))
        goto rollback;
    g_mutex_unlock(&s->lock);
    *n = count;
    ok = true;
    goto out;
rollback:
    if (st != NULL)
        sqlite3_finalize(st);
    dm_store_exec(s, "ROLLBACK;", NULL);
    g_mutex_unlock(&s->lock);
out:
    g_ptr_array_free(rec, TRUE);
    g_free(text);
    return ok;
}

int64_t dm_store_cases_generation(dm_store *s)
{
    sqlite3_stmt *st = NULL;
    int64_t gen = 0;

    g_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = 'cases_generation'", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        gen = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    g_mutex_unlock(&s->lock);
    return gen;
}

dm_case_index *dm_store_cases_load(dm_store *s, const dm_dnr_parser *parser, GError **err)
{
    sqlite3_stmt *st = NULL;
    dm_case_index *idx = dm_case_index_new();
    int rc;

    g_mutex_lock(&s->lock);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT dnr, myndighet, title, status, parties, sekretess FROM cases",
                           -1, &st, NULL) != SQLITE_OK) {
        dm_store_set_sqlite_error(err, s->db, "cases");
        g_mutex_unlock(&s->lock);
        dm_case_index_unref(idx);
        return NULL;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dm_case_index_add(idx, parser, (const char *)sqlite3_column_text(st, 0),
                          (const char *)sqlite3_column_text(st, 1),
                          (const char *)sqlite3_column_text(st, 2),
                          (const char *)sqlite3_column_text(st, 3),
                          (const char *)sqlite3_column_text(st, 4),
                          sqlite3_column_int(st, 5) != 0);
    }
    if (rc != SQLITE_DONE) {
        dm_store_set_sqlite_error(err, s->db, "cases");
        sqlite3_finalize(st);
        g_mutex_unlock(&s->lock);
        dm_case_index_unref(idx);
        return NULL;
    }
    sqlite3_finalize(st);
    g_mutex_unlock(&s->lock);
    return idx;
}
