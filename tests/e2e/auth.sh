#!/usr/bin/env bash
# End to end, R14 on authenticated submission: a private Postfix with
# SMTP AUTH (Cyrus SASL, a sasldb of its own) and diariemilter, loopback
# NOT in [milter] internal_networks, so that only logging in makes a
# sender one of the municipality's own:
#   - a mass mailing (to the list alla@) from a logged-in sender outside
#     the communications unit is refused at DATA with 550 5.7.1 and the
#     Swedish text pointing to the intranet, and journalled as rejected;
#   - the same from a logged-in member of the communications unit is
#     accepted;
#   - the same without logging in is mail from outside, and accepted;
#   - a wrong password does not log in.
set -u
DM_REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$DM_REPO/tests/lib/dm.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: the end-to-end test runs Postfix and needs root" >&2
    exit 77
fi
for tool in swaks saslpasswd2 sqlite3; do
    command -v "$tool" >/dev/null || { echo "skip: no $tool (scripts/deps.sh)" >&2; exit 77; }
done

T=$(dm_tmpdir)
CONF=$T/diariemilter.conf
trap 'dm_stack_stop "$T" "$CONF"' EXIT

dm_stack_start "$T" --sasl erik.sjoberg:Hemligt-1 --sasl goran.nordstrom:Hemligt-2 ||
    { fail "slapd and postfix (with SASL) start"; exit 1; }
dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL"
dm_daemon_start "$CONF" || { fail "daemon start"; exit 1; }
DB=$T/db/diarie.db

# mass WHO OUT [swaks options]: a newsletter to the list alla@.
mass() {
    local who=$1 out=$2
    shift 2
    swaks --server "127.0.0.1:$PF_PORT" --timeout 60 --from "$who@sjovik.test" \
        --to alla@sjovik.test --header "Subject: Nyhetsbrev vecka 50 ($who)" \
        --body "Hej alla! Här kommer veckans nyheter från förvaltningen." "$@" >"$out" 2>&1
}
accepted() { grep -Eq '^<-  250 .*queued as' "$1"; }

mass erik.sjoberg "$T/erik-auth" --auth PLAIN --auth-user erik.sjoberg --auth-password Hemligt-1
check "erik.sjoberg logs in" grep -Eq '^<-  235 ' "$T/erik-auth"
check "his mass mailing is refused at DATA with 550 5.7.1" \
    grep -Eq '^<\*\* +550 5\.7\.1 ' "$T/erik-auth"
check "... pointing to the intranet" grep -q 'intranat.sjovik.test/publicera' "$T/erik-auth"
check "... and not accepted" test "$(accepted "$T/erik-auth" && echo yes)" != yes
check "the refusal is journalled (class rejected, sender erik)" \
    test "$(sqlite3 "$DB" "SELECT count(*) FROM journal WHERE class = 'rejected' AND sender = 'erik.sjoberg@sjovik.test'")" -eq 1
check "the log names the refusal" grep -q 'reject=R14' "$T/milter.log"

mass goran.nordstrom "$T/goran-auth" --auth PLAIN --auth-user goran.nordstrom \
    --auth-password Hemligt-2
check "goran.nordstrom (communications unit) logs in" grep -Eq '^<-  235 ' "$T/goran-auth"
check "his mass mailing is accepted" accepted "$T/goran-auth"

mass erik.sjoberg "$T/erik-anon"
check "the same without logging in is mail from outside: accepted" accepted "$T/erik-anon"

mass erik.sjoberg "$T/erik-bad" --auth PLAIN --auth-user erik.sjoberg --auth-password fel
check "a wrong password does not log in (535)" grep -Eq '^<\*\* +535 ' "$T/erik-bad"

dm_summary
