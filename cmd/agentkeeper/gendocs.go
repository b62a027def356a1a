package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// genDocsCommand is the hidden `gen-docs DIR`: scripts/package.sh runs it to
// put the man pages and shell completions into the packages. It writes
// DIR/man1/agentkeeper.1 and one page per command (agentkeeper-check.1, ...),
// and DIR/completion/agentkeeper.bash, _agentkeeper (zsh), agentkeeper.fish.
// The pages' date is SOURCE_DATE_EPOCH when set (cobra/doc), so packages stay
// reproducible.
func (a *app) genDocsCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write the man pages and shell completions into DIR (for packaging)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := genDocs(cmd.Root(), args[0]); err != nil {
				return &exitError{exitUsage, err}
			}
			return nil
		},
	}
}

// genDocs writes root's man pages and completions under dir.
func genDocs(root *cobra.Command, dir string) error {
	man := filepath.Join(dir, "man1")
	comp := filepath.Join(dir, "completion")
	for _, d := range []string{man, comp} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	root.DisableAutoGenTag = true
	err := doc.GenManTreeFromOpts(root, doc.GenManTreeOptions{
		Path:             man,
		CommandSeparator: "-",
		Header:           &doc.GenManHeader{Section: "1", Source: "agentkeeper " + appVersion().Version, Manual: "agentkeeper manual"},
	})
	if err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	gens := []struct {
		name string
		gen  func(f *os.File) error
	}{
		{"agentkeeper.bash", func(f *os.File) error { return root.GenBashCompletionV2(f, true) }},
		{"_agentkeeper", func(f *os.File) error { return root.GenZshCompletion(f) }},
		{"agentkeeper.fish", func(f *os.File) error { return root.GenFishCompletion(f, true) }},
	}
	for _, g := range gens {
		p := filepath.Join(comp, g.name)
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		err = g.gen(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}
