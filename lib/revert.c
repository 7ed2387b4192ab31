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
 * The provider replaces the data (struct vss__revert_ops): provider-btrfs.c
 * swaps the volume's subvolume for a writable snapshot of the copy,
 * provider-image.c the backing file for a reflink clone of the copy.
 *
 * Either way every mount of the volume is then made again, with the
 * options it had (as the provider adjusts them: btrfs mounts the
 * subvolume by its path, which now names the new subvolume).  The copies
 * keep their paths: the store moved with the volume (btrfs) or stays beside
 * the backing file (image).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmount.h>

#include "vss-private.h"
#include "revert-private.h"
#include "vss/revert.h"
#include "util/file.h"
#include "util/banned.h"

int vss__revert_step(struct vss__revert *r, const char *fmt, ...)
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

static bool dry(const struct vss__revert *r)
{
	return r->flags & VSS_REVERT_DRY_RUN;
}

/* strdup() that passes NULL through. */
static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* ---- finding the copy and its volume ------------------------------------ */

static int find_copy(struct vss__revert *r, const struct vss_guid *id)
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

static int find_volume(struct vss__revert *r)
{
	const struct vss_snapshot *s = r->snap;
	const struct vss_provider *p = vss__provider_for_snapshot(s);
	char why[512];
	int rc;

	if (!p || !p->revert)
		return vss__error(-VSS_E_NOT_SUPPORTED, "shadow copy %s was made by provider '%s', "
				  "which cannot revert a volume (btrfs and image can)", r->guid,
				  s->provider_name ? s->provider_name : "?");
	r->prov = p;
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

static void mounts_free(struct vss__revert *r)
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

static int mounts_add(struct vss__revert *r, struct libmnt_fs *fs)
{
	struct vss__revert_mount *m, *grown;

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
 * Every mount of the volume's filesystem root.  A mount of a part of it
 * (a bind mount of a directory inside) could not be made again the same
 * way, and would keep the old data in sight: refused.
 */
static int find_mounts(struct vss__revert *r)
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
		} else if (path_is_under(root, fsroot) &&
			   !(r->prov->revert->moves_with_volume &&
			     r->prov->revert->moves_with_volume(r, root, fsroot))) {
			rc = vss__error(-VSS_E_VOLUME_IN_USE, "'%s' of volume '%s' is mounted on "
					"'%s'; unmount it first", root, vss_volume_get_path(r->vol),
					mnt_fs_get_target(fs));
			goto out;
		}
	}
	if (!r->prov->revert->unmounted_ok && r->nmounts == 0) {
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
	return target[0] == '/' && path_is_under(target, dir);
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

/* ---- the safety copy ----------------------------------------------------- */

static int take_safety_copy(struct vss__revert *r)
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
		rc = vss_session_add_resolved_volume(s, r->vol, r->prov->name, NULL);
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
	rc = vss__revert_step(r, "took the safety copy %s of '%s'", g, vss_volume_get_path(r->vol));
out:
	vss_session_unref(s);
	return rc;
}

/* Delete the safety copy again, keeping the error that made us do it. */
static void drop_safety_copy(struct vss__revert *r)
{
	struct vss__saved_error saved;

	vss__error_save(&saved);

	if (!r->safety)
		return;
	if (vss__catalog_delete(r->ctx, r->safety, 0, VSS_NOTICE_DELETED) < 0)
		vss__debug("revert: the safety copy could not be deleted: %s",
			   vss_error_last()->message);
	vss_snapshot_list_unref(r->safety);
	r->safety = NULL;
	vss__error_restore(&saved);
}

/* ---- unmounting and mounting --------------------------------------------- */

/*
 * The flags and data to mount m again with: its options as the mount table
 * shows them, as the provider adjusts them.  *ret_data to free().
 */
static int mount_options(const struct vss__revert *r, const struct vss__revert_mount *m,
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
	if (r->prov->revert->mount_data) {
		rc = r->prov->revert->mount_data(r, &data);
		if (rc < 0)
			goto out;
	}
	*ret_flags = flags;
	*ret_data = data;
	data = NULL;
out:
	free(data);
	return rc;
}

static int mount_again(struct vss__revert *r, struct vss__revert_mount *m, const char *source)
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
static int remount_all(struct vss__revert *r, const char *source)
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
static int unmount_all(struct vss__revert *r, const char *source)
{
	int rc = 0;

	for (size_t i = r->nmounts; i-- > 0;) {
		struct vss__revert_mount *m = &r->mounts[i];

		if (umount2(m->target, UMOUNT_NOFOLLOW) < 0) {
			int err = errno;
			struct vss__saved_error saved;

			if (err == EBUSY)
				rc = vss__error(-VSS_E_VOLUME_IN_USE, "'%s' is in use (busy): a "
						"process has files open there or something is "
						"mounted inside it; stop it, then revert", m->target);
			else
				rc = vss__error(-err, "cannot unmount '%s': %s", m->target,
						strerror(err));
			vss__error_save(&saved);
			remount_all(r, source);
			vss__error_restore(&saved);
			goto out;
		}
		m->unmounted = true;
		rc = vss__revert_step(r, "unmounted '%s'", m->target);
		if (rc < 0)
			goto out;
	}
out:
	return rc;
}

/* ---- the dry run ---------------------------------------------------------- */

static int plan_dry(struct vss__revert *r)
{
	const char *path = vss_volume_get_path(r->vol);
	int rc = 0;

	if (!(r->flags & VSS_REVERT_NO_SAFETY_COPY))
		rc = vss__revert_step(r, "take a safety copy of '%s' (a new shadow copy of its current state)",
			  path);
	for (size_t i = r->nmounts; rc == 0 && i-- > 0;)
		rc = vss__revert_step(r, "unmount '%s'", r->mounts[i].target);
	if (rc < 0)
		return rc;
	rc = r->prov->revert->plan(r);
	for (size_t i = 0; rc == 0 && i < r->nmounts; i++) {
		const struct vss__revert_mount *m = &r->mounts[i];
		unsigned long mflags;
		char *data = NULL;

		rc = mount_options(r, m, &mflags, &data);
		if (rc == 0)
			rc = vss__revert_step(r, "mount '%s' again (-t %s -o %s%s%s)", m->target, m->fstype,
				  m->vfs_options, *data ? "," : "", data);
		free(data);
	}
	return rc;
}

/* ---- the whole revert ---------------------------------------------------- */

static int checks(struct vss__revert *r, const struct vss_guid *id)
{
	int rc;

	rc = find_copy(r, id);
	if (rc == 0)
		rc = find_volume(r);
	if (rc == 0)
		rc = r->prov->revert->check(r);
	if (rc == 0)
		rc = find_mounts(r);
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
static int swap(struct vss__revert *r)
{
	struct vss__saved_error saved;
	int rc, x;

	rc = r->prov->revert->begin(r);
	if (rc < 0)
		return rc;
	rc = unmount_all(r, r->source);
	if (rc < 0)
		return rc;
	rc = r->prov->revert->swap(r);
	vss__error_save(&saved);
	/* Whatever the volume holds now, it is mounted again. */
	x = 0;
	for (size_t i = 0; i < r->nmounts; i++) {
		struct vss__revert_mount *m = &r->mounts[i];
		int y;

		if (!m->unmounted)
			continue;
		y = mount_again(r, m, r->source);
		if (y == 0)
			y = vss__revert_step(r, "mounted '%s' again", m->target);
		if (y < 0 && x == 0) {
			x = y;
			if (rc == 0)
				vss__error_save(&saved);
		}
	}
	if (rc == 0)
		rc = x;
	if (rc < 0)
		vss__error_restore(&saved);
	return rc;
}

VSS_EXPORT int vss_revert(struct vss_context *ctx, const struct vss_guid *id, unsigned int flags,
			  struct vss_guid *ret_safety_id, char **ret_plan)
{
	struct vss__revert r = { .ctx = ctx, .flags = flags, .plan = SBUF_INIT, .lock_fd = -1 };
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
			struct vss__saved_error saved;

			vss__error_save(&saved);
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
	if (r.prov && r.prov->revert->free)
		r.prov->revert->free(&r);
	mounts_free(&r);
	free(r.source);
	vss_volume_unref(r.vol);
	vss_snapshot_unref(r.snap);
	return rc;
}
