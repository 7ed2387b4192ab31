/*
 * The catalog in private state, run and configuration directories: loading
 * and saving, queries, deletion and rescans.  Copies are made the way the
 * image provider keeps them (a regular file in a .vss store) so that its
 * remove/exists run for real on files the test owns.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vss-private.h"
#include "util/file.h"
#include "util/sbuf.h"
#include "util/banned.h"

#define MAX_NOTICES 64

struct notice {
	enum vss_notice what;
	struct vss_guid id;
	bool has_snap;
	int rc;
	char message[512];
};

struct fixture {
	char root[64];
	char *statedir;
	char *rundir;
	char *sysconfdir;
	char *vol;      /* a directory standing for a volume */
	char *store;    /* its .vss store */
	struct vss_context *ctx;
	char loop[32];  /* our loop device, "" if none */
	struct notice notices[MAX_NOTICES];
	size_t n_notices;
};

static void on_notice(enum vss_notice what, const struct vss_snapshot *snap, int rc,
		      const char *message, void *userdata)
{
	struct fixture *f = userdata;
	struct notice *n;

	assert_non_null(message);
	assert_true(f->n_notices < MAX_NOTICES);
	n = &f->notices[f->n_notices++];
	n->what = what;
	n->has_snap = snap != NULL;
	if (snap)
		n->id = *vss_snapshot_get_id(snap);
	n->rc = rc;
	snprintf(n->message, sizeof(n->message), "%s", message);
}

/* The notice about copy id, or NULL.  Rescans also see other people's
 * stores on this machine, so tests look only at their own copies. */
static const struct notice *notice_for(const struct fixture *f, const struct vss_guid *id)
{
	for (size_t i = 0; i < f->n_notices; i++)
		if (f->notices[i].has_snap && vss_guid_equal(&f->notices[i].id, id))
			return &f->notices[i];
	return NULL;
}

static char *join(const char *a, const char *b)
{
	char *p = path_join(a, b);

	assert_non_null(p);
	return p;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/test-catalog-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	f->statedir = join(f->root, "state");
	f->rundir = join(f->root, "run");
	f->sysconfdir = join(f->root, "etc");
	f->vol = join(f->root, "vol");
	f->store = join(f->vol, VSS__STORE_DIR);
	assert_int_equal(mkdir(f->sysconfdir, 0755), 0);
	assert_int_equal(mkdir(f->vol, 0755), 0);
	assert_int_equal(mkdir(f->store, 0700), 0);
	setenv("VSS_STATEDIR", f->statedir, 1);
	setenv("VSS_RUNDIR", f->rundir, 1);
	setenv("VSS_SYSCONFDIR", f->sysconfdir, 1);
	assert_int_equal(vss_context_new(&f->ctx), 0);
	assert_string_equal(vss_context_get_statedir(f->ctx), f->statedir);
	vss_context_set_notice_fn(f->ctx, on_notice, f);
	*state = f;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vss_context_unref(f->ctx);
	if (f->loop[0]) {
		struct sbuf cmd = SBUF_INIT;

		/* Ours, by name. */
		if (sbuf_addf(&cmd, "losetup -d '%s'", f->loop) == 0 && system(sbuf_str(&cmd)) != 0)
			print_error("cannot detach %s\n", f->loop);
		sbuf_release(&cmd);
	}
	nftw(f->root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f->statedir);
	free(f->rundir);
	free(f->sysconfdir);
	free(f->vol);
	free(f->store);
	free(f);
	return 0;
}

/* A copy as the image provider makes it: <vol>/.vss/<id>.img. */
static struct vss_snapshot *make_copy(struct fixture *f, const struct vss_guid *set, int64_t t,
				      bool with_file, bool with_props)
{
	struct vss_snapshot *s = vss__snapshot_new();
	char guid[VSS_GUID_STRING_MAX], name[64];
	char *device;

	assert_non_null(s);
	vss_guid_generate(&s->id);
	s->set_id = *set;
	s->count = 1;
	s->creation_time = t;
	s->state = VSS_SS_CREATED;
	s->context = VSS_CTX_APP_ROLLBACK;
	s->attributes = VSS_VOLSNAP_ATTR_PERSISTENT | VSS_VOLSNAP_ATTR_NO_AUTO_RELEASE;
	snprintf(name, sizeof(name), "%s.img", vss_guid_format(&s->id, 0, guid));
	device = join(f->store, name);
	assert_int_equal(vss__strset(&s->device, device), 0);
	assert_int_equal(vss__strset(&s->store, f->store), 0);
	assert_int_equal(vss__strset(&s->original_volume, f->vol), 0);
	assert_int_equal(vss__strset(&s->provider_name, "image"), 0);
	if (with_file) {
		static const char data[] = "not really a filesystem image";

		assert_int_equal(file_write_atomic(device, data, sizeof(data), 0600, false), 0);
	}
	if (with_props)
		assert_int_equal(vss__snapshot_write_props(s), 0);
	free(device);
	return s;
}

static struct vss_snapshot_list *list_of(struct vss_snapshot *const *snaps, size_t n)
{
	struct vss_snapshot_list *l = vss__snapshot_list_new();

	assert_non_null(l);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(vss__snapshot_list_append(l, snaps[i]), 0);
	return l;
}

static struct vss_snapshot_list *query(struct fixture *f, const struct vss_query *q)
{
	struct vss_snapshot_list *l = NULL;

	assert_int_equal(vss_catalog_query(f->ctx, q, &l), 0);
	assert_non_null(l);
	return l;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- load, save ----------------------------------------------------------- */

static void test_catalog__missing_is_empty(void **state)
{
	struct fixture *f = *state;
	struct vss_snapshot_list *l;

	/* Nothing exists yet: an empty list, and nothing is created. */
	l = query(f, NULL);
	assert_int_equal(vss_snapshot_list_count(l), 0);
	vss_snapshot_list_unref(l);
	assert_false(path_exists(f->statedir));
	/* A state directory without a catalog is empty too. */
	assert_int_equal(mkdir(f->statedir, 0755), 0);
	l = query(f, NULL);
	assert_int_equal(vss_snapshot_list_count(l), 0);
	vss_snapshot_list_unref(l);
}

static void test_catalog__save_creates_state_dir_atomically(void **state)
{
	struct fixture *f = *state;
	struct vss_guid set;
	struct vss_snapshot *a;
	struct vss_snapshot_list *l, *back = NULL;
	struct dirent *de;
	char *deeper, *catalog;
	DIR *d;
	int fd;

	/* A state directory some levels down is made on the first write. */
	deeper = join(f->statedir, "a/b");
	free(f->ctx->statedir);
	f->ctx->statedir = deeper;
	vss_guid_generate(&set);
	a = make_copy(f, &set, 100, false, false);
	l = list_of(&a, 1);
	assert_int_equal(vss__catalog_add(f->ctx, l), 0);
	catalog = join(deeper, VSS__CATALOG_FILE);
	assert_true(path_exists(catalog));
	/* Only the catalog and its lock remain: no temporary files. */
	d = opendir(deeper);
	assert_non_null(d);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, VSS__CATALOG_FILE) != 0 && strcmp(de->d_name, VSS__CATALOG_LOCK) != 0)
			fail_msg("unexpected file '%s' in the state directory", de->d_name);
	}
	closedir(d);
	assert_int_equal(vss__catalog_lock(f->ctx, LOCK_SH, &fd), 0);
	assert_int_equal(vss__catalog_load(f->ctx, &back), 0);
	vss__unlock(fd);
	assert_int_equal(vss_snapshot_list_count(back), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(back, 0)->id, &a->id));
	assert_string_equal(vss_snapshot_list_get(back, 0)->device, a->device);
	/* Adding the same copy again replaces its record. */
	a->hold_ns = 77;
	assert_int_equal(vss__catalog_add(f->ctx, l), 0);
	vss_snapshot_list_unref(back);
	back = query(f, NULL);
	assert_int_equal(vss_snapshot_list_count(back), 1);
	assert_true(vss_snapshot_get_hold_ns(vss_snapshot_list_get(back, 0)) == 77);
	vss_snapshot_list_unref(back);
	vss_snapshot_list_unref(l);
	vss_snapshot_unref(a);
	free(catalog);
}

static void write_catalog(struct fixture *f, const char *text)
{
	char *path = join(f->statedir, VSS__CATALOG_FILE);

	assert_int_equal(vss__mkdir_p(f->statedir, 0755), 0);
	assert_int_equal(file_write_atomic(path, text, strlen(text), 0644, false), 0);
	free(path);
}

static void test_catalog__truncated_is_corrupt(void **state)
{
	struct fixture *f = *state;
	struct vss_snapshot_list *l = NULL;
	char *path = join(f->statedir, VSS__CATALOG_FILE);
	const struct vss_error *e;

	write_catalog(f, "<?xml version=\"1.0\"?>\n<CATALOG xmlns=\"x-schema:#VssLinuxSnapshot\" "
			 "version=\"1\">\n  <SNAPSHOT snapshotId=\"b5946137-7b9f-4925-af80-51abd60b20d5\"");
	assert_int_equal(vss_catalog_query(f->ctx, NULL, &l), -VSS_E_CORRUPT_XML_DOCUMENT);
	assert_null(l);
	e = vss_error_last();
	assert_int_equal(e->code, -VSS_E_CORRUPT_XML_DOCUMENT);
	assert_non_null(e->file);
	assert_string_equal(e->file, path);
	assert_int_equal(e->line, 3);
	assert_non_null(strstr(e->message, "rescan"));
	/* A version from the future is refused, by name. */
	write_catalog(f, "<CATALOG xmlns=\"x-schema:#VssLinuxSnapshot\" version=\"2\"/>\n");
	assert_int_equal(vss_catalog_query(f->ctx, NULL, &l), -VSS_E_INVALID_XML_DOCUMENT);
	assert_string_equal(vss_error_last()->file, path);
	assert_int_equal(vss_error_last()->line, 1);
	assert_non_null(strstr(vss_error_last()->message, "'version': '2' is not supported"));
	/* So is the catalog of the first development versions. */
	write_catalog(f, "<catalog xmlns=\"urn:vss:linux:snapshot:1\" version=\"1\"/>\n");
	assert_int_equal(vss_catalog_query(f->ctx, NULL, &l), -VSS_E_INVALID_XML_DOCUMENT);
	assert_non_null(strstr(vss_error_last()->message, "expected <CATALOG>"));
	/* An empty file is not a catalog either. */
	write_catalog(f, "");
	assert_int_equal(vss_catalog_query(f->ctx, NULL, &l), -VSS_E_CORRUPT_XML_DOCUMENT);
	free(path);
}

/* ---- queries ------------------------------------------------------------- */

static void test_catalog__query_filters(void **state)
{
	struct fixture *f = *state;
	struct vss_guid set1, set2, unknown;
	struct vss_snapshot *s[4];
	struct vss_snapshot_list *all, *l;
	struct vss_query q;

	vss_guid_generate(&set1);
	vss_guid_generate(&set2);
	vss_guid_generate(&unknown);
	/* Added out of order: the catalog keeps them oldest first. */
	s[0] = make_copy(f, &set1, 300, false, false);
	s[1] = make_copy(f, &set1, 100, false, false);
	s[2] = make_copy(f, &set2, 400, false, false);
	s[3] = make_copy(f, &set2, 200, false, false);
	all = list_of(s, 4);
	assert_int_equal(vss__catalog_add(f->ctx, all), 0);
	vss_snapshot_list_unref(all);

	l = query(f, NULL);
	assert_int_equal(vss_snapshot_list_count(l), 4);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[1]->id));
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 1)->id, &s[3]->id));
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 2)->id, &s[0]->id));
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 3)->id, &s[2]->id));
	vss_snapshot_list_unref(l);

	memset(&q, 0, sizeof(q));
	q.snapshot_id = &s[3]->id;
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[3]->id));
	vss_snapshot_list_unref(l);

	q.snapshot_id = &unknown;
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 0);
	vss_snapshot_list_unref(l);

	memset(&q, 0, sizeof(q));
	q.set_id = &set1;
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 2);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[1]->id));
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 1)->id, &s[0]->id));
	vss_snapshot_list_unref(l);

	q.flags = VSS_QUERY_NEWEST;
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[0]->id));
	vss_snapshot_list_unref(l);

	q.set_id = NULL;
	q.flags = VSS_QUERY_OLDEST;
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[1]->id));
	vss_snapshot_list_unref(l);

	q.flags = VSS_QUERY_NEWEST;
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[2]->id));
	vss_snapshot_list_unref(l);

	q.flags = VSS_QUERY_NEWEST | VSS_QUERY_OLDEST;
	l = NULL;
	assert_int_equal(vss_catalog_query(f->ctx, &q, &l), -EINVAL);
	assert_null(l);
	for (size_t i = 0; i < 4; i++)
		vss_snapshot_unref(s[i]);
}

static void test_catalog__query_by_gone_volume(void **state)
{
	struct fixture *f = *state;
	struct vss_snapshot *s[2];
	struct vss_snapshot_list *all, *l = NULL;
	struct vss_guid set;
	struct vss_query q;
	char *gone = join(f->root, "gone-volume");
	struct sbuf slashed = SBUF_INIT;

	vss_guid_generate(&set);
	s[0] = make_copy(f, &set, 1, false, false);
	s[1] = make_copy(f, &set, 2, false, false);
	assert_int_equal(vss__strset(&s[0]->original_volume, gone), 0);
	all = list_of(s, 2);
	assert_int_equal(vss__catalog_add(f->ctx, all), 0);
	vss_snapshot_list_unref(all);

	/* The volume no longer resolves: its copies match by the path. */
	assert_int_equal(sbuf_addf(&slashed, "%s//", gone), 0);
	memset(&q, 0, sizeof(q));
	q.volume = sbuf_str(&slashed);
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[0]->id));
	vss_snapshot_list_unref(l);
	l = NULL;

	/* A name that matches nothing still reports why it did not resolve. */
	q.volume = "/no/such/volume/for/vss/tests";
	assert_int_equal(vss_catalog_query(f->ctx, &q, &l), -VSS_E_OBJECT_NOT_FOUND);
	assert_null(l);
	assert_non_null(strstr(vss_error_last()->message, "/no/such/volume/for/vss/tests"));
	sbuf_release(&slashed);
	free(gone);
	vss_snapshot_unref(s[0]);
	vss_snapshot_unref(s[1]);
}

static void test_catalog__query_by_resolved_volume(void **state)
{
	struct fixture *f = *state;
	struct vss_snapshot *s[2];
	struct vss_snapshot_list *all, *l;
	struct vss_volume *vol = NULL;
	struct vss_guid set;
	struct vss_query q;

	if (vss_volume_resolve("/", &vol) < 0) {
		print_message("skipped: '/' does not resolve to a volume here: %s\n",
			      vss_error_last()->message);
		skip();
	}
	vss_guid_generate(&set);
	s[0] = make_copy(f, &set, 1, false, false);
	s[1] = make_copy(f, &set, 2, false, false);
	/* s[0] was taken of the root volume, s[1] of something else. */
	assert_int_equal(vss__strset(&s[0]->original_uuid, vss_volume_get_uuid(vol)), 0);
	assert_int_equal(vss__strset(&s[0]->original_device, vss_volume_get_device(vol)), 0);
	assert_int_equal(vss__strset(&s[0]->original_fsroot, vss_volume_get_fsroot(vol)), 0);
	assert_int_equal(vss__strset(&s[1]->original_uuid, "00000000-1111-2222-3333-444444444444"), 0);
	assert_int_equal(vss__strset(&s[1]->original_device, "/dev/vss-test-nothing"), 0);
	assert_int_equal(vss__strset(&s[1]->original_fsroot, "/elsewhere"), 0);
	all = list_of(s, 2);
	assert_int_equal(vss__catalog_add(f->ctx, all), 0);
	vss_snapshot_list_unref(all);
	memset(&q, 0, sizeof(q));
	q.volume = "/";
	l = query(f, &q);
	assert_int_equal(vss_snapshot_list_count(l), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[0]->id));
	vss_snapshot_list_unref(l);
	vss_volume_unref(vol);
	vss_snapshot_unref(s[0]);
	vss_snapshot_unref(s[1]);
}

/* ---- delete ---------------------------------------------------------------- */

static void test_catalog__delete_reports_each_copy(void **state)
{
	struct fixture *f = *state;
	struct vss_snapshot *s[4];
	struct vss_snapshot_list *all, *l;
	const struct notice *n;
	struct vss_guid set;
	char *props;

	vss_guid_generate(&set);
	s[0] = make_copy(f, &set, 1, true, true);    /* there: deleted */
	s[1] = make_copy(f, &set, 2, false, true);   /* already gone */
	s[2] = make_copy(f, &set, 3, true, true);    /* its provider is unknown */
	s[3] = make_copy(f, &set, 4, true, true);    /* not asked for: untouched */
	assert_int_equal(vss__strset(&s[2]->provider_name, "no-such-provider"), 0);
	all = list_of(s, 4);
	assert_int_equal(vss__catalog_add(f->ctx, all), 0);
	vss_snapshot_list_unref(all);

	l = list_of(s, 3);
	assert_int_equal(vss_catalog_delete(f->ctx, l, 0), -VSS_E_PROVIDER_NOT_REGISTERED);
	assert_non_null(strstr(vss_error_last()->message, "no-such-provider"));
	assert_int_equal(f->n_notices, 3);
	n = notice_for(f, &s[0]->id);
	assert_int_equal(n->what, VSS_NOTICE_DELETED);
	assert_int_equal(n->rc, 0);
	n = notice_for(f, &s[1]->id);
	assert_int_equal(n->rc, 0);
	assert_non_null(strstr(n->message, "already gone"));
	n = notice_for(f, &s[2]->id);
	assert_int_equal(n->rc, -VSS_E_PROVIDER_NOT_REGISTERED);
	assert_false(path_exists(s[0]->device));
	props = vss__snapshot_props_path(s[0]);
	assert_false(path_exists(props));
	free(props);
	props = vss__snapshot_props_path(s[1]);
	assert_false(path_exists(props));
	free(props);
	assert_true(path_exists(s[2]->device));
	assert_true(path_exists(s[3]->device));
	vss_snapshot_list_unref(l);

	/* The failed copy keeps its record; the others are gone from it. */
	l = query(f, NULL);
	assert_int_equal(vss_snapshot_list_count(l), 2);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[2]->id));
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 1)->id, &s[3]->id));
	vss_snapshot_list_unref(l);

	/* Forced: the record goes although the copy could not be deleted. */
	f->n_notices = 0;
	l = list_of(&s[2], 1);
	assert_int_equal(vss_catalog_delete(f->ctx, l, VSS_DELETE_FORCE),
			 -VSS_E_PROVIDER_NOT_REGISTERED);
	assert_int_equal(f->n_notices, 1);
	assert_non_null(strstr(f->notices[0].message, "dropped"));
	vss_snapshot_list_unref(l);
	l = query(f, NULL);
	assert_int_equal(vss_snapshot_list_count(l), 1);
	assert_true(vss_guid_equal(&vss_snapshot_list_get(l, 0)->id, &s[3]->id));
	vss_snapshot_list_unref(l);
	for (size_t i = 0; i < 4; i++)
		vss_snapshot_unref(s[i]);
}

/* ---- rescan ---------------------------------------------------------------- */

static void test_catalog__rescan_rebuilds(void **state)
{
	struct fixture *f = *state;
	struct vss_snapshot *kept, *vanished, *found, *stale;
	struct vss_snapshot_list *all, *l;
	const struct notice *n;
	struct vss_guid set;
	char *p_vanished, *p_found, *p_stale, *bogus;

	vss_guid_generate(&set);
	kept = make_copy(f, &set, 1, true, true);
	vanished = make_copy(f, &set, 2, false, true);   /* record without copy */
	found = make_copy(f, &set, 3, true, true);       /* copy without record */
	stale = make_copy(f, &set, 4, false, true);      /* properties without either */
	p_vanished = vss__snapshot_props_path(vanished);
	p_found = vss__snapshot_props_path(found);
	p_stale = vss__snapshot_props_path(stale);
	/* A damaged properties file is reported and left alone. */
	bogus = join(f->store, "0bada1de-01a9-4625-8278-69e735f39dd2.xml");
	assert_int_equal(file_write_atomic(bogus, "<SNAPSHOT", 9, 0644, false), 0);
	{
		struct vss_snapshot *pair[2] = { kept, vanished };

		all = list_of(pair, 2);
	}
	assert_int_equal(vss__catalog_add(f->ctx, all), 0);
	vss_snapshot_list_unref(all);

	assert_int_equal(vss_catalog_rescan(f->ctx), 0);
	assert_null(notice_for(f, &kept->id));
	n = notice_for(f, &vanished->id);
	assert_non_null(n);
	assert_int_equal(n->what, VSS_NOTICE_MISSING);
	assert_false(path_exists(p_vanished));
	n = notice_for(f, &found->id);
	assert_non_null(n);
	assert_int_equal(n->what, VSS_NOTICE_FOUND);
	assert_true(path_exists(p_found));
	n = notice_for(f, &stale->id);
	assert_non_null(n);
	assert_int_equal(n->what, VSS_NOTICE_STALE);
	assert_int_equal(n->rc, 0);
	assert_false(path_exists(p_stale));
	assert_true(path_exists(bogus));
	n = NULL;
	for (size_t i = 0; i < f->n_notices; i++)
		if (strstr(f->notices[i].message, bogus))
			n = &f->notices[i];
	assert_non_null(n);
	assert_int_equal(n->what, VSS_NOTICE_STALE);
	assert_true(n->rc < 0);

	l = query(f, NULL);
	assert_true(vss__snapshot_list_find(l, &kept->id) >= 0);
	assert_true(vss__snapshot_list_find(l, &found->id) >= 0);
	assert_true(vss__snapshot_list_find(l, &vanished->id) < 0);
	assert_true(vss__snapshot_list_find(l, &stale->id) < 0);
	vss_snapshot_list_unref(l);

	free(bogus);
	free(p_vanished);
	free(p_found);
	free(p_stale);
	vss_snapshot_unref(kept);
	vss_snapshot_unref(vanished);
	vss_snapshot_unref(found);
	vss_snapshot_unref(stale);
}

/* A loop device on an image file in the test's volume directory makes its
 * store one the image provider lists, as on a real machine. */
static bool attach_loop(struct fixture *f)
{
	char *image = join(f->vol, "disk.img");
	struct sbuf cmd = SBUF_INIT;
	char line[64] = "";
	FILE *p;
	int fd;

	fd = open(image, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	assert_int_equal(sbuf_addf(&cmd, "losetup --find --show '%s' 2>/dev/null", image), 0);
	p = popen(sbuf_str(&cmd), "r");
	if (p) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	line[strcspn(line, "\n")] = '\0';
	sbuf_release(&cmd);
	free(image);
	if (strncmp(line, "/dev/loop", 9) != 0)
		return false;
	snprintf(f->loop, sizeof(f->loop), "%s", line);
	return true;
}

static void test_catalog__rescan_rebuilds_lost_catalog(void **state)
{
	struct fixture *f = *state;
	struct vss_snapshot *a, *b;
	struct vss_snapshot_list *l;
	struct vss_guid set;
	char *aside;

	if (!attach_loop(f)) {
		print_message("skipped: cannot attach a loop device (losetup, /dev/loop-control)\n");
		skip();
	}
	vss_guid_generate(&set);
	a = make_copy(f, &set, 1, true, true);
	b = make_copy(f, &set, 2, true, true);
	write_catalog(f, "<CATALOG");
	assert_int_equal(vss_catalog_rescan(f->ctx), 0);
	aside = join(f->statedir, VSS__CATALOG_FILE ".corrupt");
	assert_true(path_exists(aside));
	assert_int_equal(notice_for(f, &a->id)->what, VSS_NOTICE_FOUND);
	assert_int_equal(notice_for(f, &b->id)->what, VSS_NOTICE_FOUND);
	l = query(f, NULL);
	assert_true(vss__snapshot_list_find(l, &a->id) >= 0);
	assert_true(vss__snapshot_list_find(l, &b->id) >= 0);
	vss_snapshot_list_unref(l);
	free(aside);
	vss_snapshot_unref(a);
	vss_snapshot_unref(b);
}

static void test_catalog__rescan_waits_for_no_creator(void **state)
{
	struct fixture *f = *state;
	char *lock;
	int fd = -1;

	assert_int_equal(vss__mkdir_p(f->rundir, 0755), 0);
	lock = join(f->rundir, VSS__CREATE_LOCK);
	/* flock conflicts between open files even within one process. */
	assert_int_equal(vss__lock_take(lock, LOCK_EX, false, &fd), 0);
	assert_int_equal(vss_catalog_rescan(f->ctx), -VSS_E_SNAPSHOT_SET_IN_PROGRESS);
	assert_non_null(strstr(vss_error_last()->message, "try again"));
	vss__unlock(fd);
	free(lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_catalog__missing_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog__save_creates_state_dir_atomically, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_catalog__truncated_is_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog__query_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog__query_by_gone_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog__query_by_resolved_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog__delete_reports_each_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog__rescan_rebuilds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catalog__rescan_rebuilds_lost_catalog, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_catalog__rescan_waits_for_no_creator, setup,
						teardown),
	};

	if (geteuid() != 0) {
		/* Deleting and rescanning need root, as in real use. */
		print_message("skipped: the catalog tests need root (deletion and rescans)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
