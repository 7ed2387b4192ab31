#!/bin/bash
# A requester that dies or stops while writers are frozen never leaves them
# frozen.  vss-create is held at the "writers-frozen" stall point
# (VSS_TEST_STALL: every writer acknowledged Freeze, nothing committed yet)
# with two writers frozen: an express writer whose Freeze hook holds (says
# "frozen", waits on its stdin with read -t) and a live writer
# (vss-sample-writer, holding an flock from Freeze to Thaw/Abort).
#   SIGKILL: the express hook sees its stdin close and thaws at once
#     (< 1 s), the live writer sees its requester's connection close and
#     aborts (< 1 s), each exactly once; the next vss command rolls the
#     half-made set back (nothing left).
#   SIGSTOP: nobody closes anything; each writer thaws by itself when its
#     own freeze timeout (2 s) has passed since Freeze, within 2 + 1 s, and
#     exactly once, also after the stopped requester is then killed.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd jq flock
[ -x "$VSS_BUILD/bin/vss-sample-writer" ] || fail "$VSS_BUILD/bin/vss-sample-writer is not built (run make)"
scratch_init

b=$(make_btrfs data 512M)
mkdir -p "$VSS_SYSCONFDIR/writers.d" "$b/app"
echo data >"$b/app/file"
HOLD=$SCRATCH/live.hold

# The express writer's Freeze hook: "frozen", then hold until stdin reaches
# end-of-file or its own freeze timeout passes; the log says which.
HOOK=$SCRATCH/hook
cat >"$HOOK" <<'EOF'
#!/bin/bash
log() { printf '%s\t%s\n' "$1" "$(date +%s%N)" >>"$HOOK_LOG"; }
log "$VSS_EVENT"
if [ "$VSS_EVENT" = Freeze ]; then
	echo frozen
	log frozen
	rc=0
	read -r -t $(((VSS_FREEZE_TIMEOUT_MS + 999) / 1000)) _ || rc=$?
	# read: 1 at end-of-file, > 128 when its timeout passed
	if [ "$rc" -gt 128 ]; then log "released timeout"; else log "released eof"; fi
fi
exit 0
EOF
chmod +x "$HOOK"

# express FREEZE-TIMEOUT: (re)register the express writer.
express() {
	local ev hooks=''
	for ev in PrepareForBackup PrepareForSnapshot Freeze Thaw PostSnapshot Abort BackupShutdown; do
		hooks+="  <HOOK event=\"$ev\" command=\"$HOOK\"/>"$'\n'
	done
	cat >"$VSS_SYSCONFDIR/writers.d/express.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<EXPRESS_WRITER xmlns="x-schema:#VssLinuxExpressWriter" version="1" freezeTimeout="$1">
$hooks  <WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2">
    <IDENTIFICATION writerId="7e57fa11-4111-4000-8000-000000000001"
        friendlyName="Express Writer" usage="USER_DATA" dataSource="OTHER"/>
    <BACKUP_LOCATIONS>
    <FILE_GROUP componentName="app" caption="app">
      <FILE_LIST path="$b/app" filespec="*" recursive="yes"/>
    </FILE_GROUP>
    </BACKUP_LOCATIONS>
  </WRITER_METADATA>
</EXPRESS_WRITER>
EOF
}

LIVE_PID=
LIVE_LOG=
# live_start FREEZE-TIMEOUT: a live writer with its own log; waits for its socket.
live_start() {
	local i
	LIVE_LOG=$SCRATCH/log/live.$1.log
	: >"$LIVE_LOG"
	scratch_bg vss-sample-writer --name "Live Writer" --path "$b/app" --log "$LIVE_LOG" \
		--freeze-timeout "$1" --hold-file "$HOLD" >"$SCRATCH/log/live.$1.out" 2>&1
	LIVE_PID=$BG_PID
	for i in $(seq 100); do
		vss-list --writers -n -o NAME 2>/dev/null | grep -qx 'Live Writer' && return 0
		_pid_alive "$LIVE_PID" || break
		sleep 0.05
	done
	cat "$SCRATCH/log/live.$1.out" >&2
	fail "the live writer did not answer on its socket within 5 s"
}

live_stop() {
	kill -TERM "$LIVE_PID" 2>/dev/null || true
	for _ in $(seq 50); do
		_pid_alive "$LIVE_PID" || break
		sleep 0.1
	done
	_pid_alive "$LIVE_PID" && fail "the live writer did not stop on SIGTERM"
	wait "$LIVE_PID" 2>/dev/null || true
	_undo_forget pid "$LIVE_PID"
	LIVE_PID=
}

# Lines of the live writer's log for EVENT ("<ns> <event> <set>").
live_calls() { awk -v e="$1" '$2 == e' "$LIVE_LOG" | wc -l; }
hook_calls() { awk -F'\t' -v e="$1" '$1 == e' "$HOOK_LOG" | wc -l; }

# wait_for SECONDS CONDITION...: until CONDITION holds; prints the ms waited.
wait_for() {
	local limit=$(($1 * 1000)) t0 ms
	shift
	t0=$(date +%s%N)
	while :; do
		ms=$((($(date +%s%N) - t0) / 1000000))
		if "$@"; then
			printf '%s\n' "$ms"
			return 0
		fi
		[ "$ms" -lt "$limit" ] || return 1
		sleep 0.02
	done
}

live_aborted() { [ "$(live_calls Abort)" -ge 1 ]; }
hook_released() { grep -q "^released" "$HOOK_LOG"; }
hold_free() { flock -n "$HOLD" true; }

# stall: start vss-create held at writers-frozen; sets VSS_PID.
VSS_PID=
stall() {
	rm -f "$VSS_RUNDIR/stall-writers-frozen"
	VSS_TEST_STALL=writers-frozen scratch_bg vss-create "$b" >"$SCRATCH/log/create.$1" 2>&1
	VSS_PID=$BG_PID
	wait_file "$VSS_RUNDIR/stall-writers-frozen" 30 || {
		cat "$SCRATCH/log/create.$1" >&2
		fail "vss-create did not reach the stall point 'writers-frozen' in 30 s"
	}
	# Both writers are frozen now.
	[ "$(hook_calls frozen)" = 1 ] || fail "the express writer is not frozen: $(cat "$HOOK_LOG")"
	[ "$(live_calls Freeze)" = 1 ] || fail "the live writer got no Freeze: $(cat "$LIVE_LOG")"
	if hold_free; then fail "the live writer does not hold its freeze lock"; fi
}

reap_vss() {
	wait "$VSS_PID" 2>/dev/null || true
	_undo_forget pid "$VSS_PID"
}

# Thawed once, and still once a little later (no second Thaw or Abort).
expect_once() {
	local when
	for when in now later; do
		[ "$(live_calls Abort)" = 1 ] || fail "the live writer got Abort $(live_calls Abort) times ($when): $(cat "$LIVE_LOG")"
		[ "$(live_calls Thaw)" = 0 ] || fail "the live writer got Thaw as well as Abort: $(cat "$LIVE_LOG")"
		[ "$(grep -c '^released' "$HOOK_LOG")" = 1 ] || fail "the express hook was released more than once: $(cat "$HOOK_LOG")"
		[ "$(hook_calls Thaw)" = 0 ] || fail "the express writer's Thaw hook ran: $(cat "$HOOK_LOG")"
		[ "$when" = now ] && sleep 0.5
	done
	return 0
}

# The next vss command rolls back the half-made set.
expect_rolled_back() {
	[ "$(catalog_count)" = 0 ] || fail "a copy of the killed set is listed"
	check_consistent "$b/.vss"
	check_no_journal
	[ -z "$(store_names "$b/.vss")" ] || fail "left in $b/.vss: $(store_names "$b/.vss")"
	probe_writable "$b"
}

# ---- SIGKILL --------------------------------------------------------------------

check "SIGKILL while writers are frozen: both thaw at once, exactly once"
express 30
live_start 30
export HOOK_LOG=$SCRATCH/log/hooks.kill
: >"$HOOK_LOG"
stall kill
kill -KILL "$VSS_PID"
reap_vss
ms=$(wait_for 1 hook_released) || fail "the express Freeze hook did not thaw within 1 s of SIGKILL: $(cat "$HOOK_LOG")"
say "   express hook released after $ms ms"
grep -q '^released eof' "$HOOK_LOG" || fail "the express hook did not see end-of-file: $(cat "$HOOK_LOG")"
ms=$(wait_for 1 live_aborted) || fail "the live writer did not abort within 1 s of SIGKILL: $(cat "$LIVE_LOG")"
say "   live writer aborted after $ms ms"
wait_for 1 hold_free >/dev/null || fail "the live writer still holds its freeze lock after Abort"
expect_once
check "SIGKILL: the next vss command rolls the set back"
expect_rolled_back
live_stop

# ---- SIGSTOP --------------------------------------------------------------------

check "SIGSTOP while writers are frozen: each thaws by itself after its 2 s freeze timeout"
express 2
live_start 2
export HOOK_LOG=$SCRATCH/log/hooks.stop
: >"$HOOK_LOG"
stall stop
kill -STOP "$VSS_PID"
ms=$(wait_for 3 live_aborted) || fail "the live writer did not abort within 2 + 1 s with its requester stopped: $(cat "$LIVE_LOG")"
say "   live writer aborted by itself after $ms ms"
# From its own log (monotonic ns): Abort came its freeze timeout after Freeze.
f=$(awk '$2 == "Freeze" { print $1 }' "$LIVE_LOG")
a=$(awk '$2 == "Abort" { print $1 }' "$LIVE_LOG")
say "   live writer: Abort $(((a - f) / 1000000)) ms after Freeze"
[ $(((a - f) / 1000000)) -ge 1900 ] && [ $(((a - f) / 1000000)) -le 3000 ] ||
	fail "the live writer aborted $(((a - f) / 1000000)) ms after Freeze; its freeze timeout is 2 s"
wait_for 1 hold_free >/dev/null || fail "the live writer still holds its freeze lock after Abort"
ms=$(wait_for 3 hook_released) || fail "the express Freeze hook did not thaw by itself within 2 + 1 s: $(cat "$HOOK_LOG")"
grep -q '^released timeout' "$HOOK_LOG" || fail "the express hook was not released by its own timeout: $(cat "$HOOK_LOG")"
# The writers' clocks started at Freeze, before the stall point: measure from there.
f=$(awk -F'\t' '$1 == "Freeze" { print $2 }' "$HOOK_LOG")
r=$(awk -F'\t' '$1 ~ /^released/ { print $2 }' "$HOOK_LOG")
say "   express hook released by itself $(((r - f) / 1000000)) ms after Freeze"
[ $(((r - f) / 1000000)) -ge 1900 ] && [ $(((r - f) / 1000000)) -le 3000 ] || fail "the express hook thawed $(((r - f) / 1000000)) ms after Freeze (timeout 2 s)"
_pid_alive "$VSS_PID" || fail "the stopped vss-create is gone"
check "SIGSTOP: kill the stopped requester; still exactly once"
kill -KILL "$VSS_PID"
reap_vss
expect_once
expect_rolled_back
live_stop
say "ok"
