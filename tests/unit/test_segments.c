/*
 * mime/: the document model the rules read (dm_msg.segments), on
 * messages in the forms of ../shared/corpus/dev2 d101-d140 (written
 * here, not copied): the subject with encoded words joined, own text,
 * quoted history (">" lines, attributions, Outlook's header blocks,
 * HTML blockquotes), forwarded messages (inline in three clients' forms,
 * attached, Outlook's under "VB:"), signatures, list footers and
 * disclaimers, the HTML when the plain text is a stub, attachment names
 * (RFC 2231), calendar text, S/MIME signed content, languages, and the
 * bound on text.  Every segment valid UTF-8 of its length.
 */
#include "dm_test.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "dm_conf.h"
#include "dm_mime.h"
#include "dm_policy.h"

static dm_mime_limits lim;
static dm_policy *site;

static int group_setup(void **state)
{
    dm_conf *conf;
    GError *err = NULL;

    (void)state;
    dm_mime_init();
    conf = dm_conf_new_defaults();
    dm_mime_limits_from_conf(conf, &lim);
    g_free(conf->rules_file);
    conf->rules_file = dm_test_path("etc/rules.conf");
    g_free(conf->templates);
    conf->templates = dm_test_path("etc/templates");
    site = dm_policy_new(conf, &err);
    dm_conf_unref(conf);
    if (site == NULL) {
        print_error("policy: %s\n", err->message);
        g_error_free(err);
        return -1;
    }
    lim.autoreply_subjects = dm_policy_autoreply_subjects(site);
    lim.words = dm_policy_seg_words(site);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_policy_free(site);
    dm_mime_shutdown();
    return 0;
}

/* Every segment: a known kind, valid UTF-8 of its length, not empty. */
static void assert_segments_valid(const dm_msg *m)
{
    for (guint i = 0; i < m->segments->len; i++) {
        const dm_segment *s = g_ptr_array_index(m->segments, i);

        assert_true((unsigned)s->kind < DM_SEG_KINDS);
        assert_non_null(s->text);
        assert_true(s->len > 0);
        assert_int_equal(strlen(s->text), s->len);
        assert_true(g_utf8_validate(s->text, (gssize)s->len, NULL));
        assert_true(strlen(s->lang) < sizeof s->lang);
        if (s->source != NULL)
            assert_true(g_utf8_validate(s->source, -1, NULL));
    }
}

static dm_msg *extract(const char *raw)
{
    dm_msg *m = dm_mime_extract_buffer(raw, strlen(raw), &lim);

    assert_non_null(m);
    assert_segments_valid(m);
    return m;
}

/* "kind:text|kind:text|...": the segments in order, for one assertion
 * that shows the whole list when it fails. */
static char *seg_list(const dm_msg *m)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < m->segments->len; i++) {
        const dm_segment *g = g_ptr_array_index(m->segments, i);
        if (i > 0)
            g_string_append_c(s, '|');
        g_string_append_printf(s, "%s:%s", dm_seg_kind_name(g->kind), g->text);
    }
    return g_string_free(s, FALSE);
}

static void assert_segs(const dm_msg *m, const char *want)
{
    char *got = seg_list(m);

    if (strcmp(got, want) != 0) {
        print_error("segments:\n  got  %s\n  want %s\n", got, want);
        g_free(got);
        fail();
    }
    g_free(got);
}

/* The first segment of a kind, or NULL. */
static const dm_segment *seg_of(const dm_msg *m, dm_seg_kind kind)
{
    for (guint i = 0; i < m->segments->len; i++) {
        const dm_segment *s = g_ptr_array_index(m->segments, i);
        if (s->kind == kind)
            return s;
    }
    return NULL;
}

#define HEAD                                                                               \
    "From: Anna Berg <anna.berg@invanare.example>\n"                                       \
    "To: kommun@sjovik.test\n"                                                             \
    "Message-ID: <seg@invanare.example>\n"                                                 \
    "MIME-Version: 1.0\n"

/* ---- plain text ------------------------------------------------------------- */

static void test_subject_and_body(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract(HEAD "Subject: Fråga om bygglov\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Hej!\nJag undrar hur lång tid ett bygglov tar.\n\n");
    assert_segs(m, "subject:Fråga om bygglov|body:Hej!\nJag undrar hur lång tid ett bygglov tar.");
    dm_msg_free(m);

    /* No subject, no text: no segments. */
    m = extract(HEAD "Content-Type: text/plain\n\n\n");
    assert_int_equal(m->segments->len, 0);
    dm_msg_free(m);

    /* Unparsable: none either, and nothing crashes. */
    m = extract("");
    assert_int_equal(m->segments->len, 0);
    dm_msg_free(m);
}

/* A case number split across two encoded words of the subject. */
static void test_subject_encoded_words(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract(HEAD "Subject: =?utf-8?Q?Bilder_fr=C3=A5n_tomten_=28BN_202?=\n"
                     " =?utf-8?Q?6/45=29?=\n"
                     "Content-Type: text/plain\n\nSe bifogat.\n");
    assert_string_equal(seg_of(m, DM_SEG_SUBJECT)->text, "Bilder från tomten (BN 2026/45)");
    dm_msg_free(m);
    /* ISO-8859-1, base64, split inside the number. */
    m = extract(HEAD "Subject: =?iso-8859-1?B?S29tcGxldHRlcmluZyB0aWxsIORyZW5kZSBTTiAyMDI2?=\n"
                     " =?iso-8859-1?B?LzIzMyAtIGzka2FyaW50eWc=?=\n"
                     "Content-Type: text/plain\n\nHej.\n");
    assert_string_equal(seg_of(m, DM_SEG_SUBJECT)->text,
                        "Komplettering till ärende SN 2026/233 - läkarintyg");
    dm_msg_free(m);
}

static void test_quoted_lines(void **state)
{
    dm_msg *m;

    (void)state;
    /* Interleaved: the answers are the sender's own. */
    m = extract(HEAD "Subject: Re: Parkering\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Hej Per,\n\n"
                     "Den ons 25 nov. 2026 kl 16:12 skrev Per Ek <per.ek@invanare.example>:\n\n"
                     "> Hur länge får man stå där?\n"
                     ">\n"
                     "\n"
                     "Två timmar.\n\n"
                     "> Och på natten?\n"
                     ">> Gäller skyltarna?\n"
                     "\n"
                     "Nej.\n");
    assert_segs(m, "subject:Re: Parkering|body:Hej Per,|"
                   "quoted:Den ons 25 nov. 2026 kl 16:12 skrev Per Ek <per.ek@invanare.example>:\n\n"
                   "Hur länge får man stå där?|body:Två timmar.|"
                   "quoted:Och på natten?\nGäller skyltarna?|body:Nej.");
    dm_msg_free(m);

    /* Top-posted (Outlook): all after the header block is history. */
    m = extract(HEAD "Subject: SV: Anmälan\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Här kommer bilderna.\n\n"
                     "Från: Erik Sjöberg <erik.sjoberg@sjovik.test>\n"
                     "Skickat: den 24 november 2026 15:31\n"
                     "Till: Tove <tove@invanare.example>\n"
                     "Ämne: SV: Anmälan\n\n"
                     "Ärendet är BN 2026/77. Skicka gärna bilder.\n\n"
                     "Erik\n");
    assert_segs(m, "subject:SV: Anmälan|body:Här kommer bilderna.|"
                   "quoted:Från: Erik Sjöberg <erik.sjoberg@sjovik.test>\n"
                   "Skickat: den 24 november 2026 15:31\nTill: Tove <tove@invanare.example>\n"
                   "Ämne: SV: Anmälan\n\nÄrendet är BN 2026/77. Skicka gärna bilder.\n\nErik");
    dm_msg_free(m);

    /* "Den ..., skrev Maja Lund:" (the name last), after a signature. */
    m = extract(HEAD "Subject: Re: Studiebesök\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Kan jag få ta del av handlingarna i BN 2026/77?\n\n"
                     "Vänliga hälsningar\nJulia\n\n"
                     "Den 2026-11-23 kl. 10:41, skrev Maja Lund:\n"
                     "> Vi tar inte emot studiebesök i december.\n");
    assert_segs(m, "subject:Re: Studiebesök|body:Kan jag få ta del av handlingarna i BN 2026/77?|"
                   "signature:Vänliga hälsningar\nJulia|"
                   "quoted:Den 2026-11-23 kl. 10:41, skrev Maja Lund:\n"
                   "Vi tar inte emot studiebesök i december.");
    dm_msg_free(m);
    /* A colon and a wrote word, but no quote after: the sender's own. */
    m = extract(HEAD "Subject: Ansökan\nContent-Type: text/plain; charset=utf-8\n\n"
                     "Detta skrev jag i min ansökan:\nJag behöver en större lägenhet.\n");
    assert_segs(m, "subject:Ansökan|body:Detta skrev jag i min ansökan:\n"
                   "Jag behöver en större lägenhet.");
    dm_msg_free(m);

    /* "On ... wrote:" with no ">" after it (a top-posted reply). */
    m = extract(HEAD "Subject: Re: Middag\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "I want to report a fence built without a permit.\n\n"
                     "On Fri, 20 Nov 2026 at 18:40, Maja wrote:\n"
                     "Sure, we'll bring dessert!\n");
    assert_segs(m, "subject:Re: Middag|body:I want to report a fence built without a permit.|"
                   "quoted:On Fri, 20 Nov 2026 at 18:40, Maja wrote:\nSure, we'll bring dessert!");
    dm_msg_free(m);
}

static void test_forwarded_inline(void **state)
{
    dm_msg *m;

    (void)state;
    /* Gmail's separator. */
    m = extract(HEAD "Subject: Fwd: Kallelse\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "För kännedom.\n\n"
                     "---------- Forwarded message ---------\n"
                     "From: Styrelsen <styrelsen@forening.example>\n"
                     "Subject: Kallelse till årsmöte\n\n"
                     "Välkomna till årsmötet den 3 december.\n");
    assert_segs(m, "subject:Fwd: Kallelse|body:För kännedom.|"
                   "forwarded:---------- Forwarded message ---------\n"
                   "From: Styrelsen <styrelsen@forening.example>\nSubject: Kallelse till årsmöte\n\n"
                   "Välkomna till årsmötet den 3 december.");
    dm_msg_free(m);

    /* Apple Mail: "Början av vidarebefordrat meddelande:" and ">" lines,
     * after the sender's "Skickat från min iPhone". */
    m = extract(HEAD "Subject: Fwd: Cykelställ\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Se nedan.\n\nSkickat från min iPhone\n\n"
                     "Början av vidarebefordrat meddelande:\n\n"
                     "> Från: Hanna <hanna@invanare.example>\n"
                     "> Ämne: Cykelställ vid skolan\n"
                     ">\n"
                     "> Jag föreslår låsbara cykelställ.\n");
    assert_segs(m, "subject:Fwd: Cykelställ|body:Se nedan.|signature:Skickat från min iPhone|"
                   "forwarded:Början av vidarebefordrat meddelande:\n\n"
                   "Från: Hanna <hanna@invanare.example>\nÄmne: Cykelställ vid skolan\n\n"
                   "Jag föreslår låsbara cykelställ.");
    dm_msg_free(m);

    /* Outlook's inline forward is a reply header block under a "VB:"
     * subject: forwarded, not quoted. */
    m = extract(HEAD "Subject: VB: Hjälp med bistånd\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Kan ni ta hand om detta?\n\n"
                     "Från: Jessica <jessica@invanare.example>\n"
                     "Skickat: den 20 november 2026 07:58\n"
                     "Ämne: Hjälp med bistånd\n\n"
                     "Jag har sökt ekonomiskt bistånd (SN 2026/210).\n");
    assert_non_null(seg_of(m, DM_SEG_FORWARDED));
    assert_null(seg_of(m, DM_SEG_QUOTED));
    assert_non_null(strstr(seg_of(m, DM_SEG_FORWARDED)->text, "SN 2026/210"));
    dm_msg_free(m);
}

static void test_signatures(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract(HEAD "Subject: Telefontid\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Hej! Har ni telefontid i mellandagarna?\n\n"
                     "Med vänliga hälsningar\n"
                     "Malin Sandberg\nProjektledare\n0492-123 45\n");
    assert_segs(m, "subject:Telefontid|body:Hej! Har ni telefontid i mellandagarna?|"
                   "signature:Med vänliga hälsningar\nMalin Sandberg\nProjektledare\n0492-123 45");
    dm_msg_free(m);

    /* "-- ", the delimiter. */
    m = extract(HEAD "Subject: x\nContent-Type: text/plain\n\n"
                     "Text.\n-- \nAnna Berg\nhttps://anna.example\n");
    assert_segs(m, "subject:x|body:Text.|signature:-- \nAnna Berg\nhttps://anna.example");
    dm_msg_free(m);

    /* "Mvh Anna" on one line; "Mvhs" is no sign-off. */
    m = extract(HEAD "Subject: x\nContent-Type: text/plain\n\n"
                     "Tack för svaret.\nMvh Anna\n");
    assert_segs(m, "subject:x|body:Tack för svaret.|signature:Mvh Anna");
    dm_msg_free(m);
    m = extract(HEAD "Subject: x\nContent-Type: text/plain\n\nTack.\nMvhs Anna\n");
    assert_segs(m, "subject:x|body:Tack.\nMvhs Anna");
    dm_msg_free(m);

    /* A greeting with much text after it is no sign-off. */
    {
        GString *raw = g_string_new(HEAD "Subject: x\nContent-Type: text/plain\n\n"
                                         "Hälsningar från Sjövik!\n");
        for (int i = 0; i < 15; i++)
            g_string_append_printf(raw, "Rad %d om ärendet.\n", i);
        m = extract(raw->str);
        assert_null(seg_of(m, DM_SEG_SIGNATURE));
        dm_msg_free(m);
        g_string_free(raw, TRUE);
    }
}

static void test_footers(void **state)
{
    dm_msg *m;

    (void)state;
    /* Mailman's footer, a part of its own. */
    m = extract(HEAD "Subject: [Medlemmar] Skrivelse\n"
                     "List-Id: <medlemmar.lists.forening.example>\n"
                     "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
                     "--b\nContent-Type: text/plain; charset=utf-8\n\n"
                     "Föreningen begär att kommunen sänker hastigheten.\n\n"
                     "Skrivelsen skickas via föreningens e-postlista.\n\n"
                     "För styrelsen\nKarl\n"
                     "--b\nContent-Type: text/plain; charset=us-ascii\n\n"
                     "_______________________________________________\n"
                     "Medlemmar mailing list -- medlemmar@lists.forening.example\n"
                     "https://lists.forening.example/mailman/listinfo/medlemmar\n"
                     "--b--\n");
    assert_segs(m, "subject:[Medlemmar] Skrivelse|"
                   "body:Föreningen begär att kommunen sänker hastigheten.\n\n"
                   "Skrivelsen skickas via föreningens e-postlista.\n\nFör styrelsen\nKarl|"
                   "footer:_______________________________________________\n"
                   "Medlemmar mailing list -- medlemmar@lists.forening.example\n"
                   "https://lists.forening.example/mailman/listinfo/medlemmar");
    dm_msg_free(m);

    /* A newsletter's unsubscribe paragraph, and a disclaimer. */
    m = extract(HEAD "Subject: Nyhetsbrev\nContent-Type: text/plain; charset=utf-8\n\n"
                     "Ny praxis om bistånd.\n\nLäs mer på webben.\n\n"
                     "--\nDu får nyhetsbrevet som prenumerant. Avregistrera dig: "
                     "https://nyhet.example/av\n");
    assert_string_equal(seg_of(m, DM_SEG_FOOTER)->text,
                        "--\nDu får nyhetsbrevet som prenumerant. Avregistrera dig: "
                        "https://nyhet.example/av");
    assert_null(seg_of(m, DM_SEG_SIGNATURE));
    dm_msg_free(m);

    /* Never the first thing a message says: asking to unsubscribe is
     * the errand. */
    m = extract(HEAD "Subject: Sluta skicka\nContent-Type: text/plain; charset=utf-8\n\n"
                     "Avregistrera dig-länken fungerar inte, ta bort mig från listan.\n");
    assert_null(seg_of(m, DM_SEG_FOOTER));
    dm_msg_free(m);
}

/* ---- structure ------------------------------------------------------------- */

static void test_stub_alternative(void **state)
{
    dm_msg *m;

    (void)state;
    /* "Visa i webbläsaren": the HTML holds the letter. */
    m = extract(HEAD "Subject: Skrivelse\n"
                     "Content-Type: multipart/alternative; boundary=\"a\"\n\n"
                     "--a\nContent-Type: text/plain; charset=utf-8\n\n"
                     "Det här meddelandet är skickat i HTML-format.\n"
                     "Visa i webbläsaren: https://portal.example/m/7\n"
                     "--a\nContent-Type: text/html; charset=utf-8\n\n"
                     "<p>Vi begär att kommunen plogar Skolvägen.</p>\n"
                     "--a--\n");
    assert_segs(m, "subject:Skrivelse|body:Vi begär att kommunen plogar Skolvägen.");
    dm_msg_free(m);

    /* A short decoy beside a long HTML letter: the HTML. */
    m = extract(HEAD "Subject: Info\n"
                     "Content-Type: multipart/alternative; boundary=\"a\"\n\n"
                     "--a\nContent-Type: text/plain; charset=utf-8\n\nHej,\n\nIT-avdelningen\n"
                     "--a\nContent-Type: multipart/related; boundary=\"r\"\n\n"
                     "--r\nContent-Type: text/html; charset=utf-8\n\n"
                     "<p>Ditt l&ouml;senord upph&ouml;r idag. Bekr&auml;fta det p&aring; "
                     "l&auml;nken nedan inom 24 timmar, annars st&auml;ngs din brevl&aring;da "
                     "och all inkommande e-post raderas utan att du kan f&aring; tillbaka "
                     "den.</p>\n"
                     "--r\nContent-Type: image/png\nContent-ID: <logo@x>\n"
                     "Content-Disposition: inline; filename=logo.png\n\niVBORw0K\n"
                     "--r--\n--a--\n");
    assert_non_null(strstr(seg_of(m, DM_SEG_BODY)->text, "Ditt lösenord upphör idag."));
    assert_null(seg_of(m, DM_SEG_ATTACHMENT_NAME)); /* the logo says nothing */
    dm_msg_free(m);

    /* A plain letter beside its HTML: the plain one. */
    m = extract(HEAD "Subject: Fråga\n"
                     "Content-Type: multipart/alternative; boundary=\"a\"\n\n"
                     "--a\nContent-Type: text/plain; charset=utf-8\n\nNär töms kärlen?\n"
                     "--a\nContent-Type: text/html; charset=utf-8\n\n<p>När <b>töms</b> kärlen?</p>\n"
                     "--a--\n");
    assert_segs(m, "subject:Fråga|body:När töms kärlen?");
    dm_msg_free(m);
}

static void test_html_structure(void **state)
{
    dm_msg *m;

    (void)state;
    /* HTML only: &nbsp; inside the case number, quoted history in a
     * blockquote. */
    m = extract(HEAD "Subject: Re: Hyra\n"
                     "Content-Type: text/html; charset=utf-8\n\n"
                     "<div>Vi f&ouml;rvaltar huset d&auml;r er klient i &auml;rende "
                     "SN&nbsp;2026/210 hyr.</div>"
                     "<div class=gmail_quote><div class=gmail_attr>Den 2 nov. 2026 skrev "
                     "Lena &lt;lena@sjovik.test&gt;:</div>"
                     "<blockquote class=gmail_quote>Vilken l&auml;genhet g&auml;ller det?"
                     "</blockquote></div>");
    assert_segs(m, "subject:Re: Hyra|"
                   "body:Vi förvaltar huset där er klient i ärende SN 2026/210 hyr.|"
                   "quoted:Den 2 nov. 2026 skrev Lena <lena@sjovik.test>:\n\n"
                   "Vilken lägenhet gäller det?");
    dm_msg_free(m);
}

static void test_attached_message_and_names(void **state)
{
    dm_msg *m;
    const dm_segment *s;

    (void)state;
    m = extract(HEAD "Subject: Fwd: Ansökan\n"
                     "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
                     "--b\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Se nedan.\n"
                     "--b\n"
                     "Content-Type: message/rfc822\n\n"
                     "From: Per <per@invanare.example>\n"
                     "Subject: Ansökan om bygglov\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Jag ansöker om bygglov för ett garage.\n"
                     "--b\n"
                     "Content-Type: application/pdf\n"
                     "Content-Disposition: attachment;\n"
                     " filename*0*=utf-8''%C3%96verklagande%20av%20kommunstyrelsens;\n"
                     " filename*1*=%20beslut%202026-10-28.pdf\n"
                     "Content-Transfer-Encoding: base64\n\n"
                     "JVBERi0xLjQK\n"
                     "--b--\n");
    assert_segs(m, "subject:Fwd: Ansökan|body:Se nedan.|"
                   "forwarded:Ansökan om bygglov\n\nJag ansöker om bygglov för ett garage.|"
                   "attachment-name:Överklagande av kommunstyrelsens beslut 2026-10-28.pdf");
    s = seg_of(m, DM_SEG_ATTACHMENT_NAME);
    assert_string_equal(s->source, "Överklagande av kommunstyrelsens beslut 2026-10-28.pdf");
    assert_int_equal(s->page, 0);
    dm_msg_free(m);

    /* A message a delivery report returns is the sender's own: quoted. */
    m = extract("From: MAILER-DAEMON@mx.example\nTo: erik@sjovik.test\n"
                "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n"
                "--r\nContent-Type: text/plain\n\nThe mail could not be delivered.\n"
                "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example\n"
                "--r\nContent-Type: message/rfc822\n\n"
                "From: erik@sjovik.test\nSubject: BN 2026/77\n\nVi har tagit emot er anmälan.\n"
                "--r--\n");
    assert_null(seg_of(m, DM_SEG_FORWARDED));
    assert_non_null(strstr(seg_of(m, DM_SEG_QUOTED)->text, "Vi har tagit emot er anmälan."));
    dm_msg_free(m);
}

static void test_calendar(void **state)
{
    dm_msg *m;
    const dm_segment *s;
    const char *ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\n"
                      "TZID:Europe/Stockholm\r\nEND:VTIMEZONE\r\n"
                      "BEGIN:VEVENT\r\nDTSTART:20261203T090000\r\n"
                      "SUMMARY;LANGUAGE=sv-SE:Platsbesök Tallbacken 2:8\r\n"
                      "LOCATION:Tallbacken 2:8\\, Sjövik\r\n"
                      "DESCRIPTION:Platsbesök i överklagandet av BN 2026/51.\\nTa med ritningar\r\n"
                      " na\\; vi ses vid grinden.\r\n"
                      "X-ALT-DESC;FMTTYPE=text/html:<p>dold</p>\r\n"
                      "END:VEVENT\r\nEND:VCALENDAR\r\n";
    char *raw;

    (void)state;
    /* A bare invitation. */
    raw = g_strdup_printf(HEAD "Subject: Platsbesök\n"
                               "Content-Type: text/calendar; method=REQUEST; charset=utf-8\n\n%s",
                          ics);
    m = extract(raw);
    g_free(raw);
    s = seg_of(m, DM_SEG_CALENDAR);
    assert_non_null(s);
    assert_string_equal(s->text, "Platsbesök Tallbacken 2:8\nTallbacken 2:8, Sjövik\n"
                                 "Platsbesök i överklagandet av BN 2026/51.\n"
                                 "Ta med ritningarna; vi ses vid grinden.");
    assert_null(s->source);
    dm_msg_free(m);

    /* Outlook: the calendar as an alternative and as invite.ics: once. */
    raw = g_strdup_printf(HEAD "Subject: Möte\n"
                               "Content-Type: multipart/mixed; boundary=\"m\"\n\n"
                               "--m\nContent-Type: multipart/alternative; boundary=\"a\"\n\n"
                               "--a\nContent-Type: text/plain; charset=utf-8\n\nVälkommen.\n"
                               "--a\nContent-Type: text/calendar; charset=utf-8\n\n%s"
                               "--a--\n"
                               "--m\nContent-Type: application/ics; name=invite.ics\n"
                               "Content-Disposition: attachment; filename=invite.ics\n\n%s"
                               "--m--\n",
                          ics, ics);
    m = extract(raw);
    g_free(raw);
    {
        int n = 0;
        for (guint i = 0; i < m->segments->len; i++)
            n += ((const dm_segment *)g_ptr_array_index(m->segments, i))->kind == DM_SEG_CALENDAR;
        assert_int_equal(n, 1);
    }
    assert_string_equal(seg_of(m, DM_SEG_BODY)->text, "Välkommen.");
    dm_msg_free(m);
}

static void test_smime_signed(void **state)
{
    dm_msg *m;

    (void)state;
    /* Clear-signed: the content is read, the signature's name is not. */
    m = extract(HEAD "Subject: Begäran om yttrande\n"
                     "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";"
                     " micalg=sha-256; boundary=\"s\"\n\n"
                     "--s\nContent-Type: text/plain; charset=utf-8\n\n"
                     "Socialnämnden ska yttra sig senast den 15 januari.\n"
                     "--s\nContent-Type: application/pkcs7-signature; name=smime.p7s\n"
                     "Content-Disposition: attachment; filename=smime.p7s\n"
                     "Content-Transfer-Encoding: base64\n\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n"
                     "--s--\n");
    assert_segs(m, "subject:Begäran om yttrande|"
                   "body:Socialnämnden ska yttra sig senast den 15 januari.");
    dm_msg_free(m);
}

/* Opaque signed data (smime.p7m): the entity inside is read.  The DER is
 * made here by OpenSSL, signed with a throwaway key and certificate. */
static void test_smime_opaque(void **state)
{
    static const char inner[] = "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                                "Vi begär ett yttrande i ärende SN 2026/210.\r\n";
    BIO *in = BIO_new_mem_buf(inner, (int)strlen(inner));
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_NAME *name;
    CMS_ContentInfo *cms;
    unsigned char *der = NULL;
    int n;
    char *b64, *raw;
    dm_msg *m;

    (void)state;
    assert_non_null(key);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"IVO test", -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
    cms = CMS_sign(cert, key, NULL, in, CMS_BINARY);
    assert_non_null(cms);
    n = i2d_CMS_ContentInfo(cms, &der);
    assert_true(n > 0);
    b64 = g_base64_encode(der, (gsize)n);
    raw = g_strdup_printf(HEAD "Subject: Yttrande\n"
                               "Content-Type: application/pkcs7-mime; smime-type=signed-data;"
                               " name=smime.p7m\n"
                               "Content-Disposition: attachment; filename=smime.p7m\n"
                               "Content-Transfer-Encoding: base64\n\n%s\n",
                          b64);
    m = extract(raw);
    assert_segs(m, "subject:Yttrande|body:Vi begär ett yttrande i ärende SN 2026/210.");
    dm_msg_free(m);
    /* Garbage in a .p7m: listed, nothing read, nothing crashes. */
    m = extract(HEAD "Subject: Trasig\n"
                     "Content-Type: application/pkcs7-mime; smime-type=signed-data\n"
                     "Content-Transfer-Encoding: base64\n\nAAAAAAAA\n");
    assert_segs(m, "subject:Trasig");
    dm_msg_free(m);
    g_free(raw);
    g_free(b64);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(in);
}

/* ---- languages --------------------------------------------------------------- */

static void test_languages(void **state)
{
    static const struct {
        const char *text, *lang;
    } cases[] = {
        {"Hej! Jag undrar när ni tömmer kärlen för matavfall på Björkvägen, det har inte "
         "hänt på tre veckor och det luktar illa.", "sv"},
        {"Hello, this is the third time I am writing about the playground by our house. "
         "Nobody has repaired the broken swing since the summer.", "en"},
        {"Hei, haemme tyttärellemme paikkaa suomenkielisestä esikoulusta tammikuusta alkaen. "
         "Voisitteko kertoa, milloin päätös tulee?", "fi"},
        {"مرحباً، أنا مقيمة جديدة في المدينة منذ شهر أيلول. أريد أن أسأل متى تبدأ دروس اللغة "
         "السويدية القادمة وكيف يمكنني التسجيل فيها.", "ar"},
        {"Sehr geehrte Damen und Herren, wir möchten Sie über die neuen Fahrpläne "
         "informieren, die ab dem ersten Januar gelten werden.", "de"},
        {"Tack!", ""},
        {"KS 2026/112 2026-11-20 https://sjovik.test/a/b?c=d anna@sjovik.test 0492-123 45", ""},
    };

    (void)state;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *raw = g_strdup_printf(HEAD "Subject: x\nContent-Type: text/plain; charset=utf-8\n\n"
                                         "%s\n",
                                    cases[i].text);
        dm_msg *m = extract(raw);
        const dm_segment *b = seg_of(m, DM_SEG_BODY);

        assert_non_null(b);
        if (strcmp(b->lang, cases[i].lang) != 0) {
            print_error("\"%s\": language \"%s\", want \"%s\"\n", cases[i].text, b->lang,
                        cases[i].lang);
            fail();
        }
        assert_string_equal(m->lang, cases[i].lang);
        dm_msg_free(m);
        g_free(raw);
    }
}

/* The message's language is of its own and forwarded text: an English
 * note forwarding a long Swedish letter is Swedish mail. */
static void test_message_language(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract(HEAD "Subject: Fwd: Ansökan\nContent-Type: text/plain; charset=utf-8\n\n"
                     "See below, and thanks a lot for your kind help with this matter!\n\n"
                     "---------- Forwarded message ---------\n"
                     "Hej! Vi ansöker om plats i förskolan för vår dotter från januari. Hon "
                     "är tre år och vi bor sedan i somras på Kvarnvägen i Norrby. Vi har "
                     "inte fått något svar på vår förra ansökan och undrar varför.\n");
    assert_string_equal(seg_of(m, DM_SEG_BODY)->lang, "en");
    assert_string_equal(seg_of(m, DM_SEG_FORWARDED)->lang, "sv");
    assert_string_equal(m->lang, "sv");
    dm_msg_free(m);
}

/* ---- limits -------------------------------------------------------------------- */

static void test_max_text(void **state)
{
    dm_mime_limits small = lim;
    GString *raw = g_string_new(HEAD "Subject: Lång\nContent-Type: text/plain\n\n");
    dm_msg *m;
    size_t total = 0;

    (void)state;
    for (int i = 0; i < 400; i++)
        g_string_append_printf(raw, "Rad %d i ett långt brev om ärendet.\n\n> citat %d\n\n", i, i);
    small.max_text = 1000;
    m = dm_mime_extract_buffer(raw->str, raw->len, &small);
    assert_segments_valid(m);
    for (guint i = 0; i < m->segments->len; i++)
        total += ((const dm_segment *)g_ptr_array_index(m->segments, i))->len;
    assert_true(total <= small.max_text);
    assert_true(total > small.max_text / 2);
    dm_msg_free(m);
    g_string_free(raw, TRUE);
}

/* Without the words of rules.conf: structure alone, no languages. */
static void test_no_words(void **state)
{
    dm_mime_limits bare = lim;
    dm_msg *m;
    const char *raw = HEAD "Subject: VB: x\nContent-Type: text/plain; charset=utf-8\n\n"
                           "Svar.\n\n> citat\n\nFrån: a\nSkickat: b\n\nMed vänlig hälsning\nA\n";

    (void)state;
    bare.words = NULL;
    m = dm_mime_extract_buffer(raw, strlen(raw), &bare);
    assert_segments_valid(m);
    assert_segs(m, "subject:VB: x|body:Svar.|quoted:citat|"
                   "body:Från: a\nSkickat: b\n\nMed vänlig hälsning\nA");
    assert_string_equal(m->lang, "");
    dm_msg_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject_and_body),
        cmocka_unit_test(test_subject_encoded_words),
        cmocka_unit_test(test_quoted_lines),
        cmocka_unit_test(test_forwarded_inline),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_footers),
        cmocka_unit_test(test_stub_alternative),
        cmocka_unit_test(test_html_structure),
        cmocka_unit_test(test_attached_message_and_names),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_smime_signed),
        cmocka_unit_test(test_smime_opaque),
        cmocka_unit_test(test_languages),
        cmocka_unit_test(test_message_language),
        cmocka_unit_test(test_max_text),
        cmocka_unit_test(test_no_words),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
