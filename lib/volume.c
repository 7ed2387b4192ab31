/*
 * Volumes: names resolved to mounted filesystems (or btrfs subvolume roots)
 * through the mount table (libmount), libblkid for UUID=/LABEL= and the
 * superblock tags, and libbtrfsutil for subvolumes.
 *
 * The mount table is read from /proc/self/mountinfo each time: it is the
 * only table that has the filesystem root of each mount (btrfs subvolumes,
 * bind mounts of subdirectories) and the superblock's device number, which
 * together say "same filesystem root" even when the sources differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include <blkid/blkid.h>
#include <btrfsutil.h>
#include <libmount/libmount.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/sbuf.h"
#include "util/strv.h"
#include "util/banned.h"

#define MOUNTINFO "/proc/self/mountinfo"
#define NAME_HINT "name a mount point, a device, UUID=... or LABEL=..."

struct vss_volume {
	int refcount;
	char *name;
	char *path;
	char *mountpoint;
	struct strv mountpoints;   /* table order; never empty once resolved */
	char *fsroot;
	char *device;
	dev_t devno;
	char *fstype;
	char *uuid;
	char *label;
	uint64_t size;
	char *backing_file;
	uint64_t subvolume_id;
	bool read_only;
};

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* strdup that accepts NULL; *ret is NULL for NULL.  -ENOMEM. */
static int dup_str(const char *s, char **ret)
{
	char *copy = NULL;

	if (s) {
		copy = strdup(s);
		if (!copy)
			return -ENOMEM;
	}
	*ret = copy;
	return 0;
}

static const char *fs_root(struct libmnt_fs *fs)
{
	const char *root = mnt_fs_get_root(fs);

	return root && *root ? root : "/";
}

/*
 * A mount that another mount covers at the same target is not reachable
 * through that path any more; the last one at a target is the one seen.
 */
static bool fs_is_visible(struct libmnt_table *tb, struct libmnt_fs *fs)
{
	const char *target = mnt_fs_get_target(fs);

	return target && mnt_table_find_target(tb, target, MNT_ITER_BACKWARD) == fs;
}

/* The block device behind path: 0 and its rdev, or -errno / -ENOTBLK. */
static int block_rdev(const char *path, dev_t *ret)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISBLK(st.st_mode))
		return -ENOTBLK;
	*ret = st.st_rdev;
	return 0;
}

/* The mount source as a block device path, or NULL (tmpfs, proc, ...). */
static const char *fs_block_source(struct libmnt_fs *fs, dev_t *ret_rdev)
{
	const char *src = mnt_fs_get_srcpath(fs);

	if (!src || src[0] != '/' || block_rdev(src, ret_rdev) < 0)
		return NULL;
	return src;
}

/*
 * Whether fs is mounted from the block device rdev.  Single-device
 * filesystems show the device number in mountinfo; btrfs shows an
 * anonymous one, so compare the source too.
 */
static bool fs_on_device(struct libmnt_fs *fs, dev_t rdev)
{
	dev_t src_rdev = 0;

	if (mnt_fs_get_devno(fs) == rdev)
		return true;
	return fs_block_source(fs, &src_rdev) && src_rdev == rdev;
}

/* Append every visible target that mounts the same filesystem root. */
static int collect_mountpoints(struct libmnt_table *tb, dev_t devno, const char *root,
			       struct strv *out)
{
	struct libmnt_iter *itr;
	struct libmnt_fs *fs;
	int rc = 0;

	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!itr)
		return -ENOMEM;
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		if (mnt_fs_get_devno(fs) != devno || !streq(fs_root(fs), root))
			continue;
		if (!fs_is_visible(tb, fs))
			continue;
		rc = strv_push_unique(out, mnt_fs_get_target(fs));
		if (rc < 0)
			break;
	}
	mnt_free_iter(itr);
	return rc;
}

/*
 * UUID and LABEL from the superblock; left NULL when they cannot be read
 * (no permission to open the device, no filesystem signature).  The mount
 * table already names the filesystem type, so only that superblock is
 * probed: a full probe reads every known signature location, the end of
 * the device included, and costs more than the snapshot itself.
 */
static int probe_tags(const char *device, const char *fstype, char **ret_uuid,
		      char **ret_label)
{
	const char *value;
	blkid_probe pr;
	int rc = 0;

	*ret_uuid = NULL;
	*ret_label = NULL;
	pr = blkid_new_probe_from_filename(device);
	if (!pr) {
		vss__debug("cannot probe '%s': %s", device, strerror(errno));
		return 0;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_UUID | BLKID_SUBLKS_LABEL |
					  BLKID_SUBLKS_TYPE);
	if (fstype) {
		char *only[] = { (char *)fstype, NULL };

		blkid_probe_filter_superblocks_type(pr, BLKID_FLTR_ONLYIN, only);
	}
	if (blkid_do_safeprobe(pr) != 0)
		goto out;
	if (blkid_probe_lookup_value(pr, "UUID", &value, NULL) == 0) {
		rc = dup_str(value, ret_uuid);
		if (rc < 0)
			goto out;
	}
	if (blkid_probe_lookup_value(pr, "LABEL", &value, NULL) == 0) {
		rc = dup_str(value, ret_label);
		if (rc < 0) {
			free(*ret_uuid);
			*ret_uuid = NULL;
		}
	}
out:
	blkid_free_probe(pr);
	return rc;
}

/* Size in bytes of the block device, 0 when unknown. */
static uint64_t device_size(const char *device, dev_t rdev)
{
	char sysfs[96], *text = NULL;
	uint64_t sectors = 0, bytes = 0;
	size_t len;
	int fd;

	/* sysfs needs no permission on the device itself. */
	snprintf(sysfs, sizeof(sysfs), "/sys/dev/block/%u:%u/size", major(rdev), minor(rdev));
	if (file_read_all(sysfs, &text, &len) == 0) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = '\0';
		if (parse_u64(text, &sectors) == 0 && sectors <= UINT64_MAX / 512)
			bytes = sectors * 512;
		free(text);
		if (bytes)
			return bytes;
	}
	fd = open(device, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
			bytes = 0;
		close(fd);
	}
	return bytes;
}

/*
 * The file behind a loop device, or NULL.  The kernel appends " (deleted)"
 * when the file was unlinked: there is then no file to name.
 */
static int loop_backing_file(dev_t rdev, char **ret)
{
	static const char deleted[] = " (deleted)";
	const size_t dlen = sizeof(deleted) - 1;
	char sysfs[96], *text = NULL;
	struct stat st;
	size_t len;
	int rc;

	*ret = NULL;
	snprintf(sysfs, sizeof(sysfs), "/sys/dev/block/%u:%u/loop/backing_file",
		 major(rdev), minor(rdev));
	rc = file_read_all(sysfs, &text, &len);
	if (rc < 0) {
		/* Not a loop device, or nothing attached: no backing file. */
		if (rc != -ENOMEM)
			rc = 0;
		goto out;
	}
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len == 0 || text[0] != '/')
		goto out;
	/* Unless a file really has a name ending that way. */
	if (len >= dlen && strcmp(text + len - dlen, deleted) == 0 && stat(text, &st) < 0)
		goto out;
	*ret = text;
	text = NULL;
out:
	free(text);
	return rc;
}

static bool fs_is_read_only(struct libmnt_fs *fs)
{
	const char *vfs = mnt_fs_get_vfs_options(fs);
	const char *sb = mnt_fs_get_fs_options(fs);

	return (vfs && mnt_optstr_get_option(vfs, "ro", NULL, NULL) == 0) ||
	       (sb && mnt_optstr_get_option(sb, "ro", NULL, NULL) == 0);
}

/*
 * Fill what follows from the mount fs that holds vol->path: fstype,
 * device, devno, tags, size, backing file, subvolume, read-only.
 */
static int fill_facts(struct vss_volume *vol, struct libmnt_fs *fs)
{
	const char *src;
	struct stat st;
	dev_t rdev = 0;
	int rc;

	rc = dup_str(mnt_fs_get_fstype(fs), &vol->fstype);
	if (rc < 0)
		return rc;
	vol->read_only = fs_is_read_only(fs);

	src = fs_block_source(fs, &rdev);
	if (src) {
		char *canon = realpath(src, NULL);

		if (!canon) {
			if (errno == ENOMEM)
				return -ENOMEM;
			rc = dup_str(src, &canon);
			if (rc < 0)
				return rc;
		}
		vol->device = canon;
		vol->devno = rdev;
		rc = probe_tags(vol->device, vol->fstype, &vol->uuid, &vol->label);
		if (rc < 0)
			return rc;
		vol->size = device_size(vol->device, rdev);
		rc = loop_backing_file(rdev, &vol->backing_file);
		if (rc < 0)
			return rc;
	} else {
		if (stat(vol->path, &st) < 0)
			return vss__error(-errno, "cannot stat '%s': %s", vol->path, strerror(errno));
		vol->devno = st.st_dev;
	}

	if (streq(vol->fstype, "btrfs")) {
		enum btrfs_util_error err;
		bool ro = false;

		err = btrfs_util_subvolume_id(vol->path, &vol->subvolume_id);
		if (err != BTRFS_UTIL_OK) {
			vss__debug("no subvolume id for '%s': %s", vol->path, btrfs_util_strerror(err));
			vol->subvolume_id = 0;
		}
		/* A read-only snapshot is read-only on a read-write mount. */
		if (btrfs_util_get_subvolume_read_only(vol->path, &ro) == BTRFS_UTIL_OK && ro)
			vol->read_only = true;
	}
	return 0;
}

/*
 * The path of an unmounted subvolume root inside its filesystem: the root
 * of the mount that holds it joined with the rest of the path.  That is
 * exact, since the holder is the nearest mount above path and both are
 * canonical, and needs no privilege, unlike asking the subvolume tree
 * (btrfs_util_subvolume_path() needs CAP_SYS_ADMIN).
 */
static int subvolume_fsroot(const char *path, struct libmnt_fs *holder, char **ret)
{
	struct sbuf sb = SBUF_INIT;
	const char *root = fs_root(holder);
	const char *rel = path + strlen(mnt_fs_get_target(holder));
	int rc;

	while (*rel == '/')
		rel++;
	rc = sbuf_addf(&sb, "%s%s%s", root, streq(root, "/") ? "" : "/", rel);
	if (rc < 0)
		goto out;
	*ret = sbuf_detach(&sb);
	rc = *ret ? 0 : -ENOMEM;
out:
	sbuf_release(&sb);
	return rc;
}

/* A directory: a mount point, or the root of a btrfs subvolume. */
static int resolve_directory(struct vss_volume *vol, struct libmnt_table *tb)
{
	struct libmnt_fs *fs;
	const char *target;
	int rc;

	fs = mnt_table_find_mountpoint(tb, vol->path, MNT_ITER_BACKWARD);
	if (!fs)
		return vss__error(-VSS_E_OBJECT_NOT_FOUND,
				  "'%s' is on no mounted filesystem", vol->name);
	target = mnt_fs_get_target(fs);

	if (streq(target, vol->path)) {
		rc = dup_str(vol->path, &vol->mountpoint);
		if (rc < 0)
			return rc;
		rc = dup_str(fs_root(fs), &vol->fsroot);
		if (rc < 0)
			return rc;
		rc = collect_mountpoints(tb, mnt_fs_get_devno(fs), vol->fsroot, &vol->mountpoints);
		if (rc < 0)
			return rc;
		/* Always listed, even if the table changed under us. */
		rc = strv_push_unique(&vol->mountpoints, vol->path);
		if (rc < 0)
			return rc;
		return fill_facts(vol, fs);
	}

	if (!streq(mnt_fs_get_fstype(fs), "btrfs") ||
	    btrfs_util_is_subvolume(vol->path) != BTRFS_UTIL_OK)
		return vss__error(-VSS_E_OBJECT_NOT_FOUND,
				  "'%s' is not a volume: " NAME_HINT
				  " (it is inside the filesystem mounted at '%s')",
				  vol->name, target);

	rc = dup_str(target, &vol->mountpoint);
	if (rc < 0)
		return rc;
	rc = subvolume_fsroot(vol->path, fs, &vol->fsroot);
	if (rc < 0)
		return rc;
	/* Mounted elsewhere too?  Else the mount that holds it is where it
	 * can be reached (and frozen). */
	rc = collect_mountpoints(tb, mnt_fs_get_devno(fs), vol->fsroot, &vol->mountpoints);
	if (rc < 0)
		return rc;
	if (vol->mountpoints.count == 0) {
		rc = strv_push(&vol->mountpoints, vol->mountpoint);
		if (rc < 0)
			return rc;
	}
	return fill_facts(vol, fs);
}

/*
 * A block device: it must be mounted, and at one filesystem root only (a
 * btrfs filesystem mounted as several subvolumes is several volumes).
 * display is what the user named (the device, UUID=..., LABEL=...).
 */
static int resolve_device(struct vss_volume *vol, struct libmnt_table *tb, const char *devpath,
			  dev_t rdev, const char *display)
{
	struct sbuf list = SBUF_INIT;
	struct libmnt_iter *itr = NULL;
	struct libmnt_fs *fs, *primary = NULL;
	bool several_roots = false;
	int rc = 0;

	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!itr) {
		rc = -ENOMEM;
		goto out;
	}
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		if (!fs_on_device(fs, rdev) || !fs_is_visible(tb, fs))
			continue;
		if (!primary)
			primary = fs;
		else if (!streq(fs_root(fs), fs_root(primary)))
			several_roots = true;
		rc = sbuf_addf(&list, "%s'%s' (root '%s')", list.len ? ", " : "",
			       mnt_fs_get_target(fs), fs_root(fs));
		if (rc < 0)
			goto out;
	}

	if (!primary) {
		if (streq(display, devpath))
			rc = vss__error(-VSS_E_OBJECT_NOT_FOUND,
					"'%s' is not mounted: mount it, or name a mounted volume",
					display);
		else
			rc = vss__error(-VSS_E_OBJECT_NOT_FOUND,
					"'%s' is not mounted (it is '%s'): mount it, or name a mounted volume",
					display, devpath);
		goto out;
	}
	if (several_roots) {
		rc = vss__error(-VSS_E_VOLUME_NOT_SUPPORTED,
				"'%s' is mounted at several filesystem roots: %s; "
				"name one of these mount points instead",
				display, sbuf_str(&list));
		goto out;
	}

	rc = dup_str(mnt_fs_get_target(primary), &vol->path);
	if (rc < 0)
		goto out;
	rc = dup_str(vol->path, &vol->mountpoint);
	if (rc < 0)
		goto out;
	rc = dup_str(fs_root(primary), &vol->fsroot);
	if (rc < 0)
		goto out;
	rc = collect_mountpoints(tb, mnt_fs_get_devno(primary), vol->fsroot, &vol->mountpoints);
	if (rc < 0)
		goto out;
	rc = strv_push_unique(&vol->mountpoints, vol->path);
	if (rc < 0)
		goto out;
	rc = fill_facts(vol, primary);
out:
	mnt_free_iter(itr);
	sbuf_release(&list);
	return rc;
}

/*
 * UUID=/LABEL=: look among the mounted devices first.  The copies this
 * project makes of loop-backed images carry the same UUID and label as
 * their origin, and a multi-device btrfs shares its UUID, so "the" device
 * libblkid would pick might not be the mounted one.  Only when no mounted
 * device matches (or they cannot be read) ask libblkid, to tell "not
 * mounted" from "does not exist".
 */
static int resolve_tag(struct vss_volume *vol, struct libmnt_table *tb, const char *tag,
		       const char *value)
{
	struct strv seen = STRV_INIT, found = STRV_INIT;
	struct libmnt_iter *itr = NULL;
	struct libmnt_fs *fs;
	char *devname = NULL;
	dev_t rdev = 0;
	int rc = 0;

	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!itr) {
		rc = -ENOMEM;
		goto out;
	}
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		char *uuid = NULL, *label = NULL;
		const char *src = fs_block_source(fs, &rdev);
		const char *have;
		bool match;

		if (!src || strv_contains(&seen, src) || !fs_is_visible(tb, fs))
			continue;
		rc = strv_push(&seen, src);
		if (rc < 0)
			goto out;
		rc = probe_tags(src, mnt_fs_get_fstype(fs), &uuid, &label);
		if (rc < 0)
			goto out;
		have = streq(tag, "UUID") ? uuid : label;
		/* blkid prints UUIDs in lower case; people type either. */
		match = have && (streq(tag, "UUID") ? strcasecmp(have, value) == 0
						    : strcmp(have, value) == 0);
		free(uuid);
		free(label);
		if (match) {
			char *canon = realpath(src, NULL);

			rc = canon ? strv_push_unique(&found, canon) : strv_push_unique(&found, src);
			free(canon);
			if (rc < 0)
				goto out;
		}
	}

	if (found.count > 1) {
		struct sbuf list = SBUF_INIT;

		for (size_t i = 0; i < found.count; i++)
			if (sbuf_addf(&list, "%s'%s'", i ? ", " : "", found.items[i]) < 0)
				break;
		rc = vss__error(-VSS_E_VOLUME_NOT_SUPPORTED,
				"'%s' names several mounted devices: %s; name a mount point or device instead",
				vol->name, sbuf_str(&list));
		sbuf_release(&list);
		goto out;
	}
	if (found.count == 1) {
		rc = dup_str(found.items[0], &devname);
		if (rc < 0)
			goto out;
	} else {
		devname = blkid_evaluate_tag(tag, value, NULL);
		if (!devname) {
			rc = vss__error(-VSS_E_OBJECT_NOT_FOUND,
					"'%s' not found: no filesystem has that %s (blkid lists them)",
					vol->name, tag);
			goto out;
		}
	}
	rc = block_rdev(devname, &rdev);
	if (rc < 0) {
		rc = vss__error(-VSS_E_OBJECT_NOT_FOUND, "'%s' is '%s', which is not a block device: %s",
				vol->name, devname, strerror(-rc));
		goto out;
	}
	rc = resolve_device(vol, tb, devname, rdev, vol->name);
out:
	free(devname);
	strv_release(&found);
	strv_release(&seen);
	mnt_free_iter(itr);
	return rc;
}

/* A path (absolute, or relative to the working directory). */
static int resolve_path(struct vss_volume *vol, struct libmnt_table *tb)
{
	struct stat st;
	char *canon;
	int rc;

	canon = realpath(vol->name, NULL);
	if (!canon || stat(canon, &st) < 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ENOTDIR)
			rc = vss__error(-VSS_E_OBJECT_NOT_FOUND, "'%s' does not exist", vol->name);
		else if (rc != -ENOMEM)
			rc = vss__error(rc, "cannot resolve '%s': %s", vol->name, strerror(-rc));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		vol->path = canon;
		canon = NULL;
		rc = resolve_directory(vol, tb);
	} else if (S_ISBLK(st.st_mode)) {
		rc = resolve_device(vol, tb, canon, st.st_rdev, vol->name);
	} else {
		rc = vss__error(-VSS_E_OBJECT_NOT_FOUND,
				"'%s' is not a volume: it is %s, not a directory or a block device; "
				NAME_HINT, vol->name,
				S_ISREG(st.st_mode) ? "a regular file" :
				S_ISCHR(st.st_mode) ? "a character device" : "a special file");
	}
out:
	free(canon);
	return rc;
}

static void volume_free(struct vss_volume *vol)
{
	free(vol->name);
	free(vol->path);
	free(vol->mountpoint);
	strv_release(&vol->mountpoints);
	free(vol->fsroot);
	free(vol->device);
	free(vol->fstype);
	free(vol->uuid);
	free(vol->label);
	free(vol->backing_file);
	free(vol);
}

VSS_EXPORT int vss_volume_resolve(const char *name, struct vss_volume **ret)
{
	struct libmnt_table *tb = NULL;
	struct vss_volume *vol = NULL;
	const char *value;
	int rc;

	if (!name || !*name) {
		rc = vss__error(-EINVAL, "no volume named: " NAME_HINT);
		goto out;
	}
	vol = calloc(1, sizeof(*vol));
	if (!vol) {
		rc = -ENOMEM;
		goto out;
	}
	vol->refcount = 1;
	rc = dup_str(name, &vol->name);
	if (rc < 0)
		goto out;

	errno = 0;
	tb = mnt_new_table_from_file(MOUNTINFO);
	if (!tb) {
		rc = errno ? -errno : -ENOMEM;
		rc = vss__error(rc, "cannot read the mount table '%s': %s", MOUNTINFO, strerror(-rc));
		goto out;
	}

	if (strncmp(name, "UUID=", 5) == 0 || strncmp(name, "LABEL=", 6) == 0) {
		const char *tag = name[0] == 'U' ? "UUID" : "LABEL";

		value = name + strlen(tag) + 1;
		if (!*value) {
			rc = vss__error(-EINVAL, "'%s' names no %s: give its value, e.g. %s=%s",
					name, tag, tag, name[0] == 'U' ?
					"0b5f7c1e-4d3a-4c2b-9e8f-1a2b3c4d5e6f" : "data");
			goto out;
		}
		rc = resolve_tag(vol, tb, tag, value);
	} else {
		rc = resolve_path(vol, tb);
	}
	if (rc < 0)
		goto out;

	*ret = vol;
	vol = NULL;
out:
	mnt_unref_table(tb);
	if (vol)
		volume_free(vol);
	if (rc == -ENOMEM)
		rc = vss__error(-ENOMEM, "cannot resolve volume '%s': out of memory", name);
	return rc;
}

VSS_EXPORT struct vss_volume *vss_volume_ref(struct vss_volume *vol)
{
	if (vol)
		vol->refcount++;
	return vol;
}

VSS_EXPORT struct vss_volume *vss_volume_unref(struct vss_volume *vol)
{
	if (vol && --vol->refcount <= 0)
		volume_free(vol);
	return NULL;
}

VSS_EXPORT const char *vss_volume_get_name(const struct vss_volume *vol)
{
	return vol->name;
}

VSS_EXPORT const char *vss_volume_get_path(const struct vss_volume *vol)
{
	return vol->path;
}

VSS_EXPORT const char *vss_volume_get_mountpoint(const struct vss_volume *vol)
{
	return vol->mountpoint;
}

VSS_EXPORT size_t vss_volume_get_mountpoint_count(const struct vss_volume *vol)
{
	return vol->mountpoints.count;
}

VSS_EXPORT const char *vss_volume_get_mountpoint_at(const struct vss_volume *vol, size_t i)
{
	return i < vol->mountpoints.count ? vol->mountpoints.items[i] : NULL;
}

VSS_EXPORT const char *vss_volume_get_fsroot(const struct vss_volume *vol)
{
	return vol->fsroot;
}

VSS_EXPORT const char *vss_volume_get_device(const struct vss_volume *vol)
{
	return vol->device;
}

VSS_EXPORT dev_t vss_volume_get_devno(const struct vss_volume *vol)
{
	return vol->devno;
}

VSS_EXPORT const char *vss_volume_get_fstype(const struct vss_volume *vol)
{
	return vol->fstype;
}

VSS_EXPORT const char *vss_volume_get_uuid(const struct vss_volume *vol)
{
	return vol->uuid;
}

VSS_EXPORT const char *vss_volume_get_label(const struct vss_volume *vol)
{
	return vol->label;
}

VSS_EXPORT uint64_t vss_volume_get_size(const struct vss_volume *vol)
{
	return vol->size;
}

VSS_EXPORT const char *vss_volume_get_backing_file(const struct vss_volume *vol)
{
	return vol->backing_file;
}

VSS_EXPORT uint64_t vss_volume_get_subvolume_id(const struct vss_volume *vol)
{
	return vol->subvolume_id;
}

VSS_EXPORT bool vss_volume_is_read_only(const struct vss_volume *vol)
{
	return vol->read_only;
}

VSS_EXPORT bool vss_volume_is_same(const struct vss_volume *vol, const char *uuid,
				   const char *device, const char *fsroot)
{
	const char *mine = vol->fsroot ? vol->fsroot : "/";
	const char *theirs = fsroot && *fsroot ? fsroot : "/";
	char *canon;
	bool same;

	if (strcmp(mine, theirs) != 0)
		return false;
	if (vol->uuid && *vol->uuid && uuid && *uuid)
		return strcasecmp(vol->uuid, uuid) == 0;
	if (!vol->device || !device)
		return false;
	if (strcmp(vol->device, device) == 0)
		return true;
	/* A recorded symlink (/dev/disk/by-...) still names the device. */
	canon = realpath(device, NULL);
	same = canon && strcmp(vol->device, canon) == 0;
	free(canon);
	return same;
}
