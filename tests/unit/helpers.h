/*
 * Helpers for the unit tests that build scratch volumes with the standard
 * tools (truncate, losetup, mkfs.*, mount).  Include after <cmocka.h>.
 * Static, so each test program gets its own copy; unused ones are fine.
 */
#ifndef VSS_TESTS_UNIT_HELPERS_H
#define VSS_TESTS_UNIT_HELPERS_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/file.h"

/* snprintf that fails the test rather than truncate. */
static void fmt(char *buf, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4), unused));
static void fmt(char *buf, size_t size, const char *format, ...)
{
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(buf, size, format, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		fail_msg("'%s' does not fit in %zu bytes", format, size);
}

/*
 * Run a shell command with stderr joined to stdout; its output (without
 * trailing newlines, cut to outsz) into out when out is not NULL.  Returns
 * the exit status, or -1; a failure is printed as a '#' line for the log.
 */
static int run(char *out, size_t outsz, const char *format, ...)
	__attribute__((format(printf, 3, 4), unused));
static int run(char *out, size_t outsz, const char *format, ...)
{
	char cmd[3 * PATH_MAX], buf[4096];
	size_t len = 0, n;
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, format);
	vsnprintf(cmd, sizeof(cmd) - 8, format, ap);
	va_end(ap);
	memcpy(cmd + strlen(cmd), " 2>&1", 6);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while ((n = fread(buf + len, 1, sizeof(buf) - 1 - len, p)) > 0)
		len += n;
	buf[len] = '\0';
	st = pclose(p);
	st = st < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (st != 0)
		fprintf(stderr, "# '%s' failed (%d): %s\n", cmd, st, buf);
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (out && outsz > 0) {
		n = len < outsz - 1 ? len : outsz - 1;
		memcpy(out, buf, n);
		out[n] = '\0';
	}
	return st;
}

/* Does the running kernel know this filesystem (/proc/filesystems)? */
static bool fs_known_to_kernel(const char *fstype) __attribute__((unused));
static bool fs_known_to_kernel(const char *fstype)
{
	char line[128], want[64];
	bool found = false;
	FILE *f;

	fmt(want, sizeof(want), "\t%s\n", fstype);
	f = fopen("/proc/filesystems", "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

/* Write a new file (replacing one), or fail the test. */
static void put(const char *path, const char *text, mode_t mode) __attribute__((unused));
static void put(const char *path, const char *text, mode_t mode)
{
	unlink(path);
	assert_int_equal(file_write_new(path, text, strlen(text), mode, false), 0);
}

/*
 * Private roots for one test program: a new directory
 * /tmp/vss-test-<name>.XXXXXX (into dir, dirsz >= 64) holding etc/ with
 * etc/writers.d/ (into writers, wsz >= 128), run/ and var/, exported as
 * VSS_SYSCONFDIR, VSS_RUNDIR and VSS_STATEDIR.  0, or -1.
 */
static int private_roots(char *dir, size_t dirsz, const char *name, char *writers, size_t wsz)
	__attribute__((unused));
static int private_roots(char *dir, size_t dirsz, const char *name, char *writers, size_t wsz)
{
	char etc[PATH_MAX], run_[PATH_MAX], var[PATH_MAX];

	snprintf(dir, dirsz, "/tmp/vss-test-%s.XXXXXX", name);
	if (!mkdtemp(dir))
		return -1;
	snprintf(etc, sizeof(etc), "%s/etc", dir);
	snprintf(run_, sizeof(run_), "%s/run", dir);
	snprintf(var, sizeof(var), "%s/var", dir);
	if (snprintf(writers, wsz, "%s/writers.d", etc) >= (int)wsz)
		return -1;
	if (mkdir(etc, 0755) < 0 || mkdir(run_, 0755) < 0 || mkdir(var, 0755) < 0 ||
	    mkdir(writers, 0755) < 0)
		return -1;
	setenv("VSS_SYSCONFDIR", etc, 1);
	setenv("VSS_RUNDIR", run_, 1);
	setenv("VSS_STATEDIR", var, 1);
	return 0;
}

/* rm -rf dir: 0, or -1. */
static int remove_tree(const char *dir) __attribute__((unused));
static int remove_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Is there a file dir/name? */
static bool exists_in(const char *dir, const char *name) __attribute__((unused));
static bool exists_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Wait up to ms for dir/name to appear. */
static bool wait_file_in(const char *dir, const char *name, int ms) __attribute__((unused));
static bool wait_file_in(const char *dir, const char *name, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (exists_in(dir, name))
			return true;
		usleep(10000);
	}
	return exists_in(dir, name);
}

#endif
