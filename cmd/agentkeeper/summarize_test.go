//go:build !windows

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeReports writes files (relative path → content) under a new directory.
func writeReports(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestSummarize(t *testing.T) {
	// A real report from the real binary, ready.
	img := image(t)
	r := runBin(t, nil, "check", "--root", img, "--json")
	if r.code != 0 {
		t.Fatalf("check: exit %d: %s", r.code, r.stderr)
	}
	ready := r.stdout
	notReady := `{"ready":false,"hostname":"db-1","agent":{"version":"2.2.45"},"checks":[{"id":"agent.version","status":"fail"}]}`
	deferred := `{"outcome":"deferred","report":{"ready":true,"hostname":"app-1","checks":[]}}`

	allReady := writeReports(t, map[string]string{"a/1.json": ready, "a/b/2.json": ready, "notes.txt": "not a report"})
	mixed := writeReports(t, map[string]string{"1.json": ready, "x/db.json": notReady, "x/y/app.json": deferred,
		"x/y/z/bad.json": "{", "foreign.json": `{"name":"left-pad"}`, "empty.json": ""})
	onlyNotReady := writeReports(t, map[string]string{"db.json": notReady})
	onlyDeferred := writeReports(t, map[string]string{"app.json": deferred})
	empty := t.TempDir()

	tests := []struct {
		desc     string
		args     []string
		code     int
		inStdout []string
		inStderr string
	}{
		{desc: "every host ready", args: []string{"summarize", allReady}, code: 0, inStdout: []string{"fleet: 2 report file(s)", "ready       2"}},
		{desc: "a file named directly", args: []string{"summarize", filepath.Join(allReady, "a", "1.json")}, code: 0},
		{desc: "a non-json file named directly is read", args: []string{"summarize", filepath.Join(allReady, "notes.txt")}, code: 1,
			inStdout: []string{"notes.txt: not JSON"}},
		{desc: "mixed fleet", args: []string{"summarize", mixed}, code: 1,
			inStdout: []string{"not ready   1", "deferred    1", "unreadable  3", "db-1", "agent.version", "app-1", "bad.json: not JSON",
				"foreign.json: not an agentkeeper report", "empty.json: empty file"}},
		{desc: "not ready only", args: []string{"summarize", onlyNotReady}, code: 1},
		{desc: "deferred only", args: []string{"summarize", onlyDeferred}, code: 1},
		{desc: "several paths", args: []string{"summarize", allReady, onlyNotReady}, code: 1, inStdout: []string{"fleet: 3 report file(s)"}},
		{desc: "no report found", args: []string{"summarize", empty}, code: 1, inStderr: "no *.json report"},
		{desc: "no arguments", args: []string{"summarize"}, code: 2, inStderr: "at least one"},
		{desc: "missing path", args: []string{"summarize", allReady, "/nonexistent/reports"}, code: 2, inStderr: "/nonexistent/reports"},
		{desc: "json and csv", args: []string{"summarize", "--json", "--csv", allReady}, code: 2},
		{desc: "csv header", args: []string{"summarize", "--csv", mixed}, code: 1,
			inStdout: []string{"host,state,failing_checks,agent_version,os,outcome,file,reason\n", "db-1,not-ready,agent.version,2.2.45,,,",
				"app-1,deferred,,,,deferred,", ",unreadable,,,,,"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := runBin(t, nil, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range tc.inStdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			if tc.inStderr != "" && !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("stderr %q does not mention %q", r.stderr, tc.inStderr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		r := runBin(t, nil, "summarize", "--json", mixed)
		var got struct {
			Total, Ready, NotReady, Deferred, Unreadable int
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || json.Unmarshal([]byte(r.stdout), &m) != nil {
			t.Fatalf("not JSON: %v\n%s", err, r.stdout)
		}
		if r.code != 1 || got.Total != 6 || got.Ready != 1 || string(m["not_ready"]) != "1" || got.Deferred != 1 || got.Unreadable != 3 {
			t.Errorf("exit %d: %s", r.code, r.stdout)
		}
	})
	t.Run("csv: a row for every ready host", func(t *testing.T) {
		r := runBin(t, nil, "summarize", "--csv", allReady)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 3 || lines[0] != "host,state,failing_checks,agent_version,os,outcome,file,reason" ||
			!strings.Contains(lines[1], ",ready,,2.7.3.0,debian 12,,") || !strings.Contains(lines[2], ",ready,") {
			t.Errorf("exit %d: %q", r.code, r.stdout)
		}
	})
}
