/*
 * dm_verdict: what the rules decided about one message, and why.
 */
#ifndef DM_VERDICT_H
#define DM_VERDICT_H

#include <glib.h>
#include <stdbool.h>

/* Classes, weakest first, so that "the strongest class wins" is a max(). */
typedef enum {
    DM_CLASS_NONE = -1, /* rejected: no class */
    DM_CLASS_PRIVAT = 0,
    DM_CLASS_PARTI,
    DM_CLASS_INTERN,
    DM_CLASS_RINGA,
    DM_CLASS_ALLMAN,
    DM_CLASS_REGISTRERAS,
} dm_class;

const char *dm_class_name(dm_class c); /* "registreras", ... ; "-" for NONE */
bool dm_class_from_name(const char *name, dm_class *c);
/* privat and parti: never copied, forwarded or journaled with details. */
bool dm_class_is_private(dm_class c);

typedef enum {
    DM_DIR_INBOUND,   /* from outside to the municipality */
    DM_DIR_OUTBOUND,  /* from the municipality out */
    DM_DIR_INTERNAL,  /* between internal parties */
    DM_DIR_EXTERNAL,  /* neither side known: passing through */
} dm_direction;

const char *dm_direction_name(dm_direction d);

typedef enum {
    DM_ACT_COPY,           /* registrator copy */
    DM_ACT_NOTICE,         /* notice to a person who must act */
    DM_ACT_FORWARD,        /* absence: forward to the delegate */
    DM_ACT_MANAGER_NOTICE, /* absence: the mailbox is unwatched */
    DM_ACT_AUTOREPLY_REMINDER, /* an auto-reply names no other contact */
} dm_action_type;

const char *dm_action_type_name(dm_action_type t); /* as corpus-eval spells it */

/* Why a notice is sent: picks the template. */
typedef enum {
    DM_NOTICE_NONE = 0,
    DM_NOTICE_REGISTER_INBOUND,  /* no fullmakt: open it and have it registered */
    DM_NOTICE_REGISTER_OUTBOUND, /* politician without fullmakt sent it */
    DM_NOTICE_COPIED,            /* politician told that a copy went */
    DM_NOTICE_JUDGE_PRIVATE,     /* in doubt whether private: you judge */
    DM_NOTICE_UNWATCHED,         /* manager: the mailbox is unwatched */
    DM_NOTICE_AUTOREPLY,         /* auto-reply should name someone else */
} dm_notice_kind;

typedef struct dm_action {
    dm_action_type type;
    char *to;          /* address the action goes to */
    char *party;       /* the party it is for (recipient/sender address) */
    char *party_name;  /* the party's name, for notices; may be NULL */
    char *myndighet;   /* myndighet concerned, may be NULL */
    char *registrar;   /* a notice: the registrator of that myndighet, whom
                        * the person forwards the message to; may be NULL */
    dm_notice_kind notice;
} dm_action;

typedef struct dm_reason {
    char *rule; /* "R6.3", "R14", "limit", ... */
    char *text; /* what triggered it, for people */
    /* Where the words came from, so that they can be said again another
     * way (a notice's sentences, dm_reasons_sentence): the catalogue key
     * (a dm_reason_id, dm_reasons.h), -1 for a reason not from the
     * catalogue; and the values its text was given, name and value in
     * turn, NULL-terminated (NULL when none). */
    int key;
    char **values;
} dm_reason;

typedef struct dm_verdict {
    dm_class klass;
    bool sekretess;
    dm_direction direction;
    bool reject;
    char *reject_code;  /* "550" */
    char *reject_xcode; /* "5.7.1" */
    char *reject_text;
    char *case_dnr;     /* first cited case found in the diarium, or NULL */
    char *myndighet;    /* myndighet concerned for the message as a whole */
    GPtrArray *actions; /* dm_action * */
    GPtrArray *reasons; /* dm_reason * */
} dm_verdict;

dm_verdict *dm_verdict_new(void);
void dm_verdict_free(dm_verdict *v);
void dm_verdict_add_reason(dm_verdict *v, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds an action unless one of the same type to the same address exists;
 * returns the action (new or existing). */
dm_action *dm_verdict_add_action(dm_verdict *v, dm_action_type type, const char *to,
                                 const char *party);
bool dm_verdict_has_action(const dm_verdict *v, dm_action_type type, const char *to);
size_t dm_verdict_count_actions(const dm_verdict *v, dm_action_type type);

/* The JSON object ../shared/tools/corpus-eval reads. */
void dm_verdict_to_json(const dm_verdict *v, GString *out);

#endif
