/*
 * vss-expose — make shadow copies visible: read-only at a directory, as a
 * read-only block device, or to SMB clients as previous versions; and
 * unexpose them again.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vss.h>

#include "../common/tool.h"
#include "util/file.h"
#include "util/sbuf.h"
#include "util/banned.h"

enum {
	OPT_SMB = 0x100,
	OPT_SMB_CONF,
	OPT_EXEC,
	OPT_FORCE,
};

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

static const struct option longopts[] = {
	{ "device",   required_argument, NULL, 'd' },
	{ "unexpose", required_argument, NULL, 'u' },
	{ "force",    no_argument,       NULL, OPT_FORCE },
	{ "exec",     no_argument,       NULL, OPT_EXEC },
	/* SMB previous versions (vss_expose_smb). */
	{ "smb",      required_argument, NULL, OPT_SMB },
	{ "smb-conf", required_argument, NULL, OPT_SMB_CONF },
	{ "json",     no_argument,       NULL, 'J' },
	{ "help",     no_argument,       NULL, 'h' },
	{ "version",  no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] ID DIRECTORY\n"
	       " %1$s [options] --device ID\n"
	       " %1$s [options] --smb SHARE ID...\n"
	       " %1$s [options] --unexpose ID|DIRECTORY|DEVICE\n"
	       "\n"
	       "Make a shadow copy visible, read-only: mounted at an empty directory, as a\n"
	       "block device, or to SMB clients as previous versions; or undo that.\n"
	       "\n"
	       "Options:\n"
	       " -d, --device ID         attach the copy to a read-only loop device and print\n"
	       "                           it (image copies only)\n"
	       " -u, --unexpose WHAT     undo the exposure of a copy, named by its ID, the\n"
	       "                           directory or the device it is exposed at\n"
	       "     --force             with --unexpose: unmount lazily when the mount is busy\n"
	       "     --exec              allow running programs from the mounted copy\n"
	       "                           (default noexec)\n"
	       /* SMB options: vss_expose_smb(). */
	       "     --smb SHARE         expose the copies of the volume holding the share\n"
	       "                           directory SHARE as @GMT-... previous versions and\n"
	       "                           print the smb.conf lines for the share\n"
	       "     --smb-conf FILE     with --smb: write the smb.conf lines to FILE instead\n"
	       " -J, --json              say what was done in JSON\n"
	       "\n"
	       " -h, --help              display this help\n"
	       " -V, --version           display version\n"
	       "\n"
	       "Exit status: 0 success, 1 failure, 2 usage error, 3 no such shadow copy or\n"
	       "exposure, 4 invalid catalog.  See %1$s(1).\n",
	       program_invocation_short_name);
}

enum mode { MODE_LOCAL, MODE_DEVICE, MODE_SMB, MODE_UNEXPOSE };

struct options {
	enum mode mode;
	int nmodes;
	const char *device_id;
	const char *unexpose;
	const char *share;
	const char *smb_conf;
	const char *path;
	struct vss_guid *ids;
	size_t nids;
	bool force;
	bool exec;
	bool json;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	int c, rc, nargs;

	while ((c = getopt_long(argc, argv, "d:u:JhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->mode = MODE_DEVICE;
			o->device_id = optarg;
			o->nmodes++;
			break;
		case 'u':
			if (!*optarg)
				return tool_usage_error("empty name given to --unexpose");
			o->mode = MODE_UNEXPOSE;
			o->unexpose = optarg;
			o->nmodes++;
			break;
		case OPT_FORCE:
			o->force = true;
			break;
		case OPT_EXEC:
			o->exec = true;
			break;
		case OPT_SMB:
			if (!*optarg)
				return tool_usage_error("empty share directory given to --smb");
			o->mode = MODE_SMB;
			o->share = optarg;
			o->nmodes++;
			break;
		case OPT_SMB_CONF:
			if (!*optarg)
				return tool_usage_error("empty file name given to --smb-conf");
			o->smb_conf = optarg;
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
	if (o->nmodes > 1)
		return tool_usage_error("give only one of: --device, --smb, --unexpose");
	if (o->force && o->mode != MODE_UNEXPOSE)
		return tool_usage_error("--force only goes with --unexpose");
	/* SMB exposures are always noexec: vss_expose_smb() takes no flags. */
	if (o->exec && o->mode != MODE_LOCAL)
		return tool_usage_error("--exec only goes with exposing at a directory");
	if (o->smb_conf && o->mode != MODE_SMB)
		return tool_usage_error("--smb-conf only goes with --smb");
	nargs = argc - optind;
	switch (o->mode) {
	case MODE_LOCAL:
		if (nargs != 2)
			return tool_usage_error(nargs < 2 ? "give a shadow copy ID and a directory"
							  : "too many arguments");
		rc = tool_parse_ids(optind + 1, argv, optind, &o->ids, &o->nids);
		if (rc)
			return rc;
		o->path = argv[optind + 1];
		if (!*o->path)
			return tool_usage_error("empty directory name");
		return 0;
	case MODE_DEVICE:
		if (nargs != 0)
			return tool_usage_error("too many arguments");
		{
			char *one[] = { (char *)o->device_id };

			return tool_parse_ids(1, one, 0, &o->ids, &o->nids);
		}
	case MODE_UNEXPOSE:
		if (nargs != 0)
			return tool_usage_error("too many arguments");
		return 0;
	case MODE_SMB:
		if (nargs == 0)
			return tool_usage_error("give the shadow copies to show to SMB clients");
		return tool_parse_ids(argc, argv, optind, &o->ids, &o->nids);
	}
	return 0;
}

/* ---- output ----------------------------------------------------------------- */

static void json_string(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p == '\t')
			fputs("\\t", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* One exposure in the JSON array. */
struct done {
	struct vss_guid id;
	const char *action;  /* "exposed", "unexposed" */
	char *name;          /* mount point, device, @GMT directory */
	char *share;         /* SMB: the share path */
};

static void print_json(const struct done *d, size_t n, const char *smb_conf_text,
		       const char *smb_conf_file)
{
	char g[VSS_GUID_STRING_MAX];

	printf("{\n   \"exposures\": [");
	for (size_t i = 0; i < n; i++) {
		printf("%s\n      {\"id\": ", i ? "," : "");
		json_string(stdout, tool_guid(&d[i].id, g));
		printf(", \"action\": ");
		json_string(stdout, d[i].action);
		printf(", \"name\": ");
		json_string(stdout, d[i].name);
		printf(", \"share\": ");
		json_string(stdout, d[i].share);
		printf("}");
	}
	printf("%s]", n ? "\n   " : "");
	if (smb_conf_text || smb_conf_file) {
		printf(",\n   \"smbconf\": ");
		json_string(stdout, smb_conf_text);
		printf(",\n   \"smbconffile\": ");
		json_string(stdout, smb_conf_file);
	}
	printf("\n}\n");
}

/* The catalog's record of id now: where it is exposed. */
static int fill_done(struct vss_context *ctx, const struct vss_guid *id, const char *action,
		     struct done *d)
{
	struct vss_query q = { .snapshot_id = id };
	struct vss_snapshot_list *list = NULL;
	int rc;

	d->id = *id;
	d->action = action;
	rc = vss_catalog_query(ctx, &q, &list);
	if (rc < 0)
		return tool_fail(rc, "cannot read back the exposure");
	if (vss_snapshot_list_count(list) == 1) {
		const struct vss_snapshot *s = vss_snapshot_list_get(list, 0);
		const char *name = vss_snapshot_get_exposed_name(s);
		const char *share = vss_snapshot_get_exposed_path(s);

		d->name = name ? strdup(name) : NULL;
		d->share = share ? strdup(share) : NULL;
	}
	vss_snapshot_list_unref(list);
	return 0;
}

/*
 * Before unexposing: which copy what names (an ID, or where a copy is
 * exposed), so that it can be reported.  Not found is left to the library.
 */
static void find_exposed(struct vss_context *ctx, const char *what, struct done *d)
{
	struct vss_snapshot_list *list = NULL;
	char *real = realpath(what, NULL);

	if (vss_guid_parse(what, &d->id) == 0) {
		free(real);
		fill_done(ctx, &d->id, "unexposed", d);
		return;
	}
	if (vss_catalog_query(ctx, NULL, &list) == 0) {
		for (size_t i = 0; i < vss_snapshot_list_count(list); i++) {
			const struct vss_snapshot *s = vss_snapshot_list_get(list, i);
			const char *name = vss_snapshot_get_exposed_name(s);
			const char *share = vss_snapshot_get_exposed_path(s);

			if (!name || (strcmp(name, what) != 0 && (!real || strcmp(name, real) != 0)))
				continue;
			d->id = *vss_snapshot_get_id(s);
			d->name = strdup(name);
			d->share = share ? strdup(share) : NULL;
			break;
		}
	}
	vss_snapshot_list_unref(list);
	free(real);
	d->action = "unexposed";
}

/* ---- the modes ---------------------------------------------------------------- */

static int do_unexpose(struct vss_context *ctx, const struct options *o)
{
	struct done d = { 0 };
	char g[VSS_GUID_STRING_MAX];
	int rc;

	find_exposed(ctx, o->unexpose, &d);
	rc = vss_unexpose(ctx, o->unexpose, o->force ? VSS_UNEXPOSE_FORCE : 0);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot unexpose '%s'", o->unexpose);
		goto out;
	}
	if (o->json)
		print_json(&d, 1, NULL, NULL);
	else
		printf("unexposed shadow copy %s from '%s'\n", tool_guid(&d.id, g),
		       d.name ? d.name : o->unexpose);
	rc = TOOL_EXIT_OK;
out:
	free(d.name);
	free(d.share);
	return rc;
}

static int do_local(struct vss_context *ctx, const struct options *o)
{
	struct done d = { 0 };
	char g[VSS_GUID_STRING_MAX];
	int rc;

	rc = vss_expose_local(ctx, &o->ids[0], o->path, o->exec ? VSS_EXPOSE_EXEC : 0);
	if (rc < 0)
		return tool_fail(rc, "cannot expose shadow copy %s", tool_guid(&o->ids[0], g));
	rc = fill_done(ctx, &o->ids[0], "exposed", &d);
	if (rc == 0) {
		if (o->json)
			print_json(&d, 1, NULL, NULL);
		else
			printf("%s\n", d.name ? d.name : o->path);
	}
	free(d.name);
	free(d.share);
	return rc;
}

static int do_device(struct vss_context *ctx, const struct options *o)
{
	struct done d = { 0 };
	char g[VSS_GUID_STRING_MAX], *dev = NULL;
	int rc;

	rc = vss_expose_device(ctx, &o->ids[0], &dev);
	if (rc < 0)
		return tool_fail(rc, "cannot expose shadow copy %s as a device",
				 tool_guid(&o->ids[0], g));
	if (o->json) {
		d.id = o->ids[0];
		d.action = "exposed";
		d.name = dev;
		print_json(&d, 1, NULL, NULL);
	} else {
		printf("%s\n", dev);
	}
	free(dev);
	return TOOL_EXIT_OK;
}

static int do_smb(struct vss_context *ctx, const struct options *o)
{
	struct done *d = NULL;
	char *conf = NULL;
	int rc;

	rc = vss_expose_smb(ctx, o->share, o->ids, o->nids, &conf);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot expose shadow copies of '%s' to SMB clients", o->share);
		goto out;
	}
	if (o->smb_conf) {
		rc = file_write_atomic(o->smb_conf, conf ? conf : "", conf ? strlen(conf) : 0, 0644,
				       true);
		if (rc < 0) {
			/* The exposures stand: the lines can be written again. */
			tool_warn("cannot write '%s': %s", o->smb_conf, strerror(-rc));
			rc = TOOL_EXIT_FAILURE;
			goto out;
		}
	}
	if (o->json) {
		d = calloc(o->nids, sizeof(*d));
		if (!d) {
			rc = tool_fail(-ENOMEM, "cannot report the exposures");
			goto out;
		}
		for (size_t i = 0; i < o->nids; i++) {
			rc = fill_done(ctx, &o->ids[i], "exposed", &d[i]);
			if (rc)
				goto out;
		}
		print_json(d, o->nids, o->smb_conf ? NULL : (conf ? conf : ""), o->smb_conf);
	} else if (!o->smb_conf && conf) {
		fputs(conf, stdout);
	}
	rc = TOOL_EXIT_OK;
out:
	for (size_t i = 0; d && i < o->nids; i++) {
		free(d[i].name);
		free(d[i].share);
	}
	free(d);
	free(conf);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct tool_notices notices = { .deleted = stderr };
	struct vss_context *ctx = NULL;
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
	rc = tool_require_root(ctx, o.mode == MODE_UNEXPOSE ? "unexposing shadow copies"
							    : "exposing shadow copies");
	if (rc)
		goto out;
	tool_recover(ctx);
	/* A record of an exposure that vanished would refuse a new one;
	 * unexposing handles such records itself. */
	if (o.mode != MODE_UNEXPOSE) {
		int r = vss_expose_reconcile(ctx);

		if (r < 0 && tool_exit_code(r) != TOOL_EXIT_DOCUMENT)
			tool_fail(r, "cannot check the recorded exposures");
	}
	switch (o.mode) {
	case MODE_LOCAL:
		rc = do_local(ctx, &o);
		break;
	case MODE_DEVICE:
		rc = do_device(ctx, &o);
		break;
	case MODE_SMB:
		rc = do_smb(ctx, &o);
		break;
	case MODE_UNEXPOSE:
		rc = do_unexpose(ctx, &o);
		break;
	}
out:
	vss_context_unref(ctx);
	free(o.ids);
	return rc;
}
