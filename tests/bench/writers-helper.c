/*
 * tests/bench/writers-helper.c — the two timed parts of the blackout
 * benchmark, built and run by tests/bench/writers.sh.
 *
 *   writers-helper hook LOG     an express writer's Freeze hook that holds
 *                               nothing: notes the time it starts, prints
 *                               "frozen", waits for end-of-file on its
 *                               standard input (the requester closes it to
 *                               deliver Thaw), notes that time, and appends
 *                               "START END" (CLOCK_REALTIME, ns) to LOG in
 *                               one write (O_APPEND: 16 hooks share LOG).
 *   writers-helper prehook LOG  the same as a prestarted Freeze hook
 *                               (prestart="yes"): prints "ready", waits for
 *                               the line "freeze" on its standard input and
 *                               notes the time it read it (the start of its
 *                               blackout), prints "frozen", waits for
 *                               end-of-file, notes that time, appends
 *                               "START END" to LOG.  End-of-file before
 *                               "freeze" (Abort): exits 0, logs nothing.
 *   writers-helper wake N       the floor of a fan-out to N processes: N
 *                               children each block reading a pipe; all N
 *                               write ends are closed in a row; prints the
 *                               ns from the first close to the moment the
 *                               last child saw end-of-file: what waking N
 *                               processes costs on this machine, whoever
 *                               wakes them.
 *   writers-helper snap SRC DST the raw provider commit: the read-only btrfs
 *                               snapshot libbtrfsutil makes for vss's btrfs
 *                               provider, timed alone (no fork, no exec);
 *                               prints its duration in ns, then deletes DST.
 *
 * A C program rather than a script: a shell would add its own start-up and
 * forks to the very times measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <btrfsutil.h>

#include "util/banned.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int say(const char *line)
{
	size_t len = strlen(line);

	if (write(STDOUT_FILENO, line, len) != (ssize_t)len) {
		perror("writers-helper: write");
		return -1;
	}
	return 0;
}

/* Read stdin until its end-of-file: 0, or -1 on an error. */
static int wait_eof(void)
{
	char buf[256];
	ssize_t n;

	do {
		n = read(STDIN_FILENO, buf, sizeof(buf));
	} while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0) {
		perror("writers-helper: read");
		return -1;
	}
	return 0;
}

/*
 * Prestarted: wait for the line "freeze" (1), or end-of-file before it
 * (0), or an error (-1).  Byte by byte: what follows the line is not
 * consumed here.
 */
static int wait_freeze(void)
{
	char line[16];
	size_t len = 0;

	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("writers-helper: read");
			return -1;
		}
		if (n == 0)
			return 0;
		if (c != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = c;
			continue;
		}
		line[len] = '\0';
		if (strcmp(line, "freeze") == 0)
			return 1;
		len = 0;
	}
}

static int log_times(const char *log, uint64_t start, uint64_t end)
{
	char buf[64];
	int fd, len;

	fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "writers-helper: %s: %s\n", log, strerror(errno));
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 "\n", start, end);
	if (len < 0 || write(fd, buf, (size_t)len) != len) {
		fprintf(stderr, "writers-helper: %s: %s\n", log, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int hook(const char *log)
{
	uint64_t start = now_ns(), end;

	if (say("frozen\n") < 0 || wait_eof() < 0)
		return 1;
	end = now_ns();
	return log_times(log, start, end) < 0 ? 1 : 0;
}

static int prehook(const char *log)
{
	uint64_t start, end;
	int rc;

	if (say("ready\n") < 0)
		return 1;
	rc = wait_freeze();
	if (rc <= 0)
		return rc < 0 ? 1 : 0;
	start = now_ns();
	if (say("frozen\n") < 0 || wait_eof() < 0)
		return 1;
	end = now_ns();
	return log_times(log, start, end) < 0 ? 1 : 0;
}

#define WAKE_MAX 256

static int wake(const char *arg)
{
	char *end;
	long n = strtol(arg, &end, 10);
	uint64_t *seen, t0, last = 0;
	int fds[WAKE_MAX], rc = 0;

	if (*end || n < 1 || n > WAKE_MAX) {
		fprintf(stderr, "writers-helper: wake: '%s' is not 1 to %d\n", arg, WAKE_MAX);
		return 2;
	}
	seen = mmap(NULL, (size_t)n * sizeof(*seen), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seen == MAP_FAILED) {
		perror("writers-helper: mmap");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		int p[2];
		pid_t pid;

		if (pipe(p) < 0) {
			perror("writers-helper: pipe");
			return 1;
		}
		pid = fork();
		if (pid < 0) {
			perror("writers-helper: fork");
			return 1;
		}
		if (pid == 0) {
			char c;

			close(p[1]);
			for (long k = 0; k < i; k++)
				close(fds[k]);
			while (read(p[0], &c, 1) > 0 || errno == EINTR)
				;
			seen[i] = now_ns();
			_exit(0);
		}
		close(p[0]);
		fds[i] = p[1];
	}
	/* Let every child block in its read. */
	usleep(50000);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		close(fds[i]);
	for (long i = 0; i < n; i++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = 1;
	}
	for (long i = 0; i < n; i++)
		if (seen[i] > last)
			last = seen[i];
	if (rc == 0)
		printf("%" PRIu64 "\n", last > t0 ? last - t0 : 0);
	return rc;
}

static int snap(const char *src, const char *dst)
{
	enum btrfs_util_error e;
	uint64_t t0, t1;

	t0 = now_ns();
	e = btrfs_util_create_snapshot(src, dst, BTRFS_UTIL_CREATE_SNAPSHOT_READ_ONLY, NULL, NULL);
	t1 = now_ns();
	if (e != BTRFS_UTIL_OK) {
		fprintf(stderr, "writers-helper: snapshot of '%s': %s: %s\n", src, btrfs_util_strerror(e),
			strerror(errno));
		return 1;
	}
	printf("%" PRIu64 "\n", t1 - t0);
	e = btrfs_util_delete_subvolume(dst, 0);
	if (e != BTRFS_UTIL_OK) {
		fprintf(stderr, "writers-helper: delete '%s': %s: %s\n", dst, btrfs_util_strerror(e),
			strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "hook") == 0)
		return hook(argv[2]);
	if (argc == 3 && strcmp(argv[1], "prehook") == 0)
		return prehook(argv[2]);
	if (argc == 3 && strcmp(argv[1], "wake") == 0)
		return wake(argv[2]);
	if (argc == 4 && strcmp(argv[1], "snap") == 0)
		return snap(argv[2], argv[3]);
	fputs("usage: writers-helper hook LOG | prehook LOG | wake N | snap SRC DST\n", stderr);
	return 2;
}
