//go:build linux

package rpmtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/pkgdb/pkgdbtest"
)

// ensureResult is the part of `agentkeeper ensure --json` (README.md,
// ensure) these tests read.
type ensureResult struct {
	Plan struct {
		Action, Reason, Installer, Package string
		Commands                           []string
	} `json:"plan"`
	Preconditions []step  `json:"preconditions"`
	Actions       []step  `json:"actions"`
	Report        *report `json:"report"`
	VersionBefore *string `json:"version_before"`
	VersionAfter  *string `json:"version_after"`
	Outcome       string  `json:"outcome"`
	Message       string  `json:"message"`
	ExitCode      *int    `json:"exit_code"`
}

type step struct{ ID, Status, Message string }

func (r ensureResult) step(steps []step, id string) step {
	for _, s := range steps {
		if s.ID == id {
			return s
		}
	}
	return step{ID: id, Status: "<missing>"}
}

// ensureRun is one `agentkeeper ensure --root ROOT --json` and what it left.
type ensureRun struct {
	res            ensureResult
	code           int
	took           time.Duration
	stdout, stderr []byte
}

func (r ensureRun) dump() string {
	return fmt.Sprintf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
}

// runEnsure runs ensure on root with a private single-instance lock, no
// AGENTKEEPER_* settings from the caller's environment but env, and an
// empty PATH apart from the host's tools. Only the documented exit codes
// are accepted, and the JSON's exit_code must be the process's.
func runEnsure(t *testing.T, bin, root string, env ...string) ensureRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "ensure", "--root", root, "--json")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AGENTKEEPER_INSTALL_LOCK_FILE=" + filepath.Join(t.TempDir(), "agentkeeper.lock")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := ensureRun{took: time.Since(start), stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v\n%s", cmd, err, r.dump())
	}
	t.Logf("ensure --root: exit %d in %s", r.code, r.took.Round(time.Millisecond))
	if r.code != 0 && r.code != 1 && r.code != 2 && r.code != 75 {
		t.Fatalf("exit %d, not one of 0, 1, 2, 75\n%s", r.code, r.dump())
	}
	if err := json.Unmarshal(r.stdout, &r.res); err != nil {
		t.Fatalf("stdout is not the ensure JSON: %v\n%s", err, r.dump())
	}
	t.Logf("outcome %s: %s", r.res.Outcome, r.res.Message)
	for _, a := range r.res.Actions {
		t.Logf("action %s %s: %s", a.ID, a.Status, a.Message)
	}
	if r.res.ExitCode == nil || *r.res.ExitCode != r.code || r.res.Report == nil ||
		r.res.VersionBefore == nil || r.res.VersionAfter == nil {
		t.Errorf("JSON lacks exit_code (or it is not %d), report or versions\n%s", r.code, r.dump())
	}
	return r
}

// want checks exit code, outcome and plan action, and that the plan names
// the distribution's own package manager acting on the root.
func (r ensureRun) want(t *testing.T, d pkgdbtest.Distro, root string, code int, outcome, action string) {
	t.Helper()
	if r.code != code || r.res.Outcome != outcome || r.res.Plan.Action != action {
		t.Errorf("exit %d, outcome %q, plan %q (%s); want %d, %q, %q", r.code, r.res.Outcome, r.res.Plan.Action,
			r.res.Message, code, outcome, action)
	}
	if r.res.Plan.Installer != d.Installer() || r.res.Plan.Package != d.Agent {
		t.Errorf("plan: %s with %s, want %s with %s", r.res.Plan.Package, r.res.Plan.Installer, d.Agent, d.Installer())
	}
	opt := "--installroot=" + root
	if d.Zypper {
		opt = "--root " + root
	}
	if len(r.res.Plan.Commands) == 0 || !strings.Contains(r.res.Plan.Commands[0], opt) {
		t.Errorf("plan commands %q do not act on the root (%s)", r.res.Plan.Commands, opt)
	}
	if t.Failed() {
		t.Logf("ensure:\n%s", r.dump())
	}
}

// wantRPM fails unless rpm itself lists want for the agent in root.
func wantRPM(t *testing.T, d pkgdbtest.Distro, root, want string) {
	t.Helper()
	if got := pkgdbtest.Installed(t, root, d, d.Agent); got != want {
		t.Errorf("rpm -q %s in the root: %q, want %q", d.Agent, got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "root/.rpmdb")); err == nil {
		t.Error("a second RPM database appeared in the root's /root/.rpmdb (the host rpm's default)")
	}
}

// wantEnabled fails unless the agent's unit is enabled in the image.
func wantEnabled(t *testing.T, root string) {
	t.Helper()
	link := filepath.Join(root, "etc/systemd/system/multi-user.target.wants/waagent.service")
	if target, err := os.Readlink(link); err != nil || !strings.HasSuffix(target, "/waagent.service") {
		t.Errorf("waagent.service is not enabled in the image: %q, %v", target, err)
	}
}

// holdRPMLock takes the root's rpm transaction lock in this process, as a
// running rpm would (an fcntl write lock on <dbpath>/.rpm.lock).
func holdRPMLock(t *testing.T, root string, d pkgdbtest.Distro) {
	t.Helper()
	path := filepath.Join(root, d.DBPath, ".rpm.lock")
	fh, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	lk := syscall.Flock_t{Type: syscall.F_WRLCK}
	if err := syscall.FcntlFlock(fh.Fd(), syscall.F_SETLK, &lk); err != nil {
		t.Fatalf("lock %s: %v", path, err)
	}
}

// TestEnsureRealDnfZypper runs `agentkeeper ensure --root` on RHEL-, Rocky-,
// SLES- and openSUSE-like RPM roots with the real dnf and zypper of this
// machine and local file: repositories (createrepo_c) holding test builds
// of the distribution's agent package: 2.2.40.1 (below the minimum
// 2.2.53.1), 2.9.1.1, and 2.10.0.8 whose %post fails.
func TestEnsureRealDnfZypper(t *testing.T) {
	pkgdbtest.RequireRepoTools(t)
	bin := binary(t)
	for _, d := range []pkgdbtest.Distro{pkgdbtest.RHEL9, pkgdbtest.Rocky8, pkgdbtest.SLES15, pkgdbtest.Leap15} {
		t.Run(d.Desc, func(t *testing.T) {
			base := pkgdbtest.Build(t, pkgdbtest.BaseSpec(t, d))
			old := pkgdbtest.Build(t, pkgdbtest.AgentSpec(d, "2.2.40.1", false))
			good := pkgdbtest.Build(t, pkgdbtest.AgentSpec(d, "2.9.1.1", false))
			bad := pkgdbtest.Build(t, pkgdbtest.AgentSpec(d, "2.10.0.8", true))
			newRoot := func(t *testing.T, rpms ...string) string {
				root := pkgdbtest.NewRoot(t, d, base)
				pkgdbtest.AddRepo(t, root, d, "agentkeeper-test", pkgdbtest.RepoFor(t, d, rpms...))
				return root
			}
			nvr := func(v string) string { return d.Agent + "-" + v + "-" + d.AgentRelease }

			t.Run("install", func(t *testing.T) {
				root := newRoot(t, old, good)
				r := runEnsure(t, bin, root)
				r.want(t, d, root, 0, "ready", "install")
				if s := r.res.step(r.res.Preconditions, "source"); s.Status != "pass" || !strings.Contains(s.Message, "2.9.1.1-"+d.AgentRelease) {
					t.Errorf("precondition source = %+v, want pass naming 2.9.1.1-%s", s, d.AgentRelease)
				}
				if a, b := *r.res.VersionBefore, *r.res.VersionAfter; a != "" || b != "2.9.1.1" {
					t.Errorf("version %q → %q, want none → 2.9.1.1", a, b)
				}
				wantRPM(t, d, root, nvr("2.9.1.1"))
				wantEnabled(t, root)
				// A second run finds nothing to do.
				r2 := runEnsure(t, bin, root)
				if r2.code != 0 || r2.res.Plan.Action != "none" || len(r2.res.Actions) != 0 {
					t.Errorf("second ensure: exit %d, plan %q, actions %+v; want 0, none, none\n%s", r2.code, r2.res.Plan.Action, r2.res.Actions, r2.dump())
				}
			})

			t.Run("update", func(t *testing.T) {
				root := newRoot(t, old, good)
				pkgdbtest.MustRun(t, "rpm", "--root", root, "--dbpath", d.DBPath, "-i", old)
				r := runEnsure(t, bin, root)
				r.want(t, d, root, 0, "ready", "update")
				if a, b := *r.res.VersionBefore, *r.res.VersionAfter; a != "2.2.40.1" || b != "2.9.1.1" {
					t.Errorf("version %q → %q, want 2.2.40.1 → 2.9.1.1", a, b)
				}
				wantRPM(t, d, root, nvr("2.9.1.1"))
				wantEnabled(t, root)
			})

			t.Run("only an old version offered", func(t *testing.T) {
				root := newRoot(t, old)
				r := runEnsure(t, bin, root)
				r.want(t, d, root, 1, "failed", "install")
				if s := r.res.step(r.res.Preconditions, "source"); s.Status != "fail" {
					t.Errorf("precondition source = %+v, want fail", s)
				}
				if !strings.Contains(r.res.Message, "2.2.40.1-"+d.AgentRelease) || !strings.Contains(r.res.Message, "2.2.53.1") {
					t.Errorf("message %q should name the offered 2.2.40.1-%s and the required 2.2.53.1", r.res.Message, d.AgentRelease)
				}
				if len(r.res.Actions) != 0 {
					t.Errorf("actions %+v, want none", r.res.Actions)
				}
				wantRPM(t, d, root, "")
			})

			t.Run("failing post", func(t *testing.T) {
				root := newRoot(t, bad)
				pkgdbtest.MustRun(t, "rpm", "--root", root, "--dbpath", d.DBPath, "-i", old)
				r := runEnsure(t, bin, root)
				r.want(t, d, root, 1, "failed", "update")
				s := r.res.step(r.res.Actions, "install")
				if s.Status != "fail" || !strings.Contains(s.Message, "scriptlet") || !strings.Contains(s.Message, "test failure") {
					t.Errorf("action install = %+v, want fail with the scriptlet's message", s)
				}
				// rpm keeps the package whose %post failed; the report says so.
				wantRPM(t, d, root, nvr("2.10.0.8"))
				if got := *r.res.VersionAfter; got != "2.10.0.8" {
					t.Errorf("version_after = %q, want 2.10.0.8 (installed, not set up)", got)
				}
			})

			t.Run("rpm lock held", func(t *testing.T) {
				root := newRoot(t, good)
				holdRPMLock(t, root, d)
				r := runEnsure(t, bin, root, "AGENTKEEPER_INSTALL_LOCK_TIMEOUT=3s")
				r.want(t, d, root, 75, "deferred", "install")
				if s := r.res.step(r.res.Actions, "install"); s.Status != "deferred" || !strings.Contains(s.Message, "transaction lock") {
					t.Errorf("action install = %+v, want deferred naming rpm's transaction lock", s)
				}
				if r.took < 3*time.Second {
					t.Errorf("deferred after %s, before install.lock_timeout (3s)", r.took)
				}
				wantRPM(t, d, root, "")
			})
		})
	}
}
