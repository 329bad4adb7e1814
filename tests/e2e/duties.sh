#!/usr/bin/env bash
# End to end, the two duties the gateway enforces (issue 7):
#   R14  mass mailing from the municipality's own senders outside the
#        communications unit is rejected at DATA, also when split;
#   R12, R13  mail to an absent person is forwarded to the delegate, or
#        the manager is told (once a day); a bare out-of-office reply
#        earns its sender one reminder; diariectl report absence.
# swaks -> a private Postfix with diariemilter -> smtp-sink, with the
# fixture directory in a private slapd (absences moved to around today).
# Loopback is an internal network here, so swaks submits as the
# municipality's own clients would.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF=$DM_REPO/tests/lib/postfix.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT

dm_stack_start "$T" || { fail "slapd and postfix start"; exit 1; }
dm_absences_to_today "$T/ldap" || { fail "absences moved to today"; exit 1; }
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
    "milter.internal_networks=127.0.0.0/8" "site.mass_window_recipients=30"
"$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
    { fail "cases import"; exit 1; }
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }
DB=$T/db/diarie.db

sink_count() { "$PF" sink-files "$T/pf" | wc -l; }
# Let Postfix deliver everything, the copies and notices included.
settle() {
    local want=$1
    "$PF" wait-sink "$T/pf" "$want" 30 >/dev/null
    "$PF" wait-queue "$T/pf" 30 >/dev/null
    sleep 1
    "$PF" wait-queue "$T/pf" 30 >/dev/null
}
# Sink files for RCPT (containing TEXT, when given).
sink_for() {
    local rcpt=$1 text=${2:-} f
    for f in $("$PF" sink-files "$T/pf"); do
        grep -q "^X-Rcpt-Args: <$rcpt>" "$f" || continue
        [ -z "$text" ] || grep -qF -- "$text" "$f" || continue
        printf '%s\n' "$f"
    done
}
# Generated notices (not originals) that reached RCPT.
notices_for() {
    local f n=0
    for f in $(sink_for "$1"); do
        grep -q '^X-Diarie-Genererad: ' "$f" && n=$((n + 1))
    done
    echo "$n"
}
# addrs FROM TO: "rNN@example.com" for NN in FROM..TO, comma separated.
addrs() { seq -f 'r%02g@example.com' "$1" "$2" | paste -sd, -; }
send() { swaks --server "127.0.0.1:$PF_PORT" "$@" >"$T/swaks.out" 2>&1; }

echo "# R14: mass mailing"
send --from karin.wall@sjovik.test --to alla@sjovik.test \
    --header 'Subject: Julfest på fredag' --body 'Hej alla, välkomna på julfest!'
rc=$?
check "karin.wall's mail to the list alla@ is refused" test "$rc" -ne 0
check "... at DATA with 550 5.7.1 and why" \
    grep -q '550 5.7.1 Massutskick (till listan alla@sjovik.test) far endast skickas av kommunikationsenheten' "$T/swaks.out"
check "... and where to publish instead" \
    grep -q 'intranat.sjovik.test/publicera' "$T/swaks.out"
check "the journal records the rejection" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE class='rejected' AND sender='karin.wall@sjovik.test'")" -eq 1

send --from goran.nordstrom@sjovik.test --to alla@sjovik.test \
    --header 'Subject: Nytt intranät från måndag' --body 'Hej alla, på måndag byter vi intranät.'
check "göran.nordström (communications unit) may mail the list" test $? -eq 0
settle 1
check "... and it reached alla@" test -n "$(sink_for alla@sjovik.test 'Nytt intran')"

echo "# R14: a split mass mailing (mass_window_recipients = 30)"
before=$(sink_count)
send --from karin.wall@sjovik.test --to "$(addrs 1 19)" \
    --header 'Subject: Veckobrev 1' --body 'Hej, veckans nyheter från kommunstyrelsen.'
check "19 recipients: accepted" test $? -eq 0
send --from karin.wall@sjovik.test --to "$(addrs 20 29)" \
    --header 'Subject: Veckobrev 2' --body 'Hej, fler nyheter från kommunstyrelsen.'
check "10 more (29 distinct in the window): accepted" test $? -eq 0
settle $((before + 2))
# The window lives in the database: a reload forgets nothing.
kill -USR1 "$(cat "$T/milter.pid")"
sleep 1
send --from karin.wall@sjovik.test --to "$(addrs 28 31)" \
    --header 'Subject: Veckobrev 3' --body 'Hej, ännu fler nyheter.'
check "two new ones make 31 in the window: refused after a reload" test $? -ne 0
check "... with 550 5.7.1 naming the window" \
    grep -q '550 5.7.1 Massutskick (31 mottagare inom tidsfonstret)' "$T/swaks.out"
send --from karin.wall@sjovik.test --to "$(addrs 3 7)" \
    --header 'Subject: Veckobrev 4' --body 'Hej, en rättelse.'
check "recipients already in the window are not new: accepted" test $? -eq 0
send --from erik.sjoberg@example.org --to "$(addrs 1 25)" \
    --header 'Subject: Erbjudande' --body 'Köp våra kontorsstolar.'
check "a sender from outside to 25 recipients: not ours to refuse" test $? -eq 0

echo "# R13: forwarding while Ivan Petrov is away"
before=$(sink_count)
send --from lisa.ahmed@example.com --to ivan.petrov@sjovik.test \
    --header 'Subject: Skolskjutsen till Norrby skola' \
    --body 'Hej, jag vill lämna ett klagomål på skolskjutsen, ärende BUN 2026/33. Lisa Ahmed'
check "the mail to Ivan is accepted" test $? -eq 0
settle $((before + 1))
ivan=$(sink_for ivan.petrov@sjovik.test 'Skolskjutsen till Norrby')
check "Ivan has it" test -n "$ivan"
check "his delegate Jonas Alm has it too" test -n "$(sink_for jonas.alm@sjovik.test 'Skolskjutsen till Norrby')"
check "the journal says so" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE subject LIKE 'Skolskjutsen%' AND actions LIKE '%\"forward\", \"to\": \"jonas.alm@sjovik.test\"%'")" -eq 1
send --from dmitri.volkov@example.org --to ivan.petrov@sjovik.test \
    --header 'Subject: Grattis på födelsedagen!' \
    --body 'Hej Ivan! Grattis på födelsedagen, hoppas du firar ordentligt. Kram från Dmitri och familjen'
settle $((before + 2))
check "a private mail to Ivan is not forwarded" \
    test -z "$(sink_for jonas.alm@sjovik.test 'Grattis')"

echo "# R12: Fatima Nilsson away with no fullmakt and no delegate"
for i in 1 2 3; do
    send --from "medborgare$i@example.com" --to fatima.nilsson@sjovik.test \
        --header "Subject: Fråga om ansökan $i" \
        --body "Hej, jag vill överklaga beslutet om min ansökan om bistånd. Mvh medborgare $i"
    check "message $i to Fatima is accepted" test $? -eq 0
done
settle $((before + 2 + 3))
check "her manager Lena Gustafsson is told once for the three" \
    test "$(notices_for lena.gustafsson@sjovik.test)" -eq 1
check "... that the mailbox is unwatched" \
    grep -q 'Obevakad' $(sink_for lena.gustafsson@sjovik.test) /dev/null

echo "# R13: a bare out-of-office reply"
autoreply() {
    swaks --server "127.0.0.1:$PF_PORT" --from '' --to lisa.ahmed@example.com \
        --header 'From: Maja Lund <maja.lund@sjovik.test>' \
        --header "Subject: Frånvaro: $1" --header 'Auto-Submitted: auto-replied' \
        --body "Hej, jag är ledig till och med nästa fredag och läser inte min e-post. Maja" \
        >"$T/swaks.out" 2>&1
}
before=$(sink_count)
autoreply "Bygglov"
check "Maja's out-of-office reply goes out" test $? -eq 0
settle $((before + 2))
check "she gets one reminder that it names no one else" \
    test "$(notices_for maja.lund@sjovik.test)" -eq 1
autoreply "Strandskydd"
settle $((before + 3))
check "her next bare reply in the same absence: no second reminder" \
    test "$(notices_for maja.lund@sjovik.test)" -eq 1
swaks --server "127.0.0.1:$PF_PORT" --from '' --to lisa.ahmed@example.com \
    --header 'From: Erik Sjöberg <erik.sjoberg@sjovik.test>' \
    --header 'Subject: Frånvaro' --header 'Auto-Submitted: auto-replied' \
    --body 'Hej, jag är ledig. Kontakta Maja Lund, maja.lund@sjovik.test, under tiden.' \
    >"$T/swaks.out" 2>&1
settle $((before + 4))
check "a reply that names a colleague earns no reminder" \
    test "$(notices_for erik.sjoberg@sjovik.test)" -eq 0

echo "# diariectl report absence"
"$DM_BUILD/diariectl" report absence -c "$CONF" >"$T/report.out" 2>&1
rc=$?
check "report absence exits 1: a mailbox is unwatched" test "$rc" -eq 1
# report_has ADDR PATTERN: the lines of ADDR's entry match PATTERN.
report_has() { grep -A2 "^$1 " "$T/report.out" | grep -q -- "$2"; }
check "Ivan: forwarded to Jonas" \
    report_has ivan.petrov@sjovik.test 'forwarded to the delegate jonas.alm@sjovik.test'
check "Fatima: unwatched, Lena told" \
    report_has fatima.nilsson@sjovik.test 'UNWATCHED.*lena.gustafsson@sjovik.test'
check "Maja: absent by her auto-replies" report_has maja.lund@sjovik.test 'absent: auto-replies'
check "... covered by fullmakt" report_has maja.lund@sjovik.test 'mail: *fullmakt'
check "Olof, present and silent, is not listed" \
    test "$(grep -c '^olof.persson@' "$T/report.out")" -eq 0
grep -q . "$T/report.out" && sed 's/^/    /' "$T/report.out"

dm_summary
