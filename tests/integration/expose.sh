#!/bin/bash
# vss-expose: copies of a btrfs volume and of ext4 and XFS image volumes,
# exposed read-only at a directory while their origins keep changing; the
# exposure is read-only (EROFS), nosuid,nodev,noexec, shown by vss-list and
# undone without leftovers (no mount, no loop device); --device gives a
# read-only loop device of an image copy and refuses a btrfs copy; a busy
# mount refuses to unexpose unless --force; bad input changes nothing; an
# exposure that vanished behind our back is reported and forgotten by the
# next vss-list; deleting an exposed copy unexposes it first.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq findmnt blockdev setpriv
[ -x "$VSS_BUILD/bin/vss-expose" ] || fail "$VSS_BUILD/bin/vss-expose is not built (run make)"
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 1G)
e=$(make_image_volume "$h" ext4vol 256M ext4)
x=$(make_image_volume "$h" xfsvol 320M xfs)

# exposed_of ID: what vss-list shows in EXPOSED for the copy ("" if none)
exposed_of() { jq -r '.shadowcopies[0].exposed // ""' "$(list_json -o ID,EXPOSED "$1")"; }
# new_dir NAME: an empty directory for an exposure, undone by the cleanup
new_dir() {
	mkdir "$SCRATCH/$1"
	scratch_track_mount "$SCRATCH/$1"
	printf '%s\n' "$SCRATCH/$1"
}
# loops_of FILE: the loop devices attached to FILE
loops_of() { losetup -n -O NAME -j "$1" 2>/dev/null || true; }
# no_leftovers DIR CLONE: nothing mounted at DIR, no loop device on CLONE
no_leftovers() {
	! mountpoint -q "$1" || fail "'$1' is still mounted: $(findmnt -n "$1")"
	[ -z "$2" ] || [ -z "$(loops_of "$2")" ] || fail "loop device left on '$2': $(loops_of "$2")"
}
# snapshot_state: our copies in the catalog and our mounts, to prove a
# refusal changed nothing (only ours: the rescan below may adopt copies of
# tests running beside this one, which come and go)
snapshot_state() {
	jq -c --arg top "$SCRATCH/" '.shadowcopies[] | select(.volume | startswith($top))' \
		"$(list_json -o ID,VOLUME,EXPOSED,ATTRIBUTES)" >"$SCRATCH/log/state.$1"
	findmnt -rn -o TARGET | grep -F "$SCRATCH/" | sort >>"$SCRATCH/log/state.$1" || true
}

declare -A copy_id copy_file
for spec in "$b:btrfs:wb" "$e:ext4:we" "$x:xfs:wx"; do
	IFS=: read -r vol fs w <<<"$spec"
	check "a copy of the $fs volume under a running writer"
	echo "before the copy" >"$vol/state"
	start_writer "$w" "$vol/records"
	wait_writer "$w" 20
	min=$(writer_status "$w")
	run_ok vss-create "$vol"
	copy_id[$fs]=$(copy_ids_of "$OUT")
	copy_file[$fs]=$(copy_of "$OUT" "$vol")
	echo "after the copy" >"$vol/state"
	echo "$min" >"$SCRATCH/$fs.min"
done

for fs in btrfs ext4 xfs; do
	id=${copy_id[$fs]}
	clone=
	[ "$fs" = btrfs ] || clone=${copy_file[$fs]}
	m=$(new_dir "exp-$fs")

	check "$fs: vss-expose mounts the copy read-only at an empty directory"
	run_ok vss-expose "$id" "$m"
	[ "$(cat "$OUT")" = "$m" ] || fail "vss-expose printed '$(cat "$OUT")', expected '$m'"
	mountpoint -q "$m" || fail "nothing is mounted at $m"
	opts=$(findmnt -n -o OPTIONS --mountpoint "$m")
	for o in ro nosuid nodev noexec; do
		case ",$opts," in *",$o,"*) ;; *) fail "$fs exposure lacks '$o': $opts" ;; esac
	done
	say "   options: $opts"

	check "$fs: the exposure holds the state at copy time while the origin changes"
	[ "$(cat "$m/state")" = "before the copy" ] ||
		fail "exposed state file says '$(cat "$m/state")'"
	check_copy "$m/records" "$(cat "$SCRATCH/$fs.min")" >/dev/null
	a=$(cksum <"$m/records")
	w=$( case $fs in btrfs) echo wb ;; ext4) echo we ;; xfs) echo wx ;; esac )
	wait_writer "$w" $(($(writer_status "$w") + 20))
	[ "$(cksum <"$m/records")" = "$a" ] || fail "the exposed records changed with the origin"

	check "$fs: a write to the exposure fails with EROFS"
	if bash -c 'echo x >"$1"' _ "$m/new" 2>"$ERR"; then fail "writing to the $fs exposure succeeded"; fi
	grep -q "Read-only file system" "$ERR" || fail "write failed, but not with EROFS: $(cat "$ERR")"
	if touch "$m/state" 2>"$ERR"; then fail "touching a file of the $fs exposure succeeded"; fi

	check "$fs: vss-list shows the exposure (text and JSON)"
	[ "$(exposed_of "$id")" = "$m" ] || fail "vss-list -J shows exposed '$(exposed_of "$id")'"
	run_ok vss-list -rn -o ID,EXPOSED "$id"
	[ "$(cat "$OUT")" = "$id $m" ] || fail "vss-list -o ID,EXPOSED printed '$(cat "$OUT")'"
	jq -e '.shadowcopies[0].attributes | test("Exposed locally")' \
		"$(list_json -o ATTRIBUTES "$id")" >/dev/null || fail "no 'Exposed locally' attribute"

	check "$fs: exposing it again is refused, naming where it is"
	m2=$(new_dir "again-$fs")
	run_rc 1 vss-expose "$id" "$m2"
	grep -q "already exposed at '$m'" "$ERR" || fail "unclear message: $(cat "$ERR")"
	! mountpoint -q "$m2" || fail "a second exposure was mounted"
	rmdir "$m2"

	check "$fs: a busy exposure is not unexposed without --force"
	scratch_bg bash -c "cd '$m' && exec sleep 300"
	busy=$BG_PID
	sleep 0.3
	run_rc 1 vss-expose --unexpose "$m"
	grep -q "is in use; close what uses it, or use --force" "$ERR" ||
		fail "unclear busy message: $(cat "$ERR")"
	mountpoint -q "$m" || fail "a refused unexpose unmounted $m"
	[ "$(exposed_of "$id")" = "$m" ] || fail "a refused unexpose changed the record"

	check "$fs: --force unmounts lazily; the loop device goes with the last user"
	run_ok vss-expose --unexpose "$id" --force
	grep -q "^unexposed shadow copy $id from '$m'" "$OUT" || fail "vss-expose said '$(cat "$OUT")'"
	! mountpoint -q "$m" || fail "$m is still mounted after --force"
	[ -z "$(exposed_of "$id")" ] || fail "the record still says exposed"
	kill "$busy"
	wait "$busy" 2>/dev/null || true
	_undo_forget pid "$busy"
	for _ in $(seq 50); do [ -z "$clone" ] || [ -z "$(loops_of "$clone")" ] && break; sleep 0.1; done
	no_leftovers "$m" "$clone"

	check "$fs: expose again and unexpose by directory: nothing left behind"
	run_ok vss-expose --json "$id" "$m"
	jq -e --arg id "$id" --arg m "$m" \
		'.exposures == [{"id": $id, "action": "exposed", "name": $m, "share": null}]' \
		"$OUT" >/dev/null || fail "--json printed $(cat "$OUT")"
	[ -z "$clone" ] || [ -n "$(loops_of "$clone")" ] || fail "no loop device on the clone"
	[ -z "$clone" ] || [ "$(blockdev --getro "$(loops_of "$clone")")" = 1 ] ||
		fail "the loop device of the exposure is writable"
	run_ok vss-expose --unexpose "$m"
	no_leftovers "$m" "$clone"
	[ -z "$(exposed_of "$id")" ] || fail "the record still says exposed"
	attrs=$(jq -r '.shadowcopies[0].attributes' "$(list_json -o ATTRIBUTES "$id")")
	case $attrs in *Exposed*) fail "attribute left after unexpose: $attrs" ;; esac

	check "$fs: --exec leaves out noexec"
	run_ok vss-expose --exec "$id" "$m"
	case ",$(findmnt -n -o OPTIONS --mountpoint "$m")," in
	*,noexec,*) fail "--exec still mounted noexec" ;;
	esac
	run_ok vss-expose --unexpose "$id"
	no_leftovers "$m" "$clone"
done

check "--device: an image copy as a read-only loop device"
id=${copy_id[xfs]}
clone=${copy_file[xfs]}
run_ok vss-expose --device "$id"
dev=$(cat "$OUT")
_undo_add loop "$dev"
case $dev in /dev/loop[0-9]*) ;; *) fail "--device printed '$dev'" ;; esac
[ "$(blockdev --getro "$dev")" = 1 ] || fail "$dev is not read-only"
[ "$(loops_of "$clone")" = "$dev" ] || fail "$dev is not attached to $clone"
[ "$(exposed_of "$id")" = "$dev" ] || fail "vss-list shows '$(exposed_of "$id")', expected $dev"
if dd if=/dev/zero of="$dev" bs=4096 count=1 oflag=direct 2>"$ERR"; then
	fail "writing to $dev succeeded"
fi
check "--device: the exposure is kept beside the copy: a rebuilt catalog still has it"
grep -q "exposedLoop=\"$dev\"" "${clone%.img}.xml" || fail "no exposedLoop in ${clone%.img}.xml"
rm "$VSS_STATEDIR/catalog.xml"
run_ok vss-list --rescan
[ "$(exposed_of "$id")" = "$dev" ] || fail "after a rescan vss-list shows '$(exposed_of "$id")'"
check "--device: unexpose by device detaches it"
run_ok vss-expose --unexpose "$dev"
[ -z "$(loops_of "$clone")" ] || fail "loop device left on $clone: $(loops_of "$clone")"
_undo_forget loop "$dev"
[ -z "$(exposed_of "$id")" ] || fail "the record still says exposed"

check "--device refuses a btrfs copy clearly"
run_rc 1 vss-expose --device "${copy_id[btrfs]}"
grep -q "btrfs subvolume, which has no block device of its own; expose it at a directory" "$ERR" ||
	fail "unclear message: $(cat "$ERR")"
[ -z "$(exposed_of "${copy_id[btrfs]}")" ] || fail "a refused --device recorded an exposure"

check "bad input is refused and changes nothing"
snapshot_state before
run_rc 3 vss-expose "{00000000-0000-0000-0000-000000000001}" "$(new_dir bad1)"
grep -q "no shadow copy {00000000-0000-0000-0000-000000000001}" "$ERR" || fail "unclear: $(cat "$ERR")"
touch "$SCRATCH/afile"
run_rc 1 vss-expose "${copy_id[ext4]}" "$SCRATCH/afile"
grep -q "not a directory" "$ERR" || fail "unclear: $(cat "$ERR")"
nonempty=$(new_dir nonempty)
touch "$nonempty/x"
run_rc 1 vss-expose "${copy_id[ext4]}" "$nonempty"
grep -q "not empty" "$ERR" || fail "unclear: $(cat "$ERR")"
run_rc 1 vss-expose "${copy_id[ext4]}" "$SCRATCH/missing"
grep -q "No such file or directory" "$ERR" || fail "unclear: $(cat "$ERR")"
run_rc 1 vss-expose "${copy_id[ext4]}" "$b"
grep -q "already mounted there" "$ERR" || fail "unclear: $(cat "$ERR")"
run_rc 3 vss-expose --unexpose "$SCRATCH/bad1"
grep -q "no shadow copy is exposed at" "$ERR" || fail "unclear: $(cat "$ERR")"
run_rc 3 vss-expose --unexpose "${copy_id[ext4]}"
grep -q "is not exposed" "$ERR" || fail "unclear: $(cat "$ERR")"
run_rc 2 vss-expose "not-a-guid" "$SCRATCH/bad1"
snapshot_state after
cmp -s "$SCRATCH/log/state.before" "$SCRATCH/log/state.after" || fail "a refused command changed something"

check "non-root is refused and changes nothing"
m=$(new_dir exp-nonroot)
chmod 0755 "$m"
run_ok vss-expose "${copy_id[ext4]}" "$m"
snapshot_state before
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
run_rc 1 nobody "$VSS_BUILD/bin/vss-expose" "${copy_id[xfs]}" "$SCRATCH/bad1"
grep -q "needs root privileges" "$ERR" || fail "unclear: $(cat "$ERR")"
run_rc 1 nobody "$VSS_BUILD/bin/vss-expose" --unexpose "$m"
grep -q "needs root privileges" "$ERR" || fail "unclear: $(cat "$ERR")"
run_rc 1 nobody "$VSS_BUILD/bin/vss-expose" --device "${copy_id[xfs]}"
run_ok nobody "$VSS_BUILD/bin/vss-list" -o ID,EXPOSED
grep -qF "$m" "$OUT" || fail "vss-list as nobody does not show the exposure"
snapshot_state after
cmp -s "$SCRATCH/log/state.before" "$SCRATCH/log/state.after" || fail "a refused command changed something"

check "an exposure unmounted behind our back is reported by vss-list and forgotten"
clone=${copy_file[ext4]}
umount "$m"
run_ok vss-list -o ID,EXPOSED
grep -q "forgot the exposure of shadow copy ${copy_id[ext4]}" "$ERR" ||
	fail "vss-list did not report the vanished exposure: $(cat "$ERR")"
[ -z "$(exposed_of "${copy_id[ext4]}")" ] || fail "the vanished exposure is still recorded"
no_leftovers "$m" "$clone"
run_ok vss-list
! grep -q "${copy_id[ext4]}" "$ERR" || fail "the second vss-list reported again: $(cat "$ERR")"

check "a loop device detached behind our back is forgotten too"
run_ok vss-expose --device "${copy_id[ext4]}"
dev=$(cat "$OUT")
losetup -d "$dev"
run_ok vss-list
grep -q "forgot the exposure of shadow copy ${copy_id[ext4]}" "$ERR" || fail "not reported: $(cat "$ERR")"
[ -z "$(exposed_of "${copy_id[ext4]}")" ] || fail "the vanished device exposure is still recorded"

check "deleting an exposed copy unexposes it first"
for fs in btrfs xfs; do
	m=$(new_dir "del-$fs")
	run_ok vss-expose "${copy_id[$fs]}" "$m"
	run_ok vss-delete "${copy_id[$fs]}"
	clone=
	[ "$fs" = btrfs ] || clone=${copy_file[$fs]}
	no_leftovers "$m" "$clone"
	[ ! -e "${copy_file[$fs]}" ] || fail "the $fs copy was not deleted"
done

for w in wb we wx; do stop_writer "$w"; done
check "the catalog and the stores agree"
check_consistent "$b/.vss" "$h/.vss"
say "ok"
