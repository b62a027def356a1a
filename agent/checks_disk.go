package agent

// Disk space the agent and the snapshot extension need to work (vmassist's
// rules: Linux file systems over 90 % full, a Windows system drive under
// 1 GB free).
const IDDiskSpace CheckID = "disk.space"

var _ = declare(Def{ID: IDDiskSpace, Title: "/, /var and /var/lib/waagent (Windows: the system drive) have free space",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: false, Doc: docVMAssist, Probe: diskSpaceProbe})
