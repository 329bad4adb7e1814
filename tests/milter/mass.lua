-- mass.lua: R14.  Mass mailing from the municipality's own senders
-- outside the communications unit is rejected at DATA with 550 5.7.1 and
-- a text pointing to the intranet; the unit's members, and senders from
-- outside, pass.
dofile(lib)

local want_list = "550 5.7.1 Massutskick (till listan alla@sjovik.test) far endast skickas av "
    .. "kommunikationsenheten (riktlinjer for e-post, R14). Information till manga anstallda "
    .. "ska i forsta hand ga via intranatet: https://intranat.sjovik.test/publicera."
local want_count = "550 5.7.1 Massutskick (20 mottagare) far endast skickas av "
    .. "kommunikationsenheten (riktlinjer for e-post, R14). Information till manga anstallda "
    .. "ska i forsta hand ga via intranatet: https://intranat.sjovik.test/publicera."

local function many(n)
    local r = {}
    for i = 1, n do
        table.insert(r, string.format("mottagare%02d@example.com", i))
    end
    return r
end

start_filter()
local conn = open_session("10.20.1.15", "pc15.sjovik.test")

-- 1. karin.wall (KS, not in the unit), authenticated, to the list alla.
envelope(conn, { auth = "karin.wall", from = "karin.wall@sjovik.test",
                 rcpts = { "alla@sjovik.test" }, qid = "4MASS1" })
step("data", mt.data(conn))
-- With a reply text set, libmilter answers SMFIR_REPLYCODE, not
-- SMFIR_REJECT.
check_reply(conn, SMFIR_REPLYCODE, "1: DATA from karin.wall to alla")
step("abort", mt.abort(conn))
wait_log("4MASS1: id=[0-9a-z]+ reject=R14 from=<karin.wall@sjovik.test> rcpts=1", 0, 5,
         "1: log line")

-- The same over a raw session, to read the reply text itself.
local cmd, text = raw_last_reply(raw_until_data({ auth = "karin.wall",
    from = "karin.wall@sjovik.test", rcpts = { "alla@sjovik.test" }, client = "10.20.1.15" }))
check_eq(cmd, "y", "1: raw DATA reply")
check_eq(text, want_list, "1: reject text")

-- 2. göran.nordström is in the communications unit: accepted at DATA,
-- classified at end of message, nothing sent anywhere.
local reply = send_message(conn, {
    auth = "goran.nordstrom",
    from = "goran.nordstrom@sjovik.test",
    rcpts = { "alla@sjovik.test" },
    qid = "4MASS2",
    headers = std_headers("Göran Nordström <goran.nordstrom@sjovik.test>", "alla@sjovik.test",
                          "Nytt intranät från måndag", "mass-2@sjovik.test"),
    body = crlf("Hej alla,\npå måndag byter vi till det nya intranätet. Inloggningen är densamma.\n"
                .. "Hälsningar\nGöran Nordström, kommunikationsenheten\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "2: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "allman")),
      "2: class is not allman: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(not mt.eom_check(conn, MT_SMTPREPLY, "550"), "2: a 550 reply")

-- 3. 20 recipients from karin.wall: rejected ...
envelope(conn, { auth = "karin.wall", from = "karin.wall@sjovik.test", rcpts = many(20),
                 qid = "4MASS3" })
step("data", mt.data(conn))
check_reply(conn, SMFIR_REPLYCODE, "3: DATA from karin.wall to 20 recipients")
step("abort", mt.abort(conn))
cmd, text = raw_last_reply(raw_until_data({ auth = "karin.wall", from = "karin.wall@sjovik.test",
                                            rcpts = many(20), client = "10.20.1.15" }))
check_eq(cmd, "y", "3: raw DATA reply")
check_eq(text, want_count, "3: reject text")

-- ... 19 are not (the fixture's threshold is 20).
envelope(conn, { auth = "karin.wall", from = "karin.wall@sjovik.test", rcpts = many(19),
                 qid = "4MASS4" })
step("data", mt.data(conn))
check_reply(conn, SMFIR_CONTINUE, "4: DATA from karin.wall to 19 recipients")
step("abort", mt.abort(conn))

-- 5. Not authenticated and not from an internal network: R14 binds
-- only the municipality's own senders, even with karin's address.
envelope(conn, { from = "karin.wall@sjovik.test", rcpts = { "alla@sjovik.test" }, qid = "4MASS5" })
step("data", mt.data(conn))
check_reply(conn, SMFIR_CONTINUE, "5: DATA, unauthenticated, to alla")
step("abort", mt.abort(conn))

-- 6. A newsletter from outside to the list is inbound mail like any
-- other.
reply = send_message(conn, {
    from = "nyhetsbrev@example.com",
    rcpts = { "alla@sjovik.test" },
    qid = "4MASS6",
    headers = std_headers("Nyhetsbrev <nyhetsbrev@example.com>", "alla@sjovik.test",
                          "Nytt intranät från måndag", "mass-6@example.com"),
    body = crlf("Hej alla,\npå måndag byter vi till det nya intranätet. Inloggningen är densamma.\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "6: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "allman")),
      "6: class is not allman: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")

-- 7. Splitting does not evade R14: olof.persson's distinct recipients
-- inside the window count together (mass_window_recipients = 30 here).
local function range(a, b)
    local r = {}
    for i = a, b do
        table.insert(r, string.format("mottagare%02d@example.com", i))
    end
    return r
end
local function olof(rcpts, qid, n)
    return send_message(conn, {
        auth = "olof.persson",
        from = "olof.persson@sjovik.test",
        rcpts = rcpts,
        qid = qid,
        headers = std_headers("Olof Persson <olof.persson@sjovik.test>", "undisclosed-recipients:;",
                              "Veckobrev " .. n, "mass-7-" .. n .. "@sjovik.test"),
        body = crlf("Hej,\nhär kommer veckans nyheter från socialförvaltningen.\nOlof\n"),
    })
end
reply = olof(range(1, 19), "4MASS7A", 1)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "7a: 19 recipients")
reply = olof(range(20, 29), "4MASS7B", 2)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "7b: 10 more (29 in the window)")
-- The counts live in the database: a reload forgets nothing.
local pidf = io.open(dir .. "/milter.pid")
local pid = pidf:read("*l")
pidf:close()
os.execute("kill -USR1 " .. pid)
wait_log("configuration reloaded", 0, 30, "7: reload")
-- Two new ones make 31: rejected at DATA, with the window in the text.
cmd, text = raw_last_reply(raw_until_data({ auth = "olof.persson", from = "olof.persson@sjovik.test",
                                            rcpts = range(30, 31), client = "10.20.1.15" }))
check_eq(cmd, "y", "7c: raw DATA reply")
check(text ~= nil and text:find("^550 5%.7%.1 Massutskick %(31 mottagare inom tidsfonstret%)") ~= nil,
      "7c: reject text: " .. tostring(text))
wait_log("reject=R14 from=<olof.persson@sjovik.test> rcpts=2", 0, 5, "7c: log line")
-- Recipients already in the window are not new: 29 distinct, accepted.
reply = olof(range(5, 12), "4MASS7D", 3)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "7d: known recipients again")
-- A member of the communications unit is not counted at all.
reply = send_message(conn, {
    auth = "goran.nordstrom",
    from = "goran.nordstrom@sjovik.test",
    rcpts = range(40, 58),
    qid = "4MASS7E",
    headers = std_headers("Göran Nordström <goran.nordstrom@sjovik.test>", "undisclosed-recipients:;",
                          "Pressmeddelande", "mass-7e@sjovik.test"),
    body = crlf("Hej,\npressmeddelande om det nya intranätet.\nGöran\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "7e: the unit's member")

-- A rejected message gets no other action.
check_spooled(nil, {}, "spool")
step("disconnect", mt.disconnect(conn))

-- 8. Where the client's address comes from ([milter] internal_networks =
-- 192.0.2.0/24 here).  karin.wall, not authenticated, to the list: R14
-- applies exactly when the client is internal.
local function unauth_to_alla(c, qid)
    envelope(c, { from = "karin.wall@sjovik.test", rcpts = { "alla@sjovik.test" }, qid = qid })
    step("data", mt.data(c))
    local r = mt.getreply(c)
    step("abort", mt.abort(c))
    return r
end
-- 8a. Sendmail sends no {client_addr} unless asked: the connect step's
-- own address decides.
local c8 = connect()
step("conninfo 8a", mt.conninfo(c8, "pc15.sjovik.test", "192.0.2.15"))
check_reply(c8, SMFIR_CONTINUE, "8a: connect")
check_eq(reply_name(unauth_to_alla(c8, "4MASS8A")), reply_name(SMFIR_REPLYCODE),
         "8a: internal by the connection's address, no macro")
step("disconnect", mt.disconnect(c8))
-- 8b. The connection's address wins over a macro that disagrees.
c8 = connect()
step("macro 8b", mt.macro(c8, SMFIC_CONNECT, "{client_addr}", "192.0.2.15"))
step("conninfo 8b", mt.conninfo(c8, "mail.example.net", "203.0.113.25"))
check_reply(c8, SMFIR_CONTINUE, "8b: connect")
check_eq(reply_name(unauth_to_alla(c8, "4MASS8B")), reply_name(SMFIR_CONTINUE),
         "8b: external by the connection's address, internal by the macro")
step("disconnect", mt.disconnect(c8))
-- 8c. A connect step without an address: the macro, in Sendmail's IPv6
-- spelling of an IPv4-mapped address.
c8 = connect()
step("macro 8c", mt.macro(c8, SMFIC_CONNECT, "{client_addr}", "IPv6:::ffff:192.0.2.15"))
step("conninfo 8c", mt.conninfo(c8, "pc15.sjovik.test", "unspec"))
check_reply(c8, SMFIR_CONTINUE, "8c: connect")
check_eq(reply_name(unauth_to_alla(c8, "4MASS8C")), reply_name(SMFIR_REPLYCODE),
         "8c: internal by the macro when the connection has no address")
step("disconnect", mt.disconnect(c8))
mt.echo("mass: ok")
