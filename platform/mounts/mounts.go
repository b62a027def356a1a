// Package mounts reads mount tables (the live /proc/self/mountinfo, an
// image's /etc/fstab) and answers which mount a path lives on.
package mounts

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// Mount is one mounted (or to-be-mounted) file system.
type Mount struct {
	// Target is the mount point ("/var"); fstab swap entries keep their
	// "none" or "swap".
	Target string
	// Source is the device or other source ("/dev/sda1", "UUID=...", "tmpfs").
	Source string
	// FSType is the file system type; empty when an fstab line omits it.
	FSType string
	// Options are the per-mount options (mountinfo field 6, fstab field 4):
	// where rw/ro, noexec, nosuid and nodev live.
	Options []string
	// SuperOptions are mountinfo's per-superblock options (empty for fstab).
	SuperOptions []string
}

// ParseMountinfo parses /proc/PID/mountinfo (proc(5)): per line a mount ID,
// parent ID, major:minor, root, mount point, mount options, zero or more
// optional fields ended by "-", then file system type, source and super
// options. Octal escapes such as \040 are decoded. Lines that cannot be
// parsed are skipped and reported in the returned error, which comes
// alongside the mounts that did parse.
func ParseMountinfo(data []byte) ([]Mount, error) {
	var ms []Mount
	var errs []error
	for i, line := range lines(data) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, err := parseMountinfoLine(string(line))
		if err != nil {
			errs = append(errs, fmt.Errorf("mountinfo line %d: %w", i+1, err))
			continue
		}
		ms = append(ms, m)
	}
	return ms, errors.Join(errs...)
}

func parseMountinfoLine(line string) (Mount, error) {
	f := strings.Fields(line)
	// The first six fields are fixed; then optional fields, the "-"
	// separator and three more.
	if len(f) < 6 {
		return Mount{}, fmt.Errorf("%d fields, want at least 6 before the \"-\" separator", len(f))
	}
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 {
		return Mount{}, errors.New(`no "-" separator after the optional fields`)
	}
	// Some kernels print an empty source; the super options are then
	// the last field. Require at least the file system type.
	post := f[sep+1:]
	if len(post) < 1 {
		return Mount{}, errors.New(`no file system type after "-"`)
	}
	m := Mount{
		Target:  unescape(f[4]),
		FSType:  unescape(post[0]),
		Options: splitOptions(f[5]),
	}
	if !strings.HasPrefix(m.Target, "/") {
		return Mount{}, fmt.Errorf("mount point %q is not absolute", m.Target)
	}
	switch len(post) {
	case 1:
	case 2:
		m.SuperOptions = splitOptions(post[1])
	default:
		m.Source = unescape(post[1])
		m.SuperOptions = splitOptions(post[2])
	}
	return m, nil
}

// ParseFstab parses fstab(5): blank lines and "#" comments are skipped,
// fields are separated by blanks and may use octal escapes (\040 for a
// space). Trailing fields may be missing: FSType is then empty and Options
// nil (mount(8) reads these as "auto" and "defaults"). A line with fewer
// than two fields is skipped and reported in the returned error, which
// comes alongside the mounts that did parse (mount(8) also ignores such
// lines with a warning).
func ParseFstab(data []byte) ([]Mount, error) {
	var ms []Mount
	var errs []error
	for i, line := range lines(data) {
		s := strings.TrimSpace(string(line))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 2 {
			errs = append(errs, fmt.Errorf("fstab line %d: no mount point", i+1))
			continue
		}
		m := Mount{Source: unescape(f[0]), Target: unescape(f[1])}
		if len(f) > 2 {
			m.FSType = unescape(f[2])
		}
		if len(f) > 3 {
			m.Options = splitOptions(f[3])
		}
		ms = append(ms, m)
	}
	return ms, errors.Join(errs...)
}

// Fstab reads and parses /etc/fstab inside root. A missing fstab (common in
// containers and some images) gives no mounts and no error.
func Fstab(root fsroot.Root) ([]Mount, error) {
	data, err := root.ReadFile("/etc/fstab", fsroot.MaxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ms, err := ParseFstab(data)
	if err != nil {
		return ms, fmt.Errorf("parse %s: %w", root.Join("/etc/fstab"), err)
	}
	return ms, nil
}

// For returns the mount that holds path: the one whose target is the
// longest leading run of whole path components ("/var" holds "/var/lib"
// but not "/variable"). At an equal target the later mount wins, as a
// later mount hides an earlier one on the same mount point. Targets that
// are not absolute (fstab's "none" for swap) never match.
func For(ms []Mount, p string) (Mount, bool) {
	p = path.Clean("/" + p)
	best, bestLen := -1, -1
	for i, m := range ms {
		if !strings.HasPrefix(m.Target, "/") {
			continue
		}
		t := path.Clean(m.Target)
		if !under(p, t) {
			continue
		}
		if len(t) >= bestLen {
			best, bestLen = i, len(t)
		}
	}
	if best < 0 {
		return Mount{}, false
	}
	return ms[best], true
}

// under reports whether the clean absolute path p is target or lies below it.
func under(p, target string) bool {
	if target == "/" || p == target {
		return true
	}
	return strings.HasPrefix(p, target) && p[len(target)] == '/'
}

// HasOption reports whether m has the mount option opt (noexec, ro, ...),
// looking at the per-mount options and then the superblock options.
func (m Mount) HasOption(opt string) bool {
	for _, o := range m.Options {
		if o == opt {
			return true
		}
	}
	for _, o := range m.SuperOptions {
		if o == opt {
			return true
		}
	}
	return false
}

// lines splits data at newlines (a trailing newline adds no empty line).
func lines(data []byte) [][]byte {
	data = bytes.TrimSuffix(data, []byte("\n"))
	if len(data) == 0 {
		return nil
	}
	return bytes.Split(data, []byte("\n"))
}

// splitOptions splits a comma-separated option list, decoding escapes.
func splitOptions(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = unescape(parts[i])
	}
	return parts
}

// unescape decodes the octal escapes the kernel and getmntent use for
// blanks and backslashes in mount table fields (\040 space, \011 tab,
// \012 newline, \134 backslash). Anything else is kept as written.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		// At most \377: the first digit is 0-3.
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
