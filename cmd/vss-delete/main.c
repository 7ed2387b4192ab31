/*
 * vss-delete — delete shadow copies: by ID, a whole set, the oldest or all
 * copies of a volume, or every copy.
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
	OPT_OLDEST = 0x100,
	OPT_FORCE,
};

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

static const struct option longopts[] = {
	{ "set",     required_argument, NULL, 's' },
	{ "for",     required_argument, NULL, 'f' },
	{ "oldest",  no_argument,       NULL, OPT_OLDEST },
	{ "all",     no_argument,       NULL, 'a' },
	{ "force",   no_argument,       NULL, OPT_FORCE },
	{ "help",    no_argument,       NULL, 'h' },
	{ "version", no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] ID...\n"
	       " %1$s [options] --set ID\n"
	       " %1$s [options] --for VOLUME --oldest|--all\n"
	       " %1$s [options] --all\n"
	       "\n"
	       "Delete shadow copies.  Give exactly one selection.\n"
	       "\n"
	       "Options:\n"
	       " -s, --set ID          every copy of this shadow copy set\n"
	       " -f, --for VOLUME      copies of this volume (with --oldest or --all)\n"
	       "     --oldest          only the oldest copy of the --for volume\n"
	       " -a, --all             every copy (of the --for volume, if given)\n"
	       "     --force           drop the record even when the copy cannot be deleted\n"
	       "\n"
	       " -h, --help            display this help\n"
	       " -V, --version         display version\n"
	       "\n"
	       "Exit status: 0 success, 1 failure, 2 usage error, 3 nothing matched,\n"
	       "4 invalid catalog, 5 a set is being created.  See %1$s(1).\n",
	       program_invocation_short_name);
}

struct options {
	struct vss_guid set_id;
	bool have_set;
	const char *volume;
	bool oldest;
	bool all;
	bool force;
	struct vss_guid *ids;
	size_t nids;
};

static int check_selection(const struct options *o)
{
	int n = (o->nids > 0) + o->have_set + (o->volume != NULL || o->all);

	if (o->volume && !o->oldest && !o->all)
		return tool_usage_error("--for needs --oldest or --all");
	if (o->oldest && !o->volume)
		return tool_usage_error("--oldest needs --for");
	if (o->oldest && o->all)
		return tool_usage_error("--oldest and --all cannot be combined");
	if (n == 0)
		return tool_usage_error("nothing to delete: give shadow copy IDs, --set, "
					"--for or --all");
	if (n > 1)
		return tool_usage_error("give only one of: shadow copy IDs, --set, "
					"--for, --all");
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	int c, rc;

	while ((c = getopt_long(argc, argv, "s:f:ahV", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (vss_guid_parse(optarg, &o->set_id) < 0)
				return tool_usage_error_last();
			o->have_set = true;
			break;
		case 'f':
			if (!*optarg)
				return tool_usage_error("empty volume name given to --for");
			o->volume = optarg;
			break;
		case OPT_OLDEST:
			o->oldest = true;
			break;
		case 'a':
			o->all = true;
			break;
		case OPT_FORCE:
			o->force = true;
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
	rc = tool_parse_ids(argc, argv, optind, &o->ids, &o->nids);
	if (rc)
		return rc;
	return check_selection(o);
}

/* The copies q selects, or a tool exit code (3 when none). */
static int select_copies(struct vss_context *ctx, const struct vss_query *q, const char *what,
			 struct vss_snapshot_list **ret)
{
	struct vss_snapshot_list *list = NULL;
	int rc;

	rc = vss_catalog_query(ctx, q, &list);
	if (rc < 0)
		return tool_fail(rc, "cannot select shadow copies");
	if (vss_snapshot_list_count(list) == 0) {
		vss_snapshot_list_unref(list);
		tool_warn("%s", what);
		return TOOL_EXIT_NOT_FOUND;
	}
	*ret = list;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct tool_notices notices = { .deleted = stdout };
	struct vss_context *ctx = NULL;
	struct vss_snapshot_list **lists = NULL;
	size_t nlists = 0;
	char g[VSS_GUID_STRING_MAX], what[512];
	int rc, drc = 0;

	tool_init(argv);
	rc = parse_options(argc, argv, &o);
	if (rc) {
		rc = rc == STOP ? TOOL_EXIT_OK : rc;
		goto out;
	}

	rc = tool_open_context(&notices, &ctx);
	if (rc)
		goto out;
	rc = tool_require_root(ctx, "deleting shadow copies");
	if (rc)
		goto out;
	tool_recover(ctx);

	/* Everything is selected before anything is deleted: one unknown ID
	 * and nothing changes. */
	lists = calloc(o.nids ? o.nids : 1, sizeof(*lists));
	if (!lists) {
		rc = tool_fail(-ENOMEM, "cannot select the shadow copies");
		goto out;
	}
	if (o.nids) {
		for (size_t i = 0; i < o.nids; i++) {
			struct vss_query q = { .snapshot_id = &o.ids[i] };
			bool again = false;

			for (size_t j = 0; j < i; j++)
				again = again || vss_guid_equal(&o.ids[i], &o.ids[j]);
			if (again)
				continue;
			snprintf(what, sizeof(what), "no shadow copy %s", tool_guid(&o.ids[i], g));
			rc = select_copies(ctx, &q, what, &lists[nlists]);
			if (rc)
				goto out;
			nlists++;
		}
	} else {
		struct vss_query q = { 0 };

		if (o.have_set) {
			q.set_id = &o.set_id;
			snprintf(what, sizeof(what), "no shadow copy matches set %s",
				 tool_guid(&o.set_id, g));
		} else if (o.volume) {
			q.volume = o.volume;
			q.flags = o.oldest ? VSS_QUERY_OLDEST : 0;
			snprintf(what, sizeof(what), "no shadow copy matches volume '%s'", o.volume);
		} else {
			snprintf(what, sizeof(what), "no shadow copy matches: there are none");
		}
		rc = select_copies(ctx, &q, what, &lists[nlists]);
		if (rc)
			goto out;
		nlists++;
	}

	for (size_t i = 0; i < nlists; i++) {
		int r = vss_catalog_delete(ctx, lists[i], o.force ? VSS_DELETE_FORCE : 0);

		if (r < 0 && drc == 0)
			drc = r;
	}
	/* Each failed copy was reported by the notice printer already. */
	if (notices.deleted_failed > 0)
		rc = TOOL_EXIT_FAILURE;
	else if (drc < 0)
		rc = tool_fail(drc, "cannot delete shadow copies");
	else
		rc = TOOL_EXIT_OK;
out:
	for (size_t i = 0; i < nlists; i++)
		vss_snapshot_list_unref(lists[i]);
	free(lists);
	vss_context_unref(ctx);
	free(o.ids);
	return rc;
}
