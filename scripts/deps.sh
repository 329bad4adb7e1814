#!/bin/sh
# Install what diariemilter needs to build and test, on Debian 12.
# Idempotent: asks dpkg what is already there, runs "apt-get update" at most
# once, installs only what is missing.  Needs root when anything is missing.
# Prints one line (what it installed); apt's output goes to build/deps.log
# (DM_DEPS_LOG=FILE for another).
set -eu

# libclang-rt-14-dev: clang's libFuzzer and sanitizer runtimes (make fuzz,
# the fuzz test of make check); only recommended by clang, and recommends
# are not installed here.  sasl2-bin, libsasl2-modules: Cyrus SASL's
# saslpasswd2 and PLAIN/LOGIN for the private Postfix's SMTP AUTH
# (tests/e2e/auth.sh).  libjson-glib-dev: diarie.json of the copies;
# python3-jsonschema: tests/e2e/readers.sh checks it against its schema;
# tzdata: [site] timezone.  curl: tests/e2e/metrics.sh scrapes /metrics;
# python3-yaml: docs/check.sh reads packaging/monitoring's alert rules.
# libpoppler-glib-dev ... libseccomp-dev: the attachment reader
# (extract/worker/); python3-cairo, qpdf, fonts-dejavu-core: its test
# fixtures (tests/attach/make-fixtures.py); strace: the sandbox's system
# calls measured (tests/attach/run.sh).  libcurl4-openssl-dev: [delivery]
# method = smtp.  logrotate: tests/ops/logrotate.sh runs the shipped snippet.
# libsystemd-dev: sd_notify for the unit's Type=notify.  debhelper,
# lintian: make deb and its install test (tests/deb/install.sh).
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libmilter-dev libgmime-3.0-dev libglib2.0-dev libjson-glib-dev libssl-dev libldap-dev
libsqlite3-dev libpq-dev libstemmer-dev libcmocka-dev libxml2-dev libexttextcat-data tzdata
libcurl4-openssl-dev libsystemd-dev debhelper lintian
python3-jsonschema python3-yaml
libpoppler-glib-dev libarchive-dev libytnef0-dev libseccomp-dev
python3-cairo qpdf fonts-dejavu-core strace
slapd ldap-utils postfix swaks miltertest sasl2-bin libsasl2-modules
sqlite3 postgresql valgrind python3 openssl procps psmisc groff-base man-db curl logrotate
nodejs npm"

missing=""
for p in $PKGS; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in
        ii*) ;;
        *) missing="$missing $p" ;;
    esac
done

# node/npm are only needed by the benchmark and the real-mail test; a
# machine that has them from elsewhere (nvm, NodeSource) need not get
# Debian's as well.
if command -v npm >/dev/null 2>&1; then
    missing=$(printf '%s\n' $missing | grep -v -x -e nodejs -e npm | tr '\n' ' ' || true)
fi

missing=$(echo $missing)
if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages: $missing" >&2
    echo "deps.sh: run as root (or: sudo apt-get install $missing)" >&2
    exit 1
fi

# Quiet: apt's hundreds of lines go to a log file; the terminal gets one
# line saying what was installed (or, on failure, the end of the log).
log=${DM_DEPS_LOG:-$(cd "$(dirname "$0")/.." && pwd)/build/deps.log}
mkdir -p "$(dirname "$log")"
: >"$log"
n=$(echo $missing | wc -w)
# On a terminal, a note while apt works (overwritten by the result).
[ -t 1 ] && printf 'deps.sh: installing %s packages (log: %s) ...' "$n" "$log"
export DEBIAN_FRONTEND=noninteractive
# Postfix and slapd ask questions at install time: answer them so that
# neither writes a configuration for the host.  The project's tests run
# private instances of both.
{
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    apt-get update -qq &&
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing
} >>"$log" 2>&1 || {
    status=$?
    [ -t 1 ] && printf '\n'
    echo "deps.sh: apt-get failed (exit $status); the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
}
[ -t 1 ] && printf '\r'
echo "deps.sh: installed $n packages: $missing (log: $log)"
