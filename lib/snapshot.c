/*
 * Shadow copy records, lists of them, and their XML form: the properties
 * file kept beside each copy and the <SNAPSHOT> elements of the catalog and
 * of the pending-set journal (lib/schema/state.rng, vss-catalog(5)).
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "vss-private.h"
#include "schema.h"
#include "xml-attr.h"
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
	free(snap->exposed_loop);
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

/* Indexed by enum vss_snapshot_state: the names tools print (the documents use status_words). */
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
 * diskshadow's words for the contexts a requester asks for ("set context
 * persistent", "volatile", "clientaccessible", reference §2.3.2), and the
 * names above, without case; "-" and "_" are ignored.
 */
VSS_EXPORT int vss_snapshot_context_parse(const char *word, int32_t *ret)
{
	static const struct {
		const char *word;
		int32_t context;
	} words[] = {
		{ "persistent", VSS_CTX_APP_ROLLBACK },
		{ "volatile", VSS_CTX_BACKUP },
		{ "clientaccessible", VSS_CTX_CLIENT_ACCESSIBLE },
		{ "backup", VSS_CTX_BACKUP },
		{ "filesharebackup", VSS_CTX_FILE_SHARE_BACKUP },
		{ "datavolumerollback", VSS_CTX_NAS_ROLLBACK },
		{ "nasrollback", VSS_CTX_NAS_ROLLBACK },
		{ "applicationrollback", VSS_CTX_APP_ROLLBACK },
		{ "approllback", VSS_CTX_APP_ROLLBACK },
		{ "clientaccessiblewriters", VSS_CTX_CLIENT_ACCESSIBLE_WRITERS },
	};
	char bare[64];
	size_t n = 0;

	for (const char *p = word; p && *p; p++) {
		if (*p == '-' || *p == '_')
			continue;
		if (n + 1 >= sizeof(bare))
			break;
		bare[n++] = *p;
	}
	bare[n] = '\0';
	for (size_t i = 0; word && i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(bare, words[i].word) == 0) {
			*ret = words[i].context;
			return 0;
		}
	return vss__error(-EINVAL,
			  "unknown context '%s' (persistent, volatile, clientaccessible, or a context name such as FileShareBackup)",
			  word ? word : "");
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

/* ---- XML ------------------------------------------------------------------ */

/*
 * The three documents (vss-catalog(5), lib/schema/state.rng) follow the
 * naming of the VSS metadata documents (reference §5): UPPER_SNAKE
 * elements, lowerCamel attributes, decimal numbers, GUIDs in lower case
 * without braces.  A copy is one <SNAPSHOT> element whose attributes are
 * the fields of VSS_SNAPSHOT_PROP, then ours; the properties file is a lone
 * <SNAPSHOT>, the catalog and the pending-set journal hold a list of them.
 * Every root carries the namespace and version="1".
 */
#define DOC_VERSION "1"
#define SNAPSHOT_ELEMENT "SNAPSHOT"

/* VSS_SNAPSHOT_STATE by its VSS_SS_ name without the prefix. */
static const struct vss__enum_word status_words[] = {
	{ VSS_SS_UNKNOWN, "UNKNOWN" },
	{ VSS_SS_PREPARING, "PREPARING" },
	{ VSS_SS_PROCESSING_PREPARE, "PROCESSING_PREPARE" },
	{ VSS_SS_PREPARED, "PREPARED" },
	{ VSS_SS_PROCESSING_PRECOMMIT, "PROCESSING_PRECOMMIT" },
	{ VSS_SS_PRECOMMITTED, "PRECOMMITTED" },
	{ VSS_SS_PROCESSING_COMMIT, "PROCESSING_COMMIT" },
	{ VSS_SS_COMMITTED, "COMMITTED" },
	{ VSS_SS_PROCESSING_POSTCOMMIT, "PROCESSING_POSTCOMMIT" },
	{ VSS_SS_PROCESSING_PREFINALCOMMIT, "PROCESSING_PREFINALCOMMIT" },
	{ VSS_SS_PREFINALCOMMITTED, "PREFINALCOMMITTED" },
	{ VSS_SS_PROCESSING_POSTFINALCOMMIT, "PROCESSING_POSTFINALCOMMIT" },
	{ VSS_SS_CREATED, "CREATED" },
	{ VSS_SS_ABORTED, "ABORTED" },
	{ VSS_SS_DELETED, "DELETED" },
	{ VSS_SS_POSTCOMMITTED, "POSTCOMMITTED" },
	{ 0, NULL },
};

/*
 * The string fields, in document order: those of VSS_SNAPSHOT_PROP first
 * (providerId, the attributes and the times fall between them and ours, see
 * snapshot_fill), then ours.
 */
static const struct {
	const char *name;
	size_t offset;
} prop_strings[] = {
	{ "snapshotDeviceObject", offsetof(struct vss_snapshot, device) },
	{ "originalVolumeName", offsetof(struct vss_snapshot, original_volume) },
	{ "originatingMachine", offsetof(struct vss_snapshot, originating_machine) },
	{ "serviceMachine", offsetof(struct vss_snapshot, service_machine) },
	{ "exposedName", offsetof(struct vss_snapshot, exposed_name) },
	{ "exposedPath", offsetof(struct vss_snapshot, exposed_path) },
}, our_strings[] = {
	{ "providerName", offsetof(struct vss_snapshot, provider_name) },
	{ "originalDevice", offsetof(struct vss_snapshot, original_device) },
	{ "originalUuid", offsetof(struct vss_snapshot, original_uuid) },
	{ "originalFsroot", offsetof(struct vss_snapshot, original_fsroot) },
	{ "originalFstype", offsetof(struct vss_snapshot, original_fstype) },
	{ "store", offsetof(struct vss_snapshot, store) },
	{ "origin", offsetof(struct vss_snapshot, origin) },
	{ "exposedLoop", offsetof(struct vss_snapshot, exposed_loop) },
};

#define N_PROP_STRINGS (sizeof(prop_strings) / sizeof(prop_strings[0]))
#define N_OUR_STRINGS (sizeof(our_strings) / sizeof(our_strings[0]))

/* For people reading the file; written from the numbers, ignored on read. */
#define ATTR_NAMES_TEXT "snapshotAttributesText"
#define CREATION_TEXT   "creationTimestampText"
#define CONTEXT_TEXT    "snapshotContextText"

/* Every attribute a <SNAPSHOT> may carry, to refuse others by name. */
static const char *const snapshot_attributes[] = {
	"snapshotId", "snapshotSetId", "snapshotsCount", "snapshotDeviceObject",
	"originalVolumeName", "originatingMachine", "serviceMachine", "exposedName",
	"exposedPath", "providerId", "snapshotAttributes", ATTR_NAMES_TEXT,
	"creationTimestamp", CREATION_TEXT, "status", "snapshotContext", CONTEXT_TEXT,
	"providerName", "originalDevice", "originalUuid", "originalFsroot", "originalFstype",
	"store", "origin", "exposedLoop", "holdNs", "ownerPid", "ownerStart", "subvolumeId",
};

static char **string_at(struct vss_snapshot *snap, size_t offset)
{
	return (char **)((char *)snap + offset);
}

static const char *string_get(const struct vss_snapshot *snap, size_t offset)
{
	return *(char *const *)((const char *)snap + offset);
}

static int node_line(xmlNodePtr node)
{
	long l = xmlGetLineNo(node);

	return l > 0 && l < 0x7fffffff ? (int)l : 0;
}

static bool in_our_ns(xmlNodePtr node)
{
	return node->ns && xmlStrEqual(node->ns->href, X(VSS__XML_NS));
}

/* ---- XML: writing --------------------------------------------------------- */

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

/* Errors of the vss__xml_set_* writers are bare codes: name them here. */
static int set_done(int rc)
{
	return rc < 0 ? vss__error(rc, "out of memory building XML") : 0;
}

/* A string attribute, left out when NULL ("" is a value and is kept). */
static int set_text(xmlNodePtr node, const char *name, const char *value)
{
	if (!value)
		return 0;
	if (!xml_text_ok(value))
		return vss__error(-EINVAL, "cannot record %s '%s': not valid UTF-8 text", name, value);
	return set_done(vss__xml_set_str(node, name, value));
}

static int set_i64(xmlNodePtr node, const char *name, int64_t value)
{
	char text[24];

	snprintf(text, sizeof(text), "%" PRId64, value);
	return set_done(vss__xml_set_str(node, name, text));
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

/*
 * The attributes of snap on node, always in the same order (that order is
 * what makes saving canonical); optional ones are left out when unset.
 */
static int snapshot_fill(const struct vss_snapshot *snap, xmlNodePtr node)
{
	char buf[64];
	char *words = NULL;
	int rc;

	rc = set_done(vss__xml_set_guid(node, "snapshotId", &snap->id));
	if (rc == 0)
		rc = set_done(vss__xml_set_guid(node, "snapshotSetId", &snap->set_id));
	if (rc == 0)
		rc = set_done(vss__xml_set_u64(node, "snapshotsCount", snap->count));
	for (size_t i = 0; rc == 0 && i < N_PROP_STRINGS; i++)
		rc = set_text(node, prop_strings[i].name, string_get(snap, prop_strings[i].offset));
	if (rc == 0 && !vss_guid_is_null(&snap->provider_id))
		rc = set_done(vss__xml_set_guid(node, "providerId", &snap->provider_id));
	if (rc == 0)
		rc = set_done(vss__xml_set_u64(node, "snapshotAttributes", snap->attributes));
	if (rc == 0 && snap->attributes) {
		rc = vss_snapshot_attributes_format(snap->attributes, &words);
		if (rc == 0)
			rc = set_text(node, ATTR_NAMES_TEXT, words);
	}
	if (rc == 0 && snap->creation_time) {
		rc = set_i64(node, "creationTimestamp", snap->creation_time);
		format_utc(snap->creation_time, buf, sizeof(buf));
		if (rc == 0)
			rc = set_text(node, CREATION_TEXT, buf);
	}
	if (rc < 0)
		goto out;
	if (!vss__enum_word(status_words, (int)snap->state)) {
		rc = vss__error(-EINVAL, "cannot record shadow copy state %d: no such state",
				(int)snap->state);
		goto out;
	}
	rc = set_done(vss__xml_set_enum(node, "status", status_words, (int)snap->state));
	/* The bits of the LONG, as VSS keeps them: 0x10 is 16, 0xffffffff 4294967295. */
	if (rc == 0)
		rc = set_done(vss__xml_set_u64(node, "snapshotContext", (uint32_t)snap->context));
	if (rc == 0)
		rc = set_text(node, CONTEXT_TEXT, vss_snapshot_context_name(snap->context));
	for (size_t i = 0; rc == 0 && i < N_OUR_STRINGS; i++)
		rc = set_text(node, our_strings[i].name, string_get(snap, our_strings[i].offset));
	if (rc == 0 && snap->hold_ns)
		rc = set_done(vss__xml_set_u64(node, "holdNs", snap->hold_ns));
	if (rc == 0 && snap->owner_pid > 0) {
		rc = set_done(vss__xml_set_u64(node, "ownerPid", (uint64_t)snap->owner_pid));
		if (rc == 0 && snap->owner_start)
			rc = set_done(vss__xml_set_u64(node, "ownerStart", snap->owner_start));
	}
	if (rc == 0 && snap->subvolume_id)
		rc = set_done(vss__xml_set_u64(node, "subvolumeId", snap->subvolume_id));
out:
	free(words);
	return rc;
}

/* Append the <SNAPSHOT> element for snap under parent. */
static int snapshot_to_node(const struct vss_snapshot *snap, xmlNodePtr parent)
{
	xmlNsPtr ns;
	xmlNodePtr node;
	int rc;

	ns = xmlSearchNsByHref(parent->doc, parent, X(VSS__XML_NS));
	node = xmlNewChild(parent, ns, X(SNAPSHOT_ELEMENT), NULL);
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

/* A document whose root is <root_name xmlns=VSS__XML_NS version="1">. */
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
	if (vss__xml_set_str(root, "version", DOC_VERSION) < 0)
		goto nomem;
	*ret_doc = doc;
	*ret_root = root;
	return 0;
nomem:
	xmlFreeDoc(doc);
	return vss__error(-ENOMEM, "out of memory building XML");
}

VSS_EXPORT int vss_snapshot_to_xml(const struct vss_snapshot *snap, char **ret)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	int rc;

	rc = doc_new(SNAPSHOT_ELEMENT, &doc, &root);
	if (rc < 0)
		goto out;
	rc = snapshot_fill(snap, root);
	if (rc < 0)
		goto out;
	rc = vss__xml_save(doc, ret, NULL);
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
		if (!attrs[i + 1] || strcmp(attrs[i], "version") == 0) {
			rc = vss__error(-EINVAL, "attribute '%s' of <%s> has no value or is reserved",
					attrs[i], root_name);
			goto out;
		}
		rc = set_text(root, attrs[i], attrs[i + 1]);
		if (rc < 0)
			goto out;
	}
	for (size_t i = 0; list && i < vss_snapshot_list_count(list); i++) {
		rc = snapshot_to_node(vss_snapshot_list_get(list, i), root);
		if (rc < 0)
			goto out;
	}
	rc = vss__xml_save(doc, ret, ret_len);
out:
	xmlFreeDoc(doc);
	return rc;
}

/* ---- XML: reading --------------------------------------------------------- */

/* A signed decimal attribute (no typed reader has a sign). */
static int get_i64(xmlNodePtr node, const char *name, const char *file, int64_t *ret)
{
	char *text = NULL;
	int64_t n;
	int rc;

	rc = vss__xml_get_str(node, name, false, file, &text);
	if (rc < 0 || !text)
		goto out;
	if (parse_i64(text, &n) < 0)
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
				    "<%s> attribute '%s': '%s' is not a decimal number",
				    (const char *)node->name, name, text);
	else
		*ret = n;
out:
	free(text);
	return rc;
}

/* Refuse attributes a <SNAPSHOT> cannot have, by name. */
static int check_attributes(xmlNodePtr node, bool is_root, const char *file)
{
	for (xmlAttrPtr a = node->properties; a; a = a->next) {
		const char *name = (const char *)a->name;
		bool known = !a->ns && is_root && strcmp(name, "version") == 0;

		for (size_t i = 0; !known && i < sizeof(snapshot_attributes) / sizeof(char *); i++)
			known = !a->ns && strcmp(name, snapshot_attributes[i]) == 0;
		if (!known)
			return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
					      "<%s> has an unknown attribute '%s%s%s'",
					      (const char *)node->name,
					      a->ns && a->ns->prefix ? (const char *)a->ns->prefix : "",
					      a->ns && a->ns->prefix ? ":" : "", name);
	}
	return 0;
}

/* A <SNAPSHOT> is all attributes: no text, no child elements. */
static int check_empty(xmlNodePtr node, const char *file)
{
	for (xmlNodePtr c = node->children; c; c = c->next) {
		if (c->type == XML_COMMENT_NODE || c->type == XML_PI_NODE || xmlIsBlankNode(c))
			continue;
		if (c->type == XML_ELEMENT_NODE)
			return vss__xml_unexpected(c, file);
		/* A text node's line is where it ends: the element's says more. */
		return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
				      "text is not allowed inside <%s>", (const char *)node->name);
	}
	return 0;
}

static int snapshot_read(struct vss_snapshot *snap, xmlNodePtr node, const char *file)
{
	uint32_t u32 = 0;
	int status = VSS_SS_UNKNOWN;
	int rc;

	rc = vss__xml_get_guid(node, "snapshotId", true, file, &snap->id);
	if (rc == 0)
		rc = vss__xml_get_guid(node, "snapshotSetId", true, file, &snap->set_id);
	if (rc == 0)
		rc = vss__xml_get_u32(node, "snapshotsCount", true, file, &u32);
	snap->count = u32;
	for (size_t i = 0; rc == 0 && i < N_PROP_STRINGS; i++)
		rc = vss__xml_get_str(node, prop_strings[i].name, false, file,
				      string_at(snap, prop_strings[i].offset));
	if (rc == 0)
		rc = vss__xml_get_guid(node, "providerId", false, file, &snap->provider_id);
	/* The *Text attributes are for people; the numbers are the truth. */
	if (rc == 0)
		rc = vss__xml_get_u32(node, "snapshotAttributes", true, file, &snap->attributes);
	if (rc == 0)
		rc = get_i64(node, "creationTimestamp", file, &snap->creation_time);
	if (rc == 0)
		rc = vss__xml_get_enum(node, "status", true, file, status_words, &status);
	snap->state = (enum vss_snapshot_state)status;
	u32 = 0;
	if (rc == 0)
		rc = vss__xml_get_u32(node, "snapshotContext", true, file, &u32);
	snap->context = (int32_t)u32;
	for (size_t i = 0; rc == 0 && i < N_OUR_STRINGS; i++)
		rc = vss__xml_get_str(node, our_strings[i].name, false, file,
				      string_at(snap, our_strings[i].offset));
	if (rc == 0)
		rc = vss__xml_get_u64(node, "holdNs", false, file, &snap->hold_ns);
	u32 = 0;
	if (rc == 0)
		rc = vss__xml_get_u32(node, "ownerPid", false, file, &u32);
	if (rc == 0 && vss__xml_has_attr(node, "ownerPid") && (u32 == 0 || u32 > 0x7fffffff))
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
				    "<%s> attribute 'ownerPid': '%u' is not a process ID",
				    (const char *)node->name, u32);
	snap->owner_pid = (pid_t)u32;
	if (rc == 0 && vss__xml_has_attr(node, "ownerStart") && !snap->owner_pid)
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
				    "<%s> attribute 'ownerStart' is given without 'ownerPid'",
				    (const char *)node->name);
	if (rc == 0)
		rc = vss__xml_get_u64(node, "ownerStart", false, file, &snap->owner_start);
	if (rc == 0)
		rc = vss__xml_get_u64(node, "subvolumeId", false, file, &snap->subvolume_id);
	return rc;
}

/*
 * check_names: refuse unknown attributes by name.  The schema refuses them
 * too; a document it passed needs no second look, which matters for a
 * catalog of thousands of copies read by every command.
 */
static int snapshot_parse(xmlNodePtr node, const char *file, bool check_names,
			  struct vss_snapshot **ret)
{
	struct vss_snapshot *snap = NULL;
	bool is_root;
	int rc;

	if (node->type != XML_ELEMENT_NODE || !in_our_ns(node) ||
	    !xmlStrEqual(node->name, X(SNAPSHOT_ELEMENT))) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(node), 0,
				    "expected <%s xmlns=\"%s\">, found <%s>", SNAPSHOT_ELEMENT,
				    VSS__XML_NS, node->name ? (const char *)node->name : "?");
		goto out;
	}
	is_root = node->parent && node->parent->type == XML_DOCUMENT_NODE;
	rc = check_names ? check_attributes(node, is_root, file) : 0;
	if (rc == 0)
		rc = check_empty(node, file);
	if (rc < 0)
		goto out;
	snap = vss__snapshot_new();
	if (!snap) {
		rc = vss__error(-ENOMEM, "out of memory reading XML");
		goto out;
	}
	rc = snapshot_read(snap, node, file);
	if (rc < 0)
		goto out;
	*ret = snap;
	snap = NULL;
out:
	vss_snapshot_unref(snap);
	return rc;
}

/*
 * A schema violation, kept while the document is read anyway: where the
 * reader finds something wrong too, its message is the more precise one
 * ("<SNAPSHOT> lacks its 'status' attribute" rather than libxml2's
 * "Element SNAPSHOT failed to validate attributes"); otherwise the
 * schema's stands.
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

/* Parse, check the root element and its version, validate against the schema. */
static int doc_read(const char *xml, size_t len, const char *file, const char *root_name,
		    xmlDocPtr *ret, struct schema_verdict *verdict)
{
	xmlDocPtr doc = NULL;
	xmlNodePtr root;
	char *version = NULL;
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
	rc = vss__xml_get_str(root, "version", true, file, &version);
	if (rc < 0)
		goto out;
	if (strcmp(version, DOC_VERSION) != 0) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, node_line(root), 0,
				    "<%s> attribute 'version': '%s' is not supported (only %s is)",
				    root_name, version, DOC_VERSION);
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
	free(version);
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
	rc = doc_read(xml, len, filename, SNAPSHOT_ELEMENT, &doc, &verdict);
	if (rc < 0)
		goto out;
	rc = snapshot_parse(xmlDocGetRootElement(doc), filename, verdict.code != 0, &snap);
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

/*
 * The attributes of the pending-set journal's root, typed (the schema only
 * says they are there); a catalog has none.
 */
static int root_check(xmlNodePtr root, const char *file)
{
	bool journal = xmlStrEqual(root->name, X("PENDING_SET"));
	struct vss_guid g;
	uint64_t n;
	int rc;

	rc = vss__xml_get_guid(root, "snapshotSetId", journal, file, &g);
	if (rc == 0)
		rc = vss__xml_get_u64(root, "creatorPid", journal, file, &n);
	if (rc == 0)
		rc = vss__xml_get_u64(root, "creatorStart", journal, file, &n);
	return rc;
}

/* The root's attributes but version, as name, value, ..., NULL. */
static int root_attrs(xmlNodePtr root, char ***ret)
{
	struct strv v = STRV_INIT;
	int rc = 0;

	for (xmlAttrPtr a = root->properties; a; a = a->next) {
		xmlChar *value;

		if (!a->ns && xmlStrEqual(a->name, X("version")))
			continue;
		value = xmlNodeListGetString(root->doc, a->children, 1);
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

struct id_at {
	const struct vss_guid *id;
	size_t pos;
};

static int compare_id_at(const void *a, const void *b)
{
	const struct id_at *x = a, *y = b;
	int c = memcmp(x->id->bytes, y->id->bytes, sizeof(x->id->bytes));

	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/*
 * A copy listed twice is refused at its second appearance.  Sorting finds
 * repeats in n log n: a catalog of 10,000 copies is read by every command.
 */
static int check_duplicates(xmlNodePtr root, const struct vss_snapshot_list *list,
			    const char *file)
{
	size_t n = vss_snapshot_list_count(list), first = SIZE_MAX, i;
	char guid[VSS_GUID_STRING_MAX];
	struct id_at *v;
	xmlNodePtr c;

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return vss__error(-ENOMEM, "out of memory reading XML");
	for (i = 0; i < n; i++) {
		v[i].id = &vss_snapshot_list_get(list, i)->id;
		v[i].pos = i;
	}
	qsort(v, n, sizeof(*v), compare_id_at);
	for (i = 1; i < n; i++)
		if (vss_guid_equal(v[i - 1].id, v[i].id) && v[i].pos < first)
			first = v[i].pos;
	free(v);
	if (first == SIZE_MAX)
		return 0;
	/* The list holds the element children of root, in order. */
	i = 0;
	for (c = root->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && i++ == first)
			break;
	return vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, c ? node_line(c) : 0, 0,
			      "shadow copy %s is listed twice",
			      vss_guid_format(&vss_snapshot_list_get(list, first)->id,
					      VSS_GUID_BRACES, guid));
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
	rc = root_check(root, file);
	if (rc < 0)
		goto out;
	list = vss__snapshot_list_new();
	if (!list) {
		rc = vss__error(-ENOMEM, "out of memory reading XML");
		goto out;
	}
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		rc = snapshot_parse(c, file, verdict.code != 0, &snap);
		if (rc < 0)
			goto out;
		rc = vss__snapshot_list_append(list, snap);
		if (rc < 0)
			goto out;
		snap = vss_snapshot_unref(snap);
	}
	rc = check_duplicates(root, list, file);
	if (rc < 0)
		goto out;
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
