#!/bin/bash
# tests/bench/restore.sh [RUNS] — vss-restore against cp -a and rsync -a
# (root), on a 1 GiB tree of mixed file sizes.
#
# The tree: 20000 files of 1 to 64 KiB in 200 directories and two large
# files (120 and 250 MiB), random content, on a scratch btrfs volume; one
# shadow copy of it is taken with vss-create.  Then, in one run, RUNS
# (default 3) rounds, each method once per round, the median of each:
#   (a) to another filesystem (a scratch XFS volume):
#       vss-restore --to, cp -a, rsync -a (all reading the copy);
#   (b) on the same btrfs, to a directory of the volume:
#       vss-restore --to (extents cloned), cp -a --reflink=never (a real
#       copy: the cp -a baseline), and plain cp -a, which with coreutils
#       9.x clones as well (--reflink=auto is its default) and is shown
#       for what it is.
# Each timing includes sync -f of the target, so data still in the page
# cache is not counted as done; caches are dropped before each timing
# (BENCH_DROP_CACHES=0 to keep them), the same for every method; the
# targets are removed between timings.  Targets: (a) vss-restore at least
# 0.95x the throughput of cp -a; (b) at least 10x faster than
# cp -a --reflink=never.  A benchmark, not a test: it fails only on
# errors, never on the numbers (it prints whether the targets are met).
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
runs=${1:-3}
case $runs in '' | *[!0-9]* | 0) echo "usage: tests/bench/restore.sh [RUNS]" >&2; exit 2 ;; esac
require_root_and_loop btrfs xfs
require_cmd btrfs rsync cc
[ -x "$VSS_BUILD/bin/vss-restore" ] || fail "$VSS_BUILD/bin/vss-restore is not built (run make)"
scratch_init
drop=${BENCH_DROP_CACHES:-1}

b=$(make_btrfs src 4G)
x=$(make_xfs_host dst 4G)

# ---- the tree ---------------------------------------------------------------

# A small generator: random sizes from a fixed seed (the same tree every
# run), random content from getrandom().  Forking head(1) 20000 times
# would take longer than the copies.
cat >"$SCRATCH/gen.c" <<'EOF'
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[64 * 1024];
	unsigned long n = strtoul(argv[2], NULL, 10), per = 100, seed = 42;
	char path[4096];

	if (argc != 3)
		return 2;
	for (unsigned long i = 0; i < n; i++) {
		size_t size, done = 0;
		int fd;

		if (i % per == 0) {
			snprintf(path, sizeof(path), "%s/d%03lu", argv[1], i / per);
			if (mkdir(path, 0755) < 0 && errno != EEXIST)
				return perror(path), 1;
		}
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		size = 1024 + (seed >> 33) % (63 * 1024 + 1);
		snprintf(path, sizeof(path), "%s/d%03lu/f%05lu", argv[1], i / per, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return perror(path), 1;
		while (done < size) {
			ssize_t k = getrandom(buf, size - done, 0);

			if (k <= 0 || write(fd, buf, (size_t)k) != k)
				return perror(path), 1;
			done += (size_t)k;
		}
		if (close(fd) < 0)
			return perror(path), 1;
	}
	return 0;
}
EOF
cc -O2 -o "$SCRATCH/gen" "$SCRATCH/gen.c" || fail "cannot build the tree generator"

check "a 1 GiB tree: 20000 files of 1-64 KiB, 2 large files"
mkdir "$b/tree"
"$SCRATCH/gen" "$b/tree" 20000 || fail "the generator failed"
mkdir "$b/tree/large"
head -c 120M /dev/urandom >"$b/tree/large/a.bin"
head -c 250M /dev/urandom >"$b/tree/large/b.bin"
sync -f "$b/tree"
# File content only: directory sizes differ between filesystems.
content() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
bytes=$(content "$b/tree")
files=$(find "$b/tree" | wc -l)
say "   $files entries, $((bytes / 1048576)) MiB"

run_ok vss-create "$b"
id=$(copy_ids_of "$OUT")
copy=$(copy_of "$OUT" "$b")
[ -n "$id" ] && [ -d "$copy/tree" ] || fail "no copy of $b in: $(cat "$OUT")"

# ---- timing -------------------------------------------------------------------

now_us() { us=${EPOCHREALTIME/./}; us=$((10#$us)); }
T=$SCRATCH/log/times
mkdir -p "$T"

# timed NAME TARGET-DIR CMD...: run CMD into an empty TARGET-DIR (made
# here, removed after), time it with the sync of the target, record ms.
timed() {
	local name=$1 dir=$2 t0 t1
	shift 2
	mkdir "$dir"
	sync
	[ "$drop" = 0 ] || echo 3 >/proc/sys/vm/drop_caches
	now_us; t0=$us
	"$@" >"$SCRATCH/log/out" 2>"$SCRATCH/log/err" || { cat "$SCRATCH/log/err" >&2; fail "$name failed: $*"; }
	sync -f "$dir"
	now_us; t1=$us
	[ "$(content "$dir/tree")" = "$bytes" ] || fail "$name: the copy in $dir does not hold $bytes bytes"
	echo $(((t1 - t0) / 1000)) >>"$T/$name"
	rm -rf --one-file-system "$dir"
	sync -f "${dir%/*}"
}

check "$runs rounds of every method"
for r in $(seq "$runs"); do
	timed xfs-vss-restore "$x/r" vss-restore -q --to "$x/r" "$id" "$b/tree"
	timed xfs-cp "$x/r" cp -a "$copy/tree" "$x/r/"
	timed xfs-rsync "$x/r" rsync -a "$copy/tree" "$x/r/"
	timed btrfs-vss-restore "$b/r" vss-restore -q --to "$b/r" "$id" "$b/tree"
	timed btrfs-cp-noreflink "$b/r" cp -a --reflink=never "$copy/tree" "$b/r/"
	timed btrfs-cp "$b/r" cp -a "$copy/tree" "$b/r/"
	say "   round $r done"
done

median() { sort -n "$T/$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mibs() { awk -v b="$bytes" -v ms="$1" 'BEGIN { printf "%.1f", b / 1048576 / (ms / 1000) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

say ""
say "restore of $((bytes / 1048576)) MiB in $files entries, median of $runs (caches dropped: $([ "$drop" = 0 ] && echo no || echo yes)):"
printf '  %-42s %9s %10s\n' method "time (ms)" "MiB/s"
for m in xfs-vss-restore xfs-cp xfs-rsync btrfs-vss-restore btrfs-cp-noreflink btrfs-cp; do
	case $m in
	xfs-vss-restore) label="btrfs -> XFS: vss-restore --to" ;;
	xfs-cp) label="btrfs -> XFS: cp -a" ;;
	xfs-rsync) label="btrfs -> XFS: rsync -a" ;;
	btrfs-vss-restore) label="same btrfs: vss-restore --to (clones)" ;;
	btrfs-cp-noreflink) label="same btrfs: cp -a --reflink=never" ;;
	btrfs-cp) label="same btrfs: cp -a (reflink=auto: clones too)" ;;
	esac
	printf '  %-42s %9s %10s\n' "$label" "$(median $m)" "$(mibs "$(median $m)")"
done
cross=$(ratio "$(median xfs-cp)" "$(median xfs-vss-restore)")
rs=$(ratio "$(median xfs-rsync)" "$(median xfs-vss-restore)")
same=$(ratio "$(median btrfs-cp-noreflink)" "$(median btrfs-vss-restore)")
samecp=$(ratio "$(median btrfs-cp)" "$(median btrfs-vss-restore)")
say ""
say "across filesystems: vss-restore = ${cross}x cp -a throughput, ${rs}x rsync -a (target >= 0.95x cp -a): $(awk -v r="$cross" 'BEGIN { print (r >= 0.95 ? "met" : "NOT met") }')"
say "same btrfs: vss-restore ${same}x faster than cp -a --reflink=never (target >= 10x): $(awk -v r="$same" 'BEGIN { print (r >= 10 ? "met" : "NOT met") }'); ${samecp}x plain cp -a (which clones)"
