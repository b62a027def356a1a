package pkgmgr

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/internal/debroot"
	"github.com/agentkeeper/agentkeeper/internal/testenv"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// tLog sends slog lines to the test log.
type tLog struct{ t *testing.T }

func (w tLog) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// TestRealDebianInstall installs Debian 12's real waagent package into a
// fresh Debian 12 root (an overlay, internal/debroot) with apt-get run
// through chroot, from the repositories the root's own sources.list names. It needs the base root
// tarball of e2e/debian/mkroot.sh (AGENTKEEPER_DEBIAN_BASE_TAR, e.g.
// `bash e2e/debian/mkroot.sh path base`) and root privileges; with
// AGENTKEEPER_E2E=1 a missing prerequisite fails the test instead of
// skipping it.
func TestRealDebianInstall(t *testing.T) {
	tarball := os.Getenv("AGENTKEEPER_DEBIAN_BASE_TAR")
	need := func(format string, args ...any) {
		t.Helper()
		testenv.Need(t, format+" (set AGENTKEEPER_DEBIAN_BASE_TAR to the tarball of `bash e2e/debian/mkroot.sh path base`)", args...)
	}
	switch {
	case tarball == "":
		need("AGENTKEEPER_DEBIAN_BASE_TAR is not set")
	case !fileExists(tarball):
		need("AGENTKEEPER_DEBIAN_BASE_TAR=%s does not exist (build it with `bash e2e/debian/mkroot.sh build base`)", tarball)
	case os.Geteuid() != 0:
		need("not running as root (unpacking the root and chroot need it)")
	}
	if _, err := exec.LookPath("chroot"); err != nil {
		t.Fatalf("chroot not found: %v", err)
	}

	dir := debroot.CopyTar(t, tarball)
	root := fsroot.New(dir)
	if p, found, err := pkgdb.Dpkg(root, "waagent"); err != nil || (found && p.Installed) {
		t.Fatalf("base root should not hold waagent: %+v found=%v err=%v", p, found, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(tLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := New("apt-get", root, run.Exec{}, Options{LockTimeout: time.Minute, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range m.Plan("waagent") {
		t.Logf("plan: %s", c)
	}

	// apt-get does not wait for its lists lock itself: Candidate (apt-get
	// update) retries until the lock timeout, then ErrLocked.
	old := lockRetryEvery
	lockRetryEvery = 500 * time.Millisecond
	defer func() { lockRetryEvery = old }()
	short, err := New("apt-get", root, run.Exec{}, Options{LockTimeout: 2 * time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	release := holdFcntlLock(t, root.Join("/var/lib/apt/lists/lock"))
	wantLocked(t, func() error { _, err := short.Candidate(ctx, "waagent"); return err }, 2*time.Second)
	release()

	t1 := time.Now()
	cand, err := m.Candidate(ctx, "waagent")
	if err != nil {
		t.Fatalf("Candidate: %v", err)
	}
	t.Logf("Candidate (apt-get update + apt-cache policy) = %q in %s", cand, time.Since(t1).Round(time.Millisecond))
	if cand != "2.7.3.0-4.1" {
		t.Errorf("Candidate = %q, want 2.7.3.0-4.1 (Debian 12's waagent)", cand)
	}

	// Nor for its archives lock (the download): Install retries the same way.
	release = holdFcntlLock(t, root.Join("/var/cache/apt/archives/lock"))
	wantLocked(t, func() error { return short.Install(ctx, "waagent") }, 2*time.Second)
	release()
	if p, found, _ := pkgdb.Dpkg(root, "waagent"); found && p.Installed {
		t.Fatal("waagent got installed while the archives lock was held")
	}

	t2 := time.Now()
	if err := m.Install(ctx, "waagent"); err != nil {
		t.Fatalf("Install: %v", err)
	}
	t.Logf("Install took %s", time.Since(t2).Round(time.Millisecond))

	p, found, err := pkgdb.Dpkg(root, "waagent")
	if err != nil || !found || !p.Installed {
		t.Fatalf("after Install, dpkg status: %+v found=%v err=%v", p, found, err)
	}
	if p.Version != cand {
		t.Errorf("installed %s, Candidate said %s", p.Version, cand)
	}
	// The postinst enabled the unit, and no policy-rc.d was needed.
	link := "/etc/systemd/system/multi-user.target.wants/walinuxagent.service"
	if target, err := os.Readlink(root.Join(link)); err != nil || target != "/lib/systemd/system/walinuxagent.service" {
		t.Errorf("%s -> %q, %v; want the unit enabled", link, target, err)
	}
	if fileExists(root.Join("/usr/sbin/policy-rc.d")) {
		t.Error("a policy-rc.d appeared in the root")
	}

	// A second Install is a successful no-op.
	if err := m.Install(ctx, "waagent"); err != nil {
		t.Fatalf("second Install: %v", err)
	}
}

// holdFcntlLock takes an fcntl write lock on path in this process, as apt
// and dpkg do on their lock files; the package managers run as child
// processes and meet it. The returned function (also run at the end of the
// test) releases it.
func holdFcntlLock(t *testing.T, path string) func() {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(fh.Fd(), syscall.F_SETLK, &lk); err != nil {
		t.Fatalf("lock %s: %v", path, err)
	}
	done := false
	release := func() {
		if !done {
			done = true
			fh.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// wantLocked runs f and fails unless it returns ErrLocked, not before the
// lock timeout.
func wantLocked(t *testing.T, f func() error, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	err := f()
	waited := time.Since(start)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if waited < timeout {
		t.Errorf("gave up after %s, before the lock timeout %s", waited.Round(time.Millisecond), timeout)
	}
	t.Logf("locked: gave up after %s: %v", waited.Round(time.Millisecond), err)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
