/*
 * Typed attributes of the VSS metadata documents; see xml-attr.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlsave.h>

#include "vss-private.h"
#include "xml-attr.h"
#include "util/parse.h"
#include "util/banned.h"

const char *vss__enum_word(const struct vss__enum_word *table, int value)
{
	for (; table->word; table++)
		if (table->value == value)
			return table->word;
	return NULL;
}

int vss__enum_value(const struct vss__enum_word *table, const char *word, int *ret)
{
	for (; table->word; table++) {
		if (strcmp(table->word, word) == 0) {
			*ret = table->value;
			return 0;
		}
	}
	return -EINVAL;
}

bool vss__xml_has_attr(xmlNodePtr node, const char *name)
{
	return xmlHasNsProp(node, BAD_CAST name, NULL) != NULL;
}

/* "FILE:LINE: <ELEMENT> attribute 'name': 'value' <why>" */
static int bad_value(xmlNodePtr node, const char *name, const char *file, const char *value,
		     const char *why)
{
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(node), 0,
			      "<%s> attribute '%s': '%s' %s", (const char *)node->name, name,
			      value, why);
}

/* The attribute's text (xmlFree it), NULL when absent; -errors for required. */
static int raw(xmlNodePtr node, const char *name, bool required, const char *file,
	       xmlChar **ret)
{
	*ret = xmlGetNoNsProp(node, BAD_CAST name);
	if (*ret || !required)
		return 0;
	if (vss__xml_has_attr(node, name))
		return vss__error(-ENOMEM, "out of memory");
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(node), 0,
			      "<%s> lacks its '%s' attribute", (const char *)node->name, name);
}

int vss__xml_get_str(xmlNodePtr node, const char *name, bool required, const char *file,
		     char **ret)
{
	xmlChar *v;
	char *copy;
	int rc = raw(node, name, required, file, &v);

	if (rc < 0 || !v)
		return rc;
	copy = strdup((const char *)v);
	xmlFree(v);
	if (!copy)
		return vss__error(-ENOMEM, "out of memory");
	free(*ret);
	*ret = copy;
	return 0;
}

int vss__xml_get_bool(xmlNodePtr node, const char *name, bool required, const char *file,
		      bool *ret)
{
	xmlChar *v;
	int rc = raw(node, name, required, file, &v);

	if (rc < 0 || !v)
		return rc;
	if (strcmp((const char *)v, "yes") == 0)
		*ret = true;
	else if (strcmp((const char *)v, "no") == 0)
		*ret = false;
	else
		rc = bad_value(node, name, file, (const char *)v, "is not yes or no");
	xmlFree(v);
	return rc;
}

int vss__xml_get_u64(xmlNodePtr node, const char *name, bool required, const char *file,
		     uint64_t *ret)
{
	xmlChar *v;
	uint64_t n;
	int rc = raw(node, name, required, file, &v);

	if (rc < 0 || !v)
		return rc;
	if (parse_u64((const char *)v, &n) < 0)
		rc = bad_value(node, name, file, (const char *)v, "is not a decimal number");
	else
		*ret = n;
	xmlFree(v);
	return rc;
}

int vss__xml_get_u32(xmlNodePtr node, const char *name, bool required, const char *file,
		     uint32_t *ret)
{
	uint64_t n = *ret;
	int rc = vss__xml_get_u64(node, name, required, file, &n);

	if (rc < 0)
		return rc;
	if (n > UINT32_MAX) {
		char text[24];

		snprintf(text, sizeof(text), "%" PRIu64, n);
		return bad_value(node, name, file, text, "is larger than 4294967295");
	}
	*ret = (uint32_t)n;
	return 0;
}

int vss__xml_get_guid(xmlNodePtr node, const char *name, bool required, const char *file,
		      struct vss_guid *ret)
{
	xmlChar *v;
	struct vss_guid g;
	int rc = raw(node, name, required, file, &v);

	if (rc < 0 || !v)
		return rc;
	if (vss_guid_parse((const char *)v, &g) < 0)
		rc = bad_value(node, name, file, (const char *)v, "is not a GUID");
	else
		*ret = g;
	xmlFree(v);
	return rc;
}

int vss__xml_get_enum(xmlNodePtr node, const char *name, bool required, const char *file,
		      const struct vss__enum_word *table, int *ret)
{
	struct sbuf known = SBUF_INIT;
	xmlChar *v;
	int value, rc = raw(node, name, required, file, &v);

	if (rc < 0 || !v)
		return rc;
	if (vss__enum_value(table, (const char *)v, &value) == 0) {
		*ret = value;
	} else {
		for (const struct vss__enum_word *w = table; w->word; w++)
			sbuf_addf(&known, "%s%s", known.len ? ", " : "", w->word);
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(node), 0,
				    "<%s> attribute '%s': '%s' is not one of %s",
				    (const char *)node->name, name, (const char *)v, sbuf_str(&known));
	}
	sbuf_release(&known);
	xmlFree(v);
	return rc;
}

int vss__xml_set_str(xmlNodePtr node, const char *name, const char *value)
{
	if (!value)
		return 0;
	return xmlSetProp(node, BAD_CAST name, BAD_CAST value) ? 0 : -ENOMEM;
}

int vss__xml_set_bool(xmlNodePtr node, const char *name, bool value)
{
	return vss__xml_set_str(node, name, value ? "yes" : "no");
}

int vss__xml_set_u64(xmlNodePtr node, const char *name, uint64_t value)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRIu64, value);
	return vss__xml_set_str(node, name, text);
}

int vss__xml_set_guid(xmlNodePtr node, const char *name, const struct vss_guid *value)
{
	char text[VSS_GUID_STRING_MAX];

	return vss__xml_set_str(node, name, vss_guid_format(value, 0, text));
}

int vss__xml_set_enum(xmlNodePtr node, const char *name, const struct vss__enum_word *table,
		      int value)
{
	const char *word = vss__enum_word(table, value);

	if (!word)
		return vss__error(-EINVAL, "%d is not a valid value for '%s'", value, name);
	return vss__xml_set_str(node, name, word);
}

int vss__xml_unexpected(xmlNodePtr node, const char *file)
{
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(node), 0,
			      "unexpected element <%s>%s%s%s", (const char *)node->name,
			      node->parent && node->parent->type == XML_ELEMENT_NODE ? " in <" : "",
			      node->parent && node->parent->type == XML_ELEMENT_NODE
				      ? (const char *)node->parent->name : "",
			      node->parent && node->parent->type == XML_ELEMENT_NODE ? ">" : "");
}

int vss__xml_save(xmlDocPtr doc, char **ret, size_t *ret_len)
{
	struct vss__xml_errors e;
	xmlBufferPtr buf = xmlBufferCreate();
	xmlSaveCtxtPtr save;
	char *text = NULL;
	int rc = 0;

	if (!buf)
		return vss__error(-ENOMEM, "out of memory");
	vss__xml_errors_begin(&e);
	save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT);
	if (!save || xmlSaveDoc(save, doc) < 0) {
		if (save)
			xmlSaveClose(save);
		vss__xml_errors_end(&e);
		rc = vss__error(-EINVAL, "cannot write the document: %s",
				e.seen ? e.message : "libxml2 failed");
		goto out;
	}
	xmlSaveClose(save);
	vss__xml_errors_end(&e);
	text = malloc((size_t)xmlBufferLength(buf) + 1);
	if (!text) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	memcpy(text, xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
	text[xmlBufferLength(buf)] = '\0';
	*ret = text;
	if (ret_len)
		*ret_len = (size_t)xmlBufferLength(buf);
out:
	xmlBufferFree(buf);
	return rc;
}

int vss__xml_line(xmlNodePtr node)
{
	long line = xmlGetLineNo(node);

	return line > 0 && line <= INT32_MAX ? (int)line : 0;
}

int vss__xml_check_attributes(xmlNodePtr node, const char *file, const char *const *allowed)
{
	for (xmlAttrPtr a = node->properties; a; a = a->next) {
		bool known = false;

		for (const char *const *p = allowed; *p && !a->ns; p++)
			known = known || xmlStrEqual(a->name, BAD_CAST *p);
		if (!known)
			return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(node), 0,
					      "<%s> has an unknown attribute '%s'",
					      (const char *)node->name, (const char *)a->name);
	}
	return 0;
}
