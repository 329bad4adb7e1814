/*
 * dm_segwords: how people's mail marks its parts, as the site writes it
 * (etc/rules.conf, [replies] and [segments]): the words mime/ cuts a
 * message's text into segments by (dm_segment), and the languages it
 * tells apart.  Loaded with the rules (policy/ reads the file and hands
 * the words to mime/ through dm_mime_limits).
 *
 * Entries are compared without regard to case; every list may be empty.
 */
#ifndef DM_SEGWORDS_H
#define DM_SEGWORDS_H

#include <glib.h>
#include <stdbool.h>

typedef struct dm_seg_words {
    /* [replies] */
    char **header_from;      /* a quoted header's first line: "Från:" */
    char **header_more;      /* ... and one of the five after it: "Skickat:" */
    char **separator;        /* a line that starts the earlier message */
    char **wrote;            /* "skrev": "Den ... skrev:" starts it */
    char **forward;          /* a line that starts a forwarded message */
    char **reply_prefixes;   /* subject prefixes of replies, lowercase: "re" */
    char **forward_prefixes; /* ... of forwards: "vb" */
    /* How mime/ writes a message attached whole into the text, as a mail
     * client shows a forward (so that forward and header_from above find
     * it): its first line, and the words before its From, Date and
     * Subject ("Från:").  Empty without a rules file: then not written. */
    char *forward_line, *forward_from, *forward_date, *forward_subject;
    /* [segments], casefolded (g_utf8_casefold) */
    char **signoff;          /* a line that begins the sender's sign-off */
    char **footer;           /* words of list footers and disclaimers */
    char **stub;             /* a plain-text part that only points to the HTML */
    char **languages;        /* ISO 639-1 codes told apart, "sv" first */
    char *profiles;          /* directory of libexttextcat's fingerprints */
    /* First bytes (ASCII upper case) of header_from, separator and
     * forward, and of signoff: most lines are passed over on their first
     * byte. */
    guint8 first_from[32], first_separator[32], first_forward[32], first_signoff[32];
    /* The first three bytes of each footer entry, hashed (dm_seg_tri):
     * most places of a line are passed over on them. */
    guint8 footer_tri[8192];

    /* The language classifier mime/ makes from languages and profiles on
     * first use (set once, atomically), freed with the words. */
    gpointer langid;
    GDestroyNotify langid_free;
} dm_seg_words;

/* [replies] and [segments] of a rules file: every key of [replies] must
 * be there (policy checks it); [segments] and its keys may be absent (empty lists, the
 * default languages and profiles).  NULL and err set on an unknown key
 * of [segments] or a language without its fingerprint file. */
dm_seg_words *dm_seg_words_load(GKeyFile *kf, GError **err);
void dm_seg_words_free(dm_seg_words *w);

/* The bit of three bytes in a footer_tri-like set of 65536 bits. */
static inline guint dm_seg_tri(const char *s)
{
    return ((guint)(guint8)s[0] * 961u + (guint)(guint8)s[1] * 31u + (guint)(guint8)s[2]) & 0xFFFFu;
}

/* Does the line s[0, len) begin with one of words, after blanks and
 * "*" (ASCII case ignored)? */
bool dm_seg_words_line_starts(const char *s, size_t len, char *const *words);

#endif
