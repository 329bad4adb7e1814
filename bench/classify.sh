#!/usr/bin/env bash
# How fast diariemilter reads and judges mail, on one core.
#
#   bench/classify.sh [DIR]
#
# Times, over the SpamAssassin public corpus (~6,000 messages, fetched
# into build/cache/spamassassin by tests/lib/spamassassin.sh) or the
# messages in DIR, on one thread pinned to core 0 (taskset), offline (no
# directory; the fixture diarium imported into a private database):
#
#   parse (GMime alone)          GMime's parser, nothing else
#   parse + extract              what mime/ makes of a message
#   parse + extract + classify   the daemon's whole path but the directory
#   classify alone (extracted)   the rules on messages extracted beforehand
#
# and prints messages/s and MB/s for each, and classify alone / parse
# alone.  The targets: at least 1,000 messages/s end to end, and the rules
# costing no more than GMime's parse (a ratio of at most 1.0).
set -euo pipefail
DM_REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

dir=${1:-}
if [ -z "$dir" ]; then
    dir=$("$DM_REPO/tests/lib/spamassassin.sh") || exit 69
fi
T=$(dm_tmpdir)
trap 'rm -rf "$T"' EXIT
# No directory is asked (--offline in all but name): the URI is never used.
dm_write_conf "$T/diariemilter.conf" "$T" "ldap://127.0.0.1:9/"
"$DM_BUILD/diariectl" cases import -c "$T/diariemilter.conf" \
    "$DM_SHARED/fixtures/arenden.csv" >/dev/null

pin=()
if command -v taskset >/dev/null 2>&1; then
    pin=(taskset -c 0)
else
    echo "(taskset missing: not pinned to one core)"
fi
echo "classification: $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
"${pin[@]}" "$DM_BUILD/diariectl" bench -c "$T/diariemilter.conf" --repeat "${BENCH_REPEAT:-5}" "$dir"
