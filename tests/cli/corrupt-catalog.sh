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
<catalog xmlns="urn:vss:linux:snapshot:1" version="1">
  <snapshot'
check_corrupt "not XML at all" 'this is not a catalog
at all
'
check_corrupt "an unbalanced element on line 3" '<?xml version="1.0"?>
<catalog xmlns="urn:vss:linux:snapshot:1" version="1">
</snapshot>
</catalog>
'
# Well-formed but not a catalog: invalid for the schema, also exit 4.
check_corrupt "the wrong document" '<?xml version="1.0"?>
<notacatalog/>
'

cli_finish
