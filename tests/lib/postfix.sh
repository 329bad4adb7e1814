#!/usr/bin/env bash
# tests/lib/postfix.sh - private Postfix test instances for diariemilter.
#
# Each instance lives entirely inside a caller-chosen directory DIR (normally
# a mktemp -d): its own config, queue and data directories, its own smtpd port
# on 127.0.0.1, and an smtp-sink on another port that captures every relayed
# message as one file in DIR/sink/.  Several instances can run side by side.
# Nothing outside DIR is created or changed (in particular not /etc/postfix).
# Must be run as root (Postfix's master and smtp-sink -u need it).
#
# Usage:
#   postfix.sh start DIR [--milter SPEC] [--port N] [--sink-port N]
#                        [--set NAME=VALUE]...
#       Create DIR/{etc,queue,data,sink,bin}, write main.cf/master.cf, start
#       smtp-sink and Postfix, wait until smtpd answers with 220.
#       --milter SPEC   smtpd_milters = non_smtpd_milters = SPEC
#                       (unix:/path or inet:PORT@127.0.0.1; a comma-separated
#                       list is passed through), milter_protocol = 6,
#                       milter_default_action = tempfail.
#       --port N        smtpd port (default: a free port picked at random).
#       --sink-port N   smtp-sink port (default: a free port).
#       --set NAME=VAL  extra main.cf setting (applied last; repeatable).
#       --no-sink-files smtp-sink accepts and discards (no -d; for
#                       benchmarks: writing files slows the sink a lot);
#                       wait-sink/sink-files then see nothing.
#       --sasl USER:PASSWORD
#                       SMTP AUTH (PLAIN, LOGIN) for this user (repeatable):
#                       Cyrus SASL with a sasldb of the instance's own,
#                       DIR/etc/sasl/sasldb2, realm sjovik.test
#                       (smtpd_sasl_local_domain), so a client logs in as
#                       USER and the milter sees {auth_authen} = USER.
#       Writes: DIR/port, DIR/sink_port, DIR/sink.pid (one number each);
#       DIR/env, sourceable: PF_DIR PF_PORT PF_SINK_PORT PF_CONFIG
#       PF_SINK_DIR PF_MAILLOG PF_SENDMAIL (the sendmail-argv words joined by
#       blanks, for unquoted $PF_SENDMAIL) PF_SENDMAIL_WRAPPER (DIR/sendmail,
#       a one-path sh wrapper for programs that take a single executable);
#       DIR/maillog (Postfix log), DIR/sink.log (smtp-sink output),
#       DIR/check.log and DIR/start.log (postfix check/start output).
#       DIR is made mode 0755 (smtp-sink runs as user postfix).
#   postfix.sh stop DIR
#       Stop Postfix (and make sure its master is gone) and smtp-sink.
#       Idempotent; succeeds when nothing runs or DIR does not exist.
#   postfix.sh sendmail-argv DIR
#       Print the argv that submits into this instance via sendmail(1), ONE
#       ARGUMENT PER LINE:
#           /usr/bin/env
#           MAIL_CONFIG=DIR/etc
#           /usr/sbin/sendmail
#           -i
#       Use: mapfile -t argv < <(postfix.sh sendmail-argv DIR)
#            "${argv[@]}" -f sender rcpt < msg
#       Works as root and as an unprivileged user (see "Non-root
#       submission").  "sendmail -C DIR/etc" works for root only.
#   postfix.sh wait-queue DIR [TIMEOUT]
#       Wait until incoming/active/deferred/maildrop/hold are empty (default
#       30 s); on timeout print the queue (postqueue -p) and fail.
#   postfix.sh wait-sink DIR N [TIMEOUT]
#       Wait until DIR/sink holds at least N *complete* message files (files
#       that smtp-sink no longer has open) (default 30 s).  The "complete"
#       test reads /proc/SINKPID/fd and so needs root; run as another user
#       it counts files still being written too.
#   postfix.sh sink-files DIR
#       List complete sink files, oldest first, one path per line.
#   postfix.sh sink-stop DIR / postfix.sh sink-start DIR
#       Stop / restart only the smtp-sink (same port), e.g. to make
#       deliveries defer and then retry them with flush.
#   postfix.sh flush DIR
#       postqueue -f for this instance (retry deferred mail now).
#   postfix.sh reload DIR
#       postfix -c DIR/etc reload (after postconf -c DIR/etc -e ...).
#
# Sink file format (smtp-sink -d): LF line endings (smtp-sink drops every CR
# and undoes dot-stuffing), beginning with smtp-sink's own lines
#   X-Client-Addr: 127.0.0.1
#   X-Client-Proto: ESMTP
#   X-Helo-Args: mx.sjovik.test
#   X-Mail-Args: <sender> [SIZE=.. BODY=..]
#   X-Rcpt-Args: <rcpt> [ORCPT=..]         (one per recipient)
#   Received: from mx.sjovik.test ([127.0.0.1])
#   <TAB>by sink.sjovik.test (smtp-sink) with ESMTP id 1a2b3c4d;
#   <TAB><date>
# followed by the message exactly as Postfix sent it (its headers, an empty
# line, the body), followed by one extra empty line.  Names are
# DIR/sink/YYYYmmddHHMMSS.<8 hex digits>.
#
# Non-root submission: for a non-root user, Postfix accepts a non-default
# config directory given with "sendmail -C" or to the set-gid
# postdrop/postqueue only when /etc/postfix/main.cf lists it in
# alternate_config_directories - and that file must not be created here.
# MAIL_CONFIG in the environment is trusted by programs that are not set-gid.
# So each instance gets command_directory = DIR/bin: symlinks to /usr/sbin/
# post* and sendmail, except plain (NOT set-gid) copies of postdrop and
# postqueue, and sendmail runs with MAIL_CONFIG=DIR/etc.  In exchange
# DIR/queue/maildrop is world-writable+sticky (1733) and DIR/queue/public
# world-searchable (0711).  Fine for a throw-away test instance, never for a
# real server.  postfix check/start log two harmless warnings per run about
# DIR/bin/postdrop and DIR/bin/postqueue not being set-gid.
# Non-root users can: submit mail (argv above), wait-queue, wait-sink (see
# there), sink-files, flush, and run "DIR/bin/postqueue -p" with MAIL_CONFIG
# set.  start, stop, sink-start, sink-stop and reload need root.

set -euo pipefail

PF_SBIN=/usr/sbin

die() { echo "postfix.sh: $*" >&2; exit 1; }
note() { echo "postfix.sh: $*" >&2; }

usage() {
	sed -n '/^# Usage:/,/^# Sink file format/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "$1 must run as root"
}

# abs_dir DIR: absolute path of an existing directory
abs_dir() {
	[ -d "$1" ] || die "no such directory: $1"
	(cd "$1" && pwd -P)
}

# listeners PORT: number of listening TCP sockets on PORT (any address).
# Postfix's master and smtp-sink bind with SO_REUSEPORT, so a second instance
# on a busy port starts without error and silently shares the port; hence
# this is checked before and after starting.
listeners() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p="$hex" 'FNR > 1 { split($2, a, ":"); if (a[2] == p && $4 == "0A") n++ }
		END { print n + 0 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

port_listening() {
	[ "$(listeners "$1")" -gt 0 ]
}

# pick_port: print a currently unused port below the ephemeral range
pick_port() {
	local p i
	for i in $(seq 1 200); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		port_listening "$p" || { echo "$p"; return 0; }
		: "$i"
	done
	die "cannot find a free port"
}

# smtp_banner PORT: true if PORT answers with a 220 greeting
smtp_banner() (
	line=""
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	IFS= read -r -t 5 line <&3 || true
	printf 'QUIT\r\n' >&3 || true
	case "$line" in 220*) exit 0 ;; *) exit 1 ;; esac
) 2>/dev/null

# alive PID: true if PID exists and is not a zombie
alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

master_pid() {
	local f="$1/queue/pid/master.pid" pid
	[ -f "$f" ] || return 1
	pid=$(awk '{ print $1; exit }' "$f")
	[ -n "$pid" ] && alive "$pid" || return 1
	# guard against pid reuse: must be a Postfix master
	grep -q master "/proc/$pid/comm" 2>/dev/null || return 1
	echo "$pid"
}

sink_pid() {
	local f="$1/sink.pid" pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && alive "$pid" || return 1
	# must be the smtp-sink of this instance (pid reuse, other instances)
	[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$PF_SBIN/smtp-sink" ] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null |
		grep -qxF "127.0.0.1:$(cat "$1/sink_port" 2>/dev/null)" || return 1
	echo "$pid"
}

write_main_cf() {
	local dir="$1" port="$2" sinkport="$3" milter="$4"
	cat >"$dir/etc/main.cf" <<EOF
# Private diariemilter test instance; generated by tests/lib/postfix.sh.
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
command_directory = $dir/bin
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-test
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = mx.sjovik.test
mydomain = sjovik.test
myorigin = sjovik.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relayhost = [127.0.0.1]:$sinkport
biff = no
append_dot_mydomain = no
readme_directory = no
# quick retries for tests that make the sink or milter fail
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 60s
EOF
	if [ -n "$milter" ]; then
		cat >>"$dir/etc/main.cf" <<EOF
smtpd_milters = $milter
non_smtpd_milters = $milter
milter_protocol = 6
milter_default_action = tempfail
EOF
	fi
	: "$port"
}

write_master_cf() {
	local dir="$1" port="$2"
	cat >"$dir/etc/master.cf" <<EOF
# Private diariemilter test instance; generated by tests/lib/postfix.sh.
# Nothing is chrooted (chroot = n), so unix: milter paths are used as given.
# service        type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$port  inet  n       -       n       -       -       smtpd
pickup           unix  n       -       n       60      1       pickup
cleanup          unix  n       -       n       -       0       cleanup
qmgr             unix  n       -       n       300     1       qmgr
tlsmgr           unix  -       -       n       1000?   1       tlsmgr
rewrite          unix  -       -       n       -       -       trivial-rewrite
bounce           unix  -       -       n       -       0       bounce
defer            unix  -       -       n       -       0       bounce
trace            unix  -       -       n       -       0       bounce
verify           unix  -       -       n       -       1       verify
flush            unix  n       -       n       1000?   0       flush
proxymap         unix  -       -       n       -       -       proxymap
proxywrite       unix  -       -       n       -       1       proxymap
smtp             unix  -       -       n       -       -       smtp
relay            unix  -       -       n       -       -       smtp
showq            unix  n       -       n       -       -       showq
error            unix  -       -       n       -       -       error
retry            unix  -       -       n       -       -       error
discard          unix  -       -       n       -       -       discard
local            unix  -       n       n       -       -       local
anvil            unix  -       -       n       -       1       anvil
scache           unix  -       -       n       -       1       scache
postlog          unix-dgram n  -       n       -       1       postlogd
EOF
}

# setup_bin DIR: private command_directory (see "Non-root submission")
setup_bin() {
	local dir="$1" f
	mkdir -p "$dir/bin"
	for f in "$PF_SBIN"/post* "$PF_SBIN"/sendmail; do
		[ -e "$f" ] || continue
		case "$(basename "$f")" in
		postdrop | postqueue) install -m 0755 -o root -g postdrop "$f" "$dir/bin/" ;;
		*) ln -sf "$f" "$dir/bin/" ;;
		esac
	done
}

# setup_sasl DIR USER:PASSWORD...: SMTP AUTH against a sasldb of the
# instance's own (smtpd is not chrooted here, so it reads DIR directly).
setup_sasl() {
	local dir="$1" up user pass
	shift
	command -v saslpasswd2 >/dev/null || die "--sasl needs saslpasswd2 (sasl2-bin)"
	mkdir -p "$dir/etc/sasl"
	rm -f "$dir/etc/sasl/sasldb2"
	cat >"$dir/etc/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $dir/etc/sasl/sasldb2
EOF
	for up in "$@"; do
		user=${up%%:*}
		pass=${up#*:}
		printf '%s' "$pass" | saslpasswd2 -p -c -f "$dir/etc/sasl/sasldb2" -u sjovik.test "$user" ||
			die "saslpasswd2 $user failed"
	done
	chown postfix:postfix "$dir/etc/sasl/sasldb2"
	chmod 0640 "$dir/etc/sasl/sasldb2"
	chmod 0755 "$dir/etc/sasl"
	postconf -c "$dir/etc" -e "smtpd_sasl_auth_enable = yes" "smtpd_sasl_type = cyrus" \
		"smtpd_sasl_path = smtpd" "cyrus_sasl_config_path = $dir/etc/sasl" \
		"smtpd_sasl_local_domain = sjovik.test" "smtpd_sasl_security_options = noanonymous"
}

start_sink() {
	local dir="$1" port="$2" pid dump=()
	rm -f "$dir/sink.pid"
	# -u postfix: drop root after binding; files are created by user postfix.
	# Template: DIR/sink/YYYYmmddHHMMSS. + 8 random hex digits (O_EXCL).
	[ -e "$dir/sink.nofiles" ] || dump=(-d "$dir/sink/%Y%m%d%H%M%S.")
	echo "$port" >"$dir/sink_port"
	setsid "$PF_SBIN/smtp-sink" -u postfix -h sink.sjovik.test -4 \
		${dump[@]+"${dump[@]}"} "127.0.0.1:$port" 512 \
		</dev/null >>"$dir/sink.log" 2>&1 &
	pid=$!
	echo "$pid" >"$dir/sink.pid"
	local i
	for i in $(seq 1 50); do
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			rm -f "$dir/sink.pid"
			return 1
		fi
		smtp_banner "$port" && return 0
		sleep 0.1
		: "$i"
	done
	kill "$pid" 2>/dev/null || true
	rm -f "$dir/sink.pid"
	return 1
}

cmd_start() {
	need_root start
	[ $# -ge 1 ] || usage
	local dir="$1"; shift
	local milter="" port="" sinkport="" sets=() nofiles="" sasl=()
	while [ $# -gt 0 ]; do
		case "$1" in
		--milter) [ $# -ge 2 ] || usage; milter="$2"; shift 2 ;;
		--milter=*) milter="${1#*=}"; shift ;;
		--port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
		--port=*) port="${1#*=}"; shift ;;
		--sink-port) [ $# -ge 2 ] || usage; sinkport="$2"; shift 2 ;;
		--sink-port=*) sinkport="${1#*=}"; shift ;;
		--set) [ $# -ge 2 ] || usage; sets+=("$2"); shift 2 ;;
		--no-sink-files) nofiles=1; shift ;;
		--sasl) [ $# -ge 2 ] || usage; sasl+=("$2"); shift 2 ;;
		--sasl=*) sasl+=("${1#*=}"); shift ;;
		--set=*) sets+=("${1#*=}"); shift ;;
		*) usage ;;
		esac
	done
	mkdir -p "$dir"
	dir=$(abs_dir "$dir")
	case "$dir" in *[[:space:],=\$]*) die "DIR must not contain blanks, ',', '=' or '\$': $dir" ;; esac
	if master_pid "$dir" >/dev/null; then die "an instance already runs in $dir"; fi
	# stale state of an earlier run in the same DIR (sink files are kept)
	rm -f "$dir/env" "$dir/port" "$dir/sink_port" "$dir/sink.pid"

	# smtp-sink (user postfix) needs to reach DIR/sink; non-root sendmail
	# needs DIR/etc and DIR/queue/maildrop.
	chmod 0755 "$dir"
	mkdir -p "$dir/etc" "$dir/sink" "$dir/queue"
	chmod 0755 "$dir/etc" "$dir/queue"
	chown postfix:postfix "$dir/sink"
	chmod 0755 "$dir/sink"
	setup_bin "$dir"
	rm -f "$dir/sink.nofiles"
	[ -z "$nofiles" ] || touch "$dir/sink.nofiles"
	# on any failure from here on, stop what was started
	PF_CLEANUP_DIR="$dir"
	trap 'cmd_stop "$PF_CLEANUP_DIR"' EXIT

	# smtp-sink first (Postfix needs its port for relayhost).
	local fixed_sink="$sinkport" tries=0
	while :; do
		[ -n "$fixed_sink" ] || sinkport=$(pick_port)
		if port_listening "$sinkport"; then
			[ -z "$fixed_sink" ] || die "sink port $sinkport is already in use"
		elif start_sink "$dir" "$sinkport"; then
			[ "$(listeners "$sinkport")" -eq 1 ] && break
			stop_sink "$dir"
			[ -z "$fixed_sink" ] || die "sink port $sinkport is already in use"
		else
			[ -z "$fixed_sink" ] || die "smtp-sink failed to start on port $sinkport: $(cat "$dir/sink.log")"
		fi
		tries=$((tries + 1))
		[ "$tries" -lt 10 ] || die "smtp-sink failed to start: $(cat "$dir/sink.log")"
	done

	local fixed_port="$port"
	tries=0
	while :; do
		[ -n "$fixed_port" ] || port=$(pick_port)
		if port_listening "$port"; then
			[ -z "$fixed_port" ] || die "port $port is already in use"
			continue
		fi
		write_main_cf "$dir" "$port" "$sinkport" "$milter"
		write_master_cf "$dir" "$port"
		[ ${#sasl[@]} -eq 0 ] || setup_sasl "$dir" "${sasl[@]}"
		local kv
		for kv in ${sets[@]+"${sets[@]}"}; do
			postconf -c "$dir/etc" -e "$kv"
		done
		if ! postfix -c "$dir/etc" check >>"$dir/check.log" 2>&1; then
			cat "$dir/check.log" >&2
			die "postfix check failed (see $dir/check.log)"
		fi
		# see "Non-root submission" above
		chmod 1733 "$dir/queue/maildrop"
		chmod 0711 "$dir/queue/public"
		if postfix -c "$dir/etc" start >>"$dir/start.log" 2>&1; then
			[ "$(listeners "$port")" -eq 1 ] && break
			stop_master "$dir"
			[ -z "$fixed_port" ] || die "port $port is already in use"
			note "port $port was taken meanwhile, retrying with another port"
		else
			cat "$dir/start.log" >&2
			tail -n 20 "$dir/maillog" >&2 2>/dev/null || true
			die "postfix failed to start (port $port)"
		fi
		tries=$((tries + 1))
		[ "$tries" -lt 10 ] || die "cannot find a free port for smtpd"
	done
	echo "$port" >"$dir/port"

	local i ok=""
	for i in $(seq 1 100); do
		if smtp_banner "$port"; then ok=1; break; fi
		sleep 0.1
		: "$i"
	done
	if [ -z "$ok" ]; then
		tail -n 20 "$dir/maillog" >&2 2>/dev/null || true
		die "smtpd on 127.0.0.1:$port does not answer"
	fi

	cat >"$dir/env" <<EOF
PF_DIR=$dir
PF_PORT=$port
PF_SINK_PORT=$sinkport
PF_CONFIG=$dir/etc
PF_SINK_DIR=$dir/sink
PF_MAILLOG=$dir/maillog
PF_SENDMAIL="$(cmd_sendmail_argv "$dir" | tr '\n' ' ' | sed 's/ $//')"
PF_SENDMAIL_WRAPPER=$dir/sendmail
EOF
	# one-path sendmail for programs that take a single executable
	cat >"$dir/sendmail" <<EOF
#!/bin/sh
# sendmail(1) into the private Postfix instance in $dir
MAIL_CONFIG=$dir/etc
export MAIL_CONFIG
exec $PF_SBIN/sendmail "\$@"
EOF
	chmod 0755 "$dir/sendmail"
	trap - EXIT
	note "instance in $dir: smtpd 127.0.0.1:$port, sink 127.0.0.1:$sinkport${milter:+, milter $milter}"
}

stop_master() {
	local dir="$1" pid i
	pid=$(master_pid "$dir") || return 0
	postfix -c "$dir/etc" stop >/dev/null 2>&1 || true
	for i in $(seq 1 100); do
		alive "$pid" || return 0
		sleep 0.1
		: "$i"
	done
	note "master $pid still running, killing its process group"
	kill -9 -- "-$pid" 2>/dev/null || kill -9 "$pid" 2>/dev/null || true
}

stop_sink() {
	local dir="$1" pid i
	if pid=$(sink_pid "$dir"); then
		kill "$pid" 2>/dev/null || true
		for i in $(seq 1 50); do
			alive "$pid" || break
			sleep 0.1
			: "$i"
		done
		if alive "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
	fi
	rm -f "$dir/sink.pid"
}

cmd_stop() {
	[ $# -eq 1 ] || usage
	need_root stop
	local dir="$1"
	[ -d "$dir" ] || return 0
	dir=$(abs_dir "$dir")
	stop_master "$dir"
	stop_sink "$dir"
	return 0
}

cmd_sendmail_argv() {
	[ $# -eq 1 ] || usage
	local dir
	dir=$(abs_dir "$1")
	[ -f "$dir/etc/main.cf" ] || die "no instance in $dir"
	# Not "sendmail -C DIR/etc": sendmail itself refuses -C with a
	# non-default directory for non-root users (it wants the directory in
	# alternate_config_directories of /etc/postfix/main.cf).  MAIL_CONFIG
	# from the environment is trusted by the non-set-gid sendmail and by
	# the non-set-gid postdrop copy in DIR/bin.
	printf '%s\n' /usr/bin/env "MAIL_CONFIG=$dir/etc" "$PF_SBIN/sendmail" -i
}

# queue_count DIR: number of messages in the instance's mail queues
queue_count() {
	if [ "$(id -u)" -eq 0 ]; then
		{ find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" \
			"$1/queue/maildrop" "$1/queue/hold" -type f 2>/dev/null || true; } | wc -l
	else # queue directories are private to user postfix: ask showq
		{ pf_postqueue "$1" -j || true; } | wc -l
	fi
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
			echo "postfix.sh: wait-queue: $n message(s) still queued after ${timeout}s in $dir:" >&2
			pf_postqueue "$dir" -p >&2 || true
			return 1
		fi
		sleep 0.1
	done
}

# complete_sink_files DIR: sink files not currently open in smtp-sink
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
			echo "postfix.sh: wait-sink: $n of $want message(s) in $dir/sink after ${timeout}s" >&2
			pf_postqueue "$dir" -p >&2 || true
			tail -n 10 "$dir/maillog" >&2 2>/dev/null || true
			return 1
		fi
		sleep 0.1
	done
}

cmd_sink_stop() {
	[ $# -eq 1 ] || usage
	need_root sink-stop
	stop_sink "$(abs_dir "$1")"
}

cmd_sink_start() {
	[ $# -eq 1 ] || usage
	need_root sink-start
	local dir port
	dir=$(abs_dir "$1")
	[ -f "$dir/sink_port" ] || die "no instance in $dir"
	sink_pid "$dir" >/dev/null && return 0
	port=$(cat "$dir/sink_port")
	port_listening "$port" && die "sink port $port is already in use"
	start_sink "$dir" "$port" || die "smtp-sink failed to start on port $port: $(cat "$dir/sink.log")"
}

# pf_postqueue DIR ARGS...: the instance's own (non-set-gid) postqueue, which
# also works for non-root users
pf_postqueue() {
	local dir="$1"; shift
	MAIL_CONFIG="$dir/etc" "$dir/bin/postqueue" "$@"
}

cmd_flush() {
	[ $# -eq 1 ] || usage
	pf_postqueue "$(abs_dir "$1")" -f
}

cmd_reload() {
	[ $# -eq 1 ] || usage
	need_root reload
	postfix -c "$(abs_dir "$1")/etc" reload
}

main() {
	[ $# -ge 1 ] || usage
	local cmd="$1"; shift
	case "$cmd" in
	start) cmd_start "$@" ;;
	stop) cmd_stop "$@" ;;
	sendmail-argv) cmd_sendmail_argv "$@" ;;
	wait-queue) cmd_wait_queue "$@" ;;
	wait-sink) cmd_wait_sink "$@" ;;
	sink-files) cmd_sink_files "$@" ;;
	sink-stop) cmd_sink_stop "$@" ;;
	sink-start) cmd_sink_start "$@" ;;
	flush) cmd_flush "$@" ;;
	reload) cmd_reload "$@" ;;
	-h | --help | help) usage ;;
	*) usage ;;
	esac
}

main "$@"
