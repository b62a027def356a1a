package pkgdb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// Stanzas written after what dpkg leaves in /var/lib/dpkg/status on Debian
// 12 and Ubuntu 22.04.
const (
	stanzaWaagentDebian12 = `Package: waagent
Status: install ok installed
Priority: optional
Section: admin
Installed-Size: 1208
Maintainer: Debian Cloud Team <debian-cloud@lists.debian.org>
Architecture: all
Version: 2.7.3.0-4.1
Depends: python3-distro, python3:any, openssh-server (>= 1:5.9), openssl, passwd, procps, util-linux (>= 2.0), init-system-helpers (>= 1.52)
Recommends: python3-pyasn1, sudo
Conffiles:
 /etc/logrotate.d/waagent 4e5b2c7e0e7d1c0a0e7f1e2a6b1f9e3c
 /etc/waagent.conf 0c6f1d3b1f0f3b4d5e8a1b2c3d4e5f60
Description: Windows Azure Linux Agent
 The Windows Azure Linux Agent (waagent) manages Linux provisioning and VM
 interaction with the Azure Fabric Controller.
 .
 It provides the following functionality for Linux IaaS deployments:
  * Image provisioning
Homepage: https://github.com/Azure/WALinuxAgent
`
	stanzaDpkg = `Package: dpkg
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 6516
Maintainer: Dpkg Developers <debian-dpkg@lists.debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 1.21.22
Replaces: manpages-it (<< 2.80-4)
Depends: tar (>= 1.28-1)
Pre-Depends: libbz2-1.0, libc6 (>= 2.34), liblzma5 (>= 5.4.0), libmd0 (>= 0.0.0), libselinux1 (>= 3.1~), zlib1g (>= 1:1.1.4)
Conffiles:
 /etc/alternatives/README 7be88b21f7e386c8d5a8790c2461c92b
 /etc/cron.daily/dpkg 94bb6c1363245e46256908a5d52ba4fb
 /etc/dpkg/dpkg.cfg f4413ffb515f8f753624ae3bb365b81b
Description: Debian package management system
 This package provides the low-level infrastructure for handling the
 installation and removal of Debian software packages.
`
	stanzaWalinuxagentUbuntu = `Package: walinuxagent
Status: install ok installed
Priority: optional
Section: admin
Installed-Size: 2736
Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>
Architecture: amd64
Version: 2.2.45-0ubuntu1~18.04.1
Depends: cloud-guest-utils, isc-dhcp-client, openssh-server (>= 1:5.9), passwd, python3-pyasn1, sudo, python3:any
Conffiles:
 /etc/logrotate.d/walinuxagent 1f5e1cfb1f0e7e2bf1bb1c68f1da4e44
 /etc/waagent.conf 23c1ddd5f4af8d8e64c4ab3e3f3a8c9e obsolete
Description: Windows Azure Linux Agent
 The Windows Azure Linux Agent supports the provisioning and running of Linux
 VMs in the Windows Azure cloud.
Original-Maintainer: Debian Cloud Team <debian-cloud@lists.debian.org>
`
	stanzaWalinuxagentEpoch = `Package: walinuxagent
Status: install ok installed
Priority: optional
Section: admin
Installed-Size: 3017
Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>
Architecture: amd64
Version: 1:2.9.1.1-0ubuntu0.22.04.1
Depends: cloud-guest-utils, isc-dhcp-client, openssh-server (>= 1:5.9), passwd, python3-pkg-resources, sudo, python3:any
Description: Windows Azure Linux Agent
 The Windows Azure Linux Agent supports the provisioning and running of Linux
 VMs in the Windows Azure cloud.
`
	stanzaLibc6Amd64 = `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12987
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
`
	stanzaLibc6I386ConfigFiles = `Package: libc6
Status: deinstall ok config-files
Priority: optional
Section: libs
Installed-Size: 12345
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: i386
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Conffiles:
 /etc/ld.so.conf.d/i386-linux-gnu.conf 1f2b3c4d5e6f708192a3b4c5d6e7f809
Description: GNU C Library: Shared libraries
`
	stanzaWaagentHalf = `Package: waagent
Status: install reinstreq half-installed
Priority: optional
Section: admin
Architecture: all
Version: 2.7.3.0-4.1
Description: Windows Azure Linux Agent
`
	stanzaWaagentConfigFiles = `Package: waagent
Status: deinstall ok config-files
Priority: optional
Section: admin
Installed-Size: 1208
Maintainer: Debian Cloud Team <debian-cloud@lists.debian.org>
Architecture: all
Version: 2.7.3.0-4.1
Conffiles:
 /etc/logrotate.d/waagent 4e5b2c7e0e7d1c0a0e7f1e2a6b1f9e3c
 /etc/waagent.conf 0c6f1d3b1f0f3b4d5e8a1b2c3d4e5f60
Description: Windows Azure Linux Agent
`
	stanzaWaagentUnpacked = `Package: waagent
Status: install ok unpacked
Priority: optional
Section: admin
Architecture: all
Version: 2.7.3.0-4.1
Description: Windows Azure Linux Agent
`
	stanzaWaagentNotInstalled = `Package: waagent
Status: purge ok not-installed
Priority: optional
Section: admin
Architecture: all
`
	stanzaWaagentHold = `Package: waagent
Status: hold ok installed
Priority: optional
Section: admin
Architecture: all
Version: 2.7.3.0-4.1
Description: Windows Azure Linux Agent
`
)

// status joins stanzas with blank lines as dpkg writes them.
func status(stanzas ...string) string { return strings.Join(stanzas, "\n") }

func TestParseDpkgStatus(t *testing.T) {
	installed := func(name, ver string) Package {
		return Package{Name: name, Version: ver, Status: "install ok installed", Installed: true}
	}
	tests := []struct {
		desc    string
		in      string
		name    string
		want    Package
		found   bool
		wantErr string
	}{
		{desc: "waagent on Debian 12", in: status(stanzaDpkg, stanzaWaagentDebian12, stanzaLibc6Amd64),
			name: "waagent", want: installed("waagent", "2.7.3.0-4.1"), found: true},
		{desc: "first stanza", in: status(stanzaDpkg, stanzaWaagentDebian12), name: "dpkg",
			want: installed("dpkg", "1.21.22"), found: true},
		{desc: "last stanza without trailing newline", in: status(stanzaDpkg, strings.TrimSuffix(stanzaWaagentDebian12, "\n")),
			name: "waagent", want: installed("waagent", "2.7.3.0-4.1"), found: true},
		{desc: "last stanza ends in blank lines", in: status(stanzaDpkg, stanzaWaagentDebian12) + "\n\n\n",
			name: "waagent", want: installed("waagent", "2.7.3.0-4.1"), found: true},
		{desc: "walinuxagent on Ubuntu without epoch", in: status(stanzaDpkg, stanzaWalinuxagentUbuntu),
			name: "walinuxagent", want: installed("walinuxagent", "2.2.45-0ubuntu1~18.04.1"), found: true},
		{desc: "walinuxagent on Ubuntu with epoch", in: status(stanzaWalinuxagentEpoch, stanzaDpkg),
			name: "walinuxagent", want: installed("walinuxagent", "1:2.9.1.1-0ubuntu0.22.04.1"), found: true},
		{desc: "name is not a prefix match", in: status(stanzaWaagentDebian12), name: "waagen"},
		{desc: "longer name does not match", in: status(stanzaWaagentDebian12), name: "waagent2"},
		{desc: "absent package", in: status(stanzaDpkg, stanzaLibc6Amd64), name: "waagent"},
		{desc: "empty file", in: "", name: "waagent"},
		{desc: "only blank lines", in: "\n\n \n\t\n", name: "waagent"},
		{desc: "multiarch: installed amd64 after config-files i386",
			in: status(stanzaLibc6I386ConfigFiles, stanzaLibc6Amd64), name: "libc6",
			want: installed("libc6", "2.36-9+deb12u7"), found: true},
		{desc: "multiarch: installed amd64 before config-files i386",
			in: status(stanzaLibc6Amd64, stanzaLibc6I386ConfigFiles), name: "libc6",
			want: installed("libc6", "2.36-9+deb12u7"), found: true},
		{desc: "two stanzas, none installed: the first wins", in: status(stanzaWaagentHalf, stanzaWaagentConfigFiles),
			name: "waagent", want: Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install reinstreq half-installed"}, found: true},
		{desc: "deinstall config-files is found but not installed", in: status(stanzaDpkg, stanzaWaagentConfigFiles),
			name: "waagent", want: Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "deinstall ok config-files"}, found: true},
		{desc: "half-installed is found but not installed", in: status(stanzaWaagentHalf, stanzaDpkg),
			name: "waagent", want: Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install reinstreq half-installed"}, found: true},
		{desc: "unpacked is found but not installed", in: status(stanzaWaagentUnpacked),
			name: "waagent", want: Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install ok unpacked"}, found: true},
		{desc: "purged without version", in: status(stanzaWaagentNotInstalled),
			name: "waagent", want: Package{Name: "waagent", Status: "purge ok not-installed"}, found: true},
		{desc: "held package is installed", in: status(stanzaWaagentHold),
			name: "waagent", want: Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "hold ok installed", Installed: true}, found: true},
		{desc: "CRLF line ends", in: strings.ReplaceAll(status(stanzaDpkg, stanzaWaagentDebian12), "\n", "\r\n"),
			name: "waagent", want: installed("waagent", "2.7.3.0-4.1"), found: true},
		{desc: "field names in other case and tabs",
			in:   "package:\twaagent\nSTATUS:  install  ok  installed \nversion:\t2.7.3.0-4.1\t\n",
			name: "waagent", want: installed("waagent", "2.7.3.0-4.1"), found: true},
		{desc: "Package field in a continuation line does not count",
			in:   "Package: other\nStatus: install ok installed\nVersion: 1\nDescription: x\n Package: waagent\n",
			name: "waagent"},
		{desc: "Package field after Version", in: "Version: 2.7.3.0-4.1\nStatus: install ok installed\nPackage: waagent\n",
			name: "waagent", want: installed("waagent", "2.7.3.0-4.1"), found: true},
		{desc: "fields do not leak into the next stanza",
			in:   "Package: a\nStatus: install ok installed\nVersion: 9\n\nPackage: waagent\nStatus: purge ok not-installed\n",
			name: "waagent", want: Package{Name: "waagent", Status: "purge ok not-installed"}, found: true},
		{desc: "status with two words is not installed", in: "Package: waagent\nStatus: ok installed\nVersion: 1\n",
			name: "waagent", want: Package{Name: "waagent", Version: "1", Status: "ok installed"}, found: true},
		{desc: "empty name", in: status(stanzaDpkg), name: "", wantErr: "empty package name"},
		{desc: "continuation before any field", in: " leading continuation\nPackage: waagent\n", name: "waagent",
			wantErr: "line 1: continuation line outside a stanza"},
		{desc: "line without colon", in: "Package: dpkg\nthis is not a field\n", name: "waagent",
			wantErr: `line 2: "this is not a field": expected`},
		{desc: "NUL bytes", in: "Package: dpkg\nVersion: 1\x00\x00\x01\x02\n", name: "waagent",
			wantErr: "line 2: NUL byte at column 11"},
		{desc: "line over 1 MiB", in: "Package: dpkg\nDescription: " + strings.Repeat("x", MaxDpkgLine) + "\n", name: "waagent",
			wantErr: "line 2: longer than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, found, err := ParseDpkgStatus(strings.NewReader(tc.in), tc.name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if found != tc.found || got != tc.want {
				t.Errorf("got %+v found=%v, want %+v found=%v", got, found, tc.want, tc.found)
			}
		})
	}
}

// errReader fails after giving its data.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(b []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(b, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestParseDpkgStatusReadError(t *testing.T) {
	boom := errors.New("boom")
	_, _, err := ParseDpkgStatus(&errReader{data: "Package: a\nVersion: 1\n", err: boom}, "waagent")
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("err = %v, want boom at line 3", err)
	}
}

func TestParseDpkgStatusStopsAtInstalled(t *testing.T) {
	// Once an installed stanza is found the rest of the file is not read,
	// so a lookup of an early package is cheap.
	boom := errors.New("read past the installed stanza")
	p, found, err := ParseDpkgStatus(&errReader{data: status(stanzaWaagentDebian12, stanzaDpkg), err: boom}, "waagent")
	if err != nil || !found || !p.Installed {
		t.Fatalf("got %+v found=%v err=%v, want installed waagent", p, found, err)
	}
}

// writeRoot creates files (path inside root -> content) under a new temp root.
// writeRoot writes files under a temp root and makes the links (path →
// target, as seen inside the root). Links skip the test on Windows: Wine
// creates none, and Linux runs those cases.
func writeRoot(t *testing.T, files map[string]string, links ...map[string]string) fsroot.Root {
	t.Helper()
	dir := t.TempDir()
	for _, ls := range links {
		if len(ls) > 0 && runtime.GOOS == "windows" {
			t.Skip("image symlinks: Wine creates none, and Linux runs this case")
		}
		for l, target := range ls {
			host := filepath.Join(dir, filepath.FromSlash(l))
			if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.FromSlash(target), host); err != nil {
				t.Fatalf("symlink %s: %v", host, err)
			}
		}
	}
	for p, content := range files {
		host := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fsroot.New(dir)
}

func TestDpkg(t *testing.T) {
	tests := []struct {
		desc    string
		files   map[string]string
		links   map[string]string // link path inside root -> target
		name    string
		want    Package
		found   bool
		wantErr string
	}{
		{desc: "installed", files: map[string]string{"var/lib/dpkg/status": status(stanzaDpkg, stanzaWaagentDebian12)},
			name: "waagent", want: Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install ok installed", Installed: true}, found: true},
		{desc: "absent package", files: map[string]string{"var/lib/dpkg/status": status(stanzaDpkg)}, name: "waagent"},
		{desc: "missing database", files: map[string]string{"etc/os-release": "ID=debian\n"}, name: "waagent",
			wantErr: "no dpkg database at ROOT/var/lib/dpkg/status"},
		{desc: "database is a directory", files: map[string]string{"var/lib/dpkg/status/x": ""}, name: "waagent",
			wantErr: "read ROOT/var/lib/dpkg/status: open ROOT/var/lib/dpkg/status: not a regular file"},
		{desc: "NUL garbage", files: map[string]string{"var/lib/dpkg/status": "\x7fELF\x02\x01\x01\x00\x00\x00"}, name: "waagent",
			wantErr: "read ROOT/var/lib/dpkg/status: line 1: NUL byte"},
		{desc: "line of 2 MB", files: map[string]string{"var/lib/dpkg/status": "Package: dpkg\nVersion: 1\n\nPackage: big\nDescription: " + strings.Repeat("y", 2<<20) + "\n"},
			name: "waagent", wantErr: "read ROOT/var/lib/dpkg/status: line 5: longer than 1048576 bytes"},
		{desc: "symlink loop", files: map[string]string{"var/lib/dpkg/.keep": ""},
			links: map[string]string{"var/lib/dpkg/status": "status2", "var/lib/dpkg/status2": "/var/lib/dpkg/status"},
			name:  "waagent", wantErr: "too many levels of symbolic links"},
		{desc: "absolute link stays inside the root",
			files: map[string]string{"srv/dpkg-status": status(stanzaWaagentDebian12)},
			links: map[string]string{"var/lib/dpkg/status": "/srv/dpkg-status"},
			name:  "waagent", want: Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install ok installed", Installed: true}, found: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := writeRoot(t, tc.files, tc.links)
			got, found, err := Dpkg(root, tc.name)
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "ROOT/var/lib/dpkg/status", root.Join("/var/lib/dpkg/status"))
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if found != tc.found || got != tc.want {
				t.Errorf("got %+v found=%v, want %+v found=%v", got, found, tc.want, tc.found)
			}
		})
	}
}

// writeStatusFile writes a dpkg status file of about size bytes made of
// realistic stanzas of made-up packages, then the extra stanzas.
func writeStatusFile(t testing.TB, path string, size int64, extra ...string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for i := 0; n < size; i++ {
		k, _ := fmt.Fprintf(w, `Package: lib-filler%d
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: %d
Maintainer: Filler Maintainers <filler@lists.example.org>
Architecture: amd64
Multi-Arch: same
Source: filler%d
Version: 1:%d.%d.%d-%d+deb12u1
Depends: libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 11), zlib1g (>= 1:1.2.0)
Conffiles:
 /etc/filler%d/filler.conf 0123456789abcdef0123456789abcdef
Description: filler library %d
 This package exists to make the status file as large as a real one with
 many installed packages.
 .
 It has a long description, as real packages do.

`, i, i%9000, i, i%7, i%13, i%100, i%5, i, i)
		n += int64(k)
	}
	fmt.Fprint(w, status(extra...))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDpkgLargeStatusFile(t *testing.T) {
	root := fsroot.New(t.TempDir())
	writeStatusFile(t, root.Join(DpkgStatusPath), 50<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, found, err := Dpkg(root, "waagent")
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if err != nil || found {
		t.Fatalf("Dpkg = found %v, err %v; want not found, no error", found, err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("50 MB status file: %v, %d KiB allocated", took, alloc>>10)
	// Streaming keeps the allocations to the line buffer, far below the
	// file's size.
	if alloc > 4<<20 {
		t.Errorf("allocated %d bytes reading a 50 MB status file: the parser holds too much", alloc)
	}
	if took > 10*time.Second {
		t.Errorf("took %v for a 50 MB status file", took)
	}
}

func TestCapReader(t *testing.T) {
	tests := []struct {
		desc    string
		data    string
		limit   int64
		wantErr bool
	}{
		{desc: "under the cap", data: "abc", limit: 5},
		{desc: "exactly the cap", data: "abcde", limit: 5},
		{desc: "over the cap", data: "abcdef", limit: 5, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := io.ReadAll(&capReader{r: strings.NewReader(tc.data), left: tc.limit})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, fsroot.ErrTooLarge) {
				t.Errorf("err = %v, want ErrTooLarge", err)
			}
			if !tc.wantErr && string(got) != tc.data {
				t.Errorf("read %q, want %q", got, tc.data)
			}
		})
	}
}

func TestUpstream(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    string // String() of the result
		wantErr string
	}{
		{desc: "Debian 12 waagent", in: "2.7.3.0-4.1", want: "2.7.3.0"},
		{desc: "Ubuntu with epoch", in: "1:2.9.1.1-0ubuntu0.22.04.1", want: "2.9.1.1"},
		{desc: "Ubuntu backport with tilde in revision", in: "2.2.45-0ubuntu1~18.04.1", want: "2.2.45"},
		{desc: "RHEL 8 version-release", in: "2.2.45-1.el8", want: "2.2.45"},
		{desc: "RHEL 9 with epoch", in: "1:2.9.1.1-1.el9", want: "2.9.1.1"},
		{desc: "SUSE release", in: "2.2.49.2-150100.3.20.1", want: "2.2.49.2"},
		{desc: "Mariner release", in: "2.9.1.1-1.cm2", want: "2.9.1.1"},
		{desc: "plain upstream", in: "2.9.1.1", want: "2.9.1.1"},
		{desc: "release candidate with dfsg and Ubuntu revision", in: "2.7.3.0~rc1+dfsg-4.1ubuntu0.1", want: "2.7.3.0-rc1"},
		{desc: "dfsg", in: "2.7.3.0+dfsg-1", want: "2.7.3.0"},
		{desc: "ds with number", in: "2.7.3.0+ds1-2", want: "2.7.3.0"},
		{desc: "git snapshot", in: "2.8.0.11+git20230101.abcdef-1", want: "2.8.0.11"},
		{desc: "rpm caret snapshot", in: "2.9.1.1^20230101git1234-1.fc39", want: "2.9.1.1"},
		{desc: "two-part version padded", in: "2.2-1", want: "2.2.0"},
		{desc: "one-part version", in: "7", want: "7.0.0"},
		{desc: "big epoch", in: "12:1.0-1", want: "1.0.0"},
		{desc: "tilde without label", in: "1.0~-1", want: "1.0.0-0"},
		{desc: "beta with dots", in: "2.10.0.8~beta.2-1", want: "2.10.0.8-beta.2"},
		{desc: "leading zeros", in: "02.007-1", want: "2.7.0"},
		{desc: "Windows agent version", in: "2.7.41491.1010", want: "2.7.41491.1010"},
		{desc: "banana", in: "banana", wantErr: `package version "banana": upstream part "banana" is not dotted numbers`},
		{desc: "empty", in: "", wantErr: `package version "": empty`},
		{desc: "epoch only", in: "1:", wantErr: `package version "1:": no upstream version`},
		{desc: "dash only", in: "-", wantErr: `package version "-": empty revision`},
		{desc: "revision only", in: "-1", wantErr: `package version "-1": no upstream version`},
		{desc: "trailing dash", in: "2.7.3.0-", wantErr: "empty revision"},
		{desc: "letters epoch", in: "a:2.7-1", wantErr: "epoch is not a number"},
		{desc: "empty epoch", in: ":2.7-1", wantErr: "epoch is not a number"},
		{desc: "two colons", in: "1:2:3-1", wantErr: "is not dotted numbers"},
		{desc: "double dot", in: "2..7-1", wantErr: "is not dotted numbers"},
		{desc: "trailing dot", in: "2.7.-1", wantErr: "is not dotted numbers"},
		{desc: "letters in upstream", in: "9.2p1-1", wantErr: `upstream part "9.2p1"`},
		{desc: "v prefix", in: "v2.9.1.1", wantErr: "is not dotted numbers"},
		{desc: "space", in: "2.9.1.1 -1", wantErr: `unexpected character " " at offset 7`},
		{desc: "newline", in: "2.9.1.1\n", wantErr: `unexpected character "\n" at offset 7`},
		{desc: "escape", in: "2.9\x1b[31m", wantErr: `unexpected character "\x1b" at offset 3`},
		{desc: "non-ASCII", in: "2.9.1.1-ü", wantErr: `unexpected character "\xc3" at offset 8`},
		{desc: "segment overflows int64", in: "99999999999999999999.1", wantErr: `package version "99999999999999999999.1"`},
		{desc: "huge string quoted truncated", in: strings.Repeat("1.", 200) + "1",
			wantErr: `package version "` + strings.Repeat("1.", 32) + `"...: longer than 256 bytes`},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := Upstream(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Upstream(%q) err = %v, want one containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Upstream(%q): %v", tc.in, err)
			}
			if got.String() != tc.want {
				t.Errorf("Upstream(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestUpstreamOrder(t *testing.T) {
	tests := []struct {
		desc   string
		lo, hi string
	}{
		{desc: "release candidate below release", lo: "2.7.3.0~rc1+dfsg-4.1ubuntu0.1", hi: "2.7.3.0-4.1"},
		{desc: "SUSE 2.2.49.2 below Azure's Linux minimum", lo: "2.2.49.2-150100.3.20.1", hi: "2.2.53.1"},
		{desc: "Debian 12 above Azure's Linux minimum", lo: "2.2.53.1", hi: "2.7.3.0-4.1"},
		{desc: "numeric not lexical", lo: "2.2.9-1", hi: "2.2.45-1.el8"},
		{desc: "epoch does not count upstream", lo: "1:2.2.45-1", hi: "2.9.1.1-1"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			lo, err := Upstream(tc.lo)
			if err != nil {
				t.Fatal(err)
			}
			hi, err := Upstream(tc.hi)
			if err != nil {
				t.Fatal(err)
			}
			if !lo.LessThan(hi) {
				t.Errorf("%s (%s) is not below %s (%s)", tc.lo, lo, tc.hi, hi)
			}
		})
	}
}

func TestRPMVerCmp(t *testing.T) {
	tests := []struct {
		desc string
		a, b string
		want int
	}{
		{desc: "equal", a: "2.9.1.1", b: "2.9.1.1", want: 0},
		{desc: "numeric segments", a: "2.10", b: "2.9", want: 1},
		{desc: "leading zeros", a: "2.010", b: "2.10", want: 0},
		{desc: "longer wins", a: "2.9.1.1", b: "2.9.1", want: 1},
		{desc: "digits beat letters", a: "1.0.1", b: "1.0.a", want: 1},
		{desc: "letters compare as text", a: "1.el8", b: "1.el9", want: -1},
		{desc: "tilde below release", a: "1.0~rc1", b: "1.0", want: -1},
		{desc: "tilde vs tilde", a: "1.0~rc2", b: "1.0~rc1", want: 1},
		{desc: "caret above release", a: "1.0^git1", b: "1.0", want: 1},
		{desc: "caret below next", a: "1.0^git1", b: "1.0.1", want: -1},
		{desc: "separators are equal", a: "1_0", b: "1.0", want: 0},
		{desc: "SUSE releases", a: "150100.3.20.1", b: "150100.3.9.1", want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := rpmVerCmp(tc.a, tc.b); got != tc.want {
				t.Errorf("rpmVerCmp(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := rpmVerCmp(tc.b, tc.a); got != -tc.want {
				t.Errorf("rpmVerCmp(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}

// rpmRoot returns a temp root holding an (empty) RPM database file in dir.
func rpmRoot(t *testing.T, dir string) fsroot.Root {
	t.Helper()
	return writeRoot(t, map[string]string{dir + "/rpmdb.sqlite": ""})
}

func TestRPMFake(t *testing.T) {
	answer := func(res run.Result, err error) func(run.Cmd) (run.Result, error) {
		return func(run.Cmd) (run.Result, error) { return res, err }
	}
	tests := []struct {
		desc    string
		name    string
		respond func(run.Cmd) (run.Result, error)
		want    Package
		found   bool
		wantErr string
	}{
		{desc: "installed without epoch", name: "WALinuxAgent",
			respond: answer(run.Result{Stdout: []byte("WALinuxAgent\t(none)\t2.2.45\t1.el8\n")}, nil),
			want:    Package{Name: "WALinuxAgent", Version: "2.2.45-1.el8", Status: "installed", Installed: true}, found: true},
		{desc: "installed with epoch", name: "WALinuxAgent",
			respond: answer(run.Result{Stdout: []byte("WALinuxAgent\t1\t2.9.1.1\t1.el9\n")}, nil),
			want:    Package{Name: "WALinuxAgent", Version: "1:2.9.1.1-1.el9", Status: "installed", Installed: true}, found: true},
		{desc: "several versions: highest wins", name: "WALinuxAgent",
			respond: answer(run.Result{Stdout: []byte("WALinuxAgent\t(none)\t2.2.45\t1.el8\nWALinuxAgent\t(none)\t2.10.0.8\t1.el8\nWALinuxAgent\t(none)\t2.9.1.1\t1.el8\n")}, nil),
			want:    Package{Name: "WALinuxAgent", Version: "2.10.0.8-1.el8", Status: "installed", Installed: true}, found: true},
		{desc: "several versions: epoch wins", name: "WALinuxAgent",
			respond: answer(run.Result{Stdout: []byte("WALinuxAgent\t1\t2.2.45\t1.el8\nWALinuxAgent\t(none)\t2.10.0.8\t1.el8\n")}, nil),
			want:    Package{Name: "WALinuxAgent", Version: "1:2.2.45-1.el8", Status: "installed", Installed: true}, found: true},
		{desc: "several versions: release decides", name: "python-azure-agent",
			respond: answer(run.Result{Stdout: []byte("python-azure-agent\t(none)\t2.2.49.2\t150100.3.9.1\npython-azure-agent\t(none)\t2.2.49.2\t150100.3.20.1\n")}, nil),
			want:    Package{Name: "python-azure-agent", Version: "2.2.49.2-150100.3.20.1", Status: "installed", Installed: true}, found: true},
		{desc: "not installed", name: "WALinuxAgent",
			respond: answer(run.Result{ExitCode: 1, Stdout: []byte("package WALinuxAgent is not installed\n")}, nil)},
		{desc: "exit 1 with another message", name: "WALinuxAgent",
			respond: answer(run.Result{ExitCode: 1, Stderr: []byte("error: rpmdb: damaged header #12 retrieved -- skipping.\n")}, nil),
			wantErr: "exit status 1: error: rpmdb: damaged header"},
		{desc: "exit 2 with stderr tail", name: "WALinuxAgent",
			respond: answer(run.Result{ExitCode: 2, Stderr: []byte("line1\nline2\nline3\nline4\nline5\nline6\nerror: cannot open Packages database in /var/lib/rpm\n")}, nil),
			wantErr: "--qf %{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\n WALinuxAgent: exit status 2: line3\nline4\nline5\nline6\nerror: cannot open Packages database in /var/lib/rpm"},
		{desc: "garbage output", name: "WALinuxAgent",
			respond: answer(run.Result{Stdout: []byte("WALinuxAgent-2.9.1.1-1.el9.noarch\n")}, nil),
			wantErr: `unexpected output line "WALinuxAgent-2.9.1.1-1.el9.noarch"`},
		{desc: "binary garbage output", name: "WALinuxAgent",
			respond: answer(run.Result{Stdout: []byte("\x00\x01\x02\t\t\t\n")}, nil),
			wantErr: `unexpected output line`},
		{desc: "bad epoch", name: "WALinuxAgent",
			respond: answer(run.Result{Stdout: []byte("WALinuxAgent\tx\t2.9.1.1\t1\n")}, nil),
			wantErr: `unexpected epoch`},
		{desc: "empty output", name: "WALinuxAgent",
			respond: answer(run.Result{}, nil), wantErr: "no output"},
		{desc: "rpm not on PATH", name: "WALinuxAgent",
			respond: answer(run.Result{}, fmt.Errorf("rpm --root ...: %w", &exec.Error{Name: "rpm", Err: exec.ErrNotFound})),
			wantErr: "rpm not found: install the rpm package to read RPM databases"},
		{desc: "runner error", name: "WALinuxAgent",
			respond: answer(run.Result{}, context.DeadlineExceeded), wantErr: "context deadline exceeded"},
		{desc: "name that looks like an option", name: "--eval=%(id)", wantErr: `invalid package name "--eval=%(id)"`},
		{desc: "name with space", name: "WALinuxAgent x", wantErr: "invalid package name"},
		{desc: "empty name", name: "", wantErr: "invalid package name"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := rpmRoot(t, "var/lib/rpm")
			f := &run.Fake{Respond: tc.respond}
			got, found, err := RPM(context.Background(), f, root, tc.name)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if found != tc.found || got != tc.want {
					t.Errorf("got %+v found=%v, want %+v found=%v", got, found, tc.want, tc.found)
				}
			}
			cmds := f.Commands()
			if tc.respond == nil {
				if len(cmds) != 0 {
					t.Errorf("ran %v for a refused name", cmds)
				}
				return
			}
			wantArgv := []string{"rpm", "--root", root.Dir, "--dbpath", "/var/lib/rpm", "-q", "--qf", "%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\n", tc.name}
			if len(cmds) != 1 || !reflect.DeepEqual(cmds[0].Argv, wantArgv) {
				t.Errorf("commands = %q, want one with argv %q", cmds, wantArgv)
			}
		})
	}
}

func TestFindRPMDB(t *testing.T) {
	tests := []struct {
		desc    string
		files   map[string]string
		links   map[string]string
		want    string
		wantErr string
	}{
		{desc: "RHEL 9 sqlite", files: map[string]string{"var/lib/rpm/rpmdb.sqlite": ""}, want: "/var/lib/rpm"},
		{desc: "RHEL 8 Berkeley DB", files: map[string]string{"var/lib/rpm/Packages": ""}, want: "/var/lib/rpm"},
		{desc: "SUSE ndb in sysimage", files: map[string]string{"usr/lib/sysimage/rpm/Packages.db": ""}, want: "/usr/lib/sysimage/rpm"},
		{desc: "absolute link resolved inside the root",
			files: map[string]string{"usr/lib/sysimage/rpm/rpmdb.sqlite": ""},
			links: map[string]string{"var/lib/rpm": "/usr/lib/sysimage/rpm"}, want: "/usr/lib/sysimage/rpm"},
		{desc: "empty database directory", files: map[string]string{"var/lib/rpm/.keep": ""},
			wantErr: "no RPM database under ROOT (looked in /var/lib/rpm, /usr/lib/sysimage/rpm)"},
		{desc: "Debian root", files: map[string]string{"var/lib/dpkg/status": ""}, wantErr: "no RPM database under ROOT"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := writeRoot(t, tc.files, tc.links)
			got, err := RPMDBDir(root)
			if tc.wantErr != "" {
				want := strings.ReplaceAll(tc.wantErr, "ROOT", root.Dir)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("err = %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("RPMDBDir = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func BenchmarkDpkgStatus(b *testing.B) {
	root := fsroot.New(b.TempDir())
	// About the size of a desktop system's status file, with the agent
	// near the end.
	writeStatusFile(b, root.Join(DpkgStatusPath), 3<<20, stanzaWaagentDebian12, stanzaDpkg)
	fi, err := os.Stat(root.Join(DpkgStatusPath))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	for b.Loop() {
		p, found, err := Dpkg(root, "waagent")
		if err != nil || !found || p.Version != "2.7.3.0-4.1" {
			b.Fatalf("Dpkg = %+v, %v, %v", p, found, err)
		}
	}
}
