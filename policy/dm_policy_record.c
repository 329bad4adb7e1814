/*
 * What the rules need kept across messages, and what of a verdict may be
 * carried out: the questions the engine and the milter ask rather than
 * answer themselves.
 *
 *  - which actions may leave for privat and parti mail (one filter, asked
 *    by the spool, the journal and the milter's added recipients), and
 *    what of such a message its journal row may keep;
 *  - R14's window: when its count is needed, whose recipients join it;
 *  - R12, R13: absence learnt from automatic replies;
 *  - notices owed once a period, and the reasons when one was sent
 *    already or an earlier arrival of the same message owed it.
 *
 * Pure like the rest of policy/: the engine reads and writes the store,
 * and gives what it read.
 */
#include <string.h>

#include "dm_policy_int.h"
#include "dm_util.h"

bool dm_policy_action_owed(const dm_verdict *v, const dm_action *a)
{
    /* Private and party mail: only the notice that asks its own
     * recipient to judge a doubtful message; never a copy, a forward or
     * anything to a third party. */
    if (dm_class_is_private(v->klass))
        return a->type == DM_ACT_NOTICE && a->notice == DM_NOTICE_JUDGE_PRIVATE;
    return true;
}

bool dm_policy_action_once(const dm_action *a)
{
    return a->type == DM_ACT_MANAGER_NOTICE || a->type == DM_ACT_AUTOREPLY_REMINDER;
}

bool dm_policy_action_private(const dm_verdict *v, const dm_action *a)
{
    return dm_class_is_private(v->klass) ||
           (a->type == DM_ACT_NOTICE && a->notice == DM_NOTICE_JUDGE_PRIVATE);
}

bool dm_policy_journal_keeps(const dm_verdict *v)
{
    /* Privacy: nothing of privat or parti mail but that it was seen.  A
     * rejection was not classified for its content: it keeps its row. */
    return v->reject || !dm_class_is_private(v->klass);
}

bool dm_policy_matches_repeats(const dm_verdict *v)
{
    return !v->reject && !dm_class_is_private(v->klass);
}

bool dm_policy_tracks(const dm_verdict *v)
{
    return !v->reject && !dm_class_is_private(v->klass);
}

/* --- R15's questions ------------------------------------------------------- */

bool dm_policy_is_question(const dm_facts *f, const dm_msg *m, const dm_verdict *v)
{
    return dm_policy_tracks(v) && v->direction == DM_DIR_INBOUND && f->sender.entry == NULL &&
           (v->klass == DM_CLASS_REGISTRERAS || v->klass == DM_CLASS_RINGA) && !m->auto_reply &&
           !m->report;
}

bool dm_policy_question_to(const dm_party *p)
{
    return p->entry != NULL && (p->entry->roles & DM_ROLE_FUNKTIONSBREVLADA);
}

bool dm_policy_may_answer(const dm_msg *m, const dm_verdict *v)
{
    return dm_policy_tracks(v) && v->direction == DM_DIR_OUTBOUND && !m->auto_reply;
}

/* --- R14's window ---------------------------------------------------------- */

static void dm_policy_window(const dm_policy *p, const dm_facts *f, int64_t now,
                             dm_mass_window *w)
{
    w->sender = dm_policy_mass_sender(f);
    w->since = now - p->mass_window;
}

bool dm_policy_needs_window(const dm_policy *p, const dm_facts *f, dm_mass_window *w)
{
    /* Beyond mass_recipients the message is a mass mailing on its own. */
    if (p->mass_window <= 0 || !dm_policy_mass_applies(f) ||
        (int)f->n_rcpts >= p->mass_recipients)
        return false;
    dm_policy_window(p, f, f->now, w);
    return true;
}

bool dm_policy_joins_window(const dm_policy *p, const dm_facts *f, const dm_verdict *v,
                            int64_t now, dm_mass_window *w)
{
    if (v->reject || p->mass_window <= 0 || !dm_policy_mass_applies(f))
        return false;
    dm_policy_window(p, f, now, w);
    return true;
}

/* --- R12, R13: absence from automatic replies ------------------------------ */

bool dm_policy_needs_autoreply(const dm_policy *p, const dm_entry *e)
{
    return p->autoreply_absence > 0 && dm_entry_is_person(e) && e->mail != NULL;
}

bool dm_policy_autoreply_absent(const dm_policy *p, int64_t last, int64_t now)
{
    return last > 0 && last <= now && last >= now - p->autoreply_absence;
}

bool dm_policy_marks_absent(const dm_policy *p, const dm_facts *f, const dm_msg *m,
                            int64_t now, const char **person, int64_t *since)
{
    const dm_entry *s = f->sender.entry;

    /* Only the municipality's own replies, leaving from its own people. */
    if (m == NULL || !m->auto_reply || p->autoreply_absence <= 0 || !dm_entry_is_person(s) ||
        s->mail == NULL || (f->auth == NULL && !f->from_internal_network))
        return false;
    *person = s->mail;
    *since = now - p->autoreply_absence;
    return true;
}

/* --- notices owed once a period ------------------------------------------- */

static char *dm_policy_day(int64_t now)
{
    GDateTime *t = g_date_time_new_from_unix_local(now);
    char *day = g_date_time_format(t, "%F");

    g_date_time_unref(t);
    return day;
}

/* Is the directory's absence of s covering now? */
static bool dm_policy_directory_absent(const dm_entry *s, int64_t now)
{
    return s != NULL && s->absent_from > 0 && s->absent_from <= now &&
           (s->absent_until == 0 || now <= s->absent_until);
}

const char *dm_policy_once_run_of(const dm_policy *p, const dm_facts *f, const dm_action *a,
                                  int64_t now)
{
    if (a->type != DM_ACT_AUTOREPLY_REMINDER || p->autoreply_absence <= 0 ||
        dm_policy_directory_absent(f->sender.entry, now))
        return NULL;
    return a->party;
}

char *dm_policy_once_key(const dm_policy *p, const dm_facts *f, const dm_action *a, int64_t now,
                         int64_t first, int64_t last)
{
    if (!dm_policy_action_once(a))
        return NULL;
    if (a->type == DM_ACT_MANAGER_NOTICE) {
        /* R12: the manager is told once a day per absent person. */
        char *day = dm_policy_day(now);
        char *key = g_strdup_printf("manager|%s|%s|%s", a->party, a->to, day);

        g_free(day);
        return key;
    }
    {
        /* R13: one reminder per absence.  The absence is the directory's
         * when its dates cover now, else the run of auto-replies this one
         * continues or begins. */
        const dm_entry *s = f->sender.entry;
        int64_t period = now;

        if (dm_policy_directory_absent(s, now))
            return g_strdup_printf("autoreply|%s|dir:%" G_GINT64_FORMAT, a->party,
                                   s->absent_from);
        if (p->autoreply_absence <= 0) {
            /* No absence is kept from auto-replies: once a day then. */
            char *day = dm_policy_day(now);
            char *key = g_strdup_printf("autoreply|%s|day:%s", a->party, day);

            g_free(day);
            return key;
        }
        if (last > 0 && last >= now - p->autoreply_absence)
            period = first;
        return g_strdup_printf("autoreply|%s|%" G_GINT64_FORMAT, a->party, period);
    }
}

void dm_policy_once_sent(const dm_policy *p, dm_verdict *v, guint index)
{
    const dm_action *a = g_ptr_array_index(v->actions, index);

    if (a->type == DM_ACT_MANAGER_NOTICE)
        dm_reasons_add(v, p->reasons, "R12", DM_R_ONCE_MANAGER, "manager", a->to, "party",
                       a->party, NULL);
    else
        dm_reasons_add(v, p->reasons, "R13", DM_R_ONCE_REMINDER, "party", a->party, NULL);
    g_ptr_array_remove_index(v->actions, index);
}

void dm_policy_owed_sent(const dm_policy *p, dm_verdict *v, guint index, const char *row)
{
    const dm_action *a = g_ptr_array_index(v->actions, index);

    dm_reasons_add(v, p->reasons, "duplicate",
                   a->type == DM_ACT_COPY ? DM_R_DUPLICATE_COPY : DM_R_DUPLICATE_NOTICE, "to",
                   a->to, "row", row, NULL);
    g_ptr_array_remove_index(v->actions, index);
}

void dm_policy_duplicate(const dm_policy *p, dm_verdict *v, const char *row)
{
    dm_reasons_add(v, p->reasons, "duplicate", DM_R_DUPLICATE, "row", row, NULL);
}

/* --- what reading could not see ------------------------------------------- */

/* An attachment whose text was not (all) read: a reason naming it, so
 * that the registrator knows what the decision could not see. */
static void dm_policy_attachment_reasons(const dm_policy *p, const dm_msg *m, dm_verdict *v)
{
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);
        dm_reason_id id;
        char *file;

        switch (a->status) {
        case DM_ATT_NO_TEXT: id = DM_R_ATTACHMENT_NO_TEXT; break;
        case DM_ATT_ENCRYPTED: id = DM_R_ATTACHMENT_ENCRYPTED; break;
        case DM_ATT_FAILED: id = DM_R_ATTACHMENT_FAILED; break;
        case DM_ATT_TIMEOUT: id = DM_R_ATTACHMENT_TIMEOUT; break;
        case DM_ATT_LIMIT: id = DM_R_ATTACHMENT_LIMIT; break;
        case DM_ATT_READ:
            if (!a->cut)
                continue;
            id = DM_R_ATTACHMENT_CUT;
            break;
        default:
            continue;
        }
        /* The sender's file name, for people: no control or bidi
         * characters raw (dm_text_escape). */
        file = dm_text_escaped(a->filename != NULL && *a->filename != '\0' ? a->filename
                                                                           : a->content_type);
        dm_reasons_add(v, p->reasons, "bilaga", id, "file", file, NULL);
        g_free(file);
    }
}

void dm_policy_limit_reasons(const dm_policy *p, const dm_msg *m, dm_verdict *v)
{
    static const struct {
        const char *limit;
        dm_reason_id id;
    } ids[] = {
        {"max_text", DM_R_LIMIT_MAX_TEXT},
        {"max_parts", DM_R_LIMIT_MAX_PARTS},
        {"max_depth", DM_R_LIMIT_MAX_DEPTH},
        {"max_headers", DM_R_LIMIT_MAX_HEADERS},
        {"max_header_size", DM_R_LIMIT_MAX_HEADER_SIZE},
        {"encrypted", DM_R_LIMIT_ENCRYPTED},
        {"unparsable", DM_R_LIMIT_UNPARSABLE},
    };

    for (guint i = 0; i < m->limits->len; i++) {
        const char *what = g_ptr_array_index(m->limits, i);
        size_t k = 0;

        while (k < G_N_ELEMENTS(ids) && strcmp(ids[k].limit, what) != 0)
            k++;
        if (k < G_N_ELEMENTS(ids))
            dm_reasons_add(v, p->reasons, "limit", ids[k].id, NULL);
        else
            dm_verdict_add_reason(v, "limit", "%s", what);
    }
    dm_policy_attachment_reasons(p, m, v);
}
