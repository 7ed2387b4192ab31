/*
 * A small growable string buffer.
 *
 * Invariants: data is NULL when cap is 0; otherwise data[len] == '\0' and
 * len < cap.  A failed append leaves the buffer as it was and returns
 * -ENOMEM.  SBUF_INIT or sbuf_init() before use, sbuf_release() after.
 */
#ifndef VSS_UTIL_SBUF_H
#define VSS_UTIL_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *data;
	size_t len;
	size_t cap;
};

#define SBUF_INIT { NULL, 0, 0 }

void sbuf_init(struct sbuf *sb);
void sbuf_release(struct sbuf *sb);
/* The text; "" for an empty buffer, never NULL. */
const char *sbuf_str(const struct sbuf *sb);
int sbuf_grow(struct sbuf *sb, size_t extra);
int sbuf_add(struct sbuf *sb, const char *data, size_t len);
int sbuf_adds(struct sbuf *sb, const char *str);
int sbuf_addch(struct sbuf *sb, char c);
int sbuf_addf(struct sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hand the text over (malloc()ed, never NULL on success); the buffer is
 * left empty.  NULL only when allocating an empty string fails. */
char *sbuf_detach(struct sbuf *sb);

#endif
