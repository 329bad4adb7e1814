/*
 * dm_net: lists of IP networks ([milter] internal_networks, own_networks),
 * parsed once when the configuration loads (GIO's GInetAddressMask) and
 * matched per message against the client's address.
 */
#ifndef DM_NET_H
#define DM_NET_H

#include <glib.h>
#include <stdbool.h>

typedef struct dm_netlist dm_netlist;

/* Parse "10.0.0.0/8", "2001:db8::/32", "::1" (a bare address is one host).
 * NULL with err set, naming the entry, when one is not a network: a bad
 * address, a prefix longer than the address, bits set beyond the prefix. */
dm_netlist *dm_netlist_parse(char **networks, GError **err);
void dm_netlist_free(dm_netlist *list);

/* Is addr (IPv4 or IPv6 text; an IPv4-mapped IPv6 address counts as its
 * IPv4 address) inside one of the networks?  False for NULL or a text
 * that is no address. */
bool dm_netlist_contains(const dm_netlist *list, const char *addr);

#endif
