#!/bin/bash
# tests/ops/deps.sh: scripts/deps.sh is quiet (issue 18): one line saying
# what it installed, apt's output in its log file; on failure, the end of
# the log and a non-zero exit.  dpkg-query, apt-get and debconf are
# stand-ins on PATH: nothing is installed.
set -u
. "$(dirname "$0")/../lib/dm.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: deps.sh installs only as root" >&2
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/dm-deps.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin"
# Two packages "missing", the rest installed.
cat >"$T/bin/dpkg-query" <<'X'
#!/bin/sh
for a; do p=$a; done
case $p in slapd|swaks) exit 1 ;; *) printf 'ii ' ;; esac
X
cat >"$T/bin/apt-get" <<'X'
#!/bin/sh
echo "apt-get $*" >>"$APT_CALLS"
[ "$1" = update ] && exit 0
i=0
while [ $i -lt 300 ]; do echo "Unpacking something-$i ..."; i=$((i + 1)); done
exit "${APT_STATUS:-0}"
X
printf '#!/bin/sh\ncat >/dev/null\n' >"$T/bin/debconf-set-selections"
chmod +x "$T/bin/"*

run() {
    PATH=$T/bin:$PATH APT_CALLS=$T/calls DM_DEPS_LOG=$T/deps.log \
        "$DM_REPO/scripts/deps.sh" >"$T/out" 2>"$T/err"
}

run
rc=$?
check "deps.sh succeeds" test "$rc" -eq 0
check "... prints exactly one line" test "$(wc -l <"$T/out")" -eq 1
check "... saying what it installed" grep -q "^deps.sh: installed 2 packages: slapd swaks" "$T/out"
check "... and where the log is" grep -qF "$T/deps.log" "$T/out"
check "... nothing on standard error" test ! -s "$T/err"
check "apt's 300 lines are in the log" test "$(grep -c Unpacking "$T/deps.log")" -eq 300
check "only the missing packages were asked for" \
    grep -q "install -y -q --no-install-recommends slapd swaks$" "$T/calls"

APT_STATUS=100 run
rc=$?
check "a failing apt-get: deps.sh fails" test "$rc" -ne 0
check "... with the end of the log on standard error" grep -q "Unpacking something-299" "$T/err"
check "... and not all of it" test "$(grep -c Unpacking "$T/err")" -le 20

dm_summary
