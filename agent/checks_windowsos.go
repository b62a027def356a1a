package agent

// (Not checks_windows.go: a _windows suffix would build it only for Windows,
// and the catalogue must be whole on every OS.)

// Windows: what the agent and the snapshot extension need from the system
// (backup-azure-vms-troubleshoot.md; agent-windows.md).
const IDWindowsDotNet CheckID = "windows.dotnet"

var _ = declare(Def{ID: IDWindowsDotNet, Title: ".NET Framework 4.0 or later is installed (the Windows VM agent runs on it)",
	Severity: StatusFail, OS: []string{FamilyWindows}, Live: true, Image: false, Doc: docAgentWindows, Probe: windowsDotNetProbe})

const IDWindowsServices CheckID = "windows.services"

var _ = declare(Def{ID: IDWindowsServices, Title: "VSS, COMSysApp, MSDTC and msiserver are not disabled; Winmgmt runs",
	Severity: StatusFail, OS: []string{FamilyWindows}, Live: true, Image: false, Doc: docBackupTrouble, Probe: windowsServicesProbe})
