/*
 * Pruning (R17, "diariectl journal prune") and the chain.  Classes are
 * kept for different times, so rows to prune are scattered through the
 * chain.  A pruned row therefore stays as a tombstone: seq, id, time,
 * class, sekretess, prev and mac are kept, every other column is emptied,
 * and a seal, an HMAC under the key over what is kept and the time of
 * pruning (dm_journal_seal), says that the key's holder pruned it.  verify
 * checks a tombstone's seal instead of its mac (whose content is gone)
 * and the chain through its stored mac, so it still proves that every
 * remaining row is unaltered, that nothing was removed, inserted or
 * reordered, and that no row was emptied by anyone but the key's holder.
 * Tombstones at the very start of the chain carry no information left
 * but their count: they are removed altogether, and a sealed anchor
 * becomes the chain's start.
 */
#include "dm_store_int.h"

/* Rows pruned per transaction: the daemon's appends wait meanwhile. */
#define DM_JOURNAL_PRUNE_BATCH 500

bool dm_store_journal_prune(dm_store *s, const dm_journal_retention *retain, size_t n,
                            int64_t now, bool dry_run, size_t *counts, size_t *removed,
                            GError **err)
{
    bool ok = true;

    *removed = 0;
    if (!dry_run && s->key == NULL) {
        g_set_error(err, DM_STORE_ERROR, 0, "%s: pruning needs the key", s->name);
        return false;
    }
    for (size_t i = 0; i < n && ok; i++) {
        int64_t before;

        counts[i] = 0;
        if (retain[i].seconds <= 0)
            continue;
        before = now - retain[i].seconds;
        if (dry_run) {
            ok = s->ops->prune_count(s, retain[i].klass, before, &counts[i], err);
            continue;
        }
        for (;;) {
            size_t done = 0;

            /* Batches, so that the daemon's appends wait only briefly. */
            ok = s->ops->prune_batch(s, retain[i].klass, before, now, DM_JOURNAL_PRUNE_BATCH,
                                     &done, err);
            counts[i] += done;
            if (!ok || done < DM_JOURNAL_PRUNE_BATCH)
                break;
            g_usleep(1000);
        }
    }
    if (ok && !dry_run)
        ok = s->ops->prune_compact(s, removed, err);
    return ok;
}
