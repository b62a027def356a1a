//go:build !windows

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	vcs := func(rev, time, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: time}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "6039d7d3cdb90fc53b96975fd4d5bf8d2b53f52b"
	tests := []struct {
		desc     string
		ld       string
		bi       *debug.BuildInfo
		version  string
		commit   string
		modified bool
	}{
		{desc: "ldflags win, commit still reported", ld: "v1.2.3", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-2026-6039d7d3cdb9"}, Settings: vcs(rev, "2026-12-01T07:47:41Z", "false")},
			version: "v1.2.3", commit: rev},
		{desc: "plain go build in a git checkout: the pseudo-version", ld: "dev", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261201074741-6039d7d3cdb9+dirty"}, Settings: vcs(rev, "2026-12-01T07:47:41Z", "true")},
			version: "v0.0.0-20261201074741-6039d7d3cdb9+dirty", commit: rev, modified: true},
		{desc: "(devel) with a revision: dev-<commit>", ld: "dev", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "", "true")},
			version: "dev-6039d7d3cdb9-dirty", commit: rev, modified: true},
		{desc: "go install module@version", ld: "dev", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, version: "v0.4.0"},
		{desc: "no VCS stamp (-buildvcs=false)", ld: "dev", bi: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, version: "dev"},
		{desc: "no build info", ld: "dev", version: "dev"},
		{desc: "empty ldflags value", ld: "", bi: &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, version: "v0.4.0"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			v := buildVersion(tc.ld, tc.bi)
			commit := ""
			if v.Commit != nil {
				commit = *v.Commit
			}
			if v.Version != tc.version || commit != tc.commit || v.Modified != tc.modified {
				t.Errorf("got %q commit %q modified %v, want %q %q %v", v.Version, commit, v.Modified, tc.version, tc.commit, tc.modified)
			}
		})
	}
}

// TestVersionFromPlainGoBuild copies this working tree into a fresh git
// repository, builds it there with a plain `go build` (VCS stamping on, as
// it is by default outside this machine's GOFLAGS) and checks that
// `version` and `version --json` report that commit, not "dev".
func TestVersionFromPlainGoBuild(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is needed: %v", err)
	}
	modRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(git, "-C", modRoot, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dir := t.TempDir()
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join(modRoot, f))
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitIn := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t.invalid", "-c", "commit.gpgsign=false"}, args...)...)
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
		return strings.TrimSpace(string(b))
	}
	gitIn("init", "-q")
	gitIn("add", "-A")
	gitIn("commit", "-q", "-m", "version test")
	head := gitIn("rev-parse", "HEAD")

	bin := filepath.Join(t.TempDir(), "agentkeeper")
	build := exec.Command("go", "build", "-o", bin, "./cmd/agentkeeper")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	b, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v versionInfo
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if v.Commit == nil || *v.Commit != head || v.CommitTime == nil || v.Modified || v.Version == "dev" || !strings.Contains(v.Version, head[:12]) {
		t.Errorf("version --json of a plain go build at %s:\n%s", head, b)
	}
	b, err = exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(b)) != "agentkeeper "+v.Version {
		t.Errorf("--version: %q, %v; want agentkeeper %s", b, err, v.Version)
	}
}
