//go:build !windows

package agent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/proc"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

func inspectTree(t *testing.T, files map[string]string, mod func(*Options)) *Report {
	t.Helper()
	dir := t.TempDir()
	agenttest.Tree(t, dir, files)
	o := Options{Root: fsroot.New(dir), Runner: &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
		t.Errorf("offline inspection ran a command: %s", c)
		return run.Result{ExitCode: 127}, nil
	}}}
	if mod != nil {
		mod(&o)
	}
	r := Inspect(context.Background(), o)
	assertCatalogued(t, r)
	return r
}

// assertCatalogued fails the test when the report holds a check the
// catalogue does not declare, or one declared for another OS family.
func assertCatalogued(t *testing.T, r *Report) {
	t.Helper()
	for _, c := range r.Checks {
		d, ok := Lookup(c.ID)
		if !ok {
			t.Errorf("check %q is not declared in the catalogue", c.ID)
			continue
		}
		if r.OS.Family != "" && !d.AppliesTo(r.OS.Family) {
			t.Errorf("check %s reported on %s but declared for %v", c.ID, r.OS.Family, d.OS)
		}
	}
}

func wantCheck(t *testing.T, r *Report, id CheckID, st Status, msgPart string) Check {
	t.Helper()
	c, ok := r.Check(id)
	if !ok {
		t.Fatalf("no check %s in %+v", id, r.Checks)
	}
	if c.Status != st {
		t.Errorf("check %s = %s (%s), want %s", id, c.Status, c.Message, st)
	}
	if msgPart != "" && !strings.Contains(c.Message+" "+c.Fix, msgPart) {
		t.Errorf("check %s: %q (fix %q) does not mention %q", id, c.Message, c.Fix, msgPart)
	}
	if (st == StatusFail) && c.Fix == "" {
		t.Errorf("failing check %s has no fix", id)
	}
	return c
}

func TestInspectDebianImageReady(t *testing.T) {
	r := inspectTree(t, agenttest.DebianImage("2.7.3.0-4.1"), nil)
	if !r.Ready || !r.Offline {
		t.Fatalf("ready=%v offline=%v, want both true; checks %+v", r.Ready, r.Offline, r.Checks)
	}
	a := r.Agent
	if a.Package != "waagent" || a.Service != "walinuxagent.service" || a.Installer != "apt-get" ||
		a.Version != "2.7.3.0" || a.PackageVersion != "2.7.3.0-4.1" || !a.Installed || !a.Supported ||
		!a.ServiceEnabled || a.ServiceRunning != nil || a.GoalStateVersion != "2.7.3.0" || a.MinVersion != "2.2.53.1" {
		t.Errorf("agent = %+v", a)
	}
	if r.OS.ID != "debian" || r.OS.Version != "12" || r.OS.Family != "linux" || r.Hostname != "golden-image" {
		t.Errorf("os = %+v host %q", r.OS, r.Hostname)
	}
	for _, id := range []CheckID{"os.supported", "agent.installed", "agent.version", "agent.service", "agent.extensions", "agent.python", "mounts.noexec"} {
		wantCheck(t, r, id, StatusPass, "")
	}
	for _, id := range []CheckID{"network.wireserver", "network.hostgaplugin", "network.imds", "os.azure"} {
		wantCheck(t, r, id, StatusSkip, "")
	}
}

func TestInspectLinuxFaults(t *testing.T) {
	tests := []struct {
		desc   string
		change map[string]string
		drop   []string
		min    string
		check  CheckID
		status Status
		msg    string
	}{
		{desc: "agent missing", change: map[string]string{"var/lib/dpkg/status": agenttest.BashStanza},
			check: "agent.installed", status: StatusFail, msg: "apt-get install waagent"},
		{desc: "agent removed, config files left", change: map[string]string{"var/lib/dpkg/status": agenttest.DpkgStanza("waagent", "deinstall ok config-files", "2.7.3.0-4.1")},
			check: "agent.installed", status: StatusFail, msg: "config-files"},
		{desc: "half installed", change: map[string]string{"var/lib/dpkg/status": agenttest.DpkgStanza("waagent", "install reinstreq half-installed", "2.7.3.0-4.1")},
			check: "agent.installed", status: StatusFail, msg: "not fully installed"},
		{desc: "half configured: dpkg --configure -a", change: map[string]string{"var/lib/dpkg/status": agenttest.DpkgStanza("waagent", "install ok half-configured", "2.7.3.0-4.1")},
			check: "agent.installed", status: StatusFail, msg: "dpkg --configure -a"},
		{desc: "dpkg cut off: the agent only in its journal", change: map[string]string{"var/lib/dpkg/status": agenttest.BashStanza,
			"var/lib/dpkg/updates/0000": agenttest.DpkgStanza("waagent", "install ok unpacked", "2.7.3.0-4.1"),
			"var/lib/dpkg/updates/0001": agenttest.DpkgStanza("waagent", "install ok half-configured", "2.7.3.0-4.1")},
			check: "agent.installed", status: StatusFail, msg: "2 uncommitted entries in dpkg's journal"},
		{desc: "dpkg cut off before the agent: not installed, interrupted", change: map[string]string{"var/lib/dpkg/status": agenttest.BashStanza,
			"var/lib/dpkg/updates/0000": agenttest.DpkgStanza("python3", "install ok unpacked", "3.11.2-1")},
			check: "agent.installed", status: StatusFail, msg: "waagent is not installed"},
		{desc: "too old", change: map[string]string{"var/lib/dpkg/status": agenttest.DpkgStanza("waagent", "install ok installed", "2.2.45-1")},
			check: "agent.version", status: StatusFail, msg: "older than the minimum 2.2.53.1"},
		{desc: "minimum raised by config", min: "2.9.0.0",
			check: "agent.version", status: StatusFail, msg: "2.9.0.0"},
		{desc: "epoch and ubuntu revision normalised", change: map[string]string{"var/lib/dpkg/status": agenttest.DpkgStanza("waagent", "install ok installed", "1:2.9.1.1-0ubuntu0.22.04.1")},
			check: "agent.version", status: StatusPass, msg: "2.9.1.1"},
		{desc: "garbage version", change: map[string]string{"var/lib/dpkg/status": agenttest.DpkgStanza("waagent", "install ok installed", "banana")},
			check: "agent.version", status: StatusFail, msg: `"banana"`},
		{desc: "dpkg database missing", drop: []string{"var/lib/dpkg/status"},
			check: "agent.installed", status: StatusFail, msg: "dpkg"},
		{desc: "dpkg database is binary garbage", change: map[string]string{"var/lib/dpkg/status": "\x00\x01\x02garbage\x00"},
			check: "agent.installed", status: StatusFail, msg: "status"},
		{desc: "extensions disabled", change: map[string]string{"etc/waagent.conf": "Extensions.Enabled=n\n"},
			check: "agent.extensions", status: StatusFail, msg: "Extensions.Enabled=y"},
		{desc: "waagent.conf missing", drop: []string{"etc/waagent.conf"},
			check: "agent.config", status: StatusWarn, msg: "missing"},
		{desc: "waagent.conf is garbage", change: map[string]string{"etc/waagent.conf": "\x00\xff\xfe binary"},
			check: "agent.extensions", status: StatusFail, msg: "waagent.conf"},
		{desc: "waagent.conf is a symlink loop", change: map[string]string{"etc/waagent.conf": "->waagent.conf"},
			check: "agent.config", status: StatusFail, msg: "symbolic links"},
		{desc: "provisioning by cloud-init", change: map[string]string{"etc/waagent.conf": "Provisioning.Agent=cloud-init\n"},
			check: "agent.provisioning", status: StatusWarn, msg: "Provisioning.Agent=auto"},
		{desc: "auto update off", change: map[string]string{"etc/waagent.conf": "AutoUpdate.Enabled=n\n"},
			check: "agent.autoupdate", status: StatusWarn, msg: "AutoUpdate.Enabled"},
		{desc: "UpdateToLatestVersion overrides AutoUpdate.Enabled", change: map[string]string{"etc/waagent.conf": "AutoUpdate.Enabled=n\nAutoUpdate.UpdateToLatestVersion=y\n"},
			check: "agent.autoupdate", status: StatusPass},
		{desc: "unit not enabled", drop: []string{"etc/systemd/system/multi-user.target.wants/walinuxagent.service"},
			check: "agent.service", status: StatusFail, msg: "systemctl --root"},
		{desc: "unit file missing", drop: []string{"usr/lib/systemd/system/walinuxagent.service", "etc/systemd/system/multi-user.target.wants/walinuxagent.service"},
			check: "agent.service", status: StatusFail, msg: "not found"},
		{desc: "python missing", drop: []string{"usr/bin/python3.11"},
			check: "agent.python", status: StatusFail, msg: "/usr/bin/python3"},
		{desc: "var noexec", change: map[string]string{"etc/fstab": "UUID=1 / ext4 defaults 0 1\nUUID=2 /var ext4 defaults,noexec,nodev 0 2\n"},
			check: "mounts.noexec", status: StatusFail, msg: "/var"},
		{desc: "a /variable mount is not /var", change: map[string]string{"etc/fstab": "UUID=2 /variable ext4 noexec 0 2\n"},
			check: "mounts.noexec", status: StatusPass},
		{desc: "os-release missing", drop: []string{"usr/lib/os-release"},
			check: "os.detected", status: StatusFail, msg: "os-release"},
		{desc: "goal-state agent downloaded", change: map[string]string{"var/lib/waagent/WALinuxAgent-2.12.0.4/HandlerManifest.json": "[]", "var/lib/waagent/WALinuxAgent-2.9.1.1/HandlerManifest.json": "[]"},
			check: "agent.version", status: StatusPass},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			files := agenttest.DebianImage("2.7.3.0-4.1")
			for k, v := range tc.change {
				files[k] = v
			}
			for _, k := range tc.drop {
				delete(files, k)
			}
			r := inspectTree(t, files, func(o *Options) {
				if tc.min != "" {
					o.MinLinux = version.Must(version.NewVersion(tc.min))
				}
			})
			wantCheck(t, r, tc.check, tc.status, tc.msg)
			if want := tc.status != StatusFail; r.Ready != want {
				t.Errorf("ready = %v, want %v", r.Ready, want)
			}
			if tc.desc == "goal-state agent downloaded" && r.Agent.GoalStateVersion != "2.12.0.4" {
				t.Errorf("goal state = %q, want 2.12.0.4", r.Agent.GoalStateVersion)
			}
		})
	}
}

func TestInspectUnsupportedDistributions(t *testing.T) {
	for _, tc := range []struct{ desc, osr, msg string }{
		{"alpine", "ID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n", "Alpine"},
		{"arch", "NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n", "Arch"},
		{"flatcar", "NAME=\"Flatcar Container Linux by Kinvolk\"\nID=flatcar\nID_LIKE=coreos\nVERSION_ID=3815.2.0\n", "no package manager"},
		{"unknown", "ID=madeup\nNAME=Madeup\n", "madeup"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := inspectTree(t, map[string]string{"etc/os-release": tc.osr}, nil)
			wantCheck(t, r, "os.supported", StatusFail, tc.msg)
			wantCheck(t, r, "agent.installed", StatusSkip, "")
			if r.Ready || r.Agent.Supported || r.Agent.Installer != "none" {
				t.Errorf("ready=%v agent=%+v", r.Ready, r.Agent)
			}
		})
	}
}

// rpmRunner answers rpm queries like rpm 4 does.
func rpmRunner(t *testing.T, name, nevr string) *run.Fake {
	return &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
		if len(c.Argv) == 0 || c.Argv[0] != "rpm" || c.Argv[len(c.Argv)-1] != name {
			t.Errorf("unexpected command %s", c)
			return run.Result{ExitCode: 1}, nil
		}
		if nevr == "" {
			return run.Result{ExitCode: 1, Stdout: []byte("package " + name + " is not installed\n")}, nil
		}
		return run.Result{Stdout: []byte(nevr)}, nil
	}}
}

func TestInspectRPMFamilies(t *testing.T) {
	tests := []struct {
		desc, osr, pkg, out  string
		unit, installer, ver string
		ready                bool
	}{
		{"rhel 9", "ID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.3\"\n", "WALinuxAgent", "WALinuxAgent\t(none)\t2.9.1.1\t1.el9\n",
			"waagent.service", "dnf", "2.9.1.1", true},
		{"centos 7 uses yum", "ID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\n", "WALinuxAgent", "WALinuxAgent\t(none)\t2.2.53.1\t3.el7\n",
			"waagent.service", "yum", "2.2.53.1", true},
		{"sles 15 too old", "NAME=\"SLES\"\nID=\"sles\"\nID_LIKE=\"suse\"\nVERSION_ID=\"15.5\"\n", "python-azure-agent", "python-azure-agent\t(none)\t2.2.49.2\t150100.3.20.1\n",
			"waagent.service", "zypper", "2.2.49.2", false},
		{"azure linux", "NAME=\"Microsoft Azure Linux\"\nID=azurelinux\nVERSION_ID=\"3.0\"\n", "WALinuxAgent", "WALinuxAgent\t(none)\t2.9.1.1\t5.azl3\n",
			"waagent.service", "tdnf", "2.9.1.1", true},
		{"rocky not installed", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\n", "WALinuxAgent", "",
			"waagent.service", "dnf", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			files := map[string]string{
				"etc/os-release":                         tc.osr,
				"etc/waagent.conf":                       "Extensions.Enabled=y\n",
				"usr/lib/systemd/system/waagent.service": "[Service]\nExecStart=/usr/sbin/waagent -daemon\n[Install]\nWantedBy=multi-user.target\n",
				"etc/systemd/system/multi-user.target.wants/waagent.service": "->/usr/lib/systemd/system/waagent.service",
				"usr/bin/python3": "ELF",
				"usr/lib/python3.9/site-packages/azurelinuxagent/__init__.py": "",
				"var/lib/rpm/rpmdb.sqlite":                                    "",
			}
			r := inspectTree(t, files, func(o *Options) { o.Runner = rpmRunner(t, tc.pkg, tc.out) })
			a := r.Agent
			if a.Package != tc.pkg || a.Service != tc.unit || a.Installer != tc.installer || a.Version != tc.ver || r.Ready != tc.ready {
				t.Errorf("ready=%v agent=%+v checks=%+v", r.Ready, a, r.Checks)
			}
		})
	}
}

// TestInspectLiveNetwork runs a live inspection of this machine with the
// Azure endpoints served on loopback.
func TestInspectLiveNetwork(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("comp") == "versions" {
			fmt.Fprint(w, "<Versions/>")
			return
		}
		http.NotFound(w, r)
	})
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	mux.HandleFunc("/metadata/instance", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata") != "true" {
			http.Error(w, "no Metadata header", 400)
			return
		}
		fmt.Fprint(w, "{}")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()

	base := Options{
		Root:      fsroot.New("/"),
		Runner:    &run.Fake{Respond: func(run.Cmd) (run.Result, error) { return run.Result{ExitCode: 1}, nil }},
		OnAzure:   func(fsroot.Root) (bool, error) { return true, nil },
		Processes: func() ([]proc.Process, error) { return nil, nil },
		Endpoints: Endpoints{WireServer: srv.URL, HostGAPlugin: srv.URL, IMDS: srv.URL, Timeout: 2 * time.Second},
	}
	r := Inspect(context.Background(), base)
	if r.Offline || !r.OS.Azure {
		t.Fatalf("offline=%v azure=%v", r.Offline, r.OS.Azure)
	}
	wantCheck(t, r, "network.wireserver", StatusPass, "")
	wantCheck(t, r, "network.hostgaplugin", StatusFail, "503")
	wantCheck(t, r, "network.imds", StatusPass, "")

	o := base
	o.Endpoints = Endpoints{WireServer: slow.URL, HostGAPlugin: "http://127.0.0.1:1", IMDS: slow.URL, Timeout: 200 * time.Millisecond}
	r = Inspect(context.Background(), o)
	wantCheck(t, r, "network.wireserver", StatusFail, "168.63.129.16")
	wantCheck(t, r, "network.hostgaplugin", StatusFail, "")
	wantCheck(t, r, "network.imds", StatusWarn, "")

	o = base
	o.OnAzure = func(fsroot.Root) (bool, error) { return false, nil }
	r = Inspect(context.Background(), o)
	wantCheck(t, r, "network.wireserver", StatusSkip, "not an Azure VM")

	o = base
	o.NoNetwork = true
	r = Inspect(context.Background(), o)
	wantCheck(t, r, "network.imds", StatusSkip, "turned off")
}

func TestInspectWindowsImageFallbacks(t *testing.T) {
	base := map[string]string{"Windows/System32/": "", "Windows/System32/config/": ""}
	t.Run("nothing installed", func(t *testing.T) {
		r := inspectTree(t, base, nil)
		if r.OS.Family != "windows" || r.Agent.Installer != "msi" {
			t.Fatalf("os=%+v agent=%+v", r.OS, r.Agent)
		}
		wantCheck(t, r, "agent.installed", StatusFail, "WaAppAgent.exe")
		if r.Ready {
			t.Error("ready without an agent")
		}
	})
	t.Run("GuestAgent folder fallback", func(t *testing.T) {
		files := map[string]string{"windows/system32/": "",
			"WindowsAzure/GuestAgent_2.7.41491.1010_2023-01-01_000000/": "",
			"WindowsAzure/GuestAgent_2.7.41491.949_2022-01-01_000000/":  "",
			"WindowsAzure/Packages/":                                    ""}
		r := inspectTree(t, files, nil)
		wantCheck(t, r, "agent.installed", StatusPass, "fallback")
		wantCheck(t, r, "agent.version", StatusPass, "2.7.41491.1010")
		wantCheck(t, r, "agent.service", StatusSkip, "offline")
		if r.Agent.VersionSource != "guestagent-folder" {
			t.Errorf("version_source = %q, want guestagent-folder", r.Agent.VersionSource)
		}
		if !r.Ready {
			t.Errorf("not ready: %+v", r.Checks)
		}
	})
	t.Run("old GuestAgent folder", func(t *testing.T) {
		files := map[string]string{"Windows/System32/": "", "windowsazure/GuestAgent_2.6.1198.700/": ""}
		r := inspectTree(t, files, nil)
		wantCheck(t, r, "agent.version", StatusFail, "2.6.1198.718")
	})
	t.Run("WaAppAgent.exe is not a PE file", func(t *testing.T) {
		files := map[string]string{"Windows/System32/": "", "WindowsAzure/Packages/WaAppAgent.exe": "not a program"}
		r := inspectTree(t, files, nil)
		wantCheck(t, r, "agent.installed", StatusFail, "WaAppAgent.exe")
	})
}
