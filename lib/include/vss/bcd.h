/*
 * <vss/bcd.h> — the Backup Components Document (reference §3.10–3.14, §5.3).
 *
 * The requester's record of one backup: the backup state, the shadow copy
 * set, and per writer instance the components it added explicitly, with
 * everything writers and requester exchange about each (backup stamps,
 * private metadata, partial and differenced files, restore options and
 * targets, ...).  It is saved with the backup and loaded again to restore.
 *
 * Text form (vss-metadata(5)): the Windows document,
 *
 *   <BACKUP_COMPONENTS xmlns="x-schema:#VssComponentMetadata" version="1.2"
 *       bootableSystemStateBackup="yes" selectComponents="yes" backupType="full"
 *       partialFileSupport="no" snapshotSetId="...">
 *     <WRITER_COMPONENTS instanceId="..." writerId="..." backupSchema="0">
 *       <COMPONENT logicalPath="..." componentName="..." componentType="filegroup"/>
 *
 * plus, where Windows' names are not public, names of ours in the same
 * style: restoreType and backupComplete on the root, SNAPSHOT snapshotId for
 * the shadow copy IDs, the per-component attributes named after the API
 * (backupSucceeded, restoreTarget, ...) and the children RESTORE_METADATA,
 * ALTERNATE_LOCATION_MAPPING, NEW_TARGET, DIRECTED_TARGET, PARTIAL_FILE,
 * DIFFERENCED_FILE, RESTORE_SUBCOMPONENT.  Documents written by Windows load
 * (GUIDs in either case, children in any order, a repeated xmlns); ours are
 * written canonically: fixed order, lower-case GUIDs, so saving a loaded
 * document gives the same bytes as the save it came from.
 *
 * Objects: struct vss_bcd is reference counted; writers and components are
 * borrowed from it (valid while it lives); strings and list entries are
 * borrowed from their component — a string until it is set again, a list
 * entry from _at() until the next add to that list.  Setters copy their
 * strings; a NULL string clears an optional field.
 *
 * Life cycle (reference §5.4).  A new or loaded document is editable.
 * vss_bcd_set_backup_complete() makes it read-only: from then on every
 * setter and adder returns -VSS_E_BAD_STATE ("the backup components document
 * is read-only after BackupComplete") — with one exception.  After
 * vss_bcd_begin_restore() the *restore-time* fields may be set again, as in
 * VSS where the requester and the writers fill them in during PreRestore …
 * PostRestore of a saved document:
 *
 *   document:  restore type
 *   component: selected for restore, additional restores, restore options,
 *              restore target, restore metadata, pre/post-restore failure
 *              messages, file restore status, and the lists of new targets,
 *              alternate location mappings, directed targets and restore
 *              subcomponents
 *
 * Everything else (backup state, shadow copy IDs, writers, components,
 * backup stamps, backup options, backup succeeded, backup metadata, partial
 * and differenced files) stays read-only.  The read-only state is saved
 * (backupComplete="yes") so a loaded document keeps it; the restore state is
 * not saved: a restore calls vss_bcd_begin_restore() on what it loaded.
 */
#ifndef VSS_BCD_H
#define VSS_BCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vss/common.h>
#include <vss/guid.h>
#include <vss/wmd.h>  /* enum vss_component_type */

/* VSS_BACKUP_TYPE; XML backupType="full" etc. (lower case). */
enum vss_backup_type {
	VSS_BT_UNDEFINED = 0,
	VSS_BT_FULL = 1,
	VSS_BT_INCREMENTAL = 2,
	VSS_BT_DIFFERENTIAL = 3,
	VSS_BT_LOG = 4,
	VSS_BT_COPY = 5,
	VSS_BT_OTHER = 6,
};

/* VSS_RESTORE_TYPE; XML restoreType="undefined|byCopy|import|other".
 * UNDEFINED is treated as BY_COPY. */
enum vss_restore_type {
	VSS_RTYPE_UNDEFINED = 0,
	VSS_RTYPE_BY_COPY = 1,
	VSS_RTYPE_IMPORT = 2,
	VSS_RTYPE_OTHER = 3,
};

/* VSS_RESTORE_TARGET, set by writers; XML restoreTarget="undefined|original|
 * alternate|directed|originalLocation".  A component's default is ORIGINAL. */
enum vss_restore_target {
	VSS_RT_UNDEFINED = 0,
	VSS_RT_ORIGINAL = 1,
	VSS_RT_ALTERNATE = 2,
	VSS_RT_DIRECTED = 3,
	VSS_RT_ORIGINAL_LOCATION = 4,
};

/* VSS_FILE_RESTORE_STATUS, set by the requester after restoring a
 * component; XML fileRestoreStatus="undefined|none|all|failed". */
enum vss_file_restore_status {
	VSS_RS_UNDEFINED = 0,
	VSS_RS_NONE = 1,
	VSS_RS_ALL = 2,
	VSS_RS_FAILED = 3,
};

/*
 * The XML words of the enumerations ("full", "byCopy", "originalLocation",
 * "failed"), NULL for a value that has none; and back, 0 or -EINVAL (with a
 * message listing the words).
 */
VSS_EXPORT const char *vss_backup_type_name(enum vss_backup_type type);
VSS_EXPORT int vss_backup_type_parse(const char *word, enum vss_backup_type *ret);
VSS_EXPORT const char *vss_restore_type_name(enum vss_restore_type type);
VSS_EXPORT int vss_restore_type_parse(const char *word, enum vss_restore_type *ret);
VSS_EXPORT const char *vss_restore_target_name(enum vss_restore_target target);
VSS_EXPORT int vss_restore_target_parse(const char *word, enum vss_restore_target *ret);
VSS_EXPORT const char *vss_file_restore_status_name(enum vss_file_restore_status status);
VSS_EXPORT int vss_file_restore_status_parse(const char *word,
					     enum vss_file_restore_status *ret);

struct vss_bcd;
struct vss_bcd_writer;
struct vss_bcd_component;

/* List entries of a component, borrowed from it.  Optional strings are
 * NULL when absent. */
struct vss_bcd_partial_file {           /* AddPartialFile; PARTIAL_FILE */
	const char *path;
	const char *filename;
	const char *ranges;             /* "offset:length,..." or a ranges file path */
	const char *metadata;           /* optional */
};

struct vss_bcd_differenced_file {       /* AddDifferencedFilesByLastModifyTime; DIFFERENCED_FILE */
	const char *path;
	const char *filespec;
	bool recursive;
	/* Nanoseconds since the Unix epoch; 0: the requester decides. */
	uint64_t last_modify_time;
};

struct vss_bcd_new_target {             /* AddNewTarget; NEW_TARGET */
	const char *path;
	const char *filename;
	bool recursive;
	const char *alternate_path;
};

struct vss_bcd_alternate_location_mapping {  /* AddAlternativeLocationMapping */
	const char *path;
	const char *filespec;
	bool recursive;
	const char *destination;
};

struct vss_bcd_directed_target {        /* AddDirectedTarget; DIRECTED_TARGET */
	const char *source_path;
	const char *source_filename;
	const char *source_range_list;       /* optional */
	const char *destination_path;
	const char *destination_filename;
	const char *destination_range_list;  /* optional */
};

struct vss_bcd_restore_subcomponent {   /* AddRestoreSubcomponent; RESTORE_SUBCOMPONENT */
	const char *logical_path;       /* NULL for the root */
	const char *component_name;
	bool repair;
};

/* ---- the document ------------------------------------------------------- */

/*
 * A new, empty document for the shadow copy set set_id (backup type
 * UNDEFINED, no components).  NULL only when out of memory.
 */
VSS_EXPORT struct vss_bcd *vss_bcd_new(const struct vss_guid *set_id);
VSS_EXPORT struct vss_bcd *vss_bcd_ref(struct vss_bcd *bcd);
VSS_EXPORT struct vss_bcd *vss_bcd_unref(struct vss_bcd *bcd);

/*
 * Read a document; filename is only used in messages (may be NULL).
 * -VSS_E_CORRUPT_XML_DOCUMENT when it is not XML, -VSS_E_INVALID_XML_DOCUMENT
 * when it is not a valid Backup Components Document (wrong root, unknown
 * element or attribute, bad GUID, enum word, boolean or number, duplicate
 * writer instance or component, a DOCTYPE); vss_error_last() has the file,
 * the line and the element or attribute.  Documents over 256 MiB are
 * refused.
 */
VSS_EXPORT int vss_bcd_load(const char *xml, size_t len, const char *filename,
			    struct vss_bcd **ret);
VSS_EXPORT int vss_bcd_load_file(const char *path, struct vss_bcd **ret);

/* The document as text (malloc()ed, NUL-terminated; ret_len may be NULL). */
VSS_EXPORT int vss_bcd_save(const struct vss_bcd *bcd, char **ret, size_t *ret_len);
/* Written atomically and durably (mode 0600: metadata may be private). */
VSS_EXPORT int vss_bcd_save_file(const struct vss_bcd *bcd, const char *path);

VSS_EXPORT const struct vss_guid *vss_bcd_get_snapshot_set_id(const struct vss_bcd *bcd);

/* SetBackupState.  -EINVAL for a type not in enum vss_backup_type. */
VSS_EXPORT int vss_bcd_set_backup_state(struct vss_bcd *bcd, bool select_components,
					bool bootable_system_state, enum vss_backup_type type,
					bool partial_file_support);
VSS_EXPORT bool vss_bcd_get_select_components(const struct vss_bcd *bcd);
VSS_EXPORT bool vss_bcd_get_bootable_system_state(const struct vss_bcd *bcd);
VSS_EXPORT enum vss_backup_type vss_bcd_get_backup_type(const struct vss_bcd *bcd);
VSS_EXPORT bool vss_bcd_get_partial_file_support(const struct vss_bcd *bcd);

/* SetRestoreState (restore-time). */
VSS_EXPORT int vss_bcd_set_restore_type(struct vss_bcd *bcd, enum vss_restore_type type);
VSS_EXPORT enum vss_restore_type vss_bcd_get_restore_type(const struct vss_bcd *bcd);

/* The shadow copies of the set.  Adding one twice: -VSS_E_OBJECT_ALREADY_EXISTS. */
VSS_EXPORT int vss_bcd_add_snapshot_id(struct vss_bcd *bcd, const struct vss_guid *id);
VSS_EXPORT size_t vss_bcd_snapshot_id_count(const struct vss_bcd *bcd);
VSS_EXPORT const struct vss_guid *vss_bcd_snapshot_id_at(const struct vss_bcd *bcd, size_t i);

/* Life cycle, see the top of this header.  Both are idempotent. */
VSS_EXPORT int vss_bcd_set_backup_complete(struct vss_bcd *bcd);
VSS_EXPORT bool vss_bcd_is_backup_complete(const struct vss_bcd *bcd);
VSS_EXPORT int vss_bcd_begin_restore(struct vss_bcd *bcd);
VSS_EXPORT bool vss_bcd_is_restoring(const struct vss_bcd *bcd);

/* ---- writers ------------------------------------------------------------- */

/*
 * A writer instance taking part (WRITER_COMPONENTS).  instance_name may be
 * NULL; backup_schema is its VSS_BACKUP_SCHEMA mask.  A second writer with
 * the same instance ID: -VSS_E_OBJECT_ALREADY_EXISTS.  ret_writer (may be
 * NULL) is borrowed from bcd.
 */
VSS_EXPORT int vss_bcd_add_writer(struct vss_bcd *bcd, const struct vss_guid *instance_id,
				  const struct vss_guid *writer_id, const char *instance_name,
				  uint32_t backup_schema, struct vss_bcd_writer **ret_writer);
/* NULL when there is none. */
VSS_EXPORT struct vss_bcd_writer *vss_bcd_find_writer(const struct vss_bcd *bcd,
						      const struct vss_guid *instance_id);
VSS_EXPORT size_t vss_bcd_writer_count(const struct vss_bcd *bcd);
/* NULL when i is out of range. */
VSS_EXPORT struct vss_bcd_writer *vss_bcd_writer_at(const struct vss_bcd *bcd, size_t i);

VSS_EXPORT const struct vss_guid *vss_bcd_writer_get_instance_id(const struct vss_bcd_writer *w);
VSS_EXPORT const struct vss_guid *vss_bcd_writer_get_writer_id(const struct vss_bcd_writer *w);
VSS_EXPORT const char *vss_bcd_writer_get_instance_name(const struct vss_bcd_writer *w);
VSS_EXPORT uint32_t vss_bcd_writer_get_backup_schema(const struct vss_bcd_writer *w);

/*
 * An explicitly selected component.  type is DATABASE or FILEGROUP (else
 * -EINVAL); logical_path NULL or "" is the root; name is required.  The
 * same (logical path, name) twice in one writer:
 * -VSS_E_OBJECT_ALREADY_EXISTS.  ret_component may be NULL.
 */
VSS_EXPORT int vss_bcd_writer_add_component(struct vss_bcd_writer *w, enum vss_component_type type,
					    const char *logical_path, const char *name,
					    struct vss_bcd_component **ret_component);
VSS_EXPORT struct vss_bcd_component *vss_bcd_writer_find_component(const struct vss_bcd_writer *w,
								   const char *logical_path,
								   const char *name);
VSS_EXPORT size_t vss_bcd_writer_component_count(const struct vss_bcd_writer *w);
VSS_EXPORT struct vss_bcd_component *vss_bcd_writer_component_at(const struct vss_bcd_writer *w,
								 size_t i);

/* ---- components ---------------------------------------------------------- */

VSS_EXPORT enum vss_component_type vss_bcd_component_get_type(const struct vss_bcd_component *c);
/* NULL for the root. */
VSS_EXPORT const char *vss_bcd_component_get_logical_path(const struct vss_bcd_component *c);
VSS_EXPORT const char *vss_bcd_component_get_name(const struct vss_bcd_component *c);

/*
 * Optional strings (NULL when unset; setting NULL clears).  Backup time:
 * caption (componentCaption, as ASR documents carry), backup stamp,
 * previous backup stamp, backup options, backup metadata.  Restore time:
 * restore options, restore metadata, pre- and post-restore failure messages.
 */
VSS_EXPORT int vss_bcd_component_set_caption(struct vss_bcd_component *c, const char *caption);
VSS_EXPORT const char *vss_bcd_component_get_caption(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_backup_stamp(struct vss_bcd_component *c, const char *stamp);
VSS_EXPORT const char *vss_bcd_component_get_backup_stamp(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_previous_backup_stamp(struct vss_bcd_component *c,
							   const char *stamp);
VSS_EXPORT const char *vss_bcd_component_get_previous_backup_stamp(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_backup_options(struct vss_bcd_component *c,
						    const char *options);
VSS_EXPORT const char *vss_bcd_component_get_backup_options(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_backup_metadata(struct vss_bcd_component *c,
						     const char *metadata);
VSS_EXPORT const char *vss_bcd_component_get_backup_metadata(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_restore_options(struct vss_bcd_component *c,
						     const char *options);
VSS_EXPORT const char *vss_bcd_component_get_restore_options(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_restore_metadata(struct vss_bcd_component *c,
						      const char *metadata);
VSS_EXPORT const char *vss_bcd_component_get_restore_metadata(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_pre_restore_failure_msg(struct vss_bcd_component *c,
							     const char *msg);
VSS_EXPORT const char *vss_bcd_component_get_pre_restore_failure_msg(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_post_restore_failure_msg(struct vss_bcd_component *c,
							      const char *msg);
VSS_EXPORT const char *vss_bcd_component_get_post_restore_failure_msg(const struct vss_bcd_component *c);

/* Flags, false by default.  Backup succeeded is backup time; the other two
 * are restore time. */
VSS_EXPORT int vss_bcd_component_set_backup_succeeded(struct vss_bcd_component *c, bool value);
VSS_EXPORT bool vss_bcd_component_get_backup_succeeded(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_selected_for_restore(struct vss_bcd_component *c, bool value);
VSS_EXPORT bool vss_bcd_component_get_selected_for_restore(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_additional_restores(struct vss_bcd_component *c, bool value);
VSS_EXPORT bool vss_bcd_component_get_additional_restores(const struct vss_bcd_component *c);

/* Restore time; -EINVAL for a value not in the enumeration. */
VSS_EXPORT int vss_bcd_component_set_restore_target(struct vss_bcd_component *c,
						    enum vss_restore_target target);
VSS_EXPORT enum vss_restore_target vss_bcd_component_get_restore_target(const struct vss_bcd_component *c);
VSS_EXPORT int vss_bcd_component_set_file_restore_status(struct vss_bcd_component *c,
							 enum vss_file_restore_status status);
VSS_EXPORT enum vss_file_restore_status
vss_bcd_component_get_file_restore_status(const struct vss_bcd_component *c);

/*
 * Lists.  Adders copy the strings; required ones NULL gives -EINVAL.  _at()
 * returns NULL when i is out of range.  Partial and differenced files are
 * backup time, the others restore time.
 */
VSS_EXPORT int vss_bcd_component_add_partial_file(struct vss_bcd_component *c, const char *path,
						  const char *filename, const char *ranges,
						  const char *metadata);
VSS_EXPORT size_t vss_bcd_component_partial_file_count(const struct vss_bcd_component *c);
VSS_EXPORT const struct vss_bcd_partial_file *
vss_bcd_component_partial_file_at(const struct vss_bcd_component *c, size_t i);

VSS_EXPORT int vss_bcd_component_add_differenced_file(struct vss_bcd_component *c, const char *path,
						      const char *filespec, bool recursive,
						      uint64_t last_modify_time);
VSS_EXPORT size_t vss_bcd_component_differenced_file_count(const struct vss_bcd_component *c);
VSS_EXPORT const struct vss_bcd_differenced_file *
vss_bcd_component_differenced_file_at(const struct vss_bcd_component *c, size_t i);

VSS_EXPORT int vss_bcd_component_add_new_target(struct vss_bcd_component *c, const char *path,
						const char *filename, bool recursive,
						const char *alternate_path);
VSS_EXPORT size_t vss_bcd_component_new_target_count(const struct vss_bcd_component *c);
VSS_EXPORT const struct vss_bcd_new_target *
vss_bcd_component_new_target_at(const struct vss_bcd_component *c, size_t i);

VSS_EXPORT int vss_bcd_component_add_alternate_location_mapping(struct vss_bcd_component *c,
								const char *path,
								const char *filespec,
								bool recursive,
								const char *destination);
VSS_EXPORT size_t vss_bcd_component_alternate_location_mapping_count(const struct vss_bcd_component *c);
VSS_EXPORT const struct vss_bcd_alternate_location_mapping *
vss_bcd_component_alternate_location_mapping_at(const struct vss_bcd_component *c, size_t i);

VSS_EXPORT int vss_bcd_component_add_directed_target(struct vss_bcd_component *c,
						     const char *source_path,
						     const char *source_filename,
						     const char *source_range_list,
						     const char *destination_path,
						     const char *destination_filename,
						     const char *destination_range_list);
VSS_EXPORT size_t vss_bcd_component_directed_target_count(const struct vss_bcd_component *c);
VSS_EXPORT const struct vss_bcd_directed_target *
vss_bcd_component_directed_target_at(const struct vss_bcd_component *c, size_t i);

VSS_EXPORT int vss_bcd_component_add_restore_subcomponent(struct vss_bcd_component *c,
							  const char *logical_path,
							  const char *component_name, bool repair);
VSS_EXPORT size_t vss_bcd_component_restore_subcomponent_count(const struct vss_bcd_component *c);
VSS_EXPORT const struct vss_bcd_restore_subcomponent *
vss_bcd_component_restore_subcomponent_at(const struct vss_bcd_component *c, size_t i);

#endif
