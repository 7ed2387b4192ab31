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
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <libmount.h>

#include "vss-private.h"
#include "revert-private.h"
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

/* ---- reverting a volume (lib/revert.c does the rest) --------------------- */

/*
 * The volume is a subvolume other than the top level.  While it is
 * unmounted its parent directory is reached through a private mount of the
 * filesystem's top level in the run dir.  A writable snapshot of the copy
 * is made beside the volume, the store of copies (the nested subvolume
 * .vss, which a snapshot does not contain) moves into it, and
 * renameat2(RENAME_EXCHANGE) swaps the two names in one step, so the
 * volume's path never names nothing.  The old subvolume is deleted: its
 * state is in the safety copy.
 */
/* The id of the top-level subvolume of every btrfs filesystem. */
#define BTRFS_TOP_SUBVOLUME 5

struct btrfs_revert {
	char *workdir;      /* under the run dir; the top level is mounted there */
	bool top_mounted;
	char *parent;       /* the directory holding the volume's subvolume */
	char *subvol;       /* <parent>/<name>: the volume's subvolume */
	char *copy_path;    /* the copy, under subvol */
	char *fresh;        /* <parent>/.<name>.vss-revert: the new subvolume */
};

/*
 * The limits of a btrfs revert: not the top level (it cannot be replaced),
 * and no nested subvolume other than the store (a copy does not contain
 * them, and deleting the old subvolume would lose them).
 */
static int btrfs_revert_check(struct vss__revert *r)
{
	struct btrfs_revert *b = calloc(1, sizeof(*b));
	const char *path = vss_volume_get_path(r->vol);
	const char *fsroot = vss_volume_get_fsroot(r->vol);
	struct btrfs_util_subvolume_iterator *it = NULL;
	enum btrfs_util_error e;
	char *rel = NULL, *store = NULL;
	uint64_t id = 0;
	int rc = 0;

	if (!b)
		return vss__error(-ENOMEM, "out of memory");
	r->engine = b;
	e = btrfs_util_subvolume_id(path, &id);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_error(e, errno, "read the subvolume id of", path);
		goto out;
	}
	if (id == BTRFS_TOP_SUBVOLUME || !fsroot || strcmp(fsroot, "/") == 0) {
		rc = vss__error(-VSS_E_NOT_SUPPORTED, "'%s' is the top-level subvolume of its btrfs "
				"filesystem, which cannot be replaced; mount a subvolume as the "
				"volume to be able to revert it", path);
		goto out;
	}
	store = path_join(path, VSS__STORE_DIR);
	if (!store || !r->snap->device || !r->snap->store) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	/* The copy must be in the volume's own store: it is reached there
	 * through the top level while the volume is unmounted. */
	if (vss__snapshot_check_location(r->snap) < 0 || strcmp(r->snap->store, store) != 0) {
		rc = vss__error(-VSS_E_UNEXPECTED_PROVIDER_ERROR, "shadow copy %s is at '%s', not "
				"in the store '%s' of its volume", r->guid, r->snap->device, store);
		goto out;
	}
	e = btrfs_util_create_subvolume_iterator(path, 0, 0, &it);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_error(e, errno, "list the subvolumes in", path);
		goto out;
	}
	for (;;) {
		e = btrfs_util_subvolume_iterator_next(it, &rel, NULL);
		if (e == BTRFS_UTIL_ERROR_STOP_ITERATION)
			break;
		if (e != BTRFS_UTIL_OK) {
			rc = btrfs_error(e, errno, "list the subvolumes in", path);
			goto out;
		}
		if (!path_is_under(rel, VSS__STORE_DIR)) {
			rc = vss__error(-VSS_E_NOT_SUPPORTED, "'%s' holds the nested subvolume '%s', "
					"which its copies do not contain and a revert would lose; "
					"move it out of the volume first", path, rel);
			goto out;
		}
		free(rel);
		rel = NULL;
	}
out:
	free(rel);
	free(store);
	if (it)
		btrfs_util_destroy_subvolume_iterator(it);
	return rc;
}

/*
 * Reach the volume's subvolume: through the mount it is in when it is not
 * mounted itself, else through the top level mounted privately.
 */
static int btrfs_reach(struct vss__revert *r)
{
	struct btrfs_revert *b = r->engine;
	const char *fsroot = vss_volume_get_fsroot(r->vol);
	const char *dev = vss_volume_get_device(r->vol);
	struct sbuf sb = SBUF_INIT;
	char *rel_copy;
	int rc = 0;

	if (r->nmounts == 0) {
		b->subvol = strdup(vss_volume_get_path(r->vol));
	} else {
		if (!dev) {
			rc = vss__error(-VSS_E_NOT_SUPPORTED, "the btrfs filesystem of '%s' has no "
					"device to mount its top level from",
					vss_volume_get_path(r->vol));
			goto out;
		}
		rc = vss__mkdir_p(r->ctx->rundir, 0755);
		if (rc < 0)
			goto out;
		if (sbuf_addf(&sb, "%s/revert.XXXXXX", r->ctx->rundir) < 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		b->workdir = sbuf_detach(&sb);
		if (!b->workdir || !mkdtemp(b->workdir)) {
			rc = vss__error(b->workdir ? -errno : -ENOMEM, "cannot create a directory "
					"in '%s': %s", r->ctx->rundir, strerror(errno));
			free(b->workdir);
			b->workdir = NULL;
			goto out;
		}
		if (mount(dev, b->workdir, "btrfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "subvolid=5") < 0) {
			rc = vss__error(-errno, "cannot mount the top level of '%s' on '%s': %s", dev,
					b->workdir, strerror(errno));
			goto out;
		}
		b->top_mounted = true;
		/* Nobody else needs to see it: no propagation. */
		(void)mount(NULL, b->workdir, NULL, MS_PRIVATE, NULL);
		rc = vss__revert_step(r, "mounted the top level of '%s' (subvolid=5) on '%s'", dev,
			  b->workdir);
		if (rc < 0)
			goto out;
		if (sbuf_addf(&sb, "%s%s", b->workdir, fsroot) < 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		b->subvol = sbuf_detach(&sb);
	}
	rel_copy = r->snap->device + strlen(vss_volume_get_path(r->vol));
	if (!b->subvol || sbuf_addf(&sb, "%s%s", b->subvol, rel_copy) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	b->copy_path = sbuf_detach(&sb);
	b->parent = path_dirname(b->subvol);
	if (!b->copy_path || !b->parent ||
	    sbuf_addf(&sb, "%s/.%s.vss-revert", b->parent, path_basename(b->subvol)) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	b->fresh = sbuf_detach(&sb);
	if (!b->fresh)
		rc = vss__error(-ENOMEM, "out of memory");
out:
	sbuf_release(&sb);
	return rc;
}

static void btrfs_unreach(struct vss__revert *r)
{
	struct btrfs_revert *b = r->engine;

	if (b->top_mounted) {
		if (umount2(b->workdir, UMOUNT_NOFOLLOW) < 0)
			(void)umount2(b->workdir, MNT_DETACH);
		b->top_mounted = false;
	}
	if (b->workdir)
		rmdir(b->workdir);
}

static int btrfs_swap(struct vss__revert *r)
{
	struct btrfs_revert *b = r->engine;
	enum btrfs_util_error e;
	char *store = NULL, *fresh_store = NULL;
	bool store_moved = false, fresh_made = false;
	struct stat st;
	uint64_t id = 0;
	int rc = 0;

	store = path_join(b->subvol, VSS__STORE_DIR);
	fresh_store = path_join(b->fresh, VSS__STORE_DIR);
	if (!store || !fresh_store) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	/* What the copy's record names, and nothing else. */
	e = btrfs_util_subvolume_id(b->copy_path, &id);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_error(e, errno, "open the copy", b->copy_path);
		goto out;
	}
	if (r->snap->subvolume_id && id != r->snap->subvolume_id) {
		rc = vss__error(-VSS_E_UNEXPECTED_PROVIDER_ERROR, "'%s' is subvolume %llu, not "
				"shadow copy %s (subvolume %llu)", b->copy_path,
				(unsigned long long)id, r->guid,
				(unsigned long long)r->snap->subvolume_id);
		goto out;
	}
	if (lstat(b->fresh, &st) == 0) {
		rc = vss__error(-EEXIST, "'%s' exists, maybe from a revert that was interrupted; "
				"look at it and delete it (btrfs subvolume delete)", b->fresh);
		goto out;
	}
	e = btrfs_util_create_snapshot(b->copy_path, b->fresh, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_error(e, errno, "make a writable snapshot as", b->fresh);
		goto out;
	}
	fresh_made = true;
	rc = vss__revert_step(r, "made a writable snapshot of shadow copy %s as '%s'", r->guid, b->fresh);
	if (rc < 0)
		goto out;
	/* The copy has an empty directory where the store was (a snapshot
	 * does not descend into nested subvolumes). */
	if (rmdir(fresh_store) < 0 && errno != ENOENT) {
		rc = vss__error(-errno, "cannot remove '%s': %s", fresh_store, strerror(errno));
		goto out;
	}
	if (lstat(store, &st) == 0) {
		if (rename(store, fresh_store) < 0) {
			rc = vss__error(-errno, "cannot move the store '%s' to '%s': %s", store,
					fresh_store, strerror(errno));
			goto out;
		}
		store_moved = true;
		rc = vss__revert_step(r, "moved the store of copies '%s' into it", store);
		if (rc < 0)
			goto out;
	}
	if (renameat2(AT_FDCWD, b->fresh, AT_FDCWD, b->subvol, RENAME_EXCHANGE) < 0) {
		rc = vss__error(-errno, "cannot swap '%s' and '%s': %s", b->fresh, b->subvol,
				strerror(errno));
		goto out;
	}
	r->changed = true;
	rc = vss__revert_step(r, "swapped it with the volume's subvolume '%s'", b->subvol);
	if (rc < 0)
		goto out;
	/* The old subvolume is now at b->fresh.  A failure to delete it does
	 * not undo the revert; it is reported in the steps. */
	e = btrfs_util_delete_subvolume(b->fresh, 0);
	if (e != BTRFS_UTIL_OK) {
		int err = errno;

		rc = vss__revert_step(r, "could not delete the old subvolume, now '%s' (%s); delete it with "
			  "btrfs subvolume delete", b->fresh, err ? strerror(err) : "error");
	} else {
		rc = vss__revert_step(r, "deleted the old subvolume");
	}
	fresh_made = false;
	{
		int fd = open(b->subvol, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			(void)syncfs(fd);
			close(fd);
		}
	}
out:
	if (rc < 0 && !r->changed) {
		struct vss__saved_error saved;

	vss__error_save(&saved);
		if (store_moved && rename(fresh_store, store) < 0)
			vss__debug("revert: cannot move '%s' back: %s", fresh_store, strerror(errno));
		if (fresh_made)
			btrfs_util_delete_subvolume(b->fresh, 0);
		vss__error_restore(&saved);
	}
	free(fresh_store);
	free(store);
	return rc;
}

static int btrfs_revert_plan(struct vss__revert *r)
{
	const char *path = vss_volume_get_path(r->vol);
	const char *fsroot = vss_volume_get_fsroot(r->vol);
	int rc = 0;

	if (r->nmounts > 0)
		rc = vss__revert_step(r, "mount the top level of '%s' (subvolid=5) in '%s'",
				      vss_volume_get_device(r->vol), r->ctx->rundir);
	if (rc == 0)
		rc = vss__revert_step(r, "make a writable snapshot of shadow copy %s ('%s') beside "
				      "the subvolume '%s'", r->guid, r->snap->device, fsroot);
	if (rc == 0)
		rc = vss__revert_step(r, "move the store of copies '%s/%s' into it", path,
				      VSS__STORE_DIR);
	if (rc == 0)
		rc = vss__revert_step(r, "swap it with the subvolume '%s'", fsroot);
	if (rc == 0)
		rc = vss__revert_step(r, "delete the old subvolume");
	if (rc == 0 && r->nmounts > 0)
		rc = vss__revert_step(r, "unmount the top level");
	return rc;
}

static int btrfs_revert_begin(struct vss__revert *r)
{
	r->source = strdup(vss_volume_get_device(r->vol) ? vss_volume_get_device(r->vol) : "");
	return r->source ? 0 : vss__error(-ENOMEM, "out of memory");
}

static int btrfs_revert_swap(struct vss__revert *r)
{
	struct btrfs_revert *b = r->engine;
	struct vss__saved_error saved;
	int rc;

	rc = btrfs_reach(r);
	if (rc == 0)
		rc = btrfs_swap(r);
	vss__error_save(&saved);
	btrfs_unreach(r);
	if (b->workdir && rc == 0)
		rc = vss__revert_step(r, "unmounted the top level");
	if (rc < 0)
		vss__error_restore(&saved);
	return rc;
}

/* Mounted again by the subvolume's path: its id named the old one. */
static int btrfs_revert_mount_data(const struct vss__revert *r, char **data)
{
	mnt_optstr_remove_option(data, "subvolid");
	mnt_optstr_remove_option(data, "subvol");
	if (mnt_optstr_append_option(data, "subvol", vss_volume_get_fsroot(r->vol)) < 0)
		return vss__error(-ENOMEM, "out of memory");
	return 0;
}

/*
 * A mounted root in the volume's store: an exposed copy is a subvolume of
 * its own, which moves with the store and is not replaced.
 */
static bool btrfs_revert_moves_with_volume(const struct vss__revert *r, const char *root,
					   const char *fsroot)
{
	size_t n = strlen(fsroot);
	const char *rest = root + (n == 1 ? 0 : n);

	(void)r;
	return rest[0] == '/' && path_is_under(rest + 1, VSS__STORE_DIR);
}

static void btrfs_revert_free(struct vss__revert *r)
{
	struct btrfs_revert *b = r->engine;

	if (!b)
		return;
	free(b->workdir);
	free(b->parent);
	free(b->subvol);
	free(b->copy_path);
	free(b->fresh);
	free(b);
	r->engine = NULL;
}

const struct vss__revert_ops vss__revert_btrfs = {
	.check = btrfs_revert_check,
	.plan = btrfs_revert_plan,
	.begin = btrfs_revert_begin,
	.swap = btrfs_revert_swap,
	.mount_data = btrfs_revert_mount_data,
	.moves_with_volume = btrfs_revert_moves_with_volume,
	/* A subvolume inside a mounted filesystem is swapped in place. */
	.unmounted_ok = true,
	.free = btrfs_revert_free,
};

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
	.revert = &vss__revert_btrfs,
};
