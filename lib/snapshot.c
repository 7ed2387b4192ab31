/*
 * Shadow copy records, lists of them, and their XML form: the properties
 * file kept beside each copy and the <snapshot> elements of the catalog and
 * of the pending-set journal (lib/schema/state.rng, vss-catalog(5)).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "vss-private.h"
#include "schema.h"
#include "util/file.h"
#include "util/parse.h"
#include "util/sbuf.h"
#include "util/banned.h"

#define X(s) ((const xmlChar *)(s))

/* ---- records ------------------------------------------------------------ */

struct vss_snapshot *vss__snapshot_new(void)
{
	struct vss_snapshot *snap = calloc(1, sizeof(*snap));

	if (snap) {
		snap->refcount = 1;
		snap->state = VSS_SS_UNKNOWN;
	}
	return snap;
}

int vss__strset(char **field, const char *value)
{
	char *copy = NULL;

	if (value) {
		copy = strdup(value);
		if (!copy)
			return -ENOMEM;
	}
	free(*field);
	*field = copy;
	return 0;
}

VSS_EXPORT struct vss_snapshot *vss_snapshot_ref(struct vss_snapshot *snap)
{
	if (snap)
		snap->refcount++;
	return snap;
}

static void snapshot_free(struct vss_snapshot *snap)
{
	free(snap->original_volume);
	free(snap->original_device);
	free(snap->original_uuid);
	free(snap->original_fsroot);
	free(snap->original_fstype);
	free(snap->device);
	free(snap->store);
	free(snap->origin);
	free(snap->originating_machine);
	free(snap->service_machine);
	free(snap->exposed_name);
	free(snap->exposed_path);
	free(snap->provider_name);
	free(snap);
}

VSS_EXPORT struct vss_snapshot *vss_snapshot_unref(struct vss_snapshot *snap)
{
	if (snap && --snap->refcount <= 0)
		snapshot_free(snap);
	return NULL;
}

VSS_EXPORT const struct vss_guid *vss_snapshot_get_id(const struct vss_snapshot *snap)
{
	return &snap->id;
}

VSS_EXPORT const struct vss_guid *vss_snapshot_get_set_id(const struct vss_snapshot *snap)
{
	return &snap->set_id;
}

VSS_EXPORT unsigned int vss_snapshot_get_count(const struct vss_snapshot *snap)
{
	return snap->count;
}

VSS_EXPORT const char *vss_snapshot_get_original_volume(const struct vss_snapshot *snap)
{
	return snap->original_volume;
}

VSS_EXPORT const char *vss_snapshot_get_original_device(const struct vss_snapshot *snap)
{
	return snap->original_device;
}

VSS_EXPORT const char *vss_snapshot_get_original_uuid(const struct vss_snapshot *snap)
{
	return snap->original_uuid;
}

VSS_EXPORT const char *vss_snapshot_get_original_fsroot(const struct vss_snapshot *snap)
{
	return snap->original_fsroot;
}

VSS_EXPORT const char *vss_snapshot_get_original_fstype(const struct vss_snapshot *snap)
{
	return snap->original_fstype;
}

VSS_EXPORT const char *vss_snapshot_get_device(const struct vss_snapshot *snap)
{
	return snap->device;
}

VSS_EXPORT const char *vss_snapshot_get_originating_machine(const struct vss_snapshot *snap)
{
	return snap->originating_machine;
}

VSS_EXPORT const char *vss_snapshot_get_service_machine(const struct vss_snapshot *snap)
{
	return snap->service_machine;
}

VSS_EXPORT const char *vss_snapshot_get_exposed_name(const struct vss_snapshot *snap)
{
	return snap->exposed_name;
}

VSS_EXPORT const char *vss_snapshot_get_exposed_path(const struct vss_snapshot *snap)
{
	return snap->exposed_path;
}

VSS_EXPORT const struct vss_guid *vss_snapshot_get_provider_id(const struct vss_snapshot *snap)
{
	return &snap->provider_id;
}

VSS_EXPORT const char *vss_snapshot_get_provider_name(const struct vss_snapshot *snap)
{
	return snap->provider_name;
}

VSS_EXPORT uint32_t vss_snapshot_get_attributes(const struct vss_snapshot *snap)
{
	return snap->attributes;
}

VSS_EXPORT int32_t vss_snapshot_get_context(const struct vss_snapshot *snap)
{
	return snap->context;
}

VSS_EXPORT int64_t vss_snapshot_get_creation_time(const struct vss_snapshot *snap)
{
	return snap->creation_time;
}

VSS_EXPORT enum vss_snapshot_state vss_snapshot_get_state(const struct vss_snapshot *snap)
{
	return snap->state;
}

VSS_EXPORT uint64_t vss_snapshot_get_hold_ns(const struct vss_snapshot *snap)
{
	return snap->hold_ns;
}

VSS_EXPORT pid_t vss_snapshot_get_owner_pid(const struct vss_snapshot *snap)
{
	return snap->owner_pid;
}

/* ---- names -------------------------------------------------------------- */

/* Indexed by enum vss_snapshot_state; also the text of <state>. */
static const char *const state_names[] = {
	[VSS_SS_UNKNOWN] = "Unknown",
	[VSS_SS_PREPARING] = "Preparing",
	[VSS_SS_PROCESSING_PREPARE] = "ProcessingPrepare",
	[VSS_SS_PREPARED] = "Prepared",
	[VSS_SS_PROCESSING_PRECOMMIT] = "ProcessingPrecommit",
	[VSS_SS_PRECOMMITTED] = "Precommitted",
	[VSS_SS_PROCESSING_COMMIT] = "ProcessingCommit",
	[VSS_SS_COMMITTED] = "Committed",
	[VSS_SS_PROCESSING_POSTCOMMIT] = "ProcessingPostcommit",
	[VSS_SS_PROCESSING_PREFINALCOMMIT] = "ProcessingPrefinalcommit",
	[VSS_SS_PREFINALCOMMITTED] = "Prefinalcommitted",
	[VSS_SS_PROCESSING_POSTFINALCOMMIT] = "ProcessingPostfinalcommit",
	[VSS_SS_CREATED] = "Created",
	[VSS_SS_ABORTED] = "Aborted",
	[VSS_SS_DELETED] = "Deleted",
	[VSS_SS_POSTCOMMITTED] = "Postcommitted",
};

#define N_STATES (sizeof(state_names) / sizeof(state_names[0]))

VSS_EXPORT const char *vss_snapshot_state_name(enum vss_snapshot_state state)
{
	if ((unsigned int)state >= N_STATES)
		return NULL;
	return state_names[state];
}

VSS_EXPORT const char *vss_snapshot_context_name(int32_t context)
{
	switch (context) {
	case VSS_CTX_BACKUP:
		return "Backup";
	case VSS_CTX_FILE_SHARE_BACKUP:
		return "FileShareBackup";
	case VSS_CTX_NAS_ROLLBACK:
		return "DataVolumeRollback";
	case VSS_CTX_APP_ROLLBACK:
		return "ApplicationRollback";
	case VSS_CTX_CLIENT_ACCESSIBLE:
		return "ClientAccessible";
	case VSS_CTX_CLIENT_ACCESSIBLE_WRITERS:
		return "ClientAccessibleWriters";
	default:
		return NULL;
	}
}

/*
 * vssadmin's words where they were seen (reference §1.8), ours in the same
 * style for the other bits.
 */
static const struct {
	uint32_t bit;
	const char *word;
} attribute_words[] = {
	{ VSS_VOLSNAP_ATTR_PERSISTENT, "Persistent" },
	{ VSS_VOLSNAP_ATTR_NO_AUTORECOVERY, "No auto-recovery" },
	{ VSS_VOLSNAP_ATTR_CLIENT_ACCESSIBLE, "Client-accessible" },
	{ VSS_VOLSNAP_ATTR_NO_AUTO_RELEASE, "No auto release" },
	{ VSS_VOLSNAP_ATTR_NO_WRITERS, "No writers" },
	{ VSS_VOLSNAP_ATTR_TRANSPORTABLE, "Transportable" },
	{ VSS_VOLSNAP_ATTR_NOT_SURFACED, "Not surfaced" },
	{ VSS_VOLSNAP_ATTR_NOT_TRANSACTED, "Not transacted" },
	{ VSS_VOLSNAP_ATTR_HARDWARE_ASSISTED, "Hardware assisted" },
	{ VSS_VOLSNAP_ATTR_DIFFERENTIAL, "Differential" },
	{ VSS_VOLSNAP_ATTR_PLEX, "Plex" },
	{ VSS_VOLSNAP_ATTR_IMPORTED, "Imported" },
	{ VSS_VOLSNAP_ATTR_EXPOSED_LOCALLY, "Exposed locally" },
	{ VSS_VOLSNAP_ATTR_EXPOSED_REMOTELY, "Exposed remotely" },
	{ VSS_VOLSNAP_ATTR_AUTORECOVER, "Auto recovered" },
	{ VSS_VOLSNAP_ATTR_ROLLBACK_RECOVERY, "Rollback recovery" },
	{ VSS_VOLSNAP_ATTR_DELAYED_POSTSNAPSHOT, "Delayed post-snapshot" },
	{ VSS_VOLSNAP_ATTR_TXF_RECOVERY, "TxF recovery" },
	{ VSS_VOLSNAP_ATTR_FILE_SHARE, "File share" },
};

VSS_EXPORT int vss_snapshot_attributes_format(uint32_t attributes, char **ret)
{
	struct sbuf sb = SBUF_INIT;
	uint32_t rest = attributes;
	char *text;
	int rc = 0;

	for (size_t i = 0; i < sizeof(attribute_words) / sizeof(attribute_words[0]); i++) {
		if (!(attributes & attribute_words[i].bit))
			continue;
		rest &= ~attribute_words[i].bit;
		rc = sbuf_addf(&sb, "%s%s", sb.len ? ", " : "", attribute_words[i].word);
		if (rc < 0)
			goto out;
	}
	/* Bits with no name still show, so nothing is silently hidden. */
	if (rest) {
		rc = sbuf_addf(&sb, "%s0x%08x", sb.len ? ", " : "", rest);
		if (rc < 0)
			goto out;
	}
	text = sbuf_detach(&sb);
	if (!text) {
		rc = -ENOMEM;
		goto out;
	}
	*ret = text;
out:
	if (rc < 0)
		vss__error(rc, "out of memory formatting attributes");
	sbuf_release(&sb);
	return rc;
}

/* ---- XML: writing --------------------------------------------------------- */

/* The string fields, in document order. */
static const struct {
	const char *element;
	size_t offset;
} string_fields[] = {
	{ "original-volume", offsetof(struct vss_snapshot, original_volume) },
	{ "original-device", offsetof(struct vss_snapshot, original_device) },
	{ "original-uuid", offsetof(struct vss_snapshot, original_uuid) },
	{ "original-fsroot", offsetof(struct vss_snapshot, original_fsroot) },
	{ "original-fstype", offsetof(struct vss_snapshot, original_fstype) },
	{ "device", offsetof(struct vss_snapshot, device) },
	{ "store", offsetof(struct vss_snapshot, store) },
	{ "origin", offsetof(struct vss_snapshot, origin) },
	{ "originating-machine", offsetof(struct vss_snapshot, originating_machine) },
	{ "service-machine", offsetof(struct vss_snapshot, service_machine) },
	{ "exposed-name", offsetof(struct vss_snapshot, exposed_name) },
	{ "exposed-path", offsetof(struct vss_snapshot, exposed_path) },
};

#define N_STRING_FIELDS (sizeof(string_fields) / sizeof(string_fields[0]))

static char **field_at(struct vss_snapshot *snap, size_t i)
{
	return (char **)((char *)snap + string_fields[i].offset);
}

static const char *field_get(const struct vss_snapshot *snap, size_t i)
{
	return *(char *const *)((const char *)snap + string_fields[i].offset);
}

/*
 * XML 1.0 can carry only valid UTF-8 without most control characters; a
 * path that is not would be written fine and then never read back, so it
 * is refused when writing.
 */
static bool xml_text_ok(const char *s)
{
	if (!xmlCheckUTF8(X(s)))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return false;
	return true;
}

static int add_text(xmlNodePtr parent, const char *element, const char *text, xmlNodePtr *ret)
{
	xmlNodePtr n;

	if (!xml_text_ok(text))
		return vss__error(-EINVAL, "cannot record <%s> '%s': not valid UTF-8 text", element, text);
	/* xmlNewTextChild escapes; xmlNewChild would take '&' as markup. */
	n = xmlNewTextChild(parent, NULL, X(element), X(text));
	if (!n)
		return vss__error(-ENOMEM, "out of memory building XML");
	if (ret)
		*ret = n;
	return 0;
}

static int add_prop(xmlNodePtr node, const char *name, const char *value)
{
	if (!xml_text_ok(value))
		return vss__error(-EINVAL, "cannot record attribute %s '%s': not valid UTF-8 text", name,
				  value);
	if (!xmlNewProp(node, X(name), X(value)))
		return vss__error(-ENOMEM, "out of memory building XML");
	return 0;
}

static int add_number(xmlNodePtr parent, const char *element, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int add_number(xmlNodePtr parent, const char *element, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return add_text(parent, element, buf, NULL);
}

/* "2024-01-19T14:09:21.123456789Z" */
static void format_utc(int64_t ns, char *buf, size_t size)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	struct tm tm;
	time_t t;

	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

static int snapshot_fill(const struct vss_snapshot *snap, xmlNodePtr node)
{
	char guid[VSS_GUID_STRING_MAX], buf[64];
	xmlNodePtr n;
	char *attrs = NULL;
	int rc;

	rc = add_prop(node, "id", vss_guid_format(&snap->id, VSS_GUID_BRACES, guid));
	if (rc < 0)
		goto out;
	rc = add_prop(node, "set", vss_guid_format(&snap->set_id, VSS_GUID_BRACES, guid));
	if (rc < 0)
		goto out;
	rc = add_number(node, "count", "%u", snap->count);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < N_STRING_FIELDS; i++) {
		const char *v = field_get(snap, i);

		if (!v)
			continue;
		rc = add_text(node, string_fields[i].element, v, NULL);
		if (rc < 0)
			goto out;
	}
	if (!vss_guid_is_null(&snap->provider_id) || snap->provider_name) {
		n = xmlNewChild(node, NULL, X("provider"), NULL);
		if (!n) {
			rc = vss__error(-ENOMEM, "out of memory building XML");
			goto out;
		}
		if (!vss_guid_is_null(&snap->provider_id)) {
			rc = add_prop(n, "id", vss_guid_format(&snap->provider_id, VSS_GUID_BRACES, guid));
			if (rc < 0)
				goto out;
		}
		if (snap->provider_name) {
			rc = add_prop(n, "name", snap->provider_name);
			if (rc < 0)
				goto out;
		}
	}
	snprintf(buf, sizeof(buf), "0x%08x", snap->attributes);
	rc = add_text(node, "attributes", buf, &n);
	if (rc < 0)
		goto out;
	if (snap->attributes) {
		rc = vss_snapshot_attributes_format(snap->attributes, &attrs);
		if (rc < 0)
			goto out;
		/* For readers of the file; ignored when read back. */
		rc = add_prop(n, "names", attrs);
		if (rc < 0)
			goto out;
	}
	snprintf(buf, sizeof(buf), "0x%08x", (uint32_t)snap->context);
	rc = add_text(node, "context", buf, &n);
	if (rc < 0)
		goto out;
	if (vss_snapshot_context_name(snap->context)) {
		rc = add_prop(n, "name", vss_snapshot_context_name(snap->context));
		if (rc < 0)
			goto out;
	}
	if (snap->creation_time) {
		snprintf(buf, sizeof(buf), "%lld", (long long)snap->creation_time);
		rc = add_text(node, "creation-time", buf, &n);
		if (rc < 0)
			goto out;
		format_utc(snap->creation_time, buf, sizeof(buf));
		rc = add_prop(n, "utc", buf);
		if (rc < 0)
			goto out;
	}
	if (!vss_snapshot_state_name(snap->state)) {
		rc = vss__error(-EINVAL, "cannot record shadow copy state %d: no such state",
				(int)snap->state);
		goto out;
	}
	rc = add_text(node, "state", vss_snapshot_state_name(snap->state), NULL);
	if (rc < 0)
		goto out;
	if (snap->hold_ns) {
		rc = add_number(node, "hold-ns", "%llu", (unsigned long long)snap->hold_ns);
		if (rc < 0)
			goto out;
	}
	if (snap->owner_pid > 0) {
		n = xmlNewChild(node, NULL, X("owner"), NULL);
		if (!n) {
			rc = vss__error(-ENOMEM, "out of memory building XML");
			goto out;
		}
		snprintf(buf, sizeof(buf), "%ld", (long)snap->owner_pid);
		rc = add_prop(n, "pid", buf);
		if (rc < 0)
			goto out;
		if (snap->owner_start) {
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)snap->owner_start);
			rc = add_prop(n, "start", buf);
			if (rc < 0)
				goto out;
		}
	}
	if (snap->subvolume_id) {
		rc = add_number(node, "subvolume-id", "%llu", (unsigned long long)snap->subvolume_id);
		if (rc < 0)
			goto out;
	}
out:
	free(attrs);
	return rc;
}

int vss__snapshot_to_node(const struct vss_snapshot *snap, xmlNodePtr parent)
{
	xmlNsPtr ns;
	xmlNodePtr node;
	int rc;

	ns = xmlSearchNsByHref(parent->doc, parent, X(VSS__XML_NS));
	node = xmlNewChild(parent, ns, X("snapshot"), NULL);
	if (!node)
		return vss__error(-ENOMEM, "out of memory building XML");
	if (!ns) {
		ns = xmlNewNs(node, X(VSS__XML_NS), NULL);
		if (!ns) {
			rc = vss__error(-ENOMEM, "out of memory building XML");
			goto fail;
		}
		xmlSetNs(node, ns);
	}
	rc = snapshot_fill(snap, node);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	xmlUnlinkNode(node);
	xmlFreeNode(node);
	return rc;
}

/* A document whose root is <root_name xmlns=VSS__XML_NS>. */
static int doc_new(const char *root_name, xmlDocPtr *ret_doc, xmlNodePtr *ret_root)
{
	xmlDocPtr doc = xmlNewDoc(X("1.0"));
	xmlNodePtr root = NULL;
	xmlNsPtr ns;

	if (!doc)
		goto nomem;
	root = xmlNewDocNode(doc, NULL, X(root_name), NULL);
	if (!root)
		goto nomem;
	xmlDocSetRootElement(doc, root);
	ns = xmlNewNs(root, X(VSS__XML_NS), NULL);
	if (!ns)
		goto nomem;
	xmlSetNs(root, ns);
	*ret_doc = doc;
	*ret_root = root;
	return 0;
nomem:
	xmlFreeDoc(doc);
	return vss__error(-ENOMEM, "out of memory building XML");
}

static int doc_dump(xmlDocPtr doc, char **ret, size_t *ret_len)
{
	struct vss__xml_errors e;
	xmlChar *mem = NULL;
	char *text;
	int size = 0;

	vss__xml_errors_begin(&e);
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
	vss__xml_errors_end(&e);
	if (!mem || size < 0) {
		xmlFree(mem);
		return vss__error(-ENOMEM, "cannot serialise XML: %s",
				  e.seen ? e.message : "out of memory");
	}
	/* Hand back malloc() memory whatever allocator libxml2 was given. */
	text = malloc((size_t)size + 1);
	if (!text) {
		xmlFree(mem);
		return vss__error(-ENOMEM, "out of memory serialising XML");
	}
	memcpy(text, mem, (size_t)size);
	text[size] = '\0';
	xmlFree(mem);
	*ret = text;
	if (ret_len)
		*ret_len = (size_t)size;
	return 0;
}

VSS_EXPORT int vss_snapshot_to_xml(const struct vss_snapshot *snap, char **ret)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int rc;

	rc = doc_new("snapshot", &doc, &root);
	if (rc < 0)
		goto out;
	rc = snapshot_fill(snap, root);
	if (rc < 0)
		goto out;
	rc = doc_dump(doc, ret, NULL);
out:
	xmlFreeDoc(doc);
	return rc;
}

int vss__snapshots_to_xml(const char *root_name, const char *const *attrs,
			  const struct vss_snapshot_list *list, char **ret, size_t *ret_len)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int rc;

	rc = doc_new(root_name, &doc, &root);
	if (rc < 0)
		goto out;
	for (size_t i = 0; attrs && attrs[i]; i += 2) {
		if (!attrs[i + 1]) {
			rc = vss__error(-EINVAL, "attribute '%s' of <%s> has no value", attrs[i], root_name);
			goto out;
		}
		rc = add_prop(root, attrs[i], attrs[i + 1]);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; list && i < vss_snapshot_list_count(list); i++) {
		rc = vss__snapshot_to_node(vss_snapshot_list_get(list, i), root);
		if (rc < 0)
			goto out;
	}
	rc = doc_dump(doc, ret, ret_len);
out:
	xmlFreeDoc(doc);
	return rc;
}

/* ---- XML: reading --------------------------------------------------------- */

static int node_line(xmlNodePtr node)
{
	long l = xmlGetLineNo(node);

	return l > 0 && l < 0x7fffffff ? (int)l : 0;
}

static bool in_our_ns(xmlNodePtr node)
{
	return node->ns && xmlStrEqual(node->ns->href, X(VSS__XML_NS));
}

/* The text of node, malloc()ed ("" for an empty element). */
static int node_text(xmlNodePtr node, char **ret)
{
	xmlChar *c = xmlNodeGetContent(node);
	char *s;

	s = strdup(c ? (const char *)c : "");
	xmlFree(c);
	if (!s)
		return vss__error(-ENOMEM, "out of memory reading XML");
	*ret = s;
	return 0;
}

/* An attribute without namespace, malloc()ed, or NULL when absent. */
static int node_attr(xmlNodePtr node, const char *name, char **ret)
{
	xmlChar *v = xmlGetNoNsProp(node, X(name));
	char *s = NULL;

	if (v) {
		s = strdup((const char *)v);
		xmlFree(v);
		if (!s)
			return vss__error(-ENOMEM, "out of memory reading XML");
	}
	*ret = s;
	return 0;
}

static int guid_attr(xmlNodePtr node, const char *name, const char *file, bool required,
		     struct vss_guid *ret)
{
	char *v = NULL;
	int rc;

	rc = node_attr(node, name, &v);
	if (rc < 0)
		goto out;
	if (!v) {
		if (required)
			rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
					    "<%s> lacks its %s attribute", (const char *)node->name, name);
		goto out;
	}
	if (vss_guid_parse(v, ret) < 0)
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
				    "%s '%s' of <%s> is not a GUID", name, v, (const char *)node->name);
out:
	free(v);
	return rc;
}

enum num_kind { NUM_U32, NUM_U64, NUM_I64, NUM_HEX32, NUM_PID };

static int parse_number(const char *text, enum num_kind kind, void *ret)
{
	uint64_t u64;
	uint32_t u32;
	int64_t i64;
	int rc;

	switch (kind) {
	case NUM_U32:
		rc = parse_u32(text, &u32);
		if (rc == 0)
			*(uint32_t *)ret = u32;
		return rc;
	case NUM_HEX32:
		rc = parse_hex_u32(text, &u32);
		if (rc == 0)
			*(uint32_t *)ret = u32;
		return rc;
	case NUM_U64:
		rc = parse_u64(text, &u64);
		if (rc == 0)
			*(uint64_t *)ret = u64;
		return rc;
	case NUM_I64:
		rc = parse_i64(text, &i64);
		if (rc == 0)
			*(int64_t *)ret = i64;
		return rc;
	case NUM_PID:
		rc = parse_u32(text, &u32);
		if (rc == 0 && (u32 == 0 || u32 > 0x7fffffff))
			rc = -ERANGE;
		if (rc == 0)
			*(pid_t *)ret = (pid_t)u32;
		return rc;
	}
	return -EINVAL;
}

static const char *num_kind_text(enum num_kind kind)
{
	switch (kind) {
	case NUM_HEX32:
		return "a 32-bit hexadecimal number (0x...)";
	case NUM_I64:
		return "a signed 64-bit integer";
	case NUM_PID:
		return "a process ID";
	case NUM_U32:
		return "an unsigned 32-bit integer";
	case NUM_U64:
	default:
		return "an unsigned 64-bit integer";
	}
}

/* The number in the text of node (attr NULL) or in its attribute attr. */
static int number_of(xmlNodePtr node, const char *attr, const char *file, enum num_kind kind,
		     void *ret)
{
	char *text = NULL;
	int rc;

	rc = attr ? node_attr(node, attr, &text) : node_text(node, &text);
	if (rc < 0 || !text)
		goto out;
	if (parse_number(text, kind, ret) < 0) {
		if (attr)
			rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
					    "%s '%s' of <%s> is not %s", attr, text,
					    (const char *)node->name, num_kind_text(kind));
		else
			rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
					    "<%s> '%s' is not %s", (const char *)node->name, text,
					    num_kind_text(kind));
	}
out:
	free(text);
	return rc;
}

static int state_of(xmlNodePtr node, const char *file, enum vss_snapshot_state *ret)
{
	char *text = NULL;
	int rc;

	rc = node_text(node, &text);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < N_STATES; i++) {
		if (strcmp(state_names[i], text) == 0) {
			*ret = (enum vss_snapshot_state)i;
			goto out;
		}
	}
	rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
			    "<state> '%s' is not a shadow copy state (Created, Aborted, ...)", text);
out:
	free(text);
	return rc;
}

/* Bits of the elements seen, to refuse duplicates and missing ones. */
enum {
	SEEN_COUNT = 1u << 0,
	SEEN_PROVIDER = 1u << 1,
	SEEN_ATTRIBUTES = 1u << 2,
	SEEN_CONTEXT = 1u << 3,
	SEEN_CREATION = 1u << 4,
	SEEN_STATE = 1u << 5,
	SEEN_HOLD = 1u << 6,
	SEEN_OWNER = 1u << 7,
	SEEN_SUBVOL = 1u << 8,
	SEEN_STRING0 = 1u << 9,  /* + index into string_fields */
};

static int child_parse(struct vss_snapshot *snap, xmlNodePtr c, const char *file, uint32_t *seen)
{
	const char *name = (const char *)c->name;
	uint32_t bit = 0;
	uint32_t u32;
	int rc = 0;

	if (!in_our_ns(c))
		goto unknown;
	for (size_t i = 0; i < N_STRING_FIELDS; i++) {
		if (strcmp(name, string_fields[i].element) == 0) {
			char *text = NULL;

			bit = SEEN_STRING0 << i;
			if (*seen & bit)
				goto duplicate;
			rc = node_text(c, &text);
			if (rc < 0)
				return rc;
			free(*field_at(snap, i));
			*field_at(snap, i) = text;
			goto done;
		}
	}
	if (strcmp(name, "count") == 0) {
		bit = SEEN_COUNT;
		if (*seen & bit)
			goto duplicate;
		rc = number_of(c, NULL, file, NUM_U32, &u32);
		if (rc == 0)
			snap->count = u32;
	} else if (strcmp(name, "provider") == 0) {
		bit = SEEN_PROVIDER;
		if (*seen & bit)
			goto duplicate;
		rc = guid_attr(c, "id", file, false, &snap->provider_id);
		if (rc == 0)
			rc = node_attr(c, "name", &snap->provider_name);
	} else if (strcmp(name, "attributes") == 0) {
		bit = SEEN_ATTRIBUTES;
		if (*seen & bit)
			goto duplicate;
		rc = number_of(c, NULL, file, NUM_HEX32, &snap->attributes);
	} else if (strcmp(name, "context") == 0) {
		bit = SEEN_CONTEXT;
		if (*seen & bit)
			goto duplicate;
		rc = number_of(c, NULL, file, NUM_HEX32, &u32);
		if (rc == 0)
			snap->context = (int32_t)u32;
	} else if (strcmp(name, "creation-time") == 0) {
		bit = SEEN_CREATION;
		if (*seen & bit)
			goto duplicate;
		/* The utc attribute is for people; the number is the truth. */
		rc = number_of(c, NULL, file, NUM_I64, &snap->creation_time);
	} else if (strcmp(name, "state") == 0) {
		bit = SEEN_STATE;
		if (*seen & bit)
			goto duplicate;
		rc = state_of(c, file, &snap->state);
	} else if (strcmp(name, "hold-ns") == 0) {
		bit = SEEN_HOLD;
		if (*seen & bit)
			goto duplicate;
		rc = number_of(c, NULL, file, NUM_U64, &snap->hold_ns);
	} else if (strcmp(name, "owner") == 0) {
		bit = SEEN_OWNER;
		if (*seen & bit)
			goto duplicate;
		if (!xmlHasProp(c, X("pid"))) {
			return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(c), 0,
					      "<owner> lacks its pid attribute");
		}
		rc = number_of(c, "pid", file, NUM_PID, &snap->owner_pid);
		if (rc == 0)
			rc = number_of(c, "start", file, NUM_U64, &snap->owner_start);
	} else if (strcmp(name, "subvolume-id") == 0) {
		bit = SEEN_SUBVOL;
		if (*seen & bit)
			goto duplicate;
		rc = number_of(c, NULL, file, NUM_U64, &snap->subvolume_id);
	} else {
		goto unknown;
	}
	if (rc < 0)
		return rc;
done:
	*seen |= bit;
	return 0;
duplicate:
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(c), 0,
			      "<%s> appears twice in <snapshot>", name);
unknown:
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(c), 0,
			      "unknown element <%s> in <snapshot>", name);
}

int vss__snapshot_from_node(xmlNodePtr node, const char *file, struct vss_snapshot **ret)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} required[] = {
		{ SEEN_COUNT, "count" },
		{ SEEN_ATTRIBUTES, "attributes" },
		{ SEEN_CONTEXT, "context" },
		{ SEEN_STATE, "state" },
	};
	struct vss_snapshot *snap = NULL;
	uint32_t seen = 0;
	int rc;

	if (node->type != XML_ELEMENT_NODE || !in_our_ns(node) ||
	    !xmlStrEqual(node->name, X("snapshot"))) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
				    "expected <snapshot xmlns=\"%s\">, found <%s>", VSS__XML_NS,
				    node->name ? (const char *)node->name : "?");
		goto out;
	}
	snap = vss__snapshot_new();
	if (!snap) {
		rc = vss__error(-ENOMEM, "out of memory reading XML");
		goto out;
	}
	rc = guid_attr(node, "id", file, true, &snap->id);
	if (rc < 0)
		goto out;
	rc = guid_attr(node, "set", file, true, &snap->set_id);
	if (rc < 0)
		goto out;
	for (xmlNodePtr c = node->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE)
			continue;
		if (c->type != XML_ELEMENT_NODE) {
			rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(c), 0,
					    "text is not allowed directly inside <snapshot>");
			goto out;
		}
		rc = child_parse(snap, c, file, &seen);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (!(seen & required[i].bit)) {
			rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
					    "<snapshot> lacks its <%s> element", required[i].name);
			goto out;
		}
	}
	*ret = snap;
	snap = NULL;
out:
	vss_snapshot_unref(snap);
	return rc;
}

/*
 * A schema violation, kept while the document is read anyway: where the
 * reader finds something wrong too, its message is the more precise one
 * ("<snapshot> lacks its <state> element" rather than libxml2's "expecting
 * an element, got nothing"); otherwise the schema's stands.
 */
struct schema_verdict {
	int code;
	int line;
	int column;
	char message[1024];
};

static int verdict_raise(const struct schema_verdict *v, const char *file)
{
	return vss__error_at(v->code, file, v->line, v->column, "%s", v->message);
}

/* Parse, check the root element, validate against the schema. */
static int doc_read(const char *xml, size_t len, const char *file, const char *root_name,
		    xmlDocPtr *ret, struct schema_verdict *verdict)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int rc;

	memset(verdict, 0, sizeof(*verdict));
	rc = vss__xml_parse(xml, len, file, &doc);
	if (rc < 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	if (!in_our_ns(root) || !xmlStrEqual(root->name, X(root_name))) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(root), 0,
				    "root element is <%s>%s%s%s, expected <%s> in namespace %s",
				    (const char *)root->name, root->ns ? " in namespace " : "",
				    root->ns ? (const char *)root->ns->href : "",
				    root->ns ? "" : " without namespace", root_name, VSS__XML_NS);
		goto out;
	}
	rc = vss__schema_validate(doc, "state", file);
	if (rc == -VSS_E_INVALID_XML_DOCUMENT) {
		const struct vss_error *e = vss_error_last();

		verdict->code = rc;
		verdict->line = e->line;
		verdict->column = e->column;
		snprintf(verdict->message, sizeof(verdict->message), "%s", e->message);
		rc = 0;
	}
	if (rc < 0)
		goto out;
	*ret = doc;
	doc = NULL;
out:
	xmlFreeDoc(doc);
	return rc;
}

VSS_EXPORT int vss_snapshot_from_xml(const char *xml, size_t len, const char *filename,
				     struct vss_snapshot **ret)
{
	struct vss_snapshot *snap = NULL;
	struct schema_verdict verdict;
	xmlDocPtr doc = NULL;
	int rc;

	if (!xml)
		return vss__error(-EINVAL, "no XML document given");
	rc = doc_read(xml, len, filename, "snapshot", &doc, &verdict);
	if (rc < 0)
		goto out;
	rc = vss__snapshot_from_node(xmlDocGetRootElement(doc), filename, &snap);
	if (rc == 0 && verdict.code)
		rc = verdict_raise(&verdict, filename);
	if (rc < 0)
		goto out;
	*ret = snap;
	snap = NULL;
out:
	vss_snapshot_unref(snap);
	xmlFreeDoc(doc);
	return rc;
}

static int root_attrs(xmlNodePtr root, char ***ret)
{
	struct strv v = STRV_INIT;
	int rc = 0;

	for (xmlAttrPtr a = root->properties; a; a = a->next) {
		xmlChar *value = xmlNodeListGetString(root->doc, a->children, 1);

		rc = strv_push(&v, (const char *)a->name);
		if (rc == 0)
			rc = strv_push(&v, value ? (const char *)value : "");
		xmlFree(value);
		if (rc < 0) {
			rc = vss__error(-ENOMEM, "out of memory reading XML");
			goto out;
		}
	}
	if (!v.items) {
		v.items = calloc(1, sizeof(char *));
		if (!v.items) {
			rc = vss__error(-ENOMEM, "out of memory reading XML");
			goto out;
		}
	}
	*ret = v.items;
	v.items = NULL;
	v.count = v.cap = 0;
out:
	strv_release(&v);
	return rc;
}

int vss__snapshots_from_xml(const char *xml, size_t len, const char *file, const char *root_name,
			    struct vss_snapshot_list **ret, char ***ret_attrs)
{
	struct vss_snapshot_list *list = NULL;
	struct vss_snapshot *snap = NULL;
	struct schema_verdict verdict;
	xmlDocPtr doc = NULL;
	char **attrs = NULL;
	xmlNodePtr root;
	int rc;

	if (!xml)
		return vss__error(-EINVAL, "no XML document given");
	rc = doc_read(xml, len, file, root_name, &doc, &verdict);
	if (rc < 0)
		goto out;
	root = xmlDocGetRootElement(doc);
	list = vss__snapshot_list_new();
	if (!list) {
		rc = vss__error(-ENOMEM, "out of memory reading XML");
		goto out;
	}
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		rc = vss__snapshot_from_node(c, file, &snap);
		if (rc < 0)
			goto out;
		if (vss__snapshot_list_find(list, &snap->id) >= 0) {
			char guid[VSS_GUID_STRING_MAX];

			rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(c), 0,
					    "shadow copy %s is listed twice",
					    vss_guid_format(&snap->id, VSS_GUID_BRACES, guid));
			goto out;
		}
		rc = vss__snapshot_list_append(list, snap);
		if (rc < 0)
			goto out;
		snap = vss_snapshot_unref(snap);
	}
	if (verdict.code) {
		rc = verdict_raise(&verdict, file);
		goto out;
	}
	if (ret_attrs) {
		rc = root_attrs(root, &attrs);
		if (rc < 0)
			goto out;
		*ret_attrs = attrs;
	}
	*ret = list;
	list = NULL;
out:
	vss_snapshot_unref(snap);
	vss_snapshot_list_unref(list);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- properties files ------------------------------------------------------ */

char *vss__snapshot_props_path(const struct vss_snapshot *snap)
{
	char guid[VSS_GUID_STRING_MAX], name[VSS_GUID_STRING_MAX + 8];

	if (!snap->store || !snap->store[0])
		return NULL;
	snprintf(name, sizeof(name), "%s.xml", vss_guid_format(&snap->id, 0, guid));
	return path_join(snap->store, name);
}

static int props_path_or_error(const struct vss_snapshot *snap, char **ret)
{
	char guid[VSS_GUID_STRING_MAX];

	if (!snap->store || !snap->store[0])
		return vss__error(-EINVAL, "shadow copy %s has no store for its properties file",
				  vss_guid_format(&snap->id, VSS_GUID_BRACES, guid));
	*ret = vss__snapshot_props_path(snap);
	if (!*ret)
		return vss__error(-ENOMEM, "out of memory");
	return 0;
}

/*
 * A copy's device must be "<store>/<name>" with the store a .vss directory:
 * properties files are input, and we delete what they name.
 */
int vss__snapshot_check_location(const struct vss_snapshot *snap)
{
	const char *dev = snap->device, *store = snap->store, *slash;
	size_t n;

	if (!dev || !store)
		return vss__error(-EINVAL, "the copy has no recorded location");
	n = strlen(store);
	slash = strrchr(store, '/');
	if (!slash || strcmp(slash + 1, VSS__STORE_DIR) != 0 || strncmp(dev, store, n) != 0 ||
	    dev[n] != '/' || !dev[n + 1] || strchr(dev + n + 1, '/') ||
	    strcmp(dev + n + 1, "..") == 0 || strcmp(dev + n + 1, ".") == 0)
		return vss__error(-EINVAL, "'%s' is not a copy in a vss store ('%s'); not touching it",
				  dev, store);
	return 0;
}

int vss__snapshot_write_props(const struct vss_snapshot *snap)
{
	char *path = NULL, *xml = NULL;
	int rc;

	rc = props_path_or_error(snap, &path);
	if (rc < 0)
		goto out;
	rc = vss_snapshot_to_xml(snap, &xml);
	if (rc < 0)
		goto out;
	/*
	 * A copy's first properties file is not fsynced: the catalog, written
	 * next and fsynced, is the durable record of the copy; the filesystem
	 * makes this file durable within seconds, and a rescan writes it again
	 * from the catalog if a crash lost it.  A file torn before its set was
	 * recorded is rolled back with the set.  Later changes replace the file
	 * atomically and durably.
	 */
	rc = file_write_new(path, xml, strlen(xml), 0644, false);
	if (rc == -EEXIST)
		rc = file_write_atomic(path, xml, strlen(xml), 0644, true);
	if (rc < 0)
		rc = vss__error(rc, "cannot write properties file '%s': %s", path, strerror(-rc));
out:
	free(xml);
	free(path);
	return rc;
}

int vss__snapshot_remove_props(const struct vss_snapshot *snap)
{
	char *path = NULL;
	int rc = 0;

	if (!snap->store || !snap->store[0])
		return 0;
	rc = props_path_or_error(snap, &path);
	if (rc < 0)
		goto out;
	if (unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
		vss__error(rc, "cannot remove properties file '%s': %s", path, strerror(-rc));
		goto out;
	}
	/* No fsync: a properties file that comes back after a crash without
	 * its copy is found stale and removed by the next rescan. */
out:
	free(path);
	return rc;
}

int vss__snapshot_read_props(const char *path, struct vss_snapshot **ret)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	rc = file_read_all(path, &data, &len);
	if (rc < 0) {
		rc = vss__error(rc, "cannot read properties file '%s': %s", path, strerror(-rc));
		goto out;
	}
	rc = vss_snapshot_from_xml(data, len, path, ret);
out:
	free(data);
	return rc;
}

/* ---- lists -------------------------------------------------------------- */

struct vss_snapshot_list {
	int refcount;
	struct vss_snapshot **items;
	size_t count;
	size_t cap;
};

struct vss_snapshot_list *vss__snapshot_list_new(void)
{
	struct vss_snapshot_list *list = calloc(1, sizeof(*list));

	if (list)
		list->refcount = 1;
	return list;
}

int vss__snapshot_list_append(struct vss_snapshot_list *list, struct vss_snapshot *snap)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct vss_snapshot **items = reallocarray(list->items, cap, sizeof(*items));

		if (!items)
			return vss__error(-ENOMEM, "out of memory");
		list->items = items;
		list->cap = cap;
	}
	list->items[list->count++] = vss_snapshot_ref(snap);
	return 0;
}

void vss__snapshot_list_remove_at(struct vss_snapshot_list *list, size_t i)
{
	if (i >= list->count)
		return;
	vss_snapshot_unref(list->items[i]);
	memmove(&list->items[i], &list->items[i + 1], (list->count - i - 1) * sizeof(list->items[0]));
	list->count--;
}

ssize_t vss__snapshot_list_find(const struct vss_snapshot_list *list, const struct vss_guid *id)
{
	for (size_t i = 0; i < list->count; i++)
		if (vss_guid_equal(&list->items[i]->id, id))
			return (ssize_t)i;
	return -1;
}

static int compare_snapshots(const void *a, const void *b)
{
	const struct vss_snapshot *x = *(struct vss_snapshot *const *)a;
	const struct vss_snapshot *y = *(struct vss_snapshot *const *)b;

	if (x->creation_time != y->creation_time)
		return x->creation_time < y->creation_time ? -1 : 1;
	return memcmp(x->id.bytes, y->id.bytes, sizeof(x->id.bytes));
}

void vss__snapshot_list_sort(struct vss_snapshot_list *list)
{
	if (list->count > 1)
		qsort(list->items, list->count, sizeof(list->items[0]), compare_snapshots);
}

VSS_EXPORT size_t vss_snapshot_list_count(const struct vss_snapshot_list *list)
{
	return list ? list->count : 0;
}

VSS_EXPORT struct vss_snapshot *vss_snapshot_list_get(const struct vss_snapshot_list *list,
						       size_t i)
{
	if (!list || i >= list->count)
		return NULL;
	return list->items[i];
}

VSS_EXPORT struct vss_snapshot_list *vss_snapshot_list_ref(struct vss_snapshot_list *list)
{
	if (list)
		list->refcount++;
	return list;
}

VSS_EXPORT struct vss_snapshot_list *vss_snapshot_list_unref(struct vss_snapshot_list *list)
{
	if (list && --list->refcount <= 0) {
		for (size_t i = 0; i < list->count; i++)
			vss_snapshot_unref(list->items[i]);
		free(list->items);
		free(list);
	}
	return NULL;
}
