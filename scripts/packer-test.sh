#!/usr/bin/env bash
# packer-test.sh tests packaging/packer/provision-linux.sh for real, the way an
# image build runs it, inside fresh Debian 12 roots (chroot):
#
#   1. ready:    the .deb and the script copied in, `chroot ROOT bash
#                /tmp/provision-linux.sh /tmp/agentkeeper.deb` → exit 0, agentkeeper
#                and waagent installed, walinuxagent.service enabled, the report
#                says ready, the package file removed; run again → exit 0;
#   2. deferred: the SafeFreeze lock held by a process on this machine (a POSIX
#                lock, as Azure Backup takes it), AGENTKEEPER_RETRIES=1 → two
#                attempts, exit 1 ("still deferred"), waagent not installed;
#   3. failed:   AGENTKEEPER_CONFIG asking for agent 99.0 → exit 1 with ensure's message;
#   4. `packer validate` of linux.pkr.hcl and windows.pkr.hcl when packer is
#      installed (it is not a Debian package: this script does not install it),
#      and a PowerShell parse of provision-windows.ps1 when pwsh is installed;
#      otherwise it says that they were not run.
#
# Needs root, dpkg, tar, Go (scripts/package.sh) and python3 (the lock holder).
# Anything missing or wrong FAILS (exit 1). Prints how long each step took.
# shellcheck disable=SC2016,SC2015 # eval strings and dpkg-query formats are literal; A && B || C with plain tests
set -euo pipefail

roots_name=packer-test
# shellcheck source=SCRIPTDIR/lib-roots.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib-roots.sh"

roots_start "unpacking a root, chroot" dpkg tar chroot
roots_python
roots_work

build() {
	ARCHES="$arch" DIST="$work/dist" bash scripts/package.sh >/dev/null 2>"$work/build.log" ||
		{ tail -20 "$work/build.log"; return 1; }
	ls "$work"/dist/agentkeeper_*_"$arch".deb
}

inroot() { # inroot ROOT CMD...
	local root="$1"
	shift
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "${extra_env[@]}" chroot "$root" "$@"
}
extra_env=()

# provision NAME ROOT WANT_RC: copy the .deb and the script into ROOT and run it
# as an image build would; output in $work/NAME.out (stdout) and NAME.err.
provision() {
	local name="$1" root="$2" want="$3" rc=0
	cp "$deb" "$root/tmp/agentkeeper.deb"
	cp packaging/packer/provision-linux.sh "$root/tmp/provision-linux.sh"
	inroot "$root" bash /tmp/provision-linux.sh /tmp/agentkeeper.deb >"$work/$name.out" 2>"$work/$name.err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		tail -30 "$work/$name.err"
		echo "provision-linux.sh exited $rc, want $want"
		return 1
	fi
	tail -1 "$work/$name.err"
}

outcome() { report_outcome "$1" "$2"; } # outcome FILE WANT

said() { # said FILE REGEX
	grep -Eq -- "$2" "$1" || { tail -20 "$1"; echo "$1: no line matches /$2/"; return 1; }
}

installed() { # installed ROOT PACKAGE yes|no
	local st
	st=$(inroot "$1" dpkg-query -W -f '${Status}' "$2" 2>/dev/null || true)
	if [ "$3" = yes ]; then
		[ "$st" = "install ok installed" ] || { echo "$2: '$st'"; return 1; }
	else
		[ "$st" != "install ok installed" ] || { echo "$2 is installed"; return 1; }
	fi
}

packer_validate() {
	if ! command -v packer >/dev/null 2>&1; then
		note "packer is not installed (not a Debian package; not installed by this script): packer validate NOT run"
		return 0
	fi
	local f
	for f in linux windows; do
		packer validate -syntax-only "packaging/packer/$f.pkr.hcl" || return 1
	done
}

pwsh_parse() {
	if ! command -v pwsh >/dev/null 2>&1; then
		note "pwsh is not installed: provision-windows.ps1 NOT parsed"
		return 0
	fi
	pwsh -NoProfile -NonInteractive -Command '$e = $null; [void][System.Management.Automation.Language.Parser]::ParseFile($args[0], [ref]$null, [ref]$e); if ($e) { $e | Out-String | Write-Error; exit 1 }' \
		packaging/packer/provision-windows.ps1
}

step "bash -n provision-linux.sh" bash -n packaging/packer/provision-linux.sh
step "build the .deb ($arch) with scripts/package.sh" build
deb=$(ls "$work"/dist/agentkeeper_*_"$arch".deb)
step "two fresh Debian 12 roots" eval 'fresh_root base "$work/r1" && fresh_root base "$work/r2"'

# 1. ready
step "1 provision-linux.sh in the root: exit 0" provision ready "$work/r1" 0
step "1 agentkeeper and waagent installed" eval 'installed "$work/r1" agentkeeper yes && installed "$work/r1" waagent yes'
step "1 walinuxagent.service enabled in the root" test -L "$work/r1/etc/systemd/system/multi-user.target.wants/walinuxagent.service"
step "1 the report (stdout) says ready" outcome "$work/ready.out" ready
step "1 the package file was removed" test ! -e "$work/r1/tmp/agentkeeper.deb"
step "1 again (agent present): exit 0" provision again "$work/r1" 0
step "1 again: nothing to do" eval 'outcome "$work/again.out" ready && said "$work/again.out" "\"action\": \"none\""'

# 2. deferred: a backup holds the SafeFreeze lock all the time.
step "2 hold the SafeFreeze lock (POSIX, host python3)" hold_lock "$work/r2"
extra_env=(AGENTKEEPER_RETRIES=1 AGENTKEEPER_RETRY_DELAY=1)
step "2 provision-linux.sh, retries=1: exit 1" provision deferred "$work/r2" 1
step "2 two attempts, then 'still deferred'" eval 'said "$work/deferred.err" "attempt 2 of 2" && said "$work/deferred.err" "FAIL: still deferred after 2 attempts"'
step "2 the report says deferred" outcome "$work/deferred.out" deferred
step "2 waagent not installed during the backup" installed "$work/r2" waagent no
release_lock

# 3. failed: a minimum the repositories cannot meet.
printf 'linux:\n  min_version: "99.0"\n' >"$work/r2/tmp/config-99.yaml"
extra_env=(AGENTKEEPER_CONFIG=/tmp/config-99.yaml)
step "3 min_version 99.0: exit 1" provision failed "$work/r2" 1
step "3 ensure's message in the failure" said "$work/failed.err" 'FAIL: agentkeeper ensure exited 1: .*99\.0 is required'
extra_env=()

step "4 packer validate (when packer is installed)" packer_validate
step "4 PowerShell parse of provision-windows.ps1 (when pwsh is installed)" pwsh_parse
roots_passed
