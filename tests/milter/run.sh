#!/usr/bin/env bash
# tests/milter/run.sh: the milter-protocol tests (make milter-test).
#
#   tests/milter/run.sh [NAME...]
#
# Starts a private slapd with the Sjövik fixture, imports the case list,
# then runs each tests/milter/NAME.lua with miltertest.  Every script
# starts its own diariemilter (its own socket, spool and log, one shared
# database and key) and drives it over the milter protocol.  Then the
# valgrind pass: the scripts again with the daemon under valgrind's
# memcheck; a memory error or a definite leak (valgrind.supp lists the
# libraries' own) fails the script.  miltertest ends each script with
# SIGTERM to the daemon and waits for it, so valgrind's report is complete
# when the script returns.
#
# Prints "ok NAME" or "FAIL NAME" per script and exits 1 on any failure.
#
# Environment:
#   MILTER_TEST_VALGRIND  scripts for the valgrind pass: "all" (default),
#                         "none", or names separated by blanks
#   MILTER_TEST_KEEP=1    keep the temporary directory (its path is printed)
#   MILTER_TEST_VERBOSE=1 show every script's output, not only failures

set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
BIN=$REPO/build/diariemilter
CTL=$REPO/build/diariectl
SLAPD_SH=$REPO/tests/lib/slapd.sh
FIXTURES=${FIXTURES:-$REPO/../shared/fixtures}
ALL_SCRIPTS=(basic strip private mass absence large loop directory owed)
VG_SCRIPTS=${MILTER_TEST_VALGRIND:-all}
# One script, daemon start and stop included, may take this long.
SCRIPT_TIMEOUT=${MILTER_TEST_TIMEOUT:-180}

die() {
    echo "milter-test: $*" >&2
    exit 2
}

for tool in miltertest perl timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (scripts/deps.sh installs it)"
done
if [ ! -x "$BIN" ] || [ ! -x "$CTL" ]; then
    die "build first: make"
fi
if [ ! -r "$FIXTURES/arenden.csv" ] || [ ! -r "$FIXTURES/sjovik.ldif" ]; then
    die "no fixtures in $FIXTURES"
fi

if [ $# -gt 0 ]; then
    SCRIPTS=("$@")
else
    SCRIPTS=("${ALL_SCRIPTS[@]}")
fi
for s in "${SCRIPTS[@]}"; do
    if [ "$s" = common ] || [ ! -r "$HERE/$s.lua" ]; then
        die "no such script: $HERE/$s.lua"
    fi
done

case $VG_SCRIPTS in
    none | '') VG_LIST=() ;;
    all) VG_LIST=("${SCRIPTS[@]}") ;;
    *) read -r -a VG_LIST <<<"$VG_SCRIPTS" ;;
esac
for s in "${VG_LIST[@]}"; do
    [ -r "$HERE/$s.lua" ] || die "MILTER_TEST_VALGRIND: no such script: $s"
done
VALGRIND=
if [ ${#VG_LIST[@]} -gt 0 ]; then
    VALGRIND=$(command -v valgrind || true)
    [ -n "$VALGRIND" ] || die "valgrind not found (scripts/deps.sh installs it)"
fi

# A short path: unix socket names hold at most 107 bytes.
T=$(mktemp -d /tmp/dm-milter.XXXXXX)
LDAP_DIR=$T/ldap

# Stop whatever this run started: the daemons by the pid files they
# wrote (only when that pid still runs our binary), then slapd.
cleanup() {
    local rc=$? pidfile pid
    set +e
    for pidfile in "$T"/*/milter.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile" 2>/dev/null)
        case $pid in '' | *[!0-9]*) continue ;; esac
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$T/"; then
            kill -KILL "$pid" 2>/dev/null
        fi
    done
    "$SLAPD_SH" stop "$LDAP_DIR" >/dev/null 2>&1
    if [ "${MILTER_TEST_KEEP:-0}" = 1 ]; then
        echo "milter-test: kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$SLAPD_SH" start "$LDAP_DIR" "$FIXTURES/sjovik.ldif" >/dev/null
LDAP_URI=$(cat "$LDAP_DIR/uri")

# Absences around today, whatever the date (see tests/lib/dm.sh).
. "$REPO/tests/lib/dm.sh"
dm_absences_to_today "$LDAP_DIR" || die "cannot move the fixture's absences to today"

# write_conf DIR [LDAP_URI [SPILL_SIZE]]: a configuration of its own for
# one script; the database and the key ($DBDIR) are shared by all the
# scripts of a pass.  Each pass has its own: the valgrind pass sends the
# same messages again, which one database would take for duplicates
# ([store] duplicate_window) and owe no copies for.
DBDIR=$T/db
write_conf() {
    local d=$1 uri=${2:-$LDAP_URI} spill=${3:-1M}
    mkdir -p "$d"
    cat >"$d/milter.conf" <<EOF
# written by tests/milter/run.sh
[milter]
socket = unix:$d/milter.sock
pidfile = $d/milter.pid
spill_size = $spill
on_directory_error = tempfail
# mass.lua: where the client's address is read from (no script else
# connects from 192.0.2.0/24).
internal_networks = 192.0.2.0/24
[log]
file = $d/milter.log
level = debug
[site]
party_domains = parti-a.example, parti-b.example
communications_group = cn=kommunikationsenheten,ou=grupper,dc=sjovik,dc=test
intranet = https://intranat.sjovik.test/publicera
# Low enough for mass.lua to split a mass mailing in a few messages.
mass_window_recipients = 30
[ldap]
uri = $uri
base = dc=sjovik,dc=test
[store]
database = $DBDIR/diarie.db
spool = $d/spool
key_file = $DBDIR/hmac.key
[policy]
rules = $REPO/etc/rules.conf
templates = $REPO/etc/templates
[mime]
extractor = $REPO/build/diariemilter-extract
[delivery]
# Nothing is delivered: spooled copies and notices stay in spool/new.
sendmail = /bin/false
retry_min = 1h
EOF
}

write_conf "$T/setup"
"$CTL" cases import -c "$T/setup/milter.conf" "$FIXTURES/arenden.csv" >"$T/setup/import.log" 2>&1 ||
    { cat "$T/setup/import.log" >&2; die "cases import failed"; }

failures=0

# run_script NAME DIR [VALGRIND]: one miltertest run; 0 when it passed.
run_script() {
    local name=$1 d=$2 vg=${3:-} spill=1M
    local -a defs
    [ "$name" = large ] && spill=4k
    write_conf "$d" "$LDAP_URI" "$spill"
    defs=(-D "lib=$HERE/common.lua" -D "binary=$BIN" -D "conf=$d/milter.conf"
        -D "sock=$d/milter.sock" -D "spool=$d/spool" -D "log=$d/milter.log" -D "dir=$d"
        -D "slapd=$SLAPD_SH" -D "slapd_dir=$LDAP_DIR")
    if [ -n "$vg" ]; then
        defs+=(-D "valgrind=$vg" -D "vglog=$d/valgrind.log" -D "vgsupp=$HERE/valgrind.supp")
    fi
    local rc=0
    (cd "$d" && timeout "$SCRIPT_TIMEOUT" miltertest -s "$HERE/$name.lua" "${defs[@]}") \
        >"$d/miltertest.out" 2>&1 || rc=$?
    # miltertest waited for the daemon; make sure it is gone all the same.
    wait_daemon_gone "$d"
    if [ -n "$vg" ] && [ $rc -eq 0 ]; then
        if ! grep -q 'ERROR SUMMARY: 0 errors' "$d/valgrind.log" 2>/dev/null; then
            echo "valgrind: errors (see below)" >>"$d/miltertest.out"
            rc=1
        fi
    fi
    if [ $rc -eq 124 ]; then
        echo "timed out after ${SCRIPT_TIMEOUT}s" >>"$d/miltertest.out"
    fi
    return $rc
}

# The daemon removes its pid file as it exits.
wait_daemon_gone() {
    local d=$1 pid i
    [ -f "$d/milter.pid" ] || return 0
    pid=$(cat "$d/milter.pid" 2>/dev/null || true)
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    for ((i = 0; i < 100; i++)); do
        # Gone, or the pid now belongs to another program.
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$d/" || return 0
        sleep 0.1
    done
    echo "daemon $pid still running: killing it" >>"$d/miltertest.out"
    kill -KILL "$pid" 2>/dev/null || true
}

report() {
    local label=$1 d=$2 rc=$3
    if [ "$rc" -eq 0 ]; then
        echo "ok $label"
        if [ "${MILTER_TEST_VERBOSE:-0}" = 1 ]; then
            sed 's/^/    /' "$d/miltertest.out"
        fi
        return 0
    fi
    echo "FAIL $label"
    failures=$((failures + 1))
    {
        echo "--- miltertest output:"
        sed 's/^/    /' "$d/miltertest.out"
        if [ -f "$d/milter.log" ]; then
            echo "--- last lines of the daemon's log:"
            tail -n 30 "$d/milter.log" | sed 's/^/    /'
        fi
        if [ -f "$d/valgrind.log" ]; then
            echo "--- valgrind:"
            sed 's/^/    /' "$d/valgrind.log"
        fi
        echo "---"
    } >&2
}

for name in "${SCRIPTS[@]}"; do
    rc=0
    run_script "$name" "$T/$name" || rc=$?
    report "$name" "$T/$name" "$rc"
    # directory.lua stops and restarts slapd: make sure it runs again.
    if ! "$SLAPD_SH" status "$LDAP_DIR"; then
        "$SLAPD_SH" restart "$LDAP_DIR" >/dev/null
    fi
done

if [ ${#VG_LIST[@]} -gt 0 ]; then
    DBDIR=$T/db-vg
    write_conf "$T/setup-vg"
    "$CTL" cases import -c "$T/setup-vg/milter.conf" "$FIXTURES/arenden.csv" \
        >"$T/setup-vg/import.log" 2>&1 ||
        { cat "$T/setup-vg/import.log" >&2; die "cases import failed"; }
fi
for name in "${VG_LIST[@]}"; do
    rc=0
    run_script "$name" "$T/vg-$name" "$VALGRIND" || rc=$?
    report "$name (valgrind)" "$T/vg-$name" "$rc"
    if ! "$SLAPD_SH" status "$LDAP_DIR"; then
        "$SLAPD_SH" restart "$LDAP_DIR" >/dev/null
    fi
done

if [ $failures -gt 0 ]; then
    echo "milter-test: $failures failed"
    exit 1
fi
echo "milter-test: all passed"
