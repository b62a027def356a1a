package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteJSON writes the report as one indented JSON object.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText writes the report for people: a summary, a table of checks and,
// under each failing or warning check, what to do.
func WriteText(w io.Writer, r *Report) error {
	var b strings.Builder
	where := "this machine"
	if r.Offline {
		where = "image " + r.Root
	}
	osName := nonEmpty(r.OS.Name, r.OS.ID, "unknown OS")
	fmt.Fprintf(&b, "%s: %s\n", where, osName)
	if r.Agent.Installed {
		fmt.Fprintf(&b, "agent: %s %s (minimum %s)\n", nonEmpty(r.Agent.Package, "agent"), nonEmpty(r.Agent.Version, r.Agent.PackageVersion, "?"), r.Agent.MinVersion)
	} else if r.Agent.Package != "" {
		fmt.Fprintf(&b, "agent: %s not installed (minimum %s)\n", r.Agent.Package, r.Agent.MinVersion)
	}
	fmt.Fprintln(&b)
	width := 0
	for _, c := range r.Checks {
		width = max(width, len(c.ID))
	}
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "  %-4s  %-*s  %s\n", strings.ToUpper(string(c.Status)), width, c.ID, c.Message)
		if c.Fix != "" && (c.Status == StatusFail || c.Status == StatusWarn) {
			fmt.Fprintf(&b, "        %-*s  fix: %s\n", width, "", c.Fix)
		}
	}
	fmt.Fprintln(&b)
	if r.Ready {
		fmt.Fprintln(&b, "READY for Azure Backup")
	} else {
		n := 0
		for _, c := range r.Checks {
			if c.Status == StatusFail {
				n++
			}
		}
		fmt.Fprintf(&b, "NOT READY for Azure Backup: %d check(s) failed\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
