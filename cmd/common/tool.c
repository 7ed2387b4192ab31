/*
 * Exit codes, error and usage messages, version, and the checked close of
 * stdout shared by the tools.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"
#include "util/banned.h"

int tool_exit_code(int rc)
{
	int code = rc < 0 ? -rc : rc;

	if (rc == 0)
		return TOOL_EXIT_OK;
	switch (code) {
	case VSS_E_OBJECT_NOT_FOUND:
		return TOOL_EXIT_NOT_FOUND;
	case VSS_E_CORRUPT_XML_DOCUMENT:
	case VSS_E_INVALID_XML_DOCUMENT:
		return TOOL_EXIT_DOCUMENT;
	case VSS_E_SNAPSHOT_SET_IN_PROGRESS:
		return TOOL_EXIT_BUSY;
	case VSS_E_UNEXPECTED_WRITER_ERROR:
	case VSS_E_WRITER_INFRASTRUCTURE:
	case VSS_E_WRITER_NOT_RESPONDING:
	case VSS_E_WRITER_ALREADY_SUBSCRIBED:
	case VSS_E_WRITER_STATUS_NOT_AVAILABLE:
		return TOOL_EXIT_WRITER;
	default:
		break;
	}
	if (code >= VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT &&
	    code <= VSS_E_WRITERERROR_RECOVERY_FAILED)
		return TOOL_EXIT_WRITER;
	return TOOL_EXIT_FAILURE;
}

int tool_fail(int rc, const char *what_fmt, ...)
{
	const struct vss_error *e = vss_error_last();
	const char *msg;
	char what[512];
	va_list ap;

	va_start(ap, what_fmt);
	vsnprintf(what, sizeof(what), what_fmt, ap);
	va_end(ap);
	if (rc >= 0)
		rc = -EIO;  /* a caller's mistake; still a failure */

	/* An older message may belong to another failure: use it only when it
	 * is this one's. */
	if (e->code == rc && e->message[0]) {
		msg = e->message;
		/* A document error names where; say it unless the message does. */
		if (e->file && e->line > 0 && !strstr(msg, e->file)) {
			fprintf(stderr, "%s: %s: %s:%d: %s\n", program_invocation_short_name,
				what, e->file, e->line, msg);
			return tool_exit_code(rc);
		}
	} else {
		msg = vss_strerror(rc);
	}
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, msg);
	return tool_exit_code(rc);
}

void tool_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tool_try_help(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
	return TOOL_EXIT_USAGE;
}

int tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return tool_try_help();
}

int tool_usage_error_last(void)
{
	const struct vss_error *e = vss_error_last();

	return tool_usage_error("%s", e->message[0] ? e->message : vss_strerror(e->code));
}

int tool_print_version(void)
{
	printf("%s from vss %s\n", program_invocation_short_name, VSS_VERSION_STRING);
	return TOOL_EXIT_OK;
}

/*
 * As util-linux's close_stream(): a write error that stdio kept to itself
 * (full disk, closed pipe reader) must not turn into exit status 0.
 */
static int close_stream(FILE *stream)
{
	const bool some_pending = __fpending(stream) != 0;
	const bool prev_fail = ferror(stream) != 0;
	const bool fclose_fail = fclose(stream) != 0;

	if (prev_fail || (fclose_fail && (some_pending || errno != EBADF))) {
		if (!fclose_fail)
			errno = 0;
		return EOF;
	}
	return 0;
}

static void close_stdout(void)
{
	if (close_stream(stdout) != 0 && errno != EPIPE) {
		if (errno)
			fprintf(stderr, "%s: write error: %s\n", program_invocation_short_name,
				strerror(errno));
		else
			fprintf(stderr, "%s: write error\n", program_invocation_short_name);
		_exit(TOOL_EXIT_FAILURE);
	}
	if (close_stream(stderr) != 0)
		_exit(TOOL_EXIT_FAILURE);
}

void tool_init(char **argv)
{
	argv[0] = program_invocation_short_name;
	atexit(close_stdout);
}

int tool_require_root(const struct vss_context *ctx, const char *action)
{
	if (vss_context_can_modify(ctx))
		return 0;
	fprintf(stderr, "%s: %s needs root privileges (try sudo)\n",
		program_invocation_short_name, action);
	return TOOL_EXIT_FAILURE;
}

int tool_open_context(struct tool_notices *notices, struct vss_context **ret)
{
	int rc = vss_context_new(ret);

	if (rc < 0)
		return tool_fail(rc, "cannot set up");
	vss_context_set_notice_fn(*ret, tool_notice, notices);
	return 0;
}

int tool_parse_ids(int argc, char **argv, int first, struct vss_guid **ret, size_t *ret_n)
{
	struct vss_guid *ids;
	size_t n;

	*ret = NULL;
	*ret_n = 0;
	if (first >= argc)
		return 0;
	n = (size_t)(argc - first);
	ids = calloc(n, sizeof(*ids));
	if (!ids)
		return tool_fail(-ENOMEM, "cannot parse the arguments");
	for (size_t i = 0; i < n; i++) {
		if (vss_guid_parse(argv[first + (int)i], &ids[i]) < 0) {
			free(ids);
			return tool_usage_error_last();
		}
	}
	*ret = ids;
	*ret_n = n;
	return 0;
}

void tool_recover(struct vss_context *ctx)
{
	int rc = vss_context_recover(ctx);

	if (rc < 0 && tool_exit_code(rc) != TOOL_EXIT_DOCUMENT)
		tool_fail(rc, "cannot collect leftovers");
}

const char *tool_guid(const struct vss_guid *g, char buf[VSS_GUID_STRING_MAX])
{
	return vss_guid_format(g, VSS_GUID_BRACES, buf);
}
