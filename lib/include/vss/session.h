/*
 * <vss/session.h> — the requester: making one shadow copy set.
 *
 *     vss_session_new(ctx, &s);
 *     vss_session_set_context(s, VSS_CTX_APP_ROLLBACK);     optional
 *     vss_session_start_set(s, 0, &set_id);                 takes the machine-wide lock
 *     vss_session_add_volume(s, "/srv/data", NULL, &id);    per volume
 *     vss_session_do_snapshot_set(s);                       all or nothing
 *     vss_session_get_snapshots(s, &list);
 *     vss_session_unref(s);
 *
 * In a context with writers (every context without VSS_VOLSNAP_ATTR_NO_WRITERS)
 * do_snapshot_set runs the backup sequence of reference §4.1 around it:
 * Identify (unless vss_session_gather_writers() did), PrepareForBackup,
 * PrepareForSnapshot, Freeze, the commit, Thaw, PostSnapshot, each sent to
 * the writers that take part all at once with a timeout per writer.  A
 * failure after PrepareForBackup sends Abort.  vss_session_backup_complete()
 * sends BackupComplete; the last unref sends BackupShutdown.  Which writers
 * take part and how a failure is handled: vss-writers(5).
 *
 * do_snapshot_set prepares every volume with its provider, then inside one
 * bounded flush-and-hold window freezes the volumes whose engine does not hold
 * writes itself (a guard process thaws them even if this process is killed),
 * commits every copy, thaws, and records the set in the catalog in one
 * atomic step.  On any failure every copy already made is deleted and nothing
 * is recorded.  A set interrupted by the death of its process is rolled back
 * by the next vss_context_recover().
 */
#ifndef VSS_SESSION_H
#define VSS_SESSION_H

#include <sys/types.h>
#include <vss/common.h>
#include <vss/guid.h>

struct vss_context;
struct vss_session;
struct vss_snapshot_list;
struct vss_bcd;
struct vss_volume;
struct vss_writer_info_list;

enum vss_start_flags {
	/* Wait for another set being created to finish, instead of failing
	 * with -VSS_E_SNAPSHOT_SET_IN_PROGRESS at once. */
	VSS_START_WAIT = 1 << 0,
};

enum vss_writer_flags {
	/* A failing writer is left out (it gets Abort) and the set is made
	 * anyway: its data in the copies is crash-consistent only.  Each is
	 * reported through the notice callback (VSS_NOTICE_WRITER_FAILED). */
	VSS_WRITERS_IGNORE_FAILURES = 1 << 0,
};

/* Most volumes in one set, as in VSS. */
#define VSS_MAX_VOLUMES_PER_SET 64

VSS_EXPORT int vss_session_new(struct vss_context *ctx, struct vss_session **ret);
VSS_EXPORT struct vss_session *vss_session_ref(struct vss_session *s);
/* Dropping the last reference to a session whose set was started but not
 * made releases the lock; nothing was made, so nothing is left. */
VSS_EXPORT struct vss_session *vss_session_unref(struct vss_session *s);

/*
 * The context of the copies (default VSS_CTX_APP_ROLLBACK: persistent, no
 * auto release).  VSS_CTX_BACKUP and VSS_CTX_FILE_SHARE_BACKUP make
 * auto-release copies.  Before start_set; VSS_CTX_ALL gives
 * -VSS_E_UNSUPPORTED_CONTEXT.
 */
VSS_EXPORT int vss_session_set_context(struct vss_session *s, int32_t context);

/*
 * The process whose end releases auto-release copies (default: the calling
 * process).  It must exist.
 */
VSS_EXPORT int vss_session_set_owner(struct vss_session *s, pid_t pid);

/*
 * Take the machine-wide creation lock and name a new set.  Needs root.
 * -VSS_E_SNAPSHOT_SET_IN_PROGRESS when another set is being created (unless
 * VSS_START_WAIT); -VSS_E_BAD_STATE when called twice.
 */
VSS_EXPORT int vss_session_start_set(struct vss_session *s, unsigned int flags,
				     struct vss_guid *ret_set_id);

/*
 * Add a volume, by any name vss_volume_resolve() takes.  provider is a name
 * or ID, or NULL to pick the first that supports the volume.  Errors leave
 * the set as it was: -VSS_E_OBJECT_NOT_FOUND (no such volume),
 * -VSS_E_VOLUME_NOT_SUPPORTED (no provider can), -VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER,
 * -VSS_E_PROVIDER_NOT_REGISTERED, -VSS_E_OBJECT_ALREADY_EXISTS (volume
 * already in the set), -VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED.
 */
VSS_EXPORT int vss_session_add_volume(struct vss_session *s, const char *volume,
				      const char *provider, struct vss_guid *ret_snapshot_id);

/*
 * The same for a volume already resolved with vss_volume_resolve() (the
 * session takes its own reference), so a caller that checks its volumes
 * first does not resolve them twice.
 */
VSS_EXPORT int vss_session_add_resolved_volume(struct vss_session *s, struct vss_volume *vol,
					       const char *provider,
					       struct vss_guid *ret_snapshot_id);

/*
 * Writers.  flags: enum vss_writer_flags.  exclude_writer names a writer by
 * name (case-insensitive), class ID or instance ID; it must exist when the
 * writers are gathered (-VSS_E_OBJECT_NOT_FOUND).  The backup type (default
 * VSS_BT_COPY; VSS_BT_FULL for a backup that ends with BackupComplete) is
 * what writers are told.  All before the writers are gathered.
 */
VSS_EXPORT int vss_session_set_writer_flags(struct vss_session *s, unsigned int flags);
VSS_EXPORT int vss_session_exclude_writer(struct vss_session *s, const char *writer);
VSS_EXPORT int vss_session_set_backup_type(struct vss_session *s, int backup_type);
/* Identify: ask every writer of the machine for its metadata.  Optional;
 * do_snapshot_set does it when needed.  -VSS_E_UNSUPPORTED_CONTEXT in a
 * context without writers. */
VSS_EXPORT int vss_session_gather_writers(struct vss_session *s);
/*
 * The writers of the session with their states: after gathering, every
 * writer found; after do_snapshot_set, those that took part.  *ret to
 * vss_writer_info_list_unref().
 */
VSS_EXPORT int vss_session_get_writers(struct vss_session *s, struct vss_writer_info_list **ret);
/*
 * The backup ended well: BackupComplete to the writers that took part (the
 * BCD becomes read-only).  After a successful do_snapshot_set, once.
 */
VSS_EXPORT int vss_session_backup_complete(struct vss_session *s);

/* Make the set (see above).  -VSS_E_BAD_STATE with no volume or no set. */
VSS_EXPORT int vss_session_do_snapshot_set(struct vss_session *s);

/* The copies of a made set, in the order the volumes were added. */
VSS_EXPORT int vss_session_get_snapshots(struct vss_session *s, struct vss_snapshot_list **ret);

/*
 * The Backup Components Document of the set (a new reference): its set ID,
 * backup state and the IDs of its copies, and, once writers take part, the
 * components they added.  Without writers the backup type is a copy backup
 * (VSS_BT_COPY), as diskshadow makes outside begin/end backup.  Only after
 * vss_session_do_snapshot_set() succeeded (-VSS_E_BAD_STATE before).
 */
VSS_EXPORT int vss_session_get_bcd(struct vss_session *s, struct vss_bcd **ret);

#endif
