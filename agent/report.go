// Package agent knows what the Azure VM agent is on each operating system,
// inspects a machine (live or an offline image) for it, judges whether the
// machine is ready for Azure Backup, and renders that judgement for people
// and for pipelines.
package agent

import "github.com/agentkeeper/agentkeeper/agent/backup"

// Status is the outcome of one check.
type Status string

// The statuses a check can have. Only StatusFail makes a machine not ready.
const (
	StatusPass Status = "pass"
	StatusWarn Status = "warn"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Check is one judged fact about the machine.
type Check struct {
	// ID is stable across releases (os.supported, agent.version, ...):
	// one of the catalogue's declarations.
	ID      CheckID `json:"id"`
	Status  Status  `json:"status"`
	Message string  `json:"message"`
	// Fix says in words what to do; empty when nothing is to be done.
	Fix string `json:"fix,omitempty"`
}

// OSReport describes the operating system found.
type OSReport struct {
	// Family is "linux" or "windows" ("" when it could not be told).
	Family string `json:"family"`
	// ID is the os-release ID, or "windows".
	ID string `json:"id"`
	// Version is os-release VERSION_ID, or the Windows build (10.0.20348).
	Version string `json:"version"`
	// Name is PRETTY_NAME or the Windows product name.
	Name string `json:"name"`
	// Like is os-release ID_LIKE, split.
	Like []string `json:"like"`
	// Azure is true when SMBIOS says this is an Azure VM.
	Azure bool `json:"azure"`
	// Edition and Server are filled on Windows.
	Edition string `json:"edition,omitempty"`
	Server  bool   `json:"server,omitempty"`
	// Arch is the OS's architecture (Linux x86_64, i386, aarch64, ...;
	// Windows AMD64, x86, ARM64); Bits is 32 or 64; both empty when it
	// could not be told (os.arch says why).
	Arch string `json:"arch"`
	Bits int    `json:"bits,omitempty"`
}

// AgentReport describes the Azure VM agent found (or expected).
type AgentReport struct {
	// Supported is whether the agent can be installed on this OS.
	Supported bool `json:"supported"`
	// Package, Service and Installer are what this OS calls the agent's
	// package and service, and the tool that installs it (apt-get, yum, dnf,
	// zypper, tdnf, msi or none).
	Package   string `json:"package"`
	Service   string `json:"service"`
	Installer string `json:"installer"`
	Installed bool   `json:"installed"`
	// Version is the upstream agent version (epoch and distribution
	// revision removed); empty when not installed or unreadable.
	Version string `json:"version"`
	// PackageVersion is the version exactly as the package database holds it
	// (Linux) or as the file's version resource says (Windows).
	PackageVersion string `json:"package_version"`
	// VersionSource says where Version was read: dpkg, rpm, file, guestagent-folder, registry.
	VersionSource string `json:"version_source,omitempty"`
	// GoalStateVersion is the self-updated extension handler's version:
	// the version judged against the minimum on Linux.
	GoalStateVersion string `json:"goal_state_version"`
	// GoalStateSource says where GoalStateVersion comes from: process (the
	// running -run-exthandlers process), folder (the newest usable
	// WALinuxAgent-<ver> folder), package (no newer agent than the package).
	GoalStateSource string `json:"goal_state_source,omitempty"`
	MinVersion      string `json:"min_version"`
	// AutoUpdate is whether the Linux agent updates itself (waagent.conf;
	// on when the file is missing); null when unknown or on Windows.
	AutoUpdate *bool `json:"auto_update,omitempty"`
	// SupportedVersion is Azure's extension-support floor for the Windows
	// agent (KB 4049215); between MinVersion and it, agent.version warns.
	SupportedVersion string `json:"supported_version,omitempty"`
	ServiceEnabled   bool   `json:"service_enabled"`
	// ServiceRunning is null when it cannot be known (offline images).
	ServiceRunning *bool `json:"service_running"`
}

// Report is the whole result of a check: what `check --json` prints.
type Report struct {
	// Ready is true when no check failed.
	Ready bool `json:"ready"`
	// Offline is true when the root is not the live system: no processes,
	// no network, no live service state.
	Offline bool `json:"offline"`
	// NetworkChecked is true when the Azure endpoints were probed (a live
	// Azure VM without --no-network); false in images, off Azure and with
	// network checks turned off.
	NetworkChecked bool        `json:"network_checked"`
	Root           string      `json:"root"`
	OS             OSReport    `json:"os"`
	Agent          AgentReport `json:"agent"`
	// Backup says whether an Azure Backup snapshot is running, and why.
	Backup backup.Result `json:"backup"`
	Checks []Check       `json:"checks"`
	// Time is when the check ran, RFC 3339 UTC.
	Time string `json:"time"`
	// Hostname of the machine that ran the check (the image's for offline roots, when known).
	Hostname string `json:"hostname"`
	// AgentkeeperVersion is the version of this program.
	AgentkeeperVersion string `json:"agentkeeper_version"`

	// skip holds the checks turned off by configuration (checks.skip).
	skip map[CheckID]bool
	// archSource and archErr say where OS.Arch was read, or why it could
	// not be (for os.arch).
	archSource string
	archErr    error
}

// Add appends a check to the report. A check the configuration skips is
// recorded as skipped, whatever its probe found.
func (r *Report) Add(c Check) {
	if r.skip[c.ID] {
		c = Check{ID: c.ID, Status: StatusSkip, Message: "skipped by configuration (checks.skip)"}
	}
	r.Checks = append(r.Checks, c)
}

// Failed reports whether the check with the given id exists and failed.
func (r *Report) Failed(id CheckID) bool {
	c, ok := r.Check(id)
	return ok && c.Status == StatusFail
}

// Finish sets Ready from the checks: ready means no check failed.
func (r *Report) Finish() {
	r.Ready = true
	for _, c := range r.Checks {
		if c.Status == StatusFail {
			r.Ready = false
		}
	}
}

// Check returns the check with the given id and whether it exists.
func (r *Report) Check(id CheckID) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}
