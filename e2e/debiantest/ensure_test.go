//go:build linux

package debiantest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ensureTimeout bounds one `agentkeeper ensure` run: an install from the
// registry takes 6-10 s; a slow mirror gets plenty of room.
const ensureTimeout = 10 * time.Minute

// Environment of the helper process that holds the SafeFreeze lock.
const envHoldLock = "AGENTKEEPER_E2E_HOLD_LOCK"

// Where the Linux snapshot extension leaves its traces (README.md, ensure).
const (
	safeFreezeLock = "etc/azure/MicrosoftRecoverySvcsSafeFreezeLock/SafeFreezeLockFile"
	snapshotStatus = "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9225.0/status/3.status"
	wantsLink      = "etc/systemd/system/multi-user.target.wants/walinuxagent.service"
)

// ensureResult mirrors what `agentkeeper ensure --json` prints (README.md,
// ensure), written out here so the test notices when the contract changes.
type ensureResult struct {
	Plan           ensurePlan   `json:"plan"`
	Preconditions  []ensureStep `json:"preconditions"`
	Actions        []ensureStep `json:"actions"`
	Report         *fullReport  `json:"report"`
	VersionBefore  *string      `json:"version_before"`
	VersionAfter   *string      `json:"version_after"`
	RebootRequired *bool        `json:"reboot_required"`
	Outcome        string       `json:"outcome"`
	Message        string       `json:"message"`
	ExitCode       *int         `json:"exit_code"`
}

type ensurePlan struct {
	Action     string   `json:"action"`
	Reason     string   `json:"reason"`
	Installer  string   `json:"installer"`
	Package    string   `json:"package"`
	MinVersion string   `json:"min_version"`
	Commands   []string `json:"commands"`
	IfOffered  bool     `json:"if_offered"`
}

type ensureStep struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// fullReport is the check report with its backup section.
type fullReport struct {
	report
	Backup backupRep `json:"backup"`
}

type backupRep struct {
	Running  *bool      `json:"running"`
	Evidence []evidence `json:"evidence"`
	Notes    []string   `json:"notes"`
}

type evidence struct {
	Kind  string `json:"kind"`
	What  string `json:"what"`
	Where string `json:"where"`
}

// ensureRun is one run of `agentkeeper ensure`.
type ensureRun struct {
	res    ensureResult
	code   int
	took   time.Duration
	stdout []byte
	stderr []byte
}

func (r ensureRun) dump() string {
	return fmt.Sprintf("stdout:\n%s\nstderr:\n%s", tail(r.stdout, 120), tail(r.stderr, 30))
}

// step returns the precondition or action with the given id.
func findStep(steps []ensureStep, id string) (ensureStep, bool) {
	for _, s := range steps {
		if s.ID == id {
			return s, true
		}
	}
	return ensureStep{}, false
}

// lockEnv gives each test its own single-instance lock, so tests running in
// parallel (and a real agentkeeper on this machine) do not defer each other.
func lockEnv(t *testing.T) string {
	t.Helper()
	return "AGENTKEEPER_INSTALL_LOCK_FILE=" + filepath.Join(t.TempDir(), "agentkeeper.lock")
}

// runEnsure runs `agentkeeper ensure --root ROOT --json ARGS...` with the
// test's private lock and extra environment, and parses its result. Only
// the documented exit codes 0, 1, 2 and 75 are accepted, and the JSON's
// exit_code must be the process's.
func runEnsure(t *testing.T, lock, root string, args []string, env ...string) ensureRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ensureTimeout)
	defer cancel()
	argv := append([]string{"ensure", "--root", root, "--json"}, args...)
	cmd := exec.CommandContext(ctx, binPath, argv...)
	cmd.Env = append(append(cleanEnv(), lock), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := ensureRun{took: time.Since(start), stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr) && exitErr.Exited():
		r.code = exitErr.ExitCode()
	default:
		t.Fatalf("run %s: %v\n%s", cmd, err, r.dump())
	}
	t.Logf("agentkeeper %s: exit %d in %s", strings.Join(argv, " "), r.code, r.took.Round(time.Millisecond))
	switch r.code {
	case 0, 1, 2, 75:
	default:
		t.Fatalf("exit code %d, want one of 0, 1, 2, 75 (README.md)\n%s", r.code, r.dump())
	}
	dec := json.NewDecoder(bytes.NewReader(r.stdout))
	if err := dec.Decode(&r.res); err != nil {
		t.Fatalf("stdout is not the ensure JSON: %v\n%s", err, r.dump())
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON value\n%s", r.dump())
	}
	if r.res.ExitCode == nil || *r.res.ExitCode != r.code {
		t.Errorf("JSON exit_code = %s, but the process exited %d\n%s", showInt(r.res.ExitCode), r.code, r.dump())
	}
	if r.res.Report == nil {
		t.Errorf("JSON has no report\n%s", r.dump())
	}
	if r.res.VersionBefore == nil || r.res.VersionAfter == nil || r.res.RebootRequired == nil {
		t.Errorf("JSON lacks version_before, version_after or reboot_required\n%s", r.dump())
	}
	return r
}

func showInt(p *int) string {
	if p == nil {
		return "<missing>"
	}
	return fmt.Sprint(*p)
}

func str(p *string) string {
	if p == nil {
		return "<missing>"
	}
	return *p
}

// fullCheck runs `check --root ROOT --json` and returns the report with its
// backup section.
func fullCheck(t *testing.T, root string, env ...string) (result, fullReport) {
	t.Helper()
	res := runCheck(t, root, env...)
	var fr fullReport
	if err := json.Unmarshal(res.stdout, &fr); err != nil {
		t.Fatalf("parse the check report: %v\n%s", err, res.dump())
	}
	if fr.Backup.Running == nil {
		t.Errorf("report has no backup.running\n%s", res.dump())
	}
	return res, fr
}

// dpkgWaagent returns waagent's "Version Status" in the root's dpkg
// database, or "" when the package is not known there. It reads the
// database with the host's dpkg-query, not with agentkeeper.
func dpkgWaagent(t *testing.T, root string) string {
	t.Helper()
	cmd := exec.Command("dpkg-query", "--admindir="+filepath.Join(root, "var/lib/dpkg"),
		"-W", "-f", "${Version} ${Status}", "waagent")
	out, err := cmd.CombinedOutput()
	if err != nil {
		// dpkg-query exits 1 when no package matches.
		if bytes.Contains(out, []byte("no packages found")) {
			return ""
		}
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	return strings.TrimSpace(string(out))
}

// wantNothingInstalled fails unless the root still has no waagent at all.
func wantNothingInstalled(t *testing.T, root string) {
	t.Helper()
	if got := dpkgWaagent(t, root); got != "" {
		t.Errorf("dpkg database of the root knows waagent (%s); nothing should have been installed", got)
	}
	for _, p := range []string{"usr/sbin/waagent", "etc/waagent.conf", wantsLink} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("/%s exists in the root; nothing should have been installed", p)
		}
	}
}

// wantInstalled fails unless Debian's real waagent 2.7.3.0-4.1 is installed
// in the root and its unit is enabled there.
func wantInstalled(t *testing.T, root string) {
	t.Helper()
	if got, want := dpkgWaagent(t, root), "2.7.3.0-4.1 install ok installed"; got != want {
		t.Errorf("dpkg says waagent is %q, want %q", got, want)
	}
	link := filepath.Join(root, wantsLink)
	fi, err := os.Lstat(link)
	switch {
	case err != nil:
		t.Errorf("the unit is not enabled in the image: %v", err)
	case fi.Mode()&os.ModeSymlink == 0:
		t.Errorf("/%s is a %s, want a symbolic link to the unit", wantsLink, fi.Mode().Type())
	default:
		target, err := os.Readlink(link)
		if err != nil {
			t.Fatal(err)
		}
		// The link is meant for the image: resolve an absolute target
		// inside the root, a relative one from the link's folder.
		if filepath.IsAbs(target) {
			target = filepath.Join(root, target)
		} else {
			target = filepath.Join(filepath.Dir(link), target)
		}
		if _, err := os.Stat(target); err != nil {
			t.Errorf("/%s points to a missing unit: %v", wantsLink, err)
		}
	}
}

// wantEnsure checks the outcome, exit code and plan action of a run.
func wantEnsure(t *testing.T, r ensureRun, code int, outcome, action string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d", r.code, code)
	}
	if r.res.Outcome != outcome {
		t.Errorf("outcome %q (%s), want %q", r.res.Outcome, r.res.Message, outcome)
	}
	if action != "" && r.res.Plan.Action != action {
		t.Errorf("plan.action %q (%s), want %q", r.res.Plan.Action, r.res.Plan.Reason, action)
	}
	if t.Failed() {
		t.Logf("ensure result:\n%s", r.dump())
	}
}

// The whole job on a bare Debian 12 root: ensure installs Debian's real
// agent from the registry, enables its unit in the image, and a second run
// finds nothing to do.
func TestEnsureInstallsRealAgent(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 0, "ready", "install")
	// apt-get's own lines are streamed to stderr, indented under the step.
	if !bytes.Contains(r.stderr, []byte("agentkeeper: install waagent with apt-get\n")) ||
		!bytes.Contains(r.stderr, []byte("\nagentkeeper:     Setting up waagent (2.7.3.0-4.1) ...\n")) {
		t.Errorf("stderr does not stream apt-get's output under the install step:\n%s", tail(r.stderr, 30))
	}
	if got := str(r.res.VersionAfter); got != "2.7.3.0" {
		t.Errorf("version_after = %q, want 2.7.3.0", got)
	}
	if got := str(r.res.VersionBefore); got != "" {
		t.Errorf("version_before = %q, want empty (no agent before)", got)
	}
	if p := r.res.Plan; p.Installer != "apt-get" || p.Package != "waagent" {
		t.Errorf("plan installs %q with %q, want waagent with apt-get", p.Package, p.Installer)
	}
	for _, id := range []string{"admin", "lock", "backup.idle", "source"} {
		if s, ok := findStep(r.res.Preconditions, id); !ok || s.Status != "pass" {
			t.Errorf("precondition %s = %+v (found %v), want pass", id, s, ok)
		}
	}
	for _, id := range []string{"install", "enable", "verify"} {
		if s, ok := findStep(r.res.Actions, id); !ok || s.Status != "pass" {
			t.Errorf("action %s = %+v (found %v), want pass", id, s, ok)
		}
	}
	if rep := r.res.Report; rep != nil && (!boolIs(rep.Ready, true) || rep.Agent.Version != "2.7.3.0") {
		t.Errorf("report after ensure: ready %s, agent %q; want ready with 2.7.3.0", showBool(rep.Ready), rep.Agent.Version)
	}
	wantInstalled(t, root)
	if t.Failed() {
		t.Fatalf("first ensure:\n%s", r.dump())
	}

	// check agrees, on its own.
	res := runCheck(t, root)
	if res.code != 0 || !boolIs(res.rep.Ready, true) {
		t.Errorf("check after ensure: exit %d, ready %s; want 0 and true\n%s", res.code, showBool(res.rep.Ready), res.dump())
	}
	if !boolIs(res.rep.Agent.ServiceEnabled, true) {
		t.Errorf("check after ensure: agent.service_enabled = %s, want true", showBool(res.rep.Agent.ServiceEnabled))
	}
	if res.rep.Agent.PackageVersion != "2.7.3.0-4.1" {
		t.Errorf("check after ensure: agent.package_version = %q, want 2.7.3.0-4.1", res.rep.Agent.PackageVersion)
	}

	// Idempotent: the second run plans nothing and does nothing.
	statusBefore := readFile(t, filepath.Join(root, "var/lib/dpkg/status"))
	r2 := runEnsure(t, lock, root, nil)
	wantEnsure(t, r2, 0, "ready", "none")
	if len(r2.res.Actions) != 0 {
		t.Errorf("second ensure ran actions %+v, want none", r2.res.Actions)
	}
	if _, ok := findStep(r2.res.Preconditions, "source"); ok {
		t.Errorf("second ensure asked the repositories (precondition source): nothing to install, it should not")
	}
	if len(r2.res.Plan.Commands) != 0 {
		t.Errorf("second ensure plans commands %q, want none", r2.res.Plan.Commands)
	}
	if a, b := str(r2.res.VersionBefore), str(r2.res.VersionAfter); a != "2.7.3.0" || b != "2.7.3.0" {
		t.Errorf("second ensure: version_before %q, version_after %q, want 2.7.3.0 for both", a, b)
	}
	if !bytes.Equal(statusBefore, readFile(t, filepath.Join(root, "var/lib/dpkg/status"))) {
		t.Errorf("second ensure changed the dpkg database")
	}
}

// An agent older than the minimum is updated to the registry's version by
// a real package upgrade.
func TestEnsureUpdatesOlderAgent(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	installOldDeb(t, root, "2.2.45-1")
	if got, want := dpkgWaagent(t, root), "2.2.45-1 install ok installed"; got != want {
		t.Fatalf("after dpkg -i: waagent is %q, want %q", got, want)
	}

	res := runCheck(t, root)
	if res.code != 1 || !boolIs(res.rep.Ready, false) {
		t.Errorf("check of the old agent: exit %d, ready %s; want 1 and false", res.code, showBool(res.rep.Ready))
	}
	wantCheck(t, res, "agent.installed", "pass")
	c := wantCheck(t, res, "agent.version", "fail")
	if !strings.Contains(c.Message, "2.2.45") || !strings.Contains(c.Message, "2.2.53.1") {
		t.Errorf("agent.version message %q should name the version 2.2.45 and the minimum 2.2.53.1", c.Message)
	}

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 0, "ready", "update")
	if got := str(r.res.VersionBefore); got != "2.2.45" {
		t.Errorf("version_before = %q, want 2.2.45", got)
	}
	if got := str(r.res.VersionAfter); got != "2.7.3.0" {
		t.Errorf("version_after = %q, want 2.7.3.0 (the registry's waagent)", got)
	}
	if s, ok := findStep(r.res.Preconditions, "source"); !ok || s.Status != "pass" || !strings.Contains(s.Message, "2.7.3.0-4.1") {
		t.Errorf("precondition source = %+v (found %v), want pass naming the offered 2.7.3.0-4.1", s, ok)
	}
	wantInstalled(t, root)
	if t.Failed() {
		t.Logf("ensure:\n%s", r.dump())
	}

	res = runCheck(t, root)
	if res.code != 0 || !boolIs(res.rep.Ready, true) {
		t.Errorf("check after the update: exit %d, ready %s; want 0 and true\n%s", res.code, showBool(res.rep.Ready), res.dump())
	}
	wantCheck(t, res, "agent.version", "pass")
	wantCheck(t, res, "agent.python", "pass")
}

// installOldDeb builds the stand-in old waagent with ../debian/olddeb.sh and
// installs it into the root with the root's own dpkg.
func installOldDeb(t *testing.T, root, version string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "debian", "olddeb.sh"))
	if err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(root, "tmp", "agentkeeper-old-waagent.deb")
	if out, err := exec.Command("bash", script, "-v", version, deb).CombinedOutput(); err != nil {
		t.Fatalf("bash %s -v %s %s: %v\n%s", script, version, deb, err, out)
	}
	cmd := exec.Command("chroot", root, "dpkg", "-i", "/tmp/"+filepath.Base(deb))
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	if err := os.Remove(deb); err != nil {
		t.Fatal(err)
	}
}

// While another process holds the SafeFreeze lock (a snapshot is freezing
// the file systems), ensure changes nothing and defers with 75, also after
// waiting; once the lock is gone it installs.
func TestEnsureDefersWhileSafeFreezeLockHeld(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	lockFile := filepath.Join(root, safeFreezeLock)
	if err := os.MkdirAll(filepath.Dir(lockFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lockFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	holder := holdLock(t, lockFile)
	pidText := fmt.Sprintf("pid %d", holder.Process.Pid)

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 75, "deferred", "install")
	s, ok := findStep(r.res.Preconditions, "backup.idle")
	if !ok || s.Status != "deferred" {
		t.Errorf("precondition backup.idle = %+v (found %v), want deferred", s, ok)
	}
	if !strings.Contains(s.Message+r.res.Message, "SafeFreeze") {
		t.Errorf("neither the backup.idle precondition (%q) nor the message (%q) mentions SafeFreeze", s.Message, r.res.Message)
	}
	if !strings.Contains(s.Message, pidText) {
		t.Errorf("backup.idle precondition %q should name the lock holder (%s)", s.Message, pidText)
	}
	if len(r.res.Actions) != 0 {
		t.Errorf("a deferred ensure ran actions: %+v", r.res.Actions)
	}
	wantNothingInstalled(t, root)

	res, fr := fullCheck(t, root)
	if !boolIs(fr.Backup.Running, true) {
		t.Errorf("check: backup.running = %s, want true\n%s", showBool(fr.Backup.Running), res.dump())
	}
	if len(fr.Backup.Evidence) == 0 || fr.Backup.Evidence[0].Kind != "lock" {
		t.Errorf("check: backup.evidence = %+v, want one of kind lock", fr.Backup.Evidence)
	} else {
		e := fr.Backup.Evidence[0]
		if !strings.Contains(e.Where, "SafeFreezeLockFile") || !strings.Contains(e.What, pidText) {
			t.Errorf("check: lock evidence %+v should name SafeFreezeLockFile and %s", e, pidText)
		}
	}
	wantCheck(t, res, "backup.idle", "warn")

	// Waiting: 3 s, looking every second, then still deferred.
	r = runEnsure(t, lock, root, []string{"--wait-backup", "3s"}, "AGENTKEEPER_BACKUP_POLL=1s")
	wantEnsure(t, r, 75, "deferred", "install")
	if r.took < 3*time.Second || r.took > 60*time.Second {
		t.Errorf("ensure --wait-backup 3s took %s, want about 3 s", r.took.Round(time.Millisecond))
	}
	var waits []string
	sc := bufio.NewScanner(bytes.NewReader(r.stderr))
	for sc.Scan() {
		if l := sc.Text(); strings.Contains(l, "backup") && strings.Contains(l, "wait") {
			waits = append(waits, l)
		}
	}
	if len(waits) < 2 {
		t.Errorf("stderr shows %d lines about waiting for the backup, want at least 2 (one per look)\nstderr:\n%s", len(waits), r.stderr)
	} else {
		t.Logf("progress lines:\n%s", strings.Join(waits, "\n"))
	}
	if s, ok := findStep(r.res.Preconditions, "backup.idle"); !ok || s.Status != "deferred" || !strings.Contains(s.Message, "3s") {
		t.Errorf("precondition backup.idle = %+v (found %v), want deferred after 3s", s, ok)
	}
	wantNothingInstalled(t, root)

	// The snapshot ends: ensure goes ahead.
	stopHolder(t, holder)
	r = runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 0, "ready", "install")
	if s, ok := findStep(r.res.Preconditions, "backup.idle"); !ok || s.Status != "pass" {
		t.Errorf("precondition backup.idle = %+v (found %v), want pass once the lock is released", s, ok)
	}
	wantInstalled(t, root)
}

// A fresh "transitioning" status of the snapshot extension means a backup
// is running: ensure defers the update of an old agent and changes nothing.
// (The status files live below /var/lib/waagent, so the root has an agent:
// the stand-in old one.)
func TestEnsureDefersOnFreshTransitioningStatus(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	installOldDeb(t, root, "2.2.45-1")
	writeStatus(t, root, time.Now().UTC())
	statusPath := filepath.Join(root, "var/lib/dpkg/status")
	statusBefore := readFile(t, statusPath)

	res, fr := fullCheck(t, root)
	if !boolIs(fr.Backup.Running, true) || len(fr.Backup.Evidence) == 0 || fr.Backup.Evidence[0].Kind != "status" {
		t.Errorf("check: backup = %+v, want running with evidence of kind status\n%s", fr.Backup, res.dump())
	} else if e := fr.Backup.Evidence[0]; !strings.Contains(e.Where, "3.status") || !strings.Contains(e.What, "transitioning") {
		t.Errorf("check: status evidence %+v should name 3.status and transitioning", e)
	}
	wantCheck(t, res, "backup.idle", "warn")

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 75, "deferred", "update")
	if s, ok := findStep(r.res.Preconditions, "backup.idle"); !ok || s.Status != "deferred" ||
		!strings.Contains(s.Message, "transitioning") {
		t.Errorf("precondition backup.idle = %+v (found %v), want deferred naming the transitioning status", s, ok)
	}
	if len(r.res.Actions) != 0 {
		t.Errorf("a deferred ensure ran actions: %+v", r.res.Actions)
	}
	if a, b := str(r.res.VersionBefore), str(r.res.VersionAfter); a != "2.2.45" || b != "2.2.45" {
		t.Errorf("version_before %q, version_after %q, want 2.2.45 for both", a, b)
	}
	if !bytes.Equal(statusBefore, readFile(t, statusPath)) {
		t.Errorf("a deferred ensure changed the dpkg database (now: waagent %s)", dpkgWaagent(t, root))
	}
}

// The gate fails closed (issue 11): a half-written newest status file (the
// extension is writing 4.status) does not hide the fresh transitioning
// 3.status before it, and a SafeFreeze lock path that is a folder cannot be
// probed. Each alone makes ensure defer and change nothing.
func TestEnsureDefersOnUnreadableTraces(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		desc  string
		setup func(t *testing.T, root string)
		kind  string
		what  string
	}{
		{"half-written newest status over a fresh transitioning one", func(t *testing.T, root string) {
			p := writeStatus(t, root, time.Now().UTC())
			if err := os.WriteFile(filepath.Join(filepath.Dir(p), "4.status"), []byte(`[{"version":1.0,"timestampUTC":"`), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "status", "unreadable fresh status"},
		{"SafeFreeze lock path is a folder", func(t *testing.T, root string) {
			if err := os.MkdirAll(filepath.Join(root, "etc/azure/MicrosoftRecoverySvcsSafeFreezeLock/SafeFreezeLockFile"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, "lock", "not a regular file"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			t.Parallel()
			root := unpack(t, rootBase)
			lock := lockEnv(t)
			installOldDeb(t, root, "2.2.45-1")
			tt.setup(t, root)
			statusPath := filepath.Join(root, "var/lib/dpkg/status")
			statusBefore := readFile(t, statusPath)

			res, fr := fullCheck(t, root)
			if !boolIs(fr.Backup.Running, true) || len(fr.Backup.Evidence) == 0 ||
				fr.Backup.Evidence[0].Kind != tt.kind || !strings.Contains(fr.Backup.Evidence[0].What, tt.what) {
				t.Errorf("check: backup = %+v, want running, first evidence of kind %s saying %q\n%s", fr.Backup, tt.kind, tt.what, res.dump())
			}
			wantCheck(t, res, "backup.idle", "warn")

			r := runEnsure(t, lock, root, nil)
			wantEnsure(t, r, 75, "deferred", "update")
			if s, ok := findStep(r.res.Preconditions, "backup.idle"); !ok || s.Status != "deferred" || !strings.Contains(s.Message, tt.what) {
				t.Errorf("precondition backup.idle = %+v (found %v), want deferred saying %q", s, ok, tt.what)
			}
			if len(r.res.Actions) != 0 {
				t.Errorf("a deferred ensure ran actions: %+v", r.res.Actions)
			}
			if !bytes.Equal(statusBefore, readFile(t, statusPath)) {
				t.Errorf("a deferred ensure changed the dpkg database (now: waagent %s)", dpkgWaagent(t, root))
			}
		})
	}
}

// A "transitioning" status left behind hours ago is not a running backup:
// check notes it, and ensure updates the old agent.
func TestEnsureIgnoresStaleTransitioningStatus(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	installOldDeb(t, root, "2.2.45-1")
	old := time.Now().UTC().Add(-3 * time.Hour)
	path := writeStatus(t, root, old)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}

	res, fr := fullCheck(t, root)
	if !boolIs(fr.Backup.Running, false) || len(fr.Backup.Evidence) != 0 {
		t.Errorf("check: backup = %+v, want not running without evidence", fr.Backup)
	}
	if !anyContains(fr.Backup.Notes, "stale") || !anyContains(fr.Backup.Notes, "3.status") {
		t.Errorf("check: backup.notes = %q, want a note about the stale status file 3.status\n%s", fr.Backup.Notes, res.dump())
	}
	wantCheck(t, res, "backup.idle", "pass")

	r := runEnsure(t, lock, root, nil)
	wantEnsure(t, r, 0, "ready", "update")
	if s, ok := findStep(r.res.Preconditions, "backup.idle"); !ok || s.Status != "pass" {
		t.Errorf("precondition backup.idle = %+v (found %v), want pass (the status is stale)", s, ok)
	}
	if got := str(r.res.VersionAfter); got != "2.7.3.0" {
		t.Errorf("version_after = %q, want 2.7.3.0", got)
	}
	wantInstalled(t, root)
}

// backup.stale_after is a setting (README.md, Configuration): with 10m, a
// transitioning status from 30 minutes ago is stale. Checked with `check`,
// which uses the same inspection as ensure.
func TestBackupStaleAfterSetting(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	old := time.Now().UTC().Add(-30 * time.Minute)
	path := writeStatus(t, root, old)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}

	// Default 2h: 30 minutes old is fresh.
	_, fr := fullCheck(t, root)
	if !boolIs(fr.Backup.Running, true) {
		t.Errorf("default stale_after: backup.running = %s, want true (30 min < 2h)", showBool(fr.Backup.Running))
	}
	// 10m: stale, noted.
	res, fr := fullCheck(t, root, "AGENTKEEPER_BACKUP_STALE_AFTER=10m")
	if !boolIs(fr.Backup.Running, false) {
		t.Errorf("AGENTKEEPER_BACKUP_STALE_AFTER=10m: backup.running = %s, want false (30 min > 10m)\nbackup: %+v",
			showBool(fr.Backup.Running), fr.Backup)
	}
	if !anyContains(fr.Backup.Notes, "stale") {
		t.Errorf("AGENTKEEPER_BACKUP_STALE_AFTER=10m: backup.notes = %q, want the stale status noted\n%s", fr.Backup.Notes, res.dump())
	}
}

// --dry-run plans, shows the commands, and changes nothing: exit 1 as
// something would change.
func TestEnsureDryRun(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootBase)
	lock := lockEnv(t)
	statusBefore := readFile(t, filepath.Join(root, "var/lib/dpkg/status"))
	listsDir := filepath.Join(root, "var/lib/apt/lists")
	lists := dirSnapshot(t, listsDir)

	r := runEnsure(t, lock, root, []string{"--dry-run"})
	wantEnsure(t, r, 1, "planned", "install")
	if len(r.res.Plan.Commands) == 0 {
		t.Errorf("plan.commands is empty, want the commands it would run")
	} else if !anyContains(r.res.Plan.Commands, "apt-get") || !anyContains(r.res.Plan.Commands, "waagent") {
		t.Errorf("plan.commands = %q, want apt-get commands installing waagent", r.res.Plan.Commands)
	}
	if len(r.res.Actions) != 0 {
		t.Errorf("a dry run ran actions: %+v", r.res.Actions)
	}
	for _, id := range []string{"lock", "source"} {
		if s, ok := findStep(r.res.Preconditions, id); ok && s.Status != "skip" {
			t.Errorf("dry run: precondition %s = %+v, want skip (no lock, no package-list refresh)", id, s)
		}
	}
	wantNothingInstalled(t, root)
	if !bytes.Equal(statusBefore, readFile(t, filepath.Join(root, "var/lib/dpkg/status"))) {
		t.Errorf("a dry run changed the dpkg database")
	}
	if after := dirSnapshot(t, listsDir); after != lists {
		t.Errorf("a dry run touched the package lists (apt-get update?):\nbefore:\n%s\nafter:\n%s", lists, after)
	}
	if _, err := os.Stat(strings.TrimPrefix(lock, "AGENTKEEPER_INSTALL_LOCK_FILE=")); err == nil {
		t.Errorf("a dry run created the lock file")
	}
}

// When the repositories offer only an agent older than the minimum, ensure
// says which version is offered and which is required, exits 1 and changes
// nothing.
func TestEnsureRepositoryOffersOnlyOldVersion(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootWaagent)
	lock := lockEnv(t)
	statusPath := filepath.Join(root, "var/lib/dpkg/status")
	statusBefore := readFile(t, statusPath)

	r := runEnsure(t, lock, root, nil, envMinVersion+"=9.9")
	wantEnsure(t, r, 1, "failed", "update")
	if !strings.Contains(r.res.Message, "2.7.3.0-4.1") || !regexp.MustCompile(`\b9\.9\b`).MatchString(r.res.Message) {
		t.Errorf("message %q should name the offered 2.7.3.0-4.1 and the required 9.9", r.res.Message)
	}
	if s, ok := findStep(r.res.Preconditions, "source"); !ok || s.Status != "fail" {
		t.Errorf("precondition source = %+v (found %v), want fail", s, ok)
	}
	if len(r.res.Actions) != 0 {
		t.Errorf("ensure ran actions although the source is too old: %+v", r.res.Actions)
	}
	if a, b := str(r.res.VersionBefore), str(r.res.VersionAfter); a != "2.7.3.0" || b != "2.7.3.0" {
		t.Errorf("version_before %q, version_after %q, want 2.7.3.0 for both", a, b)
	}
	if !bytes.Equal(statusBefore, readFile(t, statusPath)) {
		t.Errorf("the dpkg database changed although nothing may be installed")
	}
	if got, want := dpkgWaagent(t, root), "2.7.3.0-4.1 install ok installed"; got != want {
		t.Errorf("dpkg says waagent is %q, want %q", got, want)
	}
}

// writeStatus writes the snapshot extension's status file 3.status saying
// "transitioning" at ts and returns its host path.
func writeStatus(t *testing.T, root string, ts time.Time) string {
	t.Helper()
	path := filepath.Join(root, snapshotStatus)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`[{"version":1.0,"timestampUTC":%q,"status":{"name":"Microsoft.Azure.RecoveryServices.VMSnapshotLinux","operation":"Enable","status":"transitioning","code":0,"formattedMessage":{"lang":"en-US","message":"snapshot in progress"}}}]`,
		ts.UTC().Format(time.RFC3339))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dirSnapshot lists a folder's entries with size and modification time.
func dirSnapshot(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s\n", e.Name(), fi.Size(), fi.ModTime().Format(time.RFC3339Nano))
	}
	return b.String()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// holdLock starts this test binary again as a helper that takes an
// exclusive POSIX (fcntl) lock on path, as the snapshot extension does with
// Python's fcntl.lockf, and keeps it until it is killed. It returns once the
// lock is held.
func holdLock(t *testing.T, path string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHoldLock+"="+path)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the lock holder: %v", err)
	}
	t.Cleanup(func() { stopHolder(t, cmd) })
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if strings.TrimSpace(l) != "locked" {
			t.Fatalf("lock holder said %q, want \"locked\"; stderr:\n%s", l, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("lock holder did not take the lock on %s within 30 s; stderr:\n%s", path, stderr.String())
	}
	t.Logf("pid %d holds an fcntl write lock on %s", cmd.Process.Pid, path)
	return cmd
}

// stopHolder kills the lock holder (once) and waits for it, which releases
// its lock.
func stopHolder(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// helperMain runs the helper process when the test binary was started as
// one (see holdLock) and never returns then; otherwise it returns false.
func helperMain() bool {
	path := os.Getenv(envHoldLock)
	if path == "" {
		return false
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hold lock: %v\n", err)
		os.Exit(3)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	for {
		err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLKW, &lk)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hold lock: fcntl F_SETLKW F_WRLCK %s: %v\n", path, err)
		os.Exit(3)
	}
	fmt.Println("locked")
	// Hold it until killed; the test kills this process to release it.
	for {
		time.Sleep(time.Hour)
	}
}
