#!/bin/bash
# tests/bench/bcd.sh [COMPONENTS [FILES]] — the cost of a large Backup
# Components Document: 1000 components holding 100000 file entries in all
# by default, built through the API and saved; then load + validate + save
# of that file is timed and peak RSS reported (targets: <= 1 s, <= 200 MB),
# with the time of each phase (parse, RELAX NG validation, reading, save).
# Builds tests/bench/bcd-bench.c against build/lib/libvss.a (make lib).
# A benchmark, not a test: it fails only on errors, never on the numbers.
set -eu -o pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
for n in "$@"; do
	case $n in '' | *[!0-9]*) echo "usage: tests/bench/bcd.sh [COMPONENTS [FILES]]" >&2; exit 2 ;; esac
done
make --no-print-directory -s build/lib/libvss.a build/lib/libvss-util.a
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vss-bcd-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pkgs="libxml-2.0 blkid mount uuid"
# shellcheck disable=SC2046
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Ilib/include -Ilib \
	$(pkg-config --cflags $pkgs) -o "$tmp/bcd-bench" tests/bench/bcd-bench.c \
	build/lib/libvss.a build/lib/libvss-util.a $(pkg-config --libs $pkgs) -lbtrfsutil
"$tmp/bcd-bench" "$tmp" "$@"
