#!/bin/sh
# Write lib/libvss.sym from the VSS_EXPORT declarations of the public
# headers (the same extraction tests/docs/check-symbols.sh checks with).
set -eu
cd "$(dirname "$0")/.."
{
	printf 'VSS_1.0 {\n\tglobal:\n'
	awk '/^VSS_EXPORT/ { decl = ""; on = 1 }
	     on { decl = decl " " $0; if (index($0, ";")) { print decl; on = 0 } }' \
		lib/include/vss/*.h lib/include/vss.h |
		sed 's/([^()]*$//; s/(.*//' | grep -o 'vss_[a-z0-9_]*[[:space:]]*$' | tr -d ' \t' |
		LC_ALL=C sort -u | sed 's/^/\t\t/; s/$/;/'
	printf '\tlocal:\n\t\t*;\n};\n'
} >lib/libvss.sym.tmp
mv lib/libvss.sym.tmp lib/libvss.sym
