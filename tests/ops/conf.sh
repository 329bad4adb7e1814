#!/bin/bash
# tests/ops/conf.sh: what "diariemilter -n" refuses and warns of (issue 18),
# and the sample in etc/ checked and used from a source checkout.
#
# Each bad file is the sample with one line changed: -n must exit 78 and
# name the file, the line and the key.  No daemon, LDAP or MTA is started.
set -u
. "$(dirname "$0")/../lib/dm.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/dm-conf.XXXXXX")
trap 'rm -rf "$T"' EXIT
DM=$DM_BUILD/diariemilter
SAMPLE=$DM_REPO/etc/diariemilter.conf

# variant NAME SECTION KEY VALUE: the sample in T/NAME/ (beside a copy of
# its rules and templates) with KEY in SECTION set to VALUE.
variant() {
    local name=$1 sect=$2 key=$3 value=$4
    mkdir -p "$T/$name"
    ln -sfn "$DM_REPO/etc/rules.conf" "$T/$name/rules.conf"
    ln -sfn "$DM_REPO/etc/rules" "$T/$name/rules"
    ln -sfn "$DM_REPO/etc/templates" "$T/$name/templates"
    awk -v s="[$sect]" -v k="$key" -v v="$value" '
        /^\[/ { in_s = ($0 == s) }
        in_s && $1 == k && $2 == "=" { print k " = " v; next }
        { print }' "$SAMPLE" >"$T/$name/d.conf"
}

# line_of NAME SECTION KEY: the line the key stands on in the variant.
line_of() {
    awk -v s="[$2]" -v k="$3" '
        /^\[/ { in_s = ($0 == s) }
        in_s && $1 == k { print NR; exit }' "$T/$1/d.conf"
}

# refused NAME SECTION KEY NEEDLE: -n exits 78 with FILE:LINE: [SECTION] KEY
# and NEEDLE in its message.
refused() {
    local name=$1 sect=$2 key=$3 needle=$4 rc line
    line=$(line_of "$name" "$sect" "$key")
    "$DM" -n -c "$T/$name/d.conf" >"$T/$name/out" 2>&1
    rc=$?
    if [ "$rc" -eq 78 ] && grep -qF "$T/$name/d.conf:$line: [$sect] $key" "$T/$name/out" &&
        grep -qF -- "$needle" "$T/$name/out"; then
        ok "-n refuses $name ([$sect] $key, line $line)"
    else
        fail "-n refuses $name: exit $rc, wanted 78 and \"d.conf:$line: [$sect] $key\", \"$needle\":"
        sed 's/^/    /' "$T/$name/out"
    fi
}

variant cidr milter internal_networks "10.0.0.0/8, 10.0.0.0/33"
refused cidr milter internal_networks "10.0.0.0/33"
variant hostbits milter own_networks "127.0.0.1/8"
refused hostbits milter own_networks "127.0.0.1/8"
variant sender delivery sender postmaster
refused sender delivery sender "full address"
variant nosendmail delivery sendmail "/nonexistent/sbin/sendmail -i"
refused nosendmail delivery sendmail "/nonexistent/sbin/sendmail"
variant noca ldap tls_ca_file "/nonexistent/ca.pem"
refused noca ldap tls_ca_file "/nonexistent/ca.pem"
variant group site communications_group "kommunikationsenheten"
refused group site communications_group "not a DN"
variant base ldap base "sjovik.test"
refused base ldap base "not a DN"

# A key given twice: the second line is named, the first is mentioned.
variant twice milter socket "unix:/run/diariemilter/diariemilter.sock"
first=$(line_of twice milter socket)
awk -v n="$first" '{ print } NR == n { print "socket = inet:8891@127.0.0.1" }' \
    "$T/twice/d.conf" >"$T/twice/d2.conf"
"$DM" -n -c "$T/twice/d2.conf" >"$T/twice/out" 2>&1
rc=$?
if [ "$rc" -eq 78 ] && grep -qF "d2.conf:$((first + 1)): [milter] socket" "$T/twice/out" &&
    grep -qF "line $first" "$T/twice/out"; then
    ok "-n refuses a key given twice, naming both lines"
else
    fail "-n refuses a key given twice: exit $rc:"
    sed 's/^/    /' "$T/twice/out"
fi

# method = smtp needs a full sender.
variant smtp delivery method smtp
refused smtp delivery method "sender set to a full address"

# The sample itself, from the checkout (relative rules and templates):
# accepted, with a warning that it would run as root.
( cd "$DM_REPO" && "$DM" -n -c etc/diariemilter.conf ) >"$T/sample.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q "configuration ok" "$T/sample.out"; then
    ok "-n -c etc/diariemilter.conf from the checkout"
else
    fail "-n -c etc/diariemilter.conf from the checkout: exit $rc:"
    sed 's/^/    /' "$T/sample.out"
fi
check "an empty [milter] user warns, naming the line" \
    grep -q "warning: etc/diariemilter.conf:[0-9]*: \[milter\] user: empty" "$T/sample.out"
variant user milter user nobody
"$DM" -n -c "$T/user/d.conf" >"$T/user/out" 2>&1
check "a [milter] user: no warning about it" sh -c "! grep -q '\[milter\] user' '$T/user/out'"

# ... and from another directory, by a relative path: the rules and
# templates are the file's neighbours, not the working directory's.
mkdir -p "$T/elsewhere"
( cd "$T/elsewhere" && "$DM" -n -c "$(realpath --relative-to=. "$SAMPLE")" ) \
    >"$T/rel.out" 2>&1
check "-n by a relative path from another directory" grep -q "configuration ok" "$T/rel.out"

# diariectl classify with the sample, offline, from the checkout.
msg=$T/m.eml
printf 'From: per.svensson@invanare.example\nTo: kalle@sjovik.test\nSubject: Fr%sga\n\nHej.\n' \
    "$(printf '\303\245')" >"$msg"
( cd "$DM_REPO" && build/diariectl classify -c etc/diariemilter.conf --offline \
    --from per.svensson@invanare.example --rcpt kalle@sjovik.test "$msg" ) >"$T/cl.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && [ -s "$T/cl.out" ]; then
    ok "diariectl classify -c etc/diariemilter.conf from the checkout ($(head -1 "$T/cl.out"))"
else
    fail "diariectl classify -c etc/diariemilter.conf from the checkout: exit $rc:"
    sed 's/^/    /' "$T/cl.out"
fi

dm_summary
