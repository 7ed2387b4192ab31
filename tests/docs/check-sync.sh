#!/bin/bash
# Every long option in a tool's longopts[] (cmd/<tool>/main.c) appears in its
# man page, its bash and zsh completions and its --help output.
set -u
cd "$(dirname "$0")/../.." || exit 1
build=${VSS_BUILD:-build}
tools=(vss-create vss-list vss-delete vss-meta vss-sample-writer vss-expose vss-revert vss-restore)
failed=0

report() { # NAME OK|FAIL [WHY]
	if [ "$2" = ok ]; then
		echo "ok   $1"
	else
		echo "FAIL $1: $3"
		failed=1
	fi
}

# The long option names of longopts[] in a C file, one per line.
long_options() {
	sed -n '/longopts\[\] = {/,/^};/p' "$1" |
		sed -n 's/^[[:space:]]*{[[:space:]]*"\([a-z0-9][a-z0-9-]*\)".*/\1/p'
}

# A man page as text, without roff escapes for hyphens and fonts.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' "$1"
}

# Whether "--NAME" occurs as a whole option name in the input.
has_option() {
	grep -Eq -- "(^|[^a-z0-9-])--$1([^a-z0-9-]|\$)"
}

for tool in "${tools[@]}"; do
	src=cmd/$tool/main.c
	man=man/$tool.1
	bash_c=completions/bash/$tool
	zsh_c=completions/zsh/_$tool
	bin=$build/bin/$tool

	opts=$(long_options "$src")
	if [ -z "$opts" ]; then
		report "$tool: long options found in $src" FAIL "no longopts[] entries"
		continue
	fi
	for f in "$man" "$bash_c" "$zsh_c"; do
		[ -f "$f" ] || report "$tool: $f exists" FAIL "missing"
	done
	if [ ! -x "$bin" ]; then
		report "$tool: $bin is built" FAIL "build it first (make tools)"
		continue
	fi
	help=$("$bin" --help 2>&1)
	for opt in $opts; do
		missing=
		[ -f "$man" ] && ! man_text "$man" | has_option "$opt" && missing+=" man page,"
		[ -f "$bash_c" ] && ! has_option "$opt" <"$bash_c" && missing+=" bash completion,"
		[ -f "$zsh_c" ] && ! has_option "$opt" <"$zsh_c" && missing+=" zsh completion,"
		printf '%s\n' "$help" | has_option "$opt" || missing+=" --help,"
		if [ -z "$missing" ]; then
			report "$tool --$opt" ok
		else
			report "$tool --$opt" FAIL "missing from${missing%,}"
		fi
	done
done

exit $failed
