#!/usr/bin/env bash
# mkroot.sh builds and caches pristine Debian 12 (bookworm) roots for the
# end-to-end tests, and unpacks them.
#
#   mkroot.sh [--force] build [base|waagent|kernel|i386|netcfg|all]   build what is missing (default: all)
#   mkroot.sh unpack NAME DEST                     extract NAME (base|waagent|kernel|i386|netcfg) into DEST,
#                                                  building it first when missing
#   mkroot.sh overlay NAME DEST                    mount a fresh writable copy of NAME on DEST: an
#                                                  overlay over NAME's pristine unpacked root (see
#                                                  below) in milliseconds, or, when overlayfs cannot
#                                                  be mounted, an unpack into DEST (said on stderr)
#   mkroot.sh drop DIR                             unmount what is mounted at or below DIR (overlays
#                                                  of `overlay` with their upper layers), delete DIR
#   mkroot.sh path NAME                            print the tarball's path
#
# Tarballs live in ${AGENTKEEPER_CACHE:-$HOME/.cache/agentkeeper}/debian/, each with
# NAME.tar.key, the hash of the recipe that built it (see recipe): a tarball whose
# recipe changed since is rebuilt.
#   base.tar     debootstrap --variant=minbase bookworm
#   waagent.tar  base + Debian's real `waagent` package (apt-get install in a chroot)
#   kernel.tar   waagent + Debian's kernel (linux-image-amd64) with initramfs-tools and
#                its initramfs (MODULES=most, zstd), plus dracut-core, xz-utils and zstd
#                so tests can rebuild the image other ways, and update-grub with
#                Debian's /etc/default/grub (grub.cfg is left to the tests)
#   netcfg.tar   base + the network configuration tools (ifupdown, netplan.io,
#                network-manager), so tests can have the real tools write the files
#   i386.tar     debootstrap --arch=i386 --variant=minbase bookworm + the real `waagent`:
#                a real 32-bit OS with a real agent (it runs natively on an amd64 kernel)
#
# Next to them, pristine/NAME.KEY-MTIME-SIZE is NAME's tarball unpacked once (KEY from
# NAME.tar.key, MTIME and SIZE of the tarball, so a rebuilt tarball gets a new one; a
# .ok file next to it says the unpack finished), the read-only lower layer of every
# overlay: nothing writes into it. overlays/OWNER/ holds the upper and work layers,
# OWNER being the process that asked for them ($MKROOT_OWNER, default the caller, as
# PID-STARTTIME); each `overlay` first unmounts and deletes those of owners that are
# gone (a killed run), so they never pile up or pin an old pristine root.
#
# The Debian mirror is read at run time from this machine's apt configuration
# (AGENTKEEPER_DEBIAN_MIRROR overrides it). Needs root. Builds are serialised with
# flock(1) and written to a temporary file that is renamed into place, so a killed
# run never leaves half a tarball.
set -euo pipefail

readonly SUITE=bookworm
readonly NAMES=(base waagent kernel i386 netcfg)
readonly UNIT_LINK=etc/systemd/system/multi-user.target.wants/walinuxagent.service

cache="${AGENTKEEPER_CACHE:-${HOME:-/root}/.cache/agentkeeper}/debian"
force=0
log=""

die() {
	printf 'mkroot: %s\n' "$*" >&2
	exit 1
}

note() {
	printf 'mkroot: %s\n' "$*" >&2
}

usage() {
	sed -n '2,14s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

now() {
	date +%s.%N
}

# step NAME CMD...: run CMD with its output in the build log, print how long it
# took, and on failure show the end of the log.
step() {
	local name="$1" t0 t1 rc=0
	shift
	t0="$(now)"
	printf '\n== %s: %s\n' "$name" "$*" >>"$log"
	"$@" >>"$log" 2>&1 || rc=$?
	t1="$(now)"
	if [ "$rc" -ne 0 ]; then
		note "step '$name' failed (exit $rc) after $(elapsed "$t0" "$t1") s; end of $log:"
		tail -n 40 "$log" >&2
		exit 1
	fi
	note "$(printf '%-34s %6s s' "$name" "$(elapsed "$t0" "$t1")")"
}

elapsed() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}

# inroot ROOT CMD...: run CMD inside ROOT with a clean, non-interactive environment.
inroot() {
	local root="$1"
	shift
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive DEBCONF_NONINTERACTIVE_SEEN=true \
		chroot "$root" "$@"
}

need_root() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot and unpacking root-owned files need it)"
}

apt_updated=0
# need_tool CMD PACKAGE: install PACKAGE with apt-get when CMD is missing.
need_tool() {
	local cmd="$1" pkg="$2"
	command -v "$cmd" >/dev/null 2>&1 && return 0
	note "installing $pkg (for $cmd)"
	if [ "$apt_updated" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed: cannot install $pkg"
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >&2 ||
		die "apt-get install $pkg failed"
	command -v "$cmd" >/dev/null 2>&1 || die "$pkg installed but $cmd is still missing"
}

# mirror prints the URI of the host's apt source for $SUITE: deb822 *.sources
# first (the entry whose Suites holds the word bookworm), then one-line *.list.
mirror() {
	if [ -n "${AGENTKEEPER_DEBIAN_MIRROR:-}" ]; then
		printf '%s\n' "$AGENTKEEPER_DEBIAN_MIRROR"
		return 0
	fi
	local f uri
	shopt -s nullglob
	for f in /etc/apt/sources.list.d/*.sources; do
		uri="$(deb822_uri "$f")"
		if [ -n "$uri" ]; then
			printf '%s\n' "$uri"
			return 0
		fi
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri="$(oneline_uri "$f")"
		if [ -n "$uri" ]; then
			printf '%s\n' "$uri"
			return 0
		fi
	done
	shopt -u nullglob
	return 1
}

deb822_uri() {
	awk -v suite="$SUITE" '
		function flush(   n, i, w, ok) {
			if (f["enabled"] == "no" || !hasword(f["types"], "deb") || !hasword(f["suites"], suite)) { delete f; return }
			n = split(f["uris"], w, /[ \t]+/)
			for (i = 1; i <= n; i++) if (w[i] != "") { print w[i]; found = 1; exit }
			delete f
		}
		function hasword(s, word,   n, i, w) {
			n = split(s, w, /[ \t]+/)
			for (i = 1; i <= n; i++) if (w[i] == word) return 1
			return 0
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); key = ""; next }
		/^[ \t]/ { if (key != "") f[key] = f[key] " " $0; next }
		{
			i = index($0, ":"); if (i == 0) next
			key = tolower(substr($0, 1, i - 1))
			f[key] = substr($0, i + 1)
		}
		END { if (!found) flush() }
	' "$1"
}

oneline_uri() {
	awk -v suite="$SUITE" '
		/^[ \t]*#/ || $1 != "deb" { next }
		{
			i = 2
			if (substr($i, 1, 1) == "[") { while (i <= NF && substr($i, length($i)) != "]") i++; i++ }
			if ($(i + 1) == suite) { print $i; exit }
		}
	' "$1"
}

tarball() {
	printf '%s/%s.tar\n' "$cache" "$1"
}

# recipe NAME: the text whose change must rebuild NAME's tarball: the
# functions that build it, its package lists, and the key of the root it
# starts from. A cached tarball built by another version of this script is
# rebuilt, never used for tests that expect the new recipe.
recipe() {
	case "$1" in
	base) declare -f build_base check_sources && echo "$SUITE" ;;
	waagent) key base && declare -f build_waagent install_waagent verify_waagent ;;
	kernel) key waagent && declare -f build_kernel verify_kernel && echo "${KERNEL_PKGS[*]}" ;;
	i386) declare -f build_i386 check_sources install_waagent verify_waagent && echo "$SUITE" ;;
	netcfg) key base && declare -f build_netcfg && echo "${NETCFG_PKGS[*]}" ;;
	*) die "no recipe for $1" ;;
	esac
}

key() {
	recipe "$1" | sha256sum | cut -c1-16
}

# current NAME: NAME's tarball exists and was built by the current recipe.
current() {
	local t
	t="$(tarball "$1")"
	[ -f "$t" ] && [ "$(cat "$t.key" 2>/dev/null)" = "$(key "$1")" ]
}

# remove_tree DIR: unmount whatever is still mounted below DIR (debootstrap
# mounts /proc and /sys in the target), then delete it without crossing mounts.
remove_tree() {
	local dir="$1" mp
	[ -d "$dir" ] || return 0
	dir="$(cd "$dir" && pwd -P)"
	while read -r mp; do
		umount -l "$mp" 2>/dev/null || true
	done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf --one-file-system "$dir"
}

workdir=""
cleanup() {
	if [ -n "$workdir" ]; then
		remove_tree "$workdir"
	fi
}

# pack ROOT NAME: write ROOT as NAME's tarball, atomically.
pack() {
	local root="$1" name="$2" out tmp
	out="$(tarball "$name")"
	tmp="$out.tmp.$$"
	if ! tar --numeric-owner --xattrs --acls -C "$root" -cf "$tmp" . || ! sync -f "$tmp"; then
		rm -f "$tmp"
		return 1
	fi
	mv -f "$tmp" "$out"
	key "$name" >"$out.key.tmp.$$" && mv -f "$out.key.tmp.$$" "$out.key"
}

build_base() {
	local root="$workdir/base" uri
	need_tool debootstrap debootstrap
	uri="$(mirror)" || die "no apt source for $SUITE found in /etc/apt/sources.list{,.d/*} (set AGENTKEEPER_DEBIAN_MIRROR)"
	note "mirror for $SUITE (from this machine's apt config): $uri"
	step "debootstrap --variant=minbase" debootstrap --variant=minbase "$SUITE" "$root" "$uri"
	step "check apt sources in root" check_sources "$root" "$uri"
	step "pack base.tar" pack "$root" base
}

# check_sources ROOT URI: debootstrap writes `deb URI bookworm main` into the
# root's sources.list; write it when it did not, so apt-get works in the root.
check_sources() {
	local root="$1" uri="$2" list="$1/etc/apt/sources.list"
	if ! grep -qs "^deb .*[[:space:]]${SUITE}[[:space:]]" "$list"; then
		printf 'deb %s %s main\n' "$uri" "$SUITE" >"$list"
	fi
	cat "$list"
}

build_waagent() {
	local root="$workdir/waagent"
	mkdir -p "$root"
	step "unpack base.tar" unpack_into base "$root"
	install_waagent "$root"
	step "pack waagent.tar" pack "$root" waagent
}

# build_i386: a 32-bit Debian 12 with the real agent, bootstrapped on its own
# (debootstrap --arch=i386), for os.arch.
build_i386() {
	local root="$workdir/i386" uri
	need_tool debootstrap debootstrap
	uri="$(mirror)" || die "no apt source for $SUITE found in /etc/apt/sources.list{,.d/*} (set AGENTKEEPER_DEBIAN_MIRROR)"
	step "debootstrap --arch=i386 --variant=minbase" debootstrap --arch=i386 --variant=minbase "$SUITE" "$root" "$uri"
	step "check apt sources in root" check_sources "$root" "$uri"
	install_waagent "$root"
	step "pack i386.tar" pack "$root" i386
}

# install_waagent ROOT: install Debian's real waagent package into ROOT.
install_waagent() {
	local root="$1"
	# Keep services from starting inside the chroot; removed again below so the
	# image stays pristine.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	step "chroot apt-get update" inroot "$root" apt-get update
	step "chroot apt-get install waagent" inroot "$root" apt-get install -y --no-install-recommends waagent
	rm -f "$root/usr/sbin/policy-rc.d"
	step "chroot apt-get clean" inroot "$root" apt-get clean
	step "verify waagent in root" verify_waagent "$root"
}

verify_waagent() {
	local root="$1"
	# shellcheck disable=SC2016 # dpkg-query format, not shell
	inroot "$root" dpkg-query -W -f '${Package} ${Version} ${Status}\n' waagent
	# shellcheck disable=SC2016 # dpkg-query format, not shell
	inroot "$root" dpkg-query -W -f '${Status}' waagent | grep -q 'install ok installed' ||
		{ echo "waagent is not installed"; return 1; }
	[ -L "$root/$UNIT_LINK" ] || { echo "/$UNIT_LINK is missing: the unit was not enabled"; return 1; }
	ls -l "$root/$UNIT_LINK"
	[ -x "$root/usr/sbin/waagent" ] || { echo "/usr/sbin/waagent is missing"; return 1; }
}

# The packages of kernel.tar: Debian's kernel and its initramfs builder (whose
# postinst builds /boot/initrd.img-<ver>), the compressors the tests switch
# between, and dracut-core (dracut without the package that conflicts with
# initramfs-tools) so the same root can build a dracut image too.
# grub2-common and grub-pc-bin bring update-grub (grub-mkconfig) without
# grub-pc, whose postinst would want to install GRUB to a disk.
readonly KERNEL_PKGS=(linux-image-amd64 initramfs-tools zstd xz-utils dracut-core grub2-common grub-pc-bin)

build_kernel() {
	local root="$workdir/kernel"
	mkdir -p "$root"
	step "unpack waagent.tar" unpack_into waagent "$root"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	step "chroot apt-get update" inroot "$root" apt-get update
	step "chroot apt-get install kernel" inroot "$root" apt-get install -y --no-install-recommends "${KERNEL_PKGS[@]}"
	rm -f "$root/usr/sbin/policy-rc.d"
	# What grub-pc's postinst would do: Debian's /etc/default/grub, and the
	# directory update-grub writes grub.cfg into.
	cp "$root/usr/share/grub/default/grub" "$root/etc/default/grub"
	mkdir -p "$root/boot/grub"
	step "chroot apt-get clean" inroot "$root" apt-get clean
	step "verify kernel in root" verify_kernel "$root"
	step "pack kernel.tar" pack "$root" kernel
}

verify_kernel() {
	local root="$1" n
	n="$(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' | wc -l)"
	[ "$n" -ge 1 ] || { echo "no /boot/vmlinuz-* in the root"; return 1; }
	n="$(find "$root/boot" -maxdepth 1 -name 'initrd.img-*' | wc -l)"
	[ "$n" -ge 1 ] || { echo "no /boot/initrd.img-* in the root"; return 1; }
	ls -l "$root/boot"
}

# The network configuration tools of netcfg.tar; their services are kept from
# starting in the chroot.
readonly NETCFG_PKGS=(ifupdown netplan.io network-manager)

build_netcfg() {
	local root="$workdir/netcfg"
	mkdir -p "$root"
	step "unpack base.tar" unpack_into base "$root"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	step "chroot apt-get update" inroot "$root" apt-get update
	step "chroot apt-get install netcfg tools" inroot "$root" apt-get install -y --no-install-recommends "${NETCFG_PKGS[@]}"
	rm -f "$root/usr/sbin/policy-rc.d"
	step "chroot apt-get clean" inroot "$root" apt-get clean
	step "verify netcfg tools in root" inroot "$root" sh -c 'command -v netplan && command -v nmcli && command -v ifup'
	step "pack netcfg.tar" pack "$root" netcfg
}

# unpack_into NAME DEST: extract NAME's tarball into DEST.
unpack_into() {
	local name="$1" dest="$2"
	mkdir -p "$dest"
	tar --numeric-owner --xattrs --xattrs-include='*' --acls -p -C "$dest" -xf "$(tarball "$name")"
}

# take_lock: hold the cache's lock (fd 9) that serialises builds and unpacks.
take_lock() {
	mkdir -p "$cache"
	exec 9>"$cache/.lock"
	if ! flock -n 9; then
		note "waiting for another build (lock $cache/.lock)"
		flock -w 1800 9 || die "timed out waiting for $cache/.lock"
	fi
}

# remove_leftovers: delete what killed builds left behind. Only with the lock.
remove_leftovers() {
	local old
	for old in "$cache"/build.* "$cache"/*.tar.tmp.* "$cache"/*.key.tmp.*; do
		[ -e "$old" ] || continue
		if [ -d "$old" ]; then remove_tree "$old"; else rm -f "$old"; fi
	done
}

# mounts: one line per mount, "MOUNTPOINT FSTYPE SUPEROPTIONS", spelled as
# /proc/self/mountinfo spells them (a space is \040, see mi_escape).
mounts() {
	awk '{ for (i = 7; i <= NF && $i != "-"; i++) ; print $5, $(i + 1), $(i + 3) }' /proc/self/mountinfo
}

# mi_escape PATH: PATH as mountinfo spells it.
mi_escape() {
	local s="$1"
	s="${s//\\/\\134}"
	s="${s// /\\040}"
	s="${s//$'\t'/\\011}"
	s="${s//$'\n'/\\012}"
	printf '%s' "$s"
}

# in_use_as_lower DIR: some overlay mounted anywhere has DIR as its lower layer.
in_use_as_lower() {
	local want mp fs opts
	want="lowerdir=$(mi_escape "$1")"
	while read -r mp fs opts; do
		[ "$fs" = overlay ] || continue
		case ",$opts," in *",$want,"* | *",$want:"*) return 0 ;; esac
	done < <(mounts)
	return 1
}

# pristine NAME: print the directory of NAME's tarball unpacked once (see the
# top of this file), unpacking it first when it is not there yet. Older ones
# of NAME are deleted unless an overlay still uses them.
pristine() {
	local name="$1" t id dir old
	t="$(tarball "$name")"
	id="$(cat "$t.key")-$(stat -c '%Y-%s' "$t")" || die "cannot read $t and its key"
	dir="$cache/pristine/$name.$id"
	if [ -f "$dir.ok" ]; then
		printf '%s\n' "$dir"
		return 0
	fi
	take_lock
	if [ ! -f "$dir.ok" ]; then
		remove_leftovers
		workdir="$(mktemp -d "$cache/build.XXXXXX")"
		trap cleanup EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		local t0
		t0="$(now)"
		unpack_into "$name" "$workdir/root" || die "unpack $t into $workdir/root failed"
		mkdir -p "$cache/pristine"
		[ ! -e "$dir" ] || remove_tree "$dir"
		mv "$workdir/root" "$dir"
		sync -f "$dir"
		: >"$dir.ok"
		remove_tree "$workdir"
		workdir=""
		note "$(printf '%-34s %6s s' "unpacked pristine $name root once" "$(elapsed "$t0" "$(now)")") ($dir)"
		for old in "$cache/pristine/$name".*; do
			[ -d "$old" ] && [ "$old" != "$dir" ] || continue
			if in_use_as_lower "$old"; then
				note "keeping the old $old: an overlay still uses it"
				continue
			fi
			rm -f "$old.ok"
			remove_tree "$old"
		done
	fi
	exec 9>&-
	printf '%s\n' "$dir"
}

# starttime PID: the start time of process PID (field 22 of /proc/PID/stat),
# which tells it apart from a later process with the same PID.
starttime() {
	local s
	s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
	s="${s##*) }"
	# shellcheck disable=SC2086 # split the fields on purpose
	set -- $s
	printf '%s\n' "${20}"
}

# drop_stale_overlays: unmount and delete the overlays of owners that are gone.
drop_stale_overlays() {
	local o pid st
	for o in "$cache"/overlays/*-*; do
		[ -d "$o" ] || continue
		pid="${o##*/}"
		st="${pid#*-}"
		pid="${pid%%-*}"
		[ "$(starttime "$pid" 2>/dev/null)" = "$st" ] && continue
		unmount_overlays_of "$o"
		rm -rf --one-file-system "$o" 2>/dev/null || true
	done
}

# unmount_overlays_of DIR: lazily unmount every overlay whose upper layer is below DIR.
unmount_overlays_of() {
	local want mp fs opts
	want="upperdir=$(mi_escape "$1")/"
	while read -r mp fs opts; do
		[ "$fs" = overlay ] || continue
		case ",$opts" in *",$want"*) umount -l "$(printf '%b' "$mp")" 2>/dev/null || true ;; esac
	done < <(mounts)
}

# overlay NAME DEST: mount a fresh writable copy of NAME on DEST (created
# empty when missing), or unpack NAME into DEST when overlayfs will not mount.
overlay() {
	local name="$1" dest="$2" lower owner st mine m t0 err opts src
	t0="$(now)"
	ensure "$name"
	lower="$(pristine "$name")"
	mkdir -p "$cache/overlays"
	drop_stale_overlays
	owner="${MKROOT_OWNER:-$PPID}"
	st="$(starttime "$owner")" || die "MKROOT_OWNER=$owner: no such process"
	mkdir -p "$dest"
	[ -z "$(ls -A "$dest")" ] || die "$dest is not empty"
	mine="$cache/overlays/$owner-$st"
	mkdir -p "$mine"
	m="$(mktemp -d "$mine/XXXXXX")"
	mkdir "$m/upper" "$m/work"
	err=""
	case "$lower$m" in
	*[,:\\[:space:]]*) err="the cache path $cache holds a comma, colon, backslash or space" ;;
	esac
	if [ -z "$err" ] && [ -n "${AGENTKEEPER_NO_OVERLAY:-}" ]; then
		err="AGENTKEEPER_NO_OVERLAY is set"
	fi
	if [ -z "$err" ]; then
		# redirect_dir=on: renaming a directory of the lower layer works as on a
		# plain file system instead of failing with EXDEV.
		opts="lowerdir=$lower,upperdir=$m/upper,workdir=$m/work"
		# The source is the device of the file system holding the pristine
		# root, where an unpacked copy would sit: tools that ask which device
		# holds / (grub-probe in update-grub) get the answer they get there,
		# not "overlay", which they cannot resolve.
		src="$(findmnt -n -v -o SOURCE -T "$lower" 2>/dev/null)" || src=""
		case "$src" in /dev/*) ;; *) src=overlay ;; esac
		if err="$(mount -t overlay -o "redirect_dir=on,$opts" "$src" "$dest" 2>&1)" ||
			err="$(mount -t overlay -o "$opts" "$src" "$dest" 2>&1)"; then
			note "$(printf '%-34s %6s s' "overlay of $name on $dest" "$(elapsed "$t0" "$(now)")")"
			return 0
		fi
	fi
	rm -rf "$m"
	note "cannot mount an overlay on $dest (${err//$'\n'/ }): unpacking $name.tar instead"
	unpack_into "$name" "$dest"
	note "$(printf '%-34s %6s s' "unpacked $name.tar into $dest" "$(elapsed "$t0" "$(now)")")"
}

# drop DIR: unmount what is mounted at or below DIR, deepest first (lazily:
# a process still inside cannot keep it), delete the upper layers of the
# overlays among them, then DIR itself without crossing mounts.
drop() {
	local dir="$1" mp fs opts up
	local -a ups=() mps=()
	[ -e "$dir" ] || return 0
	dir="$(cd "$dir" && pwd -P)"
	local d e
	e="$(mi_escape "$dir")"
	while read -r mp fs opts; do
		case "$mp" in "$e" | "$e"/*) ;; *) continue ;; esac
		mps+=("$mp")
		[ "$fs" = overlay ] || continue
		up="${opts#*upperdir=}"
		[ "$up" != "$opts" ] || continue
		up="$(printf '%b' "${up%%,*}")"
		# Only what `overlay` made: $cache/overlays/OWNER/XXXXXX/upper.
		case "$up" in "$cache"/overlays/*/*/upper) ups+=("${up%/upper}") ;; esac
	done < <(mounts)
	if [ "${#mps[@]}" -gt 0 ]; then
		# Unmounting one may take others with it: errors count only when
		# something stays mounted.
		while read -r mp; do
			umount -l "$(printf '%b' "$mp")" 2>/dev/null || true
		done < <(printf '%s\n' "${mps[@]}" | sort -r)
		while read -r mp fs opts; do
			case "$mp" in "$e" | "$e"/*) die "cannot unmount $(printf '%b' "$mp"): still mounted" ;; esac
		done < <(mounts)
	fi
	rm -rf --one-file-system "$dir"
	for d in "${ups[@]}"; do
		rm -rf --one-file-system "$d"
	done
}

# ensure NAME: build NAME (and what it starts from) when missing or forced.
ensure() {
	local name="$1" t0
	[ "$force" -eq 0 ] && current "$name" && return 0
	need_root
	take_lock
	# Another run may have built it while we waited.
	if [ "$force" -eq 0 ] && current "$name"; then
		exec 9>&-
		return 0
	fi
	remove_leftovers
	workdir="$(mktemp -d "$cache/build.XXXXXX")"
	log="$cache/build-$name.log"
	: >"$log"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	note "building $name.tar in $cache (log: $log)"
	t0="$(now)"
	case "$name" in
	base) build_base ;;
	waagent)
		# waagent starts from base: build base first when it is missing.
		current base || build_base
		build_waagent
		;;
	kernel)
		current base || build_base
		current waagent || build_waagent
		build_kernel
		;;
	i386) build_i386 ;;
	netcfg)
		current base || build_base
		build_netcfg
		;;
	esac
	remove_tree "$workdir"
	workdir=""
	note "$(printf '%-34s %6s s (%s)' "built $name.tar" "$(elapsed "$t0" "$(now)")" \
		"$(du -h "$(tarball "$name")" | cut -f1)")"
	exec 9>&-
}

main() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--force) force=1 ;;
		-h | --help) usage ;;
		*) break ;;
		esac
		shift
	done
	local cmd="${1:-build}"
	[ $# -gt 0 ] && shift
	case "$cmd" in
	build)
		local what="${1:-all}" n
		case "$what" in
		all) for n in "${NAMES[@]}"; do ensure "$n"; done ;;
		base | waagent | kernel | i386 | netcfg) ensure "$what" ;;
		*) usage ;;
		esac
		;;
	unpack)
		[ $# -eq 2 ] || usage
		case "$1" in base | waagent | kernel | i386 | netcfg) ;; *) usage ;; esac
		need_root
		ensure "$1"
		local t0
		t0="$(now)"
		unpack_into "$1" "$2"
		note "$(printf '%-34s %6s s' "unpacked $1.tar into $2" "$(elapsed "$t0" "$(now)")")"
		;;
	overlay)
		[ $# -eq 2 ] || usage
		case "$1" in base | waagent | kernel | i386 | netcfg) ;; *) usage ;; esac
		need_root
		overlay "$1" "$2"
		;;
	drop)
		[ $# -eq 1 ] || usage
		need_root
		drop "$1"
		;;
	path)
		[ $# -eq 1 ] || usage
		tarball "$1"
		;;
	*) usage ;;
	esac
}

main "$@"
