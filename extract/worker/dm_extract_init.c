/*
 * Starting the worker's libraries before the sandbox closes: whatever
 * they load once (Poppler's global parameters and built-in tables,
 * libxml2's parser state, iconv's module cache) is loaded here, where
 * any system call is still allowed.
 */
#include <archive.h>
#include <libxml/parser.h>
#include <poppler.h>
#include <string.h>

#include "dm_extract_worker.h"
#include "dm_utf8.h"

/* A one-page PDF with one word, for the first (and costliest) call into
 * Poppler.  Written by hand: no cross-reference table, which Poppler
 * rebuilds. */
static const char dm_warm_pdf[] =
    "%PDF-1.4\n"
    "1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    "2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
    "3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] "
    "/Resources <</Font <</F1 4 0 R>>>> /Contents 5 0 R>> endobj\n"
    "4 0 obj <</Type /Font /Subtype /Type1 /BaseFont /Helvetica>> endobj\n"
    "5 0 obj <</Length 35>> stream\n"
    "BT /F1 12 Tf 20 100 Td (varm) Tj ET\n"
    "endstream endobj\n"
    "trailer <</Root 1 0 R>>\n"
    "%%EOF\n";

/* No external entity, DTD or XInclude is ever fetched, from anywhere. */
static xmlParserInputPtr dm_no_entity(const char *url, const char *id, xmlParserCtxtPtr ctx)
{
    (void)url;
    (void)id;
    (void)ctx;
    return NULL;
}

/* Poppler's global state lives while a document does: this one is kept
 * for the worker's life, so that the state is built once, here. */
static PopplerDocument *dm_warm_doc;

void dm_extract_libs_init(void)
{
    dm_extract_req q = {.max_text = 64, .max_pages = 1};
    dm_extract_text t = {.s = g_string_new(NULL), .max = 64};
    const char *format;
    char *u;

    xmlInitParser();
    xmlSetExternalEntityLoader(dm_no_entity);
    if (dm_warm_doc == NULL) {
        GBytes *b = g_bytes_new_static(dm_warm_pdf, sizeof dm_warm_pdf - 1);
        dm_warm_doc = poppler_document_new_from_bytes(b, NULL, NULL);
        g_bytes_unref(b);
    }
    dm_extract_pdf((const guint8 *)dm_warm_pdf, sizeof dm_warm_pdf - 1, &q, &t, &format);
    g_string_free(t.s, TRUE);
    /* The code pages most mail is in. */
    u = dm_utf8_from("\xe5\xe4\xf6", 3, "CP1252");
    g_free(u);
    u = dm_utf8_from("\xe5\0", 2, "UTF-16LE");
    g_free(u);
    u = dm_utf8_from("\x86\x84\x94", 3, "CP850");
    g_free(u);
    archive_read_free(archive_read_new());
}
