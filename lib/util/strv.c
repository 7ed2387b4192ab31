#include "strv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void strv_release(struct strv *v)
{
	for (size_t i = 0; i < v->count; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->count = 0;
	v->cap = 0;
}

int strv_push_owned(struct strv *v, char *s)
{
	if (!s)
		return -ENOMEM;
	if (v->count + 1 >= v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		char **p = realloc(v->items, cap * sizeof(*p));

		if (!p) {
			free(s);
			return -ENOMEM;
		}
		v->items = p;
		v->cap = cap;
	}
	v->items[v->count++] = s;
	v->items[v->count] = NULL;
	return 0;
}

int strv_push(struct strv *v, const char *s)
{
	return strv_push_owned(v, strdup(s));
}

bool strv_contains(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->count; i++)
		if (strcmp(v->items[i], s) == 0)
			return true;
	return false;
}

int strv_push_unique(struct strv *v, const char *s)
{
	return strv_contains(v, s) ? 0 : strv_push(v, s);
}
