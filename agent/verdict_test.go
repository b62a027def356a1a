//go:build !windows

package agent

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

func TestWindowsSupport(t *testing.T) {
	now := day(2026, time.December, 1)
	srv := func(build, name string) osinfo.Info {
		return osinfo.Info{Family: "windows", Build: build, Name: name, Server: true}
	}
	cli := func(build, name string) osinfo.Info {
		return osinfo.Info{Family: "windows", Build: build, Name: name}
	}
	img := func(build string) osinfo.Info {
		return osinfo.Info{Family: "windows", Build: build, Name: "Windows (offline image)", EditionUnknown: true}
	}
	tests := []struct {
		desc      string
		info      osinfo.Info
		bits      int
		now       time.Time
		status    Status
		supported bool
		msg       string
	}{
		{desc: "Server 2008 RTM/SP1", info: srv("6001", "Windows Server 2008 Standard"), status: StatusFail, msg: "SP2"},
		{desc: "Server 2008 SP2", info: srv("6002", "Windows Server 2008 Standard"), status: StatusWarn, supported: true, msg: "extended support for it ended on 2020-01-14"},
		{desc: "Server 2008 R2 SP1", info: srv("7601", "Windows Server 2008 R2 Datacenter"), status: StatusWarn, supported: true, msg: "Windows Server 2008 R2 is supported"},
		{desc: "Windows 7 client", info: cli("7601", "Windows 7 Professional"), status: StatusFail, msg: "Windows 7 client"},
		{desc: "Windows 8.1 client", info: cli("9600", "Windows 8.1 Pro"), status: StatusFail, msg: "not Windows 8.1"},
		{desc: "Server 2012", info: srv("9200", "Windows Server 2012 Standard"), status: StatusWarn, supported: true, msg: "2023-10-10"},
		{desc: "Server 2012 R2", info: srv("9600", "Windows Server 2012 R2 Datacenter"), status: StatusWarn, supported: true, msg: "Windows Server 2012 R2 is supported"},
		{desc: "Server 2016", info: srv("14393", "Windows Server 2016 Datacenter"), status: StatusPass, supported: true},
		{desc: "Server 2016 after its end", info: srv("14393", "Windows Server 2016 Datacenter"), now: day(2027, time.March, 1), status: StatusWarn, supported: true, msg: "2027-01-12"},
		{desc: "Server 2022", info: srv("20348", "Windows Server 2022 Datacenter"), status: StatusPass, supported: true},
		{desc: "Windows 10", info: cli("19045", "Windows 10 Pro"), status: StatusPass, supported: true, msg: "Windows 10 is supported"},
		{desc: "Windows 11", info: cli("22631", "Windows 11 Pro"), status: StatusPass, supported: true, msg: "Windows 11"},
		{desc: "Vista", info: cli("6002", "Windows Vista Business"), status: StatusFail, msg: "Vista"},
		{desc: "NT 5", info: srv("3790", "Windows Server 2003"), status: StatusFail, msg: "older than any Windows"},
		{desc: "32-bit Server 2008 SP2", info: srv("6002", "Windows Server 2008"), bits: 32, status: StatusFail, msg: "32-bit"},
		{desc: "build unknown", info: img(""), status: StatusWarn, supported: true, msg: "could not be read"},
		{desc: "image of build 9600", info: img("9600"), status: StatusWarn, supported: true, msg: "Windows 8.1"},
		{desc: "image of build 17763", info: img("17763"), status: StatusPass, supported: true, msg: "supported either way"},
		{desc: "image of build 6001", info: img("6001"), status: StatusFail, msg: "not supported either way"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			n := now
			if !tt.now.IsZero() {
				n = tt.now
			}
			bits := tt.bits
			if bits == 0 {
				bits = 64
			}
			c, ok := windowsSupport(tt.info, bits, n)
			if c.Status != tt.status || ok != tt.supported || !strings.Contains(c.Message, tt.msg) {
				t.Errorf("= %s %v %q; want %s %v containing %q", c.Status, ok, c.Message, tt.status, tt.supported, tt.msg)
			}
			if c.Status != StatusPass && c.Fix == "" {
				t.Errorf("%s without a fix", c.Status)
			}
		})
	}
}

func TestWindowsVersionRange(t *testing.T) {
	min := version.Must(version.NewVersion(DefaultMinWindows))
	sup := version.Must(version.NewVersion(DefaultSupportedWindows))
	tests := []struct {
		have   string
		status Status
		names  []string
	}{
		{"2.6.1000.0", StatusFail, []string{"2.6.1198.718"}},
		{"2.6.1198.718", StatusWarn, []string{"2.6.1198.718", "2.7.41491.1010"}},
		{"2.7.41491.900", StatusWarn, []string{"2.6.1198.718", "2.7.41491.1010", "KB 4049215"}},
		{"2.7.41491.1010", StatusPass, nil},
		{"2.7.41491.1178", StatusPass, nil},
	}
	for _, tt := range tests {
		rep := &Report{}
		windowsVersionCheck(rep, version.Must(version.NewVersion(tt.have)), min, sup, "test", "fix it")
		c := rep.Checks[0]
		if c.Status != tt.status {
			t.Errorf("%s: %s (%s), want %s", tt.have, c.Status, c.Message, tt.status)
		}
		for _, n := range tt.names {
			if !strings.Contains(c.Message, n) {
				t.Errorf("%s: %q does not name %s", tt.have, c.Message, n)
			}
		}
	}
}

// aptList is a Packages file offering the given waagent versions.
func aptList(versions ...string) string {
	var b strings.Builder
	for _, v := range versions {
		b.WriteString("Package: waagent\nVersion: " + v + "\nArchitecture: all\n\n")
	}
	return b.String()
}

const listFile = "var/lib/apt/lists/mirror_debian_dists_bookworm_main_binary-amd64_Packages"

func TestLinuxGoalStateRules(t *testing.T) {
	folder := "var/lib/waagent/WALinuxAgent-2.9.1.1/"
	tests := []struct {
		desc    string
		pkg     string
		change  map[string]string
		status  Status
		source  string
		goal    string
		msg     string
		noLists bool
	}{
		{desc: "KB example: package 2.2.45, goal-state agent 2.9.1.1", pkg: "2.2.45-1",
			change: map[string]string{folder + agentManifestFile: "[]"},
			status: StatusPass, source: GoalStateFolder, goal: "2.9.1.1", msg: "goal-state agent 2.9.1.1"},
		{desc: "folder not fully downloaded", pkg: "2.2.45-1",
			change: map[string]string{folder: "", listFile: aptList("2.2.45-1")},
			status: StatusWarn, source: GoalStatePackage, goal: "2.2.45", msg: "not fully downloaded"},
		{desc: "blacklisted folder", pkg: "2.2.45-1",
			change: map[string]string{folder + agentManifestFile: "[]", folder + agentErrorFile: `{"last_failure": 1.7e9, "failure_count": 3, "was_fatal": false, "reason": "crashed"}`,
				listFile: aptList("2.7.3.0-4.1")},
			status: StatusFail, source: GoalStatePackage, goal: "2.2.45", msg: "blacklisted"},
		{desc: "fatal error.json", pkg: "2.2.45-1",
			change: map[string]string{folder + agentManifestFile: "[]", folder + agentErrorFile: `{"failure_count": 1, "was_fatal": true}`, listFile: aptList("2.2.45-1")},
			status: StatusWarn, source: GoalStatePackage, msg: "auto-update is on"},
		{desc: "unreadable error.json is retried by the agent", pkg: "2.2.45-1",
			change: map[string]string{folder + agentManifestFile: "[]", folder + agentErrorFile: "{garbage"},
			status: StatusPass, source: GoalStateFolder, goal: "2.9.1.1"},
		{desc: "older folder than the package", pkg: "2.7.3.0-4.1",
			change: map[string]string{"var/lib/waagent/WALinuxAgent-2.2.40/" + agentManifestFile: "[]"},
			status: StatusPass, source: GoalStatePackage, goal: "2.7.3.0"},
		{desc: "2.2.45, no goal state, repositories offer 2.7.3.0", pkg: "2.2.45-1",
			change: map[string]string{listFile: aptList("2.2.45-1", "2.7.3.0-4.1")},
			status: StatusFail, msg: "the repositories offer 2.7.3.0"},
		{desc: "2.2.45, no goal state, repositories offer only 2.2.45, auto-update on", pkg: "2.2.45-1",
			change: map[string]string{listFile: aptList("2.2.45-1")},
			status: StatusWarn, msg: "offer at most 2.2.45"},
		{desc: "2.2.45, repositories offer nothing", pkg: "2.2.45-1",
			change: map[string]string{listFile: aptList()},
			status: StatusWarn, msg: "offer nothing"},
		{desc: "2.2.45, auto-update off", pkg: "2.2.45-1",
			change: map[string]string{listFile: aptList("2.2.45-1"), "etc/waagent.conf": "AutoUpdate.Enabled=n\n"},
			status: StatusFail, msg: "auto-update is off"},
		{desc: "2.2.45, UpdateToLatestVersion=n overrides Enabled=y", pkg: "2.2.45-1",
			change: map[string]string{listFile: aptList("2.2.45-1"), "etc/waagent.conf": "AutoUpdate.Enabled=y\nAutoUpdate.UpdateToLatestVersion=n\n"},
			status: StatusFail, msg: "auto-update is off"},
		{desc: "2.2.45, no package lists", pkg: "2.2.45-1", noLists: true,
			status: StatusFail, msg: "not known"},
		{desc: "2.1.7 is not newer than 2.1.7", pkg: "2.1.7-1",
			change: map[string]string{listFile: aptList("2.1.7-1")},
			status: StatusFail, msg: "not newer than 2.1.7"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			files := agenttest.DebianImage(tt.pkg)
			if !tt.noLists && tt.change[listFile] == "" {
				files[listFile] = aptList(tt.pkg)
			}
			for k, v := range tt.change {
				files[k] = v
			}
			r := inspectTree(t, files, nil)
			c := wantCheck(t, r, IDAgentVersion, tt.status, tt.msg)
			if tt.source != "" && r.Agent.GoalStateSource != tt.source {
				t.Errorf("goal_state_source = %q, want %q", r.Agent.GoalStateSource, tt.source)
			}
			if tt.goal != "" && r.Agent.GoalStateVersion != tt.goal {
				t.Errorf("goal_state_version = %q, want %q", r.Agent.GoalStateVersion, tt.goal)
			}
			if want := strings.SplitN(tt.pkg, "-", 2)[0]; r.Agent.Version != want || !strings.Contains(c.Message, "package "+tt.pkg) {
				t.Errorf("version %q, message %q: want the package %s reported beside", r.Agent.Version, c.Message, tt.pkg)
			}
		})
	}
}

// hostCommand matches a command word in a fix: under --root it must be
// preceded by "chroot DIR " (or be systemctl --root / agentkeeper ... --root).
var hostCommand = regexp.MustCompile(`(^|[^\w-])(apt-get|dnf|yum|zypper|tdnf|systemctl|msiexec|agentkeeper ensure)\b`)

func TestImageFixesNeverActOnTheHost(t *testing.T) {
	cases := map[string]map[string]string{
		"not installed": {"etc/os-release": agenttest.Debian12OSRelease, "var/lib/dpkg/status": agenttest.BashStanza},
		"old package":   agenttest.DebianImage("2.2.45-1"),
		"half installed": func() map[string]string {
			f := agenttest.DebianImage("2.7.3.0-4.1")
			f["var/lib/dpkg/status"] = agenttest.DpkgStanza("waagent", "install ok half-installed", "2.7.3.0-4.1")
			return f
		}(),
		"unit disabled, extensions off": func() map[string]string {
			f := agenttest.DebianImage("2.7.3.0-4.1")
			delete(f, "etc/systemd/system/multi-user.target.wants/walinuxagent.service")
			f["etc/waagent.conf"] = "Extensions.Enabled=n\nAutoUpdate.Enabled=n\n"
			return f
		}(),
		"windows without agent": {"Windows/System32/": ""},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			r := inspectTree(t, files, nil)
			n := 0
			for _, c := range r.Checks {
				if c.Fix == "" {
					continue
				}
				for _, m := range hostCommand.FindAllStringSubmatchIndex(c.Fix, -1) {
					n++
					cmd := c.Fix[m[4]:m[5]]
					before := c.Fix[:m[4]]
					after := c.Fix[m[5]:]
					ok := strings.HasSuffix(before, "chroot "+r.Root+" ") ||
						(cmd == "systemctl" && strings.HasPrefix(after, " --root "+r.Root)) ||
						(cmd == "agentkeeper ensure" && strings.HasPrefix(after, " --root "+r.Root)) ||
						(r.OS.Family == "windows" && strings.Contains(c.Fix, "on the running Windows machine, not in the image"))
					if !ok {
						t.Errorf("%s: fix %q runs %s on the build host", c.ID, c.Fix, cmd)
					}
				}
			}
			if n == 0 {
				t.Errorf("no fix named a command: the test checked nothing (%+v)", r.Checks)
			}
		})
	}
}
