/*
 * The Backup Components Document: the model, its life cycle, and its XML
 * form (lib/schema/bcd.rng, <vss/bcd.h>, vss-metadata(5)).
 *
 * The document is kept as plain structs and written from them, never by
 * saving a loaded tree, so every save is canonical whatever the input
 * looked like.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/tree.h>
#include <libxml/xmlstring.h>

#include "vss-private.h"
#include "vss/bcd.h"
#include "schema.h"
#include "xml-attr.h"
#include "util/file.h"
#include "util/sbuf.h"
#include "util/banned.h"

#define X(s) ((const xmlChar *)(s))

#define BCD_NS       "x-schema:#VssComponentMetadata"
#define BCD_VERSION  "1.2"
/* Far above any real document, far below what would hurt to hold. */

static const char read_only_msg[] =
	"the backup components document is read-only after BackupComplete";

/* ---- enumerations --------------------------------------------------------- */

static const struct vss__enum_word backup_type_words[] = {
	{ VSS_BT_UNDEFINED, "undefined" },
	{ VSS_BT_FULL, "full" },
	{ VSS_BT_INCREMENTAL, "incremental" },
	{ VSS_BT_DIFFERENTIAL, "differential" },
	{ VSS_BT_LOG, "log" },
	{ VSS_BT_COPY, "copy" },
	{ VSS_BT_OTHER, "other" },
	{ 0, NULL },
};

static const struct vss__enum_word restore_type_words[] = {
	{ VSS_RTYPE_UNDEFINED, "undefined" },
	{ VSS_RTYPE_BY_COPY, "byCopy" },
	{ VSS_RTYPE_IMPORT, "import" },
	{ VSS_RTYPE_OTHER, "other" },
	{ 0, NULL },
};

static const struct vss__enum_word restore_target_words[] = {
	{ VSS_RT_UNDEFINED, "undefined" },
	{ VSS_RT_ORIGINAL, "original" },
	{ VSS_RT_ALTERNATE, "alternate" },
	{ VSS_RT_DIRECTED, "directed" },
	{ VSS_RT_ORIGINAL_LOCATION, "originalLocation" },
	{ 0, NULL },
};

static const struct vss__enum_word file_restore_status_words[] = {
	{ VSS_RS_UNDEFINED, "undefined" },
	{ VSS_RS_NONE, "none" },
	{ VSS_RS_ALL, "all" },
	{ VSS_RS_FAILED, "failed" },
	{ 0, NULL },
};

/* A component is a database or a file group; UNDEFINED is a writer error. */
static const struct vss__enum_word component_type_words[] = {
	{ VSS_CT_DATABASE, "database" },
	{ VSS_CT_FILEGROUP, "filegroup" },
	{ 0, NULL },
};

static int word_parse(const struct vss__enum_word *table, const char *what, const char *word,
		      int *ret)
{
	struct sbuf known = SBUF_INIT;
	int rc = 0;

	if (word && vss__enum_value(table, word, ret) == 0)
		return 0;
	for (const struct vss__enum_word *w = table; w->word; w++)
		sbuf_addf(&known, "%s%s", known.len ? ", " : "", w->word);
	rc = vss__error(-EINVAL, "'%s' is not a %s (use one of %s)", word ? word : "(null)", what,
			sbuf_str(&known));
	sbuf_release(&known);
	return rc;
}

VSS_EXPORT const char *vss_backup_type_name(enum vss_backup_type type)
{
	return vss__enum_word(backup_type_words, (int)type);
}

VSS_EXPORT int vss_backup_type_parse(const char *word, enum vss_backup_type *ret)
{
	int v, rc = word_parse(backup_type_words, "backup type", word, &v);

	if (rc == 0)
		*ret = (enum vss_backup_type)v;
	return rc;
}

VSS_EXPORT const char *vss_restore_type_name(enum vss_restore_type type)
{
	return vss__enum_word(restore_type_words, (int)type);
}

VSS_EXPORT int vss_restore_type_parse(const char *word, enum vss_restore_type *ret)
{
	int v, rc = word_parse(restore_type_words, "restore type", word, &v);

	if (rc == 0)
		*ret = (enum vss_restore_type)v;
	return rc;
}

VSS_EXPORT const char *vss_restore_target_name(enum vss_restore_target target)
{
	return vss__enum_word(restore_target_words, (int)target);
}

VSS_EXPORT int vss_restore_target_parse(const char *word, enum vss_restore_target *ret)
{
	int v, rc = word_parse(restore_target_words, "restore target", word, &v);

	if (rc == 0)
		*ret = (enum vss_restore_target)v;
	return rc;
}

VSS_EXPORT const char *vss_file_restore_status_name(enum vss_file_restore_status status)
{
	return vss__enum_word(file_restore_status_words, (int)status);
}

VSS_EXPORT int vss_file_restore_status_parse(const char *word, enum vss_file_restore_status *ret)
{
	int v, rc = word_parse(file_restore_status_words, "file restore status", word, &v);

	if (rc == 0)
		*ret = (enum vss_file_restore_status)v;
	return rc;
}

/* ---- the model ------------------------------------------------------------ */

struct vss_bcd_component {
	struct vss_bcd *bcd;            /* for the life-cycle checks */
	enum vss_component_type type;
	char *logical_path;             /* NULL for the root, never "" */
	char *name;
	char *caption;
	char *backup_stamp;
	char *previous_backup_stamp;
	char *backup_options;
	char *backup_metadata;
	char *restore_options;
	char *restore_metadata;
	char *pre_restore_failure_msg;
	char *post_restore_failure_msg;
	bool backup_succeeded;
	bool selected_for_restore;
	bool additional_restores;
	enum vss_restore_target restore_target;
	enum vss_file_restore_status file_restore_status;

	/* Arrays of entries: _at() pointers move when a list grows. */
	struct vss_bcd_partial_file *partial;
	size_t n_partial, cap_partial;
	struct vss_bcd_differenced_file *differenced;
	size_t n_differenced, cap_differenced;
	struct vss_bcd_new_target *new_targets;
	size_t n_new_targets, cap_new_targets;
	struct vss_bcd_alternate_location_mapping *mappings;
	size_t n_mappings, cap_mappings;
	struct vss_bcd_directed_target *directed;
	size_t n_directed, cap_directed;
	struct vss_bcd_restore_subcomponent *subcomponents;
	size_t n_subcomponents, cap_subcomponents;
};

struct vss_bcd_writer {
	struct vss_bcd *bcd;
	struct vss_guid instance_id;
	struct vss_guid writer_id;
	char *instance_name;
	uint32_t backup_schema;
	/* Pointers, so components handed out stay where they are. */
	struct vss_bcd_component **components;
	size_t n_components, cap_components;
};

struct vss_bcd {
	int refcount;
	struct vss_guid set_id;
	bool select_components;
	bool bootable_system_state;
	enum vss_backup_type backup_type;
	bool partial_file_support;
	enum vss_restore_type restore_type;
	bool backup_complete;
	bool restoring;
	struct vss_guid *snapshot_ids;
	size_t n_snapshot_ids, cap_snapshot_ids;
	struct vss_bcd_writer **writers;
	size_t n_writers, cap_writers;
};

/* Room for one more element in a growable array of element size size. */
static int grow(void **items, size_t *cap, size_t count, size_t size)
{
	size_t n;
	void *p;

	if (count < *cap)
		return 0;
	n = *cap ? *cap * 2 : 4;
	if (n > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*items, n * size);
	if (!p)
		return -ENOMEM;
	*items = p;
	*cap = n;
	return 0;
}

#define GROW(arr, n, cap) grow((void **)&(arr), &(cap), (n), sizeof(*(arr)))

static void freec(const char *s)
{
	free((char *)s);
}

static void component_free(struct vss_bcd_component *c)
{
	if (!c)
		return;
	free(c->logical_path);
	free(c->name);
	free(c->caption);
	free(c->backup_stamp);
	free(c->previous_backup_stamp);
	free(c->backup_options);
	free(c->backup_metadata);
	free(c->restore_options);
	free(c->restore_metadata);
	free(c->pre_restore_failure_msg);
	free(c->post_restore_failure_msg);
	for (size_t i = 0; i < c->n_partial; i++) {
		freec(c->partial[i].path);
		freec(c->partial[i].filename);
		freec(c->partial[i].ranges);
		freec(c->partial[i].metadata);
	}
	free(c->partial);
	for (size_t i = 0; i < c->n_differenced; i++) {
		freec(c->differenced[i].path);
		freec(c->differenced[i].filespec);
	}
	free(c->differenced);
	for (size_t i = 0; i < c->n_new_targets; i++) {
		freec(c->new_targets[i].path);
		freec(c->new_targets[i].filename);
		freec(c->new_targets[i].alternate_path);
	}
	free(c->new_targets);
	for (size_t i = 0; i < c->n_mappings; i++) {
		freec(c->mappings[i].path);
		freec(c->mappings[i].filespec);
		freec(c->mappings[i].destination);
	}
	free(c->mappings);
	for (size_t i = 0; i < c->n_directed; i++) {
		freec(c->directed[i].source_path);
		freec(c->directed[i].source_filename);
		freec(c->directed[i].source_range_list);
		freec(c->directed[i].destination_path);
		freec(c->directed[i].destination_filename);
		freec(c->directed[i].destination_range_list);
	}
	free(c->directed);
	for (size_t i = 0; i < c->n_subcomponents; i++) {
		freec(c->subcomponents[i].logical_path);
		freec(c->subcomponents[i].component_name);
	}
	free(c->subcomponents);
	free(c);
}

static void writer_free(struct vss_bcd_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_components; i++)
		component_free(w->components[i]);
	free(w->components);
	free(w->instance_name);
	free(w);
}

VSS_EXPORT struct vss_bcd *vss_bcd_new(const struct vss_guid *set_id)
{
	struct vss_bcd *bcd = calloc(1, sizeof(*bcd));

	if (!bcd)
		return NULL;
	bcd->refcount = 1;
	if (set_id)
		bcd->set_id = *set_id;
	bcd->backup_type = VSS_BT_UNDEFINED;
	bcd->restore_type = VSS_RTYPE_UNDEFINED;
	return bcd;
}

VSS_EXPORT struct vss_bcd *vss_bcd_ref(struct vss_bcd *bcd)
{
	if (bcd)
		bcd->refcount++;
	return bcd;
}

VSS_EXPORT struct vss_bcd *vss_bcd_unref(struct vss_bcd *bcd)
{
	if (!bcd || --bcd->refcount > 0)
		return NULL;
	for (size_t i = 0; i < bcd->n_writers; i++)
		writer_free(bcd->writers[i]);
	free(bcd->writers);
	free(bcd->snapshot_ids);
	free(bcd);
	return NULL;
}

/* ---- life cycle and argument checks ---------------------------------------- */

/*
 * May this field be changed now?  Restore-time fields may be set again
 * once a restore began; nothing else after BackupComplete.
 */
static int check_edit(const struct vss_bcd *bcd, bool restore_time, const char *what)
{
	if (!bcd->backup_complete || (restore_time && bcd->restoring))
		return 0;
	if (restore_time)
		return vss__error(-VSS_E_BAD_STATE,
				  "cannot set %s: %s (call vss_bcd_begin_restore() to restore)",
				  what, read_only_msg);
	return vss__error(-VSS_E_BAD_STATE, "cannot set %s: %s", what, read_only_msg);
}

/*
 * Text an XML attribute can carry and give back unchanged: valid UTF-8,
 * no control characters but tab, newline and carriage return.  Anything
 * else would make a document that cannot be read again.
 */
static int check_text(const char *s, const char *what)
{
	if (!s)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return vss__error(-EINVAL, "%s contains control character 0x%02x, which XML "
					  "cannot carry", what, *p);
	}
	if (!xmlCheckUTF8(X(s)))
		return vss__error(-EINVAL, "%s is not valid UTF-8", what);
	return 0;
}

static int check_required(const char *s, const char *what)
{
	if (!s)
		return vss__error(-EINVAL, "%s is required", what);
	return check_text(s, what);
}

/* Set an optional string field after the checks. */
static int set_string(struct vss_bcd_component *c, char **field, const char *value,
		      bool restore_time, const char *what)
{
	int rc = check_edit(c->bcd, restore_time, what);

	if (rc == 0)
		rc = check_text(value, what);
	if (rc == 0 && vss__strset(field, value) < 0)
		rc = vss__error(-ENOMEM, "out of memory");
	return rc;
}

static char *dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = true;
	return d;
}

static bool same_path(const char *a, const char *b)
{
	if (!a || !a[0])
		return !b || !b[0];
	return b && strcmp(a, b) == 0;
}

/* ---- the document's fields ------------------------------------------------- */

VSS_EXPORT const struct vss_guid *vss_bcd_get_snapshot_set_id(const struct vss_bcd *bcd)
{
	return &bcd->set_id;
}

VSS_EXPORT int vss_bcd_set_backup_state(struct vss_bcd *bcd, bool select_components,
					bool bootable_system_state, enum vss_backup_type type,
					bool partial_file_support)
{
	int rc = check_edit(bcd, false, "the backup state");

	if (rc < 0)
		return rc;
	if (!vss_backup_type_name(type))
		return vss__error(-EINVAL, "%d is not a backup type", (int)type);
	bcd->select_components = select_components;
	bcd->bootable_system_state = bootable_system_state;
	bcd->backup_type = type;
	bcd->partial_file_support = partial_file_support;
	return 0;
}

VSS_EXPORT bool vss_bcd_get_select_components(const struct vss_bcd *bcd)
{
	return bcd->select_components;
}

VSS_EXPORT bool vss_bcd_get_bootable_system_state(const struct vss_bcd *bcd)
{
	return bcd->bootable_system_state;
}

VSS_EXPORT enum vss_backup_type vss_bcd_get_backup_type(const struct vss_bcd *bcd)
{
	return bcd->backup_type;
}

VSS_EXPORT bool vss_bcd_get_partial_file_support(const struct vss_bcd *bcd)
{
	return bcd->partial_file_support;
}

VSS_EXPORT int vss_bcd_set_restore_type(struct vss_bcd *bcd, enum vss_restore_type type)
{
	int rc = check_edit(bcd, true, "the restore type");

	if (rc < 0)
		return rc;
	if (!vss_restore_type_name(type))
		return vss__error(-EINVAL, "%d is not a restore type", (int)type);
	bcd->restore_type = type;
	return 0;
}

VSS_EXPORT enum vss_restore_type vss_bcd_get_restore_type(const struct vss_bcd *bcd)
{
	return bcd->restore_type;
}

VSS_EXPORT int vss_bcd_add_snapshot_id(struct vss_bcd *bcd, const struct vss_guid *id)
{
	char text[VSS_GUID_STRING_MAX];
	int rc = check_edit(bcd, false, "the shadow copies of the set");

	if (rc < 0)
		return rc;
	if (!id)
		return vss__error(-EINVAL, "no shadow copy ID given");
	for (size_t i = 0; i < bcd->n_snapshot_ids; i++)
		if (vss_guid_equal(&bcd->snapshot_ids[i], id))
			return vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
					  "shadow copy '%s' is already in the document",
					  vss_guid_format(id, VSS_GUID_BRACES, text));
	if (GROW(bcd->snapshot_ids, bcd->n_snapshot_ids, bcd->cap_snapshot_ids) < 0)
		return vss__error(-ENOMEM, "out of memory");
	bcd->snapshot_ids[bcd->n_snapshot_ids++] = *id;
	return 0;
}

VSS_EXPORT size_t vss_bcd_snapshot_id_count(const struct vss_bcd *bcd)
{
	return bcd->n_snapshot_ids;
}

VSS_EXPORT const struct vss_guid *vss_bcd_snapshot_id_at(const struct vss_bcd *bcd, size_t i)
{
	return i < bcd->n_snapshot_ids ? &bcd->snapshot_ids[i] : NULL;
}

VSS_EXPORT int vss_bcd_set_backup_complete(struct vss_bcd *bcd)
{
	bcd->backup_complete = true;
	return 0;
}

VSS_EXPORT bool vss_bcd_is_backup_complete(const struct vss_bcd *bcd)
{
	return bcd->backup_complete;
}

VSS_EXPORT int vss_bcd_begin_restore(struct vss_bcd *bcd)
{
	bcd->restoring = true;
	return 0;
}

VSS_EXPORT bool vss_bcd_is_restoring(const struct vss_bcd *bcd)
{
	return bcd->restoring;
}

/* ---- writers ---------------------------------------------------------------- */

VSS_EXPORT struct vss_bcd_writer *vss_bcd_find_writer(const struct vss_bcd *bcd,
						      const struct vss_guid *instance_id)
{
	if (!instance_id)
		return NULL;
	for (size_t i = 0; i < bcd->n_writers; i++)
		if (vss_guid_equal(&bcd->writers[i]->instance_id, instance_id))
			return bcd->writers[i];
	return NULL;
}

VSS_EXPORT int vss_bcd_add_writer(struct vss_bcd *bcd, const struct vss_guid *instance_id,
				  const struct vss_guid *writer_id, const char *instance_name,
				  uint32_t backup_schema, struct vss_bcd_writer **ret_writer)
{
	char text[VSS_GUID_STRING_MAX];
	struct vss_bcd_writer *w = NULL;
	int rc = check_edit(bcd, false, "the writers");

	if (rc < 0)
		goto out;
	if (!instance_id || !writer_id) {
		rc = vss__error(-EINVAL, "a writer needs its instance ID and its class ID");
		goto out;
	}
	rc = check_text(instance_name, "the writer instance name");
	if (rc < 0)
		goto out;
	if (vss_bcd_find_writer(bcd, instance_id)) {
		rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
				"writer instance '%s' is already in the document",
				vss_guid_format(instance_id, VSS_GUID_BRACES, text));
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (!w || vss__strset(&w->instance_name, instance_name) < 0 ||
	    GROW(bcd->writers, bcd->n_writers, bcd->cap_writers) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	w->bcd = bcd;
	w->instance_id = *instance_id;
	w->writer_id = *writer_id;
	w->backup_schema = backup_schema;
	bcd->writers[bcd->n_writers++] = w;
	if (ret_writer)
		*ret_writer = w;
	w = NULL;
out:
	writer_free(w);
	return rc;
}

VSS_EXPORT size_t vss_bcd_writer_count(const struct vss_bcd *bcd)
{
	return bcd->n_writers;
}

VSS_EXPORT struct vss_bcd_writer *vss_bcd_writer_at(const struct vss_bcd *bcd, size_t i)
{
	return i < bcd->n_writers ? bcd->writers[i] : NULL;
}

VSS_EXPORT const struct vss_guid *vss_bcd_writer_get_instance_id(const struct vss_bcd_writer *w)
{
	return &w->instance_id;
}

VSS_EXPORT const struct vss_guid *vss_bcd_writer_get_writer_id(const struct vss_bcd_writer *w)
{
	return &w->writer_id;
}

VSS_EXPORT const char *vss_bcd_writer_get_instance_name(const struct vss_bcd_writer *w)
{
	return w->instance_name;
}

VSS_EXPORT uint32_t vss_bcd_writer_get_backup_schema(const struct vss_bcd_writer *w)
{
	return w->backup_schema;
}

VSS_EXPORT struct vss_bcd_component *vss_bcd_writer_find_component(const struct vss_bcd_writer *w,
								   const char *logical_path,
								   const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < w->n_components; i++) {
		struct vss_bcd_component *c = w->components[i];

		if (strcmp(c->name, name) == 0 && same_path(c->logical_path, logical_path))
			return c;
	}
	return NULL;
}

VSS_EXPORT int vss_bcd_writer_add_component(struct vss_bcd_writer *w, enum vss_component_type type,
					    const char *logical_path, const char *name,
					    struct vss_bcd_component **ret_component)
{
	struct vss_bcd_component *c = NULL;
	int rc = check_edit(w->bcd, false, "the components");

	if (rc < 0)
		goto out;
	if (!vss__enum_word(component_type_words, (int)type)) {
		rc = vss__error(-EINVAL, "%d is not a component type (database or filegroup)",
				(int)type);
		goto out;
	}
	rc = check_required(name, "the component name");
	if (rc == 0)
		rc = check_text(logical_path, "the logical path");
	if (rc < 0)
		goto out;
	if (vss_bcd_writer_find_component(w, logical_path, name)) {
		rc = vss__error(-VSS_E_OBJECT_ALREADY_EXISTS,
				"component '%s%s%s' is already selected for this writer",
				logical_path && logical_path[0] ? logical_path : "",
				logical_path && logical_path[0] ? "\\" : "", name);
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c || vss__strset(&c->name, name) < 0 ||
	    (logical_path && logical_path[0] && vss__strset(&c->logical_path, logical_path) < 0) ||
	    GROW(w->components, w->n_components, w->cap_components) < 0) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	c->bcd = w->bcd;
	c->type = type;
	c->restore_target = VSS_RT_ORIGINAL;
	c->file_restore_status = VSS_RS_UNDEFINED;
	w->components[w->n_components++] = c;
	if (ret_component)
		*ret_component = c;
	c = NULL;
out:
	component_free(c);
	return rc;
}

VSS_EXPORT size_t vss_bcd_writer_component_count(const struct vss_bcd_writer *w)
{
	return w->n_components;
}

VSS_EXPORT struct vss_bcd_component *vss_bcd_writer_component_at(const struct vss_bcd_writer *w,
								 size_t i)
{
	return i < w->n_components ? w->components[i] : NULL;
}

/* ---- components --------------------------------------------------------------- */

VSS_EXPORT enum vss_component_type vss_bcd_component_get_type(const struct vss_bcd_component *c)
{
	return c->type;
}

VSS_EXPORT const char *vss_bcd_component_get_logical_path(const struct vss_bcd_component *c)
{
	return c->logical_path;
}

VSS_EXPORT const char *vss_bcd_component_get_name(const struct vss_bcd_component *c)
{
	return c->name;
}

#define STRING_FIELD(field, restore_time, what)                                               \
	VSS_EXPORT int vss_bcd_component_set_##field(struct vss_bcd_component *c,              \
						     const char *value)                        \
	{                                                                                      \
		return set_string(c, &c->field, value, restore_time, what);                    \
	}                                                                                      \
	VSS_EXPORT const char *vss_bcd_component_get_##field(const struct vss_bcd_component *c) \
	{                                                                                      \
		return c->field;                                                               \
	}

STRING_FIELD(caption, false, "the component caption")
STRING_FIELD(backup_stamp, false, "the backup stamp")
STRING_FIELD(previous_backup_stamp, false, "the previous backup stamp")
STRING_FIELD(backup_options, false, "the backup options")
STRING_FIELD(backup_metadata, false, "the backup metadata")
STRING_FIELD(restore_options, true, "the restore options")
STRING_FIELD(restore_metadata, true, "the restore metadata")
STRING_FIELD(pre_restore_failure_msg, true, "the pre-restore failure message")
STRING_FIELD(post_restore_failure_msg, true, "the post-restore failure message")

#define BOOL_FIELD(field, restore_time, what)                                                 \
	VSS_EXPORT int vss_bcd_component_set_##field(struct vss_bcd_component *c, bool value)  \
	{                                                                                      \
		int rc = check_edit(c->bcd, restore_time, what);                               \
		if (rc == 0)                                                                   \
			c->field = value;                                                      \
		return rc;                                                                     \
	}                                                                                      \
	VSS_EXPORT bool vss_bcd_component_get_##field(const struct vss_bcd_component *c)       \
	{                                                                                      \
		return c->field;                                                               \
	}

BOOL_FIELD(backup_succeeded, false, "backup succeeded")
BOOL_FIELD(selected_for_restore, true, "selected for restore")
BOOL_FIELD(additional_restores, true, "additional restores")

VSS_EXPORT int vss_bcd_component_set_restore_target(struct vss_bcd_component *c,
						    enum vss_restore_target target)
{
	int rc = check_edit(c->bcd, true, "the restore target");

	if (rc < 0)
		return rc;
	if (!vss_restore_target_name(target))
		return vss__error(-EINVAL, "%d is not a restore target", (int)target);
	c->restore_target = target;
	return 0;
}

VSS_EXPORT enum vss_restore_target vss_bcd_component_get_restore_target(const struct vss_bcd_component *c)
{
	return c->restore_target;
}

VSS_EXPORT int vss_bcd_component_set_file_restore_status(struct vss_bcd_component *c,
							 enum vss_file_restore_status status)
{
	int rc = check_edit(c->bcd, true, "the file restore status");

	if (rc < 0)
		return rc;
	if (!vss_file_restore_status_name(status))
		return vss__error(-EINVAL, "%d is not a file restore status", (int)status);
	c->file_restore_status = status;
	return 0;
}

VSS_EXPORT enum vss_file_restore_status
vss_bcd_component_get_file_restore_status(const struct vss_bcd_component *c)
{
	return c->file_restore_status;
}

/* ---- component lists ------------------------------------------------------------ */

VSS_EXPORT int vss_bcd_component_add_partial_file(struct vss_bcd_component *c, const char *path,
						  const char *filename, const char *ranges,
						  const char *metadata)
{
	struct vss_bcd_partial_file e = { 0 };
	bool nomem = false;
	int rc = check_edit(c->bcd, false, "the partial files");

	if (rc == 0)
		rc = check_required(path, "the partial file's path");
	if (rc == 0)
		rc = check_required(filename, "the partial file's name");
	if (rc == 0)
		rc = check_required(ranges, "the partial file's ranges");
	if (rc == 0)
		rc = check_text(metadata, "the partial file's metadata");
	if (rc < 0)
		return rc;
	e.path = dup_or_null(path, &nomem);
	e.filename = dup_or_null(filename, &nomem);
	e.ranges = dup_or_null(ranges, &nomem);
	e.metadata = dup_or_null(metadata, &nomem);
	if (nomem || GROW(c->partial, c->n_partial, c->cap_partial) < 0) {
		freec(e.path);
		freec(e.filename);
		freec(e.ranges);
		freec(e.metadata);
		return vss__error(-ENOMEM, "out of memory");
	}
	c->partial[c->n_partial++] = e;
	return 0;
}

VSS_EXPORT size_t vss_bcd_component_partial_file_count(const struct vss_bcd_component *c)
{
	return c->n_partial;
}

VSS_EXPORT const struct vss_bcd_partial_file *
vss_bcd_component_partial_file_at(const struct vss_bcd_component *c, size_t i)
{
	return i < c->n_partial ? &c->partial[i] : NULL;
}

VSS_EXPORT int vss_bcd_component_add_differenced_file(struct vss_bcd_component *c, const char *path,
						      const char *filespec, bool recursive,
						      uint64_t last_modify_time)
{
	struct vss_bcd_differenced_file e = { 0 };
	bool nomem = false;
	int rc = check_edit(c->bcd, false, "the differenced files");

	if (rc == 0)
		rc = check_required(path, "the differenced file's path");
	if (rc == 0)
		rc = check_required(filespec, "the differenced file's filespec");
	if (rc < 0)
		return rc;
	e.path = dup_or_null(path, &nomem);
	e.filespec = dup_or_null(filespec, &nomem);
	e.recursive = recursive;
	e.last_modify_time = last_modify_time;
	if (nomem || GROW(c->differenced, c->n_differenced, c->cap_differenced) < 0) {
		freec(e.path);
		freec(e.filespec);
		return vss__error(-ENOMEM, "out of memory");
	}
	c->differenced[c->n_differenced++] = e;
	return 0;
}

VSS_EXPORT size_t vss_bcd_component_differenced_file_count(const struct vss_bcd_component *c)
{
	return c->n_differenced;
}

VSS_EXPORT const struct vss_bcd_differenced_file *
vss_bcd_component_differenced_file_at(const struct vss_bcd_component *c, size_t i)
{
	return i < c->n_differenced ? &c->differenced[i] : NULL;
}

VSS_EXPORT int vss_bcd_component_add_new_target(struct vss_bcd_component *c, const char *path,
						const char *filename, bool recursive,
						const char *alternate_path)
{
	struct vss_bcd_new_target e = { 0 };
	bool nomem = false;
	int rc = check_edit(c->bcd, true, "the new targets");

	if (rc == 0)
		rc = check_required(path, "the new target's path");
	if (rc == 0)
		rc = check_required(filename, "the new target's file name");
	if (rc == 0)
		rc = check_required(alternate_path, "the new target's alternate path");
	if (rc < 0)
		return rc;
	e.path = dup_or_null(path, &nomem);
	e.filename = dup_or_null(filename, &nomem);
	e.recursive = recursive;
	e.alternate_path = dup_or_null(alternate_path, &nomem);
	if (nomem || GROW(c->new_targets, c->n_new_targets, c->cap_new_targets) < 0) {
		freec(e.path);
		freec(e.filename);
		freec(e.alternate_path);
		return vss__error(-ENOMEM, "out of memory");
	}
	c->new_targets[c->n_new_targets++] = e;
	return 0;
}

VSS_EXPORT size_t vss_bcd_component_new_target_count(const struct vss_bcd_component *c)
{
	return c->n_new_targets;
}

VSS_EXPORT const struct vss_bcd_new_target *
vss_bcd_component_new_target_at(const struct vss_bcd_component *c, size_t i)
{
	return i < c->n_new_targets ? &c->new_targets[i] : NULL;
}

VSS_EXPORT int vss_bcd_component_add_alternate_location_mapping(struct vss_bcd_component *c,
								const char *path,
								const char *filespec,
								bool recursive,
								const char *destination)
{
	struct vss_bcd_alternate_location_mapping e = { 0 };
	bool nomem = false;
	int rc = check_edit(c->bcd, true, "the alternate location mappings");

	if (rc == 0)
		rc = check_required(path, "the mapping's path");
	if (rc == 0)
		rc = check_required(filespec, "the mapping's filespec");
	if (rc == 0)
		rc = check_required(destination, "the mapping's destination");
	if (rc < 0)
		return rc;
	e.path = dup_or_null(path, &nomem);
	e.filespec = dup_or_null(filespec, &nomem);
	e.recursive = recursive;
	e.destination = dup_or_null(destination, &nomem);
	if (nomem || GROW(c->mappings, c->n_mappings, c->cap_mappings) < 0) {
		freec(e.path);
		freec(e.filespec);
		freec(e.destination);
		return vss__error(-ENOMEM, "out of memory");
	}
	c->mappings[c->n_mappings++] = e;
	return 0;
}

VSS_EXPORT size_t vss_bcd_component_alternate_location_mapping_count(const struct vss_bcd_component *c)
{
	return c->n_mappings;
}

VSS_EXPORT const struct vss_bcd_alternate_location_mapping *
vss_bcd_component_alternate_location_mapping_at(const struct vss_bcd_component *c, size_t i)
{
	return i < c->n_mappings ? &c->mappings[i] : NULL;
}

VSS_EXPORT int vss_bcd_component_add_directed_target(struct vss_bcd_component *c,
						     const char *source_path,
						     const char *source_filename,
						     const char *source_range_list,
						     const char *destination_path,
						     const char *destination_filename,
						     const char *destination_range_list)
{
	struct vss_bcd_directed_target e = { 0 };
	bool nomem = false;
	int rc = check_edit(c->bcd, true, "the directed targets");

	if (rc == 0)
		rc = check_required(source_path, "the directed target's source path");
	if (rc == 0)
		rc = check_required(source_filename, "the directed target's source file name");
	if (rc == 0)
		rc = check_text(source_range_list, "the directed target's source range list");
	if (rc == 0)
		rc = check_required(destination_path, "the directed target's destination path");
	if (rc == 0)
		rc = check_required(destination_filename,
				    "the directed target's destination file name");
	if (rc == 0)
		rc = check_text(destination_range_list,
				"the directed target's destination range list");
	if (rc < 0)
		return rc;
	e.source_path = dup_or_null(source_path, &nomem);
	e.source_filename = dup_or_null(source_filename, &nomem);
	e.source_range_list = dup_or_null(source_range_list, &nomem);
	e.destination_path = dup_or_null(destination_path, &nomem);
	e.destination_filename = dup_or_null(destination_filename, &nomem);
	e.destination_range_list = dup_or_null(destination_range_list, &nomem);
	if (nomem || GROW(c->directed, c->n_directed, c->cap_directed) < 0) {
		freec(e.source_path);
		freec(e.source_filename);
		freec(e.source_range_list);
		freec(e.destination_path);
		freec(e.destination_filename);
		freec(e.destination_range_list);
		return vss__error(-ENOMEM, "out of memory");
	}
	c->directed[c->n_directed++] = e;
	return 0;
}

VSS_EXPORT size_t vss_bcd_component_directed_target_count(const struct vss_bcd_component *c)
{
	return c->n_directed;
}

VSS_EXPORT const struct vss_bcd_directed_target *
vss_bcd_component_directed_target_at(const struct vss_bcd_component *c, size_t i)
{
	return i < c->n_directed ? &c->directed[i] : NULL;
}

VSS_EXPORT int vss_bcd_component_add_restore_subcomponent(struct vss_bcd_component *c,
							  const char *logical_path,
							  const char *component_name, bool repair)
{
	struct vss_bcd_restore_subcomponent e = { 0 };
	bool nomem = false;
	int rc = check_edit(c->bcd, true, "the restore subcomponents");

	if (rc == 0)
		rc = check_text(logical_path, "the subcomponent's logical path");
	if (rc == 0)
		rc = check_required(component_name, "the subcomponent's name");
	if (rc < 0)
		return rc;
	/* As for components, "" and no logical path are the same root. */
	e.logical_path = logical_path && logical_path[0] ? dup_or_null(logical_path, &nomem) : NULL;
	e.component_name = dup_or_null(component_name, &nomem);
	e.repair = repair;
	if (nomem || GROW(c->subcomponents, c->n_subcomponents, c->cap_subcomponents) < 0) {
		freec(e.logical_path);
		freec(e.component_name);
		return vss__error(-ENOMEM, "out of memory");
	}
	c->subcomponents[c->n_subcomponents++] = e;
	return 0;
}

VSS_EXPORT size_t vss_bcd_component_restore_subcomponent_count(const struct vss_bcd_component *c)
{
	return c->n_subcomponents;
}

VSS_EXPORT const struct vss_bcd_restore_subcomponent *
vss_bcd_component_restore_subcomponent_at(const struct vss_bcd_component *c, size_t i)
{
	return i < c->n_subcomponents ? &c->subcomponents[i] : NULL;
}

/* ---- writing ----------------------------------------------------------------------- */

/* Element under parent in the document's namespace; NULL when out of memory. */
static xmlNodePtr child(xmlNodePtr parent, xmlNsPtr ns, const char *name)
{
	return xmlNewChild(parent, ns, X(name), NULL);
}

static int component_to_node(const struct vss_bcd_component *c, xmlNodePtr parent, xmlNsPtr ns)
{
	xmlNodePtr n = child(parent, ns, "COMPONENT"), e;
	int rc = 0;

	if (!n)
		return -ENOMEM;
	rc |= vss__xml_set_str(n, "logicalPath", c->logical_path);
	rc |= vss__xml_set_str(n, "componentName", c->name);
	rc |= vss__xml_set_enum(n, "componentType", component_type_words, (int)c->type);
	rc |= vss__xml_set_str(n, "componentCaption", c->caption);
	rc |= vss__xml_set_str(n, "backupStamp", c->backup_stamp);
	rc |= vss__xml_set_str(n, "previousBackupStamp", c->previous_backup_stamp);
	rc |= vss__xml_set_str(n, "backupOptions", c->backup_options);
	if (c->backup_succeeded)
		rc |= vss__xml_set_bool(n, "backupSucceeded", true);
	if (c->selected_for_restore)
		rc |= vss__xml_set_bool(n, "selectedForRestore", true);
	if (c->additional_restores)
		rc |= vss__xml_set_bool(n, "additionalRestores", true);
	rc |= vss__xml_set_str(n, "restoreOptions", c->restore_options);
	if (c->restore_target != VSS_RT_ORIGINAL)
		rc |= vss__xml_set_enum(n, "restoreTarget", restore_target_words,
					(int)c->restore_target);
	rc |= vss__xml_set_str(n, "preRestoreFailureMsg", c->pre_restore_failure_msg);
	rc |= vss__xml_set_str(n, "postRestoreFailureMsg", c->post_restore_failure_msg);
	if (c->file_restore_status != VSS_RS_UNDEFINED)
		rc |= vss__xml_set_enum(n, "fileRestoreStatus", file_restore_status_words,
					(int)c->file_restore_status);
	if (rc)
		return -ENOMEM;

	if (c->backup_metadata) {
		if (!(e = child(n, ns, "BACKUP_METADATA")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "metadata", c->backup_metadata);
	}
	if (c->restore_metadata) {
		if (!(e = child(n, ns, "RESTORE_METADATA")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "metadata", c->restore_metadata);
	}
	for (size_t i = 0; i < c->n_mappings && !rc; i++) {
		const struct vss_bcd_alternate_location_mapping *m = &c->mappings[i];

		if (!(e = child(n, ns, "ALTERNATE_LOCATION_MAPPING")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "path", m->path);
		rc |= vss__xml_set_str(e, "filespec", m->filespec);
		rc |= vss__xml_set_bool(e, "recursive", m->recursive);
		rc |= vss__xml_set_str(e, "destination", m->destination);
	}
	for (size_t i = 0; i < c->n_new_targets && !rc; i++) {
		const struct vss_bcd_new_target *t = &c->new_targets[i];

		if (!(e = child(n, ns, "NEW_TARGET")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "path", t->path);
		rc |= vss__xml_set_str(e, "filename", t->filename);
		rc |= vss__xml_set_bool(e, "recursive", t->recursive);
		rc |= vss__xml_set_str(e, "alternatePath", t->alternate_path);
	}
	for (size_t i = 0; i < c->n_directed && !rc; i++) {
		const struct vss_bcd_directed_target *t = &c->directed[i];

		if (!(e = child(n, ns, "DIRECTED_TARGET")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "sourcePath", t->source_path);
		rc |= vss__xml_set_str(e, "sourceFilename", t->source_filename);
		rc |= vss__xml_set_str(e, "sourceRangeList", t->source_range_list);
		rc |= vss__xml_set_str(e, "destinationPath", t->destination_path);
		rc |= vss__xml_set_str(e, "destinationFilename", t->destination_filename);
		rc |= vss__xml_set_str(e, "destinationRangeList", t->destination_range_list);
	}
	for (size_t i = 0; i < c->n_partial && !rc; i++) {
		const struct vss_bcd_partial_file *p = &c->partial[i];

		if (!(e = child(n, ns, "PARTIAL_FILE")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "path", p->path);
		rc |= vss__xml_set_str(e, "filename", p->filename);
		rc |= vss__xml_set_str(e, "ranges", p->ranges);
		rc |= vss__xml_set_str(e, "metadata", p->metadata);
	}
	for (size_t i = 0; i < c->n_differenced && !rc; i++) {
		const struct vss_bcd_differenced_file *d = &c->differenced[i];

		if (!(e = child(n, ns, "DIFFERENCED_FILE")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "path", d->path);
		rc |= vss__xml_set_str(e, "filespec", d->filespec);
		rc |= vss__xml_set_bool(e, "recursive", d->recursive);
		rc |= vss__xml_set_u64(e, "lastModifyTime", d->last_modify_time);
	}
	for (size_t i = 0; i < c->n_subcomponents && !rc; i++) {
		const struct vss_bcd_restore_subcomponent *s = &c->subcomponents[i];

		if (!(e = child(n, ns, "RESTORE_SUBCOMPONENT")))
			return -ENOMEM;
		rc |= vss__xml_set_str(e, "logicalPath", s->logical_path);
		rc |= vss__xml_set_str(e, "componentName", s->component_name);
		rc |= vss__xml_set_bool(e, "repair", s->repair);
	}
	return rc ? -ENOMEM : 0;
}

static int bcd_to_doc(const struct vss_bcd *bcd, xmlDocPtr *ret)
{
	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr root = NULL, n;
	xmlNsPtr ns = NULL;
	int rc = 0;

	if (doc)
		root = xmlNewDocNode(doc, NULL, X("BACKUP_COMPONENTS"), NULL);
	if (root) {
		xmlDocSetRootElement(doc, root);
		ns = xmlNewNs(root, X(BCD_NS), NULL);
	}
	if (!ns) {
		rc = -ENOMEM;
		goto out;
	}
	xmlSetNs(root, ns);
	/* The order of Windows' own documents, then ours. */
	rc |= vss__xml_set_str(root, "version", BCD_VERSION);
	rc |= vss__xml_set_bool(root, "bootableSystemStateBackup", bcd->bootable_system_state);
	rc |= vss__xml_set_bool(root, "selectComponents", bcd->select_components);
	rc |= vss__xml_set_enum(root, "backupType", backup_type_words, (int)bcd->backup_type);
	rc |= vss__xml_set_bool(root, "partialFileSupport", bcd->partial_file_support);
	rc |= vss__xml_set_guid(root, "snapshotSetId", &bcd->set_id);
	if (bcd->restore_type != VSS_RTYPE_UNDEFINED)
		rc |= vss__xml_set_enum(root, "restoreType", restore_type_words,
					(int)bcd->restore_type);
	if (bcd->backup_complete)
		rc |= vss__xml_set_bool(root, "backupComplete", true);
	if (rc) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < bcd->n_writers; i++) {
		const struct vss_bcd_writer *w = bcd->writers[i];

		n = child(root, ns, "WRITER_COMPONENTS");
		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		rc |= vss__xml_set_guid(n, "instanceId", &w->instance_id);
		rc |= vss__xml_set_guid(n, "writerId", &w->writer_id);
		rc |= vss__xml_set_str(n, "instanceName", w->instance_name);
		rc |= vss__xml_set_u64(n, "backupSchema", w->backup_schema);
		for (size_t j = 0; j < w->n_components && !rc; j++)
			rc = component_to_node(w->components[j], n, ns);
		if (rc) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < bcd->n_snapshot_ids; i++) {
		n = child(root, ns, "SNAPSHOT");
		if (!n || vss__xml_set_guid(n, "snapshotId", &bcd->snapshot_ids[i]) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	*ret = doc;
	doc = NULL;
out:
	xmlFreeDoc(doc);
	if (rc < 0)
		rc = vss__error(rc, "out of memory writing the backup components document");
	return rc;
}

VSS_EXPORT int vss_bcd_save(const struct vss_bcd *bcd, char **ret, size_t *ret_len)
{
	xmlDocPtr doc = NULL;
	int rc;

	if (!bcd || !ret)
		return vss__error(-EINVAL, "no document or no place for its text");
	rc = bcd_to_doc(bcd, &doc);
	if (rc == 0)
		rc = vss__xml_save(doc, ret, ret_len);
	xmlFreeDoc(doc);
	return rc;
}

VSS_EXPORT int vss_bcd_save_file(const struct vss_bcd *bcd, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!path)
		return vss__error(-EINVAL, "no file name given for the backup components document");
	rc = vss_bcd_save(bcd, &text, &len);
	if (rc < 0)
		goto out;
	rc = file_write_atomic(path, text, len, 0600, true);
	if (rc < 0)
		rc = vss__error(rc, "cannot write backup components document '%s': %s", path,
				strerror(-rc));
out:
	free(text);
	return rc;
}

/* ---- reading ------------------------------------------------------------------------- */

struct reader {
	const char *file;
	struct vss_bcd *bcd;
};

static bool in_ns(xmlNodePtr node)
{
	return node->ns && xmlStrEqual(node->ns->href, X(BCD_NS));
}

static bool is(xmlNodePtr node, const char *name)
{
	return xmlStrEqual(node->name, X(name));
}

/* Only the attributes listed (NULL-terminated), each in no namespace. */
static int check_attrs(const struct reader *r, xmlNodePtr node, const char *const *known)
{
	for (xmlAttrPtr a = node->properties; a; a = a->next) {
		bool ok = false;

		for (const char *const *k = known; *k && !a->ns; k++) {
			if (xmlStrEqual(a->name, X(*k))) {
				ok = true;
				break;
			}
		}
		if (!ok)
			return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(node), 0,
					      "<%s> has an unknown attribute '%s%s%s'",
					      (const char *)node->name,
					      a->ns && a->ns->prefix ? (const char *)a->ns->prefix : "",
					      a->ns && a->ns->prefix ? ":" : "",
					      (const char *)a->name);
	}
	return 0;
}

/* Element children only; text other than blanks is an error. */
static int check_node(const struct reader *r, xmlNodePtr node, bool *ret_element)
{
	*ret_element = false;
	switch (node->type) {
	case XML_ELEMENT_NODE:
		*ret_element = true;
		return 0;
	case XML_COMMENT_NODE:
	case XML_PI_NODE:
		return 0;
	case XML_TEXT_NODE:
	case XML_CDATA_SECTION_NODE:
		if (xmlIsBlankNode(node))
			return 0;
		return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(node), 0,
				      "<%s> has text, it must only hold elements",
				      (const char *)node->parent->name);
	default:
		return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(node), 0,
				      "unexpected node in <%s>", (const char *)node->parent->name);
	}
}

static int dup_element(const struct reader *r, xmlNodePtr node)
{
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(node), 0,
			      "<%s> appears twice in <%s>", (const char *)node->name,
			      (const char *)node->parent->name);
}

static int read_metadata(const struct reader *r, xmlNodePtr node, char **field)
{
	static const char *const attrs[] = { "metadata", NULL };
	char *value = NULL;
	int rc;

	if (*field)
		return dup_element(r, node);
	rc = check_attrs(r, node, attrs);
	if (rc == 0)
		rc = vss__xml_get_str(node, "metadata", true, r->file, &value);
	if (rc == 0)
		*field = value;
	return rc;
}

/* Reads the string attributes of one list entry into out[] (NULL when absent). */
static int read_strings(const struct reader *r, xmlNodePtr node, const char *const *names,
			const bool *required, char **out)
{
	int rc = 0;

	for (size_t i = 0; names[i] && rc == 0; i++)
		rc = vss__xml_get_str(node, names[i], required[i], r->file, &out[i]);
	return rc;
}

static int entry_error(const struct reader *r, xmlNodePtr node, int rc)
{
	/* An adder refused it: say where. */
	return vss__xml_error(rc, r->file, vss__xml_line(node), 0, "<%s>: %s", (const char *)node->name,
			      vss_error_last()->message);
}

static int read_component_child(const struct reader *r, xmlNodePtr node,
				struct vss_bcd_component *c)
{
	char *s[6] = { NULL };
	bool b = false;
	uint64_t u = 0;
	int rc;

	if (is(node, "BACKUP_METADATA"))
		return read_metadata(r, node, &c->backup_metadata);
	if (is(node, "RESTORE_METADATA"))
		return read_metadata(r, node, &c->restore_metadata);
	/* Only the two metadata elements may leave the namespace (xmlns=""). */
	if (!in_ns(node))
		return vss__xml_unexpected(node, r->file);
	if (is(node, "ALTERNATE_LOCATION_MAPPING")) {
		static const char *const n[] = { "path", "filespec", "destination", NULL };
		static const char *const a[] = { "path", "filespec", "recursive", "destination", NULL };
		static const bool req[] = { true, true, true };

		rc = check_attrs(r, node, a);
		if (rc == 0)
			rc = read_strings(r, node, n, req, s);
		if (rc == 0)
			rc = vss__xml_get_bool(node, "recursive", false, r->file, &b);
		if (rc == 0) {
			rc = vss_bcd_component_add_alternate_location_mapping(c, s[0], s[1], b, s[2]);
			if (rc < 0)
				rc = entry_error(r, node, rc);
		}
	} else if (is(node, "NEW_TARGET")) {
		static const char *const n[] = { "path", "filename", "alternatePath", NULL };
		static const char *const a[] = { "path", "filename", "recursive", "alternatePath", NULL };
		static const bool req[] = { true, true, true };

		rc = check_attrs(r, node, a);
		if (rc == 0)
			rc = read_strings(r, node, n, req, s);
		if (rc == 0)
			rc = vss__xml_get_bool(node, "recursive", false, r->file, &b);
		if (rc == 0) {
			rc = vss_bcd_component_add_new_target(c, s[0], s[1], b, s[2]);
			if (rc < 0)
				rc = entry_error(r, node, rc);
		}
	} else if (is(node, "DIRECTED_TARGET")) {
		static const char *const n[] = { "sourcePath", "sourceFilename", "sourceRangeList",
						 "destinationPath", "destinationFilename",
						 "destinationRangeList", NULL };
		static const bool req[] = { true, true, false, true, true, false };

		rc = check_attrs(r, node, n);
		if (rc == 0)
			rc = read_strings(r, node, n, req, s);
		if (rc == 0) {
			rc = vss_bcd_component_add_directed_target(c, s[0], s[1], s[2], s[3], s[4],
								   s[5]);
			if (rc < 0)
				rc = entry_error(r, node, rc);
		}
	} else if (is(node, "PARTIAL_FILE")) {
		static const char *const n[] = { "path", "filename", "ranges", "metadata", NULL };
		static const bool req[] = { true, true, true, false };

		rc = check_attrs(r, node, n);
		if (rc == 0)
			rc = read_strings(r, node, n, req, s);
		if (rc == 0) {
			rc = vss_bcd_component_add_partial_file(c, s[0], s[1], s[2], s[3]);
			if (rc < 0)
				rc = entry_error(r, node, rc);
		}
	} else if (is(node, "DIFFERENCED_FILE")) {
		static const char *const n[] = { "path", "filespec", NULL };
		static const char *const a[] = { "path", "filespec", "recursive", "lastModifyTime", NULL };
		static const bool req[] = { true, true };

		rc = check_attrs(r, node, a);
		if (rc == 0)
			rc = read_strings(r, node, n, req, s);
		if (rc == 0)
			rc = vss__xml_get_bool(node, "recursive", false, r->file, &b);
		if (rc == 0)
			rc = vss__xml_get_u64(node, "lastModifyTime", false, r->file, &u);
		if (rc == 0) {
			rc = vss_bcd_component_add_differenced_file(c, s[0], s[1], b, u);
			if (rc < 0)
				rc = entry_error(r, node, rc);
		}
	} else if (is(node, "RESTORE_SUBCOMPONENT")) {
		static const char *const n[] = { "logicalPath", "componentName", NULL };
		static const char *const a[] = { "logicalPath", "componentName", "repair", NULL };
		static const bool req[] = { false, true };

		rc = check_attrs(r, node, a);
		if (rc == 0)
			rc = read_strings(r, node, n, req, s);
		if (rc == 0)
			rc = vss__xml_get_bool(node, "repair", false, r->file, &b);
		if (rc == 0) {
			rc = vss_bcd_component_add_restore_subcomponent(c, s[0], s[1], b);
			if (rc < 0)
				rc = entry_error(r, node, rc);
		}
	} else {
		rc = vss__xml_unexpected(node, r->file);
	}
	for (size_t i = 0; i < 6; i++)
		free(s[i]);
	return rc;
}

static int read_component(const struct reader *r, xmlNodePtr node, struct vss_bcd_writer *w)
{
	static const char *const attrs[] = {
		"logicalPath", "componentName", "componentType", "componentCaption",
		"backupStamp", "previousBackupStamp", "backupOptions", "backupSucceeded",
		"selectedForRestore", "additionalRestores", "restoreOptions", "restoreTarget",
		"preRestoreFailureMsg", "postRestoreFailureMsg", "fileRestoreStatus", NULL
	};
	struct vss_bcd_component *c = NULL;
	char *path = NULL, *name = NULL;
	int type = VSS_CT_UNDEFINED, target = VSS_RT_ORIGINAL, status = VSS_RS_UNDEFINED;
	int rc;

	rc = check_attrs(r, node, attrs);
	if (rc == 0)
		rc = vss__xml_get_str(node, "logicalPath", false, r->file, &path);
	if (rc == 0)
		rc = vss__xml_get_str(node, "componentName", true, r->file, &name);
	if (rc == 0)
		rc = vss__xml_get_enum(node, "componentType", true, r->file, component_type_words,
				       &type);
	if (rc < 0)
		goto out;
	if (vss_bcd_writer_find_component(w, path, name)) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(node), 0,
				    "<COMPONENT> '%s%s%s' appears twice in its <WRITER_COMPONENTS>",
				    path && path[0] ? path : "", path && path[0] ? "\\" : "", name);
		goto out;
	}
	rc = vss_bcd_writer_add_component(w, (enum vss_component_type)type, path, name, &c);
	if (rc < 0) {
		rc = entry_error(r, node, rc);
		goto out;
	}
	rc = vss__xml_get_str(node, "componentCaption", false, r->file, &c->caption);
	if (rc == 0)
		rc = vss__xml_get_str(node, "backupStamp", false, r->file, &c->backup_stamp);
	if (rc == 0)
		rc = vss__xml_get_str(node, "previousBackupStamp", false, r->file,
				      &c->previous_backup_stamp);
	if (rc == 0)
		rc = vss__xml_get_str(node, "backupOptions", false, r->file, &c->backup_options);
	if (rc == 0)
		rc = vss__xml_get_bool(node, "backupSucceeded", false, r->file, &c->backup_succeeded);
	if (rc == 0)
		rc = vss__xml_get_bool(node, "selectedForRestore", false, r->file,
				       &c->selected_for_restore);
	if (rc == 0)
		rc = vss__xml_get_bool(node, "additionalRestores", false, r->file,
				       &c->additional_restores);
	if (rc == 0)
		rc = vss__xml_get_str(node, "restoreOptions", false, r->file, &c->restore_options);
	if (rc == 0)
		rc = vss__xml_get_enum(node, "restoreTarget", false, r->file, restore_target_words,
				       &target);
	if (rc == 0)
		rc = vss__xml_get_str(node, "preRestoreFailureMsg", false, r->file,
				      &c->pre_restore_failure_msg);
	if (rc == 0)
		rc = vss__xml_get_str(node, "postRestoreFailureMsg", false, r->file,
				      &c->post_restore_failure_msg);
	if (rc == 0)
		rc = vss__xml_get_enum(node, "fileRestoreStatus", false, r->file,
				       file_restore_status_words, &status);
	if (rc < 0)
		goto out;
	c->restore_target = (enum vss_restore_target)target;
	c->file_restore_status = (enum vss_file_restore_status)status;
	for (xmlNodePtr n = node->children; n && rc == 0; n = n->next) {
		bool element;

		rc = check_node(r, n, &element);
		if (rc == 0 && element)
			rc = read_component_child(r, n, c);
	}
out:
	free(name);
	free(path);
	return rc;
}

static int read_writer(const struct reader *r, xmlNodePtr node)
{
	static const char *const attrs[] = { "instanceId", "writerId", "instanceName",
					     "backupSchema", NULL };
	struct vss_guid instance_id, writer_id;
	struct vss_bcd_writer *w = NULL;
	char *instance_name = NULL;
	uint32_t schema = 0;
	int rc;

	rc = check_attrs(r, node, attrs);
	if (rc == 0)
		rc = vss__xml_get_guid(node, "instanceId", true, r->file, &instance_id);
	if (rc == 0)
		rc = vss__xml_get_guid(node, "writerId", true, r->file, &writer_id);
	if (rc == 0)
		rc = vss__xml_get_str(node, "instanceName", false, r->file, &instance_name);
	if (rc == 0)
		rc = vss__xml_get_u32(node, "backupSchema", false, r->file, &schema);
	if (rc < 0)
		goto out;
	if (vss_bcd_find_writer(r->bcd, &instance_id)) {
		char text[VSS_GUID_STRING_MAX];

		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(node), 0,
				    "<WRITER_COMPONENTS> attribute 'instanceId': writer instance "
				    "'%s' appears twice",
				    vss_guid_format(&instance_id, 0, text));
		goto out;
	}
	rc = vss_bcd_add_writer(r->bcd, &instance_id, &writer_id, instance_name, schema, &w);
	if (rc < 0) {
		rc = entry_error(r, node, rc);
		goto out;
	}
	for (xmlNodePtr n = node->children; n && rc == 0; n = n->next) {
		bool element;

		rc = check_node(r, n, &element);
		if (rc < 0 || !element)
			continue;
		if (in_ns(n) && is(n, "COMPONENT"))
			rc = read_component(r, n, w);
		else
			rc = vss__xml_unexpected(n, r->file);
	}
out:
	free(instance_name);
	return rc;
}

static int read_root(const struct reader *r, xmlNodePtr root)
{
	static const char *const attrs[] = {
		"version", "bootableSystemStateBackup", "selectComponents", "backupType",
		"partialFileSupport", "snapshotSetId", "restoreType", "backupComplete", NULL
	};
	struct vss_bcd *bcd = r->bcd;
	int backup_type = VSS_BT_UNDEFINED, restore_type = VSS_RTYPE_UNDEFINED;
	bool complete = false;
	char *version = NULL;
	int rc;

	rc = check_attrs(r, root, attrs);
	if (rc == 0)
		rc = vss__xml_get_str(root, "version", true, r->file, &version);
	if (rc == 0 && strcmp(version, "1.0") != 0 && strcmp(version, "1.1") != 0 &&
	    strcmp(version, "1.2") != 0)
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(root), 0,
				    "<BACKUP_COMPONENTS> attribute 'version': '%s' is not one of "
				    "1.0, 1.1, 1.2", version);
	if (rc == 0)
		rc = vss__xml_get_guid(root, "snapshotSetId", true, r->file, &bcd->set_id);
	if (rc == 0)
		rc = vss__xml_get_bool(root, "bootableSystemStateBackup", false, r->file,
				       &bcd->bootable_system_state);
	if (rc == 0)
		rc = vss__xml_get_bool(root, "selectComponents", false, r->file,
				       &bcd->select_components);
	if (rc == 0)
		rc = vss__xml_get_enum(root, "backupType", false, r->file, backup_type_words,
				       &backup_type);
	if (rc == 0)
		rc = vss__xml_get_bool(root, "partialFileSupport", false, r->file,
				       &bcd->partial_file_support);
	if (rc == 0)
		rc = vss__xml_get_enum(root, "restoreType", false, r->file, restore_type_words,
				       &restore_type);
	if (rc == 0)
		rc = vss__xml_get_bool(root, "backupComplete", false, r->file, &complete);
	if (rc < 0)
		goto out;
	bcd->backup_type = (enum vss_backup_type)backup_type;
	bcd->restore_type = (enum vss_restore_type)restore_type;
	for (xmlNodePtr n = root->children; n && rc == 0; n = n->next) {
		bool element;

		rc = check_node(r, n, &element);
		if (rc < 0 || !element)
			continue;
		if (in_ns(n) && is(n, "WRITER_COMPONENTS")) {
			rc = read_writer(r, n);
		} else if (in_ns(n) && is(n, "SNAPSHOT")) {
			static const char *const sattrs[] = { "snapshotId", NULL };
			struct vss_guid id;

			rc = check_attrs(r, n, sattrs);
			if (rc == 0)
				rc = vss__xml_get_guid(n, "snapshotId", true, r->file, &id);
			if (rc == 0 && n->children)
				rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, r->file, vss__xml_line(n), 0,
						    "<SNAPSHOT> must be empty");
			if (rc == 0) {
				rc = vss_bcd_add_snapshot_id(bcd, &id);
				if (rc < 0)
					rc = entry_error(r, n, rc == -VSS_E_OBJECT_ALREADY_EXISTS
							 ? -VSS_E_INVALID_XML_DOCUMENT : rc);
			}
		} else {
			rc = vss__xml_unexpected(n, r->file);
		}
	}
	/* Last: the document was built through the adders, which it would stop. */
	bcd->backup_complete = complete;
out:
	free(version);
	return rc;
}

VSS_EXPORT int vss_bcd_load(const char *xml, size_t len, const char *filename,
			    struct vss_bcd **ret)
{
	struct reader r = { .file = filename, .bcd = NULL };
	int schema_rc = 0, schema_line = 0, schema_column = 0;
	char schema_msg[1024] = "";
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int rc;

	if (!xml || !ret)
		return vss__error(-EINVAL, "no XML document given");
	rc = vss__xml_parse(xml, len, filename, &doc);
	if (rc < 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!in_ns(root) || !is(root, "BACKUP_COMPONENTS")) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, filename, vss__xml_line(root), 0,
				    "root element is <%s>%s%s, expected <BACKUP_COMPONENTS "
				    "xmlns=\"%s\">",
				    (const char *)root->name, root->ns ? " in namespace " : " without namespace",
				    root->ns ? (const char *)root->ns->href : "", BCD_NS);
		goto out;
	}
	/*
	 * The schema's verdict is kept while the reader goes on: where the
	 * reader finds the fault too, its message names the element and
	 * attribute more precisely than libxml2's.
	 */
	rc = vss__schema_validate(doc, "bcd", filename);
	if (rc == -VSS_E_INVALID_XML_DOCUMENT) {
		const struct vss_error *e = vss_error_last();

		schema_rc = rc;
		schema_line = e->line;
		schema_column = e->column;
		snprintf(schema_msg, sizeof(schema_msg), "%s", e->message);
		rc = 0;
	}
	if (rc < 0)
		goto out;
	r.bcd = vss_bcd_new(NULL);
	if (!r.bcd) {
		rc = vss__error(-ENOMEM, "out of memory");
		goto out;
	}
	rc = read_root(&r, root);
	if (rc == 0 && schema_rc)
		rc = vss__error_at(schema_rc, filename, schema_line, schema_column, "%s",
				   schema_msg);
	if (rc < 0)
		goto out;
	*ret = r.bcd;
	r.bcd = NULL;
out:
	vss_bcd_unref(r.bcd);
	xmlFreeDoc(doc);
	return rc;
}

VSS_EXPORT int vss_bcd_load_file(const char *path, struct vss_bcd **ret)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = vss__xml_read_file(path, "backup components document", &data, &len);
	if (rc == 0)
		rc = vss_bcd_load(data, len, path, ret);
	free(data);
	return rc;
}
