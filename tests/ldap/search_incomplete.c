/*
 * LD_PRELOAD shim for tests/ldap/lookup.sh: ldap_search_ext_s answers
 * LDAP_SUCCESS with no result chain, as libldap does when its wait for
 * the result ends without the handle's error set.  The bind before it is
 * real; the search never reaches the server.  A lookup must call that an
 * error, never "not found".
 */
#include <ldap.h>
#include <stddef.h>

int ldap_search_ext_s(LDAP *ld, LDAP_CONST char *base, int scope, LDAP_CONST char *filter,
                      char **attrs, int attrsonly, LDAPControl **sctrls, LDAPControl **cctrls,
                      struct timeval *timeout, int sizelimit, LDAPMessage **res)
{
    (void)ld, (void)base, (void)scope, (void)filter, (void)attrs, (void)attrsonly;
    (void)sctrls, (void)cctrls, (void)timeout, (void)sizelimit;
    *res = NULL;
    return LDAP_SUCCESS;
}
