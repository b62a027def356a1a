//go:build linux

// Package winetest is a black-box end-to-end test of the Windows build of
// agentkeeper, run for real under Wine on the Linux host: each scenario makes
// a throwaway Wine prefix that reports Windows Server 2019
// (../wine/prefix.sh), installs fixture MSIs with Wine's real msiexec (the
// agent's WaAppAgent.exe with a version resource, and the services RdAgent
// and WindowsAzureGuestAgent as real Windows services), serves the MSI from
// an httptest server on the host's loopback (which Wine shares), and runs
// `wine agentkeeper.exe check|ensure --json`, reading exit codes and JSON.
//
// It holds tests only. It needs wine64, wixl and the mingw-w64 toolchain
// (`make deps` / e2e/wine/lib.sh ensure_tools install them) and fails, never
// skips, when they are missing.
package winetest
