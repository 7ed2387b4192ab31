#!/bin/bash
# tests/bench/writers.sh [N] — the writers' blackout: from Freeze sent to
# Thaw delivered, with 1 and with 16 express writers, against the raw
# provider commit, on one scratch btrfs volume (root).
#
# Each of the N cycles (default 30, after 3 warm-up cycles), interleaved so
# all see the same machine:
#   raw    the read-only btrfs snapshot alone, as vss's btrfs provider makes
#          it (libbtrfsutil, timed inside tests/bench/writers-helper.c: no
#          fork or exec in the figure), then deleted
#   wake   the floor of any fan-out to 16 processes on this machine: 16
#          processes blocked reading a pipe, the 16 write ends closed in a
#          row, until the last one runs (writers-helper wake 16); for 1
#          process too.  A blackout with 16 writers has two such fan-outs
#          (Freeze and Thaw) that one writer does not have.
#   none   vss-create --no-writers VOL, then vss-delete
#   1, 16  vss-create VOL with 1 or 16 express writers registered, then
#          vss-delete.  Their Freeze hook (writers-helper hook) holds
#          nothing: it prints "frozen" at once and waits for end-of-file on
#          its standard input, which is how the requester delivers Thaw.
#          The hook is started when Freeze is sent.
#   p1, p16  the same with prestarted Freeze hooks (prestart="yes",
#          writers-helper prehook): started during PrepareForSnapshot, the
#          hook prints "ready", and Freeze is the line "freeze" on its
#          standard input; it prints "frozen" and waits for end-of-file.
#
# How the blackout is measured: each freeze hook notes the time its freeze
# starts and the time it sees end-of-file (CLOCK_REALTIME, in the hook
# itself, so no pipe or extra process adds to it).  The start is, for a
# hook started at Freeze, its first instruction; for a prestarted hook, the
# moment it has read the line "freeze".  The blackout of a set is the last
# end minus the first start: from the moment the first writer is running
# its Freeze to the moment the last one is told to thaw.  What comes before
# the first hook's start (at Freeze, the requester's fork and exec of
# /bin/sh -c "exec HOOK"; prestarted, one write to a pipe and a wake-up) is
# not in it; that cost is in the vss-create times also shown.  The
# provider commit happens inside the blackout, so the writers' overhead is
# the blackout minus the raw commit.
#
# Prints median and p95 of each figure and the ratios against the targets
# of issue 4 (overhead <= 5 ms median; 16 writers <= 1.3x one writer), for
# both kinds of hooks.  A benchmark, not a test: it fails only on errors,
# never on the numbers.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
n=${1:-30}
case $n in '' | *[!0-9]* | 0) echo "usage: tests/bench/writers.sh [CYCLES]" >&2; exit 2 ;; esac
require_root_and_loop btrfs
require_cmd btrfs "${CC:-cc}"
scratch_init

helper=$SCRATCH/writers-helper
${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -I"$SCRATCH_TOP/lib" \
	-o "$helper" "$SCRATCH_TOP/tests/bench/writers-helper.c" -lbtrfsutil ||
	fail "cannot build tests/bench/writers-helper.c"

b=$(make_btrfs bench 1G)
# A volume with some content, as a real one has.
mkdir "$b/tree"
for d in $(seq 20); do
	mkdir "$b/tree/$d"
	for f in $(seq 50); do echo "$d/$f" >"$b/tree/$d/$f"; done
done
mkdir "$b/raw"
sync -f "$b/tree"

T=$SCRATCH/log
# etc-NAME: a configuration directory with K express writers registered;
# NAME is K (hooks started at Freeze) or pK (prestarted hooks).
make_writers() {
	local name=$1 k=${1#p} dir=$SCRATCH/etc-$1 i hook="hook" pre=""
	if [ "$name" != "$k" ]; then
		hook=prehook
		pre=' prestart="yes"'
	fi
	mkdir -p "$dir/writers.d"
	for i in $(seq "$k"); do
		cat >"$dir/writers.d/bench-$i.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<EXPRESS_WRITER xmlns="x-schema:#VssLinuxExpressWriter" version="1">
  <HOOK event="Freeze" command="exec $helper $hook $T/hooks"$pre/>
  <WRITER_METADATA xmlns="x-schema:#VssWriterMetadataInfo" version="1.2">
    <IDENTIFICATION writerId="$(cat /proc/sys/kernel/random/uuid)" friendlyName="bench $i"
        usage="USER_DATA" dataSource="OTHER"/>
    <BACKUP_LOCATIONS>
      <FILE_GROUP componentName="tree">
        <FILE_LIST path="$b/tree" filespec="*" recursive="yes"/>
      </FILE_GROUP>
    </BACKUP_LOCATIONS>
  </WRITER_METADATA>
</EXPRESS_WRITER>
EOF
	done
	VSS_SYSCONFDIR=$dir vss-list --writers -n >"$T/list-$name" || fail "vss-list --writers failed for $name writers"
	[ "$(wc -l <"$T/list-$name")" = "$k" ] || fail "$k writers registered, vss-list --writers shows: $(cat "$T/list-$name")"
}
configs="1 16 p1 p16"
for c in $configs; do make_writers "$c"; done
mkdir -p "$SCRATCH/etc-0"

# Microseconds from bash's own clock, read without forking.
now_us() { us=${EPOCHREALTIME/./}; us=$((10#$us)); }
for f in raw wake-1 wake-16 create-0; do : >"$T/$f"; done
for c in $configs; do
	for f in create blackout hold starts ends; do : >"$T/$f-$c"; done
done

# vss_cycle NAME [record]: vss-create with the writers of etc-NAME
# (--no-writers for 0).
vss_cycle() {
	local name=$1 k=${1#p} t0 t1 id opt=
	[ "$k" != 0 ] || opt=--no-writers
	: >"$T/hooks"
	now_us; t0=$us
	VSS_SYSCONFDIR=$SCRATCH/etc-$name vss-create ${opt:+"$opt"} "$b" >"$T/out" 2>"$T/err" ||
		{ cat "$T/err" >&2; fail "vss-create with writers $name failed"; }
	now_us; t1=$us
	id=$(set_id_of "$T/out")
	[ -n "$id" ] || fail "no set ID in: $(cat "$T/out")"
	vss-delete --set "$id" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; fail "vss-delete failed"; }
	[ "$(wc -l <"$T/hooks")" = "$k" ] || fail "$k writers ($name), but $(wc -l <"$T/hooks") freeze hooks ran"
	[ -n "${2:-}" ] || return 0
	echo $((t1 - t0)) >>"$T/create-$name"
	[ "$k" != 0 ] || return 0
	# Blackout: last end - first start, in microseconds; the longest
	# single hold (one writer's start to its own end); how far apart the
	# hooks started, and how far apart they were told to thaw.
	awk 'NR == 1 { s0 = s1 = $1; e0 = e1 = $2 }
		$1 < s0 { s0 = $1 } $1 > s1 { s1 = $1 } $2 < e0 { e0 = $2 } $2 > e1 { e1 = $2 }
		$2 - $1 > h { h = $2 - $1 }
		END { printf "%d %d %d %d\n", (e1 - s0) / 1000, h / 1000, (s1 - s0) / 1000, (e1 - e0) / 1000 }' \
		"$T/hooks" >"$T/b"
	read -r blk hold starts ends <"$T/b"
	echo "$blk" >>"$T/blackout-$name"
	echo "$hold" >>"$T/hold-$name"
	echo "$starts" >>"$T/starts-$name"
	echo "$ends" >>"$T/ends-$name"
}

raw_cycle() {
	local ns k
	ns=$("$helper" snap "$b" "$b/raw/snap") || fail "the raw btrfs snapshot failed"
	[ -z "${1:-}" ] || echo $((ns / 1000)) >>"$T/raw"
	for k in 1 16; do
		ns=$("$helper" wake "$k") || fail "writers-helper wake $k failed"
		[ -z "${1:-}" ] || echo $((ns / 1000)) >>"$T/wake-$k"
	done
}

echo "warming up..." >&2
for i in 1 2 3; do
	raw_cycle
	for c in 0 $configs; do vss_cycle "$c"; done
done
echo "running $n cycles of each..." >&2
for i in $(seq "$n"); do
	raw_cycle record
	for c in 0 $configs; do vss_cycle "$c" record; done
done

# stat FILE -> "median p95" in milliseconds (the files hold microseconds)
stat_ms() {
	sort -n "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = int(NR * 0.95 + 0.999999); if (p < 1) p = 1
		printf "%.2f %.2f\n", m / 1000, v[p] / 1000 }'
}
med() { stat_ms "$1" | cut -d' ' -f1; }
row() {
	local name=$1 file=$2 m p
	read -r m p < <(stat_ms "$file")
	printf '%-46s %5s %10s %10s\n' "$name" "$(wc -l <"$file")" "$m" "$p"
}

echo
echo "btrfs volume on a loop device, $(uname -r), $(nproc) CPUs"
printf '%-46s %5s %10s %10s\n' "figure" "n" "median ms" "p95 ms"
row "raw commit (btrfs snapshot -r, libbtrfsutil)" "$T/raw"
row "floor: waking 1 process blocked on a pipe" "$T/wake-1"
row "floor: waking 16 processes blocked on pipes" "$T/wake-16"
row "vss-create --no-writers" "$T/create-0"
for c in $configs; do
	k=${c#p}
	case $c in
	p*) mode="prestarted hooks" ;;
	*) mode="hooks started at Freeze" ;;
	esac
	w="$k writers"
	[ "$k" != 1 ] || w="1 writer"
	echo "$w, $mode:"
	row "  blackout" "$T/blackout-$c"
	if [ "$k" != 1 ]; then
		row "  longest single hold" "$T/hold-$c"
		row "  first to last freeze start" "$T/starts-$c"
		row "  first to last Thaw delivered" "$T/ends-$c"
	fi
	row "  vss-create" "$T/create-$c"
done
# summary MODE SUFFIX: the medians of one kind of hook against the targets.
summary() {
	awk -v mode="$1" -v raw="$(med "$T/raw")" -v b1="$(med "$T/blackout-${2}1")" \
		-v w1="$(med "$T/wake-1")" -v w16="$(med "$T/wake-16")" \
		-v b16="$(med "$T/blackout-${2}16")" -v c0="$(med "$T/create-0")" \
		-v c1="$(med "$T/create-${2}1")" -v c16="$(med "$T/create-${2}16")" 'BEGIN {
	printf "\nmedians, %s:\n", mode
	printf "  blackout, 1 writer / 16 writers:                  %.2f ms / %.2f ms\n", b1, b16
	printf "  writers overhead over the raw commit, 1 writer:   %.2f ms   (target <= 5 ms)\n", b1 - raw
	printf "  writers overhead over the raw commit, 16 writers: %.2f ms\n", b16 - raw
	printf "  blackout 16 writers / 1 writer:                   %.2fx     (target <= 1.3x)\n", (b1 > 0 ? b16 / b1 : 0)
	printf "  16 writers - 1 writer, in wake-up floors:         %.2f      (16-process wake-up %.2f ms)\n", (w16 - w1 > 0 ? (b16 - b1) / (w16 - w1) : 0), w16 - w1
	printf "  vss-create 1 writer - no writers:                 %.2f ms\n", c1 - c0
	printf "  vss-create 16 writers - no writers:               %.2f ms\n", c16 - c0
}'
}
summary "hooks started at Freeze" ""
summary "prestarted hooks (prestart=\"yes\")" p
[ "$(catalog_count)" = 0 ] || fail "copies are left in the catalog"
