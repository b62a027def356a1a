// Package fleet summarises many agentkeeper reports — the JSON printed by
// `check --json` or `ensure --json`, as files collected from a fleet of
// machines — into counts, the hosts that need attention and the agent
// versions seen.
//
// A Summary streams: each report is decoded on its own and only aggregates
// are kept, plus a capped list of the hosts that are not ready, so that
// summarising 100 000 reports needs about as much memory as summarising 100.
package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Defaults for a Summary's limits.
const (
	// DefaultMaxBytes caps the size of one report file.
	DefaultMaxBytes = 16 << 20
	// DefaultMaxListed caps how many not-ready, deferred and unreadable
	// entries are kept for listing; the rest are only counted.
	DefaultMaxListed = 1000
)

// Limits on what one listed entry may hold, so that a hostile file cannot
// make a listed entry large.
const (
	maxFailing  = 32  // failing check ids kept per host
	maxField    = 256 // bytes kept of a hostname, check id, version or reason
	maxVersions = 1000
	// otherVersions collects the versions beyond maxVersions distinct ones.
	otherVersions = "(other)"
	// noVersion is the key of reports without an agent version.
	noVersion = "(none)"
)

// State is what a report says about its host.
type State string

// The states a report can put its host in.
const (
	Ready      State = "ready"
	NotReady   State = "not-ready"
	Deferred   State = "deferred"
	Unreadable State = "unreadable"
)

// Host is one host's report: listed when it is not ready or deferred, and
// passed to OnHost for every readable report.
type Host struct {
	// Name is the report's hostname, or the file's base name when the
	// report has none.
	Name  string `json:"name"`
	State State  `json:"state"`
	// Failing holds the ids of the failed checks (at most 32).
	Failing []string `json:"failing"`
	// AgentVersion is agent.version ("" when not installed; null in JSON).
	AgentVersion string `json:"agent_version"`
	// OS is the report's os.id and os.version ("debian 12"; "" when unknown).
	OS string `json:"os"`
	// Outcome is ensure's outcome for `ensure --json` files, else "".
	Outcome string `json:"outcome,omitempty"`
	// File is where the report was read.
	File string `json:"file"`
}

// Problem is a file that could not be read as a report.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Summary aggregates reports. The zero value is ready to use, with the
// default limits; it is not safe for concurrent use.
type Summary struct {
	// MaxBytes caps one file (0: DefaultMaxBytes); a larger one is unreadable.
	MaxBytes int64
	// MaxListed caps Hosts and Problems each (0: DefaultMaxListed).
	MaxListed int

	// Total counts every report and file added; the others count each
	// state (Total is their sum).
	Total       int
	ReadyN      int
	NotReadyN   int
	DeferredN   int
	UnreadableN int

	// Hosts lists not-ready and deferred hosts in the order they were
	// added, at most MaxListed; HostsOmitted counts the others.
	Hosts        []Host
	HostsOmitted int
	// Problems lists unreadable files, at most MaxListed; ProblemsOmitted
	// counts the others.
	Problems        []Problem
	ProblemsOmitted int
	// Versions counts agent.version over every readable report; "(none)"
	// counts reports without a version (null in JSON).
	Versions map[string]int

	// OnHost, when set, is called with every readable report's host as it
	// is added (ready ones too, none omitted), and OnProblem with every
	// unreadable file: for output that streams one row per file (StreamCSV).
	OnHost    func(Host)
	OnProblem func(Problem)

	buf bytes.Buffer
}

// AllReady reports whether at least one report was added and every one
// said ready.
func (s *Summary) AllReady() bool {
	return s.Total > 0 && s.ReadyN == s.Total
}

// report is the part of a `check --json` report that a summary needs.
type report struct {
	Ready *bool `json:"ready"`
	// Checks is decoded only for the hosts that are listed.
	Checks   *json.RawMessage `json:"checks"`
	Hostname string           `json:"hostname"`
	Agent    struct {
		Version string `json:"version"`
	} `json:"agent"`
	OS struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	} `json:"os"`
}

type reportCheck struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// document is any file Add accepts: a check report, an ensure result
// (report + outcome), or an Ansible module result whose stdout holds one
// of those.
type document struct {
	report
	// Report and Outcome come from `ensure --json`.
	Report  *report `json:"report"`
	Outcome *string `json:"outcome"`
	// Stdout is an Ansible result's captured output (ansible --tree, or a
	// registered result written out with to_json).
	Stdout *string `json:"stdout"`
}

// errTooLarge is returned by capReader past its limit.
var errTooLarge = errors.New("too large")

// capReader fails with errTooLarge once more than n bytes were read.
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.n+1 {
		p = p[:c.n+1]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	if c.n < 0 {
		return k, errTooLarge
	}
	return k, err
}

// Add reads one report from r and counts it; name is the file it came from
// (the host is listed under the file's base name when the report carries no
// hostname). Anything that is not a single agentkeeper report — malformed
// JSON, an empty or oversized file, foreign JSON without "ready" and
// "checks" — is counted as unreadable with the reason. Add returns the
// state it counted.
func (s *Summary) Add(name string, r io.Reader) State {
	max := s.MaxBytes
	if max <= 0 {
		max = DefaultMaxBytes
	}
	// One file at a time through a buffer that is reused (it grows to the
	// largest file read, at most max): only aggregates outlive this call.
	s.buf.Reset()
	if _, err := s.buf.ReadFrom(&capReader{r: r, n: max}); err != nil {
		return s.AddError(name, decodeReason(err, max))
	}
	var doc document
	if err := json.Unmarshal(s.buf.Bytes(), &doc); err != nil {
		if len(bytes.TrimSpace(s.buf.Bytes())) == 0 {
			err = io.EOF
		}
		return s.AddError(name, decodeReason(err, max))
	}
	return s.addDocument(name, &doc, 0)
}

// decodeReason turns a decoding error into the reason shown for the file.
func decodeReason(err error, max int64) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("empty file")
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("larger than %d bytes", max)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not JSON: truncated")
	case errors.As(err, &se) && strings.HasPrefix(se.Error(), "unexpected end of JSON input"):
		return errors.New("not JSON: truncated")
	case errors.As(err, &se) && strings.Contains(se.Error(), "after top-level value"):
		return fmt.Errorf("more than one JSON value in the file, or garbage after it (at byte %d)", se.Offset)
	case errors.As(err, &se):
		return fmt.Errorf("not JSON: %v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("not an agentkeeper report: %v", te)
	default:
		return err
	}
}

// addDocument counts a decoded document; depth guards the Ansible stdout
// unwrapping.
func (s *Summary) addDocument(name string, doc *document, depth int) State {
	switch {
	case doc.Outcome != nil:
		// ensure --json: the state is its outcome and its report.
		outcome := *doc.Outcome
		rep := doc.Report
		state := NotReady
		switch {
		case outcome == "deferred":
			state = Deferred
		case rep != nil && rep.Ready != nil && *rep.Ready && (outcome == "ready" || outcome == "planned"):
			state = Ready
		}
		if rep == nil {
			rep = &report{}
		}
		return s.count(name, rep, state, outcome)
	case doc.Ready != nil && doc.Checks != nil && bytes.HasPrefix(*doc.Checks, []byte("[")):
		state := NotReady
		if *doc.Ready {
			state = Ready
		}
		return s.count(name, &doc.report, state, "")
	case doc.Stdout != nil && depth == 0:
		var inner document
		dec := json.NewDecoder(strings.NewReader(*doc.Stdout))
		if err := dec.Decode(&inner); err != nil {
			return s.AddError(name, fmt.Errorf("an Ansible result whose stdout is not a report: %v", decodeReason(err, int64(len(*doc.Stdout)))))
		}
		return s.addDocument(name, &inner, depth+1)
	default:
		return s.AddError(name, errors.New(`not an agentkeeper report: no "ready" and "checks" (nor an ensure "outcome")`))
	}
}

// count adds one readable report.
func (s *Summary) count(name string, rep *report, state State, outcome string) State {
	s.Total++
	if s.Versions == nil {
		s.Versions = make(map[string]int)
	}
	v := clip(rep.Agent.Version)
	if v == "" {
		v = noVersion
	}
	if _, seen := s.Versions[v]; !seen && len(s.Versions) >= maxVersions {
		v = otherVersions
	}
	s.Versions[v]++
	switch state {
	case Ready:
		s.ReadyN++
	case Deferred:
		s.DeferredN++
	default:
		s.NotReadyN++
	}
	listed := state != Ready
	if listed && len(s.Hosts) >= s.maxListed() {
		s.HostsOmitted++
		listed = false
	}
	if !listed && s.OnHost == nil {
		return state
	}
	h := hostOf(name, rep, state, outcome)
	if s.OnHost != nil {
		s.OnHost(h)
	}
	if listed {
		s.Hosts = append(s.Hosts, h)
	}
	return state
}

// hostOf is the Host of one readable report, its fields clipped.
func hostOf(name string, rep *report, state State, outcome string) Host {
	h := Host{
		Name:         clip(rep.Hostname),
		State:        state,
		Failing:      []string{},
		AgentVersion: clip(rep.Agent.Version),
		OS:           clip(strings.TrimSpace(rep.OS.ID + " " + rep.OS.Version)),
		Outcome:      clip(outcome),
		File:         name,
	}
	if h.Name == "" {
		h.Name = clip(filepath.Base(name))
	}
	var checks []reportCheck
	if rep.Checks != nil {
		// A checks value that is not a list of checks lists no ids.
		_ = json.Unmarshal(*rep.Checks, &checks)
		for _, c := range checks {
			if c.Status != "fail" {
				continue
			}
			if len(h.Failing) == maxFailing {
				h.Failing = append(h.Failing, "…")
				break
			}
			h.Failing = append(h.Failing, clip(c.ID))
		}
	}
	return h
}

// AddError counts name as unreadable because of err (a file that could
// not be opened, or read as a report).
func (s *Summary) AddError(name string, err error) State {
	s.Total++
	s.UnreadableN++
	if s.OnProblem != nil {
		s.OnProblem(Problem{File: name, Reason: clip(err.Error())})
	}
	if len(s.Problems) >= s.maxListed() {
		s.ProblemsOmitted++
		return Unreadable
	}
	s.Problems = append(s.Problems, Problem{File: name, Reason: clip(err.Error())})
	return Unreadable
}

func (s *Summary) maxListed() int {
	if s.MaxListed <= 0 {
		return DefaultMaxListed
	}
	return s.MaxListed
}

// clip shortens s to maxField bytes (on a rune boundary) and makes it valid
// UTF-8 without control characters, so that a hostile report cannot grow a
// listed entry or write terminal escapes.
func clip(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b == 0x7f || b >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean && len(s) <= maxField {
		return s
	}
	limit := maxField
	if len(s) > maxField {
		limit = maxField - len("…")
	}
	var b bytes.Buffer
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '?'
		}
		if b.Len()+utf8.RuneLen(r) > limit {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
