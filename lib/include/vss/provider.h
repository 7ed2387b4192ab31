/*
 * <vss/provider.h> — the snapshot engines known to this library.
 *
 * Built in: "btrfs" (read-only subvolume snapshots through libbtrfsutil) and
 * "image" (reflink clones of the image file behind a loop-device volume,
 * taken while the volume is frozen).  Providers are picked per volume: the
 * first in this list that supports it, unless one is named.
 */
#ifndef VSS_PROVIDER_H
#define VSS_PROVIDER_H

#include <stddef.h>
#include <vss/common.h>
#include <vss/guid.h>

struct vss_provider;
struct vss_volume;

/* VSS_PROVIDER_TYPE */
enum vss_provider_type {
	VSS_PROV_UNKNOWN = 0,
	VSS_PROV_SYSTEM = 1,
	VSS_PROV_SOFTWARE = 2,
	VSS_PROV_HARDWARE = 3,
	VSS_PROV_FILESHARE = 4,
};

VSS_EXPORT size_t vss_provider_count(void);
/* Borrowed, static; NULL past the end. */
VSS_EXPORT const struct vss_provider *vss_provider_at(size_t i);
/* By short name ("btrfs"), or by ID in text; NULL with -VSS_E_PROVIDER_NOT_REGISTERED
 * in vss_error_last() when unknown. */
VSS_EXPORT const struct vss_provider *vss_provider_find(const char *name_or_id);

VSS_EXPORT const char *vss_provider_get_name(const struct vss_provider *prov);
VSS_EXPORT const char *vss_provider_get_display_name(const struct vss_provider *prov);
VSS_EXPORT const char *vss_provider_get_version(const struct vss_provider *prov);
VSS_EXPORT const struct vss_guid *vss_provider_get_id(const struct vss_provider *prov);
VSS_EXPORT enum vss_provider_type vss_provider_get_type(const struct vss_provider *prov);

/*
 * 0 when prov can make copies of vol, else -VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER
 * with a message saying why (e.g. "'/srv' is ext4 on /dev/sda1, not a loop device").
 */
VSS_EXPORT int vss_provider_supports(const struct vss_provider *prov, const struct vss_volume *vol);

#endif
