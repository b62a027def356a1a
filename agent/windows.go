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
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// guestAgentDir matches C:\WindowsAzure\GuestAgent_<ver>[_<timestamp>].
var guestAgentDir = regexp.MustCompile(`(?i)^GuestAgent_(\d+(?:\.\d+){1,3})(?:_.*)?$`)

// leadingVersion takes "2.7.41491.1102 (rd_art_stable.210702-1023)" to 2.7.41491.1102.
var leadingVersion = regexp.MustCompile(`^\s*(\d+(?:\.\d+){1,3})`)

// Registry fallback (azure-agent-facts.md: unconfirmed as the only source).
const regGuestKey, regGuestValue = `SOFTWARE\Microsoft\Virtual Machine\Guest`, "GuestAgentVersion"

// windowsMinBuild is Windows Server 2016's build: the agent needs 2016 or later.
const windowsMinBuild = 14393

func inspectWindows(ctx context.Context, o *Options, rep *Report, info osinfo.Info) {
	live := o.live() && runtime.GOOS == "windows"
	rep.Agent = AgentReport{Supported: true, Package: WindowsPackage, Service: WindowsService,
		Installer: InstallerMSI, MinVersion: o.MinWindows.Original()}
	var build int
	fmt.Sscan(info.Build, &build)
	switch {
	case build > 0 && build < windowsMinBuild:
		rep.Agent.Supported = false
		rep.Add(Check{ID: IDOSSupported, Status: StatusFail,
			Message: fmt.Sprintf("%s (build %d): the Azure VM agent needs Windows Server 2016 (build %d) or later", info.Name, build, windowsMinBuild),
			Fix:     "upgrade Windows before migrating"})
	case build == 0:
		rep.Add(Check{ID: IDOSSupported, Status: StatusPass, Message: "Windows (build unknown in an offline image; the agent needs Windows Server 2016 or later)"})
	default:
		rep.Add(Check{ID: IDOSSupported, Status: StatusPass, Message: fmt.Sprintf("%s build %d", info.Name, build)})
	}

	installFix := "install the Azure VM agent MSI as Administrator (msiexec /i WindowsAzureVmAgent.msi /quiet /norestart), or run `agentkeeper ensure` with windows.msi set"
	v, raw, where, err := windowsAgentVersion(o, live)
	switch {
	case strings.HasPrefix(where, "product version"):
		rep.Agent.VersionSource = "file"
	case strings.Contains(where, "GuestAgent_"):
		rep.Agent.VersionSource = "guestagent-folder"
	case strings.Contains(where, "registry"):
		rep.Agent.VersionSource = "registry"
	}
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
		versionCheck(rep, v, o.MinWindows, where,
			"make sure no backup is running, then reinstall the newer agent MSI (msiexec /i WindowsAzureVmAgent.msi /quiet /norestart), or run `agentkeeper ensure`")
	}
	if newest := newestGuestAgent(o.Root); newest != nil {
		rep.Agent.GoalStateVersion = newest.String()
	}

	if !live {
		rep.Add(Check{ID: IDAgentService, Status: StatusSkip, Message: "offline image: service state is not read"})
		return
	}
	windowsServiceCheck(rep)
}

// windowsAgentVersion reads the requirement's own source first (the product
// version of WaAppAgent.exe), then the fallbacks, and says which it used.
// v is nil with err nil when a version was found but does not parse.
func windowsAgentVersion(o *Options, live bool) (v *version.Version, raw, where string, err error) {
	exe, ferr := resolveFold(o.Root, PathWaAppAgent)
	if ferr == nil {
		var fi filever.Info
		if live {
			fi, ferr = filever.Read(exe)
		} else {
			fi, ferr = filever.ParseFile(exe)
		}
		if ferr == nil {
			raw = nonEmpty(fi.ProductVersionString, fi.ProductVersion)
			where = "product version of " + exe
			if m := leadingVersion.FindStringSubmatch(raw); m != nil {
				if v, err := version.NewVersion(m[1]); err == nil {
					return v, raw, where, nil
				}
			}
			if v, err := version.NewVersion(fi.ProductVersion); err == nil && fi.ProductVersion != "0.0.0.0" {
				return v, raw, where + " (fixed product version)", nil
			}
			return nil, raw, where, nil
		}
	}
	// Fallback 1: the newest GuestAgent_<ver> folder.
	if g := newestGuestAgent(o.Root); g != nil {
		return g, g.String(), "fallback: newest GuestAgent_* folder in " + o.Root.Join(PathWindowsAzure) + " (" + ferr.Error() + ")", nil
	}
	// Fallback 2: the registry, live only.
	if live {
		if s, err := registry.LocalMachineString(regGuestKey, regGuestValue); err == nil {
			where = `fallback: registry HKLM\` + regGuestKey + `\` + regGuestValue
			if m := leadingVersion.FindStringSubmatch(s); m != nil {
				if v, err := version.NewVersion(m[1]); err == nil {
					return v, s, where, nil
				}
			}
			return nil, s, where, nil
		}
	}
	return nil, "", "", ferr
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

func windowsServiceCheck(rep *Report) {
	var problems []string
	running := true
	enabled := true
	for _, name := range []string{WindowsRdAgent, WindowsService} {
		st, err := service.Windows(name)
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
