package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/agent/fleet"
)

func (a *app) summarizeCommand() *cobra.Command {
	var jsonOut, csvOut bool
	cmd := &cobra.Command{
		Use:   "summarize FILE|DIR...",
		Short: "Summarise many check/ensure JSON reports collected from a fleet",
		Long: `summarize reads agentkeeper reports collected from many machines — the output of
"check --json", of "ensure --json" (its report and outcome; outcome "deferred"
counts as deferred), or Ansible results whose stdout holds one of those — and prints
how many hosts are ready, not ready, deferred or unreadable, each host that is not
ready or deferred with its failing checks (the first 1000), and the agent versions
seen. Directories are walked recursively for *.json files; a file named on the
command line is read whatever its name. A file that is not a report (malformed or
foreign JSON, empty, larger than 16 MiB) is listed as unreadable with the reason.
Files are read one at a time: memory does not grow with the number of reports.

--csv prints one row per report file as it is read, every host (ready ones too)
and every unreadable file: host,state,failing_checks,agent_version,os,outcome,file,reason.
In --json a missing agent version is null.

Exit codes: 0 every host ready, 1 any host not ready, deferred or unreadable (or no
report found), 2 usage error (no arguments, a path that does not exist).`,
		Example: `  agentkeeper summarize agentkeeper-reports/           # counts, hosts not ready, versions
  agentkeeper summarize --csv reports/ > fleet.csv      # one row per host, ready ones too
  agentkeeper summarize --json a.json b.json | jq .not_ready`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return &exitError{exitUsage, errors.New("summarize: name at least one report file or directory")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := a.load(cmd); err != nil {
				return err
			}
			// Every path must exist before anything is read or printed.
			for _, p := range args {
				if _, err := os.Stat(p); err != nil {
					return &exitError{exitUsage, fmt.Errorf("summarize: %w", err)}
				}
			}
			s := &fleet.Summary{}
			out := cmd.OutOrStdout()
			var csvDone func() error
			if csvOut {
				// One row per file as it is read: nothing is held back.
				csvDone = s.StreamCSV(out)
			}
			for _, p := range args {
				summarizePath(s, p)
			}
			var err error
			switch {
			case jsonOut:
				err = s.WriteJSON(out)
			case csvOut:
				err = csvDone()
			default:
				err = s.WriteText(out)
			}
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("write summary: %w", err)}
			}
			switch {
			case s.Total == 0:
				return &exitError{exitNotReady, fmt.Errorf("summarize: no *.json report found in %s", strings.Join(args, " "))}
			case !s.AllReady():
				return exitCode(exitNotReady)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&jsonOut, "json", false, "print one JSON object instead of a table")
	f.BoolVar(&csvOut, "csv", false, "print CSV: a header, then one row per report file (every host, ready ones too, and each unreadable file)")
	cmd.MarkFlagsMutuallyExclusive("json", "csv")
	return cmd
}

// summarizePath adds the report file at p, or every *.json file below the
// directory p; what cannot be read is counted as unreadable.
func summarizePath(s *fleet.Summary, p string) {
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		s.AddError(p, err)
	case fi.IsDir():
		_ = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				// An unreadable directory: note it and walk on.
				s.AddError(path, err)
				return nil
			}
			if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".json") {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// Symbolic links to files are read; to directories not
				// followed (no loops).
				if st, err := os.Stat(path); err != nil || st.IsDir() {
					if err != nil {
						s.AddError(path, err)
					}
					return nil
				}
			}
			summarizeFile(s, path)
			return nil
		})
	default:
		summarizeFile(s, p)
	}
}

// summarizeFile adds one file; only regular files are opened (a FIFO or a
// device would block or never end).
func summarizeFile(s *fleet.Summary, p string) {
	fi, err := os.Stat(p)
	if err != nil {
		s.AddError(p, err)
		return
	}
	if !fi.Mode().IsRegular() {
		s.AddError(p, errors.New("not a regular file"))
		return
	}
	if fi.Size() > fleet.DefaultMaxBytes {
		s.AddError(p, fmt.Errorf("larger than %d bytes", fleet.DefaultMaxBytes))
		return
	}
	f, err := os.Open(p)
	if err != nil {
		s.AddError(p, err)
		return
	}
	defer f.Close()
	s.Add(p, f)
}
