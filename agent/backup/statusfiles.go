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

// linuxStatus checks the newest readable status file of every installed
// version of the Linux extension: /var/lib/waagent/<ext>-<ver>/status/<seq>.status.
func (d *detector) linuxStatus() {
	ents, ok := d.list(waagentLib, "the agent's folder")
	if !ok {
		return
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), LinuxExtension+"-") || e.Type().IsRegular() {
			continue
		}
		d.statusDir(LinuxExtension, path.Join(waagentLib, e.Name(), "status"), false)
	}
}

// windowsStatus checks the newest readable status file of every installed
// version of the Windows extension:
// /Packages/Plugins/<ext>/<ver>/Status/<seq>.status. Names are matched
// without regard to case, since a Windows image may be read from a
// case-sensitive mount.
func (d *detector) windowsStatus() {
	for _, ext := range d.ciGlob(windowsPlugins + "/" + WindowsExtension) {
		vers, ok := d.list(ext, "the extension's folder")
		if !ok {
			continue
		}
		for _, v := range vers {
			if v.Type().IsRegular() {
				continue
			}
			for _, st := range d.ciGlob(path.Join(ext, v.Name(), "Status")) {
				d.statusDir(WindowsExtension, st, true)
			}
		}
	}
}

// ciGlob returns every path inside the root that matches p (an absolute
// slash path) component by component without regard to case, in order.
// Regular files are not followed (they cannot hold status files).
func (d *detector) ciGlob(p string) []string {
	cur := []string{"/"}
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		var next []string
		for _, dir := range cur {
			ents, ok := d.list(dir, "a folder on the way to the extension's status files")
			if !ok {
				continue
			}
			for _, e := range ents {
				if strings.EqualFold(e.Name(), part) && !e.Type().IsRegular() {
					next = append(next, path.Join(dir, e.Name()))
				}
			}
		}
		cur = next
	}
	return cur
}

// list lists dir, a folder that holds (or leads to) status files. A folder
// that is not there, or that has a file on its way, yields nothing. One that
// is there but cannot be listed (permissions, a link loop, a file or FIFO
// where the folder should be) is evidence: the status files behind it may
// say that a backup is running, so the gate fails closed.
func (d *detector) list(dir, what string) ([]fs.DirEntry, bool) {
	ents, err := d.o.Root.ReadDir(dir)
	if err == nil {
		return ents, true
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if errors.Is(err, syscall.ENOTDIR) {
		// Either dir itself is not a folder (evidence, below) or a folder on
		// its way is a file (then nothing can be there).
		if _, serr := d.o.Root.Stat(dir); serr != nil && missing(serr) {
			return nil, false
		}
	}
	d.evidence(KindStatus, d.o.Root.Join(dir),
		"cannot list %s (%v): status files there may say that a backup is running", what, err)
	return nil, false
}

// maxUnreadable is how many unreadable status files of one folder are
// looked at, newest first, before the search for a readable one stops.
const maxUnreadable = 32

// seqFile is one <seq>.status file.
type seqFile struct {
	name    string
	seq     string // digits, leading zeros removed
	mod     time.Time
	statErr error // the file is there but could not be examined
}

// statusDir evaluates the newest readable <seq>.status file in dir: the
// highest number first, and among equal numbers (9.status, 09.status) the
// latest modification time. Newer files that cannot be read or parsed
// (the extension may be writing them) are evidence while fresh and notes
// when stale; the search goes on to the next older file.
func (d *detector) statusDir(ext, dir string, foldCase bool) {
	ents, ok := d.list(dir, "the extension's status folder")
	if !ok {
		return
	}
	var files []seqFile
	for _, e := range ents {
		seq, ok := StatusSeq(e.Name(), foldCase)
		if !ok {
			continue
		}
		f := seqFile{name: e.Name(), seq: seq}
		fi, err := d.o.Root.Stat(path.Join(dir, e.Name()))
		switch {
		case err != nil && missing(err):
			continue // removed since the listing
		case err != nil:
			f.statErr = err
		default:
			f.mod = fi.ModTime()
		}
		files = append(files, f)
	}
	sort.SliceStable(files, func(i, j int) bool {
		a, b := files[i], files[j]
		if a.seq != b.seq {
			return seqLess(b.seq, a.seq)
		}
		// Unknown modification times first: they may be the newest.
		if (a.statErr != nil) != (b.statErr != nil) {
			return a.statErr != nil
		}
		return a.mod.After(b.mod)
	})
	unreadable := 0
	for _, f := range files {
		p := path.Join(dir, f.name)
		where := d.o.Root.Join(p)
		if unreadable == maxUnreadable {
			d.note("status folder %s: stopped after %d unreadable status files", d.o.Root.Join(dir), maxUnreadable)
			return
		}
		if f.statErr != nil {
			unreadable++
			d.evidence(KindStatus, where, "unreadable fresh status of %s (cannot be examined, so it may be the newest: %v)", ext, f.statErr)
			continue
		}
		st, err := d.readStatus(p)
		if err != nil {
			unreadable++
			d.unreadableStatus(ext, where, f.mod, err)
			continue
		}
		d.statusFile(ext, where, st, f.mod)
		return
	}
}

// readStatus reads and parses one status file.
func (d *detector) readStatus(p string) (Status, error) {
	data, err := d.o.Root.ReadFile(p, fsroot.MaxSmallFile)
	if err != nil {
		return Status{}, err
	}
	return ParseStatusFile(data)
}

// unreadableStatus judges a status file that cannot be read or parsed: a
// fresh one (modified within StaleAfter, either way) is evidence, as the
// extension may be writing it; a stale one is a note.
func (d *detector) unreadableStatus(ext, where string, mod time.Time, err error) {
	age := d.now.Sub(mod)
	if age > d.o.StaleAfter || -age > d.o.StaleAfter {
		d.note("ignored stale unreadable status file %s (modified %s): %v", where, mod.UTC().Format(time.RFC3339), err)
		return
	}
	d.evidence(KindStatus, where, "unreadable fresh status of %s (modified %s ago; the extension may be writing it): %v",
		ext, age.Round(time.Second), err)
}

// statusFile turns one parsed status file into evidence (fresh and
// transitioning), a note (stale) or nothing.
func (d *detector) statusFile(ext, where string, st Status, mtime time.Time) {
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

// StatusSeq returns the sequence number of a "<digits>.status" name,
// without leading zeros; foldCase accepts ".STATUS" (Windows images).
func StatusSeq(name string, foldCase bool) (string, bool) {
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
