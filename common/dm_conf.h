/*
 * dm_conf: diariemilter's configuration, read from a GKeyFile INI file.
 *
 * Every key is described once, in the table in dm_conf.c: its group, name,
 * type and default.  Loading checks every group and key against that table
 * (a misspelt key is an error, not a silent default) and reports errors
 * with file, line and key.  A loaded configuration is immutable and
 * reference counted: the daemon swaps in a new one on SIGUSR1 while
 * messages in flight finish on the one they started with.
 */
#ifndef DM_CONF_H
#define DM_CONF_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "dm_net.h"

typedef enum { DM_LANG_SV, DM_LANG_EN } dm_lang;
typedef enum { DM_ONFAIL_TEMPFAIL, DM_ONFAIL_ACCEPT } dm_onfail;
typedef enum { DM_DELIVER_SENDMAIL, DM_DELIVER_SMTP } dm_delivery_method;
typedef enum { DM_GROUPS_MEMBER, DM_GROUPS_MEMBEROF } dm_group_style;
typedef enum { DM_COPY_WRAPPED, DM_COPY_REDIRECT } dm_copy_form;
typedef enum { DM_SMTP_TLS_STARTTLS, DM_SMTP_TLS_NONE } dm_smtp_tls;

typedef struct dm_conf {
    gint refcount;
    char *path; /* file it was read from, NULL for built-in defaults */
    GHashTable *lines; /* "group\x1fkey" -> line in path (GINT_TO_POINTER) */

    /* [milter] */
    char *socket;
    int socket_mode;
    char *socket_group;
    char *user;
    char *pidfile;
    int64_t timeout;       /* seconds, MTA I/O timeout */
    int backlog;
    int64_t spill_size;    /* bytes kept in memory before spilling to disk */
    dm_onfail on_directory_error;
    dm_onfail on_store_error;
    char **internal_networks;
    char **own_networks;
    dm_netlist *internal_nets; /* the two above, parsed at load */
    dm_netlist *own_nets;

    /* [log] */
    char *log_ident;
    char *log_facility;
    char *log_level;
    char *log_file;

    /* [site] */
    dm_lang language;
    char **party_domains;
    int mass_recipients;
    int64_t mass_window;
    int mass_window_recipients;
    char **mass_list_addresses;
    char *comm_group;
    char *intranet;
    int64_t autoreply_absence; /* seconds an auto-reply marks its sender absent */
    char *timezone;        /* IANA name: the times people read (checked at load) */
    char *gateway_id;      /* names this gateway in what it sends; "": the host name */
    int notice_reminder;   /* working days before an unanswered notice's reminder; 0: none */

    /* [ldap] */
    char **ldap_uri;
    char *ldap_base;
    char *ldap_bind_dn;
    char *ldap_bind_password_file;
    bool ldap_starttls;
    char *ldap_tls_ca_file;
    bool ldap_tls_verify;
    int64_t ldap_connect_timeout;
    int64_t ldap_timeout;
    int ldap_pool_size;
    char *ldap_filter_address;
    char *ldap_filter_login;
    char *ldap_filter_registrators;
    char *ldap_filter_lists;
    char *ldap_filter_entries; /* diariectl directory check: what to walk */
    dm_group_style ldap_group_membership;
    bool ldap_nested_groups;
    int64_t ldap_cache_ttl;
    int64_t ldap_negative_ttl;
    int ldap_cache_size;
    char *attr_mail;
    char *attr_private_mail;
    char *attr_routing;
    char *attr_name;
    char *attr_login;
    char *attr_role;
    char *attr_myndighet;
    char *attr_fullmakt;
    char *attr_absent_from;
    char *attr_absent_until;
    char *attr_delegate;
    char *attr_manager;
    char *attr_member;
    char *attr_member_of;
    char *attr_given_name;
    char *attr_surname;
    char *attr_watchers;

    /* [store] */
    char *database;
    char *spool;
    char *key_file;
    int64_t duplicate_window;
    int64_t store_connect_timeout; /* a shared database: connecting */
    int64_t store_timeout;         /* one statement, waiting for a lock included */
    int store_pool_size;
    /* Journal retention per class, seconds; 0: keep for ever. */
    int64_t retain_registreras;
    int64_t retain_allman;
    int64_t retain_ringa;
    int64_t retain_intern;
    int64_t retain_parti;
    int64_t retain_privat;
    int64_t retain_rejected;

    /* [delivery] */
    dm_delivery_method delivery_method;
    char **sendmail;       /* argv, split without a shell */
    char *smtp_host;
    int smtp_port;
    char *smtp_helo;       /* "": the host name */
    int64_t smtp_timeout;  /* connecting, and waiting for each reply */
    dm_smtp_tls smtp_tls;  /* STARTTLS required, or plain (a local relay) */
    char *smtp_user;       /* "": no AUTH */
    char *smtp_password_file;
    int64_t delivery_timeout; /* one delivery process at most */
    char *sender;          /* envelope sender of generated mail; "": see dm_conf_sender */
    char *from_name;
    dm_copy_form copy_form;
    char *copy_reply_to;   /* "sender", "none" or an address (checked at load) */
    int64_t retry_min;
    int64_t retry_max;
    int64_t dead_after;

    /* [policy] */
    char *rules_file;
    char *templates;

    /* [mime] */
    int64_t max_text;
    int max_parts;
    int max_depth;
    int max_headers;
    int64_t max_header_size;
    /* [mime], attachments (extract/) */
    char *extractor;            /* "": the one installed with the daemon */
    int extract_workers;        /* started ahead */
    int64_t extract_memory;     /* a worker's address space */
    int64_t extract_timeout;    /* seconds, one attachment */
    int64_t extract_message_timeout; /* seconds, all of a message's */
    int max_attachments;        /* read per message; 0: none */
    int64_t max_attachment_size;
    int64_t max_attachment_text;
    int64_t max_attachment_text_total;
    int max_pages;
    int max_archive_entries;
    int max_expansion_ratio;
    int64_t max_expanded_size;

    /* [metrics] */
    char *metrics_listen;   /* "ADDRESS:PORT" of the /metrics listener, "" none */
    char *metrics_textfile; /* the textfile collector's file, "" none */
    int64_t metrics_textfile_interval; /* seconds between its rewrites */
} dm_conf;

/* Built-in defaults, as documented in etc/diariemilter.conf. */
dm_conf *dm_conf_new_defaults(void);

/* Read path; on error returns NULL and sets err with "FILE:LINE: [group]
 * key: problem".  Keys absent from the file keep their defaults. */
dm_conf *dm_conf_load(const char *path, GError **err);

dm_conf *dm_conf_ref(dm_conf *conf);
void dm_conf_unref(dm_conf *conf);

/* Iterate the schema: for tests and for "diariemilter -D". */
typedef struct {
    const char *group;
    const char *key;
    const char *default_value;
} dm_conf_key_info;
size_t dm_conf_schema(const dm_conf_key_info **keys);

/* [site] gateway_id, or the host name when it is empty. */
const char *dm_conf_gateway_id(const dm_conf *conf);

/* [delivery] sender, or postmaster@ the host name when it is empty. */
const char *dm_conf_sender(const dm_conf *conf);

/* "FILE:LINE: [group] key" for a message about a key the file set
 * ("FILE: [group] key" when it kept its default).  Free with g_free. */
char *dm_conf_where(const dm_conf *conf, const char *group, const char *key);

/* Checks against this host, for diariemilter -n, start and reload (not
 * for diariectl, which may run elsewhere): the sendmail command exists
 * and is executable (method sendmail), [delivery] smtp_password_file
 * (method smtp) and [ldap] tls_ca_file are readable files.  False with err set to "FILE:LINE: [group] key: problem". */
bool dm_conf_check_host(const dm_conf *conf, GError **err);

/* Parse helpers shared with other modules' configuration. */
bool dm_conf_parse_duration(const char *s, int64_t *seconds);
bool dm_conf_parse_size(const char *s, int64_t *bytes);
/* "ADDRESS:PORT" ("[ADDRESS]:PORT" for IPv6): a literal IP address and a
 * port from 0 to 65535 (0: any free one, for tests; the configuration
 * refuses it).  host (new string) and port may be NULL. */
bool dm_conf_parse_listen(const char *s, char **host, guint16 *port);

#define DM_CONF_ERROR (dm_conf_error_quark())
GQuark dm_conf_error_quark(void);

#endif
