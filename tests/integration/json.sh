#!/bin/bash
# JSON output parses with jq and has typed values: vss-create -J and
# vss-list -J give {"shadowcopies": [...]} with IDs as "{...}" strings, HOLD,
# COUNT (and OWNER) as numbers, CREATED as ISO 8601; -o, -n, -r, --for,
# --set and IDs select what is shown; an empty catalog is an empty array.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" evol 128M ext4)
guid='^\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}$'

check "an empty catalog lists as an empty array"
j=$(list_json)
jq -e '.shadowcopies == []' "$j" >/dev/null || fail "not an empty array: $(cat "$j")"

check "vss-create -J"
run_ok vss-create -J "$b" "$e"
jq -e --arg g "$guid" '
	(.set | type == "string" and test($g; "i")) and
	(.shadowcopies | length == 2) and
	all(.shadowcopies[]; (.id | test($g; "i")))' "$OUT" >/dev/null ||
	fail "vss-create -J output: $(cat "$OUT")"
set=$(jq -r .set "$OUT")
run_ok vss-create "$b"

all=ID,SET,VOLUME,DEVICE,COPY,PROVIDER,CREATED,STATE,TYPE,ATTRIBUTES,HOLD,COUNT,OWNER
check "vss-list -J -o $all: types"
j=$(list_json -o "$all")
jq . "$j"
jq -e --arg g "$guid" '
	(.shadowcopies | length == 3) and
	all(.shadowcopies[];
		(.id | type == "string" and test($g; "i")) and
		(.set | type == "string" and test($g; "i")) and
		(.volume | type == "string" and startswith("/")) and
		(.copy | type == "string" and startswith("/")) and
		(.provider == "btrfs" or .provider == "image") and
		(.created | type == "string" and test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")) and
		(.state | type == "string") and
		(.type | type == "string") and
		(.attributes | type == "string") and
		(.hold | type == "number" and . >= 0) and
		(.count | type == "number") and
		(.owner == null or (.owner | type == "number")))' "$j" >/dev/null ||
	fail "vss-list -J values are not of the expected types"
jq -e --arg s "$set" '[.shadowcopies[] | select(.set == $s) | .count] == [2, 2]' "$j" \
	>/dev/null || fail "COUNT of the 2-volume set is not 2"
jq -e --arg b "$b" '[.shadowcopies[] | select(.volume == $b)] | length == 2' "$j" \
	>/dev/null || fail "expected 2 copies of $b"
jq -e '[.shadowcopies[].device] | all(type == "string" and startswith("/dev/"))' "$j" \
	>/dev/null || fail "DEVICE is not a /dev path"

check "-o picks the keys, in that order"
j=$(list_json -o id,hold)
jq -e 'all(.shadowcopies[]; keys_unsorted == ["id", "hold"])' "$j" >/dev/null ||
	fail "-o id,hold gives other keys: $(cat "$j")"

check "--for, --set and IDs filter"
[ "$(catalog_count --for "$b")" = 2 ] || fail "--for $b"
[ "$(catalog_count --for "$e")" = 1 ] || fail "--for $e"
[ "$(catalog_count --set "$set")" = 2 ] || fail "--set $set"
id=$(jq -r '.shadowcopies[0].id' "$(list_json)")
[ "$(catalog_count "$id")" = 1 ] || fail "listing one ID"
run_rc 3 vss-list "{00000000-0000-4000-8000-000000000000}"

check "-n -r -o ID: bare IDs, one per line"
run_ok vss-list -n -r -o ID
[ "$(wc -l <"$OUT")" = 3 ] || fail "expected 3 lines: $(cat "$OUT")"
grep -Eiqv "$guid" "$OUT" && fail "not only IDs: $(cat "$OUT")"

check "the text table has a header"
run_ok vss-list
head -n1 "$OUT" | grep -q 'ID' || fail "no header: $(head -n1 "$OUT")"
[ "$(wc -l <"$OUT")" = 4 ] || fail "expected a header and 3 rows"

check "bad options are usage errors"
run_rc 2 vss-list -o NOSUCHCOLUMN
run_rc 2 vss-list --no-such-option
run_rc 2 vss-list not-a-guid
say "ok"
