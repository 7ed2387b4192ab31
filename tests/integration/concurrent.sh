#!/bin/bash
# One set at a time: while a vss-create is stalled after preparing its set
# (VSS_TEST_STALL=prepared), a second one fails at once with exit 5 and
# "another shadow copy set is being created", and one with --wait waits.
# The stalled one is then SIGKILLed: the waiting one goes on, and its
# recovery rolls the killed set back (nothing of it on disk or listed).
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" evol 128M ext4)
run_ok vss-create "$b" "$e"
base=$(catalog_count)

check "a vss-create stalls after preparing its set"
VSS_TEST_STALL=prepared scratch_bg vss-create "$b" "$e" >"$SCRATCH/log/first.out" 2>&1
first=$BG_PID
wait_file "$VSS_RUNDIR/stall-prepared" 20 || {
	cat "$SCRATCH/log/first.out" >&2
	fail "vss-create did not reach the 'prepared' stall point in 20 s"
}

# Its journal (the set it is making) is in the state dir's pending/.
journal=$(ls "$VSS_STATEDIR/pending/"*.xml 2>/dev/null || true)
[ "$(printf '%s' "$journal" | grep -c .)" = 1 ] ||
	fail "expected one journal in $VSS_STATEDIR/pending while a set is prepared: '$journal'"
killed_set="{$(basename "$journal" .xml)}"
say "   stalled set $killed_set"

check "a second vss-create fails at once with exit 5"
t0=$(date +%s%N)
run_rc 5 vss-create "$b"
ms=$((($(date +%s%N) - t0) / 1000000))
say "   refused in $ms ms: $(head -n1 "$ERR")"
grep -q 'another shadow copy set is being created' "$ERR" ||
	fail "the message does not say 'another shadow copy set is being created': $(cat "$ERR")"
[ "$ms" -lt 5000 ] || fail "the refusal took $ms ms; it must not wait"

check "vss-create --wait waits while the first set is in progress"
scratch_bg vss-create --wait "$b" >"$SCRATCH/log/wait.out" 2>&1
waiter=$BG_PID
sleep 1.5
_pid_alive "$waiter" || {
	cat "$SCRATCH/log/wait.out" >&2
	fail "vss-create --wait did not wait"
}

check "after the first is SIGKILLed, the waiting one finishes"
kill -KILL "$first"
wait "$first" 2>/dev/null || true
rc=0
for i in $(seq 300); do _pid_alive "$waiter" || break; sleep 0.1; done
_pid_alive "$waiter" && fail "vss-create --wait still waits 30 s after the first one died"
wait "$waiter" || rc=$?
[ "$rc" = 0 ] || {
	cat "$SCRATCH/log/wait.out" >&2
	fail "vss-create --wait exited $rc"
}
set=$(set_id_of "$SCRATCH/log/wait.out")
[ -n "$set" ] || fail "vss-create --wait printed no set: $(cat "$SCRATCH/log/wait.out")"

check "the killed set was rolled back: only the earlier copies and the new one"
[ ! -e "$journal" ] || fail "the journal of the killed set is still there: $journal"
check_no_journal
[ "$(catalog_count --set "$killed_set")" = 0 ] || fail "copies of the killed set are listed"
[ "$(catalog_count)" = $((base + 1)) ] || fail "expected $((base + 1)) copies, got $(catalog_count)"
check_consistent "$b/.vss" "$h/.vss"
probe_writable "$e"

check "the lock is free again"
run_ok vss-create "$b" "$e"
say "ok"
