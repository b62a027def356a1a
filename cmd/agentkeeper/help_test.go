//go:build !windows

package main

import (
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/pflag"
)

// TestHelpConventions: every command a user can run has an Examples
// section whose agentkeeper lines are real invocations (commands, flags and
// arguments that exist), and every flag that takes a value names it in
// capitals (--root DIR, --wait-backup DURATION), not by its Go type.
func TestHelpConventions(t *testing.T) {
	root := cmdTree()
	n := 0
	for _, c := range allCommands(root) {
		if !c.IsAvailableCommand() && c != root {
			continue
		}
		if c != root && c.Example == "" {
			t.Errorf("%q has no Examples section", c.CommandPath())
		}
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(strings.SplitN(line, "#", 2)[0])
			line = strings.TrimSpace(strings.SplitN(line, "|", 2)[0])
			line = strings.TrimSpace(strings.SplitN(line, ">", 2)[0])
			line = strings.TrimSpace(strings.SplitN(line, ";", 2)[0])
			fields := strings.Fields(line)
			for len(fields) > 0 && (fields[0] == "sudo" || strings.Contains(fields[0], "=")) {
				fields = fields[1:]
			}
			if strings.HasPrefix(line, "source <(") {
				fields = strings.Fields(strings.TrimSuffix(strings.TrimPrefix(line, "source <("), ")"))
			}
			if len(fields) == 0 || fields[0] != "agentkeeper" {
				continue
			}
			n++
			checkInvocation(t, root, strings.Join(fields, " "))
		}
		check := func(f *pflag.Flag) {
			if f.Hidden || f.Value.Type() == "bool" || f.NoOptDefVal != "" {
				return
			}
			name, _ := pflag.UnquoteUsage(f)
			if name == "" || strings.IndexFunc(name, unicode.IsLower) >= 0 {
				t.Errorf("%s --%s: the value is shown as %q, want a name in capitals (put it in `backquotes` in the usage)", c.CommandPath(), f.Name, name)
			}
		}
		c.LocalFlags().VisitAll(check)
	}
	if n < 15 {
		t.Errorf("only %d agentkeeper invocations in the examples", n)
	}
}

func TestHelpUnknownCommand(t *testing.T) {
	if r := runBin(t, nil, "help", "nosuch"); r.code != exitUsage || !strings.Contains(r.stderr, `no command "nosuch"`) {
		t.Errorf("help nosuch: %+v", r)
	}
	if r := runBin(t, nil, "help", "service", "nosuch"); r.code != exitUsage {
		t.Errorf("help service nosuch: %+v", r)
	}
	r := runBin(t, nil, "help", "ensure")
	if r.code != 0 || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "--wait-backup DURATION") {
		t.Errorf("help ensure: %+v", r)
	}
	if r := runBin(t, nil, "help"); r.code != 0 || !strings.Contains(r.stdout, "Available Commands:") {
		t.Errorf("help: %+v", r)
	}
	if r := runBin(t, nil, "--version"); r.code != 0 || r.stdout != "agentkeeper v9.9.9-test\n" {
		t.Errorf("--version: %+v", r)
	}
}

// TestQuietAndOneFormat: every line on stderr has the one format, and
// --quiet leaves only warnings and errors.
func TestQuietAndOneFormat(t *testing.T) {
	img := image(t)
	cfg := writeConfig(t, "nosuchkey: 1\n")
	r := runBin(t, nil, "check", "--root", img, "--config", cfg, "--log-level", "debug")
	if r.code != 0 || !strings.Contains(r.stderr, "agentkeeper: warning: ") || !strings.Contains(r.stderr, "agentkeeper: debug: ") {
		t.Errorf("check: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.HasPrefix(line, "agentkeeper: ") {
			t.Errorf("a stderr line in another format: %q", line)
		}
	}
	r = runBin(t, nil, "check", "--root", img, "--config", cfg, "--log-level", "debug", "--quiet")
	if r.code != 0 || !strings.Contains(r.stderr, "agentkeeper: warning: ") || strings.Contains(r.stderr, "debug: ") {
		t.Errorf("check --quiet: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
