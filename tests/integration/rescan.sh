#!/bin/bash
# The catalog is an index that can be rebuilt: after catalog.xml is deleted,
# vss-list --rescan finds every copy again from the properties kept beside
# them (same IDs, sets, volumes, copies); a corrupt catalog is an "invalid
# document" (exit 4) until --rescan sets it aside and rebuilds it; a copy
# deleted behind our back (btrfs subvolume delete, rm of the image) is
# reported and dropped by --rescan.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq btrfs
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" evol 128M ext4)
catalog=$VSS_STATEDIR/catalog.xml

for i in 1 2 3; do
	run_ok vss-create "$b" "$e"
done
run_ok vss-create "$b"
# The fields that must survive a rebuild, sorted by ID.  A rescan looks at
# every mounted filesystem, so it also finds copies other tests on this
# machine are making at the same time: only ours are compared.
fields() {
	jq -S --arg top "$SCRATCH/" '[.shadowcopies[] | select(.volume | startswith($top))
		| {id, set, volume, copy, provider, count}] | sort_by(.id)' \
		"$(list_json -o ID,SET,VOLUME,COPY,PROVIDER,COUNT)"
}
before=$(fields)
[ "$(jq length <<<"$before")" = 7 ] || fail "expected 7 copies before the rescan"
[ -f "$catalog" ] || fail "no catalog at $catalog"

check "vss-list --rescan rebuilds a deleted catalog with the same copies"
rm "$catalog"
run_ok vss-list --rescan
after=$(fields)
[ "$before" = "$after" ] || {
	diff <(echo "$before") <(echo "$after") >&2 || true
	fail "the rebuilt catalog differs"
}
check_consistent "$b/.vss" "$h/.vss"

check "a corrupt catalog is reported as an invalid document, then rebuilt"
printf '<?xml version="1.0"?>\n<CATALOG><SNAPSHOT snapshotId="{broken' >"$catalog"
run_rc 4 vss-list
grep -q 'catalog' "$ERR" || fail "the error does not name the catalog: $(cat "$ERR")"
run_ok vss-list --rescan
[ -e "$catalog.corrupt" ] || fail "the corrupt catalog was not set aside as catalog.xml.corrupt"
after=$(fields)
[ "$before" = "$after" ] || fail "the catalog rebuilt after corruption differs"

check "copies deleted behind our back are reported and dropped by --rescan"
jq -r --arg b "$b" '[.shadowcopies[] | select(.volume == $b)][0] | "\(.id) \(.copy)"' \
	"$(list_json)" >"$SCRATCH/log/victim.b"
jq -r --arg e "$e" '[.shadowcopies[] | select(.volume == $e)][0] | "\(.id) \(.copy)"' \
	"$(list_json)" >"$SCRATCH/log/victim.e"
read -r idb copyb <"$SCRATCH/log/victim.b"
read -r ide copye <"$SCRATCH/log/victim.e"
btrfs subvolume delete "$copyb" >/dev/null || fail "btrfs subvolume delete $copyb failed"
rm "$copye"
run_ok vss-list --rescan
grep -qiF "$idb" "$OUT" "$ERR" || fail "--rescan did not report the missing copy $idb"
grep -qiF "$ide" "$OUT" "$ERR" || fail "--rescan did not report the missing copy $ide"
j=$(list_json)
jq -e --arg a "$idb" --arg c "$ide" 'all(.shadowcopies[]; .id != $a and .id != $c)' "$j" \
	>/dev/null || fail "copies deleted behind our back are still listed"
[ "$(fields | jq length)" = 5 ] || fail "expected 5 copies left"
[ ! -e "${copye%.img}.xml" ] || fail "the properties file of the removed image is still there"
check_consistent "$b/.vss" "$h/.vss"

check "a properties file lost beside its copy is written again from the catalog"
read -r idr copyr < <(jq -r --arg b "$b" '[.shadowcopies[] | select(.volume == $b)][0]
	| "\(.id) \(.copy)"' "$(list_json)")
props="$b/.vss/$(bare_id "$idr").xml"
cp "$props" "$SCRATCH/log/props.orig"
rm "$props"
run_ok vss-list --rescan
grep -qF "restored the properties file of shadow copy $idr" "$ERR" ||
	fail "--rescan did not report restoring the properties of $idr: $(cat "$ERR")"
cmp -s "$props" "$SCRATCH/log/props.orig" ||
	fail "the restored properties file of $idr differs from the original"
[ "$(fields | jq length)" = 5 ] || fail "restoring a properties file changed the catalog"

check "--rescan needs root"
run_rc 1 setpriv --reuid=nobody --regid=nogroup --clear-groups vss-list --rescan
say "ok"
