#include "sbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sbuf_init(struct sbuf *sb)
{
	sb->data = NULL;
	sb->len = 0;
	sb->cap = 0;
}

void sbuf_release(struct sbuf *sb)
{
	free(sb->data);
	sbuf_init(sb);
}

const char *sbuf_str(const struct sbuf *sb)
{
	return sb->data ? sb->data : "";
}

int sbuf_grow(struct sbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > (size_t)-1 - sb->len - 1)
		return -ENOMEM;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	p = realloc(sb->data, cap);
	if (!p)
		return -ENOMEM;
	if (!sb->data)
		p[0] = '\0';
	sb->data = p;
	sb->cap = cap;
	return 0;
}

int sbuf_add(struct sbuf *sb, const char *data, size_t len)
{
	int rc = sbuf_grow(sb, len);

	if (rc < 0)
		return rc;
	memcpy(sb->data + sb->len, data, len);
	sb->len += len;
	sb->data[sb->len] = '\0';
	return 0;
}

int sbuf_adds(struct sbuf *sb, const char *str)
{
	return sbuf_add(sb, str, strlen(str));
}

int sbuf_addch(struct sbuf *sb, char c)
{
	return sbuf_add(sb, &c, 1);
}

int sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n, rc;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	rc = sbuf_grow(sb, (size_t)n);
	if (rc < 0)
		return rc;
	vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return rc;
}

char *sbuf_detach(struct sbuf *sb)
{
	char *p = sb->data;

	if (!p)
		p = calloc(1, 1);
	sbuf_init(sb);
	return p;
}
