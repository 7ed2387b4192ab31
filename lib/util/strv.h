/*
 * A NULL-terminated, growable vector of malloc()ed strings.
 * Invariant: items[count] == NULL whenever items != NULL.
 */
#ifndef VSS_UTIL_STRV_H
#define VSS_UTIL_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
	char **items;
	size_t count;
	size_t cap;
};

#define STRV_INIT { NULL, 0, 0 }

void strv_release(struct strv *v);
/* Append a copy of s. -ENOMEM. */
int strv_push(struct strv *v, const char *s);
/* Append s itself (taking ownership; freed on failure). */
int strv_push_owned(struct strv *v, char *s);
/* Append a copy unless an equal string is there already. */
int strv_push_unique(struct strv *v, const char *s);
bool strv_contains(const struct strv *v, const char *s);

#endif
