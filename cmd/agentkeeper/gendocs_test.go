package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenDocs runs the hidden gen-docs command: a man page for the root and
// for every visible command, and the three completion scripts.
func TestGenDocs(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if code := execute([]string{"gen-docs", dir}); code != 0 {
		t.Fatalf("gen-docs exit %d", code)
	}
	root := (&app{}).rootCommand()
	pages := []string{"agentkeeper.1"}
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			pages = append(pages, "agentkeeper-"+c.Name()+".1")
		}
	}
	if len(pages) < 7 {
		t.Fatalf("only %d visible commands: %v", len(pages), pages)
	}
	for _, p := range pages {
		b, err := os.ReadFile(filepath.Join(dir, "man1", p))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(p, ".1")
		if !strings.Contains(string(b), ".SH NAME\n"+name) || !strings.Contains(string(b), "Nov 2023") {
			t.Errorf("%s: no NAME section for %s or not dated SOURCE_DATE_EPOCH:\n%.300s", p, name, b)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "man1", "agentkeeper-gen-docs.1")); err == nil {
		t.Error("the hidden gen-docs command got a man page")
	}
	for name, want := range map[string]string{
		"agentkeeper.bash": "__start_agentkeeper",
		"_agentkeeper":     "#compdef agentkeeper",
		"agentkeeper.fish": "complete -c agentkeeper",
	} {
		b, err := os.ReadFile(filepath.Join(dir, "completion", name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not contain %q", name, want)
		}
	}
}

func TestGenDocsBadDir(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code := execute([]string{"gen-docs", filepath.Join(f, "sub")}); code != exitUsage {
		t.Fatalf("gen-docs into a path under a file: exit %d, want %d", code, exitUsage)
	}
}
