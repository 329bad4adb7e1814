-- large.lua: a message far larger than [milter] spill_size (run.sh sets
-- 4k for this script) moves from memory to an unnamed file in the spool
-- while it arrives, and is still read whole: the case number on its last
-- line makes it registreras, and the registrator's copy holds the
-- original byte for byte.
--
-- The body goes in chunks of at most 65535 bytes, as Postfix sends it:
-- mt.bodyfile() sends 65536-byte chunks, which libmilter refuses (its
-- default limit is 65535) by dropping the connection.
dofile(lib)

start_filter()
local conn = open_session("203.0.113.70", "mail.example.org")

local line = "Bilaga: beskrivning av tomten, fasader, planlösning och material. "
    .. "Åtgärden påverkar inte strandskyddet eller fornlämningar.\r\n"
local parts = { "Hej,\r\nhär kommer en utförlig beskrivning av det planerade huset.\r\n" }
for i = 1, 1600 do
    table.insert(parts, string.format("%04d ", i) .. line)
end
table.insert(parts, "Med vänlig hälsning\r\nMaria Karlsson\r\nÄrende: BN 2026/45\r\n")
local body = table.concat(parts)
check(#body > 200000, "the test body is only " .. #body .. " bytes")

-- Chunks that split lines and UTF-8 sequences anywhere.
local chunks = {}
local pos = 1
local sizes = { 65535, 1, 40000, 7, 65535 }
local k = 1
while pos <= #body do
    local n = sizes[(k - 1) % #sizes + 1]
    table.insert(chunks, body:sub(pos, pos + n - 1))
    pos = pos + n
    k = k + 1
end

local headers = std_headers("Maria Karlsson <maria.karlsson@example.org>", "bygglov@sjovik.test",
                            "Beskrivning till bygglovsansökan", "large-1@example.org")
local reply = send_message(conn, {
    from = "maria.karlsson@example.org",
    rcpts = { "bygglov@sjovik.test" },
    qid = "4LARGE1",
    headers = headers,
    body = chunks,
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
local id = added_header(conn, "X-Diarie-Id"):sub(2)

-- The size in the summary line is the message as received: headers as
-- "Name: value" CRLF, an empty line, the body.
local size = #body + 2
for _, h in ipairs(headers) do
    size = size + #h[1] + 2 + #h[2] + 2
end
wait_log("4LARGE1: id=" .. id .. " class=registreras direction=inbound rcpts=1 copies=1 notices=0 "
         .. "forwards=0 manager_notices=0 reminders=0 size=" .. size .. " ", 0, 5, "summary line")

-- The copy carries the whole original.
local items = check_spooled(id, { { "copy", "registrator@sjovik.test" } }, "spool")
local orig = copy_original(items[1].mail)
check(orig ~= nil, "the copy holds no original")
local want = {}
for _, h in ipairs(headers) do
    table.insert(want, h[1] .. ": " .. h[2] .. "\r\n")
end
local sent = table.concat(want) .. "\r\n" .. body
-- message/rfc822 travels with Unix line ends, message/global as received.
local got_n, sent_n = orig:gsub("\r\n", "\n"), sent:gsub("\r\n", "\n")
check_eq(#got_n, #sent_n, "length of the copy's original")
check(got_n == sent_n, "the copy's original differs from the message sent")

-- The spilled file was unnamed (or unlinked at once): nothing is left
-- beside the spool's folders.  (Once the delivery worker has deferred
-- the copy: it rewrites an item through tmp/.)
wait_spool_tried()
local p = io.popen("find '" .. spool .. "' -mindepth 1 -maxdepth 1 ! -name new ! -name cur ! -name tmp ! -name dead")
local stray = p:read("a")
p:close()
check_eq(stray, "", "files left in the spool directory")
p = io.popen("find '" .. spool .. "/tmp' -type f")
stray = p:read("a")
p:close()
check_eq(stray, "", "files left in the spool's tmp/")

step("disconnect", mt.disconnect(conn))
mt.echo("large: ok")
