/*
 * PDF through Poppler's GLib API: the text layer of the first max_pages
 * pages, a form feed between pages.
 *
 * A PDF that needs a password to open is "encrypted" (one encrypted with
 * only an owner password opens, and is read).  One whose pages hold no
 * text (a scan) is "no text": no OCR here.  Poppler repairs what it can
 * of a damaged file; what it cannot open is "failed".
 */
#include <poppler.h>
#include <string.h>

#include "dm_extract_worker.h"

dm_extract_status dm_extract_pdf(const guint8 *data, size_t len, const dm_extract_req *q,
                                 dm_extract_text *out, const char **format)
{
    GBytes *bytes = g_bytes_new_static(data, len);
    GError *err = NULL;
    PopplerDocument *doc;
    int n;
    dm_extract_status st = DM_EXTRACT_READ;

    *format = "pdf";
    doc = poppler_document_new_from_bytes(bytes, NULL, &err);
    g_bytes_unref(bytes);
    if (doc == NULL) {
        st = g_error_matches(err, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED) ? DM_EXTRACT_ENCRYPTED
                                                                          : DM_EXTRACT_FAILED;
        g_clear_error(&err);
        return st;
    }
    n = poppler_document_get_n_pages(doc);
    if (n <= 0) {
        /* Opened, but no page could be found: damaged beyond repair. */
        g_object_unref(doc);
        return DM_EXTRACT_FAILED;
    }
    for (int i = 0; i < n; i++) {
        PopplerPage *page;
        char *text;

        if ((uint32_t)i >= q->max_pages) {
            out->flags |= DM_EXTRACT_F_PAGES;
            break;
        }
        if (dm_extract_text_full(out))
            break;
        if (i > 0 && !dm_extract_text_addc(out, '\f'))
            break;
        page = poppler_document_get_page(doc, i);
        if (page == NULL) {
            out->flags |= DM_EXTRACT_F_PARTIAL;
            continue;
        }
        text = poppler_page_get_text(page);
        if (text != NULL)
            dm_extract_text_add(out, text, strlen(text));
        out->pages++;
        g_free(text);
        g_object_unref(page);
    }
    g_object_unref(doc);
    return st;
}
