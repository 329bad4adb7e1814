-- strip.lua: X-Diarie-* headers that arrive with a message are never
-- trusted: each is removed (smfi_chgheader with no value, by name and
-- occurrence, the last first) and the message is classified on its own
-- merits.
dofile(lib)

start_filter()
local conn = open_session("203.0.113.40", "mx.example.net")

-- 1. A private mail dressed up as registreras: the forgery goes, the
-- class is privat, nothing is spooled.
local m = {
    from = "johan.berg@example.net",
    rcpts = { "erik.sjoberg@sjovik.test" },
    qid = "4STRIP1",
    headers = std_headers("Johan Berg <johan.berg@example.net>", "erik.sjoberg@sjovik.test",
                          "Padel på lördag?", "strip-1@example.net",
                          { { "X-Diarie-Klass", "registreras" },
                            { "X-Diarie-Genererad", "v1 x y" } }),
    body = crlf("Hej Erik!\nSka vi spela padel på lördag kl 10? Jag har bokat bana.\n"
                .. "Efteråt kan vi ta en öl.\n/Johan\n"),
}
local reply = send_message(conn, m)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1: end of message reply")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Klass", 1), "1: forged X-Diarie-Klass not removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Genererad", 1),
      "1: forged X-Diarie-Genererad not removed")
-- Removal is a change to an empty value; nothing else was changed.
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Diarie-Klass", ""), "1: X-Diarie-Klass not emptied")
check(mt.eom_check(conn, MT_HDRCHANGE, "X-Diarie-Genererad", ""), "1: X-Diarie-Genererad not emptied")
check(not mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Klass", 2), "1: a second X-Diarie-Klass removed")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "privat")),
      "1: class is not privat: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Id"), "1: no X-Diarie-Id")
check_spooled(nil, {}, "1: spool")

-- 2. A registreras mail dressed up as privat, with X-Diarie-* headers in
-- any case and twice over: every one is removed, by its own name and
-- occurrence, and the copy goes to the registrator.
m = {
    from = "maria.karlsson@example.org",
    rcpts = { "bygglov@sjovik.test" },
    qid = "4STRIP2",
    headers = std_headers("Maria Karlsson <maria.karlsson@example.org>", "bygglov@sjovik.test",
                          "Komplettering BN 2026/45", "strip-2@example.org",
                          { { "X-Diarie-Klass", "privat" },
                            { "x-diarie-id", "00forgedforgedforged" },
                            { "X-Diarie-Klass", "parti" },
                            { "X-Other", "kept" } }),
    body = crlf("Hej,\nhär kommer den begärda kompletteringen till ansökan om bygglov, "
                .. "BN 2026/45: situationsplan och fasadritningar.\nMaria Karlsson\n"),
}
reply = send_message(conn, m)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "2: end of message reply")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Klass", 1), "2: first X-Diarie-Klass not removed")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Klass", 2), "2: second X-Diarie-Klass not removed")
check(mt.eom_check(conn, MT_HDRDELETE, "x-diarie-id", 1), "2: x-diarie-id not removed")
check(not mt.eom_check(conn, MT_HDRDELETE, "X-Other"), "2: X-Other removed")
check(not mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Genererad"),
      "2: an X-Diarie-Genererad removed from the previous message")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "2: class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
local id = added_header(conn, "X-Diarie-Id"):sub(2)
check(id ~= "00forgedforgedforged", "2: the forged id was kept")
local items = check_spooled(id, { { "copy", "registrator@sjovik.test" } }, "2: spool")
-- The copy's original is the message as received, forged headers and all.
local orig = copy_original(items[1].mail)
check(orig ~= nil and orig:find("X-Diarie-Klass: privat", 1, true) ~= nil,
      "2: the copy's original lost the header it arrived with")
check_spooled(nil, { { "copy", "registrator@sjovik.test" } }, "2: whole spool")

step("disconnect", mt.disconnect(conn))
mt.echo("strip: ok")
