/*
 * ldaptest CONF: drive one long-lived dm_ldap from a script on stdin, so
 * that tests/ldap/lookup.sh can restart, stop or freeze slapd between two
 * lookups of the same process (reconnection without a daemon restart).
 *
 * Each input line is "LABEL: COMMAND ARGS"; each prints one line
 * "LABEL: RESULT".  Commands:
 *
 *   lookup ADDR        found DN ms=N | notfound ms=N | error ms=N MESSAGE
 *   login LOGIN        the same, by login
 *   entry ADDR         found DN delegate=.. manager=.. comm=0|1 fullmakt=0|1
 *                      routing=.. roles=N myndigheter=A,B
 *   registrars         ok N KS=registrator@..,...  | error MESSAGE
 *   walk               ok N | error MESSAGE
 *   clear              ok (forget the cache)
 *   stats              hits=.. misses=.. errors=.. negative_hits=.. searches=..
 *                      reconnects=.. cached=..
 *   threads T N ADDR.. T threads, N lookups each over the addresses, the
 *                      cache cleared now and then: found=.. notfound=..
 *                      error=.. ms=.. max=.. (the slowest lookup, ms)
 *   escape VALUE       the filter (|(mail=%s)(uid=%s)) built for VALUE
 *   sh COMMAND         rc=N (system(3); for slapd.sh restart/stop, kill)
 *   sleep SECONDS      ok
 *
 * The library's log goes to stderr (every level).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm_conf.h"
#include "dm_ldap.h"
#include "dm_log.h"

static int64_t ms_now(void)
{
    return g_get_monotonic_time() / 1000;
}

static void do_lookup(dm_ldap *l, const char *label, const char *arg, bool login)
{
    GError *err = NULL;
    dm_entry *e = NULL;
    int64_t t0 = ms_now();
    dm_ldap_status st = login ? dm_ldap_lookup_login(l, arg, &e, &err)
                              : dm_ldap_lookup_address(l, arg, &e, &err);
    int64_t ms = ms_now() - t0;

    switch (st) {
    case DM_LDAP_FOUND:
        printf("%s: found %s ms=%lld\n", label, e->dn, (long long)ms);
        break;
    case DM_LDAP_NOT_FOUND:
        printf("%s: notfound ms=%lld\n", label, (long long)ms);
        break;
    case DM_LDAP_ERROR:
        printf("%s: error ms=%lld %s\n", label, (long long)ms, err->message);
        g_error_free(err);
        break;
    }
    dm_entry_unref(e);
}

static void do_entry(dm_ldap *l, const char *label, const char *arg)
{
    GError *err = NULL;
    dm_entry *e = NULL;
    char *myn;

    switch (dm_ldap_lookup_address(l, arg, &e, &err)) {
    case DM_LDAP_FOUND:
        myn = e->myndigheter ? g_strjoinv(",", e->myndigheter) : g_strdup("-");
        printf("%s: found %s delegate=%s manager=%s comm=%d fullmakt=%d routing=%s roles=%u "
               "myndigheter=%s\n",
               label, e->dn, e->delegate_mail ? e->delegate_mail : "-",
               e->manager_mail ? e->manager_mail : "-", e->comm_member, e->fullmakt,
               e->routing ? e->routing : "-", e->roles, myn);
        g_free(myn);
        dm_entry_unref(e);
        break;
    case DM_LDAP_NOT_FOUND:
        printf("%s: notfound\n", label);
        break;
    case DM_LDAP_ERROR:
        printf("%s: error %s\n", label, err->message);
        g_error_free(err);
        break;
    }
}

static void do_registrars(dm_ldap *l, const char *label)
{
    GError *err = NULL;
    dm_registrars *r = NULL;
    const char *m[] = {"KS", "BN", "SN", "BUN"};

    if (dm_ldap_registrars(l, &r, &err) != DM_LDAP_FOUND) {
        printf("%s: error %s\n", label, err->message);
        g_error_free(err);
        return;
    }
    printf("%s: ok %u", label, r->items->len);
    for (size_t i = 0; i < G_N_ELEMENTS(m); i++) {
        const char *to = dm_registrars_for(r, m[i]);
        printf(" %s=%s", m[i], to ? to : "-");
    }
    printf("\n");
    dm_registrars_unref(r);
}

static bool count_record(dm_ldap_record *r, void *data)
{
    (*(unsigned *)data)++;
    dm_ldap_record_free(r);
    return true;
}

static void do_walk(dm_ldap *l, const char *label)
{
    GError *err = NULL;
    unsigned n = 0;

    if (dm_ldap_walk(l, count_record, &n, &err) != DM_LDAP_FOUND) {
        printf("%s: error %s\n", label, err->message);
        g_error_free(err);
        return;
    }
    printf("%s: ok %u\n", label, n);
}

typedef struct {
    dm_ldap *l;
    char **addrs;
    int n;
    unsigned seed;
    unsigned found, notfound, error;
    int64_t max_ms; /* the slowest lookup */
} worker;

static gpointer worker_run(gpointer p)
{
    worker *w = p;
    guint na = g_strv_length(w->addrs);

    for (int i = 0; i < w->n; i++) {
        GError *err = NULL;
        dm_entry *e = NULL;
        unsigned r = (unsigned)rand_r(&w->seed);

        int64_t t0 = ms_now();

        if (r % 50 == 0)
            dm_ldap_cache_clear(w->l);
        switch (dm_ldap_lookup_address(w->l, w->addrs[r % na], &e, &err)) {
        case DM_LDAP_FOUND: w->found++; break;
        case DM_LDAP_NOT_FOUND: w->notfound++; break;
        case DM_LDAP_ERROR: w->error++; g_clear_error(&err); break;
        }
        w->max_ms = MAX(w->max_ms, ms_now() - t0);
        dm_entry_unref(e);
        if (r % 7 == 0) {
            dm_registrars *reg = NULL;
            if (dm_ldap_registrars(w->l, &reg, &err) == DM_LDAP_ERROR)
                g_clear_error(&err);
            dm_registrars_unref(reg);
        }
    }
    return NULL;
}

static void do_threads(dm_ldap *l, const char *label, char **argv)
{
    int t = argv[0] ? atoi(argv[0]) : 0, n = argv[0] && argv[1] ? atoi(argv[1]) : 0;
    worker *w;
    GThread **th;
    unsigned found = 0, notfound = 0, error = 0;
    int64_t t0 = ms_now(), max_ms = 0;

    if (t <= 0 || n <= 0 || argv[1] == NULL || argv[2] == NULL) {
        printf("%s: usage threads T N ADDR...\n", label);
        return;
    }
    w = g_new0(worker, t);
    th = g_new0(GThread *, t);
    for (int i = 0; i < t; i++) {
        w[i].l = l;
        w[i].addrs = argv + 2;
        w[i].n = n;
        w[i].seed = (unsigned)i * 7919u + 1;
        th[i] = g_thread_new("worker", worker_run, &w[i]);
    }
    for (int i = 0; i < t; i++) {
        g_thread_join(th[i]);
        found += w[i].found;
        notfound += w[i].notfound;
        error += w[i].error;
        max_ms = MAX(max_ms, w[i].max_ms);
    }
    printf("%s: found=%u notfound=%u error=%u ms=%lld max=%lld\n", label, found, notfound,
           error, (long long)(ms_now() - t0), (long long)max_ms);
    g_free(w);
    g_free(th);
}

int main(int argc, char **argv)
{
    GError *err = NULL;
    dm_conf *conf;
    dm_ldap *l;
    char line[4096];

    if (argc != 2) {
        fprintf(stderr, "usage: ldaptest CONF < script\n");
        return 64;
    }
    dm_log_stderr_only(DM_LOG_DEBUG);
    conf = dm_conf_load(argv[1], &err);
    if (conf == NULL) {
        fprintf(stderr, "ldaptest: %s\n", err->message);
        return 78;
    }
    l = dm_ldap_new(conf, &err);
    if (l == NULL) {
        fprintf(stderr, "ldaptest: %s\n", err->message);
        return 78;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin) != NULL) {
        char *colon, *label, *cmd, **words;

        g_strchomp(line);
        if (*line == '\0' || *line == '#')
            continue;
        colon = strstr(line, ": ");
        if (colon == NULL) {
            printf("?: no label in \"%s\"\n", line);
            continue;
        }
        *colon = '\0';
        label = line;
        cmd = g_strchug(colon + 2);
        if (strncmp(cmd, "sh ", 3) == 0) {
            int rc = system(cmd + 3);
            printf("%s: rc=%d\n", label, WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
            continue;
        }
        if (strncmp(cmd, "escape ", 7) == 0) {
            char *f = dm_ldap_filter_format("(|(mail=%s)(uid=%s))", cmd + 7);
            printf("%s: %s\n", label, f ? f : "(null)");
            g_free(f);
            continue;
        }
        words = g_strsplit(cmd, " ", -1);
        if (strcmp(words[0], "lookup") == 0 && words[1] != NULL)
            do_lookup(l, label, words[1], false);
        else if (strcmp(words[0], "login") == 0 && words[1] != NULL)
            do_lookup(l, label, words[1], true);
        else if (strcmp(words[0], "entry") == 0 && words[1] != NULL)
            do_entry(l, label, words[1]);
        else if (strcmp(words[0], "registrars") == 0)
            do_registrars(l, label);
        else if (strcmp(words[0], "walk") == 0)
            do_walk(l, label);
        else if (strcmp(words[0], "clear") == 0) {
            dm_ldap_cache_clear(l);
            printf("%s: ok\n", label);
        } else if (strcmp(words[0], "stats") == 0) {
            dm_ldap_stats s;
            dm_ldap_get_stats(l, &s);
            printf("%s: hits=%llu misses=%llu errors=%llu negative_hits=%llu searches=%llu "
                   "reconnects=%llu cached=%u\n",
                   label, (unsigned long long)s.hits, (unsigned long long)s.misses,
                   (unsigned long long)s.errors, (unsigned long long)s.negative_hits,
                   (unsigned long long)s.searches, (unsigned long long)s.reconnects,
                   s.cached);
        } else if (strcmp(words[0], "threads") == 0)
            do_threads(l, label, words + 1);
        else if (strcmp(words[0], "sleep") == 0 && words[1] != NULL) {
            g_usleep((gulong)(g_ascii_strtod(words[1], NULL) * G_USEC_PER_SEC));
            printf("%s: ok\n", label);
        } else
            printf("%s: unknown command \"%s\"\n", label, cmd);
        g_strfreev(words);
    }
    dm_ldap_free(l);
    dm_conf_unref(conf);
    return 0;
}
