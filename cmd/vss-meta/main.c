/*
 * vss-meta — show what Writer Metadata Documents and Backup Components
 * Documents hold: their writers, components and file sets, as a table or
 * JSON.  Reads documents only; needs no privileges and no context.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libsmartcols.h>

#include <vss.h>
#include <vss/bcd.h>
#include <vss/wmd.h>

#include "../common/tool.h"
#include "util/sbuf.h"
#include "util/file.h"
#include "util/banned.h"

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

/*
 * The libraries refuse documents over 256 MiB; one byte more is enough for
 * them to say so, and bounds what a stray device or pipe makes us read.
 */
#define READ_MAX ((size_t)256 * 1024 * 1024 + 1)

/* How far into a document the root element is looked for. */
#define SNIFF_MAX ((size_t)64 * 1024)

static const struct option longopts[] = {
	{ "writers",    no_argument,       NULL, 'w' },
	{ "files",      no_argument,       NULL, 'f' },
	{ "json",       no_argument,       NULL, 'J' },
	{ "output",     required_argument, NULL, 'o' },
	{ "noheadings", no_argument,       NULL, 'n' },
	{ "raw",        no_argument,       NULL, 'r' },
	{ "help",       no_argument,       NULL, 'h' },
	{ "version",    no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* ---- columns -------------------------------------------------------------- */

enum view {
	VIEW_COMPONENTS,
	VIEW_WRITERS,
	VIEW_FILES,
	VIEW__MAX
};

static const char *const view_table_name[VIEW__MAX] = {
	[VIEW_COMPONENTS] = "components",
	[VIEW_WRITERS]    = "writers",
	[VIEW_FILES]      = "files",
};

/* Every column of every view; each view shows a subset (view_columns). */
enum column {
	COL_DOCUMENT,
	COL_SET,
	COL_BACKUP_TYPE,
	COL_WRITER,
	COL_WRITER_ID,
	COL_INSTANCE_ID,
	COL_INSTANCE_NAME,
	COL_USAGE,
	COL_SOURCE,
	COL_VERSION,
	COL_BACKUP_SCHEMA,
	COL_RESTORE_METHOD,
	COL_WRITER_RESTORE,
	COL_REBOOT,
	COL_COMPONENTS,
	COL_COMPONENT,
	COL_TYPE,
	COL_LOGICAL_PATH,
	COL_NAME,
	COL_CAPTION,
	COL_FILES,
	COL_SELECTABLE,
	COL_SELECTABLE_FOR_RESTORE,
	COL_NOTIFY,
	COL_FLAGS,
	COL_DEPENDENCIES,
	COL_STAMP,
	COL_PREVIOUS_STAMP,
	COL_SUCCEEDED,
	COL_SELECTED_FOR_RESTORE,
	COL_RESTORE_TARGET,
	COL_RESTORE_STATUS,
	COL_KIND,
	COL_PATH,
	COL_FILESPEC,
	COL_RECURSIVE,
	COL_ALTERNATE,
	COL_BACKUP_TYPES,
	COL__MAX
};

struct column_def {
	const char *name;    /* header; its lower case is the JSON key */
	int json_type;
	int flags;           /* SCOLS_FL_* */
	const char *help;
};

/*
 * Key names are an interface: add columns, never rename them.  Booleans are
 * "optional" so that a cell that does not apply to a document (SELECTABLE
 * of a backup components document) is null in JSON, not false.
 */
static const struct column_def columns[COL__MAX] = {
	[COL_DOCUMENT]      = { "DOCUMENT", SCOLS_JSON_STRING, 0,
				"the file the row comes from" },
	[COL_SET]           = { "SET", SCOLS_JSON_STRING, 0,
				"shadow copy set ID (BCD)" },
	[COL_BACKUP_TYPE]   = { "BACKUP-TYPE", SCOLS_JSON_STRING, 0,
				"full, incremental, differential, log, copy... (BCD)" },
	[COL_WRITER]        = { "WRITER", SCOLS_JSON_STRING, 0,
				"writer's friendly name (WMD)" },
	[COL_WRITER_ID]     = { "WRITER-ID", SCOLS_JSON_STRING, 0, "writer class ID" },
	[COL_INSTANCE_ID]   = { "INSTANCE-ID", SCOLS_JSON_STRING, 0, "writer instance ID" },
	[COL_INSTANCE_NAME] = { "INSTANCE-NAME", SCOLS_JSON_STRING, 0,
				"writer instance name" },
	[COL_USAGE]         = { "USAGE", SCOLS_JSON_STRING, 0,
				"usage type: USER_DATA, SYSTEM_SERVICE... (WMD)" },
	[COL_SOURCE]        = { "SOURCE", SCOLS_JSON_STRING, 0,
				"data source type: TRANSACTION_DB... (WMD)" },
	[COL_VERSION]       = { "VERSION", SCOLS_JSON_STRING, 0,
				"writer version, major.minor (WMD)" },
	[COL_BACKUP_SCHEMA] = { "BACKUP-SCHEMA", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT,
				"backups the writer supports, VSS_BS_* bits" },
	[COL_RESTORE_METHOD] = { "RESTORE-METHOD", SCOLS_JSON_STRING, 0,
				 "restore method, empty when none (WMD)" },
	[COL_WRITER_RESTORE] = { "WRITER-RESTORE", SCOLS_JSON_STRING, 0,
				 "when the writer takes part in restores (WMD)" },
	[COL_REBOOT]        = { "REBOOT", SCOLS_JSON_BOOLEAN_OPTIONAL, 0,
				"a restore needs a reboot (WMD)" },
	[COL_COMPONENTS]    = { "COMPONENTS", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT,
				"number of components" },
	[COL_COMPONENT]     = { "COMPONENT", SCOLS_JSON_STRING, 0,
				"component name (empty for writer-wide excludes)" },
	[COL_TYPE]          = { "TYPE", SCOLS_JSON_STRING, 0, "filegroup or database" },
	[COL_LOGICAL_PATH]  = { "LOGICAL-PATH", SCOLS_JSON_STRING, 0,
				"component logical path, empty for the root" },
	[COL_NAME]          = { "NAME", SCOLS_JSON_STRING, 0, "component name" },
	[COL_CAPTION]       = { "CAPTION", SCOLS_JSON_STRING, 0, "component caption" },
	[COL_FILES]         = { "FILES", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT,
				"number of file sets (WMD)" },
	[COL_SELECTABLE]    = { "SELECTABLE", SCOLS_JSON_BOOLEAN_OPTIONAL, 0,
				"selectable for backup (WMD)" },
	[COL_SELECTABLE_FOR_RESTORE] = { "SELECTABLE-FOR-RESTORE", SCOLS_JSON_BOOLEAN_OPTIONAL, 0,
					 "selectable for restore (WMD)" },
	[COL_NOTIFY]        = { "NOTIFY", SCOLS_JSON_BOOLEAN_OPTIONAL, 0,
				"notify on backup complete (WMD)" },
	[COL_FLAGS]         = { "FLAGS", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT,
				"component flags, VSS_CF_* bits (WMD)" },
	[COL_DEPENDENCIES]  = { "DEPENDENCIES", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT,
				"number of dependencies (WMD)" },
	[COL_STAMP]         = { "STAMP", SCOLS_JSON_STRING, 0, "backup stamp (BCD)" },
	[COL_PREVIOUS_STAMP] = { "PREVIOUS-STAMP", SCOLS_JSON_STRING, 0,
				 "previous backup stamp (BCD)" },
	[COL_SUCCEEDED]     = { "SUCCEEDED", SCOLS_JSON_BOOLEAN_OPTIONAL, 0,
				"the backup of the component succeeded (BCD)" },
	[COL_SELECTED_FOR_RESTORE] = { "SELECTED-FOR-RESTORE", SCOLS_JSON_BOOLEAN_OPTIONAL, 0,
				       "selected for restore (BCD)" },
	[COL_RESTORE_TARGET] = { "RESTORE-TARGET", SCOLS_JSON_STRING, 0,
				 "restore target: original, alternate... (BCD)" },
	[COL_RESTORE_STATUS] = { "RESTORE-STATUS", SCOLS_JSON_STRING, 0,
				 "file restore status: none, all, failed (BCD)" },
	[COL_KIND]          = { "KIND", SCOLS_JSON_STRING, 0,
				"file, database, log, exclude or exclude-from-snapshot" },
	[COL_PATH]          = { "PATH", SCOLS_JSON_STRING, 0, "directory" },
	[COL_FILESPEC]      = { "FILESPEC", SCOLS_JSON_STRING, 0, "file name pattern" },
	[COL_RECURSIVE]     = { "RECURSIVE", SCOLS_JSON_BOOLEAN_OPTIONAL, 0,
				"subdirectories too" },
	[COL_ALTERNATE]     = { "ALTERNATE", SCOLS_JSON_STRING, 0,
				"where the files are read from during backup" },
	[COL_BACKUP_TYPES]  = { "BACKUP-TYPES", SCOLS_JSON_NUMBER, SCOLS_FL_RIGHT,
				"backup type mask, VSS_FSBT_* bits" },
};

#define END (-1)

/* The columns a view knows, in the order --help lists them. */
static const int view_columns[VIEW__MAX][COL__MAX + 1] = {
	[VIEW_COMPONENTS] = {
		COL_SET, COL_BACKUP_TYPE, COL_WRITER, COL_WRITER_ID, COL_INSTANCE_ID,
		COL_INSTANCE_NAME, COL_TYPE, COL_LOGICAL_PATH, COL_NAME, COL_CAPTION,
		COL_FILES, COL_SELECTABLE, COL_SELECTABLE_FOR_RESTORE, COL_NOTIFY, COL_FLAGS,
		COL_DEPENDENCIES, COL_STAMP, COL_PREVIOUS_STAMP, COL_SUCCEEDED,
		COL_SELECTED_FOR_RESTORE, COL_RESTORE_TARGET, COL_RESTORE_STATUS,
		COL_DOCUMENT, END },
	[VIEW_WRITERS] = {
		COL_SET, COL_WRITER, COL_WRITER_ID, COL_INSTANCE_ID, COL_INSTANCE_NAME,
		COL_USAGE, COL_SOURCE, COL_VERSION, COL_BACKUP_SCHEMA, COL_RESTORE_METHOD,
		COL_WRITER_RESTORE, COL_REBOOT, COL_COMPONENTS, COL_DOCUMENT, END },
	[VIEW_FILES] = {
		COL_WRITER, COL_LOGICAL_PATH, COL_COMPONENT, COL_KIND, COL_PATH, COL_FILESPEC,
		COL_RECURSIVE, COL_ALTERNATE, COL_BACKUP_TYPES, COL_DOCUMENT, END },
};

/* Default columns by view and by what the files are. */
enum mix { MIX_WMD, MIX_BCD, MIX_BOTH, MIX__MAX };

static const int default_columns[VIEW__MAX][MIX__MAX][COL__MAX + 1] = {
	[VIEW_COMPONENTS] = {
		[MIX_WMD] = { COL_WRITER, COL_WRITER_ID, COL_INSTANCE_ID, COL_TYPE,
			      COL_LOGICAL_PATH, COL_NAME, COL_CAPTION, COL_FILES,
			      COL_SELECTABLE, COL_FLAGS, END },
		[MIX_BCD] = { COL_SET, COL_BACKUP_TYPE, COL_WRITER_ID, COL_INSTANCE_ID,
			      COL_TYPE, COL_LOGICAL_PATH, COL_NAME, COL_STAMP, COL_SUCCEEDED,
			      COL_SELECTED_FOR_RESTORE, END },
		[MIX_BOTH] = { COL_SET, COL_BACKUP_TYPE, COL_WRITER, COL_WRITER_ID,
			       COL_INSTANCE_ID, COL_TYPE, COL_LOGICAL_PATH, COL_NAME,
			       COL_CAPTION, COL_FILES, COL_SELECTABLE, COL_FLAGS, COL_STAMP,
			       COL_SUCCEEDED, COL_SELECTED_FOR_RESTORE, END },
	},
	[VIEW_WRITERS] = {
		[MIX_WMD] = { COL_WRITER, COL_WRITER_ID, COL_INSTANCE_ID, COL_INSTANCE_NAME,
			      COL_USAGE, COL_SOURCE, COL_RESTORE_METHOD, COL_COMPONENTS, END },
		[MIX_BCD] = { COL_WRITER_ID, COL_INSTANCE_ID, COL_INSTANCE_NAME,
			      COL_COMPONENTS, END },
		[MIX_BOTH] = { COL_WRITER, COL_WRITER_ID, COL_INSTANCE_ID, COL_INSTANCE_NAME,
			       COL_USAGE, COL_SOURCE, COL_RESTORE_METHOD, COL_COMPONENTS, END },
	},
	[VIEW_FILES] = {
		[MIX_WMD] = { COL_COMPONENT, COL_KIND, COL_PATH, COL_FILESPEC, COL_RECURSIVE,
			      COL_ALTERNATE, END },
		[MIX_BCD] = { END },
		[MIX_BOTH] = { END },
	},
};

/* A column may be asked for twice. */
#define MAX_COLUMNS (2 * COL__MAX)

static void columns_default(enum view v, enum mix m, int *cols, size_t *ncols)
{
	size_t n = 0;

	for (const int *c = default_columns[v][m]; *c != END; c++)
		cols[n++] = *c;
	*ncols = n;
}

static int column_by_name(enum view v, const char *name, size_t len)
{
	for (const int *c = view_columns[v]; *c != END; c++) {
		const char *cn = columns[*c].name;

		if (strlen(cn) == len && strncasecmp(cn, name, len) == 0)
			return *c;
	}
	return -1;
}

struct column_lookup {
	enum view view;
};

/* A column of the view, or a usage error that names the view it is of. */
static int meta_column(const char *name, size_t len, void *userdata)
{
	const struct column_lookup *l = userdata;
	int c = column_by_name(l->view, name, len);

	if (c >= 0)
		return c;
	if (column_by_name(VIEW_COMPONENTS, name, len) >= 0 ||
	    column_by_name(VIEW_WRITERS, name, len) >= 0 ||
	    column_by_name(VIEW_FILES, name, len) >= 0) {
		tool_usage_error("column '%.*s' is not a column of the %s view", (int)len, name,
				 view_table_name[l->view]);
		return TOOL_COLUMN_REPORTED;
	}
	return TOOL_COLUMN_UNKNOWN;
}

/* -o/--output: as vss-list's, against the columns of view v. */
static int columns_parse(enum view v, enum mix m, const char *arg, int *cols, size_t *ncols)
{
	struct column_lookup l = { v };
	int defaults[MAX_COLUMNS];
	size_t ndefaults;

	columns_default(v, m, defaults, &ndefaults);
	return tool_output_parse(arg, defaults, ndefaults, meta_column, &l, cols, ncols,
				 MAX_COLUMNS);
}

static void columns_help(FILE *out, enum view v, const char *title)
{
	fprintf(out, "\n%s:\n", title);
	for (const int *c = view_columns[v]; *c != END; c++) {
		bool w = false, b = false;

		for (const int *d = default_columns[v][MIX_WMD]; *d != END; d++)
			w = w || *d == *c;
		for (const int *d = default_columns[v][MIX_BCD]; *d != END; d++)
			b = b || *d == *c;
		fprintf(out, " %c%c %-22s %s\n", w ? 'W' : ' ', b ? 'B' : ' ', columns[*c].name,
			columns[*c].help);
	}
}

/* ---- usage and options ------------------------------------------------------ */

static int usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] FILE...\n"
	       "\n"
	       "Show the writers, components and file sets of Writer Metadata Documents\n"
	       "(WMD) and Backup Components Documents (BCD).  FILE '-' is standard input.\n"
	       "\n"
	       "Options:\n"
	       " -w, --writers          one row per writer instead of per component\n"
	       " -f, --files            one row per file set of a component, and the\n"
	       "                          writer's exclude lists (WMD only)\n"
	       " -J, --json             use JSON output format\n"
	       " -o, --output COLUMNS   the columns to show; +COLUMNS adds to the default\n"
	       " -n, --noheadings       do not print headings\n"
	       " -r, --raw              use the raw output format\n"
	       "\n"
	       " -h, --help             display this help\n"
	       " -V, --version          display version\n",
	       program_invocation_short_name);
	printf("\nW: a default column for writer metadata documents, B: for backup\n"
	       "components documents; given both kinds, the defaults of both are shown.\n");
	columns_help(stdout, VIEW_COMPONENTS, "Columns of the components (default)");
	columns_help(stdout, VIEW_WRITERS, "Columns of --writers");
	columns_help(stdout, VIEW_FILES, "Columns of --files");
	printf("\nExit status: 0 success, 1 failure, 2 usage error, 3 a FILE does not\n"
	       "exist, 4 a FILE is not a valid document.  See %s(1).\n",
	       program_invocation_short_name);
	return TOOL_EXIT_OK;
}

struct options {
	enum view view;
	const char *output;     /* -o, parsed once the view and the files are known */
	unsigned int table_flags;
	int first_file;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	bool writers = false, files = false;
	int c;

	while ((c = getopt_long(argc, argv, "wfJo:nrhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			writers = true;
			break;
		case 'f':
			files = true;
			break;
		case 'J':
			o->table_flags |= TOOL_TABLE_JSON;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'n':
			o->table_flags |= TOOL_TABLE_NOHEADINGS;
			break;
		case 'r':
			o->table_flags |= TOOL_TABLE_RAW;
			break;
		case 'h':
			usage();
			return STOP;
		case 'V':
			tool_print_version();
			return STOP;
		default:
			return tool_try_help();
		}
	}
	if (writers && files)
		return tool_usage_error("--writers and --files cannot be combined");
	o->view = writers ? VIEW_WRITERS : files ? VIEW_FILES : VIEW_COMPONENTS;
	if (o->output) {
		/* Checked now so that a typo is reported before any file is read. */
		int cols[MAX_COLUMNS];
		size_t ncols;
		int rc = columns_parse(o->view, MIX_WMD, o->output, cols, &ncols);

		if (rc)
			return rc;
	}
	if (optind >= argc)
		return tool_usage_error("no document given");
	o->first_file = optind;
	return 0;
}

/* ---- documents ---------------------------------------------------------------- */

struct doc {
	const char *name;       /* as given; "-" for standard input */
	struct vss_wmd *wmd;    /* one of the two */
	struct vss_bcd *bcd;
};

/* Skip past the first occurrence of end at or after p; NULL when none. */
static const char *skip_past(const char *p, const char *lim, const char *end)
{
	size_t n = strlen(end);

	for (; p + n <= lim; p++)
		if (memcmp(p, end, n) == 0)
			return p + n;
	return NULL;
}

enum doc_kind { KIND_NONE, KIND_WMD, KIND_BCD };

/*
 * Which document this is, by the name of its root element: the first
 * element after the XML declaration, comments, processing instructions and
 * a DOCTYPE (which the loaders then refuse).  Markup in UTF-16 is read by
 * dropping its NUL bytes: only ASCII names matter here, and the loaders do
 * the real decoding.
 */
static enum doc_kind sniff_kind(const char *data, size_t len)
{
	char buf[SNIFF_MAX];
	const char *p, *lim;
	size_t n = 0;

	for (size_t i = 0; i < len && n < sizeof(buf); i++)
		if (data[i] != '\0')
			buf[n++] = data[i];
	p = buf;
	lim = buf + n;
	if (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	else if (n >= 2 && ((unsigned char)p[0] == 0xFF || (unsigned char)p[0] == 0xFE) &&
		 ((unsigned char)p[1] == 0xFF || (unsigned char)p[1] == 0xFE))
		p += 2;
	while (p && p < lim) {
		const char *name;
		size_t nlen;

		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
		} else if (*p != '<') {
			return KIND_NONE;
		} else if (lim - p >= 2 && p[1] == '?') {
			p = skip_past(p + 2, lim, "?>");
		} else if (lim - p >= 4 && memcmp(p, "<!--", 4) == 0) {
			p = skip_past(p + 4, lim, "-->");
		} else if (lim - p >= 2 && p[1] == '!') {
			/* DOCTYPE, perhaps with an internal subset in brackets. */
			const char *gt = memchr(p, '>', (size_t)(lim - p));
			const char *br = memchr(p, '[', (size_t)(lim - p));

			if (br && (!gt || br < gt)) {
				p = skip_past(br, lim, "]");
				if (p)
					p = memchr(p, '>', (size_t)(lim - p));
			} else {
				p = gt;
			}
			if (p)
				p++;
		} else {
			name = ++p;
			while (p < lim && !strchr(" \t\r\n/>", *p))
				p++;
			nlen = (size_t)(p - name);
			/* A prefixed root (<ns:WRITER_METADATA>) is still ours to judge. */
			for (size_t i = nlen; i > 0; i--) {
				if (name[i - 1] == ':') {
					nlen -= i;
					name += i;
					break;
				}
			}
			if (nlen == strlen("WRITER_METADATA") &&
			    memcmp(name, "WRITER_METADATA", nlen) == 0)
				return KIND_WMD;
			if (nlen == strlen("BACKUP_COMPONENTS") &&
			    memcmp(name, "BACKUP_COMPONENTS", nlen) == 0)
				return KIND_BCD;
			return KIND_NONE;
		}
	}
	return KIND_NONE;
}

/* Load one FILE into d.  On failure prints why and returns the exit code. */
static int doc_load(const char *name, struct doc *d)
{
	const bool is_stdin = strcmp(name, "-") == 0;
	const char *shown = is_stdin ? "<stdin>" : name;
	char *data = NULL;
	size_t len = 0;
	int fd = 0, rc;

	d->name = name;
	if (!is_stdin) {
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			rc = -errno;
			if (rc == -ENOENT) {
				tool_warn("cannot open '%s': %s", name, strerror(ENOENT));
				rc = TOOL_EXIT_NOT_FOUND;
			} else {
				rc = tool_fail(rc, "cannot open '%s'", name);
			}
			goto out;
		}
	}
	rc = file_read_fd(fd, READ_MAX, &data, &len);
	if (!is_stdin)
		close(fd);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot read '%s'", shown);
		goto out;
	}
	switch (sniff_kind(data, len)) {
	case KIND_WMD:
		rc = vss_wmd_load(data, len, shown, &d->wmd);
		break;
	case KIND_BCD:
		rc = vss_bcd_load(data, len, shown, &d->bcd);
		break;
	default:
		tool_warn("'%s' is neither a writer metadata document nor a backup components "
			  "document", shown);
		rc = TOOL_EXIT_DOCUMENT;
		goto out;
	}
	if (rc < 0)
		rc = tool_fail(rc, "cannot load '%s'", shown);
out:
	free(data);
	return rc;
}

/* ---- rows ------------------------------------------------------------------ */

/* What one row shows; pointers that do not apply are NULL. */
struct row {
	const struct doc *doc;
	const struct vss_bcd_writer *bw;         /* BCD */
	const struct vss_wmd_component *wc;      /* WMD component */
	const struct vss_bcd_component *bc;      /* BCD component */
	/* --files */
	const char *kind;
	const char *path;
	const char *filespec;
	const char *alternate;
	bool recursive;
	bool has_mask;
	uint32_t mask;
};

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static char *guid_text(const struct vss_guid *g)
{
	char buf[VSS_GUID_STRING_MAX];

	return strdup(g ? tool_guid(g, buf) : "");
}

static char *number_text(uint64_t n)
{
	char *s = NULL;

	if (asprintf(&s, "%" PRIu64, n) < 0)
		return NULL;
	return s;
}

/* "yes"/"no": libsmartcols makes them true/false in JSON. */
static char *bool_text(bool b)
{
	return strdup(b ? "yes" : "no");
}

static size_t wmd_component_files(const struct vss_wmd_component *c)
{
	return vss_wmd_component_file_count(c) + vss_wmd_component_database_file_count(c) +
	       vss_wmd_component_database_log_file_count(c);
}

static const char *type_name(enum vss_component_type t)
{
	switch (t) {
	case VSS_CT_DATABASE:
		return "database";
	case VSS_CT_FILEGROUP:
		return "filegroup";
	default:
		return "";
	}
}

/* The text of one cell, malloc()ed ("" when it does not apply); NULL for no memory. */
static char *cell_text(const struct row *r, int col)
{
	const struct vss_wmd *wmd = r->doc->wmd;
	const struct vss_bcd *bcd = r->doc->bcd;
	char *s = NULL;

	switch (col) {
	case COL_DOCUMENT:
		return strdup(r->doc->name);
	case COL_SET:
		return guid_text(bcd ? vss_bcd_get_snapshot_set_id(bcd) : NULL);
	case COL_BACKUP_TYPE:
		return dup_or_empty(bcd ? vss_backup_type_name(vss_bcd_get_backup_type(bcd)) : NULL);
	case COL_WRITER:
		return dup_or_empty(wmd ? vss_wmd_get_friendly_name(wmd) : NULL);
	case COL_WRITER_ID:
		return guid_text(wmd ? vss_wmd_get_writer_id(wmd) :
				 r->bw ? vss_bcd_writer_get_writer_id(r->bw) : NULL);
	case COL_INSTANCE_ID:
		return guid_text(wmd ? vss_wmd_get_instance_id(wmd) :
				 r->bw ? vss_bcd_writer_get_instance_id(r->bw) : NULL);
	case COL_INSTANCE_NAME:
		return dup_or_empty(wmd ? vss_wmd_get_instance_name(wmd) :
				    r->bw ? vss_bcd_writer_get_instance_name(r->bw) : NULL);
	case COL_USAGE:
		return dup_or_empty(wmd ? vss_usage_type_name(vss_wmd_get_usage_type(wmd)) : NULL);
	case COL_SOURCE:
		return dup_or_empty(wmd ? vss_source_type_name(vss_wmd_get_source_type(wmd)) : NULL);
	case COL_VERSION:
		if (!wmd)
			return strdup("");
		if (asprintf(&s, "%" PRIu32 ".%" PRIu32, vss_wmd_get_major_version(wmd),
			     vss_wmd_get_minor_version(wmd)) < 0)
			return NULL;
		return s;
	case COL_BACKUP_SCHEMA:
		if (wmd)
			return number_text(vss_wmd_get_backup_schema(wmd));
		return r->bw ? number_text(vss_bcd_writer_get_backup_schema(r->bw)) : strdup("");
	case COL_RESTORE_METHOD:
		if (!wmd || !vss_wmd_has_restore_method(wmd))
			return strdup("");
		return dup_or_empty(vss_restore_method_name(vss_wmd_get_restore_method(wmd)));
	case COL_WRITER_RESTORE:
		if (!wmd || !vss_wmd_has_restore_method(wmd))
			return strdup("");
		return dup_or_empty(vss_writer_restore_name(vss_wmd_get_writer_restore(wmd)));
	case COL_REBOOT:
		if (!wmd || !vss_wmd_has_restore_method(wmd))
			return strdup("");
		return bool_text(vss_wmd_get_reboot_required(wmd));
	case COL_COMPONENTS:
		if (wmd)
			return number_text(vss_wmd_component_count(wmd));
		return r->bw ? number_text(vss_bcd_writer_component_count(r->bw)) : strdup("");
	case COL_COMPONENT:
	case COL_NAME:
		return dup_or_empty(r->wc ? vss_wmd_component_get_name(r->wc) :
				    r->bc ? vss_bcd_component_get_name(r->bc) : NULL);
	case COL_TYPE:
		return strdup(r->wc ? type_name(vss_wmd_component_get_type(r->wc)) :
			      r->bc ? type_name(vss_bcd_component_get_type(r->bc)) : "");
	case COL_LOGICAL_PATH:
		return dup_or_empty(r->wc ? vss_wmd_component_get_logical_path(r->wc) :
				    r->bc ? vss_bcd_component_get_logical_path(r->bc) : NULL);
	case COL_CAPTION:
		return dup_or_empty(r->wc ? vss_wmd_component_get_caption(r->wc) :
				    r->bc ? vss_bcd_component_get_caption(r->bc) : NULL);
	case COL_FILES:
		return r->wc ? number_text(wmd_component_files(r->wc)) : strdup("");
	case COL_SELECTABLE:
		return r->wc ? bool_text(vss_wmd_component_get_selectable(r->wc)) : strdup("");
	case COL_SELECTABLE_FOR_RESTORE:
		return r->wc ? bool_text(vss_wmd_component_get_selectable_for_restore(r->wc)) :
			       strdup("");
	case COL_NOTIFY:
		return r->wc ? bool_text(vss_wmd_component_get_notify_on_backup_complete(r->wc)) :
			       strdup("");
	case COL_FLAGS:
		return r->wc ? number_text(vss_wmd_component_get_flags(r->wc)) : strdup("");
	case COL_DEPENDENCIES:
		return r->wc ? number_text(vss_wmd_component_dependency_count(r->wc)) : strdup("");
	case COL_STAMP:
		return dup_or_empty(r->bc ? vss_bcd_component_get_backup_stamp(r->bc) : NULL);
	case COL_PREVIOUS_STAMP:
		return dup_or_empty(r->bc ? vss_bcd_component_get_previous_backup_stamp(r->bc) :
				    NULL);
	case COL_SUCCEEDED:
		return r->bc ? bool_text(vss_bcd_component_get_backup_succeeded(r->bc)) : strdup("");
	case COL_SELECTED_FOR_RESTORE:
		return r->bc ? bool_text(vss_bcd_component_get_selected_for_restore(r->bc)) :
			       strdup("");
	case COL_RESTORE_TARGET:
		return dup_or_empty(r->bc ? vss_restore_target_name(
						    vss_bcd_component_get_restore_target(r->bc)) :
					    NULL);
	case COL_RESTORE_STATUS:
		return dup_or_empty(r->bc ? vss_file_restore_status_name(
						    vss_bcd_component_get_file_restore_status(r->bc)) :
					    NULL);
	case COL_KIND:
		return dup_or_empty(r->kind);
	case COL_PATH:
		return dup_or_empty(r->path);
	case COL_FILESPEC:
		return dup_or_empty(r->filespec);
	case COL_RECURSIVE:
		return r->kind ? bool_text(r->recursive) : strdup("");
	case COL_ALTERNATE:
		return dup_or_empty(r->alternate);
	case COL_BACKUP_TYPES:
		return r->has_mask ? number_text(r->mask) : strdup("");
	default:
		return strdup("");
	}
}

struct table {
	struct libscols_table *tb;
	int cols[MAX_COLUMNS];
	size_t ncols;
	bool json;
};

static struct table *table_free(struct table *t)
{
	if (!t)
		return NULL;
	scols_unref_table(t->tb);
	free(t);
	return NULL;
}

static struct table *table_new(enum view v, const int *cols, size_t ncols, unsigned int flags)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->tb = scols_new_table();
	if (!t->tb)
		goto fail;
	memcpy(t->cols, cols, ncols * sizeof(*cols));
	t->ncols = ncols;
	t->json = flags & TOOL_TABLE_JSON;
	if (scols_table_set_name(t->tb, view_table_name[v]) != 0)
		goto fail;
	scols_table_enable_json(t->tb, t->json);
	scols_table_enable_raw(t->tb, !!(flags & TOOL_TABLE_RAW));
	scols_table_enable_noheadings(t->tb, !!(flags & TOOL_TABLE_NOHEADINGS));
	for (size_t i = 0; i < ncols; i++) {
		const struct column_def *def = &columns[cols[i]];
		struct libscols_column *cl;

		cl = scols_table_new_column(t->tb, def->name, 0, def->flags);
		if (!cl)
			goto fail;
		scols_column_set_json_type(cl, def->json_type);
	}
	return t;
fail:
	return table_free(t);
}

static int table_add(struct table *t, const struct row *r)
{
	struct libscols_line *ln = scols_table_new_line(t->tb, NULL);

	if (!ln)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncols; i++) {
		char *text = cell_text(r, t->cols[i]);

		/* The line takes the text over, and frees it. */
		if (!text || scols_line_refer_data(ln, i, text) != 0) {
			free(text);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Text: nothing at all when there are no rows.  JSON: the empty array. */
static int table_print(struct table *t, FILE *out)
{
	if (!t->json && scols_table_get_nlines(t->tb) == 0)
		return 0;
	scols_table_set_stream(t->tb, out);
	return scols_print_table(t->tb) == 0 ? 0 : -EIO;
}

static int add_file_set(struct table *t, struct row *r, const char *kind,
			const struct vss_wmd_file *f)
{
	r->kind = kind;
	r->path = vss_wmd_file_get_path(f);
	r->filespec = vss_wmd_file_get_filespec(f);
	r->recursive = vss_wmd_file_get_recursive(f);
	r->alternate = vss_wmd_file_get_alternate_location(f);
	r->has_mask = true;
	r->mask = vss_wmd_file_get_backup_type_mask(f);
	return table_add(t, r);
}

static int add_exclude(struct table *t, struct row *r, const char *kind,
		       const struct vss_wmd_filespec *fs)
{
	r->kind = kind;
	r->path = vss_wmd_filespec_get_path(fs);
	r->filespec = vss_wmd_filespec_get_filespec(fs);
	r->recursive = vss_wmd_filespec_get_recursive(fs);
	r->alternate = NULL;
	r->has_mask = false;
	return table_add(t, r);
}

/* The rows of a WMD's file sets, component by component, then its excludes. */
static int add_wmd_files(struct table *t, const struct doc *d)
{
	const struct vss_wmd *wmd = d->wmd;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < vss_wmd_component_count(wmd); i++) {
		struct row r = { .doc = d, .wc = vss_wmd_component_at(wmd, i) };

		for (size_t j = 0; rc == 0 && j < vss_wmd_component_file_count(r.wc); j++)
			rc = add_file_set(t, &r, "file", vss_wmd_component_file_at(r.wc, j));
		for (size_t j = 0; rc == 0 && j < vss_wmd_component_database_file_count(r.wc); j++)
			rc = add_file_set(t, &r, "database",
					  vss_wmd_component_database_file_at(r.wc, j));
		for (size_t j = 0;
		     rc == 0 && j < vss_wmd_component_database_log_file_count(r.wc); j++)
			rc = add_file_set(t, &r, "log",
					  vss_wmd_component_database_log_file_at(r.wc, j));
	}
	for (size_t i = 0; rc == 0 && i < vss_wmd_exclude_files_count(wmd); i++) {
		struct row r = { .doc = d };

		rc = add_exclude(t, &r, "exclude", vss_wmd_exclude_files_at(wmd, i));
	}
	for (size_t i = 0; rc == 0 && i < vss_wmd_exclude_files_from_snapshot_count(wmd); i++) {
		struct row r = { .doc = d };

		rc = add_exclude(t, &r, "exclude-from-snapshot",
				 vss_wmd_exclude_files_from_snapshot_at(wmd, i));
	}
	return rc;
}

static int add_doc(struct table *t, enum view v, const struct doc *d)
{
	int rc = 0;

	if (v == VIEW_FILES)
		return add_wmd_files(t, d);
	if (d->wmd) {
		struct row r = { .doc = d };

		if (v == VIEW_WRITERS)
			return table_add(t, &r);
		for (size_t i = 0; rc == 0 && i < vss_wmd_component_count(d->wmd); i++) {
			r.wc = vss_wmd_component_at(d->wmd, i);
			rc = table_add(t, &r);
		}
		return rc;
	}
	for (size_t i = 0; rc == 0 && i < vss_bcd_writer_count(d->bcd); i++) {
		struct row r = { .doc = d, .bw = vss_bcd_writer_at(d->bcd, i) };

		if (v == VIEW_WRITERS) {
			rc = table_add(t, &r);
			continue;
		}
		for (size_t j = 0; rc == 0 && j < vss_bcd_writer_component_count(r.bw); j++) {
			r.bc = vss_bcd_writer_component_at(r.bw, j);
			rc = table_add(t, &r);
		}
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct table *table = NULL;
	struct doc *docs = NULL;
	size_t ndocs = 0, nwmd = 0;
	int cols[MAX_COLUMNS];
	size_t ncols = 0;
	enum mix mix;
	int rc;

	tool_init(argv);
	/*
	 * Names in documents are UTF-8: in a UTF-8 locale libsmartcols prints
	 * them as they are instead of hex-escaping every byte over 127.  Only
	 * the character type: messages and numbers stay as the other tools
	 * print them.
	 */
	setlocale(LC_CTYPE, "");
	rc = parse_options(argc, argv, &o);
	if (rc) {
		rc = rc == STOP ? TOOL_EXIT_OK : rc;
		goto out;
	}

	/* Every document is loaded before anything is printed: all or nothing. */
	docs = calloc((size_t)(argc - o.first_file), sizeof(*docs));
	if (!docs) {
		rc = tool_fail(-ENOMEM, "cannot read the documents");
		goto out;
	}
	for (int i = o.first_file; i < argc; i++) {
		rc = doc_load(argv[i], &docs[ndocs]);
		if (rc)
			goto out;
		nwmd += docs[ndocs].wmd != NULL;
		ndocs++;
	}
	if (o.view == VIEW_FILES && nwmd < ndocs) {
		for (size_t i = 0; i < ndocs; i++) {
			if (docs[i].bcd) {
				rc = tool_usage_error("--files needs writer metadata documents: '%s' "
						      "is a backup components document",
						      docs[i].name);
				goto out;
			}
		}
	}
	mix = nwmd == ndocs ? MIX_WMD : nwmd == 0 ? MIX_BCD : MIX_BOTH;

	if (o.output) {
		rc = columns_parse(o.view, mix, o.output, cols, &ncols);
		if (rc)
			goto out;
	} else {
		columns_default(o.view, mix, cols, &ncols);
	}
	table = table_new(o.view, cols, ncols, o.table_flags);
	if (!table) {
		rc = tool_fail(-ENOMEM, "cannot build the table");
		goto out;
	}
	for (size_t i = 0; i < ndocs; i++) {
		rc = add_doc(table, o.view, &docs[i]);
		if (rc < 0) {
			rc = tool_fail(rc, "cannot build the table");
			goto out;
		}
	}
	rc = table_print(table, stdout);
	if (rc < 0)
		rc = tool_fail(rc, "cannot print the table");
out:
	table_free(table);
	for (size_t i = 0; docs && i < ndocs; i++) {
		vss_wmd_unref(docs[i].wmd);
		vss_bcd_unref(docs[i].bcd);
	}
	free(docs);
	return rc;
}
