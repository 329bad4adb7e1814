#!/usr/bin/env bash
# End to end, the metrics (issue 18): a private Postfix with diariemilter
# serving [metrics] listen and writing [metrics] textfile.  /metrics is
# scraped with curl before and after each message, and the counters must
# move as the messages say:
#   - a citizen's registreras message to Erik: one inbound registreras
#     message, one copy (which passes the milter again as our own mail),
#     a journal commit, ends of message;
#   - a mass mailing from inside (R14): one reject, no message counted;
#   - slapd stopped: one tempfail, cause directory, and directory errors;
#   - the textfile says what /metrics says, is replaced whole (nothing
#     beside it), and holds the last counts after the daemon stops.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF=$DM_REPO/tests/lib/postfix.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi
for tool in curl swaks; do
    command -v "$tool" >/dev/null || { echo "FAIL $tool not found (scripts/deps.sh)"; exit 1; }
done

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT

dm_stack_start "$T" || { fail "slapd and postfix start"; exit 1; }
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PROM=$T/prom/diariemilter.prom
mkdir -p "$T/prom"
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
    "milter.internal_networks=127.0.0.0/8" "metrics.listen=127.0.0.1:$PORT" \
    "metrics.textfile=$PROM" "metrics.textfile_interval=1s"
"$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
    { fail "cases import"; exit 1; }
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }

URL=http://127.0.0.1:$PORT/metrics
scrape() { curl -sS --fail --max-time 10 "$URL" >"$1"; }
# val FILE SERIES: the value of SERIES (name and labels as rendered).
val() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }' "$1"; }
# moved WHAT BEFORE AFTER SERIES BY: SERIES grew by exactly BY.
moved() {
    local what=$1 b a
    b=$(val "$2" "$4")
    a=$(val "$3" "$4")
    if [ "$b" != missing ] && [ "$a" != missing ] &&
        awk -v b="$b" -v a="$a" -v by="$5" 'BEGIN { exit !(a - b == by) }'; then
        ok "$what ($4: $b -> $a)"
    else
        fail "$what ($4: $b -> $a, expected +$5)"
    fi
}
# grew WHAT BEFORE AFTER SERIES: SERIES grew.
grew() {
    local b a
    b=$(val "$2" "$4")
    a=$(val "$3" "$4")
    if [ "$b" != missing ] && [ "$a" != missing ] && awk -v b="$b" -v a="$a" 'BEGIN { exit !(a > b) }'; then
        ok "$1 ($4: $b -> $a)"
    else
        fail "$1 ($4: $b -> $a)"
    fi
}
send() { local out=$1; shift; swaks --server "127.0.0.1:$PF_PORT" "$@" >"$out" 2>&1; }

ready=0
for _ in $(seq 1 50); do
    curl -s --max-time 2 -o /dev/null "$URL" && { ready=1; break; }
    sleep 0.1
done
check "the daemon serves $URL" test "$ready" -eq 1
scrape "$T/m0" || fail "scrape before any message"
check "it is Prometheus's text format (version 0.0.4)" \
    grep -q '^Content-Type: text/plain; version=0.0.4' \
    <(curl -sS -D - -o /dev/null --max-time 10 "$URL" | tr -d '\r')
check "build_info names the version" \
    grep -Eq '^diariemilter_build_info\{version="[^"]+"\} 1$' "$T/m0"
check "every series of messages_total is there from the start" \
    test "$(grep -c '^diariemilter_messages_total{' "$T/m0")" -eq 24
check "another path is 404" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "http://127.0.0.1:$PORT/")" = 404

echo "# a citizen's registreras message to Erik"
before=$("$PF" sink-files "$T/pf" | wc -l)
send "$T/s1" --from maria.karlsson@example.org --to erik.sjoberg@sjovik.test \
    --header 'Subject: Komplettering BN 2026/45' \
    --body 'Hej Erik, här kommer den reviderade fasadritningen för ärendet BN 2026/45.'
check "it is accepted" grep -Eq '^<-  250 .*queued as' "$T/s1"
"$PF" wait-sink "$T/pf" $((before + 2)) 30 >/dev/null || fail "Erik's message and the copy reached the sink"
"$PF" wait-queue "$T/pf" 30 >/dev/null
sleep 1
scrape "$T/m1"
moved "one inbound registreras message" "$T/m0" "$T/m1" \
    'diariemilter_messages_total{class="registreras",direction="inbound"}' 1
moved "one copy" "$T/m0" "$T/m1" diariemilter_copies_total 1
moved "no notice" "$T/m0" "$T/m1" diariemilter_notices_total 0
moved "the copy passed the milter as our own mail" "$T/m0" "$T/m1" \
    'diariemilter_unclassified_total{reason="own_mail"}' 1
moved "one journal commit" "$T/m0" "$T/m1" diariemilter_journal_commit_seconds_count 1
moved "two ends of message (the message and its copy)" "$T/m0" "$T/m1" \
    diariemilter_eom_seconds_count 2
moved "no reject" "$T/m0" "$T/m1" diariemilter_rejects_total 0
grew "the directory was asked" "$T/m0" "$T/m1" diariemilter_directory_lookups_total
grew "and searched" "$T/m0" "$T/m1" diariemilter_directory_search_seconds_count
check "the copy is delivered: nothing waits in the spool" \
    test "$(val "$T/m1" 'diariemilter_spool_items{state="waiting"}')" = 0
check "nothing is dead" test "$(val "$T/m1" 'diariemilter_spool_items{state="dead"}')" = 0
check "no message is in flight" test "$(val "$T/m1" diariemilter_messages_in_flight)" = 0.000

echo "# a mass mailing from inside (R14)"
send "$T/s2" --from karin.wall@sjovik.test --to alla@sjovik.test \
    --header 'Subject: Julfest på fredag' --body 'Hej alla, välkomna på julfest!'
check "it is refused with 550 5.7.1" grep -q '550 5.7.1' "$T/s2"
scrape "$T/m2"
moved "one reject" "$T/m1" "$T/m2" diariemilter_rejects_total 1
moved "no message counted for it" "$T/m1" "$T/m2" \
    'diariemilter_messages_total{class="intern",direction="internal"}' 0
moved "no tempfail" "$T/m1" "$T/m2" 'diariemilter_tempfails_total{cause="directory"}' 0

echo "# slapd stopped"
"$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1
# Addresses not looked up before, so that no cached answer hides it.
send "$T/s3" --from ulla.ek@example.com --to maja.lund@sjovik.test \
    --header 'Subject: Fråga' --body 'Hej, en fråga om bygglovet.'
check "the message is answered 451 4.3.0" grep -Eq '^<\*\* +451 4\.3\.0 Directory unavailable' "$T/s3"
scrape "$T/m3"
moved "one tempfail, cause directory" "$T/m2" "$T/m3" \
    'diariemilter_tempfails_total{cause="directory"}' 1
moved "none of store" "$T/m2" "$T/m3" 'diariemilter_tempfails_total{cause="store"}' 0
moved "none of limits" "$T/m2" "$T/m3" 'diariemilter_tempfails_total{cause="limits"}' 0
grew "directory errors" "$T/m2" "$T/m3" diariemilter_directory_errors_total

echo "# the textfile"
same=0
for _ in $(seq 1 50); do
    if [ -s "$PROM" ] &&
        [ "$(val "$PROM" 'diariemilter_tempfails_total{cause="directory"}')" = \
          "$(val "$T/m3" 'diariemilter_tempfails_total{cause="directory"}')" ]; then
        same=1
        break
    fi
    sleep 0.2
done
check "the textfile is rewritten and says what /metrics says" test "$same" -eq 1
for s in diariemilter_rejects_total diariemilter_copies_total \
    'diariemilter_messages_total{class="registreras",direction="inbound"}'; do
    check "... $s" test "$(val "$PROM" "$s")" = "$(val "$T/m3" "$s")"
done
check "it is whole: it ends with a newline and its last family is there" \
    sh -c "tail -c1 '$PROM' | od -An -c | grep -q '\\\\n' && grep -q '^diariemilter_spool_oldest_age_seconds ' '$PROM'"
check "nothing is left beside it (each rewrite is renamed over it)" \
    test "$(ls -A "$T/prom" | wc -l)" -eq 1
check "it is readable by node_exporter's user (0644)" test "$(stat -c %a "$PROM")" = 644

# Stopped, it holds the last counts: one more mass mailing (its sender
# and the list are cached: refused though slapd is down), then the stop.
send "$T/s4" --from karin.wall@sjovik.test --to alla@sjovik.test \
    --header 'Subject: Julfest igen' --body 'Hej alla, glöm inte julfesten!'
check "a second mass mailing is refused" grep -q '550 5.7.1' "$T/s4"
dm_daemon_stop "$CONF"
check "after the stop the textfile has the last reject" \
    test "$(val "$PROM" diariemilter_rejects_total)" = "$(( $(val "$T/m3" diariemilter_rejects_total) + 1 ))"
check "and the listener is gone" sh -c "! curl -s --max-time 2 -o /dev/null '$URL'"

dm_summary
