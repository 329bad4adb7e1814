/*
 * diariectl directory lookup [--login] ADDR...
 *     What the directory says of each address (or login), as the rules
 *     will see it.
 * diariectl directory check
 *     Walk the directory and report what the rules need and lack:
 *     functional and förvaltning mailboxes watched by fewer than two
 *     people (R11), absent people with neither fullmakt nor delegate
 *     (R13), people with no myndighet, addresses that break the name
 *     standard firstname.lastname@domain (R16).
 *
 * Exit status: 0 all found / nothing to report, 1 not found / findings,
 * 75 the directory did not answer (the message names the server and why),
 * 64 usage, 78 configuration.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dm_ctl.h"
#include "dm_ldap.h"
#include "dm_log.h"
#include "dm_util.h"

#define DM_EX_FINDINGS 1

static const struct {
    unsigned bit;
    const char *name;
} dm_ctl_roles[] = {
    {DM_ROLE_FORTROENDEVALD, "fortroendevald"},
    {DM_ROLE_TJANSTEMAN, "tjansteman"},
    {DM_ROLE_REGISTRATOR, "registrator"},
    {DM_ROLE_FUNKTIONSBREVLADA, "funktionsbrevlada"},
    {DM_ROLE_FORVALTNINGSBREVLADA, "forvaltningsbrevlada"},
    {DM_ROLE_LISTA, "lista"},
};

static const char *dm_ctl_kind(const dm_entry *e)
{
    if (dm_entry_is_list(e))
        return "mass list";
    if (e->roles & DM_ROLE_REGISTRATOR)
        return "registrator mailbox";
    if (e->roles & DM_ROLE_FORVALTNINGSBREVLADA)
        return "förvaltning mailbox";
    if (e->roles & DM_ROLE_FUNKTIONSBREVLADA)
        return "functional mailbox";
    if (e->roles & DM_ROLE_FORTROENDEVALD)
        return "person (förtroendevald)";
    if (e->roles & DM_ROLE_TJANSTEMAN)
        return "person (tjänsteman)";
    return "person (no role)";
}

static char *dm_ctl_role_names(unsigned roles)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(dm_ctl_roles); i++) {
        if (roles & dm_ctl_roles[i].bit)
            g_string_append_printf(s, "%s%s", s->len ? "," : "", dm_ctl_roles[i].name);
    }
    if (s->len == 0)
        g_string_append(s, "-");
    return g_string_free(s, FALSE);
}

static bool dm_ctl_absent(const dm_entry *e, int64_t now)
{
    if (e->absent_from == 0 && e->absent_until == 0)
        return false;
    return (e->absent_from == 0 || e->absent_from <= now) &&
           (e->absent_until == 0 || now <= e->absent_until);
}

static char *dm_ctl_time(int64_t t)
{
    char buf[32];

    if (t == 0)
        return g_strdup("-");
    dm_time_format_iso8601(t, buf, sizeof buf);
    return g_strdup(buf);
}

static char *dm_ctl_strv(char **v, const char *sep)
{
    return v != NULL && v[0] != NULL ? g_strjoinv(sep, v) : g_strdup("-");
}

/* A DN with the mail it resolved to: "DN <mail>", "DN (no mail)", "-". */
static char *dm_ctl_dn_mail(const char *dn, const char *mail)
{
    if (dn == NULL)
        return g_strdup("-");
    if (mail == NULL)
        return g_strdup_printf("%s (no mail address: unresolved)", dn);
    return g_strdup_printf("%s <%s>", dn, mail);
}

static void dm_ctl_print_entry(const char *what, const dm_entry *e, int64_t now)
{
    char *roles = dm_ctl_role_names(e->roles);
    char *myn = dm_ctl_strv(e->myndigheter, ",");
    char *priv = dm_ctl_strv(e->private_mail, ",");
    char *from = dm_ctl_time(e->absent_from), *until = dm_ctl_time(e->absent_until);
    char *del = dm_ctl_dn_mail(e->delegate_dn, e->delegate_mail);
    char *man = dm_ctl_dn_mail(e->manager_dn, e->manager_mail);

    printf("%s\n", what);
    printf("  dn:          %s\n", dm_ctl_safe(e->dn));
    printf("  name:        %s\n", dm_ctl_safe(e->name ? e->name : "-"));
    printf("  kind:        %s\n", dm_ctl_kind(e));
    printf("  roles:       %s\n", dm_ctl_safe(roles));
    printf("  myndigheter: %s\n", dm_ctl_safe(myn));
    printf("  mail:        %s\n", dm_ctl_safe(e->mail ? e->mail : "-"));
    printf("  login:       %s\n", dm_ctl_safe(e->login ? e->login : "-"));
    printf("  fullmakt:    %s\n", e->fullmakt ? "yes" : "no");
    printf("  absence:     %s .. %s\n", dm_ctl_safe(from), dm_ctl_safe(until));
    printf("  absent_now:  %s\n", dm_ctl_absent(e, now) ? "yes" : "no");
    printf("  delegate:    %s\n", dm_ctl_safe(del));
    printf("  manager:     %s\n", dm_ctl_safe(man));
    printf("  routing:     %s\n", dm_ctl_safe(e->routing ? e->routing : "-"));
    printf("  private:     %s\n", dm_ctl_safe(priv));
    printf("  comm_unit:   %s\n", e->comm_member ? "yes" : "no");
    g_free(roles);
    g_free(myn);
    g_free(priv);
    g_free(from);
    g_free(until);
    g_free(del);
    g_free(man);
}

static int dm_ctl_directory_lookup(dm_ldap *l, char **args, bool login, int64_t now)
{
    int rc = DM_EX_OK;

    for (char **a = args; *a != NULL; a++) {
        GError *err = NULL;
        dm_entry *e = NULL;
        char *key = login ? g_strstrip(g_strdup(*a)) : dm_addr_normalize(*a);
        dm_ldap_status st = login ? dm_ldap_lookup_login(l, key, &e, &err)
                                  : dm_ldap_lookup_address(l, key, &e, &err);

        switch (st) {
        case DM_LDAP_FOUND:
            dm_ctl_print_entry(key, e, now);
            dm_entry_unref(e);
            break;
        case DM_LDAP_NOT_FOUND:
            printf("%s\n  not in the directory\n", dm_ctl_safe(key));
            if (rc == DM_EX_OK)
                rc = DM_EX_FINDINGS;
            break;
        case DM_LDAP_ERROR:
            fprintf(stderr, "diariectl directory lookup: %s: the directory did not answer: %s\n",
                    dm_ctl_safe(key), dm_ctl_safe(err->message));
            g_error_free(err);
            rc = DM_EX_TEMPFAIL;
            break;
        }
        g_free(key);
    }
    return rc;
}

/* --- check --------------------------------------------------------------- */

typedef struct {
    dm_ldap *l;
    GPtrArray *records;   /* dm_ldap_record *, the walk, in order */
    GHashTable *by_dn;    /* dn key -> dm_ldap_record * (walked or read) */
    GPtrArray *extra;     /* records read outside the walk */
    GHashTable *missing;  /* dn keys that do not exist */
    GError *err;          /* the directory failed */
    unsigned findings;
} dm_ctl_check;

static bool dm_ctl_collect(dm_ldap_record *r, void *data)
{
    dm_ctl_check *ck = data;

    g_ptr_array_add(ck->records, r);
    g_hash_table_insert(ck->by_dn, dm_ldap_dn_key(r->entry->dn), r);
    return true;
}

/* The record at dn, from the walk or read now; NULL when there is none
 * (or the directory failed: ck->err). */
static dm_ldap_record *dm_ctl_record(dm_ctl_check *ck, const char *dn)
{
    char *key = dm_ldap_dn_key(dn);
    dm_ldap_record *r = g_hash_table_lookup(ck->by_dn, key);

    if (r == NULL && ck->err == NULL && !g_hash_table_contains(ck->missing, key)) {
        switch (dm_ldap_read_dn(ck->l, dn, &r, &ck->err)) {
        case DM_LDAP_FOUND:
            g_ptr_array_add(ck->extra, r);
            g_hash_table_insert(ck->by_dn, g_strdup(key), r);
            break;
        case DM_LDAP_NOT_FOUND:
            g_hash_table_add(ck->missing, g_strdup(key));
            break;
        case DM_LDAP_ERROR:
            r = NULL;
            break;
        }
    }
    g_free(key);
    return r;
}

/* A person as the checks see one: not a mailbox, not a list, not a group. */
static bool dm_ctl_is_person(const dm_ldap_record *r)
{
    return dm_entry_is_person(r->entry) && r->members == NULL;
}

static bool dm_ctl_is_group(const dm_ldap_record *r)
{
    return dm_entry_is_person(r->entry) && r->members != NULL;
}

/* The persons among dns, through groups of them (depth-limited). */
static void dm_ctl_watchers(dm_ctl_check *ck, char **dns, int depth, GHashTable *seen,
                            GPtrArray *persons)
{
    for (char **d = dns; d != NULL && *d != NULL && ck->err == NULL; d++) {
        dm_ldap_record *w = dm_ctl_record(ck, *d);

        if (w == NULL || !g_hash_table_add(seen, dm_ldap_dn_key(*d)))
            continue;
        if (dm_ctl_is_person(w))
            g_ptr_array_add(persons, w);
        else if (dm_ctl_is_group(w) && depth < 8)
            dm_ctl_watchers(ck, w->members, depth + 1, seen, persons);
    }
}

static void dm_ctl_finding(dm_ctl_check *ck, const char *rule, const dm_entry *e,
                           const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void dm_ctl_finding(dm_ctl_check *ck, const char *rule, const dm_entry *e,
                           const char *fmt, ...)
{
    va_list ap;
    char *text;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    printf("%-12s %s (%s): %s\n", dm_ctl_safe(rule), dm_ctl_safe(e->mail ? e->mail : "-"),
           dm_ctl_safe(e->dn), dm_ctl_safe(text));
    g_free(text);
    ck->findings++;
}

/* R11: a functional or förvaltning mailbox needs two watchers. */
static void dm_ctl_check_mailbox(dm_ctl_check *ck, const dm_ldap_record *r, int64_t now)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GPtrArray *persons = g_ptr_array_new();

    dm_ctl_watchers(ck, r->watchers, 0, seen, persons);
    if (ck->err == NULL && persons->len < 2) {
        GString *who = g_string_new(NULL);

        for (guint i = 0; i < persons->len; i++) {
            const dm_entry *p = ((dm_ldap_record *)g_ptr_array_index(persons, i))->entry;
            g_string_append_printf(who, "%s%s%s", i ? ", " : "",
                                   p->mail ? p->mail : p->dn,
                                   dm_ctl_absent(p, now) ? " (absent now)" : "");
        }
        dm_ctl_finding(ck, "R11", r->entry, "%s watched by %u %s%s%s; at least two are needed",
                       dm_ctl_kind(r->entry), persons->len,
                       persons->len == 1 ? "person" : "persons", who->len ? ": " : "",
                       who->str);
        g_string_free(who, TRUE);
    }
    g_ptr_array_free(persons, TRUE);
    g_hash_table_destroy(seen);
}

/* R13: an absent person needs fullmakt or a delegate. */
static void dm_ctl_check_absence(dm_ctl_check *ck, const dm_ldap_record *r, int64_t now)
{
    const dm_entry *e = r->entry;
    char *from, *until, *manager = NULL;
    const char *problem = NULL;
    dm_ldap_record *m;

    if (!dm_ctl_absent(e, now) || e->fullmakt)
        return;
    if (e->delegate_dn != NULL) {
        dm_ldap_record *d = dm_ctl_record(ck, e->delegate_dn);
        if (ck->err != NULL)
            return;
        if (d == NULL)
            problem = "a delegate that is not in the directory";
        else if (d->entry->mail == NULL)
            problem = "a delegate with no mail address";
        else
            return; /* covered */
    }
    if (e->manager_dn != NULL && (m = dm_ctl_record(ck, e->manager_dn)) != NULL &&
        m->entry->mail != NULL)
        manager = g_strdup_printf("; manager %s", m->entry->mail);
    if (ck->err != NULL) {
        g_free(manager);
        return;
    }
    from = dm_ctl_time(e->absent_from);
    until = dm_ctl_time(e->absent_until);
    dm_ctl_finding(ck, "R13", e,
                   "absent (%s .. %s) with no fullmakt and %s: the mailbox is unwatched%s",
                   from, until, problem != NULL ? problem : "no delegate",
                   manager != NULL ? manager : "; no manager either");
    g_free(from);
    g_free(until);
    g_free(manager);
}

/* A name as it may appear in an address: lower case, å ä → a, ö → o, other
 * marks dropped (é → e, ü → u), a few letters spelt out; split into words
 * at spaces and hyphens; anything else dropped ("O'Brien" → "obrien"). */
static char **dm_ctl_name_words(const char *name)
{
    char *low = g_utf8_strdown(name, -1);
    char *nfd = g_utf8_normalize(low, -1, G_NORMALIZE_NFD);
    GPtrArray *words = g_ptr_array_new();
    GString *w = g_string_new(NULL);

    for (const char *p = nfd != NULL ? nfd : ""; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar ch = g_utf8_get_char(p);

        if (g_unichar_ismark(ch))
            continue;
        if (ch < 0x80 && g_ascii_isalnum((char)ch)) {
            g_string_append_c(w, (char)ch);
        } else if (ch == ' ' || ch == '-' || ch == 0x2010 || ch == 0x2011 || ch == '\t' ||
                   ch == '.') {
            if (w->len > 0) {
                g_ptr_array_add(words, g_strdup(w->str));
                g_string_truncate(w, 0);
            }
        } else {
            switch (ch) {
            case 0x00f8: g_string_append(w, "o"); break;   /* ø */
            case 0x00e6: g_string_append(w, "ae"); break;  /* æ */
            case 0x00df: g_string_append(w, "ss"); break;  /* ß */
            case 0x0142: g_string_append(w, "l"); break;   /* ł */
            case 0x00f0: g_string_append(w, "d"); break;   /* ð */
            case 0x00fe: g_string_append(w, "th"); break;  /* þ */
            default: break; /* apostrophes and the like */
            }
        }
    }
    if (w->len > 0)
        g_ptr_array_add(words, g_strdup(w->str));
    g_string_free(w, TRUE);
    g_free(nfd);
    g_free(low);
    g_ptr_array_add(words, NULL);
    return (char **)g_ptr_array_free(words, FALSE);
}

/* Words joined by an optional . or - ("anna karin": annakarin,
 * anna.karin, anna-karin). */
static void dm_ctl_words_re(GString *re, char **words, int from, int to)
{
    g_string_append(re, "(?:");
    for (int i = from; i < to; i++) {
        char *q = g_regex_escape_string(words[i], -1);
        g_string_append_printf(re, "%s%s", i > from ? "[.-]?" : "", q);
        g_free(q);
    }
    g_string_append(re, ")");
}

/* R16: firstname.lastname@domain.  Returns the expected local part when the
 * address breaks it, else NULL.  Accepted: every given name or just the
 * first, every surname or just the last, words of one name joined by
 * nothing, "." or "-", and a number after it (anna.lind2). */
static char *dm_ctl_name_mismatch(const dm_ldap_record *r)
{
    const dm_entry *e = r->entry;
    char **given, **sur, *local, *expected = NULL;
    int ng, ns;
    GString *re;
    bool match;

    if (e->mail == NULL || r->given_name == NULL || r->surname == NULL)
        return NULL;
    given = dm_ctl_name_words(r->given_name);
    sur = dm_ctl_name_words(r->surname);
    ng = (int)g_strv_length(given);
    ns = (int)g_strv_length(sur);
    if (ng == 0 || ns == 0) {
        g_strfreev(given);
        g_strfreev(sur);
        return NULL;
    }
    local = g_strndup(e->mail, (gsize)(strchrnul(e->mail, '@') - e->mail));
    re = g_string_new("^(?:");
    dm_ctl_words_re(re, given, 0, ng);
    g_string_append(re, "|");
    dm_ctl_words_re(re, given, 0, 1);
    g_string_append(re, ")\\.(?:");
    dm_ctl_words_re(re, sur, 0, ns);
    g_string_append(re, "|");
    dm_ctl_words_re(re, sur, ns - 1, ns);
    g_string_append(re, ")[0-9]*$");
    match = g_regex_match_simple(re->str, local, 0, 0);
    if (!match) {
        /* A suggestion: the words of each name joined by hyphens. */
        char *g = g_strjoinv("-", given), *s = g_strjoinv("-", sur);

        expected = g_strdup_printf("%s.%s", g, s);
        g_free(g);
        g_free(s);
    }
    g_string_free(re, TRUE);
    g_free(local);
    g_strfreev(given);
    g_strfreev(sur);
    return expected;
}

/* An address (mail or private) held by more than one entry: a lookup
 * finds either, and the daemon's log says only that it happened. */
static void dm_ctl_check_ambiguous(dm_ctl_check *ck)
{
    GHashTable *holder = g_hash_table_new(g_str_hash, g_str_equal);

    for (guint i = 0; i < ck->records->len; i++) {
        const dm_entry *e = ((const dm_ldap_record *)g_ptr_array_index(ck->records, i))->entry;
        GPtrArray *addrs = g_ptr_array_new();

        if (e->mail != NULL)
            g_ptr_array_add(addrs, e->mail);
        for (char **p = e->private_mail; p != NULL && *p != NULL; p++)
            g_ptr_array_add(addrs, *p);
        for (guint k = 0; k < addrs->len; k++) {
            const char *a = g_ptr_array_index(addrs, k);
            const dm_entry *first = g_hash_table_lookup(holder, a);

            if (first == NULL)
                g_hash_table_insert(holder, (gpointer)a, (gpointer)e);
            else if (first != e)
                dm_ctl_finding(ck, "ambiguous", e,
                               "the address %s is also held by %s: a lookup finds either",
                               a, first->dn);
        }
        g_ptr_array_free(addrs, TRUE);
    }
    g_hash_table_destroy(holder);
}

static int dm_ctl_directory_check(dm_ldap *l, int64_t now)
{
    dm_ctl_check ck = {0};
    GError *err = NULL;
    unsigned persons = 0, mailboxes = 0, lists = 0, groups = 0;
    int rc;

    ck.l = l;
    ck.records = g_ptr_array_new_with_free_func((GDestroyNotify)dm_ldap_record_free);
    ck.extra = g_ptr_array_new_with_free_func((GDestroyNotify)dm_ldap_record_free);
    ck.by_dn = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ck.missing = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    if (dm_ldap_walk(l, dm_ctl_collect, &ck, &err) == DM_LDAP_ERROR) {
        fprintf(stderr, "diariectl directory check: cannot read the directory: %s\n",
                dm_ctl_safe(err->message));
        g_error_free(err);
        rc = DM_EX_TEMPFAIL;
        goto out;
    }
    for (guint i = 0; i < ck.records->len && ck.err == NULL; i++) {
        const dm_ldap_record *r = g_ptr_array_index(ck.records, i);
        const dm_entry *e = r->entry;

        if (dm_entry_is_list(e)) {
            lists++;
        } else if (dm_entry_is_mailbox(e)) {
            mailboxes++;
            dm_ctl_check_mailbox(&ck, r, now);
        } else if (dm_ctl_is_group(r)) {
            groups++;
        } else {
            char *expected;

            persons++;
            dm_ctl_check_absence(&ck, r, now);
            if (e->myndigheter == NULL || e->myndigheter[0] == NULL)
                dm_ctl_finding(&ck, "no myndighet", e,
                               "a person with no myndighet: the rules cannot tell "
                               "internal mail from mail between myndigheter (R5)");
            expected = dm_ctl_name_mismatch(r);
            if (expected != NULL) {
                dm_ctl_finding(&ck, "R16", e,
                               "the address does not follow firstname.lastname@domain "
                               "(expected %s@%s)",
                               expected, dm_addr_domain(e->mail));
                g_free(expected);
            }
        }
    }
    if (ck.err == NULL)
        dm_ctl_check_ambiguous(&ck);
    if (ck.err != NULL) {
        fprintf(stderr, "diariectl directory check: cannot read the directory: %s\n",
                dm_ctl_safe(ck.err->message));
        g_clear_error(&ck.err);
        rc = DM_EX_TEMPFAIL;
        goto out;
    }
    printf("checked %u entries: %u persons, %u mailboxes, %u lists, %u groups; %u %s\n",
           ck.records->len, persons, mailboxes, lists, groups, ck.findings,
           ck.findings == 1 ? "finding" : "findings");
    rc = ck.findings > 0 ? DM_EX_FINDINGS : DM_EX_OK;
out:
    g_hash_table_destroy(ck.by_dn);
    g_hash_table_destroy(ck.missing);
    g_ptr_array_free(ck.records, TRUE);
    g_ptr_array_free(ck.extra, TRUE);
    return rc;
}

/* --- dispatch -------------------------------------------------------------- */

#define DM_CTL_DIRECTORY_USAGE "lookup [--login] ADDR... | check"

int dm_ctl_directory(int argc, char **argv)
{
    char *conf_path = NULL, *now_s = NULL;
    gboolean login = FALSE;
    char **args = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"login", 'l', 0, G_OPTION_ARG_NONE, &login, "lookup: the arguments are logins",
         NULL},
        {"now", 0, 0, G_OPTION_ARG_STRING, &now_s,
         "judge absence at this time (ISO 8601) instead of now", "TIME"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new(DM_CTL_DIRECTORY_USAGE);
    GError *err = NULL;
    dm_conf *conf = NULL;
    dm_ldap *l = NULL;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    int rc = DM_EX_USAGE;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(
        oc, "lookup: what the directory says of each address (or, with --login, login):\n"
            "  role, myndigheter, fullmakt, absence, delegate, manager, forwarding and\n"
            "  private addresses, communications-unit membership.  Exit 1 when one is\n"
            "  not found.\n"
            "check: walk the directory and report what the rules need and lack:\n"
            "  R11 functional and forvaltning mailboxes watched by fewer than two people,\n"
            "  R13 absent people with neither fullmakt nor delegate, people with no\n"
            "  myndighet, R16 addresses that break firstname.lastname@domain.  Exit 1\n"
            "  when anything is found.\n"
            "Exit 75 when the directory does not answer.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl directory: %s\n", dm_ctl_safe(err->message));
        g_error_free(err);
        goto out;
    }
    if (now_s != NULL && !dm_time_parse_iso8601(now_s, &now)) {
        fprintf(stderr, "diariectl directory: --now: \"%s\" is not an ISO 8601 time "
                        "(like 2026-11-22T12:00:00Z)\n", dm_ctl_safe(now_s));
        goto out;
    }
    if (args == NULL || args[0] == NULL ||
        !((strcmp(args[0], "lookup") == 0 && args[1] != NULL) ||
          (strcmp(args[0], "check") == 0 && args[1] == NULL && !login))) {
        fprintf(stderr, "diariectl directory: " DM_CTL_DIRECTORY_USAGE "\n");
        goto out;
    }
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    l = dm_ldap_new(conf, &err);
    if (l == NULL) {
        fprintf(stderr, "diariectl directory: %s: %s\n", dm_ctl_safe(conf->path),
                dm_ctl_safe(err->message));
        g_error_free(err);
        rc = DM_EX_CONFIG;
        goto out;
    }
    /* The library logs each failure; this tool says it once, itself. */
    dm_log_stderr_only(DM_LOG_ERR);
    if (strcmp(args[0], "lookup") == 0)
        rc = dm_ctl_directory_lookup(l, args + 1, login, now);
    else
        rc = dm_ctl_directory_check(l, now);
out:
    dm_ldap_free(l);
    dm_conf_unref(conf);
    g_strfreev(args);
    g_free(conf_path);
    g_free(now_s);
    g_option_context_free(oc);
    return rc;
}
