package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// These tests change the real registry and service manager: they run in
// Wine's throwaway prefix (e2e/wine/run-tests.sh), never on a real
// Windows machine, where they would disable VSS.
func inWine(t *testing.T) {
	t.Helper()
	if _, err := registry.Live.SubKeys(`SOFTWARE\Wine`); err != nil {
		t.Skip("changes system services and registry values: runs only in Wine's throwaway prefix (e2e/wine/run-tests.sh)")
	}
}

// reg runs Windows' own reg.exe (Wine's under Wine).
func reg(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("reg", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("reg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// setStart changes a service's start type through the service manager.
func setStart(t *testing.T, m *mgr.Mgr, name string, start uint32) {
	t.Helper()
	s, err := m.OpenService(name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer s.Close()
	// ChangeServiceConfig directly: mgr's Config asks for the description
	// too, which Wine does not answer.
	nc := uint32(windows.SERVICE_NO_CHANGE)
	if err := windows.ChangeServiceConfig(s.Handle, nc, start, nc, nil, nil, nil, nil, nil, nil, nil); err != nil {
		t.Fatalf("set start type of %s: %v", name, err)
	}
}

func liveWinTarget() *Target {
	return &Target{Root: fsroot.New(`C:\`), Live: true, OS: osinfo.Info{Family: FamilyWindows}, Report: &Report{},
		Registry: registry.Live, WinService: service.Windows, Log: slog.New(slog.DiscardHandler), Now: time.Now}
}

func TestDotNetLiveRegistry(t *testing.T) {
	inWine(t)
	key := `HKLM\` + regDotNet4
	exec.Command("reg", "delete", key, "/f").Run() // not there in a fresh prefix
	t.Cleanup(func() { exec.Command("reg", "delete", key, "/f").Run() })
	if c := windowsDotNetProbe(context.Background(), liveWinTarget()); c.Status != StatusFail || !strings.Contains(c.Message, "not installed") {
		t.Errorf("without .NET 4: %+v", c)
	}
	reg(t, "add", key, "/v", "Install", "/t", "REG_DWORD", "/d", "1", "/f")
	if c := windowsDotNetProbe(context.Background(), liveWinTarget()); c.Status != StatusPass || !strings.Contains(c.Message, ".NET Framework 4.0") {
		t.Errorf("4.0: %+v", c)
	}
	reg(t, "add", key, "/v", "Release", "/t", "REG_DWORD", "/d", "528040", "/f")
	if c := windowsDotNetProbe(context.Background(), liveWinTarget()); c.Status != StatusPass || !strings.Contains(c.Message, ".NET Framework 4.8 (Release 528040") {
		t.Errorf("4.8: %+v", c)
	}
}

func TestServicesLive(t *testing.T) {
	inWine(t)
	m, err := mgr.Connect()
	if err != nil {
		t.Fatalf("connect to the service manager: %v", err)
	}
	defer m.Disconnect()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Wine has msiserver and winmgmt; VSS, COMSysApp and MSDTC are made
	// here (never started) with Windows' default start type, manual.
	for _, s := range backupServices {
		h, err := m.OpenService(s.name)
		if err == nil {
			h.Close()
			continue
		}
		created, err := m.CreateService(s.name, exe, mgr.Config{StartType: mgr.StartManual, DisplayName: s.what})
		if err != nil {
			t.Fatalf("create service %s: %v", s.name, err)
		}
		created.Close()
		name := s.name
		t.Cleanup(func() {
			if h, err := m.OpenService(name); err == nil {
				h.Delete()
				h.Close()
			}
		})
	}
	wm, err := m.OpenService("winmgmt")
	if err != nil {
		t.Fatalf("open winmgmt: %v", err)
	}
	defer wm.Close()
	if err := wm.Start(); err != nil && !errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
		t.Fatalf("start winmgmt: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := service.Windows("Winmgmt")
		if err == nil && st.Running != nil && *st.Running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("winmgmt did not start: %+v %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if c := windowsServicesProbe(context.Background(), liveWinTarget()); c.Status != StatusPass {
		t.Errorf("as Windows ships them: %+v", c)
	}
	setStart(t, m, "VSS", mgr.StartDisabled)
	c := windowsServicesProbe(context.Background(), liveWinTarget())
	if c.Status != StatusFail || !strings.Contains(c.Message, "VSS (Volume Shadow Copy) is disabled (Start=4): the backup fails with ExtensionFailedVssServiceInBadState") {
		t.Errorf("VSS disabled: %+v", c)
	}
	setStart(t, m, "VSS", mgr.StartManual)
	setStart(t, m, "msiserver", mgr.StartDisabled)
	defer setStart(t, m, "msiserver", mgr.StartManual)
	c = windowsServicesProbe(context.Background(), liveWinTarget())
	if c.Status != StatusFail || !strings.Contains(c.Message, "ExtensionVCRedistInstallationFailure") || strings.Contains(c.Message, "VSS (") {
		t.Errorf("msiserver disabled: %+v", c)
	}
}

func TestProxyLiveRegistry(t *testing.T) {
	inWine(t)
	conn := `HKLM\` + regInternetConnections
	env := `HKLM\` + regMachineEnvironment
	t.Cleanup(func() {
		exec.Command("reg", "delete", conn, "/v", regWinHTTPValue, "/f").Run()
		exec.Command("reg", "delete", env, "/v", "https_proxy", "/f").Run()
	})
	exec.Command("reg", "delete", conn, "/v", regWinHTTPValue, "/f").Run()
	if c := networkProxyProbe(context.Background(), liveWinTarget()); c.Status != StatusPass || !strings.Contains(c.Message, "connects directly") {
		t.Errorf("no proxy: %+v", c)
	}
	reg(t, "add", conn, "/v", regWinHTTPValue, "/t", "REG_BINARY", "/d", hex.EncodeToString(winHTTPBlobW(3, "web.corp:3128", "<local>")), "/f")
	if c := networkProxyProbe(context.Background(), liveWinTarget()); c.Status != StatusPass || !strings.Contains(c.Message, "WinHttpSettings=http://web.corp:3128") {
		t.Errorf("WinHTTP proxy: %+v", c)
	}
	reg(t, "add", env, "/v", "https_proxy", "/t", "REG_SZ", "/d", "http://bob:"+winSecret+"@web.corp:3128", "/f")
	c := networkProxyProbe(context.Background(), liveWinTarget())
	if c.Status != StatusFail || !strings.Contains(c.Message, "https_proxy=http://bob:****@web.corp:3128") || strings.Contains(c.Message+c.Fix, winSecret) {
		t.Errorf("credentials in the machine environment: %+v", c)
	}
}

const winSecret = "W1ne-S3cret"

// winHTTPBlobW is the WinHttpSettings layout netsh writes.
func winHTTPBlobW(flags uint32, proxy, bypass string) []byte {
	le := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	b := append(le(0x28), le(1)...)
	b = append(b, le(flags)...)
	b = append(append(b, le(uint32(len(proxy)))...), proxy...)
	return append(append(b, le(uint32(len(bypass)))...), bypass...)
}

// TestBackupExtensionLiveWindows writes a status file where the Windows
// extension keeps it on the system drive and reads it through the live
// root C:\.
func TestBackupExtensionLiveWindows(t *testing.T) {
	inWine(t)
	dir := filepath.Join(`C:\Packages\Plugins`, "Microsoft.Azure.RecoveryServices.VMSnapshot", "1.0.0.1", "Status")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(`C:\Packages`) })
	ts := time.Now().Add(-90 * time.Minute).UTC().Format(time.RFC3339)
	body := `[{"version":1.0,"timestampUTC":"` + ts + `","status":{"name":"VMSnapshot","operation":"Enable","status":"warning","code":0,"formattedMessage":{"lang":"en-US","message":"Snapshot taken: some VSS writers were in bad state"}}}]`
	if err := os.WriteFile(filepath.Join(dir, "5.status"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	c := backupExtensionProbe(context.Background(), liveWinTarget())
	if c.Status != StatusWarn || !strings.Contains(c.Message, "some VSS writers were in bad state") || !strings.Contains(c.Message, "1h30m0s ago") {
		t.Errorf("%+v", c)
	}
}
