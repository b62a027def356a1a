package agent

// The Azure VM agent itself: installed, recent enough, running, configured
// so that Azure Backup's extension can run.
const IDAgentInstalled CheckID = "agent.installed"

var _ = declare(Def{ID: IDAgentInstalled, Title: "the Azure VM agent is installed (package database, or WaAppAgent.exe)",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupPrepare})

const IDAgentVersion CheckID = "agent.version"

var _ = declare(Def{ID: IDAgentVersion, Title: "the agent is at least the minimum version",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docAgentVersionKB})

const IDAgentService CheckID = "agent.service"

var _ = declare(Def{ID: IDAgentService, Title: "the agent's service is enabled (and running, live)",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupSnapshot})

const IDAgentConfig CheckID = "agent.config"

var _ = declare(Def{ID: IDAgentConfig, Title: "/etc/waagent.conf can be read",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docAgentLinux})

const IDAgentExtensions CheckID = "agent.extensions"

var _ = declare(Def{ID: IDAgentExtensions, Title: "extensions are enabled (Extensions.Enabled is not n)",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docBackupSnapshot})

const IDAgentProvisioning CheckID = "agent.provisioning"

var _ = declare(Def{ID: IDAgentProvisioning, Title: "Provisioning.Agent is auto",
	Severity: StatusWarn, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docBackupSnapshot})

const IDAgentAutoUpdate CheckID = "agent.autoupdate"

var _ = declare(Def{ID: IDAgentAutoUpdate, Title: "the agent updates itself (AutoUpdate)",
	Severity: StatusWarn, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docUpdateLinux})

const IDAgentPython CheckID = "agent.python"

var _ = declare(Def{ID: IDAgentPython, Title: "the Python the agent runs with is there, with the azurelinuxagent package for its version (Python 2 warns)",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docAgentLinux})

const IDMountsNoexec CheckID = "mounts.noexec"

var _ = declare(Def{ID: IDMountsNoexec, Title: "/var and /var/lib are not mounted noexec",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docBackupMatrix})
