/*
 * The Backup Components Document: every field through the API and back
 * through its XML, the Windows documents, the rejections, the life cycle.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "vss.h"
#include "vss/bcd.h"
#include "util/file.h"
#include "util/sbuf.h"
#include "util/banned.h"

#define SET_TEXT  "4ad2e8b1-faf2-4aca-a010-2c3f939cef62"
#define SNAP1     "b5946137-7b9f-4925-af80-51abd60b20d5"
#define SNAP2     "cdf70d69-615e-4c56-9359-c9ca584f0d3e"
#define INST1     "1bddd48e-5052-49db-9b07-b96f96727e6b"
#define CLASS1    "d61d61c8-d73a-4eee-8cdd-f6f9786b7124"
#define INST2     "dd8d6255-b3bb-4ec1-8249-73cd75c0ee21"
#define CLASS2    "a65faa63-5ea8-4ebc-9dbd-a0c4db26912a"

static struct vss_guid guid(const char *text)
{
	struct vss_guid g;

	assert_int_equal(vss_guid_parse(text, &g), 0);
	return g;
}

static char *data_path(const char *name)
{
	const char *top = getenv("VSS_TOP");
	struct sbuf sb = SBUF_INIT;

	assert_int_equal(sbuf_addf(&sb, "%s/tests/data/%s", top ? top : ".", name), 0);
	return sbuf_detach(&sb);
}

static char *read_data(const char *name, size_t *ret_len)
{
	char *path = data_path(name), *text = NULL;

	if (file_read_all(path, &text, ret_len) < 0)
		fail_msg("cannot read %s (run from the top of the tree or set VSS_TOP)", path);
	free(path);
	return text;
}

/* Every element and attribute, with text that needs escaping. */
static struct vss_bcd *full_document(void)
{
	struct vss_guid set = guid(SET_TEXT), s1 = guid(SNAP1), s2 = guid(SNAP2);
	struct vss_guid i1 = guid(INST1), c1 = guid(CLASS1), i2 = guid(INST2), c2 = guid(CLASS2);
	struct vss_bcd *bcd = vss_bcd_new(&set);
	struct vss_bcd_writer *w1, *w2;
	struct vss_bcd_component *a, *b, *root;

	assert_non_null(bcd);
	assert_int_equal(vss_bcd_set_backup_state(bcd, true, true, VSS_BT_DIFFERENTIAL, true), 0);
	assert_int_equal(vss_bcd_set_restore_type(bcd, VSS_RTYPE_IMPORT), 0);
	assert_int_equal(vss_bcd_add_snapshot_id(bcd, &s1), 0);
	assert_int_equal(vss_bcd_add_snapshot_id(bcd, &s2), 0);
	assert_int_equal(vss_bcd_add_writer(bcd, &i1, &c1, NULL, 0, &w1), 0);
	assert_int_equal(vss_bcd_add_writer(bcd, &i2, &c2, "SQL \"2017\" <main> & co", 881, &w2), 0);
	assert_int_equal(vss_bcd_writer_add_component(w1, VSS_CT_FILEGROUP, NULL, "TasksStore",
						      &root), 0);
	assert_int_equal(vss_bcd_writer_add_component(w2, VSS_CT_DATABASE, "server\\inst", "db1", &a),
			 0);
	assert_int_equal(vss_bcd_writer_add_component(w2, VSS_CT_FILEGROUP, "server\\inst", "files",
						      &b), 0);
	(void)root;

	assert_int_equal(vss_bcd_component_set_caption(a, "Database\nwith a newline"), 0);
	assert_int_equal(vss_bcd_component_set_backup_stamp(a, "CAAAAMQv3+t4udUB"), 0);
	assert_int_equal(vss_bcd_component_set_previous_backup_stamp(a, "CAAAAMQv3+t4udUA"), 0);
	assert_int_equal(vss_bcd_component_set_backup_options(a, "\"Option\"=\"Value\"\t"), 0);
	assert_int_equal(vss_bcd_component_set_backup_metadata(a, "BCAAAFRBUEUAAAMAjAAOAQ=="), 0);
	assert_int_equal(vss_bcd_component_set_backup_succeeded(a, true), 0);
	assert_int_equal(vss_bcd_component_set_selected_for_restore(a, true), 0);
	assert_int_equal(vss_bcd_component_set_additional_restores(a, true), 0);
	assert_int_equal(vss_bcd_component_set_restore_options(a,
		"\"Child1\":\"Roll Forward\"=\"Partial:12\",\"New Component Name\"=\"a\\b\""), 0);
	assert_int_equal(vss_bcd_component_set_restore_target(a, VSS_RT_DIRECTED), 0);
	assert_int_equal(vss_bcd_component_set_restore_metadata(a, "r\xc3\xa9store <meta>"), 0);
	assert_int_equal(vss_bcd_component_set_pre_restore_failure_msg(a, "pre failed: 'x'"), 0);
	assert_int_equal(vss_bcd_component_set_post_restore_failure_msg(a, "post failed\r\n"), 0);
	assert_int_equal(vss_bcd_component_set_file_restore_status(a, VSS_RS_FAILED), 0);
	assert_int_equal(vss_bcd_component_add_partial_file(a, "/srv/db", "db1.mdf",
							    "64:448,0x1239E8577A:65536", "meta"), 0);
	assert_int_equal(vss_bcd_component_add_partial_file(a, "/srv/db", "db1.ndf",
							    "/srv/db/ranges.bin", NULL), 0);
	assert_int_equal(vss_bcd_component_add_differenced_file(a, "/srv/db/log", "*.log", true,
								UINT64_C(1705673361123456789)), 0);
	assert_int_equal(vss_bcd_component_add_differenced_file(a, "/srv/db", "x", false, 0), 0);
	assert_int_equal(vss_bcd_component_add_new_target(a, "/srv/db", "db1.mdf", false,
							  "/restore/db"), 0);
	assert_int_equal(vss_bcd_component_add_alternate_location_mapping(a, "/srv/db", "*", true,
									  "/alt/db"), 0);
	assert_int_equal(vss_bcd_component_add_directed_target(a, "/srv/db", "db1.mdf", "0:4096",
							       "/new/db", "db1.mdf", "4096:4096"), 0);
	assert_int_equal(vss_bcd_component_add_directed_target(a, "/srv/db", "db2.mdf", NULL,
							       "/new/db", "db2.mdf", NULL), 0);
	assert_int_equal(vss_bcd_component_add_restore_subcomponent(a, "server\\inst\\db1", "part",
								    true), 0);
	assert_int_equal(vss_bcd_component_add_restore_subcomponent(a, NULL, "top", false), 0);
	assert_int_equal(vss_bcd_component_set_restore_target(b, VSS_RT_ORIGINAL_LOCATION), 0);
	assert_int_equal(vss_bcd_component_set_file_restore_status(b, VSS_RS_ALL), 0);
	assert_int_equal(vss_bcd_set_backup_complete(bcd), 0);
	return bcd;
}

/* Everything full_document() set, read through the getters. */
static void check_full_document(const struct vss_bcd *bcd)
{
	struct vss_guid set = guid(SET_TEXT), s1 = guid(SNAP1), s2 = guid(SNAP2);
	struct vss_guid i1 = guid(INST1), c1 = guid(CLASS1), i2 = guid(INST2), c2 = guid(CLASS2);
	const struct vss_bcd_partial_file *pf;
	const struct vss_bcd_differenced_file *df;
	const struct vss_bcd_new_target *nt;
	const struct vss_bcd_alternate_location_mapping *m;
	const struct vss_bcd_directed_target *dt;
	const struct vss_bcd_restore_subcomponent *sc;
	struct vss_bcd_writer *w1, *w2;
	struct vss_bcd_component *a, *b, *root;

	assert_true(vss_guid_equal(vss_bcd_get_snapshot_set_id(bcd), &set));
	assert_true(vss_bcd_get_select_components(bcd));
	assert_true(vss_bcd_get_bootable_system_state(bcd));
	assert_int_equal(vss_bcd_get_backup_type(bcd), VSS_BT_DIFFERENTIAL);
	assert_true(vss_bcd_get_partial_file_support(bcd));
	assert_int_equal(vss_bcd_get_restore_type(bcd), VSS_RTYPE_IMPORT);
	assert_true(vss_bcd_is_backup_complete(bcd));
	assert_int_equal(vss_bcd_snapshot_id_count(bcd), 2);
	assert_true(vss_guid_equal(vss_bcd_snapshot_id_at(bcd, 0), &s1));
	assert_true(vss_guid_equal(vss_bcd_snapshot_id_at(bcd, 1), &s2));
	assert_null(vss_bcd_snapshot_id_at(bcd, 2));

	assert_int_equal(vss_bcd_writer_count(bcd), 2);
	w1 = vss_bcd_writer_at(bcd, 0);
	w2 = vss_bcd_writer_at(bcd, 1);
	assert_null(vss_bcd_writer_at(bcd, 2));
	assert_ptr_equal(vss_bcd_find_writer(bcd, &i2), w2);
	assert_true(vss_guid_equal(vss_bcd_writer_get_instance_id(w1), &i1));
	assert_true(vss_guid_equal(vss_bcd_writer_get_writer_id(w1), &c1));
	assert_null(vss_bcd_writer_get_instance_name(w1));
	assert_int_equal(vss_bcd_writer_get_backup_schema(w1), 0);
	assert_true(vss_guid_equal(vss_bcd_writer_get_writer_id(w2), &c2));
	assert_string_equal(vss_bcd_writer_get_instance_name(w2), "SQL \"2017\" <main> & co");
	assert_int_equal(vss_bcd_writer_get_backup_schema(w2), 881);

	assert_int_equal(vss_bcd_writer_component_count(w1), 1);
	root = vss_bcd_writer_component_at(w1, 0);
	assert_ptr_equal(vss_bcd_writer_find_component(w1, "", "TasksStore"), root);
	assert_null(vss_bcd_component_get_logical_path(root));
	assert_int_equal(vss_bcd_component_get_type(root), VSS_CT_FILEGROUP);
	assert_null(vss_bcd_component_get_backup_stamp(root));
	assert_false(vss_bcd_component_get_backup_succeeded(root));
	assert_int_equal(vss_bcd_component_get_restore_target(root), VSS_RT_ORIGINAL);
	assert_int_equal(vss_bcd_component_get_file_restore_status(root), VSS_RS_UNDEFINED);

	assert_int_equal(vss_bcd_writer_component_count(w2), 2);
	a = vss_bcd_writer_component_at(w2, 0);
	b = vss_bcd_writer_component_at(w2, 1);
	assert_null(vss_bcd_writer_component_at(w2, 2));
	assert_ptr_equal(vss_bcd_writer_find_component(w2, "server\\inst", "files"), b);
	assert_null(vss_bcd_writer_find_component(w2, NULL, "files"));
	assert_int_equal(vss_bcd_component_get_type(a), VSS_CT_DATABASE);
	assert_string_equal(vss_bcd_component_get_logical_path(a), "server\\inst");
	assert_string_equal(vss_bcd_component_get_name(a), "db1");
	assert_string_equal(vss_bcd_component_get_caption(a), "Database\nwith a newline");
	assert_string_equal(vss_bcd_component_get_backup_stamp(a), "CAAAAMQv3+t4udUB");
	assert_string_equal(vss_bcd_component_get_previous_backup_stamp(a), "CAAAAMQv3+t4udUA");
	assert_string_equal(vss_bcd_component_get_backup_options(a), "\"Option\"=\"Value\"\t");
	assert_string_equal(vss_bcd_component_get_backup_metadata(a), "BCAAAFRBUEUAAAMAjAAOAQ==");
	assert_true(vss_bcd_component_get_backup_succeeded(a));
	assert_true(vss_bcd_component_get_selected_for_restore(a));
	assert_true(vss_bcd_component_get_additional_restores(a));
	assert_string_equal(vss_bcd_component_get_restore_options(a),
		"\"Child1\":\"Roll Forward\"=\"Partial:12\",\"New Component Name\"=\"a\\b\"");
	assert_int_equal(vss_bcd_component_get_restore_target(a), VSS_RT_DIRECTED);
	assert_string_equal(vss_bcd_component_get_restore_metadata(a), "r\xc3\xa9store <meta>");
	assert_string_equal(vss_bcd_component_get_pre_restore_failure_msg(a), "pre failed: 'x'");
	assert_string_equal(vss_bcd_component_get_post_restore_failure_msg(a), "post failed\r\n");
	assert_int_equal(vss_bcd_component_get_file_restore_status(a), VSS_RS_FAILED);

	assert_int_equal(vss_bcd_component_partial_file_count(a), 2);
	pf = vss_bcd_component_partial_file_at(a, 0);
	assert_string_equal(pf->path, "/srv/db");
	assert_string_equal(pf->filename, "db1.mdf");
	assert_string_equal(pf->ranges, "64:448,0x1239E8577A:65536");
	assert_string_equal(pf->metadata, "meta");
	pf = vss_bcd_component_partial_file_at(a, 1);
	assert_string_equal(pf->ranges, "/srv/db/ranges.bin");
	assert_null(pf->metadata);
	assert_null(vss_bcd_component_partial_file_at(a, 2));

	assert_int_equal(vss_bcd_component_differenced_file_count(a), 2);
	df = vss_bcd_component_differenced_file_at(a, 0);
	assert_string_equal(df->path, "/srv/db/log");
	assert_string_equal(df->filespec, "*.log");
	assert_true(df->recursive);
	assert_true(df->last_modify_time == UINT64_C(1705673361123456789));
	df = vss_bcd_component_differenced_file_at(a, 1);
	assert_false(df->recursive);
	assert_true(df->last_modify_time == 0);

	assert_int_equal(vss_bcd_component_new_target_count(a), 1);
	nt = vss_bcd_component_new_target_at(a, 0);
	assert_string_equal(nt->path, "/srv/db");
	assert_string_equal(nt->filename, "db1.mdf");
	assert_false(nt->recursive);
	assert_string_equal(nt->alternate_path, "/restore/db");

	assert_int_equal(vss_bcd_component_alternate_location_mapping_count(a), 1);
	m = vss_bcd_component_alternate_location_mapping_at(a, 0);
	assert_string_equal(m->path, "/srv/db");
	assert_string_equal(m->filespec, "*");
	assert_true(m->recursive);
	assert_string_equal(m->destination, "/alt/db");

	assert_int_equal(vss_bcd_component_directed_target_count(a), 2);
	dt = vss_bcd_component_directed_target_at(a, 0);
	assert_string_equal(dt->source_path, "/srv/db");
	assert_string_equal(dt->source_filename, "db1.mdf");
	assert_string_equal(dt->source_range_list, "0:4096");
	assert_string_equal(dt->destination_path, "/new/db");
	assert_string_equal(dt->destination_filename, "db1.mdf");
	assert_string_equal(dt->destination_range_list, "4096:4096");
	dt = vss_bcd_component_directed_target_at(a, 1);
	assert_null(dt->source_range_list);
	assert_null(dt->destination_range_list);

	assert_int_equal(vss_bcd_component_restore_subcomponent_count(a), 2);
	sc = vss_bcd_component_restore_subcomponent_at(a, 0);
	assert_string_equal(sc->logical_path, "server\\inst\\db1");
	assert_string_equal(sc->component_name, "part");
	assert_true(sc->repair);
	sc = vss_bcd_component_restore_subcomponent_at(a, 1);
	assert_null(sc->logical_path);
	assert_string_equal(sc->component_name, "top");
	assert_false(sc->repair);

	assert_int_equal(vss_bcd_component_get_restore_target(b), VSS_RT_ORIGINAL_LOCATION);
	assert_int_equal(vss_bcd_component_get_file_restore_status(b), VSS_RS_ALL);
	assert_int_equal(vss_bcd_component_partial_file_count(b), 0);
	assert_null(vss_bcd_component_get_caption(b));
}

/* load(text) then save: the same bytes again. */
static void assert_resaves_same(const char *text, size_t len)
{
	struct vss_bcd *bcd = NULL;
	char *again = NULL;
	size_t again_len = 0;

	assert_int_equal(vss_bcd_load(text, len, "again.xml", &bcd), 0);
	assert_int_equal(vss_bcd_save(bcd, &again, &again_len), 0);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, text, len);
	free(again);
	vss_bcd_unref(bcd);
}

static void test_bcd__new_is_empty(void **state)
{
	struct vss_guid set = guid(SET_TEXT);
	struct vss_bcd *bcd = vss_bcd_new(&set);
	char *xml = NULL;

	(void)state;
	assert_non_null(bcd);
	assert_true(vss_guid_equal(vss_bcd_get_snapshot_set_id(bcd), &set));
	assert_int_equal(vss_bcd_get_backup_type(bcd), VSS_BT_UNDEFINED);
	assert_int_equal(vss_bcd_get_restore_type(bcd), VSS_RTYPE_UNDEFINED);
	assert_false(vss_bcd_get_select_components(bcd));
	assert_false(vss_bcd_is_backup_complete(bcd));
	assert_false(vss_bcd_is_restoring(bcd));
	assert_int_equal(vss_bcd_writer_count(bcd), 0);
	assert_int_equal(vss_bcd_snapshot_id_count(bcd), 0);
	assert_int_equal(vss_bcd_save(bcd, &xml, NULL), 0);
	assert_string_equal(xml,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" "
		"bootableSystemStateBackup=\"no\" selectComponents=\"no\" backupType=\"undefined\" "
		"partialFileSupport=\"no\" snapshotSetId=\"" SET_TEXT "\"/>\n");
	free(xml);
	assert_ptr_equal(vss_bcd_ref(bcd), bcd);
	assert_null(vss_bcd_unref(bcd));
	assert_null(vss_bcd_unref(bcd));
	assert_null(vss_bcd_unref(NULL));
}

static void test_bcd__every_field_round_trips(void **state)
{
	struct vss_bcd *bcd = full_document(), *loaded = NULL;
	char *xml = NULL, *xml2 = NULL, *want = NULL;
	size_t len = 0, len2 = 0, want_len = 0;

	(void)state;
	check_full_document(bcd);
	assert_int_equal(vss_bcd_save(bcd, &xml, &len), 0);
	assert_int_equal(strlen(xml), len);
	assert_int_equal(vss_bcd_load(xml, len, "full.xml", &loaded), 0);
	check_full_document(loaded);
	assert_int_equal(vss_bcd_save(loaded, &xml2, &len2), 0);
	assert_int_equal(len2, len);
	assert_memory_equal(xml2, xml, len);
	/* The fixture is this very document: a change of format shows. */
	want = read_data("bcd-full.xml", &want_len);
	if (want_len != len || memcmp(want, xml, len) != 0)
		fail_msg("tests/data/bcd-full.xml differs from what is written now:\n%s", xml);
	free(want);
	free(xml2);
	free(xml);
	vss_bcd_unref(loaded);
	vss_bcd_unref(bcd);
}

static void test_bcd__fixture_loads_and_resaves(void **state)
{
	size_t len = 0;
	char *text = read_data("bcd-full.xml", &len);
	struct vss_bcd *bcd = NULL;

	(void)state;
	assert_int_equal(vss_bcd_load(text, len, "bcd-full.xml", &bcd), 0);
	check_full_document(bcd);
	vss_bcd_unref(bcd);
	assert_resaves_same(text, len);
	free(text);
}

static void test_bcd__enum_words(void **state)
{
	static const struct { int v; const char *w; } bt[] = {
		{ VSS_BT_UNDEFINED, "undefined" }, { VSS_BT_FULL, "full" },
		{ VSS_BT_INCREMENTAL, "incremental" }, { VSS_BT_DIFFERENTIAL, "differential" },
		{ VSS_BT_LOG, "log" }, { VSS_BT_COPY, "copy" }, { VSS_BT_OTHER, "other" },
	}, rt[] = {
		{ VSS_RTYPE_UNDEFINED, "undefined" }, { VSS_RTYPE_BY_COPY, "byCopy" },
		{ VSS_RTYPE_IMPORT, "import" }, { VSS_RTYPE_OTHER, "other" },
	}, tg[] = {
		{ VSS_RT_UNDEFINED, "undefined" }, { VSS_RT_ORIGINAL, "original" },
		{ VSS_RT_ALTERNATE, "alternate" }, { VSS_RT_DIRECTED, "directed" },
		{ VSS_RT_ORIGINAL_LOCATION, "originalLocation" },
	}, fs[] = {
		{ VSS_RS_UNDEFINED, "undefined" }, { VSS_RS_NONE, "none" },
		{ VSS_RS_ALL, "all" }, { VSS_RS_FAILED, "failed" },
	};
	struct vss_guid set = guid(SET_TEXT), inst = guid(INST1), cls = guid(CLASS1);

	(void)state;
	/* The Windows values. */
	assert_int_equal(VSS_BT_FULL, 1);
	assert_int_equal(VSS_BT_OTHER, 6);
	assert_int_equal(VSS_RTYPE_OTHER, 3);
	assert_int_equal(VSS_RT_ORIGINAL_LOCATION, 4);
	assert_int_equal(VSS_RS_FAILED, 3);

	for (size_t i = 0; i < sizeof(bt) / sizeof(bt[0]); i++) {
		enum vss_backup_type v;

		assert_string_equal(vss_backup_type_name((enum vss_backup_type)bt[i].v), bt[i].w);
		assert_int_equal(vss_backup_type_parse(bt[i].w, &v), 0);
		assert_int_equal(v, bt[i].v);
	}
	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		enum vss_restore_type v;

		assert_string_equal(vss_restore_type_name((enum vss_restore_type)rt[i].v), rt[i].w);
		assert_int_equal(vss_restore_type_parse(rt[i].w, &v), 0);
		assert_int_equal(v, rt[i].v);
	}
	for (size_t i = 0; i < sizeof(tg) / sizeof(tg[0]); i++) {
		enum vss_restore_target v;

		assert_string_equal(vss_restore_target_name((enum vss_restore_target)tg[i].v), tg[i].w);
		assert_int_equal(vss_restore_target_parse(tg[i].w, &v), 0);
		assert_int_equal(v, tg[i].v);
	}
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		enum vss_file_restore_status v;

		assert_string_equal(vss_file_restore_status_name((enum vss_file_restore_status)fs[i].v),
				    fs[i].w);
		assert_int_equal(vss_file_restore_status_parse(fs[i].w, &v), 0);
		assert_int_equal(v, fs[i].v);
	}
	assert_null(vss_backup_type_name((enum vss_backup_type)7));
	assert_null(vss_restore_target_name((enum vss_restore_target)-1));
	{
		enum vss_backup_type v = VSS_BT_LOG;

		assert_int_equal(vss_backup_type_parse("FULL", &v), -EINVAL);
		assert_int_equal(v, VSS_BT_LOG);
		assert_non_null(strstr(vss_error_last()->message, "full, incremental"));
		assert_int_equal(vss_backup_type_parse(NULL, &v), -EINVAL);
	}

	/* And through a document: each value written and read back. */
	for (size_t i = 0; i < sizeof(bt) / sizeof(bt[0]); i++) {
		size_t j = i % (sizeof(rt) / sizeof(rt[0]));
		size_t k = i % (sizeof(tg) / sizeof(tg[0]));
		size_t l = i % (sizeof(fs) / sizeof(fs[0]));
		struct vss_bcd *bcd = vss_bcd_new(&set), *again = NULL;
		struct vss_bcd_writer *w;
		struct vss_bcd_component *c;
		char *xml = NULL;

		assert_int_equal(vss_bcd_set_backup_state(bcd, false, false,
							  (enum vss_backup_type)bt[i].v, false), 0);
		assert_int_equal(vss_bcd_set_restore_type(bcd, (enum vss_restore_type)rt[j].v), 0);
		assert_int_equal(vss_bcd_add_writer(bcd, &inst, &cls, NULL, 0, &w), 0);
		assert_int_equal(vss_bcd_writer_add_component(w, i % 2 ? VSS_CT_DATABASE
							      : VSS_CT_FILEGROUP, "p", "c", &c), 0);
		assert_int_equal(vss_bcd_component_set_restore_target(c,
				(enum vss_restore_target)tg[k].v), 0);
		assert_int_equal(vss_bcd_component_set_file_restore_status(c,
				(enum vss_file_restore_status)fs[l].v), 0);
		assert_int_equal(vss_bcd_save(bcd, &xml, NULL), 0);
		assert_int_equal(vss_bcd_load(xml, strlen(xml), "enum.xml", &again), 0);
		assert_int_equal(vss_bcd_get_backup_type(again), bt[i].v);
		assert_int_equal(vss_bcd_get_restore_type(again), rt[j].v);
		c = vss_bcd_writer_component_at(vss_bcd_writer_at(again, 0), 0);
		assert_int_equal(vss_bcd_component_get_type(c), i % 2 ? VSS_CT_DATABASE
				 : VSS_CT_FILEGROUP);
		assert_int_equal(vss_bcd_component_get_restore_target(c), tg[k].v);
		assert_int_equal(vss_bcd_component_get_file_restore_status(c), fs[l].v);
		free(xml);
		vss_bcd_unref(again);
		vss_bcd_unref(bcd);
	}
	/* Every word also parses in an attribute, the last ones included. */
	{
		static const char doc[] =
			"<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" "
			"backupType=\"other\" restoreType=\"other\" snapshotSetId=\"" SET_TEXT "\">"
			"<WRITER_COMPONENTS instanceId=\"" INST1 "\" writerId=\"" CLASS1 "\">"
			"<COMPONENT componentName=\"a\" componentType=\"database\" "
			"restoreTarget=\"undefined\" fileRestoreStatus=\"none\"/>"
			"<COMPONENT componentName=\"b\" componentType=\"filegroup\" "
			"restoreTarget=\"original\" fileRestoreStatus=\"undefined\"/>"
			"<COMPONENT componentName=\"c\" componentType=\"filegroup\" "
			"restoreTarget=\"alternate\" fileRestoreStatus=\"all\"/>"
			"</WRITER_COMPONENTS></BACKUP_COMPONENTS>";
		struct vss_bcd *bcd = NULL;
		struct vss_bcd_writer *w;

		assert_int_equal(vss_bcd_load(doc, strlen(doc), "words.xml", &bcd), 0);
		w = vss_bcd_writer_at(bcd, 0);
		assert_int_equal(vss_bcd_component_get_restore_target(vss_bcd_writer_component_at(w, 0)),
				 VSS_RT_UNDEFINED);
		assert_int_equal(vss_bcd_component_get_file_restore_status(
				 vss_bcd_writer_component_at(w, 0)), VSS_RS_NONE);
		assert_int_equal(vss_bcd_component_get_restore_target(vss_bcd_writer_component_at(w, 1)),
				 VSS_RT_ORIGINAL);
		assert_int_equal(vss_bcd_component_get_restore_target(vss_bcd_writer_component_at(w, 2)),
				 VSS_RT_ALTERNATE);
		vss_bcd_unref(bcd);
	}
}

static void test_bcd__windows_full_backup_loads(void **state)
{
	size_t len = 0;
	char *text = read_data("bcd-windows-full.xml", &len), *xml = NULL;
	struct vss_guid set = guid(SET_TEXT), inst = guid("1bddd48e-5052-49db-9b07-b96f96727e6b");
	struct vss_guid inst3 = guid("0deae556-4095-407e-86b7-dba663ab1a55");
	struct vss_bcd *bcd = NULL;
	struct vss_bcd_writer *w;
	struct vss_bcd_component *c;

	(void)state;
	assert_int_equal(vss_bcd_load(text, len, "bcd-windows-full.xml", &bcd), 0);
	assert_true(vss_guid_equal(vss_bcd_get_snapshot_set_id(bcd), &set));
	assert_true(vss_bcd_get_bootable_system_state(bcd));
	assert_true(vss_bcd_get_select_components(bcd));
	assert_int_equal(vss_bcd_get_backup_type(bcd), VSS_BT_FULL);
	assert_false(vss_bcd_get_partial_file_support(bcd));
	assert_int_equal(vss_bcd_writer_count(bcd), 3);
	/* Upper-case GUIDs, and one in braces, are the same IDs. */
	w = vss_bcd_find_writer(bcd, &inst);
	assert_non_null(w);
	c = vss_bcd_writer_find_component(w, NULL, "TasksStore");
	assert_non_null(c);
	assert_null(vss_bcd_component_get_logical_path(c));
	assert_int_equal(vss_bcd_component_get_type(c), VSS_CT_FILEGROUP);
	w = vss_bcd_find_writer(bcd, &inst3);
	assert_non_null(w);
	assert_string_equal(vss_bcd_writer_get_instance_name(w), "Files writer");
	assert_int_equal(vss_bcd_writer_get_backup_schema(w), 32);
	c = vss_bcd_writer_find_component(w, "Data\\Projects", "Projects");
	assert_non_null(c);
	assert_string_equal(vss_bcd_component_get_backup_stamp(c), "CAAAAMQv3+t4udUB");
	c = vss_bcd_writer_find_component(w, "BCD", "BCD");
	assert_string_equal(vss_bcd_component_get_caption(c), "Boot Configuration Database");

	/* Written canonically: lower case, our order; then stable. */
	assert_int_equal(vss_bcd_save(bcd, &xml, &len), 0);
	assert_non_null(strstr(xml, "instanceId=\"1bddd48e-5052-49db-9b07-b96f96727e6b\""));
	assert_null(strstr(xml, "1BDDD48E"));
	assert_resaves_same(xml, len);
	free(xml);
	free(text);
	vss_bcd_unref(bcd);
}

static void test_bcd__windows_sql_backup_loads(void **state)
{
	size_t len = 0;
	char *text = read_data("bcd-windows-sql.xml", &len), *xml = NULL;
	struct vss_guid inst = guid("DD8D6255-B3BB-4EC1-8249-73CD75C0EE21");
	struct vss_guid cls = guid(CLASS2);
	struct vss_bcd *bcd = NULL;
	struct vss_bcd_writer *w;
	struct vss_bcd_component *c;

	(void)state;
	assert_int_equal(vss_bcd_load(text, len, "bcd-windows-sql.xml", &bcd), 0);
	assert_int_equal(vss_bcd_get_backup_type(bcd), VSS_BT_LOG);
	assert_true(vss_bcd_get_partial_file_support(bcd));
	assert_false(vss_bcd_get_bootable_system_state(bcd));
	w = vss_bcd_find_writer(bcd, &inst);
	assert_non_null(w);
	assert_true(vss_guid_equal(vss_bcd_writer_get_writer_id(w), &cls));
	assert_string_equal(vss_bcd_writer_get_instance_name(w),
			    "Microsoft SQL Server 2017:SQLWriter");
	assert_int_equal(vss_bcd_writer_get_backup_schema(w), 881);
	assert_int_equal(vss_bcd_writer_component_count(w), 2);
	c = vss_bcd_writer_find_component(w, "WIN2012-SQL17-2", "local1");
	assert_non_null(c);
	assert_non_null(vss_bcd_component_get_backup_metadata(c));
	assert_true(strlen(vss_bcd_component_get_backup_metadata(c)) == 1024);
	c = vss_bcd_writer_find_component(w, "WIN2012-SQL17-2", "master");
	assert_int_equal(vss_bcd_component_get_type(c), VSS_CT_DATABASE);
	assert_string_equal(vss_bcd_component_get_backup_metadata(c), "AAAA");
	assert_int_equal(vss_bcd_save(bcd, &xml, &len), 0);
	assert_resaves_same(xml, len);
	free(xml);
	free(text);
	vss_bcd_unref(bcd);
}

#define ROOT_OPEN "<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" " \
		  "snapshotSetId=\"" SET_TEXT "\">\n"
#define WRITER_OPEN "<WRITER_COMPONENTS instanceId=\"" INST1 "\" writerId=\"" CLASS1 "\">\n"
#define CLOSE "</WRITER_COMPONENTS>\n</BACKUP_COMPONENTS>\n"

static void test_bcd__rejects_bad_documents(void **state)
{
	static const struct {
		const char *xml;
		int code;
		int line;
		const char *says;   /* in the message */
	} cases[] = {
		{ "<WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" version=\"1.2\"/>",
		  -VSS_E_INVALID_XML_DOCUMENT, 1, "<WRITER_METADATA>" },
		{ "<BACKUP_COMPONENTS version=\"1.2\" snapshotSetId=\"" SET_TEXT "\"/>",
		  -VSS_E_INVALID_XML_DOCUMENT, 1, "without namespace" },
		{ ROOT_OPEN "<SNAPSHOTS/>\n</BACKUP_COMPONENTS>",
		  -VSS_E_INVALID_XML_DOCUMENT, 2, "<SNAPSHOTS>" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\">\n"
		  "<PARTIAL_FILES path=\"/\"/>\n</COMPONENT>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 4, "<PARTIAL_FILES> in <COMPONENT>" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\" "
		  "color=\"red\"/>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 3, "unknown attribute 'color'" },
		{ ROOT_OPEN "<WRITER_COMPONENTS instanceId=\"1bddd48e-5052-49db-9b07\" "
		  "writerId=\"" CLASS1 "\"/>\n</BACKUP_COMPONENTS>",
		  -VSS_E_INVALID_XML_DOCUMENT, 2, "'instanceId': '1bddd48e-5052-49db-9b07' is not a GUID" },
		{ "<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\"\n"
		  "snapshotSetId=\"{" SET_TEXT "\"/>",
		  -VSS_E_INVALID_XML_DOCUMENT, 2, "'snapshotSetId'" },
		{ "<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" "
		  "backupType=\"Full\" snapshotSetId=\"" SET_TEXT "\"/>",
		  -VSS_E_INVALID_XML_DOCUMENT, 1, "'backupType': 'Full' is not one of undefined, full" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"file\"/>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 3, "'componentType': 'file' is not one of database, filegroup" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\" "
		  "restoreTarget=\"elsewhere\"/>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 3, "'restoreTarget'" },
		{ "<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" "
		  "selectComponents=\"true\" snapshotSetId=\"" SET_TEXT "\"/>",
		  -VSS_E_INVALID_XML_DOCUMENT, 1, "'selectComponents': 'true' is not yes or no" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\">\n"
		  "<DIFFERENCED_FILE path=\"/\" filespec=\"*\" recursive=\"Yes\"/>\n</COMPONENT>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 4, "<DIFFERENCED_FILE> attribute 'recursive'" },
		{ ROOT_OPEN "<WRITER_COMPONENTS instanceId=\"" INST1 "\" writerId=\"" CLASS1 "\" "
		  "backupSchema=\"0x371\"/>\n</BACKUP_COMPONENTS>",
		  -VSS_E_INVALID_XML_DOCUMENT, 2, "'backupSchema': '0x371' is not a decimal number" },
		{ ROOT_OPEN "<WRITER_COMPONENTS instanceId=\"" INST1 "\" writerId=\"" CLASS1 "\" "
		  "backupSchema=\"4294967296\"/>\n</BACKUP_COMPONENTS>",
		  -VSS_E_INVALID_XML_DOCUMENT, 2, "'backupSchema'" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\">\n"
		  "<DIFFERENCED_FILE path=\"/\" filespec=\"*\" lastModifyTime=\"-1\"/>\n</COMPONENT>\n"
		  CLOSE, -VSS_E_INVALID_XML_DOCUMENT, 4, "'lastModifyTime': '-1'" },
		{ ROOT_OPEN WRITER_OPEN
		  "<COMPONENT logicalPath=\"p\" componentName=\"a\" componentType=\"filegroup\"/>\n"
		  "<COMPONENT logicalPath=\"p\" componentName=\"a\" componentType=\"database\"/>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 4, "<COMPONENT> 'p\\a' appears twice" },
		{ ROOT_OPEN WRITER_OPEN
		  "<COMPONENT componentName=\"a\" componentType=\"filegroup\"/>\n"
		  "<COMPONENT logicalPath=\"\" componentName=\"a\" componentType=\"filegroup\"/>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 4, "appears twice" },
		{ ROOT_OPEN WRITER_OPEN "</WRITER_COMPONENTS>\n"
		  "<WRITER_COMPONENTS instanceId=\"" "1BDDD48E-5052-49DB-9B07-B96F96727E6B" "\" "
		  "writerId=\"" CLASS2 "\">\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 4, "writer instance '" INST1 "' appears twice" },
		{ ROOT_OPEN "<SNAPSHOT snapshotId=\"" SNAP1 "\"/>\n<SNAPSHOT snapshotId=\"" SNAP1 "\"/>\n"
		  "</BACKUP_COMPONENTS>",
		  -VSS_E_INVALID_XML_DOCUMENT, 3, "<SNAPSHOT>" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\">\n"
		  "<BACKUP_METADATA metadata=\"1\"/>\n<BACKUP_METADATA metadata=\"2\"/>\n</COMPONENT>\n"
		  CLOSE, -VSS_E_INVALID_XML_DOCUMENT, 5, "<BACKUP_METADATA> appears twice" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentType=\"filegroup\"/>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 3, "lacks its 'componentName'" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\">\n"
		  "<NEW_TARGET xmlns=\"\" path=\"/\" filename=\"f\" alternatePath=\"/x\"/>\n"
		  "</COMPONENT>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 4, "<NEW_TARGET>" },
		{ ROOT_OPEN WRITER_OPEN "<COMPONENT componentName=\"a\" componentType=\"filegroup\">"
		  "text</COMPONENT>\n" CLOSE,
		  -VSS_E_INVALID_XML_DOCUMENT, 3, "has text" },
		{ "<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"2.0\" "
		  "snapshotSetId=\"" SET_TEXT "\"/>",
		  -VSS_E_INVALID_XML_DOCUMENT, 1, "'version': '2.0'" },
		{ ROOT_OPEN "<WRITER_COMPONENTS instanceId=\"" INST1 "\">\n",
		  -VSS_E_CORRUPT_XML_DOCUMENT, 3, "" },
		{ "", -VSS_E_CORRUPT_XML_DOCUMENT, 1, "empty" },
		{ "not xml at all", -VSS_E_CORRUPT_XML_DOCUMENT, 1, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vss_bcd *bcd = (struct vss_bcd *)&cases;  /* must stay untouched */
		const struct vss_error *e;
		int rc = vss_bcd_load(cases[i].xml, strlen(cases[i].xml), "bad.xml", &bcd);

		e = vss_error_last();
		if (rc != cases[i].code || e->line != cases[i].line ||
		    !strstr(e->message, cases[i].says) || !e->file ||
		    strcmp(e->file, "bad.xml") != 0 || strncmp(e->message, "bad.xml:", 8) != 0)
			fail_msg("case %zu: rc %d (want %d), line %d (want %d), message '%s' "
				 "(want '%s' in it)", i, rc, cases[i].code, e->line, cases[i].line,
				 e->message, cases[i].says);
		assert_ptr_equal(bcd, (struct vss_bcd *)&cases);
	}
}

static void test_bcd__refuses_entities(void **state)
{
	static const char laughs[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE BACKUP_COMPONENTS [\n"
		" <!ENTITY lol \"lol\">\n"
		" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
		" <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
		" <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
		" <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
		" <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
		" <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
		" <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
		" <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
		" <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
		"]>\n"
		"<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" "
		"snapshotSetId=\"" SET_TEXT "\">\n"
		"<WRITER_COMPONENTS instanceId=\"" INST1 "\" writerId=\"" CLASS1 "\" "
		"instanceName=\"&lol9;\"/>\n"
		"</BACKUP_COMPONENTS>\n";
	static const char xxe[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE BACKUP_COMPONENTS [\n"
		" <!ENTITY secret SYSTEM \"file:///etc/passwd\">\n"
		"]>\n"
		"<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" "
		"snapshotSetId=\"" SET_TEXT "\">\n"
		"<WRITER_COMPONENTS instanceId=\"" INST1 "\" writerId=\"" CLASS1 "\" "
		"instanceName=\"&secret;\"/>\n"
		"</BACKUP_COMPONENTS>\n";
	static const char xxe_content[] =
		"<?xml version=\"1.0\"?>\n"
		"<!DOCTYPE BACKUP_COMPONENTS [\n"
		" <!ENTITY secret SYSTEM \"file:///etc/passwd\">\n"
		"]>\n"
		"<BACKUP_COMPONENTS xmlns=\"x-schema:#VssComponentMetadata\" version=\"1.2\" "
		"snapshotSetId=\"" SET_TEXT "\">&secret;</BACKUP_COMPONENTS>\n";
	struct vss_bcd *bcd = NULL;
	int rc;

	(void)state;
	/*
	 * libxml2 itself may stop at the amplification while parsing (an
	 * unparseable document), or parse without expanding and leave the
	 * DOCTYPE to our check (an invalid one): refused either way, at once.
	 */
	rc = vss_bcd_load(laughs, strlen(laughs), "laughs.xml", &bcd);
	assert_null(bcd);
	if (rc == -VSS_E_CORRUPT_XML_DOCUMENT)
		assert_non_null(strstr(vss_error_last()->message, "entity"));
	else if (rc == -VSS_E_INVALID_XML_DOCUMENT)
		assert_non_null(strstr(vss_error_last()->message, "DOCTYPE"));
	else
		fail_msg("billion laughs: rc %d, '%s'", rc, vss_error_last()->message);
	assert_true(vss_error_last()->line > 0);
	assert_non_null(strstr(vss_error_last()->message, "laughs.xml:"));
	/* In an attribute, an external entity is not even well-formed. */
	assert_int_equal(vss_bcd_load(xxe, strlen(xxe), "xxe.xml", &bcd),
			 -VSS_E_CORRUPT_XML_DOCUMENT);
	assert_null(bcd);
	assert_non_null(strstr(vss_error_last()->message, "external entity"));
	/* In content it is, and the DOCTYPE is refused; nothing was read. */
	assert_int_equal(vss_bcd_load(xxe_content, strlen(xxe_content), "xxe.xml", &bcd),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_null(bcd);
	assert_int_equal(vss_error_last()->line, 2);
	assert_non_null(strstr(vss_error_last()->message, "DOCTYPE"));
	assert_null(strstr(vss_error_last()->message, "root:"));
}

static void test_bcd__duplicates_through_the_api(void **state)
{
	struct vss_guid set = guid(SET_TEXT), inst = guid(INST1), cls = guid(CLASS1);
	struct vss_guid snap = guid(SNAP1);
	struct vss_bcd *bcd = vss_bcd_new(&set);
	struct vss_bcd_writer *w = NULL, *other = NULL;
	struct vss_bcd_component *c = NULL, *c2 = NULL;

	(void)state;
	assert_int_equal(vss_bcd_add_writer(bcd, &inst, &cls, "one", 3, &w), 0);
	assert_int_equal(vss_bcd_add_writer(bcd, &inst, &cls, "two", 0, &other),
			 -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_null(other);
	assert_non_null(strstr(vss_error_last()->message, INST1));
	assert_int_equal(vss_bcd_writer_count(bcd), 1);
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_FILEGROUP, "a\\b", "c", &c), 0);
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_DATABASE, "a\\b", "c", &c2),
			 -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_null(c2);
	assert_non_null(strstr(vss_error_last()->message, "'a\\b\\c'"));
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_FILEGROUP, NULL, "c", NULL), 0);
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_FILEGROUP, "", "c", NULL),
			 -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_int_equal(vss_bcd_writer_component_count(w), 2);
	assert_int_equal(vss_bcd_add_snapshot_id(bcd, &snap), 0);
	assert_int_equal(vss_bcd_add_snapshot_id(bcd, &snap), -VSS_E_OBJECT_ALREADY_EXISTS);

	/* Bad arguments. */
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_UNDEFINED, NULL, "u", NULL), -EINVAL);
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_FILEGROUP, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(vss_bcd_set_backup_state(bcd, true, true, (enum vss_backup_type)7, false),
			 -EINVAL);
	assert_int_equal(vss_bcd_component_set_restore_target(c, (enum vss_restore_target)5), -EINVAL);
	assert_int_equal(vss_bcd_component_set_file_restore_status(c,
			 (enum vss_file_restore_status)4), -EINVAL);
	assert_int_equal(vss_bcd_set_restore_type(bcd, (enum vss_restore_type)4), -EINVAL);
	assert_int_equal(vss_bcd_component_set_backup_stamp(c, "bell\a"), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "control character 0x07"));
	assert_int_equal(vss_bcd_component_set_backup_stamp(c, "\xff\xfe"), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "UTF-8"));
	assert_null(vss_bcd_component_get_backup_stamp(c));
	assert_int_equal(vss_bcd_component_add_partial_file(c, "/", "f", NULL, NULL), -EINVAL);
	assert_int_equal(vss_bcd_component_add_new_target(c, "/", "f", false, NULL), -EINVAL);
	assert_int_equal(vss_bcd_component_add_directed_target(c, "/", "f", NULL, "/", NULL, NULL),
			 -EINVAL);
	assert_int_equal(vss_bcd_component_partial_file_count(c), 0);
	/* Setting NULL clears. */
	assert_int_equal(vss_bcd_component_set_backup_options(c, "x"), 0);
	assert_int_equal(vss_bcd_component_set_backup_options(c, NULL), 0);
	assert_null(vss_bcd_component_get_backup_options(c));
	vss_bcd_unref(bcd);
}

static void expect_read_only(int rc)
{
	assert_int_equal(rc, -VSS_E_BAD_STATE);
	assert_non_null(strstr(vss_error_last()->message,
			       "the backup components document is read-only after BackupComplete"));
}

/* Every backup-time edit of the document and of c is refused. */
static void expect_backup_fields_frozen(struct vss_bcd *bcd, struct vss_bcd_component *c)
{
	struct vss_guid id = guid(SNAP2), inst = guid(INST2), cls = guid(CLASS2);
	struct vss_bcd_writer *w = vss_bcd_writer_at(bcd, 0);

	expect_read_only(vss_bcd_set_backup_state(bcd, false, false, VSS_BT_COPY, false));
	expect_read_only(vss_bcd_add_snapshot_id(bcd, &id));
	expect_read_only(vss_bcd_add_writer(bcd, &inst, &cls, NULL, 0, NULL));
	expect_read_only(vss_bcd_writer_add_component(w, VSS_CT_FILEGROUP, NULL, "new", NULL));
	expect_read_only(vss_bcd_component_set_caption(c, "x"));
	expect_read_only(vss_bcd_component_set_backup_stamp(c, "x"));
	expect_read_only(vss_bcd_component_set_previous_backup_stamp(c, "x"));
	expect_read_only(vss_bcd_component_set_backup_options(c, "x"));
	expect_read_only(vss_bcd_component_set_backup_metadata(c, "x"));
	expect_read_only(vss_bcd_component_set_backup_succeeded(c, false));
	expect_read_only(vss_bcd_component_add_partial_file(c, "/", "f", "0:1", NULL));
	expect_read_only(vss_bcd_component_add_differenced_file(c, "/", "*", true, 0));
	assert_int_equal(vss_bcd_get_backup_type(bcd), VSS_BT_FULL);
	assert_int_equal(vss_bcd_snapshot_id_count(bcd), 1);
	assert_int_equal(vss_bcd_writer_count(bcd), 1);
	assert_true(vss_bcd_component_get_backup_succeeded(c));
	assert_int_equal(vss_bcd_component_partial_file_count(c), 0);
}

/* Every restore-time edit: all refused (expect_ok false) or all accepted. */
static void restore_fields(struct vss_bcd *bcd, struct vss_bcd_component *c, bool expect_ok)
{
	int rcs[13], n = 0;

	rcs[n++] = vss_bcd_set_restore_type(bcd, VSS_RTYPE_BY_COPY);
	rcs[n++] = vss_bcd_component_set_selected_for_restore(c, true);
	rcs[n++] = vss_bcd_component_set_additional_restores(c, true);
	rcs[n++] = vss_bcd_component_set_restore_options(c, "\"a\"=\"b\"");
	rcs[n++] = vss_bcd_component_set_restore_target(c, VSS_RT_ALTERNATE);
	rcs[n++] = vss_bcd_component_set_restore_metadata(c, "m");
	rcs[n++] = vss_bcd_component_set_pre_restore_failure_msg(c, "pre");
	rcs[n++] = vss_bcd_component_set_post_restore_failure_msg(c, "post");
	rcs[n++] = vss_bcd_component_set_file_restore_status(c, VSS_RS_ALL);
	rcs[n++] = vss_bcd_component_add_new_target(c, "/", "f", false, "/alt");
	rcs[n++] = vss_bcd_component_add_alternate_location_mapping(c, "/", "*", true, "/alt");
	rcs[n++] = vss_bcd_component_add_directed_target(c, "/", "f", NULL, "/d", "f", NULL);
	rcs[n++] = vss_bcd_component_add_restore_subcomponent(c, NULL, "sub", false);
	for (int i = 0; i < n; i++) {
		if (expect_ok)
			assert_int_equal(rcs[i], 0);
		else
			assert_int_equal(rcs[i], -VSS_E_BAD_STATE);
	}
}

static void test_bcd__read_only_after_backup_complete(void **state)
{
	struct vss_guid set = guid(SET_TEXT), inst = guid(INST1), cls = guid(CLASS1);
	struct vss_guid snap = guid(SNAP1);
	struct vss_bcd *bcd = vss_bcd_new(&set), *loaded = NULL;
	struct vss_bcd_writer *w;
	struct vss_bcd_component *c;
	char *xml = NULL, *xml2 = NULL;

	(void)state;
	assert_int_equal(vss_bcd_set_backup_state(bcd, true, false, VSS_BT_FULL, false), 0);
	assert_int_equal(vss_bcd_add_snapshot_id(bcd, &snap), 0);
	assert_int_equal(vss_bcd_add_writer(bcd, &inst, &cls, NULL, 0, &w), 0);
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_FILEGROUP, "p", "c", &c), 0);
	assert_int_equal(vss_bcd_component_set_backup_succeeded(c, true), 0);
	assert_int_equal(vss_bcd_set_backup_complete(bcd), 0);
	assert_int_equal(vss_bcd_set_backup_complete(bcd), 0);
	assert_true(vss_bcd_is_backup_complete(bcd));

	expect_backup_fields_frozen(bcd, c);
	restore_fields(bcd, c, false);
	assert_non_null(strstr(vss_error_last()->message, "vss_bcd_begin_restore"));
	assert_int_equal(vss_bcd_get_restore_type(bcd), VSS_RTYPE_UNDEFINED);
	assert_int_equal(vss_bcd_component_new_target_count(c), 0);

	/* Saved and loaded, it is still read-only. */
	assert_int_equal(vss_bcd_save(bcd, &xml, NULL), 0);
	assert_non_null(strstr(xml, " backupComplete=\"yes\""));
	assert_int_equal(vss_bcd_load(xml, strlen(xml), "done.xml", &loaded), 0);
	assert_true(vss_bcd_is_backup_complete(loaded));
	assert_false(vss_bcd_is_restoring(loaded));
	c = vss_bcd_writer_component_at(vss_bcd_writer_at(loaded, 0), 0);
	expect_backup_fields_frozen(loaded, c);
	restore_fields(loaded, c, false);

	/* A restore may fill in the restore-time fields, nothing else. */
	assert_int_equal(vss_bcd_begin_restore(loaded), 0);
	assert_true(vss_bcd_is_restoring(loaded));
	restore_fields(loaded, c, true);
	expect_backup_fields_frozen(loaded, c);
	assert_int_equal(vss_bcd_get_restore_type(loaded), VSS_RTYPE_BY_COPY);
	assert_int_equal(vss_bcd_component_get_restore_target(c), VSS_RT_ALTERNATE);
	assert_int_equal(vss_bcd_component_restore_subcomponent_count(c), 1);
	assert_int_equal(vss_bcd_save(loaded, &xml2, NULL), 0);
	assert_non_null(strstr(xml2, "restoreType=\"byCopy\" backupComplete=\"yes\""));
	free(xml2);
	free(xml);
	vss_bcd_unref(loaded);
	vss_bcd_unref(bcd);
}

static void test_bcd__editable_before_backup_complete(void **state)
{
	struct vss_guid set = guid(SET_TEXT), inst = guid(INST1), cls = guid(CLASS1);
	struct vss_bcd *bcd = vss_bcd_new(&set);
	struct vss_bcd_writer *w;
	struct vss_bcd_component *c;

	(void)state;
	assert_int_equal(vss_bcd_add_writer(bcd, &inst, &cls, NULL, 0, &w), 0);
	assert_int_equal(vss_bcd_writer_add_component(w, VSS_CT_DATABASE, NULL, "c", &c), 0);
	restore_fields(bcd, c, true);
	assert_int_equal(vss_bcd_component_set_backup_stamp(c, "s"), 0);
	vss_bcd_unref(bcd);
}

static void test_bcd__file_save_and_load(void **state)
{
	char dir[] = "/tmp/test-bcd.XXXXXX";
	struct vss_bcd *bcd = full_document(), *loaded = NULL;
	struct sbuf path = SBUF_INIT;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(sbuf_addf(&path, "%s/bcd.xml", dir), 0);
	assert_int_equal(vss_bcd_save_file(bcd, sbuf_str(&path)), 0);
	assert_int_equal(vss_bcd_load_file(sbuf_str(&path), &loaded), 0);
	check_full_document(loaded);
	assert_int_equal(file_read_all(sbuf_str(&path), &text, &len), 0);
	assert_resaves_same(text, len);
	free(text);
	vss_bcd_unref(loaded);
	loaded = NULL;
	/* Errors name the file. */
	assert_int_equal(file_write_atomic(sbuf_str(&path), "<x/>", 4, 0600, false), 0);
	assert_int_equal(vss_bcd_load_file(sbuf_str(&path), &loaded), -VSS_E_INVALID_XML_DOCUMENT);
	assert_string_equal(vss_error_last()->file, sbuf_str(&path));
	assert_null(loaded);
	assert_int_equal(unlink(sbuf_str(&path)), 0);
	assert_int_equal(vss_bcd_load_file(sbuf_str(&path), &loaded), -ENOENT);
	assert_non_null(strstr(vss_error_last()->message, sbuf_str(&path)));
	assert_int_equal(rmdir(dir), 0);
	sbuf_release(&path);
	vss_bcd_unref(bcd);
}

static void test_bcd__refuses_oversized(void **state)
{
	struct vss_bcd *bcd = NULL;
	/* The length is checked before the text is looked at; a document too
	 * large to read is not loaded at all, like an unparseable one. */
	static const char small[] = "<BACKUP_COMPONENTS/>";

	(void)state;
	assert_int_equal(vss_bcd_load(small, ((size_t)256 << 20) + 1, "big.xml", &bcd),
			 -VSS_E_CORRUPT_XML_DOCUMENT);
	assert_non_null(strstr(vss_error_last()->message, "too large"));
	assert_null(bcd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bcd__new_is_empty),
		cmocka_unit_test(test_bcd__every_field_round_trips),
		cmocka_unit_test(test_bcd__fixture_loads_and_resaves),
		cmocka_unit_test(test_bcd__enum_words),
		cmocka_unit_test(test_bcd__windows_full_backup_loads),
		cmocka_unit_test(test_bcd__windows_sql_backup_loads),
		cmocka_unit_test(test_bcd__rejects_bad_documents),
		cmocka_unit_test(test_bcd__refuses_entities),
		cmocka_unit_test(test_bcd__duplicates_through_the_api),
		cmocka_unit_test(test_bcd__read_only_after_backup_complete),
		cmocka_unit_test(test_bcd__editable_before_backup_complete),
		cmocka_unit_test(test_bcd__file_save_and_load),
		cmocka_unit_test(test_bcd__refuses_oversized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
