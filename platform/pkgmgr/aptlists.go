package pkgmgr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// AptListsDir is where apt keeps the package lists it last downloaded,
// relative to the root.
const AptListsDir = "/var/lib/apt/lists"

// maxAptList caps one Packages file (Debian's main/binary-amd64 is about
// 45 MiB uncompressed).
const maxAptList = 512 << 20

// Offered is what the package lists say the repositories offer.
type Offered struct {
	// Versions are the versions of the package in the lists, as they are
	// written there ("2.7.3.0-4.1"), without duplicates.
	Versions []string
	// Lists is how many Packages files were read.
	Lists int
	// Source names the folder read.
	Source string
}

// ErrNoLists means there are no package lists to read (apt-get update never
// ran, or apt-get clean --lists removed them): what the repositories offer
// is not known.
var ErrNoLists = errors.New("no apt package lists")

// AptOffered reads the versions of pkg in the package lists under root's
// var/lib/apt/lists (*_Packages files), without running apt and without
// changing anything: what `apt-cache policy` would call the versions in the
// repositories as last downloaded. A root without lists is ErrNoLists.
func AptOffered(root fsroot.Root, pkg string) (Offered, error) {
	if err := checkPkg(pkg); err != nil {
		return Offered{}, err
	}
	out := Offered{Versions: []string{}, Source: root.Join(AptListsDir)}
	ents, err := root.ReadDir(AptListsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, fmt.Errorf("%s: %w", out.Source, ErrNoLists)
	}
	if err != nil {
		return out, fmt.Errorf("read package lists: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), "_Packages") || e.IsDir() {
			continue
		}
		p := path.Join(AptListsDir, e.Name())
		f, _, err := root.Open(p)
		if err != nil {
			return out, fmt.Errorf("read package lists: %w", err)
		}
		vs, err := ParseAptPackages(io.LimitReader(f, maxAptList), pkg)
		f.Close()
		if err != nil {
			return out, fmt.Errorf("%s: %w", root.Join(p), err)
		}
		out.Lists++
		for _, v := range vs {
			if !seen[v] {
				seen[v] = true
				out.Versions = append(out.Versions, v)
			}
		}
	}
	if out.Lists == 0 {
		return out, fmt.Errorf("%s holds no *_Packages file: %w", out.Source, ErrNoLists)
	}
	return out, nil
}

// ParseAptPackages reads a Packages file (deb822 stanzas, as apt stores it
// under var/lib/apt/lists) and returns the Version of every stanza whose
// Package is pkg. Lines longer than 1 MiB, NUL bytes and lines that are
// neither fields nor continuations are errors.
func ParseAptPackages(r io.Reader, pkg string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var (
		out      []string
		match    bool
		ver      string
		inStanza bool
		lineNo   int
	)
	flush := func() {
		if match && ver != "" {
			out = append(out, ver)
		}
		match, ver, inStanza = false, "", false
	}
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSuffix(sc.Bytes(), []byte{'\r'})
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("line %d: NUL byte: not a Packages file", lineNo)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !inStanza {
				return nil, fmt.Errorf("line %d: continuation line outside a stanza: not a Packages file", lineNo)
			}
			continue
		}
		k, v, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(k) == 0 {
			return nil, fmt.Errorf("line %d: expected \"Field: value\": not a Packages file", lineNo)
		}
		inStanza = true
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Package")):
			match = string(v) == pkg
		case bytes.EqualFold(k, []byte("Version")):
			if s := string(v); validVersion(s) {
				ver = s
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: longer than 1 MiB: not a Packages file", lineNo+1)
		}
		return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
	}
	flush()
	return out, nil
}
