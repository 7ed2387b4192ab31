/*
 * Typed attributes of the VSS metadata documents (Writer Metadata Document,
 * Backup Components Document), in the style of reference §5: yes/no
 * booleans, decimal numbers, GUIDs without braces, enum words from a table.
 *
 * Readers take the element, the attribute name, whether it is required and
 * the document's name for messages; a missing optional attribute leaves
 * *ret untouched (so the caller's default stands) and returns 0.  A bad
 * value is -VSS_E_INVALID_XML_DOCUMENT at "FILE:LINE: <ELEMENT> attribute
 * 'name': why".  Writers add the attribute; they skip NULL strings.
 */
#ifndef VSS_XML_ATTR_H
#define VSS_XML_ATTR_H

#include <stdbool.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "vss.h"

/* A word of an enumeration; tables end with { 0, NULL }. */
struct vss__enum_word {
	int value;
	const char *word;
};

/* The word for value, or NULL. */
const char *vss__enum_word(const struct vss__enum_word *table, int value);
/* The value for word (exact case), 0 when found, -EINVAL when not. */
int vss__enum_value(const struct vss__enum_word *table, const char *word, int *ret);

/* Has the element this attribute (in no namespace)? */
bool vss__xml_has_attr(xmlNodePtr node, const char *name);

int vss__xml_get_str(xmlNodePtr node, const char *name, bool required, const char *file,
		     char **ret);
int vss__xml_get_bool(xmlNodePtr node, const char *name, bool required, const char *file,
		      bool *ret);
int vss__xml_get_u32(xmlNodePtr node, const char *name, bool required, const char *file,
		     uint32_t *ret);
int vss__xml_get_u64(xmlNodePtr node, const char *name, bool required, const char *file,
		     uint64_t *ret);
/* With or without braces, either case. */
int vss__xml_get_guid(xmlNodePtr node, const char *name, bool required, const char *file,
		      struct vss_guid *ret);
int vss__xml_get_enum(xmlNodePtr node, const char *name, bool required, const char *file,
		      const struct vss__enum_word *table, int *ret);

/* Writers: -ENOMEM on failure. */
int vss__xml_set_str(xmlNodePtr node, const char *name, const char *value);
int vss__xml_set_bool(xmlNodePtr node, const char *name, bool value);
int vss__xml_set_u64(xmlNodePtr node, const char *name, uint64_t value);
/* Lower case, no braces, as Backup Components Documents have them. */
int vss__xml_set_guid(xmlNodePtr node, const char *name, const struct vss_guid *value);
/* -EINVAL when value has no word in table. */
int vss__xml_set_enum(xmlNodePtr node, const char *name, const struct vss__enum_word *table,
		      int value);

/* The element's line in its document, 0 when unknown. */
int vss__xml_line(xmlNodePtr node);
/* Refuse any attribute not in allowed (NULL-terminated; attributes in a
 * namespace are never allowed), naming it: -VSS_E_INVALID_XML_DOCUMENT. */
int vss__xml_check_attributes(xmlNodePtr node, const char *file, const char *const *allowed);

/* Reject an element that is not one of the expected children, naming it. */
int vss__xml_unexpected(xmlNodePtr node, const char *file);

/*
 * The document as canonical text: UTF-8, an XML declaration, two-space
 * indentation, attributes in the order they were set.  Saving what was
 * loaded and saved once gives the same bytes again.
 */
int vss__xml_save(xmlDocPtr doc, char **ret, size_t *ret_len);

#endif
