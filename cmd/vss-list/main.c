/*
 * vss-list — list shadow copies.
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
	OPT_RESCAN = 0x100,
};

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

static const struct option longopts[] = {
	{ "for",        required_argument, NULL, 'f' },
	{ "set",        required_argument, NULL, 's' },
	{ "json",       no_argument,       NULL, 'J' },
	{ "output",     required_argument, NULL, 'o' },
	{ "noheadings", no_argument,       NULL, 'n' },
	{ "raw",        no_argument,       NULL, 'r' },
	{ "rescan",     no_argument,       NULL, OPT_RESCAN },
	{ "writers",    no_argument,       NULL, 'w' },
	{ "help",       no_argument,       NULL, 'h' },
	{ "version",    no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] [ID...]\n"
	       "\n"
	       "List shadow copies: all of them, those named by ID, or those matching\n"
	       "--for and --set.\n"
	       "\n"
	       "Options:\n"
	       " -f, --for VOLUME       only copies of this volume (mount point, device,\n"
	       "                          UUID=..., LABEL=...)\n"
	       " -s, --set ID           only copies of this shadow copy set\n"
	       " -J, --json             use JSON output format\n"
	       " -o, --output COLUMNS   the columns to show; +COLUMNS adds to the default\n"
	       " -n, --noheadings       do not print headings\n"
	       " -r, --raw              use the raw output format\n"
	       "     --rescan           rebuild the catalog from the providers first (root)\n"
	       " -w, --writers          list the writers instead: state and last error\n"
	       "\n"
	       " -h, --help             display this help\n"
	       " -V, --version          display version\n",
	       program_invocation_short_name);
	tool_columns_help(stdout);
	tool_writer_columns_help(stdout);
	printf("\nExit status: 0 success, 1 failure, 2 usage error, 3 not found,\n"
	       "4 invalid catalog, 5 a set is being created (--rescan).  See %s(1).\n",
	       program_invocation_short_name);
	return TOOL_EXIT_OK;
}

struct options {
	const char *volume;
	struct vss_guid set_id;
	bool have_set;
	struct vss_guid *ids;
	size_t nids;
	int cols[TOOL_MAX_COLUMNS];
	size_t ncols;
	unsigned int table_flags;
	bool rescan;
	bool writers;
	const char *output;        /* -o, parsed once --writers is known */
};

static int parse_options(int argc, char **argv, struct options *o)
{
	int c, rc;

	tool_columns_default(o->cols, &o->ncols);
	while ((c = getopt_long(argc, argv, "f:s:Jo:nrwhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!*optarg)
				return tool_usage_error("empty volume name given to --for");
			o->volume = optarg;
			break;
		case 's':
			if (vss_guid_parse(optarg, &o->set_id) < 0)
				return tool_usage_error_last();
			o->have_set = true;
			break;
		case 'J':
			o->table_flags |= TOOL_TABLE_JSON;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'w':
			o->writers = true;
			break;
		case 'n':
			o->table_flags |= TOOL_TABLE_NOHEADINGS;
			break;
		case 'r':
			o->table_flags |= TOOL_TABLE_RAW;
			break;
		case OPT_RESCAN:
			o->rescan = true;
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
	if (o->writers) {
		if (o->volume || o->have_set || o->rescan || optind < argc)
			return tool_usage_error("--writers lists writers: it takes no %s",
						optind < argc ? "shadow copy ID" :
						o->rescan ? "--rescan" : o->volume ? "--for" : "--set");
		tool_writer_columns_default(o->cols, &o->ncols);
		return o->output ? tool_writer_columns_parse(o->output, o->cols, &o->ncols) : 0;
	}
	if (o->output) {
		rc = tool_columns_parse(o->output, o->cols, &o->ncols);
		if (rc)
			return rc;
	}
	rc = tool_parse_ids(argc, argv, optind, &o->ids, &o->nids);
	if (rc)
		return rc;
	return 0;
}

/* Add the copies matching q to the table; *ret_n receives how many. */
static int list_matching(struct vss_context *ctx, const struct vss_query *q,
			 struct tool_table *table, size_t *ret_n)
{
	struct vss_snapshot_list *list = NULL;
	int rc;

	rc = vss_catalog_query(ctx, q, &list);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot list shadow copies");
		goto out;
	}
	*ret_n = vss_snapshot_list_count(list);
	if (tool_table_add_list(table, list) < 0)
		rc = tool_fail(-ENOMEM, "cannot build the table");
out:
	vss_snapshot_list_unref(list);
	return rc;
}

static int list_writers(struct vss_context *ctx, const struct options *o)
{
	struct vss_writer_info_list *list = NULL;
	int rc = vss_writer_query(ctx, 0, &list);

	if (rc < 0)
		return tool_fail(rc, "cannot list the writers");
	rc = tool_writer_table_print(list, o->cols, o->ncols, o->table_flags, stdout);
	if (rc < 0)
		rc = tool_fail(rc, "cannot print the writers");
	vss_writer_info_list_unref(list);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct tool_notices notices = { .deleted = stderr };
	struct vss_context *ctx = NULL;
	struct tool_table *table = NULL;
	struct vss_query q = { 0 };
	size_t n;
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

	if (o.writers) {
		rc = list_writers(ctx, &o);
		goto out;
	}
	if (o.rescan && (rc = tool_require_root(ctx, "rescanning the catalog")))
		goto out;
	/* Leftovers first, so that what is listed exists; and exposures that
	 * vanished (reboot, manual umount) are reported and forgotten, so that
	 * what is listed as exposed is.  Both change nothing without root. */
	tool_recover(ctx);
	rc = vss_expose_reconcile(ctx);
	if (rc < 0 && tool_exit_code(rc) != TOOL_EXIT_DOCUMENT)
		tool_fail(rc, "cannot check the recorded exposures");
	rc = 0;
	if (o.rescan) {
		rc = vss_catalog_rescan(ctx);
		if (rc < 0) {
			rc = tool_fail(rc, "cannot rescan the catalog");
			goto out;
		}
	}

	table = tool_table_new(o.cols, o.ncols, o.table_flags);
	if (!table) {
		rc = tool_fail(-ENOMEM, "cannot build the table");
		goto out;
	}
	q.volume = o.volume;
	q.set_id = o.have_set ? &o.set_id : NULL;
	if (o.nids == 0) {
		rc = list_matching(ctx, &q, table, &n);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < o.nids; i++) {
		char g[VSS_GUID_STRING_MAX];

		q.snapshot_id = &o.ids[i];
		rc = list_matching(ctx, &q, table, &n);
		if (rc)
			goto out;
		if (n == 0) {
			tool_warn("no shadow copy %s", tool_guid(&o.ids[i], g));
			rc = TOOL_EXIT_NOT_FOUND;
			goto out;
		}
	}

	rc = tool_table_print(table, NULL, stdout);
	if (rc < 0)
		rc = tool_fail(rc, "cannot print the table");
out:
	tool_table_free(table);
	vss_context_unref(ctx);
	free(o.ids);
	return rc;
}
