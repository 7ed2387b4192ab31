/*
 * Strict number parsing: the whole string must be the number (no leading
 * blanks, sign only where allowed, no trailing junk), and it must fit.
 * Returns 0, or -EINVAL (not a number) / -ERANGE (does not fit).
 */
#ifndef VSS_UTIL_PARSE_H
#define VSS_UTIL_PARSE_H

#include <stdint.h>

int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
/* Hexadecimal, with or without 0x. */
int parse_hex_u32(const char *s, uint32_t *ret);
/*
 * A duration in seconds with up to three decimals ("10", "0.5", "2.250"),
 * returned in milliseconds.
 */
int parse_seconds_ms(const char *s, uint64_t *ret_ms);

#endif
