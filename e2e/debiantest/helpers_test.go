//go:build linux

package debiantest

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
	"sync"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/internal/debroot"
)

// Names of the cached roots built by mkroot.sh.
const (
	rootBase    = "base"    // debootstrap --variant=minbase bookworm
	rootWaagent = "waagent" // base + Debian's waagent 2.7.3.0-4.1
)

// envBin names the agentkeeper binary under test; when unset the test builds
// ./cmd/agentkeeper itself.
const envBin = "AGENTKEEPER_BIN"

// envMinVersion overrides the minimum Linux agent version of the check.
const envMinVersion = "AGENTKEEPER_LINUX_MIN_VERSION"

// Time limits: building the cache bootstraps Debian (about a minute with a
// warm mirror); one check of an offline root should take well under a second.
const (
	buildTimeout = 20 * time.Minute
	checkTimeout = 2 * time.Minute
)

// report mirrors the JSON that `agentkeeper check --json` prints. It is
// written here on purpose instead of importing the agent package: the test
// must notice when the printed contract changes.
type report struct {
	Ready   *bool    `json:"ready"`
	Offline *bool    `json:"offline"`
	Root    string   `json:"root"`
	OS      osReport `json:"os"`
	Agent   agentRep `json:"agent"`
	Checks  []check  `json:"checks"`
}

type osReport struct {
	Family  string `json:"family"`
	ID      string `json:"id"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
	Bits    int    `json:"bits"`
}

type agentRep struct {
	Supported      *bool  `json:"supported"`
	Package        string `json:"package"`
	Service        string `json:"service"`
	Installer      string `json:"installer"`
	Installed      *bool  `json:"installed"`
	Version        string `json:"version"`
	PackageVersion string `json:"package_version"`
	MinVersion     string `json:"min_version"`
	// GoalStateVersion is what agent.version judges; GoalStateSource says
	// where it was found (process, folder, package).
	GoalStateVersion string `json:"goal_state_version"`
	GoalStateSource  string `json:"goal_state_source"`
	AutoUpdate       *bool  `json:"auto_update"`
	ServiceEnabled   *bool  `json:"service_enabled"`
	// ServiceRunning stays raw to tell null (unknowable offline) from a
	// missing field (nil) or a value.
	ServiceRunning json.RawMessage `json:"service_running"`
}

type check struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// find returns the check with the given id.
func (r *report) find(id string) (check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return check{}, false
}

// result is one run of the binary.
type result struct {
	rep    report
	code   int
	stdout []byte
	stderr []byte
}

var (
	setupOnce sync.Once
	setupErr  error
	binPath   string // agentkeeper binary under test
	mkroot    string // absolute path of ../debian/mkroot.sh
	tmpBinDir string // where the test built the binary, removed by TestMain
)

func TestMain(m *testing.M) {
	// The test binary re-executed as a helper process (see ensure_test.go):
	// it does its one job and exits without running any test.
	if helperMain() {
		return
	}
	code := m.Run()
	if tmpBinDir != "" {
		os.RemoveAll(tmpBinDir)
	}
	os.Exit(code)
}

// setup builds (or finds) the cached Debian roots and the binary once for all
// tests. Any problem fails the calling test with the reason: these tests
// never skip, so a machine that cannot run them is noticed.
func setup(t *testing.T) {
	t.Helper()
	setupOnce.Do(func() { setupErr = doSetup() })
	if setupErr != nil {
		t.Fatalf("end-to-end setup failed: %v", setupErr)
	}
}

func doSetup() error {
	if os.Geteuid() != 0 {
		return errors.New("must run as root: building and unpacking Debian roots (debootstrap, chroot, root-owned files) needs it")
	}
	var err error
	if mkroot, err = filepath.Abs(filepath.Join("..", "debian", "mkroot.sh")); err != nil {
		return err
	}
	if _, err := os.Stat(mkroot); err != nil {
		return fmt.Errorf("find mkroot.sh: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", mkroot, "build").CombinedOutput(); err != nil {
		return fmt.Errorf("build the cached Debian roots (bash %s build): %w\n%s", mkroot, err, tail(out, 60))
	}
	return findBinary()
}

// findBinary uses $AGENTKEEPER_BIN (a relative path is taken from the module
// root), or builds ./cmd/agentkeeper.
func findBinary() error {
	modRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	if p := os.Getenv(envBin); p != "" {
		// go test runs in this package's folder; a relative path is meant
		// from the module root, where make and people run go test.
		abs := p
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(modRoot, p)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return fmt.Errorf("%s: %w", envBin, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("%s=%s is a directory, want the agentkeeper binary", envBin, p)
		}
		binPath = abs
		return nil
	}
	if tmpBinDir, err = os.MkdirTemp("", "agentkeeper-e2e-"); err != nil {
		return err
	}
	binPath = filepath.Join(tmpBinDir, "agentkeeper")
	cmd := exec.Command("go", "build", "-o", binPath, "./cmd/agentkeeper")
	cmd.Dir = modRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s is unset and `go build ./cmd/agentkeeper` failed: %w\n%s", envBin, err, tail(out, 40))
	}
	return nil
}

// unpack gives the test a fresh writable copy of a cached root: an overlay
// over its pristine unpacked copy (internal/debroot), unmounted and deleted
// when the test ends; where overlayfs cannot be mounted, the tarball
// unpacked, which the test log says.
func unpack(t *testing.T, name string) string {
	t.Helper()
	setup(t)
	return debroot.Copy(t, mkroot, name)
}

// runCheck runs `agentkeeper check --root ROOT --json` with extra environment
// (KEY=VALUE) and parses its report. Exit codes other than 0 (ready) and 1
// (not ready), and output that is not the JSON report, fail the test.
func runCheck(t *testing.T, root string, env ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "check", "--root", root, "--json")
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		res.code = exitErr.ExitCode()
	default:
		t.Fatalf("run %s: %v\nstderr:\n%s", cmd, err, tail(res.stderr, 40))
	}
	t.Logf("%s: exit %d in %s", cmd, res.code, time.Since(start).Round(time.Millisecond))
	if res.code != 0 && res.code != 1 {
		t.Fatalf("exit code %d, want 0 (ready) or 1 (not ready)\nstdout:\n%s\nstderr:\n%s",
			res.code, tail(res.stdout, 40), tail(res.stderr, 40))
	}
	dec := json.NewDecoder(bytes.NewReader(res.stdout))
	if err := dec.Decode(&res.rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\nstdout:\n%s\nstderr:\n%s",
			err, tail(res.stdout, 40), tail(res.stderr, 40))
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON value:\n%s", tail(res.stdout, 40))
	}
	for i, c := range res.rep.Checks {
		if c.ID == "" || c.Status == "" || c.Message == "" {
			t.Errorf("checks[%d] = %+v: id, status and message must all be set", i, c)
		}
		switch c.Status {
		case "pass", "warn", "fail", "skip":
		default:
			t.Errorf("checks[%d] (%s) has status %q, want pass, warn, fail or skip", i, c.ID, c.Status)
		}
	}
	return res
}

// cleanEnv is this process's environment without agentkeeper settings, so a
// developer's own AGENTKEEPER_* variables cannot change the outcome.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AGENTKEEPER_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// dump is a report's raw JSON for failure messages.
func (r result) dump() string {
	return string(tail(r.stdout, 80))
}

// tail returns the last n lines of b.
func tail(b []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = append([][]byte{[]byte("...")}, lines[len(lines)-n:]...)
	}
	return bytes.Join(lines, []byte("\n"))
}

// wantCheck fails the test unless the report has check id with status want,
// and returns it.
func wantCheck(t *testing.T, res result, id, want string) check {
	t.Helper()
	c, ok := res.rep.find(id)
	if !ok {
		t.Fatalf("no check %q in the report\n%s", id, res.dump())
	}
	if c.Status != want {
		t.Errorf("check %s: status %q (%s), want %q\n%s", id, c.Status, c.Message, want, res.dump())
	}
	return c
}

// boolIs reports whether p is set and equal to want.
func boolIs(p *bool, want bool) bool { return p != nil && *p == want }

// showBool prints a *bool for messages.
func showBool(p *bool) string {
	if p == nil {
		return "<missing>"
	}
	return fmt.Sprint(*p)
}
