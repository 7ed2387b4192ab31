#!/bin/bash
# Copies of a live btrfs volume: while a workload appends fsynced, numbered
# records, each copy must be a read-only subvolume at <volume>/.vss/<id>
# holding a gap-free run of whole records, at least as many as the writer
# had fsynced before vss-create started.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd jq btrfs
scratch_init

b=$(make_btrfs data 512M)
start_writer w "$b/records"
wait_writer w 20

last=0
for i in 1 2 3 4 5; do
	check "copy $i of $b under a running writer"
	min=$(writer_status w)
	run_ok vss-create "$b"
	set=$(set_id_of "$OUT")
	id=$(copy_ids_of "$OUT")
	copy=$(copy_of "$OUT" "$b")
	[ -n "$set" ] || fail "no 'Shadow copy set {id}' line in: $(cat "$OUT")"
	[ "$(printf '%s\n' "$id" | wc -l)" = 1 ] || fail "expected one copy, got: $(cat "$OUT")"
	[ "$copy" = "$b/.vss/$(bare_id "$id")" ] ||
		fail "copy of $id is at '$copy', expected $b/.vss/$(bare_id "$id")"
	[ "$(btrfs property get -ts "$copy" ro)" = "ro=true" ] ||
		fail "$copy is not a read-only subvolume"
	if touch "$copy/probe" 2>/dev/null; then
		fail "could write into the copy $copy"
	fi
	# Earlier copies must not nest inside later ones (.vss is a subvolume).
	[ -z "$(ls -A "$copy/.vss" 2>/dev/null)" ] || fail "$copy/.vss holds earlier copies"
	n=$("$SEQCHECK" "$copy/records" "$min") || fail "copy $id: bad records (needed $min)"
	say "   copy $i: $n records (writer had fsynced $min)"
	[ "$n" -ge "$last" ] || fail "copy $i holds fewer records ($n) than copy $((i - 1)) ($last)"
	last=$n
	wait_writer w $((min + 10))
done

check "vss-list shows the five copies, and each is in the catalog as on disk"
[ "$(catalog_count --for "$b")" = 5 ] || fail "vss-list --for $b does not show 5 copies"
check_consistent "$b/.vss"

check "the live file is still good after the copies"
stop_writer w
"$SEQCHECK" "$b/records" "$(writer_status w)" >/dev/null || fail "live file damaged"
say "ok"
