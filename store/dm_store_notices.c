/*
 * Notices that ask for an answer, and R15's questions to functional
 * mailboxes: what is kept of them (keyed hashes, ids, times) is decided
 * here; the backends keep and find rows (dm_store_ops).
 */
#include <string.h>

#include "dm_store_int.h"

/* A backend that does not keep them yet says so rather than crash. */
static bool dm_store_supports(dm_store *s, const void *op, GError **err)
{
    if (op != NULL)
        return true;
    g_set_error(err, DM_STORE_ERROR, 0, "%s: the %s backend does not keep notices and "
                "questions", s->name, s->ops->name);
    return false;
}

void dm_store_person_key(dm_store *s, const char *addr, char out[65])
{
    char *lower = g_utf8_strdown(addr != NULL ? addr : "", -1);

    dm_store_counter_hash(s, "notice-person", lower, out);
    g_free(lower);
}

/* A Message-ID as the key: without <> and blanks. */
static char *dm_store_msg_key(dm_store *s, const char *message_id)
{
    char out[65];
    char *id = g_strdup(message_id != NULL ? message_id : "");

    g_strstrip(id);
    if (id[0] == '<' && id[strlen(id) - 1] == '>') {
        memmove(id, id + 1, strlen(id));
        id[strlen(id) - 1] = '\0';
    }
    if (*id == '\0') {
        g_free(id);
        return NULL;
    }
    dm_store_counter_hash(s, "message-id", id, out);
    g_free(id);
    return g_strdup(out);
}

/* The distinct keys of the non-empty ids. */
static GPtrArray *dm_store_msg_keys(dm_store *s, char *const *ids, size_t n)
{
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);

    for (size_t i = 0; i < n; i++) {
        char *k = dm_store_msg_key(s, ids[i]);
        bool dup = false;

        if (k == NULL)
            continue;
        for (guint j = 0; j < keys->len && !dup; j++)
            dup = strcmp(g_ptr_array_index(keys, j), k) == 0;
        if (dup)
            g_free(k);
        else
            g_ptr_array_add(keys, k);
    }
    g_ptr_array_add(keys, NULL);
    return keys;
}

bool dm_store_notice_add(dm_store *s, const char *id, int64_t time, const char *person,
                         const char *message_id, const char *registrar, GError **err)
{
    char pkey[65];
    char *mkey;
    bool ok;

    if (!dm_store_supports(s, (const void *)s->ops->notice_add, err))
        return false;
    dm_store_person_key(s, person, pkey);
    mkey = dm_store_msg_key(s, message_id);
    ok = s->ops->notice_add(s, id, time, pkey, mkey != NULL ? mkey : "", registrar, err);
    g_free(mkey);
    return ok;
}

bool dm_store_notice_answer(dm_store *s, const char *person, char *const *message_ids,
                            size_t n_ids, const char *answer_id, int64_t now, unsigned *n,
                            GError **err)
{
    char pkey[65];
    GPtrArray *keys;
    unsigned got = 0;
    bool ok = true;

    if (n != NULL)
        *n = 0;
    if (!dm_store_supports(s, (const void *)s->ops->notice_answer, err))
        return false;
    keys = dm_store_msg_keys(s, message_ids, n_ids);
    dm_store_person_key(s, person, pkey);
    if (keys->len > 1)
        ok = s->ops->notice_answer(s, pkey, (char *const *)keys->pdata, keys->len - 1,
                                   answer_id, now, &got, err);
    g_ptr_array_free(keys, TRUE);
    if (n != NULL)
        *n = got;
    return ok;
}

void dm_notice_row_free(dm_notice_row *r)
{
    if (r == NULL)
        return;
    g_free(r->id);
    g_free(r->person_key);
    g_free(r->registrar);
    g_free(r->answer_id);
    g_free(r);
}

static bool dm_store_collect_notice(dm_notice_row *row, void *data)
{
    g_ptr_array_add(data, row);
    return true;
}

static bool dm_store_collect_question(dm_question_row *row, void *data)
{
    g_ptr_array_add(data, row);
    return true;
}

GPtrArray *dm_store_notice_list(dm_store *s, int64_t since, GError **err)
{
    GPtrArray *rows;

    if (!dm_store_supports(s, (const void *)s->ops->notice_each, err))
        return NULL;
    rows = g_ptr_array_new_with_free_func((GDestroyNotify)dm_notice_row_free);
    if (!s->ops->notice_each(s, since, dm_store_collect_notice, rows, err)) {
        g_ptr_array_free(rows, TRUE);
        return NULL;
    }
    return rows;
}

bool dm_store_notice_remind(dm_store *s, const char *id, const char *person_key, int64_t now,
                            bool *claimed, GError **err)
{
    *claimed = false;
    if (!dm_store_supports(s, (const void *)s->ops->notice_remind, err))
        return false;
    return s->ops->notice_remind(s, id, person_key, now, claimed, err);
}

char *dm_store_subject_thread(const char *subject)
{
    static const char *const prefixes[] = {"re", "sv", "aw", "fw", "fwd", "vb", "vs", "wg",
                                           "tr", NULL};
    char *folded = g_utf8_casefold(subject != NULL ? subject : "", -1);
    GString *out = g_string_new(NULL);
    const char *p = folded;
    bool again = true;

    while (again) {
        again = false;
        while (*p == ' ' || *p == '\t')
            p++;
        for (int i = 0; prefixes[i] != NULL; i++) {
            size_t l = strlen(prefixes[i]);
            const char *q = p + l;

            if (strncmp(p, prefixes[i], l) != 0)
                continue;
            /* "Re:", "Re[2]:", "SV :" */
            if (*q == '[') {
                while (g_ascii_isdigit(q[1]))
                    q++;
                q = q[1] == ']' ? q + 2 : p + l;
            }
            while (*q == ' ')
                q++;
            if (*q == ':') {
                p = q + 1;
                again = true;
                break;
            }
        }
    }
    /* Blanks folded to one, none at either end. */
    for (; *p != '\0'; p++) {
        if (g_ascii_isspace(*p)) {
            if (out->len > 0 && out->str[out->len - 1] != ' ')
                g_string_append_c(out, ' ');
        } else {
            g_string_append_c(out, *p);
        }
    }
    if (out->len > 0 && out->str[out->len - 1] == ' ')
        g_string_truncate(out, out->len - 1);
    g_free(folded);
    return g_string_free(out, FALSE);
}

/* The key of a subject with one correspondent; NULL for an empty subject
 * (an empty subject tells no thread apart). */
static char *dm_store_thread_key(dm_store *s, const char *subject, const char *correspondent)
{
    char *thread = dm_store_subject_thread(subject), *lower, *seed;
    char out[65];

    if (*thread == '\0' || correspondent == NULL || *correspondent == '\0') {
        g_free(thread);
        return NULL;
    }
    lower = g_utf8_strdown(correspondent, -1);
    seed = g_strconcat(thread, "\n", lower, NULL);
    dm_store_counter_hash(s, "question-thread", seed, out);
    g_free(seed);
    g_free(lower);
    g_free(thread);
    return g_strdup(out);
}

bool dm_store_question_add(dm_store *s, const char *id, int64_t time, const char *mailbox,
                           const char *message_id, const char *correspondent,
                           const char *subject, GError **err)
{
    char *mkey, *tkey;
    char *box;
    bool ok;

    if (!dm_store_supports(s, (const void *)s->ops->question_add, err))
        return false;
    mkey = dm_store_msg_key(s, message_id);
    tkey = dm_store_thread_key(s, subject, correspondent);
    box = g_utf8_strdown(mailbox, -1);
    ok = s->ops->question_add(s, id, time, box, mkey != NULL ? mkey : "",
                              tkey != NULL ? tkey : "", err);
    g_free(box);
    g_free(mkey);
    g_free(tkey);
    return ok;
}

bool dm_store_question_answer(dm_store *s, char *const *message_ids, size_t n_ids,
                              const char *subject, char *const *correspondents, size_t n_corr,
                              const char *answer_id, int64_t now, unsigned *n, GError **err)
{
    GPtrArray *keys, *threads;
    unsigned got = 0;
    bool ok = true;

    if (n != NULL)
        *n = 0;
    if (!dm_store_supports(s, (const void *)s->ops->question_answer, err))
        return false;
    keys = dm_store_msg_keys(s, message_ids, n_ids);
    threads = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < n_corr; i++) {
        char *k = dm_store_thread_key(s, subject, correspondents[i]);
        if (k != NULL)
            g_ptr_array_add(threads, k);
    }
    g_ptr_array_add(threads, NULL);
    if (keys->len > 1 || threads->len > 1)
        ok = s->ops->question_answer(s, (char *const *)keys->pdata, keys->len - 1,
                                     (char *const *)threads->pdata, threads->len - 1,
                                     answer_id, now, &got, err);
    g_ptr_array_free(keys, TRUE);
    g_ptr_array_free(threads, TRUE);
    if (n != NULL)
        *n = got;
    return ok;
}

void dm_question_row_free(dm_question_row *r)
{
    if (r == NULL)
        return;
    g_free(r->id);
    g_free(r->mailbox);
    g_free(r->answer_id);
    g_free(r);
}

GPtrArray *dm_store_question_list(dm_store *s, int64_t since, const char *mailbox,
                                  GError **err)
{
    GPtrArray *rows;
    char *box = mailbox != NULL ? g_utf8_strdown(mailbox, -1) : NULL;

    if (!dm_store_supports(s, (const void *)s->ops->question_each, err)) {
        g_free(box);
        return NULL;
    }
    rows = g_ptr_array_new_with_free_func((GDestroyNotify)dm_question_row_free);
    if (!s->ops->question_each(s, since, box, dm_store_collect_question, rows, err)) {
        g_ptr_array_free(rows, TRUE);
        rows = NULL;
    }
    g_free(box);
    return rows;
}
