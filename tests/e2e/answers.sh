#!/usr/bin/env bash
# End to end, issue 16 phase 2: a notice answered when its person forwards
# the message to the registrator (attached, or inline with its Message-ID);
# one reminder for a notice left unanswered [site] notice_reminder working
# days (the clock faked with diariectl's --now); R15's questions to a
# functional mailbox, one answered by In-Reply-To, one by its subject, one
# not (listed by report svarstider, the others not); the registrator's
# digest, printed and sent; what the database keeps of the people.
# swaks -> a private Postfix with diariemilter -> smtp-sink, with the
# fixture directory in a private slapd and the fixture diarium.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
. "$DM_REPO/tests/lib/e2e.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT

e2e_up || exit 1
CTL="$DM_BUILD/diariectl"

# The journal id of the message with this Message-ID.
jid() {
    "$CTL" journal search -c "$CONF" --json | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r.get("message_id") == sys.argv[1]:
        print(r["id"]); break' "$1"
}
# The decoded text of a sink file.
text_of() {
    python3 - "$1" <<'EOF'
import email, email.policy, re, sys
raw = open(sys.argv[1], "rb").read().split(b"\n")
while raw and re.match(rb"X-[A-Za-z-]+-(Args|Addr|Proto):", raw[0]):
    raw.pop(0)
m = email.message_from_bytes(b"\n".join(raw), policy=email.policy.default)
print("Subject: " + str(m["Subject"]))
print(m.get_body(("plain",)).get_content())
EOF
}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

msg() { # FILE MESSAGE-ID FROM TO SUBJECT BODY [HEADER]
    cat >"$1" <<EOF
Date: $(date -R)
From: $3
To: $4
Subject: $5
Message-ID: <$2>
${7:+$7
}MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

$6
EOF
}

echo "# notices to two politicians without fullmakt"
msg "$T/a.eml" e2e-ans-a@ritbyran.example "Arkitekt <arkitekt@ritbyran.example>" \
    "Bengt Ek <bengt.ek@sjovik.test>" "Komplettering i ärende BN 2026/51" \
    "Hej, här kommer kompletterande ritningar i ärende BN 2026/51. Vänligen bekräfta."
msg "$T/b.eml" e2e-ans-b@foretaget.example "Företaget <info@foretaget.example>" \
    "David Holm <david.holm@sjovik.test>" "Anbud i ärende KS 2026/140" \
    "Hej, vi lämnar härmed vårt anbud i upphandlingen KS 2026/140 om skolskjutstjänster."
before=$(sink_count)
send "$T/a.eml" arkitekt@ritbyran.example bengt.ek@sjovik.test
send "$T/b.eml" info@foretaget.example david.holm@sjovik.test
settle $((before + 2))
na=$(sink_for bengt.ek@example.net 'X-Diarie-Genererad')
nb=$(sink_for david.holm@sjovik.test 'X-Diarie-Genererad')
check "Bengt Ek got a notice" test -n "$na"
check "David Holm got a notice" test -n "$nb"
ida=$(jid e2e-ans-a@ritbyran.example)
idb=$(jid e2e-ans-b@foretaget.example)
check "both messages are journaled" test -n "$ida" -a -n "$idb"

echo "# Bengt forwards his as an attachment to the registrator"
cat >"$T/fwd.eml" <<EOF
Date: $(date -R)
From: Bengt Ek <bengt.ek@sjovik.test>
To: registrator@sjovik.test
Subject: VB: Komplettering i ärende BN 2026/51
Message-ID: <e2e-ans-fwd@sjovik.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

För diarieföring.

--b1
Content-Type: message/rfc822

$(cat "$T/a.eml")
--b1--
EOF
before=$(sink_count)
send "$T/fwd.eml" bengt.ek@sjovik.test registrator@sjovik.test
settle $((before + 1))
idf=$(jid e2e-ans-fwd@sjovik.test)
"$CTL" notices list -c "$CONF" >"$T/list1" 2>&1
check "notices list: Bengt's notice answered by his forward" python3 - "$T/list1" "$ida" "$idf" <<'EOF'
import sys
t = open(sys.argv[1]).read()
rows = t.split("\n")
i = [n for n, l in enumerate(rows) if sys.argv[2] in l and "bengt.ek@example.net" in l]
assert i, t
assert "answered by " + sys.argv[3] in rows[i[0] + 1], t
EOF
check "notices list: David's not answered" python3 - "$T/list1" "$idb" <<'EOF'
import sys
t = open(sys.argv[1]).read().split("\n")
l = [l for l in t if sys.argv[2] in l][0]
assert l.split()[3] == "-", l   # sent (date time), reminded, answered
EOF
grep -q "id=$idf: 1 notice answered" "$T/milter.log"
check "the log says the forward answered a notice" test $? -eq 0

echo "# Karin forwards hers inline, its headers quoted with the Message-ID"
msg "$T/c.eml" e2e-ans-c@foretaget.example "Företaget <info@foretaget.example>" \
    "Karin Wall <karin.wall@sjovik.test>" "Fråga om ärende KS 2026/112" \
    "Hej, vi undrar hur det går med medborgarförslaget i ärende KS 2026/112."
before=$(sink_count)
send "$T/c.eml" info@foretaget.example karin.wall@sjovik.test
settle $((before + 1))
idc=$(jid e2e-ans-c@foretaget.example)
cat >"$T/fwdc.eml" <<EOF
Date: $(date -R)
From: Karin Wall <karin.wall@sjovik.test>
To: registrator@sjovik.test
Subject: Fwd: Fråga om ärende KS 2026/112
Message-ID: <e2e-ans-fwdc@sjovik.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Till diariet.

-------- Vidarebefordrat meddelande --------
Ämne: Fråga om ärende KS 2026/112
Datum: $(date -R)
Från: Företaget <info@foretaget.example>
Till: Karin Wall <karin.wall@sjovik.test>
Message-ID: <e2e-ans-c@foretaget.example>

Hej, vi undrar hur det går med medborgarförslaget i ärende KS 2026/112.
EOF
before=$(sink_count)
send "$T/fwdc.eml" karin.wall@sjovik.test registrator@sjovik.test
settle $((before + 1))
idfc=$(jid e2e-ans-fwdc@sjovik.test)
"$CTL" notices list -c "$CONF" >"$T/list2" 2>&1
check "notices list: Karin's notice answered by her inline forward" python3 - "$T/list2" "$idc" "$idfc" <<'EOF'
import sys
rows = open(sys.argv[1]).read().split("\n")
i = [n for n, l in enumerate(rows) if sys.argv[2] in l and "karin.wall@" in l]
assert i and "answered by " + sys.argv[3] in rows[i[0] + 1], rows
EOF

echo "# reminders, two working days on"
now=$(date +%s)
later=$(iso $((now + 7 * 86400)))
"$CTL" notices remind -c "$CONF" --now "$(iso $((now + 3600)))" >"$T/rem0" 2>&1
check "no reminder within the first working days" grep -q "^0 reminders spooled" "$T/rem0"
before=$(sink_count)
"$CTL" notices remind -c "$CONF" --now "$later" >"$T/rem1" 2>&1
check "one reminder spooled a week later" grep -q "^1 reminder spooled" "$T/rem1"
settle $((before + 1))
rem=$(sink_for david.holm@sjovik.test '.notice-reminder.')
check "the reminder reached David Holm" test -n "$rem"
if [ -n "$rem" ]; then
    text_of "$rem" >"$T/rem.txt"
    check "... in Swedish, naming the message and the registrator" python3 - "$T/rem.txt" "$idb" <<'EOF'
import sys
t = open(sys.argv[1]).read()
assert "Subject: Påminnelse: e-post till registrator väntar fortfarande" in t, t
assert "Ämne:       Anbud i ärende KS 2026/140" in t, t
assert "vidarebefordra meddelandet till registrator, registrator@sjovik.test" in t, t
assert "Diarie-Id: " + sys.argv[2] in t, t
EOF
fi
check "no reminder to Bengt, who answered" test -z "$(sink_for bengt.ek@example.net '.notice-reminder.')"
"$CTL" notices remind -c "$CONF" --now "$later" >"$T/rem2" 2>&1
check "one reminder only: a second run sends none" grep -q "^0 reminders spooled" "$T/rem2"

echo "# R15: questions to the building committee's mailbox"
msg "$T/q1.eml" e2e-ans-q1@medborgare.example "Sven <sven@medborgare.example>" \
    bygglov@sjovik.test "Fråga om handläggningstid i BN 2026/51" \
    "Hej, hur lång tid tar handläggningen i ärende BN 2026/51? Jag har inte fått något besked."
msg "$T/q2.eml" e2e-ans-q2@medborgare.example "Sven <sven@medborgare.example>" \
    bygglov@sjovik.test "Synpunkter på ärende BN 2026/45" \
    "Hej, jag har synpunkter på bygglovet i ärende BN 2026/45 och vill veta när beslut fattas."
msg "$T/q3.eml" e2e-ans-q3@medborgare.example "Sven <sven@medborgare.example>" \
    bygglov@sjovik.test "Avgift i BN 2026/51" \
    "Hej, vilken avgift tas ut i ärende BN 2026/51? Jag behöver veta det före mötet."
before=$(sink_count)
for q in q1 q2 q3; do send "$T/$q.eml" sven@medborgare.example bygglov@sjovik.test; done
settle $((before + 3))
msg "$T/r1.eml" e2e-ans-r1@sjovik.test "Maja Lund <maja.lund@sjovik.test>" \
    "Sven <sven@medborgare.example>" "SV: Fråga om handläggningstid i BN 2026/51" \
    "Hej Sven, handläggningen i ärende BN 2026/51 tar normalt fyra veckor." \
    "In-Reply-To: <e2e-ans-q1@medborgare.example>"
msg "$T/r3.eml" e2e-ans-r3@sjovik.test "Maja Lund <maja.lund@sjovik.test>" \
    "Sven <sven@medborgare.example>" "Re: Avgift i BN 2026/51" \
    "Hej Sven, avgiften i ärende BN 2026/51 framgår av taxan."
before=$(sink_count)
send "$T/r1.eml" maja.lund@sjovik.test sven@medborgare.example
send "$T/r3.eml" maja.lund@sjovik.test sven@medborgare.example
settle $((before + 2))
idq1=$(jid e2e-ans-q1@medborgare.example)
idq2=$(jid e2e-ans-q2@medborgare.example)
idq3=$(jid e2e-ans-q3@medborgare.example)
"$CTL" report svarstider -c "$CONF" --mailbox bygglov@sjovik.test >"$T/svar0"
check "svarstider now: nothing overdue yet (exit 0)" test $? -eq 0
check "... three asked, two answered in time, one open" \
    grep -Eq '^bygglov@sjovik.test +3 +2 +0 +1 +0 +-$' "$T/svar0"
"$CTL" report svarstider -c "$CONF" --now "$later" >"$T/svar1"
check "svarstider a week later: exit 1, one unanswered after a working day" test $? -eq 1
check "... the unanswered question listed as the oldest" \
    grep -Eq "^bygglov@sjovik.test +3 +2 +0 +1 +1 +[0-9-]+ [0-9:]+ \($idq2\)$" "$T/svar1"
check "... the answered ones not" python3 - "$T/svar1" "$idq1" "$idq3" <<'EOF'
import sys
t = open(sys.argv[1]).read()
assert sys.argv[2] not in t and sys.argv[3] not in t, t
EOF
"$CTL" report svarstider -c "$CONF" --mailbox kommun@sjovik.test >"$T/svar2"
check "svarstider --mailbox: another mailbox has none" grep -q "^no questions" "$T/svar2"

echo "# the registrator's digest"
"$CTL" report digest -c "$CONF" >"$T/dig0" 2>&1
check "digest printed for registrator@sjovik.test" grep -q "^To: registrator@sjovik.test" "$T/dig0"
check "... with the copies by myndighet and class" python3 - "$T/dig0" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
d = t.split("To: ")[[i for i, p in enumerate(t.split("To: ")) if p.startswith("registrator@")][0]]
m = re.search(r"Kopior till registrator: (\d+)\n((?:.+\n)*)", d)
assert m and int(m.group(1)) >= 3, d
assert re.search(r"^BN +registreras +\d+$", m.group(2), re.M), d
EOF
# A working day a week on or after (the digest goes on working days only).
t=$((now + 7 * 86400))
before=$(sink_count)
for i in 1 2 3 4 5 6 7 8 9 10; do
    "$CTL" report digest -c "$CONF" --now "$(iso $t)" --send >"$T/dig1" 2>&1
    grep -q "^not a working day" "$T/dig1" || break
    t=$((t + 86400))
done
check "digest --send spooled one a registrator" grep -q "^digest to registrator@sjovik.test spooled" "$T/dig1"
settle $((before + 2))
dig=$(sink_for registrator@sjovik.test '.digest.')
check "the digest reached registrator@sjovik.test" test -n "$dig"
if [ -n "$dig" ]; then
    text_of "$dig" >"$T/dig.txt"
    check "... naming David's notice, unanswered after its reminder, with its subject" \
        python3 - "$T/dig.txt" "$idb" "$ida" "$idq2" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Notiser obesvarade efter påminnelse: (\d+)\n((?:.+\n)*)", t)
assert m and m.group(1) == "1", t
assert "david.holm@sjovik.test  " + sys.argv[2] in m.group(2), t
assert "ämne: Anbud i ärende KS 2026/140" in m.group(2), t
assert sys.argv[3] not in t, t     # Bengt's, answered
assert re.search(r"^bygglov@sjovik.test +3 +2 +0 +1 +1 .*\(" + sys.argv[4] + r"\)$", t, re.M), t
assert "Döda kopior i kön" in t and "Obevakade brevlådor" in t, t
EOF
fi

dm_write_conf "$T/en.conf" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
    "site.gateway_id=gw1.sjovik.test" "site.language=en"
"$CTL" report digest -c "$T/en.conf" --now "$(iso $t)" >"$T/dig3" 2>&1
check "the digest in English ([site] language = en)" python3 - "$T/dig3" <<'EOF'
import sys
t = open(sys.argv[1]).read()
assert "Subject: Diariemilter: digest " in t and "Notices unanswered after their reminder: 1" in t, t
assert "Response times of functional mailboxes (R15)" in t, t
EOF

echo "# what the database keeps of people"
check "notices and questions keep no person's address" python3 - "$(dm_conf_get "$CONF" store database)" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT * FROM notices").fetchall() + db.execute("SELECT * FROM questions").fetchall()
assert len(rows) >= 5, rows
for r in rows:
    for v in r:
        assert not (isinstance(v, str) and ("bengt" in v or "david" in v or "sven" in v or "Anbud" in v)), r
EOF

dm_summary
