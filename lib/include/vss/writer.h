/*
 * <vss/writer.h> — writers: the applications that take part in a shadow copy.
 *
 * Two kinds, seen the same way by a requester:
 *
 *   express writers  an XML file in $SYSCONFDIR/writers.d/ (vss-writers(5)):
 *                    the writer's metadata document and a command per event.
 *                    No process runs between backups; the requester runs the
 *                    commands.
 *   live writers     a running program that links libvss and serves events
 *                    on a Unix socket in $RUNDIR/writers/ (this header, the
 *                    second half).
 *
 * Events (reference §4.3) go to all writers of a set in parallel, each with
 * its own timeout; every writer that acknowledged Freeze gets Thaw or Abort
 * exactly once.  The requester records each writer's state and last failure
 * (reference §3.15-3.16), which vss_writer_query() reports.
 */
#ifndef VSS_WRITER_H
#define VSS_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vss/common.h>
#include <vss/guid.h>

struct vss_context;
struct vss_wmd;
struct vss_bcd;

/* VSS_WRITER_STATE */
enum vss_writer_state {
	VSS_WS_UNKNOWN = 0,
	VSS_WS_STABLE = 1,
	VSS_WS_WAITING_FOR_FREEZE = 2,
	VSS_WS_WAITING_FOR_THAW = 3,
	VSS_WS_WAITING_FOR_POST_SNAPSHOT = 4,
	VSS_WS_WAITING_FOR_BACKUP_COMPLETE = 5,
	VSS_WS_FAILED_AT_IDENTIFY = 6,
	VSS_WS_FAILED_AT_PREPARE_BACKUP = 7,
	VSS_WS_FAILED_AT_PREPARE_SNAPSHOT = 8,
	VSS_WS_FAILED_AT_FREEZE = 9,
	VSS_WS_FAILED_AT_THAW = 10,
	VSS_WS_FAILED_AT_POST_SNAPSHOT = 11,
	VSS_WS_FAILED_AT_BACKUP_COMPLETE = 12,
	VSS_WS_FAILED_AT_PRE_RESTORE = 13,
	VSS_WS_FAILED_AT_POST_RESTORE = 14,
	VSS_WS_FAILED_AT_BACKUPSHUTDOWN = 15,
	VSS_WS_COUNT = 16,
};

/* The events of reference §4.3, in sequence order. */
enum vss_writer_event {
	VSS_EVENT_IDENTIFY = 0,
	VSS_EVENT_PREPARE_BACKUP,
	VSS_EVENT_PREPARE_SNAPSHOT,
	VSS_EVENT_FREEZE,
	VSS_EVENT_THAW,
	VSS_EVENT_POST_SNAPSHOT,
	VSS_EVENT_ABORT,
	VSS_EVENT_BACKUP_COMPLETE,
	VSS_EVENT_BACKUP_SHUTDOWN,
	VSS_EVENT_PRE_RESTORE,
	VSS_EVENT_POST_RESTORE,
	VSS_EVENT_COUNT,
};

/* "VSS_WS_STABLE" -> "Stable" as vssadmin prints it ("[1] Stable" is the
 * caller's business); "Failed at freeze"...; NULL for an unknown value. */
VSS_EXPORT const char *vss_writer_state_name(enum vss_writer_state state);
/* "Freeze", "PrepareForBackup", ... (the names of reference §4.3, also the
 * words of vss-writers(5)); NULL for an unknown value. */
VSS_EXPORT const char *vss_writer_event_name(enum vss_writer_event event);
/* Case-insensitive inverse of vss_writer_event_name(); -EINVAL if unknown. */
VSS_EXPORT int vss_writer_event_parse(const char *word, enum vss_writer_event *ret);
/*
 * The state a writer is in after event succeeded (ok) or failed, from
 * state.  The failure states of §3.15 are "FAILED_AT_<event>"; Abort
 * returns a writer to STABLE; Identify changes nothing.  The one table of
 * the transitions, shared by requesters and the live writer loop.
 */
VSS_EXPORT enum vss_writer_state vss_writer_state_after(enum vss_writer_state state,
							enum vss_writer_event event, bool ok);
/*
 * The writer failure words: "No error" for 0, "Retryable error" for
 * -VSS_E_WRITERERROR_RETRYABLE, "Timed out", "Non-retryable error",
 * "Inconsistent shadow copy", "Out of resources", "Not responding"...
 */
VSS_EXPORT const char *vss_writer_failure_text(int failure);

/* ---- what a requester sees: the writers of this machine -------------- */

struct vss_writer_info;
struct vss_writer_info_list;

/*
 * Every writer of the machine: the express writers registered in
 * $SYSCONFDIR/writers.d and the live writers that answer on their socket,
 * with the state and last failure the last requester recorded (a live
 * writer reports its own).  Asking live writers needs root: without it,
 * live writers are listed with state VSS_WS_UNKNOWN and failure -EPERM.  A
 * registration file that does not load is an error naming it (nothing is
 * listed); a live writer that does not answer within timeout_ms (0: 5 s) is
 * listed with failure -VSS_E_WRITER_NOT_RESPONDING.  Sorted by name, then
 * instance ID.
 */
VSS_EXPORT int vss_writer_query(struct vss_context *ctx, unsigned int timeout_ms,
				struct vss_writer_info_list **ret);

VSS_EXPORT size_t vss_writer_info_list_count(const struct vss_writer_info_list *list);
VSS_EXPORT const struct vss_writer_info *
vss_writer_info_list_get(const struct vss_writer_info_list *list, size_t i);
VSS_EXPORT struct vss_writer_info_list *
vss_writer_info_list_unref(struct vss_writer_info_list *list);

VSS_EXPORT const char *vss_writer_info_get_name(const struct vss_writer_info *w);
VSS_EXPORT const struct vss_guid *vss_writer_info_get_class_id(const struct vss_writer_info *w);
VSS_EXPORT const struct vss_guid *vss_writer_info_get_instance_id(const struct vss_writer_info *w);
/* "express" or "live". */
VSS_EXPORT const char *vss_writer_info_get_kind(const struct vss_writer_info *w);
VSS_EXPORT enum vss_writer_state vss_writer_info_get_state(const struct vss_writer_info *w);
/* 0, or the negative failure code of the last failed event. */
VSS_EXPORT int vss_writer_info_get_failure(const struct vss_writer_info *w);
/* The writer's own words about its last failure, or NULL. */
VSS_EXPORT const char *vss_writer_info_get_failure_message(const struct vss_writer_info *w);
/* The event that failed last (meaningful when failure != 0). */
VSS_EXPORT enum vss_writer_event vss_writer_info_get_failed_event(const struct vss_writer_info *w);
/* The registration file of an express writer, the socket of a live one. */
VSS_EXPORT const char *vss_writer_info_get_path(const struct vss_writer_info *w);
/* Its metadata (borrowed; NULL when it could not be asked). */
VSS_EXPORT const struct vss_wmd *vss_writer_info_get_wmd(const struct vss_writer_info *w);

/* ---- the writer side: a live writer --------------------------------- */

/*
 *     vss_writer_new(ctx, &class_id, "PostgreSQL Writer", &w);
 *     vss_writer_set_ops(w, &my_ops, me);
 *     vss_writer_subscribe(w);          socket $RUNDIR/writers/<instance>.sock
 *     vss_writer_run(w);                or poll vss_writer_get_fd() and call
 *                                       vss_writer_dispatch() when readable
 *     vss_writer_unref(w);              unsubscribes
 *
 * Handlers run on the thread that calls vss_writer_run()/_dispatch(), one
 * event at a time.  A handler returns 0 on success; a negative return is
 * the writer's failure (-VSS_E_WRITERERROR_RETRYABLE, _NONRETRYABLE,
 * _OUTOFRESOURCES, _INCONSISTENTSNAPSHOT; anything else is reported as
 * NONRETRYABLE), with vss_writer_set_failure_message() to say why.  A NULL
 * handler succeeds.  on_identify fills the metadata document it is given;
 * without it, the writer answers with the one set by vss_writer_set_wmd().
 *
 * Guarantees on this side: after a successful on_freeze exactly one of
 * on_thaw or on_abort is called — when the requester sends Thaw or Abort,
 * when the requester's connection closes (it died), or when the freeze
 * timeout passes, whichever comes first.  Only root may drive a writer: a
 * connection from any other user is refused (SO_PEERCRED) and nothing runs.
 */
struct vss_writer;

struct vss_writer_ops {
	int (*on_identify)(struct vss_writer *w, struct vss_wmd *wmd, void *userdata);
	int (*on_prepare_backup)(struct vss_writer *w, void *userdata);
	int (*on_prepare_snapshot)(struct vss_writer *w, void *userdata);
	int (*on_freeze)(struct vss_writer *w, void *userdata);
	int (*on_thaw)(struct vss_writer *w, void *userdata);
	int (*on_post_snapshot)(struct vss_writer *w, void *userdata);
	int (*on_abort)(struct vss_writer *w, void *userdata);
	int (*on_backup_complete)(struct vss_writer *w, void *userdata);
	int (*on_backup_shutdown)(struct vss_writer *w, void *userdata);
	int (*on_pre_restore)(struct vss_writer *w, void *userdata);
	int (*on_post_restore)(struct vss_writer *w, void *userdata);
};

VSS_EXPORT int vss_writer_new(struct vss_context *ctx, const struct vss_guid *class_id,
			      const char *name, struct vss_writer **ret);
VSS_EXPORT struct vss_writer *vss_writer_ref(struct vss_writer *w);
VSS_EXPORT struct vss_writer *vss_writer_unref(struct vss_writer *w);

/* ops is copied; userdata is passed to every handler. */
VSS_EXPORT void vss_writer_set_ops(struct vss_writer *w, const struct vss_writer_ops *ops,
				   void *userdata);
/* Freeze to Thaw, at most (default 60000 ms, as VSS).  1..3600000. */
VSS_EXPORT int vss_writer_set_freeze_timeout(struct vss_writer *w, unsigned int ms);
/* The metadata to answer Identify with, when there is no on_identify
 * (a new reference is taken; identity fields are overwritten with the
 * writer's own). */
VSS_EXPORT int vss_writer_set_wmd(struct vss_writer *w, struct vss_wmd *wmd);
/* An instance name, for several instances of one class. */
VSS_EXPORT int vss_writer_set_instance_name(struct vss_writer *w, const char *name);

/*
 * Create the socket and start accepting requesters.
 * -VSS_E_WRITER_ALREADY_SUBSCRIBED when called twice.
 */
VSS_EXPORT int vss_writer_subscribe(struct vss_writer *w);
VSS_EXPORT int vss_writer_unsubscribe(struct vss_writer *w);

/*
 * One file descriptor that becomes readable whenever the writer has work
 * (a requester connects or sends, a freeze times out): put it in your own
 * poll loop and call vss_writer_dispatch(), which never blocks for long.
 */
VSS_EXPORT int vss_writer_get_fd(const struct vss_writer *w);
VSS_EXPORT int vss_writer_dispatch(struct vss_writer *w);
/* Dispatch until vss_writer_stop() or a signal handler's stop; returns
 * 0, or a negative code if the loop itself failed. */
VSS_EXPORT int vss_writer_run(struct vss_writer *w);
/* Make vss_writer_run() return (async-signal-safe). */
VSS_EXPORT void vss_writer_stop(struct vss_writer *w);

/* In a handler: what the current event is about. */
VSS_EXPORT const struct vss_guid *vss_writer_get_instance_id(const struct vss_writer *w);
VSS_EXPORT const struct vss_guid *vss_writer_get_snapshot_set_id(const struct vss_writer *w);
VSS_EXPORT int32_t vss_writer_get_context(const struct vss_writer *w);
/* The enum vss_backup_type of <vss/bcd.h>. */
VSS_EXPORT int vss_writer_get_backup_type(const struct vss_writer *w);
VSS_EXPORT enum vss_writer_state vss_writer_get_state(const struct vss_writer *w);
/* Mount points of the volumes in the set (NULL-terminated, borrowed). */
VSS_EXPORT const char *const *vss_writer_get_volumes(const struct vss_writer *w);
/* True when path lies on a volume of the set (IsPathAffected). */
VSS_EXPORT bool vss_writer_is_path_affected(const struct vss_writer *w, const char *path);
/* The backup components document of the session, or NULL (borrowed). */
VSS_EXPORT const struct vss_bcd *vss_writer_get_bcd(const struct vss_writer *w);
/* Why the handler fails (SetWriterFailureEx's message). */
VSS_EXPORT int vss_writer_set_failure_message(struct vss_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
