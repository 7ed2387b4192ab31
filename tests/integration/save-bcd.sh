#!/bin/bash
# vss-create --save-bcd FILE writes the Backup Components Document of the
# set it made: the set ID and the IDs of its copies, a copy backup, mode
# 0600, loadable again.  A FILE whose directory cannot be written is refused
# before any copy is made.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs xfs ext4
require_cmd xmllint
scratch_init

b=$(make_btrfs bvol 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" evol 128M ext4)
doc=$SCRATCH/log/set.bcd.xml

check "vss-create --save-bcd writes the set's document"
run_ok vss-create --save-bcd "$doc" "$b" "$e"
set=$(set_id_of "$OUT")
[ -f "$doc" ] || fail "no document at $doc"
[ "$(stat -c %a "$doc")" = 600 ] || fail "$doc has mode $(stat -c %a "$doc"), expected 600"
xp() { xmllint --xpath "$1" "$doc" 2>/dev/null; }
root=$(xp 'local-name(/*)')
[ "$root" = BACKUP_COMPONENTS ] || fail "root element is '$root'"
[ "$(xp 'string(/*/@snapshotSetId)')" = "$(bare_id "$set")" ] ||
	fail "snapshotSetId is '$(xp 'string(/*/@snapshotSetId)')', the set is $set"
[ "$(xp 'string(/*/@backupType)')" = copy ] || fail "backupType is not copy"
want=$(copy_ids_of "$OUT" | while read -r id; do bare_id "$id"; done | sort)
got=$(xp '//*[local-name()="SNAPSHOT"]/@snapshotId' | sed 's/.*="\(.*\)"/\1/' | sort)
[ "$want" = "$got" ] || fail "the document names copies '$got', the set made '$want'"

check "the document loads again (vss-meta)"
if [ -x "$VSS_BUILD/bin/vss-meta" ]; then
	run_ok vss-meta -J -w "$doc"
fi

check "an unwritable place is refused before any copy is made"
before=$(catalog_count)
run_rc 1 vss-create --save-bcd /nonexistent/dir/set.xml "$b"
grep -q "/nonexistent/dir/set.xml" "$ERR" || fail "the error does not name the file: $(cat "$ERR")"
[ "$(catalog_count)" = "$before" ] || fail "a copy was made although the document could not be written"
check_consistent "$b/.vss" "$h/.vss"
say "ok"
