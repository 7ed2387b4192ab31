/*
 * The fan-out of writer events (vss__writers_send) with real express
 * writers: registration files and hook scripts in a private directory,
 * every hook invocation appended to one log so it can be counted.
 *
 * What is proved here is containment: writers run in parallel (a slow one
 * costs its own time, not a sum), a timeout fails only the late writer and
 * leaves none of its processes behind, Thaw reaches exactly the writers
 * that acknowledged Freeze and only once, Abort reaches every prepared or
 * frozen writer once (a writer that timed out in Freeze included), and a
 * repeated Thaw or Abort fan-out sends nothing.  How hook outcomes map to
 * failures is test-writer-express.c's business.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "helpers.h"
#include "vss-private.h"
#include "writer-private.h"
#include "util/file.h"
#include "util/banned.h"

static struct {
	char dir[64];
	char writers[128];
	struct vss_context *ctx;
	struct vss__writer **ws;
	size_t n;
} T;

static int setup(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	if (private_roots(T.dir, sizeof(T.dir), "wevents", T.writers, sizeof(T.writers)) < 0)
		return -1;
	return vss_context_new(&T.ctx);
}

static int teardown(void **state)
{
	(void)state;
	/* Closing the writers releases any freeze hook still holding. */
	vss__writers_free(T.ws, T.n);
	T.ws = NULL;
	T.n = 0;
	T.ctx = vss_context_unref(T.ctx);
	return remove_tree(T.dir);
}

/* ---- helpers --------------------------------------------------------------- */

/*
 * A hook script $DIR/NAME.sh.  Every hook first logs "<writer> <event>" to
 * $DIR/log (small O_APPEND writes: whole lines even when hooks run at
 * once), then runs body.
 */
static void script(const char *name, const char *body)
{
	char path[160], text[4096];

	fmt(path, sizeof(path), "%s/%s.sh", T.dir, name);
	fmt(text, sizeof(text),
	    "D='%s'\n"
	    "echo \"$VSS_WRITER_NAME $VSS_EVENT\" >> \"$D/log\"\n"
	    "%s\n", T.dir, body);
	put(path, text, 0755);
}

/* command="exec /bin/sh $DIR/NAME.sh": the script leads the process group. */
static const char *cmd(const char *name)
{
	static char buf[16][192];
	static int k;

	k = (k + 1) % 16;
	fmt(buf[k], sizeof(buf[k]), "exec /bin/sh %s/%s.sh", T.dir, name);
	return buf[k];
}

static const char *hook(const char *event, const char *command, const char *extra)
{
	static char buf[16][512];
	static int k;

	k = (k + 1) % 16;
	fmt(buf[k], sizeof(buf[k]), "  <HOOK event=\"%s\" command=\"%s\"%s/>\n", event, command,
	    extra ? extra : "");
	return buf[k];
}

/* writers.d/<file>.xml for writer name with class {...-<index>}. */
static void reg(const char *file, const char *name, unsigned int index, const char *attrs,
		const char *hooks)
{
	char path[192], text[8192];

	fmt(path, sizeof(path), "%s/%s.xml", T.writers, file);
	fmt(text, sizeof(text),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" version=\"1\"%s>\n"
	    "%s"
	    "  <WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" version=\"1.2\">\n"
	    "    <IDENTIFICATION writerId=\"5e0e7e57-0000-4000-8000-%012x\" friendlyName=\"%s\"\n"
	    "        usage=\"USER_DATA\" dataSource=\"OTHER\"/>\n"
	    "  </WRITER_METADATA>\n"
	    "</EXPRESS_WRITER>\n", attrs ? attrs : "", hooks ? hooks : "", index, name);
	put(path, text, 0644);
}

static void load(size_t want)
{
	int rc = vss__express_writers_load(T.ctx, &T.ws, &T.n);

	if (rc < 0)
		fail_msg("load: %s", vss_error_last()->message);
	assert_int_equal(T.n, want);
}

/* The loaded writer called name. */
static struct vss__writer *writer(const char *name)
{
	for (size_t i = 0; i < T.n; i++)
		if (T.ws[i]->name && strcmp(T.ws[i]->name, name) == 0)
			return T.ws[i];
	fail_msg("no writer '%s' was loaded", name);
	return NULL;
}

static const char *const volumes[] = { "/mnt/one", NULL };

static size_t send_event(enum vss_writer_event ev)
{
	struct vss__event_args a;

	memset(&a, 0, sizeof(a));
	a.event = ev;
	assert_int_equal(vss_guid_parse("{0c0ffee0-1234-4567-89ab-cdef01234567}", &a.set_id), 0);
	a.context = 0x9;
	a.backup_type = VSS_BT_FULL;
	a.volumes = volumes;
	return vss__writers_send(T.ws, T.n, &a);
}

static uint64_t now_ms(void)
{
	return vss__now_monotonic_ns() / 1000000u;
}

/* How many lines of $DIR/name are exactly line. */
static int count_lines(const char *name, const char *line)
{
	char path[160], buf[512];
	int n = 0;
	FILE *f;

	fmt(path, sizeof(path), "%s/%s", T.dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, line) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* "<writer> <event>" was logged exactly want times. */
static void expect_calls(const char *writer_name, const char *event, int want)
{
	char line[128];
	int got;

	fmt(line, sizeof(line), "%s %s", writer_name, event);
	got = count_lines("log", line);
	if (got != want)
		fail_msg("'%s' logged %d times, expected %d", line, got, want);
}

static size_t log_lines(void)
{
	char path[160], buf[512];
	size_t n = 0;
	FILE *f;

	fmt(path, sizeof(path), "%s/log", T.dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f))
		n++;
	fclose(f);
	return n;
}

static long number_in(const char *name)
{
	char path[160], *text = NULL;
	size_t len;
	long v;

	assert_true(wait_file_in(T.dir, name, 3000));
	fmt(path, sizeof(path), "%s/%s", T.dir, name);
	assert_int_equal(file_read_all(path, &text, &len), 0);
	v = strtol(text, NULL, 10);
	free(text);
	assert_true(v > 1);
	return v;
}

/* No process is left in process group pgid (zombies waiting for init
 * to reap them run nothing and count as gone). */
static bool group_gone(pid_t pgid)
{
	struct dirent *e;
	bool gone = true;
	DIR *d;

	if (kill(-pgid, 0) < 0 && errno == ESRCH)
		return true;
	d = opendir("/proc");
	assert_non_null(d);
	while (gone && (e = readdir(d))) {
		char path[300], buf[512], st = 0, *p;
		int pg = 0;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fmt(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) &&
		    sscanf(p + 1, " %c %*d %d", &st, &pg) == 2 && pg == pgid && st != 'Z' &&
		    st != 'X')
			gone = false;
		fclose(f);
	}
	closedir(d);
	return gone;
}

static bool wait_group_gone(pid_t pgid, int ms)
{
	for (int i = 0; i < ms / 50; i++) {
		if (kill(-pgid, 0) < 0 && errno == ESRCH)
			return true;
		usleep(50000);
	}
	return group_gone(pgid);
}

/* If a test fails with a hook group still alive, do not leave it behind. */
static void cleanup_group(pid_t pgid)
{
	if (pgid > 1 && kill(-pgid, 0) == 0)
		kill(-pgid, SIGKILL);
}

/* A freeze hook that holds until its stdin closes, logging its release. */
static const char *const holding_freeze =
	"echo frozen\n"
	"cat > /dev/null\n"
	"echo \"$VSS_WRITER_NAME released\" >> \"$D/log\"\n"
	"exit 0";

/* ---- tests --------------------------------------------------------------- */

static void test_writer_events__parallel(void **state)
{
	static const char *const names[] = { "A", "B", "C", "D", "E", "F", "G", "H" };
	uint64_t t0, took;

	(void)state;
	script("slow", "sleep 1");
	for (unsigned int i = 0; i < 8; i++) {
		char file[16];

		fmt(file, sizeof(file), "%u-%s", i, names[i]);
		reg(file, names[i], i + 1, NULL, hook("PrepareForSnapshot", cmd("slow"), NULL));
	}
	load(8);
	t0 = now_ms();
	assert_int_equal(send_event(VSS_EVENT_PREPARE_SNAPSHOT), 0);
	took = now_ms() - t0;
	fprintf(stderr, "# 8 hooks of 1 s each took %llu ms\n", (unsigned long long)took);
	/* Each hook really ran its second... */
	assert_true(took >= 1000);
	/* ...at the same time as the others: about 1 s, far from 8. */
	assert_true(took < 4000);
	for (unsigned int i = 0; i < 8; i++) {
		assert_true(T.ws[i]->sent);
		assert_int_equal(T.ws[i]->result, 0);
		assert_int_equal(T.ws[i]->state, VSS_WS_WAITING_FOR_FREEZE);
		expect_calls(names[i], "PrepareForSnapshot", 1);
	}
}

static void test_writer_events__timeout_fails_only_the_late_writer(void **state)
{
	uint64_t t0, took;
	pid_t pgid;

	(void)state;
	script("ok", "exit 0");
	script("late",
	       /* The hook and a child of it, both in the hook's group. */
	       "cut -d' ' -f5 /proc/$$/stat > \"$D/late.pgid\"\n"
	       "sleep 60 & echo $! > \"$D/late.child\"\n"
	       "wait");
	reg("1-a", "A", 1, NULL, hook("PrepareForSnapshot", cmd("ok"), NULL));
	reg("2-late", "Late", 2, NULL,
	    hook("PrepareForSnapshot", cmd("late"), " timeout=\"0.5\""));
	reg("3-c", "C", 3, NULL, hook("PrepareForSnapshot", cmd("ok"), NULL));
	load(3);

	t0 = now_ms();
	assert_int_equal(send_event(VSS_EVENT_PREPARE_SNAPSHOT), 1);
	took = now_ms() - t0;
	pgid = (pid_t)number_in("late.pgid");
	/* The timeout, plus at most the SIGTERM grace. */
	assert_true(took >= 500);
	assert_true(took < 1500);

	assert_int_equal(writer("A")->result, 0);
	assert_int_equal(writer("A")->state, VSS_WS_WAITING_FOR_FREEZE);
	assert_int_equal(writer("A")->failure, 0);
	assert_int_equal(writer("C")->result, 0);
	assert_int_equal(writer("C")->state, VSS_WS_WAITING_FOR_FREEZE);
	assert_int_equal(writer("Late")->result, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(writer("Late")->failure, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(writer("Late")->failed_event, VSS_EVENT_PREPARE_SNAPSHOT);
	assert_int_equal(writer("Late")->state, VSS_WS_FAILED_AT_PREPARE_SNAPSHOT);

	/* Nothing of the late hook runs on: its child went with the group. */
	if (!wait_group_gone(pgid, 1000)) {
		cleanup_group(pgid);
		fail_msg("process group %d of the timed-out hook is still alive", (int)pgid);
	}
	expect_calls("A", "PrepareForSnapshot", 1);
	expect_calls("C", "PrepareForSnapshot", 1);
	expect_calls("Late", "PrepareForSnapshot", 1);
}

static void test_writer_events__thaw_only_to_frozen_exactly_once(void **state)
{
	char hooks[2048];
	size_t before;

	(void)state;
	script("hold", holding_freeze);
	script("flush", "exit 0");
	script("fail", "echo 'cannot lock' >&2; exit 1");
	script("log", "exit 0");
	/* Holds the application until Thaw. */
	fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("hold"), NULL),
	    hook("Thaw", cmd("log"), NULL));
	reg("1-hold", "Hold", 1, NULL, hooks);
	/* Flushes and is done: acknowledged by its exit. */
	fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("flush"), NULL),
	    hook("Thaw", cmd("log"), NULL));
	reg("2-flush", "Flush", 2, NULL, hooks);
	/* Fails Freeze: never acknowledged. */
	fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("fail"), NULL),
	    hook("Thaw", cmd("log"), NULL));
	reg("3-fail", "Fail", 3, NULL, hooks);
	/* Left out of the session: gets no Freeze, so no Thaw. */
	fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("hold"), NULL),
	    hook("Thaw", cmd("log"), NULL));
	reg("4-out", "Out", 4, NULL, hooks);
	load(4);
	writer("Out")->excluded = true;

	assert_int_equal(send_event(VSS_EVENT_FREEZE), 1);
	assert_true(writer("Hold")->frozen);
	assert_true(writer("Flush")->frozen);
	assert_false(writer("Fail")->frozen);
	assert_false(writer("Out")->sent);
	assert_false(writer("Out")->frozen);
	assert_int_equal(writer("Fail")->state, VSS_WS_FAILED_AT_FREEZE);
	expect_calls("Out", "Freeze", 0);

	assert_int_equal(send_event(VSS_EVENT_THAW), 0);
	assert_true(writer("Hold")->sent);
	assert_true(writer("Flush")->sent);
	assert_false(writer("Fail")->sent);
	assert_false(writer("Out")->sent);
	assert_false(writer("Hold")->frozen);
	assert_false(writer("Flush")->frozen);
	assert_int_equal(writer("Hold")->state, VSS_WS_WAITING_FOR_POST_SNAPSHOT);
	assert_int_equal(writer("Flush")->state, VSS_WS_WAITING_FOR_POST_SNAPSHOT);
	/* The failure of Freeze stays what the failed writer shows. */
	assert_int_equal(writer("Fail")->state, VSS_WS_FAILED_AT_FREEZE);
	expect_calls("Hold", "released", 1);
	expect_calls("Hold", "Thaw", 1);
	expect_calls("Flush", "Thaw", 1);
	expect_calls("Fail", "Thaw", 0);
	expect_calls("Out", "Thaw", 0);

	/* Thaw again (a second path of the requester that thaws "in case"):
	 * nobody is frozen any more, so nothing is sent. */
	before = log_lines();
	assert_int_equal(send_event(VSS_EVENT_THAW), 0);
	for (size_t i = 0; i < T.n; i++)
		assert_false(T.ws[i]->sent);
	assert_int_equal(log_lines(), before);
	expect_calls("Hold", "Thaw", 1);
	expect_calls("Flush", "Thaw", 1);
	assert_int_equal(writer("Hold")->state, VSS_WS_WAITING_FOR_POST_SNAPSHOT);
}

static void test_writer_events__abort_to_prepared_or_frozen_exactly_once(void **state)
{
	char hooks[2048];
	size_t before;

	(void)state;
	script("hold", holding_freeze);
	script("log", "exit 0");
	script("fail", "echo 'failure RETRYABLE busy'; exit 0");
	/* Prepared and frozen (holding). */
	fmt(hooks, sizeof(hooks), "%s%s%s", hook("PrepareForBackup", cmd("log"), NULL),
	    hook("Freeze", cmd("hold"), NULL), hook("Abort", cmd("log"), NULL));
	reg("1-frozen", "Frozen", 1, NULL, hooks);
	/* Prepared, then failed PrepareForSnapshot and was left out (what
	 * --ignore-writer-failures does): still owed an Abort. */
	fmt(hooks, sizeof(hooks), "%s%s%s", hook("PrepareForBackup", cmd("log"), NULL),
	    hook("PrepareForSnapshot", cmd("fail"), NULL), hook("Abort", cmd("log"), NULL));
	reg("2-failed", "Failed", 2, NULL, hooks);
	/* Prepared only. */
	fmt(hooks, sizeof(hooks), "%s%s", hook("PrepareForBackup", cmd("log"), NULL),
	    hook("Abort", cmd("log"), NULL));
	reg("3-prepared", "Prepared", 3, NULL, hooks);
	/* Never prepared: excluded from the start. */
	fmt(hooks, sizeof(hooks), "%s%s", hook("PrepareForBackup", cmd("log"), NULL),
	    hook("Abort", cmd("log"), NULL));
	reg("4-never", "Never", 4, NULL, hooks);
	load(4);
	writer("Never")->excluded = true;

	assert_int_equal(send_event(VSS_EVENT_PREPARE_BACKUP), 0);
	assert_true(writer("Frozen")->prepared);
	assert_true(writer("Failed")->prepared);
	assert_true(writer("Prepared")->prepared);
	assert_false(writer("Never")->prepared);
	assert_int_equal(send_event(VSS_EVENT_PREPARE_SNAPSHOT), 1);
	assert_int_equal(writer("Failed")->state, VSS_WS_FAILED_AT_PREPARE_SNAPSHOT);
	assert_int_equal(writer("Failed")->failure, -VSS_E_WRITERERROR_RETRYABLE);
	writer("Failed")->excluded = true;
	writer("Prepared")->excluded = true;
	assert_int_equal(send_event(VSS_EVENT_FREEZE), 0);
	assert_true(writer("Frozen")->frozen);
	assert_false(writer("Prepared")->frozen);

	assert_int_equal(send_event(VSS_EVENT_ABORT), 0);
	assert_true(writer("Frozen")->sent);
	assert_true(writer("Failed")->sent);
	assert_true(writer("Prepared")->sent);
	assert_false(writer("Never")->sent);
	for (size_t i = 0; i < T.n; i++) {
		assert_false(T.ws[i]->prepared);
		assert_false(T.ws[i]->frozen);
	}
	/* The held freeze was released first, then the Abort hook ran. */
	expect_calls("Frozen", "released", 1);
	expect_calls("Frozen", "Abort", 1);
	expect_calls("Failed", "Abort", 1);
	expect_calls("Prepared", "Abort", 1);
	expect_calls("Never", "Abort", 0);
	expect_calls("Frozen", "Thaw", 0);
	/* Abort brings a writer back to stable; a failure stays shown. */
	assert_int_equal(writer("Frozen")->state, VSS_WS_STABLE);
	assert_int_equal(writer("Prepared")->state, VSS_WS_STABLE);
	assert_int_equal(writer("Failed")->state, VSS_WS_FAILED_AT_PREPARE_SNAPSHOT);

	/* A second Abort (the failure path after an earlier Abort): nothing. */
	before = log_lines();
	assert_int_equal(send_event(VSS_EVENT_ABORT), 0);
	for (size_t i = 0; i < T.n; i++)
		assert_false(T.ws[i]->sent);
	assert_int_equal(log_lines(), before);
	/* Nor does a Thaw after the Abort reach anyone. */
	assert_int_equal(send_event(VSS_EVENT_THAW), 0);
	for (size_t i = 0; i < T.n; i++)
		assert_false(T.ws[i]->sent);
	assert_int_equal(log_lines(), before);
}

static void test_writer_events__timed_out_in_freeze_gets_abort(void **state)
{
	char hooks[2048];
	pid_t pgid;

	(void)state;
	script("hold", holding_freeze);
	script("log", "exit 0");
	/* Starts freezing and never says so: may be half frozen. */
	script("hang", "cut -d' ' -f5 /proc/$$/stat > \"$D/hang.pgid\"\n"
		       "trap '' TERM\n"
		       "sleep 60 & wait $!; sleep 60");
	fmt(hooks, sizeof(hooks), "%s%s%s%s", hook("PrepareForBackup", cmd("log"), NULL),
	    hook("Freeze", cmd("hold"), NULL), hook("Thaw", cmd("log"), NULL),
	    hook("Abort", cmd("log"), NULL));
	reg("1-good", "Good", 1, " freezeTimeout=\"10\"", hooks);
	fmt(hooks, sizeof(hooks), "%s%s%s%s", hook("PrepareForBackup", cmd("log"), NULL),
	    hook("Freeze", cmd("hang"), NULL), hook("Thaw", cmd("log"), NULL),
	    hook("Abort", cmd("log"), NULL));
	reg("2-hung", "Hung", 2, " freezeTimeout=\"0.5\"", hooks);
	load(2);
	assert_int_equal(writer("Hung")->freeze_timeout_ms, 500);

	assert_int_equal(send_event(VSS_EVENT_PREPARE_BACKUP), 0);
	{
		uint64_t t0 = now_ms(), took;

		assert_int_equal(send_event(VSS_EVENT_FREEZE), 1);
		took = now_ms() - t0;
		/* Its own freeze timeout, plus the SIGTERM grace before SIGKILL. */
		assert_true(took >= 500);
		assert_true(took < 1500);
	}
	pgid = (pid_t)number_in("hang.pgid");
	assert_true(writer("Good")->frozen);
	assert_false(writer("Hung")->frozen);
	assert_int_equal(writer("Hung")->state, VSS_WS_FAILED_AT_FREEZE);
	assert_int_equal(writer("Hung")->failure, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(writer("Hung")->failed_event, VSS_EVENT_FREEZE);
	if (!wait_group_gone(pgid, 1000)) {
		cleanup_group(pgid);
		fail_msg("process group %d of the hung freeze hook is still alive", (int)pgid);
	}

	/* It never acknowledged Freeze: a Thaw fan-out passes it by... */
	assert_int_equal(send_event(VSS_EVENT_THAW), 0);
	assert_true(writer("Good")->sent);
	assert_false(writer("Hung")->sent);
	expect_calls("Good", "Thaw", 1);
	expect_calls("Hung", "Thaw", 0);

	/* ...but the failed set is aborted, and Abort reaches it once. */
	assert_int_equal(send_event(VSS_EVENT_ABORT), 0);
	assert_true(writer("Hung")->sent);
	assert_true(writer("Good")->sent);
	expect_calls("Hung", "Abort", 1);
	expect_calls("Good", "Abort", 1);
	assert_int_equal(writer("Hung")->state, VSS_WS_FAILED_AT_FREEZE);
	assert_int_equal(send_event(VSS_EVENT_ABORT), 0);
	expect_calls("Hung", "Abort", 1);
	expect_calls("Good", "Abort", 1);
}

static void test_writer_events__freeze_timeout_is_per_writer(void **state)
{
	char hooks[2048];
	uint64_t t0, took;

	(void)state;
	/* Two writers hang in Freeze, with different freeze timeouts; one holds. */
	script("hang", "exec sleep 60");
	script("hold", holding_freeze);
	fmt(hooks, sizeof(hooks), "%s", hook("Freeze", cmd("hang"), NULL));
	reg("1-short", "Short", 1, " freezeTimeout=\"0.3\"", hooks);
	reg("2-long", "Long", 2, " freezeTimeout=\"1.2\"", hooks);
	fmt(hooks, sizeof(hooks), "%s", hook("Freeze", cmd("hold"), NULL));
	reg("3-hold", "Hold", 3, " freezeTimeout=\"10\"", hooks);
	load(3);

	t0 = now_ms();
	assert_int_equal(send_event(VSS_EVENT_FREEZE), 2);
	took = now_ms() - t0;
	/* The longest of them, not their sum, and not the default 60 s. */
	assert_true(took >= 1200);
	assert_true(took < 2500);
	assert_int_equal(writer("Short")->failure, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(writer("Long")->failure, -VSS_E_WRITERERROR_TIMEOUT);
	assert_int_equal(writer("Hold")->result, 0);
	assert_true(writer("Hold")->frozen);
	assert_int_equal(send_event(VSS_EVENT_THAW), 0);
	expect_calls("Hold", "released", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writer_events__parallel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_events__timeout_fails_only_the_late_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_events__thaw_only_to_frozen_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_events__abort_to_prepared_or_frozen_exactly_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_events__timed_out_in_freeze_gets_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_events__freeze_timeout_is_per_writer, setup, teardown),
	};

	/* Hooks are our children: their exit must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
