/*
 * Express writers: a registration file in $SYSCONFDIR/writers.d/ holds the
 * writer's metadata document and a shell command per event; the requester
 * runs the commands (vss-writers(5) fixes the file and the hook protocol).
 *
 * Every event runs as a small state machine behind the non-blocking ops of
 * writer-private.h.  The fan-out gets one epoll descriptor per writer that
 * watches everything the event waits on: the hook's stdout and stderr, a
 * pidfd that becomes readable when it exits, and a timerfd for the grace
 * given to pipes a grandchild keeps open after the hook exited.  Where
 * pidfd_open() is missing (kernels before 5.3, valgrind) the timerfd ticks
 * instead and the exit is polled.
 *
 * A Freeze hook may hold the application frozen: it prints "frozen" and
 * keeps running until its stdin (a pipe whose write end only this process
 * holds) reaches end-of-file.  That process outlives the Freeze event; Thaw
 * or Abort closes the pipe and waits for its exit before running their own
 * hook, all within one event.  Because the pipe is close-on-exec and held
 * nowhere else, the hook also sees end-of-file when the requester dies.
 *
 * A Freeze hook marked prestart="yes" is started during PrepareForSnapshot
 * instead (VSS_PRESTART=1): it gets ready (starts its client, connects)
 * without freezing and prints "ready"; that process is kept ("armed") and
 * Freeze writes the line "freeze" to its stdin, so the application is frozen
 * for a pipe round trip rather than for the start of a process, and the
 * blackout of a set no longer grows with the cost of starting processes
 * (which grows with their number on a machine of few CPUs).  Abort (or
 * anything but Freeze) before Freeze closes its stdin: it must go without
 * freezing, and is killed when it does not go within CLOSE_WAIT_MS.
 *
 * A hook's exit is observed with WNOWAIT and reaped only when the hook is
 * done with: while the zombie leader is unreaped its pid, and with it the
 * process group ID, cannot be reused, so signalling the group never reaches
 * a stranger.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <libxml/tree.h>

#include "vss-private.h"
#include "writer-private.h"
#include "schema.h"
#include "xml-attr.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/sbuf.h"
#include "util/strv.h"
#include "util/banned.h"

#define EXPRESS_NS  "x-schema:#VssLinuxExpressWriter"
#define WMD_NS      "x-schema:#VssWriterMetadataInfo"
#define X(s) ((const xmlChar *)(s))

/* Timeouts in registration files, as in vss.conf: 1 ms to one hour. */
#define MAX_TIMEOUT_MS 3600000u
/* After SIGTERM, how long a hook gets before SIGKILL. */
#define TERM_GRACE_MS 500
/* After SIGKILL, how long to wait for the death before giving up on it. */
#define KILL_WAIT_MS 80
/* After the hook exited, how long its pipes may stay open (a grandchild
 * that kept them) before the exit alone decides. */
#define PIPE_GRACE_MS 100
/* Without a pidfd, how often the exit is looked for. */
#define EXIT_POLL_MS 10
/* When the requester lets go of a writer whose freeze hook still holds. */
#define CLOSE_WAIT_MS 500
/* A stdout line longer than this is not one of ours: it is skipped. */
#define LINE_MAX_LEN 4096
/* The part of a stderr line kept as a failure message. */
#define ERR_LINE_MAX 1024
/* Bytes read from one pipe per advance(), so a chatty hook cannot starve
 * the other writers of the fan-out. */
#define READ_BUDGET (256u << 10)
#define EX_TEMPFAIL_STATUS 75

/* A hook command for one event. */
struct hook {
	char *command;            /* NULL: none, the event succeeds at once */
	unsigned int timeout_ms;  /* 0: the writer's */
	bool prestart;            /* Freeze: started at PrepareForSnapshot */
};

/* A running (or finished, not yet reaped) hook process. */
struct proc {
	pid_t pid;                /* 0: none */
	int pidfd;                /* -1 where pidfd_open() is missing */
	int out, err;             /* read ends; -1 once at end-of-file */
	int in;                   /* Freeze: write end of its stdin, else -1 */
	bool exited;              /* seen with WNOWAIT */
	bool reaped;
	int code;                 /* CLD_EXITED, CLD_KILLED, CLD_DUMPED */
	int status;               /* exit status or signal */
	bool lost;                /* somebody else reaped it: status unknown */
	uint64_t started_ns;
	uint64_t exited_ns;
	struct sbuf outbuf;       /* stdout not yet split into lines */
	bool skipping;            /* inside an over-long stdout line */
	struct sbuf errline;      /* the stderr line being read */
	char *last_err;           /* the last non-empty stderr line */
	bool frozen;              /* printed "frozen" */
	bool ready;               /* prestarted: printed "ready" */
	int failure;              /* from a "failure" line, 0 if none */
	char *failure_message;
};

enum phase {
	PHASE_IDLE,
	PHASE_RELEASE,            /* Thaw/Abort: waiting for the freeze hook */
	PHASE_HOOK,               /* waiting for the event's own hook */
	PHASE_PRESTART,           /* PrepareForSnapshot: the Freeze hook gets ready */
};

/* Where the output an event reads ends: what comes after belongs to the
 * next event. */
enum stop {
	STOP_NONE,
	STOP_READY,               /* a prestarted Freeze hook getting ready */
	STOP_FROZEN,              /* Freeze */
};

struct express {
	struct hook hooks[VSS_EVENT_COUNT];
	int epfd;                 /* -1 until the first event that runs a hook */
	int tfd;
	enum phase phase;
	enum vss_writer_event event;
	const struct vss__event_args *args;
	struct proc run;          /* the event's hook */
	struct proc held;         /* a freeze hook that printed "frozen" */
	struct proc armed;        /* a prestarted freeze hook that is ready */
	uint64_t armed_closed_ns; /* when armed was let go before Freeze, or 0 */
	int armed_signals;        /* signals sent to it since: 0, 1 TERM, 2 KILL */
	int release_failure;      /* Thaw's verdict on the freeze hook */
	char *release_message;
	struct proc *dying;       /* killed, not dead in time: reaped later */
	size_t ndying;
};

static const struct vss__writer_ops express_ops;

static int oom(void)
{
	return vss__error(-ENOMEM, "out of memory");
}

static uint64_t ms_since(uint64_t then_ns)
{
	uint64_t now = vss__now_monotonic_ns();

	return now > then_ns ? (now - then_ns) / 1000000u : 0;
}

static void proc_init(struct proc *p)
{
	memset(p, 0, sizeof(*p));
	p->pidfd = p->out = p->err = p->in = -1;
	sbuf_init(&p->outbuf);
	sbuf_init(&p->errline);
}

static bool proc_running(const struct proc *p)
{
	return p->pid > 0;
}

static void close_fd(struct express *x, int *fd)
{
	if (*fd < 0)
		return;
	if (x->epfd >= 0)
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

static void proc_close_stdin(struct proc *p)
{
	if (p->in >= 0) {
		close(p->in);
		p->in = -1;
	}
}

/* waitid() on p, by pidfd where there is one. */
static int proc_wait(const struct proc *p, siginfo_t *si, int flags)
{
	memset(si, 0, sizeof(*si));
	if (p->pidfd >= 0)
		return waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, si, flags);
	return waitid(P_PID, (id_t)p->pid, si, flags);
}

/* Forget p: every descriptor closed, its zombie reaped if it is one. */
static void proc_free(struct express *x, struct proc *p)
{
	if (p->pid > 0 && p->exited && !p->reaped) {
		siginfo_t si;

		proc_wait(p, &si, WEXITED | WNOHANG);
	}
	proc_close_stdin(p);
	close_fd(x, &p->out);
	close_fd(x, &p->err);
	close_fd(x, &p->pidfd);
	sbuf_release(&p->outbuf);
	sbuf_release(&p->errline);
	free(p->last_err);
	free(p->failure_message);
	proc_init(p);
}

/* ---- what a hook says ----------------------------------------------------- */

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* "failure WORD [message]". */
static void take_failure_line(struct proc *p, char *rest)
{
	static const int allowed[] = {
		-VSS_E_WRITERERROR_RETRYABLE, -VSS_E_WRITERERROR_NONRETRYABLE,
		-VSS_E_WRITERERROR_OUTOFRESOURCES, -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT,
		-VSS_E_WRITERERROR_TIMEOUT,
	};
	char *word = rest, *msg;
	int code = 0;
	bool ok = false;

	/* The first failure line is the one that counts. */
	if (p->failure)
		return;
	msg = word + strcspn(word, " \t");
	if (*msg)
		*msg++ = '\0';
	msg = trim(msg);
	if (*word && vss__writer_failure_parse(word, &code) == 0) {
		if (code > 0)
			code = -code;
		for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			ok = ok || allowed[i] == code;
	}
	if (ok) {
		p->failure = code;
		if (*msg)
			p->failure_message = strdup(msg);
		return;
	}
	/* A word we do not know still says the event failed. */
	p->failure = -VSS_E_WRITERERROR_NONRETRYABLE;
	if (*word) {
		struct sbuf sb = SBUF_INIT;

		if (sbuf_addf(&sb, "unknown failure word '%s'%s%s", word, *msg ? ": " : "",
			      msg) == 0)
			p->failure_message = sbuf_detach(&sb);
		sbuf_release(&sb);
	}
}

/* One stdout line; false when it ends what the event reads (stop). */
static bool take_line(struct proc *p, char *line, enum stop stop)
{
	line = trim(line);
	if (strcmp(line, "frozen") == 0) {
		if (!p->frozen && !p->failure) {
			p->frozen = true;
			return stop != STOP_FROZEN;
		}
		return true;
	}
	if (stop == STOP_READY && strcmp(line, "ready") == 0) {
		/* Not after a failure, nor after a "frozen" nobody asked for. */
		if (!p->ready && !p->failure && !p->frozen) {
			p->ready = true;
			return false;
		}
		return true;
	}
	if (strncmp(line, "failure", 7) == 0 && (line[7] == '\0' || line[7] == ' ' ||
						 line[7] == '\t'))
		take_failure_line(p, trim(line + 7));
	return true;
}

/*
 * Split what stdout has sent into lines.  The lines after the one that
 * stops (stop: "frozen" in Freeze, "ready" in a prestart) are left in the
 * buffer: they belong to the next part (the release of the freeze, Freeze).
 * at_eof: a last line without a newline counts.
 */
static void process_lines(struct proc *p, enum stop stop, bool at_eof)
{
	struct sbuf *b = &p->outbuf;
	size_t done = 0;

	for (;;) {
		char *start = b->data ? b->data + done : NULL;
		char *nl = start ? memchr(start, '\n', b->len - done) : NULL;
		bool go_on;

		if (!nl) {
			if (at_eof && start && b->len > done && !p->skipping) {
				go_on = take_line(p, start, stop);
				done = b->len;
				(void)go_on;
			}
			break;
		}
		*nl = '\0';
		if (p->skipping) {
			p->skipping = false;
			go_on = true;
		} else {
			go_on = take_line(p, start, stop);
		}
		done = (size_t)(nl - b->data) + 1;
		if (!go_on)
			break;
	}
	if (done > 0) {
		memmove(b->data, b->data + done, b->len - done);
		b->len -= done;
		b->data[b->len] = '\0';
	}
	if (b->len > LINE_MAX_LEN && !memchr(b->data, '\n', b->len)) {
		/* Not a line of the protocol: drop it up to its newline. */
		p->skipping = true;
		b->len = 0;
		b->data[0] = '\0';
	}
}

static void take_err_bytes(struct proc *p, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			char *line;

			if (p->errline.len == 0)
				continue;
			line = trim(p->errline.data);
			if (*line) {
				char *copy = strdup(line);

				if (copy) {
					free(p->last_err);
					p->last_err = copy;
				}
			}
			p->errline.len = 0;
			p->errline.data[0] = '\0';
		} else if (p->errline.len < ERR_LINE_MAX && buf[i] != '\0') {
			sbuf_addch(&p->errline, buf[i]);
		}
	}
}

/* An unfinished last stderr line counts too. */
static void flush_err_line(struct proc *p)
{
	if (p->errline.len > 0)
		take_err_bytes(p, "\n", 1);
}

/* Read what a pipe holds now; closes it at end-of-file. */
static void drain(struct express *x, struct proc *p, int *fd, bool is_out)
{
	char buf[8192];
	size_t total = 0;

	while (*fd >= 0 && total < READ_BUDGET) {
		ssize_t r = read(*fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (r <= 0) {
			close_fd(x, fd);
			if (!is_out)
				flush_err_line(p);
			break;
		}
		total += (size_t)r;
		if (!is_out) {
			take_err_bytes(p, buf, (size_t)r);
		} else if (p->skipping && !memchr(buf, '\n', (size_t)r)) {
			continue;
		} else if (sbuf_add(&p->outbuf, buf, (size_t)r) < 0) {
			/* Out of memory: the lines are lost, the exit still decides. */
			p->outbuf.len = 0;
			if (p->outbuf.data)
				p->outbuf.data[0] = '\0';
		}
	}
}

/* Has p exited?  Observed without reaping it (see the top of the file). */
static void check_exit(struct proc *p)
{
	siginfo_t si;

	if (p->pid <= 0 || p->exited)
		return;
	if (proc_wait(p, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		if (errno == ECHILD) {
			/* Reaped behind our back (SIGCHLD ignored, or a waitpid(-1)
			 * of the application): it is gone, its status with it. */
			p->exited = p->reaped = p->lost = true;
			p->exited_ns = vss__now_monotonic_ns();
		}
		return;
	}
	if (si.si_pid == 0)
		return;
	p->exited = true;
	p->code = si.si_code;
	p->status = si.si_status;
	p->exited_ns = vss__now_monotonic_ns();
}

/* Everything p has to say now: output, then whether it exited. */
static void service(struct express *x, struct proc *p, enum stop stop)
{
	if (!proc_running(p))
		return;
	drain(x, p, &p->out, true);
	drain(x, p, &p->err, false);
	process_lines(p, stop, p->out < 0);
	check_exit(p);
	/* An exited process's pidfd stays readable: watching it on would
	 * spin the poll loop while its pipes get their grace. */
	if (p->exited && p->pidfd >= 0 && x->epfd >= 0)
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
}

/*
 * Done when it exited and its pipes reached end-of-file, or when it exited
 * a grace period ago and a grandchild still holds a pipe: the exit decides,
 * the grandchild is not waited for.
 */
static bool proc_done(const struct proc *p)
{
	if (!p->exited)
		return false;
	if (p->out < 0 && p->err < 0)
		return true;
	return vss__now_monotonic_ns() >= p->exited_ns + (uint64_t)PIPE_GRACE_MS * 1000000u;
}

/* When p next needs a look that no descriptor will announce, or 0. */
static uint64_t proc_due(const struct proc *p)
{
	if (p->pid <= 0)
		return 0;
	if (p->exited && (p->out >= 0 || p->err >= 0))
		return p->exited_ns + (uint64_t)PIPE_GRACE_MS * 1000000u;
	if (!p->exited && p->pidfd < 0)
		return vss__now_monotonic_ns() + (uint64_t)EXIT_POLL_MS * 1000000u;
	return 0;
}

/* When a prestarted hook let go before Freeze is next signalled, or 0. */
static uint64_t armed_due(const struct express *x)
{
	uint64_t ms = x->armed_signals ? CLOSE_WAIT_MS + TERM_GRACE_MS : CLOSE_WAIT_MS;

	if (!x->armed_closed_ns || !proc_running(&x->armed) || x->armed.exited ||
	    x->armed_signals >= 2)
		return 0;
	return x->armed_closed_ns + ms * 1000000u;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	return a && b ? (a < b ? a : b) : a ? a : b;
}

/* Arm the timerfd for the earliest of the looks the processes need. */
static void schedule(struct express *x)
{
	uint64_t due, now;
	struct itimerspec its;

	if (x->tfd < 0)
		return;
	due = earliest(earliest(proc_due(&x->run), proc_due(&x->held)),
		       earliest(proc_due(&x->armed), armed_due(x)));
	memset(&its, 0, sizeof(its));
	if (due) {
		now = vss__now_monotonic_ns();
		/* At least 1 ms: a zero it_value would disarm the timer. */
		due = due > now + 1000000u ? due - now : 1000000u;
		its.it_value.tv_sec = (time_t)(due / 1000000000u);
		its.it_value.tv_nsec = (long)(due % 1000000000u);
	}
	timerfd_settime(x->tfd, 0, &its, NULL);
}

static void disarm_timer(struct express *x)
{
	struct itimerspec its;
	uint64_t ticks;

	if (x->tfd < 0)
		return;
	memset(&its, 0, sizeof(its));
	timerfd_settime(x->tfd, 0, &its, NULL);
	while (read(x->tfd, &ticks, sizeof(ticks)) > 0)
		;
}

/* How p ended, as the failure of an event (0: success). */
static int proc_failure(const struct proc *p, char **ret_message)
{
	struct sbuf sb = SBUF_INIT;
	int failure = 0;

	*ret_message = NULL;
	if (p->failure) {
		failure = p->failure;
		if (p->failure_message)
			sbuf_adds(&sb, p->failure_message);
		else if (p->last_err)
			sbuf_adds(&sb, p->last_err);
	} else if (p->lost) {
		failure = -VSS_E_WRITERERROR_NONRETRYABLE;
		sbuf_adds(&sb, "the command's exit status was lost: something else in this "
			       "process reaped it");
	} else if (p->code == CLD_EXITED && p->status == 0) {
		failure = 0;
	} else {
		failure = p->code == CLD_EXITED && p->status == EX_TEMPFAIL_STATUS
				  ? -VSS_E_WRITERERROR_RETRYABLE
				  : -VSS_E_WRITERERROR_NONRETRYABLE;
		if (p->last_err)
			sbuf_adds(&sb, p->last_err);
		else if (p->code == CLD_EXITED)
			sbuf_addf(&sb, "exited with status %d", p->status);
		else
			sbuf_addf(&sb, "killed by signal %d", p->status);
	}
	if (sb.len > 0)
		*ret_message = sbuf_detach(&sb);
	sbuf_release(&sb);
	return failure;
}

/* ---- killing ------------------------------------------------------------- */

static void signal_group(const struct proc *p, int sig)
{
	/* The zombie leader is not reaped yet, so the group is still ours. */
	if (p->pid > 0 && !p->reaped)
		kill(-p->pid, sig);
}

/* Wait until every listed process exited or ms passed; polls the pidfds
 * (without them, looks every EXIT_POLL_MS). */
static void wait_exits(struct proc **ps, size_t n, int ms)
{
	uint64_t until = vss__now_monotonic_ns() + (uint64_t)ms * 1000000u;

	for (;;) {
		struct pollfd pfds[3];
		size_t k = 0, waiting = 0;
		uint64_t now;
		int ms_left;

		for (size_t i = 0; i < n; i++) {
			check_exit(ps[i]);
			if (ps[i]->pid <= 0 || ps[i]->exited)
				continue;
			waiting++;
			if (ps[i]->pidfd >= 0 && k < 3) {
				pfds[k].fd = ps[i]->pidfd;
				pfds[k].events = POLLIN;
				pfds[k].revents = 0;
				k++;
			}
		}
		now = vss__now_monotonic_ns();
		if (waiting == 0 || now >= until)
			return;
		ms_left = (int)((until - now + 999999u) / 1000000u);
		if (k < waiting && ms_left > EXIT_POLL_MS)
			ms_left = EXIT_POLL_MS;
		if (poll(pfds, k, ms_left) < 0 && errno != EINTR)
			return;
	}
}

/* Keep a process that would not die in time, to reap it later. */
static void keep_dying(struct express *x, struct proc *p)
{
	struct proc *more = realloc(x->dying, (x->ndying + 1) * sizeof(*more));

	if (!more) {
		/* Its zombie stays until this process ends; nothing worse. */
		proc_free(x, p);
		return;
	}
	x->dying = more;
	/* Only the pidfd is needed to reap it. */
	proc_close_stdin(p);
	close_fd(x, &p->out);
	close_fd(x, &p->err);
	if (p->pidfd >= 0 && x->epfd >= 0)
		epoll_ctl(x->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
	x->dying[x->ndying++] = *p;
	proc_init(p);
}

static void reap_dying(struct express *x)
{
	size_t k = 0;

	for (size_t i = 0; i < x->ndying; i++) {
		struct proc *p = &x->dying[i];

		check_exit(p);
		if (p->exited) {
			if (!p->reaped) {
				siginfo_t si;

				proc_wait(p, &si, WEXITED | WNOHANG);
			}
			if (p->pidfd >= 0)
				close(p->pidfd);
			sbuf_release(&p->outbuf);
			sbuf_release(&p->errline);
			free(p->last_err);
			free(p->failure_message);
		} else {
			x->dying[k++] = *p;
		}
	}
	x->ndying = k;
}

/*
 * SIGTERM to the groups of ps, TERM_GRACE_MS for them to go, then SIGKILL
 * and a short wait; the dead are freed, the rest kept to reap later.
 * Never blocks much longer than TERM_GRACE_MS + KILL_WAIT_MS.
 */
static void kill_procs(struct express *x, struct proc **ps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		proc_close_stdin(ps[i]);
		signal_group(ps[i], SIGTERM);
	}
	wait_exits(ps, n, TERM_GRACE_MS);
	for (size_t i = 0; i < n; i++)
		/* Its children too, even when the leader went at SIGTERM. */
		signal_group(ps[i], SIGKILL);
	wait_exits(ps, n, KILL_WAIT_MS);
	for (size_t i = 0; i < n; i++) {
		if (ps[i]->pid <= 0)
			continue;
		if (ps[i]->exited)
			proc_free(x, ps[i]);
		else
			keep_dying(x, ps[i]);
	}
}

/* ---- starting a hook ----------------------------------------------------- */

static int ensure_fds(struct express *x)
{
	struct epoll_event ev;

	if (x->epfd >= 0)
		return 0;
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (x->epfd < 0)
		return -errno;
	x->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (x->tfd < 0) {
		int rc = -errno;

		close(x->epfd);
		x->epfd = -1;
		return rc;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->tfd, &ev) < 0)
		return -errno;
	return 0;
}

static int watch(struct express *x, int fd)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = fd;
	return epoll_ctl(x->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static bool is_our_var(const char *entry)
{
	static const char *const ours[] = {
		"VSS_EVENT=", "VSS_WRITER_NAME=", "VSS_WRITER_ID=", "VSS_WRITER_INSTANCE_ID=",
		"VSS_SNAPSHOT_SET_ID=", "VSS_CONTEXT=", "VSS_BACKUP_TYPE=", "VSS_VOLUMES=",
		"VSS_FREEZE_TIMEOUT_MS=", "VSS_PRESTART=",
	};

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (strncmp(entry, ours[i], strlen(ours[i])) == 0)
			return true;
	return false;
}

static int env_add(struct strv *env, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int env_add(struct strv *env, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = strv_push_owned(env, sbuf_detach(&sb));
	sbuf_release(&sb);
	return rc;
}

/* The requester's environment with the VSS_* variables of event. */
static int build_env(const struct vss__writer *w, const struct vss__event_args *args,
		     enum vss_writer_event event, bool prestart, struct strv *env)
{
	char id[VSS_GUID_STRING_MAX], inst[VSS_GUID_STRING_MAX], set[VSS_GUID_STRING_MAX];
	const char *bt = vss_backup_type_name((enum vss_backup_type)args->backup_type);
	struct sbuf vols = SBUF_INIT;
	int rc = 0;

	for (char **e = environ; rc == 0 && e && *e; e++)
		if (!is_our_var(*e))
			rc = strv_push(env, *e);
	for (size_t i = 0; rc == 0 && args->volumes && args->volumes[i]; i++)
		rc = sbuf_addf(&vols, "%s%s", i ? "\n" : "", args->volumes[i]);
	vss_guid_format(&w->class_id, VSS_GUID_BRACES, id);
	vss_guid_format(&w->instance_id, VSS_GUID_BRACES, inst);
	vss_guid_format(&args->set_id, VSS_GUID_BRACES, set);
	if (rc == 0)
		rc = env_add(env, "VSS_EVENT=%s", vss_writer_event_name(event));
	if (rc == 0)
		rc = env_add(env, "VSS_WRITER_NAME=%s", w->name ? w->name : "");
	if (rc == 0)
		rc = env_add(env, "VSS_WRITER_ID=%s", id);
	if (rc == 0)
		rc = env_add(env, "VSS_WRITER_INSTANCE_ID=%s", inst);
	if (rc == 0)
		rc = env_add(env, "VSS_SNAPSHOT_SET_ID=%s", set);
	if (rc == 0)
		rc = env_add(env, "VSS_CONTEXT=0x%08x", (unsigned int)args->context);
	if (rc == 0)
		rc = env_add(env, "VSS_BACKUP_TYPE=%s", bt ? bt : "undefined");
	if (rc == 0)
		rc = env_add(env, "VSS_VOLUMES=%s", sbuf_str(&vols));
	if (rc == 0)
		rc = env_add(env, "VSS_FREEZE_TIMEOUT_MS=%u", w->freeze_timeout_ms);
	if (rc == 0 && prestart)
		rc = env_add(env, "VSS_PRESTART=1");
	sbuf_release(&vols);
	return rc;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child(int in, int out, int err, const char *command, char *const *envp)
{
	static const char *const shell = "/bin/sh";
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)command, NULL };
	struct sigaction sa;
	sigset_t none;

	setpgid(0, 0);
	/* Handlers and ignored signals of the requester are not the hook's. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	/* Everything the requester opens is close-on-exec; the application
	 * linking us may not be so careful. */
	close_range(3, ~0u, 0);
	umask(022);
	if (chdir("/") < 0)
		_exit(127);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(shell, argv, envp);
	_exit(127);
}

/*
 * Run command for event as p (args: the event under way): its own process
 * group, stdout and stderr to pipes of ours, stdin /dev/null or (Freeze) a
 * pipe whose write end stays here, non-blocking for a prestarted hook,
 * which is written to.  Returns 0 or -errno with the message set.
 */
static int spawn(struct vss__writer *w, const struct vss__event_args *args,
		 enum vss_writer_event event, bool prestart, const char *command, struct proc *p)
{
	struct express *x = w->priv;
	struct strv env = STRV_INIT;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	bool freeze = event == VSS_EVENT_FREEZE;
	sigset_t all, old;
	pid_t pid;
	int rc;

	proc_init(p);
	rc = ensure_fds(x);
	if (rc < 0)
		goto fail;
	rc = build_env(w, args, event, prestart, &env);
	if (rc < 0)
		goto fail;
	if (freeze) {
		if (pipe2(in, O_CLOEXEC) < 0)
			goto fail_errno;
		if (prestart && fcntl(in[1], F_SETFL, O_NONBLOCK) < 0)
			goto fail_errno;
	} else {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (in[0] < 0)
			goto fail_errno;
	}
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		goto fail_errno;
	/* Only our ends: the hook's ends stay blocking. */
	if (fcntl(out[0], F_SETFL, O_NONBLOCK) < 0 || fcntl(err[0], F_SETFL, O_NONBLOCK) < 0)
		goto fail_errno;

	/* No handler of the requester may run in the child before it resets
	 * them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0)
		child(in[0], out[1], err[1], command, env.items);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		goto fail_errno;
	/* Both sides set the group, so it is in place before either uses it. */
	setpgid(pid, pid);
	p->pid = pid;
	p->started_ns = vss__now_monotonic_ns();
	p->pidfd = pidfd_open(pid, 0);
	if (p->pidfd < 0 && errno != ENOSYS) {
		rc = -errno;
		/* Without a pidfd it cannot be watched: do not leave it running. */
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		p->pid = 0;
		goto fail;
	}
	p->out = out[0];
	p->err = err[0];
	out[0] = err[0] = -1;
	if (freeze) {
		p->in = in[1];
		in[1] = -1;
	}
	rc = watch(x, p->out);
	if (rc == 0)
		rc = watch(x, p->err);
	if (rc == 0 && p->pidfd >= 0)
		rc = watch(x, p->pidfd);
	if (rc < 0) {
		struct proc *ps[] = { p };

		kill_procs(x, ps, 1);
		goto fail;
	}
	vss__debug("writer '%s': %s%s: started pid %d: %s", w->name, vss_writer_event_name(event),
		   prestart ? " (prestart)" : "", (int)pid, command);
	goto out;
fail_errno:
	rc = -errno;
fail:
	vss__error(rc, "cannot run the %s command of writer '%s': %s",
		   vss_writer_event_name(event), w->name, strerror(-rc));
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	strv_release(&env);
	return rc;
}

static int spawn_failure(int rc)
{
	return rc == -ENOMEM || rc == -EAGAIN || rc == -EMFILE || rc == -ENFILE
		       ? -VSS_E_WRITERERROR_OUTOFRESOURCES
		       : -VSS_E_WRITERERROR_NONRETRYABLE;
}

/* ---- the event state machine --------------------------------------------- */

static int step(struct vss__writer *w, int *ret_fd, short *ret_events,
		struct vss__event_result *res);

static void set_result(struct vss__event_result *res, int failure, char *message)
{
	res->failure = failure;
	free(res->message);
	res->message = failure ? message : NULL;
	if (!failure)
		free(message);
}

/* The event is over: res gets the first failure (the release's, then the
 * hook's). */
static int finish(struct express *x, int failure, char *message, struct vss__event_result *res)
{
	if (x->release_failure) {
		free(message);
		failure = x->release_failure;
		message = x->release_message;
		x->release_message = NULL;
	}
	set_result(res, failure, message);
	x->release_failure = 0;
	free(x->release_message);
	x->release_message = NULL;
	x->phase = PHASE_IDLE;
	x->args = NULL;
	disarm_timer(x);
	return 1;
}

/* The event waits for its processes: the epoll descriptor says when. */
static int wait_on(struct express *x, int *ret_fd, short *ret_events)
{
	schedule(x);
	*ret_fd = x->epfd;
	*ret_events = POLLIN;
	return 0;
}

/* p failed as if it had printed a failure line (unless it had one). */
static void proc_fail(struct proc *p, int failure, const char *message)
{
	if (p->failure)
		return;
	p->failure = failure;
	free(p->failure_message);
	p->failure_message = message ? strdup(message) : NULL;
}

/*
 * The line "freeze" to a prestarted Freeze hook: 0, -EPIPE when nobody reads
 * its stdin any more (it is gone), or -errno.  The pipe is non-blocking and
 * empty (nothing else is ever written to it), so this never waits; SIGPIPE
 * is kept from the requester, whose application may not ignore it.
 */
static int send_freeze_line(struct proc *p)
{
	static const char line[] = "freeze\n";
	sigset_t pipe_set, old, pending;
	bool was_pending;
	ssize_t r;
	int rc = 0;

	if (p->in < 0)
		return -EPIPE;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	do {
		r = write(p->in, line, sizeof(line) - 1);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		rc = -errno;
	else if ((size_t)r != sizeof(line) - 1)
		rc = -EAGAIN;   /* not on a pipe: below PIPE_BUF, writes are whole */
	if (rc == -EPIPE && !was_pending) {
		/* Ours, pending on this thread: take it before unblocking. */
		struct timespec zero = { 0, 0 };

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/* Tell the prestarted hook p to freeze; a hook that cannot be told fails. */
static void tell_freeze(struct proc *p)
{
	char why[160];
	int rc;

	if (p->exited) {
		proc_fail(p, -VSS_E_WRITERERROR_NONRETRYABLE, "the freeze command ended before Freeze");
		return;
	}
	rc = send_freeze_line(p);
	if (rc == -EPIPE) {
		proc_fail(p, -VSS_E_WRITERERROR_NONRETRYABLE, "the freeze command ended before Freeze");
		/* Whatever still runs closed its stdin: it cannot be told, and it
		 * has not frozen anything.  Freeze ends when it died. */
		signal_group(p, SIGKILL);
	} else if (rc < 0) {
		snprintf(why, sizeof(why), "cannot send 'freeze' to the freeze command: %s",
			 strerror(-rc));
		proc_fail(p, -VSS_E_WRITERERROR_NONRETRYABLE, why);
	}
	/* The freeze timeout counts from here (Thaw judges an early end). */
	p->started_ns = vss__now_monotonic_ns();
}

static bool prestarts(const struct express *x)
{
	return x->hooks[VSS_EVENT_FREEZE].command && x->hooks[VSS_EVENT_FREEZE].prestart;
}

/* PrepareForSnapshot, its own hook done: start the Freeze hook to get ready. */
static int begin_prestart(struct vss__writer *w, int *ret_fd, short *ret_events,
			  struct vss__event_result *res)
{
	struct express *x = w->priv;
	struct sbuf sb = SBUF_INIT;
	int rc;

	rc = spawn(w, x->args, VSS_EVENT_FREEZE, true, x->hooks[VSS_EVENT_FREEZE].command, &x->run);
	if (rc < 0) {
		sbuf_adds(&sb, vss_error_last()->message);
		return finish(x, spawn_failure(rc), sbuf_detach(&sb), res);
	}
	x->phase = PHASE_PRESTART;
	return wait_on(x, ret_fd, ret_events);
}

/* Run the event's own hook, if any; 1 when the event is over. */
static int begin_hook(struct vss__writer *w, int *ret_fd, short *ret_events,
		      struct vss__event_result *res)
{
	struct express *x = w->priv;
	const struct hook *h = &x->hooks[x->event];
	bool prestart = x->event == VSS_EVENT_FREEZE && h->prestart;
	struct sbuf sb = SBUF_INIT;
	int rc;

	if (!h->command) {
		if (x->event == VSS_EVENT_PREPARE_SNAPSHOT && prestarts(x))
			return begin_prestart(w, ret_fd, ret_events, res);
		return finish(x, 0, NULL, res);
	}
	rc = spawn(w, x->args, x->event, prestart, h->command, &x->run);
	if (rc < 0) {
		sbuf_adds(&sb, vss_error_last()->message);
		return finish(x, spawn_failure(rc), sbuf_detach(&sb), res);
	}
	/* A prestart hook that was not prepared (Freeze without
	 * PrepareForSnapshot) is told at once: it reads the line once ready. */
	if (prestart)
		tell_freeze(&x->run);
	x->phase = PHASE_HOOK;
	return wait_on(x, ret_fd, ret_events);
}

/* Freeze for a prepared hook: the line "freeze" on its stdin. */
static int freeze_armed(struct vss__writer *w, int *ret_fd, short *ret_events,
			struct vss__event_result *res)
{
	struct express *x = w->priv;
	struct proc *p = &x->run;

	/* What it said since "ready", and whether it is still there. */
	service(x, &x->armed, STOP_READY);
	*p = x->armed;
	proc_init(&x->armed);
	x->armed_closed_ns = 0;
	x->armed_signals = 0;
	if (p->frozen) {
		p->frozen = false;
		proc_fail(p, -VSS_E_WRITERERROR_NONRETRYABLE,
			  "the freeze command printed 'frozen' before it was sent 'freeze'");
	}
	if (!p->failure)
		tell_freeze(p);
	vss__debug("writer '%s': Freeze: told prepared pid %d%s", w->name, (int)p->pid,
		   p->failure ? ", which failed" : "");
	x->phase = PHASE_HOOK;
	return step(w, ret_fd, ret_events, res);
}

/* The freeze hook ended before Thaw (or was found ended at Thaw). */
static void ended_before_thaw(struct vss__writer *w, struct express *x)
{
	if (x->event != VSS_EVENT_THAW)
		return;
	if (ms_since(x->held.started_ns) >= w->freeze_timeout_ms) {
		x->release_failure = -VSS_E_WRITERERROR_TIMEOUT;
		vss__strset(&x->release_message,
			    "the freeze command ended before Thaw: the writer's freeze timeout "
			    "passed before the shadow copy was made");
	} else {
		x->release_failure = -VSS_E_WRITERERROR_NONRETRYABLE;
		vss__strset(&x->release_message,
			    "the freeze command ended before Thaw: the application was not held "
			    "for the whole copy");
	}
}

/*
 * A prestarted hook let go before Freeze froze nothing, so nothing is lost
 * by hurrying it: SIGTERM to its group once it had CLOSE_WAIT_MS to go (as
 * close() gives), SIGKILL TERM_GRACE_MS after that.
 */
static void nudge_armed(struct express *x)
{
	uint64_t ms;

	if (!x->armed_closed_ns || !proc_running(&x->armed) || x->armed.exited)
		return;
	ms = ms_since(x->armed_closed_ns);
	if (x->armed_signals == 0 && ms >= CLOSE_WAIT_MS) {
		signal_group(&x->armed, SIGTERM);
		x->armed_signals = 1;
	}
	if (x->armed_signals == 1 && ms >= CLOSE_WAIT_MS + TERM_GRACE_MS) {
		signal_group(&x->armed, SIGKILL);
		x->armed_signals = 2;
	}
}

/* The prestart under way: 1 when the event is over. */
static int step_prestart(struct vss__writer *w, int *ret_fd, short *ret_events,
			 struct vss__event_result *res)
{
	struct express *x = w->priv;
	struct proc *p = &x->run;
	char *message = NULL;
	int failure;

	if (p->frozen && !p->ready) {
		p->frozen = false;
		proc_fail(p, -VSS_E_WRITERERROR_NONRETRYABLE,
			  "the freeze command printed 'frozen' before it was sent 'freeze'");
	}
	if (p->ready && !p->failure) {
		/* Ready: it waits for "freeze" or end-of-file from now on, and
		 * what it said getting ready is no message of Freeze's. */
		free(p->last_err);
		p->last_err = NULL;
		x->armed = *p;
		proc_init(p);
		x->armed_closed_ns = 0;
		x->armed_signals = 0;
		vss__debug("writer '%s': freeze command %d ready", w->name, (int)x->armed.pid);
		return finish(x, 0, NULL, res);
	}
	/* It failed: it must go without freezing, as at Abort. */
	if (p->failure)
		proc_close_stdin(p);
	if (!proc_done(p))
		return wait_on(x, ret_fd, ret_events);
	failure = proc_failure(p, &message);
	if (!failure) {
		failure = -VSS_E_WRITERERROR_NONRETRYABLE;
		vss__strset(&message, "the freeze command ended before it printed 'ready'");
	}
	vss__debug("writer '%s': freeze command %d ended before ready", w->name, (int)p->pid);
	proc_free(x, p);
	return finish(x, failure, message, res);
}

/* One step: look at what is done and move on.  1 when the event is over. */
static int step(struct vss__writer *w, int *ret_fd, short *ret_events,
		struct vss__event_result *res)
{
	struct express *x = w->priv;
	char *message = NULL;
	int failure;

	if (x->phase == PHASE_RELEASE) {
		nudge_armed(x);
		if ((proc_running(&x->armed) && !proc_done(&x->armed)) ||
		    (proc_running(&x->held) && !proc_done(&x->held)))
			return wait_on(x, ret_fd, ret_events);
		disarm_timer(x);
		if (proc_running(&x->held)) {
			/* Abort: the freeze is released, how it went is not a
			 * failure. */
			if (x->event == VSS_EVENT_THAW && !x->release_failure)
				x->release_failure = proc_failure(&x->held, &x->release_message);
			vss__debug("writer '%s': freeze command %d released", w->name,
				   (int)x->held.pid);
			proc_free(x, &x->held);
		}
		if (proc_running(&x->armed)) {
			/* Let go before Freeze: it froze nothing, however it ended. */
			vss__debug("writer '%s': prepared freeze command %d let go", w->name,
				   (int)x->armed.pid);
			proc_free(x, &x->armed);
			x->armed_closed_ns = 0;
			x->armed_signals = 0;
		}
		return begin_hook(w, ret_fd, ret_events, res);
	}
	if (x->phase == PHASE_PRESTART)
		return step_prestart(w, ret_fd, ret_events, res);
	if (x->phase != PHASE_HOOK)
		return finish(x, 0, NULL, res);
	if (x->event == VSS_EVENT_FREEZE && x->run.frozen) {
		/* Acknowledged; the hook goes on holding the application. */
		x->held = x->run;
		proc_init(&x->run);
		/* What it says from now on is about the release. */
		free(x->held.last_err);
		x->held.last_err = NULL;
		return finish(x, 0, NULL, res);
	}
	/* A Freeze that failed holds nothing: let go at once. */
	if (x->event == VSS_EVENT_FREEZE && x->run.failure)
		proc_close_stdin(&x->run);
	if (!proc_done(&x->run))
		return wait_on(x, ret_fd, ret_events);
	failure = proc_failure(&x->run, &message);
	vss__debug("writer '%s': %s command %d ended", w->name, vss_writer_event_name(x->event),
		   (int)x->run.pid);
	proc_free(x, &x->run);
	/* PrepareForSnapshot went well: now the Freeze hook gets ready. */
	if (failure == 0 && x->event == VSS_EVENT_PREPARE_SNAPSHOT && prestarts(x))
		return begin_prestart(w, ret_fd, ret_events, res);
	return finish(x, failure, message, res);
}

static void service_all(struct express *x)
{
	uint64_t ticks;

	if (x->tfd >= 0)
		while (read(x->tfd, &ticks, sizeof(ticks)) > 0)
			;
	service(x, &x->run, x->phase == PHASE_PRESTART	    ? STOP_READY
			    : x->event == VSS_EVENT_FREEZE ? STOP_FROZEN
							   : STOP_NONE);
	service(x, &x->held, STOP_NONE);
	service(x, &x->armed, STOP_READY);
	reap_dying(x);
}

static int express_start(struct vss__writer *w, const struct vss__event_args *args, int *ret_fd,
			 short *ret_events, struct vss__event_result *res)
{
	struct express *x = w->priv;
	struct sbuf sb = SBUF_INIT;
	bool release = false;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!x || (unsigned int)args->event >= VSS_EVENT_COUNT) {
		res->failure = -VSS_E_WRITERERROR_NONRETRYABLE;
		return vss__error(-EINVAL, "writer '%s': no such event", w->name);
	}
	if (x->phase != PHASE_IDLE || proc_running(&x->run)) {
		/* The previous event was not seen to its end: stop its hook. */
		struct proc *ps[] = { &x->run };

		kill_procs(x, ps, 1);
		x->phase = PHASE_IDLE;
	}
	x->event = args->event;
	x->args = args;
	x->release_failure = 0;
	free(x->release_message);
	x->release_message = NULL;
	reap_dying(x);

	/* Answered from the registration file. */
	if (args->event == VSS_EVENT_IDENTIFY)
		return finish(x, 0, NULL, res);

	if (proc_running(&x->armed) && args->event != VSS_EVENT_FREEZE) {
		/* Abort (or anything but Freeze) before Freeze: the prepared
		 * hook froze nothing and goes when its stdin closes. */
		proc_close_stdin(&x->armed);
		x->armed_closed_ns = vss__now_monotonic_ns();
		x->armed_signals = 0;
		release = true;
	}
	if (proc_running(&x->held)) {
		if (args->event == VSS_EVENT_THAW || args->event == VSS_EVENT_ABORT) {
			/* Only whether it is still there: every writer of the set
			 * waits for its release, so nothing else comes first (what
			 * it printed is read while it thaws). */
			check_exit(&x->held);
			if (x->held.exited) {
				ended_before_thaw(w, x);
				proc_free(x, &x->held);
			} else {
				/* The hook thaws when its stdin reaches end-of-file. */
				proc_close_stdin(&x->held);
				release = true;
			}
		} else if (args->event == VSS_EVENT_FREEZE) {
			/* Frozen twice without Thaw: let the first hold go; it is
			 * reaped once it has thawed. */
			keep_dying(x, &x->held);
		}
	}
	if (release) {
		rc = ensure_fds(x);
		if (rc < 0) {
			struct proc *ps[] = { &x->held, &x->armed };

			kill_procs(x, ps, 2);
			sbuf_addf(&sb, "cannot wait for the freeze command: %s", strerror(-rc));
			return finish(x, spawn_failure(rc), sbuf_detach(&sb), res);
		}
		x->phase = PHASE_RELEASE;
		return step(w, ret_fd, ret_events, res);
	}
	if (args->event == VSS_EVENT_FREEZE && proc_running(&x->armed))
		return freeze_armed(w, ret_fd, ret_events, res);
	return begin_hook(w, ret_fd, ret_events, res);
}

static int express_advance(struct vss__writer *w, short revents, int *ret_fd, short *ret_events,
			   struct vss__event_result *res)
{
	struct express *x = w->priv;

	(void)revents;
	if (!x || x->phase == PHASE_IDLE) {
		memset(res, 0, sizeof(*res));
		return 1;
	}
	service_all(x);
	return step(w, ret_fd, ret_events, res);
}

static void express_cancel(struct vss__writer *w)
{
	struct express *x = w->priv;
	struct proc *ps[3];
	size_t n = 0;

	if (!x)
		return;
	if (proc_running(&x->run))
		ps[n++] = &x->run;
	/* A freeze hook that does not let go when released is killed too. */
	if (x->phase == PHASE_RELEASE && proc_running(&x->held))
		ps[n++] = &x->held;
	if (x->phase == PHASE_RELEASE && proc_running(&x->armed))
		ps[n++] = &x->armed;
	kill_procs(x, ps, n);
	x->armed_closed_ns = 0;
	x->armed_signals = 0;
	x->phase = PHASE_IDLE;
	x->args = NULL;
	x->release_failure = 0;
	free(x->release_message);
	x->release_message = NULL;
	disarm_timer(x);
}

static void express_close(struct vss__writer *w)
{
	struct express *x = w->priv;
	struct proc *ps[2];
	size_t n = 0;
	bool waiting = false;

	if (!x)
		return;
	if (proc_running(&x->run)) {
		struct proc *run[] = { &x->run };

		kill_procs(x, run, 1);
	}
	/* A hook that holds is released the way Thaw releases it, one that is
	 * ready (prestarted) the way Abort lets it go; one still going after a
	 * while gets SIGTERM, nothing harder: it may be thawing. */
	if (proc_running(&x->held))
		ps[n++] = &x->held;
	if (proc_running(&x->armed))
		ps[n++] = &x->armed;
	for (size_t i = 0; i < n; i++)
		proc_close_stdin(ps[i]);
	wait_exits(ps, n, CLOSE_WAIT_MS);
	for (size_t i = 0; i < n; i++) {
		if (!ps[i]->exited) {
			signal_group(ps[i], SIGTERM);
			waiting = true;
		}
	}
	if (waiting)
		wait_exits(ps, n, KILL_WAIT_MS);
	for (size_t i = 0; i < n; i++) {
		if (ps[i]->exited)
			proc_free(x, ps[i]);
		else
			keep_dying(x, ps[i]);
	}
	reap_dying(x);
	for (size_t i = 0; i < x->ndying; i++) {
		/* Its zombie is left to whoever reaps this process's children. */
		if (x->dying[i].pidfd >= 0)
			close(x->dying[i].pidfd);
	}
	free(x->dying);
	if (x->tfd >= 0)
		close(x->tfd);
	if (x->epfd >= 0)
		close(x->epfd);
	for (int i = 0; i < VSS_EVENT_COUNT; i++)
		free(x->hooks[i].command);
	free(x->release_message);
	free(x);
	w->priv = NULL;
}

static const struct vss__writer_ops express_ops = {
	.kind = "express",
	.start = express_start,
	.advance = express_advance,
	.cancel = express_cancel,
	.close = express_close,
	.event_timeout = vss__express_event_timeout,
};

unsigned int vss__express_event_timeout(const struct vss__writer *w, enum vss_writer_event ev)
{
	const struct express *x;

	if (!w || w->ops != &express_ops || !w->priv || (unsigned int)ev >= VSS_EVENT_COUNT ||
	    ev == VSS_EVENT_FREEZE)
		return 0;
	x = w->priv;
	return x->hooks[ev].command ? x->hooks[ev].timeout_ms : 0;
}

/* ---- the registration file ----------------------------------------------- */

static bool is_element(xmlNodePtr n, const char *ns, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, X(ns)) &&
	       xmlStrEqual(n->name, X(name));
}

static int invalid(xmlNodePtr n, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int invalid(xmlNodePtr n, const char *file, const char *fmt, ...)
{
	char what[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(n), 0, "%s", what);
}

/* The attribute's value, malloc()ed, or NULL when absent (*ret). */
static int get_attr(xmlNodePtr n, const char *name, char **ret)
{
	xmlChar *v = xmlGetNoNsProp(n, X(name));

	*ret = NULL;
	if (!v)
		return 0;
	*ret = strdup((const char *)v);
	xmlFree(v);
	return *ret ? 0 : oom();
}

/* "SECONDS" with up to three decimals, 0.001 to 3600; absent: unchanged. */
static int get_timeout(xmlNodePtr n, const char *name, const char *file, unsigned int *ret)
{
	char *v = NULL;
	uint64_t ms;
	int rc = get_attr(n, name, &v);

	if (rc < 0 || !v)
		goto out;
	if (parse_seconds_ms(v, &ms) < 0 || ms == 0 || ms > MAX_TIMEOUT_MS) {
		rc = invalid(n, file,
			     "<%s> attribute '%s': '%s' is not seconds from 0.001 to %u",
			     (const char *)n->name, name, v, MAX_TIMEOUT_MS / 1000);
		goto out;
	}
	*ret = (unsigned int)ms;
out:
	free(v);
	return rc;
}

static int load_hook(struct express *x, int *lines, xmlNodePtr n, const char *file)
{
	static const char *const attrs[] = { "event", "command", "timeout", "prestart", NULL };
	enum vss_writer_event ev;
	char *event = NULL, *command = NULL, *prestart = NULL;
	unsigned int timeout = 0;
	int rc;

	rc = vss__xml_check_attributes(n, file, attrs);
	for (xmlNodePtr k = n->children; rc == 0 && k; k = k->next) {
		if (k->type == XML_ELEMENT_NODE)
			rc = vss__xml_unexpected(k, file);
		else if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) &&
			 !xmlIsBlankNode(k))
			rc = invalid(k, file, "<HOOK> holds text, which it must not: the command "
				     "goes in its attribute 'command'");
	}
	if (rc == 0)
		rc = get_attr(n, "event", &event);
	if (rc == 0)
		rc = get_attr(n, "command", &command);
	if (rc == 0)
		rc = get_attr(n, "prestart", &prestart);
	if (rc < 0)
		goto out;
	if (!event) {
		rc = invalid(n, file, "<HOOK> has no attribute 'event'");
		goto out;
	}
	if (vss_writer_event_parse(event, &ev) < 0) {
		rc = invalid(n, file,
			     "<HOOK> attribute 'event': '%s' is not an event (PrepareForBackup, "
			     "PrepareForSnapshot, Freeze, Thaw, PostSnapshot, Abort, BackupComplete, "
			     "BackupShutdown, PreRestore, PostRestore)", event);
		goto out;
	}
	if (ev == VSS_EVENT_IDENTIFY) {
		rc = invalid(n, file,
			     "<HOOK> attribute 'event': Identify has no hook: it is answered "
			     "from <WRITER_METADATA>");
		goto out;
	}
	if (lines[ev]) {
		rc = invalid(n, file, "<HOOK> for event %s appears twice (first at line %d)",
			     vss_writer_event_name(ev), lines[ev]);
		goto out;
	}
	if (!command || !*trim(command)) {
		rc = invalid(n, file, "<HOOK> for event %s has %s attribute 'command'",
			     vss_writer_event_name(ev), command ? "an empty" : "no");
		goto out;
	}
	if (prestart && strcmp(prestart, "yes") != 0 && strcmp(prestart, "no") != 0) {
		rc = invalid(n, file, "<HOOK> attribute 'prestart': '%s' is not yes or no", prestart);
		goto out;
	}
	if (prestart && ev != VSS_EVENT_FREEZE) {
		rc = invalid(n, file, "<HOOK> for event %s has attribute 'prestart', which only a "
			     "Freeze hook has", vss_writer_event_name(ev));
		goto out;
	}
	rc = get_timeout(n, "timeout", file, &timeout);
	if (rc < 0)
		goto out;
	lines[ev] = vss__xml_line(n) ? vss__xml_line(n) : 1;
	x->hooks[ev].prestart = prestart && strcmp(prestart, "yes") == 0;
	x->hooks[ev].command = command;
	command = NULL;
	/* Freeze has the freeze timeout, whatever the hook says. */
	x->hooks[ev].timeout_ms = ev == VSS_EVENT_FREEZE ? 0 : timeout;
out:
	free(event);
	free(command);
	free(prestart);
	return rc;
}

static int add_escaped(struct sbuf *sb, const char *s, bool attr)
{
	int rc = 0;

	for (; rc == 0 && *s; s++) {
		switch (*s) {
		case '&': rc = sbuf_adds(sb, "&amp;"); break;
		case '<': rc = sbuf_adds(sb, "&lt;"); break;
		case '>': rc = sbuf_adds(sb, "&gt;"); break;
		case '"': rc = attr ? sbuf_adds(sb, "&quot;") : sbuf_addch(sb, '"'); break;
		case '\r': rc = sbuf_adds(sb, "&#13;"); break;
		case '\n': rc = attr ? sbuf_adds(sb, "&#10;") : sbuf_addch(sb, '\n'); break;
		case '\t': rc = attr ? sbuf_adds(sb, "&#9;") : sbuf_addch(sb, '\t'); break;
		default: rc = sbuf_addch(sb, *s); break;
		}
	}
	return rc;
}

static int add_qname(struct sbuf *sb, const xmlNs *ns, const xmlChar *name)
{
	if (ns && ns->prefix)
		return sbuf_addf(sb, "%s:%s", (const char *)ns->prefix, (const char *)name);
	return sbuf_adds(sb, (const char *)name);
}

static int add_ns_decl(struct sbuf *sb, const xmlNs *ns)
{
	int rc;

	if (ns->prefix)
		rc = sbuf_addf(sb, " xmlns:%s=\"", (const char *)ns->prefix);
	else
		rc = sbuf_adds(sb, " xmlns=\"");
	if (rc == 0)
		rc = add_escaped(sb, ns->href ? (const char *)ns->href : "", true);
	if (rc == 0)
		rc = sbuf_addch(sb, '"');
	return rc;
}

static bool ns_declared_on(xmlNodePtr n, const xmlNs *ns)
{
	for (const xmlNs *d = n->nsDef; d; d = d->next)
		if (xmlStrEqual(d->prefix, ns->prefix))
			return true;
	return false;
}

/*
 * Write element n as text whose every start tag sits on the line it had in
 * the registration file (*line is the line being written), so the metadata
 * loader's messages point into the file.  The root also declares the
 * namespaces it inherits.
 */
static int serialise(struct sbuf *sb, xmlDocPtr doc, xmlNodePtr n, bool root, int *line)
{
	int want = vss__xml_line(n), rc = 0;

	while (rc == 0 && *line < want) {
		rc = sbuf_addch(sb, '\n');
		(*line)++;
	}
	if (rc == 0)
		rc = sbuf_addch(sb, '<');
	if (rc == 0)
		rc = add_qname(sb, n->ns, n->name);
	for (const xmlNs *d = n->nsDef; rc == 0 && d; d = d->next)
		rc = add_ns_decl(sb, d);
	if (rc == 0 && root) {
		xmlNsPtr *inherited = xmlGetNsList(doc, n);

		for (size_t i = 0; rc == 0 && inherited && inherited[i]; i++)
			if (!ns_declared_on(n, inherited[i]))
				rc = add_ns_decl(sb, inherited[i]);
		xmlFree(inherited);
	}
	for (xmlAttrPtr a = n->properties; rc == 0 && a; a = a->next) {
		xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);

		rc = sbuf_addch(sb, ' ');
		if (rc == 0)
			rc = add_qname(sb, a->ns, a->name);
		if (rc == 0)
			rc = sbuf_adds(sb, "=\"");
		if (rc == 0)
			rc = add_escaped(sb, v ? (const char *)v : "", true);
		if (rc == 0)
			rc = sbuf_addch(sb, '"');
		xmlFree(v);
	}
	if (rc == 0 && !n->children)
		return sbuf_adds(sb, "/>");
	if (rc == 0)
		rc = sbuf_addch(sb, '>');
	for (xmlNodePtr k = n->children; rc == 0 && k; k = k->next) {
		if (k->type == XML_ELEMENT_NODE) {
			rc = serialise(sb, doc, k, false, line);
		} else if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) &&
			   k->content) {
			rc = add_escaped(sb, (const char *)k->content, false);
			for (const xmlChar *c = k->content; *c; c++)
				*line += *c == '\n';
		}
	}
	if (rc == 0)
		rc = sbuf_adds(sb, "</");
	if (rc == 0)
		rc = add_qname(sb, n->ns, n->name);
	if (rc == 0)
		rc = sbuf_addch(sb, '>');
	return rc;
}

static int load_wmd(xmlDocPtr doc, xmlNodePtr n, const char *file, struct vss_wmd **ret)
{
	struct sbuf sb = SBUF_INIT;
	int line = 1, rc = 0;

	/* An XML declaration lets the text start with blank lines. */
	if (vss__xml_line(n) > 1)
		rc = sbuf_adds(&sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	if (rc == 0)
		rc = serialise(&sb, doc, n, true, &line);
	if (rc < 0) {
		rc = oom();
		goto out;
	}
	rc = vss_wmd_load(sbuf_str(&sb), sb.len, file, ret);
out:
	sbuf_release(&sb);
	return rc;
}

static int load_root(struct vss__writer *w, struct express *x, xmlDocPtr doc, const char *file,
		     const struct vss_context *ctx)
{
	static const char *const attrs[] = { "version", "freezeTimeout", "eventTimeout", NULL };
	xmlNodePtr root = xmlDocGetRootElement(doc), wmd_node = NULL;
	int lines[VSS_EVENT_COUNT] = { 0 };
	char *version = NULL;
	int rc;

	if (!is_element(root, EXPRESS_NS, "EXPRESS_WRITER")) {
		rc = invalid(root, file,
			     "root element is <%s>%s%s, expected <EXPRESS_WRITER xmlns=\""
			     EXPRESS_NS "\">", (const char *)root->name,
			     root->ns ? " in namespace " : " without namespace",
			     root->ns ? (const char *)root->ns->href : "");
		goto out;
	}
	rc = vss__xml_check_attributes(root, file, attrs);
	if (rc == 0)
		rc = get_attr(root, "version", &version);
	if (rc < 0)
		goto out;
	if (!version || strcmp(version, "1") != 0) {
		rc = version ? invalid(root, file,
				       "<EXPRESS_WRITER> attribute 'version': '%s' is not a version "
				       "this library reads (1)", version)
			     : invalid(root, file, "<EXPRESS_WRITER> has no attribute 'version'");
		goto out;
	}
	w->freeze_timeout_ms = ctx->writer_freeze_timeout_ms ? ctx->writer_freeze_timeout_ms
							     : VSS__DEFAULT_FREEZE_TIMEOUT_MS;
	w->event_timeout_ms = ctx->writer_event_timeout_ms ? ctx->writer_event_timeout_ms
							   : VSS__DEFAULT_EVENT_TIMEOUT_MS;
	rc = get_timeout(root, "freezeTimeout", file, &w->freeze_timeout_ms);
	if (rc == 0)
		rc = get_timeout(root, "eventTimeout", file, &w->event_timeout_ms);
	for (xmlNodePtr n = root->children; rc == 0 && n; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			if (!xmlIsBlankNode(n))
				rc = invalid(n, file, "<EXPRESS_WRITER> holds text, which it must not");
		} else if (n->type != XML_ELEMENT_NODE) {
			continue;
		} else if (is_element(n, EXPRESS_NS, "HOOK")) {
			rc = load_hook(x, lines, n, file);
		} else if (is_element(n, WMD_NS, "WRITER_METADATA")) {
			if (wmd_node)
				rc = invalid(n, file, "<WRITER_METADATA> appears twice (first at "
					     "line %d)", vss__xml_line(wmd_node));
			wmd_node = n;
		} else {
			rc = vss__xml_unexpected(n, file);
		}
	}
	if (rc == 0 && !wmd_node)
		rc = invalid(root, file,
			     "<EXPRESS_WRITER> has no <WRITER_METADATA xmlns=\"" WMD_NS "\">: "
			     "the writer's metadata document is required");
	/* The published description of the format, as a second line of defence. */
	if (rc == 0)
		rc = vss__schema_validate(doc, "express-writer", file);
	if (rc == 0)
		rc = load_wmd(doc, wmd_node, file, &w->wmd);
out:
	free(version);
	return rc;
}

static int load_file(const struct vss_context *ctx, const char *path, struct vss__writer **ret)
{
	struct vss__writer *w = NULL;
	struct express *x = NULL;
	xmlDocPtr doc = NULL;
	char *text = NULL;
	size_t len = 0;
	const char *name;
	int rc;

	rc = vss__xml_read_file(path, "writer registration file", &text, &len);
	if (rc < 0)
		goto out;
	rc = vss__xml_parse(text, len, path, &doc);
	if (rc < 0)
		goto out;
	w = vss__writer_new(&express_ops);
	x = calloc(1, sizeof(*x));
	if (!w || !x) {
		rc = oom();
		goto out;
	}
	x->epfd = x->tfd = -1;
	proc_init(&x->run);
	proc_init(&x->held);
	proc_init(&x->armed);
	w->priv = x;
	x = NULL;
	rc = vss__strset(&w->path, path);
	if (rc < 0) {
		rc = oom();
		goto out;
	}
	rc = load_root(w, w->priv, doc, path, ctx);
	if (rc < 0)
		goto out;
	w->class_id = *vss_wmd_get_writer_id(w->wmd);
	/* An express writer has one instance: without its own ID it is the
	 * class ID. */
	w->instance_id = vss_guid_is_null(vss_wmd_get_instance_id(w->wmd))
				 ? w->class_id
				 : *vss_wmd_get_instance_id(w->wmd);
	name = vss_wmd_get_friendly_name(w->wmd);
	rc = vss__strset(&w->name, name);
	if (rc < 0) {
		rc = oom();
		goto out;
	}
	w->state = VSS_WS_STABLE;
	*ret = w;
	w = NULL;
out:
	free(x);
	vss__writer_free(w);
	xmlFreeDoc(doc);
	free(text);
	return rc;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_xml_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".xml") == 0;
}

int vss__express_writers_load(const struct vss_context *ctx, struct vss__writer ***ws, size_t *n)
{
	struct strv names = STRV_INIT;
	struct vss__writer **all = NULL;
	size_t count = 0;
	char *dir = NULL;
	DIR *d = NULL;
	int rc = 0;

	dir = path_join(ctx->sysconfdir, VSS__WRITERS_DIR);
	if (!dir) {
		rc = oom();
		goto out;
	}
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			rc = vss__error(-errno, "cannot read the writer directory '%s': %s", dir,
					strerror(errno));
		goto out;
	}
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = vss__error(-errno, "cannot read the writer directory '%s': %s",
						dir, strerror(errno));
			break;
		}
		if (is_xml_name(de->d_name) && strv_push(&names, de->d_name) < 0) {
			rc = oom();
			break;
		}
	}
	if (rc < 0 || names.count == 0)
		goto out;
	qsort(names.items, names.count, sizeof(*names.items), cmp_names);
	all = realloc(*ws, (*n + names.count) * sizeof(*all));
	if (!all) {
		rc = oom();
		goto out;
	}
	*ws = all;
	for (size_t i = 0; i < names.count; i++) {
		char *path = path_join(dir, names.items[i]);
		struct vss__writer *w = NULL;

		if (!path) {
			rc = oom();
			goto undo;
		}
		rc = load_file(ctx, path, &w);
		free(path);
		if (rc < 0)
			goto undo;
		for (size_t k = 0; k < *n + count; k++) {
			char inst[VSS_GUID_STRING_MAX];

			if (!vss_guid_equal(&all[k]->instance_id, &w->instance_id))
				continue;
			vss_guid_format(&w->instance_id, VSS_GUID_BRACES, inst);
			rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
					"writer instance %s is registered twice: in '%s' and in '%s' "
					"(give each writer its own instanceId)",
					inst, all[k]->path ? all[k]->path : "?", w->path);
			vss__writer_free(w);
			goto undo;
		}
		all[*n + count++] = w;
	}
	*n += count;
	goto out;
undo:
	for (size_t i = 0; i < count; i++)
		vss__writer_free(all[*n + i]);
out:
	if (d)
		closedir(d);
	strv_release(&names);
	free(dir);
	return rc;
}
