#!/usr/bin/env bash
# What root does before it drops to [milter] user (issue 12, items 3 and
# 10), with the daemon started as root and user = nobody:
#   a. a symbolic link planted as the pid file, in a directory the user
#      can write, is never followed: the file it names keeps its content,
#      the pid file is a file of its own;
#   b. a symbolic link planted as the [log] file (to a file, or dangling),
#      or a hard link there, is never followed: the daemon refuses to
#      start, naming the file, and writes nothing through it;
#   c. spool, database, key and pid file under directories that do not
#      exist yet: the missing parents are made so that the user can reach
#      the leaf handed to it, and the daemon starts;
#   d. an existing parent the user cannot pass: the daemon refuses,
#      naming that parent;
#   e. rules or templates that cannot be read: the check says so on the
#      terminal (-n and a start alike, 78) before root makes or opens
#      anything (no socket, spool or pid file directory).
# Needs root; no directory server (the daemon asks it nothing at start).
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
BIN=$DM_BUILD/diariemilter
U=nobody

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the privilege test starts the daemon as root" >&2
    exit 77
fi
id "$U" >/dev/null 2>&1 || { echo "skip: no user $U" >&2; exit 77; }

T=$(dm_tmpdir)
CONFS=()
cleanup() {
    local c
    for c in "${CONFS[@]}"; do dm_daemon_stop "$c" >/dev/null 2>&1; done
    if [ "$DM_FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

# conf NAME [SECTION.KEY=VALUE ...]: a configuration in T/NAME.conf with
# everything under T/NAME unless overridden.
conf() {
    local name=$1 d=$T/$1
    shift
    mkdir -p "$d/log"
    dm_write_conf "$T/$name.conf" "$d" "ldap://127.0.0.1:1/" "milter.user=$U" \
        "milter.socket_group=" "milter.socket=unix:$d/sock/milter.sock" \
        "milter.pidfile=$d/run/milter.pid" "log.file=$d/log/milter.log" "$@"
    CONFS+=("$T/$name.conf")
    printf '%s\n' "$T/$name.conf"
}

# run_refused CONF: start in the foreground; sets rc and out.
run_refused() {
    out=$(timeout 20 "$BIN" -f -c "$1" 2>&1)
    rc=$?
}

victim() { printf 'precious\n' >"$T/$1"; chmod 0644 "$T/$1"; }
intact() { [ "$(cat "$T/$1")" = precious ]; }

echo "# a. a symbolic link planted as the pid file"
victim victim-pid
c=$(conf a)
mkdir -p "$T/a/run" "$T/a/log"
chown "$U" "$T/a/run" "$T/a/log"
ln -s "$T/victim-pid" "$T/a/run/milter.pid"
if dm_daemon_start "$c" 2>"$T/a.err"; then
    ok "the daemon starts"
    check "the file the link named keeps its content" intact victim-pid
    check "the pid file is a file of its own, not the link" \
        test -f "$T/a/run/milter.pid" -a ! -L "$T/a/run/milter.pid"
    check "... holding the daemon's pid" \
        test "$(cat "$T/a/run/milter.pid")" = "$(pgrep -f "diariemilter -f -c $c" | head -1)"
    check "the daemon runs as $U" \
        test "$(ps -o user= -p "$(cat "$T/a/run/milter.pid")" | tr -d ' ')" = "$U"
    dm_daemon_stop "$c"
else
    fail "the daemon does not start with a link planted as its pid file"
    cat "$T/a.err" "$T/a/daemon.out" 2>/dev/null
    check "the file the link named keeps its content" intact victim-pid
fi

echo "# b. links planted as the log file"
for kind in symlink dangling hardlink; do
    victim "victim-log-$kind"
    c=$(conf "b-$kind")
    mkdir -p "$T/b-$kind/log"
    chown "$U" "$T/b-$kind/log"
    case $kind in
    symlink) ln -s "$T/victim-log-$kind" "$T/b-$kind/log/milter.log" ;;
    dangling) ln -s "$T/made-by-root-$kind" "$T/b-$kind/log/milter.log" ;;
    hardlink) ln "$T/victim-log-$kind" "$T/b-$kind/log/milter.log" ;;
    esac
    run_refused "$c"
    check "$kind: the daemon refuses to start (exit $rc)" test "$rc" -eq 73
    check "$kind: and says why, naming the file" \
        grep -q "log\] file $T/b-$kind/log/milter.log" <<<"$out"
    check "$kind: nothing written through it" intact "victim-log-$kind"
    check "$kind: nothing made through it" test ! -e "$T/made-by-root-$kind"
    [ "$DM_FAILS" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'
done

echo "# c. missing parent directories"
c=$(conf c "store.spool=$T/c/x/y/spool" "store.database=$T/c/p/q/db/diarie.db" \
    "store.key_file=$T/c/p/q/db/hmac.key" "milter.pidfile=$T/c/r/s/run/milter.pid")
# (dm_daemon_start would write its output beside the pid file: missing.)
"$BIN" -f -c "$c" >"$T/c.out" 2>&1 &
cpid=$!
for _ in $(seq 1 100); do
    [ -S "$T/c/sock/milter.sock" ] && [ -s "$T/c/r/s/run/milter.pid" ] && break
    sleep 0.1
done
sleep 1 # past its checks as the user
if [ -s "$T/c/r/s/run/milter.pid" ] && ! dm_pid_gone "$cpid"; then
    ok "the daemon starts with spool, database and pid file under missing directories"
    check "the spool is $U's" test "$(stat -c %U "$T/c/x/y/spool")" = "$U"
    check "the key was made by $U" test "$(stat -c %U "$T/c/p/q/db/hmac.key")" = "$U"
    check "the parents made are root's, mode 0755" \
        test "$(stat -c %U:%a "$T/c/x" "$T/c/x/y" "$T/c/p/q" "$T/c/r/s" | sort -u)" = "root:755"
    dm_daemon_stop "$c"
else
    fail "the daemon does not start with missing parent directories"
    sed 's/^/#   /' "$T/c.out" "$T/c/log/milter.log" 2>/dev/null | tail -5
fi

echo "# d. an existing parent the user cannot pass"
mkdir -m 0700 "$T/closed"
c=$(conf d "store.spool=$T/closed/spool")
run_refused "$c"
check "the daemon refuses to start (exit $rc)" test "$rc" -eq 73
check "and names the parent" grep -q "its parent $T/closed is not searchable" \
    <<<"$out$(cat "$T/d/log/milter.log" 2>/dev/null)"
[ "$DM_FAILS" -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /'

echo "# e. rules or templates that cannot be read"
for what in rules templates; do
    c=$(conf "e-$what" "policy.$what=$T/e-$what/no-such-$what")
    out=$("$BIN" -n -c "$c" 2>&1)
    rc=$?
    check "-n: $what missing: exit 78 ($rc)" test "$rc" -eq 78
    check "... naming it" grep -q "no-such-$what" <<<"$out"
    run_refused "$c"
    check "a start: $what missing: exit 78 ($rc)" test "$rc" -eq 78
    check "... naming it on the terminal" grep -q "no-such-$what" <<<"$out"
    check "... before anything was made" \
        test ! -e "$T/e-$what/sock" -a ! -e "$T/e-$what/run" -a ! -e "$T/e-$what/spool"
done

dm_summary
