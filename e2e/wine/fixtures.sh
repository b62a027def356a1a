#!/usr/bin/env bash
# fixtures.sh: build Windows fixtures shaped like the Azure VM agent, for tests.
#
# Source it for the functions, or run it:
#   bash e2e/wine/fixtures.sh exe VERSION OUT.exe [PRODUCT_VERSION]
#       WaAppAgent.exe stand-in whose FILEVERSION is VERSION and PRODUCTVERSION is
#       PRODUCT_VERSION (default VERSION); a.b.c.d, each field 0..65535.
#   bash e2e/wine/fixtures.sh msi VERSION OUT.msi [AGENT.exe]
#       MSI "Windows Azure VM Agent" (Microsoft Corporation) VERSION that installs AGENT.exe
#       (default: a fixture built for VERSION) as C:\WindowsAzure\Packages\WaAppAgent.exe.
#       Its ProductCode is derived from VERSION; the UpgradeCode is fixed, so a newer MSI
#       replaces an older one. Windows Installer ignores the fourth version field and needs
#       a.b.c with a, b <= 255: versions that differ only in the fourth field do not upgrade.
#       With AK_FIXTURE_SERVICES=1 the MSI also installs and starts the services RdAgent and
#       WindowsAzureGuestAgent (automatic; WaAppAgent.exe in its "service" mode), and stops
#       and deletes them on uninstall. Services keep the prefix's wineserver alive: do not
#       `wineserver -w` after installing such an MSI (fixture_msiexec does).
#   bash e2e/wine/fixtures.sh guid NAME
#       the deterministic GUID (name-based, SHA-1) used for NAME.
#   bash e2e/wine/fixtures.sh selftest
#       install an MSI in a throwaway Wine prefix, upgrade it with a newer one, check both.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# fixture_check_version VERSION [MAX_FIRST_TWO] fails unless VERSION is a.b.c.d with every
# field <= 65535 and the first two <= MAX_FIRST_TWO (default 65535).
fixture_check_version() {
	local v="$1" max="${2:-65535}" i
	[[ "$v" =~ ^([0-9]{1,5})\.([0-9]{1,5})\.([0-9]{1,5})\.([0-9]{1,5})$ ]] ||
		ak_die "version $v: want a.b.c.d"
	for i in 1 2 3 4; do
		((10#${BASH_REMATCH[i]} <= 65535)) || ak_die "version $v: field $i is over 65535"
	done
	((10#${BASH_REMATCH[1]} <= max && 10#${BASH_REMATCH[2]} <= max)) ||
		ak_die "version $v: the first two fields must be <= $max here"
}

# fixture_guid NAME prints a GUID derived from NAME (SHA-1, RFC 4122 version 5 layout), so
# the same NAME always gives the same GUID.
fixture_guid() {
	local h
	h="$(printf 'agentkeeper-fixture:%s' "$1" | sha1sum | cut -c 1-32)"
	h="${h^^}"
	local v=$(((16#${h:16:1} & 3) | 8))
	printf '%s-%s-5%s-%X%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "$v" "${h:17:3}" "${h:20:12}"
}

# fixture_agent_exe VERSION OUT [PRODUCT_VERSION] builds the WaAppAgent.exe stand-in.
fixture_agent_exe() (
	# A subshell, so that the EXIT trap removes the temporary folder.
	local fv="$1" out="$2" pv="${3:-$1}"
	fixture_check_version "$fv"
	fixture_check_version "$pv"
	local tmp
	tmp="$(mktemp -d)"
	trap 'rm -rf -- "$tmp"' EXIT
	cat >"$tmp/ver.rc" <<EOF
#include <winver.h>
VS_VERSION_INFO VERSIONINFO
FILEVERSION ${fv//./,}
PRODUCTVERSION ${pv//./,}
FILEFLAGSMASK VS_FFI_FILEFLAGSMASK
FILEFLAGS 0
FILEOS VOS_NT_WINDOWS32
FILETYPE VFT_APP
FILESUBTYPE VFT2_UNKNOWN
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904b0"
    BEGIN
      VALUE "CompanyName", "Microsoft Corporation"
      VALUE "FileDescription", "Windows Azure VM Agent (agentkeeper test fixture)"
      VALUE "FileVersion", "$fv"
      VALUE "InternalName", "WaAppAgent"
      VALUE "OriginalFilename", "WaAppAgent.exe"
      VALUE "ProductName", "Windows Azure VM Agent"
      VALUE "ProductVersion", "$pv"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
EOF
	x86_64-w64-mingw32-windres "$tmp/ver.rc" -O coff -o "$tmp/ver.o"
	# No timestamp in the PE header: the same version always gives the same bytes.
	x86_64-w64-mingw32-gcc -O2 -Wall -s -Wl,--no-insert-timestamp \
		-o "$tmp/WaAppAgent.exe" "$AK_WINE_DIR/waappagent.c" "$tmp/ver.o"
	mv -f -- "$tmp/WaAppAgent.exe" "$out"
)

# fixture_agent_msi VERSION OUT [AGENT_EXE] builds the agent MSI from agent.wxs.tmpl.
fixture_agent_msi() (
	# A subshell, so that the EXIT trap removes the temporary folder.
	local version="$1" out="$2" exe="${3:-}"
	fixture_check_version "$version" 255
	local tmp
	tmp="$(mktemp -d)"
	trap 'rm -rf -- "$tmp"' EXIT
	# wixl wants a relative Source path: put the exe and the .wxs side by side and run there.
	if [[ -z "$exe" ]]; then
		fixture_agent_exe "$version" "$tmp/WaAppAgent.exe"
	else
		[[ -f "$exe" ]] || ak_die "no such file: $exe"
		cp -- "$exe" "$tmp/WaAppAgent.exe"
	fi
	cp -- "$AK_WINE_DIR/agent.wxs.tmpl" "$tmp/agent.wxs"
	(cd -- "$tmp" && wixl -a x64 \
		-D "Version=$version" \
		-D "ProductCode=$(fixture_guid "ProductCode $version")" \
		-D "AgentExe=WaAppAgent.exe" \
		-D "Services=$([[ "${AK_FIXTURE_SERVICES:-}" == 1 ]] && echo yes || echo no)" \
		-o agent.msi agent.wxs)
	mv -f -- "$tmp/agent.msi" "$out"
)

# fixture_msiexec MSI LOG runs a silent install in WINEPREFIX and returns msiexec's exit code.
fixture_msiexec() {
	local rc=0
	wine msiexec /i "$(winepath -w -- "$1")" /quiet /norestart /l*v "$(winepath -w -- "$2")" || rc=$?
	# msiexec may leave work to the wineserver's other processes: wait for them.
	wineserver -w
	return "$rc"
}

# fixture_uninstall_version PRODUCT_CODE prints DisplayVersion of the product's Uninstall key,
# or nothing when it is not registered.
fixture_uninstall_version() {
	local key='HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\{'"$1"'}'
	# reg query fails when the key is missing: that is an answer here, not an error.
	{ wine reg query "$key" /v DisplayVersion 2>/dev/null || true; } | tr -d '\r' |
		awk '$1 == "DisplayVersion" { print $3 }'
}

# fixture_selftest proves the fixtures: install an old MSI, then upgrade to a newer one.
fixture_selftest() {
	local old=2.7.41491.1010 new=2.7.41492.1178 t0
	local work
	wine_traps
	ak_tmpdir fixtures
	work="$AK_WINE_TMPDIR"
	ensure_tools
	t0="$(ak_now)"
	fixture_agent_exe "$old" "$work/old.exe"
	fixture_agent_exe "$new" "$work/new.exe"
	fixture_agent_msi "$old" "$work/old.msi" "$work/old.exe"
	fixture_agent_msi "$new" "$work/new.msi" "$work/new.exe"
	ak_log "built 2 exes and 2 MSIs in $(ak_since "$t0")"
	cmp -s -- "$work/old.exe" "$work/new.exe" && ak_die "old and new fixtures are identical"

	wine_prefix_create
	local target="$WINEPREFIX/drive_c/WindowsAzure/Packages/WaAppAgent.exe"
	local old_pc new_pc got rc=0
	old_pc="$(fixture_guid "ProductCode $old")"
	new_pc="$(fixture_guid "ProductCode $new")"

	t0="$(ak_now)"
	fixture_msiexec "$work/old.msi" "$work/old.log" || rc=$?
	ak_log "msiexec /i old.msi: exit $rc in $(ak_since "$t0")"
	((rc == 0)) || { tail -n 30 -- "$work/old.log" >&2; ak_die "installing $old failed"; }
	[[ -f "$target" ]] || ak_die "after installing $old: no $target"
	cmp -s -- "$work/old.exe" "$target" || ak_die "after installing $old: $target is not the $old fixture"
	got="$(fixture_uninstall_version "$old_pc")"
	[[ "$got" == "$old" ]] || ak_die "after installing $old: Uninstall DisplayVersion is '$got'"
	ak_log "ok: $old installed at C:\\WindowsAzure\\Packages\\WaAppAgent.exe, registered as {$old_pc}"

	t0="$(ak_now)"
	rc=0
	fixture_msiexec "$work/new.msi" "$work/new.log" || rc=$?
	ak_log "msiexec /i new.msi: exit $rc in $(ak_since "$t0")"
	((rc == 0)) || { tail -n 30 -- "$work/new.log" >&2; ak_die "upgrading to $new failed"; }
	cmp -s -- "$work/new.exe" "$target" || ak_die "after upgrading to $new: $target is not the $new fixture"
	got="$(fixture_uninstall_version "$new_pc")"
	[[ "$got" == "$new" ]] || ak_die "after upgrading to $new: Uninstall DisplayVersion is '$got'"
	got="$(fixture_uninstall_version "$old_pc")"
	[[ -z "$got" ]] || ak_die "after upgrading to $new: $old is still registered ($got)"
	ak_log "ok: upgraded to $new; {$old_pc} removed, {$new_pc} registered"

	rc=0
	wine "$target" exit 7 || rc=$?
	((rc == 7)) || ak_die "installed WaAppAgent.exe exit 7 returned $rc"
	ak_log "ok: the installed WaAppAgent.exe runs under wine"
	printf 'wine fixtures: selftest passed\n'
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
	case "${1:-}" in
	exe)
		(($# >= 3)) || ak_die "usage: fixtures.sh exe VERSION OUT.exe [PRODUCT_VERSION]"
		fixture_agent_exe "$2" "$3" "${4:-}"
		;;
	msi)
		(($# >= 3)) || ak_die "usage: fixtures.sh msi VERSION OUT.msi [AGENT.exe]"
		fixture_agent_msi "$2" "$3" "${4:-}"
		;;
	guid)
		(($# == 2)) || ak_die "usage: fixtures.sh guid NAME"
		fixture_guid "$2"
		;;
	selftest)
		fixture_selftest
		;;
	*)
		ak_die "usage: fixtures.sh exe|msi|guid|selftest ... (see the top of the file)"
		;;
	esac
fi
