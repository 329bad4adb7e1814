/*
 * dm_key: the local secret behind every keyed hash (the journal chain,
 * the hashes kept for private mail, the loop-protection header).
 */
#ifndef DM_KEY_H
#define DM_KEY_H

#include <glib.h>
#include <stdbool.h>

/* Read the key at path; when missing and create is true, make a new
 * random one (32 bytes, mode 0600) first. */
bool dm_key_load(const char *path, bool create, char **key, size_t *len, GError **err);

#endif
