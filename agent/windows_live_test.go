//go:build !windows

// Runs wherever inspect_test.go does (its helpers); the live Windows path
// itself is faked through the Options hooks.

package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/filever"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/proc"
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// liveWindows makes Options for a running Windows played by a temporary
// tree (Live) with the registry, the service manager and file versions
// faked, so the live Windows path runs on any OS.
func liveWindows(reg registry.Fake, versions map[string]string, services map[string]service.State) func(*Options) {
	return func(o *Options) {
		o.Live, o.NoNetwork = true, true
		if _, ok := reg[`SOFTWARE\Microsoft\Windows NT\CurrentVersion`]; !ok {
			reg[`SOFTWARE\Microsoft\Windows NT\CurrentVersion`] = map[string]any{"ProductName": "Windows Server 2022 Datacenter",
				"InstallationType": "Server", "CurrentBuildNumber": "20348", "CurrentMajorVersionNumber": uint64(10), "CurrentMinorVersionNumber": uint64(0)}
		}
		o.Registry = reg
		o.Processes = func() ([]proc.Process, error) { return nil, nil }
		o.OnAzure = func(fsroot.Root) (bool, error) { return false, nil }
		o.WinService = func(name string) (service.State, error) {
			if st, ok := services[name]; ok {
				return st, nil
			}
			return service.State{Detail: "service " + name + " does not exist"}, nil
		}
		o.FileVersion = func(p string) (filever.Info, error) {
			for suffix, v := range versions {
				if strings.HasSuffix(strings.ToLower(p), strings.ToLower(suffix)) {
					return filever.Info{ProductVersion: v, ProductVersionString: v}, nil
				}
			}
			return filever.Info{}, fmt.Errorf("%s: %w", p, os.ErrNotExist)
		}
	}
}

var agentServices = map[string]service.State{
	WindowsRdAgent: {Installed: true, Enabled: true, Running: boolp(true), StartType: "auto"},
	WindowsService: {Installed: true, Enabled: true, Running: boolp(true), StartType: "delayed-auto"},
}

// The registry is the last fallback for the agent's version, live only:
// after WaAppAgent.exe's product version and the newest GuestAgent_* folder.
func TestWindowsAgentVersionRegistryFallback(t *testing.T) {
	layout := map[string]string{"Windows/System32/": "", "WindowsAzure/": ""}
	guest := func(v any) registry.Fake { return registry.Fake{regGuestKey: {regGuestValue: v}} }
	tests := []struct {
		desc      string
		files     map[string]string
		reg       registry.Fake
		live      bool
		installed Status
		version   Status
		msg       string // in agent.version's (or agent.installed's) message
		source    string
		want      string // rep.Agent.Version
	}{
		{desc: "registry with a build suffix", files: layout, reg: guest("2.7.41491.1102 (rd_art_stable.210702-1023)"), live: true,
			installed: StatusPass, version: StatusPass, msg: `registry HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest\GuestAgentVersion`,
			source: "registry", want: "2.7.41491.1102"},
		{desc: "registry older than the minimum", files: layout, reg: guest("2.6.1198.700"), live: true,
			installed: StatusPass, version: StatusFail, msg: "older than the minimum", source: "registry", want: "2.6.1198.700"},
		{desc: "registry value that is no version", files: layout, reg: guest("unknown"), live: true,
			installed: StatusPass, version: StatusFail, msg: "is not a version", source: "registry"},
		{desc: "registry value of another type", files: layout, reg: guest([]byte{1, 2}), live: true,
			installed: StatusFail, version: StatusSkip, msg: "WaAppAgent.exe"},
		{desc: "no registry value", files: layout, reg: registry.Fake{}, live: true,
			installed: StatusFail, version: StatusSkip, msg: "WaAppAgent.exe"},
		{desc: "offline image: the registry is not read", files: layout, reg: guest("2.7.41491.1102"), live: false,
			installed: StatusFail, version: StatusSkip, msg: "WaAppAgent.exe"},
		{desc: "GuestAgent folder before the registry", files: map[string]string{"Windows/System32/": "", "WindowsAzure/GuestAgent_2.7.41491.1010/": ""},
			reg: guest("2.6.1198.700"), live: true, installed: StatusPass, version: StatusPass, msg: "GuestAgent_", source: "guestagent-folder", want: "2.7.41491.1010"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := inspectTree(t, tc.files, func(o *Options) {
				liveWindows(tc.reg, nil, agentServices)(o)
				o.Live = tc.live
			})
			c := wantCheck(t, r, IDAgentInstalled, tc.installed, "")
			v := wantCheck(t, r, IDAgentVersion, tc.version, "")
			if !strings.Contains(c.Message+" "+v.Message, tc.msg) {
				t.Errorf("installed %q / version %q do not mention %q", c.Message, v.Message, tc.msg)
			}
			if r.Agent.VersionSource != tc.source || r.Agent.Version != tc.want {
				t.Errorf("version_source %q version %q, want %q %q", r.Agent.VersionSource, r.Agent.Version, tc.source, tc.want)
			}
		})
	}
}

// Live, WaAppAgent.exe's version comes from the version API (the FileVersion
// hook), and both agent services must run and start automatically.
func TestWindowsLiveFileVersionAndServices(t *testing.T) {
	files := map[string]string{"Windows/System32/": "", "WindowsAzure/Packages/WaAppAgent.exe": "MZ"}
	versions := map[string]string{"WaAppAgent.exe": "2.7.41491.1010"}
	r := inspectTree(t, files, liveWindows(registry.Fake{}, versions, agentServices))
	wantCheck(t, r, IDAgentVersion, StatusPass, "product version of")
	wantCheck(t, r, IDAgentService, StatusPass, "RdAgent and WindowsAzureGuestAgent")
	if r.OS.Family != "windows" || r.OS.Name != "Windows Server 2022 Datacenter" || r.OS.Version != "10.0.20348" {
		t.Errorf("os %+v, want Server 2022 10.0.20348 from the registry", r.OS)
	}
	if r.Agent.VersionSource != "file" || r.Agent.ServiceRunning == nil || !*r.Agent.ServiceRunning {
		t.Errorf("agent %+v", r.Agent)
	}
	for _, tc := range []struct {
		desc string
		svc  map[string]service.State
		msg  string
	}{
		{"RdAgent stopped", map[string]service.State{WindowsRdAgent: {Installed: true, Running: boolp(false), StartType: "auto", Detail: "stopped"},
			WindowsService: agentServices[WindowsService]}, "RdAgent is stopped"},
		{"guest agent manual", map[string]service.State{WindowsRdAgent: agentServices[WindowsRdAgent],
			WindowsService: {Installed: true, Running: boolp(true), StartType: "manual"}}, "starts manual"},
		{"guest agent missing", map[string]service.State{WindowsRdAgent: agentServices[WindowsRdAgent]}, "WindowsAzureGuestAgent is not installed"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := inspectTree(t, files, liveWindows(registry.Fake{}, versions, tc.svc))
			wantCheck(t, r, IDAgentService, StatusFail, tc.msg)
			if r.Ready {
				t.Error("ready with an agent service down")
			}
		})
	}
	t.Run("service manager fails", func(t *testing.T) {
		r := inspectTree(t, files, func(o *Options) {
			liveWindows(registry.Fake{}, versions, agentServices)(o)
			o.WinService = func(string) (service.State, error) { return service.State{}, errors.New("access denied") }
		})
		wantCheck(t, r, IDAgentService, StatusFail, "access denied")
	})
}

// backup.notes is in the JSON even when there is nothing to note (README
// lists it), as an empty list, like backup.evidence.
func TestBackupNotesInJSON(t *testing.T) {
	r := inspectTree(t, map[string]string{"Windows/System32/": ""}, nil)
	var b strings.Builder
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Backup map[string]json.RawMessage `json:"backup"`
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	if n, ok := got.Backup["notes"]; !ok || string(n) != "[]" {
		t.Errorf("backup.notes = %s (present %v), want []", n, ok)
	}
	if e := got.Backup["evidence"]; string(e) != "[]" {
		t.Errorf("backup.evidence = %s, want []", e)
	}
}
