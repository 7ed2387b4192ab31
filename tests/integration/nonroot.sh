#!/bin/bash
# Only root changes state: as nobody, vss-create and vss-delete refuse with
# "needs root" (exit 1) and change nothing, while vss-list works.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd jq setpriv
scratch_init
id nobody >/dev/null 2>&1 || skip "there is no user 'nobody'"
getent group nogroup >/dev/null || skip "there is no group 'nogroup'"

b=$(make_btrfs bvol 512M)
run_ok vss-create "$b"
id=$(copy_ids_of "$OUT")
copy=$(copy_of "$OUT" "$b")
snapshot() { cat "$VSS_STATEDIR/catalog.xml"; store_names "$b/.vss"; }
before=$(snapshot)

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

for cmd in "vss-create $b" "vss-create --auto-release $b" "vss-delete $id" \
	"vss-delete --all" "vss-delete --for $b --oldest"; do
	check "as nobody: $cmd refuses"
	# shellcheck disable=SC2086
	run_rc 1 as_nobody $cmd
	say "   $(head -n1 "$ERR")"
	grep -q 'needs root' "$ERR" || fail "the message does not say 'needs root': $(cat "$ERR")"
	[ "$(snapshot)" = "$before" ] || fail "$cmd as nobody changed the state"
	[ -d "$copy" ] || fail "the copy $copy is gone"
done

check "as nobody: vss-list works"
run_ok as_nobody vss-list
grep -qF "$id" "$OUT" || fail "vss-list as nobody does not show $id: $(cat "$OUT")"
run_ok as_nobody vss-list -J
jq -e --arg i "$id" '[.shadowcopies[].id] == [$i]' "$OUT" >/dev/null ||
	fail "vss-list -J as nobody: $(cat "$OUT")"
run_ok as_nobody vss-list --for "$b" "$id"

check "root can still delete it"
run_ok vss-delete "$id"
[ ! -e "$copy" ] || fail "$copy is still there"
say "ok"
