#!/bin/bash
# Usage errors: one line saying what is wrong, then "Try '<tool> --help' for
# more information.", on stderr, nothing on stdout, exit status 2, and
# nothing changed.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

G=5f0f3c4e-0d7a-4e0c-9b55-2a8d3f7e9a10

try() { echo "Try '$1 --help' for more information."; }

for tool in vss-create vss-list vss-delete; do
	expect "$tool: unknown long option" 2 '' \
		"$tool: unrecognized option '--bogus'
$(try $tool)" -- "$BIN/$tool" --bogus
	expect "$tool: unknown short option" 2 '' \
		"$tool: invalid option -- 'Z'
$(try $tool)" -- "$BIN/$tool" -Z
done

# A missing option argument.
expect "vss-list --set without an argument" 2 '' \
	"vss-list: option '--set' requires an argument
$(try vss-list)" -- "$BIN/vss-list" --set
expect "vss-list -f without an argument" 2 '' \
	"vss-list: option requires an argument -- 'f'
$(try vss-list)" -- "$BIN/vss-list" -f
expect "vss-delete --for without an argument" 2 '' \
	"vss-delete: option '--for' requires an argument
$(try vss-delete)" -- "$BIN/vss-delete" --for
expect "vss-create -p without an argument" 2 '' \
	"vss-create: option requires an argument -- 'p'
$(try vss-create)" -- "$BIN/vss-create" -p

# Bad GUIDs get the library's message.
bad="'not-a-guid' is not a GUID (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})"
expect "vss-list: bad ID argument" 2 '' "vss-list: $bad
$(try vss-list)" -- "$BIN/vss-list" not-a-guid
expect "vss-list: bad ID after a good one" 2 '' "vss-list: $bad
$(try vss-list)" -- "$BIN/vss-list" "$G" not-a-guid
expect "vss-list --set with a bad ID" 2 '' "vss-list: $bad
$(try vss-list)" -- "$BIN/vss-list" --set not-a-guid
expect "vss-delete: bad ID argument" 2 '' "vss-delete: $bad
$(try vss-delete)" -- "$BIN/vss-delete" not-a-guid
expect "vss-delete --set with a bad ID" 2 '' "vss-delete: $bad
$(try vss-delete)" -- "$BIN/vss-delete" -s not-a-guid
expect "vss-list: unbalanced braces" 2 '' \
	"vss-list: '{$G' is not a GUID (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})
$(try vss-list)" -- "$BIN/vss-list" "{$G"

# vss-list columns.
expect "vss-list -o with an unknown column" 2 '' "vss-list: unknown column 'BOGUS'
$(try vss-list)" -- "$BIN/vss-list" -o ID,BOGUS
expect "vss-list -o +" 2 '' "vss-list: no columns given to --output
$(try vss-list)" -- "$BIN/vss-list" -o +
expect "vss-list -o with an empty name" 2 '' "vss-list: unknown column ''
$(try vss-list)" -- "$BIN/vss-list" -o ID,,SET

# vss-delete: exactly one selection.
expect "vss-delete with no selection" 2 '' \
	"vss-delete: nothing to delete: give shadow copy IDs, --set, --for or --all
$(try vss-delete)" -- "$BIN/vss-delete"
one="vss-delete: give only one of: shadow copy IDs, --set, --for, --all
$(try vss-delete)"
expect "vss-delete --all --set" 2 '' "$one" -- "$BIN/vss-delete" --all --set "$G"
expect "vss-delete ID --all" 2 '' "$one" -- "$BIN/vss-delete" "$G" --all
expect "vss-delete ID --set" 2 '' "$one" -- "$BIN/vss-delete" "$G" -s "$G"
expect "vss-delete --set --for --oldest" 2 '' "$one" -- \
	"$BIN/vss-delete" -s "$G" --for /srv --oldest
expect "vss-delete --for alone" 2 '' "vss-delete: --for needs --oldest or --all
$(try vss-delete)" -- "$BIN/vss-delete" --for /srv
expect "vss-delete --oldest alone" 2 '' "vss-delete: --oldest needs --for
$(try vss-delete)" -- "$BIN/vss-delete" --oldest
expect "vss-delete --for --oldest --all" 2 '' \
	"vss-delete: --oldest and --all cannot be combined
$(try vss-delete)" -- "$BIN/vss-delete" --for /srv --oldest --all

# vss-create arguments.
expect "vss-create with no volume" 2 '' "vss-create: no volume given
$(try vss-create)" -- "$BIN/vss-create"
expect "vss-create with only a command" 2 '' "vss-create: no volume given
$(try vss-create)" -- "$BIN/vss-create" -- true
expect "vss-create with nothing after --" 2 '' "vss-create: no command after '--'
$(try vss-create)" -- "$BIN/vss-create" / --
for t in abc 0 600.001 1.2345 -1 ''; do
	expect "vss-create --hold-timeout '$t'" 2 '' \
		"vss-create: invalid hold timeout '$t' (seconds, 0.001 to 600, up to three decimals)
$(try vss-create)" -- "$BIN/vss-create" --hold-timeout "$t" /
done
expect_match "vss-create with an unknown provider" 2 '' \
	"^vss-create: .*'nosuch'" -- "$BIN/vss-create" -p nosuch /
grep -q "^$(try vss-create)\$" "$ERR" ||
	fail_check "vss-create with an unknown provider says try --help" "$(cat "$ERR")"
[ "$(wc -l <"$ERR")" = 2 ] ||
	fail_check "vss-create with an unknown provider: two lines" "$(cat "$ERR")"

# Option arguments after "--" are the command's, never ours.
expect "vss-create options after -- are not parsed" 2 '' "vss-create: no volume given
$(try vss-create)" -- "$BIN/vss-create" -- true --bogus

# Nothing of the above created state.
made=$(find "$VSS_STATEDIR" "$VSS_RUNDIR" -mindepth 1 | tr '\n' ' ')
if [ -z "$made" ]; then
	pass "usage errors leave the state and run directories empty"
else
	fail_check "usage errors leave the state and run directories empty" "$made"
fi

cli_finish
