#!/usr/bin/env bash
# bench/memory-load.sh: diariemilter's peak RSS while it handles 20
# messages of 25 MB at once, through a private Postfix on loopback with the
# fixture directory in a private slapd.  Each message is an application to
# kommun@sjovik.test with a large attachment, so each owes a registrator
# copy holding the whole original: the milter spills the message to disk
# ([milter] spill_size), parses it from there and writes the copy to the
# spool in chunks.  Target: peak RSS under 64 MB.
#
# Environment: BENCH_BIG_MSGS (20), BENCH_BIG_MB (25), KEEP=1.
set -u
DM_REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF=$DM_REPO/tests/lib/postfix.sh
N=${BENCH_BIG_MSGS:-20}
MB=${BENCH_BIG_MB:-25}

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the memory benchmark runs Postfix and needs root" >&2
    exit 0
fi
SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT
trap 'exit 130' INT TERM

dm_stack_start "$T" --no-sink-files --set message_size_limit=$(((MB + 10) * 1048576)) || exit 1
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
    "store.duplicate_window=0"
"$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null || exit 1
dm_daemon_start "$CONF" || exit 1
PID=$(cat "$T/milter.pid")

python3 - "$T/big.eml" "$MB" <<'EOF'
import base64, os, sys
path, mb = sys.argv[1], int(sys.argv[2])
raw = os.urandom(mb * 1024 * 1024 * 3 // 4 - 4096)
with open(path, "w") as f:
    f.write("From: Per Svensson <per.svensson@example.org>\nTo: kommun@sjovik.test\n"
            "Subject: Ansökan om bygglov med ritningar\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed; boundary=b1\n\n--b1\n"
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            "Hej,\njag ansöker om bygglov för ett garage. Ritningarna är bifogade.\n"
            "Per Svensson\n\n--b1\nContent-Type: application/pdf; name=ritningar.pdf\n"
            "Content-Disposition: attachment; filename=ritningar.pdf\n"
            "Content-Transfer-Encoding: base64\n\n")
    f.write(base64.encodebytes(raw).decode())
    f.write("--b1--\n")
EOF
size=$(stat -c %s "$T/big.eml")
start_rss=$(awk '/VmRSS/ { print $2 }' "/proc/$PID/status")
echo "# $N messages of $((size / 1048576)) MB at once; diariemilter RSS at start $((start_rss / 1024)) MB"
t0=$(date +%s.%N)
"$SMTP_SOURCE" -4 -s "$N" -m "$N" -F "$T/big.eml" -f per.svensson@example.org \
    -t kommun@sjovik.test "127.0.0.1:$PF_PORT" >/dev/null 2>&1
t1=$(date +%s.%N)
"$PF" wait-queue "$T/pf" 300 >/dev/null 2>&1
accepted=$(grep -c 'class=' "$T/milter.log")
copies=$(grep -o 'copies=[0-9]*' "$T/milter.log" | awk -F= '{ s += $2 } END { print s + 0 }')
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$PID/status")
python3 -c "print('# sent in %.1f s' % ($t1 - $t0))"
echo "# messages classified: $accepted, registrator copies: $copies"
echo "diariemilter peak RSS with $N concurrent $MB MB messages: $((hwm / 1024)) MB (target < 64 MB)"
