package fleet

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// VersionCount is one agent version and how many reports carry it.
type VersionCount struct {
	Version string `json:"version"`
	Count   int    `json:"count"`
}

// SortedVersions returns the versions seen, most common first (ties by
// version string).
func (s *Summary) SortedVersions() []VersionCount {
	vs := make([]VersionCount, 0, len(s.Versions))
	for v, n := range s.Versions {
		vs = append(vs, VersionCount{v, n})
	}
	slices.SortFunc(vs, func(a, b VersionCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Version, b.Version)
	})
	return vs
}

// WriteText writes the summary for people: the counts, a table of the
// hosts that are not ready or deferred with their failing checks, the
// unreadable files with the reason, and the agent versions seen.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "fleet: %d report file(s)\n", s.Total)
	fmt.Fprintf(&b, "  ready       %d\n", s.ReadyN)
	fmt.Fprintf(&b, "  not ready   %d\n", s.NotReadyN)
	fmt.Fprintf(&b, "  deferred    %d\n", s.DeferredN)
	fmt.Fprintf(&b, "  unreadable  %d\n", s.UnreadableN)
	if len(s.Hosts) > 0 {
		fmt.Fprintf(&b, "\nnot ready or deferred:\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  HOST\tSTATE\tFAILING CHECKS\tAGENT\tFILE")
		for _, h := range s.Hosts {
			failing := strings.Join(h.Failing, ",")
			if failing == "" {
				failing = "-"
			}
			state := string(h.State)
			if h.Outcome != "" && h.Outcome != state {
				state += " (ensure " + h.Outcome + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", h.Name, state, failing, orDash(h.AgentVersion), clip(h.File))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if s.HostsOmitted > 0 {
		fmt.Fprintf(&b, "  … and %d more\n", s.HostsOmitted)
	}
	if len(s.Problems) > 0 {
		fmt.Fprintf(&b, "\nunreadable:\n")
		for _, p := range s.Problems {
			fmt.Fprintf(&b, "  %s: %s\n", clip(p.File), p.Reason)
		}
	}
	if s.ProblemsOmitted > 0 {
		fmt.Fprintf(&b, "  … and %d more\n", s.ProblemsOmitted)
	}
	if vs := s.SortedVersions(); len(vs) > 0 {
		fmt.Fprintf(&b, "\nagent versions:\n")
		width := 0
		for _, v := range vs {
			width = max(width, utf8.RuneCountInString(v.Version))
		}
		for _, v := range vs {
			fmt.Fprintf(&b, "  %-*s  %d\n", width, v.Version, v.Count)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// jsonSummary is the JSON form: the Summary with the versions sorted and
// a missing agent version null.
type jsonSummary struct {
	Total           int           `json:"total"`
	Ready           int           `json:"ready"`
	NotReady        int           `json:"not_ready"`
	Deferred        int           `json:"deferred"`
	Unreadable      int           `json:"unreadable"`
	Hosts           []jsonHost    `json:"hosts"`
	HostsOmitted    int           `json:"hosts_omitted"`
	Problems        []Problem     `json:"unreadable_files"`
	ProblemsOmitted int           `json:"unreadable_omitted"`
	Versions        []jsonVersion `json:"versions"`
}

// jsonHost is a Host whose missing agent version and OS are null.
type jsonHost struct {
	Name         string   `json:"name"`
	State        State    `json:"state"`
	Failing      []string `json:"failing"`
	AgentVersion *string  `json:"agent_version"`
	OS           *string  `json:"os"`
	Outcome      string   `json:"outcome,omitempty"`
	File         string   `json:"file"`
}

// jsonVersion is a VersionCount whose missing version is null.
type jsonVersion struct {
	Version *string `json:"version"`
	Count   int     `json:"count"`
}

// orNull is nil for "", else a pointer to s.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// WriteJSON writes the summary as one indented JSON object: {total, ready,
// not_ready, deferred, unreadable, hosts: [{name, state, failing,
// agent_version, os, outcome, file}], hosts_omitted, unreadable_files: [{file,
// reason}], unreadable_omitted, versions: [{version, count}]}. A missing
// agent version or OS is null.
func (s *Summary) WriteJSON(w io.Writer) error {
	js := jsonSummary{
		Total: s.Total, Ready: s.ReadyN, NotReady: s.NotReadyN, Deferred: s.DeferredN, Unreadable: s.UnreadableN,
		Hosts: make([]jsonHost, 0, len(s.Hosts)), HostsOmitted: s.HostsOmitted, Problems: s.Problems, ProblemsOmitted: s.ProblemsOmitted,
		Versions: []jsonVersion{},
	}
	for _, h := range s.Hosts {
		js.Hosts = append(js.Hosts, jsonHost{Name: h.Name, State: h.State, Failing: h.Failing,
			AgentVersion: orNull(h.AgentVersion), OS: orNull(h.OS), Outcome: h.Outcome, File: h.File})
	}
	for _, v := range s.SortedVersions() {
		jv := jsonVersion{Version: &v.Version, Count: v.Count}
		if v.Version == noVersion {
			jv.Version = nil
		}
		js.Versions = append(js.Versions, jv)
	}
	if js.Problems == nil {
		js.Problems = []Problem{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(js)
}

// CSVHeader is the first line StreamCSV writes.
var CSVHeader = []string{"host", "state", "failing_checks", "agent_version", "os", "outcome", "file", "reason"}

// StreamCSV makes s write CSV to w while reports are added: the header at
// once, then one row per report as it is added — every host, ready ones
// too (failing_checks separated by spaces) — and one per unreadable file
// (state "unreadable", the reason). Nothing is held back, so memory does not
// grow with the fleet. Call the returned function after the last Add: it
// flushes and returns the first write error. Fields that a spreadsheet
// would take for a formula are prefixed with an apostrophe.
func (s *Summary) StreamCSV(w io.Writer) (done func() error) {
	cw := csv.NewWriter(w)
	_ = cw.Write(CSVHeader)
	s.OnHost = func(h Host) {
		_ = cw.Write(safeRow(h.Name, string(h.State), strings.Join(h.Failing, " "), h.AgentVersion, h.OS, h.Outcome, h.File, ""))
	}
	s.OnProblem = func(p Problem) {
		_ = cw.Write(safeRow("", string(Unreadable), "", "", "", "", p.File, p.Reason))
	}
	return func() error {
		cw.Flush()
		return cw.Error()
	}
}

// safeRow defuses spreadsheet formulas (CSV injection) in every field.
func safeRow(fields ...string) []string {
	for i, f := range fields {
		if f != "" && strings.ContainsRune("=+-@\t\r", rune(f[0])) {
			fields[i] = "'" + f
		}
	}
	return fields
}
