/*
 * mime/dm_mime_html_to_text (libxml2's HTML parser): tags dropped,
 * script, style, head and hidden elements skipped, entities decoded,
 * block elements as line breaks and paragraphs as blank lines, inline
 * elements splitting no words, blockquotes quoted with "> ", Outlook's
 * conditionals, broken markup, invalid UTF-8, and the same text however
 * the HTML is cut into pieces.
 */
#include "dm_test.h"

#include "dm_mime.h"
#include "dm_mime_int.h"

/* ---- local helpers -------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    dm_mime_init();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    dm_mime_shutdown();
    return 0;
}

/* HTML (a NUL-terminated literal) to text, checked to be valid UTF-8. */
static char *h2t_len(const char *html, size_t len)
{
    char *t = dm_mime_html_to_text(html, len);

    assert_non_null(t);
    assert_true(g_utf8_validate(t, -1, NULL));
    return t;
}

static char *h2t(const char *html)
{
    return h2t_len(html, strlen(html));
}

static void expect(const char *html, const char *text)
{
    char *t = h2t(html);

    if (strcmp(t, text) != 0) {
        print_error("html:     \"%s\"\nexpected: \"%s\"\ngot:      \"%s\"\n", html, text, t);
        g_free(t);
        fail();
    }
    g_free(t);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_tags_dropped(void **state)
{
    (void)state;
    expect("<html><body><div>Hej</div></body></html>", "Hej");
    expect("<span class=\"x\">Bygglov</span> <a href=\"https://sjovik.test/\">ansökan</a>",
           "Bygglov ansökan");
    expect("<IMG SRC=\"bild.png\" ALT=\"en bild\">text", "text");
    expect("", "");
    expect("ren text", "ren text");
    expect("<p></p><div></div>", "");
}

static void test_inline_no_split(void **state)
{
    (void)state;
    expect("kom<b>mun</b>", "kommun");
    expect("<i>Sjö</i><u>vik</u>", "Sjövik");
    expect("dnr <span>KS</span> 2026/<b>112</b>", "dnr KS 2026/112");
    expect("för<font color=red>s</font>lag", "förslag");
}

static void test_blocks_break_lines(void **state)
{
    (void)state;
    expect("rad ett<br>rad två", "rad ett\nrad två");
    expect("rad ett<br/>rad två<BR />rad tre", "rad ett\nrad två\nrad tre");
    /* Paragraphs, headings, lists and tables leave a blank line. */
    expect("<p>Stycke ett</p><p>Stycke två</p>", "Stycke ett\n\nStycke två");
    expect("<div>a</div><div>b</div>", "a\nb");
    expect("<ul><li>ett</li><li>två</li></ul>", "ett\ntvå");
    expect("<h1>Rubrik</h1>Text", "Rubrik\n\nText");
    /* A table row is a line, its cells apart by a blank. */
    expect("<table><tr><td>A</td><td>B</td></tr><tr><td>C</td><td>D</td></tr></table>",
           "A B\nC D");
    /* Breaks in a row give at most one blank line. */
    expect("a<br><br><br>b", "a\n\nb");
    expect("a <br> b", "a\nb");
    /* Outlook's empty paragraphs are no more than one blank line. */
    expect("<p>a</p><p>&nbsp;</p><p>&nbsp;</p><p>b</p>", "a\n\nb");
}

static void test_whitespace(void **state)
{
    (void)state;
    expect("  många   \t  mellanslag\r\n och\nrader  ", "många mellanslag och rader");
    expect("<p>  indraget  </p>", "indraget");
}

static void test_script_style_comments(void **state)
{
    (void)state;
    expect("före<script>var x = '<p>inte text</p>'; alert(1);</script>efter", "föreefter");
    expect("före<SCRIPT type=\"text/javascript\">x()</SCRIPT> efter", "före efter");
    expect("<style>p { color: red; } .a > .b { }</style>Text", "Text");
    /* The head, title included, is not shown. */
    expect("<head><style type=\"text/css\">body{}</style><title>T</title></head>Brödtext",
           "Brödtext");
    /* Nor what a style hides (preheaders, tracking text). */
    expect("<div style=\"display: none; max-height:0\">dolt</div>synligt", "synligt");
    expect("<span style='mso-hide:all'>dolt</span>synligt", "synligt");
    expect("<p hidden>dolt</p>synligt", "synligt");
    expect("a<!-- en kommentar med <b>taggar</b> -->b", "ab");
    expect("a<!---->b", "ab");
    /* Unterminated: everything after is dropped, nothing leaks. */
    expect("text<script>hemligt()", "text");
    expect("text<style>p{}", "text");
    expect("text<!-- aldrig slut", "text");
}

static void test_entities(void **state)
{
    (void)state;
    expect("Bygg &amp; Miljö", "Bygg & Miljö");
    expect("N&auml;mnd", "Nämnd");
    expect("h&#246;st", "höst");
    expect("&#xE5;r &#XC5;R", "år ÅR");
    expect("a&nbsp;b", "a b");
    expect("a&#160;b", "a b");
    expect("&lt;inte en tagg&gt;", "<inte en tagg>");
    expect("&quot;citat&quot; &apos;x&apos;", "\"citat\" 'x'");
    expect("&Aring;&Auml;&Ouml;&aring;&auml;&ouml;", "ÅÄÖåäö");
    expect("&euro;5 &ndash; &hellip;", "€5 – …");
    expect("&#8364;", "€");
    expect("&#x1F600;", "\xF0\x9F\x98\x80");
    /* Every HTML 4 name, not only the Swedish letters. */
    expect("&agrave; &Egrave; &ecirc; &oelig; &trade; &rarr; &alpha;", "à È ê œ ™ → α");
    expect("&thetasym;", "\xCF\x91");
    /* Invisible ones split no word. */
    expect("bygg&shy;lov sj&#173;&ouml;&zwnj;vik", "bygglov sjövik");
    /* 128-159 by number: windows-1252, as browsers read them. */
    expect("a&#150;b &#147;c&#148; &#128;", "a–b “c” €");
    /* A case number with no-break spaces is a case number. */
    expect("&auml;rende SN&nbsp;2026/210", "ärende SN 2026/210");
    /* Not entities: kept as written. */
    expect("AT&T", "AT&T");
    expect("a &okänd; b", "a &okänd; b");
    expect("&amp", "&amp");
    expect("a & b", "a & b");
    /* References to no character are dropped, nothing else with them. */
    expect("a&#0;b", "ab");
    expect("a&#xD800;b", "ab");
    expect("a&#x110000;b", "ab");
    expect("a&#99999999999999999999;b", "ab");
}

static void test_broken_markup(void **state)
{
    (void)state;
    /* An unterminated tag at the end: dropped. */
    expect("text <b", "text");
    expect("text <a href=\"x", "text");
    expect("text </", "text");
    /* '>' inside quoted attribute values does not end the tag. */
    expect("<a title=\"a > b\">länk</a>", "länk");
    expect("<a title='x>y' href=\"z>w\">länk</a> slut", "länk slut");
    /* A lone '<' in text stays. */
    expect("3 < 5", "3 < 5");
    expect("a <= b", "a <= b");

    /* A very long tag name does not overflow anything. */
    expect("<abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz attr=1>x</abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz>",
           "x");
}

static void test_declarations(void **state)
{
    (void)state;
    /* A doctype, a processing instruction, conditional comments:
     * markup, not text. */
    expect("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" "
           "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">"
           "<html><body>Hej</body></html>",
           "Hej");
    expect("<?xml version=\"1.0\" encoding=\"utf-8\"?><p>Hej</p>", "Hej");
    expect("<![if !supportLists]>·<![endif]>punkt", "·punkt");
    expect("<!--[if mso]><v:shape>x</v:shape><![endif]-->Text", "Text");
}

static void test_invalid_utf8(void **state)
{
    char *t;

    (void)state;
    t = h2t("<p>tr\xe4" "d</p>\xff\xfe<b>\xc3</b>");
    assert_non_null(strstr(t, "tr"));
    g_free(t);
    /* C1 controls are no text. */
    t = h2t("a\xc2\x85" "b");
    assert_string_equal(t, "a\xe2\x80\xa6" "b");
    g_free(t);
    /* Embedded NUL inside the given length. */
    t = h2t_len("a\0b<br>c", 8);
    assert_true(g_utf8_validate(t, -1, NULL));
    g_free(t);
    /* Only the given length is read (no NUL at the end of the input). */
    {
        char *buf = g_malloc(5);
        memcpy(buf, "<p>ab", 5);
        t = h2t_len(buf, 5);
        assert_string_equal(t, "ab");
        g_free(t);
        memcpy(buf, "a&amp", 5);
        t = h2t_len(buf, 5);
        assert_string_equal(t, "a&amp");
        g_free(t);
        memcpy(buf, "<!--x", 5);
        t = h2t_len(buf, 5);
        assert_string_equal(t, "");
        g_free(t);
        g_free(buf);
    }
}

/* Quotes open attribute values only after "=": a stray one does not eat
 * the rest of the mail (ZDNet's <hr width="80% noshade align="left">). */
static void test_stray_quotes(void **state)
{
    (void)state;
    expect("<hr size=1 width=\"80% noshade align=\"left\">\n<p>Resten syns</p>", "Resten syns");
    expect("<a title='x>y' href=\"a>b\">l\u00e4nk</a> efter", "l\u00e4nk efter");
    expect("<img alt=don't>syns", "syns");
    expect("<p class=\"a\"b\">text</p>", "text");
}

static void test_realistic(void **state)
{
    static const char html[] =
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">"
        "<style>body{font-family:Calibri}</style></head>\n"
        "<body><div>Hej!</div>\n<div><br></div>\n"
        "<div>Jag l&auml;mnade ett medborgarf&ouml;rslag (dnr <b>KS-2026-112</b>).</div>\n"
        "<div>Med v&auml;nliga h&auml;lsningar<br>Per Svensson</div>\n"
        "</body></html>";
    char *t = h2t(html);

    (void)state;
    assert_string_equal(t, "Hej!\n\nJag lämnade ett medborgarförslag (dnr KS-2026-112).\n"
                           "Med vänliga hälsningar\nPer Svensson");
    g_free(t);
}

/* Quoted history reads as a mail client quotes plain text: "> " before
 * each line of a blockquote (Gmail's gmail_quote, Apple's type=cite,
 * Thunderbird's), whatever the nesting. */
static void test_blockquote(void **state)
{
    (void)state;
    expect("<blockquote>Citat<br>rad två</blockquote>Svar", "> Citat\n> rad två\n\nSvar");
    expect("<div dir=ltr>Tack!</div><div class=gmail_quote><div class=gmail_attr>"
           "Den mån 2 nov. 2026 skrev Erik &lt;erik@sjovik.test&gt;:<br></div>"
           "<blockquote class=gmail_quote style=\"margin:0 0 0 .8ex\"><div>Hej</div>"
           "<blockquote type=cite>Äldre</blockquote></blockquote></div>",
           "Tack!\nDen mån 2 nov. 2026 skrev Erik <erik@sjovik.test>:\n\n> Hej\n\n> Äldre");
    /* A quote that never ends is still a quote. */
    expect("Svar<blockquote>citat", "Svar\n\n> citat");
}

/* Outlook's downlevel conditionals are markup, not text. */
static void test_conditionals(void **state)
{
    (void)state;
    expect("<p><![if !supportLists]>1.<![endif]>Punkt</p>", "1.Punkt");
    expect("a<![IF gte mso 9]>b<![endif]>c", "abc");
    expect("x <![CDATA[y]]> z", "x <![CDATA[y]]> z");
}

/* A mail client's signature block is set off by "-- ". */
static void test_signature_block(void **state)
{
    (void)state;
    expect("<div>Hej</div><div class=gmail_signature>Anna Berg<br>Sjövik</div>",
           "Hej\n-- \nAnna Berg\nSjövik");
    expect("<p>Tack</p><div id=Signature><p>Per</p></div>", "Tack\n\n-- \n\nPer");
}

/* Fed in pieces (as extraction reads a large part), the text is the same
 * as from the whole: at every split point, and in many random pieces. */
static char *h2t_pieces(const char *html, const size_t *cuts, size_t ncuts)
{
    dm_html *h = dm_html_new();
    GString *pending = g_string_new(NULL);
    size_t len = strlen(html), from = 0;

    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        size_t used;

        g_string_append_len(pending, html + from, (gssize)(to - from));
        used = dm_html_feed(h, pending->str, pending->len, i == ncuts);
        assert_true(used <= pending->len);
        g_string_erase(pending, 0, (gssize)used);
        from = to;
    }
    assert_int_equal(pending->len, 0);
    g_string_free(pending, TRUE);
    return dm_html_finish(h);
}

static void test_chunked(void **state)
{
    static const char *const inputs[] = {
        "<html><head><style>p { content: \"</p>\" }</style><script>if (a<b && c>d) x();</script>"
        "</head><body><!-- a > b --><p title=\"a>b\">Bygg&amp;Milj&ouml;, &#150; &#x1F600;</p>"
        "<div>Sj&ouml;vik&nbsp;3:12 <b>KS</b> 2026/112</div><![if !mso]>x<![endif]>"
        "AT&T &okänd; < lös <br/>slut &amp</body></html>",
        "<p><![if !supportLists]>1.<![endif]>Punkt <![endif]> och <![if x]>y<![endif]></p>"
        "<blockquote>Citat<br><blockquote>djupare</blockquote></blockquote>",
        "text<script>evil()</scr",
        "<!-- aldrig slut",
        "åäö <p>ÅÄÖ</p> &aring;",
    };
    GRand *r = g_rand_new_with_seed(17);

    (void)state;
    for (size_t k = 0; k < G_N_ELEMENTS(inputs); k++) {
        const char *html = inputs[k];
        size_t len = strlen(html);
        char *whole = h2t(html);

        for (size_t cut = 0; cut <= len; cut++) {
            char *t;
            if (cut < len && (html[cut] & 0xC0) == 0x80)
                continue; /* pieces hold whole characters */
            t = h2t_pieces(html, &cut, 1);
            if (strcmp(t, whole) != 0) {
                print_error("cut at %zu:\n%s\n!=\n%s\n", cut, t, whole);
                fail();
            }
            g_free(t);
        }
        for (int round = 0; round < 200; round++) {
            size_t cuts[8], n = 0, at = 0;
            char *t;
            while (n < G_N_ELEMENTS(cuts) && at < len) {
                at += (size_t)g_rand_int_range(r, 0, 12);
                while (at < len && (html[at] & 0xC0) == 0x80)
                    at++;
                if (at > len)
                    at = len;
                cuts[n++] = at;
            }
            t = h2t_pieces(html, cuts, n);
            assert_string_equal(t, whole);
            g_free(t);
        }
        g_free(whole);
    }
    g_rand_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_dropped),
        cmocka_unit_test(test_inline_no_split),
        cmocka_unit_test(test_blocks_break_lines),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_script_style_comments),
        cmocka_unit_test(test_entities),
        cmocka_unit_test(test_broken_markup),
        cmocka_unit_test(test_declarations),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_stray_quotes),
        cmocka_unit_test(test_realistic),
        cmocka_unit_test(test_blockquote),
        cmocka_unit_test(test_conditionals),
        cmocka_unit_test(test_signature_block),
        cmocka_unit_test(test_chunked),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
