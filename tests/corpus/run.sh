#!/usr/bin/env bash
# Grade diariectl classify against a labelled corpus set with
# ../shared/tools/corpus-eval, with the fixture directory in a private
# slapd and the fixture diarium imported.
#
#   tests/corpus/run.sh [DIR]     grade DIR (default ../shared/corpus/dev),
#                                 print the grader's report
#   tests/corpus/run.sh --check   for make check: ../shared/corpus/dev and
#                                 dev2 must pass at least CORPUS_SHARED_MIN_PASS
#                                 (0.98); the project's own sets under
#                                 tests/corpus/ and the cases whose errand is
#                                 only in an attachment (build/attach/corpus,
#                                 made by tests/attach/make-fixtures.py) at
#                                 least CORPUS_MIN_PASS (1.0), none with a
#                                 privacy leak; and diariectl fit must grade
#                                 each set as corpus-eval does
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

EVAL=$DM_SHARED/tools/corpus-eval
mode=report
sets=()
declare -A bar=()
if [ "${1:-}" = "--check" ]; then
    mode=check
    sets=("$DM_SHARED/corpus/dev" "$DM_SHARED/corpus/dev2")
    bar[$DM_SHARED/corpus/dev]=${CORPUS_SHARED_MIN_PASS:-0.98}
    bar[$DM_SHARED/corpus/dev2]=${CORPUS_SHARED_MIN_PASS:-0.98}
    for d in "$DM_REPO"/tests/corpus/*/; do
        [ -f "$d/cases.tsv" ] && sets+=("${d%/}") && bar[${d%/}]=${CORPUS_MIN_PASS:-1.0}
    done
    sets+=("$DM_BUILD/attach/corpus")
    bar[$DM_BUILD/attach/corpus]=${CORPUS_MIN_PASS:-1.0}
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
declare -A passed=()
for s in "${sets[@]}"; do
    echo "== corpus $s"
    if [ "$mode" = check ]; then
        python3 "$EVAL" "$s" --cmd "$DM_BUILD/diariectl classify --json -c $T/diariemilter.conf" \
            --min-pass "${bar[$s]:-${CORPUS_MIN_PASS:-1.0}}" >"$T/eval.out" || rc=1
    else
        python3 "$EVAL" "$s" --cmd "$DM_BUILD/diariectl classify --json -c $T/diariemilter.conf" \
            >"$T/eval.out" || rc=1
    fi
    cat "$T/eval.out"
    passed[$s]=$(sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' "$T/eval.out")
done
if [ "$mode" = check ]; then
    # The fitter reads and grades every labelled message itself: it must
    # see what corpus-eval sees, or its weights are fitted to something
    # else.
    echo "== diariectl fit --grade agrees with corpus-eval"
    "$DM_BUILD/diariectl" fit --grade -c "$T/diariemilter.conf" "${sets[@]}" >"$T/grade.out" || rc=1
    i=0
    for s in "${sets[@]}"; do
        i=$((i + 1))
        got=$(sed -n "${i}p" "$T/grade.out" | cut -f3)
        if [ "$got" != "${passed[$s]}" ]; then
            echo "FAIL $s: diariectl fit grades $got exactly right, corpus-eval ${passed[$s]}"
            rc=1
        else
            echo "ok   $s: $got exactly right by both"
        fi
    done
fi
exit $rc
