/*
 * The message format of the live writer socket (writer-protocol.h): an
 * encoder into struct sbuf and an incremental parser, shared by the
 * requester end and the writer end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "writer-protocol.h"
#include "util/parse.h"
#include "util/banned.h"

/* Bodies grow as they arrive: a peer announcing 256 MiB gets memory only
 * for what it actually sends. */
#define BODY_FIRST_ALLOC ((size_t)1 << 20)

void vss__wp_message_clear(struct vss__wp_message *m)
{
	if (!m)
		return;
	strv_release(&m->keys);
	strv_release(&m->values);
	free(m->body);
	m->body = NULL;
	m->body_len = 0;
}

const char *vss__wp_get_nth(const struct vss__wp_message *m, const char *key, size_t n)
{
	for (size_t i = 0; i < m->keys.count; i++)
		if (strcmp(m->keys.items[i], key) == 0 && n-- == 0)
			return m->values.items[i];
	return NULL;
}

const char *vss__wp_get(const struct vss__wp_message *m, const char *key)
{
	return vss__wp_get_nth(m, key, 0);
}

/* ---- encoding -------------------------------------------------------------- */

int vss__wp_add(struct sbuf *out, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = value ? strlen(value) : 0, start;

	/* Grow once, so a failure leaves out as it was. */
	if (sbuf_grow(out, klen + vlen + 2) < 0)
		return -ENOMEM;
	start = out->len;
	sbuf_add(out, key, klen);
	sbuf_addch(out, '=');
	sbuf_add(out, value ? value : "", vlen);
	sbuf_addch(out, '\n');
	for (size_t i = start + klen + 1; i < out->len - 1; i++)
		if (out->data[i] == '\n')
			out->data[i] = ' ';
	return 0;
}

int vss__wp_addf(struct sbuf *out, const char *key, const char *fmt, ...)
{
	struct sbuf value = SBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sbuf_vaddf(&value, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = vss__wp_add(out, key, sbuf_str(&value));
	sbuf_release(&value);
	return rc;
}

int vss__wp_end(struct sbuf *out, const char *body, size_t len)
{
	char length[40];
	int n = 0;

	if (body) {
		n = snprintf(length, sizeof(length), "length=%zu\n", len);
		if (n < 0 || (size_t)n >= sizeof(length))
			return -EINVAL;
	} else {
		len = 0;
	}
	if (len > VSS__WP_BODY_MAX)
		return vss__error(-EMSGSIZE, "a message body of %zu bytes is over the limit of %zu",
				  len, VSS__WP_BODY_MAX);
	if (sbuf_grow(out, (size_t)n + 1 + len) < 0)
		return -ENOMEM;
	sbuf_add(out, length, (size_t)n);
	sbuf_addch(out, '\n');
	if (len)
		sbuf_add(out, body, len);
	return 0;
}

/* ---- parsing --------------------------------------------------------------- */

static bool key_is_valid(const char *key, size_t len)
{
	if (len == 0 || len > VSS__WP_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

void vss__wp_parser_reset(struct vss__wp_parser *p)
{
	sbuf_release(&p->header);
	sbuf_release(&p->body);
	vss__wp_message_clear(&p->msg);
	p->line_start = 0;
	p->in_body = false;
	p->body_want = 0;
}

bool vss__wp_parser_is_partial(const struct vss__wp_parser *p)
{
	return p->header.len > 0 || p->in_body;
}

static int protocol_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int protocol_error(const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return vss__error(-EPROTO, "protocol error on the writer socket: %s", why);
}

/* The empty line came: split the header into keys and values. */
static int end_header(struct vss__wp_parser *p)
{
	char *s = p->header.data, *end = s + p->header.len;
	bool has_length = false;
	uint64_t length = 0;

	if (p->header.len == 0)
		return protocol_error("empty message");
	if (memchr(s, '\0', p->header.len))
		return protocol_error("NUL byte in a message header");
	while (s < end) {
		char *nl = memchr(s, '\n', (size_t)(end - s));
		char *eq;

		/* Every line was stored with its newline. */
		*nl = '\0';
		eq = strchr(s, '=');
		if (!eq)
			return protocol_error("header line without '=': '%.40s'", s);
		if (!key_is_valid(s, (size_t)(eq - s)))
			return protocol_error("bad key in header line '%.40s'", s);
		*eq = '\0';
		if (strcmp(s, "length") == 0) {
			if (has_length)
				return protocol_error("length given twice");
			if (parse_u64(eq + 1, &length) < 0 || length > VSS__WP_BODY_MAX)
				return protocol_error("bad body length '%.40s' (at most %zu bytes)",
						      eq + 1, VSS__WP_BODY_MAX);
			has_length = true;
		}
		if (strv_push(&p->msg.keys, s) < 0 || strv_push(&p->msg.values, eq + 1) < 0)
			return -ENOMEM;
		s = nl + 1;
	}
	sbuf_release(&p->header);
	p->line_start = 0;
	if (has_length) {
		p->body_want = (size_t)length;
		p->in_body = true;
		if (sbuf_grow(&p->body, p->body_want < BODY_FIRST_ALLOC ?
					p->body_want + 1 : BODY_FIRST_ALLOC) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The message is whole: hand it over and get ready for the next. */
static int complete(struct vss__wp_parser *p, struct vss__wp_message *ret)
{
	if (p->in_body) {
		/* sbuf_detach never fails when the buffer has memory. */
		p->msg.body_len = p->body.len;
		p->msg.body = sbuf_detach(&p->body);
		if (!p->msg.body)
			return -ENOMEM;
	}
	*ret = p->msg;
	memset(&p->msg, 0, sizeof(p->msg));
	p->in_body = false;
	p->body_want = 0;
	return 1;
}

int vss__wp_parser_feed(struct vss__wp_parser *p, const char *data, size_t len,
			size_t *ret_used, struct vss__wp_message *ret)
{
	size_t i = 0;
	int rc = 0;

	while (i < len) {
		if (!p->in_body) {
			const char *nl = memchr(data + i, '\n', len - i);
			size_t n = nl ? (size_t)(nl - (data + i)) : len - i;

			if (p->header.len + n + 1 > VSS__WP_HEADER_MAX) {
				rc = protocol_error("message header longer than %zu bytes",
						    VSS__WP_HEADER_MAX);
				goto out;
			}
			if (n && sbuf_add(&p->header, data + i, n) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			i += n;
			if (!nl)
				break;
			i++;
			if (p->header.len == p->line_start) {
				rc = end_header(p);
				if (rc < 0)
					goto out;
				if (!p->in_body) {
					rc = complete(p, ret);
					goto out;
				}
				if (p->body_want == 0) {
					rc = complete(p, ret);
					goto out;
				}
				continue;
			}
			if (sbuf_addch(&p->header, '\n') < 0) {
				rc = -ENOMEM;
				goto out;
			}
			p->line_start = p->header.len;
		} else {
			size_t n = p->body_want - p->body.len;

			if (n > len - i)
				n = len - i;
			if (sbuf_add(&p->body, data + i, n) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			i += n;
			if (p->body.len == p->body_want) {
				rc = complete(p, ret);
				goto out;
			}
		}
	}
out:
	*ret_used = i;
	return rc;
}

int vss__wp_parse(const char *data, size_t len, struct vss__wp_message *ret)
{
	struct vss__wp_parser p = VSS__WP_PARSER_INIT;
	struct vss__wp_message m = { STRV_INIT, STRV_INIT, NULL, 0 };
	size_t used = 0;
	int rc;

	rc = vss__wp_parser_feed(&p, data, len, &used, &m);
	if (rc == 0)
		rc = protocol_error("message cut short after %zu bytes", len);
	else if (rc == 1 && used != len)
		rc = protocol_error("%zu bytes after the end of the message", len - used);
	if (rc == 1) {
		*ret = m;
		rc = 0;
	} else {
		vss__wp_message_clear(&m);
	}
	vss__wp_parser_reset(&p);
	return rc;
}
