package osinfo

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

func symlink(t *testing.T, dir, rel, target string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		// Linux trees with symbolic links are read from Linux; Windows
		// links need privileges, and Wine's do not behave like Linux's.
		t.Skip("Linux-style symbolic links are not tested on Windows")
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(rel)), 0o755); err != nil {
		t.Fatal(err)
	}
}

func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

const alpineRelease = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n"

func TestDetectEdgeCases(t *testing.T) {
	garbage := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	highGarbage := bytes.Repeat([]byte{0x80, 0xC3, 0xFF, 0x9A, 0xE2, 0x28}, 200) // no NUL, not UTF-8

	tests := []struct {
		desc  string
		setup func(t *testing.T, dir string)
		// want is checked when wantErr is empty; Source is relative to the root.
		want    Info
		wantErr []string // substrings, "$ROOT" replaced by the root
		errIs   error
	}{
		{
			desc: "relative symlink to ../usr/lib/os-release",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "usr/lib/os-release", []byte(alpineRelease))
				symlink(t, dir, "etc/os-release", "../usr/lib/os-release")
			},
			want: Info{Family: "linux", ID: "alpine", VersionID: "3.19.1", Name: "Alpine Linux v3.19", Source: "etc/os-release"},
		},
		{
			desc: "absolute symlink resolves inside the root",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "usr/lib/os-release", []byte(alpineRelease))
				symlink(t, dir, "etc/os-release", "/usr/lib/os-release")
				// Prove the host's file (if any) is a different one.
				if host, err := os.ReadFile("/usr/lib/os-release"); err == nil && bytes.Equal(host, []byte(alpineRelease)) {
					t.Fatal("host os-release equals the test's: the test could not tell them apart")
				}
			},
			want: Info{Family: "linux", ID: "alpine", VersionID: "3.19.1", Name: "Alpine Linux v3.19", Source: "etc/os-release"},
		},
		{
			desc: "absolute symlink with .. cannot climb out of the root",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "usr/lib/os-release", []byte(alpineRelease))
				symlink(t, dir, "etc/os-release", "/../../../../usr/lib/os-release")
			},
			want: Info{Family: "linux", ID: "alpine", VersionID: "3.19.1", Name: "Alpine Linux v3.19", Source: "etc/os-release"},
		},
		{
			desc: "symlinked /etc directory",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "real/etc/os-release", []byte(alpineRelease))
				symlink(t, dir, "etc", "/real/etc")
			},
			want: Info{Family: "linux", ID: "alpine", VersionID: "3.19.1", Name: "Alpine Linux v3.19", Source: "etc/os-release"},
		},
		{
			desc: "fallback to /usr/lib/os-release",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir, "etc")
				writeFile(t, dir, "usr/lib/os-release", []byte(alpineRelease))
			},
			want: Info{Family: "linux", ID: "alpine", VersionID: "3.19.1", Name: "Alpine Linux v3.19", Source: "usr/lib/os-release"},
		},
		{
			desc: "/etc/os-release wins over /usr/lib/os-release",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", []byte("ID=ubuntu\nVERSION_ID=\"22.04\"\nNAME=Ubuntu\nVERSION=\"22.04 LTS\"\n"))
				writeFile(t, dir, "usr/lib/os-release", []byte(alpineRelease))
			},
			want: Info{Family: "linux", ID: "ubuntu", VersionID: "22.04", Name: "Ubuntu 22.04 LTS", Source: "etc/os-release"},
		},
		{
			desc: "broken symlink falls back to /usr/lib/os-release",
			setup: func(t *testing.T, dir string) {
				symlink(t, dir, "etc/os-release", "os-release.gone")
				writeFile(t, dir, "usr/lib/os-release", []byte(alpineRelease))
			},
			want: Info{Family: "linux", ID: "alpine", VersionID: "3.19.1", Name: "Alpine Linux v3.19", Source: "usr/lib/os-release"},
		},
		{
			desc: "ID is lowercased, NAME alone names it",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", []byte("ID=\"RHEL\"\nID_LIKE=\"Fedora\"\nNAME=RHEL\n"))
			},
			want: Info{Family: "linux", ID: "rhel", Like: []string{"fedora"}, Name: "RHEL", Source: "etc/os-release"},
		},
		{
			desc: "no names at all: Linux",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", []byte("ID=x\n"))
			},
			want: Info{Family: "linux", ID: "x", Name: "Linux", Source: "etc/os-release"},
		},
		{
			desc: "Latin-1 PRETTY_NAME tolerated",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", []byte("ID=debian\nPRETTY_NAME=\"D\xe9bian \xe0 la carte\"\n"))
			},
			want: Info{Family: "linux", ID: "debian", Name: "Débian à la carte", Source: "etc/os-release"},
		},
		{
			desc: "CRLF file",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", []byte("ID=ubuntu\r\nVERSION_ID=\"20.04\"\r\nPRETTY_NAME=\"Ubuntu 20.04\"\r\n"))
			},
			want: Info{Family: "linux", ID: "ubuntu", VersionID: "20.04", Name: "Ubuntu 20.04", Source: "etc/os-release"},
		},
		{
			desc: "Windows image",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir, "Windows/System32/config")
				mkdir(t, dir, "Program Files")
			},
			want: Info{Family: "windows", ID: "windows", Name: "Windows (offline image)", Source: "Windows/System32"},
		},
		{
			desc: "Windows image in mixed case",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir, "WINDOWS/system32")
			},
			want: Info{Family: "windows", ID: "windows", Name: "Windows (offline image)", Source: "WINDOWS/system32"},
		},
		{
			desc: "Windows wins over a stray os-release",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir, "windows/SYSTEM32")
				writeFile(t, dir, "etc/os-release", []byte(alpineRelease))
			},
			want: Info{Family: "windows", ID: "windows", Name: "Windows (offline image)", Source: "windows/SYSTEM32"},
		},
		{
			desc: "Windows folder without System32 is not Windows",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir, "Windows/Temp")
				writeFile(t, dir, "etc/os-release", []byte(alpineRelease))
			},
			want: Info{Family: "linux", ID: "alpine", VersionID: "3.19.1", Name: "Alpine Linux v3.19", Source: "etc/os-release"},
		},
		{
			desc: "System32 as a file is not Windows",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "Windows/System32", []byte("x"))
			},
			wantErr: []string{"no os-release", "$ROOT/etc/os-release does not exist", "$ROOT/usr/lib/os-release does not exist"},
		},

		{
			desc:    "empty root",
			setup:   func(t *testing.T, dir string) {},
			wantErr: []string{"no os-release", "$ROOT/etc/os-release does not exist", "$ROOT/usr/lib/os-release does not exist"},
		},
		{
			desc: "broken symlink and no fallback",
			setup: func(t *testing.T, dir string) {
				symlink(t, dir, "etc/os-release", "../usr/lib/os-release")
			},
			wantErr: []string{"$ROOT/etc/os-release is a broken symbolic link to ../usr/lib/os-release"},
		},
		{
			desc: "symlink loop",
			setup: func(t *testing.T, dir string) {
				symlink(t, dir, "etc/os-release", "os-release.2")
				symlink(t, dir, "etc/os-release.2", "/etc/os-release")
				writeFile(t, dir, "usr/lib/os-release", []byte(alpineRelease))
			},
			wantErr: []string{"etc/os-release", "too many levels of symbolic links"},
			errIs:   fsroot.ErrLinkLoop,
		},
		{
			desc: "directory where the file should be",
			setup: func(t *testing.T, dir string) {
				mkdir(t, dir, "etc/os-release")
			},
			wantErr: []string{"$ROOT/etc/os-release", "not a regular file"},
		},
		{
			desc: "empty file",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", nil)
			},
			wantErr: []string{"parse $ROOT/etc/os-release", "empty"},
		},
		{
			desc: "binary garbage",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", garbage)
			},
			wantErr: []string{"parse $ROOT/etc/os-release", "binary data"},
		},
		{
			desc: "binary garbage without NUL",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", highGarbage)
			},
			wantErr: []string{"parse $ROOT/etc/os-release", "not valid UTF-8"},
		},
		{
			desc: "UTF-16 with BOM",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", utf16LE(alpineRelease, true))
			},
			wantErr: []string{"parse $ROOT/etc/os-release", "UTF-16", "must be UTF-8"},
		},
		{
			desc: "UTF-16 without BOM",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", utf16LE(alpineRelease, false))
			},
			wantErr: []string{"parse $ROOT/etc/os-release", "UTF-16"},
		},
		{
			desc: "text that is not os-release",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", []byte("Welcome to Linux!\nHave a nice day.\n"))
			},
			wantErr: []string{"parse $ROOT/etc/os-release", "no KEY=VALUE"},
		},
		{
			desc: "a bit over the cap",
			setup: func(t *testing.T, dir string) {
				writeFile(t, dir, "etc/os-release", append([]byte(alpineRelease), bytes.Repeat([]byte("#"), fsroot.MaxSmallFile)...))
			},
			wantErr: []string{"$ROOT/etc/os-release", "too large"},
			errIs:   fsroot.ErrTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			got, err := Detect(fsroot.New(dir))
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Detect = %+v, want an error", got)
				}
				for _, w := range tt.wantErr {
					w = filepath.FromSlash(strings.ReplaceAll(w, "$ROOT", filepath.ToSlash(dir)))
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				if tt.errIs != nil && !errors.Is(err, tt.errIs) {
					t.Errorf("error %q is not %v", err, tt.errIs)
				}
				return
			}
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			want := tt.want
			want.Source = filepath.Join(dir, filepath.FromSlash(want.Source))
			if !equalInfo(got, want) {
				t.Errorf("Detect = %+v\nwant     %+v", got, want)
			}
		})
	}
}

func TestDetectHugeFileFast(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "etc/os-release", []byte(alpineRelease))
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil { // 50 MB, sparse
		t.Fatal(err)
	}
	f.Close()
	_, err = Detect(fsroot.New(dir))
	// The size in the message shows the file was refused by its size, before reading.
	if err == nil || !strings.Contains(err.Error(), "52428800 bytes") {
		t.Errorf("Detect error = %v: a 50 MB file must be refused by its size, not read", err)
	}
	if !errors.Is(err, fsroot.ErrTooLarge) || !strings.Contains(err.Error(), p) {
		t.Errorf("Detect error = %v, want ErrTooLarge naming %s", err, p)
	}
}

func TestDetectMissingRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not-mounted")
	_, err := Detect(fsroot.New(dir))
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("Detect(missing root) error = %v, want one naming %s", err, dir)
	}
}

func TestDetectHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the host's os-release")
	}
	if _, err := os.Stat("/etc/os-release"); err != nil {
		t.Skip("host has no /etc/os-release")
	}
	got, err := Detect(fsroot.New("/"))
	if err != nil {
		t.Fatalf("Detect(/): %v", err)
	}
	if got.Family != FamilyLinux || got.ID == "" || got.Source == "" {
		t.Errorf("Detect(/) = %+v", got)
	}
}

func TestWindowsInfo(t *testing.T) {
	const src = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	tests := []struct {
		desc    string
		in      windowsVersion
		want    Info
		wantErr string
	}{
		{
			desc: "Server 2022 Datacenter",
			in: windowsVersion{ProductName: "Windows Server 2022 Datacenter", EditionID: "ServerDatacenter",
				InstallationType: "Server", DisplayVersion: "21H2", Build: "20348", Major: 10, HasMajorMinor: true},
			want: Info{Family: "windows", ID: "windows", VersionID: "10.0.20348", Name: "Windows Server 2022 Datacenter",
				Build: "20348", Edition: "ServerDatacenter", Server: true, Source: src},
		},
		{
			desc: "Server Core counts as server",
			in: windowsVersion{ProductName: "Windows Server 2019 Standard", EditionID: "ServerStandard",
				InstallationType: "Server Core", Build: "17763", Major: 10, HasMajorMinor: true},
			want: Info{Family: "windows", ID: "windows", VersionID: "10.0.17763", Name: "Windows Server 2019 Standard",
				Build: "17763", Edition: "ServerStandard", Server: true, Source: src},
		},
		{
			desc: "Windows 11 still says Windows 10 in ProductName",
			in: windowsVersion{ProductName: "Windows 10 Enterprise", EditionID: "Enterprise",
				InstallationType: "Client", DisplayVersion: "23H2", Build: "22631", Major: 10, HasMajorMinor: true},
			want: Info{Family: "windows", ID: "windows", VersionID: "10.0.22631", Name: "Windows 11 Enterprise",
				Build: "22631", Edition: "Enterprise", Source: src},
		},
		{
			desc: "Windows 10 client",
			in: windowsVersion{ProductName: "Windows 10 Pro", EditionID: "Professional",
				InstallationType: "Client", Build: "19045", Major: 10, HasMajorMinor: true},
			want: Info{Family: "windows", ID: "windows", VersionID: "10.0.19045", Name: "Windows 10 Pro",
				Build: "19045", Edition: "Professional", Source: src},
		},
		{
			desc: "Server 2012 R2 has only CurrentVersion",
			in: windowsVersion{ProductName: "Windows Server 2012 R2 Datacenter", EditionID: "ServerDatacenter",
				InstallationType: "Server", Build: "9600", CurrentVersion: "6.3"},
			want: Info{Family: "windows", ID: "windows", VersionID: "6.3.9600", Name: "Windows Server 2012 R2 Datacenter",
				Build: "9600", Edition: "ServerDatacenter", Server: true, Source: src},
		},
		{
			desc: "no InstallationType: edition decides",
			in:   windowsVersion{ProductName: "Windows Server 2008 R2", EditionID: "ServerEnterprise", Build: "7601", CurrentVersion: "6.1"},
			want: Info{Family: "windows", ID: "windows", VersionID: "6.1.7601", Name: "Windows Server 2008 R2",
				Build: "7601", Edition: "ServerEnterprise", Server: true, Source: src},
		},
		{
			desc:    "no build",
			in:      windowsVersion{ProductName: "Windows"},
			wantErr: "CurrentBuildNumber",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := windowsInfo(tt.in, src)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), src) {
					t.Fatalf("windowsInfo = %+v, %v; want error containing %q and the key", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalInfo(got, tt.want) {
				t.Errorf("windowsInfo = %+v\nwant          %+v", got, tt.want)
			}
		})
	}
}
