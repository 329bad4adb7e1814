#!/usr/bin/env bash
# make demo: a private slapd (the Sjövik fixture directory), a private
# Postfix on loopback with diariemilter, a few telling messages, and a
# table of what happened to each.  Everything it starts, it stops.
set -u
DM_REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "make demo runs a private Postfix and needs root (sudo make demo)" >&2
    exit 1
fi

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
cleanup() {
    dm_daemon_stop "$CONF" >/dev/null 2>&1
    "$DM_REPO/tests/lib/postfix.sh" stop "$T/pf" >/dev/null 2>&1
    "$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1
    if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

say() { printf '\033[1m%s\033[0m\n' "$*"; }

say "Starting a private slapd with Sjöviks kommun's directory ..."
"$DM_REPO/tests/lib/slapd.sh" start "$T/ldap" >/dev/null || exit 1
dm_absences_to_today "$T/ldap" || exit 1
say "Starting a private Postfix on loopback with diariemilter ..."
"$DM_REPO/tests/lib/postfix.sh" start "$T/pf" --milter "unix:$T/milter.sock" >/dev/null || exit 1
. "$T/pf/env"
# Mail from 127.0.0.1 counts as the municipality's own submission, so the
# mass-mailing rule (R14) applies to senders in the directory.
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
    "milter.internal_networks=127.0.0.0/8"
"$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null || exit 1
dm_daemon_start "$CONF" || exit 1
echo

n=0
declare -a WHAT FROM TO MID SWAKS
msg() { # msg DESCRIPTION FROM TO SUBJECT BODY
    n=$((n + 1))
    WHAT[n]=$1 FROM[n]=$2 TO[n]=$3 MID[n]="demo-$n-$$@example.org"
    {
        printf 'From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <%s>\n' \
            "$2" "$3" "$4" "$(date -R)" "${MID[n]}"
        printf 'MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n'
        printf 'Content-Transfer-Encoding: 8bit\n\n%s\n' "$5"
    } >"$T/msg$n.eml"
    local to=() r
    IFS=, read -ra to <<<"$3"
    local args=()
    for r in "${to[@]}"; do args+=(--to "$r"); done
    if swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from "$2" "${args[@]}" \
        --data "@$T/msg$n.eml" >"$T/swaks$n.out" 2>&1; then
        SWAKS[n]=accepted
    else
        SWAKS[n]=$(grep -Eo '[45][0-9][0-9] [45]\.[0-9]\.[0-9]' "$T/swaks$n.out" | tail -1)
        SWAKS[n]=${SWAKS[n]:-failed}
    fi
}

msg "Citizen cites a case to a politician without fullmakt" \
    ulla.bergstrom@example.com bengt.ek@sjovik.test \
    "Synpunkt: bryggan på Ekudden (BN 2026/51)" \
    "Hej Bengt! Jag vill lämna en synpunkt i ärendet BN 2026/51 om strandskyddsdispensen."
msg "Citizen cites a case to a politician with fullmakt" \
    per.svensson@example.com anna.lind@sjovik.test \
    "Belysningen i Strandparken, KS 2026/112" \
    "Hej Anna! Jag vill komplettera mitt medborgarförslag KS 2026/112 om belysningen."
msg "Private mail to the same politician" \
    birgitta.lind@example.com anna.lind@sjovik.test \
    "Söndag" "Hej gumman! Kommer ni på söndagsmiddag? Pappa lagar lammstek. Kram mamma"
msg "Party mail to a politician" \
    kansli@parti-a.example anna.lind@sjovik.test \
    "Gruppmöte inför fullmäktige" "Välkommen till gruppmöte för fullmäktigegruppen i partilokalen."
msg "Application to a functional mailbox" \
    ahmed.yilmaz@example.com bygglov@sjovik.test \
    "Ansökan om bygglov för carport" "Hej! Jag vill ansöka om bygglov för en carport på Björkhagen 7:3."
msg "Confidential (sekretess) mail to the social services" \
    tomas.nyberg@example.net socialforvaltningen@sjovik.test \
    "Ansökan om ekonomiskt bistånd" \
    "Jag vill ansöka om ekonomiskt bistånd. Personnummer: 880917-9867. Jag går på behandling för depression."
msg "Mail to someone absent with a delegate" \
    peter.wikstrom@example.org ivan.petrov@sjovik.test \
    "Fråga om utvecklingssamtalet" "Hej Ivan! Går det bra att flytta utvecklingssamtalet till nästa vecka?"
msg "Mail to someone absent, no delegate, no fullmakt" \
    malin.ekstrom@grannby.example fatima.nilsson@sjovik.test \
    "Nätverksträffen 3 december?" "Hej Fatima! Vet du vilken tid nätverksträffen börjar?"
msg "Mass mailing by someone outside the communications unit" \
    karin.wall@sjovik.test alla@sjovik.test \
    "Julbordet 11 december" "Hej alla! Anmäl er till årets julbord senast den 1 december."

"$DM_REPO/tests/lib/postfix.sh" wait-queue "$T/pf" 30 >/dev/null
sleep 2
"$DM_REPO/tests/lib/postfix.sh" wait-queue "$T/pf" 30 >/dev/null

# What reached the sink, by the Diarie-Id of the original it concerns.
for i in $(seq 1 "$n"); do
    printf '%s\n' "${MID[i]}" >"$T/mid$i"
    printf '%s\n' "${SWAKS[i]}" >"$T/status$i"
    printf '%s\n' "${WHAT[i]}" >"$T/what$i"
done
python3 - "$T" "$n" <<'EOF'
import email, glob, os, sys
from email import policy
T, n = sys.argv[1], int(sys.argv[2])
delivered, generated = {}, {}
for f in sorted(glob.glob(os.path.join(T, "pf", "sink", "*"))):
    m = email.message_from_bytes(open(f, "rb").read(), policy=policy.default)
    rcpts = [h.split()[0].strip("<>") for h in m.get_all("X-Rcpt-Args", [])]
    did = (m.get("X-Diarie-Id") or "").strip()
    if m.get("X-Diarie-Genererad"):
        kind = "copy" if m.get_content_type() == "multipart/mixed" else "notice"
        generated.setdefault(did, []).append((kind, rcpts))
    else:
        mid = (m.get("Message-ID") or "").strip("<> ")
        delivered[mid] = (rcpts, (m.get("X-Diarie-Klass") or "-").strip(), did)
rd = lambda name: open(os.path.join(T, name)).read().strip()
for i in range(1, n + 1):
    mid, status, what = rd("mid%d" % i), rd("status%d" % i), rd("what%d" % i)
    rcpts, klass, did = delivered.get(mid, ([], "-", ""))
    gen = generated.get(did, []) if did else []
    copies = sorted({r for k, rs in gen if k == "copy" for r in rs})
    notices = sorted({r for k, rs in gen if k == "notice" for r in rs})
    print("%d. %s" % (i, what))
    if status != "accepted":
        print("     REJECTED at DATA: %s (nothing else happens)" % status)
        continue
    print("     class       %s" % klass)
    print("     delivered   %s" % (", ".join(rcpts) or "-"))
    print("     copy to     %s" % (", ".join(copies) or "-"))
    print("     notice to   %s" % (", ".join(notices) or "-"))
EOF
echo
say "The journal (diariectl reads the same database):"
sqlite3 -column -header "$T/db/diarie.db" \
    "SELECT '…'||substr(id,13) AS id, class, sekretess AS sek, coalesce(case_dnr,'') AS ärende, coalesce(sender,'(privat: ingen adress)') AS avsändare FROM journal ORDER BY seq"
echo
say "One of the notices, as the politician reads it:"
for f in "$T"/pf/sink/*; do
    if grep -q '^X-Rcpt-Args: <bengt.ek@example.net>' "$f"; then
        python3 -c 'import email,sys; from email import policy; m=email.message_from_binary_file(open(sys.argv[1],"rb"),policy=policy.default); print("Subject:", m["Subject"]); print(); print(m.get_content())' "$f"
        break
    fi
done
echo
say "Who is away and how their mail is covered (diariectl report absence):"
"$DM_BUILD/diariectl" report absence -c "$CONF" || true
