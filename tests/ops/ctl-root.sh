#!/bin/bash
# tests/ops/ctl-root.sh: diariectl run as root leaves no root-owned file
# for the daemon (issue 18): "cases import" before the first start makes
# the database as [milter] user, whom diariectl becomes.
set -u
. "$(dirname "$0")/../lib/dm.sh"
U=nobody

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the test runs diariectl as root" >&2
    exit 77
fi
id "$U" >/dev/null 2>&1 || { echo "skip: no user $U" >&2; exit 77; }
CSV=$DM_SHARED/fixtures/arenden.csv
CTL=$DM_BUILD/diariectl

T=$(dm_tmpdir)
trap 'rm -rf "$T"' EXIT
# The database's directory is the daemon's, as Debian's postinst or the
# daemon's first start makes it.
mkdir -p "$T/db"
chown "$U" "$T/db"
cp "$CSV" "$T/arenden.csv"
chmod 0644 "$T/arenden.csv"
dm_write_conf "$T/d.conf" "$T" "ldap://127.0.0.1:1/" "milter.user=$U"

"$CTL" cases import -c "$T/d.conf" "$T/arenden.csv" >"$T/out" 2>&1
rc=$?
check "cases import as root succeeds" test "$rc" -eq 0
check "... the database is $U's" test "$(stat -c %U "$T/db/diarie.db" 2>/dev/null)" = "$U"
check "... and no file under db/ is root's" test -z "$(find "$T/db" -user root)"
"$CTL" cases list -c "$T/d.conf" >"$T/list" 2>&1
check "cases list reads what was imported" test "$(wc -l <"$T/list")" -ge 2

# A user that does not exist: refused before anything is opened.
dm_write_conf "$T/bad.conf" "$T/bad" "ldap://127.0.0.1:1/" "milter.user=no-such-user-dm"
"$CTL" cases import -c "$T/bad.conf" "$T/arenden.csv" >"$T/bad.out" 2>&1
rc=$?
check "a [milter] user that does not exist: refused" test "$rc" -ne 0
check "... saying so" grep -q 'no user "no-such-user-dm"' "$T/bad.out"
check "... and nothing made" test ! -e "$T/bad/db/diarie.db"

dm_summary
