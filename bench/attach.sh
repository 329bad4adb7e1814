#!/usr/bin/env bash
# What reading attachments costs (issue 15), in CPU time, beside GMime's
# parse of the same message: build/attach_bench (tests/attach/attach_bench.c)
# on the messages tests/attach/make-fixtures.py generates (build/attach/
# messages: one attachment each, of every format, and the hostile ones),
# then on the SpamAssassin corpus when it is cached (build/cache/spamassassin,
# fetched by tests/lib/spamassassin.sh).
#
#   bench/attach.sh [REPEAT]       (default 7 runs a message; medians)
#
# Columns: parse = dm_mime_extract without reading attachments (what every
# message costs); daemon = the same with reading, in the daemon's process;
# readers = the reader processes' whole lives, start-up included (the
# daemon starts them ahead of need, but the CPU is spent all the same);
# extra = daemon - parse + readers.  Targets: a message without
# attachments costs nothing extra and starts no reader; a typical 200 kB
# PDF (typical-pdf.eml: ten pages of text and a photograph) under 50 ms.
# Pinned to one CPU when taskset is there, to be less at the mercy of the
# machine's other load.
set -u
DM_REPO=$(cd "$(dirname "$0")/.." && pwd)
DM_BUILD=${DM_BUILD:-$DM_REPO/build}
BIN=$DM_BUILD/attach_bench
X=$DM_BUILD/diariemilter-extract
A=$DM_BUILD/attach
for f in "$BIN" "$X" "$A/expect.tsv"; do
    [ -e "$f" ] || { echo "bench/attach.sh: $f missing (make $f)" >&2; exit 1; }
done
pin=()
command -v taskset >/dev/null && pin=(taskset -c 1)
echo "CPU ms per message, median of ${1:-7} runs:"
"${pin[@]}" "$BIN" -n "${1:-7}" -x "$X" "$A"/messages/*.eml 2>/dev/null
SA=$DM_BUILD/cache/spamassassin
if [ -f "$SA/.complete" ]; then
    echo
    echo "The SpamAssassin corpus (real mail, few attachments), median of 3 runs a message:"
    ls "$SA"/*.eml >"$A/sa-list.txt"
    "${pin[@]}" "$BIN" -x "$X" -l "$A/sa-list.txt" 2>/dev/null
else
    echo "(the SpamAssassin corpus is not cached: tests/lib/spamassassin.sh fetches it)"
fi
