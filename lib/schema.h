/*
 * RELAX NG schemas of the documents libvss reads, compiled in from
 * lib/schema/<name>.rng (see scripts/embed-schemas.sh).
 */
#ifndef VSS_SCHEMA_H
#define VSS_SCHEMA_H

#include <stddef.h>

struct vss__schema {
	const char *name;   /* file name without .rng: "catalog", "snapshot" */
	const char *text;
	size_t len;
};

/* Terminated by an entry whose name is NULL. */
extern const struct vss__schema vss__schemas[];

#ifdef LIBXML_TREE_ENABLED
/*
 * Validate doc against the named schema.  -VSS_E_INVALID_XML_DOCUMENT with
 * file:line and libxml2's reason on failure; nothing is printed.
 */
int vss__schema_validate(xmlDocPtr doc, const char *schema, const char *file);
#endif

#endif
