package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/mounts"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// goalStateProc matches the command line of the self-updated extension
// handler (WALinuxAgent azurelinuxagent/common/version.py).
var goalStateProc = regexp.MustCompile(`WALinuxAgent-(\d+(?:\.\d+)+).*-run-exthandlers`)

// goalStateDir matches a downloaded agent's folder in /var/lib/waagent.
var goalStateDir = regexp.MustCompile(`^WALinuxAgent-(\d+(?:\.\d+)+)$`)

// agentChecks are the checks that only make sense once the agent is installed.
var agentChecks = []CheckID{IDAgentVersion, IDAgentService, IDAgentExtensions}

func inspectLinux(ctx context.Context, o *Options, rep *Report, info osinfo.Info) {
	la := LinuxAgentFor(info.ID, info.Like, info.VersionID)
	rep.Agent = AgentReport{Supported: la.Supported, Package: la.Package, Service: la.Unit,
		Installer: la.Installer, MinVersion: o.MinLinux.Original()}
	if !la.Supported {
		rep.Add(Check{ID: IDOSSupported, Status: StatusFail,
			Message: fmt.Sprintf("%s: %s", nonEmpty(info.Name, info.ID), la.Reason),
			Fix:     "use a distribution Azure supports (Ubuntu, Debian, RHEL and its rebuilds, SLES, Azure Linux) or install the agent as the image vendor documents"})
		skipAll(rep, "the agent cannot be installed on this distribution", append([]CheckID{IDAgentInstalled}, agentChecks...)...)
		return
	}
	msg := fmt.Sprintf("%s is supported: package %s, unit %s, installed with %s", nonEmpty(info.Name, info.ID), la.Package, la.Unit, la.Installer)
	if la.Note != "" {
		msg += " (" + la.Note + ")"
	}
	rep.Add(Check{ID: IDOSSupported, Status: StatusPass, Message: msg})

	installFix := fmt.Sprintf("install the package %s (%s), or run %s", la.Package, o.cmd(FamilyLinux, installCommand(la)), o.ensure())
	var (
		pkg   pkgdb.Package
		found bool
		err   error
		db    string
	)
	if la.Installer == InstallerApt {
		db = o.Root.Join("/var/lib/dpkg/status")
		pkg, found, err = pkgdb.Dpkg(o.Root, la.Package)
	} else {
		db = "the RPM database under " + o.Root.Dir
		pkg, found, err = pkgdb.RPM(ctx, o.Runner, o.Root, la.Package)
	}
	if la.Installer == InstallerApt && err == nil && (!found || !pkg.Installed) {
		// An interrupted dpkg is not "not installed": say so, with its fix.
		if audit, aerr := pkgdb.AuditDpkg(o.Root); aerr == nil && !audit.Clean() {
			state := "is not installed"
			if found {
				rep.Agent.PackageVersion = pkg.Version
				state = fmt.Sprintf("%s is not fully installed (status %q)", pkg.Version, pkg.Status)
			}
			// dpkg --configure -a finishes unpacked, half-configured and
			// trigger states and replays the journal; a half-installed
			// package (reinstreq) needs the install repeated.
			fix := fmt.Sprintf("let dpkg finish: %s, then %s", o.cmd(FamilyLinux, "dpkg --configure -a"), o.ensure())
			if found && strings.HasSuffix(pkg.Status, " half-installed") && audit.Journal == 0 {
				fix = "repeat the installation: " + o.cmd(FamilyLinux, installCommand(la))
			}
			rep.Add(Check{ID: IDAgentInstalled, Status: StatusFail,
				Message: fmt.Sprintf("package %s %s (%s): dpkg was interrupted or left work unfinished (dpkg --audit: %s)", la.Package, state, db, audit),
				Fix:     fix})
			skipAll(rep, "dpkg has unfinished work", agentChecks...)
			return
		}
	}
	switch {
	case err != nil:
		rep.Add(Check{ID: IDAgentInstalled, Status: StatusFail, Message: "cannot read the package database: " + err.Error(),
			Fix: "repair the package database, or check that --root is a complete image"})
		skipAll(rep, "the package database could not be read", agentChecks...)
		return
	case !found:
		rep.Add(Check{ID: IDAgentInstalled, Status: StatusFail, Message: fmt.Sprintf("package %s is not installed (%s)", la.Package, db), Fix: installFix})
		skipAll(rep, "the agent is not installed", agentChecks...)
		return
	case !pkg.Installed:
		rep.Agent.PackageVersion = pkg.Version
		rep.Add(Check{ID: IDAgentInstalled, Status: StatusFail,
			Message: fmt.Sprintf("package %s %s is not fully installed (status %q in %s)", la.Package, pkg.Version, pkg.Status, db),
			Fix:     "finish or repeat the installation: " + o.cmd(FamilyLinux, installCommand(la))})
		skipAll(rep, "the agent is not fully installed", agentChecks...)
		return
	}
	rep.Agent.Installed = true
	rep.Agent.PackageVersion = pkg.Version
	rep.Agent.VersionSource = map[bool]string{true: SourceDpkg, false: SourceRPM}[la.Installer == InstallerApt]
	rep.Add(Check{ID: IDAgentInstalled, Status: StatusPass, Message: fmt.Sprintf("package %s %s is installed (%s)", la.Package, pkg.Version, db)})

	upd := fmt.Sprintf("update the package %s (%s), or run %s", la.Package, updateCommands(o, la), o.ensure())
	if v, err := pkgdb.Upstream(pkg.Version); err != nil {
		rep.Add(Check{ID: IDAgentVersion, Status: StatusFail,
			Message: fmt.Sprintf("package version %q in %s is not a version: %v", clip(pkg.Version, 80), db, err), Fix: upd})
	} else {
		rep.Agent.Version = v.String()
		linuxVersionCheck(o, rep, la, v, pkg.Version, upd)
	}

	serviceCheck(ctx, o, rep, la)
	waagentConfChecks(o, rep)
	pythonCheck(o, rep)
	noexecCheck(o, rep)
}

func installCommand(la LinuxAgent) string {
	switch la.Installer {
	case InstallerApt:
		return "apt-get install " + la.Package
	case InstallerZypper:
		return "zypper install " + la.Package
	default:
		return la.Installer + " install " + la.Package
	}
}

// updateCommands renders the commands that update the package, each for
// the mode (under --root every one runs in the image).
func updateCommands(o *Options, la LinuxAgent) string {
	switch la.Installer {
	case InstallerApt:
		return o.cmd(FamilyLinux, "apt-get update") + " && " + o.cmd(FamilyLinux, "apt-get install --only-upgrade "+la.Package)
	case InstallerZypper:
		return o.cmd(FamilyLinux, "zypper update "+la.Package)
	default:
		return o.cmd(FamilyLinux, la.Installer+" update "+la.Package)
	}
}

func serviceCheck(ctx context.Context, o *Options, rep *Report, la LinuxAgent) {
	var st service.State
	var err error
	how := "in the image"
	if o.live() {
		how = "systemd"
		st, err = service.SystemdLive(ctx, o.Runner, la.Unit)
		if errors.Is(err, service.ErrNoSystemd) {
			o.Log.Debug("systemctl unavailable, reading unit files", "err", err)
			how = "unit files: systemd is not running"
			st, err = service.SystemdOffline(o.Root, la.Unit)
		}
	} else {
		st, err = service.SystemdOffline(o.Root, la.Unit)
	}
	if err != nil {
		rep.Add(Check{ID: IDAgentService, Status: StatusFail, Message: fmt.Sprintf("cannot read the state of %s: %v", la.Unit, err)})
		return
	}
	rep.Agent.ServiceEnabled = st.Enabled
	rep.Agent.ServiceRunning = st.Running
	unit := UnitName(la.Unit)
	switch {
	case !st.Installed:
		rep.Add(Check{ID: IDAgentService, Status: StatusFail, Message: fmt.Sprintf("unit %s not found (%s)", la.Unit, how),
			Fix: "reinstall the package " + la.Package + " (" + o.cmd(FamilyLinux, installCommand(la)) + ")"})
	case !st.Enabled && !o.live():
		rep.Add(Check{ID: IDAgentService, Status: StatusFail, Message: fmt.Sprintf("unit %s is %s in the image: it will not start at boot", la.Unit, nonEmpty(st.StartType, "not enabled")),
			Fix: fmt.Sprintf("enable it in the image: systemctl --root %s enable %s, or run %s", o.Root.Dir, unit, o.ensure())})
	case !st.Enabled:
		rep.Add(Check{ID: IDAgentService, Status: StatusFail, Message: fmt.Sprintf("unit %s is %s: it will not start at boot", la.Unit, nonEmpty(st.StartType, "not enabled")),
			Fix: "systemctl unmask " + unit + "; systemctl enable --now " + unit})
	case st.Running != nil && !*st.Running:
		rep.Add(Check{ID: IDAgentService, Status: StatusFail, Message: fmt.Sprintf("unit %s is enabled but not running (%s)", la.Unit, nonEmpty(st.Detail, "inactive")),
			Fix: "systemctl start " + unit + "; journalctl -u " + unit + " shows why it stopped"})
	case st.Running == nil:
		rep.Add(Check{ID: IDAgentService, Status: StatusPass, Message: fmt.Sprintf("unit %s is enabled (%s)", la.Unit, how)})
	default:
		rep.Add(Check{ID: IDAgentService, Status: StatusPass, Message: fmt.Sprintf("unit %s is enabled and running", la.Unit)})
	}
}

// readWaagentConf reads and parses /etc/waagent.conf under the root.
func readWaagentConf(o *Options) (WaagentConf, error) {
	file := o.Root.Join(PathWaagentConf)
	data, err := o.Root.ReadFile(PathWaagentConf, fsroot.MaxSmallFile)
	if err != nil {
		return WaagentConf{}, err
	}
	conf, err := ParseWaagentConf(data)
	if err != nil {
		return WaagentConf{}, fmt.Errorf("%s: %w", file, err)
	}
	return conf, nil
}

// autoUpdateOn reports whether the agent updates itself: a missing
// waagent.conf means the defaults (on); AutoUpdate.UpdateToLatestVersion,
// when set, overrides AutoUpdate.Enabled. known is false when the file
// cannot be read.
func autoUpdateOn(conf WaagentConf, err error) (on, known bool) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, true
	case err != nil:
		return false, false
	}
	if _, set := conf.Get("AutoUpdate.UpdateToLatestVersion"); set {
		return conf.Switch("AutoUpdate.UpdateToLatestVersion", true), true
	}
	return conf.Switch("AutoUpdate.Enabled", true), true
}

func waagentConfChecks(o *Options, rep *Report) {
	file := o.Root.Join(PathWaagentConf)
	// The fixes name the file as the host sees it: under --root, the
	// image's copy.
	conf, err := readWaagentConf(o)
	if on, known := autoUpdateOn(conf, err); known {
		rep.Agent.AutoUpdate = boolp(on)
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		rep.Add(Check{ID: IDAgentConfig, Status: StatusWarn, Message: file + " is missing: the agent runs with its defaults",
			Fix: "reinstall the agent package to restore " + file})
		conf = WaagentConf{Values: map[string]string{}}
	case err != nil:
		rep.Add(Check{ID: IDAgentConfig, Status: StatusFail, Message: "cannot read the agent's configuration: " + err.Error(),
			Fix: "restore " + file + " from the agent package"})
		rep.Add(Check{ID: IDAgentExtensions, Status: StatusFail, Message: "unknown: " + file + " could not be read",
			Fix: "restore " + file + " and make sure it says Extensions.Enabled=y"})
		return
	case len(conf.Problems) > 0:
		rep.Add(Check{ID: IDAgentConfig, Status: StatusWarn, Message: fmt.Sprintf("%s: %d line(s) not understood, first %s", file, len(conf.Problems), conf.Problems[0])})
	default:
		rep.Add(Check{ID: IDAgentConfig, Status: StatusPass, Message: file + " read"})
	}

	if !conf.Switch("Extensions.Enabled", true) {
		v, _ := conf.Get("Extensions.Enabled")
		rep.Add(Check{ID: IDAgentExtensions, Status: StatusFail,
			Message: fmt.Sprintf("Extensions.Enabled=%s in %s: Azure Backup's extension cannot run (GuestAgentSnapshotTaskStatusError)", v, file),
			Fix:     "set Extensions.Enabled=y in " + file + restartAgent(o)})
	} else {
		rep.Add(Check{ID: IDAgentExtensions, Status: StatusPass, Message: "extensions are enabled"})
	}
	if v, ok := conf.Get("Provisioning.Agent"); ok && !strings.EqualFold(v, "auto") {
		rep.Add(Check{ID: IDAgentProvisioning, Status: StatusWarn,
			Message: fmt.Sprintf("Provisioning.Agent=%s in %s", v, file),
			Fix:     "set Provisioning.Agent=auto in " + file + " unless another provisioning agent is meant to run"})
	}
	// AutoUpdate.UpdateToLatestVersion, when set, overrides AutoUpdate.Enabled.
	auto, _ := conf.Get("AutoUpdate.Enabled")
	latest, latestSet := conf.Get("AutoUpdate.UpdateToLatestVersion")
	switch {
	case latestSet && !conf.Switch("AutoUpdate.UpdateToLatestVersion", true):
		rep.Add(Check{ID: IDAgentAutoUpdate, Status: StatusWarn, Message: "AutoUpdate.UpdateToLatestVersion=" + latest + ": the agent will not update itself",
			Fix: "set AutoUpdate.UpdateToLatestVersion=y in " + file + ", or keep the package current"})
	case !latestSet && !conf.Switch("AutoUpdate.Enabled", true):
		rep.Add(Check{ID: IDAgentAutoUpdate, Status: StatusWarn, Message: "AutoUpdate.Enabled=" + auto + ": the agent will not update itself",
			Fix: "set AutoUpdate.Enabled=y in " + file + ", or keep the package current"})
	default:
		rep.Add(Check{ID: IDAgentAutoUpdate, Status: StatusPass, Message: "the agent updates itself"})
	}
}

// restartAgent ends a configuration fix: restart the agent (live), nothing
// in an image (it reads the file when it starts).
func restartAgent(o *Options) string {
	if o.live() {
		return " and restart the agent"
	}
	return " (the agent reads it when the image boots)"
}

func readHead(r fsroot.Root, p string, n int64) ([]byte, error) {
	f, _, err := r.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	k, _ := f.Read(buf)
	return buf[:k], nil
}

// noexecCheck: /var and /var/lib must not be mounted noexec (backup support
// matrix): the extensions run from /var/lib/waagent.
func noexecCheck(o *Options, rep *Report) {
	var ms []mounts.Mount
	var err error
	src := "/proc/self/mountinfo"
	if o.live() {
		ms, err = mounts.Live()
	} else {
		src = o.Root.Join("/etc/fstab")
		ms, err = mounts.Fstab(o.Root)
	}
	if err != nil {
		rep.Add(Check{ID: IDMountsNoexec, Status: StatusWarn, Message: "cannot read the mount table: " + err.Error()})
		return
	}
	var bad []string
	for _, p := range []string{"/var", "/var/lib", PathWaagentLib} {
		if m, ok := mounts.For(ms, p); ok && m.HasOption("noexec") {
			bad = append(bad, fmt.Sprintf("%s (mounted at %s)", p, m.Target))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		rep.Add(Check{ID: IDMountsNoexec, Status: StatusFail, Message: "noexec on " + strings.Join(bad, ", ") + " (" + src + "): extensions cannot run",
			Fix: "remove noexec from the mount options of /var and /var/lib (" + src + ")"})
		return
	}
	rep.Add(Check{ID: IDMountsNoexec, Status: StatusPass, Message: "/var and /var/lib allow execution (" + src + ")"})
}
