#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_unsigned(const char *s, int base, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || !isxdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	if (errno)
		return -EINVAL;
	*ret = v;
	return 0;
}

int parse_u64(const char *s, uint64_t *ret)
{
	if (s && !isdigit((unsigned char)s[0]))
		return -EINVAL;
	return parse_unsigned(s, 10, ret);
}

int parse_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int rc = parse_u64(s, &v);

	if (rc < 0)
		return rc;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int parse_hex_u32(const char *s, uint32_t *ret)
{
	uint64_t v;
	int rc;

	if (s && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	rc = parse_unsigned(s, 16, &v);
	if (rc < 0)
		return rc;
	if (v > UINT32_MAX)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
	long long v;
	char *end;

	if (!s || !*s || !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE)
		return -ERANGE;
	*ret = v;
	return 0;
}

int parse_seconds_ms(const char *s, uint64_t *ret_ms)
{
	uint64_t whole = 0, frac = 0;
	const char *dot;
	char intpart[32];
	size_t n;
	int rc, digits = 0;

	if (!s || !*s)
		return -EINVAL;
	dot = strchr(s, '.');
	n = dot ? (size_t)(dot - s) : strlen(s);
	if (n == 0 || n >= sizeof(intpart))
		return n == 0 ? -EINVAL : -ERANGE;
	memcpy(intpart, s, n);
	intpart[n] = '\0';
	rc = parse_u64(intpart, &whole);
	if (rc < 0)
		return rc;
	if (dot) {
		const char *p = dot + 1;

		if (!*p)
			return -EINVAL;
		for (; *p; p++, digits++) {
			if (!isdigit((unsigned char)*p) || digits >= 3)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*p - '0');
		}
		for (; digits < 3; digits++)
			frac *= 10;
	}
	if (whole > (UINT64_MAX - frac) / 1000)
		return -ERANGE;
	*ret_ms = whole * 1000 + frac;
	return 0;
}
