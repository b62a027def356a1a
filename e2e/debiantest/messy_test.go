//go:build linux

package debiantest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// localAptRepo makes the root's only apt source a local file: repository
// (dpkg-scanpackages --multiversion) holding debs, in /srv/agentkeeper-repo.
func localAptRepo(t *testing.T, root string, debs ...string) {
	t.Helper()
	dir := filepath.Join(root, "srv/agentkeeper-repo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range debs {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(d)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("dpkg-scanpackages", "--multiversion", ".", "/dev/null")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dpkg-scanpackages (Debian package dpkg-dev; make test installs it): %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Packages"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/apt/sources.list"), []byte("deb [trusted=yes] file:/srv/agentkeeper-repo ./\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	extra, _ := filepath.Glob(filepath.Join(root, "etc/apt/sources.list.d/*"))
	for _, p := range extra {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}

// An update whose new version fails its postinst leaves the agent worse
// (half-configured): ensure rolls back to the version installed before,
// which the local repository still offers, and says rolled-back with both
// versions.
func TestEnsureRollsBackBadUpdate(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	good, bad := rollbackDebs(t, root)
	localAptRepo(t, root, good, bad)

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 1, "rolled-back", "update")
	t.Logf("outcome %s: %s", r.res.Outcome, r.res.Message)
	for _, a := range r.res.Actions {
		t.Logf("action %s %s: %.300s", a.ID, a.Status, a.Message)
	}
	if !strings.Contains(r.res.Message, "2.10.0.8-1") || !strings.Contains(r.res.Message, "2.2.45-1") {
		t.Errorf("message %q should name the bad 2.10.0.8-1 and the restored 2.2.45-1", r.res.Message)
	}
	if s, ok := findStep(r.res.Actions, "install"); !ok || s.Status != "fail" || !strings.Contains(s.Message, "failing on purpose") {
		t.Errorf("action install = %+v (found %v), want fail with the postinst's message", s, ok)
	}
	if s, ok := findStep(r.res.Actions, "rollback"); !ok || s.Status != "pass" {
		t.Errorf("action rollback = %+v (found %v), want pass\n%s", s, ok, r.dump())
	}
	if a, b := str(r.res.VersionBefore), str(r.res.VersionAfter); a != "2.2.45" || b != "2.2.45" {
		t.Errorf("version_before %q, version_after %q; want 2.2.45 for both (back where it was)", a, b)
	}
	if got, want := dpkgWaagent(t, root), "2.2.45-1 install ok installed"; got != want {
		t.Errorf("dpkg says waagent is %q, want %q", got, want)
	}
}

// rollbackDebs installs the stand-in waagent 2.2.45-1 into root and returns
// its .deb and a 2.10.0.8-1 whose postinst fails.
func rollbackDebs(t *testing.T, root string) (good, bad string) {
	t.Helper()
	installOldDeb(t, root, "2.2.45-1")
	script, err := filepath.Abs(filepath.Join("..", "debian", "olddeb.sh"))
	if err != nil {
		t.Fatal(err)
	}
	good = filepath.Join(t.TempDir(), "waagent_2.2.45-1_all.deb")
	if out, err := exec.Command("bash", script, "-v", "2.2.45-1", good).CombinedOutput(); err != nil {
		t.Fatalf("olddeb.sh: %v\n%s", err, out)
	}
	bad = pkgdbtest.BuildDeb(t, "waagent", "2.10.0.8-1", "echo 'waagent postinst: failing on purpose' >&2\nexit 1")
	return good, bad
}

// When the repositories no longer offer the version installed before, the
// bad update stays a failure, said as such, and nothing else is tried.
func TestEnsureBadUpdateWithoutOldVersion(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	_, bad := rollbackDebs(t, root)
	localAptRepo(t, root, bad)

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 1, "failed", "update")
	if s, ok := findStep(r.res.Actions, "rollback"); !ok || s.Status != "skip" || !strings.Contains(s.Message, "no longer offer waagent 2.2.45-1") {
		t.Errorf("action rollback = %+v (found %v), want skip saying 2.2.45-1 is no longer offered\n%s", s, ok, r.dump())
	}
	if got, want := dpkgWaagent(t, root), "2.10.0.8-1 install ok half-configured"; got != want {
		t.Errorf("dpkg says waagent is %q, want %q", got, want)
	}
}

// agentkeeper killed (SIGKILL) while apt-get installs the agent: the package
// manager runs in a process group of its own and goes on; the next ensure
// waits for its lock and defers; once it is done, ensure finishes the job
// (enables the unit) with nothing to repair.
func TestEnsureKilledDuringInstall(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	slow := pkgdbtest.BuildDeb(t, "waagent", "2.9.1.1-1agentkeeper",
		"if [ -e /run/agentkeeper-hold ]; then echo started > /run/agentkeeper-postinst; read line < /run/agentkeeper-hold.fifo; fi\nmkdir -p /lib/systemd/system\nprintf '[Service]\\nExecStart=/usr/sbin/waagent -daemon\\n[Install]\\nWantedBy=multi-user.target\\n' > /lib/systemd/system/walinuxagent.service")
	localAptRepo(t, root, slow)
	if err := os.WriteFile(filepath.Join(root, "run/agentkeeper-hold"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(root, "run/agentkeeper-hold.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	release := func() {
		os.Remove(filepath.Join(root, "run/agentkeeper-hold"))
		if fh, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			fh.WriteString("go\n")
			fh.Close()
		}
	}
	t.Cleanup(release)

	first := exec.Command(binPath, "ensure", "--root", root, "--json")
	first.Env = append(cleanEnv(), lock)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	started := filepath.Join(root, "run/agentkeeper-postinst")
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			first.Process.Kill()
			first.Wait()
			t.Fatal("the postinst did not start within 2 minutes")
		}
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	t.Log("agentkeeper killed (SIGKILL) while the agent's postinst runs")

	// apt-get and dpkg go on (the postinst is still waiting): the next
	// ensure meets their lock, waits install.lock_timeout and defers.
	r := runEnsure(t, lock, root, nil, "AGENTKEEPER_INSTALL_LOCK_TIMEOUT=3s")
	wantEnsure(t, r, 75, "deferred", "")
	t.Logf("second ensure: %s", r.res.Message)
	if !strings.Contains(r.res.Message, "lock") || strings.Contains(r.res.Message, "agentkeeper.lock") {
		t.Errorf("deferred for %q, want the package manager's lock (the killed run's own lock is gone with it)", r.res.Message)
	}
	if got := dpkgWaagent(t, root); got != "2.9.1.1-1agentkeeper install ok half-configured" {
		t.Errorf("while the orphaned dpkg runs, dpkg says waagent is %q, want it half-configured", got)
	}

	release()
	// The orphaned apt-get finishes by itself.
	for deadline := time.Now().Add(2 * time.Minute); dpkgWaagent(t, root) != "2.9.1.1-1agentkeeper install ok installed"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the orphaned dpkg did not finish: waagent is %q", dpkgWaagent(t, root))
		}
	}
	r = runEnsure(t, lock, root, nil)
	if _, ok := findStep(r.res.Actions, "repair"); ok {
		t.Errorf("the next ensure repaired something: %+v", r.res.Actions)
	}
	if s, ok := findStep(r.res.Actions, "enable"); !ok || s.Status != "pass" {
		t.Errorf("action enable = %+v (found %v), want the unit the killed run did not get to enabled\n%s", s, ok, r.dump())
	}
	if _, err := os.Lstat(filepath.Join(root, wantsLink)); err != nil {
		t.Errorf("the unit is not enabled in the image: %v", err)
	}
}
