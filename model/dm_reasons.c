#include "dm_reasons.h"

#include <stdarg.h>
#include <string.h>

#include "dm_data.h"

/* Every key of the catalogue: its section, its name, the values its text
 * may name. */
static const struct {
    const char *section;
    const char *key;
    const char *vars;
    bool sentence; /* has a sentence in [sentences]: a notice may say it */
} dm_reason_defs[DM_R_COUNT] = {
    [DM_R_MASS_REJECT] = {"smtp", "mass_reject", "why"},
    [DM_R_MASS_REJECT_INTRANET] = {"smtp", "mass_reject_intranet", "why intranet"},
    [DM_R_WHY_LIST] = {"smtp", "why_list", "list"},
    [DM_R_WHY_RECIPIENTS] = {"smtp", "why_recipients", "count"},
    [DM_R_WHY_WINDOW] = {"smtp", "why_window", "count"},
    [DM_R_RCPT_LIST] = {"words", "rcpt_list", ""},
    [DM_R_RCPT_VIA_LIST] = {"words", "rcpt_via_list", "list"},
    [DM_R_RCPT_BLIND] = {"words", "rcpt_blind", ""},
    [DM_R_SUBJECT_SEKRETESS] = {"words", "subject_sekretess", ""},
    [DM_R_ATT_NO_NAME] = {"words", "att_no_name", ""},
    [DM_R_ATT_READ] = {"words", "att_read", ""},
    [DM_R_ATT_NO_TEXT] = {"words", "att_no_text", ""},
    [DM_R_ATT_ENCRYPTED] = {"words", "att_encrypted", ""},
    [DM_R_ATT_UNSUPPORTED] = {"words", "att_unsupported", ""},
    [DM_R_ATT_FAILED] = {"words", "att_failed", ""},
    [DM_R_ATT_TIMEOUT] = {"words", "att_timeout", ""},
    [DM_R_ATT_LIMIT] = {"words", "att_limit", ""},
    [DM_R_ATT_PAGE] = {"words", "att_page", "count"},
    [DM_R_ATT_PAGES] = {"words", "att_pages", "count"},
    [DM_R_ATT_CUT] = {"words", "att_cut", ""},
    [DM_R_ATT_SIZE_KB] = {"words", "att_size_kb", "size"},
    [DM_R_ATT_SIZE_BYTES] = {"words", "att_size_bytes", "size"},
    [DM_R_MASS] = {"reasons", "mass", "why sender"},
    [DM_R_NO_MESSAGE] = {"reasons", "no_message", "", true},
    [DM_R_INTERNAL] = {"reasons", "internal", "myndighet", true},
    [DM_R_NO_REGISTRAR] = {"reasons", "no_registrar", "myndighet party"},
    [DM_R_UNKNOWN_MYNDIGHET] = {"reasons", "unknown_myndighet", ""},
    [DM_R_COPY] = {"reasons", "copy", "registrar myndighet party"},
    [DM_R_NO_FULLMAKT] = {"reasons", "no_fullmakt", "party name"},
    [DM_R_SENDER_NO_FULLMAKT] = {"reasons", "sender_no_fullmakt", "sender"},
    [DM_R_ABSENT_FORWARD] = {"reasons", "absent_forward", "party delegate"},
    [DM_R_ABSENT_MANAGER] = {"reasons", "absent_manager", "party manager"},
    [DM_R_ABSENT_UNCOVERED] = {"reasons", "absent_uncovered", "party"},
    [DM_R_AUTOREPLY_CONTACT] = {"reasons", "autoreply_contact", "contact"},
    [DM_R_AUTOREPLY_REMINDER] = {"reasons", "autoreply_reminder", "sender"},
    [DM_R_CASE_CITED] = {"reasons", "case_cited", "case", true},
    [DM_R_CASE_PARTY] = {"reasons", "case_party", "sender case", true},
    [DM_R_CASE_UNKNOWN] = {"reasons", "case_unknown", "citation", true},
    [DM_R_SEKRETESS_PNR] = {"reasons", "sekretess_pnr", "hits", true},
    [DM_R_SEKRETESS_SAMORDNING] = {"reasons", "sekretess_samordning", "hits", true},
    [DM_R_SEKRETESS_CASE] = {"reasons", "sekretess_case", "case", true},
    [DM_R_SEKRETESS] = {"reasons", "sekretess", "", true},
    [DM_R_PARTY_DOMAIN] = {"reasons", "party_domain", "address", true},
    [DM_R_PARTY] = {"reasons", "party", "hits", true},
    [DM_R_PRIVATE] = {"reasons", "private", "hits", true},
    [DM_R_FAMILY] = {"reasons", "family", "hits", true},
    [DM_R_MARKER_REPORT] = {"reasons", "marker_report", "type", true},
    [DM_R_MARKER_NULL_SENDER] = {"reasons", "marker_null_sender", "", true},
    [DM_R_MARKER_AUTOREPLY] = {"reasons", "marker_autoreply", "how", true},
    [DM_R_AUTOREPLY_UNNAMED] = {"reasons", "autoreply_unnamed", ""},
    [DM_R_MARKER_SPAM] = {"reasons", "marker_spam", "header", true},
    [DM_R_SPAM_UNNAMED] = {"reasons", "spam_unnamed", ""},
    [DM_R_MARKER_BULK] = {"reasons", "marker_bulk", "what", true},
    [DM_R_PHISHING] = {"reasons", "phishing", "hits", true},
    [DM_R_ADS] = {"reasons", "ads", "hits", true},
    [DM_R_TEMPORARY] = {"reasons", "temporary", "hits", true},
    [DM_R_OUTSIDE] = {"reasons", "outside", "hits", true},
    [DM_R_REQUEST] = {"reasons", "request", "hits", true},
    [DM_R_REFERENCE] = {"reasons", "reference", "hits", true},
    [DM_R_POLITE] = {"reasons", "polite", "hits", true},
    [DM_R_SUBJECT_HEAD] = {"reasons", "subject_head", "hits", true},
    [DM_R_SUBJECT] = {"reasons", "subject", "hits", true},
    [DM_R_OPINION] = {"reasons", "opinion", "hits", true},
    [DM_R_QUESTION] = {"reasons", "question", "words", true},
    [DM_R_INFO] = {"reasons", "info", "hits", true},
    [DM_R_INFO_HEAD] = {"reasons", "info_head", "hits", true},
    [DM_R_ALLMAN] = {"reasons", "allman", "", true},
    [DM_R_PERSON_WROTE] = {"reasons", "person_wrote", "", true},
    [DM_R_WHERE_ATTACHMENT] = {"reasons", "where_attachment", "name"},
    [DM_R_WHERE_ATTACHMENT_PAGE] = {"reasons", "where_attachment_page", "name page"},
    [DM_R_WHERE_PNR] = {"reasons", "where_pnr", "where"},
    [DM_R_WHERE_SAMORDNING] = {"reasons", "where_samordning", "where"},
    [DM_R_ONCE_MANAGER] = {"reasons", "once_manager", "manager party"},
    [DM_R_ONCE_REMINDER] = {"reasons", "once_reminder", "party"},
    [DM_R_DUPLICATE] = {"reasons", "duplicate", "row"},
    [DM_R_DUPLICATE_COPY] = {"reasons", "duplicate_copy", "to row"},
    [DM_R_DUPLICATE_NOTICE] = {"reasons", "duplicate_notice", "to row"},
    [DM_R_LIMIT_MAX_TEXT] = {"reasons", "limit_max_text", ""},
    [DM_R_LIMIT_MAX_PARTS] = {"reasons", "limit_max_parts", ""},
    [DM_R_LIMIT_MAX_DEPTH] = {"reasons", "limit_max_depth", ""},
    [DM_R_LIMIT_MAX_HEADERS] = {"reasons", "limit_max_headers", ""},
    [DM_R_LIMIT_MAX_HEADER_SIZE] = {"reasons", "limit_max_header_size", ""},
    [DM_R_LIMIT_ENCRYPTED] = {"reasons", "limit_encrypted", ""},
    [DM_R_LIMIT_UNPARSABLE] = {"reasons", "limit_unparsable", ""},
    [DM_R_ATTACHMENT_NO_TEXT] = {"reasons", "attachment_no_text", "file"},
    [DM_R_ATTACHMENT_ENCRYPTED] = {"reasons", "attachment_encrypted", "file"},
    [DM_R_ATTACHMENT_FAILED] = {"reasons", "attachment_failed", "file"},
    [DM_R_ATTACHMENT_TIMEOUT] = {"reasons", "attachment_timeout", "file"},
    [DM_R_ATTACHMENT_LIMIT] = {"reasons", "attachment_limit", "file"},
    [DM_R_ATTACHMENT_CUT] = {"reasons", "attachment_cut", "file"},
};

struct dm_reasons {
    char *text[DM_R_COUNT];
    char *sentence[DM_R_COUNT]; /* NULL where the key has none */
};

/* Values that are the message's own words (quoted phrases, a citation
 * as written, header values): never said in a notice about a sekretess
 * message. */
static const char dm_fact_vars[] = "hits citation contact what how type file where";

const char *dm_reasons_key(dm_reason_id id)
{
    return id < DM_R_COUNT ? dm_reason_defs[id].key : NULL;
}

const char *dm_reasons_section(dm_reason_id id)
{
    return id < DM_R_COUNT ? dm_reason_defs[id].section : NULL;
}

const char *dm_reasons_vars(dm_reason_id id)
{
    return id < DM_R_COUNT ? dm_reason_defs[id].vars : NULL;
}

void dm_reasons_free(dm_reasons *r)
{
    if (r == NULL)
        return;
    for (int i = 0; i < DM_R_COUNT; i++) {
        g_free(r->text[i]);
        g_free(r->sentence[i]);
    }
    g_free(r);
}

/* Is name one of the blank-separated vars? */
static bool dm_var_known(const char *vars, const char *name, size_t n)
{
    const char *p = vars;

    while (*p != '\0') {
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
        while (*p == ' ')
            p++;
    }
    return false;
}

/* Does every {{name}} of text name one of vars? */
static bool dm_check_text(const char *name, const char *key, const char *vars, const char *text,
                          bool ascii, GError **err)
{
    const char *p = text;

    if (ascii) {
        for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
            if (*c < 0x20 || *c > 0x7e) {
                g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "%s: [smtp] %s: an SMTP reply is printable ASCII (write a for "
                            "å and ä, o for ö)",
                            name, key);
                return false;
            }
        }
    }
    while ((p = strstr(p, "{{")) != NULL) {
        const char *e = strstr(p + 2, "}}");
        const char *s = p + 2;
        size_t n;

        if (e == NULL) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "%s: %s: \"{{\" without \"}}\"", name, key);
            return false;
        }
        while (s < e && *s == ' ')
            s++;
        n = (size_t)(e - s);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (!dm_var_known(vars, s, n)) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "%s: %s: no value {{%.*s}} here (%s%s)", name, key, (int)n, s,
                        *vars ? "it may name: " : "it names no value", vars);
            return false;
        }
        p = e + 2;
    }
    return true;
}

dm_reasons *dm_reasons_load_data(const char *text, gsize len, const char *name, GError **err)
{
    GKeyFile *kf = g_key_file_new();
    dm_reasons *r = g_new0(dm_reasons, 1);
    char **groups = NULL;

    if (!g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, err)) {
        g_prefix_error(err, "%s: ", name);
        goto fail;
    }
    /* Only the sections and keys of the table: a misspelt key is an
     * error, not a reason that silently went missing. */
    groups = g_key_file_get_groups(kf, NULL);
    for (char **g = groups; *g != NULL; g++) {
        char **keys;
        bool ok = true;

        bool sentences = strcmp(*g, "sentences") == 0;

        if (strcmp(*g, "smtp") != 0 && strcmp(*g, "words") != 0 &&
            strcmp(*g, "reasons") != 0 && !sentences) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                        "%s: [%s]: not a section of the catalogue ([smtp], [words], "
                        "[reasons], [sentences])",
                        name, *g);
            goto fail;
        }
        keys = g_key_file_get_keys(kf, *g, NULL, NULL);
        for (char **k = keys; ok && k != NULL && *k != NULL; k++) {
            bool found = false;
            for (int i = 0; i < DM_R_COUNT && !found; i++)
                found = sentences ? dm_reason_defs[i].sentence &&
                                        strcmp(dm_reason_defs[i].key, *k) == 0
                                  : strcmp(dm_reason_defs[i].section, *g) == 0 &&
                                        strcmp(dm_reason_defs[i].key, *k) == 0;
            if (!found) {
                g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                            "%s: [%s]: unknown key \"%s\"", name, *g, *k);
                ok = false;
            }
        }
        g_strfreev(keys);
        if (!ok)
            goto fail;
    }
    for (int i = 0; i < DM_R_COUNT; i++) {
        GError *e2 = NULL;
        char *t = g_key_file_get_string(kf, dm_reason_defs[i].section, dm_reason_defs[i].key,
                                        &e2);

        if (t == NULL) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                        "%s: [%s] %s is missing", name, dm_reason_defs[i].section,
                        dm_reason_defs[i].key);
            g_error_free(e2);
            goto fail;
        }
        r->text[i] = t;
        if (!dm_check_text(name, dm_reason_defs[i].key, dm_reason_defs[i].vars, t,
                           strcmp(dm_reason_defs[i].section, "smtp") == 0, err))
            goto fail;
        if (!dm_reason_defs[i].sentence)
            continue;
        /* The same reason said to the person a notice goes to. */
        t = g_key_file_get_string(kf, "sentences", dm_reason_defs[i].key, NULL);
        if (t == NULL) {
            g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                        "%s: [sentences] %s is missing", name, dm_reason_defs[i].key);
            goto fail;
        }
        r->sentence[i] = t;
        if (!dm_check_text(name, dm_reason_defs[i].key, dm_reason_defs[i].vars, t, false, err))
            goto fail;
    }
    g_strfreev(groups);
    g_key_file_free(kf);
    return r;
fail:
    g_strfreev(groups);
    g_key_file_free(kf);
    dm_reasons_free(r);
    return NULL;
}

dm_reasons *dm_reasons_load(const char *dir, dm_lang lang, GError **err)
{
    char *path = dm_data_find(dir, lang == DM_LANG_EN ? "en/reasons.conf" : "sv/reasons.conf",
                              "templates");
    char *text = NULL;
    gsize len = 0;
    dm_reasons *r = NULL;

    if (g_file_get_contents(path, &text, &len, err))
        r = dm_reasons_load_data(text, len, path, err);
    g_free(text);
    g_free(path);
    return r;
}

/* text with its {{names}} replaced from pairs (name, value, ...; a name
 * not there is empty). */
static char *dm_expand(const char *text, char *const *pairs, guint n)
{
    const char *p = text;
    GString *out = g_string_new(NULL);

    for (;;) {
        const char *s = strstr(p, "{{"), *e, *v;
        size_t len;

        if (s == NULL || (e = strstr(s + 2, "}}")) == NULL) {
            g_string_append(out, p);
            break;
        }
        g_string_append_len(out, p, s - p);
        s += 2;
        while (s < e && *s == ' ')
            s++;
        len = (size_t)(e - s);
        while (len > 0 && s[len - 1] == ' ')
            len--;
        v = NULL;
        for (guint i = 0; i + 1 < n && v == NULL; i += 2) {
            if (strlen(pairs[i]) == len && strncmp(pairs[i], s, len) == 0)
                v = pairs[i + 1];
        }
        g_string_append(out, v != NULL ? v : "");
        p = e + 2;
    }
    return g_string_free(out, FALSE);
}

/* The name, value arguments as a NULL-terminated vector (a NULL value
 * becomes ""). */
static char **dm_pairs(va_list ap)
{
    GPtrArray *pairs = g_ptr_array_new();
    const char *name;

    while ((name = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        g_ptr_array_add(pairs, g_strdup(name));
        g_ptr_array_add(pairs, g_strdup(value != NULL ? value : ""));
    }
    g_ptr_array_add(pairs, NULL);
    return (char **)g_ptr_array_free(pairs, FALSE);
}

char *dm_reasons_text(const dm_reasons *r, dm_reason_id id, ...)
{
    va_list ap;
    char **pairs, *t;

    va_start(ap, id);
    pairs = dm_pairs(ap);
    va_end(ap);
    t = dm_expand(r->text[id], pairs, g_strv_length(pairs));
    g_strfreev(pairs);
    return t;
}

void dm_reasons_add(dm_verdict *v, const dm_reasons *r, const char *rule, dm_reason_id id, ...)
{
    va_list ap;
    char **pairs, *t;
    dm_reason *added;

    va_start(ap, id);
    pairs = dm_pairs(ap);
    va_end(ap);
    t = dm_expand(r->text[id], pairs, g_strv_length(pairs));
    dm_verdict_add_reason(v, rule, "%s", t);
    g_free(t);
    added = g_ptr_array_index(v->reasons, v->reasons->len - 1);
    added->key = (int)id;
    added->values = pairs;
}

bool dm_reasons_has_sentence(dm_reason_id id)
{
    return id < DM_R_COUNT && dm_reason_defs[id].sentence;
}

char *dm_reasons_sentence(const dm_reasons *r, const dm_reason *reason, bool facts)
{
    const char *text;
    guint n;

    if (reason->key < 0 || reason->key >= DM_R_COUNT ||
        (text = r->sentence[reason->key]) == NULL)
        return NULL;
    if (!facts) {
        /* Does the sentence name one of the message's own words? */
        for (const char *p = strstr(text, "{{"); p != NULL; p = strstr(p + 2, "{{")) {
            const char *s = p + 2, *e = strstr(s, "}}");
            size_t len;

            if (e == NULL)
                break;
            while (s < e && *s == ' ')
                s++;
            len = (size_t)(e - s);
            while (len > 0 && s[len - 1] == ' ')
                len--;
            if (dm_var_known(dm_fact_vars, s, len))
                return NULL;
        }
    }
    n = reason->values != NULL ? g_strv_length(reason->values) : 0;
    return dm_expand(text, reason->values, n);
}
