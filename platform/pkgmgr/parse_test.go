package pkgmgr

import (
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
)

// Realistic outputs (shapes as printed by Debian 12 apt 2.6, dnf 4 on
// RHEL 8, tdnf on Azure Linux, zypper on SLES 15).
const aptPolicyCandidate = `waagent:
  Installed: (none)
  Candidate: 2.7.3.0-4.1
  Version table:
     2.7.3.0-4.1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
`

const aptPolicyInstalled = `walinuxagent:
  Installed: 2.2.45-0ubuntu1~20.04.1
  Candidate: 2.9.1.1-0ubuntu0.20.04.1
  Version table:
     2.9.1.1-0ubuntu0.20.04.1 500
        500 http://azure.archive.ubuntu.com/ubuntu focal-updates/main amd64 Packages
 *** 2.2.45-0ubuntu1~20.04.1 100
        100 /var/lib/dpkg/status
     2.2.45-0ubuntu1 500
        500 http://azure.archive.ubuntu.com/ubuntu focal/main amd64 Packages
`

const aptPolicyNone = `waagent:
  Installed: (none)
  Candidate: (none)
  Version table:
`

// A pin holds the package back: the candidate is not the highest version.
const aptPolicyPinned = `walinuxagent:
  Installed: 1:2.9.1.1-0ubuntu0.22.04.1
  Candidate: 1:2.9.1.1-0ubuntu0.22.04.1
  Package pin: 1:2.9.1.1-0ubuntu0.22.04.1
  Version table:
     2.10.0.8-0ubuntu0.22.04.1 500
        500 http://archive.ubuntu.com/ubuntu jammy-updates/main amd64 Packages
 *** 1:2.9.1.1-0ubuntu0.22.04.1 1001
        100 /var/lib/dpkg/status
`

const aptPolicyTwo = `python3:
  Installed: 3.11.2-1+b1
  Candidate: 3.11.2-1+b1
  Version table:
waagent:amd64:
  Installed: (none)
  Candidate: 2.7.3.0-4.1
`

func TestParseAptPolicy(t *testing.T) {
	tests := []struct {
		desc, out, pkg, want string
		ok                   bool
	}{
		{"candidate, not installed", aptPolicyCandidate, "waagent", "2.7.3.0-4.1", true},
		{"installed and newer candidate", aptPolicyInstalled, "walinuxagent", "2.9.1.1-0ubuntu0.20.04.1", true},
		{"none", aptPolicyNone, "waagent", "", false},
		{"pinned with epoch", aptPolicyPinned, "walinuxagent", "1:2.9.1.1-0ubuntu0.22.04.1", true},
		{"second block, arch-qualified", aptPolicyTwo, "waagent", "2.7.3.0-4.1", true},
		{"other package's block only", aptPolicyTwo, "python", "", false},
		{"empty (unknown package)", "", "waagent", "", false},
		{"CRLF", "waagent:\r\n  Candidate: 2.7.3.0-4.1\r\n", "waagent", "2.7.3.0-4.1", true},
		{"garbage candidate", "waagent:\n  Candidate: two words\n", "waagent", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := parseAptPolicy(tc.out, tc.pkg)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseAptPolicy = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

const dnfListBoth = `Installed Packages
WALinuxAgent.noarch                    2.2.49.2-1.el8                    @rhel-8-appstream-rhui-rpms
Available Packages
WALinuxAgent.noarch                    2.2.46-7.el8                      rhel-8-appstream-rhui-rpms
WALinuxAgent.noarch                    2.7.0.6-6.el8_6.2                 rhel-8-appstream-rhui-rpms
WALinuxAgent.noarch                    2.2.49.2-1.el8                    rhel-8-appstream-rhui-rpms
WALinuxAgent-udev.noarch               2.7.0.6-6.el8_6.2                 rhel-8-appstream-rhui-rpms
`

const dnfListInstalledOnly = `Installed Packages
WALinuxAgent.noarch                 2.7.0.6-6.el8_6.2                 @rhel-8-appstream-rhui-rpms
`

// yum (RHEL 7) wraps long names onto a line of their own.
const yumListWrapped = `Loaded plugins: langpacks, product-id, search-disabled-repos
Available Packages
WALinuxAgent.noarch
                    2.2.46.2-1.el7         rhui-rhel-7-server-rhui-extras-rpms
WALinuxAgent.noarch
                    2.2.49.2-1.el7         rhui-rhel-7-server-rhui-extras-rpms
`

const tdnfList = `Refreshing metadata for: 'CBL-Mariner Official Base 2.0 x86_64'
WALinuxAgent.noarch                        2.2.54.2-1.cm2              @System
WALinuxAgent.noarch                        2.9.1.1-1.cm2               mariner-official-base
WALinuxAgent.noarch                        2.3.1.1-1.cm2               mariner-official-base
`

const dnf5List = `Updating and loading repositories:
Repositories loaded.
Installed packages
WALinuxAgent.noarch 2.10.0.8-1.fc40 <unknown>

Available packages
WALinuxAgent.noarch 1:2.9.1.1-5.fc40 updates
`

func TestParseRPMList(t *testing.T) {
	tests := []struct {
		desc, out, pkg string
		wantAvail      string // newest available
		wantInst       string // newest installed
	}{
		{"dnf installed + available", dnfListBoth, "WALinuxAgent", "2.7.0.6-6.el8_6.2", "2.2.49.2-1.el8"},
		{"dnf installed only", dnfListInstalledOnly, "WALinuxAgent", "", "2.7.0.6-6.el8_6.2"},
		{"yum wrapped", yumListWrapped, "WALinuxAgent", "2.2.49.2-1.el7", ""},
		{"tdnf, no headers", tdnfList, "WALinuxAgent", "2.9.1.1-1.cm2", "2.2.54.2-1.cm2"},
		{"dnf5, epoch wins", dnf5List, "WALinuxAgent", "1:2.9.1.1-5.fc40", "2.10.0.8-1.fc40"},
		{"prefix name not matched", dnfListBoth, "WALinuxAgent-udev", "2.7.0.6-6.el8_6.2", ""},
		{"empty", "", "WALinuxAgent", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			avail, inst := parseRPMList(tc.out, tc.pkg)
			if got := pkgdb.NewestEVR(avail); got != tc.wantAvail {
				t.Errorf("available %q -> newest %q, want %q", avail, got, tc.wantAvail)
			}
			if got := pkgdb.NewestEVR(inst); got != tc.wantInst {
				t.Errorf("installed %q -> newest %q, want %q", inst, got, tc.wantInst)
			}
		})
	}
}

const zypperXMLBoth = `<?xml version='1.0'?>
<stream>
<message type="info">Loading repository data...</message>
<message type="info">Reading installed packages...</message>
<search-result version="0.0">
<solvable-list>
<solvable status="installed" name="python-azure-agent" kind="package" edition="2.2.49.2-150100.3.20.1" arch="noarch" repository="(System Packages)"/>
<solvable status="other-version" name="python-azure-agent" kind="package" edition="2.9.1.1-150100.3.41.1" arch="noarch" repository="SLE-Module-Public-Cloud15-SP4-Updates"/>
<solvable status="other-version" name="python-azure-agent" kind="package" edition="2.2.49.2-150100.3.20.1" arch="noarch" repository="SLE-Module-Public-Cloud15-SP4-Updates"/>
<solvable status="not-installed" name="python-azure-agent" kind="srcpackage" edition="9.9-1" arch="noarch" repository="src"/>
</solvable-list>
</search-result>
</stream>
`

const zypperXMLNone = `<?xml version='1.0'?>
<stream>
<message type="info">Loading repository data...</message>
<message type="info">No matching items found.</message>
</stream>
`

func TestParseZypperSearch(t *testing.T) {
	tests := []struct {
		desc, out, pkg, want string
		wantErr              bool
	}{
		{"installed + updates", zypperXMLBoth, "python-azure-agent", "2.9.1.1-150100.3.41.1", false},
		{"none", zypperXMLNone, "python-azure-agent", "", false},
		{"only system packages", `<stream><solvable name="p" kind="package" edition="1.0-1" repository="(System Packages)"/></stream>`, "p", "", false},
		{"other name", zypperXMLBoth, "python-azure-agent-test", "", false},
		{"broken XML", `<stream><solvable name="p" edition="1.0`, "p", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := parseZypperSearch([]byte(tc.out), tc.pkg)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseZypperSearch = %q, %v; want %q, err %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
