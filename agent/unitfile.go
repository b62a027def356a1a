package agent

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// UnitEntry is one "Key=Value" setting of a systemd unit file or drop-in.
type UnitEntry struct {
	Section, Key, Value string
	Line                int
}

// ParseUnit parses a systemd unit file or drop-in (systemd.syntax(7)):
// "[Section]" headers, "Key=Value" settings, "#" and ";" comments, and a
// backslash at the end of a line joining it with the next. Settings before
// any section, and lines that are neither, are errors; the entries read up
// to then are returned with it. An error never quotes a value.
func ParseUnit(data []byte) ([]UnitEntry, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, errors.New("binary data (NUL bytes)")
	}
	if !utf8.Valid(data) {
		return nil, errors.New("not UTF-8 text")
	}
	var out []UnitEntry
	section := ""
	lines := strings.Split(string(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		// Continuation: a trailing backslash joins the next line (comment
		// lines inside a continued value are skipped, as systemd does).
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			next := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
			if next != "" && (next[0] == '#' || next[0] == ';') {
				continue
			}
			line = strings.TrimSuffix(line, "\\") + " " + next
		}
		line = strings.TrimSpace(strings.TrimSuffix(line, "\\"))
		if line == "" {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return out, fmt.Errorf("line %d: bad section header", n)
			}
			section = line[1 : len(line)-1]
			continue
		}
		if section == "" {
			return out, fmt.Errorf("line %d: a setting before any [section] header", n)
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return out, fmt.Errorf("line %d: not Key=Value", n)
		}
		out = append(out, UnitEntry{Section: section, Key: k, Value: strings.TrimSpace(v), Line: n})
	}
	return out, nil
}

// SplitEnvironment splits an Environment= value into its assignments
// (systemd.exec(5)): words separated by blanks, each optionally in double
// or single quotes, with C-style backslash escapes inside double quotes and
// outside quotes. Assignments without "=" are dropped, as systemd does
// (it logs them as invalid).
func SplitEnvironment(v string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '"' || c == '\'':
			inWord = true
			q := c
			i++
			for ; i < len(v) && v[i] != q; i++ {
				if v[i] == '\\' && q == '"' && i+1 < len(v) {
					i++
				}
				cur.WriteByte(v[i])
			}
			if i >= len(v) {
				return nil, errors.New("unterminated quote")
			}
		case c == '\\' && i+1 < len(v):
			inWord = true
			i++
			cur.WriteByte(v[i])
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	kept := out[:0]
	for _, a := range out {
		if k, _, ok := strings.Cut(a, "="); ok && k != "" {
			kept = append(kept, a)
		}
	}
	return kept, nil
}

// ParseEnvFile parses an environment file as systemd's EnvironmentFile=
// and pam_env's /etc/environment read it: KEY=VALUE lines, "#" comments,
// an optional "export " prefix, values optionally in matching quotes.
// Lines that are not assignments are skipped. The result keeps file order.
func ParseEnvFile(data []byte) ([][2]string, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, errors.New("binary data (NUL bytes)")
	}
	var out [][2]string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// unitDirs are systemd's unit folders, highest priority first.
var unitDirs = []string{"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system"}

// unitSource is one file that makes up a unit: the unit file or a drop-in.
type unitSource struct {
	path    string // inside the root
	entries []UnitEntry
	err     error
}

// unitFiles returns the unit file of unit and its drop-ins (unit.d/*.conf
// and the type-wide service.d/*.conf) in the order systemd applies them:
// the unit file, then the drop-ins sorted by file name, a name in a
// higher-priority folder hiding the same name below it.
func unitFiles(r fsroot.Root, unit string) []unitSource {
	var out []unitSource
	for _, d := range unitDirs {
		p := path.Join(d, unit)
		if fi, err := r.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, readUnitSource(r, p))
			break
		}
	}
	drop := map[string]string{} // file name -> path of the winning copy
	typ := "service.d"
	if i := strings.LastIndexByte(unit, '.'); i >= 0 {
		typ = unit[i+1:] + ".d"
	}
	for _, d := range unitDirs {
		for _, dd := range []string{path.Join(d, unit+".d"), path.Join(d, typ)} {
			ents, err := r.ReadDir(dd)
			if err != nil {
				continue
			}
			for _, e := range ents {
				if !strings.HasSuffix(e.Name(), ".conf") {
					continue
				}
				if _, seen := drop[e.Name()]; !seen {
					drop[e.Name()] = path.Join(dd, e.Name())
				}
			}
		}
	}
	names := make([]string, 0, len(drop))
	for n := range drop {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, readUnitSource(r, drop[n]))
	}
	return out
}

func readUnitSource(r fsroot.Root, p string) unitSource {
	data, err := r.ReadFile(p, fsroot.MaxSmallFile)
	if err != nil {
		return unitSource{path: p, err: err}
	}
	es, err := ParseUnit(data)
	if err != nil {
		err = fmt.Errorf("%s: %w", r.Join(p), err)
	}
	return unitSource{path: p, entries: es, err: err}
}
