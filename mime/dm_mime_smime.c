/*
 * S/MIME signed data (application/pkcs7-mime; smime-type=signed-data, a
 * .p7m): the signed MIME entity is inside the CMS structure, not beside
 * it as in multipart/signed.  OpenSSL takes it out; the signature is not
 * verified (the rules read what the message says, not who vouches).
 */
#include <openssl/cms.h>
#include <openssl/err.h>

#include "dm_mime_int.h"

GByteArray *dm_mime_smime_content(const guint8 *der, size_t len)
{
    const unsigned char *p = der;
    CMS_ContentInfo *cms;
    ASN1_OCTET_STRING **os;
    GByteArray *out = NULL;

    if (len == 0 || len > G_MAXLONG)
        return NULL;
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (cms == NULL) {
        ERR_clear_error();
        return NULL;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) == NID_pkcs7_signed &&
        (os = CMS_get0_content(cms)) != NULL && *os != NULL) {
        const unsigned char *data = ASN1_STRING_get0_data(*os);
        int n = ASN1_STRING_length(*os);

        if (data != NULL && n > 0) {
            out = g_byte_array_sized_new((guint)n);
            g_byte_array_append(out, data, (guint)n);
        }
    }
    CMS_ContentInfo_free(cms);
    ERR_clear_error(); /* the thread's error queue stays empty */
    return out;
}
