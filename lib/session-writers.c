/*
 * The writers' half of a requester session (reference §4.1): which writers
 * take part, the events of the backup sequence sent to them, and what a
 * writer failure does to the set.
 *
 * A writer takes part when it identified itself, was not excluded by the
 * caller, and one of its components has a file on a volume of the set (a
 * writer that names no file at all always takes part: it may care about
 * anything).  "On a volume" means on the same filesystem as the volume's
 * root (same st_dev): for btrfs that is also the same subvolume, which is
 * exactly what a snapshot of it holds.
 *
 * A component with files both on a volume of the set and on one outside it
 * would be copied half: its writer fails with INCONSISTENTSNAPSHOT
 * (reference §3.16, "add volumes and retry") before anything is frozen.
 *
 * By default a failing writer fails the set, naming the writer, the event
 * and its error.  With VSS_WRITERS_IGNORE_FAILURES it is left out of the
 * rest of the sequence (it gets Abort) and the copy is crash-consistent for
 * its data; each such writer is reported through the notice callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/banned.h"

struct vss__backup {
	struct vss_context *ctx;
	unsigned int flags;
	struct strv excluded;           /* names or IDs given by the caller */
	struct vss__writer **all;       /* every writer found */
	size_t nall;
	struct vss__writer **part;      /* those taking part (borrowed from all) */
	size_t npart;
	bool gathered;
	bool prepared;                  /* PrepareForBackup was sent */
	bool shut_down;                 /* BackupShutdown was sent */
	struct vss__event_args args;
	struct strv volumes;
	const char *volume_list[VSS_MAX_VOLUMES_PER_SET + 1];
	char *bcd_xml;
	size_t bcd_len;
};

static int settle(struct vss__backup *b);

int vss__backup_new(struct vss_context *ctx, struct vss__backup **ret)
{
	struct vss__backup *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->ctx = ctx;
	b->args.backup_type = VSS_BT_COPY;
	*ret = b;
	return 0;
}

void vss__backup_set_flags(struct vss__backup *b, unsigned int flags)
{
	b->flags = flags;
}

void vss__backup_set_type(struct vss__backup *b, enum vss_backup_type type)
{
	b->args.backup_type = (int)type;
}

int vss__backup_exclude(struct vss__backup *b, const char *writer)
{
	if (!writer || !*writer)
		return vss__error(-EINVAL, "name a writer to exclude (its name, class ID or instance ID)");
	if (b->gathered)
		return vss__error(-VSS_E_BAD_STATE, "writers must be excluded before they are gathered");
	return strv_push(&b->excluded, writer);
}

/* Does the caller's word name w?  Names compare without case, as in
 * diskshadow's "writer exclude". */
static bool names_writer(const char *word, const struct vss__writer *w)
{
	struct vss_guid id;

	if (vss_guid_parse(word, &id) == 0)
		return vss_guid_equal(&id, &w->class_id) || vss_guid_equal(&id, &w->instance_id);
	return w->name && strcasecmp(word, w->name) == 0;
}

int vss__backup_gather(struct vss__backup *b)
{
	int rc;

	if (b->gathered)
		return 0;
	rc = vss__writers_gather(b->ctx, b->ctx->writer_event_timeout_ms, &b->all, &b->nall);
	if (rc < 0)
		return rc;
	b->gathered = true;
	for (size_t i = 0; i < b->excluded.count; i++) {
		bool found = false;

		for (size_t j = 0; j < b->nall; j++)
			if (names_writer(b->excluded.items[i], b->all[j])) {
				b->all[j]->excluded = true;
				found = true;
			}
		if (!found)
			return vss__error(-VSS_E_OBJECT_NOT_FOUND,
					  "no writer '%s' to exclude (see vss-list --writers)",
					  b->excluded.items[i]);
	}
	for (size_t j = 0; j < b->nall; j++)
		if (b->all[j]->state == VSS_WS_FAILED_AT_IDENTIFY) {
			b->all[j]->excluded = true;
			vss__notice(b->ctx, VSS_NOTICE_WRITER_FAILED, NULL, b->all[j]->failure,
				    "writer '%s' failed at Identify: %s%s%s; it takes no part",
				    b->all[j]->name ? b->all[j]->name : b->all[j]->path,
				    vss_writer_failure_text(b->all[j]->failure),
				    b->all[j]->failure_message ? ": " : "",
				    b->all[j]->failure_message ? b->all[j]->failure_message : "");
		}
	return 0;
}

/* Every file set of component c, whatever its kind. */
static const struct vss_wmd_file *component_file(const struct vss_wmd_component *c, size_t i)
{
	size_t nf = vss_wmd_component_file_count(c), nd = vss_wmd_component_database_file_count(c);

	if (i < nf)
		return vss_wmd_component_file_at(c, i);
	i -= nf;
	if (i < nd)
		return vss_wmd_component_database_file_at(c, i);
	i -= nd;
	if (i < vss_wmd_component_database_log_file_count(c))
		return vss_wmd_component_database_log_file_at(c, i);
	return NULL;
}

struct placement {
	const dev_t *devs;      /* of the set's volumes */
	size_t ndevs;
	bool inside;            /* a file on a volume of the set */
	bool outside;           /* a file that exists elsewhere */
	const char *outside_path;
};

static void place(struct placement *p, const char *path)
{
	struct stat st;

	/* Files that do not exist now cannot be in any copy. */
	if (!path || stat(path, &st) < 0)
		return;
	for (size_t i = 0; i < p->ndevs; i++)
		if (p->devs[i] == st.st_dev) {
			p->inside = true;
			return;
		}
	p->outside = true;
	p->outside_path = path;
}

/* Decide whether w takes part; fail it when a component would be cut. */
static bool select_writer(struct vss__writer *w, const dev_t *devs, size_t ndevs)
{
	size_t ncomp = w->wmd ? vss_wmd_component_count(w->wmd) : 0;
	bool any_file = false, affected = false;

	for (size_t i = 0; i < ncomp; i++) {
		const struct vss_wmd_component *c = vss_wmd_component_at(w->wmd, i);
		struct placement p = { .devs = devs, .ndevs = ndevs };
		const struct vss_wmd_file *f;

		for (size_t k = 0; (f = component_file(c, k)); k++) {
			any_file = true;
			place(&p, vss_wmd_file_get_path(f));
		}
		if (!p.inside)
			continue;
		affected = true;
		if (p.outside) {
			struct vss__event_result res = { .failure = -VSS_E_WRITERERROR_INCONSISTENTSNAPSHOT };
			struct sbuf sb = SBUF_INIT;

			sbuf_addf(&sb, "component '%s' has files on '%s', which is not in the set: add its volume",
				  vss_wmd_component_get_name(c), p.outside_path);
			res.message = sbuf_detach(&sb);
			w->sent = true;
			w->result = res.failure;
			vss__writer_record(w, VSS_EVENT_PREPARE_SNAPSHOT, &res);
			return true;
		}
	}
	return affected || !any_file;
}

int vss__backup_select(struct vss__backup *b, const struct vss_guid *set_id, int32_t context,
		       const char *const *volumes, size_t nvolumes)
{
	dev_t devs[VSS_MAX_VOLUMES_PER_SET];
	size_t ndevs = 0;
	int rc;

	b->args.set_id = *set_id;
	b->args.context = context;
	strv_release(&b->volumes);
	for (size_t i = 0; i < nvolumes && i < VSS_MAX_VOLUMES_PER_SET; i++) {
		struct stat st;

		rc = strv_push(&b->volumes, volumes[i]);
		if (rc < 0)
			return rc;
		if (stat(volumes[i], &st) == 0)
			devs[ndevs++] = st.st_dev;
	}
	for (size_t i = 0; i < b->volumes.count; i++)
		b->volume_list[i] = b->volumes.items[i];
	b->volume_list[b->volumes.count] = NULL;
	b->args.volumes = b->volume_list;
	free(b->part);
	b->part = calloc(b->nall ? b->nall : 1, sizeof(*b->part));
	if (!b->part)
		return -ENOMEM;
	b->npart = 0;
	for (size_t i = 0; i < b->nall; i++) {
		struct vss__writer *w = b->all[i];

		w->sent = false;
		if (w->excluded)
			continue;
		if (select_writer(w, devs, ndevs))
			b->part[b->npart++] = w;
		else
			w->excluded = true;
	}
	/* A writer whose component would be cut fails before any event. */
	for (size_t i = 0; i < b->npart; i++)
		if (b->part[i]->sent)
			vss__writer_status_save(b->ctx, b->part[i]);
	return settle(b);
}

int vss__backup_select_classes(struct vss__backup *b, const struct vss_guid *classes,
				const char *const *names, size_t n)
{
	free(b->part);
	b->part = calloc(b->nall ? b->nall : 1, sizeof(*b->part));
	if (!b->part)
		return vss__error(-ENOMEM, "out of memory");
	b->npart = 0;
	for (size_t k = 0; k < n; k++) {
		bool found = false;

		for (size_t i = 0; i < b->nall; i++) {
			struct vss__writer *w = b->all[i];

			if (!vss_guid_equal(&w->class_id, &classes[k]))
				continue;
			found = true;
			if (w->excluded)
				continue;
			/* One writer may own several of the components. */
			for (size_t j = 0; j < b->npart; j++)
				if (b->part[j] == w)
					goto next;
			b->part[b->npart++] = w;
next:
			;
		}
		if (!found) {
			char g[VSS_GUID_STRING_MAX];

			return vss__error(-VSS_E_OBJECT_NOT_FOUND,
					  "writer '%s' (%s) is neither registered nor running: its "
					  "components cannot be restored with it",
					  names && names[k] ? names[k] : "?",
					  vss_guid_format(&classes[k], VSS_GUID_BRACES, g));
		}
	}
	return 0;
}

size_t vss__backup_writer_count(const struct vss__backup *b)
{
	return b->npart;
}

int vss__backup_fill_bcd(struct vss__backup *b, struct vss_bcd *bcd)
{
	int rc = 0;

	for (size_t i = 0; i < b->npart && rc == 0; i++) {
		struct vss__writer *w = b->part[i];
		struct vss_bcd_writer *bw = NULL;
		size_t ncomp;

		if (w->excluded || !w->wmd)
			continue;
		rc = vss_bcd_add_writer(bcd, &w->instance_id, &w->class_id,
					vss_wmd_get_instance_name(w->wmd),
					vss_wmd_get_backup_schema(w->wmd), &bw);
		ncomp = vss_wmd_component_count(w->wmd);
		for (size_t k = 0; k < ncomp && rc == 0; k++) {
			const struct vss_wmd_component *c = vss_wmd_component_at(w->wmd, k);

			rc = vss_bcd_writer_add_component(bw, vss_wmd_component_get_type(c),
							  vss_wmd_component_get_logical_path(c),
							  vss_wmd_component_get_name(c), NULL);
		}
	}
	return rc;
}

int vss__backup_set_bcd(struct vss__backup *b, const struct vss_bcd *bcd)
{
	char *xml = NULL;
	size_t len = 0;
	int rc = vss_bcd_save(bcd, &xml, &len);

	if (rc < 0)
		return rc;
	free(b->bcd_xml);
	b->bcd_xml = xml;
	b->bcd_len = len;
	return 0;
}

static bool carries_bcd(enum vss_writer_event event)
{
	switch (event) {
	case VSS_EVENT_PREPARE_BACKUP:
	case VSS_EVENT_POST_SNAPSHOT:
	case VSS_EVENT_BACKUP_COMPLETE:
	case VSS_EVENT_PRE_RESTORE:
	case VSS_EVENT_POST_RESTORE:
		return true;
	default:
		return false;
	}
}

static void send_to(struct vss__backup *b, struct vss__writer **ws, size_t n,
		    enum vss_writer_event event)
{
	b->args.event = event;
	b->args.bcd_xml = carries_bcd(event) ? b->bcd_xml : NULL;
	b->args.bcd_len = carries_bcd(event) ? b->bcd_len : 0;
	vss__writers_send(ws, n, &b->args);
	if (event == VSS_EVENT_PREPARE_BACKUP)
		b->prepared = true;
	/* Not inside the freeze window: records are written after Thaw. */
	if (event == VSS_EVENT_FREEZE)
		return;
	for (size_t i = 0; i < n; i++)
		if (ws[i]->sent)
			vss__writer_status_save(b->ctx, ws[i]);
}

static const char *writer_label(const struct vss__writer *w)
{
	return w->name ? w->name : w->path;
}

/*
 * After an event (or the consistency check): every writer that took part
 * and failed either fails the set, or with VSS_WRITERS_IGNORE_FAILURES is
 * left out and sent Abort.
 */
static int settle(struct vss__backup *b)
{
	struct vss__writer **failed = calloc(b->npart ? b->npart : 1, sizeof(*failed));
	struct sbuf why = SBUF_INIT;
	size_t nfailed = 0;
	int rc = 0;

	if (!failed)
		return vss__error(-ENOMEM, "out of memory");
	for (size_t i = 0; i < b->npart; i++) {
		struct vss__writer *w = b->part[i];

		if (!w->sent || w->result == 0)
			continue;
		failed[nfailed++] = w;
		if (why.len)
			sbuf_adds(&why, "; ");
		sbuf_addf(&why, "writer '%s' failed at %s: %s", writer_label(w),
			  vss_writer_event_name(w->failed_event), vss_writer_failure_text(w->failure));
		if (w->failure_message)
			sbuf_addf(&why, " (%s)", w->failure_message);
		if (!rc)
			rc = w->failure;
	}
	if (!nfailed)
		goto out;
	if (!(b->flags & VSS_WRITERS_IGNORE_FAILURES)) {
		rc = vss__error(rc, "%s", sbuf_str(&why));
		goto out;
	}
	for (size_t i = 0; i < nfailed; i++) {
		struct vss__writer *w = failed[i];

		w->excluded = true;
		vss__notice(b->ctx, VSS_NOTICE_WRITER_FAILED, NULL, w->failure,
			    "writer '%s' failed at %s: %s%s%s; its data in the shadow copies is only crash-consistent",
			    writer_label(w), vss_writer_event_name(w->failed_event),
			    vss_writer_failure_text(w->failure), w->failure_message ? ": " : "",
			    w->failure_message ? w->failure_message : "");
	}
	/* Those left out go back to normal now, not at the end. */
	send_to(b, failed, nfailed, VSS_EVENT_ABORT);
	rc = 0;
out:
	free(failed);
	sbuf_release(&why);
	return rc;
}

int vss__backup_send(struct vss__backup *b, enum vss_writer_event event)
{
	send_to(b, b->part, b->npart, event);
	return settle(b);
}

void vss__backup_abort(struct vss__backup *b)
{
	if (b->npart)
		send_to(b, b->part, b->npart, VSS_EVENT_ABORT);
}

int vss__backup_complete(struct vss__backup *b)
{
	return vss__backup_send(b, VSS_EVENT_BACKUP_COMPLETE);
}

void vss__backup_free(struct vss__backup *b)
{
	if (!b)
		return;
	/* Every writer that was prepared hears that the backup is over,
	 * those left out after a failure included (reference §4.3). */
	if (b->prepared && !b->shut_down) {
		for (size_t i = 0; i < b->npart; i++)
			b->part[i]->excluded = false;
		send_to(b, b->part, b->npart, VSS_EVENT_BACKUP_SHUTDOWN);
		b->shut_down = true;
	}
	vss__writers_free(b->all, b->nall);
	free(b->part);
	strv_release(&b->excluded);
	strv_release(&b->volumes);
	free(b->bcd_xml);
	free(b);
}

size_t vss__backup_writers(const struct vss__backup *b, struct vss__writer *const **ret)
{
	*ret = b->part;
	return b->npart;
}
