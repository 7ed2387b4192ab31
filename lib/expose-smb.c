/*
 * SMB previous versions: each copy of a share's volume is mounted read-only
 * at <share>/.snapshots/@GMT-YYYY.MM.DD-HH.MM.SS (its creation time, UTC),
 * where Samba's vfs_shadow_copy2 finds it and offers it to Windows clients
 * as a previous version of every file and folder of the share.
 *
 * The snapshot directory sits inside the share, not at the volume root, so
 * that one layout serves a share at the root of its volume and one deeper
 * down: the smb.conf lines set shadow:mountpoint to the share itself, which
 * makes shadow_copy2 look for .snapshots there, and, for a share below the
 * volume root, shadow:snapsharepath to the share's path inside each copy
 * (each @GMT entry holds the whole copy: an image copy cannot be mounted
 * in part).  Being inside the share also keeps Samba's "stay below the
 * share" path checks happy without "wide links".  "veto files" hides the
 * directory from clients (shadow_copy2 reads it below that check), and the
 * store of copies too (.vss at a btrfs volume root): clients reach copies
 * only as previous versions.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/sbuf.h"
#include "util/banned.h"

#define SNAPDIR     ".snapshots"
/* strftime() format of the entries; the same string goes to shadow:format. */
#define GMT_FORMAT  "@GMT-%Y.%m.%d-%H.%M.%S"
#define GMT_NAME_MAX 32

/* One copy to expose. */
struct smb_item {
	struct vss_snapshot *snap;
	char name[GMT_NAME_MAX];   /* "@GMT-2024.05.01-10.00.00" */
	char *path;                /* <share>/.snapshots/<name> */
	bool made_dir;             /* we created path (or took over a leftover) */
	bool exposed;
};

static int no_memory(void)
{
	return vss__error(-ENOMEM, "out of memory");
}

/* The @GMT name of a creation time (ns since the epoch, UTC). */
static int gmt_name(int64_t ns, char buf[GMT_NAME_MAX])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns < 0 || !gmtime_r(&t, &tm) || strftime(buf, GMT_NAME_MAX, GMT_FORMAT, &tm) == 0)
		return vss__error(-EINVAL, "creation time %lld cannot be named as an @GMT token",
				  (long long)ns);
	return 0;
}

/*
 * The share: its canonical path, the volume that holds it, and its path
 * inside that volume ("/" for the volume root).  The volume root is the
 * highest directory above the share on the same device number: a mount
 * point, or a btrfs subvolume root (each subvolume has its own device
 * number, so a share inside a nested subvolume resolves to that subvolume,
 * whose contents a copy of the outer one does not hold).
 */
static int share_resolve(const char *share_path, char **ret_real, struct vss_volume **ret_vol,
			 char **ret_subpath)
{
	struct vss_volume *vol = NULL;
	char *real = NULL, *top = NULL, *subpath = NULL;
	struct stat st, pst;
	int rc;

	if (!share_path || !*share_path) {
		rc = vss__error(-EINVAL, "no share path given; name the directory the share exports");
		goto out;
	}
	real = realpath(share_path, NULL);
	if (!real) {
		rc = -errno;
		if (rc == -ENOMEM)
			rc = no_memory();
		else
			rc = vss__error(rc, "share path '%s': %s", share_path, strerror(-rc));
		goto out;
	}
	for (const char *p = real; *p; p++) {
		/* smb.conf values end at the line; a line break cannot be said. */
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			rc = vss__error(-EINVAL, "share path '%s' holds a control character, which "
					"smb.conf cannot express; rename it", share_path);
			goto out;
		}
	}
	if (stat(real, &st) < 0) {
		rc = vss__error(-errno, "share path '%s': %s", real, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		rc = vss__error(-ENOTDIR, "share path '%s' is not a directory; name the directory "
				"the share exports", real);
		goto out;
	}
	top = strdup(real);
	if (!top) {
		rc = no_memory();
		goto out;
	}
	while (strcmp(top, "/") != 0) {
		char *slash = strrchr(top, '/');
		char saved;

		/* Look at the parent without losing the child yet. */
		if (slash == top)
			slash++;
		saved = *slash;
		*slash = '\0';
		if (stat(top, &pst) < 0) {
			rc = vss__error(-errno, "cannot look at '%s': %s", top, strerror(errno));
			goto out;
		}
		if (pst.st_dev != st.st_dev) {
			*slash = saved;
			break;
		}
	}
	rc = vss_volume_resolve(top, &vol);
	if (rc < 0) {
		vss__error_prefix("share path '%s' lies on '%s'", real, top);
		goto out;
	}
	if (strcmp(top, "/") == 0)
		subpath = strdup(real);
	else
		subpath = strdup(real[strlen(top)] ? real + strlen(top) : "/");
	if (!subpath) {
		rc = no_memory();
		goto out;
	}
	*ret_real = real;
	*ret_vol = vol;
	*ret_subpath = subpath;
	real = NULL;
	vol = NULL;
	subpath = NULL;
out:
	free(subpath);
	free(top);
	free(real);
	vss_volume_unref(vol);
	return rc;
}

/*
 * share/.snapshots: created (0755, root's) if missing.  One that exists
 * must be a real directory that only root can change: we mount copies
 * below it as root, and a user who could swap it for a symbolic link would
 * choose where.
 */
static int snapdir_prepare(const char *snapdir, bool *ret_created)
{
	struct stat st;

	*ret_created = false;
	if (lstat(snapdir, &st) < 0) {
		if (errno != ENOENT)
			return vss__error(-errno, "cannot look at '%s': %s", snapdir, strerror(errno));
		if (mkdir(snapdir, 0755) < 0)
			return vss__error(-errno, "cannot create '%s': %s", snapdir, strerror(errno));
		*ret_created = true;
		/* Whatever the umask: SMB clients never see it (veto files),
		 * and local users may read the copies as they could the share. */
		if (chmod(snapdir, 0755) < 0) {
			int rc = vss__error(-errno, "cannot set the mode of '%s': %s", snapdir,
					    strerror(errno));

			rmdir(snapdir);
			*ret_created = false;
			return rc;
		}
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return vss__error(-ENOTDIR, "'%s' exists and is not a directory; move it away "
				  "(SMB previous versions are exposed there)", snapdir);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return vss__error(-EPERM, "'%s' may be changed by users other than root; make it "
				  "root's and not group or world writable (chown root: and chmod 0755)",
				  snapdir);
	return 0;
}

/* Whether dir is an empty directory on the device dev (not a mount point). */
static bool is_empty_plain_dir(const char *dir, dev_t dev)
{
	struct stat st;
	struct dirent *d;
	DIR *dp;
	bool empty = true;

	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_dev != dev)
		return false;
	dp = opendir(dir);
	if (!dp)
		return false;
	while ((d = readdir(dp))) {
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	closedir(dp);
	return empty;
}

/* Load copy id from the catalog, checking it can be exposed for share. */
static int item_load(struct vss_context *ctx, const struct vss_guid *id,
		     const struct vss_volume *vol, const char *share, struct smb_item *item)
{
	struct vss_query q = { .snapshot_id = id };
	struct vss_snapshot_list *list = NULL;
	struct vss_snapshot *snap;
	char guid[VSS_GUID_STRING_MAX];
	int rc;

	vss_guid_format(id, VSS_GUID_BRACES, guid);
	rc = vss_catalog_query(ctx, &q, &list);
	if (rc < 0)
		goto out;
	if (vss_snapshot_list_count(list) == 0) {
		rc = vss__error(-VSS_E_OBJECT_NOT_FOUND, "no shadow copy %s; vss-list shows "
				"the copies there are", guid);
		goto out;
	}
	snap = vss_snapshot_list_get(list, 0);
	if (!vss_volume_is_same(vol, snap->original_uuid, snap->original_device,
				snap->original_fsroot)) {
		rc = vss__error(-EINVAL, "shadow copy %s is a copy of '%s', not of the volume "
				"that holds share '%s' ('%s'); expose copies of the share's volume",
				guid, snap->original_volume ? snap->original_volume : "?", share,
				vss_volume_get_path(vol));
		goto out;
	}
	if (snap->exposed_name) {
		rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS, "shadow copy %s is already exposed "
				"at '%s'; unexpose it first", guid, snap->exposed_name);
		goto out;
	}
	rc = gmt_name(snap->creation_time, item->name);
	if (rc < 0)
		goto out;
	item->snap = vss_snapshot_ref(snap);
out:
	vss_snapshot_list_unref(list);
	return rc;
}

/* The smb.conf lines for the share's section. */
static int smb_conf_lines(const char *share, const char *subpath, char **ret)
{
	struct sbuf sb = SBUF_INIT;
	int rc;

	rc = sbuf_addf(&sb,
		       "# SMB previous versions of '%s' from vss shadow copies\n"
		       "# (vss-expose --smb).  These lines belong in the share's section; if it\n"
		       "# has a \"vfs objects\" line already, add shadow_copy2 to that one.\n"
		       "path = %s\n"
		       "vfs objects = shadow_copy2\n"
		       "shadow:mountpoint = %s\n"
		       "shadow:snapdir = " SNAPDIR "\n"
		       "shadow:format = %s\n"
		       "shadow:sort = desc\n"
		       "shadow:localtime = no\n"
		       "veto files = /" SNAPDIR "/" VSS__STORE_DIR "/\n",
		       share, share, share, GMT_FORMAT);
	/* Relative to the copy's root, as shadow_copy2 wants it. */
	if (rc == 0 && strcmp(subpath, "/") != 0)
		rc = sbuf_addf(&sb, "shadow:snapsharepath = %s\n", subpath + 1);
	if (rc < 0) {
		sbuf_release(&sb);
		return no_memory();
	}
	*ret = sbuf_detach(&sb);
	if (!*ret)
		return no_memory();
	return 0;
}

/* Undo the exposures made so far; the caller keeps its own error. */
static void items_undo(struct vss_context *ctx, struct smb_item *items, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		struct smb_item *it = &items[i];

		if (it->exposed) {
			/* Nothing can be using a mount this young but a client
			 * that raced us; do not leave it behind for that. */
			if (vss__unexpose_id(ctx, &it->snap->id, 0) == -EBUSY)
				vss__unexpose_id(ctx, &it->snap->id, VSS_UNEXPOSE_FORCE);
			it->exposed = false;
		}
		if (it->made_dir && it->path)
			rmdir(it->path);   /* gone already when unexposing removed it */
		it->made_dir = false;
	}
}

VSS_EXPORT int vss_expose_smb(struct vss_context *ctx, const char *share_path,
			      const struct vss_guid *ids, size_t n, char **ret_conf)
{
	struct vss_volume *vol = NULL;
	struct smb_item *items = NULL;
	char *share = NULL, *subpath = NULL, *snapdir = NULL, *conf = NULL;
	bool snapdir_created = false;
	struct stat sst;
	char saved[1024];
	int rc;

	rc = vss__require_root("exposing shadow copies to SMB clients");
	if (rc < 0)
		goto out;
	if (!ctx || (n > 0 && !ids)) {
		rc = vss__error(-EINVAL, "vss_expose_smb: no context or no shadow copy IDs");
		goto out;
	}
	rc = share_resolve(share_path, &share, &vol, &subpath);
	if (rc < 0)
		goto out;
	items = calloc(n ? n : 1, sizeof(*items));
	snapdir = path_join(share, SNAPDIR);
	if (!items || !snapdir) {
		rc = no_memory();
		goto out;
	}

	/* Everything that can be checked is checked before anything changes. */
	for (size_t i = 0; i < n; i++) {
		rc = item_load(ctx, &ids[i], vol, share, &items[i]);
		if (rc < 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			char a[VSS_GUID_STRING_MAX], b[VSS_GUID_STRING_MAX];

			vss_guid_format(&items[j].snap->id, VSS_GUID_BRACES, a);
			if (vss_guid_equal(&items[j].snap->id, &items[i].snap->id)) {
				rc = vss__error(-EINVAL, "shadow copy %s is named twice", a);
				goto out;
			}
			if (strcmp(items[j].name, items[i].name) == 0) {
				vss_guid_format(&items[i].snap->id, VSS_GUID_BRACES, b);
				rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
						"shadow copies %s and %s were made in the same second "
						"(%s), and SMB clients tell previous versions apart by "
						"the second; expose only one of them", a, b, items[i].name);
				goto out;
			}
		}
		items[i].path = path_join(snapdir, items[i].name);
		if (!items[i].path) {
			rc = no_memory();
			goto out;
		}
	}

	if (n > 0) {
		rc = snapdir_prepare(snapdir, &snapdir_created);
		if (rc < 0)
			goto out;
		if (stat(snapdir, &sst) < 0) {
			rc = vss__error(-errno, "cannot look at '%s': %s", snapdir, strerror(errno));
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct smb_item *it = &items[i];

		if (mkdir(it->path, 0755) == 0) {
			it->made_dir = true;
		} else if (errno != EEXIST) {
			rc = vss__error(-errno, "cannot create '%s': %s", it->path, strerror(errno));
			goto undo;
		} else if (is_empty_plain_dir(it->path, sst.st_dev)) {
			/* An empty leftover (a crash between mkdir and mount, or an
			 * exposure that vanished): ours to use and to remove. */
			it->made_dir = true;
		} else {
			rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS, "'%s' exists already: another "
					"copy made in the same second is exposed there, or something "
					"else is in the way; unexpose that copy or remove it", it->path);
			goto undo;
		}
		rc = vss__expose_at(ctx, it->snap, it->path, 0, true, share);
		if (rc < 0)
			goto undo;
		it->exposed = true;
	}

	rc = smb_conf_lines(share, subpath, &conf);
	if (rc < 0)
		goto undo;
	if (ret_conf) {
		*ret_conf = conf;
		conf = NULL;
	}
	goto out;

undo:
	snprintf(saved, sizeof(saved), "%s", vss_error_last()->message);
	items_undo(ctx, items, n);
	if (snapdir_created)
		rmdir(snapdir);
	vss__error(rc, "%s", saved);
out:
	if (items) {
		for (size_t i = 0; i < n; i++) {
			vss_snapshot_unref(items[i].snap);
			free(items[i].path);
		}
	}
	free(items);
	free(conf);
	free(snapdir);
	free(subpath);
	free(share);
	vss_volume_unref(vol);
	return rc;
}
