/*
 * The Writer Metadata Document: the model behind <vss/wmd.h>, its XML form
 * (lib/schema/wmd.rng, vss-metadata(5)) and its life cycle.
 *
 * Loading walks the tree by hand before the schema looks at it, so every
 * mistake (an unknown element or attribute, text where none belongs, a bad
 * value, a duplicate component) is reported with the element, attribute
 * and line that are wrong: libxml2's RELAX NG messages for interleaved
 * content name neither.  The schema, the published description of the
 * format, then validates the same document as a second line of defence.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/tree.h>

#include "vss-private.h"
#include "vss/wmd.h"
#include "schema.h"
#include "xml-attr.h"
#include "util/file.h"
#include "util/banned.h"

#define WMD_NS       "x-schema:#VssWriterMetadataInfo"
#define WMD_VERSION  "1.2"
/* Bigger than any real writer's document by orders of magnitude. */

#define X(s) ((const xmlChar *)(s))

/* A growable array of pointers; items never move once pushed. */
struct pvec {
	void **items;
	size_t count;
	size_t cap;
};

struct vss_wmd_filespec {
	char *path;
	char *filespec;
	bool recursive;
	char *destination;           /* mappings only */
};

struct vss_wmd_file {
	char *path;
	char *filespec;
	bool recursive;
	char *alternate_location;
	uint32_t backup_type_mask;
};

struct vss_wmd_dependency {
	struct vss_guid writer_id;
	char *logical_path;          /* NULL for the root */
	char *component_name;
	int line;                    /* where it was loaded from, else 0 */
};

struct vss_wmd_component {
	struct vss_wmd *wmd;         /* the owner, for the read-only check */
	enum vss_component_type type;
	char *logical_path;          /* NULL for the root */
	char *name;
	char *caption;
	unsigned char *icon;
	size_t icon_len;
	bool restore_metadata;
	bool notify_on_backup_complete;
	bool selectable;
	bool selectable_for_restore;
	uint32_t flags;
	struct pvec files;           /* FILE_LIST */
	struct pvec database_files;  /* DATABASE_FILES */
	struct pvec log_files;       /* DATABASE_LOGFILES */
	struct pvec dependencies;
	int line;                    /* where it was loaded from, else 0 */
};

struct vss_wmd {
	int refcount;
	bool frozen;
	bool loaded;
	struct vss_guid writer_id;
	struct vss_guid instance_id;
	char *instance_name;
	char *friendly_name;
	enum vss_usage_type usage;
	enum vss_source_type source;
	uint32_t major_version;
	uint32_t minor_version;
	uint32_t backup_schema;
	bool has_restore_method;
	enum vss_restore_method restore_method;
	char *restore_service;
	char *restore_user_procedure;
	enum vss_writer_restore writer_restore;
	bool reboot_required;
	struct pvec mappings;
	struct pvec components;
	struct pvec excludes;
	struct pvec excludes_from_snapshot;
};

static const struct vss__enum_word usage_words[] = {
	{ VSS_UT_UNDEFINED, "UNDEFINED" },
	{ VSS_UT_BOOTABLESYSTEMSTATE, "BOOTABLE_SYSTEM_STATE" },
	{ VSS_UT_SYSTEMSERVICE, "SYSTEM_SERVICE" },
	{ VSS_UT_USERDATA, "USER_DATA" },
	{ VSS_UT_OTHER, "OTHER" },
	{ 0, NULL },
};

static const struct vss__enum_word source_words[] = {
	{ VSS_ST_UNDEFINED, "UNDEFINED" },
	{ VSS_ST_TRANSACTEDDB, "TRANSACTION_DB" },
	{ VSS_ST_NONTRANSACTEDDB, "NONTRANSACTION_DB" },
	{ VSS_ST_OTHER, "OTHER" },
	{ 0, NULL },
};

/* Windows' own words where documents show them (reference §5.2). */
static const struct vss__enum_word method_words[] = {
	{ VSS_RME_UNDEFINED, "UNDEFINED" },
	{ VSS_RME_RESTORE_IF_NOT_THERE, "RESTORE_IF_NOT_THERE" },
	{ VSS_RME_RESTORE_IF_CAN_REPLACE, "RESTORE_IF_CAN_BE_REPLACED" },
	{ VSS_RME_STOP_RESTORE_START, "STOP_RESTORE_START" },
	{ VSS_RME_RESTORE_TO_ALTERNATE_LOCATION, "RESTORE_TO_ALTERNATE_LOCATION" },
	{ VSS_RME_RESTORE_AT_REBOOT, "REPLACE_AT_REBOOT" },
	{ VSS_RME_RESTORE_AT_REBOOT_IF_CANNOT_REPLACE, "REPLACE_AT_REBOOT_IF_CANNOT_REPLACE" },
	{ VSS_RME_CUSTOM, "CUSTOM" },
	{ VSS_RME_RESTORE_STOP_START, "RESTORE_STOP_START" },
	{ 0, NULL },
};

static const struct vss__enum_word writer_restore_words[] = {
	{ VSS_WRE_UNDEFINED, "undefined" },
	{ VSS_WRE_NEVER, "never" },
	{ VSS_WRE_IF_REPLACE_FAILS, "ifReplaceFails" },
	{ VSS_WRE_ALWAYS, "always" },
	{ 0, NULL },
};

VSS_EXPORT const char *vss_usage_type_name(enum vss_usage_type type)
{
	return vss__enum_word(usage_words, (int)type);
}

VSS_EXPORT const char *vss_source_type_name(enum vss_source_type type)
{
	return vss__enum_word(source_words, (int)type);
}

VSS_EXPORT const char *vss_restore_method_name(enum vss_restore_method method)
{
	return vss__enum_word(method_words, (int)method);
}

VSS_EXPORT const char *vss_writer_restore_name(enum vss_writer_restore restore)
{
	return vss__enum_word(writer_restore_words, (int)restore);
}

/* ---- small helpers -------------------------------------------------------- */

static int pvec_push(struct pvec *v, void *item)
{
	if (v->count == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 4;
		void **items = reallocarray(v->items, cap, sizeof(*items));

		if (!items)
			return -ENOMEM;
		v->items = items;
		v->cap = cap;
	}
	v->items[v->count++] = item;
	return 0;
}

static void *pvec_at(const struct pvec *v, size_t i)
{
	return i < v->count ? v->items[i] : NULL;
}

static int oom(void)
{
	return vss__error(-ENOMEM, "out of memory");
}

/* Replace *field by a copy of value; NULL and "" both mean none. */
static int set_optional(char **field, const char *value)
{
	return vss__strset(field, value && *value ? value : NULL) < 0 ? oom() : 0;
}

static bool same_optional(const char *a, const char *b)
{
	if (!a || !*a)
		return !b || !*b;
	return b && strcmp(a, b) == 0;
}

/* "path\name" or "name", for messages. */
static const char *full_name(const char *logical_path, const char *name, char *buf, size_t size)
{
	if (logical_path && *logical_path)
		snprintf(buf, size, "%s\\%s", logical_path, name);
	else
		snprintf(buf, size, "%s", name);
	return buf;
}

static int check_editable(const struct vss_wmd *wmd)
{
	if (!wmd)
		return vss__error(-EINVAL, "no writer metadata document given");
	if (wmd->loaded)
		return vss__error(-VSS_E_BAD_STATE,
				  "the writer metadata document is read-only after Identify: "
				  "a loaded document can only be examined");
	if (wmd->frozen)
		return vss__error(-VSS_E_BAD_STATE,
				  "the writer metadata document is read-only after Identify: "
				  "make changes before vss_wmd_freeze()");
	return 0;
}

static int check_text(const char *value, const char *what)
{
	if (!value)
		return vss__error(-EINVAL, "no %s given", what);
	return 0;
}

/* ---- destruction ------------------------------------------------------------ */

static void filespec_free(struct vss_wmd_filespec *fs)
{
	if (!fs)
		return;
	free(fs->path);
	free(fs->filespec);
	free(fs->destination);
	free(fs);
}

static void file_free(struct vss_wmd_file *f)
{
	if (!f)
		return;
	free(f->path);
	free(f->filespec);
	free(f->alternate_location);
	free(f);
}

static void dependency_free(struct vss_wmd_dependency *d)
{
	if (!d)
		return;
	free(d->logical_path);
	free(d->component_name);
	free(d);
}

static void pvec_release(struct pvec *v, void (*item_free)(void *))
{
	for (size_t i = 0; i < v->count; i++)
		item_free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->count = v->cap = 0;
}

static void filespec_free_v(void *p) { filespec_free(p); }
static void file_free_v(void *p) { file_free(p); }
static void dependency_free_v(void *p) { dependency_free(p); }

static void component_free(struct vss_wmd_component *c)
{
	if (!c)
		return;
	free(c->logical_path);
	free(c->name);
	free(c->caption);
	free(c->icon);
	pvec_release(&c->files, file_free_v);
	pvec_release(&c->database_files, file_free_v);
	pvec_release(&c->log_files, file_free_v);
	pvec_release(&c->dependencies, dependency_free_v);
	free(c);
}

static void component_free_v(void *p) { component_free(p); }

/* ---- the document ------------------------------------------------------------ */

VSS_EXPORT struct vss_wmd *vss_wmd_new(void)
{
	struct vss_wmd *wmd = calloc(1, sizeof(*wmd));

	if (!wmd)
		return NULL;
	wmd->refcount = 1;
	vss_guid_generate(&wmd->instance_id);
	return wmd;
}

VSS_EXPORT struct vss_wmd *vss_wmd_ref(struct vss_wmd *wmd)
{
	if (wmd)
		wmd->refcount++;
	return wmd;
}

VSS_EXPORT struct vss_wmd *vss_wmd_unref(struct vss_wmd *wmd)
{
	if (!wmd || --wmd->refcount > 0)
		return NULL;
	free(wmd->instance_name);
	free(wmd->friendly_name);
	free(wmd->restore_service);
	free(wmd->restore_user_procedure);
	pvec_release(&wmd->mappings, filespec_free_v);
	pvec_release(&wmd->components, component_free_v);
	pvec_release(&wmd->excludes, filespec_free_v);
	pvec_release(&wmd->excludes_from_snapshot, filespec_free_v);
	free(wmd);
	return NULL;
}

VSS_EXPORT bool vss_wmd_is_read_only(const struct vss_wmd *wmd)
{
	return wmd && (wmd->frozen || wmd->loaded);
}

/*
 * A dependency on this writer's own class must name one of its components.
 * file: the document being loaded (messages with a line), or NULL.
 */
static int check_dependencies(const struct vss_wmd *wmd, const char *file)
{
	char from[512], to[512];

	for (size_t i = 0; i < wmd->components.count; i++) {
		const struct vss_wmd_component *c = wmd->components.items[i];

		for (size_t j = 0; j < c->dependencies.count; j++) {
			const struct vss_wmd_dependency *d = c->dependencies.items[j];

			if (!vss_guid_equal(&d->writer_id, &wmd->writer_id) ||
			    vss_wmd_find_component(wmd, d->logical_path, d->component_name))
				continue;
			full_name(c->logical_path, c->name, from, sizeof(from));
			full_name(d->logical_path, d->component_name, to, sizeof(to));
			if (file)
				return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, d->line, 0,
						      "<DEPENDENCY> of component '%s' names component "
						      "'%s' of its own writer, which has no such "
						      "component", from, to);
			return vss__error(-VSS_E_INVALID_XML_DOCUMENT,
					  "component '%s' depends on component '%s' of its own "
					  "writer, which has no such component: add it or remove "
					  "the dependency", from, to);
		}
	}
	return 0;
}

VSS_EXPORT int vss_wmd_freeze(struct vss_wmd *wmd)
{
	int rc;

	if (!wmd)
		return vss__error(-EINVAL, "no writer metadata document given");
	if (wmd->frozen || wmd->loaded)
		return 0;
	rc = check_dependencies(wmd, NULL);
	if (rc < 0)
		return rc;
	wmd->frozen = true;
	return 0;
}

/* ---- identity ---------------------------------------------------------------- */

VSS_EXPORT const struct vss_guid *vss_wmd_get_writer_id(const struct vss_wmd *wmd)
{
	return &wmd->writer_id;
}

VSS_EXPORT const struct vss_guid *vss_wmd_get_instance_id(const struct vss_wmd *wmd)
{
	return &wmd->instance_id;
}

VSS_EXPORT const char *vss_wmd_get_instance_name(const struct vss_wmd *wmd)
{
	return wmd->instance_name;
}

VSS_EXPORT const char *vss_wmd_get_friendly_name(const struct vss_wmd *wmd)
{
	return wmd->friendly_name ? wmd->friendly_name : "";
}

VSS_EXPORT enum vss_usage_type vss_wmd_get_usage_type(const struct vss_wmd *wmd)
{
	return wmd->usage;
}

VSS_EXPORT enum vss_source_type vss_wmd_get_source_type(const struct vss_wmd *wmd)
{
	return wmd->source;
}

VSS_EXPORT uint32_t vss_wmd_get_major_version(const struct vss_wmd *wmd)
{
	return wmd->major_version;
}

VSS_EXPORT uint32_t vss_wmd_get_minor_version(const struct vss_wmd *wmd)
{
	return wmd->minor_version;
}

VSS_EXPORT uint32_t vss_wmd_get_backup_schema(const struct vss_wmd *wmd)
{
	return wmd->backup_schema;
}

VSS_EXPORT int vss_wmd_set_writer_id(struct vss_wmd *wmd, const struct vss_guid *id)
{
	int rc = check_editable(wmd);

	if (rc == 0 && !id)
		rc = vss__error(-EINVAL, "no writer class ID given");
	if (rc == 0)
		wmd->writer_id = *id;
	return rc;
}

VSS_EXPORT int vss_wmd_set_instance_id(struct vss_wmd *wmd, const struct vss_guid *id)
{
	int rc = check_editable(wmd);

	if (rc == 0 && !id)
		rc = vss__error(-EINVAL, "no writer instance ID given");
	if (rc == 0)
		wmd->instance_id = *id;
	return rc;
}

VSS_EXPORT int vss_wmd_set_instance_name(struct vss_wmd *wmd, const char *name)
{
	int rc = check_editable(wmd);

	return rc < 0 ? rc : set_optional(&wmd->instance_name, name);
}

VSS_EXPORT int vss_wmd_set_friendly_name(struct vss_wmd *wmd, const char *name)
{
	int rc = check_editable(wmd);

	if (rc == 0)
		rc = check_text(name, "writer name");
	if (rc == 0 && vss__strset(&wmd->friendly_name, name) < 0)
		rc = oom();
	return rc;
}

VSS_EXPORT int vss_wmd_set_usage_type(struct vss_wmd *wmd, enum vss_usage_type type)
{
	int rc = check_editable(wmd);

	if (rc == 0 && !vss_usage_type_name(type))
		rc = vss__error(-EINVAL, "%d is not a usage type (VSS_UT_*)", (int)type);
	if (rc == 0)
		wmd->usage = type;
	return rc;
}

VSS_EXPORT int vss_wmd_set_source_type(struct vss_wmd *wmd, enum vss_source_type type)
{
	int rc = check_editable(wmd);

	if (rc == 0 && !vss_source_type_name(type))
		rc = vss__error(-EINVAL, "%d is not a data source type (VSS_ST_*)", (int)type);
	if (rc == 0)
		wmd->source = type;
	return rc;
}

VSS_EXPORT int vss_wmd_set_version(struct vss_wmd *wmd, uint32_t major, uint32_t minor)
{
	int rc = check_editable(wmd);

	if (rc == 0) {
		wmd->major_version = major;
		wmd->minor_version = minor;
	}
	return rc;
}

VSS_EXPORT int vss_wmd_set_backup_schema(struct vss_wmd *wmd, uint32_t schema)
{
	int rc = check_editable(wmd);

	if (rc == 0)
		wmd->backup_schema = schema;
	return rc;
}

/* ---- restore method ---------------------------------------------------------- */

static int restore_method_set(struct vss_wmd *wmd, enum vss_restore_method method,
			      const char *service, const char *user_procedure,
			      enum vss_writer_restore writer_restore, bool reboot_required)
{
	char *s = NULL, *u = NULL;
	int rc = 0;

	if (!vss_restore_method_name(method))
		return vss__error(-EINVAL, "%d is not a restore method (VSS_RME_*)", (int)method);
	if (!vss_writer_restore_name(writer_restore))
		return vss__error(-EINVAL, "%d is not a writer restore value (VSS_WRE_*)",
				  (int)writer_restore);
	if (set_optional(&s, service) < 0 || set_optional(&u, user_procedure) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	free(wmd->restore_service);
	free(wmd->restore_user_procedure);
	wmd->restore_service = s;
	wmd->restore_user_procedure = u;
	s = u = NULL;
	wmd->has_restore_method = true;
	wmd->restore_method = method;
	wmd->writer_restore = writer_restore;
	wmd->reboot_required = reboot_required;
out:
	free(u);
	free(s);
	return rc;
}

VSS_EXPORT int vss_wmd_set_restore_method(struct vss_wmd *wmd, enum vss_restore_method method,
					  const char *service, const char *user_procedure,
					  enum vss_writer_restore writer_restore,
					  bool reboot_required)
{
	int rc = check_editable(wmd);

	if (rc < 0)
		return rc;
	return restore_method_set(wmd, method, service, user_procedure, writer_restore,
				  reboot_required);
}

VSS_EXPORT bool vss_wmd_has_restore_method(const struct vss_wmd *wmd)
{
	return wmd->has_restore_method;
}

VSS_EXPORT enum vss_restore_method vss_wmd_get_restore_method(const struct vss_wmd *wmd)
{
	return wmd->restore_method;
}

VSS_EXPORT const char *vss_wmd_get_restore_service(const struct vss_wmd *wmd)
{
	return wmd->restore_service;
}

VSS_EXPORT const char *vss_wmd_get_restore_user_procedure(const struct vss_wmd *wmd)
{
	return wmd->restore_user_procedure;
}

VSS_EXPORT enum vss_writer_restore vss_wmd_get_writer_restore(const struct vss_wmd *wmd)
{
	return wmd->writer_restore;
}

VSS_EXPORT bool vss_wmd_get_reboot_required(const struct vss_wmd *wmd)
{
	return wmd->reboot_required;
}

/* Append a writer-level file set; destination only for mappings. */
static int filespec_add(struct pvec *v, const char *path, const char *filespec, bool recursive,
			const char *destination)
{
	struct vss_wmd_filespec *fs = calloc(1, sizeof(*fs));
	int rc = 0;

	if (!fs || vss__strset(&fs->path, path) < 0 || vss__strset(&fs->filespec, filespec) < 0 ||
	    vss__strset(&fs->destination, destination) < 0 || pvec_push(v, fs) < 0) {
		rc = oom();
		goto out;
	}
	fs->recursive = recursive;
	fs = NULL;
out:
	filespec_free(fs);
	return rc;
}

VSS_EXPORT int vss_wmd_add_alternate_location_mapping(struct vss_wmd *wmd, const char *path,
						      const char *filespec, bool recursive,
						      const char *destination)
{
	int rc = check_editable(wmd);

	if (rc == 0)
		rc = check_text(path, "path");
	if (rc == 0)
		rc = check_text(filespec, "filespec");
	if (rc == 0)
		rc = check_text(destination, "destination");
	if (rc == 0 && !wmd->has_restore_method)
		rc = vss__error(-EINVAL, "alternate location mapping of '%s': set the restore "
				"method first, the mappings are part of it", path);
	if (rc == 0)
		rc = filespec_add(&wmd->mappings, path, filespec, recursive, destination);
	return rc;
}

VSS_EXPORT size_t vss_wmd_alternate_location_mapping_count(const struct vss_wmd *wmd)
{
	return wmd->mappings.count;
}

VSS_EXPORT const struct vss_wmd_filespec *vss_wmd_alternate_location_mapping_at(
	const struct vss_wmd *wmd, size_t i)
{
	return pvec_at(&wmd->mappings, i);
}

/* ---- exclude lists ------------------------------------------------------------ */

static int exclude_add(struct vss_wmd *wmd, struct pvec *v, const char *path,
		       const char *filespec, bool recursive)
{
	int rc = check_editable(wmd);

	if (rc == 0)
		rc = check_text(path, "path");
	if (rc == 0)
		rc = check_text(filespec, "filespec");
	if (rc == 0)
		rc = filespec_add(v, path, filespec, recursive, NULL);
	return rc;
}

VSS_EXPORT int vss_wmd_add_exclude_files(struct vss_wmd *wmd, const char *path,
					 const char *filespec, bool recursive)
{
	return exclude_add(wmd, wmd ? &wmd->excludes : NULL, path, filespec, recursive);
}

VSS_EXPORT size_t vss_wmd_exclude_files_count(const struct vss_wmd *wmd)
{
	return wmd->excludes.count;
}

VSS_EXPORT const struct vss_wmd_filespec *vss_wmd_exclude_files_at(const struct vss_wmd *wmd,
								   size_t i)
{
	return pvec_at(&wmd->excludes, i);
}

VSS_EXPORT int vss_wmd_add_exclude_files_from_snapshot(struct vss_wmd *wmd, const char *path,
						       const char *filespec, bool recursive)
{
	return exclude_add(wmd, wmd ? &wmd->excludes_from_snapshot : NULL, path, filespec,
			   recursive);
}

VSS_EXPORT size_t vss_wmd_exclude_files_from_snapshot_count(const struct vss_wmd *wmd)
{
	return wmd->excludes_from_snapshot.count;
}

VSS_EXPORT const struct vss_wmd_filespec *vss_wmd_exclude_files_from_snapshot_at(
	const struct vss_wmd *wmd, size_t i)
{
	return pvec_at(&wmd->excludes_from_snapshot, i);
}

VSS_EXPORT const char *vss_wmd_filespec_get_path(const struct vss_wmd_filespec *fs)
{
	return fs->path;
}

VSS_EXPORT const char *vss_wmd_filespec_get_filespec(const struct vss_wmd_filespec *fs)
{
	return fs->filespec;
}

VSS_EXPORT bool vss_wmd_filespec_get_recursive(const struct vss_wmd_filespec *fs)
{
	return fs->recursive;
}

VSS_EXPORT const char *vss_wmd_filespec_get_destination(const struct vss_wmd_filespec *fs)
{
	return fs->destination;
}

/* ---- components ---------------------------------------------------------------- */

VSS_EXPORT struct vss_wmd_component *vss_wmd_find_component(const struct vss_wmd *wmd,
							    const char *logical_path,
							    const char *name)
{
	if (!wmd || !name)
		return NULL;
	for (size_t i = 0; i < wmd->components.count; i++) {
		struct vss_wmd_component *c = wmd->components.items[i];

		if (strcmp(c->name, name) == 0 && same_optional(c->logical_path, logical_path))
			return c;
	}
	return NULL;
}

/* Checked by the callers: type, name, uniqueness. */
static int component_add(struct vss_wmd *wmd, enum vss_component_type type,
			 const char *logical_path, const char *name,
			 struct vss_wmd_component **ret)
{
	struct vss_wmd_component *c = calloc(1, sizeof(*c));
	int rc = 0;

	if (!c || set_optional(&c->logical_path, logical_path) < 0 ||
	    vss__strset(&c->name, name) < 0 || pvec_push(&wmd->components, c) < 0) {
		rc = oom();
		goto out;
	}
	c->wmd = wmd;
	c->type = type;
	if (ret)
		*ret = c;
	c = NULL;
out:
	component_free(c);
	return rc;
}

VSS_EXPORT int vss_wmd_add_component(struct vss_wmd *wmd, enum vss_component_type type,
				     const char *logical_path, const char *name,
				     struct vss_wmd_component **ret_component)
{
	char full[512];
	int rc = check_editable(wmd);

	if (rc < 0)
		return rc;
	if (type != VSS_CT_FILEGROUP && type != VSS_CT_DATABASE)
		return vss__error(-EINVAL, "%d is not a component type: use VSS_CT_FILEGROUP or "
				  "VSS_CT_DATABASE", (int)type);
	if (!name || !*name)
		return vss__error(-EINVAL, "a component needs a name");
	if (vss_wmd_find_component(wmd, logical_path, name))
		return vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
				  "component '%s' is already in the document: the logical path "
				  "and name of a component must be unique",
				  full_name(logical_path, name, full, sizeof(full)));
	return component_add(wmd, type, logical_path, name, ret_component);
}

VSS_EXPORT size_t vss_wmd_component_count(const struct vss_wmd *wmd)
{
	return wmd->components.count;
}

VSS_EXPORT struct vss_wmd_component *vss_wmd_component_at(const struct vss_wmd *wmd, size_t i)
{
	return pvec_at(&wmd->components, i);
}

VSS_EXPORT enum vss_component_type vss_wmd_component_get_type(const struct vss_wmd_component *c)
{
	return c->type;
}

VSS_EXPORT const char *vss_wmd_component_get_logical_path(const struct vss_wmd_component *c)
{
	return c->logical_path;
}

VSS_EXPORT const char *vss_wmd_component_get_name(const struct vss_wmd_component *c)
{
	return c->name;
}

VSS_EXPORT const char *vss_wmd_component_get_caption(const struct vss_wmd_component *c)
{
	return c->caption;
}

VSS_EXPORT const void *vss_wmd_component_get_icon(const struct vss_wmd_component *c,
						  size_t *ret_len)
{
	if (ret_len)
		*ret_len = c->icon_len;
	return c->icon;
}

VSS_EXPORT bool vss_wmd_component_get_restore_metadata(const struct vss_wmd_component *c)
{
	return c->restore_metadata;
}

VSS_EXPORT bool vss_wmd_component_get_notify_on_backup_complete(const struct vss_wmd_component *c)
{
	return c->notify_on_backup_complete;
}

VSS_EXPORT bool vss_wmd_component_get_selectable(const struct vss_wmd_component *c)
{
	return c->selectable;
}

VSS_EXPORT bool vss_wmd_component_get_selectable_for_restore(const struct vss_wmd_component *c)
{
	return c->selectable_for_restore;
}

VSS_EXPORT uint32_t vss_wmd_component_get_flags(const struct vss_wmd_component *c)
{
	return c->flags;
}

static int component_editable(const struct vss_wmd_component *c)
{
	if (!c)
		return vss__error(-EINVAL, "no component given");
	return check_editable(c->wmd);
}

VSS_EXPORT int vss_wmd_component_set_caption(struct vss_wmd_component *c, const char *caption)
{
	int rc = component_editable(c);

	return rc < 0 ? rc : set_optional(&c->caption, caption);
}

static int icon_set(struct vss_wmd_component *c, const void *icon, size_t len)
{
	unsigned char *copy = NULL;

	if (icon && len > 0) {
		copy = malloc(len);
		if (!copy)
			return oom();
		memcpy(copy, icon, len);
	}
	free(c->icon);
	c->icon = copy;
	c->icon_len = copy ? len : 0;
	return 0;
}

VSS_EXPORT int vss_wmd_component_set_icon(struct vss_wmd_component *c, const void *icon,
					  size_t len)
{
	int rc = component_editable(c);

	return rc < 0 ? rc : icon_set(c, icon, len);
}

#define BOOL_SETTER(field)                                                               \
	VSS_EXPORT int vss_wmd_component_set_##field(struct vss_wmd_component *c, bool value) \
	{                                                                                 \
		int rc = component_editable(c);                                           \
		if (rc == 0)                                                              \
			c->field = value;                                                 \
		return rc;                                                                \
	}

BOOL_SETTER(restore_metadata)
BOOL_SETTER(notify_on_backup_complete)
BOOL_SETTER(selectable)
BOOL_SETTER(selectable_for_restore)

VSS_EXPORT int vss_wmd_component_set_flags(struct vss_wmd_component *c, uint32_t flags)
{
	int rc = component_editable(c);

	if (rc == 0)
		c->flags = flags;
	return rc;
}

/* ---- file sets ------------------------------------------------------------------ */

static int file_add(struct pvec *v, const char *path, const char *filespec, bool recursive,
		    const char *alternate_location, uint32_t mask)
{
	struct vss_wmd_file *f = calloc(1, sizeof(*f));
	int rc = 0;

	if (!f || vss__strset(&f->path, path) < 0 || vss__strset(&f->filespec, filespec) < 0 ||
	    set_optional(&f->alternate_location, alternate_location) < 0 ||
	    pvec_push(v, f) < 0) {
		rc = oom();
		goto out;
	}
	f->recursive = recursive;
	f->backup_type_mask = mask;
	f = NULL;
out:
	file_free(f);
	return rc;
}

/* A file set of kind (the element name) may go into c. */
static int check_file_add(struct vss_wmd_component *c, enum vss_component_type type,
			  const char *kind, const char *path, const char *filespec)
{
	char full[512];
	int rc = component_editable(c);

	if (rc == 0)
		rc = check_text(path, "path");
	if (rc == 0)
		rc = check_text(filespec, "filespec");
	if (rc == 0 && c->type != type)
		rc = vss__error(-EINVAL, "component '%s' is a %s: %s belong to a %s",
				full_name(c->logical_path, c->name, full, sizeof(full)),
				c->type == VSS_CT_DATABASE ? "database" : "file group", kind,
				type == VSS_CT_DATABASE ? "database" : "file group");
	return rc;
}

VSS_EXPORT int vss_wmd_component_add_file(struct vss_wmd_component *c, const char *path,
					  const char *filespec, bool recursive,
					  const char *alternate_location,
					  uint32_t backup_type_mask)
{
	int rc = check_file_add(c, VSS_CT_FILEGROUP, "file lists", path, filespec);

	if (rc == 0)
		rc = file_add(&c->files, path, filespec, recursive, alternate_location,
			      backup_type_mask);
	return rc;
}

VSS_EXPORT int vss_wmd_component_add_database_file(struct vss_wmd_component *c,
						   const char *path, const char *filespec,
						   uint32_t backup_type_mask)
{
	int rc = check_file_add(c, VSS_CT_DATABASE, "database files", path, filespec);

	if (rc == 0)
		rc = file_add(&c->database_files, path, filespec, false, NULL, backup_type_mask);
	return rc;
}

VSS_EXPORT int vss_wmd_component_add_database_log_file(struct vss_wmd_component *c,
						       const char *path, const char *filespec,
						       uint32_t backup_type_mask)
{
	int rc = check_file_add(c, VSS_CT_DATABASE, "database log files", path, filespec);

	if (rc == 0)
		rc = file_add(&c->log_files, path, filespec, false, NULL, backup_type_mask);
	return rc;
}

VSS_EXPORT size_t vss_wmd_component_file_count(const struct vss_wmd_component *c)
{
	return c->files.count;
}

VSS_EXPORT const struct vss_wmd_file *vss_wmd_component_file_at(const struct vss_wmd_component *c,
								size_t i)
{
	return pvec_at(&c->files, i);
}

VSS_EXPORT size_t vss_wmd_component_database_file_count(const struct vss_wmd_component *c)
{
	return c->database_files.count;
}

VSS_EXPORT const struct vss_wmd_file *vss_wmd_component_database_file_at(
	const struct vss_wmd_component *c, size_t i)
{
	return pvec_at(&c->database_files, i);
}

VSS_EXPORT size_t vss_wmd_component_database_log_file_count(const struct vss_wmd_component *c)
{
	return c->log_files.count;
}

VSS_EXPORT const struct vss_wmd_file *vss_wmd_component_database_log_file_at(
	const struct vss_wmd_component *c, size_t i)
{
	return pvec_at(&c->log_files, i);
}

VSS_EXPORT const char *vss_wmd_file_get_path(const struct vss_wmd_file *f)
{
	return f->path;
}

VSS_EXPORT const char *vss_wmd_file_get_filespec(const struct vss_wmd_file *f)
{
	return f->filespec;
}

VSS_EXPORT bool vss_wmd_file_get_recursive(const struct vss_wmd_file *f)
{
	return f->recursive;
}

VSS_EXPORT const char *vss_wmd_file_get_alternate_location(const struct vss_wmd_file *f)
{
	return f->alternate_location;
}

VSS_EXPORT uint32_t vss_wmd_file_get_backup_type_mask(const struct vss_wmd_file *f)
{
	return f->backup_type_mask;
}

/* ---- dependencies ------------------------------------------------------------------ */

static int dependency_add(struct vss_wmd_component *c, const struct vss_guid *writer_id,
			  const char *logical_path, const char *name, int line)
{
	struct vss_wmd_dependency *d = calloc(1, sizeof(*d));
	int rc = 0;

	if (!d || set_optional(&d->logical_path, logical_path) < 0 ||
	    vss__strset(&d->component_name, name) < 0 || pvec_push(&c->dependencies, d) < 0) {
		rc = oom();
		goto out;
	}
	d->writer_id = *writer_id;
	d->line = line;
	d = NULL;
out:
	dependency_free(d);
	return rc;
}

VSS_EXPORT int vss_wmd_component_add_dependency(struct vss_wmd_component *c,
						const struct vss_guid *writer_id,
						const char *logical_path, const char *name)
{
	int rc = component_editable(c);

	if (rc == 0 && !writer_id)
		rc = vss__error(-EINVAL, "no writer class ID given for the dependency");
	if (rc == 0 && (!name || !*name))
		rc = vss__error(-EINVAL, "a dependency needs the name of the component");
	if (rc == 0)
		rc = dependency_add(c, writer_id, logical_path, name, 0);
	return rc;
}

VSS_EXPORT size_t vss_wmd_component_dependency_count(const struct vss_wmd_component *c)
{
	return c->dependencies.count;
}

VSS_EXPORT const struct vss_wmd_dependency *vss_wmd_component_dependency_at(
	const struct vss_wmd_component *c, size_t i)
{
	return pvec_at(&c->dependencies, i);
}

VSS_EXPORT const struct vss_guid *vss_wmd_dependency_get_writer_id(
	const struct vss_wmd_dependency *d)
{
	return &d->writer_id;
}

VSS_EXPORT const char *vss_wmd_dependency_get_logical_path(const struct vss_wmd_dependency *d)
{
	return d->logical_path;
}

VSS_EXPORT const char *vss_wmd_dependency_get_component_name(const struct vss_wmd_dependency *d)
{
	return d->component_name;
}

/* ---- base64, for icons ------------------------------------------------------------- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_encode(const unsigned char *data, size_t len, struct sbuf *out)
{
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;
		char q[4];

		if (i + 1 < len)
			v |= (uint32_t)data[i + 1] << 8;
		if (i + 2 < len)
			v |= data[i + 2];
		q[0] = b64_alphabet[(v >> 18) & 63];
		q[1] = b64_alphabet[(v >> 12) & 63];
		q[2] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? b64_alphabet[v & 63] : '=';
		if (sbuf_add(out, q, 4) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int b64_value(char ch)
{
	const char *p = ch ? strchr(b64_alphabet, ch) : NULL;

	return p ? (int)(p - b64_alphabet) : -1;
}

/*
 * Strict: groups of four, padding only at the very end, no blanks, and
 * unused bits zero, so that the canonical text is the only spelling of a
 * value (the second save must equal the first).  -EINVAL / -ENOMEM.
 */
static int b64_decode(const char *text, unsigned char **ret, size_t *ret_len)
{
	size_t len = strlen(text), n = 0;
	unsigned char *out;

	if (len % 4 != 0)
		return -EINVAL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int a = b64_value(text[i]), b = b64_value(text[i + 1]);
		int c = text[i + 2] == '=' && last ? -2 : b64_value(text[i + 2]);
		int d = text[i + 3] == '=' && last ? -2 : b64_value(text[i + 3]);
		uint32_t v;

		if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2))
			goto bad;
		v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)(c < 0 ? 0 : c) << 6 |
		    (uint32_t)(d < 0 ? 0 : d);
		if ((c == -2 && (v & 0xffff)) || (d == -2 && (v & 0xff)))
			goto bad;
		out[n++] = (unsigned char)(v >> 16);
		if (c >= 0)
			out[n++] = (unsigned char)(v >> 8);
		if (d >= 0)
			out[n++] = (unsigned char)v;
	}
	*ret = out;
	*ret_len = n;
	return 0;
bad:
	free(out);
	return -EINVAL;
}

/* ---- saving --------------------------------------------------------------------- */

static xmlNodePtr child(xmlNodePtr parent, const char *name)
{
	return xmlNewChild(parent, parent->ns, X(name), NULL);
}

static int save_filespec(xmlNodePtr parent, const char *name, const struct vss_wmd_filespec *fs)
{
	xmlNodePtr n = child(parent, name);

	if (!n || vss__xml_set_str(n, "path", fs->path) < 0 ||
	    vss__xml_set_str(n, "filespec", fs->filespec) < 0 ||
	    vss__xml_set_bool(n, "recursive", fs->recursive) < 0 ||
	    vss__xml_set_str(n, "destination", fs->destination) < 0)
		return -ENOMEM;
	return 0;
}

static int save_file(xmlNodePtr parent, const char *name, const struct vss_wmd_file *f,
		     bool file_list)
{
	xmlNodePtr n = child(parent, name);

	if (!n || vss__xml_set_str(n, "path", f->path) < 0 ||
	    vss__xml_set_str(n, "filespec", f->filespec) < 0)
		return -ENOMEM;
	if (file_list && (vss__xml_set_bool(n, "recursive", f->recursive) < 0 ||
			  vss__xml_set_str(n, "alternateLocation", f->alternate_location) < 0))
		return -ENOMEM;
	return vss__xml_set_u64(n, "filespecBackupType", f->backup_type_mask);
}

static int save_component(xmlNodePtr parent, const struct vss_wmd_component *c)
{
	bool db = c->type == VSS_CT_DATABASE;
	xmlNodePtr n = child(parent, db ? "DATABASE" : "FILE_GROUP");
	struct sbuf icon = SBUF_INIT;
	int rc = -ENOMEM;

	if (!n || vss__xml_set_str(n, "logicalPath", c->logical_path) < 0 ||
	    vss__xml_set_str(n, "componentName", c->name) < 0 ||
	    vss__xml_set_str(n, "caption", c->caption) < 0)
		goto out;
	if (c->icon) {
		if (b64_encode(c->icon, c->icon_len, &icon) < 0 ||
		    vss__xml_set_str(n, "icon", sbuf_str(&icon)) < 0)
			goto out;
	}
	if (vss__xml_set_bool(n, "restoreMetadata", c->restore_metadata) < 0 ||
	    vss__xml_set_bool(n, "notifyOnBackupComplete", c->notify_on_backup_complete) < 0 ||
	    vss__xml_set_bool(n, "selectable", c->selectable) < 0 ||
	    vss__xml_set_bool(n, "selectableForRestore", c->selectable_for_restore) < 0 ||
	    vss__xml_set_u64(n, "componentFlags", c->flags) < 0)
		goto out;
	for (size_t i = 0; i < c->files.count; i++)
		if (save_file(n, "FILE_LIST", c->files.items[i], true) < 0)
			goto out;
	for (size_t i = 0; i < c->database_files.count; i++)
		if (save_file(n, "DATABASE_FILES", c->database_files.items[i], false) < 0)
			goto out;
	for (size_t i = 0; i < c->log_files.count; i++)
		if (save_file(n, "DATABASE_LOGFILES", c->log_files.items[i], false) < 0)
			goto out;
	for (size_t i = 0; i < c->dependencies.count; i++) {
		const struct vss_wmd_dependency *d = c->dependencies.items[i];
		xmlNodePtr dn = child(n, "DEPENDENCY");

		if (!dn || vss__xml_set_guid(dn, "writerId", &d->writer_id) < 0 ||
		    vss__xml_set_str(dn, "logicalPath", d->logical_path) < 0 ||
		    vss__xml_set_str(dn, "componentName", d->component_name) < 0)
			goto out;
	}
	rc = 0;
out:
	sbuf_release(&icon);
	return rc;
}

static int build_doc(const struct vss_wmd *wmd, xmlDocPtr *ret)
{
	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr root = NULL, n;
	xmlNsPtr ns;
	int rc = -ENOMEM;

	if (!doc)
		goto out;
	root = xmlNewDocNode(doc, NULL, X("WRITER_METADATA"), NULL);
	if (!root)
		goto out;
	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, X(WMD_NS), NULL);
	if (!ns)
		goto out;
	xmlSetNs(root, ns);
	if (vss__xml_set_str(root, "version", WMD_VERSION) < 0 ||
	    (wmd->backup_schema && vss__xml_set_u64(root, "backupSchema", wmd->backup_schema) < 0))
		goto out;

	n = child(root, "IDENTIFICATION");
	if (!n || vss__xml_set_guid(n, "writerId", &wmd->writer_id) < 0 ||
	    vss__xml_set_guid(n, "instanceId", &wmd->instance_id) < 0 ||
	    vss__xml_set_str(n, "instanceName", wmd->instance_name) < 0 ||
	    vss__xml_set_str(n, "friendlyName", vss_wmd_get_friendly_name(wmd)) < 0)
		goto out;
	rc = vss__xml_set_enum(n, "usage", usage_words, (int)wmd->usage);
	if (rc == 0)
		rc = vss__xml_set_enum(n, "dataSource", source_words, (int)wmd->source);
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	if (vss__xml_set_u64(n, "majorVersion", wmd->major_version) < 0 ||
	    vss__xml_set_u64(n, "minorVersion", wmd->minor_version) < 0)
		goto out;

	if (wmd->has_restore_method) {
		n = child(root, "RESTORE_METHOD");
		if (!n)
			goto out;
		rc = vss__xml_set_enum(n, "method", method_words, (int)wmd->restore_method);
		if (rc < 0)
			goto out;
		rc = -ENOMEM;
		if (vss__xml_set_str(n, "service", wmd->restore_service) < 0 ||
		    vss__xml_set_str(n, "userProcedure", wmd->restore_user_procedure) < 0)
			goto out;
		rc = vss__xml_set_enum(n, "writerRestore", writer_restore_words,
				       (int)wmd->writer_restore);
		if (rc < 0)
			goto out;
		rc = -ENOMEM;
		if (vss__xml_set_bool(n, "rebootRequired", wmd->reboot_required) < 0)
			goto out;
		for (size_t i = 0; i < wmd->mappings.count; i++)
			if (save_filespec(n, "ALTERNATE_LOCATION_MAPPING", wmd->mappings.items[i]) < 0)
				goto out;
	}

	n = child(root, "BACKUP_LOCATIONS");
	if (!n)
		goto out;
	for (size_t i = 0; i < wmd->components.count; i++)
		if (save_component(n, wmd->components.items[i]) < 0)
			goto out;
	for (size_t i = 0; i < wmd->excludes.count; i++)
		if (save_filespec(n, "EXCLUDE_FILES", wmd->excludes.items[i]) < 0)
			goto out;
	for (size_t i = 0; i < wmd->excludes_from_snapshot.count; i++)
		if (save_filespec(n, "EXCLUDE_FILES_FROM_SNAPSHOT",
				  wmd->excludes_from_snapshot.items[i]) < 0)
			goto out;
	*ret = doc;
	doc = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM)
		rc = vss__error(-ENOMEM, "out of memory building the writer metadata document");
	xmlFreeDoc(doc);
	return rc;
}

VSS_EXPORT int vss_wmd_save(const struct vss_wmd *wmd, char **ret, size_t *ret_len)
{
	xmlDocPtr doc = NULL;
	int rc;

	if (!wmd || !ret)
		return vss__error(-EINVAL, "no writer metadata document given");
	rc = build_doc(wmd, &doc);
	if (rc == 0)
		rc = vss__xml_save(doc, ret, ret_len);
	xmlFreeDoc(doc);
	return rc;
}

VSS_EXPORT int vss_wmd_save_file(const struct vss_wmd *wmd, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!path)
		return vss__error(-EINVAL, "no file name given for the writer metadata document");
	rc = vss_wmd_save(wmd, &text, &len);
	if (rc < 0)
		goto out;
	rc = file_write_atomic(path, text, len, 0644, true);
	if (rc < 0)
		rc = vss__error(rc, "cannot write writer metadata document '%s': %s", path,
				strerror(-rc));
out:
	free(text);
	return rc;
}

/* ---- loading -------------------------------------------------------------------- */

static bool is_ours(xmlNodePtr n, const char *name)
{
	return n->ns && xmlStrEqual(n->ns->href, X(WMD_NS)) && xmlStrEqual(n->name, X(name));
}

static int empty_attribute(xmlNodePtr n, const char *file, const char *name)
{
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(n), 0,
			      "<%s> attribute '%s' is empty", (const char *)n->name, name);
}

/* Comments and blanks are fine between elements; text is not. */
static int check_not_text(xmlNodePtr k, const char *file)
{
	if ((k->type != XML_TEXT_NODE && k->type != XML_CDATA_SECTION_NODE) || xmlIsBlankNode(k))
		return 0;
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(k), 0,
			      "<%s> holds text, which it must not",
			      (const char *)k->parent->name);
}

/* An element that has attributes only. */
static int check_leaf(xmlNodePtr n, const char *file)
{
	int rc = 0;

	for (xmlNodePtr k = n->children; rc == 0 && k; k = k->next)
		rc = k->type == XML_ELEMENT_NODE ? vss__xml_unexpected(k, file)
						 : check_not_text(k, file);
	return rc;
}

static int load_identification(struct vss_wmd *wmd, xmlNodePtr n, const char *file)
{
	static const char *const attrs[] = {
		"writerId", "instanceId", "instanceName", "friendlyName", "usage", "dataSource",
		"majorVersion", "minorVersion", NULL,
	};
	int usage = VSS_UT_UNDEFINED, source = VSS_ST_UNDEFINED;
	int rc;

	rc = vss__xml_check_attributes(n, file, attrs);
	if (rc == 0)
		rc = check_leaf(n, file);
	if (rc == 0)
		rc = vss__xml_get_guid(n, "writerId", true, file, &wmd->writer_id);
	if (rc == 0) {
		/* Captured documents carry VSS's instance ID; a missing one is
		 * none at all, not the random one vss_wmd_new() made up. */
		memset(&wmd->instance_id, 0, sizeof(wmd->instance_id));
		rc = vss__xml_get_guid(n, "instanceId", false, file, &wmd->instance_id);
	}
	if (rc == 0)
		rc = vss__xml_get_str(n, "instanceName", false, file, &wmd->instance_name);
	if (rc == 0 && wmd->instance_name && !*wmd->instance_name)
		rc = set_optional(&wmd->instance_name, NULL);
	if (rc == 0)
		rc = vss__xml_get_str(n, "friendlyName", true, file, &wmd->friendly_name);
	if (rc == 0)
		rc = vss__xml_get_enum(n, "usage", true, file, usage_words, &usage);
	if (rc == 0)
		rc = vss__xml_get_enum(n, "dataSource", true, file, source_words, &source);
	if (rc == 0)
		rc = vss__xml_get_u32(n, "majorVersion", false, file, &wmd->major_version);
	if (rc == 0)
		rc = vss__xml_get_u32(n, "minorVersion", false, file, &wmd->minor_version);
	wmd->usage = (enum vss_usage_type)usage;
	wmd->source = (enum vss_source_type)source;
	return rc;
}

/* path, filespec, recursive (and destination for mappings) of n into v. */
static int load_filespec(struct pvec *v, xmlNodePtr n, const char *file, bool mapping)
{
	static const char *const attrs[] = { "path", "filespec", "recursive", NULL };
	static const char *const mapping_attrs[] = {
		"path", "filespec", "recursive", "destination", NULL,
	};
	char *path = NULL, *filespec = NULL, *destination = NULL;
	bool recursive = false;
	int rc;

	rc = vss__xml_check_attributes(n, file, mapping ? mapping_attrs : attrs);
	if (rc == 0)
		rc = check_leaf(n, file);
	if (rc == 0)
		rc = vss__xml_get_str(n, "path", true, file, &path);
	if (rc == 0)
		rc = vss__xml_get_str(n, "filespec", true, file, &filespec);
	if (rc == 0)
		rc = vss__xml_get_bool(n, "recursive", false, file, &recursive);
	if (rc == 0 && mapping)
		rc = vss__xml_get_str(n, "destination", true, file, &destination);
	if (rc == 0)
		rc = filespec_add(v, path, filespec, recursive, destination);
	free(destination);
	free(filespec);
	free(path);
	return rc;
}

static int load_restore_method(struct vss_wmd *wmd, xmlNodePtr n, const char *file)
{
	static const char *const attrs[] = {
		"method", "service", "userProcedure", "writerRestore", "rebootRequired", NULL,
	};
	char *service = NULL, *user_procedure = NULL;
	int method = VSS_RME_UNDEFINED, writer_restore = VSS_WRE_UNDEFINED;
	bool reboot = false;
	int rc;

	rc = vss__xml_check_attributes(n, file, attrs);
	if (rc == 0)
		rc = vss__xml_get_enum(n, "method", true, file, method_words, &method);
	if (rc == 0)
		rc = vss__xml_get_str(n, "service", false, file, &service);
	if (rc == 0)
		rc = vss__xml_get_str(n, "userProcedure", false, file, &user_procedure);
	if (rc == 0)
		rc = vss__xml_get_enum(n, "writerRestore", true, file, writer_restore_words,
				       &writer_restore);
	if (rc == 0)
		rc = vss__xml_get_bool(n, "rebootRequired", false, file, &reboot);
	if (rc == 0)
		rc = restore_method_set(wmd, (enum vss_restore_method)method, service,
					user_procedure, (enum vss_writer_restore)writer_restore,
					reboot);
	for (xmlNodePtr c = n->children; rc == 0 && c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE) {
			rc = check_not_text(c, file);
			continue;
		}
		if (is_ours(c, "ALTERNATE_LOCATION_MAPPING"))
			rc = load_filespec(&wmd->mappings, c, file, true);
		else
			rc = vss__xml_unexpected(c, file);
	}
	free(user_procedure);
	free(service);
	return rc;
}

static int load_file(struct vss_wmd_component *c, xmlNodePtr n, const char *file)
{
	static const char *const list_attrs[] = {
		"path", "filespec", "recursive", "alternateLocation", "filespecBackupType", NULL,
	};
	static const char *const db_attrs[] = { "path", "filespec", "filespecBackupType", NULL };
	bool list = is_ours(n, "FILE_LIST"), log = is_ours(n, "DATABASE_LOGFILES");
	enum vss_component_type want = list ? VSS_CT_FILEGROUP : VSS_CT_DATABASE;
	char *path = NULL, *filespec = NULL, *alternate = NULL;
	uint32_t mask = VSS_FSBT_DEFAULT;
	bool recursive = false;
	int rc = 0;

	if (c->type != want) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(n), 0,
				    "<%s> belongs in a <%s>, not in a <%s>",
				    (const char *)n->name, list ? "FILE_GROUP" : "DATABASE",
				    list ? "DATABASE" : "FILE_GROUP");
		goto out;
	}
	rc = vss__xml_check_attributes(n, file, list ? list_attrs : db_attrs);
	if (rc == 0)
		rc = check_leaf(n, file);
	if (rc == 0)
		rc = vss__xml_get_str(n, "path", true, file, &path);
	if (rc == 0)
		rc = vss__xml_get_str(n, "filespec", true, file, &filespec);
	if (rc == 0 && list)
		rc = vss__xml_get_bool(n, "recursive", false, file, &recursive);
	if (rc == 0 && list)
		rc = vss__xml_get_str(n, "alternateLocation", false, file, &alternate);
	if (rc == 0)
		rc = vss__xml_get_u32(n, "filespecBackupType", false, file, &mask);
	if (rc == 0)
		rc = file_add(list ? &c->files : log ? &c->log_files : &c->database_files, path,
			      filespec, recursive, alternate, mask);
out:
	free(alternate);
	free(filespec);
	free(path);
	return rc;
}

static int load_dependency(struct vss_wmd_component *c, xmlNodePtr n, const char *file)
{
	static const char *const attrs[] = { "writerId", "logicalPath", "componentName", NULL };
	char *logical_path = NULL, *name = NULL;
	struct vss_guid writer_id;
	int rc;

	rc = vss__xml_check_attributes(n, file, attrs);
	if (rc == 0)
		rc = check_leaf(n, file);
	if (rc == 0)
		rc = vss__xml_get_guid(n, "writerId", true, file, &writer_id);
	if (rc == 0)
		rc = vss__xml_get_str(n, "logicalPath", false, file, &logical_path);
	if (rc == 0)
		rc = vss__xml_get_str(n, "componentName", true, file, &name);
	if (rc == 0 && !*name)
		rc = empty_attribute(n, file, "componentName");
	if (rc == 0)
		rc = dependency_add(c, &writer_id, logical_path, name, vss__xml_line(n));
	free(name);
	free(logical_path);
	return rc;
}

static int load_component(struct vss_wmd *wmd, xmlNodePtr n, const char *file,
			  enum vss_component_type type)
{
	static const char *const attrs[] = {
		"logicalPath", "componentName", "caption", "icon", "restoreMetadata",
		"notifyOnBackupComplete", "selectable", "selectableForRestore",
		"componentFlags", NULL,
	};
	char *logical_path = NULL, *name = NULL, *caption = NULL, *icon = NULL;
	struct vss_wmd_component *c = NULL, *other;
	char full[512];
	int rc;

	rc = vss__xml_check_attributes(n, file, attrs);
	if (rc == 0)
		rc = vss__xml_get_str(n, "logicalPath", false, file, &logical_path);
	if (rc == 0)
		rc = vss__xml_get_str(n, "componentName", true, file, &name);
	if (rc == 0 && !*name)
		rc = empty_attribute(n, file, "componentName");
	if (rc == 0 && (other = vss_wmd_find_component(wmd, logical_path, name)))
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(n), 0,
				    "<%s> repeats component '%s' of line %d: the logical path and "
				    "name of a component must be unique", (const char *)n->name,
				    full_name(logical_path, name, full, sizeof(full)), other->line);
	if (rc == 0)
		rc = component_add(wmd, type, logical_path, name, &c);
	if (rc < 0)
		goto out;
	c->line = vss__xml_line(n);
	rc = vss__xml_get_str(n, "caption", false, file, &caption);
	if (rc == 0)
		rc = set_optional(&c->caption, caption);
	if (rc == 0)
		rc = vss__xml_get_str(n, "icon", false, file, &icon);
	if (rc == 0 && icon && *icon) {
		rc = b64_decode(icon, &c->icon, &c->icon_len);
		if (rc == -ENOMEM)
			rc = oom();
		else if (rc < 0)
			rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(n), 0,
					    "<%s> attribute 'icon': not base64 text",
					    (const char *)n->name);
	}
	if (rc == 0)
		rc = vss__xml_get_bool(n, "restoreMetadata", false, file, &c->restore_metadata);
	if (rc == 0)
		rc = vss__xml_get_bool(n, "notifyOnBackupComplete", false, file,
				       &c->notify_on_backup_complete);
	if (rc == 0)
		rc = vss__xml_get_bool(n, "selectable", false, file, &c->selectable);
	if (rc == 0)
		rc = vss__xml_get_bool(n, "selectableForRestore", false, file,
				       &c->selectable_for_restore);
	if (rc == 0)
		rc = vss__xml_get_u32(n, "componentFlags", false, file, &c->flags);
	for (xmlNodePtr k = n->children; rc == 0 && k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE) {
			rc = check_not_text(k, file);
			continue;
		}
		if (is_ours(k, "FILE_LIST") || is_ours(k, "DATABASE_FILES") ||
		    is_ours(k, "DATABASE_LOGFILES"))
			rc = load_file(c, k, file);
		else if (is_ours(k, "DEPENDENCY"))
			rc = load_dependency(c, k, file);
		else
			rc = vss__xml_unexpected(k, file);
	}
out:
	free(icon);
	free(caption);
	free(name);
	free(logical_path);
	return rc;
}

static int load_backup_locations(struct vss_wmd *wmd, xmlNodePtr n, const char *file)
{
	int rc = vss__xml_check_attributes(n, file, (const char *const[]){ NULL });

	for (xmlNodePtr c = n->children; rc == 0 && c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE) {
			rc = check_not_text(c, file);
			continue;
		}
		if (is_ours(c, "FILE_GROUP"))
			rc = load_component(wmd, c, file, VSS_CT_FILEGROUP);
		else if (is_ours(c, "DATABASE"))
			rc = load_component(wmd, c, file, VSS_CT_DATABASE);
		else if (is_ours(c, "EXCLUDE_FILES"))
			rc = load_filespec(&wmd->excludes, c, file, false);
		else if (is_ours(c, "EXCLUDE_FILES_FROM_SNAPSHOT"))
			rc = load_filespec(&wmd->excludes_from_snapshot, c, file, false);
		else
			rc = vss__xml_unexpected(c, file);
	}
	return rc;
}

static int twice(xmlNodePtr n, const char *file, int first)
{
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(n), 0,
			      "<%s> appears twice (first at line %d)", (const char *)n->name,
			      first);
}

static int load_root(struct vss_wmd *wmd, xmlNodePtr root, const char *file)
{
	static const char *const attrs[] = { "version", "backupSchema", NULL };
	int identification = 0, restore = 0, locations = 0;
	char *version = NULL;
	int rc;

	if (!is_ours(root, "WRITER_METADATA")) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(root), 0,
				    "root element is <%s>%s%s, expected <WRITER_METADATA "
				    "xmlns=\"" WMD_NS "\">", (const char *)root->name,
				    root->ns ? " in namespace " : " without namespace",
				    root->ns ? (const char *)root->ns->href : "");
		goto out;
	}
	rc = vss__xml_check_attributes(root, file, attrs);
	if (rc == 0)
		rc = vss__xml_get_str(root, "version", true, file, &version);
	if (rc == 0 && strcmp(version, "1.0") != 0 && strcmp(version, "1.1") != 0 &&
	    strcmp(version, "1.2") != 0)
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(root), 0,
				    "<WRITER_METADATA> attribute 'version': '%s' is not a version "
				    "this library reads (1.0 to 1.2)", version);
	if (rc == 0)
		rc = vss__xml_get_u32(root, "backupSchema", false, file, &wmd->backup_schema);
	/* Windows does not keep these in a fixed order. */
	for (xmlNodePtr n = root->children; rc == 0 && n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE) {
			rc = check_not_text(n, file);
			continue;
		}
		if (is_ours(n, "IDENTIFICATION")) {
			rc = identification ? twice(n, file, identification)
					    : load_identification(wmd, n, file);
			identification = vss__xml_line(n);
		} else if (is_ours(n, "RESTORE_METHOD")) {
			rc = restore ? twice(n, file, restore) : load_restore_method(wmd, n, file);
			restore = vss__xml_line(n);
		} else if (is_ours(n, "BACKUP_LOCATIONS")) {
			rc = locations ? twice(n, file, locations)
				       : load_backup_locations(wmd, n, file);
			locations = vss__xml_line(n);
		} else {
			rc = vss__xml_unexpected(n, file);
		}
	}
	if (rc == 0 && !identification)
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, vss__xml_line(root), 0,
				    "<WRITER_METADATA> has no <IDENTIFICATION>");
	if (rc == 0)
		rc = check_dependencies(wmd, file);
out:
	free(version);
	return rc;
}

VSS_EXPORT int vss_wmd_load(const char *xml, size_t len, const char *filename,
			    struct vss_wmd **ret)
{
	struct vss_wmd *wmd = NULL;
	xmlDocPtr doc = NULL;
	int rc;

	if (!xml || !ret)
		return vss__error(-EINVAL, "no writer metadata document given");
	rc = vss__xml_parse(xml, len, filename, &doc);
	if (rc < 0)
		goto out;
	wmd = vss_wmd_new();
	if (!wmd) {
		rc = oom();
		goto out;
	}
	rc = load_root(wmd, xmlDocGetRootElement(doc), filename);
	if (rc == 0)
		rc = vss__schema_validate(doc, "wmd", filename);
	if (rc < 0)
		goto out;
	wmd->loaded = true;
	*ret = wmd;
	wmd = NULL;
out:
	vss_wmd_unref(wmd);
	xmlFreeDoc(doc);
	return rc;
}

VSS_EXPORT int vss_wmd_load_file(const char *path, struct vss_wmd **ret)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = vss__xml_read_file(path, "writer metadata document", &data, &len);
	if (rc == 0)
		rc = vss_wmd_load(data, len, path, ret);
	free(data);
	return rc;
}
