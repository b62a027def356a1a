// Package pkgdb reads which version of a package is installed, from the
// dpkg database or the RPM database of a root, and turns distribution
// package versions into upstream versions that can be compared.
package pkgdb

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// Package is one installed package.
type Package struct {
	Name string
	// Version exactly as the database holds it (epoch, revision and all).
	Version string
	// Status is dpkg's Status field ("install ok installed") or "installed" for RPM.
	Status string
	// Installed is true only for a fully installed package (not
	// half-installed, config-files or unpacked).
	Installed bool
}

// DpkgStatusPath is where dpkg keeps its database of installed packages,
// relative to the root.
const DpkgStatusPath = "/var/lib/dpkg/status"

// MaxDpkgStatus caps how much of a dpkg status file is read. Real ones are a
// few MiB; a file beyond this is not a status file.
const MaxDpkgStatus = 256 << 20

// MaxDpkgLine caps one line of a dpkg status file. The longest real lines
// (Conflicts, Breaks and Provides of large packages) are a few KiB.
const MaxDpkgLine = 1 << 20

// ParseDpkgStatus reads a dpkg status file and returns the stanza of the
// package name (found reports whether there was one). The file is read as a
// stream, line by line, so its size does not matter. When several stanzas
// carry the name (one per architecture on a multiarch system), an installed
// one wins; otherwise the first is returned. A line longer than MaxDpkgLine,
// a NUL byte or a line that is neither "Field: value" nor a continuation is
// an error naming the line.
func ParseDpkgStatus(r io.Reader, name string) (p Package, found bool, err error) {
	if name == "" {
		return Package{}, false, errors.New("empty package name")
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxDpkgLine)
	// The stanza being read. Only fields of the package asked for are
	// kept, in buffers reused from stanza to stanza, so that a large file
	// costs next to no allocations.
	var (
		inStanza bool // a field has been seen since the last blank line
		match    bool // its Package field is name
		ver, st  []byte
		lineNo   int
	)
	// finish ends the stanza being read; it reports true when the search is
	// over (an installed stanza of the package was found).
	finish := func() bool {
		defer func() { inStanza, match, ver, st = false, false, ver[:0], st[:0] }()
		if !inStanza || !match {
			return false
		}
		w := strings.Fields(string(st))
		cur := Package{
			Name:    name,
			Version: string(ver),
			Status:  strings.Join(w, " "),
			// "want flag state": only the state matters here.
			Installed: len(w) == 3 && w[2] == "installed",
		}
		if !found || (!p.Installed && cur.Installed) {
			p, found = cur, true
		}
		return p.Installed
	}
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		if i := bytes.IndexByte(line, 0); i >= 0 {
			return Package{}, false, fmt.Errorf("line %d: NUL byte at column %d: not a dpkg status file (binary data)", lineNo, i+1)
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			// A blank line (possibly only white space) ends a stanza.
			if finish() {
				return p, true, nil
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !inStanza {
				return Package{}, false, fmt.Errorf("line %d: continuation line outside a stanza: not a dpkg status file", lineNo)
			}
			continue // continuation of a multi-line field (Description, Conffiles)
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return Package{}, false, fmt.Errorf("line %d: %s: expected \"Field: value\": not a dpkg status file", lineNo, quote(string(line)))
		}
		inStanza = true
		field := line[:colon]
		value := bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(field, []byte("Package")):
			match = string(value) == name // no allocation
		case bytes.EqualFold(field, []byte("Version")):
			ver = append(ver[:0], value...)
		case bytes.EqualFold(field, []byte("Status")):
			st = append(st[:0], value...)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Package{}, false, fmt.Errorf("line %d: longer than %d bytes: not a dpkg status file", lineNo+1, MaxDpkgLine)
		}
		return Package{}, false, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	finish() // the last stanza may lack its blank line
	return p, found, nil
}

// Dpkg reads var/lib/dpkg/status under root and returns the stanza of the
// package name, with dpkg's journal (DpkgUpdatesDir) applied on top, as
// dpkg itself does: after an interrupted run the package's newest state is
// there. A root without a dpkg database is an error ("no dpkg database at
// ..."); a database without the package is found == false.
func Dpkg(root fsroot.Root, name string) (Package, bool, error) {
	path := root.Join(DpkgStatusPath)
	f, _, err := root.Open(DpkgStatusPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Package{}, false, fmt.Errorf("no dpkg database at %s", path)
		}
		return Package{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	p, found, err := ParseDpkgStatus(&capReader{r: f, left: MaxDpkgStatus}, name)
	if err != nil {
		return Package{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	journal, err := dpkgJournal(root)
	if err != nil {
		return Package{}, false, err
	}
	for _, entry := range journal {
		for _, jp := range entry {
			if jp.Name == name {
				p, found = jp, true
			}
		}
	}
	return p, found, nil
}

// capReader reads at most left bytes and then fails with fsroot.ErrTooLarge
// instead of pretending the file ended there.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		// Only an error if there is more to read.
		var one [1]byte
		if n, _ := io.ReadFull(c.r, one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("%w (limit %d bytes)", fsroot.ErrTooLarge, MaxDpkgStatus)
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

// rpmQueryFormat makes rpm print one line per installed version.
const rpmQueryFormat = "%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\n"

// rpmDBDirs are where RPM databases live inside a root: the traditional
// place and the one of newer Fedora, RHEL 9+ and SUSE (where var/lib/rpm is
// usually a link to it).
var rpmDBDirs = []string{"/var/lib/rpm", "/usr/lib/sysimage/rpm"}

// rpmDBFiles mark a directory as holding an RPM database: SQLite (RHEL 9,
// Fedora 33+, Mariner 2), Berkeley DB (RHEL 7/8) and NDB (SUSE).
var rpmDBFiles = []string{"rpmdb.sqlite", "Packages", "Packages.db"}

// RPM asks rpm about name in the RPM database under root (rpm --root).
// The database directory is found inside the root and handed to rpm with
// --dbpath, because the host's rpm may default to another place (Debian's
// rpm uses ~/.rpmdb). When several versions are installed, the highest is
// returned. A package that is not installed is found == false with no error.
func RPM(ctx context.Context, r run.Runner, root fsroot.Root, name string) (Package, bool, error) {
	if err := checkRPMName(name); err != nil {
		return Package{}, false, err
	}
	dbpath, err := RPMDBDir(root)
	if err != nil {
		return Package{}, false, err
	}
	cmd := run.Cmd{
		Argv: []string{"rpm", "--root", root.Dir, "--dbpath", dbpath, "-q", "--qf", rpmQueryFormat, name},
		// rpm's messages ("package X is not installed") are translated.
		Env: []string{"LC_ALL=C", "LANGUAGE="},
	}
	res, err := r.Run(ctx, cmd)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return Package{}, false, errors.New("rpm not found: install the rpm package to read RPM databases")
		}
		return Package{}, false, fmt.Errorf("run %s: %w", cmd, err)
	}
	if res.ExitCode != 0 {
		if res.ExitCode == 1 && onlyNotInstalled(res.Stdout, name) {
			return Package{}, false, nil
		}
		return Package{}, false, fmt.Errorf("%s: exit status %d: %s", cmd, res.ExitCode, res.Tail(5))
	}
	p, err := parseRPMQuery(res.Stdout)
	if err != nil {
		return Package{}, false, fmt.Errorf("%s: %w: %s", cmd, err, res.Tail(5))
	}
	return p, true, nil
}

// checkRPMName refuses names rpm would read as options or that cannot be
// package names.
func checkRPMName(name string) error {
	if name == "" || strings.HasPrefix(name, "-") || len(name) > 256 ||
		strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("invalid package name %s", quote(name))
	}
	return nil
}

// RPMDBDir returns the directory, as a path inside root with links
// resolved inside root, that holds the RPM database. Tools that act on the
// root (rpm --root, dnf --installroot) must be given it, because the
// host's default may be another place.
func RPMDBDir(root fsroot.Root) (string, error) {
	for _, dir := range rpmDBDirs {
		for _, f := range rpmDBFiles {
			if !root.Exists(dir + "/" + f) {
				continue
			}
			host, err := root.Resolve(dir)
			if err != nil {
				return "", fmt.Errorf("find RPM database: %w", err)
			}
			rel, err := filepath.Rel(root.Dir, host)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return "", fmt.Errorf("find RPM database: %s is outside %s", host, root.Dir)
			}
			return "/" + filepath.ToSlash(rel), nil
		}
	}
	return "", fmt.Errorf("no RPM database under %s (looked in %s)", root.Dir, strings.Join(rpmDBDirs, ", "))
}

// onlyNotInstalled reports whether rpm's output is just its "package X is
// not installed" message.
func onlyNotInstalled(out []byte, name string) bool {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.TrimSpace(l) != "package "+name+" is not installed" {
			return false
		}
	}
	return len(lines) > 0
}

// parseRPMQuery reads the lines printed with rpmQueryFormat and returns the
// highest version among them (by CompareEVR's ordering).
func parseRPMQuery(out []byte) (Package, error) {
	var (
		best   Package
		bestEV rpmEVR
		n      int
	)
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[0] == "" || f[2] == "" || f[3] == "" {
			return Package{}, fmt.Errorf("unexpected output line %s", quote(line))
		}
		evr := rpmEVR{epoch: f[1], version: f[2], release: f[3]}
		if evr.epoch == "(none)" {
			evr.epoch = ""
		}
		if evr.epoch != "" && strings.Trim(evr.epoch, "0123456789") != "" {
			return Package{}, fmt.Errorf("unexpected epoch in output line %s", quote(line))
		}
		n++
		if n == 1 || evr.compare(bestEV) > 0 {
			best = Package{Name: f[0], Version: evr.String(), Status: "installed", Installed: true}
			bestEV = evr
		}
	}
	if n == 0 {
		return Package{}, errors.New("no output")
	}
	return best, nil
}

// maxVersionLen caps what Upstream accepts; real package versions are far
// shorter.
const maxVersionLen = 256

// Upstream turns a distribution package version into the upstream version:
// "1:2.9.1.1-0ubuntu0.22.04.1" -> 2.9.1.1. It drops the epoch ("N:"), the
// distribution revision or RPM release (after the last '-'), and build
// suffixes ("+dfsg", "+git...", rpm's "^..."); a "~" part (Debian's and RPM's
// pre-release mark) becomes a pre-release, so 2.7.3.0~rc1 sorts below
// 2.7.3.0. The upstream part must be dotted numbers. Garbage is an error
// that quotes the input.
func Upstream(v string) (*version.Version, error) {
	bad := func(why string) error { return fmt.Errorf("package version %s: %s", quote(v), why) }
	if v == "" {
		return nil, bad("empty")
	}
	if len(v) > maxVersionLen {
		return nil, bad(fmt.Sprintf("longer than %d bytes", maxVersionLen))
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isAlnum(c) && !strings.ContainsRune(".+~:-_^", rune(c)) {
			return nil, bad(fmt.Sprintf("unexpected character %q at offset %d", v[i:i+1], i))
		}
	}
	s := v
	if i := strings.IndexByte(s, ':'); i >= 0 {
		if i == 0 || strings.Trim(s[:i], "0123456789") != "" {
			return nil, bad("epoch is not a number")
		}
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		if i == len(s)-1 {
			return nil, bad("empty revision after '-'")
		}
		s = s[:i]
	}
	if i := strings.IndexAny(s, "+^"); i >= 0 {
		s = s[:i] // build metadata: +dfsg, +ds1, +git20230101, ^20230101git
	}
	var pre string
	if i := strings.IndexByte(s, '~'); i >= 0 {
		pre = strings.Join(strings.FieldsFunc(s[i+1:], func(r rune) bool {
			return !(r < 0x80 && isAlnum(byte(r)))
		}), ".")
		if pre == "" {
			pre = "0" // "1.0~" still sorts below "1.0"
		}
		s = s[:i]
	}
	if s == "" {
		return nil, bad("no upstream version")
	}
	for _, seg := range strings.Split(s, ".") {
		if seg == "" || strings.Trim(seg, "0123456789") != "" {
			return nil, bad(fmt.Sprintf("upstream part %s is not dotted numbers", quote(s)))
		}
	}
	if pre != "" {
		s += "-" + pre
	}
	ver, err := version.NewVersion(s)
	if err != nil {
		return nil, bad(err.Error())
	}
	return ver, nil
}

// quote quotes s for an error message, cut to a readable length.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}
