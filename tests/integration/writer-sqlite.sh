#!/bin/bash
# The SQLite writer (scripts/writers/sqlite, registered from the shipped
# scripts/writers/sqlite.xml) under concurrent writers: every copy holds
# whole transactions only and passes PRAGMA integrity_check.
#
# Two databases on one scratch btrfs volume, one writer registration each
# (the form of one file per database): test.db in rollback-journal mode and
# wal.db in WAL mode.  Four writer processes (three on test.db, one on
# wal.db) commit transactions of two rows with the same transaction number,
# 2 ms apart.  While they run,
# vss-create takes N copies with both SQLite writers taking part.  Each copy:
#   - test.db is opened read-only from the read-only copy itself with
#     immutable=1 (no journal replay: a copy taken while a transaction was
#     half-written would show it torn, or have a hot journal that this
#     reading ignores): integrity_check says ok, every transaction has its
#     two rows, and the copy has at least the transactions of the copy
#     before;
#   - wal.db is opened from a writable btrfs snapshot of the copy (a WAL
#     database is read through its -wal, which needs a writable place for
#     its index): the same checks.
# Then the writers' state (vss-list --writers), and a writer failure: a
# connection that holds test.db's write lock past the writer's busy timeout
# makes vss-create fail with the writer failure status, naming the writer,
# and leaves no copy.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd sqlite3 btrfs jq
scratch_init

copies=${VSS_TEST_COPIES:-15}
HOOKS=$SCRATCH_TOP/scripts/writers
vol=$(make_btrfs sqlite 1G)
app=$vol/app
mkdir "$app"
db=$app/test.db
wdb=$app/wal.db
SQL() { sqlite3 -batch -bail "$@"; }
SQL "$db" 'PRAGMA journal_mode=DELETE;' \
	'CREATE TABLE t(txn INTEGER NOT NULL, part INTEGER NOT NULL, pad TEXT, PRIMARY KEY (txn, part));' \
	'CREATE INDEX t_pad ON t(pad);' >/dev/null
SQL "$wdb" 'PRAGMA journal_mode=WAL;' \
	'CREATE TABLE t(txn INTEGER NOT NULL, part INTEGER NOT NULL, pad TEXT, PRIMARY KEY (txn, part));' \
	'CREATE INDEX t_pad ON t(pad);' >/dev/null

# register NAME DATABASE [SED...]: the shipped registration file, with the
# paths of this test, as $VSS_SYSCONFDIR/writers.d/NAME.xml.  Each database
# is its own instance of the SQLite writer class.
mkdir -p "$VSS_SYSCONFDIR/writers.d"
register() {
	local name=$1 file=$2 dir base
	shift 2
	dir=${file%/*}
	base=${file##*/}
	sed -e "s|/usr/share/vss/writers/|$HOOKS/|g" \
		-e "s|/var/lib/app/app\\.db|$file|g" \
		-e "s|/var/lib/app|$dir|g" \
		-e "s|app\\.db|$base|g" \
		-e "s|instanceId=\"[^\"]*\"|instanceId=\"$(cat /proc/sys/kernel/random/uuid)\"|" \
		"$@" "$SCRATCH_TOP/scripts/writers/sqlite.xml" >"$VSS_SYSCONFDIR/writers.d/$name.xml"
	grep -q -- "--database $file " "$VSS_SYSCONFDIR/writers.d/$name.xml" ||
		fail "the shipped sqlite.xml no longer has the command line this test rewrites"
}
register sqlite-test "$db"
register sqlite-wal "$wdb"

check "both SQLite writers are registered"
run_ok vss-list --writers -J
[ "$(jq '[.writers[] | select(.name == "SQLite")] | length' "$OUT")" = 2 ] || {
	cat "$OUT" >&2
	fail "vss-list --writers does not show the two SQLite writers"
}

# load W DB: writer W commits transactions of two rows (same txn number) to
# DB until stopped.  One sqlite3 per writer reads the statements from a fifo
# that a shell loop fills; its busy timeout outlasts any freeze of this
# test.  Both are recorded processes: killing the loop ends sqlite3 at the
# end of its input, killing sqlite3 ends the loop (SIGPIPE).
gen() {
	local w=$1 i=0 pace
	# A pause of 2 ms between transactions, without a fork: read with a
	# timeout from a fifo nobody writes to (opened read-write, so the open
	# does not wait).  Writers that commit back to back with no pause
	# starve one another past any busy timeout: SQLite's busy handler
	# polls, it does not queue.
	mkfifo "$SCRATCH/pace-$w"
	exec {pace}<>"$SCRATCH/pace-$w"
	printf '.timeout 60000\n.bail on\n'
	while :; do
		read -r -t 0.002 -u "$pace" _ || true
		i=$((i + 1))
		printf "BEGIN IMMEDIATE; INSERT INTO t VALUES (%d, 1, '%s'); INSERT INTO t VALUES (%d, 2, '%s'); COMMIT;\n" \
			$((w * 10000000 + i)) "$w-$i-a" $((w * 10000000 + i)) "$w-$i-b"
	done
}
# The fifo is opened in the background processes: an open blocks until the
# other end is opened too.
gen_to() { gen "$1" >"$2"; }
sqlite_from() { exec sqlite3 -batch "$1" <"$2" >/dev/null 2>"$3"; }
load_pids=()
load() {
	local w=$1 file=$2 fifo=$SCRATCH/load-$1
	mkfifo "$fifo"
	scratch_bg sqlite_from "$file" "$fifo" "$SCRATCH/log/load-$w"
	load_pids+=("$BG_PID")
	scratch_bg gen_to "$w" "$fifo"
	load_pids+=("$BG_PID")
}
stop_load() {
	local pid
	for pid in "${load_pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${load_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
		_undo_forget pid "$pid"
	done
	load_pids=()
}
for w in 1 2 3; do
	load "$w" "$db"
done
load 4 "$wdb"

# rows DB: the transactions committed in DB now.
# A WAL reader can still get SQLITE_BUSY at once, without its busy handler
# (while a writer runs a checkpoint or recovery): try again.
txns() {
	local i out
	for i in $(seq 100); do
		out=$(sqlite3 -batch "$1" '.timeout 30000' 'SELECT count(DISTINCT txn) FROM t;' 2>/dev/null) &&
			{ echo "$out"; return 0; }
		sleep 0.05
	done
	sqlite3 -batch "$1" '.timeout 30000' 'SELECT count(DISTINCT txn) FROM t;'
}

# check_db DBURI MIN WHAT: integrity ok, only whole transactions, at least
# MIN; sets n to the number of transactions.
check_db() {
	local uri=$1 min=$2 what=$3 out integrity torn
	out=$(sqlite3 -batch -bail "$uri" 'PRAGMA integrity_check;' \
		'SELECT count(*) FROM (SELECT txn FROM t GROUP BY txn HAVING count(*) != 2);' \
		'SELECT count(DISTINCT txn) FROM t;') || fail "$what: sqlite3 failed on $uri"
	{
		read -r integrity
		read -r torn
		read -r n
	} <<<"$out"
	[ "$integrity" = ok ] || fail "$what: integrity_check says: $out"
	[ "$torn" = 0 ] || fail "$what: $torn transactions are torn (not both rows)"
	[ "$n" -ge "$min" ] || fail "$what: $n transactions, fewer than the $min before it"
	say "   $what: integrity ok, $n whole transactions (>= $min)"
}

sleep 1
before=1
check "$copies copies while 4 writers commit"
for i in $(seq "$copies"); do
	# A reader of a rollback-journal database competes for the lock with
	# the writers (and may wait long): test.db's copies are compared with
	# the one before instead.  WAL readers never wait.
	wbefore=$(txns "$wdb")
	t0=${EPOCHREALTIME/./}
	run_ok vss-create "$vol"
	t1=${EPOCHREALTIME/./}
	say "   copy $i: vss-create took $(((10#$t1 - 10#$t0) / 1000)) ms"
	copy=$(copy_of "$OUT" "$vol")
	{ [ -n "$copy" ] && [ -f "$copy/app/test.db" ]; } || fail "no copy of $vol in: $(cat "$OUT")"
	# The copy is read-only: immutable=1 reads it as it is, hot journal or
	# not.
	[ ! -e "$copy/app/test.db-journal" ] || fail "copy $i has a hot journal: a transaction was in flight"
	check_db "file:$copy/app/test.db?immutable=1" "$before" "copy $i test.db"
	before=$n
	[ "$i" != 1 ] || first=$n
	# WAL: a writable snapshot of the copy, opened the ordinary way.
	btrfs subvolume snapshot "$copy" "$vol/rw-$i" >/dev/null || fail "btrfs subvolume snapshot $copy failed"
	check_db "$vol/rw-$i/app/wal.db" "$wbefore" "copy $i wal.db"
	btrfs subvolume delete "$vol/rw-$i" >/dev/null || fail "btrfs subvolume delete $vol/rw-$i failed"
	run_ok vss-delete "$(copy_ids_of "$OUT")"
done
for w in 1 2 3 4; do
	[ ! -s "$SCRATCH/log/load-$w" ] || fail "writer $w failed: $(cat "$SCRATCH/log/load-$w")"
done
[ "$before" -gt "$first" ] || fail "test.db has $before transactions in the last copy, as in the first: no load"

check "the writers took part and are stable"
run_ok vss-list --writers -J
jq -e '[.writers[] | select(.name == "SQLite")] | length == 2 and all(.state == "Stable" and (.["last-error"] | test("No error")))' \
	"$OUT" >/dev/null || {
	cat "$OUT" >&2
	fail "the SQLite writers are not stable without error after the copies"
}

check "a write lock held past the busy timeout fails the set, naming the writer"
stop_load
# One connection holds test.db's write lock, until we close its input.
mkfifo "$SCRATCH/hold"
scratch_bg sqlite_from "$db" "$SCRATCH/hold" "$SCRATCH/log/hold"
holder=$BG_PID
exec {hold_fd}>"$SCRATCH/hold"
printf '.timeout 30000\nBEGIN IMMEDIATE;\n' >&"$hold_fd"
for i in $(seq 50); do
	sqlite3 "$db" '.timeout 0' 'BEGIN IMMEDIATE;' 2>/dev/null || break
	sleep 0.1
done
[ "$i" -lt 50 ] || fail "the holder did not take test.db's write lock in 5 s"
register sqlite-test "$db" -e 's|--busy-timeout [0-9]*|--busy-timeout 300|'
ncopies=$(catalog_count)
run_rc 6 vss-create "$vol"
grep -q SQLite "$ERR" || fail "vss-create did not name the SQLite writer: $(cat "$ERR")"
[ "$(catalog_count)" = "$ncopies" ] || fail "a copy was made although a writer failed"
run_ok vss-list --writers -J
jq -e '[.writers[] | select(.name == "SQLite" and .state != "Stable")] | length == 1' "$OUT" >/dev/null || {
	cat "$OUT" >&2
	fail "vss-list --writers does not show one failed SQLite writer"
}
exec {hold_fd}>&-
wait "$holder" || fail "the connection holding the lock failed: $(cat "$SCRATCH/log/hold")"
_undo_forget pid "$holder"
say "ok"
