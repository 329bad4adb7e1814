/*
 * diariectl journal verify
 *     Check the journal's chain: every row unaltered, none removed,
 *     inserted or moved, none at the end missing, pruned rows pruned by
 *     the key's holder.  Lists what is wrong.
 * diariectl journal search [--since DATE] [--until DATE] [--address ADDR]
 *                          [--case DNR] [--class CLASS] [--limit N] [--json]
 *     The rows that match: the order R8 asks for.  privat and parti rows
 *     show only their time, class and id; pruned rows likewise.
 * diariectl journal prune [--dry-run]
 *     Prune the rows past their class's [store] retain_* (R17).
 * diariectl journal backup FILE
 *     A consistent copy of the whole SQLite database into the new file
 *     FILE while the daemon runs (SQLite's online backup).  The copy is
 *     verified only with the key: back [store] key_file up beside it.
 *     A PostgreSQL database is backed up with pg_dump.
 *
 * verify and prune need the key ([store] key_file): run them as the
 * daemon's user or root.
 *
 * Exit status: 0 intact / done, 1 (verify) problems found, 64 usage,
 * 66 the database or the key cannot be read, 70 a database error,
 * 78 configuration.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm_ctl.h"
#include "dm_key.h"
#include "dm_log.h"
#include "dm_util.h"

#define DM_EX_PROBLEMS 1

/* The store with its key, for commands that check or write the chain. */
static dm_store *dm_ctl_journal_open(const dm_conf *conf, int *rc)
{
    GError *err = NULL;
    char *key = NULL;
    size_t keylen = 0;
    dm_store *s;

    if (!dm_store_exists(conf->database)) {
        fprintf(stderr, "diariectl journal: %s: no database ([store] database)\n",
                dm_ctl_safe(conf->database));
        *rc = DM_EX_NOINPUT;
        return NULL;
    }
    if (!dm_key_load(conf->key_file, false, &key, &keylen, &err)) {
        fprintf(stderr, "diariectl journal: [store] key_file: %s (run as the daemon's user or "
                        "root)\n", dm_ctl_safe(err->message));
        g_error_free(err);
        *rc = DM_EX_NOINPUT;
        return NULL;
    }
    s = dm_store_open_conf(conf, key, keylen, &err);
    memset(key, 0, keylen);
    g_free(key);
    if (s == NULL) {
        fprintf(stderr, "diariectl journal: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        *rc = DM_EX_NOINPUT;
    }
    return s;
}

static char *dm_ctl_journal_time(int64_t t)
{
    GDateTime *dt = g_date_time_new_from_unix_local(t);
    char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S%:z");

    g_date_time_unref(dt);
    return s;
}

/* "2026-11-17" (local midnight) or ISO 8601 with a time; *next_day:
 * for a bare date, the end of that day (an inclusive --until). */
static bool dm_ctl_journal_date(const char *s, bool end_of_day, int64_t *t)
{
    GTimeZone *tz = g_time_zone_new_local();
    GDateTime *dt = NULL;
    int y, m, d;
    char tail;

    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
        dt = g_date_time_new(tz, y, m, d, 0, 0, 0);
        if (dt != NULL && end_of_day) {
            GDateTime *n = g_date_time_add_days(dt, 1);
            g_date_time_unref(dt);
            dt = n;
        }
    } else {
        dt = g_date_time_new_from_iso8601(s, tz);
    }
    g_time_zone_unref(tz);
    if (dt == NULL)
        return false;
    *t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return true;
}

/* id, time and class of a faulty row, for the report. */
static void dm_ctl_journal_row_desc(const dm_journal_fault *f, GString *out)
{
    char *t;

    if (f->id == NULL)
        return;
    t = dm_ctl_journal_time(f->time);
    g_string_append_printf(out, " (id %s, %s, %s)", dm_ctl_safe(f->id), t, dm_ctl_safe(f->klass));
    g_free(t);
}

static int dm_ctl_journal_verify(const dm_conf *conf)
{
    int rc = DM_EX_OK;
    dm_store *s = dm_ctl_journal_open(conf, &rc);
    dm_journal_report r;
    GError *err = NULL;

    if (s == NULL)
        return rc;
    if (!dm_store_journal_check(s, &r, &err)) {
        fprintf(stderr, "diariectl journal verify: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        dm_journal_report_clear(&r);
        dm_store_close(s);
        return DM_EX_SOFTWARE;
    }
    printf("journal %s: %zu rows", dm_ctl_safe(conf->database), r.rows);
    if (r.pruned > 0)
        printf(", %zu of them pruned", r.pruned);
    if (r.anchor_seq > 0)
        printf("; rows 1-%" G_GINT64_FORMAT " pruned and removed", r.anchor_seq);
    if (r.last_seq > 0)
        printf("; last row %" G_GINT64_FORMAT, r.last_seq);
    printf("\n");
    for (guint i = 0; i < r.faults->len; i++) {
        const dm_journal_fault *f = &g_array_index(r.faults, dm_journal_fault, i);
        GString *line = g_string_new(NULL);

        if (f->kind == DM_JOURNAL_MISSING || (f->kind == DM_JOURNAL_BAD_HEAD && f->seq > 0)) {
            if (f->seq == f->seq_to)
                g_string_append_printf(line, "row %" G_GINT64_FORMAT ": missing", f->seq);
            else
                g_string_append_printf(line, "rows %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT
                                             ": missing", f->seq, f->seq_to);
            if (f->kind == DM_JOURNAL_BAD_HEAD)
                g_string_append(line, " (removed at the end; the recorded head names them)");
        } else if (f->kind == DM_JOURNAL_BAD_HEAD || f->kind == DM_JOURNAL_BAD_ANCHOR) {
            g_string_append(line, dm_journal_fault_text(f->kind));
        } else {
            g_string_append_printf(line, "row %" G_GINT64_FORMAT, f->seq);
            dm_ctl_journal_row_desc(f, line);
            g_string_append_printf(line, ": %s", dm_journal_fault_text(f->kind));
        }
        printf("%s\n", line->str);
        g_string_free(line, TRUE);
    }
    if (r.faults->len == 0) {
        printf("intact: no row altered, none missing\n");
    } else {
        printf("%u problem%s\n", r.faults->len, r.faults->len == 1 ? "" : "s");
        rc = DM_EX_PROBLEMS;
    }
    dm_journal_report_clear(&r);
    dm_store_close(s);
    return rc;
}

static void dm_ctl_journal_json_row(GString *o, const dm_journal_row *r)
{
    char *t = dm_ctl_journal_time(r->time);

    g_string_append(o, "{\"seq\": ");
    g_string_append_printf(o, "%" G_GINT64_FORMAT, r->seq);
    g_string_append(o, ", \"id\": ");
    dm_json_string(o, r->id);
    g_string_append_printf(o, ", \"time\": %" G_GINT64_FORMAT ", \"time_iso\": ", r->time);
    dm_json_string(o, t);
    g_string_append(o, ", \"class\": ");
    dm_json_string(o, r->klass);
    if (r->pruned)
        g_string_append(o, ", \"pruned\": true");
    if (!r->pruned && !r->private_row) {
        struct {
            const char *name, *value;
        } f[] = {{"queue_id", r->queue_id},   {"message_id", r->message_id},
                 {"direction", r->direction}, {"sender", r->sender},
                 {"subject", r->subject},     {"case", r->case_dnr},
                 {"sha256", r->hash}};

        g_string_append_printf(o, ", \"sekretess\": %s", r->sekretess ? "true" : "false");
        for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
            g_string_append_printf(o, ", \"%s\": ", f[i].name);
            if (f[i].value != NULL)
                dm_json_string(o, f[i].value);
            else
                g_string_append(o, "null");
        }
        g_string_append(o, ", \"recipients\": [");
        if (r->recipients != NULL && *r->recipients != '\0') {
            char **list = g_strsplit(r->recipients, ",", -1);
            for (char **a = list; *a != NULL; a++) {
                if (a != list)
                    g_string_append(o, ", ");
                dm_json_string(o, *a);
            }
            g_strfreev(list);
        }
        g_string_append(o, "], \"gateway\": ");
        if (r->gateway != NULL)
            dm_json_string(o, r->gateway);
        else
            g_string_append(o, "null");
        g_string_append(o, ", \"reasons\": ");
        g_string_append(o, r->reasons != NULL ? r->reasons : "[]");
        g_string_append(o, ", \"actions\": ");
        g_string_append(o, r->actions != NULL ? r->actions : "[]");
    }
    g_string_append_c(o, '}');
    g_free(t);
}

static void dm_ctl_journal_text_row(const dm_journal_row *r)
{
    char *t = dm_ctl_journal_time(r->time);

    /* Every field is the sender's or the directory's to choose: escaped,
     * so that none can forge a row or move the terminal. */
    if (r->pruned || r->private_row) {
        printf("%s  %s  %s%s\n", t, dm_ctl_safe(r->id), dm_ctl_safe(r->klass),
               r->pruned ? " (pruned)" : "");
    } else {
        printf("%s  %s  %s%s  %s  %s\n", t, dm_ctl_safe(r->id), dm_ctl_safe(r->klass),
               r->sekretess ? " sekretess" : "",
               r->direction != NULL ? dm_ctl_safe(r->direction) : "-",
               r->queue_id != NULL ? dm_ctl_safe(r->queue_id) : "-");
        printf("    from %s to %s\n",
               r->sender != NULL && *r->sender ? dm_ctl_safe(r->sender) : "<>",
               r->recipients != NULL ? dm_ctl_safe(r->recipients) : "-");
        if (r->message_id != NULL)
            printf("    Message-ID %s\n", dm_ctl_safe(r->message_id));
        if (r->case_dnr != NULL)
            printf("    case %s\n", dm_ctl_safe(r->case_dnr));
        if (r->subject != NULL)
            printf("    subject %s\n", dm_ctl_safe(r->subject));
        if (r->actions != NULL && strcmp(r->actions, "[]") != 0)
            printf("    actions %s\n", dm_ctl_safe(r->actions));
        if (r->gateway != NULL)
            printf("    gateway %s\n", dm_ctl_safe(r->gateway));
    }
    g_free(t);
}

static int dm_ctl_journal_search(const dm_conf *conf, const dm_journal_query *q, bool json)
{
    GError *err = NULL;
    dm_store *s;
    GPtrArray *rows;

    /* Reading needs no key. */
    if (!dm_store_exists(conf->database)) {
        fprintf(stderr, "diariectl journal: %s: no database ([store] database)\n",
                dm_ctl_safe(conf->database));
        return DM_EX_NOINPUT;
    }
    s = dm_store_open_conf(conf, NULL, 0, &err);
    if (s == NULL) {
        fprintf(stderr, "diariectl journal: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return DM_EX_NOINPUT;
    }
    rows = dm_store_journal_search(s, q, &err);
    if (rows == NULL) {
        fprintf(stderr, "diariectl journal search: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        dm_store_close(s);
        return DM_EX_SOFTWARE;
    }
    if (json) {
        GString *o = g_string_new("[");
        for (guint i = 0; i < rows->len; i++) {
            g_string_append(o, i ? ",\n " : "");
            dm_ctl_journal_json_row(o, g_ptr_array_index(rows, i));
        }
        g_string_append(o, "]\n");
        fputs(o->str, stdout);
        g_string_free(o, TRUE);
    } else {
        for (guint i = 0; i < rows->len; i++)
            dm_ctl_journal_text_row(g_ptr_array_index(rows, i));
        printf("%u row%s\n", rows->len, rows->len == 1 ? "" : "s");
    }
    g_ptr_array_free(rows, TRUE);
    dm_store_close(s);
    return DM_EX_OK;
}

static int dm_ctl_journal_backup(const dm_conf *conf, const char *path)
{
    GError *err = NULL;
    dm_store *s;

    if (!dm_store_exists(conf->database)) {
        fprintf(stderr, "diariectl journal: %s: no database ([store] database)\n",
                dm_ctl_safe(conf->database));
        return DM_EX_NOINPUT;
    }
    s = dm_store_open_conf(conf, NULL, 0, &err);
    if (s == NULL) {
        fprintf(stderr, "diariectl journal: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        return DM_EX_NOINPUT;
    }
    if (!dm_store_backup(s, path, &err)) {
        fprintf(stderr, "diariectl journal backup: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        dm_store_close(s);
        return DM_EX_CANTCREAT;
    }
    dm_store_close(s);
    printf("%s: a copy of the whole database; keep %s with it (without the key the "
           "chain cannot be verified)\n",
           dm_ctl_safe(path), dm_ctl_safe(conf->key_file));
    return DM_EX_OK;
}

static int dm_ctl_journal_prune(const dm_conf *conf, bool dry_run)
{
    const dm_journal_retention retain[] = {
        {"registreras", conf->retain_registreras}, {"allman", conf->retain_allman},
        {"ringa", conf->retain_ringa},             {"intern", conf->retain_intern},
        {"parti", conf->retain_parti},             {"privat", conf->retain_privat},
        {"rejected", conf->retain_rejected},
    };
    size_t counts[G_N_ELEMENTS(retain)], total = 0, removed = 0;
    int rc = DM_EX_OK;
    dm_store *s = dm_ctl_journal_open(conf, &rc);
    GError *err = NULL;
    GString *summary = g_string_new(NULL);

    if (s == NULL) {
        g_string_free(summary, TRUE);
        return rc;
    }
    if (!dm_store_journal_prune(s, retain, G_N_ELEMENTS(retain),
                                g_get_real_time() / G_USEC_PER_SEC, dry_run, counts, &removed,
                                &err)) {
        fprintf(stderr, "diariectl journal prune: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        dm_store_close(s);
        g_string_free(summary, TRUE);
        return DM_EX_SOFTWARE;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(retain); i++) {
        if (retain[i].seconds <= 0) {
            printf("%-12s kept for ever\n", retain[i].klass);
            continue;
        }
        printf("%-12s older than %" G_GINT64_FORMAT " days: %zu %s\n", retain[i].klass,
               retain[i].seconds / 86400, counts[i], dry_run ? "would be pruned" : "pruned");
        if (counts[i] > 0)
            g_string_append_printf(summary, "%s%s %zu", summary->len ? ", " : "",
                                   retain[i].klass, counts[i]);
        total += counts[i];
    }
    if (dry_run) {
        printf("%zu rows would be pruned (nothing changed)\n", total);
    } else {
        printf("%zu rows pruned", total);
        if (removed > 0)
            printf("; %zu pruned rows at the start of the journal removed behind its anchor",
                   removed);
        printf("\n");
        if (total > 0 || removed > 0) {
            dm_log_open("diariectl", conf->log_facility, false, conf->log_file, DM_LOG_INFO);
            dm_log(DM_LOG_NOTICE, "journal prune by uid %ld: %zu rows pruned (%s), %zu removed "
                                  "behind the anchor",
                   (long)getuid(), total, summary->str, removed);
        }
    }
    g_string_free(summary, TRUE);
    dm_store_close(s);
    return DM_EX_OK;
}

int dm_ctl_journal(int argc, char **argv)
{
    char *conf_path = NULL, *since = NULL, *until = NULL, *address = NULL, *dnr = NULL,
         *klass = NULL;
    char **args = NULL;
    gboolean json = FALSE, dry_run = FALSE;
    gint limit = 0;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"since", 0, 0, G_OPTION_ARG_STRING, &since, "search: from this date or time", "DATE"},
        {"until", 0, 0, G_OPTION_ARG_STRING, &until,
         "search: up to this date (the whole day) or time", "DATE"},
        {"address", 0, 0, G_OPTION_ARG_STRING, &address,
         "search: the sender, a recipient, or where a copy or notice went", "ADDR"},
        {"case", 0, 0, G_OPTION_ARG_STRING, &dnr, "search: the case cited", "DNR"},
        {"class", 0, 0, G_OPTION_ARG_STRING, &klass,
         "search: registreras, allman, ringa, intern, parti, privat or rejected", "CLASS"},
        {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "search: at most N rows", "N"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "search: a JSON array", NULL},
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run, "prune: count, change nothing", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc =
        g_option_context_new("verify | search [OPTIONS] | prune [--dry-run] | backup FILE");
    GError *err = NULL;
    dm_conf *conf = NULL;
    int rc = DM_EX_USAGE;
    dm_journal_query q = {0};
    guint nargs;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(
        oc, "The journal: one row per message, chained under the local key.\n"
            "  verify   check the chain; list altered, missing and wrongly pruned rows\n"
            "  search   the rows that match; privat and parti rows show only time, class, id\n"
            "  prune    prune rows past their class's [store] retain_* (R17)\n"
            "  backup   copy the SQLite database to a new FILE while the daemon runs\n"
            "           (PostgreSQL: pg_dump); keep [store] key_file with it\n"
            "DATE: 2026-11-17 (local time) or ISO 8601 such as 2026-11-17T10:00:00+01:00.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl journal: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        goto out;
    }
    nargs = args != NULL ? g_strv_length(args) : 0;
    if (nargs == 2 && strcmp(args[0], "backup") == 0) {
        conf = dm_ctl_conf(conf_path);
        rc = conf != NULL ? dm_ctl_journal_backup(conf, args[1]) : DM_EX_CONFIG;
        goto out;
    }
    if (nargs != 1 || (strcmp(args[0], "verify") != 0 && strcmp(args[0], "search") != 0 &&
                       strcmp(args[0], "prune") != 0)) {
        fprintf(stderr, "diariectl journal: verify | search [OPTIONS] | prune [--dry-run] | "
                        "backup FILE\n");
        goto out;
    }
    if (since != NULL && !dm_ctl_journal_date(since, false, &q.since)) {
        fprintf(stderr, "diariectl journal: --since: \"%s\" is not a date\n", dm_ctl_safe(since));
        goto out;
    }
    if (until != NULL && !dm_ctl_journal_date(until, true, &q.until)) {
        fprintf(stderr, "diariectl journal: --until: \"%s\" is not a date\n", dm_ctl_safe(until));
        goto out;
    }
    if (klass != NULL) {
        dm_class c;
        if (strcmp(klass, "rejected") != 0 && !dm_class_from_name(klass, &c)) {
            fprintf(stderr, "diariectl journal: --class: \"%s\" is not a class\n",
                    dm_ctl_safe(klass));
            goto out;
        }
    }
    if (limit < 0) {
        fprintf(stderr, "diariectl journal: --limit: must not be negative\n");
        goto out;
    }
    if (address != NULL) {
        char *n = dm_addr_normalize(address);
        g_free(address);
        address = n;
    }
    q.address = address;
    q.case_dnr = dnr;
    q.klass = klass;
    q.limit = (size_t)limit;
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    if (strcmp(args[0], "verify") == 0)
        rc = dm_ctl_journal_verify(conf);
    else if (strcmp(args[0], "search") == 0)
        rc = dm_ctl_journal_search(conf, &q, json);
    else
        rc = dm_ctl_journal_prune(conf, dry_run);
out:
    dm_conf_unref(conf);
    g_strfreev(args);
    g_free(conf_path);
    g_free(since);
    g_free(until);
    g_free(address);
    g_free(dnr);
    g_free(klass);
    g_option_context_free(oc);
    return rc;
}
