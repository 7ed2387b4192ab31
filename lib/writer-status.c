/*
 * The state a requester leaves behind for each writer, so that a later
 * "vss-list --writers" can say how the last backup went for writers that
 * have no process to ask (express writers).  One small key=value file per
 * writer instance in $RUNDIR/writer-status/, replaced atomically; it lives
 * in the run directory because a writer's state means nothing after a
 * reboot.
 *
 *     state=9
 *     failure=TIMEOUT
 *     failed-event=Freeze
 *     message=no answer to Freeze within 2.000 s
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

static char *status_path(const struct vss_context *ctx, const struct vss_guid *instance_id)
{
	char id[VSS_GUID_STRING_MAX];
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "%s/%s/%s.status", ctx->rundir, VSS__WRITER_STATUS_DIR,
		  vss_guid_format(instance_id, 0, id));
	return sbuf_detach(&sb);
}

/* Values are one line: newlines become spaces. */
static void add_value(struct sbuf *sb, const char *key, const char *value)
{
	sbuf_addf(sb, "%s=", key);
	for (const char *p = value; *p; p++)
		sbuf_addch(sb, *p == '\n' || *p == '\r' ? ' ' : *p);
	sbuf_addch(sb, '\n');
}

int vss__writer_status_save(const struct vss_context *ctx, const struct vss__writer *w)
{
	struct sbuf sb = SBUF_INIT, dir = SBUF_INIT;
	char *path = NULL;
	int rc;

	sbuf_addf(&dir, "%s/%s", ctx->rundir, VSS__WRITER_STATUS_DIR);
	rc = vss__mkdir_p(sbuf_str(&dir), 0755);
	if (rc < 0)
		goto out;
	path = status_path(ctx, &w->instance_id);
	if (!path) {
		rc = -ENOMEM;
		goto out;
	}
	sbuf_addf(&sb, "state=%d\n", (int)w->state);
	if (w->failure) {
		add_value(&sb, "failure", vss__writer_failure_word(w->failure));
		add_value(&sb, "failed-event", vss_writer_event_name(w->failed_event));
		if (w->failure_message)
			add_value(&sb, "message", w->failure_message);
	}
	/* Not durable: the record is advice, and gone at reboot anyway. */
	rc = file_write_atomic(path, sbuf_str(&sb), sb.len, 0644, false);
	if (rc < 0)
		rc = vss__error(rc, "cannot record the state of writer '%s' in '%s': %s",
				w->name ? w->name : "?", path, strerror(-rc));
out:
	free(path);
	sbuf_release(&sb);
	sbuf_release(&dir);
	return rc;
}

int vss__writer_status_load(const struct vss_context *ctx, struct vss__writer *w)
{
	char *path = status_path(ctx, &w->instance_id), *text = NULL, *line, *next;
	int rc;

	if (!path)
		return -ENOMEM;
	rc = file_read_all(path, &text, NULL);
	if (rc == -ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	for (line = text; line && *line; line = next) {
		char *value;
		uint32_t n;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		value = strchr(line, '=');
		if (!value)
			continue;
		*value++ = '\0';
		/* A damaged record is ignored field by field: it is advice. */
		if (strcmp(line, "state") == 0 && parse_u32(value, &n) == 0 && n < VSS_WS_COUNT)
			w->state = (enum vss_writer_state)n;
		else if (strcmp(line, "failure") == 0)
			vss__writer_failure_parse(value, &w->failure);
		else if (strcmp(line, "failed-event") == 0)
			vss_writer_event_parse(value, &w->failed_event);
		else if (strcmp(line, "message") == 0)
			rc = vss__strset(&w->failure_message, value);
	}
out:
	free(text);
	free(path);
	return rc;
}
