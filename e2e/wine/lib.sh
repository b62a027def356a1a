# shellcheck shell=bash
# lib.sh: run the Windows half of agentkeeper for real under Wine on Debian 12.
#
# Source it from bash; it defines functions only (plus a few variables):
#   ensure_tools        install the Debian packages this needs when a tool is missing
#   build_shim          build bcryptprimitives.dll (ProcessPrng for Go >= 1.22) into the cache
#   wine_prefix_create  make a throwaway WINEPREFIX (from a cached pristine tarball) and export it
#   wine_cleanup        kill the wineservers and delete every prefix made by wine_prefix_create
#   run_go_tests        build each package's Windows test binary and run it under wine
#
# Environment:
#   AGENTKEEPER_CACHE     cache root (default $HOME/.cache/agentkeeper); this uses <root>/wine
#   AK_WINE_VERBOSE=1     run test binaries with -test.v and always print their output
#   AK_WINE_TIMEOUT       seconds allowed per test binary (default 600)
#   AK_WINE_NO_PREFIX_CACHE=1  always boot a fresh prefix instead of unpacking the cached one
set -euo pipefail

AK_WINE_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
AK_WINE_CACHE="${AGENTKEEPER_CACHE:-${HOME:-/root}/.cache/agentkeeper}/wine"

# The Debian 12 packages providing the tools. /usr/bin/wine (and wineboot, msiexec) comes from
# "wine"; the 64-bit loader from "wine64"; "wine" is only a Recommends of "wine64", so with
# --no-install-recommends both must be named.
AK_WINE_PACKAGES=(wine wine64 gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wixl)

# Commands that must exist afterwards (each provided by one of the packages above).
AK_WINE_TOOLS=(wine wineboot wineserver x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres
	x86_64-w64-mingw32-objdump wixl)

# Keep wine quiet, headless and free of first-start prompts (Mono, Gecko, desktop menus).
export WINEDEBUG=-all
export DISPLAY=
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
unset WAYLAND_DISPLAY

# Prefixes and temporary folders made in this shell, removed by wine_cleanup.
AK_WINE_PREFIXES=()
AK_WINE_TMPDIRS=()

ak_log() { printf 'wine: %s\n' "$*" >&2; }

ak_die() {
	printf 'wine: error: %s\n' "$*" >&2
	exit 1
}

# ak_tmpdir NAME makes a temporary folder that wine_cleanup removes, and sets
# AK_WINE_TMPDIR to it (not printed: a $(...) subshell would lose the record).
ak_tmpdir() {
	AK_WINE_TMPDIR="$(mktemp -d "${TMPDIR:-/tmp}/agentkeeper-$1.XXXXXX")"
	AK_WINE_TMPDIRS+=("$AK_WINE_TMPDIR")
}

# wine_traps makes the shell run wine_cleanup when it exits, including on Ctrl-C and
# SIGTERM (long steps run in the background behind `wait`, so a signal is seen at once).
wine_traps() {
	trap wine_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ak_now prints the time in milliseconds.
ak_now() {
	local t="${EPOCHREALTIME/[.,]/}"
	printf '%s\n' "$((t / 1000))"
}

# ak_since START prints the seconds elapsed since START (from ak_now), e.g. "3.2s".
ak_since() {
	local ms=$(($(ak_now) - $1))
	printf '%d.%ds\n' "$((ms / 1000))" "$(((ms % 1000) / 100))"
}

# ak_missing_tools prints the tools from AK_WINE_TOOLS that are not installed.
ak_missing_tools() {
	local t
	for t in "${AK_WINE_TOOLS[@]}"; do
		command -v "$t" >/dev/null 2>&1 || printf '%s\n' "$t"
	done
	# The wine front end runs the 64-bit loader: without wine64 it exists but cannot start anything.
	[[ -x /usr/lib/wine/wine64 ]] || printf '%s\n' /usr/lib/wine/wine64
}

# ensure_tools installs AK_WINE_PACKAGES with apt-get when a tool is missing, or fails saying why.
ensure_tools() {
	command -v go >/dev/null 2>&1 || ak_die "go is not on PATH (needed to build the Windows test binaries)"
	local missing
	missing="$(ak_missing_tools)"
	if [[ -z "$missing" ]]; then
		return 0
	fi
	ak_log "missing: ${missing//$'\n'/ } -> installing ${AK_WINE_PACKAGES[*]}"
	command -v apt-get >/dev/null 2>&1 ||
		ak_die "apt-get not found: install ${AK_WINE_PACKAGES[*]} by hand"
	local -a sudo=()
	if [[ "$(id -u)" != 0 ]]; then
		command -v sudo >/dev/null 2>&1 ||
			ak_die "not root and no sudo: run as root or install ${AK_WINE_PACKAGES[*]} by hand"
		sudo=(sudo -n)
	fi
	local t0
	t0="$(ak_now)"
	if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update; then
		ak_die "apt-get update failed; cannot install ${AK_WINE_PACKAGES[*]}"
	fi
	if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${AK_WINE_PACKAGES[@]}"; then
		ak_die "apt-get install -y --no-install-recommends ${AK_WINE_PACKAGES[*]} failed"
	fi
	missing="$(ak_missing_tools)"
	[[ -z "$missing" ]] || ak_die "still missing after apt-get install: ${missing//$'\n'/ }"
	ak_log "installed tools in $(ak_since "$t0")"
}

# ak_lock DIR takes an exclusive lock on DIR/.lock on file descriptor 9, so that two runs
# sharing a cache do not build the same file at once. Release with ak_unlock.
ak_lock() {
	mkdir -p -- "$1"
	exec 9>"$1/.lock"
	flock 9
}
ak_unlock() { exec 9>&-; }

# build_shim builds $AK_WINE_CACHE/bcryptprimitives.dll from processprng.c and .def when
# they (or the compiler) changed, and prints its path.
build_shim() {
	local out="$AK_WINE_CACHE/bcryptprimitives.dll"
	local src="$AK_WINE_DIR/processprng.c" def="$AK_WINE_DIR/processprng.def"
	local key
	key="$({
		cat -- "$src" "$def"
		x86_64-w64-mingw32-gcc --version | head -n 1
	} | sha256sum | cut -d ' ' -f 1)"
	ak_lock "$AK_WINE_CACHE"
	if [[ ! -f "$out" || "$(cat -- "$out.key" 2>/dev/null)" != "$key" ]]; then
		ak_log "building $out"
		x86_64-w64-mingw32-gcc -O2 -Wall -Wextra -shared -s -Wl,--no-insert-timestamp \
			-o "$out.tmp" "$src" "$def" -ladvapi32
		mv -f -- "$out.tmp" "$out"
		printf '%s\n' "$key" >"$out.key"
	fi
	ak_unlock
	printf '%s\n' "$out"
}

# ak_wine_key prints what identifies a pristine prefix: the installed wine version.
ak_wine_key() {
	{
		dpkg-query -W -f '${Package} ${Version}\n' wine wine64 libwine 2>/dev/null || true
		wine --version
	} | sha256sum | cut -c 1-16
}

# ak_boot_prefix DIR runs the first start of a new prefix in DIR and waits until it is done.
ak_boot_prefix() {
	WINEPREFIX="$1" wineboot -i >/dev/null 2>&1 ||
		ak_die "wineboot -i failed in $1"
	# wineboot returns before wineserver has flushed the registry: wait for it to exit.
	WINEPREFIX="$1" wineserver -w
	# Wine links the user's Desktop, Documents, ... to $HOME: make them plain folders inside
	# the prefix so that nothing a test does under Wine lands in the real home directory.
	local link
	for link in "$1"/drive_c/users/*/*; do
		if [[ -L "$link" ]]; then
			rm -f -- "$link"
			mkdir -- "$link"
		fi
	done
}

# ak_tar_ext prints the extension of the cached prefix: zstd when available (about 3 s to
# pack or unpack 700 MB, 230 MB on disk), else plain tar (gzip takes 30 s to pack).
ak_tar_ext() {
	if command -v zstd >/dev/null 2>&1; then
		printf 'tar.zst\n'
	else
		printf 'tar\n'
	fi
}

# wine_prefix_create makes a throwaway prefix with the shim DLL in system32, exports
# WINEPREFIX and records the prefix for wine_cleanup. The pristine prefix is cached as a
# tarball under $AK_WINE_CACHE (unless AK_WINE_NO_PREFIX_CACHE=1).
wine_prefix_create() {
	local dll prefix t0 tarball
	dll="$(build_shim)"
	prefix="$(mktemp -d "${TMPDIR:-/tmp}/agentkeeper-wine.XXXXXX")"
	AK_WINE_PREFIXES+=("$prefix")
	t0="$(ak_now)"
	if [[ "${AK_WINE_NO_PREFIX_CACHE:-}" == 1 ]]; then
		ak_boot_prefix "$prefix"
		ak_log "booted fresh prefix in $(ak_since "$t0")"
	else
		tarball="$AK_WINE_CACHE/prefix-$(ak_wine_key).$(ak_tar_ext)"
		ak_lock "$AK_WINE_CACHE"
		if [[ ! -f "$tarball" ]]; then
			ak_boot_prefix "$prefix"
			ak_log "booted fresh prefix in $(ak_since "$t0"); caching it as $tarball"
			if [[ "$tarball" == *.zst ]]; then
				tar -C "$prefix" -cf - . | zstd -q -1 -T0 -o "$tarball.tmp"
			else
				tar -C "$prefix" -cf "$tarball.tmp" .
			fi
			mv -f -- "$tarball.tmp" "$tarball"
		else
			if [[ "$tarball" == *.zst ]]; then
				zstd -q -d -c -- "$tarball" | tar -C "$prefix" -xf -
			else
				tar -C "$prefix" -xf "$tarball"
			fi
			ak_log "unpacked cached prefix in $(ak_since "$t0")"
		fi
		ak_unlock
	fi
	cp -f -- "$dll" "$prefix/drive_c/windows/system32/bcryptprimitives.dll"
	export WINEPREFIX="$prefix"
}

# wine_cleanup stops the wineserver of every prefix made here and deletes the prefixes.
# Safe to call more than once; meant for `trap wine_cleanup EXIT`.
wine_cleanup() {
	local p
	for p in "${AK_WINE_PREFIXES[@]}"; do
		[[ -n "$p" && -d "$p" ]] || continue
		WINEPREFIX="$p" wineserver -k >/dev/null 2>&1 || true
		WINEPREFIX="$p" wineserver -w >/dev/null 2>&1 || true
		case "$p" in
		*/agentkeeper-wine.*) rm -rf -- "$p" ;;
		esac
	done
	AK_WINE_PREFIXES=()
	for p in "${AK_WINE_TMPDIRS[@]}"; do
		case "$p" in
		*/agentkeeper-*) rm -rf -- "$p" ;;
		esac
	done
	AK_WINE_TMPDIRS=()
}

# ak_go_overlay prints the path of a `go build -overlay` file that works around a Wine 8.0
# gap, or nothing when the local Go source does not have the expected shape.
#
# Go >= 1.25 deletes files in os.RemoveAll (and so in every t.TempDir cleanup) with
# NtSetInformationFile(FileDispositionInformationEx); Wine 8.0 answers STATUS_NOT_IMPLEMENTED
# (0xC0000002, "Invalid function."), which Go does not treat as "not supported" and so never
# takes its own fallback (the one it uses for old Windows and FAT). The overlay adds that
# status to the fallback case of internal/syscall/windows.Deleteat, in a copy made from the
# local GOROOT at run time. Only the Windows test binaries built here use it.
ak_go_overlay() {
	local goroot src key dir patched
	goroot="$(go env GOROOT)"
	src="$goroot/src/internal/syscall/windows/at_windows.go"
	[[ -f "$src" ]] || return 0
	key="$(sha256sum -- "$src" | cut -c 1-16)"
	dir="$AK_WINE_CACHE/overlay-$key"
	if [[ ! -f "$dir/overlay.json" ]]; then
		mkdir -p -- "$dir"
		patched="$dir/at_windows.go"
		sed 's|^\([[:space:]]*\)case STATUS_INVALID_INFO_CLASS, // the operating system doesn.t support FileDispositionInformationEx$|\1case STATUS_INVALID_INFO_CLASS, NTStatus(0xC0000002), // also STATUS_NOT_IMPLEMENTED (Wine 8.0)|' \
			-- "$src" >"$patched.tmp"
		if cmp -s -- "$src" "$patched.tmp"; then
			rm -f -- "$patched.tmp"
			ak_log "warning: $src has changed shape; building without the Wine RemoveAll workaround"
			return 0
		fi
		mv -f -- "$patched.tmp" "$patched"
		printf '{"Replace":{"%s":"%s"}}\n' "$src" "$patched" >"$dir/overlay.json.tmp"
		mv -f -- "$dir/overlay.json.tmp" "$dir/overlay.json"
	fi
	printf '%s\n' "$dir/overlay.json"
}

# ak_windows_test_packages PATTERN... prints the import paths that have tests when built
# for Windows. -e: a package whose files are all excluded for Windows (//go:build linux) is
# skipped instead of failing the whole list; a package that does not compile is still
# listed and then fails in run_go_tests.
ak_windows_test_packages() {
	GOOS=windows GOARCH=amd64 go list -e \
		-f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' -- "$@" | sed '/^$/d'
}

# run_go_tests [PATTERN...] [-- TESTFLAG...] builds each matching package's Windows test
# binary (go test -c) and runs it under wine in WINEPREFIX from the package's own
# directory. Patterns default to ./... relative to the current directory. Prints the time
# of each step and the closing line "wine: N passed, M failed"; returns 1 if any failed.
# ak_test_fixtures DIR: builds the fixture MSIs the Windows tests install for
# real (platform/msi) and exports their Windows paths.
ak_test_fixtures() {
	local dir="$1" t0
	t0="$(ak_now)"
	bash "$AK_WINE_DIR/fixtures.sh" msi 2.7.41491.1010 "$dir/agent.msi" >/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 \
		-subj "/CN=Microsoft Corporation/O=agentkeeper test" -addext extendedKeyUsage=codeSigning >/dev/null 2>&1 ||
		ak_die "openssl could not make the test signing certificate"
	osslsigncode sign -certs "$dir/cert.pem" -key "$dir/key.pem" -in "$dir/agent.msi" \
		-out "$dir/agent-selfsigned.msi" >/dev/null || ak_die "osslsigncode could not sign the fixture MSI"
	AGENTKEEPER_TEST_MSI="$(winepath -w "$dir/agent.msi" 2>/dev/null)"
	AGENTKEEPER_TEST_MSI_SELFSIGNED="$(winepath -w "$dir/agent-selfsigned.msi" 2>/dev/null)"
	export AGENTKEEPER_TEST_MSI AGENTKEEPER_TEST_MSI_SELFSIGNED
	ak_log "fixture MSIs ready in $(ak_since "$t0")"
}

run_go_tests() {
	local -a patterns=() testflags=()
	while (($#)); do
		if [[ "$1" == -- ]]; then
			shift
			testflags=("$@")
			break
		fi
		patterns+=("$1")
		shift
	done
	((${#patterns[@]})) || patterns=(./...)
	[[ -n "${WINEPREFIX:-}" ]] || ak_die "run_go_tests: no WINEPREFIX (call wine_prefix_create first)"
	if [[ "${AK_WINE_VERBOSE:-}" == 1 ]]; then
		testflags=(-test.v "${testflags[@]}")
	fi

	local -a pkgs=()
	local line
	while IFS= read -r line; do
		pkgs+=("$line")
	done < <(ak_windows_test_packages "${patterns[@]}")

	local -a buildflags=()
	local overlay
	overlay="$(ak_go_overlay)"
	[[ -z "$overlay" ]] || buildflags=("-overlay=$overlay")

	local bindir
	ak_tmpdir wine-bin
	bindir="$AK_WINE_TMPDIR"
	ak_test_fixtures "$bindir"
	local passed=0 failed=0 pkg dir exe log t0 rc status
	local -a failed_pkgs=()
	for pkg in "${pkgs[@]}"; do
		exe="$bindir/$(printf '%s' "$pkg" | tr '/' '_').test.exe"
		log="$bindir/$(printf '%s' "$pkg" | tr '/' '_').log"
		t0="$(ak_now)"
		if ! GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -c "${buildflags[@]}" -o "$exe" "$pkg" >"$log" 2>&1; then
			ak_log "$pkg: build FAILED in $(ak_since "$t0")"
			sed 's/^/    /' -- "$log" >&2
			failed=$((failed + 1))
			failed_pkgs+=("$pkg")
			continue
		fi
		if [[ ! -f "$exe" ]]; then
			# go test -c writes nothing when the package has no test files for this GOOS.
			ak_log "$pkg: no Windows test binary, skipped"
			continue
		fi
		local build_time
		build_time="$(ak_since "$t0")"
		dir="$(GOOS=windows go list -f '{{.Dir}}' -- "$pkg")"
		t0="$(ak_now)"
		rc=0
		# In the background behind `wait`, so that Ctrl-C and SIGTERM stop the run at once.
		(cd -- "$dir" && exec timeout --kill-after=10 "${AK_WINE_TIMEOUT:-600}" \
			wine "$exe" "${testflags[@]}") >"$log" 2>&1 &
		wait "$!" || rc=$?
		((rc != 124)) || printf '    timed out after %ss (AK_WINE_TIMEOUT)\n' "${AK_WINE_TIMEOUT:-600}" >>"$log"
		if ((rc == 0)); then
			status=ok
			passed=$((passed + 1))
		else
			status="FAIL (exit $rc)"
			failed=$((failed + 1))
			failed_pkgs+=("$pkg")
		fi
		if [[ "$status" != ok || "${AK_WINE_VERBOSE:-}" == 1 ]]; then
			sed 's/^/    /' -- "$log" >&2
		fi
		printf 'wine: %-4s %s (build %s, run %s)\n' "${status%% *}" "$pkg" "$build_time" "$(ak_since "$t0")" >&2
	done
	rm -rf -- "$bindir"
	if ((${#pkgs[@]} == 0)); then
		ak_log "no package with Windows tests matched: ${patterns[*]}"
	fi
	if ((${#failed_pkgs[@]})); then
		ak_log "failed: ${failed_pkgs[*]}"
	fi
	printf 'wine: %d passed, %d failed\n' "$passed" "$failed"
	((failed == 0))
}
