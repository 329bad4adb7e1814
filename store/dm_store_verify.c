/*
 * "diariectl journal verify": the chain checked row by row, from the
 * start (or the anchor of a pruned start) to the recorded head, in one
 * read snapshot of the backend.
 */
#include <string.h>

#include "dm_store_int.h"
#include "dm_util.h"

const char *dm_journal_fault_text(dm_journal_fault_kind k)
{
    switch (k) {
    case DM_JOURNAL_ALTERED: return "altered: its content does not match its mac";
    case DM_JOURNAL_MISSING: return "missing: removed from the journal";
    case DM_JOURNAL_BROKEN:
        return "the chain breaks before this row: the row before it was removed, replaced "
               "or moved";
    case DM_JOURNAL_BAD_SEAL: return "marked pruned, but not by the key's holder";
    case DM_JOURNAL_BAD_HEAD:
        return "the recorded head of the chain names no existing last row: rows removed at "
               "the end";
    case DM_JOURNAL_BAD_ANCHOR:
        return "the anchor of the pruned start is not sealed by the key: rows removed at the "
               "start";
    }
    return "?";
}

void dm_journal_report_clear(dm_journal_report *r)
{
    if (r->faults != NULL) {
        for (guint i = 0; i < r->faults->len; i++) {
            dm_journal_fault *f = &g_array_index(r->faults, dm_journal_fault, i);

            g_free(f->id);
            g_free(f->klass);
        }
        g_array_free(r->faults, TRUE);
    }
    memset(r, 0, sizeof *r);
}

static void dm_journal_fault_add(dm_journal_report *r, dm_journal_fault_kind k, int64_t seq,
                                 int64_t seq_to)
{
    dm_journal_fault f = {.kind = k, .seq = seq, .seq_to = seq_to};

    g_array_append_val(r->faults, f);
}

/* A fault of the row itself, named as it stands. */
static void dm_journal_fault_row(dm_journal_report *r, dm_journal_fault_kind k,
                                 const dm_journal_raw *row)
{
    dm_journal_fault f = {.kind = k,
                          .seq = row->seq,
                          .id = g_strdup(row->f[DM_JF_ID]),
                          .klass = g_strdup(row->f[DM_JF_CLASS]),
                          .time = row->time};

    g_array_append_val(r->faults, f);
}

typedef struct dm_journal_check_state {
    dm_store *s;
    dm_journal_report *r;
    char *expect_prev;
    int64_t expect_seq;
    bool have_head, head_sealed;
    int64_t head_seq;
    char *head_mac;
} dm_journal_check_state;

/* Where the chain starts (the anchor of a pruned start, or the genesis)
 * and what its head says. */
static void dm_journal_check_points(const char *anchor, const char *head, void *data)
{
    dm_journal_check_state *c = data;
    dm_journal_report *r = c->r;
    char *anchor_mac = NULL;
    bool anchor_sealed;

    if (dm_journal_anchor_parse(c->s, anchor, &r->anchor_seq, &anchor_mac, &anchor_sealed)) {
        if (!anchor_sealed)
            dm_journal_fault_add(r, DM_JOURNAL_BAD_ANCHOR, r->anchor_seq, 0);
        c->expect_prev = anchor_mac;
        c->expect_seq = r->anchor_seq + 1;
        r->last_seq = r->anchor_seq;
    } else {
        g_free(anchor_mac);
        c->expect_prev = g_strdup(dm_journal_genesis);
    }
    c->have_head = dm_journal_head_parse(c->s, head, &c->head_seq, &c->head_mac,
                                         &c->head_sealed);
}

static bool dm_journal_check_row(const dm_journal_raw *row, void *data)
{
    dm_journal_check_state *c = data;
    dm_journal_report *r = c->r;
    const char *const *f = row->f;

    if (row->seq > c->expect_seq)
        dm_journal_fault_add(r, DM_JOURNAL_MISSING, c->expect_seq, row->seq - 1);
    if (row->pruned) {
        /* Only what a tombstone keeps, sealed by the key's holder. */
        dm_journal_kept k = {.seq = row->seq,
                             .id = f[DM_JF_ID],
                             .time = row->time,
                             .klass = f[DM_JF_CLASS],
                             .sekretess = row->sekretess,
                             .prev = row->prev,
                             .mac = row->mac};
        char want[65];
        bool empty = true;

        r->pruned++;
        /* Kept: id, time, class, sekretess; the hash is emptied to "",
         * the rest (the gateway too) to NULL. */
        for (int i = DM_JF_QUEUE_ID; i < DM_JOURNAL_FIELDS; i++) {
            if (i == DM_JF_CLASS || i == DM_JF_SEKRETESS || f[i] == NULL)
                continue;
            if (i != DM_JF_HASH || *f[i] != '\0')
                empty = false;
        }
        dm_journal_seal(c->s, &k, row->pruned_at, want);
        if (row->seal == NULL || !dm_str_equal_ct(want, row->seal))
            dm_journal_fault_row(r, DM_JOURNAL_BAD_SEAL, row);
        else if (!empty)
            dm_journal_fault_row(r, DM_JOURNAL_ALTERED, row);
    } else {
        char want[65];

        dm_journal_mac(c->s, row->prev != NULL ? row->prev : "", f, want);
        if (row->mac == NULL || row->prev == NULL || !dm_str_equal_ct(want, row->mac))
            dm_journal_fault_row(r, DM_JOURNAL_ALTERED, row);
    }
    /* Chained to the row before it (one removed, inserted, moved). */
    if (row->prev == NULL || strcmp(row->prev, c->expect_prev) != 0)
        dm_journal_fault_row(r, DM_JOURNAL_BROKEN, row);
    g_free(c->expect_prev);
    c->expect_prev = g_strdup(row->mac != NULL ? row->mac : "");
    c->expect_seq = row->seq + 1;
    r->last_seq = row->seq;
    r->rows++;
    return true;
}

bool dm_store_journal_check(dm_store *s, dm_journal_report *r, GError **err)
{
    dm_journal_check_state c = {.s = s, .r = r, .expect_seq = 1};
    bool ok;

    memset(r, 0, sizeof *r);
    r->faults = g_array_new(FALSE, FALSE, sizeof(dm_journal_fault));
    ok = s->ops->journal_scan(s, dm_journal_check_points, dm_journal_check_row, &c, err);
    /* The head names the last row (or, everything pruned, the anchor). */
    if (ok) {
        if (!c.have_head) {
            if (r->last_seq > 0)
                dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, 0, 0);
        } else if (!c.head_sealed) {
            dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, 0, 0);
        } else if (c.head_seq > r->last_seq) {
            dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, r->last_seq + 1, c.head_seq);
        } else if (c.head_seq < r->last_seq || c.expect_prev == NULL ||
                   strcmp(c.head_mac, c.expect_prev) != 0) {
            dm_journal_fault_add(r, DM_JOURNAL_BAD_HEAD, 0, 0);
        }
    }
    g_free(c.expect_prev);
    g_free(c.head_mac);
    return ok;
}
bool dm_store_journal_verify(dm_store *s, GArray *bad, size_t *n, bool *head_ok, GError **err)
{
    dm_journal_report r;
    bool ok = dm_store_journal_check(s, &r, err);
    int64_t last = 0;

    *n = r.rows;
    if (head_ok != NULL)
        *head_ok = ok;
    for (guint i = 0; r.faults != NULL && i < r.faults->len; i++) {
        const dm_journal_fault *f = &g_array_index(r.faults, dm_journal_fault, i);

        switch (f->kind) {
        case DM_JOURNAL_ALTERED:
        case DM_JOURNAL_BROKEN:
        case DM_JOURNAL_BAD_SEAL:
            if (f->seq != last)
                g_array_append_val(bad, f->seq);
            last = f->seq;
            break;
        case DM_JOURNAL_BAD_HEAD:
        case DM_JOURNAL_BAD_ANCHOR:
            if (head_ok != NULL)
                *head_ok = false;
            break;
        case DM_JOURNAL_MISSING:
            break;
        }
    }
    dm_journal_report_clear(&r);
    return ok;
}
