/*
 * The writer table: one row per writer (vss-list --writers), text or JSON,
 * over libsmartcols like the shadow copy table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsmartcols.h>

#include "tool.h"
#include "util/banned.h"

const struct tool_column tool_writer_columns[TOOL_WCOL__MAX] = {
	[TOOL_WCOL_NAME] = { "NAME", SCOLS_JSON_STRING, 0.2, 0, true, "writer name" },
	[TOOL_WCOL_CLASS_ID] = { "CLASS-ID", SCOLS_JSON_STRING, 38, 0, true, "writer class ID" },
	[TOOL_WCOL_INSTANCE_ID] = { "INSTANCE-ID", SCOLS_JSON_STRING, 38, 0, true,
				    "writer instance ID" },
	[TOOL_WCOL_KIND] = { "KIND", SCOLS_JSON_STRING, 7, 0, false, "express or live" },
	[TOOL_WCOL_STATE] = { "STATE", SCOLS_JSON_STRING, 0.15, 0, true,
			      "state, as [n] text (JSON: the text)" },
	[TOOL_WCOL_STATE_ID] = { "STATE-ID", SCOLS_JSON_NUMBER, 2, SCOLS_FL_RIGHT, false,
				 "state number (VSS_WRITER_STATE)" },
	[TOOL_WCOL_LAST_ERROR] = { "LAST-ERROR", SCOLS_JSON_STRING, 0.15, 0, true,
				   "last failure, No error when none" },
	[TOOL_WCOL_FAILED_EVENT] = { "FAILED-EVENT", SCOLS_JSON_STRING, 12, 0, false,
				     "event of the last failure" },
	[TOOL_WCOL_MESSAGE] = { "MESSAGE", SCOLS_JSON_STRING, 0.3, SCOLS_FL_WRAP, false,
				"the writer's words on its last failure" },
	[TOOL_WCOL_PATH] = { "PATH", SCOLS_JSON_STRING, 0.2, 0, false,
			     "registration file or socket" },
};

static int writer_column(const char *name, size_t len, void *userdata)
{
	(void)userdata;
	for (int i = 0; i < TOOL_WCOL__MAX; i++)
		if (strlen(tool_writer_columns[i].name) == len &&
		    strncasecmp(tool_writer_columns[i].name, name, len) == 0)
			return i;
	return TOOL_COLUMN_UNKNOWN;
}

void tool_writer_columns_default(int *cols, size_t *ncols)
{
	*ncols = 0;
	for (int i = 0; i < TOOL_WCOL__MAX; i++)
		if (tool_writer_columns[i].is_default)
			cols[(*ncols)++] = i;
}

int tool_writer_columns_parse(const char *arg, int *cols, size_t *ncols)
{
	int defaults[TOOL_WCOL__MAX];
	size_t ndefaults;

	tool_writer_columns_default(defaults, &ndefaults);
	return tool_output_parse(arg, defaults, ndefaults, writer_column, NULL, cols, ncols,
				 2 * TOOL_WCOL__MAX);
}

static char *cell(const struct vss_writer_info *w, int col, bool json)
{
	const char *name = vss_writer_info_get_name(w);
	const char *msg = vss_writer_info_get_failure_message(w);
	const char *path = vss_writer_info_get_path(w);
	enum vss_writer_state state = vss_writer_info_get_state(w);
	int failure = vss_writer_info_get_failure(w);
	char g[VSS_GUID_STRING_MAX], *text = NULL;
	const char *s;

	switch (col) {
	case TOOL_WCOL_NAME:
		return strdup(name ? name : "");
	case TOOL_WCOL_CLASS_ID:
		return strdup(tool_guid(vss_writer_info_get_class_id(w), g));
	case TOOL_WCOL_INSTANCE_ID:
		return strdup(tool_guid(vss_writer_info_get_instance_id(w), g));
	case TOOL_WCOL_KIND:
		return strdup(vss_writer_info_get_kind(w));
	case TOOL_WCOL_STATE:
		s = vss_writer_state_name(state);
		if (json)
			return strdup(s ? s : "Unknown");
		if (asprintf(&text, "[%d] %s", (int)state, s ? s : "Unknown") < 0)
			return NULL;
		return text;
	case TOOL_WCOL_STATE_ID:
		if (asprintf(&text, "%d", (int)state) < 0)
			return NULL;
		return text;
	case TOOL_WCOL_LAST_ERROR:
		return strdup(vss_writer_failure_text(failure));
	case TOOL_WCOL_FAILED_EVENT:
		s = failure ? vss_writer_event_name(vss_writer_info_get_failed_event(w)) : NULL;
		return strdup(s ? s : "");
	case TOOL_WCOL_MESSAGE:
		return strdup(failure && msg ? msg : "");
	case TOOL_WCOL_PATH:
		return strdup(path ? path : "");
	default:
		return strdup("");
	}
}

int tool_writer_table_print(const struct vss_writer_info_list *list, const int *cols,
			    size_t ncols, unsigned int flags, FILE *out)
{
	struct libscols_table *tb = scols_new_table();
	bool json = flags & TOOL_TABLE_JSON;
	size_t n = vss_writer_info_list_count(list);
	int rc = -ENOMEM;

	if (!tb)
		return -ENOMEM;
	if (scols_table_set_name(tb, "writers") != 0)
		goto out;
	scols_table_enable_json(tb, json);
	scols_table_enable_raw(tb, !!(flags & TOOL_TABLE_RAW));
	scols_table_enable_noheadings(tb, !!(flags & TOOL_TABLE_NOHEADINGS));
	for (size_t i = 0; i < ncols; i++) {
		const struct tool_column *def = &tool_writer_columns[cols[i]];
		struct libscols_column *cl = scols_table_new_column(tb, def->name, def->whint,
								    def->flags);

		if (!cl)
			goto out;
		scols_column_set_json_type(cl, def->json_type);
	}
	for (size_t r = 0; r < n; r++) {
		const struct vss_writer_info *w = vss_writer_info_list_get(list, r);
		struct libscols_line *ln = scols_table_new_line(tb, NULL);

		if (!ln)
			goto out;
		for (size_t i = 0; i < ncols; i++) {
			char *text = cell(w, cols[i], json);

			if (!text || scols_line_refer_data(ln, i, text) != 0) {
				free(text);
				goto out;
			}
		}
	}
	rc = 0;
	if (!json && n == 0)
		goto out;
	scols_table_set_stream(tb, out);
	rc = scols_print_table(tb) == 0 ? 0 : -EIO;
out:
	scols_unref_table(tb);
	return rc;
}

void tool_writer_columns_help(FILE *out)
{
	fputs("\nAvailable output columns with --writers (* default):\n", out);
	for (int i = 0; i < TOOL_WCOL__MAX; i++)
		fprintf(out, " %c%-12s %s\n", tool_writer_columns[i].is_default ? '*' : ' ',
			tool_writer_columns[i].name, tool_writer_columns[i].help);
}
