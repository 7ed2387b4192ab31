/*
 * Writers as a requester drives them (internal to libvss).
 *
 * A requester holds one struct vss__writer per writer it talks to.  The kind
 * of writer (express: hook commands run by the requester; live: a program
 * answering on a Unix socket) hides behind struct vss__writer_ops, so the
 * fan-out (writer-events.c) never knows which it talks to.  Every op is
 * non-blocking: start() begins an event and names one file descriptor to
 * poll; advance() is called when it is ready and says whether the event has
 * finished.  The fan-out runs all writers of an event at once in one poll
 * loop, each against its own deadline, and cancel()s the late ones.
 *
 * Files:
 *   writer-state.c    names of states/events/failures, the transition table
 *   writer-events.c   the parallel fan-out with per-writer timeouts
 *   writer-status.c   the state record a requester leaves for vss-list
 *   writer-gather.c   finding every writer of the machine (Identify)
 *   writer-express.c  express writers: registration files, hook commands
 *   writer-client.c   live writers, the requester end of the socket
 *   writer-live.c     live writers, the writer end (public <vss/writer.h>)
 *   writer-protocol.c the message format on the socket
 */
#ifndef VSS_WRITER_PRIVATE_H
#define VSS_WRITER_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vss-private.h"

#define VSS__WRITERS_DIR        "writers.d"      /* under the config dir */
#define VSS__WRITER_SOCKET_DIR  "writers"        /* under the run dir */
#define VSS__WRITER_STATUS_DIR  "writer-status"  /* under the run dir */

/* Defaults (vss.conf: writer-freeze-timeout, writer-event-timeout). */
#define VSS__DEFAULT_FREEZE_TIMEOUT_MS 60000u
#define VSS__DEFAULT_EVENT_TIMEOUT_MS  600000u

/* What one event carries to every writer. */
struct vss__event_args {
	enum vss_writer_event event;
	struct vss_guid set_id;
	int32_t context;
	int backup_type;                 /* enum vss_backup_type */
	const char *const *volumes;      /* mount points of the set, NULL-terminated */
	const char *bcd_xml;             /* the BCD for the events that carry it, or NULL */
	size_t bcd_len;
	unsigned int timeout_ms;         /* for every writer, or 0: each writer's own */
};

/* How an event ended for one writer. */
struct vss__event_result {
	int failure;            /* 0 or -VSS_E_WRITERERROR_* / -VSS_E_WRITER_NOT_RESPONDING */
	char *message;          /* malloc()ed or NULL: the writer's words */
	char *body;             /* malloc()ed or NULL: Identify's WMD text */
	size_t body_len;
	/* What a live writer says of itself (has_state false otherwise). */
	bool has_state;
	enum vss_writer_state state;
	int last_failure;
	enum vss_writer_event last_failed_event;
	char *last_message;     /* malloc()ed or NULL */
	unsigned int freeze_timeout_ms;  /* the writer's own, 0 if not said */
};

struct vss__writer;

struct vss__writer_ops {
	const char *kind;       /* "express", "live" */
	/*
	 * Begin delivering args->event (args and what it points to stay valid
	 * until the event ends).  Never blocks for long.  Sets *ret_fd and
	 * *ret_events (POLLIN, POLLOUT) to wait on; or returns 1 when the
	 * event finished at once (res filled), 0 when it is under way, < 0
	 * when it could not be started (res->failure set to the failure to
	 * record, res->message to why).
	 */
	int (*start)(struct vss__writer *w, const struct vss__event_args *args,
		     int *ret_fd, short *ret_events, struct vss__event_result *res);
	/*
	 * The fd is ready (revents).  1: finished, res filled; 0: still under
	 * way, *ret_fd / *ret_events updated.  A broken writer is a finished
	 * event with res->failure set, not a negative return.
	 */
	int (*advance)(struct vss__writer *w, short revents, int *ret_fd, short *ret_events,
		       struct vss__event_result *res);
	/* The event ran past its deadline: stop it now (kill a hook...). */
	void (*cancel)(struct vss__writer *w);
	/* Optional: the writer's own timeout for event in ms, 0 for the
	 * default (a HOOK timeout of an express writer). */
	unsigned int (*event_timeout)(const struct vss__writer *w, enum vss_writer_event event);
	/* The requester is done with the writer: free priv; a live writer
	 * sees its requester leave, an express freeze hook sees stdin close. */
	void (*close)(struct vss__writer *w);
};

struct vss__writer {
	const struct vss__writer_ops *ops;
	void *priv;                      /* the kind's own state */
	char *path;                      /* registration file / socket */
	struct vss_wmd *wmd;             /* the Identify answer */
	char *name;
	struct vss_guid class_id;
	struct vss_guid instance_id;
	unsigned int freeze_timeout_ms;  /* Freeze to Thaw, at most */
	unsigned int event_timeout_ms;   /* any other event */

	enum vss_writer_state state;
	int failure;                     /* of the last failed event, or 0 */
	char *failure_message;
	enum vss_writer_event failed_event;

	bool excluded;      /* takes no (more) part in this session */
	bool prepared;      /* got PrepareForBackup: owes Abort on failure */
	bool frozen;        /* acknowledged Freeze and not yet released */
	uint64_t frozen_at; /* monotonic ns, when Freeze was sent */

	/* the last fan-out: did it include this writer, and how did it end */
	bool sent;
	int result;

	/* in flight, for the fan-out */
	int fd;
	short events;
	uint64_t deadline;
	bool busy;
};

/* ---- writer-state.c --------------------------------------------------- */

/* Record the end of event for w: state, failure, message (taken). */
void vss__writer_record(struct vss__writer *w, enum vss_writer_event event,
			struct vss__event_result *res);
/* "VSS_E_WRITERERROR_RETRYABLE" <-> code; for the socket and hook words
 * ("RETRYABLE", "NONRETRYABLE", "TIMEOUT", "OUTOFRESOURCES",
 * "INCONSISTENTSNAPSHOT" are also accepted).  -EINVAL if unknown. */
int vss__writer_failure_parse(const char *word, int *ret);
const char *vss__writer_failure_word(int failure);   /* "RETRYABLE"... */
void vss__event_result_clear(struct vss__event_result *res);

/* ---- writer-events.c -------------------------------------------------- */

/*
 * Send args->event to each writer of ws[0..n) that is not excluded (for
 * Thaw: only those frozen), all at once, and wait for every one until its
 * own deadline (Freeze: freeze_timeout_ms; others: event_timeout_ms).  A
 * late writer is cancelled and fails with -VSS_E_WRITERERROR_TIMEOUT.
 * Records every outcome (vss__writer_record) and keeps frozen/prepared up
 * to date.  Returns the number of writers that failed.
 */
size_t vss__writers_send(struct vss__writer **ws, size_t n, const struct vss__event_args *args);

/* ---- writer-status.c ------------------------------------------------- */

/* Record w's state for later listings ($RUNDIR/writer-status/<id>.status). */
int vss__writer_status_save(const struct vss_context *ctx, const struct vss__writer *w);
/* Fill w's state and failure from its record, if there is one. */
int vss__writer_status_load(const struct vss_context *ctx, struct vss__writer *w);

/* ---- writer-gather.c -------------------------------------------------- */

/*
 * Every writer of the machine, identified: express writers from their
 * files, live writers asked Identify (only as root).  Writers whose
 * Identify failed are in the list with that state.  *ret to
 * vss__writers_free().
 */
int vss__writers_gather(struct vss_context *ctx, unsigned int timeout_ms,
			struct vss__writer ***ret, size_t *ret_n);

/* A listing of writers (copies what it needs). */
int vss__writer_info_list_new(struct vss__writer *const *ws, size_t n,
			      struct vss_writer_info_list **ret);

/* ---- writer-express.c ------------------------------------------------- */

/*
 * Load every $SYSCONFDIR/writers.d/ *.xml (sorted by name) as an express
 * writer, appending to *ws (grown with realloc, *n updated).  A file that
 * does not load is an error naming it, and nothing is appended.  The WMD
 * is known without running anything (Identify is answered from the file).
 */
int vss__express_writers_load(const struct vss_context *ctx, struct vss__writer ***ws, size_t *n);

/* The writer's own timeout for event (a HOOK timeout), or 0. */
unsigned int vss__express_event_timeout(const struct vss__writer *w, enum vss_writer_event ev);

/* ---- writer-client.c -------------------------------------------------- */

/*
 * Connect to every live writer socket in $RUNDIR/writers/ (stale sockets
 * of writers that are gone are removed), appending to *ws.  Identify is
 * still to be sent.  Needs root: the writers refuse anybody else.
 */
int vss__live_writers_connect(const struct vss_context *ctx, unsigned int timeout_ms,
			      struct vss__writer ***ws, size_t *n);

/* ---- session-writers.c: the writers' half of a requester session ----- */

struct vss__backup;

int vss__backup_new(struct vss_context *ctx, struct vss__backup **ret);
/* Sends BackupShutdown to the writers if a backup was prepared. */
void vss__backup_free(struct vss__backup *b);
void vss__backup_set_flags(struct vss__backup *b, unsigned int flags);
void vss__backup_set_type(struct vss__backup *b, enum vss_backup_type type);
/* Before gathering: a writer name, class ID or instance ID. */
int vss__backup_exclude(struct vss__backup *b, const char *writer);
/* Identify every writer (once). */
int vss__backup_gather(struct vss__backup *b);
/* Pick the writers that take part in a set of these volumes (root paths). */
int vss__backup_select(struct vss__backup *b, const struct vss_guid *set_id, int32_t context,
		       const char *const *volumes, size_t nvolumes);
/*
 * For a restore (reference §4.2: writers with no component selected get no
 * restore events): the writers of these classes take part, after
 * vss__backup_gather().  -VSS_E_OBJECT_NOT_FOUND naming (names[k]) the
 * first class with no writer.  Then vss__backup_set_bcd() and
 * vss__backup_send(VSS_EVENT_PRE_RESTORE / VSS_EVENT_POST_RESTORE).
 */
int vss__backup_select_classes(struct vss__backup *b, const struct vss_guid *classes,
				const char *const *names, size_t n);
size_t vss__backup_writer_count(const struct vss__backup *b);
/* Add the taking-part writers and their components to bcd. */
int vss__backup_fill_bcd(struct vss__backup *b, struct vss_bcd *bcd);
/* The BCD the events that carry one will carry. */
int vss__backup_set_bcd(struct vss__backup *b, const struct vss_bcd *bcd);
/*
 * Send event to the writers taking part.  A writer failure is returned as
 * its failure code with a message naming writer, event and error — unless
 * failures are ignored: then the writer is left out (and sent Abort), a
 * notice says so, and 0 is returned.
 */
int vss__backup_send(struct vss__backup *b, enum vss_writer_event event);
/* Abort to every writer that was prepared or is frozen. */
void vss__backup_abort(struct vss__backup *b);
int vss__backup_complete(struct vss__backup *b);
/* The writers taking part (borrowed). */
size_t vss__backup_writers(const struct vss__backup *b, struct vss__writer *const **ret);

/* ---- common ----------------------------------------------------------- */

struct vss__writer *vss__writer_new(const struct vss__writer_ops *ops);
/* ops->close, then free. */
void vss__writer_free(struct vss__writer *w);
void vss__writers_free(struct vss__writer **ws, size_t n);

#endif
