#!/usr/bin/env bash
# End to end, a hung directory (issue 12.9): slapd frozen with SIGSTOP
# (the kernel still accepts connections, nobody answers) while more SMTP
# sessions arrive at once than the daemon's LDAP pool has connections.
# Every session gets its answer (451 at DATA) within the bound the daemon
# documents: [ldap] timeout for a free connection, then connect_timeout
# and twice timeout for one probe of the server (after a timeout the
# server is left alone for a while, so the other lookups fail at once
# instead of queueing behind the pool); plus a little for Postfix and
# swaks.  Thawed, the directory answers again without a restart.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
SESSIONS=${SESSIONS:-16}
T=2 # [ldap] timeout and connect_timeout, seconds

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi
command -v swaks >/dev/null || { echo "skip: no swaks" >&2; exit 77; }

T_DIR=$(dm_tmpdir)
CONF=$T_DIR/diariemilter.conf
thaw() { [ -s "$T_DIR/ldap/slapd.pid" ] && kill -CONT "$(cat "$T_DIR/ldap/slapd.pid")" 2>/dev/null; }
trap 'thaw; dm_stack_stop "$T_DIR" "$CONF"' EXIT

dm_stack_start "$T_DIR" || { fail "slapd and postfix start"; exit 1; }
MPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
dm_write_conf "$CONF" "$T_DIR" "$(cat "$T_DIR/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
    "ldap.timeout=${T}s" "ldap.connect_timeout=${T}s" "ldap.pool_size=2" \
    "metrics.listen=127.0.0.1:$MPORT"
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }

# session N OUT: one message from a sender and to a recipient nobody
# asked the directory about yet (no cached answer hides the hang).
session() {
    local t0 t1
    t0=$(date +%s%N)
    swaks --server "127.0.0.1:$PF_PORT" --timeout 120 --from "avsandare$1@example.org" \
        --to "mottagare$1@sjovik.test" --header "Subject: Fråga $1" \
        --body "Hej, en fråga om BN 2026/45 ($1)." >"$2" 2>&1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000)) >"$2.ms"
}

session 0 "$T_DIR/warm"
check "the directory answers: a message is accepted" grep -Eq '^<-  250 .*queued as' "$T_DIR/warm"

kill -STOP "$(cat "$T_DIR/ldap/slapd.pid")"
bound=$(((T + T + 2 * T) * 1000 + 3000))
started=$(date +%s%N)
pids=()
for n in $(seq 1 "$SESSIONS"); do
    session "$n" "$T_DIR/s$n" &
    pids+=($!)
done
wait "${pids[@]}"
all_ms=$((($(date +%s%N) - started) / 1000000))
thaw

tempfailed=0 slow=0 max=0
for n in $(seq 1 "$SESSIONS"); do
    ms=$(cat "$T_DIR/s$n.ms")
    [ "$ms" -gt "$max" ] && max=$ms
    [ "$ms" -le "$bound" ] || slow=$((slow + 1))
    grep -Eq '^<\*\* +451 4\.3\.0 ' "$T_DIR/s$n" && tempfailed=$((tempfailed + 1))
done
echo "# $SESSIONS sessions on a pool of 2, slapd frozen: slowest answer $max ms, all in $all_ms ms (bound $bound ms)"
check "every session is answered 451 4.3.0 (the sender retries)" test "$tempfailed" -eq "$SESSIONS"
check "every answer within the bound ($bound ms)" test "$slow" -eq 0
check "the log says why: a timeout, or the server left alone after one" \
    grep -q "no answer within \[ldap\] timeout (${T}s)\|not asked: it did not answer in time" "$T_DIR/milter.log"
# Each 451 counted once, as the directory's (an outage) or a limit's (no
# pool connection free within [ldap] timeout), never the store's.
curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" >"$T_DIR/metrics"
tf() { awk -v s="diariemilter_tempfails_total{cause=\"$1\"}" '$1 == s { print $2 }' "$T_DIR/metrics"; }
echo "# tempfails counted: directory $(tf directory), limits $(tf limits), store $(tf store)"
check "the metrics count every 451 by its cause" \
    test "$(($(tf directory) + $(tf limits)))" -eq "$SESSIONS" -a "$(tf store)" -eq 0

# Thawed: after at most [ldap] timeout the server is probed again.
sleep $((T + 1))
session 99 "$T_DIR/after"
check "slapd thawed: a message is accepted again, no restart" \
    grep -Eq '^<-  250 .*queued as' "$T_DIR/after"

dm_summary
