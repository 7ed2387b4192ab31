#!/bin/bash
# Auto-release copies live as long as their owner:
#  - with COMMAND, they exist while it runs (named in VSS_SHADOW_SET,
#    VSS_SHADOW_<n>, VSS_SHADOW_<n>_PATH), are deleted when it ends, and
#    vss-create exits with its status;
#  - without COMMAND the owner is the calling process: a sub-shell that runs
#    vss-create --auto-release and exits takes the copies with it (the next
#    vss-list as root no longer shows them, and they are gone from disk);
#  - if vss-create is SIGKILLed while COMMAND runs, the next command
#    releases them.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" evol 128M ext4)
echo hello >"$b/file"
echo hello >"$e/file"

check "with a command: the copies exist while it runs and are gone after"
cat >"$SCRATCH/inside.sh" <<'INNER'
#!/bin/bash
# Runs as the COMMAND of vss-create: record what it sees.
out=$1
{
	echo "set=$VSS_SHADOW_SET"
	echo "id1=$VSS_SHADOW_1"
	echo "path1=$VSS_SHADOW_1_PATH"
	echo "id2=$VSS_SHADOW_2"
	echo "path2=$VSS_SHADOW_2_PATH"
	[ -e "$VSS_SHADOW_1_PATH" ] && echo "exists1=yes"
	[ -e "$VSS_SHADOW_2_PATH" ] && echo "exists2=yes"
	cat "$VSS_SHADOW_1_PATH/file" 2>/dev/null | sed 's/^/content1=/'
} >"$out"
vss-list -J -o ID,SET,TYPE,OWNER,COPY >"$out.json"
exit "${2:-0}"
INNER
chmod +x "$SCRATCH/inside.sh"
run_ok vss-create --auto-release "$b" "$e" -- "$SCRATCH/inside.sh" "$SCRATCH/log/inside"
cat "$SCRATCH/log/inside"
seen=$SCRATCH/log/inside
grep -q '^set={' "$seen" || fail "VSS_SHADOW_SET was not set"
grep -q '^id1={' "$seen" && grep -q '^id2={' "$seen" || fail "VSS_SHADOW_1/2 were not set"
grep -q '^exists1=yes' "$seen" && grep -q '^exists2=yes' "$seen" ||
	fail "the copies did not exist while the command ran"
grep -q '^content1=hello' "$seen" || fail "the btrfs copy did not hold the file"
set=$(sed -n 's/^set=//p' "$seen")
jq -e --arg s "$set" '(.shadowcopies | length) == 2 and
	all(.shadowcopies[]; .set == $s and .type == "Backup" and (.owner | type) == "number"
	    and .owner > 0)' "$seen.json" >/dev/null ||
	fail "inside the command, vss-list did not show 2 auto-release copies: $(cat "$seen.json")"
for p in $(sed -n 's/^path[12]=//p' "$seen"); do
	[ ! -e "$p" ] || fail "$p still exists after the command ended"
done
[ "$(catalog_count)" = 0 ] || fail "copies are still listed after the command ended"
check_consistent "$b/.vss" "$h/.vss"

check "vss-create exits with the command's status, and still deletes the copies"
run_rc 7 vss-create -a "$b" -- "$SCRATCH/inside.sh" "$SCRATCH/log/inside7" 7
for p in $(sed -n 's/^path[12]=//p' "$SCRATCH/log/inside7"); do
	[ ! -e "$p" ] || fail "$p still exists after the failing command"
done
[ "$(catalog_count)" = 0 ] || fail "copies are still listed"

check "without a command: the copies die with the sub-shell that made them"
fifo=$SCRATCH/hold
mkfifo "$fifo"
# The sub-shell must stay a process of its own (no exec of vss-create), so
# it does something after vss-create and then waits on the FIFO.
scratch_bg bash -c 'vss-create --auto-release "$1" "$2" >"$3" 2>&1; echo $? >"$3.rc"; read -r _ <"$4"' \
	sh "$b" "$e" "$SCRATCH/log/sub.out" "$fifo"
sub=$BG_PID
wait_file "$SCRATCH/log/sub.out.rc" 30 || fail "vss-create in the sub-shell did not finish"
[ "$(cat "$SCRATCH/log/sub.out.rc")" = 0 ] || {
	cat "$SCRATCH/log/sub.out" >&2
	fail "vss-create --auto-release failed"
}
j=$(list_json -o ID,OWNER,TYPE,COPY)
jq -e --argjson p "$sub" '(.shadowcopies | length) == 2 and
	all(.shadowcopies[]; .owner == $p and .type == "Backup")' "$j" >/dev/null ||
	fail "expected 2 copies owned by the sub-shell $sub: $(cat "$j")"
jq -r '.shadowcopies[].copy' "$j" >"$SCRATCH/log/sub.copies"
while read -r p; do [ -e "$p" ] || fail "$p is missing while its owner lives"; done \
	<"$SCRATCH/log/sub.copies"
echo go >"$fifo"
wait "$sub" || true
_undo_forget pid "$sub"
[ "$(catalog_count)" = 0 ] || fail "the copies are still listed after their owner ended"
while read -r p; do [ ! -e "$p" ] || fail "$p is still on disk after its owner ended"; done \
	<"$SCRATCH/log/sub.copies"
check_consistent "$b/.vss" "$h/.vss"

check "vss-create SIGKILLed while its command runs: the next command releases the copies"
scratch_bg vss-create -a "$b" -- sleep 60
creator=$BG_PID
for i in $(seq 100); do
	[ "$(catalog_count)" = 1 ] && break
	sleep 0.1
done
[ "$(catalog_count)" = 1 ] || fail "the copy did not appear"
copy=$(jq -r '.shadowcopies[0].copy' "$(list_json)")
child=$(pgrep -P "$creator" -x sleep || true)
kill -KILL "$creator"
wait "$creator" 2>/dev/null || true
[ -z "$child" ] || kill "$child" 2>/dev/null || true
[ "$(catalog_count)" = 0 ] || fail "the copy of a killed owner is still listed"
[ ! -e "$copy" ] || fail "$copy of a killed owner is still on disk"
check_consistent "$b/.vss" "$h/.vss"
say "ok"
