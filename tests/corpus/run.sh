#!/usr/bin/env bash
# Grade diariectl classify against a labelled corpus set with
# ../shared/tools/corpus-eval, with the fixture directory in a private
# slapd and the fixture diarium imported.
#
#   tests/corpus/run.sh [DIR]     grade DIR (default ../shared/corpus/dev),
#                                 print the grader's report
#   tests/corpus/run.sh --check   for make check: the dev set, the
#                                 project's own sets under tests/corpus/
#                                 and the cases whose errand is only in an
#                                 attachment (build/attach/corpus, made by
#                                 tests/attach/make-fixtures.py) must pass
#                                 completely, with no leak
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

EVAL=$DM_SHARED/tools/corpus-eval
mode=report
sets=()
if [ "${1:-}" = "--check" ]; then
    mode=check
    sets=("$DM_SHARED/corpus/dev")
    for d in "$DM_REPO"/tests/corpus/*/; do
        [ -f "$d/cases.tsv" ] && sets+=("${d%/}")
    done
    sets+=("$DM_BUILD/attach/corpus")
else
    sets=("${1:-$DM_SHARED/corpus/dev}")
fi
for s in "${sets[@]}"; do
    [ -f "$s/cases.tsv" ] || { echo "corpus: no $s/cases.tsv" >&2; exit 66; }
done

T=$(dm_tmpdir)
trap '"$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1; rm -rf "$T"' EXIT
"$DM_REPO/tests/lib/slapd.sh" start "$T/ldap" >/dev/null || exit 1
dm_write_conf "$T/diariemilter.conf" "$T" "$(cat "$T/ldap/uri")"
"$DM_BUILD/diariectl" cases import -c "$T/diariemilter.conf" "$DM_SHARED/fixtures/arenden.csv" \
    >/dev/null || exit 1

rc=0
for s in "${sets[@]}"; do
    echo "== corpus $s"
    if [ "$mode" = check ]; then
        python3 "$EVAL" "$s" --cmd "$DM_BUILD/diariectl classify --json -c $T/diariemilter.conf" \
            --min-pass "${CORPUS_MIN_PASS:-1.0}" || rc=1
    else
        python3 "$EVAL" "$s" --cmd "$DM_BUILD/diariectl classify --json -c $T/diariemilter.conf" || rc=1
    fi
done
exit $rc
