#!/bin/bash
# tests/fuzz/build.sh [--run SECONDS]  (make fuzz)
#
# Builds every libFuzzer target tests/fuzz/fuzz-*.c into build/fuzz/, with
# clang -fsanitize=fuzzer,address.  The library and lib/util are compiled
# again for this, into build/fuzz/obj/ (instrumented with
# -fsanitize=fuzzer-no-link,address): linking the gcc-built
# build/lib/libvss.a would work, but the fuzzer would get no coverage from
# the parsers it is meant to explore.  The system libraries come from
# pkg-config (libxml-2.0 blkid mount smartcols uuid) and -lbtrfsutil.
#
# With --run SECONDS each target then runs that long, starting from
# tests/fuzz/corpus/<doc>/ (for fuzz-<doc>) when there is one (new inputs go to
# build/fuzz/corpus/<target>/, never into the source tree).
#
# Without clang it says so and exits 77 (apt-get install clang is the fix).
set -eu -o pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
run_secs=
case ${1:-} in
'') ;;
--run) run_secs=${2:?--run needs SECONDS} ;;
-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "usage: tests/fuzz/build.sh [--run SECONDS]" >&2; exit 2 ;;
esac

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null; then
	echo "SKIP: $CC is not installed, so the fuzz targets cannot be built (apt-get install clang)"
	exit 77
fi
targets=(tests/fuzz/fuzz-*.c)
if [ ! -e "${targets[0]}" ]; then
	echo "tests/fuzz/build.sh: no fuzz targets (tests/fuzz/fuzz-*.c)"
	exit 0
fi

out=build/fuzz
obj=$out/obj
mkdir -p "$obj/lib/util"

# The schemas are compiled into the library; the Makefile generates them.
make --no-print-directory -s build/gen/schema-data.c

pkgs="libxml-2.0 blkid mount smartcols uuid"
pkg_cflags=$(pkg-config --cflags $pkgs)
pkg_libs="$(pkg-config --libs $pkgs) -lbtrfsutil"
cflags="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra
	-Wno-missing-field-initializers -Ilib/include -Ilib $pkg_cflags"
san_lib="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
san_bin="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

echo "  CC      library (instrumented for fuzzing)"
srcs=(lib/*.c lib/util/*.c build/gen/schema-data.c)
objs=()
jobs=()
for s in "${srcs[@]}"; do
	o=$obj/${s#build/gen/}
	o=${o%.c}.o
	objs+=("$o")
	mkdir -p "$(dirname "$o")"
	if [ ! -e "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find lib -name '*.h' -newer "$o")" ]; then
		jobs+=("$s" "$o")
	fi
done
if [ ${#jobs[@]} -gt 0 ]; then
	# shellcheck disable=SC2086
	printf '%s\0' "${jobs[@]}" | xargs -0 -n2 -P"$(nproc)" sh -c \
		'exec "$0" $1 -DVSS_BUILDING_LIBRARY -c -o "$3" "$2"' "$CC" "$(echo $cflags $san_lib)"
fi
rm -f "$out/libvss-fuzz.a"
ar rcs "$out/libvss-fuzz.a" "${objs[@]}"

for t in "${targets[@]}"; do
	name=$(basename "$t" .c)
	echo "  LD      $out/$name"
	# shellcheck disable=SC2086
	$CC $cflags $san_bin -o "$out/$name" "$t" "$out/libvss-fuzz.a" $pkg_libs
done

[ -n "$run_secs" ] || exit 0
for t in "${targets[@]}"; do
	name=$(basename "$t" .c)
	corpus=$out/corpus/$name
	mkdir -p "$corpus"
	seeds=()
	# Seeds of fuzz-<doc> are in tests/fuzz/corpus/<doc>/.
	[ -d "tests/fuzz/corpus/${name#fuzz-}" ] && seeds=("tests/fuzz/corpus/${name#fuzz-}")
	echo "  RUN     $name for $run_secs s"
	"$out/$name" -max_total_time="$run_secs" -print_final_stats=1 "$corpus" "${seeds[@]}"
done
