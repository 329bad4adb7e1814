/*
 * mime/dm_mime_segments: the document model the rules read
 * (dm_msg.segments): the subject, own text, quoted history, forwarded
 * messages and attachment names, in the message's order, each valid
 * UTF-8.
 */
#include "dm_test.h"

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

/* ---- the first builder ------------------------------------------------------ */

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
}

static void test_quoted_lines(void **state)
{
    dm_msg *m;

    (void)state;
    m = extract(HEAD "Subject: Re: Parkering\n"
                     "Content-Type: text/plain; charset=utf-8\n\n"
                     "Tack, det räcker.\n\n"
                     "> Hej, kan ni ta bort bilen?\n"
                     ">> Vilken bil?\n"
                     "\n"
                     "Anna\n");
    assert_segs(m, "subject:Re: Parkering|body:Tack, det räcker.|"
                   "quoted:Hej, kan ni ta bort bilen?\nVilken bil?|body:Anna");
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
                     " filename*=utf-8''Ans%C3%B6kan%20om%20bygglov.pdf\n"
                     "Content-Transfer-Encoding: base64\n\n"
                     "JVBERi0xLjQK\n"
                     "--b--\n");
    s = seg_of(m, DM_SEG_FORWARDED);
    assert_non_null(s);
    assert_non_null(strstr(s->text, "Jag ansöker om bygglov för ett garage."));
    assert_null(strstr(s->text, "Se nedan"));
    s = seg_of(m, DM_SEG_BODY);
    assert_non_null(s);
    assert_string_equal(s->text, "Se nedan.");
    s = seg_of(m, DM_SEG_ATTACHMENT_NAME);
    assert_non_null(s);
    assert_string_equal(s->text, "Ansökan om bygglov.pdf");
    assert_string_equal(s->source, "Ansökan om bygglov.pdf");
    assert_int_equal(s->page, 0);
    dm_msg_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subject_and_body),
        cmocka_unit_test(test_quoted_lines),
        cmocka_unit_test(test_attached_message_and_names),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
