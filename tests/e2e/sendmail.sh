#!/usr/bin/env bash
# End to end through Sendmail 8.17 (Debian's, unpacked privately by
# tests/lib/sendmail.sh): swaks -> Sendmail with diariemilter as its
# INPUT_MAIL_FILTER (packaging/sendmail/diariemilter.m4, over TCP) ->
# smtp-sink, with the fixture directory in a private slapd.
#
#   - a registreras message gets its registrator copy, which diariemilter
#     hands to Sendmail's sendmail(1) (the MSP, submit.cf), which hands it
#     to the MTA over SMTP, where it passes the milter again and is not
#     classified again (its loop token);
#   - a mass mailing from a sender logged in with SMTP AUTH (Cyrus SASL,
#     sasldb) is refused at DATA with 550 5.7.1; the same message without
#     AUTH is not (loopback is not an internal network here, so the login,
#     {auth_authen}, is what makes the sender the municipality's own).
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
SM=$DM_REPO/tests/lib/sendmail.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the Sendmail test runs Sendmail and slapd and needs root" >&2
    exit 77
fi
# Sendmail sleeps 60 s at every start on a host whose name has no dot:
# run the test under a host name of its own (a UTS namespace).
# shellcheck disable=SC2016 # expanded by the inner sh
case "$(hostname)" in
*.*) ;;
*) exec unshare --uts sh -c 'hostname mx.sjovik.test && exec "$0" "$@"' "$0" "$@" ;;
esac
"$SM" fetch >/dev/null || { fail "Sendmail's packages (tests/lib/sendmail.sh fetch)"; exit 1; }

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
cleanup() {
    dm_daemon_stop "$CONF" >/dev/null 2>&1
    "$SM" stop "$T/sm" >/dev/null 2>&1
    "$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1
    if [ "$DM_FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

"$DM_REPO/tests/lib/slapd.sh" start "$T/ldap" >/dev/null || { fail "slapd start"; exit 1; }
MPORT=$(free_port)
# [delivery]: the daemon hands copies to Sendmail's sendmail(1), as on a
# Sendmail site (/usr/sbin/sendmail there; here the instance's MSP).
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "milter.socket=inet:$MPORT@127.0.0.1" \
    "delivery.sendmail=$T/sm/sendmail -i"
"$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
    { fail "cases import"; exit 1; }
# Sendmail first: the daemon checks at start that its [delivery] sendmail
# (the instance's MSP wrapper) exists.
"$SM" start "$T/sm" --milter "inet:$MPORT@127.0.0.1" --user karin.wall:Julgran-2026 \
    >/dev/null 2>"$T/sm-start.log" ||
    { fail "sendmail start: $(cat "$T/sm-start.log")"; exit 1; }
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }
# shellcheck disable=SC1091
. "$T/sm/env"
DB=$T/db/diarie.db

sink_for() {
    local rcpt=$1 text=$2 f
    for f in $("$SM" sink-files "$T/sm"); do
        grep -q "^X-Rcpt-Args: <$rcpt>" "$f" && grep -qF -- "$text" "$f" && printf '%s\n' "$f"
    done
}

echo "# a registreras message and its copy"
cat >"$T/citizen.eml" <<'EOF'
Date: Tue, 17 Nov 2026 10:05:12 +0100
From: Maria Karlsson <maria.karlsson@example.org>
To: =?utf-8?Q?Erik_Sj=C3=B6berg?= <erik.sjoberg@sjovik.test>
Subject: =?utf-8?Q?Komplettering_BN_2026/45_-_Sj=C3=B6vik_3:12?=
Message-ID: <e2e-sendmail-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej Erik,

Här kommer den reviderade fasadritningen för ärendet BN 2026/45.
Takvinkeln på norra fasaden är nu 27 grader.

Med vänliga hälsningar
Maria Karlsson
EOF
check "Sendmail accepts the citizen's mail" \
    swaks --silent 2 --server "127.0.0.1:$SM_PORT" --from maria.karlsson@example.org \
    --to erik.sjoberg@sjovik.test --data "@$T/citizen.eml"
"$SM" wait-sink "$T/sm" 2 30 >/dev/null || fail "Erik's message and the copy reached the sink"
"$SM" wait-queue "$T/sm" 30 >/dev/null || fail "Sendmail's queues are empty"
erik=$(sink_for erik.sjoberg@sjovik.test e2e-sendmail-1@example.org)
copy=$(sink_for registrator@sjovik.test e2e-sendmail-1@example.org)
check "Erik's message is classified registreras" \
    grep -q '^X-Diarie-Klass: registreras$' "${erik:-/dev/null}"
qid=$(sed -n 's/^[[:space:]]*by mx.sjovik.test (8\.17[^)]*) with ESMTP id \([A-Za-z0-9]*\)$/\1/p' \
    "${erik:-/dev/null}" | head -n 1)
check "the journal row carries Sendmail's queue id (macro i)" \
    test -n "$qid" -a "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE queue_id='$qid' AND class='registreras'")" -eq 1
check "the copy reached registrator@sjovik.test" test -n "$copy"
check "... through Sendmail's sendmail(1), the MSP" \
    grep -q '^[[:space:]]*by mx.sjovik.test (8\.17[^)]*/Submit) id ' "${copy:-/dev/null}"
check "... and its MTA, over SMTP from loopback" \
    grep -q '^Received: from mx.sjovik.test (localhost \[127.0.0.1\])$' "${copy:-/dev/null}"
# Classified again, the copy would have lost its X-Diarie-* headers, the
# loop token among them, and got a new X-Diarie-Id and a journal row.
id=$(sed -n 's/^X-Diarie-Id: //p' "${erik:-/dev/null}")
check "the copy was not classified again: it keeps its loop token" \
    grep -q '^X-Diarie-Genererad: v[0-9]' "${copy:-/dev/null}"
check "... and its one X-Diarie-Id is the original's" \
    test -n "$id" -a "$(grep '^X-Diarie-Id: ' "${copy:-/dev/null}")" = "X-Diarie-Id: $id"
check "... and it made no journal row: one row for the two messages" \
    test "$(sqlite3 "$DB" 'SELECT count(*) FROM journal')" -eq 1
cqid=$(sed -n 's/^[[:space:]]*by mx.sjovik.test (8\.17[^)]*) with ESMTP id \([A-Za-z0-9]*\)$/\1/p' \
    "${copy:-/dev/null}" | head -n 1)
check "the copy did pass the milter (the daemon logged its queue id)" \
    grep -q "^[^ ]* diariemilter\[[0-9]*\]: $cqid: " "$T/milter.log"

echo "# R14: a mass mailing from a logged-in sender"
send() { swaks --server "127.0.0.1:$SM_PORT" "$@" >"$T/swaks.out" 2>&1; }
send --auth PLAIN --auth-user karin.wall --auth-password Julgran-2026 \
    --from karin.wall@sjovik.test --to alla@sjovik.test \
    --header 'Subject: Julfest på fredag' --body 'Hej alla, välkomna på julfest!'
rc=$?
check "karin.wall logs in with SMTP AUTH" grep -q '^<-  235 ' "$T/swaks.out"
check "her mail to the list alla@ is refused" test "$rc" -ne 0
check "... at DATA with 550 5.7.1 and why" \
    grep -q '^<\*\* 550 5.7.1 Massutskick (till listan alla@sjovik.test) far endast skickas av kommunikationsenheten' "$T/swaks.out"
check "the journal records the rejection" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE class='rejected' AND sender='karin.wall@sjovik.test'")" -eq 1
send --from karin.wall@sjovik.test --to alla@sjovik.test \
    --header 'Subject: Julfest på fredag' --body 'Hej alla, välkomna på julfest!'
check "without AUTH the same mail is not hers to refuse (loopback is not internal here)" \
    test $? -eq 0

dm_summary
