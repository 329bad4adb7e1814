#!/usr/bin/env bash
# The directory tests: the fixture in a private slapd, then diariemilter's
# own lookups against it.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
rc=0
for t in "$DM_REPO"/tests/ldap/fixture.sh "$DM_REPO"/tests/ldap/lookup.sh; do
    [ -x "$t" ] || continue
    echo "== $(basename "$t")"
    "$t" || rc=1
done
exit $rc
