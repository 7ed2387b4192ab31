/*
 * The notice printer: what the library did on the tool's behalf (leftovers
 * collected, records dropped, each deletion), in the tools' words.
 */
#include <errno.h>
#include <stdio.h>

#include "tool.h"
#include "util/banned.h"

struct notice_words {
	const char *done;    /* rc == 0: "<done> shadow copy {id} of 'vol'<why>" */
	const char *why;
	const char *failed;  /* rc < 0: "cannot <failed> shadow copy {id} of 'vol': msg" */
};

static const struct notice_words *words_for(enum vss_notice what)
{
	static const struct notice_words rolled_back = {
		"removed", ": its creator ended before the set was made", "remove",
	};
	static const struct notice_words released = {
		"released", ": it was an auto-release copy and its owner ended", "release",
	};
	static const struct notice_words missing = {
		"forgot", ": the copy no longer exists", "forget",
	};
	static const struct notice_words found = {
		"recorded", ": found on its provider but not in the catalog", "record",
	};
	static const struct notice_words stale = {
		"removed the properties file of", ": its copy no longer exists",
		"remove the properties file of",
	};
	static const struct notice_words restored = {
		"restored the properties file of", ": it was missing beside the copy",
		"restore the properties file of",
	};
	static const struct notice_words unexposed = {
		"forgot the exposure of", ": it was no longer mounted or attached",
		"forget the exposure of",
	};
	static const struct notice_words deleted = { "deleted", "", "delete" };

	switch (what) {
	case VSS_NOTICE_DELETED:     return &deleted;
	case VSS_NOTICE_ROLLED_BACK: return &rolled_back;
	case VSS_NOTICE_RELEASED:    return &released;
	case VSS_NOTICE_MISSING:     return &missing;
	case VSS_NOTICE_FOUND:       return &found;
	case VSS_NOTICE_STALE:       return &stale;
	case VSS_NOTICE_RESTORED:    return &restored;
	case VSS_NOTICE_WRITER_FAILED: return NULL;
	case VSS_NOTICE_UNEXPOSED:   return &unexposed;
	}
	return NULL;
}

void tool_notice(enum vss_notice what, const struct vss_snapshot *snap, int rc,
		 const char *message, void *userdata)
{
	struct tool_notices *n = userdata;
	const struct notice_words *w = words_for(what);
	char id[VSS_GUID_STRING_MAX];
	const char *vol;
	FILE *out;

	if (what == VSS_NOTICE_DELETED && n) {
		if (rc < 0)
			n->deleted_failed++;
		else
			n->deleted_ok++;
	}
	if (!message)
		message = "";
	/* Without a copy or words for it, the library's own words must do. */
	if (!snap || !w) {
		fprintf(stderr, "%s: %s\n", program_invocation_short_name,
			message[0] ? message : vss_strerror(rc));
		return;
	}
	tool_guid(vss_snapshot_get_id(snap), id);
	vol = vss_snapshot_get_original_volume(snap);
	if (!vol)
		vol = "?";

	if (rc < 0) {
		fprintf(stderr, "%s: cannot %s shadow copy %s of '%s': %s\n",
			program_invocation_short_name, w->failed, id, vol,
			message[0] ? message : vss_strerror(rc));
		return;
	}
	if (what == VSS_NOTICE_DELETED) {
		/* The deleting tool's result: data, on its stdout. */
		out = n ? n->deleted : stdout;
		if (out == stderr)
			fprintf(out, "%s: ", program_invocation_short_name);
		if (out)
			fprintf(out, "deleted shadow copy %s of '%s'\n", id, vol);
		return;
	}
	if (what == VSS_NOTICE_RELEASED && vss_snapshot_get_owner_pid(snap) > 0) {
		fprintf(stderr, "%s: released shadow copy %s of '%s': its owner (pid %ld) ended\n",
			program_invocation_short_name, id, vol,
			(long)vss_snapshot_get_owner_pid(snap));
		return;
	}
	fprintf(stderr, "%s: %s shadow copy %s of '%s'%s\n", program_invocation_short_name,
		w->done, id, vol, w->why);
}
