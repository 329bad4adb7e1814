#!/usr/bin/env bash
# Fit the decision's weights ([weights] of etc/rules.conf) on every
# labelled set, with the fixture directory in a private slapd and the
# fixture diarium imported (as run.sh grades), and print per set the
# figures of the rules file's weights, of the weights fitted on all sets
# and of those fitted on all the other sets (leave one set out).
#
#   tests/corpus/fit.sh [diariectl fit options, e.g. --write]
#
# The sets: ../shared/corpus/dev; ../shared/corpus/dev2 by its three
# themes; each tests/corpus/*/ and tests/heldout/*/ set, and the attachment
# sets make writes under build/attach/ when there are any.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

sets=("$DM_SHARED/corpus/dev"
      "$DM_SHARED/corpus/dev2:d101-d140"
      "$DM_SHARED/corpus/dev2:d141-d180"
      "$DM_SHARED/corpus/dev2:d181-d220")
# A set's messages may be made at build time (build/attach: attachments are
# binary): a folder counts when it holds its labels and its messages.
for d in "$DM_REPO"/tests/corpus/*/ "$DM_REPO"/tests/heldout/*/ "$DM_BUILD"/attach/*/; do
    [ -f "$d/cases.tsv" ] && compgen -G "$d*.eml" >/dev/null && sets+=("${d%/}")
done

T=$(dm_tmpdir)
trap '"$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$DM_REPO/tests/lib/slapd.sh" start "$T/ldap" >/dev/null || exit 1
dm_write_conf "$T/diariemilter.conf" "$T" "$(cat "$T/ldap/uri")"
"$DM_BUILD/diariectl" cases import -c "$T/diariemilter.conf" "$DM_SHARED/fixtures/arenden.csv" \
    >/dev/null || exit 1
"$DM_BUILD/diariectl" fit -c "$T/diariemilter.conf" "$@" "${sets[@]}"
