/*
 * dm_reasons: the words of the reasons a verdict gives, of the R14
 * reply, and the few words of the copies and notices that no template
 * holds (a recipient's note, a sekretess subject), in the site's language ([site] language): the catalogue
 * etc/templates/<lang>/reasons.conf.
 *
 * The rule numbers ("R6.3") are not words: the code gives them, as
 * RULES.md numbers the rules.  Each text may name the values its key
 * takes (the table in dm_reasons.c) as {{name}}.  Loading checks that
 * every key is there, that no other is, that each text names only its
 * own values, and that the texts of [smtp] (the SMTP reply) are
 * printable ASCII: a mistake in the catalogue stops the load, never a
 * message.
 */
#ifndef DM_REASONS_H
#define DM_REASONS_H

#include <glib.h>

#include "dm_conf.h"
#include "dm_verdict.h"

typedef enum {
    /* [smtp]: the R14 reply and the words of it the reason repeats. */
    DM_R_MASS_REJECT,          /* why */
    DM_R_MASS_REJECT_INTRANET, /* why intranet */
    DM_R_WHY_LIST,             /* list */
    DM_R_WHY_RECIPIENTS,       /* count */
    DM_R_WHY_WINDOW,           /* count */
    /* [words]: what the copies and notices say that is no reason. */
    DM_R_RCPT_LIST,            /* a recipient that is a mass list */
    DM_R_RCPT_VIA_LIST,        /* list: not in To/Cc, a list outside reached it */
    DM_R_RCPT_BLIND,           /* not in To/Cc: a blind copy */
    DM_R_SUBJECT_SEKRETESS,    /* a sekretess message's subject where lists show it */
    /* ... an attachment's line in {{attachments}}: its name when it has
     * none, whether its text was read, its pages (count), a cut. */
    DM_R_ATT_NO_NAME,
    DM_R_ATT_READ,
    DM_R_ATT_NO_TEXT,
    DM_R_ATT_ENCRYPTED,
    DM_R_ATT_UNSUPPORTED,
    DM_R_ATT_FAILED,
    DM_R_ATT_TIMEOUT,
    DM_R_ATT_LIMIT,
    DM_R_ATT_PAGE,             /* count */
    DM_R_ATT_PAGES,            /* count */
    DM_R_ATT_CUT,
    DM_R_ATT_SIZE_KB,          /* size, rounded kB (from 1024 bytes) */
    DM_R_ATT_SIZE_BYTES,       /* size, below 1024 bytes */
    /* [reasons] */
    DM_R_MASS,                 /* why sender */
    DM_R_NO_MESSAGE,
    DM_R_INTERNAL,             /* myndighet */
    DM_R_NO_REGISTRAR,         /* myndighet party */
    DM_R_UNKNOWN_MYNDIGHET,    /* a value: no myndighet known */
    DM_R_COPY,                 /* registrar myndighet party */
    DM_R_NO_FULLMAKT,          /* party name */
    DM_R_SENDER_NO_FULLMAKT,   /* sender */
    DM_R_ABSENT_FORWARD,       /* party delegate */
    DM_R_ABSENT_MANAGER,       /* party manager */
    DM_R_ABSENT_UNCOVERED,     /* party */
    DM_R_AUTOREPLY_CONTACT,    /* contact */
    DM_R_AUTOREPLY_REMINDER,   /* sender */
    DM_R_CASE_CITED,           /* case */
    DM_R_CASE_PARTY,           /* sender case */
    DM_R_CASE_UNKNOWN,         /* citation */
    DM_R_SEKRETESS_PNR,        /* hits */
    DM_R_SEKRETESS_SAMORDNING, /* hits */
    DM_R_SEKRETESS_CASE,       /* case */
    DM_R_SEKRETESS,
    DM_R_PARTY_DOMAIN,         /* address */
    DM_R_PARTY,                /* hits */
    DM_R_PRIVATE,              /* hits */
    DM_R_FAMILY,               /* hits */
    DM_R_MARKER_REPORT,        /* type */
    DM_R_MARKER_NULL_SENDER,
    DM_R_MARKER_AUTOREPLY,     /* how */
    DM_R_AUTOREPLY_UNNAMED,    /* a value: an auto-reply no header names */
    DM_R_MARKER_SPAM,          /* header */
    DM_R_SPAM_UNNAMED,         /* a value: a spam verdict no header names */
    DM_R_MARKER_BULK,          /* what */
    DM_R_PHISHING,             /* hits */
    DM_R_ADS,                  /* hits */
    DM_R_TEMPORARY,            /* hits */
    DM_R_OUTSIDE,              /* hits */
    DM_R_REQUEST,              /* hits */
    DM_R_REFERENCE,            /* hits */
    DM_R_POLITE,               /* hits */
    DM_R_SUBJECT_HEAD,         /* hits */
    DM_R_SUBJECT,              /* hits */
    DM_R_OPINION,              /* hits */
    DM_R_QUESTION,             /* words */
    DM_R_INFO,                 /* hits */
    DM_R_INFO_HEAD,            /* hits */
    DM_R_ALLMAN,
    DM_R_PERSON_WROTE,
    DM_R_WHERE_ATTACHMENT,      /* name */
    DM_R_WHERE_ATTACHMENT_PAGE, /* name page */
    DM_R_WHERE_PNR,             /* where */
    DM_R_WHERE_SAMORDNING,      /* where */
    /* Across messages: what was sent already is not sent again. */
    DM_R_ONCE_MANAGER,         /* manager party */
    DM_R_ONCE_REMINDER,        /* party */
    DM_R_DUPLICATE,            /* row */
    DM_R_DUPLICATE_COPY,       /* to row */
    DM_R_DUPLICATE_NOTICE,     /* to row */
    /* What reading could not see ([mime] limits, encryption). */
    DM_R_LIMIT_MAX_TEXT,
    DM_R_LIMIT_MAX_PARTS,
    DM_R_LIMIT_MAX_DEPTH,
    DM_R_LIMIT_MAX_HEADERS,
    DM_R_LIMIT_MAX_HEADER_SIZE,
    DM_R_LIMIT_ENCRYPTED,
    DM_R_LIMIT_UNPARSABLE,
    /* An attachment whose text was not (all) read: file (its name,
     * escaped; its type when it has none). */
    DM_R_ATTACHMENT_NO_TEXT,
    DM_R_ATTACHMENT_ENCRYPTED,
    DM_R_ATTACHMENT_FAILED,
    DM_R_ATTACHMENT_TIMEOUT,
    DM_R_ATTACHMENT_LIMIT,
    DM_R_ATTACHMENT_CUT,
    DM_R_COUNT
} dm_reason_id;

typedef struct dm_reasons dm_reasons;

/* Load DIR/<lang>/reasons.conf (DIR: [policy] templates). */
dm_reasons *dm_reasons_load(const char *dir, dm_lang lang, GError **err);
/* The same from text; name is what errors call it. */
dm_reasons *dm_reasons_load_data(const char *text, gsize len, const char *name, GError **err);
void dm_reasons_free(dm_reasons *r);

/* The key of id in the catalogue ("case_cited"), and the values its
 * text may name, blank-separated ("sender case"). */
const char *dm_reasons_key(dm_reason_id id);
/* Its section: "smtp", "words" or "reasons". */
const char *dm_reasons_section(dm_reason_id id);
const char *dm_reasons_vars(dm_reason_id id);

/* The text of id with its {{names}} replaced (a new string): the
 * arguments are name, value pairs ending with NULL.  A value the text
 * names but the caller did not give is empty. */
char *dm_reasons_text(const dm_reasons *r, dm_reason_id id, ...) G_GNUC_NULL_TERMINATED;
/* The same, added to v as a reason of rule (which keeps id and the
 * values: dm_reason.key, dm_reason.values). */
void dm_reasons_add(dm_verdict *v, const dm_reasons *r, const char *rule, dm_reason_id id,
                    ...) G_GNUC_NULL_TERMINATED;

/* [sentences]: the reasons a notice may give, each as a whole sentence
 * to the person it goes to ("Meddelandet nämner ärende BN 2026/51, som
 * finns i diariet."), with the values of the reason's own text.  The
 * reasons about who gets what (copy, no_fullmakt, absent_*, ...) and the
 * R14 ones have none: the notice's own text says that. */
bool dm_reasons_has_sentence(dm_reason_id id);
/* The sentence for reason (a new string), or NULL when it has none (a
 * reason not from the catalogue, or a key without a sentence).  facts
 * false (a notice about a sekretess message): NULL too for a sentence
 * that names the message's own words (hits, citation, contact, what,
 * how, type). */
char *dm_reasons_sentence(const dm_reasons *r, const dm_reason *reason, bool facts);

#endif
