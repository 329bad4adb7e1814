#!/usr/bin/env bash
# tests/lib/sendmail.sh - private Sendmail 8.17 test instances for diariemilter.
#
# Debian's sendmail-bin conflicts with postfix, so Sendmail is not installed:
# its .debs (sendmail-bin, sendmail-base, sendmail-cf, m4, and sasl2-bin for
# saslpasswd2) are fetched once with "apt-get download" into a cache and
# unpacked there with "dpkg-deb -x"; nothing is installed on the host.
#
# An instance lives entirely inside a caller-chosen directory DIR: a
# sendmail.cf generated with m4 from a sendmail.mc (the MTA, listening on
# 127.0.0.1, relaying everything to an smtp-sink that writes each message
# to DIR/sink/, and with diariemilter through packaging/sendmail/
# diariemilter.m4), a submit.cf for the mail submission program (MSP:
# sendmail(1) as a Sendmail site has it, which hands each message to the
# MTA over SMTP, so that it passes the milter), its own queues, and a
# Cyrus SASL sasldb for SMTP AUTH.  Must be run as root.
#
# Sendmail qualifies its host name before it reads any configuration and
# sleeps 60 s when the name has no dot; so the daemon and every sendmail(1)
# of an instance run under "unshare --uts" with the host name
# mx.sjovik.test, unless the host's own name has a dot already.
#
# Usage:
#   sendmail.sh fetch
#       Fill the cache (default build/cache/sendmail, or $SM_CACHE) once;
#       print the directory of the unpacked tree.
#   sendmail.sh start DIR [--milter SPEC] [--port N] [--sink-port N]
#                         [--user LOGIN:PASSWORD]...
#       Write DIR/etc/{sendmail,submit}.{mc,cf}, start smtp-sink and the
#       Sendmail daemon, wait until it answers with 220.
#       --milter SPEC   diariemilter's socket in Sendmail's spelling
#                       (inet:PORT@127.0.0.1); the .mc includes
#                       packaging/sendmail/diariemilter.m4 with it.
#       --port N        the daemon's port (default: a free one).
#       --sink-port N   smtp-sink's port (default: a free one).
#       --user L:P      an SMTP AUTH (PLAIN, LOGIN) login in the sasldb.
#       Writes DIR/env, sourceable: SM_DIR SM_PORT SM_SINK_PORT SM_CF
#       SM_SUBMIT_CF SM_SINK_DIR SM_TRAFFIC (the daemon's SMTP and milter
#       conversation log, sendmail -X) SM_SENDMAIL (DIR/sendmail, a one-path
#       sendmail(1) of this instance: the MSP, with -C DIR/etc/submit.cf).
#   sendmail.sh stop DIR
#       Stop the daemon and everything it started, and smtp-sink.
#       Idempotent.
#   sendmail.sh wait-queue DIR [TIMEOUT]
#       Wait until the MTA's and the MSP's queues are empty (default 30 s).
#   sendmail.sh wait-sink DIR N [TIMEOUT]
#       Wait until DIR/sink holds at least N complete files (default 30 s).
#   sendmail.sh sink-files DIR
#       List complete sink files, oldest first.
#
# Sink files are smtp-sink -d files, as described in tests/lib/postfix.sh.

set -euo pipefail

DM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SM_CACHE=${SM_CACHE:-$DM_REPO/build/cache/sendmail}
SM_PKGS="sendmail-bin sendmail-base sendmail-cf m4 sasl2-bin"
SM_HOST=mx.sjovik.test
SINK=/usr/sbin/smtp-sink

die() { echo "sendmail.sh: $*" >&2; exit 1; }

usage() {
	sed -n '/^# Usage:/,/^# Sink files/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "$1 must run as root"
}

abs_dir() {
	[ -d "$1" ] || die "no such directory: $1"
	(cd "$1" && pwd -P)
}

# listeners PORT: listening TCP sockets on PORT
listeners() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == p && $4 == "0A") n++ }
		END { print n + 0 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

pick_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		[ "$(listeners "$p")" -gt 0 ] || { echo "$p"; return 0; }
		: "$i"
	done
	die "cannot find a free port"
}

smtp_banner() (
	line=""
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	IFS= read -r -t 5 line <&3 || true
	printf 'QUIT\r\n' >&3 || true
	case "$line" in 220*) exit 0 ;; *) exit 1 ;; esac
) 2>/dev/null

alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# ---- the cache -----------------------------------------------------------

cmd_fetch() {
	local root="$SM_CACHE/root" work deb
	if [ -f "$SM_CACHE/.complete" ]; then
		printf '%s\n' "$root"
		return 0
	fi
	command -v apt-get >/dev/null || die "apt-get is needed to fetch Sendmail's packages"
	mkdir -p "$SM_CACHE"
	work=$(mktemp -d "$SM_CACHE/fetch.XXXXXX")
	# apt-get download drops root for the download (user _apt).
	chmod 0755 "$work"
	chown _apt "$work" 2>/dev/null || true
	# shellcheck disable=SC2086
	if ! (cd "$work" && apt-get download $SM_PKGS) >"$SM_CACHE/fetch.log" 2>&1; then
		rm -rf "$work"
		die "apt-get download $SM_PKGS failed (see $SM_CACHE/fetch.log)"
	fi
	rm -rf "$root"
	mkdir -p "$root"
	for deb in "$work"/*.deb; do
		dpkg-deb -x "$deb" "$root"
	done
	# The packages make sendmail and mailstats set-gid; a copy under build/
	# must not be.  (libsasl2 also ignores SASL_CONF_PATH in a set-gid
	# process, see write_sasl.)
	find "$root" -type f -perm /6000 -exec chmod ug-s {} +
	mkdir -p "$SM_CACHE/debs"
	mv "$work"/*.deb "$SM_CACHE/debs/"
	rm -rf "$work"
	touch "$SM_CACHE/.complete"
	printf '%s\n' "$root"
}

# ---- an instance ---------------------------------------------------------

# in_uts CMD...: run CMD with an FQDN host name (see the head of this file)
in_uts() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	case "$(hostname)" in
	*.*) "$@" ;;
	*) unshare --uts sh -c 'hostname "$0" && exec "$@"' "$SM_HOST" "$@" ;;
	esac
}

# The parts of the .mc the MTA and the MSP share: paths inside DIR, no DNS.
write_common_mc() {
	local dir="$1"
	cat <<EOF
define(\`confDOMAIN_NAME', \`$SM_HOST')dnl
define(\`confSERVICE_SWITCH_FILE', \`$dir/etc/service.switch')dnl
define(\`confHOSTS_FILE', \`$dir/etc/hosts')dnl
define(\`HELP_FILE', \`$SM_ROOT/etc/mail/helpfile')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_IDENT', \`0s')dnl
dnl A loaded test machine must not make Sendmail queue instead of deliver.
define(\`confQUEUE_LA', \`1000')dnl
define(\`confREFUSE_LA', \`1000')dnl
define(\`confDELAY_LA', \`0')dnl
dnl DIR is under /tmp, which is world-writable but sticky: without this
dnl Sendmail ignores DIR/etc/sasl (see safesaslfile in its source).
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
EOF
}

write_sendmail_mc() {
	local dir="$1" port="$2" sinkport="$3" milter="$4"
	{
		cat <<EOF
divert(-1)
# Private diariemilter test instance; generated by tests/lib/sendmail.sh.
divert(0)dnl
OSTYPE(\`linux')dnl
EOF
		write_common_mc "$dir"
		cat <<EOF
define(\`QUEUE_DIR', \`$dir/mqueue')dnl
define(\`confPID_FILE', \`$dir/sendmail.pid')dnl
define(\`STATUS_FILE', \`$dir/sendmail.st')dnl
undefine(\`ALIAS_FILE')dnl
define(\`confDEF_USER_ID', \`mail:mail')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $sinkport')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $sinkport')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Port=$port, Addr=127.0.0.1, Name=MTA')dnl
define(\`confAUTH_MECHANISMS', \`PLAIN LOGIN')dnl
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
EOF
		if [ -n "$milter" ]; then
			printf "define(\`DIARIEMILTER_SOCKET', \`%s')dnl\n" "$milter"
			printf "include(\`%s/packaging/sendmail/diariemilter.m4')dnl\n" "$DM_REPO"
		fi
		cat <<EOF
MAILER(\`local')dnl
MAILER(\`smtp')dnl
LOCAL_CONFIG
# Sendmail empties its environment; E puts this back for libsasl2, which
# then reads $dir/etc/sasl/Sendmail.conf instead of /etc/sasl2.
ESASL_CONF_PATH=$dir/etc/sasl
EOF
	} >"$dir/etc/sendmail.mc"
}

write_submit_mc() {
	local dir="$1" port="$2"
	{
		cat <<EOF
divert(-1)
# The mail submission program of a private diariemilter test instance:
# sendmail(1) hands each message to the MTA on 127.0.0.1:$port over SMTP,
# as Debian's /usr/sbin/sendmail (submit.cf) does to port 25.
divert(0)dnl
define(\`confCF_VERSION', \`Submit')dnl
define(\`__OSTYPE__',\`')dnl
define(\`confTIME_ZONE', \`USE_TZ')dnl
define(\`confDONT_INIT_GROUPS', \`True')dnl
EOF
		write_common_mc "$dir"
		cat <<EOF
dnl Debian's MSP runs as smmsp; this one as mail (an MSP refuses root).
define(\`confRUN_AS_USER', \`mail:mail')dnl
define(\`MSP_QUEUE_DIR', \`$dir/clientmqueue')dnl
define(\`confPID_FILE', \`$dir/sm-client.pid')dnl
define(\`STATUS_FILE', \`$dir/sm-client.st')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $port')dnl
FEATURE(\`msp', \`[127.0.0.1]')dnl
EOF
	} >"$dir/etc/submit.mc"
}

# write_sasl DIR LOGIN:PASSWORD...: Sendmail.conf and a sasldb in DIR/etc
write_sasl() {
	local dir="$1" up
	shift
	mkdir -p "$dir/etc/sasl"
	cat >"$dir/etc/sasl/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $dir/etc/sasl/sasldb2
mech_list: PLAIN LOGIN
EOF
	rm -f "$dir/etc/sasl/sasldb2"
	for up in "$@"; do
		printf '%s' "${up#*:}" |
			"$SM_ROOT/usr/sbin/saslpasswd2" -p -c -f "$dir/etc/sasl/sasldb2" \
				-u "$SM_HOST" "${up%%:*}" ||
			die "saslpasswd2 failed for ${up%%:*}"
	done
	# Sendmail refuses a group- or world-readable sasldb.
	[ ! -e "$dir/etc/sasl/sasldb2" ] || chmod 0600 "$dir/etc/sasl/sasldb2"
}

m4_cf() {
	local mc="$1" cf="$2" cfdir="$SM_ROOT/usr/share/sendmail/cf"
	"$SM_ROOT/usr/bin/m4" -D_CF_DIR_="$cfdir/" "$cfdir/m4/cf.m4" "$mc" >"$cf.tmp" ||
		die "m4 failed on $mc"
	mv "$cf.tmp" "$cf"
}

daemon_pid() {
	local f="$1/sendmail.pid" pid
	[ -f "$f" ] || return 1
	pid=$(head -n 1 "$f")
	[ -n "$pid" ] && alive "$pid" || return 1
	# guard against pid reuse: this instance's Sendmail
	[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$SM_ROOT/usr/libexec/sendmail/sendmail" ] ||
		return 1
	echo "$pid"
}

sink_pid() {
	local f="$1/sink.pid" pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && alive "$pid" || return 1
	[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$SINK" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
		grep -qxF "127.0.0.1:$(cat "$1/sink_port" 2>/dev/null)" || return 1
	echo "$pid"
}

start_sink() {
	local dir="$1" port="$2" pid i
	echo "$port" >"$dir/sink_port"
	setsid "$SINK" -u postfix -h sink.sjovik.test -4 -d "$dir/sink/%Y%m%d%H%M%S." \
		"127.0.0.1:$port" 512 </dev/null >>"$dir/sink.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/sink.pid"
	for i in $(seq 1 50); do
		alive "$pid" || return 1
		smtp_banner "$port" && [ "$(listeners "$port")" -eq 1 ] && return 0
		sleep 0.1
		: "$i"
	done
	return 1
}

cmd_start() {
	need_root start
	[ $# -ge 1 ] || usage
	local dir="$1"; shift
	local milter="" port="" sinkport="" users=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--milter) [ $# -ge 2 ] || usage; milter="$2"; shift 2 ;;
		--port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
		--sink-port) [ $# -ge 2 ] || usage; sinkport="$2"; shift 2 ;;
		--user) [ $# -ge 2 ] || usage; users+=("$2"); shift 2 ;;
		*) usage ;;
		esac
	done
	SM_ROOT=$(cmd_fetch)
	mkdir -p "$dir"
	dir=$(abs_dir "$dir")
	case "$dir" in *[[:space:],\'\`\$]*) die "DIR must not contain blanks, commas, quotes or '\$': $dir" ;; esac
	if daemon_pid "$dir" >/dev/null; then die "an instance already runs in $dir"; fi
	rm -f "$dir/env" "$dir/sendmail.pid" "$dir/sink.pid"
	chmod 0755 "$dir"
	mkdir -p "$dir/etc" "$dir/sink" "$dir/mqueue" "$dir/clientmqueue"
	chmod 0700 "$dir/mqueue"
	chown mail:mail "$dir/clientmqueue"
	chmod 0770 "$dir/clientmqueue"
	chown postfix:postfix "$dir/sink"
	printf 'hosts\tfiles\n' >"$dir/etc/service.switch"
	printf '127.0.0.1\t%s localhost\n' "$SM_HOST" >"$dir/etc/hosts"
	SM_CLEANUP_DIR="$dir"
	trap 'cmd_stop "$SM_CLEANUP_DIR"' EXIT

	[ -n "$sinkport" ] || sinkport=$(pick_port)
	start_sink "$dir" "$sinkport" || die "smtp-sink did not start on port $sinkport: $(cat "$dir/sink.log")"
	[ -n "$port" ] || port=$(pick_port)
	[ "$(listeners "$port")" -eq 0 ] || die "port $port is already in use"

	write_sasl "$dir" ${users[@]+"${users[@]}"}
	write_sendmail_mc "$dir" "$port" "$sinkport" "$milter"
	write_submit_mc "$dir" "$port"
	m4_cf "$dir/etc/sendmail.mc" "$dir/etc/sendmail.cf"
	m4_cf "$dir/etc/submit.mc" "$dir/etc/submit.cf"

	# -bd: the daemon (it detaches and writes its pid file); -q1m: a queue
	# run every minute retries what the sink or the milter deferred;
	# -X: every SMTP line of the daemon and its children, for diagnosis.
	: >"$dir/traffic.log"
	if ! in_uts "$SM_ROOT/usr/libexec/sendmail/sendmail" -C "$dir/etc/sendmail.cf" \
		-bd -q1m -X "$dir/traffic.log" </dev/null >"$dir/start.log" 2>&1; then
		cat "$dir/start.log" >&2
		die "sendmail did not start"
	fi
	local i ok=""
	for i in $(seq 1 100); do
		if daemon_pid "$dir" >/dev/null && smtp_banner "$port" &&
			[ "$(listeners "$port")" -eq 1 ]; then
			ok=1
			break
		fi
		sleep 0.1
		: "$i"
	done
	if [ -z "$ok" ]; then
		cat "$dir/start.log" >&2
		die "sendmail on 127.0.0.1:$port does not answer"
	fi

	# sendmail(1) of this instance, for programs that take one path
	cat >"$dir/sendmail" <<EOF
#!/bin/sh
# sendmail(1) of the private Sendmail instance in $dir: the MSP
# (submit.cf), which hands the message to the MTA on port $port.
case "\$(hostname)" in
*.*) exec $SM_ROOT/usr/libexec/sendmail/sendmail -C $dir/etc/submit.cf "\$@" ;;
*) exec unshare --uts sh -c 'hostname $SM_HOST && exec "\$@"' sh \\
	$SM_ROOT/usr/libexec/sendmail/sendmail -C $dir/etc/submit.cf "\$@" ;;
esac
EOF
	chmod 0755 "$dir/sendmail"
	cat >"$dir/env" <<EOF
SM_DIR=$dir
SM_PORT=$port
SM_SINK_PORT=$sinkport
SM_CF=$dir/etc/sendmail.cf
SM_SUBMIT_CF=$dir/etc/submit.cf
SM_SINK_DIR=$dir/sink
SM_TRAFFIC=$dir/traffic.log
SM_SENDMAIL=$dir/sendmail
EOF
	trap - EXIT
	echo "sendmail.sh: instance in $dir: 127.0.0.1:$port, sink 127.0.0.1:$sinkport${milter:+, milter $milter}" >&2
}

cmd_stop() {
	[ $# -eq 1 ] || usage
	need_root stop
	local dir="$1" pid i
	[ -d "$dir" ] || return 0
	dir=$(abs_dir "$dir")
	SM_ROOT="$SM_CACHE/root"
	if pid=$(daemon_pid "$dir"); then
		# The daemon leads its own process group (it called setsid);
		# SIGTERM to the group ends its SMTP and delivery children too.
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		for i in $(seq 1 100); do
			alive "$pid" || break
			sleep 0.1
			: "$i"
		done
		if alive "$pid"; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
	fi
	if pid=$(sink_pid "$dir"); then
		kill "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			alive "$pid" || break
			sleep 0.1
			: "$i"
		done
		if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
	fi
	rm -f "$dir/sink.pid"
	return 0
}

queue_count() {
	{ find "$1/mqueue" "$1/clientmqueue" -type f -name 'qf*' 2>/dev/null || true; } | wc -l
}

cmd_wait_queue() {
	case $# in 1 | 2) ;; *) usage ;; esac
	local dir timeout n
	dir=$(abs_dir "$1")
	timeout="${2:-30}"
	local deadline=$((SECONDS + timeout))
	while :; do
		n=$(queue_count "$dir")
		[ "$n" -eq 0 ] && return 0
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "sendmail.sh: wait-queue: $n message(s) still queued after ${timeout}s in $dir" >&2
			return 1
		fi
		sleep 0.1
	done
}

complete_sink_files() {
	local dir="$1" pid open=""
	if pid=$(sink_pid "$dir"); then
		open=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null || true)
	fi
	find "$dir/sink" -maxdepth 1 -type f -printf '%T@ %p\n' 2>/dev/null | sort -n |
		cut -d' ' -f2- | { if [ -n "$open" ]; then grep -vxF -- "$open" || true; else cat; fi; }
}

cmd_sink_files() {
	[ $# -eq 1 ] || usage
	complete_sink_files "$(abs_dir "$1")"
}

cmd_wait_sink() {
	case $# in 2 | 3) ;; *) usage ;; esac
	local dir want timeout n
	dir=$(abs_dir "$1")
	want="$2"
	timeout="${3:-30}"
	case "$want" in '' | *[!0-9]*) usage ;; esac
	local deadline=$((SECONDS + timeout))
	while :; do
		n=$(complete_sink_files "$dir" | wc -l)
		[ "$n" -ge "$want" ] && return 0
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "sendmail.sh: wait-sink: $n of $want message(s) in $dir/sink after ${timeout}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

main() {
	[ $# -ge 1 ] || usage
	local cmd="$1"; shift
	case "$cmd" in
	fetch) [ $# -eq 0 ] || usage; cmd_fetch ;;
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	wait-queue) cmd_wait_queue "$@" ;;
	wait-sink) cmd_wait_sink "$@" ;;
	sink-files) cmd_sink_files "$@" ;;
	*) usage ;;
	esac
}

main "$@"
