//go:build linux

// Package msitest is a black-box end-to-end test of agentkeeper's Windows
// Installer package (packaging/msi, built by scripts/package-msi.sh), run for
// real under Wine on the Linux host: TestMain builds the MSI (twice, to check
// that the build is reproducible, and once more as an older version); each
// test makes a throwaway Wine prefix that reports Windows Server 2019
// (../wine/prefix.sh) and installs, upgrades and uninstalls the MSI with
// Wine's real msiexec, asking Wine's own sc.exe about the service and
// http://127.0.0.1:PORT/healthz about the running agentkeeper.
//
// It holds tests only. It needs wine64, wixl, msitools and faketime
// (make deps, or scripts/package-msi.sh and e2e/wine/lib.sh install them) and
// fails, never skips, when they are missing.
package msitest
