/*
 * Providers: the registry (needs nothing special), then the btrfs and image
 * engines on real scratch volumes — btrfs subvolume snapshots, reflink
 * clones of ext4 images kept on XFS and btrfs, frozen by the freeze guard as
 * the session does — and the refusals.  The scratch part needs root, loop
 * devices and kernel btrfs, XFS and ext4; it skips saying which is missing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include <btrfsutil.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/banned.h"

#define MiB (1024ull * 1024)

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

#define assert_ok(expr)                                                            \
	do {                                                                       \
		int rc_ = (expr);                                                  \
		if (rc_ < 0)                                                       \
			fail_msg("%s: %s: %s", #expr, vss_strerror(rc_),           \
				 vss_error_last()->message);                       \
	} while (0)

/* ---- scratch volumes ---------------------------------------------------- */

struct scratch {
	const char *fstype;
	uint64_t size;
	bool nocow;               /* chattr +C on the image (btrfs hosts) */
	char image[PATH_MAX];
	char dev[64];
	char mnt[PATH_MAX];
};

enum { UNDO_MOUNT, UNDO_LOOP };

static struct {
	bool ready;
	char why[256];
	char dir[64];
	struct scratch btrfs;      /* the btrfs provider's volume; also hosts an image */
	struct scratch xfs;        /* hosts an image; its own image sits on the root fs */
	struct scratch on_xfs;     /* ext4 in an image on the XFS volume */
	struct scratch on_btrfs;   /* ext4 in an image on the btrfs volume */
	struct {
		int kind;
		char name[PATH_MAX];
	} undo[16];
	int nundo;
} S = {
	.btrfs = { .fstype = "btrfs", .size = 256 * MiB },
	.xfs = { .fstype = "xfs", .size = 320 * MiB },
	.on_xfs = { .fstype = "ext4", .size = 64 * MiB },
	/* NOCOW, as VM images on btrfs usually are: clones must match it. */
	.on_btrfs = { .fstype = "ext4", .size = 32 * MiB, .nocow = true },
};

static int push_undo(int kind, const char *name)
{
	if (S.nundo >= (int)(sizeof(S.undo) / sizeof(S.undo[0])))
		return -1;
	S.undo[S.nundo].kind = kind;
	fmt(S.undo[S.nundo].name, sizeof(S.undo[0].name), "%s", name);
	S.nundo++;
	return 0;
}

/* Undo our own mounts and loop devices, newest first, down to level. */
static void undo_to(int level)
{
	while (S.nundo > level) {
		S.nundo--;
		if (S.undo[S.nundo].kind == UNDO_MOUNT) {
			if (umount2(S.undo[S.nundo].name, 0) < 0 &&
			    umount2(S.undo[S.nundo].name, MNT_DETACH) < 0)
				fprintf(stderr, "# cannot unmount '%s': %s\n", S.undo[S.nundo].name,
					strerror(errno));
		} else {
			run(NULL, 0, "losetup -d %s", S.undo[S.nundo].name);
		}
	}
}

/* Attach image to a new loop device (read-only if asked). */
static int attach(const char *image, bool ro, char *dev, size_t devsz)
{
	if (run(dev, devsz, "losetup --find --show %s %s", ro ? "--read-only" : "", image) != 0)
		return -1;
	return push_undo(UNDO_LOOP, dev);
}

static int mount_at(const char *dev, const char *mnt, const char *fstype, unsigned long flags,
		    const char *opts)
{
	if (mkdir(mnt, 0755) < 0 && errno != EEXIST)
		return -1;
	if (mount(dev, mnt, fstype, flags, opts) < 0) {
		fprintf(stderr, "# mount %s on %s: %s\n", dev, mnt, strerror(errno));
		return -1;
	}
	return push_undo(UNDO_MOUNT, mnt);
}

/* An image of fs in dir, attached and mounted at dir/<name>. */
static int scratch_make(struct scratch *fs, const char *dir, const char *name)
{
	fmt(fs->image, sizeof(fs->image), "%s/%s.img", dir, name);
	fmt(fs->mnt, sizeof(fs->mnt), "%s/%s", S.dir, name);
	if (fs->nocow && run(NULL, 0, "touch %s && chattr +C %s", fs->image, fs->image) != 0)
		return -1;
	if (run(NULL, 0, "truncate -s %llu %s", (unsigned long long)fs->size, fs->image) != 0)
		return -1;
	if (run(NULL, 0, "mkfs.%s -q %s %s", fs->fstype,
		strcmp(fs->fstype, "ext4") == 0 ? "-F" : "-f", fs->image) != 0)
		return -1;
	if (attach(fs->image, false, fs->dev, sizeof(fs->dev)) < 0)
		return -1;
	return mount_at(fs->dev, fs->mnt, fs->fstype, 0, NULL);
}

static int group_setup(void **state)
{
	char images[PATH_MAX];

	(void)state;
	if (geteuid() != 0) {
		fmt(S.why, sizeof(S.why), "not root: snapshots and loop devices need root");
		return 0;
	}
	if (access("/dev/loop-control", F_OK) < 0) {
		fmt(S.why, sizeof(S.why), "no loop devices (/dev/loop-control is missing)");
		return 0;
	}
	if (!fs_known_to_kernel("btrfs") || !fs_known_to_kernel("xfs") ||
	    !fs_known_to_kernel("ext4")) {
		fmt(S.why, sizeof(S.why), "the kernel lacks btrfs, XFS or ext4");
		return 0;
	}
	if (run(NULL, 0, "command -v mkfs.btrfs && command -v mkfs.xfs && command -v mkfs.ext4 && "
		"command -v losetup") != 0) {
		fmt(S.why, sizeof(S.why), "mkfs.btrfs, mkfs.xfs, mkfs.ext4 or losetup is missing");
		return 0;
	}
	fmt(S.dir, sizeof(S.dir), "/tmp/vss-test-prov.XXXXXX");
	if (!mkdtemp(S.dir)) {
		fmt(S.why, sizeof(S.why), "cannot create a temporary directory");
		return 0;
	}
	/* From here on a failure is a failure, not a reason to skip. */
	if (scratch_make(&S.btrfs, S.dir, "btrfs") < 0 || scratch_make(&S.xfs, S.dir, "xfs") < 0)
		return -1;
	fmt(images, sizeof(images), "%s/images", S.xfs.mnt);
	if (mkdir(images, 0755) < 0 || scratch_make(&S.on_xfs, images, "on-xfs") < 0)
		return -1;
	fmt(images, sizeof(images), "%s/images", S.btrfs.mnt);
	if (mkdir(images, 0755) < 0 || scratch_make(&S.on_btrfs, images, "on-btrfs") < 0)
		return -1;
	S.ready = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	undo_to(0);
	if (S.dir[0])
		run(NULL, 0, "rm -rf %s", S.dir);
	return 0;
}

#define NEED_SCRATCH()                                         \
	do {                                                   \
		if (!S.ready) {                                \
			fprintf(stderr, "# skipped: %s\n", S.why); \
			skip();                                \
		}                                              \
	} while (0)

static struct vss_volume *resolve(const char *name)
{
	struct vss_volume *vol = NULL;

	assert_ok(vss_volume_resolve(name, &vol));
	return vol;
}

static struct vss_snapshot *new_snap(const struct vss_provider *p, const struct vss_volume *vol)
{
	struct vss_snapshot *snap = vss__snapshot_new();

	assert_non_null(snap);
	vss_guid_generate(&snap->id);
	vss_guid_generate(&snap->set_id);
	assert_ok(vss_guid_parse(p->id, &snap->provider_id));
	assert_ok(vss__strset(&snap->provider_name, p->name));
	assert_ok(vss__strset(&snap->original_volume, vss_volume_get_path(vol)));
	assert_ok(vss__strset(&snap->original_fstype, vss_volume_get_fstype(vol)));
	snap->count = 1;
	snap->creation_time = vss__now_realtime_ns();
	snap->state = VSS_SS_PREPARING;
	return snap;
}

static void write_file(const char *dir, const char *name, const char *text, bool sync)
{
	char path[PATH_MAX];
	int fd;

	fmt(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	if (sync)
		assert_int_equal(fsync(fd), 0);
	assert_int_equal(close(fd), 0);
}

/* The content of dir/name, or "" when it does not exist. */
static void read_text(const char *dir, const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	fmt(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		assert_int_equal(errno, ENOENT);
		return;
	}
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool strv_has(const struct strv *v, const char *s)
{
	return strv_contains(v, s);
}

static void assert_rejects(const struct vss_provider *p, const struct vss_volume *vol,
			   const char *text)
{
	int rc = vss_provider_supports(p, vol);

	if (rc != -VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER)
		fail_msg("%s supports '%s': %d (%s)", p->name, vss_volume_get_path(vol), rc,
			 vss_error_last()->message);
	assert_contains(vss_error_last()->message, text);
}

/* ---- the registry ------------------------------------------------------- */

static void test_provider__registry_lists_btrfs_then_image(void **state)
{
	char text[VSS_GUID_STRING_MAX];

	(void)state;
	assert_int_equal(vss_provider_count(), 2);
	assert_str(vss_provider_get_name(vss_provider_at(0)), "btrfs");
	assert_str(vss_provider_get_name(vss_provider_at(1)), "image");
	assert_null(vss_provider_at(2));
	for (size_t i = 0; i < vss_provider_count(); i++) {
		const struct vss_provider *p = vss_provider_at(i);

		/* The binary id is the text id. */
		vss_guid_format(vss_provider_get_id(p), VSS_GUID_BRACES, text);
		assert_str(text, p->id);
		assert_non_null(vss_provider_get_display_name(p));
		assert_str(vss_provider_get_version(p), "1.0");
		assert_true(vss_provider_get_type(p) != VSS_PROV_UNKNOWN);
	}
	assert_false(vss_guid_equal(vss_provider_get_id(vss_provider_at(0)),
				    vss_provider_get_id(vss_provider_at(1))));
	/* Only the image provider needs the session's freeze. */
	assert_false(vss__provider_btrfs.needs_freeze);
	assert_true(vss__provider_image.needs_freeze);
	assert_null(vss_provider_get_id(NULL));
	assert_null(vss_provider_get_name(NULL));
}

static void test_provider__find_by_name_or_id(void **state)
{
	const struct vss_provider *btrfs = &vss__provider_btrfs, *image = &vss__provider_image;
	char bare[VSS_GUID_STRING_MAX], upper[VSS_GUID_STRING_MAX];

	(void)state;
	assert_ptr_equal(vss_provider_find("btrfs"), btrfs);
	assert_ptr_equal(vss_provider_find("BTRFS"), btrfs);
	assert_ptr_equal(vss_provider_find("Image"), image);
	assert_ptr_equal(vss_provider_find(image->id), image);
	vss_guid_format(vss_provider_get_id(btrfs), 0, bare);
	assert_ptr_equal(vss_provider_find(bare), btrfs);
	vss_guid_format(vss_provider_get_id(image), VSS_GUID_BRACES | VSS_GUID_UPPER, upper);
	assert_ptr_equal(vss_provider_find(upper), image);
}

static void test_provider__unknown_provider_not_registered(void **state)
{
	(void)state;
	assert_null(vss_provider_find("lvm"));
	assert_int_equal(vss_error_last()->code, -VSS_E_PROVIDER_NOT_REGISTERED);
	assert_str(vss_error_last()->message, "no provider named 'lvm' (known: btrfs, image)");
	assert_null(vss_provider_find("{00000000-0000-0000-0000-000000000000}"));
	assert_int_equal(vss_error_last()->code, -VSS_E_PROVIDER_NOT_REGISTERED);
	assert_contains(vss_error_last()->message, "'{00000000-0000-0000-0000-000000000000}'");
	assert_null(vss_provider_find("{9bde9fc5-2224-49e8-bf7a-8860f33c44ac"));
	assert_int_equal(vss_error_last()->code, -VSS_E_PROVIDER_NOT_REGISTERED);
	assert_null(vss_provider_find(""));
	assert_int_equal(vss_error_last()->code, -VSS_E_PROVIDER_NOT_REGISTERED);
	assert_null(vss_provider_find(NULL));
	assert_int_equal(vss_error_last()->code, -VSS_E_PROVIDER_NOT_REGISTERED);
}

static void test_provider__for_snapshot_by_id_then_name(void **state)
{
	struct vss_snapshot *snap = vss__snapshot_new();

	(void)state;
	assert_non_null(snap);
	assert_null(vss__provider_for_snapshot(snap));
	assert_ok(vss__strset(&snap->provider_name, "BTRFS"));
	assert_ptr_equal(vss__provider_for_snapshot(snap), &vss__provider_btrfs);
	/* The id wins over the name. */
	assert_ok(vss_guid_parse(vss__provider_image.id, &snap->provider_id));
	assert_ptr_equal(vss__provider_for_snapshot(snap), &vss__provider_image);
	/* An unknown id falls back to the name. */
	vss_guid_generate(&snap->provider_id);
	assert_ptr_equal(vss__provider_for_snapshot(snap), &vss__provider_btrfs);
	assert_ok(vss__strset(&snap->provider_name, "lvm"));
	assert_null(vss__provider_for_snapshot(snap));
	vss_snapshot_unref(snap);
}

static void test_provider__proc_supported_by_none(void **state)
{
	struct vss_volume *vol = resolve("/proc");

	(void)state;
	assert_rejects(&vss__provider_btrfs, vol, "'/proc' is proc, not btrfs");
	assert_rejects(&vss__provider_image, vol,
		       "'/proc' is proc without a block device, not a loop device");
	assert_int_equal(vss_provider_supports(NULL, vol), -EINVAL);
	vss_volume_unref(vol);
}

/* ---- btrfs ---------------------------------------------------------------- */

static void test_provider__btrfs_supports_rejections(void **state)
{
	struct vss_volume *vol;
	char expect[PATH_MAX + 64];

	(void)state;
	NEED_SCRATCH();
	vol = resolve(S.btrfs.mnt);
	assert_ok(vss_provider_supports(&vss__provider_btrfs, vol));
	vss_volume_unref(vol);

	vol = resolve(S.on_xfs.mnt);
	fmt(expect, sizeof(expect), "'%s' is ext4 on %s, not btrfs", S.on_xfs.mnt, S.on_xfs.dev);
	assert_rejects(&vss__provider_btrfs, vol, expect);
	vss_volume_unref(vol);
}

static void test_provider__btrfs_snapshot_lifecycle(void **state)
{
	const struct vss_provider *p = &vss__provider_btrfs;
	char store[PATH_MAX], expect_dev[PATH_MAX], guid[VSS_GUID_STRING_MAX], text[64];
	struct vss_snapshot *snap;
	struct vss_volume *vol;
	char *props;
	struct stat st;
	uint64_t id = 0;

	(void)state;
	NEED_SCRATCH();
	vol = resolve(S.btrfs.mnt);
	snap = new_snap(p, vol);
	write_file(S.btrfs.mnt, "before", "old", false);

	assert_ok(p->prepare(snap, vol));
	fmt(store, sizeof(store), "%s/.vss", S.btrfs.mnt);
	assert_str(snap->store, store);
	fmt(expect_dev, sizeof(expect_dev), "%s/%s", store, vss_guid_format(&snap->id, 0, guid));
	assert_str(snap->device, expect_dev);
	/* The store is a subvolume of its own, for root only. */
	assert_int_equal(btrfs_util_is_subvolume(store), BTRFS_UTIL_OK);
	assert_int_equal(stat(store, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_false(exists(snap->device));

	assert_ok(p->commit(snap, vol));
	assert_true(snap->hold_ns > 0);
	assert_true(snap->subvolume_id > 256);
	assert_int_equal(btrfs_util_subvolume_id(snap->device, &id), BTRFS_UTIL_OK);
	assert_int_equal(id, snap->subvolume_id);
	write_file(S.btrfs.mnt, "after", "new", true);
	write_file(S.btrfs.mnt, "before", "overwritten", true);

	/* The copy holds the volume as it was at the commit. */
	read_text(snap->device, "before", text, sizeof(text));
	assert_string_equal(text, "old");
	read_text(snap->device, "after", text, sizeof(text));
	assert_string_equal(text, "");
	assert_true(p->exists(snap));
	{
		bool ro = false;

		assert_int_equal(btrfs_util_get_subvolume_read_only(snap->device, &ro),
				 BTRFS_UTIL_OK);
		assert_true(ro);
	}

	/* The properties file goes with the copy. */
	snap->state = VSS_SS_CREATED;
	assert_ok(vss__snapshot_write_props(snap));
	props = vss__snapshot_props_path(snap);
	assert_non_null(props);
	assert_true(exists(props));

	assert_ok(p->remove(snap));
	assert_false(exists(snap->device));
	assert_false(exists(props));
	assert_false(p->exists(snap));
	/* Gone already: -ENOENT, and still no properties file. */
	assert_ok(vss__snapshot_write_props(snap));
	assert_int_equal(p->remove(snap), -ENOENT);
	assert_contains(vss_error_last()->message, "no longer exists");
	assert_false(exists(props));
	free(props);
	vss_snapshot_unref(snap);
	vss_volume_unref(vol);
}

static void test_provider__btrfs_later_copy_excludes_earlier_ones(void **state)
{
	const struct vss_provider *p = &vss__provider_btrfs;
	struct vss_snapshot *a, *b;
	struct vss_volume *vol;
	char inner[PATH_MAX];
	struct dirent *de;
	int entries = 0;
	DIR *d;

	(void)state;
	NEED_SCRATCH();
	vol = resolve(S.btrfs.mnt);
	a = new_snap(p, vol);
	b = new_snap(p, vol);
	assert_ok(p->prepare(a, vol));
	assert_ok(p->commit(a, vol));
	assert_ok(p->prepare(b, vol));
	assert_ok(p->commit(b, vol));
	/* b's .vss is the empty stand-in for the nested store subvolume. */
	fmt(inner, sizeof(inner), "%s/.vss", b->device);
	d = opendir(inner);
	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			entries++;
	closedir(d);
	assert_int_equal(entries, 0);
	assert_ok(p->remove(b));
	assert_ok(p->remove(a));
	vss_snapshot_unref(a);
	vss_snapshot_unref(b);
	vss_volume_unref(vol);
}

static void test_provider__btrfs_recorded_id_must_match(void **state)
{
	const struct vss_provider *p = &vss__provider_btrfs;
	struct vss_snapshot *snap;
	struct vss_volume *vol;

	(void)state;
	NEED_SCRATCH();
	vol = resolve(S.btrfs.mnt);
	snap = new_snap(p, vol);
	assert_ok(p->prepare(snap, vol));
	assert_ok(p->commit(snap, vol));
	snap->subvolume_id += 1000;
	assert_false(p->exists(snap));
	assert_int_equal(p->remove(snap), -VSS_E_UNEXPECTED_PROVIDER_ERROR);
	assert_contains(vss_error_last()->message, "not deleting it");
	assert_true(exists(snap->device));
	snap->subvolume_id -= 1000;
	assert_true(p->exists(snap));
	assert_ok(p->remove(snap));
	vss_snapshot_unref(snap);
	vss_volume_unref(vol);
}

static void test_provider__btrfs_store_that_is_a_file_refused(void **state)
{
	const struct vss_provider *p = &vss__provider_btrfs;
	char sub[PATH_MAX], store[PATH_MAX], expect[PATH_MAX + 64];
	struct vss_snapshot *snap;
	struct vss_volume *vol;

	(void)state;
	NEED_SCRATCH();
	fmt(sub, sizeof(sub), "%s/filestore", S.btrfs.mnt);
	assert_int_equal(btrfs_util_create_subvolume(sub, 0, NULL, NULL), BTRFS_UTIL_OK);
	write_file(sub, ".vss", "not a directory", false);
	vol = resolve(sub);
	assert_ok(vss_provider_supports(p, vol));
	snap = new_snap(p, vol);
	assert_int_equal(p->prepare(snap, vol), -ENOTDIR);
	fmt(store, sizeof(store), "%s/.vss", sub);
	fmt(expect, sizeof(expect), "'%s' exists and is not a directory", store);
	assert_contains(vss_error_last()->message, expect);
	assert_null(snap->device);
	vss_snapshot_unref(snap);
	vss_volume_unref(vol);
	assert_int_equal(btrfs_util_delete_subvolume(sub, 0), BTRFS_UTIL_OK);
}

static void test_provider__btrfs_stores_listed(void **state)
{
	const struct vss_provider *p = &vss__provider_btrfs;
	char sub[PATH_MAX], top_store[PATH_MAX], sub_store[PATH_MAX], inner[PATH_MAX];
	struct vss_snapshot *a, *b;
	struct vss_volume *top, *vol;
	struct strv dirs = STRV_INIT;

	(void)state;
	NEED_SCRATCH();
	fmt(sub, sizeof(sub), "%s/nested", S.btrfs.mnt);
	assert_int_equal(btrfs_util_create_subvolume(sub, 0, NULL, NULL), BTRFS_UTIL_OK);
	top = resolve(S.btrfs.mnt);
	vol = resolve(sub);
	a = new_snap(p, top);
	b = new_snap(p, vol);
	assert_ok(p->prepare(a, top));
	assert_ok(p->commit(a, top));
	assert_ok(p->prepare(b, vol));
	assert_ok(p->commit(b, vol));

	assert_ok(p->list_stores(&dirs));
	fmt(top_store, sizeof(top_store), "%s/.vss", S.btrfs.mnt);
	fmt(sub_store, sizeof(sub_store), "%s/.vss", sub);
	fmt(inner, sizeof(inner), "%s/.vss", a->device);
	if (!strv_has(&dirs, top_store) || !strv_has(&dirs, sub_store))
		fail_msg("'%s' or '%s' not listed (%zu stores)", top_store, sub_store, dirs.count);
	/* The empty stand-in inside a copy is no store. */
	assert_false(strv_has(&dirs, inner));
	for (size_t i = 0; i < dirs.count; i++)
		for (size_t j = i + 1; j < dirs.count; j++)
			assert_string_not_equal(dirs.items[i], dirs.items[j]);
	strv_release(&dirs);

	assert_ok(p->remove(b));
	assert_ok(p->remove(a));
	vss_snapshot_unref(a);
	vss_snapshot_unref(b);
	vss_volume_unref(vol);
	vss_volume_unref(top);
	assert_int_equal(btrfs_util_delete_subvolume(sub_store, 0), BTRFS_UTIL_OK);
	assert_int_equal(btrfs_util_delete_subvolume(sub, 0), BTRFS_UTIL_OK);
}

/* ---- image ---------------------------------------------------------------- */

static int files_equal(const char *a, const char *b)
{
	char *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	int same;

	assert_int_equal(file_read_all(a, &x, &nx), 0);
	assert_int_equal(file_read_all(b, &y, &ny), 0);
	same = nx == ny && memcmp(x, y, nx) == 0;
	free(x);
	free(y);
	return same;
}

static void image_lifecycle(struct scratch *vol_fs, const char *host_dir)
{
	const struct vss_provider *p = &vss__provider_image;
	char store[PATH_MAX], expect_dev[PATH_MAX], guid[VSS_GUID_STRING_MAX], text[64];
	char clone_dev[64], clone_mnt[PATH_MAX];
	const char *mps[1];
	struct vss__freeze_guard *g = NULL;
	struct vss_snapshot *snap;
	struct vss_volume *vol;
	struct strv dirs = STRV_INIT;
	uint64_t held = 0, t0, t1;
	char *props;
	struct stat st;
	int level;

	vol = resolve(vol_fs->mnt);
	assert_ok(vss_provider_supports(p, vol));
	snap = new_snap(p, vol);
	assert_ok(p->prepare(snap, vol));
	fmt(store, sizeof(store), "%s/.vss", host_dir);
	assert_str(snap->store, store);
	assert_str(snap->origin, vol_fs->image);
	fmt(expect_dev, sizeof(expect_dev), "%s/%s.img", store, vss_guid_format(&snap->id, 0, guid));
	assert_str(snap->device, expect_dev);
	assert_int_equal(stat(store, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_false(exists(snap->device));

	/* Not synced: the freeze must bring it down to the image. */
	write_file(vol_fs->mnt, "before", "old", false);

	/* As the session does: freeze, commit, (compare), thaw. */
	mps[0] = vol_fs->mnt;
	assert_ok(vss__freeze_guard_start(mps, 1, 10000, &g));
	t0 = vss__now_monotonic_ns();
	assert_ok(p->commit(snap, vol));
	t1 = vss__now_monotonic_ns();
	fprintf(stderr, "# clone of %s MiB image on %s, with fsync: %.3f ms\n",
		vol_fs == &S.on_xfs ? "64" : "32", vol_fs == &S.on_xfs ? "XFS" : "btrfs",
		(double)(t1 - t0) / 1e6);
	/* Nothing moves while frozen: the clone is the image, byte for byte. */
	assert_true(files_equal(snap->origin, snap->device));
	assert_ok(vss__freeze_guard_release(g, &held));
	assert_true(held > 0);

	write_file(vol_fs->mnt, "after", "new", true);
	write_file(vol_fs->mnt, "before", "overwritten", true);
	assert_true(p->exists(snap));
	assert_int_equal(stat(snap->device, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	if (vol_fs->nocow) {
		int fd = open(snap->device, O_RDONLY), flags = 0;

		assert_true(fd >= 0);
		assert_int_equal(ioctl(fd, FS_IOC_GETFLAGS, &flags), 0);
		close(fd);
		assert_true(flags & FS_NOCOW_FL);
	}

	/* Look inside the clone: the volume as it was at the freeze. */
	level = S.nundo;
	fmt(clone_mnt, sizeof(clone_mnt), "%s/clone", S.dir);
	assert_int_equal(attach(snap->device, true, clone_dev, sizeof(clone_dev)), 0);
	assert_int_equal(mount_at(clone_dev, clone_mnt, "ext4", MS_RDONLY, "noload"), 0);
	read_text(clone_mnt, "before", text, sizeof(text));
	assert_string_equal(text, "old");
	read_text(clone_mnt, "after", text, sizeof(text));
	assert_string_equal(text, "");
	undo_to(level);

	assert_ok(p->list_stores(&dirs));
	if (!strv_has(&dirs, store))
		fail_msg("'%s' not listed as a store", store);
	strv_release(&dirs);

	snap->state = VSS_SS_CREATED;
	assert_ok(vss__snapshot_write_props(snap));
	props = vss__snapshot_props_path(snap);
	assert_non_null(props);
	assert_ok(p->remove(snap));
	assert_false(exists(snap->device));
	assert_false(exists(props));
	assert_false(p->exists(snap));
	assert_int_equal(p->remove(snap), -ENOENT);
	free(props);
	vss_snapshot_unref(snap);
	vss_volume_unref(vol);
}

static void test_provider__image_clone_on_xfs(void **state)
{
	char host[PATH_MAX];

	(void)state;
	NEED_SCRATCH();
	fmt(host, sizeof(host), "%s/images", S.xfs.mnt);
	image_lifecycle(&S.on_xfs, host);
}

static void test_provider__image_clone_on_btrfs(void **state)
{
	char host[PATH_MAX];

	(void)state;
	NEED_SCRATCH();
	fmt(host, sizeof(host), "%s/images", S.btrfs.mnt);
	image_lifecycle(&S.on_btrfs, host);
}

static void test_provider__image_on_ext4_host_refused(void **state)
{
	const struct vss_provider *p = &vss__provider_image;
	char expect[PATH_MAX + 128], store[PATH_MAX], dev[PATH_MAX];
	struct vss_snapshot *snap;
	struct vss_volume *vol;
	struct stat st;
	int rc;

	(void)state;
	NEED_SCRATCH();
	/* The XFS scratch volume's own image lives in /tmp, on ext4 here. */
	vol = resolve(S.xfs.mnt);
	fmt(expect, sizeof(expect), "'%s' is on ext4, which cannot clone files; put the image on "
	    "XFS (mkfs.xfs -m reflink=1) or btrfs", S.xfs.image);
	fmt(store, sizeof(store), "%s/.vss", S.dir);
	{
		char type[32];

		if (run(type, sizeof(type), "stat -f -c %%T %s", S.dir) != 0 ||
		    strcmp(type, "ext2/ext3") != 0) {
			fprintf(stderr, "# skipped: %s is on %s, not ext4\n", S.dir, type);
			vss_volume_unref(vol);
			skip();
		}
	}
	assert_rejects(p, vol, expect);
	snap = new_snap(p, vol);
	rc = p->prepare(snap, vol);
	assert_int_equal(rc, -VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER);
	assert_contains(vss_error_last()->message, expect);
	assert_false(exists(store));
	assert_null(snap->device);

	/* Forced to commit anyway: the same error, and nothing left behind. */
	assert_int_equal(mkdir(store, 0700), 0);
	fmt(dev, sizeof(dev), "%s/forced.img", store);
	assert_ok(vss__strset(&snap->store, store));
	assert_ok(vss__strset(&snap->device, dev));
	assert_ok(vss__strset(&snap->origin, S.xfs.image));
	rc = p->commit(snap, vol);
	assert_int_equal(rc, -VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER);
	assert_contains(vss_error_last()->message, expect);
	assert_int_equal(lstat(dev, &st), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(rmdir(store), 0);
	vss_snapshot_unref(snap);
	vss_volume_unref(vol);
}

static void test_provider__image_supports_rejections(void **state)
{
	struct vss_volume *vol;
	char expect[PATH_MAX + 64];

	(void)state;
	NEED_SCRATCH();
	vol = resolve(S.on_xfs.mnt);
	assert_ok(vss_provider_supports(&vss__provider_image, vol));
	vss_volume_unref(vol);

	/* A volume on a disk, not a loop device: the root filesystem. */
	vol = resolve("/");
	if (!vss_volume_get_backing_file(vol) && vss_volume_get_device(vol)) {
		fmt(expect, sizeof(expect), "'/' is %s on %s, not a loop device",
		    vss_volume_get_fstype(vol), vss_volume_get_device(vol));
		assert_rejects(&vss__provider_image, vol, expect);
	}
	vss_volume_unref(vol);
}

static void test_provider__copies_outside_a_store_never_deleted(void **state)
{
	const struct vss_provider *provs[] = { &vss__provider_btrfs, &vss__provider_image };
	char victim[PATH_MAX], store[PATH_MAX], escape[PATH_MAX];
	struct vss_snapshot *snap;

	(void)state;
	NEED_SCRATCH();
	fmt(victim, sizeof(victim), "%s/victim", S.dir);
	fmt(store, sizeof(store), "%s/.vss", S.dir);
	fmt(escape, sizeof(escape), "%s/../victim", store);
	write_file(S.dir, "victim", "keep me", false);
	for (size_t i = 0; i < 2; i++) {
		snap = vss__snapshot_new();
		assert_non_null(snap);
		/* A store that is not a .vss directory. */
		assert_ok(vss__strset(&snap->store, S.dir));
		assert_ok(vss__strset(&snap->device, victim));
		assert_int_equal(provs[i]->remove(snap), -EINVAL);
		assert_contains(vss_error_last()->message, "not touching it");
		/* A device that climbs out of its store. */
		assert_ok(vss__strset(&snap->store, store));
		assert_ok(vss__strset(&snap->device, escape));
		assert_int_equal(provs[i]->remove(snap), -EINVAL);
		assert_true(exists(victim));
		vss_snapshot_unref(snap);
	}
	assert_int_equal(unlink(victim), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_provider__registry_lists_btrfs_then_image),
		cmocka_unit_test(test_provider__find_by_name_or_id),
		cmocka_unit_test(test_provider__unknown_provider_not_registered),
		cmocka_unit_test(test_provider__for_snapshot_by_id_then_name),
		cmocka_unit_test(test_provider__proc_supported_by_none),
		cmocka_unit_test(test_provider__btrfs_supports_rejections),
		cmocka_unit_test(test_provider__btrfs_snapshot_lifecycle),
		cmocka_unit_test(test_provider__btrfs_later_copy_excludes_earlier_ones),
		cmocka_unit_test(test_provider__btrfs_recorded_id_must_match),
		cmocka_unit_test(test_provider__btrfs_store_that_is_a_file_refused),
		cmocka_unit_test(test_provider__btrfs_stores_listed),
		cmocka_unit_test(test_provider__image_clone_on_xfs),
		cmocka_unit_test(test_provider__image_clone_on_btrfs),
		cmocka_unit_test(test_provider__image_on_ext4_host_refused),
		cmocka_unit_test(test_provider__image_supports_rejections),
		cmocka_unit_test(test_provider__copies_outside_a_store_never_deleted),
	};

	return cmocka_run_group_tests_name("provider", tests, group_setup, group_teardown);
}
