#!/bin/bash
# vss-expose from the outside: --help and --version, usage errors (one line,
# then "Try 'vss-expose --help'...", exit status 2, before anything is
# looked at), and refusal without root.  Exposing itself is tested as root on
# real volumes in tests/integration/expose.sh.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

T=vss-expose
[ -x "$BIN/$T" ] || { echo "FAIL: $BIN/$T is not built (run 'make tools' first)"; exit 1; }
G="{5f0f3c4e-0d7a-4e0c-9b55-2a8d3f7e9a10}"
try="Try '$T --help' for more information."
bad="'not-a-guid' is not a GUID (expected {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx})"

for opt in --help -h; do
	expect_match "$T $opt" 0 "^Usage:\$" '' -- "$BIN/$T" "$opt"
	for form in "ID DIRECTORY" "--device ID" "--smb SHARE ID..." "--unexpose ID|DIRECTORY|DEVICE"; do
		grep -qF -- " $T [options] $form" "$OUT" ||
			fail_check "$T $opt shows '$form'" "no ' $T [options] $form' line"
	done
	grep -q "Exit status:" "$OUT" || fail_check "$T $opt gives the exit status" "no 'Exit status:' line"
done
for opt in --version -V; do
	expect "$T $opt" 0 "$T from vss $VSS_TEST_VERSION" '' -- "$BIN/$T" "$opt"
done

u() { # NAME MESSAGE ARGS...
	local name=$1 msg=$2
	shift 2
	expect "$T: $name" 2 '' "$T: $msg
$try" -- "$BIN/$T" "$@"
}
u "unknown option" "unrecognized option '--bogus'" --bogus
u "no arguments" "give a shadow copy ID and a directory"
u "an ID without a directory" "give a shadow copy ID and a directory" "$G"
u "three arguments" "too many arguments" "$G" /mnt /tmp
u "a bad ID" "$bad" not-a-guid /mnt
u "an empty directory name" "empty directory name" "$G" ''
u "--device without an ID" "option '--device' requires an argument" --device
u "--device with a bad ID" "$bad" --device not-a-guid
u "--device with a directory too" "too many arguments" --device "$G" /mnt
u "--unexpose with an empty name" "empty name given to --unexpose" --unexpose ''
u "--unexpose with more" "too many arguments" --unexpose "$G" /mnt
u "--device and --unexpose" "give only one of: --device, --smb, --unexpose" --device "$G" --unexpose /mnt
u "--force without --unexpose" "--force only goes with --unexpose" --force "$G" /mnt
u "--exec with --device" "--exec only goes with exposing at a directory" --exec --device "$G"
u "--exec with --smb" "--exec only goes with exposing at a directory" --exec --smb /srv/share "$G"
u "--smb without IDs" "give the shadow copies to show to SMB clients" --smb /srv/share
u "--smb with a bad ID" "$bad" --smb /srv/share "$G" not-a-guid
u "--smb-conf without --smb" "--smb-conf only goes with --smb" --smb-conf /tmp/x "$G" /mnt

if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
		chmod 755 "$CLI_TMP" "$VSS_STATEDIR" "$VSS_RUNDIR" "$VSS_SYSCONFDIR"
		as_user() { setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups "$@"; }
		if as_user test -x "$BIN/$T"; then
			expect "as nobody: $T ID DIRECTORY" 1 '' \
				"$T: exposing shadow copies needs root privileges (try sudo)" -- \
				as_user "$BIN/$T" "$G" "$CLI_TMP"
			expect "as nobody: $T --unexpose" 1 '' \
				"$T: unexposing shadow copies needs root privileges (try sudo)" -- \
				as_user "$BIN/$T" --unexpose "$CLI_TMP"
		fi
	fi
	# As root, with an empty catalog: no such copy, nothing exposed.
	mkdir "$CLI_TMP/dir"
	expect "$T of an unknown ID" 3 '' "$T: cannot expose shadow copy $G: no shadow copy $G" -- \
		"$BIN/$T" "$G" "$CLI_TMP/dir"
	expect "$T --unexpose of a directory with nothing exposed" 3 '' \
		"$T: cannot unexpose '$CLI_TMP/dir': no shadow copy is exposed at '$CLI_TMP/dir'" -- \
		"$BIN/$T" --unexpose "$CLI_TMP/dir"
else
	expect "as $(id -un): $T ID DIRECTORY" 1 '' \
		"$T: exposing shadow copies needs root privileges (try sudo)" -- \
		"$BIN/$T" "$G" "$CLI_TMP"
fi

cli_finish
