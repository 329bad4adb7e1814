/*
 * The compiled word lists (dm_lex), shared by the two halves of
 * policy/dm_policy_lex: building (dm_policy_lex.c: parsing entries,
 * ordering lists, filing patterns in the pair tables) and matching
 * (dm_policy_lex_match.c: tagging tokens, matching entries).  Not for
 * other files.
 */
#ifndef DM_POLICY_LEX_INT_H
#define DM_POLICY_LEX_INT_H

#include "dm_policy_int.h"

#define DM_GAP_DEFAULT 3

typedef enum {
    DM_PAT_STEM,
    DM_PAT_RAW,
    DM_PAT_PREFIX,
    DM_PAT_SUFFIX,
    DM_PAT_INFIX,
    DM_PAT_NUMBER,
} dm_pat_kind;

typedef struct {
    dm_pat_kind kind;
    char *s;
    guint len;
    guint blob_off; /* where its bytes stand in dm_lex.blob */
} dm_pat;

typedef enum { DM_EL_PAT, DM_EL_REF, DM_EL_GAP } dm_el_kind;

typedef struct {
    guint8 kind;
    guint8 gap;
    guint32 id; /* pattern or list */
} dm_el;

typedef struct {
    dm_el *els;
    guint n;
    char *text;       /* as written */
    char **ref_names; /* while building: names of DM_EL_REF elements */
    bool anchored;    /* "^": only at the start of a sentence */
} dm_lentry;

typedef struct {
    char *name;
    GPtrArray *entries;  /* dm_lentry * */
    GArray *pat_first;   /* guint: entries whose first element is a pattern */
    GArray *pat_first_id; /* guint16: that pattern, side by side (read for
                           * every message: no pointer to chase) */
    GArray *ref_first;   /* guint: entries whose first element is a list */
    guint level;         /* evaluation order: after every list it refers to */
} dm_list;

/* The pattern tables.  Each kind of pattern (by its first two bytes, or
 * a compound head by its last two when matched at a stem's end) is
 * grouped by that pair of bytes; one table of pairs holds, for each pair,
 * where its patterns of every kind begin.  A word is looked up with one
 * probe for its first two bytes and one for its stem's last two, behind
 * a 1 KiB filter that stays in the first-level cache. */
enum {
    DM_PAIRS_STEM,    /* STEM, by first two bytes */
    DM_PAIRS_RAW,     /* RAW */
    DM_PAIRS_PREFIX,  /* PREFIX */
    DM_PAIRS_SUFFIX,  /* SUFFIX, by last two bytes: at the stem's end */
    DM_PAIRS_SUFHEAD, /* SUFFIX, by first two: inside a word (to stem it) */
    DM_PAIRS_INFIX,   /* INFIX */
    DM_PAIRS_N
};

typedef struct {
    guint32 key;                 /* the pair + 1; 0: an empty slot */
    guint32 start[DM_PAIRS_N];   /* in dm_pairtab.refs[kind] */
    guint16 count[DM_PAIRS_N];
} dm_pair;

/* A pattern where matching needs it: its bytes in dm_lex.blob. */
typedef struct {
    guint32 off;
    guint16 len;
    guint16 id;
} dm_pref;

#define DM_FILTER_BITS 8192 /* 1 KiB */

typedef struct {
    guint8 filter[DM_FILTER_BITS / 8]; /* pairs with patterns of any kind */
    guint8 scan[DM_FILTER_BITS / 8];   /* pairs with SUFHEAD or INFIX ones */
    dm_pair *slots;
    guint mask;
    guint shift;                       /* slot = hash >> shift */
    dm_pref *refs[DM_PAIRS_N];
    guint n[DM_PAIRS_N];               /* patterns of two bytes or more */
    GArray *shorts[DM_PAIRS_N];        /* guint: patterns of one byte */
} dm_pairtab;

struct dm_lex {
    GPtrArray *lists;       /* dm_list * */
    GHashTable *list_ids;   /* name -> id + 1 */
    GPtrArray *pats;        /* dm_pat * */
    GHashTable *pat_ids;    /* "kind:string" -> id + 1 */
    dm_pairtab pt;
    bool any_short;         /* a PREFIX, SUFFIX or INFIX pattern of one byte */
    GString *blob;          /* every pattern's bytes, for dm_pref */
    gint64 number;          /* the %num pattern's id, or -1 */
    guint *order;           /* lists in evaluation order */
    char *stemmer;          /* Snowball language; NULL: swedish */
    bool suffix_only;       /* its stems start as their words do */
    bool finished;
};

/* ---- hash tables ----------------------------------------------------------- */

static inline guint dm_pair_hash(guint v2)
{
    return v2 * 2654435761u;
}

static inline bool dm_filter_has(const guint8 *filter, guint h)
{
    return (filter[(h >> 19) >> 3] >> ((h >> 19) & 7)) & 1;
}

static inline guint dm_pair_of(const char *two)
{
    return ((guint)(unsigned char)two[0] << 8) | (unsigned char)two[1];
}

/* The pair v2 (hash h), or NULL: the caller checked a filter. */
static inline const dm_pair *dm_pairtab_get(const dm_pairtab *t, guint v2, guint h)
{
    guint j = h >> t->shift;

    while (t->slots[j].key != 0) {
        if (t->slots[j].key == v2 + 1)
            return &t->slots[j];
        j = (j + 1) & t->mask;
    }
    return NULL;
}

#endif
