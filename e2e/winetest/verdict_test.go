//go:build linux

package winetest

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// release is one Windows the prefix's registry is made to report
// (prefix.sh registry's AK_PREFIX_* settings).
type release struct {
	name string
	env  []string
	// What agentkeeper must say: os.supported's status and words, and
	// whether agentkeeper.runtime warns (below Windows 10 / Server 2016).
	supported    string
	supportedMsg string
	runtimeWarn  bool
	arch         string // os.arch status
}

var releases = []release{
	{name: "Server 2008 R2", env: []string{"AK_PREFIX_BUILD=7601", "AK_PREFIX_PRODUCT=Windows Server 2008 R2 Datacenter",
		"AK_PREFIX_CURRENT_VERSION=6.1", "AK_PREFIX_LEGACY=1"},
		supported: "warn", supportedMsg: "extended support for it ended on 2020-01-14", runtimeWarn: true, arch: "pass"},
	{name: "Server 2012 R2", env: []string{"AK_PREFIX_BUILD=9600", "AK_PREFIX_PRODUCT=Windows Server 2012 R2 Datacenter",
		"AK_PREFIX_CURRENT_VERSION=6.3", "AK_PREFIX_LEGACY=1"},
		supported: "warn", supportedMsg: "Windows Server 2012 R2 is supported", runtimeWarn: true, arch: "pass"},
	{name: "Server 2016", env: []string{"AK_PREFIX_BUILD=14393", "AK_PREFIX_PRODUCT=Windows Server 2016 Datacenter"},
		supported: "pass", supportedMsg: "Windows Server 2016 is supported", arch: "pass"},
	{name: "Server 2022", env: []string{"AK_PREFIX_BUILD=20348", "AK_PREFIX_PRODUCT=Windows Server 2022 Datacenter"},
		supported: "pass", supportedMsg: "Windows Server 2022 is supported", arch: "pass"},
	{name: "Windows 10", env: []string{"AK_PREFIX_BUILD=19045", "AK_PREFIX_PRODUCT=Windows 10 Pro", "AK_PREFIX_INSTALLATION_TYPE=Client",
		"AK_PREFIX_EDITION=Professional", "AK_PREFIX_PRODUCT_TYPE=WinNT"},
		supported: "pass", supportedMsg: "Windows 10 is supported", arch: "pass"},
	// Windows 7 without InstallationType: ProductType WinNT says client.
	{name: "Windows 7 client", env: []string{"AK_PREFIX_BUILD=7601", "AK_PREFIX_PRODUCT=Windows 7 Professional", "AK_PREFIX_INSTALLATION_TYPE=-",
		"AK_PREFIX_EDITION=Professional", "AK_PREFIX_PRODUCT_TYPE=WinNT", "AK_PREFIX_CURRENT_VERSION=6.1", "AK_PREFIX_LEGACY=1"},
		supported: "fail", supportedMsg: "Windows 7 client", runtimeWarn: true, arch: "pass"},
	{name: "32-bit Server 2019", env: []string{"AK_PREFIX_ARCH=x86"},
		supported: "fail", supportedMsg: "32-bit", arch: "fail"},
}

// TestWindowsReleasesByAzureRules makes one prefix report each release
// through the real registry (regedit), and runs agentkeeper.exe check on it.
func TestWindowsReleasesByAzureRules(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-28s %6s", "scenario total", since(start)) }()
	p := newPrefix(t, "", "")
	for _, rel := range releases {
		t.Run(rel.name, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join(p.f.wineDir, "prefix.sh"), "registry")
			cmd.Env = append(os.Environ(), rel.env...)
			reg, err := cmd.Output()
			if err != nil {
				t.Fatalf("prefix.sh registry: %v", err)
			}
			if err := os.WriteFile(p.host(`C:\verdict.reg`), reg, 0o644); err != nil {
				t.Fatal(err)
			}
			if r := p.wine(nil, "regedit", "/S", `C:\verdict.reg`); r.code != 0 {
				t.Fatalf("regedit: exit %d %s", r.code, r.stderr)
			}
			rep, _ := p.check("check (" + rel.name + ")")
			c := wantCheck(t, &rep, "os.supported", rel.supported, rel.supportedMsg)
			t.Logf("os.supported %s: %s", c.Status, c.Message)
			rt := "pass"
			if rel.runtimeWarn {
				rt = "warn"
				wantCheck(t, &rep, "agentkeeper.runtime", rt, "check --root")
			} else {
				wantCheck(t, &rep, "agentkeeper.runtime", rt)
			}
			wantCheck(t, &rep, "os.arch", rel.arch)
			if rel.supported == "fail" && isTrue(rep.Ready) {
				t.Error("ready on an unsupported Windows")
			}
		})
	}
}

// TestOfflineWindowsImage checks an offline Windows image layout with the
// Linux binary: the build from kernel32.dll's version, the architecture
// from ntdll.dll's PE machine type, and WaAppAgent.exe's product version
// between the seed's minimum and KB 4049215's floor (warn) or below the
// minimum (fail).
func TestOfflineWindowsImage(t *testing.T) {
	f := need(t)
	bin := filepath.Join(f.work, "agentkeeper-linux")
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/agentkeeper")
		cmd.Dir = f.repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	fixture := func(version, out string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", filepath.Join(f.wineDir, "fixtures.sh"), "exe", version, out)
		cmd.Dir = f.work
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("fixtures.sh exe %s: %v\n%s", version, err, b)
		}
	}
	img := t.TempDir()
	sys := filepath.Join(img, "Windows", "System32")
	fixture("6.3.9600.17415", filepath.Join(sys, "kernel32.dll"))
	fixture("6.3.9600.17415", filepath.Join(sys, "ntdll.dll"))
	agentExe := filepath.Join(img, "WindowsAzure", "Packages", "WaAppAgent.exe")

	check := func(step string) (report, int) {
		t.Helper()
		cmd := exec.Command(bin, "check", "--root", img, "--json")
		out, _ := cmd.Output()
		var rep report
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("%s: no JSON report: %v\n%s", step, err, out)
		}
		return rep, cmd.ProcessState.ExitCode()
	}

	fixture("2.7.41491.900", agentExe)
	rep, code := check("WaAppAgent 2.7.41491.900")
	if rep.OS.Version != "6.3.9600" {
		t.Errorf("os.version = %q, want 6.3.9600 (from kernel32.dll)", rep.OS.Version)
	}
	wantCheck(t, &rep, "os.supported", "warn", "Windows Server 2012 R2", "Windows 8.1")
	wantCheck(t, &rep, "os.arch", "pass", "AMD64", "ntdll.dll")
	wantCheck(t, &rep, "agent.version", "warn", "2.7.41491.900", "2.6.1198.718", "2.7.41491.1010")
	wantCheck(t, &rep, "agentkeeper.runtime", "skip")
	if code != 0 || !isTrue(rep.Ready) {
		t.Errorf("exit %d ready %s: warnings only, want 0 and ready", code, show(rep.Ready))
	}

	fixture("2.6.1000.0", agentExe)
	rep, code = check("WaAppAgent 2.6.1000.0")
	wantCheck(t, &rep, "agent.version", "fail", "2.6.1000.0", "2.6.1198.718")
	if code != 1 || !isFalse(rep.Ready) {
		t.Errorf("exit %d ready %s, want 1 and not ready", code, show(rep.Ready))
	}

	// A 32-bit image: ntdll.dll says i386 (the machine field set as a
	// 32-bit Windows' ntdll.dll has it).
	nt := filepath.Join(sys, "ntdll.dll")
	b, err := os.ReadFile(nt)
	if err != nil {
		t.Fatal(err)
	}
	off := binary.LittleEndian.Uint32(b[0x3c:])
	binary.LittleEndian.PutUint16(b[off+4:], 0x14c)
	binary.LittleEndian.PutUint16(b[off+24:], 0x10b)
	if err := os.WriteFile(nt, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, _ = check("32-bit image")
	wantCheck(t, &rep, "os.arch", "fail", "32-bit", "Azure Backup does not support 32-bit operating systems")
	wantCheck(t, &rep, "os.supported", "fail", "32-bit")
	if !strings.Contains(rep.OS.Version, "9600") {
		t.Errorf("os.version = %q", rep.OS.Version)
	}
}
