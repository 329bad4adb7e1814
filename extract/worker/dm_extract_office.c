/*
 * Office documents: DOCX, XLSX, PPTX (Office Open XML) and ODT, ODS, ODP
 * (OpenDocument).  Both are zip files of XML parts: libarchive opens the
 * zip from memory, libxml2's reader streams each part straight out of
 * the decompressor, so no part is ever held whole.
 *
 * Against zip bombs: at most max_entries entries are looked at, and the
 * parts read may expand to no more than max_expanded bytes in all, nor
 * more than max_ratio times the attachment's size; past either, reading
 * stops (DM_EXTRACT_LIMIT when nothing was read, else the text so far
 * with DM_EXTRACT_F_EXPANDED).  The XML is parsed without network,
 * without DTDs and without entity substitution (XML_PARSE_NONET, no
 * NOENT, no DTDLOAD); a part that declares a DTD is refused, since
 * neither format has one.
 *
 * What is read:
 *   DOCX  word/document.xml, then headers, footers, foot- and endnotes:
 *         the text of w:t, w:tab and w:br inside runs, a line a paragraph;
 *   XLSX  every sheet in order (xl/worksheets/sheetN.xml), a line a row,
 *         cells by tabs, shared strings looked up in xl/sharedStrings.xml;
 *   PPTX  every slide in order (ppt/slides/slideN.xml), a:t and a:br;
 *   ODF   content.xml's office:body, a line a paragraph or heading, cells
 *         by tabs; deleted text of tracked changes left out.
 * Sheets and slides count as pages (max_pages of them are read).
 */
#include <archive.h>
#include <archive_entry.h>
#include <libxml/xmlreader.h>
#include <stdlib.h>
#include <string.h>

#include "dm_extract_worker.h"

typedef enum { DM_DOC_NONE, DM_DOC_DOCX, DM_DOC_XLSX, DM_DOC_PPTX, DM_DOC_ODF } dm_doc_kind;

typedef enum {
    DM_PART_WORD,  /* DOCX parts and PPTX slides: runs of t */
    DM_PART_SST,   /* XLSX shared strings */
    DM_PART_SHEET, /* XLSX worksheet */
    DM_PART_ODF,   /* content.xml */
    DM_PART_MANIFEST, /* ODF META-INF/manifest.xml: encrypted? */
} dm_part_kind;

typedef struct {
    const guint8 *data;
    size_t len;
    const dm_extract_req *q;
    uint64_t expanded; /* bytes decompressed so far, every pass */
    uint64_t limit;    /* most bytes that may be decompressed */
    bool over;         /* limit reached */
    bool broken;       /* the zip or a part was malformed */
} dm_zip;

/* One wanted part: its name, where it goes in the text, its text. */
typedef struct {
    char *name;
    dm_part_kind kind;
    int order;     /* group * 1,000,000 + number */
    GString *text; /* NULL until read */
    bool page;     /* a sheet or slide */
} dm_part;

/* --- the zip ----------------------------------------------------------- */

static struct archive *dm_zip_open(dm_zip *z)
{
    struct archive *a = archive_read_new();

    archive_read_support_format_zip(a);
    if (archive_read_open_memory(a, z->data, z->len) != ARCHIVE_OK) {
        archive_read_free(a);
        z->broken = true;
        return NULL;
    }
    return a;
}

typedef struct {
    dm_zip *z;
    struct archive *a;
} dm_io;

/* libxml2 pulls the part's bytes through this: decompressed on demand,
 * counted against the limits. */
static int dm_io_read(void *ctx, char *buf, int len)
{
    dm_io *io = ctx;
    la_ssize_t n;

    if (io->z->over)
        return -1;
    n = archive_read_data(io->a, buf, (size_t)len);
    if (n < 0) {
        io->z->broken = true;
        return -1;
    }
    io->z->expanded += (uint64_t)n;
    if (io->z->expanded > io->z->limit) {
        io->z->over = true;
        return -1;
    }
    return (int)n;
}

/* --- reading a part ---------------------------------------------------- */

typedef struct {
    dm_part_kind kind;
    GString *out;       /* this part's text */
    size_t room;        /* bytes of text it may still hold */
    GPtrArray *sst;     /* XLSX shared strings (char *, NULL past the room) */
    size_t sst_bytes;
    GString *cell;      /* XLSX: the cell or shared string being read */
    char cell_type[16]; /* XLSX: its t attribute */
    int skip;           /* depth of an element whose text is skipped, or 0 */
    bool in_t;          /* inside a text-bearing element */
    bool in_tabs;       /* DOCX: inside w:tabs */
    int cells;          /* table cells open: paragraphs in them are not lines */
    bool limit;         /* libxml2 stopped at one of its limits */
    bool in_body;       /* ODF: inside office:body */
    bool encrypted;     /* ODF manifest: encryption-data */
    uint32_t odf_pages; /* ODF: draw:page and table:table met */
    const char *odf;    /* ODF: "odt", "ods" or "odp", from office:body */
    bool full;
} dm_walk;

static void dm_walk_add(dm_walk *w, const char *s, size_t n)
{
    if (w->full)
        return;
    if (n > w->room) {
        while (n > w->room)
            n--;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        w->full = true;
    }
    g_string_append_len(w->out, s, (gssize)n);
    w->room -= n;
}

static void dm_walk_break(dm_walk *w)
{
    if (w->out->len > 0 && w->out->str[w->out->len - 1] != '\n')
        dm_walk_add(w, "\n", 1);
}

/* The end of a paragraph: a line, or a blank inside a table cell. */
static void dm_walk_para(dm_walk *w)
{
    if (w->cells > 0)
        dm_walk_add(w, " ", 1);
    else
        dm_walk_break(w);
}

static void dm_walk_trim(dm_walk *w, const char *chars)
{
    while (w->out->len > 0 && strchr(chars, w->out->str[w->out->len - 1]) != NULL) {
        g_string_truncate(w->out, w->out->len - 1);
        w->room++;
    }
}

/* A table cell ends (a tab), a row ends (a line). */
static void dm_walk_cell_end(dm_walk *w)
{
    if (w->cells > 0)
        w->cells--;
    dm_walk_trim(w, " ");
    dm_walk_add(w, "\t", 1);
}

static void dm_walk_row_end(dm_walk *w)
{
    dm_walk_trim(w, " \t");
    dm_walk_break(w);
}

static bool dm_is(const xmlChar *name, const char *want)
{
    return name != NULL && strcmp((const char *)name, want) == 0;
}

static void dm_walk_start(dm_walk *w, xmlTextReaderPtr r, const xmlChar *name, int depth,
                          bool empty)
{
    switch (w->kind) {
    case DM_PART_WORD:
        if (dm_is(name, "t")) {
            w->in_t = !empty;
        } else if (dm_is(name, "tc")) {
            if (empty)
                dm_walk_add(w, "\t", 1);
            else
                w->cells++;
        } else if (dm_is(name, "tabs")) {
            w->in_tabs = !empty; /* tab stops of a paragraph, not tabs */
        } else if ((dm_is(name, "tab") && !w->in_tabs) || dm_is(name, "br") ||
                   dm_is(name, "cr")) {
            dm_walk_add(w, dm_is(name, "tab") ? "\t" : "\n", 1);
        }
        break;
    case DM_PART_SST:
        if (dm_is(name, "si"))
            g_string_truncate(w->cell, 0);
        else if (dm_is(name, "rPh") && !empty)
            w->skip = depth; /* phonetic guide: not the text */
        else if (dm_is(name, "t"))
            w->in_t = !empty;
        break;
    case DM_PART_SHEET:
        if (dm_is(name, "c")) {
            xmlChar *t = xmlTextReaderGetAttribute(r, (const xmlChar *)"t");
            g_strlcpy(w->cell_type, t != NULL ? (const char *)t : "", sizeof w->cell_type);
            xmlFree(t);
            g_string_truncate(w->cell, 0);
        } else if (dm_is(name, "v") || dm_is(name, "t")) {
            w->in_t = !empty;
        } else if (dm_is(name, "f") && !empty) {
            w->skip = depth; /* a formula: its value is in v */
        }
        break;
    case DM_PART_ODF:
        if (dm_is(name, "body")) {
            w->in_body = !empty;
        } else if (!w->in_body) {
            break;
        } else if (dm_is(name, "tracked-changes") && !empty) {
            w->skip = depth; /* deleted text kept for the record */
        } else if (dm_is(name, "spreadsheet")) {
            w->odf = "ods";
        } else if (dm_is(name, "presentation")) {
            w->odf = "odp";
        } else if (dm_is(name, "table-cell") || dm_is(name, "covered-table-cell")) {
            if (empty)
                dm_walk_add(w, "\t", 1);
            else
                w->cells++;
        } else if (dm_is(name, "tab")) {
            dm_walk_add(w, "\t", 1);
        } else if (dm_is(name, "s")) {
            dm_walk_add(w, " ", 1);
        } else if (dm_is(name, "line-break")) {
            dm_walk_add(w, "\n", 1);
        } else if ((dm_is(name, "page") && w->odf != NULL && strcmp(w->odf, "odp") == 0) ||
                   (dm_is(name, "table") && w->odf != NULL && strcmp(w->odf, "ods") == 0)) {
            w->odf_pages++;
        }
        break;
    case DM_PART_MANIFEST:
        if (dm_is(name, "encryption-data"))
            w->encrypted = true;
        break;
    }
}

static void dm_walk_end(dm_walk *w, const xmlChar *name)
{
    switch (w->kind) {
    case DM_PART_WORD:
        if (dm_is(name, "t"))
            w->in_t = false;
        else if (dm_is(name, "tabs"))
            w->in_tabs = false;
        else if (dm_is(name, "p"))
            dm_walk_para(w);
        else if (dm_is(name, "tc"))
            dm_walk_cell_end(w);
        else if (dm_is(name, "tr"))
            dm_walk_row_end(w);
        break;
    case DM_PART_SST:
        if (dm_is(name, "t")) {
            w->in_t = false;
        } else if (dm_is(name, "si")) {
            /* Kept while the room lasts; past it, the index stays. */
            if (w->sst_bytes + w->cell->len <= w->room) {
                w->sst_bytes += w->cell->len;
                g_ptr_array_add(w->sst, g_strndup(w->cell->str, w->cell->len));
            } else {
                g_ptr_array_add(w->sst, NULL);
            }
        }
        break;
    case DM_PART_SHEET:
        if (dm_is(name, "v") || dm_is(name, "t")) {
            w->in_t = false;
        } else if (dm_is(name, "c")) {
            const char *s = w->cell->str;
            if (strcmp(w->cell_type, "s") == 0) {
                char *end;
                unsigned long i = strtoul(w->cell->str, &end, 10);
                s = end != w->cell->str && i < w->sst->len ? g_ptr_array_index(w->sst, i) : NULL;
            }
            if (s != NULL && *s != '\0') {
                dm_walk_add(w, s, strlen(s));
                dm_walk_add(w, "\t", 1);
            }
        } else if (dm_is(name, "row")) {
            /* A row ends its line: the tab after its last cell goes. */
            if (w->out->len > 0 && w->out->str[w->out->len - 1] == '\t')
                g_string_truncate(w->out, w->out->len - 1);
            dm_walk_break(w);
        }
        break;
    case DM_PART_ODF:
        if (dm_is(name, "body"))
            w->in_body = false;
        else if (!w->in_body)
            break;
        else if (dm_is(name, "p") || dm_is(name, "h"))
            dm_walk_para(w);
        else if (dm_is(name, "table-cell") || dm_is(name, "covered-table-cell"))
            dm_walk_cell_end(w);
        else if (dm_is(name, "table-row"))
            dm_walk_row_end(w);
        break;
    case DM_PART_MANIFEST:
        break;
    }
}

static void dm_walk_text(dm_walk *w, const xmlChar *value)
{
    size_t n = value != NULL ? strlen((const char *)value) : 0;

    if (n == 0)
        return;
    switch (w->kind) {
    case DM_PART_WORD:
        if (w->in_t)
            dm_walk_add(w, (const char *)value, n);
        break;
    case DM_PART_SST:
    case DM_PART_SHEET:
        /* A cell or shared string may be long; the room bounds both. */
        if (w->in_t && w->cell->len + n <= w->room + 64)
            g_string_append_len(w->cell, (const char *)value, (gssize)n);
        break;
    case DM_PART_ODF:
        if (w->in_body)
            dm_walk_add(w, (const char *)value, n);
        break;
    case DM_PART_MANIFEST:
        break;
    }
}

static void dm_xml_quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* libxml2's errors, silenced; one of its limits (a text node over 10 MB,
 * nesting over 256) is a limit here too. */
static void dm_xml_error(void *ctx, xmlErrorPtr e)
{
    dm_walk *w = ctx;

    if (e != NULL && (e->code == XML_ERR_NO_MEMORY ||
                      (e->code == XML_ERR_INTERNAL_ERROR && e->message != NULL &&
                       strstr(e->message, "Excessive depth") != NULL)))
        w->limit = true;
}

/* Read the current entry's XML through w.  False when it was malformed,
 * held a DTD, or the limits stopped it (z says which). */
static bool dm_read_part(dm_zip *z, struct archive *a, dm_walk *w)
{
    dm_io io = {.z = z, .a = a};
    xmlTextReaderPtr r;
    int rc = 0;
    bool ok = true;

    /* No network, no DTD, no entities substituted: what the formats use. */
    r = xmlReaderForIO(dm_io_read, NULL, &io, NULL, NULL, XML_PARSE_NONET);
    if (r == NULL)
        return false;
    xmlTextReaderSetStructuredErrorHandler(r, dm_xml_error, w);
    while (!w->full && (rc = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        int depth = xmlTextReaderDepth(r);
        const xmlChar *name = xmlTextReaderConstLocalName(r);

        if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE) {
            ok = false;
            break;
        }
        if (w->skip > 0) {
            if (type == XML_READER_TYPE_END_ELEMENT && depth == w->skip)
                w->skip = 0;
            continue;
        }
        switch (type) {
        case XML_READER_TYPE_ELEMENT:
            dm_walk_start(w, r, name, depth, xmlTextReaderIsEmptyElement(r) == 1);
            if (w->skip == depth && xmlTextReaderIsEmptyElement(r) == 1)
                w->skip = 0;
            break;
        case XML_READER_TYPE_END_ELEMENT:
            dm_walk_end(w, name);
            break;
        case XML_READER_TYPE_TEXT:
        case XML_READER_TYPE_CDATA:
        case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
            dm_walk_text(w, xmlTextReaderConstValue(r));
            break;
        default:
            break;
        }
    }
    if (!w->full && rc != 0)
        ok = false;
    xmlFreeTextReader(r);
    if (w->limit)
        z->over = true;
    if (!ok && !z->over)
        z->broken = true;
    return ok;
}

/* --- which parts, in which order --------------------------------------- */

/* "ppt/slides/slide12.xml" with prefix "ppt/slides/slide" -> 12; -1. */
static long dm_numbered(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    char *end;
    long v;

    if (strncmp(name, prefix, n) != 0 || !g_ascii_isdigit(name[n]))
        return -1;
    v = strtol(name + n, &end, 10);
    return strcmp(end, ".xml") == 0 && v >= 0 && v < 1000000 ? v : -1;
}

static void dm_part_free(gpointer p)
{
    dm_part *pt = p;

    g_free(pt->name);
    if (pt->text != NULL)
        g_string_free(pt->text, TRUE);
    g_free(pt);
}

static void dm_want(GPtrArray *parts, const char *name, dm_part_kind kind, int order, bool page)
{
    dm_part *p = g_new0(dm_part, 1);

    p->name = g_strdup(name);
    p->kind = kind;
    p->order = order;
    p->page = page;
    g_ptr_array_add(parts, p);
}

static gint dm_part_cmp(gconstpointer a, gconstpointer b)
{
    const dm_part *x = *(const dm_part *const *)a, *y = *(const dm_part *const *)b;

    return x->order < y->order ? -1 : x->order > y->order;
}

/* The first pass: what kind of document, which parts, in which order.
 * False when the zip has too many entries or cannot be read. */
static bool dm_plan(dm_zip *z, dm_doc_kind *kind, GPtrArray *parts, bool *has_sst,
                    bool *has_manifest)
{
    struct archive *a = dm_zip_open(z);
    struct archive_entry *e;
    uint32_t entries = 0;
    bool docx = false, xlsx = false, pptx = false, odf = false;
    int rc;

    *kind = DM_DOC_NONE;
    if (a == NULL)
        return false;
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        const char *name = archive_entry_pathname(e);
        long n;

        if (++entries > z->q->max_entries) {
            archive_read_free(a);
            z->over = true;
            return false;
        }
        if (name == NULL)
            continue;
        if (strcmp(name, "word/document.xml") == 0) {
            docx = true;
            dm_want(parts, name, DM_PART_WORD, 0, false);
        } else if ((n = dm_numbered(name, "word/header")) >= 0) {
            dm_want(parts, name, DM_PART_WORD, 1000000 + (int)n, false);
        } else if ((n = dm_numbered(name, "word/footer")) >= 0) {
            dm_want(parts, name, DM_PART_WORD, 2000000 + (int)n, false);
        } else if (strcmp(name, "word/footnotes.xml") == 0) {
            dm_want(parts, name, DM_PART_WORD, 3000000, false);
        } else if (strcmp(name, "word/endnotes.xml") == 0) {
            dm_want(parts, name, DM_PART_WORD, 3000001, false);
        } else if (strcmp(name, "xl/workbook.xml") == 0) {
            xlsx = true;
        } else if (strcmp(name, "xl/sharedStrings.xml") == 0) {
            *has_sst = true;
        } else if ((n = dm_numbered(name, "xl/worksheets/sheet")) >= 0) {
            dm_want(parts, name, DM_PART_SHEET, (int)n, true);
        } else if (strcmp(name, "ppt/presentation.xml") == 0) {
            pptx = true;
        } else if ((n = dm_numbered(name, "ppt/slides/slide")) >= 0) {
            dm_want(parts, name, DM_PART_WORD, (int)n, true);
        } else if (strcmp(name, "content.xml") == 0) {
            odf = true;
            dm_want(parts, name, DM_PART_ODF, 0, false);
        } else if (strcmp(name, "META-INF/manifest.xml") == 0) {
            *has_manifest = true;
        }
        archive_read_data_skip(a);
    }
    if (rc != ARCHIVE_EOF)
        z->broken = true;
    archive_read_free(a);
    *kind = docx ? DM_DOC_DOCX : xlsx ? DM_DOC_XLSX : pptx ? DM_DOC_PPTX : odf ? DM_DOC_ODF
                                                                               : DM_DOC_NONE;
    return true;
}

/* A pass over the zip reading the parts named in want (name -> dm_walk
 * template filled per part by fill).  Stops at the limits. */
typedef struct {
    dm_zip *z;
    GPtrArray *parts;
    GPtrArray *sst;
    size_t room;
    uint32_t max_pages;
    uint32_t pages;
    bool pages_cut;
    bool encrypted;
    uint32_t odf_pages;
    const char *odf;
} dm_office;

static bool dm_entry_encrypted(struct archive_entry *e)
{
    return archive_entry_is_encrypted(e) != 0;
}

/* Read every part whose kind is in kinds (bit mask) in one pass. */
static void dm_pass(dm_office *o, unsigned kinds, bool manifest)
{
    struct archive *a = dm_zip_open(o->z);
    struct archive_entry *e;
    int rc;

    if (a == NULL)
        return;
    while (!o->z->over && (rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        dm_part *p = NULL;

        if (name == NULL)
            continue;
        if (manifest && strcmp(name, "META-INF/manifest.xml") == 0) {
            dm_walk w = {.kind = DM_PART_MANIFEST, .out = g_string_new(NULL), .room = 0};
            dm_read_part(o->z, a, &w);
            o->encrypted |= w.encrypted;
            g_string_free(w.out, TRUE);
            continue;
        }
        for (guint i = 0; i < o->parts->len && p == NULL; i++) {
            dm_part *c = g_ptr_array_index(o->parts, i);
            if ((kinds & (1u << c->kind)) && c->text == NULL && strcmp(c->name, name) == 0)
                p = c;
        }
        if (p == NULL)
            continue;
        if (dm_entry_encrypted(e)) {
            o->encrypted = true;
            break;
        }
        if (p->page && o->pages >= o->max_pages) {
            o->pages_cut = true;
            continue;
        }
        {
            dm_walk w = {.kind = p->kind, .out = g_string_new(NULL), .room = o->room,
                         .sst = o->sst, .cell = g_string_new(NULL)};

            dm_read_part(o->z, a, &w);
            if (p->kind == DM_PART_SST) {
                g_string_free(w.out, TRUE);
            } else {
                o->room -= MIN(o->room, w.out->len);
                p->text = w.out;
            }
            if (p->page)
                o->pages++;
            o->odf_pages += w.odf_pages;
            if (w.odf != NULL)
                o->odf = w.odf;
            g_string_free(w.cell, TRUE);
        }
    }
    archive_read_free(a);
}

dm_extract_status dm_extract_office(const guint8 *data, size_t len, const dm_extract_req *q,
                                    dm_extract_text *out, const char **format)
{
    dm_zip z = {.data = data, .len = len, .q = q};
    GPtrArray *parts = g_ptr_array_new_with_free_func(dm_part_free);
    GPtrArray *sst = g_ptr_array_new_with_free_func(g_free);
    dm_office o = {.z = &z, .parts = parts, .sst = sst, .max_pages = q->max_pages};
    dm_doc_kind kind;
    bool has_sst = false, has_manifest = false, any = false;
    dm_extract_status st = DM_EXTRACT_READ;
    size_t start = out->s->len;

    /* Both limits, and no overflow on the product. */
    z.limit = q->max_ratio > 0 && len > G_MAXUINT64 / q->max_ratio ? G_MAXUINT64
                                                                    : (uint64_t)len * q->max_ratio;
    z.limit = MIN(z.limit, q->max_expanded);
    o.room = out->max > out->s->len ? out->max - out->s->len : 0;
    xmlSetGenericErrorFunc(NULL, dm_xml_quiet);

    if (!dm_plan(&z, &kind, parts, &has_sst, &has_manifest)) {
        st = z.over ? DM_EXTRACT_LIMIT : DM_EXTRACT_FAILED;
        goto out;
    }
    switch (kind) {
    case DM_DOC_DOCX: *format = "docx"; break;
    case DM_DOC_XLSX: *format = "xlsx"; break;
    case DM_DOC_PPTX: *format = "pptx"; break;
    case DM_DOC_ODF: *format = "odt"; break;
    case DM_DOC_NONE:
        /* A zip, but no office document. */
        st = DM_EXTRACT_UNSUPPORTED;
        goto out;
    }
    if (kind != DM_DOC_DOCX && kind != DM_DOC_ODF) {
        /* Sheets and slides are the only parts of these we asked for;
         * drop the word parts a strange file may also hold. */
        for (guint i = parts->len; i > 0; i--) {
            dm_part *p = g_ptr_array_index(parts, i - 1);
            if (!p->page)
                g_ptr_array_remove_index(parts, i - 1);
        }
    }
    g_ptr_array_sort(parts, dm_part_cmp);
    if (kind == DM_DOC_XLSX && has_sst) {
        dm_want(parts, "xl/sharedStrings.xml", DM_PART_SST, -1, false);
        dm_pass(&o, 1u << DM_PART_SST, false);
        g_ptr_array_remove_index(parts, parts->len - 1);
    }
    dm_pass(&o, (1u << DM_PART_WORD) | (1u << DM_PART_SHEET) | (1u << DM_PART_ODF),
            kind == DM_DOC_ODF && has_manifest);
    if (o.encrypted) {
        st = DM_EXTRACT_ENCRYPTED;
        goto out;
    }
    if (kind == DM_DOC_ODF) {
        *format = o.odf != NULL ? o.odf : "odt";
        if (o.odf != NULL)
            out->pages += MIN(o.odf_pages, q->max_pages);
    } else {
        out->pages += o.pages;
    }
    for (guint i = 0; i < parts->len; i++) {
        dm_part *p = g_ptr_array_index(parts, i);
        if (p->text == NULL)
            continue;
        any = true;
        dm_extract_text_break(out);
        if (!dm_extract_text_add(out, p->text->str, p->text->len))
            break;
    }
    if (o.room == 0)
        out->flags |= DM_EXTRACT_F_TEXT_CUT;
    if (o.pages_cut)
        out->flags |= DM_EXTRACT_F_PAGES;
    if (z.over)
        out->flags |= DM_EXTRACT_F_EXPANDED;
    if (z.broken)
        out->flags |= DM_EXTRACT_F_PARTIAL;
    if (z.over && !dm_extract_text_any(out, start))
        st = DM_EXTRACT_LIMIT;
    else if (!any && z.broken)
        st = DM_EXTRACT_FAILED;
out:
    g_ptr_array_free(sst, TRUE);
    g_ptr_array_free(parts, TRUE);
    return st;
}

/* An OLE2 compound file labelled as an OOXML document: Office keeps an
 * encrypted document so, with an "EncryptionInfo" stream, whose name
 * stands in UTF-16LE in the file's directory.  Anything else in that
 * container (Word or Excel 97) is not read. */
dm_extract_status dm_extract_cfb(const guint8 *data, size_t len)
{
    static const char name[] = "EncryptionInfo";
    guint8 wide[2 * (sizeof name - 1)];

    for (size_t i = 0; i < sizeof name - 1; i++) {
        wide[2 * i] = (guint8)name[i];
        wide[2 * i + 1] = 0;
    }
    return memmem(data, len, wide, sizeof wide) != NULL ? DM_EXTRACT_ENCRYPTED
                                                        : DM_EXTRACT_UNSUPPORTED;
}
