# shellcheck shell=bash
#
# A throw-away Samba server for the SMB tests, sourced after scratch.sh and
# scratch_init:
#
#   samba_conf GLOBAL_EXTRA SHARE_SECTIONS
#                       write $SMB_CONF: smbd on 127.0.0.1:$SMB_PORT (a free
#                       high port), every directory of its own under
#                       $SCRATCH/samba, guests allowed; GLOBAL_EXTRA is
#                       added to [global], SHARE_SECTIONS after it
#   samba_start         start smbd in the foreground (PID recorded for the
#                       cleanup) and wait until it accepts connections
#   samba_stop          stop smbd, and the RPC helpers it started, by PID
#   smb SHARE CMDS      smbclient //127.0.0.1/SHARE as guest, -c CMDS;
#                       output in $OUT, errors in $ERR; fails the test on a
#                       non-zero exit
#
# Nothing of the machine's own Samba (/etc/samba, /var/lib/samba, /run/samba)
# is read or written: smbd and smbclient get -s $SMB_CONF.

SMB_CONF=
SMB_PORT=
SMB_PID=

require_samba() {
	local c
	for c in smbd smbclient; do
		command -v "$c" >/dev/null || [ -x "/usr/sbin/$c" ] ||
			fail "$c is not installed (run scripts/install-deps: packages samba, smbclient)"
	done
	case ":$PATH:" in
	*:/usr/sbin:*) ;;
	*) PATH=$PATH:/usr/sbin ;;
	esac
}

# A TCP port nobody listens on, from the dynamic range.
_free_port() {
	local p i
	for i in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	fail "no free TCP port found"
}

samba_conf() {
	local global_extra=$1 shares=$2 d=$SCRATCH/samba
	mkdir -p "$d/lock" "$d/state" "$d/cache" "$d/pid" "$d/private" "$d/ncalrpc"
	chmod 0755 "$d"
	SMB_PORT=$(_free_port) || exit 1
	SMB_CONF=$d/smb.conf
	cat >"$SMB_CONF" <<EOF
[global]
	server role = standalone server
	smb ports = $SMB_PORT
	interfaces = lo
	bind interfaces only = yes
	disable netbios = yes
	lock directory = $d/lock
	state directory = $d/state
	cache directory = $d/cache
	pid directory = $d/pid
	private dir = $d/private
	ncalrpc dir = $d/ncalrpc
	passdb backend = tdbsam:$d/private/passdb.tdb
	log file = $SCRATCH/log/samba.%m
	max log size = 0
	log level = 1
	load printers = no
	printing = bsd
	printcap name = /dev/null
	disable spoolss = yes
	map to guest = bad user
	guest account = nobody
$global_extra
$shares
EOF
}

samba_start() {
	local i
	# In a process group of its own (no --no-process-group): when smbd
	# stops, it signals its whole group, which must not be this test.
	scratch_bg smbd --foreground -s "$SMB_CONF" \
		</dev/null >"$SCRATCH/log/smbd.out" 2>&1
	SMB_PID=$BG_PID
	SMB_PGID=$SMB_PID
	trap '_samba_exit' EXIT
	for i in $(seq 100); do
		_pid_alive "$SMB_PID" || {
			cat "$SCRATCH/log/smbd.out" "$SCRATCH"/log/samba.* >&2 2>/dev/null
			fail "smbd exited at start (see above)"
		}
		if (exec 3<>"/dev/tcp/127.0.0.1/$SMB_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "smbd does not accept connections on 127.0.0.1:$SMB_PORT after 10 s"
}

# The processes of our smbd: its process group (smbd makes one of its own,
# which its children, notifyd, cleanupd and the connection servers, and the
# RPC helpers it starts on demand, samba-dcerpcd and rpcd_*, stay in), and
# anything else that names our configuration file.
SMB_PGID=
_samba_pids() {
	local p stat cmd pgrp
	for p in /proc/[0-9]*; do
		stat=$(cat "$p/stat" 2>/dev/null) || continue
		# after "(comm) ": state ppid pgrp ...
		read -r _ _ pgrp _ <<<"${stat##*) }"
		if [ -n "$SMB_PGID" ] && [ "$pgrp" = "$SMB_PGID" ]; then
			printf '%s\n' "${p#/proc/}"
			continue
		fi
		cmd=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		case $cmd in
		*"$SMB_CONF"*) printf '%s\n' "${p#/proc/}" ;;
		esac
	done
}

# _samba_kill SIGNAL: signal every process of ours; true when there was one.
_samba_kill() {
	local pids p
	pids=$(_samba_pids)
	[ -n "$pids" ] || return 1
	for p in $pids; do
		kill "-$1" "$p" 2>/dev/null || true
	done
	return 0
}

samba_stop() {
	local i
	[ -n "$SMB_PGID" ] || return 0
	[ -z "$SMB_PID" ] || kill -TERM "$SMB_PID" 2>/dev/null || true
	for i in $(seq 100); do
		_pid_alive "$SMB_PID" || break
		sleep 0.1
	done
	_pid_alive "$SMB_PID" && fail "smbd $SMB_PID did not stop on SIGTERM"
	wait "$SMB_PID" 2>/dev/null || true
	_undo_forget pid "$SMB_PID"
	SMB_PID=
	# Helpers may outlive smbd for a moment; then they are told to go.
	for i in $(seq 50); do
		[ -n "$(_samba_pids)" ] || break
		[ "$i" -lt 20 ] || _samba_kill TERM || true
		sleep 0.1
	done
	[ -z "$(_samba_pids)" ] || fail "Samba processes of this test left running: $(_samba_pids)"
	SMB_PGID=
}

# The EXIT trap while smbd runs: stop it and its helpers, then the scratch
# cleanup (which only knows the smbd PID).
_samba_exit() {
	local rc=$?
	if [ -n "$SMB_PGID" ]; then
		_samba_kill TERM || true
		sleep 0.5
		_samba_kill KILL || true
	fi
	_scratch_exit "$rc"
}

smb() {
	local share=$1
	shift
	run_ok smbclient -s "$SMB_CONF" "//127.0.0.1/$share" -p "$SMB_PORT" -N -m SMB3 -c "$*"
}

# smb_rc WANT SHARE CMDS: the same, expecting exit status WANT.
smb_rc() {
	local want=$1 share=$2
	shift 2
	run_rc "$want" smbclient -s "$SMB_CONF" "//127.0.0.1/$share" -p "$SMB_PORT" -N -m SMB3 -c "$*"
}
