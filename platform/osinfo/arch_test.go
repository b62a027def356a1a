package osinfo

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// elf32 is a minimal valid ELF header of a 32-bit i386 executable (no
// program or section headers).
func elf32() []byte {
	b := make([]byte, 52)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 1, 1, 1                // ELFCLASS32, little endian, EV_CURRENT
	binary.LittleEndian.PutUint16(b[16:], 2)  // ET_EXEC
	binary.LittleEndian.PutUint16(b[18:], 3)  // EM_386
	binary.LittleEndian.PutUint32(b[20:], 1)  // EV_CURRENT
	binary.LittleEndian.PutUint16(b[40:], 52) // e_ehsize
	return b
}

// minimalPE is the start of a PE file with the given machine type and
// optional-header magic: all that ParseMachine reads.
func minimalPE(machine, magic uint16) []byte {
	b := make([]byte, 0x200)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], machine)
	binary.LittleEndian.PutUint16(b[0x84+16:], 0xf0)
	binary.LittleEndian.PutUint16(b[0x98:], magic)
	return b
}

func writeArchFile(t *testing.T, dir, rel string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestDetectArchLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs a Linux /bin/sh")
	}
	host, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i386"}[runtime.GOARCH]

	t.Run("absolute link resolved inside the root", func(t *testing.T) {
		dir := t.TempDir()
		writeArchFile(t, dir, "usr/bin/dash", host)
		symlink(t, dir, "bin/sh", "/usr/bin/dash")
		a, err := DetectArch(fsroot.New(dir), FamilyLinux, false, nil)
		if err != nil || a.Name != want || a.Bits != 64 || !strings.Contains(a.Source, filepath.Join(dir, "bin/sh")) {
			t.Errorf("= %+v, %v; want %s 64-bit from %s/bin/sh", a, err, want, dir)
		}
	})
	t.Run("32-bit", func(t *testing.T) {
		dir := t.TempDir()
		writeArchFile(t, dir, "usr/bin/dash", elf32())
		symlink(t, dir, "bin/sh", "../usr/bin/dash")
		a, err := DetectArch(fsroot.New(dir), FamilyLinux, false, nil)
		if err != nil || a.Name != "i386" || a.Bits != 32 {
			t.Errorf("= %+v, %v; want i386 32-bit", a, err)
		}
	})
	t.Run("link escaping the root is not followed to the host", func(t *testing.T) {
		dir := t.TempDir()
		symlink(t, dir, "bin/sh", "../../../../../../bin/sh")
		a, err := DetectArch(fsroot.New(dir), FamilyLinux, false, nil)
		if err == nil {
			t.Errorf("= %+v: read the host's /bin/sh through a link out of the root", a)
		}
	})
	t.Run("no shell: dpkg's libc6 architecture", func(t *testing.T) {
		dir := t.TempDir()
		writeArchFile(t, dir, "bin/sh", []byte("#!/bin/busybox\n"))
		writeArchFile(t, dir, "var/lib/dpkg/info/libc6:i386.list", []byte("/lib\n"))
		a, err := DetectArch(fsroot.New(dir), FamilyLinux, false, nil)
		if err != nil || a.Name != "i386" || a.Bits != 32 || !strings.Contains(a.Source, "libc6") {
			t.Errorf("= %+v, %v; want i386 from dpkg", a, err)
		}
	})
	t.Run("nothing to tell by", func(t *testing.T) {
		dir := t.TempDir()
		writeArchFile(t, dir, "bin/sh", []byte("garbage"))
		_, err := DetectArch(fsroot.New(dir), FamilyLinux, false, nil)
		if err == nil || !strings.Contains(err.Error(), "bin/sh") {
			t.Errorf("err = %v, want one naming bin/sh", err)
		}
	})
}

func TestDetectArchWindows(t *testing.T) {
	t.Run("live: PROCESSOR_ARCHITECTURE", func(t *testing.T) {
		for v, want := range map[string]Arch{"AMD64": {Name: "AMD64", Bits: 64}, "x86": {Name: "x86", Bits: 32}, "ARM64": {Name: "ARM64", Bits: 64}} {
			reg := registry.Fake{RegEnvironmentKey: {RegProcessorArch: v}}
			a, err := DetectArch(fsroot.New(t.TempDir()), FamilyWindows, true, reg)
			if err != nil || a.Name != want.Name || a.Bits != want.Bits || !strings.Contains(a.Source, RegProcessorArch) {
				t.Errorf("%s: %+v, %v", v, a, err)
			}
		}
		if _, err := DetectArch(fsroot.New(t.TempDir()), FamilyWindows, true, registry.Fake{}); err == nil {
			t.Error("no value: no error")
		}
		if _, err := DetectArch(fsroot.New(t.TempDir()), FamilyWindows, true, registry.Fake{RegEnvironmentKey: {RegProcessorArch: "MIPS"}}); err == nil {
			t.Error("unknown value: no error")
		}
	})
	t.Run("image: ntdll.dll's machine type, any letter case", func(t *testing.T) {
		dir := t.TempDir()
		writeArchFile(t, dir, "WINDOWS/system32/NTDLL.DLL", minimalPE(0x14c, 0x10b))
		a, err := DetectArch(fsroot.New(dir), FamilyWindows, false, nil)
		if err != nil || a.Name != "x86" || a.Bits != 32 {
			t.Errorf("= %+v, %v; want x86 32-bit", a, err)
		}
		dir = t.TempDir()
		writeArchFile(t, dir, "Windows/System32/ntdll.dll", []byte("not a PE"))
		writeArchFile(t, dir, "Windows/System32/kernel32.dll", minimalPE(0x8664, 0x20b))
		a, err = DetectArch(fsroot.New(dir), FamilyWindows, false, nil)
		if err != nil || a.Name != "AMD64" || a.Bits != 64 || !strings.Contains(a.Source, "kernel32.dll") {
			t.Errorf("= %+v, %v; want AMD64 from kernel32.dll", a, err)
		}
		dir = t.TempDir()
		mkdir(t, dir, "Windows/System32")
		if _, err := DetectArch(fsroot.New(dir), FamilyWindows, false, nil); err == nil || !strings.Contains(err.Error(), "ntdll.dll") {
			t.Errorf("no DLLs: %v, want an error naming ntdll.dll", err)
		}
	})
}

func TestWindowsFileVersion(t *testing.T) {
	tests := []struct{ in, ver, build string }{
		{"6.3.9600.17415", "6.3.9600", "9600"},
		{"10.0.20348.1", "10.0.20348", "20348"},
		{"6.1.7601.24214", "6.1.7601", "7601"},
		{"2.7.1.0", "", ""},
		{"1.2.3", "", ""},
		{"a.b.c.d", "", ""},
	}
	for _, tt := range tests {
		v, b, ok := WindowsFileVersion(tt.in)
		if v != tt.ver || b != tt.build || ok != (tt.ver != "") {
			t.Errorf("WindowsFileVersion(%q) = %q %q %v", tt.in, v, b, ok)
		}
	}
}

func FuzzParseELF(f *testing.F) {
	f.Add(elf32())
	if b, err := os.ReadFile("/bin/sh"); err == nil && len(b) > 0 {
		f.Add(b[:min(len(b), 4096)])
	}
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseELF(bytes.NewReader(b))
		if err == nil && a.Bits != 32 && a.Bits != 64 {
			t.Errorf("bits %d", a.Bits)
		}
	})
}
