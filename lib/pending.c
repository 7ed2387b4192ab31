/*
 * The pending-set journal: the promise that a set is all or nothing even
 * when its creator is killed.
 *
 * Before the first copy of a set is made, the planned copies (ids, provider,
 * where each will live) are written durably to $STATEDIR/pending/<set>.xml.
 * After the set is recorded in the catalog the journal is removed.  Only the
 * holder of the creation lock writes journals, and the lock dies with its
 * process, so a journal seen by the next holder of the lock belongs to a
 * creator that is gone: its copies that the catalog does not know are
 * deleted.  Copies the catalog knows were recorded just before the creator
 * died and are kept — this is why removing the journal needs no fsync.
 *
 * Also here: releasing auto-release copies whose owner has ended.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/banned.h"

static char *pending_dir(const struct vss_context *ctx)
{
	return path_join(ctx->statedir, VSS__PENDING_DIR);
}

static char *pending_path(const struct vss_context *ctx, const struct vss_guid *set_id)
{
	char guid[VSS_GUID_STRING_MAX], name[VSS_GUID_STRING_MAX + 8];
	char *dir = pending_dir(ctx), *path;

	if (!dir)
		return NULL;
	snprintf(name, sizeof(name), "%s.xml", vss_guid_format(set_id, 0, guid));
	path = path_join(dir, name);
	free(dir);
	return path;
}

int vss__pending_write(const struct vss_context *ctx, const struct vss_guid *set_id,
		       const struct vss_snapshot_list *planned)
{
	char guid[VSS_GUID_STRING_MAX], bare[VSS_GUID_STRING_MAX], pid[32], start[32];
	char *dir = NULL, *path = NULL, *xml = NULL;
	uint64_t start_time = 0;
	size_t len = 0;
	int rc;

	vss_guid_format(set_id, VSS_GUID_BRACES, guid);
	vss__process_start_time(getpid(), &start_time);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	snprintf(start, sizeof(start), "%llu", (unsigned long long)start_time);
	const char *attrs[] = { "snapshotSetId", vss_guid_format(set_id, 0, bare), "creatorPid", pid,
				"creatorStart", start, NULL };

	dir = pending_dir(ctx);
	path = pending_path(ctx, set_id);
	if (!dir || !path) {
		rc = -ENOMEM;
		goto out;
	}
	rc = vss__mkdir_p(dir, 0700);
	if (rc < 0)
		goto out;
	rc = vss__snapshots_to_xml("PENDING_SET", attrs, planned, &xml, &len);
	if (rc < 0)
		goto out;
	/* A new file: torn only by a crash before any copy was made, and
	 * then there is nothing to roll back (see recover_one). */
	rc = file_write_new(path, xml, len, 0600, true);
	if (rc < 0)
		rc = vss__error(rc, "cannot write the journal of set %s to '%s': %s", guid, path,
				strerror(-rc));
out:
	free(xml);
	free(path);
	free(dir);
	return rc;
}

int vss__pending_remove(const struct vss_context *ctx, const struct vss_guid *set_id)
{
	char *path = pending_path(ctx, set_id);
	int rc = 0;

	if (!path)
		return -ENOMEM;
	if (unlink(path) < 0 && errno != ENOENT)
		rc = vss__error(-errno, "cannot remove journal '%s': %s", path, strerror(errno));
	free(path);
	return rc;
}

/* Roll back one journal; 0 when it could be removed. */
static int recover_one(const struct vss_context *ctx, const char *path,
		       const struct vss_snapshot_list *catalog)
{
	struct vss_snapshot_list *planned = NULL;
	char *xml = NULL;
	size_t len;
	int rc, failed = 0;

	rc = file_read_all(path, &xml, &len);
	if (rc < 0)
		return vss__error(rc, "cannot read journal '%s': %s", path, strerror(-rc));
	rc = vss__snapshots_from_xml(xml, len, path, "PENDING_SET", &planned, NULL);
	if (rc < 0) {
		/*
		 * The journal is written and fsynced once, before the first
		 * copy is made; it is only ever unreadable when its creator
		 * died (or the machine stopped) while writing it, and then
		 * no copy of its set exists.  Nothing to roll back.
		 */
		vss__notice(ctx, VSS_NOTICE_ROLLED_BACK, NULL, 0,
			    "removed journal '%s', torn while its creator was writing it: "
			    "no copy of its set had been made", path);
		rc = unlink(path) < 0 && errno != ENOENT
			? vss__error(-errno, "cannot remove journal '%s': %s", path, strerror(errno))
			: 0;
		goto out;
	}
	for (size_t i = 0; i < vss_snapshot_list_count(planned); i++) {
		struct vss_snapshot *snap = vss_snapshot_list_get(planned, i);
		const struct vss_provider *prov;
		char guid[VSS_GUID_STRING_MAX];
		int r;

		if (vss__snapshot_list_find(catalog, &snap->id) >= 0)
			continue;
		vss_guid_format(&snap->id, VSS_GUID_BRACES, guid);
		prov = vss__provider_for_snapshot(snap);
		if (!prov) {
			r = vss__error(-VSS_E_PROVIDER_NOT_REGISTERED,
				       "provider '%s' of shadow copy %s is not known",
				       snap->provider_name ? snap->provider_name : "?", guid);
		} else {
			r = prov->remove(snap);
		}
		if (r == -ENOENT)
			continue;  /* never made: the creator died before its commit */
		if (r < 0)
			failed++;
		vss__notice(ctx, VSS_NOTICE_ROLLED_BACK, snap, r,
			    r < 0 ? "cannot remove shadow copy %s of '%s' left by a creator that died: %s"
				  : "removed shadow copy %s of '%s': its creator died before the set was made%s",
			    guid, snap->original_volume ? snap->original_volume : "?",
			    r < 0 ? vss_error_last()->message : "");
	}
	/* Keep the journal while anything could not be removed, so the next
	 * run tries again. */
	if (!failed && unlink(path) < 0 && errno != ENOENT)
		rc = vss__error(-errno, "cannot remove journal '%s': %s", path, strerror(errno));
	if (failed)
		rc = vss__error(-VSS_E_PROVIDER_VETO,
				"%d shadow copies of an unfinished set could not be removed; see '%s'",
				failed, path);
out:
	vss_snapshot_list_unref(planned);
	free(xml);
	return rc;
}

int vss__pending_recover(const struct vss_context *ctx)
{
	struct vss_snapshot_list *catalog = NULL;
	char *dir = pending_dir(ctx);
	struct dirent *de;
	DIR *d = NULL;
	int rc = 0, lock_fd = -1;

	if (!dir)
		return -ENOMEM;
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			rc = vss__error(-errno, "cannot read '%s': %s", dir, strerror(errno));
		goto out;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char *path;
		int r;

		if (n < 5 || strcmp(de->d_name + n - 4, ".xml") != 0)
			continue;
		if (!catalog) {
			rc = vss__catalog_lock(ctx, LOCK_SH, &lock_fd);
			if (rc == 0)
				rc = vss__catalog_load(ctx, &catalog);
			vss__unlock(lock_fd);
			lock_fd = -1;
			if (rc < 0) {
				/* Without the catalog we cannot tell recorded copies
				 * from unrecorded ones; deleting blindly could lose
				 * good copies, so leave the journals for later. */
				vss__error_prefix("cannot recover unfinished sets");
				goto out;
			}
		}
		path = path_join(dir, de->d_name);
		if (!path) {
			rc = -ENOMEM;
			goto out;
		}
		r = recover_one(ctx, path, catalog);
		if (r < 0 && rc == 0)
			rc = r;
		free(path);
	}
out:
	if (d)
		closedir(d);
	vss_snapshot_list_unref(catalog);
	free(dir);
	return rc;
}

int vss__release_orphans(struct vss_context *ctx)
{
	struct vss_snapshot_list *all = NULL, *orphans = NULL;
	int rc, lock_fd = -1;

	rc = vss__catalog_lock(ctx, LOCK_SH, &lock_fd);
	if (rc == -ENOENT) {
		rc = 0;   /* no state directory yet: nothing to release */
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = vss__catalog_load(ctx, &all);
	vss__unlock(lock_fd);
	if (rc < 0)
		goto out;
	orphans = vss__snapshot_list_new();
	if (!orphans) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < vss_snapshot_list_count(all); i++) {
		struct vss_snapshot *snap = vss_snapshot_list_get(all, i);

		if (snap->owner_pid > 0 && !vss__process_is_alive(snap->owner_pid, snap->owner_start)) {
			rc = vss__snapshot_list_append(orphans, snap);
			if (rc < 0)
				goto out;
		}
	}
	if (vss_snapshot_list_count(orphans) > 0)
		rc = vss__catalog_delete(ctx, orphans, 0, VSS_NOTICE_RELEASED);
out:
	vss_snapshot_list_unref(orphans);
	vss_snapshot_list_unref(all);
	return rc;
}
