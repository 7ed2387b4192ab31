/*
 * The columns of a shadow copy and the table that shows them, over
 * libsmartcols (text, raw and JSON the way lsblk does them).  vss-list and
 * vss-create share it so a copy looks the same wherever it is printed.
 * Column names are an interface (JSON keys are their lower case): add
 * columns, never rename them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libsmartcols.h>

#include "tool.h"
#include "util/banned.h"

const struct tool_column tool_snapshot_columns[TOOL_COL__MAX] = {
	[TOOL_COL_ID]          = { "ID", SCOLS_JSON_STRING, 0, 0, true, "shadow copy ID" },
	[TOOL_COL_SET]         = { "SET", SCOLS_JSON_STRING, 0, 0, true, "shadow copy set ID" },
	[TOOL_COL_VOLUME]      = { "VOLUME", SCOLS_JSON_STRING, 0, 0, true,
				   "original volume (its path at creation)" },
	[TOOL_COL_DEVICE]      = { "DEVICE", SCOLS_JSON_STRING, 0, 0, false,
				   "block device of the original volume" },
	[TOOL_COL_UUID]        = { "UUID", SCOLS_JSON_STRING, 0, 0, false,
				   "filesystem UUID of the original volume" },
	[TOOL_COL_FSTYPE]      = { "FSTYPE", SCOLS_JSON_STRING, 0, 0, false,
				   "filesystem type of the original volume" },
	[TOOL_COL_COPY]        = { "COPY", SCOLS_JSON_STRING, 0, 0, true,
				   "where the copy lives (subvolume, image file)" },
	[TOOL_COL_PROVIDER]    = { "PROVIDER", SCOLS_JSON_STRING, 0, 0, true,
				   "provider that made the copy" },
	[TOOL_COL_PROVIDER_ID] = { "PROVIDER-ID", SCOLS_JSON_STRING, 0, 0, false,
				   "provider ID" },
	[TOOL_COL_CREATED]     = { "CREATED", SCOLS_JSON_STRING, 0, 0, true,
				   "creation time (local time; ISO 8601 in JSON)" },
	[TOOL_COL_STATE]       = { "STATE", SCOLS_JSON_STRING, 0, 0, false,
				   "state of the copy" },
	[TOOL_COL_TYPE]        = { "TYPE", SCOLS_JSON_STRING, 0, 0, false,
				   "context the copy was made in (Backup, ApplicationRollback...)" },
	[TOOL_COL_ATTRIBUTES]  = { "ATTRIBUTES", SCOLS_JSON_STRING, 0, 0, false,
				   "attributes of the copy" },
	[TOOL_COL_HOLD]        = { "HOLD", SCOLS_JSON_NUMBER, 0, SCOLS_FL_RIGHT, false,
				   "how long writes were held, in milliseconds" },
	[TOOL_COL_COUNT]       = { "COUNT", SCOLS_JSON_NUMBER, 0, SCOLS_FL_RIGHT, false,
				   "copies in the set at creation" },
	[TOOL_COL_MACHINE]     = { "MACHINE", SCOLS_JSON_STRING, 0, 0, false,
				   "machine the copy was made on" },
	[TOOL_COL_OWNER]       = { "OWNER", SCOLS_JSON_NUMBER, 0, SCOLS_FL_RIGHT, false,
				   "process whose end releases the copy (auto-release)" },
	[TOOL_COL_EXPOSED]     = { "EXPOSED", SCOLS_JSON_STRING, 0, 0, true,
				   "where the copy is exposed (mount point, device)" },
};

/* The defaults, in the order they are shown. */
static const int default_columns[] = {
	TOOL_COL_ID, TOOL_COL_SET, TOOL_COL_VOLUME, TOOL_COL_CREATED, TOOL_COL_PROVIDER,
	TOOL_COL_COPY, TOOL_COL_EXPOSED,
};

struct tool_table {
	struct libscols_table *tb;
	int cols[TOOL_MAX_COLUMNS];
	size_t ncols;
	bool json;
};

void tool_columns_default(int *cols, size_t *ncols)
{
	size_t n = sizeof(default_columns) / sizeof(default_columns[0]);

	memcpy(cols, default_columns, sizeof(default_columns));
	*ncols = n;
}

static int column_by_name(const char *name, size_t len)
{
	for (int i = 0; i < TOOL_COL__MAX; i++) {
		const char *cn = tool_snapshot_columns[i].name;

		if (strlen(cn) == len && strncasecmp(cn, name, len) == 0)
			return i;
	}
	return -1;
}

int tool_output_parse(const char *arg, const int *defaults, size_t ndefaults,
		      tool_column_lookup_fn lookup, void *userdata, int *cols, size_t *ncols,
		      size_t max)
{
	const char *p = arg;
	size_t n = 0;

	if (*p == '+') {
		for (; n < ndefaults && n < max; n++)
			cols[n] = defaults[n];
		p++;
	}
	if (!*p)
		return tool_usage_error("no columns given to --output");
	for (;;) {
		size_t len = strcspn(p, ",");
		int c = lookup(p, len, userdata);

		if (c == TOOL_COLUMN_REPORTED)
			return TOOL_EXIT_USAGE;
		if (c < 0)
			return tool_usage_error("unknown column '%.*s'", (int)len, p);
		if (n >= max)
			return tool_usage_error("too many columns in '%s'", arg);
		cols[n++] = c;
		if (!p[len])
			break;
		p += len + 1;
	}
	*ncols = n;
	return 0;
}

static int snapshot_column(const char *name, size_t len, void *userdata)
{
	int c = column_by_name(name, len);

	(void)userdata;
	return c < 0 ? TOOL_COLUMN_UNKNOWN : c;
}

int tool_columns_parse(const char *arg, int *cols, size_t *ncols)
{
	int defaults[TOOL_MAX_COLUMNS];
	size_t ndefaults;

	tool_columns_default(defaults, &ndefaults);
	return tool_output_parse(arg, defaults, ndefaults, snapshot_column, NULL, cols, ncols,
				 TOOL_MAX_COLUMNS);
}

void tool_columns_help(FILE *out)
{
	fputs("\nAvailable output columns (* default):\n", out);
	for (int i = 0; i < TOOL_COL__MAX; i++)
		fprintf(out, " %c%-12s %s\n", tool_snapshot_columns[i].is_default ? '*' : ' ',
			tool_snapshot_columns[i].name, tool_snapshot_columns[i].help);
}

struct tool_table *tool_table_new(const int *cols, size_t ncols, unsigned int flags)
{
	struct tool_table *t;

	if (ncols > TOOL_MAX_COLUMNS)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tb = scols_new_table();
	if (!t->tb)
		goto fail;
	memcpy(t->cols, cols, ncols * sizeof(*cols));
	t->ncols = ncols;
	t->json = flags & TOOL_TABLE_JSON;
	if (scols_table_set_name(t->tb, "shadowcopies") != 0)
		goto fail;
	scols_table_enable_json(t->tb, t->json);
	scols_table_enable_raw(t->tb, !!(flags & TOOL_TABLE_RAW));
	scols_table_enable_noheadings(t->tb, !!(flags & TOOL_TABLE_NOHEADINGS));
	for (size_t i = 0; i < ncols; i++) {
		const struct tool_column *def = &tool_snapshot_columns[cols[i]];
		struct libscols_column *cl;

		cl = scols_table_new_column(t->tb, def->name, def->whint, def->flags);
		if (!cl)
			goto fail;
		scols_column_set_json_type(cl, def->json_type);
	}
	return t;
fail:
	return tool_table_free(t);
}

struct tool_table *tool_table_free(struct tool_table *t)
{
	if (!t)
		return NULL;
	scols_unref_table(t->tb);
	free(t);
	return NULL;
}

size_t tool_table_rows(const struct tool_table *t)
{
	return scols_table_get_nlines(t->tb);
}

/* Local time: "2024-05-01 14:03:07"; JSON: "2024-05-01T14:03:07+02:00". */
static char *format_time(int64_t ns, bool json)
{
	time_t secs = (time_t)(ns / 1000000000);
	char buf[64];
	struct tm tm;
	char *s = NULL;

	if (!localtime_r(&secs, &tm))
		return strdup("");
	if (!json) {
		if (strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
			return strdup("");
		return strdup(buf);
	}
	if (strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return strdup("");
	long off = tm.tm_gmtoff / 60;
	if (asprintf(&s, "%s%c%02ld:%02ld", buf, off < 0 ? '-' : '+', labs(off) / 60,
		     labs(off) % 60) < 0)
		return NULL;
	return s;
}

static char *strdup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* The text of one cell, malloc()ed; NULL for no memory. */
static char *cell_text(const struct vss_snapshot *snap, int col, bool json)
{
	char g[VSS_GUID_STRING_MAX];
	char *s = NULL;

	switch (col) {
	case TOOL_COL_ID:
		return strdup(tool_guid(vss_snapshot_get_id(snap), g));
	case TOOL_COL_SET:
		return strdup(tool_guid(vss_snapshot_get_set_id(snap), g));
	case TOOL_COL_VOLUME:
		return strdup_or_empty(vss_snapshot_get_original_volume(snap));
	case TOOL_COL_DEVICE:
		return strdup_or_empty(vss_snapshot_get_original_device(snap));
	case TOOL_COL_UUID:
		return strdup_or_empty(vss_snapshot_get_original_uuid(snap));
	case TOOL_COL_FSTYPE:
		return strdup_or_empty(vss_snapshot_get_original_fstype(snap));
	case TOOL_COL_COPY:
		return strdup_or_empty(vss_snapshot_get_device(snap));
	case TOOL_COL_PROVIDER:
		return strdup_or_empty(vss_snapshot_get_provider_name(snap));
	case TOOL_COL_PROVIDER_ID: {
		const struct vss_guid *id = vss_snapshot_get_provider_id(snap);

		return strdup(id && !vss_guid_is_null(id) ? tool_guid(id, g) : "");
	}
	case TOOL_COL_CREATED:
		return format_time(vss_snapshot_get_creation_time(snap), json);
	case TOOL_COL_STATE:
		return strdup_or_empty(vss_snapshot_state_name(vss_snapshot_get_state(snap)));
	case TOOL_COL_TYPE:
		return strdup_or_empty(vss_snapshot_context_name(vss_snapshot_get_context(snap)));
	case TOOL_COL_ATTRIBUTES:
		if (vss_snapshot_attributes_format(vss_snapshot_get_attributes(snap), &s) < 0)
			return NULL;
		return s;
	case TOOL_COL_HOLD: {
		uint64_t us = vss_snapshot_get_hold_ns(snap) / 1000;

		if (asprintf(&s, "%" PRIu64 ".%03" PRIu64, us / 1000, us % 1000) < 0)
			return NULL;
		return s;
	}
	case TOOL_COL_COUNT:
		if (asprintf(&s, "%u", vss_snapshot_get_count(snap)) < 0)
			return NULL;
		return s;
	case TOOL_COL_MACHINE:
		return strdup_or_empty(vss_snapshot_get_originating_machine(snap));
	case TOOL_COL_OWNER: {
		pid_t pid = vss_snapshot_get_owner_pid(snap);

		/* Empty is JSON null: not an auto-release copy. */
		if (pid <= 0)
			return strdup("");
		if (asprintf(&s, "%ld", (long)pid) < 0)
			return NULL;
		return s;
	}
	case TOOL_COL_EXPOSED:
		return strdup_or_empty(vss_snapshot_get_exposed_name(snap));
	default:
		return strdup("");
	}
}

int tool_table_add_snapshot(struct tool_table *t, const struct vss_snapshot *snap)
{
	struct libscols_line *ln;

	ln = scols_table_new_line(t->tb, NULL);
	if (!ln)
		return -ENOMEM;
	for (size_t i = 0; i < t->ncols; i++) {
		char *text = cell_text(snap, t->cols[i], t->json);

		/* The line takes the text over, and frees it. */
		if (!text || scols_line_refer_data(ln, i, text) != 0) {
			free(text);
			return -ENOMEM;
		}
	}
	return 0;
}

int tool_table_add_list(struct tool_table *t, const struct vss_snapshot_list *list)
{
	size_t n = vss_snapshot_list_count(list);

	for (size_t i = 0; i < n; i++) {
		int rc = tool_table_add_snapshot(t, vss_snapshot_list_get(list, i));

		if (rc < 0)
			return rc;
	}
	return 0;
}

int tool_table_print(struct tool_table *t, const struct vss_guid *set_id, FILE *out)
{
	char g[VSS_GUID_STRING_MAX];
	char *text = NULL;
	int rc = 0;

	if (!t->json && tool_table_rows(t) == 0)
		return 0;
	if (!t->json || !set_id) {
		scols_table_set_stream(t->tb, out);
		return scols_print_table(t->tb) == 0 ? 0 : -EIO;
	}
	/*
	 * libsmartcols writes one object holding the array; the set ID goes
	 * in as its first member, indented as libsmartcols indents.
	 */
	if (scols_print_table_to_string(t->tb, &text) != 0 || !text)
		return -ENOMEM;
	if (strncmp(text, "{\n", 2) != 0) {
		rc = -EIO;
		goto out;
	}
	fprintf(out, "{\n   \"set\": \"%s\",\n%s", tool_guid(set_id, g), text + 2);
out:
	free(text);
	return rc;
}
