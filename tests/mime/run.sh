#!/usr/bin/env bash
# Real mail no one here wrote: the SpamAssassin public corpus (~6,000
# messages, fetched by tests/lib/spamassassin.sh into build/cache, never
# committed), the labelled dev corpus and tests/data/mime, through
#
#   1. extraction and the registrator copy (build/extract_all --copy):
#      no crash, every string valid UTF-8, every copy's original exact;
#   2. valgrind on the same driver over a fixed sample of 200 messages:
#      no memory error, no definite leak;
#   3. diariectl classify --json --offline on every message: a JSON object
#      with a class for each.
#
#   tests/mime/run.sh            all three ("make mime-test")
#   MIME_TEST_SAMPLE=N           messages for valgrind (default 200)
#   MIME_TEST_JOBS=N             classify processes at once (default: CPUs)
#
# Without the corpus (no network, no npm) the SpamAssassin part is skipped
# with a notice and the local messages are still run.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

EXTRACT=$DM_BUILD/extract_all
CTL=$DM_BUILD/diariectl
SAMPLE=${MIME_TEST_SAMPLE:-200}
JOBS=${MIME_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
for b in "$EXTRACT" "$CTL"; do
    [ -x "$b" ] || { echo "tests/mime/run.sh: $b missing (make all $DM_BUILD/extract_all)" >&2; exit 1; }
done

T=$(dm_tmpdir)
trap 'rm -rf "$T"' EXIT
# Private copies: a rebuild while the test runs does not pull the
# binaries from under it.
cp "$EXTRACT" "$CTL" "$T/" || exit 1
EXTRACT=$T/$(basename "$EXTRACT")
CTL=$T/$(basename "$CTL")

sets=("$DM_REPO/tests/data/mime" "$DM_SHARED/corpus/dev")
if SA=$("$DM_REPO/tests/lib/spamassassin.sh" 2>"$T/fetch.err"); then
    sets+=("$SA")
else
    skip "SpamAssassin corpus unavailable: $(tail -1 "$T/fetch.err")"
fi
for d in "${sets[@]}"; do
    [ -d "$d" ] && ls "$d"/*.eml
done 2>/dev/null >"$T/all.txt"
total=$(wc -l <"$T/all.txt")
echo "== mime: $total messages"

# 1. Extraction and copies.
if DM_SRCDIR=$DM_REPO "$EXTRACT" --copy -l "$T/all.txt" >"$T/extract.out" 2>"$T/extract.err"; then
    ok "extraction: $(sed 's/^extract_all: //' "$T/extract.out")"
else
    fail "extraction ($(grep -c . "$T/extract.err") problems):"
    head -40 "$T/extract.err"
    tail -1 "$T/extract.out"
fi

# 2. valgrind on a fixed sample: every (total/SAMPLE)th message.
if command -v valgrind >/dev/null; then
    step=$(( total / SAMPLE ))
    [ "$step" -ge 1 ] || step=1
    awk -v s="$step" -v n="$SAMPLE" '(NR - 1) % s == 0 && c < n { print; c++ }' "$T/all.txt" \
        >"$T/sample.txt"
    if G_SLICE=always-malloc G_DEBUG=gc-friendly DM_SRCDIR=$DM_REPO \
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        --suppressions="$DM_REPO/tests/milter/valgrind.supp" --log-file="$T/valgrind.log" \
        "$EXTRACT" --copy -l "$T/sample.txt" >"$T/vg.out" 2>&1; then
        ok "valgrind: $(wc -l <"$T/sample.txt") messages, no error, no definite leak"
    else
        fail "valgrind on $(wc -l <"$T/sample.txt") messages:"
        head -60 "$T/valgrind.log"
        tail -5 "$T/vg.out"
    fi
else
    fail "valgrind not found (scripts/deps.sh installs it)"
fi

# 3. diariectl classify --json --offline on every message.
dm_write_conf "$T/diariemilter.conf" "$T" ldap://127.0.0.1:9
start=$(date +%s)
if python3 - "$CTL" "$T/diariemilter.conf" "$T/all.txt" "$JOBS" >"$T/classify.out" 2>&1 <<'PY'
import concurrent.futures, json, subprocess, sys
ctl, conf, listing, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
paths = [l.strip() for l in open(listing) if l.strip()]

def one(path):
    try:
        r = subprocess.run([ctl, "classify", "--json", "--offline", "-c", conf,
                            "--from", "avsandare@invanare.example",
                            "--rcpt", "kommun@sjovik.test", path],
                           capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return path, "timed out"
    if r.returncode != 0:
        return path, "exit %d: %s" % (r.returncode, r.stderr.decode(errors="replace")[-300:])
    try:
        v = json.loads(r.stdout)
    except ValueError as e:
        return path, "not JSON (%s): %r" % (e, r.stdout[:200])
    if not isinstance(v, dict) or "class" not in v:
        return path, "no class: %r" % r.stdout[:200]
    return path, None

bad, classes = [], {}
with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
    for path, err in pool.map(one, paths):
        if err:
            bad.append("%s: %s" % (path, err))
print("%d messages, %d without a JSON verdict" % (len(paths), len(bad)))
for b in bad[:20]:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
then
    ok "classify --json --offline: $(head -1 "$T/classify.out") in $(( $(date +%s) - start )) s"
else
    fail "classify --json --offline:"
    cat "$T/classify.out"
fi

dm_summary
