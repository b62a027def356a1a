package pkgmgr

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb/pkgdbtest"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// rpmFixture holds the packages of one distribution, built once per test.
type rpmFixture struct {
	d                   pkgdbtest.Distro
	base, old, new, bad string
	// slow's %post waits until something is written to /run/hold.fifo.
	slow string
}

func newRPMFixture(t *testing.T, d pkgdbtest.Distro) rpmFixture {
	t.Helper()
	return rpmFixture{d: d,
		base: pkgdbtest.Build(t, pkgdbtest.BaseSpec(t, d)),
		old:  pkgdbtest.Build(t, pkgdbtest.AgentSpec(d, "2.2.40.1", false)),
		new:  pkgdbtest.Build(t, pkgdbtest.AgentSpec(d, "2.9.1.1", false)),
		bad:  pkgdbtest.Build(t, pkgdbtest.AgentSpec(d, "2.10.0.8", true)),
		slow: pkgdbtest.Build(t, slowSpec(d)),
	}
}

// slowSpec is the agent at 2.11.0.1 whose %post says it started
// (/etc/post.started) and then blocks reading /run/hold.fifo.
func slowSpec(d pkgdbtest.Distro) pkgdbtest.Spec {
	s := pkgdbtest.AgentSpec(d, "2.11.0.1", false)
	s.Post = "echo started > /etc/post.started\nread line < /run/hold.fifo\necho \"released: $line\" > /etc/post.released"
	return s
}

// root makes a fresh root whose only repository holds rpms.
func (f rpmFixture) root(t *testing.T, rpms ...string) string {
	t.Helper()
	root := pkgdbtest.NewRoot(t, f.d, f.base)
	pkgdbtest.AddRepo(t, root, f.d, "agentkeeper-test", pkgdbtest.RepoFor(t, f.d, rpms...))
	return root
}

func (f rpmFixture) mgr(t *testing.T, root string, lockTimeout time.Duration) Manager {
	t.Helper()
	log := slog.New(slog.NewTextHandler(tLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := New(f.d.Installer(), fsroot.New(root), run.Exec{}, Options{LockTimeout: lockTimeout, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantRPM fails unless rpm itself lists want ("" for nothing) for the agent
// in the root's database, and no second database appeared in the root.
func (f rpmFixture) wantRPM(t *testing.T, root, want string) {
	t.Helper()
	if got := pkgdbtest.Installed(t, root, f.d, f.d.Agent); got != want {
		t.Errorf("rpm -q %s in the root: %q, want %q", f.d.Agent, got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "root/.rpmdb")); err == nil {
		t.Error("a second RPM database appeared in the root's /root/.rpmdb (the host rpm's default)")
	}
}

func (f rpmFixture) nvr(version string) string {
	return f.d.Agent + "-" + version + "-" + f.d.AgentRelease
}

// holdRPMLock takes rpm's transaction lock of the root the way rpm does
// (an fcntl write lock on <dbpath>/.rpm.lock) in this process; the package
// managers run as child processes, so they meet it. It is released at the
// end of the test, or earlier by calling the returned function.
func holdRPMLock(t *testing.T, root string, d pkgdbtest.Distro) func() {
	t.Helper()
	return holdFcntlLock(t, filepath.Join(root, d.DBPath, ".rpm.lock"))
}

// TestRealDnfZypper drives Debian 12's real dnf (--installroot) and zypper
// (--root) through the Manager on RPM roots made here (pkgdbtest: a real
// RPM database, a release package, /bin/sh for scriptlets) with file:
// repositories made by createrepo_c. Nothing but local files is used (it
// passes inside `unshare -n`, with no network at all). yum and tdnf are not
// packaged in Debian: they are tested against recorded outputs only
// (pkgmgr_test.go, parse_test.go).
func TestRealDnfZypper(t *testing.T) {
	pkgdbtest.RequireRepoTools(t)
	old := lockRetryEvery
	lockRetryEvery = 500 * time.Millisecond
	defer func() { lockRetryEvery = old }()
	ctx := context.Background()

	for _, d := range []pkgdbtest.Distro{pkgdbtest.RHEL9, pkgdbtest.SLES15} {
		t.Run(d.Installer(), func(t *testing.T) {
			f := newRPMFixture(t, d)

			t.Run("install", func(t *testing.T) {
				root := f.root(t, f.old, f.new)
				m := f.mgr(t, root, time.Minute)
				cand, err := m.Candidate(ctx, d.Agent)
				if err != nil || cand != "2.9.1.1-"+d.AgentRelease {
					t.Fatalf("Candidate = %q, %v; want the newest, 2.9.1.1-%s", cand, err, d.AgentRelease)
				}
				if err := m.Install(ctx, d.Agent); err != nil {
					t.Fatalf("Install: %v", err)
				}
				f.wantRPM(t, root, f.nvr("2.9.1.1"))
				p, found, err := pkgdb.RPM(ctx, run.Exec{}, fsroot.New(root), d.Agent)
				if err != nil || !found || p.Version != "2.9.1.1-"+d.AgentRelease {
					t.Errorf("pkgdb.RPM = %+v, %v, %v", p, found, err)
				}
				if _, err := os.Stat(filepath.Join(root, "usr/lib/systemd/system/waagent.service")); err != nil {
					t.Errorf("the package's files are not in the root: %v", err)
				}
				// The %post ran inside the root.
				if _, err := os.Stat(filepath.Join(root, "etc/waagent-post.ran")); err != nil {
					t.Errorf("%%post did not run in the root: %v", err)
				}
				if err := m.Install(ctx, d.Agent); err != nil {
					t.Errorf("second Install (nothing to do): %v", err)
				}
			})

			t.Run("update", func(t *testing.T) {
				root := f.root(t, f.new)
				pkgdbtest.MustRun(t, "rpm", "--root", root, "--dbpath", d.DBPath, "-i", f.old)
				f.wantRPM(t, root, f.nvr("2.2.40.1"))
				m := f.mgr(t, root, time.Minute)
				if cand, err := m.Candidate(ctx, d.Agent); err != nil || cand != "2.9.1.1-"+d.AgentRelease {
					t.Fatalf("Candidate = %q, %v", cand, err)
				}
				if err := m.Install(ctx, d.Agent); err != nil {
					t.Fatalf("Install: %v", err)
				}
				f.wantRPM(t, root, f.nvr("2.9.1.1"))
			})

			t.Run("roll back to an offered older version", func(t *testing.T) {
				root := f.root(t, f.old, f.new)
				pkgdbtest.MustRun(t, "rpm", "--root", root, "--dbpath", d.DBPath, "-i", f.new)
				m := f.mgr(t, root, time.Minute).(Reverter)
				offered, err := m.Offered(ctx, d.Agent)
				if err != nil {
					t.Fatalf("Offered: %v", err)
				}
				for _, v := range []string{"2.2.40.1-" + d.AgentRelease, "2.9.1.1-" + d.AgentRelease} {
					if !contains(offered, v) {
						t.Errorf("Offered = %q, lacks %s", offered, v)
					}
				}
				if err := m.InstallVersion(ctx, d.Agent, "2.2.40.1-"+d.AgentRelease); err != nil {
					t.Fatalf("InstallVersion: %v", err)
				}
				f.wantRPM(t, root, f.nvr("2.2.40.1"))
			})

			t.Run("only an old version offered", func(t *testing.T) {
				root := f.root(t, f.old)
				cand, err := f.mgr(t, root, time.Minute).Candidate(ctx, d.Agent)
				if err != nil || cand != "2.2.40.1-"+d.AgentRelease {
					t.Fatalf("Candidate = %q, %v; want 2.2.40.1-%s", cand, err, d.AgentRelease)
				}
			})

			t.Run("not offered", func(t *testing.T) {
				root := f.root(t, f.base)
				m := f.mgr(t, root, time.Minute)
				if _, err := m.Candidate(ctx, d.Agent); !errors.Is(err, ErrNotOffered) {
					t.Errorf("Candidate: err = %v, want ErrNotOffered", err)
				}
				if err := m.Install(ctx, d.Agent); !errors.Is(err, ErrNotOffered) {
					t.Errorf("Install: err = %v, want ErrNotOffered", err)
				}
				f.wantRPM(t, root, "")
			})

			t.Run("failing post", func(t *testing.T) {
				root := f.root(t, f.bad)
				err := f.mgr(t, root, time.Minute).Install(ctx, d.Agent)
				var ce *CommandError
				if !errors.Is(err, ErrScriptlet) || !errors.As(err, &ce) {
					t.Fatalf("Install: err = %v, want ErrScriptlet with the command", err)
				}
				t.Logf("Install: %v", err)
				// rpm keeps a package whose %post failed.
				f.wantRPM(t, root, f.nvr("2.10.0.8"))
			})

			t.Run("rpm lock held", func(t *testing.T) {
				root := f.root(t, f.new)
				release := holdRPMLock(t, root, d)
				m := f.mgr(t, root, 2*time.Second)
				start := time.Now()
				err := m.Install(ctx, d.Agent)
				waited := time.Since(start)
				if !errors.Is(err, ErrLocked) {
					t.Fatalf("Install: err = %v, want ErrLocked", err)
				}
				if waited < 2*time.Second {
					t.Errorf("gave up after %s, before the 2s lock timeout", waited)
				}
				f.wantRPM(t, root, "")
				release()
				if err := m.Install(ctx, d.Agent); err != nil {
					t.Fatalf("Install after the lock was released: %v", err)
				}
				f.wantRPM(t, root, f.nvr("2.9.1.1"))
			})

			t.Run("stop during the transaction", func(t *testing.T) {
				testStopDuringTransaction(t, f)
			})

			t.Run("package manager lock held", func(t *testing.T) {
				root := f.root(t, f.new)
				// dnf's and zypper's own locks are pid files naming a live
				// process (this one) in the root.
				pidFile := "var/cache/dnf/metadata_lock.pid"
				if d.Zypper {
					pidFile = "run/zypp.pid"
				}
				writeTestFile(t, filepath.Join(root, pidFile), strconv.Itoa(os.Getpid()))
				m := f.mgr(t, root, 2*time.Second)
				start := time.Now()
				_, err := m.Candidate(ctx, d.Agent)
				if !errors.Is(err, ErrLocked) {
					t.Fatalf("Candidate: err = %v, want ErrLocked", err)
				}
				if waited := time.Since(start); waited < 2*time.Second {
					t.Errorf("gave up after %s, before the 2s lock timeout", waited)
				}
				if err := os.Remove(filepath.Join(root, pidFile)); err != nil {
					t.Fatal(err)
				}
				if err := m.Install(ctx, d.Agent); err != nil {
					t.Fatalf("Install after the lock was released: %v", err)
				}
				f.wantRPM(t, root, f.nvr("2.9.1.1"))
			})
		})
	}
}

// testStopDuringTransaction cancels Install's context (what SIGTERM does)
// while rpm runs the package's %post: the package manager must be let
// finish, not killed mid-transaction, and the package end up installed;
// with a short StopGrace it is stopped after the grace.
func testStopDuringTransaction(t *testing.T, f rpmFixture) {
	root := f.root(t, f.slow)
	fifo := filepath.Join(root, "run/hold.fifo")
	if err := os.MkdirAll(filepath.Dir(fifo), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Whatever happens, let a blocked %post go at the end.
	t.Cleanup(func() { releaseFIFO(fifo) })

	log := slog.New(slog.NewTextHandler(tLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := New(f.d.Installer(), fsroot.New(root), run.Exec{}, Options{LockTimeout: time.Minute, StopGrace: time.Minute, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Install(ctx, f.d.Agent) }()
	waitFor(t, filepath.Join(root, "etc/post.started"), done)
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Install returned %v right after the stop request, while %%post was running: the package manager was cut off", err)
	case <-time.After(1500 * time.Millisecond):
	}
	releaseFIFO(fifo)
	var ierr error
	select {
	case ierr = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Install did not return within a minute of the scriptlet ending")
	}
	t.Logf("Install after the stop request: %v", ierr)
	// dnf's install finished, and its upgrade was not started after the stop;
	// zypper's one install finished.
	if ierr != nil && !errors.Is(ierr, context.Canceled) {
		t.Errorf("Install: err = %v, want nil or context.Canceled", ierr)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/post.released")); err != nil {
		t.Errorf("the %%post did not run to its end: %v", err)
	}
	f.wantRPM(t, root, f.nvr("2.11.0.1"))

	// Bounded: with a 2 s grace and the %post never released, the package
	// manager is stopped after the grace.
	root2 := f.root(t, f.slow)
	fifo2 := filepath.Join(root2, "run/hold.fifo")
	if err := os.MkdirAll(filepath.Dir(fifo2), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(fifo2, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseFIFO(fifo2) })
	m2, err := New(f.d.Installer(), fsroot.New(root2), run.Exec{}, Options{LockTimeout: time.Minute, StopGrace: 2 * time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	done2 := make(chan error, 1)
	go func() { done2 <- m2.Install(ctx2, f.d.Agent) }()
	waitFor(t, filepath.Join(root2, "etc/post.started"), done2)
	cancel2()
	start := time.Now()
	select {
	case err := <-done2:
		if waited := time.Since(start); waited < 2*time.Second || !errors.Is(err, context.Canceled) {
			t.Errorf("Install returned %v after %s, want context.Canceled after the 2 s grace", err, waited)
		}
	case <-time.After(time.Minute):
		t.Fatal("Install did not return within a minute although the grace was 2 s")
	}
}

// waitFor waits until path exists, failing when done delivers first.
func waitFor(t *testing.T, path string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("Install returned (%v) before %s appeared", err, path)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 2 minutes", path)
		}
	}
}

// releaseFIFO writes a line to fifo if a reader is waiting on it.
func releaseFIFO(fifo string) {
	fh, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return // no reader (ENXIO), or gone
	}
	fh.WriteString("go\n")
	fh.Close()
}
