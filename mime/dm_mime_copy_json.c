/*
 * diarie.json: the facts of a wrapped registrator copy for a machine,
 * so that a diarium can import it without a person typing.  Its schema is
 * etc/diarie.schema.json; diariemilter(8), THE REGISTRATOR'S COPY, lists
 * the fields.  Written with json-glib: no JSON by hand.
 */
#include <json-glib/json-glib.h>
#include <string.h>

#include "dm_mime_int.h"

/* Version of the layout: raised when a field changes meaning or goes. */
#define DM_COPY_JSON_VERSION 1

/* A string value, valid UTF-8 whatever an envelope or header held. */
static void dm_json_add(JsonBuilder *b, const char *value)
{
    if (g_utf8_validate(value, -1, NULL)) {
        json_builder_add_string_value(b, value);
    } else {
        char *valid = g_utf8_make_valid(value, -1);
        json_builder_add_string_value(b, valid);
        g_free(valid);
    }
}

static void dm_json_str_or_null(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    if (value != NULL && *value != '\0')
        dm_json_add(b, value);
    else
        json_builder_add_null_value(b);
}

static void dm_json_envelope(JsonBuilder *b, const dm_compose_info *ci)
{
    GHashTable *named = dm_named_rcpts(ci->msg);

    json_builder_set_member_name(b, "envelope");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "sender");
    dm_json_add(b, ci->env_from);
    json_builder_set_member_name(b, "recipients");
    json_builder_begin_array(b);
    for (size_t i = 0; i < ci->n_rcpts; i++) {
        const dm_entry *e = dm_compose_rcpt_entry(ci, i);
        char *lower = g_utf8_strdown(ci->rcpts[i], -1);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "address");
        dm_json_add(b, ci->rcpts[i]);
        dm_json_str_or_null(b, "name", e != NULL ? e->name : NULL);
        json_builder_set_member_name(b, "list");
        json_builder_add_boolean_value(b, dm_entry_is_list(e));
        /* Not in To or Cc: a blind copy, or a list outside reached it. */
        json_builder_set_member_name(b, "in_headers");
        json_builder_add_boolean_value(b, g_hash_table_contains(named, lower));
        json_builder_end_object(b);
        g_free(lower);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_hash_table_destroy(named);
}

static void dm_json_sekretess(JsonBuilder *b, const dm_verdict *v)
{
    const dm_reason *sign[8];
    guint n = dm_compose_sekretess_signs(v, sign, G_N_ELEMENTS(sign));
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);

    json_builder_set_member_name(b, "sekretess");
    json_builder_add_boolean_value(b, v->sekretess);
    /* Which sign was found, never the facts themselves. */
    json_builder_set_member_name(b, "sekretess_signs");
    json_builder_begin_array(b);
    for (guint i = 0; v->sekretess && i < n; i++) {
        const char *name = dm_compose_sign_name(sign[i]);
        if (g_hash_table_add(seen, (gpointer)name))
            dm_json_add(b, name);
    }
    json_builder_end_array(b);
    g_hash_table_destroy(seen);
}

static void dm_json_reasons(JsonBuilder *b, const dm_compose_info *ci, const dm_templates *t)
{
    json_builder_set_member_name(b, "reasons");
    json_builder_begin_array(b);
    for (guint i = 0; i < ci->verdict->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(ci->verdict->reasons, i);
        char *text = dm_compose_reason_text(t, r);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "rule");
        dm_json_add(b, r->rule);
        dm_json_str_or_null(b, "key", r->key >= 0 ? dm_reasons_key((dm_reason_id)r->key) : NULL);
        json_builder_set_member_name(b, "text");
        dm_json_add(b, text);
        json_builder_end_object(b);
        g_free(text);
    }
    json_builder_end_array(b);
}

char *dm_copy_json(const dm_compose_info *ci, const dm_templates *t, const char *to,
                   const char *original_name, const char *original_type)
{
    JsonBuilder *b = json_builder_new();
    JsonGenerator *g = json_generator_new();
    JsonNode *root;
    const dm_msg *m = ci->msg;
    const dm_verdict *v = ci->verdict;
    char *arrived = dm_compose_iso_time(ci, ci->now), *text;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, DM_COPY_JSON_VERSION);
    json_builder_set_member_name(b, "gateway");
    dm_json_add(b, dm_compose_gateway(ci));
    json_builder_set_member_name(b, "id");
    dm_json_add(b, ci->id);
    dm_json_str_or_null(b, "queue_id", ci->queue_id);
    json_builder_set_member_name(b, "arrived");
    dm_json_add(b, arrived);
    dm_json_envelope(b, ci);
    dm_json_str_or_null(b, "from", m->from_display);
    json_builder_set_member_name(b, "subject");
    dm_json_add(b, m->subject != NULL ? m->subject : "");
    dm_json_str_or_null(b, "message_id", m->message_id);
    dm_json_str_or_null(b, "date", m->date);
    json_builder_set_member_name(b, "class");
    dm_json_add(b, dm_class_name(v->klass));
    dm_json_sekretess(b, v);
    dm_json_str_or_null(b, "case", v->case_dnr);
    dm_json_str_or_null(b, "myndighet", v->myndighet);
    dm_json_reasons(b, ci, t);
    dm_json_str_or_null(b, "sha256", ci->sha256);
    json_builder_set_member_name(b, "registrator");
    dm_json_add(b, to);
    json_builder_set_member_name(b, "original");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "filename");
    dm_json_add(b, original_name);
    json_builder_set_member_name(b, "content_type");
    dm_json_add(b, original_type);
    json_builder_end_object(b);
    json_builder_end_object(b);

    root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    json_generator_set_pretty(g, TRUE);
    json_generator_set_indent(g, 2);
    text = json_generator_to_data(g, NULL);
    json_node_unref(root);
    g_object_unref(g);
    g_object_unref(b);
    g_free(arrived);
    return text;
}
