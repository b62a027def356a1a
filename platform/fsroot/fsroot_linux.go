package fsroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// On Linux every lookup happens beneath the root's descriptor: with
// openat2(RESOLVE_IN_ROOT) where the kernel has it (5.6 and later), else
// by walking from descriptor to descriptor with O_NOFOLLOW and following
// each link by hand. Either way a symbolic link, or a folder swapped for
// one while the lookup runs, is resolved inside the root: no path is
// resolved to a host path first and opened later.

// noOpenat2 is set once the kernel answers openat2 with ENOSYS; tests set
// it to force the walk.
var noOpenat2 atomic.Bool

// walks counts lookups done by walk, so that tests can tell which path ran.
var walks atomic.Int64

// maxRetries bounds how often a lookup is repeated when the kernel says a
// rename raced it (EAGAIN) or the file changed between the type check and
// the open.
const maxRetries = 16

// open checks the type of p with a descriptor that cannot read (O_PATH),
// so that a FIFO or a device is never opened, then opens it and makes sure
// it is the same file.
func (r Root) open(p string) (*os.File, fs.FileInfo, error) {
	for range maxRetries {
		pfd, err := r.beneath(p, unix.O_PATH)
		if err != nil {
			return nil, nil, r.pathErr("open", p, err)
		}
		var want unix.Stat_t
		err = fstat(pfd, &want)
		unix.Close(pfd)
		if err != nil {
			return nil, nil, r.pathErr("stat", p, err)
		}
		if want.Mode&unix.S_IFMT != unix.S_IFREG {
			return nil, nil, fmt.Errorf("open %s: not a regular file (%s)", r.Join(p), Kind(modeOf(want.Mode)))
		}
		fd, err := r.beneath(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY)
		if err != nil {
			return nil, nil, r.pathErr("open", p, err)
		}
		var got unix.Stat_t
		if err := fstat(fd, &got); err != nil {
			unix.Close(fd)
			return nil, nil, r.pathErr("stat", p, err)
		}
		if got.Dev != want.Dev || got.Ino != want.Ino {
			// Replaced between the two lookups: look again.
			unix.Close(fd)
			continue
		}
		if err := unix.SetNonblock(fd, false); err != nil {
			unix.Close(fd)
			return nil, nil, r.pathErr("open", p, err)
		}
		f := os.NewFile(uintptr(fd), r.Join(p))
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, nil, r.pathErr("stat", p, err)
		}
		return f, fi, nil
	}
	return nil, nil, fmt.Errorf("open %s: the file keeps changing while it is opened", r.Join(p))
}

// readDir lists p, opened beneath the root as a directory.
func (r Root) readDir(p string) ([]fs.DirEntry, error) {
	fd, err := r.beneath(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NONBLOCK)
	if err != nil {
		return nil, r.pathErr("list", p, err)
	}
	f := os.NewFile(uintptr(fd), r.Join(p))
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, r.pathErr("list", p, err)
	}
	slices.SortFunc(ents, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, nil
}

// stat stats p through an O_PATH descriptor opened beneath the root.
func (r Root) stat(p string) (fs.FileInfo, error) {
	fd, err := r.beneath(p, unix.O_PATH)
	if err != nil {
		return nil, r.pathErr("stat", p, err)
	}
	f := os.NewFile(uintptr(fd), r.Join(p))
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, r.pathErr("stat", p, err)
	}
	return fi, nil
}

// beneath opens p (a slash path inside the root; links followed, the last
// one too) relative to the root with flags, and returns the descriptor.
func (r Root) beneath(p string, flags int) (int, error) {
	rootFD, err := unix.Open(r.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("root %s: %w", r.Dir, err)
	}
	defer unix.Close(rootFD)
	if !noOpenat2.Load() {
		fd, err := openat2(rootFD, p, flags)
		if !errors.Is(err, unix.ENOSYS) {
			return fd, err
		}
		noOpenat2.Store(true)
	}
	return walk(rootFD, p, flags)
}

// openat2 opens p beneath dirFD with RESOLVE_IN_ROOT: absolute links and
// ".." stay inside, as if dirFD were "/". Magic links (/proc/self/fd/...)
// are refused: they could point anywhere.
func openat2(dirFD int, p string, flags int) (int, error) {
	rel := strings.TrimLeft(filepath.ToSlash(p), "/")
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range maxRetries {
		fd, err := unix.Openat2(dirFD, rel, &how)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			continue // a rename raced a ".." lookup
		}
		return fd, err
	}
	return -1, unix.EAGAIN
}

// walk is the lookup of openat2(RESOLVE_IN_ROOT) done by hand, for kernels
// without it: every component is opened relative to the descriptor of its
// folder with O_PATH|O_NOFOLLOW and examined with fstat; a link is read and
// its target looked up again from the root (absolute) or the current folder
// (relative), ".." goes back one descriptor and never above the root. No
// path outside the root can be reached, whatever is renamed meanwhile.
func walk(rootFD int, p string, flags int) (int, error) {
	walks.Add(1)
	first, err := unix.Dup(rootFD)
	if err != nil {
		return -1, err
	}
	// dirs are the descriptors of the folders from the root down to the
	// current one.
	dirs := []int{first}
	defer func() {
		for _, fd := range dirs {
			unix.Close(fd)
		}
	}()
	rest := strings.Split(filepath.ToSlash(p), "/")
	links, retries := 0, 0
	for {
		rest = trimEmpty(rest)
		if len(rest) == 0 {
			// p names the root itself (or a folder reached through "..").
			cur := dirs[len(dirs)-1]
			if flags&unix.O_PATH != 0 {
				return unix.Dup(cur)
			}
			return unix.Openat(cur, ".", flags|unix.O_CLOEXEC, 0)
		}
		c := rest[0]
		rest = rest[1:]
		if c == ".." {
			if len(dirs) > 1 {
				unix.Close(dirs[len(dirs)-1])
				dirs = dirs[:len(dirs)-1]
			}
			continue
		}
		cur := dirs[len(dirs)-1]
		fd, err := unix.Openat(cur, c, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, err
		}
		var st unix.Stat_t
		if err := fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, err
		}
		last := len(trimEmpty(rest)) == 0
		// "file/" and "file/." name a folder: ENOTDIR, as from the kernel.
		mustDir := last && len(rest) > 0
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			target, err := readlink(fd)
			unix.Close(fd)
			if err != nil {
				return -1, err
			}
			if links++; links > maxLinks {
				return -1, unix.ELOOP
			}
			if strings.HasPrefix(target, "/") {
				for _, d := range dirs[1:] {
					unix.Close(d)
				}
				dirs = dirs[:1]
			}
			rest = append(strings.Split(target, "/"), rest...)
		case !last || mustDir:
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				unix.Close(fd)
				return -1, unix.ENOTDIR
			}
			dirs = append(dirs, fd)
			if last {
				rest = nil // the folder itself is opened above
			}
		case flags&unix.O_PATH != 0:
			return fd, nil
		default:
			unix.Close(fd)
			// O_NOFOLLOW: if c became a link since the fstat, the open
			// fails with ELOOP and c is looked at again.
			nfd, err := unix.Openat(cur, c, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if errors.Is(err, unix.ELOOP) && retries < maxRetries {
				retries++
				rest = append([]string{c}, rest...)
				continue
			}
			return nfd, err
		}
	}
}

// trimEmpty drops leading "" and "." components.
func trimEmpty(cs []string) []string {
	for len(cs) > 0 && (cs[0] == "" || cs[0] == ".") {
		cs = cs[1:]
	}
	return cs
}

// readlink reads the target of the link opened (O_PATH|O_NOFOLLOW) as fd.
func readlink(fd int) (string, error) {
	for n := 256; n <= 1<<16; n *= 4 {
		buf := make([]byte, n)
		k, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return "", err
		}
		if k < n {
			return string(buf[:k]), nil
		}
	}
	return "", unix.ENAMETOOLONG
}

func fstat(fd int, st *unix.Stat_t) error {
	for {
		err := unix.Fstat(fd, st)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// pathErr words a failed lookup like the rest of the package: the path
// inside the root, and ErrLinkLoop for ELOOP.
func (r Root) pathErr(op, p string, err error) error {
	err = unwrapPath(err)
	if errors.Is(err, unix.ELOOP) {
		err = ErrLinkLoop
	}
	return fmt.Errorf("%s %s: %w", op, r.Join(p), err)
}

// modeOf turns the type bits of st_mode into an fs.FileMode.
func modeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return 0
}
