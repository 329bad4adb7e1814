# shellcheck shell=bash
# Shared shell functions for diariemilter's tests, demo and benchmarks.
# Source it:  . "$REPO/tests/lib/dm.sh"
#
#   dm_tmpdir                 a fresh temp dir, readable by Postfix's users
#   dm_write_conf FILE DIR URI [KEY=VALUE@SECTION ...]
#                             a test configuration under DIR
#   dm_daemon_start CONF      start build/diariemilter -f on CONF, wait for it
#   dm_daemon_stop CONF       SIGTERM it and wait until it is gone
#   dm_stack_start T [POSTFIX START ARGS...]
#                             slapd with the fixture in T/ldap, Postfix in T/pf
#                             (sourcing its env), with diariemilter's socket
#                             T/milter.sock unless other --milter args are given
#   dm_stack_stop T CONF      stop the daemon, Postfix and slapd; remove T
#                             unless a check failed or KEEP is set
#   ok / fail / skip          TAP-ish result lines; dm_summary exits with status

DM_REPO=${DM_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DM_SHARED=${DM_SHARED:-$(cd "$DM_REPO/.." && pwd)/shared}
DM_BUILD=${DM_BUILD:-$DM_REPO/build}
DM_FAILS=0
DM_PASSES=0

ok() { DM_PASSES=$((DM_PASSES + 1)); printf 'ok   %s\n' "$*"; }
fail() { DM_FAILS=$((DM_FAILS + 1)); printf 'FAIL %s\n' "$*"; }
skip() { printf 'skip %s\n' "$*"; }

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

dm_summary() {
    printf '%d passed, %d failed\n' "$DM_PASSES" "$DM_FAILS"
    [ "$DM_FAILS" -eq 0 ]
}

dm_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/dm.XXXXXX")
    # Postfix's daemons and smtp-sink run as postfix: they must reach it.
    chmod 755 "$d"
    printf '%s\n' "$d"
}

# dm_write_conf FILE DIR LDAP_URI [SECTION.KEY=VALUE ...]
# A SECTION.KEY given here replaces the base value of that key.
dm_write_conf() {
    local file=$1 dir=$2 uri=$3
    shift 3
    local -A conf=()
    local kv sect key
    # The base, then SECTION.KEY=VALUE arguments replace or add keys: each
    # key is written once (the daemon refuses a key given twice).
    conf[milter.socket]=unix:$dir/milter.sock
    conf[milter.pidfile]=$dir/milter.pid
    conf[milter.socket_group]=postfix
    conf[log.file]=$dir/milter.log
    conf[log.level]=info
    conf[site.party_domains]='parti-a.example, parti-b.example'
    conf[site.communications_group]=cn=kommunikationsenheten,ou=grupper,dc=sjovik,dc=test
    conf[site.intranet]=https://intranat.sjovik.test/publicera
    conf[ldap.uri]=$uri
    conf[ldap.base]=dc=sjovik,dc=test
    conf[store.database]=$dir/db/diarie.db
    conf[store.spool]=$dir/spool
    conf[store.key_file]=$dir/db/hmac.key
    conf[delivery.sendmail]=/bin/false
    conf[delivery.retry_min]=2s
    conf[delivery.retry_max]=10s
    conf[policy.rules]=$DM_REPO/etc/rules.conf
    conf[policy.templates]=$DM_REPO/etc/templates
    conf[mime.extractor]=$DM_BUILD/diariemilter-extract
    for kv in "$@"; do
        conf[${kv%%=*}]=${kv#*=}
    done
    {
        for sect in milter log site ldap store delivery policy mime metrics; do
            printf '[%s]\n' "$sect"
            for key in "${!conf[@]}"; do
                if [ "${key%%.*}" = "$sect" ]; then
                    printf '%s = %s\n' "${key#*.}" "${conf[$key]}"
                fi
            done
        done
    } >"$file"
}

# The value of KEY in SECTION of a configuration we wrote.
dm_conf_get() {
    awk -v s="[$2]" -v k="$3" '
        /^\[/ { in_s = ($0 == s) }
        in_s && $1 == k { sub(/^[^=]*= */, ""); v = $0 }
        END { print v }' "$1"
}

dm_daemon_start() {
    local conf=$1 sock pidfile i
    sock=$(dm_conf_get "$conf" milter socket)
    sock=${sock#unix:}
    pidfile=$(dm_conf_get "$conf" milter pidfile)
    "$DM_BUILD/diariemilter" -f -c "$conf" >>"$(dirname "$pidfile")/daemon.out" 2>&1 &
    for i in $(seq 1 100); do
        # A TCP socket has no file: the pid file is written once it listens.
        if { [ -S "$sock" ] || [ "${sock#inet}" != "$sock" ]; } && [ -s "$pidfile" ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "diariemilter did not start; its output:" >&2
    tail -20 "$(dirname "$pidfile")/daemon.out" >&2
    return 1
}

# A process that is gone or a zombie (this machine's init does not reap).
dm_pid_gone() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
    case $st in Z*) return 0 ;; esac
    return 1
}

# Wait for a killed process to be gone.  SIGKILL takes effect only once the
# process leaves the kernel: one blocked in fsync on a loaded disk can take
# seconds, and a restart before then finds its socket still listening.
dm_wait_gone() {
    local pid=$1 i
    for i in $(seq 1 300); do
        dm_pid_gone "$pid" && return 0
        sleep 0.1
    done
    return 1
}

dm_daemon_stop() {
    local conf=$1 pidfile pid i
    pidfile=$(dm_conf_get "$conf" milter pidfile)
    [ -s "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || return 0
    # libmilter notices a stop at its next poll, within about 5 s.
    for i in $(seq 1 200); do
        dm_pid_gone "$pid" && return 0
        sleep 0.1
    done
    echo "diariemilter $pid did not stop; killing it" >&2
    kill -KILL "$pid" 2>/dev/null
    return 1
}

# dm_absences_to_today SLAPD_DIR: the fixture's absences are fixed dates,
# the daemon judges by the clock.  Move Ivan's and Fatima's absences to
# around today in a private slapd (the fixture file itself is unchanged),
# so tests and the demo mean the same whenever they run.
dm_absences_to_today() {
    local since until who
    since=$(date -u -d '2 days ago' +%Y%m%d000000Z)
    until=$(date -u -d '7 days' +%Y%m%d235959Z)
    for who in ivan.petrov fatima.nilsson; do
        printf 'dn: uid=%s,ou=personer,dc=sjovik,dc=test\nchangetype: modify\nreplace: diarieAbsentFrom\ndiarieAbsentFrom: %s\n-\nreplace: diarieAbsentUntil\ndiarieAbsentUntil: %s\n\n' \
            "$who" "$since" "$until"
    done | ldapmodify -Q -Y EXTERNAL -H "$(cat "$1/ldapi_uri")" >/dev/null
}

dm_stack_start() {
    local t=$1
    shift
    "$DM_REPO/tests/lib/slapd.sh" start "$t/ldap" >/dev/null || { echo "slapd did not start" >&2; return 1; }
    "$DM_REPO/tests/lib/postfix.sh" start "$t/pf" --milter "unix:$t/milter.sock" "$@" \
        >/dev/null 2>"$t/pf-start.log" ||
        { echo "postfix did not start:" >&2; cat "$t/pf-start.log" >&2; return 1; }
    # shellcheck disable=SC1091
    . "$t/pf/env"
}

dm_stack_stop() {
    local t=$1 conf=$2
    dm_daemon_stop "$conf" >/dev/null 2>&1
    "$DM_REPO/tests/lib/postfix.sh" stop "$t/pf" >/dev/null 2>&1
    "$DM_REPO/tests/lib/slapd.sh" stop "$t/ldap" >/dev/null 2>&1
    if [ "$DM_FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$t"; else echo "kept $t"; fi
}
