//go:build linux

package winetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Nothing installed: check says not ready; ensure fetches the MSI from the
// loopback server, verifies its SHA-256, installs it with the real msiexec
// (which also installs and starts RdAgent and WindowsAzureGuestAgent), and
// check then reads 2.7.41491.1010 from WaAppAgent.exe and says ready.
func TestFreshInstall(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-28s %6s", "scenario total", since(start)) }()
	p := newPrefix(t, "", "")
	before := p.f.hit("/agent.msi").Load()

	rep, r := p.check("check (nothing installed)")
	wantExit(t, "check", r, 1, nil)
	wantOS(t, &rep, defaultBuild, defaultProduct)
	wantNotInstalled(t, &rep)
	wantCheck(t, &rep, "backup.idle", "pass")

	res, r := p.ensure("ensure (install)", p.msiEnv(p.f.newSHA))
	wantExit(t, "ensure", r, 0, res.ExitCode)
	if res.Plan.Action != "install" || res.Outcome != "ready" {
		t.Errorf("ensure plan %q outcome %q (%s), want install, ready", res.Plan.Action, res.Outcome, res.Message)
	}
	for _, id := range []string{"admin", "lock", "backup.idle", "source"} {
		if s, ok := findStep(res.Preconditions, id); !ok || s.Status != "pass" {
			t.Errorf("precondition %s = %+v, want pass", id, s)
		}
	}
	if s, ok := findStep(res.Actions, "msiexec"); !ok || s.Status != "pass" || !strings.Contains(s.Message, "exit 0") {
		t.Errorf("action msiexec = %+v, want pass with exit 0", s)
	}
	if res.VersionBefore != "" || res.VersionAfter != newVersion || res.RebootRequired {
		t.Errorf("ensure versions %q → %q, reboot %v; want \"\" → %s, false", res.VersionBefore, res.VersionAfter, res.RebootRequired, newVersion)
	}
	if n := p.f.hit("/agent.msi").Load() - before; n != 1 {
		t.Errorf("the MSI was requested %d times from the loopback server, want 1", n)
	}
	if res.Report != nil {
		wantReadyWith(t, res.Report, newVersion)
	}
	for _, d := range p.workDirs() {
		if u := filesUnder(d, ".unverified"); len(u) > 0 {
			t.Errorf("left behind after a verified install: %v", u)
		}
	}
	// The download went to %ProgramData%\agentkeeper\downloads, never to a
	// %TEMP% folder another user could have made, and msiexec's log is there.
	wantDownloadsInProgramData(t, p, ".msi", ".log")

	rep, r = p.check("check (after ensure)")
	wantExit(t, "check", r, 0, nil)
	wantOS(t, &rep, defaultBuild, defaultProduct)
	wantReadyWith(t, &rep, newVersion)
	// The backup path of a Server 2019 prefix (prefix.sh gives it .NET 4.7.2,
	// VSS, COMSysApp, MSDTC and a running WMI), judged through the real
	// registry, service manager and GetDiskFreeSpaceEx.
	wantCheck(t, &rep, "windows.dotnet", "pass", ".NET Framework 4.7.2 (Release 461814")
	wantCheck(t, &rep, "windows.services", "pass", "VSS, COMSysApp, MSDTC, msiserver are not disabled; Winmgmt is running")
	wantCheck(t, &rep, "network.proxy", "pass", "connects directly")
	wantCheck(t, &rep, "disk.space", "pass", `system drive C:\`)
	wantCheck(t, &rep, "backup.extension", "pass", "not installed")

	// The service manager, asked by Wine's own sc.exe, agrees.
	t0 := time.Now()
	for _, name := range []string{"RdAgent", "WindowsAzureGuestAgent"} {
		if st := p.scQuery(name); st != "RUNNING" {
			t.Errorf("sc query %s: state %q, want RUNNING", name, st)
		}
	}
	t.Logf("%-28s %6s", "sc query (both services)", since(t0))

	// A second ensure changes nothing.
	res, r = p.ensure("ensure (again: nothing to do)", p.msiEnv(p.f.newSHA))
	wantExit(t, "ensure again", r, 0, res.ExitCode)
	if res.Plan.Action != "none" || len(res.Actions) != 0 {
		t.Errorf("second ensure: plan %q, actions %+v; want none and no action", res.Plan.Action, res.Actions)
	}
}

// An agent older than the minimum (installed by its own MSI, services
// running): check fails agent.version; ensure with a wrong SHA-256 refuses
// the download and leaves the old agent alone; ensure with the right one
// updates it (major upgrade: the old product and its services are replaced).
func TestUpdateOldAgent(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-28s %6s", "scenario total", since(start)) }()
	p := newPrefix(t, "", "")
	p.msiexec("msiexec /i old MSI (setup)", p.f.oldMSI)
	oldBytes, err := os.ReadFile(p.host(winAgentExe))
	if err != nil {
		t.Fatalf("the old MSI did not install %s: %v", winAgentExe, err)
	}

	rep, r := p.check("check (old agent)")
	wantExit(t, "check", r, 1, nil)
	wantOS(t, &rep, defaultBuild, defaultProduct)
	if rep.Agent.Version != oldVersion || !isTrue(rep.Agent.Installed) {
		t.Errorf("agent version %q installed %s, want %s true", rep.Agent.Version, show(rep.Agent.Installed), oldVersion)
	}
	wantCheck(t, &rep, "agent.installed", "pass", winAgentExe)
	wantCheck(t, &rep, "agent.version", "fail", oldVersion, minVersion)
	wantVersionFromFile(t, &rep)
	// The old MSI's services run: only the version is wrong.
	wantCheck(t, &rep, "agent.service", "pass")
	if string(rep.Agent.ServiceRunning) != "true" {
		t.Errorf("agent.service_running = %s with the old agent's services running, want true", rep.Agent.ServiceRunning)
	}

	// Wrong SHA-256: refused, the old agent stays.
	wrong := strings.Repeat("0", 64)
	res, r := p.ensure("ensure (wrong SHA-256)", p.msiEnv(wrong))
	wantExit(t, "ensure wrong sha", r, 1, res.ExitCode)
	wantRefused(t, p, &res, wrong)
	if b, err := os.ReadFile(p.host(winAgentExe)); err != nil || string(b) != string(oldBytes) {
		t.Errorf("after a refused MSI, %s changed (err %v)", winAgentExe, err)
	}
	if res.Report != nil && res.Report.Agent.Version != oldVersion {
		t.Errorf("after a refused MSI the report says version %q, want %s", res.Report.Agent.Version, oldVersion)
	}

	res, r = p.ensure("ensure (update)", p.msiEnv(p.f.newSHA))
	wantExit(t, "ensure", r, 0, res.ExitCode)
	if res.Plan.Action != "update" || res.Outcome != "ready" {
		t.Errorf("ensure plan %q outcome %q (%s), want update, ready", res.Plan.Action, res.Outcome, res.Message)
	}
	if res.VersionBefore != oldVersion || res.VersionAfter != newVersion {
		t.Errorf("ensure versions %q → %q, want %s → %s", res.VersionBefore, res.VersionAfter, oldVersion, newVersion)
	}

	rep, r = p.check("check (after update)")
	wantExit(t, "check", r, 0, nil)
	wantReadyWith(t, &rep, newVersion)
}

// Nothing installed and a wrong SHA-256: ensure downloads, refuses, never
// runs msiexec and leaves no *.unverified file.
func TestWrongSHA256NothingInstalled(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-28s %6s", "scenario total", since(start)) }()
	p := newPrefix(t, "", "")
	before := p.f.hit("/agent.msi").Load()

	// The pin of another file: the old MSI's bytes are not the new MSI's.
	wrong := strings.Repeat("ab", 32)
	res, r := p.ensure("ensure (wrong SHA-256)", p.msiEnv(wrong))
	wantExit(t, "ensure", r, 1, res.ExitCode)
	if res.Plan.Action != "install" {
		t.Errorf("plan %q, want install", res.Plan.Action)
	}
	wantRefused(t, p, &res, wrong)
	if n := p.f.hit("/agent.msi").Load() - before; n != 1 {
		t.Errorf("the MSI was requested %d times, want 1 (downloaded, then refused)", n)
	}
	if _, err := os.Stat(p.host(winAgentExe)); err == nil {
		t.Errorf("%s exists after a refused MSI", winAgentExe)
	}
	if res.Report != nil {
		wantNotInstalled(t, res.Report)
	}
}

// wantRefused fails unless ensure refused the MSI before msiexec: outcome
// failed, the message names the verification, no msiexec action, no
// msiexec log and no *.unverified file in the work folder.
func wantRefused(t *testing.T, p *prefix, res *ensureResult, wrong string) {
	t.Helper()
	if res.Outcome != "failed" || !strings.Contains(res.Message, "refused") || !strings.Contains(strings.ToLower(res.Message), "sha") {
		t.Errorf("ensure outcome %q message %q, want failed and the MSI refused for its SHA-256", res.Outcome, res.Message)
	}
	if !strings.Contains(res.Message, wrong) || !strings.Contains(res.Message, p.f.newSHA) {
		t.Errorf("ensure message %q does not name the expected (%s) and actual (%s) SHA-256", res.Message, wrong, p.f.newSHA)
	}
	if s, ok := findStep(res.Actions, "msiexec"); ok {
		t.Errorf("msiexec ran after a refused download: %+v", s)
	}
	dirs := p.workDirs()
	if len(dirs) != 1 || !strings.HasSuffix(filepath.ToSlash(dirs[0]), "ProgramData/agentkeeper/downloads") {
		t.Errorf("work folders %v under %s/drive_c, want only ProgramData/agentkeeper/downloads", dirs, p.dir)
	}
	for _, d := range dirs {
		if u := filesUnder(d, ".unverified"); len(u) > 0 {
			t.Errorf("left behind after a refused MSI: %v", u)
		}
		if l := filesUnder(d, ".log"); len(l) > 0 {
			t.Errorf("msiexec log after a refused MSI (msiexec must not run): %v", l)
		}
		if m := filesUnder(d, ".msi"); len(m) > 0 {
			t.Errorf("verified MSI after a refused download: %v", m)
		}
	}
}

// A running IaaSBcdrExtension.exe (an Azure Backup snapshot) defers ensure
// (exit 75) before anything is downloaded or installed; once it has ended,
// ensure installs. The prefix reports another build (Server 2022) to show the
// registry is really read.
func TestBackupRunningDefers(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-28s %6s", "scenario total", since(start)) }()
	const build, product = "20348", "Windows Server 2022 Datacenter"
	p := newPrefix(t, build, product)
	stop := p.startBackup()
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	before := p.f.hit("/agent.msi").Load()

	rep, r := p.check("check (backup running)")
	wantExit(t, "check", r, 1, nil)
	wantOS(t, &rep, build, product)
	if !isTrue(rep.Backup.Running) {
		t.Errorf("backup.running = %s with IaaSBcdrExtension.exe running, want true", show(rep.Backup.Running))
	}
	seen := false
	for _, e := range rep.Backup.Evidence {
		if e.Kind == "process" && strings.Contains(strings.ToLower(e.What+" "+e.Where), "iaasbcdrextension.exe") {
			seen = true
		}
	}
	if !seen {
		t.Errorf("backup evidence %+v does not name the IaaSBcdrExtension.exe process", rep.Backup.Evidence)
	}
	if c, _ := rep.check("backup.idle"); c.Status == "pass" {
		t.Errorf("check backup.idle passes with a backup running: %s", c.Message)
	}

	res, r := p.ensure("ensure (backup running)", p.msiEnv(p.f.newSHA))
	wantExit(t, "ensure", r, 75, res.ExitCode)
	if res.Outcome != "deferred" {
		t.Errorf("ensure outcome %q (%s), want deferred", res.Outcome, res.Message)
	}
	if s, ok := findStep(res.Preconditions, "backup.idle"); !ok || s.Status != "deferred" || !strings.Contains(strings.ToLower(s.Message), "iaasbcdrextension.exe") {
		t.Errorf("precondition backup.idle = %+v, want deferred naming IaaSBcdrExtension.exe", s)
	}
	if len(res.Actions) != 0 {
		t.Errorf("actions while a backup runs: %+v", res.Actions)
	}
	if n := p.f.hit("/agent.msi").Load() - before; n != 0 {
		t.Errorf("the MSI was downloaded %d times while a backup runs, want 0", n)
	}
	if _, err := os.Stat(p.host(winAgentExe)); err == nil {
		t.Errorf("%s installed while a backup runs", winAgentExe)
	}

	t0 := time.Now()
	stop()
	stopped = true
	t.Logf("%-28s %6s", "stop IaaSBcdrExtension.exe", since(t0))

	res, r = p.ensure("ensure (backup ended)", p.msiEnv(p.f.newSHA))
	wantExit(t, "ensure after backup", r, 0, res.ExitCode)
	if res.Report != nil {
		wantOS(t, res.Report, build, product)
		wantReadyWith(t, res.Report, newVersion)
	}
}

// A Windows 7 client (build 7601, no InstallationType, ProductType WinNT)
// is refused by Azure's rules: os.supported fails and ensure does not try.
// (Server 2008 R2 and 2012 R2 are supported: TestWindowsReleasesByAzureRules.)
func TestOldWindowsUnsupported(t *testing.T) {
	start := time.Now()
	defer func() { t.Logf("%-28s %6s", "scenario total", since(start)) }()
	p := newPrefix(t, "7601", "Windows 7 Professional", "AK_PREFIX_INSTALLATION_TYPE=-", "AK_PREFIX_EDITION=Professional",
		"AK_PREFIX_PRODUCT_TYPE=WinNT", "AK_PREFIX_CURRENT_VERSION=6.1", "AK_PREFIX_LEGACY=1")
	before := p.f.hit("/agent.msi").Load()

	rep, r := p.check("check (Windows 7)")
	wantExit(t, "check", r, 1, nil)
	if rep.OS.Version != "6.1.7601" || rep.OS.Name != "Windows 7 Professional" {
		t.Errorf("os = %q %q, want 6.1.7601, Windows 7 Professional", rep.OS.Version, rep.OS.Name)
	}
	wantCheck(t, &rep, "os.supported", "fail", "build 7601", "Windows 7 client")
	wantCheck(t, &rep, "agentkeeper.runtime", "warn", "Windows 10 / Server 2016", "check --root")
	if !isFalse(rep.Agent.Supported) {
		t.Errorf("agent.supported = %s, want false", show(rep.Agent.Supported))
	}

	res, r := p.ensure("ensure (Windows 7)", p.msiEnv(p.f.newSHA))
	wantExit(t, "ensure", r, 1, res.ExitCode)
	if res.Plan.Action != "impossible" || len(res.Actions) != 0 {
		t.Errorf("ensure plan %q actions %+v, want impossible and none", res.Plan.Action, res.Actions)
	}
	if n := p.f.hit("/agent.msi").Load() - before; n != 0 {
		t.Errorf("the MSI was downloaded %d times on an unsupported Windows, want 0", n)
	}
}

// wantDownloadsInProgramData fails unless C:\ProgramData\agentkeeper\downloads
// holds a file with each of exts and no %TEMP%\agentkeeper folder exists.
func wantDownloadsInProgramData(t *testing.T, p *prefix, exts ...string) {
	t.Helper()
	dirs := p.workDirs()
	if len(dirs) != 1 || !strings.HasSuffix(filepath.ToSlash(dirs[0]), "drive_c/ProgramData/agentkeeper/downloads") {
		t.Errorf("work folders %v, want only drive_c/ProgramData/agentkeeper/downloads", dirs)
		return
	}
	for _, ext := range exts {
		if len(filesUnder(dirs[0], ext)) == 0 {
			t.Errorf("no %s file in %s", ext, dirs[0])
		}
	}
}
