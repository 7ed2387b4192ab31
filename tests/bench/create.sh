#!/bin/bash
# tests/bench/create.sh [N] — what vss-create and vss-delete cost over the
# raw engine, on one scratch btrfs volume (root).
#
# Runs N (default 50) cycles of `vss-create VOL` + `vss-delete ID` and N
# cycles of `btrfs subvolume snapshot -r` + `btrfs subvolume delete` on the
# same volume, interleaved so both see the same machine, after a few warm-up
# cycles, and prints median and p95 of each step and the ratio of the
# medians (the target is vss-create <= 1.2x the raw snapshot).  A benchmark,
# not a test: it fails only on errors, never on the numbers.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
n=${1:-50}
case $n in '' | *[!0-9]* | 0) echo "usage: tests/bench/create.sh [CYCLES]" >&2; exit 2 ;; esac
require_root_and_loop btrfs
require_cmd btrfs
scratch_init

b=$(make_btrfs bench 1G)
# A volume with some content, as a real one has.
mkdir "$b/tree"
for d in $(seq 20); do
	mkdir "$b/tree/$d"
	for f in $(seq 50); do echo "$d/$f" >"$b/tree/$d/$f"; done
done
mkdir "$b/raw"
sync -f "$b/tree"

# Microseconds from bash's own clock, read without forking: a command
# substitution would fork a subshell and add its cost to every sample.
now_us() { us=${EPOCHREALTIME/./}; us=$((10#$us)); }

T=$SCRATCH/log
: >"$T/vss-create"; : >"$T/vss-delete"; : >"$T/vss-cycle"
: >"$T/raw-create"; : >"$T/raw-delete"; : >"$T/raw-cycle"

vss_cycle() {
	local t0 t1 t2 t3 id
	now_us; t0=$us
	vss-create "$b" >"$T/out" 2>"$T/err" || { cat "$T/err" >&2; fail "vss-create failed"; }
	now_us; t1=$us
	# Reading the ID is the benchmark's own work: not timed.
	id=$(copy_ids_of "$T/out")
	[ -n "$id" ] || fail "no copy ID in: $(cat "$T/out")"
	now_us; t2=$us
	vss-delete "$id" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; fail "vss-delete failed"; }
	now_us; t3=$us
	[ -z "${1:-}" ] || {
		echo $((t1 - t0)) >>"$T/vss-create"
		echo $((t3 - t2)) >>"$T/vss-delete"
		echo $((t1 - t0 + t3 - t2)) >>"$T/vss-cycle"
	}
}

raw_cycle() {
	local t0 t1 t2 s=$b/raw/snap
	now_us; t0=$us
	btrfs subvolume snapshot -r "$b" "$s" >/dev/null || fail "btrfs subvolume snapshot failed"
	now_us; t1=$us
	btrfs subvolume delete "$s" >/dev/null || fail "btrfs subvolume delete failed"
	now_us; t2=$us
	[ -z "${1:-}" ] || {
		echo $((t1 - t0)) >>"$T/raw-create"
		echo $((t2 - t1)) >>"$T/raw-delete"
		echo $((t2 - t0)) >>"$T/raw-cycle"
	}
}

echo "warming up..." >&2
for i in 1 2 3; do vss_cycle; raw_cycle; done
echo "running $n cycles of each..." >&2
for i in $(seq "$n"); do
	vss_cycle record
	raw_cycle record
done

# stat FILE -> "median p95" in milliseconds
stat_ms() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = int(NR * 0.95 + 0.999999); if (p < 1) p = 1
		printf "%.1f %.1f\n", m / 1000, v[p] / 1000 }'
}
row() {
	local name=$1 file=$2 med p95
	read -r med p95 < <(stat_ms "$file")
	printf '%-34s %5s %10s %10s\n' "$name" "$(wc -l <"$file")" "$med" "$p95"
}
ratio() {
	local a b
	a=$(stat_ms "$1" | cut -d' ' -f1)
	b=$(stat_ms "$2" | cut -d' ' -f1)
	awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'
}

echo
echo "btrfs volume on a loop device, $(uname -r), $(nproc) CPUs"
printf '%-34s %5s %10s %10s\n' "operation" "n" "median ms" "p95 ms"
row "vss-create VOL" "$T/vss-create"
row "vss-delete ID" "$T/vss-delete"
row "vss cycle (create + delete)" "$T/vss-cycle"
row "btrfs subvolume snapshot -r" "$T/raw-create"
row "btrfs subvolume delete" "$T/raw-delete"
row "btrfs cycle (snapshot + delete)" "$T/raw-cycle"
echo
echo "ratio of medians, vss / raw btrfs:"
echo "  create: $(ratio "$T/vss-create" "$T/raw-create")   (target <= 1.2x)"
echo "  delete: $(ratio "$T/vss-delete" "$T/raw-delete")"
echo "  cycle:  $(ratio "$T/vss-cycle" "$T/raw-cycle")"
[ "$(catalog_count)" = 0 ] || fail "copies are left in the catalog"
