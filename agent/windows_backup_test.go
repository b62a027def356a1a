package agent

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

func winTarget(t *testing.T, reg registry.Reader, svc func(string) (service.State, error)) *Target {
	return &Target{Root: fsroot.New(t.TempDir()), Live: true, OS: osinfo.Info{Family: FamilyWindows}, Report: &Report{},
		Registry: reg, WinService: svc}
}

func TestWindowsDotNetProbe(t *testing.T) {
	tests := []struct {
		desc   string
		reg    registry.Fake
		status Status
		want   string
	}{
		{"4.8", registry.Fake{regDotNet4: {"Install": 1, "Release": 528449}}, StatusPass, ".NET Framework 4.8 (Release 528449"},
		{"4.8.1", registry.Fake{regDotNet4: {"Install": 1, "Release": 533320}}, StatusPass, "4.8.1"},
		{"4.0 without Release", registry.Fake{regDotNet4: {"Install": 1}}, StatusPass, ".NET Framework 4.0"},
		{"4.6.2", registry.Fake{regDotNet4: {"Install": 1, "Release": 394806}}, StatusPass, "4.6.2"},
		{"missing", registry.Fake{`SOFTWARE\Microsoft\NET Framework Setup\NDP\v3.5`: {"Install": 1}}, StatusFail, "not installed"},
		{"Install 0", registry.Fake{regDotNet4: {"Install": 0, "Release": 528040}}, StatusFail, "Install = 0"},
		{"Install not a number", registry.Fake{regDotNet4: {"Install": "yes"}}, StatusFail, "cannot read"},
	}
	for _, tc := range tests {
		c := windowsDotNetProbe(context.Background(), winTarget(t, tc.reg, nil))
		if c.Status != tc.status || !strings.Contains(c.Message, tc.want) || c.Status == StatusFail && c.Fix == "" {
			t.Errorf("%s: %+v, want %s mentioning %q", tc.desc, c, tc.status, tc.want)
		}
	}
}

func running(b bool) func(string) (service.State, error) {
	return func(name string) (service.State, error) {
		d := "stopped"
		if b {
			d = "running"
		}
		return service.State{Installed: true, Running: &b, Detail: d, StartType: "auto", Enabled: true}, nil
	}
}

func TestWindowsServicesProbe(t *testing.T) {
	svcKey := func(name string) string { return `SYSTEM\CurrentControlSet\Services\` + name }
	all := func(vss uint64) registry.Fake {
		return registry.Fake{svcKey("VSS"): {"Start": vss}, svcKey("COMSysApp"): {"Start": 3}, svcKey("MSDTC"): {"Start": 2}, svcKey("msiserver"): {"Start": 3}}
	}
	tests := []struct {
		desc   string
		reg    registry.Fake
		svc    func(string) (service.State, error)
		status Status
		want   string
	}{
		{"all as Windows ships them", all(3), running(true), StatusPass, "VSS, COMSysApp, MSDTC, msiserver are not disabled; Winmgmt is running"},
		{"VSS disabled", all(4), running(true), StatusFail, "VSS (Volume Shadow Copy) is disabled (Start=4): the backup fails with ExtensionFailedVssServiceInBadState"},
		{"msiserver disabled", func() registry.Fake { f := all(3); f[svcKey("msiserver")]["Start"] = 4; return f }(), running(true), StatusFail,
			"ExtensionVCRedistInstallationFailure"},
		{"MSDTC missing", func() registry.Fake { f := all(3); delete(f, svcKey("MSDTC")); return f }(), running(true), StatusFail,
			"MSDTC (Distributed Transaction Coordinator) is not installed: the backup fails with ExtensionInstallationFailedMDTC"},
		{"Winmgmt stopped", all(3), running(false), StatusFail, "Winmgmt (Windows Management Instrumentation) is stopped"},
		{"service manager error", all(3), func(string) (service.State, error) { return service.State{}, errors.New("access denied") }, StatusFail, "access denied"},
	}
	for _, tc := range tests {
		c := windowsServicesProbe(context.Background(), winTarget(t, tc.reg, tc.svc))
		if c.Status != tc.status || !strings.Contains(c.Message, tc.want) || c.Status == StatusFail && c.Fix == "" {
			t.Errorf("%s: %+v, want %s mentioning %q", tc.desc, c, tc.status, tc.want)
		}
	}
}

func TestDotNetVersion(t *testing.T) {
	for rel, want := range map[uint64]string{0: "4.0", 378389: "4.5", 378758: "4.5.1", 461814: "4.7.2", 528040: "4.8", 999999: "4.8.1"} {
		if got := DotNetVersion(rel); got != want {
			t.Errorf("DotNetVersion(%d) = %s, want %s", rel, got, want)
		}
	}
}

func TestBackupExtensionWindowsImage(t *testing.T) {
	dir := t.TempDir()
	agenttest.Tree(t, dir, map[string]string{
		// A Windows image read from a case-sensitive mount keeps Windows' spelling.
		"packages/plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.0.0/Status/0.status":     statusBody("success", "ok", "2026-11-01T00:00:00Z"),
		"Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.9.0/status/12.STATUS":    statusBody("error", "ExtensionFailedVssServiceInBadState: VSS is disabled", "2026-12-01T10:00:00Z"),
		"Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.9.0/status/notes.txt":    "x",
		"Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.9.0/status/2.status.bak": "x",
	})
	tg := &Target{Root: fsroot.New(dir), OS: osinfo.Info{Family: FamilyWindows}, Report: &Report{},
		Now: func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }}
	c := backupExtensionProbe(context.Background(), tg)
	if c.Status != StatusFail || !strings.Contains(c.Message, "ExtensionFailedVssServiceInBadState: VSS is disabled") ||
		!strings.Contains(c.Message, "2h0m0s ago") || !strings.Contains(c.Message, "12.STATUS") {
		t.Errorf("%+v", c)
	}
}

func statusBody(status, msg, ts string) string {
	return `[{"version":1.0,"timestampUTC":"` + ts + `","status":{"name":"VMSnapshot","operation":"Enable","status":"` + status +
		`","code":"12","formattedMessage":{"lang":"en-US","message":"` + msg + `"}}}]`
}
