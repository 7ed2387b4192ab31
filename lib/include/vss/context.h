/*
 * <vss/context.h> — the handle every operation starts from.
 *
 * A context knows where configuration and state live, holds the settings
 * (from vss.conf, overridable per context) and the notice callback through
 * which the library reports what it did on the caller's behalf (leftovers
 * collected, copies found missing, each deletion).  The library never prints:
 * a tool prints these notices.
 *
 * Roots, each movable with an environment variable so that tests never touch
 * the real system:
 *   configuration  /etc/vss         VSS_SYSCONFDIR   (vss.conf)
 *   state          /var/lib/vss     VSS_STATEDIR     (catalog, pending sets)
 *   run time       /run/vss         VSS_RUNDIR       (locks)
 */
#ifndef VSS_CONTEXT_H
#define VSS_CONTEXT_H

#include <stdbool.h>
#include <vss/common.h>

struct vss_context;
struct vss_snapshot;

/* What the library did, or found, without being asked directly. */
enum vss_notice {
	VSS_NOTICE_DELETED = 1,   /* a copy was deleted (rc 0) or could not be (rc < 0) */
	VSS_NOTICE_ROLLED_BACK,   /* a copy of a set whose creator died unfinished was removed */
	VSS_NOTICE_RELEASED,      /* an auto-release copy whose owner ended was removed */
	VSS_NOTICE_MISSING,       /* a catalogued copy no longer exists; its record was dropped */
	VSS_NOTICE_FOUND,         /* a rescan found a copy the catalog did not know; it was added */
	VSS_NOTICE_STALE,         /* a properties file without its copy was removed */
	VSS_NOTICE_RESTORED,      /* a copy's missing properties file was written again */
	VSS_NOTICE_WRITER_FAILED, /* a writer failed and was left out (snap is NULL) */
	VSS_NOTICE_UNEXPOSED,     /* a copy's recorded exposure had vanished; it was cleared */
};

/*
 * snap is borrowed for the duration of the call.  rc is 0 when the action
 * succeeded, else its error; message says what happened in words (never
 * NULL).
 */
typedef void (*vss_notice_fn)(enum vss_notice what, const struct vss_snapshot *snap,
			      int rc, const char *message, void *userdata);

/*
 * A new context: reads the environment and, if present,
 * $VSS_SYSCONFDIR/vss.conf.  A malformed vss.conf is an error naming the
 * file and line (-VSS_E_INVALID_XML_DOCUMENT is not used; -EINVAL).
 */
VSS_EXPORT int vss_context_new(struct vss_context **ret);
VSS_EXPORT struct vss_context *vss_context_ref(struct vss_context *ctx);
VSS_EXPORT struct vss_context *vss_context_unref(struct vss_context *ctx);

VSS_EXPORT const char *vss_context_get_sysconfdir(const struct vss_context *ctx);
VSS_EXPORT const char *vss_context_get_statedir(const struct vss_context *ctx);
VSS_EXPORT const char *vss_context_get_rundir(const struct vss_context *ctx);

/*
 * The flush-and-hold window: the longest time any volume of a set may stay
 * frozen (default 10000 ms, vss.conf "hold-timeout = SECONDS").  1..600000.
 */
VSS_EXPORT int vss_context_set_hold_timeout(struct vss_context *ctx, unsigned int ms);
VSS_EXPORT unsigned int vss_context_get_hold_timeout(const struct vss_context *ctx);

VSS_EXPORT void vss_context_set_notice_fn(struct vss_context *ctx, vss_notice_fn fn,
					  void *userdata);

/*
 * Collect leftovers: roll back sets whose creator died before it finished
 * (their copies are deleted, nothing of them is recorded), and delete
 * auto-release copies whose owner process has ended.  Each is reported
 * through the notice callback.  Needs root; without root it does nothing and
 * returns 0.  When another set is being created it leaves that set alone.
 * Mutating operations call it themselves; tools call it at start.
 */
VSS_EXPORT int vss_context_recover(struct vss_context *ctx);

/* True when the caller may change state (creating, deleting): root. */
VSS_EXPORT bool vss_context_can_modify(const struct vss_context *ctx);

#endif
