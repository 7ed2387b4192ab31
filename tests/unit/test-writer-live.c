/*
 * Live writers: the socket protocol (encoder, incremental parser, limits)
 * and the two ends talking for real — a writer in a forked child with a
 * private VSS_RUNDIR, the requester end (writer-client.c) driving it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "vss-private.h"
#include "writer-private.h"
#include "writer-protocol.h"
#include "helpers.h"
#include "util/file.h"
#include "util/banned.h"

/* ---- the protocol ------------------------------------------------------------------- */

static void test_writer_live__encode_decode(void **state)
{
	static const char body[] = "<xml>\n\nbinary\0zero</xml>";
	struct sbuf out = SBUF_INIT;
	struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };

	(void)state;
	assert_int_equal(vss__wp_add(&out, "event", "Freeze"), 0);
	assert_int_equal(vss__wp_add(&out, "volume", "/srv/a"), 0);
	assert_int_equal(vss__wp_add(&out, "volume", "/srv/b"), 0);
	assert_int_equal(vss__wp_add(&out, "message", "two\nlines\n"), 0);
	assert_int_equal(vss__wp_addf(&out, "context", "0x%08x", 9u), 0);
	assert_int_equal(vss__wp_end(&out, body, sizeof(body) - 1), 0);
	assert_non_null(strstr(out.data, "message=two lines \n"));

	assert_int_equal(vss__wp_parse(out.data, out.len, &m), 0);
	assert_string_equal(vss__wp_get(&m, "event"), "Freeze");
	assert_string_equal(vss__wp_get(&m, "volume"), "/srv/a");
	assert_string_equal(vss__wp_get_nth(&m, "volume", 1), "/srv/b");
	assert_null(vss__wp_get_nth(&m, "volume", 2));
	assert_string_equal(vss__wp_get(&m, "context"), "0x00000009");
	assert_null(vss__wp_get(&m, "missing"));
	assert_int_equal(m.body_len, sizeof(body) - 1);
	assert_memory_equal(m.body, body, sizeof(body) - 1);
	vss__wp_message_clear(&m);
	sbuf_release(&out);
}

/* Bytes arriving one at a time, two messages back to back. */
static void test_writer_live__parser_incremental(void **state)
{
	struct vss__wp_parser p = VSS__WP_PARSER_INIT;
	struct sbuf out = SBUF_INIT;
	size_t got = 0;

	(void)state;
	assert_int_equal(vss__wp_add(&out, "result", "ok"), 0);
	assert_int_equal(vss__wp_end(&out, "abc", 3), 0);
	assert_int_equal(vss__wp_add(&out, "result", "failed"), 0);
	assert_int_equal(vss__wp_end(&out, NULL, 0), 0);
	assert_int_equal(vss__wp_add(&out, "result", "empty-body"), 0);
	assert_int_equal(vss__wp_end(&out, "", 0), 0);

	for (size_t i = 0; i < out.len; i++) {
		struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
		size_t used = 0;
		int rc = vss__wp_parser_feed(&p, out.data + i, 1, &used, &m);

		assert_int_equal(used, 1);
		assert_true(rc == 0 || rc == 1);
		if (rc == 0) {
			assert_true(vss__wp_parser_is_partial(&p));
			continue;
		}
		assert_false(vss__wp_parser_is_partial(&p));
		switch (got++) {
		case 0:
			assert_string_equal(vss__wp_get(&m, "result"), "ok");
			assert_int_equal(m.body_len, 3);
			assert_string_equal(m.body, "abc");
			break;
		case 1:
			assert_string_equal(vss__wp_get(&m, "result"), "failed");
			assert_null(m.body);
			break;
		default:
			assert_string_equal(vss__wp_get(&m, "result"), "empty-body");
			assert_non_null(m.body);
			assert_int_equal(m.body_len, 0);
			break;
		}
		vss__wp_message_clear(&m);
	}
	assert_int_equal(got, 3);

	/* All at once: the first message ends where the second starts. */
	{
		struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
		size_t used = 0, first = strlen("result=ok\nlength=3\n\nabc");

		assert_int_equal(vss__wp_parser_feed(&p, out.data, out.len, &used, &m), 1);
		assert_int_equal(used, first);
		vss__wp_message_clear(&m);
	}
	vss__wp_parser_reset(&p);
	sbuf_release(&out);
}

static void expect_protocol_error(const char *data, size_t len, const char *why)
{
	struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
	int rc = vss__wp_parse(data, len, &m);

	if (rc != -EPROTO)
		fail_msg("'%.60s': %d, expected -EPROTO", data, rc);
	if (!strstr(vss_error_last()->message, why))
		fail_msg("'%.60s': message '%s' does not say '%s'", data,
			 vss_error_last()->message, why);
	assert_null(m.body);
	assert_int_equal(m.keys.count, 0);
}

static void test_writer_live__parser_rejects(void **state)
{
	static const char nul[] = "event=Free\0ze\n\n";
	char big[512];

	(void)state;
	expect_protocol_error("\n", 1, "empty message");
	expect_protocol_error("event\n\n", 7, "without '='");
	expect_protocol_error("Event=Freeze\n\n", 14, "bad key");
	expect_protocol_error("=Freeze\n\n", 9, "bad key");
	expect_protocol_error("ev ent=x\n\n", 10, "bad key");
	expect_protocol_error(nul, sizeof(nul) - 1, "NUL byte");
	expect_protocol_error("length=abc\n\n", 12, "bad body length");
	expect_protocol_error("length=-1\n\n", 11, "bad body length");
	fmt(big, sizeof(big), "length=%zu\n\n", VSS__WP_BODY_MAX + 1);
	expect_protocol_error(big, strlen(big), "bad body length");
	expect_protocol_error("length=1\nlength=1\n\nx", 20, "length given twice");
	expect_protocol_error("event=Freeze\n", 13, "cut short");
	expect_protocol_error("length=5\n\nabc", 13, "cut short");
	expect_protocol_error("event=a\n\nevent=b\n\n", 18, "after the end");
	{
		char key[VSS__WP_KEY_MAX + 8];

		memset(key, 'k', VSS__WP_KEY_MAX + 1);
		memcpy(key + VSS__WP_KEY_MAX + 1, "=v\n\n", 5);
		expect_protocol_error(key, strlen(key), "bad key");
	}
	/* A header line that cannot end within 64 KiB (with its newline) is
	 * refused as soon as it is known. */
	{
		size_t n = VSS__WP_HEADER_MAX + 1;
		char *h = malloc(n);
		struct vss__wp_parser p = VSS__WP_PARSER_INIT;
		struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
		size_t used = 0;

		assert_non_null(h);
		memset(h, 'a', n);
		memcpy(h, "key=", 4);
		assert_int_equal(vss__wp_parser_feed(&p, h, n - 2, &used, &m), 0);
		assert_int_equal(used, n - 2);
		assert_int_equal(vss__wp_parser_feed(&p, h + 4, 1, &used, &m), -EPROTO);
		assert_non_null(strstr(vss_error_last()->message, "longer than"));
		vss__wp_parser_reset(&p);
		free(h);
	}
	/* The largest body is accepted as far as the header goes. */
	{
		struct vss__wp_parser p = VSS__WP_PARSER_INIT;
		struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
		size_t used = 0;

		fmt(big, sizeof(big), "length=%zu\n\nabc", VSS__WP_BODY_MAX);
		assert_int_equal(vss__wp_parser_feed(&p, big, strlen(big), &used, &m), 0);
		assert_int_equal(used, strlen(big));
		vss__wp_parser_reset(&p);
	}
}

/* ---- a writer in a child process ------------------------------------------------------ */

struct fixture {
	char dir[PATH_MAX];
	char log[PATH_MAX + 8];
	pid_t pid;
	struct vss_context *ctx;
	struct vss__writer **ws;
	size_t n;
};

/* What the child's handlers do; set before start_writer(). */
static struct {
	unsigned int freeze_timeout_ms;
	int fail[VSS_EVENT_COUNT];
	const char *log;
} child;

static struct vss_writer *child_writer;

static void child_on_term(int sig)
{
	(void)sig;
	vss_writer_stop(child_writer);
}

/* "<Event> <set> <context> <volumes> bcd|- in|out" per handler call. */
static int child_handle(struct vss_writer *w, enum vss_writer_event ev)
{
	const char *const *vols = vss_writer_get_volumes(w);
	const struct vss_bcd *bcd = vss_writer_get_bcd(w);
	char line[256], id[VSS_GUID_STRING_MAX], probe[PATH_MAX + 16] = "/nonexistent";
	size_t nvol = 0;
	int fd, n;

	while (vols[nvol])
		nvol++;
	if (nvol)
		snprintf(probe, sizeof(probe), "%s/sub/file", vols[0]);
	if (bcd && !vss_guid_equal(vss_bcd_get_snapshot_set_id(bcd),
				   vss_writer_get_snapshot_set_id(w)))
		bcd = NULL;
	n = snprintf(line, sizeof(line), "%s %s 0x%08x %zu %s %s\n", vss_writer_event_name(ev),
		     vss_guid_format(vss_writer_get_snapshot_set_id(w), VSS_GUID_BRACES, id),
		     (unsigned int)vss_writer_get_context(w), nvol, bcd ? "bcd" : "-",
		     vss_writer_is_path_affected(w, probe) ? "in" : "out");
	fd = open(child.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			n = -1;
		close(fd);
	}
	if (child.fail[ev] == -EIO)
		return -EIO;
	if (child.fail[ev]) {
		vss_writer_set_failure_message(w, "%s failed\non purpose", vss_writer_event_name(ev));
		return child.fail[ev];
	}
	return 0;
}

static int child_identify(struct vss_writer *w, struct vss_wmd *wmd, void *u)
{
	(void)u;
	/* The library owns the identity: what the handler puts there is replaced. */
	vss_wmd_set_friendly_name(wmd, "not my name");
	if (vss_wmd_add_component(wmd, VSS_CT_FILEGROUP, NULL, "data", NULL) < 0)
		return -ENOMEM;
	return child_handle(w, VSS_EVENT_IDENTIFY);
}

#define CHILD_HANDLER(fn, ev) \
	static int fn(struct vss_writer *w, void *u) \
	{ \
		(void)u; \
		return child_handle(w, ev); \
	}
CHILD_HANDLER(child_prepare_backup, VSS_EVENT_PREPARE_BACKUP)
CHILD_HANDLER(child_prepare_snapshot, VSS_EVENT_PREPARE_SNAPSHOT)
CHILD_HANDLER(child_freeze, VSS_EVENT_FREEZE)
CHILD_HANDLER(child_thaw, VSS_EVENT_THAW)
CHILD_HANDLER(child_post_snapshot, VSS_EVENT_POST_SNAPSHOT)
CHILD_HANDLER(child_abort, VSS_EVENT_ABORT)
CHILD_HANDLER(child_backup_complete, VSS_EVENT_BACKUP_COMPLETE)
CHILD_HANDLER(child_backup_shutdown, VSS_EVENT_BACKUP_SHUTDOWN)
CHILD_HANDLER(child_pre_restore, VSS_EVENT_PRE_RESTORE)
CHILD_HANDLER(child_post_restore, VSS_EVENT_POST_RESTORE)

static const struct vss_writer_ops child_ops = {
	.on_identify = child_identify,
	.on_prepare_backup = child_prepare_backup,
	.on_prepare_snapshot = child_prepare_snapshot,
	.on_freeze = child_freeze,
	.on_thaw = child_thaw,
	.on_post_snapshot = child_post_snapshot,
	.on_abort = child_abort,
	.on_backup_complete = child_backup_complete,
	.on_backup_shutdown = child_backup_shutdown,
	.on_pre_restore = child_pre_restore,
	.on_post_restore = child_post_restore,
};

static const struct vss_guid class_id = { { 0x5e, 0x3a, 0x11, 0x42, 0x9b, 0x6c, 0x4d, 0x01,
					    0x8e, 0x77, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60 } };

static void child_main(void)
{
	struct vss_context *ctx = NULL;
	struct sigaction sa;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_on_term;
	sigemptyset(&sa.sa_mask);
	/* A test that fails leaves no writer behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	rc = vss_context_new(&ctx);
	if (rc == 0)
		rc = vss_writer_new(ctx, &class_id, "unit test writer", &child_writer);
	if (rc == 0 && child.freeze_timeout_ms)
		rc = vss_writer_set_freeze_timeout(child_writer, child.freeze_timeout_ms);
	if (rc == 0)
		rc = vss_writer_set_instance_name(child_writer, "first");
	if (rc == 0) {
		vss_writer_set_ops(child_writer, &child_ops, NULL);
		sigaction(SIGTERM, &sa, NULL);
		rc = vss_writer_subscribe(child_writer);
	}
	if (rc == 0)
		rc = vss_writer_run(child_writer);
	if (rc < 0)
		fprintf(stderr, "# writer child: %s\n", vss_error_last()->message);
	vss_writer_unref(child_writer);
	vss_context_unref(ctx);
	_exit(rc < 0 ? 1 : 0);
}

/* The socket the child made, waited for; NULL after 5 s. */
static bool wait_socket(const char *dir)
{
	char path[PATH_MAX + 16];

	fmt(path, sizeof(path), "%s/run/%s", dir, VSS__WRITER_SOCKET_DIR);
	for (int i = 0; i < 500; i++) {
		char out[256] = "";

		if (access(path, F_OK) == 0 &&
		    run(out, sizeof(out), "ls %s | grep -c '\\.sock$'", path) == 0 &&
		    strcmp(out, "1") == 0)
			return true;
		poll(NULL, 0, 10);
	}
	return false;
}

/* The writer of the running test, for the teardown of a failed one. */
static pid_t running_writer;
static char running_dir[PATH_MAX];

static int teardown_writer(void **state)
{
	(void)state;
	if (running_writer > 0) {
		kill(running_writer, SIGKILL);
		waitpid(running_writer, NULL, 0);
		running_writer = 0;
	}
	if (running_dir[0]) {
		run(NULL, 0, "rm -rf %s", running_dir);
		running_dir[0] = '\0';
	}
	memset(&child, 0, sizeof(child));
	return 0;
}

static void start_writer(struct fixture *f)
{
	char path[PATH_MAX + 16];

	memset(f, 0, sizeof(*f));
	fmt(f->dir, sizeof(f->dir), "/tmp/vss-test-writer.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	/* The refused-peer test connects as nobody. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	fmt(f->log, sizeof(f->log), "%s/log", f->dir);
	child.log = f->log;
	fmt(path, sizeof(path), "%s/run", f->dir);
	setenv("VSS_RUNDIR", path, 1);
	fmt(path, sizeof(path), "%s/state", f->dir);
	setenv("VSS_STATEDIR", path, 1);
	fmt(path, sizeof(path), "%s/etc", f->dir);
	setenv("VSS_SYSCONFDIR", path, 1);
	fflush(NULL);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0)
		child_main();
	running_writer = f->pid;
	fmt(running_dir, sizeof(running_dir), "%s", f->dir);
	if (!wait_socket(f->dir))
		fail_msg("the writer child made no socket in %s/run/writers", f->dir);
	assert_int_equal(vss_context_new(&f->ctx), 0);
	f->ctx->writer_event_timeout_ms = 3000;
	assert_int_equal(vss__live_writers_connect(f->ctx, 2000, &f->ws, &f->n), 0);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->ws[0]->ops->kind, "live");
}

static void stop_writer(struct fixture *f)
{
	int status = -1;

	vss__writers_free(f->ws, f->n);
	f->ws = NULL;
	f->n = 0;
	kill(f->pid, SIGTERM);
	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	running_writer = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Unsubscribing removed the socket. */
	{
		char out[64] = "";

		assert_int_equal(run(out, sizeof(out), "ls -A %s/run/writers | wc -l", f->dir), 0);
		assert_string_equal(out, "0");
	}
	vss_context_unref(f->ctx);
	assert_int_equal(run(NULL, 0, "rm -rf %s", f->dir), 0);
	running_dir[0] = '\0';
	memset(&child, 0, sizeof(child));
}

/* Drive one event to its end as the fan-out would.  -ETIMEDOUT: cancelled. */
static int send_event(struct vss__writer *w, const struct vss__event_args *a,
		      unsigned int timeout_ms, struct vss__event_result *res)
{
	uint64_t deadline = vss__now_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
	short events = 0;
	int fd = -1, rc;

	memset(res, 0, sizeof(*res));
	rc = w->ops->start(w, a, &fd, &events, res);
	if (rc != 0)
		return rc;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		uint64_t now = vss__now_monotonic_ns();

		rc = now < deadline ? poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) : 0;
		if (rc == 0) {
			w->ops->cancel(w);
			return -ETIMEDOUT;
		}
		assert_true(rc > 0);
		rc = w->ops->advance(w, pfd.revents, &fd, &events, res);
		if (rc)
			return rc;
	}
}

static char *read_log(const struct fixture *f)
{
	char *text = NULL;
	size_t len = 0;

	if (file_read_all(f->log, &text, &len) < 0)
		return strdup("");
	return text;
}

/* The event names of the log, space-separated. */
static void log_events(const struct fixture *f, char *out, size_t size)
{
	char *text = read_log(f), *line, *save = NULL;
	size_t len = 0;

	out[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strcspn(line, " ");

		if (len + n + 2 > size)
			break;
		if (len)
			out[len++] = ' ';
		memcpy(out + len, line, n);
		len += n;
		out[len] = '\0';
	}
	free(text);
}

/* Wait up to ms for the log's events to be want. */
static void wait_log(const struct fixture *f, const char *want, unsigned int ms)
{
	char got[1024];

	for (unsigned int i = 0; i <= ms / 10; i++) {
		log_events(f, got, sizeof(got));
		if (strcmp(got, want) == 0)
			return;
		poll(NULL, 0, 10);
	}
	fail_msg("writer log: '%s', expected '%s'", got, want);
}

static void args_init(struct vss__event_args *a, enum vss_writer_event ev,
		      const struct vss_guid *set, const char *const *vols)
{
	memset(a, 0, sizeof(*a));
	a->event = ev;
	a->set_id = *set;
	a->context = 0x9;
	a->backup_type = VSS_BT_FULL;
	a->volumes = vols;
}

static void expect_ok(struct vss__writer *w, enum vss_writer_event ev, const struct vss_guid *set,
		      const char *const *vols, const char *bcd, size_t bcd_len,
		      enum vss_writer_state state_after)
{
	struct vss__event_args a;
	struct vss__event_result res;

	args_init(&a, ev, set, vols);
	a.bcd_xml = bcd;
	a.bcd_len = bcd_len;
	assert_int_equal(send_event(w, &a, 3000, &res), 1);
	if (res.failure)
		fail_msg("%s failed: %s", vss_writer_event_name(ev), res.message ? res.message : "");
	assert_true(res.has_state);
	assert_int_equal(res.state, state_after);
	assert_int_equal(res.freeze_timeout_ms, child.freeze_timeout_ms ? child.freeze_timeout_ms :
						 VSS__DEFAULT_FREEZE_TIMEOUT_MS);
	vss__event_result_clear(&res);
}

static void test_writer_live__every_event(void **state)
{
	struct fixture f;
	struct vss__event_args a;
	struct vss__event_result res;
	struct vss_guid set;
	struct vss_bcd *bcd;
	struct vss_wmd *wmd = NULL;
	char *bcd_xml = NULL, set_text[VSS_GUID_STRING_MAX], *log, want[2048];
	size_t bcd_len = 0;
	const char *vols[3] = { NULL, "/nonexistent-vss-volume", NULL };

	(void)state;
	start_writer(&f);
	vols[0] = f.dir;
	vss_guid_generate(&set);
	bcd = vss_bcd_new(&set);
	assert_non_null(bcd);
	assert_int_equal(vss_bcd_save(bcd, &bcd_xml, &bcd_len), 0);

	/* Identify: the metadata, with the library's identity in it. */
	args_init(&a, VSS_EVENT_IDENTIFY, &set, vols);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, 0);
	assert_true(res.has_state);
	assert_int_equal(res.state, VSS_WS_STABLE);
	assert_non_null(res.body);
	assert_int_equal(vss_wmd_load(res.body, res.body_len, "reply", &wmd), 0);
	assert_true(vss_guid_equal(vss_wmd_get_writer_id(wmd), &class_id));
	assert_true(vss_guid_equal(vss_wmd_get_instance_id(wmd), &f.ws[0]->instance_id));
	assert_string_equal(vss_wmd_get_friendly_name(wmd), "unit test writer");
	assert_string_equal(vss_wmd_get_instance_name(wmd), "first");
	assert_int_equal(vss_wmd_component_count(wmd), 1);
	vss_wmd_unref(wmd);
	vss__event_result_clear(&res);

	expect_ok(f.ws[0], VSS_EVENT_PREPARE_BACKUP, &set, vols, bcd_xml, bcd_len, VSS_WS_STABLE);
	expect_ok(f.ws[0], VSS_EVENT_PREPARE_SNAPSHOT, &set, vols, NULL, 0,
		  VSS_WS_WAITING_FOR_FREEZE);
	expect_ok(f.ws[0], VSS_EVENT_FREEZE, &set, vols, NULL, 0, VSS_WS_WAITING_FOR_THAW);
	expect_ok(f.ws[0], VSS_EVENT_THAW, &set, vols, NULL, 0, VSS_WS_WAITING_FOR_POST_SNAPSHOT);
	expect_ok(f.ws[0], VSS_EVENT_POST_SNAPSHOT, &set, vols, NULL, 0,
		  VSS_WS_WAITING_FOR_BACKUP_COMPLETE);
	expect_ok(f.ws[0], VSS_EVENT_BACKUP_COMPLETE, &set, vols, bcd_xml, bcd_len, VSS_WS_STABLE);
	expect_ok(f.ws[0], VSS_EVENT_BACKUP_SHUTDOWN, &set, vols, NULL, 0, VSS_WS_STABLE);
	expect_ok(f.ws[0], VSS_EVENT_PRE_RESTORE, &set, vols, bcd_xml, bcd_len, VSS_WS_STABLE);
	expect_ok(f.ws[0], VSS_EVENT_POST_RESTORE, &set, vols, bcd_xml, bcd_len, VSS_WS_STABLE);
	expect_ok(f.ws[0], VSS_EVENT_ABORT, &set, vols, NULL, 0, VSS_WS_STABLE);

	/* Each handler saw the set, context, volumes and (kept) document. */
	vss_guid_format(&set, VSS_GUID_BRACES, set_text);
	fmt(want, sizeof(want),
	    "Identify {00000000-0000-0000-0000-000000000000} 0x00000000 0 - out\n"
	    "PrepareForBackup %1$s 0x00000009 2 bcd in\n"
	    "PrepareForSnapshot %1$s 0x00000009 2 bcd in\n"
	    "Freeze %1$s 0x00000009 2 bcd in\n"
	    "Thaw %1$s 0x00000009 2 bcd in\n"
	    "PostSnapshot %1$s 0x00000009 2 bcd in\n"
	    "BackupComplete %1$s 0x00000009 2 bcd in\n"
	    "BackupShutdown %1$s 0x00000009 2 bcd in\n"
	    "PreRestore %1$s 0x00000009 2 bcd in\n"
	    "PostRestore %1$s 0x00000009 2 bcd in\n"
	    "Abort %1$s 0x00000009 2 bcd in\n", set_text);
	log = read_log(&f);
	assert_string_equal(log, want);
	free(log);

	/* Status runs nothing. */
	args_init(&a, VSS__WP_EVENT_STATUS, &set, vols);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, 0);
	assert_int_equal(res.state, VSS_WS_STABLE);
	vss__event_result_clear(&res);
	log = read_log(&f);
	assert_string_equal(log, want);
	free(log);

	free(bcd_xml);
	vss_bcd_unref(bcd);
	stop_writer(&f);
}

static void expect_failure(struct fixture *f, enum vss_writer_event ev, const struct vss_guid *set,
			   int failure, const char *message, enum vss_writer_state state)
{
	struct vss__event_args a;
	struct vss__event_result res;

	args_init(&a, ev, set, NULL);
	assert_int_equal(send_event(f->ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, failure);
	assert_non_null(res.message);
	if (!strstr(res.message, message))
		fail_msg("%s: message '%s' does not say '%s'", vss_writer_event_name(ev),
			 res.message, message);
	assert_true(res.has_state);
	assert_int_equal(res.state, state);
	assert_int_equal(res.last_failure, failure);
	assert_int_equal(res.last_failed_event, ev);
	assert_non_null(res.last_message);
	vss__event_result_clear(&res);
}

static void test_writer_live__handler_failures(void **state)
{
	struct fixture f;
	struct vss__event_args a;
	struct vss__event_result res;
	struct vss_guid set;

	(void)state;
	child.fail[VSS_EVENT_PREPARE_BACKUP] = -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT;
	child.fail[VSS_EVENT_PREPARE_SNAPSHOT] = -VSS_E_WRITERERROR_RETRYABLE;
	child.fail[VSS_EVENT_FREEZE] = -EIO;
	child.fail[VSS_EVENT_POST_SNAPSHOT] = -VSS_E_WRITERERROR_OUTOFRESOURCES;
	child.fail[VSS_EVENT_IDENTIFY] = -VSS_E_WRITERERROR_NONRETRYABLE;
	start_writer(&f);
	vss_guid_generate(&set);

	expect_failure(&f, VSS_EVENT_PREPARE_BACKUP, &set, -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT,
		       "PrepareForBackup failed on purpose", VSS_WS_FAILED_AT_PREPARE_BACKUP);
	expect_failure(&f, VSS_EVENT_PREPARE_SNAPSHOT, &set, -VSS_E_WRITERERROR_RETRYABLE,
		       "PrepareForSnapshot failed on purpose", VSS_WS_FAILED_AT_PREPARE_SNAPSHOT);
	/* Not a writer failure code: NONRETRYABLE, saying what it was. */
	expect_failure(&f, VSS_EVENT_FREEZE, &set, -VSS_E_WRITERERROR_NONRETRYABLE,
		       "the Freeze handler failed", VSS_WS_FAILED_AT_FREEZE);
	expect_failure(&f, VSS_EVENT_POST_SNAPSHOT, &set, -VSS_E_WRITERERROR_OUTOFRESOURCES,
		       "PostSnapshot failed on purpose", VSS_WS_FAILED_AT_POST_SNAPSHOT);
	expect_failure(&f, VSS_EVENT_IDENTIFY, &set, -VSS_E_WRITERERROR_NONRETRYABLE,
		       "Identify failed on purpose", VSS_WS_FAILED_AT_IDENTIFY);

	/* A failed Freeze holds nothing: Thaw is refused and runs no handler. */
	args_init(&a, VSS_EVENT_THAW, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, -VSS_E_WRITERERROR_NONRETRYABLE);
	assert_non_null(strstr(res.message, "nothing is frozen"));
	vss__event_result_clear(&res);

	/* Abort when nothing is frozen still reaches the writer. */
	args_init(&a, VSS_EVENT_ABORT, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, 0);
	vss__event_result_clear(&res);

	wait_log(&f, "PrepareForBackup PrepareForSnapshot Freeze PostSnapshot Identify Abort", 0);
	stop_writer(&f);
}

static void test_writer_live__freeze_timeout(void **state)
{
	struct fixture f;
	struct vss__event_args a;
	struct vss__event_result res;
	struct vss_guid set;
	char events[256];

	(void)state;
	child.freeze_timeout_ms = 300;
	start_writer(&f);
	vss_guid_generate(&set);
	expect_ok(f.ws[0], VSS_EVENT_PREPARE_SNAPSHOT, &set, NULL, NULL, 0,
		  VSS_WS_WAITING_FOR_FREEZE);
	expect_ok(f.ws[0], VSS_EVENT_FREEZE, &set, NULL, NULL, 0, VSS_WS_WAITING_FOR_THAW);
	/* The writer releases the freeze itself: on_abort, once. */
	wait_log(&f, "PrepareForSnapshot Freeze Abort", 2000);
	poll(NULL, 0, 400);
	log_events(&f, events, sizeof(events));
	assert_string_equal(events, "PrepareForSnapshot Freeze Abort");

	/* The late Thaw: TIMEOUT, and no on_thaw. */
	args_init(&a, VSS_EVENT_THAW, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, -VSS_E_WRITERERROR_TIMEOUT);
	assert_non_null(res.message);
	assert_non_null(strstr(res.message, "freeze timeout of 300 ms"));
	assert_int_equal(res.state, VSS_WS_FAILED_AT_FREEZE);
	assert_int_equal(res.last_failure, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(res.last_failed_event, VSS_EVENT_FREEZE);
	vss__event_result_clear(&res);

	/* The requester's Abort after it: that freeze is not released twice. */
	args_init(&a, VSS_EVENT_ABORT, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, 0);
	vss__event_result_clear(&res);
	log_events(&f, events, sizeof(events));
	assert_string_equal(events, "PrepareForSnapshot Freeze Abort");

	/* A Freeze that comes in time still works, and a second Freeze on top
	 * of it is refused without touching the first. */
	expect_ok(f.ws[0], VSS_EVENT_PREPARE_SNAPSHOT, &set, NULL, NULL, 0,
		  VSS_WS_WAITING_FOR_FREEZE);
	expect_ok(f.ws[0], VSS_EVENT_FREEZE, &set, NULL, NULL, 0, VSS_WS_WAITING_FOR_THAW);
	args_init(&a, VSS_EVENT_FREEZE, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, -VSS_E_WRITERERROR_NONRETRYABLE);
	assert_non_null(strstr(res.message, "frozen already"));
	vss__event_result_clear(&res);
	expect_ok(f.ws[0], VSS_EVENT_THAW, &set, NULL, NULL, 0, VSS_WS_WAITING_FOR_POST_SNAPSHOT);
	poll(NULL, 0, 400);
	log_events(&f, events, sizeof(events));
	assert_string_equal(events,
			    "PrepareForSnapshot Freeze Abort PrepareForSnapshot Freeze Thaw");
	stop_writer(&f);
}

static void test_writer_live__requester_leaves_while_frozen(void **state)
{
	struct fixture f;
	struct vss__event_args a;
	struct vss__event_result res;
	struct vss_guid set;
	char events[256];

	(void)state;
	start_writer(&f);
	vss_guid_generate(&set);
	expect_ok(f.ws[0], VSS_EVENT_FREEZE, &set, NULL, NULL, 0, VSS_WS_WAITING_FOR_THAW);
	/* As after a late event, or when the requester dies. */
	f.ws[0]->ops->cancel(f.ws[0]);
	wait_log(&f, "Freeze Abort", 2000);

	/* The next event connects again; the writer is stable, once aborted. */
	args_init(&a, VSS_EVENT_IDENTIFY, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, 0);
	assert_int_equal(res.state, VSS_WS_STABLE);
	vss__event_result_clear(&res);
	/* The requester's Abort for that freeze: on_abort ran already. */
	args_init(&a, VSS_EVENT_ABORT, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, 0);
	vss__event_result_clear(&res);
	poll(NULL, 0, 200);
	log_events(&f, events, sizeof(events));
	assert_string_equal(events, "Freeze Abort Identify");
	/* Another Abort is a new one (VSS repeats Abort): it runs. */
	args_init(&a, VSS_EVENT_ABORT, &set, NULL);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, 0);
	vss__event_result_clear(&res);
	wait_log(&f, "Freeze Abort Identify Abort", 2000);

	/* The whole requester going away (close) releases a freeze too. */
	expect_ok(f.ws[0], VSS_EVENT_FREEZE, &set, NULL, NULL, 0, VSS_WS_WAITING_FOR_THAW);
	vss__writers_free(f.ws, f.n);
	f.ws = NULL;
	f.n = 0;
	wait_log(&f, "Freeze Abort Identify Abort Freeze Abort", 2000);
	stop_writer(&f);
}

/* Raw bytes to the writer: it closes the connection, nothing runs. */
static void expect_dropped(const struct fixture *f, const char *data, size_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[256];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	assert_true(fd >= 0);
	assert_true(strlen(f->ws[0]->path) < sizeof(addr.sun_path));
	memcpy(addr.sun_path, f->ws[0]->path, strlen(f->ws[0]->path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	for (size_t off = 0; off < len;) {
		n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;   /* dropped while we were still sending */
		off += (size_t)n;
	}
	{
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 3000), 1);
	}
	n = read(fd, buf, sizeof(buf));
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	close(fd);
}

static void test_writer_live__writer_drops_bad_requests(void **state)
{
	struct fixture f;
	struct vss__event_args a;
	struct vss__event_result res;
	struct vss_guid set;
	char *big;
	char events[256];

	(void)state;
	start_writer(&f);
	expect_dropped(&f, "event Freeze\n\n", 14);
	expect_dropped(&f, "context=1\n\n", 11);      /* no event */
	expect_dropped(&f, "event=Freeze\nlength=999999999999\n\n", 34);
	big = malloc(VSS__WP_HEADER_MAX + 16);
	assert_non_null(big);
	memset(big, 'x', VSS__WP_HEADER_MAX + 16);
	memcpy(big, "event=", 6);
	expect_dropped(&f, big, VSS__WP_HEADER_MAX + 16);
	free(big);
	log_events(&f, events, sizeof(events));
	assert_string_equal(events, "");

	/* A bad value in a good message fails the event, and says why. */
	vss_guid_generate(&set);
	args_init(&a, VSS_EVENT_PREPARE_BACKUP, &set, NULL);
	a.bcd_xml = "<not-a-bcd/>";
	a.bcd_len = strlen(a.bcd_xml);
	assert_int_equal(send_event(f.ws[0], &a, 3000, &res), 1);
	assert_int_equal(res.failure, -VSS_E_WRITERERROR_NONRETRYABLE);
	assert_non_null(strstr(res.message, "backup components document"));
	vss__event_result_clear(&res);
	log_events(&f, events, sizeof(events));
	assert_string_equal(events, "");
	stop_writer(&f);
}

/* Not root: refused, nothing runs.  Needs root to become somebody else. */
static void test_writer_live__refuses_other_users(void **state)
{
	struct fixture f;
	char events[256];
	pid_t pid;
	int status = -1;

	(void)state;
	if (geteuid() != 0) {
		printf("# needs root to connect as another user\n");
		skip();
	}
	start_writer(&f);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vss__writer **ws = NULL;
		struct vss__event_args a = { .event = VSS_EVENT_IDENTIFY };
		struct vss__event_result res;
		size_t n = 0;
		int rc;

		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		if (vss__live_writers_connect(f.ctx, 2000, &ws, &n) < 0 || n != 1)
			_exit(11);
		rc = send_event(ws[0], &a, 3000, &res);
		if (rc != 1)
			_exit(12);
		if (res.failure != -EPERM || !res.message ||
		    strcmp(res.message, "only root may drive writers") != 0)
			_exit(13);
		/* Not removed as stale: nobody may not, and it is not stale. */
		vss__event_result_clear(&res);
		vss__writers_free(ws, n);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	log_events(&f, events, sizeof(events));
	assert_string_equal(events, "");
	/* Root is still served. */
	expect_ok(f.ws[0], VSS_EVENT_PREPARE_BACKUP, &class_id, NULL, NULL, 0, VSS_WS_STABLE);
	wait_log(&f, "PrepareForBackup", 0);
	stop_writer(&f);
}

/* A socket nobody listens on is a writer that died: removed, not listed. */
static void test_writer_live__stale_socket_removed(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct vss_context *ctx = NULL;
	struct vss__writer **ws = NULL;
	char dir[PATH_MAX] = "/tmp/vss-test-writer.XXXXXX", path[PATH_MAX + 64];
	size_t n = 0;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	fmt(running_dir, sizeof(running_dir), "%s", dir);
	fmt(path, sizeof(path), "%s/run", dir);
	setenv("VSS_RUNDIR", path, 1);
	fmt(path, sizeof(path), "%s/run/writers", dir);
	assert_int_equal(vss__mkdir_p(path, 0755), 0);
	fmt(path, sizeof(path), "%s/run/writers/0b7d3a1e-59c4-4d2a-a6e1-7f00c0ffee01.sock", dir);
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);   /* bound, never listened: connect is refused */
	assert_int_equal(vss_context_new(&ctx), 0);
	assert_int_equal(vss__live_writers_connect(ctx, 1000, &ws, &n), 0);
	assert_int_equal(n, 0);
	if (geteuid() == 0)
		assert_int_equal(access(path, F_OK), -1);
	vss__writers_free(ws, n);
	vss_context_unref(ctx);
	assert_int_equal(run(NULL, 0, "rm -rf %s", dir), 0);
	running_dir[0] = '\0';
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_live__encode_decode),
		cmocka_unit_test(test_writer_live__parser_incremental),
		cmocka_unit_test(test_writer_live__parser_rejects),
		cmocka_unit_test_teardown(test_writer_live__every_event, teardown_writer),
		cmocka_unit_test_teardown(test_writer_live__handler_failures, teardown_writer),
		cmocka_unit_test_teardown(test_writer_live__freeze_timeout, teardown_writer),
		cmocka_unit_test_teardown(test_writer_live__requester_leaves_while_frozen, teardown_writer),
		cmocka_unit_test_teardown(test_writer_live__writer_drops_bad_requests, teardown_writer),
		cmocka_unit_test_teardown(test_writer_live__refuses_other_users, teardown_writer),
		cmocka_unit_test_teardown(test_writer_live__stale_socket_removed, teardown_writer),
	};

	/* A writer that left must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
