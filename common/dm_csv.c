#include "dm_csv.h"

bool dm_csv_record(const char **p, const char *end, GPtrArray *out)
{
    const char *s = *p;

    g_ptr_array_set_size(out, 0);
    if (s >= end)
        return false;
    for (;;) {
        GString *f = g_string_new(NULL);

        if (s < end && *s == '"') {
            s++;
            while (s < end) {
                if (*s == '"') {
                    if (s + 1 < end && s[1] == '"') {
                        g_string_append_c(f, '"');
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                g_string_append_c(f, *s++);
            }
            /* Anything between the closing quote and the separator. */
            while (s < end && *s != ',' && *s != '\n' && *s != '\r')
                g_string_append_c(f, *s++);
        } else {
            while (s < end && *s != ',' && *s != '\n' && *s != '\r')
                g_string_append_c(f, *s++);
        }
        g_ptr_array_add(out, g_string_free(f, FALSE));
        if (s < end && *s == ',') {
            s++;
            continue;
        }
        if (s < end && *s == '\r')
            s++;
        if (s < end && *s == '\n')
            s++;
        break;
    }
    *p = s;
    return true;
}
