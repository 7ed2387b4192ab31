/*
 * The fan-out of one writer event: sent to every writer at once, answered
 * in one poll loop, each writer against its own deadline.  A slow writer
 * delays nobody but itself; the event ends when the last writer answered
 * or ran out of time, so the whole takes about as long as the slowest one.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/banned.h"

static bool takes_part(const struct vss__writer *w, enum vss_writer_event event)
{
	switch (event) {
	case VSS_EVENT_THAW:
		return w->frozen;
	case VSS_EVENT_ABORT:
		return w->prepared || w->frozen;
	default:
		return !w->excluded;
	}
}

static unsigned int timeout_for(const struct vss__writer *w, const struct vss__event_args *args)
{
	enum vss_writer_event event = args->event;
	unsigned int own = 0;

	if (args->timeout_ms)
		return args->timeout_ms;
	if (event == VSS_EVENT_FREEZE)
		return w->freeze_timeout_ms;
	if (w->ops->event_timeout)
		own = w->ops->event_timeout(w, event);
	return own ? own : w->event_timeout_ms;
}

/* The freeze window of w has passed: Freeze to Thaw took too long. */
static bool freeze_window_passed(const struct vss__writer *w, uint64_t now)
{
	return now - w->frozen_at > (uint64_t)w->freeze_timeout_ms * 1000000u;
}

static void finish(struct vss__writer *w, enum vss_writer_event event,
		   struct vss__event_result *res)
{
	uint64_t now = vss__now_monotonic_ns();

	w->busy = false;
	w->fd = -1;
	switch (event) {
	case VSS_EVENT_FREEZE:
		/* Only an acknowledged Freeze owes a Thaw.  A writer that failed
		 * or timed out may be half frozen: it is still prepared, so it
		 * gets the Abort that follows. */
		w->frozen = res->failure == 0;
		break;
	case VSS_EVENT_THAW:
		if (res->failure == 0 && freeze_window_passed(w, now)) {
			res->failure = -VSS_E_WRITERERROR_TIMEOUT;
			free(res->message);
			res->message = NULL;
			vss__strset(&res->message, "the shadow copy took longer than the writer's freeze timeout");
		}
		w->frozen = false;
		break;
	case VSS_EVENT_ABORT:
		w->frozen = false;
		w->prepared = false;
		break;
	default:
		break;
	}
	vss__debug("writer '%s': %s %s%s%s", w->name ? w->name : w->path,
		   vss_writer_event_name(event), res->failure ? "failed: " : "ok",
		   res->failure ? vss_writer_failure_text(res->failure) : "",
		   res->message ? res->message : "");
	w->result = res->failure;
	vss__writer_record(w, event, res);
}

static void start_one(struct vss__writer *w, const struct vss__event_args *args, uint64_t now)
{
	struct vss__event_result res = { 0 };
	int rc;

	w->deadline = now + (uint64_t)timeout_for(w, args) * 1000000u;
	if (args->event == VSS_EVENT_FREEZE)
		w->frozen_at = now;
	if (args->event == VSS_EVENT_PREPARE_BACKUP)
		w->prepared = true;
	w->fd = -1;
	w->events = 0;
	rc = w->ops->start(w, args, &w->fd, &w->events, &res);
	if (rc == 0) {
		w->busy = true;
		return;
	}
	if (rc < 0 && res.failure == 0)
		res.failure = -VSS_E_WRITERERROR_NONRETRYABLE;
	if (rc < 0 && !res.message)
		vss__strset(&res.message, vss_error_last()->message);
	finish(w, args->event, &res);
}

static void time_out(struct vss__writer *w, const struct vss__event_args *args)
{
	enum vss_writer_event event = args->event;
	struct vss__event_result res = { 0 };
	unsigned int ms = timeout_for(w, args);
	struct sbuf sb = SBUF_INIT;

	w->ops->cancel(w);
	/* A writer silent at Identify is absent, not one that ran late. */
	res.failure = event == VSS_EVENT_IDENTIFY ? -VSS_E_WRITER_NOT_RESPONDING
						  : -VSS_E_WRITERERROR_TIMEOUT;
	sbuf_addf(&sb, "no answer to %s within %u.%03u s", vss_writer_event_name(event), ms / 1000,
		  ms % 1000);
	res.message = sbuf_detach(&sb);
	finish(w, event, &res);
}

size_t vss__writers_send(struct vss__writer **ws, size_t n, const struct vss__event_args *args)
{
	struct pollfd *pfds = calloc(n ? n : 1, sizeof(*pfds));
	size_t *index = calloc(n ? n : 1, sizeof(*index));
	size_t failed = 0;
	uint64_t now = vss__now_monotonic_ns();

	for (size_t i = 0; i < n; i++) {
		ws[i]->sent = takes_part(ws[i], args->event);
		if (ws[i]->sent)
			start_one(ws[i], args, now);
	}

	for (;;) {
		uint64_t next = UINT64_MAX;
		size_t npfd = 0;
		int wait_ms, rc;

		now = vss__now_monotonic_ns();
		for (size_t i = 0; i < n; i++) {
			struct vss__writer *w = ws[i];

			if (!w->busy)
				continue;
			if (now >= w->deadline) {
				time_out(w, args);
				continue;
			}
			if (w->deadline < next)
				next = w->deadline;
			if (pfds && index) {
				pfds[npfd].fd = w->fd;
				pfds[npfd].events = w->events;
				pfds[npfd].revents = 0;
				index[npfd++] = i;
			}
		}
		if (next == UINT64_MAX)
			break;
		/* Round up, so a deadline is never polled for 0 ms in a loop. */
		wait_ms = (int)((next - now + 999999u) / 1000000u);
		if (!pfds || !index) {
			/* Out of memory: nothing can be watched; give up on them. */
			for (size_t i = 0; i < n; i++)
				if (ws[i]->busy)
					time_out(ws[i], args);
			break;
		}
		rc = poll(pfds, npfd, wait_ms);
		if (rc < 0 && errno != EINTR)
			break;
		for (size_t k = 0; rc > 0 && k < npfd; k++) {
			struct vss__writer *w = ws[index[k]];
			struct vss__event_result res = { 0 };

			if (!pfds[k].revents || !w->busy)
				continue;
			if (w->ops->advance(w, pfds[k].revents, &w->fd, &w->events, &res) != 0)
				finish(w, args->event, &res);
			else
				vss__event_result_clear(&res);
		}
	}
	/* poll() itself failed: whatever is still under way is given up. */
	for (size_t i = 0; i < n; i++)
		if (ws[i]->busy)
			time_out(ws[i], args);
	for (size_t i = 0; i < n; i++)
		if (ws[i]->sent && ws[i]->result != 0)
			failed++;
	free(pfds);
	free(index);
	return failed;
}
