package ensure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/filever"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/msi"
	"github.com/agentkeeper/agentkeeper/platform/proc"
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

func fmtSteps(r *Result) string {
	var b strings.Builder
	for _, s := range append(r.Preconditions, r.Actions...) {
		b.WriteString(s.ID + "=" + s.Status + ": " + s.Message + "\n")
	}
	return b.String()
}

// TestMain doubles as a lock holder: holdLock starts this test binary as a
// child that takes the ensure lock and holds it until its standard input
// closes (or it is killed).
func TestMain(m *testing.M) {
	if p := os.Getenv("ENSURE_TEST_HOLD_LOCK"); p != "" {
		l := flock.New(p)
		if ok, err := l.TryLock(); !ok || err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func findStep(steps []Step, id string) (Step, bool) {
	for _, s := range steps {
		if s.ID == id {
			return s, true
		}
	}
	return Step{}, false
}

// winMachine plays a running Windows for ensure: a temporary tree standing
// for C:\ (agent.Options.Live), with the service manager, the registry, the
// file versions and msiexec faked. The real msi.Installer does the rest:
// the private download folder, the fetch, the SHA-256 check, the held file.
type winMachine struct {
	root      string
	mu        sync.Mutex
	version   string // WaAppAgent.exe's product version; "" when not installed
	services  map[string]service.State
	msiexec   []string // packages msiexec was given
	reg       registry.Fake
	exit      int // msiexec's exit code
	processes []proc.Process
	opts      Options
}

const (
	winOld = "2.6.1000.1"
	winNew = "2.7.41491.1010"
)

var winPayload = []byte("an agent MSI (fake bytes: msiexec is faked)")

func newWinMachine(t *testing.T, installed string) *winMachine {
	t.Helper()
	m := &winMachine{root: t.TempDir(), services: map[string]service.State{}}
	agenttest.Tree(t, m.root, map[string]string{"Windows/System32/": "", "WindowsAzure/": ""})
	for _, s := range []string{"VSS", "COMSysApp", "MSDTC", "msiserver", "Winmgmt", "Dhcp"} {
		m.services[s] = runningService()
	}
	if installed != "" {
		m.installAgent(t, installed)
	}
	src := filepath.Join(t.TempDir(), "WindowsAzureVmAgent.msi")
	if err := os.WriteFile(src, winPayload, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(winPayload)
	reg := registry.Fake{
		`SOFTWARE\Microsoft\Windows NT\CurrentVersion`: {"ProductName": "Windows Server 2019 Datacenter", "EditionID": "ServerDatacenter",
			"InstallationType": "Server", "CurrentBuildNumber": "17763", "CurrentVersion": "6.3",
			"CurrentMajorVersionNumber": uint64(10), "CurrentMinorVersionNumber": uint64(0)},
		`SYSTEM\CurrentControlSet\Control\ProductOptions`:      {"ProductType": "ServerNT"},
		`SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full`:   {"Install": uint64(1), "Release": uint64(528040)},
		`SYSTEM\CurrentControlSet\Services\storvsc`:            {"Start": uint64(0)},
		`SYSTEM\CurrentControlSet\Services\Dhcp`:               {"Start": uint64(2)},
		`SYSTEM\CurrentControlSet\Services\partmgr\Parameters`: {"SanPolicy": uint64(1)},
		`SYSTEM\CurrentControlSet\Control\Terminal Server`:     {"fDenyTSConnections": uint64(0)},
	}
	for _, s := range []string{"VSS", "COMSysApp", "MSDTC", "msiserver"} {
		reg[`SYSTEM\CurrentControlSet\Services\`+s] = map[string]any{"Start": uint64(3)}
	}
	m.reg = reg
	m.opts = Options{
		Inspect: agent.Options{
			Root: fsroot.New(m.root), Live: true, NoNetwork: true,
			Runner:      &run.Fake{Respond: m.run},
			Processes:   func() ([]proc.Process, error) { m.mu.Lock(); defer m.mu.Unlock(); return m.processes, nil },
			OnAzure:     func(fsroot.Root) (bool, error) { return false, nil },
			Registry:    reg,
			WinService:  m.service,
			FileVersion: m.fileVersion,
		},
		MSI:      msi.Source{URL: src, SHA256: hex.EncodeToString(sum[:])},
		LockFile: filepath.Join(t.TempDir(), "agentkeeper", "agentkeeper.lock"),
		WorkDir:  filepath.Join(t.TempDir(), "agentkeeper", "downloads"),
		IsAdmin:  func() bool { return true },
		Sleep:    func(context.Context, time.Duration) error { return nil },
	}
	return m
}

func runningService() service.State {
	return service.State{Installed: true, Enabled: true, Running: boolp(true), StartType: "auto", Detail: "running"}
}

func boolp(b bool) *bool { return &b }

func (m *winMachine) installAgent(t *testing.T, v string) {
	exe := filepath.Join(m.root, "WindowsAzure", "Packages", "WaAppAgent.exe")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.version = v
	m.services["RdAgent"] = runningService()
	m.services["WindowsAzureGuestAgent"] = runningService()
}

func (m *winMachine) service(name string) (service.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st, ok := m.services[name]; ok {
		return st, nil
	}
	return service.State{Detail: "service " + name + " does not exist"}, nil
}

func (m *winMachine) fileVersion(p string) (filever.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !strings.EqualFold(filepath.Base(p), "WaAppAgent.exe") || m.version == "" {
		return filever.Info{}, fmt.Errorf("%s: %w", p, os.ErrNotExist)
	}
	return filever.Info{FileVersion: m.version, ProductVersion: m.version, ProductVersionString: m.version}, nil
}

// run plays msiexec: it checks it is handed the verified package, then
// "installs" the new agent unless told to fail.
func (m *winMachine) run(c run.Cmd) (run.Result, error) {
	if c.Argv[0] != "msiexec" {
		return run.Result{ExitCode: 1, Stderr: []byte("unexpected command " + c.String())}, nil
	}
	b, err := os.ReadFile(c.Argv[2])
	m.mu.Lock()
	m.msiexec = append(m.msiexec, c.Argv[2])
	exit := m.exit
	m.mu.Unlock()
	if err != nil || !bytes.Equal(b, winPayload) {
		return run.Result{ExitCode: 1619}, nil
	}
	if exit == 0 || exit == 3010 {
		exe := filepath.Join(m.root, "WindowsAzure", "Packages", "WaAppAgent.exe")
		os.MkdirAll(filepath.Dir(exe), 0o755)
		os.WriteFile(exe, []byte("MZ"), 0o644)
		m.mu.Lock()
		m.version = winNew
		m.services["RdAgent"] = runningService()
		m.services["WindowsAzureGuestAgent"] = runningService()
		m.mu.Unlock()
	}
	return run.Result{ExitCode: exit}, nil
}

func TestEnsureWindows(t *testing.T) {
	tests := []struct {
		desc       string
		installed  string
		setup      func(m *winMachine)
		action     string
		code       int
		outcome    string
		msiexecs   int
		reboot     bool
		after      string
		msg        string
		wantAction string // an action that must be there, "id=status"
	}{
		{desc: "install", action: ActionInstall, code: ExitReady, outcome: "ready", msiexecs: 1, after: winNew, wantAction: "msiexec=pass"},
		{desc: "update", installed: winOld, action: ActionUpdate, code: ExitReady, outcome: "ready", msiexecs: 1, after: winNew, wantAction: "download=pass"},
		{desc: "current: nothing to do", installed: winNew, action: ActionNone, code: ExitReady, outcome: "ready", after: winNew},
		{desc: "msiexec 3010: reboot required", setup: func(m *winMachine) { m.exit = 3010 },
			action: ActionInstall, code: ExitReady, outcome: "ready", msiexecs: 1, reboot: true, after: winNew, msg: "ready"},
		{desc: "msiexec 1618: another installation runs", installed: winOld, setup: func(m *winMachine) { m.exit = 1618 },
			action: ActionUpdate, code: ExitDeferred, outcome: "deferred", msiexecs: 1, after: winOld, msg: "1618", wantAction: "msiexec=deferred"},
		{desc: "msiexec 1603: failed", installed: winOld, setup: func(m *winMachine) { m.exit = 1603 },
			action: ActionUpdate, code: ExitNotReady, outcome: "failed", msiexecs: 1, after: winOld, msg: "1603", wantAction: "msiexec=fail"},
		{desc: "unverified MSI refused", setup: func(m *winMachine) { m.opts.MSI.SHA256 = ""; m.opts.MSI.Signer = "Microsoft Corporation" },
			action: ActionInstall, code: ExitNotReady, outcome: "failed", msg: "unverified"},
		{desc: "wrong SHA-256 refused", setup: func(m *winMachine) { m.opts.MSI.SHA256 = strings.Repeat("ab", 32) },
			action: ActionInstall, code: ExitNotReady, outcome: "failed", msg: "refused", wantAction: "download=fail"},
		{desc: "no MSI configured", setup: func(m *winMachine) { m.opts.MSI = msi.Source{} },
			action: ActionInstall, code: ExitNotReady, outcome: "failed", msg: "windows.msi"},
		{desc: "backup running: deferred", installed: winOld,
			setup:  func(m *winMachine) { m.processes = []proc.Process{{PID: 7, Name: "IaaSBcdrExtension.exe"}} },
			action: ActionUpdate, code: ExitDeferred, outcome: "deferred", after: winOld, msg: "IaaSBcdrExtension"},
		{desc: "Windows Server 2003: impossible", setup: func(m *winMachine) {
			m.reg[`SOFTWARE\Microsoft\Windows NT\CurrentVersion`] = map[string]any{"ProductName": "Windows Server 2003",
				"CurrentBuildNumber": "3790", "CurrentVersion": "5.2"}
		}, action: ActionImpossible, code: ExitNotReady, outcome: "failed", msg: "Windows Server 2003 (build 3790) is older than any Windows"},
		{desc: "agent service stopped: nothing ensure can change", installed: winNew,
			setup: func(m *winMachine) {
				m.services["RdAgent"] = service.State{Installed: true, Enabled: true, Running: boolp(false), StartType: "auto", Detail: "stopped"}
			},
			action: ActionNone, code: ExitNotReady, outcome: "not-ready", after: winNew, msg: "RdAgent is stopped"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m := newWinMachine(t, tc.installed)
			if tc.setup != nil {
				tc.setup(m)
			}
			res := Run(context.Background(), m.opts)
			if res.Plan.Action != tc.action || res.ExitCode != tc.code || res.Outcome != tc.outcome || len(m.msiexec) != tc.msiexecs {
				t.Errorf("plan %s exit %d outcome %s msiexec ×%d, want %s %d %s ×%d: %s\n%s", res.Plan.Action, res.ExitCode, res.Outcome,
					len(m.msiexec), tc.action, tc.code, tc.outcome, tc.msiexecs, res.Message, fmtSteps(res))
			}
			if res.RebootRequired != tc.reboot || res.VersionAfter != tc.after {
				t.Errorf("reboot %v after %q, want %v %q", res.RebootRequired, res.VersionAfter, tc.reboot, tc.after)
			}
			if tc.msg != "" && !strings.Contains(res.Message+fmtSteps(res), tc.msg) {
				t.Errorf("message %q / steps %s do not mention %q", res.Message, fmtSteps(res), tc.msg)
			}
			if tc.wantAction != "" {
				id, status, _ := strings.Cut(tc.wantAction, "=")
				if s, ok := findStep(res.Actions, id); !ok || s.Status != status {
					t.Errorf("action %s = %+v, want %s\n%s", id, s, status, fmtSteps(res))
				}
			}
			for _, p := range m.msiexec {
				if filepath.Dir(p) != m.opts.WorkDir || filepath.Ext(p) != ".msi" {
					t.Errorf("msiexec ran %s, not the verified .msi in %s", p, m.opts.WorkDir)
				}
			}
			if tc.code != ExitReady && res.Report != nil && res.Report.Ready {
				t.Error("a failed or deferred run must report not ready")
			}
			if res.Report != nil && tc.action != ActionImpossible && (res.Report.OS.Family != "windows" || !strings.Contains(res.Report.OS.Name, "Server 2019")) {
				t.Errorf("os %+v, want Windows Server 2019 read from the (fake) registry", res.Report.OS)
			}
			if tc.action != ActionNone && tc.msiexecs > 0 && strings.Join(res.Plan.Commands, "\n") == "" {
				t.Error("no commands in the plan")
			}
		})
	}
}

// The plan of a live Windows names the download, the verification and the
// msiexec command line; a dry run changes nothing.
func TestEnsureWindowsDryRun(t *testing.T) {
	m := newWinMachine(t, winOld)
	m.opts.DryRun = true
	res := Run(context.Background(), m.opts)
	if res.Outcome != "planned" || res.Plan.Action != ActionUpdate || len(m.msiexec) != 0 || len(res.Actions) != 0 {
		t.Fatalf("outcome %s action %s msiexec %v actions %v", res.Outcome, res.Plan.Action, m.msiexec, res.Actions)
	}
	plan := strings.Join(res.Plan.Commands, "\n")
	for _, want := range []string{"SHA-256", ".unverified", "msiexec /i " + filepath.Join(m.opts.WorkDir, "WindowsAzureVmAgent.msi") + " /quiet /norestart"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan %q does not name %q", plan, want)
		}
	}
	if _, err := os.Stat(m.opts.WorkDir); err == nil {
		t.Error("a dry run made the download folder")
	}
}

// An offline Windows image is never "installed into": msiexec runs on the
// live machine only.
func TestEnsureWindowsImageIsNotInstalledOffline(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		files  map[string]string
		action string
		code   int
	}{
		{"no agent in the image", map[string]string{"Windows/System32/": ""}, ActionImpossible, ExitNotReady},
		{"current agent in the image", map[string]string{"Windows/System32/": "", "WindowsAzure/GuestAgent_2.7.41491.1010/": ""}, ActionNone, ExitReady},
		{"old agent in the image", map[string]string{"Windows/System32/": "", "WindowsAzure/GuestAgent_2.6.1000.1/": ""}, ActionImpossible, ExitNotReady},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			m := newWinMachine(t, "")
			root := t.TempDir()
			agenttest.Tree(t, root, tc.files)
			m.opts.Inspect.Root, m.opts.Inspect.Live = fsroot.New(root), false
			res := Run(context.Background(), m.opts)
			if res.Plan.Action != tc.action || res.ExitCode != tc.code || len(res.Actions) != 0 || len(m.msiexec) != 0 {
				t.Errorf("action %s exit %d actions %v msiexec %v: %s", res.Plan.Action, res.ExitCode, res.Actions, m.msiexec, res.Message)
			}
			if tc.action == ActionImpossible && !strings.Contains(res.Message, "not into an offline image") {
				t.Errorf("message %q does not say why", res.Message)
			}
		})
	}
}
