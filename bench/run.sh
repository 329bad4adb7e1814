#!/usr/bin/env bash
# make bench: every benchmark, one after the other.  Add a script to the
# list to add a benchmark.
set -u
DM_REPO=$(cd "$(dirname "$0")/.." && pwd)
benchmarks=(
    bench/classify.sh
    bench/memory.sh
    bench/memory-load.sh
    bench/attach.sh
    bench/throughput.sh
)
rc=0
for b in "${benchmarks[@]}"; do
    echo "== $b"
    "$DM_REPO/$b" || rc=1
done
exit $rc
