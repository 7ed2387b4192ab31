#!/bin/bash
# --help and -h print the usage on stdout and exit 0; --version and -V print
# "<tool> from vss X.Y.Z"; both with nothing on stderr.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

for tool in vss-create vss-list vss-delete; do
	for opt in --help -h; do
		expect_match "$tool $opt" 0 "^Usage:\$" '' -- "$BIN/$tool" "$opt"
		grep -q "^ $tool \[options\]" "$OUT" ||
			fail_check "$tool $opt names the tool" "no ' $tool [options]' line"
		grep -q "Exit status:" "$OUT" ||
			fail_check "$tool $opt gives the exit status" "no 'Exit status:' line"
	done
	for opt in --version -V; do
		expect "$tool $opt" 0 "$tool from vss $VSS_TEST_VERSION" '' -- "$BIN/$tool" "$opt"
	done
	# Options after --help do not matter: help wins, like util-linux.
	expect_match "$tool --help --bogus-after" 0 "^Usage:\$" '' -- "$BIN/$tool" --help --bogus
done

# The columns a listing can show are in vss-list --help.
run "$BIN/vss-list" --help
for col in ID SET VOLUME DEVICE UUID FSTYPE COPY PROVIDER PROVIDER-ID CREATED STATE TYPE \
	ATTRIBUTES HOLD COUNT MACHINE OWNER EXPOSED; do
	if grep -Eq "^ [* ]$col " "$OUT"; then
		pass "vss-list --help lists column $col"
	else
		fail_check "vss-list --help lists column $col" "not in the column list"
	fi
done

cli_finish
