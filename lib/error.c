/*
 * Error codes, their names, and the per-thread last error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vss-private.h"
#include "util/banned.h"

struct error_name {
	int code;
	const char *name;
	const char *text;
};

static const struct error_name vss_errors[] = {
	{ VSS_E_BAD_STATE, "VSS_E_BAD_STATE", "call out of sequence" },
	{ VSS_E_UNEXPECTED, "VSS_E_UNEXPECTED", "unexpected error" },
	{ VSS_E_PROVIDER_ALREADY_REGISTERED, "VSS_E_PROVIDER_ALREADY_REGISTERED", "provider already registered" },
	{ VSS_E_PROVIDER_NOT_REGISTERED, "VSS_E_PROVIDER_NOT_REGISTERED", "provider not registered" },
	{ VSS_E_PROVIDER_VETO, "VSS_E_PROVIDER_VETO", "provider failed" },
	{ VSS_E_PROVIDER_IN_USE, "VSS_E_PROVIDER_IN_USE", "provider in use" },
	{ VSS_E_OBJECT_NOT_FOUND, "VSS_E_OBJECT_NOT_FOUND", "object not found" },
	{ VSS_E_VOLUME_NOT_SUPPORTED, "VSS_E_VOLUME_NOT_SUPPORTED", "no provider supports the volume" },
	{ VSS_E_OBJECT_ALREADY_EXISTS, "VSS_E_OBJECT_ALREADY_EXISTS", "object already exists" },
	{ VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER, "VSS_E_VOLUME_NOT_SUPPORTED_BY_PROVIDER", "provider does not support the volume" },
	{ VSS_E_UNEXPECTED_PROVIDER_ERROR, "VSS_E_UNEXPECTED_PROVIDER_ERROR", "unexpected provider error" },
	{ VSS_E_CORRUPT_XML_DOCUMENT, "VSS_E_CORRUPT_XML_DOCUMENT", "XML document could not be read" },
	{ VSS_E_INVALID_XML_DOCUMENT, "VSS_E_INVALID_XML_DOCUMENT", "XML document not valid for its schema" },
	{ VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED, "VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED", "too many volumes in the set" },
	{ VSS_E_FLUSH_WRITES_TIMEOUT, "VSS_E_FLUSH_WRITES_TIMEOUT", "could not flush writes in time" },
	{ VSS_E_HOLD_WRITES_TIMEOUT, "VSS_E_HOLD_WRITES_TIMEOUT", "could not hold writes in time" },
	{ VSS_E_UNEXPECTED_WRITER_ERROR, "VSS_E_UNEXPECTED_WRITER_ERROR", "unexpected writer error" },
	{ VSS_E_SNAPSHOT_SET_IN_PROGRESS, "VSS_E_SNAPSHOT_SET_IN_PROGRESS", "another shadow copy set is being created" },
	{ VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED, "VSS_E_MAXIMUM_NUMBER_OF_SNAPSHOTS_REACHED", "maximum number of shadow copies reached" },
	{ VSS_E_WRITER_INFRASTRUCTURE, "VSS_E_WRITER_INFRASTRUCTURE", "writer infrastructure failure" },
	{ VSS_E_WRITER_NOT_RESPONDING, "VSS_E_WRITER_NOT_RESPONDING", "writer not responding" },
	{ VSS_E_WRITER_ALREADY_SUBSCRIBED, "VSS_E_WRITER_ALREADY_SUBSCRIBED", "writer already subscribed" },
	{ VSS_E_UNSUPPORTED_CONTEXT, "VSS_E_UNSUPPORTED_CONTEXT", "context not supported for this operation" },
	{ VSS_E_VOLUME_IN_USE, "VSS_E_VOLUME_IN_USE", "volume in use" },
	{ VSS_E_MAXIMUM_DIFFAREA_ASSOCIATIONS_REACHED, "VSS_E_MAXIMUM_DIFFAREA_ASSOCIATIONS_REACHED", "too many shadow storage associations" },
	{ VSS_E_INSUFFICIENT_STORAGE, "VSS_E_INSUFFICIENT_STORAGE", "not enough space" },
	{ VSS_E_NO_SNAPSHOTS_IMPORTED, "VSS_E_NO_SNAPSHOTS_IMPORTED", "no shadow copies imported" },
	{ VSS_E_SOME_SNAPSHOTS_NOT_IMPORTED, "VSS_E_SOME_SNAPSHOTS_NOT_IMPORTED", "some shadow copies not imported" },
	{ VSS_E_REVERT_IN_PROGRESS, "VSS_E_REVERT_IN_PROGRESS", "revert in progress" },
	{ VSS_E_REVERT_VOLUME_LOST, "VSS_E_REVERT_VOLUME_LOST", "volume lost during revert" },
	{ VSS_E_REBOOT_REQUIRED, "VSS_E_REBOOT_REQUIRED", "reboot required" },
	{ VSS_E_UNSELECTED_VOLUME, "VSS_E_UNSELECTED_VOLUME", "volume not selected" },
	{ VSS_E_SNAPSHOT_NOT_IN_SET, "VSS_E_SNAPSHOT_NOT_IN_SET", "shadow copy not in the set" },
	{ VSS_E_NESTED_VOLUME_LIMIT, "VSS_E_NESTED_VOLUME_LIMIT", "nested volume limit reached" },
	{ VSS_E_VOLUME_NOT_LOCAL, "VSS_E_VOLUME_NOT_LOCAL", "volume not local" },
	{ VSS_E_NOT_SUPPORTED, "VSS_E_NOT_SUPPORTED", "not supported" },
	{ VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT, "VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT", "writer: inconsistent shadow copy" },
	{ VSS_E_WRITERERROR_OUTOFRESOURCES, "VSS_E_WRITERERROR_OUTOFRESOURCES", "writer: out of resources" },
	{ VSS_E_WRITERERROR_TIMEOUT, "VSS_E_WRITERERROR_TIMEOUT", "writer: timed out" },
	{ VSS_E_WRITERERROR_RETRYABLE, "VSS_E_WRITERERROR_RETRYABLE", "writer: transient error, retry" },
	{ VSS_E_WRITERERROR_NONRETRYABLE, "VSS_E_WRITERERROR_NONRETRYABLE", "writer: error" },
	{ VSS_E_WRITERERROR_RECOVERY_FAILED, "VSS_E_WRITERERROR_RECOVERY_FAILED", "writer: recovery failed" },
	{ VSS_E_WRITER_STATUS_NOT_AVAILABLE, "VSS_E_WRITER_STATUS_NOT_AVAILABLE", "writer status not available" },
};

static const struct error_name *find_vss_error(int code)
{
	if (code < 0)
		code = -code;
	for (size_t i = 0; i < sizeof(vss_errors) / sizeof(vss_errors[0]); i++)
		if (vss_errors[i].code == code)
			return &vss_errors[i];
	return NULL;
}

VSS_EXPORT const char *vss_error_name(int code)
{
	const struct error_name *e;

	if (code < 0)
		code = -code;
	if (code >= VSS_E_BASE) {
		e = find_vss_error(code);
		return e ? e->name : NULL;
	}
	return code ? strerrorname_np(code) : NULL;
}

static _Thread_local char strerror_buf[160];

VSS_EXPORT const char *vss_strerror(int code)
{
	const struct error_name *e;

	if (code < 0)
		code = -code;
	if (code == 0)
		return "success";
	if (code < VSS_E_BASE)
		return strerror(code);
	e = find_vss_error(code);
	if (!e) {
		snprintf(strerror_buf, sizeof(strerror_buf), "unknown VSS error %d", code);
		return strerror_buf;
	}
	snprintf(strerror_buf, sizeof(strerror_buf), "%s: %s", e->name, e->text);
	return strerror_buf;
}

/* The last error: a message buffer and the position of a parse error. */
static _Thread_local struct {
	struct vss_error pub;
	char message[1024];
	char file[512];
} last;

VSS_EXPORT const struct vss_error *vss_error_last(void)
{
	last.pub.message = last.message;
	if (!last.file[0])
		last.pub.file = NULL;
	return &last.pub;
}

VSS_EXPORT void vss_error_clear(void)
{
	last.pub.code = 0;
	last.pub.line = 0;
	last.pub.column = 0;
	last.message[0] = '\0';
	last.file[0] = '\0';
}

static void set_message(const char *fmt, va_list ap)
{
	vsnprintf(last.message, sizeof(last.message), fmt, ap);
}

int vss__error(int code, const char *fmt, ...)
{
	va_list ap;

	vss_error_clear();
	last.pub.code = code;
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	vss__debug("error %s: %s", vss_error_name(code) ? vss_error_name(code) : "?", last.message);
	return code;
}

int vss__error_at(int code, const char *file, int line, int column, const char *fmt, ...)
{
	va_list ap;

	vss_error_clear();
	last.pub.code = code;
	if (file) {
		snprintf(last.file, sizeof(last.file), "%s", file);
		last.pub.file = last.file;
	}
	last.pub.line = line;
	last.pub.column = column;
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	vss__debug("error %s at %s:%d:%d: %s", vss_error_name(code) ? vss_error_name(code) : "?",
		   file ? file : "-", line, column, last.message);
	return code;
}

void vss__error_save(struct vss__saved_error *e)
{
	e->code = last.pub.code;
	e->line = last.pub.line;
	e->column = last.pub.column;
	snprintf(e->message, sizeof(e->message), "%s", last.message);
	snprintf(e->file, sizeof(e->file), "%s", last.file);
}

int vss__error_restore(const struct vss__saved_error *e)
{
	return vss__error_at(e->code, e->file[0] ? e->file : NULL, e->line, e->column, "%s",
			     e->message);
}

void vss__error_prefix(const char *fmt, ...)
{
	char prefix[512], old[sizeof(last.message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", last.message);
	/* A message longer than the buffer is cut; that is acceptable. */
	if (snprintf(last.message, sizeof(last.message), "%s: %s", prefix, old) < 0)
		last.message[0] = '\0';
}

void vss__debug(const char *fmt, ...)
{
	static int enabled = -1;
	va_list ap;

	if (enabled < 0)
		enabled = getenv("VSS_DEBUG") != NULL;
	if (!enabled)
		return;
	fputs("libvss: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

VSS_EXPORT const char *vss_version(void)
{
	return VSS_VERSION_STRING;
}
