/*
 * Typed attributes of the metadata documents: yes/no, decimals, GUIDs,
 * enum words, and canonical saving.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vss-private.h"
#include "xml-attr.h"
#include "util/banned.h"

static const struct vss__enum_word colours[] = {
	{ 1, "red" }, { 2, "green" }, { 0, NULL },
};

static xmlNodePtr element(xmlDocPtr *doc, const char *text)
{
	assert_int_equal(vss__xml_parse(text, strlen(text), "t.xml", doc), 0);
	return xmlDocGetRootElement(*doc);
}

static void test_xml_attr__booleans(void **state)
{
	xmlDocPtr doc;
	xmlNodePtr e = element(&doc, "<E a=\"yes\" b=\"no\" c=\"true\"/>");
	bool v = false;

	(void)state;
	assert_int_equal(vss__xml_get_bool(e, "a", true, "t.xml", &v), 0);
	assert_true(v);
	assert_int_equal(vss__xml_get_bool(e, "b", true, "t.xml", &v), 0);
	assert_false(v);
	v = true;
	assert_int_equal(vss__xml_get_bool(e, "missing", false, "t.xml", &v), 0);
	assert_true(v);  /* the caller's default stands */
	assert_int_equal(vss__xml_get_bool(e, "c", true, "t.xml", &v), -VSS_E_INVALID_XML_DOCUMENT);
	assert_string_equal(vss_error_last()->message,
			    "t.xml:1: <E> attribute 'c': 'true' is not yes or no");
	assert_int_equal(vss_error_last()->line, 1);
	assert_int_equal(vss__xml_get_bool(e, "missing", true, "t.xml", &v),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_non_null(strstr(vss_error_last()->message, "<E> lacks its 'missing' attribute"));
	xmlFreeDoc(doc);
}

static void test_xml_attr__numbers_guids_enums(void **state)
{
	xmlDocPtr doc;
	xmlNodePtr e = element(&doc, "<E n=\"3855\" big=\"4294967296\" neg=\"-1\" "
				     "g=\"D61D61C8-D73A-4EEE-8CDD-F6F9786B7124\" bad=\"{x}\" "
				     "c=\"green\" d=\"blue\"/>");
	uint32_t n32 = 0;
	uint64_t n64 = 0;
	struct vss_guid g;
	char text[VSS_GUID_STRING_MAX];
	int c = 0;

	(void)state;
	assert_int_equal(vss__xml_get_u32(e, "n", true, "t.xml", &n32), 0);
	assert_int_equal(n32, 3855);
	assert_int_equal(vss__xml_get_u32(e, "big", true, "t.xml", &n32),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_int_equal(vss__xml_get_u64(e, "big", true, "t.xml", &n64), 0);
	assert_true(n64 == 4294967296u);
	assert_int_equal(vss__xml_get_u64(e, "neg", true, "t.xml", &n64),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_non_null(strstr(vss_error_last()->message, "'-1' is not a decimal number"));
	assert_int_equal(vss__xml_get_guid(e, "g", true, "t.xml", &g), 0);
	assert_string_equal(vss_guid_format(&g, 0, text), "d61d61c8-d73a-4eee-8cdd-f6f9786b7124");
	assert_int_equal(vss__xml_get_guid(e, "bad", true, "t.xml", &g),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_int_equal(vss__xml_get_enum(e, "c", true, "t.xml", colours, &c), 0);
	assert_int_equal(c, 2);
	assert_int_equal(vss__xml_get_enum(e, "d", true, "t.xml", colours, &c),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_non_null(strstr(vss_error_last()->message, "'blue' is not one of red, green"));
	assert_string_equal(vss__enum_word(colours, 1), "red");
	assert_null(vss__enum_word(colours, 3));
	xmlFreeDoc(doc);
}

static void test_xml_attr__save_is_canonical(void **state)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0"), again = NULL;
	xmlNodePtr root = xmlNewNode(NULL, BAD_CAST "ROOT"), child;
	struct vss_guid g;
	char *first = NULL, *second = NULL;
	size_t len1, len2;

	(void)state;
	xmlDocSetRootElement(doc, root);
	assert_int_equal(vss_guid_parse("{B5946137-7B9F-4925-AF80-51ABD60B20D5}", &g), 0);
	assert_int_equal(vss__xml_set_guid(root, "id", &g), 0);
	assert_int_equal(vss__xml_set_bool(root, "on", true), 0);
	assert_int_equal(vss__xml_set_u64(root, "n", 18446744073709551615u), 0);
	assert_int_equal(vss__xml_set_str(root, "skipped", NULL), 0);
	assert_int_equal(vss__xml_set_enum(root, "colour", colours, 1), 0);
	assert_int_equal(vss__xml_set_enum(root, "colour", colours, 9), -EINVAL);
	child = xmlNewChild(root, NULL, BAD_CAST "CHILD", NULL);
	assert_int_equal(vss__xml_set_str(child, "text", "a <&> \"b\" \xc3\xa9"), 0);
	assert_int_equal(vss__xml_save(doc, &first, &len1), 0);
	assert_string_equal(first,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ROOT id=\"b5946137-7b9f-4925-af80-51abd60b20d5\" on=\"yes\" "
		"n=\"18446744073709551615\" colour=\"red\">\n"
		"  <CHILD text=\"a &lt;&amp;&gt; &quot;b&quot; \xc3\xa9\"/>\n"
		"</ROOT>\n");
	assert_int_equal(strlen(first), len1);
	/* What was saved, loaded and saved again is the same text. */
	assert_int_equal(vss__xml_parse(first, len1, "t.xml", &again), 0);
	assert_int_equal(vss__xml_save(again, &second, &len2), 0);
	assert_int_equal(len1, len2);
	assert_memory_equal(first, second, len1);
	free(first);
	free(second);
	xmlFreeDoc(again);
	xmlFreeDoc(doc);
}

static void test_xml_attr__unexpected_names_parent(void **state)
{
	xmlDocPtr doc;
	xmlNodePtr e = element(&doc, "<ROOT>\n<ODD/>\n</ROOT>");

	(void)state;
	assert_int_equal(vss__xml_unexpected(xmlFirstElementChild(e), "t.xml"),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_string_equal(vss_error_last()->message, "t.xml:2: unexpected element <ODD> in <ROOT>");
	xmlFreeDoc(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_attr__booleans),
		cmocka_unit_test(test_xml_attr__numbers_guids_enums),
		cmocka_unit_test(test_xml_attr__save_is_canonical),
		cmocka_unit_test(test_xml_attr__unexpected_names_parent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
