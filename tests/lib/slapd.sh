#!/bin/sh
# slapd.sh: run a private, throw-away slapd for tests.
#
#   tests/lib/slapd.sh start   DIR [LDIF]   configure DIR, load LDIF, start
#   tests/lib/slapd.sh stop    DIR          stop it (idempotent)
#   tests/lib/slapd.sh restart DIR          stop, start again: same port, same data
#   tests/lib/slapd.sh status  DIR          exit 0 when it is running
#   tests/lib/slapd.sh tls     DIR CERT KEY CA
#                              serve TLS too (restarts it): StartTLS on the
#                              ldap:// port, and ldaps:// on a second port
#
# DIR is chosen by the caller (e.g. "mktemp -d"); it may exist but must not
# hold an instance yet.  LDIF defaults to ../shared/fixtures/sjovik.ldif
# beside the repository; it is loaded unchanged with slapadd.
#
# The server listens only on ldap://127.0.0.1:PORT/ and on a unix socket
# DIR/ldapi.  It serves dc=sjovik,dc=test from an mdb database in DIR/db;
# anonymous binds may read everything; the rootdn is
# cn=admin,dc=sjovik,dc=test with password "secret".  cn=config (DIR/slapd.d)
# can be changed by the current user with SASL EXTERNAL over ldapi.
#
# "tls" sets the certificate, its key and the CA in cn=config (over ldapi),
# picks a second port and restarts slapd listening on ldaps:// there too;
# it writes DIR/ldaps_port and DIR/ldaps_uri (ldaps://127.0.0.1:PORT/),
# sets SLAPD_LDAPS_URI in DIR/env and prints the ldaps:// URI.  The files
# must stay readable while the instance lives; restarts keep TLS.
#
# "start" prints the ldap:// URI on stdout and writes, without a trailing
# newline:
#   DIR/uri        ldap://127.0.0.1:PORT/
#   DIR/ldapi_uri  ldapi://%2F...%2Fldapi
#   DIR/port       PORT
#   DIR/slapd.pid  process id of slapd
#   DIR/admin.pw   the rootdn password (usable with ldapmodify -y)
#   DIR/env        the same as shell assignments, for ". DIR/env"
# slapd's output goes to DIR/slapd.log.  Its debug level is $SLAPD_DEBUG,
# default "none": errors, start and stop only ("-d 0" would hide even a
# failed bind).  SLAPD_DEBUG=stats logs every operation.
#
# Only private files are touched: never /etc/ldap/slapd.d nor a system slapd.
# Several instances may run at once, each in its own DIR.

set -eu

SUFFIX='dc=sjovik,dc=test'
ROOTDN="cn=admin,$SUFFIX"
ROOTPW='secret'
SCHEMA_DIR=${SLAPD_SCHEMA_DIR:-/etc/ldap/schema}
# The system schemas loaded before diarie.ldif, in order.  misc is needed:
# the fixture's people are inetLocalMailRecipient with mailRoutingAddress
# ([ldap] attr_routing).  (A test leaves it out to see the error say so.)
SCHEMAS=${SLAPD_SCHEMAS:-core cosine inetorgperson misc}
MODULE_DIR=${SLAPD_MODULE_DIR:-/usr/lib/ldap}
SLAPD=${SLAPD:-/usr/sbin/slapd}
SLAPADD=${SLAPADD:-/usr/sbin/slapadd}
DEBUG_LEVEL=${SLAPD_DEBUG:-none}
START_TIMEOUT=${SLAPD_START_TIMEOUT:-10}

# Neither /etc/ldap/ldap.conf nor ~/.ldaprc may change what the probes do.
LDAPNOINIT=1
export LDAPNOINIT

HERE=$(cd "$(dirname "$0")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
PROJECT_SCHEMA="$REPO/etc/ldap/diarie.ldif"
DEFAULT_LDIF="$REPO/../shared/fixtures/sjovik.ldif"

prog=slapd.sh

usage() {
    echo "usage: $prog start DIR [LDIF] | stop DIR | restart DIR | status DIR |" \
        "tls DIR CERT KEY CA" >&2
    exit 2
}

die() {
    echo "$prog: $*" >&2
    exit 1
}

# Percent-encode $1 for use in a URL (keeps only A-Z a-z 0-9 - . _ ~).
urlencode() {
    printf '%s' "$1" | LC_ALL=C awk '
        BEGIN { for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i }
        {
            if (NR > 1) printf "%%0A"
            n = length($0)
            for (i = 1; i <= n; i++) {
                c = substr($0, i, 1)
                if (c ~ /[A-Za-z0-9._~-]/) printf "%s", c
                else printf "%%%02X", ord[c]
            }
        }'
}

# Is process $1 alive (and not a zombie)?
alive() {
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $st in
        Z*|"") return 1 ;;
    esac
    return 0
}

# Is process $1 the slapd of this DIR?
is_our_slapd() {
    alive "$1" || return 1
    args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
    case $args in
        *slapd*" -F $DIR/slapd.d "*) return 0 ;;
    esac
    return 1
}

# Is something listening on TCP port $1 (any address)?  Linux only; elsewhere
# slapd's own bind error tells us.
port_busy() {
    hex=$(printf '%04X' "$1")
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        if awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' "$f"; then
            return 0
        fi
    done
    return 1
}

# A random port below the kernel's ephemeral range (so that no outgoing
# connection can take it between a stop and a restart) that nothing
# listens on.
pick_port() {
    i=0
    while [ $i -lt 100 ]; do
        i=$((i + 1))
        r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
        p=$((20000 + r % 12000))
        if ! port_busy "$p"; then
            echo "$p"
            return 0
        fi
    done
    die "no free TCP port found"
}

log_tail() {
    if [ -f "$DIR/slapd.log" ]; then
        echo "--- last lines of $DIR/slapd.log:" >&2
        tail -n 25 "$DIR/slapd.log" >&2
        echo "---" >&2
    fi
}

# Does slapd answer on $1?  timeout(1) guards against a foreign listener
# that accepts and never replies (nettimeout covers only the connect).
probe() {
    timeout 3 ldapsearch -x -LLL -H "$1" -o nettimeout=1 \
        -b "$SUFFIX" -s base dn >/dev/null 2>&1
}

write_file() {  # name value: DIR/name gets value, no trailing newline
    printf '%s' "$2" >"$DIR/$1.tmp"
    mv -f "$DIR/$1.tmp" "$DIR/$1"
}

# Start slapd on port $1.  $2 = "any" lets it move to another port when
# that one is taken; "fixed" insists on it (restart).
launch() {
    port=$1
    mode=$2
    case $port in
        ''|*[!0-9]*) die "bad port: '$port'" ;;
    esac
    ldapi_uri="ldapi://$(urlencode "$DIR/ldapi")"
    ldaps_uri=
    if [ -s "$DIR/ldaps_port" ]; then
        ldaps_uri="ldaps://127.0.0.1:$(cat "$DIR/ldaps_port")/"
    fi
    deadline=$(($(date +%s) + START_TIMEOUT))
    attempts=0
    while :; do
        attempts=$((attempts + 1))
        uri="ldap://127.0.0.1:$port/"
        rm -f "$DIR/ldapi"
        echo "=== $(date '+%Y-%m-%d %H:%M:%S') starting slapd on $uri" >>"$DIR/slapd.log"
        "$SLAPD" -d "$DEBUG_LEVEL" -F "$DIR/slapd.d" -h "$uri $ldapi_uri${ldaps_uri:+ $ldaps_uri}" \
            </dev/null >>"$DIR/slapd.log" 2>&1 &
        pid=$!
        write_file slapd.pid "$pid"
        while :; do
            if ! alive "$pid"; then
                wait "$pid" 2>/dev/null || true
                if tail -n 5 "$DIR/slapd.log" | grep -q 'Address already in use' ||
                    port_busy "$port"; then
                    break
                fi
                rm -f "$DIR/slapd.pid"
                log_tail
                die "slapd exited at start ($uri)"
            fi
            if [ "$(date +%s)" -ge "$deadline" ]; then
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                rm -f "$DIR/slapd.pid"
                log_tail
                die "slapd did not answer on $uri within ${START_TIMEOUT}s"
            fi
            # slapd opens its listeners in the order given by -h: once the
            # ldapi socket exists, the TCP port is slapd's, not a stranger's.
            if [ -S "$DIR/ldapi" ] && probe "$uri"; then
                break 2
            fi
            sleep 0.1
        done
        # Port taken.
        rm -f "$DIR/slapd.pid"
        if [ "$mode" = fixed ]; then
            if [ "$(date +%s)" -ge "$deadline" ]; then
                log_tail
                die "port $port is taken by another process; cannot restart on it"
            fi
            sleep 0.5
        else
            [ $attempts -lt 20 ] || { log_tail; die "could not find a free port"; }
            port=$(pick_port)
        fi
    done
    write_file port "$port"
    write_file uri "$uri"
    write_file ldapi_uri "$ldapi_uri"
    if [ -n "$ldaps_uri" ]; then
        write_file ldaps_uri "$ldaps_uri"
    fi
    write_file env "SLAPD_URI='$uri'
SLAPD_LDAPI_URI='$ldapi_uri'
SLAPD_LDAPS_URI='$ldaps_uri'
SLAPD_PORT=$port
SLAPD_PID=$pid
SLAPD_SUFFIX='$SUFFIX'
SLAPD_ROOTDN='$ROOTDN'
SLAPD_ROOTPW_FILE='$DIR/admin.pw'
"
    echo "$uri"
}

do_stop() {
    [ -f "$DIR/slapd.pid" ] || return 0
    pid=$(cat "$DIR/slapd.pid")
    case $pid in
        ''|*[!0-9]*) rm -f "$DIR/slapd.pid"; return 0 ;;
    esac
    if is_our_slapd "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while alive "$pid"; do
            i=$((i + 1))
            if [ $i -eq 100 ]; then      # 10 s: be firm
                echo "$prog: slapd $pid ignores SIGTERM, killing it" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
            if [ $i -ge 150 ]; then
                die "slapd $pid does not exit"
            fi
            sleep 0.1
        done
    fi
    rm -f "$DIR/slapd.pid" "$DIR/ldapi"
}

do_start() {
    ldif=${1:-$DEFAULT_LDIF}
    [ -r "$ldif" ] || die "cannot read LDIF $ldif"
    [ -r "$PROJECT_SCHEMA" ] || die "cannot read schema $PROJECT_SCHEMA"
    for s in $SCHEMAS; do
        [ -r "$SCHEMA_DIR/$s.ldif" ] || die "cannot read $SCHEMA_DIR/$s.ldif (is slapd installed?)"
    done
    [ -x "$SLAPD" ] || die "$SLAPD not found (is slapd installed?)"
    command -v ldapsearch >/dev/null 2>&1 || die "ldapsearch not found (is ldap-utils installed?)"
    command -v timeout >/dev/null 2>&1 || die "timeout not found (coreutils)"

    case $DIR in
        /*) ;;
        *) DIR="$(pwd -P)/$DIR" ;;
    esac
    check_dir
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd -P)
    check_dir
    [ ! -e "$DIR/slapd.d" ] || die "$DIR already holds an instance (use restart)"

    mkdir -p "$DIR/slapd.d" "$DIR/db" "$DIR/schema"
    cp "$PROJECT_SCHEMA" "$DIR/schema/diarie.ldif"
    write_file admin.pw "$ROOTPW"
    chmod 600 "$DIR/admin.pw"

    uid=$(id -u)
    gid=$(id -g)
    cat >"$DIR/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcLogLevel: 0

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $MODULE_DIR
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

$(for s in $SCHEMAS; do printf 'include: file://%s/%s.ldif\n' "$SCHEMA_DIR" "$s"; done)
include: file://$DIR/schema/diarie.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcAccess: {0}to dn.base="" by * read
olcAccess: {1}to dn.base="cn=Subschema" by * read

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by dn.exact="gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth" manage by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: $SUFFIX
olcRootDN: $ROOTDN
olcRootPW: $ROOTPW
olcDbDirectory: $DIR/db
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: uid eq
olcDbIndex: cn eq
olcDbIndex: mail eq
olcDbIndex: diariePrivateMail eq
olcDbIndex: diarieRole eq
olcDbIndex: diarieMyndighet eq
olcDbIndex: member eq
olcAccess: {0}to * by dn.exact="gidNumber=$gid+uidNumber=$uid,cn=peercred,cn=external,cn=auth" manage by * read
EOF

    if ! "$SLAPADD" -n0 -F "$DIR/slapd.d" -l "$DIR/config.ldif" >"$DIR/slapadd.log" 2>&1; then
        cat "$DIR/slapadd.log" >&2
        die "slapadd of the configuration failed"
    fi
    if ! "$SLAPADD" -F "$DIR/slapd.d" -b "$SUFFIX" -l "$ldif" >>"$DIR/slapadd.log" 2>&1; then
        cat "$DIR/slapadd.log" >&2
        if grep -q 'mailRoutingAddress\|inetLocalMailRecipient' "$DIR/slapadd.log"; then
            die "slapadd of $ldif failed: the fixture's people are inetLocalMailRecipient" \
                "with mailRoutingAddress, from misc.schema; load misc (misc.ldif) before" \
                "diarie.ldif (schemas loaded here: $SCHEMAS)"
        fi
        die "slapadd of $ldif failed"
    fi

    launch "$(pick_port)" any
}

do_restart() {
    [ -d "$DIR" ] || die "no such directory: $DIR"
    DIR=$(cd "$DIR" && pwd -P)
    [ -d "$DIR/slapd.d" ] || die "$DIR holds no instance (use start)"
    [ -s "$DIR/port" ] || die "$DIR/port missing: was the instance ever started?"
    port=$(cat "$DIR/port")
    do_stop
    launch "$port" fixed
}

do_tls() {
    [ -d "$DIR" ] || die "no such directory: $DIR"
    DIR=$(cd "$DIR" && pwd -P)
    { [ -f "$DIR/slapd.pid" ] && is_our_slapd "$(cat "$DIR/slapd.pid")"; } ||
        die "$DIR: slapd is not running (start it first)"
    for f in "$1" "$2" "$3"; do
        case $f in
            /*) ;;
            *) die "tls: give absolute paths (got: $f)" ;;
        esac
        [ -r "$f" ] || die "tls: cannot read $f"
    done
    if ! ldapmodify -Q -Y EXTERNAL -H "$(cat "$DIR/ldapi_uri")" >"$DIR/tls.log" 2>&1 <<EOF
dn: cn=config
changetype: modify
replace: olcTLSCACertificateFile
olcTLSCACertificateFile: $3
-
replace: olcTLSCertificateFile
olcTLSCertificateFile: $1
-
replace: olcTLSCertificateKeyFile
olcTLSCertificateKeyFile: $2
EOF
    then
        cat "$DIR/tls.log" >&2
        die "tls: slapd refused the TLS settings"
    fi
    if [ ! -s "$DIR/ldaps_port" ]; then
        lport=$(pick_port)
        while [ "$lport" = "$(cat "$DIR/port")" ]; do
            lport=$(pick_port)
        done
        write_file ldaps_port "$lport"
    fi
    do_restart >/dev/null
    cat "$DIR/ldaps_uri"
    echo
}

# The path ends up in LDIF values, file:// URLs and a unix socket name.
check_dir() {
    case $DIR in
        *[!A-Za-z0-9._/+,=@:~-]*)
            die "DIR may hold only A-Z a-z 0-9 . _ / + , = @ : ~ - (got: $DIR)" ;;
    esac
    # sun_path holds 108 bytes, NUL included.
    if [ $((${#DIR} + 6)) -gt 107 ]; then
        die "DIR is too long for a unix socket path: $DIR"
    fi
}

[ $# -ge 2 ] || usage
cmd=$1
DIR=$2
shift 2
[ -n "$DIR" ] || usage

case $cmd in
    start)
        [ $# -le 1 ] || usage
        do_start "$@"
        ;;
    stop)
        [ $# -eq 0 ] || usage
        [ -d "$DIR" ] || exit 0
        DIR=$(cd "$DIR" && pwd -P)
        do_stop
        ;;
    restart)
        [ $# -eq 0 ] || usage
        do_restart
        ;;
    tls)
        [ $# -eq 3 ] || usage
        do_tls "$@"
        ;;
    status)
        [ $# -eq 0 ] || usage
        [ -d "$DIR" ] || exit 1
        DIR=$(cd "$DIR" && pwd -P)
        [ -f "$DIR/slapd.pid" ] || exit 1
        is_our_slapd "$(cat "$DIR/slapd.pid")"
        ;;
    *)
        usage
        ;;
esac
