/*
 * The context (roots, vss.conf), processes, locks, and the util helpers the
 * context relies on (strict parsing, atomic writes).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vss-test-context.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("VSS_SYSCONFDIR", tmpdir, 1);
	setenv("VSS_STATEDIR", tmpdir, 1);
	setenv("VSS_RUNDIR", tmpdir, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_conf(const char *text)
{
	char *path = path_join(tmpdir, "vss.conf");

	assert_non_null(path);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0644, false), 0);
	free(path);
}

static void remove_conf(void)
{
	char *path = path_join(tmpdir, "vss.conf");

	unlink(path);
	free(path);
}

static void test_context__roots_from_environment(void **state)
{
	struct vss_context *ctx = NULL;

	(void)state;
	remove_conf();
	assert_int_equal(vss_context_new(&ctx), 0);
	assert_string_equal(vss_context_get_statedir(ctx), tmpdir);
	assert_string_equal(vss_context_get_rundir(ctx), tmpdir);
	assert_string_equal(vss_context_get_sysconfdir(ctx), tmpdir);
	assert_int_equal(vss_context_get_hold_timeout(ctx), 10000);
	assert_int_equal(vss_context_set_hold_timeout(ctx, 0), -EINVAL);
	assert_int_equal(vss_context_set_hold_timeout(ctx, 600001), -EINVAL);
	assert_int_equal(vss_context_set_hold_timeout(ctx, 2500), 0);
	assert_int_equal(vss_context_get_hold_timeout(ctx), 2500);
	assert_ptr_equal(vss_context_ref(ctx), ctx);
	assert_null(vss_context_unref(ctx));
	assert_null(vss_context_unref(ctx));
	assert_null(vss_context_unref(NULL));
}

static void test_context__config_hold_timeout(void **state)
{
	struct vss_context *ctx = NULL;

	(void)state;
	write_conf("# comment\n\n  hold-timeout = 2.5   # seconds\n");
	assert_int_equal(vss_context_new(&ctx), 0);
	assert_int_equal(vss_context_get_hold_timeout(ctx), 2500);
	assert_int_equal(ctx->writer_freeze_timeout_ms, 60000);
	assert_int_equal(ctx->writer_event_timeout_ms, 600000);
	vss_context_unref(ctx);

	write_conf("writer-freeze-timeout = 20\nwriter-event-timeout = 0.5\n");
	assert_int_equal(vss_context_new(&ctx), 0);
	assert_int_equal(vss_context_get_hold_timeout(ctx), 10000);
	assert_int_equal(ctx->writer_freeze_timeout_ms, 20000);
	assert_int_equal(ctx->writer_event_timeout_ms, 500);
	vss_context_unref(ctx);
	remove_conf();
}

static void test_context__config_rejects_with_line(void **state)
{
	static const char *const bad[] = {
		"hold-timeout = ten\n",
		"hold-timeout = 0\n",
		"hold-timeout = 601\n",
		"\nhold-timeout\n",
		"\n\nhold-timout = 3\n",
		"writer-freeze-timeout = 3601\n",
		"hold-timeout = 1\nwriter-event-timeout = -1\n",
	};
	static const int line[] = { 1, 1, 1, 2, 3, 1, 2 };
	struct vss_context *ctx = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_conf(bad[i]);
		assert_int_equal(vss_context_new(&ctx), -EINVAL);
		assert_null(ctx);
		assert_int_equal(vss_error_last()->line, line[i]);
		assert_non_null(strstr(vss_error_last()->message, "vss.conf"));
	}
	remove_conf();
}

static void test_context__process_alive_and_reused_pid(void **state)
{
	uint64_t start;
	pid_t child;
	int status;

	(void)state;
	assert_int_equal(vss__process_start_time(getpid(), &start), 0);
	assert_true(vss__process_is_alive(getpid(), start));
	assert_true(vss__process_is_alive(getpid(), 0));
	/* Same pid, another start time: a different process. */
	assert_false(vss__process_is_alive(getpid(), start + 1));
	assert_false(vss__process_is_alive(0, 0));

	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	/* Exited but not reaped: a zombie has ended. */
	usleep(100 * 1000);
	assert_false(vss__process_is_alive(child, 0));
	waitpid(child, &status, 0);
	assert_false(vss__process_is_alive(child, 0));
	assert_int_equal(vss__process_start_time(child, &start), -ESRCH);
}

static void test_context__lock_excludes_other_process(void **state)
{
	char *path = path_join(tmpdir, "test.lock");
	int fd = -1, status;
	pid_t child;

	(void)state;
	assert_int_equal(vss__lock_take(path, LOCK_EX, false, &fd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int fd2;
		/* A second, independent open of the lock must not get it. */
		_exit(vss__lock_take(path, LOCK_EX, false, &fd2) == -EWOULDBLOCK ? 0 : 1);
	}
	waitpid(child, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	vss__unlock(fd);
	assert_int_equal(vss__lock_take(path, LOCK_EX, false, &fd), 0);
	vss__unlock(fd);
	free(path);
}

static void test_context__parse_strict(void **state)
{
	uint64_t u;
	int64_t i;
	uint32_t h;

	(void)state;
	assert_int_equal(parse_u64("18446744073709551615", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551616", &u), -ERANGE);
	assert_int_equal(parse_u64("12x", &u), -EINVAL);
	assert_int_equal(parse_u64(" 12", &u), -EINVAL);
	assert_int_equal(parse_u64("-1", &u), -EINVAL);
	assert_int_equal(parse_u64("", &u), -EINVAL);
	assert_int_equal(parse_i64("-42", &i), 0);
	assert_true(i == -42);
	assert_int_equal(parse_i64("4-2", &i), -EINVAL);
	assert_int_equal(parse_hex_u32("0x00120019", &h), 0);
	assert_int_equal(h, 0x00120019);
	assert_int_equal(parse_hex_u32("0x100000000", &h), -ERANGE);
	assert_int_equal(parse_seconds_ms("10", &u), 0);
	assert_true(u == 10000);
	assert_int_equal(parse_seconds_ms("0.25", &u), 0);
	assert_true(u == 250);
	assert_int_equal(parse_seconds_ms("1.2345", &u), -EINVAL);
	assert_int_equal(parse_seconds_ms("1.", &u), -EINVAL);
	assert_int_equal(parse_seconds_ms(".5", &u), -EINVAL);
}

static void test_context__atomic_write_replaces_whole_file(void **state)
{
	char *path = path_join(tmpdir, "atomic"), *text = NULL;
	size_t len;

	(void)state;
	assert_int_equal(file_write_atomic(path, "first version", 13, 0600, true), 0);
	assert_int_equal(file_write_atomic(path, "2nd", 3, 0644, true), 0);
	assert_int_equal(file_read_all(path, &text, &len), 0);
	assert_int_equal(len, 3);
	assert_string_equal(text, "2nd");
	free(text);
	/* A write into a missing directory fails and leaves nothing. */
	free(path);
	path = path_join(tmpdir, "no/such/dir/file");
	assert_int_equal(file_write_atomic(path, "x", 1, 0644, true), -ENOENT);
	free(path);
}

static void test_context__mkdir_p(void **state)
{
	char *dir = path_join(tmpdir, "a/b/c");
	struct stat st;

	(void)state;
	assert_int_equal(vss__mkdir_p(dir, 0755), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(vss__mkdir_p(dir, 0755), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_context__roots_from_environment),
		cmocka_unit_test(test_context__config_hold_timeout),
		cmocka_unit_test(test_context__config_rejects_with_line),
		cmocka_unit_test(test_context__process_alive_and_reused_pid),
		cmocka_unit_test(test_context__lock_excludes_other_process),
		cmocka_unit_test(test_context__parse_strict),
		cmocka_unit_test(test_context__atomic_write_replaces_whole_file),
		cmocka_unit_test(test_context__mkdir_p),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
