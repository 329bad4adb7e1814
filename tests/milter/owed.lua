-- owed.lua: what the same message owes when it arrives more than once
-- (issue 12: items 2, 8 and 6).
--   1. A split delivery: first to a politician without fullmakt (a
--      notice to him only), then in a second transaction to kommun@ (a
--      functional mailbox): the registrator's copy is owed then, and only
--      that; a third transaction to both owes nothing new.  The journal
--      keeps each repeat's duplicate_of.
--   2. [store] duplicate_window = 0: each arrival owes everything, under
--      spool names of its own, so a second arrival whose commit fails
--      (a journal write refused) takes back its own copy and never the
--      first arrival's.
--   3. Private mail in the log: a sender address two directory entries
--      hold, and a private message: nothing is owed for it, and neither
--      address reaches the log.
dofile(lib)

local SIGUSR1 = 10 -- Linux
local repo = lib:gsub("tests/milter/common.lua$", "")
local ctl = binary:gsub("diariemilter$", "diariectl")

local function conf_value(section, key)
    local f = assert(io.open(conf, "rb"))
    local text = f:read("a")
    f:close()
    local body = text:match("%[" .. section .. "%]\n(.-)\n%[") or text:match("%[" .. section .. "%]\n(.*)$")
    return body:match("\n?" .. key .. " = ([^\n]*)")
end
local db = conf_value("store", "database")

local function sh(cmd)
    local ok, how, code = os.execute(cmd)
    return ok, how, code
end

local function sql(statement)
    local ok = sh("sqlite3 '" .. db .. "' \"" .. statement .. "\" >/dev/null")
    check(ok, "sqlite3: " .. statement)
end

local function sql_int(statement)
    local p = assert(io.popen("sqlite3 '" .. db .. "' \"" .. statement .. "\""))
    local out = p:read("a")
    p:close()
    return tonumber(out:match("%-?%d+"))
end

local function reload(what)
    local from = log_size()
    mt.signal(SIGUSR1)
    wait_log("configuration reloaded from", from, 30, what)
end

local function set_conf(section, key, value)
    local f = assert(io.open(conf, "rb"))
    local text = f:read("a")
    f:close()
    local head, body, tail = text:match("^(.-%[" .. section .. "%]\n)(.-)(\n%[.*)$")
    if head == nil then
        head, body, tail = text:match("^(.-%[" .. section .. "%]\n)(.*)()$")
        tail = ""
    end
    body = body:gsub("\n?" .. key .. " = [^\n]*", "")
    text = head .. key .. " = " .. value .. "\n" .. body .. tail
    f = assert(io.open(conf .. ".new", "wb"))
    f:write(text)
    f:close()
    assert(os.rename(conf .. ".new", conf))
end

start_filter()
local conn = open_session("203.0.113.70", "mail.example.org")

-- 1. A split delivery ---------------------------------------------------------
local split_body = crlf("Hej,\nsom vi talade om: synpunkter på bygglovet i BN 2026/45.\n"
                        .. "Vi anser att fasaden mot gatan är för hög och ber nämnden pröva "
                        .. "det igen.\nMed vänliga hälsningar\nUlla Ek\n")
local function split(qid, rcpts)
    return {
        from = "ulla.ek@example.com",
        rcpts = rcpts,
        qid = qid,
        headers = std_headers("Ulla Ek <ulla.ek@example.com>", table.concat(rcpts, ", "),
                              "Synpunkter BN 2026/45", "owed-split-1@example.com"),
        body = split_body,
    }
end

local reply = send_message(conn, split("4OWE1", { "bengt.ek@sjovik.test" }))
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1a: end of message reply")
local id1 = added_header(conn, "X-Diarie-Id"):gsub("^ ", "")
check_spooled(id1, { { "notice", "bengt.ek@example.net" } }, "1a: the politician's notice only (to his routing address)")

reply = send_message(conn, split("4OWE2", { "kommun@sjovik.test" }))
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1b: end of message reply")
local id2 = added_header(conn, "X-Diarie-Id"):gsub("^ ", "")
check_spooled(id2, { { "copy", "registrator@sjovik.test" } },
              "1b: the second transaction, to kommun@: its registrator copy is owed")
local line = wait_log("4OWE2: id=", 0, 5, "1b: summary line")
check(line:find("copies=1 notices=0 ", 1, true) ~= nil and line:find("duplicate_of=" .. id1, 1, true),
      "1b: summary line: " .. line)

reply = send_message(conn, split("4OWE3", { "bengt.ek@sjovik.test", "kommun@sjovik.test" }))
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1c: end of message reply")
local id3 = added_header(conn, "X-Diarie-Id"):gsub("^ ", "")
check_spooled(id3, {}, "1c: both already owed: nothing new")
check_spooled(nil, { { "copy", "registrator@sjovik.test" }, { "notice", "bengt.ek@example.net" } },
              "1c: the whole spool")
check_eq(sql_int("SELECT count(*) FROM journal WHERE message_id = 'owed-split-1@example.com'"
                 .. " AND reasons LIKE '%\\\"duplicate\\\"%" .. id1 .. "%'"), 2,
         "1: journal rows saying duplicate of the first")
check_eq(sql_int("SELECT count(*) FROM journal WHERE id = '" .. id2 .. "'"
                 .. " AND actions LIKE '%\\\"copy\\\"%registrator@sjovik.test%'"), 1,
         "1b: its journal row lists the copy it owed")
check_eq(sql_int("SELECT count(*) FROM journal WHERE id = '" .. id3 .. "'"
                 .. " AND actions = '[]'"), 1, "1c: its journal row lists no action")

-- 2. duplicate_window = 0: never one arrival's item removed by another --------
set_conf("store", "duplicate_window", "0")
reload("2: reload")
local same = {
    from = "maria.karlsson@example.org",
    rcpts = { "bygglov@sjovik.test" },
    qid = "4OWE4",
    headers = std_headers("Maria Karlsson <maria.karlsson@example.org>", "bygglov@sjovik.test",
                          "Komplettering BN 2026/45", "owed-window0@example.org"),
    body = crlf("Hej,\nhär kommer den begärda kompletteringen till BN 2026/45.\nMaria Karlsson\n"),
}
reply = send_message(conn, same)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "2a: end of message reply")
local id4 = added_header(conn, "X-Diarie-Id"):gsub("^ ", "")
check_spooled(id4, { { "copy", "registrator@sjovik.test" } }, "2a: the first arrival's copy")
-- The journal refuses the next row of this message: its commit fails
-- after its copy was spooled.
sql("CREATE TRIGGER owed_test_refuse BEFORE INSERT ON journal"
    .. " WHEN NEW.message_id = 'owed-window0@example.org'"
    .. " BEGIN SELECT RAISE(ABORT, 'refused by owed.lua'); END")
same.qid = "4OWE5"
reply = send_message(conn, same)
sql("DROP TRIGGER owed_test_refuse")
check_eq(reply_name(reply), reply_name(SMFIR_REPLYCODE), "2b: a refused journal row: tempfail")
wait_log("4OWE5: error: cannot record what the message owes", 0, 5, "2b: log line")
check_spooled(id4, { { "copy", "registrator@sjovik.test" } },
              "2b: the first arrival's copy is still owed")
same.qid = "4OWE6"
reply = send_message(conn, same)
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "2c: end of message reply")
local id6 = added_header(conn, "X-Diarie-Id"):gsub("^ ", "")
check_spooled(id6, { { "copy", "registrator@sjovik.test" } },
              "2c: with no duplicate window each arrival owes its copy")
check_spooled(id4, { { "copy", "registrator@sjovik.test" } }, "2c: the first's is still there")
set_conf("store", "duplicate_window", "7d")
reload("2: reload back")

-- 3. Private mail in the log -------------------------------------------------
-- A second entry holding Bengt's private address: the lookup is ambiguous.
local ldapi = io.open(slapd_dir .. "/ldapi_uri"):read("l")
local twin = "uid=bengt.ek.tvilling,ou=personer,dc=sjovik,dc=test"
local function ldap(tool, input)
    local p = assert(io.popen(tool .. " -Q -Y EXTERNAL -H '" .. ldapi .. "' >/dev/null 2>&1", "w"))
    p:write(input)
    return p:close()
end
ldap("ldapdelete", twin .. "\n")
check(ldap("ldapadd", "dn: " .. twin .. "\nobjectClass: inetOrgPerson\nobjectClass: diarieEntry\n"
           .. "uid: bengt.ek.tvilling\ncn: Bengt Ek\nsn: Ek\nmail: bengt.ek.tvilling@sjovik.test\n"
           .. "diarieRole: tjansteman\ndiariePrivateMail: bengt.ek@example.net\n"),
      "3: ldapadd of the twin entry")
local from = log_size()
reply = send_message(conn, {
    from = "bengt.ek@example.net",
    rcpts = { "maja.lund@sjovik.test" },
    qid = "4OWE7",
    headers = std_headers("Bengt <bengt.ek@example.net>", "maja.lund@sjovik.test",
                          "Padel på lördag?", "owed-private-7@example.net"),
    body = crlf("Hej Maja!\nSka vi spela padel på lördag kl 10? Jag har bokat bana.\n"
                .. "Ta med racket, efteråt tar vi en öl. Hälsa familjen!\n/Bengt\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "3a: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "privat")),
      "3a: class is not privat: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
wait_log("ldap: an address lookup matched more than one entry", from, 5, "3a: the ambiguity logged")
-- "diariectl directory check" names the entries.
local p = assert(io.popen("'" .. ctl .. "' directory check -c '" .. conf .. "' 2>&1"))
local report = p:read("a")
p:close()
check(report:find("ambiguous +bengt%.ek") ~= nil and report:find("bengt.ek@example.net is also held by", 1, true),
      "3a: directory check does not name the address two entries hold:\n" .. report)
ldap("ldapdelete", twin .. "\n")

-- A private message: privat, nothing owed (RULES.md section 8).
local f = assert(io.open(repo .. "tests/corpus/private/p02.eml", "rb"))
local headers, chunks = parse_message(f:read("a"))
f:close()
reply = send_message(conn, {
    from = "lisa.sjoberg@example.net",
    rcpts = { "erik.sjoberg@sjovik.test" },
    qid = "4OWE8",
    headers = headers,
    body = chunks,
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "3b: end of message reply")
local id8 = added_header(conn, "X-Diarie-Id"):gsub("^ ", "")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "privat")),
      "3b: class is not privat: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check_spooled(id8, {}, "3b: nothing owed for private mail")
wait_log("4OWE8: id=", from, 5, "3b: summary line")
local f2 = assert(io.open(log, "rb"))
local text = f2:read("a"):sub(from + 1)
f2:close()
for _, addr in ipairs({ "bengt.ek@example.net", "erik.sjoberg@sjovik.test",
                        "lisa.sjoberg@example.net", "maja.lund@sjovik.test" }) do
    check(text:find(addr, 1, true) == nil, "3: " .. addr .. " in the log:\n" .. text)
end

step("disconnect", mt.disconnect(conn))
mt.echo("owed: ok")
