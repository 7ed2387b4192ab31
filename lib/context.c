/*
 * The context: where things live, settings from vss.conf, the notice
 * callback, and recovery of what dead processes left behind.
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

#define DEFAULT_SYSCONFDIR "/etc/vss"
#define DEFAULT_STATEDIR   "/var/lib/vss"
#define DEFAULT_RUNDIR     "/run/vss"
#define DEFAULT_HOLD_TIMEOUT_MS 10000u
#define MAX_HOLD_TIMEOUT_MS     600000u
#define MAX_WRITER_TIMEOUT_MS   3600000u

static char *dir_from_env(const char *var, const char *fallback)
{
	const char *v = getenv(var);

	return strdup(v && *v ? v : fallback);
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/*
 * vss.conf: "key = value" lines, '#' comments.  Unknown keys are errors:
 * a misspelt setting silently ignored is worse than a refusal.
 */
/* The timeouts of vss.conf: "key = SECONDS" (up to three decimals). */
static const struct setting {
	const char *key;
	size_t offset;          /* of the unsigned int in struct vss_context */
	uint64_t max_ms;
} settings[] = {
	{ "hold-timeout", offsetof(struct vss_context, hold_timeout_ms), MAX_HOLD_TIMEOUT_MS },
	{ "writer-freeze-timeout", offsetof(struct vss_context, writer_freeze_timeout_ms),
	  MAX_WRITER_TIMEOUT_MS },
	{ "writer-event-timeout", offsetof(struct vss_context, writer_event_timeout_ms),
	  MAX_WRITER_TIMEOUT_MS },
};

static int apply_setting(struct vss_context *ctx, const char *path, int lineno, const char *key,
			 const char *value)
{
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const struct setting *st = &settings[i];
		uint64_t ms;

		if (strcmp(key, st->key) != 0)
			continue;
		if (parse_seconds_ms(value, &ms) < 0 || ms == 0 || ms > st->max_ms)
			return vss__error_at(-EINVAL, path, lineno, 1,
					     "%s:%d: '%s' must be seconds from 0.001 to %u, not '%s'",
					     path, lineno, key, (unsigned int)(st->max_ms / 1000), value);
		*(unsigned int *)((char *)ctx + st->offset) = (unsigned int)ms;
		return 0;
	}
	return vss__error_at(-EINVAL, path, lineno, 1,
			     "%s:%d: unknown setting '%s' (known: hold-timeout, writer-freeze-timeout, writer-event-timeout)",
			     path, lineno, key);
}

static int read_config(struct vss_context *ctx)
{
	char *path = path_join(ctx->sysconfdir, "vss.conf");
	char *text = NULL, *line, *next;
	int rc, lineno = 0;

	if (!path)
		return -ENOMEM;
	rc = file_read_all(path, &text, NULL);
	if (rc == -ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		rc = vss__error(rc, "cannot read '%s': %s", path, strerror(-rc));
		goto out;
	}
	for (line = text; line; line = next) {
		char *eq, *key, *value, *hash;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line = trim(line);
		if (!*line)
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			rc = vss__error_at(-EINVAL, path, lineno, 1,
					   "%s:%d: expected 'key = value', got '%s'", path, lineno, line);
			goto out;
		}
		*eq = '\0';
		key = trim(line);
		value = trim(eq + 1);
		rc = apply_setting(ctx, path, lineno, key, value);
		if (rc < 0)
			goto out;
	}
out:
	free(text);
	free(path);
	return rc;
}

VSS_EXPORT int vss_context_new(struct vss_context **ret)
{
	struct vss_context *ctx;
	int rc;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->refcount = 1;
	ctx->hold_timeout_ms = DEFAULT_HOLD_TIMEOUT_MS;
	ctx->writer_freeze_timeout_ms = VSS__DEFAULT_FREEZE_TIMEOUT_MS;
	ctx->writer_event_timeout_ms = VSS__DEFAULT_EVENT_TIMEOUT_MS;
	ctx->sysconfdir = dir_from_env("VSS_SYSCONFDIR", DEFAULT_SYSCONFDIR);
	ctx->statedir = dir_from_env("VSS_STATEDIR", DEFAULT_STATEDIR);
	ctx->rundir = dir_from_env("VSS_RUNDIR", DEFAULT_RUNDIR);
	if (!ctx->sysconfdir || !ctx->statedir || !ctx->rundir) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = read_config(ctx);
	if (rc < 0)
		goto fail;
	*ret = ctx;
	return 0;
fail:
	vss_context_unref(ctx);
	return rc;
}

VSS_EXPORT struct vss_context *vss_context_ref(struct vss_context *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

VSS_EXPORT struct vss_context *vss_context_unref(struct vss_context *ctx)
{
	if (!ctx || --ctx->refcount > 0)
		return NULL;
	free(ctx->sysconfdir);
	free(ctx->statedir);
	free(ctx->rundir);
	free(ctx);
	return NULL;
}

VSS_EXPORT const char *vss_context_get_sysconfdir(const struct vss_context *ctx)
{
	return ctx->sysconfdir;
}

VSS_EXPORT const char *vss_context_get_statedir(const struct vss_context *ctx)
{
	return ctx->statedir;
}

VSS_EXPORT const char *vss_context_get_rundir(const struct vss_context *ctx)
{
	return ctx->rundir;
}

VSS_EXPORT int vss_context_set_hold_timeout(struct vss_context *ctx, unsigned int ms)
{
	if (ms == 0 || ms > MAX_HOLD_TIMEOUT_MS)
		return vss__error(-EINVAL, "hold timeout of %u ms is out of range (1 ms to 600 s)", ms);
	ctx->hold_timeout_ms = ms;
	return 0;
}

VSS_EXPORT unsigned int vss_context_get_hold_timeout(const struct vss_context *ctx)
{
	return ctx->hold_timeout_ms;
}

VSS_EXPORT void vss_context_set_notice_fn(struct vss_context *ctx, vss_notice_fn fn,
					  void *userdata)
{
	ctx->notice_fn = fn;
	ctx->notice_userdata = userdata;
}

VSS_EXPORT bool vss_context_can_modify(const struct vss_context *ctx)
{
	(void)ctx;
	return geteuid() == 0;
}

void vss__notice(const struct vss_context *ctx, enum vss_notice what,
		 const struct vss_snapshot *snap, int rc, const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	if (!ctx->notice_fn)
		return;
	va_start(ap, fmt);
	if (vsnprintf(message, sizeof(message), fmt, ap) < 0)
		message[0] = '\0';
	va_end(ap);
	ctx->notice_fn(what, snap, rc, message, ctx->notice_userdata);
}

int vss__require_root(const char *what)
{
	if (geteuid() == 0)
		return 0;
	return vss__error(-EPERM, "%s needs root privileges", what);
}

int vss__mkdir_p(const char *dir, mode_t mode)
{
	struct sbuf sb = SBUF_INIT;
	int rc;

	rc = sbuf_adds(&sb, dir);
	if (rc < 0)
		return rc;
	for (char *p = sb.data + 1; ; p++) {
		char saved = *p;

		if (saved != '/' && saved != '\0')
			continue;
		*p = '\0';
		if (mkdir(sb.data, mode) < 0 && errno != EEXIST) {
			rc = vss__error(-errno, "cannot create directory '%s': %s", sb.data, strerror(errno));
			goto out;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
out:
	sbuf_release(&sb);
	return rc;
}

void vss__test_stall(const struct vss_context *ctx, const char *point)
{
	const char *want = getenv("VSS_TEST_STALL");
	char *marker, name[64];
	struct timespec tick = { 0, 100 * 1000 * 1000 };

	if (!want || strcmp(want, point) != 0)
		return;
	snprintf(name, sizeof(name), "stall-%s", point);
	marker = path_join(ctx->rundir, name);
	if (marker) {
		file_write_atomic(marker, "", 0, 0644, false);
		free(marker);
	}
	for (int i = 0; i < 600; i++)
		nanosleep(&tick, NULL);
}

VSS_EXPORT int vss_context_recover(struct vss_context *ctx)
{
	char *lock_path = NULL;
	int fd = -1, rc;

	if (geteuid() != 0)
		return 0;
	rc = vss__mkdir_p(ctx->rundir, 0755);
	if (rc < 0)
		return rc;
	lock_path = path_join(ctx->rundir, VSS__CREATE_LOCK);
	if (!lock_path)
		return -ENOMEM;
	/* Journals are only stale when nobody holds the creation lock: a set
	 * being made right now is left alone. */
	rc = vss__lock_take(lock_path, LOCK_EX, false, &fd);
	if (rc == 0) {
		rc = vss__pending_recover(ctx);
		vss__unlock(fd);
	} else if (rc == -EWOULDBLOCK) {
		rc = 0;
	}
	if (rc == 0)
		rc = vss__catalog_tidy(ctx);
	if (rc == 0)
		rc = vss__release_orphans(ctx);
	free(lock_path);
	return rc;
}
