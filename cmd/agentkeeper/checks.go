package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/agent"
)

// checksCommand prints the check catalogue: what `check` can report.
func (a *app) checksCommand() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "checks [--json]",
		Short: "List every check agentkeeper makes: id, title, severity, OS, live/image, Azure document",
		Long: `checks prints the catalogue of checks that "check" reports: each check's id, a
one-line title, its severity when it does not pass (fail makes the machine not
ready, warn does not), the operating systems it applies to (linux, windows), whether
it runs on the live system and on an offline image (--root), and the URL of the
Azure document or agent source behind the rule. The IDs are what checks.skip and
--skip take. --json prints a JSON array of {id, title, severity, os, live, image, doc}.`,
		Example: `  agentkeeper checks                    # a table of every check
  agentkeeper checks --json | jq -r '.[] | select(.severity == "fail") | .id'
  agentkeeper check --skip network.imds  # an id from the list, reported as skipped`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			var err error
			if jsonOut {
				err = agent.WriteJSON(out, agent.CatalogueEntries())
			} else {
				err = agent.WriteCatalogueText(out)
			}
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("write the catalogue: %w", err)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print a JSON array instead of a table")
	return cmd
}
