//go:build !windows

package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/agent"
)

// readmeCheckIDs returns the check IDs README's "What is checked" table
// names in its first column (a cell may name several: `a`, `b`).
func readmeCheckIDs(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "\n## What is checked")
	if start < 0 {
		t.Fatal(`README.md has no "## What is checked" section`)
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	ids := map[string]bool{}
	code := regexp.MustCompile("`([^`]+)`")
	rows := 0
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		rows++
		first := strings.SplitN(strings.TrimPrefix(line, "|"), "|", 2)[0]
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			ids[m[1]] = true
		}
	}
	if rows == 0 {
		t.Fatal("the What is checked section has no table rows")
	}
	return ids
}

// TestREADMEChecksTable: every catalogued check is in README's table, and
// every ID there is catalogued.
func TestREADMEChecksTable(t *testing.T) {
	ids := readmeCheckIDs(t)
	for _, d := range agent.Catalogue() {
		if !ids[string(d.ID)] {
			t.Errorf("check %s (%s) is not in README.md's What is checked table", d.ID, d.Title)
		}
	}
	for id := range ids {
		if _, ok := agent.Lookup(agent.CheckID(id)); !ok {
			t.Errorf("README.md's table names %s, which is not in the catalogue (nearest: %s)", id, agent.Nearest(id))
		}
	}
}

func TestChecksCommand(t *testing.T) {
	r := runBin(t, nil, "checks", "--json")
	if r.code != 0 {
		t.Fatalf("checks --json: exit %d: %s", r.code, r.stderr)
	}
	var got []struct {
		ID       string   `json:"id"`
		Title    string   `json:"title"`
		Severity string   `json:"severity"`
		OS       []string `json:"os"`
		Live     bool     `json:"live"`
		Image    bool     `json:"image"`
		Doc      string   `json:"doc"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("checks --json: %v\n%s", err, r.stdout)
	}
	cat := agent.Catalogue()
	if len(got) != len(cat) {
		t.Fatalf("%d checks printed, catalogue has %d", len(got), len(cat))
	}
	for i, d := range cat {
		g := got[i]
		if g.ID != string(d.ID) || g.Title != d.Title || g.Severity != string(d.Severity) || g.Live != d.Live ||
			g.Image != d.Image || g.Doc != d.Doc || strings.Join(g.OS, ",") != strings.Join(d.OS, ",") {
			t.Errorf("entry %d = %+v, want %+v", i, g, d)
		}
	}
	text := runBin(t, nil, "checks")
	if text.code != 0 || !strings.Contains(text.stdout, "os.arch") || !strings.Contains(text.stdout, "https://") {
		t.Errorf("checks: exit %d\n%s", text.code, text.stdout)
	}
}
