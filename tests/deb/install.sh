#!/usr/bin/env bash
# tests/deb/install.sh: the Debian package as a mail admin meets it (issue
# 18, "Done when"):
#   - make deb builds it from a clean copy of the tree; lintian finds no
#     error and no warning;
#   - dpkg -i installs it over an earlier package that had the rules and
#     templates as conffiles (a minimal stand-in, one template edited):
#     the unedited ones go, the edited one stays and replaces the shipped
#     file; the system user, two conffiles only, the rules and templates
#     under /usr/share/diariemilter;
#   - the daemon starts from the unit's ExecStart (systemd is not PID 1
#     here: the line is parsed and run as the unit's user, with
#     NOTIFY_SOCKET naming a socket this test reads) and says READY=1;
#   - against the fixture directory (private slapd), mail passes through a
#     private Postfix and a private Sendmail 8.17, and /metrics counts it:
#     two registreras messages, their two copies, one rejected mass
#     mailing; the copies use the site's template;
#   - the package's logrotate snippet rotates the log and the daemon's
#     next lines are in the new file (RELOADING=1, READY=1 meanwhile);
#   - SIGTERM says STOPPING=1; dpkg --purge leaves none of the package's
#     files, /etc/diariemilter, /usr/share/diariemilter or the logs, and
#     keeps the journal, the spool and the user, as packaging/README.md
#     says (this test then removes them).
# Needs root (exit 77, a skip, otherwise).  Refuses to run where the
# package or its data already are.  One run at a time (a lock).
# shellcheck disable=SC2046 # the sink-files lists: one path a word
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"
PF=$DM_REPO/tests/lib/postfix.sh
SM=$DM_REPO/tests/lib/sendmail.sh
SLAPD=$DM_REPO/tests/lib/slapd.sh
DEBLIB=$DM_REPO/tests/deb/lib.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the package test installs a .deb with dpkg and needs root" >&2
    exit 77
fi
# Sendmail sleeps 60 s at every start on a host whose name has no dot.
# shellcheck disable=SC2016 # expanded by the inner sh
case "$(hostname)" in
*.*) ;;
*) exec unshare --uts sh -c 'hostname mx.sjovik.test && exec "$0" "$@"' "$0" "$@" ;;
esac
started=$(date +%s)
# Two check lanes may run this at once: the package is one per machine.
exec 9>/run/lock/diariemilter-deb-test.lock
flock 9
# shellcheck source=tests/deb/lib.sh
. "$DEBLIB"

if deb_installed; then
    fail "diariemilter is installed on this machine: refusing to replace and purge it"
    dm_summary
    exit 1
fi
for d in /var/lib/diariemilter /var/spool/diariemilter /var/log/diariemilter /etc/diariemilter \
    /usr/share/diariemilter; do
    if [ -e "$d" ]; then
        fail "$d exists (someone's data?): refusing to run over it"
        dm_summary
        exit 1
    fi
done
# shellcheck disable=SC2034 # read by deb_cleanup (lib.sh)
had_user=0
getent passwd diariemilter >/dev/null && had_user=1

T=$(dm_tmpdir)
trap 'deb_cleanup' EXIT

echo "# build and lintian"
DEB=
if "$DM_REPO/scripts/deb.sh" "$DM_BUILD/deb" >"$T/deb.out" 2>&1; then
    DEB=$(ls "$DM_BUILD"/deb/diariemilter_*.deb)
    ok "make deb builds $(basename "$DEB") ($(($(date +%s) - started)) s so far)"
else
    fail "make deb: $(tail -5 "$T/deb.out")"
    exit 1
fi
lintian --fail-on error,warning "$DEB" >"$T/lintian.out" 2>&1
lrc=$?
grep -E '^[EWIPX]: ' "$T/lintian.out" | cut -c1 | sort | uniq -c | sed 's/^/  lintian tags: /'
check "lintian: no error and no warning at the default level" \
    sh -c "[ $lrc -eq 0 ] && ! grep -Eq '^[EW]: ' '$T/lintian.out'"
grep -E '^[EW]: ' "$T/lintian.out" | head -20

echo "# an earlier package's conffiles, one of them edited"
# As the first packages had it: the rules and templates as conffiles
# under /etc/diariemilter.  Its copy.txt gets a local line.
deb_old_package "$T/old" "$DM_REPO/etc" || { fail "the earlier package"; exit 1; }
deb_dpkg -i "$T/old.deb" || { fail "dpkg -i the earlier package: $(tail -5 "$T/dpkg.log")"; exit 1; }
{
    sed -n '1,2p' "$DM_REPO/etc/templates/sv/copy.txt"
    echo "Lokal mall: sjovik-site-template"
    sed -n '3,$p' "$DM_REPO/etc/templates/sv/copy.txt"
} >/etc/diariemilter/templates/sv/copy.txt

echo "# dpkg -i"
deb_dpkg -i "$DEB" || { fail "dpkg -i: $(tail -5 "$T/dpkg.log")"; exit 1; }
check "the package is installed" deb_installed
check "the earlier unedited conffiles are gone (rules.conf, the other templates)" \
    test ! -e /etc/diariemilter/rules.conf -a ! -e /etc/diariemilter/templates/sv/digest.txt
check "... the edited one stays, to replace the shipped file" \
    grep -q sjovik-site-template /etc/diariemilter/templates/sv/copy.txt
check "the system user diariemilter exists" sh -c 'getent passwd diariemilter >/dev/null'
check "/var/lib/diariemilter is the user's, mode 0750" \
    test "$(stat -c '%U %a' /var/lib/diariemilter)" = "diariemilter 750"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' diariemilter | awk 'NF && $3 != "obsolete" { print $1 }' |
    sort | tr '\n' ' ')
check "only two conffiles: the configuration and the logrotate snippet ($conffiles)" \
    test "$conffiles" = "/etc/diariemilter/diariemilter.conf /etc/logrotate.d/diariemilter "
check "/etc/diariemilter holds diariemilter.conf and the edited template only" \
    test "$(cd /etc/diariemilter && find . -type f | sort | tr '\n' ' ')" = \
    "./diariemilter.conf ./templates/sv/copy.txt "
check "the rules and templates are under /usr/share/diariemilter" \
    test -f /usr/share/diariemilter/rules.conf -a -f /usr/share/diariemilter/templates/sv/copy.txt
UNIT=/lib/systemd/system/diariemilter.service
check "the unit is Type=notify" grep -qx 'Type=notify' "$UNIT"
check "... ordered before postfix@-.service and sendmail.service" \
    grep -Eq '^Before=.*postfix@-\.service.*sendmail\.service' "$UNIT"
dpkg -L diariemilter | sort >"$T/files"

echo "# the MTAs, the directory and the configuration"
"$SM" fetch >/dev/null || { fail "Sendmail's packages (tests/lib/sendmail.sh fetch)"; exit 1; }
"$SLAPD" start "$T/ldap" >/dev/null || { fail "slapd start"; exit 1; }
MPORT=$(deb_free_port)
HPORT=$(deb_free_port)
# The same socket in Postfix's spelling (host:port) and Sendmail's.
"$PF" start "$T/pf" --milter "inet:127.0.0.1:$MPORT" >/dev/null 2>"$T/pf-start.log" ||
    { fail "postfix start: $(cat "$T/pf-start.log")"; exit 1; }
# shellcheck disable=SC1091
. "$T/pf/env"
"$SM" start "$T/sm" --milter "inet:$MPORT@127.0.0.1" >/dev/null 2>"$T/sm-start.log" ||
    { fail "sendmail start: $(cat "$T/sm-start.log")"; exit 1; }
# shellcheck disable=SC1091
. "$T/sm/env"
CONF=/etc/diariemilter/diariemilter.conf
LOG=/var/log/diariemilter/diariemilter.log
# As an admin would: the installed file, its keys set in place.
deb_conf_set milter socket "inet:$MPORT@127.0.0.1" &&
    deb_conf_set milter user diariemilter &&
    deb_conf_set milter internal_networks 127.0.0.0/8 &&
    deb_conf_set log file "$LOG" &&
    deb_conf_set site party_domains 'parti-a.example, parti-b.example' &&
    deb_conf_set site communications_group 'cn=kommunikationsenheten,ou=grupper,dc=sjovik,dc=test' &&
    deb_conf_set ldap uri "$(cat "$T/ldap/uri")" &&
    deb_conf_set ldap base dc=sjovik,dc=test &&
    deb_conf_set delivery sendmail "$PF_SENDMAIL" &&
    deb_conf_set delivery retry_min 2s &&
    deb_conf_set metrics listen "127.0.0.1:$HPORT" ||
    { fail "configure $CONF"; exit 1; }
check "diariemilter -n accepts it" diariemilter -n -c "$CONF"
check "diariectl cases import, run as root" \
    sh -c "diariectl cases import -c '$CONF' '$DM_SHARED/fixtures/arenden.csv' >/dev/null"
check "... leaves the database the daemon's" \
    test "$(stat -c %U /var/lib/diariemilter/diarie.db)" = diariemilter

echo "# the daemon from the unit's ExecStart"
deb_unit_start "$UNIT" || { fail "start from ExecStart: $(tail -5 "$T/daemon.out")"; exit 1; }
check "ExecStart runs /usr/sbin/diariemilter ($EXEC_START)" \
    test "${EXEC_ARGV[0]}" = /usr/sbin/diariemilter
check "READY=1 comes from the main process ($DPID)" deb_notified READY=1 30
check "the daemon runs as diariemilter" test "$(ps -o user= -p "$DPID")" = diariemilter
# shellcheck disable=SC2034 # read by deb_scrape (lib.sh)
URL=http://127.0.0.1:$HPORT/metrics
deb_scrape "$T/m0" || fail "scrape /metrics"

echo "# mail through Postfix and through Sendmail"
deb_send "$PF_PORT" "$T/s1" pf-1 || fail "Postfix accepts the citizen's message"
deb_send "$SM_PORT" "$T/s2" sm-1 || fail "Sendmail accepts the citizen's message"
# The two messages, and the two copies (through Postfix's sendmail).
"$PF" wait-sink "$T/pf" 3 60 >/dev/null || fail "Postfix's sink got the message and two copies"
"$SM" wait-sink "$T/sm" 1 60 >/dev/null || fail "Sendmail's sink got the message"
"$PF" wait-queue "$T/pf" 30 >/dev/null
check "the message through Sendmail is classified registreras" \
    grep -q '^X-Diarie-Klass: registreras$' $("$SM" sink-files "$T/sm")
check "two copies reached registrator@sjovik.test" \
    test "$(grep -l '^X-Rcpt-Args: <registrator@sjovik.test>' $("$PF" sink-files "$T/pf") | wc -l)" -eq 2
check "a copy carries the site's template (not the shipped one)" \
    python3 "$DM_REPO/tests/deb/has-text.py" "sjovik-site-template" $("$PF" sink-files "$T/pf")
swaks --server "127.0.0.1:$PF_PORT" --from karin.wall@sjovik.test --to alla@sjovik.test \
    --header 'Subject: Julfest på fredag' --body 'Hej alla, välkomna på julfest!' >"$T/s3" 2>&1
check "a mass mailing from inside is refused with 550 5.7.1" grep -q '550 5.7.1' "$T/s3"
sleep 1
deb_scrape "$T/m1" || fail "scrape /metrics"
deb_moved "two inbound registreras messages" "$T/m0" "$T/m1" \
    'diariemilter_messages_total{class="registreras",direction="inbound"}' 2
deb_moved "two copies" "$T/m0" "$T/m1" diariemilter_copies_total 2
deb_moved "one reject" "$T/m0" "$T/m1" diariemilter_rejects_total 1
deb_moved "two journal commits" "$T/m0" "$T/m1" diariemilter_journal_commit_seconds_count 2
check "nothing waits in the spool" \
    test "$(deb_val "$T/m1" 'diariemilter_spool_items{state="waiting"}')" = 0

echo "# log rotation with the package's snippet"
check "the log has the daemon's lines" grep -q 'diariemilter.*starting on' "$LOG"
: >"$T/notify.before"; cp "$T/notify.log" "$T/notify.before"
check "logrotate -f /etc/logrotate.d/diariemilter" \
    logrotate -f -s "$T/logrotate.state" /etc/logrotate.d/diariemilter
check "the old log is $LOG.1" grep -q 'starting on' "$LOG.1"
check "RELOADING=1 then READY=1 around the reload SIGUSR1 asked" deb_notified_after_reload 30
deb_send "$PF_PORT" "$T/s4" pf-2 || fail "Postfix accepts one more message"
qid=$(sed -n 's/^<-  250 .*queued as \([A-Za-z0-9]*\).*/\1/p' "$T/s4" | tail -n 1)
check "the new $LOG has the reload" deb_wait_grep 'configuration reloaded' "$LOG" 30
check "... and the next message's line ($qid)" deb_wait_grep "]: $qid: " "$LOG" 30
check "... and it is the daemon's, made by logrotate's create" \
    test "$(stat -c %U "$LOG")" = diariemilter

echo "# stop and purge"
kill -TERM "$DPID"
check "SIGTERM: STOPPING=1" deb_notified STOPPING=1 30
check "the daemon is gone" deb_wait_gone "$DPID" 60
deb_unit_stopped
"$SM" stop "$T/sm" >/dev/null 2>&1
"$PF" stop "$T/pf" >/dev/null 2>&1
"$SLAPD" stop "$T/ldap" >/dev/null 2>&1
# The admin's own file goes with the admin; dpkg removes its conffiles.
rm -rf /etc/diariemilter/templates
deb_dpkg --purge diariemilter || fail "dpkg --purge: $(tail -5 "$T/dpkg.log")"
check "the package is gone" sh -c '! dpkg-query -W diariemilter >/dev/null 2>&1'
left=$(while read -r f; do [ -e "$f" ] && [ ! -d "$f" ] && printf '%s ' "$f"; done <"$T/files")
check "none of its files is left${left:+: $left}" test -z "$left"
for d in /etc/diariemilter /usr/share/diariemilter /usr/libexec/diariemilter \
    /usr/share/doc/diariemilter /var/log/diariemilter; do
    check "$d is gone" test ! -e "$d"
done
check "the journal is kept (/var/lib/diariemilter/diarie.db)" test -f /var/lib/diariemilter/diarie.db
check "the user is kept (Debian leaves system users)" sh -c 'getent passwd diariemilter >/dev/null'

echo "# took $(($(date +%s) - started)) s"
dm_summary
