/*
 * <vss/volume.h> — volumes: mounted filesystems and the devices under them.
 *
 * A volume is named by its mount point, its device path, UUID=..., or
 * LABEL=... (resolved with libblkid and libmount).  On btrfs the root
 * directory of a subvolume is a volume too, mounted or not.  Resolving reads
 * the mount table as it is now; a volume object is a snapshot of those facts.
 */
#ifndef VSS_VOLUME_H
#define VSS_VOLUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <vss/common.h>

struct vss_volume;

/*
 * Resolve name.  Errors, each with a message naming the input and what to
 * name instead:
 *   -VSS_E_OBJECT_NOT_FOUND  nothing of that name exists, the device or
 *                            UUID/LABEL is not mounted, or a directory is
 *                            neither a mount point nor a btrfs subvolume;
 *   -EINVAL                  empty name, malformed UUID=/LABEL=;
 *   -VSS_E_VOLUME_NOT_SUPPORTED  a device mounted at several different roots
 *                            (btrfs subvolumes): name a mount point.
 */
VSS_EXPORT int vss_volume_resolve(const char *name, struct vss_volume **ret);
VSS_EXPORT struct vss_volume *vss_volume_ref(struct vss_volume *vol);
VSS_EXPORT struct vss_volume *vss_volume_unref(struct vss_volume *vol);

/* The name as given to vss_volume_resolve(). */
VSS_EXPORT const char *vss_volume_get_name(const struct vss_volume *vol);
/* The directory that is the root of the volume (canonical, no trailing /). */
VSS_EXPORT const char *vss_volume_get_path(const struct vss_volume *vol);
/* The mount point of the filesystem holding the volume (== path when the
 * volume is itself mounted). */
VSS_EXPORT const char *vss_volume_get_mountpoint(const struct vss_volume *vol);
/* Every mount point where this same filesystem root is mounted. */
VSS_EXPORT size_t vss_volume_get_mountpoint_count(const struct vss_volume *vol);
VSS_EXPORT const char *vss_volume_get_mountpoint_at(const struct vss_volume *vol, size_t i);
/* The path of the volume root inside its filesystem: "/" or e.g. "/@data". */
VSS_EXPORT const char *vss_volume_get_fsroot(const struct vss_volume *vol);
/* The block device ("/dev/loop3"), or NULL when there is none. */
VSS_EXPORT const char *vss_volume_get_device(const struct vss_volume *vol);
VSS_EXPORT dev_t vss_volume_get_devno(const struct vss_volume *vol);
VSS_EXPORT const char *vss_volume_get_fstype(const struct vss_volume *vol);
/* Filesystem UUID and label, or NULL. */
VSS_EXPORT const char *vss_volume_get_uuid(const struct vss_volume *vol);
VSS_EXPORT const char *vss_volume_get_label(const struct vss_volume *vol);
/* Size of the block device in bytes, 0 when unknown. */
VSS_EXPORT uint64_t vss_volume_get_size(const struct vss_volume *vol);
/* For a loop device: the file behind it (absolute), else NULL. */
VSS_EXPORT const char *vss_volume_get_backing_file(const struct vss_volume *vol);
/* On btrfs: the id of the subvolume at the volume root, else 0. */
VSS_EXPORT uint64_t vss_volume_get_subvolume_id(const struct vss_volume *vol);
VSS_EXPORT bool vss_volume_is_read_only(const struct vss_volume *vol);

/*
 * True when vol is the same volume as the one a copy was taken of: same
 * filesystem UUID and root, or — when either has no UUID — same device and
 * root.
 */
VSS_EXPORT bool vss_volume_is_same(const struct vss_volume *vol, const char *uuid,
				   const char *device, const char *fsroot);

#endif
