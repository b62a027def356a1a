//go:build !windows

package pkgmgr

import (
	"context"
	"reflect"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/run"
)

func TestParseAptPolicyVersions(t *testing.T) {
	for _, tc := range []struct {
		desc, out string
		want      []string
	}{
		{"local repository, old one installed", aptPolicyLocalRepo, []string{"2.10.0.8-1", "2.2.45-1"}},
		{"installed only: not offered", "waagent:\n  Installed: 2.2.45-1\n  Candidate: 2.2.45-1\n  Version table:\n *** 2.2.45-1 100\n        100 /var/lib/dpkg/status\n", nil},
		{"another package's block", "other:\n  Installed: (none)\n  Candidate: 1\n  Version table:\n     1 500\n        500 file:/srv ./ Packages\n", nil},
		{"no version table", "waagent:\n  Installed: (none)\n  Candidate: (none)\n", nil},
		{"empty", "", nil},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := parseAptPolicyVersions(tc.out, "waagent"); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInstallVersionArgv(t *testing.T) {
	for _, tc := range []struct {
		tool, pkg string
		want      []string
	}{
		{"apt-get", "waagent", []string{"apt-get", "install", "-y", "-q", "--no-install-recommends", "--allow-downgrades",
			"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", "-o", "DPkg::Lock::Timeout=90", "waagent=2.2.45-1"}},
		{"dnf", "WALinuxAgent", []string{"dnf", "--setopt=exit_on_lock=True", "-y", "downgrade", "WALinuxAgent-2.2.45-1"}},
		{"tdnf", "WALinuxAgent", []string{"tdnf", "-y", "install", "WALinuxAgent-2.2.45-1"}},
		{"zypper", "python-azure-agent", []string{"zypper", "--non-interactive", "install", "--auto-agree-with-licenses", "--oldpackage", "python-azure-agent=2.2.45-1"}},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			f := &run.Fake{}
			m := newMgr(t, tc.tool, "/", f).(Reverter)
			if err := m.InstallVersion(context.Background(), tc.pkg, "2.2.45-1"); err != nil {
				t.Fatal(err)
			}
			cmds := f.Commands()
			if got := cmds[len(cmds)-1].Argv; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ran %q, want %q", got, tc.want)
			}
			for _, bad := range []string{"", "-1", "1 2", "1;x"} {
				if err := m.InstallVersion(context.Background(), tc.pkg, bad); err == nil {
					t.Errorf("InstallVersion(%q) succeeded", bad)
				}
			}
		})
	}
}
