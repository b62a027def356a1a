//go:build linux

package debiantest

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// A Debian 12 root with Debian's own waagent package installed (postinst ran,
// so the unit is enabled) is ready for Azure Backup.
func TestCheckRootWithRealAgent(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootWaagent)
	res := runCheck(t, root)
	r := res.rep

	if res.code != 0 {
		t.Errorf("exit code %d, want 0 (ready)", res.code)
	}
	if !boolIs(r.Ready, true) {
		t.Errorf("ready = %s, want true", showBool(r.Ready))
	}
	if !boolIs(r.Offline, true) {
		t.Errorf("offline = %s, want true", showBool(r.Offline))
	}
	wantOS := osReport{Family: "linux", ID: "debian", Version: "12", Arch: "x86_64", Bits: 64}
	if r.OS != wantOS {
		t.Errorf("os = %+v, want %+v", r.OS, wantOS)
	}
	a := r.Agent
	for _, f := range []struct {
		name, got, want string
	}{
		{"package", a.Package, "waagent"},
		{"service", a.Service, "walinuxagent.service"},
		{"installer", a.Installer, "apt-get"},
		{"version", a.Version, "2.7.3.0"},
		{"package_version", a.PackageVersion, "2.7.3.0-4.1"},
	} {
		if f.got != f.want {
			t.Errorf("agent.%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	for _, f := range []struct {
		name string
		got  *bool
	}{
		{"supported", a.Supported},
		{"installed", a.Installed},
		{"service_enabled", a.ServiceEnabled},
	} {
		if !boolIs(f.got, true) {
			t.Errorf("agent.%s = %s, want true", f.name, showBool(f.got))
		}
	}
	if string(a.ServiceRunning) != "null" {
		t.Errorf("agent.service_running = %q, want null (cannot be known offline)", a.ServiceRunning)
	}
	for _, c := range r.Checks {
		if c.Status == "fail" {
			t.Errorf("check %s failed: %s (fix: %s)", c.ID, c.Message, c.Fix)
		}
	}
	for _, id := range []string{"os.supported", "agent.installed", "agent.version", "agent.service"} {
		if _, ok := r.find(id); !ok {
			t.Errorf("no check %q in the report", id)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", res.dump())
	}
}

// A bare Debian 12 root has no agent: not ready, and the fix says how to
// install it.
func TestCheckRootWithoutAgent(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	res := runCheck(t, root)

	if res.code != 1 {
		t.Errorf("exit code %d, want 1 (not ready)", res.code)
	}
	if !boolIs(res.rep.Ready, false) {
		t.Errorf("ready = %s, want false", showBool(res.rep.Ready))
	}
	if !boolIs(res.rep.Agent.Installed, false) {
		t.Errorf("agent.installed = %s, want false", showBool(res.rep.Agent.Installed))
	}
	c := wantCheck(t, res, "agent.installed", "fail")
	if !strings.Contains(c.Fix, "apt-get") && !strings.Contains(c.Fix, "waagent") {
		t.Errorf("agent.installed fix %q should tell how to install the agent (apt-get ... waagent)", c.Fix)
	}
}

// Backup needs extensions: Extensions.Enabled=n in /etc/waagent.conf makes
// the machine not ready.
func TestCheckRootExtensionsDisabled(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootWaagent)
	setConf(t, root, "Extensions.Enabled", "n")
	res := runCheck(t, root)

	if res.code != 1 {
		t.Errorf("exit code %d, want 1 (not ready)", res.code)
	}
	if !boolIs(res.rep.Ready, false) {
		t.Errorf("ready = %s, want false", showBool(res.rep.Ready))
	}
	wantCheck(t, res, "agent.extensions", "fail")
	wantCheck(t, res, "agent.installed", "pass")
}

// Debian's 2.7.3.0 is older than a raised minimum version: not ready.
func TestCheckRootOldMinVersion(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootWaagent)
	res := runCheck(t, root, envMinVersion+"=2.9.0.0")

	if res.code != 1 {
		t.Errorf("exit code %d, want 1 (not ready)", res.code)
	}
	if !boolIs(res.rep.Ready, false) {
		t.Errorf("ready = %s, want false", showBool(res.rep.Ready))
	}
	wantCheck(t, res, "agent.version", "fail")
	if got := res.rep.Agent.MinVersion; got != "2.9.0.0" {
		t.Errorf("agent.min_version = %q, want %q (from %s)", got, "2.9.0.0", envMinVersion)
	}
	if got := res.rep.Agent.Version; got != "2.7.3.0" {
		t.Errorf("agent.version = %q, want %q", got, "2.7.3.0")
	}
}

// setConf sets KEY=VALUE in the root's /etc/waagent.conf, replacing the line
// the package shipped; the line must exist so the test really changes it.
func setConf(t *testing.T, root, key, value string) {
	t.Helper()
	path := filepath.Join(root, "etc", "waagent.conf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `=.*$`)
	if !re.Match(data) {
		t.Fatalf("%s has no %s= line to change", path, key)
	}
	data = re.ReplaceAll(data, []byte(key+"="+value))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("\n"+key+"="+value+"\n")) {
		t.Fatalf("%s: %s=%s not written", path, key, value)
	}
}
