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

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/agent/config"
	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/msi"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/pkgmgr"
	"github.com/agentkeeper/agentkeeper/platform/run"
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
	StepPass     = install.StepPass
	StepFail     = install.StepFail
	StepDeferred = install.StepDeferred
	StepSkip     = install.StepSkip
)

// Options say what ensure may do.
type Options struct {
	// Inspect is how the machine is inspected (root, minimum versions, probes).
	Inspect agent.Options
	// SkipVersion is a package version not to update to again (the
	// service's last rolled-back update, Result.RolledBack): when the
	// repositories offer exactly it, an update is not made and Run ends
	// OutcomeSkipped. "" skips nothing.
	SkipVersion string
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
	// WorkDir holds the MSI downloads and msiexec logs (DefaultWorkDir when
	// empty); it is made private (platform/privdir) and refused when it is not.
	WorkDir string
	// Progress is told of each event (waiting, running a command) in one
	// line; nil discards them.
	Progress func(msg string)
	// Output gets each line that the package manager or msiexec prints, as
	// it comes (run.WithOutput), under the Progress line of its step; nil
	// keeps it quiet (the output still goes into errors' tails).
	Output func(line string)

	// Hooks; nil means the real ones. Tests replace them.
	Sleep   func(ctx context.Context, d time.Duration) error
	IsAdmin func() bool
	// NewInstaller returns the installer named by the report
	// (agent.Installer*) that runs its commands through r (Inspect.Runner,
	// passing their output to Output): by default pkgmgr.NewInstaller for
	// the package managers and msi.NewInstaller for "msi", which refuses
	// (install.ErrNotHere) anything but the running Windows (or Inspect.Live).
	NewInstaller func(name string, r run.Runner) (install.Installer, error)
	Backup       func() backup.Result
	VerifySig    msi.SignatureVerifier
	// HTTP downloads the MSI; nil means the fetcher's own client
	// (msi.NewClient: dial, TLS and header timeouts).
	HTTP *http.Client
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
type Step = install.Step

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
	// Outcome is ready, not-ready, deferred, failed, rolled-back, skipped
	// (Options.SkipVersion) or planned (dry run).
	Outcome  string `json:"outcome"`
	Message  string `json:"message"`
	ExitCode int    `json:"exit_code"`
	// Candidate is the version the repositories offered for the install or
	// update, as the package database spells it ("" when not asked or not
	// known before installing, as for an MSI).
	Candidate string `json:"candidate,omitempty"`
	// RolledBack is the package version an update installed and the
	// rollback removed again (outcome rolled-back), else "".
	RolledBack string `json:"rolled_back,omitempty"`
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
	if o.WorkDir == "" {
		o.WorkDir = DefaultWorkDir()
	}
	if o.NewInstaller == nil {
		o.NewInstaller = o.realInstaller
	}
}

// realInstaller is the default NewInstaller.
func (o *Options) realInstaller(name string, r run.Runner) (install.Installer, error) {
	if name == agent.InstallerMSI {
		i, err := msi.NewInstaller(msi.InstallerOptions{
			Source: o.MSI, Dir: o.WorkDir, Runner: r, HTTP: o.HTTP, VerifySig: o.VerifySig,
			Live: o.Inspect.Live || (o.Inspect.Root.IsHost() && runtime.GOOS == "windows"),
		})
		if err != nil {
			return nil, err
		}
		return i, nil
	}
	i, err := pkgmgr.NewInstaller(name, o.Inspect.Root, r,
		pkgmgr.Options{LockTimeout: o.PkgLockTimeout, Log: o.Inspect.Log})
	if err != nil {
		return nil, err
	}
	return i, nil
}

// DefaultLockFile is the machine-wide single-instance lock, in a directory
// only root (Windows: SYSTEM and Administrators) can write:
// /run/agentkeeper/agentkeeper.lock, %ProgramData%\agentkeeper\agentkeeper.lock.
func DefaultLockFile() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(config.ProgramData(), "agentkeeper", "agentkeeper.lock")
	}
	if fi, err := os.Stat("/run"); err == nil && fi.IsDir() {
		return "/run/agentkeeper/agentkeeper.lock"
	}
	return filepath.Join(os.TempDir(), "agentkeeper", "agentkeeper.lock")
}

// DefaultWorkDir is where the agent MSI is downloaded:
// %ProgramData%\agentkeeper\downloads on Windows.
func DefaultWorkDir() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(config.ProgramData(), "agentkeeper", "downloads")
	}
	return filepath.Join(os.TempDir(), "agentkeeper", "downloads")
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

	inst, instErr := o.installer(rep)
	res.Plan = MakePlan(rep, inst, instErr)
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
	if errors.Is(err, errLockUnsafe) {
		res.pre("lock", StepFail, "%v", err)
		return res.end("failed", ExitNotReady, "refusing a lock another user could hold or plant: %v", err)
	}
	if err != nil {
		res.pre("lock", StepDeferred, "%v", err)
		return res.end("deferred", ExitDeferred, "another agentkeeper is changing this machine: %v", err)
	}
	defer lock.Close()
	res.pre("lock", StepPass, "holding %s", o.LockFile)

	// Another run may have changed the machine while this one waited for
	// the lock: look again before deciding.
	rep = agent.Inspect(ctx, o.Inspect)
	res.Report = rep
	if res.Plan = MakePlan(rep, inst, instErr); res.Plan.Action == ActionNone {
		if rep.Ready {
			return res.end("ready", ExitReady, "nothing to do: the agent is installed and current")
		}
		return res.end("not-ready", ExitNotReady, "nothing ensure can change: %s", failing(rep))
	}

	if b, waited, err := o.waitBackup(ctx, rep.OS.Family); b.Running && err == nil {
		res.pre("backup.idle", StepDeferred, "a backup is still running after %s: %s", waited.Round(time.Second), evidence(b))
		return res.end("deferred", ExitDeferred, "deferred: an Azure Backup snapshot is running (%s); try again later", evidence(b))
	} else if err != nil {
		res.pre("backup.idle", StepDeferred, "interrupted while waiting for a backup: %v", err)
		return res.end("deferred", ExitDeferred, "interrupted while waiting for the backup to end (%v): nothing was changed, %s; retry", err, packageState(rep))
	} else {
		res.pre("backup.idle", StepPass, "no backup running")
	}

	if !o.sourceReady(ctx, res, rep, inst) {
		return res
	}

	// Apply, after one more look for a backup that may just have started.
	if b := o.detectBackup(rep.OS.Family); b.Running {
		res.act("backup.recheck", StepDeferred, "a backup started: %s", evidence(b))
		return res.end("deferred", ExitDeferred, "deferred: an Azure Backup snapshot started just before the change (%s)", evidence(b))
	}
	if !o.apply(ctx, res, rep, inst) {
		// Inspect even when ctx has ended (SIGTERM): the report must say
		// what state the package was left in.
		after := agent.Inspect(context.WithoutCancel(ctx), o.Inspect)
		res.Report, res.VersionAfter = after, after.Agent.Version
		if res.ExitCode == ExitDeferred && ctx.Err() != nil {
			res.Message += "; " + packageState(after)
		}
		if res.ExitCode == ExitNotReady {
			o.rollback(ctx, res, rep, after, inst)
		}
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
	if o.rollback(ctx, res, rep, after, inst) {
		return res
	}
	return res.end("not-ready", ExitNotReady, "changed the agent (%s → %s) but the machine is not ready: %s",
		nonEmpty(res.VersionBefore, "none"), nonEmpty(after.Agent.Version, "none"), failing(after))
}

// packageState says in words what the report found of the agent's package.
func packageState(rep *agent.Report) string {
	c, _ := rep.Check(agent.IDAgentInstalled)
	if !rep.Agent.Installed {
		return "the agent package is not installed (" + nonEmpty(c.Message, "no agent found") + ")"
	}
	return fmt.Sprintf("the agent package is installed, version %s (%s)", nonEmpty(rep.Agent.Version, "unknown"), c.Message)
}

// installer returns the installer for rep's agent, or nil and why there
// is none (nil, nil where the agent is not supported).
func (o *Options) installer(rep *agent.Report) (install.Installer, error) {
	if !rep.Agent.Supported {
		return nil, nil
	}
	inst, err := o.NewInstaller(rep.Agent.Installer, run.WithOutput(o.Inspect.Runner, o.Output))
	if err != nil {
		return nil, err
	}
	return inst, nil
}

// PlanFor returns the plan Run would make from rep with o: MakePlan with
// the installer Run would use. It runs nothing and changes nothing, so
// that the service decides to remediate exactly when ensure would act.
func PlanFor(rep *agent.Report, o Options) Plan {
	o.defaults()
	inst, err := o.installer(rep)
	return MakePlan(rep, inst, err)
}

// Acts reports whether a plan changes something (install, update or
// enable the service); none and impossible do not.
func (p Plan) Acts() bool {
	switch p.Action {
	case ActionInstall, ActionUpdate, ActionEnable:
		return true
	}
	return false
}

// MakePlan decides what to do from a report. inst is the installer for the
// report's agent, or nil with instErr saying why there is none (an offline
// Windows image: install.ErrNotHere); the plan is then "none" when the
// agent needs no change and "impossible" when it does.
func MakePlan(rep *agent.Report, inst install.Installer, instErr error) Plan {
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
	installed, _ := rep.Check(agent.IDAgentInstalled)
	ver, _ := rep.Check(agent.IDAgentVersion)
	svc, _ := rep.Check(agent.IDAgentService)
	enabler, canEnable := inst.(install.ServiceEnabler)
	switch {
	case installed.Status == agent.StatusFail:
		p.Action, p.Reason = ActionInstall, installed.Message
	case ver.Status == agent.StatusFail:
		p.Action, p.Reason = ActionUpdate, ver.Message
	case packageBelowMin(rep):
		p.Action, p.IfOffered = ActionUpdate, true
		p.Reason = fmt.Sprintf("package %s %s is below the minimum %s (agent.version: %s): updated when the repositories offer %s or later",
			a.Package, a.PackageVersion, a.MinVersion, ver.Status, a.MinVersion)
	case svc.Status == agent.StatusFail && canEnable:
		p.Action, p.Reason = ActionEnable, svc.Message
	default:
		p.Action, p.Reason = ActionNone, "the agent is installed and current"
		if inst == nil && instErr != nil {
			p.Reason = "the agent in the image is installed and recent enough"
		}
		return p
	}
	if inst == nil {
		p.Action, p.Reason = ActionImpossible, nonEmpty(errText(instErr), "no installer for "+a.Installer)
		return p
	}
	if p.Action != ActionEnable {
		p.Commands = append(p.Commands, inst.Commands(a.Package)...)
	}
	if canEnable {
		p.Commands = append(p.Commands, enabler.EnableCommands(a.Service)...)
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

func errText(err error) string {
	if err == nil {
		return ""
	}
	return strings.TrimPrefix(err.Error(), install.ErrNotHere.Error()+": ")
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
func (o *Options) sourceReady(ctx context.Context, res *Result, rep *agent.Report, inst install.Installer) bool {
	if res.Plan.Action == ActionEnable {
		res.pre("source", StepSkip, "nothing to install")
		return true
	}
	pkg := rep.Agent.Package
	o.progress("asking %s which %s version its source offers", inst.Name(), pkg)
	cand, err := inst.Candidate(ctx, pkg)
	switch {
	case errors.Is(err, install.ErrBusy):
		res.pre("source", StepDeferred, "%v", err)
		res.end("deferred", ExitDeferred, "the package manager is busy: %v", err)
		return false
	case err != nil && res.Plan.IfOffered && errors.Is(err, install.ErrNotOffered):
		leave(res, rep, fmt.Sprintf("the repositories do not offer %s", rep.Agent.Package))
	case errors.Is(err, install.ErrNotOffered):
		res.pre("source", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "the repositories do not offer %s: %v", pkg, err)
		return false
	case err != nil:
		res.pre("source", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "%s cannot install %s: %v", inst.Name(), pkg, err)
		return false
	case cand == "":
		first := "its source"
		if c := inst.Commands(pkg); len(c) > 0 {
			first = c[0]
		}
		res.pre("source", StepPass, "%s: the version is known once installed (%s)", inst.Name(), first)
		return true
	}
	res.Candidate = cand
	if o.SkipVersion != "" && cand == o.SkipVersion && res.Plan.Action == ActionUpdate {
		res.pre("source", StepSkip, "the repositories still offer only %s %s, the version whose update was rolled back", pkg, cand)
		code := ExitNotReady
		if rep.Ready {
			code = ExitReady
		}
		res.end(OutcomeSkipped, code, "not updating %s to %s again: that update was rolled back and the repositories offer nothing newer; %s stays at %s",
			pkg, cand, pkg, nonEmpty(rep.Agent.PackageVersion, rep.Agent.Version))
		return false
	}
	up, err := pkgdb.Upstream(cand)
	min, merr := version.NewVersion(rep.Agent.MinVersion)
	if err == nil && merr == nil && up.LessThan(min) && res.Plan.IfOffered {
		leave(res, rep, fmt.Sprintf("the repositories offer %s %s, below the minimum %s", rep.Agent.Package, cand, rep.Agent.MinVersion))
		return false
	}
	if err == nil && merr == nil && up.LessThan(min) {
		res.pre("source", StepFail, "the repositories offer %s %s, below the minimum %s", pkg, cand, rep.Agent.MinVersion)
		res.end("failed", ExitNotReady, "the newest %s the repositories offer is %s, but %s is required: enable a repository with a newer agent (for example the distribution's updates or backports) or lower linux.min_version",
			pkg, cand, rep.Agent.MinVersion)
		return false
	}
	res.pre("source", StepPass, "the repositories offer %s %s", pkg, cand)
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
func (o *Options) apply(ctx context.Context, res *Result, rep *agent.Report, inst install.Installer) bool {
	pkg := rep.Agent.Package
	if res.Plan.Action != ActionEnable {
		o.progress("%s %s with %s", res.Plan.Action, pkg, inst.Name())
		ir, err := inst.Install(ctx, pkg)
		res.Actions = append(res.Actions, ir.Steps...)
		res.RebootRequired = ir.RebootRequired
		switch {
		case err != nil && ctx.Err() != nil:
			res.act("install", StepDeferred, "interrupted: %v", err)
			res.end("deferred", ExitDeferred, "interrupted while installing %s (%v): retry", pkg, context.Cause(ctx))
			return false
		case errors.Is(err, install.ErrBusy):
			res.act("install", StepDeferred, "%v", err)
			res.end("deferred", ExitDeferred, "another installation holds the machine: %v", err)
			return false
		case err != nil:
			res.act("install", StepFail, "%v", err)
			res.end("failed", ExitNotReady, "installing %s failed: %v", pkg, err)
			return false
		}
		res.act("install", StepPass, "%s %s with %s", res.Plan.Action, pkg, inst.Name())
	}
	enabler, ok := inst.(install.ServiceEnabler)
	if !ok {
		return true
	}
	how, err := enabler.EnableService(ctx, rep.Agent.Service)
	if err != nil {
		res.act("enable", StepFail, "%v", err)
		res.end("failed", ExitNotReady, "the agent is installed but its unit could not be enabled: %v", err)
		return false
	}
	res.act("enable", StepPass, "%s enabled %s", rep.Agent.Service, how)
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
