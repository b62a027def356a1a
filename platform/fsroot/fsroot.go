// Package fsroot reads files of a directory tree as if that tree were the
// root of the file system: "/" on a live machine, a mounted or unpacked
// image otherwise. Symbolic links are followed inside the tree, never out of
// it, and every read is capped so that a huge or endless file cannot stall a
// check.
package fsroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MaxSmallFile is the cap for configuration-sized files (os-release,
// waagent.conf, status files).
const MaxSmallFile = 1 << 20

// maxLinks is how many symbolic links one lookup may follow, as Linux does.
const maxLinks = 40

// ErrTooLarge is returned (wrapped) when a file is larger than the cap given.
var ErrTooLarge = errors.New("file too large")

// ErrLinkLoop is returned (wrapped) when a lookup follows too many links.
var ErrLinkLoop = errors.New("too many levels of symbolic links")

// Root is a directory read as "/".
type Root struct {
	// Dir is the host path of the tree ("/" for the live system).
	Dir string
}

// New returns the Root for dir; an empty dir means "/".
func New(dir string) Root {
	if dir == "" {
		dir = string(filepath.Separator)
	}
	return Root{Dir: filepath.Clean(dir)}
}

// IsHost reports whether the root is the live machine's own root.
func (r Root) IsHost() bool {
	d := filepath.Clean(r.Dir)
	return d == string(filepath.Separator) || d == filepath.VolumeName(d)+string(filepath.Separator)
}

// Join returns the host path of p (a slash-separated path inside the root)
// without following links. Use it for messages and for handing a path to a
// command; use Resolve before reading.
func (r Root) Join(p string) string {
	return filepath.Join(r.Dir, filepath.FromSlash(path.Clean("/"+p)))
}

// Resolve follows symbolic links in p as the kernel would if the root were
// "/": absolute targets start again at the root and ".." never climbs above
// it. It returns the host path. A missing component is not an error here:
// the returned path then simply does not exist.
func (r Root) Resolve(p string) (string, error) {
	// Not path.Clean: "link/.." is the parent of the link's target, as for
	// the kernel, not the directory holding the link.
	rest := strings.Split(filepath.ToSlash(p), "/")
	var done []string
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		host := filepath.Join(append([]string{r.Dir}, append(done, c)...)...)
		fi, err := os.Lstat(host)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			done = append(done, c)
			if err != nil {
				// Nothing below a missing component can exist, so the rest
				// is kept as names only. A ".." (from a link target) must not
				// reach filepath.Join, which would climb above the root.
				for _, c := range rest {
					if c != "" && c != "." && c != ".." {
						done = append(done, c)
					}
				}
				rest = nil
			}
			continue
		}
		links++
		if links > maxLinks {
			return "", fmt.Errorf("resolve %s: %w", p, ErrLinkLoop)
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		target = filepath.ToSlash(target)
		if vol := filepath.VolumeName(target); vol != "" {
			target = target[len(vol):]
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(append([]string{r.Dir}, done...)...), nil
}

// Open opens p for reading. Directories and other non-regular files are
// refused with a clear error, without being opened (a FIFO would block).
// On Linux the lookup happens beneath the root in the kernel
// (openat2 RESOLVE_IN_ROOT, or a walk from descriptor to descriptor without
// following links where the kernel lacks openat2), so a writer racing inside
// the tree cannot make it open a file outside; elsewhere the path is
// resolved with Resolve and then opened.
func (r Root) Open(p string) (*os.File, fs.FileInfo, error) { return r.open(p) }

// ReadFile reads p whole, refusing files larger than max bytes (checked
// both by size and while reading, so a growing file or a pseudo-file cannot
// get past the cap).
func (r Root) ReadFile(p string, max int64) ([]byte, error) {
	f, fi, err := r.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi.Size() > max {
		return nil, fmt.Errorf("read %s: %w (%d bytes, limit %d)", r.Join(p), ErrTooLarge, fi.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", r.Join(p), unwrapPath(err))
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("read %s: %w (limit %d bytes)", r.Join(p), ErrTooLarge, max)
	}
	return data, nil
}

// ReadDir lists the directory p (links resolved inside the root, as for
// Open), sorted by name.
func (r Root) ReadDir(p string) ([]fs.DirEntry, error) { return r.readDir(p) }

// Stat stats p (links resolved inside the root, as for Open).
func (r Root) Stat(p string) (fs.FileInfo, error) { return r.stat(p) }

// Exists reports whether p exists (after links) inside the root.
func (r Root) Exists(p string) bool {
	_, err := r.Stat(p)
	return err == nil
}

// unwrapPath drops the *fs.PathError wrapper, whose host path would repeat
// what the caller's message already says.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Kind names a file type for messages: "a directory", "a named pipe", ...
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsRegular():
		return "a regular file"
	}
	return "mode " + m.Type().String()
}
