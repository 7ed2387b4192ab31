#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vss-private.h"
#include "util/banned.h"

static void test_error__codes_mirror_hresults(void **state)
{
	(void)state;
	/* VSS_E_x == 5000 + (HRESULT & 0xfff) - 0x300 */
	assert_int_equal(VSS_E_BAD_STATE, 5000 + 0x301 - 0x300);
	assert_int_equal(VSS_E_OBJECT_NOT_FOUND, 5000 + 0x308 - 0x300);
	assert_int_equal(VSS_E_VOLUME_NOT_SUPPORTED, 5000 + 0x30c - 0x300);
	assert_int_equal(VSS_E_SNAPSHOT_SET_IN_PROGRESS, 5000 + 0x316 - 0x300);
	assert_int_equal(VSS_E_NOT_SUPPORTED, 5000 + 0x32f - 0x300);
	assert_int_equal(VSS_E_WRITERERROR_TIMEOUT, 5000 + 0x3f2 - 0x300);
	assert_int_equal(VSS_E_WRITER_STATUS_NOT_AVAILABLE, 5000 + 0x409 - 0x300);
}

static void test_error__names_and_texts(void **state)
{
	(void)state;
	assert_string_equal(vss_error_name(-VSS_E_OBJECT_NOT_FOUND), "VSS_E_OBJECT_NOT_FOUND");
	assert_string_equal(vss_error_name(VSS_E_OBJECT_NOT_FOUND), "VSS_E_OBJECT_NOT_FOUND");
	assert_string_equal(vss_error_name(-ENOENT), "ENOENT");
	assert_null(vss_error_name(-4999 - 300));
	assert_non_null(strstr(vss_strerror(-VSS_E_SNAPSHOT_SET_IN_PROGRESS),
			       "another shadow copy set is being created"));
	assert_string_equal(vss_strerror(-ENOENT), "No such file or directory");
	assert_string_equal(vss_strerror(0), "success");
	assert_non_null(strstr(vss_strerror(-5299), "unknown VSS error 5299"));
}

static void test_error__last_message_and_position(void **state)
{
	const struct vss_error *e;

	(void)state;
	vss_error_clear();
	e = vss_error_last();
	assert_int_equal(e->code, 0);
	assert_string_equal(e->message, "");
	assert_null(e->file);

	assert_int_equal(vss__error(-EINVAL, "'%s' is wrong", "x"), -EINVAL);
	e = vss_error_last();
	assert_int_equal(e->code, -EINVAL);
	assert_string_equal(e->message, "'x' is wrong");
	assert_null(e->file);
	vss__error_prefix("reading '%s'", "f");
	assert_string_equal(vss_error_last()->message, "reading 'f': 'x' is wrong");

	assert_int_equal(vss__error_at(-VSS_E_CORRUPT_XML_DOCUMENT, "a.xml", 3, 7, "bad"),
			 -VSS_E_CORRUPT_XML_DOCUMENT);
	e = vss_error_last();
	assert_string_equal(e->file, "a.xml");
	assert_int_equal(e->line, 3);
	assert_int_equal(e->column, 7);
	vss__error(-EIO, "again");
	assert_null(vss_error_last()->file);
	assert_int_equal(vss_error_last()->line, 0);
}

static void test_error__long_message_is_cut_not_overrun(void **state)
{
	char big[4000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vss__error(-EINVAL, "%s", big);
	assert_true(strlen(vss_error_last()->message) < sizeof(big));
	vss__error_prefix("%s", big);
	assert_true(strlen(vss_error_last()->message) < sizeof(big));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error__codes_mirror_hresults),
		cmocka_unit_test(test_error__names_and_texts),
		cmocka_unit_test(test_error__last_message_and_position),
		cmocka_unit_test(test_error__long_message_is_cut_not_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
