/*
 * Internals shared by the mime/ files; not for other modules.
 */
#ifndef DM_MIME_INT_H
#define DM_MIME_INT_H

#include "dm_mime.h"

/* Expand template `name` with vars (name -> value); the subject and body
 * are new strings.  False when there is no such template. */
bool dm_template_expand(const dm_templates *t, const char *name, GHashTable *vars,
                        char **subject, char **body);
dm_lang dm_templates_lang(const dm_templates *t);

#endif
