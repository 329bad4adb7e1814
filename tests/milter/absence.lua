-- absence.lua: recipients away now (run.sh moves the fixture's absence
-- dates of Ivan and Fatima to around today).
--   ivan.petrov (BUN, fullmakt) is away with jonas.alm as delegate: the
--   message gets jonas.alm as an added recipient.
--   fatima.nilsson (SN, no fullmakt, no delegate) is away: her manager
--   lena.gustafsson gets a notice that the mailbox is unwatched, once a
--   day however many messages come.
--   jonas.alm's bare out-of-office replies earn him one reminder and mark
--   him absent: mail to him then tells his manager sara.olsson.
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

-- 3. Another message to fatima the same day: her own notice again, but
-- the manager has been told today (at most one notice a person a day).
reply = send_message(conn, {
    from = "lisa.ahmed@example.com",
    rcpts = { "fatima.nilsson@sjovik.test" },
    qid = "4ABS3",
    headers = std_headers("Lisa Ahmed <lisa.ahmed@example.com>", "fatima.nilsson@sjovik.test",
                          "Komplettering till min ansökan", "absence-3@example.com"),
    body = crlf("Hej,\njag vill komplettera mitt klagomål på handläggningen av min ansökan.\n"
                .. "Lisa Ahmed\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "3: end of message reply")
local id3 = added_header(conn, "X-Diarie-Id"):sub(2)
check_spooled(id3, { { "notice", "fatima.nilsson@sjovik.test" } }, "3: spool")
wait_log("4ABS3: id=" .. id3 .. " class=registreras direction=inbound rcpts=1 copies=0 notices=1 "
         .. "forwards=0 manager_notices=0", 0, 5, "3: summary line")

-- 4. An automatic reply from jonas.alm (no absence in the directory)
-- that names no one else: a reminder to him, once for this absence.
local function autoreply(qid, msgid, body)
    return send_message(conn, {
        auth = "jonas.alm",
        from = "",
        rcpts = { "lisa.ahmed@example.com" },
        qid = qid,
        headers = std_headers("Jonas Alm <jonas.alm@sjovik.test>", "lisa.ahmed@example.com",
                              "Frånvaro: Min ansökan", msgid,
                              { { "Auto-Submitted", "auto-replied" } }),
        body = crlf(body),
    })
end
reply = autoreply("4ABS4", "absence-4@sjovik.test",
                  "Hej,\njag är ledig till och med 2026-12-06 och läser inte min e-post.\n"
                  .. "Jonas Alm\n")
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "4: end of message reply")
check(mt.eom_check(conn, MT_HDRADD, "X-Diarie-Klass", hv(conn, "ringa")),
      "4: class is not ringa: '" .. tostring(added_header(conn, "X-Diarie-Klass")) .. "'")
local id4 = added_header(conn, "X-Diarie-Id"):sub(2)
items = check_spooled(id4, { { "notice", "jonas.alm@sjovik.test" } }, "4: spool")
wait_log("4ABS4: id=" .. id4 .. " class=ringa direction=outbound rcpts=1 copies=0 notices=0 "
         .. "forwards=0 manager_notices=0 reminders=1", 0, 5, "4: summary line")
check(header_of(items[1].mail, "Subject"):find("inte till", 1, true) ~= nil,
      "4: not the auto-reply reminder: " .. tostring(header_of(items[1].mail, "Subject")))

-- 5. His next bare auto-reply, in the same absence: no second reminder.
reply = autoreply("4ABS5", "absence-5@sjovik.test",
                  "Hej,\njag är ledig till och med 2026-12-06.\nJonas Alm\n")
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "5: end of message reply")
local id5 = added_header(conn, "X-Diarie-Id"):sub(2)
check_spooled(id5, {}, "5: spool")

-- 6. The auto-replies mark jonas absent: he has neither fullmakt nor a
-- delegate, so mail to him tells his manager sara.olsson.
reply = send_message(conn, {
    from = "lisa.ahmed@example.com",
    rcpts = { "jonas.alm@sjovik.test" },
    qid = "4ABS6",
    headers = std_headers("Lisa Ahmed <lisa.ahmed@example.com>", "jonas.alm@sjovik.test",
                          "Skolskjutsen igen", "absence-6@example.com"),
    body = crlf("Hej,\njag vill lämna ett klagomål på skolskjutsen, ärende BUN 2026/33.\n"
                .. "Lisa Ahmed\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "6: end of message reply")
local id6 = added_header(conn, "X-Diarie-Id"):sub(2)
check_spooled(id6, { { "notice", "jonas.alm@sjovik.test" },
                     { "notice", "sara.olsson@sjovik.test" } }, "6: spool")
wait_log("4ABS6: id=" .. id6 .. " class=registreras direction=inbound rcpts=1 copies=0 notices=1 "
         .. "forwards=0 manager_notices=1", 0, 5, "6: summary line")

-- 7. An auto-reply that names a colleague to contact earns no reminder.
reply = send_message(conn, {
    auth = "erik.sjoberg",
    from = "",
    rcpts = { "lisa.ahmed@example.com" },
    qid = "4ABS7",
    headers = std_headers("Erik Sjöberg <erik.sjoberg@sjovik.test>", "lisa.ahmed@example.com",
                          "Frånvaro", "absence-7@sjovik.test",
                          { { "Auto-Submitted", "auto-replied" } }),
    body = crlf("Hej,\njag är ledig. Kontakta min kollega Maja Lund, maja.lund@sjovik.test,\n"
                .. "eller växeln på 0411-12 34 00.\nErik Sjöberg\n"),
})
check_eq(reply_name(reply), reply_name(SMFIR_CONTINUE), "7: end of message reply")
local id7 = added_header(conn, "X-Diarie-Id"):sub(2)
check_spooled(id7, {}, "7: spool")

-- Nothing else in the spool.
check_spooled(nil, { { "copy", "registrator@sjovik.test" },
                     { "notice", "fatima.nilsson@sjovik.test" },
                     { "notice", "fatima.nilsson@sjovik.test" },
                     { "notice", "jonas.alm@sjovik.test" },
                     { "notice", "jonas.alm@sjovik.test" },
                     { "notice", "lena.gustafsson@sjovik.test" },
                     { "notice", "sara.olsson@sjovik.test" } }, "whole spool")

step("disconnect", mt.disconnect(conn))
mt.echo("absence: ok")
