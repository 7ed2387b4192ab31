#!/bin/bash
# The PostgreSQL writer (scripts/writers/postgresql, registered from the
# shipped scripts/writers/postgresql.xml) under pgbench: every copy starts as
# a consistent cluster.
#
# A cluster made by initdb (data checksums on) on a scratch btrfs volume,
# run by a server of ours (Unix socket in a private directory, no TCP), with
# pgbench writing through 4 clients all along.  N copies (default 20) are
# taken with vss-create, the PostgreSQL writer taking part (CHECKPOINT at
# PrepareForSnapshot, the whole-cluster check at Freeze).  For each copy: a
# writable btrfs snapshot of it, without postmaster.pid, is started by a
# second server (crash recovery from the copy's WAL), then
#   - pg_amcheck --heapallindexed on every database exits 0;
#   - pgbench's invariant holds: each of its transactions adds the same
#     delta to an account, a teller and a branch and logs it in history, so
#     in a consistent copy the four sums are equal;
#   - the copy has at least the pgbench transactions committed before
#     vss-create began;
#   - after a clean shutdown, pg_checksums finds no bad page.
# Then: the writer is listed, stable, in the set's BCD; every copy made the
# server checkpoint; and with pg_wal moved to a second volume, a copy of the
# first volume alone fails with the writer's INCONSISTENTSNAPSHOT, while a
# copy of both volumes is taken and starts clean.
#
# Every server is stopped with pg_ctl stop -m immediate on its own data
# directory at the end, whatever happens.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd btrfs jq runuser
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
for t in initdb pg_ctl postgres psql pgbench pg_amcheck pg_checksums; do
	[ -x "$PGBIN/$t" ] || fail "$PGBIN/$t is missing (run scripts/install-deps: postgresql-15)"
done
id -u postgres >/dev/null 2>&1 || fail "no postgres user (run scripts/install-deps: postgresql-15)"
scratch_init

copies=${VSS_TEST_COPIES:-20}
HOOKS=$SCRATCH_TOP/scripts/writers
PORT=5433       # the cluster under test
CPORT=5434      # a server on a copy
# Only Unix sockets, in directories of ours: the ports name socket files
# there and cannot meet any other server.
SOCK=$SCRATCH/sock
CSOCK=$SCRATCH/csock
mkdir -m 0755 "$SOCK" "$CSOCK"
# The servers' logs, written by postgres, kept with the others on failure.
PGLOG=$SCRATCH/log/pg
mkdir "$PGLOG"
chown postgres: "$SOCK" "$CSOCK" "$PGLOG"

# The data directories a server of ours may run on, for the cleanup.
pg_dirs=()
pg_cleanup() {
	local d
	for d in "${pg_dirs[@]}"; do
		[ -f "$d/postmaster.pid" ] || continue
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d" stop -m immediate -w -t 30 >/dev/null 2>&1 ||
			printf 'cleanup: pg_ctl stop -m immediate -D %s failed\n' "$d" >&2
	done
}
pg_exit() {
	local rc=$?
	pg_cleanup
	_scratch_exit "$rc"
}
trap pg_exit EXIT

pg() { runuser -u postgres -- "$@"; }
# pg_start DIR PORT SOCKDIR LOG
pg_start() {
	pg_dirs+=("$1")
	pg "$PGBIN/pg_ctl" -D "$1" -l "$4" -w -t 120 \
		-o "-p $2 -k $3 -c listen_addresses= -c max_connections=20" start >/dev/null ||
		{ tail -20 "$4" >&2; fail "the server on $1 did not start"; }
}
pg_stop() { pg "$PGBIN/pg_ctl" -D "$1" stop -m "${2:-fast}" -w -t 60 >/dev/null || fail "pg_ctl stop $1 failed"; }
# sql PORT SOCKDIR DB QUERY: one value.
sql() { pg "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$2" -p "$1" -U postgres -d "$3" -c "$4"; }

vol=$(make_btrfs pg 3G)
pgdata=$vol/pgdata
install -d -o postgres -g postgres -m 0700 "$pgdata"
pg "$PGBIN/initdb" -D "$pgdata" -U postgres -A trust -k >"$SCRATCH/log/initdb" 2>&1 ||
	{ cat "$SCRATCH/log/initdb" >&2; fail "initdb failed"; }
pg_start "$pgdata" "$PORT" "$SOCK" "$PGLOG/main.log"
sql "$PORT" "$SOCK" postgres 'CREATE DATABASE bench' >/dev/null
pg "$PGBIN/pgbench" -q -i -s 5 -h "$SOCK" -p "$PORT" -U postgres bench >"$SCRATCH/log/pgbench-init" 2>&1 ||
	{ cat "$SCRATCH/log/pgbench-init" >&2; fail "pgbench -i failed"; }

# The shipped registration, with the hook of this tree and our cluster.
mkdir -p "$VSS_SYSCONFDIR/writers.d"
reg=$VSS_SYSCONFDIR/writers.d/postgresql.xml
sed -e "s|/usr/share/vss/writers/|$HOOKS/|g" \
	-e "s|--pgdata /var/lib/postgresql/15/main|--pgdata $pgdata|g" \
	-e "s|--host /var/run/postgresql|--host $SOCK|g" \
	-e "s|--port 5432|--port $PORT|g" \
	-e "s|/var/lib/postgresql/15/main|$pgdata|g" \
	"$SCRATCH_TOP/scripts/writers/postgresql.xml" >"$reg"
[ "$(grep -c -- "--pgdata $pgdata --host $SOCK --port $PORT " "$reg")" = 2 ] ||
	fail "the shipped postgresql.xml no longer has the command lines this test rewrites"

check "the PostgreSQL writer is registered"
run_ok vss-list --writers -J
jq -e '[.writers[] | select(.name == "PostgreSQL")] | length == 1' "$OUT" >/dev/null ||
	{ cat "$OUT" >&2; fail "vss-list --writers does not show the PostgreSQL writer"; }

# pgbench for the whole run (stopped below): 4 clients, 2 threads.
pgbench_run() {
	exec runuser -u postgres -- "$PGBIN/pgbench" -n -c 4 -j 2 -T 3600 -h "$SOCK" -p "$PORT" -U postgres bench \
		>"$SCRATCH/log/pgbench" 2>&1
}
scratch_bg pgbench_run
pgbench_pid=$BG_PID
history_rows() { sql "$PORT" "$SOCK" bench 'SELECT count(*) FROM pgbench_history'; }
for i in $(seq 100); do
	[ "$(history_rows)" -gt 100 ] && break
	kill -0 "$pgbench_pid" 2>/dev/null || { cat "$SCRATCH/log/pgbench" >&2; fail "pgbench died"; }
	sleep 0.1
done
checkpoints_before=$(sql "$PORT" "$SOCK" postgres 'SELECT checkpoints_req FROM pg_stat_bgwriter')

# check_clone DIR MIN WHAT: start a server on the writable clone DIR of a
# copy, and check it (see the top).
check_clone() {
	local dir=$1 min=$2 what=$3 sums n
	rm -f "$dir/postmaster.pid"
	pg_start "$dir" "$CPORT" "$CSOCK" "$PGLOG/clone.log"
	pg "$PGBIN/pg_amcheck" -h "$CSOCK" -p "$CPORT" -U postgres --all --install-missing \
		--heapallindexed >"$SCRATCH/log/amcheck" 2>&1 ||
		{ cat "$SCRATCH/log/amcheck" >&2; fail "$what: pg_amcheck found corruption"; }
	sums=$(sql "$CPORT" "$CSOCK" bench "SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ' ' ||
		(SELECT sum(tbalance) FROM pgbench_tellers) || ' ' || (SELECT sum(bbalance) FROM pgbench_branches) || ' ' ||
		(SELECT coalesce(sum(delta), 0) FROM pgbench_history)")
	read -r a t b h <<<"$sums"
	{ [ "$a" = "$t" ] && [ "$t" = "$b" ] && [ "$b" = "$h" ]; } ||
		fail "$what: pgbench's sums differ (accounts tellers branches history: $sums): a transaction is torn"
	n=$(sql "$CPORT" "$CSOCK" bench 'SELECT count(*) FROM pgbench_history')
	[ "$n" -ge "$min" ] || fail "$what: $n pgbench transactions, but $min were committed before vss-create"
	pg_stop "$dir" fast
	pg "$PGBIN/pg_checksums" -c -D "$dir" >"$SCRATCH/log/checksums" 2>&1 ||
		{ cat "$SCRATCH/log/checksums" >&2; fail "$what: pg_checksums found bad pages"; }
	say "   $what: recovered, pg_amcheck clean, sums equal ($a), $n transactions (>= $min), checksums ok"
}

check "$copies copies while pgbench runs, each started and checked"
clean=0
for i in $(seq "$copies"); do
	before=$(history_rows)
	bcd=
	[ "$i" != 1 ] || bcd=$SCRATCH/log/set1.bcd.xml
	run_ok vss-create ${bcd:+-b "$bcd"} "$vol"
	copy=$(copy_of "$OUT" "$vol")
	[ -n "$copy" ] || fail "no copy of $vol in: $(cat "$OUT")"
	kill -0 "$pgbench_pid" 2>/dev/null || { cat "$SCRATCH/log/pgbench" >&2; fail "pgbench died"; }
	btrfs subvolume snapshot "$copy" "$vol/clone" >/dev/null || fail "btrfs subvolume snapshot $copy failed"
	check_clone "$vol/clone/pgdata" "$before" "copy $i"
	btrfs subvolume delete "$vol/clone" >/dev/null || fail "btrfs subvolume delete $vol/clone failed"
	run_ok vss-delete "$(copy_ids_of "$OUT")"
	clean=$((clean + 1))
done
say "   $clean/$copies copies clean"

check "the writer took part in every set"
run_ok vss-meta -w "$SCRATCH/log/set1.bcd.xml"
grep -q '8f2a4054-a14a-471e-9aa4-c9c3641a4837' "$OUT" ||
	{ cat "$OUT" >&2; fail "the set's BCD does not list the PostgreSQL writer"; }
checkpoints=$(sql "$PORT" "$SOCK" postgres 'SELECT checkpoints_req FROM pg_stat_bgwriter')
[ $((checkpoints - checkpoints_before)) -ge "$copies" ] ||
	fail "the server made $((checkpoints - checkpoints_before)) requested checkpoints for $copies copies"
run_ok vss-list --writers -J
jq -e '.writers[] | select(.name == "PostgreSQL") | .state == "Stable" and (.["last-error"] | test("No error"))' \
	"$OUT" >/dev/null || { cat "$OUT" >&2; fail "the PostgreSQL writer is not stable without error"; }

kill "$pgbench_pid"
wait "$pgbench_pid" 2>/dev/null || true
_undo_forget pid "$pgbench_pid"

check "pg_wal on another volume: a copy without it fails INCONSISTENTSNAPSHOT"
wal=$(make_btrfs pgwal 1G)
pg_stop "$pgdata" fast
mv "$pgdata/pg_wal" "$wal/pg_wal"
ln -s "$wal/pg_wal" "$pgdata/pg_wal"
pg_start "$pgdata" "$PORT" "$SOCK" "$PGLOG/main.log"
sql "$PORT" "$SOCK" bench "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 1;
	UPDATE pgbench_tellers SET tbalance = tbalance + 1 WHERE tid = 1;
	UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;
	INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 1, now())" >/dev/null
ncopies=$(catalog_count)
run_rc 6 vss-create "$vol"
{ grep -q PostgreSQL "$ERR" && grep -q pg_wal "$ERR"; } ||
	fail "vss-create did not name the PostgreSQL writer and pg_wal: $(cat "$ERR")"
[ "$(catalog_count)" = "$ncopies" ] || fail "a copy was made although the writer failed"
run_ok vss-list --writers -J
jq -e '.writers[] | select(.name == "PostgreSQL") | .["last-error"] | test("nconsistent")' "$OUT" >/dev/null ||
	{ cat "$OUT" >&2; fail "vss-list --writers does not show the inconsistent shadow copy error"; }

check "pg_wal on another volume: a copy of both volumes starts clean"
before=$(sql "$PORT" "$SOCK" bench 'SELECT count(*) FROM pgbench_history')
run_ok vss-create "$vol" "$wal"
copy=$(copy_of "$OUT" "$vol")
wcopy=$(copy_of "$OUT" "$wal")
{ [ -n "$copy" ] && [ -n "$wcopy" ]; } || fail "no copies of $vol and $wal in: $(cat "$OUT")"
btrfs subvolume snapshot "$copy" "$vol/clone" >/dev/null || fail "btrfs subvolume snapshot $copy failed"
btrfs subvolume snapshot "$wcopy" "$wal/clone" >/dev/null || fail "btrfs subvolume snapshot $wcopy failed"
ln -sfn "$wal/clone/pg_wal" "$vol/clone/pgdata/pg_wal"
check_clone "$vol/clone/pgdata" "$before" "copy of both volumes"
btrfs subvolume delete "$vol/clone" "$wal/clone" >/dev/null || fail "btrfs subvolume delete failed"
run_ok vss-delete --set "$(set_id_of "$OUT")"

pg_stop "$pgdata" fast
say "ok: $clean/$copies copies clean"
