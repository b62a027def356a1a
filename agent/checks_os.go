package agent

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
