#!/usr/bin/env bash
# bench/throughput.sh: messages per second through a private Postfix on
# loopback, smtp-source -> Postfix -> smtp-sink, for five configurations
# run in one go and interleaved (round robin, BENCH_RUNS rounds), so that
# the shared machine's drift hits them alike:
#
#   none      Postfix alone
#   aa-unix   an accept-everything libmilter (tests/lib/acceptall-milter.c)
#   aa-tcp    the same over TCP
#   dm-unix   diariemilter, every feature on: the fixture directory in a
#             private slapd (warm cache), classification, journal, copies
#             spooled and handed back to Postfix
#   dm-tcp    the same over TCP
#   dm-unix-pg  dm-unix with its record in PostgreSQL (a private server on
#             the same host, tests/lib/pg.sh, fsync on, over its unix
#             socket) instead of SQLite: the cost of sharing the record
#             between gateways (issue 17)
#
# Workloads: 4k (smtp-source's own 4 KB messages, BENCH_MSGS of them, 10
# sessions: the figure to compare), 100k (generated 100 KB messages) and
# corpus (the messages of ../shared/corpus/dev to their fixture
# recipients, ten of them at once; some owe registrator copies).  Each
# corpus message sent gets a Message-ID of its own (one smtp-source per
# message, ten at a time), so that each owes its own copy: diariemilter
# names a copy after the message's duplicate key, and the same message
# sent again would only replace the copy still waiting.
#
# The copies: diariemilter hands them to the instance's sendmail(1), so
# they pass Postfix (and the milter, which lets its own mail by) once
# more.  Only the originals are counted: msgs/s is the originals over
# the time the clients took to send them, and a run counts only when
# Postfix's smtpd took every original.  After each run the benchmark
# waits until diariemilter's spool is empty and Postfix's queue too, so
# that no copy is still being delivered while the next configuration is
# measured; the copies delivered and that wait are printed.
#
# BENCH_CONFIGS may also name aad-unix / aad-tcp: the accept-all milter
# with -d (it answers the DATA step instead of negotiating it away).
#
# Prints msgs/s as the median of the rounds with the range, the ratios
# diariemilter / accept-all, diariemilter / no milter and PostgreSQL /
# SQLite (dm-unix-pg / dm-unix), diariemilter's
# end-of-message latency (p50, p99, from eom_ms in its log) and its peak
# RSS (VmHWM).  Targets are read from the output, not asserted.
#
# Environment: BENCH_MSGS (5000), BENCH_MSGS_100K (1000), BENCH_MSGS_CORPUS
# (1000), BENCH_RUNS (3), BENCH_SESSIONS (10), BENCH_WORKLOADS ("4k 100k
# corpus"), BENCH_CONFIGS (all six), KEEP=1 keeps the directory.
set -u
DM_REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF=$DM_REPO/tests/lib/postfix.sh

MSGS=${BENCH_MSGS:-5000}
MSGS_100K=${BENCH_MSGS_100K:-1000}
MSGS_CORPUS=${BENCH_MSGS_CORPUS:-1000}
RUNS=${BENCH_RUNS:-3}
SESSIONS=${BENCH_SESSIONS:-10}
WORKLOADS=${BENCH_WORKLOADS:-4k 100k corpus}
CONFIGS=${BENCH_CONFIGS:-none aa-unix aa-tcp dm-unix dm-tcp dm-unix-pg}

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the throughput benchmark runs Postfix and needs root" >&2
    exit 0
fi
SMTP_SOURCE=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SMTP_SOURCE" ] || { echo "smtp-source not found (postfix package)" >&2; exit 1; }
[ -x "$DM_BUILD/acceptall-milter" ] || { echo "build first: make build/acceptall-milter" >&2; exit 1; }

T=$(dm_tmpdir)
declare -A PIDS=()
cleanup() {
    local c
    for c in "${!PIDS[@]}"; do kill -TERM "${PIDS[$c]}" 2>/dev/null; done
    for c in $CONFIGS; do "$PF" stop "$T/pf-$c" >/dev/null 2>&1; done
    "$DM_REPO/tests/lib/slapd.sh" stop "$T/ldap" >/dev/null 2>&1
    "$DM_REPO/tests/lib/pg.sh" stop "$T/pg" >/dev/null 2>&1
    sleep 1
    for c in "${!PIDS[@]}"; do kill -KILL "${PIDS[$c]}" 2>/dev/null; done
    if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# --- the parts ---------------------------------------------------------------
"$DM_REPO/tests/lib/slapd.sh" start "$T/ldap" >/dev/null || exit 1
dm_absences_to_today "$T/ldap" || exit 1
case " $CONFIGS " in
*" dm-unix-pg "*)
    # Durable as in production: fsync on (no --fast).
    "$DM_REPO/tests/lib/pg.sh" start "$T/pg" >/dev/null || exit 1 ;;
esac

for c in $CONFIGS; do
    # libmilter writes inet:PORT@HOST, Postfix inet:HOST:PORT.
    spec= pfspec=
    case $c in
    none) ;;
    *-unix | *-unix-pg) spec=unix:$T/$c.sock pfspec=$spec ;;
    *-tcp) port=$(free_port) spec=inet:$port@127.0.0.1 pfspec=inet:127.0.0.1:$port ;;
    esac
    echo "$spec" >"$T/$c.spec"
    args=(start "$T/pf-$c" --no-sink-files --set message_size_limit=52428800
        --set default_process_limit=200)
    [ -n "$pfspec" ] && args+=(--milter "$pfspec")
    "$PF" "${args[@]}" >/dev/null || { echo "postfix $c did not start" >&2; exit 1; }
done

start_milter() {
    local c=$1 spec
    spec=$(cat "$T/$c.spec")
    case $c in
    aa-* | aad-*)
        local opt=()
        case $c in aad-*) opt=(-d) ;; esac
        "$DM_BUILD/acceptall-milter" "${opt[@]}" -p "$spec" >"$T/$c.out" 2>&1 &
        PIDS[$c]=$!
        ;;
    dm-*)
        local d=$T/$c pfenv
        mkdir -p "$d"
        pfenv=$(. "$T/pf-$c/env" && echo "$PF_SENDMAIL")
        # The same message sent many times is handled in full every time
        # (duplicate_window = 0): the benchmark measures the whole path.
        local db=$d/db/diarie.db
        [ "$c" = dm-unix-pg ] && db=$(cat "$T/pg/uri")
        dm_write_conf "$d/diariemilter.conf" "$d" "$(cat "$T/ldap/uri")" \
            "milter.socket=$spec" "delivery.sendmail=$pfenv" "store.duplicate_window=0" \
            "store.database=$db"
        "$DM_BUILD/diariectl" cases import -c "$d/diariemilter.conf" \
            "$DM_SHARED/fixtures/arenden.csv" >/dev/null || return 1
        dm_daemon_start "$d/diariemilter.conf" >/dev/null 2>&1 || true
        PIDS[$c]=$(cat "$d/milter.pid" 2>/dev/null)
        ;;
    esac
    sleep 0.5
}
for c in $CONFIGS; do
    case $c in aa-* | aad-* | dm-*) start_milter "$c" ;; esac
done
for c in $CONFIGS; do
    case $c in
    aa-* | aad-* | dm-*)
        if [ -z "${PIDS[$c]:-}" ] || ! kill -0 "${PIDS[$c]}" 2>/dev/null; then
            echo "milter $c did not start" >&2
            exit 1
        fi ;;
    esac
done

# --- the messages ------------------------------------------------------------
# 100 KB: a text part and a base64 attachment, like a letter with a PDF.
python3 - "$T/100k.eml" <<'EOF'
import base64, os, sys
body = ("Hej,\nhär kommer underlaget till nämndens sammanträde.\n" * 20)
att = base64.encodebytes(os.urandom(72 * 1024)).decode()
open(sys.argv[1], "w").write(
    "From: Anna Berg <anna.berg@example.org>\nTo: erik.sjoberg@sjovik.test\n"
    "Subject: Underlag\nMIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=b1\n\n--b1\n"
    "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + body +
    "\n--b1\nContent-Type: application/pdf; name=underlag.pdf\n"
    "Content-Disposition: attachment; filename=underlag.pdf\n"
    "Content-Transfer-Encoding: base64\n\n" + att + "--b1--\n")
EOF
# Ten corpus messages from outside, each to its first recipient.
CORPUS=$DM_SHARED/corpus/dev
awk -F'\t' 'NR > 1 && $4 == "-" && $3 !~ /,/ { print $1 "\t" $2 "\t" $3 }' "$CORPUS/cases.tsv" |
    head -10 >"$T/corpus.list"

# corpus_messages TAG: BENCH_MSGS_CORPUS / 10 copies of each corpus
# message, each with a Message-ID of its own, in $T/cm/ID.N.eml.
corpus_messages() {
    rm -rf "$T/cm" && mkdir -p "$T/cm"
    python3 - "$CORPUS" "$T/corpus.list" "$T/cm" "$((MSGS_CORPUS / 10))" "$1" <<'EOF'
import re, sys
corpus, lst, out, per, tag = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
for line in open(lst):
    mid = line.split("\t")[0]
    raw = open("%s/%s.eml" % (corpus, mid), "rb").read()
    head, sep, body = raw.partition(b"\n\n")
    head = re.sub(rb"(?im)^message-id:.*\n?(?:[ \t].*\n?)*", b"", head + b"\n").rstrip(b"\n")
    for n in range(per):
        m = b"Message-ID: <bench.%s.%s.%d@sjovik.test>\n" % (tag.encode(), mid.encode(), n)
        open("%s/%s.%d.eml" % (out, mid, n), "wb").write(m + head + sep + body)
EOF
}

# drain CONFIG: wait until diariemilter's spool holds nothing more to
# deliver and Postfix's queue is empty.
drain() {
    local c=$1 i
    case $c in
    dm-*)
        for i in $(seq 1 600); do
            [ -z "$(find "$T/$c/spool/new" "$T/$c/spool/cur" -type f 2>/dev/null)" ] && break
            sleep 0.5
        done ;;
    esac
    "$PF" wait-queue "$T/pf-$c" 300 >/dev/null 2>&1
}

# run_workload WORKLOAD CONFIG ROUND: prints msgs/s and the seconds the
# copies and Postfix's queue took to drain afterwards
run_workload() {
    local w=$1 c=$2 r=$3 port n t0 t1 pids=() id from to per i
    port=$(cat "$T/pf-$c/port")
    [ "$w" = corpus ] && corpus_messages "$c.$r"
    t0=$(date +%s.%N)
    case $w in
    4k)
        n=$MSGS
        "$SMTP_SOURCE" -4 -s "$SESSIONS" -m "$n" -l 4096 -f bench@example.org \
            -t erik.sjoberg@sjovik.test "127.0.0.1:$port" >/dev/null 2>&1 ;;
    100k)
        n=$MSGS_100K
        "$SMTP_SOURCE" -4 -s "$SESSIONS" -m "$n" -F "$T/100k.eml" -f anna.berg@example.org \
            -t erik.sjoberg@sjovik.test "127.0.0.1:$port" >/dev/null 2>&1 ;;
    corpus)
        per=$((MSGS_CORPUS / 10))
        n=0
        while IFS=$'\t' read -r id from to; do
            (
                for i in $(seq 0 $((per - 1))); do
                    "$SMTP_SOURCE" -4 -F "$T/cm/$id.$i.eml" -f "$from" -t "$to" \
                        "127.0.0.1:$port" >/dev/null 2>&1
                done
            ) &
            pids+=($!)
            n=$((n + per))
        done <"$T/corpus.list"
        wait "${pids[@]}" ;;
    esac
    t1=$(date +%s.%N)
    # Let Postfix deliver, and diariemilter's copies pass, before the next.
    drain "$c"
    python3 -c "import time; print('%.1f %.1f' % ($n / ($t1 - $t0), time.time() - $t1))"
}

# Messages Postfix's smtpd took in so far (queued and not refused by the
# milter at the end).  A run counts only when every message was taken: a
# milter that tempfails makes smtp-source fast and the figure meaningless.
accepted() {
    local log=$T/pf-$1/maillog q r
    q=$(grep -c 'postfix-test/smtpd\[[0-9]*\]: [0-9A-F]*: client=' "$log")
    r=$(grep -c 'milter-reject: END-OF-MESSAGE' "$log")
    echo $((q - r))
}
expected() {
    case $1 in
    4k) echo "$MSGS" ;;
    100k) echo "$MSGS_100K" ;;
    corpus) echo $(((MSGS_CORPUS / 10) * $(wc -l <"$T/corpus.list"))) ;;
    esac
}

log_lines() { wc -l <"$T/$1/milter.log" 2>/dev/null || echo 0; }

echo "# throughput: $SESSIONS sessions; 4k: $MSGS msgs, 100k: $MSGS_100K, corpus: $MSGS_CORPUS; $RUNS rounds"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$T/results"
: >"$T/eom"
: >"$T/copies"
for w in $WORKLOADS; do
    # Warm up: the directory cache, Postfix's processes.
    for c in $CONFIGS; do
        "$SMTP_SOURCE" -4 -s 2 -m 20 -l 4096 -f bench@example.org -t erik.sjoberg@sjovik.test \
            "127.0.0.1:$(cat "$T/pf-$c/port")" >/dev/null 2>&1
        "$PF" wait-queue "$T/pf-$c" 60 >/dev/null 2>&1
    done
    for r in $(seq 1 "$RUNS"); do
        for c in $CONFIGS; do
            before=0
            case $c in dm-*) before=$(log_lines "$c") ;; esac
            took=$(accepted "$c")
            read -r rate drained < <(run_workload "$w" "$c" "$r")
            took=$(($(accepted "$c") - took))
            if [ "$took" -lt "$(expected "$w")" ]; then
                echo "  $w $c round $r: FAILED, Postfix took $took of $(expected "$w") messages" >&2
                rate=0
            fi
            echo "$w $c $r $rate" >>"$T/results"
            extra=
            case $c in
            dm-*)
                # The originals' end of message; copies owed (and spooled)
                # by them, and copies delivered during the run and drain.
                tail -n +"$((before + 1))" "$T/$c/milter.log" >"$T/run.log"
                sed -n "s/.* eom_ms=\([0-9.]*\).*/$w $c \1/p" "$T/run.log" >>"$T/eom"
                owed=$(sed -n 's/.* class=.* copies=\([0-9]*\) .*/\1/p' "$T/run.log" |
                    awk '{ s += $1 } END { print s + 0 }')
                sent=$(grep -c ': delivered copy ' "$T/run.log")
                extra=$(printf '  (%d originals, %d copies owed, %d delivered; drained in %s s)' \
                    "$took" "$owed" "$sent" "$drained")
                echo "$w $c $owed $sent" >>"$T/copies" ;;
            esac
            printf '  %-7s %-8s round %d: %8s msgs/s%s\n' "$w" "$c" "$r" "$rate" "$extra"
        done
    done
done

rss=""
for c in $CONFIGS; do
    case $c in dm-*)
        rss="$rss $c=$(awk '/VmHWM/ { print $2 / 1024 " MB" }' "/proc/${PIDS[$c]}/status")"
        # CPU the daemon used (its delivery children not included), per
        # message it handled.
        msgs=$(grep -c ' class=' "$T/$c/milter.log")
        awk -v n="$msgs" -v hz="$(getconf CLK_TCK)" -v c="$c" '{
            cpu = ($14 + $15) / hz
            printf "diariemilter %s: %.1f s of CPU for %d messages: %.2f ms a message\n", c, cpu, n, 1000 * cpu / (n ? n : 1)
        }' "/proc/${PIDS[$c]}/stat" ;;
    esac
done
python3 - "$T/results" "$T/eom" "$rss" "$T/copies" <<'EOF'
import statistics, sys
res, eom, cp = {}, {}, {}
for line in open(sys.argv[1]):
    w, c, r, rate = line.split()
    if float(rate) > 0:
        res.setdefault(w, {}).setdefault(c, []).append(float(rate))
for line in open(sys.argv[2]):
    w, c, ms = line.split()
    eom.setdefault((w, c), []).append(float(ms))
for line in open(sys.argv[4]):
    w, c, owed, sent = line.split()
    t = cp.setdefault((w, c), [0, 0])
    t[0] += int(owed)
    t[1] += int(sent)
med = lambda xs: statistics.median(xs)
print("\n%-7s %-8s %10s %20s" % ("load", "config", "msgs/s", "range"))
for w, cs in res.items():
    for c, xs in cs.items():
        print("%-7s %-8s %10.1f %9.1f .. %-8.1f" % (w, c, med(xs), min(xs), max(xs)))
    m = {c: med(xs) for c, xs in cs.items()}
    for dm, aa in (("dm-unix", "aa-unix"), ("dm-tcp", "aa-tcp"), ("dm-tcp", "aad-tcp")):
        if dm in m and aa in m:
            print("%-7s %s / %s = %.0f%%" % (w, dm, aa, 100 * m[dm] / m[aa]))
    for dm in ("dm-unix", "dm-tcp", "dm-unix-pg"):
        if dm in m and "none" in m:
            print("%-7s %s / none = %.0f%%" % (w, dm, 100 * m[dm] / m["none"]))
    if "dm-unix-pg" in m and "dm-unix" in m:
        print("%-7s dm-unix-pg / dm-unix = %.0f%% (PostgreSQL / SQLite; target >= 90%% at 4k)"
              % (w, 100 * m["dm-unix-pg"] / m["dm-unix"]))
print()
for (w, c), (owed, sent) in sorted(cp.items()):
    if owed or sent:
        print("%-7s %-8s registrator copies: %d owed, %d delivered (not counted as messages)"
              % (w, c, owed, sent))
for (w, c), xs in sorted(eom.items()):
    xs.sort()
    p = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    print("%-7s %-8s end of message: p50 %.2f ms, p99 %.2f ms (%d messages)"
          % (w, c, p(0.5), p(0.99), len(xs)))
for w in sorted({w for (w, c) in eom}):
    a, b = eom.get((w, "dm-unix")), eom.get((w, "dm-unix-pg"))
    if a and b:
        p99 = lambda xs: xs[min(len(xs) - 1, int(0.99 * len(xs)))]
        print("%-7s end of message p99: dm-unix-pg / dm-unix = %.2f (target <= 2)"
              % (w, p99(b) / p99(a)))
print("diariemilter peak RSS:%s" % sys.argv[3])
EOF
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
