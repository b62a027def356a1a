#!/usr/bin/env bash
# package-msi.sh builds agentkeeper.exe for windows/amd64 and packs it with wixl
# (packaging/msi/agentkeeper.wxs) into OUT_DIR/agentkeeper-<version>-amd64.msi.
#
#   scripts/package-msi.sh                       build the MSI, print its path and SHA-256
#   scripts/package-msi.sh msi-version [DESCRIBE] print the MSI ProductVersion derived from
#                                                DESCRIBE (default: this tree's git describe)
#
# The MSI installs %ProgramFiles%\agentkeeper\agentkeeper.exe and the Windows service
# "agentkeeper" (agentkeeper run, automatic, started at install, stopped and deleted at
# uninstall), and %ProgramData%\agentkeeper\config.yaml (packaging/config.yaml), kept on
# uninstall and never overwritten when present. A newer version replaces an older one
# (fixed UpgradeCode, MajorUpgrade); an older one refuses to install over a newer one.
#
# Environment (all optional):
#   VERSION      version put into the binary and the file name
#                (default: git describe --tags --always --dirty)
#   MSI_VERSION  the MSI ProductVersion a.b.c[.d] (default: derived from VERSION, below)
#   OUT_DIR      output directory (default dist; DIST is accepted too)
#   SOURCE_DATE_EPOCH  time stamped into the MSI and its cabinet (default: last commit)
#   GO           the go command (default go, /usr/local/go/bin added to PATH)
#
# ProductVersion. Windows Installer compares only the first three fields of a version
# and needs a, b <= 255 and c <= 65535; a fourth field is shown (Programs and
# Features) but never compared. From git describe:
#   v1.2.3                  -> 1.2.3
#   v1.2.3-4-gabc1234       -> 1.2.3.4   (commits since the tag, shown only)
#   v1.2.3-rc1[-4-gabc]     -> 1.2.3[.4] (the pre-release tag is dropped)
#   v1.2                    -> 1.2.0
#   abc1234 (no tag yet)    -> 0.0.N     N = number of commits (git rev-list --count HEAD)
#   -dirty                  is ignored
# Builds with the same a.b.c replace each other (the Upgrade table's maximum is
# inclusive, as WiX's AllowSameVersionUpgrades makes it), so a rebuild or a build
# between two tags installs over the tagged one; ProductCode and PackageCode are
# derived from the package's inputs (binary, config, template, versions).
#
# Reproducible: the binary is built with -trimpath, no build id, no VCS stamp, CGO off;
# the cabinet's file times are SOURCE_DATE_EPOCH; wixl 0.101 stamps the summary
# information with the current time and a random PackageCode, so wixl runs under
# faketime (frozen at SOURCE_DATE_EPOCH) and msibuild then sets the derived
# PackageCode. Two builds of the same tree give the same bytes.
#
# wixl 0.101 also ignores Component/@Permanent and @NeverOverwrite and
# MajorUpgrade/@AllowSameVersionUpgrades: msibuild sets those bits in the Component
# and Upgrade tables afterwards, and the script checks the result with msiinfo.
#
# Needs go, wixl, msibuild and msiinfo (Debian msitools) and faketime; installs the
# Debian packages wixl msitools faketime with apt-get when one is missing (as root,
# or with sudo -n).
set -euo pipefail

die() {
	printf 'package-msi: %s\n' "$*" >&2
	exit 1
}
note() { printf 'package-msi: %s\n' "$*" >&2; }

cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

# The UpgradeCode in agentkeeper.wxs; the GUIDs below are derived in its namespace.
readonly GUID_NAMESPACE=agentkeeper-msi

# guid NAME prints a GUID derived from NAME (SHA-1, RFC 4122 version 5 layout).
guid() {
	local h v
	h="$(printf '%s:%s' "$GUID_NAMESPACE" "$1" | sha1sum | cut -c 1-32)"
	h="${h^^}"
	v=$(((16#${h:16:1} & 3) | 8))
	printf '%s-%s-5%s-%X%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "$v" "${h:17:3}" "${h:20:12}"
}

# msi_version DESCRIBE [COMMITS] prints the ProductVersion for a git describe string
# (see the top of the file); COMMITS is used when DESCRIBE is a bare commit hash.
msi_version() {
	local d="${1%-dirty}" commits="${2:-}" a b c n=""
	if [[ "$d" =~ ^v?([0-9]+)\.([0-9]+)(\.([0-9]+))?(-[0-9A-Za-z.]+)?(-([0-9]+)-g[0-9a-f]+)?$ ]]; then
		a=$((10#${BASH_REMATCH[1]}))
		b=$((10#${BASH_REMATCH[2]}))
		c=$((10#${BASH_REMATCH[4]:-0}))
		[[ -z "${BASH_REMATCH[7]}" ]] || n=$((10#${BASH_REMATCH[7]}))
	elif [[ "$d" =~ ^[0-9a-f]{4,40}$ ]]; then
		[[ "$commits" =~ ^[0-9]+$ ]] || die "$1 has no tag: cannot count commits (set MSI_VERSION)"
		a=0 b=0 c=$((10#$commits))
	else
		die "cannot derive an MSI version from '$1' (want vA.B.C[-N-gHASH] or a bare hash): set MSI_VERSION"
	fi
	((a <= 255 && b <= 255)) || die "'$1': MSI needs the first two fields <= 255 (got $a.$b): set MSI_VERSION"
	((c <= 65535)) || die "'$1': MSI needs the third field <= 65535 (got $c): set MSI_VERSION"
	if [[ -n "$n" ]] && ((n <= 65535)); then
		printf '%d.%d.%d.%d\n' "$a" "$b" "$c" "$n"
	else
		printf '%d.%d.%d\n' "$a" "$b" "$c"
	fi
}

# check_msi_version V fails unless V is a valid ProductVersion.
check_msi_version() {
	[[ "$1" =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,5})(\.([0-9]{1,5}))?$ ]] ||
		die "MSI_VERSION=$1: want a.b.c or a.b.c.d"
	((10#${BASH_REMATCH[1]} <= 255 && 10#${BASH_REMATCH[2]} <= 255 && 10#${BASH_REMATCH[3]} <= 65535 &&
		10#${BASH_REMATCH[5]:-0} <= 65535)) ||
		die "MSI_VERSION=$1: want a, b <= 255 and c, d <= 65535"
}

git_describe() { git describe --tags --always --dirty 2>/dev/null || echo dev; }
git_commits() { git rev-list --count HEAD 2>/dev/null || true; }

if [[ "${1:-}" == msi-version ]]; then
	(($# <= 2)) || die "usage: package-msi.sh msi-version [DESCRIBE]"
	msi_version "${2:-$(git_describe)}" "$(git_commits)"
	exit 0
fi
(($# == 0)) || die "usage: package-msi.sh [msi-version [DESCRIBE]] (see the top of the file)"

# Tools: command -> Debian package.
declare -A need=([wixl]=wixl [msibuild]=msitools [msiinfo]=msitools [faketime]=faketime)
missing=()
for cmd in "${!need[@]}"; do
	command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
if ((${#missing[@]})); then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	sudo=()
	if [[ "$(id -u)" != 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}: run as root or apt-get install ${missing[*]}"
		sudo=(sudo -n)
	fi
	note "installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
fi
go=${GO:-go}
command -v "$go" >/dev/null 2>&1 || die "go not found"

version=${VERSION:-$(git_describe)}
[[ "$version" =~ ^[0-9A-Za-z][0-9A-Za-z.+~_-]*$ ]] || die "VERSION=$version: letters, digits and .+~_- only"
msiver=${MSI_VERSION:-$(msi_version "$version" "$(git_commits)")}
check_msi_version "$msiver"
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null) || die "no git history: set SOURCE_DATE_EPOCH"
fi
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH: want seconds"
export SOURCE_DATE_EPOCH
out_dir=${OUT_DIR:-${DIST:-dist}}
mkdir -p -- "$out_dir"
out="$out_dir/agentkeeper-$version-amd64.msi"

t0=$(date +%s.%N)
work=$(mktemp -d "${TMPDIR:-/tmp}/package-msi.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

CGO_ENABLED=0 GOOS=windows GOARCH=amd64 GOFLAGS=-buildvcs=false "$go" build -trimpath \
	-ldflags "-s -w -buildid= -X main.version=$version" -o "$work/agentkeeper.exe" ./cmd/agentkeeper ||
	die "go build for windows/amd64 failed"
cp -- packaging/config.yaml "$work/config.yaml"
cp -- packaging/msi/agentkeeper.wxs "$work/agentkeeper.wxs"
# gcab takes the cabinet's file times from the files.
touch -d "@$SOURCE_DATE_EPOCH" -- "$work/agentkeeper.exe" "$work/config.yaml"

inputs=$(cd -- "$work" && {
	printf 'version %s\nmsi %s\n' "$version" "$msiver"
	sha256sum agentkeeper.exe config.yaml agentkeeper.wxs
} | sha256sum | cut -c 1-64)
product_code=$(guid "ProductCode $inputs")
package_code=$(guid "PackageCode $inputs")

# faketime freezes the clock wixl writes into the summary information (TZ=UTC: its
# argument is read in the local zone).
stamp=$(date -u -d "@$SOURCE_DATE_EPOCH" '+%Y-%m-%d %H:%M:%S')
frozen=(env TZ=UTC faketime -f "$stamp")
wixl_log="$work/wixl.log"
(cd -- "$work" && "${frozen[@]}" wixl -a x64 \
	-D "Version=$msiver" -D "ProductCode=$product_code" -D "PackageCode=$package_code" \
	-o agentkeeper.msi agentkeeper.wxs) 2>"$wixl_log" || {
	cat -- "$wixl_log" >&2
	die "wixl failed"
}
# The only warnings expected are the attributes wixl does not know, set below.
if grep -v -e '^$' -e "has no property named 'Permanent'" -e "has no property named 'NeverOverwrite'" -- "$wixl_log" >&2; then
	die "wixl warned about something unexpected (above)"
fi

msi="$work/agentkeeper.msi"
# Component: 256 (64-bit) | 16 (Permanent) | 128 (NeverOverwrite) for the config.
# Upgrade: the row that finds older versions also finds the same a.b.c (512, maximum
# inclusive) besides migrating features (1). Attributes is part of the Upgrade table's
# primary key, which SQL cannot UPDATE: the row is replaced.
"${frozen[@]}" msibuild "$msi" -q "UPDATE \`Component\` SET \`Attributes\` = 400 WHERE \`Component\` = 'AgentkeeperConfig'" ||
	die "msibuild: setting the config component's attributes failed"
row=$(msiinfo export "$msi" Upgrade | tr -d '\r' | awk -F '\t' '$NF == "WIX_UPGRADE_DETECTED" && $2 == "" && $4 == "" && $5 == 1 && $6 == "" { print $1 "\t" $3 }')
[[ "$row" == *$'\t'"$msiver" ]] || die "wixl's Upgrade table has an unexpected shape: $(msiinfo export "$msi" Upgrade)"
upgrade_code=${row%%$'\t'*}
"${frozen[@]}" msibuild "$msi" -q "DELETE FROM \`Upgrade\` WHERE \`ActionProperty\` = 'WIX_UPGRADE_DETECTED'" ||
	die "msibuild: deleting wixl's Upgrade row failed"
"${frozen[@]}" msibuild "$msi" -q "INSERT INTO \`Upgrade\` (\`UpgradeCode\`, \`VersionMax\`, \`Attributes\`, \`ActionProperty\`) VALUES ('$upgrade_code', '$msiver', 513, 'WIX_UPGRADE_DETECTED')" ||
	die "msibuild: inserting the Upgrade row failed"
# %ProgramData%\agentkeeper: SYSTEM and Administrators only (platform/privdir.SDDL), applied by
# CreateFolders to the config component's folder.
readonly datadir_sddl='O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)'
"${frozen[@]}" msibuild "$msi" -q "CREATE TABLE \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\` CHAR(72) NOT NULL, \`LockObject\` CHAR(72) NOT NULL, \`Table\` CHAR(32) NOT NULL, \`SDDL\` LONGCHAR NOT NULL, \`Condition\` CHAR(255) PRIMARY KEY \`MsiLockPermissionsEx\`)" ||
	die "msibuild: creating the MsiLockPermissionsEx table failed"
"${frozen[@]}" msibuild "$msi" -q "INSERT INTO \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\`, \`LockObject\`, \`Table\`, \`SDDL\`) VALUES ('DataDirPrivate', 'DATADIR', 'CreateFolder', '$datadir_sddl')" ||
	die "msibuild: inserting the %ProgramData%\\agentkeeper ACL failed"
"${frozen[@]}" msibuild "$msi" -s "agentkeeper: keeps the Azure VM agent ready for Azure Backup" agentkeeper "x64;1033" "{$package_code}" ||
	die "msibuild: setting the PackageCode failed"

# What must be there, read back.
got=$(msiinfo export "$msi" Component | tr -d '\r' | awk -F '\t' '$1 == "AgentkeeperConfig" { print $4 }')
[[ "$got" == 400 ]] || die "config component attributes are '$got', want 400 (64-bit, Permanent, NeverOverwrite)"
got=$(msiinfo export "$msi" Upgrade | tr -d '\r' | awk -F '\t' '$NF == "WIX_UPGRADE_DETECTED" { print $5 }')
[[ "$got" == 513 ]] || die "Upgrade attributes are '$got', want 513"
got=$(msiinfo export "$msi" Property | tr -d '\r' | awk -F '\t' '$1 == "ProductVersion" { print $2 }')
[[ "$got" == "$msiver" ]] || die "ProductVersion is '$got', want $msiver"
msiinfo suminfo "$msi" | grep -qF "{$package_code}" || die "the PackageCode is not {$package_code}"
got=$(msiinfo export "$msi" CreateFolder | tr -d '\r' | awk -F '\t' '$1 == "DATADIR" { print $2 }')
[[ "$got" == AgentkeeperConfig ]] || die "no CreateFolder row for DATADIR (got '$got')"
got=$(msiinfo export "$msi" MsiLockPermissionsEx | tr -d '\r' | awk -F '\t' '$2 == "DATADIR" && $3 == "CreateFolder" { print $4 }')
[[ "$got" == "$datadir_sddl" ]] || die "the %ProgramData%\\agentkeeper ACL is '$got', want $datadir_sddl"
msiinfo export "$msi" InstallExecuteSequence | tr -d '\r' | grep -q '^CreateFolders'$'\t' ||
	die "CreateFolders is not in InstallExecuteSequence: the folder's ACL would not be applied"

mv -f -- "$msi" "$out"
note "$(printf 'agentkeeper %s, ProductVersion %s, ProductCode {%s}, SOURCE_DATE_EPOCH=%s, %s s' \
	"$version" "$msiver" "$product_code" "$SOURCE_DATE_EPOCH" \
	"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')")"
sha256sum -- "$out"
