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

-- 3. Control characters in what the journal keeps (issue 12.5): a
-- subject that decodes to CR LF, ESC sequences and a C1 CSI, a Message-ID
-- with a raw ESC.  "diariectl journal search" must print them escaped:
-- no forged row, no terminal sequence; --json keeps them JSON-escaped.
local ESC, CSI = "\27", "\194\155" -- U+001B, U+009B in UTF-8
m = {
    from = "maria.karlsson@example.org",
    rcpts = { "bygglov@sjovik.test" },
    qid = "4STRIP3",
    headers = std_headers("Maria Karlsson <maria.karlsson@example.org>", "bygglov@sjovik.test",
                          "=?utf-8?q?BN_2026/45=0D=0A2026-01-01T00:00:00+01:00_forged00000000000000"
                          .. "_registreras=1B]2;owned=07=1B[2J=C2=9B31m?=",
                          "ctl-" .. ESC .. "[31m-3@example.org"),
    body = crlf("Hej,\nhär kommer kompletteringen till BN 2026/45.\nMaria Karlsson\n"),
}
reply = send_message(conn, m)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "3: end of message reply")
local ctl = binary:gsub("diariemilter$", "diariectl")
local function run(cmd)
    local p = assert(io.popen(cmd, "r"))
    local out = p:read("a")
    p:close()
    return out
end
local text = run("'" .. ctl .. "' journal search -c '" .. conf .. "' --case 'BN 2026/45' 2>&1")
check(text:find("ctl-", 1, true) ~= nil, "3: journal search did not find the row:\n" .. text)
check(text:gsub("\n", ""):find("[%c\127]") == nil,
      "3: a control character printed raw by journal search:\n" .. text)
check(text:find(CSI, 1, true) == nil, "3: a C1 CSI printed raw by journal search")
check(text:find("\n2026-01-01T00:00:00", 1, true) == nil,
      "3: the subject forged a row of its own:\n" .. text)
check(text:find("subject BN 2026/45\\r\\n2026-01-01T00:00:00+01:00 forged", 1, true) ~= nil
      and text:find("\\x1b]2;owned\\x07\\x1b[2J\\u{009b}31m", 1, true) ~= nil,
      "3: the subject not shown escaped:\n" .. text)
check(text:find("Message-ID ctl-\\x1b[31m-3@example.org", 1, true) ~= nil,
      "3: the Message-ID not shown escaped:\n" .. text)
local json = run("'" .. ctl .. "' journal search -c '" .. conf .. "' --case 'BN 2026/45' --json 2>&1")
check(json:gsub("\n", ""):find("[%c\127]") == nil,
      "3: a control character printed raw by journal search --json")
check(json:find(CSI, 1, true) == nil, "3: a C1 CSI printed raw by journal search --json")
check(json:find("\\r\\n2026-01-01T00:00:00+01:00 forged", 1, true) ~= nil
      and json:find("\\u001b]2;owned\\u0007\\u001b[2J\\u009b31m", 1, true) ~= nil,
      "3: the subject not JSON-escaped:\n" .. json)
-- The daemon's own log never carries them raw either.
local logtext = run("cat '" .. log .. "'")
check(logtext:gsub("\n", ""):find("[%c\127]") == nil, "3: a control character in the log")

step("disconnect", mt.disconnect(conn))
mt.echo("strip: ok")
