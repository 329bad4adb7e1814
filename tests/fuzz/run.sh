#!/usr/bin/env bash
# libFuzzer over parsing and extraction (tests/fuzz/fuzz_extract.c).
#
#   tests/fuzz/run.sh short    about a minute ("make check": fuzz-test)
#   tests/fuzz/run.sh long     an hour, or until interrupted ("make fuzz")
#
#   FUZZ_TIME=SECONDS          how long instead (long: 0 = until interrupted)
#   FUZZ_JOBS=N                long runs: N processes (default 1)
#
# The seed corpus is copied at run time from tests/data/mime/*.eml,
# tests/corpus/*/*.eml and ../shared/corpus/dev/*.eml (never committed
# twice); what the fuzzer finds worth keeping grows in build/fuzz/corpus
# between runs.  Inputs that crash, leak or hang are saved to
# build/fuzz/crashes.  Those found earlier are tried again first; the
# script fails when any still crashes or a new one is found.  A fixed one
# moves to build/fuzz/fixed.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

mode=${1:-short}
case $mode in
short) time=${FUZZ_TIME:-60} ;;
long) time=${FUZZ_TIME:-3600} ;; # libFuzzer: 0 is no limit
*) echo "usage: tests/fuzz/run.sh [short|long]" >&2; exit 2 ;;
esac
F=$DM_BUILD/fuzz
BIN=$F/fuzz_extract
[ -x "$BIN" ] || { echo "tests/fuzz/run.sh: $BIN missing (make $BIN)" >&2; exit 1; }
mkdir -p "$F/seeds" "$F/corpus" "$F/crashes" "$F/fixed"
export DM_SRCDIR=$DM_REPO
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export G_SLICE=always-malloc

rm -f "$F/seeds"/*
for f in "$DM_REPO"/tests/data/mime/*.eml "$DM_REPO"/tests/corpus/*/*.eml \
    "$DM_SHARED"/corpus/dev/*.eml; do
    [ -f "$f" ] && cp "$f" "$F/seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
done
echo "== fuzz ($mode, ${time}s): $(ls "$F/seeds" | wc -l) seeds, $(ls "$F/corpus" | wc -l) in the corpus"

# Crashes found before: still crashing?
for c in "$F"/crashes/*; do
    [ -f "$c" ] || continue
    if "$BIN" "$c" >"$F/replay.log" 2>&1; then
        mv "$c" "$F/fixed/"
        ok "fixed: $(basename "$c")"
    else
        fail "still crashes: $c"
        tail -20 "$F/replay.log"
    fi
done

before=$(ls "$F/crashes" | wc -l)
args=(-max_total_time="$time" -timeout=20 -rss_limit_mb=2048 -max_len=131072
      -dict="$DM_REPO/tests/fuzz/mime.dict" -artifact_prefix="$F/crashes/"
      -print_final_stats=1)
if [ "$mode" = long ] && [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    args+=(-fork="$FUZZ_JOBS" -ignore_crashes=1)
fi
"$BIN" "${args[@]}" "$F/corpus" "$F/seeds" >"$F/fuzz.log" 2>&1
rc=$?
after=$(ls "$F/crashes" | wc -l)
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$F/fuzz.log" | tail -3
if [ "$after" -gt "$before" ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ]; }; then
    fail "the fuzzer found $((after - before)) input(s) that fail (exit $rc): $F/crashes"
    grep -E "ERROR|SUMMARY|runtime error|fuzz_extract:" "$F/fuzz.log" | head -20
else
    ok "fuzz_extract: $(grep -E '^stat::number_of_executed_units' "$F/fuzz.log" | awk '{print $2}') runs, nothing found"
fi
dm_summary
