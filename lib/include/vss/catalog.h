/*
 * <vss/catalog.h> — the index of shadow copies: query, delete, rescan.
 *
 * The catalog lives in $VSS_STATEDIR/catalog.xml (see vss-catalog(5)).
 * Reads take a shared lock, changes an exclusive one; every change is written
 * to a temporary file, fsynced and renamed over the old one.  Each copy also
 * keeps its properties beside it on its provider, so a lost or corrupt
 * catalog is rebuilt by vss_catalog_rescan().
 */
#ifndef VSS_CATALOG_H
#define VSS_CATALOG_H

#include <stdbool.h>
#include <vss/common.h>
#include <vss/guid.h>

struct vss_context;
struct vss_snapshot_list;

enum vss_query_flags {
	VSS_QUERY_OLDEST = 1 << 0,  /* only the oldest match (per the filters) */
	VSS_QUERY_NEWEST = 1 << 1,  /* only the newest match */
};

/* A filter; every field left NULL/0 matches everything. */
struct vss_query {
	const struct vss_guid *snapshot_id;
	const struct vss_guid *set_id;
	/*
	 * A volume name as for vss_volume_resolve().  When it resolves, copies
	 * of that volume match (vss_volume_is_same()); when it does not (the
	 * volume is gone), copies whose original volume path equals it match.
	 */
	const char *volume;
	unsigned int flags;  /* enum vss_query_flags */
};

/*
 * The copies matching q (NULL: all), oldest first.  An empty result is not
 * an error: the list is empty.  A missing catalog is an empty catalog; a
 * corrupt one gives -VSS_E_CORRUPT_XML_DOCUMENT with file and line in
 * vss_error_last() (rebuild it with vss_catalog_rescan()).
 */
VSS_EXPORT int vss_catalog_query(struct vss_context *ctx, const struct vss_query *q,
				 struct vss_snapshot_list **ret);

enum vss_delete_flags {
	/*
	 * Drop the record even when the provider cannot delete the copy (the
	 * volume is gone, the engine refuses); the failure is still reported.
	 */
	VSS_DELETE_FORCE = 1 << 0,
};

/*
 * Delete every copy in list, each reported through the context's notice
 * callback (VSS_NOTICE_DELETED).  It goes on past failures; the catalog is
 * updated once, at the end.  Returns 0 when all were deleted, else the
 * first error.  A copy already gone counts as deleted.  Needs root.
 */
VSS_EXPORT int vss_catalog_delete(struct vss_context *ctx, struct vss_snapshot_list *list,
				  unsigned int flags);

/*
 * Rebuild the catalog from what the providers hold: copies found on disk
 * that the catalog lacks are added (VSS_NOTICE_FOUND), records whose copy is
 * gone are dropped (VSS_NOTICE_MISSING), property files without a copy are
 * removed (VSS_NOTICE_STALE).  A corrupt catalog is set aside as
 * catalog.xml.corrupt and rebuilt.  Needs root; fails with
 * -VSS_E_SNAPSHOT_SET_IN_PROGRESS while a set is being created.
 */
VSS_EXPORT int vss_catalog_rescan(struct vss_context *ctx);

#endif
