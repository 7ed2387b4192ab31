#!/bin/bash
# Bad volume names get a clear error that names them, exit 3 (not found),
# and change nothing: a path that does not exist, a plain directory (outside
# and inside a btrfs volume), a device that is not mounted, an unknown
# UUID=/LABEL=, and a good volume together with a bad one (the set is all or
# nothing).  A volume no provider supports fails without leaving anything.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs ext4
require_cmd jq
scratch_init

b=$(make_btrfs bvol 512M)
mkdir "$SCRATCH/plain" "$b/plain"
loose=$SCRATCH/loose.img
truncate -s 64M "$loose"
dev=$(_loop_attach "$loose")
mkfs.ext4 -q -F "$dev" >/dev/null 2>&1 || fail "mkfs.ext4 $dev failed"

state() {
	ls -A "$VSS_STATEDIR" | grep -v "\.lock$" || true
	[ ! -f "$VSS_STATEDIR/catalog.xml" ] || cat "$VSS_STATEDIR/catalog.xml"
	ls -A "$b"
	store_names "$b/.vss"
}
before=$(state)
same_state() {
	local now
	now=$(state)
	[ "$now" = "$before" ] && return 0
	diff <(printf '%s\n' "$before") <(printf '%s\n' "$now") >&2 || true
	return 1
}

# bad NAME [MORE VOLUMES...]: vss-create exits 3, names NAME, changes nothing.
bad() {
	local name=$1
	check "vss-create $*: not found"
	run_rc 3 vss-create "$@"
	say "   $(head -n1 "$ERR")"
	grep -qF -- "'$name'" "$ERR" || fail "the message does not name '$name': $(cat "$ERR")"
	[ ! -s "$OUT" ] || fail "vss-create printed on stdout: $(cat "$OUT")"
	same_state || fail "vss-create $* changed the state"
}

bad "$SCRATCH/does-not-exist"
bad "$SCRATCH/plain"
bad "$b/plain"
bad "$dev"
bad "UUID=01234567-89ab-4def-8123-456789abcdef"
bad "LABEL=vss-no-such-label"
bad "$SCRATCH/does-not-exist" "$b"
bad "$SCRATCH/plain" "$b"

check "vss-create with no volume is a usage error"
run_rc 2 vss-create
same_state || fail "changed the state"

check "a volume no provider supports: clear error, nothing changed"
# ext4 on a loop device whose image is on the root filesystem: neither
# btrfs nor an image on a reflink-capable filesystem (unless it is).
mnt=$SCRATCH/mnt/loose
_mount "$dev" "$mnt"
hostfs=$(stat -f -c %T "$SCRATCH")
if [ "$hostfs" = xfs ] || [ "$hostfs" = btrfs ]; then
	say "   (skipped: $SCRATCH is on $hostfs, which can clone images)"
else
	rc=0
	vss-create "$mnt" >"$OUT" 2>"$ERR" || rc=$?
	say "   exit $rc: $(head -n1 "$ERR")"
	[ "$rc" != 0 ] || fail "vss-create of an unsupported volume succeeded"
	[ -s "$ERR" ] || fail "no message for an unsupported volume"
	same_state || fail "changed the state"
	[ ! -e "$SCRATCH/.vss" ] || [ -z "$(store_names "$SCRATCH/.vss")" ] ||
		fail "left files in $SCRATCH/.vss"
fi
[ "$(catalog_count)" = 0 ] || fail "copies were made"
say "ok"
