-- common.lua: helpers shared by the milter-protocol tests (tests/milter/*.lua).
--
-- Loaded by each script with dofile(lib).  run.sh defines these globals
-- with miltertest -D:
--   binary   build/diariemilter
--   conf     this script's configuration (its own socket, spool and log)
--   sock     the unix socket path in conf
--   spool    the spool directory in conf
--   log      the log file in conf
--   dir      a scratch directory for this script
--   valgrind optional: run the daemon under this valgrind binary,
--   vglog    writing valgrind's report here,
--   vgsupp   with this suppressions file
--   slapd, slapd_dir  tests/lib/slapd.sh and the private instance's
--            directory (directory.lua stops and restarts it)
--
-- miltertest exits 1 on an error() but does not say which check failed:
-- every check here prints "FAIL: ..." with mt.echo first.

-- Fail the script with a readable message.
function fail(msg)
    mt.echo("FAIL: " .. msg)
    error(msg, 0)
end

function check(cond, msg)
    if not cond then
        fail(msg)
    end
end

function check_eq(got, want, what)
    if got ~= want then
        fail(string.format("%s: got %s, want %s", what, tostring(got), tostring(want)))
    end
end

-- The name of a milter reply code, for messages.
local reply_names = {}
for _, n in ipairs({ "SMFIR_CONTINUE", "SMFIR_ACCEPT", "SMFIR_REJECT", "SMFIR_TEMPFAIL",
                     "SMFIR_DISCARD", "SMFIR_REPLYCODE" }) do
    if _G[n] ~= nil then
        reply_names[_G[n]] = n
    end
end

function reply_name(r)
    if r == nil then
        return "nil"
    end
    if reply_names[r] ~= nil then
        return reply_names[r]
    end
    if r >= 32 and r < 127 then
        return string.format("'%s'", string.char(r))
    end
    return tostring(r)
end

-- The daemon negotiates SMFIP_NR_* for connect, MAIL, RCPT, headers, end
-- of headers and body: miltertest then reads no reply and getreply()
-- says SMFIR_CONTINUE for those steps.  DATA and end of message are
-- always answered.
function check_reply(conn, want, what)
    local got = mt.getreply(conn)
    if got ~= want then
        fail(string.format("%s: reply %s, want %s", what, reply_name(got), reply_name(want)))
    end
end

-- Call an mt.* step; they return nil on success or an error string.
function step(what, err)
    if err ~= nil then
        fail(what .. ": " .. tostring(err))
    end
end

-- Start the daemon (under valgrind when asked) in the foreground.
-- miltertest remembers the process, sends it SIGTERM when the script
-- ends and waits for it: a non-zero exit status fails the run.
function start_filter()
    -- Replies may be slow under valgrind.
    mt.set_timeout(30)
    if valgrind ~= nil and valgrind ~= "" then
        mt.startfilter(valgrind, "--leak-check=full", "--errors-for-leak-kinds=definite",
                       "--error-exitcode=99", "--track-fds=no", "--num-callers=30",
                       "--log-file=" .. vglog, "--suppressions=" .. vgsupp,
                       binary, "-f", "-c", conf)
    else
        mt.startfilter(binary, "-f", "-c", conf)
    end
end

-- Connect to the daemon, retrying while it starts (slowly under
-- valgrind): up to 60 s.
function connect()
    local conn = mt.connect("unix:" .. sock, 600, 0.1)
    check(conn ~= nil, "mt.connect(unix:" .. sock .. ") failed")
    return conn
end

-- Open a connection and send the connect step with its macros.
function open_session(client_addr, client_name)
    local conn = connect()
    client_addr = client_addr or "203.0.113.25"
    step("macro connect", mt.macro(conn, SMFIC_CONNECT, "{client_addr}", client_addr,
                                   "{daemon_name}", "smtpd"))
    step("conninfo", mt.conninfo(conn, client_name or "mail.example.net", client_addr))
    check_reply(conn, SMFIR_CONTINUE, "connect")
    return conn
end

-- The envelope: m.from, m.rcpts (list), m.auth (SASL login or nil),
-- m.qid (queue id macro "i").  Angle brackets are added.
function envelope(conn, m)
    step("macro mail", mt.macro(conn, SMFIC_MAIL, "{auth_authen}", m.auth or ""))
    step("mailfrom", mt.mailfrom(conn, "<" .. m.from .. ">"))
    check_reply(conn, SMFIR_CONTINUE, "MAIL FROM")
    for _, r in ipairs(m.rcpts) do
        step("macro rcpt", mt.macro(conn, SMFIC_RCPT, "i", m.qid or "4TEST"))
        step("rcptto " .. r, mt.rcptto(conn, "<" .. r .. ">"))
        check_reply(conn, SMFIR_CONTINUE, "RCPT TO " .. r)
    end
end

-- Headers (a list of {name, value}), end of headers, body (a string, or
-- a list of strings sent as separate chunks).
function content(conn, m)
    for _, h in ipairs(m.headers) do
        step("header " .. h[1], mt.header(conn, h[1], h[2]))
        check_reply(conn, SMFIR_CONTINUE, "header " .. h[1])
    end
    step("eoh", mt.eoh(conn))
    check_reply(conn, SMFIR_CONTINUE, "end of headers")
    local body = m.body
    if type(body) == "string" then
        body = { body }
    end
    for _, chunk in ipairs(body or {}) do
        step("body", mt.bodystring(conn, chunk))
        check_reply(conn, SMFIR_CONTINUE, "body chunk")
    end
end

-- Split a message text (LF or CRLF lines) into the headers and body the
-- MTA would pass: folded values keep their line breaks as "\n" plus the
-- continuation's blank, the body in CRLF lines and chunks of at most
-- 65535 bytes (libmilter's default limit).
function parse_message(text)
    text = text:gsub("\r\n", "\n")
    local head, body = text:match("^(.-)\n\n(.*)$")
    if head == nil then
        head, body = text, ""
    end
    local headers = {}
    for line in (head .. "\n"):gmatch("([^\n]*)\n") do
        if line:match("^[ \t]") and #headers > 0 then
            local h = headers[#headers]
            h[2] = h[2] .. "\n" .. line
        else
            local n, v = line:match("^([^:]+):[ \t]?(.*)$")
            check(n ~= nil, "parse_message: not a header line: " .. line)
            table.insert(headers, { n, v })
        end
    end
    body = crlf(body)
    local chunks = {}
    for i = 1, #body, 65535 do
        table.insert(chunks, body:sub(i, i + 65534))
    end
    return headers, chunks
end

-- A whole message up to and including end of message; returns the reply.
function send_message(conn, m)
    envelope(conn, m)
    step("data", mt.data(conn))
    check_reply(conn, SMFIR_CONTINUE, "DATA")
    content(conn, m)
    step("eom", mt.eom(conn))
    return mt.getreply(conn)
end

-- Plain text in CRLF lines.
function crlf(s)
    return (s:gsub("\r?\n", "\r\n"))
end

-- The usual headers of a test message.
function std_headers(from, to, subject, msgid, extra)
    local h = {
        { "From", from },
        { "To", to },
        { "Subject", subject },
        { "Message-ID", "<" .. msgid .. ">" },
        { "Date", "Sun, 22 Nov 2026 09:00:00 +0100" },
        { "MIME-Version", "1.0" },
        { "Content-Type", "text/plain; charset=utf-8" },
        { "Content-Transfer-Encoding", "8bit" },
    }
    for _, x in ipairs(extra or {}) do
        table.insert(h, x)
    end
    return h
end

-- Header values as the daemon sends them: it negotiates
-- SMFIP_HDR_LEADSPC, so what it adds carries its own leading space.
function hv(conn, value)
    if mt.test_option(conn, SMFIP_HDR_LEADSPC) then
        return " " .. value
    end
    return value
end

-- The value of the header the daemon added at end of message.
function added_header(conn, name)
    return mt.getheader(conn, name, 0)
end

-- --- the spool ----------------------------------------------------------

local function read_file(path)
    local f = io.open(path, "rb")
    if f == nil then
        return nil
    end
    local s = f:read("a")
    f:close()
    return s
end

-- Items owed in the spool (waiting in new/, or claimed into cur/ by a
-- delivery in progress), sorted by kind then recipient: each {name,
-- path, kind, rcpt, message, size, text}.
function spool_items()
    local items = {}
    -- The delivery worker moves an item new/ -> cur/ (claim) and back
    -- (deferred); each move is atomic and the item is in one folder or
    -- both at every instant.  Listing new/, cur/, new/ again sees it
    -- whichever way it moves meanwhile; names are read where they are.
    local names, order = {}, {}
    for _, dir in ipairs({ "new", "cur", "new" }) do
        local p = io.popen("find '" .. spool .. "/" .. dir .. "' -maxdepth 1 -type f -printf '%f\\n'")
        for name in p:lines() do
            if not names[name] then
                names[name] = true
                table.insert(order, name)
            end
        end
        p:close()
    end
    table.sort(order)
    for _, name in ipairs(order) do
        local path, text
        for _, dir in ipairs({ "new", "cur", "new" }) do
            path = spool .. "/" .. dir .. "/" .. name
            text = read_file(path)
            if text ~= nil then
                break
            end
        end
        -- Delivered meanwhile (it is gone): not owed any more.
        if text ~= nil then
            check(text:sub(1, 15) == "DIARIE-SPOOL 1\n", "spool item " .. name .. " has no envelope")
            local env = text:match("^(.-)\n\n")
            local it = { name = name, path = path, text = text, size = #text }
            it.kind = env:match("\nkind: ([^\n]*)")
            it.rcpt = env:match("\nrcpt: ([^\n]*)")
            it.message = env:match("\nmessage: ([^\n]*)")
            it.attempts = tonumber(env:match("\nattempts: ([^\n]*)"))
            it.mail = text:sub(#env + 3)
            table.insert(items, it)
        end
    end
    table.sort(items, function(a, b)
        if a.kind ~= b.kind then
            return a.kind < b.kind
        end
        return a.rcpt < b.rcpt
    end)
    return items
end

-- Items of one message (by diarie id), or all when id is nil.
function spooled(id)
    local out = {}
    for _, it in ipairs(spool_items()) do
        if id == nil or it.message == id then
            table.insert(out, it)
        end
    end
    return out
end

-- Assert that exactly these {kind, rcpt} items are spooled for id
-- (want sorted by kind, then rcpt).
function check_spooled(id, want, what)
    local got = spooled(id)
    local function show(list)
        local s = {}
        for _, it in ipairs(list) do
            table.insert(s, (it.kind or it[1]) .. ":" .. (it.rcpt or it[2]))
        end
        return "{" .. table.concat(s, ", ") .. "}"
    end
    local ok = #got == #want
    for i = 1, math.min(#got, #want) do
        if got[i].kind ~= want[i][1] or got[i].rcpt ~= want[i][2] then
            ok = false
        end
    end
    if not ok then
        fail(string.format("%s: spooled %s, want %s", what, show(got), show(want)))
    end
    return got
end

-- Wait until the delivery worker has tried every spooled item once
-- (with sendmail = /bin/false each is deferred and rewritten in place).
function wait_spool_tried(seconds)
    local deadline = os.time() + (seconds or 15)
    repeat
        local all = true
        for _, it in ipairs(spool_items()) do
            if (it.attempts or 0) < 1 then
                all = false
            end
        end
        if all then
            return
        end
        mt.sleep(0.1)
    until os.time() > deadline
    fail("the delivery worker did not try the spooled items")
end

-- The value of header name (case-insensitive) in a message text, folded
-- lines joined with "\n"; nil when absent.
function header_of(text, name)
    local head = (text:match("^(.-)\r?\n\r?\n") or text):gsub("\r\n", "\n")
    local want = name:lower()
    local found = nil
    for line in (head .. "\n"):gmatch("([^\n]*)\n") do
        if line:match("^[ \t]") then
            if found ~= nil then
                found = found .. "\n" .. line
            end
        elseif found ~= nil then
            return found
        else
            local n, v = line:match("^([^:]+):[ \t]*(.*)$")
            if n ~= nil and n:lower() == want then
                found = v
            end
        end
    end
    return found
end

local b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function base64_decode(s)
    s = s:gsub("[^%w%+/=]", "")
    local out, bits, nbits = {}, 0, 0
    for c in s:gmatch(".") do
        if c == "=" then
            break
        end
        bits = (bits << 6) | (b64:find(c, 1, true) - 1)
        nbits = nbits + 6
        if nbits >= 8 then
            nbits = nbits - 8
            table.insert(out, string.char((bits >> nbits) & 0xFF))
        end
    end
    return table.concat(out)
end

-- The original attached to a registrator copy (message/rfc822 as is, or
-- message/global in base64), as bytes; nil when there is none.
function copy_original(mail)
    local boundary = header_of(mail, "Content-Type"):match('boundary="?([^";]+)')
    check(boundary ~= nil, "the copy is not multipart")
    local parts = {}
    local text = mail:gsub("\r\n", "\n")
    local pat = "\n%-%-" .. boundary:gsub("%p", "%%%0")
    local pos = 1
    while true do
        local s, e = text:find(pat, pos)
        if s == nil then
            break
        end
        if #parts > 0 or pos > 1 then
            table.insert(parts, text:sub(pos, s - 1))
        end
        pos = e + 2
    end
    for _, part in ipairs(parts) do
        local ct = (header_of(part, "Content-Type") or ""):lower()
        if ct:match("^message/rfc822") or ct:match("^message/global") then
            local body = part:match("\n\n(.*)$") or ""
            if (header_of(part, "Content-Transfer-Encoding") or ""):lower() == "base64" then
                return base64_decode(body)
            end
            return body
        end
    end
    return nil
end

-- --- the log -------------------------------------------------------------

-- Wait until the daemon's log holds a line matching pattern (a Lua
-- pattern) after byte offset from; returns the line or fails.
function wait_log(pattern, from, seconds, what)
    local deadline = os.time() + (seconds or 15)
    repeat
        local text = read_file(log) or ""
        local line = text:sub((from or 0) + 1):match("[^\n]*" .. pattern .. "[^\n]*")
        if line ~= nil then
            return line
        end
        mt.sleep(0.1)
    until os.time() > deadline
    fail((what or "log") .. ": no line matching '" .. pattern .. "' in " .. log)
end

function log_size()
    local text = read_file(log) or ""
    return #text
end

-- --- a raw milter session --------------------------------------------------
--
-- miltertest reads the reply to DATA but does not expose its text.  To
-- check the exact SMTP reply a message gets at DATA, this speaks the
-- milter protocol itself through a small perl helper (perl-base's
-- IO::Socket::UNIX): the packets are written at once, replies are read
-- until the daemon closes the connection after QUIT.

local function packet(cmd, data)
    data = data or ""
    return string.pack(">I4", #data + 1) .. cmd .. data
end

local function macro_packet(stage, pairs_)
    local d = stage
    for i = 1, #pairs_, 2 do
        d = d .. pairs_[i] .. "\0" .. pairs_[i + 1] .. "\0"
    end
    return packet("D", d)
end

local perl_client = [[
use strict;
use IO::Socket::UNIX;
my ($path, $reqfile) = @ARGV;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
    or die "connect $path: $!\n";
open(my $f, "<:raw", $reqfile) or die "$reqfile: $!\n";
my $req = do { local $/; <$f> };
binmode STDOUT;
$SIG{ALRM} = sub { die "timeout\n" };
alarm 30;
my $off = 0;
while ($off < length $req) {
    my $n = syswrite($s, $req, length($req) - $off, $off);
    die "write: $!\n" unless defined $n;
    $off += $n;
}
my $buf;
while (1) {
    my $n = sysread($s, $buf, 65536);
    die "read: $!\n" unless defined $n;
    last if $n == 0;
    print $buf;
}
]]

-- Run one envelope (m.from, m.rcpts, m.auth, m.client) up to DATA and
-- return the replies as a list of {cmd, data}.
function raw_until_data(m)
    local client = m.client or "203.0.113.25"
    local req = packet("O", string.pack(">I4I4I4", 6, 0x1FF, 0x1FFFFF))
        .. macro_packet("C", { "{client_addr}", client, "{daemon_name}", "smtpd" })
        .. packet("C", "mail.example.net\0" .. "4" .. string.pack(">I2", 25) .. client .. "\0")
        .. macro_packet("M", { "{auth_authen}", m.auth or "" })
        .. packet("M", "<" .. m.from .. ">\0")
    for _, r in ipairs(m.rcpts) do
        req = req .. macro_packet("R", { "i", m.qid or "4RAW" }) .. packet("R", "<" .. r .. ">\0")
    end
    req = req .. packet("T") .. packet("Q")
    local reqfile = dir .. "/raw.req"
    local plfile = dir .. "/rawclient.pl"
    local f = assert(io.open(reqfile, "wb"))
    f:write(req)
    f:close()
    f = assert(io.open(plfile, "wb"))
    f:write(perl_client)
    f:close()
    local p = io.popen("perl '" .. plfile .. "' '" .. sock .. "' '" .. reqfile .. "'", "r")
    local out = p:read("a")
    local ok = p:close()
    check(ok, "raw milter session failed")
    local replies = {}
    local pos = 1
    while pos <= #out do
        check(pos + 4 <= #out, "raw milter session: truncated reply")
        local len, np = string.unpack(">I4", out, pos)
        local cmd = out:sub(np, np)
        local data = out:sub(np + 1, np + len - 1)
        table.insert(replies, { cmd = cmd, data = data })
        pos = np + len
    end
    return replies
end

-- The last reply of a raw session, and its SMTP text when it is 'y'.
function raw_last_reply(replies)
    local r = replies[#replies]
    check(r ~= nil, "raw milter session: no reply")
    local text = nil
    if r.cmd == "y" then
        text = r.data:gsub("%z$", "")
    end
    return r.cmd, text
end
