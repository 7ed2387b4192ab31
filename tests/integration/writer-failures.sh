#!/bin/bash
# Writer failures are contained: whatever a writer does wrong, vss-create
# names it, keeps no half-made set, leaves no filesystem frozen and no hook
# process running, and sends every other writer Abort exactly once (and
# never Thaw twice).  On a btrfs volume plus an ext4 volume on a loop image
# (the image provider: the freeze guard FIFREEZEs it), with express writers
# whose hooks log "<writer> <event>" to one log per run:
#   (a) a hung writer (its Freeze hook sleeps, freezeTimeout 2 s): exit 6
#       within 2 + 1 s naming writer, event and "Timed out"; no copy left;
#       both volumes writable at once; vss-list --writers shows
#       "[9] Failed at freeze" and "Timed out"; the hook's processes gone;
#   (b) a writer failing at each of PrepareForBackup, PrepareForSnapshot,
#       Freeze, Thaw and PostSnapshot, by exit status and by a "failure"
#       line: exit 6 naming writer and event, nothing kept, no later event
#       sent, the healthy writer got Abort once and Thaw at most once, the
#       state shown by vss-list --writers; a BackupComplete failure with
#       --backup-complete keeps the copies, exits 6, "Failed at backup
#       complete";
#   (c) --ignore-writer-failures: the set is made, stderr says the writer's
#       data is only crash-consistent, the failing writer got Abort;
#   (d) --exclude-writer: the writer's hooks never run; an unknown name is
#       an error and nothing is made;
#   (e) --no-writers: no hook runs; the copies' type and attributes say so;
#   (g) a writer whose files are all on a volume outside the set hears
#       nothing at all;
#   (f) INCONSISTENTSNAPSHOT: a component with files on two volumes, only
#       one of them in the set: exit 6, "Inconsistent shadow copy", nothing
#       frozen or kept; with both volumes the set is made.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq pgrep
scratch_init

b=$(make_btrfs data 512M)
b2=$(make_btrfs other 256M)
h=$(make_xfs_host host 1G)
e=$(make_image_volume "$h" evol 256M ext4)
mkdir -p "$VSS_SYSCONFDIR/writers.d" "$b/app" "$b2/app"
echo one >"$b/app/file"
echo two >"$b2/app/file"

# ---- express writers ----------------------------------------------------------

# hook [EVENT MODE]: logs "<writer>\t<event>" to $HOOK_LOG (inherited from
# vss-create), fails at EVENT by MODE (exit: status 1 with a stderr line;
# line: a "failure RETRYABLE" line and status 0; hang: sleeps 60 s),
# holds Freeze until stdin closes (or its freeze timeout), logging
# "<writer>\treleased".
HOOK=$SCRATCH/hook
cat >"$HOOK" <<'EOF'
#!/bin/bash
printf '%s\t%s\t%s\n' "$VSS_WRITER_NAME" "$VSS_EVENT" "$(date +%s%N)" >>"$HOOK_LOG"
if [ "$VSS_EVENT" = "${1:-}" ]; then
	case ${2:-exit} in
	exit) echo "something broke at $VSS_EVENT" >&2; exit 1 ;;
	line) echo "failure RETRYABLE busy at $VSS_EVENT"; exit 0 ;;
	hang)
		cut -d' ' -f5 /proc/$$/stat >"$HOOK_LOG.pgid"
		sleep 60
		exit 0
		;;
	esac
fi
if [ "$VSS_EVENT" = Freeze ]; then
	echo frozen
	read -r -t $(((VSS_FREEZE_TIMEOUT_MS + 999) / 1000)) _ || true
	printf '%s\t%s\t%s\n' "$VSS_WRITER_NAME" released "$(date +%s%N)" >>"$HOOK_LOG"
fi
exit 0
EOF
chmod +x "$HOOK"

EVENTS="PrepareForBackup PrepareForSnapshot Freeze Thaw PostSnapshot Abort BackupComplete BackupShutdown"

# writer FILE NAME INDEX 'ROOT-ATTRIBUTES' 'HOOK-ARGS' PATH...: register an
# express writer with a hook for every event and one component whose files
# are the PATHs (none: a writer that always takes part).
writer() {
	local file=$1 name=$2 idx=$3 attrs=$4 args=$5 ev p hooks='' files=''
	shift 5
	for ev in $EVENTS; do
		hooks+="  <HOOK event=\"$ev\" command=\"$HOOK $args\"/>"$'\n'
	done
	for p in "$@"; do
		files+="      <FILE_LIST path=\"$p\" filespec=\"*\" recursive=\"yes\"/>"$'\n'
	done
	cat >"$VSS_SYSCONFDIR/writers.d/$file.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<EXPRESS_WRITER xmlns="x-schema:#VssLinuxExpressWriter" version="1" $attrs>
$hooks  <WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2">
    <IDENTIFICATION writerId="7e57fa11-0000-4000-8000-$(printf %012d "$idx")"
        friendlyName="$name" usage="USER_DATA" dataSource="OTHER"/>
    <BACKUP_LOCATIONS>
    <FILE_GROUP componentName="app" caption="app">
$files    </FILE_GROUP>
    </BACKUP_LOCATIONS>
  </WRITER_METADATA>
</EXPRESS_WRITER>
EOF
}

no_writers() { rm -f "$VSS_SYSCONFDIR"/writers.d/*.xml; }

GOOD=(good "Good Writer" 1 'freezeTimeout="10"')

# A fresh hook log for the next vss-create.
RUN=0
new_log() {
	RUN=$((RUN + 1))
	export HOOK_LOG=$SCRATCH/log/hooks.$RUN
	: >"$HOOK_LOG"
}

# calls WRITER EVENT: how many times WRITER's hook ran for EVENT.
calls() { awk -F'\t' -v w="$1" -v e="$2" '$1 == w && $2 == e' "$HOOK_LOG" | wc -l; }

expect_calls() {
	local n
	n=$(calls "$1" "$2")
	[ "$n" = "$3" ] || {
		sed 's/^/  | /' "$HOOK_LOG" >&2
		fail "writer '$1' got $2 $n times, expected $3"
	}
}

# No later event than the failed one reached anybody.
expect_none_after() {
	local ev seen='' after=''
	for ev in PrepareForBackup PrepareForSnapshot Freeze Thaw PostSnapshot BackupComplete; do
		[ -n "$seen" ] && after+=" $ev"
		[ "$ev" = "$1" ] && seen=1
	done
	for ev in $after; do
		awk -F'\t' -v e="$ev" '$2 == e' "$HOOK_LOG" | grep -q . && {
			sed 's/^/  | /' "$HOOK_LOG" >&2
			fail "$ev was sent after a failure at $1"
		}
	done
	return 0
}

expect_stderr() {
	grep -qF -- "$1" "$ERR" || {
		sed 's/^/  | /' "$ERR" >&2
		fail "stderr does not say '$1'"
	}
}

# Nothing of a failed set is left: no copy listed, nothing in the stores,
# no journal; both volumes take a write at once.
expect_nothing_kept() {
	local n
	n=$(catalog_count)
	[ "$n" = 0 ] || fail "$n copies are listed after a failed create, expected none"
	check_consistent "$b/.vss" "$h/.vss" "$b2/.vss"
	check_no_journal
	probe_writable "$b"
	probe_writable "$e"
}

# The state and last error vss-list --writers shows for WRITER.
writer_line() {
	vss-list --writers -o NAME,STATE,LAST-ERROR,FAILED-EVENT,MESSAGE >"$SCRATCH/log/writers.$RUN" ||
		fail "vss-list --writers failed"
	grep -F -- "$1 " "$SCRATCH/log/writers.$RUN" || fail "vss-list --writers does not list '$1'"
}

expect_writer_shows() {
	local line w=$1
	shift
	line=$(writer_line "$w")
	for want in "$@"; do
		case $line in
		*"$want"*) ;;
		*) fail "vss-list --writers shows '$line' for '$w', expected '$want'" ;;
		esac
	done
}

# ---- a healthy run first: the set-up works --------------------------------------

check "healthy writers: the whole sequence, each event once"
writer "${GOOD[@]}" "" "$b/app"
writer bad "Bad Writer" 2 'freezeTimeout="10"' "" "$b/app"
new_log
run_ok vss-create --backup-complete "$b" "$e"
for w in "Good Writer" "Bad Writer"; do
	for ev in PrepareForBackup PrepareForSnapshot Freeze released Thaw PostSnapshot \
		BackupComplete BackupShutdown; do
		expect_calls "$w" "$ev" 1
	done
	expect_calls "$w" Abort 0
done
run_ok vss-delete --all
expect_nothing_kept

# ---- (a) a hung writer -------------------------------------------------------------

check "(a) a writer hung in Freeze (freezeTimeout 2 s): exit 6 within 3 s"
writer hung "Hung Writer" 3 'freezeTimeout="2"' "Freeze hang" "$b/app"
writer "${GOOD[@]}" "" "$b/app"
rm -f "$VSS_SYSCONFDIR/writers.d/bad.xml"
new_log
t0=$(date +%s%N)
run_rc 6 vss-create "$b" "$e"
ms=$((($(date +%s%N) - t0) / 1000000))
say "   vss-create took $ms ms"
[ "$ms" -lt 3000 ] || fail "vss-create took $ms ms with a freeze timeout of 2 s (expected < 3000)"
[ "$ms" -ge 2000 ] || fail "vss-create ended after $ms ms, before the 2 s freeze timeout"
expect_stderr "writer 'Hung Writer' failed at Freeze: Timed out"
check "(a) no copy is left, both volumes are writable"
expect_nothing_kept
for s in "$b/.vss" "$h/.vss"; do
	[ -z "$(store_names "$s")" ] || fail "left in $s: $(store_names "$s")"
done
check "(a) vss-list --writers: [9] Failed at freeze, Timed out"
expect_writer_shows "Hung Writer" "[9] Failed at freeze" "Timed out"
expect_writer_shows "Good Writer" "[1] Stable"
check "(a) the hung hook's processes are gone; the others got Abort once, no Thaw"
pgid=$(cat "$HOOK_LOG.pgid")
# Zombies run nothing (and init here reaps them late): only live ones count.
group_alive() { pgrep -r R,S,D,T,t -g "$1" >/dev/null; }
for _ in $(seq 20); do
	group_alive "$pgid" || break
	sleep 0.05
done
if group_alive "$pgid"; then
	pgrep -a -g "$pgid" >&2 || true
	fail "processes of the hung Freeze hook (group $pgid) still run"
fi
expect_calls "Good Writer" Abort 1
expect_calls "Good Writer" released 1
expect_calls "Good Writer" Thaw 0
expect_calls "Hung Writer" Abort 1
expect_calls "Hung Writer" Thaw 0
expect_calls "Good Writer" BackupShutdown 1
rm -f "$VSS_SYSCONFDIR/writers.d/hung.xml"

# ---- (b) a failure at each event ------------------------------------------------

state_after() {
	case $1 in
	PrepareForBackup) echo "[7] Failed at prepare backup" ;;
	PrepareForSnapshot) echo "[8] Failed at prepare snapshot" ;;
	Freeze) echo "[9] Failed at freeze" ;;
	Thaw) echo "[10] Failed at thaw" ;;
	PostSnapshot) echo "[11] Failed at post snapshot" ;;
	BackupComplete) echo "[12] Failed at backup complete" ;;
	esac
}

for ev in PrepareForBackup PrepareForSnapshot Freeze Thaw PostSnapshot; do
	for mode in exit line; do
		check "(b) a writer failing at $ev ($mode)"
		writer "${GOOD[@]}" "" "$b/app"
		writer bad "Bad Writer" 2 'freezeTimeout="10"' "$ev $mode" "$b/app"
		new_log
		run_rc 6 vss-create "$b" "$e"
		expect_stderr "writer 'Bad Writer' failed at $ev"
		if [ "$mode" = exit ]; then
			expect_stderr "Non-retryable error"
			expect_stderr "something broke at $ev"
			expect_writer_shows "Bad Writer" "$(state_after "$ev")" "Non-retryable error"
		else
			expect_stderr "Retryable error"
			expect_stderr "busy at $ev"
			expect_writer_shows "Bad Writer" "$(state_after "$ev")" "Retryable error"
		fi
		expect_nothing_kept
		expect_none_after "$ev"
		for w in "Good Writer" "Bad Writer"; do
			expect_calls "$w" Abort 1
			expect_calls "$w" BackupShutdown 1
			[ "$(calls "$w" Thaw)" -le 1 ] || fail "writer '$w' got Thaw twice"
			# A held freeze is released once, whichever of Thaw or Abort
			# does it (the failing Freeze hook held nothing).
			[ "$w:$ev" = "Bad Writer:Freeze" ] ||
				[ "$(calls "$w" released)" = "$(calls "$w" Freeze)" ] ||
				fail "writer '$w' got Freeze $(calls "$w" Freeze) times but was released $(calls "$w" released) times"
		done
		case $ev in
		Thaw | PostSnapshot) expect_calls "Good Writer" Thaw 1 ;;
		*) expect_calls "Good Writer" Thaw 0 ;;
		esac
	done
done

check "(b) a writer failing at BackupComplete: copies kept, exit 6"
writer bad "Bad Writer" 2 'freezeTimeout="10"' "BackupComplete exit" "$b/app"
new_log
run_rc 6 vss-create --backup-complete "$b" "$e"
expect_stderr "writer 'Bad Writer' failed at BackupComplete"
expect_stderr "something broke at BackupComplete"
[ "$(catalog_count)" = 2 ] || fail "the copies of a set whose BackupComplete failed are not kept"
[ "$(copy_ids_of "$OUT" | wc -l)" = 2 ] || fail "vss-create did not print the two copies it kept: $(cat "$OUT")"
check_consistent "$b/.vss" "$h/.vss"
expect_writer_shows "Bad Writer" "[12] Failed at backup complete" "Non-retryable error"
for w in "Good Writer" "Bad Writer"; do
	expect_calls "$w" Thaw 1
	expect_calls "$w" BackupComplete 1
	expect_calls "$w" BackupShutdown 1
done
run_ok vss-delete --all
expect_nothing_kept

# ---- (c) --ignore-writer-failures ---------------------------------------------------

check "(c) --ignore-writer-failures: a crash-consistent set, the failing writer aborted"
writer bad "Bad Writer" 2 'freezeTimeout="10"' "Freeze exit" "$b/app"
new_log
run_ok vss-create --ignore-writer-failures "$b" "$e"
expect_stderr "Bad Writer"
expect_stderr "only crash-consistent"
[ "$(catalog_count)" = 2 ] || fail "--ignore-writer-failures did not make the set"
expect_calls "Bad Writer" Abort 1
expect_calls "Bad Writer" Thaw 0
expect_calls "Bad Writer" PostSnapshot 0
expect_calls "Good Writer" Thaw 1
expect_calls "Good Writer" PostSnapshot 1
expect_calls "Good Writer" Abort 0
expect_writer_shows "Bad Writer" "[9] Failed at freeze"
run_ok vss-delete --all

# ---- (d) --exclude-writer -------------------------------------------------------------

check "(d) --exclude-writer NAME: its hooks never run"
writer bad "Bad Writer" 2 'freezeTimeout="10"' "PrepareForBackup exit" "$b/app"
new_log
run_ok vss-create --exclude-writer "Bad Writer" "$b"
[ "$(awk -F'\t' '$1 == "Bad Writer"' "$HOOK_LOG" | wc -l)" = 0 ] ||
	fail "an excluded writer's hooks ran: $(cat "$HOOK_LOG")"
expect_calls "Good Writer" Thaw 1
check "(d) --exclude-writer by class ID"
new_log
run_ok vss-create -x "{7e57fa11-0000-4000-8000-000000000002}" "$b"
[ "$(awk -F'\t' '$1 == "Bad Writer"' "$HOOK_LOG" | wc -l)" = 0 ] ||
	fail "a writer excluded by class ID ran hooks: $(cat "$HOOK_LOG")"
run_ok vss-delete --all
check "(d) --exclude-writer with an unknown name: an error, nothing made"
new_log
before=$(catalog_count)
run_rc 3 vss-create --exclude-writer "No Such Writer" "$b"
expect_stderr "'No Such Writer'"
[ ! -s "$HOOK_LOG" ] || fail "hooks ran although the exclusion was refused: $(cat "$HOOK_LOG")"
[ "$(catalog_count)" = "$before" ] || fail "a set was made although the exclusion was refused"
expect_nothing_kept

# ---- (e) --no-writers --------------------------------------------------------------------

check "(e) --no-writers: no hook runs; the context is recorded"
writer bad "Bad Writer" 2 'freezeTimeout="10"' "" "$b/app"
new_log
run_ok vss-create --no-writers "$b"
[ ! -s "$HOOK_LOG" ] || fail "hooks ran with --no-writers: $(cat "$HOOK_LOG")"
set=$(set_id_of "$OUT")
j=$(list_json --set "$set" -o ID,TYPE,ATTRIBUTES)
jq -e '.shadowcopies | length == 1' "$j" >/dev/null || fail "--no-writers set not listed: $(cat "$j")"
jq -r '.shadowcopies[0] | "\(.type)|\(.attributes)"' "$j" >"$SCRATCH/log/nowriters"
grep -q '^DataVolumeRollback|' "$SCRATCH/log/nowriters" ||
	fail "a --no-writers copy is listed with type $(cut -d'|' -f1 "$SCRATCH/log/nowriters"), expected DataVolumeRollback"
grep -q 'No writers' "$SCRATCH/log/nowriters" ||
	fail "a --no-writers copy does not have the No writers attribute: $(cat "$SCRATCH/log/nowriters")"
check "(e) --no-writers --auto-release: FileShareBackup, no hook"
new_log
run_ok vss-create --no-writers --auto-release "$b" -- sh -c 'vss-list -o ID,TYPE,ATTRIBUTES -n --set "$VSS_SHADOW_SET"'
[ ! -s "$HOOK_LOG" ] || fail "hooks ran with --no-writers: $(cat "$HOOK_LOG")"
grep -q 'FileShareBackup' "$OUT" || fail "an auto-release --no-writers copy is not FileShareBackup: $(cat "$OUT")"
grep -q 'No writers' "$OUT" || fail "an auto-release --no-writers copy lacks No writers: $(cat "$OUT")"
check "(e) with writers: ApplicationRollback, without No writers"
new_log
run_ok vss-create "$b"
set=$(set_id_of "$OUT")
j=$(list_json --set "$set" -o ID,TYPE,ATTRIBUTES)
jq -e '.shadowcopies[0].type == "ApplicationRollback"' "$j" >/dev/null ||
	fail "a copy made with writers is not ApplicationRollback: $(cat "$j")"
if grep -q 'No writers' "$j"; then fail "a copy made with writers says No writers: $(cat "$j")"; fi
expect_calls "Good Writer" Thaw 1
run_ok vss-delete --all

# ---- (g) a writer with nothing on the set ------------------------------------------------

check "(g) a writer whose files are all on another volume hears nothing"
writer bad "Bad Writer" 2 'freezeTimeout="10"' "" "$b/app"
writer elsewhere "Elsewhere Writer" 4 'freezeTimeout="10"' "PrepareForBackup exit" "$b2/app"
new_log
run_ok vss-create "$b" "$e"
[ "$(awk -F'\t' '$1 == "Elsewhere Writer"' "$HOOK_LOG" | wc -l)" = 0 ] ||
	fail "a writer with no file on the set got events: $(cat "$HOOK_LOG")"
expect_calls "Good Writer" Thaw 1
expect_calls "Bad Writer" Thaw 1
check "(g) the same writer takes part (and fails) when its volume is in the set"
new_log
run_rc 6 vss-create "$b" "$b2"
expect_stderr "writer 'Elsewhere Writer' failed at PrepareForBackup"
expect_calls "Elsewhere Writer" Abort 1
run_ok vss-delete --all
expect_nothing_kept
rm -f "$VSS_SYSCONFDIR/writers.d/elsewhere.xml"

# ---- (f) INCONSISTENTSNAPSHOT -------------------------------------------------------------

check "(f) a component with files on two volumes, one of them in the set: Inconsistent shadow copy"
writer bad "Split Writer" 2 'freezeTimeout="10"' "" "$b/app" "$b2/app"
new_log
run_rc 6 vss-create "$b" "$e"
expect_stderr "Split Writer"
expect_stderr "Inconsistent shadow copy"
expect_nothing_kept
# Refused before anything is frozen.
expect_calls "Split Writer" Freeze 0
expect_calls "Good Writer" Freeze 0
expect_writer_shows "Split Writer" "Inconsistent shadow copy"
check "(f) with both volumes in the set it is made"
new_log
run_ok vss-create "$b" "$b2"
expect_calls "Split Writer" Thaw 1
expect_calls "Split Writer" PostSnapshot 1
[ "$(catalog_count)" = 2 ] || fail "the set of both volumes was not made"
run_ok vss-delete --all
expect_nothing_kept
say "ok"
