#!/bin/sh
# tests/ldap/fixture.sh [LDIF]: the schema loads, the fixture loads whole,
# the searches diariemilter relies on work, and the private-slapd harness
# (tests/lib/slapd.sh) starts, restarts and stops cleanly.
#
# Prints one "ok - ..." or "FAIL - ..." line per check; exits 1 when any
# check fails.  Always stops its slapd and removes its temporary directory.

set -u

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
HARNESS="$REPO/tests/lib/slapd.sh"
LDIF=${1:-$REPO/../shared/fixtures/sjovik.ldif}
BASE='dc=sjovik,dc=test'
P='ou=personer,dc=sjovik,dc=test'
B='ou=brevlador,dc=sjovik,dc=test'

LDAPNOINIT=1
export LDAPNOINIT

fails=0
ok()   { echo "ok - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
note() { sed 's/^/#   /'; }

# check NAME COMMAND...: ok when COMMAND succeeds.
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}

# shellcheck disable=SC2317  # called indirectly
# gone PID: no such process, or only a zombie waiting for its reaper.
gone() {
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    case $st in
        ''|Z*) return 0 ;;
    esac
    return 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/diarie-ldap.XXXXXX") || exit 1
S="$tmp/slapd"

# shellcheck disable=SC2317  # called by trap
cleanup() {
    "$HARNESS" stop "$S" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# search FILTER: the DNs that match under BASE, sorted, one a line.
search() {
    ldapsearch -x -LLL -o ldif-wrap=no -H "$uri" -b "$BASE" "$1" 1.1 |
        sed -n 's/^dn: //p' | sort
}

# expect NAME FILTER DN...: FILTER finds exactly these DNs.
expect() {
    name=$1
    filter=$2
    shift 2
    want=$(printf '%s\n' "$@" | sort)
    got=$(search "$filter" 2>"$tmp/err")
    if [ "$got" = "$want" ]; then
        ok "$name"
    else
        fail "$name: $filter"
        { echo "want:"; echo "$want"; echo "got:"; echo "$got"; cat "$tmp/err"; } | note
    fi
}

entry_count() {
    ldapsearch -x -LLL -o ldif-wrap=no -H "$uri" -b "$BASE" '(objectClass=*)' 1.1 |
        grep -c '^dn:'
}

# --- diarie.schema and diarie.ldif define the same thing ---------------------

# The .schema file through slapd.conf, converted to cn=config by slaptest.
cat >"$tmp/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/misc.schema
include $REPO/etc/ldap/diarie.schema
EOF
mkdir "$tmp/conv"
if slaptest -Q -f "$tmp/slapd.conf" -F "$tmp/conv" >"$tmp/err" 2>&1; then
    ok "diarie.schema loads (slapd.conf form)"
else
    fail "diarie.schema loads (slapd.conf form)"
    note <"$tmp/err"
fi

# Schema definitions of cn=diarie in a slapd.d, one a line, whitespace
# collapsed.  (slapcat -s on cn=config crashes in slapd 2.5.13: take all.)
# shellcheck disable=SC2317  # called indirectly
schema_defs() {
    slapcat -n0 -F "$1" -o ldif_wrap=no 2>/dev/null |
        awk '/^dn: / { inside = ($0 ~ /^dn: cn=\{[0-9]+\}diarie,cn=schema,cn=config$/) }
             inside && /^olc(AttributeTypes|ObjectClasses):/' |
        sed 's/[[:space:]][[:space:]]*/ /g'
}

# --- start --------------------------------------------------------------------

if uri=$("$HARNESS" start "$S" "$LDIF" 2>"$tmp/err"); then
    ok "harness starts slapd ($uri)"
else
    fail "harness starts slapd"
    note <"$tmp/err"
    exit 1
fi

for f in uri ldapi_uri port slapd.pid admin.pw; do
    check "harness wrote $f" [ -s "$S/$f" ]
done
check "harness wrote slapd.log" [ -f "$S/slapd.log" ]
port=$(cat "$S/port")
pid=$(cat "$S/slapd.pid")
check "uri file matches the port" [ "$(cat "$S/uri")" = "$uri" ]
check "uri is ldap://127.0.0.1:PORT/" [ "$uri" = "ldap://127.0.0.1:$port/" ]
check "admin.pw holds the password" [ "$(cat "$S/admin.pw")" = secret ]

a=$(schema_defs "$tmp/conv")
b=$(schema_defs "$S/slapd.d")
if [ -n "$a" ] && [ "$a" = "$b" ]; then
    ok "diarie.schema and diarie.ldif agree ($(echo "$a" | wc -l) definitions)"
else
    fail "diarie.schema and diarie.ldif agree"
    { echo "diarie.schema:"; echo "$a"; echo "diarie.ldif:"; echo "$b"; } | note
fi

if ldapsearch -Q -Y EXTERNAL -LLL -H "$(cat "$S/ldapi_uri")" -b "$BASE" -s base 1.1 >/dev/null 2>&1; then
    ok "ldapi with SASL EXTERNAL answers"
else
    fail "ldapi with SASL EXTERNAL answers"
fi

# --- the fixture --------------------------------------------------------------

nldif=$(grep -c '^dn:' "$LDIF")
n=$(entry_count)
if [ "$n" = "$nldif" ]; then
    ok "all $nldif entries of $(basename "$LDIF") are there"
else
    fail "all entries of the fixture are there: want $nldif, got $n"
fi

expect "private address finds its person" \
    '(|(mail=anna.lind.privat@example.net)(diariePrivateMail=anna.lind.privat@example.net))' \
    "uid=anna.lind,$P"
expect "diariePrivateMail matches without case" \
    '(diariePrivateMail=Anna.Lind.PRIVAT@Example.NET)' \
    "uid=anna.lind,$P"
expect "diariePrivateMail substring match" \
    '(diariePrivateMail=*@example.net)' \
    "uid=anna.lind,$P" "uid=bengt.ek,$P"
expect "mail on a groupOfNames mailbox" \
    '(mail=bygglov@sjovik.test)' \
    "cn=bygglov,$B"
expect "diarieAbsentFrom ordering" \
    '(diarieAbsentFrom<=20261120000000Z)' \
    "uid=fatima.nilsson,$P" "uid=ivan.petrov,$P"
expect "absent on a given day (from <= t <= until)" \
    '(&(diarieAbsentFrom<=20261201120000Z)(diarieAbsentUntil>=20261201120000Z))' \
    "uid=ivan.petrov,$P"
expect "diarieRole=registrator finds the two registrator mailboxes" \
    '(diarieRole=registrator)' \
    "cn=registrator,$B" "cn=sn-registrator,$B"
expect "diarieRole matches without case" \
    '(diarieRole=REGISTRATOR)' \
    "cn=registrator,$B" "cn=sn-registrator,$B"
expect "registrator of a myndighet" \
    '(&(diarieRole=registrator)(diarieMyndighet=sn))' \
    "cn=sn-registrator,$B"
expect "diarieFullmakt boolean" \
    '(&(diarieRole=fortroendevald)(diarieFullmakt=TRUE))' \
    "uid=anna.lind,$P" "uid=cecilia.berg,$P"
expect "diarieDelegate DN match" \
    "(diarieDelegate=UID=jonas.alm, ou=personer, dc=sjovik, dc=test)" \
    "uid=ivan.petrov,$P"

# Anonymous may read, not write.
if ldapmodify -x -H "$uri" >"$tmp/err" 2>&1 <<EOF
dn: uid=karin.wall,$P
changetype: modify
replace: description
description: anonymous was here
EOF
then
    fail "anonymous cannot write"
else
    ok "anonymous cannot write"
fi

# The rootdn may; the change must survive the restart below.
if ldapmodify -x -H "$uri" -D "cn=admin,$BASE" -y "$S/admin.pw" >"$tmp/err" 2>&1 <<EOF
dn: uid=karin.wall,$P
changetype: modify
replace: description
description: written before restart
EOF
then
    ok "rootdn with admin.pw can write"
else
    fail "rootdn with admin.pw can write"
    note <"$tmp/err"
fi

# --- restart ------------------------------------------------------------------

if uri2=$("$HARNESS" restart "$S" 2>"$tmp/err"); then
    ok "harness restarts slapd"
else
    fail "harness restarts slapd"
    note <"$tmp/err"
    exit 1
fi
pid2=$(cat "$S/slapd.pid")
check "restart keeps the URI ($uri -> $uri2)" [ "$uri2" = "$uri" ]
check "restart keeps the port ($port)" [ "$(cat "$S/port")" = "$port" ]
check "restart replaced the process ($pid -> $pid2)" [ "$pid2" != "$pid" ]
check "restart: old process $pid is gone" gone "$pid"
n=$(entry_count)
check "restart keeps the entries (want $nldif, got $n)" [ "$n" = "$nldif" ]
expect "restart keeps the data" \
    '(description=written before restart)' \
    "uid=karin.wall,$P"

# --- stop ---------------------------------------------------------------------

if "$HARNESS" stop "$S" 2>"$tmp/err"; then
    ok "harness stops slapd"
else
    fail "harness stops slapd"
    note <"$tmp/err"
fi
check "slapd process $pid2 is gone" gone "$pid2"
check "pid file removed" [ ! -e "$S/slapd.pid" ]
check "ldapi socket removed" [ ! -e "$S/ldapi" ]
if ldapsearch -x -LLL -H "$uri" -o nettimeout=2 -b "$BASE" -s base 1.1 >/dev/null 2>&1; then
    fail "nothing answers on $uri any more"
else
    ok "nothing answers on $uri any more"
fi
check "stop is idempotent" "$HARNESS" stop "$S"
if "$HARNESS" status "$S"; then
    fail "status says stopped"
else
    ok "status says stopped"
fi

if [ "$fails" -ne 0 ]; then
    echo "# $fails check(s) failed"
    exit 1
fi
echo "# all checks passed"
exit 0
