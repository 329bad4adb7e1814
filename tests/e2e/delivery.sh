#!/usr/bin/env bash
# End to end, the delivery and journal guarantees (issue 6): swaks -> a
# private Postfix (diariemilter as smtpd_milters and non_smtpd_milters)
# -> smtp-sink, with a private slapd holding the fixture directory.
#
#   a. a copy that cannot be spooled (the spool's tmp/ or new/ not a
#      directory) tempfails the message: 451, nothing accepted;
#   b. the delivery target down, then back, each copy delivered once:
#      with sendmail(1) (Postfix's queue holds them meanwhile) and with
#      [delivery] method = smtp straight to the sink (our spool holds them
#      and retries); a 5xx refusal buries a copy in dead/, "diariectl queue
#      revive" brings it back;
#   c. the daemon killed with SIGKILL every 1-3 s and restarted while
#      swaks sends KILL_N messages, each owing one registrator copy:
#      every accepted message's copy is in the sink exactly once; every
#      message not accepted was tempfailed (4xx) and has at most one copy;
#      sent again, every message ends with exactly one copy (the duplicate
#      check stops a second); no copy twice;
#   c2. the same message (Message-ID and body) through two MX hosts at
#      once, and again later: accepted each time, one copy, the others
#      journalled as duplicates; another body under the same Message-ID
#      is another message;
#   b4. a sendmail slower than [delivery] timeout that still succeeds:
#      waited for, the copy delivered exactly once (issue 12.4);
#   c3. the daemon killed the moment a copy is renamed into the spool
#      (inotify), so that kills land inside the commit: the same checks;
#   c4. as c, with [delivery] method = smtp straight to the sink:
#      SMTP_KILL_N (default 120) messages;
#   d. "diariectl journal verify" is clean after all that, and after
#      "journal prune" of whole classes; it reports a row edited or
#      removed with sqlite3.
#
# Environment: KILL_N (default 300) messages in c, KILL_SENDERS (3)
# parallel senders, each pausing KILL_PACE (0.35) s between messages so
# that the sending lasts long enough for a dozen kills or more; KEEP=1
# keeps the temporary directory.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF="$DM_REPO/tests/lib/postfix.sh"
CTL="$DM_BUILD/diariectl"
KILL_N=${KILL_N:-300}
KILL_SENDERS=${KILL_SENDERS:-3}
KILL_PACE=${KILL_PACE:-0.35}

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi
for tool in postfix swaks smtp-sink sqlite3 python3; do
    command -v "$tool" >/dev/null || { echo "skip: no $tool" >&2; exit 77; }
done

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
REFUSER_PID=
cleanup() {
    [ -n "$REFUSER_PID" ] && kill "$REFUSER_PID" 2>/dev/null
    dm_daemon_stop "$CONF" >/dev/null 2>&1
    "$PF" stop "$T/pf" >/dev/null 2>&1
    "$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1
    if [ "$DM_FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
trap cleanup EXIT

"$DM_REPO/tests/lib/slapd.sh" start "$T/ldap" >/dev/null || { fail "slapd start"; exit 1; }
"$PF" start "$T/pf" --milter "unix:$T/milter.sock" >/dev/null 2>"$T/pf-start.log" ||
    { fail "postfix start"; cat "$T/pf-start.log"; exit 1; }
. "$T/pf/env"
LDAP_URI=$(cat "$T/ldap/uri")

# write_conf [SECTION.KEY=VALUE ...]: the daemon's configuration (method =
# smtp needs a full [delivery] sender; smtp-sink offers no STARTTLS).
write_conf() {
    dm_write_conf "$CONF" "$T" "$LDAP_URI" "delivery.sendmail=$PF_SENDMAIL" \
        "delivery.retry_min=1s" "delivery.retry_max=3s" \
        "delivery.sender=postmaster@sjovik.test" "delivery.smtp_tls=none" "$@"
}
write_conf
"$CTL" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
    { fail "cases import"; exit 1; }
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }
SPOOL=$T/spool
DB=$T/db/diarie.db
SOCK=$T/milter.sock

# A citizen's message to Erik citing BN 2026/45: owes exactly one copy,
# to registrator@sjovik.test.  msg TAG > file
msg() {
    cat <<EOF
Date: $(date -R)
From: Maria Karlsson <maria.karlsson@example.org>
To: Erik Sjoberg <erik.sjoberg@sjovik.test>
Subject: Komplettering BN 2026/45 - $1
Message-ID: <$1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hej Erik,

Här kommer den reviderade fasadritningen för ärendet BN 2026/45.
Takvinkeln på norra fasaden är nu 27 grader.  ($1)

Med vänliga hälsningar
Maria Karlsson
EOF
}

# send TAG OUTFILE: one message; swaks' whole dialogue in OUTFILE.
send() {
    msg "$1" >"$T/msg/$1.eml"
    swaks --server "127.0.0.1:$PF_PORT" --timeout 60 --from maria.karlsson@example.org \
        --to erik.sjoberg@sjovik.test --data "@$T/msg/$1.eml" >"$2" 2>&1
}
mkdir -p "$T/msg" "$T/out"

# The final verdict of a swaks dialogue: accepted (250 to the data),
# tempfail (a 4xx anywhere, nothing accepted), or other.
verdict_of() {
    if grep -Eq '^<-  250 .*queued as' "$1"; then
        echo accepted
    elif grep -Eq '^<\*\* +4[0-9][0-9]' "$1" && ! grep -Eq '^<\*\* +5[0-9][0-9]' "$1"; then
        echo tempfail
    else
        echo other
    fi
}

# Copies in the sink, one line per copy: the tag of the message it copies.
# (A copy: to registrator@sjovik.test; the original it attaches names
# its Message-ID.)
copy_tags() {
    local f
    for f in $("$PF" sink-files "$T/pf"); do
        grep -q '^X-Rcpt-Args: <registrator@sjovik.test>' "$f" || continue
        grep -ao "<$1[0-9a-z-]*@example.org>" "$f" | sort -u | sed 's/^<//; s/@example.org>$//'
    done
}
originals_to_erik() {
    local f
    for f in $("$PF" sink-files "$T/pf"); do
        grep -q '^X-Rcpt-Args: <erik.sjoberg@sjovik.test>' "$f" || continue
        grep -ao "^Message-ID: <$1[0-9a-z-]*@example.org>" "$f" | sed 's/^Message-ID: <//; s/@example.org>$//'
    done
}

wait_originals() {
    local i
    for i in $(seq 1 30); do
        [ "$(originals_to_erik "$1" | wc -l)" -ge "$2" ] && return 0
        sleep 1
    done
    return 1
}

# Our spool empty (nothing waiting or being delivered)?
spool_empty() {
    [ -z "$(find "$SPOOL/new" "$SPOOL/cur" -type f 2>/dev/null)" ]
}
wait_spool_empty() {
    local i
    for i in $(seq 1 "${1:-60}"); do
        spool_empty && return 0
        sleep 1
    done
    return 1
}
spool_count() { find "$SPOOL/$1" -type f 2>/dev/null | wc -l; }

# Wait until the sink holds at least N copies with this tag prefix.
wait_copies() {
    local prefix=$1 want=$2 secs=${3:-60} i
    for i in $(seq 1 "$secs"); do
        [ "$(copy_tags "$prefix" | wc -l)" -ge "$want" ] && return 0
        sleep 1
    done
    return 1
}

reload_daemon() {
    local before
    before=$(grep -c 'configuration reloaded' "$T/milter.log" 2>/dev/null)
    kill -USR1 "$(cat "$T/milter.pid")"
    for _ in $(seq 1 50); do
        [ "$(grep -c 'configuration reloaded' "$T/milter.log")" -gt "$before" ] && return 0
        sleep 0.1
    done
    return 1
}

echo "# a. a copy that cannot be spooled tempfails the message"
for sub in tmp new; do
    journal_before=$(sqlite3 "$DB" 'SELECT count(*) FROM journal')
    sink_before=$("$PF" sink-files "$T/pf" | wc -l)
    rm -rf "${SPOOL:?}/$sub"
    echo "not a directory" >"$SPOOL/$sub"
    send "nospool-$sub" "$T/out/nospool-$sub"
    check "$sub/ not a directory: the message is tempfailed (451)" \
        grep -Eq '^<\*\* +451 ' "$T/out/nospool-$sub"
    check "$sub/ not a directory: nothing accepted" \
        test "$(verdict_of "$T/out/nospool-$sub")" = tempfail
    check "$sub/ not a directory: no journal row" \
        test "$(sqlite3 "$DB" 'SELECT count(*) FROM journal')" -eq "$journal_before"
    rm -f "$SPOOL/$sub"
    mkdir -m 0750 "$SPOOL/$sub"
    sleep 2
    check "$sub/ not a directory: nothing reached the sink" \
        test "$("$PF" sink-files "$T/pf" | wc -l)" -eq "$sink_before"
done
send nospool-again "$T/out/nospool-again"
check "the spool mended: the same kind of message is accepted" \
    test "$(verdict_of "$T/out/nospool-again")" = accepted
wait_copies nospool-again 1 30
check "... and its copy delivered once" test "$(copy_tags nospool-again | wc -l)" -eq 1

echo "# b1. the delivery target down, then back: sendmail(1)"
"$PF" sink-stop "$T/pf"
for i in 1 2 3 4 5; do
    send "down-sm-$i" "$T/out/down-sm-$i"
done
n=0
for i in 1 2 3 4 5; do
    [ "$(verdict_of "$T/out/down-sm-$i")" = accepted ] && n=$((n + 1))
done
check "sink down: 5 messages accepted" test "$n" -eq 5
check "sink down: our spool hands every copy to sendmail (Postfix's queue holds them)" \
    wait_spool_empty 30
"$PF" sink-start "$T/pf"
"$PF" flush "$T/pf" >/dev/null 2>&1
wait_copies down-sm- 5 60
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
sleep 1
check "sink back: each of the 5 copies delivered exactly once" \
    test "$(copy_tags down-sm- | sort | uniq -c | awk '$1 == 1' | wc -l)" -eq 5
check "sink back: no copy twice" test "$(copy_tags down-sm- | wc -l)" -eq 5
check "sink back: each original delivered once" test "$(originals_to_erik down-sm- | wc -l)" -eq 5

echo "# b2. the delivery target down, then back: SMTP, our spool retries"
write_conf "delivery.method=smtp" "delivery.smtp_host=127.0.0.1" \
    "delivery.smtp_port=$PF_SINK_PORT" "delivery.smtp_timeout=5s"
check "reload to [delivery] method = smtp" reload_daemon
"$PF" sink-stop "$T/pf"
for i in 1 2 3 4 5; do
    send "down-smtp-$i" "$T/out/down-smtp-$i"
done
n=0
for i in 1 2 3 4 5; do
    [ "$(verdict_of "$T/out/down-smtp-$i")" = accepted ] && n=$((n + 1))
done
check "sink down: 5 messages accepted" test "$n" -eq 5
sleep 4
check "sink down: the 5 copies wait in our spool" \
    test "$(($(spool_count new) + $(spool_count cur)))" -eq 5
"$CTL" queue list -c "$CONF" >"$T/queue-down.txt" 2>&1
check "diariectl queue list shows them waiting, with the reason" \
    grep -q '5 waiting, 0 being delivered, 0 dead' "$T/queue-down.txt"
check "... the reason: the sink refuses connections" grep -qi 'cannot connect' "$T/queue-down.txt"
check "... tried more than once (retries with backoff)" \
    grep -Eq 'attempts ([2-9]|[1-9][0-9])' "$T/queue-down.txt"
item=$(awk '$1 == "new" { print $2; exit }' "$T/queue-down.txt")
"$CTL" queue retry -c "$CONF" "$item" >"$T/retry-down.txt" 2>&1
rc=$?
# The worker may hold it at that moment (75 too) or have just deferred it.
check "diariectl queue retry while the sink is down: not delivered (75)" test "$rc" -eq 75
"$PF" sink-start "$T/pf"
check "sink back: our spool drains by itself" wait_spool_empty 30
"$PF" flush "$T/pf" >/dev/null 2>&1
wait_copies down-smtp- 5 30
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
check "sink back: each of the 5 copies delivered exactly once" \
    test "$(copy_tags down-smtp- | sort | uniq -c | awk '$1 == 1' | wc -l)" -eq 5
check "sink back: no copy twice" test "$(copy_tags down-smtp- | wc -l)" -eq 5

echo "# b3. a server that refuses a copy for good (5xx): dead/, then revive"
REFUSE_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
smtp-sink -u postfix -f rcpt -4 "127.0.0.1:$REFUSE_PORT" 16 >"$T/refuser.log" 2>&1 &
REFUSER_PID=$!
sleep 0.5
write_conf "delivery.method=smtp" "delivery.smtp_host=127.0.0.1" \
    "delivery.smtp_port=$REFUSE_PORT" "delivery.smtp_timeout=5s"
reload_daemon
send refused-1 "$T/out/refused-1"
for _ in $(seq 1 30); do
    [ "$(spool_count dead)" -ge 1 ] && break
    sleep 0.5
done
check "a 5xx to RCPT TO: the copy is in dead/ at once" test "$(spool_count dead)" -eq 1
check "... and the log says GAVE UP, with the server's words" \
    grep -q 'GAVE UP delivering copy to registrator@sjovik.test.*permanent failure.*RCPT TO: 5' \
    "$T/milter.log"
"$CTL" queue list --dead -c "$CONF" >"$T/queue-dead.txt" 2>&1
check "diariectl queue list --dead shows it (exit 1)" test $? -eq 1
dead=$(awk '$1 == "dead" { print $2; exit }' "$T/queue-dead.txt")
send refused-2 "$T/out/refused-2"
for _ in $(seq 1 30); do
    [ "$(spool_count dead)" -ge 2 ] && break
    sleep 0.5
done
dead2=$(find "$SPOOL/dead" -type f ! -name "$dead" -printf '%f\n' | head -1)
"$CTL" queue delete -c "$CONF" "$dead2" >"$T/delete.txt" 2>&1
check "diariectl queue delete removes a dead item" test $? -eq 0 -a "$(spool_count dead)" -eq 1
check "... and says so in the log" grep -q "$dead2 .*DELETED from the spool's dead/" "$T/milter.log"
write_conf "delivery.method=smtp" "delivery.smtp_host=127.0.0.1" \
    "delivery.smtp_port=$PF_SINK_PORT" "delivery.smtp_timeout=5s"
reload_daemon
"$CTL" queue revive -c "$CONF" "$dead" >"$T/revive.txt" 2>&1
check "diariectl queue revive brings it back" test $? -eq 0
check "... and it is delivered" wait_copies refused-1 1 30
check "... once" test "$(copy_tags refused-1 | wc -l)" -eq 1
kill "$REFUSER_PID" 2>/dev/null
REFUSER_PID=

echo "# b4. a sendmail slower than [delivery] timeout that still succeeds"
# It takes 3 s, the timeout is 2 s: waited for (up to twice the timeout),
# not killed and tried again while it goes on queueing the copy.
printf '#!/bin/sh\nsleep 3\nexec %s "$@"\n' "$PF_SENDMAIL" >"$T/slow-sendmail"
chmod 0755 "$T/slow-sendmail"
write_conf "delivery.sendmail=$T/slow-sendmail" "delivery.timeout=2s"
reload_daemon
send slow-1 "$T/out/slow-1"
check "accepted" test "$(verdict_of "$T/out/slow-1")" = accepted
check "its copy is delivered" wait_copies slow-1 1 30
# Long enough for the old cycle (kill at 2 s, back in new/, again after
# retry_min) to have sent it two or three times more.
sleep 8
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
check "... exactly once" test "$(copy_tags slow-1 | wc -l)" -eq 1
check "... and the log says the hand-off was slow" \
    grep -q 'delivered copy to registrator@sjovik.test .*, but slow: ' "$T/milter.log"
check "our spool is empty: nothing waits, nothing dead" \
    test "$(($(spool_count new) + $(spool_count cur) + $(spool_count dead)))" -eq 0

# Back to sendmail(1) for the kill test: the copies go through Postfix
# (pickup, cleanup, the milter again) as in production.
write_conf
reload_daemon

echo "# c. SIGKILL every 1-3 s while $KILL_N messages arrive"
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
kills=0
sender() { # sender K: the messages N with N % KILL_SENDERS == K
    local k=$1 n
    for n in $(seq 1 "$KILL_N"); do
        [ $((n % KILL_SENDERS)) -eq "$k" ] || continue
        send "kill-$n" "$T/out/kill-$n"
        sleep "$KILL_PACE"
    done
}
# bash reports every daemon it started and saw killed: not here.
exec 3>&2 2>>"$T/kill-noise.log"
pids=()
for k in $(seq 0 $((KILL_SENDERS - 1))); do
    sender "$k" &
    pids+=($!)
done
senders_running() {
    local p
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null && return 0
    done
    return 1
}
started=$SECONDS
while senders_running; do
    sleep "$(awk 'BEGIN { srand(); printf "%.1f", 1 + rand() * 2 }')"
    senders_running || break
    pid=$(cat "$T/milter.pid" 2>/dev/null)
    [ -n "$pid" ] || continue
    kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
    dm_wait_gone "$pid"
    rm -f "$T/milter.pid"
    dm_daemon_start "$CONF" >/dev/null 2>&1 || { fail "restart after SIGKILL $kills"; break; }
done
wait "${pids[@]}"
exec 2>&3 3>&-
# The last start may have been cut short by nothing: make sure it runs.
[ -s "$T/milter.pid" ] && ! dm_pid_gone "$(cat "$T/milter.pid")" ||
    { rm -f "$T/milter.pid"; dm_daemon_start "$CONF"; }
echo "# $kills kills in $((SECONDS - started)) s"
check "the daemon was killed at least 10 times" test "$kills" -ge 10

accepted=0 tempfailed=0 other=0
: >"$T/accepted.txt"
: >"$T/tempfailed.txt"
for n in $(seq 1 "$KILL_N"); do
    case $(verdict_of "$T/out/kill-$n") in
    accepted) accepted=$((accepted + 1)); echo "kill-$n" >>"$T/accepted.txt" ;;
    tempfail) tempfailed=$((tempfailed + 1)); echo "kill-$n" >>"$T/tempfailed.txt" ;;
    *) other=$((other + 1)); echo "kill-$n: neither accepted nor tempfailed:"; tail -3 "$T/out/kill-$n" ;;
    esac
done
echo "# $accepted accepted, $tempfailed tempfailed, $other other"
check "every message was accepted (250) or tempfailed (4xx)" test "$other" -eq 0
check "most were accepted" test "$accepted" -ge $((KILL_N / 2))

# Drain: our spool, Postfix's maildrop (pickup retries what the milter
# could not take while it was dead), Postfix's queue.
postkick -c "$PF_CONFIG" public pickup W 2>/dev/null
check "after the kills our spool drains" wait_spool_empty 120
for _ in $(seq 1 12); do
    postkick -c "$PF_CONFIG" public pickup W 2>/dev/null
    "$PF" flush "$T/pf" >/dev/null 2>&1
    "$PF" wait-queue "$T/pf" 10 >/dev/null 2>&1 && break
done
check "... and Postfix's queue drains" "$PF" wait-queue "$T/pf" 60
sleep 2
copy_tags kill- | sort | uniq -c | awk '{ print $2, $1 }' >"$T/copies.txt"
count_of() { awk -v t="$1" '$1 == t { print $2; found = 1 } END { if (!found) print 0 }' "$T/copies.txt"; }
bad=0
while read -r tag; do
    c=$(count_of "$tag")
    [ "$c" -eq 1 ] || { bad=$((bad + 1)); echo "# $tag accepted, $c copies"; }
done <"$T/accepted.txt"
check "every accepted message's copy is in the sink exactly once ($accepted)" test "$bad" -eq 0
committed_unaccepted=0
bad=0
while read -r tag; do
    c=$(count_of "$tag")
    [ "$c" -le 1 ] || { bad=$((bad + 1)); echo "# $tag tempfailed, $c copies"; }
    [ "$c" -eq 1 ] && committed_unaccepted=$((committed_unaccepted + 1))
done <"$T/tempfailed.txt"
check "every tempfailed message has at most one copy" test "$bad" -eq 0
echo "# $committed_unaccepted tempfailed messages had been committed (their copy went)"
check "no copy appears twice" test "$(awk '$2 > 1' "$T/copies.txt" | wc -l)" -eq 0
check "every accepted original reached Erik exactly once" \
    test "$(originals_to_erik kill- | sort | uniq -d | wc -l)" -eq 0

# The senders retry what was tempfailed: afterwards every message has
# exactly one copy; those committed before the kill get no second one.
journal_dups_before=$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE reasons LIKE '%\"duplicate\"%'")
resent=0 resent_ok=0
while read -r tag; do
    send "$tag" "$T/out/$tag.again"
    resent=$((resent + 1))
    [ "$(verdict_of "$T/out/$tag.again")" = accepted ] && resent_ok=$((resent_ok + 1))
done <"$T/tempfailed.txt"
check "the $resent tempfailed messages, sent again, are accepted" test "$resent_ok" -eq "$resent"
wait_spool_empty 60
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
wait_copies kill- "$KILL_N" 60
sleep 2
copy_tags kill- | sort | uniq -c | awk '{ print $2, $1 }' >"$T/copies.txt"
check "now every one of the $KILL_N messages has exactly one copy" \
    test "$(awk '$2 == 1' "$T/copies.txt" | wc -l)" -eq "$KILL_N"
check "and none has two" test "$(awk '$2 > 1' "$T/copies.txt" | wc -l)" -eq 0
journal_dups=$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE reasons LIKE '%\"duplicate\"%'")
check "the $committed_unaccepted sent again after their commit are journalled as duplicates" \
    test $((journal_dups - journal_dups_before)) -eq "$committed_unaccepted"
grep -c 'removed from the spool: its message was never accepted' "$T/milter.log" |
    sed 's/^/# spooled copies of messages never accepted, removed at restart: /'

echo "# c2. the same message again: through two MX hosts at once, and later"
# The same message (Message-ID and body) as two MX hosts would pass it on:
# each adds its own Received line, so only the body is the same.
dup_send() { # dup_send MX OUTFILE
    { printf 'Received: from %s.sjovik.test (%s.sjovik.test [192.0.2.%s])\r\n\tby mx; %s\r\n' \
        "$1" "$1" "${1#mx}" "$(date -R)"; cat "$T/msg/dup-1.eml"; } >"$T/msg/dup-1.$1.eml"
    swaks --server "127.0.0.1:$PF_PORT" --timeout 60 --from maria.karlsson@example.org \
        --to erik.sjoberg@sjovik.test --data "@$T/msg/dup-1.$1.eml" >"$2" 2>&1
}
msg dup-1 >"$T/msg/dup-1.eml"
dup_send mx1 "$T/out/dup-1.mx1" &
p1=$!
dup_send mx2 "$T/out/dup-1.mx2" &
wait "$p1" $!
check "the same message through two MX hosts at once: both accepted" \
    test "$(verdict_of "$T/out/dup-1.mx1")$(verdict_of "$T/out/dup-1.mx2")" = acceptedaccepted
dup_send mx3 "$T/out/dup-1.mx3"
check "... and once more later: accepted" test "$(verdict_of "$T/out/dup-1.mx3")" = accepted
wait_spool_empty 30
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
check "... Erik has all three" wait_originals dup-1 3
sleep 2
check "... one copy only, to the registrator" test "$(copy_tags dup-1 | wc -l)" -eq 1
check "... the other two journalled as duplicates of the first" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE message_id = 'dup-1@example.org' AND reasons LIKE '%\"duplicate\"%' AND actions NOT LIKE '%copy%'")" -eq 2
check "... the log says so" test "$(grep -c 'copies=0 .*duplicate_of=' "$T/milter.log")" -ge 2
# Another body under the same Message-ID is another message.
sed 's/27 grader/28 grader/' "$T/msg/dup-1.eml" >"$T/msg/dup-1b.eml"
swaks --server "127.0.0.1:$PF_PORT" --from maria.karlsson@example.org \
    --to erik.sjoberg@sjovik.test --data "@$T/msg/dup-1b.eml" >"$T/out/dup-1b" 2>&1
wait_spool_empty 30
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
sleep 2
check "the same Message-ID with another body: a copy of its own" \
    test "$(copy_tags dup-1 | wc -l)" -eq 2

echo "# c3. SIGKILL the moment a copy is spooled (before or after its journal row)"
# A watcher kills the daemon as soon as a copy is renamed into new/: the
# kill lands while the message's journal row is being committed, or just
# after, before Postfix has the milter's reply.
cat >"$T/killer.py" <<'PY'
import ctypes, os, select, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
fd = libc.inotify_init1(0)
if fd < 0 or libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x80) < 0:  # IN_MOVED_TO
    sys.exit("inotify failed")
print("ready", flush=True)
if select.select([fd], [], [], 30)[0]:
    os.kill(int(open(sys.argv[2]).read()), 9)
    print("killed", flush=True)
PY
: >"$T/c3-tags.txt"
c3_kills=0
exec 3>&2 2>>"$T/kill-noise.log"
for i in $(seq 1 "${SPOOL_KILLS:-12}"); do
    python3 "$T/killer.py" "$SPOOL/new" "$T/milter.pid" >"$T/killer.out" 2>&1 &
    kp=$!
    for _ in $(seq 1 50); do grep -q ready "$T/killer.out" && break; sleep 0.05; done
    pid=$(cat "$T/milter.pid")
    send "spoolkill-$i" "$T/out/spoolkill-$i"
    echo "spoolkill-$i" >>"$T/c3-tags.txt"
    wait "$kp"
    if grep -q killed "$T/killer.out"; then
        c3_kills=$((c3_kills + 1))
        dm_wait_gone "$pid"
        rm -f "$T/milter.pid"
        dm_daemon_start "$CONF" >/dev/null 2>&1 || fail "restart after kill $i"
    fi
done
exec 2>&3 3>&-
echo "# $c3_kills kills at the moment of spooling"
check "the daemon was killed at the moment of spooling at least 10 times" test "$c3_kills" -ge 10
c3_acc=0 c3_tmp=0
: >"$T/c3-tempfailed.txt"
while read -r tag; do
    case $(verdict_of "$T/out/$tag") in
    accepted) c3_acc=$((c3_acc + 1)) ;;
    tempfail) c3_tmp=$((c3_tmp + 1)); echo "$tag" >>"$T/c3-tempfailed.txt" ;;
    *) fail "$tag neither accepted nor tempfailed" ;;
    esac
done <"$T/c3-tags.txt"
echo "# $c3_acc accepted, $c3_tmp tempfailed"
wait_spool_empty 60
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
sleep 2
copy_tags spoolkill- | sort | uniq -c | awk '{ print $2, $1 }' >"$T/c3-copies.txt"
orphans=$(grep -c 'removed from the spool: its message was never accepted' "$T/milter.log")
early=0
while read -r tag; do
    c=$(awk -v t="$tag" '$1 == t { print $2 }' "$T/c3-copies.txt")
    [ "${c:-0}" -eq 1 ] && early=$((early + 1))
done <"$T/c3-tempfailed.txt"
echo "# of the tempfailed: $early had their journal row (their copy went); $orphans copies of messages without one were removed at restarts"
check "accepted or not, no copy twice" test "$(awk '$2 > 1' "$T/c3-copies.txt" | wc -l)" -eq 0
bad=0
for n in $(seq 1 "${SPOOL_KILLS:-12}"); do
    [ "$(verdict_of "$T/out/spoolkill-$n")" = accepted ] || continue
    c=$(awk -v t="spoolkill-$n" '$1 == t { print $2 }' "$T/c3-copies.txt")
    [ "${c:-0}" -eq 1 ] || bad=$((bad + 1))
done
check "every accepted one has its copy once" test "$bad" -eq 0
dups_before=$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE message_id LIKE 'spoolkill-%' AND reasons LIKE '%\"duplicate\"%'")
while read -r tag; do
    send "$tag" "$T/out/$tag.again"
done <"$T/c3-tempfailed.txt"
wait_spool_empty 60
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
wait_copies spoolkill- "$(wc -l <"$T/c3-tags.txt")" 60
sleep 2
copy_tags spoolkill- | sort | uniq -c | awk '{ print $2, $1 }' >"$T/c3-copies.txt"
check "sent again: every one has exactly one copy" \
    test "$(awk '$2 == 1' "$T/c3-copies.txt" | wc -l)" -eq "$(wc -l <"$T/c3-tags.txt")"
check "... none two" test "$(awk '$2 > 1' "$T/c3-copies.txt" | wc -l)" -eq 0
dups=$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE message_id LIKE 'spoolkill-%' AND reasons LIKE '%\"duplicate\"%'")
check "... those whose row was committed are journalled as duplicates ($early)" \
    test $((dups - dups_before)) -eq "$early"

echo "# c4. SIGKILL every 1-3 s with [delivery] method = smtp"
# Copies go straight to the sink from the delivery processes, which
# outlive the daemon they were started by.
SMTP_KILL_N=${SMTP_KILL_N:-120}
write_conf "delivery.method=smtp" "delivery.smtp_host=127.0.0.1" \
    "delivery.smtp_port=$PF_SINK_PORT" "delivery.smtp_timeout=5s"
reload_daemon
"$PF" wait-queue "$T/pf" 60 >/dev/null 2>&1
smtp_sender() { # smtp_sender K
    local k=$1 n
    for n in $(seq 1 "$SMTP_KILL_N"); do
        [ $((n % KILL_SENDERS)) -eq "$k" ] || continue
        send "skill-$n" "$T/out/skill-$n"
        sleep "$KILL_PACE"
    done
}
exec 3>&2 2>>"$T/kill-noise.log"
pids=()
for k in $(seq 0 $((KILL_SENDERS - 1))); do
    smtp_sender "$k" &
    pids+=($!)
done
skills=0
while senders_running; do
    sleep "$(awk 'BEGIN { srand(); printf "%.1f", 1 + rand() * 2 }')"
    senders_running || break
    pid=$(cat "$T/milter.pid" 2>/dev/null)
    [ -n "$pid" ] || continue
    kill -KILL "$pid" 2>/dev/null && skills=$((skills + 1))
    dm_wait_gone "$pid"
    rm -f "$T/milter.pid"
    dm_daemon_start "$CONF" >/dev/null 2>&1 || { fail "restart after SIGKILL $skills"; break; }
done
wait "${pids[@]}"
exec 2>&3 3>&-
[ -s "$T/milter.pid" ] && ! dm_pid_gone "$(cat "$T/milter.pid")" ||
    { rm -f "$T/milter.pid"; dm_daemon_start "$CONF"; }
echo "# $skills kills"
check "the daemon was killed at least 5 times" test "$skills" -ge 5
: >"$T/s-accepted.txt"
: >"$T/s-tempfailed.txt"
sother=0
for n in $(seq 1 "$SMTP_KILL_N"); do
    case $(verdict_of "$T/out/skill-$n") in
    accepted) echo "skill-$n" >>"$T/s-accepted.txt" ;;
    tempfail) echo "skill-$n" >>"$T/s-tempfailed.txt" ;;
    *) sother=$((sother + 1)) ;;
    esac
done
echo "# $(wc -l <"$T/s-accepted.txt") accepted, $(wc -l <"$T/s-tempfailed.txt") tempfailed, $sother other"
check "every message was accepted or tempfailed" test "$sother" -eq 0
check "after the kills our spool drains (straight to the sink)" wait_spool_empty 120
sleep 2
copy_tags skill- | sort | uniq -c | awk '{ print $2, $1 }' >"$T/s-copies.txt"
bad=0
while read -r tag; do
    c=$(awk -v t="$tag" '$1 == t { print $2 }' "$T/s-copies.txt")
    [ "${c:-0}" -eq 1 ] || { bad=$((bad + 1)); echo "# $tag accepted, ${c:-0} copies"; }
done <"$T/s-accepted.txt"
check "every accepted message's copy reached the sink exactly once" test "$bad" -eq 0
check "no copy twice" test "$(awk '$2 > 1' "$T/s-copies.txt" | wc -l)" -eq 0
while read -r tag; do
    send "$tag" "$T/out/$tag.again"
done <"$T/s-tempfailed.txt"
wait_spool_empty 60
wait_copies skill- "$SMTP_KILL_N" 60
sleep 2
copy_tags skill- | sort | uniq -c | awk '{ print $2, $1 }' >"$T/s-copies.txt"
check "sent again: every one of the $SMTP_KILL_N has exactly one copy" \
    test "$(awk '$2 == 1' "$T/s-copies.txt" | wc -l)" -eq "$SMTP_KILL_N"
check "... none two" test "$(awk '$2 > 1' "$T/s-copies.txt" | wc -l)" -eq 0
check "nothing was given up on (dead/ empty)" test "$(spool_count dead)" -eq 0
write_conf
reload_daemon

echo "# d. the journal"
"$CTL" journal verify -c "$CONF" >"$T/verify.txt" 2>&1
rc=$?
check "journal verify: intact after $kills SIGKILLs (exit 0)" test "$rc" -eq 0
grep -q intact "$T/verify.txt" || cat "$T/verify.txt"
rows=$(sqlite3 "$DB" 'SELECT count(*) FROM journal')
check "a journal row for every message at least ($rows rows)" test "$rows" -ge "$KILL_N"
"$CTL" journal search -c "$CONF" --address registrator@sjovik.test --case 'bn 2026/45' \
    --json >"$T/search.json" 2>&1
check "journal search by address and case finds the copies' messages" \
    python3 -c "import json,sys; r=json.load(open('$T/search.json')); sys.exit(0 if len(r) >= $KILL_N else 1)"
"$CTL" journal prune --dry-run -c "$CONF" >"$T/prune.txt" 2>&1
check "journal prune --dry-run: nothing is old enough" grep -q '^0 rows would be pruned' "$T/prune.txt"
# Prune for real, with a retention of 1 s for registreras and ringa: the
# chain still verifies, the pruned rows keep time, class and id only.
cp "$CONF" "$T/prune.conf"
printf '[store]\nretain_registreras = 1s\nretain_ringa = 1s\n' >>"$T/prune.conf"
sleep 1
before_rows=$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE class IN ('registreras', 'ringa')")
"$CTL" journal prune -c "$T/prune.conf" >"$T/prune2.txt" 2>&1
check "journal prune: the registreras and ringa rows are pruned ($before_rows)" \
    grep -q "^$before_rows rows pruned" "$T/prune2.txt"
"$CTL" journal verify -c "$CONF" >"$T/verify-pruned.txt" 2>&1
check "journal verify after the prune: intact (exit 0)" test $? -eq 0
check "... pruned rows keep no addresses, subjects or Message-IDs" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE pruned = 1 AND (sender IS NOT NULL OR recipients IS NOT NULL OR subject IS NOT NULL OR message_id IS NOT NULL)")" -eq 0
check "... and the log records the prune" grep -q 'journal prune by uid' "$T/milter.log"
# New rows after the prune, to tamper with.
send after-prune-1 "$T/out/after-prune-1"
send after-prune-2 "$T/out/after-prune-2"
sleep 1
"$CTL" journal verify -c "$CONF" >"$T/verify-after.txt" 2>&1
check "new rows after the prune: intact" test $? -eq 0
seq=$(sqlite3 "$DB" "SELECT seq FROM journal WHERE message_id = 'after-prune-1@example.org' LIMIT 1")
sqlite3 "$DB" "UPDATE journal SET subject = 'Ändrad i efterhand' WHERE seq = $seq"
"$CTL" journal verify -c "$CONF" >"$T/verify2.txt" 2>&1
rc=$?
check "an edited row: journal verify exits 1" test "$rc" -eq 1
check "... and names the row ($seq) as altered" grep -q "^row $seq (id .*): altered" "$T/verify2.txt"
seq2=$(sqlite3 "$DB" "SELECT seq FROM journal WHERE message_id = 'after-prune-2@example.org' LIMIT 1")
sqlite3 "$DB" "DELETE FROM journal WHERE seq = $seq2"
"$CTL" journal verify -c "$CONF" >"$T/verify3.txt" 2>&1
check "a removed row: journal verify names it missing" grep -q "^row $seq2: missing" "$T/verify3.txt"

dm_summary
