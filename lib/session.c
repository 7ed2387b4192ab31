/*
 * The requester side of making one shadow copy set (reference §4.1, the
 * provider part; writers join in a later step):
 *
 *   start_set   machine-wide creation lock, leftovers of dead creators
 *               rolled back, set id
 *   add_volume  resolve, pick a provider, plan the copy
 *   do_snapshot_set
 *       prepare every copy with its provider        (outside the window)
 *       journal the planned copies, durably
 *       -- flush-and-hold window, bounded by the context's hold timeout --
 *       freeze the volumes whose engine does not hold writes itself
 *       commit every copy
 *       thaw (the freeze guard thaws on its own if we die or run late)
 *       --------------------------------------------------------------------
 *       write each copy's properties beside it, record the set in the
 *       catalog in one atomic step, drop the journal, release the lock
 *
 * Any failure deletes every copy already made and records nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "vss-private.h"
#include "writer-private.h"
#include "util/file.h"
#include "util/banned.h"

enum session_state {
	SESSION_NEW,
	SESSION_STARTED,   /* holds the creation lock */
	SESSION_DONE,      /* the set was made and recorded */
	SESSION_FAILED,    /* do_snapshot_set failed; the lock is released */
};

struct planned_copy {
	struct vss_volume *vol;
	const struct vss_provider *prov;
	struct vss_snapshot *snap;
	bool committed;
};

struct vss_session {
	int refcount;
	struct vss_context *ctx;
	enum session_state state;
	int32_t context;
	pid_t owner;
	int lock_fd;
	struct vss_guid set_id;
	struct planned_copy copies[VSS_MAX_VOLUMES_PER_SET];
	size_t ncopies;
	struct vss_snapshot_list *made;
	struct vss_bcd *bcd;       /* of the set, once writers or the caller need it */
	struct vss__backup *backup;  /* the writers' half */
	int backup_type;
	bool backup_completed;
};

/* Every copy is copy-on-write, whatever the engine. */
#define ENGINE_ATTRIBUTES VSS_VOLSNAP_ATTR_DIFFERENTIAL

VSS_EXPORT int vss_session_new(struct vss_context *ctx, struct vss_session **ret)
{
	struct vss_session *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->refcount = 1;
	s->ctx = vss_context_ref(ctx);
	s->context = VSS_CTX_APP_ROLLBACK;
	s->owner = getpid();
	s->lock_fd = -1;
	s->backup_type = VSS_BT_COPY;
	if (vss__backup_new(s->ctx, &s->backup) < 0) {
		vss_context_unref(s->ctx);
		free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

VSS_EXPORT struct vss_session *vss_session_ref(struct vss_session *s)
{
	if (s)
		s->refcount++;
	return s;
}

static void release_lock(struct vss_session *s)
{
	vss__unlock(s->lock_fd);
	s->lock_fd = -1;
}

VSS_EXPORT struct vss_session *vss_session_unref(struct vss_session *s)
{
	if (!s || --s->refcount > 0)
		return NULL;
	vss__backup_free(s->backup);
	release_lock(s);
	for (size_t i = 0; i < s->ncopies; i++) {
		vss_volume_unref(s->copies[i].vol);
		vss_snapshot_unref(s->copies[i].snap);
	}
	vss_snapshot_list_unref(s->made);
	vss_bcd_unref(s->bcd);
	vss_context_unref(s->ctx);
	free(s);
	return NULL;
}

static bool is_auto_release(int32_t context)
{
	return !(context & VSS_VOLSNAP_ATTR_NO_AUTO_RELEASE);
}

VSS_EXPORT int vss_session_set_context(struct vss_session *s, int32_t context)
{
	switch (context) {
	case VSS_CTX_BACKUP:
	case VSS_CTX_FILE_SHARE_BACKUP:
	case VSS_CTX_NAS_ROLLBACK:
	case VSS_CTX_APP_ROLLBACK:
	case VSS_CTX_CLIENT_ACCESSIBLE:
	case VSS_CTX_CLIENT_ACCESSIBLE_WRITERS:
		break;
	default:
		return vss__error(-VSS_E_UNSUPPORTED_CONTEXT,
				  "context 0x%x cannot be used to create shadow copies", (unsigned)context);
	}
	if (s->state != SESSION_NEW)
		return vss__error(-VSS_E_BAD_STATE, "the context must be set before the set is started");
	s->context = context;
	return 0;
}

VSS_EXPORT int vss_session_set_owner(struct vss_session *s, pid_t pid)
{
	if (!vss__process_is_alive(pid, 0))
		return vss__error(-ESRCH, "no process %ld to own the shadow copies", (long)pid);
	s->owner = pid;
	return 0;
}

VSS_EXPORT int vss_session_start_set(struct vss_session *s, unsigned int flags,
				     struct vss_guid *ret_set_id)
{
	char *lock_path = NULL;
	int rc;

	if (s->state != SESSION_NEW)
		return vss__error(-VSS_E_BAD_STATE, "a shadow copy set was already started in this session");
	rc = vss__require_root("creating shadow copies");
	if (rc < 0)
		return rc;
	rc = vss__mkdir_p(s->ctx->rundir, 0755);
	if (rc < 0)
		return rc;
	lock_path = path_join(s->ctx->rundir, VSS__CREATE_LOCK);
	if (!lock_path)
		return -ENOMEM;
	rc = vss__lock_take(lock_path, LOCK_EX, flags & VSS_START_WAIT, &s->lock_fd);
	free(lock_path);
	if (rc == -EWOULDBLOCK)
		return vss__error(-VSS_E_SNAPSHOT_SET_IN_PROGRESS,
				  "another shadow copy set is being created; try again later or wait for it with --wait");
	if (rc < 0)
		return rc;
	/* We hold the lock, so any journal left is from a creator that died.
	 * Its failure to clean up is reported but does not stop a new set. */
	vss__pending_recover(s->ctx);
	vss_guid_generate(&s->set_id);
	s->state = SESSION_STARTED;
	if (ret_set_id)
		*ret_set_id = s->set_id;
	return 0;
}

/* The provider asked for, or the first that supports vol. */
static int pick_provider(const struct vss_volume *vol, const char *name,
			 const struct vss_provider **ret)
{
	struct sbuf why = SBUF_INIT;
	const struct vss_provider *p;
	int rc;

	if (name) {
		p = vss_provider_find(name);
		if (!p)
			return vss_error_last()->code ? vss_error_last()->code
						      : -VSS_E_PROVIDER_NOT_REGISTERED;
		rc = p->supports(vol);
		if (rc < 0)
			return rc;
		*ret = p;
		return 0;
	}
	for (size_t i = 0; i < vss_provider_count(); i++) {
		p = (const struct vss_provider *)vss_provider_at(i);
		if (p->supports(vol) == 0) {
			*ret = p;
			sbuf_release(&why);
			return 0;
		}
		sbuf_addf(&why, "%s%s: %s", why.len ? "; " : "", p->name, vss_error_last()->message);
	}
	rc = vss__error(-VSS_E_VOLUME_NOT_SUPPORTED, "no provider can make a shadow copy of '%s' (%s)",
			vss_volume_get_path(vol), sbuf_str(&why));
	sbuf_release(&why);
	return rc;
}

static int plan_snapshot(struct vss_session *s, const struct vss_volume *vol,
			 const struct vss_provider *prov, struct vss_snapshot **ret)
{
	struct vss_snapshot *snap = vss__snapshot_new();
	char *machine = vss__machine_name();
	int rc = -ENOMEM;

	if (!snap || !machine)
		goto fail;
	vss_guid_generate(&snap->id);
	snap->set_id = s->set_id;
	rc = vss_guid_parse(prov->id, &snap->provider_id);
	if (rc < 0)
		goto fail;
	if (vss__strset(&snap->provider_name, prov->name) < 0 ||
	    vss__strset(&snap->original_volume, vss_volume_get_path(vol)) < 0 ||
	    vss__strset(&snap->original_device, vss_volume_get_device(vol)) < 0 ||
	    vss__strset(&snap->original_uuid, vss_volume_get_uuid(vol)) < 0 ||
	    vss__strset(&snap->original_fsroot, vss_volume_get_fsroot(vol)) < 0 ||
	    vss__strset(&snap->original_fstype, vss_volume_get_fstype(vol)) < 0 ||
	    vss__strset(&snap->originating_machine, machine) < 0 ||
	    vss__strset(&snap->service_machine, machine) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	snap->context = s->context;
	snap->attributes = (uint32_t)s->context | ENGINE_ATTRIBUTES;
	snap->state = VSS_SS_PREPARING;
	if (is_auto_release(s->context)) {
		snap->owner_pid = s->owner;
		rc = vss__process_start_time(s->owner, &snap->owner_start);
		if (rc < 0)
			goto fail;
	}
	free(machine);
	*ret = snap;
	return 0;
fail:
	free(machine);
	vss_snapshot_unref(snap);
	return rc;
}

/* A set is open and has room for one more volume. */
static int check_room(const struct vss_session *s)
{
	if (s->state != SESSION_STARTED)
		return vss__error(-VSS_E_BAD_STATE, "start a shadow copy set before adding volumes");
	if (s->ncopies >= VSS_MAX_VOLUMES_PER_SET)
		return vss__error(-VSS_E_MAXIMUM_NUMBER_OF_VOLUMES_REACHED,
				  "a shadow copy set holds at most %d volumes", VSS_MAX_VOLUMES_PER_SET);
	return 0;
}

VSS_EXPORT int vss_session_add_resolved_volume(struct vss_session *s, struct vss_volume *vol,
					       const char *provider,
					       struct vss_guid *ret_snapshot_id)
{
	const struct vss_provider *prov = NULL;
	struct vss_snapshot *snap = NULL;
	int rc;

	rc = check_room(s);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < s->ncopies; i++) {
		const struct vss_snapshot *other = s->copies[i].snap;

		if (vss_volume_is_same(vol, other->original_uuid, other->original_device,
				       other->original_fsroot))
			return vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
					  "'%s' is already in the set (as '%s')",
					  vss_volume_get_name(vol), vss_volume_get_name(s->copies[i].vol));
	}
	rc = pick_provider(vol, provider, &prov);
	if (rc < 0)
		return rc;
	rc = plan_snapshot(s, vol, prov, &snap);
	if (rc < 0)
		return rc;
	s->copies[s->ncopies].vol = vss_volume_ref(vol);
	s->copies[s->ncopies].prov = prov;
	s->copies[s->ncopies].snap = snap;
	s->copies[s->ncopies].committed = false;
	s->ncopies++;
	if (ret_snapshot_id)
		*ret_snapshot_id = snap->id;
	return 0;
}

VSS_EXPORT int vss_session_add_volume(struct vss_session *s, const char *volume,
				      const char *provider, struct vss_guid *ret_snapshot_id)
{
	struct vss_volume *vol = NULL;
	int rc;

	rc = check_room(s);
	if (rc < 0)
		return rc;
	rc = vss_volume_resolve(volume, &vol);
	if (rc == 0)
		rc = vss_session_add_resolved_volume(s, vol, provider, ret_snapshot_id);
	vss_volume_unref(vol);
	return rc;
}

/*
 * Delete what was made.  The journal stays when a copy could not be
 * deleted, so the next recovery tries again.  The error message of the
 * original failure is kept.
 */
static void roll_back(struct vss_session *s, bool journal_written)
{
	struct vss__saved_error saved;
	bool left = false;

	vss__error_save(&saved);
	for (size_t i = 0; i < s->ncopies; i++) {
		struct planned_copy *c = &s->copies[i];
		int rc;

		if (!c->committed)
			continue;
		rc = c->prov->remove(c->snap);
		if (rc < 0 && rc != -ENOENT)
			left = true;
		else
			c->committed = false;
	}
	if (journal_written && !left)
		vss__pending_remove(s->ctx, &s->set_id);
	vss__error_at(saved.code, saved.file[0] ? saved.file : NULL, saved.line, saved.column,
		      "%s%s", saved.message,
		      left ? " (some copies could not be removed yet; the next vss command retries)" : "");
}

/* Mount points to freeze, without duplicates; index map per copy. */
static int collect_freezes(struct vss_session *s, const char **mps, size_t *n, int *index_of)
{
	*n = 0;
	for (size_t i = 0; i < s->ncopies; i++) {
		const char *mp;
		size_t j;

		index_of[i] = -1;
		if (!s->copies[i].prov->needs_freeze)
			continue;
		mp = vss_volume_get_mountpoint(s->copies[i].vol);
		for (j = 0; j < *n; j++)
			if (strcmp(mps[j], mp) == 0)
				break;
		if (j == *n)
			mps[(*n)++] = mp;
		index_of[i] = (int)j;
	}
	return 0;
}

static int commit_all(struct vss_session *s, int64_t *ret_creation_time)
{
	const char *mps[VSS_MAX_VOLUMES_PER_SET];
	uint64_t held[VSS_MAX_VOLUMES_PER_SET] = { 0 };
	int index_of[VSS_MAX_VOLUMES_PER_SET];
	struct vss__freeze_guard *guard = NULL;
	uint64_t window_ns = (uint64_t)s->ctx->hold_timeout_ms * 1000000u, start;
	size_t nfreeze;
	int rc = 0, rc2;

	collect_freezes(s, mps, &nfreeze, index_of);
	start = vss__now_monotonic_ns();
	if (nfreeze > 0) {
		rc = vss__freeze_guard_start(mps, nfreeze, s->ctx->hold_timeout_ms, &guard);
		if (rc < 0)
			return rc;
		vss__test_stall(s->ctx, "frozen");
	}
	*ret_creation_time = vss__now_realtime_ns();
	for (size_t i = 0; i < s->ncopies && rc == 0; i++) {
		struct planned_copy *c = &s->copies[i];

		c->snap->state = VSS_SS_PROCESSING_COMMIT;
		rc = c->prov->commit(c->snap, c->vol);
		if (rc < 0) {
			vss__error_prefix("cannot create the shadow copy of '%s' (provider %s)",
					  vss_volume_get_path(c->vol), c->prov->name);
			break;
		}
		c->committed = true;
		c->snap->state = VSS_SS_COMMITTED;
	}
	if (guard) {
		rc2 = vss__freeze_guard_release(guard, held);
		if (rc == 0)
			rc = rc2;
	}
	if (rc == 0 && vss__now_monotonic_ns() - start > window_ns)
		rc = vss__error(-VSS_E_HOLD_WRITES_TIMEOUT,
				"the copies of the set took longer than the %u.%03u s hold window; nothing was kept",
				s->ctx->hold_timeout_ms / 1000, s->ctx->hold_timeout_ms % 1000);
	for (size_t i = 0; i < s->ncopies; i++)
		if (index_of[i] >= 0)
			s->copies[i].snap->hold_ns = held[index_of[i]];
	return rc;
}

static bool uses_writers(const struct vss_session *s)
{
	return !(s->context & VSS_VOLSNAP_ATTR_NO_WRITERS);
}

/* The set's document: its backup state, copies, and the writers' components. */
static int build_bcd(struct vss_session *s)
{
	struct vss_bcd *bcd;
	int rc;

	if (s->bcd)
		return 0;
	bcd = vss_bcd_new(&s->set_id);
	if (!bcd)
		return vss__error(-ENOMEM, "out of memory");
	rc = vss_bcd_set_backup_state(bcd, vss__backup_writer_count(s->backup) > 0, false,
				      (enum vss_backup_type)s->backup_type, false);
	for (size_t i = 0; i < s->ncopies && rc == 0; i++)
		rc = vss_bcd_add_snapshot_id(bcd, &s->copies[i].snap->id);
	if (rc == 0)
		rc = vss__backup_fill_bcd(s->backup, bcd);
	if (rc < 0) {
		vss_bcd_unref(bcd);
		return rc;
	}
	s->bcd = bcd;
	return 0;
}

/*
 * Before the providers prepare: find the writers that take part, give them
 * the set's document, and send PrepareForBackup and PrepareForSnapshot.
 */
static int writers_prepare(struct vss_session *s)
{
	const char *volumes[VSS_MAX_VOLUMES_PER_SET];
	int rc;

	rc = vss__backup_gather(s->backup);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < s->ncopies; i++)
		volumes[i] = vss_volume_get_path(s->copies[i].vol);
	rc = vss__backup_select(s->backup, &s->set_id, s->context, volumes, s->ncopies);
	if (rc < 0)
		return rc;
	rc = build_bcd(s);
	if (rc == 0)
		rc = vss__backup_set_bcd(s->backup, s->bcd);
	if (rc == 0)
		rc = vss__backup_send(s->backup, VSS_EVENT_PREPARE_BACKUP);
	if (rc == 0)
		rc = vss__backup_send(s->backup, VSS_EVENT_PREPARE_SNAPSHOT);
	return rc;
}

/*
 * Freeze the writers, commit inside the hold window, and Thaw whatever
 * happened to the commit.  A failure to freeze commits nothing.
 */
static int freeze_commit_thaw(struct vss_session *s, int64_t *ret_creation_time)
{
	int rc, rc2;

	if (!uses_writers(s))
		return commit_all(s, ret_creation_time);
	rc = vss__backup_send(s->backup, VSS_EVENT_FREEZE);
	if (rc < 0)
		return rc;
	vss__test_stall(s->ctx, "writers-frozen");
	rc = commit_all(s, ret_creation_time);
	if (rc < 0) {
		/* The commit's error is the one to report: keep it. */
		struct vss__saved_error saved;

		vss__error_save(&saved);
		vss__backup_send(s->backup, VSS_EVENT_THAW);
		return vss__error_restore(&saved);
	}
	rc2 = vss__backup_send(s->backup, VSS_EVENT_THAW);
	return rc2;
}

VSS_EXPORT int vss_session_do_snapshot_set(struct vss_session *s)
{
	struct vss_snapshot_list *made = NULL;
	bool journal_written = false;
	int64_t creation_time = 0;
	int rc;

	if (s->state != SESSION_STARTED)
		return vss__error(-VSS_E_BAD_STATE, "no shadow copy set was started");
	if (s->ncopies == 0)
		return vss__error(-VSS_E_BAD_STATE, "the shadow copy set has no volume");

	made = vss__snapshot_list_new();
	if (!made) {
		rc = -ENOMEM;
		goto fail;
	}
	if (uses_writers(s)) {
		rc = writers_prepare(s);
		if (rc < 0)
			goto fail;
	}
	for (size_t i = 0; i < s->ncopies; i++) {
		struct planned_copy *c = &s->copies[i];

		c->snap->count = (unsigned int)s->ncopies;
		c->snap->state = VSS_SS_PROCESSING_PREPARE;
		rc = c->prov->prepare(c->snap, c->vol);
		if (rc < 0)
			goto fail;
		c->snap->state = VSS_SS_PREPARED;
		rc = vss__snapshot_list_append(made, c->snap);
		if (rc < 0)
			goto fail;
	}
	rc = vss__pending_write(s->ctx, &s->set_id, made);
	if (rc < 0)
		goto fail;
	journal_written = true;
	vss__test_stall(s->ctx, "prepared");

	rc = freeze_commit_thaw(s, &creation_time);
	if (rc < 0)
		goto fail;
	if (uses_writers(s)) {
		rc = vss__backup_send(s->backup, VSS_EVENT_POST_SNAPSHOT);
		if (rc < 0)
			goto fail;
	}

	for (size_t i = 0; i < s->ncopies; i++) {
		struct vss_snapshot *snap = s->copies[i].snap;

		snap->creation_time = creation_time;
		snap->state = VSS_SS_CREATED;
		rc = vss__snapshot_write_props(snap);
		if (rc < 0)
			goto fail;
	}
	vss__test_stall(s->ctx, "committed");
	rc = vss__catalog_add(s->ctx, made);
	if (rc < 0)
		goto fail;
	vss__test_stall(s->ctx, "recorded");
	/* Recorded: from here on the copies are kept whatever happens. */
	vss__pending_remove(s->ctx, &s->set_id);
	release_lock(s);
	s->made = made;
	s->state = SESSION_DONE;
	return 0;
fail:
	if (uses_writers(s)) {
		struct vss__saved_error saved;

		vss__error_save(&saved);
		if (!saved.code)
			saved.code = rc;
		vss__backup_abort(s->backup);
		vss__error_restore(&saved);
	}
	roll_back(s, journal_written);
	release_lock(s);
	vss_snapshot_list_unref(made);
	s->state = SESSION_FAILED;
	return rc;
}

VSS_EXPORT int vss_session_get_bcd(struct vss_session *s, struct vss_bcd **ret)
{
	int rc;

	if (s->state != SESSION_DONE)
		return vss__error(-VSS_E_BAD_STATE, "the shadow copy set has not been made");
	rc = build_bcd(s);
	if (rc < 0)
		return rc;
	*ret = vss_bcd_ref(s->bcd);
	return 0;
}

static int check_writers_settable(const struct vss_session *s)
{
	if (s->state != SESSION_NEW && s->state != SESSION_STARTED)
		return vss__error(-VSS_E_BAD_STATE, "writers are set up before the shadow copy set is made");
	return 0;
}

VSS_EXPORT int vss_session_set_writer_flags(struct vss_session *s, unsigned int flags)
{
	int rc = check_writers_settable(s);

	if (rc == 0)
		vss__backup_set_flags(s->backup, flags);
	return rc;
}

VSS_EXPORT int vss_session_exclude_writer(struct vss_session *s, const char *writer)
{
	int rc = check_writers_settable(s);

	return rc < 0 ? rc : vss__backup_exclude(s->backup, writer);
}

VSS_EXPORT int vss_session_set_backup_type(struct vss_session *s, int backup_type)
{
	int rc = check_writers_settable(s);

	if (rc < 0)
		return rc;
	if (!vss_backup_type_name((enum vss_backup_type)backup_type))
		return vss__error(-EINVAL, "unknown backup type %d", backup_type);
	s->backup_type = backup_type;
	vss__backup_set_type(s->backup, (enum vss_backup_type)backup_type);
	return 0;
}

VSS_EXPORT int vss_session_gather_writers(struct vss_session *s)
{
	int rc = check_writers_settable(s);

	if (rc < 0)
		return rc;
	if (!uses_writers(s))
		return vss__error(-VSS_E_UNSUPPORTED_CONTEXT,
				  "writers take no part in shadow copies of context 0x%x", (unsigned)s->context);
	return vss__backup_gather(s->backup);
}

VSS_EXPORT int vss_session_get_writers(struct vss_session *s, struct vss_writer_info_list **ret)
{
	struct vss__writer *const *ws;
	size_t n = vss__backup_writers(s->backup, &ws);

	return vss__writer_info_list_new(ws, n, ret);
}

VSS_EXPORT int vss_session_backup_complete(struct vss_session *s)
{
	int rc;

	if (s->state != SESSION_DONE)
		return vss__error(-VSS_E_BAD_STATE, "the shadow copy set has not been made");
	if (s->backup_completed)
		return vss__error(-VSS_E_BAD_STATE, "the backup was already completed");
	s->backup_completed = true;
	rc = build_bcd(s);
	if (rc == 0 && !vss_bcd_is_backup_complete(s->bcd))
		rc = vss_bcd_set_backup_complete(s->bcd);
	if (rc == 0)
		rc = vss__backup_set_bcd(s->backup, s->bcd);
	if (rc == 0 && uses_writers(s))
		rc = vss__backup_complete(s->backup);
	return rc;
}

VSS_EXPORT int vss_session_get_snapshots(struct vss_session *s, struct vss_snapshot_list **ret)
{
	if (s->state != SESSION_DONE)
		return vss__error(-VSS_E_BAD_STATE, "the shadow copy set has not been made");
	*ret = vss_snapshot_list_ref(s->made);
	return 0;
}
