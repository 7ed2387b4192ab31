/*
 * Finding the writers of this machine (GatherWriterMetadata): express
 * writers from $SYSCONFDIR/writers.d, live writers from their sockets,
 * asked Identify all at once; and the listing built on it
 * (vss_writer_query, GatherWriterStatus).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/file.h"
#include "util/banned.h"

int vss__writers_gather(struct vss_context *ctx, unsigned int timeout_ms,
			struct vss__writer ***ret, size_t *ret_n)
{
	struct vss__writer **ws = NULL;
	struct vss__event_args args = { .event = VSS_EVENT_IDENTIFY, .timeout_ms = timeout_ms };
	size_t n = 0;
	int rc;

	rc = vss__express_writers_load(ctx, &ws, &n);
	if (rc < 0)
		goto fail;
	if (vss_context_can_modify(ctx)) {
		rc = vss__live_writers_connect(ctx, timeout_ms, &ws, &n);
		if (rc < 0)
			goto fail;
	}
	vss__writers_send(ws, n, &args);
	*ret = ws;
	*ret_n = n;
	return 0;
fail:
	vss__writers_free(ws, n);
	return rc;
}

struct vss_writer_info {
	char *name;
	struct vss_guid class_id;
	struct vss_guid instance_id;
	const char *kind;
	enum vss_writer_state state;
	int failure;
	char *failure_message;
	enum vss_writer_event failed_event;
	char *path;
	struct vss_wmd *wmd;
};

struct vss_writer_info_list {
	struct vss_writer_info *items;
	size_t count;
};

static int info_from_writer(struct vss_writer_info *info, const struct vss__writer *w)
{
	info->class_id = w->class_id;
	info->instance_id = w->instance_id;
	info->kind = w->ops->kind;
	info->state = w->state;
	info->failure = w->failure;
	info->failed_event = w->failed_event;
	info->wmd = vss_wmd_ref(w->wmd);
	if (vss__strset(&info->name, w->name) < 0 ||
	    vss__strset(&info->failure_message, w->failure_message) < 0 ||
	    vss__strset(&info->path, w->path) < 0)
		return -ENOMEM;
	return 0;
}

int vss__writer_info_list_new(struct vss__writer *const *ws, size_t n,
			      struct vss_writer_info_list **ret)
{
	struct vss_writer_info_list *list = calloc(1, sizeof(*list));
	int rc = 0;

	if (!list)
		return -ENOMEM;
	list->items = calloc(n ? n : 1, sizeof(*list->items));
	if (!list->items)
		rc = -ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = info_from_writer(&list->items[list->count++], ws[i]);
	if (rc < 0) {
		vss_writer_info_list_unref(list);
		return rc;
	}
	*ret = list;
	return 0;
}

/* Live writers we may not ask: known only by their socket's name. */
static int add_unasked_live(const struct vss_context *ctx, struct vss_writer_info_list *list)
{
	struct sbuf dir = SBUF_INIT;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	sbuf_addf(&dir, "%s/%s", ctx->rundir, VSS__WRITER_SOCKET_DIR);
	d = opendir(sbuf_str(&dir));
	if (!d)
		goto out;
	while ((de = readdir(d))) {
		char id[VSS_GUID_STRING_MAX] = "";
		size_t len = strlen(de->d_name);
		struct vss_writer_info *grown, *info;

		if (len < 6 || strcmp(de->d_name + len - 5, ".sock") != 0 ||
		    len - 5 >= sizeof(id))
			continue;
		memcpy(id, de->d_name, len - 5);
		grown = realloc(list->items, (list->count + 1) * sizeof(*grown));
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		list->items = grown;
		info = &list->items[list->count];
		memset(info, 0, sizeof(*info));
		if (vss_guid_parse(id, &info->instance_id) < 0)
			continue;
		info->kind = "live";
		info->state = VSS_WS_UNKNOWN;
		info->failure = -EPERM;
		info->path = path_join(sbuf_str(&dir), de->d_name);
		if (vss__strset(&info->failure_message, "only root may ask live writers") < 0 ||
		    !info->path) {
			rc = -ENOMEM;
			break;
		}
		list->count++;
	}
	closedir(d);
out:
	sbuf_release(&dir);
	return rc;
}

static int compare_info(const void *a, const void *b)
{
	const struct vss_writer_info *x = a, *y = b;
	int c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	char gx[VSS_GUID_STRING_MAX], gy[VSS_GUID_STRING_MAX];

	if (c)
		return c;
	return strcmp(vss_guid_format(&x->instance_id, 0, gx), vss_guid_format(&y->instance_id, 0, gy));
}

VSS_EXPORT int vss_writer_query(struct vss_context *ctx, unsigned int timeout_ms,
				struct vss_writer_info_list **ret)
{
	struct vss_writer_info_list *list = NULL;
	struct vss__writer **ws = NULL;
	size_t n = 0;
	int rc;

	rc = vss__writers_gather(ctx, timeout_ms ? timeout_ms : 5000, &ws, &n);
	if (rc < 0)
		return rc;
	/* Express writers have nobody to ask: the last requester's record. */
	for (size_t i = 0; i < n; i++)
		if (strcmp(ws[i]->ops->kind, "express") == 0)
			vss__writer_status_load(ctx, ws[i]);
	rc = vss__writer_info_list_new(ws, n, &list);
	if (rc == 0 && !vss_context_can_modify(ctx))
		rc = add_unasked_live(ctx, list);
	vss__writers_free(ws, n);
	if (rc < 0) {
		vss_writer_info_list_unref(list);
		return rc;
	}
	qsort(list->items, list->count, sizeof(*list->items), compare_info);
	*ret = list;
	return 0;
}

VSS_EXPORT size_t vss_writer_info_list_count(const struct vss_writer_info_list *list)
{
	return list ? list->count : 0;
}

VSS_EXPORT const struct vss_writer_info *
vss_writer_info_list_get(const struct vss_writer_info_list *list, size_t i)
{
	return list && i < list->count ? &list->items[i] : NULL;
}

VSS_EXPORT struct vss_writer_info_list *
vss_writer_info_list_unref(struct vss_writer_info_list *list)
{
	if (!list)
		return NULL;
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].name);
		free(list->items[i].failure_message);
		free(list->items[i].path);
		vss_wmd_unref(list->items[i].wmd);
	}
	free(list->items);
	free(list);
	return NULL;
}

VSS_EXPORT const char *vss_writer_info_get_name(const struct vss_writer_info *w)
{
	return w->name;
}

VSS_EXPORT const struct vss_guid *vss_writer_info_get_class_id(const struct vss_writer_info *w)
{
	return &w->class_id;
}

VSS_EXPORT const struct vss_guid *vss_writer_info_get_instance_id(const struct vss_writer_info *w)
{
	return &w->instance_id;
}

VSS_EXPORT const char *vss_writer_info_get_kind(const struct vss_writer_info *w)
{
	return w->kind;
}

VSS_EXPORT enum vss_writer_state vss_writer_info_get_state(const struct vss_writer_info *w)
{
	return w->state;
}

VSS_EXPORT int vss_writer_info_get_failure(const struct vss_writer_info *w)
{
	return w->failure;
}

VSS_EXPORT const char *vss_writer_info_get_failure_message(const struct vss_writer_info *w)
{
	return w->failure_message;
}

VSS_EXPORT enum vss_writer_event vss_writer_info_get_failed_event(const struct vss_writer_info *w)
{
	return w->failed_event;
}

VSS_EXPORT const char *vss_writer_info_get_path(const struct vss_writer_info *w)
{
	return w->path;
}

VSS_EXPORT const struct vss_wmd *vss_writer_info_get_wmd(const struct vss_writer_info *w)
{
	return w->wmd;
}
