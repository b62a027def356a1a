//go:build linux

package winetest

import (
	"encoding/json"
	"strings"
	"testing"
)

// report mirrors the JSON that `agentkeeper check --json` prints (README).
// It is written here instead of importing the agent package, so that the
// test notices when the printed contract changes.
type report struct {
	Ready  *bool     `json:"ready"`
	OS     osReport  `json:"os"`
	Agent  agentRep  `json:"agent"`
	Backup backupRep `json:"backup"`
	Checks []check   `json:"checks"`
}

type osReport struct {
	Family  string `json:"family"`
	ID      string `json:"id"`
	Version string `json:"version"`
	Name    string `json:"name"`
	Edition string `json:"edition"`
	Server  bool   `json:"server"`
}

type agentRep struct {
	Supported      *bool  `json:"supported"`
	Installer      string `json:"installer"`
	Installed      *bool  `json:"installed"`
	Version        string `json:"version"`
	PackageVersion string `json:"package_version"`
	VersionSource  string `json:"version_source"`
	MinVersion     string `json:"min_version"`
	ServiceEnabled *bool  `json:"service_enabled"`
	// ServiceRunning stays raw to tell null from false and from missing.
	ServiceRunning json.RawMessage `json:"service_running"`
}

type backupRep struct {
	Running  *bool `json:"running"`
	Evidence []struct {
		Kind  string `json:"kind"`
		What  string `json:"what"`
		Where string `json:"where"`
	} `json:"evidence"`
}

type check struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
}

// ensureResult mirrors `agentkeeper ensure --json`.
type ensureResult struct {
	Plan struct {
		Action string `json:"action"`
		Reason string `json:"reason"`
	} `json:"plan"`
	Preconditions  []step  `json:"preconditions"`
	Actions        []step  `json:"actions"`
	Report         *report `json:"report"`
	VersionBefore  string  `json:"version_before"`
	VersionAfter   string  `json:"version_after"`
	RebootRequired bool    `json:"reboot_required"`
	Outcome        string  `json:"outcome"`
	Message        string  `json:"message"`
	ExitCode       *int    `json:"exit_code"`
}

type step struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (r *report) check(id string) (check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return check{}, false
}

func findStep(steps []step, id string) (step, bool) {
	for _, s := range steps {
		if s.ID == id {
			return s, true
		}
	}
	return step{}, false
}

// wantCheck fails unless check id has the status (and, when given, a
// message containing each of contains).
func wantCheck(t *testing.T, rep *report, id, status string, contains ...string) check {
	t.Helper()
	c, ok := rep.check(id)
	if !ok {
		t.Errorf("check %s missing from the report", id)
		return c
	}
	if c.Status != status {
		t.Errorf("check %s = %s (%s), want %s", id, c.Status, c.Message, status)
	}
	for _, s := range contains {
		if !strings.Contains(c.Message, s) {
			t.Errorf("check %s message %q does not contain %q", id, c.Message, s)
		}
	}
	return c
}

// wantExit fails unless the command exited with code and the JSON said so too.
func wantExit(t *testing.T, step string, r result, code int, jsonCode *int) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", step, r.code, code, r.stdout, tail(r.stderr, 20))
	}
	if jsonCode != nil && *jsonCode != r.code {
		t.Errorf("%s: exit_code %d in the JSON, but the process exited %d", step, *jsonCode, r.code)
	}
}

// show prints a *bool as true, false or null.
func show(b *bool) string {
	if b == nil {
		return "null"
	}
	if *b {
		return "true"
	}
	return "false"
}

func isTrue(b *bool) bool  { return b != nil && *b }
func isFalse(b *bool) bool { return b != nil && !*b }

// wantOS fails unless the report's OS is what the prefix's registry says.
func wantOS(t *testing.T, rep *report, build, product string) {
	t.Helper()
	o := rep.OS
	if o.Family != "windows" || o.ID != "windows" {
		t.Errorf("os family/id = %q/%q, want windows/windows", o.Family, o.ID)
	}
	if want := "10.0." + build; o.Version != want {
		t.Errorf("os.version = %q, want %q (CurrentMajor/MinorVersionNumber 10.0 and CurrentBuildNumber %s from the registry)", o.Version, want, build)
	}
	if o.Name != product {
		t.Errorf("os.name = %q, want %q (ProductName)", o.Name, product)
	}
	if o.Edition != "ServerDatacenter" || !o.Server {
		t.Errorf("os edition/server = %q/%v, want ServerDatacenter/true (EditionID, InstallationType Server)", o.Edition, o.Server)
	}
	wantCheck(t, rep, "os.detected", "pass", product)
	wantCheck(t, rep, "os.supported", "pass", "build "+build)
}

// wantNotInstalled fails unless the report says the agent is missing.
func wantNotInstalled(t *testing.T, rep *report) {
	t.Helper()
	if isTrue(rep.Ready) {
		t.Errorf("ready = true with no agent installed")
	}
	if !isFalse(rep.Agent.Installed) {
		t.Errorf("agent.installed = %s, want false", show(rep.Agent.Installed))
	}
	wantCheck(t, rep, "agent.installed", "fail")
	wantCheck(t, rep, "agent.version", "skip")
	wantCheck(t, rep, "agent.service", "skip")
}

// wantReadyWith fails unless the report is ready with the agent at version,
// read from WaAppAgent.exe's product version, and both services running and
// automatic.
func wantReadyWith(t *testing.T, rep *report, version string) {
	t.Helper()
	if !isTrue(rep.Ready) {
		var failing []string
		for _, c := range rep.Checks {
			if c.Status == "fail" {
				failing = append(failing, c.ID+": "+c.Message)
			}
		}
		t.Errorf("ready = %s, want true; failing: %s", show(rep.Ready), strings.Join(failing, "; "))
	}
	a := rep.Agent
	if !isTrue(a.Installed) || a.Version != version || a.PackageVersion != version || a.Installer != "msi" || a.MinVersion != minVersion {
		t.Errorf("agent = installed %s version %q package_version %q installer %q min %q, want true %s %s msi %s",
			show(a.Installed), a.Version, a.PackageVersion, a.Installer, a.MinVersion, version, version, minVersion)
	}
	wantVersionFromFile(t, rep)
	wantCheck(t, rep, "agent.version", "pass", version, minVersion)
	wantCheck(t, rep, "agent.service", "pass", "RdAgent", "WindowsAzureGuestAgent")
	if string(a.ServiceRunning) != "true" || !isTrue(a.ServiceEnabled) {
		t.Errorf("agent.service_running = %s, service_enabled = %s, want true, true", a.ServiceRunning, show(a.ServiceEnabled))
	}
}

// wantVersionFromFile fails unless the version was read through
// GetFileVersionInfo from C:\WindowsAzure\Packages\WaAppAgent.exe:
// version_source "file" (README's vocabulary) or the check's own words.
func wantVersionFromFile(t *testing.T, rep *report) {
	t.Helper()
	c, _ := rep.check("agent.version")
	fromFile := rep.Agent.VersionSource == "file" ||
		strings.Contains(strings.ToLower(c.Message), strings.ToLower("product version of "+winAgentExe))
	if !fromFile {
		t.Errorf("agent version not read from the file: version_source %q, agent.version %q", rep.Agent.VersionSource, c.Message)
	}
	if rep.Agent.VersionSource != "" && rep.Agent.VersionSource != "file" {
		t.Errorf("agent.version_source = %q, want file", rep.Agent.VersionSource)
	}
}
