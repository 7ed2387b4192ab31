#!/bin/bash
# Only root drives writers: a live writer (vss-sample-writer) refuses a
# requester of another user (SO_PEERCRED) with "result=refused" and runs
# no handler, while root is served; on SIGTERM it unsubscribes and its
# socket is gone.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
[ "$(id -u)" = 0 ] || skip "needs root (to connect as another user)"
require_cmd setpriv
[ -x "$VSS_BUILD/bin/vss-sample-writer" ] || fail "$VSS_BUILD/bin/vss-sample-writer is not built (run make)"
scratch_init
id nobody >/dev/null 2>&1 || skip "there is no user 'nobody'"
nobody_gid=$(id -g nobody)

events=$SCRATCH/log/events
scratch_bg vss-sample-writer --name "peercred test" --log "$events" \
	>"$SCRATCH/log/socket" 2>"$SCRATCH/log/writer.err"
writer=$BG_PID

check "the writer prints its socket path once subscribed"
for _ in $(seq 100); do
	[ -s "$SCRATCH/log/socket" ] && break
	_pid_alive "$writer" || { cat "$SCRATCH/log/writer.err" >&2; fail "the writer died"; }
	sleep 0.05
done
sock=$(cat "$SCRATCH/log/socket")
[ -n "$sock" ] || fail "the writer printed no socket path in 5 s"
case $sock in
"$VSS_RUNDIR"/writers/*.sock) ;;
*) fail "socket '$sock' is not in $VSS_RUNDIR/writers" ;;
esac
[ -S "$sock" ] || fail "'$sock' is not a socket"
say "   $sock"
[ "$(stat -c %a "$sock")" = 666 ] || fail "socket mode is $(stat -c %a "$sock"), expected 666"
[ "$(stat -c %a "$VSS_RUNDIR/writers")" = 755 ] ||
	fail "socket directory mode is $(stat -c %a "$VSS_RUNDIR/writers"), expected 755"

as_nobody() { setpriv --reuid=nobody --regid="$nobody_gid" --clear-groups "$@"; }

check "as nobody: the writer refuses, and no handler runs"
run_rc 1 as_nobody vss-sample-writer --probe "$sock"
grep -qx 'result=refused' "$OUT" || fail "no 'result=refused' in the reply: $(cat "$OUT" "$ERR")"
grep -qx 'message=only root may drive writers' "$OUT" ||
	fail "the refusal does not say why: $(cat "$OUT")"
say "   $(tr '\n' ' ' <"$OUT")"
if [ -s "$events" ]; then
	fail "a handler ran for nobody: $(cat "$events")"
fi
_pid_alive "$writer" || fail "the writer died after refusing a peer"

check "a raw request as nobody gets the same refusal (python3 client)"
# The system's python3: a per-user install (pyenv shims) is not nobody's.
py=
for c in /usr/bin/python3 "$(command -v python3 || true)"; do
	[ -n "$c" ] && [ -x "$c" ] && as_nobody "$c" -c pass 2>/dev/null && { py=$c; break; }
done
if [ -n "$py" ]; then
	as_nobody "$py" - "$sock" >"$OUT" 2>"$ERR" <<'PY' || fail "python3 client failed: $(cat "$ERR")"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
try:
    s.sendall(b"event=Freeze\nset={00000000-0000-0000-0000-000000000001}\n\n")
except OSError:
    pass
data = b""
while b"\n\n" not in data:
    try:
        chunk = s.recv(4096)
    except ConnectionResetError:
        break
    if not chunk:
        break
    data += chunk
sys.stdout.write(data.decode())
PY
	grep -qx 'result=refused' "$OUT" || fail "python3 client: no refusal: $(cat "$OUT")"
	[ ! -s "$events" ] || fail "a handler ran for nobody: $(cat "$events")"
else
	say "   (python3 is not usable as nobody here; the --probe check above stands)"
fi

check "root is served"
run_ok vss-sample-writer --probe "$sock"
grep -qx 'result=ok' "$OUT" || fail "root got no result=ok: $(cat "$OUT")"
grep -qx 'name=peercred test' "$OUT" || fail "the reply does not name the writer: $(cat "$OUT")"
[ "$(wc -l <"$events")" = 1 ] && grep -q ' Identify {00000000-0000-0000-0000-000000000000}$' "$events" ||
	fail "the writer's log is not one Identify: $(cat "$events")"

check "SIGTERM: the writer unsubscribes and exits 0"
kill -TERM "$writer"
rc=0
wait "$writer" || rc=$?
_undo_forget pid "$writer"
[ "$rc" = 0 ] || fail "the writer exited with $rc: $(cat "$SCRATCH/log/writer.err")"
[ ! -e "$sock" ] || fail "the socket '$sock' is left behind"
say "ok"
