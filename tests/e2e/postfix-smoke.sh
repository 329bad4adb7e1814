#!/usr/bin/env bash
# shellcheck disable=SC2016 # bash -c '...' scripts expand their own "$1"
# shellcheck disable=SC2317 # functions called via check/trap
# tests/e2e/postfix-smoke.sh - smoke test of the private Postfix harness
# (tests/lib/postfix.sh), without a milter:
#   - start two instances side by side in temp dirs;
#   - into instance A send one message with swaks (SMTP) and one with the
#     sendmail-argv route (pickup), and one with sendmail as user nobody;
#   - into instance B send one with swaks;
#   - wait until they reach each instance's sink and check their content,
#     and that no message ended up in the wrong sink.
# Prints "ok ..." / "FAIL ..." lines; exits non-zero on any failure.
# Needs root, postfix, swaks, setpriv.  Always stops and removes everything.

set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PF="$HERE/../lib/postfix.sh"
RCPT=erik.sjoberg@sjovik.test

fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
	local what="$1"; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP postfix-smoke: needs root"
	exit 77
fi
for tool in postfix swaks smtp-sink setpriv; do
	command -v "$tool" >/dev/null || { echo "SKIP postfix-smoke: no $tool"; exit 77; }
done

A=$(mktemp -d /tmp/pfsmoke-a.XXXXXX)
B=$(mktemp -d /tmp/pfsmoke-b.XXXXXX)
cleanup() {
	"$PF" stop "$A" || true
	"$PF" stop "$B" || true
	rm -rf "$A" "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# sink_has DIR LINE...: some complete sink file holds all LINEs (whole lines)
sink_has() {
	local dir="$1" f s hit; shift
	while IFS= read -r f; do
		hit=1
		for s in "$@"; do grep -qxF -- "$s" "$f" || { hit=; break; }; done
		[ -n "$hit" ] && return 0
	done < <("$PF" sink-files "$dir")
	return 1
}
# sink_lacks DIR FIXED-STRING: no sink file holds the string
sink_lacks() { ! grep -rqF -- "$2" "$1/sink"; }
count_sink() { [ "$("$PF" sink-files "$1" | wc -l)" -eq "$2" ]; }

if ! "$PF" start "$A"; then fail "start instance A"; exit 1; fi
ok "start instance A (port $(cat "$A/port"), sink $(cat "$A/sink_port"))"
if ! "$PF" start "$B"; then fail "start instance B"; exit 1; fi
ok "start instance B (port $(cat "$B/port"), sink $(cat "$B/sink_port"))"

# shellcheck source=/dev/null
check "env file is sourceable and consistent" \
	bash -c '. "$1/env" && [ "$PF_PORT" = "$(cat "$1/port")" ] &&
		[ "$PF_SINK_PORT" = "$(cat "$1/sink_port")" ] &&
		[ "$PF_CONFIG" = "$1/etc" ] && [ "$PF_SINK_DIR" = "$1/sink" ]' _ "$A"
check "instances use different ports" \
	test "$(cat "$A/port") $(cat "$A/sink_port")" != "$(cat "$B/port") $(cat "$B/sink_port")"

tag=$$.$RANDOM
check "swaks into A" swaks --silent 2 --server "127.0.0.1:$(cat "$A/port")" \
	--from a@example.com --to "$RCPT" \
	--header "Subject: smoke" --body "hello"

mapfile -t sm < <("$PF" sendmail-argv "$A")
check "sendmail-argv prints an argv" test "${#sm[@]}" -ge 1
printf 'From: b@example.com\nTo: %s\nSubject: smoke sendmail %s\n\nhello via sendmail %s\n.leading dot\n' \
	"$RCPT" "$tag" "$tag" | "${sm[@]}" -f b@example.com "$RCPT"
check "sendmail (root) into A exits 0" test "${PIPESTATUS[1]}" -eq 0

printf 'Subject: smoke nobody %s\n\nhello from nobody %s\n' "$tag" "$tag" |
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"${sm[@]}" -f c@example.com "$RCPT"
check "sendmail (user nobody) into A exits 0" test "${PIPESTATUS[1]}" -eq 0

check "swaks into B" swaks --silent 2 --server "127.0.0.1:$(cat "$B/port")" \
	--from a@example.com --to "$RCPT" \
	--header "Subject: smoke B $tag" --body "hello B $tag"

check "A: 3 messages reach the sink" "$PF" wait-sink "$A" 3 30
check "B: 1 message reaches the sink" "$PF" wait-sink "$B" 1 30
check "A: queue drains" "$PF" wait-queue "$A" 10
check "B: queue drains" "$PF" wait-queue "$B" 10
sleep 0.5 # would any unexpected extra message show up?
check "A: exactly 3 sink files" count_sink "$A" 3
check "B: exactly 1 sink file" count_sink "$B" 1

check "A: swaks message has subject and body" \
	sink_has "$A" "Subject: smoke" "hello"
check "A: sendmail message has subject and body" \
	sink_has "$A" "Subject: smoke sendmail $tag" "hello via sendmail $tag" ".leading dot"
check "A: nobody's message has subject and body" \
	sink_has "$A" "Subject: smoke nobody $tag" "hello from nobody $tag"
check "A: envelope recorded by smtp-sink" \
	sink_has "$A" "X-Mail-Args: <b@example.com>" "X-Rcpt-Args: <$RCPT> ORCPT=rfc822;$RCPT"
check "B: swaks message has subject and body" \
	sink_has "$B" "Subject: smoke B $tag" "hello B $tag"
check "A got nothing meant for B" sink_lacks "$A" "hello B $tag"
check "B got nothing meant for A" sink_lacks "$B" "hello via sendmail $tag"
check "sink files have no CR" bash -c '! grep -rq $'"'"'\r'"'"' "$1/sink" "$2/sink"' _ "$A" "$B"
check "A: maillog records the deliveries" \
	bash -c '[ "$(grep -c "status=sent" "$1/maillog")" -eq 3 ]' _ "$A"

"$PF" stop "$A"
apid=$(cat "$A/sink.pid" 2>/dev/null || true)
check "stop A: master gone" bash -c '! postfix -c "$1/etc" status 2>/dev/null' _ "$A"
check "stop A: smtpd port closed" bash -c '! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null' _ "$(cat "$A/port")"
check "stop A: sink port closed" bash -c '! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null' _ "$(cat "$A/sink_port")"
check "stop A: sink.pid removed" test -z "$apid"
check "stop A again (idempotent)" "$PF" stop "$A"
check "B still runs after A stopped" bash -c 'postfix -c "$1/etc" status 2>/dev/null' _ "$B"

if [ "$fails" -eq 0 ]; then
	echo "ok   postfix-smoke: all checks passed"
	exit 0
fi
echo "FAIL postfix-smoke: $fails check(s) failed"
for d in "$A" "$B"; do
	echo "--- $d/maillog (tail)"; tail -n 20 "$d/maillog" 2>/dev/null
done
exit 1
