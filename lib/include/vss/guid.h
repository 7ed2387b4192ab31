/*
 * <vss/guid.h> — identifiers of shadow copies, sets, writers and providers.
 *
 * A GUID is a 16-byte value type.  Text form: xxxxxxxx-xxxx-xxxx-xxxx-
 * xxxxxxxxxxxx, optionally in braces, either case.  Tools print it in braces
 * and lower case, as vssadmin does.
 */
#ifndef VSS_GUID_H
#define VSS_GUID_H

#include <stdbool.h>
#include <stdint.h>
#include <vss/common.h>

struct vss_guid {
	uint8_t bytes[16];
};

/* Room for "{" 36 characters "}" and the NUL. */
#define VSS_GUID_STRING_MAX 39

enum vss_guid_format_flags {
	VSS_GUID_BRACES = 1 << 0,  /* "{...}" */
	VSS_GUID_UPPER  = 1 << 1,  /* upper-case hex digits */
};

/* A new random GUID. */
VSS_EXPORT void vss_guid_generate(struct vss_guid *ret);

/*
 * Parse text: 36 characters with dashes at the usual places, or the same in
 * braces.  Anything else (missing or extra characters, unbalanced braces,
 * non-hex digits) gives -EINVAL and a message naming the text.
 */
VSS_EXPORT int vss_guid_parse(const char *text, struct vss_guid *ret);

/* Format into buf (VSS_GUID_STRING_MAX bytes); returns buf. */
VSS_EXPORT char *vss_guid_format(const struct vss_guid *guid, unsigned flags,
				 char buf[VSS_GUID_STRING_MAX]);

VSS_EXPORT bool vss_guid_is_null(const struct vss_guid *guid);
VSS_EXPORT bool vss_guid_equal(const struct vss_guid *a, const struct vss_guid *b);

#endif
