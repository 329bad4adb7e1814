/*
 * diariectl classify: the daemon's own path (mime, directory, policy) for
 * one message, without a milter, printing the verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dm_ctl.h"
#include "dm_util.h"

static void dm_explain_party(const char *what, const dm_party *p)
{
    const dm_entry *e = p->entry;

    printf("  %-9s %s", what, dm_ctl_safe(*p->addr ? p->addr : "<>"));
    if (e == NULL) {
        printf("  (not in the directory: outside)\n");
        return;
    }
    printf("  = %s", dm_ctl_safe(e->name ? e->name : e->dn));
    if (dm_entry_is_list(e))
        printf(", mass list");
    else if (dm_entry_is_mailbox(e))
        printf(", %s", dm_ctl_safe((e->roles & DM_ROLE_REGISTRATOR) ? "registrator mailbox"
                        : (e->roles & DM_ROLE_FORVALTNINGSBREVLADA) ? "förvaltning mailbox"
                                                                     : "functional mailbox"));
    else
        printf(", %s", (e->roles & DM_ROLE_FORTROENDEVALD) ? "förtroendevald" : "tjänsteman");
    if (e->myndigheter != NULL) {
        char *m = g_strjoinv("+", e->myndigheter);
        printf(", %s", dm_ctl_safe(m));
        g_free(m);
    }
    if (dm_entry_is_person(e))
        printf(", %s", e->fullmakt ? "fullmakt" : "no fullmakt");
    if (e->comm_member)
        printf(", communications unit");
    printf("\n");
}

/* The segments the rules read: kind, language, length, where from (an
 * attachment and its page, named as the reasons name them: "bilaga
 * 'Ansökan.pdf', sida 1") and the first words (escaped: they are the
 * message's). */
static void dm_explain_segments(const dm_msg *m, dm_lang lang)
{
    printf("segments:%s\n", m->segments->len ? "" : " none");
    if (*m->lang)
        printf("  language  %s\n", dm_ctl_safe(m->lang));
    for (guint i = 0; i < m->segments->len; i++) {
        const dm_segment *s = g_ptr_array_index(m->segments, i);
        GString *first = g_string_new(NULL);
        const char *p = s->text;
        int words = 0;

        /* The first dozen words, on one line. */
        while (*p != '\0' && words < 12) {
            size_t n;

            while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
                p++;
            n = strcspn(p, " \n\t\r");
            if (n == 0)
                break;
            if (first->len > 0)
                g_string_append_c(first, ' ');
            g_string_append_len(first, p, (gssize)n);
            p += n;
            words++;
        }
        if (*p != '\0' && p[strspn(p, " \n\t\r")] != '\0')
            g_string_append(first, " ...");
        printf("  %-15s %-2s %7zu  ", dm_seg_kind_name(s->kind), *s->lang ? s->lang : "-",
               s->len);
        if (s->source != NULL && s->kind != DM_SEG_ATTACHMENT_NAME) {
            printf("[%s '%s'", lang == DM_LANG_SV ? "bilaga" : "attachment",
                   dm_ctl_safe(s->source));
            if (s->page > 0)
                printf(", %s %d", lang == DM_LANG_SV ? "sida" : "page", s->page);
            printf("] ");
        }
        printf("%s\n", dm_ctl_safe(first->str));
        g_string_free(first, TRUE);
    }
}

static void dm_explain(const dm_policy *pol, dm_lang lang, dm_facts *f, const dm_msg *m,
                       const dm_verdict *v)
{
    char *signals;

    printf("parties:\n");
    dm_explain_party("sender", &f->sender);
    for (size_t i = 0; i < f->n_rcpts; i++)
        dm_explain_party("recipient", &f->rcpts[i]);
    printf("message:\n  subject   %s\n  size      %zu bytes, %zu characters of text, "
           "%u attachments\n",
           dm_ctl_safe(m->subject), m->size, m->text->len, m->attachments->len);
    for (guint i = 0; i < m->attachments->len; i++) {
        const dm_attachment *a = g_ptr_array_index(m->attachments, i);

        printf("  attachment %s (%s, %zu bytes): %s",
               a->filename != NULL ? dm_ctl_safe(a->filename) : "(no name)",
               dm_ctl_safe(a->content_type), a->size, dm_att_status_name(a->status));
        if (a->format != NULL)
            printf(" as %s", a->format);
        if (a->pages > 0)
            printf(", %u page%s", a->pages, a->pages == 1 ? "" : "s");
        if (a->text != NULL)
            printf(", %zu bytes of text", strlen(a->text));
        printf("%s\n", a->cut ? ", cut by a limit" : "");
    }
    if (m->auto_reply || m->list || m->bulk || m->report || m->spam)
        printf("  markers  %s%s%s%s%s\n", m->auto_reply ? " auto-reply" : "",
               m->list ? " list" : "", m->bulk ? " bulk" : "", m->report ? " report" : "",
               m->spam ? " spam" : "");
    dm_explain_segments(m, lang);
    /* What the rules read in it: the same pure code as the decision. */
    f->msg = m;
    signals = dm_policy_explain(pol, f);
    f->msg = NULL;
    {
        /* One escaped line at a time: the matched words are the message's. */
        char **lines = g_strsplit(signals, "\n", -1);

        for (char **l = lines; *l != NULL; l++)
            if (**l != '\0' || l[1] != NULL)
                printf("%s\n", dm_ctl_safe(*l));
        g_strfreev(lines);
    }
    g_free(signals);
    if (v->reject) {
        printf("verdict:\n  REJECT %s %s %s\n", dm_ctl_safe(v->reject_code),
               dm_ctl_safe(v->reject_xcode), dm_ctl_safe(v->reject_text));
    } else {
        printf("verdict:\n  class     %s%s\n  direction %s\n", dm_class_name(v->klass),
               v->sekretess ? " (sekretess)" : "", dm_direction_name(v->direction));
        if (v->case_dnr)
            printf("  case      %s\n", dm_ctl_safe(v->case_dnr));
        if (v->myndighet)
            printf("  myndighet %s\n", dm_ctl_safe(v->myndighet));
    }
    printf("reasons:\n");
    for (guint i = 0; i < v->reasons->len; i++) {
        const dm_reason *r = g_ptr_array_index(v->reasons, i);
        printf("  %-6s %s\n", dm_ctl_safe(r->rule), dm_ctl_safe(r->text));
    }
    printf("actions:%s\n", v->actions->len ? "" : " none");
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *a = g_ptr_array_index(v->actions, i);
        printf("  %-14s %s%s%s\n", dm_action_type_name(a->type), dm_ctl_safe(a->to),
               a->party ? "  for " : "", dm_ctl_safe(a->party ? a->party : ""));
    }
}

int dm_ctl_classify(int argc, char **argv)
{
    char *conf_path = NULL, *from = NULL, *auth = NULL, *now_s = NULL;
    char **rcpts = NULL, **files = NULL;
    gboolean json = FALSE, explain = FALSE, offline = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
        {"from", 0, 0, G_OPTION_ARG_STRING, &from, "envelope sender (<> for none)", "ADDR"},
        {"rcpt", 0, 0, G_OPTION_ARG_STRING_ARRAY, &rcpts, "envelope recipient (repeat)", "ADDR"},
        {"auth", 0, 0, G_OPTION_ARG_STRING, &auth, "SASL login of the sender", "LOGIN"},
        {"now", 0, 0, G_OPTION_ARG_STRING, &now_s, "the time it passes (ISO 8601)", "TIME"},
        {"offline", 0, 0, G_OPTION_ARG_NONE, &offline, "no directory: every party unknown", NULL},
        {"json", 0, 0, G_OPTION_ARG_NONE, &json, "print the verdict as JSON", NULL},
        {"explain", 0, 0, G_OPTION_ARG_NONE, &explain, "show parties, reasons and actions", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "MESSAGE.eml"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    GOptionContext *oc = g_option_context_new("MESSAGE.eml  (- for standard input)");
    GError *err = NULL;
    dm_conf *conf = NULL;
    dm_engine *e = NULL;
    dm_envelope *env = NULL;
    GMimeStream *stream = NULL;
    dm_facts facts;
    dm_verdict *v = NULL;
    dm_msg *m = NULL;
    int64_t now;
    int rc = DM_EX_SOFTWARE;
    bool facts_ok = false;

    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_summary(oc, "Classify one message with the daemon's own code.");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "diariectl classify: %s\n", dm_ctl_safe(err->message));
        rc = DM_EX_USAGE;
        goto out;
    }
    if (files == NULL || files[0] == NULL || files[1] != NULL || from == NULL || rcpts == NULL) {
        fprintf(stderr, "diariectl classify: need --from, at least one --rcpt and one message "
                        "(see --help)\n");
        rc = DM_EX_USAGE;
        goto out;
    }
    now = g_get_real_time() / G_USEC_PER_SEC;
    if (now_s != NULL && !dm_time_parse_iso8601(now_s, &now)) {
        fprintf(stderr, "diariectl classify: --now \"%s\" is not an ISO 8601 time\n",
                dm_ctl_safe(now_s));
        rc = DM_EX_USAGE;
        goto out;
    }
    conf = dm_ctl_conf(conf_path);
    if (conf == NULL) {
        rc = DM_EX_CONFIG;
        goto out;
    }
    dm_mime_init();
    e = dm_engine_new(conf, DM_ENGINE_NO_SPOOL | DM_ENGINE_READONLY |
                                (offline ? DM_ENGINE_OFFLINE : 0),
                      NULL, &err);
    if (e == NULL) {
        fprintf(stderr, "diariectl classify: %s\n", dm_ctl_safe(err->message));
        rc = DM_EX_CONFIG;
        goto out;
    }
    env = dm_envelope_new();
    g_free(env->from);
    env->from = strcmp(from, "<>") == 0 ? g_strdup("") : dm_addr_normalize(from);
    for (char **r = rcpts; *r != NULL; r++)
        dm_envelope_add_rcpt(env, *r);
    if (auth != NULL && *auth != '\0' && strcmp(auth, "-") != 0)
        env->auth = g_strdup(auth);

    if (strcmp(files[0], "-") == 0) {
        GByteArray *ba = g_byte_array_new();
        char buf[65536];
        ssize_t n;
        while ((n = read(0, buf, sizeof buf)) > 0)
            g_byte_array_append(ba, (guint8 *)buf, (guint)n);
        stream = g_mime_stream_mem_new_with_byte_array(ba);
    } else {
        int fd = open(files[0], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "diariectl classify: %s: %s\n", dm_ctl_safe(files[0]),
                    g_strerror(errno));
            rc = DM_EX_NOINPUT;
            goto out;
        }
        stream = g_mime_stream_fs_new(fd);
    }

    if (!dm_engine_resolve(e, env, now, &facts, &err)) {
        fprintf(stderr, "diariectl classify: directory: %s\n", dm_ctl_safe(err->message));
        dm_engine_facts_clear(&facts);
        rc = DM_EX_TEMPFAIL;
        goto out;
    }
    facts_ok = true;
    v = dm_engine_check_mass(e, &facts);
    if (v == NULL)
        v = dm_engine_decide(e, &facts, stream, &m);
    if (json) {
        GString *out = g_string_new(NULL);
        dm_verdict_to_json(v, out);
        printf("%s\n", out->str);
        g_string_free(out, TRUE);
    } else if (explain) {
        if (m == NULL)
            m = dm_msg_new();
        dm_explain(dm_engine_policy(e), conf->language, &facts, m, v);
    } else {
        if (v->reject)
            printf("reject %s %s %s\n", dm_ctl_safe(v->reject_code), dm_ctl_safe(v->reject_xcode),
                   dm_ctl_safe(v->reject_text));
        else
            printf("%s%s\n", dm_class_name(v->klass), v->sekretess ? " sekretess" : "");
        for (guint i = 0; i < v->actions->len; i++) {
            const dm_action *a = g_ptr_array_index(v->actions, i);
            printf("%s %s\n", dm_action_type_name(a->type), dm_ctl_safe(a->to));
        }
    }
    rc = DM_EX_OK;
out:
    if (facts_ok)
        dm_engine_facts_clear(&facts);
    if (err != NULL)
        g_error_free(err);
    if (stream != NULL)
        g_object_unref(stream);
    dm_msg_free(m);
    dm_verdict_free(v);
    dm_envelope_free(env);
    dm_engine_unref(e);
    dm_conf_unref(conf);
    g_strfreev(rcpts);
    g_strfreev(files);
    g_free(conf_path);
    g_free(from);
    g_free(auth);
    g_free(now_s);
    g_option_context_free(oc);
    return rc;
}
