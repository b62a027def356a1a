package backup

import (
	"errors"
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// linuxStatus checks the newest status file of every installed version of
// the Linux extension: /var/lib/waagent/<ext>-<ver>/status/<seq>.status.
func (d *detector) linuxStatus() {
	ents, err := d.o.Root.ReadDir(waagentLib)
	if err != nil {
		if !missing(err) {
			d.note("could not list extensions: %v", err)
		}
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), LinuxExtension+"-") {
			continue
		}
		d.statusDir(LinuxExtension, path.Join(waagentLib, e.Name(), "status"), false)
	}
}

// windowsStatus checks the newest status file of every installed version
// of the Windows extension:
// /Packages/Plugins/<ext>/<ver>/Status/<seq>.status. Names are matched
// without regard to case, since a Windows image may be read from a
// case-sensitive mount.
func (d *detector) windowsStatus() {
	for _, ext := range d.ciGlob(windowsPlugins + "/" + WindowsExtension) {
		vers, err := d.o.Root.ReadDir(ext)
		if err != nil {
			if !missing(err) {
				d.note("could not list extension versions: %v", err)
			}
			continue
		}
		for _, v := range vers {
			for _, st := range d.ciGlob(path.Join(ext, v.Name(), "Status")) {
				d.statusDir(WindowsExtension, st, true)
			}
		}
	}
}

// ciGlob returns every path inside the root that matches p (an absolute
// slash path) component by component without regard to case, in order.
func (d *detector) ciGlob(p string) []string {
	cur := []string{"/"}
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		var next []string
		for _, dir := range cur {
			ents, err := d.o.Root.ReadDir(dir)
			if err != nil {
				if !missing(err) {
					d.note("could not list %v", err)
				}
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

// seqFile is one <seq>.status file.
type seqFile struct {
	name string
	seq  string // digits, leading zeros removed
}

// statusDir evaluates the newest <seq>.status file in dir: the highest
// number wins, and among equal numbers (9.status, 09.status) the latest
// modification time.
func (d *detector) statusDir(ext, dir string, foldCase bool) {
	ents, err := d.o.Root.ReadDir(dir)
	if err != nil {
		if !missing(err) {
			d.note("could not list status files: %v", err)
		}
		return
	}
	var files []seqFile
	for _, e := range ents {
		if seq, ok := statusSeq(e.Name(), foldCase); ok {
			files = append(files, seqFile{name: e.Name(), seq: seq})
		}
	}
	if len(files) == 0 {
		return
	}
	sort.Slice(files, func(i, j int) bool { return seqLess(files[j].seq, files[i].seq) })
	var (
		best    string
		bestMod time.Time
	)
	for _, f := range files {
		if f.seq != files[0].seq {
			break
		}
		fi, err := d.o.Root.Stat(path.Join(dir, f.name))
		if err != nil {
			d.note("could not stat status file: %v", err)
			continue
		}
		if best == "" || fi.ModTime().After(bestMod) {
			best, bestMod = f.name, fi.ModTime()
		}
	}
	if best != "" {
		d.statusFile(ext, path.Join(dir, best), bestMod)
	}
}

// statusFile turns one status file into evidence (fresh and
// transitioning), a note (stale, unreadable) or nothing.
func (d *detector) statusFile(ext, p string, mtime time.Time) {
	where := d.o.Root.Join(p)
	data, err := d.o.Root.ReadFile(p, fsroot.MaxSmallFile)
	if err != nil {
		d.note("ignored status file: %v", err)
		return
	}
	st, err := ParseStatusFile(data)
	if err != nil {
		d.note("ignored status file %s: %v", where, err)
		return
	}
	if !st.Transitioning() {
		return
	}
	stale := d.o.StaleAfter
	ts, source := st.Timestamp, "timestampUTC"
	switch {
	case ts.IsZero():
		if st.RawTimestamp != "" {
			d.note("status file %s: unreadable timestampUTC %q, used the file's modification time", where, st.RawTimestamp)
		}
		ts, source = mtime, "modified"
	case ts.After(d.now.Add(stale)):
		d.note("status file %s: timestampUTC %s is in the future, used the file's modification time", where, ts.Format(time.RFC3339))
		ts, source = mtime, "modified"
	}
	age := d.now.Sub(ts)
	switch {
	case age > stale:
		d.note("ignored: stale transitioning status %s (%s %s, %s ago, limit %s)",
			where, source, ts.UTC().Format(time.RFC3339), age.Round(time.Second), stale)
	case -age > stale:
		d.note("ignored: transitioning status %s dated in the future (%s %s)",
			where, source, ts.UTC().Format(time.RFC3339))
	default:
		what := ext + " reports " + st.Status
		if st.Operation != "" {
			what += " (" + st.Operation + ")"
		}
		what += ", " + source + " " + ts.UTC().Format(time.RFC3339)
		if st.Message != "" {
			what += ": " + shorten(st.Message, 200)
		}
		d.evidence(KindStatus, where, "%s", what)
	}
}

// statusSeq returns the sequence number of a "<digits>.status" name,
// without leading zeros.
func statusSeq(name string, foldCase bool) (string, bool) {
	const ext = ".status"
	if len(name) <= len(ext) {
		return "", false
	}
	digits, suffix := name[:len(name)-len(ext)], name[len(name)-len(ext):]
	if suffix != ext && !(foldCase && strings.EqualFold(suffix, ext)) {
		return "", false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	seq := strings.TrimLeft(digits, "0")
	if seq == "" {
		seq = "0"
	}
	return seq, true
}

// seqLess compares two sequence numbers of any length numerically.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// missing reports whether err means the file or a folder on its way is
// not there.
func missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}
