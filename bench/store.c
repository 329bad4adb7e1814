/*
 * What the store costs one message that owes a copy: the duplicate
 * lookup, then the journal row with its claims and its mass-window
 * counters, as the engine asks for them.  `make bench-store` runs it on a
 * memory file system (the CPU the store spends) and on the disk (with
 * synchronous=FULL's fsync), so that a change to the store is measured on
 * its own, beside bench/throughput.sh's whole path.
 *
 *   store_bench DATABASE MESSAGES
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dm_policy.h"
#include "dm_store.h"
#include "dm_verdict.h"

#define SHA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static bool one_message(dm_store *s, const dm_verdict *v, int i, GError **err)
{
    char *rcpts[] = {"kommun@sjovik.test", "bygglov@sjovik.test"};
    char id[32], mid[64], copy[64], notice[64];
    char *owed[] = {copy, notice};
    bool claimed[2];
    char *dup, *found = NULL;
    int64_t when;
    bool ok;

    g_snprintf(id, sizeof id, "bench%015d", i);
    g_snprintf(mid, sizeof mid, "<%d@invanare.example>", i);
    g_snprintf(copy, sizeof copy, "copy:%d", i);
    g_snprintf(notice, sizeof notice, "notice:%d", i);
    dup = dm_store_dup_key(mid, SHA);
    ok = dm_store_journal_find_dup(s, dup, i - 3600, &found, &when, err);
    g_free(found);
    if (ok) {
        dm_journal_entry e = {
            .id = id, .time = i, .queue_id = "4F2A11C0D", .message_id = mid,
            .sender = "per.svensson@invanare.example", .rcpts = rcpts, .n_rcpts = 2,
            .subject = "Ansökan om bygglov", .sha256 = SHA, .verdict = v,
            .keep_all = dm_policy_journal_keeps(v),
            .owed_keys = owed, .n_owed = 2, .owed_since = i - 86400, .owed_claimed = claimed,
            .mass_sender = "per.svensson@invanare.example", .mass_since = i - 3600,
        };

        ok = dm_store_journal_add(s, &e, err);
    }
    g_free(dup);
    return ok;
}

int main(int argc, char **argv)
{
    static const char key[] = "0123456789abcdef0123456789abcdef";
    struct timespec t0, t1;
    GError *err = NULL;
    dm_verdict *v;
    dm_store *s;
    int n;

    if (argc != 3 || (n = atoi(argv[2])) <= 0) {
        fprintf(stderr, "usage: store_bench DATABASE MESSAGES\n");
        return 64;
    }
    s = dm_store_open(argv[1], key, sizeof key - 1, &err);
    if (s == NULL) {
        fprintf(stderr, "store_bench: %s\n", err->message);
        return 1;
    }
    v = dm_verdict_new();
    v->klass = DM_CLASS_REGISTRERAS;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
        if (!one_message(s, v, i, &err)) {
            fprintf(stderr, "store_bench: %s\n", err->message);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.1f us a message (%d messages)\n",
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n / 1e3, n);
    dm_verdict_free(v);
    dm_store_close(s);
    return 0;
}
