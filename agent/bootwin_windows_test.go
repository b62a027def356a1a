//go:build windows

package agent

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// regSet writes a DWORD with the real reg.exe (under Wine: Wine's), and
// restores the value as it was when the test ends.
func regSet(t *testing.T, path, name string, v int) {
	t.Helper()
	old, err := registry.Live.Uint(path, name)
	had := err == nil
	if err != nil && !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("read HKLM\\%s %s: %v", path, name, err)
	}
	reg(t, "add", `HKLM\`+path, "/v", name, "/t", "REG_DWORD", "/d", strconv.Itoa(v), "/f")
	t.Cleanup(func() {
		if had {
			reg(t, "add", `HKLM\`+path, "/v", name, "/t", "REG_DWORD", "/d", strconv.FormatUint(old, 10), "/f")
		} else {
			reg(t, "delete", `HKLM\`+path, "/v", name, "/f")
		}
	})
}

// TestWindowsBootProbesLiveRegistry sets the values with reg.exe and reads
// them back through registry.Live, the reader Inspect uses on Windows.
func TestWindowsBootProbesLiveRegistry(t *testing.T) {
	tg := &Target{Live: true, OS: osinfo.Info{Family: FamilyWindows}, Registry: registry.Live, Report: &Report{}}
	for _, tc := range []struct {
		desc       string
		path, name string
		value      int
		probe      func(context.Context, *Target) Check
		status     Status
		msg        string
	}{
		{"SanPolicy OnlineAll", regPartmgr, "SanPolicy", 1, bootSanPolicyProbe, StatusPass, "OnlineAll"},
		{"SanPolicy OfflineAll", regPartmgr, "SanPolicy", 3, bootSanPolicyProbe, StatusWarn, "3 (OfflineAll)"},
		{"storvsc boot start", regStorvsc, "Start", 0, bootStorvscProbe, StatusPass, "Start = 0"},
		{"storvsc demand start", regStorvsc, "Start", 3, bootStorvscProbe, StatusFail, "starts manual (Start = 3)"},
		{"RDP enabled", regTerminal, "fDenyTSConnections", 0, networkRDPProbe, StatusPass, "enabled"},
		{"RDP disabled", regTerminal, "fDenyTSConnections", 1, networkRDPProbe, StatusWarn, "disabled"},
		{"DHCP client automatic", regDhcp, "Start", 2, networkDHCPProbe, StatusPass, "automatically"},
		{"DHCP client disabled", regDhcp, "Start", 4, networkDHCPProbe, StatusFail, "starts disabled (Start = 4)"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			regSet(t, tc.path, tc.name, tc.value)
			c := tc.probe(context.Background(), tg)
			if c.Status != tc.status || !strings.Contains(c.Message, tc.msg) {
				t.Errorf("%s: %s (fix %s); want %s ~%q", c.Status, c.Message, c.Fix, tc.status, tc.msg)
			}
			if c.Status != StatusPass && !strings.Contains(c.Fix, `reg add "HKLM\`+tc.path+`" /v `+tc.name) {
				t.Errorf("fix %q does not set %s", c.Fix, tc.name)
			}
		})
	}
}
