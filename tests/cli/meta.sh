#!/bin/bash
# vss-meta: the components, writers and file sets of the sample writer
# metadata and backup components documents in tests/data, as tables (compared
# with tests/cli/expected/meta-*) and JSON (checked with jq); bad input: a
# corrupt or invalid document and a document of another kind exit 4 naming
# the file (and the line), a missing file exits 3, a bad option 2, and
# nothing is printed on stdout when any FILE fails.
# shellcheck disable=SC2016,SC2317 # bash -c scripts take $1...; full() is run by expect
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

M=$BIN/vss-meta
[ -x "$M" ] || { echo "FAIL: $M is not built (run 'make tools' first)"; exit 1; }
command -v jq >/dev/null || skip_all "jq is not installed (scripts/install-deps installs it)"

D=tests/data
E=tests/cli/expected
WMD_SQL=$D/wmd-sql-server.xml
WMD_TASKS=$D/wmd-task-scheduler.xml
BCD_FULL=$D/bcd-windows-full.xml
BCD_SQL=$D/bcd-windows-sql.xml
for f in "$WMD_SQL" "$WMD_TASKS" "$BCD_FULL" "$BCD_SQL"; do
	[ -f "$f" ] || { echo "FAIL: the sample $f is missing"; exit 1; }
done
try="Try 'vss-meta --help' for more information."

# ---- tables ----------------------------------------------------------------

expect "components of two WMDs" 0 "$(cat $E/meta-wmd.txt)" '' -- "$M" "$WMD_SQL" "$WMD_TASKS"
expect "writers of two WMDs" 0 "$(cat $E/meta-wmd-writers.txt)" '' -- \
	"$M" --writers "$WMD_SQL" "$WMD_TASKS"
expect "file sets of two WMDs" 0 "$(cat $E/meta-wmd-files.txt)" '' -- \
	"$M" --files "$WMD_SQL" "$WMD_TASKS"
expect "components of two BCDs" 0 "$(cat $E/meta-bcd.txt)" '' -- "$M" "$BCD_FULL" "$BCD_SQL"
expect "writers of two BCDs" 0 "$(cat $E/meta-bcd-writers.txt)" '' -- \
	"$M" -w "$BCD_FULL" "$BCD_SQL"
expect "writers of a WMD and a BCD" 0 "$(cat $E/meta-mixed-writers.txt)" '' -- \
	"$M" -w "$WMD_TASKS" "$BCD_SQL"
expect "a WMD and a BCD: the default columns of both" 0 \
	"SET BACKUP-TYPE WRITER WRITER-ID INSTANCE-ID TYPE LOGICAL-PATH NAME CAPTION FILES SELECTABLE FLAGS STAMP SUCCEEDED SELECTED-FOR-RESTORE" '' -- \
	bash -c '"$1" -r "$2" "$3" | head -n1' _ "$M" "$WMD_TASKS" "$BCD_SQL"
# An empty cell is empty in raw output too: "master " ends with the separator.
expect "-rn -o NAME,CAPTION" 0 'master 
Sales Sales\x20database
TasksStore Tasks\x20Store' '' -- "$M" -rn -o name,CAPTION "$WMD_SQL" "$WMD_TASKS"
expect "-o +DOCUMENT adds to the defaults" 0 "WRITER-ID INSTANCE-ID INSTANCE-NAME COMPONENTS DOCUMENT
{d61d61c8-d73a-4eee-8cdd-f6f9786b7124} {1bddd48e-5052-49db-9b07-b96f96727e6b}  1 $BCD_FULL" '' -- \
	bash -c '"$1" -rw -o +DOCUMENT "$2" | head -n2' _ "$M" "$BCD_FULL"
expect "standard input, between files" 0 "NAME
master
Sales
TasksStore
TasksStore" '' -- bash -c '"$1" -o NAME "$2" - "$3" <"$3"' _ "$M" "$WMD_SQL" "$WMD_TASKS"
# A document in UTF-16, as Windows tools may save one.
u16=$CLI_TMP/utf16.xml
{ printf '\xff\xfe'; iconv -f UTF-8 -t UTF-16LE "$WMD_TASKS"; } >"$u16"
expect "a WMD in UTF-16" 0 "TasksStore" '' -- "$M" -n -o NAME "$u16"

# ---- JSON ------------------------------------------------------------------

expect "JSON components of a WMD" 0 "$(cat $E/meta-wmd.json)" '' -- "$M" -J "$WMD_TASKS"

# jq -e FILTER on the last output: a check that fails unless the filter is true.
jq_check() {
	local name=$1 filter=$2
	if [ "$RC" != 0 ]; then
		fail_check "$name" "exit status $RC"
		show_output
	elif jq -e "$filter" "$OUT" >/dev/null 2>&1; then
		pass "$name"
	else
		fail_check "$name" "jq '$filter' is not true"
		show_output
	fi
}

run "$M" -J "$WMD_SQL"
jq_check "JSON: WMD components, typed" \
	'(.components | length) == 2 and
	 (.components[0] | .writer == "SqlServerWriter" and .type == "database" and
	  .files == 2 and .selectable == true and .flags == 2 and .caption == null and
	  ."writer-id" == "{a65faa63-5ea8-4ebc-9dbd-a0c4db26912a}") and
	 .components[1].name == "Sales" and .components[1]."logical-path" == "SQLHOST01"'
run "$M" -J -w "$WMD_SQL" "$WMD_TASKS"
jq_check "JSON: WMD writers" \
	'(.writers | length) == 2 and .writers[0].components == 2 and
	 .writers[0].usage == "USER_DATA" and .writers[1]."instance-name" == null and
	 .writers[1]."restore-method" == "REPLACE_AT_REBOOT_IF_CANNOT_REPLACE"'
run "$M" -J -f -o +BACKUP-TYPES,LOGICAL-PATH "$WMD_SQL"
jq_check "JSON: WMD file sets" \
	'(.files | length) == 7 and
	 ([.files[].kind] == ["database","log","database","database","log","exclude",
			      "exclude-from-snapshot"]) and
	 .files[0]."backup-types" == 3855 and .files[0].recursive == false and
	 .files[0]."logical-path" == "SQLHOST01" and
	 .files[6].recursive == true and .files[6].component == null and
	 .files[6]."backup-types" == null'
run "$M" -J "$BCD_FULL" "$BCD_SQL"
jq_check "JSON: BCD components, typed" \
	'(.components | length) == 9 and
	 ([.components[].set] | unique) == ["{4ad2e8b1-faf2-4aca-a010-2c3f939cef62}",
					    "{9f2c1d3e-5b6a-4c7d-8e9f-0a1b2c3d4e5f}"] and
	 .components[0]."backup-type" == "full" and .components[0].succeeded == false and
	 .components[0]."selected-for-restore" == false and
	 .components[3].stamp == "CAAAAMQv3+t4udUB" and
	 .components[7].type == "database" and .components[8]."backup-type" == "log"'
run "$M" -J -w -o +SET,BACKUP-SCHEMA "$BCD_FULL"
jq_check "JSON: BCD writers" \
	'(.writers | length) == 3 and .writers[2]."instance-name" == "Files writer" and
	 .writers[2].components == 3 and .writers[2]."backup-schema" == 32 and
	 .writers[0].set == "{4ad2e8b1-faf2-4aca-a010-2c3f939cef62}"'
run "$M" -J -o NAME,SELECTABLE,SUCCEEDED "$WMD_TASKS" "$BCD_SQL"
jq_check "JSON: a column that does not apply to a document is null" \
	'.components[0].selectable == false and .components[0].succeeded == null and
	 .components[1].selectable == null and .components[1].succeeded == false'
# The samples written by the library's round-trip tests load too, when there.
for f in "$D"/wmd-*.xml "$D"/bcd-*.xml; do
	run "$M" -J -w "$f"
	jq_check "JSON writers of $f" '(.writers | length) >= 1'
done

# ---- bad input ---------------------------------------------------------------

bad=$CLI_TMP/truncated.xml
printf '<?xml version="1.0"?>\n<WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2">\n<IDENT' >"$bad"
expect_match "a truncated WMD: exit 4, FILE:LINE" 4 '' \
	"^vss-meta: cannot load '$bad': $bad:3(:[0-9]+)?: " -- "$M" "$bad"
bad=$CLI_TMP/badguid.xml
sed 's/writerId="D61D61C8-D73A-4EEE-8CDD-F6F9786B7124"/writerId="not-a-guid"/' \
	"$WMD_TASKS" >"$bad"
expect_match "a WMD with a bad GUID: exit 4, FILE:LINE" 4 '' \
	"^vss-meta: cannot load '$bad': $bad:[0-9]+(:[0-9]+)?: .*writerId" -- "$M" "$bad"
bad=$CLI_TMP/badtype.xml
sed 's/backupType="log"/backupType="sometimes"/' "$BCD_SQL" >"$bad"
expect_match "a BCD with a bad backup type: exit 4, FILE:LINE" 4 '' \
	"^vss-meta: cannot load '$bad': $bad:2(:[0-9]+)?: .*backupType" -- "$M" "$bad"
bad=$CLI_TMP/xxe.xml
printf '<?xml version="1.0"?>\n<!DOCTYPE BACKUP_COMPONENTS [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<BACKUP_COMPONENTS>&x;</BACKUP_COMPONENTS>\n' >"$bad"
expect_match "a DOCTYPE with an external entity is refused" 4 '' \
	"^vss-meta: cannot load '$bad': $bad:[0-9]+" -- "$M" "$bad"
grep -q root: "$ERR" && fail_check "the external entity was not expanded" "$(cat "$ERR")"

other=$CLI_TMP/catalog.xml
printf '<?xml version="1.0"?>\n<!-- <WRITER_METADATA> -->\n<catalog xmlns="urn:vss:linux:snapshot:1" version="1"/>\n' >"$other"
expect "a document of another kind" 4 '' \
	"vss-meta: '$other' is neither a writer metadata document nor a backup components document" \
	-- "$M" "$other"
expect "not XML at all" 4 '' \
	"vss-meta: 'tests/cli/meta.sh' is neither a writer metadata document nor a backup components document" \
	-- "$M" tests/cli/meta.sh
: >"$CLI_TMP/empty.xml"
expect "an empty file" 4 '' \
	"vss-meta: '$CLI_TMP/empty.xml' is neither a writer metadata document nor a backup components document" \
	-- "$M" "$CLI_TMP/empty.xml"
expect "an empty standard input" 4 '' \
	"vss-meta: '<stdin>' is neither a writer metadata document nor a backup components document" \
	-- "$M" - </dev/null
expect "a missing file: exit 3" 3 '' \
	"vss-meta: cannot open '$CLI_TMP/nosuch.xml': No such file or directory" -- \
	"$M" "$CLI_TMP/nosuch.xml"
expect "a directory: exit 1" 1 '' "vss-meta: cannot read '$CLI_TMP': Is a directory" -- \
	"$M" "$CLI_TMP"
expect "a good file then a missing one: nothing printed" 3 '' \
	"vss-meta: cannot open '$CLI_TMP/nosuch.xml': No such file or directory" -- \
	"$M" "$WMD_SQL" "$CLI_TMP/nosuch.xml"

# ---- usage -------------------------------------------------------------------

expect "unknown long option" 2 '' "vss-meta: unrecognized option '--bogus'
$try" -- "$M" --bogus "$WMD_SQL"
expect "unknown short option" 2 '' "vss-meta: invalid option -- 'Z'
$try" -- "$M" -Z "$WMD_SQL"
expect "-o without an argument" 2 '' "vss-meta: option requires an argument -- 'o'
$try" -- "$M" -o
expect "no FILE" 2 '' "vss-meta: no document given
$try" -- "$M"
expect "--writers with --files" 2 '' "vss-meta: --writers and --files cannot be combined
$try" -- "$M" -w -f "$WMD_SQL"
expect "an unknown column, before any file is read" 2 '' "vss-meta: unknown column 'BOGUS'
$try" -- "$M" -o NAME,BOGUS "$CLI_TMP/nosuch.xml"
expect "a column of another view" 2 '' \
	"vss-meta: column 'PATH' is not a column of the components view
$try" -- "$M" -o PATH "$WMD_SQL"
expect "-o +" 2 '' "vss-meta: no columns given to --output
$try" -- "$M" -o + "$WMD_SQL"
expect "--files with a BCD" 2 '' \
	"vss-meta: --files needs writer metadata documents: '$BCD_SQL' is a backup components document
$try" -- "$M" --files "$WMD_SQL" "$BCD_SQL"

for opt in --help -h; do
	expect_match "vss-meta $opt" 0 "^Usage:\$" '' -- "$M" "$opt"
	grep -q "^ vss-meta \[options\] FILE" "$OUT" ||
		fail_check "vss-meta $opt names the tool" "no ' vss-meta [options] FILE' line"
	grep -q "Exit status:" "$OUT" ||
		fail_check "vss-meta $opt gives the exit status" "no 'Exit status:' line"
done
run "$M" --help
for col in SET BACKUP-TYPE WRITER WRITER-ID INSTANCE-ID INSTANCE-NAME USAGE SOURCE \
	RESTORE-METHOD COMPONENTS TYPE LOGICAL-PATH NAME CAPTION FILES SELECTABLE FLAGS STAMP \
	SUCCEEDED SELECTED-FOR-RESTORE COMPONENT KIND PATH FILESPEC RECURSIVE ALTERNATE; do
	grep -Eq "^ [W ][B ] $col " "$OUT" ||
		fail_check "vss-meta --help lists column $col" "not in the column lists"
done
for opt in --version -V; do
	expect "vss-meta $opt" 0 "vss-meta from vss $VSS_TEST_VERSION" '' -- "$M" "$opt"
done

# ---- output errors -------------------------------------------------------------

if [ -w /dev/full ]; then
	full() { "$@" >/dev/full; }
	werr="vss-meta: write error: No space left on device"
	expect "vss-meta FILE > /dev/full" 1 '' "$werr" -- full "$M" "$WMD_SQL"
	expect "vss-meta -J FILE > /dev/full" 1 '' "$werr" -- full "$M" -J "$BCD_SQL"
	expect "vss-meta --help > /dev/full" 1 '' "$werr" -- full "$M" --help
else
	echo "note: /dev/full is missing or not writable: write errors not checked"
fi

cli_finish
