-- basic.lua: negotiation, and one inbound message that cites a case.
--
-- A citizen writes to erik.sjoberg (BN, fullmakt) about BN 2026/45: the
-- class is registreras, the message gets X-Diarie-Klass and X-Diarie-Id,
-- and exactly one copy waits in the spool for registrator@sjovik.test,
-- spooled before the reply to end of message.
dofile(lib)

start_filter()
local conn = connect()

-- Negotiation: what the daemon asks of the MTA.
step("negotiate", mt.negotiate(conn, nil, nil, nil))
for _, a in ipairs({ "SMFIF_ADDHDRS", "SMFIF_CHGHDRS", "SMFIF_ADDRCPT", "SMFIF_SETSYMLIST" }) do
    check(mt.test_action(conn, _G[a]), "negotiation: action " .. a .. " not requested")
end
for _, a in ipairs({ "SMFIF_CHGBODY", "SMFIF_DELRCPT", "SMFIF_QUARANTINE", "SMFIF_CHGFROM" }) do
    check(not mt.test_action(conn, _G[a]), "negotiation: action " .. a .. " requested")
end
-- No replies to the steps that never change the outcome; DATA and end of
-- message are answered (R14 rejects at DATA).
for _, o in ipairs({ "SMFIP_NR_CONN", "SMFIP_NR_MAIL", "SMFIP_NR_RCPT", "SMFIP_NR_HDR",
                     "SMFIP_NR_EOH", "SMFIP_NR_BODY", "SMFIP_HDR_LEADSPC", "SMFIP_NOHELO",
                     "SMFIP_NOUNKNOWN" }) do
    check(mt.test_option(conn, _G[o]), "negotiation: protocol option " .. o .. " not requested")
end
for _, o in ipairs({ "SMFIP_NR_DATA", "SMFIP_NODATA", "SMFIP_NOHDRS", "SMFIP_NOBODY",
                     "SMFIP_NOEOH", "SMFIP_NOMAIL", "SMFIP_NORCPT", "SMFIP_NOCONNECT" }) do
    check(not mt.test_option(conn, _G[o]), "negotiation: protocol option " .. o .. " requested")
end

step("macro connect", mt.macro(conn, SMFIC_CONNECT, "{client_addr}", "203.0.113.25",
                               "{daemon_name}", "smtpd"))
step("conninfo", mt.conninfo(conn, "mail.example.com", "203.0.113.25"))

local m = {
    from = "per.svensson@example.com",
    rcpts = { "erik.sjoberg@sjovik.test" },
    qid = "4BASIC1",
    headers = std_headers("Per Svensson <per.svensson@example.com>", "erik.sjoberg@sjovik.test",
                          "Fråga om bygglov", "basic-1@example.com"),
    body = crlf("Hej Erik,\n\njag undrar hur det går med mitt bygglov, dnr BN 2026/45.\n"
                .. "När kan jag vänta mig ett beslut?\n\nVänliga hälsningar\nPer Svensson\n"),
}
local reply = send_message(conn, m)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "end of message reply")

-- Exactly these changes: two headers added, nothing removed, no recipient.
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "no X-Diarie-Klass: registreras (added: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "')")
check_eq(added_header(conn, "X-Diarie-Klass"), " registreras", "X-Diarie-Klass as sent (leading space: HDR_LEADSPC)")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Id"), "no X-Diarie-Id added")
local id = added_header(conn, "X-Diarie-Id")
check(id ~= nil and id:match("^ [0-9a-z]+$") ~= nil, "X-Diarie-Id value: '" .. tostring(id) .. "'")
id = id:sub(2)
check(not mt.eom_check(conn, MT_HDRDELETE), "a header was deleted")
check(not mt.eom_check(conn, MT_HDRCHANGE), "a header was changed")
check(not mt.eom_check(conn, MT_HDRINSERT), "a header was inserted")
check(not mt.eom_check(conn, MT_BODYCHANGE), "the body was changed")

-- The copy is spooled before the reply: no waiting.
local items = check_spooled(nil, { { "copy", "registrator@sjovik.test" } }, "spool")
check_eq(items[1].message, id, "the copy's diarie id")
local copy = items[1].mail
check_eq(header_of(copy, "To"), "registrator@sjovik.test", "the copy's To")
check_eq(header_of(copy, "X-Diarie-Id"), id, "the copy's X-Diarie-Id")
check_eq(header_of(copy, "X-Diarie-Klass"), "registreras", "the copy's X-Diarie-Klass")
local token = header_of(copy, "X-Diarie-Genererad")
check(token ~= nil and token:match("^v2%s+%d+%s+" .. string.rep("%x", 64) .. "$") ~= nil,
      "the copy's X-Diarie-Genererad: '" .. tostring(token) .. "'")
local orig = copy_original(copy)
check(orig ~= nil, "the copy holds no original")
check(orig:find("Message-ID: <basic-1@example.com>", 1, true) ~= nil, "the copy's original: no Message-ID")
check(orig:find("dnr BN 2026/45", 1, true) ~= nil, "the copy's original: no text")

-- The summary line carries the queue id from the "i" macro.
wait_log("4BASIC1: id=" .. id .. " class=registreras direction=inbound rcpts=1 copies=1 notices=0 "
         .. "forwards=0 manager_notices=0", 0, 5, "summary line")

-- A second message on the same connection: state is per message.
-- (Not from Per: he is a party of KS 2026/112, which makes his mail
-- registreras whatever it says.)
m.from = "johan.berg@example.net"
m.qid = "4BASIC2"
m.headers = std_headers("Johan Berg <johan.berg@example.net>", "erik.sjoberg@sjovik.test",
                        "Padel på lördag?", "basic-2@example.net")
m.body = crlf("Hej Erik!\nSka vi spela padel på lördag kl 10? Jag har bokat bana.\n/Johan\n")
reply = send_message(conn, m)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "second message: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "privat")),
      "second message: X-Diarie-Klass is not privat: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check_spooled(nil, { { "copy", "registrator@sjovik.test" } }, "spool after the second message")

step("disconnect", mt.disconnect(conn))
mt.echo("basic: ok")
