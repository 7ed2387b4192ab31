/*
 * Exposing shadow copies: read-only at a directory, as a read-only loop
 * device, and (expose-smb.c, through vss__expose_at) under a share's @GMT
 * directories; unexposing; reconciling recorded exposures with the system.
 *
 * Every change happens under the exclusive catalog lock, from the record
 * read there: two exposers of one copy cannot both mount it, and the record
 * (catalog and properties file beside the copy) always says what must be
 * undone:
 *   exposedName  the mount point, or the loop device of --device
 *   exposedPath  the share an @GMT exposure belongs to (remote only)
 *   exposedLoop  the loop device attached for it (image copies)
 *   attributes   EXPOSED_LOCALLY or EXPOSED_REMOTELY
 * A device exposure is one whose exposedName is its exposedLoop.
 *
 * A mount or loop device is only undone when it is still ours: the mount at
 * the recorded path shows our copy (the btrfs subvolume id, or the loop
 * device still attached to the copy's clone file), so a recorded path
 * reused by the admin since is never unmounted.
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
#include <sys/statvfs.h>
#include <unistd.h>

#include <libmount.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

#define EXPOSED_BITS (VSS_VOLSNAP_ATTR_EXPOSED_LOCALLY | VSS_VOLSNAP_ATTR_EXPOSED_REMOTELY)

static const char *guid_text(const struct vss_guid *id, char buf[VSS_GUID_STRING_MAX])
{
	return vss_guid_format(id, VSS_GUID_BRACES, buf);
}

static bool is_device_exposure(const struct vss_snapshot *rec)
{
	return rec->exposed_loop && rec->exposed_name &&
	       strcmp(rec->exposed_loop, rec->exposed_name) == 0;
}

static bool is_btrfs(const struct vss_snapshot *rec)
{
	return vss__provider_for_snapshot(rec) == &vss__provider_btrfs;
}

/* ---- the mount table -------------------------------------------------------- */

static int mountinfo_load(struct libmnt_table **ret)
{
	struct libmnt_table *tb = mnt_new_table();
	int rc;

	if (!tb)
		return vss__error(-ENOMEM, "out of memory");
	rc = mnt_table_parse_file(tb, "/proc/self/mountinfo");
	if (rc < 0) {
		mnt_unref_table(tb);
		return vss__error(rc, "cannot read '/proc/self/mountinfo': %s", strerror(-rc));
	}
	*ret = tb;
	return 0;
}

/* Whether the mounted fs shows copy rec. */
static bool fs_shows_copy(struct libmnt_fs *fs, const struct vss_snapshot *rec)
{
	if (rec->exposed_loop) {
		const char *src = mnt_fs_get_srcpath(fs);

		return src && strcmp(src, rec->exposed_loop) == 0 &&
		       vss__loop_is_attached_to(rec->exposed_loop, rec->device);
	}
	if (!mnt_fs_match_fstype(fs, "btrfs"))
		return false;
	if (rec->subvolume_id) {
		char *val = NULL, text[32];
		size_t len = 0;
		uint64_t id;

		if (mnt_fs_get_option(fs, "subvolid", &val, &len) != 0 || !val ||
		    len >= sizeof(text))
			return false;
		memcpy(text, val, len);
		text[len] = '\0';
		return parse_u64(text, &id) == 0 && id == rec->subvolume_id;
	} else {
		/* No id recorded: the subvolume's path ends in the copy's name. */
		const char *root = mnt_fs_get_root(fs), *base = strrchr(rec->device, '/');
		size_t rl, bl;

		if (!root || !base)
			return false;
		rl = strlen(root);
		bl = strlen(base);
		return rl >= bl && strcmp(root + rl - bl, base) == 0;
	}
}

/* Our mount of rec at path (the topmost mount there), or NULL. */
static struct libmnt_fs *find_our_mount(struct libmnt_table *tb, const char *path,
					const struct vss_snapshot *rec)
{
	struct libmnt_fs *fs = mnt_table_find_target(tb, path, MNT_ITER_BACKWARD);

	return fs && fs_shows_copy(fs, rec) ? fs : NULL;
}

/* Where device dev is mounted, or NULL (borrowed from tb). */
static const char *mounted_at(struct libmnt_table *tb, const char *dev)
{
	struct libmnt_fs *fs = mnt_table_find_srcpath(tb, dev, MNT_ITER_FORWARD);

	return fs ? mnt_fs_get_target(fs) : NULL;
}

/* Whether the recorded exposure of rec is still in place. */
static bool exposure_alive(struct libmnt_table *tb, const struct vss_snapshot *rec)
{
	if (is_device_exposure(rec))
		return vss__loop_is_attached_to(rec->exposed_loop, rec->device);
	return find_our_mount(tb, rec->exposed_name, rec) != NULL;
}

/* ---- the target directory --------------------------------------------------- */

/*
 * path must be an existing empty directory that is not a mount point;
 * *ret its canonical name (what is recorded and compared later).
 */
static int check_target(const char *path, char **ret)
{
	struct statx stx;
	struct dirent *de;
	char *real = NULL;
	DIR *d = NULL;
	int rc;

	real = realpath(path, NULL);
	if (!real) {
		rc = vss__error(-errno, "cannot expose at '%s': %s", path, strerror(errno));
		goto out;
	}
	if (statx(AT_FDCWD, real, 0, STATX_TYPE, &stx) < 0) {
		rc = vss__error(-errno, "cannot expose at '%s': %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(stx.stx_mode)) {
		rc = vss__error(-ENOTDIR, "cannot expose at '%s': not a directory; give an empty "
				"directory", path);
		goto out;
	}
	if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
		rc = vss__error(-EBUSY, "cannot expose at '%s': something is already mounted "
				"there; give an empty directory that is not a mount point", path);
		goto out;
	}
	d = opendir(real);
	if (!d) {
		rc = vss__error(-errno, "cannot expose at '%s': %s", path, strerror(errno));
		goto out;
	}
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			rc = vss__error(-ENOTEMPTY, "cannot expose at '%s': the directory is not "
					"empty; give an empty directory", path);
			goto out;
		}
	}
	*ret = real;
	real = NULL;
	rc = 0;
out:
	if (d)
		closedir(d);
	free(real);
	return rc;
}

/* ---- mounting ------------------------------------------------------------------- */

/*
 * Mount source at target through libmount: options as mount(8) takes
 * them, fstype NULL to probe.  Nothing is written to utab and no helper
 * (/sbin/mount.TYPE) runs: what we mount we record ourselves.
 */
static int do_mount(const char *source, const char *target, const char *fstype,
		    const char *options)
{
	struct libmnt_context *cxt = mnt_new_context();
	char buf[BUFSIZ] = "";
	int rc, mrc;

	if (!cxt)
		return vss__error(-ENOMEM, "out of memory");
	rc = mnt_context_disable_mtab(cxt, 1);
	if (rc == 0)
		rc = mnt_context_disable_helpers(cxt, 1);
	if (rc == 0)
		rc = mnt_context_set_source(cxt, source);
	if (rc == 0)
		rc = mnt_context_set_target(cxt, target);
	if (rc == 0 && fstype)
		rc = mnt_context_set_fstype(cxt, fstype);
	if (rc == 0)
		rc = mnt_context_set_options(cxt, options);
	if (rc < 0) {
		rc = vss__error(rc, "cannot set up mounting '%s' on '%s': %s", source, target,
				strerror(-rc));
		goto out;
	}
	mrc = mnt_context_mount(cxt);
	if (mrc == 0 && mnt_context_get_status(cxt) == 1) {
		rc = 0;
		goto out;
	}
	if (mnt_context_syscall_called(cxt) && mnt_context_get_syscall_errno(cxt))
		rc = -mnt_context_get_syscall_errno(cxt);
	else
		rc = mrc < 0 ? mrc : -EINVAL;
	mnt_context_get_excode(cxt, mrc, buf, sizeof(buf));
	rc = vss__error(rc, "cannot mount '%s' on '%s' (%s%s%s): %s", source, target,
			fstype ? fstype : "", fstype ? ", " : "", options,
			buf[0] ? buf : strerror(-rc));
out:
	mnt_free_context(cxt);
	return rc;
}

/* Unmount our mount at path: -EBUSY (message) when busy, unless lazy. */
static int do_umount(const char *path, bool lazy)
{
	if (umount2(path, UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno == EBUSY && lazy) {
		if (umount2(path, UMOUNT_NOFOLLOW | MNT_DETACH) == 0)
			return 0;
	} else if (errno == EBUSY) {
		return vss__error(-EBUSY, "'%s' is in use; close what uses it, or use --force",
				  path);
	}
	return vss__error(-errno, "cannot unmount '%s': %s", path, strerror(errno));
}

/* The mount options of an exposure. */
static int mount_options(const struct vss_snapshot *rec, unsigned int flags, bool bind,
			 struct sbuf *sb)
{
	const char *fstype = rec->original_fstype;
	int rc;

	rc = sbuf_adds(sb, bind ? "bind,ro,nosuid,nodev" : "ro,nosuid,nodev");
	if (rc == 0 && !(flags & VSS_EXPOSE_EXEC))
		rc = sbuf_adds(sb, ",noexec");
	/*
	 * A clone of a frozen filesystem is clean, but its log or journal may
	 * still ask for replay, which writes; and an XFS clone has the UUID
	 * of the mounted original.
	 */
	if (rc == 0 && !bind && fstype && strcmp(fstype, "xfs") == 0)
		rc = sbuf_adds(sb, ",nouuid,norecovery");
	if (rc == 0 && !bind && fstype && (strcmp(fstype, "ext4") == 0 || strcmp(fstype, "ext3") == 0))
		rc = sbuf_adds(sb, ",noload");
	return rc < 0 ? vss__error(-ENOMEM, "out of memory") : 0;
}

/*
 * Mount rec at target (canonical): the subvolume bound read-only, or the
 * clone through a new read-only loop device (*ret_loop, malloc()ed; NULL
 * for btrfs).  On failure nothing is left.
 */
static int mount_copy(const struct vss_snapshot *rec, const char *target, unsigned int flags,
		      char **ret_loop)
{
	struct sbuf opts = SBUF_INIT;
	struct statvfs sv;
	char *loop = NULL;
	int loop_fd = -1, rc;
	bool bind = is_btrfs(rec);

	rc = mount_options(rec, flags, bind, &opts);
	if (rc < 0)
		goto out;
	if (bind) {
		rc = do_mount(rec->device, target, NULL, sbuf_str(&opts));
	} else {
		/* Autoclear: the device goes with the mount, even a lazy one. */
		rc = vss__loop_attach_ro(rec->device, true, &loop_fd, &loop);
		if (rc < 0)
			goto out;
		rc = do_mount(loop, target, rec->original_fstype, sbuf_str(&opts));
	}
	if (rc < 0)
		goto out;
	/* Never hand out a writable copy, whatever the mount code did. */
	if (statvfs(target, &sv) < 0 || !(sv.f_flag & ST_RDONLY) || !(sv.f_flag & ST_NOSUID) ||
	    !(sv.f_flag & ST_NODEV)) {
		umount2(target, UMOUNT_NOFOLLOW | MNT_DETACH);
		rc = vss__error(-EIO, "mounting '%s' on '%s' did not give a read-only, nosuid, "
				"nodev mount; it was undone", rec->device, target);
		goto out;
	}
	*ret_loop = loop;
	loop = NULL;
out:
	if (loop)
		vss__loop_detach(loop);
	if (loop_fd >= 0)
		close(loop_fd);
	free(loop);
	sbuf_release(&opts);
	return rc;
}

/* ---- recording ------------------------------------------------------------------ */

struct saved_exposure {
	char *name, *path, *loop;
	uint32_t attributes;
};

static void exposure_take(struct vss_snapshot *rec, struct saved_exposure *s)
{
	s->name = rec->exposed_name;
	s->path = rec->exposed_path;
	s->loop = rec->exposed_loop;
	s->attributes = rec->attributes;
	rec->exposed_name = rec->exposed_path = rec->exposed_loop = NULL;
}

static void exposure_put_back(struct vss_snapshot *rec, struct saved_exposure *s)
{
	free(rec->exposed_name);
	free(rec->exposed_path);
	free(rec->exposed_loop);
	rec->exposed_name = s->name;
	rec->exposed_path = s->path;
	rec->exposed_loop = s->loop;
	rec->attributes = s->attributes;
	s->name = s->path = s->loop = NULL;
}

static void exposure_release(struct saved_exposure *s)
{
	free(s->name);
	free(s->path);
	free(s->loop);
}

/*
 * Save rec (the catalog's own record, already changed) with the catalog;
 * on failure put old back into rec and its properties file.
 */
static int store_or_put_back(const struct vss_context *ctx, struct vss_snapshot_list *catalog,
			     struct vss_snapshot *rec, struct saved_exposure *old)
{
	int rc = vss__catalog_store_locked(ctx, catalog, rec);

	if (rc < 0) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", vss_error_last()->message);
		exposure_put_back(rec, old);
		vss__snapshot_write_props(rec);
		vss__error(rc, "cannot record the exposure: %s", msg);
	}
	return rc;
}

/* Copy the exposure fields of from into to (the caller's snapshot). */
static int exposure_copy(struct vss_snapshot *to, const struct vss_snapshot *from)
{
	if (to == from)
		return 0;
	to->attributes = from->attributes;
	if (vss__strset(&to->exposed_name, from->exposed_name) < 0 ||
	    vss__strset(&to->exposed_path, from->exposed_path) < 0 ||
	    vss__strset(&to->exposed_loop, from->exposed_loop) < 0)
		return vss__error(-ENOMEM, "out of memory");
	return 0;
}

/* Lock and load; *ret_rec the catalog's record of id. */
static int load_copy(const struct vss_context *ctx, const struct vss_guid *id, int *ret_fd,
		     struct vss_snapshot_list **ret_catalog, struct vss_snapshot **ret_rec)
{
	char g[VSS_GUID_STRING_MAX];
	ssize_t at;
	int rc;

	*ret_fd = -1;
	*ret_catalog = NULL;
	rc = vss__catalog_lock(ctx, LOCK_EX, ret_fd);
	if (rc < 0)
		return rc;
	rc = vss__catalog_load(ctx, ret_catalog);
	if (rc < 0)
		return rc;
	at = vss__snapshot_list_find(*ret_catalog, id);
	if (at < 0)
		return vss__error(-VSS_E_OBJECT_NOT_FOUND, "no shadow copy %s", guid_text(id, g));
	*ret_rec = vss_snapshot_list_get(*ret_catalog, (size_t)at);
	return 0;
}

/* Refuse a copy that is exposed already, or gone from its provider. */
static int check_exposable(const struct vss_snapshot *rec)
{
	const struct vss_provider *p = vss__provider_for_snapshot(rec);
	char g[VSS_GUID_STRING_MAX];

	guid_text(&rec->id, g);
	if (rec->exposed_name)
		return vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
				  "shadow copy %s is already exposed at '%s'; unexpose it first", g,
				  rec->exposed_name);
	if (!p)
		return vss__error(-VSS_E_PROVIDER_NOT_REGISTERED,
				  "provider '%s' of shadow copy %s is not registered",
				  rec->provider_name ? rec->provider_name : "?", g);
	if (!rec->device || !p->exists(rec))
		return vss__error(-ENOENT, "shadow copy %s is gone from '%s'; rescan the catalog "
				  "(vss-list --rescan)", g, rec->device ? rec->device : "?");
	return 0;
}

/* ---- expose ------------------------------------------------------------------------ */

static int expose_id(struct vss_context *ctx, const struct vss_guid *id, const char *path,
		     unsigned int flags, bool remote, const char *share_subpath,
		     struct vss_snapshot *ret_fields)
{
	struct vss_snapshot_list *catalog = NULL;
	struct vss_snapshot *rec = NULL;
	struct saved_exposure old = { 0 };
	char *target = NULL, *loop = NULL;
	bool mounted = false;
	int rc, fd = -1;

	rc = load_copy(ctx, id, &fd, &catalog, &rec);
	if (rc < 0)
		goto out;
	rc = check_exposable(rec);
	if (rc < 0)
		goto out;
	rc = check_target(path, &target);
	if (rc < 0)
		goto out;
	rc = mount_copy(rec, target, flags, &loop);
	if (rc < 0)
		goto out;
	mounted = true;
	exposure_take(rec, &old);
	rec->exposed_name = strdup(target);
	rec->exposed_loop = loop;
	loop = NULL;
	if (!rec->exposed_name ||
	    (remote && share_subpath && !(rec->exposed_path = strdup(share_subpath)))) {
		exposure_put_back(rec, &old);
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	rec->attributes |= remote ? VSS_VOLSNAP_ATTR_EXPOSED_REMOTELY
				  : VSS_VOLSNAP_ATTR_EXPOSED_LOCALLY;
	rc = store_or_put_back(ctx, catalog, rec, &old);
	if (rc < 0)
		goto out;
	mounted = false;
	if (ret_fields)
		rc = exposure_copy(ret_fields, rec);
out:
	/* Unmounting the fresh mount lets autoclear free the loop device. */
	if (mounted)
		umount2(target, UMOUNT_NOFOLLOW | MNT_DETACH);
	exposure_release(&old);
	vss__unlock(fd);
	vss_snapshot_list_unref(catalog);
	free(loop);
	free(target);
	return rc;
}

int vss__expose_at(struct vss_context *ctx, struct vss_snapshot *snap, const char *path,
		   unsigned int flags, bool remote, const char *share_subpath)
{
	return expose_id(ctx, &snap->id, path, flags, remote, share_subpath, snap);
}

VSS_EXPORT int vss_expose_local(struct vss_context *ctx, const struct vss_guid *id,
				const char *path, unsigned int flags)
{
	int rc = vss__require_root("exposing a shadow copy");

	if (rc < 0)
		return rc;
	if (!path || !*path)
		return vss__error(-EINVAL, "no directory given to expose the shadow copy at");
	return expose_id(ctx, id, path, flags, false, NULL, NULL);
}

VSS_EXPORT int vss_expose_device(struct vss_context *ctx, const struct vss_guid *id, char **ret)
{
	struct vss_snapshot_list *catalog = NULL;
	struct vss_snapshot *rec = NULL;
	struct saved_exposure old = { 0 };
	char g[VSS_GUID_STRING_MAX];
	char *loop = NULL, *copy = NULL;
	int rc, fd = -1, loop_fd = -1;

	rc = vss__require_root("exposing a shadow copy");
	if (rc < 0)
		return rc;
	rc = load_copy(ctx, id, &fd, &catalog, &rec);
	if (rc < 0)
		goto out;
	rc = check_exposable(rec);
	if (rc < 0)
		goto out;
	if (is_btrfs(rec)) {
		rc = vss__error(-VSS_E_NOT_SUPPORTED,
				"shadow copy %s is a btrfs subvolume, which has no block device of "
				"its own; expose it at a directory instead", guid_text(id, g));
		goto out;
	}
	/* No autoclear: the device must outlive this process. */
	rc = vss__loop_attach_ro(rec->device, false, &loop_fd, &loop);
	if (rc < 0)
		goto out;
	copy = strdup(loop);
	if (!copy) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	exposure_take(rec, &old);
	rec->exposed_name = copy;
	rec->exposed_loop = strdup(loop);
	if (!rec->exposed_loop) {
		exposure_put_back(rec, &old);
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	rec->attributes |= VSS_VOLSNAP_ATTR_EXPOSED_LOCALLY;
	rc = store_or_put_back(ctx, catalog, rec, &old);
	if (rc < 0)
		goto out;
	*ret = loop;
	loop = NULL;
out:
	if (loop_fd >= 0)
		close(loop_fd);
	if (loop)
		vss__loop_detach(loop);
	exposure_release(&old);
	vss__unlock(fd);
	vss_snapshot_list_unref(catalog);
	free(loop);
	return rc;
}

/* ---- unexpose --------------------------------------------------------------------- */

/*
 * Undo what is still in place of rec's exposure: the mount (busy: -EBUSY
 * unless force), the loop device, the @GMT directory.  Nothing recorded
 * changes here.
 */
static int undo_exposure(struct libmnt_table *tb, const struct vss_snapshot *rec, bool force)
{
	const char *where;
	int rc;

	if (is_device_exposure(rec)) {
		if (!vss__loop_is_attached_to(rec->exposed_loop, rec->device))
			return 0;
		where = mounted_at(tb, rec->exposed_loop);
		if (where && !force)
			return vss__error(-EBUSY, "'%s' is mounted at '%s'; unmount it first, or "
					  "use --force", rec->exposed_loop, where);
		return vss__loop_detach(rec->exposed_loop);
	}
	if (find_our_mount(tb, rec->exposed_name, rec)) {
		rc = do_umount(rec->exposed_name, force);
		if (rc < 0)
			return rc;
	}
	/* Autoclear frees it with the mount; this covers a device someone
	 * else opened meanwhile (detached when they close it). */
	if (rec->exposed_loop && vss__loop_is_attached_to(rec->exposed_loop, rec->device) &&
	    !mounted_at(tb, rec->exposed_loop))
		vss__loop_detach(rec->exposed_loop);
	/* The @GMT directory was made for the exposure; only if empty. */
	if (rec->attributes & VSS_VOLSNAP_ATTR_EXPOSED_REMOTELY)
		rmdir(rec->exposed_name);
	return 0;
}

static int clear_exposure(const struct vss_context *ctx, struct vss_snapshot_list *catalog,
			  struct vss_snapshot *rec)
{
	struct saved_exposure old = { 0 };
	int rc;

	exposure_take(rec, &old);
	rec->attributes &= ~(uint32_t)EXPOSED_BITS;
	rc = store_or_put_back(ctx, catalog, rec, &old);
	exposure_release(&old);
	return rc;
}

static int unexpose_locked(const struct vss_context *ctx, struct vss_snapshot_list *catalog,
			   struct vss_snapshot *rec, unsigned int flags)
{
	struct libmnt_table *tb = NULL;
	int rc;

	rc = mountinfo_load(&tb);
	if (rc == 0)
		rc = undo_exposure(tb, rec, flags & VSS_UNEXPOSE_FORCE);
	if (rc == 0)
		rc = clear_exposure(ctx, catalog, rec);
	mnt_unref_table(tb);
	return rc;
}

int vss__unexpose_id(struct vss_context *ctx, const struct vss_guid *id, unsigned int flags)
{
	struct vss_snapshot_list *catalog = NULL;
	struct vss_snapshot *rec = NULL;
	char g[VSS_GUID_STRING_MAX];
	int rc, fd = -1;

	rc = load_copy(ctx, id, &fd, &catalog, &rec);
	if (rc < 0)
		goto out;
	if (!rec->exposed_name) {
		rc = vss__error(-VSS_E_OBJECT_NOT_FOUND, "shadow copy %s is not exposed",
				guid_text(id, g));
		goto out;
	}
	rc = unexpose_locked(ctx, catalog, rec, flags);
out:
	vss__unlock(fd);
	vss_snapshot_list_unref(catalog);
	return rc;
}

/* The name without trailing slashes, canonical when it exists; malloc()ed. */
static char *exposure_key(const char *what)
{
	char *s = realpath(what, NULL);
	size_t n;

	if (s)
		return s;
	s = strdup(what);
	if (!s)
		return NULL;
	n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

VSS_EXPORT int vss_unexpose(struct vss_context *ctx, const char *what, unsigned int flags)
{
	struct vss_snapshot_list *catalog = NULL;
	struct vss_snapshot *rec = NULL;
	struct vss_guid id;
	char *key = NULL;
	int rc, fd = -1;

	rc = vss__require_root("unexposing a shadow copy");
	if (rc < 0)
		return rc;
	if (!what || !*what)
		return vss__error(-EINVAL, "no shadow copy, directory or device given to unexpose");
	if (vss_guid_parse(what, &id) == 0)
		return vss__unexpose_id(ctx, &id, flags);
	key = exposure_key(what);
	if (!key) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	rc = vss__catalog_lock(ctx, LOCK_EX, &fd);
	if (rc == 0)
		rc = vss__catalog_load(ctx, &catalog);
	if (rc < 0)
		goto out;
	for (size_t i = 0; !rec && i < vss_snapshot_list_count(catalog); i++) {
		struct vss_snapshot *s = vss_snapshot_list_get(catalog, i);

		if (s->exposed_name && (strcmp(s->exposed_name, key) == 0 ||
					strcmp(s->exposed_name, what) == 0))
			rec = s;
	}
	if (!rec) {
		rc = vss__error(-VSS_E_OBJECT_NOT_FOUND, "no shadow copy is exposed at '%s'", what);
		goto out;
	}
	rc = unexpose_locked(ctx, catalog, rec, flags);
out:
	vss__unlock(fd);
	vss_snapshot_list_unref(catalog);
	free(key);
	return rc;
}

/* ---- reconcile -------------------------------------------------------------------- */

VSS_EXPORT int vss_expose_reconcile(struct vss_context *ctx)
{
	struct vss_snapshot_list *catalog = NULL;
	struct libmnt_table *tb = NULL;
	char *path = NULL;
	int rc, first_rc = 0, fd = -1;

	if (geteuid() != 0)
		return 0;
	/* No catalog, no exposures: and listing must not create the state
	 * directory just to find that out. */
	path = path_join(ctx->statedir, VSS__CATALOG_FILE);
	if (!path)
		return vss__error(-ENOMEM, "out of memory");
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rc = 0;
		goto out;
	}
	rc = vss__catalog_lock(ctx, LOCK_EX, &fd);
	if (rc == 0)
		rc = vss__catalog_load(ctx, &catalog);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < vss_snapshot_list_count(catalog); i++) {
		struct vss_snapshot *rec = vss_snapshot_list_get(catalog, i);
		char g[VSS_GUID_STRING_MAX], *where;
		int r;

		if (!rec->exposed_name)
			continue;
		if (!tb && (rc = mountinfo_load(&tb)) < 0)
			goto out;
		if (exposure_alive(tb, rec))
			continue;
		/* What may be left of it (a loop device of a manually unmounted
		 * exposure, an empty @GMT directory) goes too. */
		undo_exposure(tb, rec, false);
		where = strdup(rec->exposed_name);
		guid_text(&rec->id, g);
		r = clear_exposure(ctx, catalog, rec);
		if (r < 0) {
			if (first_rc == 0)
				first_rc = r;
			vss__notice(ctx, VSS_NOTICE_UNEXPOSED, rec, r,
				    "cannot forget the vanished exposure of shadow copy %s at "
				    "'%s': %s", g, where ? where : "?", vss_error_last()->message);
		} else {
			vss__notice(ctx, VSS_NOTICE_UNEXPOSED, rec, 0,
				    "shadow copy %s was no longer exposed at '%s'; its record was "
				    "cleared", g, where ? where : "?");
		}
		free(where);
	}
	rc = first_rc;
out:
	mnt_unref_table(tb);
	vss__unlock(fd);
	vss_snapshot_list_unref(catalog);
	free(path);
	return rc;
}
