package agent

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"runtime"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/platform/filever"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

// guestAgentDir matches C:\WindowsAzure\GuestAgent_<ver>[_<timestamp>].
var guestAgentDir = regexp.MustCompile(`(?i)^GuestAgent_(\d+(?:\.\d+){1,3})(?:_.*)?$`)

// leadingVersion takes "2.7.41491.1102 (rd_art_stable.210702-1023)" to 2.7.41491.1102.
var leadingVersion = regexp.MustCompile(`^\s*(\d+(?:\.\d+){1,3})`)

// Registry fallback (azure-agent-facts.md: unconfirmed as the only source).
const regGuestKey, regGuestValue = `SOFTWARE\Microsoft\Virtual Machine\Guest`, "GuestAgentVersion"

func inspectWindows(ctx context.Context, o *Options, rep *Report, info osinfo.Info) {
	live := o.live() && (runtime.GOOS == "windows" || o.Live)
	rep.Agent = AgentReport{Supported: true, Package: WindowsPackage, Service: WindowsService,
		Installer: InstallerMSI, MinVersion: o.MinWindows.Original(), SupportedVersion: o.SupportedWindows.Original()}
	sup, ok := windowsSupport(info, rep.OS.Bits, o.Now())
	rep.Agent.Supported = ok
	rep.Add(sup)

	installFix := "install the Azure VM agent MSI as Administrator: " + o.cmd(FamilyWindows, "msiexec /i WindowsAzureVmAgent.msi /quiet /norestart, or `agentkeeper ensure` with windows.msi set")
	v, raw, where, source, err := windowsAgentVersion(o, live)
	rep.Agent.VersionSource = source
	switch {
	case err != nil:
		rep.Add(Check{ID: IDAgentInstalled, Status: StatusFail, Message: "the Azure VM agent is not installed: " + err.Error(), Fix: installFix})
		skipAll(rep, "the agent is not installed", IDAgentVersion, IDAgentService)
		return
	case v == nil:
		rep.Agent.Installed = true
		rep.Agent.PackageVersion = raw
		rep.Add(Check{ID: IDAgentInstalled, Status: StatusPass, Message: "agent found: " + where})
		rep.Add(Check{ID: IDAgentVersion, Status: StatusFail, Message: fmt.Sprintf("version %q (%s) is not a version", clip(raw, 80), where), Fix: installFix})
	default:
		rep.Agent.Installed = true
		rep.Agent.PackageVersion = raw
		rep.Agent.Version = v.String()
		rep.Agent.GoalStateVersion = v.String()
		rep.Add(Check{ID: IDAgentInstalled, Status: StatusPass, Message: "agent found: " + where})
		windowsVersionCheck(rep, v, o.MinWindows, o.SupportedWindows, where,
			"make sure no backup is running, then reinstall the newer agent MSI: "+o.cmd(FamilyWindows, "msiexec /i WindowsAzureVmAgent.msi /quiet /norestart, or `agentkeeper ensure` with windows.msi set"))
	}
	if newest := newestGuestAgent(o.Root); newest != nil {
		rep.Agent.GoalStateVersion = newest.String()
	}

	if !live {
		rep.Add(Check{ID: IDAgentService, Status: StatusSkip, Message: "offline image: service state is not read"})
		return
	}
	windowsServiceCheck(o, rep)
}

// windowsVersionCheck: below min (the seed's Azure Backup requirement) the
// agent fails; between min and supported (KB 4049215's extension floor) it
// warns, naming both.
func windowsVersionCheck(rep *Report, have, min, supported *version.Version, where, fix string) {
	switch {
	case have.LessThan(min):
		rep.Add(Check{ID: IDAgentVersion, Status: StatusFail,
			Message: fmt.Sprintf("agent %s is older than the minimum %s (%s)", have, min, where), Fix: fix})
	case have.LessThan(supported):
		rep.Add(Check{ID: IDAgentVersion, Status: StatusWarn,
			Message: fmt.Sprintf("agent %s meets Azure Backup's minimum %s but is below %s, the oldest Windows agent Azure supports extensions on (KB 4049215) (%s)", have, min, supported, where),
			Fix:     fix})
	default:
		rep.Add(Check{ID: IDAgentVersion, Status: StatusPass,
			Message: fmt.Sprintf("agent %s meets the minimum %s and Azure's supported %s (%s)", have, min, supported, where)})
	}
}

// windowsAgentVersion reads the requirement's own source first (the product
// version of WaAppAgent.exe), then the fallbacks, and says which it used.
// v is nil with err nil when a version was found but does not parse.
func windowsAgentVersion(o *Options, live bool) (v *version.Version, raw, where, source string, err error) {
	exe, ferr := resolveFold(o.Root, PathWaAppAgent)
	if ferr == nil {
		var fi filever.Info
		if live {
			fi, ferr = o.FileVersion(exe)
		} else {
			fi, ferr = filever.ParseFile(exe)
		}
		if ferr == nil {
			raw = nonEmpty(fi.ProductVersionString, fi.ProductVersion)
			where = "product version of " + exe
			if m := leadingVersion.FindStringSubmatch(raw); m != nil {
				if v, err := version.NewVersion(m[1]); err == nil {
					return v, raw, where, SourceFile, nil
				}
			}
			if v, err := version.NewVersion(fi.ProductVersion); err == nil && fi.ProductVersion != "0.0.0.0" {
				return v, raw, where + " (fixed product version)", SourceFile, nil
			}
			return nil, raw, where, SourceFile, nil
		}
	}
	// Fallback 1: the newest GuestAgent_<ver> folder.
	if g := newestGuestAgent(o.Root); g != nil {
		return g, g.String(), "fallback: newest GuestAgent_* folder in " + o.Root.Join(PathWindowsAzure) + " (" + ferr.Error() + ")", SourceGuestFolder, nil
	}
	// Fallback 2: the registry, live only.
	if live {
		if s, err := o.Registry.String(regGuestKey, regGuestValue); err == nil {
			where = `fallback: registry HKLM\` + regGuestKey + `\` + regGuestValue
			if m := leadingVersion.FindStringSubmatch(s); m != nil {
				if v, err := version.NewVersion(m[1]); err == nil {
					return v, s, where, SourceRegistry, nil
				}
			}
			return nil, s, where, SourceRegistry, nil
		}
	}
	return nil, "", "", "", ferr
}

func newestGuestAgent(r fsroot.Root) *version.Version {
	dir, err := resolveFold(r, PathWindowsAzure)
	if err != nil {
		return nil
	}
	rel := strings.TrimPrefix(dir, r.Dir)
	ents, err := r.ReadDir(rel)
	if err != nil {
		return nil
	}
	var best *version.Version
	for _, e := range ents {
		m := guestAgentDir.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		if v, err := version.NewVersion(m[1]); err == nil && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	return best
}

// resolveFold resolves p under r, matching each component without regard
// to case when the exact name is missing (a Windows image mounted on Linux
// keeps Windows' spelling, which callers cannot know).
func resolveFold(r fsroot.Root, p string) (string, error) {
	cur := "/"
	for _, c := range strings.Split(strings.Trim(p, "/"), "/") {
		next := path.Join(cur, c)
		if !r.Exists(next) {
			ents, err := r.ReadDir(cur)
			if err != nil {
				return "", fmt.Errorf("%s: %w", r.Join(p), fs.ErrNotExist)
			}
			found := false
			for _, e := range ents {
				if strings.EqualFold(e.Name(), c) {
					next, found = path.Join(cur, e.Name()), true
					break
				}
			}
			if !found {
				return "", fmt.Errorf("%s: %w", r.Join(p), fs.ErrNotExist)
			}
		}
		cur = next
	}
	return r.Resolve(cur)
}

func windowsServiceCheck(o *Options, rep *Report) {
	var problems []string
	running := true
	enabled := true
	for _, name := range []string{WindowsRdAgent, WindowsService} {
		st, err := o.WinService(name)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("%s: %v", name, err))
			running, enabled = false, false
		case !st.Installed:
			problems = append(problems, name+" is not installed")
			running, enabled = false, false
		default:
			if st.Running == nil || !*st.Running {
				running = false
				problems = append(problems, fmt.Sprintf("%s is %s", name, nonEmpty(st.Detail, "not running")))
			}
			if !strings.HasPrefix(st.StartType, "auto") && st.StartType != "delayed-auto" {
				enabled = false
				problems = append(problems, fmt.Sprintf("%s starts %s, not automatically", name, nonEmpty(st.StartType, "unknown")))
			}
		}
	}
	rep.Agent.ServiceEnabled = enabled
	rep.Agent.ServiceRunning = boolp(running)
	if len(problems) > 0 {
		rep.Add(Check{ID: IDAgentService, Status: StatusFail, Message: strings.Join(problems, "; "),
			Fix: "Set-Service RdAgent,WindowsAzureGuestAgent -StartupType Automatic; Start-Service RdAgent,WindowsAzureGuestAgent (as Administrator), or reinstall the agent MSI"})
		return
	}
	rep.Add(Check{ID: IDAgentService, Status: StatusPass, Message: "RdAgent and WindowsAzureGuestAgent are running and start automatically"})
}
