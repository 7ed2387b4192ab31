/*
 * The btrfs provider: read-only subvolume snapshots through libbtrfsutil.
 *
 * A volume is the root of a btrfs subvolume (mounted or not).  Its copies
 * live in "<volume>/.vss/<guid>", where .vss is itself a subvolume, created
 * on first use: btrfs snapshots do not descend into nested subvolumes, so a
 * later copy of the volume holds an empty .vss directory instead of every
 * earlier copy (the layout snapper uses for .snapshots).
 *
 * btrfs holds writes itself: the snapshot ioctl commits a transaction and
 * takes the copy at its boundary, so the session does not freeze the volume
 * (needs_freeze is false) and the time of the ioctl is the hold time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <libmount.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/banned.h"

/* Map a libbtrfsutil failure to -errno, with a message naming path. */
static int btrfs_error(enum btrfs_util_error e, int err, const char *what, const char *path)
{
	const char *text;
	int code;

	switch (e) {
	case BTRFS_UTIL_ERROR_NO_MEMORY:
		code = -ENOMEM;
		text = strerror(ENOMEM);
		break;
	case BTRFS_UTIL_ERROR_NOT_BTRFS:
		code = -EINVAL;
		text = "not on a btrfs filesystem";
		break;
	case BTRFS_UTIL_ERROR_NOT_SUBVOLUME:
		code = -EINVAL;
		text = "not a btrfs subvolume";
		break;
	case BTRFS_UTIL_ERROR_SUBVOLUME_NOT_FOUND:
		code = -ENOENT;
		text = "no such subvolume";
		break;
	case BTRFS_UTIL_ERROR_INVALID_ARGUMENT:
		code = -EINVAL;
		text = strerror(EINVAL);
		break;
	default:
		/* The others fail a system call, and libbtrfsutil leaves its errno. */
		code = err > 0 ? -err : -EIO;
		text = err > 0 ? strerror(err) : btrfs_util_strerror(e);
		break;
	}
	return vss__error(code, "cannot %s '%s': %s", what, path, text);
}

static int btrfs_supports(const struct vss_volume *vol)
{
	const char *path = vss_volume_get_path(vol);
	const char *fstype = vss_volume_get_fstype(vol);
	const char *dev = vss_volume_get_device(vol);
	enum btrfs_util_error e;
	bool ro = false;

	if (!fstype || strcmp(fstype, "btrfs") != 0) {
		if (dev)
			return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
					  "'%s' is %s on %s, not btrfs", path,
					  fstype ? fstype : "an unknown filesystem", dev);
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER, "'%s' is %s, not btrfs",
				  path, fstype ? fstype : "an unknown filesystem");
	}
	if (vss_volume_is_read_only(vol))
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
				  "'%s' is mounted read-only; btrfs snapshots need it writable", path);
	e = btrfs_util_is_subvolume(path);
	if (e == BTRFS_UTIL_ERROR_NOT_SUBVOLUME)
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
				  "'%s' is a directory on btrfs, not the root of a subvolume; name "
				  "the subvolume it is in, or make it one (btrfs subvolume create)",
				  path);
	if (e != BTRFS_UTIL_OK) {
		char why[512];

		/* vss__error() clears the message it would format from: copy it. */
		btrfs_error(e, errno, "inspect", path);
		snprintf(why, sizeof(why), "%s", vss_error_last()->message);
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER, "%s", why);
	}
	e = btrfs_util_get_subvolume_read_only(path, &ro);
	if (e == BTRFS_UTIL_OK && ro)
		return vss__error(-VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
				  "'%s' is a read-only subvolume (a snapshot?); copies are taken of "
				  "writable subvolumes", path);
	return 0;
}

/* Make sure "<path>/.vss" is there, as a subvolume when we create it. */
static int ensure_store(const char *path, char **ret_store)
{
	char *store;
	struct stat st;
	int rc = 0;

	store = path_join(path, VSS__STORE_DIR);
	if (!store)
		return vss__error(-ENOMEM, "out of memory");
	if (lstat(store, &st) < 0) {
		enum btrfs_util_error e;

		if (errno != ENOENT) {
			rc = vss__error(-errno, "cannot use '%s': %s", store, strerror(errno));
			goto out;
		}
		e = btrfs_util_create_subvolume(store, 0, NULL, NULL);
		if (e != BTRFS_UTIL_OK) {
			int err = errno;

			if (!(err == EEXIST && lstat(store, &st) == 0 && S_ISDIR(st.st_mode))) {
				rc = btrfs_error(e, err, "create the store", store);
				goto out;
			}
		}
		/* The copies keep their files' own permissions; the store
		 * itself is for root only, like snapper's .snapshots. */
		if (chmod(store, 0700) < 0) {
			rc = vss__error(-errno, "cannot set the mode of '%s': %s", store,
					strerror(errno));
			goto out;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		rc = vss__error(-ENOTDIR, "'%s' exists and is not a directory; move it away so vss "
				"can keep its copies there", store);
		goto out;
	}
	*ret_store = store;
	store = NULL;
out:
	free(store);
	return rc;
}

static int btrfs_prepare(struct vss_snapshot *snap, const struct vss_volume *vol)
{
	char guid[VSS_GUID_STRING_MAX];
	char *store = NULL, *device = NULL;
	struct stat st;
	int rc;

	rc = ensure_store(vss_volume_get_path(vol), &store);
	if (rc < 0)
		goto out;
	device = path_join(store, vss_guid_format(&snap->id, 0, guid));
	if (!device) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (lstat(device, &st) == 0) {
		rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS, "'%s' already exists", device);
		goto out;
	}
	if (vss__strset(&snap->store, store) < 0 || vss__strset(&snap->device, device) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
out:
	free(device);
	free(store);
	return rc;
}

static int btrfs_commit(struct vss_snapshot *snap, const struct vss_volume *vol)
{
	const char *path = vss_volume_get_path(vol);
	enum btrfs_util_error e;
	uint64_t t0, t1, id = 0;
	int rc = 0, err;

	t0 = vss__now_monotonic_ns();
	e = btrfs_util_create_snapshot(path, snap->device, BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY,
				       NULL, NULL);
	err = errno;
	t1 = vss__now_monotonic_ns();
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_error(e, err, "snapshot", path);
		goto out;
	}
	e = btrfs_util_subvolume_id(snap->device, &id);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_error(e, errno, "read the subvolume id of", snap->device);
		/* Nothing may be left of a failed commit. */
		btrfs_util_delete_subvolume(snap->device, 0);
		goto out;
	}
	snap->subvolume_id = id;
	snap->hold_ns = t1 - t0;
out:
	return rc;
}

static int btrfs_remove(const struct vss_snapshot *snap)
{
	enum btrfs_util_error e;
	struct stat st;
	uint64_t id = 0;
	int rc;

	rc = vss__snapshot_check_location(snap);
	if (rc < 0)
		goto out;
	if (lstat(snap->device, &st) < 0) {
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
	if (snap->subvolume_id) {
		e = btrfs_util_subvolume_id(snap->device, &id);
		if (e != BTRFS_UTIL_OK) {
			rc = btrfs_error(e, errno, "delete", snap->device);
			goto out;
		}
		if (id != snap->subvolume_id) {
			rc = vss__error(-VSS_E_UNEXPECTED_PROVIDER_ERROR,
					"'%s' is subvolume %llu, not the copy recorded (subvolume "
					"%llu); not deleting it", snap->device,
					(unsigned long long)id,
					(unsigned long long)snap->subvolume_id);
			goto out;
		}
	}
	e = btrfs_util_delete_subvolume(snap->device, 0);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_error(e, errno, "delete", snap->device);
		goto out;
	}
	rc = vss__snapshot_remove_props(snap);
out:
	return rc;
}

static bool btrfs_exists(const struct vss_snapshot *snap)
{
	uint64_t id = 0;

	if (!snap->device || btrfs_util_is_subvolume(snap->device) != BTRFS_UTIL_OK)
		return false;
	if (!snap->subvolume_id)
		return true;
	return btrfs_util_subvolume_id(snap->device, &id) == BTRFS_UTIL_OK &&
	       id == snap->subvolume_id;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Does a relative subvolume path go through a store (copies of copies)? */
static bool in_store(const char *rel)
{
	size_t n = strlen(VSS__STORE_DIR);

	for (const char *p = rel; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (strncmp(p, VSS__STORE_DIR, n) == 0 && (p[n] == '/' || !p[n]))
			return true;
	}
	return false;
}

/* Stores in subvolumes reachable under one mounted btrfs root. */
static int stores_under(const char *target, struct strv *dirs)
{
	struct btrfs_util_subvolume_iterator *it = NULL;
	enum btrfs_util_error e;
	char *rel = NULL, *sub = NULL, *store = NULL;
	int rc = 0;

	/* Iterator paths are relative to the subvolume of target; they are
	 * paths under target only when target is that subvolume's root. */
	if (btrfs_util_is_subvolume(target) != BTRFS_UTIL_OK)
		goto out;
	e = btrfs_util_create_subvolume_iterator(target, 0, 0, &it);
	if (e != BTRFS_UTIL_OK) {
		vss__debug("btrfs: cannot list the subvolumes under '%s': %s", target,
			   btrfs_util_strerror(e));
		goto out;
	}
	for (;;) {
		e = btrfs_util_subvolume_iterator_next(it, &rel, NULL);
		if (e == BTRFS_UTIL_ERROR_STOP_ITERATION)
			break;
		if (e != BTRFS_UTIL_OK) {
			/* A rescan takes what it can find. */
			vss__debug("btrfs: listing subvolumes under '%s' stopped: %s", target,
				   btrfs_util_strerror(e));
			break;
		}
		if (!in_store(rel)) {
			sub = path_join(target, rel);
			store = sub ? path_join(sub, VSS__STORE_DIR) : NULL;
			if (!store) {
				rc = vss__error(-ENOMEM, "out of memory");
				goto out;
			}
			if (is_dir(store) && strv_push_unique(dirs, store) < 0) {
				rc = vss__error(-ENOMEM, "out of memory");
				goto out;
			}
			free(store);
			free(sub);
			store = sub = NULL;
		}
		free(rel);
		rel = NULL;
	}
out:
	free(store);
	free(sub);
	free(rel);
	if (it)
		btrfs_util_destroy_subvolume_iterator(it);
	return rc;
}

static int btrfs_list_stores(struct strv *dirs)
{
	struct libmnt_table *tb = NULL;
	struct libmnt_iter *itr = NULL;
	struct libmnt_fs *fs;
	char *store = NULL;
	int rc = 0;

	tb = mnt_new_table();
	itr = mnt_new_iter(MNT_ITER_FORWARD);
	if (!tb || !itr) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	rc = mnt_table_parse_file(tb, "/proc/self/mountinfo");
	if (rc < 0) {
		rc = vss__error(rc, "cannot read '/proc/self/mountinfo': %s", strerror(-rc));
		goto out;
	}
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *target = mnt_fs_get_target(fs);

		if (!target || !mnt_fs_match_fstype(fs, "btrfs"))
			continue;
		store = path_join(target, VSS__STORE_DIR);
		if (!store) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		if (is_dir(store) && strv_push_unique(dirs, store) < 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		free(store);
		store = NULL;
		rc = stores_under(target, dirs);
		if (rc < 0)
			goto out;
	}
out:
	free(store);
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	return rc;
}

const struct vss_provider vss__provider_btrfs = {
	.name = "btrfs",
	.id = "{9bde9fc5-2224-49e8-bf7a-8860f33c44ac}",
	.display_name = "vss btrfs provider",
	.version = "1.0",
	.type = VSS_PROV_SYSTEM,
	.needs_freeze = false,
	.supports = btrfs_supports,
	.prepare = btrfs_prepare,
	.commit = btrfs_commit,
	.remove = btrfs_remove,
	.exists = btrfs_exists,
	.list_stores = btrfs_list_stores,
};
