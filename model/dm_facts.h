/*
 * dm_facts: everything the rules look at, gathered before they run.
 *
 * The rules (dm_policy_*) are pure functions from these facts to a
 * verdict: no I/O, no clock, no directory.  The other modules produce the
 * facts: mime/ the message facts (dm_msg), ldap/ the directory entries
 * (dm_entry, dm_registrar), store/ the case index (dm_case_index).
 */
#ifndef DM_FACTS_H
#define DM_FACTS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm_case.h"

/* diarieRole values, as the directory spells them. */
typedef enum {
    DM_ROLE_FORTROENDEVALD = 1 << 0,       /* "fortroendevald" */
    DM_ROLE_TJANSTEMAN = 1 << 1,           /* "tjansteman" */
    DM_ROLE_REGISTRATOR = 1 << 2,          /* "registrator" */
    DM_ROLE_FUNKTIONSBREVLADA = 1 << 3,    /* "funktionsbrevlada" */
    DM_ROLE_FORVALTNINGSBREVLADA = 1 << 4, /* "forvaltningsbrevlada" */
    DM_ROLE_LISTA = 1 << 5,                /* "lista" */
} dm_role;

#define DM_ROLE_MAILBOX \
    (DM_ROLE_REGISTRATOR | DM_ROLE_FUNKTIONSBREVLADA | DM_ROLE_FORVALTNINGSBREVLADA)

/* Parse one diarieRole value; 0 when unknown. */
unsigned dm_role_from_name(const char *name);

/* One directory entry, as the rules need it.  Reference counted so that
 * the directory cache can hand the same entry to several threads. */
typedef struct dm_entry {
    gint refcount;
    char *dn;
    char *name;            /* cn, for notices */
    char *login;           /* uid */
    char *mail;            /* the entry's official address, lowercase */
    char **private_mail;   /* diariePrivateMail, lowercase, NULL-terminated */
    char *routing;         /* mailRoutingAddress: where the person reads mail */
    unsigned roles;        /* dm_role bits */
    char **myndigheter;    /* diarieMyndighet values, in directory order */
    bool fullmakt;         /* diarieFullmakt: TRUE */
    int64_t absent_from;   /* Unix seconds; 0 when not set */
    int64_t absent_until;  /* Unix seconds; 0 when not set */
    char *delegate_dn;
    char *delegate_mail;   /* resolved from delegate_dn, NULL if unresolved */
    char *manager_dn;
    char *manager_mail;    /* resolved from manager_dn, NULL if unresolved */
    bool comm_member;      /* member of the communications-unit group */
} dm_entry;

dm_entry *dm_entry_new(void);
dm_entry *dm_entry_ref(dm_entry *e);
void dm_entry_unref(dm_entry *e);
bool dm_entry_is_person(const dm_entry *e);   /* not a mailbox, not a list */
bool dm_entry_is_politician(const dm_entry *e); /* a person and fortroendevald */
bool dm_entry_is_mailbox(const dm_entry *e);  /* functional, förvaltning, registrator */
bool dm_entry_is_list(const dm_entry *e);
bool dm_entry_in_myndighet(const dm_entry *e, const char *myndighet);
/* Where the person reads mail: mailRoutingAddress, else mail. */
const char *dm_entry_notice_address(const dm_entry *e);

/* A registrator mailbox and the myndigheter it registers for. */
typedef struct dm_registrar {
    char *mail;
    char **myndigheter;
} dm_registrar;

typedef struct dm_registrars {
    gint refcount;
    GPtrArray *items; /* dm_registrar * */
} dm_registrars;

dm_registrars *dm_registrars_new(void);
void dm_registrars_add(dm_registrars *r, const char *mail, char **myndigheter);
dm_registrars *dm_registrars_ref(dm_registrars *r);
void dm_registrars_unref(dm_registrars *r);
/* The registrator mailbox for a myndighet, or NULL. */
const char *dm_registrars_for(const dm_registrars *r, const char *myndighet);

/* What became of reading an attachment's text (mime/ through extract/). */
typedef enum {
    DM_ATT_NOT_TRIED = 0, /* no reading configured (or an attached message) */
    DM_ATT_READ,          /* text read */
    DM_ATT_NO_TEXT,       /* readable, but no text in it (a scan) */
    DM_ATT_ENCRYPTED,
    DM_ATT_UNSUPPORTED,   /* not a type that is read (an image, a zip) */
    DM_ATT_FAILED,        /* damaged, or its reader crashed */
    DM_ATT_TIMEOUT,
    DM_ATT_LIMIT,         /* too large, too many, a zip bomb */
} dm_att_status;

/* "read", "no text", ... */
const char *dm_att_status_name(dm_att_status s);

/* An attachment, and the text read from it. */
typedef struct dm_attachment {
    char *filename;     /* UTF-8, may be NULL */
    char *content_type; /* "application/pdf" */
    size_t size;        /* decoded size in bytes, as far as known */
    dm_att_status status;
    char *format;       /* what it was read as ("pdf", "docx", "text"), or NULL */
    char *text;         /* valid UTF-8 (pages of a PDF separated by \f), at
                         * most [mime] max_attachment_text; NULL unless read */
    unsigned pages;     /* pages, sheets or slides read */
    bool cut;           /* a limit stopped the reading part way */
} dm_attachment;

/* What a stretch of the message is (issue 14, docs/ARCHITECTURE.md): the
 * rules weigh each kind differently. */
typedef enum {
    DM_SEG_SUBJECT,         /* the decoded Subject (adjacent encoded words joined) */
    DM_SEG_BODY,            /* the sender's own new text */
    DM_SEG_QUOTED,          /* quoted history of a reply ("> ", "Den ... skrev:",
                             * Outlook's "Från: ... Skickat: ..." block) */
    DM_SEG_FORWARDED,       /* a forwarded message, inline or attached */
    DM_SEG_SIGNATURE,       /* "-- " and the sender's sign-off block */
    DM_SEG_FOOTER,          /* list footers, disclaimers, unsubscribe text */
    DM_SEG_ATTACHMENT_NAME, /* an attachment's file name (RFC 2231 decoded) */
    DM_SEG_ATTACHMENT,      /* text read from an attachment (extract/) */
    DM_SEG_CALENDAR,        /* a calendar invitation's SUMMARY, DESCRIPTION, LOCATION */
} dm_seg_kind;

#define DM_SEG_KINDS (DM_SEG_CALENDAR + 1)

/* One stretch of what the rules read, in the message's order. */
typedef struct dm_segment {
    dm_seg_kind kind;
    char *text;   /* valid UTF-8 without NUL, NUL-terminated, never empty */
    size_t len;   /* strlen(text) */
    char *source; /* the attachment's file name (ATTACHMENT, ATTACHMENT_NAME,
                   * CALENDAR from a file), or NULL */
    int page;     /* page of an attachment, 0 when none */
    char lang[4]; /* ISO 639-1 ("sv", "en", "fi", "ar", ...), "" when
                   * unknown or too short to tell */
} dm_segment;

/* "subject", "body", "quoted", ...: for --explain and the tests. */
const char *dm_seg_kind_name(dm_seg_kind kind);
/* A new segment of text[0, len) (copied; len may be -1 for strlen). */
dm_segment *dm_segment_new(dm_seg_kind kind, const char *text, gssize len);
void dm_segment_free(dm_segment *s);

/* One header of the message, decoded to UTF-8 (RFC 2047). */
typedef struct dm_header {
    char *name;
    char *value;
} dm_header;

/* What mime/ extracts from a message. */
typedef struct dm_msg {
    char *subject;        /* decoded, UTF-8, "" when absent */
    char *from_addr;      /* addr-spec of From:, lowercase, "" when absent */
    char *from_display;   /* From: as a person would read it */
    char *message_id;     /* without <>, "" when absent */
    char *date;           /* Date: as written */
    char *in_reply_to;    /* its Message-ID without <>, NULL when absent */
    char *references;     /* Message-IDs without <>, one blank between them */
    char *forwarded_ids;  /* Message-IDs of the messages attached to it
                           * (message/rfc822 and the like), the same way;
                           * NULL when none */
    GString *text;        /* every text part in order, valid UTF-8 (goes once
                           * the rules read segments only) */
    GPtrArray *segments;  /* dm_segment *, in the message's order: the
                           * subject, then the text as the structure cuts
                           * it, attachment names; only non-empty ones */
    char lang[4];         /* the message's main language (of its subject,
                           * body and forwarded text), "" when unknown */
    GPtrArray *headers;   /* dm_header *, top-level headers in order */
    GPtrArray *attachments; /* dm_attachment *, in the message's order */
    GPtrArray *limits;    /* char *: limits reached while reading, for reasons */

    /* Markers of mail of ringa importance (R7). */
    char *auto_submitted; /* Auto-Submitted value, NULL when absent */
    bool auto_reply;      /* RFC 3834, X-Autoreply, Exchange auto-reply forms */
    bool bulk;            /* Precedence: bulk/list/junk */
    bool list;            /* List-Id or List-Unsubscribe */
    char *list_id;
    bool report;          /* multipart/report: DSN or MDN */
    char *report_type;    /* "delivery-status", "disposition-notification" */
    bool spam;            /* a spam filter's verdict header says spam */
    char *spam_header;    /* which header said so */

    bool malformed;       /* GMime had to guess; classified on what was read */
    bool header_8bit;     /* raw 8-bit bytes in a header, at any level: the
                           * message needs SMTPUTF8 to travel as it is */
    size_t size;          /* bytes of the message as received */
} dm_msg;

dm_msg *dm_msg_new(void);
void dm_msg_free(dm_msg *m);
/* First header value by name (case-insensitive), or NULL. */
const char *dm_msg_header(const dm_msg *m, const char *name);

/* A party of the message: an envelope address and what the directory says
 * of it (NULL: not in the directory, so outside the municipality). */
typedef struct dm_party {
    char *addr;           /* normalized envelope address */
    dm_entry *entry;      /* owned reference, or NULL */
    bool autoreply_absent; /* an auto-reply from this person left recently */
} dm_party;

/* Facts the rules decide on. */
typedef struct dm_facts {
    const char *env_from;       /* normalized MAIL FROM, "" for <> */
    const char *auth;           /* SASL login, or NULL */
    bool from_internal_network; /* the client is in [milter] internal_networks */
    dm_party sender;            /* sender.entry from auth login or address */
    dm_party *rcpts;            /* envelope recipients, in order */
    size_t n_rcpts;
    unsigned sender_window_rcpts; /* distinct recipients of this sender inside
                                   * the mass window, this message included */
    const dm_msg *msg;          /* NULL at the DATA stage */
    const dm_case_index *cases; /* may be NULL: no diarium imported */
    const dm_registrars *registrars; /* may be NULL: directory offline */
    int64_t now;                /* Unix seconds */
} dm_facts;

#endif
