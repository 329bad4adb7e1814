# shellcheck shell=bash
# tests/deb/lib.sh: the functions of tests/deb/install.sh (sourced there,
# after dm.sh; uses its T, CONF, DPID, had_user, URL).
# shellcheck disable=SC2154 # had_user, URL, SM, PF, SLAPD: set by install.sh

deb_installed() {
    dpkg-query -W -f='${db:Status-Abbrev}' diariemilter 2>/dev/null | grep -q '^[ih]i'
}

deb_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# deb_dpkg ARGS...: dpkg, quietly (T/dpkg.log), waiting while another
# dpkg or apt holds the lock; after a "dpkg -i" whose Depends are
# missing, apt-get -f installs them.
deb_dpkg() {
    local i out rc
    export DEBIAN_FRONTEND=noninteractive
    for i in $(seq 1 60); do
        out=$(dpkg "$@" 2>&1)
        rc=$?
        printf '%s\n' "$out" >>"$T/dpkg.log"
        if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q 'lock'; then
            sleep 5
            continue
        fi
        break
    done
    if [ "$rc" -ne 0 ] && [ "$1" = -i ] && printf '%s' "$out" | grep -q 'dependency problems'; then
        apt-get -f install -y -q -o DPkg::Lock::Timeout=300 >>"$T/dpkg.log" 2>&1 &&
            deb_installed && rc=0
    fi
    return "$rc"
}

# deb_old_package DIR ETC: DIR.deb, a stand-in for the first packages:
# diariemilter 0.0.1 with ETC's rules.conf, rules/ and templates/ as
# conffiles under /etc/diariemilter (nothing else).
deb_old_package() {
    local dir=$1 etc=$2
    rm -rf "$dir"
    mkdir -p "$dir/DEBIAN" "$dir/etc/diariemilter"
    cp -R "$etc/rules.conf" "$etc/rules" "$etc/templates" "$dir/etc/diariemilter/"
    (cd "$dir" && find etc -type f | sed 's|^|/|' | sort) >"$dir/DEBIAN/conffiles"
    printf '%s\n' 'Package: diariemilter' 'Version: 0.0.1' 'Architecture: all' \
        'Maintainer: Sjövik kommun IT <drift@sjovik.test>' \
        'Description: stand-in for an earlier diariemilter package (tests/deb)' \
        >"$dir/DEBIAN/control"
    dpkg-deb --root-owner-group -b "$dir" "$dir.deb" >/dev/null
}

# deb_conf_set SECTION KEY VALUE: set KEY in [SECTION] of CONF in place
# (the shipped file lists every key); fails when the key is not there.
deb_conf_set() {
    awk -v s="[$1]" -v k="$2" -v v="$3" '
        /^\[/ { in_s = ($0 == s) }
        in_s && !done && $0 ~ "^" k "[ \t]*=" { print k " = " v; done = 1; next }
        { print }
        END { exit !done }' "$CONF" >"$T/conf.new" && cat "$T/conf.new" >"$CONF"
}

# deb_unit_key UNIT KEY: the value of KEY= in the unit's [Service] (the
# last one), empty when absent.
deb_unit_key() {
    awk -v k="$2" '
        /^\[/ { in_s = ($0 == "[Service]") }
        in_s && index($0, k "=") == 1 { v = substr($0, length(k) + 2) }
        END { print v }' "$1"
}

# deb_unit_start UNIT: what systemd would do for Type=notify, short of
# the sandboxing: check ConditionPathExists=, make RuntimeDirectory=, run
# ExecStart= as User= (root when none) in a clean environment with
# NOTIFY_SOCKET.  Sets EXEC_START, EXEC_ARGV, DPID (the main process).
deb_unit_start() {
    local unit=$1 user cond rdir rmode
    EXEC_START=$(deb_unit_key "$unit" ExecStart)
    case "$EXEC_START" in
    '' | [-@:+!]* | *\"* | *\'* | *'$'* | *'%'*)
        echo "ExecStart= is missing or uses what this test does not parse: $EXEC_START" >&2
        return 1 ;;
    esac
    read -r -a EXEC_ARGV <<<"$EXEC_START"
    cond=$(awk -F= '/^ConditionPathExists=/ { print $2 }' "$unit")
    if [ -n "$cond" ] && [ ! -e "$cond" ]; then
        echo "ConditionPathExists=$cond does not hold" >&2
        return 1
    fi
    rdir=$(deb_unit_key "$unit" RuntimeDirectory)
    rmode=$(deb_unit_key "$unit" RuntimeDirectoryMode)
    RUNTIME_DIR=${rdir:+/run/$rdir}
    [ -n "$RUNTIME_DIR" ] && install -d -m "${rmode:-0755}" "$RUNTIME_DIR"
    user=$(deb_unit_key "$unit" User)
    python3 "$DM_REPO/tests/lib/notify-sock.py" "$T/notify.sock" "$T/notify.log" &
    NPID=$!
    for _ in $(seq 1 50); do [ -S "$T/notify.sock" ] && break; sleep 0.1; done
    local -a as=()
    if [ -n "$user" ] && [ "$user" != root ]; then
        as=(setpriv --reuid="$user" --regid="$user" --init-groups --)
    fi
    "${as[@]}" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        NOTIFY_SOCKET="$T/notify.sock" "${EXEC_ARGV[@]}" >"$T/daemon.out" 2>&1 &
    DPID=$!
}

# After the main process is gone, as systemd would: RuntimeDirectory= goes.
deb_unit_stopped() {
    [ -n "${RUNTIME_DIR:-}" ] && rm -rf "$RUNTIME_DIR"
    [ -n "${NPID:-}" ] && kill "$NPID" 2>/dev/null
    NPID=
}

# deb_notified STATE TIMEOUT: the main process sent STATE (READY=1 ...).
deb_notified() {
    for _ in $(seq 1 $(($2 * 10))); do
        awk -v p="pid=$DPID" -v s="$1" '
            $1 == p { for (i = 2; i <= NF; i++) if ($i == s) f = 1 }
            END { exit !f }' "$T/notify.log" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Since T/notify.before: RELOADING=1, then READY=1, from the main process.
deb_notified_after_reload() {
    local n
    n=$(wc -l <"$T/notify.before")
    for _ in $(seq 1 $(($1 * 10))); do
        tail -n +$((n + 1)) "$T/notify.log" | awk -v p="pid=$DPID" '
            $1 != p { next }
            / RELOADING=1( |$)/ { r = 1 }
            r && / READY=1( |$)/ { ok = 1 }
            END { exit !ok }' && return 0
        sleep 0.1
    done
    return 1
}

deb_wait_grep() {
    for _ in $(seq 1 $(($3 * 10))); do
        grep -qF -- "$1" "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

deb_wait_gone() {
    for _ in $(seq 1 $(($2 * 10))); do
        dm_pid_gone "$1" && return 0
        sleep 0.1
    done
    return 1
}

deb_scrape() { curl -sS --fail --max-time 10 "$URL" >"$1"; }
deb_val() {
    awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "missing" }' "$1"
}
# deb_moved WHAT BEFORE AFTER SERIES BY: SERIES grew by exactly BY.
deb_moved() {
    local b a
    b=$(deb_val "$2" "$4")
    a=$(deb_val "$3" "$4")
    if [ "$b" != missing ] && [ "$a" != missing ] &&
        awk -v b="$b" -v a="$a" -v by="$5" 'BEGIN { exit !(a - b == by) }'; then
        ok "$1 ($4: $b -> $a)"
    else
        fail "$1 ($4: $b -> $a, expected +$5)"
    fi
}

# deb_send PORT OUT TAG: a citizen's registreras message to Erik (its
# Message-ID and text its own, so that none is a duplicate).
deb_send() {
    swaks --server "127.0.0.1:$1" --from maria.karlsson@example.org \
        --to erik.sjoberg@sjovik.test --header 'Subject: Komplettering BN 2026/45' \
        --header "Message-ID: <deb-$3@example.org>" \
        --body "Hej Erik, här kommer den reviderade fasadritningen för ärendet BN 2026/45 ($3)." \
        >"$2" 2>&1
}

# On exit, whatever happened: nothing of the test stays on the machine.
deb_cleanup() {
    set +e
    [ -n "${DPID:-}" ] && ! dm_pid_gone "$DPID" && kill -TERM "$DPID" && deb_wait_gone "$DPID" 60
    [ -n "${DPID:-}" ] && ! dm_pid_gone "$DPID" && kill -KILL "$DPID"
    deb_unit_stopped
    "$SM" stop "$T/sm" >/dev/null 2>&1
    "$PF" stop "$T/pf" >/dev/null 2>&1
    "$SLAPD" stop "$T/ldap" >/dev/null 2>&1
    if deb_installed || dpkg-query -W diariemilter >/dev/null 2>&1; then
        rm -rf /etc/diariemilter/templates
        deb_dpkg --purge diariemilter
    fi
    # Made by the package and kept by its purge, or by the daemon.
    rm -rf /var/lib/diariemilter /var/spool/diariemilter /var/log/diariemilter \
        /run/diariemilter
    if [ "$had_user" -eq 0 ] && getent passwd diariemilter >/dev/null; then
        deluser --quiet --system diariemilter >/dev/null 2>&1
        getent group diariemilter >/dev/null && delgroup --quiet --system diariemilter >/dev/null 2>&1
    fi
    if [ "$DM_FAILS" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$T"; else echo "kept $T"; fi
}
