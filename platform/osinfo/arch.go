package osinfo

import (
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/filever"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// Arch is the architecture of the operating system under a root: of its
// binaries, not of the machine running agentkeeper (a 32-bit root runs on
// a 64-bit kernel).
type Arch struct {
	// Name is the architecture as the OS calls it: Linux "x86_64", "i386",
	// "aarch64", "arm", ...; Windows "AMD64", "x86", "ARM64", ...
	Name string
	// Bits is 32 or 64.
	Bits int
	// Source names the file or registry value read.
	Source string
}

// Where the architecture is read.
const (
	// RegEnvironmentKey holds the system environment, with
	// PROCESSOR_ARCHITECTURE (AMD64, x86, ARM64) of the installed Windows.
	RegEnvironmentKey = `SYSTEM\CurrentControlSet\Control\Session Manager\Environment`
	// RegProcessorArch is the value name.
	RegProcessorArch = "PROCESSOR_ARCHITECTURE"
)

// linuxArchFiles are the binaries whose ELF class tells a Linux root's
// architecture, in order; links are followed inside the root.
var linuxArchFiles = []string{"/bin/sh", "/usr/bin/env", "/bin/ls"}

// windowsArchFiles are a Windows image's system DLLs, below Windows/System32.
var windowsArchFiles = []string{"ntdll.dll", "kernel32.dll"}

// DetectArch finds the architecture of the OS of the given family under r.
// Linux (live or image): the ELF class and machine of the root's /bin/sh
// (else /usr/bin/env, /bin/ls), then dpkg's architecture of libc6. Windows:
// on the live system PROCESSOR_ARCHITECTURE from reg; in an image the PE
// machine type of Windows/System32/ntdll.dll (else kernel32.dll).
func DetectArch(r fsroot.Root, family string, live bool, reg registry.Reader) (Arch, error) {
	switch family {
	case FamilyLinux:
		return linuxArch(r)
	case FamilyWindows:
		if live {
			return windowsLiveArch(reg)
		}
		return windowsImageArch(r)
	}
	return Arch{}, fmt.Errorf("architecture of OS family %q: unknown family", family)
}

func linuxArch(r fsroot.Root) (Arch, error) {
	var errs []string
	for _, p := range linuxArchFiles {
		f, _, err := r.Open(p)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		a, err := ParseELF(f)
		f.Close()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", r.Join(p), err))
			continue
		}
		a.Source = "ELF header of " + r.Join(p)
		return a, nil
	}
	if a, ok := dpkgArch(r); ok {
		return a, nil
	}
	return Arch{}, fmt.Errorf("cannot tell the architecture: %s", strings.Join(errs, "; "))
}

// dpkgArch reads the architecture dpkg installed libc6 for, from the name
// of its file list (var/lib/dpkg/info/libc6:ARCH.list: libc6 is
// Multi-Arch: same, so its files carry the architecture).
func dpkgArch(r fsroot.Root) (Arch, bool) {
	const dir = "/var/lib/dpkg/info"
	ents, err := r.ReadDir(dir)
	if err != nil {
		return Arch{}, false
	}
	for _, e := range ents {
		a, ok := strings.CutPrefix(e.Name(), "libc6:")
		if a, ok2 := strings.CutSuffix(a, ".list"); ok && ok2 {
			if name, bits, ok := debianArch(a); ok {
				return Arch{Name: name, Bits: bits, Source: "dpkg architecture of libc6 (" + r.Join(path.Join(dir, e.Name())) + ")"}, true
			}
		}
	}
	return Arch{}, false
}

// debianArch maps a Debian architecture name to the kernel's name and bits.
func debianArch(a string) (string, int, bool) {
	switch a {
	case "amd64":
		return "x86_64", 64, true
	case "arm64":
		return "aarch64", 64, true
	case "ppc64el":
		return "ppc64le", 64, true
	case "s390x", "riscv64", "mips64el", "loong64":
		return a, 64, true
	case "i386":
		return "i386", 32, true
	case "armhf", "armel":
		return "arm", 32, true
	case "mipsel":
		return "mips", 32, true
	}
	return "", 0, false
}

// ParseELF reads the class and machine of an ELF file with the standard
// library's debug/elf. It never panics on bad input.
func ParseELF(r io.ReaderAt) (a Arch, err error) {
	defer func() {
		if p := recover(); p != nil { // debug/elf must not take the program down
			a, err = Arch{}, fmt.Errorf("not a valid ELF file: %v", p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) {
			return Arch{}, fmt.Errorf("not a valid ELF file: %w", err)
		}
		return Arch{}, fmt.Errorf("read ELF header: %w", err)
	}
	switch f.Class {
	case elf.ELFCLASS32:
		a.Bits = 32
	case elf.ELFCLASS64:
		a.Bits = 64
	default:
		return Arch{}, fmt.Errorf("ELF class %v is neither 32- nor 64-bit", f.Class)
	}
	a.Name = elfMachine(f.Machine, a.Bits)
	return a, nil
}

// elfMachine names an ELF machine as uname -m does.
func elfMachine(m elf.Machine, bits int) string {
	switch m {
	case elf.EM_X86_64:
		if bits == 32 {
			return "x32"
		}
		return "x86_64"
	case elf.EM_386:
		return "i386"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_PPC64:
		return "ppc64"
	case elf.EM_S390:
		if bits == 64 {
			return "s390x"
		}
		return "s390"
	case elf.EM_RISCV:
		return fmt.Sprintf("riscv%d", bits)
	}
	return strings.ToLower(strings.TrimPrefix(m.String(), "EM_"))
}

func windowsLiveArch(reg registry.Reader) (Arch, error) {
	if reg == nil {
		return Arch{}, errors.New("no registry to read the architecture from")
	}
	src := `registry HKLM\` + RegEnvironmentKey + `\` + RegProcessorArch
	v, err := reg.String(RegEnvironmentKey, RegProcessorArch)
	if err != nil {
		return Arch{}, fmt.Errorf("read the architecture: %w", err)
	}
	a, err := WindowsArch(v)
	a.Source = src
	return a, err
}

// WindowsArch reads a PROCESSOR_ARCHITECTURE value (AMD64, x86, ARM64,
// IA64, ARM) into an Arch.
func WindowsArch(v string) (Arch, error) {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "AMD64":
		return Arch{Name: "AMD64", Bits: 64}, nil
	case "ARM64":
		return Arch{Name: "ARM64", Bits: 64}, nil
	case "IA64":
		return Arch{Name: "IA64", Bits: 64}, nil
	case "X86":
		return Arch{Name: "x86", Bits: 32}, nil
	case "ARM":
		return Arch{Name: "ARM", Bits: 32}, nil
	}
	return Arch{}, fmt.Errorf("unknown PROCESSOR_ARCHITECTURE %q", v)
}

func windowsImageArch(r fsroot.Root) (Arch, error) {
	ents, err := r.ReadDir("/")
	if err != nil {
		return Arch{}, fmt.Errorf("read %s: %w", r.Dir, err)
	}
	sys, ok := findWindowsSystem32(r, ents)
	if !ok {
		return Arch{}, fmt.Errorf("no Windows/System32 under %s", r.Dir)
	}
	var errs []string
	for _, name := range windowsArchFiles {
		p, ok := findFold(r, sys, name)
		if !ok {
			errs = append(errs, r.Join(path.Join(sys, name))+": "+fs.ErrNotExist.Error())
			continue
		}
		host, err := r.Resolve(p)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		m, err := filever.ReadMachine(host)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		a := Arch{Name: m.Arch(), Bits: m.Bits(), Source: "PE machine type of " + host}
		return a, nil
	}
	return Arch{}, fmt.Errorf("cannot tell the architecture: %s", strings.Join(errs, "; "))
}

// findFold finds name in dir without regard to case.
func findFold(r fsroot.Root, dir, name string) (string, bool) {
	if p := path.Join(dir, name); r.Exists(p) {
		return p, true
	}
	ents, err := r.ReadDir(dir)
	if err != nil {
		return "", false
	}
	for _, e := range ents {
		if strings.EqualFold(e.Name(), name) {
			return path.Join(dir, e.Name()), true
		}
	}
	return "", false
}
