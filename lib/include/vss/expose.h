/*
 * <vss/expose.h> — making shadow copies visible: read-only at a path, as a
 * read-only block device, and to SMB clients as previous versions
 * (reference §4.6, diskshadow expose/unexpose).
 *
 * An exposure is recorded in the copy's properties (beside the copy and in
 * the catalog): where it is (vss_snapshot_get_exposed_name()), the share
 * sub-path for SMB (vss_snapshot_get_exposed_path()), the attribute
 * VSS_VOLSNAP_ATTR_EXPOSED_LOCALLY or _REMOTELY, and what must be undone
 * (mount point, loop device).  Exposures that vanished behind our back
 * (reboot, manual umount, loop device detached) are found by
 * vss_expose_reconcile() and reported, never silently assumed.
 *
 * Everything here that changes state needs root.
 */
#ifndef VSS_EXPOSE_H
#define VSS_EXPOSE_H

#include <vss/common.h>
#include <vss/guid.h>

struct vss_context;

enum vss_expose_flags {
	/* Allow executing programs from the exposed copy (default noexec). */
	VSS_EXPOSE_EXEC = 1 << 0,
};

enum vss_unexpose_flags {
	/* Unmount lazily when the mount is busy (umount -l). */
	VSS_UNEXPOSE_FORCE = 1 << 0,
};

/*
 * Mount copy id read-only (nosuid, nodev, noexec unless VSS_EXPOSE_EXEC) at
 * path, an existing empty directory that is not a mount point.  btrfs: the
 * copy's subvolume, bind-mounted read-only; image: a read-only loop device
 * of the clone, mounted with what a clone of a frozen filesystem needs
 * (XFS nouuid,norecovery; ext4 noload).
 * -VSS_E_OBJECT_NOT_FOUND (no such copy), -VSS_E_OBJECT_ALREADY_EXISTS
 * (already exposed; the message says where), -ENOTDIR, -ENOTEMPTY, -EBUSY
 * (path is a mount point), -EPERM (not root).  On failure nothing is left
 * mounted or attached.
 */
VSS_EXPORT int vss_expose_local(struct vss_context *ctx, const struct vss_guid *id,
				const char *path, unsigned int flags);

/*
 * A read-only block device holding copy id: image copies get a read-only
 * loop device of the clone (*ret, malloc()ed: "/dev/loop7").  btrfs copies
 * have no block device of their own: -VSS_E_NOT_SUPPORTED, saying to
 * expose them at a path instead.
 */
VSS_EXPORT int vss_expose_device(struct vss_context *ctx, const struct vss_guid *id, char **ret);

/*
 * Undo exactly what exposing did: unmount, detach the loop device, remove
 * an @GMT entry.  what is a shadow copy ID, a mount point or a device the
 * copy is exposed at.  A busy mount is -EBUSY ("... is in use; close what
 * uses it, or use --force"), unless VSS_UNEXPOSE_FORCE.
 * -VSS_E_OBJECT_NOT_FOUND when nothing is exposed there.
 */
VSS_EXPORT int vss_unexpose(struct vss_context *ctx, const char *what, unsigned int flags);

/*
 * SMB previous versions: expose each copy of ids (n of them; copies of the
 * volume that holds share_path) at share_path/.snapshots/@GMT-YYYY.MM.DD-
 * HH.MM.SS (its creation time, UTC), the name Samba's vfs_shadow_copy2
 * reads.  *ret_conf (malloc()ed, may be NULL) receives the smb.conf lines
 * for the share that make Samba show them.  All or nothing.
 */
VSS_EXPORT int vss_expose_smb(struct vss_context *ctx, const char *share_path,
			      const struct vss_guid *ids, size_t n, char **ret_conf);

/*
 * Check every recorded exposure against the system (mountinfo, loop
 * devices, @GMT entries); one that vanished is cleared from the copy's
 * properties and reported (VSS_NOTICE_UNEXPOSED).  Needs root to change
 * anything; without root it changes nothing and returns 0.
 */
VSS_EXPORT int vss_expose_reconcile(struct vss_context *ctx);

#endif
