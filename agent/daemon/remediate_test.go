//go:build !windows

package daemon

// The service's remediation decision against ensure itself: a Debian 12
// image checked by the real agent.Inspect, planned by ensure.PlanFor and
// changed by the real ensure.Run through a fake package manager that edits
// the image's dpkg status. (Not on Windows: the images hold symbolic links.)

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/agent/ensure"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// fakePkg plays apt-get on an image: it offers one candidate, installs it
// by writing the dpkg status (half-configured for a broken version, as a
// failing postinst leaves it) and can put an offered version back.
type fakePkg struct {
	root string

	mu        sync.Mutex
	candidate string          // what the repositories offer
	broken    map[string]bool // versions whose install fails to configure
	installed []string        // each version Install or InstallVersion wrote
}

func (f *fakePkg) offer(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.candidate = v
}

func (f *fakePkg) installs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.installed)
}

func (f *fakePkg) write(pkg, ver string, broken bool) error {
	f.installed = append(f.installed, ver)
	st := "install ok installed"
	if broken {
		st = "install ok half-configured"
	}
	return os.WriteFile(filepath.Join(f.root, "var/lib/dpkg/status"),
		[]byte(agenttest.BashStanza+"\n"+agenttest.DpkgStanza(pkg, st, ver)), 0o644)
}

func (f *fakePkg) Name() string { return "apt-get" }
func (f *fakePkg) Commands(pkg string) []string {
	return []string{"chroot " + f.root + " apt-get install -y " + pkg}
}
func (f *fakePkg) Candidate(context.Context, string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.candidate, nil
}
func (f *fakePkg) Install(_ context.Context, pkg string) (install.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var res install.Result
	if f.broken[f.candidate] {
		f.write(pkg, f.candidate, true)
		return res, errors.New("dpkg: error processing package waagent (--configure): installed post-installation script subprocess returned error exit status 1")
	}
	return res, f.write(pkg, f.candidate, false)
}
func (f *fakePkg) Offered(context.Context, string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []string{"2.2.45-1", f.candidate}, nil
}
func (f *fakePkg) InstallVersion(_ context.Context, pkg, ver string) (install.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return install.Result{}, f.write(pkg, ver, false)
}
func (f *fakePkg) EnableCommands(unit string) []string { return []string{"enable " + unit} }
func (f *fakePkg) EnableService(_ context.Context, unit string) (string, error) {
	return "in the image (not started)", service.EnableOffline(fsroot.New(f.root), unit)
}

// imageConfig is a service configuration (install.auto on) for a Debian
// 12 image holding waagent 2.2.45-1, wired as cmd/agentkeeper wires the
// real one: Plan is ensure.PlanFor and Ensure ensure.Run.
func imageConfig(t *testing.T, extra map[string]string) (Config, *fakePkg) {
	root := t.TempDir()
	files := agenttest.DebianImage("2.2.45-1")
	for k, v := range extra {
		files[k] = v
	}
	agenttest.Tree(t, root, files)
	pkg := &fakePkg{root: root, broken: map[string]bool{}}
	eo := ensure.Options{
		Inspect: agent.Options{Root: fsroot.New(root), Runner: &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
			t.Errorf("unexpected command %s", c)
			return run.Result{ExitCode: 1}, nil
		}}},
		LockFile:     filepath.Join(t.TempDir(), "agentkeeper.lock"),
		IsAdmin:      func() bool { return true },
		NewInstaller: func(string, run.Runner) (install.Installer, error) { return pkg, nil },
		Backup:       func() backup.Result { return backup.Result{Evidence: []backup.Evidence{}} },
		Sleep:        func(context.Context, time.Duration) error { return nil },
	}
	return Config{
		Interval: time.Hour, InstallAuto: true,
		Inspect: func(ctx context.Context) *agent.Report { return agent.Inspect(ctx, eo.Inspect) },
		Plan:    func(rep *agent.Report) ensure.Plan { return ensure.PlanFor(rep, eo) },
		Ensure: func(ctx context.Context, skip string) *ensure.Result {
			o := eo
			o.SkipVersion = skip
			return ensure.Run(ctx, o)
		},
	}, pkg
}

// TestRemediatesUpdateIfOffered: the package is 2.2.45, below the minimum,
// but the goal-state agent 2.9.1.1 in its WALinuxAgent folder passes
// agent.version (KB 4049215). ensure would update the package when the
// repositories offer the minimum, so the service does: it updates, it is
// not content with the passing check.
func TestRemediatesUpdateIfOffered(t *testing.T) {
	cfg, pkg := imageConfig(t, map[string]string{"var/lib/waagent/WALinuxAgent-2.9.1.1/HandlerManifest.json": "[]"})
	pkg.offer("2.7.3.0-4.1")
	rep := cfg.Inspect(context.Background())
	if c, _ := rep.Check(agent.IDAgentVersion); c.Status == agent.StatusFail || rep.Agent.PackageVersion != "2.2.45-1" {
		t.Fatalf("fixture: agent.version %s (%s), package %s: want a passing check on a 2.2.45 package", c.Status, c.Message, rep.Agent.PackageVersion)
	}
	h := start(t, Options{Load: func() (Config, error) { return cfg, nil }})
	h.next(t)
	if got := pkg.installs(); !slices.Equal(got, []string{"2.7.3.0-4.1"}) {
		t.Errorf("installed %q, want the offered 2.7.3.0-4.1\n%s", got, h.log.String())
	}
	if got := value(t, h.d.Metrics(), "agentkeeper_remediations_total", "result", ResultInstalled); got != 1 {
		t.Errorf("remediations_total{installed} = %v, want 1", got)
	}
	if !h.d.Ready() || !strings.Contains(h.log.String(), "action=update if_offered=true") {
		t.Errorf("ready %v, log:\n%s", h.d.Ready(), h.log.String())
	}

	// Not offered: ensure leaves the package, and so does the service,
	// without counting a remediation.
	cfg, pkg = imageConfig(t, map[string]string{"var/lib/waagent/WALinuxAgent-2.9.1.1/HandlerManifest.json": "[]"})
	pkg.offer("2.2.45-1")
	h = start(t, Options{Load: func() (Config, error) { return cfg, nil }})
	h.next(t)
	h.resume(t)
	h.next(t)
	logs := h.log.String()
	if got := pkg.installs(); len(got) != 0 || strings.Count(logs, "ensure left the agent as it is") != 1 || !h.d.Ready() {
		t.Errorf("installed %q, ready %v; want nothing installed, left logged once, ready:\n%s", got, h.d.Ready(), logs)
	}
	for _, res := range []string{ResultInstalled, ResultFailed, ResultDeferred} {
		if got := value(t, h.d.Metrics(), "agentkeeper_remediations_total", "result", res); got != 0 {
			t.Errorf("remediations_total{%s} = %v, want 0", res, got)
		}
	}
}

// TestRolledBackVersionNotRetried: the update to 2.10.0.8-1 breaks the
// package and ensure rolls it back to 2.2.45-1. While the repositories
// offer only 2.10.0.8-1 the service does not install it again (and says
// why once); when they offer 2.11.0.1-1 it updates to that.
func TestRolledBackVersionNotRetried(t *testing.T) {
	cfg, pkg := imageConfig(t, nil)
	pkg.offer("2.10.0.8-1")
	pkg.broken["2.10.0.8-1"] = true
	h := start(t, Options{Load: func() (Config, error) { return cfg, nil }})

	h.next(t) // the update, rolled back
	if got := pkg.installs(); !slices.Equal(got, []string{"2.10.0.8-1", "2.2.45-1"}) {
		t.Fatalf("installed %q, want 2.10.0.8-1 then the rollback to 2.2.45-1\n%s", got, h.log.String())
	}
	for range 3 { // the repositories still offer only the broken version
		h.resume(t)
		h.next(t)
	}
	if got := pkg.installs(); len(got) != 2 {
		t.Errorf("installed %q: the rolled-back 2.10.0.8-1 was retried\n%s", got, h.log.String())
	}
	if n := strings.Count(h.log.String(), "not retrying the agent update that was rolled back"); n != 1 {
		t.Errorf("why it is skipped logged %d times, want once:\n%s", n, h.log.String())
	}
	if got := value(t, h.d.Metrics(), "agentkeeper_remediations_total", "result", ResultFailed); got != 1 {
		t.Errorf("remediations_total{failed} = %v, want 1 (the rollback; skipped cycles are not remediations)", got)
	}

	pkg.offer("2.11.0.1-1")
	h.resume(t)
	h.next(t)
	if got := pkg.installs(); !slices.Equal(got, []string{"2.10.0.8-1", "2.2.45-1", "2.11.0.1-1"}) {
		t.Errorf("installed %q, want the newly offered 2.11.0.1-1 last\n%s", got, h.log.String())
	}
	if !h.d.Ready() || !strings.Contains(h.log.String(), "the rolled-back one is no longer skipped") {
		t.Errorf("ready %v, log:\n%s", h.d.Ready(), h.log.String())
	}
}
