/*
 * R13's recommendation, made a reminder: an automatic reply leaving the
 * municipality should name someone else to contact.  "Someone else" is an
 * e-mail address or a telephone number that is not the sender's own; the
 * addresses of the people the reply answers (quoted back in many replies)
 * are not contacts either.
 */
#include <string.h>

#include "dm_policy_int.h"
#include "dm_util.h"

/* The patterns are the same for every site: compiled once per process. */
static GRegex *dm_re_email, *dm_re_phone;

static void dm_autoreply_regex_init(void)
{
    static gsize done = 0;

    if (g_once_init_enter(&done)) {
        dm_re_email = g_regex_new("[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*"
                                  "\\.[A-Za-z]{2,}",
                                  G_REGEX_OPTIMIZE, 0, NULL);
        /* A telephone number starts with 0 (Swedish trunk prefix) or an
         * international prefix, and is groups of digits separated by a
         * blank or a hyphen: "08-123 456 78", "070-123 45 67",
         * "+46 70 123 45 67".  Dates ("2026-12-01") start with 1 or 2. */
        dm_re_phone = g_regex_new("(?<![\\d.,/-])(?:\\+\\d{1,3}[ -]?(?:\\(0\\)[ -]?)?|00\\d{1,3}"
                                  "[ -]?|0)\\d{1,4}(?:[ -]?\\d{1,4}){1,5}(?![\\d,/])",
                                  G_REGEX_OPTIMIZE, 0, NULL);
        g_once_init_leave(&done, 1);
    }
}

static bool dm_addr_is_own(const dm_facts *f, const char *addr)
{
    const dm_entry *s = f->sender.entry;

    if (s->mail != NULL && g_ascii_strcasecmp(addr, s->mail) == 0)
        return true;
    if (s->routing != NULL && g_ascii_strcasecmp(addr, s->routing) == 0)
        return true;
    for (char **m = s->private_mail; m != NULL && *m != NULL; m++)
        if (g_ascii_strcasecmp(addr, *m) == 0)
            return true;
    if (f->env_from != NULL && g_ascii_strcasecmp(addr, f->env_from) == 0)
        return true;
    if (f->msg != NULL && f->msg->from_addr != NULL &&
        g_ascii_strcasecmp(addr, f->msg->from_addr) == 0)
        return true;
    /* Whom the reply answers is not a contact it offers. */
    for (size_t i = 0; i < f->n_rcpts; i++)
        if (g_ascii_strcasecmp(addr, f->rcpts[i].addr) == 0)
            return true;
    return false;
}

bool dm_autoreply_names_contact(const dm_facts *f, char **what)
{
    const char *text = f->msg->text->str;
    GMatchInfo *mi = NULL;
    bool found = false;

    dm_autoreply_regex_init();
    *what = NULL;
    g_regex_match(dm_re_email, text, 0, &mi);
    while (!found && g_match_info_matches(mi)) {
        char *addr = g_match_info_fetch(mi, 0);
        if (!dm_addr_is_own(f, addr)) {
            found = true;
            *what = addr;
        } else {
            g_free(addr);
            g_match_info_next(mi, NULL);
        }
    }
    g_match_info_free(mi);
    if (found)
        return true;
    g_regex_match(dm_re_phone, text, 0, &mi);
    while (!found && g_match_info_matches(mi)) {
        char *num = g_match_info_fetch(mi, 0);
        unsigned digits = 0;

        for (const char *c = num; *c; c++)
            digits += g_ascii_isdigit(*c) ? 1 : 0;
        /* Swedish numbers have 7 to 10 digits after the trunk 0;
         * international ones at most 15 (E.164). */
        if (digits >= 7 && digits <= 15) {
            found = true;
            *what = num;
        } else {
            g_free(num);
            g_match_info_next(mi, NULL);
        }
    }
    g_match_info_free(mi);
    return found;
}

void dm_autoreply_actions(const dm_policy *p, const dm_facts *f, dm_verdict *v)
{
    const dm_entry *s = f->sender.entry;
    char *what = NULL;

    if (f->msg == NULL || !f->msg->auto_reply || !dm_entry_is_person(s))
        return;
    /* Only the municipality's own replies, leaving from its own people. */
    if (f->auth == NULL && !f->from_internal_network)
        return;
    if (dm_autoreply_names_contact(f, &what)) {
        dm_reasons_add(v, p->reasons, "R13", DM_R_AUTOREPLY_CONTACT, "contact", what, NULL);
        g_free(what);
        return;
    }
    {
        dm_action *a = dm_verdict_add_action(v, DM_ACT_AUTOREPLY_REMINDER,
                                             dm_entry_notice_address(s), s->mail);
        a->notice = DM_NOTICE_AUTOREPLY;
        if (a->party_name == NULL)
            a->party_name = g_strdup(s->name);
    }
    dm_reasons_add(v, p->reasons, "R13", DM_R_AUTOREPLY_REMINDER, "sender", s->mail, NULL);
}
