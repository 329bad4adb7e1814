/*
 * The diarium case index: import from a CSV export, load into memory.
 * The export's column names and its words for yes and closed are the
 * site's ([diarium] of rules.conf), carried by the case-number parser.
 * The whole export is read and checked before the backend replaces the
 * index with it, in one transaction.
 */
#include <string.h>

#include "dm_csv.h"
#include "dm_store_int.h"

/* The rows of an export, as the backend takes them. */
typedef struct dm_cases_read {
    GArray *cases;    /* dm_store_case, pointing into strings */
    GPtrArray *strings;
} dm_cases_read;

static void dm_cases_read_clear(dm_cases_read *r)
{
    g_array_free(r->cases, TRUE);
    g_ptr_array_free(r->strings, TRUE);
}

static const char *dm_cases_keep(dm_cases_read *r, const char *s)
{
    char *copy = g_strdup(s);

    g_ptr_array_add(r->strings, copy);
    return copy;
}

bool dm_store_cases_import(dm_store *s, const char *csv_path, const dm_dnr_parser *parser,
                           size_t *n, GError **err)
{
    char *text = NULL;
    gsize len = 0;
    const char *p, *end;
    GPtrArray *rec = g_ptr_array_new_with_free_func(g_free);
    int col[DM_CASE_COL_N];
    dm_cases_read rows = {g_array_new(FALSE, FALSE, sizeof(dm_store_case)),
                          g_ptr_array_new_with_free_func(g_free)};
    size_t line = 1;
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

    for (;;) {
        const char *f[DM_CASE_COL_N];
        const char *rec_start = p;
        dm_store_case c;
        dm_dnr *d;

        /* The physical line the record starts on: a quoted field may hold
         * line breaks, so count them rather than the records (errors
         * named the wrong line after a title over several lines). */
        for (const char *q = line_at; q < rec_start; q++)
            line += *q == '\n';
        line_at = rec_start;
        if (!dm_csv_record(&p, end, rec))
            break;
        if (rec->len == 1 && *(char *)g_ptr_array_index(rec, 0) == '\0')
            continue; /* blank line */
        for (int k = 0; k < DM_CASE_COL_N; k++)
            f[k] = col[k] >= 0 && (guint)col[k] < rec->len ? g_ptr_array_index(rec, col[k]) : "";
        d = dm_dnr_parse(parser, f[DM_CASE_COL_DNR]);
        if (d == NULL) {
            g_set_error(err, DM_STORE_ERROR, 1,
                        "%s:%zu: \"%s\" is not a case number the configured patterns know",
                        csv_path, line, f[DM_CASE_COL_DNR]);
            goto out;
        }
        c.dnr = dm_cases_keep(&rows, g_strstrip((char *)f[DM_CASE_COL_DNR]));
        c.myndighet = dm_cases_keep(&rows, *f[DM_CASE_COL_MYNDIGHET] ? f[DM_CASE_COL_MYNDIGHET]
                                                                      : d->myn);
        c.title = dm_cases_keep(&rows, f[DM_CASE_COL_TITLE]);
        c.status = dm_cases_keep(&rows, f[DM_CASE_COL_STATUS]);
        c.parties = dm_cases_keep(&rows, f[DM_CASE_COL_PARTIES]);
        c.sekretess = dm_dnr_parser_yes(parser, f[DM_CASE_COL_SEKRETESS]);
        dm_dnr_free(d);
        g_array_append_val(rows.cases, c);
    }
    if (!s->ops->cases_replace(s, (const dm_store_case *)(void *)rows.cases->data,
                               rows.cases->len, err))
        goto out;
    *n = rows.cases->len;
    ok = true;
out:
    dm_cases_read_clear(&rows);
    g_ptr_array_free(rec, TRUE);
    g_free(text);
    return ok;
}

int64_t dm_store_cases_generation(dm_store *s)
{
    return s->ops->cases_generation(s);
}

static bool dm_cases_index_add(const dm_store_case *c, void *data)
{
    void **ctx = data; /* the index, the parser */

    dm_case_index_add(ctx[0], ctx[1], c->dnr, c->myndighet, c->title, c->status, c->parties,
                      c->sekretess);
    return true;
}

dm_case_index *dm_store_cases_load(dm_store *s, const dm_dnr_parser *parser, GError **err)
{
    dm_case_index *idx = dm_case_index_new();
    void *ctx[2] = {idx, (void *)parser};

    if (!s->ops->cases_each(s, false, dm_cases_index_add, ctx, err)) {
        dm_case_index_unref(idx);
        return NULL;
    }
    return idx;
}

bool dm_store_cases_each(dm_store *s, dm_store_case_fn fn, void *data, GError **err)
{
    return s->ops->cases_each(s, true, fn, data, err);
}
