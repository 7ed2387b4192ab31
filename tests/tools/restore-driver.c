/*
 * restore-driver [OPTIONS] SHADOW-ID PATH...
 *
 * Drives the file restore of libvss (vss_restore_*) for the tests, before
 * (and beside) the vss-restore tool.  Test tools link only the utility
 * archive, so the library is opened at run time: $VSS_LIBRARY, else
 * ../../lib/libvss.so.1 beside this program in the build tree.
 *
 *   -t DIR   restore under DIR (vss_restore_set_target_dir)
 *   -n       dry run            -k  restore if not there
 *   -s       special files      -c  no cloning
 *   -p       print progress calls ("progress DONE TOTAL BYTES TOTALBYTES")
 *
 * Prints one line per entry: OUTCOME<TAB>TYPE<TAB>TARGET<TAB>BYTES<TAB>
 * CLONED<TAB>MESSAGE (names with a newline or tab are printed with them
 * escaped as \n, \t and \\), then "stats R S F X BYTES CLONED" (restored,
 * skipped, refused, failed).
 * Exit status: 0 nothing refused or failed (skipped is fine), 1 some entry
 * refused or failed, 2 usage, 3 the run failed (message on stderr), 4 an
 * add_path failed (its code name and message on stderr).
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vss/common.h>
#include <vss/error.h>
#include <vss/guid.h>
#include <vss/restore.h>

#include "util/banned.h"

struct vss_context;

static struct {
	int (*context_new)(struct vss_context **);
	struct vss_context *(*context_unref)(struct vss_context *);
	int (*guid_parse)(const char *, struct vss_guid *);
	const struct vss_error *(*error_last)(void);
	const char *(*error_name)(int);
	int (*new)(struct vss_context *, const struct vss_guid *, struct vss_restore **);
	struct vss_restore *(*unref)(struct vss_restore *);
	int (*set_policy)(struct vss_restore *, enum vss_restore_policy);
	void (*set_flags)(struct vss_restore *, unsigned int);
	int (*set_target_dir)(struct vss_restore *, const char *);
	int (*add_path)(struct vss_restore *, const char *);
	void (*set_entry_fn)(struct vss_restore *, vss_restore_entry_fn, void *);
	void (*set_progress_fn)(struct vss_restore *, vss_restore_progress_fn, void *);
	int (*run)(struct vss_restore *, struct vss_restore_stats *);
} f;

static const char *const outcome_names[] = {
	"restored", "would-restore", "skipped", "refused", "failed",
};

static void print_escaped(const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
}

static void on_entry(const struct vss_restore_entry *e, void *userdata)
{
	(void)userdata;
	fputs(e->outcome <= VSS_RESTORE_FAILED ? outcome_names[e->outcome] : "?", stdout);
	printf("\t%c\t", e->type);
	print_escaped(e->target);
	printf("\t%llu\t%d\t", (unsigned long long)e->bytes, e->cloned ? 1 : 0);
	print_escaped(e->message ? e->message : "");
	putchar('\n');
}

static void on_progress(const struct vss_restore_stats *s, uint64_t total_files,
			uint64_t total_bytes, void *userdata)
{
	(void)userdata;
	printf("progress %llu %llu %llu %llu\n",
	       (unsigned long long)(s->restored + s->skipped + s->refused + s->failed),
	       (unsigned long long)total_files, (unsigned long long)s->bytes,
	       (unsigned long long)total_bytes);
}

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "restore-driver: no '%s' in the library\n", name);
		exit(2);
	}
	return p;
}

static void load(void)
{
	char self[PATH_MAX], lib[PATH_MAX + 32];
	const char *env = getenv("VSS_LIBRARY");
	ssize_t n;
	char *slash;
	void *h;

	if (env) {
		snprintf(lib, sizeof(lib), "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n < 0) {
			perror("restore-driver: /proc/self/exe");
			exit(2);
		}
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		snprintf(lib, sizeof(lib), "%s/../../lib/libvss.so.1", self);
	}
	h = dlopen(lib, RTLD_NOW);
	if (!h) {
		fprintf(stderr, "restore-driver: %s\n", dlerror());
		exit(2);
	}
	*(void **)&f.context_new = sym(h, "vss_context_new");
	*(void **)&f.context_unref = sym(h, "vss_context_unref");
	*(void **)&f.guid_parse = sym(h, "vss_guid_parse");
	*(void **)&f.error_last = sym(h, "vss_error_last");
	*(void **)&f.error_name = sym(h, "vss_error_name");
	*(void **)&f.new = sym(h, "vss_restore_new");
	*(void **)&f.unref = sym(h, "vss_restore_unref");
	*(void **)&f.set_policy = sym(h, "vss_restore_set_policy");
	*(void **)&f.set_flags = sym(h, "vss_restore_set_flags");
	*(void **)&f.set_target_dir = sym(h, "vss_restore_set_target_dir");
	*(void **)&f.add_path = sym(h, "vss_restore_add_path");
	*(void **)&f.set_entry_fn = sym(h, "vss_restore_set_entry_fn");
	*(void **)&f.set_progress_fn = sym(h, "vss_restore_set_progress_fn");
	*(void **)&f.run = sym(h, "vss_restore_run");
}

static void error_out(const char *what, int rc)
{
	const char *name = f.error_name(rc);

	fprintf(stderr, "restore-driver: %s: %s: %s\n", what, name ? name : "?",
		f.error_last()->message);
}

int main(int argc, char **argv)
{
	struct vss_restore_stats st = { 0 };
	struct vss_context *ctx = NULL;
	struct vss_restore *r = NULL;
	const char *to = NULL;
	unsigned int flags = 0;
	bool keep = false, prog = false;
	struct vss_guid id;
	int opt, rc, status = 3;

	while ((opt = getopt(argc, argv, "t:nkscp")) != -1) {
		switch (opt) {
		case 't': to = optarg; break;
		case 'n': flags |= VSS_RESTORE_DRY_RUN; break;
		case 'k': keep = true; break;
		case 's': flags |= VSS_RESTORE_SPECIAL_FILES; break;
		case 'c': flags |= VSS_RESTORE_NO_CLONE; break;
		case 'p': prog = true; break;
		default:
			fprintf(stderr, "usage: restore-driver [-t DIR] [-nkscp] ID PATH...\n");
			return 2;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "usage: restore-driver [-t DIR] [-nkscp] ID PATH...\n");
		return 2;
	}
	load();
	if (f.guid_parse(argv[optind], &id) < 0) {
		fprintf(stderr, "restore-driver: bad id '%s'\n", argv[optind]);
		return 2;
	}
	rc = f.context_new(&ctx);
	if (rc < 0) {
		error_out("context", rc);
		goto out;
	}
	rc = f.new(ctx, &id, &r);
	if (rc < 0) {
		error_out("new", rc);
		goto out;
	}
	f.set_flags(r, flags);
	if (keep && (rc = f.set_policy(r, VSS_RESTORE_IF_NOT_THERE)) < 0) {
		error_out("policy", rc);
		goto out;
	}
	if (to && (rc = f.set_target_dir(r, to)) < 0) {
		error_out("target", rc);
		goto out;
	}
	for (int i = optind + 1; i < argc; i++) {
		rc = f.add_path(r, argv[i]);
		if (rc < 0) {
			error_out(argv[i], rc);
			status = 4;
			goto out;
		}
	}
	f.set_entry_fn(r, on_entry, NULL);
	if (prog)
		f.set_progress_fn(r, on_progress, NULL);
	rc = f.run(r, &st);
	if (rc < 0) {
		error_out("run", rc);
		goto out;
	}
	printf("stats %llu %llu %llu %llu %llu %llu\n", (unsigned long long)st.restored,
	       (unsigned long long)st.skipped, (unsigned long long)st.refused,
	       (unsigned long long)st.failed, (unsigned long long)st.bytes,
	       (unsigned long long)st.cloned_bytes);
	status = st.refused + st.failed ? 1 : 0;
out:
	if (r)
		f.unref(r);
	if (ctx)
		f.context_unref(ctx);
	if (fflush(stdout) != 0)
		status = 3;
	return status;
}
