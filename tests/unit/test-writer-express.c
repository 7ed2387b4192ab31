/*
 * Express writers with real processes: registration files and hook scripts
 * in a private directory, events driven through the ops (start, poll,
 * advance, cancel, as the fan-out does) and through vss__writers_send():
 * the environment and surroundings of a hook, every failure mapping,
 * timeouts that kill the hook's process group, freeze hooks that hold until
 * Thaw or Abort closes their stdin (or the writer is closed), and the
 * rejection of bad registration files with file, line and the thing named.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "helpers.h"
#include "vss-private.h"
#include "writer-private.h"
#include "util/file.h"
#include "util/banned.h"

#define CLASS1 "4a1e2f3c-1111-4d5e-8f90-0a1b2c3d4e01"
#define CLASS2 "4a1e2f3c-2222-4d5e-8f90-0a1b2c3d4e02"
#define CLASS3 "4a1e2f3c-3333-4d5e-8f90-0a1b2c3d4e03"
#define INST1  "9b8c7d6e-aaaa-4f00-8123-456789abcdef"

static struct {
	char dir[64];
	char writers[128];
	struct vss_context *ctx;
} T;

static int setup(void **state)
{
	(void)state;
	if (private_roots(T.dir, sizeof(T.dir), "wexpress", T.writers, sizeof(T.writers)) < 0)
		return -1;
	return vss_context_new(&T.ctx);
}

static int teardown(void **state)
{
	(void)state;
	T.ctx = vss_context_unref(T.ctx);
	return remove_tree(T.dir);
}

/* ---- helpers --------------------------------------------------------------- */

/* A hook script $DIR/NAME.sh (sh, with $D set to the test directory). */
static void script(const char *name, const char *body)
{
	char path[160], text[4096];

	fmt(path, sizeof(path), "%s/%s.sh", T.dir, name);
	fmt(text, sizeof(text), "D='%s'\n%s\n", T.dir, body);
	put(path, text, 0755);
}

/* command="exec /bin/sh $DIR/NAME.sh": the hook is the group leader. */
static const char *cmd(const char *name)
{
	static char buf[8][192];
	static int k;

	k = (k + 1) % 8;
	fmt(buf[k], sizeof(buf[k]), "exec /bin/sh %s/%s.sh", T.dir, name);
	return buf[k];
}

static const char *wmd(const char *class_id, const char *name, const char *extra)
{
	static char buf[1024];

	fmt(buf, sizeof(buf),
	    "  <WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\" version=\"1.2\">\n"
	    "    <IDENTIFICATION writerId=\"%s\" %sfriendlyName=\"%s\" usage=\"USER_DATA\"\n"
	    "        dataSource=\"OTHER\"/>\n"
	    "  </WRITER_METADATA>\n", class_id, extra ? extra : "", name);
	return buf;
}

/* writers.d/FILE with root attributes attrs and hooks (XML text). */
static void reg(const char *file, const char *attrs, const char *hooks, const char *class_id,
		const char *name)
{
	char path[192], text[8192];

	fmt(path, sizeof(path), "%s/%s", T.writers, file);
	fmt(text, sizeof(text),
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" version=\"1\"%s>\n"
	    "%s%s</EXPRESS_WRITER>\n", attrs ? attrs : "", hooks ? hooks : "",
	    wmd(class_id, name, NULL));
	put(path, text, 0644);
}

static const char *hook(const char *event, const char *command, const char *extra)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	fmt(buf[k], sizeof(buf[k]), "  <HOOK event=\"%s\" command=\"%s\"%s/>\n", event, command,
	    extra ? extra : "");
	return buf[k];
}

static struct vss__writer *load_one(void)
{
	struct vss__writer **ws = NULL;
	struct vss__writer *w;
	size_t n = 0;
	int rc = vss__express_writers_load(T.ctx, &ws, &n);

	if (rc < 0)
		fail_msg("load: %s", vss_error_last()->message);
	assert_int_equal(n, 1);
	w = ws[0];
	free(ws);
	return w;
}

static const char *const volumes[] = { "/mnt/one", "/mnt/two words", NULL };

static struct vss__event_args args_for(enum vss_writer_event ev)
{
	struct vss__event_args a;

	memset(&a, 0, sizeof(a));
	a.event = ev;
	assert_int_equal(vss_guid_parse("{0c0ffee0-1234-4567-89ab-cdef01234567}", &a.set_id), 0);
	a.context = 0x9;
	a.backup_type = VSS_BT_FULL;
	a.volumes = volumes;
	return a;
}

static uint64_t now_ms(void)
{
	return vss__now_monotonic_ns() / 1000000u;
}

/*
 * Drive one event through the ops as the fan-out does, with a deadline:
 * returns 1 when it finished (res filled), 2 when it timed out (cancel()
 * was called; *cancel_ms is how long cancel took), or start()'s negative
 * code.
 */
static int drive_t(struct vss__writer *w, enum vss_writer_event ev, unsigned int timeout_ms,
		   struct vss__event_result *res, uint64_t *cancel_ms)
{
	struct vss__event_args a = args_for(ev);
	uint64_t deadline = now_ms() + timeout_ms;
	int fd = -1, rc;
	short events = 0;

	memset(res, 0, sizeof(*res));
	rc = w->ops->start(w, &a, &fd, &events, res);
	while (rc == 0) {
		struct pollfd p = { .fd = fd, .events = events };
		uint64_t now = now_ms();
		int r;

		assert_true(fd >= 0);
		if (now >= deadline) {
			uint64_t t0 = now_ms();

			w->ops->cancel(w);
			if (cancel_ms)
				*cancel_ms = now_ms() - t0;
			return 2;
		}
		r = poll(&p, 1, (int)(deadline - now));
		assert_true(r >= 0 || errno == EINTR);
		if (r > 0) {
			memset(res, 0, sizeof(*res));
			rc = w->ops->advance(w, p.revents, &fd, &events, res);
		}
	}
	return rc;
}

static int drive(struct vss__writer *w, enum vss_writer_event ev, struct vss__event_result *res)
{
	return drive_t(w, ev, 10000, res, NULL);
}

static void expect_ok(struct vss__writer *w, enum vss_writer_event ev)
{
	struct vss__event_result res;
	int rc = drive(w, ev, &res);

	if (rc != 1 || res.failure != 0)
		fail_msg("%s: rc %d failure %d (%s)", vss_writer_event_name(ev), rc, res.failure,
			 res.message ? res.message : "no message");
	assert_null(res.message);
	vss__event_result_clear(&res);
}

static void expect_failure(struct vss__writer *w, enum vss_writer_event ev, int failure,
			   const char *message)
{
	struct vss__event_result res;
	int rc = drive(w, ev, &res);

	assert_int_equal(rc, 1);
	if (res.failure != failure)
		fail_msg("%s: failure %d, expected %d (%s)", vss_writer_event_name(ev), res.failure,
			 failure, res.message ? res.message : "no message");
	if (message) {
		assert_non_null(res.message);
		assert_string_equal(res.message, message);
	} else {
		assert_null(res.message);
	}
	vss__event_result_clear(&res);
}

static char *slurp(const char *name)
{
	char path[160], *text = NULL;
	size_t len;

	fmt(path, sizeof(path), "%s/%s", T.dir, name);
	if (file_read_all(path, &text, &len) < 0)
		return NULL;
	while (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	return text;
}

static pid_t pid_in(const char *name)
{
	char *text;
	long v;

	assert_true(wait_file_in(T.dir, name, 3000));
	text = slurp(name);
	assert_non_null(text);
	v = strtol(text, NULL, 10);
	free(text);
	assert_true(v > 1);
	return (pid_t)v;
}

/* Not running: no such process, or a zombie some other parent will reap. */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	char *p;
	bool zombie = false;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	fmt(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		zombie = p[2] == 'Z' || p[2] == 'X';
	fclose(f);
	return zombie;
}

static bool wait_gone(pid_t pid, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (pid_gone(pid))
			return true;
		usleep(10000);
	}
	return pid_gone(pid);
}

/* A process the test knows of, killed if a test fails before it ends. */
static void cleanup_pid(pid_t pid)
{
	if (pid > 1 && !pid_gone(pid))
		kill(pid, SIGKILL);
}

/* ---- loading ----------------------------------------------------------------- */

static void test_writer_express__missing_directory_is_no_writers(void **state)
{
	struct vss__writer **ws = NULL;
	size_t n = 0;
	char cmdline[200];

	(void)state;
	fmt(cmdline, sizeof(cmdline), "rmdir '%s'", T.writers);
	assert_int_equal(run(NULL, 0, "%s", cmdline), 0);
	assert_int_equal(vss__express_writers_load(T.ctx, &ws, &n), 0);
	assert_int_equal(n, 0);
	assert_null(ws);
	assert_int_equal(mkdir(T.writers, 0755), 0);
	/* Empty but for files that are not *.xml, which are not looked at. */
	fmt(cmdline, sizeof(cmdline), "%s/notes.txt", T.writers);
	put(cmdline, "<not xml", 0644);
	fmt(cmdline, sizeof(cmdline), "%s/.hidden.xml", T.writers);
	put(cmdline, "<not xml", 0644);
	assert_int_equal(vss__express_writers_load(T.ctx, &ws, &n), 0);
	assert_int_equal(n, 0);
	free(ws);
}

static void test_writer_express__loads_fields_in_name_order(void **state)
{
	struct vss__writer **ws = NULL;
	struct vss_guid c1, c2, i1;
	char path[200], text[4096];
	size_t n = 0;

	(void)state;
	assert_int_equal(vss_guid_parse(CLASS1, &c1), 0);
	assert_int_equal(vss_guid_parse(CLASS2, &c2), 0);
	assert_int_equal(vss_guid_parse(INST1, &i1), 0);
	T.ctx->writer_freeze_timeout_ms = 42000;
	T.ctx->writer_event_timeout_ms = 77000;
	/* b: defaults from the context, no instance ID (the class ID serves). */
	reg("b-second.xml", NULL, hook("thaw", "true", " timeout=\"2.5\""), CLASS2, "Second");
	/* a: its own timeouts and instance ID. */
	fmt(path, sizeof(path), "%s/a-first.xml", T.writers);
	fmt(text, sizeof(text),
	    "<?xml version=\"1.0\"?>\n"
	    "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" version=\"1\"\n"
	    "    freezeTimeout=\"1.5\" eventTimeout=\"30\">\n"
	    "  <!-- a comment -->\n"
	    "%s%s%s"
	    "</EXPRESS_WRITER>\n",
	    hook("Freeze", "true", " timeout=\"9\""),
	    hook("PrepareForSnapshot", "true", " timeout=\"0.25\""),
	    wmd(CLASS1, "First &amp; one", "instanceId=\"" INST1 "\" "));
	put(path, text, 0644);
	fmt(path, sizeof(path), "%s/README", T.writers);
	put(path, "not a writer", 0644);
	fmt(path, sizeof(path), "%s/c.xml.disabled", T.writers);
	put(path, "not a writer either", 0644);

	assert_int_equal(vss__express_writers_load(T.ctx, &ws, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ws[0]->ops->kind, "express");
	assert_string_equal(ws[0]->name, "First & one");
	assert_true(vss_guid_equal(&ws[0]->class_id, &c1));
	assert_true(vss_guid_equal(&ws[0]->instance_id, &i1));
	assert_int_equal(ws[0]->freeze_timeout_ms, 1500);
	assert_int_equal(ws[0]->event_timeout_ms, 30000);
	assert_int_equal(ws[0]->state, VSS_WS_STABLE);
	assert_non_null(ws[0]->wmd);
	assert_true(vss_wmd_is_read_only(ws[0]->wmd));
	assert_non_null(strstr(ws[0]->path, "/writers.d/a-first.xml"));
	/* Freeze has the freeze timeout whatever its hook says. */
	assert_int_equal(vss__express_event_timeout(ws[0], VSS_EVENT_FREEZE), 0);
	assert_int_equal(vss__express_event_timeout(ws[0], VSS_EVENT_PREPARE_SNAPSHOT), 250);
	assert_int_equal(vss__express_event_timeout(ws[0], VSS_EVENT_THAW), 0);

	assert_string_equal(ws[1]->name, "Second");
	assert_true(vss_guid_equal(&ws[1]->class_id, &c2));
	assert_true(vss_guid_equal(&ws[1]->instance_id, &c2));
	assert_int_equal(ws[1]->freeze_timeout_ms, 42000);
	assert_int_equal(ws[1]->event_timeout_ms, 77000);
	assert_int_equal(vss__express_event_timeout(ws[1], VSS_EVENT_THAW), 2500);
	assert_int_equal(vss__express_event_timeout(ws[1], VSS_EVENT_ABORT), 0);

	/* Appends to what is there. */
	assert_int_equal(vss__express_writers_load(T.ctx, &ws, &n), -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_int_equal(n, 2);
	vss__writers_free(ws, n);
}

static void test_writer_express__duplicate_instance_names_both_files(void **state)
{
	struct vss__writer **ws = NULL;
	size_t n = 0;
	const char *msg;

	(void)state;
	reg("one.xml", NULL, NULL, CLASS1, "One");
	reg("two.xml", NULL, NULL, CLASS1, "Two");
	assert_int_equal(vss__express_writers_load(T.ctx, &ws, &n), -VSS_E_OBJECT_ALREADY_EXISTS);
	assert_int_equal(n, 0);
	msg = vss_error_last()->message;
	assert_non_null(strstr(msg, "/writers.d/one.xml"));
	assert_non_null(strstr(msg, "/writers.d/two.xml"));
	assert_non_null(strstr(msg, "{" CLASS1 "}"));
	free(ws);
}

struct bad {
	const char *what;
	const char *text;       /* the whole file; %s is the WMD */
	int code;
	int line;
	const char *needle;
};

#define HEAD "<?xml version=\"1.0\"?>\n"
#define ROOT "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" version=\"1\">\n"
#define END  "</EXPRESS_WRITER>\n"

static const struct bad bads[] = {
	{ "not XML", HEAD ROOT "  <HOOK event=\"Freeze\" command=\"x\">\n" END,
	  VSS_E_CORRUPT_XML_DOCUMENT, 4, "" },
	{ "wrong root", HEAD "<EXPRESS_WRITTER xmlns=\"x-schema:#VssLinuxExpressWriter\" "
	  "version=\"1\">\n%s</EXPRESS_WRITTER>\n", VSS_E_INVALID_XML_DOCUMENT, 2, "EXPRESS_WRITTER" },
	{ "no namespace", HEAD "<EXPRESS_WRITER version=\"1\">\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 2, "without namespace" },
	{ "no version", HEAD "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\">\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 2, "'version'" },
	{ "version 2", HEAD "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\"\n"
	  "   version=\"2\">\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 3, "'2'" },
	{ "unknown root attribute", HEAD "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" "
	  "version=\"1\" colour=\"red\">\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 2, "'colour'" },
	{ "bad freezeTimeout", HEAD "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" "
	  "version=\"1\" freezeTimeout=\"soon\">\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 2,
	  "'freezeTimeout': 'soon'" },
	{ "zero eventTimeout", HEAD "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" "
	  "version=\"1\" eventTimeout=\"0\">\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 2,
	  "'eventTimeout': '0'" },
	{ "huge freezeTimeout", HEAD "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" "
	  "version=\"1\" freezeTimeout=\"7200\">\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 2,
	  "'7200'" },
	{ "four decimals", HEAD "<EXPRESS_WRITER xmlns=\"x-schema:#VssLinuxExpressWriter\" "
	  "version=\"1\" freezeTimeout=\"1.0001\">\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 2,
	  "'1.0001'" },
	{ "unknown element", HEAD ROOT "\n  <HOOKS/>\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 4,
	  "<HOOKS>" },
	{ "text in the root", HEAD ROOT "  stray words\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 0,
	  "text" },
	{ "unknown HOOK attribute", HEAD ROOT "  <HOOK event=\"Freeze\" command=\"x\" user=\"me\"/>\n"
	  "%s" END, VSS_E_INVALID_XML_DOCUMENT, 3, "'user'" },
	{ "HOOK without event", HEAD ROOT "  <HOOK command=\"x\"/>\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 3, "'event'" },
	{ "HOOK without command", HEAD ROOT "\n\n  <HOOK event=\"Thaw\"/>\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 5, "'command'" },
	{ "HOOK with an empty command", HEAD ROOT "  <HOOK event=\"Thaw\" command=\"  \"/>\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 3, "empty attribute 'command'" },
	{ "unknown event", HEAD ROOT "  <HOOK event=\"Frieze\" command=\"x\"/>\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 3, "'Frieze' is not an event" },
	{ "Identify hook", HEAD ROOT "  <HOOK event=\"Identify\" command=\"x\"/>\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 3, "Identify has no hook" },
	{ "event twice", HEAD ROOT "  <HOOK event=\"Freeze\" command=\"x\"/>\n"
	  "  <HOOK event=\"freeze\" command=\"y\"/>\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 4,
	  "Freeze appears twice (first at line 3)" },
	{ "prestart not yes or no", HEAD ROOT "  <HOOK event=\"Freeze\" command=\"x\" prestart=\"true\"/>\n"
	  "%s" END, VSS_E_INVALID_XML_DOCUMENT, 3, "'prestart': 'true' is not yes or no" },
	{ "prestart on Thaw", HEAD ROOT "  <HOOK event=\"Thaw\" command=\"x\" prestart=\"yes\"/>\n"
	  "%s" END, VSS_E_INVALID_XML_DOCUMENT, 3, "Thaw has attribute 'prestart'" },
	{ "bad hook timeout", HEAD ROOT "  <HOOK event=\"Thaw\" command=\"x\" timeout=\"-1\"/>\n%s"
	  END, VSS_E_INVALID_XML_DOCUMENT, 3, "'timeout': '-1'" },
	{ "text in a HOOK", HEAD ROOT "  <HOOK event=\"Thaw\" command=\"x\">run me</HOOK>\n%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 3, "<HOOK> holds text" },
	{ "element in a HOOK", HEAD ROOT "  <HOOK event=\"Thaw\" command=\"x\">\n    <ARG/>\n"
	  "  </HOOK>\n%s" END, VSS_E_INVALID_XML_DOCUMENT, 4, "<ARG> in <HOOK>" },
	{ "no WRITER_METADATA", HEAD ROOT "  <HOOK event=\"Thaw\" command=\"x\"/>\n" END,
	  VSS_E_INVALID_XML_DOCUMENT, 2, "no <WRITER_METADATA" },
	{ "WRITER_METADATA twice", HEAD ROOT "%s%s" END, VSS_E_INVALID_XML_DOCUMENT, 7,
	  "<WRITER_METADATA> appears twice (first at line 3)" },
	{ "WRITER_METADATA in the wrong namespace", HEAD ROOT "  <WRITER_METADATA version=\"1.2\"/>\n"
	  END, VSS_E_INVALID_XML_DOCUMENT, 3, "<WRITER_METADATA>" },
	{ "a DOCTYPE", HEAD "<!DOCTYPE x [ <!ENTITY e \"e\"> ]>\n" ROOT "%s" END,
	  VSS_E_INVALID_XML_DOCUMENT, 2, "DOCTYPE" },
};

/* A WMD whose mistake is on a known line of the file. */
static const char bad_wmd[] =
	HEAD ROOT
	"  <HOOK event=\"Thaw\" command=\"x\"/>\n"                                /* 3 */
	"  <WRITER_METADATA xmlns=\"x-schema:#VssWriterMetadataInfo\"\n"          /* 4 */
	"      version=\"1.2\">\n"                                                 /* 5 */
	"    <IDENTIFICATION writerId=\"" CLASS1 "\" friendlyName=\"W\"\n"      /* 6 */
	"        usage=\"USER_DATA\"\n"                                            /* 7 */
	"        dataSource=\"OTHER\"/>\n"                                         /* 8 */
	"    <BACKUP_LOCATIONS>\n"                                                 /* 9 */
	"      <FILE_GROUP componentName=\"files\" selectable=\"maybe\">\n"       /* 10 */
	"        <FILE_LIST path=\"/srv\" filespec=\"*\"/>\n"
	"      </FILE_GROUP>\n"
	"    </BACKUP_LOCATIONS>\n"
	"  </WRITER_METADATA>\n"
	END;

static void check_bad(const char *what, const char *text, int code, int line, const char *needle)
{
	struct vss__writer **ws = NULL;
	char path[200], where[240];
	const struct vss_error *e;
	size_t n = 0;
	int rc;

	fmt(path, sizeof(path), "%s/bad.xml", T.writers);
	put(path, text, 0644);
	rc = vss__express_writers_load(T.ctx, &ws, &n);
	e = vss_error_last();
	if (rc != -code)
		fail_msg("%s: got %d (%s), expected %d", what, rc, e->message, -code);
	assert_int_equal(n, 0);
	if (line) {
		fmt(where, sizeof(where), "%s:%d:", path, line);
		if (!strstr(e->message, where))
			fail_msg("%s: '%s' does not say '%s'", what, e->message, where);
	} else if (!strstr(e->message, path)) {
		fail_msg("%s: '%s' does not name the file", what, e->message);
	}
	if (!strstr(e->message, needle))
		fail_msg("%s: '%s' does not say '%s'", what, e->message, needle);
	free(ws);
	unlink(path);
}

static void test_writer_express__bad_files_named_with_line(void **state)
{
	char text[4096], w1[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		const char *src = bads[i].text, *at;
		size_t len = 0;

		fmt(w1, sizeof(w1), "%s", wmd(CLASS1, "W", NULL));
		/* Each %s is the metadata document. */
		while ((at = strstr(src, "%s"))) {
			fmt(text + len, sizeof(text) - len, "%.*s%s", (int)(at - src), src, w1);
			len += strlen(text + len);
			src = at + 2;
		}
		fmt(text + len, sizeof(text) - len, "%s", src);
		check_bad(bads[i].what, text, bads[i].code, bads[i].line, bads[i].needle);
	}
	/* The metadata loader's messages point into the registration file. */
	check_bad("bad WMD value", bad_wmd, VSS_E_INVALID_XML_DOCUMENT, 10, "selectable");
	/* A good file beside a bad one: nothing is loaded. */
	reg("good.xml", NULL, NULL, CLASS2, "Good");
	check_bad("good and bad", HEAD ROOT END, VSS_E_INVALID_XML_DOCUMENT, 2,
		  "no <WRITER_METADATA");
}

/* ---- running hooks ----------------------------------------------------------- */

static void test_writer_express__identify_runs_nothing(void **state)
{
	struct vss__writer *w;
	struct vss__event_result res;
	int fd = -1;
	short events = 0;
	struct vss__event_args a = args_for(VSS_EVENT_IDENTIFY);

	(void)state;
	reg("w.xml", NULL, NULL, CLASS1, "W");
	w = load_one();
	memset(&res, 0, sizeof(res));
	assert_int_equal(w->ops->start(w, &a, &fd, &events, &res), 1);
	assert_int_equal(res.failure, 0);
	assert_null(res.body);
	/* Events without a hook succeed at once too. */
	for (int ev = VSS_EVENT_PREPARE_BACKUP; ev < VSS_EVENT_COUNT; ev++) {
		a = args_for((enum vss_writer_event)ev);
		assert_int_equal(w->ops->start(w, &a, &fd, &events, &res), 1);
		assert_int_equal(res.failure, 0);
	}
	vss__writer_free(w);
}

static void test_writer_express__hook_environment_and_surroundings(void **state)
{
	struct vss__writer *w;
	char *text, expect[512], hooks[1024], marker[160];
	int leak;

	(void)state;
	script("env", "env | grep -E '^VSS_(EVENT|WRITER|SNAPSHOT|CONTEXT|BACKUP|VOLUMES|FREEZE)' | sort > \"$D/env\"\n"
		      "printf '%s\\n' \"$VSS_VOLUMES\" > \"$D/volumes\"\n"
		      "read -r _ _ _ _ pgid _ < /proc/$$/stat\n"
		      "{ pwd; umask; [ \"$pgid\" = $$ ] && echo own-group;\n"
		      "  read x || echo stdin-eof; } > \"$D/misc\"");
	script("fds", "o=$(readlink /proc/$$/fd/1); e=$(readlink /proc/$$/fd/2)\n"
		      "printf '%s\\n%s\\n' \"$o\" \"$e\" > \"$D/fd1\"\n"
		      "exec ls /proc/self/fd > \"$D/fds\"");
	fmt(hooks, sizeof(hooks), "%s%s", hook("PrepareForBackup", cmd("env"), NULL),
	    hook("BackupComplete", cmd("fds"), NULL));
	reg("w.xml", " freezeTimeout=\"2\"", hooks, CLASS1, "Env writer");
	w = load_one();
	/* A descriptor the application forgot to make close-on-exec. */
	fmt(marker, sizeof(marker), "%s/leak-marker", T.dir);
	leak = open(marker, O_WRONLY | O_CREAT, 0644);
	assert_true(leak > 2);
	setenv("VSS_EVENT", "stale", 1);
	expect_ok(w, VSS_EVENT_PREPARE_BACKUP);
	expect_ok(w, VSS_EVENT_BACKUP_COMPLETE);
	unsetenv("VSS_EVENT");
	close(leak);

	text = slurp("env");
	assert_non_null(text);
	fmt(expect, sizeof(expect),
	    "VSS_BACKUP_TYPE=full\n"
	    "VSS_CONTEXT=0x00000009\n"
	    "VSS_EVENT=PrepareForBackup\n"
	    "VSS_FREEZE_TIMEOUT_MS=2000\n"
	    "VSS_SNAPSHOT_SET_ID={0c0ffee0-1234-4567-89ab-cdef01234567}\n"
	    "VSS_VOLUMES=/mnt/one\n"
	    "VSS_WRITER_ID={%s}\n"
	    "VSS_WRITER_INSTANCE_ID={%s}\n"
	    "VSS_WRITER_NAME=Env writer", CLASS1, CLASS1);
	/* "/mnt/two words" is on a line of its own, which grep left out. */
	assert_string_equal(text, expect);
	free(text);
	text = slurp("volumes");
	assert_string_equal(text, "/mnt/one\n/mnt/two words");
	free(text);
	/* cwd /, umask 022, its own process group, stdin at end-of-file. */
	text = slurp("misc");
	assert_string_equal(text, "/\n0022\nown-group\nstdin-eof");
	free(text);
	/* stdout and stderr are pipes to the requester... */
	text = slurp("fd1");
	assert_non_null(text);
	if (strncmp(text, "pipe:", 5) != 0 || !strstr(text, "\npipe:"))
		fail_msg("stdout and stderr: '%s'", text);
	free(text);
	/* ... and nothing else is open but what ls opened itself (3). */
	text = slurp("fds");
	assert_string_equal(text, "0\n1\n2\n3");
	free(text);
	vss__writer_free(w);
}

static void test_writer_express__failure_mappings(void **state)
{
	static const struct {
		const char *body;
		int failure;
		const char *message;
	} cases[] = {
		{ "exit 0", 0, NULL },
		{ "echo hello; echo 'something else'; echo noise >&2", 0, NULL },
		{ "echo 'failure RETRYABLE the database is busy'", -VSS_E_WRITERERROR_RETRYABLE,
		  "the database is busy" },
		{ "echo 'failure NONRETRYABLE  no  space '; exit 1",
		  -VSS_E_WRITERERROR_NONRETRYABLE, "no  space" },
		{ "echo 'failure OUTOFRESOURCES'; echo 'from stderr' >&2",
		  -VSS_E_WRITERERROR_OUTOFRESOURCES, "from stderr" },
		{ "echo 'failure INCONSISTENTSNAPSHOT add /var/lib too'",
		  -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT, "add /var/lib too" },
		{ "echo 'failure TIMEOUT gave up'", -VSS_E_WRITERERROR_TIMEOUT, "gave up" },
		{ "echo 'failure RETRYABLE first'; echo 'failure TIMEOUT second'",
		  -VSS_E_WRITERERROR_RETRYABLE, "first" },
		{ "echo 'failure BOGUS what'", -VSS_E_WRITERERROR_NONRETRYABLE,
		  "unknown failure word 'BOGUS': what" },
		{ "printf 'failure RETRYABLE no newline'", -VSS_E_WRITERERROR_RETRYABLE,
		  "no newline" },
		{ "echo 'try later' >&2; exit 75", -VSS_E_WRITERERROR_RETRYABLE, "try later" },
		{ "exit 75", -VSS_E_WRITERERROR_RETRYABLE, "exited with status 75" },
		{ "exit 1", -VSS_E_WRITERERROR_NONRETRYABLE, "exited with status 1" },
		{ "printf 'first\\n  last line  \\n\\n  \\n' >&2; exit 3",
		  -VSS_E_WRITERERROR_NONRETRYABLE, "last line" },
		{ "printf 'unfinished' >&2; exit 4", -VSS_E_WRITERERROR_NONRETRYABLE, "unfinished" },
		{ "kill -KILL $$", -VSS_E_WRITERERROR_NONRETRYABLE, "killed by signal 9" },
		{ "echo dying >&2; kill -TERM $$", -VSS_E_WRITERERROR_NONRETRYABLE, "dying" },
		{ "/nonexistent/command", -VSS_E_WRITERERROR_NONRETRYABLE, NULL },
		{ "head -c 300000 /dev/zero | tr '\\0' x; echo; echo 'failure RETRYABLE after noise'",
		  -VSS_E_WRITERERROR_RETRYABLE, "after noise" },
	};
	struct vss__writer *w;

	(void)state;
	reg("w.xml", NULL, hook("PostSnapshot", cmd("case"), NULL), CLASS1, "W");
	w = load_one();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vss__event_result res;

		script("case", cases[i].body);
		assert_int_equal(drive(w, VSS_EVENT_POST_SNAPSHOT, &res), 1);
		if (res.failure != cases[i].failure)
			fail_msg("'%s': failure %d, expected %d (%s)", cases[i].body, res.failure,
				 cases[i].failure, res.message ? res.message : "-");
		if (cases[i].message && (!res.message || strcmp(res.message, cases[i].message)))
			fail_msg("'%s': message '%s', expected '%s'", cases[i].body,
				 res.message ? res.message : "(none)", cases[i].message);
		if (!cases[i].failure)
			assert_null(res.message);
		if (!cases[i].message && cases[i].failure)
			assert_non_null(res.message);  /* sh says what was not found */
		vss__event_result_clear(&res);
	}
	vss__writer_free(w);
}

static void test_writer_express__exit_decides_when_a_grandchild_keeps_the_pipes(void **state)
{
	struct vss__writer *w;
	uint64_t t0;
	pid_t child;

	(void)state;
	script("bg", "sleep 30 & echo $! > \"$D/bg.pid\"; exit 0");
	reg("w.xml", NULL, hook("BackupComplete", cmd("bg"), NULL), CLASS1, "W");
	w = load_one();
	t0 = now_ms();
	expect_ok(w, VSS_EVENT_BACKUP_COMPLETE);
	assert_true(now_ms() - t0 < 1500);
	child = pid_in("bg.pid");
	/* Not the requester's to kill: it was not late. */
	assert_false(pid_gone(child));
	kill(child, SIGKILL);
	vss__writer_free(w);
}

static void test_writer_express__timeout_kills_the_process_group(void **state)
{
	static const char *const bodies[] = {
		/* Goes at SIGTERM; its child goes with the group. */
		"sleep 60 & echo $! > \"$D/child.pid\"; echo $$ > \"$D/hook.pid\"; wait",
		/* Ignores SIGTERM: SIGKILL after half a second. */
		"trap '' TERM; sleep 60 & echo $! > \"$D/child.pid\"; echo $$ > \"$D/hook.pid\";"
		" while :; do wait; done",
	};
	struct vss__writer *w;

	(void)state;
	reg("w.xml", NULL, hook("PrepareForSnapshot", cmd("slow"), " timeout=\"0.3\""), CLASS1, "W");
	w = load_one();
	assert_int_equal(vss__express_event_timeout(w, VSS_EVENT_PREPARE_SNAPSHOT), 300);
	for (size_t i = 0; i < 2; i++) {
		struct vss__event_result res;
		uint64_t took = 0;
		pid_t hook_pid, child;

		script("slow", bodies[i]);
		{
			char p[160];

			fmt(p, sizeof(p), "%s/hook.pid", T.dir);
			unlink(p);
			fmt(p, sizeof(p), "%s/child.pid", T.dir);
			unlink(p);
		}
		assert_int_equal(drive_t(w, VSS_EVENT_PREPARE_SNAPSHOT, 300, &res, &took), 2);
		hook_pid = pid_in("hook.pid");
		child = pid_in("child.pid");
		/* cancel() never blocks much longer than the SIGTERM grace. */
		assert_true(took <= 700);
		if (i == 1)
			assert_true(took >= 400);
		assert_true(wait_gone(hook_pid, 100));
		assert_true(wait_gone(child, 1000));
		cleanup_pid(child);
		/* The next event runs normally. */
		script("slow", "exit 0");
		expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	}
	vss__writer_free(w);
}

static const char *const holding_freeze =
	"echo $$ > \"$D/freeze.pid\"\n"
	"echo 'freezing' >&2\n"
	"echo frozen\n"
	"cat > /dev/null\n"
	"echo released >> \"$D/log\"\n"
	"exit 0";

static void test_writer_express__freeze_holds_until_thaw(void **state)
{
	struct vss__writer *w;
	pid_t pid;

	(void)state;
	script("freeze", holding_freeze);
	script("thaw", "echo thaw-hook >> \"$D/log\"");
	{
		char hooks[1024];

		fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("freeze"), NULL),
		    hook("Thaw", cmd("thaw"), NULL));
		reg("w.xml", NULL, hooks, CLASS1, "W");
	}
	w = load_one();
	expect_ok(w, VSS_EVENT_FREEZE);
	pid = pid_in("freeze.pid");
	/* Acknowledged, still running, still holding. */
	usleep(100000);
	assert_false(pid_gone(pid));
	assert_false(exists_in(T.dir, "log"));
	expect_ok(w, VSS_EVENT_THAW);
	/* It saw end-of-file, exited 0, was reaped; then the Thaw hook ran. */
	{
		char *log = slurp("log");

		assert_string_equal(log, "released\nthaw-hook");
		free(log);
	}
	assert_true(pid_gone(pid));
	/* A second round works the same. */
	expect_ok(w, VSS_EVENT_FREEZE);
	expect_ok(w, VSS_EVENT_THAW);
	vss__writer_free(w);
}

static void test_writer_express__freeze_that_holds_nothing(void **state)
{
	struct vss__writer *w;
	char hooks[1024];
	char *log;

	(void)state;
	script("freeze", "echo flushed >> \"$D/log\"; exit 0");
	script("thaw", "echo thaw-hook >> \"$D/log\"");
	fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("freeze"), NULL),
	    hook("Thaw", cmd("thaw"), NULL));
	reg("w.xml", NULL, hooks, CLASS1, "W");
	w = load_one();
	expect_ok(w, VSS_EVENT_FREEZE);
	expect_ok(w, VSS_EVENT_THAW);
	log = slurp("log");
	assert_string_equal(log, "flushed\nthaw-hook");
	free(log);
	vss__writer_free(w);
}

static void test_writer_express__freeze_ended_before_thaw_fails_thaw(void **state)
{
	struct vss__writer *w;
	char hooks[1024], *log;
	pid_t pid;

	(void)state;
	script("freeze", "echo $$ > \"$D/freeze.pid\"; echo frozen; exit 0");
	script("thaw", "echo thaw-hook >> \"$D/log\"");
	fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("freeze"), NULL),
	    hook("Thaw", cmd("thaw"), NULL));
	reg("w.xml", NULL, hooks, CLASS1, "W");
	w = load_one();
	expect_ok(w, VSS_EVENT_FREEZE);
	pid = pid_in("freeze.pid");
	assert_true(wait_gone(pid, 2000));
	usleep(100000);
	expect_failure(w, VSS_EVENT_THAW, -VSS_E_WRITERERROR_NONRETRYABLE,
		       "the freeze command ended before Thaw: the application was not held "
		       "for the whole copy");
	/* The Thaw hook still ran: the application must be thawed. */
	log = slurp("log");
	assert_string_equal(log, "thaw-hook");
	free(log);
	assert_true(pid_gone(pid));
	vss__writer_free(w);
}

static void test_writer_express__freeze_failures(void **state)
{
	struct vss__writer *w;
	uint64_t t0;

	(void)state;
	reg("w.xml", NULL, hook("Freeze", cmd("freeze"), NULL), CLASS1, "W");
	w = load_one();
	/* Fails before "frozen". */
	script("freeze", "echo 'cannot lock' >&2; exit 1");
	expect_failure(w, VSS_EVENT_FREEZE, -VSS_E_WRITERERROR_NONRETRYABLE, "cannot lock");
	/* A failure line, then "frozen": nothing counts as held, the hook is
	 * let go at once and Freeze fails with the line's word. */
	script("freeze", "echo 'failure RETRYABLE locked by backup'; echo frozen; cat >/dev/null;"
			 " echo let-go > \"$D/log\"");
	t0 = now_ms();
	expect_failure(w, VSS_EVENT_FREEZE, -VSS_E_WRITERERROR_RETRYABLE, "locked by backup");
	assert_true(now_ms() - t0 < 2000);
	assert_true(wait_file_in(T.dir, "log", 1000));
	/* Thaw after a failed Freeze has nothing to release. */
	expect_ok(w, VSS_EVENT_THAW);
	vss__writer_free(w);
}

static void test_writer_express__freeze_timeout_kills_the_freeze_hook(void **state)
{
	struct vss__writer *w;
	struct vss__event_result res;
	uint64_t took = 0;
	pid_t pid;

	(void)state;
	script("freeze", "echo $$ > \"$D/freeze.pid\"; exec sleep 60");
	reg("w.xml", " freezeTimeout=\"0.2\"", hook("Freeze", cmd("freeze"), NULL), CLASS1, "W");
	w = load_one();
	assert_int_equal(drive_t(w, VSS_EVENT_FREEZE, w->freeze_timeout_ms, &res, &took), 2);
	pid = pid_in("freeze.pid");
	assert_true(took <= 700);
	assert_true(wait_gone(pid, 100));
	/* Abort after it: nothing left to release. */
	expect_ok(w, VSS_EVENT_ABORT);
	vss__writer_free(w);
}

static void test_writer_express__abort_releases_a_held_freeze(void **state)
{
	struct vss__writer *w;
	char hooks[1024], *log;
	pid_t pid;

	(void)state;
	/* Exits non-zero when released: not a failure of Abort. */
	script("freeze", "echo $$ > \"$D/freeze.pid\"; echo frozen; cat >/dev/null;"
			 " echo released >> \"$D/log\"; exit 3");
	script("abort", "echo abort-hook >> \"$D/log\"");
	fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("freeze"), NULL),
	    hook("Abort", cmd("abort"), NULL));
	reg("w.xml", NULL, hooks, CLASS1, "W");
	w = load_one();
	expect_ok(w, VSS_EVENT_FREEZE);
	pid = pid_in("freeze.pid");
	assert_false(pid_gone(pid));
	expect_ok(w, VSS_EVENT_ABORT);
	log = slurp("log");
	assert_string_equal(log, "released\nabort-hook");
	free(log);
	assert_true(pid_gone(pid));
	vss__writer_free(w);
}

static void test_writer_express__thaw_reports_a_bad_release(void **state)
{
	struct vss__writer *w;

	(void)state;
	script("freeze", "echo frozen; cat >/dev/null; echo 'could not unlock' >&2; exit 2");
	reg("w.xml", NULL, hook("Freeze", cmd("freeze"), NULL), CLASS1, "W");
	w = load_one();
	expect_ok(w, VSS_EVENT_FREEZE);
	expect_failure(w, VSS_EVENT_THAW, -VSS_E_WRITERERROR_NONRETRYABLE, "could not unlock");
	vss__writer_free(w);
}

static void test_writer_express__thaw_kills_a_freeze_hook_that_holds_on(void **state)
{
	struct vss__writer *w;
	struct vss__event_result res;
	uint64_t took = 0;
	pid_t pid;

	(void)state;
	/* Ignores its stdin: Thaw runs out of time and kills it. */
	script("freeze", "echo $$ > \"$D/freeze.pid\"; echo frozen; exec sleep 60 < /dev/null");
	reg("w.xml", NULL, hook("Freeze", cmd("freeze"), NULL), CLASS1, "W");
	w = load_one();
	expect_ok(w, VSS_EVENT_FREEZE);
	pid = pid_in("freeze.pid");
	assert_int_equal(drive_t(w, VSS_EVENT_THAW, 300, &res, &took), 2);
	assert_true(took <= 700);
	assert_true(wait_gone(pid, 100));
	vss__writer_free(w);
}

static void test_writer_express__close_releases_a_held_freeze(void **state)
{
	struct vss__writer *w;
	uint64_t t0;
	pid_t pid;

	(void)state;
	script("freeze", holding_freeze);
	reg("w.xml", NULL, hook("Freeze", cmd("freeze"), NULL), CLASS1, "W");
	w = load_one();
	expect_ok(w, VSS_EVENT_FREEZE);
	pid = pid_in("freeze.pid");
	t0 = now_ms();
	vss__writer_free(w);
	assert_true(now_ms() - t0 < 700);
	assert_true(wait_file_in(T.dir, "log", 2000));
	assert_true(wait_gone(pid, 1000));
	{
		char *log = slurp("log");

		assert_string_equal(log, "released");
		free(log);
	}
}

/* The dying requester's writer: reachable, so valgrind calls it no leak. */
static struct vss__writer *volatile doomed;

static void test_writer_express__requester_death_releases_the_freeze(void **state)
{
	pid_t requester, pid;
	int st;

	(void)state;
	script("freeze", holding_freeze);
	reg("w.xml", NULL, hook("Freeze", cmd("freeze"), NULL), CLASS1, "W");
	requester = fork();
	assert_true(requester >= 0);
	if (requester == 0) {
		/* No cmocka assertion here: a failing one would go on running
		 * the tests in this child. */
		struct vss__event_args a = args_for(VSS_EVENT_FREEZE);
		struct vss__event_result res;
		struct vss__writer **ws = NULL;
		struct pollfd p = { .fd = -1 };
		size_t n = 0;
		int rc;

		if (vss__express_writers_load(T.ctx, &ws, &n) < 0 || n != 1)
			_exit(1);
		doomed = ws[0];
		free(ws);
		memset(&res, 0, sizeof(res));
		rc = doomed->ops->start(doomed, &a, &p.fd, &p.events, &res);
		while (rc == 0) {
			if (poll(&p, 1, 5000) <= 0)
				_exit(1);
			rc = doomed->ops->advance(doomed, p.revents, &p.fd, &p.events, &res);
		}
		if (rc != 1 || res.failure)
			_exit(1);
		/* Held: die without letting go. */
		kill(getpid(), SIGKILL);
		_exit(2);
	}
	assert_int_equal(waitpid(requester, &st, 0), requester);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	pid = pid_in("freeze.pid");
	/* Its stdin closed with the requester: it thawed and went. */
	assert_true(wait_file_in(T.dir, "log", 2000));
	assert_true(wait_gone(pid, 2000));
	cleanup_pid(pid);
}

/* ---- prestarted freeze hooks ------------------------------------------------ */

/*
 * A prestarted Freeze hook: notes its pid and environment, gets ready, then
 * either reads "freeze" (freezes, holds until end-of-file) or sees
 * end-of-file first (lets go without freezing).  $1 of the script: seconds
 * to take getting ready.
 */
static const char *const prestart_freeze =
	"echo $$ > \"$D/pre.pid\"\n"
	"env | grep -E '^VSS_(EVENT|PRESTART)=' | sort > \"$D/pre.env\"\n"
	"echo 'connecting' >&2\n"
	"echo ready\n"
	"if read -r line; then\n"
	"  echo \"got $line\" >> \"$D/log\"\n"
	"  echo frozen\n"
	"  cat > /dev/null\n"
	"  echo released >> \"$D/log\"\n"
	"else\n"
	"  echo let-go >> \"$D/log\"\n"
	"  exit 3\n"
	"fi";

static void reg_prestart(const char *attrs, const char *pfs_body)
{
	char hooks[1024];

	if (pfs_body) {
		script("pfs", pfs_body);
		fmt(hooks, sizeof(hooks), "%s%s", hook("PrepareForSnapshot", cmd("pfs"), NULL),
		    hook("Freeze", cmd("freeze"), " prestart=\"yes\""));
	} else {
		fmt(hooks, sizeof(hooks), "%s", hook("Freeze", cmd("freeze"), " prestart=\"yes\""));
	}
	reg("w.xml", attrs, hooks, CLASS1, "W");
}

static void unlink_in_dir(const char *name)
{
	char path[160];

	fmt(path, sizeof(path), "%s/%s", T.dir, name);
	unlink(path);
}

static void test_writer_express__prestart_gets_ready_at_prepare_snapshot(void **state)
{
	struct vss__writer *w;
	char *text;
	pid_t pid;

	(void)state;
	script("freeze", prestart_freeze);
	reg_prestart(NULL, "echo pfs-hook >> \"$D/log\"");
	w = load_one();
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	/* Started after the PrepareForSnapshot hook, as a Freeze hook told it
	 * is prestarted; ready and waiting, not frozen. */
	pid = pid_in("pre.pid");
	text = slurp("pre.env");
	assert_string_equal(text, "VSS_EVENT=Freeze\nVSS_PRESTART=1");
	free(text);
	usleep(100000);
	assert_false(pid_gone(pid));
	text = slurp("log");
	assert_string_equal(text, "pfs-hook");
	free(text);

	/* Freeze: the line "freeze" on its stdin, acknowledged by "frozen";
	 * Thaw closes its stdin. */
	expect_ok(w, VSS_EVENT_FREEZE);
	text = slurp("log");
	assert_string_equal(text, "pfs-hook\ngot freeze");
	free(text);
	assert_false(pid_gone(pid));
	expect_ok(w, VSS_EVENT_THAW);
	text = slurp("log");
	assert_string_equal(text, "pfs-hook\ngot freeze\nreleased");
	free(text);
	assert_true(pid_gone(pid));

	/* A PrepareForSnapshot hook that fails starts nothing. */
	unlink_in_dir("pre.pid");
	script("pfs", "echo 'no space' >&2; exit 1");
	expect_failure(w, VSS_EVENT_PREPARE_SNAPSHOT, -VSS_E_WRITERERROR_NONRETRYABLE, "no space");
	usleep(100000);
	assert_false(exists_in(T.dir, "pre.pid"));

	/* Freeze without PrepareForSnapshot: started then, told at once. */
	unlink_in_dir("log");
	expect_ok(w, VSS_EVENT_FREEZE);
	pid = pid_in("pre.pid");
	text = slurp("pre.env");
	assert_string_equal(text, "VSS_EVENT=Freeze\nVSS_PRESTART=1");
	free(text);
	expect_ok(w, VSS_EVENT_THAW);
	text = slurp("log");
	assert_string_equal(text, "got freeze\nreleased");
	free(text);
	assert_true(pid_gone(pid));
	vss__writer_free(w);
}

static void test_writer_express__prestart_fails_before_ready(void **state)
{
	static const struct {
		const char *body;
		int failure;
		const char *message;
	} cases[] = {
		/* A failure line: its stdin closes, it goes, its word counts. */
		{ "echo 'failure RETRYABLE server starting'; read -r x; echo gone > \"$D/log\"",
		  -VSS_E_WRITERERROR_RETRYABLE, "server starting" },
		/* An exit, with and without a message. */
		{ "echo 'cannot connect' >&2; exit 1", -VSS_E_WRITERERROR_NONRETRYABLE,
		  "cannot connect" },
		{ "exit 75", -VSS_E_WRITERERROR_RETRYABLE, "exited with status 75" },
		{ "exit 0", -VSS_E_WRITERERROR_NONRETRYABLE,
		  "the freeze command ended before it printed 'ready'" },
		/* "ready" after a failure does not count. */
		{ "echo 'failure NONRETRYABLE no'; echo ready; read -r x",
		  -VSS_E_WRITERERROR_NONRETRYABLE, "no" },
		/* Frozen before it was told is a broken hook. */
		{ "echo frozen; echo ready; read -r x", -VSS_E_WRITERERROR_NONRETRYABLE,
		  "the freeze command printed 'frozen' before it was sent 'freeze'" },
	};
	struct vss__writer *w;

	(void)state;
	reg_prestart(NULL, NULL);
	w = load_one();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vss__event_result res;

		unlink_in_dir("log");
		script("freeze", cases[i].body);
		assert_int_equal(drive(w, VSS_EVENT_PREPARE_SNAPSHOT, &res), 1);
		if (res.failure != cases[i].failure || !res.message ||
		    strcmp(res.message, cases[i].message) != 0)
			fail_msg("'%s': failure %d '%s', expected %d '%s'", cases[i].body, res.failure,
				 res.message ? res.message : "(none)", cases[i].failure,
				 cases[i].message);
		vss__event_result_clear(&res);
		if (i == 0)
			assert_true(wait_file_in(T.dir, "log", 1000));
		/* Nothing is left armed: Freeze starts the hook anew. */
		script("freeze", "exit 0");
		expect_ok(w, VSS_EVENT_FREEZE);
	}
	vss__writer_free(w);
}

static void test_writer_express__prestart_timeout_kills_the_group(void **state)
{
	struct vss__writer *w;
	struct vss__event_result res;
	uint64_t took = 0;
	pid_t pid, child;

	(void)state;
	script("freeze", "echo $$ > \"$D/pre.pid\"; sleep 60 & echo $! > \"$D/child.pid\"; wait");
	/* PrepareForSnapshot's own timeout covers the prestart. */
	reg_prestart(" eventTimeout=\"0.3\"", NULL);
	w = load_one();
	assert_int_equal(drive_t(w, VSS_EVENT_PREPARE_SNAPSHOT, w->event_timeout_ms, &res, &took), 2);
	pid = pid_in("pre.pid");
	child = pid_in("child.pid");
	assert_true(took <= 700);
	assert_true(wait_gone(pid, 100));
	assert_true(wait_gone(child, 1000));
	cleanup_pid(child);
	/* Nothing armed: Abort has nothing to let go. */
	expect_ok(w, VSS_EVENT_ABORT);
	vss__writer_free(w);
}

static void test_writer_express__prestart_freeze_line_and_exit(void **state)
{
	struct vss__writer *w;
	char *text;
	uint64_t t0;
	pid_t pid;

	(void)state;
	/* Slower to get ready than its whole freeze timeout: the timeout
	 * counts from the "freeze" line. */
	script("freeze", "sleep 0.6\n"
			 "echo $$ > \"$D/pre.pid\"\n"
			 "echo ready\n"
			 "read -r line || exit 9\n"
			 "echo \"$line\" > \"$D/log\"\n"
			 "echo frozen; cat >/dev/null; exit 0");
	reg_prestart(" freezeTimeout=\"0.5\"", NULL);
	w = load_one();
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	pid = pid_in("pre.pid");
	t0 = now_ms();
	expect_ok(w, VSS_EVENT_FREEZE);
	assert_true(now_ms() - t0 < 300);
	text = slurp("log");
	assert_string_equal(text, "freeze");
	free(text);
	expect_ok(w, VSS_EVENT_THAW);
	assert_true(pid_gone(pid));

	/* Exit 0 after the freeze line: nothing to hold, Freeze succeeds. */
	script("freeze", "echo ready; read -r line; echo \"$line\" > \"$D/log\"; exit 0");
	unlink_in_dir("log");
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	expect_ok(w, VSS_EVENT_FREEZE);
	text = slurp("log");
	assert_string_equal(text, "freeze");
	free(text);
	expect_ok(w, VSS_EVENT_THAW);

	/* A failure after the freeze line fails Freeze with its word. */
	script("freeze", "echo ready; read -r line; echo 'failure RETRYABLE lock busy';"
			 " cat > /dev/null");
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	expect_failure(w, VSS_EVENT_FREEZE, -VSS_E_WRITERERROR_RETRYABLE, "lock busy");
	vss__writer_free(w);
}

static void test_writer_express__prestart_abort_before_freeze(void **state)
{
	struct vss__writer *w;
	char *text;
	uint64_t t0, took;
	pid_t pid, child;

	(void)state;
	script("freeze", prestart_freeze);
	script("abort", "echo abort-hook >> \"$D/log\"");
	{
		char hooks[1024];

		fmt(hooks, sizeof(hooks), "%s%s", hook("Freeze", cmd("freeze"), " prestart=\"yes\""),
		    hook("Abort", cmd("abort"), NULL));
		reg("w.xml", NULL, hooks, CLASS1, "W");
	}
	w = load_one();
	/* Let go at end-of-file, without freezing; its status 3 is not a
	 * failure; then the Abort hook. */
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	pid = pid_in("pre.pid");
	expect_ok(w, VSS_EVENT_ABORT);
	text = slurp("log");
	assert_string_equal(text, "let-go\nabort-hook");
	free(text);
	assert_true(pid_gone(pid));
	/* Freeze after it: nothing armed, the hook runs anew. */
	unlink_in_dir("log");
	unlink_in_dir("pre.pid");
	expect_ok(w, VSS_EVENT_FREEZE);
	expect_ok(w, VSS_EVENT_THAW);
	text = slurp("log");
	assert_string_equal(text, "got freeze\nreleased");
	free(text);

	/* One that does not go at end-of-file: SIGTERM after 0.5 s. */
	script("freeze", "echo $$ > \"$D/pre.pid\"; echo ready; exec sleep 60 < /dev/null");
	unlink_in_dir("pre.pid");
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	pid = pid_in("pre.pid");
	t0 = now_ms();
	expect_ok(w, VSS_EVENT_ABORT);
	took = now_ms() - t0;
	assert_true(took >= 450 && took < 900);
	assert_true(pid_gone(pid));

	/* One that ignores SIGTERM too: SIGKILL to its group 0.5 s later. */
	script("freeze", "trap '' TERM; echo $$ > \"$D/pre.pid\"; sleep 60 < /dev/null &"
			 " echo $! > \"$D/child.pid\"; echo ready; wait");
	unlink_in_dir("pre.pid");
	unlink_in_dir("child.pid");
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	pid = pid_in("pre.pid");
	child = pid_in("child.pid");
	t0 = now_ms();
	expect_ok(w, VSS_EVENT_ABORT);
	took = now_ms() - t0;
	assert_true(took >= 950 && took < 1500);
	assert_true(pid_gone(pid));
	assert_true(wait_gone(child, 500));
	cleanup_pid(child);
	vss__writer_free(w);
}

static void test_writer_express__prestart_gone_before_freeze(void **state)
{
	static const char *const bodies[] = {
		/* Exits after "ready". */
		"echo $$ > \"$D/pre.pid\"; echo ready; exit 0",
		/* Closes its stdin and goes on: the pipe is broken; it is
		 * killed, it cannot be told anything. */
		"echo $$ > \"$D/pre.pid\"; exec 0<&-; echo ready; exec sleep 60",
	};
	struct vss__writer *w;

	(void)state;
	reg_prestart(NULL, NULL);
	w = load_one();
	for (size_t i = 0; i < 2; i++) {
		uint64_t t0;
		pid_t pid;

		unlink_in_dir("pre.pid");
		script("freeze", bodies[i]);
		expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
		pid = pid_in("pre.pid");
		if (i == 0)
			assert_true(wait_gone(pid, 2000));
		else
			usleep(100000);
		t0 = now_ms();
		expect_failure(w, VSS_EVENT_FREEZE, -VSS_E_WRITERERROR_NONRETRYABLE,
			       "the freeze command ended before Freeze");
		assert_true(now_ms() - t0 < 500);
		assert_true(pid_gone(pid));
		cleanup_pid(pid);
		/* A failed Freeze holds nothing: Abort finds nothing to let go. */
		expect_ok(w, VSS_EVENT_ABORT);
	}
	vss__writer_free(w);
}

static void test_writer_express__prestart_close_before_freeze(void **state)
{
	struct vss__writer *w;
	char *text;
	uint64_t t0;
	pid_t pid;

	(void)state;
	script("freeze", prestart_freeze);
	reg_prestart(NULL, NULL);
	w = load_one();
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	pid = pid_in("pre.pid");
	t0 = now_ms();
	vss__writer_free(w);
	assert_true(now_ms() - t0 < 300);
	assert_true(wait_gone(pid, 1000));
	text = slurp("log");
	assert_string_equal(text, "let-go");
	free(text);

	/* One that does not go: SIGTERM after 0.5 s. */
	script("freeze", "echo $$ > \"$D/pre.pid\"; echo ready; exec sleep 60 < /dev/null");
	unlink_in_dir("pre.pid");
	w = load_one();
	expect_ok(w, VSS_EVENT_PREPARE_SNAPSHOT);
	pid = pid_in("pre.pid");
	t0 = now_ms();
	vss__writer_free(w);
	assert_true(now_ms() - t0 < 800);
	assert_true(wait_gone(pid, 500));
	cleanup_pid(pid);
}

/* Writers that take long to get ready are frozen in far less. */
static void test_writer_express__prestart_fan_out_freezes_fast(void **state)
{
	enum { N = 6 };
	struct vss__writer **ws = NULL;
	struct vss__event_args a;
	uint64_t t0, took;
	pid_t pids[N];
	size_t n = 0;

	(void)state;
	script("freeze", "echo $$ > \"$D/pre-$VSS_WRITER_NAME.pid\"\n"
			 "sleep 0.3\n"
			 "echo ready\n"
			 "read -r line || exit 0\n"
			 "echo frozen\n"
			 "cat > /dev/null\n"
			 "echo released >> \"$D/log\"");
	for (int i = 0; i < N; i++) {
		char file[32], id[64], name[16];

		fmt(file, sizeof(file), "w%d.xml", i);
		fmt(id, sizeof(id), "4a1e2f3c-%04d-4d5e-8f90-0a1b2c3d4e0f", i);
		fmt(name, sizeof(name), "w%d", i);
		reg(file, NULL, hook("Freeze", cmd("freeze"), " prestart=\"yes\""), id, name);
	}
	assert_int_equal(vss__express_writers_load(T.ctx, &ws, &n), 0);
	assert_int_equal(n, N);

	a = args_for(VSS_EVENT_PREPARE_SNAPSHOT);
	t0 = now_ms();
	assert_int_equal(vss__writers_send(ws, n, &a), 0);
	took = now_ms() - t0;
	/* In parallel: about one start-up, not N of them. */
	assert_true(took >= 300 && took < 1500);
	for (int i = 0; i < N; i++) {
		char name[32];

		assert_int_equal(ws[i]->state, VSS_WS_WAITING_FOR_FREEZE);
		fmt(name, sizeof(name), "pre-w%d.pid", i);
		pids[i] = pid_in(name);
	}

	a = args_for(VSS_EVENT_FREEZE);
	t0 = now_ms();
	assert_int_equal(vss__writers_send(ws, n, &a), 0);
	took = now_ms() - t0;
	if (took >= 100)
		fail_msg("Freeze of %d prestarted writers took %llu ms", N, (unsigned long long)took);
	for (int i = 0; i < N; i++) {
		assert_true(ws[i]->frozen);
		assert_int_equal(ws[i]->state, VSS_WS_WAITING_FOR_THAW);
		assert_false(pid_gone(pids[i]));
	}
	a = args_for(VSS_EVENT_THAW);
	assert_int_equal(vss__writers_send(ws, n, &a), 0);
	for (int i = 0; i < N; i++) {
		assert_false(ws[i]->frozen);
		assert_int_equal(ws[i]->state, VSS_WS_WAITING_FOR_POST_SNAPSHOT);
		assert_true(wait_gone(pids[i], 1000));
	}
	{
		char *log = slurp("log");

		assert_string_equal(log, "released\nreleased\nreleased\nreleased\nreleased\nreleased");
		free(log);
	}
	vss__writers_free(ws, n);
}

/* ---- through the fan-out ------------------------------------------------------ */

static void test_writer_express__through_the_fan_out(void **state)
{
	struct vss__writer **ws = NULL;
	struct vss__event_args a;
	size_t n = 0;
	uint64_t t0, took;
	pid_t pid;

	(void)state;
	script("ok", "exit 0");
	script("busy", "echo 'database busy' >&2; exit 75");
	script("slow", "echo $$ > \"$D/slow.pid\"; exec sleep 60");
	script("freeze", holding_freeze);
	{
		char hooks[1024];

		fmt(hooks, sizeof(hooks), "%s%s", hook("PrepareForSnapshot", cmd("ok"), NULL),
		    hook("Freeze", cmd("freeze"), NULL));
		reg("1-ok.xml", NULL, hooks, CLASS1, "Good");
	}
	reg("2-busy.xml", NULL, hook("PrepareForSnapshot", cmd("busy"), NULL), CLASS2, "Busy");
	reg("3-slow.xml", NULL, hook("PrepareForSnapshot", cmd("slow"), " timeout=\"0.4\""),
	    CLASS3, "Slow");
	assert_int_equal(vss__express_writers_load(T.ctx, &ws, &n), 0);
	assert_int_equal(n, 3);

	a = args_for(VSS_EVENT_PREPARE_SNAPSHOT);
	t0 = now_ms();
	assert_int_equal(vss__writers_send(ws, n, &a), 2);
	took = now_ms() - t0;
	/* In parallel: the slow one's timeout plus its kill, not a sum. */
	assert_true(took >= 400 && took < 1500);
	pid = pid_in("slow.pid");
	assert_true(wait_gone(pid, 100));
	assert_int_equal(ws[0]->state, VSS_WS_WAITING_FOR_FREEZE);
	assert_int_equal(ws[0]->failure, 0);
	assert_int_equal(ws[1]->state, VSS_WS_FAILED_AT_PREPARE_SNAPSHOT);
	assert_int_equal(ws[1]->failure, -VSS_E_WRITERERROR_RETRYABLE);
	assert_string_equal(ws[1]->failure_message, "database busy");
	assert_int_equal(ws[2]->state, VSS_WS_FAILED_AT_PREPARE_SNAPSHOT);
	assert_int_equal(ws[2]->failure, -VSS_E_WRITERERROR_TIMEOUT);

	/* Only the good one goes on: Freeze holds, Thaw releases. */
	ws[1]->excluded = ws[2]->excluded = true;
	a = args_for(VSS_EVENT_FREEZE);
	assert_int_equal(vss__writers_send(ws, n, &a), 0);
	assert_true(ws[0]->frozen);
	assert_int_equal(ws[0]->state, VSS_WS_WAITING_FOR_THAW);
	pid = pid_in("freeze.pid");
	assert_false(pid_gone(pid));
	a = args_for(VSS_EVENT_THAW);
	assert_int_equal(vss__writers_send(ws, n, &a), 0);
	assert_false(ws[0]->frozen);
	assert_int_equal(ws[0]->state, VSS_WS_WAITING_FOR_POST_SNAPSHOT);
	assert_true(wait_gone(pid, 1000));
	{
		char *log = slurp("log");

		assert_string_equal(log, "released");
		free(log);
	}
	vss__writers_free(ws, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writer_express__missing_directory_is_no_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__loads_fields_in_name_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__duplicate_instance_names_both_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__bad_files_named_with_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__identify_runs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__hook_environment_and_surroundings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__failure_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__exit_decides_when_a_grandchild_keeps_the_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__timeout_kills_the_process_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__freeze_holds_until_thaw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__freeze_that_holds_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__freeze_ended_before_thaw_fails_thaw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__freeze_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__freeze_timeout_kills_the_freeze_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__abort_releases_a_held_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__thaw_reports_a_bad_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__thaw_kills_a_freeze_hook_that_holds_on, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__close_releases_a_held_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__requester_death_releases_the_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__through_the_fan_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_gets_ready_at_prepare_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_fails_before_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_timeout_kills_the_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_freeze_line_and_exit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_abort_before_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_gone_before_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_close_before_freeze, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writer_express__prestart_fan_out_freezes_fast, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
