/*
 * The image provider: reflink clones of the file behind a loop-device
 * volume.
 *
 * The copy of a volume on /dev/loopN is a clone (FICLONE) of loopN's
 * backing file, made in "<directory of the backing file>/.vss/<guid>.img".
 * A clone shares every extent with the original and costs only metadata;
 * the blocks diverge as the volume is written afterwards.  Only filesystems
 * that can share extents can do this (XFS with reflink, btrfs); elsewhere
 * we refuse with a clear error.  We never fall back to copying the data: a
 * copy of a live image is neither instant nor consistent.
 *
 * Why the volume is frozen during the clone (needs_freeze): the loop device
 * writes through the backing file's page cache.  FIFREEZE on the volume
 * flushes the volume's filesystem down to the loop device and blocks new
 * writes to it; FICLONE (remap_file_range) then writes back and waits for
 * the backing file's dirty pages before it shares the extents.  So the clone
 * holds exactly the frozen, consistent state of the volume.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <libmount.h>

#include "vss-private.h"
#include "revert-private.h"
#include "util/file.h"
#include "util/banned.h"

/* A store with less free space than this is refused at prepare. */
#define IMAGE_MIN_FREE (1024 * 1024)

/* The type of the filesystem holding path, malloc()ed ("ext4"), or NULL. */
static char *fstype_of(const char *path)
{
	struct libmnt_table *tb = mnt_new_table();
	struct libmnt_fs *fs;
	char *type = NULL;

	if (tb && mnt_table_parse_file(tb, "/proc/self/mountinfo") == 0) {
		fs = mnt_table_find_mountpoint(tb, path, MNT_ITER_BACKWARD);
		if (fs && mnt_fs_get_fstype(fs))
			type = strdup(mnt_fs_get_fstype(fs));
	}
	mnt_unref_table(tb);
	return type;
}

static int no_reflink_error(int code, const char *file)
{
	char *type = fstype_of(file);
	int rc;

	rc = vss__error(code, "'%s' is on %s, which cannot clone files; put the image on XFS "
			"(mkfs.xfs -m reflink=1) or btrfs", file, type ? type : "a filesystem");
	free(type);
	return rc;
}

/*
 * The error of a failed FICLONE of src into dst.  EOPNOTSUPP (and EINVAL
 * elsewhere than btrfs) means the filesystem does not share extents;
 * on btrfs EINVAL is a mismatch between the two files instead.
 */
static int clone_error(int err, const char *src, const char *dst)
{
	struct statfs sfs;
	bool btrfs = statfs(src, &sfs) == 0 && sfs.f_type == BTRFS_SUPER_MAGIC;

	if (err == EXDEV)
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
				  "cannot clone '%s' into '%s': they are on different filesystems; "
				  "do not mount anything on the store", src, dst);
	if (err == EOPNOTSUPP || err == ENOTTY || (err == EINVAL && !btrfs))
		return no_reflink_error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER, src);
	return vss__error(-err, "cannot clone '%s' into '%s': %s", src, dst, strerror(err));
}

static int image_supports(const struct vss_volume *vol)
{
	const char *path = vss_volume_get_path(vol);
	const char *backing = vss_volume_get_backing_file(vol);
	const char *dev = vss_volume_get_device(vol);
	const char *fstype = vss_volume_get_fstype(vol);
	struct statfs sfs;

	if (!backing) {
		if (dev)
			return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
					  "'%s' is %s on %s, not a loop device", path,
					  fstype ? fstype : "a filesystem", dev);
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
				  "'%s' is %s without a block device, not a loop device", path,
				  fstype ? fstype : "a filesystem");
	}
	if (statfs(backing, &sfs) < 0)
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
				  "'%s', the image behind %s, cannot be examined: %s", backing,
				  dev ? dev : path, strerror(errno));
	/* A cheap first answer; prepare() checks with a real (empty) clone. */
	if (sfs.f_type != XFS_SUPER_MAGIC && sfs.f_type != BTRFS_SUPER_MAGIC)
		return no_reflink_error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER, backing);
	return 0;
}

static int ensure_store(const char *backing, char **ret_store)
{
	char *dir = NULL, *store = NULL, *slash;
	struct stat st;
	int rc = 0;

	dir = strdup(backing);
	if (!dir) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (!slash) {
		rc = vss__error(-EINVAL, "'%s' is not an absolute path", backing);
		goto out;
	}
	slash[slash == dir ? 1 : 0] = '\0';
	store = path_join(dir, VSS__STORE_DIR);
	if (!store) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(store, 0700) < 0 && errno != EEXIST) {
		rc = vss__error(-errno, "cannot create the store '%s': %s", store, strerror(errno));
		goto out;
	}
	if (lstat(store, &st) < 0) {
		rc = vss__error(-errno, "cannot use '%s': %s", store, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = vss__error(-ENOTDIR, "'%s' exists and is not a directory; move it away so vss "
				"can keep its copies there", store);
		goto out;
	}
	*ret_store = store;
	store = NULL;
out:
	free(store);
	free(dir);
	return rc;
}

/*
 * Whether the filesystem of the backing file really clones: statfs()
 * cannot tell an XFS made without reflink.  Two empty unnamed files in the
 * backing file's directory, so nothing is written and nothing is left
 * behind, not even the store, when the answer is no.
 */
static int probe_clone(const char *backing)
{
	char *dir = NULL, *slash;
	int a = -1, b = -1, rc = 0;

	dir = strdup(backing);
	if (!dir) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	slash = strrchr(dir, '/');
	if (!slash) {
		rc = vss__error(-EINVAL, "'%s' is not an absolute path", backing);
		goto out;
	}
	slash[slash == dir ? 1 : 0] = '\0';
	a = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (a >= 0)
		b = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (a < 0 || b < 0) {
		rc = vss__error(-errno, "cannot create a file in '%s': %s", dir, strerror(errno));
		goto out;
	}
	if (ioctl(b, FICLONE, a) < 0)
		rc = clone_error(errno, backing, dir);
out:
	if (b >= 0)
		close(b);
	if (a >= 0)
		close(a);
	free(dir);
	return rc;
}

static int image_prepare(struct vss_snapshot *snap, const struct vss_volume *vol)
{
	const char *backing = vss_volume_get_backing_file(vol);
	char guid[VSS_GUID_STRING_MAX + 4];
	char *store = NULL, *device = NULL;
	struct statvfs sv;
	struct stat st;
	uint64_t avail;
	int rc;

	if (!backing) {
		rc = image_supports(vol);
		goto out;
	}
	rc = probe_clone(backing);
	if (rc < 0)
		goto out;
	rc = ensure_store(backing, &store);
	if (rc < 0)
		goto out;
	if (statvfs(store, &sv) < 0) {
		rc = vss__error(-errno, "cannot read the free space of '%s': %s", store,
				strerror(errno));
		goto out;
	}
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail < IMAGE_MIN_FREE) {
		rc = vss__error(-VSS_E_INSUFFICIENT_STORAGE,
				"'%s' has only %llu KiB free; a clone needs room for its metadata "
				"and for every block the volume rewrites while the copy exists",
				store, (unsigned long long)(avail / 1024));
		goto out;
	}
	vss_guid_format(&snap->id, 0, guid);
	if (snprintf(guid + 36, sizeof(guid) - 36, ".img") < 0) {
		rc = vss__error(-EINVAL, "cannot name the copy");
		goto out;
	}
	device = path_join(store, guid);
	if (!device) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (lstat(device, &st) == 0) {
		rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS, "'%s' already exists", device);
		goto out;
	}
	if (vss__strset(&snap->store, store) < 0 || vss__strset(&snap->origin, backing) < 0 ||
	    vss__strset(&snap->device, device) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
out:
	free(device);
	free(store);
	return rc;
}

/*
 * A reflink clone of src as dst, a new file (mode 0600, or with the owner
 * and mode of like), flushed.  On failure dst is not left behind.
 */
static int clone_file(const char *src_path, const char *dst_path, const struct stat *like)
{
	int src = -1, dst = -1, flags = 0, rc = 0;
	bool created = false;

	src = open(src_path, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		rc = vss__error(-errno, "cannot open '%s': %s", src_path, strerror(errno));
		goto out;
	}
	dst = open(dst_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		   like ? like->st_mode & 07777 : 0600);
	if (dst < 0) {
		rc = vss__error(-errno, "cannot create '%s': %s", dst_path, strerror(errno));
		goto out;
	}
	created = true;
	if (like) {
		(void)fchown(dst, like->st_uid, like->st_gid);
		(void)fchmod(dst, like->st_mode & 07777);
	}
	/*
	 * btrfs clones only between files that agree on NOCOW (VM images are
	 * often chattr +C): give the empty clone the source's flag first.
	 */
	if (ioctl(src, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_NOCOW_FL)) {
		int dflags = 0;

		if (ioctl(dst, FS_IOC_GETFLAGS, &dflags) == 0) {
			dflags |= FS_NOCOW_FL;
			(void)ioctl(dst, FS_IOC_SETFLAGS, &dflags);
		}
	}
	if (ioctl(dst, FICLONE, src) < 0) {
		rc = clone_error(errno, src_path, dst_path);
		goto out;
	}
	/*
	 * Durability of the clone, decided by measurement: a clone's new
	 * extent map is in the filesystem's journal but not forced to disk,
	 * and nothing later forces it (the properties file written after the
	 * window is another inode; btrfs in particular logs only that inode).
	 * There is no hook after the window, so the fsync happens here, inside
	 * it.  It is cheap: one journal commit with no data to write, since
	 * the clone shares the blocks FICLONE already flushed.  Measured
	 * clone + fsync: 0.7-2 ms for a 64 MiB image on XFS, 1.1-3.6 ms for
	 * 32 MiB on btrfs (test_provider__image_clone_on_* prints it), against
	 * a 10 s window.
	 */
	if (fsync(dst) < 0) {
		rc = vss__error(-errno, "cannot flush '%s': %s", dst_path, strerror(errno));
		goto out;
	}
out:
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	if (rc < 0 && created)
		unlink(dst_path);
	return rc;
}

static int image_commit(struct vss_snapshot *snap, const struct vss_volume *vol)
{
	(void)vol;
	if (!snap->origin || !snap->device)
		return vss__error(-VSS_E_BAD_STATE, "the copy was not prepared");
	return clone_file(snap->origin, snap->device, NULL);
}

static int image_remove(const struct vss_snapshot *snap)
{
	int rc;

	rc = vss__snapshot_check_location(snap);
	if (rc < 0)
		goto out;
	if (unlink(snap->device) < 0) {
		int err = errno;

		if (err != ENOENT) {
			rc = vss__error(-err, "cannot delete '%s': %s", snap->device, strerror(err));
			goto out;
		}
		rc = vss__snapshot_remove_props(snap);
		if (rc == 0)
			rc = vss__error(-ENOENT, "'%s' no longer exists", snap->device);
		goto out;
	}
	rc = vss__snapshot_remove_props(snap);
out:
	return rc;
}

static bool image_exists(const struct vss_snapshot *snap)
{
	struct stat st;

	return snap->device && lstat(snap->device, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory of loop device name's backing file, malloc()ed, or NULL. */
static char *loop_backing_dir(const char *name)
{
	char *path = NULL, *data = NULL, *slash;
	size_t len = 0;
	struct sbuf sb = SBUF_INIT;

	if (sbuf_addf(&sb, "/sys/class/block/%s/loop/backing_file", name) < 0)
		goto out;
	path = sbuf_detach(&sb);
	if (!path || file_read_all(path, &data, &len) < 0)
		goto out;
	while (len > 0 && data[len - 1] == '\n')
		data[--len] = '\0';
	/* A deleted backing file has no directory to look in. */
	if (len == 0 || data[0] != '/' ||
	    (len > 10 && strcmp(data + len - 10, " (deleted)") == 0)) {
		free(data);
		data = NULL;
		goto out;
	}
	slash = strrchr(data, '/');
	slash[slash == data ? 1 : 0] = '\0';
out:
	sbuf_release(&sb);
	free(path);
	return data;
}

static int image_list_stores(struct strv *dirs)
{
	DIR *d = NULL;
	struct dirent *de;
	char *backing = NULL, *store = NULL;
	int rc = 0;

	d = opendir("/sys/class/block");
	if (!d) {
		rc = vss__error(-errno, "cannot read '/sys/class/block': %s", strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		backing = loop_backing_dir(de->d_name);
		if (!backing)
			continue;
		store = path_join(backing, VSS__STORE_DIR);
		if (!store) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		if (lstat(store, &st) == 0 && S_ISDIR(st.st_mode) && strv_push_unique(dirs, store) < 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		free(store);
		free(backing);
		store = backing = NULL;
	}
out:
	free(store);
	free(backing);
	if (d)
		closedir(d);
	return rc;
}

/* ---- reverting a volume (lib/revert.c does the rest) --------------------- */

/*
 * The volume is a loop device backed by a file.  After the unmount the
 * loop device is detached, the backing file is replaced by a reflink clone
 * of the copy (a temporary file beside it, fsync, rename, fsync of the
 * directory), and a loop device (the same number when it is free) is
 * attached to it again with the flags it had.
 */
struct image_revert {
	char *loop_device;              /* "/dev/loop3", attached again at the end */
	struct loop_info64 loop_info;
	bool loop_detached;
	int loop_fd;                    /* the new loop device, open until mounted */
};

static int image_revert_check(struct vss__revert *r)
{
	const char *backing = vss_volume_get_backing_file(r->vol);
	struct image_revert *im = calloc(1, sizeof(*im));

	if (!im)
		return vss__error(-ENOMEM, "out of memory");
	im->loop_fd = -1;
	r->engine = im;
	if (!backing || !r->snap->origin || strcmp(backing, r->snap->origin) != 0)
		return vss__error(-VSS_E_REVERT_VOLUME_LOST, "'%s' is no longer backed by '%s', "
				  "the file shadow copy %s was cloned from",
				  vss_volume_get_path(r->vol),
				  r->snap->origin ? r->snap->origin : "?", r->guid);
	return 0;
}

static int image_read_loop(struct vss__revert *r)
{
	struct image_revert *im = r->engine;
	const char *dev = vss_volume_get_device(r->vol);
	int rc;

	im->loop_device = dev ? strdup(dev) : NULL;
	if (!im->loop_device)
		return vss__error(-ENOMEM, "out of memory");
	rc = vss__loop_status(dev, &im->loop_info);
	if (rc == -ENXIO)
		rc = vss__error(-VSS_E_REVERT_VOLUME_LOST, "the loop device '%s' of '%s' has "
				"nothing attached", dev, vss_volume_get_path(r->vol));
	return rc;
}

/* Detach the volume's loop device, once nothing has it mounted. */
static int image_detach(struct vss__revert *r)
{
	struct image_revert *im = r->engine;
	struct loop_info64 info;
	int rc;

	/* With autoclear it went away with the last unmount already. */
	rc = vss__loop_status(im->loop_device, &info);
	if (rc == -ENXIO) {
		im->loop_detached = true;
		return vss__revert_step(r, "the loop device '%s' went away with the unmount "
					"(autoclear)", im->loop_device);
	}
	if (rc == 0)
		rc = vss__loop_detach(im->loop_device);
	if (rc == -EBUSY)
		rc = vss__error(-VSS_E_VOLUME_IN_USE, "%s", vss_error_last()->message);
	if (rc < 0)
		return rc;
	im->loop_detached = true;
	return vss__revert_step(r, "detached the loop device '%s'", im->loop_device);
}

/*
 * Attach the backing file again: on the same device when it is free (the
 * copies record it, and whoever set it up knows it by that name), else on
 * a free one.  The device stays open until it is mounted again, since an
 * autoclear device goes away at its last close.
 */
static int image_attach(struct vss__revert *r)
{
	struct image_revert *im = r->engine;
	const char *backing = r->snap->origin;
	char *dev = NULL;
	int file_fd, rc;

	file_fd = open(backing, ((im->loop_info.lo_flags & LO_FLAGS_READ_ONLY) ? O_RDONLY : O_RDWR) |
		       O_CLOEXEC);
	if (file_fd < 0)
		return vss__error(-errno, "cannot open '%s': %s", backing, strerror(errno));
	rc = vss__loop_attach(file_fd, backing, &im->loop_info, im->loop_device, &im->loop_fd,
			      &dev);
	close(file_fd);
	if (rc < 0)
		return rc;
	free(im->loop_device);
	im->loop_device = dev;
	im->loop_detached = false;
	return vss__revert_step(r, "attached '%s' to the loop device '%s'", backing,
				im->loop_device);
}

static int image_swap(struct vss__revert *r)
{
	const char *backing = r->snap->origin;
	char *dir = NULL, *tmp = NULL;
	struct sbuf sb = SBUF_INIT;
	struct stat st;
	int rc = 0;

	dir = path_dirname(backing);
	if (!dir || sbuf_addf(&sb, "%s/.%s.vss-revert", dir, path_basename(backing)) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	tmp = sbuf_detach(&sb);
	if (!tmp) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (stat(backing, &st) < 0) {
		rc = vss__error(-errno, "cannot use '%s': %s", backing, strerror(errno));
		goto out;
	}
	/* A leftover of an interrupted revert holds nothing of value. */
	(void)unlink(tmp);
	rc = clone_file(r->snap->device, tmp, &st);
	if (rc < 0)
		goto out;
	rc = vss__revert_step(r, "cloned shadow copy %s ('%s') as '%s'", r->guid, r->snap->device,
			      tmp);
	if (rc < 0)
		goto out;
	if (rename(tmp, backing) < 0) {
		rc = vss__error(-errno, "cannot rename '%s' to '%s': %s", tmp, backing,
				strerror(errno));
		unlink(tmp);
		goto out;
	}
	r->changed = true;
	(void)file_fsync_dir(backing, false);
	rc = vss__revert_step(r, "renamed it over the backing file '%s'", backing);
out:
	sbuf_release(&sb);
	free(tmp);
	free(dir);
	return rc;
}

static int image_revert_plan(struct vss__revert *r)
{
	int rc;

	rc = vss__revert_step(r, "detach the loop device '%s'", vss_volume_get_device(r->vol));
	if (rc == 0)
		rc = vss__revert_step(r, "clone shadow copy %s ('%s') beside the backing file and "
				      "rename it over '%s'", r->guid, r->snap->device, r->snap->origin);
	if (rc == 0)
		rc = vss__revert_step(r, "attach '%s' to a loop device again", r->snap->origin);
	return rc;
}

static int image_revert_begin(struct vss__revert *r)
{
	struct image_revert *im = r->engine;
	int rc = image_read_loop(r);

	if (rc == 0) {
		r->source = strdup(im->loop_device);
		if (!r->source)
			rc = vss__error(-ENOMEM, "out of memory");
	}
	return rc;
}

static int image_revert_swap(struct vss__revert *r)
{
	struct image_revert *im = r->engine;
	struct vss__saved_error saved;
	int rc, x;

	rc = image_detach(r);
	if (rc == 0)
		rc = image_swap(r);
	vss__error_save(&saved);
	/* Whatever the backing file holds now, the volume comes back. */
	if (im->loop_detached) {
		x = image_attach(r);
		if (x < 0 && rc == 0) {
			rc = x;
			vss__error_save(&saved);
		}
		free(r->source);
		r->source = strdup(im->loop_device);
		if (!r->source && rc == 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			vss__error_save(&saved);
		}
	}
	if (rc < 0)
		vss__error_restore(&saved);
	return rc;
}

static void image_revert_free(struct vss__revert *r)
{
	struct image_revert *im = r->engine;

	if (!im)
		return;
	/* Mounted again (or not): the device no longer needs holding. */
	if (im->loop_fd >= 0)
		close(im->loop_fd);
	free(im->loop_device);
	free(im);
	r->engine = NULL;
}

const struct vss__revert_ops vss__revert_image = {
	.check = image_revert_check,
	.plan = image_revert_plan,
	.begin = image_revert_begin,
	.swap = image_revert_swap,
	.free = image_revert_free,
};

const struct vss_provider vss__provider_image = {
	.name = "image",
	.id = "{9a0fbe20-30c3-4857-8a71-969a26c03c3e}",
	.display_name = "vss image provider",
	.version = "1.0",
	.type = VSS_PROV_SOFTWARE,
	.needs_freeze = true,
	.supports = image_supports,
	.prepare = image_prepare,
	.commit = image_commit,
	.remove = image_remove,
	.exists = image_exists,
	.list_stores = image_list_stores,
	.revert = &vss__revert_image,
};
