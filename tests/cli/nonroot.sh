#!/bin/bash
# Only root changes state.  Without root, vss-create, vss-delete and
# vss-list --rescan refuse at once with "<action> needs root privileges (try
# sudo)" and exit status 1, changing nothing; vss-list works.  Run as root,
# the checks run as 'nobody' (setpriv); run as another user, as that user.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || skip_all "running as root and setpriv (util-linux) is missing"
	id nobody >/dev/null 2>&1 || skip_all "running as root and there is no user 'nobody'"
	group=$(id -gn nobody 2>/dev/null)
	[ -n "$group" ] || skip_all "user 'nobody' has no group"
	as_user() { setpriv --reuid=nobody --regid="$group" --clear-groups "$@"; }
	who="nobody"
	# The private roots must be readable by nobody, as /etc/vss and
	# /var/lib/vss are.
	chmod 755 "$CLI_TMP" "$VSS_STATEDIR" "$VSS_RUNDIR" "$VSS_SYSCONFDIR"
	as_user test -x "$BIN/vss-list" ||
		skip_all "nobody cannot execute $BIN/vss-list (the build tree is not readable)"
else
	as_user() { "$@"; }
	who=$(id -un)
fi

G=5f0f3c4e-0d7a-4e0c-9b55-2a8d3f7e9a10
marker=$CLI_TMP/ran

expect "as $who: vss-create /" 1 '' \
	"vss-create: creating shadow copies needs root privileges (try sudo)" -- \
	as_user "$BIN/vss-create" /
expect "as $who: vss-create --auto-release --wait / -- touch" 1 '' \
	"vss-create: creating shadow copies needs root privileges (try sudo)" -- \
	as_user "$BIN/vss-create" --auto-release --wait / -- touch "$marker"
if [ -e "$marker" ]; then
	fail_check "as $who: the command is not run" "$marker exists"
else
	pass "as $who: the command is not run"
fi
for sel in "--all" "$G" "--set $G" "--for / --oldest"; do
	# shellcheck disable=SC2086
	expect "as $who: vss-delete $sel" 1 '' \
		"vss-delete: deleting shadow copies needs root privileges (try sudo)" -- \
		as_user "$BIN/vss-delete" $sel
done
expect "as $who: vss-list --rescan" 1 '' \
	"vss-list: rescanning the catalog needs root privileges (try sudo)" -- \
	as_user "$BIN/vss-list" --rescan
expect "as $who: vss-list" 0 '' '' -- as_user "$BIN/vss-list"
expect_match "as $who: vss-list -J -o ID" 0 '"shadowcopies": \[' '' -- \
	as_user "$BIN/vss-list" -J -o ID
# Usage errors come before the privilege check.
expect "as $who: vss-delete with no selection is a usage error" 2 '' \
	"vss-delete: nothing to delete: give shadow copy IDs, --set, --for or --all
Try 'vss-delete --help' for more information." -- as_user "$BIN/vss-delete"

# Readers may create the catalog's lock file where they can write (their own
# private state directory); nothing else may appear.
made=$(cd "$CLI_TMP" && find state run -mindepth 1 ! -path state/catalog.lock | tr '\n' ' ')
if [ -z "$made" ]; then
	pass "as $who: nothing was created in the state and run directories"
else
	fail_check "as $who: nothing was created in the state and run directories" "$made"
fi

cli_finish
