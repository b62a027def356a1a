package pkgmgr

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

const packagesFile = `Package: wabt
Version: 1.0.32-1
Architecture: amd64
Description: WebAssembly Binary Toolkit
 continued

Package: waagent
Source: walinuxagent
Version: 2.7.3.0-4.1
Installed-Size: 1264
Architecture: all
Description: Windows Azure Linux Agent
 The Windows Azure Linux Agent ...

Package: waagent
Version: 2.9.1.1-1~bpo12+1
Architecture: all
`

func TestParseAptPackages(t *testing.T) {
	tests := []struct {
		desc    string
		data    string
		pkg     string
		want    []string
		wantErr string
	}{
		{desc: "two stanzas of the package", data: packagesFile, pkg: "waagent", want: []string{"2.7.3.0-4.1", "2.9.1.1-1~bpo12+1"}},
		{desc: "other package", data: packagesFile, pkg: "wabt", want: []string{"1.0.32-1"}},
		{desc: "absent", data: packagesFile, pkg: "walinuxagent", want: nil},
		{desc: "CRLF and no final newline", data: "Package: waagent\r\nVersion: 2.2.45-1\r", pkg: "waagent", want: []string{"2.2.45-1"}},
		{desc: "a version with spaces is not one", data: "Package: waagent\nVersion: 2 2\n", pkg: "waagent", want: nil},
		{desc: "empty", data: "", pkg: "waagent", want: nil},
		{desc: "binary", data: "Package: waagent\x00\n", pkg: "waagent", wantErr: "NUL"},
		{desc: "not deb822", data: "hello world\n", pkg: "waagent", wantErr: "Field: value"},
		{desc: "continuation first", data: " x\n", pkg: "waagent", wantErr: "continuation"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseAptPackages(strings.NewReader(tt.data), tt.pkg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("= %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestAptOffered(t *testing.T) {
	dir := t.TempDir()
	root := fsroot.New(dir)
	if _, err := AptOffered(root, "waagent"); !errors.Is(err, ErrNoLists) {
		t.Errorf("no lists folder: %v, want ErrNoLists", err)
	}
	lists := filepath.Join(dir, "var/lib/apt/lists")
	if err := os.MkdirAll(filepath.Join(lists, "partial"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lists, "lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AptOffered(root, "waagent"); !errors.Is(err, ErrNoLists) {
		t.Errorf("empty lists folder: %v, want ErrNoLists", err)
	}
	for name, data := range map[string]string{
		"deb.example_debian_dists_bookworm_main_binary-amd64_Packages": packagesFile,
		"deb.example_debian_dists_bookworm_main_binary-i386_Packages":  "Package: waagent\nVersion: 2.7.3.0-4.1\n",
		"deb.example_debian_dists_bookworm_InRelease":                  "Package: waagent\nVersion: 9.9\n",
	} {
		if err := os.WriteFile(filepath.Join(lists, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := AptOffered(root, "waagent")
	if err != nil || got.Lists != 2 || !slices.Equal(got.Versions, []string{"2.7.3.0-4.1", "2.9.1.1-1~bpo12+1"}) {
		t.Errorf("AptOffered = %+v, %v; want 2 lists, 2.7.3.0-4.1 and 2.9.1.1-1~bpo12+1 once each", got, err)
	}
	if _, err := AptOffered(root, "-o"); err == nil {
		t.Error("an option as package name was accepted")
	}
}

func FuzzParseAptPackages(f *testing.F) {
	f.Add([]byte(packagesFile))
	f.Add([]byte("Package: waagent\nVersion: 1\n\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := ParseAptPackages(strings.NewReader(string(b)), "waagent")
		if err != nil && vs != nil {
			t.Errorf("versions %q with error %v", vs, err)
		}
		for _, v := range vs {
			if !validVersion(v) {
				t.Errorf("invalid version %q returned", v)
			}
		}
	})
}
