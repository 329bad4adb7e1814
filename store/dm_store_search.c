/*
 * "diariectl journal search": the rows that match, oldest first.  The
 * backend selects by time and class (and may narrow by address); what
 * matches an address or a case, and what a privat, parti or pruned row
 * shows (its time, class and id only), is decided here.
 */
#include <string.h>

#include "dm_store_int.h"

void dm_journal_row_free(dm_journal_row *r)
{
    if (r == NULL)
        return;
    g_free(r->id);
    g_free(r->gateway);
    g_free(r->klass);
    g_free(r->queue_id);
    g_free(r->message_id);
    g_free(r->direction);
    g_free(r->sender);
    g_free(r->recipients);
    g_free(r->subject);
    g_free(r->case_dnr);
    g_free(r->reasons);
    g_free(r->actions);
    g_free(r->hash);
    g_free(r);
}

/* "BN  2026/45" and "bn 2026/45" are the same case. */
static char *dm_journal_norm_dnr(const char *s)
{
    GString *o = g_string_new(NULL);
    bool blank = false;

    for (const char *p = s; *p != '\0'; p++) {
        if (g_ascii_isspace(*p)) {
            blank = o->len > 0;
            continue;
        }
        if (blank)
            g_string_append_c(o, ' ');
        blank = false;
        g_string_append_c(o, g_ascii_toupper(*p));
    }
    return g_string_free(o, FALSE);
}

static bool dm_journal_same_dnr(const char *row_dnr, const char *want)
{
    char *d;
    bool same;

    if (row_dnr == NULL)
        return false;
    d = dm_journal_norm_dnr(row_dnr);
    same = strcmp(d, want) == 0;
    g_free(d);
    return same;
}

/* Is addr (normalized) the sender, a recipient, or an action's address? */
static bool dm_journal_row_has_address(const dm_journal_row *r, const char *addr)
{
    bool found = false;

    if (r->sender != NULL && g_ascii_strcasecmp(r->sender, addr) == 0)
        return true;
    if (r->recipients != NULL) {
        char **list = g_strsplit(r->recipients, ",", -1);
        for (char **a = list; *a != NULL && !found; a++)
            found = g_ascii_strcasecmp(g_strstrip(*a), addr) == 0;
        g_strfreev(list);
    }
    if (!found && r->actions != NULL) {
        /* The addresses stand in the JSON as "to": "addr". */
        char *low = g_ascii_strdown(r->actions, -1);
        char *needle = g_strdup_printf("\"to\": \"%s\"", addr);
        found = strstr(low, needle) != NULL;
        g_free(needle);
        g_free(low);
    }
    return found;
}

/* A row written bare (privat or parti: dm_journal_entry.keep_all was
 * false), or a pruned one, shows its time, class and id only, whatever
 * its backend returned.  Which rows were written bare is read from the
 * row itself, not judged again from its class: every row written whole
 * names its direction, a bare one never does. */
static void dm_journal_row_hide(dm_journal_row *r)
{
    r->private_row = !r->pruned && r->direction == NULL;
    if (!r->pruned && !r->private_row)
        return;
    g_clear_pointer(&r->queue_id, g_free);
    g_clear_pointer(&r->message_id, g_free);
    g_clear_pointer(&r->direction, g_free);
    g_clear_pointer(&r->sender, g_free);
    g_clear_pointer(&r->recipients, g_free);
    g_clear_pointer(&r->subject, g_free);
    g_clear_pointer(&r->case_dnr, g_free);
    g_clear_pointer(&r->reasons, g_free);
    g_clear_pointer(&r->actions, g_free);
    g_clear_pointer(&r->hash, g_free);
}

typedef struct dm_journal_search_state {
    const dm_journal_query *q; /* address lowercased, case normalized */
    GPtrArray *out;
} dm_journal_search_state;

static bool dm_journal_search_row(dm_journal_row *r, void *data)
{
    dm_journal_search_state *st = data;
    const dm_journal_query *q = st->q;

    dm_journal_row_hide(r);
    if ((q->address != NULL && !dm_journal_row_has_address(r, q->address)) ||
        (q->case_dnr != NULL && !dm_journal_same_dnr(r->case_dnr, q->case_dnr))) {
        dm_journal_row_free(r);
        return true;
    }
    g_ptr_array_add(st->out, r);
    return q->limit == 0 || st->out->len < q->limit;
}

GPtrArray *dm_store_journal_search(dm_store *s, const dm_journal_query *q, GError **err)
{
    dm_journal_query nq = *q;
    dm_journal_search_state st = {.q = &nq};
    char *addr = q->address != NULL && *q->address != '\0' ? g_ascii_strdown(q->address, -1)
                                                           : NULL;
    char *dnr = q->case_dnr != NULL && *q->case_dnr != '\0' ? dm_journal_norm_dnr(q->case_dnr)
                                                            : NULL;

    nq.address = addr;
    nq.case_dnr = dnr;
    if (nq.klass != NULL && *nq.klass == '\0')
        nq.klass = NULL;
    st.out = g_ptr_array_new_with_free_func((GDestroyNotify)dm_journal_row_free);
    if (!s->ops->journal_search(s, &nq, dm_journal_search_row, &st, err)) {
        g_ptr_array_free(st.out, TRUE);
        st.out = NULL;
    }
    g_free(addr);
    g_free(dnr);
    return st.out;
}
