#!/bin/bash
# File restore (vss_restore_*) from copies of a btrfs volume and of an ext4
# image volume: a generated tree (sparse files, hard links, symlinks
# dangling and absolute, xattrs, POSIX ACLs, owners, set-id and sticky
# modes, ns timestamps, odd names, 60 nested directories, FIFOs and device
# nodes) is copied, the live tree changed and partly deleted, then restored
# to its place, and to other filesystems (the XFS host, a tmpfs); a
# metadata-aware comparison (find -printf + getfattr + getfacl dumps,
# hard-link groups, device numbers; and rsync -aHAXn --itemize-changes)
# shows no difference from the copy.  Sparse files stay sparse; on the same
# btrfs the extents are cloned.  Escapes are refused with nothing written
# outside the root: symlinks planted in the target (for a directory, for a
# parent, for a file), "..", absolute paths outside the volume.  A restore
# killed in the middle of a large file leaves no partial file under its
# final name, and the next restore completes it.  The image copy is
# exposed only for the time of a restore.
#
# Restores go through vss-restore --json (through tests/tools/restore-driver
# when vss-restore is not built); the progress callback, which vss-restore
# shows only on a terminal, and the killed restore use the driver.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd getfattr setfattr getfacl setfacl rsync mkfifo mknod findmnt jq
DRIVER=$VSS_BUILD/tests/tools/restore-driver
[ -x "$DRIVER" ] || fail "$DRIVER is not built (run make tests)"
scratch_init

b=$(make_btrfs bvol 1G)
h=$(make_xfs_host host 1536M)
e=$(make_image_volume "$h" ext4vol 768M ext4)
t=$SCRATCH/mnt/tmpfs
mkdir -p "$t"
mount -t tmpfs -o size=512M,mode=0755 vss-restore-test "$t" || fail "mounting a tmpfs failed"
scratch_track_mount "$t"
outside=$SCRATCH/outside
mkdir -p "$outside"

# ---- the tree -------------------------------------------------------------------

# make_tree DIR: everything a careful admin expects a restore to keep.
make_tree() {
	local d=$1/tree i deep
	mkdir -p "$d/sub/inner" "$d/empty-dir" "$d/acl-dir" "$d/links" "$d/sticky"
	printf 'hello\n' >"$d/small"
	: >"$d/empty-file"
	head -c 3000000 /dev/urandom >"$d/random-3M"
	# sparse: 64 MiB with two 4 KiB islands, and one ending in a hole
	truncate -s 64M "$d/sparse"
	head -c 4096 /dev/urandom | dd of="$d/sparse" conv=notrunc status=none
	head -c 4096 /dev/urandom | dd of="$d/sparse" bs=4096 seek=8192 conv=notrunc status=none
	truncate -s 16M "$d/sparse-tail"
	head -c 8192 /dev/urandom | dd of="$d/sparse-tail" conv=notrunc status=none
	# hard links: a pair across directories, a group of three
	printf 'linked\n' >"$d/links/a"
	ln "$d/links/a" "$d/sub/a-again"
	printf 'three\n' >"$d/links/t1"
	ln "$d/links/t1" "$d/links/t2"
	ln "$d/links/t1" "$d/sub/inner/t3"
	# symlinks: relative, to a directory, dangling, absolute
	ln -s ../small "$d/sub/rel-link"
	ln -s sub/inner "$d/dir-link"
	ln -s does/not/exist "$d/dangling"
	ln -s /etc/passwd "$d/absolute"
	chown -h 4321:8765 "$d/dangling"
	# xattrs (a binary value too) and ACLs, access and default
	setfattr -n user.comment -v "a comment" "$d/small"
	setfattr -n user.binary -v 0x00ff10 "$d/small"
	setfattr -n user.on-dir -v yes "$d/sub"
	setfattr -n trusted.restore-test -v root-only "$d/random-3M"
	setfacl -m u:1234:rw,g:2345:r "$d/small"
	setfacl -m u:1234:rwx "$d/acl-dir"
	setfacl -d -m u:1234:rx,g:55:rwx "$d/acl-dir"
	printf 'inherits\n' >"$d/acl-dir/file"
	# owners and modes
	printf 'owned\n' >"$d/owned"
	chown 1234:5678 "$d/owned"
	printf '#!/bin/sh\n' >"$d/setuid"
	chmod 4755 "$d/setuid"
	chmod 2750 "$d/sub/inner"
	chmod 1777 "$d/sticky"
	chmod 0400 "$d/random-3M"
	# odd names
	printf 'space\n' >"$d/with space"
	printf 'newline\n' >"$d/new"$'\n'"line"
	printf 'tab\n' >"$d/tab"$'\t'"here"
	printf 'latin1\n' >"$d/"$'\xe9\xff'"-not-utf8"
	printf 'dash\n' >"$d/-dash"
	printf 'star\n' >"$d/*star?"
	printf 'backslash\n' >"$d/back\\slash"
	# 60 levels
	deep=$d/deep
	for i in $(seq 60); do deep=$deep/level$i; done
	mkdir -p "$deep"
	printf 'bottom\n' >"$deep/file"
	# special files
	mkfifo "$d/fifo"
	mknod "$d/null-like" c 1 3
	mknod "$d/loop-like" b 7 250
	chown 55:66 "$d/fifo"
	chmod 0620 "$d/fifo"
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$d/socket" 2>/dev/null || true
	# ns timestamps, directories last (creating entries changes them)
	find "$d" -depth ! -type l -exec touch -h -d '2001-02-03 04:05:06.123456789' {} +
	touch -h -d '1999-12-31 23:59:58.5' "$d/absolute" "$d/sub/rel-link"
	touch -a -d '2011-11-11 11:11:11.111111111' "$d/small"
	touch -h -d '2002-02-02 02:02:02.000000002' "$d/sub" "$d"
}

# ---- the comparer ------------------------------------------------------------------

# listing DIR OUT: what must be the same in two trees, one line per entry
# (newlines and backslashes in names escaped), sorted: type and mode, owner,
# group, size and link count (not of directories: filesystems differ), mtime
# and atime in ns, link count, symlink target, device numbers; then the
# hard-link groups; then xattr and ACL dumps.
listing() {
	local d=$1 out=$2
	{
		find "$d" ! -type d -printf '%M %U %G %s %T@ %A@ %n %P -> %l\0'
		find "$d" -type d -printf '%M %U %G - %T@ - - %P\0'
	} | sed -z 's/\\/\\\\/g; s/\n/\\n/g' | tr '\0' '\n' | LC_ALL=C sort >"$out"
	(cd "$d" && find . \( -type b -o -type c \) -print0 | LC_ALL=C sort -z |
		xargs -0 -r stat -c 'dev %t:%T %n') >>"$out"
	# hard links: the groups of names of one inode
	find "$d" -type f -links +1 -printf '%i %P\0' | sed -z 's/\n/\\n/g' | tr '\0' '\n' |
		LC_ALL=C sort | awk '{ i = $1; sub(/^[0-9]+ /, ""); g[i] = g[i] " [" $0 "]" }
			END { for (i in g) print "links" g[i] }' | LC_ALL=C sort >>"$out"
	# one line per file (records in readdir order, which differs), sorted;
	# without XFS's own copy of the ACLs (trusted.SGI_ACL_*), shown to root
	(cd "$d" && getfattr -R -P -h -d -m - -e hex . 2>/dev/null) |
		awk 'BEGIN { RS = "" } { gsub(/\n/, " | "); print "xattr " $0 }' |
		sed -E 's/ \| trusted\.SGI_ACL_(FILE|DEFAULT)=[0-9a-fx]*//g' |
		LC_ALL=C sort >>"$out"
	(cd "$d" && getfacl -R -P -n . 2>/dev/null) |
		awk 'BEGIN { RS = "" } { gsub(/\n/, " | "); print "acl " $0 }' |
		LC_ALL=C sort >>"$out"
}

# same_tree A B WHAT: no difference between trees A and B.
same_tree() {
	local a=$1 b=$2 what=$3 n
	listing "$a" "$SCRATCH/log/list.a"
	listing "$b" "$SCRATCH/log/list.b"
	diff -u "$SCRATCH/log/list.a" "$SCRATCH/log/list.b" >&2 ||
		fail "$what: the trees differ (metadata listing above)"
	n=$(wc -l <"$SCRATCH/log/list.a")
	rsync -aHAXn --checksum --delete --itemize-changes --filter='-x trusted.SGI_ACL_*' \
		"$a/" "$b/" >"$SCRATCH/log/rsync" ||
		fail "$what: rsync failed"
	[ ! -s "$SCRATCH/log/rsync" ] || {
		cat "$SCRATCH/log/rsync" >&2
		fail "$what: rsync -aHAXn --checksum sees differences (above)"
	}
	say "   no difference ($n listing lines; rsync -aHAX --checksum agrees)"
}

# blocks FILE: allocated 512-byte blocks.
blocks() { stat -c %b "$1"; }

# ---- running restores --------------------------------------------------------------

# restore RC [-t DIR] [-nksc] ID PATH...: a restore (n dry run, k if not
# there, s special files, c no cloning), its entries in $OUT as lines
# "OUTCOME<TAB>TYPE<TAB>TARGET<TAB>BYTES<TAB>CLONED<TAB>MESSAGE" (tabs,
# newlines and backslashes in names escaped) and a last line "stats
# RESTORED SKIPPED REFUSED FAILED BYTES CLONED"; stderr in $ERR.  RC: 0 all
# restored or skipped, 1 some entry refused or failed, 4 a path refused
# before the run.
# Through vss-restore --json when it is built, else through the driver
# (whose output is that already).
restore() {
	local want=$1 opt to= args=() rc=0
	shift
	if [ ! -x "$VSS_BUILD/bin/vss-restore" ]; then
		run_rc "$want" "$DRIVER" "$@"
		return
	fi
	OPTIND=1
	while getopts t:nksc opt; do
		case $opt in
		t) args+=(--to "$OPTARG") ;;
		n) args+=(--dry-run) ;;
		k) args+=(--if-not-there) ;;
		s) args+=(--special-files) ;;
		c) args+=(--no-clone) ;;
		*) fail "restore: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	"$VSS_BUILD/bin/vss-restore" --json "${args[@]}" "$@" >"$OUT.json" 2>"$ERR" || rc=$?
	jq -r '.restore.entries[] | [.outcome, .type, .target, .bytes,
		(if .cloned then 1 else 0 end), (.error // "")] | @tsv' "$OUT.json" >"$OUT" ||
		fail "vss-restore --json printed no report: $(cat "$OUT.json" "$ERR")"
	jq -r '.restore.stats | "stats \(.restored) \(.skipped) \(.refused) \(.failed) \(.bytes) \(.cloned_bytes)"' \
		"$OUT.json" >>"$OUT"
	# Its exit status: 0 none refused or failed, 7 some, 1 all (or a
	# failure); a path refused before the run is an entry of type '?'.
	if [ "$rc" = 0 ]; then
		rc=0
	elif awk -F'\t' '$2 == "?"' "$OUT" | grep -q .; then
		awk -F'\t' '$2 == "?" { print $6 }' "$OUT" >>"$ERR"
		rc=4
	elif [ "$rc" = 7 ] || [ "$rc" = 1 ]; then
		rc=1
	fi
	if [ "$rc" != "$want" ]; then
		printf 'command: vss-restore --json %s %s\n' "${args[*]}" "$*" >&2
		sed 's/^/  | /' "$OUT" "$ERR" >&2
		fail "exit status $rc (mapped), expected $want: vss-restore ${args[*]} $*"
	fi
}
# stats FIELD: from the driver's last line (restored skipped refused failed
# bytes cloned).
stat_of() {
	local k
	case $1 in
	restored) k=2 ;; skipped) k=3 ;; refused) k=4 ;; failed) k=5 ;; bytes) k=6 ;; cloned) k=7 ;;
	esac
	awk -v k="$k" '$1 == "stats" { print $k }' "$OUT"
}
# outcome_of TARGET: the outcome reported for that target.
outcome_of() { awk -F'\t' -v t="$1" '$3 == t { print $1 }' "$OUT"; }
no_failures() {
	if [ "$(stat_of failed)" != 0 ] || [ "$(stat_of refused)" != 0 ]; then
		grep -v '^restored' "$OUT" >&2 || true
		fail "$1: entries failed or were refused (above)"
	fi
}

# exposed_of ID: where vss-list says the copy is exposed ("" if not).
exposed_of() { jq -r '.shadowcopies[0].exposed // ""' "$(list_json -o ID,EXPOSED "$1")"; }
# Our mounts under the run dir (temporary exposures), to see none is left.
run_mounts() { findmnt -rn -o TARGET | grep -F "$VSS_RUNDIR/" || true; }

# ---- per volume --------------------------------------------------------------------

declare -A copy_id
for spec in "$b:btrfs" "$e:ext4"; do
	IFS=: read -r vol fs <<<"$spec"
	check "$fs: a generated tree, and a copy of the volume"
	make_tree "$vol"
	run_ok vss-create "$vol"
	copy_id[$fs]=$(copy_ids_of "$OUT" | sed -n 1p)
	[ -n "${copy_id[$fs]}" ] || fail "no copy id in: $(cat "$OUT")"
done

for spec in "$b:btrfs" "$e:ext4"; do
	IFS=: read -r vol fs <<<"$spec"
	id=${copy_id[$fs]}
	ref=$SCRATCH/ref-$fs

	# A reference of the copy's tree to compare with: read through an
	# exposure of our own (and while it is exposed, a restore reads from it).
	check "$fs: the copy, exposed for the comparison"
	mkdir -p "$ref"
	scratch_track_mount "$ref"
	run_ok "$VSS_BUILD/bin/vss-expose" "$id" "$ref"
	same_tree "$vol/tree" "$ref/tree" "$fs: the copy itself (comparer sanity)"

	check "$fs: a dry run says what it would do and writes nothing"
	rm -rf "$vol/tree/sub"
	restore 0 -n -s "$id" "$vol/tree"
	grep -q $'^would-restore\tf\t'"$vol/tree/sub/inner/t3"$'\t' "$OUT" ||
		grep -q $'^would-restore\th\t'"$vol/tree/sub/inner/t3"$'\t' "$OUT" ||
		fail "dry run did not mention sub/inner/t3: $(head -5 "$OUT")"
	[ ! -e "$vol/tree/sub" ] || fail "a dry run wrote '$vol/tree/sub'"
	grep -q '^restored' "$OUT" && fail "a dry run restored something"

	check "$fs: the live tree changed and partly deleted, restored in place"
	printf 'changed\n' >"$vol/tree/small"
	setfattr -x user.comment "$vol/tree/small"
	chmod 0777 "$vol/tree/owned"
	chown 0:0 "$vol/tree/owned"
	rm -f "$vol/tree/links/t2" "$vol/tree/sparse" "$vol/tree/new"$'\n'"line"
	rm -rf "$vol/tree/deep/level1/level2"
	printf 'not a link now\n' >"$vol/tree/links/a.tmp" && mv "$vol/tree/links/a.tmp" "$vol/tree/links/a"
	ln -sf elsewhere "$vol/tree/dangling"
	setfacl -b "$vol/tree/acl-dir"
	# files made in a directory with a default ACL inherit one: not kept
	setfacl -d -m u:777:rwx,g:778:r "$vol/tree/links" "$vol/tree/deep/level1"
	touch "$vol/tree"
	# An image copy that is not exposed is exposed for the restore only.
	[ "$fs" = btrfs ] || run_ok "$VSS_BUILD/bin/vss-expose" --unexpose "$ref"
	restore 0 -s "$id" "$vol/tree"
	no_failures "$fs restore in place"
	[ -z "$(run_mounts)" ] || fail "a temporary exposure is left: $(run_mounts)"
	[ "$fs" = btrfs ] || [ -z "$(exposed_of "$id")" ] ||
		fail "the copy is still recorded exposed at $(exposed_of "$id")"
	[ "$fs" = btrfs ] || run_ok "$VSS_BUILD/bin/vss-expose" "$id" "$ref"
	say "   $(stat_of restored) entries, $(stat_of bytes) bytes, $(stat_of cloned) cloned"
	if [ "$fs" = btrfs ]; then
		[ "$(stat_of cloned)" -gt 3000000 ] ||
			fail "btrfs to the same btrfs cloned only $(stat_of cloned) bytes"
	fi
	same_tree "$ref/tree" "$vol/tree" "$fs: restored in place"
	[ "$(blocks "$vol/tree/sparse")" -le $((2 * $(blocks "$ref/tree/sparse") + 64)) ] ||
		fail "sparse file: $(blocks "$vol/tree/sparse") blocks after, $(blocks "$ref/tree/sparse") in the copy"
	say "   sparse: $(blocks "$vol/tree/sparse") blocks of 512 for $(stat -c %s "$vol/tree/sparse") bytes"
	[ -z "$(run_mounts)" ] || fail "a temporary exposure is left: $(run_mounts)"

	for dest in "$h" "$t"; do
		to=$(mktemp -d "$dest/to-$fs.XXXXXX")
		check "$fs: restored to another filesystem ($(findmnt -n -o FSTYPE -T "$to")), bytes only"
		restore 0 -s -c -t "$to" "$id" "$vol/tree"
		no_failures "$fs restore to $to"
		[ "$(stat_of cloned)" = 0 ] || fail "-c (no cloning) still cloned $(stat_of cloned) bytes"
		same_tree "$ref/tree" "$to/tree" "$fs: restored to $to"
		[ "$(blocks "$to/tree/sparse")" -le $((2 * $(blocks "$ref/tree/sparse") + 64)) ] ||
			fail "sparse file on $to: $(blocks "$to/tree/sparse") blocks"
		rm -rf "$to"
	done

	check "$fs: a second restore over the restored tree changes nothing"
	restore 0 -s "$id" "$vol/tree"
	no_failures "$fs second restore"
	same_tree "$ref/tree" "$vol/tree" "$fs: restored twice"

	check "$fs: restore-if-not-there leaves existing files as they are"
	printf 'kept\n' >"$vol/tree/small"
	rm -f "$vol/tree/with space"
	restore 0 -k "$id" "$vol/tree/small" "$vol/tree/with space"
	[ "$(cat "$vol/tree/small")" = kept ] || fail "restore-if-not-there replaced 'small'"
	[ "$(outcome_of "$vol/tree/small")" = skipped ] || fail "'small' not reported skipped"
	[ "$(cat "$vol/tree/with space")" = space ] || fail "'with space' was not restored"
	[ "$(outcome_of "$vol/tree/with space")" = restored ] || fail "'with space' not reported restored"

	check "$fs: one file, to where it was"
	restore 0 "$id" "$vol/tree/small"
	[ "$(cat "$vol/tree/small")" = hello ] || fail "'small' not restored"
	[ "$(getfattr --only-values -n user.comment "$vol/tree/small")" = "a comment" ] ||
		fail "'small' lost its xattr"

	check "$fs: without the special files option, FIFOs and devices are skipped"
	rm -f "$vol/tree/fifo"
	restore 0 "$id" "$vol/tree/fifo"
	[ "$(outcome_of "$vol/tree/fifo")" = skipped ] || fail "fifo not reported skipped"
	[ ! -e "$vol/tree/fifo" ] || fail "fifo restored without the option"

	# ---- escapes ----
	check "$fs: a symlink planted where the copy has a directory is refused, not followed"
	mkdir -p "$outside/sub"
	printf 'outside\n' >"$outside/sub/a-again"
	touch -d '2000-01-01' "$outside/sub/a-again" "$outside/sub"
	sum_before=$(cd "$outside" && find . -printf '%M %U %G %s %T@ %p\n' | sort; cat "$outside/sub/a-again")
	rm -rf "$vol/tree/sub"
	ln -s "$outside/sub" "$vol/tree/sub"
	restore 1 "$id" "$vol/tree"
	[ "$(outcome_of "$vol/tree/sub")" = refused ] ||
		fail "planted symlink 'sub' reported '$(outcome_of "$vol/tree/sub")', not refused"
	sum_after=$(cd "$outside" && find . -printf '%M %U %G %s %T@ %p\n' | sort; cat "$outside/sub/a-again")
	[ "$sum_before" = "$sum_after" ] || fail "the restore wrote outside its root: $sum_after"
	[ -L "$vol/tree/sub" ] || fail "the planted symlink was removed"
	[ "$(stat_of refused)" = 1 ] || fail "$(stat_of refused) entries refused, expected 1"

	check "$fs: a symlink planted as a parent of the restored path is refused"
	restore 1 "$id" "$vol/tree/sub/inner/t3"
	[ "$(stat_of refused)" = 1 ] || fail "restore through a planted parent symlink: $(cat "$OUT")"
	[ ! -e "$outside/sub/inner" ] || fail "the restore created '$outside/sub/inner'"
	sum_after=$(cd "$outside" && find . -printf '%M %U %G %s %T@ %p\n' | sort; cat "$outside/sub/a-again")
	[ "$sum_before" = "$sum_after" ] || fail "the restore wrote outside its root: $sum_after"
	rm "$vol/tree/sub"

	check "$fs: a symlink planted where the copy has a file is replaced, its target untouched"
	printf 'precious\n' >"$outside/precious"
	ln -sf "$outside/precious" "$vol/tree/owned"
	restore 0 "$id" "$vol/tree/owned"
	[ "$(cat "$outside/precious")" = precious ] || fail "the restore wrote through a symlink"
	[ -f "$vol/tree/owned" ] && [ ! -L "$vol/tree/owned" ] || fail "'owned' is not a file again"
	[ "$(stat -c %u:%g "$outside/precious")" = 0:0 ] || fail "the outside file's owner changed"

	check "$fs: '..' and paths outside the volume are refused before anything is done"
	for bad in "../escape" "tree/../../escape" "$vol/../escape" "/etc/passwd" "$vol-other/x" \
		   "$vol/tree/no-such-file"; do
		restore 4 "$id" "$bad"
		case $bad in
		*no-such-file) grep -q "the copy has no" "$ERR" || fail "'$bad': $(cat "$ERR")" ;;
		*) grep -q -e "not on the copy's volume" -e "goes above" "$ERR" ||
			fail "'$bad' refused without saying why: $(cat "$ERR")" ;;
		esac
	done
	to=$(mktemp -d "$h/to-escape-$fs.XXXXXX")
	restore 4 -t "$to" "$id" "../../etc"
	[ -z "$(ls -A "$to")" ] || fail "a refused path wrote into $to"

	check "$fs: a directory in the target where the copy has a file fails clearly"
	rm -f "$vol/tree/small"
	mkdir "$vol/tree/small"
	printf 'keep me\n' >"$vol/tree/small/inside"
	restore 1 "$id" "$vol/tree/small"
	[ "$(outcome_of "$vol/tree/small")" = failed ] || fail "not reported failed: $(cat "$OUT")"
	grep -q 'is a directory' "$OUT" || fail "no clear message: $(cat "$OUT")"
	[ "$(cat "$vol/tree/small/inside")" = "keep me" ] || fail "the directory was touched"
	rm -rf "$vol/tree/small"

	check "$fs: progress is reported, with totals"
	run_ok "$DRIVER" -p -t "$to" "$id" "$vol/tree/links"
	# links/: the directory, a, t1 and t2 (t2 a link to t1: its bytes once)
	grep -q '^progress 4 4 13 13$' "$OUT" ||
		fail "no final progress call for 4 of 4 entries, 13 of 13 bytes: $(grep progress "$OUT")"
	rm -rf "$to"

	run_ok "$VSS_BUILD/bin/vss-expose" --unexpose "$ref"
done

# ---- killed in the middle of a large file -----------------------------------------

check "a restore killed in the middle of a large file leaves no partial file"
big=$e/big
head -c $((200 * 1024 * 1024)) /dev/urandom >"$big"
run_ok vss-create "$e"
bid=$(copy_ids_of "$OUT" | sed -n 1p)
printf 'the live version\n' >"$big"
to=$(mktemp -d "$t/kill.XXXXXX")
killed=
for attempt in 1 2 3 4 5; do
	"$DRIVER" -c "$bid" "$big" >"$SCRATCH/log/kill.out" 2>&1 &
	pid=$!
	scratch_track_pid "$pid"
	# Until it writes the file: an unnamed (O_TMPFILE) or temporary one
	# growing in the volume's root directory.
	for i in $(seq 400); do
		if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -e "$e/#" -e "$e/.vss-restore"; then
			sleep 0.05
			break
		fi
		sleep 0.01
	done
	if kill -KILL "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null || true
		if ! grep -q '^stats' "$SCRATCH/log/kill.out"; then
			killed=1
			break
		fi
	fi
	wait "$pid" 2>/dev/null || true
	printf 'the live version\n' >"$big"
done
[ -n "$killed" ] || fail "could not kill a restore in the middle of the file (too fast?)"
[ "$(cat "$big")" = "the live version" ] ||
	fail "after the kill '$big' is not the live version ($(stat -c %s "$big") bytes)"
leftover=$(cd "$e" && ls -A | grep -F .vss-restore. || true)
say "   killed at attempt $attempt; temporary names left: ${leftover:-none}"
# The killed run's exposure of the copy is still mounted (tracked here for
# the cleanup); the next restore undoes it, as its process is gone.
for m in $(run_mounts); do scratch_track_mount "$m"; done
say "   exposures left by the killed run: $(run_mounts | wc -l)"
restore 0 "$bid" "$big"
m=$(mktemp -d "$SCRATCH/mnt/bigref.XXXXXX")
scratch_track_mount "$m"
run_ok "$VSS_BUILD/bin/vss-expose" "$bid" "$m"
cmp "$m/big" "$big" || fail "the next restore did not bring the large file back"
leftover=$(cd "$e" && ls -A | grep -F .vss-restore. || true)
[ -z "$leftover" ] || say "   (temporary names left by the killed run: $leftover)"
[ -z "$(run_mounts)" ] || fail "a temporary exposure is left: $(run_mounts)"

say "restore: all checks passed"
