# shellcheck shell=bash
#
# Helpers for the tool tests in tests/cli/*.sh (sourced; not a test itself).
# Each test gets private VSS_STATEDIR, VSS_RUNDIR and VSS_SYSCONFDIR under a
# temporary directory removed at exit, runs the tools from
# ${VSS_BUILD:-build}/bin and compares their stdout, stderr and exit status
# with what is expected.  One line per check; cli_finish exits 1 if any
# failed.
#
#   expect NAME RC STDOUT STDERR -- CMD...   exact text (without the final newline)
#   expect_match NAME RC OUT_ERE ERR_ERE -- CMD...
#                                  extended regexps that must match somewhere
#                                  in stdout / stderr ('' : must be empty)
#   run CMD...                     sets RC, and OUT and ERR (file names)
#   pass NAME / fail_check NAME WHY   report a check done by hand
#   skip_all REASON                exit 77 saying why

set -u

CLI_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$CLI_TOP" || exit 1
BIN=${VSS_BUILD:-build}/bin
case $BIN in
/*) ;;
*) BIN=$CLI_TOP/$BIN ;;
esac
for _t in vss-create vss-list vss-delete; do
	if [ ! -x "$BIN/$_t" ]; then
		echo "FAIL: $BIN/$_t is not built (run 'make tools' first)"
		exit 1
	fi
done
unset _t

# Messages of getopt and strerror() are localized; time is printed local.
export LC_ALL=C TZ=UTC
unset VSS_DEBUG

CLI_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vss-cli.XXXXXX") || exit 1
trap 'rm -rf "$CLI_TMP"' EXIT
export VSS_STATEDIR=$CLI_TMP/state VSS_RUNDIR=$CLI_TMP/run VSS_SYSCONFDIR=$CLI_TMP/etc
mkdir -p "$VSS_STATEDIR" "$VSS_RUNDIR" "$VSS_SYSCONFDIR" || exit 1
OUT=$CLI_TMP/stdout
ERR=$CLI_TMP/stderr
RC=0
cli_failures=0
cli_checks=0

# shellcheck disable=SC2034 # used by the tests that source this file
VSS_TEST_VERSION=$(sed -n 's/^#define VSS_VERSION_STRING "\(.*\)"$/\1/p' lib/include/vss/common.h)

run() {
	"$@" >"$OUT" 2>"$ERR"
	RC=$?
}

pass() {
	cli_checks=$((cli_checks + 1))
	echo "ok   $1"
}

fail_check() {
	cli_checks=$((cli_checks + 1))
	cli_failures=$((cli_failures + 1))
	echo "FAIL $1: $2"
}

# Show what the command printed, indented, after a failed check.
show_output() {
	echo "     exit status: $RC"
	echo "     stdout:"
	sed 's/^/       | /' "$OUT"
	echo "     stderr:"
	sed 's/^/       | /' "$ERR"
}

expect() {
	local name=$1 rc=$2 out=$3 err=$4 why=
	shift 4
	[ "$1" = -- ] && shift
	run "$@"
	[ "$RC" = "$rc" ] || why+=" exit status $RC, expected $rc;"
	[ "$(cat "$OUT")" = "$out" ] || why+=" stdout differs;"
	[ "$(cat "$ERR")" = "$err" ] || why+=" stderr differs;"
	if [ -z "$why" ]; then
		pass "$name"
		return 0
	fi
	fail_check "$name" "${why%;}"
	echo "     expected stdout:"
	printf '%s\n' "$out" | sed 's/^/       | /'
	echo "     expected stderr:"
	printf '%s\n' "$err" | sed 's/^/       | /'
	show_output
	return 1
}

# Matches a file against an ERE; '' means the file must be empty.
_matches() {
	if [ -z "$2" ]; then
		[ ! -s "$1" ]
	else
		grep -Eq -- "$2" "$1"
	fi
}

expect_match() {
	local name=$1 rc=$2 out=$3 err=$4 why=
	shift 4
	[ "$1" = -- ] && shift
	run "$@"
	[ "$RC" = "$rc" ] || why+=" exit status $RC, expected $rc;"
	_matches "$OUT" "$out" || why+=" stdout does not match '${out:-<empty>}';"
	_matches "$ERR" "$err" || why+=" stderr does not match '${err:-<empty>}';"
	if [ -z "$why" ]; then
		pass "$name"
		return 0
	fi
	fail_check "$name" "${why%;}"
	show_output
	return 1
}

skip_all() {
	echo "SKIP: $1"
	exit 77
}

cli_finish() {
	if [ "$cli_failures" -gt 0 ]; then
		echo "$cli_failures of $cli_checks checks failed"
		exit 1
	fi
	echo "all $cli_checks checks passed"
	exit 0
}
