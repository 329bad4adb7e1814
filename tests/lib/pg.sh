#!/usr/bin/env bash
# tests/lib/pg.sh - a private PostgreSQL for diariemilter's tests and
# benchmarks: a cluster made by initdb inside DIR, listening only on a
# unix socket in DIR (no TCP port), run as the postgres user (initdb and
# the server refuse root).  Nothing outside DIR is created or changed.
#
# Usage:
#   pg.sh start DIR [--fast]   initdb DIR/data (first time), start the server,
#                              create the database "diarie"; write DIR/uri,
#                              a libpq URI for [store] database.  --fast:
#                              fsync off (tests; never for the benchmark).
#   pg.sh stop DIR [MODE]      pg_ctl stop (MODE: fast, the default, or
#                              immediate: a crash); idempotent.
#   pg.sh restart DIR          start again after a stop (same data).
#   pg.sh psql DIR [ARGS...]   psql on the database, as postgres.
#   pg.sh reset DIR            drop and create the database "diarie".
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}

die() { echo "pg.sh: $*" >&2; exit 1; }

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

running() {
	as_pg "$PG_BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1
}

start() {
	local dir=$1 fast=$2
	[ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server (scripts/deps.sh installs postgresql)"
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd -P)
	chmod 755 "$dir"
	if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
	if [ ! -s "$dir/data/PG_VERSION" ]; then
		as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync \
			>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
		{
			echo "listen_addresses = ''"
			echo "unix_socket_directories = '$dir'"
			echo "max_connections = 100"
			echo "shared_buffers = 64MB"
			# fsync off: the data survive the server killed (its WAL is in the
			# kernel), not the machine; commits are still waited for.
			if [ "$fast" = 1 ]; then echo "fsync = off"; fi
		} >>"$dir/data/postgresql.conf"
	fi
	running "$dir" && return 0
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; die "the server did not start"; }
	if ! as_pg "$PG_BIN/psql" -h "$dir" -U postgres -d postgres -Atqc \
		"SELECT 1 FROM pg_database WHERE datname = 'diarie'" | grep -q 1; then
		as_pg "$PG_BIN/createdb" -h "$dir" -U postgres diarie
	fi
	printf 'postgresql:///diarie?host=%s&user=postgres\n' "$dir" >"$dir/uri"
}

stop() {
	local dir=$1 mode=${2:-fast}
	[ -d "$dir/data" ] || return 0
	running "$dir" || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 30 stop >/dev/null 2>&1 || true
}

main() {
	[ $# -ge 2 ] || die "usage: pg.sh start DIR [--fast] | stop DIR [MODE] | restart DIR | psql DIR [ARGS] | reset DIR"
	local cmd=$1 dir=$2
	shift 2
	case $cmd in
	start) start "$dir" "$([ "${1:-}" = --fast ] && echo 1 || echo 0)" ;;
	stop) stop "$dir" "${1:-fast}" ;;
	restart)
		as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null ;;
	psql) as_pg "$PG_BIN/psql" -h "$dir" -U postgres -d diarie -X "$@" ;;
	reset)
		as_pg "$PG_BIN/dropdb" -h "$dir" -U postgres --if-exists diarie
		as_pg "$PG_BIN/createdb" -h "$dir" -U postgres diarie ;;
	*) die "unknown command $cmd" ;;
	esac
}

main "$@"
