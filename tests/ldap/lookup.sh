#!/usr/bin/env bash
# tests/ldap/lookup.sh: diariemilter's own directory code (ldap/) against a
# private slapd holding the fixture:
#   - every fixture entry with a mail looked up by mail (and by private
#     address), the facts the rules need checked on a few;
#   - addresses full of filter metacharacters find nothing, without error;
#   - "diariectl directory check" finds what the rules lack;
#   - one long-lived process (build/ldaptest) keeps working across a slapd
#     restart, fails honestly while slapd is stopped or frozen, recovers;
#     its cache counts hits and misses right; its pool survives threads;
#   - a server that accepts and never answers costs about [ldap] timeout, a
#     connect that never completes about connect_timeout; failover to the
#     next URI; binds;
#   - TLS with a CA made here: StartTLS and ldaps://, verification on by
#     default; the OpenLDAP sample configuration against it.
#
# Prints ok / FAIL lines; exits 1 when any check fails.  Stops everything
# it started and removes its temporary directory.

set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=/dev/null
. "$DM_REPO/tests/lib/dm.sh"

HARNESS="$DM_REPO/tests/lib/slapd.sh"
CTL="$DM_BUILD/diariectl"
LT="$DM_BUILD/ldaptest"
LDIF="$DM_SHARED/fixtures/sjovik.ldif"
T=2          # [ldap] timeout used throughout, seconds
NOW=2026-11-22T12:00:00Z
P='ou=personer,dc=sjovik,dc=test'
B='ou=brevlador,dc=sjovik,dc=test'
G='ou=grupper,dc=sjovik,dc=test'

# Neither /etc/ldap/ldap.conf nor ~/.ldaprc may change what is tested.
LDAPNOINIT=1
export LDAPNOINIT

for f in "$CTL" "$LT"; do
    [ -x "$f" ] || { echo "FAIL $f is not built (make all build/ldaptest)"; exit 1; }
done

tmp=$(dm_tmpdir) || exit 1
S="$tmp/slapd"
listeners=()

# shellcheck disable=SC2317  # called by trap
cleanup() {
    if [ -s "$S/slapd.pid" ]; then
        kill -CONT "$(cat "$S/slapd.pid")" 2>/dev/null
    fi
    [ -e "$tmp/bg.pid" ] && kill "$(cat "$tmp/bg.pid")" 2>/dev/null
    for p in "${listeners[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    "$HARNESS" stop "$S" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

note() { sed 's/^/#   /'; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }

if ! uri=$("$HARNESS" start "$S" "$LDIF" 2>"$tmp/err"); then
    fail "private slapd starts"
    note <"$tmp/err"
    exit 1
fi
ok "private slapd on $uri"

conf="$tmp/dm.conf"
dm_write_conf "$conf" "$tmp" "$uri" "ldap.timeout=${T}s" "ldap.connect_timeout=${T}s"

# conf_with FILE [SECTION.KEY=VALUE...]: a configuration like $conf.
conf_with() {
    local file=$1
    shift
    dm_write_conf "$file" "$tmp" "$uri" "ldap.timeout=${T}s" "ldap.connect_timeout=${T}s" "$@"
}

# field "OUTPUT" NAME: the value of "  NAME: value" in a lookup's output.
field() {
    printf '%s\n' "$1" | sed -n "s/^  $2: *//p" | head -n 1
}

# expect_field DESCRIPTION ADDR NAME WANT [CONF]
expect_field() {
    local out got
    out=$("$CTL" directory lookup -c "${5:-$conf}" --now "$NOW" "$2" 2>&1)
    got=$(field "$out" "$3")
    if [ "$got" = "$4" ]; then
        ok "$1"
    else
        fail "$1: $3 of $2 is \"$got\", want \"$4\""
        printf '%s\n' "$out" | note
    fi
}

# --- every entry of the fixture ---------------------------------------------

# dn|mail|private,private for each fixture entry with a mail (LDIF unfolded).
entries=$(awk '
    /^ / { line = line substr($0, 2); next }
    { if (NR > 1) print line; line = $0 }
    END { print line }' "$LDIF" |
    awk '
        /^dn: / { dn = substr($0, 5); mail = ""; priv = "" }
        /^mail: / { mail = substr($0, 7) }
        /^diariePrivateMail: / { priv = priv (priv == "" ? "" : ",") substr($0, 20) }
        /^[[:space:]]*$/ { if (mail != "") print dn "|" mail "|" priv; dn = ""; mail = "" }
        END { if (mail != "") print dn "|" mail "|" priv }')
n_entries=0
n_bad=0
n_priv=0
while IFS='|' read -r dn mail privs; do
    [ -n "$dn" ] || continue
    n_entries=$((n_entries + 1))
    out=$("$CTL" directory lookup -c "$conf" "$mail" 2>&1)
    rc=$?
    got=$(field "$out" dn)
    if [ $rc -ne 0 ] || [ "$got" != "$dn" ]; then
        fail "lookup $mail: exit $rc, dn \"$got\", want $dn"
        printf '%s\n' "$out" | note
        n_bad=$((n_bad + 1))
    fi
    IFS=',' read -r -a plist <<<"$privs"
    for p in "${plist[@]}"; do
        [ -n "$p" ] || continue
        n_priv=$((n_priv + 1))
        out=$("$CTL" directory lookup -c "$conf" "$p" 2>&1)
        rc=$?
        got=$(field "$out" dn)
        if [ $rc -ne 0 ] || [ "$got" != "$dn" ]; then
            fail "lookup of private address $p: exit $rc, dn \"$got\", want $dn"
            printf '%s\n' "$out" | note
            n_bad=$((n_bad + 1))
        fi
    done
done <<<"$entries"
if [ "$n_entries" -ge 20 ] && [ "$n_bad" -eq 0 ]; then
    ok "every fixture entry with a mail found by it ($n_entries), and by private address ($n_priv)"
else
    fail "fixture entries by mail: $n_entries entries, $n_bad wrong"
fi

# --- the facts the rules need -------------------------------------------------

expect_field "Bengt: forwarding address" bengt.ek@sjovik.test routing bengt.ek@example.net
expect_field "Bengt: no fullmakt" bengt.ek@sjovik.test fullmakt no
expect_field "Bengt: förtroendevald" bengt.ek@sjovik.test kind "person (förtroendevald)"
expect_field "Bengt's private address is Bengt" bengt.ek@example.net dn "uid=bengt.ek,$P"
expect_field "Anna: fullmakt" anna.lind@sjovik.test fullmakt yes
expect_field "Anna: private address" anna.lind@sjovik.test private anna.lind.privat@example.net
expect_field "David: two myndigheter in order" david.holm@sjovik.test myndigheter KS,BUN
expect_field "Ivan: delegate resolved to a mail" ivan.petrov@sjovik.test delegate \
    "uid=jonas.alm,$P <jonas.alm@sjovik.test>"
expect_field "Ivan: manager" ivan.petrov@sjovik.test manager \
    "uid=sara.olsson,$P <sara.olsson@sjovik.test>"
expect_field "Ivan: absence dates" ivan.petrov@sjovik.test absence \
    "2026-11-20T00:00:00Z .. 2026-12-06T23:59:59Z"
expect_field "Ivan: absent on $NOW" ivan.petrov@sjovik.test absent_now yes
expect_field "Fatima: manager resolved to a mail" fatima.nilsson@sjovik.test manager \
    "uid=lena.gustafsson,$P <lena.gustafsson@sjovik.test>"
expect_field "Fatima: no delegate" fatima.nilsson@sjovik.test delegate -
expect_field "Fatima: absent on $NOW" fatima.nilsson@sjovik.test absent_now yes
expect_field "Göran: communications unit" goran.nordstrom@sjovik.test comm_unit yes
expect_field "Karin: not communications unit" karin.wall@sjovik.test comm_unit no
expect_field "registrator@: registrator mailbox" registrator@sjovik.test kind "registrator mailbox"
expect_field "registrator@: for KS, BN, BUN" registrator@sjovik.test myndigheter KS,BN,BUN
expect_field "socialforvaltningen@: förvaltning mailbox" socialforvaltningen@sjovik.test kind \
    "förvaltning mailbox"
expect_field "alla@: a mass list" alla@sjovik.test kind "mass list"
expect_field "address case does not matter" '<Anna.Lind@SJOVIK.test>' dn "uid=anna.lind,$P"
out=$("$CTL" directory lookup -c "$conf" --login helena.strom 2>&1)
check "lookup by login" [ "$(field "$out" mail)" = helena.strom@sjovik.test ]
out=$("$CTL" directory lookup -c "$conf" nobody@sjovik.test anna.lind@sjovik.test 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s\n' "$out" | grep -q 'not in the directory' &&
    [ "$(field "$out" dn)" = "uid=anna.lind,$P" ]; then
    ok "an unknown address: exit 1, the others still answered"
else
    fail "an unknown address: exit $rc"
    printf '%s\n' "$out" | note
fi

# --- filter injection ----------------------------------------------------------

inj_bad=0
# shellcheck disable=SC1003  # the backslashes are the point
for a in '*)(uid=*))(|(uid=*' 'a*@sjovik.test' '(mail=*)' '*' '*@sjovik.test' \
    'anna.lind@sjovik.test)(mail=*' 'x)(|(objectClass=*' '\' '\\' '\2A' 'anna\2elind@sjovik.test' \
    'x\00y@sjovik.test' 'anna.lind@sjovik.test\' '*anna*' 'åsa@sjövik.test' \
    ')(&' '(|(mail=anna.lind@sjovik.test)(mail=*))'; do
    out=$("$CTL" directory lookup -c "$conf" "$a" 2>"$tmp/err")
    rc=$?
    if [ $rc -ne 1 ] || ! printf '%s\n' "$out" | grep -q 'not in the directory' || [ -s "$tmp/err" ]; then
        fail "injection \"$a\": exit $rc (want 1, not found, no error)"
        { printf '%s\n' "$out"; cat "$tmp/err"; } | note
        inj_bad=$((inj_bad + 1))
    fi
    out=$("$CTL" directory lookup -c "$conf" --login "$a" 2>"$tmp/err")
    rc=$?
    if [ $rc -ne 1 ] || [ -s "$tmp/err" ]; then
        fail "injection as login \"$a\": exit $rc (want 1, no error)"
        { printf '%s\n' "$out"; cat "$tmp/err"; } | note
        inj_bad=$((inj_bad + 1))
    fi
done
check "filter metacharacters in addresses and logins find nothing and fail nothing" \
    [ "$inj_bad" -eq 0 ]
# The escaping itself (RFC 4515): every metacharacter as \XX, each %s.
printf '%s\n' 'e1: escape *)(uid=*))(|(uid=*' 'e2: escape a\b' 'e3: escape plain@x' |
    "$LT" "$conf" >"$tmp/esc.out" 2>&1
if grep -qxF 'e1: (|(mail=\2A\29\28uid=\2A\29\29\28|\28uid=\2A)(uid=\2A\29\28uid=\2A\29\29\28|\28uid=\2A))' "$tmp/esc.out" &&
    grep -qxF 'e2: (|(mail=a\5Cb)(uid=a\5Cb))' "$tmp/esc.out" &&
    grep -qxF 'e3: (|(mail=plain@x)(uid=plain@x))' "$tmp/esc.out"; then
    ok "filter values escaped as RFC 4515 says, at every %s"
else
    fail "filter escaping"
    note <"$tmp/esc.out"
fi

# --- diariectl directory check ----------------------------------------------

# findings OUTPUT: the finding lines (not the summary).
findings() { printf '%s\n' "$1" | grep -v '^checked '; }

out=$("$CTL" directory check -c "$conf" --now "$NOW" 2>&1)
rc=$?
f=$(findings "$out")
if [ $rc -eq 1 ] &&
    printf '%s\n' "$f" | grep -q "^R11 .*socialforvaltningen@sjovik.test .*watched by 1 person" &&
    printf '%s\n' "$f" | grep -q "^R13 .*fatima.nilsson@sjovik.test .*manager lena.gustafsson@sjovik.test" &&
    [ "$(printf '%s\n' "$f" | grep -c .)" -eq 2 ] &&
    printf '%s\n' "$out" | grep -q '^checked 23 entries: 15 persons, 6 mailboxes, 2 lists'; then
    ok "check on $NOW: socialforvaltningen@ (R11, one watcher) and Fatima (R13), nothing else"
else
    fail "check on $NOW: exit $rc"
    printf '%s\n' "$out" | note
fi
out=$("$CTL" directory check -c "$conf" --now 2027-02-01T12:00:00Z 2>&1)
rc=$?
if [ $rc -eq 1 ] && [ "$(findings "$out" | grep -c .)" -eq 1 ] &&
    findings "$out" | grep -q "^R11 .*socialforvaltningen"; then
    ok "check after the absences: only R11"
else
    fail "check after the absences: exit $rc"
    printf '%s\n' "$out" | note
fi
"$CTL" directory check -c "$conf" --now yesterday >/dev/null 2>&1
check "check: a bad --now is a usage error (64)" [ $? -eq 64 ]
# A size limit that cuts the walk short is a failure, never a short check.
ldapi_modify() {
    ldapmodify -Q -Y EXTERNAL -H "$(cat "$S/ldapi_uri")" >"$tmp/err" 2>&1
}
ldapi_modify <<EOF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
replace: olcLimits
olcLimits: anonymous size=5
EOF
out=$("$CTL" directory check -c "$conf" --now "$NOW" 2>&1)
rc=$?
if [ $rc -eq 75 ] && printf '%s\n' "$out" | grep -q "$uri: search: Size limit exceeded: the walk was cut short"; then
    ok "check: a size limit that cuts the walk short fails (75)"
else
    fail "check under a size limit: exit $rc"
    printf '%s\n' "$out" | note
fi
ldapi_modify <<EOF
dn: olcDatabase={1}mdb,cn=config
changetype: modify
delete: olcLimits
EOF
check "size limit lifted again" [ $? -eq 0 ]

# More entries: a broken name, a person without myndighet, names that
# follow the standard, a mailbox watched through a group, one watched by a
# single existing person.
ldif_add() {
    ldapadd -x -H "$uri" -D "cn=admin,dc=sjovik,dc=test" -y "$S/admin.pw" >"$tmp/err" 2>&1
}
ldif_add <<EOF
dn: uid=maria.ek,$P
objectClass: inetOrgPerson
objectClass: diarieEntry
uid: maria.ek
cn: Maria Ek
givenName: Maria
sn: Ek
mail: m.ek@sjovik.test
diarieRole: tjansteman
diarieMyndighet: KS

dn: uid=per.astrom,$P
objectClass: inetOrgPerson
objectClass: diarieEntry
uid: per.astrom
cn: Per Åström
givenName: Per
sn: Åström
mail: per.astrom@sjovik.test
diarieRole: tjansteman

dn: uid=anna-karin.ost,$P
objectClass: inetOrgPerson
objectClass: diarieEntry
uid: anna-karin.ost
cn: Anna-Karin Öst
givenName: Anna-Karin
sn: Öst
mail: anna-karin.ost@sjovik.test
diarieRole: tjansteman
diarieMyndighet: KS

dn: uid=rene.lefevre,$P
objectClass: inetOrgPerson
objectClass: diarieEntry
uid: rene.lefevre
cn: René Lefèvre
givenName: René
sn: Lefèvre
mail: rene.lefevre2@sjovik.test
diarieRole: tjansteman
diarieMyndighet: BN

dn: cn=ekonomigruppen,$G
objectClass: groupOfNames
cn: ekonomigruppen
member: uid=maria.ek,$P
member: uid=anna-karin.ost,$P

dn: cn=ekonomi,$B
objectClass: groupOfNames
objectClass: diarieEntry
cn: ekonomi
mail: ekonomi@sjovik.test
diarieRole: funktionsbrevlada
diarieMyndighet: KS
member: cn=ekonomigruppen,$G

dn: cn=arkiv,$B
objectClass: groupOfNames
objectClass: diarieEntry
cn: arkiv
mail: arkiv@sjovik.test
diarieRole: funktionsbrevlada
diarieMyndighet: KS
member: uid=karin.wall,$P
member: uid=slutat,$P
EOF
check "extra entries added" [ $? -eq 0 ]
out=$("$CTL" directory check -c "$conf" --now "$NOW" 2>&1)
rc=$?
f=$(findings "$out")
if [ $rc -eq 1 ] && [ "$(printf '%s\n' "$f" | grep -c .)" -eq 5 ] &&
    printf '%s\n' "$f" | grep -q "^R16 .*m.ek@sjovik.test .*expected maria.ek@sjovik.test" &&
    printf '%s\n' "$f" | grep -q "^no myndighet .*per.astrom@sjovik.test" &&
    printf '%s\n' "$f" | grep -q "^R11 .*arkiv@sjovik.test .*watched by 1 person: karin.wall@sjovik.test" &&
    printf '%s\n' "$f" | grep -q "^R11 .*socialforvaltningen@" &&
    printf '%s\n' "$f" | grep -q "^R13 .*fatima.nilsson@"; then
    ok "check: R16 m.ek (not per.astrom, anna-karin.ost, rene.lefevre2), no myndighet, watchers through a group"
else
    fail "check with extra entries: exit $rc"
    printf '%s\n' "$out" | note
fi
for dn in "cn=arkiv,$B" "cn=ekonomi,$B" "cn=ekonomigruppen,$G" "uid=rene.lefevre,$P" \
    "uid=anna-karin.ost,$P" "uid=per.astrom,$P" "uid=maria.ek,$P"; do
    ldapdelete -x -H "$uri" -D "cn=admin,dc=sjovik,dc=test" -y "$S/admin.pw" "$dn" ||
        fail "delete $dn"
done

# Membership by memberOf (Active Directory's way): the fixture has no
# memberOf, so seeAlso (a DN attribute persons may have) stands in for it.
ldapmodify -x -H "$uri" -D "cn=admin,dc=sjovik,dc=test" -y "$S/admin.pw" >"$tmp/err" 2>&1 <<EOF
dn: uid=karin.wall,$P
changetype: modify
add: seeAlso
seeAlso: CN=Kommunikationsenheten, OU=grupper, DC=sjovik, DC=test
EOF
conf_with "$tmp/memberof.conf" ldap.group_membership=memberof ldap.attr_member_of=seeAlso
expect_field "memberof: Karin's DN-valued group attribute names the group" karin.wall@sjovik.test \
    comm_unit yes "$tmp/memberof.conf"
expect_field "memberof: Göran's entry lists no group" goran.nordstrom@sjovik.test comm_unit no \
    "$tmp/memberof.conf"
ldapmodify -x -H "$uri" -D "cn=admin,dc=sjovik,dc=test" -y "$S/admin.pw" >"$tmp/err" 2>&1 <<EOF
dn: uid=karin.wall,$P
changetype: modify
delete: seeAlso
EOF

# --- one long-lived process: cache, reconnect, failure, recovery ------------

port=$(cat "$S/port")
rm -f "$tmp/bg.done"
"$LT" "$conf" >"$tmp/lt.out" 2>"$tmp/lt.err" <<EOF
a1: lookup anna.lind@sjovik.test
a2: lookup anna.lind@sjovik.test
n1: lookup nobody@sjovik.test
n2: lookup nobody@sjovik.test
s1: stats
l1: login anna.lind
l2: login anna.lind
s2: stats
reg: registrars
walk: walk
r1: sh "$HARNESS" restart "$S" >/dev/null
c1: clear
a3: lookup anna.lind@sjovik.test
s3: stats
x1: sh "$HARNESS" stop "$S"
c2: clear
e1: lookup anna.lind@sjovik.test
e2: login anna.lind
ereg: registrars
s4: stats
r2: sh "$HARNESS" restart "$S" >/dev/null
a4: lookup anna.lind@sjovik.test
reg2: registrars
z1: sh ps -o pid=,stat=,args= -p \$(cat "$S/slapd.pid"); kill -STOP \$(cat "$S/slapd.pid")
c3: clear
h1: lookup bengt.ek@sjovik.test
h2: lookup bengt.ek@sjovik.test
z2: sh kill -CONT \$(cat "$S/slapd.pid")
zw: sleep 3
a5: lookup bengt.ek@sjovik.test
e3: entry ivan.petrov@sjovik.test
t1: threads 8 400 anna.lind@sjovik.test bengt.ek@sjovik.test nobody@x registrator@sjovik.test ivan.petrov@sjovik.test
bg: sh (sleep 0.2; "$HARNESS" restart "$S" >/dev/null 2>&1; sleep 0.2; "$HARNESS" restart "$S" >/dev/null 2>&1; touch "$tmp/bg.done") & echo \$! >"$tmp/bg.pid"
t2: threads 8 3000 anna.lind@sjovik.test bengt.ek@sjovik.test nobody@x registrator@sjovik.test ivan.petrov@sjovik.test
w: sh i=0; while [ ! -e "$tmp/bg.done" ] && [ \$i -lt 300 ]; do sleep 0.1; i=\$((i+1)); done; [ -e "$tmp/bg.done" ]
tw: sleep $((T + 1))
t3: threads 4 300 anna.lind@sjovik.test nobody@x fatima.nilsson@sjovik.test
s5: stats
EOF
lt_rc=$?
rm -f "$tmp/bg.pid"
check "ldaptest ran to the end (exit $lt_rc)" [ $lt_rc -eq 0 ] && [ "$(grep -c . "$tmp/lt.out")" -ge 40 ]

# res LABEL: the result part of ldaptest's line for LABEL.
res() { sed -n "s/^$1: //p" "$tmp/lt.out" | head -n 1; }
# stat LABEL NAME: a counter from a stats line.
stat() { res "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# lt_expect DESCRIPTION LABEL REGEX
lt_expect() {
    if res "$2" | grep -Eq "$3"; then
        ok "$1"
    else
        fail "$1: $2: $(res "$2")"
    fi
}

fails_before=$DM_FAILS
for step in r1 x1 r2 z1 z2; do
    lt_expect "ldaptest step $step (slapd restart, stop, SIGSTOP, SIGCONT) ran" $step '^rc=0$'
done
lt_expect "first lookup asks the server" a1 "^found uid=anna.lind,$P"
lt_expect "second lookup answered" a2 "^found uid=anna.lind,$P"
lt_expect "unknown address not found" n1 '^notfound'
lt_expect "unknown address again not found" n2 '^notfound'
if [ "$(stat s1 hits)" = 2 ] && [ "$(stat s1 misses)" = 2 ] &&
    [ "$(stat s1 negative_hits)" = 1 ] && [ "$(stat s1 errors)" = 0 ] &&
    [ "$(stat s1 cached)" = 2 ]; then
    ok "stats: a repeat is a hit, a repeated unknown a (negative) hit: $(res s1)"
else
    fail "stats after two and two lookups: $(res s1)"
fi
if [ "$(stat s2 hits)" = 3 ] && [ "$(stat s2 misses)" = 3 ]; then
    ok "stats: logins are cached apart from addresses: $(res s2)"
else
    fail "stats after two logins: $(res s2)"
fi
lt_expect "registrator mailboxes by myndighet" reg \
    '^ok 2 KS=registrator@sjovik.test BN=registrator@sjovik.test SN=sn-registrator@sjovik.test BUN=registrator@sjovik.test'
lt_expect "walk reads every entry with a mail" walk "^ok $n_entries\$"
lt_expect "after a slapd restart the same process finds again" a3 "^found uid=anna.lind,$P"
if [ "$(stat s3 errors)" = 0 ] && [ "$(stat s3 reconnects)" -ge 2 ]; then
    ok "the restart cost a reconnect, not an error: $(res s3)"
else
    fail "after the restart: $(res s3)"
fi
lt_expect "slapd stopped: the lookup fails, naming the server" e1 \
    "^error ms=[0-9]+ ldap://127.0.0.1:$port/: connect: Can't contact LDAP server"
lt_expect "slapd stopped: a login fails too" e2 "^error ms=[0-9]+ ldap://127.0.0.1:$port/"
lt_expect "slapd stopped: registrators fail (no stale answer)" ereg "^error ldap://127.0.0.1:$port/"
check "stats count the failures: $(res s4)" [ "$(stat s4 errors)" = 3 ]
lt_expect "slapd back: the same process finds again" a4 "^found uid=anna.lind,$P"
lt_expect "slapd back: registrators again" reg2 '^ok 2 '
# A frozen slapd (SIGSTOP): the kernel still accepts connections, nobody
# answers.  The first lookup's search times out; the server is then
# marked hung for [ldap] timeout, and the second fails at once instead of
# waiting for it again.
r=$(res h1)
ms=$(printf '%s\n' "$r" | sed -n 's/^error ms=\([0-9]*\) .*/\1/p')
if [ -n "$ms" ] && [ "$ms" -ge $((T * 1000 - 100)) ] && [ "$ms" -le $((T * 1000 + 1500)) ] &&
    printf '%s\n' "$r" | grep -q "ldap://127.0.0.1:$port/: .*no answer within \[ldap\] timeout (${T}s)"; then
    ok "frozen slapd: h1 fails after about timeout ($ms ms), naming server and reason"
else
    fail "frozen slapd: h1: $r"
fi
r=$(res h2)
ms=$(printf '%s\n' "$r" | sed -n 's/^error ms=\([0-9]*\) .*/\1/p')
if [ -n "$ms" ] && [ "$ms" -le 500 ] &&
    printf '%s\n' "$r" | grep -q "ldap://127.0.0.1:$port/: not asked: it did not answer in time"; then
    ok "frozen slapd: h2, marked hung, fails at once ($ms ms), saying why"
else
    fail "frozen slapd: h2: $r"
fi
lt_expect "slapd thawed: found again" a5 "^found uid=bengt.ek,$P"
lt_expect "entry facts through the pool" e3 \
    "^found uid=ivan.petrov,$P delegate=jonas.alm@sjovik.test manager=sara.olsson@sjovik.test comm=0 fullmakt=1"
lt_expect "8 threads share the pool and the cache" t1 '^found=2[0-9]+ notfound=[0-9]+ error=0 '
lt_expect "8 threads through two slapd restarts: the process survives" t2 '^found=[0-9]+ notfound=[0-9]+ error=[0-9]+ '
check "the background restarts finished" [ "$(res w)" = "rc=0" ]
lt_expect "after the restarts (and a hung mark they may have left) every thread finds again" t3 '^found=[0-9]+ notfound=[0-9]+ error=0 '
errors=$(stat s5 errors)
logged=$(grep -c 'ldap: .* lookup failed: ' "$tmp/lt.err")
unnamed=$(grep 'ldap: .* lookup failed: ' "$tmp/lt.err" | grep -vc "ldap://127.0.0.1:$port/: ")
if [ -n "$errors" ] && [ "$logged" = "$errors" ] && [ "$unnamed" = 0 ]; then
    ok "every failed lookup logged once, with server and reason ($logged)"
else
    fail "failed lookups $errors, logged $logged, without the server $unnamed"
    grep 'lookup failed' "$tmp/lt.err" | head -n 5 | note
fi
if [ "$DM_FAILS" -ne "$fails_before" ] || [ $lt_rc -ne 0 ]; then
    note <"$tmp/lt.out"
    grep -v 'lookup failed' "$tmp/lt.err" | tail -n 20 | note
    tail -n 20 "$S/slapd.log" | note
fi

# --- a frozen slapd and more lookups at once than the pool has connections ---------
# (issue 12.9) 16 threads, 3 lookups each, a pool of 2: a lookup waits at
# most [ldap] timeout for a connection, and the frozen server, once it
# timed out, is not asked again for a while.  Every lookup answers within
# timeout (the pool) + connect_timeout + 2 x timeout (a probe's bind and
# search), and the whole does not queue up behind the pool (of old it
# took 24 rounds of [ldap] timeout).
conf_with "$tmp/pool.conf" "ldap.pool_size=2"
bound=$(((T + T + 2 * T) * 1000 + 1500))
"$LT" "$tmp/pool.conf" >"$tmp/pool.out" 2>"$tmp/pool.err" <<EOF
w1: lookup anna.lind@sjovik.test
z1: sh kill -STOP \$(cat "$S/slapd.pid")
p1: threads 16 3 p1@sjovik.test p2@sjovik.test p3@sjovik.test p4@sjovik.test p5@sjovik.test
z2: sh kill -CONT \$(cat "$S/slapd.pid")
zw: sleep $((T + 1))
w2: lookup bengt.ek@sjovik.test
EOF
kill -CONT "$(cat "$S/slapd.pid")" 2>/dev/null
pres() { sed -n "s/^$1: //p" "$tmp/pool.out" | head -n 1; }
r=$(pres p1)
max=$(printf '%s\n' "$r" | sed -n 's/.* max=\([0-9]*\).*/\1/p')
total=$(printf '%s\n' "$r" | sed -n 's/.* ms=\([0-9]*\) .*/\1/p')
if printf '%s\n' "$r" | grep -q '^found=0 notfound=0 error=48 ' && [ -n "$max" ] &&
    [ "$max" -le "$bound" ]; then
    ok "frozen slapd, 16 threads on a pool of 2: every lookup fails within $max ms (bound $bound)"
else
    fail "frozen slapd, 16 threads on a pool of 2: $r (bound $bound ms per lookup)"
    tail -n 5 "$tmp/pool.err" | note
fi
check "... all 48 in $total ms, not queued behind the pool" [ -n "$total" ] && [ "$total" -le "$bound" ]
check "... the waits for a connection are bounded (some said so)" \
    grep -q "no directory connection free within \[ldap\] timeout (${T}s)\|not asked: it did not answer in time" "$tmp/pool.err"
check "slapd thawed: the same process finds again" grep -q "^w2: found uid=bengt.ek,$P" "$tmp/pool.out"

# --- a search that "succeeds" without an answer ----------------------------------
# libldap may return LDAP_SUCCESS and no result from a search whose wait
# ended early (seen as notfound=6 in the frozen test above).  No answer is
# an error, every time (not cached as "not found").
SHIM="$DM_BUILD/search_incomplete.so"
if [ -f "$SHIM" ]; then
    LD_PRELOAD="$SHIM" "$LT" "$conf" >"$tmp/inc.out" 2>"$tmp/inc.err" <<EOF
i1: lookup anna.lind@sjovik.test
i2: lookup nobody@sjovik.test
i3: lookup nobody@sjovik.test
EOF
    for k in i1 i2 i3; do
        r=$(sed -n "s/^$k: //p" "$tmp/inc.out" | head -n 1)
        if printf '%s\n' "$r" | grep -q "^error ms=[0-9]* ldap://127.0.0.1:$port/: search: "; then
            ok "a search with no answer is an error, not \"not found\" ($k)"
        else
            fail "a search with no answer ($k): $r"
            tail -n 3 "$tmp/inc.err" | note
        fi
    done
else
    fail "$SHIM built (make ldap-test builds it)"
fi

# --- diariectl while slapd is down ------------------------------------------------

"$HARNESS" stop "$S"
out=$("$CTL" directory lookup -c "$conf" anna.lind@sjovik.test 2>&1)
rc=$?
if [ $rc -eq 75 ] && printf '%s\n' "$out" | grep -q "ldap://127.0.0.1:$port/: connect: Can't contact LDAP server"; then
    ok "slapd stopped: lookup exits 75 naming server and reason"
else
    fail "slapd stopped: lookup exit $rc"
    printf '%s\n' "$out" | note
fi
out=$("$CTL" directory check -c "$conf" 2>&1)
rc=$?
if [ $rc -eq 75 ] && printf '%s\n' "$out" | grep -q "ldap://127.0.0.1:$port/"; then
    ok "slapd stopped: check exits 75 naming the server"
else
    fail "slapd stopped: check exit $rc"
    printf '%s\n' "$out" | note
fi
"$HARNESS" restart "$S" >/dev/null
"$CTL" directory lookup -c "$conf" anna.lind@sjovik.test >/dev/null 2>&1
check "slapd restarted: lookup works again" [ $? -eq 0 ]

# --- servers that do not answer, failover, binds ----------------------------------

# listener FILE MODE: a TCP listener on 127.0.0.1; its port goes to FILE.
# MODE hang: accept and never reply.  full: never accept, accept queue
# full, so a connect is never completed.  dead: bind, close: nothing there.
listener() {
    python3 - "$1" "$2" <<'PY' &
import os, socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
keep = []
if mode == "dead":
    s.close()
elif mode == "hang":
    s.listen(16)
else:
    s.listen(0)
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        keep.append(c)
    time.sleep(0.3)
with open(path + ".tmp", "w") as f:
    f.write(str(port))
os.rename(path + ".tmp", path)
if mode == "dead":
    sys.exit(0)
while True:
    if mode == "hang":
        c, _ = s.accept()
        keep.append(c)
    else:
        time.sleep(60)
PY
    listeners+=($!)
    local i=0
    while [ ! -s "$1" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$1" ]
}

# timed_lookup CONF ADDR: sets rc, out, ms.
timed_lookup() {
    local t0
    t0=$(ms_now)
    out=$("$CTL" directory lookup -c "$1" "$2" 2>&1)
    rc=$?
    ms=$(($(ms_now) - t0))
}

if command -v python3 >/dev/null 2>&1 && listener "$tmp/hang.port" hang &&
    listener "$tmp/full.port" full && listener "$tmp/dead.port" dead; then
    hang="ldap://127.0.0.1:$(cat "$tmp/hang.port")/"
    full="ldap://127.0.0.1:$(cat "$tmp/full.port")/"
    dead="ldap://127.0.0.1:$(cat "$tmp/dead.port")/"

    dm_write_conf "$tmp/hang.conf" "$tmp" "$hang" "ldap.timeout=${T}s" "ldap.connect_timeout=${T}s"
    timed_lookup "$tmp/hang.conf" anna.lind@sjovik.test
    if [ $rc -eq 75 ] && [ $ms -ge $((T * 1000 - 100)) ] && [ $ms -le $((T * 1000 + 1500)) ] &&
        printf '%s\n' "$out" | grep -q "$hang: bind: no answer within \[ldap\] timeout"; then
        ok "a server that accepts and never answers: exit 75 after $ms ms (timeout ${T}s)"
    else
        fail "a server that never answers: exit $rc after $ms ms"
        printf '%s\n' "$out" | note
    fi
    dm_write_conf "$tmp/full.conf" "$tmp" "$full" "ldap.timeout=${T}s" "ldap.connect_timeout=1s"
    timed_lookup "$tmp/full.conf" anna.lind@sjovik.test
    if [ $rc -eq 75 ] && [ $ms -ge 900 ] && [ $ms -le 2500 ] &&
        printf '%s\n' "$out" | grep -q "$full: connect: no connection within connect_timeout (1s)"; then
        ok "a connect that never completes: exit 75 after $ms ms (connect_timeout 1s)"
    else
        fail "a connect that never completes: exit $rc after $ms ms"
        printf '%s\n' "$out" | note
    fi
    dm_write_conf "$tmp/fo1.conf" "$tmp" "$dead $uri" "ldap.timeout=${T}s"
    timed_lookup "$tmp/fo1.conf" anna.lind@sjovik.test
    check "failover: a dead first URI, then slapd (space separated)" \
        [ $rc -eq 0 ] && [ "$(field "$out" dn)" = "uid=anna.lind,$P" ]
    dm_write_conf "$tmp/fo2.conf" "$tmp" "$hang, $uri" "ldap.timeout=${T}s"
    timed_lookup "$tmp/fo2.conf" anna.lind@sjovik.test
    if [ $rc -eq 0 ] && [ $ms -le $((T * 1000 + 1500)) ] && [ "$(field "$out" dn)" = "uid=anna.lind,$P" ]; then
        ok "failover: a hung first URI, then slapd (comma separated): $ms ms"
    else
        fail "failover past a hung server: exit $rc after $ms ms"
        printf '%s\n' "$out" | note
    fi
    dm_write_conf "$tmp/fo3.conf" "$tmp" "$dead $hang" "ldap.timeout=${T}s"
    timed_lookup "$tmp/fo3.conf" anna.lind@sjovik.test
    if [ $rc -eq 75 ] && printf '%s\n' "$out" | grep -q "$dead: connect: .*; $hang: bind: no answer"; then
        ok "no server answers: exit 75, every server named with its reason"
    else
        fail "no server answers: exit $rc"
        printf '%s\n' "$out" | note
    fi
else
    fail "python3 listeners for the timeout tests"
fi

printf 'secret\n' >"$tmp/good.pw"
printf 'wrong\n' >"$tmp/bad.pw"
conf_with "$tmp/bind.conf" "ldap.bind_dn=cn=admin,dc=sjovik,dc=test" "ldap.bind_password_file=$tmp/good.pw"
"$CTL" directory lookup -c "$tmp/bind.conf" anna.lind@sjovik.test >/dev/null 2>&1
check "simple bind with the password from a file (trailing newline ignored)" [ $? -eq 0 ]
conf_with "$tmp/badbind.conf" "ldap.bind_dn=cn=admin,dc=sjovik,dc=test" "ldap.bind_password_file=$tmp/bad.pw"
out=$("$CTL" directory lookup -c "$tmp/badbind.conf" anna.lind@sjovik.test 2>&1)
rc=$?
if [ $rc -eq 75 ] && printf '%s\n' "$out" | grep -q "$uri: bind: Invalid credentials"; then
    ok "a wrong password: exit 75, bind: Invalid credentials"
else
    fail "a wrong password: exit $rc"
    printf '%s\n' "$out" | note
fi
conf_with "$tmp/nopw.conf" "ldap.bind_dn=cn=admin,dc=sjovik,dc=test"
"$CTL" directory lookup -c "$tmp/nopw.conf" anna.lind@sjovik.test >/dev/null 2>&1
check "bind_dn without a password file is a configuration error (78)" [ $? -eq 78 ]
conf_with "$tmp/baduri.conf" "ldap.uri=http://127.0.0.1/"
"$CTL" directory lookup -c "$tmp/baduri.conf" anna.lind@sjovik.test >/dev/null 2>&1
check "an http:// URI is a configuration error (78)" [ $? -eq 78 ]
conf_with "$tmp/badfilter.conf" "ldap.filter_address=(mail=x)"
"$CTL" directory lookup -c "$tmp/badfilter.conf" anna.lind@sjovik.test >/dev/null 2>&1
check "a filter without %s is a configuration error (78)" [ $? -eq 78 ]
conf_with "$tmp/badbase.conf" "ldap.base=dc=nowhere,dc=test"
out=$("$CTL" directory lookup -c "$tmp/badbase.conf" anna.lind@sjovik.test 2>&1)
check "a base that does not exist fails (75), never 'not found'" [ $? -eq 75 ]

# --- TLS ----------------------------------------------------------------------------

tls="$tmp/tls"
mkdir -p "$tls"
if (
    cd "$tls" &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
            -subj "/CN=diariemilter test CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr \
            -subj "/CN=127.0.0.1" &&
        printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=CA:FALSE" \
            "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >ext.cnf &&
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -out server.pem -days 2 -extfile ext.cnf &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 2 \
            -subj "/CN=another CA"
) >"$tmp/openssl.log" 2>&1 &&
    ldaps=$("$HARNESS" tls "$S" "$tls/server.pem" "$tls/server.key" "$tls/ca.pem" 2>"$tmp/err"); then
    ok "test CA and server certificate made; slapd serves StartTLS and $ldaps"

    tls_case() { # DESCRIPTION WANT_RC GREP URI KEY=VALUE...
        local what=$1 want=$2 pat=$3 u=$4
        shift 4
        dm_write_conf "$tmp/tls.conf" "$tmp" "$u" "ldap.timeout=${T}s" "$@"
        out=$("$CTL" directory lookup -c "$tmp/tls.conf" anna.lind@sjovik.test 2>&1)
        rc=$?
        if [ $rc -eq "$want" ] && printf '%s\n' "$out" | grep -q "$pat"; then
            ok "$what"
        else
            fail "$what: exit $rc"
            printf '%s\n' "$out" | note
        fi
    }
    tls_case "StartTLS with the test CA" 0 "dn: *uid=anna.lind" "$uri" \
        ldap.starttls=true "ldap.tls_ca_file=$tls/ca.pem"
    tls_case "StartTLS with another CA: refused (75)" 75 "$uri: StartTLS: the TLS handshake failed" \
        "$uri" ldap.starttls=true "ldap.tls_ca_file=$tls/other.pem"
    tls_case "StartTLS with no CA file: verification is on by default (75)" 75 \
        "$uri: StartTLS: the TLS handshake failed" "$uri" ldap.starttls=true
    tls_case "StartTLS with another CA and tls_verify = false" 0 "dn: *uid=anna.lind" "$uri" \
        ldap.starttls=true "ldap.tls_ca_file=$tls/other.pem" ldap.tls_verify=false
    tls_case "ldaps:// with the test CA" 0 "dn: *uid=anna.lind" "$ldaps" \
        "ldap.tls_ca_file=$tls/ca.pem"
    tls_case "ldaps:// with another CA: refused (75)" 75 "$ldaps: connect: the TLS handshake failed" \
        "$ldaps" "ldap.tls_ca_file=$tls/other.pem"
    tls_case "ldaps:// with no CA file: refused (75)" 75 "$ldaps: connect: the TLS handshake failed" \
        "$ldaps"
    tls_case "ldaps:// and StartTLS together: StartTLS is skipped on ldaps" 0 "dn: *uid=anna.lind" \
        "$ldaps" ldap.starttls=true "ldap.tls_ca_file=$tls/ca.pem"

    # The OpenLDAP sample, pointed at this slapd: its attribute names are
    # the fixture's; StartTLS and a bind with a password file.
    sed -e "s|^uri = .*|uri = $uri|" \
        -e "s|^base = .*|base = dc=sjovik,dc=test|" \
        -e "s|^bind_dn = .*|bind_dn = cn=admin,dc=sjovik,dc=test|" \
        -e "s|^bind_password_file = .*|bind_password_file = $tmp/good.pw|" \
        -e "s|^tls_ca_file = .*|tls_ca_file = $tls/ca.pem|" \
        -e "s|^communications_group = .*|communications_group = cn=kommunikationsenheten,$G|" \
        "$DM_REPO/etc/diariemilter-openldap.conf" >"$tmp/openldap.conf"
    expect_field "OpenLDAP sample against slapd: Ivan's delegate" ivan.petrov@sjovik.test delegate \
        "uid=jonas.alm,$P <jonas.alm@sjovik.test>" "$tmp/openldap.conf"
    expect_field "OpenLDAP sample against slapd: Göran in the communications unit" \
        goran.nordstrom@sjovik.test comm_unit yes "$tmp/openldap.conf"
    out=$("$CTL" directory check -c "$tmp/openldap.conf" --now "$NOW" 2>&1)
    if [ $? -eq 1 ] && [ "$(findings "$out" | grep -c .)" -eq 2 ]; then
        ok "OpenLDAP sample against slapd: directory check finds the two"
    else
        fail "OpenLDAP sample: directory check"
        printf '%s\n' "$out" | note
    fi
else
    fail "TLS set-up"
    note <"$tmp/openssl.log"
    note <"$tmp/err"
fi

# --- the samples load -----------------------------------------------------------------

# -n checks that [ldap] tls_ca_file is a readable file: the samples' CA
# stands in a file of this test (each key once: a key given twice is refused).
: >"$tmp/sample-ca.pem"
for s in openldap ad; do
    {
        sed "s|^tls_ca_file = ..*|tls_ca_file = $tmp/sample-ca.pem|" \
            "$DM_REPO/etc/diariemilter-$s.conf"
        printf '[policy]\nrules = %s/etc/rules.conf\ntemplates = %s/etc/templates\n' \
            "$DM_REPO" "$DM_REPO"
    } >"$tmp/sample-$s.conf"
    if "$DM_BUILD/diariemilter" -n -c "$tmp/sample-$s.conf" >"$tmp/err" 2>&1; then
        ok "etc/diariemilter-$s.conf loads (diariemilter -n)"
    else
        fail "etc/diariemilter-$s.conf loads"
        note <"$tmp/err"
    fi
done
grep -q '^group_membership = memberof' "$DM_REPO/etc/diariemilter-ad.conf" &&
    grep -q '^nested_groups = true' "$DM_REPO/etc/diariemilter-ad.conf"
check "the AD sample uses memberOf with nested groups" [ $? -eq 0 ]

dm_summary
