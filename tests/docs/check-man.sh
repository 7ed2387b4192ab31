#!/bin/bash
# Every man page formats without a warning: groff -man -ww -z prints nothing.
set -u
cd "$(dirname "$0")/../.." || exit 1
if ! command -v groff >/dev/null; then
	echo "SKIP: groff is not installed (apt-get install groff)"
	exit 77
fi
failed=0
n=0
for page in man/*.[1-8]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	out=$(groff -man -ww -z "$page" 2>&1)
	if [ -z "$out" ]; then
		echo "ok   $page"
	else
		echo "FAIL $page:"
		printf '%s\n' "$out" | sed 's/^/     /'
		failed=1
	fi
done
if [ "$n" = 0 ]; then
	echo "FAIL: no man pages in man/"
	exit 1
fi
exit $failed
