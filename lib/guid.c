/*
 * GUIDs through libuuid.  The byte order is libuuid's (RFC 4122, big
 * endian), so the text form round-trips with uuidgen(1) and blkid.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <uuid/uuid.h>

#include "vss-private.h"
#include "util/banned.h"

VSS_EXPORT void vss_guid_generate(struct vss_guid *ret)
{
	uuid_generate_random(ret->bytes);
}

VSS_EXPORT int vss_guid_parse(const char *text, struct vss_guid *ret)
{
	char bare[37];
	size_t len;
	uuid_t u;

	if (!text)
		return vss__error(-EINVAL, "no GUID given");
	len = strlen(text);
	if (len == 38 && text[0] == '{' && text[37] == '}') {
		memcpy(bare, text + 1, 36);
	} else if (len == 36) {
		memcpy(bare, text, 36);
	} else {
		goto invalid;
	}
	bare[36] = '\0';
	/* uuid_parse() is lenient about nothing we need, but check the shape
	 * ourselves so the rules are ours and written down. */
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? bare[i] != '-' : !isxdigit((unsigned char)bare[i]))
			goto invalid;
	}
	if (uuid_parse(bare, u) != 0)
		goto invalid;
	memcpy(ret->bytes, u, sizeof(ret->bytes));
	return 0;
invalid:
	return vss__error(-EINVAL,
			  "'%s' is not a GUID (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})",
			  text);
}

VSS_EXPORT char *vss_guid_format(const struct vss_guid *guid, unsigned flags,
				 char buf[VSS_GUID_STRING_MAX])
{
	char *p = buf;

	if (flags & VSS_GUID_BRACES)
		*p++ = '{';
	if (flags & VSS_GUID_UPPER)
		uuid_unparse_upper(guid->bytes, p);
	else
		uuid_unparse_lower(guid->bytes, p);
	if (flags & VSS_GUID_BRACES) {
		p[36] = '}';
		p[37] = '\0';
	}
	return buf;
}

VSS_EXPORT bool vss_guid_is_null(const struct vss_guid *guid)
{
	for (size_t i = 0; i < sizeof(guid->bytes); i++)
		if (guid->bytes[i])
			return false;
	return true;
}

VSS_EXPORT bool vss_guid_equal(const struct vss_guid *a, const struct vss_guid *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}
