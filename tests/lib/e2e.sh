# shellcheck shell=bash
# The set-up and helpers of the end-to-end tests that run the whole stack
# (slapd, a private Postfix with diariemilter, smtp-sink): tests/e2e/
# answers.sh and readers.sh.  Source it after dm.sh, with T (dm_tmpdir)
# and CONF set:
#
#   e2e_conf [KEY=VALUE@SECTION ...]
#                         write CONF: dm_write_conf with that Postfix's
#                         sendmail, [site] gateway_id gw1.sjovik.test and
#                         the given keys
#   e2e_up [KEY=VALUE ...]
#                         the stack in T, e2e_conf, the fixture diarium
#                         imported, the daemon started; false after a FAIL
#   sink_count            messages in the sink
#   settle N              until N are in the sink and Postfix's queue has
#                         stayed empty
#   sink_for RCPT TEXT    the sink file delivered to RCPT that contains TEXT
#   send FILE FROM RCPT...
#                         the message exactly as in FILE (swaks' dialogue in
#                         T/swaks.out)

PF=${PF:-$DM_REPO/tests/lib/postfix.sh}

e2e_conf() {
    dm_write_conf "$CONF" "$T" "$(cat "$T/ldap/uri")" "delivery.sendmail=$PF_SENDMAIL" \
        "site.gateway_id=gw1.sjovik.test" "$@"
}

e2e_up() {
    dm_stack_start "$T" || { fail "slapd and postfix start"; return 1; }
    e2e_conf "$@"
    "$DM_BUILD/diariectl" cases import -c "$CONF" "$DM_SHARED/fixtures/arenden.csv" >/dev/null ||
        { fail "cases import"; return 1; }
    dm_daemon_start "$CONF" || { fail "daemon start"; return 1; }
}

sink_count() { "$PF" sink-files "$T/pf" | wc -l; }

settle() {
    "$PF" wait-sink "$T/pf" "$1" 30 >/dev/null
    "$PF" wait-queue "$T/pf" 30 >/dev/null
    sleep 1
    "$PF" wait-queue "$T/pf" 30 >/dev/null
}

sink_for() {
    local f
    for f in $("$PF" sink-files "$T/pf"); do
        grep -q "^X-Rcpt-Args: <$1>" "$f" && grep -qF -- "$2" "$f" && { printf '%s\n' "$f"; return 0; }
    done
    return 1
}

send() {
    local file=$1 from=$2 to
    shift 2
    to=$(IFS=,; echo "$*")
    swaks --silent 2 --server "127.0.0.1:$PF_PORT" --from "$from" --to "$to" \
        --data "@$file" >"$T/swaks.out" 2>&1
}
