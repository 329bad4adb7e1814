#include "dm_verdict.h"

#include <stdarg.h>
#include <string.h>

#include "dm_util.h"

static const char *const dm_class_names[] = {
    "privat", "parti", "intern", "ringa", "allman", "registreras",
};

const char *dm_class_name(dm_class c)
{
    if (c < DM_CLASS_PRIVAT || c > DM_CLASS_REGISTRERAS)
        return "-";
    return dm_class_names[c];
}

bool dm_class_from_name(const char *name, dm_class *c)
{
    for (int i = DM_CLASS_PRIVAT; i <= DM_CLASS_REGISTRERAS; i++) {
        if (strcmp(name, dm_class_names[i]) == 0) {
            *c = (dm_class)i;
            return true;
        }
    }
    return false;
}

bool dm_class_is_private(dm_class c)
{
    return c == DM_CLASS_PRIVAT || c == DM_CLASS_PARTI;
}

const char *dm_direction_name(dm_direction d)
{
    switch (d) {
    case DM_DIR_INBOUND: return "inbound";
    case DM_DIR_OUTBOUND: return "outbound";
    case DM_DIR_INTERNAL: return "internal";
    case DM_DIR_EXTERNAL: return "external";
    }
    return "?";
}

const char *dm_action_type_name(dm_action_type t)
{
    switch (t) {
    case DM_ACT_COPY: return "copy";
    case DM_ACT_NOTICE: return "notice";
    case DM_ACT_FORWARD: return "forward";
    case DM_ACT_MANAGER_NOTICE: return "manager_notice";
    case DM_ACT_AUTOREPLY_REMINDER: return "autoreply_reminder";
    }
    return "?";
}

static void dm_action_free(gpointer p)
{
    dm_action *a = p;

    g_free(a->to);
    g_free(a->party);
    g_free(a->party_name);
    g_free(a->myndighet);
    g_free(a->registrar);
    g_free(a);
}

static void dm_reason_free(gpointer p)
{
    dm_reason *r = p;

    g_free(r->rule);
    g_free(r->text);
    g_strfreev(r->values);
    g_free(r);
}

dm_verdict *dm_verdict_new(void)
{
    dm_verdict *v = g_new0(dm_verdict, 1);

    v->klass = DM_CLASS_ALLMAN;
    v->actions = g_ptr_array_new_with_free_func(dm_action_free);
    v->reasons = g_ptr_array_new_with_free_func(dm_reason_free);
    return v;
}

void dm_verdict_free(dm_verdict *v)
{
    if (v == NULL)
        return;
    g_free(v->reject_code);
    g_free(v->reject_xcode);
    g_free(v->reject_text);
    g_free(v->case_dnr);
    g_free(v->myndighet);
    g_ptr_array_free(v->actions, TRUE);
    g_ptr_array_free(v->reasons, TRUE);
    g_free(v);
}

void dm_verdict_add_reason(dm_verdict *v, const char *rule, const char *fmt, ...)
{
    dm_reason *r = g_new0(dm_reason, 1);
    va_list ap;

    va_start(ap, fmt);
    r->rule = g_strdup(rule);
    r->text = g_strdup_vprintf(fmt, ap);
    r->key = -1;
    va_end(ap);
    g_ptr_array_add(v->reasons, r);
}

bool dm_verdict_has_action(const dm_verdict *v, dm_action_type type, const char *to)
{
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        if (a->type == type && g_ascii_strcasecmp(a->to, to) == 0)
            return true;
    }
    return false;
}

size_t dm_verdict_count_actions(const dm_verdict *v, dm_action_type type)
{
    size_t n = 0;

    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        n += a->type == type;
    }
    return n;
}

dm_action *dm_verdict_add_action(dm_verdict *v, dm_action_type type, const char *to,
                                 const char *party)
{
    dm_action *a;

    for (guint i = 0; i < v->actions->len; i++) {
        a = g_ptr_array_index(v->actions, i);
        if (a->type == type && g_ascii_strcasecmp(a->to, to) == 0)
            return a;
    }
    a = g_new0(dm_action, 1);
    a->type = type;
    a->to = g_ascii_strdown(to, -1);
    a->party = g_strdup(party);
    g_ptr_array_add(v->actions, a);
    return a;
}

void dm_verdict_to_json(const dm_verdict *v, GString *out)
{
    g_string_append(out, "{\"class\": ");
    if (v->reject)
        g_string_append(out, "null");
    else
        dm_json_string(out, dm_class_name(v->klass));
    g_string_append_printf(out, ", \"sekretess\": %s", v->sekretess ? "true" : "false");
    g_string_append(out, ", \"direction\": ");
    dm_json_string(out, dm_direction_name(v->direction));
    g_string_append(out, ", \"reject\": ");
    if (v->reject) {
        g_string_append(out, "{\"code\": ");
        dm_json_string(out, v->reject_code);
        g_string_append(out, ", \"xcode\": ");
        dm_json_string(out, v->reject_xcode);
        g_string_append(out, ", \"text\": ");
        dm_json_string(out, v->reject_text);
        g_string_append(out, "}");
    } else {
        g_string_append(out, "null");
    }
    g_string_append(out, ", \"case\": ");
    if (v->case_dnr != NULL)
        dm_json_string(out, v->case_dnr);
    else
        g_string_append(out, "null");
    g_string_append(out, ", \"myndighet\": ");
    if (v->myndighet != NULL)
        dm_json_string(out, v->myndighet);
    else
        g_string_append(out, "null");
    g_string_append(out, ", \"actions\": [");
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);

        g_string_append(out, i ? ", {\"type\": " : "{\"type\": ");
        dm_json_string(out, dm_action_type_name(a->type));
        g_string_append(out, ", \"to\": ");
        dm_json_string(out, a->to);
        if (a->party != NULL) {
            g_string_append(out, ", \"for\": ");
            dm_json_string(out, a->party);
        }
        g_string_append(out, "}");
    }
    g_string_append(out, "], \"reasons\": [");
    for (guint i = 0; i < v->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(v->reasons, i);

        g_string_append(out, i ? ", {\"rule\": " : "{\"rule\": ");
        dm_json_string(out, r->rule);
        g_string_append(out, ", \"text\": ");
        dm_json_string(out, r->text);
        g_string_append(out, "}");
    }
    g_string_append(out, "]}");
}
