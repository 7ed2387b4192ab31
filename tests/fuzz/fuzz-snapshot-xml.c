/*
 * libFuzzer target: the three state documents that come from disk — the
 * properties file of a shadow copy (<SNAPSHOT>, vss_snapshot_from_xml), the
 * catalog (<CATALOG>) and the pending-set journal (<PENDING_SET>); every
 * input goes to all three readers.  Seeds: tests/fuzz/corpus/snapshot-xml/.
 *
 * Beyond "no crash, no leak": a document that is accepted must write back
 * and read again to the same bytes (saving is canonical), and a rejected
 * one must leave a reading error (never an errno) with a message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vss-private.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_refusal(int rc)
{
	if (rc != -VSS_E_CORRUPT_XML_DOCUMENT && rc != -VSS_E_INVALID_XML_DOCUMENT && rc != -ENOMEM)
		abort();
	if (!vss_error_last()->message[0])
		abort();
}

static void one_copy(const uint8_t *data, size_t size)
{
	struct vss_snapshot *snap = NULL, *again = NULL;
	char *xml = NULL, *xml2 = NULL;
	int rc;

	rc = vss_snapshot_from_xml((const char *)data, size, "fuzz.xml", &snap);
	if (rc < 0) {
		check_refusal(rc);
		return;
	}
	if (vss_snapshot_to_xml(snap, &xml) < 0)
		abort();
	if (vss_snapshot_from_xml(xml, strlen(xml), "fuzz-again.xml", &again) < 0)
		abort();
	if (vss_snapshot_to_xml(again, &xml2) < 0 || strcmp(xml, xml2) != 0)
		abort();
	free(xml2);
	free(xml);
	vss_snapshot_unref(again);
	vss_snapshot_unref(snap);
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void list(const uint8_t *data, size_t size, const char *root)
{
	struct vss_snapshot_list *l = NULL, *again = NULL;
	char **attrs = NULL, **attrs2 = NULL, *xml = NULL, *xml2 = NULL;
	size_t len = 0, len2 = 0;
	int rc;

	rc = vss__snapshots_from_xml((const char *)data, size, "fuzz.xml", root, &l, &attrs);
	if (rc < 0) {
		check_refusal(rc);
		return;
	}
	if (vss__snapshots_to_xml(root, (const char *const *)attrs, l, &xml, &len) < 0)
		abort();
	if (vss__snapshots_from_xml(xml, len, "fuzz-again.xml", root, &again, &attrs2) < 0)
		abort();
	if (vss__snapshots_to_xml(root, (const char *const *)attrs2, again, &xml2, &len2) < 0 ||
	    len != len2 || memcmp(xml, xml2, len) != 0)
		abort();
	free(xml2);
	free(xml);
	free_strv(attrs2);
	free_strv(attrs);
	vss_snapshot_list_unref(again);
	vss_snapshot_list_unref(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one_copy(data, size);
	list(data, size, "CATALOG");
	list(data, size, "PENDING_SET");
	return 0;
}
