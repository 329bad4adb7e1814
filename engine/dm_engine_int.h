/*
 * Internals shared by the engine/ files; not for other rooms.
 */
#ifndef DM_ENGINE_INT_H
#define DM_ENGINE_INT_H

#include "dm_engine.h"

struct dm_engine {
    gint refcount;
    unsigned flags;
    dm_conf *conf;
    dm_policy *policy;
    dm_ldap *ldap;
    dm_templates *templates;
    dm_store *store;
    dm_spool *spool;
    bool own_spool;
    char *key;
    size_t keylen;
    dm_mime_limits limits;
    dm_extract_pool *extract; /* attachment readers: this engine's own */

    GMutex cases_lock;
    dm_case_index *cases;
    int64_t cases_generation;
    int64_t cases_checked;
};

#endif
