/*
 * diariectl report absence: who is absent now and how their mail is
 * covered (R12, R13).
 *
 * Absent are the people whose directory absence dates cover now, and the
 * people an automatic reply left from within [site] autoreply_absence
 * (recorded by the daemon in the database).  Each is looked up as the
 * daemon looks up a recipient, so the delegate and manager are the ones
 * the daemon would use, and the coverage is what the daemon would do:
 * forward to the delegate, rely on fullmakt, or tell the manager.
 */
#include <stdio.h>
#include <string.h>

#include "dm_ctl.h"
#include "dm_ldap.h"
#include "dm_store.h"
#include "dm_util.h"

#define DM_EX_UNWATCHED 1

typedef struct {
    char *addr;
    int64_t ar_first, ar_last; /* auto-replies; 0 when none */
} dm_absentee;

typedef struct {
    GHashTable *by_addr; /* addr -> dm_absentee * */
    int64_t now;
} dm_report;

static void dm_absentee_free(dm_absentee *a)
{
    g_free(a->addr);
    g_free(a);
}

static dm_absentee *dm_report_add(dm_report *r, const char *addr)
{
    dm_absentee *a = g_hash_table_lookup(r->by_addr, addr);

    if (a == NULL) {
        a = g_new0(dm_absentee, 1);
        a->addr = g_strdup(addr);
        g_hash_table_insert(r->by_addr, a->addr, a);
    }
    return a;
}

static bool dm_dates_cover(const dm_entry *e, int64_t now)
{
    if (e->absent_from == 0 && e->absent_until == 0)
        return false;
    return (e->absent_from == 0 || e->absent_from <= now) &&
           (e->absent_until == 0 || now <= e->absent_until);
}

static bool dm_report_collect(dm_ldap_record *rec, void *data)
{
    dm_report *r = data;
    const dm_entry *e = rec->entry;

    if (dm_entry_is_person(e) && rec->members == NULL && e->mail != NULL &&
        dm_dates_cover(e, r->now))
        dm_report_add(r, e->mail);
    dm_ldap_record_free(rec);
    return true;
}

static void dm_report_date(int64_t t, char *buf, size_t len)
{
    GDateTime *d;
    char *s;

    if (t == 0) {
        g_strlcpy(buf, "-", len);
        return;
    }
    d = g_date_time_new_from_unix_local(t);
    s = g_date_time_format(d, "%Y-%m-%d %H:%M");
    g_strlcpy(buf, s, len);
    g_free(s);
    g_date_time_unref(d);
}

static gint dm_cmp_absentee(gconstpointer a, gconstpointer b)
{
    return strcmp((*(dm_absentee *const *)a)->addr, (*(dm_absentee *const *)b)->addr);
}

/* One person: prints the line (or, with quiet, adds an unwatched one's
 * to it); true when the mailbox is unwatched. */
static bool dm_report_print(const dm_absentee *a, const dm_entry *e, int64_t now,
                            GPtrArray *quiet)
{
    char from[32], until[32], first[32], last[32];
    GString *why = g_string_new(NULL), *cover = g_string_new(NULL);
    bool unwatched = false;

    if (e != NULL && dm_dates_cover(e, now)) {
        dm_report_date(e->absent_from, from, sizeof from);
        dm_report_date(e->absent_until, until, sizeof until);
        g_string_append_printf(why, "directory %s .. %s", from, until);
    }
    if (a->ar_last > 0) {
        dm_report_date(a->ar_first, first, sizeof first);
        dm_report_date(a->ar_last, last, sizeof last);
        g_string_append_printf(why, "%sauto-replies %s .. %s", why->len ? "; " : "", first,
                               last);
    }
    if (e == NULL) {
        g_string_append(cover, "not in the directory any more");
    } else if (e->delegate_mail != NULL) {
        g_string_append_printf(cover, "forwarded to the delegate %s", e->delegate_mail);
    } else if (e->fullmakt) {
        g_string_append(cover, "fullmakt: the registrator receives copies of what must be "
                               "registered");
    } else {
        unwatched = true;
        g_string_append(cover, "UNWATCHED: no fullmakt and no delegate");
        if (e->delegate_dn != NULL)
            g_string_append_printf(cover, " (the delegate %s has no address)", e->delegate_dn);
        if (e->manager_mail != NULL)
            g_string_append_printf(cover, "; the manager %s is told, once a day",
                                   e->manager_mail);
        else
            g_string_append(cover, "; no manager in the directory to tell");
    }
    if (quiet == NULL)
        printf("%s (%s)\n  absent: %s\n  mail:   %s\n", dm_ctl_safe(a->addr),
               dm_ctl_safe(e != NULL && e->name != NULL ? e->name : "-"),
               dm_ctl_safe(why->str), dm_ctl_safe(cover->str));
    else if (unwatched)
        g_ptr_array_add(quiet, g_strdup_printf("%s (%s): %s", a->addr,
                                               e != NULL && e->name != NULL ? e->name : "-",
                                               why->str));
    g_string_free(why, TRUE);
    g_string_free(cover, TRUE);
    return unwatched;
}

int dm_ctl_report_absence(dm_conf *conf, int64_t now, GPtrArray *quiet)
{
    dm_report r = {.now = now};
    dm_ldap *l = NULL;
    dm_store *s = NULL;
    GError *err = NULL;
    GPtrArray *list = NULL;
    unsigned unwatched = 0;
    int rc = DM_EX_OK;
    char when[32];

    r.by_addr = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                      (GDestroyNotify)dm_absentee_free);
    l = dm_ldap_new(conf, &err);
    if (l == NULL) {
        fprintf(stderr, "diariectl report: %s: %s\n", dm_ctl_safe(conf->path),
                dm_ctl_safe(err->message));
        rc = DM_EX_CONFIG;
        goto out;
    }
    if (dm_ldap_walk(l, dm_report_collect, &r, &err) == DM_LDAP_ERROR) {
        fprintf(stderr, "diariectl report: cannot read the directory: %s\n",
                dm_ctl_safe(err->message));
        rc = DM_EX_TEMPFAIL;
        goto out;
    }
    /* The daemon's record of auto-replies, when it has a database. */
    if (dm_store_exists(conf->database)) {
        GPtrArray *ars;

        s = dm_store_open_conf(conf, NULL, 0, &err);
        if (s == NULL) {
            fprintf(stderr, "diariectl report: %s\n", dm_ctl_safe(err->message));
            rc = DM_EX_NOINPUT;
            goto out;
        }
        ars = dm_store_autoreply_list(s, now - conf->autoreply_absence, &err);
        if (ars == NULL) {
            fprintf(stderr, "diariectl report: %s\n", dm_ctl_safe(err->message));
            rc = DM_EX_SOFTWARE;
            goto out;
        }
        for (guint i = 0; i < ars->len; i++) {
            const dm_autoreply_row *ar = g_ptr_array_index(ars, i);
            dm_absentee *a;

            if (ar->last > now)
                continue; /* --now in the past */
            a = dm_report_add(&r, ar->person);
            a->ar_first = ar->first;
            a->ar_last = ar->last;
        }
        g_ptr_array_free(ars, TRUE);
    }

    list = g_ptr_array_new();
    {
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, r.by_addr);
        while (g_hash_table_iter_next(&it, NULL, &v))
            g_ptr_array_add(list, v);
    }
    g_ptr_array_sort(list, dm_cmp_absentee);
    dm_report_date(now, when, sizeof when);
    if (quiet == NULL)
        printf("absent at %s: %u %s\n", dm_ctl_safe(when), list->len,
               list->len == 1 ? "person" : "people");
    for (guint i = 0; i < list->len; i++) {
        const dm_absentee *a = g_ptr_array_index(list, i);
        dm_entry *e = NULL;

        if (dm_ldap_lookup_address(l, a->addr, &e, &err) == DM_LDAP_ERROR) {
            fprintf(stderr, "diariectl report: %s: %s\n", dm_ctl_safe(a->addr),
                    dm_ctl_safe(err->message));
            rc = DM_EX_TEMPFAIL;
            goto out;
        }
        if (dm_report_print(a, e, now, quiet))
            unwatched++;
        dm_entry_unref(e);
    }
    if (quiet == NULL)
        printf("%u unwatched\n", unwatched);
    rc = unwatched > 0 ? DM_EX_UNWATCHED : DM_EX_OK;
out:
    g_clear_error(&err);
    if (list != NULL)
        g_ptr_array_free(list, TRUE);
    g_hash_table_destroy(r.by_addr);
    dm_store_close(s);
    dm_ldap_free(l);
    return rc;
}

#define DM_CTL_REPORT_USAGE "absence | svarstider [--mailbox M] [--since D] | digest [--send]"

int dm_ctl_report(int argc, char **argv)
{
    char *conf_path = NULL, *now_s = NULL, *since_s = NULL, *mailbox = NULL;
    char **args = NULL;
    gboolean send = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"now", 0, 0, G_OPTION_ARG_STRING, &now_s,
         "report at this time (ISO 8601) instead of now", "TIME"},
        {"since", 0, 0, G_OPTION_ARG_STRING, &since_s,
         "svarstider: questions since this time (ISO 8601 or YYYY-MM-DD; default 30 days "
         "ago)", "D"},
        {"mailbox", 0, 0, G_OPTION_ARG_STRING, &mailbox,
         "svarstider: this functional mailbox only", "M"},
        {"send", 0, 0, G_OPTION_ARG_NONE, &send,
         "digest: send each registrator theirs (spooled; on working days only)", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new(DM_CTL_REPORT_USAGE);
    GError *err = NULL;
    dm_conf *conf = NULL;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    int rc = DM_EX_USAGE;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(
        oc, "absence: who is absent now (by the directory's dates, or by an automatic\n"
            "  reply that left within [site] autoreply_absence) and how their mail is\n"
            "  covered: forwarded to a delegate, opened under fullmakt, or UNWATCHED\n"
            "  (their manager is told).  Exit 1 when a mailbox is unwatched, 75 when\n"
            "  the directory does not answer.\n"
            "svarstider: questions from the public to functional mailboxes (R15) and\n"
            "  how soon they were answered; exit 1 when one is unanswered after a\n"
            "  working day.\n"
            "digest: the registrator's daily digest, printed, or with --send spooled\n"
            "  to each registrator mailbox.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl report: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        goto out;
    }
    if (now_s != NULL && !dm_time_parse_iso8601(now_s, &now)) {
        fprintf(stderr, "diariectl report: --now: \"%s\" is not an ISO 8601 time "
                        "(like 2026-11-22T12:00:00Z)\n", dm_ctl_safe(now_s));
        goto out;
    }
    if (args == NULL || args[0] == NULL || args[1] != NULL ||
        (strcmp(args[0], "absence") != 0 && strcmp(args[0], "svarstider") != 0 &&
         strcmp(args[0], "digest") != 0)) {
        fprintf(stderr, "diariectl report: " DM_CTL_REPORT_USAGE "\n");
        goto out;
    }
    {
        int64_t since = now - 30 * 86400;

        if (since_s != NULL && !dm_time_parse_iso8601(since_s, &since)) {
            char *t = g_strconcat(since_s, "T00:00:00Z", NULL);
            bool day = dm_time_parse_iso8601(t, &since);

            g_free(t);
            if (!day) {
                fprintf(stderr, "diariectl report: --since: \"%s\" is not a date or an ISO "
                                "8601 time\n", dm_ctl_safe(since_s));
                goto out;
            }
        }
        conf = dm_ctl_conf(conf_path);
        if (conf == NULL) {
            rc = DM_EX_CONFIG;
            goto out;
        }
        if (strcmp(args[0], "absence") == 0)
            rc = dm_ctl_report_absence(conf, now, NULL);
        else if (strcmp(args[0], "svarstider") == 0)
            rc = dm_ctl_report_svarstider(conf, now, since, mailbox);
        else
            rc = dm_ctl_report_digest(conf, now, send);
    }
out:
    dm_conf_unref(conf);
    g_option_context_free(oc);
    g_free(conf_path);
    g_free(now_s);
    g_free(since_s);
    g_free(mailbox);
    g_strfreev(args);
    return rc;
}
