/*
 * The journal's chain, the same for every backend: a journal moved from
 * one backend to another still verifies.
 *
 * Each row's mac is an HMAC-SHA-256 under the local key over the previous
 * row's mac and this row's fields, so an edited, inserted or removed row
 * breaks the chain ("diariectl journal verify"), and only the key's holder
 * can rebuild it.  A keyed head record beside the chain names its last
 * row, so rows removed at the end are noticed too.  A pruned row keeps a
 * seal instead (dm_store_prune.c), and a pruned start is replaced by a
 * sealed anchor.  The keyed hashes of the counters are here too.
 */
#include <string.h>

#include "dm_store_int.h"
#include "dm_util.h"

const char dm_journal_genesis[] = "diariemilter-journal-v1";

static void dm_journal_keyed(const dm_store *s, const char *c, char out[65])
{
    dm_hmac_sha256_hex(s->key != NULL ? s->key : "", s->key != NULL ? s->keylen : 0, c,
                       strlen(c), out);
}

/* The bytes the mac covers: every field length-prefixed ("N:bytes"),
 * NULL as "-", so no value (a subject is the sender's to choose) can
 * shift bytes from one field into another. */
static char *dm_journal_canonical(const char *prev, const char *const f[DM_JOURNAL_FIELDS])
{
    GString *s = g_string_new(NULL);

    g_string_append_printf(s, "%zu:%s", strlen(prev), prev);
    for (int i = 0; i < DM_JOURNAL_FIELDS; i++) {
        if (i == DM_JF_GATEWAY && f[i] == NULL)
            continue; /* a row from before gateways were named */
        if (f[i] == NULL)
            g_string_append(s, "|-");
        else
            g_string_append_printf(s, "|%zu:%s", strlen(f[i]), f[i]);
    }
    return g_string_free(s, FALSE);
}

void dm_journal_mac(const dm_store *s, const char *prev, const char *const f[DM_JOURNAL_FIELDS],
                    char out[65])
{
    char *c = dm_journal_canonical(prev, f);

    dm_journal_keyed(s, c, out);
    g_free(c);
}

/* "head|seq|mac" or "anchor|seq|mac" under the key. */
static void dm_journal_point_mac(const dm_store *s, const char *what, int64_t seq,
                                 const char *mac, char out[65])
{
    char *c = g_strdup_printf("%s|%" G_GINT64_FORMAT "|%s", what, seq, mac);

    dm_journal_keyed(s, c, out);
    g_free(c);
}

static char *dm_journal_point_record(const dm_store *s, const char *what, int64_t seq,
                                     const char *mac)
{
    char seal[65];

    dm_journal_point_mac(s, what, seq, mac, seal);
    return g_strdup_printf("%" G_GINT64_FORMAT " %s %s", seq, mac, seal);
}

static bool dm_journal_point_parse(const dm_store *s, const char *what, const char *record,
                                   int64_t *seq, char **mac, bool *sealed)
{
    char **f;
    bool ok = false;

    *seq = 0;
    *mac = NULL;
    *sealed = false;
    if (record == NULL)
        return false;
    f = g_strsplit(record, " ", 3);
    if (g_strv_length(f) == 3) {
        char want[65];

        *seq = g_ascii_strtoll(f[0], NULL, 10);
        *mac = g_strdup(f[1]);
        dm_journal_point_mac(s, what, *seq, f[1], want);
        *sealed = dm_str_equal_ct(want, f[2]);
        ok = true;
    }
    g_strfreev(f);
    return ok;
}

char *dm_journal_head_record(const dm_store *s, int64_t seq, const char *mac)
{
    return dm_journal_point_record(s, "head", seq, mac);
}

char *dm_journal_anchor_record(const dm_store *s, int64_t seq, const char *mac)
{
    return dm_journal_point_record(s, "anchor", seq, mac);
}

bool dm_journal_head_parse(const dm_store *s, const char *record, int64_t *seq, char **mac,
                           bool *sealed)
{
    return dm_journal_point_parse(s, "head", record, seq, mac, sealed);
}

bool dm_journal_anchor_parse(const dm_store *s, const char *record, int64_t *seq, char **mac,
                             bool *sealed)
{
    return dm_journal_point_parse(s, "anchor", record, seq, mac, sealed);
}

void dm_journal_seal(const dm_store *s, const dm_journal_kept *k, int64_t pruned_at,
                     char out[65])
{
    const char *id = k->id != NULL ? k->id : "", *klass = k->klass != NULL ? k->klass : "";
    char *c = g_strdup_printf("pruned|%" G_GINT64_FORMAT "|%zu:%s|%" G_GINT64_FORMAT
                              "|%zu:%s|%d|%s|%s|%" G_GINT64_FORMAT,
                              k->seq, strlen(id), id, k->time, strlen(klass), klass,
                              k->sekretess, k->prev != NULL ? k->prev : "",
                              k->mac != NULL ? k->mac : "", pruned_at);

    dm_journal_keyed(s, c, out);
    g_free(c);
}

char *dm_journal_start_mac(const dm_store *s, const char *anchor_record)
{
    int64_t seq;
    char *mac = NULL;
    bool sealed;

    if (dm_journal_anchor_parse(s, anchor_record, &seq, &mac, &sealed))
        return mac;
    g_free(mac);
    return g_strdup(dm_journal_genesis);
}

/* Hashes of addresses for the mass window: keyed, so the table says
 * nothing to whoever reads it without the key. */
void dm_store_counter_hash(const dm_store *s, const char *tag, const char *addr, char out[65])
{
    char *data = g_strconcat(tag, ":", addr, NULL);

    dm_journal_keyed(s, data, out);
    out[32] = '\0'; /* 128 bits tell addresses apart well enough */
    g_free(data);
}

char *dm_store_dup_key(const char *message_id, const char *sha256)
{
    char out[65];
    char *seed;

    if (message_id == NULL || *message_id == '\0' || sha256 == NULL)
        return NULL;
    seed = g_strconcat(message_id, "\n", sha256, NULL);
    dm_sha256_hex(seed, strlen(seed), out);
    g_free(seed);
    return g_strdup(out);
}

char *dm_store_owed_key(const char *dup_key, const char *action)
{
    char out[65];
    char *seed;

    if (dup_key == NULL || action == NULL)
        return NULL;
    seed = g_strconcat("owed\n", dup_key, "\n", action, NULL);
    dm_sha256_hex(seed, strlen(seed), out);
    g_free(seed);
    return g_strdup(out);
}
