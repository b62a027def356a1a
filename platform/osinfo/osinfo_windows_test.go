//go:build windows

package osinfo

import (
	"os"
	"strconv"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

func TestDetectLiveWindows(t *testing.T) {
	root := fsroot.New(os.Getenv("SystemDrive") + `\`)
	if !root.IsHost() {
		t.Fatalf("root %q is not the host", root.Dir)
	}
	got, err := Detect(root)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if got.Family != FamilyWindows || got.ID != "windows" || got.Name == "" {
		t.Errorf("Detect = %+v", got)
	}
	if _, err := strconv.Atoi(got.Build); err != nil {
		t.Errorf("Build = %q, want a number", got.Build)
	}
	if got.VersionID == "" || got.Source == "" {
		t.Errorf("Detect = %+v: no version or source", got)
	}
}

func TestOnAzureLiveWindows(t *testing.T) {
	// The answer depends on the machine; it must come without panicking, and
	// the firmware table, when readable, must parse.
	got, err := OnAzure(fsroot.New(`\`))
	t.Logf("OnAzure = %v, %v", got, err)
	raw, err := readRawSMBIOS()
	if err != nil {
		t.Skipf("no SMBIOS table here: %v", err)
	}
	table, err := parseRawSMBIOSData(raw)
	if err != nil {
		t.Fatalf("parseRawSMBIOSData: %v", err)
	}
	tag, err := parseSMBIOSChassisAssetTag(table)
	t.Logf("chassis asset tag %q, %v", tag, err)
}
