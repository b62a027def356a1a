//go:build linux

package rpmtest

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb/pkgdbtest"
)

// binary returns AGENTKEEPER_BIN, or builds the command.
func binary(t *testing.T) string {
	if b := os.Getenv("AGENTKEEPER_BIN"); b != "" {
		return b
	}
	out := filepath.Join(t.TempDir(), "agentkeeper")
	if b, err := exec.Command("go", "build", "-o", out, "../../cmd/agentkeeper").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

type report struct {
	Ready bool `json:"ready"`
	OS    struct {
		ID, Version string
	} `json:"os"`
	Agent struct {
		Supported      bool   `json:"supported"`
		Package        string `json:"package"`
		Service        string `json:"service"`
		Installer      string `json:"installer"`
		Installed      bool   `json:"installed"`
		Version        string `json:"version"`
		PackageVersion string `json:"package_version"`
		VersionSource  string `json:"version_source"`
		ServiceEnabled bool   `json:"service_enabled"`
	} `json:"agent"`
	Checks []struct{ ID, Status, Message string } `json:"checks"`
}

func TestCheckRootRPMDistributions(t *testing.T) {
	pkgdbtest.RequireRPM(t)
	bin := binary(t)
	tests := []struct {
		desc, osRelease         string
		dbpath                  string
		name, ver, rel          string
		unit, installer, status string
		ready                   bool
	}{
		{desc: "RHEL 9", osRelease: "NAME=\"Red Hat Enterprise Linux\"\nVERSION_ID=\"9.4\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.4 (Plow)\"\n",
			dbpath: "/var/lib/rpm", name: "WALinuxAgent", ver: "2.9.1.1", rel: "1.el9",
			unit: "waagent.service", installer: "dnf", ready: true},
		{desc: "SLES 15 with an agent below the minimum", osRelease: "NAME=\"SLES\"\nVERSION_ID=\"15.5\"\nID=\"sles\"\nID_LIKE=\"suse\"\nPRETTY_NAME=\"SUSE Linux Enterprise Server 15 SP5\"\n",
			dbpath: "/usr/lib/sysimage/rpm", name: "python-azure-agent", ver: "2.2.49.2", rel: "150100.3.20.1",
			unit: "waagent.service", installer: "zypper", ready: false},
		{desc: "Azure Linux 3", osRelease: "NAME=\"Microsoft Azure Linux\"\nVERSION_ID=\"3.0\"\nID=azurelinux\nPRETTY_NAME=\"Microsoft Azure Linux 3.0\"\n",
			dbpath: "/var/lib/rpm", name: "WALinuxAgent", ver: "2.9.1.1", rel: "5.azl3",
			unit: "waagent.service", installer: "tdnf", ready: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			agenttest.Tree(t, root, map[string]string{
				"etc/os-release":                         tc.osRelease,
				"etc/waagent.conf":                       "Extensions.Enabled=y\nProvisioning.Agent=auto\n",
				"usr/lib/systemd/system/waagent.service": "[Service]\nExecStart=/usr/sbin/waagent -daemon\n[Install]\nWantedBy=multi-user.target\n",
				"etc/systemd/system/multi-user.target.wants/waagent.service": "->/usr/lib/systemd/system/waagent.service",
				"usr/sbin/waagent": "#!/usr/bin/python3\n",
				"usr/bin/python3":  "ELF",
				"usr/lib/python3.9/site-packages/azurelinuxagent/__init__.py": "",
				"var/lib/waagent/":  "",
				"usr/lib/sysimage/": "",
			})
			if tc.dbpath != "/var/lib/rpm" {
				// SUSE keeps the database in /usr/lib/sysimage/rpm behind an absolute link.
				if err := os.Symlink(tc.dbpath, filepath.Join(root, "var/lib/rpm")); err != nil {
					t.Fatal(err)
				}
			}
			pkgdbtest.InstallJustDB(t, root, tc.dbpath, pkgdbtest.BuildRPM(t, tc.name, "", tc.ver, tc.rel))

			cmd := exec.Command(bin, "check", "--root", root, "--json")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
			out, err := cmd.Output()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			var r report
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("exit %d, not JSON: %v\n%s", code, err, out)
			}
			a := r.Agent
			if a.Package != tc.name || a.Service != tc.unit || a.Installer != tc.installer || !a.Installed ||
				a.Version != tc.ver || a.PackageVersion != tc.ver+"-"+tc.rel || a.VersionSource != "rpm" || !a.ServiceEnabled {
				t.Errorf("agent = %+v", a)
			}
			if wantCode := map[bool]int{true: 0, false: 1}[tc.ready]; r.Ready != tc.ready || code != wantCode {
				t.Errorf("ready %v exit %d, want %v %d; checks %+v", r.Ready, code, tc.ready, wantCode, r.Checks)
			}
		})
	}
}
