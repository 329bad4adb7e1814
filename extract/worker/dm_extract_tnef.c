/*
 * TNEF (winmail.dat): Outlook's wrapper around a message's body and its
 * attachments, read with libytnef.
 *
 * The body: PR_BODY (Unicode or 8-bit), else the legacy attBody, else
 * the compressed RTF (PR_RTF_COMPRESSED, decompressed by libytnef and read
 * by dm_extract_rtf).  8-bit text is in the message's code page
 * (PR_INTERNET_CPID, else the OEM code page), else guessed.
 * Then each attachment inside, read like any attachment (a PDF in a
 * winmail.dat is read as a PDF), with a line naming it before its text;
 * an attached message (PR_ATTACH_DATA_OBJ) is TNEF again, read one level
 * deeper: max_depth levels at most, max_entries attachments per level.
 *
 * libytnef writes its complaints on standard output; the worker has
 * pointed that at standard error before anything runs (dm_extract_main.c).
 */
#include <stdio.h> /* ytnef.h needs FILE */
#include <stdlib.h>
#include <string.h>
#include <ytnef.h>

#include "dm_extract_worker.h"
#include "dm_utf8.h"

/* MAPIFindProperty's "not there". */
#define DM_MAPI_NONE ((variableLength *)-1)

static variableLength *dm_prop(MAPIProps *p, unsigned type, unsigned id)
{
    variableLength *v = MAPIFindProperty(p, PROP_TAG(type, id));

    return v == DM_MAPI_NONE || v == NULL || v->data == NULL || v->size <= 0 ? NULL : v;
}

/* A string property as new UTF-8: libytnef has turned Unicode ones into
 * UTF-8 already (NUL-terminated, its size still the UTF-16 one). */
static char *dm_prop_string(MAPIProps *p, unsigned id, const char *cp)
{
    variableLength *v;

    if ((v = dm_prop(p, PT_UNICODE, id)) != NULL)
        return dm_utf8_from((const char *)v->data, strnlen((const char *)v->data,
                                                           (size_t)v->size * 3 / 2 + 1),
                            NULL);
    if ((v = dm_prop(p, PT_STRING8, id)) != NULL)
        return dm_utf8_from((const char *)v->data, strnlen((const char *)v->data, (size_t)v->size),
                            cp);
    return NULL;
}

static long dm_prop_long(MAPIProps *p, unsigned id, long def)
{
    variableLength *v = dm_prop(p, PT_LONG, id);

    return v != NULL && v->size >= 4 ? (long)SwapDWord(v->data, 4) : def;
}

/* The message's code page as an iconv name in buf, or NULL. */
static const char *dm_tnef_cp(TNEFStruct *t, char *buf, size_t len)
{
    long cp = dm_prop_long(&t->MapiProperties, PR_INTERNET_CPID, 0);

    if (cp <= 0 && t->CodePage.data != NULL && t->CodePage.size >= 4)
        cp = (long)SwapDWord(t->CodePage.data, 4);
    if (cp == 65001)
        return "UTF-8";
    if (cp <= 0 || cp > 99999)
        return NULL;
    g_snprintf(buf, len, "CP%ld", cp);
    return buf;
}

static void dm_tnef_body(TNEFStruct *t, const dm_extract_req *q, dm_extract_text *out,
                         const char *cp)
{
    variableLength *v;
    char *s = dm_prop_string(&t->MapiProperties, PR_BODY, cp);

    if (s == NULL && t->body.data != NULL && t->body.size > 0)
        s = dm_utf8_from((const char *)t->body.data, (size_t)t->body.size, cp);
    if (s != NULL) {
        dm_extract_text_add(out, s, strlen(s));
        g_free(s);
        return;
    }
    if ((v = dm_prop(&t->MapiProperties, PT_BINARY, PR_RTF_COMPRESSED)) != NULL) {
        int size = 0;
        BYTE *rtf = DecompressRTF(v, &size);

        if (rtf != NULL && size > 0)
            dm_extract_rtf(rtf, (size_t)size, q, out);
        free(rtf);
    }
}

dm_extract_status dm_extract_tnef(const guint8 *data, size_t len, const dm_extract_req *q,
                                  dm_extract_text *out, uint32_t depth)
{
    TNEFStruct *t = g_new0(TNEFStruct, 1);
    size_t start = out->s->len;
    uint32_t n = 0;
    bool partial = false;
    char cpbuf[16];
    const char *cp;

    TNEFInitialize(t);
    t->Debug = 0;
    /* libytnef reads the buffer and never writes it. */
    if (len > (size_t)G_MAXLONG || TNEFParseMemory((BYTE *)data, (long)len, t) < 0) {
        TNEFFree(t);
        g_free(t);
        return DM_EXTRACT_FAILED;
    }
    cp = dm_tnef_cp(t, cpbuf, sizeof cpbuf);
    dm_tnef_body(t, q, out, cp);

    for (Attachment *a = t->starting_attach.next; a != NULL && !dm_extract_text_full(out);
         a = a->next) {
        variableLength *obj = dm_prop(&a->MAPI, PT_OBJECT, PR_ATTACH_DATA_OBJ);
        const guint8 *bytes = NULL;
        size_t size = 0;
        char *name, *type, *line;
        const char *format;
        size_t mark = out->s->len;
        dm_extract_status st;

        if (++n > q->max_entries) {
            partial = true;
            break;
        }
        if (obj == NULL)
            obj = dm_prop(&a->MAPI, PT_BINARY, PR_ATTACH_DATA_OBJ);
        if (obj != NULL && (dm_prop_long(&a->MAPI, PR_ATTACH_METHOD, 0) == 5 ||
                            MAPIFindProperty(&a->MAPI, PROP_TAG(PT_OBJECT, PR_ATTACH_DATA_OBJ)) ==
                                obj)) {
            /* An attached message: its interface id, then TNEF. */
            if (obj->size > 16) {
                bytes = obj->data + 16;
                size = (size_t)obj->size - 16;
            }
        } else if (obj != NULL) {
            bytes = obj->data;
            size = (size_t)obj->size;
        } else if (a->FileData.data != NULL && a->FileData.size > 0) {
            bytes = a->FileData.data;
            size = (size_t)a->FileData.size;
        }
        if (bytes == NULL)
            continue;
        name = dm_prop_string(&a->MAPI, PR_ATTACH_LONG_FILENAME, cp);
        if (name == NULL && a->Title.data != NULL && a->Title.size > 0)
            name = dm_utf8_from((const char *)a->Title.data,
                                strnlen((const char *)a->Title.data, (size_t)a->Title.size), cp);
        type = dm_prop_string(&a->MAPI, PR_ATTACH_MIME_TAG, cp);
        line = g_strdup_printf("\n---------- Bilaga: %s ----------\n",
                               name != NULL && *name != '\0' ? name : "(namnlös)");
        dm_extract_text_add(out, line, strlen(line));
        st = dm_extract_any(bytes, size, type, name, NULL, q, out, depth + 1, &format);
        if (st != DM_EXTRACT_READ) {
            /* Nothing from it: no line for it either. */
            g_string_truncate(out->s, mark);
            if (st != DM_EXTRACT_UNSUPPORTED && st != DM_EXTRACT_NO_TEXT)
                partial = true;
        }
        g_free(line);
        g_free(name);
        g_free(type);
    }
    TNEFFree(t);
    g_free(t);
    if (partial)
        out->flags |= DM_EXTRACT_F_PARTIAL;
    return dm_extract_text_any(out, start) ? DM_EXTRACT_READ : DM_EXTRACT_NO_TEXT;
}
