#!/bin/bash
# vss-restore: usage errors (exit 2), unknown copies, writers and
# components (exit 3), bad documents (exit 4), root required, and the
# format of a dry run (text and JSON, odd names included), run as nobody
# when run as root.  The copy is a catalog record whose copy is a plain
# directory (as a btrfs copy is one): a dry run only reads it.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

R=$BIN/vss-restore
[ -x "$R" ] || { echo "FAIL: $R is not built (run 'make tools' first)"; exit 1; }
G=5f0f3c4e-0d7a-4e0c-9b55-2a8d3f7e9a10
try="Try 'vss-restore --help' for more information."

# ---- help, version, usage -------------------------------------------------

expect_match "--help" 0 '^Usage:' '' -- "$R" --help
expect "--version" 0 "vss-restore from vss $VSS_TEST_VERSION" '' -- "$R" --version
expect "no arguments" 2 '' "vss-restore: no shadow copy ID given
$try" -- "$R"
expect "an ID without a path" 2 '' "vss-restore: no path to restore given
$try" -- "$R" "$G"
expect "a bad ID" 2 '' "vss-restore: 'nope' is not a GUID (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})
$try" -- "$R" nope /x
expect "unknown option" 2 '' "vss-restore: unrecognized option '--bogus'
$try" -- "$R" --bogus
expect "--to without its argument" 2 '' "vss-restore: option '--to' requires an argument
$try" -- "$R" --to
expect "--component without --bcd" 2 '' "vss-restore: --component needs --bcd FILE
$try" -- "$R" -c PostgreSQL:cluster
expect "--bcd without --component" 2 '' "vss-restore: --bcd needs at least one --component
$try" -- "$R" --bcd /x.xml
expect "a component without a writer" 2 '' "vss-restore: bad component 'cluster': give WRITER:NAME or WRITER:LOGICALPATH\\NAME
$try" -- "$R" --bcd /x.xml -c cluster
expect "--to with --bcd" 2 '' "vss-restore: --to is for files; a component goes where its writer's restore method says
$try" -- "$R" --bcd /x.xml -c A:b --to /tmp
expect "operands with --bcd" 2 '' "vss-restore: unexpected argument '$G' with --bcd
$try" -- "$R" --bcd /x.xml -c A:b "$G"
expect "--no-writers without --bcd" 2 '' "vss-restore: --no-writers is for component restores (--bcd)
$try" -- "$R" --no-writers "$G" /x
expect "--quiet with --verbose" 2 '' "vss-restore: --quiet and --verbose do not go together
$try" -- "$R" -q -v "$G" /x

# ---- not found, bad documents -------------------------------------------

expect_match "an unknown copy: exit 3" 3 '' \
	"^vss-restore: cannot restore from shadow copy \{$G\}: " -- "$R" --dry-run "$G" /x
expect_match "a missing BCD: exit 1" 1 '' "^vss-restore: cannot restore components from '$CLI_TMP/none.xml': .*" -- \
	"$R" --dry-run --bcd "$CLI_TMP/none.xml" -c A:b
printf '<BACKUP_COMPONENTS' >"$CLI_TMP/bad.xml"
expect_match "a corrupt BCD: exit 4" 4 '' "^vss-restore: cannot restore components from .*bad\\.xml" -- \
	"$R" --dry-run --bcd "$CLI_TMP/bad.xml" -c A:b
cp tests/data/bcd-full.xml "$CLI_TMP/set.xml"
expect_match "a writer not in the BCD: exit 3" 3 '' "no writer 'Nobody' in the backup components document" -- \
	"$R" --dry-run --bcd "$CLI_TMP/set.xml" -c Nobody:x
expect_match "a component not backed up: exit 3" 3 '' "component '\{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a\}:nothing' was not backed up" -- \
	"$R" --dry-run --bcd "$CLI_TMP/set.xml" -c '{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}:nothing'
expect_match "a writer whose metadata document is missing: exit 3" 3 '' "the metadata document of writer .* is missing: '$CLI_TMP/set\\.xml\\.dd8d6255-b3bb-4ec1-8249-73cd75c0ee21\\.wmd\\.xml'" -- \
	"$R" --dry-run --bcd "$CLI_TMP/set.xml" -c '{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}:server\inst\db1'

# ---- a copy to read: the dry run format ----------------------------------

ID=b5946137-7b9f-4925-af80-51abd60b20d5
vol=$CLI_TMP/vol
copy=$vol/.vss/$ID
mkdir -p "$copy/docs/sub" "$vol/docs"
printf 'hello\n' >"$copy/docs/a.txt"
printf 'x' >"$copy/docs/sub/it's odd"
printf 'y' >"$copy/docs/sub/line
break"
printf 'z' >"$copy/docs/sub/$(printf 'caf\351')"
printf 'old\n' >"$vol/docs/a.txt"
cat >"$VSS_STATEDIR/catalog.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<CATALOG xmlns="x-schema:#VssLinuxSnapshot" version="1">
  <SNAPSHOT snapshotId="$ID" snapshotSetId="cdf70d69-615e-4c56-9359-c9ca584f0d3e" snapshotsCount="1" snapshotDeviceObject="$copy" originalVolumeName="$vol" snapshotAttributes="131097" creationTimestamp="1705673361123456789" status="CREATED" snapshotContext="25" providerName="btrfs" originalFsroot="/" originalFstype="btrfs" store="$vol/.vss"/>
</CATALOG>
EOF

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
	group=$(id -gn nobody)
	as_user() { setpriv --reuid=nobody --regid="$group" --clear-groups "$@"; }
	who=nobody
	chmod -R a+rX "$CLI_TMP"
else
	as_user() { "$@"; }
	who=$(id -un)
fi

if [ "$(id -u)" = 0 ] && [ "$who" = nobody ] || [ "$(id -u)" != 0 ]; then
	expect "as $who: restoring needs root" 1 '' \
		"vss-restore: restoring files needs root privileges (try sudo)" -- as_user "$R" "$ID" "$vol/docs"
	expect "as $who: restoring components needs root" 1 '' \
		"vss-restore: restoring components needs root privileges (try sudo)" -- \
		as_user "$R" --bcd "$CLI_TMP/set.xml" -c A:b
fi

# Entries come in the order the tree is walked: compare sorted.
want="would restore d '$vol/docs'
would restore d '$vol/docs/sub'
would restore f '$vol/docs/a.txt'
would restore f '$vol/docs/sub/caf\\xe9'
would restore f '$vol/docs/sub/it\\'s odd'
would restore f '$vol/docs/sub/line\\nbreak'"
run as_user "$R" --dry-run "$ID" "$vol/docs"
if [ "$RC" = 0 ] && [ "$(head -n -1 "$OUT" | LC_ALL=C sort)" = "$want" ] && [ ! -s "$ERR" ] &&
   [ "$(tail -1 "$OUT")" = "would restore 6 files (0.0 MiB), skip 0, refuse 0, fail 0 (dry run: nothing written)" ]; then
	pass "as $who: dry run, one line per entry, odd names escaped, a summary"
else
	fail_check "as $who: dry run, one line per entry, odd names escaped, a summary" "output differs"
	printf '     expected (sorted, without the summary):\n'
	printf '%s\n' "$want" | sed 's/^/       | /'
	show_output
fi
[ "$(cat "$vol/docs/a.txt")" = old ] && [ ! -e "$vol/docs/sub" ] &&
	pass "as $who: the dry run wrote nothing" || fail_check "as $who: the dry run wrote nothing" "the target changed"

expect_match "as $who: dry run --if-not-there --verbose says what is skipped" 0 \
	"^would restore 4 files .*skip 2, refuse 0, fail 0" "^vss-restore: skipped '$vol/docs/a\\.txt': " -- \
	as_user "$R" --dry-run --if-not-there -v "$ID" "$vol/docs"
expect "as $who: dry run --quiet prints nothing" 0 '' '' -- as_user "$R" --dry-run -q "$ID" "$vol/docs"
expect_match "as $who: a path the copy lacks among good ones: exit 7" 7 \
	"^would restore 6 files .*fail 1" "^vss-restore: cannot restore '$vol/docs/none': " -- \
	as_user "$R" --dry-run "$ID" "$vol/docs" "$vol/docs/none"
expect_match "as $who: only paths the copy lacks: exit 1" 1 \
	"^would restore 0 files .*fail 1" "^vss-restore: cannot restore '$vol/none': " -- \
	as_user "$R" --dry-run "$ID" "$vol/none"
expect_match "as $who: a path outside the copy's volume: exit 1" 1 "fail 1 " \
	"^vss-restore: cannot restore '/etc/passwd': " -- as_user "$R" --dry-run "$ID" /etc/passwd
(cd "$vol" && as_user "$R" --dry-run "$ID" docs/a.txt >"$OUT" 2>"$ERR")
RC=$?
if [ "$RC" = 0 ] && [ "$(head -1 "$OUT")" = "would restore f '$vol/docs/a.txt'" ]; then
	pass "as $who: a relative path is taken from the current directory"
else
	fail_check "as $who: a relative path is taken from the current directory" "output differs"
	show_output
fi

if command -v jq >/dev/null; then
	run as_user "$R" --dry-run --json "$ID" "$vol/docs"
	if [ "$RC" = 0 ] && [ ! -s "$ERR" ] &&
	   jq -e --arg v "$vol" '.restore.dry_run == true and .restore.stats.restored == 6 and
		(.restore.entries | length == 6) and
		(.restore.entries | map(select(.outcome == "would-restore")) | length == 6) and
		(.restore.entries | map(.target) | index($v + "/docs/sub/caf\u00e9") != null) and
		(.restore.entries | map(.target) | index($v + "/docs/sub/line\nbreak") != null) and
		(.restore.entries[] | select(.target == $v + "/docs/a.txt") | .type == "f" and .bytes == 6)' \
		"$OUT" >/dev/null; then
		pass "as $who: --json: valid JSON, every entry, non-UTF-8 bytes as \\u00NN"
	else
		fail_check "as $who: --json: valid JSON, every entry, non-UTF-8 bytes as \\u00NN" "see the output"
		show_output
	fi
else
	echo "skip --json checks: jq is not installed"
fi

cli_finish
