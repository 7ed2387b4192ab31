/*
 * libFuzzer target: the Writer Metadata Document reader (vss_wmd_load), which
 * sees documents written by writers and captured from other machines.
 *
 * Beyond "no crash, no leak": a document that is accepted must save, load
 * again, and save again to the same bytes (saving is canonical), and a
 * rejected one must leave a reading error (never another errno) with a
 * message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"
#include "vss/wmd.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vss_wmd *wmd = NULL, *again = NULL;
	char *xml = NULL, *xml2 = NULL;
	size_t len = 0, len2 = 0;
	int rc;

	rc = vss_wmd_load((const char *)data, size, "fuzz.xml", &wmd);
	if (rc < 0) {
		if (rc != -VSS_E_CORRUPT_XML_DOCUMENT && rc != -VSS_E_INVALID_XML_DOCUMENT &&
		    rc != -ENOMEM)
			abort();
		if (!vss_error_last()->message[0] || wmd)
			abort();
		return 0;
	}
	if (vss_wmd_save(wmd, &xml, &len) < 0)
		abort();
	if (vss_wmd_load(xml, len, "fuzz-again.xml", &again) < 0)
		abort();
	if (vss_wmd_save(again, &xml2, &len2) < 0 || len != len2 || memcmp(xml, xml2, len) != 0)
		abort();
	free(xml2);
	free(xml);
	vss_wmd_unref(again);
	vss_wmd_unref(wmd);
	return 0;
}
