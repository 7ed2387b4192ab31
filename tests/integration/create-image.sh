#!/bin/bash
# Copies of live ext4 and XFS volumes on loop devices whose images live on a
# scratch XFS (and an ext4 one on a scratch btrfs): each copy is a reflink
# clone <dir of image>/.vss/<id>.img with <id>.xml beside it; mounted
# read-only it must hold a gap-free run of whole records, at least as many as
# the writer had fsynced before vss-create started; the volume must take
# writes right after.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop xfs ext4 btrfs
require_cmd jq
scratch_init

h=$(make_xfs_host host 1G)
e=$(make_image_volume "$h" ext4vol 256M ext4)
x=$(make_image_volume "$h" xfsvol 320M xfs)
bh=$(make_btrfs bhost 512M)
be=$(make_image_volume "$bh" ext4onbtrfs 128M ext4)

# vol:host:fstype:writer
for spec in "$e:$h:ext4:we" "$x:$h:xfs:wx" "$be:$bh:ext4:wb"; do
	IFS=: read -r vol host fstype w <<<"$spec"
	start_writer "$w" "$vol/records"
done

for spec in "$e:$h:ext4:we" "$x:$h:xfs:wx" "$be:$bh:ext4:wb"; do
	IFS=: read -r vol host fstype w <<<"$spec"
	for i in 1 2 3; do
		check "copy $i of $fstype volume $vol (image on ${host##*/}) under a running writer"
		wait_writer "$w" $(($(writer_status "$w") + 10))
		min=$(writer_status "$w")
		run_ok vss-create "$vol"
		id=$(copy_ids_of "$OUT")
		copy=$(copy_of "$OUT" "$vol")
		[ "$copy" = "$host/.vss/$(bare_id "$id").img" ] ||
			fail "copy of $id is at '$copy', expected $host/.vss/$(bare_id "$id").img"
		[ -f "$host/.vss/$(bare_id "$id").xml" ] || fail "no properties file beside $copy"
		probe_writable "$vol"
		hold=$(jq '.shadowcopies[0].hold' "$(list_json -o ID,HOLD "$id")")
		say "   writes held for $hold ms"
		jq -n --argjson h "$hold" '$h >= 0 and $h <= 10000' >/dev/null ||
			fail "hold time $hold ms is outside 0..10000"
		m=$(mount_image_copy "$copy" "$fstype")
		n=$("$SEQCHECK" "$m/records" "$min") || fail "copy $id: bad records (needed $min)"
		say "   copy $i: $n records (writer had fsynced $min)"
		unmount_image_copy "$m"
	done
done

check "the catalog and the stores agree"
check_consistent "$h/.vss" "$bh/.vss"
[ "$(catalog_count)" = 9 ] || fail "vss-list does not show the 9 copies"

check "the live files are still good"
for w in we wx wb; do stop_writer "$w"; done
"$SEQCHECK" "$e/records" "$(writer_status we)" >/dev/null || fail "live ext4 file damaged"
"$SEQCHECK" "$x/records" "$(writer_status wx)" >/dev/null || fail "live xfs file damaged"
say "ok"
