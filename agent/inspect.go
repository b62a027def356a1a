package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/platform/filever"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/proc"
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// Endpoints are the Azure host endpoints the network checks talk to.
type Endpoints struct {
	WireServer, HostGAPlugin, IMDS string
	Timeout                        time.Duration
}

// Options say what to inspect and how.
type Options struct {
	// Root is the tree to inspect; a root other than the host's "/" is an
	// offline image: no processes, no network, no live service state.
	Root fsroot.Root
	// Live makes Root count as the running system although it is not the
	// host's "/": for tests that replace every live probe (Processes,
	// OnAzure, LockHeld, FileVersion, the Windows hooks, Runner) and use a
	// temporary tree as the machine.
	Live bool
	// NoNetwork skips the network checks even on a live Azure VM.
	NoNetwork bool
	// MinLinux and MinWindows are the oldest acceptable agent versions.
	MinLinux, MinWindows *version.Version
	// SupportedWindows is Azure's extension-support floor for the Windows
	// agent (config windows.supported_version): below it agent.version
	// warns.
	SupportedWindows *version.Version
	Endpoints        Endpoints
	Runner           run.Runner
	Log              *slog.Logger
	// Version is agentkeeper's own version, copied into the report.
	Version string

	// The live-system probes; nil means the real ones. Tests replace them.
	Now       func() time.Time
	Processes func() ([]proc.Process, error)
	OnAzure   func(fsroot.Root) (bool, error)
	// LockHeld probes the SafeFreeze lock; nil means the real probe.
	LockHeld func(hostPath string) (bool, int, error)
	// BackupStaleAfter is how long a "transitioning" snapshot status counts
	// as a running backup (config backup.stale_after).
	BackupStaleAfter time.Duration
	// HTTP is the client of the network checks; nil means one shared by
	// the process (NewHTTPClient).
	HTTP *http.Client
	// Registry reads HKEY_LOCAL_MACHINE; nil means the live registry
	// (registry.Live, which fails off Windows).
	Registry registry.Reader
	// WinService reads a Windows service's state; nil means the live
	// service manager (service.Windows).
	WinService func(name string) (service.State, error)
	// Skip turns checks into "skip" (config checks.skip).
	Skip map[CheckID]bool

	// agentProxy, when set, replaces reading the agent's proxy for the
	// WireServer probe (tests of a live root cannot write its files).
	agentProxy func(host string) (ProxySetting, bool)
	// FileVersion reads a live Windows file's version resource; nil means
	// filever.Read (the Windows version API).
	FileVersion func(path string) (filever.Info, error)
}

// live reports whether the root is the running system.
func (o *Options) live() bool { return o.Live || o.Root.IsHost() }

// cmd renders a fix command for the mode (modeCmd).
func (o *Options) cmd(family, s string) string { return modeCmd(o.live(), o.Root.Dir, family, s) }

// ensure renders `agentkeeper ensure` for the mode.
func (o *Options) ensure() string { return ensureCmd(o.live(), o.Root.Dir) }

func (o *Options) defaults() {
	if o.Runner == nil {
		o.Runner = run.Exec{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Processes == nil {
		o.Processes = proc.List
	}
	if o.OnAzure == nil {
		o.OnAzure = osinfo.OnAzure
	}
	if o.FileVersion == nil {
		o.FileVersion = filever.Read
	}
	if o.MinLinux == nil {
		o.MinLinux = version.Must(version.NewVersion(DefaultMinLinux))
	}
	if o.MinWindows == nil {
		o.MinWindows = version.Must(version.NewVersion(DefaultMinWindows))
	}
	if o.SupportedWindows == nil {
		o.SupportedWindows = version.Must(version.NewVersion(DefaultSupportedWindows))
	}
	if o.Endpoints.Timeout <= 0 {
		o.Endpoints.Timeout = 3 * time.Second
	}
	if o.Registry == nil {
		o.Registry = registry.Live
	}
	if o.WinService == nil {
		o.WinService = service.Windows
	}
	if o.HTTP == nil {
		o.HTTP = defaultHTTP()
	}
}

// Inspect looks at the machine (or image) and returns the judged report.
// It never fails as a whole: whatever cannot be read becomes a failing or
// warning check that says what and where.
func Inspect(ctx context.Context, o Options) *Report {
	o.defaults()
	rep := &Report{
		Offline:            !o.live(),
		Root:               o.Root.Dir,
		Time:               o.Now().UTC().Format(time.RFC3339),
		AgentkeeperVersion: o.Version,
		Checks:             []Check{},
		OS:                 OSReport{Like: []string{}},
		skip:               o.Skip,
	}
	rep.Hostname = hostname(o.Root)

	info, err := osinfo.DetectLive(o.Root, o.live(), o.Registry)
	if err != nil {
		rep.Add(Check{ID: IDOSDetected, Status: StatusFail, Message: "cannot tell the operating system: " + err.Error(),
			Fix: "make sure --root points at an operating system's root (it must hold etc/os-release or Windows/System32)"})
		rep.Finish()
		return rep
	}
	rep.OS = OSReport{Family: info.Family, ID: info.ID, Version: info.VersionID, Name: info.Name,
		Like: append([]string{}, info.Like...), Edition: info.Edition, Server: info.Server}
	if a, err := osinfo.DetectArch(o.Root, info.Family, o.live(), o.Registry); err != nil {
		rep.archErr = err
	} else {
		rep.OS.Arch, rep.OS.Bits, rep.archSource = a.Name, a.Bits, a.Source
	}
	o.Log.Debug("detected operating system", "family", info.Family, "id", info.ID, "version", info.VersionID, "source", info.Source)
	rep.Add(Check{ID: IDOSDetected, Status: StatusPass, Message: fmt.Sprintf("%s (%s)", nonEmpty(info.Name, info.ID), info.Source)})

	azureCheck(&o, rep)

	switch info.Family {
	case "linux":
		inspectLinux(ctx, &o, rep, info)
	case "windows":
		inspectWindows(ctx, &o, rep, info)
	default:
		rep.Add(Check{ID: IDOSSupported, Status: StatusFail, Message: "unknown operating system family " + info.Family})
	}

	backupCheck(&o, rep)
	networkChecks(ctx, &o, rep)
	runProbes(ctx, &o, rep, info)
	rep.Finish()
	return rep
}

// DetectBackup looks for a running Azure Backup snapshot on the root.
func DetectBackup(o Options, family string) backup.Result {
	o.defaults()
	return backup.Detect(backup.Options{Root: o.Root, Live: o.live(), Family: family,
		StaleAfter: o.BackupStaleAfter, Now: o.Now, Processes: o.Processes, LockHeld: o.LockHeld})
}

func backupCheck(o *Options, rep *Report) {
	rep.Backup = DetectBackup(*o, rep.OS.Family)
	if rep.Backup.Evidence == nil {
		rep.Backup.Evidence = []backup.Evidence{}
	}
	if rep.Backup.Notes == nil {
		rep.Backup.Notes = []string{} // README lists backup.notes: [] rather than absent
	}
	if !rep.Backup.Running {
		rep.Add(Check{ID: IDBackupIdle, Status: StatusPass, Message: "no Azure Backup snapshot is running"})
		return
	}
	e := rep.Backup.Evidence[0]
	rep.Add(Check{ID: IDBackupIdle, Status: StatusWarn,
		Message: fmt.Sprintf("an Azure Backup snapshot is running: %s (%s)", e.What, e.Where),
		Fix:     "wait for the backup to finish before updating the agent (agentkeeper ensure waits or defers by itself)"})
}

func azureCheck(o *Options, rep *Report) {
	if !o.live() {
		rep.Add(Check{ID: IDOSAzure, Status: StatusSkip, Message: "offline image: whether it will run on Azure is not known"})
		return
	}
	az, err := o.OnAzure(o.Root)
	switch {
	case err != nil:
		rep.Add(Check{ID: IDOSAzure, Status: StatusWarn, Message: "cannot read the SMBIOS asset tag: " + err.Error()})
	case az:
		rep.OS.Azure = true
		rep.Add(Check{ID: IDOSAzure, Status: StatusPass, Message: "an Azure VM (SMBIOS chassis asset tag)"})
	default:
		rep.Add(Check{ID: IDOSAzure, Status: StatusSkip, Message: "not an Azure VM (no Azure SMBIOS asset tag): Azure network checks are skipped"})
	}
}

func skipAll(rep *Report, why string, ids ...CheckID) {
	for _, id := range ids {
		rep.Add(Check{ID: id, Status: StatusSkip, Message: why})
	}
}

func hostname(r fsroot.Root) string {
	if r.IsHost() {
		h, _ := os.Hostname()
		return h
	}
	b, err := r.ReadFile("/etc/hostname", 4096)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
}

func nonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func boolp(b bool) *bool { return &b }
