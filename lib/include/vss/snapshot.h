/*
 * <vss/snapshot.h> — the properties of one shadow copy (VSS_SNAPSHOT_PROP),
 * the contexts and attribute bits of reference §3.3–3.4, and lists of copies.
 *
 * A struct vss_snapshot is a record: reading it never touches the disk.
 * Copies are obtained from the catalog (<vss/catalog.h>) or from a finished
 * session (<vss/session.h>).
 */
#ifndef VSS_SNAPSHOT_H
#define VSS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <vss/common.h>
#include <vss/guid.h>

/* VSS_SNAPSHOT_STATE; listed copies are always VSS_SS_CREATED. */
enum vss_snapshot_state {
	VSS_SS_UNKNOWN = 0,
	VSS_SS_PREPARING = 1,
	VSS_SS_PROCESSING_PREPARE = 2,
	VSS_SS_PREPARED = 3,
	VSS_SS_PROCESSING_PRECOMMIT = 4,
	VSS_SS_PRECOMMITTED = 5,
	VSS_SS_PROCESSING_COMMIT = 6,
	VSS_SS_COMMITTED = 7,
	VSS_SS_PROCESSING_POSTCOMMIT = 8,
	VSS_SS_PROCESSING_PREFINALCOMMIT = 9,
	VSS_SS_PREFINALCOMMITTED = 10,
	VSS_SS_PROCESSING_POSTFINALCOMMIT = 11,
	VSS_SS_CREATED = 12,
	VSS_SS_ABORTED = 13,
	VSS_SS_DELETED = 14,
	VSS_SS_POSTCOMMITTED = 15,
};

/* _VSS_VOLUME_SNAPSHOT_ATTRIBUTES */
enum vss_volsnap_attr {
	VSS_VOLSNAP_ATTR_PERSISTENT           = 0x00000001,
	VSS_VOLSNAP_ATTR_NO_AUTORECOVERY      = 0x00000002,
	VSS_VOLSNAP_ATTR_CLIENT_ACCESSIBLE    = 0x00000004,
	VSS_VOLSNAP_ATTR_NO_AUTO_RELEASE      = 0x00000008,
	VSS_VOLSNAP_ATTR_NO_WRITERS           = 0x00000010,
	VSS_VOLSNAP_ATTR_TRANSPORTABLE        = 0x00000020,
	VSS_VOLSNAP_ATTR_NOT_SURFACED         = 0x00000040,
	VSS_VOLSNAP_ATTR_NOT_TRANSACTED       = 0x00000080,
	VSS_VOLSNAP_ATTR_HARDWARE_ASSISTED    = 0x00010000,
	VSS_VOLSNAP_ATTR_DIFFERENTIAL         = 0x00020000,
	VSS_VOLSNAP_ATTR_PLEX                 = 0x00040000,
	VSS_VOLSNAP_ATTR_IMPORTED             = 0x00080000,
	VSS_VOLSNAP_ATTR_EXPOSED_LOCALLY      = 0x00100000,
	VSS_VOLSNAP_ATTR_EXPOSED_REMOTELY     = 0x00200000,
	VSS_VOLSNAP_ATTR_AUTORECOVER          = 0x00400000,
	VSS_VOLSNAP_ATTR_ROLLBACK_RECOVERY    = 0x00800000,
	VSS_VOLSNAP_ATTR_DELAYED_POSTSNAPSHOT = 0x01000000,
	VSS_VOLSNAP_ATTR_TXF_RECOVERY         = 0x02000000,
	VSS_VOLSNAP_ATTR_FILE_SHARE           = 0x04000000,
};

/* _VSS_SNAPSHOT_CONTEXT: a context is a set of attribute bits. */
enum vss_snapshot_context {
	VSS_CTX_BACKUP                    = 0x00,
	VSS_CTX_FILE_SHARE_BACKUP         = 0x10,
	VSS_CTX_NAS_ROLLBACK              = 0x19,
	VSS_CTX_APP_ROLLBACK              = 0x09,
	VSS_CTX_CLIENT_ACCESSIBLE         = 0x1d,
	VSS_CTX_CLIENT_ACCESSIBLE_WRITERS = 0x0d,
	VSS_CTX_ALL                       = (int)0xffffffff,
};

struct vss_snapshot;
struct vss_snapshot_list;

VSS_EXPORT struct vss_snapshot *vss_snapshot_ref(struct vss_snapshot *snap);
VSS_EXPORT struct vss_snapshot *vss_snapshot_unref(struct vss_snapshot *snap);

VSS_EXPORT const struct vss_guid *vss_snapshot_get_id(const struct vss_snapshot *snap);
VSS_EXPORT const struct vss_guid *vss_snapshot_get_set_id(const struct vss_snapshot *snap);
/* Number of copies in the set when it was created. */
VSS_EXPORT unsigned int vss_snapshot_get_count(const struct vss_snapshot *snap);
/* The original volume: its path (mount point or subvolume root) at creation. */
VSS_EXPORT const char *vss_snapshot_get_original_volume(const struct vss_snapshot *snap);
VSS_EXPORT const char *vss_snapshot_get_original_device(const struct vss_snapshot *snap);
VSS_EXPORT const char *vss_snapshot_get_original_uuid(const struct vss_snapshot *snap);
VSS_EXPORT const char *vss_snapshot_get_original_fsroot(const struct vss_snapshot *snap);
VSS_EXPORT const char *vss_snapshot_get_original_fstype(const struct vss_snapshot *snap);
/* Where the copy lives: a read-only subvolume directory, an image file... */
VSS_EXPORT const char *vss_snapshot_get_device(const struct vss_snapshot *snap);
VSS_EXPORT const char *vss_snapshot_get_originating_machine(const struct vss_snapshot *snap);
VSS_EXPORT const char *vss_snapshot_get_service_machine(const struct vss_snapshot *snap);
/* Where the copy is exposed, or NULL. */
VSS_EXPORT const char *vss_snapshot_get_exposed_name(const struct vss_snapshot *snap);
VSS_EXPORT const char *vss_snapshot_get_exposed_path(const struct vss_snapshot *snap);
VSS_EXPORT const struct vss_guid *vss_snapshot_get_provider_id(const struct vss_snapshot *snap);
/* Short provider name: "btrfs", "image". */
VSS_EXPORT const char *vss_snapshot_get_provider_name(const struct vss_snapshot *snap);
VSS_EXPORT uint32_t vss_snapshot_get_attributes(const struct vss_snapshot *snap);
VSS_EXPORT int32_t vss_snapshot_get_context(const struct vss_snapshot *snap);
/* Creation time, nanoseconds since the Unix epoch (UTC). */
VSS_EXPORT int64_t vss_snapshot_get_creation_time(const struct vss_snapshot *snap);
VSS_EXPORT enum vss_snapshot_state vss_snapshot_get_state(const struct vss_snapshot *snap);
/*
 * How long the volume's writes were held for this copy, in nanoseconds: the
 * FIFREEZE..FITHAW time where the freeze guard froze it, the engine's own
 * commit time where the engine holds writes itself (btrfs).
 */
VSS_EXPORT uint64_t vss_snapshot_get_hold_ns(const struct vss_snapshot *snap);
/* Auto-release copies: the process whose end releases them, else 0. */
VSS_EXPORT pid_t vss_snapshot_get_owner_pid(const struct vss_snapshot *snap);

/* "VSS_SS_CREATED" -> "Created"; NULL for an unknown value. */
VSS_EXPORT const char *vss_snapshot_state_name(enum vss_snapshot_state state);
/* vssadmin's Type: words: "ApplicationRollback", "Backup", ...; NULL if none. */
VSS_EXPORT const char *vss_snapshot_context_name(int32_t context);
/*
 * A context from a word: diskshadow's "persistent" (ApplicationRollback),
 * "volatile" (Backup), "clientaccessible" (ClientAccessible), or one of the
 * names above; case, "-" and "_" do not matter.  -EINVAL if unknown.  OR
 * VSS_VOLSNAP_ATTR_NO_WRITERS for diskshadow's "nowriters".
 */
VSS_EXPORT int vss_snapshot_context_parse(const char *word, int32_t *ret);
/* vssadmin's Attributes: list, "Persistent, No auto release, Differential". */
VSS_EXPORT int vss_snapshot_attributes_format(uint32_t attributes, char **ret);

/* The properties as an XML document (the format of the file kept beside
 * each copy, see vss-catalog(5)), and back. */
VSS_EXPORT int vss_snapshot_to_xml(const struct vss_snapshot *snap, char **ret);
VSS_EXPORT int vss_snapshot_from_xml(const char *xml, size_t len, const char *filename,
				     struct vss_snapshot **ret);

/* Lists hold references to their copies; vss_snapshot_list_get() borrows. */
VSS_EXPORT size_t vss_snapshot_list_count(const struct vss_snapshot_list *list);
VSS_EXPORT struct vss_snapshot *vss_snapshot_list_get(const struct vss_snapshot_list *list,
						       size_t i);
VSS_EXPORT struct vss_snapshot_list *vss_snapshot_list_ref(struct vss_snapshot_list *list);
VSS_EXPORT struct vss_snapshot_list *vss_snapshot_list_unref(struct vss_snapshot_list *list);

#endif
