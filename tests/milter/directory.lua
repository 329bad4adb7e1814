-- directory.lua: the directory goes away and comes back.
--   slapd stopped, on_directory_error = tempfail: DATA gets
--     451 4.3.0 (SMFIR_REPLYCODE, the sender retries);
--   the same after a reload (SIGUSR1) with on_directory_error = accept:
--     the message passes unclassified, forged X-Diarie-* headers still go;
--   slapd back on the same port: messages are classified again (the
--     connection pool reconnects).
-- run.sh restarts slapd after this script should it fail half-way.
dofile(lib)

local SIGUSR1 = 10 -- Linux

local function slapd_ctl(what)
    local ok, how, code = os.execute("'" .. slapd .. "' " .. what .. " '" .. slapd_dir .. "' >/dev/null")
    check(ok, "slapd.sh " .. what .. " failed (" .. tostring(how) .. " " .. tostring(code) .. ")")
end

local function set_on_directory_error(value)
    local f = assert(io.open(conf, "rb"))
    local text = f:read("a")
    f:close()
    local n
    text, n = text:gsub("\non_directory_error = %a+\n", "\non_directory_error = " .. value .. "\n")
    check_eq(n, 1, "on_directory_error lines in " .. conf)
    f = assert(io.open(conf .. ".new", "wb"))
    f:write(text)
    f:close()
    assert(os.rename(conf .. ".new", conf))
end

local function registreras_message(qid, rcpt, msgid)
    return {
        from = "maria.karlsson@example.org",
        rcpts = { rcpt },
        qid = qid,
        headers = std_headers("Maria Karlsson <maria.karlsson@example.org>", rcpt,
                              "Angående BN 2026/45", msgid,
                              { { "X-Diarie-Klass", "privat" } }),
        body = crlf("Hej,\nnär fattas beslut i BN 2026/45?\nMaria Karlsson\n"),
    }
end

start_filter()
local conn = open_session("203.0.113.90", "mail.example.org")

-- 1. The directory answers.
local reply = send_message(conn, registreras_message("4DIR1", "bygglov@sjovik.test", "dir-1@example.org"))
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "1: class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check_spooled(nil, { { "copy", "registrator@sjovik.test" } }, "1: spool")

-- 2. slapd stops.  New addresses, so that no cached answer hides it.
slapd_ctl("stop")
envelope(conn, { from = "ulla.ek@example.com", rcpts = { "maja.lund@sjovik.test" }, qid = "4DIR2" })
step("data", mt.data(conn))
check_reply(conn, SMFIR_REPLYCODE, "2: DATA with the directory down")
step("abort", mt.abort(conn))
wait_log("4DIR2: error: directory lookup failed", 0, 15, "2: log line")
local cmd, text = raw_last_reply(raw_until_data({ from = "ulla.ek@example.com",
                                                  rcpts = { "maja.lund@sjovik.test" } }))
check_eq(cmd, "y", "2: raw DATA reply")
check_eq(text, "451 4.3.0 Directory unavailable, please try again later", "2: reply text")

-- 3. on_directory_error = accept, by reload.
set_on_directory_error("accept")
local from = log_size()
mt.signal(SIGUSR1)
wait_log("configuration reloaded from", from, 30, "3: reload")
from = log_size()
reply = send_message(conn, registreras_message("4DIR3", "maja.lund@sjovik.test", "dir-3@example.org"))
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "3: end of message reply")
check(not mt.eom_check(conn, MT_HDRADD), "3: a header added though unclassified: X-Diarie-Klass '"
      .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(mt.eom_check(conn, MT_HDRDELETE, "X-Diarie-Klass", 1), "3: forged X-Diarie-Klass not removed")
wait_log("4DIR3: warning: directory down and on_directory_error=accept: passed unclassified",
         from, 5, "3: log line")
check_spooled(nil, { { "copy", "registrator@sjovik.test" } }, "3: spool")

-- 4. slapd is back (same port): classified again, over a pool that
-- lost its connections twice.
slapd_ctl("restart")
from = log_size()
reply = send_message(conn, registreras_message("4DIR4", "maja.lund@sjovik.test", "dir-4@example.org"))
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "4: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "4: class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
local id = added_header(conn, "X-Diarie-Id"):sub(2)
-- maja.lund has fullmakt: a copy to BN's registrator.
check_spooled(id, { { "copy", "registrator@sjovik.test" } }, "4: spool")

step("disconnect", mt.disconnect(conn))
mt.echo("directory: ok")
