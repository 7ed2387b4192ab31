#!/bin/bash
# vss-list --writers, and the writer options of vss-create that are refused
# before anything is done.  Express writers only: they need no process.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

try() { echo "Try '$1 --help' for more information."; }

# No writers.d: nothing listed; JSON an empty array.
expect "vss-list --writers, no writers" 0 '' '' -- "$BIN/vss-list" --writers
run "$BIN/vss-list" --writers -J
if [ "$RC" = 0 ] && [ "$(tr -d ' \n\t' <"$OUT")" = '{"writers":[]}' ]; then
	pass "vss-list --writers -J, no writers"
else
	fail_check "vss-list --writers -J, no writers" 'expected {"writers": []}'
	show_output
fi

mkdir -p "$VSS_SYSCONFDIR/writers.d"
cat >"$VSS_SYSCONFDIR/writers.d/app.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<EXPRESS_WRITER xmlns="x-schema:#VssLinuxExpressWriter" version="1" freezeTimeout="5">
  <HOOK event="Freeze" command="true"/>
  <WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2">
    <IDENTIFICATION writerId="0f7b3a51-9a2e-4c1d-8e55-1d0c2b3a4f60" friendlyName="App Writer" usage="USER_DATA" dataSource="OTHER"/>
  </WRITER_METADATA>
</EXPRESS_WRITER>
XML
W='{0f7b3a51-9a2e-4c1d-8e55-1d0c2b3a4f60}'
expect "vss-list --writers, one express writer" 0 \
	"App Writer $W $W [1] Stable No error" '' -- \
	"$BIN/vss-list" --writers -n -o NAME,CLASS-ID,INSTANCE-ID,STATE,LAST-ERROR
expect "vss-list --writers -r, raw" 0 \
	'App\x20Writer express [1]\x20Stable' '' -- \
	"$BIN/vss-list" --writers -rn -o NAME,KIND,STATE

# The state the last backup left for it.
mkdir -p "$VSS_RUNDIR/writer-status"
cat >"$VSS_RUNDIR/writer-status/0f7b3a51-9a2e-4c1d-8e55-1d0c2b3a4f60.status" <<'EOT'
state=9
failure=TIMEOUT
failed-event=Freeze
message=no answer to Freeze within 5.000 s
EOT
expect "vss-list --writers, a recorded failure" 0 \
	'App\x20Writer [9]\x20Failed\x20at\x20freeze 9 Timed\x20out Freeze no\x20answer\x20to\x20Freeze\x20within\x205.000\x20s' '' -- \
	"$BIN/vss-list" --writers -rn -o NAME,STATE,STATE-ID,LAST-ERROR,FAILED-EVENT,MESSAGE
run "$BIN/vss-list" --writers -J -o NAME,STATE,STATE-ID,LAST-ERROR
if [ "$RC" = 0 ] && [ "$(tr -d '\n\t' <"$OUT" | tr -s ' ')" = \
	'{ "writers": [ { "name": "App Writer", "state": "Failed at freeze", "state-id": 9, "last-error": "Timed out" } ]}' ]; then
	pass "vss-list --writers -J, state as text and number"
else
	fail_check "vss-list --writers -J, state as text and number" "unexpected JSON"
	show_output
fi

# A broken registration file is an error that names it; nothing is listed.
printf '<EXPRESS_WRITER xmlns="x-schema:#VssLinuxExpressWriter" version="1">\n  <HOOK event="Identify" command="true"/>\n' \
	>"$VSS_SYSCONFDIR/writers.d/broken.xml"
expect_match "vss-list --writers, a file that is not XML" 4 '' \
	"^vss-list: cannot list the writers: .*writers.d/broken.xml:[0-9]+" -- \
	"$BIN/vss-list" --writers
rm -f "$VSS_SYSCONFDIR/writers.d/broken.xml"

# Options that cannot go together are refused before anything is done.
expect "vss-list --writers with an ID" 2 '' \
	"vss-list: --writers lists writers: it takes no shadow copy ID
$(try vss-list)" -- "$BIN/vss-list" --writers 5f0f3c4e-0d7a-4e0c-9b55-2a8d3f7e9a10
expect "vss-list --writers --rescan" 2 '' \
	"vss-list: --writers lists writers: it takes no --rescan
$(try vss-list)" -- "$BIN/vss-list" --writers --rescan
expect "vss-list --writers, an unknown column" 2 '' \
	"vss-list: unknown column 'HOLD'
$(try vss-list)" -- "$BIN/vss-list" --writers -o HOLD
expect_match "vss-create --context bogus" 2 '' \
	"^vss-create: unknown context 'bogus' \\(persistent, volatile, clientaccessible" -- \
	"$BIN/vss-create" --context bogus /
expect "vss-create --no-writers --backup-complete" 2 '' \
	"vss-create: --backup-complete: no writer takes part in these copies
$(try vss-create)" -- "$BIN/vss-create" --no-writers --backup-complete /
expect "vss-create --context clientaccessible --exclude-writer" 2 '' \
	"vss-create: --exclude-writer: no writer takes part in these copies
$(try vss-create)" -- "$BIN/vss-create" -c clientaccessible -x App /
expect "vss-create -a --context persistent" 2 '' \
	"vss-create: --auto-release makes volatile copies; it cannot go with --context persistent
$(try vss-create)" -- "$BIN/vss-create" -a --context persistent /

cli_finish
