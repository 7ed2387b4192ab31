#!/bin/bash
# SIGKILL of vss-create never leaves a filesystem frozen or a half-made set:
# vss-create of a btrfs + ext4-image set is killed at each stall point
# (prepared, frozen, committed, recorded) and at random times in a loop of
# creates, with writers running on both volumes.  After each kill the image
# volume accepts a write + sync within 1 s, and after the next vss command
# every catalogued copy exists and nothing on disk is unknown to the
# catalog; a set is never half there.  At the end a new set can be made and
# its copies hold what the writers had fsynced.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 1G)
e=$(make_image_volume "$h" evol 256M ext4)
start_writer wb "$b/records"
start_writer we "$e/records"

# kill_at POINT: start a create stalled at POINT, SIGKILL it there.
kill_at() {
	local point=$1 pid
	rm -f "$VSS_RUNDIR/stall-$point"
	VSS_TEST_STALL=$point scratch_bg vss-create "$b" "$e" >"$SCRATCH/log/kill-$point.out" 2>&1
	pid=$BG_PID
	wait_file "$VSS_RUNDIR/stall-$point" 30 || {
		cat "$SCRATCH/log/kill-$point.out" >&2
		fail "vss-create did not reach the stall point '$point' in 30 s"
	}
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	_undo_forget pid "$pid"
}

for point in prepared frozen committed recorded; do
	check "SIGKILL at '$point'"
	before=$(catalog_count)
	kill_at "$point"
	probe_writable "$e"
	probe_writable "$b"
	after=$(catalog_count)
	check_consistent "$b/.vss" "$h/.vss"
	# The creator is dead and the next command ran: no set is in progress.
	check_no_journal
	case $point in
	recorded)
		# The set was in the catalog when the process died: it is kept
		# whole, or rolled back whole.
		[ "$after" = "$before" ] || [ "$after" = $((before + 2)) ] ||
			fail "after a kill at '$point' $after copies are listed, expected $before or $((before + 2))"
		say "   the recorded set was $([ "$after" = "$before" ] && echo "rolled back" || echo "kept")"
		;;
	*)
		[ "$after" = "$before" ] ||
			fail "after a kill at '$point' $after copies are listed, expected $before (rolled back)"
		;;
	esac
done

check "SIGKILL at random times in a loop of creates"
# Kill times are spread over how long a create takes here, so every phase
# (journal, prepare, freeze, clone, properties, catalog) gets hit.
t0=$(date +%s%N)
run_ok vss-create "$b" "$e"
span=$((($(date +%s%N) - t0) / 1000000 + 20))
[ "$span" -le 999 ] || span=999
say "   a create takes about $((span - 20)) ms; killing at 0..$span ms"
for i in $(seq 40); do
	delay=$(printf '0.%03d' $((RANDOM % span)))
	scratch_bg vss-create "$b" "$e" >"$SCRATCH/log/random.$i.out" 2>&1
	pid=$BG_PID
	sleep "$delay"
	kill -KILL "$pid" 2>/dev/null || true
	rc=0
	wait "$pid" 2>/dev/null || rc=$?
	_undo_forget pid "$pid"
	say "   kill after ${delay}s: $([ "$rc" = 137 ] && echo killed || echo "had exited ($rc)")"
	probe_writable "$e"
	if [ $((i % 10)) = 0 ]; then
		check_consistent "$b/.vss" "$h/.vss"
	fi
done
check_consistent "$b/.vss" "$h/.vss"
check_no_journal
j=$(list_json -o ID,SET,COUNT)
jq -e '[.shadowcopies | group_by(.set)[] | (length == .[0].count)] | all' "$j" >/dev/null ||
	fail "a set is listed with fewer copies than it had: $(cat "$j")"

check "a new set can be made, and holds what the writers had fsynced"
minb=$(writer_status wb)
mine=$(writer_status we)
run_ok vss-create "$b" "$e"
check_copy "$(copy_of "$OUT" "$b")/records" "$minb"
m=$(mount_image_copy "$(copy_of "$OUT" "$e")" ext4)
check_copy "$m/records" "$mine"
unmount_image_copy "$m"

check "the live files are whole"
stop_writer wb
stop_writer we
"$SEQCHECK" "$b/records" "$(writer_status wb)" >/dev/null || fail "live btrfs file damaged"
"$SEQCHECK" "$e/records" "$(writer_status we)" >/dev/null || fail "live ext4 file damaged"
say "ok"
