#!/bin/sh
# scripts/build-deps.sh SRCDIR: install what SRCDIR/debian/control's
# Build-Depends lack, quietly (make deb, scripts/deb.sh).
#
# Asks dpkg-checkbuilddeps first and does nothing when all is there;
# otherwise, as root, "apt-get build-dep" on SRCDIR, apt's output in
# build/deps.log (DM_DEPS_LOG=FILE for another) and one line saying what
# was missing.  Not root: names what is missing and fails.
set -eu

if [ $# -ne 1 ] || [ ! -f "$1/debian/control" ]; then
    echo "usage: $0 SRCDIR (a tree with debian/control)" >&2
    exit 64
fi
src=$(cd "$1" && pwd)
log=${DM_DEPS_LOG:-$(cd "$(dirname "$0")/.." && pwd)/build/deps.log}

unmet() {
    # "dpkg-checkbuilddeps: error: Unmet build dependencies: A B (>= 1)"
    command -v dpkg-checkbuilddeps >/dev/null 2>&1 || { echo "dpkg-dev"; return; }
    dpkg-checkbuilddeps "$src/debian/control" 2>&1 >/dev/null |
        sed -n 's/.*Unmet build dependencies: //p'
}

missing=$(unmet)
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "build-deps.sh: missing build dependencies: $missing" >&2
    echo "build-deps.sh: run as root, or: sudo apt-get build-dep $src" >&2
    exit 1
fi
mkdir -p "$(dirname "$log")"
export DEBIAN_FRONTEND=noninteractive
{
    apt-get update -qq &&
        apt-get install -y -q --no-install-recommends dpkg-dev &&
        apt-get build-dep -y -q --no-install-recommends "$src"
} >>"$log" 2>&1 || {
    status=$?
    echo "build-deps.sh: apt-get failed (exit $status); the end of $log:" >&2
    tail -n 20 "$log" >&2
    exit 1
}
left=$(unmet)
if [ -n "$left" ]; then
    echo "build-deps.sh: still missing after apt-get build-dep: $left (log: $log)" >&2
    exit 1
fi
echo "build-deps.sh: installed build dependencies: $missing (log: $log)"
