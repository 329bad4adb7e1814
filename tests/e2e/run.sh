#!/usr/bin/env bash
# End to end: swaks -> a private Postfix (diariemilter as smtpd_milters and
# non_smtpd_milters) -> smtp-sink, with a private slapd holding the fixture
# directory.  Asserts what a registrator and a recipient would see.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi

"$DM_REPO/tests/e2e/postfix-smoke.sh" >/dev/null 2>&1 ||
    { echo "FAIL postfix without a milter does not work here (tests/e2e/postfix-smoke.sh)"; exit 1; }

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT

dm_stack_start "$T" || { fail "slapd and postfix start"; exit 1; }
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL"
"$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
    { fail "cases import"; exit 1; }
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }

# The sink file of the message delivered to RCPT whose subject is SUBJ.
sink_file() {
    local rcpt=$1 subj=$2 f
    for f in $("$DM_REPO/tests/lib/postfix.sh" sink-files "$T/pf"); do
        if grep -q "^X-Rcpt-Args: <$rcpt>" "$f" && grep -qF "$subj" "$f"; then
            printf '%s\n' "$f"
            return 0
        fi
    done
    return 1
}

# The message as it reached the sink, without smtp-sink's own lines
# (X-*-Args and its Received), without the one Received Postfix prepends,
# and without the empty line smtp-sink adds at the end.
sink_message() {
    python3 - "$1" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n\n")
lines = data[:-1].split(b"\n")
i = 0
while lines[i].startswith(b"X-") and lines[i].split(b":")[0].endswith((b"-Args", b"-Addr", b"-Proto")):
    i += 1
for who in (b"Received: from mx.sjovik.test", b"Received: "):   # smtp-sink's, Postfix's
    assert lines[i].startswith(who), lines[i]
    i += 1
    while lines[i][:1] in (b"\t", b" "):
        i += 1
sys.stdout.buffer.write(b"\n".join(lines[i:]))
EOF
}

# The unfolded value of header NAME in FILE's top header block (after
# smtp-sink's own lines), one line per occurrence.
top_header() {
    python3 - "$1" "$2" <<'EOF'
import email.parser, email.policy, sys
with open(sys.argv[1], "rb") as f:
    msg = email.parser.BytesHeaderParser(policy=email.policy.compat32).parse(f)
for x in msg.get_all(sys.argv[2]) or []:
    print(" ".join(str(x).split()))
EOF
}

# The attached original of a copy: a message/rfc822 part raw as it stands
# in the copy, or a message/global part decoded from base64.
attached_original() {
    python3 - "$1" <<'EOF'
import base64, re, sys
data = open(sys.argv[1], "rb").read()
m = re.search(rb'boundary="([^"]+)"', data)
b = b"\n--" + m.group(1)
parts = data.split(b)
for p in parts[1:]:
    head, sep, body = p.partition(b"\n\n")
    if b"Content-Type: message/rfc822" in head:
        sys.stdout.buffer.write(body)
        break
    if b"Content-Type: message/global" in head:
        assert b"Content-Transfer-Encoding: base64" in head
        sys.stdout.buffer.write(base64.b64decode(body))
        break
else:
    sys.exit("no message/rfc822 or message/global part")
EOF
}

# The citizen's message, exactly as swaks will send it.
cat >"$T/citizen.eml" <<'EOF'
Date: Tue, 17 Nov 2026 10:05:12 +0100
From: Maria Karlsson <maria.karlsson@example.org>
To: =?utf-8?Q?Erik_Sj=C3=B6berg?= <erik.sjoberg@sjovik.test>
Subject: =?utf-8?Q?Komplettering_BN_2026/45_-_Sj=C3=B6vik_3:12?=
Message-ID: <e2e-citizen-1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit
X-Diarie-Klass: privat

Hej Erik,

Här kommer den reviderade fasadritningen för ärendet BN 2026/45.
Takvinkeln på norra fasaden är nu 27 grader.

Med vänliga hälsningar
Maria Karlsson
EOF
# swaks ends the data with one more CRLF: this is what Postfix receives.
cp "$T/citizen.eml" "$T/received.eml"
printf '\n' >>"$T/received.eml"
check "the citizen's mail is accepted" \
    swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from maria.karlsson@example.org \
    --to erik.sjoberg@sjovik.test --data "@$T/citizen.eml"
"$DM_REPO/tests/lib/postfix.sh" wait-sink "$T/pf" 2 30 >/dev/null ||
    fail "two messages (Erik's and the copy) reached the sink"
"$DM_REPO/tests/lib/postfix.sh" wait-queue "$T/pf" 30 >/dev/null

erik=$(sink_file erik.sjoberg@sjovik.test "e2e-citizen-1@example.org")
copy=$(sink_file registrator@sjovik.test "e2e-citizen-1@example.org")
if [ -z "$erik" ] || [ -z "$copy" ]; then
    fail "found Erik's message ($erik) and the registrator copy ($copy)"
else
    check "Erik's message is classified registreras" grep -q '^X-Diarie-Klass: registreras$' "$erik"
    check "Erik's message carries an X-Diarie-Id" grep -Eq '^X-Diarie-Id: [0-9a-z]{20}$' "$erik"
    check "the forged X-Diarie-Klass the citizen sent is gone" \
        test "$(grep -c '^X-Diarie-Klass:' "$erik")" -eq 1
    sink_message "$erik" >"$T/erik.eml"
    # What Erik got = what was sent, but the forged header and with ours.
    grep -v '^X-Diarie-' "$T/received.eml" >"$T/received-stripped.eml"
    grep -v '^X-Diarie-' "$T/erik.eml" >"$T/erik-stripped.eml"
    check "Erik's message is otherwise the message as sent" \
        cmp -s "$T/received-stripped.eml" "$T/erik-stripped.eml"

    check "the copy goes to registrator@sjovik.test only" \
        test "$(grep -c '^X-Rcpt-Args:' "$copy")" -eq 1
    check "the copy is marked as generated, so it is not classified again" \
        grep -Eqx 'v2 [0-9]+ [0-9a-f]{64}' <(top_header "$copy" X-Diarie-Genererad)
    # Postfix shows sendmail(1) mail to the milter as from 127.0.0.1,
    # inside [milter] own_networks: the token is honoured there.
    check "the copy passed the milter unclassified (Postfix's local submission)" \
        grep -q "copy or notice of id=$(sed -n 's/^X-Diarie-Id: //p' "$copy" | head -1): passed unclassified" \
        "$T/milter.log"
    check "the copy kept its own X-Diarie-Klass and no other" \
        test "$(top_header "$copy" X-Diarie-Klass)" = registreras
    check "the copy's cover note names the envelope sender" \
        grep -q 'maria.karlsson@example.org' "$copy"
    check "the copy's cover note is UTF-8" grep -q 'charset=utf-8' "$copy"
    attached_original "$copy" >"$T/attached.eml"
    # The attached original is the message as received, byte for byte (the
    # forged X-Diarie header included: it is what arrived), with Unix line
    # ends as the copy went through sendmail(1).
    if cmp -s "$T/received.eml" "$T/attached.eml"; then
        ok "the attached original is the message as sent, byte for byte"
    else
        fail "the attached original is the message as sent, byte for byte"
        diff <(cat -A "$T/received.eml") <(cat -A "$T/attached.eml") | head -20
    fi
    sha=$(sed -e 's/$/\r/' "$T/received.eml" | sha256sum | cut -d' ' -f1)
    check "the cover note gives the SHA-256 of the message as received" \
        grep -q "$(printf '%s' "$sha" | cut -c1-40)" <(tr -d '=\n' <"$copy")
fi

# Raw UTF-8 in a header (no SMTPUTF8): the copy must still reach a server
# without SMTPUTF8, and its original is still exact (as message/global).
before=$("$DM_REPO/tests/lib/postfix.sh" sink-files "$T/pf" | wc -l)
sed -e 's/^Subject: .*/Subject: Komplettering BN 2026\/45 - Sjövik 3:12 och Åsen/' \
    -e 's/e2e-citizen-1@/e2e-citizen-2@/' "$T/received.eml" >"$T/received2.eml"
swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from maria.karlsson@example.org \
    --to erik.sjoberg@sjovik.test --data "@$T/received2.eml" >"$T/swaks3.out" 2>&1
"$DM_REPO/tests/lib/postfix.sh" wait-sink "$T/pf" $((before + 2)) 30 >/dev/null
"$DM_REPO/tests/lib/postfix.sh" wait-queue "$T/pf" 30 >/dev/null
copy2=$(sink_file registrator@sjovik.test "e2e-citizen-2@example.org")
if [ -z "$copy2" ]; then
    fail "a copy of a message with raw UTF-8 in its Subject reached the registrator"
    grep -i 'bounce\|SMTPUTF8' "$PF_MAILLOG" | tail -3
else
    ok "a copy of a message with raw UTF-8 in its Subject reached the registrator"
    check "it attaches the original as message/global in base64" \
        grep -q '^Content-Type: message/global' "$copy2"
    # base64 keeps the CRLF line ends of the wire; swaks added one more.
    attached_original "$copy2" >"$T/attached2.eml"
    check "whose decoded bytes are the message as received" \
        cmp -s <(sed 's/$/\r/' "$T/received2.eml"; printf '\r\n') "$T/attached2.eml"
fi

# A private mail to Erik: delivered, classified privat, no copy.
before=$("$DM_REPO/tests/lib/postfix.sh" sink-files "$T/pf" | wc -l)
swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from daniel.fors@example.net \
    --to erik.sjoberg@sjovik.test --header 'Subject: Padel på torsdag?' \
    --body 'Kör! Jag bokar bana 2 kl. 19 så spelar vi padel. Öl efteråt?' >"$T/swaks2.out" 2>&1
"$DM_REPO/tests/lib/postfix.sh" wait-sink "$T/pf" $((before + 1)) 30 >/dev/null
"$DM_REPO/tests/lib/postfix.sh" wait-queue "$T/pf" 30 >/dev/null
sleep 1
after=$("$DM_REPO/tests/lib/postfix.sh" sink-files "$T/pf" | wc -l)
padel=$(sink_file erik.sjoberg@sjovik.test "Padel")
check "the private mail reached Erik" test -n "$padel"
[ -n "$padel" ] && check "the private mail is classified privat" \
    grep -q '^X-Diarie-Klass: privat$' "$padel"
check "the private mail produced no copy and no notice" test "$after" -eq $((before + 1))

# A friend's greeting around an errand: the errand decides (RULES.md
# section 10): registered, and Erik has fullmakt: a copy to registrator@.
before=$("$DM_REPO/tests/lib/postfix.sh" sink-files "$T/pf" | wc -l)
swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from jenny.akesson@example.org \
    --to erik.sjoberg@sjovik.test --data "@$DM_REPO/tests/corpus/private/p10.eml" >"$T/swaks4.out" 2>&1
"$DM_REPO/tests/lib/postfix.sh" wait-sink "$T/pf" $((before + 2)) 30 >/dev/null
"$DM_REPO/tests/lib/postfix.sh" wait-queue "$T/pf" 30 >/dev/null
mixed=$(sink_file erik.sjoberg@sjovik.test "217451e36881.p10@example.org")
check "the greeting with an errand reached Erik, classified registreras" \
    grep -q '^X-Diarie-Klass: registreras$' "${mixed:-/dev/null}"
regcopy=""
for f in $("$DM_REPO/tests/lib/postfix.sh" sink-files "$T/pf"); do
    if grep -q '^X-Rcpt-Args: <registrator@sjovik.test>' "$f" && grep -q '^X-Diarie-Genererad:' "$f" &&
        grep -q '217451e36881.p10@example.org' "$f"; then
        regcopy=$f
    fi
done
check "and its copy went to the registrator" test -n "$regcopy"

# A loop token that left the gateway on a real copy, copied into a
# message from outside: bound to the copy's Message-ID and body, it
# does not verify; the message is classified, the token and the forged
# class removed, the message journaled.
token=$(top_header "${regcopy:-/dev/null}" X-Diarie-Genererad | head -1)
check "the copy carries a loop token" test -n "$token"
before=$("$DM_REPO/tests/lib/postfix.sh" sink-files "$T/pf" | wc -l)
swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from faktura@example.net \
    --to erik.sjoberg@sjovik.test --header 'Subject: Faktura 4471 att betala' \
    --header "X-Diarie-Genererad: $token" --header 'X-Diarie-Klass: privat' \
    --header 'Message-ID: <e2e-replay-1@example.net>' \
    --body 'Betala fakturan 4471 i dag till bankgiro 123-4567.' >"$T/swaks5.out" 2>&1
"$DM_REPO/tests/lib/postfix.sh" wait-sink "$T/pf" $((before + 1)) 30 >/dev/null
"$DM_REPO/tests/lib/postfix.sh" wait-queue "$T/pf" 30 >/dev/null
replay=$(sink_file erik.sjoberg@sjovik.test "e2e-replay-1@example.net")
check "the message with a replayed token reached Erik" test -n "$replay"
check "it was classified: one X-Diarie-Klass, ours" \
    test "$(grep -c '^X-Diarie-Klass:' "${replay:-/dev/null}")" -eq 1 -a \
    "$(grep -c '^X-Diarie-Klass: privat$' "${replay:-/dev/null}")" -eq 0
check "it carries an X-Diarie-Id of its own" grep -Eq '^X-Diarie-Id: [0-9a-z]{20}$' "${replay:-/dev/null}"
check "the replayed token is gone" test "$(grep -c '^X-Diarie-Genererad:' "${replay:-/dev/null}")" -eq 0
check "the daemon refused the token" \
    grep -q 'X-Diarie-Genererad not honoured (forged): removed, message classified' "$T/milter.log"
check "no log line holds a loop token" \
    test "$(grep -c "$(printf '%s' "$token" | awk '{print $3}')" "$T/milter.log")" -eq 0

# The journal: a row per message, nothing of the private one but its class.
db=$T/db/diarie.db
check "the journal has a row for each message" \
    test "$(sqlite3 "$db" 'SELECT count(*) FROM journal')" -ge 3
check "the message with the replayed token is journaled" \
    test "$(sqlite3 "$db" "SELECT count(*) FROM journal WHERE message_id='e2e-replay-1@example.net'")" -eq 1
check "our own copies and notices are not" \
    test "$(sqlite3 "$db" "SELECT count(*) FROM journal WHERE message_id LIKE '%.copy.%' OR message_id LIKE '%.notice-%'")" -eq 0
check "the private mail's row keeps no subject and no addresses" \
    test "$(sqlite3 "$db" "SELECT count(*) FROM journal WHERE class='privat' AND subject IS NULL AND sender IS NULL AND recipients IS NULL AND message_id IS NULL")" -eq 1
check "no row mentions the private mail's words" \
    test "$(sqlite3 "$db" "SELECT count(*) FROM journal WHERE coalesce(subject,'')||coalesce(reasons,'') LIKE '%adel%'")" -eq 0

dm_summary
