//go:build linux

package msitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/e2e/winehost"
)

// The versions built by TestMain: VERSION (what git describe would say) and
// the ProductVersion package-msi.sh derives from it.
const (
	oldVersion    = "v0.9.0-3-g0123abc"
	oldMSIVersion = "0.9.0.3"
	newVersion    = "v1.0.0"
	newMSIVersion = "1.0.0"
)

// Windows paths inside every prefix.
const (
	winExe    = `C:\Program Files\agentkeeper\agentkeeper.exe`
	winConfig = `C:\ProgramData\agentkeeper\config.yaml`
	// defaultListen is service.listen's default, which the shipped config
	// leaves alone.
	defaultListen = "127.0.0.1:9867"
)

// setupTimeout bounds TestMain's builds (winehost.CmdTimeout each wine
// command).
const setupTimeout = 5 * time.Minute

// build is one MSI made by scripts/package-msi.sh.
type build struct {
	version string // VERSION given to the script
	msi     string // host path
	sha256  string
	took    time.Duration
}

type fixtures struct {
	repo    string
	wineDir string
	work    string
	config  []byte // packaging/config.yaml
	newMSI  build  // newVersion
	again   build  // newVersion once more, into another folder (reproducibility)
	oldMSI  build  // oldVersion
}

var (
	fx       *fixtures
	setupErr error
)

func TestMain(m *testing.M) {
	t0 := time.Now()
	fx, setupErr = setup()
	if setupErr == nil {
		fmt.Fprintf(os.Stderr, "msitest: 3 MSIs built in %s (%s %s, again %s, %s %s)\n", time.Since(t0).Round(100*time.Millisecond),
			newVersion, fx.newMSI.took.Round(100*time.Millisecond), fx.again.took.Round(100*time.Millisecond),
			oldVersion, fx.oldMSI.took.Round(100*time.Millisecond))
	}
	code := m.Run()
	if fx != nil {
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

// tools are what the tests run; package-msi.sh installs wixl, msitools and
// faketime itself, lib.sh (make deps) the rest.
var tools = []string{"wine", "wineserver", "go", "bash", "git"}

func setup() (*fixtures, error) {
	if missing := winehost.Missing(tools); len(missing) > 0 {
		return nil, fmt.Errorf("missing %s: install wine wine64 (make deps)", strings.Join(missing, ", "))
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	f := &fixtures{repo: repo, wineDir: filepath.Join(repo, "e2e", "wine")}
	if f.config, err = os.ReadFile(filepath.Join(repo, "packaging", "config.yaml")); err != nil {
		return nil, err
	}
	if f.work, err = os.MkdirTemp("", "agentkeeper-msitest-"); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	// Three builds at once: the same version twice (into different folders)
	// and an older one.
	jobs := []struct {
		b   *build
		ver string
		dir string
	}{
		{&f.newMSI, newVersion, "new"},
		{&f.again, newVersion, "again"},
		{&f.oldMSI, oldVersion, "old"},
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(f.work, j.dir)
			start := time.Now()
			cmd := exec.CommandContext(ctx, "bash", filepath.Join(repo, "scripts", "package-msi.sh"))
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "VERSION="+j.ver, "OUT_DIR="+out)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if _, err := cmd.Output(); err != nil {
				errs[i] = fmt.Errorf("VERSION=%s scripts/package-msi.sh: %v\n%s", j.ver, err, stderr.String())
				return
			}
			j.b.version = j.ver
			j.b.took = time.Since(start)
			j.b.msi = filepath.Join(out, "agentkeeper-"+j.ver+"-amd64.msi")
			b, err := os.ReadFile(j.b.msi)
			if err != nil {
				errs[i] = fmt.Errorf("VERSION=%s: the script did not write %s: %v\n%s", j.ver, j.b.msi, err, stderr.String())
				return
			}
			sum := sha256.Sum256(b)
			j.b.sha256 = hex.EncodeToString(sum[:])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		os.RemoveAll(f.work)
		return nil, err
	}
	return f, nil
}

// since formats the time since start for the timing lines.
func since(start time.Time) string { return winehost.Since(start) }

// prefix is one throwaway Wine prefix made by prefix.sh.
type prefix struct {
	t   *testing.T
	f   *fixtures
	dir string
	h   *winehost.Prefix
}

// newPrefix makes a prefix reporting Windows Server 2019, starts a process
// that keeps its wineserver alive (Wine stops every service a few seconds
// after the last ordinary process of the prefix ends; Windows does not), and
// deletes it all when the test ends.
func newPrefix(t *testing.T) *prefix {
	t.Helper()
	f := need(t)
	start := time.Now()
	h := winehost.NewPrefix(t, f.wineDir, f.work)
	dir := h.Dir
	p := &prefix{t: t, f: f, dir: dir, h: h}
	// Wine 8.0 gives services ProgramData=C:\users\Public (its userenv
	// makes the LocalSystem environment so), while msiexec's
	// CommonAppDataFolder, every other process and Windows itself say
	// C:\ProgramData. agentkeeper's default config is %ProgramData%\
	// agentkeeper\config.yaml: point Wine's service view at the same folder,
	// as it is on Windows. A dangling link until the MSI makes the folder.
	link := filepath.Join(dir, "drive_c", "users", "Public", "agentkeeper")
	if err := os.Symlink(filepath.Join("..", "..", "ProgramData", "agentkeeper"), link); err != nil {
		t.Fatalf("linking Wine's service ProgramData to C:\\ProgramData: %v", err)
	}
	p.keepAlive()
	t.Logf("%-32s %6s  %s", "prefix.sh create", since(start), dir)
	return p
}

// keepAlive runs `wine cmd.exe` reading a pipe that stays open until the
// test ends: an ordinary process, so that the wineserver (and with it the
// service) keeps running between the test's wine commands.
func (p *prefix) keepAlive() {
	r, w, err := os.Pipe()
	if err != nil {
		p.t.Fatal(err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := p.h.Background("cmd.exe")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, devnull, devnull
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("wine cmd.exe: %v", err)
	}
	r.Close()
	devnull.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	// Registered after prefix.sh destroy, so it runs before it.
	p.t.Cleanup(func() {
		w.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			// Only the process group started here, by its id.
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
}

// host turns a path on the prefix's C: drive into a host path.
func (p *prefix) host(win string) string { return p.h.Host(win) }

// result is what one wine command did.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// wine runs `wine ARGV...` in the prefix and waits for it
// (winehost.Prefix.Wine).
func (p *prefix) wine(argv ...string) result {
	p.t.Helper()
	r := p.h.Wine(nil, argv...)
	return result{code: r.Code, stdout: r.Stdout, stderr: r.Stderr, took: r.Took}
}

// msiexec runs `msiexec ACTION MSI /quiet /norestart /l*v LOG` (ACTION /i or
// /x) and returns its exit code, the log's tail when it is not 0.
func (p *prefix) msiexec(step, action, msi string) (int, string) {
	p.t.Helper()
	log := `C:\msiexec-` + strings.TrimPrefix(action, "/") + `.log`
	r := p.wine("msiexec", action, `Z:`+strings.ReplaceAll(msi, "/", `\`), "/quiet", "/norestart", "/l*v", log)
	p.t.Logf("%-32s %6s  exit %d", step, r.took.Round(100*time.Millisecond), r.code)
	if r.code == 0 {
		return 0, ""
	}
	b, _ := os.ReadFile(p.host(log))
	return r.code, r.stderr + "\n" + msiLogFailure(winehost.DecodeLog(b), 30)
}

// mustMsiexec fails the test unless msiexec exits 0.
func (p *prefix) mustMsiexec(step, action, msi string) {
	p.t.Helper()
	if code, log := p.msiexec(step, action, msi); code != 0 {
		p.t.Fatalf("%s: msiexec %s exit %d, want 0; the log says:\n%s", step, action, code, log)
	}
}

// scQuery asks Wine's sc.exe about the service: its state ("RUNNING",
// "STOPPED", ...; "" when sc knows no such service) and sc's exit code.
func (p *prefix) scQuery(name string) (string, result) {
	p.t.Helper()
	r := p.wine("sc", "query", name)
	return winehost.SCState(r.stdout), r
}

// waitRunning polls sc query until the service runs (msiexec waited for it
// already; this only absorbs the SCM's bookkeeping), at most 20 s.
func (p *prefix) waitRunning(step, name string) {
	p.t.Helper()
	start := time.Now()
	var st string
	var r result
	for deadline := time.Now().Add(20 * time.Second); ; {
		if st, r = p.scQuery(name); st == "RUNNING" || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	p.t.Logf("%-32s %6s  %s", step, since(start), st)
	if st != "RUNNING" {
		p.t.Fatalf("%s: sc query %s: state %q, want RUNNING\n%s", step, name, st, r.stdout)
	}
}

// healthz waits for GET http://ADDR/healthz to answer 200 (the service is
// agentkeeper's loop, alive, reading the config it was given), at most 20 s.
func (p *prefix) healthz(step, addr string) {
	p.t.Helper()
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			p.t.Logf("%-32s %6s  200 %s", step, since(start), strings.TrimSpace(string(body)))
			return
		}
		last = fmt.Sprintf("%d %s", resp.StatusCode, body)
	}
	p.t.Fatalf("%s: GET http://%s/healthz: %s, want 200 within 20s", step, addr, last)
}

// wantServed waits until GET http://ADDR/readyz carries a report (200 or
// 503: ready or not, the body is the last check's report) from agentkeeper
// version want, at most 20 s: the service that answers is the installed exe.
func (p *prefix) wantServed(step, addr, want string) {
	p.t.Helper()
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		var rep struct {
			Version string `json:"agentkeeper_version"`
		}
		if json.Unmarshal(body, &rep) == nil && rep.Version == want {
			p.t.Logf("%-32s %6s  %d, agentkeeper_version %s", step, since(start), resp.StatusCode, rep.Version)
			return
		}
		last = fmt.Sprintf("%d %.200s", resp.StatusCode, body)
	}
	p.t.Fatalf("%s: GET http://%s/readyz: %s; want a report from agentkeeper %s within 20s", step, addr, last, want)
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// portFree fails the test when something already listens on addr: the
// service could not start there, and the test would blame the MSI.
func portFree(t *testing.T, addr string) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("something on this machine already listens on %s (service.listen's default): stop it, the installed service must bind it", addr)
	}
}

// registeredVersions lists DisplayVersion of every Uninstall key whose
// DisplayName is agentkeeper (one per installed product, registry order).
func (p *prefix) registeredVersions() []string {
	p.t.Helper()
	r := p.wine("reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall`, "/s")
	var versions []string
	var name, version string
	flush := func() {
		if name == "agentkeeper" {
			versions = append(versions, version)
		}
		name, version = "", ""
	}
	for _, line := range strings.Split(strings.ReplaceAll(r.stdout, "\r", ""), "\n") {
		if strings.HasPrefix(line, "HKEY_") {
			flush()
			continue
		}
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "DisplayName" {
			name = strings.Join(f[2:], " ")
		}
		if len(f) >= 3 && f[0] == "DisplayVersion" {
			version = f[2]
		}
	}
	flush()
	return versions
}

// msiLogFailure returns the n lines of an msiexec log that end with the
// first action that failed (the rollback after it says little), or its last
// n lines; the Property(...) dump is left out. A failed StartServices gets a
// note on what that means here.
func msiLogFailure(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") {
		if !strings.HasPrefix(l, "Property(") && l != "" {
			lines = append(lines, l)
		}
	}
	end := len(lines)
	for i, l := range lines {
		// Wine logs a failed action as "Return value 0" (error) or 3.
		if strings.HasPrefix(l, "Action ended") && (strings.HasSuffix(l, "Return value 0.") || strings.HasSuffix(l, "Return value 3.")) &&
			!strings.Contains(l, "MigrateFeatureStates") {
			end = i + 1
			break
		}
	}
	first := max(0, end-n)
	out := strings.Join(lines[first:end], "\n")
	if end > 0 && strings.Contains(lines[end-1], "StartServices") {
		out += "\n(StartServices failed: the service did not report RUNNING to the service manager in time, " +
			"so Windows Installer rolled the install back. If agentkeeper.exe run under services.exe does not call " +
			"StartServiceCtrlDispatcher, Wine's services.exe gives up after 10 s with error 1053.)"
	}
	return out
}
