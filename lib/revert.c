/*
 * Reverting a volume to one of its shadow copies (vssadmin revert shadow).
 *
 * The order is chosen so that a refusal changes nothing: every check that
 * can be made without touching the volume comes first (the copy, the
 * volume it was taken of, the provider's limits, the remount permission,
 * processes with files open on it); then the safety copy is taken through
 * an ordinary session; then the volume is unmounted, and a busy unmount
 * (EBUSY: something the process scan cannot see, a submount, a mapped
 * file) still undoes everything, the safety copy included.  Only after the
 * unmount is the volume's data replaced, and from there on a failure is
 * rolled back where it can be and otherwise reported with the safety
 * copy's ID.
 *
 * btrfs: the volume is a subvolume other than the top level.  While it is
 * unmounted its parent directory is reached through a private mount of the
 * filesystem's top level (subvolid=5) in the run dir.  A writable snapshot
 * of the copy is made beside the volume, the store of copies (the nested
 * subvolume .vss, which a snapshot does not contain) moves into it, and
 * renameat2(RENAME_EXCHANGE) swaps the two names in one step, so the
 * volume's path never names nothing.  The old subvolume is deleted: its
 * state is in the safety copy.
 *
 * image: the volume is a loop device backed by a file.  After the unmount
 * the loop device is detached, the backing file is replaced by a reflink
 * clone of the copy (a temporary file beside it, fsync, rename, fsync of the
 * directory), and a loop device (the same number when it is free) is
 * attached to it again with the flags it had.
 *
 * Either way every mount of the volume is then made again, with the
 * options it had (btrfs: by the subvolume's path, which now names the new
 * subvolume).  The copies keep their paths: the store moved with the
 * volume (btrfs) or stays beside the backing file (image).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <btrfsutil.h>
#include <libmount.h>

#include "vss-private.h"
#include "vss/revert.h"
#include "util/file.h"
#include "util/banned.h"

#define BTRFS_TOP_SUBVOLUME 5

/* One mount of the volume, as /proc/self/mountinfo had it. */
struct revert_mount {
	char *target;
	char *fstype;
	char *vfs_options;   /* "rw,relatime" */
	char *fs_options;    /* "space_cache=v2,subvolid=256,subvol=/vol" */
	bool unmounted;
};

struct revert {
	struct vss_context *ctx;
	struct vss_snapshot *snap;          /* the copy reverted to */
	struct vss_volume *vol;
	unsigned int flags;
	bool btrfs;
	char guid[VSS_GUID_STRING_MAX];     /* the copy's ID, with braces */
	struct sbuf plan;

	struct revert_mount *mounts;        /* table order */
	size_t nmounts;

	struct vss_snapshot_list *safety;   /* the safety copy, once made */
	bool changed;                       /* the volume's data was replaced */
	int lock_fd;

	/* btrfs */
	char *workdir;                      /* under the run dir; the top level is mounted there */
	bool top_mounted;
	char *parent;                       /* the directory holding the volume's subvolume */
	char *subvol;                       /* <parent>/<name>: the volume's subvolume */
	char *copy_path;                    /* the copy, under subvol */
	char *fresh;                        /* <parent>/.<name>.vss-revert: the new subvolume */

	/* image */
	char *loop_device;                  /* "/dev/loop3", attached again at the end */
	struct loop_info64 loop_info;
	bool loop_detached;
	int loop_fd;                        /* the new loop device, open until mounted */
};

static int step(struct revert *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * vss_error_last() points into a buffer the next vss__error() rewrites: a
 * failure is saved by value while cleaning up after it.
 */
struct saved_error {
	int code;
	char message[1024];
};

static void error_save(struct saved_error *e)
{
	e->code = vss_error_last()->code;
	snprintf(e->message, sizeof(e->message), "%s", vss_error_last()->message);
}

static int error_restore(const struct saved_error *e)
{
	return vss__error(e->code, "%s", e->message);
}

static int step(struct revert *r, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sbuf_vaddf(&r->plan, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = sbuf_addch(&r->plan, '\n');
	if (rc < 0)
		return vss__error(-ENOMEM, "out of memory");
	return 0;
}

static bool dry(const struct revert *r)
{
	return r->flags & VSS_REVERT_DRY_RUN;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The directory part of path, malloc()ed ("/" for "/x"), or NULL. */
static char *dir_of(const char *path)
{
	char *d = strdup(path), *slash;

	if (!d)
		return NULL;
	slash = strrchr(d, '/');
	if (!slash) {
		free(d);
		return strdup(".");
	}
	slash[slash == d ? 1 : 0] = '\0';
	return d;
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* True when path is dir or lies under it. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* ---- finding the copy and its volume ------------------------------------ */

static int find_copy(struct revert *r, const struct vss_guid *id)
{
	struct vss_query q = { .snapshot_id = id };
	struct vss_snapshot_list *list = NULL;
	int rc;

	rc = vss_catalog_query(r->ctx, &q, &list);
	if (rc < 0)
		goto out;
	if (vss_snapshot_list_count(list) == 0) {
		rc = vss__error(-VSS_E_OBJECT_NOT_FOUND, "no shadow copy %s; vss-list shows the "
				"copies there are", r->guid);
		goto out;
	}
	r->snap = vss_snapshot_ref(vss_snapshot_list_get(list, 0));
out:
	vss_snapshot_list_unref(list);
	return rc;
}

static int find_volume(struct revert *r)
{
	const struct vss_snapshot *s = r->snap;
	const struct vss_provider *p = vss__provider_for_snapshot(s);
	char why[512];
	int rc;

	if (!p || (strcmp(p->name, "btrfs") != 0 && strcmp(p->name, "image") != 0))
		return vss__error(-VSS_E_NOT_SUPPORTED, "shadow copy %s was made by provider '%s', "
				  "which cannot revert a volume (btrfs and image can)", r->guid,
				  s->provider_name ? s->provider_name : "?");
	r->btrfs = strcmp(p->name, "btrfs") == 0;
	if (!s->original_volume)
		return vss__error(-VSS_E_REVERT_VOLUME_LOST, "shadow copy %s does not record "
				  "its volume", r->guid);
	if (!p->exists(s))
		return vss__error(-VSS_E_OBJECT_NOT_FOUND, "shadow copy %s is no longer at '%s'; "
				  "vss-list --rescan drops records of copies that are gone", r->guid,
				  s->device ? s->device : "?");
	rc = vss_volume_resolve(s->original_volume, &r->vol);
	if (rc < 0) {
		snprintf(why, sizeof(why), "%s", vss_error_last()->message);
		return vss__error(-VSS_E_REVERT_VOLUME_LOST, "the volume of shadow copy %s cannot "
				  "be found: %s", r->guid, why);
	}
	if (!vss_volume_is_same(r->vol, s->original_uuid, s->original_device,
				s->original_fsroot))
		return vss__error(-VSS_E_REVERT_VOLUME_LOST, "'%s' is no longer the volume shadow "
				  "copy %s was taken of (another filesystem is there now)",
				  s->original_volume, r->guid);
	return 0;
}

/* ---- the mounts of the volume -------------------------------------------- */

static void mounts_free(struct revert *r)
{
	for (size_t i = 0; i < r->nmounts; i++) {
		free(r->mounts[i].target);
		free(r->mounts[i].fstype);
		free(r->mounts[i].vfs_options);
		free(r->mounts[i].fs_options);
	}
	free(r->mounts);
	r->mounts = NULL;
	r->nmounts = 0;
}

static int mounts_add(struct revert *r, struct libmnt_fs *fs)
{
	struct revert_mount *m, *grown;

	grown = realloc(r->mounts, (r->nmounts + 1) * sizeof(*grown));
	if (!grown)
		return vss__error(-ENOMEM, "out of memory");
	r->mounts = grown;
	m = &r->mounts[r->nmounts];
	memset(m, 0, sizeof(*m));
	r->nmounts++;
	m->target = xstrdup(mnt_fs_get_target(fs));
	m->fstype = xstrdup(mnt_fs_get_fstype(fs));
	m->vfs_options = xstrdup(mnt_fs_get_vfs_options(fs) ? mnt_fs_get_vfs_options(fs) : "");
	m->fs_options = xstrdup(mnt_fs_get_fs_options(fs) ? mnt_fs_get_fs_options(fs) : "");
	if (!m->target || !m->fstype || !m->vfs_options || !m->fs_options)
		return vss__error(-ENOMEM, "out of memory");
	return 0;
}

/*
 * Whether a mounted root lies in the volume's btrfs store: an exposed copy
 * is a subvolume of its own, which moves with the store and is not
 * replaced.
 */
static bool in_store(const struct revert *r, const char *root, const char *fsroot)
{
	size_t n = strlen(fsroot);
	const char *rest = root + (n == 1 ? 0 : n);

	return r->btrfs && rest[0] == '/' && path_under(rest + 1, VSS__STORE_DIR);
}

/*
 * Every mount of the volume's filesystem root.  A mount of a part of it
 * (a bind mount of a directory inside) could not be made again the same
 * way, and would keep the old data in sight: refused.
 */
static int find_mounts(struct revert *r)
{
	const char *fsroot = vss_volume_get_fsroot(r->vol);
	struct libmnt_table *tb = NULL;
	struct libmnt_iter *itr = NULL;
	struct libmnt_fs *fs;
	dev_t devno;
	int rc;

	if (!fsroot)
		fsroot = "/";
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
	fs = mnt_table_find_target(tb, vss_volume_get_mountpoint(r->vol), MNT_ITER_BACKWARD);
	if (!fs) {
		rc = vss__error(-VSS_E_REVERT_VOLUME_LOST, "'%s' is no longer mounted",
				vss_volume_get_mountpoint(r->vol));
		goto out;
	}
	devno = mnt_fs_get_devno(fs);
	while (mnt_table_next_fs(tb, itr, &fs) == 0) {
		const char *root = mnt_fs_get_root(fs);

		if (mnt_fs_get_devno(fs) != devno || !root || !mnt_fs_get_target(fs))
			continue;
		if (strcmp(root, fsroot) == 0) {
			rc = mounts_add(r, fs);
			if (rc < 0)
				goto out;
		} else if (path_under(root, fsroot) && !in_store(r, root, fsroot)) {
			rc = vss__error(-VSS_E_VOLUME_IN_USE, "'%s' of volume '%s' is mounted on "
					"'%s'; unmount it first", root, vss_volume_get_path(r->vol),
					mnt_fs_get_target(fs));
			goto out;
		}
	}
	if (!r->btrfs && r->nmounts == 0) {
		rc = vss__error(-VSS_E_REVERT_VOLUME_LOST, "'%s' is no longer mounted",
				vss_volume_get_path(r->vol));
		goto out;
	}
out:
	mnt_free_iter(itr);
	mnt_unref_table(tb);
	return rc;
}

/* ---- in use --------------------------------------------------------------- */

/* Whether /proc/<pid>/<link> points under dir. */
static bool link_under(const char *pid, const char *link, const char *dir)
{
	char path[PATH_MAX], target[PATH_MAX];
	ssize_t n;

	if (snprintf(path, sizeof(path), "/proc/%s/%s", pid, link) >= (int)sizeof(path))
		return false;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return target[0] == '/' && path_under(target, dir);
}

static bool fds_under(const char *pid, const char *dir)
{
	char path[300];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char link[300];

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "fd/%s", de->d_name);
		found = link_under(pid, link, dir);
	}
	closedir(d);
	return found;
}

/*
 * A process with its working directory, root or an open file under dir.
 * Cheap and clear where it answers; the unmount's EBUSY covers the rest
 * (mapped files, submounts, other mount namespaces).
 */
static int check_not_in_use(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir("/proc");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char comm_path[300], *comm = NULL;
		size_t len = 0;
		const char *what = NULL;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (link_under(de->d_name, "cwd", dir))
			what = "working directory";
		else if (link_under(de->d_name, "root", dir) && strcmp(dir, "/") != 0)
			what = "root directory";
		else if (fds_under(de->d_name, dir))
			what = "open files";
		if (!what)
			continue;
		snprintf(comm_path, sizeof(comm_path), "/proc/%s/comm", de->d_name);
		if (file_read_all(comm_path, &comm, &len) == 0)
			while (len > 0 && comm[len - 1] == '\n')
				comm[--len] = '\0';
		rc = vss__error(-VSS_E_VOLUME_IN_USE, "'%s' is in use: process %s (%s) has its %s "
				"there; stop it, then revert", dir, de->d_name, comm ? comm : "?",
				what);
		free(comm);
		break;
	}
	closedir(d);
	return rc;
}

/* ---- btrfs checks -------------------------------------------------------- */

static int btrfs_fail(enum btrfs_util_error e, int err, const char *what, const char *path)
{
	const char *text = err > 0 && e != BTRFS_UTIL_ERROR_NOT_SUBVOLUME &&
			   e != BTRFS_UTIL_ERROR_NOT_BTRFS ? strerror(err) : btrfs_util_strerror(e);

	return vss__error(err > 0 ? -err : -EIO, "cannot %s '%s': %s", what, path, text);
}

/*
 * The limits of a btrfs revert: not the top level (it cannot be replaced),
 * and no nested subvolume other than the store (a copy does not contain
 * them, and deleting the old subvolume would lose them).
 */
static int btrfs_check(struct revert *r)
{
	const char *path = vss_volume_get_path(r->vol);
	const char *fsroot = vss_volume_get_fsroot(r->vol);
	struct btrfs_util_subvolume_iterator *it = NULL;
	enum btrfs_util_error e;
	char *rel = NULL, *store = NULL;
	uint64_t id = 0;
	int rc = 0;

	e = btrfs_util_subvolume_id(path, &id);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_fail(e, errno, "read the subvolume id of", path);
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
		rc = btrfs_fail(e, errno, "list the subvolumes in", path);
		goto out;
	}
	for (;;) {
		e = btrfs_util_subvolume_iterator_next(it, &rel, NULL);
		if (e == BTRFS_UTIL_ERROR_STOP_ITERATION)
			break;
		if (e != BTRFS_UTIL_OK) {
			rc = btrfs_fail(e, errno, "list the subvolumes in", path);
			goto out;
		}
		if (!path_under(rel, VSS__STORE_DIR)) {
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

/* ---- the safety copy ----------------------------------------------------- */

static int take_safety_copy(struct revert *r)
{
	struct vss_session *s = NULL;
	char g[VSS_GUID_STRING_MAX];
	int rc;

	rc = vss_session_new(r->ctx, &s);
	if (rc < 0)
		goto out;
	/* No writers: the volume's data is about to be replaced anyway. */
	rc = vss_session_set_context(s, VSS_CTX_NAS_ROLLBACK);
	if (rc == 0)
		rc = vss_session_start_set(s, 0, NULL);
	if (rc == 0)
		rc = vss_session_add_resolved_volume(s, r->vol, r->btrfs ? "btrfs" : "image", NULL);
	if (rc == 0)
		rc = vss_session_do_snapshot_set(s);
	if (rc == 0)
		rc = vss_session_get_snapshots(s, &r->safety);
	if (rc < 0) {
		vss__error_prefix("cannot take the safety copy of '%s'", vss_volume_get_path(r->vol));
		goto out;
	}
	vss_guid_format(vss_snapshot_get_id(vss_snapshot_list_get(r->safety, 0)),
			VSS_GUID_BRACES, g);
	rc = step(r, "took the safety copy %s of '%s'", g, vss_volume_get_path(r->vol));
out:
	vss_session_unref(s);
	return rc;
}

/* Delete the safety copy again, keeping the error that made us do it. */
static void drop_safety_copy(struct revert *r)
{
	struct saved_error saved;

	error_save(&saved);

	if (!r->safety)
		return;
	if (vss__catalog_delete(r->ctx, r->safety, 0, VSS_NOTICE_DELETED) < 0)
		vss__debug("revert: the safety copy could not be deleted: %s",
			   vss_error_last()->message);
	vss_snapshot_list_unref(r->safety);
	r->safety = NULL;
	error_restore(&saved);
}

/* ---- unmounting and mounting --------------------------------------------- */

/*
 * The flags and data to mount m again with: its options as the mount table
 * shows them; for btrfs the subvolume by path, since the id named the old
 * one.  *ret_data to free().
 */
static int mount_options(const struct revert *r, const struct revert_mount *m,
			 unsigned long *ret_flags, char **ret_data)
{
	unsigned long flags = 0;
	char *data = NULL;
	int rc = 0;

	data = strdup(m->fs_options);
	if (!data) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (mnt_optstr_get_flags(m->vfs_options, &flags,
				 mnt_get_builtin_optmap(MNT_LINUX_MAP)) < 0) {
		rc = vss__error(-EINVAL, "cannot read the options '%s' of '%s'", m->vfs_options,
				m->target);
		goto out;
	}
	/* The super block's own "ro"/"rw" is a flag, not data. */
	mnt_optstr_remove_option(&data, "rw");
	if (mnt_optstr_remove_option(&data, "ro") == 0)
		flags |= MS_RDONLY;
	if (r->btrfs) {
		mnt_optstr_remove_option(&data, "subvolid");
		mnt_optstr_remove_option(&data, "subvol");
		if (mnt_optstr_append_option(&data, "subvol", vss_volume_get_fsroot(r->vol)) < 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
	}
	*ret_flags = flags;
	*ret_data = data;
	data = NULL;
out:
	free(data);
	return rc;
}

static int mount_again(struct revert *r, struct revert_mount *m, const char *source)
{
	unsigned long flags = 0;
	char *data = NULL;
	int rc;

	rc = mount_options(r, m, &flags, &data);
	if (rc < 0)
		goto out;
	if (mount(source, m->target, m->fstype, flags, data) < 0) {
		rc = vss__error(-errno, "cannot mount '%s' on '%s' again (-o %s%s%s): %s", source,
				m->target, m->vfs_options, data && *data ? "," : "",
				data ? data : "", strerror(errno));
		goto out;
	}
	m->unmounted = false;
out:
	free(data);
	return rc;
}

/* Mount again whatever is unmounted; the first error is returned. */
static int remount_all(struct revert *r, const char *source)
{
	int rc = 0;

	for (size_t i = 0; i < r->nmounts; i++) {
		int x;

		if (!r->mounts[i].unmounted)
			continue;
		x = mount_again(r, &r->mounts[i], source);
		if (x < 0 && rc == 0)
			rc = x;
	}
	return rc;
}

/*
 * Unmount every mount of the volume, newest first.  A busy one stops it
 * all: those unmounted are mounted again, and the volume is in use.
 */
static int unmount_all(struct revert *r, const char *source)
{
	int rc = 0;

	for (size_t i = r->nmounts; i-- > 0;) {
		struct revert_mount *m = &r->mounts[i];

		if (umount2(m->target, UMOUNT_NOFOLLOW) < 0) {
			int err = errno;
			struct saved_error saved;

			if (err == EBUSY)
				rc = vss__error(-VSS_E_VOLUME_IN_USE, "'%s' is in use (busy): a "
						"process has files open there or something is "
						"mounted inside it; stop it, then revert", m->target);
			else
				rc = vss__error(-err, "cannot unmount '%s': %s", m->target,
						strerror(err));
			error_save(&saved);
			remount_all(r, source);
			error_restore(&saved);
			goto out;
		}
		m->unmounted = true;
		rc = step(r, "unmounted '%s'", m->target);
		if (rc < 0)
			goto out;
	}
out:
	return rc;
}

/* ---- btrfs swap ---------------------------------------------------------- */

/*
 * Reach the volume's subvolume: through the mount it is in when it is not
 * mounted itself, else through the top level mounted privately.
 */
static int btrfs_reach(struct revert *r)
{
	const char *fsroot = vss_volume_get_fsroot(r->vol);
	const char *dev = vss_volume_get_device(r->vol);
	struct sbuf sb = SBUF_INIT;
	char *rel_copy;
	int rc = 0;

	if (r->nmounts == 0) {
		r->subvol = strdup(vss_volume_get_path(r->vol));
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
		r->workdir = sbuf_detach(&sb);
		if (!r->workdir || !mkdtemp(r->workdir)) {
			rc = vss__error(r->workdir ? -errno : -ENOMEM, "cannot create a directory "
					"in '%s': %s", r->ctx->rundir, strerror(errno));
			free(r->workdir);
			r->workdir = NULL;
			goto out;
		}
		if (mount(dev, r->workdir, "btrfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "subvolid=5") < 0) {
			rc = vss__error(-errno, "cannot mount the top level of '%s' on '%s': %s", dev,
					r->workdir, strerror(errno));
			goto out;
		}
		r->top_mounted = true;
		/* Nobody else needs to see it: no propagation. */
		(void)mount(NULL, r->workdir, NULL, MS_PRIVATE, NULL);
		rc = step(r, "mounted the top level of '%s' (subvolid=5) on '%s'", dev,
			  r->workdir);
		if (rc < 0)
			goto out;
		if (sbuf_addf(&sb, "%s%s", r->workdir, fsroot) < 0) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		r->subvol = sbuf_detach(&sb);
	}
	rel_copy = r->snap->device + strlen(vss_volume_get_path(r->vol));
	if (!r->subvol || sbuf_addf(&sb, "%s%s", r->subvol, rel_copy) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	r->copy_path = sbuf_detach(&sb);
	r->parent = dir_of(r->subvol);
	if (!r->copy_path || !r->parent ||
	    sbuf_addf(&sb, "%s/.%s.vss-revert", r->parent, base_of(r->subvol)) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	r->fresh = sbuf_detach(&sb);
	if (!r->fresh)
		rc = vss__error(-ENOMEM, "out of memory");
out:
	sbuf_release(&sb);
	return rc;
}

static void btrfs_unreach(struct revert *r)
{
	if (r->top_mounted) {
		if (umount2(r->workdir, UMOUNT_NOFOLLOW) < 0)
			(void)umount2(r->workdir, MNT_DETACH);
		r->top_mounted = false;
	}
	if (r->workdir)
		rmdir(r->workdir);
}

static int btrfs_swap(struct revert *r)
{
	enum btrfs_util_error e;
	char *store = NULL, *fresh_store = NULL;
	bool store_moved = false, fresh_made = false;
	struct stat st;
	uint64_t id = 0;
	int rc = 0;

	store = path_join(r->subvol, VSS__STORE_DIR);
	fresh_store = path_join(r->fresh, VSS__STORE_DIR);
	if (!store || !fresh_store) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	/* What the copy's record names, and nothing else. */
	e = btrfs_util_subvolume_id(r->copy_path, &id);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_fail(e, errno, "open the copy", r->copy_path);
		goto out;
	}
	if (r->snap->subvolume_id && id != r->snap->subvolume_id) {
		rc = vss__error(-VSS_E_UNEXPECTED_PROVIDER_ERROR, "'%s' is subvolume %llu, not "
				"shadow copy %s (subvolume %llu)", r->copy_path,
				(unsigned long long)id, r->guid,
				(unsigned long long)r->snap->subvolume_id);
		goto out;
	}
	if (lstat(r->fresh, &st) == 0) {
		rc = vss__error(-EEXIST, "'%s' exists, maybe from a revert that was interrupted; "
				"look at it and delete it (btrfs subvolume delete)", r->fresh);
		goto out;
	}
	e = btrfs_util_create_snapshot(r->copy_path, r->fresh, 0, NULL, NULL);
	if (e != BTRFS_UTIL_OK) {
		rc = btrfs_fail(e, errno, "make a writable snapshot as", r->fresh);
		goto out;
	}
	fresh_made = true;
	rc = step(r, "made a writable snapshot of shadow copy %s as '%s'", r->guid, r->fresh);
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
		rc = step(r, "moved the store of copies '%s' into it", store);
		if (rc < 0)
			goto out;
	}
	if (renameat2(AT_FDCWD, r->fresh, AT_FDCWD, r->subvol, RENAME_EXCHANGE) < 0) {
		rc = vss__error(-errno, "cannot swap '%s' and '%s': %s", r->fresh, r->subvol,
				strerror(errno));
		goto out;
	}
	r->changed = true;
	rc = step(r, "swapped it with the volume's subvolume '%s'", r->subvol);
	if (rc < 0)
		goto out;
	/* The old subvolume is now at r->fresh.  A failure to delete it does
	 * not undo the revert; it is reported in the steps. */
	e = btrfs_util_delete_subvolume(r->fresh, 0);
	if (e != BTRFS_UTIL_OK) {
		int err = errno;

		rc = step(r, "could not delete the old subvolume, now '%s' (%s); delete it with "
			  "btrfs subvolume delete", r->fresh, err ? strerror(err) : "error");
	} else {
		rc = step(r, "deleted the old subvolume");
	}
	fresh_made = false;
	{
		int fd = open(r->subvol, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd >= 0) {
			(void)syncfs(fd);
			close(fd);
		}
	}
out:
	if (rc < 0 && !r->changed) {
		struct saved_error saved;

	error_save(&saved);

		if (store_moved && rename(fresh_store, store) < 0)
			vss__debug("revert: cannot move '%s' back: %s", fresh_store, strerror(errno));
		if (fresh_made)
			btrfs_util_delete_subvolume(r->fresh, 0);
		error_restore(&saved);
	}
	free(fresh_store);
	free(store);
	return rc;
}

/* ---- image swap ---------------------------------------------------------- */

static int loop_open(const char *dev, int *ret)
{
	int fd = open(dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return vss__error(-errno, "cannot open '%s': %s", dev, strerror(errno));
	*ret = fd;
	return 0;
}

static int image_read_loop(struct revert *r)
{
	const char *dev = vss_volume_get_device(r->vol);
	int fd = -1, rc;

	r->loop_device = xstrdup(dev);
	if (!r->loop_device)
		return vss__error(-ENOMEM, "out of memory");
	rc = loop_open(dev, &fd);
	if (rc < 0)
		return rc;
	if (ioctl(fd, LOOP_GET_STATUS64, &r->loop_info) < 0)
		rc = vss__error(-errno, "cannot read the loop device '%s': %s", dev, strerror(errno));
	close(fd);
	return rc;
}

/* Detach the volume's loop device, once nothing has it mounted. */
static int image_detach(struct revert *r)
{
	struct loop_info64 info;
	int fd = -1, rc;

	rc = loop_open(r->loop_device, &fd);
	if (rc < 0)
		return rc;
	/* With autoclear it went away with the last unmount already. */
	if (ioctl(fd, LOOP_GET_STATUS64, &info) < 0 && errno == ENXIO) {
		r->loop_detached = true;
		rc = step(r, "the loop device '%s' went away with the unmount (autoclear)",
			  r->loop_device);
		goto out;
	}
	if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO) {
		rc = vss__error(errno == EBUSY ? -VSS_E_VOLUME_IN_USE : -errno,
				"cannot detach '%s': %s", r->loop_device, strerror(errno));
		goto out;
	}
	r->loop_detached = true;
	rc = step(r, "detached the loop device '%s'", r->loop_device);
out:
	close(fd);
	return rc;
}

static int attach_to(const char *dev, int file_fd, const struct loop_info64 *old, int *ret)
{
	struct loop_config cfg;
	int fd = -1, rc;

	rc = loop_open(dev, &fd);
	if (rc < 0)
		return rc;
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned int)file_fd;
	cfg.info.lo_offset = old->lo_offset;
	cfg.info.lo_sizelimit = old->lo_sizelimit;
	cfg.info.lo_flags = old->lo_flags & LOOP_CONFIGURE_SETTABLE_FLAGS;
	memcpy(cfg.info.lo_file_name, old->lo_file_name, sizeof(cfg.info.lo_file_name));
	if (ioctl(fd, LOOP_CONFIGURE, &cfg) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*ret = fd;
	return 0;
}

/*
 * Attach the backing file again: on the same device when it is free (the
 * copies record it, and whoever set it up knows it by that name), else on
 * a free one.  The device stays open until it is mounted again, since an
 * autoclear device goes away at its last close.
 */
static int image_attach(struct revert *r)
{
	const char *backing = r->snap->origin;
	char dev[64];
	int file_fd = -1, ctl = -1, rc = -EBUSY, n;

	file_fd = open(backing, ((r->loop_info.lo_flags & LO_FLAGS_READ_ONLY) ? O_RDONLY : O_RDWR) |
		       O_CLOEXEC);
	if (file_fd < 0) {
		rc = vss__error(-errno, "cannot open '%s': %s", backing, strerror(errno));
		goto out;
	}
	/* A detach is finished only once every opener closed it. */
	for (int i = 0; i < 40 && rc == -EBUSY; i++) {
		rc = attach_to(r->loop_device, file_fd, &r->loop_info, &r->loop_fd);
		if (rc == -EBUSY)
			usleep(50 * 1000);
	}
	if (rc < 0) {
		ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
		n = ctl >= 0 ? ioctl(ctl, LOOP_CTL_GET_FREE) : -1;
		if (n < 0) {
			rc = vss__error(-errno, "cannot find a free loop device for '%s': %s", backing,
					strerror(errno));
			goto out;
		}
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		rc = attach_to(dev, file_fd, &r->loop_info, &r->loop_fd);
		if (rc < 0) {
			rc = vss__error(rc, "cannot attach '%s' to '%s': %s", backing, dev,
					strerror(-rc));
			goto out;
		}
		free(r->loop_device);
		r->loop_device = strdup(dev);
		if (!r->loop_device) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
	}
	r->loop_detached = false;
	rc = step(r, "attached '%s' to the loop device '%s'", backing, r->loop_device);
out:
	if (ctl >= 0)
		close(ctl);
	if (file_fd >= 0)
		close(file_fd);
	return rc;
}

static int image_swap(struct revert *r)
{
	const char *backing = r->snap->origin;
	char *dir = NULL, *tmp = NULL;
	struct sbuf sb = SBUF_INIT;
	int src = -1, dst = -1, flags = 0, rc = 0;
	struct stat st;
	bool created = false;

	dir = dir_of(backing);
	if (!dir || sbuf_addf(&sb, "%s/.%s.vss-revert", dir, base_of(backing)) < 0) {
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
	src = open(r->snap->device, O_RDONLY | O_CLOEXEC);
	if (src < 0) {
		rc = vss__error(-errno, "cannot open '%s': %s", r->snap->device, strerror(errno));
		goto out;
	}
	/* A leftover of an interrupted revert holds nothing of value. */
	(void)unlink(tmp);
	dst = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (dst < 0) {
		rc = vss__error(-errno, "cannot create '%s': %s", tmp, strerror(errno));
		goto out;
	}
	created = true;
	(void)fchown(dst, st.st_uid, st.st_gid);
	(void)fchmod(dst, st.st_mode & 07777);
	/* btrfs clones only between files that agree on NOCOW. */
	if (ioctl(src, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_NOCOW_FL)) {
		int dflags = 0;

		if (ioctl(dst, FS_IOC_GETFLAGS, &dflags) == 0) {
			dflags |= FS_NOCOW_FL;
			(void)ioctl(dst, FS_IOC_SETFLAGS, &dflags);
		}
	}
	if (ioctl(dst, FICLONE, src) < 0) {
		rc = vss__error(-errno, "cannot clone '%s' into '%s': %s", r->snap->device, tmp,
				strerror(errno));
		goto out;
	}
	if (fsync(dst) < 0) {
		rc = vss__error(-errno, "cannot flush '%s': %s", tmp, strerror(errno));
		goto out;
	}
	rc = step(r, "cloned shadow copy %s ('%s') as '%s'", r->guid, r->snap->device, tmp);
	if (rc < 0)
		goto out;
	if (rename(tmp, backing) < 0) {
		rc = vss__error(-errno, "cannot rename '%s' to '%s': %s", tmp, backing,
				strerror(errno));
		goto out;
	}
	created = false;
	r->changed = true;
	(void)file_fsync_dir(backing, false);
	rc = step(r, "renamed it over the backing file '%s'", backing);
out:
	if (dst >= 0)
		close(dst);
	if (src >= 0)
		close(src);
	if (created)
		unlink(tmp);
	sbuf_release(&sb);
	free(tmp);
	free(dir);
	return rc;
}

/* ---- the dry run ---------------------------------------------------------- */

static int plan_dry(struct revert *r)
{
	const char *path = vss_volume_get_path(r->vol);
	const char *fsroot = vss_volume_get_fsroot(r->vol);
	int rc = 0;

	if (!(r->flags & VSS_REVERT_NO_SAFETY_COPY))
		rc = step(r, "take a safety copy of '%s' (a new shadow copy of its current state)",
			  path);
	for (size_t i = r->nmounts; rc == 0 && i-- > 0;)
		rc = step(r, "unmount '%s'", r->mounts[i].target);
	if (rc < 0)
		return rc;
	if (r->btrfs) {
		if (r->nmounts > 0)
			rc = step(r, "mount the top level of '%s' (subvolid=5) in '%s'",
				  vss_volume_get_device(r->vol), r->ctx->rundir);
		if (rc == 0)
			rc = step(r, "make a writable snapshot of shadow copy %s ('%s') beside the "
				  "subvolume '%s'", r->guid, r->snap->device, fsroot);
		if (rc == 0)
			rc = step(r, "move the store of copies '%s/%s' into it", path,
				  VSS__STORE_DIR);
		if (rc == 0)
			rc = step(r, "swap it with the subvolume '%s'", fsroot);
		if (rc == 0)
			rc = step(r, "delete the old subvolume");
		if (rc == 0 && r->nmounts > 0)
			rc = step(r, "unmount the top level");
	} else {
		rc = step(r, "detach the loop device '%s'", vss_volume_get_device(r->vol));
		if (rc == 0)
			rc = step(r, "clone shadow copy %s ('%s') beside the backing file and "
				  "rename it over '%s'", r->guid, r->snap->device, r->snap->origin);
		if (rc == 0)
			rc = step(r, "attach '%s' to a loop device again", r->snap->origin);
	}
	for (size_t i = 0; rc == 0 && i < r->nmounts; i++) {
		const struct revert_mount *m = &r->mounts[i];
		unsigned long mflags;
		char *data = NULL;

		rc = mount_options(r, m, &mflags, &data);
		if (rc == 0)
			rc = step(r, "mount '%s' again (-t %s -o %s%s%s)", m->target, m->fstype,
				  m->vfs_options, *data ? "," : "", data);
		free(data);
	}
	return rc;
}

/* ---- the whole revert ---------------------------------------------------- */

static int checks(struct revert *r, const struct vss_guid *id)
{
	int rc;

	rc = find_copy(r, id);
	if (rc == 0)
		rc = find_volume(r);
	if (rc == 0 && r->btrfs)
		rc = btrfs_check(r);
	if (rc == 0)
		rc = find_mounts(r);
	if (rc == 0 && !r->btrfs) {
		const char *backing = vss_volume_get_backing_file(r->vol);

		if (!backing || !r->snap->origin || strcmp(backing, r->snap->origin) != 0)
			rc = vss__error(-VSS_E_REVERT_VOLUME_LOST, "'%s' is no longer backed by "
					"'%s', the file shadow copy %s was cloned from",
					vss_volume_get_path(r->vol),
					r->snap->origin ? r->snap->origin : "?", r->guid);
	}
	if (rc == 0 && r->nmounts > 0 && !(r->flags & VSS_REVERT_REMOUNT))
		rc = vss__error(-VSS_E_VOLUME_IN_USE, "'%s' is mounted, and the revert must unmount "
				"it and mount it again: allow that (vss-revert --remount, "
				"VSS_REVERT_REMOUNT)", r->mounts[0].target);
	for (size_t i = 0; rc == 0 && i < r->nmounts; i++)
		rc = check_not_in_use(r->mounts[i].target);
	if (rc == 0 && r->nmounts == 0)
		rc = check_not_in_use(vss_volume_get_path(r->vol));
	return rc;
}

/* Unmount, replace, mount again; called with the creation lock held. */
static int swap(struct revert *r)
{
	struct saved_error saved;
	const char *source;
	int rc, x;

	if (!r->btrfs) {
		rc = image_read_loop(r);
		if (rc < 0)
			return rc;
	}
	source = r->btrfs ? vss_volume_get_device(r->vol) : r->loop_device;
	rc = unmount_all(r, source);
	if (rc < 0)
		return rc;
	if (r->btrfs) {
		rc = btrfs_reach(r);
		if (rc == 0)
			rc = btrfs_swap(r);
		error_save(&saved);
		btrfs_unreach(r);
		if (r->workdir && rc == 0)
			rc = step(r, "unmounted the top level");
	} else {
		rc = image_detach(r);
		if (rc == 0)
			rc = image_swap(r);
		error_save(&saved);
		/* Whatever the backing file holds now, the volume comes back. */
		if (r->loop_detached) {
			x = image_attach(r);
			if (x < 0 && rc == 0)
				rc = x;
			if (x < 0)
				error_save(&saved);
		}
		source = r->loop_device;
	}
	x = 0;
	for (size_t i = 0; i < r->nmounts; i++) {
		struct revert_mount *m = &r->mounts[i];
		int y;

		if (!m->unmounted)
			continue;
		y = mount_again(r, m, source);
		if (y == 0)
			y = step(r, "mounted '%s' again", m->target);
		if (y < 0 && x == 0) {
			x = y;
			if (rc == 0)
				error_save(&saved);
		}
	}
	if (rc == 0)
		rc = x;
	if (r->loop_fd >= 0) {
		close(r->loop_fd);
		r->loop_fd = -1;
	}
	if (rc < 0)
		error_restore(&saved);
	return rc;
}

VSS_EXPORT int vss_revert(struct vss_context *ctx, const struct vss_guid *id, unsigned int flags,
			  struct vss_guid *ret_safety_id, char **ret_plan)
{
	struct revert r = { .ctx = ctx, .flags = flags, .plan = SBUF_INIT, .lock_fd = -1,
			    .loop_fd = -1 };
	char *lock_path = NULL, g[VSS_GUID_STRING_MAX];
	int rc;

	if (!ctx || !id)
		return vss__error(-EINVAL, "no context or no shadow copy ID");
	vss_guid_format(id, VSS_GUID_BRACES, r.guid);
	rc = vss__require_root("reverting a volume");
	if (rc < 0)
		goto out;
	rc = checks(&r, id);
	if (rc < 0)
		goto out;
	if (dry(&r)) {
		rc = plan_dry(&r);
		goto out;
	}
	if (!(flags & VSS_REVERT_NO_SAFETY_COPY)) {
		rc = take_safety_copy(&r);
		if (rc < 0)
			goto out;
	}
	/* No copy of the volume is made while its data is being replaced. */
	lock_path = path_join(ctx->rundir, VSS__CREATE_LOCK);
	if (!lock_path) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	rc = vss__lock_take(lock_path, LOCK_EX, false, &r.lock_fd);
	if (rc == -EWOULDBLOCK)
		rc = vss__error(-VSS_E_SNAPSHOT_SET_IN_PROGRESS, "a shadow copy set is being "
				"created; try the revert again later");
	if (rc < 0)
		goto out;
	rc = swap(&r);
out:
	if (rc < 0 && r.safety) {
		if (!r.changed) {
			drop_safety_copy(&r);
		} else {
			vss_guid_format(vss_snapshot_get_id(vss_snapshot_list_get(r.safety, 0)),
					VSS_GUID_BRACES, g);
			struct saved_error saved;

			error_save(&saved);
			vss__error(saved.code, "%s; the safety copy %s holds the volume as it was "
				   "before: revert to it to undo", saved.message, g);
		}
	}
	if (rc == 0) {
		if (ret_safety_id) {
			if (r.safety)
				*ret_safety_id = *vss_snapshot_get_id(vss_snapshot_list_get(r.safety, 0));
			else
				memset(ret_safety_id, 0, sizeof(*ret_safety_id));
		}
		if (ret_plan) {
			char *plan = sbuf_detach(&r.plan);

			*ret_plan = plan ? plan : strdup("");
		}
	}
	if (r.lock_fd >= 0)
		vss__unlock(r.lock_fd);
	free(lock_path);
	vss_snapshot_list_unref(r.safety);
	sbuf_release(&r.plan);
	mounts_free(&r);
	free(r.workdir);
	free(r.parent);
	free(r.subvol);
	free(r.copy_path);
	free(r.fresh);
	free(r.loop_device);
	vss_volume_unref(r.vol);
	vss_snapshot_unref(r.snap);
	return rc;
}
