-- private.lua: privat and parti mail (R3, R4) gets its class and nothing
-- else: no copy, no notice, and no forwarding even to an absent
-- person's delegate.
dofile(lib)

start_filter()
local conn = open_session("203.0.113.50", "smtp.example.net")

local padel = crlf("Hej Erik!\nSka vi spela padel på lördag kl 10? Jag har bokat bana.\n"
                   .. "Ta med racket, efteråt kan vi ta en öl. Hälsa familjen!\n/Johan\n")

-- 1. A padel invitation to erik.sjoberg.
local reply = send_message(conn, {
    from = "johan.berg@example.net",
    rcpts = { "erik.sjoberg@sjovik.test" },
    qid = "4PRIV1",
    headers = std_headers("Johan Berg <johan.berg@example.net>", "erik.sjoberg@sjovik.test",
                          "Padel på lördag?", "private-1@example.net"),
    body = padel,
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "privat")),
      "1: class is not privat: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Id"), "1: no X-Diarie-Id")
check(not mt.eom_check(conn, MT_HDRDELETE), "1: a header was removed")
check_spooled(nil, {}, "1: spool")
-- The summary line says so too, and names no addresses.
local line = wait_log("4PRIV1: id=", 0, 5, "1: summary line")
check(line:find("class=privat direction=inbound rcpts=1 copies=0 notices=0 forwards=0 "
                .. "manager_notices=0", 1, true) ~= nil, "1: summary line: " .. line)

-- 2. The same to ivan.petrov, who is absent with jonas.alm as delegate:
-- private mail is not forwarded.
reply = send_message(conn, {
    from = "johan.berg@example.net",
    rcpts = { "ivan.petrov@sjovik.test" },
    qid = "4PRIV2",
    headers = std_headers("Johan Berg <johan.berg@example.net>", "ivan.petrov@sjovik.test",
                          "Padel på lördag?", "private-2@example.net"),
    body = padel:gsub("Erik", "Ivan"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "2: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "privat")),
      "2: class is not privat: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(not mt.eom_check(conn, MT_RCPTADD, "<jonas.alm@sjovik.test>"),
      "2: private mail forwarded to the delegate")
check_spooled(nil, {}, "2: spool")

-- 3. Party mail to a politician (R4): parti, nothing else.
reply = send_message(conn, {
    from = "kansli@parti-a.example",
    rcpts = { "anna.lind@sjovik.test" },
    qid = "4PRIV3",
    headers = std_headers("Kansliet <kansli@parti-a.example>", "anna.lind@sjovik.test",
                          "Gruppmöte inför fullmäktige", "private-3@parti-a.example"),
    body = crlf("Hej Anna,\nvälkommen till partiets gruppmöte på tisdag kl 18 i partilokalen.\n"
                .. "Vi går igenom partiets linje inför fullmäktige och valrörelsen.\n"
                .. "Hälsningar, kansliet\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "3: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "parti")),
      "3: class is not parti: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check_spooled(nil, {}, "3: spool")

step("disconnect", mt.disconnect(conn))
mt.echo("private: ok")
