#include "dm_net.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

struct dm_netlist {
    GPtrArray *masks; /* GInetAddressMask * */
};

dm_netlist *dm_netlist_parse(char **networks, GError **err)
{
    dm_netlist *list = g_new0(dm_netlist, 1);

    list->masks = g_ptr_array_new_with_free_func(g_object_unref);
    for (char **n = networks; n != NULL && *n != NULL; n++) {
        GError *gerr = NULL;
        const char *slash = strchr(*n, '/');
        GInetAddressMask *m;

        /* GObject warns of a length past the property's 128 before GIO
         * refuses it: refuse it here, quietly. */
        if (slash != NULL && strtoul(slash + 1, NULL, 10) > 128) {
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "\"%s\" is not a network: the prefix is longer than any address", *n);
            dm_netlist_free(list);
            return NULL;
        }
        m = g_inet_address_mask_new_from_string(*n, &gerr);

        if (m == NULL) {
            g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "\"%s\" is not a network (like 10.0.0.0/8 or 2001:db8::/32): %s", *n,
                        gerr->message);
            g_error_free(gerr);
            dm_netlist_free(list);
            return NULL;
        }
        g_ptr_array_add(list->masks, m);
    }
    return list;
}

void dm_netlist_free(dm_netlist *list)
{
    if (list == NULL)
        return;
    g_ptr_array_unref(list->masks);
    g_free(list);
}

/* ::ffff:a.b.c.d, as a dual-stack socket reports an IPv4 client, is
 * matched as a.b.c.d. */
static GInetAddress *dm_net_unmap(GInetAddress *a)
{
    static const guint8 prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const guint8 *b;

    if (g_inet_address_get_family(a) != G_SOCKET_FAMILY_IPV6)
        return a;
    b = g_inet_address_to_bytes(a);
    if (memcmp(b, prefix, sizeof prefix) != 0)
        return a;
    {
        GInetAddress *v4 = g_inet_address_new_from_bytes(b + 12, G_SOCKET_FAMILY_IPV4);
        g_object_unref(a);
        return v4;
    }
}

bool dm_netlist_contains(const dm_netlist *list, const char *addr)
{
    GInetAddress *a;
    bool in = false;

    if (list == NULL || addr == NULL || list->masks->len == 0)
        return false;
    a = g_inet_address_new_from_string(addr);
    if (a == NULL)
        return false;
    a = dm_net_unmap(a);
    for (guint i = 0; i < list->masks->len && !in; i++)
        in = g_inet_address_mask_matches(g_ptr_array_index(list->masks, i), a);
    g_object_unref(a);
    return in;
}
