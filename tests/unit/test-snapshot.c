/*
 * Shadow copy records: names, attribute words, the XML form (round trips and
 * rejection of bad documents), lists, properties files.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "util/file.h"
#include "util/sbuf.h"
#include "util/banned.h"

#define ID_TEXT   "{b5946137-7b9f-4925-af80-51abd60b20d5}"
#define SET_TEXT  "{cdf70d69-615e-4c56-9359-c9ca584f0d3e}"
#define PROV_TEXT "{7c036cc7-93e5-4fcd-af60-7b6962dd711f}"

static struct vss_snapshot *full_snapshot(void)
{
	struct vss_snapshot *s = vss__snapshot_new();

	assert_non_null(s);
	assert_int_equal(vss_guid_parse(ID_TEXT, &s->id), 0);
	assert_int_equal(vss_guid_parse(SET_TEXT, &s->set_id), 0);
	assert_int_equal(vss_guid_parse(PROV_TEXT, &s->provider_id), 0);
	s->count = 3;
	assert_int_equal(vss__strset(&s->original_volume, "/srv/data & <more>"), 0);
	assert_int_equal(vss__strset(&s->original_device, "/dev/loop7"), 0);
	assert_int_equal(vss__strset(&s->original_uuid, "0f2d4e8a-1111-2222-3333-444455556666"), 0);
	assert_int_equal(vss__strset(&s->original_fsroot, "/@data"), 0);
	assert_int_equal(vss__strset(&s->original_fstype, "btrfs"), 0);
	assert_int_equal(vss__strset(&s->device, "/srv/data/.vss/b5946137"), 0);
	assert_int_equal(vss__strset(&s->store, "/srv/data/.vss"), 0);
	assert_int_equal(vss__strset(&s->origin, "/images/disk \"1\".img"), 0);
	assert_int_equal(vss__strset(&s->originating_machine, "host.example.com"), 0);
	assert_int_equal(vss__strset(&s->service_machine, "backup.example.com"), 0);
	assert_int_equal(vss__strset(&s->exposed_name, "/mnt/shadow \xc3\xa9t\xc3\xa9"), 0);
	assert_int_equal(vss__strset(&s->exposed_path, "sub/dir\ttab"), 0);
	assert_int_equal(vss__strset(&s->provider_name, "btrfs"), 0);
	s->attributes = VSS_VOLSNAP_ATTR_PERSISTENT | VSS_VOLSNAP_ATTR_NO_AUTO_RELEASE |
			VSS_VOLSNAP_ATTR_DIFFERENTIAL | 0x80000000u;
	s->context = VSS_CTX_APP_ROLLBACK;
	s->creation_time = INT64_C(1705673361123456789);
	s->state = VSS_SS_CREATED;
	s->hold_ns = UINT64_C(18446744073709551615);
	s->owner_pid = 4242;
	s->owner_start = UINT64_C(987654321);
	s->subvolume_id = 257;
	return s;
}

static void assert_same_string(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_same_snapshot(const struct vss_snapshot *a, const struct vss_snapshot *b)
{
	assert_true(vss_guid_equal(&a->id, &b->id));
	assert_true(vss_guid_equal(&a->set_id, &b->set_id));
	assert_true(vss_guid_equal(&a->provider_id, &b->provider_id));
	assert_int_equal(a->count, b->count);
	assert_same_string(a->original_volume, b->original_volume);
	assert_same_string(a->original_device, b->original_device);
	assert_same_string(a->original_uuid, b->original_uuid);
	assert_same_string(a->original_fsroot, b->original_fsroot);
	assert_same_string(a->original_fstype, b->original_fstype);
	assert_same_string(a->device, b->device);
	assert_same_string(a->store, b->store);
	assert_same_string(a->origin, b->origin);
	assert_same_string(a->originating_machine, b->originating_machine);
	assert_same_string(a->service_machine, b->service_machine);
	assert_same_string(a->exposed_name, b->exposed_name);
	assert_same_string(a->exposed_path, b->exposed_path);
	assert_same_string(a->provider_name, b->provider_name);
	assert_int_equal(a->attributes, b->attributes);
	assert_int_equal(a->context, b->context);
	assert_true(a->creation_time == b->creation_time);
	assert_int_equal(a->state, b->state);
	assert_true(a->hold_ns == b->hold_ns);
	assert_int_equal(a->owner_pid, b->owner_pid);
	assert_true(a->owner_start == b->owner_start);
	assert_true(a->subvolume_id == b->subvolume_id);
}

/* ---- names ------------------------------------------------------------- */

static void test_snapshot__state_names(void **state)
{
	(void)state;
	assert_string_equal(vss_snapshot_state_name(VSS_SS_CREATED), "Created");
	assert_string_equal(vss_snapshot_state_name(VSS_SS_ABORTED), "Aborted");
	assert_string_equal(vss_snapshot_state_name(VSS_SS_UNKNOWN), "Unknown");
	assert_string_equal(vss_snapshot_state_name(VSS_SS_POSTCOMMITTED), "Postcommitted");
	for (int i = 0; i <= VSS_SS_POSTCOMMITTED; i++) {
		assert_non_null(vss_snapshot_state_name((enum vss_snapshot_state)i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(vss_snapshot_state_name((enum vss_snapshot_state)i),
						vss_snapshot_state_name((enum vss_snapshot_state)j));
	}
	assert_null(vss_snapshot_state_name((enum vss_snapshot_state)16));
	assert_null(vss_snapshot_state_name((enum vss_snapshot_state)-1));
}

static void test_snapshot__context_names(void **state)
{
	(void)state;
	assert_string_equal(vss_snapshot_context_name(0x09), "ApplicationRollback");
	assert_string_equal(vss_snapshot_context_name(0x19), "DataVolumeRollback");
	assert_string_equal(vss_snapshot_context_name(0x1d), "ClientAccessible");
	assert_string_equal(vss_snapshot_context_name(0x0d), "ClientAccessibleWriters");
	assert_string_equal(vss_snapshot_context_name(0x00), "Backup");
	assert_string_equal(vss_snapshot_context_name(0x10), "FileShareBackup");
	assert_null(vss_snapshot_context_name(0x01));
	assert_null(vss_snapshot_context_name(VSS_CTX_ALL));
}

static void check_format(uint32_t attributes, const char *want)
{
	char *text = NULL;

	assert_int_equal(vss_snapshot_attributes_format(attributes, &text), 0);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
}

static void test_snapshot__attributes_format(void **state)
{
	(void)state;
	check_format(0, "");
	check_format(VSS_VOLSNAP_ATTR_PERSISTENT, "Persistent");
	/* The vssadmin transcript of reference §1.8. */
	check_format(VSS_VOLSNAP_ATTR_PERSISTENT | VSS_VOLSNAP_ATTR_CLIENT_ACCESSIBLE |
		     VSS_VOLSNAP_ATTR_NO_AUTO_RELEASE | VSS_VOLSNAP_ATTR_NO_WRITERS |
		     VSS_VOLSNAP_ATTR_DIFFERENTIAL,
		     "Persistent, Client-accessible, No auto release, No writers, Differential");
	check_format(VSS_VOLSNAP_ATTR_AUTORECOVER | VSS_VOLSNAP_ATTR_NO_AUTORECOVERY,
		     "No auto-recovery, Auto recovered");
	check_format(VSS_VOLSNAP_ATTR_FILE_SHARE | 0x100, "File share, 0x00000100");
	check_format(0x80000000u, "0x80000000");
	check_format(0x07ff00ffu,
		     "Persistent, No auto-recovery, Client-accessible, No auto release, No writers, "
		     "Transportable, Not surfaced, Not transacted, Hardware assisted, Differential, "
		     "Plex, Imported, Exposed locally, Exposed remotely, Auto recovered, "
		     "Rollback recovery, Delayed post-snapshot, TxF recovery, File share");
}

/* ---- XML round trips --------------------------------------------------- */

#define NS "x-schema:#VssLinuxSnapshot"
#define ID_BARE "b5946137-7b9f-4925-af80-51abd60b20d5"
#define SET_BARE "cdf70d69-615e-4c56-9359-c9ca584f0d3e"

static void test_snapshot__xml_round_trip_full(void **state)
{
	struct vss_snapshot *s = full_snapshot(), *back = NULL;
	char *xml = NULL;

	(void)state;
	assert_int_equal(vss_snapshot_to_xml(s, &xml), 0);
	assert_non_null(strstr(xml, "<SNAPSHOT xmlns=\"" NS "\" version=\"1\" snapshotId=\"" ID_BARE
				    "\" snapshotSetId=\"" SET_BARE "\" snapshotsCount=\"3\" "
				    "snapshotDeviceObject=\"/srv/data/.vss/b5946137\""));
	assert_non_null(strstr(xml, " providerId=\"7c036cc7-93e5-4fcd-af60-7b6962dd711f\" "
				    "snapshotAttributes=\"2147614729\" snapshotAttributesText=\"Persistent, "
				    "No auto release, Differential, 0x80000000\" "
				    "creationTimestamp=\"1705673361123456789\" "
				    "creationTimestampText=\"2024-01-19T14:09:21.123456789Z\" "
				    "status=\"CREATED\" snapshotContext=\"9\" "
				    "snapshotContextText=\"ApplicationRollback\" providerName=\"btrfs\""));
	assert_non_null(strstr(xml, " holdNs=\"18446744073709551615\" ownerPid=\"4242\" "
				    "ownerStart=\"987654321\" subvolumeId=\"257\"/>"));
	assert_non_null(strstr(xml, "&amp; &lt;more&gt;"));
	assert_non_null(strstr(xml, "exposedPath=\"sub/dir&#9;tab\""));
	assert_int_equal(vss_snapshot_from_xml(xml, strlen(xml), "full.xml", &back), 0);
	assert_same_snapshot(s, back);
	assert_int_equal(back->refcount, 1);
	vss_snapshot_unref(back);
	vss_snapshot_unref(s);
	free(xml);
}

static void test_snapshot__xml_round_trip_minimal(void **state)
{
	struct vss_snapshot *s = vss__snapshot_new(), *back = NULL;
	char *xml = NULL;

	(void)state;
	assert_non_null(s);
	assert_int_equal(vss_guid_parse(ID_TEXT, &s->id), 0);
	assert_int_equal(vss_guid_parse(SET_TEXT, &s->set_id), 0);
	assert_int_equal(vss_snapshot_to_xml(s, &xml), 0);
	/* Optional attributes are left out, required ones are there. */
	assert_string_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				 "<SNAPSHOT xmlns=\"" NS "\" version=\"1\" snapshotId=\"" ID_BARE
				 "\" snapshotSetId=\"" SET_BARE "\" snapshotsCount=\"0\" "
				 "snapshotAttributes=\"0\" status=\"UNKNOWN\" snapshotContext=\"0\" "
				 "snapshotContextText=\"Backup\"/>\n");
	assert_int_equal(vss_snapshot_from_xml(xml, strlen(xml), NULL, &back), 0);
	assert_same_snapshot(s, back);
	assert_null(back->original_volume);
	assert_null(back->provider_name);
	assert_true(vss_guid_is_null(&back->provider_id));
	vss_snapshot_unref(back);
	/* An empty string is a value, not an absence: it is kept. */
	assert_int_equal(vss__strset(&s->exposed_name, ""), 0);
	free(xml);
	assert_int_equal(vss_snapshot_to_xml(s, &xml), 0);
	assert_non_null(strstr(xml, " exposedName=\"\" "));
	assert_int_equal(vss_snapshot_from_xml(xml, strlen(xml), NULL, &back), 0);
	assert_same_snapshot(s, back);
	vss_snapshot_unref(back);
	vss_snapshot_unref(s);
	free(xml);
}

static void test_snapshot__xml_every_status(void **state)
{
	struct vss_snapshot *s = vss__snapshot_new(), *back = NULL;
	static const char *const words[] = {
		"UNKNOWN", "PREPARING", "PROCESSING_PREPARE", "PREPARED", "PROCESSING_PRECOMMIT",
		"PRECOMMITTED", "PROCESSING_COMMIT", "COMMITTED", "PROCESSING_POSTCOMMIT",
		"PROCESSING_PREFINALCOMMIT", "PREFINALCOMMITTED", "PROCESSING_POSTFINALCOMMIT",
		"CREATED", "ABORTED", "DELETED", "POSTCOMMITTED",
	};
	char *xml = NULL, want[64];

	(void)state;
	assert_non_null(s);
	for (int i = 0; i <= VSS_SS_POSTCOMMITTED; i++) {
		s->state = (enum vss_snapshot_state)i;
		assert_int_equal(vss_snapshot_to_xml(s, &xml), 0);
		snprintf(want, sizeof(want), " status=\"%s\" ", words[i]);
		assert_non_null(strstr(xml, want));
		assert_int_equal(vss_snapshot_from_xml(xml, strlen(xml), NULL, &back), 0);
		assert_int_equal(back->state, i);
		vss_snapshot_unref(back);
		free(xml);
	}
	s->state = (enum vss_snapshot_state)16;
	xml = NULL;
	assert_int_equal(vss_snapshot_to_xml(s, &xml), -EINVAL);
	assert_null(xml);
	vss_snapshot_unref(s);
}

/* Read as written by hand: braces, upper case; the *Text attributes are ignored. */
static void test_snapshot__xml_lenient_reading(void **state)
{
	static const char doc[] =
		"<SNAPSHOT xmlns='" NS "' version='1' snapshotId='" ID_TEXT "'\n"
		" snapshotSetId='CDF70D69-615E-4C56-9359-C9CA584F0D3E' snapshotsCount='1'\n"
		" providerId='{7C036CC7-93E5-4FCD-AF60-7B6962DD711F}'\n"
		" snapshotAttributes='1' snapshotAttributesText='whatever you like'\n"
		" creationTimestamp='-5' creationTimestampText='yesterday, roughly'\n"
		" status='CREATED' snapshotContext='25' snapshotContextText='Backup'>\n"
		"  <!-- a comment is fine -->\n"
		"</SNAPSHOT>";
	struct vss_snapshot *s = NULL;
	char *xml = NULL;

	(void)state;
	assert_int_equal(vss_snapshot_from_xml(doc, strlen(doc), "x.xml", &s), 0);
	assert_true(s->creation_time == -5);
	assert_int_equal(s->context, VSS_CTX_NAS_ROLLBACK);
	assert_int_equal(s->attributes, 1);
	assert_int_equal(s->count, 1);
	assert_int_equal(s->state, VSS_SS_CREATED);
	assert_int_equal(vss_snapshot_to_xml(s, &xml), 0);
	/* Written back canonically: lower case, no braces, words from the numbers. */
	assert_non_null(strstr(xml, " snapshotSetId=\"" SET_BARE "\" "));
	assert_non_null(strstr(xml, " providerId=\"7c036cc7-93e5-4fcd-af60-7b6962dd711f\" "));
	assert_non_null(strstr(xml, " snapshotAttributesText=\"Persistent\" "));
	assert_non_null(strstr(xml, " snapshotContextText=\"DataVolumeRollback\""));
	assert_non_null(strstr(xml, " creationTimestamp=\"-5\" "));
	free(xml);
	vss_snapshot_unref(s);
}

/* load -> save -> load -> save gives the same bytes, for all three documents. */
static void test_snapshot__xml_canonical(void **state)
{
	static const char hand[] =
		"<?xml version='1.0'?>\n"
		"<SNAPSHOT status='CREATED' snapshotContext='0' snapshotAttributes='0'\n"
		"   xmlns='" NS "' snapshotsCount='2' snapshotSetId='{" SET_BARE "}'\n"
		"   store='/s' version='1' snapshotId='" ID_BARE "' ownerStart='5' ownerPid='9'/>";
	static const char *const attrs[] = { "snapshotSetId", SET_BARE, "creatorPid", "17",
					     "creatorStart", "99", NULL };
	struct vss_snapshot_list *l = vss__snapshot_list_new(), *back = NULL;
	struct vss_snapshot *a = full_snapshot(), *b = NULL;
	char *x1 = NULL, *x2 = NULL;
	size_t n1 = 0, n2 = 0;

	(void)state;
	assert_int_equal(vss_snapshot_from_xml(hand, strlen(hand), "hand.xml", &b), 0);
	assert_int_equal(vss_snapshot_to_xml(b, &x1), 0);
	vss_snapshot_unref(b);
	assert_int_equal(vss_snapshot_from_xml(x1, strlen(x1), "x1.xml", &b), 0);
	assert_int_equal(vss_snapshot_to_xml(b, &x2), 0);
	assert_string_equal(x1, x2);
	assert_non_null(strstr(x1, "version=\"1\" snapshotId="));
	free(x1);
	free(x2);
	a->id.bytes[0] ^= 1;
	assert_int_equal(vss__snapshot_list_append(l, a), 0);
	assert_int_equal(vss__snapshot_list_append(l, b), 0);
	for (int i = 0; i < 2; i++) {
		const char *root = i ? "PENDING_SET" : "CATALOG";

		assert_int_equal(vss__snapshots_to_xml(root, i ? attrs : NULL, l, &x1, &n1), 0);
		assert_int_equal(vss__snapshots_from_xml(x1, n1, "x1.xml", root, &back, NULL), 0);
		assert_int_equal(vss__snapshots_to_xml(root, i ? attrs : NULL, back, &x2, &n2), 0);
		assert_int_equal(n1, n2);
		assert_memory_equal(x1, x2, n1);
		vss_snapshot_list_unref(back);
		free(x1);
		free(x2);
	}
	vss_snapshot_list_unref(l);
	vss_snapshot_unref(a);
	vss_snapshot_unref(b);
}

static void test_snapshot__xml_refuses_unwritable_text(void **state)
{
	struct vss_snapshot *s = full_snapshot();
	char *xml = NULL;

	(void)state;
	assert_int_equal(vss__strset(&s->device, "/a\x01" "b"), 0);
	assert_int_equal(vss_snapshot_to_xml(s, &xml), -EINVAL);
	assert_null(xml);
	assert_int_equal(vss__strset(&s->device, "/a\xff" "b"), 0);
	assert_int_equal(vss_snapshot_to_xml(s, &xml), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "snapshotDeviceObject"));
	vss_snapshot_unref(s);
}

/* ---- rejection --------------------------------------------------------- */

struct bad_doc {
	const char *what;
	const char *xml;
	int code;
	int line;
	const char *needle;  /* must appear in the message */
};

/* One line: an element's line is where its start tag ends. */
#define HEAD "<?xml version='1.0'?>\n<SNAPSHOT xmlns='" NS "' version='1'"
#define IDS  " snapshotId='" ID_TEXT "' snapshotSetId='" SET_TEXT "'"
#define BODY " snapshotsCount='1' snapshotAttributes='0' snapshotContext='0'"
#define OK   " status='CREATED'"

static const struct bad_doc bad_docs[] = {
	{ "truncated", HEAD IDS BODY " status='CREA", -VSS_E_CORRUPT_XML_DOCUMENT, 2, NULL },
	{ "not XML", "hello", -VSS_E_CORRUPT_XML_DOCUMENT, 1, NULL },
	{ "empty", "", -VSS_E_CORRUPT_XML_DOCUMENT, 1, "empty" },
	{ "mismatched tag", HEAD IDS BODY OK ">\n</SNAPSHOTS>", -VSS_E_CORRUPT_XML_DOCUMENT, 3, NULL },
	{ "attribute twice", HEAD IDS BODY OK " status='CREATED'/>", -VSS_E_CORRUPT_XML_DOCUMENT, 2,
	  "status" },
	{ "wrong root", "<?xml version='1.0'?>\n<CATALOG xmlns='" NS "' version='1'/>",
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "CATALOG" },
	{ "old root", "<?xml version='1.0'?>\n<snapshot xmlns='urn:vss:linux:snapshot:1' id='x'/>",
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "namespace" },
	{ "no namespace", "<SNAPSHOT version='1'" IDS BODY OK "/>", -VSS_E_INVALID_XML_DOCUMENT, 1,
	  "namespace" },
	{ "no version", "<SNAPSHOT xmlns='" NS "'" IDS BODY OK "/>", -VSS_E_INVALID_XML_DOCUMENT, 1,
	  "'version'" },
	{ "future version", "<SNAPSHOT xmlns='" NS "' version='2'" IDS BODY OK "/>",
	  -VSS_E_INVALID_XML_DOCUMENT, 1, "'2' is not supported" },
	{ "bad GUID", HEAD " snapshotId='{b5946137-7b9f-4925-af80-51abd60b20dX}' snapshotSetId='"
	  SET_TEXT "'" BODY OK "/>", -VSS_E_INVALID_XML_DOCUMENT, 2, "'snapshotId'" },
	{ "bad provider GUID", HEAD IDS BODY OK " providerId='nope'/>", -VSS_E_INVALID_XML_DOCUMENT, 2,
	  "<SNAPSHOT> attribute 'providerId': 'nope' is not a GUID" },
	{ "non-numeric count", HEAD IDS " snapshotsCount='one' snapshotAttributes='0' "
	  "snapshotContext='0'" OK "/>", -VSS_E_INVALID_XML_DOCUMENT, 2, "'snapshotsCount': 'one'" },
	{ "trailing junk in number", HEAD IDS BODY OK " holdNs='12ms'/>", -VSS_E_INVALID_XML_DOCUMENT,
	  2, "holdNs" },
	{ "negative count", HEAD IDS " snapshotsCount='-1' snapshotAttributes='0' "
	  "snapshotContext='0'" OK "/>", -VSS_E_INVALID_XML_DOCUMENT, 2, "snapshotsCount" },
	{ "hexadecimal attributes", HEAD IDS " snapshotsCount='1' snapshotAttributes='0x9' "
	  "snapshotContext='0'" OK "/>", -VSS_E_INVALID_XML_DOCUMENT, 2, "snapshotAttributes" },
	{ "overflowing attributes", HEAD IDS " snapshotsCount='1' snapshotAttributes='4294967296' "
	  "snapshotContext='0'" OK "/>", -VSS_E_INVALID_XML_DOCUMENT, 2, "snapshotAttributes" },
	{ "bad owner pid", HEAD IDS BODY OK " ownerPid='0'/>", -VSS_E_INVALID_XML_DOCUMENT, 2,
	  "ownerPid" },
	{ "owner start alone", HEAD IDS BODY OK " ownerStart='7'/>", -VSS_E_INVALID_XML_DOCUMENT, 2,
	  "ownerStart" },
	{ "unknown status", HEAD IDS BODY " status='Created'/>", -VSS_E_INVALID_XML_DOCUMENT, 2,
	  "'Created' is not one of UNKNOWN" },
	{ "unknown attribute", HEAD IDS BODY OK " colour='blue'/>", -VSS_E_INVALID_XML_DOCUMENT, 2,
	  "unknown attribute 'colour'" },
	{ "child element", HEAD IDS BODY OK ">\n<count>1</count>\n</SNAPSHOT>",
	  -VSS_E_INVALID_XML_DOCUMENT, 3, "unexpected element <count> in <SNAPSHOT>" },
	{ "text", HEAD IDS BODY OK ">\nhello\n</SNAPSHOT>", -VSS_E_INVALID_XML_DOCUMENT, 2,
	  "text is not allowed" },
	{ "missing status", HEAD IDS BODY "/>", -VSS_E_INVALID_XML_DOCUMENT, 2,
	  "<SNAPSHOT> lacks its 'status' attribute" },
	{ "missing id", HEAD " snapshotSetId='" SET_TEXT "'" BODY OK "/>",
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "lacks its 'snapshotId' attribute" },
	{ "entity declaration",
	  "<?xml version='1.0'?>\n<!DOCTYPE SNAPSHOT [<!ENTITY x 'xx'>]>\n"
	  "<SNAPSHOT xmlns='" NS "' version='1'" IDS BODY " status='&x;'/>",
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "DOCTYPE" },
	{ "external entity",
	  "<?xml version='1.0'?>\n<!DOCTYPE SNAPSHOT SYSTEM 'file:///etc/passwd'>\n"
	  "<SNAPSHOT xmlns='" NS "' version='1'" IDS BODY OK "/>",
	  -VSS_E_INVALID_XML_DOCUMENT, 2, "DOCTYPE" },
};

static void test_snapshot__rejects_bad_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		const struct bad_doc *b = &bad_docs[i];
		struct vss_snapshot *s = (struct vss_snapshot *)&s;  /* must stay untouched */
		const struct vss_error *e;
		int rc;

		rc = vss_snapshot_from_xml(b->xml, strlen(b->xml), "bad.xml", &s);
		e = vss_error_last();
		if (rc != b->code || e->line != b->line || (b->needle && !strstr(e->message, b->needle)))
			print_error("case '%s': rc %d line %d message '%s'\n", b->what, rc, e->line,
				    e->message);
		assert_int_equal(rc, b->code);
		assert_int_equal(e->code, b->code);
		assert_ptr_equal(s, (struct vss_snapshot *)&s);
		assert_non_null(e->file);
		assert_string_equal(e->file, "bad.xml");
		assert_int_equal(e->line, b->line);
		assert_true(strncmp(e->message, "bad.xml:", 8) == 0);
		if (b->needle)
			assert_non_null(strstr(e->message, b->needle));
	}
}

/* libxml2 must never write to stderr, whatever it is fed. */
static void test_snapshot__libxml2_prints_nothing(void **state)
{
	char path[] = "/tmp/test-snapshot-stderr-XXXXXX";
	struct stat st;
	int fd, saved;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	for (size_t i = 0; i < sizeof(bad_docs) / sizeof(bad_docs[0]); i++) {
		struct vss_snapshot *s = NULL;

		vss_snapshot_from_xml(bad_docs[i].xml, strlen(bad_docs[i].xml), "bad.xml", &s);
		vss_snapshot_unref(s);
	}
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	assert_int_equal(st.st_size, 0);
}

/* ---- documents of lists ---------------------------------------------- */

static struct vss_snapshot *timed_snapshot(int64_t t, uint8_t idbyte)
{
	struct vss_snapshot *s = vss__snapshot_new();

	assert_non_null(s);
	memset(s->id.bytes, idbyte, sizeof(s->id.bytes));
	s->creation_time = t;
	s->state = VSS_SS_CREATED;
	return s;
}

static void test_snapshot__list_sort_find_remove(void **state)
{
	struct vss_snapshot_list *l = vss__snapshot_list_new();
	struct vss_snapshot *a = timed_snapshot(30, 1), *b = timed_snapshot(10, 9),
			    *c = timed_snapshot(10, 2), *d = timed_snapshot(20, 5);

	(void)state;
	assert_non_null(l);
	assert_int_equal(vss__snapshot_list_append(l, a), 0);
	assert_int_equal(vss__snapshot_list_append(l, b), 0);
	assert_int_equal(vss__snapshot_list_append(l, c), 0);
	assert_int_equal(vss__snapshot_list_append(l, d), 0);
	assert_int_equal(a->refcount, 2);
	vss__snapshot_list_sort(l);
	assert_int_equal(vss_snapshot_list_count(l), 4);
	assert_ptr_equal(vss_snapshot_list_get(l, 0), c);  /* same time: by id */
	assert_ptr_equal(vss_snapshot_list_get(l, 1), b);
	assert_ptr_equal(vss_snapshot_list_get(l, 2), d);
	assert_ptr_equal(vss_snapshot_list_get(l, 3), a);
	assert_null(vss_snapshot_list_get(l, 4));
	assert_int_equal(vss__snapshot_list_find(l, &d->id), 2);
	vss__snapshot_list_remove_at(l, 2);
	assert_int_equal(d->refcount, 1);
	assert_int_equal(vss__snapshot_list_find(l, &d->id), -1);
	assert_ptr_equal(vss_snapshot_list_get(l, 2), a);
	assert_int_equal(vss_snapshot_list_count(l), 3);
	assert_ptr_equal(vss_snapshot_list_ref(l), l);
	assert_null(vss_snapshot_list_unref(l));
	assert_int_equal(a->refcount, 2);
	assert_null(vss_snapshot_list_unref(l));
	assert_int_equal(a->refcount, 1);
	assert_int_equal(vss_snapshot_list_count(NULL), 0);
	vss_snapshot_unref(a);
	vss_snapshot_unref(b);
	vss_snapshot_unref(c);
	vss_snapshot_unref(d);
}

static void test_snapshot__list_document_round_trip(void **state)
{
	static const char *const attrs[] = { "snapshotSetId", SET_BARE, "creatorPid", "17",
					     "creatorStart", "99", NULL };
	struct vss_snapshot_list *l = vss__snapshot_list_new(), *back = NULL;
	struct vss_snapshot *a = full_snapshot(), *b = timed_snapshot(5, 7);
	char **got = NULL, *xml = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(vss__snapshot_list_append(l, a), 0);
	assert_int_equal(vss__snapshot_list_append(l, b), 0);
	assert_int_equal(vss__snapshots_to_xml("PENDING_SET", attrs, l, &xml, &len), 0);
	assert_int_equal(len, strlen(xml));
	assert_non_null(strstr(xml, "<PENDING_SET xmlns=\"" NS "\" version=\"1\" snapshotSetId=\""
				    SET_BARE "\" creatorPid=\"17\" creatorStart=\"99\">\n"
				    "  <SNAPSHOT snapshotId=\"" ID_BARE "\" "));
	assert_int_equal(vss__snapshots_from_xml(xml, len, "p.xml", "PENDING_SET", &back, &got), 0);
	assert_int_equal(vss_snapshot_list_count(back), 2);
	assert_same_snapshot(a, vss_snapshot_list_get(back, 0));
	assert_same_snapshot(b, vss_snapshot_list_get(back, 1));
	for (size_t i = 0; i < 6; i++) {
		assert_non_null(got[i]);
		assert_string_equal(got[i], attrs[i]);
	}
	assert_null(got[6]);
	for (size_t i = 0; got[i]; i++)
		free(got[i]);
	free(got);
	vss_snapshot_list_unref(back);
	back = NULL;
	/* The root must be the one asked for, although the schema allows all. */
	assert_int_equal(vss__snapshots_from_xml(xml, len, "p.xml", "CATALOG", &back, NULL),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_null(back);
	assert_non_null(strstr(vss_error_last()->message, "PENDING_SET"));
	free(xml);
	/* A journal without its creator breaks the schema. */
	assert_int_equal(vss__snapshots_to_xml("PENDING_SET", attrs + 2, l, &xml, &len), 0);
	assert_int_equal(vss__snapshots_from_xml(xml, len, "p.xml", "PENDING_SET", &back, NULL),
			 -VSS_E_INVALID_XML_DOCUMENT);
	assert_int_equal(vss_error_last()->line, 2);
	assert_string_equal(vss_error_last()->file, "p.xml");
	assert_non_null(strstr(vss_error_last()->message, "<PENDING_SET> lacks its 'snapshotSetId'"));
	free(xml);
	/* version belongs to the writer, not to the caller. */
	{
		static const char *const bad[] = { "version", "2", NULL };

		xml = NULL;
		assert_int_equal(vss__snapshots_to_xml("CATALOG", bad, l, &xml, &len), -EINVAL);
		assert_null(xml);
	}
	vss_snapshot_list_unref(l);
	vss_snapshot_unref(a);
	vss_snapshot_unref(b);
}

#define ITEM "<SNAPSHOT snapshotId='" ID_TEXT "' snapshotSetId='" SET_TEXT "'" BODY OK "/>\n"

static void test_snapshot__list_document_rejects(void **state)
{
	static const struct bad_doc docs[] = {
		{ "duplicate", "<CATALOG xmlns='" NS "' version='1'>\n" ITEM
		  "<SNAPSHOT snapshotId='" ID_BARE "' snapshotSetId='" SET_TEXT "'" BODY OK "/>\n"
		  ITEM "</CATALOG>\n", -VSS_E_INVALID_XML_DOCUMENT, 3, "listed twice" },
		{ "version on a listed copy", "<CATALOG xmlns='" NS "' version='1'>\n"
		  "<SNAPSHOT version='1' snapshotId='" ID_TEXT "' snapshotSetId='" SET_TEXT "'" BODY OK
		  "/>\n</CATALOG>\n", -VSS_E_INVALID_XML_DOCUMENT, 2, "unknown attribute 'version'" },
		{ "something else listed", "<CATALOG xmlns='" NS "' version='1'>\n" ITEM
		  "<COPY/>\n</CATALOG>\n", -VSS_E_INVALID_XML_DOCUMENT, 3, "found <COPY>" },
		{ "bad set GUID", "<PENDING_SET xmlns='" NS "' version='1' snapshotSetId='x' "
		  "creatorPid='1' creatorStart='2'/>", -VSS_E_INVALID_XML_DOCUMENT, 1,
		  "<PENDING_SET> attribute 'snapshotSetId': 'x' is not a GUID" },
		{ "bad creator", "<PENDING_SET xmlns='" NS "' version='1' snapshotSetId='" SET_BARE "' "
		  "creatorPid='me' creatorStart='2'/>", -VSS_E_INVALID_XML_DOCUMENT, 1, "creatorPid" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		const struct bad_doc *b = &docs[i];
		struct vss_snapshot_list *l = NULL;
		const char *root = strstr(b->xml, "<PENDING_SET") ? "PENDING_SET" : "CATALOG";
		int rc = vss__snapshots_from_xml(b->xml, strlen(b->xml), "c.xml", root, &l, NULL);
		const struct vss_error *e = vss_error_last();

		if (rc != b->code || e->line != b->line || !strstr(e->message, b->needle))
			print_error("case '%s': rc %d line %d message '%s'\n", b->what, rc, e->line,
				    e->message);
		assert_int_equal(rc, b->code);
		assert_null(l);
		assert_int_equal(e->line, b->line);
		assert_non_null(strstr(e->message, b->needle));
	}
}

/* ---- properties files ------------------------------------------------ */

static void test_snapshot__props_file(void **state)
{
	char dir[] = "/tmp/test-snapshot-XXXXXX";
	struct vss_snapshot *s = full_snapshot(), *back = NULL;
	struct sbuf want = SBUF_INIT;
	char *path;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vss__strset(&s->store, dir), 0);
	path = vss__snapshot_props_path(s);
	assert_int_equal(sbuf_addf(&want, "%s/b5946137-7b9f-4925-af80-51abd60b20d5.xml", dir), 0);
	assert_string_equal(path, sbuf_str(&want));
	assert_int_equal(vss__snapshot_write_props(s), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(vss__snapshot_read_props(path, &back), 0);
	assert_same_snapshot(s, back);
	vss_snapshot_unref(back);
	back = NULL;
	assert_int_equal(vss__snapshot_remove_props(s), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(vss__snapshot_remove_props(s), 0);
	assert_int_equal(vss__snapshot_read_props(path, &back), -ENOENT);
	assert_null(back);
	assert_non_null(strstr(vss_error_last()->message, path));
	/* No store: no file name, and a clear error when writing. */
	assert_int_equal(vss__strset(&s->store, NULL), 0);
	assert_null(vss__snapshot_props_path(s));
	assert_int_equal(vss__snapshot_write_props(s), -EINVAL);
	assert_int_equal(vss__snapshot_remove_props(s), 0);
	assert_int_equal(rmdir(dir), 0);
	sbuf_release(&want);
	free(path);
	vss_snapshot_unref(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot__state_names),
		cmocka_unit_test(test_snapshot__context_names),
		cmocka_unit_test(test_snapshot__attributes_format),
		cmocka_unit_test(test_snapshot__xml_round_trip_full),
		cmocka_unit_test(test_snapshot__xml_round_trip_minimal),
		cmocka_unit_test(test_snapshot__xml_every_status),
		cmocka_unit_test(test_snapshot__xml_lenient_reading),
		cmocka_unit_test(test_snapshot__xml_canonical),
		cmocka_unit_test(test_snapshot__xml_refuses_unwritable_text),
		cmocka_unit_test(test_snapshot__rejects_bad_documents),
		cmocka_unit_test(test_snapshot__libxml2_prints_nothing),
		cmocka_unit_test(test_snapshot__list_sort_find_remove),
		cmocka_unit_test(test_snapshot__list_document_round_trip),
		cmocka_unit_test(test_snapshot__list_document_rejects),
		cmocka_unit_test(test_snapshot__props_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
