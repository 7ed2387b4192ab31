/*
 * Reverting a volume (internal to libvss): the state shared by the generic
 * part (lib/revert.c: checks, safety copy, unmounting and mounting again)
 * and the provider's part, which replaces the volume's data
 * (struct vss_provider.revert, in provider-btrfs.c and provider-image.c).
 */
#ifndef VSS_REVERT_PRIVATE_H
#define VSS_REVERT_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "vss-private.h"

/* One mount of the volume, as /proc/self/mountinfo had it. */
struct vss__revert_mount {
	char *target;
	char *fstype;
	char *vfs_options;   /* "rw,relatime" */
	char *fs_options;    /* "space_cache=v2,subvolid=256,subvol=/vol" */
	bool unmounted;
};

struct vss__revert {
	struct vss_context *ctx;
	struct vss_snapshot *snap;          /* the copy reverted to */
	struct vss_volume *vol;
	const struct vss_provider *prov;    /* the one that made the copy */
	unsigned int flags;                 /* enum vss_revert_flags */
	char guid[VSS_GUID_STRING_MAX];     /* the copy's ID, with braces */
	struct sbuf plan;                   /* the steps, done or to be done */

	struct vss__revert_mount *mounts;   /* table order */
	size_t nmounts;
	char *source;                       /* what the volume is mounted from */

	struct vss_snapshot_list *safety;   /* the safety copy, once made */
	bool changed;                       /* the volume's data was replaced */
	int lock_fd;

	void *engine;                       /* the provider's own state */
};

/* The provider's part of a revert; NULL in a provider that cannot. */
struct vss__revert_ops {
	/* Before anything changes: may the volume be reverted to the copy?
	 * A refusal names why.  May set r->engine (freed by free). */
	int (*check)(struct vss__revert *r);
	/* A dry run: the provider's steps, with vss__revert_step(). */
	int (*plan)(struct vss__revert *r);
	/* Before the volume is unmounted: set r->source. */
	int (*begin)(struct vss__revert *r);
	/*
	 * With every mount of the volume gone: replace its data by the
	 * copy's, setting r->changed once it is replaced.  Whatever happens,
	 * the volume's device is back on return (r->source).  On a failure
	 * before r->changed, nothing of the volume is changed.
	 */
	int (*swap)(struct vss__revert *r);
	/* The fs options to mount the volume again with (*data, from the
	 * mount table) adjusted; NULL: as they were. */
	int (*mount_data)(const struct vss__revert *r, char **data);
	/* A mount of root, a part of the volume (fsroot), that moves with it
	 * (a copy in the store); NULL: none does. */
	bool (*moves_with_volume)(const struct vss__revert *r, const char *root,
				  const char *fsroot);
	/* The volume may be reverted while it is not mounted itself. */
	bool unmounted_ok;
	/* After the volume is mounted again (or not): release r->engine. */
	void (*free)(struct vss__revert *r);
};

/* Add a line to the steps.  0 or -ENOMEM. */
int vss__revert_step(struct vss__revert *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

extern const struct vss__revert_ops vss__revert_btrfs;
extern const struct vss__revert_ops vss__revert_image;

#endif
