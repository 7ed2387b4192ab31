#!/bin/bash
# A corrupt or invalid catalog: vss-list (and vss-delete) fail with exit
# status 4 and a message naming the file and the line, print nothing on
# stdout, and leave the file as it was.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

cat="$VSS_STATEDIR/catalog.xml"
# The file name, quoted for an ERE.
cat_re=$(printf '%s' "$cat" | sed 's/[][\.*^$(){}+?|/]/\\&/g')

check_corrupt() {
	local what=$1 content=$2 sum
	printf '%s' "$content" >"$cat"
	sum=$(md5sum <"$cat")
	expect_match "vss-list, $what" 4 '' "^vss-list: .*$cat_re:[0-9]+" -- "$BIN/vss-list"
	expect_match "vss-list -J, $what" 4 '' "^vss-list: .*$cat_re:[0-9]+" -- "$BIN/vss-list" -J
	expect_match "vss-list ID, $what" 4 '' "^vss-list: .*$cat_re:[0-9]+" -- \
		"$BIN/vss-list" 5f0f3c4e-0d7a-4e0c-9b55-2a8d3f7e9a10
	if [ "$(id -u)" = 0 ]; then
		expect_match "vss-delete --all, $what" 4 '' "^vss-delete: .*$cat_re:[0-9]+" -- \
			"$BIN/vss-delete" --all
	fi
	if [ "$(md5sum <"$cat")" = "$sum" ]; then
		pass "the catalog is unchanged, $what"
	else
		fail_check "the catalog is unchanged, $what" "it was rewritten"
	fi
}

check_corrupt "truncated XML" '<?xml version="1.0" encoding="UTF-8"?>
<CATALOG xmlns="x-schema:#VssLinuxSnapshot" version="1">
  <SNAPSHOT'
check_corrupt "not XML at all" 'this is not a catalog
at all
'
check_corrupt "an unbalanced element on line 3" '<?xml version="1.0"?>
<CATALOG xmlns="x-schema:#VssLinuxSnapshot" version="1">
</SNAPSHOT>
</CATALOG>
'
# Well-formed but not a catalog: invalid for the schema, also exit 4.
check_corrupt "the wrong document" '<?xml version="1.0"?>
<notacatalog/>
'
# A copy without its status: the message names the attribute.
check_corrupt "a copy without its status" '<?xml version="1.0"?>
<CATALOG xmlns="x-schema:#VssLinuxSnapshot" version="1">
  <SNAPSHOT snapshotId="b5946137-7b9f-4925-af80-51abd60b20d5" snapshotSetId="cdf70d69-615e-4c56-9359-c9ca584f0d3e" snapshotsCount="1" snapshotAttributes="0" snapshotContext="0"/>
</CATALOG>
'

cli_finish
