/*
 * Internals shared by the policy/ files; not for other modules.
 */
#ifndef DM_POLICY_INT_H
#define DM_POLICY_INT_H

#include "dm_policy.h"

/* A list of keywords compiled to one regular expression over normalized
 * text (lowercase, words separated by single spaces).  Entries:
 *   "word"      the word alone
 *   "word*"     words starting with it (inflections: "ansök*")
 *   "*word"     words ending with it (compound heads: "*ansökan")
 *   "*word*"    anywhere inside a word
 *   "two words" a phrase, each word as above */
typedef struct dm_kwlist {
    char *name;
    GRegex *re;   /* NULL when the list is empty */
    double weight;
} dm_kwlist;

/* The lists a rules file defines, by signal. */
typedef enum {
    DM_KW_ACTION,     /* R6.1: something to handle, decide, take a position on */
    DM_KW_SENSITIVE,  /* R9: health, social services, economic assistance... */
    DM_KW_PRIVATE,    /* R3 */
    DM_KW_PARTY,      /* R4 */
    DM_KW_QUESTION,   /* R7: simple questions */
    DM_KW_OUTSIDE,    /* R7: outside the municipality's responsibility */
    DM_KW_INFO,       /* R1/R8: for kännedom, no action asked */
    DM_KW_COUNT
} dm_kw_signal;

struct dm_policy {
    dm_dnr_parser *dnr;
    dm_kwlist lists[DM_KW_COUNT];
    char **party_domains;
    char **mass_lists;
    char *comm_group;
    char *intranet;
    dm_lang lang;
    int mass_recipients;
    int mass_window_recipients;
    int question_max_words; /* a "simple question" is at most this long */
};

bool dm_kwlist_compile(dm_kwlist *l, const char *name, char **entries, double weight,
                       GError **err);
void dm_kwlist_clear(dm_kwlist *l);
/* First match in normalized text, as a new string, or NULL. */
char *dm_kwlist_first(const dm_kwlist *l, const char *norm);
/* Number of distinct matches in normalized text. */
unsigned dm_kwlist_count(const dm_kwlist *l, const char *norm);

/* Lowercase, letters and digits kept, everything else one space, with a
 * space at each end: " hej jag vill ansöka om bygglov ". */
char *dm_policy_normalize_text(const char *text, size_t max);

/* Personnummer and samordningsnummer with a valid date and check digit:
 * the first one found (as written), or NULL. */
char *dm_pnr_find(const char *text);
/* One candidate: "19850312-4471", "850312-4471", "198503124471"... */
bool dm_pnr_valid(const char *digits10_or_12, bool *samordning);

/* What the content alone says, before the parties are looked at. */
typedef struct dm_content {
    dm_class klass;      /* registreras, allman, ringa, privat or parti */
    bool sekretess;
    bool party_content;  /* parti for politicians; privat for everyone else */
    const dm_case *cited;        /* first cited case in the index */
    char *cited_unknown;         /* first number-like citation not in the index */
    const dm_case *party_case;   /* an open case the sender is a party of */
} dm_content;

void dm_policy_content(const dm_policy *p, const dm_facts *f, dm_content *c,
                       dm_verdict *v);
void dm_content_clear(dm_content *c);

#endif
