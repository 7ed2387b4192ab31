#!/bin/bash
# vss-create with volumes that do not exist: exit status 3, a message naming
# the volume, no command run, nothing made or recorded.  These fail before
# any privilege is needed, so they run as any user.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

nothing_made() {
	if [ ! -e "$VSS_STATEDIR/catalog.xml" ] && [ -z "$(ls -A "$VSS_STATEDIR")" ]; then
		pass "$1: nothing recorded"
	else
		fail_check "$1: nothing recorded" "the state directory has: $(ls -A "$VSS_STATEDIR")"
	fi
}

quote_re() { printf '%s' "$1" | sed 's/[][\.*^$(){}+?|/]/\\&/g'; }

missing=$CLI_TMP/no/such/volume
m=$(quote_re "$missing")
expect_match "vss-create of a missing path" 3 '' \
	"^vss-create: cannot add volume '$m': .*'$m'" -- "$BIN/vss-create" "$missing"
[ "$(wc -l <"$ERR")" = 1 ] || fail_check "vss-create of a missing path: one line" "$(cat "$ERR")"
nothing_made "missing path"

expect_match "vss-create of a missing path, --auto-release --json" 3 '' \
	"^vss-create: cannot add volume '$m': .*'$m'" -- "$BIN/vss-create" -a -J "$missing"

# The volume list is checked before the command is run.
marker=$CLI_TMP/ran
expect_match "vss-create of a missing path with a command" 3 '' \
	"^vss-create: cannot add volume '$m'" -- "$BIN/vss-create" "$missing" -- touch "$marker"
if [ -e "$marker" ]; then
	fail_check "the command is not run when the set cannot be made" "$marker exists"
else
	pass "the command is not run when the set cannot be made"
fi

# The second of two volumes is missing: named, and nothing of the first made.
expect_match "vss-create / MISSING" 3 '' \
	"^vss-create: cannot add volume '$m': .*'$m'" -- "$BIN/vss-create" / "$missing"
nothing_made "second volume missing"

# A directory that is not a volume (not a mount point, not a subvolume).
dir=$CLI_TMP/plain
mkdir -p "$dir/sub"
d=$(quote_re "$dir/sub")
if [ "$(findmnt -rno TARGET -T "$dir/sub")" != "$dir/sub" ] &&
   [ "$(stat -f -c %T "$dir/sub")" != btrfs ]; then
	expect_match "vss-create of a plain directory" 3 '' \
		"^vss-create: cannot add volume '$d': .*'$d'" -- "$BIN/vss-create" "$dir/sub"
fi

# UUID= and LABEL= of nothing mounted.
expect_match "vss-create UUID= of no filesystem" 3 '' \
	"^vss-create: cannot add volume 'UUID=0badc0de-0000-4000-8000-000000000000'" -- \
	"$BIN/vss-create" UUID=0badc0de-0000-4000-8000-000000000000
expect_match "vss-create LABEL= of no filesystem" 3 '' \
	"^vss-create: cannot add volume 'LABEL=vss-cli-no-such-label'" -- \
	"$BIN/vss-create" LABEL=vss-cli-no-such-label

expect "vss-create with an empty volume name" 2 '' "vss-create: empty volume name
Try 'vss-create --help' for more information." -- "$BIN/vss-create" ""
nothing_made "all of the above"

cli_finish
