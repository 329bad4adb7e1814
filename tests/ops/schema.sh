#!/bin/bash
# tests/ops/schema.sh: the LDAP schema's dependency on misc.schema is said
# where an admin meets it (issue 18): a slapd without misc refuses the
# fixture, and the error names misc.schema; the README's install steps say
# to load it first.
set -u
. "$(dirname "$0")/../lib/dm.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/dm-schema.XXXXXX")
trap '"$DM_REPO/tests/lib/slapd.sh" stop "$T/s" >/dev/null 2>&1; rm -rf "$T"' EXIT

SLAPD_SCHEMAS="core cosine inetorgperson" "$DM_REPO/tests/lib/slapd.sh" start "$T/s" \
    >"$T/out" 2>"$T/err"
rc=$?
check "without misc.schema the fixture does not load" test "$rc" -ne 0
check "... and the error says to load misc.schema before diarie.ldif" \
    grep -q "from misc.schema; load misc (misc.ldif) before diarie.ldif" "$T/err"
check "the README's install steps say misc.schema comes first" \
    grep -q "misc.schema.*first\|first.*misc.schema" "$DM_REPO/README.md"

dm_summary
