/*
 * <vss/wmd.h> — the Writer Metadata Document (WMD).
 *
 * A writer answers Identify with this document: who it is (class ID,
 * instance, names, usage and data source types, version, backup schema),
 * how its data is restored (restore method and alternate location
 * mappings), its components (file groups and databases) with their file
 * sets and dependencies, and the files it excludes from the backup and from
 * the shadow copy.  Reference: vss-metadata(5), Windows' IVssCreateWriter-
 * Metadata / IVssExamineWriterMetadata.
 *
 * Objects:
 *   struct vss_wmd             the document; opaque, reference counted;
 *   struct vss_wmd_component   a FILE_GROUP or DATABASE;
 *   struct vss_wmd_file        a file set of a component: FILE_LIST of a
 *                              file group, DATABASE_FILES or
 *                              DATABASE_LOGFILES of a database;
 *   struct vss_wmd_dependency  "back this up / restore this too";
 *   struct vss_wmd_filespec    a writer-level file set: an exclude entry
 *                              (EXCLUDE_FILES, EXCLUDE_FILES_FROM_SNAPSHOT)
 *                              or an alternate location mapping.  Both are
 *                              (path, filespec, recursive); a mapping also
 *                              has a destination, which is NULL for
 *                              excludes.  One type keeps one set of getters
 *                              for what Windows also treats as one
 *                              (IVssWMFiledesc).
 * Children are borrowed: their pointers stay valid while the document
 * lives (adding more does not move them).
 *
 * Life cycle (reference §5.4): a document made with vss_wmd_new() is
 * editable until vss_wmd_freeze(), which marks the end of Identify.  After
 * it, and always for a loaded document (a requester examines it), every
 * edit returns -VSS_E_BAD_STATE.
 *
 * Strings: getters return borrowed text or NULL when absent; setters and
 * adders copy.  An empty logical path or caption is the same as none (NULL),
 * as in Windows documents, which omit the attribute then.  Names and paths
 * are compared exactly (case matters).
 *
 * XML: <WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo"
 * version="1.2">, the element tree of vss-metadata(5).  Loading accepts
 * documents captured from Windows (children in any order, GUIDs in either
 * case, optional RESTORE_METHOD, version 1.0 to 1.2); saving is canonical
 * (UTF-8, two-space indentation, fixed order, lower-case GUIDs), so load ->
 * save -> load -> save gives the same bytes.  Loading fails with
 * -VSS_E_CORRUPT_XML_DOCUMENT for text that is not XML and
 * -VSS_E_INVALID_XML_DOCUMENT for a document that breaks the schema or the
 * rules (unknown element or attribute, bad GUID, number, boolean or word,
 * a duplicate component, a database file list in a file group, a dependency
 * on a component of this writer that does not exist, a DOCTYPE); the
 * message gives file and line and names the element or attribute.
 * Documents over 256 MiB are refused.
 */
#ifndef VSS_WMD_H
#define VSS_WMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vss/common.h>
#include <vss/guid.h>

/* ---- vocabularies (values of vswriter.idl / vss.idl) ------------------ */

/* VSS_USAGE_TYPE; XML @usage. */
enum vss_usage_type {
	VSS_UT_UNDEFINED           = 0,  /* UNDEFINED */
	VSS_UT_BOOTABLESYSTEMSTATE = 1,  /* BOOTABLE_SYSTEM_STATE */
	VSS_UT_SYSTEMSERVICE       = 2,  /* SYSTEM_SERVICE */
	VSS_UT_USERDATA            = 3,  /* USER_DATA */
	VSS_UT_OTHER               = 4,  /* OTHER */
};

/* VSS_SOURCE_TYPE; XML @dataSource. */
enum vss_source_type {
	VSS_ST_UNDEFINED       = 0,  /* UNDEFINED */
	VSS_ST_TRANSACTEDDB    = 1,  /* TRANSACTION_DB */
	VSS_ST_NONTRANSACTEDDB = 2,  /* NONTRANSACTION_DB */
	VSS_ST_OTHER           = 3,  /* OTHER */
};

/* VSS_RESTOREMETHOD_ENUM; XML @method (Windows' words, see vss-metadata(5)). */
enum vss_restore_method {
	VSS_RME_UNDEFINED                           = 0,  /* UNDEFINED */
	VSS_RME_RESTORE_IF_NOT_THERE                = 1,  /* RESTORE_IF_NOT_THERE */
	VSS_RME_RESTORE_IF_CAN_REPLACE              = 2,  /* RESTORE_IF_CAN_BE_REPLACED */
	VSS_RME_STOP_RESTORE_START                  = 3,  /* STOP_RESTORE_START */
	VSS_RME_RESTORE_TO_ALTERNATE_LOCATION       = 4,  /* RESTORE_TO_ALTERNATE_LOCATION */
	VSS_RME_RESTORE_AT_REBOOT                   = 5,  /* REPLACE_AT_REBOOT */
	VSS_RME_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE = 6,  /* REPLACE_AT_REBOOT_IF_CANNOT_REPLACE */
	VSS_RME_CUSTOM                              = 7,  /* CUSTOM */
	VSS_RME_RESTORE_STOP_START                  = 8,  /* RESTORE_STOP_START */
};

/* VSS_WRITERRESTORE_ENUM; XML @writerRestore. */
enum vss_writer_restore {
	VSS_WRE_UNDEFINED        = 0,  /* undefined */
	VSS_WRE_NEVER            = 1,  /* never */
	VSS_WRE_IF_REPLACE_FAILS = 2,  /* ifReplaceFails */
	VSS_WRE_ALWAYS           = 3,  /* always */
};

/*
 * VSS_COMPONENT_TYPE; in the WMD the element name (DATABASE, FILE_GROUP).
 * Shared with the Backup Components Document (<vss/bcd.h>).
 */
enum vss_component_type {
	VSS_CT_UNDEFINED = 0,
	VSS_CT_DATABASE  = 1,
	VSS_CT_FILEGROUP = 2,
};

/* VSS_COMPONENT_FLAGS; XML @componentFlags, decimal. */
enum vss_component_flags {
	VSS_CF_BACKUP_RECOVERY       = 0x1,
	VSS_CF_APP_ROLLBACK_RECOVERY = 0x2,
	VSS_CF_NOT_SYSTEM_STATE      = 0x4,
};

/* VSS_FILE_SPEC_BACKUP_TYPE; XML @filespecBackupType, decimal. */
enum vss_file_spec_backup_type {
	VSS_FSBT_FULL_BACKUP_REQUIRED           = 0x00001,
	VSS_FSBT_DIFFERENTIAL_BACKUP_REQUIRED   = 0x00002,
	VSS_FSBT_INCREMENTAL_BACKUP_REQUIRED    = 0x00004,
	VSS_FSBT_LOG_BACKUP_REQUIRED            = 0x00008,
	VSS_FSBT_FULL_SNAPSHOT_REQUIRED         = 0x00100,
	VSS_FSBT_DIFFERENTIAL_SNAPSHOT_REQUIRED = 0x00200,
	VSS_FSBT_INCREMENTAL_SNAPSHOT_REQUIRED  = 0x00400,
	VSS_FSBT_LOG_SNAPSHOT_REQUIRED          = 0x00800,
	VSS_FSBT_CREATED_DURING_BACKUP          = 0x10000,
	VSS_FSBT_ALL_BACKUP_REQUIRED            = 0x0000f,
	VSS_FSBT_ALL_SNAPSHOT_REQUIRED          = 0x00f00,
};

/* The mask of a file set when none is given: 0xf0f = 3855. */
#define VSS_FSBT_DEFAULT (VSS_FSBT_ALL_BACKUP_REQUIRED | VSS_FSBT_ALL_SNAPSHOT_REQUIRED)

/* VSS_BACKUP_SCHEMA: what backups the writer supports; XML root @backupSchema. */
enum vss_backup_schema {
	VSS_BS_UNDEFINED                          = 0x0000,
	VSS_BS_DIFFERENTIAL                       = 0x0001,
	VSS_BS_INCREMENTAL                        = 0x0002,
	VSS_BS_EXCLUSIVE_INCREMENTAL_DIFFERENTIAL = 0x0004,
	VSS_BS_LOG                                = 0x0008,
	VSS_BS_COPY                               = 0x0010,
	VSS_BS_TIMESTAMPED                        = 0x0020,
	VSS_BS_LAST_MODIFY                        = 0x0040,
	VSS_BS_LSN                                = 0x0080,
	VSS_BS_WRITER_SUPPORTS_NEW_TARGET         = 0x0100,
	VSS_BS_WRITER_SUPPORTS_RESTORE_WITH_MOVE  = 0x0200,
	VSS_BS_INDEPENDENT_SYSTEM_STATE           = 0x0400,
	VSS_BS_ROLLFORWARD_RESTORE                = 0x1000,
	VSS_BS_RESTORE_RENAME                     = 0x2000,
	VSS_BS_AUTHORITATIVE_RESTORE              = 0x4000,
	VSS_BS_WRITER_SUPPORTS_PARALLEL_RESTORES  = 0x8000,
};

/* The XML word of a value ("BOOTABLE_SYSTEM_STATE", "never"...), NULL if none. */
VSS_EXPORT const char *vss_usage_type_name(enum vss_usage_type type);
VSS_EXPORT const char *vss_source_type_name(enum vss_source_type type);
VSS_EXPORT const char *vss_restore_method_name(enum vss_restore_method method);
VSS_EXPORT const char *vss_writer_restore_name(enum vss_writer_restore restore);

struct vss_wmd;
struct vss_wmd_component;
struct vss_wmd_file;
struct vss_wmd_dependency;
struct vss_wmd_filespec;

/* ---- the document ----------------------------------------------------- */

/*
 * A new, editable document: a random instance ID, everything else zero,
 * empty or UNDEFINED, no restore method.  NULL when out of memory.
 */
VSS_EXPORT struct vss_wmd *vss_wmd_new(void);
VSS_EXPORT struct vss_wmd *vss_wmd_ref(struct vss_wmd *wmd);
VSS_EXPORT struct vss_wmd *vss_wmd_unref(struct vss_wmd *wmd);

/*
 * End of Identify: check the rules that span the document (a dependency on
 * this writer's own class ID names one of its components), then make it
 * read-only.  -VSS_E_INVALID_XML_DOCUMENT naming the dependency when a rule
 * is broken (the document stays editable); freezing twice is a no-op.
 */
VSS_EXPORT int vss_wmd_freeze(struct vss_wmd *wmd);
/* Frozen, or loaded. */
VSS_EXPORT bool vss_wmd_is_read_only(const struct vss_wmd *wmd);

/*
 * Load from xml (len bytes; need not be NUL-terminated); filename names the
 * document in messages (NULL: "line N").  The result is read-only.
 */
VSS_EXPORT int vss_wmd_load(const char *xml, size_t len, const char *filename,
			    struct vss_wmd **ret);
VSS_EXPORT int vss_wmd_load_file(const char *path, struct vss_wmd **ret);
/* The canonical text, malloc()ed and NUL-terminated; ret_len may be NULL. */
VSS_EXPORT int vss_wmd_save(const struct vss_wmd *wmd, char **ret, size_t *ret_len);
/* Write the canonical text to path atomically (mode 0644), durably. */
VSS_EXPORT int vss_wmd_save_file(const struct vss_wmd *wmd, const char *path);

/* ---- identity (IDENTIFICATION, root @backupSchema) -------------------- */

VSS_EXPORT const struct vss_guid *vss_wmd_get_writer_id(const struct vss_wmd *wmd);
VSS_EXPORT const struct vss_guid *vss_wmd_get_instance_id(const struct vss_wmd *wmd);
/* NULL when the writer has none. */
VSS_EXPORT const char *vss_wmd_get_instance_name(const struct vss_wmd *wmd);
/* Never NULL ("" until set). */
VSS_EXPORT const char *vss_wmd_get_friendly_name(const struct vss_wmd *wmd);
VSS_EXPORT enum vss_usage_type vss_wmd_get_usage_type(const struct vss_wmd *wmd);
VSS_EXPORT enum vss_source_type vss_wmd_get_source_type(const struct vss_wmd *wmd);
VSS_EXPORT uint32_t vss_wmd_get_major_version(const struct vss_wmd *wmd);
VSS_EXPORT uint32_t vss_wmd_get_minor_version(const struct vss_wmd *wmd);
/* VSS_BS_* bits. */
VSS_EXPORT uint32_t vss_wmd_get_backup_schema(const struct vss_wmd *wmd);

/* Setters: 0, -VSS_E_BAD_STATE when read-only, -EINVAL for a bad value. */
VSS_EXPORT int vss_wmd_set_writer_id(struct vss_wmd *wmd, const struct vss_guid *id);
VSS_EXPORT int vss_wmd_set_instance_id(struct vss_wmd *wmd, const struct vss_guid *id);
/* NULL or "" removes it. */
VSS_EXPORT int vss_wmd_set_instance_name(struct vss_wmd *wmd, const char *name);
/* Not NULL. */
VSS_EXPORT int vss_wmd_set_friendly_name(struct vss_wmd *wmd, const char *name);
VSS_EXPORT int vss_wmd_set_usage_type(struct vss_wmd *wmd, enum vss_usage_type type);
VSS_EXPORT int vss_wmd_set_source_type(struct vss_wmd *wmd, enum vss_source_type type);
VSS_EXPORT int vss_wmd_set_version(struct vss_wmd *wmd, uint32_t major, uint32_t minor);
VSS_EXPORT int vss_wmd_set_backup_schema(struct vss_wmd *wmd, uint32_t schema);

/* ---- restore method (RESTORE_METHOD, ALTERNATE_LOCATION_MAPPING) ------ */

/*
 * SetRestoreMethod: service (for STOP_RESTORE_START / RESTORE_STOP_START)
 * and user_procedure (for CUSTOM) may be NULL.  Setting it again replaces
 * it and keeps the mappings.
 */
VSS_EXPORT int vss_wmd_set_restore_method(struct vss_wmd *wmd, enum vss_restore_method method,
					  const char *service, const char *user_procedure,
					  enum vss_writer_restore writer_restore,
					  bool reboot_required);
/* Whether a restore method was set (Windows writers that never restore have none). */
VSS_EXPORT bool vss_wmd_has_restore_method(const struct vss_wmd *wmd);
/* VSS_RME_UNDEFINED / VSS_WRE_UNDEFINED / NULL / false without one. */
VSS_EXPORT enum vss_restore_method vss_wmd_get_restore_method(const struct vss_wmd *wmd);
VSS_EXPORT const char *vss_wmd_get_restore_service(const struct vss_wmd *wmd);
VSS_EXPORT const char *vss_wmd_get_restore_user_procedure(const struct vss_wmd *wmd);
VSS_EXPORT enum vss_writer_restore vss_wmd_get_writer_restore(const struct vss_wmd *wmd);
VSS_EXPORT bool vss_wmd_get_reboot_required(const struct vss_wmd *wmd);

/*
 * AddAlternateLocationMapping: where files of (path, filespec, recursive)
 * may be restored when their own place cannot be used.  Needs a restore
 * method first (-EINVAL otherwise): the mappings are part of it.
 */
VSS_EXPORT int vss_wmd_add_alternate_location_mapping(struct vss_wmd *wmd, const char *path,
						      const char *filespec, bool recursive,
						      const char *destination);
VSS_EXPORT size_t vss_wmd_alternate_location_mapping_count(const struct vss_wmd *wmd);
/* NULL when i is out of range. */
VSS_EXPORT const struct vss_wmd_filespec *vss_wmd_alternate_location_mapping_at(
	const struct vss_wmd *wmd, size_t i);

/* ---- exclude lists (EXCLUDE_FILES, EXCLUDE_FILES_FROM_SNAPSHOT) ------- */

/* AddExcludeFiles: never back these up (beats every component's lists). */
VSS_EXPORT int vss_wmd_add_exclude_files(struct vss_wmd *wmd, const char *path,
					 const char *filespec, bool recursive);
VSS_EXPORT size_t vss_wmd_exclude_files_count(const struct vss_wmd *wmd);
VSS_EXPORT const struct vss_wmd_filespec *vss_wmd_exclude_files_at(const struct vss_wmd *wmd,
								   size_t i);

/* AddExcludeFilesFromSnapshot: the writer deletes these from the copy. */
VSS_EXPORT int vss_wmd_add_exclude_files_from_snapshot(struct vss_wmd *wmd, const char *path,
						       const char *filespec, bool recursive);
VSS_EXPORT size_t vss_wmd_exclude_files_from_snapshot_count(const struct vss_wmd *wmd);
VSS_EXPORT const struct vss_wmd_filespec *vss_wmd_exclude_files_from_snapshot_at(
	const struct vss_wmd *wmd, size_t i);

VSS_EXPORT const char *vss_wmd_filespec_get_path(const struct vss_wmd_filespec *fs);
VSS_EXPORT const char *vss_wmd_filespec_get_filespec(const struct vss_wmd_filespec *fs);
VSS_EXPORT bool vss_wmd_filespec_get_recursive(const struct vss_wmd_filespec *fs);
/* Mappings only; NULL for exclude entries. */
VSS_EXPORT const char *vss_wmd_filespec_get_destination(const struct vss_wmd_filespec *fs);

/* ---- components (FILE_GROUP, DATABASE) -------------------------------- */

/*
 * AddComponent: type VSS_CT_FILEGROUP or VSS_CT_DATABASE, logical_path
 * NULL or "" for the root, name not empty.  The other properties start
 * false / 0 / none and have setters below.  -VSS_E_OBJECT_ALREADY_EXISTS
 * when (logical path, name) is taken.  ret_component (may be NULL)
 * receives the borrowed component.
 */
VSS_EXPORT int vss_wmd_add_component(struct vss_wmd *wmd, enum vss_component_type type,
				     const char *logical_path, const char *name,
				     struct vss_wmd_component **ret_component);
VSS_EXPORT size_t vss_wmd_component_count(const struct vss_wmd *wmd);
/* In the order added (loaded); NULL when i is out of range. */
VSS_EXPORT struct vss_wmd_component *vss_wmd_component_at(const struct vss_wmd *wmd, size_t i);
/* By logical path (NULL or "" for the root) and name; NULL when none. */
VSS_EXPORT struct vss_wmd_component *vss_wmd_find_component(const struct vss_wmd *wmd,
							    const char *logical_path,
							    const char *name);

VSS_EXPORT enum vss_component_type vss_wmd_component_get_type(const struct vss_wmd_component *c);
/* NULL for the root. */
VSS_EXPORT const char *vss_wmd_component_get_logical_path(const struct vss_wmd_component *c);
VSS_EXPORT const char *vss_wmd_component_get_name(const struct vss_wmd_component *c);
/* NULL when none. */
VSS_EXPORT const char *vss_wmd_component_get_caption(const struct vss_wmd_component *c);
/* The icon's bytes (NULL and 0 when none); XML: base64 in @icon. */
VSS_EXPORT const void *vss_wmd_component_get_icon(const struct vss_wmd_component *c,
						  size_t *ret_len);
VSS_EXPORT bool vss_wmd_component_get_restore_metadata(const struct vss_wmd_component *c);
VSS_EXPORT bool vss_wmd_component_get_notify_on_backup_complete(const struct vss_wmd_component *c);
VSS_EXPORT bool vss_wmd_component_get_selectable(const struct vss_wmd_component *c);
VSS_EXPORT bool vss_wmd_component_get_selectable_for_restore(const struct vss_wmd_component *c);
/* VSS_CF_* bits. */
VSS_EXPORT uint32_t vss_wmd_component_get_flags(const struct vss_wmd_component *c);

/* Setters: 0, -VSS_E_BAD_STATE when the document is read-only, -EINVAL. */
VSS_EXPORT int vss_wmd_component_set_caption(struct vss_wmd_component *c, const char *caption);
/* NULL / 0 removes it. */
VSS_EXPORT int vss_wmd_component_set_icon(struct vss_wmd_component *c, const void *icon,
					  size_t len);
VSS_EXPORT int vss_wmd_component_set_restore_metadata(struct vss_wmd_component *c, bool value);
VSS_EXPORT int vss_wmd_component_set_notify_on_backup_complete(struct vss_wmd_component *c,
							       bool value);
VSS_EXPORT int vss_wmd_component_set_selectable(struct vss_wmd_component *c, bool value);
VSS_EXPORT int vss_wmd_component_set_selectable_for_restore(struct vss_wmd_component *c,
							    bool value);
VSS_EXPORT int vss_wmd_component_set_flags(struct vss_wmd_component *c, uint32_t flags);

/* ---- file sets of a component ----------------------------------------- */

/*
 * AddFilesToFileGroup (FILE_LIST): file groups only (-EINVAL for a
 * database).  alternate_location (where to read the files during backup)
 * may be NULL; backup_type_mask is VSS_FSBT_* bits, VSS_FSBT_DEFAULT when
 * in doubt.
 */
VSS_EXPORT int vss_wmd_component_add_file(struct vss_wmd_component *c, const char *path,
					  const char *filespec, bool recursive,
					  const char *alternate_location,
					  uint32_t backup_type_mask);
/*
 * AddDatabaseFiles (DATABASE_FILES) and AddDatabaseLogFiles
 * (DATABASE_LOGFILES): databases only (-EINVAL for a file group); database
 * file sets are never recursive and have no alternate location.
 */
VSS_EXPORT int vss_wmd_component_add_database_file(struct vss_wmd_component *c,
						   const char *path, const char *filespec,
						   uint32_t backup_type_mask);
VSS_EXPORT int vss_wmd_component_add_database_log_file(struct vss_wmd_component *c,
						       const char *path, const char *filespec,
						       uint32_t backup_type_mask);

VSS_EXPORT size_t vss_wmd_component_file_count(const struct vss_wmd_component *c);
VSS_EXPORT const struct vss_wmd_file *vss_wmd_component_file_at(const struct vss_wmd_component *c,
								size_t i);
VSS_EXPORT size_t vss_wmd_component_database_file_count(const struct vss_wmd_component *c);
VSS_EXPORT const struct vss_wmd_file *vss_wmd_component_database_file_at(
	const struct vss_wmd_component *c, size_t i);
VSS_EXPORT size_t vss_wmd_component_database_log_file_count(const struct vss_wmd_component *c);
VSS_EXPORT const struct vss_wmd_file *vss_wmd_component_database_log_file_at(
	const struct vss_wmd_component *c, size_t i);

VSS_EXPORT const char *vss_wmd_file_get_path(const struct vss_wmd_file *f);
VSS_EXPORT const char *vss_wmd_file_get_filespec(const struct vss_wmd_file *f);
VSS_EXPORT bool vss_wmd_file_get_recursive(const struct vss_wmd_file *f);
/* NULL when none. */
VSS_EXPORT const char *vss_wmd_file_get_alternate_location(const struct vss_wmd_file *f);
VSS_EXPORT uint32_t vss_wmd_file_get_backup_type_mask(const struct vss_wmd_file *f);

/* ---- dependencies (DEPENDENCY) ---------------------------------------- */

/*
 * AddComponentDependency: whenever c is backed up or restored, the
 * component (logical_path, name) of writer class writer_id must be too.
 * Meant for other writers; one on this writer's own class ID must name a
 * component of this document, which vss_wmd_freeze() and loading check.
 */
VSS_EXPORT int vss_wmd_component_add_dependency(struct vss_wmd_component *c,
						const struct vss_guid *writer_id,
						const char *logical_path, const char *name);
VSS_EXPORT size_t vss_wmd_component_dependency_count(const struct vss_wmd_component *c);
VSS_EXPORT const struct vss_wmd_dependency *vss_wmd_component_dependency_at(
	const struct vss_wmd_component *c, size_t i);

VSS_EXPORT const struct vss_guid *vss_wmd_dependency_get_writer_id(
	const struct vss_wmd_dependency *d);
/* NULL for the root. */
VSS_EXPORT const char *vss_wmd_dependency_get_logical_path(const struct vss_wmd_dependency *d);
VSS_EXPORT const char *vss_wmd_dependency_get_component_name(const struct vss_wmd_dependency *d);

#endif
