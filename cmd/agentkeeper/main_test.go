//go:build !windows

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
)

var binary string

// TestMain builds the real binary once; every test runs it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "agentkeeper-cmd")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "agentkeeper")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", binary, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func runBin(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	// A clean environment: no AGENTKEEPER_* from the caller.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func image(t *testing.T) string {
	dir := t.TempDir()
	agenttest.Tree(t, dir, agenttest.DebianImage("2.7.3.0-4.1"))
	return dir
}

func writeConfig(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// openConfig writes a config file every user may write.
func openConfig(t *testing.T) string {
	p := writeConfig(t, "log:\n  level: info\n")
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersion(t *testing.T) {
	r := runBin(t, nil, "version")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "agentkeeper v9.9.9-test" {
		t.Errorf("version: %+v", r)
	}
}

func TestExitCodes(t *testing.T) {
	img := image(t)
	tests := []struct {
		desc     string
		env      []string
		args     []string
		code     int
		inStderr string
	}{
		{desc: "ready image", args: []string{"check", "--root", img}, code: 0},
		{desc: "minimum raised by flag", args: []string{"check", "--root", img, "--linux-min-version", "2.9"}, code: 1},
		{desc: "minimum raised by env", env: []string{"AGENTKEEPER_LINUX_MIN_VERSION=2.9"}, args: []string{"check", "--root", img}, code: 1},
		{desc: "flag beats env", env: []string{"AGENTKEEPER_LINUX_MIN_VERSION=2.9"}, args: []string{"check", "--root", img, "--linux-min-version", "2.0"}, code: 0},
		{desc: "env beats file", env: []string{"AGENTKEEPER_LINUX_MIN_VERSION=2.0", "AGENTKEEPER_CONFIG=" + writeConfig(t, "linux:\n  min_version: 9.0\n")},
			args: []string{"check", "--root", img}, code: 0},
		{desc: "file beats default", args: []string{"check", "--root", img, "--config", writeConfig(t, "linux:\n  min_version: 9.0\n")}, code: 1},
		{desc: "garbage version in file", args: []string{"check", "--root", img, "--config", writeConfig(t, "linux:\n  min_version: banana\n")},
			code: 2, inStderr: "linux.min_version"},
		{desc: "garbage version in env", env: []string{"AGENTKEEPER_LINUX_MIN_VERSION=banana"}, args: []string{"check", "--root", img},
			code: 2, inStderr: "AGENTKEEPER_LINUX_MIN_VERSION"},
		{desc: "bad duration", args: []string{"check", "--root", img, "--config", writeConfig(t, "network:\n  timeout: soon\n")},
			code: 2, inStderr: "network.timeout"},
		{desc: "unknown key warns", args: []string{"check", "--root", img, "--config", writeConfig(t, "colour: blue\n")},
			code: 0, inStderr: "colour"},
		{desc: "listen off loopback warns", env: []string{"AGENTKEEPER_SERVICE_LISTEN=:9867"}, args: []string{"check", "--root", img},
			code: 0, inStderr: "/readyz then shows the whole report"},
		{desc: "config others can write warns", args: []string{"check", "--root", img, "--config", openConfig(t)},
			code: 0, inStderr: "is writable by every user (mode 0666)"},
		{desc: "invalid YAML", args: []string{"check", "--root", img, "--config", writeConfig(t, "linux: [\n")},
			code: 2, inStderr: "YAML"},
		{desc: "missing config file", args: []string{"check", "--root", img, "--config", "/nonexistent/agentkeeper.yaml"},
			code: 2, inStderr: "/nonexistent/agentkeeper.yaml"},
		{desc: "missing root", args: []string{"check", "--root", "/nonexistent/root"}, code: 2, inStderr: "--root"},
		{desc: "unknown command", args: []string{"frobnicate"}, code: 2, inStderr: "unknown command"},
		{desc: "unknown flag", args: []string{"check", "--frobnicate"}, code: 2, inStderr: "frobnicate"},
		{desc: "extra argument", args: []string{"check", "extra"}, code: 2},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := runBin(t, tc.env, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.inStderr != "" && !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tc.inStderr)
			}
		})
	}
}

func TestCheckJSON(t *testing.T) {
	img := image(t)
	r := runBin(t, nil, "check", "--root", img, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	// Every field README documents, and only those: the strict decoder
	// fails on a field the report has and README does not name.
	var rep struct {
		Ready          bool   `json:"ready"`
		Offline        bool   `json:"offline"`
		NetworkChecked bool   `json:"network_checked"`
		Root           string `json:"root"`
		OS             struct {
			Family  string   `json:"family"`
			ID      string   `json:"id"`
			Version string   `json:"version"`
			Name    string   `json:"name"`
			Like    []string `json:"like"`
			Azure   bool     `json:"azure"`
			Edition string   `json:"edition"`
			Server  bool     `json:"server"`
			Arch    string   `json:"arch"`
			Bits    int      `json:"bits"`
		} `json:"os"`
		Agent struct {
			Supported        bool   `json:"supported"`
			Package          string `json:"package"`
			Service          string `json:"service"`
			Installer        string `json:"installer"`
			Installed        bool   `json:"installed"`
			Version          string `json:"version"`
			PackageVersion   string `json:"package_version"`
			VersionSource    string `json:"version_source"`
			GoalStateVersion string `json:"goal_state_version"`
			GoalStateSource  string `json:"goal_state_source"`
			MinVersion       string `json:"min_version"`
			SupportedVersion string `json:"supported_version"`
			AutoUpdate       *bool  `json:"auto_update"`
			ServiceEnabled   bool   `json:"service_enabled"`
			ServiceRunning   *bool  `json:"service_running"`
		} `json:"agent"`
		Backup struct {
			Running  bool `json:"running"`
			Evidence []struct {
				Kind  string `json:"kind"`
				What  string `json:"what"`
				Where string `json:"where"`
			} `json:"evidence"`
			Notes []string `json:"notes"`
		} `json:"backup"`
		Checks []struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			Message string `json:"message"`
			Fix     string `json:"fix"`
		} `json:"checks"`
		Time               string `json:"time"`
		Hostname           string `json:"hostname"`
		AgentkeeperVersion string `json:"agentkeeper_version"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("not the documented JSON: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Errorf("more than one JSON value on stdout:\n%s", r.stdout)
	}
	if !rep.Ready || !rep.Offline || rep.OS.ID != "debian" || rep.Agent.Version != "2.7.3.0" ||
		rep.Agent.ServiceRunning != nil || len(rep.Checks) < 8 || rep.AgentkeeperVersion != "v9.9.9-test" {
		t.Errorf("report: %+v", rep)
	}

	// A broken image still gives one valid JSON object and exit 1.
	bad := t.TempDir()
	agenttest.Tree(t, bad, map[string]string{"etc/os-release": "\x00\x01\x02\xff garbage", "usr/lib/os-release": "->/etc/os-release"})
	r = runBin(t, nil, "check", "--root", bad, "--json")
	var any map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &any); err != nil || r.code != 1 || any["ready"] != false {
		t.Errorf("broken image: exit %d err %v\n%s", r.code, err, r.stdout)
	}
}

func TestCheckText(t *testing.T) {
	img := image(t)
	if err := os.WriteFile(filepath.Join(img, "etc/waagent.conf"), []byte("Extensions.Enabled=n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runBin(t, nil, "check", "--root", img)
	if r.code != 1 || !strings.Contains(r.stdout, "FAIL  agent.extensions") ||
		!strings.Contains(r.stdout, "fix: set Extensions.Enabled=y") || !strings.Contains(r.stdout, "NOT READY") {
		t.Errorf("exit %d\n%s", r.code, r.stdout)
	}
}

// TestCheckSkip: checks.skip from the flag, the environment or the file turns
// a failing check into a skip; an unknown ID is warned about.
func TestCheckSkip(t *testing.T) {
	img := image(t)
	if err := os.WriteFile(filepath.Join(img, "etc/waagent.conf"), []byte("Extensions.Enabled=n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc     string
		env      []string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{desc: "not skipped", code: 1, inStdout: "FAIL  agent.extensions"},
		{desc: "--skip", args: []string{"--skip", "agent.extensions"}, code: 0, inStdout: "skipped by configuration"},
		{desc: "--skip twice", args: []string{"--skip", "agent.python", "--skip=agent.extensions"}, code: 0, inStdout: "skipped by configuration"},
		{desc: "environment", env: []string{"AGENTKEEPER_CHECKS_SKIP=agent.python, agent.extensions"}, code: 0, inStdout: "skipped by configuration"},
		{desc: "file", args: []string{"--config", writeConfig(t, "checks:\n  skip: [agent.extensions]\n")}, code: 0, inStdout: "skipped by configuration"},
		{desc: "a typo", args: []string{"--skip", "agent.extension"}, code: 1,
			inStderr: `agentkeeper: warning: checks.skip: "agent.extension" is not a check, ignored (did you mean "agent.extensions"?)`},
		{desc: "--no-network", args: []string{"--no-network", "--skip", "agent.extensions"}, code: 0},
		{desc: "--offline, the old name", args: []string{"--offline", "--skip", "agent.extensions"}, code: 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := runBin(t, tc.env, append([]string{"check", "--root", img}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.inStdout) || !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("exit %d (want %d), stdout wants %q, stderr %q\nstdout: %s\nstderr: %s", r.code, tc.code, tc.inStdout, tc.inStderr, r.stdout, r.stderr)
			}
		})
	}
}
