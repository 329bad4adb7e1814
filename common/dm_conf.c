#include "dm_conf_int.h"
#include "dm_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(dm-conf-error-quark, dm_conf_error)

#ifndef DM_SYSCONFDIR
#define DM_SYSCONFDIR "/etc"
#endif
/* Where the built-in defaults' relative paths point. */
#define DM_CONF_DEFAULT_DIR DM_SYSCONFDIR "/diariemilter"

typedef enum {
    T_STRING,   /* char * */
    T_PATH,     /* char *, a relative path resolved against the file's directory */
    T_LIST,     /* char **, comma separated */
    T_ARGV,     /* char **, split like a shell would, but never run by one */
    T_INT,      /* int */
    T_BOOL,     /* bool */
    T_MODE,     /* int, octal */
    T_SIZE,     /* int64_t bytes, with k/M/G suffix */
    T_DURATION, /* int64_t seconds, with s/m/h/d suffix */
    T_ENUM,     /* int, one of choices */
} dm_conf_type;

typedef struct {
    const char *group;
    const char *key;
    dm_conf_type type;
    const char *def;
    size_t offset;
    const char *const *choices; /* T_ENUM: names, index = value */
    long min, max;              /* T_INT bounds */
} dm_conf_entry;

static const char *const onfail_choices[] = {"tempfail", "accept", NULL};
static const char *const lang_choices[] = {"sv", "en", NULL};
static const char *const delivery_choices[] = {"sendmail", "smtp", NULL};
static const char *const groups_choices[] = {"member", "memberof", NULL};
static const char *const copy_form_choices[] = {"wrapped", "redirect", NULL};
static const char *const smtp_tls_choices[] = {"starttls", "none", NULL};

#define O(f) offsetof(dm_conf, f)

/* The single description of every key.  etc/diariemilter.conf repeats it
 * for people; tests/unit/test_conf.c checks that the two agree. */
static const dm_conf_entry dm_conf_table[] = {
    {"milter", "socket", T_STRING, "unix:/run/diariemilter/diariemilter.sock", O(socket), NULL, 0, 0},
    {"milter", "socket_mode", T_MODE, "0660", O(socket_mode), NULL, 0, 0},
    {"milter", "socket_group", T_STRING, "", O(socket_group), NULL, 0, 0},
    {"milter", "user", T_STRING, "", O(user), NULL, 0, 0},
    {"milter", "pidfile", T_PATH, "/run/diariemilter/diariemilter.pid", O(pidfile), NULL, 0, 0},
    {"milter", "timeout", T_DURATION, "300s", O(timeout), NULL, 0, 0},
    {"milter", "backlog", T_INT, "128", O(backlog), NULL, 1, 65535},
    {"milter", "spill_size", T_SIZE, "1M", O(spill_size), NULL, 0, 0},
    {"milter", "on_directory_error", T_ENUM, "tempfail", O(on_directory_error), onfail_choices, 0, 0},
    {"milter", "on_store_error", T_ENUM, "tempfail", O(on_store_error), onfail_choices, 0, 0},
    {"milter", "internal_networks", T_LIST, "", O(internal_networks), NULL, 0, 0},
    {"milter", "own_networks", T_LIST, "127.0.0.0/8, ::1", O(own_networks), NULL, 0, 0},

    {"log", "ident", T_STRING, "diariemilter", O(log_ident), NULL, 0, 0},
    {"log", "facility", T_STRING, "mail", O(log_facility), NULL, 0, 0},
    {"log", "level", T_STRING, "info", O(log_level), NULL, 0, 0},
    {"log", "file", T_PATH, "", O(log_file), NULL, 0, 0},

    {"site", "language", T_ENUM, "sv", O(language), lang_choices, 0, 0},
    {"site", "party_domains", T_LIST, "", O(party_domains), NULL, 0, 0},
    {"site", "mass_recipients", T_INT, "20", O(mass_recipients), NULL, 2, 1000000},
    {"site", "mass_window", T_DURATION, "1h", O(mass_window), NULL, 0, 0},
    {"site", "mass_window_recipients", T_INT, "100", O(mass_window_recipients), NULL, 2, 1000000},
    {"site", "mass_list_addresses", T_LIST, "", O(mass_list_addresses), NULL, 0, 0},
    {"site", "communications_group", T_STRING, "", O(comm_group), NULL, 0, 0},
    {"site", "intranet", T_STRING, "", O(intranet), NULL, 0, 0},
    {"site", "autoreply_absence", T_DURATION, "3d", O(autoreply_absence), NULL, 0, 0},
    {"site", "timezone", T_STRING, "Europe/Stockholm", O(timezone), NULL, 0, 0},
    {"site", "gateway_id", T_STRING, "", O(gateway_id), NULL, 0, 0},
    {"site", "notice_reminder", T_INT, "2", O(notice_reminder), NULL, 0, 60},

    {"ldap", "uri", T_LIST, "ldap://127.0.0.1/", O(ldap_uri), NULL, 0, 0},
    {"ldap", "base", T_STRING, "", O(ldap_base), NULL, 0, 0},
    {"ldap", "bind_dn", T_STRING, "", O(ldap_bind_dn), NULL, 0, 0},
    {"ldap", "bind_password_file", T_PATH, "", O(ldap_bind_password_file), NULL, 0, 0},
    {"ldap", "starttls", T_BOOL, "false", O(ldap_starttls), NULL, 0, 0},
    {"ldap", "tls_ca_file", T_PATH, "", O(ldap_tls_ca_file), NULL, 0, 0},
    {"ldap", "tls_verify", T_BOOL, "true", O(ldap_tls_verify), NULL, 0, 0},
    {"ldap", "connect_timeout", T_DURATION, "5s", O(ldap_connect_timeout), NULL, 0, 0},
    {"ldap", "timeout", T_DURATION, "5s", O(ldap_timeout), NULL, 0, 0},
    {"ldap", "pool_size", T_INT, "4", O(ldap_pool_size), NULL, 1, 256},
    {"ldap", "filter_address", T_STRING, "(|(mail=%s)(diariePrivateMail=%s))", O(ldap_filter_address), NULL, 0, 0},
    {"ldap", "filter_login", T_STRING, "(uid=%s)", O(ldap_filter_login), NULL, 0, 0},
    {"ldap", "filter_registrators", T_STRING, "(diarieRole=registrator)", O(ldap_filter_registrators), NULL, 0, 0},
    {"ldap", "filter_lists", T_STRING, "(diarieRole=lista)", O(ldap_filter_lists), NULL, 0, 0},
    {"ldap", "filter_entries", T_STRING, "(mail=*)", O(ldap_filter_entries), NULL, 0, 0},
    {"ldap", "group_membership", T_ENUM, "member", O(ldap_group_membership), groups_choices, 0, 0},
    {"ldap", "nested_groups", T_BOOL, "false", O(ldap_nested_groups), NULL, 0, 0},
    {"ldap", "cache_ttl", T_DURATION, "5m", O(ldap_cache_ttl), NULL, 0, 0},
    {"ldap", "negative_cache_ttl", T_DURATION, "1m", O(ldap_negative_ttl), NULL, 0, 0},
    {"ldap", "cache_size", T_INT, "10000", O(ldap_cache_size), NULL, 0, 100000000},
    {"ldap", "attr_mail", T_STRING, "mail", O(attr_mail), NULL, 0, 0},
    {"ldap", "attr_private_mail", T_STRING, "diariePrivateMail", O(attr_private_mail), NULL, 0, 0},
    {"ldap", "attr_routing", T_STRING, "mailRoutingAddress", O(attr_routing), NULL, 0, 0},
    {"ldap", "attr_name", T_STRING, "cn", O(attr_name), NULL, 0, 0},
    {"ldap", "attr_login", T_STRING, "uid", O(attr_login), NULL, 0, 0},
    {"ldap", "attr_role", T_STRING, "diarieRole", O(attr_role), NULL, 0, 0},
    {"ldap", "attr_myndighet", T_STRING, "diarieMyndighet", O(attr_myndighet), NULL, 0, 0},
    {"ldap", "attr_fullmakt", T_STRING, "diarieFullmakt", O(attr_fullmakt), NULL, 0, 0},
    {"ldap", "attr_absent_from", T_STRING, "diarieAbsentFrom", O(attr_absent_from), NULL, 0, 0},
    {"ldap", "attr_absent_until", T_STRING, "diarieAbsentUntil", O(attr_absent_until), NULL, 0, 0},
    {"ldap", "attr_delegate", T_STRING, "diarieDelegate", O(attr_delegate), NULL, 0, 0},
    {"ldap", "attr_manager", T_STRING, "manager", O(attr_manager), NULL, 0, 0},
    {"ldap", "attr_member", T_STRING, "member", O(attr_member), NULL, 0, 0},
    {"ldap", "attr_member_of", T_STRING, "memberOf", O(attr_member_of), NULL, 0, 0},
    {"ldap", "attr_given_name", T_STRING, "givenName", O(attr_given_name), NULL, 0, 0},
    {"ldap", "attr_surname", T_STRING, "sn", O(attr_surname), NULL, 0, 0},
    {"ldap", "attr_watchers", T_STRING, "member", O(attr_watchers), NULL, 0, 0},

    {"store", "database", T_PATH, "/var/lib/diariemilter/diarie.db", O(database), NULL, 0, 0},
    {"store", "spool", T_PATH, "/var/spool/diariemilter", O(spool), NULL, 0, 0},
    {"store", "key_file", T_PATH, "/var/lib/diariemilter/hmac.key", O(key_file), NULL, 0, 0},
    {"store", "duplicate_window", T_DURATION, "7d", O(duplicate_window), NULL, 0, 0},
    {"store", "connect_timeout", T_DURATION, "5s", O(store_connect_timeout), NULL, 0, 0},
    {"store", "timeout", T_DURATION, "10s", O(store_timeout), NULL, 0, 0},
    {"store", "pool_size", T_INT, "4", O(store_pool_size), NULL, 1, 256},
    {"store", "retain_registreras", T_DURATION, "0", O(retain_registreras), NULL, 0, 0},
    {"store", "retain_allman", T_DURATION, "0", O(retain_allman), NULL, 0, 0},
    {"store", "retain_ringa", T_DURATION, "365d", O(retain_ringa), NULL, 0, 0},
    {"store", "retain_intern", T_DURATION, "365d", O(retain_intern), NULL, 0, 0},
    {"store", "retain_parti", T_DURATION, "90d", O(retain_parti), NULL, 0, 0},
    {"store", "retain_privat", T_DURATION, "90d", O(retain_privat), NULL, 0, 0},
    {"store", "retain_rejected", T_DURATION, "90d", O(retain_rejected), NULL, 0, 0},

    {"delivery", "method", T_ENUM, "sendmail", O(delivery_method), delivery_choices, 0, 0},
    {"delivery", "sendmail", T_ARGV, "/usr/sbin/sendmail -i", O(sendmail), NULL, 0, 0},
    {"delivery", "smtp_host", T_STRING, "127.0.0.1", O(smtp_host), NULL, 0, 0},
    {"delivery", "smtp_port", T_INT, "25", O(smtp_port), NULL, 1, 65535},
    {"delivery", "smtp_helo", T_STRING, "", O(smtp_helo), NULL, 0, 0},
    {"delivery", "smtp_timeout", T_DURATION, "2m", O(smtp_timeout), NULL, 0, 0},
    {"delivery", "smtp_tls", T_ENUM, "starttls", O(smtp_tls), smtp_tls_choices, 0, 0},
    {"delivery", "smtp_user", T_STRING, "", O(smtp_user), NULL, 0, 0},
    {"delivery", "smtp_password_file", T_PATH, "", O(smtp_password_file), NULL, 0, 0},
    {"delivery", "timeout", T_DURATION, "10m", O(delivery_timeout), NULL, 0, 0},
    {"delivery", "sender", T_STRING, "", O(sender), NULL, 0, 0},
    {"delivery", "from_name", T_STRING, "Diariemilter", O(from_name), NULL, 0, 0},
    {"delivery", "copy_form", T_ENUM, "wrapped", O(copy_form), copy_form_choices, 0, 0},
    {"delivery", "copy_reply_to", T_STRING, "sender", O(copy_reply_to), NULL, 0, 0},
    {"delivery", "retry_min", T_DURATION, "1m", O(retry_min), NULL, 0, 0},
    {"delivery", "retry_max", T_DURATION, "1h", O(retry_max), NULL, 0, 0},
    {"delivery", "dead_after", T_DURATION, "2d", O(dead_after), NULL, 0, 0},

    {"policy", "rules", T_PATH, "rules.conf", O(rules_file), NULL, 0, 0},
    {"policy", "templates", T_PATH, "templates", O(templates), NULL, 0, 0},

    {"mime", "max_text", T_SIZE, "2M", O(max_text), NULL, 0, 0},
    {"mime", "max_parts", T_INT, "500", O(max_parts), NULL, 1, 1000000},
    {"mime", "max_depth", T_INT, "10", O(max_depth), NULL, 1, 1000},
    {"mime", "max_headers", T_INT, "1000", O(max_headers), NULL, 1, 1000000},
    {"mime", "max_header_size", T_SIZE, "64k", O(max_header_size), NULL, 0, 0},
    {"mime", "extractor", T_STRING, "", O(extractor), NULL, 0, 0},
    {"mime", "extract_workers", T_INT, "2", O(extract_workers), NULL, 0, 64},
    {"mime", "extract_memory", T_SIZE, "256M", O(extract_memory), NULL, 0, 0},
    {"mime", "extract_timeout", T_DURATION, "10s", O(extract_timeout), NULL, 0, 0},
    {"mime", "extract_message_timeout", T_DURATION, "30s", O(extract_message_timeout), NULL, 0, 0},
    {"mime", "max_attachments", T_INT, "20", O(max_attachments), NULL, 0, 10000},
    {"mime", "max_attachment_size", T_SIZE, "25M", O(max_attachment_size), NULL, 0, 0},
    {"mime", "max_attachment_text", T_SIZE, "256k", O(max_attachment_text), NULL, 0, 0},
    {"mime", "max_attachment_text_total", T_SIZE, "1M", O(max_attachment_text_total), NULL, 0, 0},
    {"mime", "max_pages", T_INT, "100", O(max_pages), NULL, 1, 1000000},
    {"mime", "max_archive_entries", T_INT, "2000", O(max_archive_entries), NULL, 1, 1000000},
    {"mime", "max_expansion_ratio", T_INT, "100", O(max_expansion_ratio), NULL, 1, 1000000},
    {"mime", "max_expanded_size", T_SIZE, "100M", O(max_expanded_size), NULL, 0, 0},

    {"metrics", "listen", T_STRING, "", O(metrics_listen), NULL, 0, 0},
    {"metrics", "textfile", T_PATH, "", O(metrics_textfile), NULL, 0, 0},
    {"metrics", "textfile_interval", T_DURATION, "15s", O(metrics_textfile_interval), NULL, 0, 0},
};

#undef O

size_t dm_conf_schema(const dm_conf_key_info **keys)
{
    static dm_conf_key_info info[G_N_ELEMENTS(dm_conf_table)];
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        for (size_t i = 0; i < G_N_ELEMENTS(dm_conf_table); i++) {
            info[i].group = dm_conf_table[i].group;
            info[i].key = dm_conf_table[i].key;
            info[i].default_value = dm_conf_table[i].def;
        }
        g_once_init_leave(&once, 1);
    }
    *keys = info;
    return G_N_ELEMENTS(dm_conf_table);
}

const char *dm_conf_sender(const dm_conf *conf)
{
    static char *host_sender;
    static gsize once = 0;

    if (conf->sender != NULL && *conf->sender != '\0')
        return conf->sender;
    if (g_once_init_enter(&once)) {
        host_sender = g_strconcat("postmaster@", g_get_host_name(), NULL);
        g_once_init_leave(&once, 1);
    }
    return host_sender;
}

const char *dm_conf_gateway_id(const dm_conf *conf)
{
    return conf->gateway_id != NULL && *conf->gateway_id != '\0' ? conf->gateway_id
                                                                 : g_get_host_name();
}

/* Set one field from its textual value.  Returns a static-ish description
 * of what is wrong, or NULL on success. */
static char *dm_conf_set(dm_conf *conf, const dm_conf_entry *e, const char *value)
{
    char *field = (char *)conf + e->offset;

    switch (e->type) {
    case T_STRING:
    case T_PATH: {
        char **p = (char **)field;
        g_free(*p);
        *p = g_strdup(value);
        return NULL;
    }
    case T_LIST: {
        char ***p = (char ***)field;
        g_strfreev(*p);
        *p = dm_conf_split_list(value);
        return NULL;
    }
    case T_ARGV: {
        char ***p = (char ***)field;
        char **argv = NULL;
        GError *gerr = NULL;

        if (!g_shell_parse_argv(value, NULL, &argv, &gerr)) {
            char *msg = g_strdup_printf("not a command line: %s", gerr->message);
            g_error_free(gerr);
            return msg;
        }
        if (argv[0][0] != '/') {
            g_strfreev(argv);
            return g_strdup("the command must be an absolute path");
        }
        g_strfreev(*p);
        *p = argv;
        return NULL;
    }
    case T_INT: {
        char *end;
        long v;

        errno = 0;
        v = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno != 0)
            return g_strdup_printf("\"%s\" is not a whole number", value);
        if (v < e->min || v > e->max)
            return g_strdup_printf("%ld is outside %ld..%ld", v, e->min, e->max);
        *(int *)field = (int)v;
        return NULL;
    }
    case T_BOOL:
        if (g_ascii_strcasecmp(value, "true") == 0 || g_ascii_strcasecmp(value, "yes") == 0 ||
            strcmp(value, "1") == 0) {
            *(bool *)field = true;
        } else if (g_ascii_strcasecmp(value, "false") == 0 ||
                   g_ascii_strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0) {
            *(bool *)field = false;
        } else {
            return g_strdup_printf("\"%s\" is not true or false", value);
        }
        return NULL;
    case T_MODE: {
        char *end;
        long v;

        errno = 0;
        v = strtol(value, &end, 8);
        if (end == value || *end != '\0' || errno != 0 || v < 0 || v > 07777)
            return g_strdup_printf("\"%s\" is not an octal file mode", value);
        *(int *)field = (int)v;
        return NULL;
    }
    case T_SIZE:
        if (!dm_conf_parse_size(value, (int64_t *)field))
            return g_strdup_printf("\"%s\" is not a size (like 512k, 10M)", value);
        return NULL;
    case T_DURATION:
        if (!dm_conf_parse_duration(value, (int64_t *)field))
            return g_strdup_printf("\"%s\" is not a duration (like 30s, 5m, 2h, 7d)", value);
        return NULL;
    case T_ENUM:
        for (int i = 0; e->choices[i] != NULL; i++) {
            if (g_ascii_strcasecmp(value, e->choices[i]) == 0) {
                *(int *)field = i;
                return NULL;
            }
        }
        {
            char *all = g_strjoinv(", ", (char **)e->choices);
            char *msg = g_strdup_printf("\"%s\" is not one of: %s", value, all);
            g_free(all);
            return msg;
        }
    }
    return g_strdup("unknown type");
}

static void dm_conf_free(dm_conf *conf)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_conf_table); i++) {
        const dm_conf_entry *e = &dm_conf_table[i];
        char *field = (char *)conf + e->offset;

        if (e->type == T_STRING || e->type == T_PATH)
            g_free(*(char **)field);
        else if (e->type == T_LIST || e->type == T_ARGV)
            g_strfreev(*(char ***)field);
    }
    dm_netlist_free(conf->internal_nets);
    dm_netlist_free(conf->own_nets);
    if (conf->lines != NULL)
        g_hash_table_destroy(conf->lines);
    g_free(conf->path);
    g_free(conf);
}

/* Relative paths name files beside the configuration file, so that a
 * configuration and what it names move together (and etc/ checks and runs
 * from a source checkout). */
static void dm_conf_resolve_paths(dm_conf *conf, const char *dir)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_conf_table); i++) {
        const dm_conf_entry *e = &dm_conf_table[i];
        char **p = (char **)((char *)conf + e->offset);

        /* [store] database may be a postgresql:// URI, not a path. */
        if (e->type != T_PATH || **p == '\0' || g_path_is_absolute(*p) ||
            strstr(*p, "://") != NULL)
            continue;
        {
            char *abs = g_canonicalize_filename(*p, dir);
            g_free(*p);
            *p = abs;
        }
    }
}

dm_conf *dm_conf_new_defaults(void)
{
    dm_conf *conf = g_new0(dm_conf, 1);

    conf->refcount = 1;
    for (size_t i = 0; i < G_N_ELEMENTS(dm_conf_table); i++) {
        char *problem = dm_conf_set(conf, &dm_conf_table[i], dm_conf_table[i].def);
        /* A bad built-in default is a programming error. */
        g_assert(problem == NULL);
    }
    dm_conf_resolve_paths(conf, DM_CONF_DEFAULT_DIR);
    conf->internal_nets = dm_netlist_parse(conf->internal_networks, NULL);
    conf->own_nets = dm_netlist_parse(conf->own_networks, NULL);
    g_assert(conf->internal_nets != NULL && conf->own_nets != NULL);
    return conf;
}

static const dm_conf_entry *dm_conf_find(const char *group, const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(dm_conf_table); i++) {
        if (strcmp(dm_conf_table[i].group, group) == 0 &&
            (key == NULL || strcmp(dm_conf_table[i].key, key) == 0))
            return &dm_conf_table[i];
    }
    return NULL;
}

/* The file being loaded, for messages that name a key's line. */
typedef struct {
    const char *path;
    const char *text;
} dm_conf_src;

/* err set to "FILE:LINE: [group] key: problem" ("[group]: problem" when
 * key is NULL); always false. */
static bool dm_conf_refuse(GError **err, const dm_conf_src *src, const char *group,
                           const char *key, const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static bool dm_conf_refuse(GError **err, const dm_conf_src *src, const char *group,
                           const char *key, const char *fmt, ...)
{
    va_list ap;
    char *problem;

    va_start(ap, fmt);
    problem = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (key != NULL)
        g_set_error(err, DM_CONF_ERROR, 1, "%s:%d: [%s] %s: %s", src->path,
                    dm_conf_line_of(src->text, group, key), group, key, problem);
    else
        g_set_error(err, DM_CONF_ERROR, 1, "%s:%d: [%s]: %s", src->path,
                    dm_conf_line_of(src->text, group, NULL), group, problem);
    g_free(problem);
    return false;
}

/* Every key of the file into conf, each checked against the table. */
static bool dm_conf_apply_keys(dm_conf *conf, GKeyFile *kf, const dm_conf_src *src,
                               GError **err)
{
    char **groups = g_key_file_get_groups(kf, NULL);
    bool ok = true;

    for (char **g = groups; ok && *g != NULL; g++) {
        char **keys;

        if (dm_conf_find(*g, NULL) == NULL) {
            ok = dm_conf_refuse(err, src, *g, NULL, "unknown section");
            break;
        }
        keys = g_key_file_get_keys(kf, *g, NULL, NULL);
        for (char **k = keys; ok && k != NULL && *k != NULL; k++) {
            const dm_conf_entry *e = dm_conf_find(*g, *k);
            char *value, *problem;

            if (e == NULL) {
                ok = dm_conf_refuse(err, src, *g, *k, "unknown key");
                break;
            }
            value = g_key_file_get_value(kf, *g, *k, NULL);
            g_strstrip(value);
            problem = dm_conf_set(conf, e, value);
            g_free(value);
            if (problem != NULL)
                ok = dm_conf_refuse(err, src, *g, *k, "%s", problem);
            g_free(problem);
        }
        g_strfreev(keys);
    }
    g_strfreev(groups);
    return ok;
}

/* Networks are parsed once here, not per message. */
static bool dm_conf_parse_networks(dm_conf *conf, const dm_conf_src *src, GError **err)
{
    GError *gerr = NULL;
    const char *key = NULL;

    dm_netlist_free(conf->internal_nets);
    dm_netlist_free(conf->own_nets);
    conf->own_nets = NULL;
    conf->internal_nets = dm_netlist_parse(conf->internal_networks, &gerr);
    if (conf->internal_nets == NULL)
        key = "internal_networks";
    else if ((conf->own_nets = dm_netlist_parse(conf->own_networks, &gerr)) == NULL)
        key = "own_networks";
    if (key == NULL)
        return true;
    dm_conf_refuse(err, src, "milter", key, "%s", gerr->message);
    g_error_free(gerr);
    return false;
}

static bool dm_conf_check_sender(const dm_conf *conf, const dm_conf_src *src, GError **err)
{
    if (*conf->sender != '\0' && !dm_conf_address_ok(conf->sender))
        return dm_conf_refuse(err, src, "delivery", "sender",
                              "\"%s\" is not a full address (local@domain, like "
                              "postmaster@kommun.example); leave it empty for postmaster@ this "
                              "host's name",
                              conf->sender);
    if (*conf->sender == '\0' && conf->delivery_method == DM_DELIVER_SMTP)
        return dm_conf_refuse(err, src, "delivery", "method",
                              "smtp needs [delivery] sender set to a full address "
                              "(local@domain) that the server accepts");
    return true;
}

/* The names the gateway logs and writes under: log level and facility,
 * time zone, gateway id, the copies' Reply-To. */
static bool dm_conf_check_names(const dm_conf *conf, const dm_conf_src *src, GError **err)
{
    dm_log_level level;
    int facility;
    GTimeZone *tz;

    if (!dm_log_level_from_name(conf->log_level, &level))
        return dm_conf_refuse(err, src, "log", "level",
                              "\"%s\" is not one of: error, warning, notice, info, debug",
                              conf->log_level);
    if (!dm_log_facility_from_name(conf->log_facility, &facility))
        return dm_conf_refuse(err, src, "log", "facility", "\"%s\" is not a syslog facility",
                              conf->log_facility);
    tz = g_time_zone_new_identifier(conf->timezone);
    if (tz == NULL)
        return dm_conf_refuse(err, src, "site", "timezone",
                              "\"%s\" is not a time zone this host knows (an IANA name like "
                              "Europe/Stockholm; Debian: the tzdata package)",
                              conf->timezone);
    g_time_zone_unref(tz);
    if (!dm_conf_token_ok(conf->gateway_id, true))
        return dm_conf_refuse(err, src, "site", "gateway_id",
                              "printable ASCII without blanks, at most 64 characters");
    if (strcmp(conf->copy_reply_to, "sender") != 0 && strcmp(conf->copy_reply_to, "none") != 0 &&
        !dm_conf_address_ok(conf->copy_reply_to))
        return dm_conf_refuse(err, src, "delivery", "copy_reply_to",
                              "\"%s\" is not sender, none or an address (local@domain)",
                              conf->copy_reply_to);
    return true;
}

static bool dm_conf_check_metrics(const dm_conf *conf, const dm_conf_src *src, GError **err)
{
    guint16 port = 0;

    if (*conf->metrics_listen != '\0' &&
        (!dm_conf_parse_listen(conf->metrics_listen, NULL, &port) || port == 0))
        return dm_conf_refuse(err, src, "metrics", "listen",
                              "\"%s\" is not ADDRESS:PORT (an IP address, [ ] around IPv6, and "
                              "a port from 1 to 65535)",
                              conf->metrics_listen);
    if (conf->metrics_textfile_interval < 1)
        return dm_conf_refuse(err, src, "metrics", "textfile_interval", "at least 1s");
    return true;
}

static bool dm_conf_check_extract(const dm_conf *conf, const dm_conf_src *src, GError **err)
{
    if (*conf->extractor != '\0' && conf->extractor[0] != '/')
        return dm_conf_refuse(err, src, "mime", "extractor", "not an absolute path");
    if (conf->extract_timeout < 1)
        return dm_conf_refuse(err, src, "mime", "extract_timeout", "at least 1s");
    if (conf->extract_message_timeout < 1)
        return dm_conf_refuse(err, src, "mime", "extract_message_timeout", "at least 1s");
    if (conf->extract_memory != 0 && conf->extract_memory < 128 * 1024 * 1024)
        return dm_conf_refuse(err, src, "mime", "extract_memory",
                              "at least 128M (the worker's libraries alone map about 66M), or "
                              "0 for no limit");
    return true;
}

static bool dm_conf_check_smtp(const dm_conf *conf, const dm_conf_src *src, GError **err)
{
    if ((*conf->smtp_user != '\0') != (*conf->smtp_password_file != '\0'))
        return dm_conf_refuse(err, src, "delivery",
                              *conf->smtp_user != '\0' ? "smtp_user" : "smtp_password_file",
                              "smtp_user and smtp_password_file go together");
    if (conf->retry_max < conf->retry_min)
        return dm_conf_refuse(err, src, "delivery", "retry_max", "shorter than retry_min");
    return true;
}

/* Every key is read: relative paths left are the file's, and name files
 * beside it (the defaults' were resolved against the installed
 * directory). */
static void dm_conf_resolve_beside(dm_conf *conf, const char *path)
{
    char *abs_conf = g_canonicalize_filename(path, NULL);
    char *dir = g_path_get_dirname(abs_conf);

    dm_conf_resolve_paths(conf, dir);
    g_free(dir);
    g_free(abs_conf);
}

dm_conf *dm_conf_load(const char *path, GError **err)
{
    GKeyFile *kf = g_key_file_new();
    GError *gerr = NULL;
    char *text = NULL;
    gsize len = 0;
    dm_conf *conf = NULL;
    dm_conf_src src = {path, NULL};

    /* GKeyFile's parse errors quote the offending line. */
    if (!g_file_get_contents(path, &text, &len, &gerr) ||
        !g_key_file_load_from_data(kf, text, len, G_KEY_FILE_NONE, &gerr)) {
        g_set_error(err, DM_CONF_ERROR, 1, "%s: %s", path, gerr->message);
        g_error_free(gerr);
        goto out;
    }
    src.text = text;
    conf = dm_conf_new_defaults();
    conf->path = g_strdup(path);
    conf->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (!dm_conf_scan_lines(path, text, conf->lines, err) ||
        !dm_conf_apply_keys(conf, kf, &src, err))
        goto fail;
    dm_conf_resolve_beside(conf, path);
    if (dm_conf_parse_networks(conf, &src, err) && dm_conf_check_sender(conf, &src, err) &&
        dm_conf_check_names(conf, &src, err) && dm_conf_check_metrics(conf, &src, err) &&
        dm_conf_check_extract(conf, &src, err) && dm_conf_check_smtp(conf, &src, err))
        goto out;
fail:
    dm_conf_unref(conf);
    conf = NULL;
out:
    g_free(text);
    g_key_file_free(kf);
    return conf;
}

dm_conf *dm_conf_ref(dm_conf *conf)
{
    g_atomic_int_inc(&conf->refcount);
    return conf;
}

void dm_conf_unref(dm_conf *conf)
{
    if (conf != NULL && g_atomic_int_dec_and_test(&conf->refcount))
        dm_conf_free(conf);
}
