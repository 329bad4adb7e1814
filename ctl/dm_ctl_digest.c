/*
 * diariectl report svarstider (R15) and report digest: what the
 * registrator reads each working day.
 *
 * svarstider: the questions from the public (inbound, class registreras
 * or ringa, to a functional mailbox) since --since, per mailbox: how
 * many, answered within one working day, answered later, unanswered, of
 * them past one working day, and the oldest of those.
 *
 * digest: for each registrator mailbox of the directory, since the
 * previous working day at this hour: the copies it was sent (by
 * myndighet and class), the notices that name it still unanswered after
 * their reminder (who, when, the subject unless sekretess), its dead
 * copies in the spool, the unwatched mailboxes (report absence) and the
 * svarstider of the last 30 days.  Printed; with --send spooled to each
 * (template digest), on working days only.
 */
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "dm_ctl.h"
#include "dm_ldap.h"
#include "dm_store.h"
#include "dm_util.h"
#include "dm_workday.h"

#define DM_EX_OVERDUE 1

typedef struct {
    char *mailbox;
    unsigned total, in_time, late, open, overdue;
    const dm_question_row *oldest; /* overdue */
} dm_svar;

static void dm_svar_free(dm_svar *s)
{
    g_free(s->mailbox);
    g_free(s);
}

static gint dm_svar_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp((*(dm_svar *const *)a)->mailbox, (*(dm_svar *const *)b)->mailbox);
}

/* Per mailbox, sorted (dm_svar *); the rows stay rows'. */
static GPtrArray *dm_svar_count(GPtrArray *rows, int64_t now, GTimeZone *tz)
{
    GHashTable *by = g_hash_table_new(g_str_hash, g_str_equal);
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)dm_svar_free);
    int64_t overdue_before = dm_workdays_back(now, 1, tz);

    for (guint i = 0; i < rows->len; i++) {
        const dm_question_row *q = g_ptr_array_index(rows, i);
        dm_svar *s = g_hash_table_lookup(by, q->mailbox);

        if (q->time > now)
            continue; /* --now in the past */
        if (s == NULL) {
            s = g_new0(dm_svar, 1);
            s->mailbox = g_strdup(q->mailbox);
            g_hash_table_insert(by, s->mailbox, s);
            g_ptr_array_add(out, s);
        }
        s->total++;
        if (q->answered != 0 && q->answered <= now) {
            /* Within one working day: not before the same time of day
             * on the next working day. */
            if (q->time < dm_workdays_back(q->answered, 1, tz))
                s->late++;
            else
                s->in_time++;
        } else {
            s->open++;
            if (q->time < overdue_before) {
                s->overdue++;
                if (s->oldest == NULL)
                    s->oldest = q; /* rows are oldest first */
            }
        }
    }
    g_hash_table_destroy(by);
    g_ptr_array_sort(out, dm_svar_cmp);
    return out;
}

static void dm_svar_lines(const dm_conf *conf, GPtrArray *counts, bool sv, GString *out)
{
    if (counts->len == 0)
        return;
    g_string_append_printf(out, "%-32s %7s %7s %7s %7s %7s  %s\n", sv ? "brevlåda" : "mailbox",
                           sv ? "frågor" : "asked", sv ? "i tid" : "in time",
                           sv ? "sent" : "late", sv ? "öppna" : "open",
                           sv ? "försenade" : "overdue",
                           sv ? "äldsta obesvarade" : "oldest unanswered");
    for (guint i = 0; i < counts->len; i++) {
        const dm_svar *s = g_ptr_array_index(counts, i);
        char *oldest = s->oldest != NULL
                           ? dm_engine_local_time(conf, s->oldest->time, "%Y-%m-%d %H:%M")
                           : NULL;

        g_string_append_printf(out, "%-32s %7u %7u %7u %7u %7u  %s%s%s%s\n", s->mailbox,
                               s->total, s->in_time, s->late, s->open, s->overdue,
                               oldest != NULL ? oldest : "-", oldest != NULL ? " (" : "",
                               oldest != NULL ? s->oldest->id : "", oldest != NULL ? ")" : "");
        g_free(oldest);
    }
    if (out->len > 0 && out->str[out->len - 1] == '\n')
        g_string_truncate(out, out->len - 1);
}

/* Text of several lines, each escaped for the terminal. */
static void dm_print_lines(const char *text)
{
    char **lines = g_strsplit(text, "\n", -1);

    for (char **l = lines; *l != NULL; l++)
        if (l[1] != NULL || **l != '\0')
            printf("%s\n", dm_ctl_safe(*l));
    g_strfreev(lines);
}

static dm_store *dm_digest_open_store(const dm_conf *conf, const char *who)
{
    GError *err = NULL;
    dm_store *s;

    if (!dm_store_exists(conf->database)) {
        fprintf(stderr, "diariectl report %s: %s: no database yet\n", who,
                dm_ctl_safe(conf->database));
        return NULL;
    }
    s = dm_store_open(conf->database, NULL, 0, &err);
    if (s == NULL) {
        fprintf(stderr, "diariectl report %s: %s\n", who, dm_ctl_safe(err->message));
        g_error_free(err);
    }
    return s;
}

int dm_ctl_report_svarstider(dm_conf *conf, int64_t now, int64_t since, const char *mailbox)
{
    dm_store *s = dm_digest_open_store(conf, "svarstider");
    GError *err = NULL;
    GPtrArray *rows, *counts;
    GTimeZone *tz;
    GString *out;
    char *from, *at;
    unsigned overdue = 0;

    if (s == NULL)
        return DM_EX_NOINPUT;
    rows = dm_store_question_list(s, since, mailbox, &err);
    if (rows == NULL) {
        fprintf(stderr, "diariectl report svarstider: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        dm_store_close(s);
        return DM_EX_SOFTWARE;
    }
    tz = g_time_zone_new_identifier(conf->timezone);
    counts = dm_svar_count(rows, now, tz);
    out = g_string_new(NULL);
    dm_svar_lines(conf, counts, false, out);
    from = dm_engine_local_time(conf, since, "%Y-%m-%d %H:%M");
    at = dm_engine_local_time(conf, now, "%Y-%m-%d %H:%M");
    printf("questions from the public to functional mailboxes, %s .. %s; answered within "
           "one working day (R15)\n",
           from, at);
    if (out->len > 0)
        dm_print_lines(out->str);
    else
        printf("no questions\n");
    for (guint i = 0; i < counts->len; i++) {
        const dm_svar *sv = g_ptr_array_index(counts, i);
        overdue += sv->overdue;
    }
    printf("%u unanswered after one working day\n", overdue);
    g_free(from);
    g_free(at);
    g_string_free(out, TRUE);
    g_ptr_array_free(counts, TRUE);
    g_ptr_array_free(rows, TRUE);
    if (tz != NULL)
        g_time_zone_unref(tz);
    dm_store_close(s);
    return overdue > 0 ? DM_EX_OVERDUE : DM_EX_OK;
}

/* --- the digest ------------------------------------------------------------ */

typedef struct {
    dm_engine *e;
    const dm_conf *conf;
    int64_t now, from;
    bool sv;
    GPtrArray *journal;    /* dm_journal_row * since from */
    GPtrArray *notices;    /* dm_notice_row * */
    GPtrArray *dead;       /* dm_spool_item * */
    GPtrArray *unwatched;  /* char * */
    char *svarstider;
    GHashTable *case_myndighet; /* dnr -> myndighet */
} dm_digest;

static bool dm_digest_case(const dm_store_case *c, void *data)
{
    g_hash_table_insert(data, g_strdup(c->dnr), g_strdup(c->myndighet));
    return true;
}

/* Does the row's action list hold a copy to `to`? */
static bool dm_digest_copied_to(const dm_journal_row *r, const char *to)
{
    JsonParser *p;
    JsonNode *root;
    bool found = false;

    if (r->actions == NULL || r->private_row || r->pruned)
        return false;
    p = json_parser_new();
    if (json_parser_load_from_data(p, r->actions, -1, NULL) &&
        (root = json_parser_get_root(p)) != NULL && JSON_NODE_HOLDS_ARRAY(root)) {
        JsonArray *a = json_node_get_array(root);

        for (guint i = 0; i < json_array_get_length(a) && !found; i++) {
            JsonObject *o = json_array_get_object_element(a, i);
            if (o != NULL && json_object_has_member(o, "type") &&
                json_object_has_member(o, "to") &&
                g_strcmp0(json_object_get_string_member(o, "type"), "copy") == 0 &&
                g_ascii_strcasecmp(json_object_get_string_member(o, "to"), to) == 0)
                found = true;
        }
    }
    g_object_unref(p);
    return found;
}

static gint dm_str_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The values of one registrator's digest. */
static GHashTable *dm_digest_vars(dm_digest *d, const dm_registrar *reg)
{
    GHashTable *vars = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    GHashTable *copies = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GString *lines = g_string_new(NULL);
    GPtrArray *keys;
    char *mynd = reg->myndigheter != NULL && reg->myndigheter[0] != NULL
                     ? g_strjoinv(",", reg->myndigheter)
                     : g_strdup("-");
    unsigned n = 0;
    GHashTableIter it;
    gpointer k;

    /* Copies, by myndighet (the cited case's, else the registrator's) and
     * class. */
    for (guint i = 0; i < d->journal->len; i++) {
        const dm_journal_row *r = g_ptr_array_index(d->journal, i);
        const char *m = NULL;
        char *key;

        if (!dm_digest_copied_to(r, reg->mail))
            continue;
        if (r->case_dnr != NULL)
            m = g_hash_table_lookup(d->case_myndighet, r->case_dnr);
        key = g_strdup_printf("%-12s %-12s", m != NULL ? m : mynd, r->klass);
        g_hash_table_insert(copies, key,
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(copies, key)) +
                                             1));
        n++;
    }
    keys = g_ptr_array_new();
    g_hash_table_iter_init(&it, copies);
    while (g_hash_table_iter_next(&it, &k, NULL))
        g_ptr_array_add(keys, k);
    g_ptr_array_sort(keys, dm_str_cmp);
    for (guint i = 0; i < keys->len; i++)
        g_string_append_printf(lines, "%s%s %u", i > 0 ? "\n" : "",
                               (const char *)g_ptr_array_index(keys, i),
                               GPOINTER_TO_UINT(g_hash_table_lookup(copies,
                                                                    g_ptr_array_index(keys, i))));
    g_ptr_array_free(keys, TRUE);
    g_hash_table_destroy(copies);
    g_hash_table_insert(vars, "copies_total", g_strdup_printf("%u", n));
    g_hash_table_insert(vars, "copies", g_string_free(lines, FALSE));

    /* Notices naming this registrator, unanswered after their reminder. */
    lines = g_string_new(NULL);
    n = 0;
    for (guint i = 0; i < d->notices->len; i++) {
        const dm_notice_row *no = g_ptr_array_index(d->notices, i);
        dm_journal_row *r = NULL;
        char *person = NULL, *when;
        GError *err = NULL;

        if (no->answered != 0 || no->reminded == 0 || no->reminded > d->now ||
            no->registrar == NULL || g_ascii_strcasecmp(no->registrar, reg->mail) != 0)
            continue;
        if (!dm_engine_notice_lookup(dm_engine_store(d->e), no, &r, &person, &err)) {
            fprintf(stderr, "diariectl report digest: %s\n", dm_ctl_safe(err->message));
            g_clear_error(&err);
        }
        when = dm_engine_local_time(d->conf, no->time, "%Y-%m-%d %H:%M");
        g_string_append_printf(lines, "%s%s  %s  %s\n  %s%s", n > 0 ? "\n" : "", when,
                               person != NULL ? person : "-", no->id,
                               d->sv ? "ämne: " : "subject: ",
                               r == NULL ? "-"
                               : r->sekretess ? (d->sv ? "(sekretess)" : "(confidential)")
                               : r->subject);
        n++;
        g_free(when);
        g_free(person);
        dm_journal_row_free(r);
    }
    g_hash_table_insert(vars, "notices_total", g_strdup_printf("%u", n));
    g_hash_table_insert(vars, "notices", g_string_free(lines, FALSE));

    /* Dead copies to this registrator. */
    lines = g_string_new(NULL);
    n = 0;
    for (guint i = 0; i < d->dead->len; i++) {
        const dm_spool_item *s = g_ptr_array_index(d->dead, i);
        char *when;

        if (g_strcmp0(s->kind, "copy") != 0 || s->rcpt == NULL ||
            g_ascii_strcasecmp(s->rcpt, reg->mail) != 0)
            continue;
        when = dm_engine_local_time(d->conf, s->created, "%Y-%m-%d %H:%M");
        g_string_append_printf(lines, "%s%s  %s  %s", n > 0 ? "\n" : "", when, s->name,
                               s->last_error != NULL ? s->last_error : "");
        g_free(when);
        n++;
    }
    g_hash_table_insert(vars, "dead_total", g_strdup_printf("%u", n));
    g_hash_table_insert(vars, "dead", g_string_free(lines, FALSE));

    lines = g_string_new(NULL);
    for (guint i = 0; i < d->unwatched->len; i++)
        g_string_append_printf(lines, "%s%s", i > 0 ? "\n" : "",
                               (const char *)g_ptr_array_index(d->unwatched, i));
    g_hash_table_insert(vars, "unwatched_total", g_strdup_printf("%u", d->unwatched->len));
    g_hash_table_insert(vars, "unwatched", g_string_free(lines, FALSE));
    g_hash_table_insert(vars, "svarstider", g_strdup(d->svarstider));
    g_hash_table_insert(vars, "svar_days", g_strdup("30"));
    g_hash_table_insert(vars, "registrator", g_strdup(reg->mail));
    g_hash_table_insert(vars, "date", dm_engine_local_time(d->conf, d->now, "%Y-%m-%d"));
    g_hash_table_insert(vars, "from", dm_engine_local_time(d->conf, d->from, "%Y-%m-%d %H:%M"));
    g_hash_table_insert(vars, "until", dm_engine_local_time(d->conf, d->now, "%Y-%m-%d %H:%M"));
    g_hash_table_insert(vars, "gateway", g_strdup(dm_conf_gateway_id(d->conf)));
    g_free(mynd);
    return vars;
}

/* Spool one digest; false with err set. */
static bool dm_digest_spool(dm_digest *d, const dm_registrar *reg, GHashTable *vars,
                            GError **err)
{
    char id[21];
    char *from_header = g_strdup_printf("%s <%s>", d->conf->from_name, dm_conf_sender(d->conf));
    dm_compose_info ci = {0};
    dm_spool_tx *tx;
    GMimeStream *out;
    bool ok = false;

    dm_id_new(id);
    tx = dm_spool_begin(dm_engine_spool(d->e), id);
    ci.id = id;
    ci.from_header = from_header;
    ci.now = d->now;
    ci.conf = d->conf;
    ci.loop_key = dm_engine_key(d->e, &ci.loop_keylen);
    ci.loop_expires = d->now + d->conf->dead_after + 24 * 3600;
    out = dm_spool_add(tx, "digest", dm_conf_sender(d->conf), reg->mail, 0, err);
    if (out != NULL &&
        dm_mime_write_generated(out, &ci, reg->mail, "digest", vars,
                                dm_engine_templates(d->e), err))
        ok = dm_spool_commit(tx, err);
    dm_spool_finish(tx, ok);
    g_free(from_header);
    return ok;
}

int dm_ctl_report_digest(dm_conf *conf, int64_t now, bool send)
{
    dm_digest d = {.conf = conf, .now = now, .sv = conf->language == DM_LANG_SV};
    GTimeZone *tz = g_time_zone_new_identifier(conf->timezone);
    GError *err = NULL;
    dm_ldap *l = NULL;
    dm_registrars *regs = NULL;
    dm_journal_query q = {0};
    GPtrArray *questions = NULL, *counts = NULL;
    GString *sv = g_string_new(NULL);
    int rc = DM_EX_SOFTWARE;

    if (send && !dm_is_workday_at(now, tz)) {
        printf("not a working day: no digest sent\n");
        rc = DM_EX_OK;
        goto out;
    }
    if (!dm_store_exists(conf->database)) {
        fprintf(stderr, "diariectl report digest: %s: no database yet\n",
                dm_ctl_safe(conf->database));
        rc = DM_EX_NOINPUT;
        goto out;
    }
    dm_mime_init();
    d.e = dm_engine_new(conf, DM_ENGINE_OFFLINE | DM_ENGINE_READONLY |
                                  (send ? 0 : DM_ENGINE_NO_SPOOL),
                        NULL, &err);
    if (d.e == NULL)
        goto fail;
    d.from = dm_workdays_back(now, 1, tz);
    q.since = d.from;
    q.until = now + 1;
    d.journal = dm_store_journal_search(dm_engine_store(d.e), &q, &err);
    if (d.journal == NULL)
        goto fail;
    d.notices = dm_store_notice_list(dm_engine_store(d.e), now - 60 * 86400, &err);
    if (d.notices == NULL)
        goto fail;
    d.case_myndighet = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!dm_store_cases_each(dm_engine_store(d.e), dm_digest_case, d.case_myndighet, &err))
        goto fail;
    {
        dm_spool *sp = dm_engine_spool(d.e);
        dm_spool *own = NULL;

        if (sp == NULL)
            sp = own = dm_spool_open(conf->spool, false, &err);
        d.dead = sp != NULL ? dm_spool_list(sp, true, &err) : NULL;
        if (own != NULL)
            dm_spool_close(own);
        if (d.dead == NULL) {
            /* No spool on this host yet: nothing dead. */
            g_clear_error(&err);
            d.dead = g_ptr_array_new();
        }
    }
    d.unwatched = g_ptr_array_new_with_free_func(g_free);
    {
        int arc = dm_ctl_report_absence(conf, now, d.unwatched);

        if (arc != DM_EX_OK && arc != 1) {
            rc = arc;
            goto out;
        }
    }
    questions = dm_store_question_list(dm_engine_store(d.e), now - 30 * 86400, NULL, &err);
    if (questions == NULL)
        goto fail;
    counts = dm_svar_count(questions, now, tz);
    dm_svar_lines(conf, counts, d.sv, sv);
    d.svarstider = sv->str;

    l = dm_ldap_new(conf, &err);
    if (l == NULL || dm_ldap_registrars(l, &regs, &err) == DM_LDAP_ERROR) {
        rc = DM_EX_TEMPFAIL;
        fprintf(stderr, "diariectl report digest: the registrators: %s\n",
                dm_ctl_safe(err != NULL ? err->message : "?"));
        goto out;
    }
    rc = DM_EX_OK;
    for (guint i = 0; regs != NULL && i < regs->items->len; i++) {
        const dm_registrar *reg = g_ptr_array_index(regs->items, i);
        GHashTable *vars = dm_digest_vars(&d, reg);

        if (!send) {
            char *subject = NULL, *body = NULL;

            if (dm_template_expand(dm_engine_templates(d.e), "digest", vars, &subject, &body)) {
                printf("To: %s\nSubject: %s\n\n", dm_ctl_safe(reg->mail), dm_ctl_safe(subject));
                dm_print_lines(body);
                printf("\n");
            }
            g_free(subject);
            g_free(body);
        } else if (dm_digest_spool(&d, reg, vars, &err)) {
            printf("digest to %s spooled\n", dm_ctl_safe(reg->mail));
        } else {
            fprintf(stderr, "diariectl report digest: to %s: %s\n", dm_ctl_safe(reg->mail),
                    dm_ctl_safe(err->message));
            g_clear_error(&err);
            rc = DM_EX_TEMPFAIL;
        }
        g_hash_table_destroy(vars);
    }
    goto out;
fail:
    fprintf(stderr, "diariectl report digest: %s\n", dm_ctl_safe(err != NULL ? err->message
                                                                             : "failed"));
out:
    g_clear_error(&err);
    if (regs != NULL)
        dm_registrars_unref(regs);
    if (l != NULL)
        dm_ldap_free(l);
    if (counts != NULL)
        g_ptr_array_free(counts, TRUE);
    if (questions != NULL)
        g_ptr_array_free(questions, TRUE);
    g_string_free(sv, TRUE);
    if (d.unwatched != NULL)
        g_ptr_array_free(d.unwatched, TRUE);
    if (d.dead != NULL)
        g_ptr_array_free(d.dead, TRUE);
    if (d.case_myndighet != NULL)
        g_hash_table_destroy(d.case_myndighet);
    if (d.notices != NULL)
        g_ptr_array_free(d.notices, TRUE);
    if (d.journal != NULL)
        g_ptr_array_free(d.journal, TRUE);
    if (d.e != NULL)
        dm_engine_unref(d.e);
    if (tz != NULL)
        g_time_zone_unref(tz);
    return rc;
}
