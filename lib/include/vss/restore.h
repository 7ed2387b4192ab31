/*
 * <vss/restore.h> — restoring files and writer components from shadow
 * copies (reference §3.10-3.14, §4.2).
 *
 * File restore: paths of the original volume (files or trees) are copied
 * back from a copy — to where they were, or under another directory —
 * with everything a careful admin expects kept: content (sparse files stay
 * sparse; extents are cloned with FICLONE / copy_file_range where source
 * and target share a filesystem), mode, owner, group, timestamps (ns),
 * xattrs and POSIX ACLs, symlinks as symlinks, hard links within the
 * restored set as hard links, and device nodes, FIFOs and sockets with
 * VSS_RESTORE_SPECIAL_FILES.  A copy that is not a directory (an image
 * clone) is exposed read-only under the run directory for the time of the
 * restore.
 *
 * Safety: every target is opened relative to the restore root with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) for its parent
 * directories: "..", absolute escapes, and symlinks planted in the target
 * tree are refused per entry (VSS_RESTORE_REFUSED) and nothing is written
 * for them.  A file is written beside its target under a temporary name
 * and renamed over it when complete, so a killed restore never leaves a
 * half-written file under the final name.
 */
#ifndef VSS_RESTORE_H
#define VSS_RESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <vss/common.h>
#include <vss/guid.h>

struct vss_context;

/* What to do about a target that exists (named after VSS restore methods). */
enum vss_restore_policy {
	/* Restore over it, atomically (write beside, rename).  The default. */
	VSS_RESTORE_IF_CAN_REPLACE = 0,
	/* Leave existing targets as they are (VSS_RESTORE_SKIPPED). */
	VSS_RESTORE_IF_NOT_THERE,
};

enum vss_restore_flags {
	/* Say what would be done for every entry; write nothing. */
	VSS_RESTORE_DRY_RUN       = 1 << 0,
	/* Also device nodes, FIFOs and sockets (else reported as skipped). */
	VSS_RESTORE_SPECIAL_FILES = 1 << 1,
	/* Copy bytes even where extents could be cloned (for comparisons). */
	VSS_RESTORE_NO_CLONE      = 1 << 2,
};

enum vss_restore_outcome {
	VSS_RESTORE_RESTORED = 0,
	VSS_RESTORE_WOULD_RESTORE,  /* dry run */
	VSS_RESTORE_SKIPPED,        /* exists (IF_NOT_THERE), or a special file */
	VSS_RESTORE_REFUSED,        /* it would escape the restore root */
	VSS_RESTORE_FAILED,
};

/* One entry, as reported to the entry callback (borrowed for the call). */
struct vss_restore_entry {
	const char *target;         /* absolute path written (or not) */
	const char *source;         /* where in the (exposed) copy it was read */
	char type;                  /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link,
				       'c' 'b' 'p' 's' special files */
	enum vss_restore_outcome outcome;
	int error;                  /* 0, or the negative code of a failure/refusal */
	const char *message;        /* why, for skipped/refused/failed; else NULL */
	uint64_t bytes;             /* file content restored (0 for others) */
	bool cloned;                /* extents shared with the copy, not copied */
};

struct vss_restore_stats {
	uint64_t restored;          /* entries restored (or would be) */
	uint64_t skipped;
	uint64_t refused;
	uint64_t failed;
	uint64_t bytes;
	uint64_t cloned_bytes;
};

typedef void (*vss_restore_entry_fn)(const struct vss_restore_entry *entry, void *userdata);
/* Called now and then (at most ~10 times a second) and once at the end. */
typedef void (*vss_restore_progress_fn)(const struct vss_restore_stats *done,
					uint64_t total_files, uint64_t total_bytes,
					void *userdata);

struct vss_restore;

/*
 * A file restore from shadow copy id.  -VSS_E_OBJECT_NOT_FOUND for an
 * unknown copy.
 */
VSS_EXPORT int vss_restore_new(struct vss_context *ctx, const struct vss_guid *id,
			       struct vss_restore **ret);
VSS_EXPORT struct vss_restore *vss_restore_unref(struct vss_restore *r);

VSS_EXPORT int vss_restore_set_policy(struct vss_restore *r, enum vss_restore_policy policy);
VSS_EXPORT void vss_restore_set_flags(struct vss_restore *r, unsigned int flags);
/*
 * Restore under dir instead of to the original place: each path is
 * restored as dir/<its last component> (as cp -a PATH dir would).  dir
 * must exist; it is the restore root.  Without it the root is the
 * original volume's root.
 */
VSS_EXPORT int vss_restore_set_target_dir(struct vss_restore *r, const char *dir);
/*
 * A file or tree to restore, as a path of the original volume (absolute,
 * or relative to the volume's root).  -EINVAL for a path outside the
 * copy's volume or with ".." going above it; -ENOENT when the copy has no
 * such path.
 */
VSS_EXPORT int vss_restore_add_path(struct vss_restore *r, const char *path);
VSS_EXPORT void vss_restore_set_entry_fn(struct vss_restore *r, vss_restore_entry_fn fn,
					 void *userdata);
VSS_EXPORT void vss_restore_set_progress_fn(struct vss_restore *r, vss_restore_progress_fn fn,
					    void *userdata);
/*
 * Restore every path added.  Returns 0 when the run itself worked (look at
 * ret_stats for entries that failed or were refused), or a negative code
 * when it could not be done at all (the copy cannot be read, the root
 * does not exist...).  Needs root (except a dry run).
 */
VSS_EXPORT int vss_restore_run(struct vss_restore *r, struct vss_restore_stats *ret_stats);

/*
 * Component restore (reference §4.2) from a saved Backup Components
 * Document and the writers' metadata documents saved beside it by
 * vss-create --save-bcd (bcd_path.<instance-id>.wmd.xml).
 *
 * components: "WRITER:LOGICALPATH\NAME" or "WRITER:NAME" (WRITER a name,
 * without case, or a class ID), NULL-terminated.  Each is selected for
 * restore in the BCD; its writer (which must be registered or running:
 * -VSS_E_OBJECT_NOT_FOUND naming it, unless VSS_RESTORE_COMPONENT_NO_WRITERS)
 * gets PreRestore, its files (the WMD's file sets, through its
 * alternate location mappings when its restore method says so) are
 * restored from the set's copies with the file restore above, then
 * PostRestore.  The file restore status of each component is recorded in
 * the BCD, which is written back to bcd_path.  A component whose writer
 * says "reboot required" sets *ret_reboot_required.
 */
enum vss_component_restore_flags {
	VSS_RESTORE_COMPONENT_NO_WRITERS = 1 << 8,
};
VSS_EXPORT int vss_restore_components(struct vss_context *ctx, const char *bcd_path,
				      const char *const *components, unsigned int flags,
				      vss_restore_entry_fn entry_fn,
				      vss_restore_progress_fn progress_fn, void *userdata,
				      struct vss_restore_stats *ret_stats, bool *ret_reboot_required);

#endif
