#!/usr/bin/env bash
# End to end, several gateways on one record (issue 17): a private
# PostgreSQL (tests/lib/pg.sh), one slapd, and two private Postfix
# instances each with its own diariemilter, both on the same database.
#
#   a SQLite record migrated into PostgreSQL, verifiable after;
#   the same message through both gateways at once, many times: one copy;
#   a mass mailing split across both: refused once the shared window is full;
#   the manager's notice once a day across both;
#   PostgreSQL stopped during load: 451s, nothing accepted unrecorded, no
#   copy lost once it is back;
#   one gateway SIGKILLed while the other goes on;
#   journal verify over the whole after the mixed load.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF=$DM_REPO/tests/lib/postfix.sh
PG=$DM_REPO/tests/lib/pg.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi

T=$(dm_tmpdir)
cleanup() {
    dm_daemon_stop "$T/gw1.conf" >/dev/null 2>&1
    dm_daemon_stop "$T/gw2.conf" >/dev/null 2>&1
    "$PF" stop "$T/pf1" >/dev/null 2>&1
    "$PF" stop "$T/pf2" >/dev/null 2>&1
    "$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1
    "$PG" stop "$T/pg" immediate >/dev/null 2>&1
    if [ "$DM_FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

"$PG" start "$T/pg" --fast || { fail "a private PostgreSQL starts"; exit 1; }
PGURI=$(cat "$T/pg/uri")
psql_q() { "$PG" psql "$T/pg" -Atqc "$1"; }
"$DM_REPO/tests/lib/slapd.sh" start "$T/ldap" >/dev/null || { fail "slapd starts"; exit 1; }
dm_absences_to_today "$T/ldap" || { fail "absences moved to today"; exit 1; }
for n in 1 2; do
    mkdir -p "$T/gw$n"
    "$PF" start "$T/pf$n" --milter "unix:$T/gw$n/milter.sock" >/dev/null 2>"$T/pf$n-start.log" ||
        { fail "postfix $n starts"; cat "$T/pf$n-start.log"; exit 1; }
done
PORT1=$(cat "$T/pf1/port")
PORT2=$(cat "$T/pf2/port")
sendmail_of() { (. "$T/pf$1/env" && printf '%s' "$PF_SENDMAIL"); }

# write_gw N DATABASE: gateway N's configuration.
write_gw() {
    dm_write_conf "$T/gw$1.conf" "$T/gw$1" "$(cat "$T/ldap/uri")" \
        "delivery.sendmail=$(sendmail_of "$1")" "milter.internal_networks=127.0.0.0/8" \
        "site.mass_window_recipients=30" "site.gateway_id=mx$1" "store.database=$2" \
        "store.key_file=$T/hmac.key" "store.timeout=3s" "store.connect_timeout=2s"
}

sinks() { "$PF" sink-files "$T/pf1"; "$PF" sink-files "$T/pf2"; }
# Messages in either sink for RCPT containing TEXT.
count_for() {
    local rcpt=$1 text=$2 f n=0
    for f in $(sinks); do
        grep -q "^X-Rcpt-Args: <$rcpt>" "$f" && grep -qF -- "$text" "$f" && n=$((n + 1))
    done
    echo "$n"
}
settle() {
    local i
    for i in 1 2; do
        "$PF" wait-queue "$T/pf1" 60 >/dev/null
        "$PF" wait-queue "$T/pf2" 60 >/dev/null
        sleep 1
    done
}
# wait_count RCPT TEXT N: until N such messages are in the sinks (30 s).
wait_count() {
    local i
    for i in $(seq 1 60); do
        [ "$(count_for "$1" "$2")" -ge "$3" ] && return 0
        sleep 0.5
    done
    return 1
}
# A citizen's message citing a case to Erik (registreras: a copy to the
# registrator), with Message-ID MID.
citizen() {
    cat <<EOF
Date: Tue, 17 Nov 2026 10:05:12 +0100
From: Maria Karlsson <maria.karlsson@example.org>
To: Erik Sjöberg <erik.sjoberg@sjovik.test>
Subject: Komplettering BN 2026/45 ($1)
Message-ID: <$1>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej Erik,

Här kommer den reviderade fasadritningen för ärendet BN 2026/45.

Med vänliga hälsningar
Maria Karlsson
EOF
}
# send_citizen PORT MID: exit status of the SMTP transaction; its
# transcript in $T/swaks-MID.out.
send_citizen() {
    citizen "$2" >"$T/msg-$2.eml"
    swaks --server "127.0.0.1:$1" --from maria.karlsson@example.org \
        --to erik.sjoberg@sjovik.test --data "@$T/msg-$2.eml" >"$T/swaks-$2.out" 2>&1
}

echo "# a SQLite record migrated into PostgreSQL"
write_gw 1 "$T/gw1/db/diarie.db"
"$DM_BUILD/diariectl" cases import -c "$T/gw1.conf" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
    { fail "cases import (SQLite)"; exit 1; }
dm_daemon_start "$T/gw1.conf" || { fail "gateway 1 starts on SQLite"; exit 1; }
send_citizen "$PORT1" "before-1@example.org"
check "a message through gateway 1 (SQLite)" test $? -eq 0
send_citizen "$PORT1" "before-2@example.org"
wait_count registrator@sjovik.test before-2@example.org 1
"$DM_BUILD/diariectl" journal backup -c "$T/gw1.conf" "$T/backup.db" >"$T/backup.out" 2>&1
check "journal backup copies the SQLite database while the daemon runs" test $? -eq 0
check "... and says the key must be kept with it" grep -q "hmac.key with it" "$T/backup.out"
dm_write_conf "$T/backup.conf" "$T/gw1" "$(cat "$T/ldap/uri")" "store.database=$T/backup.db" \
    "store.key_file=$T/hmac.key"
check "the backup verifies with the key" \
    "$DM_BUILD/diariectl" journal verify -c "$T/backup.conf" >/dev/null
dm_daemon_stop "$T/gw1.conf"
"$DM_BUILD/diariectl" store migrate -c "$T/gw1.conf" --from "sqlite:$T/gw1/db/diarie.db" \
    --to "$PGURI" >"$T/migrate.out" 2>&1
check "diariectl store migrate --from sqlite:... --to postgresql://..." test $? -eq 0
write_gw 1 "$PGURI"
write_gw 2 "$PGURI"
"$DM_BUILD/diariectl" journal verify -c "$T/gw1.conf" >"$T/verify0.out" 2>&1
check "journal verify passes on the migrated record" test $? -eq 0
check "... which holds the two rows" grep -q ': 2 rows' "$T/verify0.out"
check "the cases came along" \
    test "$("$DM_BUILD/diariectl" cases list -c "$T/gw2.conf" | wc -l)" -eq 10
"$DM_BUILD/diariectl" store version -c "$T/gw1.conf" >"$T/version.out" 2>&1
check "store version names the backend and the version" \
    grep -q "postgresql database, schema version 3" "$T/version.out"
check "store upgrade: nothing to do on a current schema" \
    "$DM_BUILD/diariectl" store upgrade -c "$T/gw1.conf" >/dev/null
check "journal backup of a PostgreSQL database names pg_dump" \
    sh -c '"$1" journal backup -c "$2" "$3" 2>&1 | grep -q pg_dump' sh "$DM_BUILD/diariectl" \
    "$T/gw1.conf" "$T/never.db"

dm_daemon_start "$T/gw1.conf" || { fail "gateway 1 starts on PostgreSQL"; exit 1; }
dm_daemon_start "$T/gw2.conf" || { fail "gateway 2 starts on PostgreSQL"; exit 1; }

echo "# a message migrated, again through the other gateway"
send_citizen "$PORT2" "before-2@example.org"
check "accepted by gateway 2" test $? -eq 0
settle
check "no second copy: the claim moved with the record" \
    test "$(count_for registrator@sjovik.test before-2@example.org)" -eq 1

echo "# the same message through both gateways at once"
ROUNDS=12
for r in $(seq 1 $ROUNDS); do
    send_citizen "$PORT1" "twice-$r@example.org" &
    p1=$!
    send_citizen "$PORT2" "twice-$r@example.org" &
    p2=$!
    wait $p1; s1=$?
    wait $p2; s2=$?
    [ "$s1" -eq 0 ] && [ "$s2" -eq 0 ] || fail "round $r: both gateways accept ($s1, $s2)"
done
settle
wait_count registrator@sjovik.test "twice-$ROUNDS@example.org" 1
sleep 2
copies=0 wrong=0
for r in $(seq 1 $ROUNDS); do
    n=$(count_for registrator@sjovik.test "twice-$r@example.org")
    copies=$((copies + n))
    [ "$n" -eq 1 ] || wrong=$((wrong + 1))
done
check "$ROUNDS rounds: exactly one copy each time ($copies copies, $wrong rounds wrong)" \
    test "$wrong" -eq 0
check "Erik got each message twice (once through each gateway)" \
    test "$(count_for erik.sjoberg@sjovik.test "twice-1@example.org")" -eq 2
check "both gateways journalled the rounds" \
    test "$(psql_q "SELECT count(DISTINCT gateway) FROM journal WHERE message_id LIKE 'twice-%'")" -eq 2

echo "# a mass mailing split across both gateways (mass_window_recipients = 30)"
addrs() { seq -f 'r%02g@example.com' "$1" "$2" | paste -sd, -; }
swaks --server "127.0.0.1:$PORT1" --from karin.wall@sjovik.test --to "$(addrs 1 19)" \
    --header 'Subject: Veckobrev 1' --body 'Hej, veckans nyheter.' >"$T/mass1.out" 2>&1
check "19 recipients through gateway 1: accepted" test $? -eq 0
swaks --server "127.0.0.1:$PORT2" --from karin.wall@sjovik.test --to "$(addrs 20 29)" \
    --header 'Subject: Veckobrev 2' --body 'Hej, fler nyheter.' >"$T/mass2.out" 2>&1
check "10 more through gateway 2 (29 in the shared window): accepted" test $? -eq 0
swaks --server "127.0.0.1:$PORT1" --from karin.wall@sjovik.test --to "$(addrs 28 31)" \
    --header 'Subject: Veckobrev 3' --body 'Hej, ännu fler.' >"$T/mass3.out" 2>&1
check "two new ones through gateway 1 make 31: refused" test $? -ne 0
check "... with 550 5.7.1 naming the window" \
    grep -q '550 5.7.1 Massutskick (31 mottagare inom tidsfonstret)' "$T/mass3.out"

echo "# the manager's notice once a day across both gateways"
fatima() {
    swaks --server "127.0.0.1:$1" --from "medborgare$2@example.com" \
        --to fatima.nilsson@sjovik.test --header "Subject: Fråga om ansökan $2" \
        --body "Hej, jag vill överklaga beslutet om min ansökan. Mvh medborgare $2" \
        >"$T/fatima-$2.out" 2>&1
}
fatima "$PORT1" 1 & q1=$!
fatima "$PORT2" 2 & q2=$!
wait $q1; s1=$?
wait $q2; s2=$?
fatima "$PORT2" 3; s3=$?
fatima "$PORT1" 4; s4=$?
check "four messages to Fatima, through both gateways: accepted" \
    test "$s1$s2$s3$s4" = 0000
settle
wait_count lena.gustafsson@sjovik.test Obevakad 1
sleep 2
check "her manager Lena is told once, not once per gateway" \
    test "$(count_for lena.gustafsson@sjovik.test Obevakad)" -eq 1

echo "# PostgreSQL stopped during load"
LOAD=24
: >"$T/load.status"
load() {
    local i port mid
    for i in $(seq 1 $LOAD); do
        port=$PORT1
        [ $((i % 2)) -eq 0 ] && port=$PORT2
        mid="load-$i@example.org"
        send_citizen "$port" "$mid"
        echo "$mid $port $?" >>"$T/load.status"
        sleep 0.2
    done
}
load &
loader=$!
sleep 2
"$PG" stop "$T/pg" immediate
sleep 4
"$PG" restart "$T/pg" || fail "PostgreSQL starts again"
wait $loader
accepted=$(awk '$3 == 0' "$T/load.status" | wc -l)
tempfailed=$(awk '$3 != 0' "$T/load.status" | wc -l)
check "some messages were answered 451 while it was down ($tempfailed)" test "$tempfailed" -gt 0
check "... a 451 each, not a rejection" \
    test "$(cat $(awk '$3 != 0 { print "'"$T"'/swaks-" $1 ".out" }' "$T/load.status") /dev/null |
            grep -c '^<\*\* *5[0-9][0-9]')" -eq 0
check "and some accepted ($accepted)" test "$accepted" -gt 0
# The senders' MTAs send the 451ed ones again.
awk '$3 != 0 { print $1, $2 }' "$T/load.status" | while read -r mid port; do
    for try in 1 2 3 4 5; do
        send_citizen "$port" "$mid" && break
        sleep 1
    done
done
settle
unrecorded=0
for i in $(seq 1 $LOAD); do
    n=$(psql_q "SELECT count(*) FROM journal WHERE message_id = 'load-$i@example.org'")
    [ "$n" -ge 1 ] || unrecorded=$((unrecorded + 1))
done
check "every message of the load is journalled ($unrecorded not)" test "$unrecorded" -eq 0
wait_count registrator@sjovik.test "load-$LOAD@example.org" 1
sleep 2
lost=0 twice=0
for i in $(seq 1 $LOAD); do
    n=$(count_for registrator@sjovik.test "load-$i@example.org")
    [ "$n" -ge 1 ] || lost=$((lost + 1))
    [ "$n" -le 1 ] || twice=$((twice + 1))
done
check "no copy lost ($lost lost)" test "$lost" -eq 0
check "none twice ($twice)" test "$twice" -eq 0
check "the gateways logged the database's absence" \
    grep -q 'cannot record what the message owes' "$T/gw1/milter.log" "$T/gw2/milter.log"

echo "# gateway 1 SIGKILLed while gateway 2 goes on"
gw1pid=$(cat "$T/gw1/milter.pid")
kill -KILL "$gw1pid"
wait "$gw1pid" 2>/dev/null
send_citizen "$PORT2" "alone-1@example.org"
check "gateway 2 accepts" test $? -eq 0
send_citizen "$PORT1" "alone-2@example.org"
check "gateway 1's Postfix answers 451 meanwhile" test $? -ne 0
rm -f "$T/gw1/milter.pid"
dm_daemon_start "$T/gw1.conf" || fail "gateway 1 starts again"
send_citizen "$PORT1" "alone-2@example.org"
check "and gateway 1 accepts once it is back" test $? -eq 0
settle
wait_count registrator@sjovik.test alone-2@example.org 1
check "each has its copy" \
    test "$(count_for registrator@sjovik.test alone-1@example.org)$(count_for registrator@sjovik.test alone-2@example.org)" = 11

echo "# journal verify over the whole"
"$DM_BUILD/diariectl" journal verify -c "$T/gw2.conf" >"$T/verify.out" 2>&1
check "journal verify passes after the mixed load" test $? -eq 0
sed 's/^/    /' "$T/verify.out"
check "rows from both gateways, each named" \
    test "$(psql_q "SELECT count(*) FROM journal WHERE gateway = 'mx1'")" -gt 0 -a \
    "$(psql_q "SELECT count(*) FROM journal WHERE gateway = 'mx2'")" -gt 0
"$DM_BUILD/diariectl" journal search -c "$T/gw1.conf" --json --limit 1000 >"$T/search.json"
check "journal search shows the gateway" grep -q '"gateway": "mx2"' "$T/search.json"
check "seq has no gap" \
    test "$(psql_q "SELECT max(seq) - min(seq) + 1 = count(*) FROM journal")" = t

dm_summary
