#!/bin/bash
# The symbols exported by libvss.so, the names in lib/libvss.sym and the
# functions declared VSS_EXPORT in lib/include/vss/*.h are the same set, and
# every exported function is documented in man/libvss.3.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${VSS_BUILD:-build}
lib=$build/lib/libvss.so
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0

if ! command -v nm >/dev/null; then
	echo "SKIP: nm (binutils) is not installed"
	exit 77
fi
if [ ! -e "$lib" ]; then
	echo "FAIL: $lib is not built (make lib)"
	exit 1
fi

# Global functions defined in the library, without their version suffix.
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$tmp/exported"
# The names between "global:" and "local:" of the version script.
sed -n '/global:/,/local:/p' lib/libvss.sym | sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' |
	sort -u >"$tmp/mapped"
# The function name of every VSS_EXPORT declaration: the declaration runs
# from its VSS_EXPORT line to the ';', and the name may stand on a later
# line when the return type is long.
awk '/^VSS_EXPORT/ { decl = ""; on = 1 }
     on { decl = decl " " $0; if (index($0, ";")) { print decl; on = 0 } }' \
	lib/include/vss/*.h lib/include/vss.h 2>/dev/null |
	sed 's/([^()]*$//; s/(.*//' | grep -o 'vss_[a-z0-9_]*[[:space:]]*$' | tr -d ' \t' |
	sort -u >"$tmp/declared"
ndecl=$(grep -hc '^VSS_EXPORT' lib/include/vss/*.h | awk '{ s += $1 } END { print s }')

compare() { # NAME-A FILE-A NAME-B FILE-B
	local only_a only_b
	only_a=$(comm -23 "$2" "$4")
	only_b=$(comm -13 "$2" "$4")
	if [ -z "$only_a$only_b" ]; then
		echo "ok   $1 and $3 agree ($(wc -l <"$2") symbols)"
		return
	fi
	failed=1
	echo "FAIL $1 and $3 differ"
	# shellcheck disable=SC2086 # one name per line, split on purpose
	[ -n "$only_a" ] && printf '     only in %s: %s\n' "$1" $only_a
	# shellcheck disable=SC2086
	[ -n "$only_b" ] && printf '     only in %s: %s\n' "$3" $only_b
}

if [ "$(wc -l <"$tmp/declared")" != "$ndecl" ]; then
	echo "FAIL $ndecl VSS_EXPORT declarations but $(wc -l <"$tmp/declared") names found in them"
	failed=1
fi
compare "the headers" "$tmp/declared" "lib/libvss.sym" "$tmp/mapped"
compare "$lib" "$tmp/exported" "lib/libvss.sym" "$tmp/mapped"

undocumented=
while read -r sym; do
	grep -q "\\b$sym\\b" man/libvss.3 || undocumented+=" $sym"
done <"$tmp/exported"
if [ -z "$undocumented" ]; then
	echo "ok   every exported function is in man/libvss.3"
else
	echo "FAIL not in man/libvss.3:$undocumented"
	failed=1
fi

# Anything that is not a function (data, version nodes aside) must not leak.
others=$(nm -D --defined-only "$lib" | awk '$2 != "T" && $2 != "A" { print $3 }' | tr "\n" " ")
if [ -z "$others" ]; then
	echo "ok   no exported data symbols"
else
	echo "FAIL exported symbols that are not functions: $others"
	failed=1
fi

exit $failed
