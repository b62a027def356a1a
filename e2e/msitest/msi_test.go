//go:build linux

package msitest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// How package-msi.sh turns git describe into an MSI ProductVersion (a, b <=
// 255, c <= 65535, a fourth field shown but never compared).
func TestMSIVersion(t *testing.T) {
	f := need(t)
	for _, c := range []struct{ describe, want string }{
		{"v1.2.3", "1.2.3"},
		{"v1.2.3-dirty", "1.2.3"},
		{"v1.2.3-4-gabc1234", "1.2.3.4"},
		{"v1.2.3-4-gabc1234-dirty", "1.2.3.4"},
		{"1.2.3", "1.2.3"},
		{"v1.2", "1.2.0"},
		{"v1.2.3-rc1", "1.2.3"},
		{"v1.2.3-rc1-7-gabc1234", "1.2.3.7"},
		{"v255.255.65535", "255.255.65535"},
		{"v01.002.0003", "1.2.3"},
	} {
		out, err := exec.Command("bash", filepath.Join(f.repo, "scripts", "package-msi.sh"), "msi-version", c.describe).CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != c.want {
			t.Errorf("msi-version %s = %q (%v), want %s", c.describe, got, err, c.want)
		}
	}
	// No tag yet: 0.0.<number of commits>.
	cmd := exec.Command("git", "rev-list", "--count", "HEAD")
	cmd.Dir = f.repo
	n, err := cmd.Output()
	if err != nil {
		t.Fatalf("git rev-list --count HEAD: %v", err)
	}
	out, err := exec.Command("bash", filepath.Join(f.repo, "scripts", "package-msi.sh"), "msi-version", "0123abc-dirty").CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "0.0."+strings.TrimSpace(string(n)); err != nil || got != want {
		t.Errorf("msi-version 0123abc-dirty = %q (%v), want %s", got, err, want)
	}
	for _, bad := range []string{"v256.0.0", "v1.256.0", "v1.2.65536", "release-7", "dev"} {
		out, err := exec.Command("bash", filepath.Join(f.repo, "scripts", "package-msi.sh"), "msi-version", bad).CombinedOutput()
		if err == nil {
			t.Errorf("msi-version %s = %q, want an error (set MSI_VERSION)", bad, strings.TrimSpace(string(out)))
		}
	}
}

// Two builds of the same tree and version give the same bytes.
func TestReproducible(t *testing.T) {
	f := need(t)
	t.Logf("%s: %s (%s) and %s (%s)", newVersion, f.newMSI.sha256, f.newMSI.msi, f.again.sha256, f.again.msi)
	if f.newMSI.sha256 != f.again.sha256 {
		t.Errorf("two builds of %s differ: sha256 %s and %s", newVersion, f.newMSI.sha256, f.again.sha256)
	}
	if f.newMSI.sha256 == f.oldMSI.sha256 {
		t.Errorf("the %s and %s MSIs are identical", newVersion, oldVersion)
	}
}

// A fresh install: the exe, the running service, the default config; then
// the installed agentkeeper.exe works; an uninstall removes the service and
// the exe and keeps the (edited) config.
func TestInstallUninstall(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-32s %6s", "total", since(start)) }()
	p := newPrefix(t)
	portFree(t, defaultListen)

	p.mustMsiexec("msiexec /i "+newMSIVersion, "/i", p.f.newMSI.msi)
	exe, err := os.ReadFile(p.host(winExe))
	if err != nil || len(exe) == 0 {
		t.Fatalf("after install: %s: %v (%d bytes)", winExe, err, len(exe))
	}
	cfg, err := os.ReadFile(p.host(winConfig))
	if err != nil {
		t.Fatalf("after install: %s: %v", winConfig, err)
	}
	if !bytes.Equal(cfg, p.f.config) {
		t.Errorf("after install: %s is not packaging/config.yaml (%d bytes, want %d)", winConfig, len(cfg), len(p.f.config))
	}
	if got := p.registeredVersions(); len(got) != 1 || got[0] != newMSIVersion {
		t.Errorf("after install: agentkeeper registered as %q, want [%s]", got, newMSIVersion)
	}
	p.waitRunning("sc query agentkeeper", "agentkeeper")
	p.healthz("GET /healthz ("+defaultListen+")", defaultListen)
	p.wantServed("GET /readyz", defaultListen, newVersion)

	r := p.wine(winExe, "version")
	t.Logf("%-32s %6s  exit %d: %s", "agentkeeper.exe version", r.took.Round(100*time.Millisecond), r.code, strings.TrimSpace(r.stdout))
	if r.code != 0 || !strings.Contains(r.stdout, newVersion) {
		t.Errorf("agentkeeper.exe version: exit %d, %q; want 0 and %s\n%s", r.code, r.stdout, newVersion, r.stderr)
	}
	r = p.wine(winExe, "check", "--json", "--offline")
	t.Logf("%-32s %6s  exit %d", "agentkeeper.exe check --json", r.took.Round(100*time.Millisecond), r.code)
	var rep struct {
		Ready *bool `json:"ready"`
		OS    struct {
			Family string `json:"family"`
		} `json:"os"`
		Version string `json:"agentkeeper_version"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Errorf("check --json --offline printed no JSON (exit %d): %v\nstdout:\n%s\nstderr:\n%s", r.code, err, r.stdout, r.stderr)
	} else if rep.Ready == nil || rep.OS.Family != "windows" || rep.Version != newVersion {
		t.Errorf("check --json: ready %v, os.family %q, agentkeeper_version %q; want a bool, windows, %s", rep.Ready, rep.OS.Family, rep.Version, newVersion)
	}
	if r.code != 0 && r.code != 1 {
		t.Errorf("check --json --offline: exit %d, want 0 or 1\n%s", r.code, r.stderr)
	}

	// An administrator's edit, which an uninstall must keep.
	edited := append(append([]byte{}, cfg...), []byte("\n# edited by msitest\noffline: true\n")...)
	if err := os.WriteFile(p.host(winConfig), edited, 0o644); err != nil {
		t.Fatal(err)
	}

	p.mustMsiexec("msiexec /x", "/x", p.f.newMSI.msi)
	if st, r := p.scQuery("agentkeeper"); st != "" || r.code == 0 {
		t.Errorf("after uninstall: sc query agentkeeper: exit %d, state %q; want an error, no service\n%s", r.code, st, r.stdout)
	} else {
		t.Logf("%-32s %6s  exit %d (no such service)", "sc query agentkeeper", r.took.Round(100*time.Millisecond), r.code)
	}
	if _, err := os.Stat(p.host(winExe)); !os.IsNotExist(err) {
		t.Errorf("after uninstall: %s is still there (%v)", winExe, err)
	}
	if got, err := os.ReadFile(p.host(winConfig)); err != nil || !bytes.Equal(got, edited) {
		t.Errorf("after uninstall: %s: %v; kept with the edit: %v", winConfig, err, bytes.Equal(got, edited))
	}
	if got := p.registeredVersions(); len(got) != 0 {
		t.Errorf("after uninstall: agentkeeper still registered: %q", got)
	}
}

// An older MSI, then the newer one over it: the old product is replaced, the
// service runs the new exe, and the administrator's config (there before the
// first install: NeverOverwrite) is never touched.
func TestUpgrade(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-32s %6s", "total", since(start)) }()
	p := newPrefix(t)

	// A config of the administrator's own, before anything is installed; its
	// listen address (a free port) shows that the service reads it.
	addr := freeAddr(t)
	own := []byte("# the administrator's own config (msitest)\noffline: true\nservice:\n  listen: \"" + addr + "\"\n")
	if err := os.MkdirAll(filepath.Dir(p.host(winConfig)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.host(winConfig), own, 0o644); err != nil {
		t.Fatal(err)
	}

	p.mustMsiexec("msiexec /i "+oldMSIVersion, "/i", p.f.oldMSI.msi)
	if got, _ := os.ReadFile(p.host(winConfig)); !bytes.Equal(got, own) {
		t.Errorf("installing %s overwrote the existing %s:\n%s", oldMSIVersion, winConfig, got)
	}
	if got := p.registeredVersions(); len(got) != 1 || got[0] != oldMSIVersion {
		t.Errorf("after installing %s: agentkeeper registered as %q", oldMSIVersion, got)
	}
	p.waitRunning("sc query ("+oldMSIVersion+")", "agentkeeper")
	p.healthz("GET /healthz ("+oldMSIVersion+")", addr)
	p.wantServed("GET /readyz ("+oldMSIVersion+")", addr, oldVersion)

	p.mustMsiexec("msiexec /i "+newMSIVersion+" (upgrade)", "/i", p.f.newMSI.msi)
	if got := p.registeredVersions(); len(got) != 1 || got[0] != newMSIVersion {
		t.Errorf("after upgrading to %s: agentkeeper registered as %q, want only %s", newMSIVersion, got, newMSIVersion)
	}
	p.waitRunning("sc query ("+newMSIVersion+")", "agentkeeper")
	p.healthz("GET /healthz ("+newMSIVersion+")", addr)
	p.wantServed("GET /readyz ("+newMSIVersion+")", addr, newVersion)
	r := p.wine(winExe, "version")
	if r.code != 0 || !strings.Contains(r.stdout, newVersion) {
		t.Errorf("after upgrading: agentkeeper.exe version: exit %d, %q; want %s", r.code, r.stdout, newVersion)
	}
	if got, _ := os.ReadFile(p.host(winConfig)); !bytes.Equal(got, own) {
		t.Errorf("upgrading to %s changed %s:\n%s", newMSIVersion, winConfig, got)
	}

	// And back: the older MSI refuses to install over the newer one.
	if code, _ := p.msiexec("msiexec /i "+oldMSIVersion+" (downgrade)", "/i", p.f.oldMSI.msi); code == 0 {
		t.Errorf("installing %s over %s succeeded, want a refusal", oldMSIVersion, newMSIVersion)
	}
	if got := p.registeredVersions(); len(got) != 1 || got[0] != newMSIVersion {
		t.Errorf("after the refused downgrade: agentkeeper registered as %q, want only %s", got, newMSIVersion)
	}
}
