/*
 * The libmilter callbacks.
 *
 * Only the steps used are negotiated, and where the MTA allows it the
 * steps that never change the outcome get no reply (SMFIP_NR_*), which
 * saves a round trip per header and body chunk.  The verdict is reached
 * at DATA for R14 (from the envelope and the directory) and at end of
 * message for everything else.
 */
#include <string.h>

#include "dm_log.h"
#include "dm_metrics.h"
#include "dm_milter.h"
#include "dm_util.h"

#define DM_REPLY_TEMPFAIL_DIR "Directory unavailable, please try again later"
#define DM_REPLY_TEMPFAIL_STORE "Cannot record the message now, please try again later"
#define DM_REPLY_TEMPFAIL_BUSY "Directory busy, please try again later"

static sfsistat dm_noreply(unsigned long flag)
{
    return (atomic_load(&dm_milter.negotiated) & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static dm_connctx *dm_conn(SMFICTX *ctx)
{
    return smfi_getpriv(ctx);
}

static const char *dm_qid(SMFICTX *ctx, dm_msgctx *m)
{
    if (m != NULL && m->a->env->queue_id == NULL) {
        const char *i = smfi_getsymval(ctx, "i");
        if (i != NULL && *i != '\0')
            m->a->env->queue_id = g_strdup(i);
    }
    return m != NULL ? m->a->env->queue_id : NULL;
}

static void dm_end_message(dm_connctx *c)
{
    if (c->msg != NULL) {
        dm_msgctx_free(c->msg);
        c->msg = NULL;
        atomic_fetch_sub(&dm_milter.in_flight, 1);
    }
}

/* libmilter reads '%' in a reply text as a format character. */
static void dm_setreply(SMFICTX *ctx, const char *code, const char *xcode, const char *text)
{
    char *t = g_strdup(text);

    for (char *p = t; *p != '\0'; p++)
        if (*p == '%' || (unsigned char)*p < 0x20)
            *p = ' ';
    smfi_setreply(ctx, (char *)code, (char *)xcode, t);
    g_free(t);
}

static sfsistat dm_tempfail(SMFICTX *ctx, const char *text)
{
    dm_metrics_tempfail(strcmp(text, DM_REPLY_TEMPFAIL_DIR) == 0    ? DM_TEMPFAIL_DIRECTORY
                        : strcmp(text, DM_REPLY_TEMPFAIL_BUSY) == 0 ? DM_TEMPFAIL_LIMITS
                                                                    : DM_TEMPFAIL_STORE);
    dm_setreply(ctx, "451", "4.3.0", text);
    return SMFIS_TEMPFAIL;
}

/* The parties, resolved once: at DATA, or at the end of the message when
 * the MTA skipped DATA.  A directory that cannot answer tempfails the
 * message, or, when the site says accept, marks it directory_down. */
static sfsistat dm_resolve(SMFICTX *ctx, dm_msgctx *m, int64_t now)
{
    GError *err = NULL;
    bool busy;

    if (m->a->resolved || m->directory_down || dm_arrival_resolve(m->a, now, &err))
        return SMFIS_CONTINUE;
    dm_log_q(DM_LOG_ERR, dm_qid(ctx, m), "directory lookup failed: %s", err->message);
    busy = dm_ldap_error_is_busy(err);
    g_error_free(err);
    if (dm_engine_conf(m->a->engine)->on_directory_error == DM_ONFAIL_TEMPFAIL)
        return dm_tempfail(ctx, busy ? DM_REPLY_TEMPFAIL_BUSY : DM_REPLY_TEMPFAIL_DIR);
    m->directory_down = true;
    return SMFIS_CONTINUE;
}

/* R14: the rejection journalled (no content), then 550 with the rules'
 * text; 451 when it cannot be journalled. */
static sfsistat dm_reject(SMFICTX *ctx, dm_msgctx *m)
{
    dm_arrival *a = m->a;
    GError *err = NULL;

    if (!dm_engine_journal_reject(a, &err)) {
        dm_log_q(DM_LOG_ERR, dm_qid(ctx, m), "cannot journal the rejection: %s", err->message);
        g_error_free(err);
        return dm_tempfail(ctx, DM_REPLY_TEMPFAIL_STORE);
    }
    dm_setreply(ctx, a->verdict->reject_code, a->verdict->reject_xcode, a->verdict->reject_text);
    dm_metrics_inc(DM_MC_REJECTS);
    dm_log_q(DM_LOG_NOTICE, dm_qid(ctx, m),
             "id=%s reject=R14 from=<%s> rcpts=%u: mass mailing from outside the "
             "communications unit",
             a->id, a->env->from, a->env->rcpts->len);
    return SMFIS_REJECT;
}

static sfsistat dm_cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                                unsigned long f2, unsigned long f3, unsigned long *pf0,
                                unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    unsigned long want_actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_SETSYMLIST;
    unsigned long noreply = SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR |
                            SMFIP_NR_EOH | SMFIP_NR_BODY;
    unsigned long proto = SMFIP_NOHELO | SMFIP_NOUNKNOWN;

    (void)f2;
    (void)f3;
    if ((f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT)) !=
        (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT)) {
        dm_log(DM_LOG_ERR, "the MTA does not allow adding headers and recipients: refusing");
        return SMFIS_REJECT;
    }
    *pf0 = want_actions & f0;
    /* Header values with their leading space, so the original can be
     * rebuilt byte for byte. */
    if (f1 & SMFIP_HDR_LEADSPC)
        proto |= SMFIP_HDR_LEADSPC;
    proto |= (f1 & noreply);
    proto &= f1;
    *pf1 = proto;
    *pf2 = 0;
    *pf3 = 0;
    atomic_store(&dm_milter.negotiated, proto);
    /* The macros read (diariemilter(8), MTA MACROS).  Postfix and
     * Sendmail 8.14 and later send what is asked for here, whatever
     * their own lists say; {client_addr} is only a fallback for a
     * connect step without an address. */
    if (*pf0 & SMFIF_SETSYMLIST) {
        smfi_setsymlist(ctx, SMFIM_CONNECT, "{client_addr}");
        smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen}");
        smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i");
        smfi_setsymlist(ctx, SMFIM_EOM, "i");
    }
    return SMFIS_CONTINUE;
}

/* The client's address: the connect step's own, which Postfix and
 * Sendmail always give for SMTP clients (Postfix gives mail from
 * sendmail(1) as 127.0.0.1; Sendmail sends no {client_addr} unless
 * asked); the macro only when the step has none. */
static sfsistat dm_cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    dm_connctx *c = g_new0(dm_connctx, 1);

    (void)hostname;
    c->client_addr = dm_client_addr(hostaddr, smfi_getsymval(ctx, "{client_addr}"));
    smfi_setpriv(ctx, c);
    return dm_noreply(SMFIP_NR_CONN);
}

static sfsistat dm_cb_envfrom(SMFICTX *ctx, char **argv)
{
    dm_connctx *c = dm_conn(ctx);
    dm_msgctx *m;
    dm_envelope *env;
    const dm_conf *conf;
    const char *auth;

    if (c == NULL) {
        /* No connect step (an MTA that skips it): make the context now. */
        c = g_new0(dm_connctx, 1);
        smfi_setpriv(ctx, c);
    }
    dm_end_message(c);
    m = c->msg = dm_msgctx_new(dm_milter_engine());
    atomic_fetch_add(&dm_milter.in_flight, 1);
    env = m->a->env;
    conf = dm_engine_conf(m->a->engine);
    g_free(env->from);
    env->from = dm_addr_normalize(argv[0]);
    auth = smfi_getsymval(ctx, "{auth_authen}");
    if (auth != NULL && *auth != '\0')
        env->auth = g_strdup(auth);
    if (c->client_addr != NULL) {
        env->client_addr = g_strdup(c->client_addr);
        /* The networks were parsed when the configuration loaded. */
        env->internal_net = dm_netlist_contains(conf->internal_nets, c->client_addr);
        m->own_net = dm_netlist_contains(conf->own_nets, c->client_addr);
    }
    return dm_noreply(SMFIP_NR_MAIL);
}

static sfsistat dm_cb_envrcpt(SMFICTX *ctx, char **argv)
{
    dm_connctx *c = dm_conn(ctx);

    if (c != NULL && c->msg != NULL) {
        dm_envelope_add_rcpt(c->msg->a->env, argv[0]);
        dm_qid(ctx, c->msg);
    }
    return dm_noreply(SMFIP_NR_RCPT);
}

/* DATA: the envelope is complete.  Resolve the parties now (the directory
 * answers while the client sends) and apply R14. */
static sfsistat dm_cb_data(SMFICTX *ctx)
{
    dm_connctx *c = dm_conn(ctx);
    dm_msgctx *m = c != NULL ? c->msg : NULL;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    sfsistat rc;

    if (m == NULL)
        return SMFIS_CONTINUE;
    rc = dm_resolve(ctx, m, now);
    if (rc != SMFIS_CONTINUE || m->directory_down)
        return rc;
    if (dm_arrival_check_mass(m->a, now))
        return dm_reject(ctx, m);
    return SMFIS_CONTINUE;
}

static bool dm_is_diarie_header(const char *name)
{
    return g_ascii_strncasecmp(name, "X-Diarie-", 9) == 0;
}

static sfsistat dm_cb_header(SMFICTX *ctx, char *name, char *value)
{
    dm_connctx *c = dm_conn(ctx);
    dm_msgctx *m = c != NULL ? c->msg : NULL;
    bool leadspc = (atomic_load(&dm_milter.negotiated) & SMFIP_HDR_LEADSPC) != 0;
    char *low;
    guint n;

    if (m == NULL)
        return dm_noreply(SMFIP_NR_HDR);
    low = g_ascii_strdown(name, -1);
    n = GPOINTER_TO_UINT(g_hash_table_lookup(m->hcount, low)) + 1;
    g_hash_table_replace(m->hcount, low, GUINT_TO_POINTER(n));
    if (dm_is_diarie_header(name)) {
        /* Ours, or pretending to be: never trusted, always removed.  A
         * valid loop token marks mail diariemilter generated itself. */
        if (g_ascii_strcasecmp(name, "X-Diarie-Genererad") == 0 && m->loop_value == NULL)
            m->loop_value = g_strdup(value);
        else if (g_ascii_strcasecmp(name, "X-Diarie-Id") == 0 && m->diarie_id == NULL)
            m->diarie_id = g_strdup(value);
        g_ptr_array_add(m->strip, g_strdup_printf("%s\n%u", name, n));
    } else if (m->message_id == NULL && g_ascii_strcasecmp(name, "Message-ID") == 0) {
        m->message_id = g_strdup(value);
    }

    /* Rebuild the header as it was on the wire: "Name:" value CRLF, with
     * folded lines' bare LFs as CRLF. */
    dm_msgctx_append(m, name, strlen(name));
    dm_msgctx_append(m, leadspc ? ":" : ": ", leadspc ? 1 : 2);
    for (const char *p = value; *p != '\0';) {
        const char *lf = strchr(p, '\n');
        size_t len = lf != NULL ? (size_t)(lf - p) : strlen(p);

        if (len > 0 && p[len - 1] == '\r')
            len--;
        dm_msgctx_append(m, p, len);
        if (lf == NULL)
            break;
        dm_msgctx_append(m, "\r\n", 2);
        p = lf + 1;
    }
    dm_msgctx_append(m, "\r\n", 2);
    return dm_noreply(SMFIP_NR_HDR);
}

static sfsistat dm_cb_eoh(SMFICTX *ctx)
{
    dm_connctx *c = dm_conn(ctx);

    if (c != NULL && c->msg != NULL)
        dm_msgctx_append(c->msg, "\r\n", 2);
    return dm_noreply(SMFIP_NR_EOH);
}

static sfsistat dm_cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    dm_connctx *c = dm_conn(ctx);

    if (c != NULL && c->msg != NULL) {
        dm_msgctx_append(c->msg, chunk, len);
        dm_msgctx_body(c->msg, chunk, len);
    }
    return dm_noreply(SMFIP_NR_BODY);
}

/* Remove every X-Diarie-* header the message arrived with, last first so
 * that the indexes of the rest stay valid. */
static bool dm_strip_headers(SMFICTX *ctx, dm_msgctx *m)
{
    for (guint i = m->strip->len; i > 0; i--) {
        char *s = g_strdup(g_ptr_array_index(m->strip, i - 1));
        char *nl = strchr(s, '\n');
        int idx;

        *nl = '\0';
        idx = atoi(nl + 1);
        if (smfi_chgheader(ctx, s, idx, NULL) != MI_SUCCESS) {
            g_free(s);
            return false;
        }
        g_free(s);
    }
    return true;
}

/* With SMFIP_HDR_LEADSPC the value carries its own leading space. */
static bool dm_addheader(SMFICTX *ctx, const char *name, const char *value)
{
    bool lead = (atomic_load(&dm_milter.negotiated) & SMFIP_HDR_LEADSPC) != 0;
    char *v = g_strconcat(lead ? " " : "", value, NULL);
    int rc = smfi_addheader(ctx, (char *)name, v);

    g_free(v);
    return rc == MI_SUCCESS;
}

/* Is this a copy or notice of our own, on its way out?  Only a token
 * that verifies for this very message (its Message-ID and body, not
 * expired), on mail submitted from [milter] own_networks.  Anything else
 * is classified, and the token stripped with the other X-Diarie-*
 * headers.  The token itself is never logged. */
static bool dm_own_mail(dm_msgctx *m, const char *qid, const char *body_sha, int64_t now)
{
    dm_loop_result r =
        dm_engine_loop_check(m->a->engine, m->loop_value, m->message_id, body_sha, now);
    char id[21] = "";

    /* Our ids are [0-9a-z]: anything else is not printed. */
    for (size_t i = 0, j = 0; m->diarie_id != NULL && m->diarie_id[i] != '\0' && j < 20; i++)
        if (g_ascii_isdigit(m->diarie_id[i]) || g_ascii_islower(m->diarie_id[i]))
            id[j++] = m->diarie_id[i], id[j] = '\0';
    if (r == DM_LOOP_VALID && m->own_net) {
        dm_log_q(DM_LOG_INFO, qid, "copy or notice of id=%s: passed unclassified", id);
        dm_metrics_inc(DM_MC_OWN_MAIL);
        return true;
    }
    dm_log_q(DM_LOG_NOTICE, qid, "X-Diarie-Genererad not honoured (%s): removed, message "
                                 "classified",
             r != DM_LOOP_VALID ? dm_loop_result_name(r)
                                : "not submitted from [milter] own_networks");
    return false;
}

/* Add each forward the verdict owes as a recipient (R13); false when the
 * MTA refused one. */
static bool dm_add_forwards(SMFICTX *ctx, dm_msgctx *m, const char *qid, unsigned *forwards)
{
    const dm_verdict *v = m->a->verdict;

    *forwards = 0;
    for (guint i = 0; i < v->actions->len; i++) {
        const dm_action *act = g_ptr_array_index(v->actions, i);
        char *rcpt;

        if (act->type != DM_ACT_FORWARD || !dm_policy_action_owed(v, act))
            continue;
        rcpt = g_strdup_printf("<%s>", act->to);
        if (smfi_addrcpt(ctx, rcpt) != MI_SUCCESS) {
            dm_log_q(DM_LOG_ERR, qid, "id=%s: the MTA refused recipient %s", m->a->id, rcpt);
            g_free(rcpt);
            return false;
        }
        g_free(rcpt);
        (*forwards)++;
    }
    return true;
}

/* The summary line: what this arrival owes (a repeat of a message owes
 * only what its earlier arrivals did not: the verdict lost the rest at
 * the commit). */
static void dm_log_summary(dm_msgctx *m, const char *qid, unsigned forwards,
                           int64_t eom_started)
{
    const dm_arrival *a = m->a;
    const dm_verdict *v = a->verdict;

    dm_log_q(DM_LOG_INFO, qid,
             "id=%s class=%s%s direction=%s rcpts=%u copies=%zu notices=%zu "
             "forwards=%u manager_notices=%zu reminders=%zu size=%zu ms=%.1f "
             "eom_ms=%.2f%s%s",
             a->id, dm_class_name(v->klass), v->sekretess ? " sekretess=yes" : "",
             dm_direction_name(v->direction), a->env->rcpts->len,
             dm_verdict_count_actions(v, DM_ACT_COPY), dm_verdict_count_actions(v, DM_ACT_NOTICE),
             forwards, dm_verdict_count_actions(v, DM_ACT_MANAGER_NOTICE),
             dm_verdict_count_actions(v, DM_ACT_AUTOREPLY_REMINDER), m->size,
             (double)(g_get_monotonic_time() - m->started_us) / 1000.0,
             (double)(g_get_monotonic_time() - eom_started) / 1000.0,
             a->duplicate_of ? " duplicate_of=" : "", a->duplicate_of ? a->duplicate_of : "");
}

static sfsistat dm_cb_eom(SMFICTX *ctx)
{
    dm_connctx *c = dm_conn(ctx);
    dm_msgctx *m = c != NULL ? c->msg : NULL;
    dm_arrival *a;
    const char *qid;
    GError *err = NULL;
    sfsistat rc = SMFIS_CONTINUE;
    int64_t now = g_get_real_time() / G_USEC_PER_SEC;
    int64_t eom_started = g_get_monotonic_time();
    unsigned forwards = 0;

    if (m == NULL)
        return SMFIS_CONTINUE;
    a = m->a;
    qid = dm_qid(ctx, m);
    dm_msgctx_sha256(m, a->sha256);
    dm_msgctx_body_sha256(m, a->body_sha256);

    if (m->spill_failed) {
        rc = dm_tempfail(ctx, DM_REPLY_TEMPFAIL_STORE);
        goto out;
    }
    if (m->loop_value != NULL && dm_own_mail(m, qid, a->body_sha256, now))
        goto out;
    rc = dm_resolve(ctx, m, now);
    if (rc != SMFIS_CONTINUE)
        goto out;
    if (m->directory_down) {
        dm_log_q(DM_LOG_WARNING, qid,
                 "directory down and on_directory_error=accept: passed unclassified");
        dm_metrics_inc(DM_MC_DIRECTORY_DOWN);
        if (!dm_strip_headers(ctx, m))
            rc = dm_tempfail(ctx, DM_REPLY_TEMPFAIL_STORE);
        goto out;
    }

    a->original = dm_msgctx_stream(m);
    if (a->original == NULL) {
        rc = dm_tempfail(ctx, DM_REPLY_TEMPFAIL_STORE);
        goto out;
    }
    dm_arrival_decide(a, now);
    if (a->verdict->reject) {
        /* R14 when the MTA did not offer DATA. */
        rc = dm_reject(ctx, m);
        goto out;
    }
    if (!dm_engine_commit(a, &err)) {
        dm_log_q(DM_LOG_ERR, qid, "cannot record what the message owes: %s", err->message);
        g_clear_error(&err);
        if (dm_engine_conf(a->engine)->on_store_error == DM_ONFAIL_TEMPFAIL) {
            rc = dm_tempfail(ctx, DM_REPLY_TEMPFAIL_STORE);
            goto out;
        }
    }
    /* Only when there is something to deliver: a pass takes the spool's
     * lock exclusively and reads its folders, which would hold up every
     * other message's commit for nothing. */
    if (dm_milter.deliver != NULL && a->spooled > 0)
        dm_deliver_kick(dm_milter.deliver);

    if (!dm_strip_headers(ctx, m) ||
        !dm_addheader(ctx, "X-Diarie-Klass", dm_class_name(a->verdict->klass)) ||
        !dm_addheader(ctx, "X-Diarie-Id", a->id)) {
        dm_log_q(DM_LOG_ERR, qid, "id=%s: the MTA refused a header change", a->id);
        rc = dm_tempfail(ctx, DM_REPLY_TEMPFAIL_STORE);
        goto out;
    }
    if (!dm_add_forwards(ctx, m, qid, &forwards)) {
        rc = dm_tempfail(ctx, DM_REPLY_TEMPFAIL_STORE);
        goto out;
    }
    dm_log_summary(m, qid, forwards, eom_started);
    dm_metrics_accepted(a->verdict, forwards, a->duplicate_of != NULL);
out:
    dm_metrics_observe(DM_MH_EOM, g_get_monotonic_time() - eom_started);
    dm_end_message(c);
    return rc;
}

static sfsistat dm_cb_abort(SMFICTX *ctx)
{
    dm_connctx *c = dm_conn(ctx);

    if (c != NULL)
        dm_end_message(c);
    return SMFIS_CONTINUE;
}

static sfsistat dm_cb_close(SMFICTX *ctx)
{
    dm_connctx *c = dm_conn(ctx);

    if (c != NULL) {
        dm_end_message(c);
        g_free(c->client_addr);
        g_free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

struct smfiDesc dm_milter_desc = {
    .xxfi_name = "diariemilter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_SETSYMLIST,
    .xxfi_connect = dm_cb_connect,
    .xxfi_helo = NULL,
    .xxfi_envfrom = dm_cb_envfrom,
    .xxfi_envrcpt = dm_cb_envrcpt,
    .xxfi_header = dm_cb_header,
    .xxfi_eoh = dm_cb_eoh,
    .xxfi_body = dm_cb_body,
    .xxfi_eom = dm_cb_eom,
    .xxfi_abort = dm_cb_abort,
    .xxfi_close = dm_cb_close,
    .xxfi_unknown = NULL,
    .xxfi_data = dm_cb_data,
    .xxfi_negotiate = dm_cb_negotiate,
};
