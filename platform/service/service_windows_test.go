package service

import (
	"errors"
	"testing"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// listServices lists the installed services with the rights a normal user
// has (mgr.Connect asks for full access, which needs Administrator).
func listServices(t *testing.T) []string {
	t.Helper()
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		t.Fatalf("open service control manager: %v", err)
	}
	m := &mgr.Mgr{Handle: h}
	defer m.Disconnect()
	names, err := m.ListServices()
	if err != nil {
		t.Fatalf("list services: %v", err)
	}
	return names
}

// TestWindowsReal queries real services of the machine (or Wine prefix).
func TestWindowsReal(t *testing.T) {
	names := listServices(t)
	if len(names) == 0 {
		t.Fatal("no services listed")
	}
	queried := 0
	for _, name := range names {
		st, err := Windows(name)
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			t.Logf("%s: %v", name, err) // some services deny query rights to users
			continue
		}
		if err != nil {
			t.Errorf("Windows(%q): %v", name, err)
			continue
		}
		queried++
		if !st.Installed || st.Running == nil || st.StartType == "" || st.Detail == "" {
			t.Errorf("Windows(%q) = %+v: want installed with start type, running and detail", name, st)
		}
		if st.Enabled != (st.StartType == "auto" || st.StartType == "delayed-auto" || st.StartType == "boot" || st.StartType == "system") {
			t.Errorf("Windows(%q): Enabled %v disagrees with StartType %q", name, st.Enabled, st.StartType)
		}
		if *st.Running != (st.Detail == "running") {
			t.Errorf("Windows(%q): Running %v disagrees with Detail %q", name, *st.Running, st.Detail)
		}
		t.Logf("%s: %s, %s", name, st.StartType, st.Detail)
	}
	if queried == 0 {
		t.Fatalf("none of %d services could be queried", len(names))
	}
}

func TestWindowsMissing(t *testing.T) {
	tests := []struct {
		desc string
		name string
	}{
		{desc: "made-up name", name: "agentkeeper-no-such-service-7f3a"},
		{desc: "agent service name with a typo", name: "WindowsAzureGuestAgentX"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			st, err := Windows(tc.name)
			if err != nil {
				t.Fatalf("Windows(%q): %v", tc.name, err)
			}
			if st.Installed || st.Enabled || st.Running != nil {
				t.Errorf("Windows(%q) = %+v, want not installed", tc.name, st)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		desc    string
		start   uint32
		delayed bool
		want    string
	}{
		{desc: "automatic", start: windows.SERVICE_AUTO_START, want: "auto"},
		{desc: "automatic delayed", start: windows.SERVICE_AUTO_START, delayed: true, want: "delayed-auto"},
		{desc: "manual", start: windows.SERVICE_DEMAND_START, want: "manual"},
		{desc: "disabled", start: windows.SERVICE_DISABLED, want: "disabled"},
		{desc: "unknown", start: 99, want: "start-type-99"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := startTypeName(tc.start, tc.delayed); got != tc.want {
				t.Errorf("startTypeName(%d, %v) = %q, want %q", tc.start, tc.delayed, got, tc.want)
			}
		})
	}
	if got := stateName(svc.Running); got != "running" {
		t.Errorf("stateName(Running) = %q", got)
	}
}
