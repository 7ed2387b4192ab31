#!/bin/bash
# The completions load in the shells they are for: bash registers a
# completion function for each tool and offers its long options; zsh parses
# every file and finds its #compdef line.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
tools="vss-create vss-list vss-delete vss-meta vss-sample-writer vss-expose vss-revert vss-restore"
failed=0

bad() { echo "FAIL: $*"; failed=1; }

for t in $tools; do
	f=completions/bash/$t
	bash -n "$f" || bad "$f: bash syntax error"
	# Load it as bash-completion would and ask for the long options.
	out=$(bash -c '
		. /usr/share/bash-completion/bash_completion 2>/dev/null || true
		. "$1"
		spec=$(complete -p "$2") || exit 3
		fn=${spec#*-F }; fn=${fn%% *}
		COMP_WORDS=("$2" "--"); COMP_CWORD=1; COMP_LINE="$2 --"; COMP_POINT=${#COMP_LINE}
		"$fn" "$2" "--" "$2"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$f" "$t" 2>&1)
	case $? in
	0) ;;
	3) bad "$f: no completion registered for $t"; continue ;;
	*) bad "$f: completing '$t --' failed: $out"; continue ;;
	esac
	grep -qx -- '--help' <<<"$out" || bad "$f: '$t --<TAB>' does not offer --help (got: $(echo $out))"
done

if command -v zsh >/dev/null; then
	for t in $tools; do
		f=completions/zsh/_$t
		zsh -n "$f" || bad "$f: zsh syntax error"
		head -n1 "$f" | grep -q "^#compdef $t\b" || bad "$f: first line is not '#compdef $t'"
	done
else
	echo "SKIP: zsh is not installed (scripts/install-deps installs it): zsh completions not parsed"
	[ $failed = 0 ] && exit 77
fi
[ $failed = 0 ] && echo "completions load in bash and parse in zsh"
exit $failed
