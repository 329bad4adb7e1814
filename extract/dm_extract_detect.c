/*
 * What an attachment is: magic bytes first, then the label.
 *
 * Senders label files carelessly (application/octet-stream for a PDF, a
 * PDF named .doc), so the first bytes decide where they can; the declared
 * type and the file name decide the rest.  Used by the parent to decide
 * whether to read an attachment at all (and how), and by the worker to
 * pick its reader.
 */
#include <string.h>

#include "dm_extract.h"

static bool dm_has_prefix(const guint8 *p, size_t n, const char *magic, size_t m)
{
    return n >= m && memcmp(p, magic, m) == 0;
}

/* "%PDF-" within the first 1024 bytes: readers accept junk before it. */
static bool dm_has_pdf_header(const guint8 *p, size_t n)
{
    for (size_t i = 0; i + 5 <= n && i < 1024; i++) {
        if (p[i] == '%' && memcmp(p + i, "%PDF-", 5) == 0)
            return true;
    }
    return false;
}

/* The file name's extension, lowercase, in buf ("" when none). */
static void dm_ext(const char *name, char *buf, size_t len)
{
    const char *dot = name != NULL ? strrchr(name, '.') : NULL;
    size_t i = 0;

    buf[0] = '\0';
    if (dot == NULL || strchr(dot, '/') != NULL)
        return;
    for (dot++; *dot != '\0' && i + 1 < len; dot++)
        buf[i++] = g_ascii_tolower(*dot);
    buf[i] = '\0';
    if (*dot != '\0')
        buf[0] = '\0'; /* longer than any extension we know */
}

static bool dm_in(const char *s, const char *const *list)
{
    for (; *list != NULL; list++) {
        if (strcmp(s, *list) == 0)
            return true;
    }
    return false;
}

static bool dm_type_is(const char *type, const char *t)
{
    size_t n = strlen(t);

    return type != NULL && g_ascii_strncasecmp(type, t, n) == 0 &&
           (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

static bool dm_type_starts(const char *type, const char *prefix)
{
    return type != NULL && g_ascii_strncasecmp(type, prefix, strlen(prefix)) == 0;
}

static const char *const dm_ooxml_ext[] = {"docx", "docm", "dotx", "dotm", "xlsx", "xlsm",
                                           "xltx", "xltm", "pptx", "pptm", "ppsx", "ppsm",
                                           "potx", "potm", NULL};
static const char *const dm_odf_ext[] = {"odt", "ott", "ods", "ots", "odp", "otp", NULL};

static bool dm_label_ooxml(const char *type, const char *ext)
{
    return dm_in(ext, dm_ooxml_ext) ||
           dm_type_starts(type, "application/vnd.openxmlformats-officedocument.") ||
           dm_type_starts(type, "application/vnd.ms-word.document.macroenabled") ||
           dm_type_starts(type, "application/vnd.ms-word.template.macroenabled") ||
           dm_type_starts(type, "application/vnd.ms-excel.sheet.macroenabled") ||
           dm_type_starts(type, "application/vnd.ms-excel.template.macroenabled") ||
           dm_type_starts(type, "application/vnd.ms-powerpoint.presentation.macroenabled") ||
           dm_type_starts(type, "application/vnd.ms-powerpoint.slideshow.macroenabled");
}

static bool dm_label_odf(const char *type, const char *ext)
{
    return dm_in(ext, dm_odf_ext) || dm_type_starts(type, "application/vnd.oasis.opendocument.");
}

/* The first entry of a zip's first local header: ODF puts "mimetype"
 * first, stored, with its type as content; OOXML writers put
 * "[Content_Types].xml" first. */
static dm_extract_format dm_zip_kind(const guint8 *p, size_t n)
{
    size_t nlen, xlen;

    if (n < 30)
        return DM_FMT_UNKNOWN;
    nlen = p[26] | (size_t)p[27] << 8;
    xlen = p[28] | (size_t)p[29] << 8;
    if (nlen == 8 && n >= 38 && memcmp(p + 30, "mimetype", 8) == 0) {
        const char *want = "application/vnd.oasis.opendocument.";
        size_t at = 30 + nlen + xlen;
        if (n >= at + strlen(want) && memcmp(p + at, want, strlen(want)) == 0)
            return DM_FMT_ODF;
    }
    if (nlen == 19 && n >= 49 && memcmp(p + 30, "[Content_Types].xml", 19) == 0)
        return DM_FMT_OOXML;
    return DM_FMT_UNKNOWN;
}

dm_extract_format dm_extract_detect(const void *head, size_t n, const char *type,
                                    const char *name)
{
    const guint8 *p = head;
    char ext[8];

    dm_ext(name, ext, sizeof ext);
    /* Magic at the very start first: a winmail.dat or a zip may hold a
     * PDF within its first bytes. */
    if (dm_has_prefix(p, n, "%PDF-", 5))
        return DM_FMT_PDF;
    if (dm_has_prefix(p, n, "PK\003\004", 4)) {
        dm_extract_format k = dm_zip_kind(p, n);
        if (k != DM_FMT_UNKNOWN)
            return k;
        if (dm_label_odf(type, ext))
            return DM_FMT_ODF;
        if (dm_label_ooxml(type, ext))
            return DM_FMT_OOXML;
        return DM_FMT_UNKNOWN; /* a zip of files: not read */
    }
    if (dm_has_prefix(p, n, "{\\rtf", 5))
        return DM_FMT_RTF;
    if (dm_has_prefix(p, n, "\x78\x9f\x3e\x22", 4))
        return DM_FMT_TNEF;
    if (dm_has_prefix(p, n, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8))
        /* Word and Excel 97 are not read; an OOXML document in this
         * container is an encrypted one, which the worker tells. */
        return dm_label_ooxml(type, ext) ? DM_FMT_CFB : DM_FMT_UNKNOWN;

    /* A PDF after some junk (as readers allow), unless labelled text. */
    if (dm_has_pdf_header(p, n) && !dm_type_starts(type, "text/"))
        return DM_FMT_PDF;
    /* No magic: the label. */
    if (strcmp(ext, "pdf") == 0 || dm_type_is(type, "application/pdf") ||
        dm_type_is(type, "application/x-pdf"))
        return DM_FMT_PDF;
    if (strcmp(ext, "rtf") == 0 || dm_type_is(type, "application/rtf") ||
        dm_type_is(type, "text/rtf"))
        return DM_FMT_RTF;
    if ((name != NULL && g_ascii_strcasecmp(name, "winmail.dat") == 0) ||
        dm_type_is(type, "application/ms-tnef") || dm_type_is(type, "application/vnd.ms-tnef"))
        return DM_FMT_TNEF;
    if (dm_label_odf(type, ext))
        return DM_FMT_ODF;
    if (dm_label_ooxml(type, ext))
        return DM_FMT_OOXML;
    if (strcmp(ext, "html") == 0 || strcmp(ext, "htm") == 0 || dm_type_is(type, "text/html"))
        return DM_FMT_HTML;
    {
        static const char *const text_ext[] = {"txt", "text", "csv", "tsv", "md", "log", NULL};
        static const char *const text_types[] = {
            "text/plain", "text/csv", "text/tab-separated-values", "text/markdown",
            "text/enriched", "text/richtext", NULL};

        if (dm_in(ext, text_ext))
            return DM_FMT_TEXT;
        for (const char *const *t = text_types; *t != NULL; t++) {
            if (dm_type_is(type, *t))
                return DM_FMT_TEXT;
        }
    }
    return DM_FMT_UNKNOWN;
}
