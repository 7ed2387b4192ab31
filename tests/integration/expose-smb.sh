#!/bin/bash
# SMB previous versions with the real client: Debian's smbd on 127.0.0.1 (a
# high port, a throw-away configuration) exports a directory of a scratch
# btrfs volume (and, third, an ext4 image volume); two copies are taken with changes in between and exposed
# with vss-expose --smb, whose smb.conf lines the share includes.  smbclient
# 'allinfo FILE' must list both versions (@GMT tokens) and 'get
# @GMT-.../FILE' must return each version's contents byte for byte; the
# snapshot directory stays hidden from clients; after --unexpose, allinfo
# lists none and nothing is left mounted.  Bad input changes nothing.
set -eu -o pipefail
. "$(dirname "$0")/../lib/scratch.sh"
. "$(dirname "$0")/../lib/samba.sh"
require_root_and_loop btrfs xfs ext4
require_cmd jq btrfs ss cmp
require_samba
[ -x "$VSS_BUILD/bin/vss-expose" ] || fail "$VSS_BUILD/bin/vss-expose is not built (run make)"
scratch_init

b=$(make_btrfs data 512M)
other=$(make_btrfs other 256M)
# A share below the volume root: the harder case (shadow:snapsharepath).
share=$b/pub
mkdir -p "$share/docs"
chmod 0755 "$share" "$share/docs"

# version N of the files: a text file and 300 KiB of random bytes (more
# than one SMB read), each kept aside for the comparison.
put_version() {
	local n=$1
	printf 'version %s of report.txt\n' "$n" >"$share/docs/report.txt"
	head -c 307200 /dev/urandom >"$share/blob.bin"
	chmod 0644 "$share/docs/report.txt" "$share/blob.bin"
	cp "$share/docs/report.txt" "$SCRATCH/report.$n"
	cp "$share/blob.bin" "$SCRATCH/blob.$n"
	sync -f "$share/blob.bin"
}

ids=()
for n in 1 2; do
	put_version "$n"
	check "copy $n of $b"
	run_ok vss-create --no-writers "$b"
	ids+=("$(copy_ids_of "$OUT")")
	# @GMT names have a resolution of one second.
	sleep 1.1
done
put_version 3
# A share at the root of a volume: the simple case.
printf 'old root contents\n' >"$other/root.txt"
chmod 0755 "$other"
chmod 0644 "$other/root.txt"
run_ok vss-create --no-writers "$other"
other_id=$(copy_ids_of "$OUT")
printf 'new root contents\n' >"$other/root.txt"
# A share on an image volume: ext4 on a loop device, whose copy is a clone
# of its image, exposed through a read-only loop device.
host=$(make_xfs_host host 512M)
img=$(make_image_volume "$host" img 128M ext4)
chmod 0755 "$img"
printf 'old image contents\n' >"$img/img.txt"
chmod 0644 "$img/img.txt"
sync -f "$img/img.txt"
run_ok vss-create --no-writers "$img"
img_id=$(copy_ids_of "$OUT")
printf 'new image contents\n' >"$img/img.txt"

# gmt_of ID: the @GMT name of a copy's creation time (UTC, to the second).
gmt_of() {
	local created
	created=$(jq -r --arg i "$1" '.shadowcopies[] | select(.id == $i) | .created' "$(list_json)")
	TZ=UTC date -d "$created" +@GMT-%Y.%m.%d-%H.%M.%S
}
gmt1=$(gmt_of "${ids[0]}")
gmt2=$(gmt_of "${ids[1]}")
[ "$gmt1" != "$gmt2" ] || fail "the two copies have the same @GMT name $gmt1"

check "bad input is refused and changes nothing"
run_rc 2 vss-expose --smb "$share"
run_rc 3 vss-expose --smb "$share" "{00000000-0000-0000-0000-000000000001}"
grep -q 'no shadow copy' "$ERR" || fail "unknown ID: unclear message: $(cat "$ERR")"
touch "$SCRATCH/plain"
run_rc 1 vss-expose --smb "$SCRATCH/plain" "${ids[0]}"
grep -q 'not a directory' "$ERR" || fail "file as share: unclear message: $(cat "$ERR")"
run_rc 1 vss-expose --smb "$share" "${ids[0]}" "$other_id"
grep -q 'not of the volume' "$ERR" || fail "copy of another volume: unclear message: $(cat "$ERR")"
run_rc 1 vss-expose --smb "$share" "${ids[0]}" "${ids[0]}"
grep -q 'named twice' "$ERR" || fail "ID given twice: unclear message: $(cat "$ERR")"
[ ! -e "$share/.snapshots" ] || fail "a refused --smb left $share/.snapshots behind"
[ -z "$(jq -r '.shadowcopies[] | .exposed // empty' "$(list_json -o ID,EXPOSED)")" ] ||
	fail "a refused --smb recorded an exposure"

check "a snapshot directory others can write to is refused"
mkdir -m 0777 "$share/.snapshots"
run_rc 1 vss-expose --smb "$share" "${ids[0]}"
grep -q 'other than root' "$ERR" || fail "writable .snapshots: unclear message: $(cat "$ERR")"
chmod 0755 "$share/.snapshots"

check "all or nothing: when the second copy cannot be exposed, the first is undone"
mkdir "$share/.snapshots/$gmt2"
touch "$share/.snapshots/$gmt2/in-the-way"
run_rc 1 vss-expose --smb "$share" "${ids[@]}"
grep -q "exists already" "$ERR" || fail "@GMT entry in the way: unclear message: $(cat "$ERR")"
[ ! -e "$share/.snapshots/$gmt1" ] || fail "the first copy's $gmt1 was left behind"
[ -z "$(jq -r '.shadowcopies[] | .exposed // empty' "$(list_json -o ID,EXPOSED)")" ] ||
	fail "a failed --smb left an exposure recorded"
rm -r "$share/.snapshots"

check "vss-expose --smb $share exposes both copies and writes the smb.conf lines"
run_ok vss-expose --smb "$share" --smb-conf "$SCRATCH/vss-share.conf" "${ids[@]}"
for g in "$gmt1" "$gmt2"; do
	scratch_track_mount "$share/.snapshots/$g"
	mountpoint -q "$share/.snapshots/$g" || fail "$share/.snapshots/$g is not a mount point"
done
[ "$(stat -c %a "$share/.snapshots")" = 755 ] || fail "$share/.snapshots is not mode 0755"
conf=$SCRATCH/vss-share.conf
for line in "path = $share" "vfs objects = shadow_copy2" "shadow:mountpoint = $share" \
	"shadow:snapdir = .snapshots" "shadow:format = @GMT-%Y.%m.%d-%H.%M.%S" \
	"shadow:sort = desc" "shadow:localtime = no" "shadow:snapsharepath = pub" \
	"veto files = /.snapshots/.vss/"; do
	grep -qxF "$line" "$conf" || fail "'$line' is missing from the smb.conf lines: $(cat "$conf")"
done
json=$(list_json -o ID,EXPOSED)
for i in 0 1; do
	g=$([ "$i" = 0 ] && echo "$gmt1" || echo "$gmt2")
	got=$(jq -r --arg i "${ids[$i]}" '.shadowcopies[] | select(.id == $i) | .exposed' "$json")
	[ "$got" = "$share/.snapshots/$g" ] ||
		fail "vss-list shows copy ${ids[$i]} exposed at '$got', expected $share/.snapshots/$g"
done
if touch "$share/.snapshots/$gmt1/probe" 2>/dev/null; then
	fail "could write into the exposed copy"
fi

check "vss-expose --smb $other (a share at the volume root)"
run_ok vss-expose --smb "$other" "$other_id"
cp "$OUT" "$SCRATCH/root-share.conf"
gmt_other=$(gmt_of "$other_id")
scratch_track_mount "$other/.snapshots/$gmt_other"
grep -qxF "shadow:mountpoint = $other" "$SCRATCH/root-share.conf" ||
	fail "vss-expose --smb printed no shadow:mountpoint line: $(cat "$SCRATCH/root-share.conf")"
if grep -q snapsharepath "$SCRATCH/root-share.conf"; then
	fail "a share at the volume root got a shadow:snapsharepath line"
fi

check "vss-expose --smb $img (a share on an image volume)"
run_ok vss-expose --smb "$img" "$img_id"
cp "$OUT" "$SCRATCH/img-share.conf"
gmt_img=$(gmt_of "$img_id")
scratch_track_mount "$img/.snapshots/$gmt_img"
mountpoint -q "$img/.snapshots/$gmt_img" || fail "$img/.snapshots/$gmt_img is not a mount point"

check "exposing a copy again is refused"
run_rc 1 vss-expose --smb "$share" "${ids[0]}"
grep -q 'already exposed' "$ERR" || fail "already exposed: unclear message: $(cat "$ERR")"

samba_conf "" "[pub]
	guest ok = yes
	read only = yes
	include = $conf
[root]
	guest ok = yes
	read only = yes
	include = $SCRATCH/root-share.conf
[img]
	guest ok = yes
	read only = yes
	include = $SCRATCH/img-share.conf"
command -v testparm >/dev/null && {
	run_ok testparm -s "$SMB_CONF"
	cp "$OUT" "$SCRATCH/log/testparm.out"
}
samba_start

check "smbclient allinfo lists both previous versions"
smb pub 'allinfo docs/report.txt'
cp "$OUT" "$SCRATCH/log/allinfo.report"
for g in "$gmt1" "$gmt2"; do
	grep -q "^$g" "$OUT" || fail "allinfo docs/report.txt does not list $g: $(cat "$OUT")"
done
[ "$(grep -c '^@GMT-' "$OUT")" = 2 ] || fail "allinfo lists other than two versions: $(cat "$OUT")"
smb pub 'allinfo blob.bin'
[ "$(grep -c '^@GMT-' "$OUT")" = 2 ] || fail "allinfo blob.bin lists other than two versions: $(cat "$OUT")"

check "get @GMT-.../FILE returns each version byte for byte"
mkdir "$SCRATCH/got"
for n in 1 2; do
	g=$([ "$n" = 1 ] && echo "$gmt1" || echo "$gmt2")
	smb pub "get $g/docs/report.txt $SCRATCH/got/report.$n; get $g/blob.bin $SCRATCH/got/blob.$n"
	cmp "$SCRATCH/report.$n" "$SCRATCH/got/report.$n" || fail "report.txt of $g differs from version $n"
	cmp "$SCRATCH/blob.$n" "$SCRATCH/got/blob.$n" || fail "blob.bin of $g differs from version $n"
done
smb pub "get docs/report.txt $SCRATCH/got/report.live"
cmp "$SCRATCH/report.3" "$SCRATCH/got/report.live" || fail "the live report.txt is not version 3"

smb root "allinfo root.txt; get $gmt_other/root.txt $SCRATCH/got/root.old"
[ "$(grep -c '^@GMT-' "$OUT")" = 1 ] || fail "allinfo root.txt lists other than one version: $(cat "$OUT")"
[ "$(cat "$SCRATCH/got/root.old")" = "old root contents" ] ||
	fail "root.txt of $gmt_other is '$(cat "$SCRATCH/got/root.old")'"

smb img "allinfo img.txt; get $gmt_img/img.txt $SCRATCH/got/img.old; get img.txt $SCRATCH/got/img.live"
[ "$(grep -c '^@GMT-' "$OUT")" = 1 ] || fail "allinfo img.txt lists other than one version: $(cat "$OUT")"
[ "$(cat "$SCRATCH/got/img.old")" = "old image contents" ] ||
	fail "img.txt of $gmt_img (an image copy) is '$(cat "$SCRATCH/got/img.old")'"
[ "$(cat "$SCRATCH/got/img.live")" = "new image contents" ] ||
	fail "the live img.txt is '$(cat "$SCRATCH/got/img.live")'"

check "the snapshot directory and the store of copies are hidden from clients"
smb pub 'ls'
if grep -q '\.snapshots' "$OUT"; then
	fail "the share lists .snapshots: $(cat "$OUT")"
fi
smb root 'ls'
if grep -q '\.snapshots\|\.vss' "$OUT"; then
	fail "the share at the volume root lists .snapshots or .vss: $(cat "$OUT")"
fi
smb_rc 1 pub "get .snapshots/$gmt1/pub/docs/report.txt $SCRATCH/got/sneak"
[ ! -s "$SCRATCH/got/sneak" ] || fail "a client read a copy through .snapshots"

check "vss-expose --unexpose removes the versions"
for id in "${ids[@]}" "$other_id" "$img_id"; do
	run_ok vss-expose --unexpose "$id"
done
! mountpoint -q "$img/.snapshots/$gmt_img" 2>/dev/null || fail "$img/.snapshots/$gmt_img is still mounted"
for g in "$gmt1" "$gmt2"; do
	! mountpoint -q "$share/.snapshots/$g" 2>/dev/null || fail "$share/.snapshots/$g is still mounted"
	[ ! -e "$share/.snapshots/$g" ] || fail "$share/.snapshots/$g is left behind"
done
smb pub 'allinfo docs/report.txt'
if grep -q '^@GMT-' "$OUT"; then
	fail "allinfo still lists versions after unexpose: $(cat "$OUT")"
fi
[ -z "$(jq -r '.shadowcopies[] | .exposed // empty' "$(list_json -o ID,EXPOSED)")" ] ||
	fail "vss-list still shows an exposure"

samba_stop
say "ok"
