//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/pkgmgr"
)

// The drop-in `service install` adds is read by systemd's own parser
// (systemd-analyze verify) without a complaint, says KillMode=mixed, waits
// longer than the package manager's stop grace, and goes away on uninstall.
func TestStopDropIn(t *testing.T) {
	dir := t.TempDir()
	unit := serviceName + ".service"
	if err := os.WriteFile(filepath.Join(dir, unit), []byte("[Unit]\nDescription=agentkeeper\n[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeStopDropIn(dir, unit); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, unit+".d", stopDropInName)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nKillMode=mixed\n") {
		t.Errorf("drop-in lacks KillMode=mixed:\n%s", b)
	}
	_, after, ok := strings.Cut(string(b), "\nTimeoutStopSec=")
	secs, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(after), "s"))
	if !ok || err != nil || time.Duration(secs)*time.Second <= pkgmgr.DefaultStopGrace {
		t.Errorf("TimeoutStopSec %q (%v) is not longer than the stop grace %s", after, err, pkgmgr.DefaultStopGrace)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found (Debian package systemd; make test installs it): %v", err)
	}
	cmd := exec.Command(analyze, "verify", filepath.Join(dir, unit))
	cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":", "SYSTEMD_LOG_LEVEL=warning")
	out, _ := cmd.CombinedOutput()
	if strings.Contains(string(out), stopDropInName) {
		t.Errorf("systemd-analyze verify complains about the drop-in:\n%s", out)
	}

	if err := removeStopDropIn(dir, unit); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, unit+".d")); !os.IsNotExist(err) {
		t.Errorf("drop-in folder left after uninstall: %v", err)
	}
	if err := removeStopDropIn(dir, unit); err != nil {
		t.Errorf("second removal: %v", err)
	}
}
