#!/bin/bash
# vss-revert on a btrfs subvolume mounted as the volume and on an image (ext4
# on a loop device backed by a file on XFS): the data comes back as it was
# at copy time (changed, added and removed files), the safety copy holds the
# state before the revert and reverting to it undoes the revert; a dry run,
# a mounted volume without --remount, a busy volume (a process inside, a
# mount inside), the top-level btrfs subvolume, an unknown ID and non-root
# are refused and change nothing.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq btrfs setpriv findmnt
[ -x "$VSS_BUILD/bin/vss-revert" ] || fail "$VSS_BUILD/bin/vss-revert is not built (run make)"
scratch_init

# ---- helpers ----------------------------------------------------------------

# state DIR: checksums of every file under DIR (but the store), sorted.
state() {
	(cd "$1" && find . -path ./.vss -prune -o -type f -print0 | sort -z |
		xargs -0 -r sha256sum)
}
# mounts: the mount table lines of our scratch dir (target, source, options).
our_mounts() { findmnt -rn -o TARGET,SOURCE,FSTYPE,OPTIONS | grep -F "$SCRATCH" | sort || true; }
ids() { jq -r '.shadowcopies[].id' "$(list_json)" | sort; }
# fingerprint VOL: what must not change when a revert is refused.
fingerprint() {
	{
		state "$1"
		our_mounts
		ids
		ls -A "$1/.vss" 2>/dev/null || true
	} >"$2"
}
same_fingerprint() {
	fingerprint "$1" "$SCRATCH/log/fp.after"
	diff -u "$2" "$SCRATCH/log/fp.after" >&2 || fail "$3"
}
copy_id() { copy_ids_of "$1" | sed -n 1p; }
safety_of() { sed -n 's/^Safety copy: \({[0-9a-fA-F-]*}\)$/\1/p' "$1"; }

# exercise VOL NAME STORE: the whole story on one volume (mounted, --remount);
# STORE is where its copies are kept.
exercise() {
	local vol=$1 name=$2 store=$3 c1 safety

	check "$name: make a copy, then change, add and remove files"
	mkdir -p "$vol/dir"
	echo one >"$vol/keep"
	echo old >"$vol/change"
	echo gone-later >"$vol/dir/remove"
	head -c 1M /dev/urandom >"$vol/big"
	sync
	state "$vol" >"$SCRATCH/log/$name.at-copy"
	run_ok vss-create "$vol"
	c1=$(copy_id "$OUT")
	[ -n "$c1" ] || fail "no copy ID in the output of vss-create"
	echo new >"$vol/change"
	echo added >"$vol/added"
	rm "$vol/dir/remove"
	head -c 4096 /dev/urandom | dd of="$vol/big" conv=notrunc status=none
	sync
	state "$vol" >"$SCRATCH/log/$name.before"
	cmp -s "$SCRATCH/log/$name.at-copy" "$SCRATCH/log/$name.before" &&
		fail "the changes did not change the volume"

	check "$name: --dry-run prints the plan and changes nothing"
	fingerprint "$vol" "$SCRATCH/log/$name.fp"
	run_ok vss-revert --dry-run --remount "$c1"
	grep -q 'Would revert' "$OUT" || fail "the dry run did not say what it would do"
	grep -q 'safety copy' "$OUT" || fail "the dry run did not mention the safety copy"
	grep -q "unmount '$vol'" "$OUT" || fail "the dry run did not mention the unmount"
	same_fingerprint "$vol" "$SCRATCH/log/$name.fp" "the dry run changed something"
	run_ok vss-revert --dry-run --remount --json "$c1"
	jq -e '.reverts[0].dry_run == true and .reverts[0].safety_copy == null and
		(.reverts[0].steps | length) > 3' "$OUT" >/dev/null || fail "bad dry-run JSON"

	check "$name: a mounted volume without --remount is refused"
	run_rc 1 vss-revert "$c1"
	grep -q -- '--remount' "$ERR" || fail "the refusal does not say to pass --remount"
	same_fingerprint "$vol" "$SCRATCH/log/$name.fp" "the refused revert changed something"

	check "$name: a process working inside the volume makes it busy: refused, nothing changed"
	(cd "$vol/dir" && exec sleep 600) &
	local busy=$!
	scratch_track_pid "$busy"
	sleep 0.2
	run_rc 1 vss-revert --remount "$c1"
	grep -q 'in use' "$ERR" || fail "the refusal does not say the volume is in use"
	grep -q "$busy" "$ERR" || fail "the refusal does not name the process"
	kill "$busy"
	wait "$busy" 2>/dev/null || true
	same_fingerprint "$vol" "$SCRATCH/log/$name.fp" "the busy revert changed something"

	check "$name: a mount inside the volume makes the unmount busy: refused, nothing changed"
	mkdir -p "$vol/dir/sub"
	fingerprint "$vol" "$SCRATCH/log/$name.fp"
	mount -t tmpfs -o size=1M "$name-inner" "$vol/dir/sub"
	scratch_track_mount "$vol/dir/sub"
	run_rc 1 vss-revert --remount "$c1"
	grep -q 'busy' "$ERR" || fail "the refusal does not say the volume is busy"
	# The safety copy was taken and deleted again.
	umount "$vol/dir/sub"
	same_fingerprint "$vol" "$SCRATCH/log/$name.fp" "the busy unmount left something changed"
	rmdir "$vol/dir/sub"
	sync

	check "$name: revert: the data is as at copy time, the safety copy holds the state before"
	state "$vol" >"$SCRATCH/log/$name.before"
	our_mounts >"$SCRATCH/log/$name.mounts.before"
	run_ok vss-revert --remount "$c1"
	cp "$OUT" "$SCRATCH/log/$name.revert.out"
	safety=$(safety_of "$OUT")
	[ -n "$safety" ] || fail "vss-revert did not print the safety copy"
	mountpoint -q "$vol" || fail "$vol is not mounted again"
	state "$vol" >"$SCRATCH/log/$name.after"
	diff -u "$SCRATCH/log/$name.at-copy" "$SCRATCH/log/$name.after" >&2 ||
		fail "the volume does not hold the copy's data"
	[ ! -e "$vol/added" ] || fail "a file added after the copy is still there"
	[ -e "$vol/dir/remove" ] || fail "a file removed after the copy is not back"
	[ "$(cat "$vol/change")" = old ] || fail "a changed file is not as at copy time"
	our_mounts | awk '{ print $1, $3 }' >"$SCRATCH/log/$name.mounts.after"
	awk '{ print $1, $3 }' "$SCRATCH/log/$name.mounts.before" |
		diff -u - "$SCRATCH/log/$name.mounts.after" >&2 || fail "the mounts are not as before"
	ids >"$SCRATCH/log/$name.ids"
	grep -qxF "$safety" "$SCRATCH/log/$name.ids" || fail "the safety copy is not listed"
	grep -qxF "$c1" "$SCRATCH/log/$name.ids" || fail "the copy reverted to is gone"
	echo write-after >"$vol/written" || fail "the reverted volume is not writable"
	rm "$vol/written"
	sync

	check "$name: the catalog is consistent: every copy on disk, nothing unknown in the store"
	check_consistent "$store"
	[ "$(catalog_count --for "$vol")" = 2 ] || fail "expected the copy and the safety copy"

	check "$name: reverting to the safety copy undoes the revert"
	run_ok vss-revert --remount "$safety"
	state "$vol" >"$SCRATCH/log/$name.undone"
	diff -u "$SCRATCH/log/$name.before" "$SCRATCH/log/$name.undone" >&2 ||
		fail "reverting to the safety copy did not bring the state before back"

	check "$name: --no-safety-copy makes none"
	local n_before n_after
	n_before=$(catalog_count)
	run_ok vss-revert --remount --no-safety-copy "$c1"
	grep -q 'Safety copy: none' "$OUT" || fail "vss-revert did not say there is no safety copy"
	n_after=$(catalog_count)
	[ "$n_before" = "$n_after" ] || fail "--no-safety-copy added a copy ($n_before -> $n_after)"
	check_consistent "$store"
	state "$vol" >"$SCRATCH/log/$name.again"
	diff -u "$SCRATCH/log/$name.at-copy" "$SCRATCH/log/$name.again" >&2 ||
		fail "the second revert did not bring the copy's data back"

	check "$name: --json"
	run_ok vss-revert --remount --json "$c1"
	jq -e --arg id "$c1" --arg v "$vol" '.reverts[0] | .id == $id and .volume == $v and
		.dry_run == false and (.safety_copy | test("^{[0-9a-f-]+}$")) and
		(.steps | length) > 3' "$OUT" >/dev/null || fail "bad JSON"
}

# ---- btrfs: a subvolume mounted as the volume -------------------------------

top=$(make_btrfs rbt 512M)
btrfs -q subvolume create "$top/vol" >/dev/null
bdev=$(findmnt -n -o SOURCE --mountpoint "$top")
bvol=$SCRATCH/mnt/bvol
mkdir -p "$bvol"
mount -o subvol=/vol "$bdev" "$bvol"
scratch_track_mount "$bvol"
exercise "$bvol" btrfs "$bvol/.vss"

check "btrfs: the volume is still the subvolume /vol, mounted by path"
findmnt -n -o FSROOT --mountpoint "$bvol" | grep -qx /vol || fail "$bvol is not /vol"
[ -z "$(btrfs subvolume list "$top" | grep -v -e ' path vol$' -e ' path vol/.vss' || true)" ] ||
	fail "subvolumes were left behind: $(btrfs subvolume list "$top")"

check "btrfs: the top-level subvolume cannot be reverted"
echo x >"$top/file"
run_ok vss-create "$top"
ctop=$(copy_id "$OUT")
fingerprint "$top" "$SCRATCH/log/top.fp"
run_rc 1 vss-revert --remount "$ctop"
grep -q 'mount a subvolume as the volume' "$ERR" || fail "the refusal does not say what to do"
same_fingerprint "$top" "$SCRATCH/log/top.fp" "the refused revert changed something"

# ---- image: ext4 on a loop device backed by a file on XFS ---------------------

h=$(make_xfs_host rhost 512M)
evol=$(make_image_volume "$h" rimg 128M ext4)
edev=$(findmnt -n -o SOURCE --mountpoint "$evol")
exercise "$evol" image "$h/.vss"

check "image: the volume is on the same loop device and backing file"
[ "$(findmnt -n -o SOURCE --mountpoint "$evol")" = "$edev" ] ||
	fail "$evol is on $(findmnt -n -o SOURCE --mountpoint "$evol"), not $edev"
[ "$(losetup -n -O BACK-FILE "$edev")" = "$h/rimg.img" ] || fail "$edev is not backed by $h/rimg.img"
[ -z "$(find "$h" -maxdepth 1 -name '.*vss-revert*')" ] || fail "a temporary file is left in $h"

# ---- bad input ------------------------------------------------------------------

check "an unknown ID is not found (exit 3) and changes nothing"
n=$(catalog_count)
run_rc 3 vss-revert --remount "{00000000-0000-4000-8000-000000000000}"
[ "$(catalog_count)" = "$n" ] || fail "an unknown ID changed the catalog"
check "a malformed ID and a missing ID are usage errors"
run_rc 2 vss-revert not-a-guid
run_rc 2 vss-revert
run_rc 2 vss-revert --remount "$ctop" "$ctop"

check "non-root is refused"
run_rc 1 setpriv --reuid=65534 --regid=65534 --clear-groups vss-revert --remount "$ctop"
grep -q 'root' "$ERR" || fail "the refusal does not say root is needed"

check "nothing of ours is left in the run dir"
[ -z "$(find "$VSS_RUNDIR" -name 'revert.*')" ] || fail "a revert work dir is left in $VSS_RUNDIR"
check_no_journal
say "ok"
