package agent

import (
	"context"
	"fmt"
	"strconv"
)

// The operating system: what it is, whether Azure supports it.
const IDOSDetected CheckID = "os.detected"

var _ = declare(Def{ID: IDOSDetected, Title: "the operating system can be told (os-release, the Windows registry or an image's layout)",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupMatrix})

const IDOSSupported CheckID = "os.supported"

var _ = declare(Def{ID: IDOSSupported, Title: "Azure Backup and the Azure VM agent support this operating system",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupMatrix})

const IDOSAzure CheckID = "os.azure"

var _ = declare(Def{ID: IDOSAzure, Title: "the machine is an Azure VM (SMBIOS chassis asset tag)",
	Severity: StatusWarn, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: false, Doc: docAzureDetect})

const IDOSArch CheckID = "os.arch"

var _ = declare(Def{ID: IDOSArch, Title: "the operating system is 64-bit (Azure Backup supports no 32-bit OS)",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupMatrix,
	Probe: archProbe})

// archProbe judges the architecture Inspect read from the root (Linux: the
// ELF class of /bin/sh; Windows: PROCESSOR_ARCHITECTURE, or ntdll.dll's PE
// machine type in an image).
func archProbe(_ context.Context, t *Target) Check {
	r := t.Report
	switch {
	case r.archErr != nil:
		return Check{Status: StatusWarn, Message: r.archErr.Error(),
			Fix: "make sure the root is complete (Linux: /bin/sh; Windows: Windows/System32/ntdll.dll); Azure Backup needs a 64-bit OS"}
	case r.OS.Bits == 32:
		return Check{Status: StatusFail,
			Message: fmt.Sprintf("%s is a 32-bit operating system (%s, %s): Azure Backup does not support 32-bit operating systems", nonEmpty(r.OS.Name, r.OS.ID), r.OS.Arch, r.archSource),
			Fix:     "move to a 64-bit installation of the operating system before migrating"}
	case t.OS.Family == FamilyWindows && r.OS.Arch != "AMD64":
		return Check{Status: StatusWarn,
			Message: fmt.Sprintf("Windows on %s (%s): the Azure VM agent is documented for x64 Windows only", r.OS.Arch, r.archSource)}
	}
	return Check{Status: StatusPass, Message: fmt.Sprintf("%d-bit %s (%s)", r.OS.Bits, r.OS.Arch, r.archSource)}
}

const IDAgentkeeperRuntime CheckID = "agentkeeper.runtime"

var _ = declare(Def{ID: IDAgentkeeperRuntime, Title: "agentkeeper itself runs on a Windows its Go runtime supports (Windows 10 / Server 2016 or later)",
	Severity: StatusWarn, OS: []string{FamilyWindows}, Live: true, Image: false, Doc: docGoWindows,
	Probe: runtimeProbe})

// goMinWindowsBuild is Windows 10's first build: Go 1.21 and later support
// Windows 10 / Server 2016 and later only, and Go 1.22+ binaries do not
// start on Windows 7 / 2008 R2 (no ProcessPrng in bcryptprimitives.dll).
const goMinWindowsBuild = 10240

// runtimeProbe warns when agentkeeper runs (live) on a Windows below Go's
// minimum. The machine is judged by Azure's rules all the same; this is a
// limit of the tool.
func runtimeProbe(_ context.Context, t *Target) Check {
	build, _ := strconv.Atoi(t.OS.Build)
	if build > 0 && build < goMinWindowsBuild {
		return Check{Status: StatusWarn,
			Message: fmt.Sprintf("agentkeeper runs on %s (build %d), below Go's minimum Windows 10 / Server 2016: the tool is unsupported here (the machine is still judged by Azure's rules); to be sure, check it from another machine with `agentkeeper check --root <its mounted disk>`", nonEmpty(t.OS.Name, "Windows"), build),
			Fix:     "check such a machine from another one: attach or mount its system disk on a supported machine and run `agentkeeper check --root <mounted disk>`"}
	}
	if build == 0 {
		return Check{Status: StatusWarn, Message: "the Windows build is unknown: cannot tell whether Go supports it"}
	}
	return Check{Status: StatusPass, Message: fmt.Sprintf("build %d is supported by Go (Windows 10 / Server 2016 or later)", build)}
}
