/*
 * Live writers, the writer end (<vss/writer.h>, second half): a program
 * that links libvss serves writer events on $RUNDIR/writers/<id>.sock.
 *
 * Everything happens on the caller's thread, in vss_writer_dispatch(): one
 * epoll set holds the listening socket, every requester connection, a
 * timerfd for the freeze timeout and an eventfd for vss_writer_stop().
 * Requests are handled one at a time, in the order they are read; a
 * handler's time is the only long wait.  The wire format and the rules of
 * the conversation are in writer-protocol.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "vss-private.h"
#include "writer-private.h"
#include "writer-protocol.h"
#include "xml-attr.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

/* Requesters connected at once; more are closed at accept (one requester
 * runs at a time, plus a few queries). */
#define MAX_CONNECTIONS 64
#define READ_CHUNK      ((size_t)64 << 10)
#define MAX_EVENTS      16
#define MAX_FREEZE_TIMEOUT_MS 3600000u

struct conn {
	struct conn *next;
	int fd;
	pid_t pid;
	struct vss__wp_parser parser;
};

struct vss_writer {
	int refcount;
	struct vss_context *ctx;
	struct vss_guid class_id;
	struct vss_guid instance_id;
	char *name;
	char *instance_name;
	struct vss_writer_ops ops;
	void *userdata;
	unsigned int freeze_timeout_ms;
	struct vss_wmd *wmd;

	int epoll_fd;
	int timer_fd;
	int stop_fd;
	int listen_fd;                 /* -1 when not subscribed */
	char *socket_path;
	struct conn *conns;
	size_t nconns;
	unsigned int generation;       /* bumped when every connection is dropped */
	volatile sig_atomic_t stop;

	/* the writer's own view of itself (reference §3.15-3.16) */
	enum vss_writer_state state;
	int last_failure;
	enum vss_writer_event failed_event;
	char *last_message;

	/* the current event, for the handler's getters */
	struct vss_guid set_id;
	int32_t context;
	int backup_type;
	struct strv volumes;
	struct vss_bcd *bcd;
	char *failure_message;         /* vss_writer_set_failure_message() */

	/* a freeze that on_thaw or on_abort still has to release */
	bool frozen;
	struct conn *freeze_conn;      /* the connection that sent Freeze */
	unsigned int armed_ms;         /* the timeout armed for it */
	bool timed_out;                /* released by the timer; Thaw is late */
	bool released;                 /* released without Thaw: the Abort that
					* follows has nothing left to do */
};

/* ---- construction ---------------------------------------------------------- */

static int epoll_add(int epfd, int fd, void *ptr)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ptr };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

VSS_EXPORT int vss_writer_new(struct vss_context *ctx, const struct vss_guid *class_id,
			      const char *name, struct vss_writer **ret)
{
	struct vss_writer *w = NULL;
	int rc;

	if (!ctx || !class_id || !ret)
		return vss__error(-EINVAL, "vss_writer_new() needs a context, a class ID and ret");
	if (!name || !*name)
		return vss__error(-EINVAL, "a writer needs a name");
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->refcount = 1;
	w->epoll_fd = w->timer_fd = w->stop_fd = w->listen_fd = -1;
	w->ctx = vss_context_ref(ctx);
	w->class_id = *class_id;
	vss_guid_generate(&w->instance_id);
	w->freeze_timeout_ms = VSS__DEFAULT_FREEZE_TIMEOUT_MS;
	w->state = VSS_WS_STABLE;
	w->name = strdup(name);
	if (!w->name) {
		rc = -ENOMEM;
		goto fail;
	}
	w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epoll_fd < 0 || w->timer_fd < 0 || w->stop_fd < 0) {
		rc = vss__error(-errno, "cannot set up the writer's event loop: %s", strerror(errno));
		goto fail;
	}
	rc = epoll_add(w->epoll_fd, w->timer_fd, &w->timer_fd);
	if (rc == 0)
		rc = epoll_add(w->epoll_fd, w->stop_fd, &w->stop_fd);
	if (rc < 0) {
		rc = vss__error(rc, "cannot set up the writer's event loop: %s", strerror(-rc));
		goto fail;
	}
	*ret = w;
	return 0;
fail:
	vss_writer_unref(w);
	return rc;
}

VSS_EXPORT struct vss_writer *vss_writer_ref(struct vss_writer *w)
{
	if (w)
		w->refcount++;
	return w;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

VSS_EXPORT struct vss_writer *vss_writer_unref(struct vss_writer *w)
{
	if (!w || --w->refcount > 0)
		return NULL;
	vss_writer_unsubscribe(w);
	close_fd(&w->epoll_fd);
	close_fd(&w->timer_fd);
	close_fd(&w->stop_fd);
	vss_context_unref(w->ctx);
	vss_wmd_unref(w->wmd);
	vss_bcd_unref(w->bcd);
	strv_release(&w->volumes);
	free(w->name);
	free(w->instance_name);
	free(w->last_message);
	free(w->failure_message);
	free(w);
	return NULL;
}

VSS_EXPORT void vss_writer_set_ops(struct vss_writer *w, const struct vss_writer_ops *ops,
				   void *userdata)
{
	if (!w)
		return;
	if (ops)
		w->ops = *ops;
	else
		memset(&w->ops, 0, sizeof(w->ops));
	w->userdata = userdata;
}

VSS_EXPORT int vss_writer_set_freeze_timeout(struct vss_writer *w, unsigned int ms)
{
	if (!w)
		return vss__error(-EINVAL, "no writer given");
	if (ms < 1 || ms > MAX_FREEZE_TIMEOUT_MS)
		return vss__error(-EINVAL, "a freeze timeout of %u ms is out of range (1 to %u ms)",
				  ms, MAX_FREEZE_TIMEOUT_MS);
	w->freeze_timeout_ms = ms;
	return 0;
}

VSS_EXPORT int vss_writer_set_wmd(struct vss_writer *w, struct vss_wmd *wmd)
{
	if (!w)
		return vss__error(-EINVAL, "no writer given");
	vss_wmd_ref(wmd);
	vss_wmd_unref(w->wmd);
	w->wmd = wmd;
	return 0;
}

VSS_EXPORT int vss_writer_set_instance_name(struct vss_writer *w, const char *name)
{
	if (!w)
		return vss__error(-EINVAL, "no writer given");
	return vss__strset(&w->instance_name, name && *name ? name : NULL);
}

/* ---- the freeze timer -------------------------------------------------------- */

static void timer_set(struct vss_writer *w, unsigned int ms)
{
	struct itimerspec its = { { 0, 0 }, { ms / 1000, (long)(ms % 1000) * 1000000L } };

	/* Cannot fail with a valid fd and value; a failure would only cost
	 * the self-release, which the requester's own timeout still covers. */
	if (timerfd_settime(w->timer_fd, 0, &its, NULL) < 0)
		vss__debug("writer: timerfd_settime: %s", strerror(errno));
}

/* ---- handlers ---------------------------------------------------------------- */

static bool is_writer_failure(int rc)
{
	switch (-rc) {
	case VSS_E_WRITERERROR_RETRYABLE:
	case VSS_E_WRITERERROR_NONRETRYABLE:
	case VSS_E_WRITERERROR_OUTOFRESOURCES:
	case VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT:
		return true;
	default:
		return false;
	}
}

/*
 * Run the handler of event.  Returns 0, or the failure to report
 * (-VSS_E_WRITERERROR_*) with *ret_message (malloc()ed or NULL) saying why.
 */
static int call_handler(struct vss_writer *w, enum vss_writer_event event, struct vss_wmd *wmd,
			char **ret_message)
{
	int (*fn)(struct vss_writer *, void *) = NULL;
	int rc = 0;

	free(w->failure_message);
	w->failure_message = NULL;
	*ret_message = NULL;
	switch (event) {
	case VSS_EVENT_IDENTIFY:
		if (w->ops.on_identify)
			rc = w->ops.on_identify(w, wmd, w->userdata);
		break;
	case VSS_EVENT_PREPARE_BACKUP: fn = w->ops.on_prepare_backup; break;
	case VSS_EVENT_PREPARE_SNAPSHOT: fn = w->ops.on_prepare_snapshot; break;
	case VSS_EVENT_FREEZE: fn = w->ops.on_freeze; break;
	case VSS_EVENT_THAW: fn = w->ops.on_thaw; break;
	case VSS_EVENT_POST_SNAPSHOT: fn = w->ops.on_post_snapshot; break;
	case VSS_EVENT_ABORT: fn = w->ops.on_abort; break;
	case VSS_EVENT_BACKUP_COMPLETE: fn = w->ops.on_backup_complete; break;
	case VSS_EVENT_BACKUP_SHUTDOWN: fn = w->ops.on_backup_shutdown; break;
	case VSS_EVENT_PRE_RESTORE: fn = w->ops.on_pre_restore; break;
	case VSS_EVENT_POST_RESTORE: fn = w->ops.on_post_restore; break;
	case VSS_EVENT_COUNT: break;
	}
	if (fn)
		rc = fn(w, w->userdata);
	vss__debug("writer %s: %s -> %d", w->name, vss_writer_event_name(event), rc);
	if (rc >= 0) {
		rc = 0;
		goto out;
	}
	if (w->failure_message) {
		*ret_message = w->failure_message;
		w->failure_message = NULL;
	} else if (!is_writer_failure(rc)) {
		/* An errno or a libvss code: say which, with the library's words
		 * when the last failure was that one. */
		const struct vss_error *e = vss_error_last();
		struct sbuf sb = SBUF_INIT;

		if (e->code == rc && e->message[0])
			sbuf_addf(&sb, "the %s handler failed: %s", vss_writer_event_name(event),
				  e->message);
		else
			sbuf_addf(&sb, "the %s handler failed: %s", vss_writer_event_name(event),
				  vss_strerror(rc));
		*ret_message = sb.len ? sbuf_detach(&sb) : NULL;
		sbuf_release(&sb);
	}
	if (!is_writer_failure(rc))
		rc = -VSS_E_WRITERERROR_NONRETRYABLE;
out:
	return rc;
}

/* Keep the writer's own record of event's end (takes message). */
static void record(struct vss_writer *w, enum vss_writer_event event, int failure, char *message)
{
	w->state = vss_writer_state_after(w->state, event, failure == 0);
	if (failure) {
		w->last_failure = failure;
		w->failed_event = event;
		free(w->last_message);
		w->last_message = message;
		return;
	}
	free(message);
	/* As requesters record it (writer-state.c): a new session that starts
	 * well clears the old failure. */
	if (event == VSS_EVENT_PREPARE_BACKUP || event == VSS_EVENT_PRE_RESTORE) {
		w->last_failure = 0;
		free(w->last_message);
		w->last_message = NULL;
	}
}

/*
 * Release the freeze without a Thaw: the requester left or the timer
 * fired.  on_abort runs exactly once for it.
 */
static void release_by_abort(struct vss_writer *w, bool timed_out)
{
	char *message = NULL;
	int failure;

	if (!w->frozen)
		return;
	w->frozen = false;
	w->freeze_conn = NULL;
	w->released = true;
	timer_set(w, 0);
	failure = call_handler(w, VSS_EVENT_ABORT, NULL, &message);
	if (!timed_out) {
		record(w, VSS_EVENT_ABORT, failure, message);
		return;
	}
	free(message);
	w->timed_out = true;
	w->state = VSS_WS_FAILED_AT_FREEZE;
	w->last_failure = -VSS_E_WRITERERROR_TIMEOUT;
	w->failed_event = VSS_EVENT_FREEZE;
	free(w->last_message);
	w->last_message = NULL;
	{
		struct sbuf sb = SBUF_INIT;

		if (sbuf_addf(&sb, "no Thaw came within the freeze timeout of %u ms: the writer "
			      "released the freeze itself (Abort)", w->armed_ms) == 0)
			w->last_message = sbuf_detach(&sb);
		sbuf_release(&sb);
	}
}

/* ---- Identify ------------------------------------------------------------------ */

static int set_identity(const struct vss_writer *w, struct vss_wmd *wmd)
{
	int rc = vss_wmd_set_writer_id(wmd, &w->class_id);

	if (rc == 0)
		rc = vss_wmd_set_instance_id(wmd, &w->instance_id);
	if (rc == 0)
		rc = vss_wmd_set_friendly_name(wmd, w->name);
	if (rc == 0)
		rc = vss_wmd_set_instance_name(wmd, w->instance_name);
	return rc;
}

/*
 * The text of a read-only document (loaded, or frozen by the caller) with
 * the writer's identity put in: the document itself cannot change.
 */
static int save_with_identity(const struct vss_writer *w, const struct vss_wmd *wmd,
			      char **ret, size_t *ret_len)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr n = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = vss_wmd_save(wmd, &text, &len);
	if (rc < 0)
		goto out;
	rc = vss__xml_parse(text, len, "writer metadata document", &doc);
	if (rc < 0)
		goto out;
	n = xmlDocGetRootElement(doc);
	for (n = n ? n->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "IDENTIFICATION"))
			break;
	if (!n) {
		rc = vss__error(-VSS_E_INVALID_XML_DOCUMENT,
				"the writer metadata document has no IDENTIFICATION");
		goto out;
	}
	rc = -ENOMEM;
	if (vss__xml_set_guid(n, "writerId", &w->class_id) < 0 ||
	    vss__xml_set_guid(n, "instanceId", &w->instance_id) < 0 ||
	    vss__xml_set_str(n, "friendlyName", w->name) < 0)
		goto out;
	if (w->instance_name) {
		if (vss__xml_set_str(n, "instanceName", w->instance_name) < 0)
			goto out;
	} else {
		xmlUnsetProp(n, BAD_CAST "instanceName");
	}
	free(text);
	text = NULL;
	rc = vss__xml_save(doc, ret, ret_len);
out:
	xmlFreeDoc(doc);
	free(text);
	return rc;
}

/* Identify: the document to answer with, or the handler's failure. */
static int identify(struct vss_writer *w, char **ret_xml, size_t *ret_len, char **ret_message)
{
	struct vss_wmd *wmd = NULL;
	int rc;

	*ret_message = NULL;
	if (w->ops.on_identify || !w->wmd) {
		wmd = vss_wmd_new();
		if (!wmd)
			return -ENOMEM;
		rc = set_identity(w, wmd);
		if (rc < 0)
			goto fail;
		rc = call_handler(w, VSS_EVENT_IDENTIFY, wmd, ret_message);
		if (rc < 0)
			goto out;
	} else {
		wmd = vss_wmd_ref(w->wmd);
	}
	if (vss_wmd_is_read_only(wmd)) {
		rc = save_with_identity(w, wmd, ret_xml, ret_len);
	} else {
		/* The handler may have changed it: the identity is the writer's. */
		rc = set_identity(w, wmd);
		if (rc == 0)
			rc = vss_wmd_freeze(wmd);
		if (rc == 0)
			rc = vss_wmd_save(wmd, ret_xml, ret_len);
	}
	if (rc < 0)
		goto fail;
	goto out;
fail:
	free(*ret_message);
	*ret_message = NULL;
	vss__strset(ret_message, vss_error_last()->message);
	rc = -VSS_E_WRITERERROR_NONRETRYABLE;
out:
	vss_wmd_unref(wmd);
	return rc;
}

/* ---- connections ----------------------------------------------------------------- */

/* Write all of data, waiting for a slow reader at most VSS__WP_SEND_TIMEOUT_MS. */
static int send_all(int fd, const char *data, size_t len)
{
	uint64_t deadline = vss__now_monotonic_ns() + (uint64_t)VSS__WP_SEND_TIMEOUT_MS * 1000000u;

	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			uint64_t now = vss__now_monotonic_ns();

			if (now >= deadline)
				return -ETIMEDOUT;
			if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) < 0 &&
			    errno != EINTR)
				return -errno;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

static void conn_close(struct vss_writer *w, struct conn *c)
{
	for (struct conn **pp = &w->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	w->nconns--;
	close(c->fd);
	vss__wp_parser_reset(&c->parser);
	vss__debug("writer %s: requester %d left", w->name, (int)c->pid);
	/* The requester that froze us is gone (it died, or gave up): nobody
	 * will send Thaw, so the freeze ends now. */
	if (w->frozen && w->freeze_conn == c)
		release_by_abort(w, false);
	free(c);
}

/* The reply: the outcome and the writer's own view of itself. */
static int reply(struct vss_writer *w, struct conn *c, int failure, const char *message,
		 const char *body, size_t body_len)
{
	char id[VSS_GUID_STRING_MAX];
	struct sbuf out = SBUF_INIT;
	int rc = 0;

	rc |= vss__wp_add(&out, "result", failure ? "failed" : "ok");
	if (failure)
		rc |= vss__wp_add(&out, "failure", vss__writer_failure_word(failure));
	if (failure && message)
		rc |= vss__wp_add(&out, "message", message);
	rc |= vss__wp_addf(&out, "state", "%d", (int)w->state);
	if (w->last_failure) {
		rc |= vss__wp_add(&out, "failed-event", vss_writer_event_name(w->failed_event));
		rc |= vss__wp_add(&out, "last-failure", vss__writer_failure_word(w->last_failure));
		if (w->last_message)
			rc |= vss__wp_add(&out, "last-message", w->last_message);
	}
	rc |= vss__wp_add(&out, "name", w->name);
	rc |= vss__wp_add(&out, "class-id", vss_guid_format(&w->class_id, VSS_GUID_BRACES, id));
	rc |= vss__wp_add(&out, "instance-id",
			  vss_guid_format(&w->instance_id, VSS_GUID_BRACES, id));
	if (w->instance_name)
		rc |= vss__wp_add(&out, "instance-name", w->instance_name);
	rc |= vss__wp_addf(&out, "freeze-timeout", "%u", w->freeze_timeout_ms);
	if (rc == 0)
		rc = vss__wp_end(&out, body, body_len);
	if (rc < 0) {
		rc = -ENOMEM;
		goto out;
	}
	rc = send_all(c->fd, out.data, out.len);
	if (rc < 0)
		vss__debug("writer %s: reply to %d not sent: %s", w->name, (int)c->pid,
			   strerror(-rc));
out:
	sbuf_release(&out);
	return rc;
}

/*
 * The set, context, volumes and document of a request become the current
 * event's (all or nothing).  A bad value fails the event, with why.
 */
static int take_args(struct vss_writer *w, const struct vss__wp_message *m, char **ret_message)
{
	struct vss_guid set_id = { { 0 } };
	struct strv volumes = STRV_INIT;
	struct vss_bcd *bcd = NULL;
	struct sbuf why = SBUF_INIT;
	enum vss_backup_type type = VSS_BT_UNDEFINED;
	uint32_t context = 0;
	const char *v;
	int rc = 0;

	v = vss__wp_get(m, "set");
	if (v && vss_guid_parse(v, &set_id) < 0) {
		sbuf_addf(&why, "bad set '%s' in the request", v);
		goto bad;
	}
	v = vss__wp_get(m, "context");
	if (v && parse_hex_u32(v, &context) < 0) {
		sbuf_addf(&why, "bad context '%s' in the request", v);
		goto bad;
	}
	v = vss__wp_get(m, "backup-type");
	if (v && vss_backup_type_parse(v, &type) < 0) {
		sbuf_addf(&why, "bad backup type '%s' in the request", v);
		goto bad;
	}
	for (size_t i = 0; (v = vss__wp_get_nth(m, "volume", i)); i++)
		if (strv_push(&volumes, v) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	if (m->body) {
		rc = vss_bcd_load(m->body, m->body_len, "backup components document", &bcd);
		if (rc < 0) {
			sbuf_addf(&why, "the request's backup components document does not load: %s",
				  vss_error_last()->message);
			rc = 0;
			goto bad;
		}
	} else if (vss_guid_equal(&set_id, &w->set_id)) {
		/* Events without a document (Freeze...) still see the session's. */
		bcd = vss_bcd_ref(w->bcd);
	}
	w->set_id = set_id;
	w->context = (int32_t)context;
	w->backup_type = (int)type;
	strv_release(&w->volumes);
	w->volumes = volumes;
	volumes = (struct strv)STRV_INIT;
	vss_bcd_unref(w->bcd);
	w->bcd = bcd;
	bcd = NULL;
	goto out;
bad:
	rc = -VSS_E_WRITERERROR_NONRETRYABLE;
	*ret_message = sbuf_detach(&why);
out:
	vss_bcd_unref(bcd);
	strv_release(&volumes);
	sbuf_release(&why);
	return rc;
}

static unsigned int request_freeze_timeout(const struct vss_writer *w,
					   const struct vss__wp_message *m)
{
	const char *v = vss__wp_get(m, "freeze-timeout");
	uint32_t ms;

	if (v && parse_u32(v, &ms) == 0 && ms > 0 && ms < w->freeze_timeout_ms)
		return ms;
	return w->freeze_timeout_ms;
}

/* One request: run it and reply.  < 0: drop the connection. */
static int handle_request(struct vss_writer *w, struct conn *c, const struct vss__wp_message *m)
{
	const char *word = vss__wp_get(m, "event");
	enum vss_writer_event event;
	char *message = NULL, *xml = NULL;
	size_t xml_len = 0;
	int failure = 0, rc;

	if (!word)
		return vss__error(-EPROTO, "protocol error on the writer socket: no event");
	if (strcmp(word, VSS__WP_STATUS) == 0)
		return reply(w, c, 0, NULL, NULL, 0);
	if (vss_writer_event_parse(word, &event) < 0) {
		struct sbuf sb = SBUF_INIT;

		sbuf_addf(&sb, "unknown event '%s'", word);
		rc = reply(w, c, -VSS_E_WRITERERROR_NONRETRYABLE, sbuf_str(&sb), NULL, 0);
		sbuf_release(&sb);
		return rc;
	}
	vss__debug("writer %s: %s from %d", w->name, word, (int)c->pid);
	if (event == VSS_EVENT_IDENTIFY) {
		/* Identify may come at any time and changes nothing (§4.3): the
		 * current event's set and volumes stay. */
		failure = identify(w, &xml, &xml_len, &message);
		if (failure == -ENOMEM)
			goto out_nomem;
		record(w, event, failure, message);
		message = NULL;
		rc = reply(w, c, failure, failure ? w->last_message : NULL, xml, xml_len);
		goto out;
	}
	if (event == VSS_EVENT_FREEZE && w->frozen) {
		/* Refused; the freeze that holds, and its event, stay as they are. */
		rc = reply(w, c, -VSS_E_WRITERERROR_NONRETRYABLE,
			   "the writer is frozen already: send Thaw or Abort first", NULL, 0);
		goto out;
	}
	failure = take_args(w, m, &message);
	if (failure == -ENOMEM)
		goto out_nomem;
	if (failure)
		goto done;

	switch (event) {
	case VSS_EVENT_FREEZE:
		w->timed_out = false;
		w->released = false;
		failure = call_handler(w, event, NULL, &message);
		if (failure == 0) {
			w->frozen = true;
			w->freeze_conn = c;
			w->armed_ms = request_freeze_timeout(w, m);
			timer_set(w, w->armed_ms);
		}
		break;
	case VSS_EVENT_THAW:
		if (w->frozen) {
			w->frozen = false;
			w->freeze_conn = NULL;
			timer_set(w, 0);
			failure = call_handler(w, event, NULL, &message);
		} else if (w->timed_out) {
			/* on_abort ran already; the state stays FAILED_AT_FREEZE,
			 * and the Abort that follows is not run again. */
			rc = reply(w, c, -VSS_E_WRITERERROR_TIMEOUT, w->last_message, NULL, 0);
			goto out;
		} else {
			failure = -VSS_E_WRITERERROR_NONRETRYABLE;
			vss__strset(&message, "Thaw without a Freeze: nothing is frozen");
		}
		break;
	case VSS_EVENT_ABORT:
		if (w->frozen) {
			w->frozen = false;
			w->freeze_conn = NULL;
			timer_set(w, 0);
			failure = call_handler(w, event, NULL, &message);
		} else if (w->released) {
			/* The timer, or the requester leaving, released that freeze
			 * with on_abort already: never twice for one freeze. */
			w->released = false;
			w->timed_out = false;
		} else {
			failure = call_handler(w, event, NULL, &message);
		}
		break;
	default:
		w->timed_out = false;
		w->released = false;
		failure = call_handler(w, event, NULL, &message);
		break;
	}
done:
	record(w, event, failure, message);
	message = NULL;
	rc = reply(w, c, failure, failure ? w->last_message : NULL, NULL, 0);
	goto out;
out_nomem:
	rc = -ENOMEM;
out:
	free(message);
	free(xml);
	return rc;
}

/* Readable: take what came, run every whole request. */
static void conn_ready(struct vss_writer *w, struct conn *c)
{
	unsigned int generation = w->generation;
	char *buf = malloc(READ_CHUNK);
	size_t off = 0;
	ssize_t n;

	if (!buf)
		return;   /* level-triggered: tried again at the next dispatch */
	do
		n = read(c->fd, buf, READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		goto out;
	if (n <= 0) {
		conn_close(w, c);
		goto out;
	}
	while (off < (size_t)n) {
		struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
		size_t used = 0;
		int rc;

		rc = vss__wp_parser_feed(&c->parser, buf + off, (size_t)n - off, &used, &m);
		off += used;
		if (rc == 1) {
			rc = handle_request(w, c, &m);
			vss__wp_message_clear(&m);
			/* A handler that unsubscribed dropped every connection. */
			if (generation != w->generation)
				goto out;
		}
		if (rc < 0) {
			vss__debug("writer %s: dropping requester %d: %s", w->name, (int)c->pid,
				   vss_error_last()->message);
			conn_close(w, c);
			goto out;
		}
	}
out:
	free(buf);
}

/* A peer that is not root: say why, and nothing more. */
static void refuse(int fd, uid_t uid)
{
	struct sbuf out = SBUF_INIT;
	char drain[4096];

	if (vss__wp_add(&out, "result", "refused") == 0 &&
	    vss__wp_add(&out, "message", VSS__WP_REFUSED_MESSAGE) == 0 &&
	    vss__wp_end(&out, NULL, 0) == 0)
		(void)!send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	sbuf_release(&out);
	/* Closing with unread input would reset the connection before the
	 * peer reads the reply: end our side, drop what it sent. */
	shutdown(fd, SHUT_WR);
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	close(fd);
	vss__debug("writer: refused a requester of uid %u", (unsigned int)uid);
}

static void accept_all(struct vss_writer *w)
{
	for (int i = 0; i < MAX_EVENTS; i++) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct conn *c;
		int fd;

		fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;   /* EAGAIN, or out of fds: the backlog waits */
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			continue;
		}
		if (cred.uid != 0) {
			refuse(fd, cred.uid);
			continue;
		}
		if (w->nconns >= MAX_CONNECTIONS) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || epoll_add(w->epoll_fd, fd, c) < 0) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->pid = cred.pid;
		c->next = w->conns;
		w->conns = c;
		w->nconns++;
		vss__debug("writer %s: requester %d connected", w->name, (int)c->pid);
	}
}

/* ---- subscription ----------------------------------------------------------------- */

VSS_EXPORT int vss_writer_subscribe(struct vss_writer *w)
{
	char id[VSS_GUID_STRING_MAX];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct sbuf dir = SBUF_INIT, path = SBUF_INIT;
	bool bound = false;
	int fd = -1, rc;

	if (!w)
		return vss__error(-EINVAL, "no writer given");
	if (w->listen_fd >= 0)
		return vss__error(-VSS_E_WRITER_ALREADY_SUBSCRIBED,
				  "writer '%s' is subscribed already", w->name);
	if (sbuf_addf(&dir, "%s/%s", w->ctx->rundir, VSS__WRITER_SOCKET_DIR) < 0 ||
	    sbuf_addf(&path, "%s/%s.sock", sbuf_str(&dir),
		      vss_guid_format(&w->instance_id, 0, id)) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (path.len >= sizeof(addr.sun_path)) {
		rc = vss__error(-ENAMETOOLONG,
				"writer socket path '%s' is too long for a Unix socket (at most %zu bytes): use a shorter VSS_RUNDIR",
				sbuf_str(&path), sizeof(addr.sun_path) - 1);
		goto out;
	}
	memcpy(addr.sun_path, path.data, path.len + 1);
	rc = vss__mkdir_p(sbuf_str(&dir), 0755);
	if (rc < 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = vss__error(-errno, "cannot create the writer socket: %s", strerror(errno));
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		rc = vss__error(-errno, "cannot bind the writer socket '%s': %s", addr.sun_path,
				strerror(errno));
		goto out;
	}
	bound = true;
	/* Anybody may connect, to be told clearly that only root may drive
	 * writers: the peer check is the gate, not the mode. */
	if (chmod(addr.sun_path, 0666) < 0 || listen(fd, 64) < 0) {
		rc = vss__error(-errno, "cannot listen on the writer socket '%s': %s",
				addr.sun_path, strerror(errno));
		goto out;
	}
	rc = epoll_add(w->epoll_fd, fd, &w->listen_fd);
	if (rc < 0) {
		rc = vss__error(rc, "cannot watch the writer socket: %s", strerror(-rc));
		goto out;
	}
	w->listen_fd = fd;
	fd = -1;
	w->socket_path = sbuf_detach(&path);
	vss__debug("writer %s: listening on %s", w->name, w->socket_path);
out:
	if (fd >= 0) {
		if (bound)
			unlink(addr.sun_path);
		close(fd);
	}
	sbuf_release(&dir);
	sbuf_release(&path);
	return rc;
}

VSS_EXPORT int vss_writer_unsubscribe(struct vss_writer *w)
{
	if (!w || w->listen_fd < 0)
		return 0;
	/* Keep the promise of exactly one on_thaw/on_abort per freeze. */
	release_by_abort(w, false);
	while (w->conns)
		conn_close(w, w->conns);
	w->generation++;
	close_fd(&w->listen_fd);
	if (w->socket_path && unlink(w->socket_path) < 0 && errno != ENOENT)
		vss__debug("writer %s: cannot remove %s: %s", w->name, w->socket_path,
			   strerror(errno));
	free(w->socket_path);
	w->socket_path = NULL;
	return 0;
}

/* ---- the loop ------------------------------------------------------------------------ */

VSS_EXPORT int vss_writer_get_fd(const struct vss_writer *w)
{
	return w ? w->epoll_fd : -EINVAL;
}

VSS_EXPORT int vss_writer_dispatch(struct vss_writer *w)
{
	struct epoll_event evs[MAX_EVENTS];
	unsigned int generation;
	int n;

	if (!w)
		return vss__error(-EINVAL, "no writer given");
	n = epoll_wait(w->epoll_fd, evs, MAX_EVENTS, 0);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return vss__error(-errno, "writer event loop: %s", strerror(errno));
	}
	generation = w->generation;
	for (int i = 0; i < n && generation == w->generation; i++) {
		void *p = evs[i].data.ptr;

		if (p == &w->stop_fd) {
			uint64_t v;

			(void)!read(w->stop_fd, &v, sizeof(v));
		} else if (p == &w->timer_fd) {
			uint64_t v;

			if (read(w->timer_fd, &v, sizeof(v)) == (ssize_t)sizeof(v) && w->frozen) {
				vss__debug("writer %s: freeze timeout of %u ms passed", w->name,
					   w->armed_ms);
				release_by_abort(w, true);
			}
		} else if (p == &w->listen_fd) {
			if (w->listen_fd >= 0)
				accept_all(w);
		} else {
			conn_ready(w, p);
		}
	}
	return 0;
}

VSS_EXPORT int vss_writer_run(struct vss_writer *w)
{
	int rc = 0;

	if (!w)
		return vss__error(-EINVAL, "no writer given");
	if (w->listen_fd < 0)
		return vss__error(-VSS_E_BAD_STATE,
				  "writer '%s' is not subscribed: call vss_writer_subscribe() first",
				  w->name);
	while (!w->stop) {
		struct pollfd pfd = { .fd = w->epoll_fd, .events = POLLIN };

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = vss__error(-errno, "writer event loop: %s", strerror(errno));
			break;
		}
		rc = vss_writer_dispatch(w);
		if (rc < 0)
			break;
	}
	w->stop = 0;
	return rc;
}

VSS_EXPORT void vss_writer_stop(struct vss_writer *w)
{
	uint64_t one = 1;

	if (!w)
		return;
	w->stop = 1;
	/* Wakes a poll that started before the flag was set. */
	(void)!write(w->stop_fd, &one, sizeof(one));
}

/* ---- what a handler sees ----------------------------------------------------------------- */

VSS_EXPORT const struct vss_guid *vss_writer_get_instance_id(const struct vss_writer *w)
{
	return &w->instance_id;
}

VSS_EXPORT const struct vss_guid *vss_writer_get_snapshot_set_id(const struct vss_writer *w)
{
	return &w->set_id;
}

VSS_EXPORT int32_t vss_writer_get_context(const struct vss_writer *w)
{
	return w->context;
}

VSS_EXPORT int vss_writer_get_backup_type(const struct vss_writer *w)
{
	return w->backup_type;
}

VSS_EXPORT enum vss_writer_state vss_writer_get_state(const struct vss_writer *w)
{
	return w->state;
}

VSS_EXPORT const char *const *vss_writer_get_volumes(const struct vss_writer *w)
{
	static const char *const none[] = { NULL };

	return w->volumes.items ? (const char *const *)w->volumes.items : none;
}

/* The device of path, or of its nearest existing ancestor. */
static int device_of(const char *path, dev_t *ret)
{
	struct sbuf sb = SBUF_INIT;
	struct stat st;
	int rc = -ENOENT;

	if (sbuf_adds(&sb, path) < 0)
		return -ENOMEM;
	for (;;) {
		char *slash;

		if (stat(sbuf_str(&sb), &st) == 0) {
			*ret = st.st_dev;
			rc = 0;
			break;
		}
		slash = strrchr(sb.data, '/');
		if (!slash || slash == sb.data) {
			if (stat("/", &st) == 0) {
				*ret = st.st_dev;
				rc = 0;
			}
			break;
		}
		*slash = '\0';
		sb.len = (size_t)(slash - sb.data);
	}
	sbuf_release(&sb);
	return rc;
}

/*
 * On a volume of the set: below one of its mount points (after resolving
 * symbolic links), or on the same filesystem (a bind mount elsewhere).
 */
VSS_EXPORT bool vss_writer_is_path_affected(const struct vss_writer *w, const char *path)
{
	char *real;
	const char *p;
	dev_t dev = 0;
	bool have_dev, found = false;

	if (!w || !path || !*path || !w->volumes.count)
		return false;
	real = realpath(path, NULL);
	p = real ? real : path;
	have_dev = device_of(p, &dev) == 0;
	for (size_t i = 0; i < w->volumes.count && !found; i++) {
		const char *mnt = w->volumes.items[i];
		struct stat st;

		if (p[0] == '/' && path_is_under(p, mnt))
			found = true;
		else if (have_dev && stat(mnt, &st) == 0 && st.st_dev == dev)
			found = true;
	}
	free(real);
	return found;
}

VSS_EXPORT const struct vss_bcd *vss_writer_get_bcd(const struct vss_writer *w)
{
	return w->bcd;
}

VSS_EXPORT int vss_writer_set_failure_message(struct vss_writer *w, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;
	int rc;

	if (!w || !fmt)
		return vss__error(-EINVAL, "no writer or message given");
	va_start(ap, fmt);
	rc = sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (rc < 0) {
		sbuf_release(&sb);
		return -ENOMEM;
	}
	free(w->failure_message);
	w->failure_message = sbuf_detach(&sb);
	sbuf_release(&sb);
	return w->failure_message ? 0 : -ENOMEM;
}
