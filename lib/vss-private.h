/*
 * Internal structures and cross-file functions of libvss.  Never installed.
 * Internal functions are named vss__noun_verb; they set the error message
 * (vss__error) before returning a negative code, like public ones.
 */
#ifndef VSS_PRIVATE_H
#define VSS_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "vss.h"
#include "util/sbuf.h"
#include "util/strv.h"

#define VSS__CATALOG_FILE   "catalog.xml"
#define VSS__PENDING_DIR    "pending"      /* under the state dir */
#define VSS__CREATE_LOCK    "create.lock"  /* under the run dir */
#define VSS__CATALOG_LOCK   "catalog.lock" /* under the state dir */
#define VSS__STORE_DIR      ".vss"         /* per-volume store of copies */
#define VSS__XML_NS         "x-schema:#VssLinuxSnapshot"

/* ---- errors (error.c) ------------------------------------------------ */

/* Record code (negative) and a printf-style message; returns code. */
int vss__error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, for a parse error at file:line:column. */
int vss__error_at(int code, const char *file, int line, int column, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/*
 * The last error kept by value, while cleaning up after it overwrites the
 * thread's buffers; restore returns its code.
 */
struct vss__saved_error {
	int code;
	int line;
	int column;
	char message[1024];
	char file[512];
};
void vss__error_save(struct vss__saved_error *e);
int vss__error_restore(const struct vss__saved_error *e);
/* Prefix the current message with "what: " (keeps code and position). */
void vss__error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug trace to stderr, only when VSS_DEBUG is set in the environment. */
void vss__debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- context (context.c) ---------------------------------------------- */

struct vss_context {
	int refcount;
	char *sysconfdir;
	char *statedir;
	char *rundir;
	unsigned int hold_timeout_ms;
	unsigned int writer_freeze_timeout_ms;  /* per writer, Freeze to Thaw */
	unsigned int writer_event_timeout_ms;   /* per writer, any other event */
	vss_notice_fn notice_fn;
	void *notice_userdata;
};

/* Report through the notice callback, if any. */
void vss__notice(const struct vss_context *ctx, enum vss_notice what,
		 const struct vss_snapshot *snap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* -EPERM with "<what> needs root" unless the caller is root. */
int vss__require_root(const char *what);
/* Create dir (and parents) with mode if missing. */
int vss__mkdir_p(const char *dir, mode_t mode);
/*
 * Test hook: when VSS_TEST_STALL names this point, create
 * $VSS_RUNDIR/stall-<point> and sleep up to 60 s so a test can kill the
 * process there.  Points: "prepared", "frozen", "committed", "recorded".
 */
void vss__test_stall(const struct vss_context *ctx, const char *point);

/* ---- snapshots (snapshot.c) ------------------------------------------- */

struct vss_snapshot {
	int refcount;
	struct vss_guid id;
	struct vss_guid set_id;
	struct vss_guid provider_id;
	unsigned int count;
	char *original_volume;       /* path of the volume root at creation */
	char *original_device;
	char *original_uuid;
	char *original_fsroot;
	char *original_fstype;
	char *device;                /* where the copy lives */
	char *store;                 /* directory of the copy's properties file */
	char *origin;                /* image: the backing file that was cloned */
	char *originating_machine;
	char *service_machine;
	char *exposed_name;
	char *exposed_path;
	char *exposed_loop;           /* loop device an exposure attached, to detach */
	char *provider_name;
	uint32_t attributes;
	int32_t context;
	int64_t creation_time;       /* ns since the epoch */
	enum vss_snapshot_state state;
	uint64_t hold_ns;
	pid_t owner_pid;             /* auto-release owner, 0 if none */
	uint64_t owner_start;        /* its start time (/proc/PID/stat field 22) */
	uint64_t subvolume_id;       /* btrfs: the snapshot subvolume */
};

struct vss_snapshot *vss__snapshot_new(void);
/* Replace *field with a copy of value (NULL allowed). -ENOMEM. */
int vss__strset(char **field, const char *value);
/* "<store>/<id>.xml" (bare lower-case GUID, no braces), malloc()ed, or
 * NULL (no store / no memory). */
char *vss__snapshot_props_path(const struct vss_snapshot *snap);
/*
 * 0 when the copy's device is "<store>/<name>" with store a .vss directory,
 * else -EINVAL: providers delete what properties files name, and those are
 * input, so they only ever delete a direct child of a store.
 */
int vss__snapshot_check_location(const struct vss_snapshot *snap);
/* Write the properties file beside the copy, atomically and durably. */
int vss__snapshot_write_props(const struct vss_snapshot *snap);
/* Remove it; a missing file is not an error. */
int vss__snapshot_remove_props(const struct vss_snapshot *snap);
/* Read one properties file. */
int vss__snapshot_read_props(const char *path, struct vss_snapshot **ret);

struct vss_snapshot_list *vss__snapshot_list_new(void);
/* Takes a new reference to snap. */
int vss__snapshot_list_append(struct vss_snapshot_list *list, struct vss_snapshot *snap);
/* Drops the list's reference to item i; later items move down. */
void vss__snapshot_list_remove_at(struct vss_snapshot_list *list, size_t i);
/* Index of the copy with that id, or -1. */
ssize_t vss__snapshot_list_find(const struct vss_snapshot_list *list, const struct vss_guid *id);
/* Sort by creation time, then id. */
void vss__snapshot_list_sort(struct vss_snapshot_list *list);

/* ---- exposures (expose.c, expose-smb.c, loop.c) ---------------------- */

/*
 * Mount snap read-only (nosuid, nodev; noexec unless VSS_EXPOSE_EXEC in
 * flags) at path, an existing empty directory that is not a mount point,
 * and record the exposure: in the catalog and in the properties file beside
 * the copy, under the catalog lock, re-reading the copy's record there (snap
 * only says which copy; its exposure fields are updated in place too).
 *   remote false: attribute EXPOSED_LOCALLY, exposed_name = path.
 *   remote true:  attribute EXPOSED_REMOTELY, exposed_name = path (the
 *                 @GMT directory, which the caller created and which
 *                 unexposing removes again with rmdir), exposed_path =
 *                 share_subpath (the share path it belongs to).
 * A copy already exposed is -VSS_E_OBJECT_ALREADY_EXISTS (message says
 * where).  Caller checked root.  On failure nothing is left mounted or
 * attached and nothing is recorded.
 */
int vss__expose_at(struct vss_context *ctx, struct vss_snapshot *snap, const char *path,
		   unsigned int flags, bool remote, const char *share_subpath);
/*
 * Undo the recorded exposure of copy id, local or remote: unmount (lazily
 * with VSS_UNEXPOSE_FORCE, else a busy mount is -EBUSY), detach the loop
 * device, rmdir the @GMT directory of a remote exposure, clear the record
 * (catalog and properties file).  -VSS_E_OBJECT_NOT_FOUND when the copy is
 * not exposed.  Caller checked root.
 */
int vss__unexpose_id(struct vss_context *ctx, const struct vss_guid *id, unsigned int flags);
/*
 * Take the exclusive catalog lock and replace the catalog's record of
 * snap->id by snap (vss__catalog_store_locked()).
 */
int vss__catalog_update(const struct vss_context *ctx, struct vss_snapshot *snap);
/*
 * Caller holds the exclusive catalog lock and loaded catalog: replace its
 * record of snap->id by snap (a new reference), rewrite the properties file
 * beside the copy, then save the catalog.  On failure the properties file
 * is put back as it was, except when snap is the catalog's own record
 * (changed in place): then the caller puts its fields back and rewrites
 * it.  -VSS_E_OBJECT_NOT_FOUND when catalog has no such copy.
 */
int vss__catalog_store_locked(const struct vss_context *ctx, struct vss_snapshot_list *catalog,
			      struct vss_snapshot *snap);

/* Loop devices (loop.c). */
/*
 * Attach file to a free loop device, read-only (LO_FLAGS_READ_ONLY, and
 * LO_FLAGS_AUTOCLEAR when autoclear: then the device is detached when its
 * last user closes it, so the caller keeps *ret_fd open until whatever
 * must hold the device (a mount) has it).  *ret "/dev/loopN", malloc()ed;
 * *ret_fd the open device, to close().
 */
int vss__loop_attach_ro(const char *file, bool autoclear, int *ret_fd, char **ret);
struct loop_info64;
/*
 * The same for an open file_fd (named file in the device's record) with
 * info's flags, offset and size limit, on the device prefer when it
 * becomes free within two seconds (NULL: any free one), else on a free one.
 */
int vss__loop_attach(int file_fd, const char *file, const struct loop_info64 *info,
		     const char *prefer, int *ret_fd, char **ret);
/* dev's status; -ENXIO (no message) when nothing is attached to it. */
int vss__loop_status(const char *dev, struct loop_info64 *ret);
/* Detach dev (deferred by the kernel while it is open); a free device is
 * not an error. */
int vss__loop_detach(const char *dev);
/* Whether loop device dev is attached to file (same device and inode). */
bool vss__loop_is_attached_to(const char *dev, const char *file);

/* ---- file restore (restore.c) ----------------------------------------- */

struct vss_restore;
/*
 * Queue, for vss_restore_run(), the file or tree src_rel of the copy
 * (relative to the copy's root, which is the original volume's root; ""
 * or "." for all of it) to be restored as target_rel under target_root.
 * target_root is the restore root of this entry: an absolute path of an
 * existing directory (not resolved through symlinks planted below it;
 * nothing outside it is written).  target_rel is relative to it ("" or "."
 * for the root itself, for a directory only).  Missing parent directories
 * of target_rel are created (with the metadata of the matching parents in
 * the copy, aligned from the end, else 0755 root:root).  Policy, flags
 * and callbacks are r's.  Both relative paths are normalised lexically:
 * absolute, or ".." going above the top, is -EINVAL; src_rel missing in
 * the copy is -ENOENT (the copy is exposed here if it has to be).
 * vss_restore_add_path(r, p) is vss__restore_map(r, rel(p), root, rel(p))
 * with root the original volume, or (set_target_dir) (r, rel(p), dir,
 * last component of p).
 */
int vss__restore_map(struct vss_restore *r, const char *src_rel, const char *target_root,
		     const char *target_rel);
/*
 * path (absolute, or relative to the copy's volume root) as a normalised
 * path relative to the volume root ("" for the root), malloc()ed in *ret.
 * Lexical: symlinks of the live volume are not resolved.  -EINVAL when it
 * is outside the volume.
 */
int vss__restore_rel(const struct vss_restore *r, const char *path, char **ret);
/* vss_restore_new() for a copy at hand (a new reference to snap). */
int vss__restore_new_snapshot(struct vss_context *ctx, struct vss_snapshot *snap,
			      struct vss_restore **ret);
/* The copy being restored from (borrowed). */
const struct vss_snapshot *vss__restore_snapshot(const struct vss_restore *r);

/* ---- XML helpers (schema.c) ------------------------------------------- */

/*
 * While active, libxml2's messages in the calling thread are captured here
 * instead of printed: the first error (and its position) is kept.  Begin and
 * end must pair on the same thread; the previous handlers are restored.
 */
struct vss__xml_errors {
	char message[512];   /* first error, lower-cased first letter, no newline */
	int line;
	int column;
	bool seen;
	xmlStructuredErrorFunc old_structured;  /* saved handlers */
	void *old_structured_ctx;
	xmlGenericErrorFunc old_generic;
	void *old_generic_ctx;
	struct vss__xml_errors *outer;  /* the capture this one nests in */
};
void vss__xml_errors_begin(struct vss__xml_errors *e);
void vss__xml_errors_end(struct vss__xml_errors *e);
/* The largest XML document the library reads. */
#define VSS__XML_MAX_SIZE ((size_t)256 << 20)
/*
 * Read the file of an XML document (what names the document in messages,
 * e.g. "writer metadata document"), refusing one larger than
 * VSS__XML_MAX_SIZE before reading it (-VSS_E_CORRUPT_XML_DOCUMENT).
 */
int vss__xml_read_file(const char *path, const char *what, char **ret, size_t *ret_len);
/*
 * Parse a document without network access, DTD loading or entity
 * expansion; a document with a DOCTYPE, or larger than VSS__XML_MAX_SIZE,
 * is refused.  Errors are
 * -VSS_E_CORRUPT_XML_DOCUMENT at file:line:column.  *ret to xmlFreeDoc().
 */
int vss__xml_parse(const char *xml, size_t len, const char *file, xmlDocPtr *ret);
/*
 * vss__error_at() with the position also put in front of the message, the
 * way every XML error of the library reads: "FILE:LINE:COLUMN: what" (no
 * column when 0; "line LINE" when file is NULL).  Returns code.
 */
int vss__xml_error(int code, const char *file, int line, int column, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* ---- catalog (catalog.c) ---------------------------------------------- */

/* Take the catalog lock (LOCK_SH or LOCK_EX); *ret_fd to vss__unlock(). */
int vss__catalog_lock(const struct vss_context *ctx, int how, int *ret_fd);
/* Load under a lock the caller holds.  Missing file: empty list. */
int vss__catalog_load(const struct vss_context *ctx, struct vss_snapshot_list **ret);
/* Save atomically (tmp, fsync, rename, fsync dir) under an exclusive lock. */
int vss__catalog_save(const struct vss_context *ctx, const struct vss_snapshot_list *list);
/* Remove temporary files of catalog writes whose writer died. */
int vss__catalog_tidy(const struct vss_context *ctx);
/* Lock, load, append every copy of add, save, unlock. */
int vss__catalog_add(const struct vss_context *ctx, const struct vss_snapshot_list *add);

/*
 * Delete copies as vss_catalog_delete() does, reporting each with the notice
 * what (VSS_NOTICE_DELETED, VSS_NOTICE_RELEASED, VSS_NOTICE_ROLLED_BACK).
 */
int vss__catalog_delete(struct vss_context *ctx, struct vss_snapshot_list *list,
			unsigned int flags, enum vss_notice what);

/*
 * The XML of a list of copies under a root element (CATALOG, PENDING_SET),
 * shared by the catalog and the pending journal.  The root always carries
 * the namespace and version="1"; attrs: name, value, ..., NULL, put on it
 * after them.  Reading checks the root and its version and validates
 * against the schema; ret_attrs (may be NULL) receives the root's other
 * attributes the same way, malloc()ed.
 */
int vss__snapshots_to_xml(const char *root_name, const char *const *attrs,
			  const struct vss_snapshot_list *list, char **ret, size_t *ret_len);
int vss__snapshots_from_xml(const char *xml, size_t len, const char *file,
			    const char *root_name, struct vss_snapshot_list **ret,
			    char ***ret_attrs);

/* ---- locks and processes (lock.c, process.c) -------------------------- */

/* flock() path (created 0644 if missing); wait or fail with -EWOULDBLOCK. */
int vss__lock_take(const char *path, int how, bool wait, int *ret_fd);
void vss__unlock(int fd);
/* Start time of pid from /proc/PID/stat, in clock ticks since boot. */
int vss__process_start_time(pid_t pid, uint64_t *ret);
/* True when pid runs and (start != 0) started at start. */
bool vss__process_is_alive(pid_t pid, uint64_t start);
/* This machine's name (FQDN when known), malloc()ed, or NULL. */
char *vss__machine_name(void);
/* CLOCK_MONOTONIC and CLOCK_REALTIME in ns. */
uint64_t vss__now_monotonic_ns(void);
int64_t vss__now_realtime_ns(void);

/* ---- pending sets: the intent journal (pending.c) --------------------- */

/*
 * Before any copy of a set is made, its planned copies are written to
 * $STATEDIR/pending/<set>.xml (durably).  The journal is removed once the
 * set is recorded in the catalog, or rolled back.  A journal found while
 * holding the creation lock belongs to a creator that died: recovery deletes
 * its copies (provider remove, missing ones ignored) and the journal.
 */
int vss__pending_write(const struct vss_context *ctx, const struct vss_guid *set_id,
		       const struct vss_snapshot_list *planned);
int vss__pending_remove(const struct vss_context *ctx, const struct vss_guid *set_id);
/* Caller holds the creation lock. */
int vss__pending_recover(const struct vss_context *ctx);
/* Delete catalogued auto-release copies whose owner has ended. */
int vss__release_orphans(struct vss_context *ctx);

/* ---- the freeze guard (freeze-guard.c) -------------------------------- */

/*
 * A guard process that holds FIFREEZE on a list of mount points.  It thaws
 * them all when told to, when the window has passed, or when this process
 * dies (SIGKILL included: it sees its command pipe close).  It runs in its
 * own session, ignores SIGINT/SIGTERM/SIGHUP, and keeps no other file of its
 * parent open (the creation lock in particular).
 */
struct vss__freeze_guard;

/*
 * Fork the guard and freeze every mount point (in order); return once all
 * are frozen.  If any freeze fails, those already frozen are thawed and the
 * error names the mount point.  window_ms counts from the first freeze.
 */
int vss__freeze_guard_start(const char *const *mountpoints, size_t n, unsigned int window_ms,
			    struct vss__freeze_guard **ret);
/*
 * Thaw everything and reap the guard.  held_ns (n entries, may be NULL)
 * receives how long each mount point was frozen.  Returns
 * -VSS_E_HOLD_WRITES_TIMEOUT when the window passed before the release (the
 * guard had already thawed: the copies may not be consistent), or the thaw
 * error.  Always frees g.
 */
int vss__freeze_guard_release(struct vss__freeze_guard *g, uint64_t *held_ns);

/* ---- providers (provider.c, provider-*.c) ----------------------------- */

struct vss_volume;
struct vss__revert_ops;

struct vss_provider {
	const char *name;              /* "btrfs" */
	const char *id;                /* GUID text */
	const char *display_name;      /* "vss btrfs provider" */
	const char *version;
	enum vss_provider_type type;
	/* The session freezes the volume (freeze guard) around commit. */
	bool needs_freeze;

	/* 0, or -VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER with the reason. */
	int (*supports)(const struct vss_volume *vol);
	/*
	 * Outside the hold window: check and create the store, fill
	 * snap->store, snap->device (and snap->origin), check space.
	 */
	int (*prepare)(struct vss_snapshot *snap, const struct vss_volume *vol);
	/*
	 * Inside the hold window: make the copy; quick.  Fills what only the
	 * commit knows (snap->subvolume_id...).  On failure nothing is left.
	 */
	int (*commit)(struct vss_snapshot *snap, const struct vss_volume *vol);
	/*
	 * Delete a committed copy and its properties file.  A copy already
	 * gone is -ENOENT (its properties file is still removed).
	 */
	int (*remove)(const struct vss_snapshot *snap);
	/* Whether the copy is still there. */
	bool (*exists)(const struct vss_snapshot *snap);
	/*
	 * Candidate stores for a rescan: append to dirs every store directory
	 * this provider could have put copies in on this machine now.
	 */
	int (*list_stores)(struct strv *dirs);
	/* Its part of reverting a volume (lib/revert-private.h), or NULL. */
	const struct vss__revert_ops *revert;
};

extern const struct vss_provider vss__provider_btrfs;
extern const struct vss_provider vss__provider_image;

/* The provider that made snap (by id, then name), or NULL. */
const struct vss_provider *vss__provider_for_snapshot(const struct vss_snapshot *snap);

#endif
