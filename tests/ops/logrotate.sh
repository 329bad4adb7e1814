#!/usr/bin/env bash
# tests/ops/logrotate.sh: the [log] file after rotation (issue 18), with the
# daemon started as root and running as nobody:
#   a. in a directory the daemon made for its user: the shipped logrotate
#      snippet (packaging/logrotate/diariemilter, its paths pointed here)
#      moves the file and sends SIGUSR1; new lines reach the new file,
#      which belongs to nobody, none reach the old one; a rotation while
#      the configuration is broken reopens the log too;
#   b. in root's directory: the daemon warns at start; logrotate's
#      "create" makes the new file for nobody, and the daemon writes there;
#   c. in root's directory without "create": the daemon cannot make the
#      file; it says so and its lines go to standard error.
# Needs root and logrotate; no directory server (nothing asks it).
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
U=nobody
G=$(id -gn "$U" 2>/dev/null)

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the rotation test starts the daemon as root" >&2
    exit 77
fi
id "$U" >/dev/null 2>&1 || { echo "skip: no user $U" >&2; exit 77; }
LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)
[ -x "$LOGROTATE" ] || { echo "tests/ops/logrotate.sh: logrotate missing (scripts/deps.sh)" >&2; exit 1; }

T=$(dm_tmpdir)
CONFS=()
cleanup() {
    local c
    for c in "${CONFS[@]}"; do dm_daemon_stop "$c" >/dev/null 2>&1; done
    if [ "$DM_FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# conf NAME LOGFILE: a configuration in T/NAME.conf, running as U.
conf() {
    local name=$1 d=$T/$1
    mkdir -p "$d/run"
    dm_write_conf "$T/$name.conf" "$d" "ldap://127.0.0.1:1/" "milter.user=$U" \
        "milter.socket_group=" "milter.socket=unix:$d/sock/milter.sock" \
        "milter.pidfile=$d/run/milter.pid" "log.file=$2"
    CONFS+=("$T/$name.conf")
    printf '%s\n' "$T/$name.conf"
}

# rotate NAME LOGFILE [create]: the shipped snippet with its paths pointed
# at this test (and without "create" unless asked), run by logrotate -f.
rotate() {
    local name=$1 log=$2 create=${3:-}
    sed -e "s|/var/log/diariemilter/diariemilter.log|$log|" \
        -e "s|/run/diariemilter/diariemilter.pid|$T/$name/run/milter.pid|g" \
        -e "s|create 0640 diariemilter adm|create 0640 $U $G|" \
        -e '/^ *compress$/d' -e '/^ *delaycompress$/d' -e '/^ *notifempty$/d' \
        "$DM_REPO/packaging/logrotate/diariemilter" >"$T/$name.logrotate"
    [ -n "$create" ] || sed -i '/^ *create /d' "$T/$name.logrotate"
    "$LOGROTATE" -f -s "$T/$name.state" "$T/$name.logrotate" >>"$T/$name.rotate.log" 2>&1
}

# wait_for FILE PATTERN: up to 10 s for PATTERN in FILE.
wait_for() {
    local i
    for i in $(seq 1 100); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

owner() { stat -c %U "$1"; }

echo "# a. a directory of the daemon's own, made at start"
log=$T/a/logs/diariemilter.log
c=$(conf a "$log")
if dm_daemon_start "$c"; then
    check "the daemon made the log directory for $U" test "$(owner "$T/a/logs")" = "$U"
    check "the log file is $U's" test "$(owner "$log")" = "$U"
    check "... and has the start line" wait_for "$log" "diariemilter"
    check "logrotate with the shipped snippet succeeds" rotate a "$log"
    check "the old file was moved to .1" test -s "$log.1"
    check "after SIGUSR1 the daemon made a new file" wait_for "$log" "configuration reloaded"
    check "... which is $U's" test "$(owner "$log")" = "$U"
    check "... and the old file got no new line" \
        sh -c "! grep -q 'configuration reloaded' '$log.1'"
    # A rotation while the configuration is broken: the reload is refused,
    # the log is reopened all the same.
    cp "$c" "$c.good"
    printf '[milter]\nbacklog = 5\nbacklog = 6\n' >>"$c"
    check "a second rotation, with a broken configuration" rotate a "$log"
    check "the refusal is in the new file" wait_for "$log" "reload failed"
    check "... and not in the one rotated away" sh -c "! grep -q 'reload failed' '$log.1'"
    cp "$c.good" "$c"
    dm_daemon_stop "$c"
else
    fail "the daemon does not start (a)"
    cat "$T/a/run/daemon.out" 2>/dev/null
fi

echo "# b. root's directory, logrotate creates the file"
mkdir -p "$T/b/log"
chmod 0755 "$T/b/log"
log=$T/b/log/diariemilter.log
c=$(conf b "$log")
if dm_daemon_start "$c"; then
    check "the daemon warns that it could not make the file again" \
        wait_for "$log" "is not writable by $U"
    check "logrotate with create succeeds" rotate b "$log" create
    check "the new file is $U's (logrotate made it)" test "$(owner "$log")" = "$U"
    check "after SIGUSR1 the daemon writes to it" wait_for "$log" "configuration reloaded"
    dm_daemon_stop "$c"
else
    fail "the daemon does not start (b)"
    cat "$T/b/run/daemon.out" 2>/dev/null
fi

echo "# c. root's directory, nobody makes the file"
mkdir -p "$T/c/log"
chmod 0755 "$T/c/log"
log=$T/c/log/diariemilter.log
c=$(conf c "$log")
if dm_daemon_start "$c"; then
    check "logrotate without create succeeds" rotate c "$log"
    check "the daemon says it cannot reopen the file, on standard error" \
        wait_for "$T/c/run/daemon.out" "cannot reopen it as $U"
    check "... and goes on logging there" wait_for "$T/c/run/daemon.out" "configuration reloaded"
    check "no file was made" test ! -e "$log"
    dm_daemon_stop "$c"
else
    fail "the daemon does not start (c)"
    cat "$T/c/run/daemon.out" 2>/dev/null
fi

dm_summary
