package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// regDotNet4 is where .NET Framework 4.x records itself
// (learn.microsoft.com/dotnet/framework/migration-guide/how-to-determine-which-versions-are-installed).
const regDotNet4 = `SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full`

// dotNetReleases maps the smallest Release value of each .NET Framework 4.5+
// version to its name, newest first (the same Microsoft page).
var dotNetReleases = []struct {
	min  uint64
	name string
}{
	{533320, "4.8.1"}, {528040, "4.8"}, {461808, "4.7.2"}, {461308, "4.7.1"}, {460798, "4.7"},
	{394802, "4.6.2"}, {394254, "4.6.1"}, {393295, "4.6"}, {379893, "4.5.2"}, {378675, "4.5.1"}, {378389, "4.5"},
}

// DotNetVersion names the .NET Framework version of a Release value
// (0: 4.0, which has no Release).
func DotNetVersion(release uint64) string {
	for _, r := range dotNetReleases {
		if release >= r.min {
			return r.name
		}
	}
	return "4.0"
}

func windowsDotNetProbe(_ context.Context, t *Target) Check {
	fix := "install .NET Framework 4.8 (or at least 4.0) as Administrator; the Windows VM agent does not run without it"
	where := `HKLM\` + regDotNet4
	install, err := t.Registry.Uint(regDotNet4, "Install")
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return Check{Status: StatusFail, Message: ".NET Framework 4.0 or later is not installed (no " + where + `\Install)`, Fix: fix}
	case err != nil:
		return Check{Status: StatusFail, Message: "cannot read the .NET Framework setup key: " + err.Error(), Fix: fix}
	case install != 1:
		return Check{Status: StatusFail, Message: fmt.Sprintf(".NET Framework 4 is not installed (%s\\Install = %d)", where, install), Fix: fix}
	}
	rel, err := t.Registry.Uint(regDotNet4, "Release")
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return Check{Status: StatusPass, Message: ".NET Framework 4.0 (" + where + ", no Release value)"}
	case err != nil:
		return Check{Status: StatusWarn, Message: ".NET Framework 4 is installed, its Release cannot be read: " + err.Error()}
	}
	return Check{Status: StatusPass, Message: fmt.Sprintf(".NET Framework %s (Release %d, %s)", DotNetVersion(rel), rel, where)}
}

// backupServices are the services the snapshot extension needs not to be
// disabled, with the error Azure Backup reports when they are
// (backup-azure-vms-troubleshoot.md).
var backupServices = []struct{ name, what, azureError string }{
	{"VSS", "Volume Shadow Copy", "ExtensionFailedVssServiceInBadState"},
	{"COMSysApp", "COM+ System Application", "ExtensionSnapshotFailedCOM / ExtensionInstallationFailedCOM"},
	{"MSDTC", "Distributed Transaction Coordinator", "ExtensionInstallationFailedMDTC"},
	{"msiserver", "Windows Installer", "ExtensionVCRedistInstallationFailure"},
}

// serviceStartDisabled is the Services\<name>\Start value of a disabled service.
const serviceStartDisabled = 4

func windowsServicesProbe(_ context.Context, t *Target) Check {
	var bad, fixes, ok []string
	for _, s := range backupServices {
		key := `SYSTEM\CurrentControlSet\Services\` + s.name
		start, err := t.Registry.Uint(key, "Start")
		switch {
		case errors.Is(err, registry.ErrNotFound):
			bad = append(bad, fmt.Sprintf("%s (%s) is not installed: the backup fails with %s", s.name, s.what, s.azureError))
		case err != nil:
			bad = append(bad, fmt.Sprintf("%s: cannot read its start type: %v", s.name, err))
		case start == serviceStartDisabled:
			bad = append(bad, fmt.Sprintf("%s (%s) is disabled (Start=4): the backup fails with %s", s.name, s.what, s.azureError))
			fixes = append(fixes, "Set-Service "+s.name+" -StartupType Manual")
		default:
			ok = append(ok, s.name)
		}
	}
	st, err := t.WinService("Winmgmt")
	switch {
	case err != nil:
		bad = append(bad, "Winmgmt (Windows Management Instrumentation): "+err.Error())
	case !st.Installed:
		bad = append(bad, "Winmgmt (Windows Management Instrumentation) is not installed: the agent and the snapshot extension query WMI")
	case st.Running == nil || !*st.Running:
		bad = append(bad, fmt.Sprintf("Winmgmt (Windows Management Instrumentation) is %s: the agent and the snapshot extension query WMI", nonEmpty(st.Detail, "not running")))
		fixes = append(fixes, "Set-Service Winmgmt -StartupType Automatic; Start-Service Winmgmt")
	}
	if len(bad) > 0 {
		fix := "as Administrator: " + strings.Join(fixes, "; ")
		if len(fixes) == 0 {
			fix = "repair the Windows components named (DISM /Online /Cleanup-Image /RestoreHealth; sfc /scannow)"
		}
		return Check{Status: StatusFail, Message: strings.Join(bad, "; "), Fix: fix}
	}
	return Check{Status: StatusPass, Message: strings.Join(ok, ", ") + " are not disabled; Winmgmt is running"}
}
