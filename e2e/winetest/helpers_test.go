//go:build linux

package winetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/e2e/winehost"
)

// The fixture versions. Windows Installer compares only the first three
// fields, so the old and new MSIs differ there; the old one is below the
// default minimum 2.6.1198.718, the new one above it.
const (
	oldVersion = "2.6.1190.0"
	newVersion = "2.7.41491.1010"
	minVersion = "2.6.1198.718"
)

// What prefix.sh makes the registry say (server2019 by default).
const (
	defaultBuild   = "17763"
	defaultProduct = "Windows Server 2019 Datacenter"
)

// Windows paths inside every prefix.
const (
	winAgentExe = `C:\WindowsAzure\Packages\WaAppAgent.exe`
	winLockFile = `C:\ProgramData\agentkeeper-e2e\ensure.lock`
	// winBackupDir is where the Windows backup extension's process runs from
	// on Azure (the folder name does not matter to agentkeeper, the process
	// name does).
	winBackupDir = `Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.0.0`
)

// setupTimeout bounds TestMain's builds (winehost.CmdTimeout each wine
// command).
const setupTimeout = 5 * time.Minute

// fixtures is what TestMain builds once for every scenario.
type fixtures struct {
	repo      string // repository root
	wineDir   string // e2e/wine
	work      string // temporary folder for everything below
	exe       string // agentkeeper.exe (GOOS=windows)
	newMSI    string // newVersion, with services
	oldMSI    string // oldVersion, with services
	backupExe string // a fixture exe named IaaSBcdrExtension.exe ("sleep N")
	newSHA    string
	srv       *httptest.Server
	hits      sync.Map // URL path -> *atomic.Int64
}

var (
	fx       *fixtures
	setupErr error
)

func TestMain(m *testing.M) {
	t0 := time.Now()
	fx, setupErr = setup()
	if setupErr == nil {
		fmt.Fprintf(os.Stderr, "winetest: agentkeeper.exe and fixtures built in %s\n", time.Since(t0).Round(100*time.Millisecond))
	}
	code := m.Run()
	if fx != nil {
		fx.srv.Close()
		os.RemoveAll(fx.work)
	}
	os.Exit(code)
}

// need fails the test (never skips) when the setup failed.
func need(t *testing.T) *fixtures {
	t.Helper()
	if setupErr != nil {
		t.Fatalf("setup: %v", setupErr)
	}
	return fx
}

// tools are what the scenarios run; lib.sh ensure_tools installs them.
var tools = []string{"wine", "wineserver", "wixl", "x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-windres", "go", "bash"}

func setup() (*fixtures, error) {
	if missing := winehost.Missing(tools); len(missing) > 0 {
		return nil, fmt.Errorf("missing %s: install wine wine64 gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 wixl (make deps, or bash e2e/wine/lib.sh's ensure_tools)", strings.Join(missing, ", "))
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	f := &fixtures{repo: repo, wineDir: filepath.Join(repo, "e2e", "wine")}
	if f.work, err = os.MkdirTemp("", "agentkeeper-winetest-"); err != nil {
		return nil, err
	}
	fail := func(err error) (*fixtures, error) {
		os.RemoveAll(f.work)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	f.exe = filepath.Join(f.work, "agentkeeper.exe")
	f.newMSI = filepath.Join(f.work, "agent-"+newVersion+".msi")
	f.oldMSI = filepath.Join(f.work, "agent-"+oldVersion+".msi")
	f.backupExe = filepath.Join(f.work, "IaaSBcdrExtension.exe")
	svc := []string{"AK_FIXTURE_SERVICES=1"}
	jobs := []struct {
		name string
		env  []string
		dir  string
		argv []string
	}{
		{"go build agentkeeper.exe", []string{"GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0"}, repo,
			[]string{"go", "build", "-trimpath", "-ldflags", "-X main.version=winetest", "-o", f.exe, "./cmd/agentkeeper"}},
		{"fixture MSI " + newVersion, svc, f.work, []string{"bash", filepath.Join(f.wineDir, "fixtures.sh"), "msi", newVersion, f.newMSI}},
		{"fixture MSI " + oldVersion, svc, f.work, []string{"bash", filepath.Join(f.wineDir, "fixtures.sh"), "msi", oldVersion, f.oldMSI}},
		{"fixture IaaSBcdrExtension.exe", nil, f.work, []string{"bash", filepath.Join(f.wineDir, "fixtures.sh"), "exe", "1.0.0.0", f.backupExe}},
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.CommandContext(ctx, j.argv[0], j.argv[1:]...)
			cmd.Dir = j.dir
			cmd.Env = append(os.Environ(), j.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", j.name, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	b, err := os.ReadFile(f.newMSI)
	if err != nil {
		return fail(err)
	}
	sum := sha256.Sum256(b)
	f.newSHA = hex.EncodeToString(sum[:])

	mux := http.NewServeMux()
	serve := func(urlPath, file string) {
		mux.HandleFunc(urlPath, func(w http.ResponseWriter, r *http.Request) {
			f.hit(urlPath).Add(1)
			http.ServeFile(w, r, file)
		})
	}
	serve("/agent.msi", f.newMSI)
	// httptest listens on 127.0.0.1: the loopback that Wine's processes share.
	f.srv = httptest.NewServer(mux)
	return f, nil
}

// hit counts the requests for urlPath.
func (f *fixtures) hit(urlPath string) *atomic.Int64 {
	v, _ := f.hits.LoadOrStore(urlPath, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// msiURL is the agent MSI on the loopback server.
func (f *fixtures) msiURL() string { return f.srv.URL + "/agent.msi" }

// prefix is one throwaway Wine prefix made by prefix.sh.
type prefix struct {
	t   *testing.T
	f   *fixtures
	dir string
	h   *winehost.Prefix
}

// newPrefix makes a prefix that reports the given build and product name
// ("" for prefix.sh's defaults) and deletes it when the test ends.
func newPrefix(t *testing.T, build, product string, extra ...string) *prefix {
	t.Helper()
	f := need(t)
	start := time.Now()
	env := append([]string{}, extra...)
	if build != "" {
		env = append(env, "AK_PREFIX_BUILD="+build)
	}
	if product != "" {
		env = append(env, "AK_PREFIX_PRODUCT="+product)
	}
	h := winehost.NewPrefix(t, f.wineDir, f.work, env...)
	t.Logf("%-28s %6s  %s", "prefix.sh create", since(start), h.Dir)
	return &prefix{t: t, f: f, dir: h.Dir, h: h}
}

// since formats the time since start for the timing lines.
func since(start time.Time) string { return winehost.Since(start) }

// host turns a path inside the prefix's C: drive ("C:\\a\\b" or "a/b") into
// a host path.
func (p *prefix) host(win string) string { return p.h.Host(win) }

// result is what one wine command did.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// wine runs `wine ARGV...` in the prefix with extra environment and waits
// for it (winehost.Prefix.Wine).
func (p *prefix) wine(env []string, argv ...string) result {
	p.t.Helper()
	r := p.h.Wine(env, argv...)
	return result{code: r.Code, stdout: r.Stdout, stderr: r.Stderr, took: r.Took}
}

// akEnv is agentkeeper's configuration for every run: the lock file inside
// the prefix.
func akEnv(extra ...string) []string {
	return append([]string{"AGENTKEEPER_INSTALL_LOCK_FILE=" + winLockFile}, extra...)
}

// msiEnv configures ensure to fetch the fixture MSI from the loopback server
// and pin its SHA-256 (sha is the pin to use).
func (p *prefix) msiEnv(sha string) []string {
	return akEnv("AGENTKEEPER_WINDOWS_MSI="+p.f.msiURL(), "AGENTKEEPER_WINDOWS_MSI_SHA256="+sha)
}

// check runs `agentkeeper.exe check --json` and decodes the report.
func (p *prefix) check(step string, env ...string) (report, result) {
	p.t.Helper()
	r := p.wine(akEnv(env...), p.f.exe, "check", "--json")
	p.t.Logf("%-28s %6s  exit %d", step, r.took.Round(100*time.Millisecond), r.code)
	var rep report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		p.t.Fatalf("%s: check --json printed no JSON report (exit %d): %v\nstdout:\n%s\nstderr:\n%s", step, r.code, err, r.stdout, r.stderr)
	}
	return rep, r
}

// ensure runs `agentkeeper.exe ensure --json` with env and decodes the result.
func (p *prefix) ensure(step string, env []string, args ...string) (ensureResult, result) {
	p.t.Helper()
	r := p.wine(env, append([]string{p.f.exe, "ensure", "--json"}, args...)...)
	p.t.Logf("%-28s %6s  exit %d", step, r.took.Round(100*time.Millisecond), r.code)
	var res ensureResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		p.t.Fatalf("%s: ensure --json printed no JSON result (exit %d): %v\nstdout:\n%s\nstderr:\n%s", step, r.code, err, r.stdout, r.stderr)
	}
	return res, r
}

// msiexec installs an MSI from the host with Wine's msiexec, as a machine
// set up before agentkeeper arrives would have it.
func (p *prefix) msiexec(step, msi string) {
	p.t.Helper()
	log := filepath.Join(p.dir, "drive_c", "setup-msiexec.log")
	r := p.wine(nil, "msiexec", "/i", `Z:`+strings.ReplaceAll(msi, "/", `\`), "/quiet", "/norestart", "/l*v", `C:\setup-msiexec.log`)
	p.t.Logf("%-28s %6s  exit %d", step, r.took.Round(100*time.Millisecond), r.code)
	if r.code != 0 {
		b, _ := os.ReadFile(log)
		p.t.Fatalf("%s: msiexec exit %d\n%s\n%s", step, r.code, r.stderr, tail(winehost.DecodeLog(b), 30))
	}
}

// scQuery asks Wine's service control manager (sc.exe, not agentkeeper)
// for a service's state: "RUNNING", "STOPPED", ... or "" when it does not
// exist.
func (p *prefix) scQuery(name string) string {
	p.t.Helper()
	return winehost.SCState(p.wine(nil, "sc", "query", name).stdout)
}

// startBackup starts the fixture IaaSBcdrExtension.exe ("sleep 600") in the
// background and waits until it runs; the returned func stops it.
func (p *prefix) startBackup() (stop func()) {
	p.t.Helper()
	dir := filepath.Join(p.dir, "drive_c", filepath.FromSlash(winBackupDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	exe := filepath.Join(dir, "IaaSBcdrExtension.exe")
	b, err := os.ReadFile(p.f.backupExe)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		p.t.Fatal(err)
	}
	win := `C:\` + strings.ReplaceAll(winBackupDir, "/", `\`) + `\IaaSBcdrExtension.exe`
	cmd := p.h.Background(win, "sleep", "600")
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	defer devnull.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, devnull, devnull
	start := time.Now()
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", win, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop = func() {
		// Only the process group started here, by its id.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			p.t.Errorf("%s did not end after SIGKILL", win)
		}
	}
	// Under Wine a Windows process is a Linux process whose command line is
	// its Windows path: wait until it shows.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if pgRunsExe(cmd.Process.Pid, "IaaSBcdrExtension.exe") {
			break
		}
		select {
		case <-done:
			p.t.Fatalf("%s ended at once", win)
		default:
		}
		if time.Now().After(deadline) {
			stop()
			p.t.Fatalf("%s did not start within 30s", win)
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Logf("%-28s %6s  pid group %d", "start IaaSBcdrExtension.exe", since(start), cmd.Process.Pid)
	return stop
}

// pgRunsExe reports whether a process of process group pgid has a command
// line naming exe.
func pgRunsExe(pgid int, exe string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(exe)) {
			return true
		}
	}
	return false
}

// filesUnder lists the files below dir (host path) whose name ends in suffix.
func filesUnder(dir, suffix string) []string {
	var found []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(strings.ToLower(d.Name()), suffix) {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// workDirs are the folders ensure may download to:
// %ProgramData%\agentkeeper\downloads (made private to SYSTEM and
// Administrators), and the old %TEMP%\agentkeeper of any user of the
// prefix, which must stay unused.
func (p *prefix) workDirs() []string {
	var dirs []string
	for _, pat := range []string{"ProgramData/agentkeeper/downloads", "users/*/AppData/Local/Temp/agentkeeper", "users/*/Temp/agentkeeper", "windows/temp/agentkeeper"} {
		m, _ := filepath.Glob(filepath.Join(p.dir, "drive_c", pat))
		dirs = append(dirs, m...)
	}
	return dirs
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\r\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
