#!/usr/bin/env bash
# run-tests.sh: run agentkeeper's Windows tests for real under Wine.
#
# Usage (from anywhere; packages are relative to the repository root):
#   bash e2e/wine/run-tests.sh [PATTERN...] [-- TESTFLAG...]
#   e.g. bash e2e/wine/run-tests.sh ./platform/... -- -test.run TestFileVersion
# Installs the Debian packages it needs when missing (as root, or with sudo -n), builds the
# ProcessPrng shim, makes a throwaway Wine prefix, runs each package's test binary in it,
# deletes the prefix, and ends with "wine: N passed, M failed" (exit 1 if M > 0).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

main() {
	local t0 total
	total="$(ak_now)"
	cd -- "$AK_WINE_DIR/../.."

	t0="$(ak_now)"
	ensure_tools
	ak_log "tools ready in $(ak_since "$t0")"

	wine_traps
	t0="$(ak_now)"
	wine_prefix_create
	ak_log "prefix $WINEPREFIX ready in $(ak_since "$t0")"

	local rc=0
	run_go_tests "$@" || rc=$?
	ak_log "total $(ak_since "$total")"
	return "$rc"
}

main "$@"
