/*
 * Volume names: parsing and refusals that need nothing special, then real
 * scratch volumes (ext4, btrfs, XFS on loop devices) when running as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"
#include <uuid/uuid.h>

#include "vss.h"
#include "util/banned.h"

#define MiB (1024ull * 1024)

/* assert_string_equal() dereferences NULL; say what was NULL instead. */
#define assert_str(actual, expected)                 \
	do {                                         \
		const char *a_ = (actual);           \
		assert_non_null(a_);                 \
		assert_string_equal(a_, (expected)); \
	} while (0)

#define assert_contains(haystack, needle)                                          \
	do {                                                                       \
		const char *h_ = (haystack);                                       \
		if (!h_ || !strstr(h_, (needle)))                                  \
			fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", \
				 (needle));                                        \
	} while (0)

/* snprintf that fails the test instead of cutting a path short. */
static void assert_resolve_fails(const char *name, int code, const char *text)
{
	struct vss_volume *vol = (struct vss_volume *)(uintptr_t)0x1;
	int rc;

	rc = vss_volume_resolve(name, &vol);
	if (rc != code)
		fail_msg("resolving '%s': %d (%s) instead of %d; message: %s", name ? name : "(null)",
			 rc, vss_strerror(rc), code, vss_error_last()->message);
	/* An output is never written on failure. */
	assert_ptr_equal(vol, (struct vss_volume *)(uintptr_t)0x1);
	assert_int_equal(vss_error_last()->code, code);
	if (text)
		assert_contains(vss_error_last()->message, text);
}

static struct vss_volume *resolve_ok(const char *name)
{
	struct vss_volume *vol = NULL;
	int rc;

	rc = vss_volume_resolve(name, &vol);
	if (rc < 0)
		fail_msg("resolving '%s': %s: %s", name, vss_strerror(rc), vss_error_last()->message);
	assert_non_null(vol);
	return vol;
}

static bool mountpoints_contain(const struct vss_volume *vol, const char *path)
{
	for (size_t i = 0; i < vss_volume_get_mountpoint_count(vol); i++)
		if (strcmp(vss_volume_get_mountpoint_at(vol, i), path) == 0)
			return true;
	return false;
}

/* ---- names that need nothing special -------------------------------- */

static void test_volume__empty_name_is_invalid(void **state)
{
	(void)state;
	assert_resolve_fails(NULL, -EINVAL, NULL);
	assert_resolve_fails("", -EINVAL, "no volume named");
}

static void test_volume__empty_tag_is_invalid(void **state)
{
	(void)state;
	assert_resolve_fails("UUID=", -EINVAL, "'UUID='");
	assert_resolve_fails("LABEL=", -EINVAL, "'LABEL='");
}

static void test_volume__unknown_uuid_not_found(void **state)
{
	char name[64], text[37];
	uuid_t u;

	(void)state;
	uuid_generate_random(u);
	uuid_unparse_lower(u, text);
	fmt(name, sizeof(name), "UUID=%s", text);
	assert_resolve_fails(name, -VSS_E_OBJECT_NOT_FOUND, name);
}

static void test_volume__nonexistent_path_not_found(void **state)
{
	char name[96], expect[128];

	(void)state;
	fmt(name, sizeof(name), "/nonexistent-vss-test-%ld/x", (long)getpid());
	fmt(expect, sizeof(expect), "'%s' does not exist", name);
	assert_resolve_fails(name, -VSS_E_OBJECT_NOT_FOUND, expect);
}

static void test_volume__plain_directory_is_not_a_volume(void **state)
{
	char dir[] = "/tmp/vss-test-volume-plain.XXXXXX";
	char expect[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	fmt(expect, sizeof(expect), "'%s' is not a volume", dir);
	assert_resolve_fails(dir, -VSS_E_OBJECT_NOT_FOUND, expect);
	assert_contains(vss_error_last()->message, "it is inside the filesystem mounted at '");
	assert_int_equal(rmdir(dir), 0);
}

static void test_volume__file_and_char_device_refused(void **state)
{
	char file[] = "/tmp/vss-test-volume-file.XXXXXX";
	int fd;

	(void)state;
	fd = mkstemp(file);
	assert_true(fd >= 0);
	close(fd);
	assert_resolve_fails(file, -VSS_E_OBJECT_NOT_FOUND, "a regular file");
	assert_int_equal(unlink(file), 0);
	assert_resolve_fails("/dev/null", -VSS_E_OBJECT_NOT_FOUND, "a character device");
}

static void test_volume__root_resolves(void **state)
{
	struct vss_volume *vol;

	(void)state;
	vol = resolve_ok("/");
	assert_str(vss_volume_get_name(vol), "/");
	assert_str(vss_volume_get_path(vol), "/");
	assert_str(vss_volume_get_mountpoint(vol), "/");
	assert_true(vss_volume_get_mountpoint_count(vol) >= 1);
	assert_true(mountpoints_contain(vol, "/"));
	assert_null(vss_volume_get_mountpoint_at(vol, vss_volume_get_mountpoint_count(vol)));
	assert_non_null(vss_volume_get_fstype(vol));
	assert_true(vss_volume_get_fstype(vol)[0] != '\0');
	assert_non_null(vss_volume_get_fsroot(vol));
	vss_volume_unref(vol);
}

static void test_volume__proc_has_no_device(void **state)
{
	struct vss_volume *vol;
	struct stat st;

	(void)state;
	assert_int_equal(stat("/proc", &st), 0);
	/* Trailing slash and a relative name lead to the same volume. */
	vol = resolve_ok("/proc/");
	assert_str(vss_volume_get_name(vol), "/proc/");
	assert_str(vss_volume_get_path(vol), "/proc");
	assert_str(vss_volume_get_mountpoint(vol), "/proc");
	assert_str(vss_volume_get_fstype(vol), "proc");
	assert_str(vss_volume_get_fsroot(vol), "/");
	assert_null(vss_volume_get_device(vol));
	assert_null(vss_volume_get_uuid(vol));
	assert_null(vss_volume_get_backing_file(vol));
	assert_int_equal(vss_volume_get_devno(vol), st.st_dev);
	assert_int_equal(vss_volume_get_size(vol), 0);
	assert_int_equal(vss_volume_get_subvolume_id(vol), 0);
	/* No UUID and no device: nothing to be the same as. */
	assert_false(vss_volume_is_same(vol, NULL, NULL, NULL));
	vss_volume_unref(vol);
}

static void test_volume__relative_name(void **state)
{
	char cwd[PATH_MAX];
	struct vss_volume *vol;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	vol = resolve_ok("proc");
	assert_int_equal(chdir(cwd), 0);
	assert_str(vss_volume_get_path(vol), "/proc");
	assert_str(vss_volume_get_name(vol), "proc");
	vss_volume_unref(vol);
}

static void test_volume__ref_unref(void **state)
{
	struct vss_volume *vol;

	(void)state;
	assert_null(vss_volume_ref(NULL));
	assert_null(vss_volume_unref(NULL));
	vol = resolve_ok("/proc");
	assert_ptr_equal(vss_volume_ref(vol), vol);
	assert_null(vss_volume_unref(vol));
	/* Still alive: one reference left (valgrind checks the rest). */
	assert_str(vss_volume_get_fstype(vol), "proc");
	assert_null(vss_volume_unref(vol));
}

/* ---- scratch volumes on loop devices ---------------------------------- */

struct scratch_fs {
	const char *fstype;
	const char *tag;          /* label prefix */
	uint64_t size;
	bool mount;
	bool available;
	char why[160];            /* why not available */
	char image[128];
	char dev[64];
	char uuid[37];
	char label[16];
	char mnt[128];
};

static struct {
	bool ready;
	char why[256];
	char dir[64];
	struct scratch_fs ext4, btrfs, xfs, bare;
	char mounts[16][192];
	int nmounts;
} S = {
	.ext4 = { .fstype = "ext4", .tag = "vsse", .size = 64 * MiB, .mount = true },
	.btrfs = { .fstype = "btrfs", .tag = "vssb", .size = 256 * MiB, .mount = true },
	.xfs = { .fstype = "xfs", .tag = "vssx", .size = 320 * MiB, .mount = true },
	.bare = { .fstype = "ext4", .tag = "vssu", .size = 16 * MiB, .mount = false },
};

static int track_mount(const char *path)
{
	if (S.nmounts >= (int)(sizeof(S.mounts) / sizeof(S.mounts[0])))
		return -1;
	fmt(S.mounts[S.nmounts++], sizeof(S.mounts[0]), "%s", path);
	return 0;
}

/* Unmount one of ours (by path) and forget it. */
static int untrack_umount(const char *path)
{
	for (int i = S.nmounts - 1; i >= 0; i--) {
		if (strcmp(S.mounts[i], path) != 0)
			continue;
		if (umount2(path, 0) < 0 && umount2(path, MNT_DETACH) < 0) {
			fprintf(stderr, "# cannot unmount '%s': %s\n", path, strerror(errno));
			return -1;
		}
		memmove(S.mounts[i], S.mounts[i + 1], (size_t)(S.nmounts - i - 1) * sizeof(S.mounts[0]));
		S.nmounts--;
		return 0;
	}
	return -1;
}

static int make_fs(struct scratch_fs *fs)
{
	char out[64], mkfs[32];
	uuid_t u;
	int fd;

	fmt(mkfs, sizeof(mkfs), "mkfs.%s", fs->fstype);
	if (run(NULL, 0, "command -v %s", mkfs) != 0) {
		fmt(fs->why, sizeof(fs->why), "%s is not installed", mkfs);
		return 0;
	}
	if (!fs_known_to_kernel(fs->fstype) &&
	    (run(NULL, 0, "modprobe -q %s", fs->fstype) != 0 || !fs_known_to_kernel(fs->fstype))) {
		fmt(fs->why, sizeof(fs->why), "the kernel has no %s", fs->fstype);
		return 0;
	}

	fmt(fs->image, sizeof(fs->image), "%s/%s.img", S.dir, fs->tag);
	fd = open(fs->image, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)fs->size) < 0) {
		fprintf(stderr, "# cannot create '%s': %s\n", fs->image, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (run(out, sizeof(out), "losetup --find --show '%s'", fs->image) != 0 ||
	    strncmp(out, "/dev/", 5) != 0)
		return -1;
	fmt(fs->dev, sizeof(fs->dev), "%s", out);

	uuid_generate_random(u);
	uuid_unparse_lower(u, fs->uuid);
	/* XFS labels hold 12 characters. */
	fmt(fs->label, sizeof(fs->label), "%s%ld", fs->tag, (long)getpid() % 10000000);
	if (strcmp(fs->fstype, "ext4") == 0)
		fd = run(NULL, 0, "mkfs.ext4 -q -F -L %s -U %s %s", fs->label, fs->uuid, fs->dev);
	else if (strcmp(fs->fstype, "btrfs") == 0)
		fd = run(NULL, 0, "mkfs.btrfs -q -f -L %s -U %s %s", fs->label, fs->uuid, fs->dev);
	else
		fd = run(NULL, 0, "mkfs.xfs -q -f -L %s -m uuid=%s %s", fs->label, fs->uuid, fs->dev);
	if (fd != 0)
		return -1;

	if (fs->mount) {
		fmt(fs->mnt, sizeof(fs->mnt), "%s/%s", S.dir, fs->fstype);
		if (mkdir(fs->mnt, 0755) < 0)
			return -1;
		if (run(NULL, 0, "mount -t %s %s %s", fs->fstype, fs->dev, fs->mnt) != 0)
			return -1;
		if (track_mount(fs->mnt) < 0)
			return -1;
	}
	fs->available = true;
	return 0;
}

static int scratch_teardown(void **state);

static int scratch_setup(void **state)
{
	char path[192];

	(void)state;
	if (geteuid() != 0) {
		fmt(S.why, sizeof(S.why), "needs root (loop devices, mkfs, mount)");
		return 0;
	}
	if (access("/dev/loop-control", F_OK) < 0 || run(NULL, 0, "command -v losetup") != 0) {
		fmt(S.why, sizeof(S.why), "needs loop devices (/dev/loop-control, losetup)");
		return 0;
	}
	fmt(S.dir, sizeof(S.dir), "/tmp/vss-test-volume.XXXXXX");
	if (!mkdtemp(S.dir)) {
		S.dir[0] = '\0';
		return -1;
	}
	if (make_fs(&S.ext4) < 0 || make_fs(&S.btrfs) < 0 || make_fs(&S.xfs) < 0 ||
	    make_fs(&S.bare) < 0)
		goto fail;

	if (S.ext4.available) {
		/* A second, read-only mount of the same filesystem root. */
		fmt(path, sizeof(path), "%s/ext4-bind", S.dir);
		if (mkdir(path, 0755) < 0 || run(NULL, 0, "mount --bind %s %s", S.ext4.mnt, path) != 0 ||
		    track_mount(path) < 0 ||
		    run(NULL, 0, "mount -o remount,bind,ro %s", path) != 0)
			goto fail;
		fmt(path, sizeof(path), "%s/plain", S.ext4.mnt);
		if (mkdir(path, 0755) < 0)
			goto fail;
	}
	if (S.btrfs.available) {
		if (run(NULL, 0, "btrfs -q subvolume create %s/sub1", S.btrfs.mnt) != 0 ||
		    run(NULL, 0, "btrfs -q subvolume create %s/sub2", S.btrfs.mnt) != 0 ||
		    run(NULL, 0, "btrfs -q subvolume snapshot -r %s %s/snap-ro", S.btrfs.mnt,
			S.btrfs.mnt) != 0)
			goto fail;
		fmt(path, sizeof(path), "%s/sub2-mnt", S.dir);
		if (mkdir(path, 0755) < 0)
			goto fail;
	}
	if (S.xfs.available && unlink(S.xfs.image) < 0)
		goto fail;   /* the loop device keeps it; its name ends " (deleted)" */
	S.ready = true;
	return 0;
fail:
	fprintf(stderr, "# could not build the scratch volumes in '%s'\n", S.dir);
	scratch_teardown(state);
	return -1;
}

static void release_fs(struct scratch_fs *fs)
{
	if (fs->dev[0] && run(NULL, 0, "losetup -d %s", fs->dev) != 0)
		fprintf(stderr, "# cannot detach '%s'\n", fs->dev);
	fs->dev[0] = '\0';
	if (fs->image[0])
		unlink(fs->image);
	if (fs->mnt[0])
		rmdir(fs->mnt);
}

static int scratch_teardown(void **state)
{
	char path[192];
	bool all_unmounted = true;

	(void)state;
	while (S.nmounts > 0)
		if (untrack_umount(S.mounts[S.nmounts - 1]) < 0) {
			all_unmounted = false;
			S.nmounts--;
		}
	release_fs(&S.ext4);
	release_fs(&S.btrfs);
	release_fs(&S.xfs);
	release_fs(&S.bare);
	if (S.dir[0] && all_unmounted) {
		fmt(path, sizeof(path), "%s/ext4-bind", S.dir);
		rmdir(path);
		fmt(path, sizeof(path), "%s/sub2-mnt", S.dir);
		rmdir(path);
		if (rmdir(S.dir) < 0)
			fprintf(stderr, "# cannot remove '%s': %s\n", S.dir, strerror(errno));
		else
			S.dir[0] = '\0';
	}
	S.ready = false;
	return 0;
}

#define NEED(fs)                                                                      \
	do {                                                                          \
		if (!S.ready) {                                                       \
			fprintf(stderr, "# skipped: %s\n", S.why);                    \
			skip();                                                       \
		}                                                                     \
		if (!(fs)->available) {                                               \
			fprintf(stderr, "# skipped: %s\n", (fs)->why);                \
			skip();                                                       \
		}                                                                     \
	} while (0)

static dev_t rdev_of(const char *dev)
{
	struct stat st;

	assert_int_equal(stat(dev, &st), 0);
	assert_true(S_ISBLK(st.st_mode));
	return st.st_rdev;
}

static void test_volume__ext4_by_mountpoint(void **state)
{
	struct vss_volume *vol;

	(void)state;
	NEED(&S.ext4);
	vol = resolve_ok(S.ext4.mnt);
	assert_str(vss_volume_get_path(vol), S.ext4.mnt);
	assert_str(vss_volume_get_mountpoint(vol), S.ext4.mnt);
	assert_str(vss_volume_get_fsroot(vol), "/");
	assert_str(vss_volume_get_device(vol), S.ext4.dev);
	assert_int_equal(vss_volume_get_devno(vol), rdev_of(S.ext4.dev));
	assert_str(vss_volume_get_fstype(vol), "ext4");
	assert_str(vss_volume_get_uuid(vol), S.ext4.uuid);
	assert_str(vss_volume_get_label(vol), S.ext4.label);
	assert_int_equal(vss_volume_get_size(vol), S.ext4.size);
	assert_str(vss_volume_get_backing_file(vol), S.ext4.image);
	assert_int_equal(vss_volume_get_subvolume_id(vol), 0);
	assert_false(vss_volume_is_read_only(vol));
	vss_volume_unref(vol);
}

static void test_volume__ext4_by_device_and_symlink(void **state)
{
	char link[PATH_MAX + 16];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.ext4);
	vol = resolve_ok(S.ext4.dev);
	assert_str(vss_volume_get_name(vol), S.ext4.dev);
	assert_str(vss_volume_get_path(vol), S.ext4.mnt);
	assert_str(vss_volume_get_mountpoint(vol), S.ext4.mnt);
	assert_str(vss_volume_get_device(vol), S.ext4.dev);
	assert_str(vss_volume_get_uuid(vol), S.ext4.uuid);
	vss_volume_unref(vol);

	/* Like /dev/disk/by-uuid/...: a symlink to the device. */
	fmt(link, sizeof(link), "%s/dev-link", S.dir);
	assert_int_equal(symlink(S.ext4.dev, link), 0);
	vol = resolve_ok(link);
	unlink(link);
	assert_str(vss_volume_get_name(vol), link);
	assert_str(vss_volume_get_path(vol), S.ext4.mnt);
	assert_str(vss_volume_get_device(vol), S.ext4.dev);
	vss_volume_unref(vol);
}

static void test_volume__ext4_by_uuid_and_label(void **state)
{
	char name[64];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.ext4);
	fmt(name, sizeof(name), "UUID=%s", S.ext4.uuid);
	vol = resolve_ok(name);
	assert_str(vss_volume_get_name(vol), name);
	assert_str(vss_volume_get_path(vol), S.ext4.mnt);
	assert_str(vss_volume_get_device(vol), S.ext4.dev);
	vss_volume_unref(vol);

	/* Upper case, as some tools print it. */
	for (char *p = name + 5; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	vol = resolve_ok(name);
	assert_str(vss_volume_get_path(vol), S.ext4.mnt);
	vss_volume_unref(vol);

	fmt(name, sizeof(name), "LABEL=%s", S.ext4.label);
	vol = resolve_ok(name);
	assert_str(vss_volume_get_path(vol), S.ext4.mnt);
	assert_str(vss_volume_get_label(vol), S.ext4.label);
	vss_volume_unref(vol);
}

static void test_volume__second_mount_listed(void **state)
{
	char bind[PATH_MAX + 16];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.ext4);
	fmt(bind, sizeof(bind), "%s/ext4-bind", S.dir);

	vol = resolve_ok(S.ext4.mnt);
	assert_int_equal(vss_volume_get_mountpoint_count(vol), 2);
	assert_str(vss_volume_get_mountpoint_at(vol, 0), S.ext4.mnt);
	assert_str(vss_volume_get_mountpoint_at(vol, 1), bind);
	vss_volume_unref(vol);

	/* Named by the second mount point: that is its path; it is read-only
	 * there although the filesystem is not. */
	vol = resolve_ok(bind);
	assert_str(vss_volume_get_path(vol), bind);
	assert_str(vss_volume_get_mountpoint(vol), bind);
	assert_int_equal(vss_volume_get_mountpoint_count(vol), 2);
	assert_str(vss_volume_get_mountpoint_at(vol, 0), S.ext4.mnt);
	assert_str(vss_volume_get_mountpoint_at(vol, 1), bind);
	assert_true(vss_volume_is_read_only(vol));
	assert_str(vss_volume_get_uuid(vol), S.ext4.uuid);
	vss_volume_unref(vol);

	/* Named by the device: the first mount in table order is primary. */
	vol = resolve_ok(S.ext4.dev);
	assert_str(vss_volume_get_path(vol), S.ext4.mnt);
	assert_int_equal(vss_volume_get_mountpoint_count(vol), 2);
	vss_volume_unref(vol);
}

static void test_volume__directory_inside_mount_refused(void **state)
{
	char plain[PATH_MAX + 16], expect[PATH_MAX + 64];

	(void)state;
	NEED(&S.ext4);
	fmt(plain, sizeof(plain), "%s/plain", S.ext4.mnt);
	fmt(expect, sizeof(expect), "'%s' is not a volume", plain);
	assert_resolve_fails(plain, -VSS_E_OBJECT_NOT_FOUND, expect);
	fmt(expect, sizeof(expect), "(it is inside the filesystem mounted at '%s')", S.ext4.mnt);
	assert_contains(vss_error_last()->message, expect);
}

static void test_volume__unmounted_device_refused(void **state)
{
	char name[64], expect[128];

	(void)state;
	NEED(&S.bare);
	fmt(expect, sizeof(expect), "'%s' is not mounted", S.bare.dev);
	assert_resolve_fails(S.bare.dev, -VSS_E_OBJECT_NOT_FOUND, expect);

	/* Found by libblkid, but not mounted. */
	fmt(name, sizeof(name), "LABEL=%s", S.bare.label);
	fmt(expect, sizeof(expect), "'%s' is not mounted (it is '%s')", name, S.bare.dev);
	assert_resolve_fails(name, -VSS_E_OBJECT_NOT_FOUND, expect);
	fmt(name, sizeof(name), "UUID=%s", S.bare.uuid);
	assert_resolve_fails(name, -VSS_E_OBJECT_NOT_FOUND, "is not mounted");
}

static void test_volume__btrfs_by_mountpoint(void **state)
{
	char name[64];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.btrfs);
	vol = resolve_ok(S.btrfs.mnt);
	assert_str(vss_volume_get_fstype(vol), "btrfs");
	assert_str(vss_volume_get_fsroot(vol), "/");
	assert_str(vss_volume_get_device(vol), S.btrfs.dev);
	assert_int_equal(vss_volume_get_devno(vol), rdev_of(S.btrfs.dev));
	assert_str(vss_volume_get_uuid(vol), S.btrfs.uuid);
	assert_str(vss_volume_get_label(vol), S.btrfs.label);
	assert_int_equal(vss_volume_get_size(vol), S.btrfs.size);
	assert_str(vss_volume_get_backing_file(vol), S.btrfs.image);
	assert_int_equal(vss_volume_get_subvolume_id(vol), 5);  /* the top level */
	assert_int_equal(vss_volume_get_mountpoint_count(vol), 1);
	vss_volume_unref(vol);

	fmt(name, sizeof(name), "UUID=%s", S.btrfs.uuid);
	vol = resolve_ok(name);
	assert_str(vss_volume_get_path(vol), S.btrfs.mnt);
	vss_volume_unref(vol);
}

static void test_volume__btrfs_unmounted_subvolume(void **state)
{
	char sub[PATH_MAX + 16], cwd[PATH_MAX];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.btrfs);
	fmt(sub, sizeof(sub), "%s/sub1", S.btrfs.mnt);
	vol = resolve_ok(sub);
	assert_str(vss_volume_get_path(vol), sub);
	assert_str(vss_volume_get_mountpoint(vol), S.btrfs.mnt);
	assert_str(vss_volume_get_fsroot(vol), "/sub1");
	assert_str(vss_volume_get_device(vol), S.btrfs.dev);
	assert_str(vss_volume_get_uuid(vol), S.btrfs.uuid);
	/* The first subvolume made on a new filesystem. */
	assert_int_equal(vss_volume_get_subvolume_id(vol), 256);
	assert_int_equal(vss_volume_get_mountpoint_count(vol), 1);
	assert_str(vss_volume_get_mountpoint_at(vol, 0), S.btrfs.mnt);
	assert_true(vss_volume_is_same(vol, S.btrfs.uuid, NULL, "/sub1"));
	assert_false(vss_volume_is_same(vol, S.btrfs.uuid, NULL, "/"));
	vss_volume_unref(vol);

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(S.btrfs.mnt), 0);
	vol = resolve_ok("sub1");
	assert_int_equal(chdir(cwd), 0);
	assert_str(vss_volume_get_path(vol), sub);
	vss_volume_unref(vol);
}

static void test_volume__btrfs_read_only_snapshot(void **state)
{
	char snap[PATH_MAX + 16];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.btrfs);
	fmt(snap, sizeof(snap), "%s/snap-ro", S.btrfs.mnt);
	vol = resolve_ok(snap);
	assert_str(vss_volume_get_fsroot(vol), "/snap-ro");
	assert_int_equal(vss_volume_get_subvolume_id(vol), 258);
	/* Read-only on a read-write mount. */
	assert_true(vss_volume_is_read_only(vol));
	/* Same filesystem UUID as its origin, but another root. */
	assert_str(vss_volume_get_uuid(vol), S.btrfs.uuid);
	assert_false(vss_volume_is_same(vol, S.btrfs.uuid, S.btrfs.dev, "/"));
	vss_volume_unref(vol);
}

static void test_volume__btrfs_device_at_several_roots(void **state)
{
	char sub2mnt[PATH_MAX + 16], name[64];
	struct vss_volume *vol;
	int rc;

	(void)state;
	NEED(&S.btrfs);
	fmt(sub2mnt, sizeof(sub2mnt), "%s/sub2-mnt", S.dir);
	assert_int_equal(run(NULL, 0, "mount -t btrfs -o subvol=/sub2 %s %s", S.btrfs.dev, sub2mnt), 0);
	assert_int_equal(track_mount(sub2mnt), 0);

	assert_resolve_fails(S.btrfs.dev, -VSS_E_VOLUME_NOT_SUPPORTED, S.btrfs.mnt);
	assert_contains(vss_error_last()->message, sub2mnt);
	assert_contains(vss_error_last()->message, "name one of these mount points");
	fmt(name, sizeof(name), "UUID=%s", S.btrfs.uuid);
	assert_resolve_fails(name, -VSS_E_VOLUME_NOT_SUPPORTED, sub2mnt);

	vol = resolve_ok(sub2mnt);
	assert_str(vss_volume_get_path(vol), sub2mnt);
	assert_str(vss_volume_get_fsroot(vol), "/sub2");
	assert_int_equal(vss_volume_get_subvolume_id(vol), 257);
	assert_int_equal(vss_volume_get_mountpoint_count(vol), 1);
	assert_str(vss_volume_get_device(vol), S.btrfs.dev);
	assert_true(vss_volume_is_same(vol, S.btrfs.uuid, NULL, "/sub2"));
	assert_false(vss_volume_is_same(vol, S.btrfs.uuid, NULL, NULL));
	vss_volume_unref(vol);

	/* The same subvolume reached through the top-level mount lists the
	 * mount of that subvolume. */
	fmt(name, sizeof(name), "%s/sub2", S.btrfs.mnt);
	vol = resolve_ok(name);
	assert_str(vss_volume_get_mountpoint(vol), S.btrfs.mnt);
	assert_str(vss_volume_get_fsroot(vol), "/sub2");
	assert_int_equal(vss_volume_get_mountpoint_count(vol), 1);
	assert_str(vss_volume_get_mountpoint_at(vol, 0), sub2mnt);
	vss_volume_unref(vol);

	rc = untrack_umount(sub2mnt);
	assert_int_equal(rc, 0);
	vol = resolve_ok(S.btrfs.dev);
	assert_str(vss_volume_get_path(vol), S.btrfs.mnt);
	vss_volume_unref(vol);
}

static void test_volume__xfs_deleted_backing_file(void **state)
{
	char name[64];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.xfs);
	fmt(name, sizeof(name), "LABEL=%s", S.xfs.label);
	vol = resolve_ok(name);
	assert_str(vss_volume_get_path(vol), S.xfs.mnt);
	assert_str(vss_volume_get_fstype(vol), "xfs");
	assert_str(vss_volume_get_uuid(vol), S.xfs.uuid);
	assert_str(vss_volume_get_label(vol), S.xfs.label);
	assert_str(vss_volume_get_device(vol), S.xfs.dev);
	assert_int_equal(vss_volume_get_size(vol), S.xfs.size);
	assert_int_equal(vss_volume_get_subvolume_id(vol), 0);
	/* The image was unlinked after the loop device was set up. */
	assert_null(vss_volume_get_backing_file(vol));
	vss_volume_unref(vol);
}

static void test_volume__is_same(void **state)
{
	char upper[37];
	struct vss_volume *vol;

	(void)state;
	NEED(&S.ext4);
	NEED(&S.bare);
	vol = resolve_ok(S.ext4.mnt);
	assert_true(vss_volume_is_same(vol, S.ext4.uuid, NULL, NULL));
	assert_true(vss_volume_is_same(vol, S.ext4.uuid, S.bare.dev, "/"));
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] = (char)(S.ext4.uuid[i] >= 'a' && S.ext4.uuid[i] <= 'f'
					  ? S.ext4.uuid[i] - 'a' + 'A' : S.ext4.uuid[i]);
	assert_true(vss_volume_is_same(vol, upper, NULL, "/"));
	assert_false(vss_volume_is_same(vol, S.ext4.uuid, NULL, "/sub"));
	/* Both UUIDs known and different: the device does not matter. */
	assert_false(vss_volume_is_same(vol, S.bare.uuid, S.ext4.dev, "/"));
	/* No UUID recorded: the device decides. */
	assert_true(vss_volume_is_same(vol, NULL, S.ext4.dev, NULL));
	assert_true(vss_volume_is_same(vol, "", S.ext4.dev, "/"));
	assert_false(vss_volume_is_same(vol, NULL, S.bare.dev, "/"));
	assert_false(vss_volume_is_same(vol, NULL, NULL, "/"));
	vss_volume_unref(vol);
}

int main(void)
{
	const struct CMUnitTest basic[] = {
		cmocka_unit_test(test_volume__empty_name_is_invalid),
		cmocka_unit_test(test_volume__empty_tag_is_invalid),
		cmocka_unit_test(test_volume__unknown_uuid_not_found),
		cmocka_unit_test(test_volume__nonexistent_path_not_found),
		cmocka_unit_test(test_volume__plain_directory_is_not_a_volume),
		cmocka_unit_test(test_volume__file_and_char_device_refused),
		cmocka_unit_test(test_volume__root_resolves),
		cmocka_unit_test(test_volume__proc_has_no_device),
		cmocka_unit_test(test_volume__relative_name),
		cmocka_unit_test(test_volume__ref_unref),
	};
	const struct CMUnitTest scratch[] = {
		cmocka_unit_test(test_volume__ext4_by_mountpoint),
		cmocka_unit_test(test_volume__ext4_by_device_and_symlink),
		cmocka_unit_test(test_volume__ext4_by_uuid_and_label),
		cmocka_unit_test(test_volume__second_mount_listed),
		cmocka_unit_test(test_volume__directory_inside_mount_refused),
		cmocka_unit_test(test_volume__unmounted_device_refused),
		cmocka_unit_test(test_volume__btrfs_by_mountpoint),
		cmocka_unit_test(test_volume__btrfs_unmounted_subvolume),
		cmocka_unit_test(test_volume__btrfs_read_only_snapshot),
		cmocka_unit_test(test_volume__btrfs_device_at_several_roots),
		cmocka_unit_test(test_volume__xfs_deleted_backing_file),
		cmocka_unit_test(test_volume__is_same),
	};
	int failed;

	failed = cmocka_run_group_tests_name("volume names", basic, NULL, NULL);
	failed += cmocka_run_group_tests_name("scratch volumes", scratch, scratch_setup,
					      scratch_teardown);
	return failed ? 1 : 0;
}
