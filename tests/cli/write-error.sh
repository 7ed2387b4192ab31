#!/bin/bash
# Closing stdout is checked: output to a full device fails with exit status
# 1 and "<tool>: write error: ...", instead of being lost silently.
# shellcheck source=tests/cli/cli-lib.bash
. "$(dirname "$0")/cli-lib.bash"

[ -w /dev/full ] || skip_all "/dev/full is missing or not writable"

full() { "$@" >/dev/full; }

werr="write error: No space left on device"
expect "vss-list -J > /dev/full" 1 '' "vss-list: $werr" -- full "$BIN/vss-list" -J
expect "vss-list --help > /dev/full" 1 '' "vss-list: $werr" -- full "$BIN/vss-list" --help
expect "vss-create --version > /dev/full" 1 '' "vss-create: $werr" -- \
	full "$BIN/vss-create" --version
expect "vss-delete --help > /dev/full" 1 '' "vss-delete: $werr" -- \
	full "$BIN/vss-delete" --help
# Printing nothing to a full device is not an error.
expect "vss-list (nothing to print) > /dev/full" 0 '' '' -- full "$BIN/vss-list"
# A usage error keeps its own status; stdout had nothing to write.
expect "vss-list --bogus > /dev/full" 2 '' "vss-list: unrecognized option '--bogus'
Try 'vss-list --help' for more information." -- full "$BIN/vss-list" --bogus

cli_finish
