#!/usr/bin/env bash
# package-test.sh tests the .deb end to end in a fresh Debian 12 root:
#
#   1. builds two packages for this machine's architecture with
#      scripts/package.sh (versions 0.0.1 and 0.0.2) into a work directory;
#   2. installs 0.0.1 into a fresh root (e2e/debian/mkroot.sh overlay base)
#      with `chroot ROOT dpkg -i`: the binary, the config, the unit and its
#      multi-user.target.wants link are there, and `agentkeeper check --json`
#      inside the root prints a report (exit 0 or 1: the root has no agent);
#      the man pages, the bash/zsh/fish completions and the README are there,
#      bash's completion loads and `agentkeeper __complete` answers;
#   3. edits /etc/agentkeeper/config.yaml and upgrades to 0.0.2: the edit
#      is kept and the new binary reads it;
#   4. removes the package: binary, unit and link are gone, the edited config
#      stays (a conffile); purges it: the config is gone too.
#
# It also checks the .rpm's metadata, file list (config marked noreplace)
# and scripts with rpm -qp. Needs root, dpkg, rpm, tar and Go. Anything missing or wrong FAILS (exit 1); it
# never skips. Prints how long each step took.
# shellcheck disable=SC2016,SC2015 # dpkg-query formats are literal; A && B || C with a plain test as B
set -euo pipefail

roots_name=package-test
# shellcheck source=SCRIPTDIR/lib-roots.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-roots.sh"

roots_start "unpacking a root, chroot" dpkg dpkg-deb rpm tar chroot
roots_work
root="$work/root"
step_width=44

inroot() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive chroot "$root" "$@"
}

build() { # build VERSION DIR
	ARCHES="$arch" DIST="$2" PKG_VERSION="$1" VERSION="v$1-test" bash scripts/package.sh >/dev/null 2>"$work/build-$1.log" ||
		{ tail -20 "$work/build-$1.log" >&2; return 1; }
	ls "$2"/agentkeeper_"$1"-1_"$arch".deb >/dev/null
}

dpkg_i() { # dpkg_i DEB
	cp "$1" "$root/tmp/agentkeeper.deb"
	inroot dpkg -i /tmp/agentkeeper.deb
	rm -f "$root/tmp/agentkeeper.deb"
}

unit=/lib/systemd/system/agentkeeper.service
link=/etc/systemd/system/multi-user.target.wants/agentkeeper.service
conf=/etc/agentkeeper/config.yaml

check_installed() { # check_installed VERSION
	[ "$(inroot dpkg-query -W -f '${Status} ${Version}' agentkeeper)" = "install ok installed $1-1" ] ||
		{ echo "dpkg-query: $(inroot dpkg-query -W -f '${Status} ${Version}' agentkeeper)"; return 1; }
	[ -x "$root/usr/bin/agentkeeper" ] || { echo "/usr/bin/agentkeeper missing"; return 1; }
	[ -f "$root$unit" ] || { echo "$unit missing"; return 1; }
	grep -qx 'ExecStart=/usr/bin/agentkeeper run' "$root$unit" || { echo "$unit: no ExecStart"; return 1; }
	[ -L "$root$link" ] && [ "$(readlink "$root$link")" = "$unit" ] || { echo "$link missing or wrong"; return 1; }
	[ -f "$root$conf" ] || { echo "$conf missing"; return 1; }
	inroot dpkg-query -W -f '${Conffiles}\n' agentkeeper | grep -q " $conf " || { echo "$conf is not a conffile"; return 1; }
	check_docs || return 1
	local v
	v=$(inroot agentkeeper version) || return 1
	[ "$v" = "agentkeeper v$1-test" ] || { echo "version: $v"; return 1; }
}

man1=/usr/share/man/man1
bashcomp=/usr/share/bash-completion/completions/agentkeeper
zshcomp=/usr/share/zsh/vendor-completions/_agentkeeper
fishcomp=/usr/share/fish/vendor_completions.d/agentkeeper.fish
readme=/usr/share/doc/agentkeeper/README.md

# check_docs: the man pages (agentkeeper(1) and one per command), the bash, zsh
# and fish completions and the README are installed; bash's completion loads
# and agentkeeper completes a command name through it.
check_docs() {
	local f c
	for f in "$man1/agentkeeper.1.gz" "$bashcomp" "$zshcomp" "$fishcomp" "$readme"; do
		[ -s "$root$f" ] || { echo "$f missing or empty"; return 1; }
	done
	gzip -dc "$root$man1/agentkeeper.1.gz" | grep -q '^\.TH "AGENTKEEPER" "1"' || { echo "agentkeeper.1 is not a man page"; return 1; }
	for c in check ensure run service summarize version; do
		gzip -dc "$root$man1/agentkeeper-$c.1.gz" | grep -q "agentkeeper $c" || { echo "no man page for agentkeeper $c"; return 1; }
	done
	grep -q '^## Exit codes' "$root$readme" || { echo "$readme is not the README"; return 1; }
	inroot bash -c "source $bashcomp && declare -F __start_agentkeeper" >/dev/null || { echo "bash completion does not load"; return 1; }
	grep -q '^#compdef agentkeeper' "$root$zshcomp" || { echo "$zshcomp: no #compdef"; return 1; }
	grep -q 'complete -c agentkeeper' "$root$fishcomp" || { echo "$fishcomp: no complete -c"; return 1; }
	# What every completion script asks the binary: `agentkeeper __complete WORD`.
	# Capture first: grep -q would exit at the first match, and with pipefail
	# the writer's SIGPIPE would fail the pipeline now and then.
	local offered
	offered=$(inroot agentkeeper __complete su 2>/dev/null)
	grep -x $'summarize\t.*' <<<"$offered" >/dev/null ||
		{ printf '%s\n' "$offered"; echo "agentkeeper __complete su does not offer summarize"; return 1; }
}

check_runs() { # check_runs: check --json inside the root prints a readable report
	local rc=0
	inroot agentkeeper check --json --offline >"$root/tmp/report.json" 2>"$work/check.err" || rc=$?
	case "$rc" in 0 | 1) ;; *)
		cat "$work/check.err" >&2
		echo "check exit $rc"
		return 1
		;;
	esac
	# The package's own summarize reads it back: one report, none unreadable.
	inroot agentkeeper summarize --json /tmp/report.json >"$work/summary.json" || true
	grep -q '"total": 1,' "$work/summary.json" && grep -q '"unreadable": 0,' "$work/summary.json" ||
		{ cat "$root/tmp/report.json" "$work/summary.json"; return 1; }
}

rpm_arch() { case "$arch" in amd64) echo x86_64 ;; arm64) echo aarch64 ;; *) echo "$arch" ;; esac; }

check_rpm() { # check_rpm RPM VERSION: metadata, file list with flags, scripts
	local f="$1" got s p
	got=$(rpm -qp --nosignature --qf '%{NAME} %{VERSION}-%{RELEASE}\n' "$f") || return 1
	[ "$got" = "agentkeeper $2-1" ] || { echo "rpm metadata: $got"; return 1; }
	got=$(rpm -qp --nosignature --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$f") || return 1
	grep -qx '/usr/bin/agentkeeper ' <<<"$got" || { echo "rpm files: $got"; return 1; }
	grep -qx '/usr/lib/systemd/system/agentkeeper.service ' <<<"$got" || { echo "rpm files: $got"; return 1; }
	grep -qx "$conf cn" <<<"$got" || { echo "rpm: $conf is not %config(noreplace): $got"; return 1; }
	for p in "$man1/agentkeeper.1.gz" "$man1/agentkeeper-ensure.1.gz" "$bashcomp" /usr/share/zsh/site-functions/_agentkeeper "$fishcomp"; do
		grep -qx "$p " <<<"$got" || { echo "rpm: $p missing: $got"; return 1; }
	done
	grep -qx "$readme d" <<<"$got" || { echo "rpm: $readme is not %doc: $got"; return 1; }
	got=$(rpm -qp --nosignature --scripts "$f") || return 1
	for s in postinstall preuninstall postuninstall; do
		grep -q "^$s scriptlet" <<<"$got" || { echo "rpm: no $s scriptlet"; return 1; }
	done
}

edit_config() {
	printf '\n# edited by package-test\noffline: true\nlog:\n  level: debug\n' >>"$root$conf"
}

check_edit_kept() {
	grep -qx '# edited by package-test' "$root$conf" || { echo "the edit to $conf was lost"; return 1; }
	[ ! -e "$root$conf.dpkg-new" ] && [ ! -e "$root$conf.dpkg-old" ] || { echo "dpkg left .dpkg-new/.dpkg-old"; return 1; }
	# The new binary reads it: log.level debug names the file on stderr.
	inroot agentkeeper check --offline >/dev/null 2>"$work/check.err" || true
	grep -q "config read.*$conf" "$work/check.err" || { cat "$work/check.err"; echo "config not read"; return 1; }
}

check_removed() {
	[ "$(inroot dpkg-query -W -f '${Status}' agentkeeper)" = "deinstall ok config-files" ] || return 1
	[ ! -e "$root/usr/bin/agentkeeper" ] || { echo "binary left behind"; return 1; }
	[ ! -e "$root$unit" ] || { echo "unit left behind"; return 1; }
	[ ! -e "$root$link" ] && [ ! -L "$root$link" ] || { echo "wants link left behind"; return 1; }
	grep -qx '# edited by package-test' "$root$conf" || { echo "remove did not keep the edited config"; return 1; }
}

check_purged() {
	! inroot dpkg-query -W agentkeeper >/dev/null 2>&1 || { echo "still known to dpkg"; return 1; }
	[ ! -e "$root$conf" ] && [ ! -e "$root/etc/agentkeeper" ] || { echo "config left behind after purge"; return 1; }
	[ -z "$(find "$root/etc/systemd" "$root/lib/systemd" -name 'agentkeeper*' 2>/dev/null)" ] || { echo "unit files left behind"; return 1; }
}

step "build 0.0.1 and 0.0.2 ($arch)" eval 'build 0.0.1 "$work/old" && build 0.0.2 "$work/new"'
step "rpm -qp: metadata, files, docs, config, scripts" check_rpm "$work/new/agentkeeper-0.0.2-1.$(rpm_arch).rpm" 0.0.2
step "fresh Debian 12 root" fresh_root base "$root"
step "dpkg -i 0.0.1" dpkg_i "$work/old/agentkeeper_0.0.1-1_$arch.deb"
step "installed: binary, conffile, unit, link, docs" check_installed 0.0.1
step "chroot agentkeeper check --json" check_runs
step "edit $conf" edit_config
step "upgrade: dpkg -i 0.0.2" dpkg_i "$work/new/agentkeeper_0.0.2-1_$arch.deb"
step "upgraded: 0.0.2 installed" check_installed 0.0.2
step "upgraded: edited config kept and read" check_edit_kept
step "dpkg -r" inroot dpkg -r agentkeeper
step "removed: no binary, unit or link; config kept" check_removed
step "dpkg --purge" inroot dpkg --purge agentkeeper
step "purged: no config, no unit" check_purged
roots_passed
