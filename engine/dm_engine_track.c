/*
 * What a committed message means for notices and R15's questions:
 *
 *  - a notice that asks its person to forward the message to the
 *    registrator is recorded (to be answered, or reminded);
 *  - a message from that person to a registrator that is the message,
 *    attaches it, forwards it with its Message-ID or names it in
 *    In-Reply-To/References answers the notice;
 *  - an inbound message of class registreras or ringa from the public to
 *    a functional mailbox is a question (R15); an outbound reply naming
 *    it, or with its subject to its correspondent, answers it.
 *
 * Nothing of privat or parti mail is looked at.  The message is already
 * accepted and journaled when this runs: a failure here is logged, and
 * costs at most a reminder sent to someone who had answered, or a
 * question shown unanswered.
 */
#include <string.h>

#include "dm_engine.h"
#include "dm_log.h"

static bool dm_track_is_registrar(const dm_facts *f, size_t i)
{
    const dm_party *p = &f->rcpts[i];

    if (p->entry != NULL && (p->entry->roles & DM_ROLE_REGISTRATOR))
        return true;
    if (f->registrars != NULL)
        for (guint k = 0; k < f->registrars->items->len; k++) {
            const dm_registrar *r = g_ptr_array_index(f->registrars->items, k);
            if (r->mail != NULL && g_ascii_strcasecmp(r->mail, p->addr) == 0)
                return true;
        }
    return false;
}

/* Add each blank-separated Message-ID of list to ids. */
static void dm_track_add_ids(GPtrArray *ids, const char *list)
{
    char **v;

    if (list == NULL)
        return;
    v = g_strsplit_set(list, " \t\r\n", -1);
    for (char **p = v; *p != NULL; p++) {
        char *id = g_strdup(*p);
        size_t n;

        g_strstrip(id);
        n = strlen(id);
        if (n >= 2 && id[0] == '<' && id[n - 1] == '>') {
            memmove(id, id + 1, n);
            id[n - 2] = '\0';
        }
        if (*id != '\0' && ids->len < 64)
            g_ptr_array_add(ids, id);
        else
            g_free(id);
    }
    g_strfreev(v);
}

/* The Message-IDs a message to a registrator may carry of the one it
 * forwards: its own (a redirect), In-Reply-To, References,
 * X-Forwarded-Message-Id (Thunderbird), the attached messages', and
 * "Message-ID: <...>" in the text of an inline forward. */
static GPtrArray *dm_track_cited_ids(const dm_msg *msg)
{
    static GRegex *re;
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);

    if (g_once_init_enter(&re)) {
        GRegex *r = g_regex_new("message-id:[ \\t]*(<[^<>\\s]{1,250}>)",
                                G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&re, r);
    }
    dm_track_add_ids(ids, msg->message_id);
    dm_track_add_ids(ids, msg->in_reply_to);
    dm_track_add_ids(ids, msg->references);
    dm_track_add_ids(ids, dm_msg_header(msg, "X-Forwarded-Message-Id"));
    dm_track_add_ids(ids, msg->forwarded_ids);
    for (guint i = 0; msg->segments != NULL && i < msg->segments->len; i++) {
        const dm_segment *s = g_ptr_array_index(msg->segments, i);
        GMatchInfo *mi = NULL;

        if (s->text == NULL)
            continue;
        g_regex_match(re, s->text, 0, &mi);
        while (g_match_info_matches(mi) && ids->len < 64) {
            char *id = g_match_info_fetch(mi, 1);
            dm_track_add_ids(ids, id);
            g_free(id);
            g_match_info_next(mi, NULL);
        }
        g_match_info_free(mi);
    }
    return ids;
}

/* The notices this arrival sent that ask for an answer. */
static void dm_track_notices_sent(dm_store *st, const dm_msg *msg, const dm_verdict *v,
                                  const char *id, int64_t now)
{
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        const char *registrar = a->registrar;
        GError *err = NULL;

        if (a->type != DM_ACT_NOTICE || (a->notice != DM_NOTICE_REGISTER_INBOUND &&
                                         a->notice != DM_NOTICE_REGISTER_OUTBOUND))
            continue;
        for (guint k = 0; registrar == NULL && k < v->actions->len; k++) {
            const dm_action *c = g_ptr_array_index(v->actions, k);
            if (c->type == DM_ACT_COPY)
                registrar = c->to;
        }
        if (!dm_store_notice_add(st, id, now, a->to, msg->message_id, registrar, &err)) {
            dm_log(DM_LOG_ERR, "id=%s: the notice to %s is not recorded (no reminder will go, "
                               "no answer will be seen): %s",
                   id, a->to, err->message);
            g_error_free(err);
        }
    }
}

/* A message to a registrator from a person: the notices it answers. */
static void dm_track_notice_answers(dm_store *st, const dm_envelope *env, const dm_facts *f,
                                    const dm_msg *msg, const char *id, int64_t now)
{
    bool to_registrar = false;
    GPtrArray *ids;
    /* The person as the notice named them (where they read mail) and as
     * they send. */
    const dm_entry *se = f->sender.entry;
    const char *who[4] = {env->from, msg->from_addr, se != NULL ? se->mail : NULL,
                          se != NULL ? dm_entry_notice_address(se) : NULL};

    for (size_t i = 0; i < f->n_rcpts && !to_registrar; i++)
        to_registrar = dm_track_is_registrar(f, i);
    if (!to_registrar)
        return;
    ids = dm_track_cited_ids(msg);
    for (size_t w = 0; w < G_N_ELEMENTS(who); w++) {
        GError *err = NULL;
        unsigned n = 0;
        bool again = false;

        for (size_t k = 0; k < w && !again; k++)
            again = who[k] != NULL && who[w] != NULL && g_ascii_strcasecmp(who[k], who[w]) == 0;
        if (who[w] == NULL || *who[w] == '\0' || again)
            continue;
        if (!dm_store_notice_answer(st, who[w], (char *const *)ids->pdata, ids->len, id, now,
                                    &n, &err)) {
            dm_log(DM_LOG_ERR, "id=%s: cannot record the notices it answers: %s", id,
                   err->message);
            g_error_free(err);
        } else if (n > 0) {
            dm_log(DM_LOG_INFO, "id=%s: %u notice%s answered: forwarded to the registrator",
                   id, n, n == 1 ? "" : "s");
        }
    }
    g_ptr_array_free(ids, TRUE);
}

/* R15: an inbound question to functional mailboxes. */
static void dm_track_question(dm_store *st, const dm_envelope *env, const dm_facts *f,
                              const dm_msg *msg, const dm_verdict *v, const char *id,
                              int64_t now)
{
    const char *corr = msg->from_addr != NULL && *msg->from_addr != '\0' ? msg->from_addr
                                                                          : env->from;

    if (!dm_policy_is_question(f, msg, v) || corr == NULL || *corr == '\0')
        return;
    for (size_t i = 0; i < f->n_rcpts; i++) {
        const dm_party *p = &f->rcpts[i];
        GError *err = NULL;

        if (!dm_policy_question_to(p))
            continue;
        if (!dm_store_question_add(st, id, now, p->addr, msg->message_id, corr, msg->subject,
                                   &err)) {
            dm_log(DM_LOG_ERR, "id=%s: the question to %s is not recorded (R15): %s", id,
                   p->addr, err->message);
            g_error_free(err);
        }
    }
}

/* R15: an outbound reply. */
static void dm_track_reply(dm_store *st, const dm_facts *f, const dm_msg *msg,
                           const dm_verdict *v, const char *id, int64_t now)
{
    GPtrArray *ids, *corr;
    GError *err = NULL;
    unsigned n = 0;

    if (!dm_policy_may_answer(msg, v))
        return;
    ids = g_ptr_array_new_with_free_func(g_free);
    dm_track_add_ids(ids, msg->in_reply_to);
    dm_track_add_ids(ids, msg->references);
    corr = g_ptr_array_new();
    for (size_t i = 0; i < f->n_rcpts; i++)
        if (f->rcpts[i].entry == NULL)
            g_ptr_array_add(corr, f->rcpts[i].addr);
    if (!dm_store_question_answer(st, (char *const *)ids->pdata, ids->len, msg->subject,
                                  (char *const *)corr->pdata, corr->len, id, now, &n, &err)) {
        dm_log(DM_LOG_ERR, "id=%s: cannot record the questions it answers (R15): %s", id,
               err->message);
        g_error_free(err);
    } else if (n > 0) {
        dm_log(DM_LOG_INFO, "id=%s: answers %u question%s (R15)", id, n, n == 1 ? "" : "s");
    }
    g_ptr_array_free(ids, TRUE);
    g_ptr_array_free(corr, TRUE);
}

void dm_engine_track(dm_store *st, const dm_envelope *env, const dm_facts *f,
                     const dm_msg *msg, const dm_verdict *v, const char *id, int64_t now,
                     bool repeat)
{
    if (st == NULL || msg == NULL || !dm_policy_tracks(v))
        return;
    dm_track_notices_sent(st, msg, v, id, now);
    if (f == NULL || f->rcpts == NULL)
        return;
    dm_track_notice_answers(st, env, f, msg, id, now);
    if (!repeat)
        dm_track_question(st, env, f, msg, v, id, now);
    dm_track_reply(st, f, msg, v, id, now);
}
