-- absence.lua: recipients away now (run.sh moves the fixture's absence
-- dates of Ivan and Fatima to around today).
--   ivan.petrov (BUN, fullmakt) is away with jonas.alm as delegate: the
--   message gets jonas.alm as an added recipient.
--   fatima.nilsson (SN, no fullmakt, no delegate) is away: her manager
--   lena.gustafsson gets a notice that the mailbox is unwatched.
dofile(lib)

start_filter()
local conn = open_session("203.0.113.60", "mail.example.com")

-- 1. A complaint citing BUN 2026/33 to ivan.petrov.
local reply = send_message(conn, {
    from = "lisa.ahmed@example.com",
    rcpts = { "ivan.petrov@sjovik.test" },
    qid = "4ABS1",
    headers = std_headers("Lisa Ahmed <lisa.ahmed@example.com>", "ivan.petrov@sjovik.test",
                          "Klagomål på skolskjutsen", "absence-1@example.com"),
    body = crlf("Hej,\njag vill lämna ett klagomål på skolskjutsen till Norrby skola, "
                .. "ärende BUN 2026/33.\nBussen har varit sen varje dag i veckan.\nLisa Ahmed\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "1: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "1: class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(mt.eom_check(conn, MT_RCPTADD, "<jonas.alm@sjovik.test>"),
      "1: jonas.alm@sjovik.test not added as a recipient")
check(not mt.eom_check(conn, MT_RCPTADD, "<sara.olsson@sjovik.test>"),
      "1: the manager added as a recipient")
local id1 = added_header(conn, "X-Diarie-Id"):sub(2)
-- ivan has fullmakt: a copy to the registrator; the delegate is a
-- recipient, not a spooled item; no manager notice (he has a delegate).
check_spooled(id1, { { "copy", "registrator@sjovik.test" } }, "1: spool")
wait_log("4ABS1: id=" .. id1 .. " class=registreras direction=inbound rcpts=1 copies=1 notices=0 "
         .. "forwards=1 manager_notices=0", 0, 5, "1: summary line")

-- 2. To fatima.nilsson: away, no fullmakt, no delegate.
reply = send_message(conn, {
    from = "lisa.ahmed@example.com",
    rcpts = { "fatima.nilsson@sjovik.test" },
    qid = "4ABS2",
    headers = std_headers("Lisa Ahmed <lisa.ahmed@example.com>", "fatima.nilsson@sjovik.test",
                          "Min ansökan", "absence-2@example.com"),
    -- registreras: Lisa is a party of BUN 2026/33 (R6.3).
    body = crlf("Hej,\njag vill lämna ett klagomål på handläggningen av min ansökan.\n"
                .. "Lisa Ahmed\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "2: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "registreras")),
      "2: class is not registreras: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
check(not mt.eom_check(conn, MT_RCPTADD, "<lena.gustafsson@sjovik.test>"),
      "2: the manager added as a recipient (a notice is owed, not the mail)")
local id2 = added_header(conn, "X-Diarie-Id"):sub(2)
-- No fullmakt (R10): no copy; fatima is told to have it registered, and
-- her manager that the mailbox is unwatched (R12, R13).
local items = check_spooled(id2, { { "notice", "fatima.nilsson@sjovik.test" },
                                   { "notice", "lena.gustafsson@sjovik.test" } }, "2: spool")
for _, it in ipairs(items) do
    check_eq(header_of(it.mail, "To"), it.rcpt, "2: notice To")
    check(header_of(it.mail, "X-Diarie-Genererad") ~= nil, "2: notice without a loop token")
end
wait_log("4ABS2: id=" .. id2 .. " class=registreras direction=inbound rcpts=1 copies=0 notices=1 "
         .. "forwards=0 manager_notices=1", 0, 5, "2: summary line")

-- Nothing else in the spool.
check_spooled(nil, { { "copy", "registrator@sjovik.test" },
                     { "notice", "fatima.nilsson@sjovik.test" },
                     { "notice", "lena.gustafsson@sjovik.test" } }, "whole spool")

step("disconnect", mt.disconnect(conn))
mt.echo("absence: ok")
