#!/usr/bin/env bash
# Attachments ("make attach-test"), on the files tests/attach/make-fixtures.py
# generates into build/attach:
#
#   1. the sandbox's list of system calls is what reading needs: every
#      fixture and hostile file through build/diariemilter-extract-trace (the
#      reader without its filter) under strace; each call made after the
#      request was read must be one dm_extract_sandbox.c allows (openat only
#      for reading, write only to fds 0..3); and each file through the real,
#      filtered reader gives the same answer (nothing killed by the filter);
#   2. every hostile file, attached to a message, through diariectl
#      classify: it ends within [mime] extract_message_timeout (the CPU bomb
#      reads as "no text" in about 4 s, or meets the 10 s deadline on a
#      loaded machine: either is right), the message
#      is classified, the attachment's status is the one expected, and
#      diariectl's own memory (its peak, VmHWM) stays bounded (the daemon's
#      is watched by tests/e2e/attach.sh);
#   3. a reader that would run past its deadline (a CPU bomb under a 1 s
#      extract_timeout) is stopped at it;
#   4. --explain names the attachment and page each segment of attachment
#      text comes from, as the reasons name them ("bilaga 'X.pdf', sida 2");
#   5. the reasons of a sekretess found in a PDF name the page the
#      personnummer and the sensitive facts stand on.
#
# The labelled cases (build/attach/corpus) are graded by tests/corpus/run.sh
# --check; the daemon with attachments through Postfix by tests/e2e/attach.sh.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

A=$DM_BUILD/attach
TRACE=$DM_BUILD/diariemilter-extract-trace
READER=$DM_BUILD/diariemilter-extract
PY=${PYTHON3:-/usr/bin/python3}
for f in "$A/expect.tsv" "$TRACE" "$READER" "$DM_BUILD/diariectl"; do
    [ -e "$f" ] || { echo "tests/attach/run.sh: $f missing (make attach-test)" >&2; exit 1; }
done
T=$(dm_tmpdir)
trap 'rm -rf "$T"' EXIT

# A request of the wire format around a file, with the default limits.
request() {
    "$PY" - "$1" "$2" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
t, n = sys.argv[2].encode(), sys.argv[1].rsplit("/", 1)[-1].encode()
head = b"DMXQ" + struct.pack("<IQQQIIIIHHHH", 1, 25 << 20, 256 << 10, 100 << 20, 100, 2000, 100, 10,
                             len(t), len(n), 0, 0)
sys.stdout.buffer.write(head + t + n + data)
EOF
}

# 1. System calls.
if ! command -v strace >/dev/null; then
    fail "strace not found (scripts/deps.sh installs it)"
else
    allowed=$(grep -o 'SCMP_SYS([a-z0-9_]*)' "$DM_REPO/extract/worker/dm_extract_sandbox.c" |
        sed 's/SCMP_SYS(\(.*\))/\1/' | sort -u | tr '\n' ' ')
    : >"$T/calls"
    bad=0
    n=0
    while IFS=$'\t' read -r file type status words; do
        request "$A/files/$file" "$type" >"$T/req"
        strace -f -qq -o "$T/trace" "$TRACE" --memory $((256 << 20)) --cpu 10 <"$T/req" | cat >"$T/ans.trace"
        "$READER" --memory $((256 << 20)) --cpu 10 <"$T/req" | cat >"$T/ans.real"
        n=$((n + 1))
        if ! cmp -s "$T/ans.trace" "$T/ans.real"; then
            fail "$file: the filtered reader answers otherwise than the unfiltered one"
            bad=$((bad + 1))
        fi
        # Calls from the first read of stdin on: what the filter sees.
        awk '/ read\(0, / { on = 1 } on' "$T/trace" >"$T/after"
        awk '{ c = $2; sub(/\(.*/, "", c); if (c != "" && c !~ /^[+<]/) print c }' "$T/after" >>"$T/calls"
        if grep -E ' openat\(' "$T/after" | grep -Eq 'O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND|O_TMPFILE'; then
            fail "$file: the reader opens a file for writing"
            bad=$((bad + 1))
        fi
        if grep -E ' write\(([4-9]|[1-9][0-9]+),' "$T/after" | grep -q .; then
            fail "$file: the reader writes to a descriptor above 3"
            bad=$((bad + 1))
        fi
    done <"$A/expect.tsv"
    sort "$T/calls" | uniq -c | sort -rn >"$T/calls.count"
    missing=""
    for c in $(awk '{ print $2 }' "$T/calls.count"); do
        case " $allowed write openat tgkill ioctl " in
        *" $c "*) ;;
        *) missing="$missing $c" ;;
        esac
    done
    if [ -n "$missing" ]; then
        fail "system calls the sandbox does not allow, on $n files:$missing"
    else
        ok "system calls after the request, on $n files: $(awk '{ printf "%s%s %d", s, $2, $1; s = ", " }' "$T/calls.count") (all allowed)"
    fi
    [ "$bad" -eq 0 ] && ok "the filtered reader answers as the unfiltered one on every file"
fi

# 2. Hostile files attached to messages, through classification.
dm_write_conf "$T/c.conf" "$T" ldap://127.0.0.1:9
msg_timeout=30
while read -r msg want; do
    [ -f "$A/messages/$msg.eml" ] || { fail "$msg.eml missing"; continue; }
    start=$(date +%s%N)
    "$DM_BUILD/diariectl" classify --explain --offline -c "$T/c.conf" \
        --from fredrik.ek@example.net --rcpt erik.sjoberg@sjovik.test "$A/messages/$msg.eml" \
        >"$T/out" 2>"$T/err" &
    pid=$!
    # diariectl's own peak (VmHWM), its readers not counted: sampled until
    # it ends (the mark only grows).
    rss=0
    while kill -0 "$pid" 2>/dev/null; do
        r=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        [ -n "$r" ] && rss=$r
        sleep 0.01
    done
    wait "$pid"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    class=$(sed -n 's/^  class *\([a-z]*\).*/\1/p' "$T/out")
    if [ "$rc" -ne 0 ] || [ -z "$class" ]; then
        fail "$msg: not classified (exit $rc): $(tail -2 "$T/err")"
    elif [ "$ms" -gt $((msg_timeout * 1000 + 2000)) ]; then
        fail "$msg: took $ms ms, past extract_message_timeout"
    elif [ "$rss" -gt 64000 ]; then
        fail "$msg: diariectl used $rss kB"
    elif ! grep -Eq "^  attachment .* bytes\): ($want)" "$T/out"; then
        fail "$msg: the attachment is \"$(grep '^  attachment .* bytes): ' "$T/out")\", expected $want"
    else
        ok "$msg: $class in $ms ms, attachment $(grep '^  attachment .* bytes): ' "$T/out" | sed 's/.*bytes): //'), diariectl ${rss} kB"
    fi
done <<'EOF'
hostile-encrypted-pdf encrypted as pdf
hostile-pages-10000-pdf read as pdf, 100 pages, .* bytes of text, cut by a limit
hostile-bomb-docx limit as docx
hostile-nested-winmail-dat read as tnef
hostile-random-pdf failed as pdf
hostile-truncated-pdf failed as pdf
hostile-malformed-pdf failed as pdf
hostile-scan-pdf no text as pdf
hostile-slow-pdf no text as pdf|timeout
hostile-broken-winmail-dat failed as tnef
EOF

# 3. A CPU bomb (a 66 kB PDF whose one page is seconds of Poppler's work)
#    under a 1 s deadline: stopped at it, and the message goes on.
dm_write_conf "$T/d.conf" "$T" ldap://127.0.0.1:9 mime.extract_timeout=1s
start=$(date +%s%N)
"$DM_BUILD/diariectl" classify --explain --offline -c "$T/d.conf" --from fredrik.ek@example.net \
    --rcpt erik.sjoberg@sjovik.test "$A/messages/hostile-slow-pdf.eml" >"$T/out" 2>"$T/err"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$rc" -eq 0 ] && grep -q '^  attachment .* bytes): timeout' "$T/out" && [ "$ms" -lt 4000 ] &&
    grep -q "läsningen av bilagan tog längre än \[mime\] extract_timeout" "$T/out"; then
    ok "a CPU bomb under a 1 s deadline: stopped at it (${ms} ms in all), classified, the reason says so"
else
    fail "the CPU bomb under a 1 s deadline (exit $rc, $ms ms): $(grep -E '^  attachment .* bytes\)|bilaga' "$T/out")"
fi

# 4. The segments of a two-page PDF, each named with its page.
"$DM_BUILD/diariectl" classify --explain --offline -c "$T/c.conf" --from fredrik.ek@example.net \
    --rcpt erik.sjoberg@sjovik.test "$A/messages/pdf-case.eml" >"$T/out" 2>"$T/err"
if grep -q "^  attachment  *sv  *[0-9]*  \[bilaga 'ansokan.pdf', sida 1\] Komplettering till ärende BN 2026/45" "$T/out" &&
    grep -q "^  attachment  *sv  *[0-9]*  \[bilaga 'ansokan.pdf', sida 2\] Sökande: Maria Karlsson" "$T/out"; then
    ok "--explain: each page of the PDF a segment, named \"bilaga 'ansokan.pdf', sida N\""
else
    fail "--explain's attachment segments: $(grep -E '^  attachment ' "$T/out")"
fi

# 5. The reasons say where in an attachment the personnummer and the
#    sensitive facts of a sekretess stand, in the catalogue's words
#    (etc/templates/sv/reasons.conf where_attachment_page, where_pnr).
"$DM_BUILD/diariectl" classify --explain --offline -c "$T/c.conf" --from lakare@vard.example \
    --rcpt socialforvaltningen@sjovik.test "$A/messages/pdf-sekretess.eml" >"$T/out" 2>"$T/err"
if grep -q "^  R9 .*\"diagnos\" (bilaga 'intyg.pdf', sida 1)" "$T/out" &&
    grep -q "^  R9  *personnumret står i bilaga 'intyg.pdf', sida 1$" "$T/out" &&
    grep -q "^  class  *registreras (sekretess)" "$T/out"; then
    ok "reasons: sekretess, the personnummer and the diagnosis named \"bilaga 'intyg.pdf', sida 1\""
else
    fail "the reasons of a sekretess in a PDF: $(sed -n '/^reasons:/,/^actions/p' "$T/out")"
fi

dm_summary
