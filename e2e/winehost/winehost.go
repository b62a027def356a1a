//go:build linux

// Package winehost drives Wine prefixes from Linux tests: it makes and
// deletes throwaway prefixes with e2e/wine/prefix.sh and runs wine commands
// in them with the environment e2e/wine/lib.sh uses. It serves the
// end-to-end tests e2e/winetest and e2e/msitest.
package winehost

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CmdTimeout bounds one wine command (msiexec included; each takes a few
// seconds) and each run of prefix.sh.
const CmdTimeout = 2 * time.Minute

// Env is the environment every wine command gets, as e2e/wine/lib.sh sets
// it: quiet, headless, no Mono/Gecko prompts, no desktop menus.
var Env = []string{
	"WINEDEBUG=-all",
	"DISPLAY=",
	"WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d",
}

// wine64 is the Wine loader Debian's wine64 package installs.
const wine64 = "/usr/lib/wine/wine64"

// Missing lists which of tools are not on PATH, and Debian's wine64 loader
// when it is not installed; nil when everything is there.
func Missing(tools []string) []string {
	var missing []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat(wine64); err != nil {
		missing = append(missing, wine64+" (Debian package wine64)")
	}
	return missing
}

// Since formats the time since start for the timing lines.
func Since(start time.Time) string { return time.Since(start).Round(100 * time.Millisecond).String() }

// HostEnv is this process's environment without AGENTKEEPER_* and WINE*
// settings: Wine passes the Unix environment on to Windows programs, where
// they would leak into agentkeeper.exe.
func HostEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AGENTKEEPER_") && !strings.HasPrefix(kv, "WINE") {
			env = append(env, kv)
		}
	}
	return env
}

// DecodeLog turns msiexec's log (UTF-16LE with a BOM, or plain) into text.
func DecodeLog(b []byte) string {
	if len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE {
		var s strings.Builder
		for i := 2; i+1 < len(b); i += 2 {
			s.WriteRune(rune(uint16(b[i]) | uint16(b[i+1])<<8))
		}
		return s.String()
	}
	return string(b)
}

// Prefix is one throwaway Wine prefix made by prefix.sh.
type Prefix struct {
	T    *testing.T
	Dir  string // the prefix (WINEPREFIX) on the host
	Work string // host folder for the files that take a command's output
}

// NewPrefix runs `bash WINEDIR/prefix.sh create` with env added to this
// process's environment (AK_PREFIX_BUILD, AK_PREFIX_PRODUCT), fails the test
// unless it prints a Wine prefix, and runs `prefix.sh destroy` on it when
// the test ends. Temporary files go to work.
func NewPrefix(t *testing.T, wineDir, work string, env ...string) *Prefix {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(wineDir, "prefix.sh"), "create")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// stdout into a file, not a pipe: wine's helper processes (wineserver,
	// services.exe) inherit it and outlive the script.
	out, err := os.CreateTemp(work, "prefix-*.out")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd.Stdout = out
	if err := cmd.Run(); err != nil {
		t.Fatalf("prefix.sh create: %v\n%s", err, stderr.String())
	}
	b, _ := os.ReadFile(out.Name())
	dir := strings.TrimSpace(string(b))
	if fi, err := os.Stat(filepath.Join(dir, "drive_c")); err != nil || !fi.IsDir() {
		t.Fatalf("prefix.sh create printed %q, not a Wine prefix\n%s", dir, stderr.String())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), CmdTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(wineDir, "prefix.sh"), "destroy", dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("prefix.sh destroy %s: %v\n%s", dir, err, out)
		}
	})
	return &Prefix{T: t, Dir: dir, Work: work}
}

// Host turns a path inside the prefix's C: drive ("C:\\a\\b" or "a/b") into
// a host path.
func (p *Prefix) Host(win string) string {
	rel := strings.TrimPrefix(strings.TrimPrefix(win, `C:\`), `c:\`)
	return filepath.Join(p.Dir, "drive_c", filepath.FromSlash(strings.ReplaceAll(rel, `\`, "/")))
}

// Environ is the environment of a wine command in the prefix: HostEnv, Env,
// WINEPREFIX and then extra.
func (p *Prefix) Environ(extra ...string) []string {
	env := append(HostEnv(), Env...)
	env = append(env, "WINEPREFIX="+p.Dir)
	return append(env, extra...)
}

// Background is `wine ARGV...` in the prefix, in a process group of its own
// (so that it can be killed with everything it starts, by its id), for the
// caller to start.
func (p *Prefix) Background(argv ...string) *exec.Cmd {
	cmd := exec.Command("wine", argv...)
	cmd.Env = p.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Result is what one wine command did.
type Result struct {
	Code           int
	Stdout, Stderr string
	Took           time.Duration
}

// Wine runs `wine ARGV...` in the prefix with extra environment env and
// waits for it, at most CmdTimeout; it fails the test when wine cannot run
// or times out. stdout and stderr go to files: the services a command starts
// (and wine's own helper processes) inherit them and outlive the command, so
// pipes would never reach EOF.
func (p *Prefix) Wine(env []string, argv ...string) Result {
	p.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", argv...)
	cmd.Env = p.Environ(env...)
	outF, err := os.CreateTemp(p.Work, "stdout-*")
	if err != nil {
		p.T.Fatal(err)
	}
	errF, err := os.CreateTemp(p.Work, "stderr-*")
	if err != nil {
		p.T.Fatal(err)
	}
	defer func() {
		outF.Close()
		errF.Close()
		os.Remove(outF.Name())
		os.Remove(errF.Name())
	}()
	cmd.Stdout, cmd.Stderr = outF, errF
	start := time.Now()
	err = cmd.Run()
	r := Result{Took: time.Since(start)}
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	r.Stdout, r.Stderr = string(o), string(e)
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		p.T.Fatalf("wine %s: timed out after %s\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), CmdTimeout, r.Stdout, r.Stderr)
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		p.T.Fatalf("wine %s: %v", strings.Join(argv, " "), err)
	}
	return r
}

// SCState is the service state ("RUNNING", "STOPPED", ...) in the output of
// Wine's `sc query NAME`, "" when it names none (no such service).
func SCState(stdout string) string {
	for _, line := range strings.Split(stdout, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "STATE" {
			return f[3]
		}
	}
	return ""
}
