/*
 * vss-restore — restore files, trees and writer components from shadow
 * copies: back where they were, or under another directory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vss.h>
#include <vss/restore.h>

#include "../common/tool.h"
#include "util/sbuf.h"
#include "util/strv.h"
#include "util/banned.h"

enum {
	OPT_NO_WRITERS = 0x100,
	OPT_IF_NOT_THERE,
	OPT_SPECIAL_FILES,
	OPT_NO_CLONE,
	OPT_DRY_RUN,
};

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

static const struct option longopts[] = {
	{ "to",            required_argument, NULL, 't' },
	{ "bcd",           required_argument, NULL, 'b' },
	{ "component",     required_argument, NULL, 'c' },
	{ "no-writers",    no_argument,       NULL, OPT_NO_WRITERS },
	{ "if-not-there",  no_argument,       NULL, OPT_IF_NOT_THERE },
	{ "special-files", no_argument,       NULL, OPT_SPECIAL_FILES },
	{ "no-clone",      no_argument,       NULL, OPT_NO_CLONE },
	{ "dry-run",       no_argument,       NULL, OPT_DRY_RUN },
	{ "json",          no_argument,       NULL, 'J' },
	{ "quiet",         no_argument,       NULL, 'q' },
	{ "verbose",       no_argument,       NULL, 'v' },
	{ "help",          no_argument,       NULL, 'h' },
	{ "version",       no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] ID PATH...\n"
	       " %1$s [options] --to DIR ID PATH...\n"
	       " %1$s [options] --bcd FILE --component WRITER:COMPONENT...\n"
	       "\n"
	       "Restore files and trees from shadow copy ID to where they were, or under\n"
	       "DIR (as cp -a PATH... DIR would), keeping their metadata; or restore writer\n"
	       "components of a backup from its saved Backup Components Document, with the\n"
	       "writers' PreRestore and PostRestore.\n"
	       "\n"
	       "Options:\n"
	       " -t, --to DIR                  restore under DIR instead of to the original place\n"
	       " -b, --bcd FILE                the Backup Components Document of vss-create -b\n"
	       " -c, --component WRITER:NAME   a component to restore (WRITER:LOGICALPATH\\NAME);\n"
	       "                                 may be given more than once\n"
	       "     --no-writers              send no restore events to the writers\n"
	       "     --if-not-there            leave existing files as they are (default: replace)\n"
	       "     --special-files           also device nodes, FIFOs and sockets\n"
	       "     --no-clone                copy bytes even where extents could be shared\n"
	       "     --dry-run                 say what would be restored; write nothing\n"
	       " -J, --json                    print a JSON report of every entry at the end\n"
	       " -q, --quiet                   no per-entry lines, no summary\n"
	       " -v, --verbose                 also list restored and skipped entries\n"
	       "\n"
	       " -h, --help                    display this help\n"
	       " -V, --version                 display version\n"
	       "\n"
	       "Exit status: 0 all restored, 1 failure or none restored, 2 usage error,\n"
	       "3 no such shadow copy, writer or component, 4 invalid document, 6 writer\n"
	       "failure, 7 some entries restored and some not.  See %1$s(1).\n",
	       program_invocation_short_name);
}

struct options {
	unsigned int flags;
	bool if_not_there;
	bool json;
	bool quiet;
	bool verbose;
	bool no_writers;
	const char *to;
	const char *bcd;
	struct strv components;
	struct vss_guid id;
	char **paths;
	int npaths;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "t:b:c:JqvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!*optarg)
				return tool_usage_error("--to needs a directory");
			o->to = optarg;
			break;
		case 'b':
			if (!*optarg)
				return tool_usage_error("--bcd needs a file name");
			o->bcd = optarg;
			break;
		case 'c':
			if (!strchr(optarg, ':'))
				return tool_usage_error("bad component '%s': give WRITER:NAME or "
							"WRITER:LOGICALPATH\\NAME", optarg);
			if (strv_push(&o->components, optarg) < 0)
				return tool_fail(-ENOMEM, "cannot parse options");
			break;
		case OPT_NO_WRITERS:
			o->no_writers = true;
			break;
		case OPT_IF_NOT_THERE:
			o->if_not_there = true;
			break;
		case OPT_SPECIAL_FILES:
			o->flags |= VSS_RESTORE_SPECIAL_FILES;
			break;
		case OPT_NO_CLONE:
			o->flags |= VSS_RESTORE_NO_CLONE;
			break;
		case OPT_DRY_RUN:
			o->flags |= VSS_RESTORE_DRY_RUN;
			break;
		case 'J':
			o->json = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'v':
			o->verbose = true;
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
	if (o->quiet && o->verbose)
		return tool_usage_error("--quiet and --verbose do not go together");
	if (o->bcd || o->components.count) {
		if (!o->bcd)
			return tool_usage_error("--component needs --bcd FILE");
		if (!o->components.count)
			return tool_usage_error("--bcd needs at least one --component");
		if (o->to)
			return tool_usage_error("--to is for files; a component goes where its "
						"writer's restore method says");
		if (o->if_not_there)
			return tool_usage_error("--if-not-there is for files; a component is "
						"restored as its writer's restore method says");
		if (optind < argc)
			return tool_usage_error("unexpected argument '%s' with --bcd", argv[optind]);
		return 0;
	}
	if (o->no_writers)
		return tool_usage_error("--no-writers is for component restores (--bcd)");
	if (optind >= argc)
		return tool_usage_error("no shadow copy ID given");
	if (vss_guid_parse(argv[optind], &o->id) < 0)
		return tool_usage_error_last();
	if (optind + 1 >= argc)
		return tool_usage_error("no path to restore given");
	o->paths = argv + optind + 1;
	o->npaths = argc - optind - 1;
	return 0;
}

/* ---- printing names ----------------------------------------------------- */

/* The length of the valid UTF-8 sequence at p (not overlong, no
 * surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned int cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/*
 * A name in messages: between single quotes, with \\, \', \n, \t, \r and
 * \xNN for other control characters and bytes that are not UTF-8, so every
 * name prints on one line and can be told from every other.
 */
static void print_name(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('\'', out);
	while (*p) {
		size_t n = utf8_len(p);

		if (n > 1) {
			fwrite(p, 1, n, out);
			p += n;
			continue;
		}
		switch (*p) {
		case '\\': fputs("\\\\", out); break;
		case '\'': fputs("\\'", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			if (n == 0 || *p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
		p++;
	}
	fputc('\'', out);
}

/*
 * A JSON string (null for NULL).  Bytes that are not UTF-8 are written as
 * \u00NN, the character of their Latin-1 reading, so the report stays valid
 * JSON whatever the names hold (vss-restore(1) says so).
 */
static void json_string(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	while (*p) {
		size_t n = utf8_len(p);

		if (n > 1) {
			fwrite(p, 1, n, out);
			p += n;
			continue;
		}
		switch (*p) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\t': fputs("\\t", out); break;
		case '\r': fputs("\\r", out); break;
		default:
			if (n == 0 || *p < 0x20 || *p == 0x7f)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
		p++;
	}
	fputc('"', out);
}

/* ---- reporting ------------------------------------------------------------ */

struct report {
	const struct options *o;
	bool progress;           /* a progress line is shown on stderr */
	bool progress_shown;     /* and is on screen now */
	uint64_t started_ns;
	size_t nentries;         /* in the JSON report */
	struct vss_restore_stats extra;  /* failures before any run (bad paths) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void clear_progress(struct report *rep)
{
	if (rep->progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		rep->progress_shown = false;
	}
}

static const char *outcome_word(enum vss_restore_outcome o)
{
	switch (o) {
	case VSS_RESTORE_RESTORED:      return "restored";
	case VSS_RESTORE_WOULD_RESTORE: return "would-restore";
	case VSS_RESTORE_SKIPPED:       return "skipped";
	case VSS_RESTORE_REFUSED:       return "refused";
	case VSS_RESTORE_FAILED:        return "failed";
	}
	return "unknown";
}

static void json_entry(struct report *rep, const struct vss_restore_entry *e)
{
	char type[2] = { e->type ? e->type : '?', '\0' };

	printf("%s\n      {\"target\": ", rep->nentries++ ? "," : "");
	json_string(stdout, e->target);
	printf(", \"source\": ");
	json_string(stdout, e->source);
	printf(", \"type\": ");
	json_string(stdout, type);
	printf(", \"outcome\": \"%s\", \"bytes\": %" PRIu64 ", \"cloned\": %s",
	       outcome_word(e->outcome), e->bytes, e->cloned ? "true" : "false");
	if (e->outcome == VSS_RESTORE_SKIPPED || e->outcome == VSS_RESTORE_REFUSED ||
	    e->outcome == VSS_RESTORE_FAILED) {
		printf(", \"error\": ");
		json_string(stdout, e->message ? e->message : (e->error ? vss_strerror(e->error) : NULL));
	}
	putchar('}');
}

static void on_entry(const struct vss_restore_entry *e, void *userdata)
{
	struct report *rep = userdata;
	const struct options *o = rep->o;
	const char *why = e->message ? e->message : (e->error ? vss_strerror(e->error) : "");

	if (o->json) {
		json_entry(rep, e);
		return;
	}
	switch (e->outcome) {
	case VSS_RESTORE_REFUSED:
	case VSS_RESTORE_FAILED:
		clear_progress(rep);
		fprintf(stderr, "%s: cannot restore ", program_invocation_short_name);
		print_name(stderr, e->target);
		fprintf(stderr, ": %s\n", why);
		break;
	case VSS_RESTORE_SKIPPED:
		if (!o->verbose)
			break;
		clear_progress(rep);
		fprintf(stderr, "%s: skipped ", program_invocation_short_name);
		print_name(stderr, e->target);
		fprintf(stderr, ": %s\n", why);
		break;
	case VSS_RESTORE_WOULD_RESTORE:
		if (o->quiet)
			break;
		clear_progress(rep);
		printf("would restore %c ", e->type ? e->type : '?');
		print_name(stdout, e->target);
		putchar('\n');
		break;
	case VSS_RESTORE_RESTORED:
		if (!o->verbose)
			break;
		clear_progress(rep);
		printf("restored %c ", e->type ? e->type : '?');
		print_name(stdout, e->target);
		if (e->cloned)
			fputs(" (cloned)", stdout);
		putchar('\n');
		break;
	}
	if (o->verbose || o->flags & VSS_RESTORE_DRY_RUN)
		fflush(stdout);
}

static const double MiB = 1024.0 * 1024.0;

static void on_progress(const struct vss_restore_stats *done, uint64_t total_files,
			uint64_t total_bytes, void *userdata)
{
	struct report *rep = userdata;
	uint64_t files = done->restored + done->skipped + done->refused + done->failed;
	double secs = (double)(now_ns() - rep->started_ns) / 1e9;
	double rate = secs > 0.2 ? (double)done->bytes / MiB / secs : 0.0;
	char left[32] = "";

	if (!rep->progress)
		return;
	if (rate > 0 && total_bytes > done->bytes) {
		uint64_t s = (uint64_t)((double)(total_bytes - done->bytes) / MiB / rate);

		snprintf(left, sizeof(left), ", %" PRIu64 ":%02" PRIu64 " left", s / 60, s % 60);
	}
	fprintf(stderr, "\r\033[K%" PRIu64 "/%" PRIu64 " files, %.1f/%.1f MiB, %.1f MiB/s%s",
		files, total_files, (double)done->bytes / MiB, (double)total_bytes / MiB, rate,
		left);
	fflush(stderr);
	rep->progress_shown = true;
}

static void print_summary(const struct options *o, const struct vss_restore_stats *s)
{
	if (o->quiet || o->json)
		return;
	if (o->flags & VSS_RESTORE_DRY_RUN)
		printf("would restore %" PRIu64 " files (%.1f MiB), skip %" PRIu64 ", refuse %" PRIu64
		       ", fail %" PRIu64 " (dry run: nothing written)\n",
		       s->restored, (double)s->bytes / MiB, s->skipped, s->refused, s->failed);
	else
		printf("restored %" PRIu64 " files (%.1f MiB, %.1f MiB cloned), skipped %" PRIu64
		       ", refused %" PRIu64 ", failed %" PRIu64 "\n",
		       s->restored, (double)s->bytes / MiB, (double)s->cloned_bytes / MiB, s->skipped,
		       s->refused, s->failed);
}

static void json_begin(const struct options *o)
{
	if (!o->json)
		return;
	printf("{\n   \"restore\": {\n      \"dry_run\": %s,\n      \"entries\": [",
	       (o->flags & VSS_RESTORE_DRY_RUN) ? "true" : "false");
}

/* error: the message of a failure that stopped the restore, or NULL. */
static void json_end(const struct report *rep, const struct vss_restore_stats *s,
		     bool reboot, const char *reboot_writers, const char *error)
{
	if (!rep->o->json)
		return;
	printf("%s],\n      \"stats\": {\"restored\": %" PRIu64 ", \"skipped\": %" PRIu64
	       ", \"refused\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"bytes\": %" PRIu64
	       ", \"cloned_bytes\": %" PRIu64 "},\n      \"reboot_required\": %s",
	       rep->nentries ? "\n      " : "", s->restored, s->skipped, s->refused, s->failed,
	       s->bytes, s->cloned_bytes, reboot ? "true" : "false");
	if (reboot) {
		printf(",\n      \"reboot_writers\": ");
		json_string(stdout, reboot_writers);
	}
	if (error) {
		printf(",\n      \"error\": ");
		json_string(stdout, error);
	}
	printf("\n   }\n}\n");
}

/* 0 all restored (or would be), 7 some, 1 none. */
static int exit_for(const struct vss_restore_stats *s)
{
	if (s->failed + s->refused == 0)
		return TOOL_EXIT_OK;
	return s->restored ? TOOL_EXIT_PARTIAL : TOOL_EXIT_FAILURE;
}

/* ---- the two modes -------------------------------------------------------- */

/* A path of the command line, absolute: relative ones are taken from the
 * current directory, lexically (the file may be gone: it is restored). */
static char *absolute(const char *path)
{
	struct sbuf sb = SBUF_INIT;
	char *cwd;

	if (path[0] == '/')
		return strdup(path);
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	sbuf_adds(&sb, cwd);
	if (strcmp(cwd, "/") != 0)
		sbuf_addch(&sb, '/');
	free(cwd);
	if (sbuf_adds(&sb, path) < 0) {
		sbuf_release(&sb);
		return NULL;
	}
	return sbuf_detach(&sb);
}

static int restore_files(struct vss_context *ctx, const struct options *o, struct report *rep,
			 struct vss_restore_stats *stats, const char **ret_error)
{
	struct vss_restore *r = NULL;
	char g[VSS_GUID_STRING_MAX];
	int rc, added = 0;

	rc = vss_restore_new(ctx, &o->id, &r);
	if (rc < 0) {
		*ret_error = vss_error_last()->message;
		return tool_fail(rc, "cannot restore from shadow copy %s", tool_guid(&o->id, g));
	}
	vss_restore_set_flags(r, o->flags);
	rc = vss_restore_set_policy(r, o->if_not_there ? VSS_RESTORE_IF_NOT_THERE
						       : VSS_RESTORE_IF_CAN_REPLACE);
	if (rc == 0 && o->to)
		rc = vss_restore_set_target_dir(r, o->to);
	if (rc < 0) {
		*ret_error = vss_error_last()->message;
		rc = tool_fail(rc, "cannot restore to '%s'", o->to ? o->to : "?");
		goto out;
	}
	vss_restore_set_entry_fn(r, on_entry, rep);
	/* Totals cost a walk of the copy: only for a display that shows them. */
	if (rep->progress)
		vss_restore_set_progress_fn(r, on_progress, rep);
	for (int i = 0; i < o->npaths; i++) {
		char *path = absolute(o->paths[i]);

		rc = path ? vss_restore_add_path(r, path) : -ENOMEM;
		if (rc < 0) {
			/* Reported like an entry that fails; the others go on. */
			struct vss_restore_entry e = {
				.target = path ? path : o->paths[i], .source = "", .type = '?',
				.outcome = VSS_RESTORE_FAILED, .error = rc,
				.message = vss_error_last()->code == rc ? vss_error_last()->message
									: vss_strerror(rc),
			};

			rep->extra.failed++;
			on_entry(&e, rep);
		} else {
			added++;
		}
		free(path);
	}
	rc = 0;
	if (added) {
		rc = vss_restore_run(r, stats);
		clear_progress(rep);
		if (rc < 0) {
			*ret_error = vss_error_last()->message;
			rc = tool_fail(rc, "cannot restore from shadow copy %s", tool_guid(&o->id, g));
		}
	}
out:
	vss_restore_unref(r);
	return rc;
}

/* The writers named by the components, "A, B", for the reboot message. */
static char *component_writers(const struct options *o)
{
	struct strv seen = STRV_INIT;
	struct sbuf sb = SBUF_INIT;

	for (size_t i = 0; i < o->components.count; i++) {
		const char *c = o->components.items[i];
		char *w = strndup(c, (size_t)(strchr(c, ':') - c));

		if (w && !strv_contains(&seen, w)) {
			if (sb.len)
				sbuf_adds(&sb, ", ");
			sbuf_adds(&sb, w);
			strv_push(&seen, w);
		}
		free(w);
	}
	strv_release(&seen);
	return sbuf_detach(&sb);
}

static int restore_components(struct vss_context *ctx, const struct options *o,
			      struct report *rep, struct vss_restore_stats *stats, bool *reboot,
			      const char **ret_error)
{
	unsigned int flags = o->flags | (o->no_writers ? VSS_RESTORE_COMPONENT_NO_WRITERS : 0);
	const char **comps = calloc(o->components.count + 1, sizeof(*comps));
	int rc;

	if (!comps)
		return tool_fail(-ENOMEM, "cannot restore");
	for (size_t i = 0; i < o->components.count; i++)
		comps[i] = o->components.items[i];
	rc = vss_restore_components(ctx, o->bcd, comps, flags, on_entry,
				    rep->progress ? on_progress : NULL, rep, stats,
				    reboot);
	clear_progress(rep);
	if (rc < 0) {
		*ret_error = vss_error_last()->message;
		rc = tool_fail(rc, "cannot restore components from '%s'", o->bcd);
	}
	free(comps);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct tool_notices notices = { .deleted = stderr };
	struct report rep = { .o = &o };
	struct vss_restore_stats stats = { 0 };
	struct vss_context *ctx = NULL;
	const char *error = NULL;
	char *writers = NULL;
	bool reboot = false;
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
	if (!(o.flags & VSS_RESTORE_DRY_RUN)) {
		rc = tool_require_root(ctx, o.bcd ? "restoring components" : "restoring files");
		if (rc)
			goto out;
		tool_recover(ctx);
	}
	rep.progress = isatty(STDERR_FILENO) && !o.json && !o.quiet;
	rep.started_ns = now_ns();

	json_begin(&o);
	if (o.bcd)
		rc = restore_components(ctx, &o, &rep, &stats, &reboot, &error);
	else
		rc = restore_files(ctx, &o, &rep, &stats, &error);
	stats.failed += rep.extra.failed;
	if (reboot)
		writers = component_writers(&o);
	json_end(&rep, &stats, reboot, writers, rc ? (error && *error ? error : "failed") : NULL);
	if (rc)
		goto out;
	print_summary(&o, &stats);
	if (reboot)
		tool_warn("the restore needs a reboot to take effect (writer %s)",
			  writers ? writers : "?");
	rc = exit_for(&stats);
out:
	free(writers);
	strv_release(&o.components);
	vss_context_unref(ctx);
	return rc;
}
