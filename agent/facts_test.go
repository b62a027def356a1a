package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

// osReleaseDir holds real os-release files, one per distribution release.
var osReleaseDir = filepath.Join("..", "platform", "osinfo", "testdata", "os-release")

// detectFile puts a testdata os-release file into a temporary root as
// /etc/os-release and detects it, as agentkeeper does on a real root.
func detectFile(t *testing.T, file string) osinfo.Info {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(osReleaseDir, file))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "etc", "os-release"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := osinfo.Detect(fsroot.New(dir))
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	return info
}

const (
	pkgUbuntu = "walinuxagent"
	pkgDebian = "waagent"
	pkgRPM    = "WALinuxAgent"
	pkgSUSE   = "python-azure-agent"
	unitDeb   = "walinuxagent.service"
	unitRPM   = "waagent.service"
)

func TestLinuxAgentForDistributions(t *testing.T) {
	tests := []struct {
		desc, file  string
		family, pkg string
		unit        string
		installer   string
		supported   bool
		note        string // substring of Note; empty means Note must be empty
	}{
		{desc: "Ubuntu 16.04", file: "ubuntu-16.04", family: "ubuntu", pkg: pkgUbuntu, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Ubuntu 18.04", file: "ubuntu-18.04", family: "ubuntu", pkg: pkgUbuntu, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Ubuntu 20.04", file: "ubuntu-20.04", family: "ubuntu", pkg: pkgUbuntu, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Ubuntu 22.04", file: "ubuntu-22.04", family: "ubuntu", pkg: pkgUbuntu, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Ubuntu 24.04", file: "ubuntu-24.04", family: "ubuntu", pkg: pkgUbuntu, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Debian 10", file: "debian-10", family: "debian", pkg: pkgDebian, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Debian 11", file: "debian-11", family: "debian", pkg: pkgDebian, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Debian 12", file: "debian-12", family: "debian", pkg: pkgDebian, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Debian sid", file: "debian-sid", family: "debian", pkg: pkgDebian, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "RHEL 7.9 uses yum", file: "rhel-7.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerYum, supported: true},
		{desc: "RHEL 8.9 uses dnf", file: "rhel-8.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "RHEL 9.3", file: "rhel-9.3", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "CentOS 7", file: "centos-7", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerYum, supported: true},
		{desc: "CentOS Stream 9", file: "centos-stream-9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "Rocky 9.3", file: "rocky-9.3", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "AlmaLinux 8.9", file: "almalinux-8.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "Oracle Linux 8.9 needs ol8_addons", file: "ol-8.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true, note: "ol8_addons"},
		{desc: "Oracle Linux 7.9 needs ol7_addons", file: "ol-7.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerYum, supported: true, note: "ol7_addons"},
		{desc: "SLES 12 SP5 (no ID_LIKE)", file: "sles-12-sp5", family: "suse", pkg: pkgSUSE, unit: unitRPM, installer: agent.InstallerZypper, supported: true},
		{desc: "SLES 15 SP5", file: "sles-15-sp5", family: "suse", pkg: pkgSUSE, unit: unitRPM, installer: agent.InstallerZypper, supported: true},
		{desc: "openSUSE Leap 15.5", file: "opensuse-leap-15.5", family: "suse", pkg: pkgSUSE, unit: unitRPM, installer: agent.InstallerZypper, supported: true},
		{desc: "openSUSE Tumbleweed", file: "opensuse-tumbleweed", family: "suse", pkg: pkgSUSE, unit: unitRPM, installer: agent.InstallerZypper, supported: true},
		{desc: "CBL-Mariner 2.0", file: "cbl-mariner-2.0", family: "mariner", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerTdnf, supported: true},
		{desc: "Azure Linux 3.0", file: "azurelinux-3.0", family: "mariner", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerTdnf, supported: true},
		{desc: "Flatcar cannot install", file: "flatcar", family: "flatcar", pkg: "", unit: unitRPM, installer: agent.InstallerNone, supported: false},
		{desc: "Fedora 39 uses dnf", file: "fedora-39", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "Amazon Linux 2 uses yum", file: "amzn-2", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerYum, supported: true},
		{desc: "Amazon Linux 2023 uses dnf", file: "amzn-2023", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "Amazon Linux AMI 2018.03 uses yum", file: "amzn-2018.03", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerYum, supported: true},
		{desc: "Linux Mint 21.3", file: "linuxmint-21.3", family: "ubuntu", pkg: pkgUbuntu, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Pop!_OS 22.04", file: "pop-22.04", family: "ubuntu", pkg: pkgUbuntu, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Kali", file: "kali-2023.4", family: "debian", pkg: pkgDebian, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "Raspbian 11", file: "raspbian-11", family: "debian", pkg: pkgDebian, unit: unitDeb, installer: agent.InstallerApt, supported: true},
		{desc: "CloudLinux 7.9", file: "cloudlinux-7.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerYum, supported: true},
		{desc: "CloudLinux 8.9", file: "cloudlinux-8.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerDnf, supported: true},
		{desc: "Scientific Linux 7.9", file: "scientific-7.9", family: "rhel", pkg: pkgRPM, unit: unitRPM, installer: agent.InstallerYum, supported: true},
		{desc: "Alpine unsupported", file: "alpine-3.19", installer: agent.InstallerNone, supported: false},
		{desc: "Arch unsupported", file: "arch", installer: agent.InstallerNone, supported: false},
		{desc: "Gentoo unsupported", file: "gentoo", installer: agent.InstallerNone, supported: false},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(tt.desc, func(t *testing.T) {
			info := detectFile(t, tt.file)
			got := agent.LinuxAgentFor(info.ID, info.Like, info.VersionID)
			if got.Family != tt.family || got.Package != tt.pkg || got.Unit != tt.unit ||
				got.Installer != tt.installer || got.Supported != tt.supported {
				t.Errorf("LinuxAgentFor(%q, %q, %q) = %+v\nwant family %q package %q unit %q installer %q supported %v",
					info.ID, info.Like, info.VersionID, got, tt.family, tt.pkg, tt.unit, tt.installer, tt.supported)
			}
			if got.Supported != (got.Reason == "") {
				t.Errorf("Supported = %v with Reason %q", got.Supported, got.Reason)
			}
			if (tt.note == "") != (got.Note == "") || !strings.Contains(got.Note, tt.note) {
				t.Errorf("Note = %q, want one containing %q", got.Note, tt.note)
			}
		})
	}
	ents, err := os.ReadDir(osReleaseDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !covered[e.Name()] {
			t.Errorf("%s has no row in this test", e.Name())
		}
	}
}

func TestLinuxAgentForEdgeCases(t *testing.T) {
	tests := []struct {
		desc      string
		id        string
		like      []string
		versionID string
		family    string
		installer string
		supported bool
		reason    string // substring
		note      string // substring; empty means Note must be empty
	}{
		{desc: "unknown ID, Ubuntu in ID_LIKE", id: "zorinlike", like: []string{"ubuntu", "debian"}, versionID: "17", family: "ubuntu", installer: agent.InstallerApt, supported: true},
		{desc: "unknown ID, Debian only", id: "mydeb", like: []string{"debian"}, family: "debian", installer: agent.InstallerApt, supported: true},
		{desc: "ID_LIKE order decides", id: "hybrid", like: []string{"debian", "ubuntu"}, family: "debian", installer: agent.InstallerApt, supported: true},
		{desc: "ID wins over ID_LIKE", id: "ubuntu", like: []string{"fedora"}, family: "ubuntu", installer: agent.InstallerApt, supported: true},
		{desc: "ID in upper case", id: " RHEL ", versionID: "7.9", family: "rhel", installer: agent.InstallerYum, supported: true},
		{desc: "ID_LIKE in upper case", id: "x", like: []string{"SUSE"}, family: "suse", installer: agent.InstallerZypper, supported: true},
		{desc: "Fedora-like with Fedora numbering", id: "nobara", like: []string{"rhel", "centos", "fedora"}, versionID: "39", family: "rhel", installer: agent.InstallerDnf, supported: true},
		{desc: "RHEL-like with no VERSION_ID", id: "rhelish", like: []string{"rhel"}, family: "rhel", installer: agent.InstallerDnf, supported: true},
		{desc: "RHEL 6 uses yum", id: "rhel", versionID: "6.10", family: "rhel", installer: agent.InstallerYum, supported: true},
		{desc: "Oracle without VERSION_ID still gets a usable note", id: "ol", family: "rhel", installer: agent.InstallerDnf, supported: true, note: "olN_addons"},
		{desc: "CoreOS", id: "coreos", family: "flatcar", installer: agent.InstallerNone, supported: false, reason: "ships inside the image"},
		{desc: "no ID at all", reason: "no ID in os-release", installer: agent.InstallerNone},
		{desc: "unknown distribution", id: "plan9", reason: "plan9", installer: agent.InstallerNone},
		{desc: "unsupported ID wins over a supported ID_LIKE", id: "manjaro", like: []string{"arch"}, reason: "Manjaro", installer: agent.InstallerNone},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := agent.LinuxAgentFor(tt.id, tt.like, tt.versionID)
			if got.Family != tt.family || got.Installer != tt.installer || got.Supported != tt.supported {
				t.Errorf("LinuxAgentFor(%q, %q, %q) = %+v; want family %q installer %q supported %v",
					tt.id, tt.like, tt.versionID, got, tt.family, tt.installer, tt.supported)
			}
			if !strings.Contains(got.Reason, tt.reason) || (tt.reason == "") != (got.Reason == "") {
				t.Errorf("Reason = %q, want one containing %q", got.Reason, tt.reason)
			}
			if !strings.Contains(got.Note, tt.note) || (tt.note == "") != (got.Note == "") {
				t.Errorf("Note = %q, want one containing %q", got.Note, tt.note)
			}
		})
	}
}
