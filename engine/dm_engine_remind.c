/*
 * Reminders for notices still unanswered after [site] notice_reminder
 * working days (diariectl notices remind), and what a notice is about
 * (its journal row, its person) for them and the registrator's digest.
 *
 * The notice table keeps a keyed hash of the person; the address is read
 * again from the journal row's actions, where it already is (a notice
 * asking for a forward is never about privat or parti mail).
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "dm_engine.h"
#include "dm_log.h"
#include "dm_workday.h"

/* The notice's person among the row's notice actions. */
static char *dm_remind_person(dm_store *st, const dm_journal_row *r, const char *person_key)
{
    JsonParser *p;
    JsonNode *root;
    char *found = NULL;

    if (r->actions == NULL)
        return NULL;
    p = json_parser_new();
    if (!json_parser_load_from_data(p, r->actions, -1, NULL) ||
        (root = json_parser_get_root(p)) == NULL || !JSON_NODE_HOLDS_ARRAY(root)) {
        g_object_unref(p);
        return NULL;
    }
    {
        JsonArray *a = json_node_get_array(root);

        for (guint i = 0; i < json_array_get_length(a) && found == NULL; i++) {
            JsonObject *o = json_array_get_object_element(a, i);
            const char *type, *to;
            char key[65];

            if (o == NULL || !json_object_has_member(o, "type") ||
                !json_object_has_member(o, "to"))
                continue;
            type = json_object_get_string_member(o, "type");
            to = json_object_get_string_member(o, "to");
            if (type == NULL || to == NULL || strcmp(type, "notice") != 0)
                continue;
            dm_store_person_key(st, to, key);
            if (strcmp(key, person_key) == 0)
                found = g_strdup(to);
        }
    }
    g_object_unref(p);
    return found;
}

bool dm_engine_notice_lookup(dm_store *st, const dm_notice_row *n, dm_journal_row **row,
                             char **person, GError **err)
{
    dm_journal_query q = {.since = n->time, .until = n->time + 1};
    GPtrArray *rows = dm_store_journal_search(st, &q, err);

    *row = NULL;
    *person = NULL;
    if (rows == NULL)
        return false;
    for (guint i = 0; i < rows->len; i++) {
        dm_journal_row *r = g_ptr_array_index(rows, i);

        if (strcmp(r->id, n->id) != 0 || r->pruned || r->private_row)
            continue;
        *person = dm_remind_person(st, r, n->person_key);
        if (*person != NULL) {
            *row = g_ptr_array_steal_index(rows, i);
            break;
        }
    }
    g_ptr_array_free(rows, TRUE);
    return true;
}

char *dm_engine_local_time(const dm_conf *conf, int64_t t, const char *format)
{
    GTimeZone *tz = g_time_zone_new_identifier(conf->timezone);
    GDateTime *utc = g_date_time_new_from_unix_utc(t), *local;
    char *s;

    if (tz == NULL)
        tz = g_time_zone_new_utc();
    local = g_date_time_to_timezone(utc, tz);
    s = g_date_time_format(local, format);
    g_date_time_unref(local);
    g_date_time_unref(utc);
    g_time_zone_unref(tz);
    return s;
}

/* Spool one reminder; false with err set. */
static bool dm_remind_spool(dm_engine *e, const dm_notice_row *n, const dm_journal_row *r,
                            const char *person, int64_t now, GError **err)
{
    const dm_conf *conf = dm_engine_conf(e);
    GHashTable *vars = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
    char *from_header = g_strdup_printf("%s <%s>", conf->from_name, dm_conf_sender(conf));
    dm_compose_info ci = {0};
    dm_spool_tx *tx = dm_spool_begin(dm_engine_spool(e), n->id);
    GMimeStream *out;
    bool ok = false;

    g_hash_table_insert(vars, "name", g_strdup(person));
    g_hash_table_insert(vars, "id", g_strdup(n->id));
    g_hash_table_insert(vars, "sender", g_strdup(r->sender != NULL && *r->sender ? r->sender
                                                                                : "<>"));
    g_hash_table_insert(vars, "subject", g_strdup(r->sekretess || r->subject == NULL
                                                      ? ""
                                                      : r->subject));
    g_hash_table_insert(vars, "sekretess", g_strdup(r->sekretess ? "sekretess" : ""));
    g_hash_table_insert(vars, "sent", dm_engine_local_time(conf, n->time, "%Y-%m-%d %H:%M"));
    g_hash_table_insert(vars, "arrived", dm_engine_local_time(conf, r->time,
                                                              "%Y-%m-%d %H:%M:%S %Z"));
    g_hash_table_insert(vars, "registrator", g_strdup(n->registrar ? n->registrar : ""));
    g_hash_table_insert(vars, "days", g_strdup_printf("%d", conf->notice_reminder));
    ci.id = n->id;
    ci.from_header = from_header;
    ci.now = now;
    ci.conf = conf;
    ci.loop_key = dm_engine_key(e, &ci.loop_keylen);
    ci.loop_expires = now + conf->dead_after + 24 * 3600; /* as dm_engine.c */
    dm_spool_tx_set_origin(tx, r->message_id);
    out = dm_spool_add(tx, "reminder", dm_conf_sender(conf), person, 0, err);
    if (out != NULL &&
        dm_mime_write_generated(out, &ci, person, "notice-reminder", vars,
                                dm_engine_templates(e), err))
        ok = dm_spool_commit(tx, err);
    dm_spool_finish(tx, ok);
    g_hash_table_destroy(vars);
    g_free(from_header);
    return ok;
}

bool dm_engine_remind(dm_engine *e, int64_t now, unsigned *sent, GError **err)
{
    const dm_conf *conf = dm_engine_conf(e);
    dm_store *st = dm_engine_store(e);
    GTimeZone *tz;
    int64_t due, since;
    GPtrArray *notices;
    bool ok = true;

    *sent = 0;
    if (conf->notice_reminder <= 0)
        return true;
    if (st == NULL || dm_engine_spool(e) == NULL) {
        g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "no database or spool");
        return false;
    }
    tz = g_time_zone_new_identifier(conf->timezone);
    due = dm_workdays_back(now, (unsigned)conf->notice_reminder, tz);
    /* A notice left unreminded far longer (the command did not run for
     * weeks) is the digest's, not a late reminder's. */
    since = dm_workdays_back(now, (unsigned)conf->notice_reminder + 20, tz);
    if (tz != NULL)
        g_time_zone_unref(tz);
    notices = dm_store_notice_list(st, since, err);
    if (notices == NULL)
        return false;
    for (guint i = 0; ok && i < notices->len; i++) {
        const dm_notice_row *n = g_ptr_array_index(notices, i);
        dm_journal_row *r = NULL;
        char *person = NULL;
        bool claimed = false;
        GError *e2 = NULL;

        if (n->reminded != 0 || n->answered != 0 || n->time > due)
            continue;
        if (!dm_engine_notice_lookup(st, n, &r, &person, err)) {
            ok = false;
            break;
        }
        if (r == NULL) {
            dm_log(DM_LOG_NOTICE, "id=%s: its notice's journal row is gone: no reminder", n->id);
            continue;
        }
        if (!dm_store_notice_remind(st, n->id, n->person_key, now, &claimed, err)) {
            ok = false;
        } else if (claimed) {
            if (dm_remind_spool(e, n, r, person, now, &e2)) {
                (*sent)++;
                dm_log(DM_LOG_INFO, "id=%s: reminder to %s spooled", n->id, person);
            } else {
                bool back = false;

                dm_log(DM_LOG_ERR, "id=%s: the reminder to %s could not be spooled: %s", n->id,
                       person, e2->message);
                g_clear_error(&e2);
                /* Taken back, so that the next run tries again. */
                if (!dm_store_notice_remind(st, n->id, n->person_key, 0, &back, &e2)) {
                    dm_log(DM_LOG_ERR, "id=%s: %s", n->id, e2->message);
                    g_clear_error(&e2);
                }
            }
        }
        dm_journal_row_free(r);
        g_free(person);
    }
    g_ptr_array_free(notices, TRUE);
    return ok;
}
