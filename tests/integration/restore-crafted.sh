#!/bin/bash
# Component restore from crafted documents: a writer's metadata whose
# alternate location has '..' parts, and a saved metadata document whose
# file set climbs out of its volume with '..'.  Both are refused, and
# nothing is written outside where the documents were allowed to write.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd jq
scratch_init

v=$(make_btrfs vol 256M)
mkdir -p "$v/app" "$SCRATCH/alt" "$SCRATCH/outside"
echo "data of the app" >"$v/app/data.txt"
echo "sentinel" >"$SCRATCH/outside/sentinel"
snapshot_outside() { (cd "$SCRATCH/outside" && find . -printf '%p %s %T@\n' | sort); }
before=$(snapshot_outside)

# writer NAME ID DESTINATION: an express writer restoring app to DESTINATION.
writer() {
	mkdir -p "$VSS_SYSCONFDIR/writers.d"
	cat >"$VSS_SYSCONFDIR/writers.d/$1.xml" <<XML
<EXPRESS_WRITER xmlns="x-schema:#VssLinuxExpressWriter" version="1">
  <WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2">
    <IDENTIFICATION writerId="$2" friendlyName="$1" usage="USER_DATA" dataSource="OTHER"/>
    <RESTORE_METHOD method="RESTORE_TO_ALTERNATE_LOCATION" writerRestore="never">
      <ALTERNATE_LOCATION_MAPPING path="$v/app" filespec="*" recursive="yes" destination="$3"/>
    </RESTORE_METHOD>
    <BACKUP_LOCATIONS>
      <FILE_GROUP componentName="app">
        <FILE_LIST path="$v/app" filespec="*" recursive="yes"/>
      </FILE_GROUP>
    </BACKUP_LOCATIONS>
  </WRITER_METADATA>
</EXPRESS_WRITER>
XML
}

check "an alternate location with '..' parts is refused"
writer Crafted 5e0c6a2b-0f3e-4d8a-9a51-0d7c2b3a4f61 "$SCRATCH/alt/../outside"
run_ok vss-create -b "$SCRATCH/b1.xml" "$v"
run_rc 1 vss-restore -b "$SCRATCH/b1.xml" -c Crafted:app
grep -q "not a plain absolute path" "$ERR" || fail "no clear refusal: $(cat "$ERR")"
[ "$(snapshot_outside)" = "$before" ] || fail "something was written to $SCRATCH/outside"
[ -z "$(ls -A "$SCRATCH/alt")" ] || fail "something was written to $SCRATCH/alt"

check "a plain alternate location is used (the same writer, fixed)"
writer Crafted 5e0c6a2b-0f3e-4d8a-9a51-0d7c2b3a4f61 "$SCRATCH/alt"
run_ok vss-create -b "$SCRATCH/b2.xml" "$v"
run_ok vss-restore -b "$SCRATCH/b2.xml" -c Crafted:app
[ "$(cat "$SCRATCH/alt/data.txt")" = "data of the app" ] || fail "the file did not reach $SCRATCH/alt"
rm -rf "${SCRATCH:?}/alt/"*

check "a saved metadata document whose file set climbs out of its volume is refused"
wmd=$(ls "$SCRATCH"/b2.xml.*.wmd.xml)
sed -i "s|path=\"$v/app\" filespec|path=\"$v/app/../../../outside\" filespec|" "$wmd"
grep -q '/\.\./\.\./\.\./outside' "$wmd" || fail "could not craft $wmd"
rc=0
vss-restore -b "$SCRATCH/b2.xml" -c Crafted:app >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
[ "$rc" != 0 ] || fail "a file set outside its volume was restored: $(cat "$SCRATCH/err")"
[ "$(snapshot_outside)" = "$before" ] || fail "something was written to $SCRATCH/outside"
[ -z "$(ls -A "$SCRATCH/alt")" ] || fail "something was written to $SCRATCH/alt: $(ls -A "$SCRATCH/alt")"

check "the command line cannot climb out either"
id=$(vss-list -rn -o ID --for "$v" | head -n 1)
run_rc 1 vss-restore "$id" "$v/app/../../outside/sentinel"
run_rc 1 vss-restore "$id" /etc/passwd
[ "$(snapshot_outside)" = "$before" ] || fail "something was written to $SCRATCH/outside"
say ok
