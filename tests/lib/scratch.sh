# shellcheck shell=bash
#
# Scratch volumes for the integration tests, sourced by tests/integration/*.sh,
# tests/bench/create.sh and scripts/demo.
#
#   require_root_and_loop [btrfs] [xfs] [ext4]   exit 77 (skip) saying why, when
#                                  not root, no loop devices, or a filesystem
#                                  (kernel or mkfs tool) is missing
#   scratch_init                   private temp dir; VSS_STATEDIR, VSS_RUNDIR,
#                                  VSS_SYSCONFDIR under it; EXIT trap cleans up
#   make_btrfs NAME SIZE           -> mount point of a new btrfs on a loop file
#   make_xfs_host NAME SIZE        -> mount point of a new XFS (reflink) on a loop file
#   make_image_volume HOSTDIR NAME SIZE ext4|xfs
#                                  -> mount point of a filesystem on a loop
#                                     device backed by HOSTDIR/NAME.img
#   mount_image_copy IMG FSTYPE    -> read-only mount of an image copy
#   unmount_image_copy MNT         undo mount_image_copy
#   start_writer NAME FILE         seqwriter on FILE; status in $SCRATCH/NAME.status;
#                                  sets WRITER_PID
#   writer_status NAME, wait_writer NAME N, stop_writer NAME
#   scratch_bg CMD...              run CMD in the background; sets BG_PID
#
# Everything made is written to $SCRATCH/.undo as it is made (so functions
# called in $(...) record too), and the cleanup undoes exactly that, in
# reverse order: recorded processes are killed, our mount points thawed in
# case, then mounts and loop devices are undone newest first, then the temp
# dir is removed.  Nothing that was not recorded is ever touched: no
# losetup -D, no umount -a, no pkill.

SCRATCH=
SCRATCH_OWNER=
SCRATCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${VSS_BUILD:=$SCRATCH_TOP/build}"
export VSS_BUILD
case ":$PATH:" in
*":$VSS_BUILD/bin:"*) ;;
*) PATH=$VSS_BUILD/bin:$PATH ;;
esac
export PATH
SEQWRITER=$VSS_BUILD/tests/tools/seqwriter
SEQCHECK=$VSS_BUILD/tests/tools/seqcheck

# ---- messages -------------------------------------------------------------

say() { printf '%s\n' "$*"; }
# One line per check, so a log shows what was being checked when it failed.
check() { printf -- '-- %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

# run_rc EXPECTED CMD...: run CMD with stdout in $OUT, stderr in $ERR (files),
# and fail unless it exits with EXPECTED.
OUT=
ERR=
run_rc() {
	local want=$1 rc=0
	shift
	"$@" >"$OUT" 2>"$ERR" || rc=$?
	if [ "$rc" != "$want" ]; then
		printf 'command: %s\n' "$*" >&2
		printf 'stdout:\n' >&2
		sed 's/^/  | /' "$OUT" >&2
		printf 'stderr:\n' >&2
		sed 's/^/  | /' "$ERR" >&2
		fail "exit status $rc, expected $want: $*"
	fi
}
run_ok() { run_rc 0 "$@"; }

# ---- preconditions --------------------------------------------------------

_fs_available() {
	local fs=$1
	grep -qw "$fs" /proc/filesystems && return 0
	modprobe -q "$fs" 2>/dev/null || true
	grep -qw "$fs" /proc/filesystems
}

require_root_and_loop() {
	local fs mkfs
	[ "$(id -u)" = 0 ] || skip "needs root (loop devices, mkfs, mount)"
	[ -e /dev/loop-control ] || modprobe -q loop 2>/dev/null || true
	[ -e /dev/loop-control ] || skip "no loop devices (/dev/loop-control is missing)"
	command -v losetup >/dev/null || skip "losetup is not installed"
	for fs in "$@"; do
		_fs_available "$fs" || skip "the kernel has no $fs filesystem"
		mkfs=mkfs.$fs
		command -v "$mkfs" >/dev/null || skip "$mkfs is not installed"
	done
	for t in vss-create vss-list vss-delete; do
		[ -x "$VSS_BUILD/bin/$t" ] || fail "$VSS_BUILD/bin/$t is not built (run make)"
	done
	[ -x "$SEQWRITER" ] && [ -x "$SEQCHECK" ] ||
		fail "$SEQWRITER is not built (run make tests)"
}

# ---- the temp dir and its undo log -----------------------------------------

scratch_init() {
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/${SCRATCH_PREFIX:-vss-test}.XXXXXXXX") || fail "mktemp -d failed"
	# vss-list must work for nobody in the non-root tests.
	chmod 0755 "$SCRATCH"
	: >"$SCRATCH/.undo"
	mkdir -p "$SCRATCH/state" "$SCRATCH/run" "$SCRATCH/etc" "$SCRATCH/mnt" "$SCRATCH/log"
	export VSS_STATEDIR=$SCRATCH/state
	export VSS_RUNDIR=$SCRATCH/run
	export VSS_SYSCONFDIR=$SCRATCH/etc
	OUT=$SCRATCH/log/out
	ERR=$SCRATCH/log/err
	SCRATCH_OWNER=$BASHPID
	trap '_scratch_exit' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

_undo_add() { printf '%s %s\n' "$1" "$2" >>"$SCRATCH/.undo"; }
# Forget an entry undone by hand, so the cleanup does not undo it again
# (a loop device number or a PID can be reused by someone else).
_undo_forget() {
	local tmp=$SCRATCH/.undo.tmp
	awk -v k="$1" -v v="$2" '!($1 == k && substr($0, length(k) + 2) == v)' \
		"$SCRATCH/.undo" >"$tmp" && mv "$tmp" "$SCRATCH/.undo"
}

# _scratch_exit [STATUS]: the EXIT trap; a caller's own trap may pass the
# status it saw.
_scratch_exit() {
	local rc=${1:-$?}
	trap - EXIT INT TERM HUP
	# A child forked for "cmd &" runs the inherited traps if it is signalled
	# before it resets them; only the shell that made the scratch cleans up.
	[ "$BASHPID" = "$SCRATCH_OWNER" ] || exit "$rc"
	# Keep what the commands printed, for the post-mortem of a failure.
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -d "$VSS_BUILD/test-logs" ] &&
	   [ -n "$SCRATCH" ] && [ -d "$SCRATCH/log" ]; then
		local keep
		keep=$VSS_BUILD/test-logs/scratch-$(basename "$0" .sh)
		rm -rf "$keep"
		cp -r "$SCRATCH/log" "$keep" 2>/dev/null &&
			printf 'the outputs of this run are kept in %s\n' "$keep" >&2
	fi
	scratch_cleanup
	exit "$rc"
}

_umount_retry() {
	local mnt=$1 i
	mountpoint -q "$mnt" || return 0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		umount "$mnt" 2>/dev/null && return 0
		sleep 0.5
	done
	printf 'cleanup: %s is busy; detaching it lazily\n' "$mnt" >&2
	umount -l "$mnt"
}

_pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

scratch_cleanup() {
	local kind arg i pids alive
	[ -n "$SCRATCH" ] && [ -f "$SCRATCH/.undo" ] || return 0
	# Undo as much as possible, whatever fails on the way.
	set +e
	# 1. our processes (workloads, stalled tools): TERM, a second, KILL
	pids=$(awk '$1 == "pid" { print $2 }' "$SCRATCH/.undo")
	for arg in $pids; do
		_pid_alive "$arg" && kill -TERM "$arg" 2>/dev/null
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		alive=
		for arg in $pids; do _pid_alive "$arg" && alive=1; done
		[ -n "$alive" ] || break
		sleep 0.1
	done
	for arg in $pids; do
		_pid_alive "$arg" && kill -KILL "$arg" 2>/dev/null
	done
	# 2. a filesystem of ours left frozen would hang every later step (and
	#    a process writing to it cannot die until it is thawed)
	while read -r kind arg; do
		[ "$kind" = mount ] && mountpoint -q "$arg" && fsfreeze -u "$arg" 2>/dev/null
	done <"$SCRATCH/.undo"
	for i in $(seq 50); do
		alive=
		for arg in $pids; do _pid_alive "$arg" && alive=1; done
		[ -n "$alive" ] || break
		sleep 0.1
	done
	# 3. mounts and loop devices, newest first (an image's loop device holds
	#    its host filesystem busy, so the order matters)
	tac "$SCRATCH/.undo" >"$SCRATCH/.undo.rev"
	while read -r kind arg; do
		case $kind in
		mount) _umount_retry "$arg" ;;
		loop)
			if losetup "$arg" >/dev/null 2>&1; then
				losetup -d "$arg" || printf 'cleanup: losetup -d %s failed\n' "$arg" >&2
			fi
			;;
		esac
	done <"$SCRATCH/.undo.rev"
	# 4. the files; never across a mount that could not be undone
	rm -rf --one-file-system "$SCRATCH"
	SCRATCH=
}

# ---- loop devices and filesystems ----------------------------------------

# _loop_attach FILE [--read-only] -> device
_loop_attach() {
	local dev
	dev=$(losetup --find --show "$@") || fail "losetup --find --show $* failed"
	_undo_add loop "$dev"
	printf '%s\n' "$dev"
}

# _mount DEV DIR [mount options...]
_mount() {
	local dev=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	mount "$@" "$dev" "$dir" || fail "mount $* $dev $dir failed"
	_undo_add mount "$dir"
}

# scratch_track_mount DIR: a mount a test made itself (an exposure), to be
# undone by the cleanup too.
scratch_track_mount() { _undo_add mount "$1"; }
scratch_track_pid() { _undo_add pid "$1"; }

_mkfs() {
	local log=$SCRATCH/log/mkfs.$$
	"$@" >"$log" 2>&1 || {
		cat "$log" >&2
		fail "$* failed"
	}
}

make_btrfs() {
	local name=$1 size=$2 img dev mnt
	img=$SCRATCH/$name.img
	mnt=$SCRATCH/mnt/$name
	truncate -s "$size" "$img" || fail "truncate $img failed"
	dev=$(_loop_attach "$img") || exit 1
	_mkfs mkfs.btrfs -q -f -L "vss-$name" "$dev"
	_mount "$dev" "$mnt"
	printf '%s\n' "$mnt"
}

make_xfs_host() {
	local name=$1 size=$2 img dev mnt
	img=$SCRATCH/$name.img
	mnt=$SCRATCH/mnt/$name
	truncate -s "$size" "$img" || fail "truncate $img failed"
	dev=$(_loop_attach "$img") || exit 1
	_mkfs mkfs.xfs -q -f -m reflink=1 -L "vss-$name" "$dev"
	_mount "$dev" "$mnt"
	printf '%s\n' "$mnt"
}

make_image_volume() {
	local host=$1 name=$2 size=$3 fstype=$4 img dev mnt
	img=$host/$name.img
	mnt=$SCRATCH/mnt/$name
	truncate -s "$size" "$img" || fail "truncate $img failed"
	dev=$(_loop_attach "$img") || exit 1
	case $fstype in
	ext4) _mkfs mkfs.ext4 -q -F -L "vss-$name" "$dev" ;;
	xfs) _mkfs mkfs.xfs -q -f -L "vss-$name" "$dev" ;;
	*) fail "make_image_volume: unknown filesystem '$fstype' (ext4 or xfs)" ;;
	esac
	_mount "$dev" "$mnt"
	printf '%s\n' "$mnt"
}

# mount_image_copy IMG FSTYPE -> mount point.  A copy of a filesystem that was
# live: read-only, and no journal replay (ext4 noload, XFS norecovery), with
# nouuid because the original with the same XFS UUID is mounted.
mount_image_copy() {
	local img=$1 fstype=$2 dev mnt
	mnt=$(mktemp -d "$SCRATCH/mnt/copy.XXXXXX")
	dev=$(_loop_attach --read-only "$img") || exit 1
	case $fstype in
	ext4) _mount "$dev" "$mnt" -o ro,noload ;;
	xfs) _mount "$dev" "$mnt" -o ro,norecovery,nouuid ;;
	*) fail "mount_image_copy: unknown filesystem '$fstype'" ;;
	esac
	printf '%s\n' "$mnt"
}

unmount_image_copy() {
	local mnt=$1 dev
	dev=$(findmnt -n -o SOURCE --mountpoint "$mnt") || fail "$mnt is not mounted"
	umount "$mnt" || fail "umount $mnt failed"
	_undo_forget mount "$mnt"
	losetup -d "$dev" || fail "losetup -d $dev failed"
	_undo_forget loop "$dev"
	rmdir "$mnt"
}

# ---- processes ------------------------------------------------------------

BG_PID=
scratch_bg() {
	"$@" &
	BG_PID=$!
	_undo_add pid "$BG_PID"
}

WRITER_PID=
start_writer() {
	local name=$1 file=$2
	rm -f "$SCRATCH/$name.status"
	"$SEQWRITER" "$file" "$SCRATCH/$name.status" >"$SCRATCH/log/$name.writer" 2>&1 &
	WRITER_PID=$!
	_undo_add pid "$WRITER_PID"
	printf '%s\n' "$WRITER_PID" >"$SCRATCH/$name.pid"
	wait_writer "$name" 1
}

# The number of records the writer has fsynced (as published), 0 if none.
writer_status() {
	local v
	v=$(cat "$SCRATCH/$1.status" 2>/dev/null) || v=0
	printf '%s\n' "${v:-0}"
}

# wait_writer NAME N: until the writer has fsynced at least N records.
wait_writer() {
	local name=$1 want=$2 i pid
	pid=$(cat "$SCRATCH/$name.pid")
	for i in $(seq 200); do
		[ "$(writer_status "$name")" -ge "$want" ] && return 0
		_pid_alive "$pid" || {
			cat "$SCRATCH/log/$name.writer" >&2
			fail "writer $name died"
		}
		sleep 0.05
	done
	fail "writer $name did not reach $want records in 10 s"
}

stop_writer() {
	local name=$1 pid i
	pid=$(cat "$SCRATCH/$name.pid")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 100); do
		_pid_alive "$pid" || break
		sleep 0.1
	done
	_pid_alive "$pid" && fail "writer $name did not stop on SIGTERM"
	wait "$pid" 2>/dev/null || true
	_undo_forget pid "$pid"
}

# ---- vss output ------------------------------------------------------------

# From the saved output of vss-create: the set id, the copy ids, the copy of
# one volume ("{id}  <volume>  <copy>" lines).
# (No "| head" or "| grep -q" here: under pipefail a writer killed by
# SIGPIPE fails the pipeline at random.)
set_id_of() { sed -n 's/^Shadow copy set \({[0-9a-fA-F-]*}\).*/\1/p' "$1" | sed -n 1p; }
copy_ids_of() { awk '$1 ~ /^{[0-9a-fA-F-]+}$/ && NF >= 3 { print $1 }' "$1"; }
copy_of() { awk -v v="$2" '$1 ~ /^{/ && $2 == v && !n++ { print $3 }' "$1"; }

# A GUID without braces, lower case: the form used in file names.
bare_id() { printf '%s\n' "$1" | tr -d '{}' | tr 'A-F' 'a-f'; }

# probe_writable MNT: a write + sync on MNT must finish within 1 s.  A write
# to a frozen filesystem sleeps uninterruptibly, so the probe runs in the
# background and is polled; the cleanup thaws and reaps it on failure.
probe_writable() {
	local mnt=$1 pid i
	(echo probe >"$mnt/.probe" && sync -f "$mnt/.probe") &
	pid=$!
	_undo_add pid "$pid"
	for i in $(seq 20); do
		_pid_alive "$pid" || break
		sleep 0.05
	done
	if _pid_alive "$pid"; then
		fail "$mnt did not accept a write within 1 s (left frozen?)"
	fi
	wait "$pid" || fail "write to $mnt failed"
	_undo_forget pid "$pid"
}

# wait_file PATH SECONDS: until PATH exists.
wait_file() {
	local path=$1 n=$(($2 * 20)) i
	for i in $(seq "$n"); do
		[ -e "$path" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- checks shared by the tests -------------------------------------------

# require_cmd CMD...: a tool the test needs (installed by scripts/install-deps).
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || fail "$c is not installed (run scripts/install-deps)"
	done
}

# check_copy FILE MIN: FILE (the workload's file inside a copy) holds a
# gap-free run of at least MIN whole records.  Prints the count.
check_copy() {
	local file=$1 min=$2 n
	n=$("$SEQCHECK" "$file" "$min") || fail "copy file $file is bad (see above; needed $min records)"
	say "   $file: $n records (the writer had fsynced $min before vss-create)"
}

# list_json [vss-list options...] -> file name of the JSON output (checked
# to parse), saved under $SCRATCH/log.
list_json() {
	local f
	# A new name each time (this runs in $(...), so no counter survives):
	# the outputs stay for the post-mortem of a failure.
	f=$(mktemp "$SCRATCH/log/list.XXXXXX") || fail "mktemp failed"
	vss-list -J "$@" >"$f" 2>"$f.err" || {
		cat "$f.err" >&2
		fail "vss-list -J $* failed"
	}
	jq -e 'has("shadowcopies") and (.shadowcopies | type == "array")' "$f" >/dev/null || {
		cat "$f" >&2
		fail "vss-list -J $* did not print {\"shadowcopies\": [...]}"
	}
	printf '%s\n' "$f"
}

# catalog_count [vss-list options...]: how many copies vss-list shows.
catalog_count() {
	local f
	f=$(list_json "$@") || exit 1
	jq '.shadowcopies | length' "$f"
}

# check_consistent STORE...: after a vss command ran, every copy the catalog
# lists exists on disk, and nothing in the stores (the .vss directories) is
# unknown to the catalog: no copy, properties file or temporary file left
# behind.
check_consistent() {
	local json store f base id copy
	local -A known=()
	json=$(list_json) || exit 1
	for id in $(jq -r '.shadowcopies[].id' "$json" | tr -d '{}' | tr 'A-F' 'a-f'); do
		known[$id]=1
	done
	# Only our volumes: a rescan may have adopted copies of other tests.
	jq -r --arg top "$SCRATCH/" '.shadowcopies[] | select(.volume | startswith($top))
		| "\(.id) \(.copy)"' "$json" >"$json.copies"
	while read -r id copy; do
		[ -e "$copy" ] || fail "catalogued copy $id is not on disk: '$copy'"
	done <"$json.copies"
	for store in "$@"; do
		[ -d "$store" ] || continue
		for f in "$store"/* "$store"/.[!.]*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			case $f in
			*.tmp.*) fail "left on disk: '$f', the temporary file of a write that was interrupted" ;;
			esac
			base=${f##*/}
			base=${base%%.*}
			[ -n "$base" ] && [ -n "${known[$base]:-}" ] ||
				fail "left on disk but unknown to the catalog: '$f'"
		done
	done
}

# store_names STORE: the copies and files in a store, one per line.
store_names() { ls -A "$1" 2>/dev/null || true; }

# check_no_journal: no set is being made (no creator alive) and a vss
# command ran, so nothing may be left in $VSS_STATEDIR/pending (a journal
# torn by the kill is removed too: it was written before any copy), and no
# temporary file of an interrupted catalog write in $VSS_STATEDIR.
check_no_journal() {
	local f
	for f in "$VSS_STATEDIR"/pending/* "$VSS_STATEDIR"/pending/.[!.]*; do
		[ -e "$f" ] || continue
		fail "a journal is left after recovery: '$f'"
	done
	for f in "$VSS_STATEDIR"/*.tmp.*; do
		[ -e "$f" ] || continue
		fail "left on disk: '$f', the temporary file of an interrupted catalog write"
	done
}
