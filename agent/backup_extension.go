package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// Where the snapshot extension keeps its status files (azure-agent-facts.md):
// Linux /var/lib/waagent/<ext>-<ver>/status/<seq>.status, Windows
// C:\Packages\Plugins\<ext>\<ver>\Status\<seq>.status.
const pathWindowsPlugins = "/Packages/Plugins"

// extStatus is the newest status file of one installed extension version.
type extStatus struct {
	file string // host path
	st   backup.Status
	when time.Time // timestampUTC, else the file's modification time
	src  string    // "timestampUTC" or "modified"
	err  error     // the file could not be read or parsed
}

// backupExtensionProbe reports what the snapshot extension said after its
// last run: error fails and warning warns (quoting its message, code and
// age), and an installed handler folder without any status is reported.
// On Linux, agent versions the agent blacklisted (error.json) warn.
func backupExtensionProbe(_ context.Context, t *Target) Check {
	var dirs []string // handler version folders, as paths inside the root
	ext := backup.LinuxExtension
	if t.OS.Family == FamilyWindows {
		ext = backup.WindowsExtension
		for _, e := range foldGlob(t.Root, path.Join(pathWindowsPlugins, ext)) {
			ents, _ := t.Root.ReadDir(e)
			for _, v := range ents {
				if v.IsDir() {
					dirs = append(dirs, path.Join(e, v.Name()))
				}
			}
		}
	} else {
		ents, err := t.Root.ReadDir(PathWaagentLib)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Check{Status: StatusWarn, Message: "cannot list the agent's folder, where the snapshot extension keeps its status: " + err.Error(),
				Fix: "make " + PathWaagentLib + " readable (it belongs to root, mode 700 or 755)"}
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ext+"-") && e.IsDir() {
				dirs = append(dirs, path.Join(PathWaagentLib, e.Name()))
			}
		}
	}
	sort.Strings(dirs)
	var blacklisted []string
	if t.OS.Family == FamilyLinux {
		blacklisted = blacklistedAgents(t.Root)
	}

	var newest *extStatus
	var silent, unreadable []string
	for _, d := range dirs {
		s, ok := newestStatus(t.Root, d, t.OS.Family == FamilyWindows)
		switch {
		case !ok:
			silent = append(silent, t.Root.Join(d))
		case s.err != nil:
			unreadable = append(unreadable, s.err.Error())
		case newest == nil || s.when.After(newest.when):
			ss := s
			newest = &ss
		}
	}

	var notes []string
	if len(silent) > 0 {
		notes = append(notes, "handler folder without a status file: "+strings.Join(silent, ", "))
	}
	if len(unreadable) > 0 {
		notes = append(notes, "unreadable status: "+strings.Join(unreadable, "; "))
	}
	if len(blacklisted) > 0 {
		notes = append(notes, "blacklisted agent versions: "+strings.Join(blacklisted, "; "))
	}
	tail := ""
	if len(notes) > 0 {
		tail = "; " + strings.Join(notes, "; ")
	}
	warnFix := "see the extension's log in " + t.Root.Join("/var/log/azure/"+ext)
	if t.OS.Family == FamilyWindows {
		warnFix = "see the extension's log in C:\\WindowsAzure\\Logs\\Plugins\\" + ext
	}

	if newest == nil {
		if len(dirs) == 0 {
			c := Check{Status: StatusPass, Message: ext + " is not installed: no backup has run on this machine yet" + tail}
			if len(blacklisted) > 0 {
				c.Status, c.Fix = StatusWarn, blacklistFix
			}
			return c
		}
		return Check{Status: StatusWarn, Message: ext + " is installed but has written no readable status" + tail,
			Fix: "run a backup and look again; " + warnFix}
	}
	s := newest
	age := t.Now().Sub(s.when).Round(time.Minute)
	when := fmt.Sprintf("%s %s, %s ago", s.src, s.when.UTC().Format(time.RFC3339), age)
	if age < 0 {
		when = fmt.Sprintf("%s %s (in the future)", s.src, s.when.UTC().Format(time.RFC3339))
	}
	quote := fmt.Sprintf("%s reports %s (code %d", ext, nonEmpty(s.st.Status, "no status"), s.st.Code)
	if s.st.Operation != "" {
		quote += ", operation " + s.st.Operation
	}
	quote += ", " + when + ")"
	if s.st.Message != "" {
		quote += ": " + clip(strings.Join(strings.Fields(s.st.Message), " "), 300)
	}
	quote += " [" + s.file + "]"
	switch strings.ToLower(strings.TrimSpace(s.st.Status)) {
	case "error":
		return Check{Status: StatusFail, Message: "the last backup failed: " + quote + tail,
			Fix: "act on the extension's message (the Azure Backup troubleshooting document lists each error), then run a backup again; " + warnFix}
	case "warning":
		return Check{Status: StatusWarn, Message: "the last backup completed with a warning: " + quote + tail, Fix: warnFix}
	case "success", "transitioning":
		c := Check{Status: StatusPass, Message: quote + tail}
		if len(blacklisted) > 0 || len(silent) > 0 || len(unreadable) > 0 {
			c.Status, c.Fix = StatusWarn, warnFix
			if len(blacklisted) > 0 {
				c.Fix = blacklistFix
			}
		}
		return c
	}
	return Check{Status: StatusWarn, Message: "unknown extension status: " + quote + tail, Fix: warnFix}
}

const blacklistFix = "the agent stopped using the blacklisted versions after repeated failures: read /var/log/waagent.log for why, and keep the packaged agent current (the goal-state agent falls back to an older version)"

// newestStatus returns the newest <seq>.status under dir/status (Windows:
// dir/Status, any case): the highest sequence number, and among equal
// numbers the latest modification time. ok is false when there is none.
func newestStatus(r fsroot.Root, dir string, foldCase bool) (extStatus, bool) {
	var sdirs []string
	if foldCase {
		sdirs = foldGlob(r, path.Join(dir, "Status"))
	} else {
		sdirs = []string{path.Join(dir, "status")}
	}
	var best extStatus
	var bestSeq string
	var bestMod time.Time
	found := false
	for _, sd := range sdirs {
		ents, err := r.ReadDir(sd)
		if err != nil {
			continue
		}
		for _, e := range ents {
			seq, ok := backup.StatusSeq(e.Name(), foldCase)
			if !ok {
				continue
			}
			fi, err := r.Stat(path.Join(sd, e.Name()))
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			if found && (seqCompare(seq, bestSeq) < 0 || seqCompare(seq, bestSeq) == 0 && !fi.ModTime().After(bestMod)) {
				continue
			}
			found, bestSeq, bestMod = true, seq, fi.ModTime()
			best = extStatus{file: path.Join(sd, e.Name())}
		}
	}
	if !found {
		return extStatus{}, false
	}
	p := best.file
	best.file = r.Join(p)
	best.when, best.src = bestMod, "modified"
	data, err := r.ReadFile(p, fsroot.MaxSmallFile)
	if err != nil {
		best.err = err
		return best, true
	}
	st, err := backup.ParseStatusFile(data)
	if err != nil {
		best.err = fmt.Errorf("%s: %w", best.file, err)
		return best, true
	}
	best.st = st
	if !st.Timestamp.IsZero() {
		best.when, best.src = st.Timestamp, "timestampUTC"
	}
	return best, true
}

// seqCompare compares two sequence numbers of any length numerically.
func seqCompare(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// foldGlob returns the paths inside r matching p component by component
// without regard to case (a Windows image mounted on Linux keeps Windows'
// spelling).
func foldGlob(r fsroot.Root, p string) []string {
	cur := []string{"/"}
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		var next []string
		for _, dir := range cur {
			ents, err := r.ReadDir(dir)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if strings.EqualFold(e.Name(), part) {
					next = append(next, path.Join(dir, e.Name()))
				}
			}
		}
		cur = next
	}
	return cur
}

// AgentError is a downloaded agent's error.json (WALinuxAgent
// azurelinuxagent/ga/guestagent.py GuestAgentError).
type AgentError struct {
	FailureCount int64
	WasFatal     bool
	Reason       string
	// LastFailure is last_failure (Unix seconds); zero when absent.
	LastFailure time.Time
}

// Blacklisted reports whether the agent stops using this version: a fatal
// failure, or at least 3 failures (MAX_FAILURE).
func (e AgentError) Blacklisted() bool { return e.WasFatal || e.FailureCount >= 3 }

// ParseAgentError parses error.json: {"last_failure": 1.7e9,
// "failure_count": 3, "was_fatal": false, "reason": "..."}. Missing fields
// keep their zero values, as the agent's from_json does.
func ParseAgentError(data []byte) (AgentError, error) {
	var raw struct {
		LastFailure  *json.Number `json:"last_failure"`
		FailureCount *json.Number `json:"failure_count"`
		WasFatal     *bool        `json:"was_fatal"`
		Reason       *string      `json:"reason"`
	}
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return AgentError{}, fmt.Errorf("not an error.json object: %s", jsonErr(err))
	}
	var e AgentError
	if raw.FailureCount != nil {
		n, ok := wholeNumber(*raw.FailureCount)
		if !ok {
			return AgentError{}, errors.New("failure_count is not a whole number")
		}
		e.FailureCount = n
	}
	if raw.WasFatal != nil {
		e.WasFatal = *raw.WasFatal
	}
	if raw.Reason != nil {
		e.Reason = *raw.Reason
	}
	if raw.LastFailure != nil {
		f, err := raw.LastFailure.Float64()
		if err != nil {
			return AgentError{}, errors.New("last_failure is not a number")
		}
		if f > 0 && f < 1e11 {
			e.LastFailure = time.Unix(int64(f), 0).UTC()
		}
	}
	return e, nil
}

// blacklistedAgents lists the downloaded agent versions the agent has
// blacklisted, each with its failure count and reason.
func blacklistedAgents(r fsroot.Root) []string {
	ents, err := r.ReadDir(PathWaagentLib)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !goalStateDir.MatchString(e.Name()) || !e.IsDir() {
			continue
		}
		p := path.Join(PathWaagentLib, e.Name(), "error.json")
		data, err := r.ReadFile(p, 64<<10)
		if err != nil {
			continue // no error.json: nothing recorded against this version
		}
		ae, err := ParseAgentError(data)
		if err != nil || !ae.Blacklisted() {
			continue
		}
		s := fmt.Sprintf("%s (%d failures", e.Name(), ae.FailureCount)
		if ae.WasFatal {
			s += ", fatal"
		}
		if !ae.LastFailure.IsZero() {
			s += ", last " + ae.LastFailure.Format(time.RFC3339)
		}
		s += ")"
		if ae.Reason != "" {
			s += ": " + clip(strings.Join(strings.Fields(ae.Reason), " "), 160)
		}
		out = append(out, s)
	}
	return out
}
