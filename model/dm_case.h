/*
 * dm_case: diarienummer (case numbers) and the diarium case index.
 *
 * Sites write case numbers in many ways ("KS 2026/112", "Dnr BN-2026-45",
 * "2023/KS 0201", "KS/2016:805", "bn 2026/45").  A dm_dnr_parser holds
 * the configured patterns (GRegex with the named groups "myn", "year" and
 * "num"); every form reduces to one key, "KS 2026/112", so a citation and
 * the diarium export meet however each was written.
 *
 * The parser also knows how the site's diarium export writes the rest of
 * a case ([diarium] of rules.conf): the names of its columns, the values
 * that mean yes, the statuses that mean closed.  store/ reads the export
 * with it and the index judges statuses with it.
 *
 * The index is an immutable in-memory snapshot of the imported diarium,
 * reference counted: built by the caller from the store, read by the pure
 * rules.
 */
#ifndef DM_CASE_H
#define DM_CASE_H

#include <glib.h>
#include <stdbool.h>

typedef struct dm_dnr_parser dm_dnr_parser;

/* patterns: NULL-terminated GRegex sources; NULL for the built-in Swedish
 * defaults.  known: myndighet codes accepted also when written in lower
 * case ("bn 2026/45"); may be NULL. */
dm_dnr_parser *dm_dnr_parser_new(const char *const *patterns, const char *const *known,
                                 GError **err);
void dm_dnr_parser_free(dm_dnr_parser *p);
/* Add a myndighet code to the known set (e.g. from the case index). */
void dm_dnr_parser_add_known(dm_dnr_parser *p, const char *myndighet);
/* Is the myndighet code one the site named as known ([casenumbers] known
 * or dm_dnr_parser_add_known)? */
bool dm_dnr_parser_knows(const dm_dnr_parser *p, const char *myndighet);
/* The words for "case number" itself ([casenumbers] not_myndighet:
 * "dnr", "diarienr"), copied into p: where a pattern's myndighet stands
 * ("DNR 2026-45") such a word is no myndighet and no case.  Compared
 * without regard to ASCII case.  Until this is called every word may be
 * a myndighet. */
void dm_dnr_parser_set_not_myndighet(dm_dnr_parser *p, const char *const *words);
/* The built-in default patterns, NULL-terminated. */
const char *const *dm_dnr_default_patterns(void);

/* The columns of a diarium export. */
typedef enum {
    DM_CASE_COL_DNR,
    DM_CASE_COL_MYNDIGHET,
    DM_CASE_COL_TITLE,
    DM_CASE_COL_STATUS,
    DM_CASE_COL_PARTIES,
    DM_CASE_COL_SEKRETESS,
    DM_CASE_COL_N
} dm_case_column;

/* How the export writes a case ([diarium] of rules.conf), copied into p:
 * columns[c], the names column c may have; yes, the values of the
 * sekretess column that mean yes; closed, the words a closed case's
 * status holds.  All compared without regard to case.  Until this is
 * called no column has a name and every case is open. */
void dm_dnr_parser_set_export(dm_dnr_parser *p, char **const columns[DM_CASE_COL_N],
                              char **yes, char **closed);
/* The names of column c, lowercase, NULL-terminated (empty when unset). */
const char *const *dm_dnr_parser_column(const dm_dnr_parser *p, dm_case_column c);
/* Does a sekretess value say yes? */
bool dm_dnr_parser_yes(const dm_dnr_parser *p, const char *value);

/* A citation found in text. */
typedef struct dm_dnr {
    char *key;      /* "KS 2026/112" */
    char *myn;      /* "KS" */
    int year;       /* 2026 */
    int num;        /* 112 */
    char *written;  /* as it stood in the text: "dnr KS-2026-112" part */
} dm_dnr;

void dm_dnr_free(dm_dnr *d);
/* Parse one case number written alone (an export's column); NULL if it is
 * not one. */
dm_dnr *dm_dnr_parse(const dm_dnr_parser *p, const char *s);
/* Every citation in text, in order of appearance, without duplicates.
 * extra_known: more myndighet codes to accept in lower case (the case
 * index's), NULL-terminated, may be NULL. */
GPtrArray *dm_dnr_find_all(const dm_dnr_parser *p, const char *text,
                           const char *const *extra_known);

typedef struct dm_case {
    char *dnr;        /* as exported */
    char *key;        /* normalized, see above */
    char *myndighet;
    char *title;
    bool open;        /* status holds none of the closed words */
    bool sekretess;
    char **parties;   /* lowercase addresses, NULL-terminated */
} dm_case;

typedef struct dm_case_index dm_case_index;

dm_case_index *dm_case_index_new(void);
/* Adds a case; false when dnr is not a case number the parser knows. */
bool dm_case_index_add(dm_case_index *idx, const dm_dnr_parser *parser, const char *dnr,
                       const char *myndighet,
                       const char *title, const char *status, const char *parties,
                       bool sekretess);
dm_case_index *dm_case_index_ref(dm_case_index *idx);
void dm_case_index_unref(dm_case_index *idx);
size_t dm_case_index_size(const dm_case_index *idx);
const dm_case *dm_case_index_find(const dm_case_index *idx, const char *key);
/* Cases (dm_case *) the address is a party of, in export order; NULL when
 * none.  The array belongs to the index. */
const GPtrArray *dm_case_index_by_party(const dm_case_index *idx, const char *addr);
/* Myndighet codes the index knows, NULL-terminated, owned by the index. */
const char *const *dm_case_index_myndigheter(const dm_case_index *idx);

/* Is status text "open", by the parser's closed words (a status that
 * holds none, or no status, is open)? */
bool dm_case_status_open(const dm_dnr_parser *p, const char *status);

#endif
