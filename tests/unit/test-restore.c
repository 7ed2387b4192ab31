/*
 * File restore, the parts that need no root: normalising and mapping
 * paths, refusing "..", absolute paths off the volume and paths through
 * symlinks of the copy, and what a dry run reports (a symlink planted in
 * the target refused, existing files skipped with restore-if-not-there)
 * without writing anything.  The copy is a plain directory here, as a
 * btrfs copy is; restores that write are tests/integration/restore.sh.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <vss/restore.h>
#include "vss-private.h"
#include "restore-private.h"
#include "helpers.h"
#include "util/banned.h"

#define VOLUME "/srv/vol"

struct fixture {
	char root[64];
	char copy[PATH_MAX];
	char target[PATH_MAX];
	char outside[PATH_MAX];
	struct vss_context *ctx;
	struct vss_snapshot *snap;
	struct vss_restore *r;
};

static void mkdirs(const char *base, const char *rel)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s", base, rel);
	assert_int_equal(vss__mkdir_p(path, 0755), 0);
}

static void file_at(const char *base, const char *rel, const char *text)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s", base, rel);
	put(path, text, 0644);
}

static void link_at(const char *base, const char *rel, const char *target)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s", base, rel);
	assert_int_equal(symlink(target, path), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char writers[PATH_MAX];

	assert_non_null(f);
	assert_int_equal(private_roots(f->root, sizeof(f->root), "restore", writers,
				       sizeof(writers)), 0);
	fmt(f->copy, sizeof(f->copy), "%s/copy", f->root);
	fmt(f->target, sizeof(f->target), "%s/target", f->root);
	fmt(f->outside, sizeof(f->outside), "%s/outside", f->root);
	mkdirs(f->copy, "a/sub");
	mkdirs(f->copy, "a/odd");
	file_at(f->copy, "a/file", "hello");
	file_at(f->copy, "a/sub/f2", "two");
	file_at(f->copy, "a/odd/new\nline \xff\xfe", "odd");
	link_at(f->copy, "a/link", "file");
	link_at(f->copy, "via", "a");
	mkdirs(f->copy, ".vss/older-copy");
	assert_int_equal(mkdir(f->target, 0755), 0);
	assert_int_equal(mkdir(f->outside, 0755), 0);

	assert_int_equal(vss_context_new(&f->ctx), 0);
	f->snap = vss__snapshot_new();
	assert_non_null(f->snap);
	vss_guid_generate(&f->snap->id);
	assert_int_equal(vss__strset(&f->snap->original_volume, VOLUME "/"), 0);
	assert_int_equal(vss__strset(&f->snap->device, f->copy), 0);
	assert_int_equal(vss__restore_new_snapshot(f->ctx, f->snap, &f->r), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vss_restore_unref(f->r);
	vss_snapshot_unref(f->snap);
	vss_context_unref(f->ctx);
	remove_tree(f->root);
	free(f);
	return 0;
}

static void assert_normal(const char *in, const char *want)
{
	char *out = NULL;

	assert_int_equal(vss__path_normalise(in, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void assert_not_normal(const char *in)
{
	char *out = NULL;

	assert_int_equal(vss__path_normalise(in, &out), -EINVAL);
	assert_null(out);
}

static void test_restore__normalise(void **state)
{
	(void)state;
	assert_normal("a/b", "a/b");
	assert_normal("/a//b/", "a/b");
	assert_normal("./a/./b/.", "a/b");
	assert_normal("a/../b", "b");
	assert_normal("a/b/../../c", "c");
	assert_normal("a/b/..", "a");
	assert_normal("", "");
	assert_normal("/", "");
	assert_normal("//./", "");
	assert_normal("...", "...");
	assert_normal("a/.../b", "a/.../b");
	assert_normal(".hidden/..x/x..", ".hidden/..x/x..");
	assert_normal("new\nline/ sp ace /\xff\xfe", "new\nline/ sp ace /\xff\xfe");
	assert_not_normal("..");
	assert_not_normal("../a");
	assert_not_normal("/..");
	assert_not_normal("a/../..");
	assert_not_normal("a/../../b");
	assert_not_normal("./a/b/../../../etc/passwd");
}

static void test_restore__under(void **state)
{
	const char *rest = NULL;

	(void)state;
	assert_true(vss__path_under("srv/vol/a", "srv/vol", &rest));
	assert_string_equal(rest, "a");
	assert_true(vss__path_under("srv/vol", "srv/vol", &rest));
	assert_string_equal(rest, "");
	assert_true(vss__path_under("x/y", "", &rest));
	assert_string_equal(rest, "x/y");
	assert_false(vss__path_under("srv/volume/a", "srv/vol", &rest));
	assert_false(vss__path_under("srv", "srv/vol", &rest));
	assert_false(vss__path_under("other/vol", "srv/vol", &rest));
	assert_true(vss__restore_is_temp_name(".vss-restore.0123abcd"));
	assert_false(vss__restore_is_temp_name("vss-restore.x"));
	assert_false(vss__restore_is_temp_name(".vss"));
}

static void assert_rel(struct vss_restore *r, const char *path, int rc, const char *want)
{
	char *out = NULL;

	assert_int_equal(vss__restore_rel(r, path, &out), rc);
	if (rc == 0) {
		assert_non_null(out);
		assert_string_equal(out, want);
	} else {
		assert_null(out);
		assert_true(vss_error_last()->message[0] != 0);
	}
	free(out);
}

static void test_restore__paths_of_the_volume(void **state)
{
	struct fixture *f = *state;

	assert_rel(f->r, VOLUME "/a/file", 0, "a/file");
	assert_rel(f->r, VOLUME, 0, "");
	assert_rel(f->r, VOLUME "/", 0, "");
	assert_rel(f->r, VOLUME "//a/./sub/../file", 0, "a/file");
	assert_rel(f->r, "a/./file", 0, "a/file");
	/* Lexical: a symlink of the live volume is not resolved. */
	assert_rel(f->r, VOLUME "/via/../a", 0, "a");
	assert_rel(f->r, VOLUME "ume/a", -EINVAL, NULL);
	assert_rel(f->r, "/srv", -EINVAL, NULL);
	assert_rel(f->r, "/etc/passwd", -EINVAL, NULL);
	assert_rel(f->r, VOLUME "/../etc/passwd", -EINVAL, NULL);
	assert_rel(f->r, VOLUME "/a/../../vol2", -EINVAL, NULL);
	assert_rel(f->r, "../escape", -EINVAL, NULL);
	assert_rel(f->r, "a/../../escape", -EINVAL, NULL);
	assert_rel(f->r, "", -EINVAL, NULL);
}

static void test_restore__add_path_checks_the_copy(void **state)
{
	struct fixture *f = *state;
	struct vss_restore_stats st;

	assert_int_equal(vss_restore_add_path(f->r, VOLUME "/a/nothing"), -ENOENT);
	assert_int_equal(vss_restore_add_path(f->r, VOLUME "/a/file/x"), -ENOENT);
	/* Through a symlink of the copy: refused, whatever it points to. */
	assert_int_equal(vss_restore_add_path(f->r, VOLUME "/via/file"), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "symbolic link"));
	assert_int_equal(vss_restore_add_path(f->r, "../../etc"), -EINVAL);
	assert_int_equal(vss_restore_add_path(f->r, "/etc"), -EINVAL);
	/* Nothing was added by the refusals. */
	vss_restore_set_flags(f->r, VSS_RESTORE_DRY_RUN);
	assert_int_equal(vss_restore_run(f->r, &st), -EINVAL);
	assert_non_null(strstr(vss_error_last()->message, "nothing to restore"));
	/* A symlink of the copy itself can be restored (as a symlink). */
	assert_int_equal(vss_restore_add_path(f->r, VOLUME "/via"), 0);
}

static void test_restore__map_refuses_escapes(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vss__restore_map(f->r, "/a", f->target, "a"), -EINVAL);
	assert_int_equal(vss__restore_map(f->r, "a", f->target, "/etc/a"), -EINVAL);
	assert_int_equal(vss__restore_map(f->r, "a", "relative/root", "a"), -EINVAL);
	assert_int_equal(vss__restore_map(f->r, "../a", f->target, "a"), -EINVAL);
	assert_int_equal(vss__restore_map(f->r, "a", f->target, "x/../../a"), -EINVAL);
	assert_int_equal(vss__restore_map(f->r, "a/none", f->target, "a"), -ENOENT);
	assert_int_equal(vss__restore_map(f->r, "a/./sub/..", f->target, "x/./y/"), 0);
	assert_int_equal(vss_restore_set_target_dir(f->r, "/nonexistent/dir"), -ENOENT);
	assert_int_equal(vss_restore_set_policy(f->r, (enum vss_restore_policy)7), -EINVAL);
}

struct seen {
	char lines[32][PATH_MAX + 64];
	size_t n;
};

static void on_entry(const struct vss_restore_entry *e, void *userdata)
{
	static const char *const words[] = { "restored", "would", "skipped", "refused", "failed" };
	struct seen *s = userdata;

	assert_true(s->n < 32);
	fmt(s->lines[s->n++], sizeof(s->lines[0]), "%s %c %s", words[e->outcome], e->type,
	    e->target);
	if (e->outcome == VSS_RESTORE_REFUSED || e->outcome == VSS_RESTORE_FAILED)
		assert_non_null(e->message);
}

static void assert_seen(const struct seen *s, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
static void assert_seen(const struct seen *s, const char *format, ...)
{
	char want[PATH_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(want, sizeof(want), format, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(want));
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->lines[i], want) == 0)
			return;
	for (size_t i = 0; i < s->n; i++)
		fprintf(stderr, "# seen: %s\n", s->lines[i]);
	fail_msg("not reported: '%s'", want);
}

static void test_restore__dry_run_refuses_planted_symlinks(void **state)
{
	struct fixture *f = *state;
	struct vss_restore_stats st = { 0 };
	struct seen *s = calloc(1, sizeof(*s));
	char path[PATH_MAX];
	struct stat sb;

	assert_non_null(s);
	/* The target has a/ with file, and a/sub planted as a symlink out. */
	mkdirs(f->target, "a");
	file_at(f->target, "a/file", "live");
	fmt(path, sizeof(path), "%s/a/sub", f->target);
	assert_int_equal(symlink(f->outside, path), 0);

	assert_int_equal(vss_restore_set_target_dir(f->r, f->target), 0);
	assert_int_equal(vss_restore_add_path(f->r, VOLUME "/a"), 0);
	vss_restore_set_flags(f->r, VSS_RESTORE_DRY_RUN);
	vss_restore_set_entry_fn(f->r, on_entry, s);
	assert_int_equal(vss_restore_run(f->r, &st), 0);
	assert_seen(s, "would f %s/a/%s", f->target, "file");
	assert_seen(s, "would l %s/a/%s", f->target, "link");
	assert_seen(s, "refused d %s/a/%s", f->target, "sub");
	assert_seen(s, "would f %s/a/%s", f->target, "odd/new\nline \xff\xfe");
	assert_seen(s, "would d %s/%s", f->target, "a");
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.restored, 5);
	assert_int_equal(st.bytes, 5 + 3);

	/* Nothing written: not outside, not in the target. */
	fmt(path, sizeof(path), "%s/f2", f->outside);
	assert_int_equal(lstat(path, &sb), -1);
	fmt(path, sizeof(path), "%s/a/link", f->target);
	assert_int_equal(lstat(path, &sb), -1);
	fmt(path, sizeof(path), "%s/a/odd", f->target);
	assert_int_equal(lstat(path, &sb), -1);

	/* Restore-if-not-there: the existing file is skipped. */
	s->n = 0;
	assert_int_equal(vss_restore_set_policy(f->r, VSS_RESTORE_IF_NOT_THERE), 0);
	assert_int_equal(vss_restore_run(f->r, &st), 0);
	assert_seen(s, "skipped f %s/a/%s", f->target, "file");
	assert_seen(s, "skipped d %s/%s", f->target, "a");
	assert_int_equal(st.skipped, 2);
	free(s);
}

static void test_restore__dry_run_of_the_volume_leaves_the_store_out(void **state)
{
	struct fixture *f = *state;
	struct vss_restore_stats st = { 0 };
	struct seen *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_int_equal(vss_restore_set_target_dir(f->r, f->target), 0);
	assert_int_equal(vss_restore_add_path(f->r, VOLUME), 0);
	vss_restore_set_flags(f->r, VSS_RESTORE_DRY_RUN);
	vss_restore_set_entry_fn(f->r, on_entry, s);
	assert_int_equal(vss_restore_run(f->r, &st), 0);
	/* As cp -a /srv/vol DIR: DIR/vol. */
	assert_seen(s, "would d %s/%s", f->target, "vol");
	assert_seen(s, "would f %s/%s", f->target, "vol/a/sub/f2");
	assert_seen(s, "would l %s/%s", f->target, "vol/via");
	for (size_t i = 0; i < s->n; i++)
		assert_null(strstr(s->lines[i], ".vss"));
	assert_int_equal(st.restored, 9);
	free(s);
}

static void test_restore__unknown_copy(void **state)
{
	struct fixture *f = *state;
	struct vss_restore *r = NULL;
	struct vss_guid id;

	vss_guid_generate(&id);
	assert_int_equal(vss_restore_new(f->ctx, &id, &r), -VSS_E_OBJECT_NOT_FOUND);
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restore__normalise),
		cmocka_unit_test(test_restore__under),
		cmocka_unit_test_setup_teardown(test_restore__paths_of_the_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore__add_path_checks_the_copy, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_restore__map_refuses_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore__dry_run_refuses_planted_symlinks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_restore__dry_run_of_the_volume_leaves_the_store_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore__unknown_copy, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
