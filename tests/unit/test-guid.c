#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vss.h"
#include "util/banned.h"

static void test_guid__round_trip_braces_and_case(void **state)
{
	struct vss_guid g, back;
	char text[VSS_GUID_STRING_MAX];

	(void)state;
	for (int i = 0; i < 100; i++) {
		vss_guid_generate(&g);
		assert_false(vss_guid_is_null(&g));
		vss_guid_format(&g, VSS_GUID_BRACES, text);
		assert_int_equal(strlen(text), 38);
		assert_int_equal(text[0], '{');
		assert_int_equal(vss_guid_parse(text, &back), 0);
		assert_true(vss_guid_equal(&g, &back));
		vss_guid_format(&g, VSS_GUID_UPPER, text);
		assert_int_equal(strlen(text), 36);
		assert_int_equal(vss_guid_parse(text, &back), 0);
		assert_true(vss_guid_equal(&g, &back));
	}
}

static void test_guid__known_value(void **state)
{
	struct vss_guid g;
	char text[VSS_GUID_STRING_MAX];

	(void)state;
	assert_int_equal(vss_guid_parse("{B5946137-7B9F-4925-AF80-51ABD60B20D5}", &g), 0);
	assert_int_equal(g.bytes[0], 0xb5);
	assert_int_equal(g.bytes[15], 0xd5);
	assert_string_equal(vss_guid_format(&g, VSS_GUID_BRACES, text),
			    "{b5946137-7b9f-4925-af80-51abd60b20d5}");
}

static void test_guid__rejects(void **state)
{
	static const char *const bad[] = {
		"", "{", "{}", "b5946137-7b9f-4925-af80-51abd60b20d",
		"b5946137-7b9f-4925-af80-51abd60b20d5x", "{b5946137-7b9f-4925-af80-51abd60b20d5",
		"b5946137-7b9f-4925-af80-51abd60b20d5}", "b5946137x7b9f-4925-af80-51abd60b20d5",
		"g5946137-7b9f-4925-af80-51abd60b20d5", " b5946137-7b9f-4925-af80-51abd60b20d5",
		"b59461377b9f4925af8051abd60b20d50000", "{{b5946137-7b9f-4925-af80-51abd60b20d5}}",
	};
	struct vss_guid g, untouched;

	(void)state;
	memset(&untouched, 0xaa, sizeof(untouched));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		g = untouched;
		assert_int_equal(vss_guid_parse(bad[i], &g), -EINVAL);
		/* Outputs are never written on failure. */
		assert_memory_equal(&g, &untouched, sizeof(g));
		assert_non_null(strstr(vss_error_last()->message, "is not a GUID"));
	}
	assert_int_equal(vss_guid_parse(NULL, &g), -EINVAL);
}

static void test_guid__null(void **state)
{
	struct vss_guid g = { { 0 } }, h;

	(void)state;
	assert_true(vss_guid_is_null(&g));
	assert_int_equal(vss_guid_parse("00000000-0000-0000-0000-000000000000", &h), 0);
	assert_true(vss_guid_equal(&g, &h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid__round_trip_braces_and_case),
		cmocka_unit_test(test_guid__known_value),
		cmocka_unit_test(test_guid__rejects),
		cmocka_unit_test(test_guid__null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
