/*
 * <vss/revert.h> — rolling a volume back to one of its shadow copies
 * (vssadmin revert shadow, diskshadow revert).
 *
 * The volume's current state is first kept as a new shadow copy (the
 * safety copy), so that the revert itself can be undone, unless
 * VSS_REVERT_NO_SAFETY_COPY.  Then:
 *   btrfs  the volume's subvolume is replaced by a writable snapshot of the
 *          copy (the store of copies, a nested subvolume, moves over);
 *          the top-level subvolume cannot be replaced;
 *   image  the backing file is replaced by a reflink clone of the copy's
 *          image while the volume is detached.
 * The volume is unmounted for the swap and mounted again as it was, and
 * only with VSS_REVERT_REMOUNT: without it, a mounted volume is refused
 * (-VSS_E_VOLUME_IN_USE) and the message says to allow the remount.  A
 * volume that is in use (busy mount, open files) is refused with
 * -VSS_E_VOLUME_IN_USE naming it, and nothing is changed (a safety copy
 * already made is deleted again).
 */
#ifndef VSS_REVERT_H
#define VSS_REVERT_H

#include <vss/common.h>
#include <vss/guid.h>

struct vss_context;

enum vss_revert_flags {
	VSS_REVERT_NO_SAFETY_COPY = 1 << 0,
	/* Say what would be done (*ret_plan), change nothing. */
	VSS_REVERT_DRY_RUN        = 1 << 1,
	/* The volume may be unmounted and mounted again for the swap. */
	VSS_REVERT_REMOUNT        = 1 << 2,
};

/*
 * Revert the original volume of copy id to it.  ret_safety_id (may be
 * NULL) receives the safety copy's ID (null GUID without one); ret_plan
 * (may be NULL) the steps, one per line, done or (dry run) to be done.
 * Needs root.
 */
VSS_EXPORT int vss_revert(struct vss_context *ctx, const struct vss_guid *id, unsigned int flags,
			  struct vss_guid *ret_safety_id, char **ret_plan);

#endif
