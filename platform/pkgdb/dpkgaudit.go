package pkgdb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// DpkgUpdatesDir is dpkg's journal, relative to the root: while dpkg works
// it writes each status change there as a numbered file and folds them
// into the status file when it is done. Files left there mean a dpkg run
// was cut off; dpkg reads them on top of the status file, and apt refuses
// to work until `dpkg --configure -a` ("dpkg was interrupted").
const DpkgUpdatesDir = "/var/lib/dpkg/updates"

// maxJournalFiles caps how many journal files are read.
const maxJournalFiles = 10000

// DpkgAudit is what an interrupted or unfinished dpkg left behind, the part
// of `dpkg --audit` that keeps a package from being installed cleanly.
type DpkgAudit struct {
	// Journal is the number of journal entries dpkg has not folded into
	// its status file yet (DpkgUpdatesDir).
	Journal int
	// Pending are the packages left between states (half-installed,
	// unpacked, half-configured, triggers-awaited, triggers-pending), with
	// the journal applied.
	Pending []Package
}

// Clean reports whether dpkg has nothing left to finish.
func (a DpkgAudit) Clean() bool { return a.Journal == 0 && len(a.Pending) == 0 }

// String says what is unfinished, for a check's message.
func (a DpkgAudit) String() string {
	var parts []string
	if a.Journal > 0 {
		parts = append(parts, fmt.Sprintf("%d uncommitted entries in dpkg's journal %s", a.Journal, DpkgUpdatesDir))
	}
	var pk []string
	for i, p := range a.Pending {
		if i == 5 {
			pk = append(pk, fmt.Sprintf("and %d more", len(a.Pending)-i))
			break
		}
		pk = append(pk, p.Name+" "+pendingState(p.Status))
	}
	if len(pk) > 0 {
		parts = append(parts, strings.Join(pk, ", "))
	}
	if len(parts) == 0 {
		return "dpkg has nothing left to finish"
	}
	return strings.Join(parts, "; ")
}

// pendingStates are the dpkg states a run that was cut off leaves.
var pendingStates = map[string]bool{"half-installed": true, "unpacked": true, "half-configured": true,
	"triggers-awaited": true, "triggers-pending": true}

// pendingState is the state word of a Status field ("half-configured").
func pendingState(status string) string {
	w := strings.Fields(status)
	if len(w) == 3 {
		return w[2]
	}
	return status
}

// ParseDpkgStanzas reads a dpkg status file (or a journal entry, which has
// the same form) and returns the Package of every stanza that has a
// Package field, in order. Errors are those of ParseDpkgStatus.
func ParseDpkgStanzas(r io.Reader) ([]Package, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxDpkgLine)
	var (
		out    []Package
		cur    Package
		in     bool
		lineNo int
	)
	finish := func() {
		if in && cur.Name != "" {
			w := strings.Fields(cur.Status)
			cur.Status = strings.Join(w, " ")
			cur.Installed = len(w) == 3 && w[2] == "installed"
			out = append(out, cur)
		}
		cur, in = Package{}, false
	}
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		if i := bytes.IndexByte(line, 0); i >= 0 {
			return nil, fmt.Errorf("line %d: NUL byte at column %d: not a dpkg status file (binary data)", lineNo, i+1)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			finish()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !in {
				return nil, fmt.Errorf("line %d: continuation line outside a stanza: not a dpkg status file", lineNo)
			}
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("line %d: %s: expected \"Field: value\": not a dpkg status file", lineNo, quote(string(line)))
		}
		in = true
		field, value := line[:colon], string(bytes.TrimSpace(line[colon+1:]))
		switch {
		case bytes.EqualFold(field, []byte("Package")):
			cur.Name = value
		case bytes.EqualFold(field, []byte("Version")):
			cur.Version = value
		case bytes.EqualFold(field, []byte("Status")):
			cur.Status = value
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than %d bytes: not a dpkg status file", lineNo+1, MaxDpkgLine)
		}
		return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	finish()
	return out, nil
}

// journalNames returns the journal entries among a directory's names:
// those made of digits only (dpkg's and apt's rule; "tmp.i" is a write in
// progress), in the order dpkg applies them.
func journalNames(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" && strings.Trim(n, "0123456789") == "" {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i]) != len(out[j]) {
			return len(out[i]) < len(out[j])
		}
		return out[i] < out[j]
	})
	return out
}

// dpkgJournal reads the journal under root in order; a root without the
// journal directory has none.
func dpkgJournal(root fsroot.Root) ([][]Package, error) {
	ents, err := root.ReadDir(DpkgUpdatesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root.Join(DpkgUpdatesDir), err)
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	names = journalNames(names)
	if len(names) > maxJournalFiles {
		return nil, fmt.Errorf("%s holds %d journal files: not a dpkg journal", root.Join(DpkgUpdatesDir), len(names))
	}
	var out [][]Package
	for _, n := range names {
		p := DpkgUpdatesDir + "/" + n
		b, err := root.ReadFile(p, MaxDpkgLine)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", root.Join(p), err)
		}
		pk, err := ParseDpkgStanzas(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", root.Join(p), err)
		}
		out = append(out, pk)
	}
	return out, nil
}

// AuditDpkg reads dpkg's status file and journal under root and returns
// what is unfinished.
func AuditDpkg(root fsroot.Root) (DpkgAudit, error) {
	f, _, err := root.Open(DpkgStatusPath)
	if err != nil {
		return DpkgAudit{}, fmt.Errorf("read %s: %w", root.Join(DpkgStatusPath), err)
	}
	defer f.Close()
	all, err := ParseDpkgStanzas(&capReader{r: f, left: MaxDpkgStatus})
	if err != nil {
		return DpkgAudit{}, fmt.Errorf("read %s: %w", root.Join(DpkgStatusPath), err)
	}
	journal, err := dpkgJournal(root)
	if err != nil {
		return DpkgAudit{}, err
	}
	idx := map[string]int{}
	for i, p := range all {
		idx[p.Name] = i
	}
	for _, entry := range journal {
		for _, p := range entry {
			if i, ok := idx[p.Name]; ok {
				all[i] = p
			} else {
				idx[p.Name] = len(all)
				all = append(all, p)
			}
		}
	}
	a := DpkgAudit{Journal: len(journal)}
	for _, p := range all {
		if pendingStates[pendingState(p.Status)] {
			a.Pending = append(a.Pending, p)
		}
	}
	return a, nil
}
