#!/usr/bin/env bash
# prefix.sh: make and remove throwaway Wine prefixes that look like Windows Server 2019,
# for tests that run agentkeeper.exe itself under wine (e2e/winetest).
#
#   bash e2e/wine/prefix.sh create
#       unpack the cached pristine prefix (lib.sh wine_prefix_create: ProcessPrng shim in
#       system32), make its registry report Windows Server 2019 Datacenter (build 17763,
#       see server2019.reg) and print the prefix's path on stdout. Wine 8.0's own answer
#       is Windows 7 (build 7601), which agentkeeper rightly refuses (os.supported).
#       AK_PREFIX_BUILD, AK_PREFIX_PRODUCT override the build and the product name;
#       AK_PREFIX_INSTALLATION_TYPE (Server, Client; - deletes it), AK_PREFIX_EDITION (EditionID),
#       AK_PREFIX_PRODUCT_TYPE (ServerNT, WinNT), AK_PREFIX_CURRENT_VERSION (6.1, 6.3, ...),
#       AK_PREFIX_LEGACY=1 (no CurrentMajor/MinorVersionNumber, as before Windows 10) and
#       AK_PREFIX_ARCH (PROCESSOR_ARCHITECTURE: AMD64, x86) make other Windows releases.
#   bash e2e/wine/prefix.sh destroy DIR
#       stop DIR's wineserver (and so every process and service in it) and delete DIR.
#       Only prefixes made by create (agentkeeper-wine.* under TMPDIR or /tmp) are deleted.
#   bash e2e/wine/prefix.sh env
#       print the environment (NAME=value lines) to run wine with, as lib.sh sets it.
#   bash e2e/wine/prefix.sh registry
#       print the .reg file create imports (for AK_PREFIX_*), to import into a prefix again
#       with `wine regedit /S` and make it report another Windows release.
#
# Tools are installed by lib.sh ensure_tools when missing (as root or with sudo -n).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# prefix_registry writes the .reg file that makes the prefix report Windows Server 2019, and
# gives it what Server 2019 has and Wine lacks for the Windows checks of the backup path:
# .NET Framework 4.7.2 (windows.dotnet: Release 461814), the services VSS, COM+ System
# Application and MSDTC with their shipped start type, manual (windows.services reads Start),
# and WMI (winmgmt) started automatically by the service manager (Wine's is demand-start);
# and for the boot checks the DHCP client (Dhcp, automatic: network.dhcp) and the Hyper-V
# storage driver (storvsc, boot start: boot.storvsc), as an Azure image of Server 2019 has.
prefix_registry() {
	local build="${AK_PREFIX_BUILD:-17763}" product="${AK_PREFIX_PRODUCT:-Windows Server 2019 Datacenter}"
	local itype="${AK_PREFIX_INSTALLATION_TYPE:-Server}" edition="${AK_PREFIX_EDITION:-ServerDatacenter}"
	local ptype="${AK_PREFIX_PRODUCT_TYPE:-ServerNT}" cver="${AK_PREFIX_CURRENT_VERSION:-6.3}"
	local arch="${AK_PREFIX_ARCH:-AMD64}" v
	[[ "$build" =~ ^[0-9]{1,6}$ ]] || ak_die "AK_PREFIX_BUILD=$build: want a build number"
	for v in "$product" "$itype" "$edition" "$ptype" "$cver" "$arch"; do
		[[ "$v" != *[\"\\]* ]] || ak_die "AK_PREFIX_* values must not hold quotes or backslashes"
	done
	cat <<EOF2
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows NT\\CurrentVersion]
"ProductName"="$product"
"EditionID"="$edition"
$(if [[ "$itype" == - ]]; then printf '"InstallationType"=-'; else printf '"InstallationType"="%s"' "$itype"; fi)
"CurrentVersion"="$cver"
"CurrentBuild"="$build"
"CurrentBuildNumber"="$build"
"ReleaseId"="1809"
"CSDVersion"=-
$(if [[ "${AK_PREFIX_LEGACY:-0}" == 1 ]]; then
		printf '"CurrentMajorVersionNumber"=-\n"CurrentMinorVersionNumber"=-'
	else
		printf '"CurrentMajorVersionNumber"=dword:0000000a\n"CurrentMinorVersionNumber"=dword:00000000'
	fi)

[HKEY_LOCAL_MACHINE\\Software\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full]
"Install"=dword:00000001
"Release"=dword:00070bf6
"Version"="4.7.03190"

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\VSS]
"DisplayName"="Volume Shadow Copy"
"ImagePath"="C:\\\\windows\\\\system32\\\\vssvc.exe"
"ObjectName"="LocalSystem"
"Start"=dword:00000003
"Type"=dword:00000010
"ErrorControl"=dword:00000001

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\COMSysApp]
"DisplayName"="COM+ System Application"
"ImagePath"="C:\\\\windows\\\\system32\\\\dllhost.exe /Processid:{02D4B3F1-FD88-11D1-960D-00805FC79235}"
"ObjectName"="LocalSystem"
"Start"=dword:00000003
"Type"=dword:00000010
"ErrorControl"=dword:00000001

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\MSDTC]
"DisplayName"="Distributed Transaction Coordinator"
"ImagePath"="C:\\\\windows\\\\system32\\\\msdtc.exe"
"ObjectName"="NT AUTHORITY\\\\NetworkService"
"Start"=dword:00000003
"Type"=dword:00000010
"ErrorControl"=dword:00000001

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\winmgmt]
"Start"=dword:00000002

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\Dhcp]
"DisplayName"="DHCP Client"
"Start"=dword:00000002

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Services\\storvsc]
"Start"=dword:00000000
"Type"=dword:00000001

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control\\ProductOptions]
"ProductType"="$ptype"

[HKEY_LOCAL_MACHINE\\System\\CurrentControlSet\\Control\\Session Manager\\Environment]
"PROCESSOR_ARCHITECTURE"="$arch"
EOF2
}

prefix_create() {
	local t0 reg
	t0="$(ak_now)"
	ensure_tools >&2
	wine_prefix_create >&2
	reg="$WINEPREFIX/drive_c/agentkeeper-server.reg"
	prefix_registry >"$reg"
	# One wine process for all values; regedit /S is silent and exits non-zero on failure.
	wine regedit /S 'C:\agentkeeper-server.reg' >/dev/null 2>&1 ||
		ak_die "regedit could not import $reg into $WINEPREFIX"
	rm -f -- "$reg"
	# The service manager read its services before the import: start WMI now (later wine
	# sessions start it themselves, Start=2).
	wine sc start winmgmt >/dev/null 2>&1 || ak_die "could not start winmgmt in $WINEPREFIX"
	# The wineserver keeps running for a few seconds and holds the registry: the next wine
	# process in this prefix reuses it (faster) and sees the new values; it writes them to
	# disk when it exits.
	ak_log "prefix $WINEPREFIX (Windows Server, build ${AK_PREFIX_BUILD:-17763}) ready in $(ak_since "$t0")"
	printf '%s\n' "$WINEPREFIX"
}

prefix_destroy() {
	local dir="$1"
	case "$dir" in
	*/agentkeeper-wine.*) ;;
	*) ak_die "refusing to delete $dir: not a prefix made by prefix.sh create" ;;
	esac
	[[ -d "$dir" ]] || return 0
	[[ -d "$dir/drive_c" ]] || ak_die "refusing to delete $dir: no drive_c, not a Wine prefix"
	WINEPREFIX="$dir" wineserver -k >/dev/null 2>&1 || true
	WINEPREFIX="$dir" wineserver -w >/dev/null 2>&1 || true
	rm -rf -- "$dir"
}

case "${1:-}" in
create)
	(($# == 1)) || ak_die "usage: prefix.sh create"
	prefix_create
	;;
destroy)
	(($# == 2)) || ak_die "usage: prefix.sh destroy DIR"
	prefix_destroy "$2"
	;;
registry)
	(($# == 1)) || ak_die "usage: prefix.sh registry"
	prefix_registry
	;;
env)
	printf 'WINEDEBUG=%s\nDISPLAY=%s\nWINEDLLOVERRIDES=%s\n' "$WINEDEBUG" "$DISPLAY" "$WINEDLLOVERRIDES"
	;;
*)
	ak_die "usage: prefix.sh create | destroy DIR | env | registry (see the top of the file)"
	;;
esac
