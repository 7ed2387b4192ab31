/*
 * Helpers shared by the small tools (vss-create, vss-list, vss-delete):
 * the exit code table, error and usage messages, the notice printer, and the
 * shadow copy column table over libsmartcols.  Only tools use this; nothing
 * here knows more about shadow copies than <vss.h> tells it.
 */
#ifndef VSS_TOOL_H
#define VSS_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <vss.h>

/*
 * Exit codes: the one table of every tool, documented in each man page's
 * EXIT STATUS.  tool_exit_code() maps a library code onto it.
 */
enum tool_exit {
	TOOL_EXIT_OK        = 0,  /* success */
	TOOL_EXIT_FAILURE   = 1,  /* any other failure */
	TOOL_EXIT_USAGE     = 2,  /* bad option, argument or syntax */
	TOOL_EXIT_NOT_FOUND = 3,  /* no such shadow copy, set or volume */
	TOOL_EXIT_DOCUMENT  = 4,  /* an input document is corrupt or invalid */
	TOOL_EXIT_BUSY      = 5,  /* another shadow copy set is being created */
	TOOL_EXIT_WRITER    = 6,  /* a writer failed */
	TOOL_EXIT_PARTIAL   = 7,  /* some entries done, some not (vss-restore) */
};

/* The exit code for a library return code (0 or negative). */
int tool_exit_code(int rc);

/*
 * Print "<tool>: <what>: <message>" to stderr, the message being
 * vss_error_last()'s when it belongs to rc (with file:line for documents),
 * else vss_strerror(rc).  Returns tool_exit_code(rc).
 */
int tool_fail(int rc, const char *what_fmt, ...) __attribute__((format(printf, 2, 3)));

/* "<tool>: <message>" to stderr. */
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A usage error: "<tool>: <message>" and "Try '<tool> --help' for more
 * information." to stderr.  Returns TOOL_EXIT_USAGE.
 */
int tool_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Only the "Try '<tool> --help'..." line (getopt printed the first one). */
int tool_try_help(void);

/* The same with the message of the library's last error (bad GUID...). */
int tool_usage_error_last(void);

/* "<tool> from vss X.Y.Z" to stdout.  Returns TOOL_EXIT_OK. */
int tool_print_version(void);

/*
 * Call first in main().  Registers the atexit() handler that closes stdout
 * and stderr and checks them: a failed write makes the tool print
 * "<tool>: write error" and exit 1.  Points argv[0] at the short name, so
 * getopt's messages start with "<tool>:" like ours.
 */
void tool_init(char **argv);

/*
 * When the caller may not change state, print "<tool>: <action> needs root
 * privileges (try sudo)" and return TOOL_EXIT_FAILURE; else 0.  The library
 * refuses as well; this says so before any work is done.
 */
int tool_require_root(const struct vss_context *ctx, const char *action);

/*
 * vss_context_recover(), reporting a failure as a warning: never fatal.  A
 * damaged catalog is left for the command's own work to report, with where.
 */
void tool_recover(struct vss_context *ctx);

/* ---- notices (notice.c) ------------------------------------------------ */

struct tool_notices {
	/*
	 * Where successful deletions are reported ("deleted shadow copy {id} of
	 * '/srv/data'"); NULL to say nothing of them.  Failed deletions always
	 * go to stderr.
	 */
	FILE *deleted;
	size_t deleted_ok;      /* counters, for the caller's exit code */
	size_t deleted_failed;
};

/*
 * The vss_notice_fn to give vss_context_set_notice_fn() with a struct
 * tool_notices as userdata (NULL: report deletions on stdout).
 */
void tool_notice(enum vss_notice what, const struct vss_snapshot *snap, int rc,
		 const char *message, void *userdata);

/*
 * A new context whose notices go to tool_notice() with notices as userdata.
 * On failure prints why and returns the exit code.
 */
int tool_open_context(struct tool_notices *notices, struct vss_context **ret);

/*
 * Parse argv[first..argc-1] as shadow copy IDs into a malloc()ed array
 * (NULL and 0 when there are none).  A bad ID is a usage error: prints it
 * and returns its exit code.
 */
int tool_parse_ids(int argc, char **argv, int first, struct vss_guid **ret, size_t *ret_n);

/* ---- the shadow copy table (table.c) ------------------------------------ */

/* One column a listing can show. */
struct tool_column {
	const char *name;    /* header; its lower case is the JSON key */
	int json_type;       /* SCOLS_JSON_STRING or SCOLS_JSON_NUMBER */
	double whint;        /* width hint for libsmartcols */
	int flags;           /* SCOLS_FL_* */
	bool is_default;     /* shown without -o */
	const char *help;
};

/* The columns of a shadow copy, in this order. */
enum tool_snapshot_column {
	TOOL_COL_ID,
	TOOL_COL_SET,
	TOOL_COL_VOLUME,
	TOOL_COL_DEVICE,
	TOOL_COL_UUID,
	TOOL_COL_FSTYPE,
	TOOL_COL_COPY,
	TOOL_COL_PROVIDER,
	TOOL_COL_PROVIDER_ID,
	TOOL_COL_CREATED,
	TOOL_COL_STATE,
	TOOL_COL_TYPE,
	TOOL_COL_ATTRIBUTES,
	TOOL_COL_HOLD,
	TOOL_COL_COUNT,
	TOOL_COL_MACHINE,
	TOOL_COL_OWNER,
	TOOL_COL_EXPOSED,
	TOOL_COL__MAX
};

extern const struct tool_column tool_snapshot_columns[TOOL_COL__MAX];

/* Most columns a table may have (a column may be asked for twice). */
#define TOOL_MAX_COLUMNS (2 * TOOL_COL__MAX)

/*
 * Parse an -o/--output argument: a comma-separated list of column names (any
 * case); a leading '+' adds them to the defaults.  An unknown name is a
 * usage error (printed; returns TOOL_EXIT_USAGE).  cols holds
 * TOOL_MAX_COLUMNS.
 */
int tool_columns_parse(const char *arg, int *cols, size_t *ncols);

/*
 * The column named by name[0..len) (not NUL-terminated), or
 * TOOL_COLUMN_UNKNOWN, or TOOL_COLUMN_REPORTED after printing its own usage
 * error (to say more than "unknown column").
 */
typedef int (*tool_column_lookup_fn)(const char *name, size_t len, void *userdata);
#define TOOL_COLUMN_UNKNOWN  (-1)
#define TOOL_COLUMN_REPORTED (-2)

/*
 * An -o/--output list for any tool: "COL,COL,..." replaces the defaults,
 * "+COL,..." adds to them; names are looked up with lookup.  0, or the
 * usage error's exit code (printed).  cols holds max entries.
 */
int tool_output_parse(const char *arg, const int *defaults, size_t ndefaults,
		      tool_column_lookup_fn lookup, void *userdata, int *cols, size_t *ncols,
		      size_t max);
/* The default columns. */
void tool_columns_default(int *cols, size_t *ncols);
/* The "Available output columns:" part of --help. */
void tool_columns_help(FILE *out);

enum tool_table_flags {
	TOOL_TABLE_JSON       = 1 << 0,
	TOOL_TABLE_RAW        = 1 << 1,
	TOOL_TABLE_NOHEADINGS = 1 << 2,
};

struct tool_table;

/* A table named "shadowcopies" with these columns; NULL for no memory. */
struct tool_table *tool_table_new(const int *cols, size_t ncols, unsigned int flags);
struct tool_table *tool_table_free(struct tool_table *t);
/* One row for snap.  -ENOMEM. */
int tool_table_add_snapshot(struct tool_table *t, const struct vss_snapshot *snap);
/* Every copy of list. */
int tool_table_add_list(struct tool_table *t, const struct vss_snapshot_list *list);
size_t tool_table_rows(const struct tool_table *t);
/*
 * Print to out.  Text: nothing when there are no rows.  JSON:
 * {"shadowcopies": [...]}, with "set": set_id first when set_id is not NULL.
 */
int tool_table_print(struct tool_table *t, const struct vss_guid *set_id, FILE *out);

/* ---- small things ------------------------------------------------------- */

/* "{xxxxxxxx-...}" into buf; returns buf. */
const char *tool_guid(const struct vss_guid *g, char buf[VSS_GUID_STRING_MAX]);

/* ---- the writer table (writer-table.c) ---------------------------------- */

enum tool_writer_column {
	TOOL_WCOL_NAME,
	TOOL_WCOL_CLASS_ID,
	TOOL_WCOL_INSTANCE_ID,
	TOOL_WCOL_KIND,
	TOOL_WCOL_STATE,
	TOOL_WCOL_STATE_ID,
	TOOL_WCOL_LAST_ERROR,
	TOOL_WCOL_FAILED_EVENT,
	TOOL_WCOL_MESSAGE,
	TOOL_WCOL_PATH,
	TOOL_WCOL__MAX
};

extern const struct tool_column tool_writer_columns[TOOL_WCOL__MAX];

void tool_writer_columns_default(int *cols, size_t *ncols);
/* -o/--output for writers: as tool_columns_parse(); cols holds 2 * TOOL_WCOL__MAX. */
int tool_writer_columns_parse(const char *arg, int *cols, size_t *ncols);
void tool_writer_columns_help(FILE *out);
/* Print a table "writers" of list (text: nothing when empty). */
int tool_writer_table_print(const struct vss_writer_info_list *list, const int *cols,
			    size_t ncols, unsigned int flags, FILE *out);

#endif
