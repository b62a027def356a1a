//go:build linux

package debiantest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// setDpkgVersion rewrites the Version of the waagent stanza in the root's
// real dpkg status database (what an image with Debian's old 2.2.45 would
// hold), leaving every other package as it is.
func setDpkgVersion(t *testing.T, root, version string) {
	t.Helper()
	path := filepath.Join(root, "var", "lib", "dpkg", "status")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)(^Package: waagent\n(?:[^\n]+\n)*?)Version: [^\n]+\n`)
	if !re.Match(b) {
		t.Fatalf("%s: no waagent stanza with a Version", path)
	}
	b = re.ReplaceAll(b, []byte("${1}Version: "+version+"\n"))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// goalStateFolder makes /var/lib/waagent/WALinuxAgent-VER as a downloaded
// agent leaves it (HandlerManifest.json; error.json when given).
func goalStateFolder(t *testing.T, root, ver, errorJSON string) {
	t.Helper()
	dir := filepath.Join(root, "var", "lib", "waagent", "WALinuxAgent-"+ver)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	manifest := `[{"name": "WALinuxAgent", "version": "` + ver + `", "handlerManifest": {"installCommand": "", "uninstallCommand": "", "updateCommand": "", "enableCommand": "python3 -u bin/WALinuxAgent-` + ver + `-py3.8.egg -run-exthandlers", "disableCommand": ""}}]`
	if err := os.WriteFile(filepath.Join(dir, "HandlerManifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	if errorJSON != "" {
		if err := os.WriteFile(filepath.Join(dir, "error.json"), []byte(errorJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func contains(t *testing.T, c check, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(c.Message, w) {
			t.Errorf("check %s: %q does not say %q", c.ID, c.Message, w)
		}
	}
}

// TestCheckRootGoalStateRules: the real Debian 12 image with its dpkg
// status edited to 2.2.45, judged by KB 4049215. Its apt lists (left by
// the image build) offer 2.7.3.0-4.1; Debian's waagent.conf ships
// AutoUpdate.Enabled=n.
func TestCheckRootGoalStateRules(t *testing.T) {
	t.Run("goal-state agent 2.9.1.1 downloaded: supported", func(t *testing.T) {
		root := unpack(t, "waagent")
		setDpkgVersion(t, root, "2.2.45-1")
		goalStateFolder(t, root, "2.9.1.1", "")
		res := runCheck(t, root)
		c := wantCheck(t, res, "agent.version", "pass")
		contains(t, c, "goal-state agent 2.9.1.1", "package 2.2.45-1")
		a := res.rep.Agent
		if a.Version != "2.2.45" || a.GoalStateVersion != "2.9.1.1" || a.GoalStateSource != "folder" || res.code != 0 {
			t.Errorf("version %q goal state %q (%s), exit %d; want 2.2.45, 2.9.1.1 (folder), 0", a.Version, a.GoalStateVersion, a.GoalStateSource, res.code)
		}
	})
	t.Run("goal-state agent blacklisted: the package is judged", func(t *testing.T) {
		root := unpack(t, "waagent")
		setDpkgVersion(t, root, "2.2.45-1")
		goalStateFolder(t, root, "2.9.1.1", `{"last_failure": 1764000000.0, "failure_count": 3, "was_fatal": false, "reason": "exited"}`)
		res := runCheck(t, root)
		c := wantCheck(t, res, "agent.version", "fail")
		contains(t, c, "blacklisted", "2.2.45")
		if res.rep.Agent.GoalStateSource != "package" || res.code != 1 {
			t.Errorf("goal state source %q exit %d, want package, 1", res.rep.Agent.GoalStateSource, res.code)
		}
	})
	t.Run("no goal state, the repositories offer 2.7.3.0: fails", func(t *testing.T) {
		root := unpack(t, "waagent")
		setDpkgVersion(t, root, "2.2.45-1")
		setConf(t, root, "AutoUpdate.Enabled", "y")
		res := runCheck(t, root)
		c := wantCheck(t, res, "agent.version", "fail")
		contains(t, c, "the repositories offer 2.7.3.0")
		if !strings.Contains(c.Fix, "chroot "+root+" apt-get update && chroot "+root+" apt-get install") ||
			!strings.Contains(c.Fix, "agentkeeper ensure --root "+root) {
			t.Errorf("fix %q: want chroot commands and ensure --root for the image", c.Fix)
		}
	})
	// A minimum above what Debian offers (2.7.3.0): the KB's own case.
	t.Run("no goal state, minimum not offered, auto-update on: warns", func(t *testing.T) {
		root := unpack(t, "waagent")
		setDpkgVersion(t, root, "2.2.45-1")
		setConf(t, root, "AutoUpdate.Enabled", "y")
		res := runCheck(t, root, "AGENTKEEPER_LINUX_MIN_VERSION=2.8.0.0")
		c := wantCheck(t, res, "agent.version", "warn")
		contains(t, c, "below the minimum 2.8.0.0", "newer than 2.1.7", "auto-update is on", "at most 2.7.3.0")
		if res.code != 0 || !boolIs(res.rep.Agent.AutoUpdate, true) {
			t.Errorf("exit %d auto_update %s, want 0 and true", res.code, showBool(res.rep.Agent.AutoUpdate))
		}
	})
	t.Run("no goal state, minimum not offered, auto-update off (Debian's default): fails", func(t *testing.T) {
		root := unpack(t, "waagent")
		setDpkgVersion(t, root, "2.2.45-1")
		res := runCheck(t, root, "AGENTKEEPER_LINUX_MIN_VERSION=2.8.0.0")
		c := wantCheck(t, res, "agent.version", "fail")
		contains(t, c, "auto-update is off")
		if !boolIs(res.rep.Agent.AutoUpdate, false) {
			t.Errorf("auto_update %s, want false", showBool(res.rep.Agent.AutoUpdate))
		}
	})
	t.Run("no package lists: fails (the offer is not known)", func(t *testing.T) {
		root := unpack(t, "waagent")
		setDpkgVersion(t, root, "2.2.45-1")
		setConf(t, root, "AutoUpdate.Enabled", "y")
		if err := os.RemoveAll(filepath.Join(root, "var", "lib", "apt", "lists")); err != nil {
			t.Fatal(err)
		}
		res := runCheck(t, root, "AGENTKEEPER_LINUX_MIN_VERSION=2.8.0.0")
		c := wantCheck(t, res, "agent.version", "fail")
		contains(t, c, "not known")
	})
}

// TestEnsureRootGoalStatePackage: with the goal-state agent passing and the
// package at 2.2.45, ensure updates the package from the real repository
// when it offers the minimum, and leaves it (exit 0) when it does not.
func TestEnsureRootGoalStatePackage(t *testing.T) {
	lock := lockEnv(t)
	t.Run("offered: updated", func(t *testing.T) {
		root := unpack(t, "waagent")
		installOldDeb(t, root, "2.2.45")
		goalStateFolder(t, root, "2.9.1.1", "")
		r := runEnsure(t, lock, root, nil)
		if r.code != 0 || r.res.Plan.Action != "update" || !r.res.Plan.IfOffered {
			t.Fatalf("exit %d plan %+v: %s\n%s", r.code, r.res.Plan, r.res.Message, r.dump())
		}
		if v := dpkgWaagent(t, root); !strings.Contains(v, "2.7.3.0-4.1") {
			t.Errorf("dpkg says %q after ensure, want 2.7.3.0-4.1", v)
		}
	})
	t.Run("not offered: left, ready", func(t *testing.T) {
		root := unpack(t, "waagent")
		// The real package's files with its version edited, so every other
		// check (agent.python's azurelinuxagent package included) passes.
		setDpkgVersion(t, root, "2.2.45-1")
		goalStateFolder(t, root, "2.9.1.1", "")
		r := runEnsure(t, lock, root, nil, "AGENTKEEPER_LINUX_MIN_VERSION=2.8.0.0")
		if r.code != 0 || r.res.Outcome != "ready" || !strings.Contains(r.res.Message, "stays") {
			t.Fatalf("exit %d outcome %s: %s\n%s", r.code, r.res.Outcome, r.res.Message, r.dump())
		}
		if s, ok := findStep(r.res.Preconditions, "source"); !ok || s.Status != "skip" || !strings.Contains(s.Message, "below the minimum 2.8.0.0") {
			t.Errorf("source step %+v", s)
		}
		if v := dpkgWaagent(t, root); !strings.Contains(v, "2.2.45") {
			t.Errorf("dpkg says %q, want the package left at 2.2.45", v)
		}
	})
}

// TestCheckRootI386: a real 32-bit Debian 12 (debootstrap --arch=i386) with
// the real waagent is not ready: os.arch fails.
func TestCheckRootI386(t *testing.T) {
	root := unpack(t, "i386")
	res := runCheck(t, root)
	c := wantCheck(t, res, "os.arch", "fail")
	contains(t, c, "32-bit", "Azure Backup does not support 32-bit operating systems", "bin/sh")
	wantCheck(t, res, "agent.installed", "pass")
	if res.code != 1 || !boolIs(res.rep.Ready, false) || res.rep.OS.Arch != "i386" || res.rep.OS.Bits != 32 {
		t.Errorf("exit %d ready %s arch %q bits %d, want 1, false, i386, 32", res.code, showBool(res.rep.Ready), res.rep.OS.Arch, res.rep.OS.Bits)
	}
	// The 64-bit image passes the same check.
	res = runCheck(t, unpack(t, "waagent"))
	c = wantCheck(t, res, "os.arch", "pass")
	contains(t, c, "64-bit x86_64")
}
