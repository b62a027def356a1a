//go:build linux

package debiantest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/pkgdb/pkgdbtest"
)

// apt-get does not wait for its lists lock (only dpkg's frontend lock has
// DPkg::Lock::Timeout): while another process holds it, ensure waits up to
// install.lock_timeout and then defers with 75, having changed nothing.
func TestEnsureDefersOnAptListsLock(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	lists := filepath.Join(root, "var/lib/apt/lists/lock")
	if err := os.WriteFile(lists, nil, 0o640); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	holdLock(t, lists)

	r := runEnsure(t, lock, root, nil, "AGENTKEEPER_INSTALL_LOCK_TIMEOUT=3s")
	wantEnsure(t, r, 75, "deferred", "install")
	if s, ok := findStep(r.res.Preconditions, "source"); !ok || s.Status != "deferred" || !strings.Contains(s.Message, "/var/lib/apt/lists/lock") {
		t.Errorf("precondition source = %+v (found %v), want deferred naming apt's lists lock", s, ok)
	}
	if r.took.Seconds() < 3 {
		t.Errorf("deferred after %s, before install.lock_timeout (3s)", r.took)
	}
	wantNothingInstalled(t, root)
}

// A fresh install over a /var/lib/waagent left behind by an earlier install:
// Debian's waagent postinst runs `mkdir /var/lib/waagent` without -p and
// fails. ensure must end installed, configured and ready, with every file
// that was there still there.
func TestEnsureInstallsOverLeftBehindAgentData(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	old := map[string]string{
		"var/lib/waagent/ovf-env.xml":                  "<Environment>from the earlier install</Environment>\n",
		"var/lib/waagent/history/2026-11-30/GoalState": "incarnation 7\n",
		"var/lib/waagent/waagent_status.json":          "{}\n",
	}
	for p, content := range old {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 0, "ready", "install")
	wantInstalled(t, root)
	if s, ok := findStep(r.res.Actions, "repair"); !ok || s.Status != "pass" ||
		!strings.Contains(s.Message, "moved it aside to /var/lib/waagent.agentkeeper-") || !strings.Contains(s.Message, "moved its 3 entries back") {
		t.Errorf("action repair = %+v (found %v), want pass saying the directory was moved aside and its 3 entries back\n%s", s, ok, r.dump())
	}
	for p, content := range old {
		if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != content {
			t.Errorf("/%s after ensure: %q, %v; want it kept", p, b, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "var/lib/waagent")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("/var/lib/waagent: %v, %v; want the package's 0700 directory", fi, err)
	}
	if asides, _ := filepath.Glob(filepath.Join(root, "var/lib/waagent.agentkeeper-*")); len(asides) != 0 {
		t.Errorf("aside folders left behind: %q", asides)
	}
}

// A dpkg killed while configuring the agent: check says so, with the fix,
// not "not installed"; ensure lets dpkg finish and installs the registry's
// agent.
func TestInterruptedDpkgReportedAndRepaired(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	pkgdbtest.InterruptDpkgInstall(t, root, "waagent", "2.2.0-1agentkeeper")

	res := runCheck(t, root)
	c := wantCheck(t, res, "agent.installed", "fail")
	if !strings.Contains(c.Message, "dpkg was interrupted") || !strings.Contains(c.Message, "half-configured") ||
		!strings.Contains(c.Fix, "dpkg --configure -a") {
		t.Errorf("agent.installed = %q (fix %q), want it to say dpkg was interrupted (waagent half-configured) and fix with dpkg --configure -a", c.Message, c.Fix)
	}

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 0, "ready", "install")
	wantInstalled(t, root)
	if s, ok := findStep(r.res.Actions, "repair"); !ok || s.Status != "pass" || !strings.Contains(s.Message, "--configure -a") {
		t.Errorf("action repair = %+v (found %v), want pass naming dpkg ... --configure -a\n%s", s, ok, r.dump())
	}
	if got := str(r.res.VersionAfter); got != "2.7.3.0" {
		t.Errorf("version_after = %q, want 2.7.3.0", got)
	}
}
