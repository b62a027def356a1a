package agent

import (
	"strconv"
	"strings"
)

// Facts about the Azure VM agent that the code relies on. Each table names
// its source; ../shared/azure-agent-facts.md holds the longer story.

// Installers, as reported in agent.installer.
const (
	InstallerApt    = "apt-get"
	InstallerYum    = "yum"
	InstallerDnf    = "dnf"
	InstallerZypper = "zypper"
	InstallerTdnf   = "tdnf"
	InstallerMSI    = "msi"
	InstallerNone   = "none"
)

// Default minimum versions. Windows: the Azure Backup requirement
// ("WaAppAgent.exe product version 2.6.1198.718 or later"). Linux: the oldest
// agent Azure supports for extensions (support-extensions-agent-version.md).
const (
	DefaultMinLinux   = "2.2.53.1"
	DefaultMinWindows = "2.6.1198.718"
	// DefaultSupportedWindows is KB 4049215's floor for the Windows agent
	// (support-extensions-agent-version.md): agents between
	// DefaultMinWindows and it pass with a warning.
	DefaultSupportedWindows = "2.7.41491.1010"
	// LinuxAutoUpdateFloor: KB 4049215 keeps a Linux VM in support when its
	// agent is newer than 2.1.7 and auto-update is on, where the
	// distribution does not offer the minimum.
	LinuxAutoUpdateFloor = "2.1.7"
)

// Where agent.version_source says the version was read.
const (
	SourceDpkg        = "dpkg"
	SourceRPM         = "rpm"
	SourceFile        = "file"
	SourceGuestFolder = "guestagent-folder"
	SourceRegistry    = "registry"
)

// Where agent.goal_state_source says the goal-state agent was found.
const (
	GoalStateProcess = "process"
	GoalStateFolder  = "folder"
	GoalStatePackage = "package"
)

// Paths inside the root (slash-separated, relative to the root).
const (
	PathWaagentConf  = "/etc/waagent.conf"
	PathWaagentLib   = "/var/lib/waagent"
	PathWaAppAgent   = "/WindowsAzure/Packages/WaAppAgent.exe"
	PathWindowsAzure = "/WindowsAzure"
)

// Windows agent names (the seed; WALinuxAgent's Windows counterpart).
const (
	WindowsPackage = "WindowsAzureVmAgent"
	WindowsService = "WindowsAzureGuestAgent"
	WindowsRdAgent = "RdAgent"
)

// LinuxAgent says what a Linux distribution calls the agent.
type LinuxAgent struct {
	// Family is the table row that matched (ubuntu, debian, rhel, suse,
	// mariner, flatcar), empty when none did.
	Family    string
	Package   string
	Unit      string
	Installer string
	// Supported is false when the agent cannot be installed here; Reason
	// then says why in words.
	Supported bool
	Reason    string
	// Note is extra advice for installing (a repository to enable).
	Note string
}

// linuxFamily is one row of the distribution table.
type linuxFamily struct {
	pkg, unit, installer string
	supported            bool
	reason               string
}

// Source: azure-compute-docs virtual-machines/extensions/update-linux-agent.md,
// WALinuxAgent azurelinuxagent/common/osutil/{ubuntu,debian,default,factory}.py
// (only Debian and Ubuntu call the unit walinuxagent).
var linuxFamilies = map[string]linuxFamily{
	"ubuntu":  {"walinuxagent", "walinuxagent.service", InstallerApt, true, ""},
	"debian":  {"waagent", "walinuxagent.service", InstallerApt, true, ""},
	"rhel":    {"WALinuxAgent", "waagent.service", "", true, ""}, // yum or dnf by major version
	"suse":    {"python-azure-agent", "waagent.service", InstallerZypper, true, ""},
	"mariner": {"WALinuxAgent", "waagent.service", InstallerTdnf, true, ""},
	"flatcar": {"", "waagent.service", InstallerNone, false,
		"the agent ships inside the image (/usr/share/oem) and this OS has no package manager to install it with"},
}

// linuxIDs maps os-release ID (and ID_LIKE words) to a family. Derivatives
// that name their parent in ID_LIKE need no row here, but common ones are
// listed so that a missing ID_LIKE does not hide them.
var linuxIDs = map[string]string{
	"ubuntu": "ubuntu", "linuxmint": "ubuntu", "pop": "ubuntu", "elementary": "ubuntu",
	"zorin": "ubuntu", "neon": "ubuntu",
	"debian": "debian", "kali": "debian", "raspbian": "debian", "devuan": "debian",
	"rhel": "rhel", "centos": "rhel", "rocky": "rhel", "almalinux": "rhel", "ol": "rhel",
	"fedora": "rhel", "cloudlinux": "rhel", "amzn": "rhel", "scientific": "rhel",
	"virtuozzo": "rhel", "eurolinux": "rhel", "circle": "rhel",
	"sles": "suse", "sles_sap": "suse", "sled": "suse", "opensuse": "suse",
	"opensuse-leap": "suse", "opensuse-tumbleweed": "suse", "suse": "suse",
	"mariner": "mariner", "azurelinux": "mariner",
	"flatcar": "flatcar", "coreos": "flatcar",
}

// unsupportedIDs are distributions the agent is not packaged for.
var unsupportedIDs = map[string]string{
	"alpine": "Alpine Linux", "arch": "Arch Linux", "archarm": "Arch Linux ARM",
	"manjaro": "Manjaro", "gentoo": "Gentoo", "void": "Void Linux", "nixos": "NixOS",
	"slackware": "Slackware", "clear-linux-os": "Clear Linux", "solus": "Solus",
	"endeavouros": "EndeavourOS", "chimera": "Chimera Linux",
}

// LinuxAgentFor maps an os-release ID, ID_LIKE and VERSION_ID to the agent's
// names and installer. ID wins over ID_LIKE; ID_LIKE words are tried in order.
func LinuxAgentFor(id string, like []string, versionID string) LinuxAgent {
	id = strings.ToLower(strings.TrimSpace(id))
	if name, ok := unsupportedIDs[id]; ok {
		return LinuxAgent{Installer: InstallerNone,
			Reason: "the Azure VM agent is not packaged for " + name + " and Azure does not support it there"}
	}
	fam, ok := linuxIDs[id]
	for i := 0; !ok && i < len(like); i++ {
		fam, ok = linuxIDs[strings.ToLower(like[i])]
	}
	if !ok {
		what := id
		if what == "" {
			what = "this distribution (no ID in os-release)"
		}
		return LinuxAgent{Installer: InstallerNone,
			Reason: "the Azure VM agent is not packaged for " + what + ": it is not a distribution Azure supports"}
	}
	row := linuxFamilies[fam]
	a := LinuxAgent{Family: fam, Package: row.pkg, Unit: row.unit, Installer: row.installer,
		Supported: row.supported, Reason: row.reason}
	if fam == "rhel" {
		a.Installer = rhelInstaller(id, versionID)
		if id == "ol" {
			major := strings.TrimSpace(strings.SplitN(versionID, ".", 2)[0])
			if _, err := strconv.Atoi(major); err == nil {
				a.Note = "on Oracle Linux enable the ol" + major + "_addons repository first"
			} else {
				a.Note = "on Oracle Linux enable the olN_addons repository (N = the major release) first"
			}
		}
	}
	return a
}

// rhelInstaller picks yum or dnf for a Red Hat-like distribution: yum up to
// major release 7, dnf from 8 (update-linux-agent.md). Fedora's and Amazon
// Linux's releases are numbered differently: Fedora uses dnf, Amazon Linux
// uses yum before Amazon Linux 2022/2023 (2018.03 is Amazon Linux 1, "2" is
// Amazon Linux 2). An unreadable VERSION_ID gets dnf, today's default.
func rhelInstaller(id, versionID string) string {
	major, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(versionID, ".", 2)[0]))
	switch {
	case err != nil, id == "fedora":
		return InstallerDnf
	case id == "amzn":
		if major < 2022 {
			return InstallerYum
		}
		return InstallerDnf
	case major <= 7:
		return InstallerYum
	}
	return InstallerDnf
}

// UnitName returns the unit name without the ".service" suffix.
func UnitName(unit string) string { return strings.TrimSuffix(unit, ".service") }
