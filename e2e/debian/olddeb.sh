#!/usr/bin/env bash
# olddeb.sh builds a small stand-in for an old Debian `waagent` package, so
# that `agentkeeper ensure` has something real to update from the registry.
#
#   olddeb.sh [-v VERSION] OUT.deb
#
# VERSION defaults to 2.2.45-1 (older than the minimum 2.2.53.1). The package
# holds /usr/sbin/waagent (a #!/usr/bin/python3 script that prints its
# version) and /lib/systemd/system/walinuxagent.service (WantedBy
# multi-user.target). It has no dependencies and no maintainer scripts: a
# minbase root has no python3, and the unit is left disabled. Needs only
# dpkg-deb; any user can run it.
set -euo pipefail

version=2.2.45-1

die() {
	printf 'olddeb: %s\n' "$*" >&2
	exit 1
}

usage() {
	sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	-v)
		[ $# -ge 2 ] || usage
		version="$2"
		shift 2
		;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || usage
out="$1"
case "$version" in
'' | *[!0-9A-Za-z.+~:-]*) die "not a Debian version: '$version'" ;;
esac
command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb is missing (Debian package dpkg)"

work="$(mktemp -d "${TMPDIR:-/tmp}/olddeb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
pkg="$work/pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/sbin" "$pkg/lib/systemd/system"

upstream="${version#*:}"
upstream="${upstream%-*}"

cat >"$pkg/DEBIAN/control" <<EOF
Package: waagent
Version: $version
Architecture: all
Maintainer: agentkeeper tests <tests@agentkeeper.invalid>
Section: admin
Priority: optional
Description: stand-in for an old Azure Linux agent (agentkeeper tests)
 Built by agentkeeper's e2e/debian/olddeb.sh so that ensure has an old
 waagent to update. Not the real agent.
EOF

cat >"$pkg/usr/sbin/waagent" <<EOF
#!/usr/bin/python3
print("WALinuxAgent-$upstream running on debian 12")
print("Goal state agent: $upstream")
EOF
chmod 0755 "$pkg/usr/sbin/waagent"

cat >"$pkg/lib/systemd/system/walinuxagent.service" <<'EOF'
[Unit]
Description=Azure Linux Agent (agentkeeper test stand-in)
After=network-online.target

[Service]
Type=simple
ExecStart=/usr/sbin/waagent -daemon

[Install]
WantedBy=multi-user.target
EOF
chmod 0644 "$pkg/lib/systemd/system/walinuxagent.service"

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group --build "$pkg" "$out" >&2
