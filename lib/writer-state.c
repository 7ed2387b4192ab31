/*
 * Writer states and failures (reference §3.15-3.16): their names, the one
 * transition table every part of the library follows, and how a requester
 * records the end of an event for one writer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/banned.h"

static const char *const state_names[VSS_WS_COUNT] = {
	[VSS_WS_UNKNOWN] = "Unknown",
	[VSS_WS_STABLE] = "Stable",
	[VSS_WS_WAITING_FOR_FREEZE] = "Waiting for freeze",
	[VSS_WS_WAITING_FOR_THAW] = "Waiting for thaw",
	[VSS_WS_WAITING_FOR_POST_SNAPSHOT] = "Waiting for post snapshot",
	[VSS_WS_WAITING_FOR_BACKUP_COMPLETE] = "Waiting for completion",
	[VSS_WS_FAILED_AT_IDENTIFY] = "Failed at identify",
	[VSS_WS_FAILED_AT_PREPARE_BACKUP] = "Failed at prepare backup",
	[VSS_WS_FAILED_AT_PREPARE_SNAPSHOT] = "Failed at prepare snapshot",
	[VSS_WS_FAILED_AT_FREEZE] = "Failed at freeze",
	[VSS_WS_FAILED_AT_THAW] = "Failed at thaw",
	[VSS_WS_FAILED_AT_POST_SNAPSHOT] = "Failed at post snapshot",
	[VSS_WS_FAILED_AT_BACKUP_COMPLETE] = "Failed at backup complete",
	[VSS_WS_FAILED_AT_PRE_RESTORE] = "Failed at pre restore",
	[VSS_WS_FAILED_AT_POST_RESTORE] = "Failed at post restore",
	[VSS_WS_FAILED_AT_BACKUPSHUTDOWN] = "Failed at backup shutdown",
};

static const char *const event_names[VSS_EVENT_COUNT] = {
	[VSS_EVENT_IDENTIFY] = "Identify",
	[VSS_EVENT_PREPARE_BACKUP] = "PrepareForBackup",
	[VSS_EVENT_PREPARE_SNAPSHOT] = "PrepareForSnapshot",
	[VSS_EVENT_FREEZE] = "Freeze",
	[VSS_EVENT_THAW] = "Thaw",
	[VSS_EVENT_POST_SNAPSHOT] = "PostSnapshot",
	[VSS_EVENT_ABORT] = "Abort",
	[VSS_EVENT_BACKUP_COMPLETE] = "BackupComplete",
	[VSS_EVENT_BACKUP_SHUTDOWN] = "BackupShutdown",
	[VSS_EVENT_PRE_RESTORE] = "PreRestore",
	[VSS_EVENT_POST_RESTORE] = "PostRestore",
};

/* The state an event leaves behind when it fails; UNKNOWN: none of its own. */
static const enum vss_writer_state failed_at[VSS_EVENT_COUNT] = {
	[VSS_EVENT_IDENTIFY] = VSS_WS_FAILED_AT_IDENTIFY,
	[VSS_EVENT_PREPARE_BACKUP] = VSS_WS_FAILED_AT_PREPARE_BACKUP,
	[VSS_EVENT_PREPARE_SNAPSHOT] = VSS_WS_FAILED_AT_PREPARE_SNAPSHOT,
	[VSS_EVENT_FREEZE] = VSS_WS_FAILED_AT_FREEZE,
	[VSS_EVENT_THAW] = VSS_WS_FAILED_AT_THAW,
	[VSS_EVENT_POST_SNAPSHOT] = VSS_WS_FAILED_AT_POST_SNAPSHOT,
	[VSS_EVENT_ABORT] = VSS_WS_UNKNOWN,
	[VSS_EVENT_BACKUP_COMPLETE] = VSS_WS_FAILED_AT_BACKUP_COMPLETE,
	[VSS_EVENT_BACKUP_SHUTDOWN] = VSS_WS_FAILED_AT_BACKUPSHUTDOWN,
	[VSS_EVENT_PRE_RESTORE] = VSS_WS_FAILED_AT_PRE_RESTORE,
	[VSS_EVENT_POST_RESTORE] = VSS_WS_FAILED_AT_POST_RESTORE,
};

/* The state after a successful event (reference §3.15, normal progression). */
static const enum vss_writer_state done_at[VSS_EVENT_COUNT] = {
	[VSS_EVENT_IDENTIFY] = VSS_WS_STABLE,
	[VSS_EVENT_PREPARE_BACKUP] = VSS_WS_STABLE,
	[VSS_EVENT_PREPARE_SNAPSHOT] = VSS_WS_WAITING_FOR_FREEZE,
	[VSS_EVENT_FREEZE] = VSS_WS_WAITING_FOR_THAW,
	[VSS_EVENT_THAW] = VSS_WS_WAITING_FOR_POST_SNAPSHOT,
	[VSS_EVENT_POST_SNAPSHOT] = VSS_WS_WAITING_FOR_BACKUP_COMPLETE,
	[VSS_EVENT_ABORT] = VSS_WS_STABLE,
	[VSS_EVENT_BACKUP_COMPLETE] = VSS_WS_STABLE,
	[VSS_EVENT_BACKUP_SHUTDOWN] = VSS_WS_STABLE,
	[VSS_EVENT_PRE_RESTORE] = VSS_WS_STABLE,
	[VSS_EVENT_POST_RESTORE] = VSS_WS_STABLE,
};

VSS_EXPORT const char *vss_writer_state_name(enum vss_writer_state state)
{
	if ((unsigned int)state >= VSS_WS_COUNT)
		return NULL;
	return state_names[state];
}

VSS_EXPORT const char *vss_writer_event_name(enum vss_writer_event event)
{
	if ((unsigned int)event >= VSS_EVENT_COUNT)
		return NULL;
	return event_names[event];
}

VSS_EXPORT int vss_writer_event_parse(const char *word, enum vss_writer_event *ret)
{
	for (int i = 0; i < VSS_EVENT_COUNT; i++)
		if (word && strcasecmp(word, event_names[i]) == 0) {
			*ret = (enum vss_writer_event)i;
			return 0;
		}
	return -EINVAL;
}

static bool is_failed(enum vss_writer_state state)
{
	return state >= VSS_WS_FAILED_AT_IDENTIFY && state < VSS_WS_COUNT;
}

/*
 * A failure stays visible (as vssadmin shows "Failed" after a failed
 * backup) through the events that end a session — Abort, BackupShutdown,
 * Identify — until the next backup or restore starts and succeeds.
 */
VSS_EXPORT enum vss_writer_state vss_writer_state_after(enum vss_writer_state state,
							enum vss_writer_event event, bool ok)
{
	if ((unsigned int)event >= VSS_EVENT_COUNT)
		return VSS_WS_UNKNOWN;
	if (!ok) {
		if (failed_at[event] != VSS_WS_UNKNOWN)
			return failed_at[event];
		return is_failed(state) ? state : VSS_WS_UNKNOWN;
	}
	switch (event) {
	case VSS_EVENT_IDENTIFY:
		return state == VSS_WS_UNKNOWN ? VSS_WS_STABLE : state;
	case VSS_EVENT_ABORT:
	case VSS_EVENT_BACKUP_SHUTDOWN:
		return is_failed(state) ? state : VSS_WS_STABLE;
	default:
		return done_at[event];
	}
}

static const struct failure {
	int code;
	const char *word;       /* on the socket and in hook output */
	const char *text;       /* vssadmin's "Last error:" */
} failures[] = {
	{ -VSS_E_WRITERERROR_RETRYABLE, "RETRYABLE", "Retryable error" },
	{ -VSS_E_WRITERERROR_NONRETRYABLE, "NONRETRYABLE", "Non-retryable error" },
	{ -VSS_E_WRITERERROR_TIMEOUT, "TIMEOUT", "Timed out" },
	{ -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT, "INCONSISTENTSNAPSHOT", "Inconsistent shadow copy" },
	{ -VSS_E_WRITERERROR_OUTOFRESOURCES, "OUTOFRESOURCES", "Out of resources" },
	{ -VSS_E_WRITERERROR_RECOVERY_FAILED, "RECOVERY_FAILED", "Recovery failed" },
	{ -VSS_E_WRITER_NOT_RESPONDING, "NOT_RESPONDING", "Not responding" },
};

#define NFAILURES (sizeof(failures) / sizeof(failures[0]))

VSS_EXPORT const char *vss_writer_failure_text(int failure)
{
	if (failure == 0)
		return "No error";
	for (size_t i = 0; i < NFAILURES; i++)
		if (failures[i].code == failure)
			return failures[i].text;
	return vss_strerror(failure);
}

const char *vss__writer_failure_word(int failure)
{
	if (failure == 0)
		return "NONE";
	for (size_t i = 0; i < NFAILURES; i++)
		if (failures[i].code == failure)
			return failures[i].word;
	return "NONRETRYABLE";
}

int vss__writer_failure_parse(const char *word, int *ret)
{
	const char *bare = word;

	if (!word)
		return -EINVAL;
	if (strcasecmp(word, "NONE") == 0) {
		*ret = 0;
		return 0;
	}
	/* The full names are accepted too: VSS_E_WRITERERROR_TIMEOUT. */
	if (strncasecmp(bare, "VSS_E_WRITERERROR_", 18) == 0)
		bare += 18;
	else if (strncasecmp(bare, "VSS_E_WRITER_", 13) == 0)
		bare += 13;
	for (size_t i = 0; i < NFAILURES; i++)
		if (strcasecmp(bare, failures[i].word) == 0) {
			*ret = failures[i].code;
			return 0;
		}
	return -EINVAL;
}

void vss__event_result_clear(struct vss__event_result *res)
{
	free(res->message);
	free(res->body);
	free(res->last_message);
	memset(res, 0, sizeof(*res));
}

/* Identify's answer: the writer's metadata, and who it says it is. */
static int take_identity(struct vss__writer *w, struct vss__event_result *res)
{
	struct vss_wmd *wmd = NULL;
	const char *name;
	int rc;

	if (!res->body)
		return 0;
	rc = vss_wmd_load(res->body, res->body_len, w->path, &wmd);
	if (rc < 0) {
		res->failure = -VSS_E_WRITERERROR_NONRETRYABLE;
		free(res->message);
		res->message = NULL;
		vss__strset(&res->message, vss_error_last()->message);
		return rc;
	}
	vss_wmd_unref(w->wmd);
	w->wmd = wmd;
	w->class_id = *vss_wmd_get_writer_id(wmd);
	if (!vss_guid_is_null(vss_wmd_get_instance_id(wmd)))
		w->instance_id = *vss_wmd_get_instance_id(wmd);
	name = vss_wmd_get_friendly_name(wmd);
	if (name && vss__strset(&w->name, name) < 0)
		return -ENOMEM;
	if (res->freeze_timeout_ms)
		w->freeze_timeout_ms = res->freeze_timeout_ms;
	return 0;
}

void vss__writer_record(struct vss__writer *w, enum vss_writer_event event,
			struct vss__event_result *res)
{
	bool ok;

	if (event == VSS_EVENT_IDENTIFY && res->failure == 0)
		take_identity(w, res);
	ok = res->failure == 0;
	if (event == VSS_EVENT_IDENTIFY && ok && res->has_state) {
		/* Asked, not driven: what the writer says of itself stands. */
		w->state = res->state;
		w->failure = res->last_failure;
		w->failed_event = res->last_failed_event;
		free(w->failure_message);
		w->failure_message = res->last_message;
		res->last_message = NULL;
	} else {
		w->state = vss_writer_state_after(w->state, event, ok);
		if (!ok) {
			w->failure = res->failure;
			w->failed_event = event;
			free(w->failure_message);
			w->failure_message = res->message;
			res->message = NULL;
		} else if (event == VSS_EVENT_PREPARE_BACKUP || event == VSS_EVENT_PRE_RESTORE) {
			/* A new session that starts well clears the old failure. */
			w->failure = 0;
			free(w->failure_message);
			w->failure_message = NULL;
		}
	}
	vss__event_result_clear(res);
}

struct vss__writer *vss__writer_new(const struct vss__writer_ops *ops)
{
	struct vss__writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->ops = ops;
	w->fd = -1;
	w->state = VSS_WS_UNKNOWN;
	w->freeze_timeout_ms = VSS__DEFAULT_FREEZE_TIMEOUT_MS;
	w->event_timeout_ms = VSS__DEFAULT_EVENT_TIMEOUT_MS;
	return w;
}

void vss__writer_free(struct vss__writer *w)
{
	if (!w)
		return;
	if (w->ops && w->ops->close)
		w->ops->close(w);
	vss_wmd_unref(w->wmd);
	free(w->path);
	free(w->name);
	free(w->failure_message);
	free(w);
}

void vss__writers_free(struct vss__writer **ws, size_t n)
{
	for (size_t i = 0; i < n; i++)
		vss__writer_free(ws[i]);
	free(ws);
}
