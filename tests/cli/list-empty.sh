#!/bin/bash
# vss-list on an empty catalog: text prints nothing (not even headings) and
# exits 0; JSON prints {"shadowcopies": []}.  A missing catalog is an empty
# one.  An ID that names no copy is "not found" (3).
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

G=5f0f3c4e-0d7a-4e0c-9b55-2a8d3f7e9a10

# JSON compared without its whitespace (the layout is libsmartcols').
expect_json() {
	local name=$1 want=$2
	shift 2
	run "$@"
	if [ "$RC" = 0 ] && [ ! -s "$ERR" ] && [ "$(tr -d ' \n\t' <"$OUT")" = "$want" ]; then
		pass "$name"
	else
		fail_check "$name" "expected exit 0, no stderr, and $want"
		show_output
	fi
}

for state in "no catalog file" "an empty catalog"; do
	if [ "$state" = "an empty catalog" ]; then
		cat >"$VSS_STATEDIR/catalog.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<CATALOG xmlns="x-schema:#VssLinuxSnapshot" version="1"/>
XML
	fi
	expect "vss-list, $state" 0 '' '' -- "$BIN/vss-list"
	expect "vss-list -n, $state" 0 '' '' -- "$BIN/vss-list" -n
	expect "vss-list -r -o +HOLD, $state" 0 '' '' -- "$BIN/vss-list" -r -o +HOLD
	expect "vss-list --set, $state" 0 '' '' -- "$BIN/vss-list" --set "{$G}"
	expect_json "vss-list -J, $state" '{"shadowcopies":[]}' "$BIN/vss-list" -J
	expect_json "vss-list --json -o ID,OWNER, $state" '{"shadowcopies":[]}' \
		"$BIN/vss-list" --json -o ID,OWNER
	expect "vss-list ID, $state" 3 '' "vss-list: no shadow copy {$G}" -- "$BIN/vss-list" "$G"
	expect "vss-list -J ID, $state" 3 '' "vss-list: no shadow copy {$G}" -- \
		"$BIN/vss-list" -J "{$G}"
done

if command -v jq >/dev/null; then
	run "$BIN/vss-list" -J
	if jq -e '.shadowcopies == []' "$OUT" >/dev/null 2>&1; then
		pass "vss-list -J is valid JSON"
	else
		fail_check "vss-list -J is valid JSON" "jq does not read it"
		show_output
	fi
fi

cli_finish
