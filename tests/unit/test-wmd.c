/*
 * The Writer Metadata Document: building, every field through save and
 * load, the vocabularies, documents in the style Windows writes, the
 * rejection of bad documents (with code, line and the thing named), and the
 * read-only rule after Identify.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vss-private.h"
#include "vss/wmd.h"
#include "util/file.h"
#include "util/sbuf.h"
#include "util/banned.h"

#define WRITER_TEXT "{0f7b3a51-9a2e-4c1d-8e55-1d0c2b3a4f60}"
#define INST_TEXT   "{6e1f2d3c-4b5a-4968-8776-a5b4c3d2e1f0}"
#define OTHER_TEXT  "{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}"

static const unsigned char icon_bytes[] = { 0x00, 0x01, 0x02, 0xff, 0xfe };

static struct vss_guid guid(const char *text)
{
	struct vss_guid g;

	assert_int_equal(vss_guid_parse(text, &g), 0);
	return g;
}

/* A document using every element and attribute. */
static struct vss_wmd *full_wmd(void)
{
	struct vss_wmd *w = vss_wmd_new();
	struct vss_wmd_component *web, *db;
	struct vss_guid writer = guid(WRITER_TEXT), inst = guid(INST_TEXT), other = guid(OTHER_TEXT);

	assert_non_null(w);
	assert_int_equal(vss_wmd_set_writer_id(w, &writer), 0);
	assert_int_equal(vss_wmd_set_instance_id(w, &inst), 0);
	assert_int_equal(vss_wmd_set_instance_name(w, "instance <1> & \"two\""), 0);
	assert_int_equal(vss_wmd_set_friendly_name(w, "Full writer \xc3\xa9t\xc3\xa9"), 0);
	assert_int_equal(vss_wmd_set_usage_type(w, VSS_UT_USERDATA), 0);
	assert_int_equal(vss_wmd_set_source_type(w, VSS_ST_NONTRANSACTEDDB), 0);
	assert_int_equal(vss_wmd_set_version(w, 3, 4294967295u), 0);
	assert_int_equal(vss_wmd_set_backup_schema(w, 0xf7ffu), 0);
	assert_int_equal(vss_wmd_set_restore_method(w, VSS_RME_STOP_RESTORE_START,
						    "postgresql.service", "see the runbook\nstep 2",
						    VSS_WRE_IF_REPLACE_FAILS, true), 0);
	assert_int_equal(vss_wmd_add_alternate_location_mapping(w, "/srv/www", "*", true,
								"/srv/restore/www"), 0);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_FILEGROUP, "Apps\\Web", "static", &web), 0);
	assert_int_equal(vss_wmd_component_set_caption(web, "Static\nfiles\t& more"), 0);
	assert_int_equal(vss_wmd_component_set_icon(web, icon_bytes, sizeof(icon_bytes)), 0);
	assert_int_equal(vss_wmd_component_set_restore_metadata(web, true), 0);
	assert_int_equal(vss_wmd_component_set_notify_on_backup_complete(web, true), 0);
	assert_int_equal(vss_wmd_component_set_selectable(web, true), 0);
	assert_int_equal(vss_wmd_component_set_selectable_for_restore(web, true), 0);
	assert_int_equal(vss_wmd_component_set_flags(web, VSS_CF_BACKUP_RECOVERY |
						     VSS_CF_APP_ROLLBACK_RECOVERY |
						     VSS_CF_NOT_SYSTEM_STATE), 0);
	assert_int_equal(vss_wmd_component_add_file(web, "/srv/www", "*", true, "/mnt/alt/www",
						    VSS_FSBT_DEFAULT), 0);
	assert_int_equal(vss_wmd_component_add_file(web, "/srv/www/conf", "*.conf", false, NULL,
						    VSS_FSBT_FULL_BACKUP_REQUIRED |
						    VSS_FSBT_CREATED_DURING_BACKUP), 0);
	assert_int_equal(vss_wmd_component_add_dependency(web, &other, "SQLHOST01", "Sales"), 0);
	/* On this writer: resolved against the component added next. */
	assert_int_equal(vss_wmd_component_add_dependency(web, &writer, NULL, "catalog"), 0);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_DATABASE, "", "catalog", &db), 0);
	assert_int_equal(vss_wmd_component_add_database_file(db, "/var/lib/db", "data.db",
							     VSS_FSBT_DEFAULT), 0);
	assert_int_equal(vss_wmd_component_add_database_file(db, "/var/lib/db", "index.db",
							     VSS_FSBT_ALL_SNAPSHOT_REQUIRED), 0);
	assert_int_equal(vss_wmd_component_add_database_log_file(db, "/var/lib/db/wal", "*.wal",
								 VSS_FSBT_LOG_BACKUP_REQUIRED), 0);
	assert_int_equal(vss_wmd_add_exclude_files(w, "/srv/www/cache", "*", true), 0);
	assert_int_equal(vss_wmd_add_exclude_files_from_snapshot(w, "/var/lib/db", "*.tmp",
								 false), 0);
	return w;
}

static void assert_same_string(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_same_filespec(const struct vss_wmd_filespec *a,
				 const struct vss_wmd_filespec *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_same_string(vss_wmd_filespec_get_path(a), vss_wmd_filespec_get_path(b));
	assert_same_string(vss_wmd_filespec_get_filespec(a), vss_wmd_filespec_get_filespec(b));
	assert_int_equal(vss_wmd_filespec_get_recursive(a), vss_wmd_filespec_get_recursive(b));
	assert_same_string(vss_wmd_filespec_get_destination(a),
			   vss_wmd_filespec_get_destination(b));
}

static void assert_same_file(const struct vss_wmd_file *a, const struct vss_wmd_file *b)
{
	assert_non_null(a);
	assert_non_null(b);
	assert_same_string(vss_wmd_file_get_path(a), vss_wmd_file_get_path(b));
	assert_same_string(vss_wmd_file_get_filespec(a), vss_wmd_file_get_filespec(b));
	assert_int_equal(vss_wmd_file_get_recursive(a), vss_wmd_file_get_recursive(b));
	assert_same_string(vss_wmd_file_get_alternate_location(a),
			   vss_wmd_file_get_alternate_location(b));
	assert_int_equal(vss_wmd_file_get_backup_type_mask(a), vss_wmd_file_get_backup_type_mask(b));
}

static void assert_same_component(const struct vss_wmd_component *a,
				  const struct vss_wmd_component *b)
{
	const void *ia, *ib;
	size_t la, lb;

	assert_int_equal(vss_wmd_component_get_type(a), vss_wmd_component_get_type(b));
	assert_same_string(vss_wmd_component_get_logical_path(a),
			   vss_wmd_component_get_logical_path(b));
	assert_same_string(vss_wmd_component_get_name(a), vss_wmd_component_get_name(b));
	assert_same_string(vss_wmd_component_get_caption(a), vss_wmd_component_get_caption(b));
	ia = vss_wmd_component_get_icon(a, &la);
	ib = vss_wmd_component_get_icon(b, &lb);
	assert_int_equal(la, lb);
	if (la)
		assert_memory_equal(ia, ib, la);
	else
		assert_true(!ia && !ib);
	assert_int_equal(vss_wmd_component_get_restore_metadata(a),
			 vss_wmd_component_get_restore_metadata(b));
	assert_int_equal(vss_wmd_component_get_notify_on_backup_complete(a),
			 vss_wmd_component_get_notify_on_backup_complete(b));
	assert_int_equal(vss_wmd_component_get_selectable(a), vss_wmd_component_get_selectable(b));
	assert_int_equal(vss_wmd_component_get_selectable_for_restore(a),
			 vss_wmd_component_get_selectable_for_restore(b));
	assert_int_equal(vss_wmd_component_get_flags(a), vss_wmd_component_get_flags(b));
	assert_int_equal(vss_wmd_component_file_count(a), vss_wmd_component_file_count(b));
	for (size_t i = 0; i < vss_wmd_component_file_count(a); i++)
		assert_same_file(vss_wmd_component_file_at(a, i), vss_wmd_component_file_at(b, i));
	assert_int_equal(vss_wmd_component_database_file_count(a),
			 vss_wmd_component_database_file_count(b));
	for (size_t i = 0; i < vss_wmd_component_database_file_count(a); i++)
		assert_same_file(vss_wmd_component_database_file_at(a, i),
				 vss_wmd_component_database_file_at(b, i));
	assert_int_equal(vss_wmd_component_database_log_file_count(a),
			 vss_wmd_component_database_log_file_count(b));
	for (size_t i = 0; i < vss_wmd_component_database_log_file_count(a); i++)
		assert_same_file(vss_wmd_component_database_log_file_at(a, i),
				 vss_wmd_component_database_log_file_at(b, i));
	assert_int_equal(vss_wmd_component_dependency_count(a),
			 vss_wmd_component_dependency_count(b));
	for (size_t i = 0; i < vss_wmd_component_dependency_count(a); i++) {
		const struct vss_wmd_dependency *da = vss_wmd_component_dependency_at(a, i);
		const struct vss_wmd_dependency *db = vss_wmd_component_dependency_at(b, i);

		assert_true(vss_guid_equal(vss_wmd_dependency_get_writer_id(da),
					   vss_wmd_dependency_get_writer_id(db)));
		assert_same_string(vss_wmd_dependency_get_logical_path(da),
				   vss_wmd_dependency_get_logical_path(db));
		assert_same_string(vss_wmd_dependency_get_component_name(da),
				   vss_wmd_dependency_get_component_name(db));
	}
}

static void assert_same_wmd(const struct vss_wmd *a, const struct vss_wmd *b)
{
	assert_true(vss_guid_equal(vss_wmd_get_writer_id(a), vss_wmd_get_writer_id(b)));
	assert_true(vss_guid_equal(vss_wmd_get_instance_id(a), vss_wmd_get_instance_id(b)));
	assert_same_string(vss_wmd_get_instance_name(a), vss_wmd_get_instance_name(b));
	assert_same_string(vss_wmd_get_friendly_name(a), vss_wmd_get_friendly_name(b));
	assert_int_equal(vss_wmd_get_usage_type(a), vss_wmd_get_usage_type(b));
	assert_int_equal(vss_wmd_get_source_type(a), vss_wmd_get_source_type(b));
	assert_int_equal(vss_wmd_get_major_version(a), vss_wmd_get_major_version(b));
	assert_int_equal(vss_wmd_get_minor_version(a), vss_wmd_get_minor_version(b));
	assert_int_equal(vss_wmd_get_backup_schema(a), vss_wmd_get_backup_schema(b));
	assert_int_equal(vss_wmd_has_restore_method(a), vss_wmd_has_restore_method(b));
	assert_int_equal(vss_wmd_get_restore_method(a), vss_wmd_get_restore_method(b));
	assert_same_string(vss_wmd_get_restore_service(a), vss_wmd_get_restore_service(b));
	assert_same_string(vss_wmd_get_restore_user_procedure(a),
			   vss_wmd_get_restore_user_procedure(b));
	assert_int_equal(vss_wmd_get_writer_restore(a), vss_wmd_get_writer_restore(b));
	assert_int_equal(vss_wmd_get_reboot_required(a), vss_wmd_get_reboot_required(b));
	assert_int_equal(vss_wmd_alternate_location_mapping_count(a),
			 vss_wmd_alternate_location_mapping_count(b));
	for (size_t i = 0; i < vss_wmd_alternate_location_mapping_count(a); i++)
		assert_same_filespec(vss_wmd_alternate_location_mapping_at(a, i),
				     vss_wmd_alternate_location_mapping_at(b, i));
	assert_int_equal(vss_wmd_component_count(a), vss_wmd_component_count(b));
	for (size_t i = 0; i < vss_wmd_component_count(a); i++)
		assert_same_component(vss_wmd_component_at(a, i), vss_wmd_component_at(b, i));
	assert_int_equal(vss_wmd_exclude_files_count(a), vss_wmd_exclude_files_count(b));
	for (size_t i = 0; i < vss_wmd_exclude_files_count(a); i++)
		assert_same_filespec(vss_wmd_exclude_files_at(a, i), vss_wmd_exclude_files_at(b, i));
	assert_int_equal(vss_wmd_exclude_files_from_snapshot_count(a),
			 vss_wmd_exclude_files_from_snapshot_count(b));
	for (size_t i = 0; i < vss_wmd_exclude_files_from_snapshot_count(a); i++)
		assert_same_filespec(vss_wmd_exclude_files_from_snapshot_at(a, i),
				     vss_wmd_exclude_files_from_snapshot_at(b, i));
}

/* A file of tests/data (tests/run sets VSS_TOP; else the current directory). */
static char *read_data(const char *name, size_t *ret_len)
{
	const char *top = getenv("VSS_TOP");
	struct sbuf path = SBUF_INIT;
	char *data = NULL;

	assert_int_equal(sbuf_addf(&path, "%s/tests/data/%s", top ? top : ".", name), 0);
	if (file_read_all(sbuf_str(&path), &data, ret_len) < 0)
		fail_msg("cannot read %s (run from the top of the tree or set VSS_TOP)",
			 sbuf_str(&path));
	sbuf_release(&path);
	return data;
}

static struct vss_wmd *load_data(const char *name)
{
	struct vss_wmd *w = NULL;
	size_t len;
	char *xml = read_data(name, &len);
	int rc = vss_wmd_load(xml, len, name, &w);

	if (rc < 0)
		fail_msg("%s: %s", name, vss_error_last()->message);
	free(xml);
	return w;
}

/* load -> save -> load -> save: the two saves are the same bytes. */
static void assert_stable(const char *xml, size_t len)
{
	struct vss_wmd *a = NULL, *b = NULL;
	char *s1 = NULL, *s2 = NULL;
	size_t l1, l2;

	assert_int_equal(vss_wmd_load(xml, len, "in.xml", &a), 0);
	assert_int_equal(vss_wmd_save(a, &s1, &l1), 0);
	assert_int_equal(vss_wmd_load(s1, l1, "s1.xml", &b), 0);
	assert_same_wmd(a, b);
	assert_int_equal(vss_wmd_save(b, &s2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	free(s2);
	free(s1);
	vss_wmd_unref(b);
	vss_wmd_unref(a);
}

/* ---- round trips ------------------------------------------------------ */

static void test_wmd__round_trip_every_field(void **state)
{
	struct vss_wmd *built = full_wmd(), *loaded = NULL;
	char *s1 = NULL, *s2 = NULL, *sample;
	size_t l1, l2, ls;

	(void)state;
	assert_int_equal(vss_wmd_save(built, &s1, &l1), 0);
	assert_int_equal(strlen(s1), l1);
	assert_int_equal(vss_wmd_load(s1, l1, "full.xml", &loaded), 0);
	assert_same_wmd(built, loaded);
	assert_int_equal(vss_wmd_save(loaded, &s2, &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	/* The canonical form is an interface: it is kept in tests/data. */
	sample = read_data("wmd-full.xml", &ls);
	assert_int_equal(ls, l1);
	assert_memory_equal(sample, s1, l1);
	/* Spot checks that the getters are not all trivially equal. */
	assert_string_equal(vss_wmd_get_instance_name(loaded), "instance <1> & \"two\"");
	assert_int_equal(vss_wmd_get_minor_version(loaded), 4294967295u);
	assert_string_equal(vss_wmd_component_get_caption(vss_wmd_component_at(loaded, 0)),
			    "Static\nfiles\t& more");
	assert_null(vss_wmd_component_get_logical_path(vss_wmd_component_at(loaded, 1)));
	assert_non_null(strstr(s1, "writerId=\"0f7b3a51-9a2e-4c1d-8e55-1d0c2b3a4f60\""));
	assert_non_null(strstr(s1, "icon=\"AAEC//4=\""));
	free(sample);
	free(s2);
	free(s1);
	vss_wmd_unref(loaded);
	vss_wmd_unref(built);
}

static void test_wmd__minimal_document(void **state)
{
	struct vss_wmd *w = vss_wmd_new(), *l = NULL;
	char *s = NULL;
	size_t len;

	(void)state;
	assert_non_null(w);
	assert_false(vss_wmd_is_read_only(w));
	assert_string_equal(vss_wmd_get_friendly_name(w), "");
	assert_false(vss_guid_is_null(vss_wmd_get_instance_id(w)));
	assert_int_equal(vss_wmd_save(w, &s, &len), 0);
	assert_null(strstr(s, "RESTORE_METHOD"));
	assert_null(strstr(s, "backupSchema"));
	assert_int_equal(vss_wmd_load(s, len, "min.xml", &l), 0);
	assert_same_wmd(w, l);
	assert_false(vss_wmd_has_restore_method(l));
	assert_int_equal(vss_wmd_component_count(l), 0);
	assert_null(vss_wmd_component_at(l, 0));
	assert_null(vss_wmd_exclude_files_at(l, 0));
	assert_stable(s, len);
	free(s);
	vss_wmd_unref(l);
	vss_wmd_unref(w);
}

/* ---- vocabularies ------------------------------------------------------ */

struct word {
	int value;
	const char *word;
};

static const struct word usages[] = {
	{ VSS_UT_UNDEFINED, "UNDEFINED" }, { VSS_UT_BOOTABLESYSTEMSTATE, "BOOTABLE_SYSTEM_STATE" },
	{ VSS_UT_SYSTEMSERVICE, "SYSTEM_SERVICE" }, { VSS_UT_USERDATA, "USER_DATA" },
	{ VSS_UT_OTHER, "OTHER" },
};
static const struct word sources[] = {
	{ VSS_ST_UNDEFINED, "UNDEFINED" }, { VSS_ST_TRANSACTEDDB, "TRANSACTION_DB" },
	{ VSS_ST_NONTRANSACTEDDB, "NONTRANSACTION_DB" }, { VSS_ST_OTHER, "OTHER" },
};
static const struct word methods[] = {
	{ VSS_RME_UNDEFINED, "UNDEFINED" },
	{ VSS_RME_RESTORE_IF_NOT_THERE, "RESTORE_IF_NOT_THERE" },
	{ VSS_RME_RESTORE_IF_CAN_REPLACE, "RESTORE_IF_CAN_BE_REPLACED" },
	{ VSS_RME_STOP_RESTORE_START, "STOP_RESTORE_START" },
	{ VSS_RME_RESTORE_TO_ALTERNATE_LOCATION, "RESTORE_TO_ALTERNATE_LOCATION" },
	{ VSS_RME_RESTORE_AT_REBOOT, "REPLACE_AT_REBOOT" },
	{ VSS_RME_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE, "REPLACE_AT_REBOOT_IF_CANNOT_REPLACE" },
	{ VSS_RME_CUSTOM, "CUSTOM" },
	{ VSS_RME_RESTORE_STOP_START, "RESTORE_STOP_START" },
};
static const struct word writer_restores[] = {
	{ VSS_WRE_UNDEFINED, "undefined" }, { VSS_WRE_NEVER, "never" },
	{ VSS_WRE_IF_REPLACE_FAILS, "ifReplaceFails" }, { VSS_WRE_ALWAYS, "always" },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Save w, check that attr="word" is in the text, load it back. */
static struct vss_wmd *through_xml(struct vss_wmd *w, const char *attr, const char *word)
{
	struct vss_wmd *l = NULL;
	char want[128], *s = NULL;
	size_t len;

	snprintf(want, sizeof(want), " %s=\"%s\"", attr, word);
	assert_int_equal(vss_wmd_save(w, &s, &len), 0);
	if (!strstr(s, want))
		fail_msg("%s not in:\n%s", want, s);
	assert_int_equal(vss_wmd_load(s, len, "enum.xml", &l), 0);
	free(s);
	return l;
}

static void test_wmd__every_enum_value_parses_and_prints(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(usages); i++) {
		struct vss_wmd *w = vss_wmd_new(), *l;

		assert_string_equal(vss_usage_type_name(usages[i].value), usages[i].word);
		assert_int_equal(vss_wmd_set_usage_type(w, usages[i].value), 0);
		l = through_xml(w, "usage", usages[i].word);
		assert_int_equal(vss_wmd_get_usage_type(l), usages[i].value);
		vss_wmd_unref(l);
		vss_wmd_unref(w);
	}
	for (size_t i = 0; i < N(sources); i++) {
		struct vss_wmd *w = vss_wmd_new(), *l;

		assert_string_equal(vss_source_type_name(sources[i].value), sources[i].word);
		assert_int_equal(vss_wmd_set_source_type(w, sources[i].value), 0);
		l = through_xml(w, "dataSource", sources[i].word);
		assert_int_equal(vss_wmd_get_source_type(l), sources[i].value);
		vss_wmd_unref(l);
		vss_wmd_unref(w);
	}
	for (size_t i = 0; i < N(methods); i++) {
		for (size_t j = 0; j < N(writer_restores); j++) {
			struct vss_wmd *w = vss_wmd_new(), *l;

			assert_string_equal(vss_restore_method_name(methods[i].value),
					    methods[i].word);
			assert_string_equal(vss_writer_restore_name(writer_restores[j].value),
					    writer_restores[j].word);
			assert_int_equal(vss_wmd_set_restore_method(w, methods[i].value, NULL, NULL,
								    writer_restores[j].value,
								    false), 0);
			l = through_xml(w, "method", methods[i].word);
			vss_wmd_unref(l);
			l = through_xml(w, "writerRestore", writer_restores[j].word);
			assert_true(vss_wmd_has_restore_method(l));
			assert_int_equal(vss_wmd_get_restore_method(l), methods[i].value);
			assert_int_equal(vss_wmd_get_writer_restore(l), writer_restores[j].value);
			vss_wmd_unref(l);
			vss_wmd_unref(w);
		}
	}
	/* Component types are element names. */
	for (int t = VSS_CT_DATABASE; t <= VSS_CT_FILEGROUP; t++) {
		struct vss_wmd *w = vss_wmd_new(), *l;

		assert_int_equal(vss_wmd_add_component(w, t, NULL, "c", NULL), 0);
		l = through_xml(w, "componentName", "c");
		assert_int_equal(vss_wmd_component_get_type(vss_wmd_component_at(l, 0)), t);
		vss_wmd_unref(l);
		vss_wmd_unref(w);
	}
	assert_null(vss_usage_type_name(5));
	assert_null(vss_source_type_name(4));
	assert_null(vss_restore_method_name(9));
	assert_null(vss_writer_restore_name(-1));
}

/* ---- documents from Windows ---------------------------------------------- */

static void test_wmd__windows_task_scheduler(void **state)
{
	struct vss_wmd *w = load_data("wmd-task-scheduler.xml");
	const struct vss_wmd_component *c;
	const struct vss_wmd_file *f;
	char text[VSS_GUID_STRING_MAX], *s = NULL, *xml;
	size_t len;

	(void)state;
	assert_true(vss_wmd_is_read_only(w));
	assert_string_equal(vss_guid_format(vss_wmd_get_writer_id(w), 0, text),
			    "d61d61c8-d73a-4eee-8cdd-f6f9786b7124");
	assert_string_equal(vss_guid_format(vss_wmd_get_instance_id(w), 0, text),
			    "1bddd48e-5052-49db-9b07-b96f96727e6b");
	assert_null(vss_wmd_get_instance_name(w));
	assert_string_equal(vss_wmd_get_friendly_name(w), "Task Scheduler Writer");
	assert_int_equal(vss_wmd_get_usage_type(w), VSS_UT_BOOTABLESYSTEMSTATE);
	assert_int_equal(vss_wmd_get_source_type(w), VSS_ST_OTHER);
	assert_int_equal(vss_wmd_get_backup_schema(w), 0);
	assert_true(vss_wmd_has_restore_method(w));
	assert_int_equal(vss_wmd_get_restore_method(w), VSS_RME_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE);
	assert_int_equal(vss_wmd_get_writer_restore(w), VSS_WRE_NEVER);
	assert_false(vss_wmd_get_reboot_required(w));
	assert_int_equal(vss_wmd_component_count(w), 1);
	c = vss_wmd_component_at(w, 0);
	assert_int_equal(vss_wmd_component_get_type(c), VSS_CT_FILEGROUP);
	assert_null(vss_wmd_component_get_logical_path(c));
	assert_string_equal(vss_wmd_component_get_name(c), "TasksStore");
	assert_string_equal(vss_wmd_component_get_caption(c), "Tasks Store");
	assert_ptr_equal(vss_wmd_find_component(w, "", "TasksStore"), c);
	assert_false(vss_wmd_component_get_selectable(c));
	assert_int_equal(vss_wmd_component_get_flags(c), 0);
	assert_int_equal(vss_wmd_component_file_count(c), 2);
	f = vss_wmd_component_file_at(c, 0);
	assert_string_equal(vss_wmd_file_get_path(f), "%WinDir%\\System32\\Tasks");
	assert_string_equal(vss_wmd_file_get_filespec(f), "*");
	assert_true(vss_wmd_file_get_recursive(f));
	assert_null(vss_wmd_file_get_alternate_location(f));
	assert_int_equal(vss_wmd_file_get_backup_type_mask(f), 3855);
	f = vss_wmd_component_file_at(c, 1);
	assert_string_equal(vss_wmd_file_get_path(f), "%WinDir%\\Tasks");
	assert_int_equal(vss_wmd_component_database_file_count(c), 0);
	assert_int_equal(vss_wmd_component_dependency_count(c), 0);
	/* Written back with lower-case GUIDs. */
	assert_int_equal(vss_wmd_save(w, &s, &len), 0);
	assert_non_null(strstr(s, "writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b7124\""));
	xml = read_data("wmd-task-scheduler.xml", &len);
	assert_stable(xml, len);
	free(xml);
	free(s);
	vss_wmd_unref(w);
}

static void test_wmd__windows_sql_server(void **state)
{
	struct vss_wmd *w = load_data("wmd-sql-server.xml");
	const struct vss_wmd_component *master, *sales;
	const struct vss_wmd_filespec *fs;
	char *xml;
	size_t len;

	(void)state;
	assert_string_equal(vss_wmd_get_instance_name(w), "Microsoft SQL Server 2017:SQLWriter");
	assert_string_equal(vss_wmd_get_friendly_name(w), "SqlServerWriter");
	assert_int_equal(vss_wmd_get_usage_type(w), VSS_UT_USERDATA);
	assert_int_equal(vss_wmd_get_source_type(w), VSS_ST_TRANSACTEDDB);
	assert_int_equal(vss_wmd_get_major_version(w), 1);
	assert_int_equal(vss_wmd_get_backup_schema(w), 881);
	/* RESTORE_METHOD came after BACKUP_LOCATIONS. */
	assert_int_equal(vss_wmd_get_restore_method(w), VSS_RME_RESTORE_IF_CAN_REPLACE);
	assert_int_equal(vss_wmd_get_writer_restore(w), VSS_WRE_ALWAYS);
	assert_int_equal(vss_wmd_component_count(w), 2);
	master = vss_wmd_find_component(w, "SQLHOST01", "master");
	sales = vss_wmd_find_component(w, "SQLHOST01", "Sales");
	assert_ptr_equal(master, vss_wmd_component_at(w, 0));
	assert_ptr_equal(sales, vss_wmd_component_at(w, 1));
	assert_null(vss_wmd_find_component(w, NULL, "Sales"));
	assert_int_equal(vss_wmd_component_get_type(master), VSS_CT_DATABASE);
	assert_null(vss_wmd_component_get_caption(master));  /* caption="" */
	assert_string_equal(vss_wmd_component_get_caption(sales), "Sales database");
	assert_true(vss_wmd_component_get_selectable(sales));
	assert_true(vss_wmd_component_get_selectable_for_restore(sales));
	assert_true(vss_wmd_component_get_notify_on_backup_complete(sales));
	assert_int_equal(vss_wmd_component_get_flags(sales), VSS_CF_APP_ROLLBACK_RECOVERY);
	assert_int_equal(vss_wmd_component_file_count(sales), 0);
	assert_int_equal(vss_wmd_component_database_file_count(master), 1);
	assert_int_equal(vss_wmd_component_database_log_file_count(master), 1);
	assert_string_equal(vss_wmd_file_get_filespec(vss_wmd_component_database_log_file_at(master, 0)),
			    "mastlog.ldf");
	assert_int_equal(vss_wmd_component_database_file_count(sales), 2);
	assert_int_equal(vss_wmd_component_database_log_file_count(sales), 1);
	assert_string_equal(vss_wmd_file_get_filespec(vss_wmd_component_database_file_at(sales, 1)),
			    "Sales_2.ndf");
	assert_string_equal(vss_wmd_file_get_path(vss_wmd_component_database_log_file_at(sales, 0)),
			    "L:\\SQLLogs");
	assert_false(vss_wmd_file_get_recursive(vss_wmd_component_database_file_at(sales, 0)));
	/* EXCLUDE_FILES sat between the components. */
	assert_int_equal(vss_wmd_exclude_files_count(w), 1);
	fs = vss_wmd_exclude_files_at(w, 0);
	assert_string_equal(vss_wmd_filespec_get_filespec(fs), "*.trc");
	assert_false(vss_wmd_filespec_get_recursive(fs));
	assert_null(vss_wmd_filespec_get_destination(fs));
	assert_int_equal(vss_wmd_exclude_files_from_snapshot_count(w), 1);
	fs = vss_wmd_exclude_files_from_snapshot_at(w, 0);
	assert_string_equal(vss_wmd_filespec_get_path(fs), "\\System Volume Information\\SQLTemp");
	assert_true(vss_wmd_filespec_get_recursive(fs));
	xml = read_data("wmd-sql-server.xml", &len);
	assert_stable(xml, len);
	free(xml);
	vss_wmd_unref(w);
}

static void test_wmd__windows_variants_load(void **state)
{
	static const char *const docs[] = {
		/* No RESTORE_METHOD (BITS writer), braces-free lower-case GUIDs, a
		 * comment, recursive omitted, filespecBackupType omitted. */
		"<WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" version=\"1.2\">"
		"<!-- captured -->"
		"<IDENTIFICATION writerId=\"4969d978-be47-48b0-b100-f328f07ac1e0\" "
		"instanceId=\"4969d978-be47-48b0-b100-f328f07ac1e0\" friendlyName=\"BITS Writer\" "
		"usage=\"SYSTEM_SERVICE\" dataSource=\"OTHER\" majorVersion=\"0\" minorVersion=\"0\"/>"
		"<BACKUP_LOCATIONS><EXCLUDE_FILES path=\"C:\\ProgramData\\Microsoft\\Network\\Downloader\" "
		"filespec=\"qmgr*.dat\"/><FILE_GROUP componentName=\"x\"><FILE_LIST path=\"p\" filespec=\"f\"/>"
		"</FILE_GROUP></BACKUP_LOCATIONS></WRITER_METADATA>",
		/* Version 1.0, an encoding declaration, no BACKUP_LOCATIONS. */
		"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
		"<WRITER_METADATA version=\"1.0\" xmlns=\"x-schema:#VssWriterMetadataInfo\">"
		"<IDENTIFICATION friendlyName=\"caf\xe9\" usage=\"OTHER\" dataSource=\"OTHER\" "
		"writerId=\"{D61D61C8-D73A-4EEE-8CDD-F6F9786B7124}\"/></WRITER_METADATA>",
	};

	(void)state;
	for (size_t i = 0; i < N(docs); i++) {
		struct vss_wmd *w = NULL;

		if (vss_wmd_load(docs[i], strlen(docs[i]), "win.xml", &w) < 0)
			fail_msg("doc %zu: %s", i, vss_error_last()->message);
		if (i == 0) {
			const struct vss_wmd_file *f =
				vss_wmd_component_file_at(vss_wmd_component_at(w, 0), 0);

			assert_false(vss_wmd_has_restore_method(w));
			assert_false(vss_wmd_file_get_recursive(f));
			assert_int_equal(vss_wmd_file_get_backup_type_mask(f), VSS_FSBT_DEFAULT);
		} else {
			assert_string_equal(vss_wmd_get_friendly_name(w), "caf\xc3\xa9");
			assert_true(vss_guid_is_null(vss_wmd_get_instance_id(w)));
		}
		assert_stable(docs[i], strlen(docs[i]));
		vss_wmd_unref(w);
	}
}

/* ---- bad documents ---------------------------------------------------------- */

#define HEAD "<WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" version=\"1.2\">\n"
#define IDENT "<IDENTIFICATION writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b7124\" " \
	      "friendlyName=\"w\" usage=\"OTHER\" dataSource=\"OTHER\"/>\n"
#define TAIL "</WRITER_METADATA>\n"
#define IN_LOCATIONS(x) HEAD IDENT "<BACKUP_LOCATIONS>\n" x "</BACKUP_LOCATIONS>\n" TAIL
#define FG(attrs, body) "<FILE_GROUP componentName=\"c\" " attrs ">\n" body "</FILE_GROUP>\n"

static const struct bad_doc {
	const char *what;
	const char *xml;
	int code;
	int line;
	const char *says;  /* in the message, after "bad.xml:LINE" */
} bad_docs[] = {
	{ "not XML", "<WRITER_METADATA", -VSS_E_CORRUPT_XML_DOCUMENT, 1, "" },
	{ "empty", "", -VSS_E_CORRUPT_XML_DOCUMENT, 1, "empty" },
	{ "wrong root",
	  "<?xml version=\"1.0\"?>\n<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" "
	  "version=\"1.2\"/>\n", -VSS_E_INVALID_XML_DOCUMENT, 2, "root element is <BACKUP_COMPONENTS>" },
	{ "no namespace", "<WRITER_METADATA version=\"1.2\">\n" IDENT TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 1, "without namespace" },
	{ "bad version", "<WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" "
	  "version=\"2.0\">\n" IDENT TAIL, -VSS_E_INVALID_XML_DOCUMENT, 1, "'version': '2.0'" },
	{ "no identification", HEAD "<BACKUP_LOCATIONS/>\n" TAIL, -VSS_E_INVALID_XML_DOCUMENT, 1,
	  "no <IDENTIFICATION>" },
	{ "identification twice", HEAD IDENT IDENT TAIL, -VSS_E_INVALID_XML_DOCUMENT, 3,
	  "<IDENTIFICATION> appears twice" },
	{ "unknown element at the top", HEAD IDENT "<SOMETHING/>\n" TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 3, "unexpected element <SOMETHING> in <WRITER_METADATA>" },
	{ "unknown element in a component", IN_LOCATIONS(FG("", "<FILE_LISTS path=\"a\" filespec=\"b\"/>\n")),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "unexpected element <FILE_LISTS> in <FILE_GROUP>" },
	{ "element of another namespace", IN_LOCATIONS("<FILE_GROUP xmlns=\"urn:x\" componentName=\"c\"/>\n"),
	  -VSS_E_INVALID_XML_DOCUMENT, 4, "unexpected element <FILE_GROUP>" },
	{ "unknown attribute", HEAD "<IDENTIFICATION writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b7124\" "
	  "friendlyName=\"w\" usage=\"OTHER\" dataSource=\"OTHER\" colour=\"red\"/>\n" TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "<IDENTIFICATION> has an unknown attribute 'colour'" },
	{ "bad GUID", HEAD "<IDENTIFICATION writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b712\" "
	  "friendlyName=\"w\" usage=\"OTHER\" dataSource=\"OTHER\"/>\n" TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "<IDENTIFICATION> attribute 'writerId'" },
	{ "bad GUID in a dependency", IN_LOCATIONS(FG("", "<DEPENDENCY writerId=\"nope\" componentName=\"x\"/>\n")),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<DEPENDENCY> attribute 'writerId': 'nope' is not a GUID" },
	{ "bad enum word", HEAD "<IDENTIFICATION writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b7124\" "
	  "friendlyName=\"w\" usage=\"USERDATA\" dataSource=\"OTHER\"/>\n" TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "<IDENTIFICATION> attribute 'usage': 'USERDATA' is not one of" },
	{ "bad restore method", HEAD IDENT "<RESTORE_METHOD method=\"RESTORE_IF_CAN_REPLACE\" "
	  "writerRestore=\"never\"/>\n" TAIL, -VSS_E_INVALID_XML_DOCUMENT, 3,
	  "<RESTORE_METHOD> attribute 'method'" },
	{ "bad writer restore word (case)", HEAD IDENT "<RESTORE_METHOD method=\"CUSTOM\" "
	  "writerRestore=\"Never\"/>\n" TAIL, -VSS_E_INVALID_XML_DOCUMENT, 3,
	  "<RESTORE_METHOD> attribute 'writerRestore': 'Never'" },
	{ "bad boolean", IN_LOCATIONS(FG("selectable=\"true\"", "")), -VSS_E_INVALID_XML_DOCUMENT, 4,
	  "<FILE_GROUP> attribute 'selectable': 'true' is not yes or no" },
	{ "bad boolean in a file list", IN_LOCATIONS(FG("", "<FILE_LIST path=\"a\" filespec=\"b\" recursive=\"1\"/>\n")),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<FILE_LIST> attribute 'recursive': '1'" },
	{ "bad number", IN_LOCATIONS(FG("componentFlags=\"0x2\"", "")), -VSS_E_INVALID_XML_DOCUMENT, 4,
	  "<FILE_GROUP> attribute 'componentFlags': '0x2' is not a decimal number" },
	{ "negative mask", IN_LOCATIONS(FG("", "<FILE_LIST path=\"a\" filespec=\"b\" filespecBackupType=\"-1\"/>\n")),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<FILE_LIST> attribute 'filespecBackupType': '-1'" },
	{ "number too large", HEAD "<IDENTIFICATION writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b7124\" "
	  "friendlyName=\"w\" usage=\"OTHER\" dataSource=\"OTHER\" majorVersion=\"4294967296\"/>\n" TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "'majorVersion': '4294967296' is larger" },
	{ "bad backup schema", "<WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" "
	  "version=\"1.2\" backupSchema=\"881 \">\n" IDENT TAIL, -VSS_E_INVALID_XML_DOCUMENT, 1,
	  "<WRITER_METADATA> attribute 'backupSchema'" },
	{ "duplicate component", IN_LOCATIONS(FG("logicalPath=\"a\"", "") FG("logicalPath=\"a\"", "")),
	  -VSS_E_INVALID_XML_DOCUMENT, 6, "<FILE_GROUP> repeats component 'a\\c' of line 4" },
	{ "duplicate component across types", IN_LOCATIONS(FG("", "")
	  "<DATABASE componentName=\"c\" logicalPath=\"\"/>\n"),
	  -VSS_E_INVALID_XML_DOCUMENT, 6, "<DATABASE> repeats component 'c' of line 4" },
	{ "empty component name", IN_LOCATIONS("<DATABASE componentName=\"\"/>\n"),
	  -VSS_E_INVALID_XML_DOCUMENT, 4, "<DATABASE> attribute 'componentName' is empty" },
	{ "missing component name", IN_LOCATIONS("<DATABASE logicalPath=\"x\"/>\n"),
	  -VSS_E_INVALID_XML_DOCUMENT, 4, "<DATABASE> lacks its 'componentName' attribute" },
	{ "dependency on an unknown component of the same writer",
	  IN_LOCATIONS(FG("", "<DEPENDENCY writerId=\"D61D61C8-D73A-4EEE-8CDD-F6F9786B7124\" "
			  "logicalPath=\"x\" componentName=\"c\"/>\n")),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<DEPENDENCY> of component 'c' names component 'x\\c' of its own writer" },
	{ "database files in a file group",
	  IN_LOCATIONS(FG("", "<DATABASE_FILES path=\"a\" filespec=\"b\"/>\n")),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<DATABASE_FILES> belongs in a <DATABASE>, not in a <FILE_GROUP>" },
	{ "database log files in a file group",
	  IN_LOCATIONS(FG("", "<DATABASE_LOGFILES path=\"a\" filespec=\"b\"/>\n")),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<DATABASE_LOGFILES> belongs in a <DATABASE>" },
	{ "file list in a database",
	  IN_LOCATIONS("<DATABASE componentName=\"d\">\n<FILE_LIST path=\"a\" filespec=\"b\"/>\n</DATABASE>\n"),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<FILE_LIST> belongs in a <FILE_GROUP>, not in a <DATABASE>" },
	{ "recursive database files",
	  IN_LOCATIONS("<DATABASE componentName=\"d\">\n<DATABASE_FILES path=\"a\" filespec=\"b\" recursive=\"no\"/>\n</DATABASE>\n"),
	  -VSS_E_INVALID_XML_DOCUMENT, 5, "<DATABASE_FILES> has an unknown attribute 'recursive'" },
	{ "mapping without destination",
	  HEAD IDENT "<RESTORE_METHOD method=\"CUSTOM\" writerRestore=\"never\">\n"
	  "<ALTERNATE_LOCATION_MAPPING path=\"a\" filespec=\"b\"/>\n</RESTORE_METHOD>\n" TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 4, "<ALTERNATE_LOCATION_MAPPING> lacks its 'destination' attribute" },
	{ "bad icon", IN_LOCATIONS(FG("icon=\"AAE\"", "")), -VSS_E_INVALID_XML_DOCUMENT, 4,
	  "<FILE_GROUP> attribute 'icon'" },
	{ "icon with stray bits", IN_LOCATIONS(FG("icon=\"AAF=\"", "")), -VSS_E_INVALID_XML_DOCUMENT, 4,
	  "<FILE_GROUP> attribute 'icon'" },
	{ "text where none belongs (schema)", HEAD IDENT "<BACKUP_LOCATIONS>\n"
	  "<EXCLUDE_FILES path=\"a\" filespec=\"b\">text</EXCLUDE_FILES>\n</BACKUP_LOCATIONS>\n" TAIL,
	  -VSS_E_INVALID_XML_DOCUMENT, 4, "EXCLUDE_FILES" },
};

static void test_wmd__rejects_bad_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bad_docs); i++) {
		const struct bad_doc *b = &bad_docs[i];
		struct vss_wmd *w = NULL;
		char where[64];
		int rc = vss_wmd_load(b->xml, strlen(b->xml), "bad.xml", &w);
		const struct vss_error *e = vss_error_last();

		if (rc != b->code || e->line != b->line || !strstr(e->message, b->says))
			fail_msg("%s: got %d (%s) line %d: '%s'; want %d line %d saying '%s'",
				 b->what, rc, vss_error_name(rc), e->line, e->message, b->code,
				 b->line, b->says);
		snprintf(where, sizeof(where), "bad.xml:%d", b->line);
		if (strncmp(e->message, where, strlen(where)) != 0)
			fail_msg("%s: message '%s' does not start with '%s'", b->what, e->message,
				 where);
		assert_string_equal(e->file, "bad.xml");
		assert_null(w);
	}
}

/*
 * Entities: refused, never expanded.  Which check of the parser stops them
 * depends on the libxml2 version (its amplification guard, or our refusal of
 * any DOCTYPE), so either code is accepted; the point is that loading fails
 * at once and nothing from the entities (or /etc/passwd) comes out.
 */
static const struct bad_doc entity_docs[] = {
	{ "billion laughs",
	  "<?xml version=\"1.0\"?>\n"
	  "<!DOCTYPE WRITER_METADATA [\n"
	  " <!ENTITY a \"laugh\">\n"
	  " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
	  " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
	  " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
	  " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
	  " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
	  " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
	  " <!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
	  " <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
	  "]>\n"
	  HEAD "<IDENTIFICATION writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b7124\" "
	  "friendlyName=\"&i;\" usage=\"OTHER\" dataSource=\"OTHER\"/>\n" TAIL,
	  0, 0, "" },
	{ "external entity (XXE)",
	  "<?xml version=\"1.0\"?>\n"
	  "<!DOCTYPE WRITER_METADATA [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
	  HEAD "<IDENTIFICATION writerId=\"d61d61c8-d73a-4eee-8cdd-f6f9786b7124\" "
	  "friendlyName=\"w\" usage=\"OTHER\" dataSource=\"OTHER\"/>\n"
	  "<BACKUP_LOCATIONS><FILE_GROUP componentName=\"c\" caption=\"&xxe;\"/></BACKUP_LOCATIONS>\n" TAIL,
	  0, 0, "" },
};

static void test_wmd__entities_refused_not_expanded(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(entity_docs); i++) {
		struct vss_wmd *w = NULL;
		int rc = vss_wmd_load(entity_docs[i].xml, strlen(entity_docs[i].xml), "bad.xml", &w);
		const char *msg = vss_error_last()->message;

		if (rc != -VSS_E_INVALID_XML_DOCUMENT && rc != -VSS_E_CORRUPT_XML_DOCUMENT)
			fail_msg("%s: got %d: %s", entity_docs[i].what, rc, msg);
		if (!strstr(msg, "DOCTYPE") && !strstr(msg, "entity"))
			fail_msg("%s: message does not say why: %s", entity_docs[i].what, msg);
		assert_int_equal(strncmp(msg, "bad.xml:", 8), 0);
		assert_true(vss_error_last()->line > 0);
		assert_null(strstr(msg, "laugh"));
		assert_null(strstr(msg, "root:"));
		assert_null(w);
	}
}

static void test_wmd__libxml2_prints_nothing(void **state)
{
	char path[] = "/tmp/test-wmd-stderr-XXXXXX";
	struct stat st;
	int fd, saved;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	for (size_t i = 0; i < N(bad_docs); i++) {
		struct vss_wmd *w = NULL;

		vss_wmd_load(bad_docs[i].xml, strlen(bad_docs[i].xml), "bad.xml", &w);
		vss_wmd_unref(w);
	}
	for (size_t i = 0; i < N(entity_docs); i++) {
		struct vss_wmd *w = NULL;

		vss_wmd_load(entity_docs[i].xml, strlen(entity_docs[i].xml), "bad.xml", &w);
		vss_wmd_unref(w);
	}
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	assert_int_equal(st.st_size, 0);
}

static void test_wmd__bounded_size_and_depth(void **state)
{
	struct sbuf deep = SBUF_INIT;
	struct vss_wmd *w = NULL;

	(void)state;
	/* The length is checked before a byte is read. */
	assert_int_equal(vss_wmd_load("<", ((size_t)256 << 20) + 1, "huge.xml", &w),
			 -VSS_E_CORRUPT_XML_DOCUMENT);
	assert_non_null(strstr(vss_error_last()->message, "too large"));
	assert_int_equal(sbuf_adds(&deep, HEAD IDENT "<BACKUP_LOCATIONS>"), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(sbuf_adds(&deep, "<FILE_GROUP componentName=\"c\">"), 0);
	assert_int_equal(vss_wmd_load(deep.data, deep.len, "deep.xml", &w),
			 -VSS_E_CORRUPT_XML_DOCUMENT);
	assert_null(w);
	sbuf_release(&deep);
}

/* ---- building and the life cycle ---------------------------------------------- */

static void test_wmd__add_rules(void **state)
{
	struct vss_wmd *w = vss_wmd_new();
	struct vss_wmd_component *fg = NULL, *db = NULL, *again = NULL;
	struct vss_guid g = guid(OTHER_TEXT);

	(void)state;
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_FILEGROUP, NULL, "c", &fg), 0);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_FILEGROUP, "", "c", &again),
			 -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_non_null(strstr(vss_error_last()->message, "'c'"));
	assert_null(again);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_DATABASE, NULL, "c", NULL),
			 -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_DATABASE, "x\\y", "c", &db), 0);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_DATABASE, "x\\y", "c", NULL),
			 -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_non_null(strstr(vss_error_last()->message, "'x\\y\\c'"));
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_UNDEFINED, NULL, "u", NULL), -EINVAL);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_FILEGROUP, NULL, "", NULL), -EINVAL);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_FILEGROUP, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(vss_wmd_component_count(w), 2);

	assert_int_equal(vss_wmd_component_add_database_file(fg, "/a", "b", VSS_FSBT_DEFAULT), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "is a file group"));
	assert_int_equal(vss_wmd_component_add_database_log_file(fg, "/a", "b", 0), -EINVAL);
	assert_int_equal(vss_wmd_component_add_file(db, "/a", "b", false, NULL, 0), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "is a database"));
	assert_int_equal(vss_wmd_component_add_file(fg, NULL, "b", false, NULL, 0), -EINVAL);
	assert_int_equal(vss_wmd_component_add_file(fg, "/a", NULL, false, NULL, 0), -EINVAL);
	assert_int_equal(vss_wmd_component_file_count(fg), 0);
	assert_int_equal(vss_wmd_component_database_file_count(db), 0);
	assert_int_equal(vss_wmd_component_add_dependency(fg, NULL, NULL, "x"), -EINVAL);
	assert_int_equal(vss_wmd_component_add_dependency(fg, &g, NULL, ""), -EINVAL);

	assert_int_equal(vss_wmd_set_usage_type(w, 5), -EINVAL);
	assert_int_equal(vss_wmd_set_source_type(w, -1), -EINVAL);
	assert_int_equal(vss_wmd_set_restore_method(w, 9, NULL, NULL, VSS_WRE_NEVER, false), -EINVAL);
	assert_int_equal(vss_wmd_set_restore_method(w, VSS_RME_CUSTOM, NULL, NULL, 4, false), -EINVAL);
	assert_false(vss_wmd_has_restore_method(w));
	assert_int_equal(vss_wmd_add_alternate_location_mapping(w, "/a", "*", false, "/b"), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "restore method first"));
	assert_int_equal(vss_wmd_set_friendly_name(w, NULL), -EINVAL);
	assert_int_equal(vss_wmd_add_exclude_files(w, NULL, "*", false), -EINVAL);

	/* Empty optional text is none. */
	assert_int_equal(vss_wmd_set_instance_name(w, ""), 0);
	assert_null(vss_wmd_get_instance_name(w));
	assert_int_equal(vss_wmd_component_set_caption(fg, ""), 0);
	assert_null(vss_wmd_component_get_caption(fg));
	assert_int_equal(vss_wmd_component_set_icon(fg, icon_bytes, 0), 0);
	assert_null(vss_wmd_component_get_icon(fg, NULL));
	vss_wmd_unref(w);
}

/* Every edit of w fails with -VSS_E_BAD_STATE naming the rule. */
static void assert_all_edits_refused(struct vss_wmd *w)
{
	struct vss_wmd_component *c = vss_wmd_component_at(w, 0);
	struct vss_guid g = guid(OTHER_TEXT);
	int rcs[26], n = 0;

	assert_non_null(c);
	rcs[n++] = vss_wmd_set_writer_id(w, &g);
	rcs[n++] = vss_wmd_set_instance_id(w, &g);
	rcs[n++] = vss_wmd_set_instance_name(w, "x");
	rcs[n++] = vss_wmd_set_friendly_name(w, "x");
	rcs[n++] = vss_wmd_set_usage_type(w, VSS_UT_OTHER);
	rcs[n++] = vss_wmd_set_source_type(w, VSS_ST_OTHER);
	rcs[n++] = vss_wmd_set_version(w, 9, 9);
	rcs[n++] = vss_wmd_set_backup_schema(w, 1);
	rcs[n++] = vss_wmd_set_restore_method(w, VSS_RME_CUSTOM, NULL, NULL, VSS_WRE_NEVER, false);
	rcs[n++] = vss_wmd_add_alternate_location_mapping(w, "/a", "*", false, "/b");
	rcs[n++] = vss_wmd_add_exclude_files(w, "/a", "*", false);
	rcs[n++] = vss_wmd_add_exclude_files_from_snapshot(w, "/a", "*", false);
	rcs[n++] = vss_wmd_add_component(w, VSS_CT_FILEGROUP, NULL, "new", NULL);
	rcs[n++] = vss_wmd_component_set_caption(c, "x");
	rcs[n++] = vss_wmd_component_set_icon(c, "x", 1);
	rcs[n++] = vss_wmd_component_set_restore_metadata(c, true);
	rcs[n++] = vss_wmd_component_set_notify_on_backup_complete(c, true);
	rcs[n++] = vss_wmd_component_set_selectable(c, true);
	rcs[n++] = vss_wmd_component_set_selectable_for_restore(c, true);
	rcs[n++] = vss_wmd_component_set_flags(c, 1);
	rcs[n++] = vss_wmd_component_add_file(c, "/a", "*", false, NULL, 0);
	rcs[n++] = vss_wmd_component_add_database_file(c, "/a", "*", 0);
	rcs[n++] = vss_wmd_component_add_database_log_file(c, "/a", "*", 0);
	rcs[n++] = vss_wmd_component_add_dependency(c, &g, NULL, "x");
	for (int i = 0; i < n; i++)
		if (rcs[i] != -VSS_E_BAD_STATE)
			fail_msg("edit %d returned %d, not -VSS_E_BAD_STATE", i, rcs[i]);
	assert_non_null(strstr(vss_error_last()->message,
			       "the writer metadata document is read-only after Identify"));
}

static void test_wmd__read_only_after_freeze(void **state)
{
	struct vss_wmd *w = full_wmd();
	char *before = NULL, *after = NULL;
	size_t lb, la;

	(void)state;
	assert_int_equal(vss_wmd_save(w, &before, &lb), 0);
	assert_int_equal(vss_wmd_freeze(w), 0);
	assert_true(vss_wmd_is_read_only(w));
	assert_int_equal(vss_wmd_freeze(w), 0);
	assert_all_edits_refused(w);
	assert_non_null(strstr(vss_error_last()->message, "vss_wmd_freeze"));
	assert_int_equal(vss_wmd_save(w, &after, &la), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(before, after, la);
	free(after);
	free(before);
	vss_wmd_unref(w);
}

static void test_wmd__loaded_document_is_read_only(void **state)
{
	struct vss_wmd *w = load_data("wmd-sql-server.xml");

	(void)state;
	assert_true(vss_wmd_is_read_only(w));
	assert_all_edits_refused(w);
	assert_non_null(strstr(vss_error_last()->message, "loaded"));
	assert_int_equal(vss_wmd_freeze(w), 0);
	assert_int_equal(vss_wmd_component_count(w), 2);
	vss_wmd_unref(w);
}

static void test_wmd__freeze_checks_own_dependencies(void **state)
{
	struct vss_wmd *w = vss_wmd_new();
	struct vss_guid me = guid(WRITER_TEXT), other = guid(OTHER_TEXT);
	struct vss_wmd_component *c;

	(void)state;
	assert_int_equal(vss_wmd_set_writer_id(w, &me), 0);
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_FILEGROUP, "a", "b", &c), 0);
	/* Another writer's components are not ours to check. */
	assert_int_equal(vss_wmd_component_add_dependency(c, &other, "x", "y"), 0);
	assert_int_equal(vss_wmd_component_add_dependency(c, &me, "a", "logs"), 0);
	assert_int_equal(vss_wmd_freeze(w), -VSS_E_INVALID_XML_DOCUMENT);
	assert_non_null(strstr(vss_error_last()->message, "'a\\logs'"));
	assert_false(vss_wmd_is_read_only(w));
	assert_int_equal(vss_wmd_add_component(w, VSS_CT_DATABASE, "a", "logs", NULL), 0);
	assert_int_equal(vss_wmd_freeze(w), 0);
	assert_true(vss_wmd_is_read_only(w));
	vss_wmd_unref(w);
}

static void test_wmd__refcount(void **state)
{
	struct vss_wmd *w = vss_wmd_new();

	(void)state;
	assert_ptr_equal(vss_wmd_ref(w), w);
	assert_null(vss_wmd_unref(w));
	assert_int_equal(vss_wmd_set_friendly_name(w, "still alive"), 0);
	assert_null(vss_wmd_unref(w));
	assert_null(vss_wmd_unref(NULL));
	assert_null(vss_wmd_ref(NULL));
}

static void test_wmd__files(void **state)
{
	char dir[] = "/tmp/test-wmd-XXXXXX";
	struct vss_wmd *w = full_wmd(), *l = NULL;
	struct sbuf path = SBUF_INIT, missing = SBUF_INIT;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sbuf_addf(&path, "%s/writer.xml", dir), 0);
	assert_int_equal(sbuf_addf(&missing, "%s/none.xml", dir), 0);
	assert_int_equal(vss_wmd_save_file(w, sbuf_str(&path)), 0);
	assert_int_equal(stat(sbuf_str(&path), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(vss_wmd_load_file(sbuf_str(&path), &l), 0);
	assert_same_wmd(w, l);
	vss_wmd_unref(l);
	l = NULL;
	assert_int_equal(vss_wmd_load_file(sbuf_str(&missing), &l), -ENOENT);
	assert_non_null(strstr(vss_error_last()->message, "none.xml"));
	assert_null(l);
	assert_int_equal(vss_wmd_save_file(w, dir), -EISDIR);
	assert_int_equal(unlink(sbuf_str(&path)), 0);
	assert_int_equal(rmdir(dir), 0);
	sbuf_release(&missing);
	sbuf_release(&path);
	vss_wmd_unref(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wmd__round_trip_every_field),
		cmocka_unit_test(test_wmd__minimal_document),
		cmocka_unit_test(test_wmd__every_enum_value_parses_and_prints),
		cmocka_unit_test(test_wmd__windows_task_scheduler),
		cmocka_unit_test(test_wmd__windows_sql_server),
		cmocka_unit_test(test_wmd__windows_variants_load),
		cmocka_unit_test(test_wmd__rejects_bad_documents),
		cmocka_unit_test(test_wmd__entities_refused_not_expanded),
		cmocka_unit_test(test_wmd__libxml2_prints_nothing),
		cmocka_unit_test(test_wmd__bounded_size_and_depth),
		cmocka_unit_test(test_wmd__add_rules),
		cmocka_unit_test(test_wmd__read_only_after_freeze),
		cmocka_unit_test(test_wmd__loaded_document_is_read_only),
		cmocka_unit_test(test_wmd__freeze_checks_own_dependencies),
		cmocka_unit_test(test_wmd__refcount),
		cmocka_unit_test(test_wmd__files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
