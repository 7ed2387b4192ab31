/*
 * vss-sample-writer — a small live writer: an example of <vss/writer.h>
 * and a tool for tests.  It serves every event on its socket, logs each
 * handler call, and can be told to fail or hang at an event, or to hold an
 * flock(2) on a file from Freeze to Thaw/Abort the way a real application
 * holds its writes.  --probe asks a writer socket Identify, as a requester
 * would (for checking that the writer refuses non-root peers).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <vss.h>

#include "../common/tool.h"
#include "util/parse.h"
#include "util/sbuf.h"
#include "util/banned.h"

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

#define DEFAULT_NAME     "vss sample writer"
#define DEFAULT_CLASS_ID "{d61d61c8-d73a-4eee-8cdd-f6f9786b7124}"
#define DEFAULT_HANG_S   3600u
#define PROBE_TIMEOUT_MS 5000

enum {
	OPT_NAME = 0x100,
	OPT_CLASS_ID,
	OPT_PATH,
	OPT_FREEZE_TIMEOUT,
	OPT_FAIL_AT,
	OPT_HANG_AT,
	OPT_LOG,
	OPT_HOLD_FILE,
	OPT_PROBE,
};

static const struct option longopts[] = {
	{ "name",           required_argument, NULL, OPT_NAME },
	{ "class-id",       required_argument, NULL, OPT_CLASS_ID },
	{ "path",           required_argument, NULL, OPT_PATH },
	{ "freeze-timeout", required_argument, NULL, OPT_FREEZE_TIMEOUT },
	{ "fail-at",        required_argument, NULL, OPT_FAIL_AT },
	{ "hang-at",        required_argument, NULL, OPT_HANG_AT },
	{ "log",            required_argument, NULL, OPT_LOG },
	{ "hold-file",      required_argument, NULL, OPT_HOLD_FILE },
	{ "probe",          required_argument, NULL, OPT_PROBE },
	{ "help",           no_argument,       NULL, 'h' },
	{ "version",        no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage:\n"
	       " %1$s [options]\n"
	       " %1$s --probe SOCKET\n"
	       "\n"
	       "Run a live writer that takes part in every shadow copy: it prints its\n"
	       "socket path, serves writer events until SIGTERM or SIGINT, then\n"
	       "unsubscribes.\n"
	       "\n"
	       "Options:\n"
	       "     --name NAME             the writer's name (default \"" DEFAULT_NAME "\")\n"
	       "     --class-id GUID         the writer class ID\n"
	       "     --path DIR              a directory of the writer's data (repeatable):\n"
	       "                             component \"data\" of its metadata\n"
	       "     --freeze-timeout SECONDS  Freeze to Thaw at most (default 60)\n"
	       "     --fail-at EVENT[:WORD]  fail EVENT with RETRYABLE, NONRETRYABLE (default),\n"
	       "                             OUTOFRESOURCES or INCONSISTENTSNAPSHOT (repeatable)\n"
	       "     --hang-at EVENT[:SECONDS]  sleep in the handler of EVENT (default 3600 s)\n"
	       "     --log FILE              append \"<monotonic ns> <event> <set id>\" per\n"
	       "                             handler call\n"
	       "     --hold-file FILE        hold an exclusive flock on FILE from Freeze to\n"
	       "                             Thaw or Abort\n"
	       "     --probe SOCKET          send Identify to a writer socket, print the reply\n"
	       "\n"
	       " -h, --help                  display this help\n"
	       " -V, --version               display version\n"
	       "\n"
	       "Events: Identify, PrepareForBackup, PrepareForSnapshot, Freeze, Thaw,\n"
	       "PostSnapshot, Abort, BackupComplete, BackupShutdown, PreRestore, PostRestore.\n"
	       "\n"
	       "Exit status: 0 success, 1 failure, 2 usage error.  See %1$s(1).\n",
	       program_invocation_short_name);
}

struct options {
	const char *name;
	struct vss_guid class_id;
	const char **paths;
	size_t npaths;
	unsigned int freeze_timeout_ms;
	int fail[VSS_EVENT_COUNT];               /* 0 or -VSS_E_WRITERERROR_* */
	unsigned int hang_s[VSS_EVENT_COUNT];    /* 0: no hang */
	const char *log;
	const char *hold_file;
	const char *probe;
};

/* What the handlers share. */
struct sample {
	const struct options *o;
	int log_fd;
	int hold_fd;
};

static struct vss_writer *the_writer;
static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	vss_writer_stop(the_writer);
}

/* ---- options ------------------------------------------------------------------ */

static const struct {
	const char *word;
	int code;
} failure_words[] = {
	{ "RETRYABLE", -VSS_E_WRITERERROR_RETRYABLE },
	{ "NONRETRYABLE", -VSS_E_WRITERERROR_NONRETRYABLE },
	{ "OUTOFRESOURCES", -VSS_E_WRITERERROR_OUTOFRESOURCES },
	{ "INCONSISTENTSNAPSHOT", -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT },
};

/* "EVENT[:REST]": the event, and REST (NULL when none) in arg itself. */
static int parse_event_arg(const char *opt, char *arg, enum vss_writer_event *ret,
			   char **ret_rest)
{
	char *colon = strchr(arg, ':');

	*ret_rest = NULL;
	if (colon) {
		*colon = '\0';
		*ret_rest = colon + 1;
	}
	if (vss_writer_event_parse(arg, ret) < 0)
		return tool_usage_error("--%s: unknown event '%s' (Identify, PrepareForBackup, "
					"PrepareForSnapshot, Freeze, Thaw, PostSnapshot, Abort, "
					"BackupComplete, BackupShutdown, PreRestore, PostRestore)",
					opt, arg);
	return 0;
}

static int parse_fail_at(char *arg, struct options *o)
{
	enum vss_writer_event ev;
	char *word;
	int rc = parse_event_arg("fail-at", arg, &ev, &word);

	if (rc)
		return rc;
	if (!word) {
		o->fail[ev] = -VSS_E_WRITERERROR_NONRETRYABLE;
		return 0;
	}
	for (size_t i = 0; i < sizeof(failure_words) / sizeof(failure_words[0]); i++)
		if (strcasecmp(word, failure_words[i].word) == 0) {
			o->fail[ev] = failure_words[i].code;
			return 0;
		}
	return tool_usage_error("--fail-at: unknown failure '%s' (RETRYABLE, NONRETRYABLE, "
				"OUTOFRESOURCES, INCONSISTENTSNAPSHOT)", word);
}

static int parse_hang_at(char *arg, struct options *o)
{
	enum vss_writer_event ev;
	char *secs;
	uint32_t s = DEFAULT_HANG_S;
	int rc = parse_event_arg("hang-at", arg, &ev, &secs);

	if (rc)
		return rc;
	if (secs && (parse_u32(secs, &s) < 0 || s == 0 || s > 86400))
		return tool_usage_error("--hang-at: '%s' is not a number of seconds from 1 to 86400",
					secs);
	o->hang_s[ev] = s;
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	uint64_t ms;
	int c, rc;

	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			if (!*optarg)
				return tool_usage_error("--name: the name is empty");
			o->name = optarg;
			break;
		case OPT_CLASS_ID:
			if (vss_guid_parse(optarg, &o->class_id) < 0)
				return tool_usage_error_last();
			break;
		case OPT_PATH: {
			const char **grown;

			if (optarg[0] != '/')
				return tool_usage_error("--path: '%s' is not an absolute path", optarg);
			grown = realloc(o->paths, (o->npaths + 1) * sizeof(*grown));
			if (!grown)
				return tool_fail(-ENOMEM, "cannot parse the options");
			o->paths = grown;
			o->paths[o->npaths++] = optarg;
			break;
		}
		case OPT_FREEZE_TIMEOUT:
			if (parse_seconds_ms(optarg, &ms) < 0 || ms == 0 || ms > 3600000)
				return tool_usage_error("--freeze-timeout: '%s' is not seconds from "
							"0.001 to 3600", optarg);
			o->freeze_timeout_ms = (unsigned int)ms;
			break;
		case OPT_FAIL_AT:
			rc = parse_fail_at(optarg, o);
			if (rc)
				return rc;
			break;
		case OPT_HANG_AT:
			rc = parse_hang_at(optarg, o);
			if (rc)
				return rc;
			break;
		case OPT_LOG:
			o->log = optarg;
			break;
		case OPT_HOLD_FILE:
			o->hold_file = optarg;
			break;
		case OPT_PROBE:
			o->probe = optarg;
			break;
		case 'h':
			usage();
			return STOP;
		case 'V':
			tool_print_version();
			return STOP;
		default:
			return tool_try_help();
		}
	}
	if (optind < argc)
		return tool_usage_error("unexpected argument '%s'", argv[optind]);
	return 0;
}

/* ---- the handlers ------------------------------------------------------------------ */

static void log_event(struct sample *s, struct vss_writer *w, enum vss_writer_event ev)
{
	char line[160], id[VSS_GUID_STRING_MAX];
	struct timespec ts;
	int n;

	if (s->log_fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "%llu %s %s\n",
		     (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec,
		     vss_writer_event_name(ev),
		     vss_guid_format(vss_writer_get_snapshot_set_id(w), VSS_GUID_BRACES, id));
	/* One write per line: O_APPEND keeps lines whole with several writers. */
	if (n > 0 && (size_t)n < sizeof(line) && write(s->log_fd, line, (size_t)n) != n)
		tool_warn("cannot write to the log '%s': %s", s->o->log, strerror(errno));
}

/* Sleep as told, but not past SIGTERM: the test harness must stop us. */
static void hang(unsigned int seconds)
{
	struct timespec left = { (time_t)seconds, 0 };

	while (!stopping && nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

/* Log, hang and fail as the options say.  0 or the failure. */
static int common(struct vss_writer *w, enum vss_writer_event ev, struct sample *s)
{
	log_event(s, w, ev);
	if (s->o->hang_s[ev])
		hang(s->o->hang_s[ev]);
	if (s->o->fail[ev]) {
		vss_writer_set_failure_message(w, "told to fail at %s (--fail-at)",
					       vss_writer_event_name(ev));
		return s->o->fail[ev];
	}
	return 0;
}

static void release_hold(struct sample *s)
{
	if (s->hold_fd >= 0)
		close(s->hold_fd);   /* drops the flock */
	s->hold_fd = -1;
}

static int on_identify(struct vss_writer *w, struct vss_wmd *wmd, void *userdata)
{
	struct sample *s = userdata;
	struct vss_wmd_component *c = NULL;
	int rc = common(w, VSS_EVENT_IDENTIFY, s);

	if (rc)
		return rc;
	rc = vss_wmd_set_usage_type(wmd, VSS_UT_USERDATA);
	if (rc == 0)
		rc = vss_wmd_set_source_type(wmd, VSS_ST_OTHER);
	if (rc == 0 && s->o->npaths)
		rc = vss_wmd_add_component(wmd, VSS_CT_FILEGROUP, NULL, "data", &c);
	for (size_t i = 0; rc == 0 && i < s->o->npaths; i++)
		rc = vss_wmd_component_add_file(c, s->o->paths[i], "*", true, NULL,
						VSS_FSBT_DEFAULT);
	return rc;
}

#define HANDLER(fn, ev) \
	static int fn(struct vss_writer *w, void *userdata) \
	{ \
		return common(w, ev, userdata); \
	}

HANDLER(on_prepare_backup, VSS_EVENT_PREPARE_BACKUP)
HANDLER(on_prepare_snapshot, VSS_EVENT_PREPARE_SNAPSHOT)
HANDLER(on_post_snapshot, VSS_EVENT_POST_SNAPSHOT)
HANDLER(on_backup_complete, VSS_EVENT_BACKUP_COMPLETE)
HANDLER(on_backup_shutdown, VSS_EVENT_BACKUP_SHUTDOWN)
HANDLER(on_pre_restore, VSS_EVENT_PRE_RESTORE)
HANDLER(on_post_restore, VSS_EVENT_POST_RESTORE)

static int on_freeze(struct vss_writer *w, void *userdata)
{
	struct sample *s = userdata;
	int rc = common(w, VSS_EVENT_FREEZE, s), fd;

	if (rc || !s->o->hold_file)
		return rc;
	/* A real writer would stop its application's writes here; holding a
	 * lock others can test shows that we are frozen. */
	fd = open(s->o->hold_file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		vss_writer_set_failure_message(w, "cannot open '%s': %s", s->o->hold_file,
					       strerror(errno));
		return -VSS_E_WRITERERROR_NONRETRYABLE;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		vss_writer_set_failure_message(w, "cannot lock '%s': %s", s->o->hold_file,
					       strerror(errno));
		close(fd);
		return errno == EWOULDBLOCK ? -VSS_E_WRITERERROR_RETRYABLE :
					      -VSS_E_WRITERERROR_NONRETRYABLE;
	}
	release_hold(s);
	s->hold_fd = fd;
	return 0;
}

static int on_thaw(struct vss_writer *w, void *userdata)
{
	struct sample *s = userdata;

	release_hold(s);
	return common(w, VSS_EVENT_THAW, s);
}

static int on_abort(struct vss_writer *w, void *userdata)
{
	struct sample *s = userdata;

	release_hold(s);
	return common(w, VSS_EVENT_ABORT, s);
}

static const struct vss_writer_ops sample_ops = {
	.on_identify = on_identify,
	.on_prepare_backup = on_prepare_backup,
	.on_prepare_snapshot = on_prepare_snapshot,
	.on_freeze = on_freeze,
	.on_thaw = on_thaw,
	.on_post_snapshot = on_post_snapshot,
	.on_abort = on_abort,
	.on_backup_complete = on_backup_complete,
	.on_backup_shutdown = on_backup_shutdown,
	.on_pre_restore = on_pre_restore,
	.on_post_restore = on_post_restore,
};

/* ---- --probe ------------------------------------------------------------------------ */

/*
 * Send "event=Identify" and print the reply's header lines.  Exit 0 when
 * the writer answered result=ok, 1 when it refused, failed or closed the
 * connection without a reply.
 */
static int probe(const char *path)
{
	static const char request[] = "event=Identify\n\n";
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct sbuf in = SBUF_INIT;
	const char *end, *result;
	char buf[4096];
	int fd, rc = TOOL_EXIT_FAILURE;

	if (strlen(path) >= sizeof(addr.sun_path))
		return tool_usage_error("--probe: socket path '%s' is too long", path);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		tool_warn("cannot connect to '%s': %s", path, strerror(errno));
		goto out;
	}
	/* The writer may close before reading a refused peer's request:
	 * what it answered is read all the same. */
	(void)!send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, PROBE_TIMEOUT_MS) <= 0) {
			tool_warn("no reply from '%s' within %d s", path, PROBE_TIMEOUT_MS / 1000);
			goto out;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (sbuf_add(&in, buf, (size_t)n) < 0) {
			tool_warn("out of memory");
			goto out;
		}
		if (strstr(sbuf_str(&in), "\n\n"))
			break;
	}
	end = strstr(sbuf_str(&in), "\n\n");
	if (!end) {
		tool_warn("'%s' closed the connection without a reply", path);
		goto out;
	}
	fwrite(in.data, 1, (size_t)(end - in.data) + 1, stdout);
	result = strstr(sbuf_str(&in), "result=");
	if (in.data == result || (result && result[-1] == '\n'))
		rc = strncmp(result, "result=ok\n", 10) == 0 ? TOOL_EXIT_OK : TOOL_EXIT_FAILURE;
out:
	if (fd >= 0)
		close(fd);
	sbuf_release(&in);
	return rc;
}

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct options o = { .name = DEFAULT_NAME };
	struct sample s = { .o = &o, .log_fd = -1, .hold_fd = -1 };
	struct vss_context *ctx = NULL;
	struct vss_writer *w = NULL;
	struct sigaction sa;
	char id[VSS_GUID_STRING_MAX];
	int rc;

	tool_init(argv);
	vss_guid_parse(DEFAULT_CLASS_ID, &o.class_id);
	rc = parse_options(argc, argv, &o);
	if (rc == STOP) {
		rc = TOOL_EXIT_OK;
		goto out;
	}
	if (rc)
		goto out;
	if (o.probe) {
		rc = probe(o.probe);
		goto out;
	}
	if (o.log) {
		s.log_fd = open(o.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (s.log_fd < 0) {
			rc = tool_fail(-errno, "cannot open the log '%s'", o.log);
			goto out;
		}
	}

	rc = vss_context_new(&ctx);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot start");
		goto out;
	}
	rc = vss_writer_new(ctx, &o.class_id, o.name, &w);
	if (rc == 0 && o.freeze_timeout_ms)
		rc = vss_writer_set_freeze_timeout(w, o.freeze_timeout_ms);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot create the writer");
		goto out;
	}
	vss_writer_set_ops(w, &sample_ops, &s);

	the_writer = w;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	rc = vss_writer_subscribe(w);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot subscribe the writer");
		goto out;
	}
	printf("%s/writers/%s.sock\n", vss_context_get_rundir(ctx),
	       vss_guid_format(vss_writer_get_instance_id(w), 0, id));
	if (fflush(stdout) != 0) {
		rc = tool_fail(-errno, "cannot print the socket path");
		goto out;
	}
	rc = vss_writer_run(w);
	if (rc < 0) {
		rc = tool_fail(rc, "the writer's loop failed");
		goto out;
	}
	rc = vss_writer_unsubscribe(w);
	rc = rc < 0 ? tool_fail(rc, "cannot unsubscribe the writer") : TOOL_EXIT_OK;
out:
	the_writer = NULL;
	vss_writer_unref(w);
	vss_context_unref(ctx);
	release_hold(&s);
	if (s.log_fd >= 0)
		close(s.log_fd);
	free(o.paths);
	return rc;
}
