#include "dm_facts.h"

#include <string.h>

static const struct {
    const char *name;
    dm_role role;
} dm_role_names[] = {
    {"fortroendevald", DM_ROLE_FORTROENDEVALD},
    {"tjansteman", DM_ROLE_TJANSTEMAN},
    {"registrator", DM_ROLE_REGISTRATOR},
    {"funktionsbrevlada", DM_ROLE_FUNKTIONSBREVLADA},
    {"forvaltningsbrevlada", DM_ROLE_FORVALTNINGSBREVLADA},
    {"lista", DM_ROLE_LISTA},
};

unsigned dm_role_from_name(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_role_names); i++) {
        if (g_ascii_strcasecmp(name, dm_role_names[i].name) == 0)
            return dm_role_names[i].role;
    }
    return 0;
}

dm_entry *dm_entry_new(void)
{
    dm_entry *e = g_new0(dm_entry, 1);

    e->refcount = 1;
    return e;
}

dm_entry *dm_entry_ref(dm_entry *e)
{
    if (e != NULL)
        g_atomic_int_inc(&e->refcount);
    return e;
}

void dm_entry_unref(dm_entry *e)
{
    if (e == NULL || !g_atomic_int_dec_and_test(&e->refcount))
        return;
    g_free(e->dn);
    g_free(e->name);
    g_free(e->login);
    g_free(e->mail);
    g_strfreev(e->private_mail);
    g_free(e->routing);
    g_strfreev(e->myndigheter);
    g_free(e->delegate_dn);
    g_free(e->delegate_mail);
    g_free(e->manager_dn);
    g_free(e->manager_mail);
    g_free(e);
}

bool dm_entry_is_list(const dm_entry *e)
{
    return e != NULL && (e->roles & DM_ROLE_LISTA) != 0;
}

bool dm_entry_is_mailbox(const dm_entry *e)
{
    return e != NULL && !dm_entry_is_list(e) && (e->roles & DM_ROLE_MAILBOX) != 0;
}

bool dm_entry_is_person(const dm_entry *e)
{
    return e != NULL && !dm_entry_is_list(e) && !dm_entry_is_mailbox(e);
}

bool dm_entry_is_politician(const dm_entry *e)
{
    return dm_entry_is_person(e) && (e->roles & DM_ROLE_FORTROENDEVALD) != 0;
}

bool dm_entry_in_myndighet(const dm_entry *e, const char *myndighet)
{
    if (e == NULL || e->myndigheter == NULL || myndighet == NULL)
        return false;
    for (char **m = e->myndigheter; *m != NULL; m++) {
        if (g_ascii_strcasecmp(*m, myndighet) == 0)
            return true;
    }
    return false;
}

const char *dm_entry_notice_address(const dm_entry *e)
{
    if (e->routing != NULL && *e->routing != '\0')
        return e->routing;
    return e->mail;
}

dm_registrars *dm_registrars_new(void)
{
    dm_registrars *r = g_new0(dm_registrars, 1);

    r->refcount = 1;
    r->items = g_ptr_array_new();
    return r;
}

void dm_registrars_add(dm_registrars *r, const char *mail, char **myndigheter)
{
    dm_registrar *reg = g_new0(dm_registrar, 1);

    reg->mail = g_ascii_strdown(mail, -1);
    reg->myndigheter = g_strdupv(myndigheter);
    g_ptr_array_add(r->items, reg);
}

dm_registrars *dm_registrars_ref(dm_registrars *r)
{
    if (r != NULL)
        g_atomic_int_inc(&r->refcount);
    return r;
}

void dm_registrars_unref(dm_registrars *r)
{
    if (r == NULL || !g_atomic_int_dec_and_test(&r->refcount))
        return;
    for (guint i = 0; i < r->items->len; i++) {
        dm_registrar *reg = g_ptr_array_index(r->items, i);
        g_free(reg->mail);
        g_strfreev(reg->myndigheter);
        g_free(reg);
    }
    g_ptr_array_free(r->items, TRUE);
    g_free(r);
}

const char *dm_registrars_for(const dm_registrars *r, const char *myndighet)
{
    if (r == NULL || myndighet == NULL)
        return NULL;
    for (guint i = 0; i < r->items->len; i++) {
        const dm_registrar *reg = g_ptr_array_index(r->items, i);
        for (char **m = reg->myndigheter; m != NULL && *m != NULL; m++) {
            if (g_ascii_strcasecmp(*m, myndighet) == 0)
                return reg->mail;
        }
    }
    return NULL;
}

static void dm_header_free(gpointer p)
{
    dm_header *h = p;

    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

static void dm_attachment_free(gpointer p)
{
    dm_attachment *a = p;

    g_free(a->filename);
    g_free(a->content_type);
    g_free(a->format);
    g_free(a->text);
    g_free(a);
}

const char *dm_seg_kind_name(dm_seg_kind kind)
{
    static const char *const names[DM_SEG_KINDS] = {
        [DM_SEG_SUBJECT] = "subject",
        [DM_SEG_BODY] = "body",
        [DM_SEG_QUOTED] = "quoted",
        [DM_SEG_FORWARDED] = "forwarded",
        [DM_SEG_SIGNATURE] = "signature",
        [DM_SEG_FOOTER] = "footer",
        [DM_SEG_ATTACHMENT_NAME] = "attachment-name",
        [DM_SEG_ATTACHMENT] = "attachment",
        [DM_SEG_CALENDAR] = "calendar",
    };

    return (unsigned)kind < DM_SEG_KINDS ? names[kind] : "?";
}

dm_segment *dm_segment_new(dm_seg_kind kind, const char *text, gssize len)
{
    dm_segment *s = g_new0(dm_segment, 1);

    s->kind = kind;
    s->len = len < 0 ? strlen(text) : (size_t)len;
    s->text = g_strndup(text, s->len);
    return s;
}

void dm_segment_free(dm_segment *s)
{
    if (s == NULL)
        return;
    g_free(s->text);
    g_free(s->source);
    g_free(s);
}

static void dm_segment_free_p(gpointer p)
{
    dm_segment_free(p);
}

const char *dm_att_status_name(dm_att_status s)
{
    switch (s) {
    case DM_ATT_NOT_TRIED: return "not tried";
    case DM_ATT_READ: return "read";
    case DM_ATT_NO_TEXT: return "no text";
    case DM_ATT_ENCRYPTED: return "encrypted";
    case DM_ATT_UNSUPPORTED: return "not a readable type";
    case DM_ATT_FAILED: return "failed";
    case DM_ATT_TIMEOUT: return "timeout";
    case DM_ATT_LIMIT: return "limit";
    }
    return "?";
}

dm_msg *dm_msg_new(void)
{
    dm_msg *m = g_new0(dm_msg, 1);

    m->subject = g_strdup("");
    m->from_addr = g_strdup("");
    m->from_display = g_strdup("");
    m->message_id = g_strdup("");
    m->text = g_string_new(NULL);
    m->segments = g_ptr_array_new_with_free_func(dm_segment_free_p);
    m->headers = g_ptr_array_new_with_free_func(dm_header_free);
    m->attachments = g_ptr_array_new_with_free_func(dm_attachment_free);
    m->limits = g_ptr_array_new_with_free_func(g_free);
    return m;
}

void dm_msg_free(dm_msg *m)
{
    if (m == NULL)
        return;
    g_free(m->subject);
    g_free(m->from_addr);
    g_free(m->from_display);
    g_free(m->message_id);
    g_free(m->date);
    g_free(m->in_reply_to);
    g_free(m->references);
    g_free(m->forwarded_ids);
    g_string_free(m->text, TRUE);
    g_ptr_array_free(m->segments, TRUE);
    g_ptr_array_free(m->headers, TRUE);
    g_ptr_array_free(m->attachments, TRUE);
    g_ptr_array_free(m->limits, TRUE);
    g_free(m->auto_submitted);
    g_free(m->list_id);
    g_free(m->report_type);
    g_free(m->spam_header);
    g_free(m);
}

const char *dm_msg_header(const dm_msg *m, const char *name)
{
    for (guint i = 0; i < m->headers->len; i++) {
        const dm_header *h = g_ptr_array_index(m->headers, i);
        if (g_ascii_strcasecmp(h->name, name) == 0)
            return h->value;
    }
    return NULL;
}
