/*
 * libFuzzer target: the properties document of a shadow copy
 * (vss_snapshot_from_xml), the reader that sees files from disk.
 *
 * Beyond "no crash, no leak": a document that is accepted must write back
 * and read again to the same document, and a rejected one must leave a
 * reading error (never an errno) with a message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vss_snapshot *snap = NULL, *again = NULL;
	char *xml = NULL, *xml2 = NULL;
	int rc;

	rc = vss_snapshot_from_xml((const char *)data, size, "fuzz.xml", &snap);
	if (rc < 0) {
		if (rc != -VSS_E_CORRUPT_XML_DOCUMENT && rc != -VSS_E_INVALID_XML_DOCUMENT &&
		    rc != -ENOMEM)
			abort();
		if (!vss_error_last()->message[0])
			abort();
		return 0;
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
	return 0;
}
