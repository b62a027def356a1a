#!/usr/bin/env bash
# provision-linux.sh makes a Linux image ready for Azure Backup during an image
# build (Packer's shell provisioner, a chroot build, a Dockerfile RUN ...):
#
#   provision-linux.sh /tmp/agentkeeper.deb      (or .rpm; or AGENTKEEPER_PACKAGE=...)
#
#   1. waits for cloud-init to finish when it runs (it holds the package manager
#      on a freshly booted Azure VM);
#   2. installs the agentkeeper package: .deb with apt-get (waits for the dpkg
#      lock), .rpm with dnf, yum, zypper or rpm;
#   3. copies AGENTKEEPER_CONFIG, when set, to /etc/agentkeeper/config.yaml;
#   4. runs `agentkeeper ensure --json --wait-backup 0`: installs or updates the
#      Azure VM agent and enables its unit. Exit 75 (deferred: a backup runs, the
#      package manager or agentkeeper's lock is busy) is retried AGENTKEEPER_RETRIES
#      times, AGENTKEEPER_RETRY_DELAY seconds apart; 0 is success; anything else,
#      or still 75 after the retries, fails the build (exit 1) with ensure's message.
#      The JSON report goes to stdout at the end (the build log keeps it);
#   5. removes the package file it was given.
#
# Environment (all optional):
#   AGENTKEEPER_PACKAGE      the package, when not given as the argument
#   AGENTKEEPER_CONFIG       a config.yaml to install (default: keep the packaged one)
#   AGENTKEEPER_RETRIES      retries of a deferred ensure (default 5)
#   AGENTKEEPER_RETRY_DELAY  seconds between them (default 30)
#   AGENTKEEPER_KEEP_PACKAGE 1: do not delete the package file
#
# Needs root and bash; nothing else beyond the distribution's package manager.
set -euo pipefail

die() {
	printf 'provision-linux: FAIL: %s\n' "$*" >&2
	exit 1
}
note() {
	printf 'provision-linux: %s\n' "$*" >&2
}

pkg=${1:-${AGENTKEEPER_PACKAGE:-}}
retries=${AGENTKEEPER_RETRIES:-5}
delay=${AGENTKEEPER_RETRY_DELAY:-30}
config=${AGENTKEEPER_CONFIG:-}
[ -n "$pkg" ] || die "usage: provision-linux.sh PACKAGE.deb|PACKAGE.rpm (or set AGENTKEEPER_PACKAGE)"
[ -f "$pkg" ] || die "$pkg: no such file"
[[ "$retries" =~ ^[0-9]+$ ]] || die "AGENTKEEPER_RETRIES=$retries is not a number"
[[ "$delay" =~ ^[0-9]+$ ]] || die "AGENTKEEPER_RETRY_DELAY=$delay is not a number"
[ "$(id -u)" -eq 0 ] || die "must run as root (sudo)"
case "$pkg" in /*) ;; *) pkg="$(pwd)/$pkg" ;; esac # apt-get takes a local file only as a path
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

if command -v cloud-init >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	note "waiting for cloud-init to finish"
	cloud-init status --wait >/dev/null 2>&1 || note "cloud-init status --wait: exit $? (going on)"
fi

note "installing $pkg"
case "$pkg" in
*.deb)
	command -v apt-get >/dev/null 2>&1 || die "a .deb needs apt-get: this is not a Debian-family system"
	apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$pkg" >&2 ||
		die "apt-get install $pkg failed"
	;;
*.rpm)
	if command -v dnf >/dev/null 2>&1; then
		dnf install -y --nogpgcheck "$pkg" >&2 || die "dnf install $pkg failed"
	elif command -v yum >/dev/null 2>&1; then
		yum install -y --nogpgcheck "$pkg" >&2 || die "yum install $pkg failed"
	elif command -v zypper >/dev/null 2>&1; then
		zypper --non-interactive install --allow-unsigned-rpm "$pkg" >&2 || die "zypper install $pkg failed"
	elif command -v rpm >/dev/null 2>&1; then
		rpm -U --replacepkgs "$pkg" >&2 || die "rpm -U $pkg failed"
	else
		die "an .rpm needs dnf, yum, zypper or rpm"
	fi
	;;
*) die "$pkg: neither .deb nor .rpm" ;;
esac
command -v agentkeeper >/dev/null 2>&1 || die "the package is installed but agentkeeper is not on PATH"
note "$(agentkeeper version)"

if [ -n "$config" ]; then
	[ -f "$config" ] || die "AGENTKEEPER_CONFIG=$config: no such file"
	install -m 0644 -D "$config" /etc/agentkeeper/config.yaml || die "cannot install $config"
	note "configuration: $config → /etc/agentkeeper/config.yaml"
fi

report=$(mktemp "${TMPDIR:-/tmp}/agentkeeper-ensure.XXXXXX.json")
trap 'rm -f "$report"' EXIT
attempt=0
while :; do
	attempt=$((attempt + 1))
	note "agentkeeper ensure (attempt $attempt of $((retries + 1)))"
	rc=0
	agentkeeper ensure --json --wait-backup 0 >"$report" || rc=$?
	if [ "$rc" -ne 75 ] || [ "$attempt" -gt "$retries" ]; then
		break
	fi
	note "deferred (exit 75): $(sed -n 's/^  "message": "\(.*\)",$/\1/p' "$report" | head -1); again in ${delay}s"
	sleep "$delay"
done
cat "$report"
message=$(sed -n 's/^  "message": "\(.*\)",$/\1/p' "$report" | head -1)
case "$rc" in
0) note "ready: ${message:-ensure exited 0}" ;;
75) die "still deferred after $attempt attempts: ${message:-ensure exited 75}" ;;
*) die "agentkeeper ensure exited $rc: ${message:-see above}" ;;
esac

if [ "${AGENTKEEPER_KEEP_PACKAGE:-0}" != 1 ]; then
	rm -f "$pkg"
fi
