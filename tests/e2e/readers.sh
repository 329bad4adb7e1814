#!/usr/bin/env bash
# End to end, what the registrator and the politician read (issue 16,
# phase 1): the copy's arrival time in [site] timezone, its Reply-To as
# [delivery] copy_reply_to says, the original named after its subject (by
# id under sekretess), Sensitivity and the sign of sekretess without its
# facts, diarie.json valid against etc/diarie.schema.json, the redirect
# form (Resent-*, the gateway's X-Diarie-*, the original's own X-Diarie-*
# gone, passed by the milter unclassified), and the notices' reasons in
# sentences with the registrator to forward to.
# swaks -> a private Postfix with diariemilter -> smtp-sink, with the
# fixture directory in a private slapd and the fixture diarium.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
. "$DM_REPO/tests/lib/e2e.sh"
SCHEMA=$DM_REPO/etc/diarie.schema.json

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi
python3 -c 'import jsonschema' 2>/dev/null ||
    { echo "FAIL python3-jsonschema is missing (scripts/deps.sh installs it)"; exit 1; }

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT

conf() { e2e_conf "delivery.sender=postmaster@sjovik.test" "$@"; }
e2e_up "delivery.sender=postmaster@sjovik.test" || exit 1

reload() {
    conf "$@"
    kill -USR1 "$(cat "$T/milter.pid")"
    sleep 1
}

# py FILE SCRIPT ARGS...: python3 with the sink file parsed as `msg`
# (smtp-sink's own lines dropped) and `parts` its leaves.
py() {
    local f=$1 script=$2
    shift 2
    python3 - "$f" "$@" <<EOF
import email, email.policy, json, re, sys
raw = open(sys.argv[1], "rb").read()
lines = raw.split(b"\n")
while lines and re.match(rb"X-[A-Za-z-]+-(Args|Addr|Proto):", lines[0]):
    lines.pop(0)
raw = b"\n".join(lines)
msg = email.message_from_bytes(raw, policy=email.policy.default)
parts = [p for p in msg.walk() if not p.is_multipart()] if msg.is_multipart() else [msg]
def cover():
    return msg.get_payload()[0].get_content()
def part(ctype):
    for p in msg.iter_parts():
        if p.get_content_type() == ctype:
            return p
    sys.exit("no %s part" % ctype)
def diarie():
    return json.loads(part("application/json").get_payload(decode=True))
$script
EOF
}

echo "# a citizen to the building committee's mailbox and a politician without fullmakt"
cat >"$T/a.eml" <<'EOF'
Date: Tue, 17 Nov 2026 10:05:12 +0100
From: =?utf-8?Q?Arkitekt_Ritbyr=C3=A5n?= <arkitekt@ritbyran.example>
To: bygglov@sjovik.test, =?utf-8?Q?Bengt_Ek?= <bengt.ek@sjovik.test>
Subject: =?utf-8?Q?Komplettering_f=C3=B6r_strandskyddsdispens_Ekudden_1:4?=
Message-ID: <e2e-readers-a@ritbyran.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej,

Vi ansöker om att få lämna in kompletterande ritningar i ärende BN 2026/51.
Vänligen bekräfta att handlingarna har kommit in.

Med vänliga hälsningar
Arkitekt Ritbyrån
EOF
before=$(sink_count)
t0=$(date +%s)
send "$T/a.eml" arkitekt@ritbyran.example bygglov@sjovik.test bengt.ek@sjovik.test
check "the message is accepted" test $? -eq 0
settle $((before + 3))
t1=$(date +%s)
copy=$(sink_for registrator@sjovik.test e2e-readers-a@ritbyran.example)
notice=$(sink_for bengt.ek@example.net 'X-Diarie-Genererad')
check "a copy reached registrator@sjovik.test" test -n "$copy"
check "a notice reached Bengt Ek (at his forwarding address)" test -n "$notice"
copy=${copy:-/dev/null} notice=${notice:-/dev/null}

zone=$(TZ=Europe/Stockholm date -d "@$t0" +%Z)
check "the cover says when it arrived, in Europe/Stockholm ($zone)" py "$copy" '
m = re.search(r"^Inkom: +(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (\S+)$", cover(), re.M)
import datetime, zoneinfo
t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zoneinfo.ZoneInfo("Europe/Stockholm")).timestamp()
assert m.group(2) == sys.argv[2] and int(sys.argv[3]) - 1 <= t <= int(sys.argv[4]) + 1, (m.group(0), sys.argv[2:])
' "$zone" "$t0" "$t1"
check "... and gives the sender's Date as the sender's" \
    py "$copy" 'assert "Skickat:      Tue, 17 Nov 2026 10:05:12 +0100 (enligt avsändaren)" in cover()'
check "From: is the gateway's, Reply-To: the original sender" py "$copy" '
assert msg["From"].addresses[0].addr_spec == "postmaster@sjovik.test", msg["From"]
assert str(msg["Reply-To"]) == "arkitekt@ritbyran.example", msg["Reply-To"]
assert "går svaret till avsändaren, arkitekt@ritbyran.example." in cover()'
check "the original is named after its subject (RFC 2231)" py "$copy" '
p = part("message/rfc822")
assert p.get_filename() == "Komplettering för strandskyddsdispens Ekudden 1 4.eml", p.get_filename()
assert re.search(rb"filename\*(0\*)?=UTF-8\x27\x27Komplettering%20f%C3%B6r", raw), raw
assert "som Komplettering för strandskyddsdispens Ekudden 1 4.eml." in cover()'
check "no Sensitivity on a copy without sekretess" py "$copy" 'assert msg["Sensitivity"] is None'
py "$copy" 'sys.stdout.write(json.dumps(diarie()))' >"$T/a.json"
check "diarie.json is valid against etc/diarie.schema.json" python3 - "$SCHEMA" "$T/a.json" <<'EOF'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))
EOF
sha=$(sed -e 's/$/\r/' "$T/a.eml" | { cat; printf '\r\n'; } | sha256sum | cut -d' ' -f1)
check "diarie.json holds the facts" python3 - "$T/a.json" "$sha" "$t0" "$t1" <<'EOF'
import datetime, json, sys
d = json.load(open(sys.argv[1]))
assert d["gateway"] == "gw1.sjovik.test", d["gateway"]
assert d["class"] == "registreras" and d["sekretess"] is False and d["sekretess_signs"] == []
assert d["case"] == "BN 2026/51" and d["myndighet"] == "BN", (d["case"], d["myndighet"])
assert d["message_id"] == "e2e-readers-a@ritbyran.example"
assert d["subject"] == "Komplettering för strandskyddsdispens Ekudden 1:4"
assert d["envelope"]["sender"] == "arkitekt@ritbyran.example"
assert [r["address"] for r in d["envelope"]["recipients"]] == ["bygglov@sjovik.test", "bengt.ek@sjovik.test"]
assert all(r["in_headers"] for r in d["envelope"]["recipients"])
assert d["sha256"] == sys.argv[2], (d["sha256"], sys.argv[2])
assert d["registrator"] == "registrator@sjovik.test"
assert d["original"] == {"filename": "Komplettering för strandskyddsdispens Ekudden 1 4.eml", "content_type": "message/rfc822"}
assert any(r["rule"] == "R6.3" and r["key"] == "case_cited" for r in d["reasons"]), d["reasons"]
t = datetime.datetime.fromisoformat(d["arrived"])
assert t.utcoffset() is not None and int(sys.argv[3]) - 1 <= t.timestamp() <= int(sys.argv[4]) + 1
EOF
check "Bengt's notice says why in sentences" py "$notice" '
c = msg.get_content()
assert "Varför det ska diarieföras:\n- Meddelandet nämner ärende BN 2026/51, som finns i diariet.\n" in c, c'
check "... tells him to forward it to registrator@sjovik.test" py "$notice" '
c = msg.get_content()
assert "Gör så här: vidarebefordra meddelandet till registrator, registrator@sjovik.test,\nhelst som bilaga" in c, c'
check "... and keeps the rule numbers in a trailer" py "$notice" '
c = msg.get_content()
assert re.search(r"\n--\nDiarie-Id: [0-9a-z]{20}\nRegler \(för registrator\): .*R6\.3", c), c
assert not re.search(r"^Regler:", c, re.M), c'

echo "# sekretess: a cited sekretess case, and a personnummer with sensitive facts"
cat >"$T/b.eml" <<'EOF'
Date: Tue, 17 Nov 2026 11:00:00 +0100
From: Sven Medborgare <sven@medborgare.example>
To: Cecilia Berg <cecilia.berg@sjovik.test>
Subject: =?utf-8?Q?Fr=C3=A5ga_om_mitt_=C3=A4rende_Hemligrubrik?=
Message-ID: <e2e-readers-b@medborgare.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej Cecilia,

Jag undrar hur det går med mitt ärende SN 2026/210. Kan du be
handläggaren att höra av sig?

Sven
EOF
cat >"$T/c.eml" <<'EOF'
Date: Tue, 17 Nov 2026 11:30:00 +0100
From: Sven Medborgare <sven@medborgare.example>
To: Cecilia Berg <cecilia.berg@sjovik.test>
Subject: Min situation Hemligrubrik
Message-ID: <e2e-readers-c@medborgare.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej Cecilia,

Jag heter Sven och har personnummer 19121212-1212. Jag har fått en
diagnos och är sjukskriven sedan i våras. Jag ansöker om hjälp från
socialtjänsten och vill att någon ringer mig.

Sven
EOF
before=$(sink_count)
send "$T/b.eml" sven@medborgare.example cecilia.berg@sjovik.test
send "$T/c.eml" sven@medborgare.example cecilia.berg@sjovik.test
settle $((before + 6))
copyb=$(sink_for sn-registrator@sjovik.test e2e-readers-b@medborgare.example)
copyc=$(sink_for sn-registrator@sjovik.test e2e-readers-c@medborgare.example)
check "both went to sn-registrator@sjovik.test" test -n "$copyb" -a -n "$copyc"
copyb=${copyb:-/dev/null} copyc=${copyc:-/dev/null}
for which in case personnummer; do
    f=$copyb
    [ "$which" = case ] || f=$copyc
    check "the $which copy: Sensitivity: Company-Confidential, no subject in the headers" py "$f" '
assert msg["Sensitivity"] == "Company-Confidential", msg["Sensitivity"]
assert msg["Subject"] == "Kopia för diarieföring: (sekretess)", msg["Subject"]'
    check "the $which copy: the original is named by its id, not its subject" py "$f" '
p = part("message/rfc822")
assert re.fullmatch(r"[0-9a-z]{20}\.eml", p.get_filename()), p.get_filename()
assert "Hemlig" not in str(p["Content-Disposition"]) + str(p["Content-Type"])'
done
check "the case copy says the sign: a case marked sekretess" py "$copyb" '
assert "Sekretess:    Ja. Meddelandet gäller ärende SN 2026/210, som är sekretessmarkerat i diariet." in cover(), cover()
assert diarie()["sekretess_signs"] == ["case"], diarie()["sekretess_signs"]'
check "the personnummer copy says the sign, never the facts" py "$copyc" '
c = cover()
assert "Ja. Meddelandet innehåller ett personnummer tillsammans med känsliga uppgifter" in c, c
assert "diagnos" not in c and "sjukskriv" not in c, c
d = diarie()
assert d["sekretess"] is True and d["sekretess_signs"] == ["personnummer"], d
assert "diagnos" not in json.dumps(d, ensure_ascii=False)'
py "$copyc" 'sys.stdout.write(json.dumps(diarie()))' >"$T/c.json"
check "... and its diarie.json is valid too" python3 - "$SCHEMA" "$T/c.json" <<'EOF'
import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1])), format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))
EOF
noticec=""
for f in $("$PF" sink-files "$T/pf"); do
    grep -q '^X-Rcpt-Args: <cecilia.berg@sjovik.test>' "$f" && grep -q '^X-Diarie-Genererad:' "$f" &&
        py "$f" 'assert "personnummer" in msg.get_content()' 2>/dev/null && noticec=$f
done
check "Cecilia is told a copy went, with the sign of sekretess in words" test -n "$noticec"
check "... and nothing of the message's own words" py "${noticec:-/dev/null}" '
c = msg.get_content()
for w in ("Hemligrubrik", "diagnos", "sjukskriv", "ansöker", "19121212"):
    assert w not in c, (w, c)
assert "sn-registrator@sjovik.test" in c, c'

echo "# redirect: the original itself, resent"
reload "delivery.copy_form=redirect"
cat >"$T/d.eml" <<'EOF'
Date: Tue, 17 Nov 2026 12:00:00 +0100
From: =?utf-8?Q?Arkitekt_Ritbyr=C3=A5n?= <arkitekt@ritbyran.example>
To: bygglov@sjovik.test
Subject: =?utf-8?Q?Nya_ritningar_BN_2026/51?=
X-Diarie-Klass: privat
Message-ID: <e2e-readers-d@ritbyran.example>
X-Diarie-Genererad: v2 9999999999
 0000000000000000000000000000000000000000000000000000000000000000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej,

Här kommer de nya ritningarna i ärende BN 2026/51. Vi ansöker om att
de ersätter de tidigare.
X-Diarie-Klass: en rad i brödtexten, inte ett huvudfält

Arkitekt Ritbyrån
EOF
before=$(sink_count)
send "$T/d.eml" arkitekt@ritbyran.example bygglov@sjovik.test
settle $((before + 2))
red=$(sink_for registrator@sjovik.test e2e-readers-d@ritbyran.example)
check "a redirected copy reached registrator@sjovik.test" test -n "$red"
red=${red:-/dev/null}
check "it is resent: Resent-From, -To, -Date, -Message-ID" py "$red" '
assert "postmaster" in str(msg["Resent-From"]), msg["Resent-From"]
assert msg["Resent-To"] == "registrator@sjovik.test"
assert msg["Resent-Date"] and msg["Resent-Message-ID"]
assert msg["Message-ID"] == "<e2e-readers-d@ritbyran.example>" and "Arkitekt" in str(msg["From"])'
check "with the gateway's facts in X-Diarie-* headers" py "$red" '
assert msg.get_all("X-Diarie-Klass") == ["registreras"], msg.get_all("X-Diarie-Klass")
assert msg["X-Diarie-Arende"] == "BN 2026/51" and msg["X-Diarie-Myndighet"] == "BN"
assert msg["X-Diarie-Mottagare"] == "bygglov@sjovik.test"
assert msg["X-Diarie-Avsandare"] == "arkitekt@ritbyran.example"
assert msg["X-Diarie-Gateway"] == "gw1.sjovik.test"
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", msg["X-Diarie-Inkom"])
assert re.fullmatch(r"[0-9a-z]{20}", msg["X-Diarie-Id"]) and re.fullmatch(r"[0-9a-f]{64}", msg["X-Diarie-SHA256"])
assert len(msg.get_all("X-Diarie-Genererad")) == 1 and "9999999999" not in msg["X-Diarie-Genererad"]'
check "the milter passed it unclassified (its token verifies)" \
    grep -q "copy or notice of id=$(py "$red" 'print(msg["X-Diarie-Id"])'): passed unclassified" "$T/milter.log"
# The original as the milter stripped it, and the copy without what was
# added before it: the same message.
sink_message() {
    python3 - "$1" <<'EOF'
import re, sys
lines = open(sys.argv[1], "rb").read()[:-1].split(b"\n")
while re.match(rb"X-[A-Za-z-]+-(Args|Addr|Proto):", lines[0]):
    lines.pop(0)
out, skip = [], False
for i, l in enumerate(lines):
    if l == b"":
        out += lines[i:]
        break
    if l[:1] in (b" ", b"\t"):
        if not skip:
            out.append(l)
        continue
    name = l.split(b":")[0].lower()
    skip = name.startswith((b"x-diarie-", b"resent-", b"received"))
    if not skip:
        out.append(l)
sys.stdout.buffer.write(b"\n".join(out))
EOF
}
python3 - "$T/d.eml" >"$T/d-stripped.eml" <<'EOF'
import sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
out, skip = [], False
for i, l in enumerate(lines):
    if l == b"":
        out += lines[i:]
        break
    if l[:1] in (b" ", b"\t"):
        if not skip:
            out.append(l)
        continue
    skip = l.lower().startswith(b"x-diarie-")
    if not skip:
        out.append(l)
sys.stdout.buffer.write(b"\n".join(out) + b"\n")
EOF
sink_message "$red" >"$T/d-copy.eml"
if cmp -s "$T/d-stripped.eml" "$T/d-copy.eml"; then
    ok "it is the original but for its own X-Diarie-* headers, body byte for byte"
else
    fail "it is the original but for its own X-Diarie-* headers, body byte for byte"
    diff <(cat -A "$T/d-stripped.eml") <(cat -A "$T/d-copy.eml") | head -20
fi

before=$(sink_count)
sed -e 's/e2e-readers-b@/e2e-readers-e@/' "$T/b.eml" >"$T/e.eml"
send "$T/e.eml" sven@medborgare.example cecilia.berg@sjovik.test
settle $((before + 3))
rede=$(sink_for sn-registrator@sjovik.test e2e-readers-e@medborgare.example)
check "a redirected sekretess copy carries Sensitivity and the sign" py "${rede:-/dev/null}" '
assert msg["Sensitivity"] == "Company-Confidential" and msg["X-Diarie-Sekretess"] == "case", (msg["Sensitivity"], msg["X-Diarie-Sekretess"])
assert msg["Resent-To"] == "sn-registrator@sjovik.test"'

echo "# another site: its own Reply-To address and time zone"
reload "site.timezone=America/New_York" "delivery.copy_reply_to=diarium@sjovik.test"
before=$(sink_count)
sed -e 's/e2e-readers-a@/e2e-readers-f@/' "$T/a.eml" >"$T/f.eml"
t0=$(date +%s)
send "$T/f.eml" arkitekt@ritbyran.example bygglov@sjovik.test
settle $((before + 2))
copyf=$(sink_for registrator@sjovik.test e2e-readers-f@ritbyran.example)
zone=$(TZ=America/New_York date -d "@$t0" +%Z)
check "Reply-To is the configured address, and the cover says so" py "${copyf:-/dev/null}" '
assert str(msg["Reply-To"]) == "diarium@sjovik.test", msg["Reply-To"]
assert "Svarar du på detta meddelande går svaret till diarium@sjovik.test." in cover()'
check "the arrival is in America/New_York ($zone)" py "${copyf:-/dev/null}" '
assert re.search(r"^Inkom: +\S+ \S+ " + sys.argv[2] + "$", cover(), re.M), cover()
assert diarie()["arrived"].endswith(("-05:00", "-04:00")), diarie()["arrived"]' "$zone"

dm_summary
