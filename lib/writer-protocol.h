/*
 * The live writer protocol: what a requester (writer-client.c) and a live
 * writer (writer-live.c) say to each other on the writer's Unix socket.
 *
 * The socket
 *   $RUNDIR/writers/<instance-id>.sock, the instance ID as a bare lower-case
 *   GUID; SOCK_STREAM, mode 0666 in a directory of mode 0755.  Anybody may
 *   connect; the writer checks its peer with SO_PEERCRED and serves root
 *   only.  A socket nobody listens on (ECONNREFUSED) is a writer that died:
 *   a root requester removes it.
 *
 * Messages (both ways)
 *   Header lines "key=value\n", ended by an empty line ("\n").  A key is
 *   1..64 characters of [a-z0-9-]; a value is any bytes but '\n' and NUL
 *   (senders replace newlines in values by spaces).  When the header has
 *   "length=N" (decimal), exactly N bytes of body follow the empty line.
 *   A key may be repeated where said (volume=); the first occurrence of any
 *   other counts.  Limits: the header 64 KiB, the body 256 MiB; anything
 *   over, a line without '=', a bad key, a bad or repeated length, a NUL in
 *   the header, or an empty header, is a protocol error: the receiver
 *   closes the connection.  Unknown keys are ignored (room to grow).
 *
 * Requests (requester -> writer), one at a time on a connection: the next
 * is sent once the reply to the last has come.
 *   event=<Identify|PrepareForBackup|...|PostRestore> (vss_writer_event_name)
 *         or event=Status: nothing runs, the reply says the writer's state
 *   set={guid}                the shadow copy set (absent: null GUID)
 *   context=0x%08x            the set's context
 *   backup-type=<word>        vss_backup_type_name(): full, copy...
 *   volume=<mount point>      one per volume of the set, in order
 *   freeze-timeout=<ms>       how long the requester waits from Freeze to
 *                             Thaw; the writer releases a freeze itself after
 *                             the smaller of this and its own timeout
 *   body                      the Backup Components Document, for the
 *                             events that carry one
 *
 * Replies (writer -> requester), one per request:
 *   result=ok|failed|refused
 *   failure=<word>            when failed: RETRYABLE, NONRETRYABLE,
 *                             OUTOFRESOURCES, INCONSISTENTSNAPSHOT, TIMEOUT
 *   message=<text>            why (failed, refused), when the writer said
 *   state=<number>            the writer's VSS_WS_* after the event
 *   failed-event=<event>      the writer's last failed event, with
 *   last-failure=<word>       its failure word and
 *   last-message=<text>       message (only while it has one: a failure is
 *                             kept until PrepareForBackup/PreRestore succeed)
 *   name=, class-id={guid}, instance-id={guid}, instance-name=,
 *   freeze-timeout=<ms>       the writer's identity and its own timeout
 *   body                      Identify: the Writer Metadata Document
 *   A peer that is not root gets "result=refused" and "message=only root
 *   may drive writers", and the connection is closed; nothing runs.
 *
 * Freeze: after a successful Freeze the writer holds until Thaw or Abort
 * (on any root connection), until the connection that sent Freeze closes,
 * or until its freeze timeout passes; then it calls exactly one of
 * on_thaw/on_abort.  After the timeout its state is FAILED_AT_FREEZE with
 * failure TIMEOUT, and a late Thaw gets result=failed failure=TIMEOUT.
 * After a release without Thaw (timeout, connection closed) the next Abort
 * answers ok without running on_abort again; a later one runs it (VSS may
 * repeat Abort).  A second Freeze while frozen is refused; a Thaw with
 * nothing frozen fails NONRETRYABLE and runs nothing.
 */
#ifndef VSS_WRITER_PROTOCOL_H
#define VSS_WRITER_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#include "vss-private.h"

#define VSS__WP_HEADER_MAX   ((size_t)64 << 10)
#define VSS__WP_BODY_MAX     VSS__XML_MAX_SIZE
#define VSS__WP_KEY_MAX      64
/* The event word of a request that runs nothing (vss__event_args.event). */
#define VSS__WP_STATUS       "Status"
#define VSS__WP_EVENT_STATUS VSS_EVENT_COUNT
/* How long a writer waits for a slow requester to take its reply. */
#define VSS__WP_SEND_TIMEOUT_MS 5000u
/* What a refused peer is told. */
#define VSS__WP_REFUSED_MESSAGE "only root may drive writers"

/* One received message.  keys[i] goes with values[i]. */
struct vss__wp_message {
	struct strv keys;
	struct strv values;
	char *body;          /* NUL-terminated (not counted), or NULL without length= */
	size_t body_len;
};

void vss__wp_message_clear(struct vss__wp_message *m);
/* The first value of key, or NULL. */
const char *vss__wp_get(const struct vss__wp_message *m, const char *key);
/* The n-th (from 0) value of key, or NULL: for repeated keys. */
const char *vss__wp_get_nth(const struct vss__wp_message *m, const char *key, size_t n);

/*
 * Building a message into out: header lines, then vss__wp_end().  Newlines
 * in values become spaces; key must be a valid key (the caller's constant).
 * -ENOMEM leaves out as it was.
 */
int vss__wp_add(struct sbuf *out, const char *key, const char *value);
int vss__wp_addf(struct sbuf *out, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "length=N" when body is not NULL, the empty line, the body. */
int vss__wp_end(struct sbuf *out, const char *body, size_t len);

/*
 * The incremental parser: feed bytes as they arrive, get whole messages.
 * One parser per connection and direction; VSS__WP_PARSER_INIT or zeroed.
 */
struct vss__wp_parser {
	struct sbuf header;          /* the header read so far */
	size_t line_start;           /* offset of the current line in header */
	bool in_body;
	struct vss__wp_message msg;  /* being built */
	struct sbuf body;
	size_t body_want;
};

#define VSS__WP_PARSER_INIT { SBUF_INIT, 0, false, { STRV_INIT, STRV_INIT, NULL, 0 }, SBUF_INIT, 0 }

void vss__wp_parser_reset(struct vss__wp_parser *p);
/*
 * Consume data[0..len): *ret_used bytes were taken.  Returns 1 when a
 * message is complete (moved into *ret, which the caller clears; the
 * bytes after it were not taken), 0 when all was taken and more is needed,
 * -EPROTO on a protocol error (message set; the parser must be reset
 * before reuse) or -ENOMEM.
 */
int vss__wp_parser_feed(struct vss__wp_parser *p, const char *data, size_t len,
			size_t *ret_used, struct vss__wp_message *ret);
/* True when some bytes of an unfinished message were taken. */
bool vss__wp_parser_is_partial(const struct vss__wp_parser *p);

/* Parse a whole buffer holding exactly one message (tests, simple users). */
int vss__wp_parse(const char *data, size_t len, struct vss__wp_message *ret);

#endif
