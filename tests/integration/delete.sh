#!/bin/bash
# vss-delete by ID, --set, --for VOL --oldest, --for VOL --all and --all:
# exactly the named copies go, from the catalog and from disk (the btrfs
# subvolume, the image clone and its properties file); an unknown ID is
# "not found" (exit 3) and changes nothing.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq btrfs
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" evol 128M ext4)
echo data >"$b/file"
echo data >"$e/file"

# Four sets of both volumes, oldest first.
sets=()
for i in 1 2 3 4; do
	run_ok vss-create "$b" "$e"
	sets+=("$(set_id_of "$OUT")")
	cp "$OUT" "$SCRATCH/log/set$i.out"
	sleep 0.01
done

# gone ID COPY: the copy is gone from the catalog and from disk.
gone() {
	local id=$1 copy=$2
	[ ! -e "$copy" ] || fail "$copy of deleted copy $id is still on disk"
	[ ! -e "${copy%.img}.xml" ] || fail "properties of deleted copy $id are still on disk"
	jq -e --arg i "$id" 'all(.shadowcopies[]; .id != $i)' "$(list_json)" >/dev/null ||
		fail "deleted copy $id is still listed"
	if [ -d "${copy%/*}" ] && [ "${copy%.img}" = "$copy" ]; then
		case $(btrfs subvolume list "$b") in
		*"$(bare_id "$id")"*) fail "btrfs still has a subvolume for deleted copy $id" ;;
		esac
	fi
	return 0
}
there() {
	[ -e "$2" ] || fail "copy $1 should still be on disk at $2"
}

# id_of SETNO VOLUME, copy_path SETNO VOLUME
id_of() { awk -v v="$2" '$1 ~ /^{/ && $2 == v { print $1 }' "$SCRATCH/log/set$1.out"; }
copy_path() { copy_of "$SCRATCH/log/set$1.out" "$2"; }

check "delete one copy by ID (the copy of $b in set 1)"
run_ok vss-delete "$(id_of 1 "$b")"
gone "$(id_of 1 "$b")" "$(copy_path 1 "$b")"
[ "$(catalog_count)" = 7 ] || fail "expected 7 copies left"
there "$(id_of 1 "$e")" "$(copy_path 1 "$e")"

check "an unknown ID is not found and changes nothing"
run_rc 3 vss-delete "{00000000-0000-4000-8000-000000000000}"
[ "$(catalog_count)" = 7 ] || fail "an unknown ID changed the catalog"
check "a malformed ID is a usage error"
run_rc 2 vss-delete not-a-guid

check "delete a whole set with --set"
run_ok vss-delete --set "${sets[1]}"
while read -r id vol copy; do
	gone "$id" "$copy"
done < <(awk '$1 ~ /^{/' "$SCRATCH/log/set2.out")
[ "$(catalog_count)" = 5 ] || fail "expected 5 copies left"

check "--for $b --oldest deletes only the oldest copy of $b"
# Set 1's copy of $b and all of set 2 are gone: set 3 holds the oldest.
run_ok vss-delete --for "$b" --oldest
gone "$(id_of 3 "$b")" "$(copy_path 3 "$b")"
there "$(id_of 4 "$b")" "$(copy_path 4 "$b")"
[ "$(catalog_count --for "$b")" = 1 ] || fail "expected 1 copy of $b left"
[ "$(catalog_count --for "$e")" = 3 ] || fail "the copies of $e were touched"

check "--for $e --all deletes every copy of $e and nothing else"
jq -r '.shadowcopies[] | "\(.id) \(.copy)"' "$(list_json --for "$e")" >"$SCRATCH/log/e.copies"
run_ok vss-delete --for "$e" --all
while read -r id copy; do gone "$id" "$copy"; done <"$SCRATCH/log/e.copies"
[ "$(catalog_count --for "$e")" = 0 ] || fail "copies of $e are left"
[ "$(catalog_count --for "$b")" = 1 ] || fail "the copy of $b was touched"

check "--all deletes the rest"
run_ok vss-create "$b" "$e"
jq -r '.shadowcopies[] | "\(.id) \(.copy)"' "$(list_json)" >"$SCRATCH/log/all.copies"
run_ok vss-delete --all
while read -r id copy; do gone "$id" "$copy"; done <"$SCRATCH/log/all.copies"
[ "$(catalog_count)" = 0 ] || fail "copies are left after --all"
[ -z "$(store_names "$b/.vss")" ] || fail "$b/.vss is not empty: $(store_names "$b/.vss")"
[ -z "$(store_names "$h/.vss")" ] || fail "$h/.vss is not empty: $(store_names "$h/.vss")"
[ -z "$(btrfs subvolume list -o "$b/.vss" 2>/dev/null)" ] ||
	fail "btrfs still lists subvolumes under $b/.vss"

check "usage errors change nothing"
run_rc 2 vss-delete
run_rc 2 vss-delete --for "$b"
run_rc 2 vss-delete --oldest
say "ok"
