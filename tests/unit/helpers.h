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
#include <sys/wait.h>

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

#endif
