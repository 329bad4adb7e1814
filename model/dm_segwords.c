#include "dm_segwords.h"

#include <string.h>

/* Debian's libexttextcat-data puts the fingerprints here. */
#define DM_SEG_PROFILES "/usr/share/libexttextcat"

static char **dm_words_split(const char *v, bool fold)
{
    char **parts = g_strsplit(v != NULL ? v : "", ";", -1);
    GPtrArray *out = g_ptr_array_new();

    for (char **w = parts; *w != NULL; w++) {
        g_strstrip(*w);
        if (**w == '\0')
            continue;
        g_ptr_array_add(out, fold ? g_utf8_casefold(*w, -1) : g_strdup(*w));
    }
    g_strfreev(parts);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static char **dm_words_get(GKeyFile *kf, const char *g, const char *k, bool fold)
{
    char *v = kf != NULL ? g_key_file_get_string(kf, g, k, NULL) : NULL;
    char **w;

    /* Entries are not UTF-8 checked by GKeyFile's string reading. */
    if (v != NULL && !g_utf8_validate(v, -1, NULL)) {
        char *valid = g_utf8_make_valid(v, -1);
        g_free(v);
        v = valid;
    }
    w = dm_words_split(v, fold);
    g_free(v);
    return w;
}

/* One string, blanks around it dropped, "" when absent. */
static char *dm_word_get(GKeyFile *kf, const char *g, const char *k)
{
    char *v = kf != NULL ? g_key_file_get_string(kf, g, k, NULL) : NULL;
    char *valid = g_utf8_make_valid(v != NULL ? v : "", -1);

    g_free(v);
    return g_strstrip(valid);
}

static void dm_words_first_bytes(guint8 set[32], char **words)
{
    for (char **w = words; w != NULL && *w != NULL; w++) {
        guint8 c = (guint8)g_ascii_toupper(**w);
        set[c >> 3] |= (guint8)(1u << (c & 7));
    }
}

static void dm_words_ascii_down(char **v)
{
    for (char **w = v; w != NULL && *w != NULL; w++) {
        char *d = g_ascii_strdown(*w, -1);
        g_free(*w);
        *w = d;
    }
}

dm_seg_words *dm_seg_words_load(GKeyFile *kf, GError **err)
{
    static const char *const seg_keys[] = {"signoff", "footer", "stub", "languages", "profiles",
                                           NULL};
    dm_seg_words *w;

    if (kf != NULL && g_key_file_has_group(kf, "segments")) {
        char **keys = g_key_file_get_keys(kf, "segments", NULL, NULL);

        for (char **k = keys; k != NULL && *k != NULL; k++) {
            if (!g_strv_contains(seg_keys, *k)) {
                g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                            "[segments] %s: no such key", *k);
                g_strfreev(keys);
                return NULL;
            }
        }
        g_strfreev(keys);
    }
    w = g_new0(dm_seg_words, 1);
    w->header_from = dm_words_get(kf, "replies", "header_from", false);
    w->header_more = dm_words_get(kf, "replies", "header_more", false);
    w->separator = dm_words_get(kf, "replies", "separator", false);
    w->wrote = dm_words_get(kf, "replies", "wrote", false);
    w->forward = dm_words_get(kf, "replies", "forward", false);
    w->reply_prefixes = dm_words_get(kf, "replies", "reply_prefixes", false);
    w->forward_prefixes = dm_words_get(kf, "replies", "forward_prefixes", false);
    w->forward_line = dm_word_get(kf, "replies", "forward_line");
    w->forward_from = dm_word_get(kf, "replies", "forward_from");
    w->forward_date = dm_word_get(kf, "replies", "forward_date");
    w->forward_subject = dm_word_get(kf, "replies", "forward_subject");
    dm_words_ascii_down(w->reply_prefixes);
    dm_words_ascii_down(w->forward_prefixes);
    dm_words_first_bytes(w->first_from, w->header_from);
    dm_words_first_bytes(w->first_separator, w->separator);
    dm_words_first_bytes(w->first_forward, w->forward);
    w->signoff = dm_words_get(kf, "segments", "signoff", true);
    w->footer = dm_words_get(kf, "segments", "footer", true);
    dm_words_first_bytes(w->first_signoff, w->signoff);
    for (char **x = w->footer; *x != NULL; x++) {
        if (strlen(*x) >= 3) {
            guint t = dm_seg_tri(*x);
            w->footer_tri[t >> 3] |= (guint8)(1u << (t & 7));
        }
    }
    w->stub = dm_words_get(kf, "segments", "stub", true);
    if (kf != NULL && g_key_file_has_key(kf, "segments", "languages", NULL))
        w->languages = dm_words_get(kf, "segments", "languages", true);
    else
        w->languages = dm_words_split("sv; en; fi; ar", false);
    w->profiles = kf != NULL ? g_key_file_get_string(kf, "segments", "profiles", NULL) : NULL;
    if (w->profiles != NULL)
        g_strstrip(w->profiles);
    if (w->profiles == NULL || *w->profiles == '\0') {
        g_free(w->profiles);
        w->profiles = g_strdup(DM_SEG_PROFILES);
    }
    /* Each language needs its fingerprint: a language silently not told
     * apart would read its mail as another's. */
    for (char **l = w->languages; *l != NULL; l++) {
        char *name = g_strconcat(*l, ".lm", NULL);
        char *path = g_build_filename(w->profiles, name, NULL);
        bool ok = strlen(*l) < 4 && g_file_test(path, G_FILE_TEST_IS_REGULAR);

        g_free(name);
        if (!ok) {
            g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                        "[segments] languages: no fingerprint %s for \"%s\" (Debian: "
                        "libexttextcat-data; or set profiles)",
                        path, *l);
            g_free(path);
            dm_seg_words_free(w);
            return NULL;
        }
        g_free(path);
    }
    return w;
}

void dm_seg_words_free(dm_seg_words *w)
{
    if (w == NULL)
        return;
    g_strfreev(w->header_from);
    g_strfreev(w->header_more);
    g_strfreev(w->separator);
    g_strfreev(w->wrote);
    g_strfreev(w->forward);
    g_strfreev(w->reply_prefixes);
    g_strfreev(w->forward_prefixes);
    g_free(w->forward_line);
    g_free(w->forward_from);
    g_free(w->forward_date);
    g_free(w->forward_subject);
    g_strfreev(w->signoff);
    g_strfreev(w->footer);
    g_strfreev(w->stub);
    g_strfreev(w->languages);
    g_free(w->profiles);
    if (w->langid != NULL && w->langid_free != NULL)
        w->langid_free(w->langid);
    g_free(w);
}

bool dm_seg_words_line_starts(const char *s, size_t len, char *const *words)
{
    const char *e = s + len;

    while (s < e && (*s == ' ' || *s == '\t' || *s == '*'))
        s++;
    for (char *const *w = words; w != NULL && *w != NULL; w++) {
        size_t n = strlen(*w);
        if ((size_t)(e - s) >= n && g_ascii_strncasecmp(s, *w, n) == 0)
            return true;
    }
    return false;
}
