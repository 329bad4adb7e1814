#!/usr/bin/env bash
# End to end, attachments (issue 15): swaks -> a private Postfix with
# diariemilter (its pool of attachment readers) -> smtp-sink, with the
# fixture directory in a private slapd.
#
#   - a message whose case number is only in its PDF: registreras, the
#     registrator's copy lists the PDF with "texten lästes", the journal
#     row names the case;
#   - messages carrying the hostile files (zip bomb, 10,000 pages, random
#     bytes named .pdf, encrypted, truncated and malformed PDFs, a scan,
#     nested and broken TNEF, a CPU bomb past a 2 s extract_timeout): each
#     answered 250 within its deadline (the milter decides before the
#     reply), delivered and journaled, with a reason naming the attachment
#     where its text could not be read;
#   - the daemon still running, its peak memory (VmHWM) bounded, its
#     readers as many as [mime] extract_workers, none left a zombie.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF=$DM_REPO/tests/lib/postfix.sh
A=$DM_BUILD/attach

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi
[ -f "$A/expect.tsv" ] || { echo "tests/e2e/attach.sh: $A missing (make $A/expect.tsv)" >&2; exit 1; }

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT

dm_stack_start "$T" || { fail "slapd and postfix start"; exit 1; }
# A short deadline, so that the CPU bomb (slow.pdf) meets it.
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
    "mime.extract_timeout=2s"
"$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
    { fail "cases import"; exit 1; }
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }
DB=$T/db/diarie.db
PID=$(cat "$T/milter.pid")

sink_count() { "$PF" sink-files "$T/pf" | wc -l; }
settle() {
    "$PF" wait-sink "$T/pf" "$1" 60 >/dev/null
    "$PF" wait-queue "$T/pf" 60 >/dev/null
    sleep 1
    "$PF" wait-queue "$T/pf" 60 >/dev/null
}
sink_for() {
    local rcpt=$1 text=$2 f
    for f in $("$PF" sink-files "$T/pf"); do
        grep -q "^X-Rcpt-Args: <$rcpt>" "$f" && grep -qF -- "$text" "$f" && printf '%s\n' "$f"
    done
}
# The cover note of a copy, decoded (quoted-printable UTF-8).
cover_note() {
    python3 - "$1" <<'EOF'
import email, sys
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=policy.default)
for part in m.walk():
    if part.get_content_type() == "text/plain":
        print(part.get_content())
        break
EOF
}
send() {
    swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from fredrik.ek@example.net \
        --to erik.sjoberg@sjovik.test --data "@$A/messages/$1.eml" >"$T/swaks-$1.out" 2>&1
}
readers() {
    local n=0 p
    for p in $(ps -o pid= --ppid "$PID"); do
        tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'diariemilter-extract' && n=$((n + 1))
    done
    echo "$n"
}

# The pool is warm before any mail.
for i in $(seq 1 50); do [ "$(readers)" -eq 2 ] && break; sleep 0.1; done
check "the daemon keeps 2 attachment readers waiting ([mime] extract_workers)" test "$(readers)" -eq 2

# A case number only in the attached PDF.
before=$(sink_count)
check "the message with a PDF is accepted" send pdf-case
settle $((before + 2))
erik=$(sink_for erik.sjoberg@sjovik.test "attach-pdf-case@example.org")
copy=$(sink_for registrator@sjovik.test "attach-pdf-case@example.org")
check "Erik's message is classified registreras (the case is only in the PDF)" \
    grep -q '^X-Diarie-Klass: registreras$' "${erik:-/dev/null}"
if [ -n "$copy" ]; then
    cover_note "$copy" >"$T/cover.txt"
    check "the copy's cover note names the case found in the PDF" grep -q 'Ärende: *BN 2026/45' "$T/cover.txt"
    check "the copy's cover note lists the PDF and says its text was read" \
        grep -Eq '^Bilagor: +ansokan\.pdf \(application/pdf, [0-9]+ kB\): texten lästes, 2 sidor$' "$T/cover.txt"
else
    fail "the registrator got a copy"
fi
check "the journal row names BN 2026/45" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE message_id='attach-pdf-case@example.org' AND class='registreras' AND case_dnr='BN 2026/45'")" -eq 1

# The hostile files: each accepted, delivered and journaled.
hwm_before=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
# The 250 comes after the milter's decision: the SMTP transaction's time
# bounds the reading's.  One attachment each, so extract_timeout (2 s) is
# its deadline; 3 s of slack for SMTP and a loaded machine.
for m in hostile-bomb-docx hostile-pages-10000-pdf hostile-random-pdf hostile-encrypted-pdf \
    hostile-truncated-pdf hostile-malformed-pdf hostile-scan-pdf hostile-nested-winmail-dat \
    hostile-broken-winmail-dat hostile-slow-pdf; do
    before=$(sink_count)
    start=$(date +%s%N)
    if send "$m"; then
        ms=$(( ($(date +%s%N) - start) / 1000000 ))
        settle $((before + 1))
        if [ "$ms" -gt 5000 ]; then
            fail "$m: accepted after $ms ms, past its 2 s deadline"
        elif [ -n "$(sink_for erik.sjoberg@sjovik.test "attach-$m@example.org")" ] &&
            [ "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE message_id='attach-$m@example.org'")" -eq 1 ]; then
            ok "$m: accepted in $ms ms, delivered and journaled"
        else
            fail "$m: accepted but not delivered or not journaled"
        fi
    else
        fail "$m: not accepted: $(tail -2 "$T/swaks-$m.out")"
    fi
done
check "the journal's reasons name the bomb, the random bytes, the encrypted, truncated and malformed PDFs, the scan and the broken TNEF" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE reasons LIKE '%''bomb.docx''%' OR reasons LIKE '%''random.pdf''%' OR reasons LIKE '%''encrypted.pdf''%' OR reasons LIKE '%''truncated.pdf''%' OR reasons LIKE '%''malformed.pdf''%' OR reasons LIKE '%''broken-winmail.dat''%' OR reasons LIKE '%''scan.pdf'': bilaga utan text%'")" -eq 7
check "the journal's reasons say the CPU bomb was stopped at [mime] extract_timeout" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE message_id='attach-hostile-slow-pdf@example.org' AND reasons LIKE '%slow.pdf%extract_timeout%'")" -eq 1
check "the daemon is still running" kill -0 "$PID"
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
if [ "$hwm" -lt 100000 ]; then
    ok "the daemon's peak memory: ${hwm} kB (${hwm_before} kB before the hostile files)"
else
    fail "the daemon's peak memory: ${hwm} kB"
fi
for i in $(seq 1 50); do [ "$(readers)" -eq 2 ] && break; sleep 0.1; done
check "2 readers waiting again, no more" test "$(readers)" -eq 2
check "no reader left a zombie" test -z "$(ps -o stat= --ppid "$PID" | grep '^Z')"
check "a reader that failed is logged" grep -q 'attachment reader: failed' "$T/milter.log"

dm_summary
