#!/bin/bash
# Component restore of the PostgreSQL writer (scripts/writers/postgresql,
# registered from the shipped scripts/writers/postgresql.xml): a cluster
# copied under pgbench is restored with vss-restore --bcd --component, the
# writer stopping the server at PreRestore and starting it at PostRestore.
#
# A cluster made by initdb (data checksums on) on a scratch btrfs volume,
# run by a server of ours (Unix socket in a private directory, no TCP),
# pgbench writing through 4 clients.  A table "canary" is made first.  One
# copy is taken with vss-create -b (the set's BCD and the writer's WMD
# saved beside it), the writer taking part.  Then the live cluster is
# damaged: canary is dropped, a table made after the copy, and, with the
# server stopped, garbage written over the first page of pgbench_branches;
# the server is started again.  Then
#   - vss-restore --dry-run lists the files, sends no event (the server runs
#     on, the same postmaster) and leaves the BCD as it was;
#   - vss-restore -b BCD -c PostgreSQL:cluster restores: the server was
#     stopped by PreRestore (a new postmaster runs after) and started by
#     PostRestore; pg_amcheck --heapallindexed on every database is clean;
#     canary is back with its rows, the table made after the copy is gone,
#     pgbench's sums are equal, and the cluster has at least the pgbench
#     transactions committed before vss-create;
#   - the BCD says the component was selected for restore and all its files
#     were restored;
#   - after a clean shutdown, pg_checksums finds no bad page.
# Every server is stopped with pg_ctl stop -m immediate on its own data
# directory at the end, whatever happens.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
require_root_and_loop btrfs
require_cmd btrfs jq runuser
[ -x "$VSS_BUILD/bin/vss-restore" ] || fail "$VSS_BUILD/bin/vss-restore is not built (run make)"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
for t in initdb pg_ctl postgres psql pgbench pg_amcheck pg_checksums; do
	[ -x "$PGBIN/$t" ] || fail "$PGBIN/$t is missing (run scripts/install-deps: postgresql-15)"
done
id -u postgres >/dev/null 2>&1 || fail "no postgres user (run scripts/install-deps: postgresql-15)"
scratch_init

HOOKS=$SCRATCH_TOP/scripts/writers
PORT=5435
SOCK=$SCRATCH/sock
mkdir -m 0755 "$SOCK"
PGLOG=$SCRATCH/log/pg
mkdir "$PGLOG"
chown postgres: "$SOCK" "$PGLOG"
OPTS="-p $PORT -k $SOCK -c listen_addresses= -c max_connections=20"

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
pg_start() {
	pg "$PGBIN/pg_ctl" -D "$1" -l "$PGLOG/main.log" -w -t 120 -o "$OPTS" start >/dev/null ||
		{ tail -20 "$PGLOG/main.log" >&2; fail "the server on $1 did not start"; }
}
pg_stop() { pg "$PGBIN/pg_ctl" -D "$1" stop -m "${2:-fast}" -w -t 60 >/dev/null || fail "pg_ctl stop $1 failed"; }
# sql DB QUERY: one value.
sql() { pg "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d "$1" -c "$2"; }
postmaster_pid() { sed -n 1p "$pgdata/postmaster.pid" 2>/dev/null || true; }

vol=$(make_btrfs pg 3G)
pgdata=$vol/pgdata
pg_dirs+=("$pgdata")
install -d -o postgres -g postgres -m 0700 "$pgdata"
pg "$PGBIN/initdb" -D "$pgdata" -U postgres -A trust -k >"$SCRATCH/log/initdb" 2>&1 ||
	{ cat "$SCRATCH/log/initdb" >&2; fail "initdb failed"; }
pg_start "$pgdata"
sql postgres 'CREATE DATABASE bench' >/dev/null
pg "$PGBIN/pgbench" -q -i -s 5 -h "$SOCK" -p "$PORT" -U postgres bench >"$SCRATCH/log/pgbench-init" 2>&1 ||
	{ cat "$SCRATCH/log/pgbench-init" >&2; fail "pgbench -i failed"; }
sql bench 'CREATE TABLE canary (n int PRIMARY KEY, t text); INSERT INTO canary SELECT g, md5(g::text) FROM generate_series(1, 5000) g' >/dev/null

# The shipped registration, with the hook of this tree, our cluster, and
# pg_ctl (with our server's options) instead of systemctl for the restore.
mkdir -p "$VSS_SYSCONFDIR/writers.d"
reg=$VSS_SYSCONFDIR/writers.d/postgresql.xml
sed -e "s|/usr/share/vss/writers/|$HOOKS/|g" \
	-e "s|--service postgresql@15-main.service|--pg-ctl $PGBIN/pg_ctl --start-options '$OPTS' --log $PGLOG/main.log|g" \
	-e "s|--pgdata /var/lib/postgresql/15/main|--pgdata $pgdata|g" \
	-e "s|--host /var/run/postgresql|--host $SOCK|g" \
	-e "s|--port 5432|--port $PORT|g" \
	-e "s|/var/lib/postgresql/15/main|$pgdata|g" \
	"$SCRATCH_TOP/scripts/writers/postgresql.xml" >"$reg"
[ "$(grep -c -- "--pgdata $pgdata --pg-ctl $PGBIN/pg_ctl --start-options" "$reg")" = 2 ] ||
	fail "the shipped postgresql.xml no longer has the restore command lines this test rewrites"
grep -q 'writerRestore="always"' "$reg" || fail "the shipped postgresql.xml does not take part in restores"

pgbench_run() {
	exec runuser -u postgres -- "$PGBIN/pgbench" -n -c 4 -j 2 -T 3600 -h "$SOCK" -p "$PORT" -U postgres bench \
		>"$SCRATCH/log/pgbench" 2>&1
}
scratch_bg pgbench_run
pgbench_pid=$BG_PID
history_rows() { sql bench 'SELECT count(*) FROM pgbench_history'; }
for i in $(seq 100); do
	[ "$(history_rows)" -gt 100 ] && break
	kill -0 "$pgbench_pid" 2>/dev/null || { cat "$SCRATCH/log/pgbench" >&2; fail "pgbench died"; }
	sleep 0.1
done

check "a copy of the cluster under pgbench, with the set's documents"
bcd=$SCRATCH/backup.xml
before=$(history_rows)
run_ok vss-create -b "$bcd" "$vol"
kill -0 "$pgbench_pid" 2>/dev/null || { cat "$SCRATCH/log/pgbench" >&2; fail "pgbench died"; }
wmds=("$bcd".*.wmd.xml)
[ -f "${wmds[0]}" ] || fail "vss-create -b wrote no writer metadata document beside $bcd"
run_ok vss-meta -rn -o WRITER,NAME "$bcd" "${wmds[@]}"
grep -q '^PostgreSQL cluster$' "$OUT" || { cat "$OUT" >&2; fail "the PostgreSQL component 'cluster' is not in the documents"; }
kill "$pgbench_pid"
wait "$pgbench_pid" 2>/dev/null || true
_undo_forget pid "$pgbench_pid"

check "damage: canary dropped, a table made, a page of pgbench_branches overwritten"
sql bench 'DROP TABLE canary; CREATE TABLE after_copy (n int); INSERT INTO after_copy VALUES (1)' >/dev/null
relfile=$pgdata/$(sql bench "SELECT pg_relation_filepath('pgbench_branches')")
pg_stop "$pgdata" fast
head -c 8192 /dev/urandom | dd of="$relfile" bs=8192 count=1 conv=notrunc status=none
pg_start "$pgdata"
pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$PORT" -U postgres --all --install-missing --heapallindexed \
	>"$SCRATCH/log/amcheck-damaged" 2>&1 && fail "pg_amcheck finds the damaged cluster clean: the test damages nothing"
say "   pg_amcheck sees the damage ($(grep -c . "$SCRATCH/log/amcheck-damaged") lines)"

check "vss-restore --dry-run: the files are listed, no event, the document unchanged"
sum=$(md5sum <"$bcd")
pid=$(postmaster_pid)
run_ok vss-restore --dry-run -b "$bcd" -c PostgreSQL:cluster
grep -q "^would restore f '$pgdata/global/pg_control'\$" "$OUT" ||
	{ head -20 "$OUT" >&2; fail "the dry run does not list global/pg_control"; }
grep -q "postmaster.pid" "$OUT" && fail "the dry run would restore postmaster.pid, which the writer excludes"
tail -1 "$OUT" | grep -q '^would restore [0-9]* files .*dry run: nothing written' ||
	fail "no dry-run summary: $(tail -1 "$OUT")"
[ "$(md5sum <"$bcd")" = "$sum" ] || fail "the dry run rewrote the BCD"
[ "$(postmaster_pid)" = "$pid" ] || fail "the dry run stopped the server"
sql bench 'SELECT count(*) FROM after_copy' >/dev/null || fail "the dry run changed the cluster"

check "vss-restore -b BCD -c PostgreSQL:cluster"
run_ok vss-restore -b "$bcd" -c PostgreSQL:cluster
tail -1 "$OUT" | grep -Eq '^restored [0-9]+ files .* refused 0, failed 0$' || fail "summary: $(tail -1 "$OUT")"
newpid=$(postmaster_pid)
[ -n "$newpid" ] && kill -0 "$newpid" 2>/dev/null || { tail -20 "$PGLOG/main.log" >&2; fail "no server runs after the restore (PostRestore did not start it)"; }
[ "$newpid" != "$pid" ] || fail "the same postmaster runs: PreRestore did not stop the server"
pg "$PGBIN/pg_amcheck" -h "$SOCK" -p "$PORT" -U postgres --all --install-missing --heapallindexed \
	>"$SCRATCH/log/amcheck" 2>&1 || { cat "$SCRATCH/log/amcheck" >&2; fail "pg_amcheck found corruption after the restore"; }
[ "$(sql bench 'SELECT count(*) FROM canary')" = 5000 ] || fail "canary is not back with its 5000 rows"
[ "$(sql bench "SELECT count(*) FROM pg_class WHERE relname = 'after_copy'")" = 0 ] ||
	fail "the table made after the copy is still there"
sums=$(sql bench "SELECT (SELECT sum(abalance) FROM pgbench_accounts) || ' ' ||
	(SELECT sum(tbalance) FROM pgbench_tellers) || ' ' || (SELECT sum(bbalance) FROM pgbench_branches) || ' ' ||
	(SELECT coalesce(sum(delta), 0) FROM pgbench_history)")
read -r a t b h <<<"$sums"
{ [ "$a" = "$t" ] && [ "$t" = "$b" ] && [ "$b" = "$h" ]; } ||
	fail "pgbench's sums differ after the restore (accounts tellers branches history: $sums)"
n=$(history_rows)
[ "$n" -ge "$before" ] || fail "$n pgbench transactions, but $before were committed before vss-create"
say "   server restarted by the writer, pg_amcheck clean, canary back, sums equal ($a), $n transactions (>= $before)"

check "the BCD records the restore"
run_ok vss-meta -rn -o NAME,SELECTED-FOR-RESTORE,RESTORE-STATUS "$bcd"
grep -Eq '^cluster yes all$' "$OUT" || { cat "$OUT" >&2; fail "the BCD does not say 'cluster' was selected and all its files restored"; }

check "a writer that is not registered: exit 3, nothing restored"
mv "$reg" "$SCRATCH/postgresql.xml.off"
sum=$(md5sum <"$bcd")
run_rc 3 vss-restore -b "$bcd" -c PostgreSQL:cluster
grep -q "PostgreSQL" "$ERR" || fail "the error does not name the writer: $(cat "$ERR")"
[ "$(md5sum <"$bcd")" = "$sum" ] || fail "the BCD was rewritten"
mv "$SCRATCH/postgresql.xml.off" "$reg"

check "after a clean shutdown, no bad checksum"
pg_stop "$pgdata" fast
pg "$PGBIN/pg_checksums" -c -D "$pgdata" >"$SCRATCH/log/checksums" 2>&1 ||
	{ cat "$SCRATCH/log/checksums" >&2; fail "pg_checksums found bad pages"; }
say "ok"
