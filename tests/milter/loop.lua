-- loop.lua: diariemilter's own copies and notices pass through the MTA
-- again (sendmail(1), so non_smtpd_milters).  One that carries a valid
-- X-Diarie-Genererad token and was submitted from [milter] own_networks
-- (loopback here) is passed unchanged: not classified, no header added or
-- removed, nothing spooled.  The token is an HMAC under [store] key_file
-- bound to the carrying message's Message-ID and body and to an expiry:
-- replayed from outside, copied into another message, altered or of the
-- old unbound form, it is removed like any other X-Diarie-* header and
-- the message classified.  The token never reaches the log.
dofile(lib)

start_filter()
local conn = open_session("203.0.113.80", "mail.example.org")

-- 1. A message that owes a registrator copy.
local reply = send_message(conn, {
    from = "maria.karlsson@example.org",
    rcpts = { "bygglov@sjovik.test" },
    qid = "4LOOP1",
    headers = std_headers("Maria Karlsson <maria.karlsson@example.org>", "bygglov@sjovik.test",
                          "Fråga om BN 2026/45", "loop-1@example.org"),
    body = crlf("Hej,\nhar ni fått kompletteringen till BN 2026/45?\nMaria Karlsson\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "1: class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
local id = added_header(conn, "X-Diarie-Id"):sub(2)
local items = check_spooled(nil, { { "copy", "registrator@sjovik.test" } }, "1: spool")
local copy = items[1].mail
local token = header_of(copy, "X-Diarie-Genererad")
check(token ~= nil, "1: the copy has no X-Diarie-Genererad")
local expires, mac = token:match("^v2%s+(%d+)%s+(%x+)$")
check(expires ~= nil and tonumber(expires) > os.time() + 86400,
      "1: the token's expiry: '" .. tostring(expires) .. "'")
check(mac ~= nil and #mac == 64, "1: the token's MAC: '" .. tostring(mac) .. "'")
step("disconnect", mt.disconnect(conn))

local headers, body = parse_message(copy)

-- Send headers and body as a new message on conn; returns the reply.
local function resend(conn, qid, hdrs, b)
    return send_message(conn, {
        from = "postmaster",
        rcpts = { "registrator@sjovik.test" },
        qid = qid,
        headers = hdrs,
        body = b,
    })
end

-- The message was classified: every X-Diarie-* header it came with is
-- removed and ours are added.
local function check_classified(conn, what)
    for _, n in ipairs({ "X-Diarie-Id", "X-Diarie-Genererad", "X-Diarie-Klass" }) do
        check(mt.eom_check(conn, MT_HDRDELETE, n, 1), what .. ": " .. n .. " not removed")
    end
    check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass"), what .. ": not classified")
    local nid = added_header(conn, "X-Diarie-Id")
    check(nid ~= nil and nid:sub(2) ~= id, what .. ": X-Diarie-Id: '" .. tostring(nid) .. "'")
    return nid:sub(2)
end

-- 2. The copy itself, as the delivery worker hands it to sendmail: a
-- local submission from [delivery] sender to the registrator.
conn = open_session("127.0.0.1", "localhost")
local from = log_size()
reply = resend(conn, "4LOOP2", headers, body)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "2: end of message reply")
check(not mt.eom_check(conn, MT_HDRADD), "2: a header added to our own copy: X-Diarie-Klass '"
      .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(not mt.eom_check(conn, MT_HDRCHANGE), "2: a header of our own copy changed or removed")
check(not mt.eom_check(conn, MT_HDRINSERT), "2: a header inserted into our own copy")
check(not mt.eom_check(conn, MT_RCPTADD, "<registrator@sjovik.test>"), "2: a recipient added")
check(not mt.eom_check(conn, MT_BODYCHANGE), "2: the body changed")
wait_log("4LOOP2: copy or notice of id=" .. id .. ": passed unclassified", from, 5, "2: log line")
check_spooled(nil, { { "copy", "registrator@sjovik.test" } }, "2: spool")

-- 3. The same copy with its MAC altered (one hex digit): a forgery.
local bad = mac:sub(1, 63) .. (mac:sub(64) == "0" and "1" or "0")
local forged = {}
for _, h in ipairs(headers) do
    if h[1] == "X-Diarie-Genererad" then
        table.insert(forged, { h[1], (h[2]:gsub(mac, bad)) })
    else
        table.insert(forged, h)
    end
end
from = log_size()
reply = resend(conn, "4LOOP3", forged, body)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "3: end of message reply")
local id3 = check_classified(conn, "3")
wait_log("4LOOP3: X%-Diarie%-Genererad not honoured %(forged%)", from, 5, "3: refusal logged")
wait_log("4LOOP3: id=" .. id3 .. " class=", from, 5, "3: summary line")

-- 4. A real token copied into another message submitted the same local
-- way: bound to the copy's body, it does not verify here.
from = log_size()
reply = resend(conn, "4LOOP4", headers, crlf("Hej,\nbetala fakturan BN 2026/45 i dag.\n"))
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "4: end of message reply")
check_classified(conn, "4")
wait_log("4LOOP4: X%-Diarie%-Genererad not honoured %(forged%)", from, 5, "4: refusal logged")
step("disconnect", mt.disconnect(conn))

-- 5. The copy replayed unchanged from outside (a token that left the
-- municipality on a notice): valid, but not from [milter] own_networks.
conn = open_session("203.0.113.81", "mail.example.org")
from = log_size()
reply = resend(conn, "4LOOP5", headers, body)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "5: end of message reply")
check_classified(conn, "5")
wait_log("4LOOP5: X%-Diarie%-Genererad not honoured %(not submitted from %[milter%] own_networks%)",
         from, 5, "5: refusal logged")
step("disconnect", mt.disconnect(conn))

-- 6. The old unbound form ("v1 ID MAC") is no token at all.
conn = open_session("127.0.0.1", "localhost")
from = log_size()
reply = send_message(conn, {
    from = "maria.karlsson@example.org",
    rcpts = { "bygglov@sjovik.test" },
    qid = "4LOOP6",
    headers = std_headers("Maria Karlsson <maria.karlsson@example.org>", "bygglov@sjovik.test",
                          "Fråga om BN 2026/45 igen", "loop-6@example.org",
                          { { "X-Diarie-Genererad", "v1 " .. id .. " " .. string.rep("ab", 32) } }),
    body = crlf("Hej,\nhar ni fått kompletteringen till BN 2026/45? Jag frågar igen.\nMaria Karlsson\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "6: end of message reply")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Genererad", 1), "6: old token not removed")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "6: class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
wait_log("4LOOP6: X%-Diarie%-Genererad not honoured %(malformed%)", from, 5, "6: refusal logged")
step("disconnect", mt.disconnect(conn))

-- The token never reaches the log.
local lf = io.open(log, "r")
local all = lf:read("a")
lf:close()
check(all:find(mac, 1, true) == nil, "the loop token's MAC is in the log")
mt.echo("loop: ok")
