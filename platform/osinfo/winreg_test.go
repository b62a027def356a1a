package osinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// The running Windows' version through a registry.Reader: what Detect reads
// through registry.Live on Windows, read here from a registry.Fake.
func TestWindowsFromRegistry(t *testing.T) {
	cv := `SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	tests := []struct {
		desc    string
		reg     registry.Fake
		version string
		server  bool
		err     string
	}{
		{desc: "Server 2022", reg: registry.Fake{
			cv: {"ProductName": "Windows Server 2022 Datacenter", "InstallationType": "Server", "CurrentBuildNumber": "20348",
				"CurrentVersion": "6.3", "CurrentMajorVersionNumber": uint64(10), "CurrentMinorVersionNumber": uint64(0)},
			`SYSTEM\CurrentControlSet\Control\ProductOptions`: {"ProductType": "ServerNT"}},
			version: "10.0.20348", server: true},
		{desc: "no major/minor values: CurrentVersion", reg: registry.Fake{
			cv: {"ProductName": "Windows Server 2012 R2 Standard", "InstallationType": "Server", "CurrentBuildNumber": "9600", "CurrentVersion": "6.3"}},
			version: "6.3.9600", server: true},
		{desc: "CurrentBuild when CurrentBuildNumber is missing", reg: registry.Fake{
			cv: {"ProductName": "Windows 10 Enterprise", "InstallationType": "Client", "CurrentBuild": "19045",
				"CurrentMajorVersionNumber": uint64(10), "CurrentMinorVersionNumber": uint64(0)}},
			version: "10.0.19045"},
		{desc: "no CurrentVersion key", reg: registry.Fake{}, err: "open registry key"},
		{desc: "no build", reg: registry.Fake{cv: {"ProductName": "Windows"}}, err: "no CurrentBuildNumber"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			info, err := WindowsFromRegistry(tc.reg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Family != FamilyWindows || info.VersionID != tc.version || info.Server != tc.server {
				t.Errorf("info %+v, want windows %s server %v", info, tc.version, tc.server)
			}
		})
	}
}

// DetectLive reads a live Windows from the registry it is given, and an
// image (not live) from its layout, never from that registry.
func TestDetectLiveWindowsFromReader(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Windows", "System32"), 0o755); err != nil {
		t.Fatal(err)
	}
	reg := registry.Fake{`SOFTWARE\Microsoft\Windows NT\CurrentVersion`: {"ProductName": "Windows Server 2019 Datacenter",
		"InstallationType": "Server", "CurrentBuildNumber": "17763", "CurrentMajorVersionNumber": uint64(10), "CurrentMinorVersionNumber": uint64(0)}}
	live, err := DetectLive(fsroot.New(dir), true, reg)
	if err != nil || live.Name != "Windows Server 2019 Datacenter" || live.VersionID != "10.0.17763" {
		t.Errorf("live: %+v, %v", live, err)
	}
	image, err := DetectLive(fsroot.New(dir), false, reg)
	if err != nil || image.Name != "Windows (offline image)" {
		t.Errorf("image: %+v, %v", image, err)
	}
}
