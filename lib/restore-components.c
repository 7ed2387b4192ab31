/*
 * Component restore (reference §4.2): the mirror of a backup, driven by the
 * Backup Components Document saved with it and the writers' metadata
 * documents saved beside it (vss-create --save-bcd).
 *
 *   1. load the BCD and, for each of its writers, FILE.<instance>.wmd.xml;
 *   2. find each component asked for: explicitly in the BCD, or a
 *      subcomponent of one that is (AddRestoreSubcomponent); select it for
 *      restore (the BCD enters its restore state first);
 *   3. PreRestore to the writers of the selected components (a writer
 *      whose restore method says writerRestore="never" takes no part and
 *      need not run); a failure stops the restore before any file moves;
 *   4. for each file set of each component (and of its component set: the
 *      WMD components under it), the copy of the set whose original volume
 *      holds the set's path, and the file restore of <vss/restore.h>, with
 *      the policy of the writer's restore method, through its alternate
 *      location mappings for RESTORE_TO_ALTERNATE_LOCATION, minus the
 *      writer's excluded files (a file never backed up is never restored:
 *      postmaster.pid of a database server...);
 *   5. the file restore status of each component into the BCD, PostRestore,
 *      and the BCD written back in place (atomically).
 *
 * What is not done: directed targets and new targets (writers cannot set
 * them here: the events carry the BCD to writers but not back), partial
 * and differenced files, RESTORE_AT_REBOOT staging (treated as a replace
 * now), and the whole-component rule of RESTORE_IF_NOT_THERE (here it is
 * per file: existing files are kept, missing ones restored).
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vss/restore.h>

#include "vss-private.h"
#include "restore-private.h"
#include "writer-private.h"
#include "util/file.h"
#include "util/banned.h"

/* The file restore flags a component restore passes on. */
#define FILE_FLAGS (VSS_RESTORE_DRY_RUN | VSS_RESTORE_SPECIAL_FILES | VSS_RESTORE_NO_CLONE)

/* One writer instance of the BCD, with its saved WMD (NULL when missing). */
struct cwriter {
	struct vss_bcd_writer *bw;
	struct vss_wmd *wmd;
	char *wmd_path;
	bool take_part;         /* gets PreRestore / PostRestore */
};

/* One component asked for. */
struct ccomp {
	const char *arg;                     /* the caller's words */
	struct cwriter *w;
	const struct vss_wmd_component *wc;  /* in w->wmd */
	struct vss_bcd_component *bc;        /* selected in the BCD: it, or its parent */
	struct vss_restore_stats stats;      /* of its files */
};

struct job {
	struct vss_context *ctx;
	const char *bcd_path;
	unsigned int flags;
	struct vss_bcd *bcd;
	struct cwriter *writers;
	size_t nwriters;
	struct ccomp *comps;
	size_t ncomps;
	struct vss_snapshot_list *copies;    /* the set's copies that still exist */
	/* What the caller sees, summed over every file restore run. */
	vss_restore_entry_fn entry_fn;
	vss_restore_progress_fn progress_fn;
	void *userdata;
	struct vss_restore_stats done;       /* of the runs finished */
	uint64_t done_files_total, done_bytes_total;
	uint64_t cur_files_total, cur_bytes_total;
	/* Copies this restore exposed to walk them, to unexpose at the end. */
	struct vss_guid exposed[VSS_MAX_VOLUMES_PER_SET];
	size_t nexposed;
	struct strv exposed_dirs;
};

/* ---- finding the components ----------------------------------------------- */

static int load_wmds(struct job *j)
{
	size_t n = vss_bcd_writer_count(j->bcd);
	int rc = 0;

	j->writers = calloc(n ? n : 1, sizeof(*j->writers));
	if (!j->writers)
		return vss__error(-ENOMEM, "out of memory");
	j->nwriters = n;
	for (size_t i = 0; i < n; i++) {
		struct cwriter *w = &j->writers[i];
		char g[VSS_GUID_STRING_MAX];

		w->bw = vss_bcd_writer_at(j->bcd, i);
		vss_guid_format(vss_bcd_writer_get_instance_id(w->bw), 0, g);
		if (asprintf(&w->wmd_path, "%s.%s.wmd.xml", j->bcd_path, g) < 0) {
			w->wmd_path = NULL;
			return vss__error(-ENOMEM, "out of memory");
		}
		if (access(w->wmd_path, F_OK) < 0)
			continue;  /* only an error if one of its components is asked for */
		rc = vss_wmd_load_file(w->wmd_path, &w->wmd);
		if (rc < 0)
			return rc;
		if (!vss_guid_equal(vss_wmd_get_writer_id(w->wmd), vss_bcd_writer_get_writer_id(w->bw)))
			return vss__error(-VSS_E_INVALID_XML_DOCUMENT,
					  "'%s' is the metadata document of another writer class than "
					  "the backup components document '%s' names for that instance",
					  w->wmd_path, j->bcd_path);
	}
	return 0;
}

static const char *writer_label(const struct cwriter *w)
{
	const char *name = w->wmd ? vss_wmd_get_friendly_name(w->wmd) : NULL;

	if (name && *name)
		return name;
	name = vss_bcd_writer_get_instance_name(w->bw);
	return name ? name : "?";
}

/* Does word (a friendly name without case, an instance name, a class or
 * instance ID) name w? */
static bool names_writer(const char *word, const struct cwriter *w)
{
	const char *iname = vss_bcd_writer_get_instance_name(w->bw);
	struct vss_guid id;

	if (vss_guid_parse(word, &id) == 0)
		return vss_guid_equal(&id, vss_bcd_writer_get_writer_id(w->bw)) ||
		       vss_guid_equal(&id, vss_bcd_writer_get_instance_id(w->bw));
	if (w->wmd && strcasecmp(word, vss_wmd_get_friendly_name(w->wmd)) == 0)
		return true;
	return iname && strcasecmp(word, iname) == 0;
}

/* "LP\NAME" of a component (LP empty for the root). */
static int full_path(const char *lp, const char *name, struct sbuf *sb)
{
	if (lp && *lp) {
		sbuf_adds(sb, lp);
		if (sbuf_addch(sb, '\\') < 0)
			return -ENOMEM;
	}
	return sbuf_adds(sb, name);
}

/* Whether logical path lp is at or under the full path fp ("A\B" under "A"). */
static bool lp_under(const char *lp, const char *fp)
{
	size_t n = strlen(fp);

	return lp && strncmp(lp, fp, n) == 0 && (lp[n] == '\0' || lp[n] == '\\');
}

/*
 * The BCD component that holds (lp, name) of w: itself when it was added
 * explicitly, else the explicit component whose component set it is in
 * (*ret_sub true).  NULL when it was not backed up.
 */
static struct vss_bcd_component *backed_up(const struct cwriter *w, const char *lp,
					   const char *name, bool *ret_sub)
{
	struct vss_bcd_component *bc = vss_bcd_writer_find_component(w->bw, lp, name);
	size_t n = vss_bcd_writer_component_count(w->bw);

	*ret_sub = false;
	if (bc)
		return bc;
	for (size_t i = 0; i < n; i++) {
		struct vss_bcd_component *c = vss_bcd_writer_component_at(w->bw, i);
		struct sbuf fp = SBUF_INIT;
		bool under;

		if (full_path(vss_bcd_component_get_logical_path(c), vss_bcd_component_get_name(c),
			      &fp) < 0) {
			sbuf_release(&fp);
			return NULL;
		}
		under = lp_under(lp, sbuf_str(&fp));
		sbuf_release(&fp);
		if (under) {
			*ret_sub = true;
			return c;
		}
	}
	return NULL;
}

/* Split "WRITER:LP\NAME" into its parts (malloc()ed; lp NULL for the root). */
static int parse_arg(const char *arg, char **ret_writer, char **ret_lp, char **ret_name)
{
	const char *colon = strchr(arg, ':'), *bs;
	char *writer = NULL, *lp = NULL, *name = NULL;

	if (!colon || colon == arg || !colon[1])
		return vss__error(-EINVAL, "bad component '%s': give WRITER:NAME or "
				  "WRITER:LOGICALPATH\\NAME (WRITER a name or class ID)", arg);
	bs = strrchr(colon + 1, '\\');
	writer = strndup(arg, (size_t)(colon - arg));
	if (bs) {
		if (bs > colon + 1)
			lp = strndup(colon + 1, (size_t)(bs - colon - 1));
		name = strdup(bs + 1);
	} else {
		name = strdup(colon + 1);
	}
	if (!writer || !name || (bs && bs > colon + 1 && !lp)) {
		free(writer);
		free(lp);
		free(name);
		return vss__error(-ENOMEM, "out of memory");
	}
	if (!*name) {
		free(writer);
		free(lp);
		free(name);
		return vss__error(-EINVAL, "bad component '%s': the name after the last '\\' is empty",
				  arg);
	}
	*ret_writer = writer;
	*ret_lp = lp;
	*ret_name = name;
	return 0;
}

static int find_component(struct job *j, const char *arg, struct ccomp *ret)
{
	char *writer = NULL, *lp = NULL, *name = NULL;
	struct sbuf known = SBUF_INIT;
	size_t nmatch = 0, nwriter = 0;
	int rc;

	rc = parse_arg(arg, &writer, &lp, &name);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < j->nwriters; i++) {
		struct cwriter *w = &j->writers[i];
		struct vss_bcd_component *bc;
		bool sub;

		if (known.len)
			sbuf_adds(&known, ", ");
		sbuf_addf(&known, "'%s'", writer_label(w));
		if (!names_writer(writer, w))
			continue;
		nwriter++;
		bc = backed_up(w, lp, name, &sub);
		if (!bc)
			continue;
		if (!w->wmd) {
			rc = vss__error(-VSS_E_OBJECT_NOT_FOUND,
					"the metadata document of writer '%s' is missing: '%s' "
					"(vss-create --save-bcd writes it beside the backup components document)",
					writer_label(w), w->wmd_path);
			goto out;
		}
		if (++nmatch > 1) {
			char g[VSS_GUID_STRING_MAX];

			rc = vss__error(-EINVAL, "component '%s' names more than one writer instance: "
					"name the writer by its instance ID (%s...)", arg,
					vss_guid_format(vss_bcd_writer_get_instance_id(w->bw),
							VSS_GUID_BRACES, g));
			goto out;
		}
		ret->arg = arg;
		ret->w = w;
		ret->bc = bc;
		ret->wc = vss_wmd_find_component(w->wmd, lp, name);
		if (!ret->wc) {
			rc = vss__error(-VSS_E_INVALID_XML_DOCUMENT,
					"component '%s' is in the backup components document but not in "
					"the metadata document '%s' of its writer", arg, w->wmd_path);
			goto out;
		}
		if (sub) {
			/* AddRestoreSubcomponent (restore time); repair is not asked. */
			rc = vss_bcd_component_add_restore_subcomponent(bc, lp, name, false);
			if (rc < 0)
				goto out;
		}
	}
	if (nmatch == 0) {
		if (nwriter == 0)
			rc = vss__error(-VSS_E_OBJECT_NOT_FOUND,
					"no writer '%s' in the backup components document '%s' (its writers: %s)",
					writer, j->bcd_path, known.len ? sbuf_str(&known) : "none");
		else
			rc = vss__error(-VSS_E_OBJECT_NOT_FOUND,
					"component '%s' was not backed up in '%s' (vss-meta -w %s lists "
					"its components)", arg, j->bcd_path, j->bcd_path);
	}
out:
	sbuf_release(&known);
	free(writer);
	free(lp);
	free(name);
	return rc;
}

/* ---- the set's copies ---------------------------------------------------- */

static int load_copies(struct job *j)
{
	size_t n = vss_bcd_snapshot_id_count(j->bcd);
	int rc;

	j->copies = vss__snapshot_list_new();
	if (!j->copies)
		return vss__error(-ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct vss_query q = { .snapshot_id = vss_bcd_snapshot_id_at(j->bcd, i) };
		struct vss_snapshot_list *l = NULL;

		rc = vss_catalog_query(j->ctx, &q, &l);
		if (rc < 0)
			return rc;
		for (size_t k = 0; k < vss_snapshot_list_count(l) && rc == 0; k++)
			rc = vss__snapshot_list_append(j->copies, vss_snapshot_list_get(l, k));
		vss_snapshot_list_unref(l);
		if (rc < 0)
			return vss__error(rc, "out of memory");
	}
	if (vss_snapshot_list_count(j->copies) == 0) {
		char g[VSS_GUID_STRING_MAX];

		return vss__error(-VSS_E_OBJECT_NOT_FOUND,
				  "no shadow copy of set %s is left (the backup components document '%s' "
				  "names %zu)", vss_guid_format(vss_bcd_get_snapshot_set_id(j->bcd),
								VSS_GUID_BRACES, g),
				  j->bcd_path, n);
	}
	return 0;
}

/* Whether path is vol or under it. */
static bool path_under(const char *path, const char *vol)
{
	size_t n = strlen(vol);

	while (n > 1 && vol[n - 1] == '/')
		n--;
	if (n == 1 && vol[0] == '/')
		return path[0] == '/';
	return strncmp(path, vol, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* The copy whose original volume holds path: the deepest (nested volumes). */
static struct vss_snapshot *copy_for(const struct job *j, const char *path)
{
	struct vss_snapshot *best = NULL;

	for (size_t i = 0; i < vss_snapshot_list_count(j->copies); i++) {
		struct vss_snapshot *s = vss_snapshot_list_get(j->copies, i);

		if (!s->original_volume || !path_under(path, s->original_volume))
			continue;
		if (!best || strlen(s->original_volume) > strlen(best->original_volume))
			best = s;
	}
	return best;
}

/* The path of path inside the copy snap ("" for its root). */
static const char *rel_in(const struct vss_snapshot *s, const char *path)
{
	size_t n = strlen(s->original_volume);

	while (n > 1 && s->original_volume[n - 1] == '/')
		n--;
	if (n == 1)
		n = 0;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

/*
 * A directory where the copy's files can be read, to look for the files a
 * file spec matches: a btrfs copy is one; an image copy is used where it is
 * exposed, or exposed here for the time of the restore.
 */
static int copy_dir(struct job *j, struct vss_snapshot *s, const char **ret)
{
	struct stat st;
	char *dir = NULL;
	int rc;

	if (s->device && stat(s->device, &st) == 0 && S_ISDIR(st.st_mode)) {
		*ret = s->device;
		return 0;
	}
	if ((s->attributes & VSS_VOLSNAP_ATTR_EXPOSED_LOCALLY) && s->exposed_name) {
		*ret = s->exposed_name;
		return 0;
	}
	if (j->nexposed >= VSS_MAX_VOLUMES_PER_SET)
		return vss__error(-E2BIG, "too many copies to expose");
	if (asprintf(&dir, "%s/restore-walk.XXXXXX", j->ctx->rundir) < 0)
		return vss__error(-ENOMEM, "out of memory");
	rc = vss__mkdir_p(j->ctx->rundir, 0755);
	if (rc == 0 && !mkdtemp(dir))
		rc = vss__error(-errno, "cannot create a directory under '%s': %s", j->ctx->rundir,
				strerror(errno));
	if (rc == 0) {
		rc = vss__expose_at(j->ctx, s, dir, 0, false, NULL);
		if (rc < 0)
			rmdir(dir);
	}
	if (rc == 0)
		rc = strv_push_owned(&j->exposed_dirs, dir);
	if (rc < 0) {
		free(dir);
		return rc;
	}
	j->exposed[j->nexposed++] = s->id;
	*ret = j->exposed_dirs.items[j->exposed_dirs.count - 1];
	return 0;
}

static void unexpose_all(struct job *j)
{
	struct vss__saved_error e;

	if (!j->nexposed)
		return;
	vss__error_save(&e);
	for (size_t i = 0; i < j->nexposed; i++)
		vss__unexpose_id(j->ctx, &j->exposed[i], VSS_UNEXPOSE_FORCE);
	for (size_t i = 0; i < j->exposed_dirs.count; i++)
		rmdir(j->exposed_dirs.items[i]);
	vss__error_restore(&e);
}

/* ---- matching files ------------------------------------------------------- */

/*
 * A file spec matches a name as Windows' does, for the specs writers use:
 * '*' and '?' wildcards, any case kept; "*.*" is every name, dotted or not.
 * Names starting with '.' are names like any other.
 */
static bool spec_matches(const char *spec, const char *name)
{
	if (!spec || !*spec || strcmp(spec, "*") == 0 || strcmp(spec, "*.*") == 0)
		return true;
	return fnmatch(spec, name, FNM_NOESCAPE) == 0;
}

static bool spec_is_all(const char *spec)
{
	return !spec || !*spec || strcmp(spec, "*") == 0 || strcmp(spec, "*.*") == 0;
}

/* Whether the writer excludes file path (in directory dir, named name). */
static bool excluded(const struct vss_wmd *wmd, const char *dir, const char *name)
{
	size_t n = vss_wmd_exclude_files_count(wmd);

	for (size_t i = 0; i < n; i++) {
		const struct vss_wmd_filespec *x = vss_wmd_exclude_files_at(wmd, i);
		const char *xp = vss_wmd_filespec_get_path(x);
		bool here = strcmp(dir, xp) == 0 ||
			    (vss_wmd_filespec_get_recursive(x) && path_under(dir, xp));

		if (here && spec_matches(vss_wmd_filespec_get_filespec(x), name))
			return true;
	}
	return false;
}

/* Whether some exclude entry of the writer reaches into directory dir. */
static bool excludes_within(const struct vss_wmd *wmd, const char *dir)
{
	size_t n = vss_wmd_exclude_files_count(wmd);

	for (size_t i = 0; i < n; i++) {
		const struct vss_wmd_filespec *x = vss_wmd_exclude_files_at(wmd, i);
		const char *xp = vss_wmd_filespec_get_path(x);

		if (path_under(xp, dir) || (vss_wmd_filespec_get_recursive(x) && path_under(dir, xp)))
			return true;
	}
	return false;
}

/* What the file restore of one (component, copy) is given. */
struct target {
	struct vss_restore *r;
	const char *path;          /* the file set's path (original) */
	const char *destination;   /* its alternate location mapping, or NULL */
};

/*
 * The deepest existing directory at or above dir, and the rest of dir below
 * it: mapped files go under it, and the engine makes what is missing.
 */
static int split_existing(const char *dir, char **ret_root, const char **ret_rest)
{
	char *root = strdup(dir);
	struct stat st;

	if (!root)
		return vss__error(-ENOMEM, "out of memory");
	while (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(root, '/');

		if (!slash || slash == root) {
			root[1] = '\0';
			break;
		}
		*slash = '\0';
	}
	*ret_rest = dir + strlen(root);
	while (**ret_rest == '/')
		(*ret_rest)++;
	*ret_root = root;
	return 0;
}

static int add_one(struct target *t, const char *path)
{
	struct sbuf trel = SBUF_INIT;
	const char *below, *rest = "";
	char *src_rel = NULL, *root = NULL;
	int rc;

	if (!t->destination)
		return vss_restore_add_path(t->r, path);
	/* path under the file set's path goes to the same place under the
	 * destination of its mapping. */
	rc = vss__restore_rel(t->r, path, &src_rel);
	if (rc == 0)
		rc = split_existing(t->destination, &root, &rest);
	if (rc < 0)
		goto out;
	below = path + strlen(t->path);
	while (*below == '/')
		below++;
	sbuf_adds(&trel, rest);
	if (*rest && *below)
		sbuf_addch(&trel, '/');
	if (sbuf_adds(&trel, below) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	rc = vss__restore_map(t->r, src_rel, root, trel.len ? sbuf_str(&trel) : ".");
out:
	sbuf_release(&trel);
	free(root);
	free(src_rel);
	return rc;
}

/*
 * Add what matches spec in directory dir of the original volume (read in
 * the copy at src), recursing when asked; entries the writer excludes are
 * left out, and a whole subtree is added as one path when nothing in it is
 * excluded and every name in it matches.
 */
static int add_matching(struct target *t, const struct vss_wmd *wmd,
			const char *dir, const char *src, const char *spec, bool recursive)
{
	struct dirent **names = NULL;
	int n, rc = 0;

	n = scandir(src, &names, NULL, alphasort);
	if (n < 0)
		return vss__error(-errno, "cannot read '%s' in the shadow copy: %s", dir,
				  strerror(errno));
	for (int i = 0; i < n && rc == 0; i++) {
		const char *name = names[i]->d_name;
		char *path = NULL, *spath = NULL;
		struct stat st;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		path = path_join(dir, name);
		spath = path_join(src, name);
		if (!path || !spath) {
			rc = vss__error(-ENOMEM, "out of memory");
		} else if (excluded(wmd, dir, name)) {
			vss__debug("restore: '%s' is excluded by its writer", path);
		} else if (lstat(spath, &st) < 0) {
			rc = vss__error(-errno, "cannot read '%s' in the shadow copy: %s", path,
					strerror(errno));
		} else if (S_ISDIR(st.st_mode) && recursive) {
			if (spec_is_all(spec) && !excludes_within(wmd, path))
				rc = add_one(t, path);
			else
				rc = add_matching(t, wmd, path, spath, spec, recursive);
		} else if (!S_ISDIR(st.st_mode) && spec_matches(spec, name)) {
			rc = add_one(t, path);
		}
		free(path);
		free(spath);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* ---- running the file restores -------------------------------------------- */

static void entry_cb(const struct vss_restore_entry *e, void *userdata)
{
	struct job *j = userdata;

	if (j->entry_fn)
		j->entry_fn(e, j->userdata);
}

static void add_stats(struct vss_restore_stats *to, const struct vss_restore_stats *s)
{
	to->restored += s->restored;
	to->skipped += s->skipped;
	to->refused += s->refused;
	to->failed += s->failed;
	to->bytes += s->bytes;
	to->cloned_bytes += s->cloned_bytes;
}

/* Progress over every run: the runs finished plus the one under way. */
static void progress_cb(const struct vss_restore_stats *done, uint64_t total_files,
			uint64_t total_bytes, void *userdata)
{
	struct job *j = userdata;
	struct vss_restore_stats sum = j->done;

	j->cur_files_total = total_files;
	j->cur_bytes_total = total_bytes;
	if (!j->progress_fn)
		return;
	add_stats(&sum, done);
	j->progress_fn(&sum, j->done_files_total + total_files, j->done_bytes_total + total_bytes,
		       j->userdata);
}

/* Report a file set that cannot be restored at all, as one failed entry. */
static void report_failed(struct job *j, struct ccomp *c, const char *path, int error,
			  const char *message)
{
	struct vss_restore_entry e = {
		.target = path, .source = "", .type = 'd', .outcome = VSS_RESTORE_FAILED,
		.error = error, .message = message,
	};

	c->stats.failed++;
	j->done.failed++;
	entry_cb(&e, j);
}

static size_t component_files(const struct vss_wmd_component *wc, const struct vss_wmd_file **out,
			      size_t max)
{
	size_t n = 0, k;

	for (k = 0; k < vss_wmd_component_file_count(wc) && n < max; k++)
		out[n++] = vss_wmd_component_file_at(wc, k);
	for (k = 0; k < vss_wmd_component_database_file_count(wc) && n < max; k++)
		out[n++] = vss_wmd_component_database_file_at(wc, k);
	for (k = 0; k < vss_wmd_component_database_log_file_count(wc) && n < max; k++)
		out[n++] = vss_wmd_component_database_log_file_at(wc, k);
	return n;
}

/* The alternate location mapping of file set f, or NULL. */
static const char *mapping_of(const struct vss_wmd *wmd, const struct vss_wmd_file *f)
{
	size_t n = vss_wmd_alternate_location_mapping_count(wmd);

	for (size_t i = 0; i < n; i++) {
		const struct vss_wmd_filespec *m = vss_wmd_alternate_location_mapping_at(wmd, i);

		if (strcmp(vss_wmd_filespec_get_path(m), vss_wmd_file_get_path(f)) == 0 &&
		    strcmp(vss_wmd_filespec_get_filespec(m), vss_wmd_file_get_filespec(f)) == 0 &&
		    vss_wmd_filespec_get_recursive(m) == vss_wmd_file_get_recursive(f))
			return vss_wmd_filespec_get_destination(m);
	}
	return NULL;
}

static enum vss_restore_policy policy_of(enum vss_restore_method m)
{
	return m == VSS_RME_RESTORE_IF_NOT_THERE ? VSS_RESTORE_IF_NOT_THERE
						 : VSS_RESTORE_IF_CAN_REPLACE;
}

/*
 * A path from a document that names a restore root: absolute, and already
 * in normal form, so that '..' cannot lead it anywhere else.
 */
static bool is_plain_absolute(const char *path)
{
	char *norm = NULL;
	size_t n = strlen(path);
	bool ok;

	if (path[0] != '/')
		return false;
	while (n > 1 && path[n - 1] == '/')
		n--;
	if (vss__path_normalise(path, &norm) < 0)
		return false;
	ok = strlen(norm) + 1 == n ? strncmp(path + 1, norm, n - 1) == 0 : (n == 1 && !*norm);
	free(norm);
	return ok;
}

/* Restore the files of one file set of component c. */
static int restore_fileset(struct job *j, struct ccomp *c, const struct vss_wmd_file *f)
{
	const struct vss_wmd *wmd = c->w->wmd;
	enum vss_restore_method method = vss_wmd_get_restore_method(wmd);
	const char *path = vss_wmd_file_get_path(f), *spec = vss_wmd_file_get_filespec(f);
	bool recursive = vss_wmd_file_get_recursive(f);
	struct target t = { .path = path };
	struct vss_restore_stats st = { 0 };
	struct vss_snapshot *s = copy_for(j, path);
	const char *src_root = NULL;
	char *src = NULL;
	int rc;

	if (!s) {
		report_failed(j, c, path, -VSS_E_OBJECT_NOT_FOUND,
			      "no shadow copy of the set holds it: its volume was not in the set");
		return 0;
	}
	if (method == VSS_RME_RESTORE_TO_ALTERNATE_LOCATION) {
		t.destination = mapping_of(wmd, f);
		if (!t.destination) {
			report_failed(j, c, path, -VSS_E_INVALID_XML_DOCUMENT,
				      "the writer restores to alternate locations but maps no "
				      "alternate location for this file set");
			return 0;
		}
		if (!is_plain_absolute(t.destination)) {
			report_failed(j, c, path, -EINVAL,
				      "the alternate location in the writer's metadata is not a plain "
				      "absolute path (no '.' or '..' parts): refused, nothing is "
				      "restored there");
			return 0;
		}
		/* The requester records where it put the files (reference §4.2, 8). */
		if (!(j->flags & VSS_RESTORE_DRY_RUN)) {
			rc = vss_bcd_component_add_alternate_location_mapping(c->bc, path, spec,
									      recursive, t.destination);
			if (rc < 0)
				return rc;
		}
	}

	rc = vss_restore_new(j->ctx, &s->id, &t.r);
	if (rc < 0)
		return rc;
	vss_restore_set_flags(t.r, j->flags & FILE_FLAGS);
	rc = vss_restore_set_policy(t.r, policy_of(method));
	if (rc < 0)
		goto out;
	vss_restore_set_entry_fn(t.r, entry_cb, j);
	vss_restore_set_progress_fn(t.r, progress_cb, j);

	/* The whole tree in one go where nothing in it is left out. */
	if (spec_is_all(spec) && recursive && !excludes_within(wmd, path)) {
		rc = add_one(&t, path);
	} else {
		rc = copy_dir(j, s, &src_root);
		if (rc < 0)
			goto out;
		src = path_join(src_root, rel_in(s, path));
		if (!src) {
			rc = vss__error(-ENOMEM, "out of memory");
			goto out;
		}
		rc = add_matching(&t, wmd, path, src, spec, recursive);
	}
	if (rc == -ENOENT) {
		/* Not in the copy: nothing of it was backed up. */
		report_failed(j, c, path, rc, "the shadow copy has no such path");
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;

	j->cur_files_total = j->cur_bytes_total = 0;
	rc = vss_restore_run(t.r, &st);
	if (rc < 0)
		goto out;
	add_stats(&c->stats, &st);
	add_stats(&j->done, &st);
	j->done_files_total += j->cur_files_total;
	j->done_bytes_total += j->cur_bytes_total;
out:
	free(src);
	vss_restore_unref(t.r);
	return rc;
}

static int restore_component(struct job *j, struct ccomp *c)
{
	const struct vss_wmd *wmd = c->w->wmd;
	struct sbuf fp = SBUF_INIT;
	int rc = 0;

	if (vss_wmd_get_restore_method(wmd) == VSS_RME_CUSTOM)
		return 0;  /* the writer restores its files itself, at its events */
	rc = full_path(vss_wmd_component_get_logical_path(c->wc), vss_wmd_component_get_name(c->wc),
		       &fp);
	/* The component, then the components of its set (under its full path). */
	for (size_t i = 0; rc == 0 && i < vss_wmd_component_count(wmd); i++) {
		const struct vss_wmd_component *wc = vss_wmd_component_at(wmd, i);
		const struct vss_wmd_file *files[256];
		size_t nf;

		if (wc != c->wc && !lp_under(vss_wmd_component_get_logical_path(wc), sbuf_str(&fp)))
			continue;
		nf = component_files(wc, files, sizeof(files) / sizeof(files[0]));
		for (size_t k = 0; rc == 0 && k < nf; k++)
			rc = restore_fileset(j, c, files[k]);
	}
	sbuf_release(&fp);
	return rc;
}

/* VSS_RS_ALL: every file is back; NONE: none is; FAILED: some are. */
static enum vss_file_restore_status status_of(const struct vss_restore_stats *s)
{
	if (s->failed + s->refused == 0)
		return s->restored == 0 && s->skipped > 0 ? VSS_RS_NONE : VSS_RS_ALL;
	return s->restored == 0 ? VSS_RS_NONE : VSS_RS_FAILED;
}

static int record_status(struct job *j)
{
	int rc = 0;

	/* Several components asked for may share one BCD component. */
	for (size_t i = 0; i < j->ncomps && rc == 0; i++) {
		struct vss_restore_stats sum = { 0 };
		bool first = true;

		for (size_t k = 0; k < j->ncomps; k++) {
			if (j->comps[k].bc != j->comps[i].bc)
				continue;
			if (k < i)
				first = false;
			add_stats(&sum, &j->comps[k].stats);
		}
		if (!first)
			continue;
		if (vss_wmd_get_restore_method(j->comps[i].w->wmd) == VSS_RME_CUSTOM)
			continue;  /* the writer says, not the requester */
		rc = vss_bcd_component_set_file_restore_status(j->comps[i].bc, status_of(&sum));
	}
	return rc;
}

/* ---- writers ------------------------------------------------------------- */

static int start_writers(struct job *j, struct vss__backup **ret)
{
	struct vss_guid classes[64];
	const char *names[64];
	struct vss__backup *b = NULL;
	size_t n = 0;
	int rc;

	for (size_t i = 0; i < j->ncomps; i++) {
		struct cwriter *w = j->comps[i].w;
		bool seen = false;

		if (vss_wmd_get_writer_restore(w->wmd) == VSS_WRE_NEVER)
			continue;  /* it asked for no restore events */
		w->take_part = true;
		for (size_t k = 0; k < n; k++)
			seen = seen || vss_guid_equal(&classes[k], vss_bcd_writer_get_writer_id(w->bw));
		if (seen)
			continue;
		if (n == sizeof(classes) / sizeof(classes[0]))
			return vss__error(-E2BIG, "too many writers in one restore");
		classes[n] = *vss_bcd_writer_get_writer_id(w->bw);
		names[n++] = writer_label(w);
	}
	*ret = NULL;
	if (n == 0)
		return 0;
	rc = vss__backup_new(j->ctx, &b);
	if (rc < 0)
		return vss__error(rc, "out of memory");
	vss__backup_set_type(b, vss_bcd_get_backup_type(j->bcd));
	rc = vss__backup_gather(b);
	if (rc == 0)
		rc = vss__backup_select_classes(b, classes, names, n);
	if (rc == 0)
		rc = vss__backup_set_bcd(b, j->bcd);
	if (rc == 0)
		rc = vss__backup_send(b, VSS_EVENT_PRE_RESTORE);
	if (rc < 0) {
		vss__backup_free(b);
		return rc;
	}
	*ret = b;
	return 0;
}

/* ---- the entry point ------------------------------------------------------ */

static void job_release(struct job *j)
{
	unexpose_all(j);
	strv_release(&j->exposed_dirs);
	for (size_t i = 0; i < j->nwriters; i++) {
		vss_wmd_unref(j->writers[i].wmd);
		free(j->writers[i].wmd_path);
	}
	free(j->writers);
	free(j->comps);
	vss_snapshot_list_unref(j->copies);
	vss_bcd_unref(j->bcd);
}

VSS_EXPORT int vss_restore_components(struct vss_context *ctx, const char *bcd_path,
				      const char *const *components, unsigned int flags,
				      vss_restore_entry_fn entry_fn,
				      vss_restore_progress_fn progress_fn, void *userdata,
				      struct vss_restore_stats *ret_stats, bool *ret_reboot_required)
{
	struct job j = {
		.ctx = ctx, .bcd_path = bcd_path, .flags = flags, .entry_fn = entry_fn,
		.progress_fn = progress_fn, .userdata = userdata,
	};
	bool dry = flags & VSS_RESTORE_DRY_RUN;
	bool events = !dry && !(flags & VSS_RESTORE_COMPONENT_NO_WRITERS);
	struct vss__backup *b = NULL;
	bool reboot = false;
	size_t n = 0;
	int rc;

	if (!ctx || !bcd_path || !components || !components[0])
		return vss__error(-EINVAL, "give a backup components document and components to restore");
	if (!dry && (rc = vss__require_root("restoring components")) < 0)
		return rc;
	while (components[n])
		n++;

	rc = vss_bcd_load_file(bcd_path, &j.bcd);
	if (rc < 0)
		goto out;
	rc = load_wmds(&j);
	if (rc < 0)
		goto out;
	rc = vss_bcd_begin_restore(j.bcd);
	if (rc < 0)
		goto out;
	j.comps = calloc(n, sizeof(*j.comps));
	if (!j.comps) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rc = find_component(&j, components[i], &j.comps[i]);
		if (rc < 0)
			goto out;
		j.ncomps++;
		rc = vss_bcd_component_set_selected_for_restore(j.comps[i].bc, true);
		if (rc < 0)
			goto out;
		reboot = reboot || vss_wmd_get_reboot_required(j.comps[i].w->wmd);
	}
	rc = load_copies(&j);
	if (rc < 0)
		goto out;

	if (events) {
		rc = start_writers(&j, &b);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < j.ncomps && rc == 0; i++)
		rc = restore_component(&j, &j.comps[i]);
	if (rc < 0)
		goto out;
	if (!dry) {
		rc = record_status(&j);
		if (rc < 0)
			goto out;
		if (b) {
			rc = vss__backup_set_bcd(b, j.bcd);
			if (rc == 0)
				rc = vss__backup_send(b, VSS_EVENT_POST_RESTORE);
			if (rc < 0) {
				/* The files are back: keep their record anyway. */
				struct vss__saved_error e;

				vss__error_save(&e);
				vss_bcd_save_file(j.bcd, bcd_path);
				rc = vss__error_restore(&e);
				goto out;
			}
		}
		rc = vss_bcd_save_file(j.bcd, bcd_path);
		if (rc < 0)
			goto out;
	}
	if (ret_stats)
		*ret_stats = j.done;
	if (ret_reboot_required)
		*ret_reboot_required = reboot;
out:
	vss__backup_free(b);
	job_release(&j);
	return rc;
}
