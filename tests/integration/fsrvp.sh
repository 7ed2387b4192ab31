#!/bin/bash
# File Server Remote VSS (FSRVP) through Samba's vfs_shell_snap and
# scripts/vss-shell-snap: Debian's smbd on 127.0.0.1 (a high port, a
# throw-away configuration) serves a share of a scratch btrfs volume and
# one of a filesystem image on a loop device; rpcclient, as an FSRVP
# client, asks for a shadow copy of each (fss_create_expose), which must
# be a vss copy of the share's volume, exported as a snapshot share whose
# files are the old contents while the live ones change; fss_delete must
# delete the vss copy again.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/samba.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq btrfs ss cmp realpath
require_samba
command -v rpcclient >/dev/null || fail "rpcclient is not installed (run scripts/install-deps: package smbclient)"
command -v smbpasswd >/dev/null || [ -x /usr/bin/smbpasswd ] || fail "smbpasswd is not installed (package samba-common-bin)"
[ -x "$VSS_BUILD/bin/vss-expose" ] || fail "$VSS_BUILD/bin/vss-expose is not built (run make)"
[ -e /usr/lib/x86_64-linux-gnu/samba/vfs/shell_snap.so ] || [ -n "$(find /usr/lib* -name shell_snap.so -print -quit 2>/dev/null)" ] ||
	fail "Samba has no vfs_shell_snap module"
scratch_init

helper=$SCRATCH_TOP/scripts/vss-shell-snap
b=$(make_btrfs data 512M)
h=$(make_xfs_host host 512M)
e=$(make_image_volume "$h" img 128M ext4)
# A share below the root of the btrfs volume, one at the root of the image.
mkdir -p "$b/pub"
printf 'old btrfs contents\n' >"$b/pub/file.txt"
printf 'old image contents\n' >"$e/file.txt"
chmod 0755 "$b/pub" "$e"
chmod 0644 "$b/pub/file.txt" "$e/file.txt"

shares=
for s in "pub:$b/pub" "img:$e"; do
	shares+="[${s%%:*}]
	path = ${s#*:}
	read only = no
	vfs objects = shell_snap
	shell_snap:check path command = $helper check
	shell_snap:create command = $helper create
	shell_snap:delete command = $helper delete
"
done
# FSRVP publishes each copy as a share kept in the registry.
samba_conf "	registry shares = yes
	include = registry" "$shares"
# FSRVP is for administrators; root is, and the helper needs root.
printf 'vss-test\nvss-test\n' | run_ok smbpasswd -c "$SMB_CONF" -s -a root
samba_start

rpc() { run_ok rpcclient -s "$SMB_CONF" -p "$SMB_PORT" -U 'root%vss-test' 127.0.0.1 -c "$*"; }

check "the shares support FSRVP shadow copies (shell_snap:check)"
rpc 'fss_get_sup_version'
for s in pub img; do
	rpc "fss_is_path_sup $s"
	grep -q 'supports shadow copy requests' "$OUT" || fail "share $s: $(cat "$OUT")"
done

declare -A set_of copy_of_share
for s in pub img; do
	check "fss_create_expose $s makes a vss copy exported as a snapshot share"
	run_ok vss-list -J
	before=$(jq '.shadowcopies | length' "$OUT")
	rpc "fss_create_expose backup ro $s"
	cp "$OUT" "$SCRATCH/log/create.$s"
	set=$(sed -n 's/^\([0-9a-f-]\{36\}\): shadow-copy set created$/\1/p' "$OUT")
	sid=$(sed -n 's/^[0-9a-f-]\{36\}(\([0-9a-f-]\{36\}\)): .* shadow-copy added to set$/\1/p' "$OUT")
	snapshare=$(sed -n 's/.*: share \([^ ]*\) exposed as a snapshot of .*/\1/p' "$OUT")
	if [ -z "$set" ] || [ -z "$sid" ] || [ -z "$snapshare" ]; then
		fail "fss_create_expose $s: unexpected output: $(cat "$OUT")"
	fi
	set_of[$s]="$set $sid"
	run_ok vss-list -J -o ID,VOLUME,COPY,PROVIDER,EXPOSED
	[ "$(jq '.shadowcopies | length' "$OUT")" = $((before + 1)) ] ||
		fail "fss_create_expose $s did not add one vss copy: $(cat "$OUT")"
	case $s in
	pub) vol=$b live=$b/pub/file.txt want='old btrfs contents' ;;
	img) vol=$e live=$e/file.txt want='old image contents' ;;
	esac
	id=$(jq -r --arg v "$vol" '.shadowcopies[] | select(.volume == $v) | .id' "$OUT")
	[ -n "$id" ] || fail "no vss copy of $vol after fss_create_expose $s: $(cat "$OUT")"
	copy_of_share[$s]=$id
	say "   $s: FSRVP copy $sid is vss copy $id, exported as $snapshare"

	# The live file changes; the snapshot share keeps the old contents.
	printf 'new contents\n' >"$live"
	run_ok smbclient -s "$SMB_CONF" "//127.0.0.1/$snapshare" -p "$SMB_PORT" -U 'root%vss-test' \
		-m SMB3 -c "get file.txt $SCRATCH/got.$s"
	[ "$(cat "$SCRATCH/got.$s")" = "$want" ] ||
		fail "file.txt of snapshot share $snapshare is '$(cat "$SCRATCH/got.$s")', expected '$want'"
	# A read-only copy ("ro"): writing through the snapshot share fails.
	if smbclient -s "$SMB_CONF" "//127.0.0.1/$snapshare" -p "$SMB_PORT" -U 'root%vss-test' \
		-m SMB3 -c "put $SCRATCH/got.$s probe.txt" >"$OUT" 2>&1; then
		grep -q NT_STATUS "$OUT" || fail "could write into snapshot share $snapshare"
	fi
done

for s in pub img; do
	check "fss_delete $s deletes the vss copy"
	read -r set sid <<<"${set_of[$s]}"
	id=${copy_of_share[$s]}
	rpc "fss_delete $s $set $sid"
	run_ok vss-list -J
	jq -e --arg i "$id" 'all(.shadowcopies[]; .id != $i)' "$OUT" >/dev/null ||
		fail "vss copy $id is still listed after fss_delete $s"
done
[ -z "$(ls -A "$VSS_RUNDIR/fsrvp" 2>/dev/null)" ] || fail "left in $VSS_RUNDIR/fsrvp: $(ls -A "$VSS_RUNDIR/fsrvp")"
check_consistent "$b/.vss" "$h/.vss"

check "the helper refuses what it cannot do"
run_rc 2 "$helper" create
run_rc 1 "$helper" check /proc
grep -q 'vss copies btrfs volumes' "$ERR" || fail "check /proc: unclear message: $(cat "$ERR")"
run_rc 1 "$helper" delete "$b/pub" "$b/.vss/00000000-0000-0000-0000-000000000000/pub"
grep -q 'no shadow copy' "$ERR" || fail "delete of an unknown copy: unclear message: $(cat "$ERR")"

samba_stop
say "ok"
