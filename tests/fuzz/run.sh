#!/usr/bin/env bash
# libFuzzer over parsing and extraction: fuzz_extract (mime/, the message;
# tests/fuzz/fuzz_extract.c) and fuzz_worker (extract/worker/, the
# attachment reader's request handling; tests/fuzz/fuzz_worker.c).
#
#   tests/fuzz/run.sh short [TARGET...]  about a minute for fuzz_extract and
#                                        45 s for fuzz_worker ("make check")
#   tests/fuzz/run.sh long [TARGET...]   an hour each, or until interrupted
#                                        ("make fuzz")
#
#   FUZZ_TIME=SECONDS          how long instead, each (long: 0 = until interrupted)
#   FUZZ_JOBS=N                long runs: N processes (default 1)
#   FUZZ_ASAN_OPTIONS=...      instead of each target's ASAN_OPTIONS
#
# fuzz_extract's seeds are copied at run time from tests/data/mime/*.eml,
# tests/corpus/*/*.eml and ../shared/corpus/dev/*.eml (never committed
# twice); fuzz_worker's are the requests tests/attach/make-fixtures.py
# wraps around its fixtures (build/attach/seeds).  What the fuzzer finds
# worth keeping grows in build/fuzz/corpus (fuzz_worker: corpus-worker)
# between runs.  Inputs that crash, leak or hang are saved to
# build/fuzz/crashes (fuzz_worker's named worker-*).  Those found earlier
# are tried again first; the script fails when any still crashes or a new
# one is found.  A fixed one moves to build/fuzz/fixed.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

mode=${1:-short}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_extract fuzz_worker)
case $mode in
short | long) ;;
*) echo "usage: tests/fuzz/run.sh [short|long] [TARGET...]" >&2; exit 2 ;;
esac
F=$DM_BUILD/fuzz
mkdir -p "$F/seeds" "$F/corpus" "$F/crashes" "$F/fixed"
export DM_SRCDIR=$DM_REPO
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export G_SLICE=always-malloc

for target in "${targets[@]}"; do
BIN=$F/$target
[ -x "$BIN" ] || { echo "tests/fuzz/run.sh: $BIN missing (make $BIN)" >&2; exit 1; }
case $target in
fuzz_extract)
    short_time=60
    seeds=$F/seeds
    corpus=$F/corpus
    dict=$DM_REPO/tests/fuzz/mime.dict
    prefix=$F/crashes/
    old_crashes=$(ls "$F"/crashes/* 2>/dev/null | grep -v '/crashes/worker-' || true)
    export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    rm -f "$seeds"/*
    for f in "$DM_REPO"/tests/data/mime/*.eml "$DM_REPO"/tests/corpus/*/*.eml \
        "$DM_SHARED"/corpus/dev/*.eml; do
        [ -f "$f" ] && cp "$f" "$seeds/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    ;;
fuzz_worker)
    short_time=45
    seeds=$DM_BUILD/attach/seeds
    corpus=$F/corpus-worker
    dict=$DM_REPO/tests/fuzz/worker.dict
    prefix=$F/crashes/worker-
    old_crashes=$(ls "$F"/crashes/worker-* 2>/dev/null || true)
    # libytnef's exit() on bad input returns to the target and leaves
    # the library's allocations behind: no leak check here (the unit
    # tests check the readers for leaks on every fixture).
    export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
    [ -d "$seeds" ] || { echo "tests/fuzz/run.sh: $seeds missing (make build/attach/expect.tsv)" >&2; exit 1; }
    ;;
*) echo "tests/fuzz/run.sh: unknown target $target" >&2; exit 2 ;;
esac
case $mode in
short) time=${FUZZ_TIME:-$short_time} ;;
long) time=${FUZZ_TIME:-3600} ;; # libFuzzer: 0 is no limit
esac
mkdir -p "$corpus"
echo "== $target ($mode, ${time}s): $(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) in the corpus"

# Crashes found before: still crashing?
for c in $old_crashes; do
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
      -dict="$dict" -artifact_prefix="$prefix" -print_final_stats=1)
if [ "$mode" = long ] && [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
    args+=(-fork="$FUZZ_JOBS" -ignore_crashes=1)
fi
"$BIN" "${args[@]}" "$corpus" "$seeds" >"$F/$target.log" 2>&1
rc=$?
after=$(ls "$F/crashes" | wc -l)
grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE" "$F/$target.log" | tail -3
if [ "$after" -gt "$before" ] || { [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ]; }; then
    fail "$target found $((after - before)) input(s) that fail (exit $rc): $F/crashes"
    grep -E "ERROR|SUMMARY|runtime error|$target:" "$F/$target.log" | head -20
else
    ok "$target: $(grep -E '^stat::number_of_executed_units' "$F/$target.log" | awk '{print $2}') runs, nothing found"
fi
done
dm_summary
