#!/bin/bash
# Writer events go to all writers at once: 16 express writers whose Freeze
# hook takes 1 s to freeze are all frozen about 1 s after the first Freeze
# started, not 16 s (from the hooks' own timestamps: the last "frozen"
# minus the first Freeze start is under 3 s), and the set is made with each
# writer thawed once.  Then the same 16 with one failing Freeze: exit 6,
# and each of the 15 others gets Abort exactly once (its held freeze
# released once, no Thaw).
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd jq
scratch_init

N=16
b=$(make_btrfs data 512M)
mkdir -p "$VSS_SYSCONFDIR/writers.d" "$b/app"
echo data >"$b/app/file"

# hook [FAIL-EVENT]: logs "<writer>\t<what>\t<ns>"; Freeze takes 1 s, then
# says "frozen" and holds until stdin closes (or its freeze timeout).
HOOK=$SCRATCH/hook
cat >"$HOOK" <<'EOF'
#!/bin/bash
log() { printf '%s\t%s\t%s\n' "$VSS_WRITER_NAME" "$1" "$(date +%s%N)" >>"$HOOK_LOG"; }
log "$VSS_EVENT"
if [ "$VSS_EVENT" = Freeze ]; then
	sleep 1
	if [ "${1:-}" = Freeze ]; then
		echo "cannot freeze" >&2
		exit 1
	fi
	log frozen
	echo frozen
	read -r -t $(((VSS_FREEZE_TIMEOUT_MS + 999) / 1000)) _ || true
	log released
fi
exit 0
EOF
chmod +x "$HOOK"

# register I [FAIL-EVENT]: writer "Writer I" with a hook for every event.
register() {
	local i=$1 args=${2:-} ev hooks=''
	for ev in PrepareForBackup PrepareForSnapshot Freeze Thaw PostSnapshot Abort \
		BackupComplete BackupShutdown; do
		hooks+="  <HOOK event=\"$ev\" command=\"$HOOK $args\"/>"$'\n'
	done
	cat >"$VSS_SYSCONFDIR/writers.d/w$(printf %02d "$i").xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<EXPRESS_WRITER xmlns="x-schema:#VssLinuxExpressWriter" version="1" freezeTimeout="30">
$hooks  <WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2">
    <IDENTIFICATION writerId="7e57fa11-1600-4000-8000-$(printf %012d "$i")"
        friendlyName="Writer $i" usage="USER_DATA" dataSource="OTHER"/>
    <BACKUP_LOCATIONS>
    <FILE_GROUP componentName="app" caption="app">
      <FILE_LIST path="$b/app" filespec="*" recursive="yes"/>
    </FILE_GROUP>
    </BACKUP_LOCATIONS>
  </WRITER_METADATA>
</EXPRESS_WRITER>
EOF
}

calls() { awk -F'\t' -v w="$1" -v e="$2" '$1 == w && $2 == e' "$HOOK_LOG" | wc -l; }
expect_calls() {
	local n
	n=$(calls "$1" "$2")
	[ "$n" = "$3" ] || {
		sed 's/^/  | /' "$HOOK_LOG" >&2
		fail "'$1' got $2 $n times, expected $3"
	}
}

check "$N writers whose Freeze takes 1 s: all frozen within 3 s of the first Freeze"
for i in $(seq "$N"); do register "$i"; done
[ "$(vss-list --writers -n | wc -l)" = "$N" ] || fail "vss-list --writers does not list $N writers"
export HOOK_LOG=$SCRATCH/log/hooks.parallel
: >"$HOOK_LOG"
t0=$(date +%s%N)
run_ok vss-create "$b"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$(catalog_count)" = 1 ] || fail "the set was not made"
first=$(awk -F'\t' '$2 == "Freeze" { print $3 }' "$HOOK_LOG" | sort -n | head -n 1)
last=$(awk -F'\t' '$2 == "frozen" { print $3 }' "$HOOK_LOG" | sort -n | tail -n 1)
[ -n "$first" ] && [ -n "$last" ] || fail "no Freeze timestamps in $HOOK_LOG"
span=$(((last - first) / 1000000))
say "   Freeze fan-out: last frozen $span ms after the first Freeze start; vss-create took $ms ms"
[ "$span" -ge 1000 ] || fail "the writers were frozen after $span ms, before their 1 s hooks ended"
[ "$span" -lt 3000 ] || fail "freezing $N writers took $span ms: not in parallel (each takes 1 s)"
for i in $(seq "$N"); do
	for ev in PrepareForBackup PrepareForSnapshot Freeze frozen released Thaw PostSnapshot BackupShutdown; do
		expect_calls "Writer $i" "$ev" 1
	done
	expect_calls "Writer $i" Abort 0
done
check_consistent "$b/.vss"
run_ok vss-delete --all

check "$N writers, one fails Freeze: each of the others gets Abort exactly once"
register 7 Freeze
export HOOK_LOG=$SCRATCH/log/hooks.failing
: >"$HOOK_LOG"
run_rc 6 vss-create "$b"
grep -qF "writer 'Writer 7' failed at Freeze" "$ERR" || fail "stderr does not name the writer: $(cat "$ERR")"
[ "$(catalog_count)" = 0 ] || fail "a copy is left after a writer failed"
check_consistent "$b/.vss"
check_no_journal
probe_writable "$b"
for i in $(seq "$N"); do
	expect_calls "Writer $i" Abort 1
	expect_calls "Writer $i" Thaw 0
	expect_calls "Writer $i" PostSnapshot 0
	expect_calls "Writer $i" BackupShutdown 1
	if [ "$i" != 7 ]; then
		expect_calls "Writer $i" frozen 1
		expect_calls "Writer $i" released 1
	fi
done
expect_calls "Writer 7" frozen 0
vss-list --writers -o NAME,STATE >"$SCRATCH/log/writers" || fail "vss-list --writers failed"
grep -q '^Writer 7 .*\[9\] Failed at freeze' "$SCRATCH/log/writers" ||
	fail "Writer 7 is not shown failed at freeze: $(cat "$SCRATCH/log/writers")"
[ "$(grep -c '\[1\] Stable' "$SCRATCH/log/writers")" = $((N - 1)) ] ||
	fail "the $((N - 1)) aborted writers are not all stable: $(cat "$SCRATCH/log/writers")"
say "ok"
