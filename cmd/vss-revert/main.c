/*
 * vss-revert — roll a volume back to one of its shadow copies, keeping its
 * current state as a new shadow copy (the safety copy) first.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vss.h>

#include "../common/tool.h"
#include "util/banned.h"

enum {
	OPT_DRY_RUN = 0x100,
	OPT_NO_SAFETY_COPY,
	OPT_REMOUNT,
};

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

static const struct option longopts[] = {
	{ "dry-run",        no_argument, NULL, OPT_DRY_RUN },
	{ "no-safety-copy", no_argument, NULL, OPT_NO_SAFETY_COPY },
	{ "remount",        no_argument, NULL, OPT_REMOUNT },
	{ "json",           no_argument, NULL, 'J' },
	{ "help",           no_argument, NULL, 'h' },
	{ "version",        no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] ID\n"
	       "\n"
	       "Revert the volume of shadow copy ID to the copy: its data becomes what it\n"
	       "was when the copy was taken.  Its current state is kept first as a new\n"
	       "shadow copy, the safety copy; revert to that to undo the revert.\n"
	       "\n"
	       "Options:\n"
	       "     --dry-run          say what would be done; change nothing\n"
	       "     --no-safety-copy   do not keep the current state first\n"
	       "     --remount          allow unmounting the volume and mounting it again\n"
	       " -J, --json             use JSON output format\n"
	       "\n"
	       " -h, --help             display this help\n"
	       " -V, --version          display version\n"
	       "\n"
	       "Exit status: 0 success, 1 failure (volume mounted without --remount, in\n"
	       "use, not revertible), 2 usage error, 3 no such shadow copy, 4 invalid\n"
	       "catalog, 5 a set is being created.  See %1$s(1).\n",
	       program_invocation_short_name);
}

struct options {
	unsigned int flags;
	bool json;
	struct vss_guid id;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "JhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DRY_RUN:
			o->flags |= VSS_REVERT_DRY_RUN;
			break;
		case OPT_NO_SAFETY_COPY:
			o->flags |= VSS_REVERT_NO_SAFETY_COPY;
			break;
		case OPT_REMOUNT:
			o->flags |= VSS_REVERT_REMOUNT;
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			usage();
			return STOP;
		case 'V':
			tool_print_version();
			return STOP;
		default:
			return tool_try_help();
		}
	}
	if (optind >= argc)
		return tool_usage_error("no shadow copy ID given");
	if (optind + 1 < argc)
		return tool_usage_error("give one shadow copy ID");
	if (vss_guid_parse(argv[optind], &o->id) < 0)
		return tool_usage_error_last();
	return 0;
}

/* The next line of *plan (cut there), or NULL at the end. */
static char *next_line(char **plan)
{
	char *line = *plan, *nl;

	if (!line || !*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl)
		*nl++ = '\0';
	*plan = nl;
	return line;
}

/* A JSON string, or null for NULL. */
static void json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void print_json(const struct options *o, const char *volume, const char *safety,
		       char *plan)
{
	char g[VSS_GUID_STRING_MAX];
	bool first = true;

	printf("{\n   \"reverts\": [\n      {\n         \"id\": ");
	json_string(stdout, tool_guid(&o->id, g));
	printf(",\n         \"volume\": ");
	json_string(stdout, volume);
	printf(",\n         \"dry_run\": %s,\n         \"remount\": %s,\n         \"safety_copy\": ",
	       (o->flags & VSS_REVERT_DRY_RUN) ? "true" : "false",
	       (o->flags & VSS_REVERT_REMOUNT) ? "true" : "false");
	json_string(stdout, safety);
	printf(",\n         \"steps\": [");
	for (char *line = next_line(&plan); line; line = next_line(&plan)) {
		printf("%s\n            ", first ? "" : ",");
		json_string(stdout, line);
		first = false;
	}
	printf("%s]\n      }\n   ]\n}\n", first ? "" : "\n         ");
}

static void print_text(const struct options *o, const char *volume, const char *safety,
		       char *plan)
{
	char g[VSS_GUID_STRING_MAX];
	bool dry = o->flags & VSS_REVERT_DRY_RUN;
	unsigned int n = 0;

	printf("%s '%s' to shadow copy %s%s\n", dry ? "Would revert" : "Reverted",
	       volume ? volume : "?", tool_guid(&o->id, g), dry ? " (dry run: nothing changed):" : ":");
	for (char *line = next_line(&plan); line; line = next_line(&plan))
		printf("  %u. %s\n", ++n, line);
	if (!dry)
		printf("Safety copy: %s\n", safety ? safety : "none (--no-safety-copy)");
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct tool_notices notices = { .deleted = stderr };
	struct vss_context *ctx = NULL;
	struct vss_snapshot_list *list = NULL;
	struct vss_guid safety = { 0 };
	char g[VSS_GUID_STRING_MAX], sg[VSS_GUID_STRING_MAX], *plan = NULL, *volume = NULL;
	const char *v;
	int rc;

	tool_init(argv);
	rc = parse_options(argc, argv, &o);
	if (rc) {
		rc = rc == STOP ? TOOL_EXIT_OK : rc;
		goto out;
	}

	rc = tool_open_context(&notices, &ctx);
	if (rc)
		goto out;
	rc = tool_require_root(ctx, "reverting a volume");
	if (rc)
		goto out;
	tool_recover(ctx);

	{
		struct vss_query q = { .snapshot_id = &o.id };

		rc = vss_catalog_query(ctx, &q, &list);
		if (rc < 0) {
			rc = tool_fail(rc, "cannot look up shadow copy %s", tool_guid(&o.id, g));
			goto out;
		}
	}
	if (vss_snapshot_list_count(list) == 0) {
		tool_warn("no shadow copy %s", tool_guid(&o.id, g));
		rc = TOOL_EXIT_NOT_FOUND;
		goto out;
	}
	v = vss_snapshot_get_original_volume(vss_snapshot_list_get(list, 0));
	if (v) {
		volume = strdup(v);
		if (!volume) {
			rc = tool_fail(-ENOMEM, "cannot revert");
			goto out;
		}
	}

	rc = vss_revert(ctx, &o.id, o.flags, &safety, &plan);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot revert '%s' to shadow copy %s", volume ? volume : "?",
			       tool_guid(&o.id, g));
		goto out;
	}
	tool_guid(&safety, sg);
	if (o.json)
		print_json(&o, volume, vss_guid_is_null(&safety) ? NULL : sg, plan);
	else
		print_text(&o, volume, vss_guid_is_null(&safety) ? NULL : sg, plan);
	rc = TOOL_EXIT_OK;
out:
	free(plan);
	free(volume);
	vss_snapshot_list_unref(list);
	vss_context_unref(ctx);
	return rc;
}
