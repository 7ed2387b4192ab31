/*
 * libFuzzer target: the Backup Components Document reader (vss_bcd_load),
 * which reads documents saved with backups — and documents from Windows.
 *
 * Beyond "no crash, no leak": a document that is accepted must save, load
 * again and save to the very same text; a rejected one must leave a
 * reading error (never an errno but ENOMEM) with a message.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vss.h"
#include "vss/bcd.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vss_bcd *bcd = NULL, *again = NULL;
	char *xml = NULL, *xml2 = NULL;
	size_t len = 0, len2 = 0;
	int rc;

	rc = vss_bcd_load((const char *)data, size, "fuzz.xml", &bcd);
	if (rc < 0) {
		if (rc != -VSS_E_CORRUPT_XML_DOCUMENT && rc != -VSS_E_INVALID_XML_DOCUMENT &&
		    rc != -ENOMEM)
			abort();
		if (!vss_error_last()->message[0] || bcd)
			abort();
		return 0;
	}
	if (vss_bcd_save(bcd, &xml, &len) < 0)
		abort();
	if (vss_bcd_load(xml, len, "fuzz-again.xml", &again) < 0)
		abort();
	if (vss_bcd_save(again, &xml2, &len2) < 0 || len != len2 || memcmp(xml, xml2, len) != 0)
		abort();
	free(xml2);
	free(xml);
	vss_bcd_unref(again);
	vss_bcd_unref(bcd);
	return 0;
}
