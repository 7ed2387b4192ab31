/*
 * The catalog: $VSS_STATEDIR/catalog.xml, the index of every shadow copy
 * (format in vss-catalog(5)).
 *
 * Readers take catalog.lock shared, writers exclusive; a change is written
 * to a temporary file, fsynced and renamed over the old one, so a reader
 * that could not take the lock (no write access to create the lock file)
 * still sees a whole catalog, old or new.  Each copy also has a properties
 * file in its store beside it, from which vss_catalog_rescan() rebuilds the
 * catalog.
 *
 * Lock order: the creation lock ($VSS_RUNDIR/create.lock) before the
 * catalog lock.  Nothing here calls out to code that takes the catalog lock
 * while holding it (flock locks are per open file, so that would deadlock
 * even within one process).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/sbuf.h"
#include "util/strv.h"
#include "util/banned.h"

static char *state_path(const struct vss_context *ctx, const char *name)
{
	char *p = path_join(ctx->statedir, name);

	if (!p)
		vss__error(-ENOMEM, "out of memory");
	return p;
}

int vss__catalog_lock(const struct vss_context *ctx, int how, int *ret_fd)
{
	char *path = NULL;
	int rc;

	/* A shared lock must not create the state directory: listing as an
	 * ordinary user on a fresh system changes nothing (and gets -ENOENT). */
	if (how & LOCK_EX) {
		rc = vss__mkdir_p(ctx->statedir, 0755);
		if (rc < 0)
			goto out;
	}
	path = state_path(ctx, VSS__CATALOG_LOCK);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	rc = vss__lock_take(path, how, true, ret_fd);
out:
	free(path);
	return rc;
}

int vss__catalog_load(const struct vss_context *ctx, struct vss_snapshot_list **ret)
{
	struct vss_snapshot_list *list = NULL;
	char *path = NULL, *xml = NULL;
	size_t len = 0;
	int rc;

	path = state_path(ctx, VSS__CATALOG_FILE);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	rc = file_read_all(path, &xml, &len);
	if (rc == -ENOENT) {
		/* No catalog yet (or no state directory): no copies. */
		list = vss__snapshot_list_new();
		rc = list ? 0 : vss__error(-ENOMEM, "out of memory");
		goto done;
	}
	if (rc < 0) {
		rc = vss__error(rc, "cannot read the catalog '%s': %s", path, strerror(-rc));
		goto out;
	}
	rc = vss__snapshots_from_xml(xml, len, path, "CATALOG", &list, NULL);
	if (rc < 0) {
		vss__error_prefix("the catalog is damaged (rebuild it with 'vss-list --rescan')");
		goto out;
	}
done:
	if (rc == 0) {
		vss__snapshot_list_sort(list);
		*ret = list;
		list = NULL;
	}
out:
	vss_snapshot_list_unref(list);
	free(xml);
	free(path);
	return rc;
}

/*
 * A writer killed between creating its temporary file and renaming it
 * leaves "catalog.xml.tmp.<pid>" behind.  Only the holder of the exclusive
 * lock writes the catalog, so while we hold it every such file is debris.
 */
static void remove_stale_temporaries(const struct vss_context *ctx)
{
	static const char prefix[] = VSS__CATALOG_FILE ".tmp.";
	struct dirent *de;
	DIR *d = opendir(ctx->statedir);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strncmp(de->d_name, prefix, sizeof(prefix) - 1) == 0)
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int vss__catalog_tidy(const struct vss_context *ctx)
{
	char *path = state_path(ctx, VSS__CATALOG_LOCK);
	int fd = -1, rc;

	if (!path)
		return -ENOMEM;
	/* Busy means someone is writing right now: their file, not debris. */
	rc = vss__lock_take(path, LOCK_EX, false, &fd);
	if (rc == 0) {
		remove_stale_temporaries(ctx);
		vss__unlock(fd);
	}
	free(path);
	return rc == -EWOULDBLOCK || rc == -ENOENT ? 0 : rc;
}

/* Caller holds the exclusive catalog lock. */
int vss__catalog_save(const struct vss_context *ctx, const struct vss_snapshot_list *list)
{
	char *path = NULL, *xml = NULL;
	size_t len = 0;
	int rc;

	rc = vss__mkdir_p(ctx->statedir, 0755);
	if (rc < 0)
		goto out;
	path = state_path(ctx, VSS__CATALOG_FILE);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	rc = vss__snapshots_to_xml("CATALOG", NULL, list, &xml, &len);
	if (rc < 0)
		goto out;
	remove_stale_temporaries(ctx);
	rc = file_write_atomic(path, xml, len, 0644, true);
	if (rc < 0)
		rc = vss__error(rc, "cannot write the catalog '%s': %s", path, strerror(-rc));
out:
	free(xml);
	free(path);
	return rc;
}

int vss__catalog_add(const struct vss_context *ctx, const struct vss_snapshot_list *add)
{
	struct vss_snapshot_list *list = NULL;
	int rc, fd = -1;

	rc = vss__catalog_lock(ctx, LOCK_EX, &fd);
	if (rc < 0)
		goto out;
	rc = vss__catalog_load(ctx, &list);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < vss_snapshot_list_count(add); i++) {
		struct vss_snapshot *snap = vss_snapshot_list_get(add, i);
		ssize_t at = vss__snapshot_list_find(list, &snap->id);

		/* The newer record of the same copy wins. */
		if (at >= 0)
			vss__snapshot_list_remove_at(list, (size_t)at);
		rc = vss__snapshot_list_append(list, snap);
		if (rc < 0)
			goto out;
	}
	vss__snapshot_list_sort(list);
	rc = vss__catalog_save(ctx, list);
out:
	vss__unlock(fd);
	vss_snapshot_list_unref(list);
	return rc;
}

int vss__catalog_store_locked(const struct vss_context *ctx, struct vss_snapshot_list *catalog,
			      struct vss_snapshot *snap)
{
	struct vss_snapshot *old = NULL;
	char guid[VSS_GUID_STRING_MAX];
	ssize_t at = vss__snapshot_list_find(catalog, &snap->id);
	int rc;

	if (at < 0) {
		vss_guid_format(&snap->id, VSS_GUID_BRACES, guid);
		return vss__error(-VSS_E_OBJECT_NOT_FOUND, "no shadow copy %s in the catalog", guid);
	}
	old = vss_snapshot_ref(vss_snapshot_list_get(catalog, (size_t)at));
	/* The file beside the copy first: it is what a rescan rebuilds from,
	 * so it must never say less than the catalog.  A store that is gone
	 * took the copy with it: nothing to rebuild from, the record is still
	 * updated (a rescan drops it). */
	rc = vss__snapshot_write_props(snap);
	if (rc < 0 && !(rc == -ENOENT && snap->store && access(snap->store, F_OK) < 0))
		goto out;
	if (old != snap) {
		vss__snapshot_list_remove_at(catalog, (size_t)at);
		rc = vss__snapshot_list_append(catalog, snap);
		if (rc < 0) {
			vss__snapshot_list_append(catalog, old);
			goto undo;
		}
		vss__snapshot_list_sort(catalog);
	}
	rc = vss__catalog_save(ctx, catalog);
	if (rc == 0)
		goto out;
undo:
	if (old != snap) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", vss_error_last()->message);
		vss__snapshot_write_props(old);
		vss__error(rc, "%s", msg);
	}
out:
	vss_snapshot_unref(old);
	return rc;
}

int vss__catalog_update(const struct vss_context *ctx, struct vss_snapshot *snap)
{
	struct vss_snapshot_list *list = NULL;
	int rc, fd = -1;

	rc = vss__catalog_lock(ctx, LOCK_EX, &fd);
	if (rc < 0)
		goto out;
	rc = vss__catalog_load(ctx, &list);
	if (rc < 0)
		goto out;
	rc = vss__catalog_store_locked(ctx, list, snap);
out:
	vss__unlock(fd);
	vss_snapshot_list_unref(list);
	return rc;
}

/* ---- query ---------------------------------------------------------------- */

/* The name without trailing slashes ("/" stays "/"), malloc()ed. */
static char *strip_slashes(const char *name)
{
	char *s = strdup(name);
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	return s;
}

static bool query_match(const struct vss_query *q, const struct vss_volume *vol,
			const char *volume_path, const struct vss_snapshot *snap)
{
	if (q->snapshot_id && !vss_guid_equal(q->snapshot_id, &snap->id))
		return false;
	if (q->set_id && !vss_guid_equal(q->set_id, &snap->set_id))
		return false;
	if (vol && !vss_volume_is_same(vol, snap->original_uuid, snap->original_device,
				       snap->original_fsroot))
		return false;
	if (volume_path) {
		char *orig;
		bool same;

		if (!snap->original_volume)
			return false;
		orig = strip_slashes(snap->original_volume);
		same = orig ? strcmp(orig, volume_path) == 0
			    : strcmp(snap->original_volume, volume_path) == 0;
		free(orig);
		if (!same)
			return false;
	}
	return true;
}

VSS_EXPORT int vss_catalog_query(struct vss_context *ctx, const struct vss_query *q,
				 struct vss_snapshot_list **ret)
{
	static const struct vss_query all = { 0 };
	struct vss_snapshot_list *list = NULL, *out = NULL;
	struct vss_volume *vol = NULL;
	char *volume_path = NULL;
	char resolve_msg[1024] = "";
	int rc, fd = -1, resolve_rc = 0;

	if (!q)
		q = &all;
	if ((q->flags & VSS_QUERY_OLDEST) && (q->flags & VSS_QUERY_NEWEST)) {
		rc = vss__error(-EINVAL, "ask for the oldest or the newest shadow copy, not both");
		goto out;
	}
	if (q->volume) {
		rc = vss_volume_resolve(q->volume, &vol);
		if (rc == -VSS_E_OBJECT_NOT_FOUND) {
			/* The volume may be gone while its copies remain: match
			 * by the path it had.  Keep the error for when nothing
			 * matches, so a mistyped name is still reported. */
			resolve_rc = rc;
			snprintf(resolve_msg, sizeof(resolve_msg), "%s", vss_error_last()->message);
			volume_path = strip_slashes(q->volume);
			if (!volume_path) {
				rc = vss__error(-ENOMEM, "out of memory");
				goto out;
			}
		} else if (rc < 0) {
			goto out;
		}
	}
	rc = vss__catalog_lock(ctx, LOCK_SH, &fd);
	if (rc == -ENOENT || rc == -EACCES || rc == -EPERM || rc == -EROFS) {
		/* No state yet, or the lock file cannot be made by this user:
		 * catalog writes are atomic renames, so reading without the
		 * lock still gives a whole catalog. */
		fd = -1;
		rc = 0;
	}
	if (rc < 0)
		goto out;
	rc = vss__catalog_load(ctx, &list);
	vss__unlock(fd);
	if (rc < 0)
		goto out;
	out = vss__snapshot_list_new();
	if (!out) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	/* list is sorted oldest first, and so is what is kept of it. */
	for (size_t i = 0; i < vss_snapshot_list_count(list); i++) {
		struct vss_snapshot *snap = vss_snapshot_list_get(list, i);

		if (!query_match(q, vol, volume_path, snap))
			continue;
		rc = vss__snapshot_list_append(out, snap);
		if (rc < 0)
			goto out;
	}
	if (resolve_rc < 0 && vss_snapshot_list_count(out) == 0) {
		rc = vss__error(resolve_rc, "%s", resolve_msg);
		goto out;
	}
	if ((q->flags & VSS_QUERY_OLDEST) && vss_snapshot_list_count(out) > 1) {
		while (vss_snapshot_list_count(out) > 1)
			vss__snapshot_list_remove_at(out, vss_snapshot_list_count(out) - 1);
	}
	if ((q->flags & VSS_QUERY_NEWEST) && vss_snapshot_list_count(out) > 1) {
		while (vss_snapshot_list_count(out) > 1)
			vss__snapshot_list_remove_at(out, 0);
	}
	*ret = out;
	out = NULL;
out:
	vss_snapshot_list_unref(out);
	vss_snapshot_list_unref(list);
	vss_volume_unref(vol);
	free(volume_path);
	return rc;
}

/* ---- delete ---------------------------------------------------------------- */

static const char *volume_of(const struct vss_snapshot *snap)
{
	return snap->original_volume ? snap->original_volume : "?";
}

int vss__catalog_delete(struct vss_context *ctx, struct vss_snapshot_list *list,
			unsigned int flags, enum vss_notice what)
{
	struct vss_snapshot_list *catalog = NULL;
	struct vss_guid *drop = NULL;
	size_t n_drop = 0, n;
	char first_msg[1024] = "";
	int rc, first_rc = 0, fd = -1;

	rc = vss__require_root("deleting shadow copies");
	if (rc < 0)
		return rc;
	n = vss_snapshot_list_count(list);
	if (n == 0)
		return 0;
	drop = calloc(n, sizeof(*drop));
	if (!drop)
		return vss__error(-ENOMEM, "out of memory");
	/* Keep our own reference: the caller's list may be the catalog's. */
	list = vss_snapshot_list_ref(list);
	for (size_t i = 0; i < n; i++) {
		struct vss_snapshot *snap = vss_snapshot_list_get(list, i);
		const struct vss_provider *p = vss__provider_for_snapshot(snap);
		char guid[VSS_GUID_STRING_MAX];
		int r;

		vss_guid_format(&snap->id, VSS_GUID_BRACES, guid);
		/* An exposed copy is unexposed first (forced: lazily): deleting
		 * it under a mount would fail (btrfs) or leave a loop device on
		 * a deleted file (image).  A busy exposure keeps the copy. */
		r = 0;
		if (snap->exposed_name) {
			r = vss__unexpose_id(ctx, &snap->id,
					     (flags & VSS_DELETE_FORCE) ? VSS_UNEXPOSE_FORCE : 0);
			if (r == -VSS_E_OBJECT_NOT_FOUND)
				r = 0;
		}
		if (r < 0) {
			/* Not dropped even when forced: the copy stays exposed. */
			if (first_rc == 0) {
				first_rc = r;
				snprintf(first_msg, sizeof(first_msg),
					 "cannot delete shadow copy %s of '%s': %s", guid,
					 volume_of(snap), vss_error_last()->message);
			}
			vss__notice(ctx, what, snap, r, "%s", vss_error_last()->message);
			continue;
		}
		if (p) {
			r = p->remove(snap);
		} else {
			r = vss__error(-VSS_E_PROVIDER_NOT_REGISTERED,
				       "provider '%s' of shadow copy %s is not registered",
				       snap->provider_name ? snap->provider_name : "?", guid);
		}
		if (r == 0 || r == -ENOENT) {
			drop[n_drop++] = snap->id;
			if (r == 0)
				vss__notice(ctx, what, snap, 0, "%s shadow copy %s of '%s'",
					    what == VSS_NOTICE_RELEASED ? "released" :
					    what == VSS_NOTICE_ROLLED_BACK ? "rolled back" : "deleted",
					    guid, volume_of(snap));
			else
				vss__notice(ctx, what, snap, 0,
					    "shadow copy %s of '%s' was already gone; its record was dropped",
					    guid, volume_of(snap));
			continue;
		}
		if (first_rc == 0) {
			first_rc = r;
			snprintf(first_msg, sizeof(first_msg), "cannot delete shadow copy %s of '%s': %s",
				 guid, volume_of(snap), vss_error_last()->message);
		}
		if (flags & VSS_DELETE_FORCE)
			drop[n_drop++] = snap->id;
		vss__notice(ctx, what, snap, r, "cannot delete shadow copy %s of '%s': %s%s", guid,
			    volume_of(snap), vss_error_last()->message,
			    (flags & VSS_DELETE_FORCE) ? "; its record was dropped (forced)" : "");
	}
	if (n_drop > 0) {
		rc = vss__catalog_lock(ctx, LOCK_EX, &fd);
		if (rc == 0)
			rc = vss__catalog_load(ctx, &catalog);
		if (rc == 0) {
			for (size_t i = 0; i < n_drop; i++) {
				ssize_t at = vss__snapshot_list_find(catalog, &drop[i]);

				if (at >= 0)
					vss__snapshot_list_remove_at(catalog, (size_t)at);
			}
			rc = vss__catalog_save(ctx, catalog);
		}
		vss__unlock(fd);
		if (rc < 0 && first_rc == 0) {
			first_rc = rc;
			snprintf(first_msg, sizeof(first_msg), "%s", vss_error_last()->message);
		}
	}
	/* Notice callbacks are the caller's code and may have replaced the
	 * message: the first failure is what the caller must see. */
	rc = first_rc < 0 ? vss__error(first_rc, "%s", first_msg) : 0;
	vss_snapshot_list_unref(catalog);
	vss_snapshot_list_unref(list);
	free(drop);
	return rc;
}

VSS_EXPORT int vss_catalog_delete(struct vss_context *ctx, struct vss_snapshot_list *list,
				  unsigned int flags)
{
	return vss__catalog_delete(ctx, list, flags, VSS_NOTICE_DELETED);
}

/* ---- rescan ---------------------------------------------------------------- */

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.xml": the name of a properties file. */
static bool is_props_name(const char *name, struct vss_guid *ret)
{
	char bare[37];

	if (strlen(name) != 40 || strcmp(name + 36, ".xml") != 0)
		return false;
	/* Check the shape here so that other names are skipped without
	 * vss_guid_parse() replacing the last error message. */
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? name[i] != '-' : !isxdigit((unsigned char)name[i]))
			return false;
	}
	memcpy(bare, name, 36);
	bare[36] = '\0';
	return vss_guid_parse(bare, ret) == 0;
}

/* Properties files found in the stores, and the paths they were read from. */
struct found {
	struct vss_snapshot_list *list;
	struct strv paths;  /* paths.items[i] belongs to list item i */
};

static int scan_store(const struct vss_context *ctx, const char *dir, struct found *f)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (!d) {
		/* A store that is not there has nothing to find. */
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return vss__error(-errno, "cannot read store '%s': %s", dir, strerror(errno));
	}
	while ((de = readdir(d))) {
		struct vss_snapshot *snap = NULL;
		struct vss_guid named;
		char guid[VSS_GUID_STRING_MAX];
		char *path;
		int r;

		if (!is_props_name(de->d_name, &named))
			continue;
		path = path_join(dir, de->d_name);
		if (!path) {
			rc = vss__error(-ENOMEM, "out of memory");
			break;
		}
		r = vss__snapshot_read_props(path, &snap);
		if (r == 0 && !vss_guid_equal(&named, &snap->id))
			r = vss__error(-VSS_E_INVALID_XML_DOCUMENT,
				       "'%s' holds the properties of shadow copy %s, not of the one it is named after",
				       path, vss_guid_format(&snap->id, VSS_GUID_BRACES, guid));
		if (r < 0) {
			/* Kept: it may be the only record of a copy. */
			vss__notice(ctx, VSS_NOTICE_STALE, NULL, r,
				    "properties file '%s' is unreadable and was left alone: %s", path,
				    vss_error_last()->message);
		} else if (vss__snapshot_list_find(f->list, &snap->id) < 0) {
			r = vss__snapshot_list_append(f->list, snap);
			if (r == 0)
				r = strv_push(&f->paths, path);
			if (r < 0) {
				rc = vss__error(-ENOMEM, "out of memory");
				vss_snapshot_unref(snap);
				free(path);
				break;
			}
		}
		vss_snapshot_unref(snap);
		free(path);
	}
	closedir(d);
	return rc;
}

static int collect_stores(const struct vss_snapshot_list *catalog, struct strv *dirs)
{
	int rc;

	for (size_t i = 0; i < vss_provider_count(); i++) {
		const struct vss_provider *p = vss_provider_at(i);

		if (!p || !p->list_stores)
			continue;
		rc = p->list_stores(dirs);
		if (rc < 0) {
			vss__error_prefix("cannot list the stores of provider '%s'", p->name);
			return rc;
		}
	}
	for (size_t i = 0; i < vss_snapshot_list_count(catalog); i++) {
		const struct vss_snapshot *snap = vss_snapshot_list_get(catalog, i);

		if (snap->store && strv_push_unique(dirs, snap->store) < 0)
			return vss__error(-ENOMEM, "out of memory");
	}
	return 0;
}

/* The catalog as it is, or empty after setting a damaged one aside. */
static int rescan_load(const struct vss_context *ctx, struct vss_snapshot_list **ret)
{
	struct sbuf aside = SBUF_INIT;
	char *path = NULL;
	int rc;

	rc = vss__catalog_load(ctx, ret);
	if (rc != -VSS_E_CORRUPT_XML_DOCUMENT && rc != -VSS_E_INVALID_XML_DOCUMENT)
		return rc;
	path = state_path(ctx, VSS__CATALOG_FILE);
	if (!path || sbuf_addf(&aside, "%s.corrupt", path) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	if (rename(path, sbuf_str(&aside)) < 0) {
		rc = vss__error(-errno, "cannot move the damaged catalog '%s' aside: %s", path,
				strerror(errno));
		goto out;
	}
	vss__debug("damaged catalog moved to '%s'", sbuf_str(&aside));
	*ret = vss__snapshot_list_new();
	rc = *ret ? 0 : vss__error(-ENOMEM, "out of memory");
out:
	sbuf_release(&aside);
	free(path);
	return rc;
}

/*
 * A copy's first properties file is not fsynced (the catalog is the durable
 * record), so a crash soon after creation can lose it.  Write it again from
 * the catalog, so the store can rebuild a catalog lost later.
 */
static void restore_props(const struct vss_context *ctx, const struct vss_snapshot *snap)
{
	char *path = vss__snapshot_props_path(snap);
	char guid[VSS_GUID_STRING_MAX];
	int r;

	if (!path || access(path, F_OK) == 0 || errno != ENOENT) {
		free(path);
		return;
	}
	vss_guid_format(&snap->id, VSS_GUID_BRACES, guid);
	r = vss__snapshot_write_props(snap);
	vss__notice(ctx, VSS_NOTICE_RESTORED, snap, r,
		    r < 0 ? "cannot write the missing properties file '%s' of shadow copy %s: %s"
			  : "wrote the missing properties file '%s' of shadow copy %s%s",
		    path, guid, r < 0 ? vss_error_last()->message : "");
	free(path);
}

static int rescan_locked(struct vss_context *ctx)
{
	struct found f = { NULL, STRV_INIT };
	struct vss_snapshot_list *catalog = NULL;
	struct strv dirs = STRV_INIT;
	int rc;

	rc = rescan_load(ctx, &catalog);
	if (rc < 0)
		goto out;
	rc = collect_stores(catalog, &dirs);
	if (rc < 0)
		goto out;
	f.list = vss__snapshot_list_new();
	if (!f.list) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < dirs.count; i++) {
		rc = scan_store(ctx, dirs.items[i], &f);
		if (rc < 0)
			goto out;
	}
	/* Records whose copy is gone. */
	for (size_t i = vss_snapshot_list_count(catalog); i-- > 0;) {
		struct vss_snapshot *snap = vss_snapshot_ref(vss_snapshot_list_get(catalog, i));
		const struct vss_provider *p = vss__provider_for_snapshot(snap);
		char guid[VSS_GUID_STRING_MAX];

		/* Without its provider we cannot tell; keep the record. */
		if (p && p->exists(snap)) {
			restore_props(ctx, snap);
		} else if (p) {
			int r;

			vss__snapshot_list_remove_at(catalog, i);
			vss_guid_format(&snap->id, VSS_GUID_BRACES, guid);
			r = vss__snapshot_remove_props(snap);
			if (r < 0)
				vss__notice(ctx, VSS_NOTICE_MISSING, snap, 0,
					    "shadow copy %s of '%s' no longer exists; its record was dropped, but its properties file was not: %s",
					    guid, volume_of(snap), vss_error_last()->message);
			else
				vss__notice(ctx, VSS_NOTICE_MISSING, snap, 0,
					    "shadow copy %s of '%s' no longer exists; its record was dropped",
					    guid, volume_of(snap));
		}
		vss_snapshot_unref(snap);
	}
	/* Copies the catalog lacks, and properties files without a copy. */
	for (size_t i = 0; i < vss_snapshot_list_count(f.list); i++) {
		struct vss_snapshot *snap = vss_snapshot_list_get(f.list, i);
		const struct vss_provider *p = vss__provider_for_snapshot(snap);
		const char *path = f.paths.items[i];
		char guid[VSS_GUID_STRING_MAX];

		if (vss__snapshot_list_find(catalog, &snap->id) >= 0)
			continue;
		vss_guid_format(&snap->id, VSS_GUID_BRACES, guid);
		if (!p) {
			vss__notice(ctx, VSS_NOTICE_STALE, snap, -VSS_E_PROVIDER_NOT_REGISTERED,
				    "properties file '%s' of shadow copy %s was left alone: provider '%s' is not registered",
				    path, guid, snap->provider_name ? snap->provider_name : "?");
			continue;
		}
		if (p->exists(snap)) {
			rc = vss__snapshot_list_append(catalog, snap);
			if (rc < 0)
				goto out;
			vss__notice(ctx, VSS_NOTICE_FOUND, snap, 0,
				    "found shadow copy %s of '%s'; it was added to the catalog", guid,
				    volume_of(snap));
		} else if (unlink(path) < 0 && errno != ENOENT) {
			int r = -errno;

			vss__notice(ctx, VSS_NOTICE_STALE, snap, r,
				    "cannot remove properties file '%s' of vanished shadow copy %s: %s",
				    path, guid, strerror(-r));
		} else {
			vss__notice(ctx, VSS_NOTICE_STALE, snap, 0,
				    "removed properties file '%s': shadow copy %s no longer exists", path,
				    guid);
		}
	}
	vss__snapshot_list_sort(catalog);
	rc = vss__catalog_save(ctx, catalog);
out:
	strv_release(&dirs);
	strv_release(&f.paths);
	vss_snapshot_list_unref(f.list);
	vss_snapshot_list_unref(catalog);
	return rc;
}

VSS_EXPORT int vss_catalog_rescan(struct vss_context *ctx)
{
	char *create_lock = NULL;
	char recover_msg[1024] = "";
	int rc, recover_rc, create_fd = -1, catalog_fd = -1;

	rc = vss__require_root("rescanning shadow copies");
	if (rc < 0)
		return rc;
	rc = vss__mkdir_p(ctx->rundir, 0755);
	if (rc < 0)
		goto out;
	create_lock = path_join(ctx->rundir, VSS__CREATE_LOCK);
	if (!create_lock) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	/* Copies of a set being made have properties files but no record
	 * yet; a rescan now would take them for leftovers. */
	rc = vss__lock_take(create_lock, LOCK_EX, false, &create_fd);
	if (rc == -EWOULDBLOCK) {
		rc = vss__error(-VSS_E_SNAPSHOT_SET_IN_PROGRESS,
				"another shadow copy set is being created; try again when it is done");
		goto out;
	}
	if (rc < 0)
		goto out;
	/* Unfinished sets first, so their copies are not "found". A failure
	 * there must not stop the rebuild; it is reported at the end. */
	recover_rc = vss__pending_recover(ctx);
	if (recover_rc < 0)
		snprintf(recover_msg, sizeof(recover_msg), "%s", vss_error_last()->message);
	rc = vss__catalog_lock(ctx, LOCK_EX, &catalog_fd);
	if (rc < 0)
		goto out;
	rc = rescan_locked(ctx);
	if (rc == 0 && recover_rc < 0)
		rc = vss__error(recover_rc, "%s", recover_msg);
out:
	vss__unlock(catalog_fd);
	vss__unlock(create_fd);
	free(create_lock);
	return rc;
}
