/*
 * Facts about processes (is the owner of auto-release copies still the
 * same running process?), the machine name, and clocks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

/*
 * /proc/PID/stat: "pid (comm) state ppid ... starttime(22) ...".  comm may
 * hold spaces and parentheses, so fields are counted after the last ')'.
 */
static int read_stat(pid_t pid, char *ret_state, uint64_t *ret_start)
{
	char path[64], *text = NULL, *p, *field;
	int rc, n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	rc = file_read_all(path, &text, NULL);
	if (rc < 0)
		return rc;
	p = strrchr(text, ')');
	if (!p || p[1] != ' ') {
		rc = -EINVAL;
		goto out;
	}
	p += 2;
	*ret_state = *p;
	/* p is at field 3; starttime is field 22. */
	for (n = 3, field = p; n < 22 && field; n++) {
		field = strchr(field, ' ');
		if (field)
			field++;
	}
	if (!field) {
		rc = -EINVAL;
		goto out;
	}
	p = strchr(field, ' ');
	if (p)
		*p = '\0';
	rc = parse_u64(field, ret_start);
out:
	free(text);
	return rc;
}

int vss__process_start_time(pid_t pid, uint64_t *ret)
{
	char state;
	uint64_t start;
	int rc = read_stat(pid, &state, &start);

	if (rc < 0)
		return vss__error(rc == -ENOENT ? -ESRCH : rc, "no process %ld", (long)pid);
	*ret = start;
	return 0;
}

bool vss__process_is_alive(pid_t pid, uint64_t start)
{
	char state;
	uint64_t now_start;

	if (pid <= 0)
		return false;
	if (read_stat(pid, &state, &now_start) < 0)
		return false;
	/* A zombie has ended; only its parent has not reaped it yet. */
	if (state == 'Z' || state == 'X')
		return false;
	/* Same number, different process: the pid was reused. */
	return start == 0 || start == now_start;
}

char *vss__machine_name(void)
{
	char name[256];

	if (gethostname(name, sizeof(name)) < 0)
		return strdup("localhost");
	name[sizeof(name) - 1] = '\0';
	return strdup(name);
}

uint64_t vss__now_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t vss__now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
