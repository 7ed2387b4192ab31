/*
 * The freeze guard: a small process that holds FIFREEZE on the volumes of a
 * set and guarantees they are thawed again, whatever happens to us.
 *
 * Why a separate process: a frozen filesystem must be thawed even when the
 * requester is killed with SIGKILL, and only another process can do that.
 * The guard thaws when told to, when the hold window has passed, and when
 * its end of the channel shows end-of-file — which the kernel produces for
 * us when our process dies, however it dies.
 *
 * Shape:
 *   - Everything the guard needs (the open mount points, the channel, the
 *     list of descriptors to keep) is prepared before fork(): after fork()
 *     only async-signal-safe calls are allowed (the caller may have
 *     threads), so the guard never allocates and never uses stdio.
 *   - The channel is one socketpair(AF_UNIX, SOCK_STREAM) rather than two
 *     pipes: one descriptor each way, and send(MSG_NOSIGNAL) so a write to a
 *     dead peer is EPIPE, never SIGPIPE, without touching the caller's
 *     signal dispositions.
 *   - We double-fork: the guard is a grandchild, and the intermediate child
 *     exits at once and is reaped here.  So we never have to wait for, or
 *     kill, the guard.  Killing it is never safe: a guard blocked in
 *     FIFREEZE (which waits uninterruptibly for writers to drain) would die
 *     the moment the ioctl returned, leaving the filesystem frozen.  Left
 *     alone it sees end-of-file when it returns and thaws.  An orphaned
 *     guard is reaped by init (or the caller's subreaper), never a zombie
 *     of ours.  End-of-file on the channel tells us the guard has finished.
 *   - The guard runs in its own session (no terminal signals), ignores
 *     SIGINT, SIGTERM, SIGHUP and SIGPIPE, and closes every descriptor it
 *     inherited except its own, so it keeps no lock of ours alive.
 *
 * Messages, guard to parent, are fixed-size binary records (same program,
 * same ABI): PROGRESS i before each FIFREEZE, then FROZEN or FAILED (i,
 * errno); after the hold, DONE or TIMED_OUT followed by the n hold times in
 * nanoseconds, or THAW_FAILED (i, errno) followed by the same.  Parent to
 * guard: one byte, 'T', "thaw now".
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vss-private.h"
#include "util/banned.h"

/* How long start() waits for the guard beyond the window itself. */
#define GUARD_GRACE_MS 5000
/* How long release() waits for the guard to report the thaw. */
#define GUARD_THAW_WAIT_MS 30000

enum guard_msg_kind {
	MSG_PROGRESS = 1,  /* about to freeze index */
	MSG_FROZEN,        /* all frozen */
	MSG_FAILED,        /* freezing index failed with err; the others are thawed */
	MSG_DONE,          /* thawed on command; n hold times follow */
	MSG_TIMED_OUT,     /* the window passed, thawed; n hold times follow */
	MSG_THAW_FAILED,   /* thawing index failed with err; n hold times follow */
	MSG_FORK_FAILED,   /* the intermediate child could not fork; err */
};

struct guard_msg {
	int32_t kind;
	int32_t index;
	int32_t err;
};

struct vss__freeze_guard {
	size_t n;
	char **mountpoints;  /* copies, for messages */
	unsigned int window_ms;
	int sock;            /* our end of the channel, -1 once closed */
	/* Prepared for the guard before fork(): */
	int *fds;            /* fds[i] open on mountpoints[i], -1 for an alias */
	ssize_t *alias;      /* alias[i]: earlier index on the same filesystem, or -1 */
	int guard_sock;      /* the guard's end of the channel */
	int *keep;           /* sorted descriptors the guard keeps */
	size_t nkeep;
	uint64_t *frozen_at; /* scratch for the guard: CLOCK_MONOTONIC ns */
	uint64_t *held;      /* scratch for the guard, then the reply */
};

/* ---- the guard (after fork: async-signal-safe calls only) -------------- */

static uint64_t guard_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void guard_send(int sock, const void *data, size_t len)
{
	const char *p = data;

	/* A dead parent gives EPIPE; there is nobody to tell, carry on. */
	while (len > 0) {
		ssize_t w = send(sock, p, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		p += w;
		len -= (size_t)w;
	}
}

static void guard_send_msg(int sock, int kind, size_t index, int err)
{
	struct guard_msg m = { kind, (int32_t)index, err };

	guard_send(sock, &m, sizeof(m));
}

/* 0 or errno.  EINVAL means "not frozen": already thawed, which is fine. */
static int guard_thaw_one(int fd)
{
	int arg = 0;

	for (;;) {
		if (ioctl(fd, FITHAW, &arg) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return errno == EINVAL ? 0 : errno;
	}
}

/* Thaw indexes [0, upto) in reverse order; record hold times; first error. */
static int guard_thaw(struct vss__freeze_guard *g, size_t upto, size_t *ret_index)
{
	int first_err = 0;

	for (size_t i = upto; i-- > 0;) {
		int err;

		if (g->fds[i] < 0)
			continue;
		err = guard_thaw_one(g->fds[i]);
		g->held[i] = guard_now() - g->frozen_at[i];
		if (err && !first_err) {
			first_err = err;
			*ret_index = i;
		}
	}
	for (size_t i = 0; i < upto; i++)
		if (g->fds[i] < 0)
			g->held[i] = g->held[g->alias[i]];
	return first_err;
}

/* True when the parent has gone (end-of-file or error on the channel). */
static bool guard_parent_gone(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	if (p.revents & (POLLHUP | POLLERR))
		return true;
	/* Data before "frozen" is not expected; end-of-file is what matters. */
	return recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static void guard_close_others(const struct vss__freeze_guard *g)
{
	unsigned int next = 3;

	for (size_t i = 0; i < g->nkeep; i++) {
		unsigned int k = (unsigned int)g->keep[i];

		if (k > next)
			close_range(next, k - 1, 0);
		if (k + 1 > next)
			next = k + 1;
	}
	close_range(next, ~0u, 0);
}

static __attribute__((noreturn)) void guard_main(struct vss__freeze_guard *g)
{
	struct sigaction sa;
	sigset_t mask;
	uint64_t deadline;
	size_t i, bad = 0;
	int err = 0, kind;

	/* Signals are blocked since before fork(): ignore, then unblock. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	setsid();
	guard_close_others(g);

	for (i = 0; i < g->n; i++) {
		int arg = 0;

		if (guard_parent_gone(g->guard_sock)) {
			guard_thaw(g, i, &bad);
			_exit(0);
		}
		guard_send_msg(g->guard_sock, MSG_PROGRESS, i, 0);
		if (g->fds[i] < 0) {
			g->frozen_at[i] = g->frozen_at[g->alias[i]];
			continue;
		}
		if (ioctl(g->fds[i], FIFREEZE, &arg) < 0) {
			err = errno;
			break;
		}
		g->frozen_at[i] = guard_now();
	}
	if (err) {
		guard_thaw(g, i, &bad);
		guard_send_msg(g->guard_sock, MSG_FAILED, i, err);
		_exit(0);
	}
	guard_send_msg(g->guard_sock, MSG_FROZEN, 0, 0);

	deadline = g->frozen_at[0] + (uint64_t)g->window_ms * 1000000u;
	kind = MSG_TIMED_OUT;
	for (;;) {
		struct pollfd p = { .fd = g->guard_sock, .events = POLLIN };
		uint64_t now = guard_now();
		int timeout, r;
		char c;

		if (now >= deadline)
			break;
		/* Round up so we never wake a little early and spin. */
		timeout = (int)((deadline - now + 999999u) / 1000000u);
		r = poll(&p, 1, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			continue;  /* the loop head decides whether the window passed */
		if (r < 0)
			break;  /* cannot wait: thaw now, and say it was early */
		r = (int)recv(g->guard_sock, &c, 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		/* "thaw", end-of-file (the parent died), or an error: all thaw. */
		kind = MSG_DONE;
		break;
	}
	err = guard_thaw(g, g->n, &bad);
	if (err)
		guard_send_msg(g->guard_sock, MSG_THAW_FAILED, bad, err);
	else
		guard_send_msg(g->guard_sock, kind, 0, 0);
	guard_send(g->guard_sock, g->held, g->n * sizeof(g->held[0]));
	_exit(0);
}

/* ---- the parent ---------------------------------------------------------- */

static void guard_free(struct vss__freeze_guard *g)
{
	if (!g)
		return;
	if (g->sock >= 0)
		close(g->sock);
	if (g->guard_sock >= 0)
		close(g->guard_sock);
	for (size_t i = 0; i < g->n; i++) {
		if (g->fds && g->fds[i] >= 0)
			close(g->fds[i]);
		if (g->mountpoints)
			free(g->mountpoints[i]);
	}
	free(g->mountpoints);
	free(g->fds);
	free(g->alias);
	free(g->keep);
	free(g->frozen_at);
	free(g->held);
	free(g);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * Read one complete record of len bytes, waiting at most until deadline
 * (CLOCK_MONOTONIC ns).  0, -ETIMEDOUT, -EPIPE (end-of-file), or -errno.
 */
static int read_full(int fd, void *buf, size_t len, uint64_t deadline)
{
	char *p = buf;

	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = vss__now_monotonic_ns();
		ssize_t r;
		int rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)((deadline - now + 999999u) / 1000000u));
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (rc == 0)
			continue;
		r = recv(fd, p, len, 0);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

static int freeze_error(const struct vss__freeze_guard *g, size_t i, int err)
{
	const char *mp = i < g->n ? g->mountpoints[i] : "?";

	switch (err) {
	case EBUSY:
		return vss__error(-EBUSY,
				  "cannot freeze '%s': it is already frozen (by another program, or "
				  "it is the same filesystem as another volume of the set); "
				  "thaw it with 'fsfreeze -u %s'", mp, mp);
	case EOPNOTSUPP:
	case ENOTTY:
		return vss__error(-EOPNOTSUPP, "cannot freeze '%s': %s (its filesystem cannot "
				  "be frozen)", mp, strerror(EOPNOTSUPP));
	default:
		return vss__error(-err, "cannot freeze '%s': %s", mp, strerror(err));
	}
}

/* Open the mount points and lay out what the guard will need. */
static int guard_prepare(struct vss__freeze_guard *g, const char *const *mountpoints)
{
	int sv[2];
	int rc = 0;

	g->mountpoints = calloc(g->n, sizeof(*g->mountpoints));
	g->fds = malloc(g->n * sizeof(*g->fds));
	g->alias = malloc(g->n * sizeof(*g->alias));
	g->keep = malloc((g->n + 1) * sizeof(*g->keep));
	g->frozen_at = calloc(g->n, sizeof(*g->frozen_at));
	g->held = calloc(g->n, sizeof(*g->held));
	if (!g->mountpoints || !g->fds || !g->alias || !g->keep || !g->frozen_at || !g->held) {
		if (g->fds)
			for (size_t i = 0; i < g->n; i++)
				g->fds[i] = -1;
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < g->n; i++)
		g->fds[i] = -1;

	for (size_t i = 0; i < g->n; i++) {
		struct stat st;
		int fd;

		g->alias[i] = -1;
		g->mountpoints[i] = strdup(mountpoints[i]);
		if (!g->mountpoints[i]) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		fd = open(mountpoints[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			rc = vss__error(-errno, "cannot freeze '%s': cannot open it: %s",
					mountpoints[i], strerror(errno));
			goto out;
		}
		g->fds[i] = fd;
		if (fstat(fd, &st) < 0) {
			rc = vss__error(-errno, "cannot freeze '%s': %s", mountpoints[i],
					strerror(errno));
			goto out;
		}
		/*
		 * The same filesystem twice (two mount points, a bind mount):
		 * freezing it again would fail with EBUSY, so the later entry
		 * shares the earlier one's freeze.
		 */
		for (size_t j = 0; j < i; j++) {
			struct stat sj;

			if (g->fds[j] >= 0 && fstat(g->fds[j], &sj) == 0 && sj.st_dev == st.st_dev) {
				g->alias[i] = (ssize_t)j;
				close(fd);
				g->fds[i] = -1;
				break;
			}
		}
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = vss__error(-errno, "cannot start the freeze guard: socketpair: %s",
				strerror(errno));
		goto out;
	}
	g->sock = sv[0];
	g->guard_sock = sv[1];

	for (size_t i = 0; i < g->n; i++)
		if (g->fds[i] >= 0)
			g->keep[g->nkeep++] = g->fds[i];
	g->keep[g->nkeep++] = g->guard_sock;
	qsort(g->keep, g->nkeep, sizeof(g->keep[0]), cmp_int);
out:
	return rc;
}

/* Fork the intermediate child, which forks the guard and exits. */
static int guard_spawn(struct vss__freeze_guard *g)
{
	sigset_t all, old;
	pid_t pid;
	int status, err, rc = 0;

	/*
	 * Block every signal across fork() so that no handler of the caller
	 * runs in the children, and a Ctrl-C cannot kill the guard before it
	 * has set its signals aside.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	err = errno;
	if (pid != 0)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return vss__error(-err, "cannot start the freeze guard: fork: %s", strerror(err));
	if (pid == 0) {
		pid_t guard = fork();

		if (guard == 0)
			guard_main(g);
		if (guard < 0)
			guard_send_msg(g->guard_sock, MSG_FORK_FAILED, 0, errno);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno == EINTR)
			continue;
		/* ECHILD: SIGCHLD is ignored and the kernel reaped it. */
		if (errno != ECHILD)
			rc = vss__error(-errno, "cannot start the freeze guard: waitpid: %s",
					strerror(errno));
		break;
	}
	return rc;
}

int vss__freeze_guard_start(const char *const *mountpoints, size_t n, unsigned int window_ms,
			    struct vss__freeze_guard **ret)
{
	struct vss__freeze_guard *g = NULL;
	size_t current = 0;
	uint64_t deadline;
	int rc;

	if (n == 0 || !mountpoints)
		return vss__error(-EINVAL, "no mount point to freeze");
	g = calloc(1, sizeof(*g));
	if (!g)
		return vss__error(-ENOMEM, "out of memory");
	g->n = n;
	g->window_ms = window_ms;
	g->sock = -1;
	g->guard_sock = -1;

	rc = guard_prepare(g, mountpoints);
	if (rc < 0)
		goto out;
	rc = guard_spawn(g);
	if (rc < 0)
		goto out;
	/* Only the guard holds its end now; its closing is our end-of-file. */
	close(g->guard_sock);
	g->guard_sock = -1;
	/* The guard holds its own copies of the mount points. */
	for (size_t i = 0; i < n; i++) {
		if (g->fds[i] >= 0)
			close(g->fds[i]);
		g->fds[i] = -1;
	}

	deadline = vss__now_monotonic_ns() + ((uint64_t)window_ms + GUARD_GRACE_MS) * 1000000u;
	for (;;) {
		struct guard_msg m;

		rc = read_full(g->sock, &m, sizeof(m), deadline);
		if (rc == -ETIMEDOUT) {
			/*
			 * Closing the channel is all we do: the guard thaws
			 * whatever it froze as soon as its FIFREEZE returns
			 * and it sees end-of-file.
			 */
			rc = vss__error(-VSS_E_FLUSH_WRITES_TIMEOUT,
					"'%s' could not be frozen within %u.%03u s (writes did not "
					"drain); it will be thawed as soon as the freeze completes",
					g->mountpoints[current], (window_ms + GUARD_GRACE_MS) / 1000,
					(window_ms + GUARD_GRACE_MS) % 1000);
			goto out;
		}
		if (rc < 0) {
			rc = vss__error(-VSS_E_UNEXPECTED, "the freeze guard of '%s' ended "
					"unexpectedly: %s", g->mountpoints[current],
					strerror(-rc));
			goto out;
		}
		if (m.kind == MSG_PROGRESS && m.index >= 0 && (size_t)m.index < n) {
			current = (size_t)m.index;
			continue;
		}
		if (m.kind == MSG_FROZEN)
			break;
		if (m.kind == MSG_FAILED) {
			rc = freeze_error(g, (size_t)m.index, m.err);
			goto out;
		}
		if (m.kind == MSG_FORK_FAILED) {
			rc = vss__error(-m.err, "cannot start the freeze guard: fork: %s",
					strerror(m.err));
			goto out;
		}
		rc = vss__error(-VSS_E_UNEXPECTED, "the freeze guard sent an unknown message %d",
				m.kind);
		goto out;
	}
	vss__debug("freeze guard holds %zu mount point(s), window %u ms", n, window_ms);
	*ret = g;
	g = NULL;
	rc = 0;
out:
	guard_free(g);
	return rc;
}

int vss__freeze_guard_release(struct vss__freeze_guard *g, uint64_t *held_ns)
{
	struct guard_msg m;
	uint64_t deadline;
	char cmd = 'T';
	int rc;

	if (!g)
		return 0;
	/* EPIPE means the guard already thawed on its own; its reply waits. */
	while (send(g->sock, &cmd, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	deadline = vss__now_monotonic_ns() + (uint64_t)GUARD_THAW_WAIT_MS * 1000000u;
	rc = read_full(g->sock, &m, sizeof(m), deadline);
	if (rc == 0)
		rc = read_full(g->sock, g->held, g->n * sizeof(g->held[0]), deadline);
	if (rc < 0) {
		/* Closing the channel (guard_free) still makes it thaw. */
		rc = vss__error(-VSS_E_UNEXPECTED, "the freeze guard of '%s' did not report the "
				"thaw: %s", g->mountpoints[0],
				rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		goto out;
	}
	if (held_ns)
		memcpy(held_ns, g->held, g->n * sizeof(held_ns[0]));
	switch (m.kind) {
	case MSG_DONE:
		rc = 0;
		break;
	case MSG_TIMED_OUT: {
		/* Name the mount point held longest: the one that hit the window. */
		size_t worst = 0;

		for (size_t i = 1; i < g->n; i++)
			if (g->held[i] > g->held[worst])
				worst = i;
		rc = vss__error(-VSS_E_HOLD_WRITES_TIMEOUT,
				"'%s' was frozen longer than the %u.%03u s hold window and was "
				"thawed; the copy was not taken in time", g->mountpoints[worst],
				g->window_ms / 1000, g->window_ms % 1000);
		break;
	}
	case MSG_THAW_FAILED:
		rc = vss__error(m.err ? -m.err : -EIO, "cannot thaw '%s': %s; thaw it with "
				"'fsfreeze -u %s'",
				m.index >= 0 && (size_t)m.index < g->n ? g->mountpoints[m.index] : "?",
				strerror(m.err),
				m.index >= 0 && (size_t)m.index < g->n ? g->mountpoints[m.index] : "?");
		break;
	default:
		rc = vss__error(-VSS_E_UNEXPECTED, "the freeze guard sent an unknown message %d",
				m.kind);
		break;
	}
	/* End-of-file: the guard has finished (init reaps it). */
	(void)read_full(g->sock, &cmd, 1, vss__now_monotonic_ns() + 1000000000u);
out:
	guard_free(g);
	return rc;
}
