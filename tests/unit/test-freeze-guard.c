/*
 * The freeze guard on real scratch volumes (XFS and ext4 on loop devices):
 * writes block while frozen and go through after the release, the window,
 * a killed requester, unfreezable mount points.  Needs root, loop devices
 * and kernel XFS and ext4; skips saying which is missing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "helpers.h"

#include "vss-private.h"
#include "util/banned.h"

#define MiB (1024ull * 1024)

#define assert_contains(haystack, needle)                                          \
	do {                                                                       \
		const char *h_ = (haystack);                                       \
		if (!h_ || !strstr(h_, (needle)))                                  \
			fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", \
				 (needle));                                        \
	} while (0)

struct scratch_fs {
	const char *fstype;
	uint64_t size;
	bool mounted;
	char image[128];
	char dev[64];
	char mnt[128];
};

static struct {
	bool ready;
	char why[256];
	char dir[64];
	struct scratch_fs xfs, ext4;
	pid_t children[32];
	int nchildren;
} S = {
	.xfs = { .fstype = "xfs", .size = 320 * MiB },
	.ext4 = { .fstype = "ext4", .size = 64 * MiB },
};

static int scratch_make(struct scratch_fs *fs)
{
	fmt(fs->image, sizeof(fs->image), "%s/%s.img", S.dir, fs->fstype);
	fmt(fs->mnt, sizeof(fs->mnt), "%s/%s", S.dir, fs->fstype);
	if (run(NULL, 0, "truncate -s %llu %s", (unsigned long long)fs->size, fs->image) != 0)
		return -1;
	if (run(NULL, 0, "mkfs.%s -q %s %s", fs->fstype, strcmp(fs->fstype, "xfs") ? "-F" : "-f",
		fs->image) != 0)
		return -1;
	if (run(fs->dev, sizeof(fs->dev), "losetup --find --show %s", fs->image) != 0) {
		fs->dev[0] = '\0';
		return -1;
	}
	if (mkdir(fs->mnt, 0755) < 0)
		return -1;
	if (mount(fs->dev, fs->mnt, fs->fstype, 0, NULL) < 0) {
		fprintf(stderr, "# mount %s: %s\n", fs->mnt, strerror(errno));
		return -1;
	}
	fs->mounted = true;
	return 0;
}

/* Thaw (ours only, if frozen), unmount, detach. */
static void scratch_remove(struct scratch_fs *fs)
{
	if (fs->mounted) {
		int fd = open(fs->mnt, O_RDONLY | O_DIRECTORY);
		int arg = 0;

		if (fd >= 0) {
			ioctl(fd, FITHAW, &arg);
			close(fd);
		}
	}
	for (int i = 0; i < S.nchildren; i++) {
		kill(S.children[i], SIGKILL);
		waitpid(S.children[i], NULL, 0);
	}
	S.nchildren = 0;
	if (fs->mounted && umount2(fs->mnt, 0) < 0 && umount2(fs->mnt, MNT_DETACH) < 0)
		fprintf(stderr, "# cannot unmount '%s': %s\n", fs->mnt, strerror(errno));
	fs->mounted = false;
	if (fs->dev[0])
		run(NULL, 0, "losetup -d %s", fs->dev);
	fs->dev[0] = '\0';
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fmt(S.why, sizeof(S.why), "not root: freezing needs CAP_SYS_ADMIN and loop devices");
		return 0;
	}
	if (access("/dev/loop-control", F_OK) < 0) {
		fmt(S.why, sizeof(S.why), "no loop devices (/dev/loop-control is missing)");
		return 0;
	}
	if (!fs_known_to_kernel("xfs") || !fs_known_to_kernel("ext4")) {
		fmt(S.why, sizeof(S.why), "the kernel lacks XFS or ext4");
		return 0;
	}
	if (run(NULL, 0, "command -v mkfs.xfs && command -v mkfs.ext4 && command -v losetup") != 0) {
		fmt(S.why, sizeof(S.why), "mkfs.xfs, mkfs.ext4 or losetup is not installed");
		return 0;
	}
	fmt(S.dir, sizeof(S.dir), "/tmp/vss-test-fg.XXXXXX");
	if (!mkdtemp(S.dir)) {
		fmt(S.why, sizeof(S.why), "cannot create a temporary directory");
		return 0;
	}
	if (scratch_make(&S.xfs) < 0 || scratch_make(&S.ext4) < 0) {
		/* A machine with all of the above must build them: fail. */
		fprintf(stderr, "# cannot build the scratch volumes\n");
		return -1;
	}
	S.ready = true;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	scratch_remove(&S.xfs);
	scratch_remove(&S.ext4);
	if (S.dir[0])
		run(NULL, 0, "rm -rf %s", S.dir);
	return 0;
}

#define NEED_SCRATCH()                                         \
	do {                                                   \
		if (!S.ready) {                                \
			fprintf(stderr, "# skipped: %s\n", S.why); \
			skip();                                \
		}                                              \
	} while (0)

static void track(pid_t pid)
{
	assert_true(S.nchildren < (int)(sizeof(S.children) / sizeof(S.children[0])));
	S.children[S.nchildren++] = pid;
}

static void untrack(pid_t pid)
{
	for (int i = 0; i < S.nchildren; i++)
		if (S.children[i] == pid) {
			S.children[i] = S.children[--S.nchildren];
			return;
		}
}

/* A child that creates, writes and fsyncs a file in dir, then exits 0. */
static pid_t spawn_writer(const char *dir)
{
	char path[PATH_MAX];
	pid_t pid;

	fmt(path, sizeof(path), "%s/written-%ld", dir, (long)getpid());
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0 || write(fd, "x", 1) != 1 || fsync(fd) < 0)
			_exit(1);
		_exit(0);
	}
	track(pid);
	return pid;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Whether pid exited (successfully) within ms; reaps it if so. */
static bool done_within(pid_t pid, unsigned int ms)
{
	int st;

	for (unsigned int waited = 0;; waited += 10) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			untrack(pid);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fail_msg("the writer failed (status %d)", st);
			return true;
		}
		assert_int_equal(r, 0);
		if (waited >= ms)
			return false;
		sleep_ms(10);
	}
}

static void assert_writable(const char *mnt)
{
	pid_t w = spawn_writer(mnt);

	if (!done_within(w, 1000))
		fail_msg("'%s' is still frozen: a write did not complete within 1 s", mnt);
}

/* ---- tests ------------------------------------------------------------- */

static void freeze_and_thaw(const char *mnt)
{
	const char *mps[] = { mnt };
	struct vss__freeze_guard *g = NULL;
	uint64_t held[1] = { 0 };
	pid_t w;
	int rc;

	rc = vss__freeze_guard_start(mps, 1, 10000, &g);
	if (rc < 0)
		fail_msg("start: %s: %s", vss_strerror(rc), vss_error_last()->message);
	assert_non_null(g);
	w = spawn_writer(mnt);
	sleep_ms(300);
	if (done_within(w, 0))
		fail_msg("a write to '%s' completed while it was frozen", mnt);
	rc = vss__freeze_guard_release(g, held);
	if (rc < 0)
		fail_msg("release: %s: %s", vss_strerror(rc), vss_error_last()->message);
	if (!done_within(w, 2000))
		fail_msg("the write to '%s' did not complete after the thaw", mnt);
	/* The writer was blocked for 300 ms of the hold. */
	assert_true(held[0] >= 300000000ull);
	assert_true(held[0] < 10000000000ull);
}

static void test_freeze_guard__xfs_freeze_blocks_writes_until_release(void **state)
{
	(void)state;
	NEED_SCRATCH();
	freeze_and_thaw(S.xfs.mnt);
}

static void test_freeze_guard__ext4_freeze_blocks_writes_until_release(void **state)
{
	(void)state;
	NEED_SCRATCH();
	freeze_and_thaw(S.ext4.mnt);
}

static void test_freeze_guard__both_volumes_held_and_timed(void **state)
{
	const char *mps[] = { S.xfs.mnt, S.ext4.mnt };
	struct vss__freeze_guard *g = NULL;
	uint64_t held[2] = { 0, 0 };
	pid_t w1, w2;
	int rc;

	(void)state;
	NEED_SCRATCH();
	rc = vss__freeze_guard_start(mps, 2, 10000, &g);
	if (rc < 0)
		fail_msg("start: %s", vss_error_last()->message);
	w1 = spawn_writer(S.xfs.mnt);
	w2 = spawn_writer(S.ext4.mnt);
	sleep_ms(300);
	assert_false(done_within(w1, 0));
	assert_false(done_within(w2, 0));
	assert_int_equal(vss__freeze_guard_release(g, held), 0);
	assert_true(done_within(w1, 2000));
	assert_true(done_within(w2, 2000));
	assert_true(held[0] >= 300000000ull);
	assert_true(held[1] >= 300000000ull);
	/* Frozen in order, thawed in reverse: the first is held longest. */
	assert_true(held[0] >= held[1]);
}

static void test_freeze_guard__window_expiry_thaws_and_reports(void **state)
{
	const char *mps[] = { S.xfs.mnt };
	struct vss__freeze_guard *g = NULL;
	uint64_t held[1] = { 0 };
	char expect[256];
	pid_t w;
	int rc;

	(void)state;
	NEED_SCRATCH();
	rc = vss__freeze_guard_start(mps, 1, 200, &g);
	if (rc < 0)
		fail_msg("start: %s", vss_error_last()->message);
	w = spawn_writer(S.xfs.mnt);
	sleep_ms(600);
	/* The guard thawed at 200 ms by itself: the writer is through. */
	assert_true(done_within(w, 0));
	rc = vss__freeze_guard_release(g, held);
	assert_int_equal(rc, -VSS_E_HOLD_WRITES_TIMEOUT);
	fmt(expect, sizeof(expect), "'%s' was frozen longer than the 0.200 s hold window and was "
	    "thawed; the copy was not taken in time", S.xfs.mnt);
	assert_contains(vss_error_last()->message, expect);
	assert_true(held[0] >= 200000000ull);
	assert_true(held[0] < 600000000ull);
	assert_writable(S.xfs.mnt);
}

static void test_freeze_guard__killed_requester_thaws(void **state)
{
	int sync_pipe[2];
	pid_t req, w;
	char c = 0;

	(void)state;
	NEED_SCRATCH();
	assert_int_equal(pipe(sync_pipe), 0);
	req = fork();
	assert_true(req >= 0);
	if (req == 0) {
		const char *mps[] = { S.ext4.mnt };
		struct vss__freeze_guard *g = NULL;

		close(sync_pipe[0]);
		if (vss__freeze_guard_start(mps, 1, 30000, &g) < 0)
			_exit(1);
		if (write(sync_pipe[1], "F", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	track(req);
	close(sync_pipe[1]);
	assert_int_equal(read(sync_pipe[0], &c, 1), 1);
	close(sync_pipe[0]);
	assert_int_equal(c, 'F');

	w = spawn_writer(S.ext4.mnt);
	sleep_ms(300);
	assert_false(done_within(w, 0));
	assert_int_equal(kill(req, SIGKILL), 0);
	assert_int_equal(waitpid(req, NULL, 0), req);
	untrack(req);
	/* Well within the 30 s window: the guard saw its channel close. */
	if (!done_within(w, 1000))
		fail_msg("'%s' stayed frozen after the requester was killed", S.ext4.mnt);
}

static void test_freeze_guard__unfreezable_mount_point_refused(void **state)
{
	const char *mps[] = { "/proc" };
	struct vss__freeze_guard *g = NULL;
	int rc;

	(void)state;
	NEED_SCRATCH();
	rc = vss__freeze_guard_start(mps, 1, 10000, &g);
	assert_int_equal(rc, -EOPNOTSUPP);
	assert_null(g);
	assert_contains(vss_error_last()->message, "cannot freeze '/proc': Operation not supported");
}

static void test_freeze_guard__second_failure_thaws_the_first(void **state)
{
	const char *mps[] = { S.xfs.mnt, S.ext4.mnt, "/proc" };
	struct vss__freeze_guard *g = NULL;
	int rc;

	(void)state;
	NEED_SCRATCH();
	rc = vss__freeze_guard_start(mps, 3, 10000, &g);
	assert_int_equal(rc, -EOPNOTSUPP);
	assert_null(g);
	assert_contains(vss_error_last()->message, "cannot freeze '/proc'");
	assert_writable(S.xfs.mnt);
	assert_writable(S.ext4.mnt);
}

static void test_freeze_guard__missing_mount_point_refused(void **state)
{
	char missing[PATH_MAX], expect[PATH_MAX + 32];
	const char *mps[] = { S.xfs.mnt, missing };
	struct vss__freeze_guard *g = NULL;
	int rc;

	(void)state;
	NEED_SCRATCH();
	fmt(missing, sizeof(missing), "%s/no-such-dir", S.dir);
	rc = vss__freeze_guard_start(mps, 2, 10000, &g);
	assert_int_equal(rc, -ENOENT);
	assert_null(g);
	fmt(expect, sizeof(expect), "cannot freeze '%s'", missing);
	assert_contains(vss_error_last()->message, expect);
	assert_writable(S.xfs.mnt);
}

static void test_freeze_guard__already_frozen_is_busy(void **state)
{
	const char *mps[] = { S.ext4.mnt };
	struct vss__freeze_guard *g = NULL, *g2 = NULL;
	int rc;

	(void)state;
	NEED_SCRATCH();
	rc = vss__freeze_guard_start(mps, 1, 10000, &g);
	if (rc < 0)
		fail_msg("start: %s", vss_error_last()->message);
	rc = vss__freeze_guard_start(mps, 1, 10000, &g2);
	assert_int_equal(rc, -EBUSY);
	assert_null(g2);
	assert_contains(vss_error_last()->message, "is already frozen");
	/* The failed second guard did not thaw the first one's freeze. */
	{
		pid_t w = spawn_writer(S.ext4.mnt);

		sleep_ms(200);
		assert_false(done_within(w, 0));
		assert_int_equal(vss__freeze_guard_release(g, NULL), 0);
		assert_true(done_within(w, 2000));
	}
}

static void test_freeze_guard__same_filesystem_twice_is_one_freeze(void **state)
{
	const char *mps[] = { S.xfs.mnt, S.xfs.mnt };
	struct vss__freeze_guard *g = NULL;
	uint64_t held[2] = { 0, 0 };
	int rc;

	(void)state;
	NEED_SCRATCH();
	rc = vss__freeze_guard_start(mps, 2, 10000, &g);
	if (rc < 0)
		fail_msg("start: %s", vss_error_last()->message);
	sleep_ms(50);
	assert_int_equal(vss__freeze_guard_release(g, held), 0);
	assert_true(held[0] >= 50000000ull);
	assert_true(held[0] == held[1]);
	assert_writable(S.xfs.mnt);
}

static void test_freeze_guard__guard_keeps_no_inherited_lock(void **state)
{
	const char *mps[] = { S.xfs.mnt };
	struct vss__freeze_guard *g = NULL;
	char lockpath[PATH_MAX];
	int a, b, rc;

	(void)state;
	NEED_SCRATCH();
	/* Like the creation lock: an flock() on a descriptor without CLOEXEC. */
	fmt(lockpath, sizeof(lockpath), "%s/create.lock", S.dir);
	a = open(lockpath, O_RDWR | O_CREAT, 0644);
	assert_true(a >= 0);
	assert_int_equal(flock(a, LOCK_EX), 0);
	rc = vss__freeze_guard_start(mps, 1, 10000, &g);
	if (rc < 0)
		fail_msg("start: %s", vss_error_last()->message);
	/* Our last reference goes: the lock is free unless the guard kept one. */
	close(a);
	b = open(lockpath, O_RDWR);
	assert_true(b >= 0);
	rc = flock(b, LOCK_EX | LOCK_NB);
	close(b);
	assert_int_equal(vss__freeze_guard_release(g, NULL), 0);
	if (rc < 0)
		fail_msg("the freeze guard kept the lock: %s", strerror(errno));
}

/* The process (not us) holding a descriptor open on path, or 0. */
static pid_t find_holder(const char *path)
{
	char fddir[64], link[PATH_MAX + 64], target[PATH_MAX];
	struct dirent *pe, *fe;
	pid_t found = 0;
	DIR *procs, *fds;

	procs = opendir("/proc");
	assert_non_null(procs);
	while (!found && (pe = readdir(procs))) {
		long pid = strtol(pe->d_name, NULL, 10);

		if (pid <= 0 || pid == (long)getpid())
			continue;
		fmt(fddir, sizeof(fddir), "/proc/%ld/fd", pid);
		fds = opendir(fddir);
		if (!fds)
			continue;
		while (!found && (fe = readdir(fds))) {
			ssize_t n;

			fmt(link, sizeof(link), "%s/%s", fddir, fe->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, path) == 0)
				found = (pid_t)pid;
		}
		closedir(fds);
	}
	closedir(procs);
	return found;
}

static void test_freeze_guard__guard_ignores_termination_signals(void **state)
{
	const char *mps[] = { S.ext4.mnt };
	struct vss__freeze_guard *g = NULL;
	pid_t guard, w;
	int rc;

	(void)state;
	NEED_SCRATCH();
	rc = vss__freeze_guard_start(mps, 1, 10000, &g);
	if (rc < 0)
		fail_msg("start: %s", vss_error_last()->message);
	guard = find_holder(S.ext4.mnt);
	assert_true(guard > 0);
	/* Its own session: no terminal's signals reach it. */
	assert_int_equal(getsid(guard), guard);
	assert_int_equal(kill(guard, SIGTERM), 0);
	assert_int_equal(kill(guard, SIGINT), 0);
	assert_int_equal(kill(guard, SIGHUP), 0);
	w = spawn_writer(S.ext4.mnt);
	sleep_ms(200);
	assert_int_equal(kill(guard, 0), 0);
	assert_false(done_within(w, 0));
	assert_int_equal(vss__freeze_guard_release(g, NULL), 0);
	assert_true(done_within(w, 2000));
}

static void test_freeze_guard__no_mount_points_is_invalid(void **state)
{
	struct vss__freeze_guard *g = NULL;

	(void)state;
	assert_int_equal(vss__freeze_guard_start(NULL, 0, 10000, &g), -EINVAL);
	assert_null(g);
	assert_int_equal(vss__freeze_guard_release(NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_freeze_guard__no_mount_points_is_invalid),
		cmocka_unit_test(test_freeze_guard__xfs_freeze_blocks_writes_until_release),
		cmocka_unit_test(test_freeze_guard__ext4_freeze_blocks_writes_until_release),
		cmocka_unit_test(test_freeze_guard__both_volumes_held_and_timed),
		cmocka_unit_test(test_freeze_guard__window_expiry_thaws_and_reports),
		cmocka_unit_test(test_freeze_guard__killed_requester_thaws),
		cmocka_unit_test(test_freeze_guard__unfreezable_mount_point_refused),
		cmocka_unit_test(test_freeze_guard__second_failure_thaws_the_first),
		cmocka_unit_test(test_freeze_guard__missing_mount_point_refused),
		cmocka_unit_test(test_freeze_guard__already_frozen_is_busy),
		cmocka_unit_test(test_freeze_guard__same_filesystem_twice_is_one_freeze),
		cmocka_unit_test(test_freeze_guard__guard_keeps_no_inherited_lock),
		cmocka_unit_test(test_freeze_guard__guard_ignores_termination_signals),
	};

	return cmocka_run_group_tests_name("freeze-guard", tests, group_setup, group_teardown);
}
