/*
 * Internals shared by the policy/ files; not for other modules.
 *
 * How the content is judged (RULES.md sections 1, 2 and R9):
 *
 *   dm_text     the subject and the text parts, cut into tokens (lower
 *               case words with their Snowball stems) and sentences, each
 *               sentence marked as subject, quoted (an earlier message in
 *               a reply) or a question;
 *   dm_lex      the word lists of etc/rules/ compiled once: token patterns
 *               (stem, exact, prefix, compound head, infix), phrases with
 *               gaps, and references from one list to another ("@act");
 *               matched over a dm_text in one pass per list;
 *   dm_signals  what the message says, computed once: cited cases, a case
 *               party, sekretess, automatic-mail markers, and a score per
 *               signal list with the phrases that fired;
 *   dm_content  the decision, in a privacy-first order, with thresholds
 *               and weights from etc/rules.conf.
 */
#ifndef DM_POLICY_INT_H
#define DM_POLICY_INT_H

#include "dm_policy.h"
#include "dm_reasons.h"

/* ---- text ------------------------------------------------------------- */

enum {
    DM_SENT_SUBJECT = 1 << 0,  /* the Subject: line */
    DM_SENT_QUOTED = 1 << 1,   /* an earlier message quoted in a reply */
    DM_SENT_QUESTION = 1 << 2, /* ends with "?" */
    DM_SENT_INQUIRY = 1 << 3,  /* holds an [inquiry] phrase ("hur", "undrar") */
    DM_SENT_TITLE = 1 << 4,    /* a title: the subject, an attachment's name */
};

/* Where in the message a sentence stands, for the weight its words get
 * (the groups of segment kinds the rules weigh alike). */
typedef enum {
    DM_GRP_OWN,        /* the subject and the sender's own new text */
    DM_GRP_FORWARDED,  /* a forwarded message */
    DM_GRP_ATTACHMENT, /* attachment text and names, calendar descriptions */
    DM_GRP_QUOTED,     /* the quoted history of a reply */
    DM_GRP_TAIL,       /* signatures and list footers, disclaimers */
    DM_GRP_COUNT
} dm_grp;

const char *dm_grp_name(dm_grp g);

typedef struct dm_token {
    guint32 raw;      /* offset of the lower-case word in dm_text.arena */
    guint32 stem;     /* offset of its stem (not NUL-terminated) */
    guint16 raw_len;
    guint16 stem_len;
    guint32 sent;     /* sentence index */
    guint32 ids;      /* first matched pattern id in dm_text.ids */
    guint16 n_ids;
    bool stemmed;     /* stem is set (dm_text_stem_token) */
    guint32 hash;     /* FNV-1a of the word: the same word again is known */
} dm_token;

typedef struct dm_sentence {
    guint32 first, end; /* tokens [first, end) */
    guint16 flags;
    guint8 grp;         /* dm_grp */
    guint8 seg;         /* the segment it came from (dm_tseg index, at most 255) */
} dm_sentence;

/* One stretch of text for dm_text_new_segs: a segment of the document
 * model (dm_segment) or, where the message has none, the subject and the
 * text. */
typedef struct dm_tseg {
    const char *text;
    size_t len;
    dm_grp grp;
    bool subject;       /* the Subject: one sentence, reply prefixes dropped */
    bool title;         /* names what follows (the subject, an attachment's
                         * name): one sentence, its first word its head */
    bool scan;          /* look for replies' and forwards' marks in it */
    const char *what;   /* its kind, for --explain ("body", "quoted", ...) */
    const char *lang;   /* "" when unknown */
    const char *source; /* an attachment's name, or NULL */
    int page;
} dm_tseg;

typedef struct dm_text {
    GString *arena;        /* NUL-separated words and stems */
    GArray *tokens;        /* dm_token */
    GArray *sents;         /* dm_sentence */
    GArray *ids;           /* guint16: pattern ids matched per token */
    guint own_words;       /* tokens of the body's own (unquoted) text */
    const char *stemmer;   /* Snowball language of the stems; NULL: swedish */
    bool forward;          /* the subject or text says it is forwarded */
    bool truncated;        /* max_tokens reached */
} dm_text;

/* How replies and forwards write themselves ([replies] of rules.conf):
 * entries compared without regard to ASCII case. */
typedef struct dm_replies {
    char **header_from;      /* a quoted header's first line: "Från:" */
    char **header_more;      /* ... and one of the five after it: "Skickat:" */
    char **separator;        /* a line that starts the earlier message */
    char **wrote;            /* "skrev": "Den ... skrev:" starts it */
    char **forward;          /* a line that starts a forwarded message */
    char **reply_prefixes;   /* subject prefixes of replies, lowercase: "re" */
    char **forward_prefixes; /* ... of forwards: "vb" */
    /* First bytes (ASCII upper case) of header_from, separator and
     * forward: most lines are passed over on their first byte. */
    guint8 first_from[32], first_separator[32], first_forward[32];
} dm_replies;

/* Cut subject and text into tokens and sentences, at most max_tokens
 * tokens (subject first).  replies: what marks quoted text, forwards and
 * subject prefixes; NULL: none (all text is the sender's own). */
dm_text *dm_text_new(const dm_replies *replies, const char *subject, const char *text,
                     size_t text_len, guint max_tokens);
/* The same over segments in order (at most 255 read); a BODY segment is
 * still searched for replies' and forwards' marks.  only_lang: only the
 * segments of that language (sentences keep their segment's index). */
struct dm_langlex;
dm_text *dm_text_new_segs(const dm_replies *replies, const dm_tseg *segs, guint n,
                          guint max_tokens, const struct dm_langlex *only_lang);
void dm_text_free(dm_text *t);
static inline const char *dm_text_raw(const dm_text *t, const dm_token *k)
{
    return t->arena->str + k->raw;
}
/* The stem: k->stem_len bytes, not NUL-terminated; until the word lists
 * ask for it (dm_text_stem_token), the word itself. */
static inline const char *dm_text_stem(const dm_text *t, const dm_token *k)
{
    return t->arena->str + k->stem;
}
void dm_text_stem_token(dm_text *t, dm_token *k);
/* The words of tokens [a, b) joined by spaces (a new string). */
char *dm_text_span(const dm_text *t, guint a, guint b);

/* The Swedish Snowball stem of one lower-case word (a new string). */
char *dm_stem_word(const char *word);
/* ... in another Snowball language ("english"; NULL: swedish). */
char *dm_stem_word_lang(const char *stemmer, const char *word);
/* Does libstemmer have this language? */
bool dm_stemmer_known(const char *stemmer);
/* Can Snowball's Swedish stemmer take exactly tail[0, n) from a word's
 * end?  A word has the stem p only if it is p and such a tail. */
bool dm_stem_tail_possible(const char *tail, size_t n);

/* Lowercase, letters and digits kept, everything else one space, with a
 * space at each end: " hej jag vill ansöka om bygglov ". */
char *dm_policy_normalize_text(const char *text, size_t max);

/* ---- word lists ------------------------------------------------------- */

/* Where in a message a list is matched. */
typedef enum {
    DM_WHERE_ALL,     /* subject and every text part, quoted text too */
    DM_WHERE_OWN,     /* subject and the sender's own text (not quoted) */
    DM_WHERE_SUBJECT, /* the subject only */
    DM_WHERE_HEAD,    /* the subject's first word (after Re:, Ang. ...) */
} dm_where;

typedef struct dm_lex dm_lex;

typedef struct dm_lmatch {
    guint start, end; /* tokens [start, end) */
    guint entry;      /* index in the list */
} dm_lmatch;

/* Every list's matches over one text; lists by id. */
typedef struct dm_lex_result {
    GArray **matches; /* per list: dm_lmatch, by start; NULL when none */
    guint n_lists;
} dm_lex_result;

dm_lex *dm_lex_new(void);
/* The lists of another language: entries stemmed by its Snowball stemmer
 * ("english"), every word of a text stemmed to match them. */
dm_lex *dm_lex_new_lang(const char *stemmer);
const char *dm_lex_stemmer(const dm_lex *x); /* NULL: swedish */
void dm_lex_free(dm_lex *x);
/* Add a list (entries as in a .words file, one per element); returns its
 * id.  References ("@name") may name lists added later; dm_lex_finish
 * resolves them.  A list name may be given once. */
bool dm_lex_add_list(dm_lex *x, const char *name, char **entries, guint *id, GError **err);
/* Resolve references, order the lists, index the patterns. */
bool dm_lex_finish(dm_lex *x, GError **err);
/* The id of a list by name, or G_MAXUINT. */
guint dm_lex_list_id(const dm_lex *x, const char *name);
const char *dm_lex_list_name(const dm_lex *x, guint id);
const char *dm_lex_entry_text(const dm_lex *x, guint list, guint entry);
guint dm_lex_n_lists(const dm_lex *x);

/* Tag every token of t with the patterns it matches (once per text). */
void dm_lex_tag(const dm_lex *x, dm_text *t);
/* Match every list over a tagged text. */
dm_lex_result *dm_lex_match(const dm_lex *x, const dm_text *t);
void dm_lex_result_free(dm_lex_result *r);

/* One list alone over a text (read without reply or forward marks), for
 * tests and tools: the first match as the words it covered, or NULL. */
char *dm_lex_first(const dm_lex *x, guint list, const char *text);

/* ---- signals ---------------------------------------------------------- */

/* The lists the rules know by name (sections of rules.conf). */
typedef enum {
    /* Scored signals. */
    DM_SIG_REQUEST,      /* R6.1: the sender asks for a decision or action */
    DM_SIG_POLITE,       /* R6.1: the same, asked as a polite question */
    DM_SIG_SUBJECT_HEAD, /* R6.1: the subject names an errand first */
    DM_SIG_SUBJECT,      /* R6.1: the subject mentions an errand */
    DM_SIG_OPINION,      /* R6.1: a synpunkt on a municipal matter */
    DM_SIG_REFERENCE,    /* R6.3: about someone's errand ("din ansökan") */
    DM_SIG_INFO,         /* R1/R8: sent for kännedom, nothing asked */
    DM_SIG_INFO_HEAD,    /* R1/R8: the subject says information, invitation */
    DM_SIG_INQUIRY,      /* R7: asking how or what, not asking for action */
    DM_SIG_THANKS,       /* R7: thanks or a receipt that closes a matter */
    DM_SIG_OUTSIDE,      /* R7: another authority's matter */
    DM_SIG_MUNICIPAL,    /* the municipality's own areas of responsibility */
    DM_SIG_PRIVATE,      /* R3: private life */
    DM_SIG_COMMERCE,     /* R3: a person's own orders, bookings, associations */
    DM_SIG_FAMILY,       /* R3: family words (weak: errands mention family) */
    DM_SIG_INTIMATE,     /* R3: endearments, greetings between intimates */
    DM_SIG_PARTY,        /* R4: party organisation */
    DM_SIG_ADS,          /* R7: commercial advertising */
    DM_SIG_PHISHING,     /* R7: spam and phishing without a filter's header */
    DM_SIG_TEMPORARY,    /* R7: temporary service notices */
    DM_SIG_BULK,         /* R7: a newsletter's or mass mailing's own words
                          * ("avsluta prenumerationen"): a list without
                          * list headers */
    DM_SIG_SENSITIVE,    /* R9: sensitive facts about a private person */
    DM_SIG_SUBJECT_SKIP, /* words before the subject's head ("ang", "min") */
    DM_SIG_COUNT
} dm_sig;

/* The section of rules.conf that configures a signal ("request"). */
const char *dm_sig_section(dm_sig s);

typedef struct dm_sigdef {
    double cap;      /* the most distinct entries that count */
    dm_where where;
} dm_sigdef;

/* The word lists of one language, compiled with its stemmer.  The first
 * is Swedish and reads every segment; the others ([languages] of
 * rules.conf, rules/CODE/NAME.words) read the segments in theirs. */
typedef struct dm_langlex {
    char code[4];              /* "sv", "en", ... */
    dm_lex *lex;
    guint list[DM_SIG_COUNT];  /* a signal's list in lex, G_MAXUINT: none */
    guint unless[DM_SIG_COUNT]; /* a list whose matches cancel overlapping ones */
    bool unknown;              /* also reads text of no known language */
} dm_langlex;

/* Does language L read segment g (its language, or none known)? */
bool dm_seg_in_lang(const dm_tseg *g, const dm_langlex *L);
/* The sentences of base (read from segs) in lang's segments, as a text of
 * their own for lang's stemmer: no second reading of the message. */
dm_text *dm_text_subset(const dm_text *base, const dm_tseg *segs, const dm_langlex *lang);

/* The weights and thresholds of the decision ([weights] of rules.conf):
 * fitted by "diariectl fit", read as one vector so that the fitter can
 * try others on the same signals. */
typedef enum {
    /* Thresholds. */
    DM_P_T_REGISTER,
    DM_P_T_PRIVATE,
    DM_P_T_PRIVATE_ALONE,
    DM_P_T_PARTY,
    DM_P_T_INFO,
    DM_P_T_ADS,
    DM_P_T_PHISHING,
    DM_P_T_TEMPORARY,
    DM_P_T_BULK,
    /* Case evidence (R6.2, R6.3). */
    DM_P_CASE_CITED,
    DM_P_CASE_PARTY,
    DM_P_CASE_UNKNOWN,
    /* Mail a person wrote to the municipality is an errand unless
     * something shows otherwise: the evidence it starts with. */
    DM_P_PRIOR_INBOUND,
    DM_P_PRIOR_MAILBOX,
    DM_P_PRIOR_MUNICIPAL,
    DM_P_PRIOR_OUTBOUND,
    /* Evidence against an errand. */
    DM_P_SOFT_MARKER,
    DM_P_WORK,
    DM_P_QUESTION_WORDS,
    /* Where the words stand (the sender's own text counts 1). */
    DM_P_G_FORWARDED,
    DM_P_G_ATTACHMENT,
    DM_P_G_QUOTED,
    DM_P_G_TAIL,
    /* Word signals: each distinct entry adds this much. */
    DM_P_W_REQUEST,
    DM_P_W_POLITE,
    DM_P_W_SUBJECT_HEAD,
    DM_P_W_SUBJECT,
    DM_P_W_OPINION,
    DM_P_W_REFERENCE,
    DM_P_W_INFO,
    DM_P_W_INFO_HEAD,
    DM_P_W_PRIVATE,
    DM_P_W_COMMERCE,
    DM_P_W_FAMILY,
    DM_P_W_INTIMATE,
    DM_P_W_PARTY,
    DM_P_W_ADS,
    DM_P_W_PHISHING,
    DM_P_W_TEMPORARY,
    DM_P_COUNT
} dm_param;

/* The weight parameter of a signal, or -1 (a signal read as present or
 * not: inquiry, outside, municipal, sensitive). */
int dm_sig_param(dm_sig s);
/* The table of every parameter: key in [weights], default, range. */
const dm_param_info *dm_param_table(void);

/* One phrase that fired, for reasons and --explain. */
typedef struct dm_hit {
    char *phrase;
    guint8 grp;   /* dm_grp */
    guint8 seg;   /* dm_tseg index */
    guint8 lang;  /* dm_policy.langs index of the lists that found it */
} dm_hit;

/* What a message says, computed once from the facts (dm_signals_compute):
 * everything the decision reads, so that it can be taken again under
 * other weights (the fitter) without reading the message again. */
typedef struct dm_signals {
    /* Cases (R6.3, R9). */
    const dm_case *cited;       /* first cited case in the index */
    char *cited_unknown;        /* first number-like citation not in the index,
                                 * with a myndighet code the site knows */
    char *cited_foreign;        /* ... with a code the site does not know */
    const dm_case *party_case;  /* an open case the sender is a party of */
    const char *party_addr;     /* which address of the sender */
    const dm_case *sek_case;    /* first cited case marked sekretess */
    guint cited_seg, sek_seg;   /* the segments they are cited in */
    guint pnr_seg;              /* the segment the personnummer stands in */
    char *pnr;                  /* first valid personnummer, as written */
    bool pnr_samordning;
    /* Structure. */
    char *marker;               /* R7: no person wrote it (a report, the null
                                 * sender, an auto-reply, spam); NULL: none */
    char *soft_marker;          /* a list, bulk or generated mail: evidence
                                 * against an errand, not a verdict */
    bool party_domain;          /* sender (or a politician's recipient) on a
                                 * [site] party_domains domain */
    char *party_domain_addr;
    /* Parties. */
    bool person;                /* a person holds the message (sender or
                                 * recipient, not only mailboxes) */
    bool politician;            /* ... a förtroendevald */
    bool inbound;               /* from outside to the municipality */
    bool to_mailbox;            /* ... to a functional or förvaltning mailbox */
    bool outbound;              /* from the municipality out */
    /* Words: per signal, how many distinct entries fired in each set of
     * groups (an entry found in the body and the quoted history counts
     * once, where it weighs most). */
    guint16 n[DM_SIG_COUNT][1 << DM_GRP_COUNT];
    /* ... the same, only the sets that have entries (for speed): at most
     * DM_GRP_COUNT + 3 per signal, else nz_n is 255 and n is read. */
    guint8 nz_n[DM_SIG_COUNT];
    guint8 nz_mask[DM_SIG_COUNT][DM_GRP_COUNT + 3];
    GPtrArray *hits[DM_SIG_COUNT]; /* dm_hit *: the phrases that fired */
    bool question;              /* an own sentence asks something */
    bool quoted_question;       /* the quoted history asks something */
    guint quoted_words;
    bool signup;                /* [notrequest] in the own text: a sign-up,
                                 * a deadline in an invitation */
    guint own_words;
    guint head;                 /* the subject's head token, or G_MAXUINT */
    dm_tseg *segs;              /* what was read, for --explain */
    guint n_segs;
    dm_text *text;
} dm_signals;

/* The scores of a dm_signals under a weight vector. */
typedef struct dm_scores {
    double score[DM_SIG_COUNT];
    double r_case, r_text, r_total; /* R6 evidence */
    double r_own;                   /* ... requests in the sender's own text */
    double private_total;           /* R3 evidence */
} dm_scores;

void dm_signals_compute(const dm_policy *p, const dm_facts *f, dm_signals *s);
void dm_signals_clear(dm_signals *s);
void dm_signals_score(const dm_policy *p, const double *w, const dm_signals *s, dm_scores *sc);
/* Human-readable account of the signals and scores (--explain). */
void dm_signals_describe(const dm_policy *p, const dm_signals *s, GString *out);

/* ---- the policy --------------------------------------------------------- */

struct dm_policy {
    dm_dnr_parser *dnr;       /* with the export's words ([diarium]) */
    dm_lex *lex;              /* langs[0].lex: the Swedish lists */
    dm_langlex *langs;        /* Swedish first, then [languages] */
    guint n_langs;
    dm_replies replies;       /* [replies] */
    char **autoreply_subjects; /* [autoreply] subjects, casefolded */
    dm_seg_words *seg_words;  /* [replies] and [segments], for mime/ */
    dm_reasons *reasons;      /* the site language's reason catalogue */
    dm_sigdef sig[DM_SIG_COUNT];
    char **party_domains;
    char **mass_lists;
    char *comm_group;
    char *intranet;
    int mass_recipients;
    int mass_window_recipients;
    int64_t mass_window;       /* [site] mass_window, seconds; 0: none */
    int64_t autoreply_absence; /* [site] autoreply_absence, seconds; 0: none */

    /* [thresholds] that are not fitted */
    int max_tokens;
    /* [weights] */
    double w[DM_P_COUNT];
};

/* R13's reminder (dm_policy_autoreply.c): does the automatic reply in
 * f->msg name a contact other than its sender (*what: the first such,
 * a new string)?  And the reminder action when it does not. */
bool dm_autoreply_names_contact(const dm_facts *f, char **what);
void dm_autoreply_actions(const dm_policy *p, const dm_facts *f, dm_verdict *v);
/* Is the sender one R14 binds (an internal sender submitting, outside the
 * communications unit)?  Only their recipients count in the mass window,
 * under the name dm_policy_mass_sender gives (dm_policy.c). */
bool dm_policy_mass_applies(const dm_facts *facts);
const char *dm_policy_mass_sender(const dm_facts *facts);
/* A reason for each limit reading m reached (dm_policy_record.c). */
void dm_policy_limit_reasons(const dm_policy *p, const dm_msg *m, dm_verdict *v);

/* Personnummer and samordningsnummer with a valid date and check digit:
 * the first one found (as written), or NULL. */
char *dm_pnr_find(const char *text);
char *dm_pnr_find2(const char *text, bool *samordning);
/* One candidate: "19850312-4471", "850312-4471", "198503124471"... */
bool dm_pnr_valid(const char *digits10_or_12, bool *samordning);

/* What the content alone says, before the parties are looked at. */
typedef struct dm_content {
    dm_class klass;      /* registreras, allman, ringa, privat or parti */
    bool sekretess;
    const dm_case *cited;        /* first cited case in the index */
} dm_content;

/* The content's class under weights w; reasons into v (NULL: none). */
void dm_content_decide(const dm_policy *p, const double *w, const dm_signals *s, dm_content *c,
                       dm_verdict *v);

/* dm_features is the signals of one message. */
struct dm_features {
    dm_signals s;
};

#endif
