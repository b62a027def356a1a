package osinfo

import (
	"encoding/binary"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// smbiosStruct builds one SMBIOS structure: type, formatted fields after
// the 4-byte header, and its strings.
func smbiosStruct(typ byte, handle uint16, fields []byte, strs ...string) []byte {
	b := []byte{typ, byte(4 + len(fields)), byte(handle), byte(handle >> 8)}
	b = append(b, fields...)
	if len(strs) == 0 {
		return append(b, 0, 0)
	}
	for _, s := range strs {
		b = append(append(b, s...), 0)
	}
	return append(b, 0)
}

// chassis builds a type 3 structure (SMBIOS 2.1 layout, 0x0D bytes) whose
// asset tag is string number assetIdx.
func chassis(assetIdx byte, strs ...string) []byte {
	// Fields from offset 4: manufacturer, type, version, serial, asset tag,
	// boot-up state, power supply state, thermal state, security status.
	return smbiosStruct(3, 0x0300, []byte{1, 0x03, 2, 3, assetIdx, 3, 3, 3, 2}, strs...)
}

func bios() []byte {
	return smbiosStruct(0, 0, []byte{1, 2, 0x00, 0xF0, 3, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0},
		"American Megatrends Inc.", "090008", "12/07/2018")
}

func system() []byte {
	return smbiosStruct(1, 1, make([]byte, 0x1B-4), "Microsoft Corporation", "Virtual Machine", "7.0")
}

func end() []byte { return smbiosStruct(127, 0xFEFF, nil) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// hyperVChassis is the chassis an Azure VM reports.
func hyperVChassis() []byte {
	return chassis(5, "Microsoft Corporation", "7.0", "1234-5678-9012-3456-7890-12", "7783-7084-3265-9085-8269-3286-00", azureChassisAssetTag)
}

func TestParseSMBIOSChassisAssetTag(t *testing.T) {
	tests := []struct {
		desc    string
		table   []byte
		want    string
		wantErr string
		errIs   error
	}{
		{desc: "Azure VM", table: cat(bios(), system(), hyperVChassis(), end()), want: azureChassisAssetTag},
		{desc: "asset tag is the first string", table: cat(chassis(1, "TAG-1"), end()), want: "TAG-1"},
		{desc: "no end-of-table structure", table: cat(bios(), chassis(2, "Dell Inc.", "ABC123")), want: "ABC123"},
		{desc: "no asset tag (index 0)", table: cat(bios(), chassis(0, "Dell Inc."), end()), want: ""},
		{desc: "structure without strings before chassis", table: cat(smbiosStruct(32, 9, []byte{0, 0, 0, 0, 0, 0, 0}), chassis(1, "X"), end()), want: "X"},
		{desc: "first chassis wins", table: cat(chassis(1, "first"), chassis(1, "second")), want: "first"},
		{desc: "padded asset tag returned as is", table: cat(chassis(1, "  No Asset Tag  ")), want: "  No Asset Tag  "},
		{desc: "minimal SMBIOS 2.0 chassis (length 9)", table: cat(smbiosStruct(3, 1, []byte{1, 3, 0, 0, 1}, "A"), end()), want: "A"},

		{desc: "empty table", table: nil, errIs: errNoChassis},
		{desc: "no chassis", table: cat(bios(), system(), end()), errIs: errNoChassis},
		{desc: "chassis after end-of-table ignored", table: cat(bios(), end(), chassis(1, "late")), errIs: errNoChassis},
		{desc: "truncated header", table: cat(bios(), []byte{3, 0x0D}), wantErr: "truncated header"},
		{desc: "length below header size", table: []byte{3, 2, 0, 0, 0, 0}, wantErr: "shorter than its header"},
		{desc: "length past the end", table: []byte{3, 0x40, 0, 0, 1, 2, 3}, wantErr: "runs past the end"},
		{desc: "string set not terminated", table: chassis(1, "abc")[:len(chassis(1, "abc"))-1], wantErr: "string set runs past the end"},
		{desc: "string without NUL", table: chassis(1, "abc")[:len(chassis(1, "abc"))-2], wantErr: "string set runs past the end"},
		{desc: "no string set at all", table: smbiosStruct(3, 1, []byte{1, 3, 0, 0, 1, 3, 3, 3, 2})[:13], wantErr: "string set runs past the end"},
		{desc: "asset tag index past the strings", table: cat(chassis(4, "a", "b"), end()), wantErr: "string 4 but the structure has 2 strings"},
		{desc: "asset tag index with no strings", table: cat(chassis(1), end()), wantErr: "string 1 but the structure has 0 strings"},
		{desc: "chassis too short for an asset tag", table: cat(smbiosStruct(3, 1, []byte{1, 3, 0, 0}, "A"), end()), wantErr: "no asset tag field"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := parseSMBIOSChassisAssetTag(tt.table)
			switch {
			case tt.errIs != nil:
				if !errors.Is(err, tt.errIs) {
					t.Fatalf("parse = %q, %v; want %v", got, err, tt.errIs)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parse = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if got != tt.want {
					t.Errorf("parse = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func rawSMBIOS(table []byte, declared uint32) []byte {
	b := []byte{0, 3, 4, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[4:], declared)
	return append(b, table...)
}

func TestParseRawSMBIOSData(t *testing.T) {
	table := cat(bios(), hyperVChassis(), end())
	tests := []struct {
		desc    string
		in      []byte
		want    []byte
		wantErr string
	}{
		{desc: "exact", in: rawSMBIOS(table, uint32(len(table))), want: table},
		{desc: "trailing bytes ignored", in: append(rawSMBIOS(table, uint32(len(table))), 0xAA, 0xBB), want: table},
		{desc: "empty table", in: rawSMBIOS(nil, 0), want: []byte{}},
		{desc: "short header", in: []byte{0, 3, 4}, wantErr: "shorter than its 8-byte header"},
		{desc: "length past the end", in: rawSMBIOS(table, uint32(len(table)+1)), wantErr: "only"},
		{desc: "huge length", in: rawSMBIOS(table, 0xFFFFFFFF), wantErr: "only"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := parseRawSMBIOSData(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseRawSMBIOSData = %d bytes, %v; want error containing %q", len(got), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
		})
	}
}

func TestOnAzureLinux(t *testing.T) {
	tests := []struct {
		desc    string
		tag     *string // nil: no file
		dir     bool    // the path is a directory
		want    bool
		wantErr string
	}{
		{desc: "Azure tag with newline", tag: ptr(azureChassisAssetTag + "\n"), want: true},
		{desc: "Azure tag without newline", tag: ptr(azureChassisAssetTag), want: true},
		{desc: "other tag", tag: ptr("No Asset Tag\n")},
		{desc: "empty tag", tag: ptr("\n")},
		{desc: "Azure tag as a prefix only", tag: ptr(azureChassisAssetTag + "-0\n")},
		{desc: "no file (not a DMI system)", tag: nil},
		{desc: "directory instead of file", dir: true, wantErr: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			switch {
			case tt.dir:
				mkdir(t, dir, pathChassisAssetTag)
			case tt.tag != nil:
				writeFile(t, dir, pathChassisAssetTag, []byte(*tt.tag))
			default:
				mkdir(t, dir, "sys/class/dmi/id")
			}
			got, err := onAzureLinux(fsroot.New(dir))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "chassis_asset_tag") {
					t.Fatalf("onAzureLinux = %v, %v; want error containing %q and the file", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("onAzureLinux = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestOnAzureOfflineRootIsFalse(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, pathChassisAssetTag, []byte(azureChassisAssetTag+"\n"))
	got, err := OnAzure(fsroot.New(dir))
	if err != nil || got {
		t.Errorf("OnAzure(offline root with Azure tag) = %v, %v; want false, nil", got, err)
	}
}

func TestOnAzureHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the host's /sys/class/dmi")
	}
	got, err := OnAzure(fsroot.New("/"))
	if err != nil {
		t.Fatalf("OnAzure(/): %v", err)
	}
	data, rerr := os.ReadFile(pathChassisAssetTag)
	want := rerr == nil && strings.TrimSpace(string(data)) == azureChassisAssetTag
	if got != want {
		t.Errorf("OnAzure(/) = %v, host tag file says %v", got, want)
	}
}

func ptr(s string) *string { return &s }
