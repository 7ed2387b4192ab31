/*
 * XML plumbing shared by every document reader: safe parsing, capture of
 * libxml2's messages (the library never lets libxml2 print), and RELAX NG
 * validation against the schemas compiled in from the lib/schema directory.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "vss-private.h"
#include "schema.h"
#include "util/file.h"
#include "util/banned.h"

static pthread_once_t xml_init_once = PTHREAD_ONCE_INIT;

/* libxml2 wants its global state set up once, from one thread. */
static void xml_init(void)
{
	xmlInitParser();
}

static void errors_record(struct vss__xml_errors *e, const char *msg, int line, int column)
{
	size_t n;

	if (e->seen)
		return;
	e->seen = true;
	e->line = line > 0 ? line : 0;
	e->column = column > 0 ? column : 0;
	snprintf(e->message, sizeof(e->message), "%s", msg ? msg : "unknown XML error");
	n = strlen(e->message);
	while (n > 0 && isspace((unsigned char)e->message[n - 1]))
		e->message[--n] = '\0';
	/* libxml2 capitalises its sentences; ours are lower case.  Leave
	 * acronyms ("XML declaration...") alone. */
	if (isupper((unsigned char)e->message[0]) && islower((unsigned char)e->message[1]))
		e->message[0] = (char)tolower((unsigned char)e->message[0]);
}

static void errors_structured(void *data, xmlErrorPtr err)
{
	struct vss__xml_errors *e = data;
	int line;

	if (!e || !err || err->level < XML_ERR_ERROR)
		return;
	line = err->line;
	/* Validity errors carry the node rather than a line. */
	if (line <= 0 && err->node)
		line = (int)xmlGetLineNo((xmlNodePtr)err->node);
	errors_record(e, err->message, line, err->domain == XML_FROM_PARSER ? err->int2 : 0);
}

/* The innermost capture of this thread. */
static _Thread_local struct vss__xml_errors *active;

/*
 * A few corners of libxml2 still call the generic handler directly.  Its
 * text arrives in pieces with no position; keep the first piece if nothing
 * better came.  Some callers pass their own context rather than ours as the
 * first argument, so it is not trusted.
 */
static void errors_generic(void *data, const char *fmt, ...)
{
	struct vss__xml_errors *e = active;
	char buf[256];
	va_list ap;

	(void)data;
	if (!e || e->seen)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	errors_record(e, buf, 0, 0);
}

void vss__xml_errors_begin(struct vss__xml_errors *e)
{
	pthread_once(&xml_init_once, xml_init);
	memset(e, 0, sizeof(*e));
	/* These are per thread in libxml2, so other threads are unaffected. */
	e->old_structured = xmlStructuredError;
	e->old_structured_ctx = xmlStructuredErrorContext;
	e->old_generic = xmlGenericError;
	e->old_generic_ctx = xmlGenericErrorContext;
	e->outer = active;
	active = e;
	xmlSetStructuredErrorFunc(e, errors_structured);
	xmlSetGenericErrorFunc(e, errors_generic);
}

void vss__xml_errors_end(struct vss__xml_errors *e)
{
	xmlSetStructuredErrorFunc(e->old_structured_ctx, e->old_structured);
	xmlSetGenericErrorFunc(e->old_generic_ctx, e->old_generic);
	active = e->outer;
}

int vss__xml_error(int code, const char *file, int line, int column, const char *fmt, ...)
{
	char what[768], where[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (file && column > 0)
		snprintf(where, sizeof(where), "%s:%d:%d", file, line, column);
	else if (file)
		snprintf(where, sizeof(where), "%s:%d", file, line);
	else
		snprintf(where, sizeof(where), "line %d", line);
	return vss__error_at(code, file, line, column, "%s: %s", where, what);
}

int vss__xml_read_file(const char *path, const char *what, char **ret, size_t *ret_len)
{
	struct stat st;
	int rc;

	if (!path)
		return vss__error(-EINVAL, "no file name given for the %s", what);
	/* Refuse a huge file before reading it all into memory. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size > VSS__XML_MAX_SIZE)
		return vss__xml_error(-VSS_E_CORRUPT_XML_DOCUMENT, path, 0, 0,
				      "document too large (%lld bytes, the limit is %zu MiB)",
				      (long long)st.st_size, VSS__XML_MAX_SIZE >> 20);
	rc = file_read_all(path, ret, ret_len);
	if (rc < 0)
		return vss__error(rc, "cannot read %s '%s': %s", what, path, strerror(-rc));
	return 0;
}

int vss__xml_parse(const char *xml, size_t len, const char *file, xmlDocPtr *ret)
{
	struct vss__xml_errors e;
	xmlDocPtr doc = NULL;
	int rc = 0;

	if (len > VSS__XML_MAX_SIZE) {
		rc = vss__xml_error(-VSS_E_CORRUPT_XML_DOCUMENT, file, 0, 0,
				    "document too large (%zu bytes, the limit is %zu MiB)", len,
				    VSS__XML_MAX_SIZE >> 20);
		goto out;
	}
	if (len == 0) {
		rc = vss__xml_error(-VSS_E_CORRUPT_XML_DOCUMENT, file, 1, 1, "document is empty");
		goto out;
	}
	vss__xml_errors_begin(&e);
	/*
	 * No XML_PARSE_NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR,
	 * no XINCLUDE: nothing outside the buffer is ever read.  The URL is
	 * not passed so that nothing resolves relative to the file.
	 */
	doc = xmlReadMemory(xml, (int)len, NULL, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA |
				    XML_PARSE_BIG_LINES);
	vss__xml_errors_end(&e);
	if (!doc || e.seen) {
		rc = vss__xml_error(-VSS_E_CORRUPT_XML_DOCUMENT, file, e.line, e.column, "%s",
				    e.seen ? e.message : "not an XML document");
		goto out;
	}
	/* Our documents have no DOCTYPE; refusing it keeps entity tricks out. */
	if (doc->intSubset || doc->extSubset) {
		/* libxml2 keeps no line for the DTD node: find it in the text. */
		const char *at = memmem(xml, len, "<!DOCTYPE", 9);
		int line = 1;

		for (const char *p = xml; at && p < at; p++)
			line += *p == '\n';
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, at ? line : 0, 0,
				    "a DOCTYPE declaration is not allowed");
		goto out;
	}
	if (!xmlDocGetRootElement(doc)) {
		rc = vss__xml_error(-VSS_E_CORRUPT_XML_DOCUMENT, file, 1, 1, "no root element");
		goto out;
	}
	*ret = doc;
	doc = NULL;
out:
	xmlFreeDoc(doc);
	return rc;
}

/*
 * Compiled schemas, parsed on first use and kept for the life of the
 * process.  The mutex makes lookup and compilation thread-safe; a compiled
 * xmlRelaxNG is only read by validation, so threads share it, each with its
 * own validation context.
 */
#define SCHEMA_CACHE_MAX 16

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *name;
	xmlRelaxNGPtr rng;
} cache[SCHEMA_CACHE_MAX];

static int schema_get(const char *name, xmlRelaxNGPtr *ret)
{
	const struct vss__schema *s = NULL;
	xmlRelaxNGParserCtxtPtr pctxt = NULL;
	struct vss__xml_errors e;
	xmlRelaxNGPtr rng = NULL;
	size_t i;
	int rc = 0;

	pthread_mutex_lock(&cache_lock);
	for (i = 0; i < SCHEMA_CACHE_MAX && cache[i].name; i++) {
		if (strcmp(cache[i].name, name) == 0) {
			*ret = cache[i].rng;
			goto out;
		}
	}
	if (i == SCHEMA_CACHE_MAX) {
		rc = vss__error(-VSS_E_UNEXPECTED, "too many schemas for the cache (raise SCHEMA_CACHE_MAX)");
		goto out;
	}
	for (const struct vss__schema *p = vss__schemas; p->name; p++) {
		if (strcmp(p->name, name) == 0) {
			s = p;
			break;
		}
	}
	if (!s) {
		rc = vss__error(-VSS_E_UNEXPECTED, "no built-in schema named '%s'", name);
		goto out;
	}
	if (s->len > INT_MAX) {
		rc = vss__error(-VSS_E_UNEXPECTED, "built-in schema '%s' is too large", name);
		goto out;
	}
	vss__xml_errors_begin(&e);
	pctxt = xmlRelaxNGNewMemParserCtxt(s->text, (int)s->len);
	if (pctxt) {
		xmlRelaxNGSetParserStructuredErrors(pctxt, errors_structured, &e);
		rng = xmlRelaxNGParse(pctxt);
		xmlRelaxNGFreeParserCtxt(pctxt);
	}
	vss__xml_errors_end(&e);
	if (!pctxt) {
		rc = vss__error(-ENOMEM, "out of memory compiling schema '%s'", name);
		goto out;
	}
	if (!rng) {
		/* A bug of ours, not of the document being read. */
		rc = vss__error(-VSS_E_UNEXPECTED, "built-in schema '%s' does not compile: %s", name,
				e.seen ? e.message : "unknown error");
		goto out;
	}
	cache[i].name = s->name;
	cache[i].rng = rng;
	*ret = rng;
out:
	pthread_mutex_unlock(&cache_lock);
	return rc;
}

int vss__schema_validate(xmlDocPtr doc, const char *schema, const char *file)
{
	xmlRelaxNGValidCtxtPtr vctxt = NULL;
	struct vss__xml_errors e;
	xmlRelaxNGPtr rng = NULL;
	int rc, r;

	rc = schema_get(schema, &rng);
	if (rc < 0)
		goto out;
	vctxt = xmlRelaxNGNewValidCtxt(rng);
	if (!vctxt) {
		rc = vss__error(-ENOMEM, "out of memory validating against schema '%s'", schema);
		goto out;
	}
	vss__xml_errors_begin(&e);
	xmlRelaxNGSetValidStructuredErrors(vctxt, errors_structured, &e);
	r = xmlRelaxNGValidateDoc(vctxt, doc);
	vss__xml_errors_end(&e);
	if (r != 0) {
		rc = vss__xml_error(-VSS_E_INVALID_XML_DOCUMENT, file, e.line, 0, "%s",
				    e.seen ? e.message : "document does not match its schema");
		goto out;
	}
out:
	xmlRelaxNGFreeValidCtxt(vctxt);
	return rc;
}
