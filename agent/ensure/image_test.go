//go:build !windows

package ensure

// Linux images (dpkg databases, unit files, wants links) planned,
// installed into and verified through a fake package manager; the Linux
// half of ensure. Windows runs ensure_windows_path_test.go instead of these:
// the images hold symbolic links.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/pkgmgr"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// fakeManager plays the package manager: Install writes what the real
// package leaves in the image (dpkg status entry and unit file).
type fakeManager struct {
	root       string
	candidate  string
	candErr    error
	installErr error
	delay      time.Duration
	installs   atomic.Int32
	before     func() // runs at the start of Install
	repair     bool   // Install reports a dpkg --configure -a repair
	// runner, when set, runs the install command (its output is the test's).
	runner run.Runner
}

func (m *fakeManager) Name() string { return "apt-get" }
func (m *fakeManager) Commands(pkg string) []string {
	return []string{"chroot " + m.root + " apt-get update", "chroot " + m.root + " apt-get install -y " + pkg}
}
func (m *fakeManager) Candidate(ctx context.Context, pkg string) (string, error) {
	return m.candidate, m.candErr
}
func (m *fakeManager) Install(ctx context.Context, pkg string) (install.Result, error) {
	m.installs.Add(1)
	if m.before != nil {
		m.before()
	}
	var res install.Result
	if m.runner != nil {
		if _, err := m.runner.Run(ctx, run.Cmd{Argv: []string{"apt-get", "install", "-y", pkg}}); err != nil {
			return res, err
		}
	}
	if m.repair {
		res.Add("repair", install.StepPass, "dpkg was interrupted earlier: ran dpkg --configure -a")
	}
	select {
	case <-time.After(m.delay):
	case <-ctx.Done():
		return res, &pkgmgr.CommandError{Cmd: run.Cmd{Argv: []string{"apt-get", "install", pkg}}, ExitCode: -1, Err: ctx.Err()}
	}
	if m.installErr != nil {
		return res, m.installErr
	}
	status := agenttest.BashStanza + "\n" + agenttest.DpkgStanza(pkg, "install ok installed", m.candidate)
	if err := os.WriteFile(filepath.Join(m.root, "var/lib/dpkg/status"), []byte(status), 0o644); err != nil {
		return res, err
	}
	unit := filepath.Join(m.root, "usr/lib/systemd/system/walinuxagent.service")
	os.MkdirAll(filepath.Dir(unit), 0o755)
	return res, os.WriteFile(unit, []byte("[Service]\nExecStart=/usr/sbin/waagent -daemon\n[Install]\nWantedBy=multi-user.target\n"), 0o644)
}
func (m *fakeManager) EnableCommands(unit string) []string {
	return []string{"enable " + unit + " in the image (wants links)"}
}
func (m *fakeManager) EnableService(ctx context.Context, unit string) (string, error) {
	return "in the image (not started)", service.EnableOffline(fsroot.New(m.root), unit)
}

type fixture struct {
	root    string
	mgr     *fakeManager
	opts    Options
	backups []bool // successive answers of the backup probe; the last repeats
	probes  int
	slept   []time.Duration
	mu      sync.Mutex
}

// newFixture makes a Debian 12 image; status is the dpkg status content
// (without the agent when it is only BashStanza).
func newFixture(t *testing.T, status string) *fixture {
	root := t.TempDir()
	files := agenttest.DebianImage("2.7.3.0-4.1")
	files["var/lib/dpkg/status"] = status
	if !strings.Contains(status, "waagent") {
		delete(files, "usr/lib/systemd/system/walinuxagent.service")
		delete(files, "etc/systemd/system/multi-user.target.wants/walinuxagent.service")
	}
	agenttest.Tree(t, root, files)
	f := &fixture{root: root, mgr: &fakeManager{root: root, candidate: "2.7.3.0-4.1"}}
	f.opts = Options{
		Inspect: agent.Options{Root: fsroot.New(root), Runner: &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
			t.Errorf("unexpected command %s", c)
			return run.Result{ExitCode: 1}, nil
		}}},
		LockFile:     filepath.Join(t.TempDir(), "agentkeeper.lock"),
		Poll:         10 * time.Minute,
		IsAdmin:      func() bool { return true },
		NewInstaller: func(string, run.Runner) (install.Installer, error) { return f.mgr, nil },
		Backup: func() backup.Result {
			f.mu.Lock()
			defer f.mu.Unlock()
			running := false
			if len(f.backups) > 0 {
				running = f.backups[min(f.probes, len(f.backups)-1)]
			}
			f.probes++
			if running {
				return backup.Result{Running: true, Evidence: []backup.Evidence{{Kind: "lock", What: "SafeFreeze lock held by pid 42", Where: "/etc/azure/x"}}}
			}
			return backup.Result{Evidence: []backup.Evidence{}}
		},
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.slept = append(f.slept, d)
			return nil
		},
	}
	return f
}

func wantsLink(root string) bool {
	_, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/walinuxagent.service"))
	return err == nil
}

func dpkgStatus(t *testing.T, root string) string {
	b, err := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEnsureInstallsMissingAgent(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	var progress strings.Builder
	f.opts.Progress = func(msg string) { progress.WriteString(msg + "\n") }
	res := Run(context.Background(), f.opts)
	if res.ExitCode != ExitReady || res.Outcome != "ready" || res.Plan.Action != ActionInstall {
		t.Fatalf("exit %d outcome %s plan %+v: %s\n%+v", res.ExitCode, res.Outcome, res.Plan, res.Message, res.Actions)
	}
	if res.VersionBefore != "" || res.VersionAfter != "2.7.3.0" || !res.Report.Ready {
		t.Errorf("before %q after %q ready %v", res.VersionBefore, res.VersionAfter, res.Report.Ready)
	}
	if !wantsLink(f.root) {
		t.Error("unit not enabled in the image")
	}
	ids := map[string]string{}
	for _, s := range append(res.Preconditions, res.Actions...) {
		ids[s.ID] = s.Status
	}
	for _, id := range []string{"admin", "lock", "backup.idle", "source", "install", "enable", "verify"} {
		if ids[id] != StepPass {
			t.Errorf("step %s = %q, want pass (%+v)", id, ids[id], ids)
		}
	}
	if len(res.Plan.Commands) < 2 || !strings.Contains(strings.Join(res.Plan.Commands, "\n"), "apt-get install -y waagent") {
		t.Errorf("plan commands %q", res.Plan.Commands)
	}

	// Idempotent: a second run does nothing.
	res = Run(context.Background(), f.opts)
	if res.ExitCode != ExitReady || res.Plan.Action != ActionNone || f.mgr.installs.Load() != 1 {
		t.Errorf("second run: exit %d action %s installs %d", res.ExitCode, res.Plan.Action, f.mgr.installs.Load())
	}
}

func TestEnsureUpdatesOldAgent(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza+"\n"+agenttest.DpkgStanza("waagent", "install ok installed", "2.2.45-1"))
	res := Run(context.Background(), f.opts)
	if res.ExitCode != ExitReady || res.Plan.Action != ActionUpdate || res.VersionBefore != "2.2.45" || res.VersionAfter != "2.7.3.0" {
		t.Fatalf("exit %d action %s %s→%s: %s", res.ExitCode, res.Plan.Action, res.VersionBefore, res.VersionAfter, res.Message)
	}
}

func TestEnsureFaults(t *testing.T) {
	old := agenttest.BashStanza + "\n" + agenttest.DpkgStanza("waagent", "install ok installed", "2.2.45-1")
	cmdErr := &pkgmgr.CommandError{Cmd: run.Cmd{Argv: []string{"apt-get", "install", "waagent"}}, ExitCode: 100,
		Tail: "E: Unable to locate package waagent"}
	tests := []struct {
		desc     string
		status   string
		setup    func(f *fixture)
		code     int
		outcome  string
		installs int32
		msg      string
	}{
		{desc: "package manager fails", status: old, setup: func(f *fixture) { f.mgr.installErr = cmdErr },
			code: ExitNotReady, outcome: "failed", installs: 1, msg: "Unable to locate package"},
		{desc: "package manager stays locked", status: old,
			setup: func(f *fixture) { f.mgr.installErr = errors.Join(pkgmgr.ErrLocked, cmdErr) },
			code:  ExitDeferred, outcome: "deferred", installs: 1, msg: "locked"},
		{desc: "repositories offer only an old version", status: old, setup: func(f *fixture) { f.mgr.candidate = "2.2.49-1" },
			code: ExitNotReady, outcome: "failed", installs: 0, msg: "2.2.49-1"},
		{desc: "repositories offer nothing", status: agenttest.BashStanza,
			setup: func(f *fixture) { f.mgr.candidate, f.mgr.candErr = "", pkgmgr.ErrNotOffered },
			code:  ExitNotReady, outcome: "failed", installs: 0, msg: "do not offer"},
		{desc: "backup running, no wait", status: old, setup: func(f *fixture) { f.backups = []bool{true} },
			code: ExitDeferred, outcome: "deferred", installs: 0, msg: "SafeFreeze"},
		{desc: "backup running, wait runs out", status: old,
			setup: func(f *fixture) { f.backups = []bool{true}; f.opts.WaitBackup = 25 * time.Minute },
			code:  ExitDeferred, outcome: "deferred", installs: 0, msg: "SafeFreeze"},
		{desc: "backup ends during the wait", status: old,
			setup: func(f *fixture) { f.backups = []bool{true, true, false}; f.opts.WaitBackup = time.Hour },
			code:  ExitReady, outcome: "ready", installs: 1},
		{desc: "backup starts just before apply", status: old,
			setup: func(f *fixture) { f.backups = []bool{false, true} },
			code:  ExitDeferred, outcome: "deferred", installs: 0, msg: "started"},
		{desc: "not root", status: old, setup: func(f *fixture) { f.opts.IsAdmin = func() bool { return false } },
			code: ExitNotReady, outcome: "failed", installs: 0, msg: "root"},
		{desc: "dry run changes nothing", status: old, setup: func(f *fixture) { f.opts.DryRun = true },
			code: ExitNotReady, outcome: "planned", installs: 0, msg: "would update"},
		{desc: "unsupported distribution", status: old, setup: func(f *fixture) {
			os.WriteFile(filepath.Join(f.root, "usr/lib/os-release"), []byte("ID=alpine\nVERSION_ID=3.19\n"), 0o644)
		}, code: ExitNotReady, outcome: "failed", installs: 0, msg: "Alpine"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFixture(t, tc.status)
			tc.setup(f)
			before := dpkgStatus(t, f.root)
			res := Run(context.Background(), f.opts)
			if res.ExitCode != tc.code || res.Outcome != tc.outcome || f.mgr.installs.Load() != tc.installs {
				t.Errorf("exit %d outcome %s installs %d, want %d %s %d: %s", res.ExitCode, res.Outcome, f.mgr.installs.Load(),
					tc.code, tc.outcome, tc.installs, res.Message)
			}
			if tc.msg != "" && !strings.Contains(res.Message+fmtSteps(res), tc.msg) {
				t.Errorf("message %q / steps %s do not mention %q", res.Message, fmtSteps(res), tc.msg)
			}
			if tc.code != ExitReady {
				if got := dpkgStatus(t, f.root); got != before {
					t.Error("the package database changed although nothing was installed")
				}
				if res.Report == nil || res.Report.Ready {
					t.Error("a failed or deferred run must report not ready")
				}
			}
		})
	}
}

func TestEnsureWaitPrintsProgress(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	f.backups = []bool{true, true, true, false}
	f.opts.WaitBackup = time.Hour
	f.opts.Poll = 5 * time.Minute
	var progress strings.Builder
	f.opts.Progress = func(msg string) { progress.WriteString(msg + "\n") }
	res := Run(context.Background(), f.opts)
	if res.ExitCode != ExitReady {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Message)
	}
	if n := strings.Count(progress.String(), "backup running"); n != 3 {
		t.Errorf("%d progress lines about the backup, want 3:\n%s", n, progress.String())
	}
	if len(f.slept) != 3 || f.slept[0] != 5*time.Minute {
		t.Errorf("slept %v", f.slept)
	}
}

// TestEnsureLock: another process holds the lock. With no timeout ensure
// defers at once; with a timeout shorter than the hold it defers when the
// timeout ends; with a longer one it waits and installs only after the
// holder let go.
func TestEnsureLock(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	h := holdLock(t, f.opts.LockFile)

	res := Run(context.Background(), f.opts)
	if res.ExitCode != ExitDeferred || f.mgr.installs.Load() != 0 || !strings.Contains(res.Message, "another agentkeeper") {
		t.Errorf("with the lock held and no timeout: exit %d installs %d: %s", res.ExitCode, f.mgr.installs.Load(), res.Message)
	}

	f.opts.LockTimeout = 300 * time.Millisecond
	res = Run(context.Background(), f.opts)
	if res.ExitCode != ExitDeferred || f.mgr.installs.Load() != 0 || !strings.Contains(res.Message, "still held by another agentkeeper after 300ms") {
		t.Errorf("timeout shorter than the hold: exit %d installs %d: %s", res.ExitCode, f.mgr.installs.Load(), res.Message)
	}

	// A timeout longer than the hold: ensure says it waits, and installs
	// only once the holder has exited.
	f.opts.LockTimeout = 10 * time.Minute
	waiting := make(chan struct{}, 1)
	f.opts.Progress = func(msg string) {
		if strings.Contains(msg, "waiting up to 10m0s for "+f.opts.LockFile) {
			waiting <- struct{}{}
		}
	}
	var released, installedAfterRelease atomic.Bool
	f.mgr.before = func() { installedAfterRelease.Store(released.Load()) }
	done := make(chan *Result, 1)
	go func() { done <- Run(context.Background(), f.opts) }()
	select {
	case <-waiting:
	case res := <-done:
		t.Fatalf("ensure did not wait for the held lock: exit %d installs %d: %s", res.ExitCode, f.mgr.installs.Load(), res.Message)
	}
	released.Store(true)
	h.release(t)
	res = <-done
	if res.ExitCode != ExitReady || f.mgr.installs.Load() != 1 || !installedAfterRelease.Load() {
		t.Errorf("after release: exit %d installs %d, installed after the release: %v: %s",
			res.ExitCode, f.mgr.installs.Load(), installedAfterRelease.Load(), res.Message)
	}
}

func TestEnsureTwoAtOnceExactlyOneApplies(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	f.mgr.delay = 300 * time.Millisecond
	f.opts.LockTimeout = 10 * time.Second
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = Run(context.Background(), f.opts).ExitCode
		}()
	}
	wg.Wait()
	if f.mgr.installs.Load() != 1 || codes[0] != ExitReady || codes[1] != ExitReady {
		t.Errorf("installs %d, exit codes %v: want exactly one install and both ready", f.mgr.installs.Load(), codes)
	}
}

func TestEnsureAfterKilledRun(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	h := holdLock(t, f.opts.LockFile)
	if res := Run(context.Background(), f.opts); res.ExitCode != ExitDeferred {
		t.Errorf("while the child holds the lock: exit %d, want 75", res.ExitCode)
	}
	h.kill()
	res := Run(context.Background(), f.opts)
	if res.ExitCode != ExitReady || f.mgr.installs.Load() != 1 {
		t.Errorf("after the killed run: exit %d installs %d: %s", res.ExitCode, f.mgr.installs.Load(), res.Message)
	}
}

func TestEnsureRepairIsAnAction(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	f.mgr.repair = true
	res := Run(context.Background(), f.opts)
	if res.ExitCode != ExitReady {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Message)
	}
	var ids []string
	for _, a := range res.Actions {
		ids = append(ids, a.ID)
	}
	if got := strings.Join(ids, ","); got != "repair,install,enable,verify" {
		t.Errorf("actions %s, want repair,install,enable,verify:\n%s", got, fmtSteps(res))
	}
	if !strings.Contains(res.Actions[0].Message, "dpkg --configure -a") {
		t.Errorf("repair step %+v does not name dpkg --configure -a", res.Actions[0])
	}
}

// SIGTERM (the context ending) during the install or during the backup wait
// both end "interrupted, retry" with 75 and say what state the package is in.
func TestEnsureInterrupted(t *testing.T) {
	t.Run("during the install", func(t *testing.T) {
		f := newFixture(t, agenttest.BashStanza)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		f.mgr.delay = time.Hour
		f.mgr.before = cancel
		res := Run(ctx, f.opts)
		if res.ExitCode != ExitDeferred || res.Outcome != "deferred" {
			t.Fatalf("exit %d outcome %s, want 75 deferred: %s", res.ExitCode, res.Outcome, res.Message)
		}
		for _, want := range []string{"interrupted while installing waagent", "retry", "not installed"} {
			if !strings.Contains(res.Message, want) {
				t.Errorf("message %q does not say %q", res.Message, want)
			}
		}
		if s, ok := findStep(res.Actions, "install"); !ok || s.Status != StepDeferred {
			t.Errorf("install step %+v, want deferred", s)
		}
		if res.Report == nil || len(res.Report.Checks) < 3 {
			t.Errorf("no report of the state after the interruption: %+v", res.Report)
		}
	})
	t.Run("during the backup wait", func(t *testing.T) {
		f := newFixture(t, agenttest.BashStanza+"\n"+agenttest.DpkgStanza("waagent", "install ok installed", "2.2.45-1"))
		f.backups = []bool{true}
		f.opts.WaitBackup = time.Hour
		f.opts.Sleep = func(ctx context.Context, d time.Duration) error { return context.Canceled }
		res := Run(context.Background(), f.opts)
		if res.ExitCode != ExitDeferred || f.mgr.installs.Load() != 0 {
			t.Fatalf("exit %d installs %d, want 75 and none: %s", res.ExitCode, f.mgr.installs.Load(), res.Message)
		}
		for _, want := range []string{"interrupted", "nothing was changed", "installed, version 2.2.45", "retry"} {
			if !strings.Contains(res.Message, want) {
				t.Errorf("message %q does not say %q", res.Message, want)
			}
		}
	})
}

// TestEnsureGoalStatePackageBelowMinimum: the package is 2.2.45 but the
// goal-state agent 2.9.1.1 passes (KB 4049215's example). ensure updates
// the package when the repositories offer the minimum, and otherwise
// leaves it, saying why, with the machine ready.
func TestEnsureGoalStatePackageBelowMinimum(t *testing.T) {
	old := agenttest.BashStanza + "\n" + agenttest.DpkgStanza("waagent", "install ok installed", "2.2.45-1")
	setup := func(t *testing.T, candidate string) *fixture {
		f := newFixture(t, old)
		dir := filepath.Join(f.root, "var/lib/waagent/WALinuxAgent-2.9.1.1")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "HandlerManifest.json"), []byte("[]"), 0o644); err != nil {
			t.Fatal(err)
		}
		f.mgr.candidate = candidate
		return f
	}
	t.Run("offered: updated", func(t *testing.T) {
		f := setup(t, "2.7.3.0-4.1")
		res := Run(context.Background(), f.opts)
		if res.ExitCode != ExitReady || res.Plan.Action != ActionUpdate || !res.Plan.IfOffered || f.mgr.installs.Load() != 1 ||
			res.VersionBefore != "2.2.45" || res.VersionAfter != "2.7.3.0" {
			t.Errorf("exit %d plan %+v installs %d %s→%s: %s", res.ExitCode, res.Plan, f.mgr.installs.Load(), res.VersionBefore, res.VersionAfter, res.Message)
		}
	})
	t.Run("not offered: left, ready", func(t *testing.T) {
		f := setup(t, "2.2.45-1")
		res := Run(context.Background(), f.opts)
		if res.ExitCode != ExitReady || res.Outcome != "ready" || f.mgr.installs.Load() != 0 ||
			!strings.Contains(res.Message, "below the minimum 2.2.53.1") || !strings.Contains(res.Message, "stays") {
			t.Errorf("exit %d outcome %s installs %d: %s", res.ExitCode, res.Outcome, f.mgr.installs.Load(), res.Message)
		}
		if s, ok := findStep(res.Preconditions, "source"); !ok || s.Status != StepSkip || !strings.Contains(s.Message, "left as it is") {
			t.Errorf("source step %+v", s)
		}
	})
}

// TestEnsureStreamsOutput: the package manager's lines reach Output, after
// the progress line of the install step, through the runner ensure gives
// the package manager.
func TestEnsureStreamsOutput(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	var mu sync.Mutex
	var events []string
	f.opts.Progress = func(msg string) { mu.Lock(); events = append(events, "progress: "+msg); mu.Unlock() }
	f.opts.Output = func(line string) { mu.Lock(); events = append(events, "output: "+line); mu.Unlock() }
	f.opts.Inspect.Runner = &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
		if c.Argv[0] != "apt-get" {
			t.Errorf("unexpected command %s", c)
		}
		return run.Result{Stdout: []byte("Unpacking waagent (2.7.3.0-4.1) ...\nSetting up waagent (2.7.3.0-4.1) ...\n")}, nil
	}}
	f.opts.NewInstaller = func(_ string, r run.Runner) (install.Installer, error) {
		f.mgr.runner = r
		return f.mgr, nil
	}
	res := Run(context.Background(), f.opts)
	if res.ExitCode != ExitReady {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Message)
	}
	got := strings.Join(events, "\n")
	want := "progress: install waagent with apt-get\noutput: Unpacking waagent (2.7.3.0-4.1) ...\noutput: Setting up waagent (2.7.3.0-4.1) ..."
	if !strings.Contains(got, want) {
		t.Errorf("events:\n%s\nwant them to contain:\n%s", got, want)
	}

	// Without Output nothing is passed on.
	f = newFixture(t, agenttest.BashStanza)
	f.opts.Inspect.Runner = &run.Fake{Respond: func(run.Cmd) (run.Result, error) { return run.Result{Stdout: []byte("x\n")}, nil }}
	f.opts.NewInstaller = func(_ string, r run.Runner) (install.Installer, error) {
		if _, ok := r.(*run.Fake); !ok {
			t.Errorf("without Output the runner was wrapped: %T", r)
		}
		return f.mgr, nil
	}
	Run(context.Background(), f.opts)
}
