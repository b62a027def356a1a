// Package ensure installs or updates the Azure VM agent when it is missing
// or too old, as plan → preconditions → apply → verify, and never while an
// Azure Backup snapshot is running.
package ensure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/agent/config"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/msi"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/pkgmgr"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// Exit codes of ensure (README.md). 75 is EX_TEMPFAIL: a pipeline retries.
const (
	ExitReady    = 0
	ExitNotReady = 1
	ExitDeferred = 75
)

// Plan actions.
const (
	ActionNone       = "none"
	ActionInstall    = "install"
	ActionUpdate     = "update"
	ActionEnable     = "enable-service"
	ActionImpossible = "impossible"
)

// Step statuses.
const (
	StepPass     = "pass"
	StepFail     = "fail"
	StepDeferred = "deferred"
	StepSkip     = "skip"
)

// Options say what ensure may do.
type Options struct {
	// Inspect is how the machine is inspected (root, minimum versions, probes).
	Inspect agent.Options
	// DryRun prints the plan and changes nothing.
	DryRun bool
	// WaitBackup is how long to wait for a running backup to end (0: don't wait);
	// Poll is how often to look again.
	WaitBackup, Poll time.Duration
	// LockFile is the single-instance lock; LockTimeout how long to wait for it.
	LockFile    string
	LockTimeout time.Duration
	// PkgLockTimeout is how long the package manager waits for its own lock.
	PkgLockTimeout time.Duration
	// MSI is where the Windows agent's MSI comes from and how it is verified.
	MSI msi.Source
	// WorkDir holds downloads and logs (Windows).
	WorkDir string
	// Progress is told of each event (waiting, running a command) in one
	// line; nil discards them.
	Progress func(msg string)
	// Output gets each line that the package manager or msiexec prints, as
	// it comes (run.WithOutput), under the Progress line of its step; nil
	// keeps it quiet (the output still goes into errors' tails).
	Output func(line string)

	// Hooks; nil means the real ones. Tests replace them.
	Sleep      func(ctx context.Context, d time.Duration) error
	IsAdmin    func() bool
	NewManager func(installer string, root fsroot.Root, r run.Runner, o pkgmgr.Options) (pkgmgr.Manager, error)
	Backup     func() backup.Result
	VerifySig  msi.SignatureVerifier
	HTTP       *http.Client
}

// Plan is what ensure means to do, printable before doing it.
type Plan struct {
	Action     string   `json:"action"`
	Reason     string   `json:"reason"`
	Installer  string   `json:"installer"`
	Package    string   `json:"package"`
	From       string   `json:"from,omitempty"`
	MinVersion string   `json:"min_version"`
	Commands   []string `json:"commands"`
	// IfOffered marks an update of a package below the minimum whose
	// goal-state agent already passes (KB 4049215): it is made only when
	// the repositories offer the minimum; otherwise the package is left
	// as it is, saying why.
	IfOffered bool `json:"if_offered,omitempty"`
}

// Step is one named precondition or action and how it went.
type Step struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// Result is what `ensure --json` prints.
type Result struct {
	Plan          Plan          `json:"plan"`
	Preconditions []Step        `json:"preconditions"`
	Actions       []Step        `json:"actions"`
	Report        *agent.Report `json:"report"`
	// VersionBefore and VersionAfter are the agent versions around the change.
	VersionBefore  string `json:"version_before"`
	VersionAfter   string `json:"version_after"`
	RebootRequired bool   `json:"reboot_required"`
	// Outcome is ready, not-ready, deferred, failed or planned (dry run).
	Outcome  string `json:"outcome"`
	Message  string `json:"message"`
	ExitCode int    `json:"exit_code"`
}

func (r *Result) pre(id, status, format string, a ...any) {
	r.Preconditions = append(r.Preconditions, Step{ID: id, Status: status, Message: fmt.Sprintf(format, a...)})
}

func (r *Result) act(id, status, format string, a ...any) {
	r.Actions = append(r.Actions, Step{ID: id, Status: status, Message: fmt.Sprintf(format, a...)})
}

// end sets the outcome and exit code.
func (r *Result) end(outcome string, code int, format string, a ...any) *Result {
	r.Outcome, r.ExitCode, r.Message = outcome, code, fmt.Sprintf(format, a...)
	return r
}

func (o *Options) defaults() {
	if o.Inspect.Runner == nil {
		o.Inspect.Runner = run.Exec{}
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	if o.Poll <= 0 {
		o.Poll = 30 * time.Second
	}
	if o.LockTimeout < 0 {
		o.LockTimeout = 0
	}
	if o.LockFile == "" {
		o.LockFile = DefaultLockFile()
	}
	if o.Sleep == nil {
		o.Sleep = run.Sleep
	}
	if o.IsAdmin == nil {
		o.IsAdmin = isAdmin
	}
	if o.NewManager == nil {
		o.NewManager = pkgmgr.New
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Minute}
	}
	if o.WorkDir == "" {
		o.WorkDir = filepath.Join(os.TempDir(), "agentkeeper")
	}
}

// DefaultLockFile is the machine-wide single-instance lock.
func DefaultLockFile() string {
	if runtime.GOOS == "windows" {
		pd := config.ProgramData()
		return filepath.Join(pd, "agentkeeper", "agentkeeper.lock")
	}
	for _, d := range []string{"/run/lock", "/var/lock", "/run"} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return filepath.Join(d, "agentkeeper.lock")
		}
	}
	return filepath.Join(os.TempDir(), "agentkeeper.lock")
}

func (o *Options) progress(format string, a ...any) {
	o.Progress(fmt.Sprintf(format, a...))
}

// Run makes the machine ready if it can: see the package comment.
func Run(ctx context.Context, o Options) *Result {
	o.defaults()
	res := &Result{Preconditions: []Step{}, Actions: []Step{}}
	rep := agent.Inspect(ctx, o.Inspect)
	res.Report = rep
	res.VersionBefore = rep.Agent.Version
	res.VersionAfter = rep.Agent.Version

	var mgr pkgmgr.Manager
	if rep.OS.Family == "linux" && rep.Agent.Supported {
		m, err := o.NewManager(rep.Agent.Installer, o.Inspect.Root, run.WithOutput(o.Inspect.Runner, o.Output),
			pkgmgr.Options{LockTimeout: o.PkgLockTimeout, Log: o.Inspect.Log})
		if err == nil {
			mgr = m
		}
	}
	res.Plan = MakePlan(rep, mgr, o.Inspect.Root)
	switch res.Plan.Action {
	case ActionNone:
		if rep.Ready {
			return res.end("ready", ExitReady, "nothing to do: the agent is installed, current and the machine is ready")
		}
		return res.end("not-ready", ExitNotReady, "nothing ensure can change: %s", failing(rep))
	case ActionImpossible:
		return res.end("failed", ExitNotReady, "cannot install the agent: %s", res.Plan.Reason)
	}
	if o.DryRun {
		o.checkNow(res, rep)
		code := ExitNotReady
		return res.end("planned", code, "dry run: would %s (%s); nothing was changed", res.Plan.Action, res.Plan.Reason)
	}

	// Preconditions, each named.
	if !o.IsAdmin() {
		res.pre("admin", StepFail, "not running as root/Administrator")
		return res.end("failed", ExitNotReady, "ensure must run as root (Linux) or Administrator (Windows) to %s the agent", res.Plan.Action)
	}
	res.pre("admin", StepPass, "running as root/Administrator")
	res.pre("supported", StepPass, "%s installs %s", rep.Agent.Installer, rep.Agent.Package)

	lock, err := o.lock(ctx)
	if err != nil {
		res.pre("lock", StepDeferred, "%v", err)
		return res.end("deferred", ExitDeferred, "another agentkeeper is changing this machine: %v", err)
	}
	defer lock.Unlock()
	res.pre("lock", StepPass, "holding %s", o.LockFile)

	// Another run may have changed the machine while this one waited for
	// the lock: look again before deciding.
	rep = agent.Inspect(ctx, o.Inspect)
	res.Report = rep
	if res.Plan = MakePlan(rep, mgr, o.Inspect.Root); res.Plan.Action == ActionNone {
		if rep.Ready {
			return res.end("ready", ExitReady, "nothing to do: the agent is installed and current")
		}
		return res.end("not-ready", ExitNotReady, "nothing ensure can change: %s", failing(rep))
	}

	if b, waited, err := o.waitBackup(ctx, rep.OS.Family); b.Running {
		res.pre("backup.idle", StepDeferred, "a backup is still running after %s: %s", waited.Round(time.Second), evidence(b))
		return res.end("deferred", ExitDeferred, "deferred: an Azure Backup snapshot is running (%s); try again later", evidence(b))
	} else if err != nil {
		res.pre("backup.idle", StepDeferred, "stopped while waiting for a backup: %v", err)
		return res.end("deferred", ExitDeferred, "stopped while waiting for the backup to end: %v", err)
	} else {
		res.pre("backup.idle", StepPass, "no backup running")
	}

	if !o.sourceReady(ctx, res, rep, mgr) {
		return res
	}

	// Apply, after one more look for a backup that may just have started.
	if b := o.detectBackup(rep.OS.Family); b.Running {
		res.act("backup.recheck", StepDeferred, "a backup started: %s", evidence(b))
		return res.end("deferred", ExitDeferred, "deferred: an Azure Backup snapshot started just before the change (%s)", evidence(b))
	}
	if !o.apply(ctx, res, rep, mgr) {
		after := agent.Inspect(ctx, o.Inspect)
		res.Report, res.VersionAfter = after, after.Agent.Version
		return res
	}

	// Verify.
	after := agent.Inspect(ctx, o.Inspect)
	res.Report, res.VersionAfter = after, after.Agent.Version
	if after.Ready {
		res.act("verify", StepPass, "agent %s → %s, machine ready", nonEmpty(res.VersionBefore, "none"), after.Agent.Version)
		return res.end("ready", ExitReady, "agent %s → %s: ready", nonEmpty(res.VersionBefore, "none"), after.Agent.Version)
	}
	res.act("verify", StepFail, "after the change: %s", failing(after))
	return res.end("not-ready", ExitNotReady, "changed the agent (%s → %s) but the machine is not ready: %s",
		nonEmpty(res.VersionBefore, "none"), nonEmpty(after.Agent.Version, "none"), failing(after))
}

// MakePlan decides what to do from a report. mgr may be nil (Windows, or
// no package manager); the commands are then described, not listed.
func MakePlan(rep *agent.Report, mgr pkgmgr.Manager, root fsroot.Root) Plan {
	a := rep.Agent
	p := Plan{Installer: a.Installer, Package: a.Package, From: a.Version, MinVersion: a.MinVersion, Commands: []string{}}
	if c, ok := rep.Check(agent.IDOSDetected); ok && c.Status == agent.StatusFail {
		p.Action, p.Reason = ActionImpossible, c.Message
		return p
	}
	if !a.Supported {
		c, _ := rep.Check(agent.IDOSSupported)
		p.Action, p.Reason = ActionImpossible, nonEmpty(c.Message, "the agent is not supported here")
		return p
	}
	if rep.OS.Family == "windows" && (!root.IsHost() || runtime.GOOS != "windows") {
		p.Action, p.Reason = ActionImpossible, "the Windows agent is installed by running its MSI on the running Windows machine: install it there (agentkeeper ensure on first boot), not into an offline image"
		if c, ok := rep.Check(agent.IDAgentInstalled); ok && c.Status != agent.StatusFail {
			if v, ok := rep.Check(agent.IDAgentVersion); ok && v.Status != agent.StatusFail {
				p.Action, p.Reason = ActionNone, "the agent in the image is installed and recent enough"
			}
		}
		return p
	}
	inst, _ := rep.Check(agent.IDAgentInstalled)
	ver, _ := rep.Check(agent.IDAgentVersion)
	svc, _ := rep.Check(agent.IDAgentService)
	switch {
	case inst.Status == agent.StatusFail:
		p.Action, p.Reason = ActionInstall, inst.Message
	case ver.Status == agent.StatusFail:
		p.Action, p.Reason = ActionUpdate, ver.Message
	case packageBelowMin(rep):
		p.Action, p.IfOffered = ActionUpdate, true
		p.Reason = fmt.Sprintf("package %s %s is below the minimum %s (agent.version: %s): updated when the repositories offer %s or later",
			a.Package, a.PackageVersion, a.MinVersion, ver.Status, a.MinVersion)
	case svc.Status == agent.StatusFail && rep.OS.Family == "linux":
		p.Action, p.Reason = ActionEnable, svc.Message
	default:
		p.Action, p.Reason = ActionNone, "the agent is installed and current"
		return p
	}
	if mgr != nil && p.Action != ActionEnable {
		for _, c := range mgr.Plan(a.Package) {
			p.Commands = append(p.Commands, c.String())
		}
	}
	if rep.OS.Family == "linux" {
		unit := agent.UnitName(a.Service)
		if root.IsHost() {
			p.Commands = append(p.Commands, "systemctl enable --now "+unit)
		} else {
			p.Commands = append(p.Commands, "enable "+a.Service+" in the image (wants links)")
		}
	} else {
		p.Commands = append(p.Commands, "download the agent MSI to *.unverified, verify its SHA-256 or Authenticode signature",
			"msiexec /i <msi> /quiet /norestart /L*v <log>")
	}
	return p
}

// packageBelowMin reports whether a Linux agent package is older than the
// minimum although agent.version did not fail (the goal-state agent meets
// it, or KB 4049215's auto-update rule applies), from the typed fields.
func packageBelowMin(rep *agent.Report) bool {
	if rep.OS.Family != agent.FamilyLinux || !rep.Agent.Installed {
		return false
	}
	have, err := version.NewVersion(rep.Agent.Version)
	min, merr := version.NewVersion(rep.Agent.MinVersion)
	return err == nil && merr == nil && have.LessThan(min)
}

// checkNow evaluates the preconditions without waiting or locking (dry run).
func (o *Options) checkNow(res *Result, rep *agent.Report) {
	if o.IsAdmin() {
		res.pre("admin", StepPass, "running as root/Administrator")
	} else {
		res.pre("admin", StepFail, "not running as root/Administrator")
	}
	if b := o.detectBackup(rep.OS.Family); b.Running {
		res.pre("backup.idle", StepDeferred, "a backup is running: %s", evidence(b))
	} else {
		res.pre("backup.idle", StepPass, "no backup running")
	}
	res.pre("lock", StepSkip, "not taken in a dry run")
	res.pre("source", StepSkip, "not checked in a dry run (it would refresh package lists or download)")
}

func (o *Options) lock(ctx context.Context) (*flock.Flock, error) {
	if err := os.MkdirAll(filepath.Dir(o.LockFile), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", o.LockFile, err)
	}
	l := flock.New(o.LockFile)
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", o.LockFile, err)
	}
	if ok {
		return l, nil
	}
	if o.LockTimeout <= 0 {
		return nil, fmt.Errorf("%s is held by another agentkeeper (ensure or the service)", o.LockFile)
	}
	o.progress("waiting up to %s for %s (another agentkeeper is installing)", o.LockTimeout, o.LockFile)
	lctx, cancel := context.WithTimeout(ctx, o.LockTimeout)
	defer cancel()
	ok, err = l.TryLockContext(lctx, 200*time.Millisecond)
	if !ok || err != nil {
		return nil, fmt.Errorf("%s still held by another agentkeeper after %s", o.LockFile, o.LockTimeout)
	}
	return l, nil
}

func (o *Options) detectBackup(family string) backup.Result {
	if o.Backup != nil {
		return o.Backup()
	}
	return agent.DetectBackup(o.Inspect, family)
}

// waitBackup polls until no backup runs or WaitBackup has passed.
func (o *Options) waitBackup(ctx context.Context, family string) (backup.Result, time.Duration, error) {
	var waited time.Duration
	for {
		b := o.detectBackup(family)
		if !b.Running || waited >= o.WaitBackup {
			return b, waited, nil
		}
		d := min(o.Poll, o.WaitBackup-waited)
		o.progress("backup running (%s); waited %s of %s, next look in %s", evidence(b), waited.Round(time.Second), o.WaitBackup, d)
		if err := o.Sleep(ctx, d); err != nil {
			return b, waited, err
		}
		waited += d
	}
}

// sourceReady checks that the install source has what is needed.
func (o *Options) sourceReady(ctx context.Context, res *Result, rep *agent.Report, mgr pkgmgr.Manager) bool {
	if res.Plan.Action == ActionEnable {
		res.pre("source", StepSkip, "nothing to install")
		return true
	}
	if rep.OS.Family == "windows" {
		switch {
		case o.MSI.URL == "":
			res.pre("source", StepFail, "windows.msi is not set")
			res.end("failed", ExitNotReady, "set windows.msi to the agent MSI (a path or an https:// URL) and windows.msi_sha256 to its SHA-256")
			return false
		case o.MSI.SHA256 == "" && (o.MSI.Signer == "" || o.VerifySig == nil):
			res.pre("source", StepFail, "no way to verify %s: windows.msi_sha256 is not set and no Authenticode check is available", o.MSI.URL)
			res.end("failed", ExitNotReady, "refusing to install an unverified MSI: set windows.msi_sha256")
			return false
		}
		res.pre("source", StepPass, "MSI %s", o.MSI.URL)
		return true
	}
	if mgr == nil {
		res.pre("source", StepFail, "no package manager for installer %q", rep.Agent.Installer)
		res.end("failed", ExitNotReady, "no package manager %s to install %s with", rep.Agent.Installer, rep.Agent.Package)
		return false
	}
	o.progress("asking %s which %s version the repositories offer", mgr.Name(), rep.Agent.Package)
	cand, err := mgr.Candidate(ctx, rep.Agent.Package)
	switch {
	case errors.Is(err, pkgmgr.ErrLocked):
		res.pre("source", StepDeferred, "%v", err)
		res.end("deferred", ExitDeferred, "the package manager is busy: %v", err)
		return false
	case err != nil && res.Plan.IfOffered && errors.Is(err, pkgmgr.ErrNotOffered):
		leave(res, rep, fmt.Sprintf("the repositories do not offer %s", rep.Agent.Package))
		return false
	case err != nil:
		res.pre("source", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "the repositories do not offer %s: %v", rep.Agent.Package, err)
		return false
	}
	up, err := pkgdb.Upstream(cand)
	min, merr := version.NewVersion(rep.Agent.MinVersion)
	if err == nil && merr == nil && up.LessThan(min) && res.Plan.IfOffered {
		leave(res, rep, fmt.Sprintf("the repositories offer %s %s, below the minimum %s", rep.Agent.Package, cand, rep.Agent.MinVersion))
		return false
	}
	if err == nil && merr == nil && up.LessThan(min) {
		res.pre("source", StepFail, "the repositories offer %s %s, below the minimum %s", rep.Agent.Package, cand, rep.Agent.MinVersion)
		res.end("failed", ExitNotReady, "the newest %s the repositories offer is %s, but %s is required: enable a repository with a newer agent (for example the distribution's updates or backports) or lower linux.min_version",
			rep.Agent.Package, cand, rep.Agent.MinVersion)
		return false
	}
	res.pre("source", StepPass, "the repositories offer %s %s", rep.Agent.Package, cand)
	return true
}

// leave ends a run whose IfOffered update cannot be made: the package stays
// as it is and the machine is as ready as the report says.
func leave(res *Result, rep *agent.Report, why string) {
	res.pre("source", StepSkip, "%s: the package is left as it is", why)
	if rep.Ready {
		res.end("ready", ExitReady, "%s; %s %s stays (the goal-state agent or KB 4049215's auto-update rule keeps the machine supported): ready",
			why, rep.Agent.Package, rep.Agent.PackageVersion)
		return
	}
	res.end("not-ready", ExitNotReady, "%s; %s %s stays; not ready: %s", why, rep.Agent.Package, rep.Agent.PackageVersion, failing(rep))
}

// apply makes the change. It returns false (with res ended) on failure.
func (o *Options) apply(ctx context.Context, res *Result, rep *agent.Report, mgr pkgmgr.Manager) bool {
	if rep.OS.Family == "windows" {
		return o.applyMSI(ctx, res)
	}
	pkg := rep.Agent.Package
	if res.Plan.Action != ActionEnable {
		o.progress("%s %s with %s", res.Plan.Action, pkg, mgr.Name())
		if err := mgr.Install(ctx, pkg); err != nil {
			if errors.Is(err, pkgmgr.ErrLocked) {
				res.act("install", StepDeferred, "%v", err)
				res.end("deferred", ExitDeferred, "the package manager stayed locked: %v", err)
				return false
			}
			res.act("install", StepFail, "%v", err)
			res.end("failed", ExitNotReady, "installing %s failed: %v", pkg, err)
			return false
		}
		res.act("install", StepPass, "%s %s with %s", res.Plan.Action, pkg, mgr.Name())
	}
	root := o.Inspect.Root
	var err error
	how := " in the image (not started)"
	if root.IsHost() {
		how = " and started"
		err = service.EnableLive(ctx, o.Inspect.Runner, rep.Agent.Service)
		if errors.Is(err, service.ErrNoSystemd) {
			// A chroot or container build: enable the unit the way the image would.
			how = " in the unit files (systemd is not running: not started)"
			err = service.EnableOffline(root, rep.Agent.Service)
		}
	} else {
		err = service.EnableOffline(root, rep.Agent.Service)
	}
	if err != nil {
		res.act("enable", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "the agent is installed but its unit could not be enabled: %v", err)
		return false
	}
	res.act("enable", StepPass, "%s enabled%s", rep.Agent.Service, how)
	return true
}

func (o *Options) applyMSI(ctx context.Context, res *Result) bool {
	if err := os.MkdirAll(o.WorkDir, 0o700); err != nil {
		res.act("download", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "cannot create %s: %v", o.WorkDir, err)
		return false
	}
	o.progress("fetching and verifying %s", o.MSI.URL)
	path, err := msi.Fetch(ctx, o.MSI, o.WorkDir, o.HTTP, o.VerifySig)
	if err != nil {
		res.act("download", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "the agent MSI was refused: %v", err)
		return false
	}
	res.act("download", StepPass, "verified %s", path)
	logPath := filepath.Join(o.WorkDir, "msiexec-"+time.Now().UTC().Format("20060102T150405")+".log")
	o.progress("msiexec /i %s /quiet /norestart", path)
	ir, err := msi.Install(ctx, run.WithOutput(o.Inspect.Runner, o.Output), path, logPath)
	switch {
	case errors.Is(err, msi.ErrBusy):
		res.act("msiexec", StepDeferred, "%v", err)
		res.end("deferred", ExitDeferred, "another installation is running (msiexec 1618): try later")
		return false
	case err != nil:
		res.act("msiexec", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "msiexec failed: %v (log %s)", err, logPath)
		return false
	}
	res.RebootRequired = ir.RebootRequired
	res.act("msiexec", StepPass, "msiexec exit %d%s (log %s)", ir.ExitCode, map[bool]string{true: ", reboot required", false: ""}[ir.RebootRequired], logPath)
	return true
}

func evidence(b backup.Result) string {
	var parts []string
	for _, e := range b.Evidence {
		parts = append(parts, e.What+" ("+e.Where+")")
	}
	return strings.Join(parts, "; ")
}

func failing(rep *agent.Report) string {
	var parts []string
	for _, c := range rep.Checks {
		if c.Status == agent.StatusFail {
			parts = append(parts, string(c.ID)+": "+c.Message)
		}
	}
	if len(parts) == 0 {
		return "no check failed"
	}
	return strings.Join(parts, "; ")
}

func nonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
