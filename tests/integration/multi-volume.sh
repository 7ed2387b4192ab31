#!/bin/bash
# One shadow copy set over a btrfs volume and an ext4 image volume, both
# under a running writer: one set ID, one copy per volume, COUNT 2, and each
# copy holds at least what its writer had fsynced before vss-create.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" evol 256M ext4)
start_writer wb "$b/records"
start_writer we "$e/records"

for i in 1 2 3; do
	check "set $i of $b and $e"
	wait_writer wb $(($(writer_status wb) + 10))
	wait_writer we $(($(writer_status we) + 10))
	minb=$(writer_status wb)
	mine=$(writer_status we)
	run_ok vss-create "$b" "$e"
	set=$(set_id_of "$OUT")
	[ -n "$set" ] || fail "no set id in: $(cat "$OUT")"
	[ "$(copy_ids_of "$OUT" | wc -l)" = 2 ] || fail "expected 2 copies: $(cat "$OUT")"
	cb=$(copy_of "$OUT" "$b")
	ce=$(copy_of "$OUT" "$e")
	[ -d "$cb" ] || fail "no btrfs copy of $b in the output"
	[ -f "$ce" ] || fail "no image copy of $e in the output"
	probe_writable "$e"

	j=$(list_json --set "$set" -o ID,SET,VOLUME,PROVIDER,COUNT)
	jq -e --arg s "$set" '(.shadowcopies | length) == 2 and
		all(.shadowcopies[]; .set == $s and .count == 2)' "$j" >/dev/null ||
		fail "vss-list --set $set does not show 2 copies of count 2: $(cat "$j")"
	jq -e --arg b "$b" --arg e "$e" '
		([.shadowcopies[] | select(.volume == $b) | .provider] == ["btrfs"]) and
		([.shadowcopies[] | select(.volume == $e) | .provider] == ["image"])' "$j" >/dev/null ||
		fail "providers are not btrfs for $b and image for $e: $(cat "$j")"

	check_copy "$cb/records" "$minb"
	m=$(mount_image_copy "$ce" ext4)
	check_copy "$m/records" "$mine"
	unmount_image_copy "$m"
done

check "the catalog and the stores agree"
check_consistent "$b/.vss" "$h/.vss"
say "ok"
