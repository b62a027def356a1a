// Package install is what ensure needs from whatever installs the Azure VM
// agent: the distribution's package manager (platform/pkgmgr) on Linux, the
// agent's Windows Installer package (platform/msi) on Windows. Both
// implement Installer, so ensure plans, asks the source, installs and
// reports the same way on every operating system.
package install

import (
	"context"
	"errors"
	"fmt"
)

// Installer installs or updates one package from one source.
type Installer interface {
	// Name is the installer's name as reports show it: "apt-get", "dnf",
	// "yum", "zypper", "tdnf" or "msi".
	Name() string
	// Commands returns what Install would do now, in order, as a person
	// would type it (for the plan and --dry-run).
	Commands(pkg string) []string
	// Candidate asks the source which version of pkg it offers. It returns
	// "" and no error when the source only tells by installing (an MSI);
	// an error wrapping ErrBusy when the source is locked by another
	// process (try later), ErrNotOffered when it offers nothing, and any
	// other error when it cannot be used at all (an MSI that cannot be
	// verified).
	Candidate(ctx context.Context, pkg string) (string, error)
	// Install installs or updates pkg. The Result lists every step it took,
	// repairs included, whether it succeeded or not; an error wrapping
	// ErrBusy means another installation held the machine (try later).
	Install(ctx context.Context, pkg string) (Result, error)
}

// ServiceEnabler is implemented by installers that leave enabling the
// package's service to the caller (systemd units after apt-get, dnf,
// zypper). An installer that starts its services itself (an MSI) does not
// implement it.
type ServiceEnabler interface {
	// EnableCommands returns what EnableService would do, for the plan.
	EnableCommands(service string) []string
	// EnableService enables the service and starts it where that is
	// possible; how says which ("and started", "in the image (not
	// started)").
	EnableService(ctx context.Context, service string) (how string, err error)
}

// Reverter is implemented by installers that can put an earlier version of
// a package back (a package manager whose repositories still offer it), so
// that ensure can roll back an update that left the agent worse.
type Reverter interface {
	// Offered returns every version of pkg the source offers, as the
	// package database spells them ("2.2.45-1", "2.9.1.1-1.el9").
	Offered(ctx context.Context, pkg string) ([]string, error)
	// InstallVersion installs pkg at exactly version, downgrading it.
	InstallVersion(ctx context.Context, pkg, version string) (Result, error)
}

// Step statuses, as ensure reports them.
const (
	StepPass     = "pass"
	StepFail     = "fail"
	StepDeferred = "deferred"
	StepSkip     = "skip"
)

// Step is one thing an installer did, for ensure's "actions".
type Step struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

// Result is what Install did.
type Result struct {
	// Steps are the steps taken, in order (download, repair, msiexec, ...).
	Steps []Step
	// RebootRequired is set when Windows must restart to finish.
	RebootRequired bool
	// Log is the installer's own log file, when it writes one.
	Log string
}

// Add appends a step.
func (r *Result) Add(id, status, format string, a ...any) {
	r.Steps = append(r.Steps, Step{ID: id, Status: status, Message: fmt.Sprintf(format, a...)})
}

// ErrBusy is wrapped by errors meaning another process holds the machine's
// installer (a package manager's lock, msiexec's 1618): try again later.
var ErrBusy = errors.New("another installation is in progress")

// ErrNotOffered is wrapped when no enabled source offers the package.
var ErrNotOffered = errors.New("package not offered by any enabled repository")

// ErrNotHere is wrapped by an installer's constructor when it cannot
// install on this target at all (an MSI into an offline Windows image).
var ErrNotHere = errors.New("cannot install here")
