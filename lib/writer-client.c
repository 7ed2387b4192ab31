/*
 * Live writers, the requester end: find the sockets in $RUNDIR/writers/,
 * connect, and drive each writer through struct vss__writer_ops without
 * ever blocking (writer-events.c polls every writer at once).  The wire
 * format is in writer-protocol.h.
 *
 * One connection per writer for the whole session: the writer ties a
 * freeze to the connection that sent Freeze, and releases it when that
 * connection closes.  So a cancelled event (past its deadline) closes the
 * connection — after a late Freeze that is exactly what must happen — and
 * the next event connects again.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vss-private.h"
#include "writer-private.h"
#include "writer-protocol.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/banned.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000u
/* Connecting again later, inside a session's poll loop, must be quick: a
 * Unix socket connects at once unless the writer's backlog is full. */
#define RECONNECT_TIMEOUT_MS 200u
#define READ_CHUNK ((size_t)64 << 10)

struct live {
	int fd;                      /* -1 when not connected */
	struct sbuf out;             /* the request being sent */
	size_t out_off;
	bool send_failed;            /* the writer stopped reading: read its last words */
	struct vss__wp_parser parser;
};

/* ---- connecting ----------------------------------------------------------------- */

static int connect_socket(const char *path, unsigned int timeout_ms, int *ret_fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint64_t deadline = vss__now_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
	int fd, rc;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		uint64_t now;

		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			rc = 0;
			break;
		}
		rc = -errno;
		if (rc == -EINTR)
			continue;
		now = vss__now_monotonic_ns();
		if (rc == -EINPROGRESS) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int err = 0;
			socklen_t len = sizeof(err);

			rc = poll(&pfd, 1, now < deadline ? (int)((deadline - now) / 1000000u) + 1 : 0);
			if (rc == 0) {
				rc = -ETIMEDOUT;
				break;
			}
			if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				rc = -errno;
			else
				rc = -err;
			break;
		}
		/* A full backlog: the writer is busy in a handler.  Try again. */
		if (rc != -EAGAIN)
			break;
		if (now >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		poll(NULL, 0, 10);
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	*ret_fd = fd;
	return 0;
}

static void live_reset(struct live *p)
{
	sbuf_release(&p->out);
	p->out_off = 0;
	p->send_failed = false;
	vss__wp_parser_reset(&p->parser);
}

static void live_disconnect(struct live *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	live_reset(p);
}

/* ---- the ops ----------------------------------------------------------------------- */

static int set_failure(struct vss__event_result *res, int failure, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_failure(struct vss__event_result *res, int failure, const char *fmt, ...)
{
	struct sbuf sb = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	res->failure = failure;
	free(res->message);
	res->message = sb.len ? sbuf_detach(&sb) : NULL;
	sbuf_release(&sb);
	return failure;
}

static int encode_request(const struct vss__writer *w, const struct vss__event_args *args,
			  struct sbuf *out)
{
	const char *event = vss_writer_event_name(args->event);
	const char *type = vss_backup_type_name((enum vss_backup_type)args->backup_type);
	char id[VSS_GUID_STRING_MAX];
	int rc = 0;

	rc |= vss__wp_add(out, "event", event ? event : VSS__WP_STATUS);
	rc |= vss__wp_add(out, "set", vss_guid_format(&args->set_id, VSS_GUID_BRACES, id));
	rc |= vss__wp_addf(out, "context", "0x%08x", (unsigned int)args->context);
	if (type)
		rc |= vss__wp_add(out, "backup-type", type);
	for (size_t i = 0; args->volumes && args->volumes[i]; i++)
		rc |= vss__wp_add(out, "volume", args->volumes[i]);
	rc |= vss__wp_addf(out, "freeze-timeout", "%u", w->freeze_timeout_ms);
	if (rc == 0)
		rc = vss__wp_end(out, args->bcd_xml, args->bcd_xml ? args->bcd_len : 0);
	return rc < 0 ? rc : 0;
}

/* Send what is left: 0 all sent, 1 the socket is full, < 0 the writer left. */
static int flush(struct live *p)
{
	while (p->out_off < p->out.len) {
		ssize_t n = send(p->fd, p->out.data + p->out_off, p->out.len - p->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			p->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* A whole reply: what it says goes into res. */
static int take_reply(struct vss__wp_message *m, struct vss__event_result *res)
{
	const char *result = vss__wp_get(m, "result");
	const char *v;
	uint32_t u;
	int code;

	if (!result)
		return set_failure(res, -VSS_E_WRITERERROR_NONRETRYABLE,
				   "bad reply from the writer: no result");
	if (strcmp(result, "ok") == 0) {
		res->failure = 0;
	} else if (strcmp(result, "failed") == 0) {
		v = vss__wp_get(m, "failure");
		if (!v || vss__writer_failure_parse(v, &code) < 0 || code == 0)
			code = -VSS_E_WRITERERROR_NONRETRYABLE;
		res->failure = code;
	} else if (strcmp(result, "refused") == 0) {
		res->failure = -EPERM;
	} else {
		return set_failure(res, -VSS_E_WRITERERROR_NONRETRYABLE,
				   "bad reply from the writer: result '%.40s'", result);
	}
	v = vss__wp_get(m, "message");
	if (res->failure && (v || res->failure == -EPERM) &&
	    vss__strset(&res->message, v ? v : VSS__WP_REFUSED_MESSAGE) < 0)
		return -ENOMEM;
	v = vss__wp_get(m, "state");
	if (v && parse_u32(v, &u) == 0 && u < VSS_WS_COUNT) {
		res->has_state = true;
		res->state = (enum vss_writer_state)u;
	}
	v = vss__wp_get(m, "last-failure");
	if (v && vss__writer_failure_parse(v, &code) == 0) {
		enum vss_writer_event ev;

		res->last_failure = code;
		v = vss__wp_get(m, "failed-event");
		if (v && vss_writer_event_parse(v, &ev) == 0)
			res->last_failed_event = ev;
		v = vss__wp_get(m, "last-message");
		if (v && vss__strset(&res->last_message, v) < 0)
			return -ENOMEM;
	}
	v = vss__wp_get(m, "freeze-timeout");
	if (v && parse_u32(v, &u) == 0 && u > 0)
		res->freeze_timeout_ms = u;
	if (m->body) {
		res->body = m->body;
		res->body_len = m->body_len;
		m->body = NULL;
	}
	return 0;
}

/*
 * Read what the writer sent.  1: the event finished (res filled), 0: more
 * to come.
 */
static int receive(struct vss__writer *w, struct live *p, struct vss__event_result *res)
{
	char *buf = malloc(READ_CHUNK);
	int rc = 0;

	if (!buf) {
		set_failure(res, -VSS_E_WRITERERROR_NONRETRYABLE, "out of memory");
		live_disconnect(p);
		return 1;
	}
	for (;;) {
		ssize_t n = recv(p->fd, buf, READ_CHUNK, MSG_DONTWAIT);
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			set_failure(res, -VSS_E_WRITER_NOT_RESPONDING,
				    "the writer closed the connection%s%s",
				    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
			live_disconnect(p);
			rc = 1;
			break;
		}
		while (off < (size_t)n) {
			struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
			size_t used = 0;
			int prc;

			prc = vss__wp_parser_feed(&p->parser, buf + off, (size_t)n - off, &used, &m);
			off += used;
			if (prc < 0) {
				set_failure(res, -VSS_E_WRITERERROR_NONRETRYABLE,
					    "bad reply from the writer '%s': %s", w->path,
					    vss_error_last()->message);
				live_disconnect(p);
				rc = 1;
				goto out;
			}
			if (prc == 1) {
				if (take_reply(&m, res) < 0)
					set_failure(res, -VSS_E_WRITERERROR_NONRETRYABLE,
						    "out of memory");
				vss__wp_message_clear(&m);
				/* Nothing else may come before the next request. */
				if (res->failure == -EPERM || off < (size_t)n || p->send_failed)
					live_disconnect(p);
				else
					live_reset(p);
				rc = 1;
				goto out;
			}
		}
	}
out:
	free(buf);
	return rc;
}

static int live_start(struct vss__writer *w, const struct vss__event_args *args, int *ret_fd,
		      short *ret_events, struct vss__event_result *res)
{
	struct live *p = w->priv;
	int rc;

	if (p->fd < 0) {
		rc = connect_socket(w->path, RECONNECT_TIMEOUT_MS, &p->fd);
		if (rc < 0)
			return set_failure(res, -VSS_E_WRITER_NOT_RESPONDING,
					   "cannot connect to the writer socket '%s': %s", w->path,
					   strerror(-rc));
	}
	live_reset(p);
	rc = encode_request(w, args, &p->out);
	if (rc < 0)
		return set_failure(res, -VSS_E_WRITERERROR_NONRETRYABLE,
				   "cannot build the request: %s", strerror(-rc));
	rc = flush(p);
	if (rc < 0)
		p->send_failed = true;
	*ret_fd = p->fd;
	*ret_events = rc == 1 ? POLLOUT : POLLIN;
	return 0;
}

static int live_advance(struct vss__writer *w, short revents, int *ret_fd, short *ret_events,
			struct vss__event_result *res)
{
	struct live *p = w->priv;
	int rc;

	(void)revents;
	if (p->fd < 0) {
		set_failure(res, -VSS_E_WRITER_NOT_RESPONDING, "the writer closed the connection");
		return 1;
	}
	if (!p->send_failed && p->out_off < p->out.len) {
		rc = flush(p);
		if (rc == 1) {
			*ret_fd = p->fd;
			*ret_events = POLLOUT;
			return 0;
		}
		/* A writer that stopped reading may still have said why. */
		if (rc < 0)
			p->send_failed = true;
	}
	rc = receive(w, p, res);
	if (rc == 0) {
		*ret_fd = p->fd;
		*ret_events = POLLIN;
	}
	return rc;
}

static void live_cancel(struct vss__writer *w)
{
	/* The writer sees its requester leave: a freeze it holds ends now. */
	live_disconnect(w->priv);
}

static void live_close(struct vss__writer *w)
{
	struct live *p = w->priv;

	if (!p)
		return;
	live_disconnect(p);
	free(p);
	w->priv = NULL;
}

static const struct vss__writer_ops live_ops = {
	.kind = "live",
	.start = live_start,
	.advance = live_advance,
	.cancel = live_cancel,
	.close = live_close,
};

/* ---- finding the writers ------------------------------------------------------------ */

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The socket names of dir ("<guid>.sock"), sorted. */
static int list_sockets(const char *dir, struct strv *names)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return vss__error(-errno, "cannot read the writer socket directory '%s': %s", dir,
				  strerror(errno));
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len != 36 + 5 || strcmp(de->d_name + 36, ".sock") != 0)
			continue;
		if (strv_push(names, de->d_name) < 0) {
			closedir(d);
			return -ENOMEM;
		}
	}
	closedir(d);
	if (names->count)
		qsort(names->items, names->count, sizeof(char *), compare_names);
	return 0;
}

static struct vss__writer *writer_for(const struct vss_context *ctx, const char *path,
				      const struct vss_guid *id, const char *bare_id, int fd)
{
	struct vss__writer *w = vss__writer_new(&live_ops);
	struct live *p = calloc(1, sizeof(*p));

	if (!w || !p)
		goto fail;
	p->fd = fd;
	w->priv = p;
	p = NULL;
	w->path = strdup(path);
	/* Until Identify says its name, a writer is known by its instance. */
	w->name = strdup(bare_id);
	if (!w->path || !w->name)
		goto fail;
	w->instance_id = *id;
	w->freeze_timeout_ms = ctx->writer_freeze_timeout_ms ? ctx->writer_freeze_timeout_ms :
				VSS__DEFAULT_FREEZE_TIMEOUT_MS;
	w->event_timeout_ms = ctx->writer_event_timeout_ms ? ctx->writer_event_timeout_ms :
			       VSS__DEFAULT_EVENT_TIMEOUT_MS;
	return w;
fail:
	free(p);
	if ((!w || !w->priv) && fd >= 0)
		close(fd);
	vss__writer_free(w);
	return NULL;
}

int vss__live_writers_connect(const struct vss_context *ctx, unsigned int timeout_ms,
			      struct vss__writer ***ws, size_t *n)
{
	struct strv names = STRV_INIT;
	struct vss__writer **found = NULL, **grown;
	size_t nfound = 0;
	char *dir = NULL;
	int rc;

	if (!timeout_ms)
		timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	dir = path_join(ctx->rundir, VSS__WRITER_SOCKET_DIR);
	if (!dir)
		return -ENOMEM;
	rc = list_sockets(dir, &names);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < names.count; i++) {
		char bare[37];
		struct vss_guid id;
		struct vss__writer *w;
		char *path;
		int fd = -1;

		memcpy(bare, names.items[i], 36);
		bare[36] = '\0';
		if (vss_guid_parse(bare, &id) < 0)
			continue;
		path = path_join(dir, names.items[i]);
		if (!path) {
			rc = -ENOMEM;
			goto out;
		}
		rc = connect_socket(path, timeout_ms, &fd);
		if (rc == -ECONNREFUSED || rc == -ENOENT) {
			/* Nobody listens: a writer that died without unsubscribing. */
			if (geteuid() == 0 && unlink(path) == 0)
				vss__debug("removed the stale writer socket %s", path);
			free(path);
			rc = 0;
			continue;
		}
		if (rc < 0)
			/* Listed anyway: its events fail as not responding, naming why. */
			vss__debug("writer socket %s: %s", path, strerror(-rc));
		w = writer_for(ctx, path, &id, bare, fd);
		free(path);
		if (!w) {
			rc = -ENOMEM;
			goto out;
		}
		grown = realloc(found, (nfound + 1) * sizeof(*found));
		if (!grown) {
			vss__writer_free(w);
			rc = -ENOMEM;
			goto out;
		}
		found = grown;
		found[nfound++] = w;
		rc = 0;
	}
	if (nfound) {
		grown = realloc(*ws, (*n + nfound) * sizeof(**ws));
		if (!grown) {
			rc = -ENOMEM;
			goto out;
		}
		*ws = grown;
		memcpy(*ws + *n, found, nfound * sizeof(*found));
		*n += nfound;
		nfound = 0;
	}
out:
	if (rc == -ENOMEM)
		rc = vss__error(-ENOMEM, "out of memory while connecting to live writers");
	vss__writers_free(found, nfound);
	strv_release(&names);
	free(dir);
	return rc;
}
