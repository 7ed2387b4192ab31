/*
 * vss-create — make one shadow copy set of one or more volumes, and
 * optionally run a command that sees the copies.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vss.h>

#include "../common/tool.h"
#include "util/parse.h"
#include "util/banned.h"

/* parse_options(): stop now and exit 0 (--help, --version). */
#define STOP (-1)

enum {
	OPT_NO_WRITERS = 0x100,
	OPT_IGNORE_WRITER_FAILURES,
	OPT_BACKUP_COMPLETE,
};

static const struct option longopts[] = {
	{ "provider",     required_argument, NULL, 'p' },
	{ "auto-release", no_argument,       NULL, 'a' },
	{ "context",      required_argument, NULL, 'c' },
	{ "no-writers",   no_argument,       NULL, OPT_NO_WRITERS },
	{ "exclude-writer", required_argument, NULL, 'x' },
	{ "ignore-writer-failures", no_argument, NULL, OPT_IGNORE_WRITER_FAILURES },
	{ "backup-complete", no_argument,    NULL, OPT_BACKUP_COMPLETE },
	{ "wait",         no_argument,       NULL, 'w' },
	{ "hold-timeout", required_argument, NULL, 't' },
	{ "save-bcd",     required_argument, NULL, 'b' },
	{ "json",         no_argument,       NULL, 'J' },
	{ "help",         no_argument,       NULL, 'h' },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void usage(void)
{
	printf("Usage:\n"
	       " %1$s [options] VOLUME... [-- COMMAND [ARG...]]\n"
	       "\n"
	       "Make one shadow copy set holding a copy of each VOLUME (mount point,\n"
	       "device, UUID=..., LABEL=...).  With COMMAND, run it with the copies\n"
	       "named in its environment (VSS_SHADOW_SET, VSS_SHADOW_<n>,\n"
	       "VSS_SHADOW_<n>_PATH, VSS_SHADOW_<n>_VOLUME) and exit with its status.\n"
	       "\n"
	       "Options:\n"
	       " -p, --provider NAME          provider for every volume (btrfs, image);\n"
	       "                                default: the first that supports it\n"
	       " -a, --auto-release           auto-release copies: deleted when COMMAND\n"
	       "                                ends, or without COMMAND when the calling\n"
	       "                                process ends (the volatile context)\n"
	       " -c, --context CONTEXT        persistent (default), volatile or\n"
	       "                                clientaccessible\n"
	       "     --no-writers             no writer takes part: a crash-consistent copy\n"
	       " -x, --exclude-writer WRITER  leave out a writer (name, class or instance ID)\n"
	       "     --ignore-writer-failures make the copies even when a writer fails\n"
	       "     --backup-complete        a full backup: tell the writers it completed\n"
	       "                                (after COMMAND, when it succeeded)\n"
	       " -w, --wait                   wait while another set is being created\n"
	       " -t, --hold-timeout SECONDS   longest time writes may be held (default 10)\n"
	       " -b, --save-bcd FILE          write the set's Backup Components Document\n"
	       "                                to FILE, for a restore later\n"
	       " -J, --json                   use JSON output format\n"
	       "\n"
	       " -h, --help                   display this help\n"
	       " -V, --version                display version\n"
	       "\n"
	       "Exit status: 0 success, 1 failure, 2 usage error, 3 volume not found,\n"
	       "4 invalid document, 5 another set in progress, 6 writer failure; with\n"
	       "COMMAND, its exit status.  See %1$s(1).\n",
	       program_invocation_short_name);
}

struct options {
	const char *provider;
	bool auto_release;
	const char *context_word;  /* --context, or NULL */
	bool no_writers;
	bool ignore_writer_failures;
	bool backup_complete;
	char **exclude;            /* --exclude-writer, NULL-terminated */
	size_t nexclude;
	int32_t context;
	bool wait;
	bool json;
	uint64_t hold_ms;          /* 0: the configured one */
	const char *save_bcd;      /* file for the Backup Components Document */
	char **volumes;
	size_t nvolumes;
	char **command;            /* NULL-terminated, or NULL */
};

static int parse_options(int argc, char **argv, struct options *o)
{
	int dashdash = argc;
	int c;

	/*
	 * Options may come anywhere before "--"; what follows it is the
	 * command and is never parsed as ours.
	 */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dashdash = i;
			break;
		}
	}
	while ((c = getopt_long(dashdash, argv, "p:ac:x:wt:b:JhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			/* Checked now so that a typo changes nothing. */
			if (!vss_provider_find(optarg))
				return tool_usage_error_last();
			o->provider = optarg;
			break;
		case 'a':
			o->auto_release = true;
			break;
		case 'c':
			if (vss_snapshot_context_parse(optarg, &o->context) < 0)
				return tool_usage_error_last();
			o->context_word = optarg;
			break;
		case OPT_NO_WRITERS:
			o->no_writers = true;
			break;
		case 'x': {
			char **grown = realloc(o->exclude, (o->nexclude + 2) * sizeof(*grown));

			if (!grown)
				return tool_fail(-ENOMEM, "cannot parse the options");
			o->exclude = grown;
			o->exclude[o->nexclude++] = optarg;
			o->exclude[o->nexclude] = NULL;
			break;
		}
		case OPT_IGNORE_WRITER_FAILURES:
			o->ignore_writer_failures = true;
			break;
		case OPT_BACKUP_COMPLETE:
			o->backup_complete = true;
			break;
		case 'w':
			o->wait = true;
			break;
		case 't':
			if (parse_seconds_ms(optarg, &o->hold_ms) < 0 || o->hold_ms == 0 ||
			    o->hold_ms > 600000)
				return tool_usage_error("invalid hold timeout '%s' (seconds, "
							"0.001 to 600, up to three decimals)",
							optarg);
			break;
		case 'b':
			if (!*optarg)
				return tool_usage_error("--save-bcd needs a file name");
			o->save_bcd = optarg;
			break;
		case 'J':
			o->json = true;
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
	if (optind >= dashdash)
		return tool_usage_error("no volume given");
	if (!o->context_word)
		o->context = o->auto_release ? VSS_CTX_BACKUP : VSS_CTX_APP_ROLLBACK;
	else if (o->auto_release && o->context != VSS_CTX_BACKUP)
		return tool_usage_error("--auto-release makes volatile copies; it cannot go with --context %s",
					o->context_word);
	if (o->no_writers)
		o->context |= VSS_VOLSNAP_ATTR_NO_WRITERS;
	if ((o->context & VSS_VOLSNAP_ATTR_NO_WRITERS) &&
	    (o->nexclude || o->ignore_writer_failures || o->backup_complete))
		return tool_usage_error("%s: no writer takes part in these copies",
					o->nexclude ? "--exclude-writer" :
					o->ignore_writer_failures ? "--ignore-writer-failures" :
								    "--backup-complete");
	o->volumes = argv + optind;
	o->nvolumes = (size_t)(dashdash - optind);
	for (size_t i = 0; i < o->nvolumes; i++)
		if (!o->volumes[i][0])
			return tool_usage_error("empty volume name");
	if (dashdash < argc) {
		if (dashdash + 1 >= argc)
			return tool_usage_error("no command after '--'");
		o->command = argv + dashdash + 1;
	}
	return 0;
}

/* ---- running COMMAND ---------------------------------------------------- */

static volatile sig_atomic_t child_pid;

/* A terminal's ^C reaches the command itself; a kill aimed at us is passed
 * on, and we live to delete the copies. */
static void forward_signal(int sig)
{
	int saved = errno;

	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
	errno = saved;
}

static int set_env_for(const struct vss_guid *set_id, const struct vss_snapshot_list *list)
{
	char g[VSS_GUID_STRING_MAX], name[64];
	size_t n = vss_snapshot_list_count(list);

	if (setenv("VSS_SHADOW_SET", tool_guid(set_id, g), 1) < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		const struct vss_snapshot *snap = vss_snapshot_list_get(list, i);
		const char *dev = vss_snapshot_get_device(snap);
		const char *vol = vss_snapshot_get_original_volume(snap);

		snprintf(name, sizeof(name), "VSS_SHADOW_%zu", i + 1);
		if (setenv(name, tool_guid(vss_snapshot_get_id(snap), g), 1) < 0)
			return -errno;
		snprintf(name, sizeof(name), "VSS_SHADOW_%zu_PATH", i + 1);
		if (setenv(name, dev ? dev : "", 1) < 0)
			return -errno;
		snprintf(name, sizeof(name), "VSS_SHADOW_%zu_VOLUME", i + 1);
		if (setenv(name, vol ? vol : "", 1) < 0)
			return -errno;
	}
	return 0;
}

/*
 * Run command with the copies in its environment; its exit status (as the
 * shell reports it: 128 + signal, 126 not executable, 127 not found), or a
 * tool exit code when it could not be started.
 */
static int run_command(char **command, const struct vss_guid *set_id,
		       const struct vss_snapshot_list *list)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, fwd = { .sa_handler = forward_signal };
	struct sigaction old_int, old_quit, old_term, old_hup;
	int status, rc;
	pid_t pid;

	rc = set_env_for(set_id, list);
	if (rc < 0)
		return tool_fail(rc, "cannot set the environment of '%s'", command[0]);

	fflush(stdout);
	fflush(stderr);
	sigemptyset(&ign.sa_mask);
	sigemptyset(&fwd.sa_mask);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	sigaction(SIGTERM, &fwd, &old_term);
	sigaction(SIGHUP, &fwd, &old_hup);

	pid = fork();
	if (pid < 0) {
		rc = tool_fail(-errno, "cannot run '%s'", command[0]);
		goto out;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		execvp(command[0], command);
		rc = errno;
		fprintf(stderr, "%s: cannot run '%s': %s\n", program_invocation_short_name,
			command[0], strerror(rc));
		_exit(rc == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = tool_fail(-errno, "cannot wait for '%s'", command[0]);
			goto out;
		}
	}
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = TOOL_EXIT_FAILURE;
out:
	child_pid = 0;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	return rc;
}

/* ---- the Backup Components Document -------------------------------------- */

static int check_writable_dir(const char *file)
{
	char *copy = strdup(file);
	const char *dir;
	int rc = 0;

	if (!copy)
		return tool_fail(-ENOMEM, "cannot check '%s'", file);
	dir = dirname(copy);
	if (access(dir, W_OK) < 0)
		rc = tool_fail(-errno, "cannot write the backup components document to '%s'", file);
	free(copy);
	return rc;
}

/*
 * The set's BCD to file, and beside it the metadata document of each
 * writer that took part, file.<instance-id>.wmd.xml: a component restore
 * needs both (vss-restore --bcd).
 */
static int save_bcd(struct vss_session *session, const char *file)
{
	struct vss_writer_info_list *writers = NULL;
	struct vss_bcd *bcd = NULL;
	char *wmd_file = NULL;
	int rc = vss_session_get_bcd(session, &bcd);

	if (rc == 0)
		rc = vss_bcd_save_file(bcd, file);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot write the backup components document to '%s'", file);
		goto out;
	}
	rc = vss_session_get_writers(session, &writers);
	for (size_t i = 0; rc == 0 && i < vss_writer_info_list_count(writers); i++) {
		const struct vss_writer_info *w = vss_writer_info_list_get(writers, i);
		char g[VSS_GUID_STRING_MAX];

		if (!vss_writer_info_get_wmd(w))
			continue;
		free(wmd_file);
		if (asprintf(&wmd_file, "%s.%s.wmd.xml", file,
			     vss_guid_format(vss_writer_info_get_instance_id(w), 0, g)) < 0) {
			wmd_file = NULL;
			rc = -ENOMEM;
			break;
		}
		rc = vss_wmd_save_file(vss_writer_info_get_wmd(w), wmd_file);
	}
	if (rc < 0)
		rc = tool_fail(rc, "cannot write the writer metadata documents beside '%s'", file);
out:
	free(wmd_file);
	vss_writer_info_list_unref(writers);
	vss_bcd_unref(bcd);
	return rc;
}

/* ---- writers ------------------------------------------------------------ */

static int set_up_writers(struct vss_session *session, const struct options *o)
{
	int rc = 0;

	if (o->context & VSS_VOLSNAP_ATTR_NO_WRITERS)
		return 0;
	if (o->ignore_writer_failures)
		rc = vss_session_set_writer_flags(session, VSS_WRITERS_IGNORE_FAILURES);
	for (size_t i = 0; rc == 0 && i < o->nexclude; i++)
		rc = vss_session_exclude_writer(session, o->exclude[i]);
	if (rc == 0 && o->backup_complete)
		rc = vss_session_set_backup_type(session, VSS_BT_FULL);
	if (rc < 0)
		return tool_fail(rc, "cannot set up the writers");
	return 0;
}

/* BackupComplete, when asked for: the copies stay whatever the writers say. */
static int complete_backup(struct vss_session *session, const struct options *o)
{
	int rc;

	if (!o->backup_complete)
		return TOOL_EXIT_OK;
	rc = vss_session_backup_complete(session);
	if (rc < 0)
		return tool_fail(rc, "the copies were made, but completing the backup failed");
	return TOOL_EXIT_OK;
}

/* ---- output ------------------------------------------------------------- */

static int print_set(const struct options *o, const struct vss_guid *set_id,
		     const struct vss_snapshot_list *list, FILE *out)
{
	static const int text_cols[] = { TOOL_COL_ID, TOOL_COL_VOLUME, TOOL_COL_COPY };
	int cols[TOOL_MAX_COLUMNS];
	size_t ncols;
	struct tool_table *table = NULL;
	char g[VSS_GUID_STRING_MAX];
	int rc = 0;

	if (o->json) {
		tool_columns_default(cols, &ncols);
		table = tool_table_new(cols, ncols, TOOL_TABLE_JSON);
	} else {
		table = tool_table_new(text_cols, sizeof(text_cols) / sizeof(text_cols[0]),
				       TOOL_TABLE_NOHEADINGS);
	}
	if (!table || tool_table_add_list(table, list) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (!o->json)
		fprintf(out, "Shadow copy set %s\n", tool_guid(set_id, g));
	rc = tool_table_print(table, o->json ? set_id : NULL, out);
out:
	tool_table_free(table);
	return rc;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct options o = { 0 };
	struct tool_notices notices = { .deleted = stderr };
	struct vss_context *ctx = NULL;
	struct vss_session *session = NULL;
	struct vss_snapshot_list *list = NULL;
	struct vss_volume **vols = NULL;   /* resolved once, checked first */
	struct vss_guid set_id;
	int rc;

	tool_init(argv);
	rc = parse_options(argc, argv, &o);
	if (rc) {
		rc = rc == STOP ? TOOL_EXIT_OK : rc;
		goto out;
	}

	rc = tool_open_context(&notices, &ctx);
	if (rc)
		goto out;
	if (o.hold_ms) {
		rc = vss_context_set_hold_timeout(ctx, (unsigned int)o.hold_ms);
		if (rc < 0) {
			rc = tool_usage_error_last();
			goto out;
		}
	}

	/*
	 * Name every volume before asking for root or taking the lock: a typo
	 * is reported as such, by anyone, and nothing is done.
	 */
	vols = calloc(o.nvolumes, sizeof(*vols));
	if (!vols) {
		rc = tool_fail(-ENOMEM, "cannot add the volumes");
		goto out;
	}
	for (size_t i = 0; i < o.nvolumes; i++) {
		rc = vss_volume_resolve(o.volumes[i], &vols[i]);
		if (rc < 0) {
			rc = tool_fail(rc, "cannot add volume '%s'", o.volumes[i]);
			goto out;
		}
	}
	rc = tool_require_root(ctx, "creating shadow copies");
	if (rc)
		goto out;
	/* Where the document goes must exist before any copy is made. */
	if (o.save_bcd && (rc = check_writable_dir(o.save_bcd)))
		goto out;

	tool_recover(ctx);

	rc = vss_session_new(ctx, &session);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot start a session");
		goto out;
	}
	rc = vss_session_set_context(session, o.context);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot set the context of the copies");
		goto out;
	}
	rc = set_up_writers(session, &o);
	if (rc)
		goto out;
	if (o.auto_release) {
		/* With COMMAND we delete the copies ourselves when it ends (and
		 * if we are killed, our end releases them); without, they live
		 * as long as whoever called us. */
		pid_t owner = o.command ? getpid() : getppid();

		rc = vss_session_set_owner(session, owner);
		if (rc < 0) {
			rc = tool_fail(rc, "cannot make process %ld the owner of the copies",
				       (long)owner);
			goto out;
		}
	}
	rc = vss_session_start_set(session, o.wait ? VSS_START_WAIT : 0, &set_id);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot start a shadow copy set");
		goto out;
	}
	for (size_t i = 0; i < o.nvolumes; i++) {
		struct vss_guid id;

		/* After waiting for another set, the mounts may have changed:
		 * name the volume again; otherwise the lock came at once. */
		rc = o.wait ? vss_session_add_volume(session, o.volumes[i], o.provider, &id)
			    : vss_session_add_resolved_volume(session, vols[i], o.provider, &id);
		if (rc < 0) {
			rc = tool_fail(rc, "cannot add volume '%s'", o.volumes[i]);
			goto out;
		}
	}
	rc = vss_session_do_snapshot_set(session);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot create the shadow copy set");
		goto out;
	}
	rc = vss_session_get_snapshots(session, &list);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot read the shadow copy set");
		goto out;
	}
	if (o.save_bcd) {
		rc = save_bcd(session, o.save_bcd);
		if (rc) {
			/* The copies are made and recorded: keep them, say so. */
			print_set(&o, &set_id, list, stderr);
			goto out;
		}
	}
	/* The creation lock is released; the session stays for the writers,
	 * who hear of the end of the backup after COMMAND. */

	/* With COMMAND, stdout is the command's (a backup stream, say). */
	rc = print_set(&o, &set_id, list, o.command ? stderr : stdout);
	if (rc < 0) {
		rc = tool_fail(rc, "cannot print the shadow copy set");
		if (!o.command)
			goto out;
	}
	if (!o.command) {
		rc = complete_backup(session, &o);
		goto out;
	}

	rc = run_command(o.command, &set_id, list);
	if (rc == 0)
		rc = complete_backup(session, &o);
	if (o.auto_release) {
		int drc;

		/* Ours to delete; a successful deletion is no news. */
		notices.deleted = NULL;
		drc = vss_catalog_delete(ctx, list, 0);
		if (drc < 0 && notices.deleted_failed == 0) {
			int code = tool_fail(drc, "cannot delete the shadow copies");

			if (rc == 0)
				rc = code;
		} else if (drc < 0 && rc == 0) {
			rc = TOOL_EXIT_FAILURE;
		}
	}
out:
	for (size_t i = 0; vols && i < o.nvolumes; i++)
		vss_volume_unref(vols[i]);
	free(vols);
	vss_snapshot_list_unref(list);
	vss_session_unref(session);
	vss_context_unref(ctx);
	free(o.exclude);
	return rc;
}
